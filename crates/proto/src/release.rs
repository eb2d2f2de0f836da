//! Sealing a released share to the request's ephemeral key.
//!
//! For each operation on a `secret` key the coordinator draws a fresh X25519
//! key pair ([`EphemeralKey`]) and sends its public half in every
//! [`ReleaseRequest`](crate::custodian::ReleaseRequest). A custodian answers
//! with its shard's plaintext (blinding ‖ share) sealed with HPKE (RFC 9180,
//! base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305),
//! `info` = [`HPKE_INFO`], and as associated data the canonical encoding of
//! the [`ReleaseContext`]: request id, key id, version, custodian id and
//! share index. A sealed share therefore opens only with that request's
//! ephemeral key and only as that custodian's share of that key version: it
//! cannot be replayed into another request or passed off as another
//! custodian's. The ephemeral secret is dropped (and wiped) when the
//! operation ends.

use hpke::aead::{AeadTag, ChaCha20Poly1305};
use hpke::inout::InOutBuf;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable as _, Kem as _, OpModeR, OpModeS, Serializable as _};
use rand_core::CryptoRng;
use zeroize::Zeroizing;

use crate::Error;
use crate::encoding::put_str;

type Kem = X25519HkdfSha256;
type PrivateKey = <Kem as hpke::Kem>::PrivateKey;
type PublicKey = <Kem as hpke::Kem>::PublicKey;
type EncappedKey = <Kem as hpke::Kem>::EncappedKey;

/// HPKE `info` for released shares.
pub const HPKE_INFO: &[u8] = b"symbolon release v1";
/// Length of the Poly1305 tag appended to a sealed share.
pub const TAG_LEN: usize = 16;

/// What a released share is bound to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReleaseContext<'a> {
    /// The request the share is released for.
    pub request_id: &'a str,
    /// The key id.
    pub key_id: &'a str,
    /// The key version.
    pub version: u64,
    /// The releasing custodian's id.
    pub custodian_id: &'a str,
    /// The share index.
    pub index: u16,
}

impl ReleaseContext<'_> {
    /// The associated data: a domain tag, then each field (strings
    /// u16-length-prefixed, integers big-endian).
    pub fn aad(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(96);
        out.extend_from_slice(b"symbolon release context v1\0");
        for s in [self.request_id, self.key_id] {
            put_str(&mut out, s);
        }
        out.extend_from_slice(&self.version.to_be_bytes());
        put_str(&mut out, self.custodian_id);
        out.extend_from_slice(&self.index.to_be_bytes());
        out
    }
}

/// A single-use X25519 key pair that released shares are sealed to.
///
/// # Security
///
/// The secret half is wiped when this is dropped; `Debug` shows only the
/// public half.
pub struct EphemeralKey {
    secret: PrivateKey,
    public: [u8; 32],
}

impl std::fmt::Debug for EphemeralKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EphemeralKey")
            .field("public", &hex::encode(self.public))
            .finish_non_exhaustive()
    }
}

impl EphemeralKey {
    /// Draws a fresh key pair.
    pub fn generate<R: CryptoRng + ?Sized>(mut rng: &mut R) -> Self {
        let (secret, public) = Kem::gen_keypair_with_rng(&mut rng);
        let public: [u8; 32] = public.to_bytes().into();
        Self { secret, public }
    }

    /// The public half, for [`ReleaseRequest`](crate::custodian::ReleaseRequest).
    pub fn public(&self) -> [u8; 32] {
        self.public
    }

