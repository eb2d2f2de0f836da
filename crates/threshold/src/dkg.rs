//! Distributed key generation: FROST's KeyGen (Komlo–Goldberg, *FROST*,
//! SAC 2020, Figure 1 — Pedersen's DKG with a Schnorr proof of knowledge of
//! each participant's constant term), as implemented by frost-core's
//! `keys::dkg`, wrapped with participant indices and this crate's errors.
//!
//! One module serves both key kinds, chosen by a marker type:
//! [`Ed25519`] yields an [`ed25519::KeyShare`] and
//! [`ed25519::GroupKey`] for FROST signing;
//! [`Ristretto255`] yields a [`tdh2::KeyShare`] and
//! [`tdh2::GroupPublic`] for threshold decryption.
//! Either way the secret key never exists anywhere.
//!
//! # Protocol (participants `1..=n`, threshold `t`)
//!
//! 1. Every participant runs [`part1`] and **broadcasts** its
//!    [`Round1Package`] (commitments to its random polynomial, proof of
//!    knowledge). All participants must see the *same* round-1 packages:
//!    the caller provides that, e.g. by echo broadcast or by having every
//!    participant sign a digest of all of them before round 2.
//! 2. Every participant runs [`part2`] on the others' round-1 packages and
//!    sends each other participant `j` its [`Round2Package`] for `j`
//!    **confidentially and authenticated** (these are secret shares: seal
//!    them, e.g. with HPKE, to `j`).
//! 3. Every participant runs [`part3`] on what it received and obtains its
//!    key share and the group key. A participant whose proof of knowledge or
//!    secret share is invalid is named in the error
//!    ([`Error::InvalidProofOfKnowledge`], [`Error::InvalidSecretShare`]).
//!
//! # Encodings
//!
//! The packages have `to_bytes`/`from_bytes` in frost-core 3's format
//! (postcard behind a 5-byte header: version 0 and the CRC-32 of the
//! ciphersuite ID). frost-core encodes the secret states without a header;
//! here they are wrapped as `magic || version 1 || frost header || frost
//! encoding` (`SYR1`, `SYR2`). Decoding is strict: trailing bytes and
//! non-canonical encodings are refused.

use std::collections::BTreeMap;

use frost_core::keys::dkg::{round1, round2};
use frost_core::keys::{KeyPackage, PublicKeyPackage};
use rand_core::CryptoRng;
use zeroize::{ZeroizeOnDrop, Zeroizing};

use crate::encoding::{decode_frost, encode_frost, unwrap_frost, wrap_frost};
use crate::error::from_frost;
use crate::participant::{check_threshold, decode_index, identifier, to_frost_map};
use crate::rng::Rng06;
use crate::{Error, ed25519, tdh2};

mod sealed {
    /// Only this crate's key kinds are [`Suite`](super::Suite)s.
    pub trait Sealed {}
}

/// A key kind the DKG can produce: [`Ed25519`] or [`Ristretto255`].
pub trait Suite: sealed::Sealed + Copy + core::fmt::Debug + Eq + Send + Sync + 'static {
    /// The frost-core ciphersuite that runs the DKG.
    type Frost: frost_core::Ciphersuite;
    /// A participant's long-lived key share.
    type KeyShare;
    /// The public group key with every participant's verification share.
    type GroupKey;
    /// A name for error messages.
    const NAME: &'static str;

    /// Converts frost-core's DKG output.
    #[doc(hidden)]
    fn from_frost(
        key_package: KeyPackage<Self::Frost>,
        public: PublicKeyPackage<Self::Frost>,
    ) -> Result<(Self::KeyShare, Self::GroupKey), Error>;
}

/// FROST(Ed25519, SHA-512) keys for threshold signing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ed25519 {}

/// ristretto255 keys for TDH2 threshold decryption (the DKG runs as
/// FROST(ristretto255, SHA-512): the same group and generator).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ristretto255 {}

impl sealed::Sealed for Ed25519 {}
impl sealed::Sealed for Ristretto255 {}

impl Suite for Ed25519 {
    type Frost = frost_ed25519::Ed25519Sha512;
    type KeyShare = ed25519::KeyShare;
    type GroupKey = ed25519::GroupKey;
    const NAME: &'static str = "ed25519";

    fn from_frost(
        key_package: KeyPackage<Self::Frost>,
        public: PublicKeyPackage<Self::Frost>,
    ) -> Result<(Self::KeyShare, Self::GroupKey), Error> {
        Ok((
            ed25519::KeyShare::from_frost(key_package)?,
            ed25519::GroupKey::from_frost(public)?,
        ))
    }
}

impl Suite for Ristretto255 {
    type Frost = frost_ristretto255::Ristretto255Sha512;
    type KeyShare = tdh2::KeyShare;
    type GroupKey = tdh2::GroupPublic;
    const NAME: &'static str = "ristretto255";

