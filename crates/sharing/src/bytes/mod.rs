//! Shamir secret sharing of byte strings over GF(2^8) (Shamir, "How to
//! share a secret", CACM 1979), byte-wise: byte `k` of the secret is the
//! constant term of its own random polynomial of degree `t - 1`, and the
//! share with index `x` holds every one of those polynomials evaluated at
//! `x` (1..=255).
//!
//! | item | what it does |
//! | --- | --- |
//! | [`split`], [`split_with_indices`] | deal shares of a secret |
//! | [`combine`], [`interpolate`] | rebuild the secret (or any share) from `t` shares |
//! | [`refresh`] | proactive refresh: same holders, new shares of the same secret |
//! | [`reshare`] | move the secret to a new committee and/or new `(t, n)` |
//! | [`repair`] | rebuild one lost share from `t` others, without the secret |
//!
//! Shares use the AES field polynomial 0x11b and the index as x-coordinate,
//! the same as vsss-rs's `Gf256` byte sharing: a vsss-rs share is the index
//! byte followed by the share value, and the two interoperate (see
//! `tests/bytes_props.rs`).
//!
//! # Performance
//!
//! Splitting evaluates the `n x t` Vandermonde matrix `(x_j^k)` against the
//! secret and `t - 1` rows of random coefficients, block by block
//! ([`BLOCK`] bytes of each row, so that a block's coefficients stay in
//! cache), with the fused [`field::Kernels::mul_matrix`] kernel; combining
//! applies one row of Lagrange coefficients the same way. The kernels run
//! at gigabytes per second with AVX2/AVX-512, so combining costs little more
//! than reading the shares, and splitting is bounded by the caller's RNG
//! (which has to produce `t - 1` bytes per secret byte) and by writing `n`
//! fresh share buffers. `benches/bytes.rs` measures both against vsss-rs
//! and blahaj.
//!
//! # Security
//!
//! Information-theoretically secure: any `t - 1` shares are independent of
//! the secret, provided the RNG's output is uniform. Constant-time in the
//! secret and the coefficients; the share indices (x-coordinates), the
//! threshold and the length are public.

use rand_core::CryptoRng;
use zeroize::Zeroizing;

use crate::{Error, MAX_SHARES, SecretBytes, field};

mod commitment;
pub mod refresh;
pub mod repair;
pub mod reshare;

pub use commitment::{Commitments, Dealing, SubShare};

/// How many secret bytes are dealt per block: the caller's RNG fills the
/// `t - 1` coefficient rows of one block (`(t - 1) * BLOCK` bytes) before
/// the block is evaluated, so that they are read back from the L1/L2 cache.
///
/// Part of the output format: with a seeded RNG, the shares depend on this
/// value (the known-answer vectors in `tests/data/` pin it).
pub const BLOCK: usize = 4096;

/// One share of a byte string: its index (x-coordinate, 1..=255) and its
/// secret value (as long as the secret).
#[derive(Clone, PartialEq, Eq)]
pub struct Share {
    index: u8,
    value: SecretBytes,
}

impl Share {
    /// Builds a share from its index and value.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidIndex`] when `index` is 0 (the secret's own point).
    pub fn new(index: u8, value: SecretBytes) -> Result<Self, Error> {
        if index == 0 {
            return Err(Error::InvalidIndex { index: 0 });
        }
        Ok(Self { index, value })
    }

    /// The share's x-coordinate (public).
    pub fn index(&self) -> u8 {
        self.index
    }

    /// The share's value.
    pub fn expose_secret(&self) -> &[u8] {
        self.value.expose_secret()
    }

    /// Length of the value in bytes (public).
    pub fn len(&self) -> usize {
        self.value.len()
    }

    /// Whether the value is empty.
    pub fn is_empty(&self) -> bool {
        self.value.is_empty()
    }
}

impl core::fmt::Debug for Share {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Share")
            .field("index", &self.index)
            .field("value", &"<redacted>")
            .finish()
    }
}

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

