//! Sealing and dispersing one stripe, and gathering and opening it again.
//!
//! A stripe's ciphertext is the concatenation of its sealed STREAM segments,
//! zero-padded to `t` equal shards of even length. Those `t` shards are the
//! systematic ("original") shards of a Reed-Solomon code over GF(2^16)
//! (`reed-solomon-simd`, after Lin, Chung and Han's FFT-based erasure codes,
//! as in Leopard-RS); the `n - t` recovery shards complete it to an
//! MDS code, so any `t` of the `n` shards give back the stripe (Rabin's
//! information dispersal, as used by Krawczyk). Share `i` holds shard `i - 1`:
//! shares `1..=t` the original shards, shares `t+1..=n` the recovery shards.
//!
//! Shards are written straight into the shares' fragments; a segment is
//! sealed directly into its shard unless it straddles two shards, in which
//! case it goes through a small scratch buffer. Nothing here ever holds
//! plaintext except the caller's own input and output slices.

use chacha20poly1305::ChaCha20Poly1305;
use reed_solomon_simd::engine::{DefaultEngine, Engine, GfElement, tables, utils};
use reed_solomon_simd::{ReedSolomonDecoder, ReedSolomonEncoder};

use super::layout::{Layout, SHARD_ALIGN, Stripe, TAG_LEN};
use super::stream;
use crate::Error;

/// A BLAKE3 digest of one shard of one stripe.
pub(crate) type ShardDigest = [u8; 32];

/// Per-thread working memory, reused from stripe to stripe. Holds
/// ciphertext only.
#[derive(Default)]
pub(crate) struct Scratch {
    encoder: Option<ReedSolomonEncoder>,
    decoder: Option<ReedSolomonDecoder>,
    engine: Option<DefaultEngine>,
    segment: Vec<u8>,
    /// Rebuilt original shards (one per missing original).
    rebuilt: Vec<Vec<[u8; SHARD_ALIGN]>>,
    /// One block of a received shard, being multiplied.
    product: Vec<[u8; SHARD_ALIGN]>,
}

/// Largest `t * missing` for which [`DecodePlan`] rebuilds missing shards by
/// linear combination; beyond it the FFT decoder, whose fixed cost (about
/// 2 ms per call, to evaluate the erasure locator over all of GF(2^16)) no
/// longer dominates, is the cheaper of the two.
const MAX_COMBINATION_TERMS: usize = 48;

/// Symbols per 64-byte block of the erasure code (32 low bytes, then the
/// 32 high bytes).
const SYMBOLS_PER_BLOCK: usize = SHARD_ALIGN / 2;

/// Blocks multiplied at a time (16 KiB), so the working set stays in L1.
const COMBINATION_BLOCKS: usize = 256;

/// How to rebuild the missing original shards of every stripe, for one set
/// of used shares.
///
/// The code is linear over GF(2^16) and treats every symbol position alike,
/// so each missing original shard is a fixed linear combination of the `t`
/// received shards: `missing_m = sum_r c[m][r] * received_r`, symbol by
/// symbol. The coefficients depend only on which shares are used, so they
/// are found once, by decoding a probe in which received shard `r` holds the
/// field's one at symbol position `r` and zero elsewhere; every stripe then
/// costs `t` multiply-adds per missing shard (the crate's SIMD multiply),
/// without the FFT decoder's fixed cost per call.
pub(crate) struct DecodePlan {
    /// For each missing original (by position `0..t`): the logarithm of the
    /// coefficient of each used share (in `used` order), `None` for zero.
    missing: Vec<(usize, Vec<Option<GfElement>>)>,
}