    fn from_frost(
        key_package: KeyPackage<Self::Frost>,
        public: PublicKeyPackage<Self::Frost>,
    ) -> Result<(Self::KeyShare, Self::GroupKey), Error> {
        Ok((
            tdh2::KeyShare::from_frost(&key_package)?,
            tdh2::GroupPublic::from_frost(&public)?,
        ))
    }
}

/// Magic bytes of the [`Round1Secret`] encoding.
const ROUND1_SECRET_MAGIC: &[u8; 4] = b"SYR1";
/// Magic bytes of the [`Round2Secret`] encoding.
const ROUND2_SECRET_MAGIC: &[u8; 4] = b"SYR2";

/// A participant's secret state between [`part1`] and [`part2`]: its random
/// polynomial. Redacted under `Debug`, wiped on drop.
pub struct Round1Secret<S: Suite> {
    index: u16,
    inner: round1::SecretPackage<S::Frost>,
}

/// A participant's round-1 broadcast: commitments to its polynomial and a
/// proof of knowledge of the constant term. Public.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Round1Package<S: Suite>(round1::Package<S::Frost>);

/// A participant's secret state between [`part2`] and [`part3`]: its own
/// share of its own polynomial. Redacted under `Debug`, wiped on drop.
pub struct Round2Secret<S: Suite> {
    index: u16,
    inner: round2::SecretPackage<S::Frost>,
}

/// A secret share sent from one participant to another in round 2.
/// Redacted under `Debug`, wiped on drop.
///
/// # Security
///
/// Send it only over a confidential, authenticated channel to its
/// recipient (e.g. HPKE-sealed to the recipient's key).
pub struct Round2Package<S: Suite>(round2::Package<S::Frost>);

/// The round-2 packages a participant sends, by recipient index.
pub type Outgoing<S> = BTreeMap<u16, Round2Package<S>>;

/// Step 1: draws this participant's random polynomial of degree
/// `threshold − 1` and returns the secret state to keep and the package to
/// broadcast.
///
/// # Errors
///
/// [`Error::InvalidThreshold`] unless `2 <= threshold <= participants`;
/// [`Error::InvalidIndex`] unless `1 <= index <= participants`.
pub fn part1<S: Suite, R: CryptoRng + ?Sized>(
    index: u16,
    threshold: u16,
    participants: u16,
    rng: &mut R,
) -> Result<(Round1Secret<S>, Round1Package<S>), Error> {
    check_threshold(threshold, participants)?;
    if index == 0 || index > participants {
        return Err(Error::InvalidIndex { index });
    }
    let id = identifier::<S::Frost>(index)?;
    let (inner, package) = frost_core::keys::dkg::part1(id, participants, threshold, Rng06(rng))
        .map_err(from_frost)?;
    Ok((Round1Secret { index, inner }, Round1Package(package)))
}

/// Step 2: checks every other participant's round-1 package (their proofs
/// of knowledge and polynomial degree) and computes the secret share for
/// each of them.
///
/// `round1` maps each *other* participant's index to the package it
/// broadcast (authenticated: the index must be its sender's).
///
/// # Errors
///
/// [`Error::DuplicateIndex`] if `round1` contains this participant's own
/// index, [`Error::UnknownParticipant`] for an index above `n`,
/// [`Error::MissingPackage`] naming who is missing,
/// [`Error::InvalidPackage`] naming a participant that committed to the
/// wrong degree, [`Error::InvalidProofOfKnowledge`] naming a participant
/// whose proof fails.
pub fn part2<S: Suite>(
    secret: Round1Secret<S>,
    round1: &BTreeMap<u16, Round1Package<S>>,
) -> Result<(Round2Secret<S>, Outgoing<S>), Error> {
    let index = secret.index;
    let threshold = *secret.inner.min_signers();
    check_peers(index, *secret.inner.max_signers(), round1)?;
    for (&sender, package) in round1 {
        let degree = package
            .0
            .commitment()
            .serialize()
            .map_err(|_| Error::InvalidPackage {
                index: sender,
                reason: "commitment contains the identity",
            })?
            .len();
        if degree != usize::from(threshold) {
            return Err(Error::InvalidPackage {
                index: sender,
                reason: "commits to a polynomial of the wrong degree",
            });
        }
    }
    let packages = to_frost_map(round1, |p| p.0.clone())?;
    let (inner, shares) =
        frost_core::keys::dkg::part2(secret.inner, &packages).map_err(from_frost)?;
    let shares = shares
        .into_iter()
        .map(|(id, share)| Ok((decode_index("round-2 package", &id)?, Round2Package(share))))
        .collect::<Result<_, Error>>()?;
    Ok((Round2Secret { index, inner }, shares))
}

