//! FROST signing rounds (RFC 9591, Sections 5.1–5.3).

use std::collections::{BTreeMap, BTreeSet};

use frost_core::round1;
use rand_core::CryptoRng;
use zeroize::{ZeroizeOnDrop, Zeroizing};

use super::Suite;
use super::keys::{GroupKey, KeyShare, id};
use crate::Error;
use crate::encoding::{Hex, Reader, decode_frost, encode_frost};
use crate::error::{from_frost, from_frost_decode};
use crate::participant::{decode_index, to_frost_map};
use crate::rng::Rng06;

/// A signer's secret nonce pair for one signature (RFC 9591 `nonce`s):
/// not `Clone`, consumed by [`sign`], redacted under `Debug`, wiped on drop.
///
/// There is deliberately no way to build one from bytes except by
/// [`NonceBatch::take`].
pub struct SigningNonces(Box<round1::SigningNonces<Suite>>);

impl SigningNonces {
    /// The public commitments to these nonces.
    pub fn commitments(&self) -> SigningCommitments {
        SigningCommitments(*self.0.commitments())
    }
}

impl core::fmt::Debug for SigningNonces {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SigningNonces(<redacted>)")
    }
}

// frost-core's SigningNonces wipes itself on drop.
impl ZeroizeOnDrop for SigningNonces {}

/// A signer's public commitments to its nonces (RFC 9591 `comm`), published
/// in round one.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SigningCommitments(round1::SigningCommitments<Suite>);

impl SigningCommitments {
    /// frost-core's encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        encode_frost(self.0.serialize()).to_vec()
    }

    /// Decodes [`SigningCommitments::to_bytes`].
    ///
    /// # Errors
    ///
    /// A decoding error naming `"signing commitments"`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        decode_frost(
            "signing commitments",
            bytes,
            round1::SigningCommitments::deserialize,
            round1::SigningCommitments::serialize,
        )
        .map(Self)
    }
}

impl core::fmt::Debug for SigningCommitments {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_tuple("SigningCommitments")
            .field(&Hex(&self.to_bytes()))
            .finish()
    }
}

/// Round one for one signature: fresh nonces (hedged with the key share, as
/// RFC 9591 `nonce_generate` does) and their commitments.
pub fn commit<R: CryptoRng + ?Sized>(
    share: &KeyShare,
    rng: &mut R,
) -> (SigningNonces, SigningCommitments) {
    let nonces = round1::SigningNonces::new(share.inner.signing_share(), &mut Rng06(rng));
    let commitments = SigningCommitments(*nonces.commitments());
    (SigningNonces(Box::new(nonces)), commitments)
}

/// Nonces generated ahead of time, whose commitments a custodian publishes
/// in advance so that signing needs one round trip. Redacted under `Debug`,
/// wiped on drop.
///
/// # Security
///
/// A nonce pair must sign at most once. [`NonceBatch::take`] removes the
/// nonces it returns; the custodian must then durably store
/// [`NonceBatch::to_bytes`] of the *remaining* batch before releasing the
/// signature share made with them, and must never load an older stored copy
/// of a batch it has taken from (e.g. restored from a backup). Decoding
/// refuses a batch that holds the same nonces twice.
///
/// Each nonce pair lives in its own heap allocation, so taking one from the
/// batch moves a pointer, not the secret, and every pair is wiped where it
/// lives.
#[allow(clippy::vec_box)] // deliberate: see above
pub struct NonceBatch(Vec<Box<round1::SigningNonces<Suite>>>);

/// Magic bytes of the [`NonceBatch`] encoding.
const BATCH_MAGIC: &[u8; 4] = b"SYFN";
/// Version of the [`NonceBatch`] encoding.
const BATCH_VERSION: u8 = 1;

