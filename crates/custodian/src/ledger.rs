//! The custodian's view of the coordinator's audit log (DESIGN §4, §8).
//!
//! A custodian releases a share only for a request whose `request.created`
//! entry the coordinator shows it in the log: the entry, its inclusion proof
//! and a tree head signed by the log key pinned at first registration, plus
//! the log's leaf hashes the custodian has not seen. The custodian keeps
//! every leaf hash (32 bytes per entry, never an entry) in
//! `audit/leaves`, so each head it accepts must be the root of a prefix of
//! one sequence of leaves: a coordinator that forks or rewrites its log is
//! refused — with a request or in a catch-up sync — the refusal is
//! recorded in `audit/refusals.log`, and the custodian keeps refusing that
//! log. Each head it accepts it countersigns with its attestation key (a
//! witness cosignature) for auditors.
//!
//! Files (in `<data dir>/audit/`):
//! * `log.vkey` — the pinned log key (signed-note verifier key);
//! * `leaves` — concatenated leaf hashes, appended only after a head
//!   covering them verified; a torn trailing record is dropped at start;
//! * `head.note` — the newest head accepted (written at most once a second
//!   while serving, and at a graceful stop if a newer one was accepted
//!   since);
//! * `refusals.log` — one line per refused log presentation.
//!
//! Durability: these files are written without fsync. After a machine
//! crash a custodian may come back holding fewer leaves (a prefix of what
//! it had verified) and an older head; it then accepts the log from there.
//! A head that does not match the leaves it holds at start is tampering and
//! stops the custodian.

use std::collections::VecDeque;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use symbolon_audit::{Entry, EventKind, HASH_LEN, NodeHash, NoteKey, SignedTreeHead, Witness};
use symbolon_proto::audit::{AuditEvidence, RequestStatement};

use crate::error::Error;
use crate::files;

const DIR: &str = "audit";
const KEY_FILE: &str = "log.vkey";
const LEAVES_FILE: &str = "leaves";
const HEAD_FILE: &str = "head.note";
const REFUSALS_FILE: &str = "refusals.log";

/// How far in the future a request's creation time may be (clock skew).
const MAX_SKEW_MS: u64 = 30_000;

/// Why a request's log evidence was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum LogRefusal {
    /// No log key is pinned yet: nothing is released.
    #[error(
        "no audit log key is pinned yet (the custodian has not registered); nothing is released"
    )]
    NotPinned,
    /// The leaf hashes sent start beyond the ones held.
    #[error("{0}")]
    Behind(symbolon_audit::Error),
    /// The log presented is not a consistent extension of the log this
    /// custodian accepted before (forked or rewritten), or its head is not
    /// signed by the pinned log key.
    #[error("audit log refused: {0}")]
    Log(symbolon_audit::Error),
    /// The request is not (provably) in the log.
    #[error("the request is not in the audit log: {0}")]
    NotIncluded(String),
    /// The request has expired or is from the future.
    #[error("{0}")]
    Stale(String),
}

impl LogRefusal {
    /// The problem kind and title.
    pub(crate) fn kind(&self) -> (&'static str, &'static str) {
        match self {
            Self::NotPinned => ("audit-log-not-pinned", "No audit log pinned"),
            Self::Behind(_) => ("audit-leaves-gap", "Audit leaf hashes missing"),
            Self::Log(_) => ("audit-log-refused", "Audit log refused"),
            Self::NotIncluded(_) => ("request-not-in-log", "Request not in the audit log"),
            Self::Stale(_) => ("request-expired", "Request expired"),
        }
    }
}

/// What the custodian answers once the evidence is accepted.
#[derive(Debug)]
pub(crate) struct Witnessed {
    /// Leaf hashes now held.
    pub(crate) size: u64,
    /// The request's head with this custodian's cosignature added.
    pub(crate) cosigned: String,
}

