//! Feldman commitments to a sharing polynomial (Feldman, "A practical scheme
//! for non-interactive verifiable secret sharing", FOCS 1987).
//!
//! For a polynomial `f(x) = a_0 + a_1 x + ... + a_{t-1} x^{t-1}` the dealer
//! publishes `A_k = a_k G` on ristretto255 (RFC 9496). Anyone can then compute
//! share `i`'s public verification share `Y_i = f(i) G = sum_k i^k A_k` and
//! check a share `s_i` by `s_i G == Y_i`. `A_0` is the group public key.
//!
//! # Encoding
//!
//! ```text
//! version (1 byte, = 1) || t (1 byte, 1..=255) || t x 32-byte compressed ristretto255 points
//! ```
//!
//! Decoding rejects unknown versions, a zero count, a length that does not
//! match the count, and any non-canonical point encoding.

use curve25519_dalek::traits::{Identity, VartimeMultiscalarMul};
use curve25519_dalek::{RistrettoPoint, Scalar, ristretto::CompressedRistretto};

use crate::{Error, MAX_SHARES};

/// Version byte of the [`Commitments`] encoding.
pub const COMMITMENTS_VERSION: u8 = 1;

/// BLAKE3 key-derivation context for [`Commitments::digest`].
const DIGEST_CONTEXT: &str = "symbolon-sharing v1 ristretto255 Feldman commitments digest";

/// Feldman commitments `A_0 .. A_{t-1}` to a sharing polynomial: public.
///
/// Always holds between 1 and 255 points; `A_0` is the public key of the
/// shared secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Commitments {
    points: Vec<RistrettoPoint>,
}

impl Commitments {
    /// Wraps commitments `A_0 .. A_{t-1}`.
    ///
    /// # Errors
    ///
    /// [`Error::MalformedCommitments`] when `points` is empty or holds more
    /// than 255 points.
    pub fn from_points(points: Vec<RistrettoPoint>) -> Result<Self, Error> {
        if points.is_empty() {
            return Err(Error::MalformedCommitments {
                reason: "no commitments",
            });
        }
        if points.len() > MAX_SHARES {
            return Err(Error::MalformedCommitments {
                reason: "more than 255 commitments",
            });
        }
        Ok(Self { points })
    }

    /// For callers that built `points` from a polynomial of degree
    /// `t - 1 <= 254` themselves.
    pub(crate) fn from_points_unchecked(points: Vec<RistrettoPoint>) -> Self {
        Self { points }
    }

    /// The commitments `A_0 .. A_{t-1}`.
    pub fn points(&self) -> &[RistrettoPoint] {
        &self.points
    }

    /// The threshold `t` of the committed sharing (the number of commitments).
    pub fn threshold(&self) -> usize {
        self.points.len()
    }

    /// The public key `A_0 = s G` of the shared secret `s`.
    pub fn public_key(&self) -> RistrettoPoint {
        self.points
            .first()
            .copied()
            .unwrap_or_else(RistrettoPoint::identity)
    }

    /// Share `index`'s public verification share `Y_i = f(i) G = sum_k i^k A_k`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidIndex`] for index 0 (that is the secret's own point;
    /// use [`Commitments::public_key`]).
    ///
    /// # Security
    ///
    /// Variable-time: the index and the commitments are public.
    pub fn verification_share(&self, index: u8) -> Result<RistrettoPoint, Error> {
        if index == 0 {
            return Err(Error::InvalidIndex { index: 0 });
        }
        // Horner's rule in the exponent: every step multiplies by the 8-bit
        // index, a few doublings and additions instead of a full scalar
        // multiplication per coefficient.
        let mut rows = self.points.iter().rev();
        let mut acc = rows
            .next()
            .copied()
            .unwrap_or_else(RistrettoPoint::identity);
        for point in rows {
            acc = mul_small(&acc, index) + point;
        }
        Ok(acc)
    }

