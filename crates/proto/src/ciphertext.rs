//! The output format of `symbolon encrypt` with a `secret` key.
//!
//! ```text
//! magic     4 bytes  "SYMC"
//! version   1 byte   1
//! name_len  1 byte   1..=64
//! name      name_len bytes: the key name (see crate::validate_name)
//! key_ver   8 bytes  big-endian key version
//! nonce     24 bytes random XChaCha20 nonce
//! body      ciphertext ‖ 16-byte Poly1305 tag
//! ```
//!
//! The AEAD is XChaCha20-Poly1305 (random 192-bit nonces cannot collide in
//! practice) with everything before `body` as associated data, so the key
//! name and version cannot be altered without failing authentication. The
//! AEAD key is not the stored secret itself but
//! `BLAKE3-derive_key("symbolon 2026 secret-key aead v1", secret)`, keeping
//! this use of the secret separate from any other (such as `release`).

use chacha20poly1305::aead::inout::InOutBuf;
use chacha20poly1305::{AeadInOut as _, Key, KeyInit as _, Tag, XChaCha20Poly1305, XNonce};
use rand_core::CryptoRng;
use zeroize::Zeroizing;

use crate::{Error, MAX_NAME_LEN, validate_name};

/// The format's magic bytes.
pub const MAGIC: &[u8; 4] = b"SYMC";
/// The format version this build writes and reads.
pub const VERSION: u8 = 1;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
const KDF_CONTEXT: &str = "symbolon 2026 secret-key aead v1";

/// The public header of a ciphertext: which key and version made it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// The key's name.
    pub key: String,
    /// The key version.
    pub version: u64,
}

/// The AEAD key derived from a `secret` key's bytes.
pub fn derive_aead_key(secret: &[u8]) -> Zeroizing<[u8; 32]> {
    Zeroizing::new(blake3::derive_key(KDF_CONTEXT, secret))
}

/// The AEAD keyed with [`derive_aead_key`]; the key is wiped once the cipher
/// is built (the cipher wipes its own copy on drop).
fn cipher(secret: &[u8]) -> XChaCha20Poly1305 {
    let mut key = Key::from(*derive_aead_key(secret));
    let cipher = XChaCha20Poly1305::new(&key);
    zeroize::Zeroize::zeroize(key.as_mut_slice());
    cipher
}

fn header_bytes(key: &str, version: u64) -> Result<Vec<u8>, Error> {
    validate_name("key name", key)?;
    let mut out = Vec::with_capacity(4 + 2 + key.len() + 8 + NONCE_LEN);
    out.extend_from_slice(MAGIC);
    out.push(VERSION);
    out.push(u8::try_from(key.len()).map_err(|_| Error::BadCiphertext {
        reason: "key name too long",
    })?);
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(&version.to_be_bytes());
    Ok(out)
}

/// Encrypts `plaintext` under `secret` (the key's bytes), naming the key and
/// version in the header.
///
/// # Errors
///
/// [`Error::BadName`] for an invalid key name.
pub fn encrypt<R: CryptoRng + ?Sized>(
    secret: &[u8],
    key: &str,
    version: u64,
    plaintext: &[u8],
    rng: &mut R,
) -> Result<Vec<u8>, Error> {
    let mut out = header_bytes(key, version)?;
    let mut nonce = [0u8; NONCE_LEN];
    rng.fill_bytes(&mut nonce);
    out.extend_from_slice(&nonce);
    let aad_len = out.len();
    out.reserve(plaintext.len() + TAG_LEN);
    out.extend_from_slice(plaintext);
    // Wiped if encryption fails while it still holds the plaintext.
    let mut out = Zeroizing::new(out);
    let cipher = cipher(secret);
    let (aad, body) = out.split_at_mut(aad_len);
    let tag = cipher
        .encrypt_inout_detached(&XNonce::from(nonce), aad, InOutBuf::from(body))
        .map_err(|_| Error::BadCiphertext {
            reason: "plaintext too long",
        })?;
    let mut out = std::mem::take(&mut *out);
    out.extend_from_slice(&tag);
    Ok(out)
}

/// Reads the header (without decrypting): which key and version to use.
///
/// # Errors
///
/// [`Error::BadCiphertext`] naming what is malformed.
pub fn parse_header(ciphertext: &[u8]) -> Result<Header, Error> {
    split(ciphertext).map(|(header, ..)| header)
}

