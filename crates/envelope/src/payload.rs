//! The share payload: the plaintext (`blinding || share` for hash-committed
//! schemes, the bare share otherwise) as clear bytes, or an HPKE (RFC 9180)
//! base-mode single-shot encryption of it to the recipient's X25519 key.
//!
//! Ciphersuite (RFC 9180 §7): KEM `DHKEM(X25519, HKDF-SHA256)` (0x0020), KDF
//! `HKDF-SHA256` (0x0001), AEAD `ChaCha20Poly1305` (0x0003). `info` is
//! [`HPKE_INFO`]; the AAD is the canonical metadata bytes, so a ciphertext
//! cannot be moved under other metadata.

use core::convert::Infallible;

use hpke::aead::{AeadTag, ChaCha20Poly1305};
use hpke::inout::InOutBuf;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::{
    Deserializable, Kem as _, OpModeR, OpModeS, Serializable,
    single_shot_open_inout_detached as open_inout,
    single_shot_seal_inout_detached_with_rng as seal_inout,
};
use rand_core::CryptoRng;
use zeroize::Zeroizing;

use crate::Error;
use crate::identity::Identity;
use crate::wire::{self, Reader};

/// The HPKE KEM: DHKEM(X25519, HKDF-SHA256).
pub(crate) type Kem = X25519HkdfSha256;
type Kdf = HkdfSha256;
type Aead = ChaCha20Poly1305;
/// The X25519 secret key type of [`Kem`].
pub(crate) type KemSecretKey = <Kem as hpke::Kem>::PrivateKey;
type KemPublicKey = <Kem as hpke::Kem>::PublicKey;
type EncappedKey = <Kem as hpke::Kem>::EncappedKey;

/// HPKE `info`: binds every ciphertext to this format and version.
pub const HPKE_INFO: &[u8] = b"symbolon shard v1";
/// Length of an HPKE encapsulated key (`Nenc` for X25519).
pub(crate) const ENCAPSULATED_KEY_LEN: usize = 32;
/// Length of a ChaCha20-Poly1305 tag (`Nt`).
pub(crate) const TAG_LEN: usize = 16;

/// Payload kind byte: share in the clear.
pub(crate) const KIND_CLEAR: u8 = 0;
/// Payload kind byte: HPKE-sealed share.
pub(crate) const KIND_HPKE: u8 = 1;

/// BLAKE3 `derive_key` context of the payload digest that is signed.
const PAYLOAD_DIGEST_CONTEXT: &str = "symbolon shard payload v1";

/// The payload plaintext (`[blinding] || share`, see
/// [`crate::metadata::Scheme::is_hash_committed`]), in the clear or sealed.
#[derive(Clone)]
pub(crate) enum Payload {
    /// The plaintext itself (secret: wiped on drop).
    Clear(Zeroizing<Vec<u8>>),
    /// HPKE encapsulated key and ciphertext of the plaintext (with its
    /// 16-byte tag appended).
    Sealed {
        encapsulated_key: [u8; ENCAPSULATED_KEY_LEN],
        ciphertext: Vec<u8>,
    },
}

impl Payload {
    /// Seals `plaintext` to the X25519 key `recipient`, with `aad`,
    /// encrypting in place: the buffer becomes the ciphertext, so a large
    /// share is not copied again. Reserve [`TAG_LEN`] spare bytes of
    /// capacity to avoid a reallocation for the tag.
    ///
    /// On error the plaintext is wiped (it is dropped as `Zeroizing`).
    pub(crate) fn seal<R: CryptoRng + ?Sized>(
        mut plaintext: Zeroizing<Vec<u8>>,
        recipient: &[u8; 32],
        aad: &[u8],
        mut rng: &mut R,
    ) -> Result<Self, Error> {
        let pk = KemPublicKey::from_bytes(recipient).map_err(|_| Error::Encryption)?;
        let buffer = InOutBuf::from(plaintext.as_mut_slice());
        let (encapsulated_key, tag) =
            seal_inout::<Aead, Kdf, Kem>(&OpModeS::Base, &pk, HPKE_INFO, buffer, aad, &mut rng)
                .map_err(|_| Error::Encryption)?;
        // The buffer now holds ciphertext, which needs no wiping.
        let mut ciphertext = core::mem::take(&mut *plaintext);
        ciphertext.extend_from_slice(&tag.to_bytes());
        let encapsulated_key: [u8; ENCAPSULATED_KEY_LEN] = encapsulated_key.to_bytes().into();
        Ok(Self::Sealed {
            encapsulated_key,
            ciphertext,
        })
    }

