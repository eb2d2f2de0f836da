//! Audit entries and their canonical binary encoding (version 1).
//!
//! An entry records one event: who did what to which key, when, and with
//! which outcome. It holds digests of payloads, never payloads or secrets.
//!
//! # Encoding, version 1
//!
//! All integers big-endian. Strings are UTF-8 with a `u16` byte-length
//! prefix; an optional field is a presence byte (`0` absent, `1` present)
//! followed by the value when present.
//!
//! | field | encoding | bound |
//! | --- | --- | --- |
//! | version | `u8` = 1 | |
//! | event | `u16` code, see [`EventKind`] | known codes only |
//! | time_ms | `u64` | |
//! | actor | string | [`MAX_NAME_LEN`] bytes |
//! | key_id | optional string | [`MAX_NAME_LEN`] bytes |
//! | key_version | optional `u64` | |
//! | request_digest | optional 32 bytes | |
//! | custodians | `u16` count, then strings | [`MAX_CUSTODIANS`] items of [`MAX_NAME_LEN`] bytes |
//! | outcome | optional string | [`MAX_NAME_LEN`] bytes |
//! | detail | optional string | [`MAX_DETAIL_LEN`] bytes |
//!
//! [`Entry::decode`] refuses unknown versions and event codes, presence
//! bytes other than 0 and 1, invalid UTF-8, over-long fields, truncation and
//! trailing bytes, so every accepted byte string is the one encoding of its
//! entry and `encode(decode(b)) == b`.

use core::fmt;
use core::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::hash::{NodeHash, leaf_hash};

/// The only entry version this crate writes and reads.
pub const ENTRY_VERSION: u8 = 1;
/// The longest actor, key id, custodian name or outcome, in bytes.
pub const MAX_NAME_LEN: usize = 256;
/// The longest detail text, in bytes.
pub const MAX_DETAIL_LEN: usize = 4096;
/// The most custodians an entry may name.
pub const MAX_CUSTODIANS: usize = 256;

/// The fields of an entry, as named in errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EntryField {
    /// The version byte.
    Version,
    /// The event code.
    Event,
    /// The time.
    TimeMs,
    /// The actor.
    Actor,
    /// The key id.
    KeyId,
    /// The key version.
    KeyVersion,
    /// The request digest.
    RequestDigest,
    /// The custodian list (its count).
    Custodians,
    /// One custodian name.
    Custodian,
    /// The outcome.
    Outcome,
    /// The detail text.
    Detail,
}

impl fmt::Display for EntryField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Version => "version",
            Self::Event => "event",
            Self::TimeMs => "time_ms",
            Self::Actor => "actor",
            Self::KeyId => "key_id",
            Self::KeyVersion => "key_version",
            Self::RequestDigest => "request_digest",
            Self::Custodians => "custodians",
            Self::Custodian => "custodian",
            Self::Outcome => "outcome",
            Self::Detail => "detail",
        })
    }
}

