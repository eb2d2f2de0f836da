//! The public parameters of one split and the geometry they imply: how the
//! secret is cut into STREAM segments, how segments are grouped into
//! dispersal stripes, and where each stripe's shard sits in a fragment.
//!
//! Everything here is public information. All arithmetic is checked, so a
//! hostile encoding can neither overflow nor make [`Layout::new`] promise more
//! memory than the fragment it came with actually holds.

use core::ops::Range;

use super::SHARE_VERSION;

/// Length of a Poly1305 tag, appended to every STREAM segment.
pub(crate) const TAG_LEN: usize = 16;

/// Largest segment size an encoding may declare (16 MiB of plaintext).
pub(crate) const MAX_SEGMENT_SIZE: u32 = 16 << 20;

/// Largest stripe an encoding may declare (64 MiB of plaintext), which
/// bounds the per-thread scratch memory of [`super::combine`].
pub(crate) const MAX_STRIPE_PLAIN: usize = 64 << 20;

/// The STREAM counter is 32 bits wide, so at most 2^32 segments.
pub(crate) const MAX_SEGMENTS: u64 = 1 << 32;

/// Length of [`Params::encode`].
pub(crate) const PARAMS_LEN: usize = 19;

/// The public parameters of one split, as carried by every share.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Params {
    /// Threshold `t`: shares needed to combine, and the erasure code's `k`.
    pub(crate) threshold: u8,
    /// Number of shares `n`.
    pub(crate) shares: u8,
    /// Length of the secret in bytes.
    pub(crate) secret_len: u64,
    /// Plaintext bytes per STREAM segment (the last one may be shorter).
    pub(crate) segment_size: u32,
    /// STREAM segments per dispersal stripe (the last stripe may have fewer).
    pub(crate) stripe_segments: u32,
}

impl Params {
    /// `version || t || n || secret_len (u64 BE) || segment_size (u32 BE) ||
    /// stripe_segments (u32 BE)`: bound into the AEAD's associated data and
    /// into every fingerprint.
    pub(crate) fn encode(&self) -> [u8; PARAMS_LEN] {
        let mut out = [0u8; PARAMS_LEN];
        let (head, rest) = out.split_at_mut(3);
        head.copy_from_slice(&[SHARE_VERSION, self.threshold, self.shares]);
        let (len, rest) = rest.split_at_mut(8);
        len.copy_from_slice(&self.secret_len.to_be_bytes());
        let (segment, stripe) = rest.split_at_mut(4);
        segment.copy_from_slice(&self.segment_size.to_be_bytes());
        stripe.copy_from_slice(&self.stripe_segments.to_be_bytes());
        out
    }
}

/// Why a parameter set is unusable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LayoutError {
    /// The secret needs more than [`MAX_SEGMENTS`] segments, or its length
    /// does not fit in memory on this platform.
    TooLong,
    /// The parameters are inconsistent (zero threshold, `t > n`, empty
    /// secret, segment or stripe size out of range).
    Invalid(&'static str),
}

/// One dispersal stripe: a run of whole STREAM segments, erasure-coded on its own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Stripe {
    /// Index of the stripe's first segment (its first STREAM counter).
    pub(crate) first_segment: usize,
    /// The stripe's plaintext, as a range of the secret.
    pub(crate) plain: Range<usize>,
    /// Length of the stripe's ciphertext (plaintext plus one tag per segment).
    pub(crate) cipher_len: usize,
    /// Length of each of the stripe's shards (a non-zero multiple of 64,
    /// `t * shard_len >= cipher_len`).
    pub(crate) shard_len: usize,
    /// Where this stripe's shard starts inside every fragment.
    pub(crate) fragment_offset: usize,
}

/// The geometry implied by a valid [`Params`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Layout {
    params: Params,
    threshold: usize,
    shares: usize,
    secret_len: usize,
    segment_size: usize,
    segments: usize,
    stripe_plain: usize,
    stripe_segments: usize,
    stripes: usize,
    full_shard: usize,
    fragment_len: usize,
}

/// Shards are a whole number of the erasure code's 64-byte blocks (32
/// GF(2^16) symbols each), so no block needs special handling.
pub(crate) const SHARD_ALIGN: usize = 64;

/// `ceil(cipher_len / t)` rounded up to a multiple of [`SHARD_ALIGN`].
fn shard_len(cipher_len: usize, threshold: usize) -> Option<usize> {
    cipher_len
        .div_ceil(threshold)
        .checked_next_multiple_of(SHARD_ALIGN)
}

