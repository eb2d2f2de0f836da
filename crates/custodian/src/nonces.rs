//! FROST round-1 nonces published ahead of time (RFC 9591, Section 5.1:
//! "pre-processing" batches), and the rule that each signs at most once,
//! across restarts.
//!
//! A custodian holding an `ed25519` share answers
//! `POST /v1/keys/{key_id}/versions/{version}/nonces` with the commitments
//! of a fresh [`NonceBatch`]; a later `POST /v1/partial` names one of them
//! in its signing package, and the custodian signs with the matching
//! nonces, which it removes first. Signing twice with one nonce pair (two
//! messages or two signer sets) reveals the key share, so:
//!
//! * **Publish.** A batch is written to
//!   `<data>/nonces/<key_id>/<version>/<seq>.batch` atomically (temporary
//!   file, fsync, rename, fsync of the directory; mode 0600) *before* its
//!   commitments are answered.
//! * **Take.** Taking nonces for a signature only updates memory: no disk
//!   write on the signing path.
//! * **Graceful stop.** After the HTTP server has stopped serving, every
//!   batch is rewritten with the nonces left (an emptied one is deleted),
//!   then the marker `<data>/nonces.clean` is written (outside `nonces/`,
//!   whose entries are key ids: any name there could be a key's). The store
//!   is closed first: nothing is taken or published after that.
//! * **Start.** If `nonces.clean` exists it is deleted (and the data
//!   directory fsynced) *before* any batch is loaded: from then on, a crash
//!   leaves no marker. If it does not exist, the last run did not stop
//!   cleanly and may have signed with nonces its files still hold, so every
//!   batch file is deleted (*drop the batch on doubt*), with a warning
//!   naming how many batches were dropped (counted, not read). Batches of key versions no longer held
//!   as `ed25519` shares, leftover temporary files and undecodable batches
//!   are deleted too.
//! * **Bounds.** At most [`MAX_OUTSTANDING`] unused nonce pairs per key
//!   version: publishing beyond that drops the oldest batches (their
//!   commitments then answer `nonce-unknown`). Deleting a share drops its
//!   nonces.
//! * **Numbers.** A publish reserves its batch's sequence number before it
//!   writes, so a publish whose request was dropped mid-write can never
//!   share a number (and a file) with a later one; its orphaned file holds
//!   nonces never published and is deleted at the next stop or start.
//!
//! Dropping nonces is always safe (the coordinator asks for fresh ones);
//! keeping a nonce whose use might not have been recorded is not, which is
//! why every doubt resolves to dropping.
//!
//! # Security
//!
//! A batch file holds secret nonces in the clear: together with a signature
//! share made with them it yields the key share. The files get the same
//! protection as `identity.key` (owner-only modes in the private data
//! directory). Never restore the `nonces` directory or `nonces.clean` from
//! a backup: the marker would make an old copy of a batch look current.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use symbolon_proto::api::KeyKind;
use symbolon_proto::scalar::HeldShare;
use symbolon_threshold::ed25519::{NonceBatch, SigningCommitments, SigningNonces};

use crate::vault::{Held, Vault};
use crate::{Error, files};

/// The nonce directory inside the data directory.
pub(crate) const NONCES_DIR: &str = "nonces";
/// The clean-shutdown marker inside the data directory (next to, not in,
/// the nonce directory, whose entries are key ids).
pub(crate) const CLEAN_MARKER: &str = "nonces.clean";
/// The file extension of stored batches.
const BATCH_EXTENSION: &str = "batch";

/// The most unused nonce pairs kept per key version; publishing more drops
/// the oldest batches.
pub const MAX_OUTSTANDING: usize = 4096;

// One request's batch alone always fits, so publishing never drops the
// batch it is about to answer.
const _: () =
    assert!(MAX_OUTSTANDING >= symbolon_proto::custodian::MAX_NONCES_PER_REQUEST as usize);

/// The nonce batches of one key version.
#[derive(Default)]
struct Batches {
    /// The sequence number of the next batch.
    next_seq: u64,
    /// Unused nonces by batch sequence number (oldest first).
    held: BTreeMap<u64, NonceBatch>,
    /// How many unused nonce pairs `held` holds in all.
    outstanding: usize,
    /// Which batch holds the nonces of each commitment (encoded), so a take
    /// searches one batch.
    index: HashMap<Vec<u8>, u64>,
    /// Batches taken from since they were written: the ones a graceful stop
    /// rewrites.
    dirty: BTreeSet<u64>,
}

