//! The coordinator's audit log (DESIGN §8): every state change that matters
//! is appended, in the same database transaction as the change, before it
//! takes effect; if the log cannot be written the change is refused.
//!
//! The Merkle tree (leaf hashes only) lives in memory and is rebuilt from
//! the store at start, where it must reproduce the last signed tree head
//! stored or the coordinator refuses to start. Appends are serialised by
//! one lock held across the database transaction, so indexes are dense and
//! in commit order; each transaction's last row carries the tree head the
//! log key signed for it, which is what lets `symbolon audit verify` name
//! the first entry that no longer matches.
//!
//! Several replicas sharing PostgreSQL: an append whose index another
//! replica took first fails with a conflict; this replica then reloads the
//! tree from the store, and the caller's operation fails with a retryable
//! 503 rather than forking the log.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

use ed25519_dalek::SigningKey;
use symbolon_audit::{
    Entry, EventKind, NodeHash, NoteKey, SignedTreeHead, Tree, TreeHead, leaf_hash,
};
use symbolon_store::{AuditAppend, Store};
use zeroize::Zeroizing;

use crate::error::Error;
use crate::problem::ApiError;
use crate::state::now_ms;

/// The log key's file in the data directory (hex of the Ed25519 seed).
const KEY_FILE: &str = "audit.key";

/// Why an append failed.
#[derive(Debug)]
pub(crate) enum AppendError {
    /// The log could not be written: the change must not happen.
    Log(String),
    /// The state change itself failed (its transaction rolled back, no
    /// entry was written).
    Store(symbolon_store::Error),
}

impl From<AppendError> for ApiError {
    fn from(e: AppendError) -> Self {
        match e {
            AppendError::Log(reason) => {
                tracing::error!(%reason, "audit log append failed; refusing the change");
                ApiError::new(
                    axum::http::StatusCode::SERVICE_UNAVAILABLE,
                    "audit-log-unavailable",
                    "Audit log unavailable",
                    "the audit log could not record this change, so it was not made; retry",
                )
            }
            AppendError::Store(e) => e.into(),
        }
    }
}

struct Committed {
    tree: Tree,
    head: Arc<SignedTreeHead>,
}

