#![doc = include_str!("../README.md")]

mod client;
mod error;
mod files;
mod identity;
mod pki;
mod server;
mod tls;

pub use client::{CONNECT_TIMEOUT, POOL_IDLE_TIMEOUT, http_client};
pub use error::Error;
pub use files::{Existing, StagedFile, TlsFiles, write_atomically};
pub use identity::{IDENTITY_PREFIX, MAX_NAME_LEN, PeerIdentity, Role, is_valid_name, peer_of};
pub use pki::{
    BACKDATE, CA_CERT_FILE, CA_COMMON_NAME, CA_KEY_FILE, CA_VALIDITY, Ca, IssuedCert, LEAF_VALIDITY,
};
pub use server::{HANDSHAKE_TIMEOUT, SHUTDOWN_GRACE, serve};
pub use tls::{ALPN_PROTOCOLS, client_config, crypto_provider, server_config};

/// Re-exported so callers name the same rustls and pki-types versions as this crate.
pub use rustls;
/// Re-exported so callers name the same `CertificateDer` as [`peer_of`].
pub use rustls_pki_types;