impl Batches {
    fn insert(&mut self, seq: u64, batch: NonceBatch) {
        for commitments in batch.commitments() {
            self.index.insert(commitments.to_bytes(), seq);
        }
        self.outstanding += batch.len();
        if let Some(replaced) = self.held.insert(seq, batch) {
            // Never happens (numbers are reserved); kept exact regardless.
            self.outstanding = self.outstanding.saturating_sub(replaced.len());
        }
        self.next_seq = self.next_seq.max(seq.saturating_add(1));
    }

    /// Reserves the sequence number of a batch about to be written.
    fn reserve(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq = seq.saturating_add(1);
        seq
    }

    /// Drops the oldest batches until at most [`MAX_OUTSTANDING`] nonce
    /// pairs are left; returns the sequence numbers dropped.
    fn enforce_cap(&mut self) -> Vec<u64> {
        let mut dropped = Vec::new();
        while self.outstanding > MAX_OUTSTANDING {
            let Some((seq, batch)) = self.held.pop_first() else {
                break;
            };
            self.outstanding = self.outstanding.saturating_sub(batch.len());
            for commitments in batch.commitments() {
                self.index.remove(&commitments.to_bytes());
            }
            self.dirty.remove(&seq);
            dropped.push(seq);
        }
        dropped
    }

    fn take(&mut self, commitments: &SigningCommitments) -> Option<SigningNonces> {
        let seq = self.index.remove(&commitments.to_bytes())?;
        let batch = self.held.get_mut(&seq)?;
        let nonces = batch.take(commitments);
        if nonces.is_some() {
            self.outstanding = self.outstanding.saturating_sub(1);
        }
        if batch.is_empty() {
            // Its file goes at the graceful stop (it is no longer held).
            self.held.remove(&seq);
            self.dirty.remove(&seq);
        } else {
            self.dirty.insert(seq);
        }
        nonces
    }
}

/// What the store holds in memory.
#[derive(Default)]
struct Inner {
    /// Set by [`NonceStore::persist`]: nothing is taken or published after.
    closed: bool,
    batches: BTreeMap<(String, u64), Batches>,
}

/// Why a batch could not be published.
#[derive(Debug)]
pub(crate) enum PublishError {
    /// The share is no longer held (deleted meanwhile), or is not an
    /// `ed25519` share.
    NotHeld,
    /// The store is closed (the custodian is stopping).
    Closed,
    /// The batch could not be written.
    Io(Error),
}

/// The nonce batches of every `ed25519` share held.
pub(crate) struct NonceStore {
    dir: PathBuf,
    /// `<data>/nonces.clean`.
    marker: PathBuf,
    inner: Mutex<Inner>,
    /// Serialises the disk writers (publish, drop, persist) so that files
    /// and memory agree. Takes never wait for it.
    writer: tokio::sync::Mutex<()>,
}

impl fmt::Debug for NonceStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.lock();
        f.debug_struct("NonceStore")
            .field("dir", &self.dir)
            .field("key_versions", &inner.batches.len())
            .field("closed", &inner.closed)
            .finish_non_exhaustive()
    }
}

/// A batch file found at start.
struct Found {
    key_id: String,
    version: u64,
    seq: u64,
    path: PathBuf,
}

