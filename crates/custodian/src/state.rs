//! What the HTTP handlers and the membership task share.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use symbolon_envelope::Recipient;

use crate::Hooks;
use crate::dkg::Sessions;
use crate::keys::Keys;
use crate::ledger::Ledger;
use crate::nonces::NonceStore;
use crate::vault::Vault;

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
}
