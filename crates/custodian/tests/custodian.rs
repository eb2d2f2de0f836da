#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]
//! End-to-end tests of the custodian daemon on loopback: real certificates
//! from a temporary CA, a real mutual-TLS server, and a small fake
//! coordinator that answers registrations and records heartbeats.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Extension, Json, Router};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng as _;
use symbolon_audit::{Entry, EventKind, NoteKey, SignedTreeHead, Tree, TreeHead};
use symbolon_custodian::{Config, Error, Handle, MAX_BODY};
use symbolon_envelope::{
    BLINDING_LEN, Envelope, Identity, Metadata, Recipient, RecipientInfo, Scheme, verify_plaintext,
};
use symbolon_proto::api::KeyKind;
use symbolon_proto::audit::{AuditEvidence, NO_PAYLOAD, RequestStatement, payload_digest};
use symbolon_proto::custodian::{
    CustodianHealth, CustodianKind, Labels, NonceRequest, NonceResponse, PartialOperation,
    PartialRequest, PartialResponse, RegisterRequest, RegisterResponse, ReleaseRequest,
    ReleaseResponse, SignedHeartbeat, StoreShareResponse,
};
use symbolon_proto::dkg::{
    DkgDone, DkgFinish, DkgPackage, DkgParticipant, DkgRound1, DkgRound2, DkgRound2Request,
    DkgStart, round1_digest,
};
use symbolon_proto::release::{EphemeralKey, ReleaseContext};
use symbolon_proto::scalar::{encode_dkg_package, encode_package, group_commitment};
use symbolon_proto::{PROBLEM_CONTENT_TYPE, Problem};
use symbolon_threshold::dkg::{self, Suite};
use symbolon_threshold::{ed25519, tdh2};
use symbolon_transport::rustls_pki_types::CertificateDer;
use symbolon_transport::rustls_pki_types::pem::PemObject as _;
use symbolon_transport::{Ca, PeerIdentity, Role, TlsFiles, http_client, serve, server_config};
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const HEARTBEAT_MS: u64 = 100;

// ---------------------------------------------------------------------------
// The fake coordinator.

#[derive(Default)]
struct Recorded {
    /// (caller certificate name, request) of every registration.
    registrations: Mutex<Vec<(String, RegisterRequest)>>,
    heartbeats: Mutex<Vec<SignedHeartbeat>>,
    /// The recipient string answered at registration.
    recipient: Mutex<String>,
    /// Answer heartbeats with 404, as a coordinator that lost the
    /// registration would.
    forget: AtomicBool,
    /// The coordinator's audit log.
    log: Mutex<FakeLog>,
}

/// A coordinator's audit log, as far as custodians see it.
struct FakeLog {
    key: ed25519_dalek::SigningKey,
    tree: Tree,
}

impl Default for FakeLog {
    fn default() -> Self {
        Self {
            key: ed25519_dalek::SigningKey::from_bytes(&[42; 32]),
            tree: Tree::new(),
        }
    }
}

const LOG_ORIGIN: &str = "symbolon/test-log";

impl FakeLog {
    fn vkey(&self) -> String {
        NoteKey::new(LOG_ORIGIN, self.key.verifying_key())
            .unwrap()
            .to_vkey()
    }

    fn head(&self, size: u64) -> SignedTreeHead {
        TreeHead {
            size,
            root_hash: self.tree.root(size).unwrap(),
            timestamp_ms: 1,
        }
        .sign(LOG_ORIGIN, LOG_ORIGIN, &self.key)
        .unwrap()
    }

    /// Logs `statement` and returns the evidence a coordinator sends,
    /// with every leaf from 0.
    fn log(&mut self, statement: &RequestStatement) -> AuditEvidence {
        // Something else happened first, as in a real log.
        self.tree.append_entry(b"some other entry");
        let mut entry = Entry::new(EventKind::RequestCreated, 1, statement.requester.clone());
        entry.key_id = Some(statement.key_id.clone());
        entry.key_version = Some(statement.version);
        entry.request_digest = Some(statement.digest());
        let encoded = entry.encode().unwrap();
        let index = self.tree.append_entry(&encoded);
        let size = self.tree.size();
        AuditEvidence {
            head: self.head(size).to_note(),
            index,
            entry: encoded,
            inclusion: self
                .tree
                .inclusion_proof(index, size)
                .unwrap()
                .iter()
                .map(|h| h.to_hex())
                .collect(),
            first_leaf: 0,
            leaves: (0..size)
                .flat_map(|i| *self.tree.leaf(i).unwrap().as_bytes())
                .collect(),
        }
    }
}

impl Recorded {
    fn registrations(&self) -> Vec<(String, RegisterRequest)> {
        self.registrations.lock().unwrap().clone()
    }

    fn heartbeats_of(&self, id: &str) -> Vec<SignedHeartbeat> {
        self.heartbeats
            .lock()
            .unwrap()
            .iter()
            .filter(|h| h.heartbeat.custodian_id == id)
            .cloned()
            .collect()
    }

    fn registration_of(&self, id: &str) -> RegisterRequest {
        self.registrations()
            .into_iter()
            .rev()
            .find(|(_, r)| r.id == id)
            .map(|(_, r)| r)
            .expect("the custodian registered")
    }
}

async fn register(
    State(recorded): State<Arc<Recorded>>,
    Extension(peer): Extension<PeerIdentity>,
    Json(request): Json<RegisterRequest>,
) -> Result<Json<RegisterResponse>, StatusCode> {
    if request.join_token != "join-me" {
        return Err(StatusCode::FORBIDDEN);
    }
    recorded
        .registrations
        .lock()
        .unwrap()
        .push((peer.name, request));
    Ok(Json(RegisterResponse {
        coordinator_recipient: recorded.recipient.lock().unwrap().clone(),
        heartbeat_interval_ms: HEARTBEAT_MS,
        audit_log_key: recorded.log.lock().unwrap().vkey(),
    }))
}

async fn heartbeat(
    State(recorded): State<Arc<Recorded>>,
    UrlPath(_id): UrlPath<String>,
    Json(signed): Json<SignedHeartbeat>,
) -> StatusCode {
    if recorded.forget.load(Ordering::SeqCst) {
        return StatusCode::NOT_FOUND;
    }
    recorded.heartbeats.lock().unwrap().push(signed);
    StatusCode::NO_CONTENT
}

struct FakeCoordinator {
    addr: SocketAddr,
    recorded: Arc<Recorded>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl FakeCoordinator {
    async fn start(tls: &TlsFiles, recipient: &Recipient) -> Self {
        let recorded = Arc::new(Recorded::default());
        *recorded.recipient.lock().unwrap() = recipient.to_string();
        let app = Router::new()
            .route("/v1/custodians/register", post(register))
            .route("/v1/custodians/{id}/heartbeat", post(heartbeat))
            .with_state(Arc::clone(&recorded));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(
            listener,
            server_config(tls, &[Role::Custodian]).unwrap(),
            app,
            async {
                let _ = stopped.await;
            },
        ));
        Self {
            addr,
            recorded,
            stop: Some(stop),
            task: Some(task),
        }
    }

    fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.addr.port())
    }
}

impl Drop for FakeCoordinator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

// ---------------------------------------------------------------------------
// A cluster: CA, certificates, the dealer identity, the fake coordinator.

struct Cluster {
    dir: TempDir,
    ca: Ca,
    /// The coordinator's certificate (also used as its client certificate).
    coordinator_tls: TlsFiles,
    /// A client-role certificate (must not reach custodians).
    client_tls: TlsFiles,
    /// The coordinator's dealer identity: signs shards.
    dealer: Identity,
    fake: FakeCoordinator,
    /// How the coordinator calls custodians.
    client: reqwest::Client,
}

