//! Identities (secret key pairs) and recipients (their public halves).
//!
//! An [`Identity`] holds an X25519 secret key, used as the HPKE (RFC 9180,
//! DHKEM(X25519, HKDF-SHA256)) receiving key, and an Ed25519 (RFC 8032)
//! signing key, used by dealers to sign the shards they make. Its
//! [`Recipient`] is the pair of public keys, written as a bech32m string
//! (BIP 350) with the human-readable prefix `symbolon`.
//!
//! The identity file is the armored form of a 69-byte binary: magic `SYMI`,
//! version `1`, the 32-byte clamped X25519 secret key (RFC 7748 §5), the
//! 32-byte Ed25519 seed (RFC 8032 §5.1.5). See `docs/envelope-format.md`.

use core::fmt;
use core::str::FromStr;

use bech32::primitives::decode::{
    CharError, ChecksumError, UncheckedHrpstring, UncheckedHrpstringError,
};
use bech32::{Bech32, Bech32m, Hrp};
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use hpke::{Deserializable, Kem as _, Serializable};
use rand_core::CryptoRng;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use crate::payload::{Kem, KemSecretKey, x25519_key_is_usable};
use crate::wire::Reader;
use crate::{Error, armor};

/// Magic bytes at the start of an identity's binary form.
const IDENTITY_MAGIC: [u8; 4] = *b"SYMI";
/// The identity binary format version this build reads and writes.
const IDENTITY_VERSION: u8 = 1;
/// Length of an identity's binary form.
const IDENTITY_LEN: usize = 4 + 1 + 32 + 32;

/// The recipient binary format version this build reads and writes.
const RECIPIENT_VERSION: u8 = 1;
/// Length of a recipient's binary form: version, X25519 key, Ed25519 key.
pub const RECIPIENT_LEN: usize = 1 + 32 + 32;
/// The bech32m human-readable prefix of recipient strings.
pub const RECIPIENT_HRP: &str = "symbolon";
const HRP: Hrp = Hrp::parse_unchecked(RECIPIENT_HRP);
/// Number of bech32 characters that encode [`RECIPIENT_LEN`] bytes
/// (520 bits = 104 five-bit groups exactly, so there is no padding).
const RECIPIENT_DATA_CHARS: usize = RECIPIENT_LEN * 8 / 5;
/// BLAKE3 `derive_key` context of recipient fingerprints.
const FINGERPRINT_CONTEXT: &str = "symbolon recipient fingerprint v1";

/// A secret identity: an X25519 key to receive sealed shards and an Ed25519
/// key to sign the shards it deals.
///
/// # Security
///
/// Both secret keys are wiped when the identity is dropped (the underlying
/// `x25519-dalek` and `ed25519-dalek` types zeroize on drop). `Debug` prints
/// only the public recipient. The secret bytes leave the type only through
/// [`Identity::to_armored`], in a wiping buffer.
pub struct Identity {
    hpke_secret: KemSecretKey,
    signing_key: SigningKey,
    recipient: Recipient,
}

// Every secret field zeroizes itself on drop.
impl zeroize::ZeroizeOnDrop for Identity {}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("recipient", &format_args!("{}", self.recipient))
            .field("secret_keys", &"<redacted>")
            .finish()
    }
}

impl Identity {
    /// Generates a fresh identity from `rng`.
    ///
    /// Draws 32 bytes for the X25519 key (through HPKE's `DeriveKeyPair`,
    /// RFC 9180 §7.1.3) and then 32 bytes for the Ed25519 seed.
    pub fn generate<R: CryptoRng + ?Sized>(mut rng: &mut R) -> Self {
        let (hpke_secret, hpke_public) = Kem::gen_keypair_with_rng(&mut rng);
        let signing_key = SigningKey::generate(rng);
        let recipient = Recipient {
            x25519: hpke_public.to_bytes().into(),
            ed25519: signing_key.verifying_key().to_bytes(),
        };
        Self {
            hpke_secret,
            signing_key,
            recipient,
        }
    }

    /// The identity's public half.
    pub fn recipient(&self) -> Recipient {
        self.recipient
    }