    /// Decrypts a sealed payload with `identity`'s X25519 key, returning the
    /// plaintext.
    ///
    /// The plaintext is written straight into a wiping buffer.
    pub(crate) fn open_sealed(
        encapsulated_key: &[u8; ENCAPSULATED_KEY_LEN],
        ciphertext: &[u8],
        identity: &Identity,
        aad: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, Error> {
        let enc = EncappedKey::from_bytes(encapsulated_key).map_err(|_| Error::Decryption)?;
        let msg_len = ciphertext
            .len()
            .checked_sub(TAG_LEN)
            .ok_or(Error::Decryption)?;
        let (body, tag) = ciphertext
            .split_at_checked(msg_len)
            .ok_or(Error::Decryption)?;
        let tag = AeadTag::<Aead>::from_bytes(tag).map_err(|_| Error::Decryption)?;
        let mut plaintext = Zeroizing::new(vec![0u8; msg_len]);
        let buffer = InOutBuf::new(body, &mut plaintext).map_err(|_| Error::Decryption)?;
        open_inout::<Aead, Kdf, Kem>(
            &OpModeR::Base,
            identity.hpke_secret(),
            &enc,
            HPKE_INFO,
            buffer,
            aad,
            &tag,
        )
        .map_err(|_| Error::Decryption)?;
        Ok(plaintext)
    }

    pub(crate) fn is_sealed(&self) -> bool {
        matches!(self, Self::Sealed { .. })
    }

    /// The payload bytes: the plaintext, or the ciphertext with its tag.
    pub(crate) fn data(&self) -> &[u8] {
        match self {
            Self::Clear(share) => share,
            Self::Sealed { ciphertext, .. } => ciphertext,
        }
    }

    /// The length of the plaintext inside.
    pub(crate) fn plaintext_len(&self) -> usize {
        match self {
            Self::Clear(share) => share.len(),
            Self::Sealed { ciphertext, .. } => ciphertext.len().saturating_sub(TAG_LEN),
        }
    }

    /// The wire kind byte (also part of the signed message).
    pub(crate) fn kind(&self) -> u8 {
        match self {
            Self::Clear(_) => KIND_CLEAR,
            Self::Sealed { .. } => KIND_HPKE,
        }
    }

    /// The payload header: kind, encapsulated key if sealed, data length.
    pub(crate) fn header(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + ENCAPSULATED_KEY_LEN + 8);
        out.push(self.kind());
        if let Self::Sealed {
            encapsulated_key, ..
        } = self
        {
            out.extend_from_slice(encapsulated_key);
        }
        // usize -> u64 is lossless on every supported target.
        wire::put_u64(&mut out, self.data().len() as u64);
        out
    }

    /// Appends the canonical encoding.
    pub(crate) fn encode_into(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.header());
        out.extend_from_slice(self.data());
    }

    /// The exact length of [`Self::encode_into`]'s output.
    pub(crate) fn encoded_len(&self) -> usize {
        let header = match self {
            Self::Clear(_) => 1 + 8,
            Self::Sealed { .. } => 1 + ENCAPSULATED_KEY_LEN + 8,
        };
        header.saturating_add(self.data().len())
    }

    /// BLAKE3 `derive_key("symbolon shard payload v1", encoding)`: the
    /// payload digest that the signature covers, computed without copying
    /// the payload.
    pub(crate) fn digest(&self) -> [u8; 32] {
        let encapsulated_key = match self {
            Self::Clear(_) => None,
            Self::Sealed {
                encapsulated_key, ..
            } => Some(encapsulated_key),
        };
        let mut hasher =
            digest_hasher(self.is_sealed(), encapsulated_key, self.data().len() as u64);
        hasher.update(self.data());
        *hasher.finalize().as_bytes()
    }

    /// Reads a payload.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidTag`] for an unknown kind, [`Error::Truncated`] if the
    /// declared length runs past the input, [`Error::EmptyShare`] for an
    /// empty clear payload or a ciphertext no longer than its tag. (The
    /// envelope then checks the plaintext is longer than the scheme's
    /// blinding.)
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, Error> {
        let kind = r.u8("payload kind")?;
        let encapsulated_key = match kind {
            KIND_CLEAR => None,
            KIND_HPKE => Some(r.array::<ENCAPSULATED_KEY_LEN>("encapsulated key")?),
            tag => {
                return Err(Error::InvalidTag {
                    field: "payload kind",
                    tag,
                });
            }
        };
        let len = r.u64("payload length")?;
        // A length that does not fit in memory cannot fit in the input either.
        let len = usize::try_from(len).map_err(|_| Error::Truncated { field: "payload" })?;
        let data = r.take(len, "payload")?;
        match encapsulated_key {
            None if data.is_empty() => Err(Error::EmptyShare),
            None => Ok(Self::Clear(Zeroizing::new(data.to_vec()))),
            Some(_) if data.len() <= TAG_LEN => Err(Error::EmptyShare),
            Some(encapsulated_key) => Ok(Self::Sealed {
                encapsulated_key,
                ciphertext: data.to_vec(),
            }),
        }
    }
}

