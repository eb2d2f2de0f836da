//! What a custodian is dealt for a threshold key (kinds `ed25519` and
//! `ristretto255`), and how it checks it before acknowledging.
//!
//! The coordinator, as trusted dealer, seals to each custodian a shard
//! envelope (scheme `frost-ed25519` or `feldman-ristretto255`) whose
//! plaintext is a *share package*:
//!
//! ```text
//! magic      4 bytes  "SYSK"
//! version    1 byte   1
//! group_len  4 bytes  big-endian length of `group`
//! group      the group's public side: the group key, the threshold and
//!            every participant's verification share (ed25519:
//!            `GroupKey::to_bytes`; ristretto255: `GroupPublic::to_bytes`)
//! share      ed25519: the dealt share with the dealer's Feldman commitment
//!            (`DealtShare::to_bytes`); ristretto255: `KeyShare::to_bytes`
//! ```
//!
//! and whose signed metadata `commitment` is [`group_commitment`] of
//! `group`, so the coordinator's signature binds every custodian's share to
//! one public group, recorded with the key version.
//!
//! A custodian that obtained its share from the distributed key generation
//! ([`crate::dkg`]) stores it in the same way, as an envelope sealed to and
//! signed by itself, with package version 2 ([`encode_dkg_package`]): the
//! ed25519 share is then the key share the DKG derived, not a dealt share.
//!
//! [`open_package`] runs every check a custodian makes: the group decodes
//! and its verification shares are consistent with the group key (they lie
//! on one polynomial of degree `t − 1` in the exponent: the Feldman check
//! for all participants at once); the share decodes (for ed25519, it
//! matches the dealer's commitment); its index and threshold are the
//! metadata's; its verification share `x_i·G` is the one the group lists
//! for it; and the group is the one the signed metadata commits to.

use sha2::{Digest as _, Sha256};
use symbolon_envelope::Scheme;
use symbolon_threshold::{ed25519, tdh2};
use zeroize::Zeroizing;

use crate::Error;
use crate::api::KeyKind;

const MAGIC: &[u8; 4] = b"SYSK";
/// A package from the trusted dealer: an ed25519 share is a dealt share
/// with the dealer's Feldman commitment.
const VERSION: u8 = 1;
/// A package a custodian made for itself from the DKG's output: an ed25519
/// share is the key share (`KeyShare::to_bytes`) the DKG derived after
/// checking every participant's commitment.
const VERSION_DKG: u8 = 2;

/// The commitment an envelope's metadata carries for a threshold share:
/// SHA-256 over a domain tag, the key kind and the group's public side.
pub fn group_commitment(kind: KeyKind, group: &[u8]) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(b"symbolon group commitment v1\0");
    hash.update(kind.as_str().as_bytes());
    hash.update([0]);
    hash.update(group);
    hash.finalize().into()
}

/// Encodes a dealer's share package (wiped on drop: it holds the share).
pub fn encode_package(group: &[u8], share: &[u8]) -> Zeroizing<Vec<u8>> {
    encode(VERSION, group, share)
}

/// Encodes the package a custodian stores for the share the DKG gave it
/// (`share` is the ed25519 or tdh2 `KeyShare::to_bytes`).
pub fn encode_dkg_package(group: &[u8], share: &[u8]) -> Zeroizing<Vec<u8>> {
    encode(VERSION_DKG, group, share)
}

fn encode(version: u8, group: &[u8], share: &[u8]) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(9 + group.len() + share.len()));
    out.extend_from_slice(MAGIC);
    out.push(version);
    // Group encodings are at most a few KiB (255 participants).
    out.extend_from_slice(&u32::try_from(group.len()).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(group);
    out.extend_from_slice(share);
    out
}