impl DecodePlan {
    /// The plan for the shares at `positions` (share index - 1, sorted,
    /// exactly `t` of them), or `None` when no original is missing or the
    /// FFT decoder is the better choice.
    pub(crate) fn new(layout: &Layout, positions: &[usize]) -> Result<Option<Self>, Error> {
        let t = layout.threshold();
        let n = layout.shares();
        let missing: Vec<usize> = (0..t).filter(|p| !positions.contains(p)).collect();
        if missing.is_empty() || t * missing.len() > MAX_COMBINATION_TERMS {
            return Ok(None);
        }
        let exp_log = tables::get_exp_log();
        let one = *exp_log.exp.first().ok_or(LAYOUT_BUG)?;
        let probe_len = t.div_ceil(SYMBOLS_PER_BLOCK) * SHARD_ALIGN;
        // Symbol `u` of a shard: low byte at `lo`, high byte 32 bytes later.
        let symbol_bytes = |u: usize| {
            let lo = u / SYMBOLS_PER_BLOCK * SHARD_ALIGN + u % SYMBOLS_PER_BLOCK;
            (lo, lo + SYMBOLS_PER_BLOCK)
        };
        let mut decoder = ReedSolomonDecoder::new(t, n - t, probe_len).map_err(erasure)?;
        for (u, &position) in positions.iter().enumerate() {
            let mut probe = vec![0u8; probe_len];
            let (lo, hi) = symbol_bytes(u);
            let [one_lo, one_hi] = one.to_le_bytes();
            *probe.get_mut(lo).ok_or(LAYOUT_BUG)? = one_lo;
            *probe.get_mut(hi).ok_or(LAYOUT_BUG)? = one_hi;
            if position < t {
                decoder.add_original_shard(position, &probe)
            } else {
                decoder.add_recovery_shard(position - t, &probe)
            }
            .map_err(erasure)?;
        }
        let result = decoder.decode().map_err(erasure)?;
        let missing = missing
            .into_iter()
            .map(|m| {
                let rebuilt = result.restored_original(m).ok_or(LAYOUT_BUG)?;
                let byte = |i: usize| rebuilt.get(i).copied().ok_or(LAYOUT_BUG);
                let coefficients = (0..t)
                    .map(|u| {
                        let (lo, hi) = symbol_bytes(u);
                        let c = GfElement::from_le_bytes([byte(lo)?, byte(hi)?]);
                        let log = exp_log.log.get(usize::from(c)).copied().ok_or(LAYOUT_BUG)?;
                        Ok((c != 0).then_some(log))
                    })
                    .collect::<Result<Vec<_>, Error>>()?;
                Ok((m, coefficients))
            })
            .collect::<Result<Vec<_>, Error>>()?;
        Ok(Some(Self { missing }))
    }
}

/// Rebuilds the missing originals of one stripe into `rebuilt` by the
/// linear combinations of `plan`. `received` are the used shares' chunks of
/// this stripe, in `used` order, each `shard_len` (a multiple of 64) long.
fn combine_missing(
    plan: &DecodePlan,
    received: &[&[u8]],
    shard_len: usize,
    engine: &DefaultEngine,
    rebuilt: &mut Vec<Vec<[u8; SHARD_ALIGN]>>,
    product: &mut Vec<[u8; SHARD_ALIGN]>,
) -> Result<(), Error> {
    let blocks = shard_len / SHARD_ALIGN;
    rebuilt.resize_with(plan.missing.len(), Vec::new);
    product.resize(COMBINATION_BLOCKS.min(blocks), [0; SHARD_ALIGN]);
    for ((_, coefficients), out) in plan.missing.iter().zip(rebuilt.iter_mut()) {
        out.clear();
        out.resize(blocks, [0; SHARD_ALIGN]);
        for (b, out) in out.chunks_mut(COMBINATION_BLOCKS).enumerate() {
            let start = b * COMBINATION_BLOCKS * SHARD_ALIGN;
            let range = start..start + out.len() * SHARD_ALIGN;
            for (shard, coefficient) in received.iter().zip(coefficients) {
                let Some(log) = *coefficient else { continue };
                let src = shard.get(range.clone()).ok_or(LAYOUT_BUG)?;
                let product = product.get_mut(..out.len()).ok_or(LAYOUT_BUG)?;
                product.as_flattened_mut().copy_from_slice(src);
                if log != 0 {
                    engine.mul(product, log);
                }
                utils::xor(out, product);
            }
        }
    }
    Ok(())
}