/// Step 3: checks the secret shares received from every other participant
/// against their round-1 commitments and returns this participant's key
/// share and the group key.
///
/// `round1` must be the map given to [`part2`]; `round2` maps each other
/// participant's index to the [`Round2Package`] it sent to this one.
///
/// # Errors
///
/// As [`part2`] for the shape of both maps; [`Error::InvalidSecretShare`]
/// naming a participant whose share does not match its commitment.
pub fn part3<S: Suite>(
    secret: &Round2Secret<S>,
    round1: &BTreeMap<u16, Round1Package<S>>,
    round2: &BTreeMap<u16, Round2Package<S>>,
) -> Result<(S::KeyShare, S::GroupKey), Error> {
    let participants = *secret.inner.max_signers();
    check_peers(secret.index, participants, round1)?;
    check_peers(secret.index, participants, round2)?;
    let round1 = to_frost_map(round1, |p| p.0.clone())?;
    let round2 = to_frost_map(round2, |p| p.0.clone())?;
    let (key_package, public) =
        frost_core::keys::dkg::part3(&secret.inner, &round1, &round2).map_err(from_frost)?;
    S::from_frost(key_package, public)
}

/// Checks that `map` holds exactly the participants `1..=n` other than
/// `own`.
fn check_peers<V>(own: u16, participants: u16, map: &BTreeMap<u16, V>) -> Result<(), Error> {
    for &index in map.keys() {
        if index == own {
            return Err(Error::DuplicateIndex { index });
        }
        if index == 0 || index > participants {
            return Err(Error::UnknownParticipant { index });
        }
    }
    match (1..=participants).find(|&i| i != own && !map.contains_key(&i)) {
        Some(index) => Err(Error::MissingPackage { index }),
        None => Ok(()),
    }
}

impl<S: Suite> Round1Secret<S> {
    /// This participant's index.
    pub fn index(&self) -> u16 {
        self.index
    }

    /// The secret state, wiped on drop (to persist it between rounds,
    /// encrypted at rest): `"SYR1" || version 1 || frost header ||
    /// frost-core encoding`.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        wrap_frost(ROUND1_SECRET_MAGIC, self.inner.serialize())
    }

    /// Decodes [`Round1Secret::to_bytes`].
    ///
    /// # Errors
    ///
    /// A decoding error naming `"round-1 secret"`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        const WHAT: &str = "round-1 secret";
        let inner = unwrap_frost(
            WHAT,
            ROUND1_SECRET_MAGIC,
            bytes,
            round1::SecretPackage::deserialize,
            round1::SecretPackage::serialize,
        )?;
        let index = decode_index(WHAT, inner.identifier())?;
        Ok(Self { index, inner })
    }
}

impl<S: Suite> Round1Package<S> {
    /// The package in frost-core's encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        encode_frost(self.0.serialize()).to_vec()
    }

    /// Decodes [`Round1Package::to_bytes`].
    ///
    /// # Errors
    ///
    /// A decoding error naming `"round-1 package"`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        decode_frost(
            "round-1 package",
            bytes,
            round1::Package::deserialize,
            round1::Package::serialize,
        )
        .map(Self)
    }
}

impl<S: Suite> Round2Secret<S> {
    /// This participant's index.
    pub fn index(&self) -> u16 {
        self.index
    }

    /// The secret state, wiped on drop: `"SYR2" || version 1 || frost
    /// header || frost-core encoding`.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        wrap_frost(ROUND2_SECRET_MAGIC, self.inner.serialize())
    }

    /// Decodes [`Round2Secret::to_bytes`].
    ///
    /// # Errors
    ///
    /// A decoding error naming `"round-2 secret"`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        const WHAT: &str = "round-2 secret";
        let inner = unwrap_frost(
            WHAT,
            ROUND2_SECRET_MAGIC,
            bytes,
            round2::SecretPackage::deserialize,
            round2::SecretPackage::serialize,
        )?;
        let index = decode_index(WHAT, inner.identifier())?;
        Ok(Self { index, inner })
    }
}

impl<S: Suite> Round2Package<S> {
    /// The package in frost-core's encoding, wiped on drop (seal it to its
    /// recipient).
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        encode_frost(self.0.serialize())
    }

    /// Decodes [`Round2Package::to_bytes`].
    ///
    /// # Errors
    ///
    /// A decoding error naming `"round-2 package"`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        decode_frost(
            "round-2 package",
            bytes,
            round2::Package::deserialize,
            round2::Package::serialize,
        )
        .map(Self)
    }
}

impl<S: Suite> core::fmt::Debug for Round1Secret<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Round1Secret")
            .field("suite", &S::NAME)
            .field("index", &self.index)
            .field("polynomial", &"<redacted>")
            .finish()
    }
}

impl<S: Suite> core::fmt::Debug for Round2Secret<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Round2Secret")
            .field("suite", &S::NAME)
            .field("index", &self.index)
            .field("share", &"<redacted>")
            .finish()
    }
}

impl<S: Suite> core::fmt::Debug for Round2Package<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Round2Package(<redacted>)")
    }
}

// The frost-core packages inside wipe themselves on drop.
impl<S: Suite> ZeroizeOnDrop for Round1Secret<S> {}
impl<S: Suite> ZeroizeOnDrop for Round2Secret<S> {}
impl<S: Suite> ZeroizeOnDrop for Round2Package<S> {}
