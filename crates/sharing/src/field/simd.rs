//! x86-64 SIMD backends of the bulk kernels: SSSE3 (16 bytes per vector),
//! AVX2 (32) and AVX-512BW (64), all using the split-nibble method.
//!
//! For a public constant `c`, `c * v = T_lo[v & 15] ^ T_hi[v >> 4]` with two
//! 16-entry tables derived from `c` ([`MulTable`]); `PSHUFB` performs 16
//! such lookups per 128-bit lane from registers, in time independent of the
//! (secret) index bytes. Plank, Greenan and Miller, "Screaming Fast Galois
//! Field Arithmetic Using Intel SIMD Instructions", FAST 2013.
//!
//! This is the one module of the crate that uses `unsafe`: for unaligned
//! vector loads and stores (raw-pointer intrinsics) and to call functions
//! compiled for a CPU feature, always after checking at run time that the
//! CPU has it. Every kernel returns how many leading bytes it processed
//! (whole vectors only); the caller finishes the tail with the portable code.
#![allow(unsafe_code)]

use super::{Matrix, MulTable};

/// A SIMD instruction-set level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Level {
    /// SSSE3.
    Ssse3,
    /// AVX2.
    Avx2,
    /// AVX-512F + AVX-512BW.
    Avx512,
}

impl Level {
    /// Whether the running CPU supports this level (the standard library
    /// caches the detection).
    pub(super) fn is_available(self) -> bool {
        match self {
            Level::Ssse3 => std::arch::is_x86_feature_detected!("ssse3"),
            Level::Avx2 => std::arch::is_x86_feature_detected!("avx2"),
            Level::Avx512 => {
                std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512bw")
            }
        }
    }
}

/// `dst ^= c * src` over whole vectors of the common prefix; returns the
/// number of bytes processed (0 if the CPU lacks `level`).
pub(super) fn mul_acc(level: Level, dst: &mut [u8], src: &[u8], table: &MulTable) -> usize {
    if !level.is_available() {
        return 0;
    }
    match level {
        // SAFETY: the CPU supports SSSE3 (checked above).
        Level::Ssse3 => unsafe { ssse3::mul_acc(dst, src, table) },
        // SAFETY: the CPU supports AVX2 (checked above).
        Level::Avx2 => unsafe { avx2::mul_acc(dst, src, table) },
        // SAFETY: the CPU supports AVX-512F and AVX-512BW (checked above).
        Level::Avx512 => unsafe { avx512::mul_acc(dst, src, table) },
    }
}

/// `dst = c * dst ^ src` over whole vectors of the common prefix; returns
/// the number of bytes processed (0 if the CPU lacks `level`).
pub(super) fn mul_add(level: Level, dst: &mut [u8], src: &[u8], table: &MulTable) -> usize {
    if !level.is_available() {
        return 0;
    }
    match level {
        // SAFETY: the CPU supports SSSE3 (checked above).
        Level::Ssse3 => unsafe { ssse3::mul_add(dst, src, table) },
        // SAFETY: the CPU supports AVX2 (checked above).
        Level::Avx2 => unsafe { avx2::mul_add(dst, src, table) },
        // SAFETY: the CPU supports AVX-512F and AVX-512BW (checked above).
        Level::Avx512 => unsafe { avx512::mul_add(dst, src, table) },
    }
}

/// `outputs = matrix * inputs` over whole vectors of the first `len` bytes;
/// returns the number of bytes processed (0 if the CPU lacks `level` or a
/// slice is shorter than `len`).
pub(super) fn mul_matrix(
    level: Level,
    matrix: &Matrix,
    outputs: &mut [&mut [u8]],
    inputs: &[&[u8]],
    len: usize,
) -> usize {
    if !level.is_available() {
        return 0;
    }
    match level {
        // SAFETY: the CPU supports SSSE3 (checked above).
        Level::Ssse3 => unsafe { ssse3::mul_matrix(matrix, outputs, inputs, len) },
        // SAFETY: the CPU supports AVX2 (checked above).
        Level::Avx2 => unsafe { avx2::mul_matrix(matrix, outputs, inputs, len) },
        // SAFETY: the CPU supports AVX-512F and AVX-512BW (checked above).
        Level::Avx512 => unsafe { avx512::mul_matrix(matrix, outputs, inputs, len) },
    }
}

