//! A threshold key's group public key and the encodings `symbolon key show`
//! prints and `--public FILE` reads.
//!
//! | encoding | kinds | form |
//! | --- | --- | --- |
//! | hex | both | 64 hex digits: the RFC 8032 §5.1.5 Ed25519 key, or the ristretto255 encoding (RFC 9496 §4.3.2) |
//! | OpenSSH | ed25519 | `ssh-ed25519 AAAA… symbolon:NAME` (RFC 8709 §4 key blob, OpenSSH `authorized_keys` line) |
//! | PEM | ed25519 | `-----BEGIN PUBLIC KEY-----`: SubjectPublicKeyInfo (RFC 8410 §4), RFC 7468 armor |
//! | Symbolon public key file | both | one line, below |
//!
//! The Symbolon public key file names everything an offline user needs
//! besides the key itself (its kind, and the name and version a threshold
//! ciphertext must carry):
//!
//! ```text
//! symbolon-public-key v1 <kind> <name> <version> <key>
//! ```
//!
//! Six fields separated by single spaces, then one optional line end
//! (`\n` or `\r\n`) and nothing else. `<kind>` is `ed25519` or
//! `ristretto255`; `<name>` follows [`symbolon_proto::validate_name`];
//! `<version>` is a decimal `u64` without sign or leading zeros; `<key>` is
//! 64 lowercase hex digits encoding a valid key of that kind (an Ed25519
//! point of large order, or a ristretto255 element other than the identity).
//! Anything else is refused with the reason.

use ed25519_dalek::VerifyingKey;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePublicKey as _, EncodePublicKey as _};
use symbolon_proto::api::KeyKind;
use symbolon_threshold::tdh2::EncryptionKey;

use super::Error;

/// The first field of a Symbolon public key file.
pub(crate) const MAGIC: &str = "symbolon-public-key";
/// The format version this build writes and reads.
pub(crate) const VERSION: &str = "v1";
/// The comment of the OpenSSH line: `symbolon:` then the key's name.
const SSH_COMMENT_PREFIX: &str = "symbolon:";
/// The largest public key file read (a PEM block or one line are far
/// smaller); the parsers here leave the bound to the reader.
pub(crate) const MAX_FILE_LEN: usize = 4096;

/// Why a public key (in any encoding) is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PublicKeyError {
    #[error("the file is not text (ASCII)")]
    NotText,
    #[error("the file has more than one line")]
    ExtraLines,
    #[error("fields must be separated by single spaces, without spaces before or after the line")]
    Spacing,
    #[error(
        "expected 6 fields separated by single spaces (symbolon-public-key v1 KIND NAME VERSION KEY), found {found}"
    )]
    Fields { found: usize },
    #[error("unsupported public key file version {found:?} (this build reads {VERSION})")]
    Version { found: String },
    #[error("unknown key kind {found:?} (expected ed25519 or ristretto255)")]
    Kind { found: String },
    #[error(
        "secret keys have no public key; encrypt with them through the cluster (without --public)"
    )]
    SecretKind,
    #[error("{0}")]
    Name(symbolon_proto::Error),
    #[error("key version {found:?} is not a decimal number without sign or leading zeros")]
    KeyVersion { found: String },
    #[error("the key must be 64 lowercase hex digits, found {found:?}")]
    KeyHex { found: String },
    #[error("not a valid {kind} public key: {reason}")]
    Point {
        kind: &'static str,
        reason: &'static str,
    },
    #[error("not a valid PEM public key: {reason}")]
    Pem { reason: String },
    #[error("not a valid OpenSSH public key line: {reason}")]
    OpenSsh { reason: String },
    #[error("an OpenSSH {algorithm} key; only ssh-ed25519 keys are threshold keys")]
    OpenSshAlgorithm { algorithm: String },
    #[error(
        "not a public key: expected a Symbolon public key file (`symbolon key show NAME --format public`), an OpenSSH ssh-ed25519 line, a PEM public key or 64 hex digits"
    )]
    Unrecognised,
}

