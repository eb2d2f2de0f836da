//! The coordinator's audit log (DESIGN §8): every state change that matters
//! is appended, in the same database transaction as the change, before it
//! takes effect; if the log cannot be written the change is refused.
//!
//! The Merkle tree (leaf hashes only) lives in memory and is rebuilt from
//! the store at start, where it must reproduce the last signed tree head
//! stored or the coordinator refuses to start. One writer task commits
//! every append waiting for it in one transaction (group commit), so
//! indexes are dense and in commit order; each transaction's last row
//! carries the tree head the log key signed for it, which is what lets
//! `symbolon audit verify` name the first entry that no longer matches.
//!
//! Several replicas sharing PostgreSQL: an append whose index another
//! replica took first fails with a conflict; this replica then reloads the
//! tree from the store, and the caller's operation fails with a retryable
//! 503 rather than forking the log.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

use ed25519_dalek::SigningKey;
use std::any::Any;
use std::time::Instant;
use symbolon_audit::entry::MAX_DETAIL_LEN;
use symbolon_audit::{
    Entry, EventKind, NodeHash, NoteKey, SignedTreeHead, Tree, TreeHead, leaf_hash,
};

use futures::future::BoxFuture;
use symbolon_store::{AuditAppend, Error as StoreError, Savepoint, Store, StoreTx};
use tokio::sync::{mpsc, oneshot};
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

/// A state change to run in the log's transaction: it gets the open
/// transaction and returns its value, boxed.
type Write = Box<
    dyn for<'t> FnOnce(&'t mut StoreTx) -> BoxFuture<'t, Result<Box<dyn Any + Send>, StoreError>>
        + Send,
>;

/// What the writer answers a job: the write's value, the head signed for
/// the batch it committed in, and the index of its first entry.
type Done = (Box<dyn Any + Send>, Arc<SignedTreeHead>, u64);

/// What [`AuditLog::append`] answers.
pub(crate) struct Appended<T> {
    /// The state change's value.
    pub(crate) value: T,
    /// The signed head of the transaction the append committed in.
    pub(crate) head: Arc<SignedTreeHead>,
    /// The index of the first entry.
    pub(crate) first: u64,
    /// The entries' canonical encodings, as logged.
    pub(crate) encoded: Vec<Vec<u8>>,
}

/// One append waiting for the writer: its entries already encoded.
struct Job {
    encoded: Vec<Vec<u8>>,
    write: Option<Write>,
    reply: oneshot::Sender<Result<Done, AppendError>>,
}

/// How often, at most, a newer cosigned head replaces the witnessed one.
const WITNESS_REFRESH: std::time::Duration = std::time::Duration::from_millis(200);

/// The most appends committed in one transaction.
const MAX_BATCH: usize = 256;

/// The log: its signing key, the tree, and the witnesses' cosignatures.
///
/// Appends go through one writer task, which commits every append waiting
/// for it in one transaction (each state change in its own savepoint) with
/// one signed tree head: under load, appends share the transaction and the
/// signature instead of queueing for them one by one.
pub(crate) struct AuditLog {
    shared: Arc<Shared>,
    jobs: mpsc::Sender<Job>,
}

struct Shared {
    key: SigningKey,
    /// The log's verifier key; its name is the log's origin.
    note_key: NoteKey,
    store: Store,
    /// The tree and head as of the last commit. The tree is written only
    /// by the writer task; readers never look past `head`'s size.
    committed: RwLock<Committed>,
    /// The newest head that a custodian cosigned, with every cosignature
    /// collected for it.
    witnessed: RwLock<Option<(SignedTreeHead, Instant)>>,
    /// How many leaf hashes each custodian is known to hold.
    witness_sizes: RwLock<HashMap<String, u64>>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("origin", &self.shared.note_key.name())
            .finish_non_exhaustive()
    }
}