impl NonceBatch {
    /// Generates `count` nonce pairs for `share`; returns the batch to keep
    /// secret and the commitments to publish, in the same order.
    pub fn generate<R: CryptoRng + ?Sized>(
        share: &KeyShare,
        count: u16,
        rng: &mut R,
    ) -> (Self, Vec<SigningCommitments>) {
        let mut rng = Rng06(rng);
        let nonces: Vec<_> = (0..count)
            .map(|_| {
                Box::new(round1::SigningNonces::new(
                    share.inner.signing_share(),
                    &mut rng,
                ))
            })
            .collect();
        let commitments = nonces
            .iter()
            .map(|n| SigningCommitments(*n.commitments()))
            .collect();
        (Self(nonces), commitments)
    }

    /// The number of unused nonce pairs.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether every nonce pair has been taken.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The commitments of the unused nonce pairs.
    pub fn commitments(&self) -> Vec<SigningCommitments> {
        self.0
            .iter()
            .map(|n| SigningCommitments(*n.commitments()))
            .collect()
    }

    /// Removes and returns the nonces committed to by `commitments`, or
    /// `None` if the batch holds no such nonces (never generated here, or
    /// already taken).
    pub fn take(&mut self, commitments: &SigningCommitments) -> Option<SigningNonces> {
        let position = self
            .0
            .iter()
            .position(|n| n.commitments() == &commitments.0)?;
        Some(SigningNonces(self.0.remove(position)))
    }

    /// The encoding, wiped on drop:
    /// `"SYFN" || version 1 || count (u16 BE) || count × (length (u16 BE) ||
    /// frost-core SigningNonces)`.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        // `generate` and `from_bytes` bound the batch to u16::MAX entries.
        let entries: Vec<Zeroizing<Vec<u8>>> = self
            .0
            .iter()
            .take(usize::from(u16::MAX))
            .map(|nonces| encode_frost(nonces.serialize()))
            .collect();
        let total = 4 + 1 + 2 + entries.iter().map(|e| 2 + e.len()).sum::<usize>();
        // Sized up front so no secret bytes are left behind by a reallocation.
        let mut out = Zeroizing::new(Vec::with_capacity(total));
        out.extend_from_slice(BATCH_MAGIC);
        out.push(BATCH_VERSION);
        out.extend_from_slice(
            &u16::try_from(entries.len())
                .unwrap_or(u16::MAX)
                .to_be_bytes(),
        );
        for entry in &entries {
            // An entry is a few hundred bytes.
            out.extend_from_slice(&u16::try_from(entry.len()).unwrap_or_default().to_be_bytes());
            out.extend_from_slice(entry);
        }
        out
    }

    /// Decodes [`NonceBatch::to_bytes`], checking that every commitment
    /// matches its nonces and that no nonces appear twice.
    ///
    /// # Errors
    ///
    /// A decoding error naming `"nonce batch"`.
    ///
    /// # Security
    ///
    /// See [`NonceBatch`]: load only the latest stored copy.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        const WHAT: &str = "nonce batch";
        let mut reader = Reader::new(WHAT, bytes, BATCH_MAGIC, BATCH_VERSION)?;
        let count = reader.u16()?;
        let mut nonces = Vec::with_capacity(usize::from(count));
        let mut seen = BTreeSet::new();
        for _ in 0..count {
            let len = reader.u16()?;
            let entry = decode_frost(
                WHAT,
                reader.take(usize::from(len))?,
                round1::SigningNonces::<Suite>::deserialize,
                round1::SigningNonces::serialize,
            )?;
            let recomputed = round1::SigningNonces::from_nonces(*entry.hiding(), *entry.binding());
            if recomputed.commitments() != entry.commitments() {
                return Err(Error::Malformed {
                    what: WHAT,
                    reason: "commitments do not match the nonces",
                });
            }
            let key = encode_frost(entry.commitments().serialize()).to_vec();
            if !seen.insert(key) {
                return Err(Error::Malformed {
                    what: WHAT,
                    reason: "the same nonces appear twice",
                });
            }
            nonces.push(Box::new(entry));
        }
        reader.finish()?;
        Ok(Self(nonces))
    }
}

impl core::fmt::Debug for NonceBatch {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "NonceBatch(<redacted, {} nonce pairs>)", self.0.len())
    }
}

// frost-core's SigningNonces wipe themselves on drop.
impl ZeroizeOnDrop for NonceBatch {}

