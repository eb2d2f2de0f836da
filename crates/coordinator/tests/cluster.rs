#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]
//! The running system, in process: a coordinator and five custodians over
//! real mutual TLS on loopback, started through one helper.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use symbolon_proto::custodian::{CustodianKind, Labels};
use symbolon_transport::{Ca, Role, TlsFiles};
use tempfile::TempDir;

const COUNTRIES: [(&str, &str); 5] = [
    ("DE", "eu"),
    ("FR", "eu"),
    ("JP", "ap"),
    ("US", "us"),
    ("BR", "sa"),
];

struct Cluster {
    dir: TempDir,
    coordinator: Option<symbolon_coordinator::Handle>,
    coordinator_config: symbolon_coordinator::Config,
    custodians: Vec<Option<symbolon_custodian::Handle>>,
    custodian_configs: Vec<symbolon_custodian::Config>,
    client: reqwest::Client,
    base: String,
}

fn issue(ca: &Ca, dir: &std::path::Path, role: Role, name: &str) -> TlsFiles {
    ca.issue(role, name, &[])
        .unwrap()
        .write(
            dir,
            name,
            ca.cert_path(),
            symbolon_transport::Existing::Replace,
        )
        .unwrap()
}

impl Cluster {
    async fn start() -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let ca_dir = dir.path().join("ca");
        std::fs::create_dir_all(&ca_dir).unwrap();
        let ca = Ca::init(&ca_dir).unwrap();
        let certs = dir.path().join("certs");
        std::fs::create_dir_all(&certs).unwrap();
        let coordinator_config = symbolon_coordinator::Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: dir.path().join("coordinator"),
            database: None,
            join_token: Some("test-token".into()),
            join_token_file: None,
            tls: issue(&ca, &certs, Role::Coordinator, "coordinator"),
            heartbeat_interval_ms: 200,
            suspect_after_ms: Some(1_500),
            failed_after_ms: Some(3_000),
            custodian_timeout_ms: 1_000,
            hedge_after_ms: 150,
            extra_custodians: 0,
            partial_extra_custodians: 1,
            max_body_bytes: 64 * 1024,
        };
        let coordinator = symbolon_coordinator::start(coordinator_config.clone())
            .await
            .unwrap();
        let addr = coordinator.local_addr();
        let mut coordinator_config = coordinator_config;
        coordinator_config.listen = addr;
        let base = format!("https://{addr}");
        let mut custodian_configs = Vec::new();
        let mut custodians = Vec::new();
        for (i, (country, region)) in COUNTRIES.iter().enumerate() {
            let id = format!("c{}", i + 1);
            let config = symbolon_custodian::Config {
                id: id.clone(),
                listen: "127.0.0.1:0".parse().unwrap(),
                endpoint: None,
                data_dir: dir.path().join(&id),
                coordinator_url: base.clone(),
                join_token: Some("test-token".into()),
                join_token_file: None,
                labels: Labels {
                    region: (*region).into(),
                    country: (*country).into(),
                    provider: format!("p{i}"),
                    kind: CustodianKind::Vm,
                },
                tls: issue(&ca, &certs, Role::Custodian, &id),
                heartbeat_interval_ms: Some(200),
            };
            let handle = symbolon_custodian::start(config.clone()).await.unwrap();
            // Restarts come back on the same port.
            let mut config = config;
            config.listen = handle.local_addr();
            custodian_configs.push(config);
            custodians.push(Some(handle));
        }
        let client_tls = issue(&ca, &certs, Role::Client, "alice");
        let client = symbolon_transport::http_client(
            &client_tls,
            Role::Coordinator,
            Duration::from_secs(10),
        )
        .unwrap();
        let cluster = Cluster {
            dir,
            coordinator: Some(coordinator),
            coordinator_config,
            custodians,
            custodian_configs,
            client,
            base,
        };
        cluster.wait_states(&["healthy"; 5]).await;
        cluster
    }

    async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.request(reqwest::Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.request(reqwest::Method::POST, path, Some(body)).await
    }

    /// Waits until custodian i's state is `states[i]` ("*" matches any).
    async fn wait_states(&self, states: &[&str]) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let (status, body) = self.get("/v1/status").await;
            assert_eq!(status, 200, "{body}");
            let seen: Vec<String> = body["custodians"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["state"].as_str().unwrap().to_owned())
                .collect();
            if seen.len() == states.len()
                && seen
                    .iter()
                    .zip(states)
                    .all(|(s, want)| *want == "*" || s == want)
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "states {seen:?}, wanted {states:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn stop_custodian(&mut self, i: usize) {
        self.custodians[i].take().unwrap().shutdown().await.unwrap();
    }

    async fn start_custodian(&mut self, i: usize) {
        let handle = symbolon_custodian::start(self.custodian_configs[i].clone())
            .await
            .unwrap();
        self.custodians[i] = Some(handle);
    }

    async fn restart_coordinator(&mut self) {
        self.coordinator.take().unwrap().shutdown().await.unwrap();
        let handle = symbolon_coordinator::start(self.coordinator_config.clone())
            .await
            .unwrap();
        assert_eq!(handle.local_addr(), self.coordinator_config.listen);
        self.coordinator = Some(handle);
    }

    async fn create_key(&self, name: &str, t: u16, n: u16) -> Value {
        self.create_kind(name, "secret", t, n).await
    }

    async fn create_kind(&self, name: &str, kind: &str, t: u16, n: u16) -> Value {
        let (status, body) = self
            .post(
                "/v1/keys",
                json!({"name": name, "kind": kind, "threshold": t, "shares": n, "distinct": "country"}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body
    }

    async fn sign(&self, key: &str, message: &[u8]) -> (u16, Value) {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        self.post(
            &format!("/v1/keys/{key}/sign"),
            json!({"message": b64.encode(message)}),
        )
        .await
    }

    async fn encrypt(&self, key: &str, plaintext: &[u8]) -> Vec<u8> {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        let (status, body) = self
            .post(
                &format!("/v1/keys/{key}/encrypt"),
                json!({"plaintext": b64.encode(plaintext)}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        b64.decode(body["ciphertext"].as_str().unwrap()).unwrap()
    }

    async fn decrypt(&self, key: &str, ciphertext: &[u8]) -> (u16, Value) {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        self.post(
            &format!("/v1/keys/{key}/decrypt"),
            json!({"ciphertext": b64.encode(ciphertext)}),
        )
        .await
    }
}

fn plaintext_of(body: &Value) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(body["plaintext"].as_str().unwrap())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trip_survives_two_failures_and_names_three() {
    let mut cluster = Cluster::start().await;
    let key = cluster.create_key("db", 3, 5).await;
    assert_eq!(key["placement"].as_array().unwrap().len(), 5);
    let ct = cluster.encrypt("db", b"attack at dawn").await;
    let (status, body) = cluster.decrypt("db", &ct).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(plaintext_of(&body), b"attack at dawn");
    assert_eq!(body["custodians"].as_array().unwrap().len(), 3);

    // Two of five down: still fine, and status shows them leaving.
    cluster.stop_custodian(0).await;
    cluster.stop_custodian(3).await;
    for _ in 0..5 {
        let (status, body) = cluster.decrypt("db", &ct).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(plaintext_of(&body), b"attack at dawn");
    }
    cluster
        .wait_states(&["failed", "healthy", "healthy", "failed", "healthy"])
        .await;

    // Three down: a 503 naming each custodian that did not answer.
    cluster.stop_custodian(4).await;
    let body = expect_problem(
        cluster.decrypt("db", &ct).await,
        503,
        "not-enough-custodians",
    );
    let mut named: Vec<&str> = body["custodians"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    named.sort_unstable();
    assert_eq!(named, ["c1", "c4", "c5"], "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("needs 3"),
        "{body}"
    );

    // Back up: healthy again and usable.
    for i in [0, 3, 4] {
        cluster.start_custodian(i).await;
    }
    cluster.wait_states(&["healthy"; 5]).await;
    let (status, body) = cluster.decrypt("db", &ct).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupted_share_is_named_and_the_operation_succeeds() {
    let cluster = Cluster::start().await;
    cluster.create_key("k", 3, 5).await;
    let ct = cluster.encrypt("k", b"payload").await;
    for i in [0, 1] {
        cluster.custodians[i]
            .as_ref()
            .unwrap()
            .hooks()
            .corrupt_releases
            .store(true, Ordering::SeqCst);
    }
    let mut blamed = Vec::new();
    for _ in 0..12 {
        let (status, body) = cluster.decrypt("k", &ct).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(plaintext_of(&body), b"payload");
        let used: Vec<&str> = body["custodians"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        assert!(!used.contains(&"c1") && !used.contains(&"c2"), "{body}");
        for f in body["failures"].as_array().into_iter().flatten() {
            assert!(
                f["reason"].as_str().unwrap().contains("commitment"),
                "{body}"
            );
            blamed.push(f["id"].as_str().unwrap().to_owned());
        }
    }
    blamed.sort();
    blamed.dedup();
    assert!(!blamed.is_empty(), "no corrupted share was ever asked for");
    assert!(
        blamed.iter().all(|id| id == "c1" || id == "c2"),
        "{blamed:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarts_lose_nothing() {
    let mut cluster = Cluster::start().await;
    cluster.create_key("persist", 2, 3).await;
    let ct = cluster.encrypt("persist", b"kept").await;
    cluster.restart_coordinator().await;
    let (status, body) = cluster.get("/v1/keys/persist").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["threshold"], 2);
    let (status, body) = cluster.decrypt("persist", &ct).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(plaintext_of(&body), b"kept");
    for i in 0..5 {
        cluster.stop_custodian(i).await;
        cluster.start_custodian(i).await;
    }
    cluster.wait_states(&["healthy"; 5]).await;
    let (status, body) = cluster.decrypt("persist", &ct).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(plaintext_of(&body), b"kept");
    let (_, list) = cluster.get("/v1/keys").await;
    assert_eq!(list["keys"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn placement_constraints_are_met_or_refused_before_anything_is_created() {
    let cluster = Cluster::start().await;
    let key = cluster.create_key("spread", 3, 5).await;
    let mut holders: Vec<&str> = key["placement"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["custodian"].as_str().unwrap())
        .collect();
    holders.sort_unstable();
    assert_eq!(holders, ["c1", "c2", "c3", "c4", "c5"]);

    // Only four distinct regions exist (eu twice).
    let request = json!({"name": "regional", "kind": "secret", "threshold": 2, "shares": 5, "distinct": "region"});
    let body = expect_problem(
        cluster.post("/v1/keys", request).await,
        422,
        "placement-unsatisfiable",
    );
    assert!(
        body["detail"].as_str().unwrap().contains("only 4"),
        "{body}"
    );
    let (status, _) = cluster.get("/v1/keys/regional").await;
    assert_eq!(status, 404);
    // Four regions for four shares is fine.
    let (status, body) = cluster
        .post(
            "/v1/keys",
            json!({"name": "regional", "kind": "secret", "threshold": 2, "shares": 4, "distinct": "region"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_precise_problems() {
    let cluster = Cluster::start().await;
    cluster.create_key("k", 2, 3).await;
    let url = format!("{}/v1/keys", cluster.base);

    let malformed = cluster
        .client
        .post(&url)
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
    assert_eq!(
        malformed.headers()["content-type"],
        "application/problem+json"
    );
    let body: Value = malformed.json().await.unwrap();
    assert_eq!(body["type"], "urn:symbolon:problem:malformed-json");

    let no_type = cluster.client.post(&url).body("{}").send().await.unwrap();
    assert_eq!(no_type.status(), 415);

    let (status, body) = cluster
        .post(
            "/v1/keys",
            json!({"name": "x", "kind": "secret", "threshold": 1, "shares": 1, "colour": "red"}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("unknown field"),
        "{body}"
    );

    let body = expect_problem(
        cluster
            .post(
                "/v1/keys",
                json!({"name": "x", "kind": "ed25519", "threshold": 1, "shares": 3}),
            )
            .await,
        422,
        "bad-threshold",
    );
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("a key of kind ed25519 needs 2 <= threshold"),
        "{body}"
    );

    expect_problem(
        cluster
            .post(
                "/v1/keys",
                json!({"name": "k", "kind": "secret", "threshold": 2, "shares": 3}),
            )
            .await,
        409,
        "key-exists",
    );

    expect_problem(
        cluster
            .post(
                "/v1/keys",
                json!({"name": "y", "kind": "secret", "threshold": 4, "shares": 3}),
            )
            .await,
        422,
        "bad-threshold",
    );

    expect_problem(cluster.decrypt("nope", b"x").await, 422, "bad-ciphertext");
    expect_problem(
        cluster
            .post("/v1/keys/nope/encrypt", json!({"plaintext": "aGk="}))
            .await,
        404,
        "not-found",
    );

    let ct = cluster.encrypt("k", b"secret").await;
    let mut tampered = ct.clone();
    *tampered.last_mut().unwrap() ^= 1;
    expect_problem(
        cluster.decrypt("k", &tampered).await,
        422,
        "decryption-failed",
    );

    let big = "A".repeat(100 * 1024);
    expect_problem(
        cluster
            .post("/v1/keys/k/encrypt", json!({ "plaintext": big }))
            .await,
        413,
        "payload-too-large",
    );

    let (status, body) = cluster.get("/v1/nothing-here").await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = cluster
        .request(reqwest::Method::DELETE, "/v1/keys", None)
        .await;
    assert_eq!(status, 405, "{body}");

    let (status, doc) = cluster.get("/v1/openapi.json").await;
    assert_eq!(status, 200);
    for path in [
        "/v1/keys",
        "/v1/keys/{name}/decrypt",
        "/v1/status",
        "/v1/custodians/register",
    ] {
        assert!(
            doc["paths"].get(path).is_some(),
            "{path} missing from the OpenAPI document"
        );
    }
    let metrics = cluster
        .client
        .get(format!("{}/metrics", cluster.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("symbolon_operations_total"), "{metrics}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_without_a_valid_certificate_are_refused() {
    let cluster = Cluster::start().await;
    // A certificate from another CA fails the handshake.
    let other_dir = cluster.dir.path().join("other");
    std::fs::create_dir_all(&other_dir).unwrap();
    let other = Ca::init(&other_dir).unwrap();
    let mallory = issue(&other, &other_dir, Role::Client, "mallory");
    let foreign = TlsFiles {
        ca: cluster.coordinator_config.tls.ca.clone(),
        ..mallory
    };
    let client =
        symbolon_transport::http_client(&foreign, Role::Coordinator, Duration::from_secs(5))
            .unwrap();
    let refused = client
        .get(format!("{}/v1/status", cluster.base))
        .send()
        .await;
    assert!(
        refused.is_err(),
        "a foreign client certificate was accepted"
    );

    // No certificate at all: a plain TLS client that trusts the CA.
    let anonymous = reqwest::Client::builder()
        .tls_backend_preconfigured(
            symbolon_transport::rustls::ClientConfig::builder_with_provider(
                symbolon_transport::crypto_provider(),
            )
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates({
                let mut roots = symbolon_transport::rustls::RootCertStore::empty();
                let pem = std::fs::read(&cluster.coordinator_config.tls.ca).unwrap();
                use symbolon_transport::rustls_pki_types::pem::PemObject as _;
                for cert in
                    symbolon_transport::rustls_pki_types::CertificateDer::pem_slice_iter(&pem)
                {
                    roots.add(cert.unwrap()).unwrap();
                }
                roots
            })
            .with_no_client_auth(),
        )
        .build()
        .unwrap();
    assert!(
        anonymous
            .get(format!("{}/v1/status", cluster.base))
            .send()
            .await
            .is_err()
    );

    // A custodian certificate gets through TLS but not to client endpoints.
    let custodian_client = symbolon_transport::http_client(
        &cluster.custodian_configs[0].tls,
        Role::Coordinator,
        Duration::from_secs(5),
    )
    .unwrap();
    let response = custodian_client
        .get(format!("{}/v1/status", cluster.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["type"], "urn:symbolon:problem:forbidden");
}

fn hashes(proof: &Value) -> Vec<symbolon_audit::NodeHash> {
    proof
        .as_array()
        .unwrap()
        .iter()
        .map(|h| symbolon_audit::NodeHash::from_hex(h.as_str().unwrap()).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_change_is_in_the_audit_log_and_custodians_witness_it() {
    use base64::Engine as _;
    use symbolon_audit::{Entry, EventKind, NoteKey, SignedTreeHead, leaf_hash};
    let b64 = base64::engine::general_purpose::STANDARD;

    let mut cluster = Cluster::start().await;
    cluster.create_key("logged", 3, 5).await;
    let ct = cluster.encrypt("logged", b"audited").await;
    let (status, _) = cluster.decrypt("logged", &ct).await;
    assert_eq!(status, 200);
    let (status, _) = cluster
        .post("/v1/keys/missing/encrypt", json!({"plaintext": "AA=="}))
        .await;
    assert_eq!(status, 404);

    let (status, head) = cluster.get("/v1/audit/head").await;
    assert_eq!(status, 200, "{head}");
    let log_key = NoteKey::from_vkey(head["log_key"].as_str().unwrap()).unwrap();
    let latest = SignedTreeHead::parse(head["note"].as_str().unwrap()).unwrap();
    let size = latest.verify(&log_key).unwrap().size;
    assert_eq!(head["size"], size);

    let (status, page) = cluster.get("/v1/audit/entries?start=0&limit=1000").await;
    assert_eq!(status, 200, "{page}");
    let rows = page["entries"].as_array().unwrap();
    assert_eq!(rows.len() as u64, size);
    let entries: Vec<Entry> = rows
        .iter()
        .map(|r| Entry::decode(&b64.decode(r["encoded"].as_str().unwrap()).unwrap()).unwrap())
        .collect();
    let count = |kind| entries.iter().filter(|e| e.event == kind).count();
    assert_eq!(count(EventKind::CustodianRegistered), 5);
    assert_eq!(count(EventKind::KeyCreated), 1);
    assert_eq!(count(EventKind::SharesDistributed), 1);
    assert_eq!(count(EventKind::RequestCreated), 2);
    assert_eq!(count(EventKind::RequestCompleted), 2);
    let refused = entries
        .iter()
        .find(|e| e.event == EventKind::RequestRefused)
        .unwrap();
    assert!(refused.detail.as_deref().unwrap().contains("missing"));
    // Each request is created before it completes, naming the custodians
    // that took part.
    let created = entries
        .iter()
        .position(|e| e.event == EventKind::RequestCreated)
        .unwrap();
    let completed = entries
        .iter()
        .position(|e| e.event == EventKind::RequestCompleted)
        .unwrap();
    assert!(created < completed);
    assert_eq!(entries[completed].custodians.len(), 3);
    assert_eq!(
        entries[completed].request_digest,
        entries[created].request_digest
    );

    // An inclusion proof and a consistency proof that verify.
    let (status, proof) = cluster
        .get(&format!("/v1/audit/proof/inclusion?index={created}"))
        .await;
    assert_eq!(status, 200, "{proof}");
    let proven = SignedTreeHead::parse(proof["head"].as_str().unwrap()).unwrap();
    let proven = *proven.verify(&log_key).unwrap();
    let encoded = b64.decode(proof["encoded"].as_str().unwrap()).unwrap();
    symbolon_audit::verify_inclusion(
        &leaf_hash(&encoded),
        created as u64,
        proven.size,
        &hashes(&proof["proof"]),
        &proven.root_hash,
    )
    .unwrap();
    let early = SignedTreeHead::parse(rows[4]["head"].as_str().unwrap()).unwrap();
    let early = *early.verify(&log_key).unwrap();
    assert_eq!(early.size, 5);
    let (status, consistency) = cluster
        .get(&format!("/v1/audit/proof/consistency?from=5&to={size}"))
        .await;
    assert_eq!(status, 200, "{consistency}");
    symbolon_audit::verify_consistency(
        5,
        size,
        &early.root_hash,
        &latest.head().root_hash,
        &hashes(&consistency["proof"]),
    )
    .unwrap();
    // Bad queries are precise problems.
    let (status, problem) = cluster.get("/v1/audit/proof/inclusion?index=x").await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(problem["type"], "urn:symbolon:problem:bad-query");
    let (status, _) = cluster.get("/v1/audit/entries?limit=0").await;
    assert_eq!(status, 400);
    let (status, _) = cluster.get("/v1/audit/entries/999999").await;
    assert_eq!(status, 404);
    let (status, _) = cluster.get("/v1/audit/entries/18446744073709551615").await;
    assert_eq!(status, 404);
    let (status, past_end) = cluster
        .get("/v1/audit/entries?start=18446744073709551615")
        .await;
    assert_eq!(status, 200, "{past_end}");
    assert_eq!(past_end["entries"].as_array().unwrap().len(), 0);

    // The custodians that released shares cosigned the request's head.
    let witnessed = SignedTreeHead::parse(head["witnessed"].as_str().unwrap()).unwrap();
    witnessed.verify(&log_key).unwrap();
    let witnesses: Vec<NoteKey> = head["witness_keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| NoteKey::from_vkey(k.as_str().unwrap()).unwrap())
        .collect();
    assert_eq!(witnesses.len(), 5);
    assert!(witnessed.count_valid_cosignatures(&witnesses) >= 1);

    // The log survives a restart; an edited row stops the coordinator from
    // starting (fail closed) with a message naming the problem.
    cluster.restart_coordinator().await;
    let (status, again) = cluster.get("/v1/audit/head").await;
    assert_eq!(status, 200);
    assert_eq!(again["size"], size);
    cluster
        .coordinator
        .take()
        .unwrap()
        .shutdown()
        .await
        .unwrap();
    let db = cluster.coordinator_config.data_dir.join("symbolon.db");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    sqlx::query("DELETE FROM audit_entries WHERE idx = 2")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let err = symbolon_coordinator::start(cluster.coordinator_config.clone())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("entry 2 is missing"), "{err}");
}

/// The custodians an answer names, sorted.
/// Asserts that `answer` is the problem `kind` with HTTP `status`;
/// returns its body.
#[track_caller]
fn expect_problem((status, body): (u16, Value), expected: u16, kind: &str) -> Value {
    assert_eq!(status, expected, "{body}");
    assert_eq!(
        body["type"],
        format!("urn:symbolon:problem:{kind}"),
        "{body}"
    );
    body
}

fn ids(list: &Value) -> Vec<String> {
    let mut out: Vec<String> = list
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            c.as_str()
                .unwrap_or_else(|| c["id"].as_str().unwrap())
                .to_owned()
        })
        .collect();
    out.sort();
    out
}

fn public_key(key: &Value) -> [u8; 32] {
    let mut out = [0u8; 32];
    hex::decode_to_slice(key["public_key"].as_str().unwrap(), &mut out).unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn threshold_keys_sign_and_decrypt_through_partials() {
    let mut cluster = Cluster::start().await;

    // Ed25519: every signature verifies strictly under the group key that
    // `key show` publishes.
    let created = cluster
        .create_kind("release-signing", "ed25519", 3, 5)
        .await;
    assert_eq!(created["kind"], "ed25519");
    let group = ed25519_dalek::VerifyingKey::from_bytes(&public_key(&created)).unwrap();
    let (status, shown) = cluster.get("/v1/keys/release-signing").await;
    assert_eq!(status, 200, "{shown}");
    assert_eq!(shown["public_key"], created["public_key"]);
    for n in 0..8u8 {
        let message = format!("release v1.{n}");
        let (status, body) = cluster.sign("release-signing", message.as_bytes()).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(ids(&body["custodians"]).len(), 3, "{body}");
        assert_eq!(body["public_key"], created["public_key"]);
        let mut signature = [0u8; 64];
        hex::decode_to_slice(body["signature"].as_str().unwrap(), &mut signature).unwrap();
        group
            .verify_strict(
                message.as_bytes(),
                &ed25519_dalek::Signature::from_bytes(&signature),
            )
            .unwrap();
        assert!(
            group
                .verify_strict(
                    b"another message",
                    &ed25519_dalek::Signature::from_bytes(&signature)
                )
                .is_err()
        );
    }

    // ristretto255: encrypted by the coordinator or offline with the
    // public key alone, decrypted by t custodians' shares.
    let created = cluster.create_kind("vault", "ristretto255", 3, 5).await;
    let key = symbolon_threshold::tdh2::EncryptionKey::from_bytes(public_key(&created)).unwrap();
    let offline = symbolon_proto::ciphertext::encrypt_threshold(
        &key,
        "vault",
        1,
        &[0x42; 1024],
        &mut rand::rng(),
    )
    .unwrap();
    let online = cluster.encrypt("vault", b"volume key").await;
    for (ciphertext, plaintext) in [
        (&offline, vec![0x42; 1024]),
        (&online, b"volume key".to_vec()),
    ] {
        let (status, body) = cluster.decrypt("vault", ciphertext).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(plaintext_of(&body), plaintext);
        assert_eq!(ids(&body["custodians"]).len(), 3, "{body}");
    }

    // Tampered: refused before any custodian is asked.
    let mut tampered = offline.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    expect_problem(
        cluster.decrypt("vault", &tampered).await,
        422,
        "bad-ciphertext-proof",
    );
    // Another key's ciphertext renamed to this key: its proof binds the
    // name, so it fails too.
    cluster.create_kind("other", "ristretto255", 2, 3).await;
    let renamed =
        symbolon_proto::ciphertext::encrypt_threshold(&key, "other", 1, b"x", &mut rand::rng())
            .unwrap();
    expect_problem(
        cluster.decrypt("other", &renamed).await,
        422,
        "bad-ciphertext-proof",
    );
    expect_problem(cluster.decrypt("vault", &renamed).await, 422, "wrong-key");

    // Kinds are not interchangeable.
    let body = expect_problem(cluster.sign("vault", b"m").await, 409, "wrong-kind");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("sign needs an ed25519 key"),
        "{body}"
    );
    let ed_named = symbolon_proto::ciphertext::encrypt_threshold(
        &key,
        "release-signing",
        1,
        b"x",
        &mut rand::rng(),
    )
    .unwrap();
    expect_problem(
        cluster.decrypt("release-signing", &ed_named).await,
        409,
        "wrong-kind",
    );
    expect_problem(cluster
        .post(
            "/v1/keys",
            json!({"name": "imported", "kind": "ed25519", "threshold": 2, "shares": 3, "import": "AAAA"}),
        )
        .await, 422, "bad-import");
    expect_problem(
        cluster
            .post(
                "/v1/keys",
                json!({"name": "t1", "kind": "ristretto255", "threshold": 1, "shares": 3}),
            )
            .await,
        422,
        "bad-threshold",
    );

    // Two of five down: both still work; three down: named.
    cluster.stop_custodian(1).await;
    cluster.stop_custodian(4).await;
    for _ in 0..3 {
        let (status, body) = cluster.sign("release-signing", b"degraded").await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = cluster.decrypt("vault", &offline).await;
        assert_eq!(status, 200, "{body}");
    }
    cluster.stop_custodian(2).await;
    for (status, body) in [
        cluster.sign("release-signing", b"down").await,
        cluster.decrypt("vault", &offline).await,
    ] {
        assert_eq!(status, 503, "{body}");
        assert_eq!(body["type"], "urn:symbolon:problem:not-enough-custodians");
        assert_eq!(ids(&body["custodians"]), ["c2", "c3", "c5"], "{body}");
    }

    // The key survives a restart of everything.
    cluster.restart_coordinator().await;
    for i in [1, 2, 4] {
        cluster.start_custodian(i).await;
    }
    cluster.wait_states(&["healthy"; 5]).await;
    let (status, body) = cluster.sign("release-signing", b"after restart").await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = cluster.decrypt("vault", &offline).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(plaintext_of(&body), vec![0x42; 1024]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cheating_custodian_is_named_recorded_and_left_out() {
    let cluster = Cluster::start().await;
    let signing = cluster.create_kind("s", "ed25519", 2, 5).await;
    let group = ed25519_dalek::VerifyingKey::from_bytes(&public_key(&signing)).unwrap();
    cluster.create_kind("d", "ristretto255", 2, 5).await;
    let ciphertext = cluster.encrypt("d", b"secret payload").await;
    cluster.custodians[0]
        .as_ref()
        .unwrap()
        .hooks()
        .corrupt_releases
        .store(true, Ordering::SeqCst);
    let mut blamed = Vec::new();
    for n in 0..10u8 {
        let (status, body) = cluster.decrypt("d", &ciphertext).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(plaintext_of(&body), b"secret payload");
        assert!(
            !ids(&body["custodians"]).contains(&"c1".to_owned()),
            "{body}"
        );
        for f in body["failures"].as_array().into_iter().flatten() {
            assert!(
                f["reason"].as_str().unwrap().contains("proof fails"),
                "{body}"
            );
            blamed.push(f["id"].as_str().unwrap().to_owned());
        }
        let message = [n; 7];
        let (status, body) = cluster.sign("s", &message).await;
        assert_eq!(status, 200, "{body}");
        assert!(
            !ids(&body["custodians"]).contains(&"c1".to_owned()),
            "{body}"
        );
        let mut signature = [0u8; 64];
        hex::decode_to_slice(body["signature"].as_str().unwrap(), &mut signature).unwrap();
        group
            .verify_strict(&message, &ed25519_dalek::Signature::from_bytes(&signature))
            .unwrap();
        for f in body["failures"].as_array().into_iter().flatten() {
            assert!(
                f["reason"].as_str().unwrap().contains("fails verification"),
                "{body}"
            );
            blamed.push(f["id"].as_str().unwrap().to_owned());
        }
    }
    blamed.sort();
    blamed.dedup();
    assert_eq!(
        blamed,
        ["c1"],
        "only the cheater is blamed, and it was asked"
    );

    // Recorded on the custodian, and in the audit log.
    let (_, status) = cluster.get("/v1/status").await;
    let c1 = &status["custodians"][0];
    assert_eq!(c1["id"], "c1");
    assert!(c1["faults"].as_u64().unwrap() >= 1, "{c1}");
    let last_fault = c1["last_fault"].as_str().unwrap();
    assert!(
        last_fault.contains("sign: sent a signature share")
            || last_fault.contains("decrypt: sent a decryption share"),
        "{c1}"
    );
    for other in status["custodians"].as_array().unwrap().iter().skip(1) {
        assert_eq!(other["faults"], 0, "{other}");
    }
    let (_, entries) = cluster.get("/v1/audit/entries?start=0&limit=1000").await;
    let suspects: Vec<&Value> = entries["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["entry"]["event"] == "custodian.suspect"
                && e["entry"]["outcome"] == "bad partial result"
        })
        .collect();
    assert!(!suspects.is_empty(), "{entries}");
    assert!(
        suspects
            .iter()
            .all(|e| e["entry"]["custodians"] == json!(["c1"]))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custodians_generate_threshold_keys_among_themselves() {
    let cluster = Cluster::start().await;
    let dkg = |name: &str, kind: &str| json!({"name": name, "kind": kind, "threshold": 3, "shares": 5, "dkg": true});

    // Ed25519 by DKG: signatures verify under the group key all agreed on.
    let (status, created) = cluster.post("/v1/keys", dkg("dkg-sign", "ed25519")).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["placement"].as_array().unwrap().len(), 5);
    let group = ed25519_dalek::VerifyingKey::from_bytes(&public_key(&created)).unwrap();
    for n in 0..3u8 {
        let message = [n; 33];
        let (status, body) = cluster.sign("dkg-sign", &message).await;
        assert_eq!(status, 200, "{body}");
        let mut signature = [0u8; 64];
        hex::decode_to_slice(body["signature"].as_str().unwrap(), &mut signature).unwrap();
        group
            .verify_strict(&message, &ed25519_dalek::Signature::from_bytes(&signature))
            .unwrap();
    }

    // ristretto255 by DKG: offline encryption, threshold decryption.
    let (status, created) = cluster
        .post("/v1/keys", dkg("dkg-decrypt", "ristretto255"))
        .await;
    assert_eq!(status, 201, "{created}");
    let key = symbolon_threshold::tdh2::EncryptionKey::from_bytes(public_key(&created)).unwrap();
    let ciphertext = symbolon_proto::ciphertext::encrypt_threshold(
        &key,
        "dkg-decrypt",
        1,
        b"never whole",
        &mut rand::rng(),
    )
    .unwrap();
    let (status, body) = cluster.decrypt("dkg-decrypt", &ciphertext).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(plaintext_of(&body), b"never whole");

    // A secret key has no DKG.
    expect_problem(
        cluster.post("/v1/keys", dkg("dkg-secret", "secret")).await,
        422,
        "bad-dkg",
    );

    // One participant sends inconsistent shares: it is named, nothing is
    // created, and it is counted against it.
    cluster.custodians[2]
        .as_ref()
        .unwrap()
        .hooks()
        .corrupt_dkg
        .store(true, Ordering::SeqCst);
    let body = expect_problem(
        cluster
            .post("/v1/keys", dkg("dkg-cheated", "ed25519"))
            .await,
        502,
        "dkg-failed",
    );
    assert!(body["detail"].as_str().unwrap().contains("c3"), "{body}");
    assert_eq!(body["custodians"][0]["id"], "c3", "{body}");
    assert!(
        body["custodians"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("reported by"),
        "{body}"
    );
    let (status, _) = cluster.get("/v1/keys/dkg-cheated").await;
    assert_eq!(status, 404);
    let (_, status) = cluster.get("/v1/status").await;
    assert!(
        status["custodians"][2]["faults"].as_u64().unwrap() >= 1,
        "{status}"
    );
    cluster.custodians[2]
        .as_ref()
        .unwrap()
        .hooks()
        .corrupt_dkg
        .store(false, Ordering::SeqCst);
    let (status, body) = cluster
        .post("/v1/keys", dkg("dkg-cheated", "ed25519"))
        .await;
    assert_eq!(status, 201, "a failed DKG leaves nothing behind: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_commitments_after_a_custodian_crash_are_replaced_not_blamed() {
    let mut cluster = Cluster::start().await;
    // t = n: every signature needs every custodian, so one stale
    // commitment would fail the signature if it were not replaced.
    let created = cluster.create_kind("all-three", "ed25519", 3, 3).await;
    let (status, body) = cluster.sign("all-three", b"fills the pools").await;
    assert_eq!(status, 200, "{body}");
    let victim = created["placement"][0]["custodian"]
        .as_str()
        .unwrap()
        .to_owned();
    let i: usize = victim.trim_start_matches('c').parse::<usize>().unwrap() - 1;
    // A crash: the custodian drops every nonce it published (no CLEAN
    // marker), while the coordinator's pool still holds its commitments.
    cluster.stop_custodian(i).await;
    std::fs::remove_file(cluster.custodian_configs[i].data_dir.join("nonces.clean")).unwrap();
    let (_, before) = cluster.get("/v1/status").await;
    let last_seq = before["custodians"][i]["last_seq"].as_u64().unwrap();
    cluster.start_custodian(i).await;
    // Registered again: it sends heartbeats only once registered.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (_, now) = cluster.get("/v1/status").await;
        if now["custodians"][i]["last_seq"].as_u64().unwrap() > last_seq {
            break;
        }
        assert!(Instant::now() < deadline, "{now}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (status, body) = cluster.sign("all-three", b"after the crash").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(ids(&body["custodians"]).len(), 3, "{body}");
    assert!(body.get("failures").is_none(), "{body}");
    let (_, status) = cluster.get("/v1/status").await;
    assert_eq!(status["custodians"][i]["faults"], 0, "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_signers_are_hedged_not_waited_for_or_blamed() {
    let cluster = Cluster::start().await;
    let created = cluster.create_kind("hedged", "ed25519", 3, 5).await;
    let group = ed25519_dalek::VerifyingKey::from_bytes(&public_key(&created)).unwrap();
    // Two of five answer partials only after 5 s (far beyond the 1 s
    // custodian timeout) yet stay healthy: a first attempt holding either
    // must be overtaken by another (hedge_after_ms is 150), and one whose
    // replacement is the other slow custodian by a third.
    let slow = [1usize, 3];
    for &i in &slow {
        cluster.custodians[i]
            .as_ref()
            .unwrap()
            .hooks()
            .stall_partials_ms
            .store(5_000, Ordering::SeqCst);
    }
    let mut slowest = Duration::ZERO;
    for n in 0..6u8 {
        let message = [n; 21];
        let started = Instant::now();
        let (status, body) = cluster.sign("hedged", &message).await;
        let took = started.elapsed();
        slowest = slowest.max(took);
        assert_eq!(status, 200, "{body}");
        assert!(took < Duration::from_millis(2_500), "took {took:?}: {body}");
        assert_eq!(
            ids(&body["custodians"]),
            ["c1", "c3", "c5"],
            "only the prompt custodians can have finished: {body}"
        );
        // Slow is not failed: nothing is blamed, unless a loaded machine
        // let a slow custodian time out first (not a fault either).
        for f in body["failures"].as_array().into_iter().flatten() {
            assert!(
                f["reason"].as_str().unwrap().contains("timed out"),
                "{body}"
            );
        }
        let mut signature = [0u8; 64];
        hex::decode_to_slice(body["signature"].as_str().unwrap(), &mut signature).unwrap();
        group
            .verify_strict(&message, &ed25519_dalek::Signature::from_bytes(&signature))
            .unwrap();
    }
    // A first attempt of three from five avoids both slow custodians with
    // probability 1/10, so at least one signature waited for a hedge.
    assert!(slowest >= Duration::from_millis(150), "{slowest:?}");
    for &i in &slow {
        cluster.custodians[i]
            .as_ref()
            .unwrap()
            .hooks()
            .stall_partials_ms
            .store(0, Ordering::SeqCst);
    }
    let (_, status) = cluster.get("/v1/status").await;
    for custodian in status["custodians"].as_array().unwrap() {
        assert_eq!(custodian["faults"], 0, "{custodian}");
    }
    let (status, body) = cluster.sign("hedged", b"all prompt again").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(ids(&body["custodians"]).len(), 3, "{body}");
}
