//! Signed notes, after C2SP signed-note (<https://c2sp.org/signed-note>).
//!
//! A signed note is a UTF-8 text ending in a newline, then a blank line,
//! then one or more signature lines:
//!
//! ```text
//! — <key name> <base64(key id ‖ signature)>
//! ```
//!
//! (em dash U+2014, space, key name, space, standard base64 with padding,
//! RFC 4648 §4, newline). The signed message is the text including its final
//! newline, without the blank line. What this module implements:
//!
//! * Only Ed25519 signing keys (signed-note signature type `0x01`). The key
//!   id is the first 4 bytes of `SHA-256(key name ‖ 0x0A ‖ 0x01 ‖ public key)`
//!   and the signature is the 64-byte Ed25519 signature (RFC 8032) of the
//!   text, checked with `verify_strict`.
//! * Signature lines by keys the verifier does not know are kept and
//!   ignored, whatever their length (as the spec requires), but must still be
//!   well-formed: a valid key name and base64 of at least 5 bytes.
//! * Stricter than the spec, so that parsing is precise and bounded: a note is
//!   at most [`MAX_NOTE_LEN`] bytes, carries at most [`MAX_SIGNATURES`]
//!   signature lines, no two by the same (key name, key id), and key names
//!   are at most [`MAX_KEY_NAME_LEN`] bytes. Carriage returns, like every
//!   other ASCII control character but the newline, are refused.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use core::fmt;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest as _, Sha256};

use crate::Error;

/// The largest note accepted, in bytes.
pub const MAX_NOTE_LEN: usize = 16 * 1024;
/// The most signature lines a note may carry.
pub const MAX_SIGNATURES: usize = 100;
/// The longest key name accepted, in bytes.
pub const MAX_KEY_NAME_LEN: usize = 256;
/// The signed-note signature type of Ed25519.
pub const ED25519_SIGNATURE_TYPE: u8 = 0x01;
/// Length of a key id.
pub const KEY_ID_LEN: usize = 4;
/// The prefix of every signature line: em dash, space.
pub const SIGNATURE_LINE_PREFIX: &str = "\u{2014} ";

/// What is wrong with a signed note (see [`Error::MalformedNote`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NoteDefect {
    /// The note is longer than [`MAX_NOTE_LEN`].
    TooLarge,
    /// An ASCII control character other than newline.
    ControlCharacter,
    /// The note does not end in a newline.
    NoFinalNewline,
    /// No blank line separates the text from the signatures.
    NoSeparator,
    /// No signature lines follow the blank line.
    NoSignatures,
    /// More than [`MAX_SIGNATURES`] signature lines.
    TooManySignatures,
    /// A signature line does not start with em dash and space.
    SignatureLinePrefix,
    /// A key name is empty, too long, or contains a space or `+`.
    KeyName,
    /// A signature is not canonical standard base64.
    SignatureBase64,
    /// A signature is shorter than a key id and one byte.
    SignatureTooShort,
    /// Two signature lines by the same key name and key id.
    DuplicateSignature,
    /// The text has fewer lines than a tree head needs.
    MissingLine,
    /// The text has more lines than a tree head has.
    ExtraLine,
    /// The origin line is empty or contains a space or `+`.
    Origin,
    /// The tree size is not a canonical decimal `u64`.
    TreeSize,
    /// The root hash is not the base64 of 32 bytes.
    RootHash,
    /// The timestamp line is not `timestamp_ms <decimal u64>`.
    Timestamp,
}

impl fmt::Display for NoteDefect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::TooLarge => "the note is too large",
            Self::ControlCharacter => "control character other than newline",
            Self::NoFinalNewline => "the note does not end in a newline",
            Self::NoSeparator => "no blank line before the signatures",
            Self::NoSignatures => "no signature lines",
            Self::TooManySignatures => "too many signature lines",
            Self::SignatureLinePrefix => "a signature line must start with an em dash and a space",
            Self::KeyName => "invalid key name",
            Self::SignatureBase64 => "signature is not valid base64",
            Self::SignatureTooShort => "signature is too short",
            Self::DuplicateSignature => "second signature by the same key",
            Self::MissingLine => "a line of the tree head is missing",
            Self::ExtraLine => "unexpected extra line",
            Self::Origin => "invalid origin line",
            Self::TreeSize => "tree size is not a canonical decimal number",
            Self::RootHash => "root hash is not the base64 of 32 bytes",
            Self::Timestamp => "timestamp line is not `timestamp_ms <decimal>`",
        })
    }
}

