//! Ed25519 key material: dealt shares, key shares, the group key.

use std::collections::BTreeMap;

use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use frost_core::keys::{KeyPackage, PublicKeyPackage, SecretShare, VerifyingShare};
use rand_core::CryptoRng;
use subtle::ConstantTimeEq;
use zeroize::{ZeroizeOnDrop, Zeroizing};

use super::Suite;
use super::sign::Signature;
use crate::encoding::{Hex, decode_frost, encode_frost, frost_point_bytes};
use crate::error::from_frost;
use crate::participant::{check_threshold, decode_index, identifier};
use crate::{Error, dealer, lagrange};

/// Generates a fresh Ed25519 key as a trusted dealer and splits it into
/// `participants` shares, any `threshold` of which can sign (frost-core's
/// `generate_with_dealer`, RFC 9591 Appendix C).
///
/// Returns the group key and the dealt shares for participants
/// `1..=participants`, in order.
///
/// # Errors
///
/// [`Error::InvalidThreshold`] unless `2 <= threshold <= participants`.
///
/// # Security
///
/// The whole key exists in this process while dealing (frost-core wipes
/// it). Seal each [`DealtShare`] to its custodian and drop it; use
/// [`crate::dkg`] when no single process may ever hold the key.
pub fn deal<R: CryptoRng + ?Sized>(
    threshold: u16,
    participants: u16,
    rng: &mut R,
) -> Result<(GroupKey, Vec<DealtShare>), Error> {
    let (shares, public) = dealer::deal::<Suite, _>(threshold, participants, rng)?;
    let shares = shares
        .map(|inner| {
            let index = decode_index("dealt share", inner.identifier())?;
            Ok(DealtShare { index, inner })
        })
        .collect::<Result<_, Error>>()?;
    Ok((GroupKey::from_frost(public)?, shares))
}

/// One participant's share as dealt by a trusted dealer: the secret share
/// plus the dealer's Feldman commitment to the whole polynomial (frost-core's
/// `SecretShare`). Redacted under `Debug`, wiped on drop.
pub struct DealtShare {
    index: u16,
    inner: SecretShare<Suite>,
}

impl DealtShare {
    /// The recipient's index.
    pub fn index(&self) -> u16 {
        self.index
    }

    /// frost-core's encoding of the `SecretShare` (it carries the
    /// commitment), wiped on drop. Seal it to the recipient.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        encode_frost(self.inner.serialize())
    }

    /// Decodes [`DealtShare::to_bytes`] (without verifying it: see
    /// [`DealtShare::verify`]).
    ///
    /// # Errors
    ///
    /// A decoding error naming `"dealt share"`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        const WHAT: &str = "dealt share";
        let inner = decode_frost(
            WHAT,
            bytes,
            SecretShare::deserialize,
            SecretShare::serialize,
        )?;
        let index = decode_index(WHAT, inner.identifier())?;
        Ok(Self { index, inner })
    }

    /// Verifies the share against the dealer's commitment (Feldman VSS:
    /// `s_i·B == Σ_k C_k·i^k`) and turns it into a [`KeyShare`].
    ///
    /// # Errors
    ///
    /// [`Error::InvalidDealtShare`] if the share does not match the
    /// commitment; [`Error::Malformed`] for a commitment to a constant
    /// polynomial (threshold 1).
    ///
    /// # Security
    ///
    /// The check proves the share lies on the committed polynomial. It does
    /// not prove that every custodian got the *same* commitment, nor that
    /// the share is for this custodian: before acknowledging, check that
    /// [`KeyShare::index`] is the custodian's own slot and compare
    /// [`KeyShare::verifying_key_bytes`] with the group key published for
    /// this key (e.g. in the audit log), or use [`GroupKey::check_share`].
    pub fn verify(self) -> Result<KeyShare, Error> {
        let key_package = KeyPackage::try_from(self.inner).map_err(from_frost)?;
        KeyShare::from_frost(key_package)
    }
}

/// What a [`KeyShare`] is called in decoding errors.
const KEY_SHARE: &str = "ed25519 key share";

/// A participant's long-lived signing key share: its secret signing share,
/// its public verification share, the group's public key, its index and the
/// threshold (frost-core's `KeyPackage`). Redacted under `Debug`, wiped on
/// drop.
pub struct KeyShare {
    index: u16,
    verifying_key: [u8; 32],
    verifying_share: [u8; 32],
    pub(super) inner: KeyPackage<Suite>,
}