/// Maps an erasure-coder error (impossible for a validated layout) to ours.
fn erasure(_: reed_solomon_simd::Error) -> Error {
    Error::Internal {
        operation: "erasure coding",
    }
}

/// Error for a slice that a validated layout guarantees to exist.
const LAYOUT_BUG: Error = Error::Internal {
    operation: "stripe layout",
};

/// The part of the concatenated shards `start..start + len`, if it lies
/// inside a single shard: `(shard, offset in shard)`.
fn within_one_shard(shard_len: usize, start: usize, len: usize) -> Option<(usize, usize)> {
    let last = start + len - 1;
    (start / shard_len == last / shard_len).then_some((start / shard_len, start % shard_len))
}

/// Copies `bytes` into the concatenated `shards` from position `pos` on.
fn scatter(
    shards: &mut [&mut [u8]],
    shard_len: usize,
    pos: usize,
    bytes: &[u8],
) -> Result<(), Error> {
    let mut pos = pos;
    let mut rest = bytes;
    while !rest.is_empty() {
        let dst = shards
            .get_mut(pos / shard_len)
            .and_then(|shard| shard.get_mut(pos % shard_len..))
            .ok_or(LAYOUT_BUG)?;
        let take = dst.len().min(rest.len());
        let (head, tail) = rest.split_at(take);
        dst.get_mut(..take).ok_or(LAYOUT_BUG)?.copy_from_slice(head);
        rest = tail;
        pos += take;
    }
    Ok(())
}

/// Copies `out.len()` bytes out of the concatenated `shards` from position `pos` on.
fn gather(shards: &[&[u8]], shard_len: usize, pos: usize, out: &mut [u8]) -> Result<(), Error> {
    let mut pos = pos;
    let mut rest = out;
    while !rest.is_empty() {
        let src = shards
            .get(pos / shard_len)
            .and_then(|shard| shard.get(pos % shard_len..))
            .ok_or(LAYOUT_BUG)?;
        let take = src.len().min(rest.len());
        let (head, tail) = rest.split_at_mut(take);
        head.copy_from_slice(src.get(..take).ok_or(LAYOUT_BUG)?);
        rest = tail;
        pos += take;
    }
    Ok(())
}

/// `stripe`'s shard inside `fragment`.
fn stripe_chunk<'a>(stripe: &Stripe, fragment: &'a [u8]) -> Result<&'a [u8], Error> {
    fragment
        .get(stripe.fragment_offset..stripe.fragment_offset + stripe.shard_len)
        .ok_or(LAYOUT_BUG)
}

/// The STREAM counter and last-segment flag of segment `k` of `stripe`.
fn position(layout: &Layout, stripe: &Stripe, k: usize) -> Result<(u32, bool), Error> {
    let index = stripe.first_segment + k;
    let counter = u32::try_from(index).map_err(|_| LAYOUT_BUG)?;
    Ok((counter, index + 1 == layout.segments()))
}