/// How one column of a group of matrix rows is applied.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Column {
    /// Every entry is 0: the input is skipped.
    Zero,
    /// Every entry is 1: the input is XORed in without multiplying.
    One,
    /// Anything else: multiply with the nibble tables.
    General,
}

/// The kernels shared by every vector width. Each backend module defines
/// `V` (the vector type), `W` (its width in bytes), `ACCUMULATORS` (how
/// many vectors are accumulated in registers at once) and the primitives
/// `load`, `store`, `table`, `zero`, `xor`, `low_nibbles`, `nibbles` and
/// `lookup`, all compiled for the backend's target features; `groups` lists
/// the `(G, U)` register blockings (`G * U == ACCUMULATORS`).
macro_rules! kernels {
    ($feature:literal, groups: [$(($g:literal, $u:literal)),*]) => {
        /// Multiplies every byte of `x` by the constant whose nibble tables
        /// are `low` and `high`.
        #[inline]
        #[target_feature(enable = $feature)]
        fn mul(low: V, high: V, x: V) -> V {
            let (lo, hi) = nibbles(x, low_nibbles());
            xor(lookup(low, lo), lookup(high, hi))
        }

        /// The two nibble tables of a [`MulTable`], each broadcast to every
        /// 128-bit lane.
        #[inline]
        #[target_feature(enable = $feature)]
        fn tables(nibbles: &[u8; 32]) -> (V, V) {
            let low = nibbles.first_chunk::<16>().unwrap_or(&[0; 16]);
            let high = nibbles.last_chunk::<16>().unwrap_or(&[0; 16]);
            (table(low), table(high))
        }

        /// `a ^ b ^ c`.
        #[inline]
        #[target_feature(enable = $feature)]
        fn xor3(a: V, b: V, c: V) -> V {
            xor(a, xor(b, c))
        }

        /// `dst ^= c * src` over whole vectors; returns the bytes processed.
        #[target_feature(enable = $feature)]
        pub(super) fn mul_acc(dst: &mut [u8], src: &[u8], table: &MulTable) -> usize {
            let (low, high) = tables(table.nibbles());
            let mut done = 0;
            for (d, s) in dst.chunks_exact_mut(W).zip(src.chunks_exact(W)) {
                // SAFETY: `d` and `s` are exactly one vector (W bytes) long,
                // and the loads and stores are unaligned ones.
                unsafe {
                    let x = load(s.as_ptr());
                    let y = load(d.as_ptr());
                    store(d.as_mut_ptr(), xor(y, mul(low, high, x)));
                }
                done += W;
            }
            done
        }

        /// `dst = c * dst ^ src` over whole vectors; returns the bytes processed.
        #[target_feature(enable = $feature)]
        pub(super) fn mul_add(dst: &mut [u8], src: &[u8], table: &MulTable) -> usize {
            let (low, high) = tables(table.nibbles());
            let mut done = 0;
            for (d, s) in dst.chunks_exact_mut(W).zip(src.chunks_exact(W)) {
                // SAFETY: `d` and `s` are exactly one vector (W bytes) long,
                // and the loads and stores are unaligned ones.
                unsafe {
                    let x = load(s.as_ptr());
                    let y = load(d.as_ptr());
                    store(d.as_mut_ptr(), xor(mul(low, high, y), x));
                }
                done += W;
            }
            done
        }

        /// `outputs = matrix * inputs` over the whole vectors of the first
        /// `len` bytes; returns the bytes processed.
        ///
        /// Outputs are taken in groups of `G` (a power of two up to
        /// `ACCUMULATORS`), and each group is computed `U = ACCUMULATORS / G`
        /// vectors at a time, so that `G * U` accumulators stay in registers
        /// while each input vector is loaded once per group.
        #[target_feature(enable = $feature)]
        pub(super) fn mul_matrix(
            matrix: &Matrix,
            outputs: &mut [&mut [u8]],
            inputs: &[&[u8]],
            len: usize,
        ) -> usize {
            let vectors = len / W;
            let mut first_row = 0;
            let mut rest = outputs;
            while !rest.is_empty() {
                let mut size = ACCUMULATORS;
                while size > rest.len() {
                    size /= 2;
                }
                let Some((group, tail)) = rest.split_at_mut_checked(size) else {
                    return 0;
                };
                let ok = match size {
                    $( $g => group_kernel::<$g, $u>(matrix, first_row, group, inputs, vectors), )*
                    _ => false,
                };
                if !ok {
                    return 0;
                }
                first_row += size;
                rest = tail;
            }
            vectors * W
        }

        /// Rows `first_row..first_row + G` of `matrix * inputs` into the
        /// `G` slices of `outputs`, over the first `vectors` vectors, `U`
        /// vectors per step. Returns false, touching nothing, if the shapes
        /// do not fit.
        #[target_feature(enable = $feature)]
        fn group_kernel<const G: usize, const U: usize>(
            matrix: &Matrix,
            first_row: usize,
            outputs: &mut [&mut [u8]],
            inputs: &[&[u8]],
            vectors: usize,
        ) -> bool {
            let Some(bytes) = vectors.checked_mul(W) else {
                return false;
            };
            if outputs.len() != G
                || inputs.len() > matrix.cols()
                || outputs.iter().any(|o| o.len() < bytes)
                || inputs.iter().any(|i| i.len() < bytes)
            {
                return false;
            }
            // Per column: how it applies, and each row's nibble tables
            // (copied column-major so that a column's tables are adjacent).
            let mut columns: Vec<(Column, [[u8; 32]; G])> = Vec::with_capacity(inputs.len());
            for c in 0..inputs.len() {
                let mut tabs = [[0u8; 32]; G];
                let (mut all_zero, mut all_one) = (true, true);
                for (g, slot) in tabs.iter_mut().enumerate() {
                    let Some(entry) = matrix.row(first_row + g).get(c) else {
                        return false;
                    };
                    all_zero &= entry.constant() == 0;
                    all_one &= entry.constant() == 1;
                    *slot = *entry.nibbles();
                }
                let kind = if all_zero {
                    Column::Zero
                } else if all_one {
                    Column::One
                } else {
                    Column::General
                };
                columns.push((kind, tabs));
            }
            let mut out = [core::ptr::null_mut::<u8>(); G];
            for (p, o) in out.iter_mut().zip(outputs.iter_mut()) {
                *p = o.as_mut_ptr();
            }
            let mask = low_nibbles();
            let steps = vectors / U;
            for step in 0..steps {
                let offset = step * U * W;
                let mut acc = [[zero(); U]; G];
                for (input, (kind, tabs)) in inputs.iter().zip(&columns) {
                    if *kind == Column::Zero {
                        continue;
                    }
                    let mut x = [zero(); U];
                    for (u, xu) in x.iter_mut().enumerate() {
                        // SAFETY: offset + (u + 1) * W <= steps * U * W
                        // <= vectors * W <= input.len() (checked above); the
                        // load is unaligned.
                        *xu = unsafe { load(input.as_ptr().add(offset + u * W)) };
                    }
                    if *kind == Column::One {
                        for row in &mut acc {
                            for (a, xu) in row.iter_mut().zip(&x) {
                                *a = xor(*a, *xu);
                            }
                        }
                    } else {
                        let mut lo = [zero(); U];
                        let mut hi = [zero(); U];
                        for ((l, h), xu) in lo.iter_mut().zip(hi.iter_mut()).zip(&x) {
                            (*l, *h) = nibbles(*xu, mask);
                        }
                        for (row, nib) in acc.iter_mut().zip(tabs) {
                            let (low, high) = tables(nib);
                            for ((a, l), h) in row.iter_mut().zip(&lo).zip(&hi) {
                                *a = xor3(*a, lookup(low, *l), lookup(high, *h));
                            }
                        }
                    }
                }
                for (row, p) in acc.iter().zip(&out) {
                    for (u, a) in row.iter().enumerate() {
                        // SAFETY: `p` points to an output slice of at least
                        // vectors * W >= offset + (u + 1) * W bytes (checked
                        // above), which `outputs` borrows mutably and no
                        // input aliases; the store is unaligned.
                        unsafe { store(p.add(offset + u * W), *a) };
                    }
                }
            }
            // The last `vectors % U` vectors, one at a time.
            let done = steps * U * W;
            if U > 1 && done < bytes {
                let mut outs: Vec<&mut [u8]> = outputs
                    .iter_mut()
                    .filter_map(|o| o.get_mut(done..bytes))
                    .collect();
                let ins: Vec<&[u8]> = inputs.iter().filter_map(|i| i.get(done..bytes)).collect();
                return group_kernel::<G, 1>(matrix, first_row, &mut outs, &ins, vectors - steps * U);
            }
            true
        }
    };
}