impl KeyShare {
    /// Decodes a [`DealtShare`] received from the dealer and verifies it
    /// against the dealer's commitment ([`DealtShare::verify`]).
    ///
    /// # Errors
    ///
    /// A decoding error, or [`Error::InvalidDealtShare`].
    ///
    /// # Security
    ///
    /// See [`DealtShare::verify`]: also check the group key.
    pub fn from_dealt(bytes: &[u8]) -> Result<Self, Error> {
        DealtShare::from_bytes(bytes)?.verify()
    }

    /// Converts frost-core's key package, checking that it is usable here.
    /// frost-core derives the verification share from the signing share
    /// (dealer and DKG alike); [`KeyShare::from_bytes`] checks that for
    /// packages it did not build.
    pub(crate) fn from_frost(inner: KeyPackage<Suite>) -> Result<Self, Error> {
        let index = decode_index(KEY_SHARE, inner.identifier())?;
        if *inner.min_signers() < 2 {
            return Err(Error::Malformed {
                what: KEY_SHARE,
                reason: "threshold below 2",
            });
        }
        let verifying_share = frost_point_bytes(KEY_SHARE, inner.verifying_share().serialize())?;
        let verifying_key = frost_point_bytes(KEY_SHARE, inner.verifying_key().serialize())?;
        Ok(Self {
            index,
            verifying_key,
            verifying_share,
            inner,
        })
    }

    /// This participant's index.
    pub fn index(&self) -> u16 {
        self.index
    }

    /// The signing threshold `t`.
    pub fn threshold(&self) -> u16 {
        *self.inner.min_signers()
    }

    /// The group's Ed25519 public key (RFC 8032 encoding).
    pub fn verifying_key_bytes(&self) -> [u8; 32] {
        self.verifying_key
    }

    /// This participant's public verification share `s_i·B`.
    pub fn verifying_share_bytes(&self) -> [u8; 32] {
        self.verifying_share
    }

    /// frost-core's encoding of the `KeyPackage`, wiped on drop.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        encode_frost(self.inner.serialize())
    }

    /// Decodes [`KeyShare::to_bytes`], checking that the verification share
    /// matches the secret share.
    ///
    /// # Errors
    ///
    /// A decoding error naming `"ed25519 key share"`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let inner = decode_frost(
            KEY_SHARE,
            bytes,
            KeyPackage::deserialize,
            KeyPackage::serialize,
        )?;
        if *inner.verifying_share() != VerifyingShare::from(*inner.signing_share()) {
            return Err(Error::Malformed {
                what: KEY_SHARE,
                reason: "verification share does not match the signing share",
            });
        }
        Self::from_frost(inner)
    }
}

impl PartialEq for KeyShare {
    /// Compares the encodings in constant time.
    fn eq(&self, other: &Self) -> bool {
        bool::from(self.to_bytes().ct_eq(&other.to_bytes()))
    }
}

impl Eq for KeyShare {}