/// What the coordinator sends every signer in round two: the message and
/// the commitments of the chosen signers.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningPackage {
    participants: Vec<u16>,
    inner: frost_core::SigningPackage<Suite>,
}

impl SigningPackage {
    /// Builds the package for `message` from the signers' commitments.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidIndex`] for index 0.
    pub fn new(
        message: &[u8],
        commitments: &BTreeMap<u16, SigningCommitments>,
    ) -> Result<Self, Error> {
        let map = to_frost_map(commitments, |c| c.0)?;
        Ok(Self {
            participants: commitments.keys().copied().collect(),
            inner: frost_core::SigningPackage::new(map, message),
        })
    }

    /// The message to sign.
    pub fn message(&self) -> &[u8] {
        self.inner.message()
    }

    /// The signers' indices, ascending.
    pub fn participants(&self) -> &[u16] {
        &self.participants
    }

    /// Participant `index`'s commitments, if it is a signer.
    pub fn commitment(&self, index: u16) -> Option<SigningCommitments> {
        self.inner
            .signing_commitment(&id(index).ok()?)
            .map(SigningCommitments)
    }

    /// frost-core's encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        encode_frost(self.inner.serialize()).to_vec()
    }

    /// Decodes [`SigningPackage::to_bytes`].
    ///
    /// # Errors
    ///
    /// A decoding error naming `"signing package"`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        const WHAT: &str = "signing package";
        let inner = decode_frost(
            WHAT,
            bytes,
            frost_core::SigningPackage::deserialize,
            frost_core::SigningPackage::serialize,
        )?;
        let participants = inner
            .signing_commitments()
            .keys()
            .map(|id| decode_index(WHAT, id))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            participants,
            inner,
        })
    }
}

impl core::fmt::Debug for SigningPackage {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SigningPackage")
            .field("participants", &self.participants)
            .field("message_len", &self.message().len())
            .finish()
    }
}

/// Round two: signs the package's message with `share` and the nonces
/// committed to in round one, which are consumed (and wiped) whatever the
/// outcome.
///
/// # Errors
///
/// [`Error::MissingCommitment`] if the package lists no commitments for
/// this signer, [`Error::NonceMismatch`] if they are not those of `nonces`,
/// [`Error::NotEnoughShares`] if it lists fewer than `t` signers.
///
/// # Security
///
/// Check that the message is one this custodian agrees to sign *before*
/// calling. The nonces are spent even on error: commit afresh.
pub fn sign(
    share: &KeyShare,
    nonces: SigningNonces,
    package: &SigningPackage,
) -> Result<SignatureShare, Error> {
    let index = share.index();
    let listed = package
        .inner
        .signing_commitment(&id(index)?)
        .ok_or(Error::MissingCommitment { index })?;
    if &listed != nonces.0.commitments() {
        return Err(Error::NonceMismatch { index });
    }
    let have = package.participants.len();
    if have < usize::from(share.threshold()) {
        return Err(Error::NotEnoughShares {
            have,
            need: share.threshold(),
        });
    }
    frost_core::round2::sign(&package.inner, &nonces.0, &share.inner)
        .map(SignatureShare)
        .map_err(from_frost)
}

/// One signer's share of the signature (RFC 9591 `sig_share`), public.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SignatureShare(frost_core::round2::SignatureShare<Suite>);

impl SignatureShare {
    /// The 32-byte scalar encoding (RFC 9591 `SerializeScalar`).
    pub fn to_bytes(&self) -> [u8; 32] {
        // Ed25519 scalars always serialize to exactly 32 bytes.
        self.0.serialize().try_into().unwrap_or([0; 32])
    }

    /// Decodes [`SignatureShare::to_bytes`].
    ///
    /// # Errors
    ///
    /// [`Error::Length`] unless 32 bytes; [`Error::InvalidScalar`] for a
    /// non-canonical scalar.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        const WHAT: &str = "signature share";
        if bytes.len() != 32 {
            return Err(Error::Length {
                what: WHAT,
                len: bytes.len(),
                expected: 32,
            });
        }
        frost_core::round2::SignatureShare::deserialize(bytes)
            .map(Self)
            .map_err(from_frost_decode(WHAT))
    }
}

