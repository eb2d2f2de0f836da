//! The output formats of `symbolon encrypt`.
//!
//! With a `secret` key:
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
//!
//! With a `ristretto255` key (threshold decryption; anyone can encrypt
//! with the group public key, offline):
//!
//! ```text
//! magic     4 bytes  "SYMT"
//! version   1 byte   1
//! name_len  1 byte   1..=64
//! name      name_len bytes: the key name
//! key_ver   8 bytes  big-endian key version
//! body      a TDH2 ciphertext (symbolon_threshold::tdh2::Ciphertext bytes)
//! ```
//!
//! The TDH2 label is everything before `body`: the ciphertext's proof binds
//! the key name and version, and custodians refuse to decrypt a ciphertext
//! whose proof fails for their group key under that label.

use chacha20poly1305::aead::inout::InOutBuf;
use chacha20poly1305::{AeadInOut as _, Key, KeyInit as _, Tag, XChaCha20Poly1305, XNonce};
use rand_core::CryptoRng;
use symbolon_threshold::tdh2;
use zeroize::Zeroizing;

use crate::{Error, MAX_NAME_LEN, validate_name};

/// The `secret`-key format's magic bytes.
pub const MAGIC: &[u8; 4] = b"SYMC";
/// The threshold format's magic bytes.
pub const THRESHOLD_MAGIC: &[u8; 4] = b"SYMT";
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

fn header_bytes(magic: &[u8; 4], key: &str, version: u64) -> Result<Vec<u8>, Error> {
    validate_name("key name", key)?;
    let mut out = Vec::with_capacity(4 + 2 + key.len() + 8 + NONCE_LEN);
    out.extend_from_slice(magic);
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
    let mut out = header_bytes(MAGIC, key, version)?;
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

/// Reads the header of either format (without decrypting): which key and
/// version to use. A threshold ciphertext's body is only checked for its
/// length here; [`parse_threshold`] decodes it.
///
/// # Errors
///
/// [`Error::BadCiphertext`] naming what is malformed.
pub fn parse_header(ciphertext: &[u8]) -> Result<Header, Error> {
    if is_threshold(ciphertext) {
        let (header, body) = read_header(ciphertext, THRESHOLD_MAGIC)?;
        if body.len() < tdh2::CIPHERTEXT_OVERHEAD {
            return Err(Error::BadCiphertext {
                reason: "truncated body",
            });
        }
        Ok(header)
    } else {
        split(ciphertext).map(|(header, ..)| header)
    }
}

/// Whether `ciphertext` claims the threshold format (its magic is
/// [`THRESHOLD_MAGIC`]).
pub fn is_threshold(ciphertext: &[u8]) -> bool {
    ciphertext.starts_with(THRESHOLD_MAGIC)
}

/// A threshold ciphertext, split.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Threshold<'a> {
    /// Which key and version it was made for.
    pub header: Header,
    /// The TDH2 label: the header bytes.
    pub label: &'a [u8],
    /// The TDH2 ciphertext.
    pub ciphertext: tdh2::Ciphertext,
}

/// Encrypts `plaintext` to a `ristretto255` key's group public key, naming
/// the key and version (anyone can, offline).
///
/// # Errors
///
/// [`Error::BadName`] for an invalid key name; [`Error::Threshold`] for a
/// plaintext beyond the AEAD's limit.
pub fn encrypt_threshold<R: CryptoRng + ?Sized>(
    group_key: &tdh2::EncryptionKey,
    key: &str,
    version: u64,
    plaintext: &[u8],
    rng: &mut R,
) -> Result<Vec<u8>, Error> {
    let mut out = header_bytes(THRESHOLD_MAGIC, key, version)?;
    let ciphertext = tdh2::encrypt_to(group_key, &out, plaintext, rng)?;
    out.extend_from_slice(&ciphertext.to_bytes());
    Ok(out)
}

/// Splits a threshold ciphertext into its header, label and TDH2
/// ciphertext (without checking its proof: that needs the group key).
///
/// # Errors
///
/// [`Error::BadCiphertext`] for a malformed header, [`Error::Threshold`]
/// for a malformed TDH2 ciphertext.
pub fn parse_threshold(ciphertext: &[u8]) -> Result<Threshold<'_>, Error> {
    let (header, rest) = read_header(ciphertext, THRESHOLD_MAGIC)?;
    let label = ciphertext
        .get(..ciphertext.len() - rest.len())
        .ok_or(Error::BadCiphertext {
            reason: "truncated header",
        })?;
    Ok(Threshold {
        header,
        label,
        ciphertext: tdh2::Ciphertext::from_bytes(rest)?,
    })
}