/// Checks that share indices are non-zero and distinct.
pub(crate) fn check_indices(indices: &[u8]) -> Result<(), Error> {
    let mut seen = [false; 256];
    for &index in indices {
        if index == 0 {
            return Err(Error::InvalidIndex { index: 0 });
        }
        if let Some(slot) = seen.get_mut(usize::from(index)) {
            if *slot {
                return Err(Error::DuplicateIndex { index });
            }
            *slot = true;
        }
    }
    Ok(())
}

/// Splits `secret` into `shares` shares, any `threshold` of which rebuild it.
///
/// Share `i` (0-based position in the result) has index `i + 1`.
///
/// # Errors
///
/// [`Error::InvalidThreshold`], [`Error::TooManyShares`] for bad parameters;
/// [`Error::EmptySecret`] for an empty secret.
///
/// # Security
///
/// The coefficients come from `rng`, `threshold - 1` bytes per secret byte;
/// the shares are only as unpredictable as its output.
pub fn split<R: CryptoRng + ?Sized>(
    secret: &[u8],
    threshold: usize,
    shares: usize,
    rng: &mut R,
) -> Result<Vec<Share>, Error> {
    check_parameters(threshold, shares)?;
    // check_parameters bounds `shares` by 255, so every index fits a byte.
    let indices: Vec<u8> = (1..=shares).map(|i| u8::try_from(i).unwrap_or(0)).collect();
    split_with_indices(secret, threshold, &indices, rng)
}

/// Splits `secret` into one share per entry of `indices` (the shares'
/// x-coordinates, in that order), any `threshold` of which rebuild it.
///
/// # Errors
///
/// [`Error::InvalidThreshold`] unless `1 <= threshold <= indices.len()`;
/// [`Error::InvalidIndex`] for a zero index, [`Error::DuplicateIndex`] for a
/// repeated one; [`Error::EmptySecret`] for an empty secret.
///
/// # Security
///
/// As for [`split`].
pub fn split_with_indices<R: CryptoRng + ?Sized>(
    secret: &[u8],
    threshold: usize,
    indices: &[u8],
    rng: &mut R,
) -> Result<Vec<Share>, Error> {
    check_parameters(threshold, indices.len())?;
    check_indices(indices)?;
    if secret.is_empty() {
        return Err(Error::EmptySecret);
    }
    let values = deal_polynomials(Some(secret), secret.len(), threshold, indices, rng);
    indices
        .iter()
        .zip(values)
        .map(|(&index, value)| Share::new(index, value))
        .collect()
}

/// Evaluates `len` random polynomials of degree `threshold - 1` at each of
/// `xs`. Byte `k` of the constant terms is `constant[k]`, or 0 when
/// `constant` is `None` (a sharing of zero, for refresh); the other
/// coefficients are drawn from `rng` block by block, row `k - 1` of a block
/// holding the coefficients of `x^k`. The caller has checked the parameters.
pub(crate) fn deal_polynomials<R: CryptoRng + ?Sized>(
    constant: Option<&[u8]>,
    len: usize,
    threshold: usize,
    xs: &[u8],
    rng: &mut R,
) -> Vec<SecretBytes> {
    let degree = threshold.saturating_sub(1);
    // Columns: [constant term,] then the coefficients of x^1 .. x^degree.
    let skip = usize::from(constant.is_none());
    let matrix = field::Matrix::new(xs.len(), threshold - skip.min(threshold), |r, c| {
        field::pow(xs.get(r).copied().unwrap_or(0), c + skip)
    });
    let kernels = field::active();
    let mut values: Vec<SecretBytes> = xs
        .iter()
        .map(|_| SecretBytes::new(vec![0u8; len]))
        .collect();
    let mut coefficients = Zeroizing::new(vec![0u8; degree * BLOCK.min(len)]);
    let mut start = 0;
    while start < len {
        let block_len = BLOCK.min(len - start);
        let end = start + block_len;
        let rows = coefficients
            .get_mut(..degree * block_len)
            .unwrap_or_default();
        rng.fill_bytes(rows);
        let mut inputs: Vec<&[u8]> = Vec::with_capacity(threshold);
        if let Some(block) = constant.and_then(|c| c.get(start..end)) {
            inputs.push(block);
        }
        inputs.extend(rows.chunks_exact(block_len));
        let mut outputs: Vec<&mut [u8]> = values
            .iter_mut()
            .filter_map(|v| v.expose_secret_mut().get_mut(start..end))
            .collect();
        kernels.mul_matrix(&matrix, &mut outputs, &inputs);
        start = end;
    }
    values
}