fn load_or_create_key(dir: &Path) -> Result<SigningKey, Error> {
    let (path, text) = crate::load_or_create_secret(dir, KEY_FILE, || {
        let seed = Zeroizing::new(rand::random::<[u8; 32]>());
        Zeroizing::new(format!("{}\n", hex::encode(*seed)))
    })?;
    let mut seed = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(text.trim(), seed.as_mut_slice()).map_err(|_| Error::DataDir {
        path,
        reason: "not an audit log key (64 hex characters)".to_owned(),
    })?;
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
            None if tree.is_empty() => sign(&tree, &note_key, &key).map_err(|e| Error::Audit {
                reason: e.to_string(),
            })?,
            None => {
                return Err(Error::Audit {
                    reason: "the audit log has entries but no signed tree head".to_owned(),
                });
            }
        };
        let shared = Arc::new(Shared {
            key,
            note_key,
            store,
            committed: RwLock::new(Committed {
                tree,
                head: Arc::new(head),
            }),
            witnessed: RwLock::new(None),
            witness_sizes: RwLock::new(HashMap::new()),
        });
        let (jobs, queue) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(writer(Arc::clone(&shared), queue));
        Ok(AuditLog { shared, jobs })
    }

    /// The log's verifier key.
    pub(crate) fn note_key(&self) -> &NoteKey {
        &self.shared.note_key
    }

    /// The latest committed signed tree head.
    pub(crate) fn latest(&self) -> Arc<SignedTreeHead> {
        self.shared
            .committed
            .read()
            .map(|c| c.head.clone())
            .unwrap_or_else(|p| p.into_inner().head.clone())
    }

    /// Appends `entries` and runs `write` — the state change — in the
    /// same transaction.
    pub(crate) async fn append<T, F>(
        &self,
        entries: &[Entry],
        write: F,
    ) -> Result<Appended<T>, AppendError>
    where
        T: Send + 'static,
        F: for<'t> FnOnce(&'t mut StoreTx) -> BoxFuture<'t, Result<T, StoreError>> + Send + 'static,
    {
        let encoded = encode(entries)?;
        let write: Write = Box::new(move |tx| {
            let future = write(tx);
            Box::pin(async move { future.await.map(|v| Box::new(v) as Box<dyn Any + Send>) })
        });
        let (value, head, first) = self.submit(encoded.clone(), Some(write)).await?;
        let value = value
            .downcast::<T>()
            .map_err(|_| AppendError::Log("audit writer returned the wrong type".to_owned()))?;
        Ok(Appended {
            value: *value,
            head,
            first,
            encoded,
        })
    }

    /// Appends entries that go with no other state change.
    pub(crate) async fn record(&self, entries: &[Entry]) -> Result<(), AppendError> {
        self.submit(encode(entries)?, None).await.map(|_| ())
    }

    async fn submit(
        &self,
        encoded: Vec<Vec<u8>>,
        write: Option<Write>,
    ) -> Result<Done, AppendError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job {
                encoded,
                write,
                reply,
            })
            .await
            .map_err(|_| AppendError::Log("the audit writer has stopped".to_owned()))?;
        answer
            .await
            .map_err(|_| AppendError::Log("the audit writer dropped the append".to_owned()))?
    }

    /// An inclusion proof for `index` against the committed head of `size`.
    pub(crate) fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<NodeHash>, String> {
        let committed = self
            .shared
            .committed
            .read()
            .map_err(|_| "poisoned".to_owned())?;
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
        let committed = self
            .shared
            .committed
            .read()
            .map_err(|_| "poisoned".to_owned())?;
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

    /// Leaf hashes `from..to`, concatenated; never past the latest
    /// committed head (the writer may hold uncommitted leaves).
    pub(crate) fn leaves(&self, from: u64, to: u64) -> Vec<u8> {
        let Ok(committed) = self.shared.committed.read() else {
            return Vec::new();
        };
        let to = to.min(committed.head.head().size);
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
        self.shared
            .witness_sizes
            .read()
            .ok()
            .and_then(|m| m.get(custodian).copied())
            .unwrap_or(0)
    }

    /// Records how many leaf hashes `custodian` holds (from its answer).
    pub(crate) fn set_witness_size(&self, custodian: &str, size: u64) {
        if let Ok(mut m) = self.shared.witness_sizes.write() {
            m.insert(custodian.to_owned(), size);
        }
    }

    /// Keeps a custodian's cosignature of a tree head, if it verifies with
    /// its key (`witness()`, asked only when the cosignature is kept: the
    /// key's point is decompressed on every call) and is on a head this log
    /// signed.
    pub(crate) fn add_cosignature(
        &self,
        note: &str,
        custodian: &str,
        witness: impl FnOnce() -> Option<NoteKey>,
    ) -> Result<(), String> {
        let cosigned = SignedTreeHead::parse(note).map_err(|e| e.to_string())?;
        // Under load every operation brings a new head: collecting each one
        // (two signature checks) would cost more than the operation's own
        // log work. Cosignatures of the current witnessed head are merged;
        // a newer head replaces it at most every WITNESS_REFRESH.
        let same = {
            let slot = self
                .shared
                .witnessed
                .read()
                .map_err(|_| "poisoned".to_owned())?;
            match slot.as_ref() {
                Some((current, _)) if current.text() == cosigned.text() => true,
                Some((current, _)) if current.head().size >= cosigned.head().size => return Ok(()),
                Some((_, since)) if since.elapsed() < WITNESS_REFRESH => return Ok(()),
                _ => false,
            }
        };
        if !same {
            cosigned
                .verify(&self.shared.note_key)
                .map_err(|e| format!("not a head of this log: {e}"))?;
        }
        let witness =
            witness().ok_or_else(|| format!("no attestation key known for {custodian}"))?;
        if cosigned.count_valid_cosignatures(std::slice::from_ref(&witness)) != 1 {
            return Err(format!("no valid cosignature by {}", witness.name()));
        }
        let mut slot = self
            .shared
            .witnessed
            .write()
            .map_err(|_| "poisoned".to_owned())?;
        match slot.as_mut() {
            Some((current, _)) if current.text() == cosigned.text() => {
                current.merge(&cosigned).map_err(|e| e.to_string())?;
            }
            Some((current, _)) if current.head().size >= cosigned.head().size => {}
            _ => *slot = Some((cosigned, Instant::now())),
        }
        Ok(())
    }

    /// The newest cosigned head, with its cosignatures.
    pub(crate) fn witnessed(&self) -> Option<SignedTreeHead> {
        self.shared
            .witnessed
            .read()
            .ok()
            .and_then(|w| w.as_ref().map(|(head, _)| head.clone()))
    }
}