/// Seals the plaintext `plain` of `stripe` and disperses it into `chunks`,
/// this stripe's slice of each of the `n` fragments (in share order).
/// Returns the BLAKE3 digest of every chunk, for the fingerprints.
pub(crate) fn seal_stripe(
    cipher: &ChaCha20Poly1305,
    aad: &[u8],
    layout: &Layout,
    stripe: &Stripe,
    plain: &[u8],
    chunks: &mut [&mut [u8]],
    scratch: &mut Scratch,
) -> Result<Vec<ShardDigest>, Error> {
    let t = layout.threshold();
    let shard_len = stripe.shard_len;
    let (originals, recovery) = chunks.split_at_mut_checked(t).ok_or(LAYOUT_BUG)?;

    let mut pos = 0;
    for (k, segment) in plain.chunks(layout.segment_size()).enumerate() {
        let (counter, last) = position(layout, stripe, k)?;
        let sealed_len = segment.len() + TAG_LEN;
        match within_one_shard(shard_len, pos, sealed_len) {
            Some((shard, offset)) => {
                let out = originals
                    .get_mut(shard)
                    .and_then(|s| s.get_mut(offset..offset + sealed_len))
                    .ok_or(LAYOUT_BUG)?;
                stream::seal_segment(cipher, aad, counter, last, segment, out)?;
            }
            None => {
                scratch.segment.resize(sealed_len, 0);
                stream::seal_segment(cipher, aad, counter, last, segment, &mut scratch.segment)?;
                scatter(originals, shard_len, pos, &scratch.segment)?;
            }
        }
        pos += sealed_len;
    }
    // Zero padding up to t whole shards (combine checks it is zero).
    for (i, shard) in originals.iter_mut().enumerate() {
        let start = pos.saturating_sub(i * shard_len).min(shard_len);
        shard.get_mut(start..).ok_or(LAYOUT_BUG)?.fill(0);
    }

    // Hash each shard while it is still in cache.
    let mut digests: Vec<ShardDigest> = originals
        .iter()
        .map(|chunk| *blake3::hash(chunk).as_bytes())
        .collect();

    if !recovery.is_empty() {
        let n = layout.shares();
        let encoder = match &mut scratch.encoder {
            Some(encoder) => {
                encoder.reset(t, n - t, shard_len).map_err(erasure)?;
                encoder
            }
            none => none.insert(ReedSolomonEncoder::new(t, n - t, shard_len).map_err(erasure)?),
        };
        for shard in originals.iter() {
            encoder.add_original_shard(shard).map_err(erasure)?;
        }
        let result = encoder.encode().map_err(erasure)?;
        for (j, shard) in recovery.iter_mut().enumerate() {
            shard.copy_from_slice(result.recovery(j).ok_or(LAYOUT_BUG)?);
            digests.push(*blake3::hash(shard).as_bytes());
        }
    }
    Ok(digests)
}

