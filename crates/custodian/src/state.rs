//! What the HTTP handlers and the membership task share.

use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use symbolon_envelope::Recipient;

use crate::dkg::Sessions;
use crate::keys::Keys;
use crate::ledger::Ledger;
use crate::nonces::NonceStore;
use crate::vault::Vault;
use crate::{Error, Hooks};

/// One running custodian.
#[derive(Debug)]
pub(crate) struct State {
    /// The custodian id.
    pub(crate) id: String,
    /// The data directory.
    pub(crate) data_dir: PathBuf,
    /// Its keys.
    pub(crate) keys: Keys,
    /// The shards it holds.
    pub(crate) vault: Vault,
    /// FROST nonces published for its `ed25519` shares.
    pub(crate) nonces: NonceStore,
    /// Its view of the coordinator's audit log.
    pub(crate) ledger: Ledger,
    /// Distributed key generations in progress (memory only).
    pub(crate) dkg: Sessions,
    /// The pinned coordinator (from `coordinator.recipient` or the first
    /// registration).
    coordinator: RwLock<Option<Recipient>>,
    /// Whether this run registered with the pinned coordinator.
    registered: AtomicBool,
    /// Test-only fault injection.
    pub(crate) hooks: Arc<Hooks>,
}

impl State {
    /// A custodian that has not registered yet in this run.
    #[allow(clippy::too_many_arguments)] // one call site, each part named
    pub(crate) fn new(
        id: String,
        data_dir: PathBuf,
        keys: Keys,
        vault: Vault,
        nonces: NonceStore,
        ledger: Ledger,
        coordinator: Option<Recipient>,
        hooks: Arc<Hooks>,
    ) -> Self {
        Self {
            id,
            data_dir,
            keys,
            vault,
            nonces,
            ledger,
            dkg: Sessions::default(),
            coordinator: RwLock::new(coordinator),
            registered: AtomicBool::new(false),
            hooks,
        }
    }

    /// The pinned coordinator, if this run registered with it: the only
    /// signer whose shards are accepted.
    pub(crate) fn registered_coordinator(&self) -> Option<Recipient> {
        if !self.registered.load(Ordering::Acquire) {
            return None;
        }
        *self
            .coordinator
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The pinned coordinator, registered or not.
    pub(crate) fn pinned(&self) -> Option<Recipient> {
        *self
            .coordinator
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Records the coordinator pinned (already persisted) and registration.
    pub(crate) fn set_registered(&self, coordinator: Recipient) {
        *self
            .coordinator
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(coordinator);
        self.registered.store(true, Ordering::Release);
    }

    /// Marks this run as not registered (shards are refused).
    pub(crate) fn set_unregistered(&self) {
        self.registered.store(false, Ordering::Release);
    }

    /// Deletes the shard of `key_id`/`version` — when `only` is given, only
    /// if its stored bytes have that digest — then its FROST nonces, which
    /// are useless without it; whether a shard was deleted. A shard kept
    /// (not the one `only` names) keeps its nonces.
    ///
    /// Run it with [`to_completion`]: dropped half-way it would leave the
    /// nonces of a deleted share.
    ///
    /// # Errors
    ///
    /// [`Error::Write`] if a file cannot be deleted.
    pub(crate) async fn delete_share(
        &self,
        key_id: &str,
        version: u64,
        only: Option<[u8; 32]>,
    ) -> Result<bool, Error> {
        let removed = self.vault.delete(key_id, version, only).await?;
        if removed || only.is_none() {
            self.nonces.drop_key(key_id, version).await?;
        }
        Ok(removed)
    }
}

/// Runs `work` on a task of its own and waits for it. A request handler is
/// dropped when its client gives up; a step that writes the vault, the
/// nonces or a DKG session must not stop half-way then (a file without its
/// entry in memory, a session left busy), so it runs here and completes
/// regardless.
///
/// # Errors
///
/// [`Error::Task`] naming `task` if it panicked.
pub(crate) async fn to_completion<T: Send + 'static>(
    task: &'static str,
    work: impl Future<Output = T> + Send + 'static,
) -> Result<T, Error> {
    tokio::spawn(work).await.map_err(|_| Error::Task { task })
}
