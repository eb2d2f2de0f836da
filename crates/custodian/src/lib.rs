//! The Symbolon custodian daemon, as a library (the `symbolon custodian`
//! command and the integration tests run it).
//!
//! A custodian holds one shard per key version it is dealt and talks only
//! to the coordinator (DESIGN §1, §4, §5):
//!
//! * **Keys.** An [`Identity`](symbolon_envelope::Identity) whose X25519 key
//!   receives shards (HPKE, RFC 9180) and an Ed25519 attestation key
//!   (RFC 8032) that signs heartbeats, both created on first start in the
//!   data directory (mode 0600).
//! * **Registration.** It registers with the coordinator (join token,
//!   labels, endpoint, recipient, attestation key) and pins the
//!   coordinator's recipient from the first answer: from then on only shards
//!   signed by that key are accepted (besides the threshold shares it
//!   derived itself in a DKG, signed by its own key), and a coordinator
//!   presenting another key is refused.
//! * **Storing.** Each shard arrives as a signed, sealed envelope and is
//!   verified before anything is written — signer, signature, recipient, key
//!   and version, expiry, decryption and share commitment; for a threshold
//!   key (`ed25519`: scheme `frost-ed25519`; `ristretto255`: scheme
//!   `feldman-ristretto255`) also the share package
//!   (`symbolon_proto::scalar::open_package`: a consistent group, the share
//!   on the dealer's Feldman commitment, index and threshold as signed, the
//!   group the one the metadata commits to) — then stored as received,
//!   atomically. A bad one is refused with a precise problem document (see
//!   *Errors on the wire* below).
//! * **Releasing** (`secret` keys only). For a coordinator's release
//!   request naming the key and version, proven in the audit log, it seals
//!   `blinding ‖ share` with HPKE to the request's ephemeral key, bound to
//!   the request id, key, version, its own id and the share index
//!   (`symbolon_proto::release`). Shares never leave in the clear, and a
//!   threshold key's share never leaves at all.
//! * **Partial results** (threshold keys). For a logged request whose
//!   statement carries the digest of the payload, it answers a FROST
//!   signature share (RFC 9591, Section 5.2) over the signing package's
//!   message, or a TDH2 decryption share with its DLEQ proof
//!   (Shoup–Gennaro) once the ciphertext's own proof holds under its label.
//! * **Nonces.** For an `ed25519` share it publishes FROST round-1
//!   commitments ahead of time; each nonce pair signs at most once, across
//!   restarts (written before publishing; after an unclean stop every
//!   published batch is dropped — see *Data directory*).
//! * **Distributed key generation** (`ed25519`, `ristretto255`). With the
//!   other custodians, relayed by the coordinator, it runs FROST's DKG
//!   (Komlo–Goldberg, SAC 2020): round-1 broadcasts checked for their
//!   proofs of knowledge, round-2 shares HPKE-sealed to each recipient and
//!   signed by each sender, every share checked against its sender's
//!   commitment, cheaters named. It stores the resulting key share like a
//!   dealt one, in an envelope sealed to and signed by itself (a version-2
//!   share package, accepted only self-signed; a dealer's only
//!   coordinator-signed). The key never exists anywhere.
//! * **Heartbeats.** Every few seconds, a heartbeat with a sequence number
//!   that strictly increases across restarts and the BLAKE3 digest of every
//!   stored shard, signed with the attestation key.
//!
//! # Data directory
//!
//! | file | what |
//! | --- | --- |
//! | `identity.key` | armored identity (0600) |
//! | `attestation.key` | `SYMA`, version 1, Ed25519 seed (0600) |
//! | `coordinator.recipient` | the pinned coordinator's recipient string |
//! | `heartbeat.seq` | the heartbeat sequence high-water mark |
//! | `shares/<key_id>/<version>.sym` | binary shard envelopes, as received (or, for a DKG's share, as sealed to itself) |
//! | `nonces/<key_id>/<version>/<seq>.batch` | unused FROST nonces (`NonceBatch` encoding, secret, 0600), written before their commitments are published |
//! | `nonces.clean` | present only between a graceful stop and the next start (outside `nonces/`, where every name is a key id's) |
//! | `audit/` | the audit log witness (see the ledger module) |
//!
//! Every file is written atomically (temporary file, fsync, rename, fsync
//! of the directory). At startup every shard is verified again; one that
//! fails is logged with its path and reason and left out (never deleted).
//!
//! Nonce batches follow *drop the batch on doubt*: taking a nonce pair to
//! sign only updates memory; a graceful stop ([`Handle::shutdown`], after
//! the server stopped serving) rewrites every batch with what is left and
//! writes `nonces.clean`. A start deletes the marker (durably) before
//! loading the batches; without it (a crash, a kill, a dropped [`Handle`])
//! every batch file is deleted with a warning, since the last run may have
//! used nonces its files still hold. At most [`MAX_OUTSTANDING_NONCES`]
//! unused pairs are kept per key version (the oldest batches go first);
//! deleting a share drops its nonces. Never restore `nonces/` from a
//! backup.
//!
//! # Errors on the wire
//!
//! RFC 9457 problem documents with `type` `urn:symbolon:problem:<kind>`:
//! `bad-request`, `bad-envelope` (400); `wrong-signer`, `bad-signature`,
//! `not-recipient`, `key-mismatch`, `expired`, `commitment-mismatch`,
//! `bad-share-package`, `not-a-signer`, `bad-signing-package`,
//! `bad-ciphertext-proof`, `not-a-participant`, `dkg-participant-failed`,
//! `dkg-equivocation` (422); `conflict`, `wrong-kind`, `nonce-unknown`,
//! `audit-leaves-gap`, `audit-log-refused` (409); `payload-mismatch`,
//! `request-not-in-log`, `request-expired` (403); `not-found` (404);
//! `method-not-allowed` (405); `payload-too-large` (413);
//! `unsupported-media-type` (415);
//! `not-registered`, `audit-log-not-pinned`, `stopping`,
//! `too-many-sessions` (503); a bare 500 for the custodian's own faults.
//! A `dkg-participant-failed` problem (and a `dkg-equivocation` that can
//! tell) names the culprits in `custodians`. The routes module lists when each is answered.
//!
//! # Example
//!
//! ```no_run
//! # async fn example() -> Result<(), symbolon_custodian::Error> {
//! let config = symbolon_custodian::Config::load("custodian.toml".as_ref())?;
//! symbolon_custodian::run(config, async {
//!     let _ = tokio::signal::ctrl_c().await;
//! })
//! .await
//! # }
//! ```