macro_rules! event_kinds {
    ($( $(#[$doc:meta])* $variant:ident = $code:literal, $name:literal; )*) => {
        /// What happened. Each kind has a stable dotted name (used in JSON and
        /// on the command line) and a stable `u16` code (used in the binary
        /// encoding). New kinds get new codes; codes are never reused.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum EventKind {
            $( $(#[$doc])* $variant, )*
        }

        impl EventKind {
            /// Every kind, in code order.
            pub const ALL: &'static [EventKind] = &[$(EventKind::$variant),*];

            /// The stable code.
            #[must_use]
            pub const fn code(self) -> u16 {
                match self { $(EventKind::$variant => $code,)* }
            }

            /// The stable dotted name.
            #[must_use]
            pub const fn name(self) -> &'static str {
                match self { $(EventKind::$variant => $name,)* }
            }

            /// The kind with this code.
            ///
            /// # Errors
            ///
            /// [`Error::UnknownEventCode`].
            pub const fn from_code(code: u16) -> Result<Self, Error> {
                match code {
                    $($code => Ok(EventKind::$variant),)*
                    _ => Err(Error::UnknownEventCode { code }),
                }
            }
        }

        impl FromStr for EventKind {
            type Err = Error;

            fn from_str(name: &str) -> Result<Self, Error> {
                match name {
                    $($name => Ok(EventKind::$variant),)*
                    _ => Err(Error::UnknownEventName),
                }
            }
        }
    };
}

event_kinds! {
    /// A custodian joined.
    CustodianRegistered = 0x0001, "custodian.registered";
    /// A custodian's attestation and heartbeat are good.
    CustodianHealthy = 0x0002, "custodian.healthy";
    /// A custodian missed heartbeats or returned bad data.
    CustodianSuspect = 0x0003, "custodian.suspect";
    /// A custodian is declared failed.
    CustodianFailed = 0x0004, "custodian.failed";
    /// A key (version) was created.
    KeyCreated = 0x0101, "key.created";
    /// Shares of a key version were sent to custodians.
    SharesDistributed = 0x0102, "shares.distributed";
    /// An operation request was created.
    RequestCreated = 0x0201, "request.created";
    /// An operation request completed.
    RequestCompleted = 0x0202, "request.completed";
    /// An operation request was refused.
    RequestRefused = 0x0203, "request.refused";
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for EventKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for EventKind {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        name.parse()
            .map_err(|_| serde::de::Error::custom(format_args!("unknown audit event {name:?}")))
    }
}

/// One audit log entry. Its leaf in the log is
/// `SHA-256(0x00 ‖ entry.encode())`.
///
/// The JSON view (serde) names the event by its dotted name and the request
/// digest in lower-case hex; it refuses unknown fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Format version, [`ENTRY_VERSION`].
    pub version: u8,
    /// What happened.
    pub event: EventKind,
    /// When, in milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// Who did it (principal, custodian or `coordinator`).
    pub actor: String,
    /// The key concerned.
    pub key_id: Option<String>,
    /// The key version concerned.
    pub key_version: Option<u64>,
    /// SHA-256 of the request (or its payload) — never the payload itself.
    #[serde(with = "digest_hex")]
    pub request_digest: Option<[u8; 32]>,
    /// Custodians involved.
    pub custodians: Vec<String>,
    /// Short outcome (`ok`, `refused: policy`, …).
    pub outcome: Option<String>,
    /// Free text for humans. Must never hold secrets.
    pub detail: Option<String>,
}

impl Entry {
    /// A version-1 entry with only the required fields set.
    #[must_use]
    pub fn new(event: EventKind, time_ms: u64, actor: impl Into<String>) -> Self {
        Self {
            version: ENTRY_VERSION,
            event,
            time_ms,
            actor: actor.into(),
            key_id: None,
            key_version: None,
            request_digest: None,
            custodians: Vec::new(),
            outcome: None,
            detail: None,
        }
    }

    /// The canonical encoding.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownEntryVersion`] if `version` is not [`ENTRY_VERSION`],
    /// [`Error::EntryFieldTooLong`] if a field exceeds its bound.
    pub fn encode(&self) -> Result<Vec<u8>, Error> {
        if self.version != ENTRY_VERSION {
            return Err(Error::UnknownEntryVersion {
                version: self.version,
            });
        }
        let mut out = Vec::with_capacity(64 + self.actor.len());
        out.push(self.version);
        out.extend_from_slice(&self.event.code().to_be_bytes());
        out.extend_from_slice(&self.time_ms.to_be_bytes());
        put_str(&mut out, &self.actor, EntryField::Actor, MAX_NAME_LEN)?;
        put_opt_str(
            &mut out,
            self.key_id.as_deref(),
            EntryField::KeyId,
            MAX_NAME_LEN,
        )?;
        match self.key_version {
            None => out.push(0),
            Some(v) => {
                out.push(1);
                out.extend_from_slice(&v.to_be_bytes());
            }
        }
        match &self.request_digest {
            None => out.push(0),
            Some(d) => {
                out.push(1);
                out.extend_from_slice(d);
            }
        }
        let count = self.custodians.len();
        if count > MAX_CUSTODIANS {
            return Err(Error::EntryFieldTooLong {
                field: EntryField::Custodians,
                len: count,
                max: MAX_CUSTODIANS,
            });
        }
        put_len(&mut out, count);
        for custodian in &self.custodians {
            put_str(&mut out, custodian, EntryField::Custodian, MAX_NAME_LEN)?;
        }
        put_opt_str(
            &mut out,
            self.outcome.as_deref(),
            EntryField::Outcome,
            MAX_NAME_LEN,
        )?;
        put_opt_str(
            &mut out,
            self.detail.as_deref(),
            EntryField::Detail,
            MAX_DETAIL_LEN,
        )?;
        Ok(out)
    }

    /// Decodes the canonical encoding.
    ///
    /// # Errors
    ///
    /// [`Error::EntryTruncated`], [`Error::EntryTrailingBytes`],
    /// [`Error::UnknownEntryVersion`], [`Error::UnknownEventCode`],
    /// [`Error::EntryFieldTooLong`], [`Error::EntryNotUtf8`],
    /// [`Error::EntryBadPresence`].
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader { rest: bytes };
        let [version] = r.take::<1>(EntryField::Version)?;
        if version != ENTRY_VERSION {
            return Err(Error::UnknownEntryVersion { version });
        }
        let event = EventKind::from_code(u16::from_be_bytes(r.take(EntryField::Event)?))?;
        let time_ms = u64::from_be_bytes(r.take(EntryField::TimeMs)?);
        let actor = r.string(EntryField::Actor, MAX_NAME_LEN)?;
        let key_id = r
            .present(EntryField::KeyId)?
            .then(|| r.string(EntryField::KeyId, MAX_NAME_LEN))
            .transpose()?;
        let key_version = r
            .present(EntryField::KeyVersion)?
            .then(|| r.take(EntryField::KeyVersion).map(u64::from_be_bytes))
            .transpose()?;
        let request_digest = r
            .present(EntryField::RequestDigest)?
            .then(|| r.take::<32>(EntryField::RequestDigest))
            .transpose()?;
        let count = usize::from(u16::from_be_bytes(r.take(EntryField::Custodians)?));
        if count > MAX_CUSTODIANS {
            return Err(Error::EntryFieldTooLong {
                field: EntryField::Custodians,
                len: count,
                max: MAX_CUSTODIANS,
            });
        }
        let mut custodians = Vec::with_capacity(count);
        for _ in 0..count {
            custodians.push(r.string(EntryField::Custodian, MAX_NAME_LEN)?);
        }
        let outcome = r
            .present(EntryField::Outcome)?
            .then(|| r.string(EntryField::Outcome, MAX_NAME_LEN))
            .transpose()?;
        let detail = r
            .present(EntryField::Detail)?
            .then(|| r.string(EntryField::Detail, MAX_DETAIL_LEN))
            .transpose()?;
        if !r.rest.is_empty() {
            return Err(Error::EntryTrailingBytes {
                extra: r.rest.len(),
            });
        }
        Ok(Self {
            version,
            event,
            time_ms,
            actor,
            key_id,
            key_version,
            request_digest,
            custodians,
            outcome,
            detail,
        })
    }

    /// The entry's leaf hash, `SHA-256(0x00 ‖ encode())`.
    ///
    /// # Errors
    ///
    /// As [`Entry::encode`].
    pub fn leaf_hash(&self) -> Result<NodeHash, Error> {
        Ok(leaf_hash(&self.encode()?))
    }
}

