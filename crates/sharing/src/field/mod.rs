//! Arithmetic in GF(2^8) with the AES reduction polynomial
//! `x^8 + x^4 + x^3 + x + 1` (0x11b, FIPS-197 section 4.2), as used by
//! vsss-rs and by the x86 GFNI instructions. (blahaj uses 0x11d instead.)
//!
//! Besides single-element [`mul`] and [`inv`] this module holds the bulk
//! kernels every byte-wise sharing operation is built from:
//!
//! * [`mul_acc`]: `dst ^= c * src`,
//! * [`mul_add`]: the Horner step `dst = c * dst ^ src`,
//! * [`Kernels::mul_matrix`]: `outputs = M * inputs` for a small public
//!   matrix `M` (split evaluates a Vandermonde matrix, combine applies one
//!   row of Lagrange coefficients), fusing all multiply-accumulates of a
//!   block into one pass so that each input byte is loaded once per group of
//!   outputs and each output byte is stored once.
//!
//! Each kernel exists in up to four [`Backend`]s: a portable SWAR one (eight
//! lanes per `u64`) and, on x86-64, SSSE3, AVX2 and AVX-512BW ones that
//! multiply 16/32/64 bytes at a time with the split-nibble method: for a
//! constant `c`, `c * v = T_lo[v & 15] ^ T_hi[v >> 4]`, where the two
//! 16-entry tables are derived from the public `c` and held in vector
//! registers, and the lookups are `PSHUFB` register shuffles (Plank, Greenan
//! and Miller, "Screaming Fast Galois Field Arithmetic Using Intel SIMD
//! Instructions", FAST 2013). The fastest backend the CPU supports is
//! detected once at run time; [`with_backend`] and [`kernels`] force a
//! particular one (for tests and benchmarks). All backends produce identical
//! output.
//!
//! A GFNI backend (`GF2P8MULB`, one instruction per 64 bytes) would be faster
//! still, but it is left out: the CPUs this was developed on lack GFNI, so it
//! could not be tested.
//!
//! # Security
//!
//! Every function here is constant-time in the data it processes:
//! multiplication of secret values is computed with masks and shifts (no
//! log/exp tables in memory), and the bulk kernels take their multipliers as
//! *public* constants (share indices, Lagrange coefficients) while the data
//! they scan may be secret. The only table lookups are the register shuffles
//! of the SIMD backends, whose tables are derived from the public constants;
//! `PSHUFB` runs in time independent of its index operand.

use std::cell::Cell;
use std::sync::OnceLock;

pub mod portable;
#[cfg(target_arch = "x86_64")]
mod simd;

/// Multiplies two field elements in constant time.
#[inline]
pub fn mul(a: u8, b: u8) -> u8 {
    let mut a = a;
    let mut acc = 0u8;
    for bit in 0..8 {
        // mask is 0xff when bit `bit` of b is set, 0 otherwise.
        let mask = 0u8.wrapping_sub((b >> bit) & 1);
        acc ^= a & mask;
        a = xtime(a);
    }
    acc
}

/// Multiplies by `x` (0x02) in constant time.
#[inline]
fn xtime(a: u8) -> u8 {
    let carry = 0u8.wrapping_sub(a >> 7);
    (a << 1) ^ (carry & 0x1b)
}

/// The multiplicative inverse, `a^254`, in constant time. `inv(0) == 0`.
#[inline]
pub fn inv(a: u8) -> u8 {
    // a^254 = a^(2+4+8+16+32+64+128) by square-and-multiply with a fixed chain.
    let a2 = mul(a, a);
    let a4 = mul(a2, a2);
    let a8 = mul(a4, a4);
    let a16 = mul(a8, a8);
    let a32 = mul(a16, a16);
    let a64 = mul(a32, a32);
    let a128 = mul(a64, a64);
    mul(mul(mul(a2, a4), mul(a8, a16)), mul(mul(a32, a64), a128))
}

