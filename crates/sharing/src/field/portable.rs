//! Portable SWAR kernels: eight byte lanes per `u64`, constant-time.
//!
//! These are the reference the SIMD backends are tested against, and the
//! fallback on CPUs without SSSE3 (and for the last few bytes of a slice).

use super::{Matrix, mul};

const LO7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
const HI1: u64 = 0x0101_0101_0101_0101;

/// Multiplies each byte lane of `w` by `x`.
#[inline]
fn xtime8(w: u64) -> u64 {
    ((w & LO7) << 1) ^ (((w >> 7) & HI1) * 0x1b)
}

/// Multiplies each byte lane of `w` by the public constant `c`.
#[inline]
pub fn mul8(mut w: u64, c: u8) -> u64 {
    let mut acc = 0u64;
    for bit in 0..8 {
        let mask = 0u64.wrapping_sub(u64::from((c >> bit) & 1));
        acc ^= w & mask;
        w = xtime8(w);
    }
    acc
}

/// Reads eight bytes as a little-endian word (the chunk is always 8 long).
#[inline]
fn word(bytes: &[u8]) -> u64 {
    u64::from_le_bytes(bytes.try_into().unwrap_or([0; 8]))
}

/// `dst[i] ^= c * src[i]` over the common prefix.
pub fn mul_acc(dst: &mut [u8], src: &[u8], c: u8) {
    let mut d = dst.chunks_exact_mut(8);
    let mut s = src.chunks_exact(8);
    for (dw, sw) in (&mut d).zip(&mut s) {
        let product = word(dw) ^ mul8(word(sw), c);
        dw.copy_from_slice(&product.to_le_bytes());
    }
    for (db, sb) in d.into_remainder().iter_mut().zip(s.remainder()) {
        *db ^= mul(*sb, c);
    }
}

/// `dst[i] = c * dst[i] ^ src[i]` over the common prefix.
pub fn mul_add(dst: &mut [u8], src: &[u8], c: u8) {
    let mut d = dst.chunks_exact_mut(8);
    let mut s = src.chunks_exact(8);
    for (dw, sw) in (&mut d).zip(&mut s) {
        let step = mul8(word(dw), c) ^ word(sw);
        dw.copy_from_slice(&step.to_le_bytes());
    }
    for (db, sb) in d.into_remainder().iter_mut().zip(s.remainder()) {
        *db = mul(*db, c) ^ *sb;
    }
}

/// [`super::Kernels::mul_matrix`] on the byte range `start..end` of every
/// slice (the callers guarantee every slice is at least `end` long and that
/// there are at most `matrix.rows()` outputs and `matrix.cols()` inputs).
pub(super) fn mul_matrix(
    matrix: &Matrix,
    outputs: &mut [&mut [u8]],
    inputs: &[&[u8]],
    start: usize,
    end: usize,
) {
    if start >= end {
        return;
    }
    for (r, output) in outputs.iter_mut().enumerate() {
        let Some(out) = output.get_mut(start..end) else {
            continue;
        };
        out.fill(0);
        for (table, input) in matrix.row(r).iter().zip(inputs) {
            if let Some(src) = input.get(start..end) {
                mul_acc(out, src, table.constant());
            }
        }
    }
}