/// A verified threshold key share and its group.
pub enum HeldShare {
    /// A FROST(Ed25519) signing share.
    Ed25519 {
        /// The share.
        share: ed25519::KeyShare,
        /// The group's public side.
        group: ed25519::GroupKey,
    },
    /// A TDH2 decryption share.
    Ristretto255 {
        /// The share.
        share: tdh2::KeyShare,
        /// The group's public side.
        group: tdh2::GroupPublic,
    },
}

impl std::fmt::Debug for HeldShare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Ed25519 { group, .. } => f
                .debug_struct("HeldShare::Ed25519")
                .field("share", &"<redacted>")
                .field("group", group)
                .finish(),
            Self::Ristretto255 { group, .. } => f
                .debug_struct("HeldShare::Ristretto255")
                .field("share", &"<redacted>")
                .field("group", group)
                .finish(),
        }
    }
}

impl HeldShare {
    /// The key kind.
    pub fn kind(&self) -> KeyKind {
        match self {
            Self::Ed25519 { .. } => KeyKind::Ed25519,
            Self::Ristretto255 { .. } => KeyKind::Ristretto255,
        }
    }

    /// The share index.
    pub fn index(&self) -> u16 {
        match self {
            Self::Ed25519 { share, .. } => share.index(),
            Self::Ristretto255 { share, .. } => share.index(),
        }
    }

    /// The group's public key (Ed25519 or ristretto255 encoding).
    pub fn group_key(&self) -> [u8; 32] {
        match self {
            Self::Ed25519 { group, .. } => group.verifying_key_bytes(),
            Self::Ristretto255 { group, .. } => group.key_bytes(),
        }
    }
}

/// Who made a share package: the coordinator as trusted dealer (it signs
/// the envelope) or the custodian itself from the DKG's output (it signs
/// its own envelope).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Package version 1, in an envelope signed by the coordinator.
    Dealer,
    /// Package version 2, in an envelope the custodian signed itself.
    Dkg,
}

impl Origin {
    fn version(self) -> u8 {
        match self {
            Self::Dealer => VERSION,
            Self::Dkg => VERSION_DKG,
        }
    }
}

/// The envelope scheme a share of a `kind` key travels under (`None` for
/// `secret`, which is shared byte-wise, `ShamirGf256` or `Ssms`).
pub fn scheme(kind: KeyKind) -> Option<Scheme> {
    match kind {
        KeyKind::Secret => None,
        KeyKind::Ed25519 => Some(Scheme::FrostEd25519),
        KeyKind::Ristretto255 => Some(Scheme::FeldmanRistretto255),
    }
}

/// The key kind whose shares travel under `scheme`.
pub fn kind(scheme: Scheme) -> Option<KeyKind> {
    match scheme {
        Scheme::ShamirGf256 | Scheme::Ssms => Some(KeyKind::Secret),
        Scheme::FrostEd25519 => Some(KeyKind::Ed25519),
        Scheme::FeldmanRistretto255 => Some(KeyKind::Ristretto255),
        _ => None,
    }
}

/// What the signed metadata says the package must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expected<'a> {
    /// The key kind (from the envelope's scheme).
    pub kind: KeyKind,
    /// The share index in the metadata.
    pub index: u16,
    /// The threshold in the metadata.
    pub threshold: u16,
    /// The metadata's commitment.
    pub commitment: &'a [u8; 32],
    /// Who must have made it (by who signed its envelope).
    pub origin: Origin,
}

