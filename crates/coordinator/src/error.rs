//! Errors that stop the coordinator from starting or running.

use std::path::PathBuf;

/// An error and its causes, on one line.
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Why the coordinator could not start or keep running.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is unreadable or invalid.
    #[error("{}: {reason}", path.display())]
    Config {
        /// The file at fault.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A file of the data directory could not be read or written.
    #[error("{}: {reason}", path.display())]
    DataDir {
        /// The file at fault.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The coordinator's identity file is not a valid identity.
    #[error("{}: {source}", path.display())]
    Identity {
        /// The identity file.
        path: PathBuf,
        /// Why it was refused.
        source: symbolon_envelope::Error,
    },
    /// The store could not be opened.
    #[error("database {url}: {}", chain(source))]
    Store {
        /// The database URL, without credentials.
        url: String,
        /// The store's error.
        source: symbolon_store::Error,
    },
    /// The audit log could not be opened, or the stored log does not match
    /// its own signed tree head.
    #[error("audit log: {reason}")]
    Audit {
        /// What is wrong.
        reason: String,
    },
    /// TLS material could not be loaded.
    #[error(transparent)]
    Tls(#[from] symbolon_transport::Error),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The server stopped with an I/O error.
    #[error("server: {0}")]
    Serve(std::io::Error),
}
