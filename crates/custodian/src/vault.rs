//! The shards a custodian holds: verified on arrival, stored as the exact
//! signed, sealed envelope bytes, and kept opened in memory for release or
//! for partial results.
//!
//! On disk: `shares/<key_id>/<version>.sym`, the binary envelope as
//! received, written atomically. In memory: for each (key id, version) the
//! share index, the signed metadata, the BLAKE3 digest of the stored bytes
//! and the opened share — so a release or a partial result touches neither
//! the disk nor the envelope crypto. The opened share is, by the
//! envelope's scheme:
//!
//! * `shamir-gf256`, `ssms` (key kind `secret`): the verified plaintext
//!   `blinding ‖ share`, in a wiping buffer, released sealed on request;
//! * `frost-ed25519` (kind `ed25519`) and `feldman-ristretto255` (kind
//!   `ristretto255`): the verified threshold key share and its group
//!   ([`HeldShare`]), which never leaves the custodian.
//!
//! An envelope is accepted only if, in this order: it decodes; its signer is
//! the pinned coordinator's Ed25519 key — or, for a threshold scheme only,
//! this custodian's own identity key (a share it derived in a distributed
//! key generation and sealed to itself, see `crate::dkg`); the signature
//! verifies; it is
//! sealed to this custodian (recipient fingerprint and id); its key id and
//! epoch are the ones in the request path; it has not expired; it opens
//! (HPKE, then the share commitment of hash-committed schemes); and, for a
//! threshold scheme, its plaintext is a share package that passes
//! [`symbolon_proto::scalar::open_package`] against the signed metadata
//! (the group is consistent, the share lies on the dealer's Feldman
//! commitment, index and threshold are the metadata's, and the group is
//! the one `metadata.commitment` commits to) whose maker matches the
//! signer ([`scalar::Origin`]): a dealer's package (version 1) signed by the
//! coordinator, a DKG package (version 2) signed by this custodian itself —
//! the other way round is a bad share package.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

use symbolon_envelope::{Envelope, Identity, Metadata, Recipient};
use symbolon_proto::api::KeyKind;
use symbolon_proto::custodian::ShareDigest;
use symbolon_proto::scalar::{self, HeldShare, Origin};
use zeroize::Zeroizing;

use crate::{Error, files};

/// The shard directory inside the data directory.
pub(crate) const SHARES_DIR: &str = "shares";
/// The file extension of stored shards.
const SHARD_EXTENSION: &str = "sym";

/// Why a shard was refused. Each variant is one check of the module docs.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// The bytes are not an envelope (or it does not decrypt).
    BadEnvelope(symbolon_envelope::Error),
    /// Signed by neither the pinned coordinator nor (a threshold share
    /// only) this custodian itself.
    WrongSigner {
        /// The signer named in the envelope.
        found: [u8; 32],
    },
    /// The signature does not verify.
    BadSignature,
    /// Not sealed to this custodian.
    NotRecipient {
        /// Which part of the recipient check failed.
        reason: &'static str,
    },
    /// The metadata names another key or version than the path.
    KeyMismatch {
        /// `key_id` or `version`.
        field: &'static str,
        /// What the envelope says.
        found: String,
        /// What the path says.
        expected: String,
    },
    /// The shard has expired.
    Expired {
        /// Its `expires_at`, Unix seconds.
        expires_at: u64,
        /// Now, Unix seconds.
        now: u64,
    },
    /// The opened share does not match its commitment.
    CommitmentMismatch,
    /// A threshold shard's plaintext is not a share package that checks
    /// out against the signed metadata.
    BadSharePackage(symbolon_proto::Error),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadEnvelope(e) => write!(f, "not a valid shard envelope: {e}"),
            Self::WrongSigner { found } => write!(
                f,
                "the shard is signed by {}, not by the pinned coordinator key",
                hex::encode(found)
            ),
            Self::BadSignature => {
                f.write_str("the shard's signature does not verify: it was altered after signing")
            }
            Self::NotRecipient { reason } => {
                write!(f, "the shard is not for this custodian: {reason}")
            }
            Self::KeyMismatch {
                field,
                found,
                expected,
            } => write!(
                f,
                "the shard's metadata names {field} {found:?} but the request path names {expected:?}"
            ),
            Self::Expired { expires_at, now } => write!(
                f,
                "the shard expired at {expires_at} (Unix seconds); it is now {now}"
            ),
            Self::CommitmentMismatch => {
                f.write_str("the decrypted share does not match the commitment in its metadata")
            }
            Self::BadSharePackage(e) => write!(f, "the threshold share package is refused: {e}"),
        }
    }
}

