#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]
//! End-to-end checks of the cluster transport on loopback: certificates
//! issued in a temporary directory, a real `serve` loop, real handshakes.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use axum::{Extension, Json, Router};
use symbolon_transport::rustls::pki_types::ServerName;
use symbolon_transport::rustls::pki_types::pem::PemObject;
use symbolon_transport::rustls::{self, AlertDescription, CertificateError, RootCertStore};
use symbolon_transport::rustls_pki_types::CertificateDer;
use symbolon_transport::{
    Ca, Error, Existing, PeerIdentity, Role, TlsFiles, client_config, crypto_provider, http_client,
    serve, server_config,
};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_rustls::TlsConnector;

/// A cluster's worth of certificates, plus one from a foreign CA.
struct Pki {
    dir: TempDir,
    ca: Ca,
    coordinator: TlsFiles,
    custodian: TlsFiles,
    client: TlsFiles,
    /// A coordinator certificate issued by another CA, paired with *our* CA
    /// as trust anchor (so only the server's check can refuse it).
    foreign_coordinator: TlsFiles,
}

fn pki() -> Pki {
    let dir = tempfile::tempdir().unwrap();
    let ca_dir = dir.path().join("ca");
    let ca = Ca::init(&ca_dir).unwrap();
    let issue = |role, name: &str| {
        ca.issue(role, name, &[])
            .unwrap()
            .write(dir.path(), name, ca.cert_path(), Existing::Refuse)
            .unwrap()
    };
    let coordinator = issue(Role::Coordinator, "coord");
    let custodian = issue(Role::Custodian, "c1");
    let client = issue(Role::Client, "alice");

    let other = Ca::init(&dir.path().join("other-ca")).unwrap();
    let foreign = other
        .issue(Role::Coordinator, "coord", &[])
        .unwrap()
        .write(
            &dir.path().join("foreign"),
            "coord",
            ca.cert_path(),
            Existing::Refuse,
        )
        .unwrap();
    Pki {
        dir,
        ca,
        coordinator,
        custodian,
        client,
        foreign_coordinator: foreign,
    }
}

/// The test application: echoes the caller's identity, or sleeps then echoes.
fn app() -> Router {
    async fn whoami(Extension(peer): Extension<PeerIdentity>) -> Json<PeerIdentity> {
        Json(peer)
    }
    async fn slow(peer: Extension<PeerIdentity>) -> Json<PeerIdentity> {
        tokio::time::sleep(Duration::from_millis(300)).await;
        whoami(peer).await
    }
    Router::new()
        .route("/whoami", get(whoami))
        .route("/slow", get(slow))
}

struct Server {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

async fn start(files: &TlsFiles, allowed: &[Role]) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let tls = server_config(files, allowed).unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(serve(listener, tls, app(), async {
        let _ = stopped.await;
    }));
    Server { addr, stop, task }
}

impl Server {
    fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.addr.port())
    }

    async fn stop(self) {
        self.stop.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(5), self.task)
            .await
            .expect("serve did not return after shutdown")
            .unwrap()
            .unwrap();
    }
}

fn ca_roots(ca_pem: &Path) -> Arc<RootCertStore> {
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(ca_pem).unwrap())
        .unwrap();
    Arc::new(roots)
}