/// `a^exp` in constant time (in `a`; the exponent is public).
pub fn pow(a: u8, exp: usize) -> u8 {
    let mut acc = 1u8;
    for _ in 0..exp {
        acc = mul(acc, a);
    }
    acc
}

/// `dst[i] ^= c * src[i]` for every `i`, where `c` is public, with the
/// fastest backend available (see [`with_backend`]).
///
/// If the slices differ in length only the common prefix is processed.
pub fn mul_acc(dst: &mut [u8], src: &[u8], c: u8) {
    active().mul_acc(dst, src, c);
}

/// Horner step `dst[i] = c * dst[i] ^ src[i]` for every `i`, where `c` is
/// public, with the fastest backend available (see [`with_backend`]).
///
/// If the slices differ in length only the common prefix is processed.
pub fn mul_add(dst: &mut [u8], src: &[u8], c: u8) {
    active().mul_add(dst, src, c);
}

/// The split-nibble multiplication table of a public constant `c`:
/// `c * v == low[v & 15] ^ high[v >> 4]` for every byte `v`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct MulTable {
    /// `low[i] = c * i` followed by `high[i] = c * (i << 4)`, for `i < 16`.
    nibbles: [u8; 32],
    constant: u8,
}

impl MulTable {
    /// Builds the table of `c` (constant-time in `c`).
    pub fn new(c: u8) -> Self {
        // Eight products per SWAR multiplication: the low table multiplies
        // 0..16, the high table 0x00, 0x10, .., 0xf0.
        const FACTORS: [u64; 4] = [
            0x0706_0504_0302_0100,
            0x0f0e_0d0c_0b0a_0908,
            0x7060_5040_3020_1000,
            0xf0e0_d0c0_b0a0_9080,
        ];
        let mut nibbles = [0u8; 32];
        for (chunk, factors) in nibbles.chunks_exact_mut(8).zip(FACTORS) {
            chunk.copy_from_slice(&portable::mul8(factors, c).to_le_bytes());
        }
        Self {
            nibbles,
            constant: c,
        }
    }

    /// The constant this table multiplies by.
    pub fn constant(&self) -> u8 {
        self.constant
    }

    /// `c * i` for `i < 16` followed by `c * (i << 4)` for `i < 16`.
    pub fn nibbles(&self) -> &[u8; 32] {
        &self.nibbles
    }
}

/// A public `rows x cols` matrix over GF(2^8), prepared for
/// [`Kernels::mul_matrix`] (each entry's [`MulTable`] is computed once).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Matrix {
    rows: usize,
    cols: usize,
    /// Row-major: entry `(r, c)` at `r * cols + c`.
    tables: Vec<MulTable>,
}

impl Matrix {
    /// Builds the matrix whose entry `(r, c)` is `entry(r, c)`.
    pub fn new(rows: usize, cols: usize, mut entry: impl FnMut(usize, usize) -> u8) -> Self {
        let mut tables = Vec::with_capacity(rows.saturating_mul(cols));
        for r in 0..rows {
            for c in 0..cols {
                tables.push(MulTable::new(entry(r, c)));
            }
        }
        Self { rows, cols, tables }
    }

    /// Number of rows (outputs).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns (inputs).
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Entry `(r, c)`, or `None` outside the matrix.
    pub fn entry(&self, r: usize, c: usize) -> Option<u8> {
        if c >= self.cols {
            return None;
        }
        self.tables
            .get(r.checked_mul(self.cols)?.checked_add(c)?)
            .map(MulTable::constant)
    }

    /// The tables of row `r` (empty outside the matrix).
    pub(crate) fn row(&self, r: usize) -> &[MulTable] {
        let start = r.saturating_mul(self.cols);
        self.tables
            .get(start..start.saturating_add(self.cols))
            .unwrap_or_default()
    }
}