/// The log witness and its files.
#[derive(Debug)]
pub(crate) struct Ledger {
    dir: PathBuf,
    witness: Mutex<Option<Witness>>,
    /// `audit/leaves`, open for appending (taken with `witness` held).
    leaves: Mutex<Option<fs::File>>,
    /// When `head.note` was last written, and the newest head accepted
    /// since (the leaves, not the note, are what the custodian checks later
    /// heads against, so the note is written at most once per
    /// [`HEAD_SAVE_INTERVAL`], and at a graceful stop).
    head: Mutex<HeadNote>,
    /// The last few heads this custodian cosigned (the note as received,
    /// the note with its line added): the log signs one head per batch of
    /// appends, so under load many requests bring the same note, and the
    /// deterministic Ed25519 cosignature is made once per note.
    cosigned: Mutex<VecDeque<(String, String)>>,
}

/// How many cosigned notes a ledger remembers.
const COSIGNED_MEMORY: usize = 8;

/// The state of `head.note`.
#[derive(Debug, Default)]
struct HeadNote {
    /// When it was last written.
    saved_at: Option<Instant>,
    /// The newest head accepted but not written yet.
    unsaved: Option<String>,
}

/// How often, at most, the latest accepted head is written to disk.
const HEAD_SAVE_INTERVAL: Duration = Duration::from_secs(1);

impl Ledger {
    /// Loads the pinned key, the leaves and the last head, if any.
    ///
    /// # Errors
    ///
    /// [`Error::Audit`] if the files are unreadable or the head does not
    /// match the leaves held.
    pub(crate) fn load(data_dir: &Path) -> Result<Ledger, Error> {
        let dir = data_dir.join(DIR);
        files::create_private_dir(&dir)?;
        let key_path = dir.join(KEY_FILE);
        let witness = match files::read_optional(&key_path)? {
            None => None,
            Some(bytes) => {
                let text = String::from_utf8_lossy(&bytes);
                let key = NoteKey::from_vkey(text.trim()).map_err(|e| Error::Audit {
                    reason: format!("{}: {e}", key_path.display()),
                })?;
                Some(restore(&dir, key)?)
            }
        };
        Ok(Ledger {
            dir,
            witness: Mutex::new(witness),
            leaves: Mutex::new(None),
            head: Mutex::new(HeadNote::default()),
            cosigned: Mutex::new(VecDeque::new()),
        })
    }

    /// Pins the log key offered at registration, or checks it against the
    /// one pinned. `Ok(false)` if it differs (registration is refused).
    ///
    /// # Errors
    ///
    /// [`Error::Audit`] for a malformed key; write errors.
    pub(crate) fn pin(&self, vkey: &str) -> Result<bool, Error> {
        let offered = NoteKey::from_vkey(vkey).map_err(|e| Error::Audit {
            reason: format!("the coordinator's audit log key: {e}"),
        })?;
        let mut witness = self.lock();
        if let Some(current) = witness.as_ref() {
            return Ok(current.log_key() == &offered);
        }
        files::write_atomically(
            &self.dir.join(KEY_FILE),
            format!("{}\n", offered.to_vkey()).as_bytes(),
        )?;
        *witness = Some(restore(&self.dir, offered)?);
        Ok(true)
    }

