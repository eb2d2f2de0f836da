//! Mutual-TLS configurations (RFC 8446, TLS 1.2 allowed) for the cluster:
//! both ends present certificates issued by the cluster CA, and each end
//! checks the other's role during the handshake, so a peer of the wrong role
//! never gets to send a request.

use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName, InconsistentKeys, OtherError,
    RootCertStore, SignatureScheme,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};

use crate::Error;
use crate::files::{self, TlsFiles};
use crate::identity::{Role, peer_of};

/// ALPN protocols offered by both ends: HTTP/2 first, then HTTP/1.1.
pub const ALPN_PROTOCOLS: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// The crypto provider every configuration of this crate uses: *ring*
/// (smaller and much faster to build than aws-lc-rs, which CI time matters for),
/// chosen explicitly so that no process-wide default is needed.
pub fn crypto_provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Everything read from a member's [`TlsFiles`].
struct Material {
    roots: Arc<RootCertStore>,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

fn load(files: &TlsFiles) -> Result<Material, Error> {
    let mut roots = RootCertStore::empty();
    for ca in files::certificates(&files.ca)? {
        roots.add(ca).map_err(|_| Error::BadPem {
            path: files.ca.clone(),
        })?;
    }
    Ok(Material {
        roots: Arc::new(roots),
        chain: files::certificates(&files.cert)?,
        key: files::private_key(&files.key)?,
    })
}

/// Maps a rustls error from installing our certificate and key.
fn cert_key_error(files: &TlsFiles, source: rustls::Error) -> Error {
    match source {
        rustls::Error::InconsistentKeys(InconsistentKeys::KeyMismatch) => Error::KeyMismatch {
            cert: files.cert.clone(),
            key: files.key.clone(),
        },
        rustls::Error::General(_) => Error::BadKey {
            path: files.key.clone(),
        },
        source => Error::Tls { source },
    }
}

fn alpn() -> Vec<Vec<u8>> {
    ALPN_PROTOCOLS.iter().map(|p| p.to_vec()).collect()
}

/// A TLS server configuration for a cluster member.
///
/// The server presents `files.cert` and requires a client certificate that
/// chains to the cluster CA in `files.ca` and whose `urn:symbolon:` role is
/// one of `allowed_clients`. Both checks happen during the handshake: an
/// anonymous client, a client of another CA and a client of another role
/// all fail it. ALPN offers `h2` and `http/1.1`.
///
/// # Errors
///
/// [`Error::Read`], [`Error::BadPem`], [`Error::BadKey`] naming the file at
/// fault; [`Error::KeyMismatch`] if the key is not the certificate's;
/// [`Error::NoAllowedClients`] if `allowed_clients` is empty.
///
/// # Security
///
/// Only the cluster CA is trusted; the system trust store is never consulted.
pub fn server_config(
    files: &TlsFiles,
    allowed_clients: &[Role],
) -> Result<Arc<rustls::ServerConfig>, Error> {
    if allowed_clients.is_empty() {
        return Err(Error::NoAllowedClients);
    }
    let material = load(files)?;
    let provider = crypto_provider();
    let webpki = WebPkiClientVerifier::builder_with_provider(material.roots, provider.clone())
        .build()
        .map_err(|source| Error::Verifier { source })?;
    let verifier = RoleClientVerifier {
        inner: webpki,
        allowed: allowed_clients.to_vec(),
    };
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|source| Error::Tls { source })?
        .with_client_cert_verifier(Arc::new(verifier))
        .with_single_cert(material.chain, material.key)
        .map_err(|source| cert_key_error(files, source))?;
    config.alpn_protocols = alpn();
    Ok(Arc::new(config))
}

/// A TLS client configuration for a cluster member.
///
/// The client presents `files.cert`, trusts only the cluster CA in
/// `files.ca`, checks the server's host name as usual and additionally
/// requires the server certificate's `urn:symbolon:` role to be
/// `server_role`. ALPN offers `h2` and `http/1.1`.
///
/// # Errors
///
/// As [`server_config`] (without [`Error::NoAllowedClients`]).
pub fn client_config(files: &TlsFiles, server_role: Role) -> Result<rustls::ClientConfig, Error> {
    let material = load(files)?;
    let provider = crypto_provider();
    let webpki = WebPkiServerVerifier::builder_with_provider(material.roots, provider.clone())
        .build()
        .map_err(|source| Error::Verifier { source })?;
    let verifier = RoleServerVerifier {
        inner: webpki,
        expected: server_role,
    };
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|source| Error::Tls { source })?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_client_auth_cert(material.chain, material.key)
        .map_err(|source| cert_key_error(files, source))?;
    config.alpn_protocols = alpn();
    Ok(config)
}

/// The role check shared by both verifiers, run after the chain has been
/// verified against the cluster CA.
fn check_role(end_entity: &CertificateDer<'_>, allowed: &[Role]) -> Result<(), rustls::Error> {
    let peer = peer_of(std::slice::from_ref(end_entity)).map_err(|e| {
        tracing::debug!(error = %e, "peer certificate carries no usable identity");
        rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(e))))
    })?;
    if allowed.contains(&peer.role) {
        Ok(())
    } else {
        tracing::debug!(peer = %peer, allowed = ?allowed, "peer role not allowed");
        Err(rustls::Error::InvalidCertificate(
            CertificateError::ApplicationVerificationFailure,
        ))
    }
}

/// The webpki client verifier plus a check of the client's role.
#[derive(Debug)]
struct RoleClientVerifier {
    inner: Arc<dyn ClientCertVerifier>,
    allowed: Vec<Role>,
}

impl ClientCertVerifier for RoleClientVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let verified = self
            .inner
            .verify_client_cert(end_entity, intermediates, now)?;
        check_role(end_entity, &self.allowed)?;
        Ok(verified)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// The webpki server verifier plus a check of the server's role.
#[derive(Debug)]
struct RoleServerVerifier {
    inner: Arc<WebPkiServerVerifier>,
    expected: Role,
}

impl ServerCertVerifier for RoleServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verified = self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )?;
        check_role(end_entity, std::slice::from_ref(&self.expected))?;
        Ok(verified)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }

    fn root_hint_subjects(&self) -> Option<&[DistinguishedName]> {
        self.inner.root_hint_subjects()
    }
}