/// A verified shard, opened.
pub(crate) struct Held {
    /// The share index.
    pub(crate) index: u16,
    /// The signed metadata.
    pub(crate) metadata: Metadata,
    /// BLAKE3 of the stored envelope bytes.
    pub(crate) digest: [u8; 32],
    /// The opened share.
    opened: Opened,
}

/// What a verified shard holds, by key kind.
enum Opened {
    /// A `secret` key's `blinding ‖ share`, as `Envelope::open_plaintext`
    /// returns it.
    Secret(Zeroizing<Vec<u8>>),
    /// A threshold key share and its group (wiped on drop by the threshold
    /// crate; boxed, the group being large).
    Threshold(Box<HeldShare>),
}

impl fmt::Debug for Held {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Held")
            .field("key_id", &self.metadata.key_id)
            .field("version", &self.metadata.epoch)
            .field("kind", &self.kind())
            .field("index", &self.index)
            .field("digest", &hex::encode(self.digest))
            .field("share", &"<redacted>")
            .finish()
    }
}

impl Held {
    /// The key kind the shard is a share of.
    pub(crate) fn kind(&self) -> KeyKind {
        match &self.opened {
            Opened::Secret(_) => KeyKind::Secret,
            Opened::Threshold(share) => share.kind(),
        }
    }

    /// The verified plaintext `blinding ‖ share` of a `secret` key's shard;
    /// `None` for a threshold key share, which is never released.
    pub(crate) fn expose_secret(&self) -> Option<&[u8]> {
        match &self.opened {
            Opened::Secret(plaintext) => Some(plaintext),
            Opened::Threshold(_) => None,
        }
    }

    /// The threshold key share, for a shard of an `ed25519` or
    /// `ristretto255` key.
    pub(crate) fn threshold_share(&self) -> Option<&HeldShare> {
        match &self.opened {
            Opened::Secret(_) => None,
            Opened::Threshold(share) => Some(share),
        }
    }

    /// A threshold share this custodian derived itself (a DKG) and sealed
    /// to itself as `bytes` under `metadata`: made from the values it
    /// sealed, without opening the envelope again.
    pub(crate) fn own(bytes: &[u8], metadata: Metadata, share: HeldShare) -> Held {
        Held {
            index: metadata.index,
            metadata,
            digest: *blake3::hash(bytes).as_bytes(),
            opened: Opened::Threshold(Box::new(share)),
        }
    }

    fn share_digest(&self) -> ShareDigest {
        ShareDigest {
            key_id: self.metadata.key_id.clone(),
            version: self.metadata.epoch,
            index: self.index,
            digest: self.digest,
        }
    }
}

/// What a shard must be, besides well-formed and correctly signed.
pub(crate) struct Expected<'a> {
    /// The pinned coordinator (its Ed25519 key must be the signer of every
    /// shard but a threshold share this custodian derived itself); `None`
    /// when none is pinned yet (then only those are accepted).
    pub(crate) coordinator: Option<&'a Recipient>,
    /// This custodian's identity (the shard must be sealed to it; its own
    /// DKG shares are signed by it).
    pub(crate) identity: &'a Identity,
    /// This custodian's id (the recipient id in the metadata).
    pub(crate) custodian_id: &'a str,
    /// The key id from the path.
    pub(crate) key_id: &'a str,
    /// The version from the path.
    pub(crate) version: u64,
    /// Now, Unix seconds, if expiry is to be checked.
    pub(crate) now: Option<u64>,
}