impl core::fmt::Debug for KeyShare {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("KeyShare")
            .field("index", &self.index)
            .field("threshold", &self.threshold())
            .field("signing_share", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl core::fmt::Debug for DealtShare {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DealtShare")
            .field("index", &self.index)
            .field("signing_share", &"<redacted>")
            .finish_non_exhaustive()
    }
}

// frost-core's KeyPackage and SecretShare wipe their secrets on drop.
impl ZeroizeOnDrop for KeyShare {}
impl ZeroizeOnDrop for DealtShare {}

/// The public side of a key: the group's Ed25519 public key, every
/// participant's verification share and the threshold (frost-core's
/// `PublicKeyPackage`). The coordinator needs it to check and aggregate
/// signature shares.
#[derive(Clone, PartialEq, Eq)]
pub struct GroupKey {
    threshold: u16,
    verifying_key: [u8; 32],
    verifying_shares: BTreeMap<u16, [u8; 32]>,
    pub(super) inner: PublicKeyPackage<Suite>,
}

impl GroupKey {
    /// Converts frost-core's public key package, checking that it names a
    /// threshold and that the verification shares are consistent with the
    /// key.
    pub(crate) fn from_frost(inner: PublicKeyPackage<Suite>) -> Result<Self, Error> {
        const WHAT: &str = "ed25519 group key";
        // Saturated: `check_threshold` refuses anything above 255.
        let participants = u16::try_from(inner.verifying_shares().len()).unwrap_or(u16::MAX);
        let threshold = inner.min_signers().ok_or(Error::Malformed {
            what: WHAT,
            reason: "no threshold (a frost-core 2 package)",
        })?;
        check_threshold(threshold, participants)?;
        let verifying_key = frost_point_bytes(WHAT, inner.verifying_key().serialize())?;
        let verifying_shares = inner
            .verifying_shares()
            .iter()
            .map(|(id, share)| {
                Ok((
                    decode_index(WHAT, id)?,
                    frost_point_bytes(WHAT, share.serialize())?,
                ))
            })
            .collect::<Result<BTreeMap<_, _>, Error>>()?;
        let decompress = |bytes: &[u8; 32]| -> Result<EdwardsPoint, Error> {
            CompressedEdwardsY(*bytes)
                .decompress()
                .ok_or(Error::InvalidPoint { what: WHAT })
        };
        let points = verifying_shares
            .iter()
            .map(|(&i, bytes)| Ok((i, decompress(bytes)?)))
            .collect::<Result<BTreeMap<_, _>, Error>>()?;
        if !lagrange::consistent(threshold, &decompress(&verifying_key)?, &points) {
            return Err(Error::InconsistentGroupKey);
        }
        Ok(Self {
            threshold,
            verifying_key,
            verifying_shares,
            inner,
        })
    }

    /// The signing threshold `t`.
    pub fn threshold(&self) -> u16 {
        self.threshold
    }

    /// The participants' indices, ascending.
    pub fn participants(&self) -> Vec<u16> {
        self.verifying_shares.keys().copied().collect()
    }

    /// The group's Ed25519 public key (RFC 8032 encoding): what verifiers
    /// use.
    pub fn verifying_key_bytes(&self) -> [u8; 32] {
        self.verifying_key
    }

    /// Participant `index`'s verification share, if it is one.
    pub fn verifying_share_bytes(&self, index: u16) -> Option<[u8; 32]> {
        self.verifying_shares.get(&index).copied()
    }

    /// Checks that `share` belongs to this group key: same public key and
    /// threshold, and its verification share is the one listed here.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownParticipant`] or [`Error::KeyMismatch`].
    pub fn check_share(&self, share: &KeyShare) -> Result<(), Error> {
        let index = share.index();
        let listed = self
            .verifying_share_bytes(index)
            .ok_or(Error::UnknownParticipant { index })?;
        if listed != share.verifying_share_bytes()
            || self.verifying_key != share.verifying_key_bytes()
            || self.threshold != share.threshold()
        {
            return Err(Error::KeyMismatch { index });
        }
        Ok(())
    }

    /// Verifies an Ed25519 signature under the group key.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidSignature`].
    pub fn verify(&self, message: &[u8], signature: &Signature) -> Result<(), Error> {
        self.inner
            .verifying_key()
            .verify(message, &signature.inner)
            .map_err(|_| Error::InvalidSignature)
    }

    /// frost-core's encoding of the `PublicKeyPackage`.
    pub fn to_bytes(&self) -> Vec<u8> {
        encode_frost(self.inner.serialize()).to_vec()
    }

    /// Decodes [`GroupKey::to_bytes`], checking the verification shares'
    /// consistency.
    ///
    /// # Errors
    ///
    /// A decoding error naming `"ed25519 group key"`,
    /// [`Error::InvalidThreshold`], [`Error::InconsistentGroupKey`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let inner = decode_frost(
            "ed25519 group key",
            bytes,
            PublicKeyPackage::deserialize,
            PublicKeyPackage::serialize,
        )?;
        Self::from_frost(inner)
    }
}

impl core::fmt::Debug for GroupKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("GroupKey")
            .field("threshold", &self.threshold)
            .field("verifying_key", &Hex(&self.verifying_key))
            .field("participants", &self.participants())
            .finish()
    }
}

/// The frost identifier of participant `index` of this suite.
pub(super) fn id(index: u16) -> Result<frost_core::Identifier<Suite>, Error> {
    identifier::<Suite>(index)
}
