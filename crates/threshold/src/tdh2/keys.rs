//! TDH2 key material: key shares `x_i`, the group's public side
//! `(t, Y, {Y_i})`, dealing, and conversion from frost-ristretto255.

use std::collections::BTreeMap;

use curve25519_dalek::{RistrettoPoint, Scalar};
use frost_core::keys::{KeyPackage, PublicKeyPackage};
use rand_core::CryptoRng;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::encoding::{
    Hex, Point, Reader, decode_frost, decode_scalar, frost_point_bytes, write_fields,
};
use crate::error::from_frost;
use crate::participant::{check_threshold, decode_index};
use crate::{Error, dealer, lagrange};

/// The frost-core ciphersuite whose DKG and dealer produce TDH2 keys.
type Frost = frost_ristretto255::Ristretto255Sha512;

const SHARE_MAGIC: &[u8; 4] = b"SYTK";
const GROUP_MAGIC: &[u8; 4] = b"SYTG";
const VERSION: u8 = 1;

/// Length of an encoded [`KeyShare`].
pub const KEY_SHARE_LEN: usize = 4 + 1 + 2 + 2 + 32 + 32;

/// Generates a fresh decryption key as a trusted dealer and Shamir-splits
/// it into `participants` shares, any `threshold` of which can decrypt
/// (frost-ristretto255's dealer: Feldman VSS over ristretto255, each share
/// checked against the commitment before it is returned).
///
/// # Errors
///
/// [`Error::InvalidThreshold`] unless `2 <= threshold <= participants`.
///
/// # Security
///
/// The whole key exists in this process while dealing. Seal each
/// [`KeyShare::to_bytes`] to its custodian and drop it; use
/// [`crate::dkg`] with [`crate::dkg::Ristretto255`] when no single process
/// may ever hold the key.
pub fn deal<R: CryptoRng + ?Sized>(
    threshold: u16,
    participants: u16,
    rng: &mut R,
) -> Result<(GroupPublic, Vec<KeyShare>), Error> {
    let (shares, public) = dealer::deal::<Frost, _>(threshold, participants, rng)?;
    let shares = shares
        .map(|share| KeyShare::from_frost(&KeyPackage::try_from(share).map_err(from_frost)?))
        .collect::<Result<_, _>>()?;
    Ok((GroupPublic::from_frost(&public)?, shares))
}

/// A participant's share `x_i = f(i)` of the decryption key, with its
/// index, the threshold, its verification share `Y_i = x_i·G` and the group
/// key `Y`. Redacted under `Debug`, wiped on drop, compared in constant
/// time.
pub struct KeyShare {
    index: u16,
    threshold: u16,
    secret: Scalar,
    pub(super) verification: Point,
    pub(super) group: Point,
}

impl KeyShare {
    /// Builds a share, rejecting index 0, thresholds below 2, a zero secret
    /// and an identity group key (wiping `secret` if it refuses).
    fn new(
        what: &'static str,
        index: u16,
        threshold: u16,
        secret: Scalar,
        group: Point,
    ) -> Result<Self, Error> {
        let secret = Zeroizing::new(secret);
        if index == 0 {
            return Err(Error::InvalidIndex { index });
        }
        if threshold < 2 {
            return Err(Error::Malformed {
                what,
                reason: "threshold below 2",
            });
        }
        if *secret == Scalar::ZERO {
            return Err(Error::InvalidScalar { what });
        }
        if group.point == RistrettoPoint::default() {
            return Err(Error::InvalidPoint { what });
        }
        Ok(Self {
            index,
            threshold,
            verification: Point::new(RistrettoPoint::mul_base(&secret)),
            secret: *secret,
            group,
        })
    }

    /// Converts a frost-ristretto255 key package (from the DKG or dealer).
    pub(crate) fn from_frost(package: &KeyPackage<Frost>) -> Result<Self, Error> {
        const WHAT: &str = "frost-ristretto255 key package";
        let index = decode_index(WHAT, package.identifier())?;
        let secret = decode_scalar(WHAT, &Zeroizing::new(package.signing_share().serialize()))?;
        let group = frost_point(WHAT, package.verifying_key().serialize())?;
        let share = Self::new(WHAT, index, *package.min_signers(), secret, group)?;
        let listed = frost_point(WHAT, package.verifying_share().serialize())?;
        if listed != share.verification {
            return Err(Error::Malformed {
                what: WHAT,
                reason: "verification share does not match the signing share",
            });
        }
        Ok(share)
    }