/// A threshold key's group public key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum GroupKey {
    /// What an `ed25519` key's signatures verify under.
    Ed25519(VerifyingKey),
    /// What anyone encrypts to for a `ristretto255` key.
    Ristretto255(EncryptionKey),
}

impl GroupKey {
    /// Decodes a key of `kind` from its 32 bytes.
    ///
    /// # Errors
    ///
    /// [`PublicKeyError::SecretKind`] for a `secret` key,
    /// [`PublicKeyError::Point`] for bytes that are not a valid key (for
    /// Ed25519 also a small-order key, under which one signature verifies
    /// for many messages).
    pub(crate) fn from_bytes(kind: KeyKind, bytes: [u8; 32]) -> Result<GroupKey, PublicKeyError> {
        match kind {
            KeyKind::Secret => Err(PublicKeyError::SecretKind),
            KeyKind::Ed25519 => ed25519_from_bytes(bytes).map(GroupKey::Ed25519),
            KeyKind::Ristretto255 => EncryptionKey::from_bytes(bytes)
                .map(GroupKey::Ristretto255)
                .map_err(|_| PublicKeyError::Point {
                    kind: "ristretto255",
                    reason: "not a canonical ristretto255 encoding of an element other than the identity",
                }),
        }
    }

    /// Decodes a key of `kind` from 64 hex digits (as `KeyInfo::public_key`
    /// carries it); upper-case digits are refused, as in the file format.
    ///
    /// # Errors
    ///
    /// [`PublicKeyError::KeyHex`], then as [`GroupKey::from_bytes`].
    pub(crate) fn from_hex(kind: KeyKind, text: &str) -> Result<GroupKey, PublicKeyError> {
        GroupKey::from_bytes(kind, lower_hex32(text)?)
    }

    /// The Ed25519 key, for key `name`.
    ///
    /// # Errors
    ///
    /// [`Error::Kind`] naming the key, its kind and `need` (one of the
    /// [`need`](super::need) texts) if it is a ristretto255 key.
    pub(crate) fn into_ed25519(
        self,
        name: &str,
        need: &'static str,
    ) -> Result<VerifyingKey, Error> {
        match self {
            GroupKey::Ed25519(key) => Ok(key),
            other => Err(other.wrong_kind(name, need)),
        }
    }

    /// The ristretto255 key, for key `name`.
    ///
    /// # Errors
    ///
    /// [`Error::Kind`] naming the key, its kind and `need` if it is an
    /// Ed25519 key.
    pub(crate) fn into_ristretto255(
        self,
        name: &str,
        need: &'static str,
    ) -> Result<EncryptionKey, Error> {
        match self {
            GroupKey::Ristretto255(key) => Ok(key),
            other => Err(other.wrong_kind(name, need)),
        }
    }

    fn wrong_kind(&self, name: &str, need: &'static str) -> Error {
        Error::Kind {
            key: name.to_owned(),
            kind: self.kind(),
            need,
        }
    }

    /// The key's kind.
    pub(crate) fn kind(&self) -> KeyKind {
        match self {
            GroupKey::Ed25519(_) => KeyKind::Ed25519,
            GroupKey::Ristretto255(_) => KeyKind::Ristretto255,
        }
    }

    /// The 32-byte encoding.
    pub(crate) fn to_bytes(&self) -> [u8; 32] {
        match self {
            GroupKey::Ed25519(key) => key.to_bytes(),
            GroupKey::Ristretto255(key) => key.to_bytes(),
        }
    }

    /// The lowercase hex encoding.
    pub(crate) fn to_hex(&self) -> String {
        hex::encode(self.to_bytes())
    }
}