fn put_len(out: &mut Vec<u8>, len: usize) {
    // Callers bound `len` far below u16::MAX.
    let len = u16::try_from(len).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_be_bytes());
}

fn put_str(out: &mut Vec<u8>, s: &str, field: EntryField, max: usize) -> Result<(), Error> {
    if s.len() > max {
        return Err(Error::EntryFieldTooLong {
            field,
            len: s.len(),
            max,
        });
    }
    put_len(out, s.len());
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

fn put_opt_str(
    out: &mut Vec<u8>,
    s: Option<&str>,
    field: EntryField,
    max: usize,
) -> Result<(), Error> {
    match s {
        None => {
            out.push(0);
            Ok(())
        }
        Some(s) => {
            out.push(1);
            put_str(out, s, field, max)
        }
    }
}

struct Reader<'a> {
    rest: &'a [u8],
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self, field: EntryField) -> Result<[u8; N], Error> {
        let (head, rest) = self
            .rest
            .split_first_chunk::<N>()
            .ok_or(Error::EntryTruncated { field })?;
        self.rest = rest;
        Ok(*head)
    }

    fn present(&mut self, field: EntryField) -> Result<bool, Error> {
        match self.take::<1>(field)? {
            [0] => Ok(false),
            [1] => Ok(true),
            [tag] => Err(Error::EntryBadPresence { field, tag }),
        }
    }

    fn string(&mut self, field: EntryField, max: usize) -> Result<String, Error> {
        let len = usize::from(u16::from_be_bytes(self.take(field)?));
        if len > max {
            return Err(Error::EntryFieldTooLong { field, len, max });
        }
        let (bytes, rest) = self
            .rest
            .split_at_checked(len)
            .ok_or(Error::EntryTruncated { field })?;
        self.rest = rest;
        String::from_utf8(bytes.to_vec()).map_err(|_| Error::EntryNotUtf8 { field })
    }
}