pub(crate) fn malformed(line: usize, defect: NoteDefect) -> Error {
    Error::MalformedNote { line, defect }
}

/// Whether `name` is a valid key name (or origin): 1 to `max` bytes, no
/// Unicode white space, no `+`, no control characters.
pub(crate) fn valid_name(name: &str, max: usize) -> bool {
    !name.is_empty()
        && name.len() <= max
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || c.is_control())
}

/// The signed-note key id of an Ed25519 key:
/// `SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[0..4]`.
#[must_use]
pub fn key_id(name: &str, key: &VerifyingKey) -> [u8; KEY_ID_LEN] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', ED25519_SIGNATURE_TYPE]);
    h.update(key.as_bytes());
    let digest: [u8; 32] = h.finalize().into();
    let [a, b, c, d, ..] = digest;
    [a, b, c, d]
}

/// A named Ed25519 verifier key: the log's key or a witness's.
#[derive(Clone, PartialEq, Eq)]
pub struct NoteKey {
    name: String,
    key: VerifyingKey,
    id: [u8; KEY_ID_LEN],
}

impl fmt::Debug for NoteKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NoteKey")
            .field("name", &self.name)
            .field("id", &format_args!("{:02x?}", self.id))
            .finish_non_exhaustive()
    }
}

impl NoteKey {
    /// Names a public key.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidKeyName`] if the name is empty, longer than
    /// [`MAX_KEY_NAME_LEN`] or contains a space, `+` or a control character.
    pub fn new(name: &str, key: VerifyingKey) -> Result<Self, Error> {
        if !valid_name(name, MAX_KEY_NAME_LEN) {
            return Err(Error::InvalidKeyName {
                max: MAX_KEY_NAME_LEN,
            });
        }
        Ok(Self {
            name: name.to_owned(),
            id: key_id(name, &key),
            key,
        })
    }

    /// The key name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The public key.
    #[must_use]
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.key
    }

    /// The 4-byte key id.
    #[must_use]
    pub fn key_id(&self) -> [u8; KEY_ID_LEN] {
        self.id
    }

    /// The signed-note verifier key string: `name+hex key id+base64(0x01 ‖
    /// public key)`.
    #[must_use]
    pub fn to_vkey(&self) -> String {
        let mut bytes = Vec::with_capacity(33);
        bytes.push(ED25519_SIGNATURE_TYPE);
        bytes.extend_from_slice(self.key.as_bytes());
        format!(
            "{}+{}+{}",
            self.name,
            hex_lower(&self.id),
            STANDARD.encode(bytes)
        )
    }

    /// Parses [`NoteKey::to_vkey`]'s form, checking that the key id matches
    /// the name and key.
    ///
    /// # Errors
    ///
    /// [`Error::MalformedVerifierKey`] naming the defect.
    pub fn from_vkey(vkey: &str) -> Result<Self, Error> {
        let bad = |defect| Error::MalformedVerifierKey { defect };
        let vkey = vkey.trim_end_matches(['\n', '\r']);
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad("expected name+id+key"));
        };
        let bytes = STANDARD
            .decode(key)
            .map_err(|_| bad("the key is not base64"))?;
        let Some((&kind, key)) = bytes.split_first() else {
            return Err(bad("the key is empty"));
        };
        if kind != ED25519_SIGNATURE_TYPE {
            return Err(bad("not an Ed25519 key (type 0x01)"));
        }
        let key: [u8; 32] = key.try_into().map_err(|_| bad("the key is not 32 bytes"))?;
        let key =
            VerifyingKey::from_bytes(&key).map_err(|_| bad("the key is not a valid point"))?;
        let parsed = Self::new(name, key).map_err(|_| bad("the name is not valid"))?;
        if hex_lower(&parsed.id) != id {
            return Err(bad("the key id does not match the name and key"));
        }
        Ok(parsed)
    }

    /// Whether `signature` claims to be by this key (same name and key id).
    #[must_use]
    pub fn matches(&self, signature: &NoteSignature) -> bool {
        signature.key_name == self.name && signature.key_id == self.id
    }

    /// Checks `signature` over `text` with this key (`verify_strict`).
    ///
    /// # Errors
    ///
    /// [`Error::BadSignature`] if the line is not by this key, is not 64
    /// bytes, or does not verify.
    pub fn verify(&self, text: &str, signature: &NoteSignature) -> Result<(), Error> {
        let bad = || Error::BadSignature {
            key_name: self.name.clone(),
        };
        if !self.matches(signature) {
            return Err(bad());
        }
        let bytes: [u8; 64] = signature
            .signature
            .as_slice()
            .try_into()
            .map_err(|_| bad())?;
        self.key
            .verify_strict(text.as_bytes(), &Signature::from_bytes(&bytes))
            .map_err(|_| bad())
    }
}

