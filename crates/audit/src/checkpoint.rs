//! Signed tree heads, in the C2SP tlog-checkpoint form
//! (<https://c2sp.org/tlog-checkpoint>) as a C2SP signed note
//! (<https://c2sp.org/signed-note>, see [`crate::note`]).
//!
//! The signed text is exactly four lines:
//!
//! ```text
//! <origin>
//! <tree size, decimal, no leading zeros>
//! <root hash, standard base64 with padding>
//! timestamp_ms <milliseconds since the Unix epoch, decimal, no leading zeros>
//! ```
//!
//! The first three lines are the checkpoint of tlog-checkpoint; the fourth is
//! one of its extension lines. This format admits no other extension line,
//! so that a note has a single reading. The origin must be non-empty, at most
//! [`MAX_ORIGIN_LEN`] bytes, and contain no Unicode space, `+` or control
//! character (tlog-checkpoint: "SHOULD be a schema-less URL").
//!
//! The log signs the text with its Ed25519 key; witnesses add their own
//! Ed25519 signature lines over the *same* text (signature type `0x01`).
//! Note that this is not the C2SP tlog-cosignature format (type `0x04`,
//! which signs a different message with its own timestamp); a witness
//! here attests "I saw this tree head and it extends the last one I saw".

use core::fmt;
use ed25519_dalek::SigningKey;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::Error;
use crate::hash::{HASH_LEN, NodeHash};
use crate::note::{self, MAX_SIGNATURES, NoteDefect, NoteKey, NoteSignature, malformed};

/// The longest origin accepted, in bytes.
pub const MAX_ORIGIN_LEN: usize = 256;
/// The key word of the timestamp line.
pub const TIMESTAMP_KEYWORD: &str = "timestamp_ms";

/// The state of the log at one moment: its size, its root and when the log
/// claimed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeHead {
    /// Number of leaves.
    pub size: u64,
    /// `MTH` of the first `size` leaves.
    pub root_hash: NodeHash,
    /// Milliseconds since the Unix epoch, as claimed by the log.
    pub timestamp_ms: u64,
}

impl TreeHead {
    /// The note text of this tree head under `origin` (four lines, each
    /// ending in a newline).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOrigin`] if the origin is not valid.
    pub fn text(&self, origin: &str) -> Result<String, Error> {
        if !note::valid_name(origin, MAX_ORIGIN_LEN) {
            return Err(Error::InvalidOrigin {
                max: MAX_ORIGIN_LEN,
            });
        }
        Ok(format!(
            "{origin}\n{}\n{}\n{TIMESTAMP_KEYWORD} {}\n",
            self.size,
            STANDARD.encode(self.root_hash.as_bytes()),
            self.timestamp_ms
        ))
    }

    /// Signs this tree head as the log.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOrigin`], [`Error::InvalidKeyName`].
    pub fn sign(
        &self,
        origin: &str,
        key_name: &str,
        key: &SigningKey,
    ) -> Result<SignedTreeHead, Error> {
        let text = self.text(origin)?;
        let signature = NoteSignature::sign(&text, key_name, key)?;
        Ok(SignedTreeHead {
            origin: origin.to_owned(),
            head: *self,
            text,
            signatures: vec![signature],
        })
    }

    /// Parses the note text; returns the origin and the tree head.
    fn parse_text(text: &str) -> Result<(String, Self), Error> {
        let mut lines = text.split_terminator('\n');
        let mut next = |number: usize| {
            lines
                .next()
                .ok_or(malformed(number, NoteDefect::MissingLine))
        };
        let origin = next(1)?;
        let size = next(2)?;
        let root = next(3)?;
        let timestamp = next(4)?;
        if lines.next().is_some() {
            return Err(malformed(5, NoteDefect::ExtraLine));
        }
        if !note::valid_name(origin, MAX_ORIGIN_LEN) {
            return Err(malformed(1, NoteDefect::Origin));
        }
        let size = parse_decimal(size).ok_or(malformed(2, NoteDefect::TreeSize))?;
        let root: [u8; HASH_LEN] = STANDARD
            .decode(root)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or(malformed(3, NoteDefect::RootHash))?;
        let timestamp_ms = timestamp
            .strip_prefix(TIMESTAMP_KEYWORD)
            .and_then(|rest| rest.strip_prefix(' '))
            .and_then(parse_decimal)
            .ok_or(malformed(4, NoteDefect::Timestamp))?;
        Ok((
            origin.to_owned(),
            Self {
                size,
                root_hash: NodeHash::from_bytes(root),
                timestamp_ms,
            },
        ))
    }
}

/// A canonical decimal `u64`: ASCII digits, no sign, no leading zero
/// (except "0" itself).
fn parse_decimal(s: &str) -> Option<u64> {
    let canonical =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    if !canonical {
        return None;
    }
    s.parse().ok()
}

/// A tree head with its signature lines: the log's and witnesses'.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SignedTreeHead {
    origin: String,
    head: TreeHead,
    /// The exact signed text.
    text: String,
    signatures: Vec<NoteSignature>,
}

