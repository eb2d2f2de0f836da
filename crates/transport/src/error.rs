//! The crate's one error type.

use std::path::PathBuf;

/// Everything that can go wrong in `symbolon-transport`.
///
/// Variants name the file, name or certificate at fault so an operator can
/// fix the culprit without reading logs.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// A file or directory could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// A file that must not be overwritten already exists.
    #[error("{path} already exists; refusing to overwrite it (move it away first to start over)")]
    Exists {
        /// The existing file.
        path: PathBuf,
    },
    /// A file does not hold a well-formed PEM certificate.
    #[error("{path} does not contain a PEM certificate")]
    BadPem {
        /// The file.
        path: PathBuf,
    },
    /// A file does not hold a usable PEM private key.
    #[error("{path} does not contain a usable PEM private key")]
    BadKey {
        /// The file.
        path: PathBuf,
    },
    /// A private key does not belong to the certificate it was paired with.
    #[error("the private key in {key} does not match the certificate in {cert}")]
    KeyMismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
    },
    /// The CA certificate file holds a certificate that is not a CA.
    #[error("{path} holds a certificate that is not a certificate authority")]
    NotCa {
        /// The file.
        path: PathBuf,
    },
    /// A certificate name (or file stem) does not match `[A-Za-z0-9][A-Za-z0-9._-]{0,63}`.
    #[error(
        "invalid name {name:?}: expected 1 to 64 of A-Z a-z 0-9 . _ -, starting with a letter or digit"
    )]
    BadName {
        /// The rejected name.
        name: String,
    },
    /// An extra host for a server certificate is neither an IP address nor a DNS name.
    #[error("invalid host {host:?}: expected an IP address or a DNS name")]
    BadHost {
        /// The rejected host.
        host: String,
    },
    /// A role name is not `coordinator`, `custodian` or `client`.
    #[error("unknown role {role:?}: expected coordinator, custodian or client")]
    UnknownRole {
        /// The rejected role name.
        role: String,
    },
    /// `server_config` was given no client role to accept.
    #[error("a server must accept at least one client role")]
    NoAllowedClients,
    /// No certificate was presented.
    #[error("no certificate was presented")]
    NoCertificate,
    /// A certificate could not be parsed as X.509.
    #[error("the certificate is not well-formed X.509")]
    MalformedCertificate,
    /// A certificate carries no `urn:symbolon:` URI subject alternative name.
    #[error("the certificate carries no urn:symbolon:<role>:<name> identity")]
    MissingIdentity,
    /// A certificate carries more than one `urn:symbolon:` URI subject alternative name.
    #[error("the certificate carries {count} urn:symbolon: identities; exactly one is allowed")]
    AmbiguousIdentity {
        /// How many identities it carries.
        count: usize,
    },
    /// A `urn:symbolon:` URI is not `urn:symbolon:<role>:<name>` with a known role and a valid name.
    #[error("malformed identity {uri:?}: expected urn:symbolon:<role>:<name>")]
    BadIdentity {
        /// The offending URI.
        uri: String,
    },
    /// Generating a key or signing a certificate failed.
    #[error("certificate generation failed: {source}")]
    Generate {
        /// The underlying error.
        source: rcgen::Error,
    },
    /// A private key could not be PEM-encoded.
    #[error("cannot PEM-encode the private key: {source}")]
    PemEncode {
        /// The encoder's error.
        source: pem_rfc7468::Error,
    },
    /// rustls refused the configuration.
    #[error("TLS configuration rejected: {source}")]
    Tls {
        /// The underlying error.
        source: rustls::Error,
    },
    /// A certificate verifier could not be built from the CA certificate.
    #[error("cannot build a certificate verifier: {source}")]
    Verifier {
        /// The underlying error.
        source: rustls::server::VerifierBuilderError,
    },
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {source}")]
    HttpClient {
        /// The underlying error.
        source: reqwest::Error,
    },
}