impl core::fmt::Debug for SignatureShare {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_tuple("SignatureShare")
            .field(&Hex(&self.to_bytes()))
            .finish()
    }
}

/// Checks one signer's share on its own, as it arrives (RFC 9591
/// Section 5.4).
///
/// # Errors
///
/// [`Error::UnknownParticipant`] if `index` is not in the group key or not a
/// signer in `package`; [`Error::InvalidSignatureShare`] naming `index`.
pub fn verify_share(
    group: &GroupKey,
    index: u16,
    share: &SignatureShare,
    package: &SigningPackage,
) -> Result<(), Error> {
    let id = id(index)?;
    let verifying_share = group
        .inner
        .verifying_shares()
        .get(&id)
        .ok_or(Error::UnknownParticipant { index })?;
    if !package.participants.contains(&index) {
        return Err(Error::UnknownParticipant { index });
    }
    frost_core::verify_signature_share(
        id,
        verifying_share,
        &share.0,
        &package.inner,
        group.inner.verifying_key(),
    )
    .map_err(|e| match from_frost(e) {
        Error::InvalidSignatureShare { .. } => Error::InvalidSignatureShare { index },
        other => other,
    })
}

/// Aggregates the signers' shares into the signature (RFC 9591
/// Section 5.3), checks it, and if it does not verify finds the first
/// invalid share.
///
/// # Errors
///
/// [`Error::UnknownParticipant`] for a share from a non-signer or a signer
/// outside the group, [`Error::MissingPackage`] for a signer without a
/// share, [`Error::NotEnoughShares`] below the threshold,
/// [`Error::InvalidSignatureShare`] naming a culprit.
pub fn aggregate(
    package: &SigningPackage,
    shares: &BTreeMap<u16, SignatureShare>,
    group: &GroupKey,
) -> Result<Signature, Error> {
    for &index in package.participants() {
        if group.verifying_share_bytes(index).is_none() {
            return Err(Error::UnknownParticipant { index });
        }
        if !shares.contains_key(&index) {
            return Err(Error::MissingPackage { index });
        }
    }
    if let Some(&index) = shares.keys().find(|i| !package.participants.contains(i)) {
        return Err(Error::UnknownParticipant { index });
    }
    if shares.len() < usize::from(group.threshold()) {
        return Err(Error::NotEnoughShares {
            have: shares.len(),
            need: group.threshold(),
        });
    }
    let map = to_frost_map(shares, |s| s.0)?;
    let inner = frost_core::aggregate(&package.inner, &map, &group.inner).map_err(from_frost)?;
    Signature::from_frost(inner)
}

/// An Ed25519 signature (RFC 8032 encoding `R || S`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature {
    bytes: [u8; 64],
    pub(super) inner: frost_core::Signature<Suite>,
}

impl Signature {
    fn from_frost(inner: frost_core::Signature<Suite>) -> Result<Self, Error> {
        let bytes = inner
            .serialize()
            .map_err(from_frost)?
            .try_into()
            .map_err(|_| Error::Frost {
                reason: "signature encoding is not 64 bytes",
            })?;
        Ok(Self { bytes, inner })
    }

    /// The 64-byte RFC 8032 encoding.
    pub fn to_bytes(&self) -> [u8; 64] {
        self.bytes
    }

    /// Decodes a 64-byte RFC 8032 signature.
    ///
    /// # Errors
    ///
    /// [`Error::Length`] unless 64 bytes; [`Error::InvalidPoint`] for an
    /// invalid `R`, [`Error::InvalidScalar`] for a non-canonical `S`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        const WHAT: &str = "signature";
        let array: [u8; 64] = bytes.try_into().map_err(|_| Error::Length {
            what: WHAT,
            len: bytes.len(),
            expected: 64,
        })?;
        let inner = frost_core::Signature::deserialize(&array).map_err(from_frost_decode(WHAT))?;
        Ok(Self {
            bytes: array,
            inner,
        })
    }
}

impl core::fmt::Debug for Signature {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_tuple("Signature").field(&Hex(&self.bytes)).finish()
    }
}