/// A client that trusts the cluster CA but presents no certificate.
fn anonymous_config(ca_pem: &Path) -> rustls::ClientConfig {
    rustls::ClientConfig::builder_with_provider(crypto_provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(ca_roots(ca_pem))
        .with_no_client_auth()
}

fn http1(mut config: rustls::ClientConfig) -> Arc<rustls::ClientConfig> {
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

/// One HTTP/1.1 request over a raw TLS connection to `addr`, named by its IP
/// address; returns the response text.
async fn raw_get(config: rustls::ClientConfig, addr: SocketAddr) -> std::io::Result<String> {
    let tcp = TcpStream::connect(addr).await?;
    let name = ServerName::from(addr.ip());
    let mut tls = TlsConnector::from(http1(config)).connect(name, tcp).await?;
    tls.write_all(b"GET /whoami HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n")
        .await?;
    let mut response = String::new();
    tls.read_to_string(&mut response).await?;
    Ok(response)
}

/// Connects with `config` and returns the TLS error that ends the
/// connection. With TLS 1.3 the client finishes its side of the handshake
/// before the server has checked its certificate, so the server's verdict
/// arrives as an alert on the first read (nothing is written, so the alert
/// cannot be overtaken by a TCP reset).
async fn refusal(config: rustls::ClientConfig, addr: SocketAddr) -> rustls::Error {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let io_error = match TlsConnector::from(http1(config)).connect(name, tcp).await {
        Err(e) => e,
        Ok(mut tls) => {
            let mut buf = [0u8; 1];
            match tokio::time::timeout(Duration::from_secs(5), tls.read(&mut buf)).await {
                Err(_) => panic!("the server accepted the connection"),
                Ok(Ok(n)) => panic!("connection ended without a TLS alert ({n} bytes)"),
                Ok(Err(e)) => e,
            }
        }
    };
    io_error
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
        .unwrap_or_else(|| panic!("not a TLS error: {io_error:?}"))
        .clone()
}

#[tokio::test]
async fn coordinator_client_is_accepted_and_identified() {
    let pki = pki();
    let server = start(&pki.custodian, &[Role::Coordinator]).await;
    let client = http_client(&pki.coordinator, Role::Custodian, Duration::from_secs(5)).unwrap();
    for _ in 0..2 {
        let response = client.get(server.url("/whoami")).send().await.unwrap();
        assert_eq!(response.status(), 200);
        // ALPN picked HTTP/2.
        assert_eq!(response.version(), reqwest::Version::HTTP_2);
        let peer: PeerIdentity = response.json().await.unwrap();
        assert_eq!(peer.role, Role::Coordinator);
        assert_eq!(peer.name, "coord");
    }
    // HTTP/1.1 over the same checks, naming the server by its IP address.
    let response = raw_get(
        client_config(&pki.coordinator, Role::Custodian).unwrap(),
        server.addr,
    )
    .await
    .unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(
        response.ends_with(r#"{"role":"coordinator","name":"coord"}"#),
        "{response}"
    );
    server.stop().await;
}

#[tokio::test]
async fn server_refuses_wrong_clients_during_the_handshake() {
    let pki = pki();
    let server = start(&pki.custodian, &[Role::Coordinator]).await;

    // No client certificate at all.
    let err = refusal(anonymous_config(&pki.coordinator.ca), server.addr).await;
    assert_eq!(
        err,
        rustls::Error::AlertReceived(AlertDescription::CertificateRequired)
    );

    // A coordinator certificate from another CA.
    let err = refusal(
        client_config(&pki.foreign_coordinator, Role::Custodian).unwrap(),
        server.addr,
    )
    .await;
    assert!(
        matches!(err, rustls::Error::AlertReceived(_)),
        "unexpected {err:?}"
    );

    // A certificate from our CA, but of role client.
    let err = refusal(
        client_config(&pki.client, Role::Custodian).unwrap(),
        server.addr,
    )
    .await;
    assert_eq!(
        err,
        rustls::Error::AlertReceived(AlertDescription::AccessDenied)
    );

    // The same role refused by reqwest too.
    let client = http_client(&pki.client, Role::Custodian, Duration::from_secs(5)).unwrap();
    assert!(client.get(server.url("/whoami")).send().await.is_err());

    // The failed handshakes did not hurt the server: the right client still gets in.
    let client = http_client(&pki.coordinator, Role::Custodian, Duration::from_secs(5)).unwrap();
    let peer: PeerIdentity = client
        .get(server.url("/whoami"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(peer, PeerIdentity::new(Role::Coordinator, "coord").unwrap());
    server.stop().await;
}

#[tokio::test]
async fn client_refuses_a_server_of_the_wrong_role() {
    let pki = pki();
    // A coordinator server that would happily accept the client...
    let server = start(&pki.coordinator, &[Role::Client, Role::Custodian]).await;
    // ...but the client expected a custodian.
    let err = refusal(
        client_config(&pki.client, Role::Custodian).unwrap(),
        server.addr,
    )
    .await;
    assert_eq!(
        err,
        rustls::Error::InvalidCertificate(CertificateError::ApplicationVerificationFailure)
    );
    let client = http_client(&pki.client, Role::Custodian, Duration::from_secs(5)).unwrap();
    assert!(client.get(server.url("/whoami")).send().await.is_err());

    // Expecting the right role works.
    let client = http_client(&pki.client, Role::Coordinator, Duration::from_secs(5)).unwrap();
    let peer: PeerIdentity = client
        .get(server.url("/whoami"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(peer, PeerIdentity::new(Role::Client, "alice").unwrap());
    server.stop().await;
}

#[tokio::test]
async fn graceful_shutdown_finishes_in_flight_requests() {
    let pki = pki();
    let server = start(&pki.custodian, &[Role::Coordinator]).await;
    let addr = server.addr;
    let client = http_client(&pki.coordinator, Role::Custodian, Duration::from_secs(5)).unwrap();
    let in_flight = tokio::spawn({
        let request = client.get(server.url("/slow"));
        async move { request.send().await?.json::<PeerIdentity>().await }
    });
    // A client stuck before its TLS handshake must not hold up shutdown.
    let _silent = TcpStream::connect(addr).await.unwrap();
    // Let the request reach the handler, then shut down while it sleeps.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = std::time::Instant::now();
    server.stop().await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "shutdown took {:?}",
        started.elapsed()
    );
    let peer = in_flight.await.unwrap().unwrap();
    assert_eq!(peer.role, Role::Coordinator);
    // The listener is gone.
    assert!(TcpStream::connect(addr).await.is_err());
}

#[test]
fn ca_init_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::init(dir.path()).unwrap();
    let before = std::fs::read(dir.path().join("ca.key")).unwrap();
    assert!(matches!(
        Ca::init(dir.path()),
        Err(Error::Exists { path }) if path == dir.path().join("ca.pem")
    ));
    // Nothing was touched.
    assert_eq!(std::fs::read(dir.path().join("ca.key")).unwrap(), before);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("ca.pem")).unwrap(),
        ca.cert_pem()
    );
    // A lone key is protected too.
    std::fs::remove_file(dir.path().join("ca.pem")).unwrap();
    assert!(matches!(
        Ca::init(dir.path()),
        Err(Error::Exists { path }) if path == dir.path().join("ca.key")
    ));
}

#[cfg(unix)]
#[test]
fn private_keys_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let pki = pki();
    for key in [
        pki.dir.path().join("ca/ca.key"),
        pki.coordinator.key.clone(),
    ] {
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}", key.display());
    }
}

#[test]
fn missing_and_corrupt_files_are_named() {
    let pki = pki();
    let dir = pki.dir.path();

    // Missing CA directory.
    let missing = dir.join("nope");
    assert!(matches!(
        Ca::load(&missing),
        Err(Error::Read { path, .. }) if path == missing.join("ca.pem")
    ));

    // Corrupt CA certificate, then corrupt CA key.
    let bad_ca = dir.join("bad-ca");
    std::fs::create_dir(&bad_ca).unwrap();
    std::fs::write(
        bad_ca.join("ca.pem"),
        "-----BEGIN CERTIFICATE-----\ngarbage",
    )
    .unwrap();
    std::fs::write(bad_ca.join("ca.key"), "junk").unwrap();
    assert!(matches!(
        Ca::load(&bad_ca),
        Err(Error::BadPem { path }) if path == bad_ca.join("ca.pem")
    ));
    std::fs::write(bad_ca.join("ca.pem"), pki.ca.cert_pem()).unwrap();
    assert!(matches!(
        Ca::load(&bad_ca),
        Err(Error::BadKey { path }) if path == bad_ca.join("ca.key")
    ));

    // Member files: missing certificate, corrupt certificate, corrupt key,
    // key of another certificate, corrupt CA.
    let mut files = pki.custodian.clone();
    files.cert = dir.join("absent.pem");
    assert!(matches!(
        server_config(&files, &[Role::Coordinator]),
        Err(Error::Read { path, .. }) if path == files.cert
    ));
    let junk = dir.join("junk.pem");
    std::fs::write(&junk, "not a pem file").unwrap();
    files.cert = junk.clone();
    assert!(matches!(
        client_config(&files, Role::Coordinator),
        Err(Error::BadPem { path }) if path == junk
    ));
    let mut files = pki.custodian.clone();
    files.key = junk.clone();
    assert!(matches!(
        server_config(&files, &[Role::Coordinator]),
        Err(Error::BadKey { path }) if path == junk
    ));
    let mut files = pki.custodian.clone();
    files.key = pki.coordinator.key.clone();
    assert!(matches!(
        server_config(&files, &[Role::Coordinator]),
        Err(Error::KeyMismatch { cert, key }) if cert == files.cert && key == files.key
    ));
    let mut files = pki.custodian.clone();
    files.ca = junk.clone();
    assert!(matches!(
        http_client(&files, Role::Coordinator, Duration::from_secs(1)),
        Err(Error::BadPem { path }) if path == junk
    ));
    assert!(matches!(
        server_config(&pki.custodian, &[]),
        Err(Error::NoAllowedClients)
    ));
}

#[test]
fn tls_files_round_trip_through_serde_and_reject_unknown_fields() {
    let pki = pki();
    let json = serde_json::to_string(&pki.client).unwrap();
    assert_eq!(serde_json::from_str::<TlsFiles>(&json).unwrap(), pki.client);
    let extra = json.replacen('{', r#"{"extra":1,"#, 1);
    assert!(serde_json::from_str::<TlsFiles>(&extra).is_err());
}