mod config;
mod dkg;
mod error;
mod files;
mod keys;
mod ledger;
mod membership;
mod nonces;
mod routes;
mod sequence;
mod state;
mod vault;

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::time::Duration;

use symbolon_transport::Role;
use symbolon_transport::rustls_pki_types::CertificateDer;
use symbolon_transport::rustls_pki_types::pem::PemObject as _;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use config::{Config, DEFAULT_HEARTBEAT_INTERVAL};
pub use error::Error;
pub use nonces::MAX_OUTSTANDING as MAX_OUTSTANDING_NONCES;
pub use routes::MAX_BODY;

use crate::keys::Keys;
use crate::ledger::Ledger;
use crate::membership::Membership;
use crate::nonces::NonceStore;
use crate::sequence::Sequence;
use crate::state::State;
use crate::vault::Vault;

/// How long one request to the coordinator may take.
pub const COORDINATOR_TIMEOUT: Duration = Duration::from_secs(5);

/// Fault injection for tests. Reachable only through [`Handle::hooks`],
/// never from the configuration file or the command line.
#[derive(Debug, Default)]
pub struct Hooks {
    /// When set, every release flips one bit of the share (after the
    /// blinding) before sealing it, so the coordinator's commitment check
    /// must catch it; and every partial result is wrong but well-formed
    /// (bit 0 of a signature share's first byte, or of the first byte of a
    /// decryption share's proof response, flipped), so the coordinator's
    /// per-share check must catch it and name this custodian. Each such
    /// answer is logged at warn level.
    pub corrupt_releases: AtomicBool,
    /// When set, a distributed key generation's round 2 sends the
    /// participant with the lowest other index a secret share that is
    /// well-formed but off this custodian's round-1 commitment (one bit of
    /// the scalar flipped before sealing), so that participant's last round
    /// must fail naming this custodian. Logged at warn level.
    pub corrupt_dkg: AtomicBool,
    /// When non-zero, a distributed key generation's last round waits this
    /// many milliseconds after storing the share and before recording the
    /// session finished, so a test can give up on the request in between
    /// (the step must complete regardless). Logged at warn level.
    pub stall_dkg_finish_ms: AtomicU64,
    /// When non-zero, every partial result (`POST /v1/partial`) waits this
    /// many milliseconds before it is computed, so a test can make this
    /// custodian slow. Logged at warn level.
    pub stall_partials_ms: AtomicU64,
}