/// SSSE3: 16-byte vectors.
mod ssse3 {
    use super::{Column, Matrix, MulTable};
    use core::arch::x86_64::*;

    type V = __m128i;
    const W: usize = 16;
    const ACCUMULATORS: usize = 8;

    /// # Safety
    /// `p` must be valid for reading 16 bytes.
    #[inline]
    #[target_feature(enable = "ssse3")]
    unsafe fn load(p: *const u8) -> V {
        // SAFETY: the caller guarantees 16 readable bytes; loadu is unaligned.
        unsafe { _mm_loadu_si128(p.cast()) }
    }

    /// # Safety
    /// `p` must be valid for writing 16 bytes.
    #[inline]
    #[target_feature(enable = "ssse3")]
    unsafe fn store(p: *mut u8, v: V) {
        // SAFETY: the caller guarantees 16 writable bytes; storeu is unaligned.
        unsafe { _mm_storeu_si128(p.cast(), v) }
    }

    #[inline]
    #[target_feature(enable = "ssse3")]
    fn table(t: &[u8; 16]) -> V {
        // SAFETY: `t` is 16 bytes long.
        unsafe { load(t.as_ptr()) }
    }

    #[inline]
    #[target_feature(enable = "ssse3")]
    fn zero() -> V {
        _mm_setzero_si128()
    }