fn ed25519_from_bytes(bytes: [u8; 32]) -> Result<VerifyingKey, PublicKeyError> {
    if !canonical_y(bytes) {
        return Err(PublicKeyError::Point {
            kind: "ed25519",
            reason: "a non-canonical encoding (y is not below 2^255 - 19)",
        });
    }
    let key = VerifyingKey::from_bytes(&bytes).map_err(|_| PublicKeyError::Point {
        kind: "ed25519",
        reason: "not the encoding of a curve point",
    })?;
    if key.is_weak() {
        return Err(PublicKeyError::Point {
            kind: "ed25519",
            reason: "a small-order (weak) point",
        });
    }
    Ok(key)
}

/// Whether an Ed25519 point encoding's y coordinate is below
/// p = 2^255 - 19, as RFC 8032 §5.1.3 requires of a decoder (the decoder
/// used here reduces larger values instead).
fn canonical_y(bytes: [u8; 32]) -> bool {
    // y ≥ p exactly when y = p + k, k < 19: bits 8..255 all set and the
    // low byte at least 0xed.
    let [low, middle @ .., high] = bytes;
    !(high & 0x7f == 0x7f && middle.iter().all(|&b| b == 0xff) && low >= 0xed)
}

/// 64 lowercase hex digits → 32 bytes.
fn lower_hex32(text: &str) -> Result<[u8; 32], PublicKeyError> {
    let bad = || PublicKeyError::KeyHex {
        found: text.chars().take(80).collect(),
    };
    if text.len() != 64 || !text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(bad());
    }
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(text, &mut bytes).map_err(|_| bad())?;
    Ok(bytes)
}

/// A Symbolon public key file: a threshold key's group public key with the
/// kind, name and version it belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PublicKeyFile {
    /// The key's name.
    pub(crate) name: String,
    /// The key version the group key belongs to.
    pub(crate) version: u64,
    /// The group public key (which carries the kind).
    pub(crate) key: GroupKey,
}

impl PublicKeyFile {
    /// The file's one line, with its line end.
    pub(crate) fn to_line(&self) -> String {
        format!(
            "{MAGIC} {VERSION} {} {} {} {}\n",
            self.key.kind().as_str(),
            self.name,
            self.version,
            self.key.to_hex()
        )
    }

    /// Parses a file written by [`PublicKeyFile::to_line`].
    ///
    /// # Errors
    ///
    /// A [`PublicKeyError`] naming the first thing that is malformed.
    pub(crate) fn parse(bytes: &[u8]) -> Result<PublicKeyFile, PublicKeyError> {
        let line = one_line(bytes)?;
        let fields: Vec<&str> = line.split(' ').collect();
        if fields.iter().any(|f| f.is_empty()) {
            return Err(PublicKeyError::Spacing);
        }
        let [magic, version, kind, name, key_version, key] = fields.as_slice() else {
            return Err(PublicKeyError::Fields {
                found: fields.len(),
            });
        };
        if *magic != MAGIC {
            return Err(PublicKeyError::Unrecognised);
        }
        if *version != VERSION {
            return Err(PublicKeyError::Version {
                found: clip(version),
            });
        }
        let kind = match KeyKind::from_name(kind) {
            Some(KeyKind::Secret) => return Err(PublicKeyError::SecretKind),
            Some(kind) => kind,
            None => return Err(PublicKeyError::Kind { found: clip(kind) }),
        };
        symbolon_proto::validate_name("key name", name).map_err(PublicKeyError::Name)?;
        let version = parse_decimal(key_version).ok_or_else(|| PublicKeyError::KeyVersion {
            found: clip(key_version),
        })?;
        Ok(PublicKeyFile {
            name: (*name).to_owned(),
            version,
            key: GroupKey::from_hex(kind, key)?,
        })
    }
}