impl NonceStore {
    /// Loads the batches under `<data_dir>/nonces` as the module docs say:
    /// after a clean stop (marker present) the marker is deleted first and
    /// the batches of held `ed25519` shares are kept; otherwise every batch
    /// is deleted.
    ///
    /// # Errors
    ///
    /// [`Error::Read`] / [`Error::Write`] if the directory cannot be read
    /// or the marker or a batch that must go cannot be deleted (the
    /// custodian does not start rather than risk reusing a nonce).
    pub(crate) fn load(data_dir: &Path, vault: &Vault) -> Result<NonceStore, Error> {
        let dir = data_dir.join(NONCES_DIR);
        files::create_private_dir(&dir)?;
        let marker = data_dir.join(CLEAN_MARKER);
        let clean = marker.try_exists().map_err(Error::read(&marker))?;
        if clean {
            // From here on a crash leaves no marker.
            files::remove(&marker)?;
        }
        let (found, stray) = scan(&dir)?;
        for path in &stray {
            tracing::warn!(path = %path.display(), "deleting a leftover temporary nonce file");
            files::remove(path)?;
        }
        let mut batches: BTreeMap<(String, u64), Batches> = BTreeMap::new();
        if clean {
            for file in found {
                match load_batch(&file, vault) {
                    Ok(batch) => batches
                        .entry((file.key_id, file.version))
                        .or_default()
                        .insert(file.seq, batch),
                    Err(reason) => {
                        tracing::warn!(path = %file.path.display(), reason, "deleting a nonce batch");
                        files::remove(&file.path)?;
                    }
                }
            }
            for ((key_id, version), held) in &mut batches {
                for seq in held.enforce_cap() {
                    tracing::warn!(
                        key_id,
                        version,
                        seq,
                        "deleting a nonce batch beyond the cap"
                    );
                    files::remove(&batch_path(&dir, key_id, *version, seq))?;
                }
            }
        } else if !found.is_empty() {
            // Counted by file: the batches (secret nonces) are not read.
            for file in &found {
                files::remove(&file.path)?;
            }
            tracing::warn!(
                batches = found.len(),
                dir = %dir.display(),
                "the last run did not stop cleanly (no {CLEAN_MARKER} marker): dropped every published FROST nonce batch, since some may have been used; their commitments are now refused"
            );
        }
        remove_empty_dirs(&dir);
        let outstanding: usize = batches.values().map(|b| b.outstanding).sum();
        tracing::info!(
            key_versions = batches.len(),
            nonces = outstanding,
            clean,
            "loaded nonce batches"
        );
        Ok(NonceStore {
            dir,
            marker,
            inner: Mutex::new(Inner {
                closed: false,
                batches,
            }),
            writer: tokio::sync::Mutex::new(()),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Generates `count` nonce pairs for `shard` (an `ed25519` share held
    /// as `key_id`/`version`), writes the batch durably, and only then
    /// returns the commitments to publish. Drops the oldest batches beyond
    /// [`MAX_OUTSTANDING`].
    ///
    /// The batch's number is reserved before the write: dropped mid-write
    /// (the client gave up), the publish leaves at worst a file of nonces
    /// never published under a number nothing else uses.
    pub(crate) async fn publish(
        &self,
        vault: &Vault,
        key_id: &str,
        version: u64,
        shard: Arc<Held>,
        count: u16,
    ) -> Result<Vec<SigningCommitments>, PublishError> {
        let _writer = self.writer.lock().await;
        // A DELETE may have run while this request waited.
        if !vault
            .get(key_id, version)
            .is_some_and(|held| Arc::ptr_eq(&held, &shard))
        {
            return Err(PublishError::NotHeld);
        }
        let seq = {
            let mut inner = self.lock();
            if inner.closed {
                return Err(PublishError::Closed);
            }
            inner
                .batches
                .entry((key_id.to_owned(), version))
                .or_default()
                .reserve()
        };
        let key_dir = self.dir.join(key_id);
        let version_dir = key_dir.join(version.to_string());
        let path = batch_path(&self.dir, key_id, version, seq);
        let (batch, commitments) = tokio::task::spawn_blocking(move || {
            let Some(HeldShare::Ed25519 { share, .. }) = shard.threshold_share() else {
                return Err(PublishError::NotHeld);
            };
            let (batch, commitments) = NonceBatch::generate(share, count, &mut rand::rng());
            files::create_private_dir(&key_dir).map_err(PublishError::Io)?;
            files::create_private_dir(&version_dir).map_err(PublishError::Io)?;
            files::write_atomically(&path, &batch.to_bytes()).map_err(PublishError::Io)?;
            Ok((batch, commitments))
        })
        .await
        .map_err(|_| {
            PublishError::Io(Error::Task {
                task: "nonce batch write",
            })
        })??;
        let dropped = {
            let mut inner = self.lock();
            let held = inner
                .batches
                .entry((key_id.to_owned(), version))
                .or_default();
            held.insert(seq, batch);
            held.enforce_cap()
        };
        if !dropped.is_empty() {
            tracing::info!(
                key_id,
                version,
                batches = dropped.len(),
                "dropped the oldest nonce batches beyond the cap of {MAX_OUTSTANDING}"
            );
            let paths: Vec<_> = dropped
                .iter()
                .map(|&seq| batch_path(&self.dir, key_id, version, seq))
                .collect();
            // Best effort: a file left behind is deleted at the next
            // graceful stop (it is not in memory) or start.
            let _ = tokio::task::spawn_blocking(move || {
                for path in paths {
                    if let Err(e) = files::remove(&path) {
                        tracing::warn!(error = %e, "cannot delete a dropped nonce batch");
                    }
                }
            })
            .await;
        }
        Ok(commitments)
    }

    /// Removes and returns the nonces committed to by `commitments` for
    /// `key_id`/`version`; `None` if none are held (never published here,
    /// already used, dropped, or the store is closed).
    pub(crate) fn take(
        &self,
        key_id: &str,
        version: u64,
        commitments: &SigningCommitments,
    ) -> Option<SigningNonces> {
        let mut inner = self.lock();
        if inner.closed {
            return None;
        }
        let held = inner.batches.get_mut(&(key_id.to_owned(), version))?;
        held.take(commitments)
    }

    /// Drops every nonce of `key_id`/`version` (its share was deleted):
    /// memory, then files.
    ///
    /// # Errors
    ///
    /// [`Error::Write`] if the files cannot be deleted (they are also
    /// deleted at the next start, the share being gone).
    pub(crate) async fn drop_key(&self, key_id: &str, version: u64) -> Result<(), Error> {
        let _writer = self.writer.lock().await;
        if let Some(held) = self.lock().batches.get_mut(&(key_id.to_owned(), version)) {
            // Numbers stay reserved: a cancelled publish may still be
            // writing one.
            *held = Batches {
                next_seq: held.next_seq,
                ..Batches::default()
            };
        }
        let nonces_dir = self.dir.clone();
        let key_dir = self.dir.join(key_id);
        let version_dir = key_dir.join(version.to_string());
        tokio::task::spawn_blocking(move || {
            match std::fs::remove_dir_all(&version_dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
                Err(source) => {
                    return Err(Error::Write {
                        path: version_dir,
                        source,
                    });
                }
            }
            // Drop the key directory once empty; failure (not empty) is fine.
            if std::fs::remove_dir(&key_dir).is_err() {
                files::sync_dir(&key_dir)?;
            }
            files::sync_dir(&nonces_dir)
        })
        .await
        .map_err(|_| Error::Task {
            task: "nonce delete",
        })?
    }

    /// The graceful stop: closes the store (nothing is taken or published
    /// after), rewrites every batch taken from with the nonces left,
    /// deletes the files of batches no longer held (emptied, dropped, or
    /// orphaned by a cancelled publish), then writes the `nonces.clean`
    /// marker. Blocking (it waits for a publish in
    /// flight): run it off the async workers.
    ///
    /// # Errors
    ///
    /// [`Error::Read`] / [`Error::Write`]; then no marker is written and
    /// the next start drops every batch.
    pub(crate) fn persist(&self) -> Result<usize, Error> {
        let _writer = self.writer.blocking_lock();
        let batches = {
            let mut inner = self.lock();
            inner.closed = true;
            std::mem::take(&mut inner.batches)
        };
        let mut kept = 0;
        for ((key_id, version), held) in &batches {
            for (&seq, batch) in &held.held {
                if held.dirty.contains(&seq) {
                    files::write_atomically(
                        &batch_path(&self.dir, key_id, *version, seq),
                        &batch.to_bytes(),
                    )?;
                }
                kept += batch.len();
            }
        }
        let (found, stray) = scan(&self.dir)?;
        for file in found {
            let live = batches
                .get(&(file.key_id, file.version))
                .is_some_and(|held| held.held.contains_key(&file.seq));
            if !live {
                files::remove(&file.path)?;
            }
        }
        for path in stray {
            files::remove(&path)?;
        }
        remove_empty_dirs(&self.dir);
        files::write_atomically(&self.marker, b"")?;
        tracing::info!(nonces = kept, "saved the unused nonce batches");
        Ok(kept)
    }
}

fn batch_path(dir: &Path, key_id: &str, version: u64, seq: u64) -> PathBuf {
    dir.join(key_id)
        .join(version.to_string())
        .join(format!("{seq}.{BATCH_EXTENSION}"))
}

/// Decodes one batch found at start; the reason it must go otherwise.
fn load_batch(file: &Found, vault: &Vault) -> Result<NonceBatch, &'static str> {
    if !vault
        .get(&file.key_id, file.version)
        .is_some_and(|held| held.kind() == KeyKind::Ed25519)
    {
        return Err("no ed25519 share is held for its key version");
    }
    let bytes = files::read_secret(&file.path)
        .ok()
        .flatten()
        .ok_or("unreadable")?;
    let batch = NonceBatch::from_bytes(&bytes).map_err(|_| "malformed")?;
    if batch.is_empty() {
        return Err("empty");
    }
    Ok(batch)
}

/// Every `<key_id>/<version>/<seq>.batch` file under `dir`, and the hidden
/// (temporary) files next to them. Other entries are logged and left.
fn scan(dir: &Path) -> Result<(Vec<Found>, Vec<PathBuf>), Error> {
    let mut found = Vec::new();
    let mut stray = Vec::new();
    for key_entry in files::read_dir(dir)? {
        let key_path = key_entry.path();
        let name = key_entry.file_name();
        let Some(key_id) = name.to_str() else {
            tracing::warn!(path = %key_path.display(), "skipping: name is not UTF-8");
            continue;
        };
        if key_id.starts_with('.') && key_path.is_file() {
            stray.push(key_path);
            continue;
        }
        if !key_path.is_dir() || symbolon_proto::validate_name("key id", key_id).is_err() {
            tracing::warn!(path = %key_path.display(), "skipping: not a key directory");
            continue;
        }
        for version_entry in files::read_dir(&key_path)? {
            let version_path = version_entry.path();
            let version = version_entry
                .file_name()
                .to_str()
                .and_then(files::parse_canonical_u64)
                .filter(|_| version_path.is_dir());
            let Some(version) = version else {
                tracing::warn!(path = %version_path.display(), "skipping: not a version directory");
                continue;
            };
            for entry in files::read_dir(&version_path)? {
                let path = entry.path();
                let name = entry.file_name();
                let name = name.to_str().unwrap_or_default();
                if name.starts_with('.') && path.is_file() {
                    stray.push(path);
                } else if let Some(seq) = files::parse_numbered(name, BATCH_EXTENSION) {
                    found.push(Found {
                        key_id: key_id.to_owned(),
                        version,
                        seq,
                        path,
                    });
                } else {
                    tracing::warn!(path = %path.display(), "skipping: not named <seq>.batch");
                }
            }
        }
    }
    Ok((found, stray))
}

/// Removes the empty key and version directories under `dir` (best effort:
/// an empty directory is harmless).
fn remove_empty_dirs(dir: &Path) {
    let Ok(keys) = std::fs::read_dir(dir) else {
        return;
    };
    for key in keys.flatten() {
        let key_path = key.path();
        if !key_path.is_dir() {
            continue;
        }
        if let Ok(versions) = std::fs::read_dir(&key_path) {
            for version in versions.flatten() {
                let _ = std::fs::remove_dir(version.path());
            }
        }
        let _ = std::fs::remove_dir(&key_path);
    }
    let _ = files::sync_dir(dir);
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::future::Future as _;
    use std::task::Poll;
    use std::time::{Duration, Instant};

    use symbolon_envelope::{Identity, Metadata, Scheme};
    use symbolon_threshold::ed25519;

    use crate::vault::Held;

    #[test]
    fn paths() {
        assert_eq!(
            batch_path(Path::new("/d"), "k", 3, 9),
            Path::new("/d/k/3/9.batch")
        );
    }

    /// The running count of unused nonces is the sum over the batches, through
    /// inserts, takes and the cap.
    #[test]
    fn the_outstanding_count_follows_the_batches() {
        let mut rng = rand::rng();
        let (_, dealt) = ed25519::deal(2, 3, &mut rng).unwrap();
        let share = ed25519::KeyShare::from_dealt(&dealt[0].to_bytes()).unwrap();
        let sum = |b: &Batches| b.held.values().map(NonceBatch::len).sum::<usize>();
        let mut batches = Batches::default();
        let per = usize::from(symbolon_proto::custodian::MAX_NONCES_PER_REQUEST);
        let mut first = Vec::new();
        for i in 0..=MAX_OUTSTANDING / per {
            let seq = batches.reserve();
            let count = symbolon_proto::custodian::MAX_NONCES_PER_REQUEST;
            let (batch, commitments) = NonceBatch::generate(&share, count, &mut rng);
            if i == 0 {
                first = commitments;
            }
            batches.insert(seq, batch);
            assert_eq!(batches.outstanding, sum(&batches));
        }
        assert!(batches.outstanding > MAX_OUTSTANDING);
        assert!(batches.take(&first[0]).is_some());
        assert!(batches.take(&first[0]).is_none());
        assert_eq!(batches.outstanding, sum(&batches));
        assert_eq!(batches.enforce_cap(), [0]);
        assert_eq!(batches.outstanding, sum(&batches));
        assert!(batches.outstanding <= MAX_OUTSTANDING);
    }

    /// A vault holding (in memory) share 1 of a 2-of-3 `ed25519` key as
    /// `k` version 1, and a nonce store next to it.
    fn setup(data_dir: &Path) -> (Vault, Arc<Held>, NonceStore) {
        let mut rng = rand::rng();
        let identity = Identity::generate(&mut rng);
        let vault = Vault::load(data_dir, None, &identity, "c1").unwrap();
        let (group, dealt) = ed25519::deal(2, 3, &mut rng).unwrap();
        let share = ed25519::KeyShare::from_dealt(&dealt[0].to_bytes()).unwrap();
        let metadata = Metadata {
            split_id: [0; 16],
            key_id: "k".to_owned(),
            epoch: 1,
            scheme: Scheme::FrostEd25519,
            index: 1,
            threshold: 2,
            shares: 3,
            recipient: None,
            created_at: 0,
            expires_at: None,
            commitment: [0; 32],
            label: String::new(),
        };
        let shard = vault.hold(Held::own(
            b"shard",
            metadata,
            HeldShare::Ed25519 { share, group },
        ));
        let store = NonceStore::load(data_dir, &vault).unwrap();
        (vault, shard, store)
    }

    fn batch_file(data_dir: &Path, seq: u64) -> PathBuf {
        batch_path(&data_dir.join(NONCES_DIR), "k", 1, seq)
    }

    /// A publish dropped while its batch is being written (the client gave
    /// up) must not let the next publish reuse its number: the orphaned
    /// write would land on the live batch's file.
    #[tokio::test]
    async fn a_cancelled_publish_keeps_its_batch_number() {
        let dir = tempfile::tempdir().unwrap();
        let (vault, shard, store) = setup(dir.path());
        let mut cancelled = Box::pin(store.publish(&vault, "k", 1, Arc::clone(&shard), 1));
        // One poll: the write is under way on the blocking pool.
        let pending =
            std::future::poll_fn(|cx| Poll::Ready(cancelled.as_mut().poll(cx).is_pending())).await;
        assert!(pending);
        drop(cancelled);
        // The orphaned write completes on its own.
        let deadline = Instant::now() + Duration::from_secs(10);
        while !batch_file(dir.path(), 0).exists() {
            assert!(Instant::now() < deadline, "the orphaned write never landed");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let orphan = std::fs::read(batch_file(dir.path(), 0)).unwrap();

        let published = store.publish(&vault, "k", 1, shard, 2).await.unwrap();
        let live =
            NonceBatch::from_bytes(&std::fs::read(batch_file(dir.path(), 1)).unwrap()).unwrap();
        assert_eq!(live.commitments(), published);
        assert_eq!(std::fs::read(batch_file(dir.path(), 0)).unwrap(), orphan);

        // A graceful stop deletes the orphan (not held) and keeps the live
        // batch; the next start loads it.
        let store = Arc::new(store);
        let persisting = Arc::clone(&store);
        let kept = tokio::task::spawn_blocking(move || persisting.persist())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(kept, 2);
        assert!(!batch_file(dir.path(), 0).exists());
        assert!(batch_file(dir.path(), 1).exists());
        let reloaded = NonceStore::load(dir.path(), &vault).unwrap();
        assert!(reloaded.take("k", 1, &published[0]).is_some());
    }
}