/// Decodes and checks a share package (see the module docs for every
/// check).
///
/// # Errors
///
/// [`Error::BadSharePackage`] for a malformed package, a kind that is not a
/// threshold kind, or an index, threshold or group other than the
/// metadata's; [`Error::Threshold`] when the group or share fails the
/// scheme's checks (an inconsistent group, a dealt share off the committed
/// polynomial, a verification share other than the group lists).
pub fn open_package(payload: &[u8], expected: &Expected<'_>) -> Result<HeldShare, Error> {
    let bad = |reason| Error::BadSharePackage { reason };
    let rest = payload
        .strip_prefix(MAGIC.as_slice())
        .ok_or(bad("bad magic"))?;
    let (&version, rest) = rest.split_first().ok_or(bad("truncated"))?;
    if version != VERSION && version != VERSION_DKG {
        return Err(bad("unsupported version"));
    }
    if version != expected.origin.version() {
        return Err(bad(match expected.origin {
            Origin::Dealer => {
                "a DKG share package (version 2) signed by the coordinator: only the custodian itself stores those"
            }
            Origin::Dkg => {
                "a dealer's share package (version 1) signed by the custodian itself: only the coordinator deals those"
            }
        }));
    }
    let (len, rest) = rest.split_first_chunk::<4>().ok_or(bad("truncated"))?;
    let len = usize::try_from(u32::from_be_bytes(*len)).map_err(|_| bad("truncated"))?;
    let (group, share) = rest.split_at_checked(len).ok_or(bad("truncated"))?;
    if group_commitment(expected.kind, group) != *expected.commitment {
        return Err(bad(
            "its group key is not the one the signed metadata commits to",
        ));
    }
    let held = match expected.kind {
        KeyKind::Secret => return Err(bad("a secret key has no share package")),
        KeyKind::Ed25519 => {
            let group = ed25519::GroupKey::from_bytes(group)?;
            let share = if version == VERSION {
                ed25519::KeyShare::from_dealt(share)?
            } else {
                ed25519::KeyShare::from_bytes(share)?
            };
            group.check_share(&share)?;
            HeldShare::Ed25519 { share, group }
        }
        KeyKind::Ristretto255 => {
            let group = tdh2::GroupPublic::from_bytes(group)?;
            let share = tdh2::KeyShare::from_bytes(share)?;
            group.check_share(&share)?;
            HeldShare::Ristretto255 { share, group }
        }
    };
    let threshold = match &held {
        HeldShare::Ed25519 { share, .. } => share.threshold(),
        HeldShare::Ristretto255 { share, .. } => share.threshold(),
    };
    if held.index() != expected.index {
        return Err(bad("its share index is not the metadata's"));
    }
    if threshold != expected.threshold {
        return Err(bad("its threshold is not the metadata's"));
    }
    Ok(held)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng as _;

    fn ed_packages() -> (Vec<u8>, Vec<Zeroizing<Vec<u8>>>) {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let (group, dealt) = ed25519::deal(2, 3, &mut rng).unwrap();
        let group = group.to_bytes();
        let packages = dealt
            .iter()
            .map(|d| encode_package(&group, &d.to_bytes()))
            .collect();
        (group, packages)
    }

    #[test]
    fn dealt_packages_open_for_their_slot_only() {
        let (group, packages) = ed_packages();
        let commitment = group_commitment(KeyKind::Ed25519, &group);
        let expected = |index| Expected {
            kind: KeyKind::Ed25519,
            index,
            threshold: 2,
            commitment: &commitment,
            origin: Origin::Dealer,
        };
        let held = open_package(&packages[1], &expected(2)).unwrap();
        assert_eq!(held.index(), 2);
        assert_eq!(held.kind(), KeyKind::Ed25519);
        assert!(format!("{held:?}").contains("<redacted>"));
        assert_eq!(
            open_package(&packages[1], &expected(3)).unwrap_err(),
            Error::BadSharePackage {
                reason: "its share index is not the metadata's"
            }
        );
        let wrong_t = Expected {
            threshold: 3,
            ..expected(2)
        };
        assert_eq!(
            open_package(&packages[1], &wrong_t).unwrap_err(),
            Error::BadSharePackage {
                reason: "its threshold is not the metadata's"
            }
        );
        let other = group_commitment(KeyKind::Ristretto255, &group);
        let wrong_group = Expected {
            commitment: &other,
            ..expected(2)
        };
        assert!(matches!(
            open_package(&packages[1], &wrong_group),
            Err(Error::BadSharePackage { .. })
        ));
    }

    #[test]
    fn dkg_packages_open_with_their_key_shares() {
        let mut rng = ChaCha20Rng::seed_from_u64(4);
        let (group, dealt) = ed25519::deal(2, 3, &mut rng).unwrap();
        let group = group.to_bytes();
        let share = ed25519::KeyShare::from_dealt(&dealt[2].to_bytes()).unwrap();
        let commitment = group_commitment(KeyKind::Ed25519, &group);
        let expected = Expected {
            kind: KeyKind::Ed25519,
            index: 3,
            threshold: 2,
            commitment: &commitment,
            origin: Origin::Dkg,
        };
        let dkg = encode_dkg_package(&group, &share.to_bytes());
        let held = open_package(&dkg, &expected).unwrap();
        assert_eq!(held.index(), 3);
        // A key share is not a dealt share, and the reverse.
        assert!(
            open_package(&encode_dkg_package(&group, &dealt[2].to_bytes()), &expected).is_err()
        );
        // Each origin only with its own package version.
        let dealt_package = encode_package(&group, &dealt[2].to_bytes());
        assert_eq!(
            open_package(&dealt_package, &expected).unwrap_err(),
            Error::BadSharePackage {
                reason: "a dealer's share package (version 1) signed by the custodian itself: only the coordinator deals those"
            }
        );
        let as_dealer = Expected {
            origin: Origin::Dealer,
            ..expected
        };
        open_package(&dealt_package, &as_dealer).unwrap();
        assert_eq!(
            open_package(&dkg, &as_dealer).unwrap_err(),
            Error::BadSharePackage {
                reason: "a DKG share package (version 2) signed by the coordinator: only the custodian itself stores those"
            }
        );
    }

    #[test]
    fn schemes_and_kinds_map_both_ways() {
        for kind in [KeyKind::Ed25519, KeyKind::Ristretto255] {
            assert_eq!(scheme(kind).and_then(self::kind), Some(kind));
        }
        assert_eq!(scheme(KeyKind::Secret), None);
        assert_eq!(kind(Scheme::ShamirGf256), Some(KeyKind::Secret));
        assert_eq!(kind(Scheme::Ssms), Some(KeyKind::Secret));
    }

    #[test]
    fn a_share_from_another_dealing_is_refused() {
        let (group, _) = ed_packages();
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let (_, other) = ed25519::deal(2, 3, &mut rng).unwrap();
        let package = encode_package(&group, &other[0].to_bytes());
        let commitment = group_commitment(KeyKind::Ed25519, &group);
        let err = open_package(
            &package,
            &Expected {
                kind: KeyKind::Ed25519,
                index: 1,
                threshold: 2,
                commitment: &commitment,
                origin: Origin::Dealer,
            },
        )
        .unwrap_err();
        assert_eq!(
            err,
            Error::Threshold(symbolon_threshold::Error::KeyMismatch { index: 1 })
        );
    }

    #[test]
    fn ristretto_packages_open_and_truncations_are_refused() {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let (group, shares) = tdh2::deal(3, 5, &mut rng).unwrap();
        let group = group.to_bytes();
        let commitment = group_commitment(KeyKind::Ristretto255, &group);
        let expected = Expected {
            kind: KeyKind::Ristretto255,
            index: 4,
            threshold: 3,
            commitment: &commitment,
            origin: Origin::Dealer,
        };
        let package = encode_package(&group, shares[3].to_bytes().as_slice());
        let held = open_package(&package, &expected).unwrap();
        assert_eq!(held.group_key(), shares[3].group_key_bytes());
        for cut in 0..package.len() {
            assert!(
                open_package(&package[..cut], &expected).is_err(),
                "cut {cut}"
            );
        }
        let secret = Expected {
            kind: KeyKind::Secret,
            commitment: &group_commitment(KeyKind::Secret, &group),
            ..expected
        };
        assert_eq!(
            open_package(&package, &secret).unwrap_err(),
            Error::BadSharePackage {
                reason: "a secret key has no share package"
            }
        );
    }
}
