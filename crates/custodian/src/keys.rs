//! The custodian's long-term keys and the coordinator key it pins.
//!
//! * `identity.key`: an armored [`Identity`] (`SYMBOLON IDENTITY`); its
//!   X25519 key receives shards (HPKE, RFC 9180), its recipient string is
//!   sent at registration.
//! * `attestation.key`: the Ed25519 (RFC 8032) key that signs heartbeats.
//!   37 bytes: magic `SYMA`, version `1`, the 32-byte seed.
//! * `coordinator.recipient`: the coordinator's recipient string
//!   (`symbolon1…`, bech32m), pinned at the first successful registration;
//!   only shards signed by its Ed25519 key are accepted.
//!
//! The two key files are created on first start (mode 0600, atomically) and
//! never overwritten: a malformed one stops the custodian with an error
//! naming it.

use std::fmt;
use std::path::{Path, PathBuf};

use ed25519_dalek::SigningKey;
use rand::Rng as _;
use symbolon_envelope::{Identity, Recipient};
use zeroize::Zeroizing;

use crate::{Error, files};

/// File name of the HPKE/dealer identity in the data directory.
pub(crate) const IDENTITY_FILE: &str = "identity.key";
/// File name of the heartbeat-signing key in the data directory.
pub(crate) const ATTESTATION_FILE: &str = "attestation.key";
/// File name of the pinned coordinator recipient in the data directory.
pub(crate) const COORDINATOR_FILE: &str = "coordinator.recipient";

const ATTESTATION_MAGIC: [u8; 4] = *b"SYMA";
const ATTESTATION_VERSION: u8 = 1;
const ATTESTATION_LEN: usize = 4 + 1 + 32;

/// The Ed25519 key that signs heartbeats.
///
/// # Security
///
/// Wiped on drop (the inner `SigningKey` zeroizes itself); `Debug` shows the
/// public half only.
pub(crate) struct AttestationKey(SigningKey);

impl fmt::Debug for AttestationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AttestationKey")
            .field("public", &hex::encode(self.public()))
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl AttestationKey {
    /// The Ed25519 verifying key, as sent at registration.
    pub(crate) fn public(&self) -> [u8; 32] {
        self.0.verifying_key().to_bytes()
    }

    /// The signing key itself.
    pub(crate) fn expose_secret(&self) -> &SigningKey {
        &self.0
    }

    fn encode(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(ATTESTATION_LEN));
        out.extend_from_slice(&ATTESTATION_MAGIC);
        out.push(ATTESTATION_VERSION);
        out.extend_from_slice(self.0.as_bytes());
        out
    }

    fn decode(bytes: &[u8]) -> Result<Self, &'static str> {
        if bytes.len() != ATTESTATION_LEN {
            return Err("wrong length (expected 37 bytes: SYMA, version 1, 32-byte seed)");
        }
        let (magic, rest) = bytes.split_at_checked(4).ok_or("truncated")?;
        if magic != ATTESTATION_MAGIC {
            return Err("not an attestation key (bad magic bytes)");
        }
        let (version, seed) = rest.split_first().ok_or("truncated")?;
        if *version != ATTESTATION_VERSION {
            return Err("unsupported attestation key version (this build reads version 1)");
        }
        let seed: &[u8; 32] = seed.try_into().map_err(|_| "truncated")?;
        Ok(Self(SigningKey::from_bytes(seed)))
    }
}

/// The custodian's own keys.
pub(crate) struct Keys {
    /// Receives shards; its recipient is registered with the coordinator.
    pub(crate) identity: Identity,
    /// Signs heartbeats.
    pub(crate) attestation: AttestationKey,
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keys")
            .field("identity", &self.identity)
            .field("attestation", &self.attestation)
            .finish()
    }
}

