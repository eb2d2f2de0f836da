//! The Symbolon coordinator (DESIGN §1, §4, §9).
//!
//! Serves the versioned JSON API over mutual TLS, keeps the registry of
//! custodians and their health from signed heartbeats, places and deals
//! `secret` keys to custodians, and runs reconstruct-and-use operations
//! (encrypt, decrypt, release) that rebuild a key from any `t` custodians
//! into locked memory for one operation and wipe it. It stores metadata,
//! placement and requests — never share material.
//!
//! Start it with [`start`] (tests, embedding) or [`run`] (the
//! `symbolon coordinator serve` command).

mod audit;
mod config;
mod dkg;
mod error;
mod fanout;
mod locked;
mod monitor;
mod placement;
mod problem;
mod reconstruct;
mod routes;
mod state;
mod threshold;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

pub use config::Config;
pub use error::Error;
use symbolon_envelope::{Identity, Recipient};
use symbolon_proto::custodian::{CustodianKind, Labels, ShareDigest};
use symbolon_store::Store;
use symbolon_transport::Role;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use zeroize::Zeroizing;

use crate::state::{AppState, Custodian, HealthPolicy};

/// The OpenAPI document, for tools and tests.
pub fn openapi_json() -> String {
    use utoipa::OpenApi as _;
    routes::ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_default()
}

/// A running coordinator.
#[derive(Debug)]
pub struct Handle {
    local_addr: SocketAddr,
    recipient: Recipient,
    stop: watch::Sender<bool>,
    server: JoinHandle<std::io::Result<()>>,
    monitor: JoinHandle<()>,
}

impl Handle {
    /// The address it serves on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Its dealer recipient (custodians pin its Ed25519 key).
    pub fn recipient(&self) -> &Recipient {
        &self.recipient
    }

    /// Stops accepting connections, finishes in-flight requests, and waits.
    ///
    /// # Errors
    ///
    /// [`Error::Serve`] if the server failed.
    pub async fn shutdown(self) -> Result<(), Error> {
        let _ = self.stop.send(true);
        self.monitor.abort();
        match self.server.await {
            Ok(result) => result.map_err(Error::Serve),
            Err(e) => Err(Error::Serve(std::io::Error::other(e))),
        }
    }
}

static METRICS: OnceLock<metrics_exporter_prometheus::PrometheusHandle> = OnceLock::new();

fn metrics_handle() -> metrics_exporter_prometheus::PrometheusHandle {
    METRICS
        .get_or_init(|| {
            let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            // Only the first coordinator of a process installs the recorder
            // (tests run several); the others share it.
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::debug!("a metrics recorder was already installed");
            }
            handle
        })
        .clone()
}