/// (header, aad length, nonce)
fn split(ciphertext: &[u8]) -> Result<(Header, usize, [u8; NONCE_LEN]), Error> {
    let bad = |reason| Error::BadCiphertext { reason };
    let rest = ciphertext
        .strip_prefix(MAGIC.as_slice())
        .ok_or(bad("not a Symbolon ciphertext (bad magic)"))?;
    let (&version, rest) = rest.split_first().ok_or(bad("truncated header"))?;
    if version != VERSION {
        return Err(bad("unsupported format version"));
    }
    let (&name_len, rest) = rest.split_first().ok_or(bad("truncated header"))?;
    let name_len = usize::from(name_len);
    if name_len == 0 || name_len > MAX_NAME_LEN {
        return Err(bad("invalid key name length"));
    }
    let (name, rest) = rest
        .split_at_checked(name_len)
        .ok_or(bad("truncated header"))?;
    let key = std::str::from_utf8(name).map_err(|_| bad("key name is not UTF-8"))?;
    validate_name("key name", key).map_err(|_| bad("invalid key name"))?;
    let (version_bytes, rest) = rest.split_at_checked(8).ok_or(bad("truncated header"))?;
    let mut v = [0u8; 8];
    v.copy_from_slice(version_bytes);
    let (nonce_bytes, body) = rest
        .split_at_checked(NONCE_LEN)
        .ok_or(bad("truncated header"))?;
    if body.len() < TAG_LEN {
        return Err(bad("truncated body"));
    }
    let mut nonce = [0u8; NONCE_LEN];
    nonce.copy_from_slice(nonce_bytes);
    let aad_len = ciphertext.len() - body.len();
    Ok((
        Header {
            key: key.to_owned(),
            version: u64::from_be_bytes(v),
        },
        aad_len,
        nonce,
    ))
}

/// Decrypts a ciphertext made by [`encrypt`] with `secret`.
///
/// # Errors
///
/// [`Error::BadCiphertext`] if malformed, [`Error::Decrypt`] if it does not
/// authenticate under `secret`.
pub fn decrypt(secret: &[u8], ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>, Error> {
    let (header, aad_len, nonce) = split(ciphertext)?;
    let (aad, sealed) = ciphertext
        .split_at_checked(aad_len)
        .ok_or(Error::BadCiphertext {
            reason: "truncated header",
        })?;
    let (body, tag) =
        sealed
            .split_at_checked(sealed.len() - TAG_LEN)
            .ok_or(Error::BadCiphertext {
                reason: "truncated body",
            })?;
    let tag = Tag::try_from(tag).map_err(|_| Error::BadCiphertext {
        reason: "truncated body",
    })?;
    let cipher = cipher(secret);
    let mut plaintext = Zeroizing::new(vec![0u8; body.len()]);
    let buffer = InOutBuf::new(body, &mut plaintext).map_err(|_| Error::BadCiphertext {
        reason: "truncated body",
    })?;
    cipher
        .decrypt_inout_detached(&XNonce::from(nonce), aad, buffer, &tag)
        .map_err(|_| Error::Decrypt {
            key: header.key,
            version: header.version,
        })?;
    Ok(plaintext)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng as _;

    #[test]
    fn round_trip_header_and_tamper() {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let secret = [7u8; 32];
        let ct = encrypt(&secret, "db", 3, b"hello", &mut rng).unwrap();
        assert_eq!(
            parse_header(&ct).unwrap(),
            Header {
                key: "db".into(),
                version: 3
            }
        );
        assert_eq!(&*decrypt(&secret, &ct).unwrap(), b"hello");
        assert_eq!(
            decrypt(&[8u8; 32], &ct),
            Err(Error::Decrypt {
                key: "db".into(),
                version: 3
            })
        );
        // Renaming the key or changing the version breaks authentication.
        let mut renamed = ct.clone();
        renamed[6] = b'x';
        assert!(matches!(
            decrypt(&secret, &renamed),
            Err(Error::Decrypt { .. })
        ));
        let mut bumped = ct.clone();
        bumped[6 + 2 + 7] ^= 1;
        assert!(matches!(
            decrypt(&secret, &bumped),
            Err(Error::Decrypt { .. })
        ));
        for cut in 0..(ct.len() - 5) {
            if cut < 6 + 2 + 8 + 24 + 16 {
                assert!(matches!(
                    decrypt(&secret, &ct[..cut]),
                    Err(Error::BadCiphertext { .. })
                ));
            }
        }
        assert!(matches!(
            parse_header(b"NOPE\x01\x02db"),
            Err(Error::BadCiphertext { .. })
        ));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn any_plaintext_round_trips(data in proptest::collection::vec(any::<u8>(), 0..2048), seed: u64) {
            let mut rng = ChaCha20Rng::seed_from_u64(seed);
            let ct = encrypt(&[1u8; 32], "k", seed, &data, &mut rng).unwrap();
            prop_assert_eq!(&*decrypt(&[1u8; 32], &ct).unwrap(), data.as_slice());
        }

        #[test]
        fn garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 0..128)) {
            let _ = decrypt(&[1u8; 32], &data);
        }
    }
}