    /// How many leaf hashes are held (0 before the log key is pinned).
    pub(crate) fn size(&self) -> u64 {
        self.lock().as_ref().map_or(0, Witness::size)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Witness>> {
        self.witness
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Checks that `statement` is the request logged at `evidence.index` of
    /// a head that extends everything accepted before; persists the new
    /// leaves and head; returns the cosigned head.
    ///
    /// `now_ms` is the current time; `id` and `key` name and sign the
    /// cosignature.
    pub(crate) fn check(
        &self,
        statement: &RequestStatement,
        evidence: &AuditEvidence,
        now_ms: u64,
        id: &str,
        key: &ed25519_dalek::SigningKey,
    ) -> Result<Witnessed, LogRefusal> {
        let result = self.check_inner(statement, evidence, now_ms, id, key);
        if let Err(refusal) = &result {
            self.record_refusal(
                now_ms,
                format_args!(
                    "request {} key {} version {}",
                    statement.request_id, statement.key_id, statement.version
                ),
                refusal,
            );
        }
        result
    }

    fn check_inner(
        &self,
        statement: &RequestStatement,
        evidence: &AuditEvidence,
        now_ms: u64,
        id: &str,
        key: &ed25519_dalek::SigningKey,
    ) -> Result<Witnessed, LogRefusal> {
        if now_ms > statement.expires_at_ms {
            return Err(LogRefusal::Stale(format!(
                "request {} expired {} ms ago",
                statement.request_id,
                now_ms - statement.expires_at_ms
            )));
        }
        if statement.created_at_ms > now_ms.saturating_add(MAX_SKEW_MS) {
            return Err(LogRefusal::Stale(format!(
                "request {} claims to be created {} ms in the future",
                statement.request_id,
                statement.created_at_ms - now_ms
            )));
        }
        let head = SignedTreeHead::parse(&evidence.head).map_err(LogRefusal::Log)?;
        let proof = evidence
            .inclusion
            .iter()
            .map(|h| parse_hash(h))
            .collect::<Result<Vec<_>, _>>()
            .map_err(LogRefusal::NotIncluded)?;
        let entry = Entry::decode(&evidence.entry)
            .map_err(|e| LogRefusal::NotIncluded(format!("the entry does not decode: {e}")))?;
        check_entry(&entry, statement).map_err(LogRefusal::NotIncluded)?;

        let (mut guard, accepted) = self.accept(&head, evidence.first_leaf, &evidence.leaves)?;
        let witness = guard.as_mut().ok_or(LogRefusal::NotPinned)?;
        witness
            .check_inclusion(&accepted.head, evidence.index, &evidence.entry, &proof)
            .map_err(|e| LogRefusal::NotIncluded(e.to_string()))?;
        let size = witness.size();
        // Under the witness lock: notes follow the order heads are accepted.
        if accepted.newest {
            self.note_head(&evidence.head);
        }
        drop(guard);
        Ok(Witnessed {
            size,
            cosigned: self.cosign(&evidence.head, head, id, key),
        })
    }

    /// `head` (received as `note`) with this custodian's cosignature, made
    /// once per distinct note.
    fn cosign(
        &self,
        note: &str,
        mut head: SignedTreeHead,
        id: &str,
        key: &ed25519_dalek::SigningKey,
    ) -> String {
        let mut memory = self
            .cosigned
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((_, cosigned)) = memory.iter().find(|(seen, _)| seen == note) {
            return cosigned.clone();
        }
        // The head may already carry this custodian's line (a retry).
        let _ = head.cosign(id, key);
        let cosigned = head.to_note();
        if memory.len() == COSIGNED_MEMORY {
            memory.pop_front();
        }
        memory.push_back((note.to_owned(), cosigned.clone()));
        cosigned
    }

    /// Accepts `head` with the leaf hashes from `first` on, without a
    /// request (a custodian far behind catching up); returns the number
    /// of leaf hashes held. A refusal is recorded like a request's.
    pub(crate) fn sync(
        &self,
        note: &str,
        first: u64,
        leaves: &[u8],
        now_ms: u64,
    ) -> Result<u64, LogRefusal> {
        let result = self.sync_inner(note, first, leaves);
        if let Err(refusal) = &result {
            self.record_refusal(now_ms, format_args!("sync from leaf {first}"), refusal);
        }
        result
    }

    fn sync_inner(&self, note: &str, first: u64, leaves: &[u8]) -> Result<u64, LogRefusal> {
        let head = SignedTreeHead::parse(note).map_err(LogRefusal::Log)?;
        let (guard, accepted) = self.accept(&head, first, leaves)?;
        let size = guard.as_ref().map_or(0, Witness::size);
        if accepted.newest {
            self.note_head(note);
        }
        drop(guard);
        Ok(size)
    }

    /// [`Self::accept_and_save`] under the witness lock, which it hands
    /// back; if the witness was dropped (leaves not saved), reloads it from
    /// the files once the lock is released.
    fn accept(
        &self,
        head: &SignedTreeHead,
        first: u64,
        leaves: &[u8],
    ) -> Result<
        (
            std::sync::MutexGuard<'_, Option<Witness>>,
            symbolon_audit::Accepted,
        ),
        LogRefusal,
    > {
        let mut guard = self.lock();
        match self.accept_and_save(&mut guard, head, first, leaves) {
            Ok(accepted) => Ok((guard, accepted)),
            Err(refusal) => {
                if guard.is_none() {
                    drop(guard);
                    self.reload();
                }
                Err(refusal)
            }
        }
    }

    /// Accepts `head` with the leaf hashes from `first` on and appends the
    /// new ones to `audit/leaves`. If they cannot be saved the witness is
    /// dropped (`*slot` becomes `None`) so that memory never runs ahead of
    /// disk: the caller reloads it from the files once the lock is released.
    fn accept_and_save(
        &self,
        slot: &mut Option<Witness>,
        head: &SignedTreeHead,
        first: u64,
        leaves: &[u8],
    ) -> Result<symbolon_audit::Accepted, LogRefusal> {
        let witness = slot.as_mut().ok_or(LogRefusal::NotPinned)?;
        let accepted = witness.accept(head, first, leaves).map_err(|e| match e {
            symbolon_audit::Error::LeavesGap { .. } => LogRefusal::Behind(e),
            other => LogRefusal::Log(other),
        })?;
        let new: Vec<u8> = (accepted.previous_size..witness.size())
            .filter_map(|index| witness.leaf(index))
            .flat_map(|leaf| *leaf.as_bytes())
            .collect();
        if !new.is_empty()
            && let Err(e) = self.append_leaves(&new)
        {
            tracing::error!(error = %e, "cannot save audit leaf hashes; reloading");
            *slot = None;
            return Err(LogRefusal::NotIncluded(
                "the custodian could not save the log's leaf hashes".to_owned(),
            ));
        }
        Ok(accepted)
    }

    fn append_leaves(&self, bytes: &[u8]) -> std::io::Result<()> {
        let mut file = self
            .leaves
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if file.is_none() {
            *file = Some(
                fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(self.dir.join(LEAVES_FILE))?,
            );
        }
        let result = match file.as_mut() {
            Some(f) => f.write_all(bytes),
            None => Ok(()),
        };
        if result.is_err() {
            // Reopen next time rather than keep a handle in an unknown state.
            *file = None;
        }
        result
    }

    fn head_note(&self) -> std::sync::MutexGuard<'_, HeadNote> {
        self.head
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records `note` as the newest head accepted: written now if the last
    /// write is [`HEAD_SAVE_INTERVAL`] old, else kept for the next write or
    /// [`Self::flush`].
    fn note_head(&self, note: &str) {
        let mut head = self.head_note();
        if head
            .saved_at
            .is_some_and(|at| at.elapsed() < HEAD_SAVE_INTERVAL)
        {
            head.unsaved = Some(note.to_owned());
            return;
        }
        head.saved_at = Some(Instant::now());
        head.unsaved = None;
        if let Err(e) = replace(&self.dir.join(HEAD_FILE), note.as_bytes()) {
            tracing::warn!(error = %e, "cannot save the latest audit tree head");
        }
    }

    /// Writes the newest head accepted, if it is not written yet (the
    /// graceful stop). Blocking.
    ///
    /// # Errors
    ///
    /// [`Error::Write`] naming `head.note`.
    pub(crate) fn flush(&self) -> Result<(), Error> {
        let mut head = self.head_note();
        if let Some(note) = head.unsaved.take() {
            let path = self.dir.join(HEAD_FILE);
            replace(&path, note.as_bytes()).map_err(Error::write(&path))?;
            head.saved_at = Some(Instant::now());
        }
        Ok(())
    }

    fn reload(&self) {
        let key = match files::read_optional(&self.dir.join(KEY_FILE)) {
            Ok(Some(bytes)) => NoteKey::from_vkey(String::from_utf8_lossy(&bytes).trim()).ok(),
            _ => None,
        };
        let restored = key.and_then(|k| restore(&self.dir, k).ok());
        *self.lock() = restored;
    }

    /// Appends a line to `audit/refusals.log` for a log presentation
    /// refused (a forked, rewritten or wrongly signed log, or a request not
    /// proven in it); `what` names the presentation. Stale requests,
    /// missing leaf hashes and a log not pinned yet are not refusals of the
    /// log and are not recorded.
    fn record_refusal(&self, now_ms: u64, what: std::fmt::Arguments<'_>, refusal: &LogRefusal) {
        if !matches!(refusal, LogRefusal::Log(_) | LogRefusal::NotIncluded(_)) {
            return;
        }
        tracing::error!(%what, %refusal, "refused the audit log presented");
        let line = format!("{now_ms} {what}: {refusal}\n");
        if let Err(e) = append(&self.dir.join(REFUSALS_FILE), line.as_bytes()) {
            tracing::error!(error = %e, "cannot record the refusal");
        }
    }
}

/// The log's evidence must be the `request.created` entry of exactly this
/// request.
fn check_entry(entry: &Entry, statement: &RequestStatement) -> Result<(), String> {
    if entry.event != EventKind::RequestCreated {
        return Err(format!(
            "the entry is a {} entry, not request.created",
            entry.event
        ));
    }
    if entry.request_digest != Some(statement.digest()) {
        return Err("the logged request digest is not this request's".to_owned());
    }
    if entry.key_id.as_deref() != Some(statement.key_id.as_str())
        || entry.key_version != Some(statement.version)
    {
        return Err("the logged request is for another key or version".to_owned());
    }
    if entry.actor != statement.requester {
        return Err("the logged request names another requester".to_owned());
    }
    Ok(())
}

fn parse_hash(hex_text: &str) -> Result<NodeHash, String> {
    NodeHash::from_hex(hex_text)
        .ok_or_else(|| format!("inclusion proof hash {hex_text:?} is not 64 hex characters"))
}

/// Rebuilds the witness from its files.
fn restore(dir: &Path, key: NoteKey) -> Result<Witness, Error> {
    let leaves_path = dir.join(LEAVES_FILE);
    let bytes = match fs::read(&leaves_path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(Error::read(&leaves_path)(e)),
    };
    let (chunks, torn) = bytes.as_chunks::<HASH_LEN>();
    if !torn.is_empty() {
        tracing::warn!(bytes = torn.len(), "dropping a torn audit leaf record");
        let whole = bytes.len() - torn.len();
        fs::OpenOptions::new()
            .write(true)
            .open(&leaves_path)
            .and_then(|f| f.set_len(whole as u64))
            .map_err(Error::write(&leaves_path))?;
    }
    let leaves: Vec<NodeHash> = chunks.iter().map(|c| NodeHash::from_bytes(*c)).collect();
    let head_path = dir.join(HEAD_FILE);
    let head = match files::read_optional(&head_path)? {
        None => None,
        Some(bytes) => Some(
            SignedTreeHead::parse(&String::from_utf8_lossy(&bytes)).map_err(|e| Error::Audit {
                reason: format!("{}: {e}", head_path.display()),
            })?,
        ),
    };
    let origin = key.name().to_owned();
    match Witness::new(key.clone(), &origin, leaves.clone(), head) {
        Ok(witness) => Ok(witness),
        // Leaves lost in a machine crash: start again from the prefix held.
        Err(symbolon_audit::Error::HeadBeyondLeaves { size, held }) => {
            tracing::warn!(
                size,
                held,
                "the saved audit head is beyond the leaves held; keeping the leaves only"
            );
            Witness::new(key, &origin, leaves, None).map_err(|e| Error::Audit {
                reason: e.to_string(),
            })
        }
        Err(e) => Err(Error::Audit {
            reason: format!(
                "the saved audit head does not match the saved leaf hashes ({e}); the files in {} were altered",
                dir.display()
            ),
        }),
    }
}

fn append(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    file.write_all(bytes)
}

fn replace(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let temporary = path.with_extension("tmp");
    fs::write(&temporary, bytes)?;
    fs::rename(&temporary, path)
}