/// A running custodian, from [`start`].
///
/// Dropping it without [`Handle::shutdown`] also stops the background tasks,
/// but without waiting for them, and without saving the unused FROST
/// nonces: like a crash, the next start drops every published nonce batch.
#[derive(Debug)]
pub struct Handle {
    id: String,
    local_addr: SocketAddr,
    endpoint: String,
    hooks: Arc<Hooks>,
    state: Arc<State>,
    stop: watch::Sender<bool>,
    server: Option<JoinHandle<std::io::Result<()>>>,
    membership: Option<JoinHandle<()>>,
}

impl Handle {
    /// The address the HTTPS server is bound to (the real port when the
    /// configuration asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The URL registered with the coordinator.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The custodian id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Test-only fault injection switches.
    pub fn hooks(&self) -> &Hooks {
        &self.hooks
    }

    /// Stops the membership task and shuts the server down gracefully
    /// (in-flight requests finish, within the transport's grace period);
    /// once it no longer serves, saves the unused FROST nonces and marks
    /// the stop clean (`nonces.clean`), so the next start keeps them, and
    /// writes the newest audit tree head accepted if it is not written yet.
    ///
    /// # Errors
    ///
    /// [`Error::Serve`] if the server ended with an error, [`Error::Task`]
    /// if a task panicked, [`Error::Write`] if the nonces cannot be saved
    /// (then the next start drops them all).
    pub async fn shutdown(mut self) -> Result<(), Error> {
        self.stop.send_replace(true);
        let membership = match self.membership.take() {
            Some(membership) => membership
                .await
                .map_err(|_| Error::Task { task: "membership" }),
            None => Ok(()),
        };
        let served = match self.server.take() {
            Some(server) => server
                .await
                .map_err(|_| Error::Task { task: "server" })
                .and_then(|served| served.map_err(|source| Error::Serve { source })),
            None => Ok(()),
        };
        // The server task has ended (however): no handler takes a nonce
        // any more, and `persist` closes the store for good measure.
        let state = Arc::clone(&self.state);
        let saved = tokio::task::spawn_blocking(move || {
            if let Err(e) = state.ledger.flush() {
                // The leaves, not the note, are what later heads are
                // checked against: not worth failing the stop for.
                tracing::warn!(error = %e, "cannot save the latest audit tree head");
            }
            state.nonces.persist()
        })
        .await
        .map_err(|_| Error::Task { task: "nonce save" })
        .and_then(|saved| saved);
        membership?;
        served?;
        saved?;
        tracing::info!(id = self.id, "custodian stopped");
        Ok(())
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.stop.send_replace(true);
    }
}

/// Starts a custodian: checks the configuration, creates the data directory
/// and keys on first start (or loads them), loads and re-verifies the
/// stored shards, binds the listen address and spawns the HTTPS server and
/// the registration/heartbeat task. Returns once the server is listening.
///
/// # Errors
///
/// [`Error::Config`] for an invalid configuration (including a TLS
/// certificate that is not a custodian certificate named `id`);
/// [`Error::Read`], [`Error::Write`], [`Error::BadFile`],
/// [`Error::BadIdentity`], [`Error::BadPinnedCoordinator`] for the data
/// directory and the join token file; [`Error::Tls`] for unusable
/// certificates; [`Error::Bind`] if the address is taken. A stored shard
/// that fails verification is not an error: it is logged and left out.
///
/// # Security
///
/// The server accepts only clients with a coordinator-role certificate of
/// the cluster CA; registration and heartbeats go only to a server with a
/// coordinator-role certificate.
pub async fn start(config: Config) -> Result<Handle, Error> {
    config.checked()?;
    let join_token = config.resolve_join_token()?;
    let tls = symbolon_transport::server_config(&config.tls, &[Role::Coordinator])?;
    check_certificate(&config)?;
    let client =
        symbolon_transport::http_client(&config.tls, Role::Coordinator, COORDINATOR_TIMEOUT)?;

    let id = config.id.clone();
    let data_dir = config.data_dir.clone();
    let (keys, pinned, sequence, vault, nonces, ledger) = {
        let id = id.clone();
        let data_dir = data_dir.clone();
        tokio::task::spawn_blocking(move || prepare(&data_dir, &id))
            .await
            .map_err(|_| Error::Task { task: "startup" })??
    };

    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| Error::Bind {
            addr: config.listen,
            source,
        })?;
    let local_addr = listener.local_addr().map_err(|source| Error::Bind {
        addr: config.listen,
        source,
    })?;
    let endpoint = config
        .endpoint
        .clone()
        .unwrap_or_else(|| default_endpoint(local_addr));

    let hooks = Arc::new(Hooks::default());
    let state = Arc::new(State::new(
        id.clone(),
        data_dir,
        keys,
        vault,
        nonces,
        ledger,
        pinned,
        Arc::clone(&hooks),
    ));
    let (stop, stopped) = watch::channel(false);

    let app = routes::router(Arc::clone(&state));
    let mut server_stop = stopped.clone();
    let server = tokio::spawn(symbolon_transport::serve(listener, tls, app, async move {
        let _ = server_stop.wait_for(|s| *s).await;
    }));

    let membership = Membership {
        state: Arc::clone(&state),
        client,
        coordinator_url: config.coordinator_url.trim_end_matches('/').to_owned(),
        join_token,
        labels: config.labels.clone(),
        endpoint: endpoint.clone(),
        interval: config.initial_heartbeat_interval(),
        sequence: Arc::new(std::sync::Mutex::new(sequence)),
    };
    let membership = tokio::spawn(membership.run(stopped));

    tracing::info!(
        id,
        %local_addr,
        endpoint,
        recipient = %state.keys.identity.recipient(),
        shards = state.vault.len(),
        "custodian started"
    );
    Ok(Handle {
        id,
        local_addr,
        endpoint,
        hooks,
        state,
        stop,
        server: Some(server),
        membership: Some(membership),
    })
}