/// The writer task: takes every append waiting, commits them together.
async fn writer(shared: Arc<Shared>, mut queue: mpsc::Receiver<Job>) {
    while let Some(first) = queue.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        commit_batch(&shared, jobs).await;
    }
}

/// Runs each job's state change in its own savepoint, appends its entries,
/// signs one head for the batch and commits. A job whose change fails is
/// rolled back alone; a failure of the transaction fails every job.
async fn commit_batch(shared: &Shared, jobs: Vec<Job>) {
    let start = match shared.committed.read() {
        Ok(c) => c.tree.size(),
        Err(_) => {
            fail_all(jobs, "audit state poisoned");
            return;
        }
    };
    let mut tx = match shared.store.begin().await {
        Ok(tx) => tx,
        Err(e) => {
            fail_all(jobs, &crate::error::chain(&e));
            return;
        }
    };
    let mut done = Vec::with_capacity(jobs.len());
    let mut rows = Vec::new();
    for job in jobs {
        match run_job(shared, &mut tx, job.encoded, job.write).await {
            Ok((value, first, job_rows)) => {
                rows.extend(job_rows);
                done.push((job.reply, value, first));
            }
            Err(e) => {
                let _ = job.reply.send(Err(e));
            }
        }
    }
    if done.is_empty() {
        return;
    }
    match finish(shared, tx, rows).await {
        Ok(head) => {
            if let Ok(mut committed) = shared.committed.write() {
                committed.head = head.clone();
            }
            metrics::counter!("symbolon_audit_batches_total").increment(1);
            for (reply, value, first) in done {
                let _ = reply.send(Ok((value, head.clone(), first)));
            }
        }
        Err((reason, taken)) => {
            truncate(shared, start);
            if taken {
                // Another replica appended: catch up for the next batch.
                reload(shared).await;
            }
            tracing::error!(%reason, "audit transaction failed");
            for (reply, _, _) in done {
                let _ = reply.send(Err(AppendError::Log(reason.clone())));
            }
        }
    }
}