/// Runs every check of the module docs on `bytes`, in order, and opens the
/// shard.
pub(crate) fn verify(bytes: &[u8], expected: &Expected<'_>) -> Result<Held, Refusal> {
    let envelope = Envelope::decode(bytes).map_err(Refusal::BadEnvelope)?;
    let signer = envelope.signer();
    // `None` for a scheme this custodian does not know: refused below (it
    // fails closed rather than hold an unknown share as opaque bytes).
    let kind = scalar::kind(envelope.metadata().scheme);
    let origin = if expected
        .coordinator
        .is_some_and(|c| c.signing_key_bytes() == signer)
    {
        Origin::Dealer
    } else if signer == expected.identity.recipient().signing_key_bytes()
        && kind.is_some_and(|k| k != KeyKind::Secret)
    {
        // Only a threshold share can come from this custodian itself (the
        // DKG's output); `open_package` checks that it is a DKG package.
        Origin::Dkg
    } else {
        return Err(Refusal::WrongSigner { found: signer });
    };
    envelope
        .verify_signature()
        .map_err(|_| Refusal::BadSignature)?;
    let metadata = envelope.metadata();
    let Some(recipient) = &metadata.recipient else {
        return Err(Refusal::NotRecipient {
            reason: "it is not sealed to anyone (a clear shard)",
        });
    };
    if recipient.fingerprint != expected.identity.recipient().fingerprint() {
        return Err(Refusal::NotRecipient {
            reason: "it is sealed to another recipient key",
        });
    }
    if recipient.id != expected.custodian_id {
        return Err(Refusal::NotRecipient {
            reason: "its metadata names another custodian id",
        });
    }
    if metadata.key_id != expected.key_id {
        return Err(Refusal::KeyMismatch {
            field: "key_id",
            found: metadata.key_id.clone(),
            expected: expected.key_id.to_owned(),
        });
    }
    if metadata.epoch != expected.version {
        return Err(Refusal::KeyMismatch {
            field: "version",
            found: metadata.epoch.to_string(),
            expected: expected.version.to_string(),
        });
    }
    if let Some(now) = expected.now
        && let Some(expires_at) = metadata.expires_at
        && now >= expires_at
    {
        return Err(Refusal::Expired { expires_at, now });
    }
    let kind = kind.ok_or(Refusal::BadEnvelope(
        symbolon_envelope::Error::UnknownScheme {
            code: metadata.scheme.code(),
        },
    ))?;
    let plaintext = envelope
        .open_plaintext(Some(expected.identity))
        .map_err(|e| match e {
            symbolon_envelope::Error::CommitmentMismatch => Refusal::CommitmentMismatch,
            symbolon_envelope::Error::BadSignature => Refusal::BadSignature,
            symbolon_envelope::Error::NotRecipient => Refusal::NotRecipient {
                reason: "it is sealed to another recipient key",
            },
            other => Refusal::BadEnvelope(other),
        })?;
    let opened = if kind == KeyKind::Secret {
        Opened::Secret(plaintext)
    } else {
        // `origin` makes `open_package` refuse a package of the other
        // maker: a DKG's (version 2) signed by the coordinator, or a
        // dealer's (version 1) signed by this custodian itself.
        let expected = scalar::Expected {
            kind,
            index: metadata.index,
            threshold: metadata.threshold,
            commitment: &metadata.commitment,
            origin,
        };
        let held = scalar::open_package(&plaintext, &expected).map_err(Refusal::BadSharePackage)?;
        // `plaintext` (the package) is wiped when it drops here.
        Opened::Threshold(Box::new(held))
    };
    Ok(Held {
        index: metadata.index,
        metadata: metadata.clone(),
        digest: *blake3::hash(bytes).as_bytes(),
        opened,
    })
}

/// Now, Unix seconds.
pub(crate) fn unix_now() -> u64 {
    unix_now_ms() / 1000
}

