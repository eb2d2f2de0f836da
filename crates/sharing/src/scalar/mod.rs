//! Shamir secret sharing over the ristretto255 scalar field (Shamir, "How to
//! share a secret", CACM 1979) with Feldman verifiable commitments (Feldman,
//! "A practical scheme for non-interactive verifiable secret sharing",
//! FOCS 1987) on the ristretto255 group (RFC 9496), and the share-moving
//! protocols of DESIGN.md section 6: [`refresh`], [`reshare`] and [`repair`].
//!
//! A dealer picks `f(x) = s + a_1 x + ... + a_{t-1} x^{t-1}` with uniformly
//! random `a_k`; share `i` is `f(i)`, and the public [`Commitments`] are
//! `A_k = a_k G` with `A_0 = s G` the public key. Any `t` shares rebuild `s`
//! ([`combine`]); any holder checks its share against the commitments
//! ([`verify`]).
//!
//! Share indices are `u8` in `1..=255`, exactly as in [`crate::bytes`], so
//! one index space serves both kinds of key and the crate's error variants
//! name the culprit share by the same number.
//!
//! # Why not `vsss-rs`
//!
//! `vsss-rs` 6 works with `curve25519-dalek` 5's `Scalar` and
//! `RistrettoPoint` through the `ff`/`group` 0.14 traits, and the tests
//! cross-check against it (each side combines and verifies the other's
//! shares). It is not used for the core here because:
//!
//! - its share type (`DefaultShare`) is `Copy` and derives `Debug`, so the
//!   polynomial it builds inside `split_secret` (the secret and every
//!   coefficient) is freed without being wiped, and shares print their
//!   value — both against DESIGN.md section 10;
//! - it refuses threshold 1 and rejects a (valid, if unlikely) zero share
//!   value, and its error type names no culprit;
//! - it evaluates Feldman verifiers with one constant-time 256-bit
//!   variable-base multiplication per coefficient; here the public side is
//!   Horner's rule in the exponent with 8-bit multipliers and the secret side
//!   uses the fixed-base table ([`RistrettoPoint::mul_base`]): one share
//!   verifies 4-6x faster in `benches/scalar.rs`;
//! - refresh, reshare and repair need the polynomial and commitment
//!   arithmetic directly, which it does not expose.
//!
//! The arithmetic itself is `curve25519-dalek`'s; this module adds only
//! Horner evaluation, Lagrange coefficients and bookkeeping.
//!
//! # Security
//!
//! Shares are information-theoretically hidden by the polynomial, but the
//! commitments reveal `s G`: the scheme is for secrets that are discrete
//! logarithms of public keys (signing and decryption keys), not for
//! low-entropy secrets. Arithmetic on secret scalars is `curve25519-dalek`'s
//! constant-time arithmetic; secret scalars are multiplied by `G` only through
//! the constant-time fixed-base table; variable-time code touches only public
//! values (indices, commitments, Lagrange coefficients). Secret values live in
//! types that zeroize on drop and print `<redacted>`.

mod commitment;
mod dealing;
mod polynomial;
pub mod refresh;
pub mod repair;
pub mod reshare;
mod share;

pub use commitment::{COMMITMENTS_VERSION, Commitments};
pub use dealing::{DealerCommitments, Dealing, SubShare};
pub use share::{SHARE_LEN, SHARE_VERSION, SecretScalar, Share};

use curve25519_dalek::{RistrettoPoint, Scalar};
use rand_core::CryptoRng;
use zeroize::Zeroizing;

use crate::{Error, MAX_SHARES};
use polynomial::Polynomial;

/// Checks `1 <= threshold <= shares <= 255`.
pub(crate) fn check_parameters(threshold: usize, shares: usize) -> Result<(), Error> {
    if shares > MAX_SHARES {
        return Err(Error::TooManyShares {
            shares,
            max: MAX_SHARES,
        });
    }
    if threshold == 0 || threshold > shares {
        return Err(Error::InvalidThreshold { threshold, shares });
    }
    Ok(())
}