impl Cluster {
    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let ca = Ca::init(&dir.path().join("ca")).unwrap();
        let issue = |role, name: &str| {
            ca.issue(role, name, &[])
                .unwrap()
                .write(
                    &dir.path().join("tls"),
                    name,
                    ca.cert_path(),
                    symbolon_transport::Existing::Replace,
                )
                .unwrap()
        };
        let coordinator_tls = issue(Role::Coordinator, "coord");
        let client_tls = issue(Role::Client, "alice");
        let dealer = Identity::generate(&mut ChaCha20Rng::seed_from_u64(1));
        let fake = FakeCoordinator::start(&coordinator_tls, &dealer.recipient()).await;
        let client =
            http_client(&coordinator_tls, Role::Custodian, Duration::from_secs(10)).unwrap();
        Self {
            dir,
            ca,
            coordinator_tls,
            client_tls,
            dealer,
            fake,
            client,
        }
    }

    /// A configuration for custodian `id` with its own certificate and
    /// data directory under the cluster's temporary directory.
    fn config(&self, id: &str) -> Config {
        let tls = self
            .ca
            .issue(Role::Custodian, id, &[])
            .unwrap()
            // Tests configure the same custodian more than once: re-issue.
            .write(
                &self.dir.path().join("tls"),
                id,
                self.ca.cert_path(),
                symbolon_transport::Existing::Replace,
            )
            .unwrap();
        Config {
            id: id.to_owned(),
            listen: "127.0.0.1:0".parse().unwrap(),
            endpoint: None,
            data_dir: self.data_dir(id),
            coordinator_url: self.fake.url(),
            join_token: Some("join-me".to_owned()),
            join_token_file: None,
            labels: Labels {
                region: "eu-central".to_owned(),
                country: "DE".to_owned(),
                provider: "test".to_owned(),
                kind: CustodianKind::Vm,
            },
            tls,
            heartbeat_interval_ms: Some(HEARTBEAT_MS),
        }
    }

    fn data_dir(&self, id: &str) -> PathBuf {
        self.dir.path().join("data").join(id)
    }

    /// How many audit leaf hashes custodian `id` has saved.
    fn leaves_held(&self, id: &str) -> u64 {
        let path = self.data_dir(id).join("audit/leaves");
        std::fs::metadata(path).map_or(0, |m| m.len() / 32)
    }

    /// Starts custodian `config` and waits until it has registered and sent
    /// a heartbeat (so it accepts shards).
    async fn start(&self, config: Config) -> Handle {
        let id = config.id.clone();
        let before = self.fake.recorded.heartbeats_of(&id).len();
        let handle = symbolon_custodian::start(config).await.unwrap();
        wait_until("a heartbeat after start", || {
            self.fake.recorded.heartbeats_of(&id).len() > before
        })
        .await;
        handle
    }

    /// The custodian's recipient, as it registered it.
    fn recipient_of(&self, id: &str) -> Recipient {
        self.fake
            .recorded
            .registration_of(id)
            .recipient
            .parse()
            .unwrap()
    }

    async fn put(&self, handle: &Handle, key_id: &str, version: u64, body: Vec<u8>) -> Answer {
        let url = format!(
            "{}/v1/keys/{key_id}/versions/{version}/share",
            handle.endpoint()
        );
        Answer::of(
            self.client
                .put(url)
                .header("content-type", "application/octet-stream")
                .body(body)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    async fn delete(&self, handle: &Handle, key_id: &str, version: u64) -> Answer {
        let url = format!(
            "{}/v1/keys/{key_id}/versions/{version}/share",
            handle.endpoint()
        );
        Answer::of(self.client.delete(url).send().await.unwrap()).await
    }

    async fn audit_sync(
        &self,
        handle: &Handle,
        head: String,
        first: u64,
        leaves: Vec<u8>,
    ) -> Answer {
        let url = format!("{}/v1/audit/sync", handle.endpoint());
        let sync = symbolon_proto::audit::AuditSync {
            head,
            first_leaf: first,
            leaves,
        };
        Answer::of(self.client.post(url).json(&sync).send().await.unwrap()).await
    }

    async fn release(&self, handle: &Handle, request: &ReleaseRequest) -> Answer {
        let url = format!("{}/v1/release", handle.endpoint());
        Answer::of(self.client.post(url).json(request).send().await.unwrap()).await
    }

    async fn health(&self, handle: &Handle) -> CustodianHealth {
        let url = format!("{}/v1/health", handle.endpoint());
        Answer::of(self.client.get(url).send().await.unwrap())
            .await
            .ok()
    }

    /// A shard of `share` for custodian `id`, signed by `dealer`.
    fn shard(&self, id: &str, key_id: &str, version: u64, share: &[u8]) -> Vec<u8> {
        let to = self.recipient_of(id);
        seal(metadata(key_id, version, id, &to), share, &to, &self.dealer)
    }
}

fn metadata(key_id: &str, version: u64, id: &str, to: &Recipient) -> Metadata {
    Metadata {
        split_id: [7; 16],
        key_id: key_id.to_owned(),
        epoch: version,
        scheme: Scheme::ShamirGf256,
        index: 2,
        threshold: 2,
        shares: 3,
        recipient: Some(RecipientInfo {
            id: id.to_owned(),
            fingerprint: to.fingerprint(),
        }),
        created_at: now_secs(),
        expires_at: None,
        commitment: [0; 32],
        label: "test".to_owned(),
    }
}

fn seal(metadata: Metadata, share: &[u8], to: &Recipient, dealer: &Identity) -> Vec<u8> {
    Envelope::seal(metadata, share, Some(to), dealer, &mut rand::rng())
        .unwrap()
        .encode()
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// An HTTP answer, read whole.
struct Answer {
    status: u16,
    content_type: String,
    body: Vec<u8>,
}

impl Answer {
    async fn of(response: reqwest::Response) -> Self {
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let body = response.bytes().await.unwrap().to_vec();
        Self {
            status,
            content_type,
            body,
        }
    }

    /// Asserts a 200 answer (showing the body otherwise) and decodes it.
    #[track_caller]
    fn ok<T: serde::de::DeserializeOwned>(&self) -> T {
        assert_eq!(self.status, 200, "{}", String::from_utf8_lossy(&self.body));
        self.json()
    }

    fn json<T: serde::de::DeserializeOwned>(&self) -> T {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {}: {e}: {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// Asserts a problem document of `status` and `kind`; returns it.
    #[track_caller]
    fn problem(&self, status: u16, kind: &str) -> Problem {
        assert_eq!(
            self.status,
            status,
            "expected {status} {kind}, got {}",
            String::from_utf8_lossy(&self.body)
        );
        assert_eq!(self.content_type, PROBLEM_CONTENT_TYPE);
        let problem: Problem = self.json();
        assert_eq!(problem.kind, format!("urn:symbolon:problem:{kind}"));
        assert_eq!(problem.status, status);
        assert!(
            problem.detail.as_deref().is_some_and(|d| !d.is_empty()),
            "{problem:?}"
        );
        problem
    }
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn statement(key_id: &str, version: u64, request_id: &str, public: [u8; 32]) -> RequestStatement {
    RequestStatement {
        request_id: request_id.to_owned(),
        key_id: key_id.to_owned(),
        version,
        op: "decrypt".to_owned(),
        requester: "alice".to_owned(),
        created_at_ms: now_ms(),
        expires_at_ms: now_ms() + 60_000,
        ephemeral_public: public,
        payload_digest: NO_PAYLOAD,
    }
}

impl Cluster {
    /// A release request logged in the fake coordinator's audit log.
    fn release_request(
        &self,
        key_id: &str,
        version: u64,
        request_id: &str,
        key: &EphemeralKey,
    ) -> ReleaseRequest {
        self.logged(statement(key_id, version, request_id, key.public()))
    }

    fn logged(&self, statement: RequestStatement) -> ReleaseRequest {
        let evidence = self.fake.recorded.log.lock().unwrap().log(&statement);
        ReleaseRequest {
            statement,
            evidence,
        }
    }
}

// ---------------------------------------------------------------------------
// Registration and heartbeats.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registers_and_sends_signed_heartbeats_with_increasing_seq() {
    let cluster = Cluster::new().await;
    let config = cluster.config("c1");
    let handle = cluster.start(config.clone()).await;
    assert_eq!(handle.id(), "c1");
    assert_eq!(
        handle.endpoint(),
        format!("https://{}", handle.local_addr())
    );

    let registrations = cluster.fake.recorded.registrations();
    let (caller, registration) = registrations.last().unwrap().clone();
    assert_eq!(caller, "c1", "registered with its own certificate");
    assert_eq!(registration.id, "c1");
    assert_eq!(registration.endpoint, handle.endpoint());
    assert_eq!(registration.labels.kind, CustodianKind::Vm);
    registration.recipient.parse::<Recipient>().unwrap();
    // The coordinator's key is pinned on disk.
    let pinned =
        std::fs::read_to_string(cluster.data_dir("c1").join("coordinator.recipient")).unwrap();
    assert_eq!(pinned.trim(), cluster.dealer.recipient().to_string());

    wait_until("three heartbeats", || {
        cluster.fake.recorded.heartbeats_of("c1").len() >= 3
    })
    .await;
    let beats = cluster.fake.recorded.heartbeats_of("c1");
    for beat in &beats {
        beat.verify(&registration.attestation_key).unwrap();
        assert_eq!(beat.heartbeat.custodian_id, "c1");
        assert!(beat.heartbeat.shares.is_empty());
    }
    for pair in beats.windows(2) {
        assert!(pair[1].heartbeat.seq > pair[0].heartbeat.seq);
        assert!(pair[1].heartbeat.time_ms >= pair[0].heartbeat.time_ms);
    }
    // Another key does not verify them.
    let other = ed25519_key_of(&cluster.dealer);
    assert!(beats[0].verify(&other).is_err());

    handle.shutdown().await.unwrap();
    let last_before = cluster
        .fake
        .recorded
        .heartbeats_of("c1")
        .last()
        .unwrap()
        .heartbeat
        .seq;

    // Restart on the same data directory: same keys, larger sequence numbers.
    let handle = cluster.start(config).await;
    let again = cluster.fake.recorded.registration_of("c1");
    assert_eq!(again.recipient, registration.recipient);
    assert_eq!(again.attestation_key, registration.attestation_key);
    let after: Vec<_> = cluster
        .fake
        .recorded
        .heartbeats_of("c1")
        .into_iter()
        .filter(|b| b.heartbeat.seq > last_before)
        .collect();
    assert!(!after.is_empty());
    let all = cluster.fake.recorded.heartbeats_of("c1");
    for pair in all.windows(2) {
        assert!(
            pair[1].heartbeat.seq > pair[0].heartbeat.seq,
            "sequence numbers strictly increase across the restart"
        );
    }
    handle.shutdown().await.unwrap();
}

fn ed25519_key_of(identity: &Identity) -> [u8; 32] {
    identity.recipient().signing_key_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registers_again_when_the_coordinator_forgets_it() {
    let cluster = Cluster::new().await;
    let handle = cluster.start(cluster.config("c1")).await;
    let registered = cluster.fake.recorded.registrations().len();
    cluster.fake.recorded.forget.store(true, Ordering::SeqCst);
    wait_until("a second registration", || {
        cluster.fake.recorded.registrations().len() > registered
    })
    .await;
    cluster.fake.recorded.forget.store(false, Ordering::SeqCst);
    let beats = cluster.fake.recorded.heartbeats_of("c1").len();
    wait_until("heartbeats again", || {
        cluster.fake.recorded.heartbeats_of("c1").len() > beats
    })
    .await;
    handle.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shards_are_refused_until_registered_and_from_another_coordinator() {
    let cluster = Cluster::new().await;

    // No coordinator to register with: shards are refused with 503.
    let mut lonely = cluster.config("c1");
    lonely.coordinator_url = "https://127.0.0.1:9".to_owned();
    let handle = symbolon_custodian::start(lonely).await.unwrap();
    let to = Identity::generate(&mut rand::rng()).recipient();
    let body = seal(metadata("k", 1, "c1", &to), b"share", &to, &cluster.dealer);
    cluster
        .put(&handle, "k", 1, body)
        .await
        .problem(503, "not-registered");
    handle.shutdown().await.unwrap();

    // Registered with dealer A, a shard stored.
    let config = cluster.config("c1");
    let handle = cluster.start(config.clone()).await;
    let shard = cluster.shard("c1", "k", 1, b"share one");
    cluster
        .put(&handle, "k", 1, shard)
        .await
        .ok::<StoreShareResponse>();
    handle.shutdown().await.unwrap();

    // The coordinator now presents another key: the custodian refuses to
    // register with it and keeps refusing shards, even ones that key signs.
    let impostor = Identity::generate(&mut rand::rng());
    *cluster.fake.recorded.recipient.lock().unwrap() = impostor.recipient().to_string();
    let before = cluster.fake.recorded.registrations().len();
    let handle = symbolon_custodian::start(config).await.unwrap();
    wait_until("registration attempts", || {
        cluster.fake.recorded.registrations().len() >= before + 2
    })
    .await;
    let to = cluster.recipient_of("c1");
    let forged = seal(metadata("k", 2, "c1", &to), b"forged", &to, &impostor);
    cluster
        .put(&handle, "k", 2, forged)
        .await
        .problem(503, "not-registered");
    // Nor is the shard it already holds released: a release needs a
    // request in the log of the coordinator it registered with.
    let key = EphemeralKey::generate(&mut rand::rng());
    cluster
        .release(&handle, &cluster.release_request("k", 1, "r1", &key))
        .await
        .problem(503, "audit-log-not-pinned");
    // No heartbeats go to a coordinator it does not trust.
    let beats = cluster.fake.recorded.heartbeats_of("c1").len();
    tokio::time::sleep(Duration::from_millis(3 * HEARTBEAT_MS)).await;
    assert_eq!(cluster.fake.recorded.heartbeats_of("c1").len(), beats);
    handle.shutdown().await.unwrap();
}

// ---------------------------------------------------------------------------
// Storing and releasing.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stores_reports_and_releases_a_shard() {
    let cluster = Cluster::new().await;
    let handle = cluster.start(cluster.config("c1")).await;
    let share = b"thirty-two bytes of key share!!!";
    let body = cluster.shard("c1", "db", 3, share);
    let metadata = Envelope::decode(&body).unwrap().metadata().clone();

    let answer = cluster.put(&handle, "db", 3, body.clone()).await;
    let ack: StoreShareResponse = answer.ok();
    assert_eq!(ack.custodian_id, "c1");
    assert_eq!(ack.index, 2);
    assert_eq!(ack.digest, *blake3::hash(&body).as_bytes());
    // Stored exactly as received, mode 0600.
    let path = cluster.data_dir("c1").join("shares/db/3.sym");
    assert_eq!(std::fs::read(&path).unwrap(), body);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let mode = std::fs::metadata(cluster.data_dir("c1"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
    }
    // The same bytes again: the same acknowledgement.
    let again = cluster.put(&handle, "db", 3, body.clone()).await;
    assert_eq!(again.ok::<StoreShareResponse>(), ack);
    assert_eq!(
        cluster.health(&handle).await,
        CustodianHealth {
            id: "c1".to_owned(),
            shares: 1
        }
    );

    // The next heartbeat lists it.
    wait_until("a heartbeat listing the shard", || {
        cluster.fake.recorded.heartbeats_of("c1").iter().any(|b| {
            b.heartbeat.shares.iter().any(|s| {
                s.key_id == "db" && s.version == 3 && s.index == 2 && s.digest == ack.digest
            })
        })
    })
    .await;

    // Release: sealed to the ephemeral key, bound to the request.
    let key = EphemeralKey::generate(&mut rand::rng());
    let answer = cluster
        .release(&handle, &cluster.release_request("db", 3, "req-1", &key))
        .await;
    let released: ReleaseResponse = answer.ok();
    assert_eq!(released.custodian_id, "c1");
    assert_eq!(released.index, 2);
    let context = ReleaseContext {
        request_id: "req-1",
        key_id: "db",
        version: 3,
        custodian_id: "c1",
        index: 2,
    };
    let plaintext = key.open(&context, &released.enc, &released.sealed).unwrap();
    assert_eq!(plaintext.len(), BLINDING_LEN + share.len());
    assert_eq!(&plaintext[BLINDING_LEN..], share);
    verify_plaintext(&metadata, &plaintext).unwrap();
    // Not in the clear on the wire, and bound to the request.
    assert!(!released.sealed.windows(share.len()).any(|w| w == share));
    let other_request = ReleaseContext {
        request_id: "req-2",
        ..context
    };
    assert!(
        key.open(&other_request, &released.enc, &released.sealed)
            .is_err()
    );
    let other_key = EphemeralKey::generate(&mut rand::rng());
    assert!(
        other_key
            .open(&context, &released.enc, &released.sealed)
            .is_err()
    );

    // Fault injection: the share opens but fails its commitment.
    handle
        .hooks()
        .corrupt_releases
        .store(true, Ordering::SeqCst);
    let answer = cluster
        .release(&handle, &cluster.release_request("db", 3, "req-3", &key))
        .await;
    let corrupted: ReleaseResponse = answer.ok();
    let context = ReleaseContext {
        request_id: "req-3",
        ..context
    };
    let plaintext = key
        .open(&context, &corrupted.enc, &corrupted.sealed)
        .unwrap();
    assert_eq!(
        verify_plaintext(&metadata, &plaintext),
        Err(symbolon_envelope::Error::CommitmentMismatch)
    );
    handle
        .hooks()
        .corrupt_releases
        .store(false, Ordering::SeqCst);

    // Delete: 204, then gone, and again 204.
    assert_eq!(cluster.delete(&handle, "db", 3).await.status, 204);
    assert!(!path.exists());
    assert_eq!(cluster.delete(&handle, "db", 3).await.status, 204);
    cluster
        .release(&handle, &cluster.release_request("db", 3, "req-4", &key))
        .await
        .problem(404, "not-found");
    assert_eq!(cluster.health(&handle).await.shares, 0);
    handle.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_shards_and_requests_are_refused_precisely() {
    let cluster = Cluster::new().await;
    let handle = cluster.start(cluster.config("c1")).await;
    let me = cluster.recipient_of("c1");
    let good = cluster.shard("c1", "k", 1, b"a share");

    // A flipped byte in the sealed payload (before the 64-byte signature).
    let mut flipped = good.clone();
    let at = flipped.len() - 64 - 3;
    flipped[at] ^= 0x10;
    cluster
        .put(&handle, "k", 1, flipped)
        .await
        .problem(422, "bad-signature");
    // A flipped bit in the signature itself.
    let mut bad_signature = good.clone();
    *bad_signature.last_mut().unwrap() ^= 1;
    cluster
        .put(&handle, "k", 1, bad_signature)
        .await
        .problem(422, "bad-signature");
    // Truncated, and not an envelope at all.
    cluster
        .put(&handle, "k", 1, good[..good.len() - 10].to_vec())
        .await
        .problem(400, "bad-envelope");
    cluster
        .put(&handle, "k", 1, b"hello".to_vec())
        .await
        .problem(400, "bad-envelope");
    // Signed by another dealer.
    let stranger = Identity::generate(&mut rand::rng());
    let body = seal(metadata("k", 1, "c1", &me), b"a share", &me, &stranger);
    let problem = cluster
        .put(&handle, "k", 1, body)
        .await
        .problem(422, "wrong-signer");
    assert!(problem.detail.unwrap().contains("pinned coordinator"));
    // Sealed to another recipient.
    let other = Identity::generate(&mut rand::rng()).recipient();
    let body = seal(
        metadata("k", 1, "c1", &other),
        b"a share",
        &other,
        &cluster.dealer,
    );
    cluster
        .put(&handle, "k", 1, body)
        .await
        .problem(422, "not-recipient");
    // Sealed to our key but naming another custodian.
    let body = seal(
        metadata("k", 1, "c2", &me),
        b"a share",
        &me,
        &cluster.dealer,
    );
    cluster
        .put(&handle, "k", 1, body)
        .await
        .problem(422, "not-recipient");
    // The path names another key or version.
    let problem = cluster
        .put(&handle, "other", 1, good.clone())
        .await
        .problem(422, "key-mismatch");
    assert!(problem.detail.unwrap().contains("key_id"));
    let problem = cluster
        .put(&handle, "k", 2, good.clone())
        .await
        .problem(422, "key-mismatch");
    assert!(problem.detail.unwrap().contains("version"));
    // Expired.
    let mut expired = metadata("k", 1, "c1", &me);
    expired.created_at = now_secs() - 100;
    expired.expires_at = Some(now_secs() - 10);
    let body = seal(expired, b"a share", &me, &cluster.dealer);
    cluster
        .put(&handle, "k", 1, body)
        .await
        .problem(422, "expired");
    // Malformed paths.
    cluster
        .put(&handle, "k", 0, good.clone())
        .await
        .problem(422, "key-mismatch");
    let url = format!("{}/v1/keys/k/versions/one/share", handle.endpoint());
    Answer::of(
        cluster
            .client
            .put(url)
            .body(good.clone())
            .send()
            .await
            .unwrap(),
    )
    .await
    .problem(400, "bad-request");
    let url = format!("{}/v1/keys/..%2Fetc/versions/1/share", handle.endpoint());
    Answer::of(
        cluster
            .client
            .put(url)
            .body(good.clone())
            .send()
            .await
            .unwrap(),
    )
    .await
    .problem(400, "bad-request");
    // Nothing refused was stored.
    assert_eq!(cluster.health(&handle).await.shares, 0);

    // The good one is stored; a different shard for the same version is a
    // conflict, the same bytes are fine.
    cluster
        .put(&handle, "k", 1, good.clone())
        .await
        .ok::<StoreShareResponse>();
    let different = cluster.shard("c1", "k", 1, b"a share");
    assert_ne!(different, good);
    cluster
        .put(&handle, "k", 1, different)
        .await
        .problem(409, "conflict");
    cluster
        .put(&handle, "k", 1, good.clone())
        .await
        .ok::<StoreShareResponse>();
    let on_disk = std::fs::read(cluster.data_dir("c1").join("shares/k/1.sym")).unwrap();
    assert_eq!(on_disk, good);

    // Oversized body.
    cluster
        .put(&handle, "k", 5, vec![0u8; MAX_BODY + 1])
        .await
        .problem(413, "payload-too-large");

    // Releases of what is not held; malformed release requests.
    let key = EphemeralKey::generate(&mut rand::rng());
    cluster
        .release(&handle, &cluster.release_request("nope", 1, "r", &key))
        .await
        .problem(404, "not-found");
    cluster
        .release(&handle, &cluster.release_request("k", 9, "r", &key))
        .await
        .problem(404, "not-found");
    let url = format!("{}/v1/release", handle.endpoint());
    let answer = Answer::of(
        cluster
            .client
            .post(&url)
            .header("content-type", "application/json")
            .body("{\"request_id\": 1}")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(answer.content_type, PROBLEM_CONTENT_TYPE);
    assert!((400..500).contains(&answer.status));
    // An unusable ephemeral key (all zero: small order).
    let zero = cluster.logged(statement("k", 1, "r", [0; 32]));
    cluster
        .release(&handle, &zero)
        .await
        .problem(400, "bad-request");
    // Unknown route and wrong method.
    let url = format!("{}/v1/nothing", handle.endpoint());
    Answer::of(cluster.client.get(url).send().await.unwrap())
        .await
        .problem(404, "not-found");
    let url = format!("{}/v1/release", handle.endpoint());
    Answer::of(cluster.client.get(url).send().await.unwrap())
        .await
        .problem(405, "method-not-allowed");
    handle.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn release_of_an_expired_shard_is_refused() {
    let cluster = Cluster::new().await;
    let handle = cluster.start(cluster.config("c1")).await;
    let me = cluster.recipient_of("c1");
    let mut soon = metadata("k", 1, "c1", &me);
    soon.expires_at = Some(now_secs() + 2);
    let body = seal(soon, b"short-lived", &me, &cluster.dealer);
    cluster
        .put(&handle, "k", 1, body)
        .await
        .ok::<StoreShareResponse>();
    let key = EphemeralKey::generate(&mut rand::rng());
    tokio::time::sleep(Duration::from_millis(2100)).await;
    cluster
        .release(&handle, &cluster.release_request("k", 1, "r", &key))
        .await
        .problem(422, "expired");
    handle.shutdown().await.unwrap();
}

// ---------------------------------------------------------------------------
// TLS.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_coordinator_gets_through_tls() {
    let cluster = Cluster::new().await;
    let handle = cluster.start(cluster.config("c1")).await;
    let url = format!("{}/v1/health", handle.endpoint());

    // The coordinator: yes.
    assert_eq!(cluster.health(&handle).await.id, "c1");

    // A client-role certificate of the same CA: refused in the handshake.
    let client = http_client(&cluster.client_tls, Role::Custodian, Duration::from_secs(5)).unwrap();
    let err = client.get(&url).send().await.unwrap_err();
    assert!(!err.is_status(), "{err:?}");

    // Another custodian's certificate: refused too.
    let peer_tls = cluster
        .ca
        .issue(Role::Custodian, "c2", &[])
        .unwrap()
        .write(
            &cluster.dir.path().join("tls"),
            "c2",
            cluster.ca.cert_path(),
            symbolon_transport::Existing::Replace,
        )
        .unwrap();
    let peer = http_client(&peer_tls, Role::Custodian, Duration::from_secs(5)).unwrap();
    assert!(peer.get(&url).send().await.is_err());

    // No certificate at all: refused.
    let mut roots = symbolon_transport::rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(&cluster.coordinator_tls.ca).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let anonymous = symbolon_transport::rustls::ClientConfig::builder_with_provider(
        symbolon_transport::crypto_provider(),
    )
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let anonymous = reqwest::Client::builder()
        .tls_backend_preconfigured(anonymous)
        .build()
        .unwrap();
    let err = anonymous.get(&url).send().await.unwrap_err();
    assert!(!err.is_status(), "{err:?}");
    handle.shutdown().await.unwrap();
}

// ---------------------------------------------------------------------------
// Restarts.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_keeps_shards_and_skips_corrupted_files() {
    let cluster = Cluster::new().await;
    let config = cluster.config("c1");
    let handle = cluster.start(config.clone()).await;
    for key_id in ["alpha", "beta", "gamma"] {
        let body = cluster.shard("c1", key_id, 1, key_id.as_bytes());
        cluster
            .put(&handle, key_id, 1, body)
            .await
            .ok::<StoreShareResponse>();
    }
    handle.shutdown().await.unwrap();

    // Corrupt one stored shard, move another under the wrong version, and
    // drop junk next to them.
    let shares = cluster.data_dir("c1").join("shares");
    let beta = shares.join("beta/1.sym");
    let mut bytes = std::fs::read(&beta).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0xff;
    std::fs::write(&beta, &bytes).unwrap();
    std::fs::rename(shares.join("gamma/1.sym"), shares.join("gamma/2.sym")).unwrap();
    std::fs::create_dir_all(shares.join("junk")).unwrap();
    std::fs::write(shares.join("junk/1.sym"), b"not a shard").unwrap();
    std::fs::write(shares.join("junk/notes.txt"), b"hello").unwrap();

    let handle = cluster.start(config).await;
    assert_eq!(cluster.health(&handle).await.shares, 1);
    let key = EphemeralKey::generate(&mut rand::rng());
    let answer = cluster
        .release(&handle, &cluster.release_request("alpha", 1, "r", &key))
        .await;
    let released: ReleaseResponse = answer.ok();
    let context = ReleaseContext {
        request_id: "r",
        key_id: "alpha",
        version: 1,
        custodian_id: "c1",
        index: 2,
    };
    let plaintext = key.open(&context, &released.enc, &released.sealed).unwrap();
    assert_eq!(&plaintext[BLINDING_LEN..], b"alpha");
    for (key_id, version) in [("beta", 1), ("gamma", 2), ("gamma", 1), ("junk", 1)] {
        cluster
            .release(
                &handle,
                &cluster.release_request(key_id, version, "r", &key),
            )
            .await
            .problem(404, "not-found");
    }
    // The bad files are left where they were.
    assert_eq!(std::fs::read(&beta).unwrap(), bytes);
    assert!(shares.join("gamma/2.sym").exists());
    assert!(shares.join("junk/1.sym").exists());
    // Heartbeats list exactly the shard that loaded.
    let beats = cluster.fake.recorded.heartbeats_of("c1");
    let last = &beats.last().unwrap().heartbeat.shares;
    assert_eq!(last.len(), 1);
    assert_eq!(last[0].key_id, "alpha");
    handle.shutdown().await.unwrap();
}

// ---------------------------------------------------------------------------
// Configuration.

fn write_config(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("custodian.toml");
    std::fs::write(&path, text).unwrap();
    path
}

const CONFIG: &str = r#"
id = "c1"
listen = "127.0.0.1:0"
data_dir = "data"
coordinator_url = "https://127.0.0.1:7100"
join_token = "join-me"

[labels]
region = "eu-central"
country = "DE"
provider = "test"
kind = "tee"

[tls]
ca = "ca.pem"
cert = "c1.pem"
key = "c1.key"
"#;

#[test]
fn config_errors_name_the_file_and_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::load(&write_config(dir.path(), CONFIG)).unwrap();
    assert_eq!(config.labels.kind, CustodianKind::Tee);
    assert_eq!(config.heartbeat_interval_ms, None);

    let cases = [
        (
            CONFIG.replace("[labels]\nregion = \"eu-central\"\ncountry = \"DE\"\nprovider = \"test\"\nkind = \"tee\"\n", ""),
            "labels",
        ),
        (CONFIG.replace("kind = \"tee\"", "kind = \"mainframe\""), "labels.kind"),
        (
            CONFIG.replace("join_token = \"join-me\"", "join_token = \"a\"\njoin_token_file = \"t\""),
            "join_token",
        ),
        (CONFIG.replace("id = \"c1\"", "id = \"-c1\""), "id"),
        (CONFIG.replace("cert = \"c1.pem\"", "cert = \"c1.pem\"\ncrt = \"x\""), "tls.crt"),
        (CONFIG.replace("listen = \"127.0.0.1:0\"", "listen = 7"), "listen"),
    ];
    for (text, field) in cases {
        let path = write_config(dir.path(), &text);
        let err = Config::load(&path).unwrap_err();
        let Error::Config { field: named, .. } = &err else {
            panic!("{err:?}");
        };
        assert_eq!(named, field, "{err}");
        let message = err.to_string();
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(message.contains(field), "{message}");
    }
}

#[tokio::test]
async fn a_certificate_for_another_name_is_refused_at_start() {
    let cluster = Cluster::new().await;
    let mut config = cluster.config("c1");
    config.tls = cluster.config("c2").tls;
    let err = symbolon_custodian::start(config).await.unwrap_err();
    assert!(
        matches!(&err, Error::Config { field, .. } if field == "tls.cert"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------
// Cost of a release through HTTP (printed, not asserted).

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn release_cost() {
    let cluster = Cluster::new().await;
    let handle = cluster.start(cluster.config("c1")).await;
    let body = cluster.shard("c1", "k", 1, &[0x5a; 32]);
    cluster
        .put(&handle, "k", 1, body)
        .await
        .ok::<StoreShareResponse>();
    let key = EphemeralKey::generate(&mut rand::rng());
    let request = cluster.release_request("k", 1, "r", &key);
    // Warm the connection up.
    for _ in 0..20 {
        assert_eq!(cluster.release(&handle, &request).await.status, 200);
    }
    let n = 300;
    let started = Instant::now();
    for _ in 0..n {
        assert_eq!(cluster.release(&handle, &request).await.status, 200);
    }
    let sequential = started.elapsed() / n;
    let started = Instant::now();
    for _ in 0..n {
        cluster.health(&handle).await;
    }
    let health = started.elapsed() / n;
    let context = ReleaseContext {
        request_id: "r",
        key_id: "k",
        version: 1,
        custodian_id: "c1",
        index: 2,
    };
    let started = Instant::now();
    for _ in 0..n {
        symbolon_proto::release::seal(&key.public(), &context, &[1; 64], &mut rand::rng()).unwrap();
    }
    let seal_cost = started.elapsed() / n;

    let concurrency = 8;
    let per_task = 100;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let client = cluster.client.clone();
        let url = format!("{}/v1/release", handle.endpoint());
        let request = request.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..per_task {
                let response = client.post(&url).json(&request).send().await.unwrap();
                assert_eq!(response.status(), 200);
                response.bytes().await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let elapsed = started.elapsed();
    let rate = f64::from(concurrency * per_task) / elapsed.as_secs_f64();
    println!(
        "release through HTTPS (client and custodian in one process, 2 worker threads): \
         {sequential:?} per release sequentially (a health check: {health:?}; one seal in this build: {seal_cost:?}); \
         {rate:.0} releases/s with {concurrency} concurrent callers"
    );
    handle.shutdown().await.unwrap();
}

// ---------------------------------------------------------------------------
// The audit log: nothing is released for a request that is not in it.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn releases_need_the_request_in_a_log_consistent_with_every_earlier_one() {
    let cluster = Cluster::new().await;
    let config = cluster.config("c1");
    let handle = cluster.start(config.clone()).await;
    let shard = cluster.shard("c1", "k", 1, b"a share");
    cluster
        .put(&handle, "k", 1, shard)
        .await
        .ok::<StoreShareResponse>();
    let key = EphemeralKey::generate(&mut rand::rng());

    // Logged: released, with the custodian's cosignature on the head.
    let request = cluster.release_request("k", 1, "r1", &key);
    let answer = cluster.release(&handle, &request).await;
    let released: ReleaseResponse = answer.ok();
    let size = cluster.fake.recorded.log.lock().unwrap().tree.size();
    assert_eq!(released.witness_size, size);
    let attestation = cluster.fake.recorded.registration_of("c1").attestation_key;
    let witness = NoteKey::new(
        "c1",
        ed25519_dalek::VerifyingKey::from_bytes(&attestation).unwrap(),
    )
    .unwrap();
    let cosigned = SignedTreeHead::parse(&released.cosigned_head).unwrap();
    assert_eq!(
        cosigned.count_valid_cosignatures(std::slice::from_ref(&witness)),
        1
    );
    assert_eq!(cosigned.head().size, size);
    // The same head again (as every request of one log batch brings it):
    // the remembered cosignature, still valid, on the same head.
    let again: ReleaseResponse = cluster.release(&handle, &request).await.ok();
    assert_eq!(again.cosigned_head, released.cosigned_head);
    // A newer head is cosigned afresh.
    let next = cluster.release_request("k", 1, "r1b", &key);
    let newer_size = cluster.fake.recorded.log.lock().unwrap().tree.size();
    assert!(newer_size > size);
    let released: ReleaseResponse = cluster.release(&handle, &next).await.ok();
    let newer = SignedTreeHead::parse(&released.cosigned_head).unwrap();
    assert_eq!(newer.head().size, newer_size);
    assert_eq!(released.witness_size, newer_size);
    assert_eq!(newer.count_valid_cosignatures(&[witness]), 1);

    // A request changed after it was logged (another requester).
    let mut changed = cluster.release_request("k", 1, "r2", &key);
    changed.statement.requester = "mallory".to_owned();
    cluster
        .release(&handle, &changed)
        .await
        .problem(403, "request-not-in-log");
    // The entry proven is not a request.created entry.
    let mut wrong_kind = cluster.release_request("k", 1, "r3", &key);
    let mut entry = Entry::decode(&wrong_kind.evidence.entry).unwrap();
    entry.event = EventKind::RequestCompleted;
    wrong_kind.evidence.entry = entry.encode().unwrap();
    cluster
        .release(&handle, &wrong_kind)
        .await
        .problem(403, "request-not-in-log");
    // Logged, but expired.
    let mut old = statement("k", 1, "r4", key.public());
    old.created_at_ms -= 120_000;
    old.expires_at_ms = now_ms() - 1_000;
    let expired = cluster.logged(old);
    cluster
        .release(&handle, &expired)
        .await
        .problem(403, "request-expired");
    // A head signed by another key than the one pinned.
    let mut foreign = cluster.release_request("k", 1, "r5", &key);
    let head = SignedTreeHead::parse(&foreign.evidence.head).unwrap();
    let other = ed25519_dalek::SigningKey::from_bytes(&[43; 32]);
    foreign.evidence.head = head
        .head()
        .sign(LOG_ORIGIN, LOG_ORIGIN, &other)
        .unwrap()
        .to_note();
    cluster
        .release(&handle, &foreign)
        .await
        .problem(409, "audit-log-refused");
    // Leaf hashes that start beyond the ones held.
    let mut gap = cluster.release_request("k", 1, "r6", &key);
    let held = released.witness_size;
    gap.evidence.first_leaf = held + 1;
    gap.evidence.leaves = gap.evidence.leaves[((held + 1) * 32) as usize..].to_vec();
    cluster
        .release(&handle, &gap)
        .await
        .problem(409, "audit-leaves-gap");

    // A forked log: the coordinator rewrote entry 0 and signed the result
    // with its (real) key. Refused, and the refusal recorded.
    let fork_statement = statement("k", 1, "r7", key.public());
    let fork_evidence = {
        let mut log = cluster.fake.recorded.log.lock().unwrap();
        let mut forked = Tree::new();
        forked.append_entry(b"history rewritten");
        for i in 1..log.tree.size() {
            forked.append(log.tree.leaf(i).unwrap());
        }
        let honest = std::mem::replace(&mut log.tree, forked);
        let evidence = log.log(&fork_statement);
        log.tree = honest;
        evidence
    };
    cluster
        .release(
            &handle,
            &ReleaseRequest {
                statement: fork_statement,
                evidence: fork_evidence,
            },
        )
        .await
        .problem(409, "audit-log-refused");
    let refusals =
        std::fs::read_to_string(cluster.data_dir("c1").join("audit/refusals.log")).unwrap();
    assert!(refusals.contains("forked"), "{refusals}");

    // After a restart the custodian still holds the log: the honest log
    // goes on, sent with only the leaves it lacks.
    handle.shutdown().await.unwrap();
    let handle = cluster.start(config).await;
    let mut next = cluster.release_request("k", 1, "r8", &key);
    let held = released.witness_size;
    next.evidence.first_leaf = held;
    next.evidence.leaves = next.evidence.leaves[(held * 32) as usize..].to_vec();
    let answer = cluster.release(&handle, &next).await;
    answer.ok::<ReleaseResponse>();
    handle.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custodian_far_behind_catches_up_with_signed_heads() {
    let cluster = Cluster::new().await;
    let handle = cluster.start(cluster.config("c1")).await;
    let shard = cluster.shard("c1", "k", 1, b"a share");
    cluster
        .put(&handle, "k", 1, shard)
        .await
        .ok::<StoreShareResponse>();
    let sync = |head: String, first: u64, leaves: Vec<u8>| {
        cluster.audit_sync(&handle, head, first, leaves)
    };
    let (head20, leaves, forked) = {
        let mut log = cluster.fake.recorded.log.lock().unwrap();
        for i in 0..30u32 {
            log.tree.append_entry(&i.to_be_bytes());
        }
        let leaves: Vec<u8> = (0..30)
            .flat_map(|i| *log.tree.leaf(i).unwrap().as_bytes())
            .collect();
        let mut other = Tree::new();
        for i in 0..30u32 {
            other.append_entry(&(i + u32::from(i == 3)).to_be_bytes());
        }
        let forked = TreeHead {
            size: 30,
            root_hash: other.root(30).unwrap(),
            timestamp_ms: 1,
        }
        .sign(LOG_ORIGIN, LOG_ORIGIN, &log.key)
        .unwrap()
        .to_note();
        (log.head(20).to_note(), leaves, forked)
    };
    let answer = sync(head20, 0, leaves[..20 * 32].to_vec()).await;
    let synced: symbolon_proto::audit::AuditSynced = answer.ok();
    assert_eq!(synced.witness_size, 20);
    // Leaves that start beyond the ones held, and a forked log.
    let head30 = cluster.fake.recorded.log.lock().unwrap().head(30).to_note();
    sync(head30, 25, leaves[25 * 32..].to_vec())
        .await
        .problem(409, "audit-leaves-gap");
    sync(forked, 20, leaves[20 * 32..].to_vec())
        .await
        .problem(409, "audit-log-refused");
    // Recorded like a request's refusal.
    let refusals =
        std::fs::read_to_string(cluster.data_dir("c1").join("audit/refusals.log")).unwrap();
    let line = refusals.lines().find(|l| l.contains("sync from leaf 20"));
    assert!(
        line.is_some_and(|l| l.contains("audit log refused")),
        "{refusals}"
    );
    assert_eq!(
        refusals.lines().count(),
        1,
        "a gap is not a refusal: {refusals}"
    );
    // A request now needs only the leaves after the 20 held.
    let key = EphemeralKey::generate(&mut rand::rng());
    let mut request = cluster.release_request("k", 1, "r1", &key);
    request.evidence.first_leaf = 20;
    request.evidence.leaves = request.evidence.leaves[20 * 32..].to_vec();
    let answer = cluster.release(&handle, &request).await;
    answer.ok::<ReleaseResponse>();
    // Heartbeats report the leaves held.
    wait_until("a heartbeat reporting the audit size", || {
        cluster
            .fake
            .recorded
            .heartbeats_of("c1")
            .last()
            .is_some_and(|b| b.heartbeat.audit_size >= 32)
    })
    .await;
    handle.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_newest_audit_head_is_saved_by_a_sync_and_at_a_graceful_stop() {
    let cluster = Cluster::new().await;
    let config = cluster.config("c1");
    let handle = cluster.start(config.clone()).await;
    let shard = cluster.shard("c1", "k", 1, b"a share");
    cluster
        .put(&handle, "k", 1, shard)
        .await
        .ok::<StoreShareResponse>();
    let note = cluster.data_dir("c1").join("audit/head.note");
    let saved_size = || {
        SignedTreeHead::parse(&std::fs::read_to_string(&note).unwrap())
            .unwrap()
            .head()
            .size
    };
    // A sync's head is saved (the first head accepted: at once).
    let (head, leaves) = {
        let mut log = cluster.fake.recorded.log.lock().unwrap();
        for i in 0..10u32 {
            log.tree.append_entry(&i.to_be_bytes());
        }
        let leaves: Vec<u8> = (0..10)
            .flat_map(|i| *log.tree.leaf(i).unwrap().as_bytes())
            .collect();
        (log.head(10).to_note(), leaves)
    };
    let synced: symbolon_proto::audit::AuditSynced =
        cluster.audit_sync(&handle, head, 0, leaves).await.ok();
    assert_eq!(synced.witness_size, 10);
    assert_eq!(saved_size(), 10);
    // A burst of requests: the note is written at most once a second,
    // but the newest head is written at the graceful stop.
    let key = EphemeralKey::generate(&mut rand::rng());
    for request_id in ["r1", "r2", "r3"] {
        let request = cluster.release_request("k", 1, request_id, &key);
        cluster
            .release(&handle, &request)
            .await
            .ok::<ReleaseResponse>();
    }
    handle.shutdown().await.unwrap();
    let size = cluster.fake.recorded.log.lock().unwrap().tree.size();
    assert_eq!(saved_size(), size);
    // It matches the leaves held: the restart accepts it.
    let handle = cluster.start(config).await;
    assert_eq!(cluster.leaves_held("c1"), size);
    handle.shutdown().await.unwrap();
}

// ---------------------------------------------------------------------------
// Threshold keys: share packages, partial results, nonces.

/// The custodian under test holds this index of every threshold key.
const MY_INDEX: u16 = 2;

/// A 2-of-3 FROST(Ed25519) key dealt by the test, which keeps every share.
struct EdKey {
    group: ed25519::GroupKey,
    /// The dealt shares' encodings, index 1 first.
    dealt: Vec<Vec<u8>>,
}

impl EdKey {
    fn deal(seed: u64) -> Self {
        let (group, dealt) = ed25519::deal(2, 3, &mut ChaCha20Rng::seed_from_u64(seed)).unwrap();
        Self {
            group,
            dealt: dealt.iter().map(|d| d.to_bytes().to_vec()).collect(),
        }
    }

    fn group_bytes(&self) -> Vec<u8> {
        self.group.to_bytes()
    }

    fn commitment(&self) -> [u8; 32] {
        group_commitment(KeyKind::Ed25519, &self.group_bytes())
    }

    /// Participant `index`'s share package.
    fn package(&self, index: u16) -> Vec<u8> {
        encode_package(&self.group_bytes(), &self.dealt[usize::from(index) - 1]).to_vec()
    }

    fn share(&self, index: u16) -> ed25519::KeyShare {
        ed25519::KeyShare::from_dealt(&self.dealt[usize::from(index) - 1]).unwrap()
    }
}

/// A 2-of-3 TDH2 key on ristretto255 dealt by the test.
struct TdhKey {
    group: tdh2::GroupPublic,
    shares: Vec<tdh2::KeyShare>,
}

impl TdhKey {
    fn deal(seed: u64) -> Self {
        let (group, shares) = tdh2::deal(2, 3, &mut ChaCha20Rng::seed_from_u64(seed)).unwrap();
        Self { group, shares }
    }

    fn commitment(&self) -> [u8; 32] {
        group_commitment(KeyKind::Ristretto255, &self.group.to_bytes())
    }

    fn package(&self, index: u16) -> Vec<u8> {
        encode_package(
            &self.group.to_bytes(),
            self.shares[usize::from(index) - 1].to_bytes().as_slice(),
        )
        .to_vec()
    }
}

impl Cluster {
    /// A threshold shard for custodian `id`: `package` sealed under
    /// `scheme`, as share `index` of a 2-of-3 key committing to `commitment`.
    fn threshold_shard(
        &self,
        id: &str,
        key_id: &str,
        scheme: Scheme,
        index: u16,
        package: &[u8],
        commitment: [u8; 32],
    ) -> Vec<u8> {
        let to = self.recipient_of(id);
        let mut metadata = metadata(key_id, 1, id, &to);
        metadata.scheme = scheme;
        metadata.index = index;
        metadata.threshold = 2;
        metadata.shares = 3;
        metadata.commitment = commitment;
        seal(metadata, package, &to, &self.dealer)
    }

    /// Stores `key`'s share `MY_INDEX` as `key_id` version 1 on `handle`.
    async fn put_ed25519(&self, handle: &Handle, key_id: &str, key: &EdKey) -> StoreShareResponse {
        let package = key.package(MY_INDEX);
        self.put_threshold(
            handle,
            key_id,
            Scheme::FrostEd25519,
            &package,
            key.commitment(),
        )
        .await
    }

    /// Stores `key`'s share `MY_INDEX` as `key_id` version 1 on `handle`.
    async fn put_ristretto255(
        &self,
        handle: &Handle,
        key_id: &str,
        key: &TdhKey,
    ) -> StoreShareResponse {
        let package = key.package(MY_INDEX);
        self.put_threshold(
            handle,
            key_id,
            Scheme::FeldmanRistretto255,
            &package,
            key.commitment(),
        )
        .await
    }

    async fn put_threshold(
        &self,
        handle: &Handle,
        key_id: &str,
        scheme: Scheme,
        package: &[u8],
        commitment: [u8; 32],
    ) -> StoreShareResponse {
        let body = self.threshold_shard(handle.id(), key_id, scheme, MY_INDEX, package, commitment);
        let ack: StoreShareResponse = self.put(handle, key_id, 1, body.clone()).await.ok();
        assert_eq!(ack.custodian_id, handle.id());
        assert_eq!(ack.index, MY_INDEX);
        assert_eq!(ack.digest, *blake3::hash(&body).as_bytes());
        ack
    }

    async fn nonces(&self, handle: &Handle, key_id: &str, count: u16) -> Answer {
        let url = format!("{}/v1/keys/{key_id}/versions/1/nonces", handle.endpoint());
        Answer::of(
            self.client
                .post(url)
                .json(&NonceRequest { count })
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// Fresh commitments from `handle` for `key_id` version 1.
    async fn commitments(
        &self,
        handle: &Handle,
        key_id: &str,
        count: u16,
    ) -> Vec<ed25519::SigningCommitments> {
        let answer = self.nonces(handle, key_id, count).await;
        let published: NonceResponse = answer.ok();
        assert_eq!(published.custodian_id, handle.id());
        assert_eq!(published.index, MY_INDEX);
        assert_eq!(published.commitments.len(), usize::from(count));
        published
            .commitments
            .iter()
            .map(|c| ed25519::SigningCommitments::from_bytes(&c.0).unwrap())
            .collect()
    }

    /// A partial request for `operation` on `key_id` version 1, whose logged
    /// statement names `op` and the digest of `payload`.
    fn partial_request(
        &self,
        key_id: &str,
        request_id: &str,
        op: &str,
        payload: &[u8],
        operation: PartialOperation,
    ) -> PartialRequest {
        let mut statement = statement(key_id, 1, request_id, [0; 32]);
        statement.op = op.to_owned();
        statement.payload_digest = payload_digest(payload);
        let evidence = self.fake.recorded.log.lock().unwrap().log(&statement);
        PartialRequest {
            statement,
            evidence,
            operation,
        }
    }

    /// A well-formed signing request for `package`.
    fn sign_request(
        &self,
        key_id: &str,
        request_id: &str,
        package: &ed25519::SigningPackage,
    ) -> PartialRequest {
        self.partial_request(
            key_id,
            request_id,
            "sign",
            package.message(),
            PartialOperation::Sign {
                package: package.to_bytes(),
            },
        )
    }

    fn decrypt_request(&self, key_id: &str, request_id: &str, ciphertext: &[u8]) -> PartialRequest {
        self.partial_request(
            key_id,
            request_id,
            "decrypt",
            ciphertext,
            PartialOperation::Decrypt {
                ciphertext: ciphertext.to_vec(),
            },
        )
    }

    async fn partial(&self, handle: &Handle, request: &PartialRequest) -> Answer {
        let url = format!("{}/v1/partial", handle.endpoint());
        Answer::of(self.client.post(url).json(request).send().await.unwrap()).await
    }

    /// Asks `handle` to sign `message` with its commitment `mine` next to
    /// a fresh one of `theirs` (the test's share); returns the package,
    /// the test's signature share (with its index) and the answer.
    async fn sign_with(
        &self,
        handle: &Handle,
        key_id: &str,
        theirs: &ed25519::KeyShare,
        request_id: &str,
        message: &[u8],
        mine: ed25519::SigningCommitments,
    ) -> (
        ed25519::SigningPackage,
        (u16, ed25519::SignatureShare),
        Answer,
    ) {
        let (nonces, their_commitments) = ed25519::commit(theirs, &mut rand::rng());
        let package = ed25519::SigningPackage::new(
            message,
            &BTreeMap::from([(theirs.index(), their_commitments), (MY_INDEX, mine)]),
        )
        .unwrap();
        let their_share = ed25519::sign(theirs, nonces, &package).unwrap();
        let answer = self
            .partial(handle, &self.sign_request(key_id, request_id, &package))
            .await;
        (package, (theirs.index(), their_share), answer)
    }

    /// Signs `message` with a fresh commitment of `handle`'s and `theirs`,
    /// and checks the signature under `group`.
    async fn sign_fresh(
        &self,
        handle: &Handle,
        key_id: &str,
        request_id: &str,
        message: &[u8],
        theirs: &ed25519::KeyShare,
        group: &ed25519::GroupKey,
    ) {
        let mine = self.commitments(handle, key_id, 1).await[0];
        let (package, their_share, answer) = self
            .sign_with(handle, key_id, theirs, request_id, message, mine)
            .await;
        aggregate_and_verify(group, &package, their_share, &answer);
    }

    /// Signs `message` on `handle` with its published commitment `mine`
    /// next to the test's share 1 of `key`, and checks the signature.
    async fn signs(
        &self,
        handle: &Handle,
        key_id: &str,
        key: &EdKey,
        request_id: &str,
        message: &[u8],
        mine: ed25519::SigningCommitments,
    ) {
        let (package, theirs, answer) = self
            .sign_with(handle, key_id, &key.share(1), request_id, message, mine)
            .await;
        aggregate_and_verify(&key.group, &package, theirs, &answer);
    }

    /// Asks `handle` to sign `message` with its commitment `mine`, which it
    /// must refuse as not (or no longer) held: `nonce-unknown`.
    async fn refuses_nonce(
        &self,
        handle: &Handle,
        key_id: &str,
        key: &EdKey,
        request_id: &str,
        message: &[u8],
        mine: ed25519::SigningCommitments,
    ) {
        let (_, _, answer) = self
            .sign_with(handle, key_id, &key.share(1), request_id, message, mine)
            .await;
        answer.problem(409, "nonce-unknown");
    }

    /// Asks `handle` for its decryption share of `ciphertext` (for
    /// `key_id` version 1), checks its proof and combines it with one of
    /// `theirs` (the test's share); returns the plaintext.
    async fn decrypt_with(
        &self,
        handle: &Handle,
        key_id: &str,
        request_id: &str,
        ciphertext: &[u8],
        group: &tdh2::GroupPublic,
        theirs: &tdh2::KeyShare,
    ) -> Vec<u8> {
        let parsed = symbolon_proto::ciphertext::parse_threshold(ciphertext).unwrap();
        let partial: PartialResponse = self
            .partial(
                handle,
                &self.decrypt_request(key_id, request_id, ciphertext),
            )
            .await
            .ok();
        assert_eq!(partial.index, MY_INDEX);
        let mine = tdh2::DecryptionShare::from_bytes(&partial.partial).unwrap();
        assert_eq!(mine.index(), MY_INDEX);
        tdh2::verify_decryption_share(group, &parsed.ciphertext, &mine).unwrap();
        let other = tdh2::decrypt_share(theirs, &parsed.ciphertext, parsed.label, &mut rand::rng())
            .unwrap();
        tdh2::combine(group, &parsed.ciphertext, parsed.label, &[other, mine])
            .unwrap()
            .as_slice()
            .to_vec()
    }
}

/// Aggregates the test's and `answer`'s signature shares and checks the
/// signature with `ed25519-dalek`'s `verify_strict`.
fn aggregate_and_verify(
    group: &ed25519::GroupKey,
    package: &ed25519::SigningPackage,
    (index, theirs): (u16, ed25519::SignatureShare),
    answer: &Answer,
) {
    let partial: PartialResponse = answer.ok();
    assert_eq!(partial.index, MY_INDEX);
    let mine = ed25519::SignatureShare::from_bytes(&partial.partial).unwrap();
    ed25519::verify_share(group, MY_INDEX, &mine, package).unwrap();
    let signature = ed25519::aggregate(
        package,
        &BTreeMap::from([(index, theirs), (MY_INDEX, mine)]),
        group,
    )
    .unwrap();
    let public = ed25519_dalek::VerifyingKey::from_bytes(&group.verifying_key_bytes()).unwrap();
    public
        .verify_strict(
            package.message(),
            &ed25519_dalek::Signature::from_bytes(&signature.to_bytes()),
        )
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn threshold_shards_are_stored_checked_and_never_released() {
    let cluster = Cluster::new().await;
    let config = cluster.config("c1");
    let handle = cluster.start(config.clone()).await;
    let ed = EdKey::deal(1);
    let tdh = TdhKey::deal(2);

    // Both kinds are stored and acknowledged.
    cluster.put_ed25519(&handle, "sig", &ed).await;
    cluster.put_ristretto255(&handle, "dec", &tdh).await;
    // Heartbeats list them like any shard.
    wait_until("a heartbeat listing both threshold shards", || {
        cluster
            .fake
            .recorded
            .heartbeats_of("c1")
            .last()
            .is_some_and(|b| b.heartbeat.shares.len() == 2)
    })
    .await;

    // Refused packages, each with its reason.
    let other = EdKey::deal(3);
    let cases = [
        (
            "a share from another dealing",
            Scheme::FrostEd25519,
            MY_INDEX,
            encode_package(&ed.group_bytes(), &other.dealt[1]).to_vec(),
            ed.commitment(),
            "participant 2 belongs to a different group key",
        ),
        (
            "the wrong index",
            Scheme::FrostEd25519,
            3,
            ed.package(MY_INDEX),
            ed.commitment(),
            "its share index is not the metadata's",
        ),
        (
            "a commitment to another group",
            Scheme::FrostEd25519,
            MY_INDEX,
            ed.package(MY_INDEX),
            other.commitment(),
            "not the one the signed metadata commits to",
        ),
        (
            "a ristretto255 package under the ed25519 scheme",
            Scheme::FrostEd25519,
            MY_INDEX,
            tdh.package(MY_INDEX),
            group_commitment(KeyKind::Ed25519, &tdh.group.to_bytes()),
            "ed25519 group key",
        ),
        (
            "not a package at all",
            Scheme::FeldmanRistretto255,
            MY_INDEX,
            b"a bare share".to_vec(),
            tdh.commitment(),
            "bad magic",
        ),
    ];
    for (what, scheme, index, package, commitment, reason) in cases {
        let body = cluster.threshold_shard("c1", "bad", scheme, index, &package, commitment);
        let problem = cluster
            .put(&handle, "bad", 1, body)
            .await
            .problem(422, "bad-share-package");
        let detail = problem.detail.unwrap();
        assert!(detail.contains(reason), "{what}: {detail}");
    }
    assert_eq!(cluster.health(&handle).await.shares, 2);

    // A threshold share is never released.
    let key = EphemeralKey::generate(&mut rand::rng());
    for key_id in ["sig", "dec"] {
        let problem = cluster
            .release(&handle, &cluster.release_request(key_id, 1, "r", &key))
            .await
            .problem(409, "wrong-kind");
        assert!(problem.detail.unwrap().contains("never leaves"), "{key_id}");
    }

    // A restart verifies them again and keeps them.
    handle.shutdown().await.unwrap();
    let handle = cluster.start(config).await;
    assert_eq!(cluster.health(&handle).await.shares, 2);
    cluster
        .sign_fresh(
            &handle,
            "sig",
            "r1",
            b"after restart",
            &ed.share(1),
            &ed.group,
        )
        .await;
    handle.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_signatures_use_each_published_nonce_once() {
    let cluster = Cluster::new().await;
    let handle = cluster.start(cluster.config("c1")).await;
    let ed = EdKey::deal(1);
    cluster.put_ed25519(&handle, "sig", &ed).await;
    // A secret key's shard for the kind checks.
    let body = cluster.shard("c1", "plain", 1, b"a share");
    cluster
        .put(&handle, "plain", 1, body)
        .await
        .ok::<StoreShareResponse>();

    // Nonces: persisted before the answer.
    let commitments = cluster.commitments(&handle, "sig", 8).await;
    let batch = cluster.data_dir("c1").join("nonces/sig/1/0.batch");
    let stored = ed25519::NonceBatch::from_bytes(&std::fs::read(&batch).unwrap()).unwrap();
    assert_eq!(stored.commitments(), commitments);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&batch).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // End to end: the signature verifies under the group key.
    let (package, theirs, answer) = cluster
        .sign_with(
            &handle,
            "sig",
            &ed.share(1),
            "r1",
            b"release v1.2.3",
            commitments[0],
        )
        .await;
    aggregate_and_verify(&ed.group, &package, theirs, &answer);
    let partial: PartialResponse = answer.json();
    assert_eq!(partial.custodian_id, "c1");
    assert_eq!(
        partial.witness_size,
        cluster.fake.recorded.log.lock().unwrap().tree.size()
    );
    assert!(SignedTreeHead::parse(&partial.cosigned_head).is_ok());

    // The same commitment again, for the same or another message: refused.
    let again = cluster.sign_request("sig", "r2", &package);
    cluster
        .partial(&handle, &again)
        .await
        .problem(409, "nonce-unknown");
    cluster
        .refuses_nonce(
            &handle,
            "sig",
            &ed,
            "r3",
            b"another message",
            commitments[0],
        )
        .await;
    // A commitment never published here.
    let (_, stranger) = ed25519::commit(&ed.share(MY_INDEX), &mut rand::rng());
    cluster
        .refuses_nonce(&handle, "sig", &ed, "r4", b"m", stranger)
        .await;

    // Refusals that spend no nonce: each uses commitments[1], which then
    // still signs.
    let mine = commitments[1];
    let other = ed25519::commit(&ed.share(1), &mut rand::rng()).1;
    let pair = BTreeMap::from([(1, other), (MY_INDEX, mine)]);
    let package = ed25519::SigningPackage::new(b"the logged message", &pair).unwrap();
    // The message is not the one logged.
    let mut request = cluster.sign_request("sig", "r5", &package);
    request.statement.payload_digest = payload_digest(b"another message");
    let evidence = cluster
        .fake
        .recorded
        .log
        .lock()
        .unwrap()
        .log(&request.statement);
    request.evidence = evidence;
    cluster
        .partial(&handle, &request)
        .await
        .problem(403, "payload-mismatch");
    // The logged request is for another operation.
    let mut request = cluster.partial_request(
        "sig",
        "r6",
        "decrypt",
        package.message(),
        PartialOperation::Sign {
            package: package.to_bytes(),
        },
    );
    cluster
        .partial(&handle, &request)
        .await
        .problem(400, "bad-request");
    // Changed after it was logged.
    request.statement.op = "sign".to_owned();
    cluster
        .partial(&handle, &request)
        .await
        .problem(403, "request-not-in-log");
    // Not a signer, too few signers, a signer outside the group.
    let without_me = ed25519::SigningPackage::new(
        b"m",
        &BTreeMap::from([
            (1, other),
            (3, ed25519::commit(&ed.share(3), &mut rand::rng()).1),
        ]),
    )
    .unwrap();
    cluster
        .partial(&handle, &cluster.sign_request("sig", "r7", &without_me))
        .await
        .problem(422, "not-a-signer");
    let alone = ed25519::SigningPackage::new(b"m", &BTreeMap::from([(MY_INDEX, mine)])).unwrap();
    cluster
        .partial(&handle, &cluster.sign_request("sig", "r8", &alone))
        .await
        .problem(422, "bad-signing-package");
    let stranger_signer =
        ed25519::SigningPackage::new(b"m", &BTreeMap::from([(MY_INDEX, mine), (9, other)]))
            .unwrap();
    cluster
        .partial(
            &handle,
            &cluster.sign_request("sig", "r9", &stranger_signer),
        )
        .await
        .problem(422, "bad-signing-package");
    // Malformed package.
    cluster
        .partial(
            &handle,
            &cluster.partial_request(
                "sig",
                "r10",
                "sign",
                b"",
                PartialOperation::Sign {
                    package: b"not a package".to_vec(),
                },
            ),
        )
        .await
        .problem(400, "bad-request");
    // Wrong kinds, and unknown keys.
    let ciphertext = b"SYMT".to_vec();
    cluster
        .partial(&handle, &cluster.decrypt_request("sig", "r11", &ciphertext))
        .await
        .problem(409, "wrong-kind");
    cluster
        .partial(&handle, &cluster.sign_request("plain", "r12", &package))
        .await
        .problem(409, "wrong-kind");
    cluster
        .partial(&handle, &cluster.sign_request("nope", "r13", &package))
        .await
        .problem(404, "not-found");
    // And the refused requests spent nothing: commitments[1] still signs.
    cluster
        .signs(&handle, "sig", &ed, "r14", b"still fresh", mine)
        .await;

    // Fault injection: a well-formed share that fails its check, naming us.
    handle
        .hooks()
        .corrupt_releases
        .store(true, Ordering::SeqCst);
    let (package, _, answer) = cluster
        .sign_with(
            &handle,
            "sig",
            &ed.share(1),
            "r15",
            b"corrupted",
            commitments[2],
        )
        .await;
    let partial: PartialResponse = answer.ok();
    let share = ed25519::SignatureShare::from_bytes(&partial.partial).unwrap();
    assert_eq!(
        ed25519::verify_share(&ed.group, MY_INDEX, &share, &package),
        Err(symbolon_threshold::Error::InvalidSignatureShare { index: MY_INDEX })
    );
    handle
        .hooks()
        .corrupt_releases
        .store(false, Ordering::SeqCst);

    // Nonce requests: bounds, kinds, unknown keys.
    for count in [0, symbolon_proto::custodian::MAX_NONCES_PER_REQUEST + 1] {
        cluster
            .nonces(&handle, "sig", count)
            .await
            .problem(400, "bad-request");
    }
    cluster
        .nonces(&handle, "plain", 1)
        .await
        .problem(409, "wrong-kind");
    cluster
        .nonces(&handle, "nope", 1)
        .await
        .problem(404, "not-found");

    // Deleting the share drops its nonces.
    assert_eq!(cluster.delete(&handle, "sig", 1).await.status, 204);
    assert!(!cluster.data_dir("c1").join("nonces/sig").exists());
    cluster.put_ed25519(&handle, "sig", &ed).await;
    cluster
        .refuses_nonce(&handle, "sig", &ed, "r16", b"m", commitments[3])
        .await;
    handle.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_decryptions_check_the_ciphertext_first() {
    let cluster = Cluster::new().await;
    let handle = cluster.start(cluster.config("c1")).await;
    let tdh = TdhKey::deal(2);
    cluster.put_ristretto255(&handle, "dec", &tdh).await;
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let key = tdh.group.encryption_key();
    let ciphertext =
        symbolon_proto::ciphertext::encrypt_threshold(&key, "vault", 1, b"volume key", &mut rng)
            .unwrap();
    let parsed = symbolon_proto::ciphertext::parse_threshold(&ciphertext).unwrap();

    // The decryption share verifies, and combines with another into the
    // plaintext.
    let plaintext = cluster
        .decrypt_with(
            &handle,
            "dec",
            "r1",
            &ciphertext,
            &tdh.group,
            &tdh.shares[0],
        )
        .await;
    assert_eq!(plaintext, b"volume key");

    // Tampered body (the last byte of the AEAD tag): its proof fails.
    let mut tampered = ciphertext.clone();
    *tampered.last_mut().unwrap() ^= 1;
    let problem = cluster
        .partial(&handle, &cluster.decrypt_request("dec", "r2", &tampered))
        .await
        .problem(422, "bad-ciphertext-proof");
    assert!(problem.detail.unwrap().contains("refusing to decrypt"));
    // Relabelled: another key name in the header.
    let mut relabelled = ciphertext.clone();
    relabelled[6] ^= 0x20; // "vault" → "Vault"
    cluster
        .partial(&handle, &cluster.decrypt_request("dec", "r3", &relabelled))
        .await
        .problem(422, "bad-ciphertext-proof");
    // Made for another key.
    let stranger = TdhKey::deal(9).group.encryption_key();
    let foreign =
        symbolon_proto::ciphertext::encrypt_threshold(&stranger, "vault", 1, b"x", &mut rng)
            .unwrap();
    cluster
        .partial(&handle, &cluster.decrypt_request("dec", "r4", &foreign))
        .await
        .problem(422, "bad-ciphertext-proof");
    // Made for another version, and malformed: refused before the log is
    // checked, so the log's new leaf hashes are not even saved.
    let leaves = cluster.leaves_held("c1");
    let v2 =
        symbolon_proto::ciphertext::encrypt_threshold(&key, "vault", 2, b"x", &mut rng).unwrap();
    cluster
        .partial(&handle, &cluster.decrypt_request("dec", "r5", &v2))
        .await
        .problem(422, "key-mismatch");
    let problem = cluster
        .partial(&handle, &cluster.decrypt_request("dec", "r6", b"SYMT\x01"))
        .await
        .problem(400, "bad-request");
    assert!(
        problem
            .detail
            .as_deref()
            .unwrap()
            .contains("malformed threshold ciphertext"),
        "{problem:?}"
    );
    assert_eq!(cluster.leaves_held("c1"), leaves);
    assert!(cluster.fake.recorded.log.lock().unwrap().tree.size() > leaves);
    // Not the ciphertext logged.
    let mut request = cluster.decrypt_request("dec", "r7", &ciphertext);
    request.operation = PartialOperation::Decrypt {
        ciphertext: foreign.clone(),
    };
    cluster
        .partial(&handle, &request)
        .await
        .problem(403, "payload-mismatch");
    // Logged as another operation.
    cluster
        .partial(
            &handle,
            &cluster.partial_request(
                "dec",
                "r8",
                "sign",
                &ciphertext,
                PartialOperation::Decrypt {
                    ciphertext: ciphertext.clone(),
                },
            ),
        )
        .await
        .problem(400, "bad-request");
    // Wrong kinds: signing with a decryption key, nonces for it.
    let ed = EdKey::deal(1);
    let (_, commitments) = ed25519::commit(&ed.share(MY_INDEX), &mut rng);
    let package = ed25519::SigningPackage::new(
        b"m",
        &BTreeMap::from([
            (1, ed25519::commit(&ed.share(1), &mut rng).1),
            (MY_INDEX, commitments),
        ]),
    )
    .unwrap();
    cluster
        .partial(&handle, &cluster.sign_request("dec", "r9", &package))
        .await
        .problem(409, "wrong-kind");
    cluster
        .nonces(&handle, "dec", 1)
        .await
        .problem(409, "wrong-kind");

    // Fault injection: the share's proof fails, naming us.
    handle
        .hooks()
        .corrupt_releases
        .store(true, Ordering::SeqCst);
    let answer = cluster
        .partial(&handle, &cluster.decrypt_request("dec", "r10", &ciphertext))
        .await;
    let partial: PartialResponse = answer.ok();
    let bad = tdh2::DecryptionShare::from_bytes(&partial.partial).unwrap();
    assert_eq!(
        tdh2::verify_decryption_share(&tdh.group, &parsed.ciphertext, &bad),
        Err(symbolon_threshold::Error::InvalidDecryptionShare { index: MY_INDEX })
    );
    handle.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nonces_survive_a_graceful_restart_and_are_dropped_after_a_crash() {
    let cluster = Cluster::new().await;
    let config = cluster.config("c1");
    let handle = cluster.start(config.clone()).await;
    let ed = EdKey::deal(1);
    cluster.put_ed25519(&handle, "sig", &ed).await;
    let first = cluster.commitments(&handle, "sig", 3).await;
    let second = cluster.commitments(&handle, "sig", 2).await;
    cluster
        .signs(&handle, "sig", &ed, "r1", b"before", first[0])
        .await;

    // Graceful stop: the batches are saved without the used nonces, and
    // the stop is marked clean.
    handle.shutdown().await.unwrap();
    let nonces = cluster.data_dir("c1").join("nonces");
    let marker = cluster.data_dir("c1").join("nonces.clean");
    assert!(marker.exists());
    let saved =
        ed25519::NonceBatch::from_bytes(&std::fs::read(nonces.join("sig/1/0.batch")).unwrap())
            .unwrap();
    assert_eq!(saved.commitments(), first[1..].to_vec());

    // Unused commitments still sign; the used one does not.
    let handle = cluster.start(config.clone()).await;
    assert!(
        !marker.exists(),
        "the marker goes at start, before anything can be signed"
    );
    cluster
        .refuses_nonce(&handle, "sig", &ed, "r2", b"replay", first[0])
        .await;
    for (i, mine) in [first[1], second[0]].into_iter().enumerate() {
        cluster
            .signs(&handle, "sig", &ed, &format!("r3-{i}"), b"after", mine)
            .await;
    }
    // New batches continue the sequence.
    let third = cluster.commitments(&handle, "sig", 1).await;
    assert!(nonces.join("sig/1/2.batch").exists());

    // A crash (the handle dropped without shutdown): no marker, so the next
    // start drops every batch, used or not.
    drop(handle);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!marker.exists());
    let handle = cluster.start(config.clone()).await;
    assert!(!nonces.join("sig").exists(), "every batch file is deleted");
    for (i, mine) in [first[2], second[1], third[0]].into_iter().enumerate() {
        cluster
            .refuses_nonce(
                &handle,
                "sig",
                &ed,
                &format!("r4-{i}"),
                b"after a crash",
                mine,
            )
            .await;
    }
    // Fresh nonces work.
    let fresh = cluster.commitments(&handle, "sig", 1).await;
    cluster
        .signs(&handle, "sig", &ed, "r5", b"fresh", fresh[0])
        .await;

    // Without the marker (removed by hand: what a crash after the next
    // start would leave), an unused batch saved by a clean stop is dropped
    // all the same.
    cluster.commitments(&handle, "sig", 2).await;
    handle.shutdown().await.unwrap();
    let unused = nonces.join("sig/1/1.batch");
    assert!(unused.exists(), "the clean stop kept the unused batch");
    std::fs::remove_file(&marker).unwrap();
    let handle = cluster.start(config).await;
    assert!(!unused.exists());
    assert!(!nonces.join("sig").exists());
    handle.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outstanding_nonces_are_capped_oldest_first() {
    let cluster = Cluster::new().await;
    let handle = cluster.start(cluster.config("c1")).await;
    let ed = EdKey::deal(1);
    cluster.put_ed25519(&handle, "sig", &ed).await;
    let per = symbolon_proto::custodian::MAX_NONCES_PER_REQUEST;
    let batches = symbolon_custodian::MAX_OUTSTANDING_NONCES / usize::from(per);
    let oldest = cluster.commitments(&handle, "sig", per).await;
    for _ in 1..batches {
        cluster.commitments(&handle, "sig", per).await;
    }
    let dir = cluster.data_dir("c1").join("nonces/sig/1");
    assert!(dir.join("0.batch").exists(), "exactly at the cap: all kept");
    // One more: the oldest batch goes, file and all.
    let newest = cluster.commitments(&handle, "sig", 1).await;
    assert!(!dir.join("0.batch").exists());
    assert!(dir.join("1.batch").exists());
    cluster
        .refuses_nonce(&handle, "sig", &ed, "r1", b"m", oldest[0])
        .await;
    cluster
        .signs(&handle, "sig", &ed, "r2", b"m", newest[0])
        .await;
    handle.shutdown().await.unwrap();
}

/// A key id may be any name, including the one the clean-stop marker had
/// when it lived among the key ids.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_named_clean_keeps_its_nonces_across_a_graceful_restart() {
    let cluster = Cluster::new().await;
    let config = cluster.config("c1");
    let handle = cluster.start(config.clone()).await;
    let ed = EdKey::deal(1);
    cluster.put_ed25519(&handle, "CLEAN", &ed).await;
    let published = cluster.commitments(&handle, "CLEAN", 2).await;
    handle.shutdown().await.unwrap();
    let data = cluster.data_dir("c1");
    assert!(data.join("nonces.clean").exists());
    assert!(data.join("nonces/CLEAN/1/0.batch").exists());

    let handle = cluster.start(config).await;
    for (request_id, mine) in [("r1", published[0]), ("r2", published[1])] {
        cluster
            .signs(&handle, "CLEAN", &ed, request_id, b"m", mine)
            .await;
    }
    handle.shutdown().await.unwrap();
}

// ---------------------------------------------------------------------------
// Distributed key generation: real custodians next to participants the test
// plays itself with `symbolon_threshold::dkg`.

/// A DKG participant the test plays.
struct Sim<S: Suite> {
    identity: Identity,
    secret1: Option<dkg::Round1Secret<S>>,
    package: dkg::Round1Package<S>,
    secret2: Option<dkg::Round2Secret<S>>,
    /// The others' round-1 packages, as it saw them.
    seen: BTreeMap<u16, dkg::Round1Package<S>>,
    /// Its round-2 packages, by recipient.
    outgoing: BTreeMap<u16, dkg::Round2Package<S>>,
}

/// One DKG session among real custodians and simulated participants, the
/// test relaying.
struct Run<'a, S: Suite> {
    cluster: &'a Cluster,
    session: String,
    start: DkgStart,
    real: BTreeMap<u16, &'a Handle>,
    sims: BTreeMap<u16, Sim<S>>,
}

impl Cluster {
    async fn dkg(
        &self,
        handle: &Handle,
        session: &str,
        step: &str,
        body: &impl serde::Serialize,
    ) -> Answer {
        let url = format!("{}/v1/dkg/{session}/{step}", handle.endpoint());
        Answer::of(self.client.post(url).json(body).send().await.unwrap()).await
    }

    async fn dkg_delete(&self, handle: &Handle, session: &str) -> Answer {
        let url = format!("{}/v1/dkg/{session}", handle.endpoint());
        Answer::of(self.client.delete(url).send().await.unwrap()).await
    }

    fn identity_of(&self, id: &str) -> Identity {
        let text = std::fs::read_to_string(self.data_dir(id).join("identity.key")).unwrap();
        Identity::from_armored(&text).unwrap()
    }
}

impl<'a, S: Suite> Run<'a, S> {
    /// A `threshold`-of-`n` DKG of `key_id` version 1 with `real`
    /// custodians at their indices; the others are simulated (`sim<i>`).
    fn new(
        cluster: &'a Cluster,
        session: &str,
        key_id: &str,
        threshold: u16,
        n: u16,
        real: &[(u16, &'a Handle)],
    ) -> Self {
        let real: BTreeMap<u16, &Handle> = real.iter().copied().collect();
        let mut sims = BTreeMap::new();
        let mut participants = Vec::new();
        for index in 1..=n {
            let (id, recipient) = match real.get(&index) {
                Some(handle) => (handle.id().to_owned(), cluster.recipient_of(handle.id())),
                None => {
                    let identity = Identity::generate(&mut rand::rng());
                    let recipient = identity.recipient();
                    let (secret, package) =
                        dkg::part1::<S, _>(index, threshold, n, &mut rand::rng()).unwrap();
                    sims.insert(
                        index,
                        Sim {
                            identity,
                            secret1: Some(secret),
                            package,
                            secret2: None,
                            seen: BTreeMap::new(),
                            outgoing: BTreeMap::new(),
                        },
                    );
                    (format!("sim{index}"), recipient)
                }
            };
            participants.push(DkgParticipant {
                index,
                custodian_id: id,
                recipient: recipient.to_string(),
            });
        }
        let start = DkgStart {
            key_id: key_id.to_owned(),
            version: 1,
            kind: KeyKind::from_name(S::NAME).unwrap(),
            threshold,
            participants,
            label: format!("key {key_id} version 1"),
        };
        Self {
            cluster,
            session: session.to_owned(),
            start,
            real,
            sims,
        }
    }

    fn participant(&self, index: u16) -> &DkgParticipant {
        self.start
            .participants
            .iter()
            .find(|p| p.index == index)
            .unwrap()
    }

    fn recipient(&self, index: u16) -> Recipient {
        self.participant(index).recipient.parse().unwrap()
    }

    fn scheme(&self) -> Scheme {
        symbolon_proto::scalar::scheme(self.start.kind).unwrap()
    }

    async fn post(&self, handle: &Handle, step: &str, body: &impl serde::Serialize) -> Answer {
        self.cluster.dkg(handle, &self.session, step, body).await
    }

    /// Round 1 on every real custodian; the set an honest relay
    /// broadcasts.
    async fn round1(&self) -> Vec<DkgPackage> {
        let mut set = Vec::new();
        for (&index, handle) in &self.real {
            let answer = self.post(handle, "round1", &self.start).await;
            let round1: DkgRound1 = answer.ok();
            assert_eq!(round1.custodian_id, handle.id());
            assert_eq!(round1.index, index);
            set.push(DkgPackage {
                index,
                package: round1.package,
            });
        }
        for (&index, sim) in &self.sims {
            set.push(DkgPackage {
                index,
                package: sim.package.to_bytes(),
            });
        }
        set.sort_by_key(|p| p.index);
        set
    }

    /// The simulated participants' round 2 on `set`.
    fn sims_round2(&mut self, set: &[DkgPackage]) {
        for (&index, sim) in &mut self.sims {
            let seen: BTreeMap<u16, dkg::Round1Package<S>> = set
                .iter()
                .filter(|p| p.index != index)
                .map(|p| {
                    (
                        p.index,
                        dkg::Round1Package::<S>::from_bytes(&p.package).unwrap(),
                    )
                })
                .collect();
            let (secret, outgoing) = dkg::part2(sim.secret1.take().unwrap(), &seen).unwrap();
            sim.secret2 = Some(secret);
            sim.outgoing = outgoing;
            sim.seen = seen;
        }
    }

    /// Round 2 on every real custodian (each must answer 200).
    async fn round2(&self, set: &[DkgPackage]) -> BTreeMap<u16, DkgRound2> {
        let request = DkgRound2Request {
            round1: set.to_vec(),
        };
        let mut answers = BTreeMap::new();
        for (&index, handle) in &self.real {
            let answer = self.post(handle, "round2", &request).await;
            let round2: DkgRound2 = answer.ok();
            assert_eq!(round2.custodian_id, handle.id());
            assert_eq!(round2.index, index);
            answers.insert(index, round2);
        }
        answers
    }

    /// Round 1 and round 2 everywhere, honestly relayed.
    async fn through_round2(&mut self) -> (Vec<DkgPackage>, BTreeMap<u16, DkgRound2>) {
        let set = self.round1().await;
        self.sims_round2(&set);
        let round2 = self.round2(&set).await;
        (set, round2)
    }

    /// Simulated participant `from` seals `package` to `to` as round 2 of
    /// this session over `set`: its metadata changed by `tweak`, signed by
    /// `signer` (its own key if `None`).
    fn seal_from(
        &self,
        from: u16,
        to: u16,
        set: &[DkgPackage],
        package: &[u8],
        tweak: impl FnOnce(&mut Metadata),
        signer: Option<&Identity>,
    ) -> Vec<u8> {
        let recipient = self.recipient(to);
        let mut metadata = Metadata {
            split_id: [3; 16],
            key_id: self.start.key_id.clone(),
            epoch: self.start.version,
            scheme: self.scheme(),
            index: to,
            threshold: self.start.threshold,
            shares: u16::try_from(self.start.participants.len()).unwrap(),
            recipient: Some(RecipientInfo {
                id: self.participant(to).custodian_id.clone(),
                fingerprint: recipient.fingerprint(),
            }),
            created_at: now_secs(),
            expires_at: None,
            commitment: round1_digest(&self.start, set),
            label: format!("round 2 from sim{from}"),
        };
        tweak(&mut metadata);
        let signer = signer.unwrap_or(&self.sims[&from].identity);
        seal(metadata, package, &recipient, signer)
    }

    /// Simulated participant `from`'s honest envelope to `to`.
    fn honest(&self, from: u16, to: u16, set: &[DkgPackage]) -> DkgPackage {
        DkgPackage {
            index: from,
            package: self.seal_from(
                from,
                to,
                set,
                &self.sims[&from].outgoing[&to].to_bytes(),
                |_| {},
                None,
            ),
        }
    }

    /// What an honest relay hands participant `to`: one envelope from every
    /// other participant.
    fn inbox(
        &self,
        to: u16,
        set: &[DkgPackage],
        round2: &BTreeMap<u16, DkgRound2>,
    ) -> Vec<DkgPackage> {
        let mut inbox = Vec::new();
        for (&from, answer) in round2 {
            if from != to {
                let sealed = answer.sealed.iter().find(|p| p.index == to).unwrap();
                inbox.push(DkgPackage {
                    index: from,
                    package: sealed.package.clone(),
                });
            }
        }
        for &from in self.sims.keys() {
            if from != to {
                inbox.push(self.honest(from, to, set));
            }
        }
        inbox
    }

    async fn finish(&self, handle: &Handle, inbox: Vec<DkgPackage>) -> Answer {
        self.post(handle, "finish", &DkgFinish { round2: inbox })
            .await
    }

    /// Simulated participant `index`'s last round on its inbox.
    fn sim_finish(
        &self,
        index: u16,
        inbox: &[DkgPackage],
    ) -> Result<(S::KeyShare, S::GroupKey), symbolon_threshold::Error> {
        let sim = &self.sims[&index];
        let round2: BTreeMap<u16, dkg::Round2Package<S>> = inbox
            .iter()
            .map(|p| {
                let envelope = Envelope::decode(&p.package).unwrap();
                assert_eq!(
                    envelope.signer(),
                    self.recipient(p.index).signing_key_bytes()
                );
                let plaintext = envelope.open(Some(&sim.identity)).unwrap();
                (
                    p.index,
                    dkg::Round2Package::<S>::from_bytes(&plaintext).unwrap(),
                )
            })
            .collect();
        dkg::part3(sim.secret2.as_ref().unwrap(), &sim.seen, &round2)
    }

    /// The whole DKG, honestly relayed: every real custodian's answer and
    /// every simulated participant's share and group.
    async fn complete(
        &mut self,
    ) -> (
        BTreeMap<u16, DkgDone>,
        BTreeMap<u16, (S::KeyShare, S::GroupKey)>,
    ) {
        let (set, round2) = self.through_round2().await;
        let mut done = BTreeMap::new();
        for (&index, handle) in &self.real {
            let answer = self.finish(handle, self.inbox(index, &set, &round2)).await;
            done.insert(index, answer.ok::<DkgDone>());
        }
        let mut sims = BTreeMap::new();
        for &index in self.sims.keys() {
            let inbox = self.inbox(index, &set, &round2);
            let Ok(output) = self.sim_finish(index, &inbox) else {
                panic!("simulated participant {index} failed");
            };
            sims.insert(index, output);
        }
        (done, sims)
    }

    /// Checks a custodian's answer against the share it stored: the group,
    /// the digest and metadata of the file, signed by and sealed to itself.
    fn check_stored(&self, index: u16, done: &DkgDone, group: &[u8]) {
        let handle = self.real[&index];
        assert_eq!(done.custodian_id, handle.id());
        assert_eq!(done.index, index);
        assert_eq!(done.group, group);
        let path = self
            .cluster
            .data_dir(handle.id())
            .join(format!("shares/{}/1.sym", self.start.key_id));
        let bytes = std::fs::read(path).unwrap();
        assert_eq!(done.digest, *blake3::hash(&bytes).as_bytes());
        let envelope = Envelope::decode(&bytes).unwrap();
        let own = self.cluster.recipient_of(handle.id());
        assert_eq!(envelope.signer(), own.signing_key_bytes());
        let metadata = envelope.metadata();
        assert_eq!(metadata.to_canonical_bytes().unwrap(), done.metadata);
        assert_eq!(metadata.scheme, self.scheme());
        assert_eq!(metadata.index, index);
        assert_eq!(metadata.threshold, self.start.threshold);
        assert_eq!(metadata.recipient.as_ref().unwrap().id, handle.id());
        assert_eq!(
            metadata.recipient.as_ref().unwrap().fingerprint,
            own.fingerprint()
        );
        assert_eq!(
            metadata.commitment,
            group_commitment(self.start.kind, group)
        );
        assert_eq!(metadata.label, self.start.label);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dkg_ed25519_key_signs_survives_a_restart_and_the_relay_only_sees_sealed_shares() {
    let cluster = Cluster::new().await;
    let config = cluster.config("c1");
    let c1 = cluster.start(config.clone()).await;
    let c2 = cluster.start(cluster.config("c2")).await;
    // 2-of-3: c1 is participant 2, c2 participant 3, the test participant 1.
    let mut run =
        Run::<dkg::Ed25519>::new(&cluster, "s1", "sig", 2, 3, &[(MY_INDEX, &c1), (3, &c2)]);
    let (set, round2) = run.through_round2().await;

    // c1's round-2 packages: sealed to each other participant, signed by
    // c1, committing to the round-1 set.
    let digest = round1_digest(&run.start, &set);
    let mine = &round2[&MY_INDEX];
    let mut recipients: Vec<u16> = mine.sealed.iter().map(|p| p.index).collect();
    recipients.sort_unstable();
    assert_eq!(recipients, [1, 3]);
    for sealed in &mine.sealed {
        let envelope = Envelope::decode(&sealed.package).unwrap();
        envelope.verify_signature().unwrap();
        assert!(envelope.is_sealed());
        assert_eq!(
            envelope.signer(),
            cluster.recipient_of("c1").signing_key_bytes()
        );
        let metadata = envelope.metadata();
        assert_eq!(metadata.key_id, "sig");
        assert_eq!(metadata.epoch, 1);
        assert_eq!(metadata.scheme, Scheme::FrostEd25519);
        assert_eq!(metadata.index, sealed.index);
        assert_eq!((metadata.threshold, metadata.shares), (2, 3));
        assert_eq!(metadata.commitment, digest);
        let recipient = metadata.recipient.as_ref().unwrap();
        assert_eq!(recipient.id, run.participant(sealed.index).custodian_id);
        assert_eq!(
            recipient.fingerprint,
            run.recipient(sealed.index).fingerprint()
        );
        // What the relay sees holds the share only sealed: the package the
        // test's participant opens is nowhere in the envelope's bytes.
        if sealed.index == 1 {
            let plaintext = envelope.open(Some(&run.sims[&1].identity)).unwrap();
            let package = dkg::Round2Package::<dkg::Ed25519>::from_bytes(&plaintext).unwrap();
            assert_eq!(*package.to_bytes(), *plaintext);
            assert!(
                !sealed
                    .package
                    .windows(plaintext.len())
                    .any(|w| w == plaintext.as_slice())
            );
        }
    }

    // The last round: both custodians and the test derive one group.
    let mut done = BTreeMap::new();
    for (index, handle) in [(MY_INDEX, &c1), (3, &c2)] {
        let answer = run.finish(handle, run.inbox(index, &set, &round2)).await;
        done.insert(index, answer.ok::<DkgDone>());
    }
    let Ok((theirs, group)) = run.sim_finish(1, &run.inbox(1, &set, &round2)) else {
        panic!("the simulated participant's last round failed");
    };
    for (index, answer) in &done {
        run.check_stored(*index, answer, &group.to_bytes());
    }
    // A second finish: the session is over.
    run.finish(&c1, run.inbox(MY_INDEX, &set, &round2))
        .await
        .problem(409, "conflict");

    // Heartbeats report the share; it signs with the test's share.
    let digest = done[&MY_INDEX].digest;
    wait_until("a heartbeat listing the DKG share", || {
        cluster
            .fake
            .recorded
            .heartbeats_of("c1")
            .last()
            .is_some_and(|b| b.heartbeat.shares.iter().any(|s| s.digest == digest))
    })
    .await;
    cluster
        .sign_fresh(&c1, "sig", "r1", b"made by a DKG", &theirs, &group)
        .await;

    // A restart verifies the self-signed share again and keeps it.
    c1.shutdown().await.unwrap();
    let c1 = cluster.start(config).await;
    assert_eq!(cluster.health(&c1).await.shares, 1);
    cluster
        .sign_fresh(&c1, "sig", "r2", b"after a restart", &theirs, &group)
        .await;
    // The session did not survive the restart: deleting it keeps the share.
    assert_eq!(cluster.dkg_delete(&c1, "s1").await.status, 204);
    assert_eq!(cluster.health(&c1).await.shares, 1);
    c1.shutdown().await.unwrap();
    c2.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dkg_ristretto255_key_decrypts_and_delete_drops_its_share() {
    let cluster = Cluster::new().await;
    let c1 = cluster.start(cluster.config("c1")).await;
    let mut run = Run::<dkg::Ristretto255>::new(&cluster, "s1", "dec", 2, 3, &[(MY_INDEX, &c1)]);
    let (done, sims) = run.complete().await;
    let (theirs, group) = &sims[&1];
    assert_eq!(sims[&3].1.to_bytes(), group.to_bytes());
    run.check_stored(MY_INDEX, &done[&MY_INDEX], &group.to_bytes());

    // A decryption share from the stored share combines with the test's.
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let ciphertext = symbolon_proto::ciphertext::encrypt_threshold(
        &group.encryption_key(),
        "dec",
        1,
        b"volume key",
        &mut rng,
    )
    .unwrap();
    let plaintext = cluster
        .decrypt_with(&c1, "dec", "r1", &ciphertext, group, theirs)
        .await;
    assert_eq!(plaintext, b"volume key");

    // The coordinator aborts the DKG (another participant failed): the
    // share is gone, and deleting again is fine.
    assert_eq!(cluster.dkg_delete(&c1, "s1").await.status, 204);
    assert_eq!(cluster.health(&c1).await.shares, 0);
    assert!(!cluster.data_dir("c1").join("shares/dec/1.sym").exists());
    assert_eq!(cluster.dkg_delete(&c1, "s1").await.status, 204);
    cluster
        .partial(&c1, &cluster.decrypt_request("dec", "r2", &ciphertext))
        .await
        .problem(404, "not-found");
    // The key version is free for a new DKG.
    let mut again = Run::<dkg::Ristretto255>::new(&cluster, "s2", "dec", 2, 3, &[(MY_INDEX, &c1)]);
    let (done, sims) = again.complete().await;
    again.check_stored(MY_INDEX, &done[&MY_INDEX], &sims[&1].1.to_bytes());
    c1.shutdown().await.unwrap();
}

/// The coordinator gives up waiting for a last round that stored the share
/// but has not recorded the session finished: the step completes all the
/// same, so the coordinator's abort finds the share to delete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dkg_last_round_completes_when_the_coordinator_gives_up_waiting() {
    let cluster = Cluster::new().await;
    let c1 = cluster.start(cluster.config("c1")).await;
    let mut run = Run::<dkg::Ristretto255>::new(&cluster, "s1", "dec", 2, 3, &[(MY_INDEX, &c1)]);
    let (set, round2) = run.through_round2().await;
    let inbox = run.inbox(MY_INDEX, &set, &round2);
    c1.hooks()
        .stall_dkg_finish_ms
        .store(1_000, Ordering::SeqCst);
    let impatient = http_client(
        &cluster.coordinator_tls,
        Role::Custodian,
        Duration::from_millis(300),
    )
    .unwrap();
    let url = format!("{}/v1/dkg/s1/finish", c1.endpoint());
    let err = impatient
        .post(url)
        .json(&DkgFinish {
            round2: inbox.clone(),
        })
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    c1.hooks().stall_dkg_finish_ms.store(0, Ordering::SeqCst);
    // The session ends finished (not left "running a step").
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let problem = run
            .finish(&c1, inbox.clone())
            .await
            .problem(409, "conflict");
        let detail = problem.detail.unwrap();
        if detail.contains("is finished") {
            break;
        }
        assert!(detail.contains("running a step"), "{detail}");
        assert!(Instant::now() < deadline, "the last round never completed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(cluster.health(&c1).await.shares, 1);
    // The DKG failed elsewhere: the abort deletes the share.
    assert_eq!(cluster.dkg_delete(&c1, "s1").await.status, 204);
    assert_eq!(cluster.health(&c1).await.shares, 0);
    assert!(!cluster.data_dir("c1").join("shares/dec/1.sym").exists());
    c1.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dkg_starts_and_steps_are_checked() {
    let cluster = Cluster::new().await;

    // Not registered: refused like a shard.
    let mut lonely = cluster.config("c1");
    lonely.coordinator_url = "https://127.0.0.1:9".to_owned();
    let handle = symbolon_custodian::start(lonely).await.unwrap();
    let run = Run::<dkg::Ed25519>::new(&cluster, "s0", "k", 2, 3, &[]);
    cluster
        .dkg(&handle, "s0", "round1", &run.start)
        .await
        .problem(503, "not-registered");
    handle.shutdown().await.unwrap();

    let c1 = cluster.start(cluster.config("c1")).await;
    let mut run = Run::<dkg::Ed25519>::new(&cluster, "s1", "k", 2, 3, &[(MY_INDEX, &c1)]);
    let good = run.start.clone();
    // Each change to a good start, and the problem it gets.
    // (what, the change, status, problem kind, detail)
    type Case = (
        &'static str,
        fn(&mut DkgStart),
        u16,
        &'static str,
        &'static str,
    );
    let cases: [Case; 13] = [
        (
            "a secret key",
            |s| s.kind = KeyKind::Secret,
            409,
            "wrong-kind",
            "a secret key cannot be generated by the custodians",
        ),
        (
            "threshold 1",
            |s| s.threshold = 1,
            400,
            "bad-request",
            "threshold 1 for 3 participants",
        ),
        (
            "threshold above n",
            |s| s.threshold = 4,
            400,
            "bad-request",
            "threshold 4 for 3 participants",
        ),
        (
            "index 0",
            |s| s.participants[0].index = 0,
            400,
            "bad-request",
            "participant index 0 is outside 1..=3",
        ),
        (
            "an index twice",
            |s| s.participants[2].index = 1,
            400,
            "bad-request",
            "participant index 1 appears more than once",
        ),
        (
            "a custodian twice",
            |s| s.participants[0].custodian_id = "sim3".to_owned(),
            400,
            "bad-request",
            "custodian \"sim3\" appears more than once",
        ),
        (
            "a recipient twice",
            |s| s.participants[0].recipient = s.participants[2].recipient.clone(),
            400,
            "bad-request",
            "has the recipient key of another participant",
        ),
        (
            "a bad recipient",
            |s| s.participants[0].recipient = "symbolon1nope".to_owned(),
            400,
            "bad-request",
            "participant 1 (sim1) has an invalid recipient",
        ),
        (
            "a bad key id",
            |s| s.key_id = "-k".to_owned(),
            400,
            "bad-request",
            "invalid key id \"-k\"",
        ),
        (
            "a label that cannot be stored",
            |s| s.label = "two\nlines".to_owned(),
            400,
            "bad-request",
            "the label cannot be stored",
        ),
        (
            "too many participants",
            |s| {
                let extra = s.participants[0].clone();
                s.participants.extend(std::iter::repeat_n(extra, 255));
            },
            400,
            "bad-request",
            "258 participants; a key may have at most 255",
        ),
        (
            "without this custodian",
            |s| s.participants[1].custodian_id = "c9".to_owned(),
            422,
            "not-a-participant",
            "this custodian (c1) is not among the participants",
        ),
        (
            "this custodian with another key",
            |s| {
                s.participants[1].recipient =
                    Identity::generate(&mut rand::rng()).recipient().to_string();
            },
            422,
            "not-a-participant",
            "which is not this custodian's key",
        ),
    ];
    for (what, change, status, kind, detail) in cases {
        let mut start = good.clone();
        change(&mut start);
        let problem = cluster
            .dkg(&c1, "s1", "round1", &start)
            .await
            .problem(status, kind);
        let found = problem.detail.unwrap();
        assert!(found.contains(detail), "{what}: {found}");
    }
    cluster
        .dkg(&c1, "-s", "round1", &good)
        .await
        .problem(400, "bad-request");

    // A share held for the key version.
    cluster.put_ed25519(&c1, "held", &EdKey::deal(1)).await;
    let mut held = good.clone();
    held.key_id = "held".to_owned();
    cluster
        .dkg(&c1, "s1", "round1", &held)
        .await
        .problem(409, "conflict");

    // Steps out of order, unknown sessions, sessions in use.
    cluster
        .dkg(
            &c1,
            "s1",
            "round2",
            &DkgRound2Request { round1: Vec::new() },
        )
        .await
        .problem(404, "not-found");
    let set = run.round1().await;
    for session in ["s1", "s2"] {
        // The same session again, or another session for the same key.
        cluster
            .dkg(&c1, session, "round1", &good)
            .await
            .problem(409, "conflict");
    }
    run.finish(&c1, Vec::new()).await.problem(409, "conflict");
    // Malformed sets leave the session as it was.
    let request = |round1: Vec<DkgPackage>| DkgRound2Request { round1 };
    let mut twice = set.clone();
    twice.push(set[0].clone());
    for bad in [set[..2].to_vec(), twice] {
        run.post(&c1, "round2", &request(bad))
            .await
            .problem(400, "bad-request");
    }
    run.sims_round2(&set);
    let round2 = run.round2(&set).await;
    run.post(&c1, "round2", &request(set.clone()))
        .await
        .problem(409, "conflict");
    for bad in [Vec::new(), run.inbox(MY_INDEX, &set, &round2)[..1].to_vec()] {
        run.finish(&c1, bad).await.problem(400, "bad-request");
    }
    let mut with_own = run.inbox(MY_INDEX, &set, &round2);
    with_own.push(DkgPackage {
        index: MY_INDEX,
        package: with_own[0].package.clone(),
    });
    run.finish(&c1, with_own).await.problem(400, "bad-request");
    // Still finishes.
    let answer = run.finish(&c1, run.inbox(MY_INDEX, &set, &round2)).await;
    answer.ok::<DkgDone>();
    // An unknown session is deleted without complaint.
    assert_eq!(cluster.dkg_delete(&c1, "never").await.status, 204);
    assert_eq!(cluster.health(&c1).await.shares, 2);
    c1.shutdown().await.unwrap();
}

/// The one culprit a problem names.
#[track_caller]
fn culprit(problem: &Problem, id: &str, reason: &str) {
    assert_eq!(problem.custodians.len(), 1, "{problem:?}");
    assert_eq!(problem.custodians[0].id, id, "{problem:?}");
    assert!(problem.custodians[0].reason.contains(reason), "{problem:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dkg_cheaters_are_named_and_nothing_is_stored() {
    let cluster = Cluster::new().await;
    let c1 = cluster.start(cluster.config("c1")).await;
    let me = [(MY_INDEX, &c1)];
    let request = |round1: Vec<DkgPackage>| DkgRound2Request { round1 };

    // Round 2: a bad proof of knowledge (participant 3 presents a package
    // made for participant 1), a malformed package.
    let run = Run::<dkg::Ed25519>::new(&cluster, "pok", "k1", 2, 3, &me);
    let mut set = run.round1().await;
    let (_, foreign) = dkg::part1::<dkg::Ed25519, _>(1, 2, 3, &mut rand::rng()).unwrap();
    set[2].package = foreign.to_bytes();
    let problem = run
        .post(&c1, "round2", &request(set.clone()))
        .await
        .problem(422, "dkg-participant-failed");
    culprit(&problem, "sim3", "proof of knowledge");
    // The session failed: only deleting it is left.
    run.post(&c1, "round2", &request(set))
        .await
        .problem(409, "conflict");
    assert_eq!(cluster.dkg_delete(&c1, "pok").await.status, 204);

    let run = Run::<dkg::Ed25519>::new(&cluster, "junk", "k1", 2, 3, &me);
    let mut set = run.round1().await;
    set[0].package = b"not a package".to_vec();
    let problem = run
        .post(&c1, "round2", &request(set))
        .await
        .problem(422, "dkg-participant-failed");
    culprit(&problem, "sim1", "malformed round-1 package");

    // Round 2: the relay altered this custodian's own package.
    let run = Run::<dkg::Ed25519>::new(&cluster, "own", "k2", 2, 3, &me);
    let mut set = run.round1().await;
    set[1].package = set[0].package.clone();
    let problem = run
        .post(&c1, "round2", &request(set))
        .await
        .problem(422, "dkg-equivocation");
    assert!(problem.custodians.is_empty(), "{problem:?}");

    // The last round: each kind of bad envelope from participant 1 names
    // it, and nothing is stored.
    /// Who signs participant 1's bad envelope.
    #[derive(Clone, Copy)]
    enum Signer {
        Itself,
        Participant3,
        Stranger,
    }
    let stranger = Identity::generate(&mut rand::rng());
    let keep: fn(&mut Metadata) = |_| {};
    let as_sealed: fn(Vec<u8>) -> Vec<u8> = |bytes| bytes;
    // (what, whose share is sealed (`None`: garbage), the change to its
    // metadata, the signer, the change to the envelope's bytes, the problem
    // kind, the reason participant 1 is named for)
    type Case<'a> = (
        &'a str,
        Option<u16>,
        fn(&mut Metadata),
        Signer,
        fn(Vec<u8>) -> Vec<u8>,
        &'a str,
        &'a str,
    );
    let failed = "dkg-participant-failed";
    let cases: [Case<'_>; 10] = [
        (
            "a share for another participant",
            Some(3),
            keep,
            Signer::Itself,
            as_sealed,
            failed,
            "does not match its commitment",
        ),
        (
            "signed by another participant",
            Some(MY_INDEX),
            keep,
            Signer::Participant3,
            as_sealed,
            failed,
            "not by its own key",
        ),
        (
            "signed by a stranger",
            Some(MY_INDEX),
            keep,
            Signer::Stranger,
            as_sealed,
            failed,
            "not by its own key",
        ),
        (
            "for another key",
            Some(MY_INDEX),
            |m| m.key_id = "other".to_owned(),
            Signer::Itself,
            as_sealed,
            failed,
            "names key id \"other\", not \"k3\"",
        ),
        (
            "for another index",
            Some(MY_INDEX),
            |m| m.index = 3,
            Signer::Itself,
            as_sealed,
            failed,
            "names index 3, not 2",
        ),
        (
            "sealed to another custodian id",
            Some(MY_INDEX),
            |m| m.recipient.as_mut().unwrap().id = "c9".to_owned(),
            Signer::Itself,
            as_sealed,
            failed,
            "not sealed to this custodian",
        ),
        (
            "not a package",
            None,
            keep,
            Signer::Itself,
            as_sealed,
            failed,
            "round-2 package is malformed",
        ),
        (
            "not an envelope",
            Some(MY_INDEX),
            keep,
            Signer::Itself,
            |_| b"SYMB junk".to_vec(),
            failed,
            "round-2 envelope is malformed",
        ),
        (
            "altered after signing",
            Some(MY_INDEX),
            keep,
            Signer::Itself,
            |mut bytes| {
                // In the sealed payload, before the 64-byte signature.
                let at = bytes.len() - 70;
                bytes[at] ^= 1;
                bytes
            },
            failed,
            "does not verify",
        ),
        (
            "committing to another round-1 set",
            Some(MY_INDEX),
            |m| m.commitment = [9; 32],
            Signer::Itself,
            as_sealed,
            "dkg-equivocation",
            "another round-1 set",
        ),
    ];
    for (i, (what, share_for, tweak, signer, alter, kind, reason)) in cases.into_iter().enumerate()
    {
        // Each case in a session of its own (a refusal ends the session).
        let mut run = Run::<dkg::Ed25519>::new(&cluster, &format!("bad{i}"), "k3", 2, 3, &me);
        let (set, round2) = run.through_round2().await;
        let package = match share_for {
            Some(to) => run.sims[&1].outgoing[&to].to_bytes().to_vec(),
            None => b"garbage".to_vec(),
        };
        let signer = match signer {
            Signer::Itself => None,
            Signer::Participant3 => Some(&run.sims[&3].identity),
            Signer::Stranger => Some(&stranger),
        };
        let inbox = vec![
            DkgPackage {
                index: 1,
                package: alter(run.seal_from(1, MY_INDEX, &set, &package, tweak, signer)),
            },
            run.inbox(MY_INDEX, &set, &round2)[1].clone(),
        ];
        assert_eq!(inbox[1].index, 3);
        let answer = run.finish(&c1, inbox).await;
        assert_eq!(
            answer.status,
            422,
            "{what}: {}",
            String::from_utf8_lossy(&answer.body)
        );
        culprit(&answer.problem(422, kind), "sim1", reason);
        assert_eq!(cluster.health(&c1).await.shares, 0, "{what}");
        assert!(!cluster.data_dir("c1").join("shares/k3").exists(), "{what}");
        // The session is over.
        run.finish(&c1, run.inbox(MY_INDEX, &set, &round2))
            .await
            .problem(409, "conflict");
        assert_eq!(cluster.dkg_delete(&c1, &run.session).await.status, 204);
    }

    // Fault injection: this custodian sends participant 1 (the lowest
    // other index) a share off its commitment; participant 1 names it,
    // participant 3 does not.
    c1.hooks().corrupt_dkg.store(true, Ordering::SeqCst);
    let mut run = Run::<dkg::Ed25519>::new(&cluster, "hook", "k5", 2, 3, &me);
    let (set, round2) = run.through_round2().await;
    c1.hooks().corrupt_dkg.store(false, Ordering::SeqCst);
    assert_eq!(
        run.sim_finish(1, &run.inbox(1, &set, &round2)).err(),
        Some(symbolon_threshold::Error::InvalidSecretShare { index: MY_INDEX })
    );
    assert!(run.sim_finish(3, &run.inbox(3, &set, &round2)).is_ok());
    // Its own share is fine.
    let answer = run.finish(&c1, run.inbox(MY_INDEX, &set, &round2)).await;
    answer.ok::<DkgDone>();
    assert_eq!(cluster.health(&c1).await.shares, 1);
    c1.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dkg_share_packages_are_accepted_only_self_signed_and_dealt_ones_only_from_the_coordinator()
{
    let cluster = Cluster::new().await;
    let config = cluster.config("c1");
    let c1 = cluster.start(config.clone()).await;
    let to = cluster.recipient_of("c1");
    let itself = cluster.identity_of("c1");
    assert_eq!(itself.recipient(), to);

    // A DKG share package for participant 2, from a DKG the test plays
    // alone.
    let mut run = Run::<dkg::Ed25519>::new(&cluster, "offline", "k", 2, 3, &[]);
    let (_, mut outputs) = run.complete().await;
    let (share, group) = outputs.remove(&MY_INDEX).unwrap();
    let group = group.to_bytes();
    let dkg_package = encode_dkg_package(&group, &share.to_bytes()).to_vec();
    let dkg_commitment = group_commitment(KeyKind::Ed25519, &group);
    let dealt = EdKey::deal(1);
    let shard = |key_id: &str, scheme, package: &[u8], commitment, signer: &Identity| {
        let mut metadata = metadata(key_id, 1, "c1", &to);
        metadata.scheme = scheme;
        metadata.index = MY_INDEX;
        metadata.commitment = commitment;
        seal(metadata, package, &to, signer)
    };

    // What the custodian stores after a DKG is accepted (here through PUT).
    let own = shard(
        "own",
        Scheme::FrostEd25519,
        &dkg_package,
        dkg_commitment,
        &itself,
    );
    let answer = cluster.put(&c1, "own", 1, own).await;
    answer.ok::<StoreShareResponse>();

    // Refused: a DKG package signed by the coordinator or a dealer's
    // package signed by the custodian itself (not of its signer's making),
    // a secret key's shard signed by the custodian itself (only the
    // coordinator signs those).
    let refused = [
        (
            "dkg-by-coordinator",
            shard(
                "dkg-by-coordinator",
                Scheme::FrostEd25519,
                &dkg_package,
                dkg_commitment,
                &cluster.dealer,
            ),
            "bad-share-package",
            "a DKG share package (version 2) signed by the coordinator",
        ),
        (
            "dealt-by-itself",
            shard(
                "dealt-by-itself",
                Scheme::FrostEd25519,
                &dealt.package(MY_INDEX),
                dealt.commitment(),
                &itself,
            ),
            "bad-share-package",
            "a dealer's share package (version 1) signed by the custodian itself",
        ),
        (
            "secret-by-itself",
            seal(
                metadata("secret-by-itself", 1, "c1", &to),
                b"a share",
                &to,
                &itself,
            ),
            "wrong-signer",
            "not by the pinned coordinator key",
        ),
    ];
    for (key_id, body, kind, reason) in &refused {
        let problem = cluster
            .put(&c1, key_id, 1, body.clone())
            .await
            .problem(422, kind);
        let detail = problem.detail.unwrap();
        assert!(detail.contains(reason), "{key_id}: {detail}");
    }
    // The same dealt package from the coordinator is fine.
    cluster.put_ed25519(&c1, "dealt", &dealt).await;
    assert_eq!(cluster.health(&c1).await.shares, 2);

    // Planted on disk, the refused ones are skipped at the next start (and
    // left in place); the accepted ones load.
    c1.shutdown().await.unwrap();
    for (key_id, body, _, _) in &refused {
        let dir = cluster.data_dir("c1").join("shares").join(key_id);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("1.sym"), body).unwrap();
    }
    let c1 = cluster.start(config).await;
    assert_eq!(cluster.health(&c1).await.shares, 2);
    for (key_id, _, _, _) in &refused {
        assert!(
            cluster
                .data_dir("c1")
                .join(format!("shares/{key_id}/1.sym"))
                .exists()
        );
    }
    c1.shutdown().await.unwrap();
}