/// Checks that shares are non-empty, distinct and equally long; returns the length.
pub(crate) fn check_shares(shares: &[Share]) -> Result<usize, Error> {
    let first = shares
        .first()
        .ok_or(Error::NotEnoughShares { have: 0, need: 1 })?;
    let expected = first.len();
    let mut seen = [false; 256];
    for share in shares {
        let slot = seen
            .get_mut(usize::from(share.index))
            .ok_or(Error::InvalidIndex {
                index: usize::from(share.index),
            })?;
        if *slot {
            return Err(Error::DuplicateIndex { index: share.index });
        }
        *slot = true;
        if share.len() != expected {
            return Err(Error::LengthMismatch {
                index: share.index,
                len: share.len(),
                expected,
            });
        }
    }
    Ok(expected)
}

/// The Lagrange basis coefficients `l_i(x)` for the given distinct
/// x-coordinates, evaluated at `x`. Public values only.
///
/// The result is meaningless if `indices` repeats a value; callers check.
pub fn lagrange_coefficients(indices: &[u8], x: u8) -> Vec<u8> {
    // l_i(x) = prod_{j != i} (x - x_j) / prod_{j != i} (x_i - x_j); the t
    // denominators are inverted together with one field inversion
    // (Montgomery's trick): 3t multiplications instead of t inversions.
    let products = |xi: u8, point: u8| {
        indices
            .iter()
            .filter(|&&xj| xj != xi)
            .fold(1u8, |acc, &xj| field::mul(acc, point ^ xj))
    };
    let numerators: Vec<u8> = indices.iter().map(|&xi| products(xi, x)).collect();
    let denominators: Vec<u8> = indices.iter().map(|&xi| products(xi, xi)).collect();
    // prefix[i] = den_0 * .. * den_{i-1}
    let mut prefix = Vec::with_capacity(denominators.len());
    let mut running = 1u8;
    for &d in &denominators {
        prefix.push(running);
        running = field::mul(running, d);
    }
    // Walking backwards, `inverse` is 1 / (den_0 * .. * den_i).
    let mut inverse = field::inv(running);
    let mut out = vec![0u8; indices.len()];
    for (((o, &n), &d), &p) in out
        .iter_mut()
        .zip(&numerators)
        .zip(&denominators)
        .zip(&prefix)
        .rev()
    {
        *o = field::mul(n, field::mul(inverse, p));
        inverse = field::mul(inverse, d);
    }
    out
}

/// `sum_i coefficients[i] * values[i]`, byte-wise, into a new secret of
/// `len` bytes (every value is at least `len` long: callers check).
pub(crate) fn linear_combination(values: &[&[u8]], coefficients: &[u8], len: usize) -> SecretBytes {
    let matrix = field::Matrix::new(1, coefficients.len(), |_, c| {
        coefficients.get(c).copied().unwrap_or(0)
    });
    let mut out = SecretBytes::new(vec![0u8; len]);
    let mut outputs = [out.expose_secret_mut().as_mut_slice()];
    field::active().mul_matrix(&matrix, &mut outputs, values);
    out
}

/// Evaluates the polynomial through `shares` at `x`.
///
/// With `x = 0` this reconstructs the secret; with `x = j` it rebuilds share `j`.
/// The result is correct only if at least `threshold` consistent shares are
/// given; this function cannot tell otherwise.
///
/// # Errors
///
/// [`Error::NotEnoughShares`] for no shares, [`Error::DuplicateIndex`],
/// [`Error::LengthMismatch`].
pub fn interpolate(shares: &[Share], x: u8) -> Result<SecretBytes, Error> {
    let len = check_shares(shares)?;
    let indices: Vec<u8> = shares.iter().map(Share::index).collect();
    let lambdas = lagrange_coefficients(&indices, x);
    let values: Vec<&[u8]> = shares.iter().map(Share::expose_secret).collect();
    Ok(linear_combination(&values, &lambdas, len))
}