/// Ciphertext length of `segments` segments holding `plain` plaintext bytes.
fn cipher_len(plain: usize, segments: usize) -> Option<usize> {
    segments.checked_mul(TAG_LEN)?.checked_add(plain)
}

impl Layout {
    /// Validates `params` and derives the geometry.
    pub(crate) fn new(params: Params) -> Result<Self, LayoutError> {
        let threshold = usize::from(params.threshold);
        let shares = usize::from(params.shares);
        if threshold == 0 || threshold > shares {
            return Err(LayoutError::Invalid(
                "threshold is zero or exceeds the share count",
            ));
        }
        if params.secret_len == 0 {
            return Err(LayoutError::Invalid("secret length is zero"));
        }
        if params.segment_size == 0 || params.segment_size > MAX_SEGMENT_SIZE {
            return Err(LayoutError::Invalid("segment size out of range"));
        }
        if params.stripe_segments == 0 {
            return Err(LayoutError::Invalid("stripe holds no segment"));
        }
        let segments = params.secret_len.div_ceil(u64::from(params.segment_size));
        if segments > MAX_SEGMENTS {
            return Err(LayoutError::TooLong);
        }
        let too_long = |_| LayoutError::TooLong;
        let secret_len = usize::try_from(params.secret_len).map_err(too_long)?;
        let segments = usize::try_from(segments).map_err(too_long)?;
        let segment_size = usize::try_from(params.segment_size).map_err(too_long)?;
        let stripe_segments = usize::try_from(params.stripe_segments).map_err(too_long)?;
        let stripe_plain = segment_size
            .checked_mul(stripe_segments)
            .filter(|&plain| plain <= MAX_STRIPE_PLAIN)
            .ok_or(LayoutError::Invalid("stripe too large"))?;
        let stripes = segments.div_ceil(stripe_segments);

        // Every stripe but the last is full; the last has its own (smaller
        // or equal) shard length, so a short secret is not padded to a
        // whole stripe.
        let full_cipher = cipher_len(stripe_plain, stripe_segments).ok_or(LayoutError::TooLong)?;
        let full_shard = shard_len(full_cipher, threshold).ok_or(LayoutError::TooLong)?;
        let full_stripes = stripes - 1;
        let last_plain = full_stripes
            .checked_mul(stripe_plain)
            .and_then(|before| secret_len.checked_sub(before))
            .ok_or(LayoutError::TooLong)?;
        let last_segments = segments - full_stripes * stripe_segments;
        let last_cipher = cipher_len(last_plain, last_segments).ok_or(LayoutError::TooLong)?;
        let last_shard = shard_len(last_cipher, threshold).ok_or(LayoutError::TooLong)?;
        let fragment_len = full_stripes
            .checked_mul(full_shard)
            .and_then(|before| before.checked_add(last_shard))
            .ok_or(LayoutError::TooLong)?;
        Ok(Self {
            params,
            threshold,
            shares,
            secret_len,
            segment_size,
            segments,
            stripe_plain,
            stripe_segments,
            stripes,
            full_shard,
            fragment_len,
        })
    }

    /// The parameters this layout was derived from.
    pub(crate) fn params(&self) -> &Params {
        &self.params
    }

    /// Threshold `t`.
    pub(crate) fn threshold(&self) -> usize {
        self.threshold
    }

    /// Number of shares `n`.
    pub(crate) fn shares(&self) -> usize {
        self.shares
    }

    /// Length of the secret.
    pub(crate) fn secret_len(&self) -> usize {
        self.secret_len
    }

    /// Plaintext bytes per segment.
    pub(crate) fn segment_size(&self) -> usize {
        self.segment_size
    }

    /// Number of STREAM segments (at least one).
    pub(crate) fn segments(&self) -> usize {
        self.segments
    }

    /// Plaintext bytes per full stripe.
    pub(crate) fn stripe_plain(&self) -> usize {
        self.stripe_plain
    }

    /// Number of stripes (at least one).
    pub(crate) fn stripes(&self) -> usize {
        self.stripes
    }

    /// Shard length of every stripe but the last; fragments are cut into
    /// chunks of this length (the last chunk being the last stripe's shard).
    pub(crate) fn full_shard(&self) -> usize {
        self.full_shard
    }

    /// Length of every fragment.
    pub(crate) fn fragment_len(&self) -> usize {
        self.fragment_len
    }