/// The text of the secret file `dir/name`, created (mode 0600) from
/// `create` if there is none. Never replaces a file: if another process
/// sharing the directory created one first, that one is read.
pub(crate) fn load_or_create_secret(
    dir: &Path,
    name: &str,
    create: impl FnOnce() -> Zeroizing<String>,
) -> Result<(PathBuf, Zeroizing<String>), Error> {
    let path = dir.join(name);
    if !path.exists() {
        let text = create();
        match symbolon_transport::write_atomically(
            &path,
            text.as_bytes(),
            0o600,
            symbolon_transport::Existing::Refuse,
        ) {
            Ok(()) => return Ok((path, text)),
            Err(symbolon_transport::Error::Exists { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let text = Zeroizing::new(std::fs::read_to_string(&path).map_err(|e| Error::DataDir {
        path: path.clone(),
        reason: format!("cannot read: {e}"),
    })?);
    Ok((path, text))
}

fn load_or_create_identity(dir: &Path) -> Result<Identity, Error> {
    let (path, text) = load_or_create_secret(dir, "identity.key", || {
        Identity::generate(&mut rand::rng()).to_armored()
    })?;
    Identity::from_armored(&text).map_err(|source| Error::Identity { path, source })
}

fn custodian_from_row(row: symbolon_store::CustodianRow) -> Option<Custodian> {
    let recipient: Recipient = row.recipient.parse().ok()?;
    let attestation_key = row.attestation_key;
    let shares: Vec<ShareDigest> = serde_json::from_str(&row.reported_shares).unwrap_or_default();
    let last_fault = state::last_fault(&row);
    Some(Custodian {
        labels: Labels {
            region: row.region,
            country: row.country,
            provider: row.provider,
            kind: CustodianKind::from_name(row.kind.as_str())?,
        },
        id: row.id,
        endpoint: row.endpoint,
        recipient,
        attestation_key,
        registered_at_ms: u64::try_from(row.registered_at).unwrap_or(0),
        last_heartbeat_ms: row.last_heartbeat_at.and_then(|v| u64::try_from(v).ok()),
        last_seq: row.last_seq.and_then(|v| u64::try_from(v).ok()),
        shares,
        faults: u64::try_from(row.faults).unwrap_or(0),
        last_fault,
    })
}

/// Opens the store, loads the identity and registry, binds, and serves.
///
/// # Errors
///
/// Any [`Error`] that prevents starting: configuration, data directory,
/// database, TLS material, bind.
pub async fn start(config: Config) -> Result<Handle, Error> {
    config.check().map_err(|reason| Error::Config {
        path: "<config>".into(),
        reason,
    })?;
    std::fs::create_dir_all(&config.data_dir).map_err(|e| Error::DataDir {
        path: config.data_dir.clone(),
        reason: format!("cannot create: {e}"),
    })?;
    let identity = load_or_create_identity(&config.data_dir)?;
    let join_token_hash = *blake3::hash(config.read_join_token()?.as_bytes()).as_bytes();
    let url = config.database_url();
    let opened = match &config.database {
        Some(url) => Store::open(url).await,
        None => Store::open_sqlite(&config.data_dir.join("symbolon.db")).await,
    };
    let store = opened.map_err(|source| Error::Store {
        url: url.clone(),
        source,
    })?;
    let audit = audit::AuditLog::open(&config.data_dir, store.clone()).await?;
    let mut custodians = BTreeMap::new();
    let rows = store.custodians().await.map_err(|source| Error::Store {
        url: url.clone(),
        source,
    })?;
    for row in rows {
        let id = row.id.clone();
        match custodian_from_row(row) {
            Some(c) => {
                custodians.insert(id, c);
            }
            None => {
                tracing::error!(custodian = %id, "stored custodian row is unreadable; it must re-register")
            }
        }
    }
    let server_tls =
        symbolon_transport::server_config(&config.tls, &[Role::Client, Role::Custodian])?;
    let http = symbolon_transport::http_client(
        &config.tls,
        Role::Custodian,
        Duration::from_millis(config.custodian_timeout_ms),
    )?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| Error::Bind {
            addr: config.listen,
            source,
        })?;
    let local_addr = listener.local_addr().map_err(Error::Serve)?;
    let recipient = identity.recipient();
    let state = Arc::new(AppState {
        health: HealthPolicy {
            suspect_after_ms: config.suspect_after(),
            failed_after_ms: config.failed_after(),
        },
        config,
        store,
        identity,
        audit,
        join_token_hash,
        http,
        custodians: RwLock::new(custodians),
        keys: RwLock::new(HashMap::new()),
        principals_seen: RwLock::new(HashMap::new()),
        nonces: threshold::NoncePool::default(),
        metrics: metrics_handle(),
    });
    let (stop, mut stopped) = watch::channel(false);
    let app = routes::router(state.clone());
    let server = tokio::spawn(symbolon_transport::serve(
        listener,
        server_tls,
        app,
        async move {
            let _ = stopped.wait_for(|s| *s).await;
        },
    ));
    let monitor = tokio::spawn(monitor::run(state));
    tracing::info!(%local_addr, "coordinator listening");
    Ok(Handle {
        local_addr,
        recipient,
        stop,
        server,
        monitor,
    })
}

/// Starts the coordinator and serves until `shutdown` completes.
///
/// # Errors
///
/// As [`start`] and [`Handle::shutdown`].
pub async fn run(
    config: Config,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let handle = start(config).await?;
    shutdown.await;
    tracing::info!("coordinator shutting down");
    handle.shutdown().await
}

/// Support for the audit append benchmark (`benches/audit.rs`); not a
/// stable API.
#[doc(hidden)]
pub mod bench_support {
    use std::path::Path;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use symbolon_audit::{Entry, EventKind};
    use symbolon_store::Store;

    /// Opens a fresh log in `dir` (SQLite) and appends `total` entries from
    /// `appenders` concurrent tasks — with `with_requests`, each with its
    /// request row in the same transaction, as a coordinator does for
    /// `request.created`; otherwise entries alone (health changes) — then
    /// fetches an inclusion proof for every entry against the final head.
    /// Returns the time for the appends and for the proofs.
    ///
    /// # Panics
    ///
    /// On any error: this is a benchmark.
    #[allow(clippy::expect_used, clippy::panic)]
    pub async fn append(
        dir: &Path,
        total: u64,
        appenders: u64,
        with_requests: bool,
    ) -> (Duration, Duration) {
        let store = Store::open_sqlite(&dir.join("bench.db"))
            .await
            .expect("open store");
        let log = Arc::new(
            crate::audit::AuditLog::open(dir, store)
                .await
                .expect("open log"),
        );
        let started = Instant::now();
        let mut tasks = Vec::new();
        for task in 0..appenders {
            let log = Arc::clone(&log);
            tasks.push(tokio::spawn(async move {
                let mut n = task;
                while n < total {
                    let mut entry =
                        Entry::new(EventKind::RequestCreated, 1_700_000_000_000, "bench");
                    entry.key_id = Some("0123456789abcdef0123456789abcdef".to_owned());
                    entry.key_version = Some(1);
                    entry.request_digest = Some([7; 32]);
                    let row = symbolon_store::NewRequest {
                        id: format!("r{n}"),
                        key_id: "0123456789abcdef0123456789abcdef".to_owned(),
                        version: 1,
                        op: "decrypt".to_owned(),
                        requester: "bench".to_owned(),
                        created_at: 1_700_000_000_000,
                    };
                    if with_requests {
                        log.append(&[entry], move |tx| {
                            Box::pin(async move { tx.insert_request(&row).await })
                        })
                        .await
                        .expect("append");
                    } else {
                        log.record(&[entry]).await.expect("append");
                    }
                    n += appenders;
                }
            }));
        }
        for task in tasks {
            task.await.expect("appender");
        }
        let appended = started.elapsed();
        let size = log.latest().head().size;
        assert_eq!(size, total, "every append landed");
        let started = Instant::now();
        for index in 0..size {
            log.inclusion_proof(index, size).expect("proof");
        }
        (appended, started.elapsed())
    }
}