impl Keys {
    /// Loads both keys from `data_dir`, creating whichever is missing.
    pub(crate) fn load_or_create(data_dir: &Path) -> Result<Keys, Error> {
        let identity_path = data_dir.join(IDENTITY_FILE);
        let identity = match files::read_secret(&identity_path)? {
            Some(bytes) => {
                let text = std::str::from_utf8(&bytes).map_err(|_| Error::BadFile {
                    path: identity_path.clone(),
                    reason: "not UTF-8 text (expected an armored SYMBOLON IDENTITY)",
                })?;
                Identity::from_armored(text).map_err(|source| Error::BadIdentity {
                    path: identity_path.clone(),
                    source,
                })?
            }
            None => {
                let identity = Identity::generate(&mut rand::rng());
                files::write_atomically(&identity_path, identity.to_armored().as_bytes())?;
                tracing::info!(path = %identity_path.display(), recipient = %identity.recipient(), "created a new identity");
                identity
            }
        };

        let attestation_path = data_dir.join(ATTESTATION_FILE);
        let attestation = match files::read_secret(&attestation_path)? {
            Some(bytes) => AttestationKey::decode(&bytes).map_err(|reason| Error::BadFile {
                path: attestation_path.clone(),
                reason,
            })?,
            None => {
                let mut seed = Zeroizing::new([0u8; 32]);
                rand::rng().fill_bytes(&mut *seed);
                let key = AttestationKey(SigningKey::from_bytes(&seed));
                files::write_atomically(&attestation_path, &key.encode())?;
                tracing::info!(path = %attestation_path.display(), public = %hex::encode(key.public()), "created a new attestation key");
                key
            }
        };
        Ok(Keys {
            identity,
            attestation,
        })
    }
}

/// Reads the pinned coordinator recipient, if one was pinned.
pub(crate) fn load_pinned(data_dir: &Path) -> Result<Option<Recipient>, Error> {
    let path = pinned_path(data_dir);
    let Some(bytes) = files::read_optional(&path)? else {
        return Ok(None);
    };
    let text = String::from_utf8_lossy(&bytes);
    text.trim()
        .parse::<Recipient>()
        .map(Some)
        .map_err(|source| Error::BadPinnedCoordinator { path, source })
}

/// Pins `recipient` as the coordinator (atomically).
pub(crate) fn store_pinned(data_dir: &Path, recipient: &Recipient) -> Result<(), Error> {
    files::write_atomically(&pinned_path(data_dir), format!("{recipient}\n").as_bytes())
}

fn pinned_path(data_dir: &Path) -> PathBuf {
    data_dir.join(COORDINATOR_FILE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attestation_key_file_format() {
        // Known answer: the seed 0x07 repeated.
        let mut file = b"SYMA\x01".to_vec();
        file.extend_from_slice(&[7; 32]);
        let key = AttestationKey::decode(&file).unwrap();
        assert_eq!(&*key.encode(), &file[..]);
        assert_eq!(
            key.public(),
            SigningKey::from_bytes(&[7; 32]).verifying_key().to_bytes()
        );
        assert!(!format!("{key:?}").contains(&hex::encode([7u8; 32])));

        let mut bad_version = file.clone();
        bad_version[4] = 2;
        assert!(AttestationKey::decode(&bad_version).is_err());
        let mut bad_magic = file.clone();
        bad_magic[0] = b'X';
        assert!(AttestationKey::decode(&bad_magic).is_err());
        assert!(AttestationKey::decode(&file[..36]).is_err());
    }

    #[test]
    fn keys_are_created_once_and_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let first = Keys::load_or_create(dir.path()).unwrap();
        let second = Keys::load_or_create(dir.path()).unwrap();
        assert_eq!(first.identity.recipient(), second.identity.recipient());
        assert_eq!(first.attestation.public(), second.attestation.public());

        std::fs::write(dir.path().join(ATTESTATION_FILE), b"junk").unwrap();
        let err = Keys::load_or_create(dir.path()).unwrap_err();
        assert!(err.to_string().contains(ATTESTATION_FILE), "{err}");
        std::fs::write(dir.path().join(IDENTITY_FILE), b"junk").unwrap();
        let err = Keys::load_or_create(dir.path()).unwrap_err();
        assert!(err.to_string().contains(IDENTITY_FILE), "{err}");
    }

    #[test]
    fn pinned_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load_pinned(dir.path()).unwrap(), None);
        let recipient = Identity::generate(&mut rand::rng()).recipient();
        store_pinned(dir.path(), &recipient).unwrap();
        assert_eq!(load_pinned(dir.path()).unwrap(), Some(recipient));
        std::fs::write(dir.path().join(COORDINATOR_FILE), "symbolon1nope").unwrap();
        assert!(matches!(
            load_pinned(dir.path()),
            Err(Error::BadPinnedCoordinator { .. })
        ));
    }
}