    /// Converts frost-ristretto255's encoding of a `KeyPackage` (the output
    /// of its DKG or of a dealt share verified with `KeyPackage::try_from`).
    ///
    /// # Errors
    ///
    /// A decoding error naming `"frost-ristretto255 key package"`.
    pub fn from_frost_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let package = decode_frost(
            "frost-ristretto255 key package",
            bytes,
            KeyPackage::<Frost>::deserialize,
            KeyPackage::serialize,
        )?;
        Self::from_frost(&package)
    }

    /// This participant's index.
    pub fn index(&self) -> u16 {
        self.index
    }

    /// The decryption threshold `t`.
    pub fn threshold(&self) -> u16 {
        self.threshold
    }

    /// The verification share `Y_i = x_i·G`.
    pub fn verification_share_bytes(&self) -> [u8; 32] {
        self.verification.bytes
    }

    /// The group's public key `Y`.
    pub fn group_key_bytes(&self) -> [u8; 32] {
        self.group.bytes
    }

    /// The secret scalar `x_i`. The one greppable way in.
    pub fn expose_secret(&self) -> &Scalar {
        &self.secret
    }

    /// The encoding, wiped on drop:
    /// `"SYTK" || version 1 || index (u16 BE) || threshold (u16 BE) || x_i ||
    /// Y` (scalars little-endian canonical, points ristretto255-compressed).
    pub fn to_bytes(&self) -> Zeroizing<[u8; KEY_SHARE_LEN]> {
        let mut out = Zeroizing::new([0u8; KEY_SHARE_LEN]);
        let secret = Zeroizing::new(self.secret.to_bytes());
        write_fields(
            out.as_mut_slice(),
            &[
                SHARE_MAGIC,
                &[VERSION],
                &self.index.to_be_bytes(),
                &self.threshold.to_be_bytes(),
                secret.as_slice(),
                &self.group.bytes,
            ],
        );
        out
    }

    /// Decodes [`KeyShare::to_bytes`].
    ///
    /// # Errors
    ///
    /// A decoding error naming `"tdh2 key share"`; [`Error::InvalidIndex`]
    /// for index 0.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        const WHAT: &str = "tdh2 key share";
        let mut reader = Reader::new(WHAT, bytes, SHARE_MAGIC, VERSION)?;
        let index = reader.u16()?;
        let threshold = reader.u16()?;
        let secret = reader.scalar()?;
        let group = reader.point()?;
        reader.finish()?;
        Self::new(WHAT, index, threshold, secret, group)
    }
}

impl Drop for KeyShare {
    fn drop(&mut self) {
        self.secret.zeroize();
    }
}

impl ZeroizeOnDrop for KeyShare {}

impl PartialEq for KeyShare {
    /// Public fields directly, the secret in constant time.
    fn eq(&self, other: &Self) -> bool {
        self.index == other.index
            && self.threshold == other.threshold
            && self.group == other.group
            && bool::from(self.secret.ct_eq(&other.secret))
    }
}

impl Eq for KeyShare {}

impl core::fmt::Debug for KeyShare {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("KeyShare")
            .field("index", &self.index)
            .field("threshold", &self.threshold)
            .field("secret", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// The public side of a decryption key: the threshold `t`, the group key
/// `Y = x·G` (what encryptors use) and every participant's verification
/// share `Y_i` (what the coordinator checks decryption shares against).
#[derive(Clone, PartialEq, Eq)]
pub struct GroupPublic {
    threshold: u16,
    pub(super) key: Point,
    pub(super) shares: BTreeMap<u16, Point>,
}

impl GroupPublic {
    /// Builds a group key, checking the threshold, the key and the
    /// consistency of the verification shares with it.
    fn new(
        what: &'static str,
        threshold: u16,
        key: Point,
        shares: BTreeMap<u16, Point>,
    ) -> Result<Self, Error> {
        // Saturated: `check_threshold` refuses anything above 255.
        let participants = u16::try_from(shares.len()).unwrap_or(u16::MAX);
        check_threshold(threshold, participants)?;
        if shares.contains_key(&0) {
            return Err(Error::InvalidIndex { index: 0 });
        }
        if key.point == RistrettoPoint::default() {
            return Err(Error::InvalidPoint { what });
        }
        let points = shares.iter().map(|(&i, p)| (i, p.point)).collect();
        if !lagrange::consistent(threshold, &key.point, &points) {
            return Err(Error::InconsistentGroupKey);
        }
        Ok(Self {
            threshold,
            key,
            shares,
        })
    }

    /// Converts a frost-ristretto255 public key package.
    pub(crate) fn from_frost(package: &PublicKeyPackage<Frost>) -> Result<Self, Error> {
        const WHAT: &str = "frost-ristretto255 public key package";
        let threshold = package.min_signers().ok_or(Error::Malformed {
            what: WHAT,
            reason: "no threshold (a frost-core 2 package)",
        })?;
        let key = frost_point(WHAT, package.verifying_key().serialize())?;
        let shares = package
            .verifying_shares()
            .iter()
            .map(|(id, share)| {
                Ok((
                    decode_index(WHAT, id)?,
                    frost_point(WHAT, share.serialize())?,
                ))
            })
            .collect::<Result<_, Error>>()?;
        Self::new(WHAT, threshold, key, shares)
    }

    /// Converts frost-ristretto255's encoding of a `PublicKeyPackage` (the
    /// output of its DKG or dealer).
    ///
    /// # Errors
    ///
    /// A decoding error naming `"frost-ristretto255 public key package"`,
    /// [`Error::InvalidThreshold`], [`Error::InconsistentGroupKey`].
    pub fn from_frost_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let package = decode_frost(
            "frost-ristretto255 public key package",
            bytes,
            PublicKeyPackage::<Frost>::deserialize,
            PublicKeyPackage::serialize,
        )?;
        Self::from_frost(&package)
    }

    /// The decryption threshold `t`.
    pub fn threshold(&self) -> u16 {
        self.threshold
    }

    /// The participants' indices, ascending.
    pub fn participants(&self) -> Vec<u16> {
        self.shares.keys().copied().collect()
    }

    /// The group's public key `Y` (ristretto255-compressed).
    pub fn key_bytes(&self) -> [u8; 32] {
        self.key.bytes
    }

    /// The group's public key `Y` alone: all an encryptor needs.
    pub fn encryption_key(&self) -> EncryptionKey {
        EncryptionKey(self.key)
    }

    /// Participant `index`'s verification share `Y_i`, if it is one.
    pub fn verification_share_bytes(&self, index: u16) -> Option<[u8; 32]> {
        self.shares.get(&index).map(|p| p.bytes)
    }

    /// Checks that `share` belongs to this group: same key and threshold,
    /// and its verification share is the one listed here.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownParticipant`] or [`Error::KeyMismatch`].
    pub fn check_share(&self, share: &KeyShare) -> Result<(), Error> {
        let index = share.index;
        let listed = self
            .shares
            .get(&index)
            .ok_or(Error::UnknownParticipant { index })?;
        if *listed != share.verification
            || self.key != share.group
            || self.threshold != share.threshold
        {
            return Err(Error::KeyMismatch { index });
        }
        Ok(())
    }

    /// The encoding: `"SYTG" || version 1 || t (u16 BE) || n (u16 BE) || Y ||
    /// n × (index (u16 BE) || Y_i)`, indices strictly increasing.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + 1 + 2 + 2 + 32 + 34 * self.shares.len());
        out.extend_from_slice(GROUP_MAGIC);
        out.push(VERSION);
        out.extend_from_slice(&self.threshold.to_be_bytes());
        // `new` bounds the number of shares to u16.
        let n = u16::try_from(self.shares.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&n.to_be_bytes());
        out.extend_from_slice(&self.key.bytes);
        for (index, share) in &self.shares {
            out.extend_from_slice(&index.to_be_bytes());
            out.extend_from_slice(&share.bytes);
        }
        out
    }