/// An implementation of the bulk kernels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// Portable SWAR code, eight byte lanes per `u64`. Always available.
    Portable,
    /// x86-64 SSSE3: 16 bytes per `PSHUFB`.
    Ssse3,
    /// x86-64 AVX2: 32 bytes per `VPSHUFB`.
    Avx2,
    /// x86-64 AVX-512BW: 64 bytes per `VPSHUFB`.
    Avx512,
}

impl Backend {
    /// Every backend, slowest first.
    pub const ALL: [Backend; 4] = [
        Backend::Portable,
        Backend::Ssse3,
        Backend::Avx2,
        Backend::Avx512,
    ];

    /// Whether this CPU can run the backend.
    pub fn is_available(self) -> bool {
        match self {
            Backend::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Backend::Ssse3 => simd::Level::Ssse3.is_available(),
            #[cfg(target_arch = "x86_64")]
            Backend::Avx2 => simd::Level::Avx2.is_available(),
            #[cfg(target_arch = "x86_64")]
            Backend::Avx512 => simd::Level::Avx512.is_available(),
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// The backends this CPU can run, slowest first.
    pub fn available() -> impl Iterator<Item = Backend> {
        Self::ALL.into_iter().filter(|b| b.is_available())
    }

    /// The fastest backend this CPU can run (detected once, then cached).
    pub fn detect() -> Backend {
        static DETECTED: OnceLock<Backend> = OnceLock::new();
        *DETECTED.get_or_init(|| Self::available().last().unwrap_or(Backend::Portable))
    }

    #[cfg(target_arch = "x86_64")]
    fn level(self) -> Option<simd::Level> {
        match self {
            Backend::Portable => None,
            Backend::Ssse3 => Some(simd::Level::Ssse3),
            Backend::Avx2 => Some(simd::Level::Avx2),
            Backend::Avx512 => Some(simd::Level::Avx512),
        }
    }
}

std::thread_local! {
    /// A backend forced on this thread by [`with_backend`].
    static FORCED: Cell<Option<Backend>> = const { Cell::new(None) };
}

/// Runs `f` with every kernel on this thread (including those behind
/// [`crate::bytes`]) forced to `backend`, then restores the previous choice.
///
/// Returns `None`, without running `f`, when the CPU cannot run `backend`.
pub fn with_backend<T>(backend: Backend, f: impl FnOnce() -> T) -> Option<T> {
    /// Restores the previous choice even if `f` unwinds.
    struct Restore(Option<Backend>);
    impl Drop for Restore {
        fn drop(&mut self) {
            FORCED.with(|forced| forced.set(self.0));
        }
    }
    if !backend.is_available() {
        return None;
    }
    let _restore = Restore(FORCED.with(|forced| forced.replace(Some(backend))));
    Some(f())
}

/// The kernels of `backend`, or `None` when the CPU cannot run it.
pub fn kernels(backend: Backend) -> Option<Kernels> {
    backend.is_available().then_some(Kernels { backend })
}

/// The kernels in use on this thread: the one forced by [`with_backend`],
/// else the fastest available.
pub fn active() -> Kernels {
    let backend = FORCED.with(Cell::get).unwrap_or_else(Backend::detect);
    Kernels { backend }
}

/// The bulk kernels of one backend the CPU supports (see [`kernels`], [`active`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Kernels {
    backend: Backend,
}

impl Kernels {
    /// Which backend these kernels run.
    pub fn backend(self) -> Backend {
        self.backend
    }

    /// `dst[i] ^= c * src[i]` over the common prefix of the slices.
    pub fn mul_acc(self, dst: &mut [u8], src: &[u8], c: u8) {
        let len = dst.len().min(src.len());
        let (dst, src) = (
            dst.get_mut(..len).unwrap_or_default(),
            src.get(..len).unwrap_or_default(),
        );
        #[cfg(target_arch = "x86_64")]
        if let Some(level) = self.backend.level() {
            let done = simd::mul_acc(level, dst, src, &MulTable::new(c));
            if let (Some(dst), Some(src)) = (dst.get_mut(done..), src.get(done..)) {
                portable::mul_acc(dst, src, c);
            }
            return;
        }
        portable::mul_acc(dst, src, c);
    }