    /// The armored identity file: `-----BEGIN SYMBOLON IDENTITY-----`,
    /// base64 of the 69-byte binary form in 64-column lines,
    /// `-----END SYMBOLON IDENTITY-----`, each line ending in `\n`.
    ///
    /// # Security
    ///
    /// The text holds both secret keys; it is returned in a buffer that is
    /// wiped on drop. Store it with restrictive permissions.
    pub fn to_armored(&self) -> Zeroizing<String> {
        let mut binary = Zeroizing::new(Vec::with_capacity(IDENTITY_LEN));
        binary.extend_from_slice(&IDENTITY_MAGIC);
        binary.push(IDENTITY_VERSION);
        let mut x25519 = self.hpke_secret.to_bytes();
        binary.extend_from_slice(&x25519);
        x25519.zeroize();
        binary.extend_from_slice(self.signing_key.as_bytes());
        armor::encode(armor::IDENTITY_LABEL, &binary)
    }

    /// Reads an armored identity file.
    ///
    /// # Errors
    ///
    /// [`Error::BadArmor`] if the text is not a `SYMBOLON IDENTITY` armor
    /// block; [`Error::BadIdentity`] for wrong magic bytes, a wrong length or
    /// an X25519 key that is not clamped; [`Error::UnsupportedVersion`] for an
    /// identity version other than 1.
    pub fn from_armored(text: &str) -> Result<Identity, Error> {
        let binary = armor::decode(text, armor::IDENTITY_LABEL)?;
        Self::from_binary(&binary)
    }

    fn from_binary(bytes: &[u8]) -> Result<Identity, Error> {
        let mut r = Reader::new(bytes);
        let magic = r.array::<4>("identity magic")?;
        if magic != IDENTITY_MAGIC {
            return Err(Error::BadIdentity {
                reason: "not an identity (bad magic bytes)",
            });
        }
        let version = r.u8("identity version")?;
        if version != IDENTITY_VERSION {
            return Err(Error::UnsupportedVersion { found: version });
        }
        if bytes.len() != IDENTITY_LEN {
            return Err(Error::BadIdentity {
                reason: "wrong length (expected 69 bytes)",
            });
        }
        let x25519 = r.take(32, "X25519 secret key")?;
        let seed = r.take(32, "Ed25519 seed")?;
        r.finish()?;

        // RFC 7748 §5 clamping: low three bits clear, bit 255 clear, bit 254
        // set. HPKE would clamp silently; requiring it keeps one encoding per
        // key. Checked without branching on the secret bits.
        let first = x25519.first().copied().unwrap_or(1);
        let last = x25519.last().copied().unwrap_or(0);
        let clamped = (first & 0x07).ct_eq(&0) & (last & 0xc0).ct_eq(&0x40);
        if !bool::from(clamped) {
            return Err(Error::BadIdentity {
                reason: "the X25519 secret key is not clamped",
            });
        }
        let hpke_secret = KemSecretKey::from_bytes(x25519).map_err(|_| Error::BadIdentity {
            reason: "invalid X25519 secret key",
        })?;
        // A reference into the caller's wiping buffer: no stray copy.
        let seed: &[u8; 32] = seed.try_into().map_err(|_| Error::Truncated {
            field: "Ed25519 seed",
        })?;
        let signing_key = SigningKey::from_bytes(seed);
        let recipient = Recipient {
            x25519: Kem::sk_to_pk(&hpke_secret).to_bytes().into(),
            ed25519: signing_key.verifying_key().to_bytes(),
        };
        Ok(Self {
            hpke_secret,
            signing_key,
            recipient,
        })
    }

    pub(crate) fn hpke_secret(&self) -> &KemSecretKey {
        &self.hpke_secret
    }

    /// Ed25519 signature of `message` (RFC 8032 §5.1.6, deterministic).
    pub(crate) fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.signing_key.sign(message).to_bytes()
    }
}

/// The public half of an [`Identity`]: an X25519 key shards are sealed to
/// and an Ed25519 key that verifies the shards it signs.
///
/// Written as `symbolon1...`: bech32m (BIP 350) with prefix `symbolon` over
/// the 65-byte binary form `0x01 || X25519 public key || Ed25519 public key`.
/// Parsing accepts only valid keys: the X25519 key must not have small order
/// and the Ed25519 key must be a canonical encoding of a point that is not of
/// small order.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct Recipient {
    x25519: [u8; 32],
    ed25519: [u8; 32],
}

