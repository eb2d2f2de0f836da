//! Secret polynomials over the ristretto255 scalar field.
//!
//! A [`Polynomial`] of degree `t - 1` is the dealer's side of one Shamir
//! sharing: its constant term is the shared value, the other coefficients are
//! uniformly random, and it is wiped when dropped. It never leaves the crate
//! (raw polynomial access is hazmat).

use curve25519_dalek::{RistrettoPoint, Scalar};
use rand_core::CryptoRng;
use zeroize::{Zeroize, Zeroizing};

use super::Commitments;

/// `a_0 + a_1 x + ... + a_{t-1} x^{t-1}`, coefficients wiped on drop.
pub(crate) struct Polynomial {
    /// `a_0, a_1, ..., a_{t-1}`; never empty.
    coefficients: Vec<Scalar>,
}

impl Polynomial {
    /// A polynomial with constant term `constant` and `threshold - 1`
    /// uniformly random higher coefficients (so any `threshold` evaluations
    /// determine it). `threshold` must be at least 1; callers check it.
    pub(crate) fn random<R: CryptoRng + ?Sized>(
        constant: &Scalar,
        threshold: usize,
        rng: &mut R,
    ) -> Self {
        let mut coefficients = Vec::with_capacity(threshold.max(1));
        coefficients.push(*constant);
        for _ in 1..threshold {
            coefficients.push(random_scalar(rng));
        }
        Self { coefficients }
    }

    /// `f(x)` by Horner's rule. `x` is public; the arithmetic is the
    /// constant-time scalar arithmetic of `curve25519-dalek`.
    pub(crate) fn evaluate(&self, x: u8) -> Scalar {
        let x = Scalar::from(x);
        let mut rows = self.coefficients.iter().rev();
        let mut acc = rows.next().copied().unwrap_or(Scalar::ZERO);
        for coefficient in rows {
            acc = acc * x + coefficient;
        }
        acc
    }

    /// Feldman commitments `A_k = a_k G` (fixed-base, constant-time).
    pub(crate) fn commit(&self) -> Commitments {
        Commitments::from_points_unchecked(
            self.coefficients
                .iter()
                .map(RistrettoPoint::mul_base)
                .collect(),
        )
    }
}

impl Drop for Polynomial {
    fn drop(&mut self) {
        self.coefficients.zeroize();
    }
}

/// A uniformly random scalar: 64 random bytes reduced modulo `l` (bias below
/// 2^-250), with the random bytes wiped afterwards.
pub(crate) fn random_scalar<R: CryptoRng + ?Sized>(rng: &mut R) -> Scalar {
    let mut wide = Zeroizing::new([0u8; 64]);
    rng.fill_bytes(wide.as_mut_slice());
    Scalar::from_bytes_mod_order_wide(&wide)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    #[test]
    fn evaluate_matches_the_power_sum() {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let constant = random_scalar(&mut rng);
        let p = Polynomial::random(&constant, 4, &mut rng);
        assert_eq!(p.evaluate(0), constant);
        let x = Scalar::from(7u8);
        let mut power = Scalar::ONE;
        let mut expected = Scalar::ZERO;
        for c in &p.coefficients {
            expected += c * power;
            power *= x;
        }
        assert_eq!(p.evaluate(7), expected);
    }

    #[test]
    fn threshold_one_is_the_constant() {
        let mut rng = ChaCha20Rng::seed_from_u64(4);
        let constant = random_scalar(&mut rng);
        let p = Polynomial::random(&constant, 1, &mut rng);
        assert_eq!(p.evaluate(200), constant);
        assert_eq!(p.commit().threshold(), 1);
    }
}