    /// `dst[i] = c * dst[i] ^ src[i]` over the common prefix of the slices.
    pub fn mul_add(self, dst: &mut [u8], src: &[u8], c: u8) {
        let len = dst.len().min(src.len());
        let (dst, src) = (
            dst.get_mut(..len).unwrap_or_default(),
            src.get(..len).unwrap_or_default(),
        );
        #[cfg(target_arch = "x86_64")]
        if let Some(level) = self.backend.level() {
            let done = simd::mul_add(level, dst, src, &MulTable::new(c));
            if let (Some(dst), Some(src)) = (dst.get_mut(done..), src.get(done..)) {
                portable::mul_add(dst, src, c);
            }
            return;
        }
        portable::mul_add(dst, src, c);
    }

    /// `outputs[r][i] = XOR over c of matrix(r, c) * inputs[c][i]`: the
    /// matrix-vector product for every byte position `i`, overwriting the
    /// outputs.
    ///
    /// Processes `min(matrix.rows(), outputs.len())` outputs and the first
    /// `min(matrix.cols(), inputs.len())` inputs, over the shortest length of
    /// all slices involved; bytes beyond it are left untouched.
    pub fn mul_matrix(self, matrix: &Matrix, outputs: &mut [&mut [u8]], inputs: &[&[u8]]) {
        let rows = matrix.rows().min(outputs.len());
        let cols = matrix.cols().min(inputs.len());
        let outputs = outputs.get_mut(..rows).unwrap_or_default();
        let inputs = inputs.get(..cols).unwrap_or_default();
        let len = outputs
            .iter()
            .map(|o| o.len())
            .chain(inputs.iter().map(|i| i.len()))
            .min()
            .unwrap_or(0);
        #[cfg(target_arch = "x86_64")]
        if let Some(level) = self.backend.level() {
            let done = simd::mul_matrix(level, matrix, outputs, inputs, len);
            if !simd_tail(level, matrix, outputs, inputs, done, len) {
                portable::mul_matrix(matrix, outputs, inputs, done, len);
            }
            return;
        }
        portable::mul_matrix(matrix, outputs, inputs, 0, len);
    }
}

/// The widest SIMD vector, in bytes.
#[cfg(target_arch = "x86_64")]
const TAIL: usize = 64;

/// [`Kernels::mul_matrix`] on the last `end - start < TAIL` bytes, which the
/// SIMD kernels leave over: copies them into zero-padded blocks of one
/// vector, multiplies those, and copies the results back. Much faster than
/// the portable code for short secrets, where the tail is all there is.
/// Returns false, touching nothing, if it did not apply.
#[cfg(target_arch = "x86_64")]
fn simd_tail(
    level: simd::Level,
    matrix: &Matrix,
    outputs: &mut [&mut [u8]],
    inputs: &[&[u8]],
    start: usize,
    end: usize,
) -> bool {
    use zeroize::Zeroizing;

    let tail = end.saturating_sub(start);
    if tail == 0 {
        return true;
    }
    if tail >= TAIL {
        return false;
    }
    // The padded copies hold secret bytes: wiped on drop.
    let mut padded_in: Zeroizing<Vec<[u8; TAIL]>> = Zeroizing::new(vec![[0; TAIL]; inputs.len()]);
    for (block, input) in padded_in.iter_mut().zip(inputs) {
        let (Some(dst), Some(src)) = (block.get_mut(..tail), input.get(start..end)) else {
            return false;
        };
        dst.copy_from_slice(src);
    }
    let mut padded_out: Zeroizing<Vec<[u8; TAIL]>> = Zeroizing::new(vec![[0; TAIL]; outputs.len()]);
    let ins: Vec<&[u8]> = padded_in.iter().map(|b| &b[..]).collect();
    let mut outs: Vec<&mut [u8]> = padded_out.iter_mut().map(|b| &mut b[..]).collect();
    if simd::mul_matrix(level, matrix, &mut outs, &ins, TAIL) != TAIL {
        return false;
    }
    for (output, block) in outputs.iter_mut().zip(padded_out.iter()) {
        if let (Some(dst), Some(src)) = (output.get_mut(start..end), block.get(..tail)) {
            dst.copy_from_slice(src);
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Schoolbook carry-less multiply then reduce: an independent oracle.
    fn mul_oracle(a: u8, b: u8) -> u8 {
        let mut p: u16 = 0;
        for i in 0..8 {
            if (b >> i) & 1 == 1 {
                p ^= u16::from(a) << i;
            }
        }
        for i in (8..16).rev() {
            if (p >> i) & 1 == 1 {
                p ^= 0x11b << (i - 8);
            }
        }
        p as u8
    }

    #[test]
    fn mul_matches_oracle_exhaustively() {
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                assert_eq!(mul(a, b), mul_oracle(a, b), "{a} * {b}");
            }
        }
    }

    #[test]
    fn inverse_is_inverse() {
        assert_eq!(inv(0), 0);
        for a in 1..=255u8 {
            assert_eq!(mul(a, inv(a)), 1, "a = {a}");
        }
    }

    #[test]
    fn known_products() {
        // FIPS-197 section 4.2: {57} * {83} = {c1}, {57} * {13} = {fe}.
        assert_eq!(mul(0x57, 0x83), 0xc1);
        assert_eq!(mul(0x57, 0x13), 0xfe);
        // FIPS-197 section 5.1.1: the S-box inverse of {53} is {ca}.
        assert_eq!(inv(0x53), 0xca);
    }

    #[test]
    fn pow_matches_repeated_multiplication() {
        assert_eq!(pow(0, 0), 1);
        assert_eq!(pow(7, 1), 7);
        assert_eq!(pow(3, 255), 1, "3 generates the multiplicative group");
        assert_eq!(pow(0x53, 254), inv(0x53));
    }

    #[test]
    fn mul_table_matches_mul() {
        for c in 0..=255u8 {
            let table = MulTable::new(c);
            assert_eq!(table.constant(), c);
            for v in 0..=255u8 {
                let n = table.nibbles();
                assert_eq!(
                    n[usize::from(v & 15)] ^ n[16 + usize::from(v >> 4)],
                    mul(c, v)
                );
            }
        }
    }

    #[test]
    fn kernels_match_scalar_mul_on_every_backend() {
        let src: Vec<u8> = (0..301u32).map(|i| (i * 37 + 11) as u8).collect();
        for backend in Backend::available() {
            let k = kernels(backend).unwrap();
            for c in [0u8, 1, 2, 0x53, 0xff] {
                let mut acc = vec![0x5au8; src.len()];
                k.mul_acc(&mut acc, &src, c);
                let mut horner = vec![0x5au8; src.len()];
                k.mul_add(&mut horner, &src, c);
                for i in 0..src.len() {
                    assert_eq!(acc[i], 0x5a ^ mul(src[i], c), "{backend:?}");
                    assert_eq!(horner[i], mul(0x5a, c) ^ src[i], "{backend:?}");
                }
            }
        }
    }

    #[test]
    fn matrix_entries_and_bounds() {
        let m = Matrix::new(2, 3, |r, c| (10 * r + c) as u8);
        assert_eq!((m.rows(), m.cols()), (2, 3));
        assert_eq!(m.entry(1, 2), Some(12));
        assert_eq!(m.entry(0, 3), None);
        assert_eq!(m.entry(2, 0), None);
        assert!(m.row(2).is_empty());
    }

    #[test]
    fn with_backend_forces_and_restores() {
        let before = active().backend();
        let inside = with_backend(Backend::Portable, || active().backend());
        assert_eq!(inside, Some(Backend::Portable));
        assert_eq!(active().backend(), before);
        for backend in Backend::ALL {
            assert_eq!(kernels(backend).is_some(), backend.is_available());
        }
        assert!(Backend::detect().is_available());
    }
}