/// Rebuilds the tree from the store after another replica appended.
async fn reload(shared: &Shared) {
    let Ok(leaves) = shared.store.audit_leaf_hashes().await else {
        return;
    };
    let tree = Tree::from_leaf_hashes(leaves.into_iter().map(NodeHash::from_bytes));
    let Ok(Some((_, note))) = shared.store.audit_latest_head().await else {
        return;
    };
    let Ok(head) = SignedTreeHead::parse(&note) else {
        return;
    };
    if head.verify(&shared.note_key).is_ok()
        && head.head().size == tree.size()
        && let Ok(mut committed) = shared.committed.write()
    {
        *committed = Committed {
            tree,
            head: Arc::new(head),
        };
    }
}

fn fail_all(jobs: Vec<Job>, reason: &str) {
    for job in jobs {
        let _ = job.reply.send(Err(AppendError::Log(reason.to_owned())));
    }
}

fn truncate(shared: &Shared, size: u64) {
    if let Ok(mut committed) = shared.committed.write() {
        committed.tree.truncate(size);
    }
}

/// One job inside the batch's transaction: its state change (undone alone
/// if it fails), then its entries appended
/// to the tree. Returns its value, the index of its first entry and its
/// rows, which the batch writes together at the end.
async fn run_job(
    shared: &Shared,
    tx: &mut StoreTx,
    encoded: Vec<Vec<u8>>,
    write: Option<Write>,
) -> Result<(Box<dyn Any + Send>, u64, Vec<AuditAppend>), AppendError> {
    let log_error = |e: StoreError| AppendError::Log(crate::error::chain(&e));
    let value = match write {
        Some(write) => {
            // Undone alone if it fails: the batch's other jobs commit.
            tx.savepoint(Savepoint::Step).await.map_err(log_error)?;
            match write(tx).await {
                Ok(value) => {
                    tx.release_savepoint(Savepoint::Step)
                        .await
                        .map_err(log_error)?;
                    value
                }
                Err(e) => {
                    tx.rollback_to_savepoint(Savepoint::Step)
                        .await
                        .map_err(log_error)?;
                    return Err(if is_state_error(&e) {
                        AppendError::Store(e)
                    } else {
                        AppendError::Log(crate::error::chain(&e))
                    });
                }
            }
        }
        None => Box::new(()),
    };
    let mut committed = shared
        .committed
        .write()
        .map_err(|_| AppendError::Log("audit state poisoned".to_owned()))?;
    let first = committed.tree.size();
    let rows = encoded
        .into_iter()
        .map(|entry| {
            let leaf = leaf_hash(&entry);
            let index = committed.tree.append(leaf);
            AuditAppend {
                index,
                entry,
                leaf_hash: *leaf.as_bytes(),
                head: None,
            }
        })
        .collect();
    Ok((value, first, rows))
}