/// Splits `secret` into `shares` shares, any `threshold` of which rebuild it,
/// and returns them with the Feldman commitments to the polynomial.
///
/// Share `i` (0-based position in the result) has index `i + 1`.
///
/// # Errors
///
/// [`Error::InvalidThreshold`], [`Error::TooManyShares`] for bad parameters.
///
/// # Security
///
/// The commitments publish `secret * G`. The polynomial's coefficients are
/// wiped before returning.
pub fn split<R: CryptoRng + ?Sized>(
    secret: &Scalar,
    threshold: usize,
    shares: usize,
    rng: &mut R,
) -> Result<(Vec<Share>, Commitments), Error> {
    check_parameters(threshold, shares)?;
    let polynomial = Polynomial::random(secret, threshold, rng);
    let out = (1..=shares)
        .map(|i| {
            // 1 <= i <= shares <= 255.
            let index = u8::try_from(i).map_err(|_| Error::InvalidIndex { index: i })?;
            Share::new(index, polynomial.evaluate(index))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((out, polynomial.commit()))
}

/// Checks `share` against the Feldman commitments: `s_i G == sum_k i^k A_k`.
///
/// # Errors
///
/// [`Error::InvalidShare`] naming the share's index when it does not match.
///
/// # Security
///
/// `s_i G` is computed with the constant-time fixed-base table; the right-hand
/// side from public values only.
pub fn verify(share: &Share, commitments: &Commitments) -> Result<(), Error> {
    let expected = commitments.verification_share(share.index())?;
    if share.verification_share() == expected {
        Ok(())
    } else {
        Err(Error::InvalidShare {
            index: share.index(),
        })
    }
}

/// Rebuilds the secret from at least `threshold` shares (the first
/// `threshold` are used).
///
/// Inconsistent shares give a wrong secret, not an error; use
/// [`combine_verified`] when the commitments are at hand.
///
/// # Errors
///
/// [`Error::NotEnoughShares`] when fewer than `threshold` shares are given;
/// [`Error::DuplicateIndex`] for a repeated index.
pub fn combine(shares: &[Share], threshold: usize) -> Result<SecretScalar, Error> {
    let need = threshold.max(1);
    let chosen = shares.get(..need).ok_or(Error::NotEnoughShares {
        have: shares.len(),
        need,
    })?;
    interpolate(chosen, 0)
}

/// Verifies every share against `commitments`, then rebuilds the secret
/// from the first `commitments.threshold()` of them and checks it against
/// the public key.
///
/// # Errors
///
/// [`Error::InvalidShare`] naming the first share that fails verification;
/// [`Error::NotEnoughShares`], [`Error::DuplicateIndex`] as in [`combine`].
pub fn combine_verified(
    shares: &[Share],
    commitments: &Commitments,
) -> Result<SecretScalar, Error> {
    shares
        .iter()
        .try_for_each(|share| verify(share, commitments))?;
    let secret = combine(shares, commitments.threshold())?;
    if secret.public_key() != commitments.public_key() {
        // Unreachable with verified, distinct shares; fail closed regardless.
        let index = shares.first().map_or(0, Share::index);
        return Err(Error::InvalidShare { index });
    }
    Ok(secret)
}

/// Evaluates the polynomial through `shares` at `x`: with `x = 0` this is the
/// secret, with `x = j` share `j`. Correct only if the shares are consistent
/// and at least as many as the threshold; this function cannot tell.
///
/// # Errors
///
/// [`Error::NotEnoughShares`] for no shares; [`Error::DuplicateIndex`].
pub fn interpolate(shares: &[Share], x: u8) -> Result<SecretScalar, Error> {
    if shares.is_empty() {
        return Err(Error::NotEnoughShares { have: 0, need: 1 });
    }
    let indices: Vec<u8> = shares.iter().map(Share::index).collect();
    let lambdas = lagrange_coefficients(&indices, Scalar::from(x))?;
    let mut acc = Zeroizing::new(Scalar::ZERO);
    for (share, lambda) in shares.iter().zip(&lambdas) {
        *acc += lambda * share.expose_secret();
    }
    Ok(SecretScalar::new(*acc))
}

/// The Lagrange basis coefficient `lambda_i(at) = prod_{m != i} (at - x_m) / (x_i - x_m)`
/// over the distinct non-zero `indices`. Public values only.
///
/// # Errors
///
/// [`Error::InvalidIndex`] for a zero index or when `i` is not in
/// `indices`; [`Error::DuplicateIndex`].
pub fn lagrange_coefficient(indices: &[u8], i: u8, at: Scalar) -> Result<Scalar, Error> {
    dealing::check_indices(indices)?;
    if !indices.contains(&i) {
        return Err(Error::InvalidIndex {
            index: usize::from(i),
        });
    }
    let xi = Scalar::from(i);
    let mut num = Scalar::ONE;
    let mut den = Scalar::ONE;
    for &m in indices.iter().filter(|&&m| m != i) {
        let xm = Scalar::from(m);
        num *= at - xm;
        den *= xi - xm;
    }
    // Indices are distinct and below the group order, so `den != 0`.
    Ok(num * den.invert())
}

/// All Lagrange basis coefficients `lambda_i(at)` for the distinct non-zero
/// `indices`, in the same order, with one batched inversion. Public values only.
///
/// # Errors
///
/// [`Error::InvalidIndex`] for a zero index; [`Error::DuplicateIndex`].
pub fn lagrange_coefficients(indices: &[u8], at: Scalar) -> Result<Vec<Scalar>, Error> {
    dealing::check_indices(indices)?;
    let xs: Vec<Scalar> = indices.iter().map(|&x| Scalar::from(x)).collect();
    let mut numerators = Vec::with_capacity(xs.len());
    let mut denominators = Vec::with_capacity(xs.len());
    for (position, xi) in xs.iter().enumerate() {
        let mut num = Scalar::ONE;
        let mut den = Scalar::ONE;
        for (other, xm) in xs.iter().enumerate() {
            if other != position {
                num *= at - xm;
                den *= xi - xm;
            }
        }
        numerators.push(num);
        denominators.push(den);
    }
    // Indices are distinct and below the group order: every denominator is non-zero.
    Scalar::invert_batch_alloc(&mut denominators);
    Ok(numerators
        .into_iter()
        .zip(denominators)
        .map(|(num, inv)| num * inv)
        .collect())
}

/// The public key `s G` that a [`Commitments`] set commits to, recomputed
/// from any `t` verification shares `Y_i` by Lagrange interpolation in the
/// exponent. Lets a verifier that holds only verification shares check them.
///
/// # Errors
///
/// [`Error::InvalidIndex`], [`Error::DuplicateIndex`] for bad indices;
/// [`Error::NotEnoughShares`] for none.
pub fn interpolate_public(points: &[(u8, RistrettoPoint)]) -> Result<RistrettoPoint, Error> {
    use curve25519_dalek::traits::VartimeMultiscalarMul;
    if points.is_empty() {
        return Err(Error::NotEnoughShares { have: 0, need: 1 });
    }
    let indices: Vec<u8> = points.iter().map(|&(i, _)| i).collect();
    let lambdas = lagrange_coefficients(&indices, Scalar::ZERO)?;
    Ok(RistrettoPoint::vartime_multiscalar_mul(
        lambdas,
        points.iter().map(|(_, p)| p),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    #[test]
    fn round_trip_every_subset_of_three_of_five() {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let secret = polynomial::random_scalar(&mut rng);
        let (shares, commitments) = split(&secret, 3, 5, &mut rng).unwrap();
        assert_eq!(commitments.public_key(), RistrettoPoint::mul_base(&secret));
        for a in 0..5 {
            for b in a + 1..5 {
                for c in b + 1..5 {
                    let subset = [shares[a].clone(), shares[b].clone(), shares[c].clone()];
                    assert_eq!(*combine(&subset, 3).unwrap().expose_secret(), secret);
                }
            }
        }
    }

    #[test]
    fn rejects_bad_parameters() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let s = Scalar::ONE;
        assert_eq!(
            split(&s, 0, 3, &mut rng).unwrap_err(),
            Error::InvalidThreshold {
                threshold: 0,
                shares: 3
            }
        );
        assert_eq!(
            split(&s, 4, 3, &mut rng).unwrap_err(),
            Error::InvalidThreshold {
                threshold: 4,
                shares: 3
            }
        );
        assert_eq!(
            split(&s, 2, 256, &mut rng).unwrap_err(),
            Error::TooManyShares {
                shares: 256,
                max: 255
            }
        );
        let (shares, _) = split(&s, 2, 3, &mut rng).unwrap();
        assert_eq!(
            combine(&shares[..1], 2).unwrap_err(),
            Error::NotEnoughShares { have: 1, need: 2 }
        );
        let dup = [shares[0].clone(), shares[0].clone()];
        assert_eq!(
            combine(&dup, 2).unwrap_err(),
            Error::DuplicateIndex { index: 1 }
        );
    }

    #[test]
    fn lagrange_single_and_batch_agree() {
        let indices = [3u8, 9, 200, 1];
        let at = Scalar::from(17u8);
        let batch = lagrange_coefficients(&indices, at).unwrap();
        for (&i, lambda) in indices.iter().zip(&batch) {
            assert_eq!(lagrange_coefficient(&indices, i, at).unwrap(), *lambda);
        }
        // The basis sums to one (it interpolates the constant polynomial 1).
        assert_eq!(batch.iter().sum::<Scalar>(), Scalar::ONE);
        assert_eq!(
            lagrange_coefficient(&indices, 4, at).unwrap_err(),
            Error::InvalidIndex { index: 4 }
        );
        assert_eq!(
            lagrange_coefficients(&[1, 0], at).unwrap_err(),
            Error::InvalidIndex { index: 0 }
        );
        assert_eq!(
            lagrange_coefficients(&[5, 5], at).unwrap_err(),
            Error::DuplicateIndex { index: 5 }
        );
    }

    #[test]
    fn interpolate_rebuilds_a_share_and_the_public_key() {
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let secret = polynomial::random_scalar(&mut rng);
        let (shares, commitments) = split(&secret, 3, 6, &mut rng).unwrap();
        let rebuilt = interpolate(&shares[..3], 6).unwrap();
        assert_eq!(rebuilt.expose_secret(), shares[5].expose_secret());
        let points: Vec<_> = shares[2..5]
            .iter()
            .map(|s| (s.index(), s.verification_share()))
            .collect();
        assert_eq!(
            interpolate_public(&points).unwrap(),
            commitments.public_key()
        );
    }

    #[test]
    fn combine_verified_names_a_bad_share() {
        let mut rng = ChaCha20Rng::seed_from_u64(5);
        let secret = polynomial::random_scalar(&mut rng);
        let (mut shares, commitments) = split(&secret, 2, 3, &mut rng).unwrap();
        assert_eq!(
            *combine_verified(&shares, &commitments)
                .unwrap()
                .expose_secret(),
            secret
        );
        shares[1] = Share::new(2, shares[1].expose_secret() + Scalar::ONE).unwrap();
        assert_eq!(
            combine_verified(&shares, &commitments).unwrap_err(),
            Error::InvalidShare { index: 2 }
        );
    }
}