/// Now, Unix milliseconds.
pub(crate) fn unix_now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// What storing a shard did.
#[derive(Debug)]
pub(crate) enum Stored {
    /// Newly written.
    New(Arc<Held>),
    /// The identical bytes were already held.
    Again(Arc<Held>),
}

/// Why storing failed.
#[derive(Debug)]
pub(crate) enum StoreError {
    /// A different shard is held for that key and version.
    Conflict {
        /// The digest of the shard held.
        held: [u8; 32],
    },
    /// Writing failed.
    Io(Error),
}

/// The held shards: a map for release and heartbeats, files for restarts.
pub(crate) struct Vault {
    dir: PathBuf,
    held: RwLock<BTreeMap<(String, u64), Arc<Held>>>,
    /// Serialises writers (PUT and DELETE) so that the file and the map
    /// always agree. Readers never take it.
    writer: tokio::sync::Mutex<()>,
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vault")
            .field("dir", &self.dir)
            .field("shards", &self.len())
            .finish()
    }
}

impl Vault {
    /// Loads every shard under `data_dir/shares`, verifying each again. A
    /// bad file is logged with its path and reason and left in place;
    /// loading goes on.
    pub(crate) fn load(
        data_dir: &Path,
        coordinator: Option<&Recipient>,
        identity: &Identity,
        custodian_id: &str,
    ) -> Result<Vault, Error> {
        let dir = data_dir.join(SHARES_DIR);
        files::create_private_dir(&dir)?;
        let mut held = BTreeMap::new();
        for key_entry in files::read_dir(&dir)? {
            let key_dir = key_entry.path();
            let Some(key_id) = visible_name(&key_entry) else {
                continue;
            };
            if !key_dir.is_dir() {
                tracing::warn!(path = %key_dir.display(), "skipping: not a key directory");
                continue;
            }
            if let Err(e) = symbolon_proto::validate_name("key id", &key_id) {
                tracing::warn!(path = %key_dir.display(), reason = %e, "skipping: not a key directory");
                continue;
            }
            for entry in files::read_dir(&key_dir)? {
                let path = entry.path();
                let Some(name) = visible_name(&entry) else {
                    continue;
                };
                let Some(version) = files::parse_numbered(&name, SHARD_EXTENSION) else {
                    tracing::warn!(path = %path.display(), "skipping: not named <version>.sym");
                    continue;
                };
                let bytes = match std::fs::read(&path) {
                    Ok(bytes) => bytes,
                    Err(e) => {
                        tracing::error!(path = %path.display(), error = %e, "skipping unreadable shard");
                        continue;
                    }
                };
                // Without a pinned coordinator only this custodian's own
                // DKG shares verify; the others are logged and left.
                let expected = Expected {
                    coordinator,
                    identity,
                    custodian_id,
                    key_id: &key_id,
                    version,
                    now: None,
                };
                match verify(&bytes, &expected) {
                    Ok(shard) => {
                        tracing::debug!(path = %path.display(), index = shard.index, "loaded shard");
                        held.insert((key_id.clone(), version), Arc::new(shard));
                    }
                    Err(Refusal::WrongSigner { .. }) if coordinator.is_none() => {
                        tracing::error!(path = %path.display(), "skipping shard: no coordinator key is pinned to check its signer against");
                    }
                    Err(refusal) => {
                        tracing::error!(path = %path.display(), reason = %refusal, "skipping shard that fails verification (left in place)");
                    }
                }
            }
        }
        tracing::info!(shards = held.len(), dir = %dir.display(), "loaded shards");
        Ok(Vault {
            dir,
            held: RwLock::new(held),
            writer: tokio::sync::Mutex::new(()),
        })
    }