/// Signs the batch's head, writes the batch's rows (the head on the last
/// one), commits. The error says whether another replica took an index.
async fn finish(
    shared: &Shared,
    mut tx: StoreTx,
    mut rows: Vec<AuditAppend>,
) -> Result<Arc<SignedTreeHead>, (String, bool)> {
    let head = {
        let committed = shared
            .committed
            .read()
            .map_err(|_| ("audit state poisoned".to_owned(), false))?;
        sign(&committed.tree, &shared.note_key, &shared.key).map_err(|e| (e.to_string(), false))?
    };
    if let Some(last) = rows.last_mut() {
        last.head = Some(head.to_note());
    }
    match tx.append_audit(&rows).await {
        Ok(()) => {}
        Err(StoreError::Conflict {
            what: "audit entry",
            id,
        }) => {
            return Err((
                format!("an audit index in {id} was taken by another coordinator replica"),
                true,
            ));
        }
        Err(e) => return Err((crate::error::chain(&e), false)),
    }
    tx.commit()
        .await
        .map_err(|e| (crate::error::chain(&e), false))?;
    Ok(Arc::new(head))
}

/// The canonical encodings of `entries`, each detail shortened to what an
/// entry can hold: a detail is free text for humans (often an error message
/// naming custodians), and a long one must not keep a change out of the log.
fn encode(entries: &[Entry]) -> Result<Vec<Vec<u8>>, AppendError> {
    entries
        .iter()
        .map(|entry| {
            let clipped;
            let entry = match &entry.detail {
                Some(detail) if detail.len() > MAX_DETAIL_LEN => {
                    let mut shorter = entry.clone();
                    shorter.detail = Some(clip(detail, MAX_DETAIL_LEN));
                    clipped = shorter;
                    &clipped
                }
                _ => entry,
            };
            entry
                .encode()
                .map_err(|e| AppendError::Log(format!("entry {}: {e}", entry.event)))
        })
        .collect()
}