/// Rebuilds `stripe` from `used` (exactly `t` distinct `(index, fragment)`
/// pairs, sorted by index) and opens it into `out`, the stripe's plaintext.
///
/// # Errors
///
/// [`Error::Decryption`] when a segment fails authentication or the padding
/// is not zero (some share used is corrupt, or the key is wrong).
#[allow(clippy::too_many_arguments)]
pub(crate) fn open_stripe(
    cipher: &ChaCha20Poly1305,
    aad: &[u8],
    layout: &Layout,
    plan: Option<&DecodePlan>,
    stripe: &Stripe,
    used: &[(u8, &[u8])],
    out: &mut [u8],
    scratch: &mut Scratch,
) -> Result<(), Error> {
    let t = layout.threshold();
    let n = layout.shares();
    let shard_len = stripe.shard_len;
    let chunk = |fragment| stripe_chunk(stripe, fragment);
    let Scratch {
        decoder,
        engine,
        segment,
        rebuilt,
        product,
        ..
    } = scratch;

    let mut originals: Vec<Option<&[u8]>> = vec![None; t];
    for &(index, fragment) in used {
        let position = usize::from(index).checked_sub(1).ok_or(LAYOUT_BUG)?;
        if let Some(slot) = originals.get_mut(position) {
            *slot = Some(chunk(fragment)?);
        }
    }
    let result;
    if let Some(plan) = plan.filter(|_| shard_len.is_multiple_of(SHARD_ALIGN)) {
        let received: Vec<&[u8]> = used
            .iter()
            .map(|&(_, fragment)| chunk(fragment))
            .collect::<Result<_, _>>()?;
        let engine = engine.get_or_insert_with(DefaultEngine::new);
        combine_missing(plan, &received, shard_len, engine, rebuilt, product)?;
        for ((position, _), shard) in plan.missing.iter().zip(rebuilt.iter()) {
            *originals.get_mut(*position).ok_or(LAYOUT_BUG)? = Some(shard.as_flattened());
        }
    } else if originals.iter().any(Option::is_none) {
        let decoder = match decoder {
            Some(decoder) => {
                decoder.reset(t, n - t, shard_len).map_err(erasure)?;
                decoder
            }
            none => none.insert(ReedSolomonDecoder::new(t, n - t, shard_len).map_err(erasure)?),
        };
        for &(index, fragment) in used {
            let position = usize::from(index).checked_sub(1).ok_or(LAYOUT_BUG)?;
            if position < t {
                decoder.add_original_shard(position, chunk(fragment)?)
            } else {
                decoder.add_recovery_shard(position - t, chunk(fragment)?)
            }
            .map_err(erasure)?;
        }
        result = decoder.decode().map_err(erasure)?;
        for (position, slot) in originals.iter_mut().enumerate() {
            if slot.is_none() {
                *slot = Some(result.restored_original(position).ok_or(LAYOUT_BUG)?);
            }
        }
    }
    let originals: Vec<&[u8]> = originals
        .into_iter()
        .collect::<Option<_>>()
        .ok_or(LAYOUT_BUG)?;

    // The padding is not covered by the AEAD; a non-zero byte there means a
    // corrupt share (directly, or through the erasure decoding).
    for (i, shard) in originals.iter().enumerate() {
        let start = stripe
            .cipher_len
            .saturating_sub(i * shard_len)
            .min(shard_len);
        if shard
            .get(start..)
            .ok_or(LAYOUT_BUG)?
            .iter()
            .any(|&b| b != 0)
        {
            return Err(Error::Decryption);
        }
    }

    let mut pos = 0;
    for (k, plain) in out.chunks_mut(layout.segment_size()).enumerate() {
        let (counter, last) = position(layout, stripe, k)?;
        let sealed_len = plain.len() + TAG_LEN;
        match within_one_shard(shard_len, pos, sealed_len) {
            Some((shard, offset)) => {
                let sealed = originals
                    .get(shard)
                    .and_then(|s| s.get(offset..offset + sealed_len))
                    .ok_or(LAYOUT_BUG)?;
                stream::open_segment(cipher, aad, counter, last, sealed, plain)?;
            }
            None => {
                segment.resize(sealed_len, 0);
                gather(&originals, shard_len, pos, segment)?;
                stream::open_segment(cipher, aad, counter, last, segment, plain)?;
            }
        }
        pos += sealed_len;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scatter_gather_round_trip() {
        let mut a = [0u8; 4];
        let mut b = [0u8; 4];
        let mut c = [0u8; 4];
        {
            let mut shards: [&mut [u8]; 3] = [&mut a, &mut b, &mut c];
            scatter(&mut shards, 4, 3, b"hello").unwrap();
            assert!(scatter(&mut shards, 4, 12, b"x").is_err());
        }
        assert_eq!((a, b, c), (*b"\0\0\0h", *b"ello", [0; 4]));
        let shards: [&[u8]; 3] = [&a, &b, &c];
        let mut out = [0u8; 5];
        gather(&shards, 4, 3, &mut out).unwrap();
        assert_eq!(&out, b"hello");
    }

    #[test]
    fn within_one_shard_boundaries() {
        assert_eq!(within_one_shard(4, 0, 4), Some((0, 0)));
        assert_eq!(within_one_shard(4, 1, 4), None);
        assert_eq!(within_one_shard(4, 4, 4), Some((1, 0)));
        assert_eq!(within_one_shard(4, 5, 3), Some((1, 1)));
    }
}