    /// The shard held for `key_id`/`version`, if any. Takes the read lock
    /// only for the lookup.
    pub(crate) fn get(&self, key_id: &str, version: u64) -> Option<Arc<Held>> {
        self.held
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&(key_id.to_owned(), version))
            .cloned()
    }

    /// How many shards are held.
    pub(crate) fn len(&self) -> usize {
        self.held
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// The digest of every held shard, ordered by key id and version.
    pub(crate) fn digests(&self) -> Vec<ShareDigest> {
        self.held
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .map(|h| h.share_digest())
            .collect()
    }

    /// Holds `shard` in memory only (unit tests of what builds on the
    /// vault).
    #[cfg(test)]
    pub(crate) fn hold(&self, shard: Held) -> Arc<Held> {
        let shard = Arc::new(shard);
        self.held
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(
                (shard.metadata.key_id.clone(), shard.metadata.epoch),
                Arc::clone(&shard),
            );
        shard
    }

    /// Stores a verified shard (`bytes` are its envelope as received):
    /// idempotent for identical bytes, refused for different ones.
    ///
    /// Not cancellation-safe: dropped between the write and the update of
    /// memory, it leaves a file the map does not hold. Callers run it on a
    /// task of its own (`crate::state::to_completion`).
    pub(crate) async fn store(
        &self,
        key_id: &str,
        version: u64,
        bytes: axum::body::Bytes,
        shard: Held,
    ) -> Result<Stored, StoreError> {
        let _writer = self.writer.lock().await;
        if let Some(existing) = self.get(key_id, version) {
            return if existing.digest == shard.digest {
                Ok(Stored::Again(existing))
            } else {
                Err(StoreError::Conflict {
                    held: existing.digest,
                })
            };
        }
        let key_dir = self.dir.join(key_id);
        let path = shard_path(&self.dir, key_id, version);
        tokio::task::spawn_blocking(move || {
            files::create_private_dir(&key_dir)?;
            files::write_atomically(&path, &bytes)
        })
        .await
        .map_err(|_| {
            StoreError::Io(Error::Task {
                task: "shard write",
            })
        })?
        .map_err(StoreError::Io)?;
        let shard = Arc::new(shard);
        self.held
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert((key_id.to_owned(), version), Arc::clone(&shard));
        Ok(Stored::New(shard))
    }

    /// Deletes the shard for `key_id`/`version` (file and memory) — when
    /// `only` is given, only if it is the one whose stored bytes have that
    /// BLAKE3 digest (a share a failed DKG stored, not one stored since);
    /// `false` if no such shard was held.
    ///
    /// Not cancellation-safe either (the file goes before the memory): run
    /// it on a task of its own.
    pub(crate) async fn delete(
        &self,
        key_id: &str,
        version: u64,
        only: Option<[u8; 32]>,
    ) -> Result<bool, Error> {
        let _writer = self.writer.lock().await;
        if let Some(digest) = only
            && self
                .get(key_id, version)
                .is_none_or(|held| held.digest != digest)
        {
            return Ok(false);
        }
        let path = shard_path(&self.dir, key_id, version);
        let key_dir = self.dir.join(key_id);
        tokio::task::spawn_blocking(move || {
            files::remove(&path)?;
            // Drop the key directory once empty; failure (not empty) is fine.
            let _ = std::fs::remove_dir(&key_dir);
            Ok::<(), Error>(())
        })
        .await
        .map_err(|_| Error::Task {
            task: "shard delete",
        })??;
        let removed = self
            .held
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&(key_id.to_owned(), version));
        Ok(removed.is_some())
    }
}

fn shard_path(dir: &Path, key_id: &str, version: u64) -> PathBuf {
    dir.join(key_id)
        .join(format!("{version}.{SHARD_EXTENSION}"))
}

/// The entry's name, unless it is hidden (temporary files start with a dot)
/// or not UTF-8 (logged).
fn visible_name(entry: &std::fs::DirEntry) -> Option<String> {
    match entry.file_name().into_string() {
        Ok(name) if name.starts_with('.') => None,
        Ok(name) => Some(name),
        Err(_) => {
            tracing::warn!(path = %entry.path().display(), "skipping: name is not UTF-8");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every scheme maps to a key kind, so no shard is ever held as opaque
    /// bytes of an unknown kind.
    #[test]
    fn every_scheme_has_a_kind() {
        for scheme in symbolon_envelope::Scheme::ALL {
            assert!(scalar::kind(scheme).is_some(), "{scheme:?}");
        }
    }
}