impl Recipient {
    /// `BLAKE3-derive_key("symbolon recipient fingerprint v1", binary form)`
    /// where the binary form is [`Recipient::to_bytes`].
    pub fn fingerprint(&self) -> [u8; 32] {
        blake3::derive_key(FINGERPRINT_CONTEXT, &self.to_bytes())
    }

    /// The Ed25519 verifying key.
    pub fn signing_key_bytes(&self) -> [u8; 32] {
        self.ed25519
    }

    /// The X25519 (HPKE) public key.
    pub fn encryption_key_bytes(&self) -> [u8; 32] {
        self.x25519
    }

    /// The 65-byte binary form: version `0x01`, X25519 key, Ed25519 key.
    pub fn to_bytes(&self) -> [u8; RECIPIENT_LEN] {
        let mut out = [0u8; RECIPIENT_LEN];
        let keys = self.x25519.iter().chain(&self.ed25519);
        for (dst, src) in out
            .iter_mut()
            .zip(core::iter::once(&RECIPIENT_VERSION).chain(keys))
        {
            *dst = *src;
        }
        out
    }

    /// Reads the 65-byte binary form.
    ///
    /// # Errors
    ///
    /// [`Error::BadRecipient`] for a wrong length, an unknown version or an
    /// invalid key.
    pub fn from_bytes(bytes: &[u8]) -> Result<Recipient, Error> {
        let mut r = Reader::new(bytes);
        let bad_length = |_| Error::BadRecipient {
            reason: "wrong length (expected 65 bytes of data)",
        };
        let version = r.u8("recipient version").map_err(bad_length)?;
        if version != RECIPIENT_VERSION {
            return Err(Error::BadRecipient {
                reason: "unsupported recipient version",
            });
        }
        let x25519 = r.array::<32>("X25519 key").map_err(bad_length)?;
        let ed25519 = r.array::<32>("Ed25519 key").map_err(bad_length)?;
        r.finish().map_err(|_| Error::BadRecipient {
            reason: "wrong length (expected 65 bytes of data)",
        })?;
        if !x25519_key_is_usable(&x25519) {
            return Err(Error::BadRecipient {
                reason: "invalid X25519 key (small order)",
            });
        }
        if !ed25519_key_is_valid(&ed25519) {
            return Err(Error::BadRecipient {
                reason: "invalid Ed25519 key (not a canonical point of large order)",
            });
        }
        Ok(Self { x25519, ed25519 })
    }
}

/// Whether `bytes` is a canonical encoding of an Ed25519 point that is not
/// of small order (the keys `verify_strict` accepts, encoded one way only).
pub(crate) fn ed25519_key_is_valid(bytes: &[u8; 32]) -> bool {
    VerifyingKey::from_bytes(bytes)
        .is_ok_and(|vk| !vk.is_weak() && vk.to_edwards().compress().as_bytes() == bytes)
}

impl fmt::Display for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        bech32::encode_lower_to_fmt::<Bech32m, _>(f, HRP, &self.to_bytes()).map_err(|_| fmt::Error)
    }
}

impl FromStr for Recipient {
    type Err = Error;

