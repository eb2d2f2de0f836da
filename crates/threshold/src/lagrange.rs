//! Lagrange interpolation "in the exponent" over participant indices, and
//! the consistency check of a group key's verification shares.

use std::collections::BTreeMap;

use curve25519_dalek::Scalar;
use curve25519_dalek::traits::VartimeMultiscalarMul;

/// `λ_i(x) = Π_{j ∈ set, j ≠ i} (x − j) / (i − j)`: the weight of the value
/// at `i` when interpolating at `x` from the points `set` (distinct,
/// containing `i`).
pub(crate) fn coefficient(x: u16, set: &[u16], i: u16) -> Scalar {
    let x = Scalar::from(x);
    let xi = Scalar::from(i);
    let mut numerator = Scalar::ONE;
    let mut denominator = Scalar::ONE;
    for &j in set.iter().filter(|&&j| j != i) {
        let xj = Scalar::from(j);
        numerator *= x - xj;
        denominator *= xi - xj;
    }
    numerator * denominator.invert()
}

/// Whether the verification shares `Y_i` (indices non-zero) lie on one
/// polynomial of degree `threshold − 1` whose value at 0 is `key`.
///
/// The first `threshold` shares fix the polynomial; `key` and every other
/// share are checked against it. Public data only, so variable-time.
pub(crate) fn consistent<P>(threshold: u16, key: &P, shares: &BTreeMap<u16, P>) -> bool
where
    P: VartimeMultiscalarMul<Point = P> + PartialEq + Copy,
{
    let base: Vec<(u16, P)> = shares
        .iter()
        .take(usize::from(threshold))
        .map(|(&i, &p)| (i, p))
        .collect();
    if base.len() != usize::from(threshold) || base.iter().any(|&(i, _)| i == 0) {
        return false;
    }
    let set: Vec<u16> = base.iter().map(|&(i, _)| i).collect();
    let at = |x: u16| {
        P::vartime_multiscalar_mul(
            set.iter().map(|&i| coefficient(x, &set, i)),
            base.iter().map(|&(_, p)| p),
        )
    };
    at(0) == *key
        && shares
            .iter()
            .skip(usize::from(threshold))
            .all(|(&j, p)| at(j) == *p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use curve25519_dalek::RistrettoPoint;
    use proptest::prelude::*;

    fn eval(coefficients: &[Scalar], x: u16) -> Scalar {
        coefficients
            .iter()
            .rev()
            .fold(Scalar::ZERO, |acc, c| acc * Scalar::from(x) + c)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        /// Interpolating any t points of a degree t−1 polynomial gives its
        /// value everywhere.
        #[test]
        fn interpolation_recovers_the_polynomial(
            seed in any::<[u8; 32]>(),
            t in 1usize..6,
            extra in 0usize..4,
            x in 0u16..50,
        ) {
            let coefficients: Vec<Scalar> = (0..t).map(|k| scalar(&seed, k)).collect();
            let set: Vec<u16> = (1..=(t + extra) as u16).skip(extra).collect();
            let value: Scalar = set
                .iter()
                .map(|&i| coefficient(x, &set, i) * eval(&coefficients, i))
                .sum();
            prop_assert_eq!(value, eval(&coefficients, x));
        }

        /// Honest verification shares are consistent; changing any one is
        /// detected.
        #[test]
        fn consistency_detects_a_changed_share(
            seed in any::<[u8; 32]>(),
            t in 2u16..5,
            n_extra in 0u16..3,
            victim in any::<prop::sample::Index>(),
        ) {
            let n = t + n_extra;
            let coefficients: Vec<Scalar> = (0..usize::from(t)).map(|k| scalar(&seed, k)).collect();
            let key = RistrettoPoint::mul_base(&coefficients[0]);
            let mut shares: BTreeMap<u16, RistrettoPoint> = (1..=n)
                .map(|i| (i, RistrettoPoint::mul_base(&eval(&coefficients, i))))
                .collect();
            prop_assert!(consistent(t, &key, &shares));
            let i = victim.get(&shares.keys().copied().collect::<Vec<_>>()).to_owned();
            *shares.get_mut(&i).unwrap() += RistrettoPoint::mul_base(&Scalar::ONE);
            prop_assert!(!consistent(t, &key, &shares));
        }
    }

    /// The `k`-th pseudorandom scalar from `seed`.
    fn scalar(seed: &[u8; 32], k: usize) -> Scalar {
        use sha2::{Digest, Sha512};
        let mut h = Sha512::new();
        h.update(seed);
        h.update(k.to_le_bytes());
        Scalar::from_bytes_mod_order_wide(&h.finalize().into())
    }

    #[test]
    fn too_few_shares_are_not_consistent() {
        let key = RistrettoPoint::mul_base(&Scalar::ONE);
        let shares = BTreeMap::from([(1u16, key)]);
        assert!(!consistent(2, &key, &shares));
    }
}