fn hex_lower(bytes: &[u8]) -> String {
    use core::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// One signature line of a note.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct NoteSignature {
    key_name: String,
    key_id: [u8; KEY_ID_LEN],
    signature: Vec<u8>,
}

impl NoteSignature {
    /// Signs `text` with an Ed25519 key under `name`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidKeyName`] if the name is not valid.
    pub fn sign(text: &str, name: &str, key: &SigningKey) -> Result<Self, Error> {
        let verifier = NoteKey::new(name, key.verifying_key())?;
        Ok(Self {
            key_name: verifier.name,
            key_id: verifier.id,
            signature: key.sign(text.as_bytes()).to_bytes().to_vec(),
        })
    }

    /// The key name on the line.
    #[must_use]
    pub fn key_name(&self) -> &str {
        &self.key_name
    }

    /// The key id on the line.
    #[must_use]
    pub fn key_id(&self) -> [u8; KEY_ID_LEN] {
        self.key_id
    }

    /// The signature bytes after the key id.
    #[must_use]
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// Parses one signature line (without its newline). `line` is the
    /// 1-based line number reported in errors.
    pub(crate) fn parse_line(text: &str, line: usize) -> Result<Self, Error> {
        let rest = text
            .strip_prefix(SIGNATURE_LINE_PREFIX)
            .ok_or(malformed(line, NoteDefect::SignatureLinePrefix))?;
        let (name, encoded) = rest
            .split_once(' ')
            .ok_or(malformed(line, NoteDefect::KeyName))?;
        if !valid_name(name, MAX_KEY_NAME_LEN) {
            return Err(malformed(line, NoteDefect::KeyName));
        }
        let bytes = STANDARD
            .decode(encoded)
            .map_err(|_| malformed(line, NoteDefect::SignatureBase64))?;
        let Some((id, signature)) = bytes.split_first_chunk::<KEY_ID_LEN>() else {
            return Err(malformed(line, NoteDefect::SignatureTooShort));
        };
        if signature.is_empty() {
            return Err(malformed(line, NoteDefect::SignatureTooShort));
        }
        Ok(Self {
            key_name: name.to_owned(),
            key_id: *id,
            signature: signature.to_vec(),
        })
    }

    /// Writes the line, newline included.
    pub(crate) fn write_line(&self, out: &mut String) {
        let mut bytes = Vec::with_capacity(KEY_ID_LEN + self.signature.len());
        bytes.extend_from_slice(&self.key_id);
        bytes.extend_from_slice(&self.signature);
        out.push_str(SIGNATURE_LINE_PREFIX);
        out.push_str(&self.key_name);
        out.push(' ');
        out.push_str(&STANDARD.encode(bytes));
        out.push('\n');
    }
}