/// The log: its signing key, the tree, and the witnesses' cosignatures.
pub(crate) struct AuditLog {
    key: SigningKey,
    note_key: NoteKey,
    origin: String,
    store: Store,
    /// Serialises appends across the database transaction.
    append_lock: tokio::sync::Mutex<()>,
    /// The tree and head as of the last commit. Written only while
    /// `append_lock` is held.
    committed: RwLock<Committed>,
    /// The newest head that a custodian cosigned, with every cosignature
    /// collected for it.
    witnessed: RwLock<Option<SignedTreeHead>>,
    /// How many leaf hashes each custodian is known to hold.
    witness_sizes: RwLock<HashMap<String, u64>>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

fn load_or_create_key(dir: &Path) -> Result<SigningKey, Error> {
    let path = dir.join(KEY_FILE);
    if !path.exists() {
        let seed = Zeroizing::new(rand::random::<[u8; 32]>());
        let text = Zeroizing::new(format!("{}\n", hex::encode(*seed)));
        match symbolon_transport::write_atomically(
            &path,
            text.as_bytes(),
            0o600,
            symbolon_transport::Existing::Refuse,
        ) {
            Ok(()) => return Ok(SigningKey::from_bytes(&seed)),
            Err(symbolon_transport::Error::Exists { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let bad = |reason: String| Error::DataDir {
        path: path.clone(),
        reason,
    };
    let text = Zeroizing::new(
        std::fs::read_to_string(&path).map_err(|e| bad(format!("cannot read: {e}")))?,
    );
    let mut seed = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(text.trim(), seed.as_mut_slice())
        .map_err(|_| bad("not an audit log key (64 hex characters)".to_owned()))?;
    Ok(SigningKey::from_bytes(&seed))
}

impl AuditLog {
    /// Loads (or creates) the log key, rebuilds the tree from the store and
    /// checks it against the last signed head stored.
    pub(crate) async fn open(dir: &Path, store: Store) -> Result<AuditLog, Error> {
        let key = load_or_create_key(dir)?;
        let public = key.verifying_key();
        let origin = format!("symbolon/{}", &hex::encode(public.as_bytes())[..16]);
        let note_key = NoteKey::new(&origin, public).map_err(|e| Error::Audit {
            reason: e.to_string(),
        })?;
        let store_error = |e: symbolon_store::Error| Error::Audit {
            reason: format!("cannot read the audit log: {}", crate::error::chain(&e)),
        };
        let leaves = store.audit_leaf_hashes().await.map_err(store_error)?;
        let tree = Tree::from_leaf_hashes(leaves.into_iter().map(NodeHash::from_bytes));
        let stored = store.audit_latest_head().await.map_err(store_error)?;
        let head = match stored {
            Some((index, note)) => {
                let head = SignedTreeHead::parse(&note).map_err(|e| Error::Audit {
                    reason: format!("stored tree head at entry {index}: {e}"),
                })?;
                let checked = *head.verify(&note_key).map_err(|e| Error::Audit {
                    reason: format!(
                        "stored tree head at entry {index} is not signed by this log's key: {e}"
                    ),
                })?;
                let matches = checked.size == index + 1
                    && tree.root(checked.size).ok() == Some(checked.root_hash);
                if !matches {
                    return Err(Error::Audit {
                        reason: format!(
                            "the stored audit log does not reproduce its signed tree head of size {} \
                             (entries deleted, reordered or rewritten?); run `symbolon audit verify`",
                            checked.size
                        ),
                    });
                }
                // Entries after the last signed head cannot exist: every
                // transaction's last row carries one.
                if tree.size() != checked.size {
                    return Err(Error::Audit {
                        reason: format!(
                            "the audit log has {} entries but its last signed tree head covers {}",
                            tree.size(),
                            checked.size
                        ),
                    });
                }
                head
            }
            None if tree.is_empty() => sign(&tree, &origin, &key).map_err(|e| Error::Audit {
                reason: e.to_string(),
            })?,
            None => {
                return Err(Error::Audit {
                    reason: "the audit log has entries but no signed tree head".to_owned(),
                });
            }
        };
        Ok(AuditLog {
            key,
            note_key,
            origin,
            store,
            append_lock: tokio::sync::Mutex::new(()),
            committed: RwLock::new(Committed {
                tree,
                head: Arc::new(head),
            }),
            witnessed: RwLock::new(None),
            witness_sizes: RwLock::new(HashMap::new()),
        })
    }

    /// The log's verifier key.
    pub(crate) fn note_key(&self) -> &NoteKey {
        &self.note_key
    }

    /// The latest committed signed tree head.
    pub(crate) fn latest(&self) -> Arc<SignedTreeHead> {
        self.committed
            .read()
            .map(|c| c.head.clone())
            .unwrap_or_else(|p| p.into_inner().head.clone())
    }

    /// Appends `entries` and runs `write` — the state change — with the
    /// rows to store in its transaction. Returns `write`'s value, the new
    /// signed head and the first entry's index.
    pub(crate) async fn append<T, F, Fut>(
        &self,
        entries: &[Entry],
        write: F,
    ) -> Result<(T, Arc<SignedTreeHead>, u64), AppendError>
    where
        F: FnOnce(Vec<AuditAppend>) -> Fut,
        Fut: Future<Output = Result<T, symbolon_store::Error>>,
    {
        let _serial = self.append_lock.lock().await;
        let mut rows = Vec::with_capacity(entries.len());
        let mut leaves = Vec::with_capacity(entries.len());
        for entry in entries {
            let encoded = entry
                .encode()
                .map_err(|e| AppendError::Log(format!("entry {}: {e}", entry.event)))?;
            leaves.push(leaf_hash(&encoded));
            rows.push(encoded);
        }
        // The tree grows in place (readers never look past the committed
        // head's size) and is cut back if the transaction fails.
        let (first, head) = {
            let mut committed = self
                .committed
                .write()
                .map_err(|_| AppendError::Log("audit state poisoned".to_owned()))?;
            let first = committed.tree.size();
            for leaf in &leaves {
                committed.tree.append(*leaf);
            }
            let head = sign(&committed.tree, &self.origin, &self.key);
            (first, head)
        };
        let undo = |log: &Self| {
            if let Ok(mut committed) = log.committed.write() {
                committed.tree.truncate(first);
            }
        };
        let head = match head {
            Ok(head) => head,
            Err(e) => {
                undo(self);
                return Err(AppendError::Log(e.to_string()));
            }
        };
        let count = rows.len();
        let mut rows: Vec<AuditAppend> = rows
            .into_iter()
            .zip(leaves)
            .zip(first..)
            .map(|((entry, leaf), index)| AuditAppend {
                index,
                entry,
                leaf_hash: *leaf.as_bytes(),
                head: None,
            })
            .collect();
        if let Some(last) = rows.last_mut() {
            last.head = Some(head.to_note());
        }
        let result = write(rows).await;
        if result.is_err() {
            undo(self);
        }
        match result {
            Ok(value) => {
                let head = Arc::new(head);
                if let Ok(mut committed) = self.committed.write() {
                    committed.head = head.clone();
                }
                metrics::counter!("symbolon_audit_entries_total").increment(count as u64);
                Ok((value, head, first))
            }
            Err(symbolon_store::Error::Conflict {
                what: "audit entry",
                id,
            }) => {
                // Another replica appended: catch up for the next caller.
                self.reload().await;
                Err(AppendError::Log(format!(
                    "audit index {id} was taken by another coordinator replica"
                )))
            }
            Err(e) if is_state_error(&e) => Err(AppendError::Store(e)),
            Err(e) => Err(AppendError::Log(crate::error::chain(&e))),
        }
    }

    /// Appends entries that go with no other state change.
    pub(crate) async fn record(&self, entries: &[Entry]) -> Result<(), AppendError> {
        let store = self.store.clone();
        self.append(
            entries,
            |rows| async move { store.append_audit(&rows).await },
        )
        .await
        .map(|_| ())
    }

    async fn reload(&self) {
        let Ok(leaves) = self.store.audit_leaf_hashes().await else {
            return;
        };
        let tree = Tree::from_leaf_hashes(leaves.into_iter().map(NodeHash::from_bytes));
        let Ok(Some((_, note))) = self.store.audit_latest_head().await else {
            return;
        };
        let Ok(head) = SignedTreeHead::parse(&note) else {
            return;
        };
        if head.verify(&self.note_key).is_ok()
            && head.head().size == tree.size()
            && let Ok(mut committed) = self.committed.write()
        {
            *committed = Committed {
                tree,
                head: Arc::new(head),
            };
        }
    }

    /// An inclusion proof for `index` against the committed head of `size`.
    pub(crate) fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<NodeHash>, String> {
        let committed = self.committed.read().map_err(|_| "poisoned".to_owned())?;
        if size > committed.head.head().size {
            return Err(format!(
                "size {size} is beyond the latest tree head ({})",
                committed.head.head().size
            ));
        }
        committed
            .tree
            .inclusion_proof(index, size)
            .map_err(|e| e.to_string())
    }

    /// A consistency proof between two committed sizes.
    pub(crate) fn consistency_proof(&self, from: u64, to: u64) -> Result<Vec<NodeHash>, String> {
        let committed = self.committed.read().map_err(|_| "poisoned".to_owned())?;
        if to > committed.head.head().size {
            return Err(format!(
                "size {to} is beyond the latest tree head ({})",
                committed.head.head().size
            ));
        }
        committed
            .tree
            .consistency_proof(from, to)
            .map_err(|e| e.to_string())
    }

    /// Leaf hashes `from..to`, concatenated.
    pub(crate) fn leaves(&self, from: u64, to: u64) -> Vec<u8> {
        let Ok(committed) = self.committed.read() else {
            return Vec::new();
        };
        let mut out =
            Vec::with_capacity(usize::try_from(to.saturating_sub(from)).unwrap_or(0) * 32);
        for index in from..to {
            match committed.tree.leaf(index) {
                Some(leaf) => out.extend_from_slice(leaf.as_bytes()),
                None => break,
            }
        }
        out
    }

    /// How many leaf hashes `custodian` is known to hold.
    pub(crate) fn witness_size(&self, custodian: &str) -> u64 {
        self.witness_sizes
            .read()
            .ok()
            .and_then(|m| m.get(custodian).copied())
            .unwrap_or(0)
    }

    /// Records how many leaf hashes `custodian` holds (from its answer).
    pub(crate) fn set_witness_size(&self, custodian: &str, size: u64) {
        if let Ok(mut m) = self.witness_sizes.write() {
            m.insert(custodian.to_owned(), size);
        }
    }

    /// Keeps a custodian's cosignature of a tree head, if it verifies with
    /// `witness` and is on a head this log signed.
    pub(crate) fn add_cosignature(&self, note: &str, witness: &NoteKey) -> Result<(), String> {
        let cosigned = SignedTreeHead::parse(note).map_err(|e| e.to_string())?;
        cosigned
            .verify(&self.note_key)
            .map_err(|e| format!("not a head of this log: {e}"))?;
        if cosigned.count_valid_cosignatures(std::slice::from_ref(witness)) != 1 {
            return Err(format!("no valid cosignature by {}", witness.name()));
        }
        let mut slot = self.witnessed.write().map_err(|_| "poisoned".to_owned())?;
        match slot.as_mut() {
            Some(current) if current.text() == cosigned.text() => {
                current.merge(&cosigned).map_err(|e| e.to_string())?;
            }
            Some(current) if current.head().size >= cosigned.head().size => {}
            _ => *slot = Some(cosigned),
        }
        Ok(())
    }

    /// The newest cosigned head, with its cosignatures.
    pub(crate) fn witnessed(&self) -> Option<SignedTreeHead> {
        self.witnessed.read().ok().and_then(|w| w.clone())
    }
}

/// Store errors that belong to the state change, not the log: the caller
/// reports them as it did before the log existed.
fn is_state_error(e: &symbolon_store::Error) -> bool {
    matches!(
        e,
        symbolon_store::Error::Conflict { .. }
            | symbolon_store::Error::NotFound { .. }
            | symbolon_store::Error::InvalidInput { .. }
            | symbolon_store::Error::StaleSequence { .. }
    )
}

fn sign(
    tree: &Tree,
    origin: &str,
    key: &SigningKey,
) -> Result<SignedTreeHead, symbolon_audit::Error> {
    TreeHead {
        size: tree.size(),
        root_hash: tree.current_root(),
        timestamp_ms: now_ms(),
    }
    .sign(origin, origin, key)
}

/// An entry of `event` by `actor`, now.
pub(crate) fn entry(event: EventKind, actor: &str) -> Entry {
    Entry::new(event, now_ms(), actor)
}