/// The payload digest's hasher after the payload header (kind, encapsulated
/// key if sealed, data length); the data bytes follow.
pub(crate) fn digest_hasher(
    sealed: bool,
    encapsulated_key: Option<&[u8; ENCAPSULATED_KEY_LEN]>,
    data_len: u64,
) -> blake3::Hasher {
    let mut hasher = blake3::Hasher::new_derive_key(PAYLOAD_DIGEST_CONTEXT);
    hasher.update(&[if sealed { KIND_HPKE } else { KIND_CLEAR }]);
    if let Some(key) = encapsulated_key {
        hasher.update(key);
    }
    hasher.update(&data_len.to_be_bytes());
    hasher
}

/// Whether `pk` is an X25519 public key HPKE can encrypt to, i.e. not of
/// small order.
///
/// RFC 9180 §7.1.4 makes DHKEM fail when the Diffie-Hellman output is all
/// zeros, which for a clamped scalar happens exactly when the peer point has
/// small order (RFC 7748 §6.1). So one trial encapsulation answers the
/// question with HPKE's own check, without a hand-written blocklist.
pub(crate) fn x25519_key_is_usable(pk: &[u8; 32]) -> bool {
    let Ok(pk) = KemPublicKey::from_bytes(pk) else {
        return false;
    };
    Kem::encap_with_rng(&pk, None, &mut ProbeRng).is_ok()
}

/// A fixed byte stream used only by [`x25519_key_is_usable`] to make a
/// throw-away ephemeral key for the small-order probe. Its output seals
/// nothing and is discarded; it is never used where randomness matters.
struct ProbeRng;

impl rand_core::TryRng for ProbeRng {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok(0x5359_4d42)
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(0x5359_4d42_5359_4d42)
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        dst.fill(0x5a);
        Ok(())
    }
}

// Only a marker so HPKE's key generation accepts it; see the type's docs.
impl rand_core::TryCryptoRng for ProbeRng {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_order_x25519_keys_are_unusable() {
        // u = 0 and u = 1 are small-order points (RFC 7748 §6.1).
        assert!(!x25519_key_is_usable(&[0u8; 32]));
        let mut one = [0u8; 32];
        one[0] = 1;
        assert!(!x25519_key_is_usable(&one));
        // p - 1 (order 2), encoded little-endian.
        let mut p_minus_one = [0xffu8; 32];
        p_minus_one[0] = 0xec;
        p_minus_one[31] = 0x7f;
        assert!(!x25519_key_is_usable(&p_minus_one));
        // The base point u = 9 is fine.
        let mut nine = [0u8; 32];
        nine[0] = 9;
        assert!(x25519_key_is_usable(&nine));
    }

    #[test]
    fn truncated_ciphertexts_fail_to_decode() {
        let mut bytes = vec![KIND_HPKE];
        bytes.extend_from_slice(&[7u8; 32]);
        bytes.extend_from_slice(&16u64.to_be_bytes());
        bytes.extend_from_slice(&[0u8; 16]);
        assert_eq!(
            Payload::decode(&mut Reader::new(&bytes)).err(),
            Some(Error::EmptyShare)
        );
        let huge = [&[KIND_CLEAR][..], &u64::MAX.to_be_bytes()].concat();
        assert_eq!(
            Payload::decode(&mut Reader::new(&huge)).err(),
            Some(Error::Truncated { field: "payload" })
        );
    }
}
