//! The crate's one error type: what can stop a custodian from starting or
//! shutting down cleanly.
//!
//! Refusals of a peer's request (a bad shard, an unknown key) are not errors
//! of the daemon: they are answered with a problem document (see
//! [`crate::routes`]) and never end up here.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Why the custodian cannot start or stop.
///
/// Every variant names the file, field or address at fault, so an operator
/// can fix it without reading the source.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is unusable.
    #[error("{}{field}: {reason}", config_prefix(.path.as_deref()))]
    Config {
        /// The configuration file, when it was read from one.
        path: Option<PathBuf>,
        /// The field at fault, dotted (`labels.kind`), or `(file)` when the
        /// file as a whole is unreadable.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A file could not be read.
    #[error("cannot read {}: {source}", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// A file or directory could not be written.
    #[error("cannot write {}: {source}", .path.display())]
    Write {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// A file in the data directory that the custodian cannot run without
    /// (`attestation.key`, `heartbeat.seq`, the join token file) is
    /// malformed. It is never overwritten: move it away to start over.
    #[error("{} is malformed: {reason}", .path.display())]
    BadFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The audit log files are unreadable or were altered.
    #[error("audit log: {reason}")]
    Audit {
        /// What is wrong.
        reason: String,
    },
    /// `identity.key` does not hold a valid identity.
    #[error("{} does not hold a valid identity: {source}", .path.display())]
    BadIdentity {
        /// The file.
        path: PathBuf,
        /// Why it was refused.
        source: symbolon_envelope::Error,
    },
    /// `coordinator.recipient` does not hold a valid recipient string.
    #[error("{} does not hold a valid coordinator recipient: {source}", .path.display())]
    BadPinnedCoordinator {
        /// The file.
        path: PathBuf,
        /// Why it was refused.
        source: symbolon_envelope::Error,
    },
    /// The TLS certificates or keys cannot be used.
    #[error("TLS: {source}")]
    Tls {
        /// The transport's reason, naming the file.
        #[from]
        source: symbolon_transport::Error,
    },
    /// The listen address cannot be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The configured address.
        addr: SocketAddr,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The HTTPS server stopped with an error.
    #[error("the HTTPS server failed: {source}")]
    Serve {
        /// Its reason.
        source: std::io::Error,
    },
    /// A background task panicked or was cancelled.
    #[error("the {task} task ended abnormally")]
    Task {
        /// Which task (`server`, `membership`).
        task: &'static str,
    },
}

fn config_prefix(path: Option<&Path>) -> String {
    match path {
        Some(path) => format!("configuration {}: ", path.display()),
        None => "configuration: ".to_owned(),
    }
}

impl Error {
    pub(crate) fn read(path: &Path) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.to_owned();
        move |source| Error::Read { path, source }
    }

    pub(crate) fn write(path: &Path) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.to_owned();
        move |source| Error::Write { path, source }
    }
}