    /// Parses `symbolon1...` (surrounding whitespace is ignored; an
    /// all-uppercase string is accepted as bech32 allows).
    ///
    /// # Errors
    ///
    /// [`Error::BadRecipient`] saying what is wrong: not bech32, wrong
    /// prefix, checksum mismatch (a typo), a bech32 rather than bech32m
    /// checksum, wrong length, unknown version, invalid key.
    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = |reason| Error::BadRecipient { reason };
        let s = s.trim_ascii();
        if !s.contains('1') {
            return Err(bad("not a recipient string (expected symbolon1...)"));
        }
        let unchecked = UncheckedHrpstring::new(s).map_err(|e| {
            bad(match e {
                UncheckedHrpstringError::Char(CharError::MissingSeparator) => {
                    "not a recipient string (expected symbolon1...)"
                }
                UncheckedHrpstringError::Char(CharError::NothingAfterSeparator) => {
                    "nothing after the '1' separator"
                }
                UncheckedHrpstringError::Char(CharError::InvalidChar(_)) => {
                    "contains a character outside the bech32 alphabet (typo?)"
                }
                UncheckedHrpstringError::Char(CharError::MixedCase) => "mixes upper and lower case",
                _ => "not a recipient string (expected symbolon1...)",
            })
        })?;
        if unchecked.hrp() != HRP {
            return Err(bad("wrong prefix (recipients start with symbolon1)"));
        }
        if let Err(e) = unchecked.validate_checksum::<Bech32m>() {
            return Err(bad(if unchecked.has_valid_checksum::<Bech32>() {
                "has a bech32 checksum; recipients use bech32m"
            } else {
                match e {
                    ChecksumError::InvalidResidue => "checksum mismatch (typo?)",
                    _ => "wrong length",
                }
            }));
        }
        let checked = unchecked.remove_checksum::<Bech32m>();
        if checked.data_part_ascii_no_checksum().len() != RECIPIENT_DATA_CHARS {
            return Err(bad("wrong length (expected 65 bytes of data)"));
        }
        let bytes: Vec<u8> = checked.byte_iter().collect();
        Recipient::from_bytes(&bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    fn identity(seed: u8) -> Identity {
        Identity::generate(&mut ChaCha20Rng::from_seed([seed; 32]))
    }

    #[test]
    fn generation_is_deterministic_in_the_rng() {
        assert_eq!(identity(1).recipient(), identity(1).recipient());
        assert_ne!(identity(1).recipient(), identity(2).recipient());
    }

    #[test]
    fn armored_identity_round_trips() {
        let id = identity(3);
        let text = id.to_armored();
        assert!(text.starts_with("-----BEGIN SYMBOLON IDENTITY-----\n"));
        assert!(text.ends_with("-----END SYMBOLON IDENTITY-----\n"));
        let back = Identity::from_armored(&text).unwrap();
        assert_eq!(back.recipient(), id.recipient());
        assert_eq!(*back.to_armored(), *text);
        assert_eq!(back.sign(b"m"), id.sign(b"m"));
    }

    fn armored(binary: &[u8]) -> String {
        armor::encode(armor::IDENTITY_LABEL, binary).to_string()
    }

    #[test]
    fn malformed_identities_are_refused() {
        let id = identity(4);
        let good = armor::decode(&id.to_armored(), armor::IDENTITY_LABEL).unwrap();

        let mut bad_magic = good.to_vec();
        bad_magic[0] ^= 1;
        assert_eq!(
            Identity::from_armored(&armored(&bad_magic)).unwrap_err(),
            Error::BadIdentity {
                reason: "not an identity (bad magic bytes)"
            }
        );
        let mut version = good.to_vec();
        version[4] = 2;
        assert_eq!(
            Identity::from_armored(&armored(&version)).unwrap_err(),
            Error::UnsupportedVersion { found: 2 }
        );
        for len in [5, IDENTITY_LEN - 1, IDENTITY_LEN + 1] {
            let mut wrong = good.to_vec();
            wrong.resize(len, 0);
            assert_eq!(
                Identity::from_armored(&armored(&wrong)).unwrap_err(),
                Error::BadIdentity {
                    reason: "wrong length (expected 69 bytes)"
                }
            );
        }
        for (i, mask) in [(5, 0x01), (5 + 31, 0x80), (5 + 31, 0x40)] {
            let mut unclamped = good.to_vec();
            unclamped[i] ^= mask;
            assert_eq!(
                Identity::from_armored(&armored(&unclamped)).unwrap_err(),
                Error::BadIdentity {
                    reason: "the X25519 secret key is not clamped"
                }
            );
        }
        let shard_label = armor::encode(armor::SHARD_LABEL, &good);
        assert!(matches!(
            Identity::from_armored(&shard_label),
            Err(Error::BadArmor { .. })
        ));
    }

    #[test]
    fn debug_redacts_secrets() {
        let id = identity(5);
        let debug = format!("{id:?}");
        assert!(debug.contains("<redacted>"));
        assert!(debug.contains(&id.recipient().to_string()));
        let armored_body: String = id.to_armored().lines().nth(1).unwrap().to_string();
        assert!(!debug.contains(&armored_body));
    }

    #[test]
    fn recipient_string_round_trips() {
        let r = identity(6).recipient();
        let s = r.to_string();
        assert!(s.starts_with("symbolon1"));
        assert_eq!(s.len(), "symbolon1".len() + RECIPIENT_DATA_CHARS + 6);
        assert_eq!(s.parse::<Recipient>().unwrap(), r);
        assert_eq!(s.to_uppercase().parse::<Recipient>().unwrap(), r);
        assert_eq!(format!("  {s}\n").parse::<Recipient>().unwrap(), r);
        assert_eq!(Recipient::from_bytes(&r.to_bytes()).unwrap(), r);
        assert_eq!(
            r.fingerprint(),
            blake3::derive_key(FINGERPRINT_CONTEXT, &r.to_bytes())
        );
        assert_ne!(r.fingerprint(), identity(7).recipient().fingerprint());
    }

    const BECH32_CHARSET: &[u8] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";

    #[test]
    fn every_single_character_typo_is_caught() {
        let s = identity(8).recipient().to_string();
        for pos in "symbolon1".len()..s.len() {
            for &c in BECH32_CHARSET {
                let mut typo = s.clone().into_bytes();
                if typo[pos] == c {
                    continue;
                }
                typo[pos] = c;
                let typo = String::from_utf8(typo).unwrap();
                assert_eq!(
                    typo.parse::<Recipient>(),
                    Err(Error::BadRecipient {
                        reason: "checksum mismatch (typo?)"
                    }),
                    "{typo}"
                );
            }
        }
        // Swapping two adjacent different characters is caught too.
        let bytes = s.as_bytes();
        for pos in "symbolon1".len()..s.len() - 1 {
            if bytes[pos] == bytes[pos + 1] {
                continue;
            }
            let mut swapped = bytes.to_vec();
            swapped.swap(pos, pos + 1);
            assert!(
                String::from_utf8(swapped)
                    .unwrap()
                    .parse::<Recipient>()
                    .is_err()
            );
        }
    }

    #[test]
    fn malformed_recipient_strings_say_why() {
        let r = identity(9).recipient();
        let s = r.to_string();
        let reason = |text: &str| match text.parse::<Recipient>() {
            Err(Error::BadRecipient { reason }) => reason,
            other => panic!("{text:?} gave {other:?}"),
        };
        assert_eq!(
            reason("age1qqqq"),
            "wrong prefix (recipients start with symbolon1)"
        );
        assert_eq!(
            reason("hello"),
            "not a recipient string (expected symbolon1...)"
        );
        assert_eq!(
            reason(&s.replacen('q', "b", 1)),
            "contains a character outside the bech32 alphabet (typo?)"
        );
        let mut mixed = s.clone();
        mixed.replace_range(0..1, "S");
        assert_eq!(reason(&mixed), "mixes upper and lower case");
        assert_eq!(reason(&s[..s.len() - 1]), "checksum mismatch (typo?)");

        let hrp = Hrp::parse_unchecked(RECIPIENT_HRP);
        let encode = |data: &[u8]| bech32::encode::<Bech32m>(hrp, data).unwrap();
        assert_eq!(
            reason(&encode(&r.to_bytes()[..64])),
            "wrong length (expected 65 bytes of data)"
        );
        assert_eq!(
            reason(&bech32::encode::<Bech32>(hrp, &r.to_bytes()).unwrap()),
            "has a bech32 checksum; recipients use bech32m"
        );
        let mut v2 = r.to_bytes();
        v2[0] = 2;
        assert_eq!(reason(&encode(&v2)), "unsupported recipient version");
        let mut zero_x = r.to_bytes();
        zero_x[1..33].fill(0);
        assert_eq!(reason(&encode(&zero_x)), "invalid X25519 key (small order)");
        let mut identity_ed = r.to_bytes();
        identity_ed[33..].fill(0);
        identity_ed[33] = 1; // the Edwards identity point: small order
        assert_eq!(
            reason(&encode(&identity_ed)),
            "invalid Ed25519 key (not a canonical point of large order)"
        );
    }
}