/// One lower-case hexadecimal digit of a nibble (`0..=15`).
pub(crate) fn hex_digit(nibble: u8) -> char {
    char::from_digit(u32::from(nibble & 0x0f), 16).unwrap_or('0')
}

/// Serde for `Option<[u8; 32]>` as lower-case hex (or `null`), through
/// [`NodeHash`]'s hex form.
mod digest_hex {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    use crate::NodeHash;

    #[allow(clippy::ref_option)] // serde's `with` hands us `&Option<T>`.
    pub(super) fn serialize<S: Serializer>(
        digest: &Option<[u8; 32]>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match digest {
            None => serializer.serialize_none(),
            Some(d) => serializer.serialize_some(&NodeHash::from_bytes(*d).to_hex()),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<[u8; 32]>, D::Error> {
        let Some(s) = Option::<std::borrow::Cow<'de, str>>::deserialize(deserializer)? else {
            return Ok(None);
        };
        // Lower case only: one spelling per digest.
        NodeHash::from_hex(&s)
            .filter(|_| !s.bytes().any(|c| c.is_ascii_uppercase()))
            .map(|hash| Some(hash.to_bytes()))
            .ok_or_else(|| D::Error::custom("request_digest must be 64 lower-case hex digits"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_are_stable_and_distinct() {
        for (i, a) in EventKind::ALL.iter().enumerate() {
            assert_eq!(EventKind::from_code(a.code()), Ok(*a));
            assert_eq!(a.name().parse::<EventKind>(), Ok(*a));
            for b in &EventKind::ALL[i + 1..] {
                assert_ne!(a.code(), b.code());
                assert_ne!(a.name(), b.name());
            }
        }
        assert_eq!(EventKind::RequestRefused.name(), "request.refused");
        assert_eq!(EventKind::KeyCreated.code(), 0x0101);
        assert_eq!(
            EventKind::from_code(0),
            Err(Error::UnknownEventCode { code: 0 })
        );
    }

    #[test]
    fn minimal_entry_known_answer() {
        let entry = Entry::new(EventKind::CustodianHealthy, 0x0102_0304_0506_0708, "c1");
        let bytes = entry.encode().unwrap();
        assert_eq!(
            bytes,
            [
                1, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8, 0, 2, b'c', b'1', 0, 0, 0, 0, 0, 0, 0
            ]
        );
        assert_eq!(Entry::decode(&bytes), Ok(entry));
    }
}