    /// Opens a share sealed by [`seal`] under `context`.
    ///
    /// # Errors
    ///
    /// [`Error::Open`] for a wrong key, a different context, or any tampering.
    pub fn open(
        &self,
        context: &ReleaseContext<'_>,
        enc: &[u8; 32],
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, Error> {
        let enc = EncappedKey::from_bytes(enc).map_err(|_| Error::Open)?;
        let body_len = sealed.len().checked_sub(TAG_LEN).ok_or(Error::Open)?;
        let (body, tag) = sealed.split_at_checked(body_len).ok_or(Error::Open)?;
        let tag = AeadTag::<ChaCha20Poly1305>::from_bytes(tag).map_err(|_| Error::Open)?;
        let mut plaintext = Zeroizing::new(vec![0u8; body_len]);
        let buffer = InOutBuf::new(body, &mut plaintext).map_err(|_| Error::Open)?;
        hpke::single_shot_open_inout_detached::<ChaCha20Poly1305, HkdfSha256, Kem>(
            &OpModeR::Base,
            &self.secret,
            &enc,
            HPKE_INFO,
            buffer,
            &context.aad(),
            &tag,
        )
        .map_err(|_| Error::Open)?;
        Ok(plaintext)
    }
}

/// Seals `plaintext` to `ephemeral_public` under `context`; returns the
/// encapsulated key and the ciphertext with its tag.
///
/// # Errors
///
/// [`Error::BadPublicKey`] for an invalid public key, [`Error::Seal`] if
/// HPKE fails.
pub fn seal<R: CryptoRng + ?Sized>(
    ephemeral_public: &[u8; 32],
    context: &ReleaseContext<'_>,
    plaintext: &[u8],
    mut rng: &mut R,
) -> Result<([u8; 32], Vec<u8>), Error> {
    let pk = PublicKey::from_bytes(ephemeral_public)
        .map_err(|_| Error::BadPublicKey { what: "ephemeral" })?;
    // Wiped if sealing fails while it still holds the plaintext.
    let mut buffer = Zeroizing::new(Vec::with_capacity(plaintext.len() + TAG_LEN));
    buffer.extend_from_slice(plaintext);
    let (enc, tag) =
        hpke::single_shot_seal_inout_detached_with_rng::<ChaCha20Poly1305, HkdfSha256, Kem>(
            &OpModeS::Base,
            &pk,
            HPKE_INFO,
            InOutBuf::from(buffer.as_mut_slice()),
            &context.aad(),
            &mut rng,
        )
        .map_err(|_| Error::Seal)?;
    // Now ciphertext, which needs no wiping.
    let mut ciphertext = std::mem::take(&mut *buffer);
    ciphertext.extend_from_slice(&tag.to_bytes());
    Ok((enc.to_bytes().into(), ciphertext))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng as _;

    const CTX: ReleaseContext<'static> = ReleaseContext {
        request_id: "r1",
        key_id: "k1",
        version: 1,
        custodian_id: "c1",
        index: 1,
    };

    #[test]
    fn round_trip_and_binding() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let key = EphemeralKey::generate(&mut rng);
        let (enc, sealed) = seal(&key.public(), &CTX, b"blinding+share", &mut rng).unwrap();
        assert_eq!(&*key.open(&CTX, &enc, &sealed).unwrap(), b"blinding+share");
        assert!(!format!("{key:?}").contains("secret"));

        // Every field of the context is bound.
        for ctx in [
            ReleaseContext {
                request_id: "r2",
                ..CTX
            },
            ReleaseContext {
                key_id: "k2",
                ..CTX
            },
            ReleaseContext { version: 2, ..CTX },
            ReleaseContext {
                custodian_id: "c2",
                ..CTX
            },
            ReleaseContext { index: 2, ..CTX },
        ] {
            assert_eq!(key.open(&ctx, &enc, &sealed), Err(Error::Open));
        }
        // Another ephemeral key, a flipped byte, a truncated body: refused.
        let other = EphemeralKey::generate(&mut rng);
        assert_eq!(other.open(&CTX, &enc, &sealed), Err(Error::Open));
        let mut flipped = sealed.clone();
        flipped[0] ^= 1;
        assert_eq!(key.open(&CTX, &enc, &flipped), Err(Error::Open));
        assert_eq!(key.open(&CTX, &enc, &sealed[..10]), Err(Error::Open));
    }
}