/// The header fields after `magic`: (header, the rest).
fn read_header<'a>(ciphertext: &'a [u8], magic: &[u8; 4]) -> Result<(Header, &'a [u8]), Error> {
    let bad = |reason| Error::BadCiphertext { reason };
    let rest = ciphertext
        .strip_prefix(magic.as_slice())
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
    let (version_bytes, rest) = rest
        .split_first_chunk::<8>()
        .ok_or(bad("truncated header"))?;
    Ok((
        Header {
            key: key.to_owned(),
            version: u64::from_be_bytes(*version_bytes),
        },
        rest,
    ))
}

/// (header, aad length, nonce)
fn split(ciphertext: &[u8]) -> Result<(Header, usize, [u8; NONCE_LEN]), Error> {
    let bad = |reason| Error::BadCiphertext { reason };
    let (header, rest) = read_header(ciphertext, MAGIC)?;
    let (nonce, body) = rest
        .split_first_chunk::<NONCE_LEN>()
        .ok_or(bad("truncated header"))?;
    if body.len() < TAG_LEN {
        return Err(bad("truncated body"));
    }
    let aad_len = ciphertext.len() - body.len();
    Ok((header, aad_len, *nonce))
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

    #[test]
    fn threshold_format_binds_name_and_version() {
        let mut rng = ChaCha20Rng::seed_from_u64(9);
        let (group, shares) = tdh2::deal(2, 3, &mut rng).unwrap();
        let key = group.encryption_key();
        let ct = encrypt_threshold(&key, "vault", 4, b"volume key", &mut rng).unwrap();
        assert!(is_threshold(&ct));
        assert_eq!(
            parse_header(&ct).unwrap(),
            Header {
                key: "vault".into(),
                version: 4
            }
        );
        let parsed = parse_threshold(&ct).unwrap();
        assert_eq!(parsed.label, &ct[..4 + 1 + 1 + 5 + 8]);
        parsed.ciphertext.verify(&group, parsed.label).unwrap();
        let partials: Vec<_> = shares[..2]
            .iter()
            .map(|s| tdh2::decrypt_share(s, &parsed.ciphertext, parsed.label, &mut rng).unwrap())
            .collect();
        let plaintext = tdh2::combine(&group, &parsed.ciphertext, parsed.label, &partials).unwrap();
        assert_eq!(plaintext.as_slice(), b"volume key");
        // Another version in the header: the proof no longer holds.
        let mut bumped = ct.clone();
        bumped[4 + 1 + 1 + 5 + 7] ^= 1;
        let parsed = parse_threshold(&bumped).unwrap();
        assert_eq!(
            parsed.ciphertext.verify(&group, parsed.label),
            Err(symbolon_threshold::Error::InvalidCiphertextProof)
        );
        // A secret-key ciphertext is not a threshold one, and the reverse.
        assert!(!is_threshold(b"SYMC\x01"));
        assert!(matches!(
            parse_threshold(&ct[..10]),
            Err(Error::BadCiphertext { .. })
        ));
        assert!(matches!(
            parse_threshold(&ct[..ct.len() - 20]),
            Err(Error::Threshold(_))
        ));
        // The header alone: the body is measured, not decoded.
        let header_len = 4 + 1 + 1 + 5 + 8;
        assert_eq!(
            parse_header(&ct[..header_len + tdh2::CIPHERTEXT_OVERHEAD - 1]),
            Err(Error::BadCiphertext {
                reason: "truncated body"
            })
        );
        let mut bad_point = ct.clone();
        bad_point[header_len + 5..header_len + 5 + 32].fill(0xff);
        assert_eq!(parse_header(&bad_point).unwrap().version, 4);
        assert!(matches!(
            parse_threshold(&bad_point),
            Err(Error::Threshold(_))
        ));
        assert!(matches!(
            decrypt(&[1; 32], &ct),
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
            let mut threshold = THRESHOLD_MAGIC.to_vec();
            threshold.extend_from_slice(&data);
            // Shorter than any threshold ciphertext.
            prop_assert!(threshold.len() < 4 + 1 + 1 + 1 + 8 + tdh2::CIPHERTEXT_OVERHEAD);
            prop_assert!(parse_threshold(&threshold).is_err());
            prop_assert!(parse_header(&threshold).is_err());
        }
    }
}