    #[inline]
    #[target_feature(enable = "ssse3")]
    fn xor(a: V, b: V) -> V {
        _mm_xor_si128(a, b)
    }

    /// The constant 0x0f in every byte.
    #[inline]
    #[target_feature(enable = "ssse3")]
    fn low_nibbles() -> V {
        _mm_set1_epi8(0x0f)
    }

    /// The low and high nibble of every byte of `x` (`mask` is [`low_nibbles`]).
    #[inline]
    #[target_feature(enable = "ssse3")]
    fn nibbles(x: V, mask: V) -> (V, V) {
        (
            _mm_and_si128(x, mask),
            _mm_and_si128(_mm_srli_epi16::<4>(x), mask),
        )
    }

    #[inline]
    #[target_feature(enable = "ssse3")]
    fn lookup(table: V, index: V) -> V {
        _mm_shuffle_epi8(table, index)
    }

    kernels!("ssse3", groups: [(8, 1), (4, 2), (2, 4), (1, 8)]);
}

/// AVX2: 32-byte vectors (two 128-bit lanes, each with its own copy of the tables).
mod avx2 {
    use super::{Column, Matrix, MulTable};
    use core::arch::x86_64::*;

    type V = __m256i;
    const W: usize = 32;
    const ACCUMULATORS: usize = 8;