    /// Decodes [`GroupPublic::to_bytes`], checking the verification shares'
    /// consistency with the key.
    ///
    /// # Errors
    ///
    /// A decoding error naming `"tdh2 group key"`,
    /// [`Error::InvalidThreshold`], [`Error::InconsistentGroupKey`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        const WHAT: &str = "tdh2 group key";
        let mut reader = Reader::new(WHAT, bytes, GROUP_MAGIC, VERSION)?;
        let threshold = reader.u16()?;
        let n = reader.u16()?;
        let key = reader.point()?;
        let mut shares = BTreeMap::new();
        let mut previous = 0;
        for _ in 0..n {
            let index = reader.u16()?;
            if index <= previous {
                return Err(Error::Malformed {
                    what: WHAT,
                    reason: "participant indices are not strictly increasing",
                });
            }
            previous = index;
            shares.insert(index, reader.point()?);
        }
        reader.finish()?;
        Self::new(WHAT, threshold, key, shares)
    }
}

/// The group's public key `Y = x·G`: what [`super::encrypt_to`] encrypts
/// to, without the verification shares a combiner needs.
#[derive(Clone, PartialEq, Eq)]
pub struct EncryptionKey(pub(super) Point);

impl EncryptionKey {
    /// Decodes a ristretto255-compressed group key.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPoint`] for a non-canonical encoding or the identity.
    pub fn from_bytes(bytes: [u8; 32]) -> Result<Self, Error> {
        const WHAT: &str = "tdh2 encryption key";
        let point = Point::decode(WHAT, bytes)?;
        if point.point == RistrettoPoint::default() {
            return Err(Error::InvalidPoint { what: WHAT });
        }
        Ok(Self(point))
    }

    /// The ristretto255-compressed encoding.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.bytes
    }
}

impl core::fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_tuple("EncryptionKey")
            .field(&Hex(&self.0.bytes))
            .finish()
    }
}

impl core::fmt::Debug for GroupPublic {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("GroupPublic")
            .field("threshold", &self.threshold)
            .field("key", &Hex(&self.key.bytes))
            .field("participants", &self.participants())
            .finish()
    }
}

/// A ristretto255 point from frost-core's serializer, re-decoded with our
/// curve25519-dalek (the two dalek versions cross only as bytes).
fn frost_point(
    what: &'static str,
    bytes: Result<Vec<u8>, frost_core::Error<Frost>>,
) -> Result<Point, Error> {
    Point::decode(what, frost_point_bytes(what, bytes)?)
}