    /// The geometry of stripe `index` (`< self.stripes()`).
    ///
    /// All values were bounded by [`Layout::new`], so nothing here overflows.
    pub(crate) fn stripe(&self, index: usize) -> Stripe {
        let first_segment = index * self.stripe_segments;
        let start = index * self.stripe_plain;
        let end = self.secret_len.min(start + self.stripe_plain);
        let segments = self.stripe_segments.min(self.segments - first_segment);
        let cipher_len = end - start + segments * TAG_LEN;
        Stripe {
            first_segment,
            plain: start..end,
            cipher_len,
            shard_len: if index + 1 == self.stripes {
                self.fragment_len - index * self.full_shard
            } else {
                self.full_shard
            },
            fragment_offset: index * self.full_shard,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(threshold: u8, shares: u8, secret_len: u64, segment: u32, stripe: u32) -> Params {
        Params {
            threshold,
            shares,
            secret_len,
            segment_size: segment,
            stripe_segments: stripe,
        }
    }

    #[test]
    fn stripes_tile_secret_and_fragment() {
        for len in [1u64, 2, 9, 10, 11, 39, 40, 41, 100, 1000] {
            for t in 1..=4u8 {
                let layout = Layout::new(params(t, 5, len, 10, 4)).unwrap();
                let mut plain = 0;
                let mut fragment = 0;
                let mut segment = 0;
                for s in 0..layout.stripes() {
                    let stripe = layout.stripe(s);
                    assert_eq!(stripe.plain.start, plain);
                    assert_eq!(stripe.fragment_offset, fragment);
                    assert_eq!(stripe.first_segment, segment);
                    assert!(stripe.shard_len > 0 && stripe.shard_len.is_multiple_of(SHARD_ALIGN));
                    assert!(stripe.shard_len * usize::from(t) >= stripe.cipher_len);
                    assert!(
                        stripe.shard_len * usize::from(t)
                            < stripe.cipher_len + SHARD_ALIGN * usize::from(t)
                    );
                    assert!(stripe.shard_len <= layout.full_shard());
                    plain = stripe.plain.end;
                    fragment += stripe.shard_len;
                    segment += stripe.plain.len().div_ceil(10);
                }
                assert_eq!(plain, layout.secret_len());
                assert_eq!(fragment, layout.fragment_len());
                assert_eq!(segment, layout.segments());
            }
        }
    }

    #[test]
    fn full_default_stripes_need_no_padding() {
        // 64 KiB sealed segments, 2 per shard: full stripes are exactly t
        // shards of 128 KiB; only the last stripe is padded.
        for t in [1u8, 2, 3, 7, 255] {
            let segment = 65536 - TAG_LEN as u32;
            let len = 5 * 2 * u64::from(t) * u64::from(segment) + 12345;
            let layout = Layout::new(params(t, 255, len, segment, 2 * u32::from(t))).unwrap();
            assert_eq!(layout.stripes(), 6);
            for s in 0..5 {
                let stripe = layout.stripe(s);
                assert_eq!(stripe.shard_len, 2 * 65536);
                assert_eq!(stripe.shard_len * usize::from(t), stripe.cipher_len);
            }
        }
    }

    #[test]
    fn rejects_bad_parameters() {
        let bad = |p| matches!(Layout::new(p), Err(LayoutError::Invalid(_)));
        assert!(bad(params(0, 3, 10, 10, 1)));
        assert!(bad(params(4, 3, 10, 10, 1)));
        assert!(bad(params(2, 3, 0, 10, 1)));
        assert!(bad(params(2, 3, 10, 0, 1)));
        assert!(bad(params(2, 3, 10, MAX_SEGMENT_SIZE + 1, 1)));
        assert!(bad(params(2, 3, 10, 10, 0)));
        assert!(bad(params(2, 3, 10, 1 << 20, 65)));
        assert_eq!(
            Layout::new(params(2, 3, u64::MAX, 1, 1)),
            Err(LayoutError::TooLong)
        );
        assert_eq!(
            Layout::new(params(2, 3, (MAX_SEGMENTS + 1) * 16, 16, 1)),
            Err(LayoutError::TooLong)
        );
    }

    #[test]
    fn params_encoding_is_fixed() {
        let p = params(3, 5, 0x0102_0304_0506_0708, 0x0001_0000, 16);
        assert_eq!(
            p.encode(),
            [1, 3, 5, 1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 0, 0, 0, 0, 16]
        );
    }
}
