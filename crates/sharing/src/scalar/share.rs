//! Secret scalars and scalar shares.
//!
//! # Share encoding
//!
//! ```text
//! version (1 byte, = 1) || index (1 byte, 1..=255) || value (32 bytes, canonical little-endian scalar)
//! ```

use curve25519_dalek::{RistrettoPoint, Scalar};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::Error;

/// Version byte of the [`Share`] encoding.
pub const SHARE_VERSION: u8 = 1;

/// Length of an encoded [`Share`] in bytes.
pub const SHARE_LEN: usize = 34;

/// A secret scalar (a reconstructed key): zeroized on drop, redacted under
/// `Debug`, compared in constant time, reachable only through
/// [`SecretScalar::expose_secret`].
#[derive(Clone)]
pub struct SecretScalar(Scalar);

impl SecretScalar {
    /// Takes `value` (the caller wipes its own copy).
    pub fn new(value: Scalar) -> Self {
        Self(value)
    }

    /// The secret scalar. The one greppable way in.
    pub fn expose_secret(&self) -> &Scalar {
        &self.0
    }

    /// The public key `s G` of this secret (fixed-base, constant-time).
    pub fn public_key(&self) -> RistrettoPoint {
        RistrettoPoint::mul_base(&self.0)
    }
}

impl Drop for SecretScalar {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl ZeroizeOnDrop for SecretScalar {}

impl Zeroize for SecretScalar {
    fn zeroize(&mut self) {
        self.0.zeroize();
    }
}

impl PartialEq for SecretScalar {
    fn eq(&self, other: &Self) -> bool {
        bool::from(self.0.ct_eq(&other.0))
    }
}

impl Eq for SecretScalar {}

impl core::fmt::Debug for SecretScalar {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SecretScalar(<redacted>)")
    }
}

/// One Shamir share of a scalar: its index (x-coordinate, 1..=255, as in
/// [`crate::bytes`]) and its secret value `f(index)`.
#[derive(Clone)]
pub struct Share {
    index: u8,
    value: Scalar,
}

impl Share {
    /// Builds a share from its index and value.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidIndex`] when `index` is 0 (the secret's own point).
    pub fn new(index: u8, value: Scalar) -> Result<Self, Error> {
        if index == 0 {
            return Err(Error::InvalidIndex { index: 0 });
        }
        Ok(Self { index, value })
    }

    /// The share's x-coordinate (public).
    pub fn index(&self) -> u8 {
        self.index
    }

    /// The share's secret value.
    pub fn expose_secret(&self) -> &Scalar {
        &self.value
    }

    /// The share's public verification share `Y_i = s_i G` (fixed-base,
    /// constant-time); equal to
    /// [`Commitments::verification_share`](super::Commitments::verification_share)
    /// for an honest share.
    pub fn verification_share(&self) -> RistrettoPoint {
        RistrettoPoint::mul_base(&self.value)
    }

    /// The canonical encoding (see the module documentation), wiped on drop.
    pub fn to_bytes(&self) -> Zeroizing<[u8; SHARE_LEN]> {
        let mut out = Zeroizing::new([0u8; SHARE_LEN]);
        let [version, index, value @ ..] = &mut *out;
        *version = SHARE_VERSION;
        *index = self.index;
        let mut bytes = self.value.to_bytes();
        value.copy_from_slice(&bytes);
        bytes.zeroize();
        out
    }

    /// Parses the canonical encoding.
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`] for a wrong length, an unknown version, or a
    /// value that is not a canonical scalar (not below the group order);
    /// [`Error::InvalidIndex`] for index 0.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let Ok([version, index, value @ ..]) = <&[u8; SHARE_LEN]>::try_from(bytes) else {
            return Err(Error::Malformed {
                index: 0,
                reason: "wrong length for a scalar share",
            });
        };
        if *version != SHARE_VERSION {
            return Err(Error::Malformed {
                index: 0,
                reason: "unknown share version",
            });
        }
        if *index == 0 {
            return Err(Error::InvalidIndex { index: 0 });
        }
        let value: Option<Scalar> = Scalar::from_canonical_bytes(*value).into();
        let value = value.ok_or(Error::Malformed {
            index: *index,
            reason: "non-canonical scalar",
        })?;
        Ok(Self {
            index: *index,
            value,
        })
    }
}

impl Drop for Share {
    fn drop(&mut self) {
        self.value.zeroize();
    }
}

impl ZeroizeOnDrop for Share {}

impl PartialEq for Share {
    /// Index equality (public) and value equality in constant time.
    fn eq(&self, other: &Self) -> bool {
        self.index == other.index && bool::from(self.value.ct_eq(&other.value))
    }
}

impl Eq for Share {}

impl core::fmt::Debug for Share {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Share")
            .field("index", &self.index)
            .field("value", &"<redacted>")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let value = Scalar::from(0x1234_5678u64);
        let share = Share::new(3, value).unwrap();
        let shown = format!("{share:?}");
        assert!(shown.contains("redacted") && shown.contains('3'));
        assert!(!shown.contains(&format!("{value:?}")));
        assert_eq!(
            format!("{:?}", SecretScalar::new(value)),
            "SecretScalar(<redacted>)"
        );
    }

    #[test]
    fn encoding_round_trips_and_is_frozen() {
        let share = Share::new(7, Scalar::from(258u16)).unwrap();
        let bytes = share.to_bytes();
        let mut expected = [0u8; SHARE_LEN];
        expected[..4].copy_from_slice(&[1, 7, 2, 1]);
        assert_eq!(*bytes, expected);
        assert_eq!(Share::from_bytes(&*bytes).unwrap(), share);
    }

    #[test]
    fn decoding_rejects_malformed_input() {
        let good = *Share::new(9, Scalar::from(5u8)).unwrap().to_bytes();
        assert!(matches!(
            Share::from_bytes(&good[..33]),
            Err(Error::Malformed { index: 0, .. })
        ));
        let mut bad = good;
        bad[0] = 2;
        assert!(matches!(
            Share::from_bytes(&bad),
            Err(Error::Malformed { index: 0, .. })
        ));
        let mut bad = good;
        bad[1] = 0;
        assert_eq!(
            Share::from_bytes(&bad),
            Err(Error::InvalidIndex { index: 0 })
        );
        // The group order l itself is not canonical.
        let mut bad = good;
        bad[2..].copy_from_slice(&[
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
            0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ]);
        assert_eq!(
            Share::from_bytes(&bad),
            Err(Error::Malformed {
                index: 9,
                reason: "non-canonical scalar"
            })
        );
    }

    #[test]
    fn equality_compares_index_and_value() {
        let a = Share::new(1, Scalar::from(5u8)).unwrap();
        assert_eq!(a, Share::new(1, Scalar::from(5u8)).unwrap());
        assert_ne!(a, Share::new(2, Scalar::from(5u8)).unwrap());
        assert_ne!(a, Share::new(1, Scalar::from(6u8)).unwrap());
        assert_eq!(
            Share::new(0, Scalar::ONE).unwrap_err(),
            Error::InvalidIndex { index: 0 }
        );
    }
}