    /// The canonical encoding (see the module documentation).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(2 + 32 * self.points.len());
        out.push(COMMITMENTS_VERSION);
        // At most MAX_SHARES = 255 points by construction.
        out.push(u8::try_from(self.points.len()).unwrap_or(u8::MAX));
        for point in &self.points {
            out.extend_from_slice(point.compress().as_bytes());
        }
        out
    }

    /// Parses the canonical encoding.
    ///
    /// # Errors
    ///
    /// [`Error::MalformedCommitments`] for a truncated or over-long input, an
    /// unknown version, a zero count, or a point that is not the canonical
    /// encoding of a ristretto255 element.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let [version, count, body @ ..] = bytes else {
            return Err(Error::MalformedCommitments {
                reason: "truncated header",
            });
        };
        if *version != COMMITMENTS_VERSION {
            return Err(Error::MalformedCommitments {
                reason: "unknown version",
            });
        }
        if *count == 0 {
            return Err(Error::MalformedCommitments {
                reason: "no commitments",
            });
        }
        if body.len() != 32 * usize::from(*count) {
            return Err(Error::MalformedCommitments {
                reason: "length does not match the commitment count",
            });
        }
        let points = body
            .chunks_exact(32)
            .map(|chunk| {
                CompressedRistretto::from_slice(chunk)
                    .ok()
                    .and_then(|c| c.decompress())
                    .ok_or(Error::MalformedCommitments {
                        reason: "non-canonical ristretto255 point",
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Self::from_points(points)
    }

    /// A 32-byte digest of the canonical encoding: BLAKE3 in key-derivation
    /// mode with a context string private to this use, so it can stand for
    /// the commitments (e.g. as the share commitment in an envelope).
    pub fn digest(&self) -> [u8; 32] {
        let mut hasher = blake3::Hasher::new_derive_key(DIGEST_CONTEXT);
        hasher.update(&self.to_bytes());
        *hasher.finalize().as_bytes()
    }

    /// Coefficient-wise `sum_d weight_d * C_d` over dealers' commitments that
    /// all have `threshold` points. Variable-time (public inputs only).
    pub(crate) fn weighted_sum<'a>(
        threshold: usize,
        terms: impl Iterator<Item = (Scalar, &'a Commitments)> + Clone,
    ) -> Self {
        let points = (0..threshold)
            .map(|k| {
                let (weights, points): (Vec<Scalar>, Vec<RistrettoPoint>) = terms
                    .clone()
                    .map(|(w, c)| (w, c.points.get(k).copied().unwrap_or_default()))
                    .unzip();
                RistrettoPoint::vartime_multiscalar_mul(weights, points)
            })
            .collect();
        Self { points }
    }

    /// Coefficient-wise sum `self + sum_d C_d` (all of the same length).
    pub(crate) fn plus<'a>(&self, others: impl Iterator<Item = &'a Commitments>) -> Self {
        let mut points = self.points.clone();
        for other in others {
            for (acc, point) in points.iter_mut().zip(&other.points) {
                *acc += point;
            }
        }
        Self { points }
    }
}

/// `point * k` for a small public `k`, by double-and-add (variable-time in `k`).
fn mul_small(point: &RistrettoPoint, k: u8) -> RistrettoPoint {
    let mut acc = RistrettoPoint::identity();
    let mut started = false;
    for bit in (0..8).rev() {
        if started {
            acc = acc + acc;
        }
        if (k >> bit) & 1 == 1 {
            acc += point;
            started = true;
        }
    }
    acc
}

impl core::fmt::Debug for Commitments {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let digest = self.digest();
        write!(
            f,
            "Commitments {{ threshold: {}, digest: ",
            self.points.len()
        )?;
        for byte in digest.iter().take(8) {
            write!(f, "{byte:02x}")?;
        }
        write!(f, "… }}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT;

    fn sample(t: u64) -> Commitments {
        Commitments::from_points(
            (1..=t)
                .map(|k| RISTRETTO_BASEPOINT_POINT * Scalar::from(k))
                .collect(),
        )
        .unwrap()
    }

    #[test]
    fn encoding_round_trips() {
        let c = sample(3);
        let bytes = c.to_bytes();
        assert_eq!(bytes.len(), 2 + 3 * 32);
        assert_eq!(bytes[..2], [COMMITMENTS_VERSION, 3]);
        assert_eq!(Commitments::from_bytes(&bytes).unwrap(), c);
    }

    #[test]
    fn decoding_rejects_malformed_input() {
        let bytes = sample(2).to_bytes();
        let reject = |b: &[u8]| {
            matches!(
                Commitments::from_bytes(b),
                Err(Error::MalformedCommitments { .. })
            )
        };
        assert!(reject(&[]));
        assert!(reject(&bytes[..1]));
        assert!(reject(&bytes[..bytes.len() - 1]));
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(reject(&longer));
        let mut version = bytes.clone();
        version[0] = 2;
        assert!(reject(&version));
        assert!(reject(&[COMMITMENTS_VERSION, 0]));
        // p = 2^255 - 19 is the non-canonical encoding of 0 (the identity).
        let mut non_canonical = bytes.clone();
        non_canonical[2] = 0xed;
        non_canonical[3..33].fill(0xff);
        non_canonical[33] = 0x7f;
        assert!(reject(&non_canonical));
        // A negative field element (low bit set) is not a canonical encoding.
        let mut negative = bytes;
        negative[2..34].copy_from_slice(&[1u8; 32]);
        assert!(reject(&negative));
    }

    #[test]
    fn identity_is_a_valid_commitment() {
        let c = Commitments::from_points(vec![RistrettoPoint::identity(); 2]).unwrap();
        assert_eq!(Commitments::from_bytes(&c.to_bytes()).unwrap(), c);
    }

    #[test]
    fn verification_share_evaluates_in_the_exponent() {
        // A_k = (k+1) G, so Y_2 = (1 + 2*2 + 3*4) G = 17 G.
        let c = sample(3);
        assert_eq!(
            c.verification_share(2).unwrap(),
            RISTRETTO_BASEPOINT_POINT * Scalar::from(17u8)
        );
        assert_eq!(
            c.verification_share(0),
            Err(Error::InvalidIndex { index: 0 })
        );
        assert_eq!(c.public_key(), RISTRETTO_BASEPOINT_POINT);
    }

    #[test]
    fn mul_small_matches_scalar_multiplication() {
        let p = RISTRETTO_BASEPOINT_POINT * Scalar::from(12345u16);
        for k in 0..=255u8 {
            assert_eq!(mul_small(&p, k), p * Scalar::from(k), "k = {k}");
        }
    }

    #[test]
    fn verification_share_matches_the_power_sum() {
        let c = sample(7);
        for index in [1u8, 2, 77, 255] {
            let x = Scalar::from(index);
            let mut power = Scalar::ONE;
            let powers: Vec<Scalar> = (0..7)
                .map(|_| {
                    let current = power;
                    power *= x;
                    current
                })
                .collect();
            let expected = RistrettoPoint::vartime_multiscalar_mul(&powers, c.points());
            assert_eq!(c.verification_share(index).unwrap(), expected);
        }
    }

    #[test]
    fn digest_depends_on_every_point() {
        assert_ne!(sample(2).digest(), sample(3).digest());
        let mut other = sample(3);
        other.points[2] += RISTRETTO_BASEPOINT_POINT;
        assert_ne!(other.digest(), sample(3).digest());
        assert!(!format!("{:?}", sample(2)).is_empty());
    }
}