/// [`start`]s a custodian, waits for `shutdown`, then shuts it down.
///
/// # Errors
///
/// As [`start`] and [`Handle::shutdown`].
pub async fn run(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let handle = start(config).await?;
    shutdown.await;
    handle.shutdown().await
}

/// The disk work of [`start`]: data directory, keys, pinned coordinator,
/// heartbeat sequence, shards, nonce batches (after the shards: batches of
/// shares no longer held are dropped).
fn prepare(data_dir: &Path, id: &str) -> Result<Prepared, Error> {
    files::create_private_dir(data_dir)?;
    let keys = Keys::load_or_create(data_dir)?;
    let pinned = keys::load_pinned(data_dir)?;
    let sequence = Sequence::open(data_dir)?;
    let vault = Vault::load(data_dir, pinned.as_ref(), &keys.identity, id)?;
    let nonces = NonceStore::load(data_dir, &vault)?;
    let ledger = Ledger::load(data_dir)?;
    Ok((keys, pinned, sequence, vault, nonces, ledger))
}

/// What [`prepare`] loads.
type Prepared = (
    Keys,
    Option<symbolon_envelope::Recipient>,
    Sequence,
    Vault,
    NonceStore,
    Ledger,
);

/// Refuses a certificate that is not a custodian certificate for `id`: the
/// coordinator would refuse every registration.
fn check_certificate(config: &Config) -> Result<(), Error> {
    let bad = |reason: String| Error::Config {
        path: None,
        field: "tls.cert".to_owned(),
        reason,
    };
    let certs = CertificateDer::pem_file_iter(&config.tls.cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| {
            bad(format!(
                "{} holds no readable certificate: {e}",
                config.tls.cert.display()
            ))
        })?;
    let peer = symbolon_transport::peer_of(&certs).map_err(|e| {
        bad(format!(
            "{} carries no Symbolon identity: {e}",
            config.tls.cert.display()
        ))
    })?;
    if peer.role != Role::Custodian || peer.name != config.id {
        return Err(bad(format!(
            "{} is a certificate for {} {:?}, but this is custodian {:?}",
            config.tls.cert.display(),
            peer.role,
            peer.name,
            config.id
        )));
    }
    Ok(())
}

/// `https://<addr>`, with loopback in place of an unspecified address.
fn default_endpoint(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("https://{}", SocketAddr::new(ip, addr.port()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_endpoints() {
        assert_eq!(
            default_endpoint("127.0.0.1:7201".parse().unwrap()),
            "https://127.0.0.1:7201"
        );
        assert_eq!(
            default_endpoint("0.0.0.0:7201".parse().unwrap()),
            "https://127.0.0.1:7201"
        );
        assert_eq!(
            default_endpoint("[::]:7201".parse().unwrap()),
            "https://[::1]:7201"
        );
    }
}