/// `text` cut to at most `max` bytes at a character boundary, ending in
/// an ellipsis when cut.
fn clip(text: &str, max: usize) -> String {
    const MARK: &str = "…";
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max.saturating_sub(MARK.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{MARK}", text.get(..end).unwrap_or_default())
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

/// Signs the tree's current head; the log key's name is the origin.
fn sign(
    tree: &Tree,
    note_key: &NoteKey,
    key: &SigningKey,
) -> Result<SignedTreeHead, symbolon_audit::Error> {
    TreeHead {
        size: tree.size(),
        root_hash: tree.current_root(),
        timestamp_ms: now_ms(),
    }
    .sign(note_key.name(), note_key.name(), key)
}

/// An entry of `event` by `actor`, now.
pub(crate) fn entry(event: EventKind, actor: &str) -> Entry {
    Entry::new(event, now_ms(), actor)
}

/// Custodians caught misbehaving in one step (`what`: "sign", "dkg", ...)
/// on a key version: one `custodian.suspect` entry each, bound to the
/// request whose digest is `request_digest` (if any), with `outcome` saying
/// what it sent; and the `(custodian, reason)` faults to add to their rows
/// with [`record_faults`] in the same transaction.
pub(crate) fn suspects(
    key_id: &str,
    version: u64,
    request_digest: Option<[u8; 32]>,
    outcome: &str,
    what: &str,
    faults: &[symbolon_proto::CustodianFailure],
) -> (Vec<Entry>, Vec<(String, String)>) {
    faults
        .iter()
        .map(|fault| {
            let detail = format!("{what}: {}", fault.reason);
            let mut suspect = entry(EventKind::CustodianSuspect, "coordinator");
            suspect.key_id = Some(key_id.to_owned());
            suspect.key_version = Some(version);
            suspect.request_digest = request_digest;
            suspect.custodians = vec![fault.id.clone()];
            suspect.outcome = Some(outcome.to_owned());
            suspect.detail = Some(detail.clone());
            (suspect, (fault.id.clone(), detail))
        })
        .unzip()
}

/// Adds each `(custodian, reason)` fault to its custodian's row; the
/// updated rows are for [`crate::state::AppState::note_faults`].
pub(crate) async fn record_faults(
    tx: &mut StoreTx,
    faults: &[(String, String)],
    at_ms: u64,
) -> Result<Vec<symbolon_store::CustodianRow>, StoreError> {
    let at = i64::try_from(at_ms).unwrap_or(i64::MAX);
    let mut rows = Vec::with_capacity(faults.len());
    for (id, reason) in faults {
        rows.push(tx.record_custodian_fault(id, reason, at).await?);
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(n: u64) -> symbolon_store::NewRequest {
        symbolon_store::NewRequest {
            id: format!("r{n}"),
            key_id: "k".to_owned(),
            version: 1,
            op: "decrypt".to_owned(),
            requester: "alice".to_owned(),
            created_at: 1,
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_change_is_undone_alone_and_the_log_stays_whole() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite(&dir.path().join("db")).await.unwrap();
        let log = Arc::new(AuditLog::open(dir.path(), store.clone()).await.unwrap());
        // Requests r0..r9 exist already, so every second append below
        // (even n) fails its state change with a conflict.
        for n in (0..10).step_by(2) {
            store.insert_request(&request(n)).await.unwrap();
        }
        let mut tasks = Vec::new();
        for n in 0..10u64 {
            let log = Arc::clone(&log);
            tasks.push(tokio::spawn(async move {
                let row = request(n);
                log.append(&[entry(EventKind::RequestCreated, "alice")], move |tx| {
                    Box::pin(async move { tx.insert_request(&row).await })
                })
                .await
                .map(|appended| (appended.head.head().size, appended.first))
            }));
        }
        let mut ok = 0;
        for (n, task) in tasks.into_iter().enumerate() {
            match task.await.unwrap() {
                Ok((size, index)) => {
                    assert!(n % 2 == 1, "r{n} should have conflicted");
                    assert!(index < size);
                    ok += 1;
                }
                Err(AppendError::Store(symbolon_store::Error::Conflict { what, .. })) => {
                    assert_eq!(what, "request");
                    assert!(n % 2 == 0);
                }
                Err(other) => panic!("r{n}: {other:?}"),
            }
        }
        assert_eq!(ok, 5);
        // Only the successful appends are in the log, and a reopened log
        // reproduces the last signed head.
        assert_eq!(log.latest().head().size, 5);
        assert_eq!(store.audit_size().await.unwrap(), 5);
        for n in (1..10).step_by(2) {
            store.request(&format!("r{n}")).await.unwrap();
        }
        let reopened = AuditLog::open(dir.path(), store.clone()).await.unwrap();
        assert_eq!(reopened.latest().head(), log.latest().head());
        // Entries alone, concurrently: one signed head covers each batch.
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let log = Arc::clone(&log);
            tasks.push(tokio::spawn(async move {
                log.record(&[entry(EventKind::CustodianHealthy, "coordinator")])
                    .await
            }));
        }
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        assert_eq!(log.latest().head().size, 25);
        let latest = log.latest();
        latest.verify(log.note_key()).unwrap();
        let proof = log.inclusion_proof(3, 25).unwrap();
        let rows = store.audit_entries(3, 1).await.unwrap();
        symbolon_audit::verify_inclusion(
            &leaf_hash(&rows[0].entry),
            3,
            25,
            &proof,
            &latest.head().root_hash,
        )
        .unwrap();
    }

    #[test]
    fn clip_cuts_at_a_character_boundary() {
        assert_eq!(clip("short", 10), "short");
        let cut = clip("ééééé", 6);
        assert!(cut.len() <= 6, "{cut}");
        assert_eq!(cut, "é…");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_long_detail_is_shortened_not_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite(&dir.path().join("db")).await.unwrap();
        let log = AuditLog::open(dir.path(), store.clone()).await.unwrap();
        let mut long = entry(EventKind::RequestRefused, "alice");
        long.detail = Some("x".repeat(3 * MAX_DETAIL_LEN));
        log.record(&[long]).await.unwrap();
        let stored = Entry::decode(&store.audit_entries(0, 1).await.unwrap()[0].entry).unwrap();
        let detail = stored.detail.unwrap();
        assert!(detail.len() <= MAX_DETAIL_LEN);
        assert!(detail.ends_with('…'));
    }
}