impl SignedTreeHead {
    /// Parses a signed tree head note.
    ///
    /// This checks the grammar only; call [`SignedTreeHead::verify`] before
    /// trusting anything in it.
    ///
    /// # Errors
    ///
    /// [`Error::MalformedNote`] naming the line and the defect.
    pub fn parse(note: &str) -> Result<Self, Error> {
        let (text, signatures) = note::split(note)?;
        let (origin, head) = TreeHead::parse_text(text)?;
        Ok(Self {
            origin,
            head,
            text: text.to_owned(),
            signatures,
        })
    }

    /// The log origin.
    #[must_use]
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The tree head, unverified.
    #[must_use]
    pub fn head(&self) -> &TreeHead {
        &self.head
    }

    /// The signed text.
    #[must_use]
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The signature lines, in order.
    #[must_use]
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// Adds a witness cosignature (an Ed25519 signature line over the same
    /// text).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidKeyName`], [`Error::AlreadySigned`] if a line by the
    /// same key name and key id is present, [`Error::TooManySignatures`].
    pub fn cosign(&mut self, key_name: &str, key: &SigningKey) -> Result<(), Error> {
        let signature = NoteSignature::sign(&self.text, key_name, key)?;
        if self
            .signatures
            .iter()
            .any(|s| s.key_name() == signature.key_name() && s.key_id() == signature.key_id())
        {
            return Err(Error::AlreadySigned {
                key_name: key_name.to_owned(),
            });
        }
        if self.signatures.len() >= MAX_SIGNATURES {
            return Err(Error::TooManySignatures {
                max: MAX_SIGNATURES,
            });
        }
        self.signatures.push(signature);
        Ok(())
    }

    /// Adds the signature lines of `other` — the same tree head, signed by
    /// more witnesses — that this note lacks. Lines are not verified here.
    ///
    /// # Errors
    ///
    /// [`Error::DifferentText`] if `other` signs another text,
    /// [`Error::TooManySignatures`].
    pub fn merge(&mut self, other: &SignedTreeHead) -> Result<(), Error> {
        if other.text != self.text {
            return Err(Error::DifferentText);
        }
        for line in &other.signatures {
            if self.signatures.iter().any(|s| s == line) {
                continue;
            }
            if self.signatures.len() >= MAX_SIGNATURES {
                return Err(Error::TooManySignatures {
                    max: MAX_SIGNATURES,
                });
            }
            self.signatures.push(line.clone());
        }
        Ok(())
    }

    /// Verifies the log's signature and returns the tree head.
    ///
    /// # Errors
    ///
    /// [`Error::LogSignatureMissing`] if no line is by `log_key` (same name
    /// and key id), [`Error::BadSignature`] if that line does not verify.
    ///
    /// # Security
    ///
    /// This checks that the log signed this tree head, not that it is
    /// consistent with earlier ones: follow with
    /// [`crate::verify_consistency`] against the last accepted head. The
    /// origin should be checked against the expected log as well.
    pub fn verify(&self, log_key: &NoteKey) -> Result<&TreeHead, Error> {
        let line = self
            .signatures
            .iter()
            .find(|s| log_key.matches(s))
            .ok_or_else(|| Error::LogSignatureMissing {
                key_name: log_key.name().to_owned(),
            })?;
        log_key.verify(&self.text, line)?;
        Ok(&self.head)
    }

    /// Counts the distinct keys among `witnesses` with a valid signature
    /// line on this note. Lines by other keys, and lines that claim a
    /// witness's name and key id but do not verify, are not counted. A key
    /// listed twice counts once.
    #[must_use]
    pub fn count_valid_cosignatures(&self, witnesses: &[NoteKey]) -> usize {
        let mut seen: Vec<&NoteKey> = Vec::with_capacity(witnesses.len());
        for witness in witnesses {
            if seen
                .iter()
                .any(|w| w.name() == witness.name() && w.key_id() == witness.key_id())
            {
                continue;
            }
            let valid = self
                .signatures
                .iter()
                .find(|s| witness.matches(s))
                .is_some_and(|line| witness.verify(&self.text, line).is_ok());
            if valid {
                seen.push(witness);
            }
        }
        seen.len()
    }

    /// The note: text, blank line, signature lines.
    #[must_use]
    pub fn to_note(&self) -> String {
        let mut out = self.text.clone();
        out.push('\n');
        for signature in &self.signatures {
            signature.write_line(&mut out);
        }
        out
    }
}

impl fmt::Display for SignedTreeHead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_note())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_canonical() {
        assert_eq!(parse_decimal("0"), Some(0));
        assert_eq!(parse_decimal("18446744073709551615"), Some(u64::MAX));
        for bad in [
            "",
            "00",
            "01",
            "+1",
            "-1",
            " 1",
            "1 ",
            "18446744073709551616",
            "1e3",
        ] {
            assert_eq!(parse_decimal(bad), None, "{bad:?}");
        }
    }
}