/// The one line of `bytes` without its line end; refuses non-ASCII text,
/// control characters and further lines.
fn one_line(bytes: &[u8]) -> Result<&str, PublicKeyError> {
    let body = bytes
        .strip_suffix(b"\r\n")
        .or_else(|| bytes.strip_suffix(b"\n"))
        .unwrap_or(bytes);
    if body.contains(&b'\n') {
        return Err(PublicKeyError::ExtraLines);
    }
    if !body.iter().all(|b| (0x20..0x7f).contains(b)) {
        return Err(PublicKeyError::NotText);
    }
    std::str::from_utf8(body).map_err(|_| PublicKeyError::NotText)
}

/// A decimal `u64` without sign or leading zeros.
fn parse_decimal(text: &str) -> Option<u64> {
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    canonical.then(|| text.parse().ok()).flatten()
}

fn clip(text: &str) -> String {
    text.chars().take(80).collect()
}

/// The OpenSSH `authorized_keys` / `allowed_signers` form of an Ed25519
/// group key, commented `symbolon:NAME`.
///
/// # Errors
///
/// Only if the OpenSSH encoder fails (it does not for 32-byte keys).
pub(crate) fn openssh_line(key: &VerifyingKey, name: &str) -> Result<String, PublicKeyError> {
    let data = ssh_key::public::KeyData::Ed25519(ssh_key::public::Ed25519PublicKey(key.to_bytes()));
    ssh_key::PublicKey::new(data, format!("{SSH_COMMENT_PREFIX}{name}"))
        .to_openssh()
        .map_err(|e| PublicKeyError::OpenSsh {
            reason: e.to_string(),
        })
}

/// The PEM SubjectPublicKeyInfo (RFC 8410) of an Ed25519 group key.
///
/// # Errors
///
/// Only if the DER encoder fails (it does not for 32-byte keys).
pub(crate) fn pem(key: &VerifyingKey) -> Result<String, PublicKeyError> {
    key.to_public_key_pem(LineEnding::LF)
        .map_err(|e| PublicKeyError::Pem {
            reason: e.to_string(),
        })
}

/// What `--public FILE` held.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PublicInput {
    /// A Symbolon public key file (any kind).
    File(PublicKeyFile),
    /// A bare Ed25519 key (hex, OpenSSH or PEM), with the key name if an
    /// OpenSSH line's comment names one (`symbolon:NAME`).
    Ed25519 {
        key: VerifyingKey,
        name: Option<String>,
    },
}

impl PublicInput {
    /// Reads any of the encodings `symbolon key show` prints, recognised by
    /// their form.
    ///
    /// # Errors
    ///
    /// [`PublicKeyError::Unrecognised`] if it is none of them, else the
    /// reason the recognised encoding is malformed.
    pub(crate) fn parse(bytes: &[u8]) -> Result<PublicInput, PublicKeyError> {
        if bytes.starts_with(MAGIC.as_bytes()) {
            return PublicKeyFile::parse(bytes).map(PublicInput::File);
        }
        let text = std::str::from_utf8(bytes)
            .map_err(|_| PublicKeyError::Unrecognised)?
            .trim();
        if text.starts_with("-----BEGIN ") {
            let key = VerifyingKey::from_public_key_pem(text).map_err(|e| PublicKeyError::Pem {
                reason: e.to_string(),
            })?;
            return ed25519_from_bytes(key.to_bytes())
                .map(|key| PublicInput::Ed25519 { key, name: None });
        }
        if text.starts_with("ssh-") || text.starts_with("ecdsa-") {
            return openssh(text);
        }
        if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return lower_hex32(&text.to_ascii_lowercase())
                .and_then(ed25519_from_bytes)
                .map(|key| PublicInput::Ed25519 { key, name: None });
        }
        Err(PublicKeyError::Unrecognised)
    }
}