/// Rebuilds the secret from at least `threshold` shares.
///
/// Uses the first `threshold` shares; any extra ones are not read.
///
/// # Errors
///
/// [`Error::NotEnoughShares`] when fewer than `threshold` shares are given;
/// [`Error::DuplicateIndex`], [`Error::LengthMismatch`] for inconsistent sets.
///
/// # Security
///
/// Shamir sharing has no integrity: a wrong or tampered share silently
/// yields a wrong secret. Authenticate shares (or the secret) separately.
pub fn combine(shares: &[Share], threshold: usize) -> Result<SecretBytes, Error> {
    let need = threshold.max(1);
    if shares.len() < need {
        return Err(Error::NotEnoughShares {
            have: shares.len(),
            need,
        });
    }
    // Any `threshold` of them determine the polynomial; using exactly that
    // many keeps the cost at t multiply-accumulates per byte.
    interpolate(shares.get(..need).unwrap_or(shares), 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    #[test]
    fn round_trip_every_subset_of_three_of_five() {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let secret = b"the quick brown fox".to_vec();
        let shares = split(&secret, 3, 5, &mut rng).unwrap();
        for a in 0..5 {
            for b in a + 1..5 {
                for c in b + 1..5 {
                    let subset = [shares[a].clone(), shares[b].clone(), shares[c].clone()];
                    assert_eq!(combine(&subset, 3).unwrap().expose_secret(), &secret[..]);
                }
            }
        }
    }

    #[test]
    fn rejects_bad_parameters() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        assert_eq!(
            split(b"x", 0, 3, &mut rng).unwrap_err(),
            Error::InvalidThreshold {
                threshold: 0,
                shares: 3
            }
        );
        assert_eq!(
            split(b"x", 4, 3, &mut rng).unwrap_err(),
            Error::InvalidThreshold {
                threshold: 4,
                shares: 3
            }
        );
        assert_eq!(
            split(b"x", 2, 256, &mut rng).unwrap_err(),
            Error::TooManyShares {
                shares: 256,
                max: 255
            }
        );
        assert_eq!(split(b"", 2, 3, &mut rng).unwrap_err(), Error::EmptySecret);
        assert_eq!(
            split_with_indices(b"x", 2, &[3, 0], &mut rng).unwrap_err(),
            Error::InvalidIndex { index: 0 }
        );
        assert_eq!(
            split_with_indices(b"x", 2, &[3, 3], &mut rng).unwrap_err(),
            Error::DuplicateIndex { index: 3 }
        );
    }

    #[test]
    fn shares_are_polynomial_evaluations() {
        // With threshold 2, share(x) = secret + c * x, so
        // share(1) ^ share(2) ^ share(3) = c * (1 ^ 2 ^ 3) ^ secret = secret.
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let secret: Vec<u8> = (0..=255u8).collect();
        let shares = split(&secret, 2, 3, &mut rng).unwrap();
        for (k, &s) in secret.iter().enumerate() {
            let sum = shares[0].expose_secret()[k]
                ^ shares[1].expose_secret()[k]
                ^ shares[2].expose_secret()[k];
            assert_eq!(sum, s);
        }
    }

    #[test]
    fn threshold_one_copies_the_secret() {
        let mut rng = ChaCha20Rng::seed_from_u64(4);
        let shares = split(b"abc", 1, 3, &mut rng).unwrap();
        for share in &shares {
            assert_eq!(share.expose_secret(), b"abc");
        }
    }

    #[test]
    fn debug_is_redacted() {
        let mut rng = ChaCha20Rng::seed_from_u64(5);
        let shares = split(b"hunter2", 2, 2, &mut rng).unwrap();
        let shown = format!("{:?}", shares[0]);
        assert!(shown.contains("redacted") && shown.contains("index: 1"));
    }

    #[test]
    fn lagrange_coefficients_sum_to_one_at_any_point() {
        // The constant polynomial 1 interpolates to 1 everywhere.
        let indices = [1u8, 5, 9, 200];
        for x in [0u8, 1, 7, 255] {
            let sum = lagrange_coefficients(&indices, x)
                .into_iter()
                .fold(0, |a, b| a ^ b);
            assert_eq!(sum, 1);
        }
    }
}
