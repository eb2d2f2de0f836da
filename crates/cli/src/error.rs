//! The CLI's error type: one line that names the file and the reason, and
//! where it can, says what to do next.

use std::path::PathBuf;

use symbolon_envelope::Error as EnvelopeError;
use symbolon_sharing::Error as SharingError;

use crate::file::Limit;

/// Everything a `symbolon` command can fail with.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("standard input: cannot read: {0}")]
    ReadStdin(std::io::Error),
    #[error(
        "{what} is {} bytes; at most {} are allowed: {}",
        len.map_or_else(|| format!("more than {}", limit.max), |n| n.to_string()),
        limit.max,
        limit.why
    )]
    TooLarge {
        what: &'static str,
        /// Its size, if known (else it grew past the limit while read).
        len: Option<usize>,
        limit: Limit,
    },
    #[error("{}: cannot write: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("standard output: cannot write: {0}")]
    WriteStdout(std::io::Error),
    #[error("{}: already exists; remove it or pass --force", path.display())]
    Exists { path: PathBuf },
    #[error("{}: not a valid identity file: {source}", path.display())]
    Identity {
        path: PathBuf,
        source: EnvelopeError,
    },
    #[error("{}: {source}", path.display())]
    Shard {
        path: PathBuf,
        source: EnvelopeError,
    },
    #[error("--recipient {arg:?}: {reason}")]
    Recipient { arg: String, reason: String },
    #[error("--trust-signer {arg:?}: {source}")]
    TrustedSigner { arg: String, source: EnvelopeError },
    #[error(
        "{given} recipients given for {shares} shares: give exactly one --recipient per share, or none"
    )]
    RecipientCount { given: usize, shares: u16 },
    #[error("invalid --threshold/--shares: {0}")]
    Parameters(SharingError),
    #[error("the secret is empty: nothing to split")]
    EmptySecret,
    #[error("--expires-in {value:?}: {reason} (examples: 90s, 12h, 30d)")]
    ExpiresIn { value: String, reason: String },
    #[error("--expires-at {value:?}: {reason} (example: 2027-01-31T12:00:00Z)")]
    ExpiresAt { value: String, reason: String },
    #[error("--label is {len} bytes long; at most 255 are allowed")]
    LabelTooLong { len: usize },
    #[error("{what} must not contain control characters (newlines, escapes)")]
    ControlCharacters { what: &'static str },
    #[error("splitting failed: {0}")]
    Split(SharingError),
    #[error("sealing share {index} failed: {source}")]
    Seal { index: u16, source: EnvelopeError },
    #[error("{message}")]
    NotEnoughShares { message: String },
    #[error("{scheme} shards cannot be combined offline; use the cluster's threshold operations")]
    UnsupportedScheme { scheme: &'static str },
    #[error("combining failed: {0}")]
    Combine(SharingError),
    #[error("cannot encode JSON: {0}")]
    Json(serde_json::Error),
    #[error("the system clock is before 1970")]
    Clock,
    #[error(transparent)]
    Transport(Box<symbolon_transport::Error>),
}

/// File errors keep the CLI's wording (`Exists` suggests `--force`); the
/// rest are shown as the transport words them.
impl From<symbolon_transport::Error> for CliError {
    fn from(e: symbolon_transport::Error) -> Self {
        match e {
            symbolon_transport::Error::Write { path, source } => CliError::Write { path, source },
            symbolon_transport::Error::Read { path, source } => CliError::Read { path, source },
            symbolon_transport::Error::Exists { path } => CliError::Exists { path },
            other => CliError::Transport(Box::new(other)),
        }
    }
}