fn openssh(line: &str) -> Result<PublicInput, PublicKeyError> {
    if line.contains('\n') {
        return Err(PublicKeyError::ExtraLines);
    }
    let algorithm = line.split(' ').next().unwrap_or_default();
    if algorithm != "ssh-ed25519" {
        return Err(PublicKeyError::OpenSshAlgorithm {
            algorithm: clip(algorithm),
        });
    }
    let parsed = ssh_key::PublicKey::from_openssh(line).map_err(|e| PublicKeyError::OpenSsh {
        reason: e.to_string(),
    })?;
    let Some(ed25519) = parsed.key_data().ed25519() else {
        return Err(PublicKeyError::OpenSshAlgorithm {
            algorithm: parsed.algorithm().as_str().to_owned(),
        });
    };
    let key = ed25519_from_bytes(ed25519.0)?;
    let name = parsed
        .comment()
        .as_str_lossy()
        .strip_prefix(SSH_COMMENT_PREFIX)
        .map(str::to_owned);
    Ok(PublicInput::Ed25519 { key, name })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;

    fn ed_key() -> VerifyingKey {
        SigningKey::from_bytes(&[7u8; 32]).verifying_key()
    }

    fn ristretto_key() -> EncryptionKey {
        // 2·G, a valid element.
        let bytes = curve25519_dalek_basepoint_times_two();
        EncryptionKey::from_bytes(bytes).unwrap()
    }

    /// The ristretto255 encoding of 2·B (RFC 9496 Appendix A.1, second
    /// vector).
    fn curve25519_dalek_basepoint_times_two() -> [u8; 32] {
        let mut out = [0u8; 32];
        hex::decode_to_slice(
            "6a493210f7499cd17fecb510ae0cea23a110e8d5b901f8acadd3095c73a3b919",
            &mut out,
        )
        .unwrap();
        out
    }

    fn hex32(text: &str) -> [u8; 32] {
        let mut out = [0u8; 32];
        hex::decode_to_slice(text, &mut out).unwrap();
        out
    }

    fn file(key: GroupKey) -> PublicKeyFile {
        PublicKeyFile {
            name: "vault.db".into(),
            version: 12,
            key,
        }
    }

    #[test]
    fn files_round_trip_for_both_kinds() {
        for key in [
            GroupKey::Ed25519(ed_key()),
            GroupKey::Ristretto255(ristretto_key()),
        ] {
            let f = file(key);
            let line = f.to_line();
            assert!(line.ends_with('\n') && line.matches('\n').count() == 1);
            assert_eq!(PublicKeyFile::parse(line.as_bytes()).unwrap(), f);
            let crlf = line.replace('\n', "\r\n");
            assert_eq!(PublicKeyFile::parse(crlf.as_bytes()).unwrap(), f);
            let bare = line.trim_end();
            assert_eq!(PublicKeyFile::parse(bare.as_bytes()).unwrap(), f);
            assert_eq!(
                PublicInput::parse(line.as_bytes()).unwrap(),
                PublicInput::File(f)
            );
        }
        let line = file(GroupKey::Ristretto255(ristretto_key())).to_line();
        assert_eq!(
            line,
            "symbolon-public-key v1 ristretto255 vault.db 12 6a493210f7499cd17fecb510ae0cea23a110e8d5b901f8acadd3095c73a3b919\n"
        );
    }

    #[test]
    fn malformed_files_are_refused_precisely() {
        let good = file(GroupKey::Ed25519(ed_key())).to_line();
        let hex = ed_key().to_bytes();
        let hex = hex::encode(hex);
        let cases: Vec<(String, PublicKeyError)> = vec![
            (format!("{good}\n"), PublicKeyError::ExtraLines),
            (format!("{good}{good}"), PublicKeyError::ExtraLines),
            (good.replace(' ', "  "), PublicKeyError::Spacing),
            (format!(" {good}"), PublicKeyError::Spacing),
            (
                good.replace(" 12 ", " 12 x "),
                PublicKeyError::Fields { found: 7 },
            ),
            (
                "symbolon-public-key v1 ed25519 k 1".to_owned(),
                PublicKeyError::Fields { found: 5 },
            ),
            (
                good.replace(" v1 ", " v2 "),
                PublicKeyError::Version { found: "v2".into() },
            ),
            (
                good.replace("ed25519", "rsa"),
                PublicKeyError::Kind {
                    found: "rsa".into(),
                },
            ),
            (
                good.replace("ed25519", "secret"),
                PublicKeyError::SecretKind,
            ),
            (
                good.replace(" 12 ", " 012 "),
                PublicKeyError::KeyVersion {
                    found: "012".into(),
                },
            ),
            (
                good.replace(" 12 ", " +12 "),
                PublicKeyError::KeyVersion {
                    found: "+12".into(),
                },
            ),
            (
                good.replace(" 12 ", " 18446744073709551616 "),
                PublicKeyError::KeyVersion {
                    found: "18446744073709551616".into(),
                },
            ),
            (
                good.replace(&hex, &hex.to_ascii_uppercase()),
                PublicKeyError::KeyHex {
                    found: hex.to_ascii_uppercase(),
                },
            ),
            (
                good.replace(&hex, &hex[..62]),
                PublicKeyError::KeyHex {
                    found: hex[..62].to_owned(),
                },
            ),
            (good.replace("\n", "\t\n"), PublicKeyError::NotText),
            (
                good.replace("vault.db", "vault/db"),
                PublicKeyError::Name(
                    symbolon_proto::validate_name("key name", "vault/db").unwrap_err(),
                ),
            ),
            (
                // The identity point (a small-order Ed25519 key).
                good.replace(&hex, &format!("01{}", "0".repeat(62))),
                PublicKeyError::Point {
                    kind: "ed25519",
                    reason: "a small-order (weak) point",
                },
            ),
            (
                // The ristretto255 identity.
                good.replace(&hex, &"0".repeat(64))
                    .replace("ed25519", "ristretto255"),
                PublicKeyError::Point {
                    kind: "ristretto255",
                    reason: "not a canonical ristretto255 encoding of an element other than the identity",
                },
            ),
            (
                good.replace("symbolon-public-key", "symbolon-public-kez"),
                PublicKeyError::Unrecognised,
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(
                PublicKeyFile::parse(text.as_bytes()),
                Err(expected),
                "{text:?}"
            );
        }
        // A non-canonical Ed25519 y coordinate (≥ p) is not a point here:
        // 0xff…7f is 2^255 - 1.
        let mut high = "ff".repeat(31);
        high.push_str("7f");
        assert_eq!(
            GroupKey::from_hex(KeyKind::Ed25519, &high),
            Err(PublicKeyError::Point {
                kind: "ed25519",
                reason: "a non-canonical encoding (y is not below 2^255 - 19)",
            })
        );
        // p - 1 = 0xec ff … 7f is canonical (whether or not it is a point).
        assert!(canonical_y(hex32(&format!("ec{}7f", "ff".repeat(30)))));
        assert!(!canonical_y(hex32(&format!("ed{}7f", "ff".repeat(30)))));
        assert!(!canonical_y(hex32(&format!("ed{}ff", "ff".repeat(30)))));
        assert!(canonical_y(hex32(&format!(
            "ed{}7f",
            "ff".repeat(29) + "fe"
        ))));
        assert_eq!(
            GroupKey::from_hex(KeyKind::Secret, &hex),
            Err(PublicKeyError::SecretKind)
        );
    }

    #[test]
    fn a_key_of_the_wrong_kind_is_named_with_what_is_needed() {
        let ed = GroupKey::Ed25519(ed_key());
        let ristretto = GroupKey::Ristretto255(ristretto_key());
        assert_eq!(ed.clone().into_ed25519("s", "x").unwrap(), ed_key());
        assert_eq!(
            ristretto.clone().into_ristretto255("v", "x").unwrap(),
            ristretto_key()
        );
        let err = ristretto
            .into_ed25519("vault", super::super::need::SIGN)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "key \"vault\" is a ristretto255 key; sign needs an ed25519 key"
        );
        let err = ed
            .into_ristretto255("signer", super::super::need::ENCRYPT)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "key \"signer\" is an ed25519 key; encrypt needs a secret or ristretto255 key (ed25519 keys sign)"
        );
    }

    #[test]
    fn every_encoding_key_show_prints_reads_back() {
        let key = ed_key();
        let line = openssh_line(&key, "signer").unwrap();
        assert!(
            line.starts_with("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI"),
            "{line}"
        );
        assert!(line.ends_with(" symbolon:signer"), "{line}");
        assert_eq!(
            PublicInput::parse(format!("{line}\n").as_bytes()).unwrap(),
            PublicInput::Ed25519 {
                key,
                name: Some("signer".into())
            }
        );
        // Without the comment: no name.
        let bare: String = line.split(' ').take(2).collect::<Vec<_>>().join(" ");
        assert_eq!(
            PublicInput::parse(bare.as_bytes()).unwrap(),
            PublicInput::Ed25519 { key, name: None }
        );
        let pem_text = pem(&key).unwrap();
        assert!(
            pem_text.starts_with("-----BEGIN PUBLIC KEY-----\n"),
            "{pem_text}"
        );
        assert_eq!(
            PublicInput::parse(pem_text.as_bytes()).unwrap(),
            PublicInput::Ed25519 { key, name: None }
        );
        let hex_text = format!("{}\n", hex::encode(key.to_bytes()));
        assert_eq!(
            PublicInput::parse(hex_text.as_bytes()).unwrap(),
            PublicInput::Ed25519 { key, name: None }
        );
        assert_eq!(
            PublicInput::parse(hex_text.to_ascii_uppercase().as_bytes()).unwrap(),
            PublicInput::Ed25519 { key, name: None }
        );
    }

    #[test]
    fn foreign_or_garbled_keys_are_refused() {
        assert_eq!(
            PublicInput::parse(b"hello"),
            Err(PublicKeyError::Unrecognised)
        );
        assert_eq!(
            PublicInput::parse(&[0xff, 0xfe]),
            Err(PublicKeyError::Unrecognised)
        );
        // Keys of other algorithms (made with `ssh-keygen -t rsa -b 1024`
        // and `-t ecdsa`).
        for (line, algorithm) in [
            (
                "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDKeLJEPAOMnqZwD6iqE49TS/HE1t02EcWxKtZGwY902CQuTsaUb1HMvSvjiRbOko+CFZ693qivcuuewO7iQqEk/k3TDYjzBn14/iOQ3SeC+O52wp/+D4rt6VG8LCz81mSMtu8Cp4au4uY3jCBJ23lU22nMtIj9xh/qlS4dVPUsxw== test",
                "ssh-rsa",
            ),
            (
                "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBDN+oRmhIpGGp+MEjHZeZi+lo/rr5ZAiAfe0qE5G3eXJIQM8UKKmixNkvpq1mUNowiDB4mgpfhbYkZO3NOm9V0k= test",
                "ecdsa-sha2-nistp256",
            ),
        ] {
            assert_eq!(
                PublicInput::parse(line.as_bytes()),
                Err(PublicKeyError::OpenSshAlgorithm {
                    algorithm: algorithm.into()
                })
            );
        }
        assert!(matches!(
            PublicInput::parse(b"ssh-ed25519 AAAA!!!"),
            Err(PublicKeyError::OpenSsh { .. })
        ));
        assert!(matches!(
            PublicInput::parse(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"),
            Err(PublicKeyError::Pem { .. })
        ));
        // An X25519 SPKI (RFC 8410 OID 1.3.101.110) is not an Ed25519 key.
        let x25519 = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VuAyEAhSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=\n-----END PUBLIC KEY-----\n";
        assert!(matches!(
            PublicInput::parse(x25519.as_bytes()),
            Err(PublicKeyError::Pem { .. })
        ));
    }
}
