//! Fiat–Shamir transcripts, the second generator `Ḡ`, and Chaum–Pedersen
//! proofs of discrete-logarithm equality.

use std::sync::LazyLock;

use curve25519_dalek::traits::VartimeMultiscalarMul;
use curve25519_dalek::{RistrettoPoint, Scalar};
use rand_core::CryptoRng;
use sha2::{Digest, Sha512};
use zeroize::Zeroizing;

use crate::encoding::Point;

/// Domain of the hash that derives `Ḡ`.
const GENERATOR_DOMAIN: &[u8] = b"symbolon/threshold/tdh2/v1/second-generator";
/// Domain of the hedged proof nonces.
const NONCE_DOMAIN: &[u8] = b"symbolon/threshold/tdh2/v1/proof-nonce";

/// `Ḡ`: a second generator nobody knows the discrete logarithm of,
/// `FromUniformBytes(SHA-512(domain))` (the ristretto255 one-way map of
/// RFC 9496, Section 4.3.4).
pub(crate) static G_BAR: LazyLock<Point> = LazyLock::new(|| {
    let digest: [u8; 64] = Sha512::digest(GENERATOR_DOMAIN).into();
    Point::new(RistrettoPoint::from_uniform_bytes(&digest))
});

/// Hashes `domain` and `parts`, each prefixed with its length (u64 BE), with
/// SHA-512, reduced to a scalar.
pub(crate) fn hash_to_scalar(domain: &[u8], parts: &[&[u8]]) -> Scalar {
    let mut hash = Sha512::new();
    for part in core::iter::once(&domain).chain(parts) {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part);
    }
    let digest = Zeroizing::new(<[u8; 64]>::from(hash.finalize()));
    Scalar::from_bytes_mod_order_wide(&digest)
}

/// A hedged secret nonce: `H(secret || 32 random bytes || context)`, so a
/// broken RNG alone does not repeat it for different statements.
pub(crate) fn hedged_nonce<R: CryptoRng + ?Sized>(
    secret: &[u8],
    context: &[&[u8]],
    rng: &mut R,
) -> Zeroizing<Scalar> {
    let mut random = Zeroizing::new([0u8; 32]);
    rng.fill_bytes(random.as_mut());
    let mut parts: Vec<&[u8]> = vec![secret, random.as_slice()];
    parts.extend_from_slice(context);
    Zeroizing::new(hash_to_scalar(NONCE_DOMAIN, &parts))
}

/// A non-interactive Chaum–Pedersen proof (challenge form) that
/// `log_G P = log_B Q` for the standard generator `G` and a base `B`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Dleq {
    /// The challenge `e`.
    pub(crate) e: Scalar,
    /// The response `f = k + e·x`.
    pub(crate) f: Scalar,
}

impl Dleq {
    /// Proves knowledge of `x` with `P = x·G` and `Q = x·B`, binding
    /// `domain` and `context`. Constant-time in `x` and the nonce.
    pub(crate) fn prove<R: CryptoRng + ?Sized>(
        domain: &[u8],
        context: &[&[u8]],
        x: &Scalar,
        base: &Point,
        p: &Point,
        q: &Point,
        rng: &mut R,
    ) -> Self {
        let secret = Zeroizing::new(x.to_bytes());
        let mut nonce_context: Vec<&[u8]> = vec![domain, &base.bytes, &p.bytes, &q.bytes];
        nonce_context.extend_from_slice(context);
        let k = hedged_nonce(secret.as_slice(), &nonce_context, rng);
        let a = Point::new(RistrettoPoint::mul_base(&k));
        let b = Point::new(base.point * *k);
        let e = challenge(domain, context, base, p, q, &a, &b);
        Self { e, f: *k + e * x }
    }

    /// Checks the proof: recomputes `A = f·G − e·P`, `B' = f·B − e·Q` and the
    /// challenge. Public data only, so variable-time.
    pub(crate) fn verify(
        &self,
        domain: &[u8],
        context: &[&[u8]],
        base: &Point,
        p: &Point,
        q: &Point,
    ) -> bool {
        let a = Point::new(RistrettoPoint::vartime_double_scalar_mul_basepoint(
            &-self.e, &p.point, &self.f,
        ));
        let b = Point::new(RistrettoPoint::vartime_multiscalar_mul(
            [self.f, -self.e],
            [base.point, q.point],
        ));
        challenge(domain, context, base, p, q, &a, &b) == self.e
    }

    /// `e || f`.
    pub(crate) fn to_bytes(self) -> [u8; 64] {
        let mut out = [0u8; 64];
        let (e, f) = out.split_at_mut(32);
        e.copy_from_slice(self.e.as_bytes());
        f.copy_from_slice(self.f.as_bytes());
        out
    }
}

/// `e = H(domain, context…, B, P, Q, A, B')`.
fn challenge(
    domain: &[u8],
    context: &[&[u8]],
    base: &Point,
    p: &Point,
    q: &Point,
    a: &Point,
    b: &Point,
) -> Scalar {
    let mut parts: Vec<&[u8]> = context.to_vec();
    parts.extend_from_slice(&[&base.bytes, &p.bytes, &q.bytes, &a.bytes, &b.bytes]);
    hash_to_scalar(domain, &parts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    const DOMAIN: &[u8] = b"test";

    /// `Ḡ` is part of the format: pinned, and neither the basepoint nor the
    /// identity.
    #[test]
    fn second_generator_is_fixed_and_not_the_basepoint() {
        assert_eq!(
            hex::encode(G_BAR.bytes),
            "b098346f884cc378f09f31c4053a06400326d7e029cb20aa38700b974edb6731"
        );
        assert_ne!(G_BAR.point, RistrettoPoint::mul_base(&Scalar::ONE));
        assert_ne!(G_BAR.point, RistrettoPoint::default());
    }

    #[test]
    fn hash_is_length_prefixed() {
        assert_ne!(
            hash_to_scalar(DOMAIN, &[b"ab", b"c"]),
            hash_to_scalar(DOMAIN, &[b"a", b"bc"])
        );
        assert_ne!(
            hash_to_scalar(b"d1", &[b"x"]),
            hash_to_scalar(b"d2", &[b"x"])
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]

        /// Honest proofs verify; a proof for a different exponent, base,
        /// point or context does not.
        #[test]
        fn dleq_sound_and_complete(seed in any::<[u8; 32]>(), other in 1u64..) {
            let mut rng = ChaCha20Rng::from_seed(seed);
            let x = Scalar::random(&mut rng);
            let base = Point::new(RistrettoPoint::random(&mut rng));
            let p = Point::new(RistrettoPoint::mul_base(&x));
            let q = Point::new(base.point * x);
            let proof = Dleq::prove(DOMAIN, &[b"ctx"], &x, &base, &p, &q, &mut rng);
            prop_assert!(proof.verify(DOMAIN, &[b"ctx"], &base, &p, &q));
            prop_assert!(!proof.verify(DOMAIN, &[b"other"], &base, &p, &q));
            prop_assert!(!proof.verify(b"other", &[b"ctx"], &base, &p, &q));
            // A wrong Q (x' ≠ x), even with a proof made "for" it with x.
            let wrong_q = Point::new(base.point * (x + Scalar::from(other)));
            let forged = Dleq::prove(DOMAIN, &[b"ctx"], &x, &base, &p, &wrong_q, &mut rng);
            prop_assert!(!forged.verify(DOMAIN, &[b"ctx"], &base, &p, &wrong_q));
            prop_assert!(!proof.verify(DOMAIN, &[b"ctx"], &base, &p, &wrong_q));
        }
    }
}
