//! Arithmetic in GF(2^8) with the AES reduction polynomial
//! `x^8 + x^4 + x^3 + x + 1` (0x11b), as used by vsss-rs, blahaj and GFNI.
//!
//! # Security
//!
//! Every function here is constant-time in its arguments: multiplication is
//! computed with masks and shifts (no log/exp tables), and the bulk kernels
//! take the multiplier as a *public* constant while the data they scan may be
//! secret. Vectorised kernels use only register shuffles (PSHUFB) whose
//! tables are derived from the public constant.

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
    mul(
        mul(mul(a2, a4), mul(a8, a16)),
        mul(mul(a32, a64), a128),
    )
}

/// `dst[i] ^= c * src[i]` for every `i`, where `c` is public.
///
/// # Panics
///
/// Never; if the slices differ in length only the common prefix is processed.
pub fn mul_acc(dst: &mut [u8], src: &[u8], c: u8) {
    portable::mul_acc(dst, src, c);
}

/// Horner step `dst[i] = c * dst[i] ^ src[i]` for every `i`, where `c` is public.
pub fn mul_add(dst: &mut [u8], src: &[u8], c: u8) {
    portable::mul_add(dst, src, c);
}

/// Portable SWAR kernels: eight bytes per `u64`, constant-time.
pub mod portable {
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

    /// `dst[i] ^= c * src[i]`.
    pub fn mul_acc(dst: &mut [u8], src: &[u8], c: u8) {
        let mut d = dst.chunks_exact_mut(8);
        let mut s = src.chunks_exact(8);
        for (dw, sw) in (&mut d).zip(&mut s) {
            let x = u64::from_le_bytes(sw.try_into().unwrap_or([0; 8]));
            let y = u64::from_le_bytes((&*dw).try_into().unwrap_or([0; 8]));
            dw.copy_from_slice(&(y ^ mul8(x, c)).to_le_bytes());
        }
        for (db, sb) in d.into_remainder().iter_mut().zip(s.remainder()) {
            *db ^= super::mul(*sb, c);
        }
    }

    /// `dst[i] = c * dst[i] ^ src[i]`.
    pub fn mul_add(dst: &mut [u8], src: &[u8], c: u8) {
        let mut d = dst.chunks_exact_mut(8);
        let mut s = src.chunks_exact(8);
        for (dw, sw) in (&mut d).zip(&mut s) {
            let x = u64::from_le_bytes(sw.try_into().unwrap_or([0; 8]));
            let y = u64::from_le_bytes((&*dw).try_into().unwrap_or([0; 8]));
            dw.copy_from_slice(&(mul8(y, c) ^ x).to_le_bytes());
        }
        for (db, sb) in d.into_remainder().iter_mut().zip(s.remainder()) {
            *db = super::mul(*db, c) ^ *sb;
        }
    }
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
    }

    #[test]
    fn kernels_match_scalar_mul() {
        let src: Vec<u8> = (0..77u32).map(|i| (i * 37 + 11) as u8).collect();
        for c in [0u8, 1, 2, 0x53, 0xff] {
            let mut acc = vec![0x5au8; src.len()];
            mul_acc(&mut acc, &src, c);
            let mut horner = vec![0x5au8; src.len()];
            mul_add(&mut horner, &src, c);
            for i in 0..src.len() {
                assert_eq!(acc[i], 0x5a ^ mul(src[i], c));
                assert_eq!(horner[i], mul(0x5a, c) ^ src[i]);
            }
        }
    }
}