    /// # Safety
    /// `p` must be valid for reading 32 bytes.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn load(p: *const u8) -> V {
        // SAFETY: the caller guarantees 32 readable bytes; loadu is unaligned.
        unsafe { _mm256_loadu_si256(p.cast()) }
    }

    /// # Safety
    /// `p` must be valid for writing 32 bytes.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn store(p: *mut u8, v: V) {
        // SAFETY: the caller guarantees 32 writable bytes; storeu is unaligned.
        unsafe { _mm256_storeu_si256(p.cast(), v) }
    }

    #[inline]
    #[target_feature(enable = "avx2")]
    fn table(t: &[u8; 16]) -> V {
        // SAFETY: `t` is 16 bytes long; loadu is unaligned.
        let t = unsafe { _mm_loadu_si128(t.as_ptr().cast()) };
        _mm256_broadcastsi128_si256(t)
    }

    #[inline]
    #[target_feature(enable = "avx2")]
    fn zero() -> V {
        _mm256_setzero_si256()
    }

    #[inline]
    #[target_feature(enable = "avx2")]
    fn xor(a: V, b: V) -> V {
        _mm256_xor_si256(a, b)
    }

    /// The constant 0x0f in every byte.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn low_nibbles() -> V {
        _mm256_set1_epi8(0x0f)
    }

    /// The low and high nibble of every byte of `x` (`mask` is [`low_nibbles`]).
    #[inline]
    #[target_feature(enable = "avx2")]
    fn nibbles(x: V, mask: V) -> (V, V) {
        (
            _mm256_and_si256(x, mask),
            _mm256_and_si256(_mm256_srli_epi16::<4>(x), mask),
        )
    }

    #[inline]
    #[target_feature(enable = "avx2")]
    fn lookup(table: V, index: V) -> V {
        _mm256_shuffle_epi8(table, index)
    }

    kernels!("avx2", groups: [(8, 1), (4, 2), (2, 4), (1, 8)]);
}

/// AVX-512BW: 64-byte vectors (four 128-bit lanes, each with its own copy of the tables).
///
/// The AVX-512 intrinsics and target features were stabilised in Rust
/// 1.89, so this module needs rustc >= 1.89 (the rest of the crate builds
/// with 1.87).
#[clippy::msrv = "1.89"]
mod avx512 {
    use super::{Column, Matrix, MulTable};
    use core::arch::x86_64::*;

    type V = __m512i;
    const W: usize = 64;
    const ACCUMULATORS: usize = 16;

    /// # Safety
    /// `p` must be valid for reading 64 bytes.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw")]
    unsafe fn load(p: *const u8) -> V {
        // SAFETY: the caller guarantees 64 readable bytes; loadu is unaligned.
        unsafe { _mm512_loadu_si512(p.cast()) }
    }

    /// # Safety
    /// `p` must be valid for writing 64 bytes.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw")]
    unsafe fn store(p: *mut u8, v: V) {
        // SAFETY: the caller guarantees 64 writable bytes; storeu is unaligned.
        unsafe { _mm512_storeu_si512(p.cast(), v) }
    }

    #[inline]
    #[target_feature(enable = "avx512f,avx512bw")]
    fn table(t: &[u8; 16]) -> V {
        // SAFETY: `t` is 16 bytes long; loadu is unaligned.
        let t = unsafe { _mm_loadu_si128(t.as_ptr().cast()) };
        _mm512_broadcast_i32x4(t)
    }

    #[inline]
    #[target_feature(enable = "avx512f,avx512bw")]
    fn zero() -> V {
        _mm512_setzero_si512()
    }

    #[inline]
    #[target_feature(enable = "avx512f,avx512bw")]
    fn xor(a: V, b: V) -> V {
        _mm512_xor_si512(a, b)
    }

    /// The constant 0x0f in every byte.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw")]
    fn low_nibbles() -> V {
        _mm512_set1_epi8(0x0f)
    }

    /// The low and high nibble of every byte of `x` (`mask` is [`low_nibbles`]).
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw")]
    fn nibbles(x: V, mask: V) -> (V, V) {
        (
            _mm512_and_si512(x, mask),
            _mm512_and_si512(_mm512_srli_epi16::<4>(x), mask),
        )
    }

    #[inline]
    #[target_feature(enable = "avx512f,avx512bw")]
    fn lookup(table: V, index: V) -> V {
        _mm512_shuffle_epi8(table, index)
    }

    kernels!("avx512f,avx512bw", groups: [(16, 1), (8, 2), (4, 4), (2, 8), (1, 16)]);
}