/// Splits a signed note into its text (final newline included) and its
/// parsed signature lines, checking everything but the text's own grammar.
pub(crate) fn split(note: &str) -> Result<(&str, Vec<NoteSignature>), Error> {
    if note.len() > MAX_NOTE_LEN {
        return Err(malformed(0, NoteDefect::TooLarge));
    }
    if let Some(offset) = note.bytes().position(|b| b < 0x20 && b != b'\n') {
        let line = 1 + note.bytes().take(offset).filter(|&b| b == b'\n').count();
        return Err(malformed(line, NoteDefect::ControlCharacter));
    }
    // DEL is a control character too.
    if let Some(offset) = note.bytes().position(|b| b == 0x7f) {
        let line = 1 + note.bytes().take(offset).filter(|&b| b == b'\n').count();
        return Err(malformed(line, NoteDefect::ControlCharacter));
    }
    let line_count = note.bytes().filter(|&b| b == b'\n').count();
    if !note.ends_with('\n') {
        return Err(malformed(line_count + 1, NoteDefect::NoFinalNewline));
    }
    // The text ends at the last blank line.
    let Some(blank) = note.rfind("\n\n") else {
        return Err(malformed(0, NoteDefect::NoSeparator));
    };
    let Some((text, rest)) = note.split_at_checked(blank + 1) else {
        return Err(malformed(0, NoteDefect::NoSeparator));
    };
    let signature_block = rest.strip_prefix('\n').unwrap_or(rest);
    let text_lines = text.bytes().filter(|&b| b == b'\n').count();
    let first_signature_line = text_lines + 2;
    if signature_block.is_empty() {
        return Err(malformed(first_signature_line, NoteDefect::NoSignatures));
    }
    let mut signatures: Vec<NoteSignature> = Vec::new();
    for (i, line) in signature_block.split_terminator('\n').enumerate() {
        let number = first_signature_line + i;
        if i >= MAX_SIGNATURES {
            return Err(malformed(number, NoteDefect::TooManySignatures));
        }
        let signature = NoteSignature::parse_line(line, number)?;
        if signatures
            .iter()
            .any(|s| s.key_name == signature.key_name && s.key_id == signature.key_id)
        {
            return Err(malformed(number, NoteDefect::DuplicateSignature));
        }
        signatures.push(signature);
    }
    Ok((text, signatures))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_id_is_the_signed_note_construction() {
        let key = SigningKey::from_bytes(&[7; 32]).verifying_key();
        let mut preimage = b"log.example\n\x01".to_vec();
        preimage.extend_from_slice(key.as_bytes());
        let digest = Sha256::digest(&preimage);
        assert_eq!(key_id("log.example", &key), digest[..4]);
    }

    #[test]
    fn vkeys_round_trip_and_reject_mismatches() {
        let key = SigningKey::from_bytes(&[9; 32]).verifying_key();
        let note = NoteKey::new("log.example/a", key).unwrap();
        let vkey = note.to_vkey();
        assert_eq!(NoteKey::from_vkey(&vkey).unwrap(), note);
        assert_eq!(NoteKey::from_vkey(&format!("{vkey}\n")).unwrap(), note);
        // Another name with the same id and key: the id no longer matches.
        let renamed = vkey.replacen("log.example/a", "log.example/b", 1);
        assert_eq!(
            NoteKey::from_vkey(&renamed).unwrap_err(),
            Error::MalformedVerifierKey {
                defect: "the key id does not match the name and key"
            }
        );
        for bad in ["", "a+b", "log+00000000+!!", "log+00000000+AQ=="] {
            assert!(
                matches!(
                    NoteKey::from_vkey(bad),
                    Err(Error::MalformedVerifierKey { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn key_names_are_checked() {
        let key = SigningKey::from_bytes(&[7; 32]).verifying_key();
        for bad in ["", "a b", "a+b", "a\u{a0}b", "a\tb"] {
            assert_eq!(
                NoteKey::new(bad, key),
                Err(Error::InvalidKeyName {
                    max: MAX_KEY_NAME_LEN
                })
            );
        }
        assert!(NoteKey::new("symbolon.example/log", key).is_ok());
    }
}
