//! Shamir secret sharing of byte strings over GF(2^8) (Shamir 1979), byte-wise:
//! byte `k` of the secret is the constant term of its own random polynomial of
//! degree `t - 1`, and share `i` holds that polynomial evaluated at `x = i`.
//!
//! # Security
//!
//! Information-theoretically secure: any `t - 1` shares are independent of
//! the secret. Constant-time in the secret and the coefficients; the share
//! indices (x-coordinates) are public.

use rand_core::CryptoRng;
use zeroize::Zeroize;

use crate::{Error, MAX_SHARES, SecretBytes, field};

/// How many secret bytes are processed per block, so that the random
/// coefficients and partial results stay in the L1/L2 cache.
const BLOCK: usize = 16 * 1024;

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
        return Err(Error::TooManyShares { shares, max: MAX_SHARES });
    }
    if threshold == 0 || threshold > shares {
        return Err(Error::InvalidThreshold { threshold, shares });
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
pub fn split<R: CryptoRng + ?Sized>(
    secret: &[u8],
    threshold: usize,
    shares: usize,
    rng: &mut R,
) -> Result<Vec<Share>, Error> {
    check_parameters(threshold, shares)?;
    if secret.is_empty() {
        return Err(Error::EmptySecret);
    }
    let len = secret.len();
    let mut out: Vec<Vec<u8>> = (0..shares).map(|_| vec![0u8; len]).collect();
    let degree = threshold - 1;
    let mut coefficients = vec![0u8; degree * BLOCK.min(len)];
    for (block_no, chunk) in secret.chunks(BLOCK).enumerate() {
        let start = block_no * BLOCK;
        let block_len = chunk.len();
        let coefficients = coefficients.get_mut(..degree * block_len).unwrap_or_default();
        rng.fill_bytes(coefficients);
        for (i, share) in out.iter_mut().enumerate() {
            // Share indices are 1..=shares <= 255, so this never truncates.
            let x = (i + 1) as u8;
            let Some(y) = share.get_mut(start..start + block_len) else {
                continue;
            };
            // Horner: y = ((c_{t-1} x + c_{t-2}) x + ...) x + secret.
            let mut rows = coefficients.chunks_exact(block_len).rev();
            if let Some(top) = rows.next() {
                y.copy_from_slice(top);
                for row in rows {
                    field::mul_add(y, row, x);
                }
                field::mul_add(y, chunk, x);
            } else {
                y.copy_from_slice(chunk);
            }
        }
    }
    coefficients.zeroize();
    out.into_iter()
        .enumerate()
        .map(|(i, value)| Share::new((i + 1) as u8, SecretBytes::new(value)))
        .collect()
}

/// Checks that shares are non-empty, distinct and equally long; returns the length.
pub(crate) fn check_shares(shares: &[Share]) -> Result<usize, Error> {
    let first = shares.first().ok_or(Error::NotEnoughShares { have: 0, need: 1 })?;
    let expected = first.len();
    let mut seen = [false; 256];
    for share in shares {
        let slot = seen.get_mut(usize::from(share.index)).ok_or(Error::InvalidIndex {
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
pub fn lagrange_coefficients(indices: &[u8], x: u8) -> Vec<u8> {
    indices
        .iter()
        .map(|&xi| {
            let mut num = 1u8;
            let mut den = 1u8;
            for &xj in indices {
                if xj != xi {
                    num = field::mul(num, x ^ xj);
                    den = field::mul(den, xi ^ xj);
                }
            }
            field::mul(num, field::inv(den))
        })
        .collect()
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
    let mut out = vec![0u8; len];
    for (share, lambda) in shares.iter().zip(lambdas) {
        field::mul_acc(&mut out, share.expose_secret(), lambda);
    }
    Ok(SecretBytes::new(out))
}

/// Rebuilds the secret from at least `threshold` shares.
///
/// # Errors
///
/// [`Error::NotEnoughShares`] when fewer than `threshold` shares are given;
/// [`Error::DuplicateIndex`], [`Error::LengthMismatch`] for inconsistent sets.
pub fn combine(shares: &[Share], threshold: usize) -> Result<SecretBytes, Error> {
    if shares.len() < threshold.max(1) {
        return Err(Error::NotEnoughShares {
            have: shares.len(),
            need: threshold.max(1),
        });
    }
    // Any `threshold` of them determine the polynomial; using exactly that
    // many keeps the cost at t multiply-accumulates per byte.
    interpolate(shares.get(..threshold.max(1)).unwrap_or(shares), 0)
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
            Error::InvalidThreshold { threshold: 0, shares: 3 }
        );
        assert_eq!(
            split(b"x", 4, 3, &mut rng).unwrap_err(),
            Error::InvalidThreshold { threshold: 4, shares: 3 }
        );
        assert_eq!(
            split(b"x", 2, 256, &mut rng).unwrap_err(),
            Error::TooManyShares { shares: 256, max: 255 }
        );
        assert_eq!(split(b"", 2, 3, &mut rng).unwrap_err(), Error::EmptySecret);
    }
}
