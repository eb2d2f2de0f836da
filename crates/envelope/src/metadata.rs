//! Shard metadata and its canonical encoding.
//!
//! The canonical bytes are the exact bytes that are signed, used as HPKE AAD
//! (RFC 9180 §5.2) and embedded in the envelope: fixed field order,
//! big-endian integers, `0`/`1` option tags, u8-length-prefixed UTF-8
//! strings, no optional or unknown fields. The byte layout is in
//! `docs/envelope-format.md`.

use core::fmt;

use crate::Error;
use crate::wire::{self, Reader};

/// Longest `key_id`, recipient `id` and `label`, in bytes.
pub const MAX_TEXT_LEN: usize = 255;
/// Most shares a GF(2^8)-based scheme can have (one per non-zero field
/// element).
pub const MAX_GF256_SHARES: u16 = 255;

/// Length of the random blinding value that precedes the share in the
/// payload of a hash-committed shard ([`Scheme::is_hash_committed`]).
pub const BLINDING_LEN: usize = 32;

/// BLAKE3 `derive_key` context of [`share_commitment`]. `v2`: the `v1`
/// commitment hashed the bare share and was not hiding.
const SHARE_COMMITMENT_CONTEXT: &str = "symbolon share commitment v2";

/// How the secret was shared, and so what the metadata's `commitment` means.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scheme {
    /// Shamir over GF(2^8), byte-wise. Hash-committed: `commitment` is the
    /// blinded [`share_commitment`], computed by [`crate::Envelope::seal`].
    ShamirGf256,
    /// Krawczyk's "secret sharing made short" (CRYPTO '93): a Shamir-shared
    /// key plus an erasure-coded ciphertext. Hash-committed, like
    /// [`Scheme::ShamirGf256`].
    Ssms,
    /// Shamir over the ristretto255 scalar field with Feldman commitments.
    /// `commitment` is scheme-defined and supplied by the caller (checked by
    /// the sharing layer against the Feldman commitments, not by this
    /// crate); the payload is the bare share, with no blinding.
    FeldmanRistretto255,
    /// A FROST(Ed25519, SHA-512) key share (RFC 9591) over the Ed25519
    /// scalar field with Feldman commitments. Like
    /// [`Scheme::FeldmanRistretto255`], `commitment` is scheme-defined and
    /// supplied by the caller, and the payload carries no blinding.
    FrostEd25519,
}

impl Scheme {
    /// Every scheme, in wire-code order.
    pub const ALL: [Scheme; 4] = [
        Scheme::ShamirGf256,
        Scheme::Ssms,
        Scheme::FeldmanRistretto255,
        Scheme::FrostEd25519,
    ];

    /// The stable name: `shamir-gf256`, `ssms`, `feldman-ristretto255` or
    /// `frost-ed25519`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::ShamirGf256 => "shamir-gf256",
            Scheme::Ssms => "ssms",
            Scheme::FeldmanRistretto255 => "feldman-ristretto255",
            Scheme::FrostEd25519 => "frost-ed25519",
        }
    }

    /// The stable one-byte wire code: 1 to 4 (0 is reserved).
    pub fn code(self) -> u8 {
        match self {
            Scheme::ShamirGf256 => 1,
            Scheme::Ssms => 2,
            Scheme::FeldmanRistretto255 => 3,
            Scheme::FrostEd25519 => 4,
        }
    }

    /// The scheme with wire code `code`.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownScheme`] for any other code.
    pub fn from_code(code: u8) -> Result<Scheme, Error> {
        Scheme::ALL
            .into_iter()
            .find(|s| s.code() == code)
            .ok_or(Error::UnknownScheme { code })
    }

    /// The scheme named `name` (as returned by [`Scheme::as_str`]).
    pub fn from_name(name: &str) -> Option<Scheme> {
        Scheme::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// Whether the scheme is hash-committed: the payload is
    /// `blinding (BLINDING_LEN bytes) || share` and `commitment` is
    /// [`share_commitment`] of it, computed by [`crate::Envelope::seal`] and
    /// checked by [`crate::Envelope::open`].
    pub fn is_hash_committed(self) -> bool {
        matches!(self, Scheme::ShamirGf256 | Scheme::Ssms)
    }

    /// How many blinding bytes precede the share in the payload:
    /// [`BLINDING_LEN`] for hash-committed schemes, 0 otherwise.
    pub(crate) fn blinding_len(self) -> usize {
        if self.is_hash_committed() {
            BLINDING_LEN
        } else {
            0
        }
    }

    /// The largest share count the scheme supports.
    pub fn max_shares(self) -> u16 {
        match self {
            Scheme::ShamirGf256 | Scheme::Ssms => MAX_GF256_SHARES,
            Scheme::FeldmanRistretto255 | Scheme::FrostEd25519 => u16::MAX,
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who a shard is sealed to, as recorded in the signed metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecipientInfo {
    /// A human-readable name for the recipient (at most 255 bytes, no
    /// control characters; may be empty).
    pub id: String,
    /// The recipient's [`crate::Recipient::fingerprint`].
    pub fingerprint: [u8; 32],
}

/// Everything about a shard except the share itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Metadata {
    /// Random identifier shared by all shards of one split.
    pub split_id: [u8; 16],
    /// The identifier of the key that was split (at most 255 bytes, no
    /// control characters).
    pub key_id: String,
    /// The sharing epoch: incremented by each refresh or reshare.
    pub epoch: u64,
    /// The sharing scheme.
    pub scheme: Scheme,
    /// This share's index, `1..=shares` (its x-coordinate).
    pub index: u16,
    /// How many shares reconstruct the secret, `1..=shares`.
    pub threshold: u16,
    /// How many shares were made (at most [`Scheme::max_shares`]).
    pub shares: u16,
    /// Who the shard is sealed to; `None` for a clear shard.
    pub recipient: Option<RecipientInfo>,
    /// When the shard was made, Unix seconds.
    pub created_at: u64,
    /// When the shard stops being acceptable, Unix seconds (strictly after
    /// `created_at`); `None` for no expiry.
    pub expires_at: Option<u64>,
    /// The commitment to the share (see [`Scheme`]). For hash-committed
    /// schemes [`crate::Envelope::seal`] overwrites it with
    /// [`share_commitment`] under a fresh blinding value.
    pub commitment: [u8; 32],
    /// Free text for humans (at most 255 bytes, no control characters).
    pub label: String,
}

impl Metadata {
    /// Checks every rule the format imposes on metadata.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidMetadata`] naming the broken rule: `shares` is 0 or
    /// above [`Scheme::max_shares`], `index` or `threshold` not in
    /// `1..=shares`, a text field longer than 255 bytes or holding a control
    /// character, `expires_at` not after `created_at`.
    pub fn validate(&self) -> Result<(), Error> {
        let invalid = |reason| Err(Error::InvalidMetadata { reason });
        if self.shares == 0 {
            return invalid("shares is 0");
        }
        if self.shares > self.scheme.max_shares() {
            return invalid("shares exceeds the scheme's maximum (255 for GF(2^8) schemes)");
        }
        if self.index == 0 {
            return invalid("index is 0 (indices start at 1)");
        }
        if self.index > self.shares {
            return invalid("index exceeds shares");
        }
        if self.threshold == 0 {
            return invalid("threshold is 0");
        }
        if self.threshold > self.shares {
            return invalid("threshold exceeds shares");
        }
        check_text(
            &self.key_id,
            "key_id is longer than 255 bytes",
            "key_id holds a control character",
        )?;
        if let Some(recipient) = &self.recipient {
            check_text(
                &recipient.id,
                "recipient id is longer than 255 bytes",
                "recipient id holds a control character",
            )?;
        }
        check_text(
            &self.label,
            "label is longer than 255 bytes",
            "label holds a control character",
        )?;
        if let Some(expires_at) = self.expires_at
            && expires_at <= self.created_at
        {
            return invalid("expires_at is not after created_at");
        }
        Ok(())
    }

    /// The canonical encoding (see the module docs).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidMetadata`] if [`Metadata::validate`] fails: invalid
    /// metadata has no canonical form.
    pub fn to_canonical_bytes(&self) -> Result<Vec<u8>, Error> {
        self.validate()?;
        let mut out = Vec::with_capacity(self.encoded_len_hint());
        out.extend_from_slice(&self.split_id);
        wire::put_string8(&mut out, &self.key_id, "key_id is longer than 255 bytes")?;
        wire::put_u64(&mut out, self.epoch);
        out.push(self.scheme.code());
        wire::put_u16(&mut out, self.index);
        wire::put_u16(&mut out, self.threshold);
        wire::put_u16(&mut out, self.shares);
        match &self.recipient {
            None => out.push(0),
            Some(recipient) => {
                out.push(1);
                wire::put_string8(
                    &mut out,
                    &recipient.id,
                    "recipient id is longer than 255 bytes",
                )?;
                out.extend_from_slice(&recipient.fingerprint);
            }
        }
        wire::put_u64(&mut out, self.created_at);
        match self.expires_at {
            None => out.push(0),
            Some(expires_at) => {
                out.push(1);
                wire::put_u64(&mut out, expires_at);
            }
        }
        out.extend_from_slice(&self.commitment);
        wire::put_string8(&mut out, &self.label, "label is longer than 255 bytes")?;
        Ok(out)
    }

    /// Decodes canonical metadata bytes, requiring all of `bytes` to be used.
    ///
    /// # Errors
    ///
    /// [`Error::Truncated`], [`Error::TrailingBytes`], [`Error::UnknownScheme`],
    /// [`Error::InvalidTag`], [`Error::InvalidUtf8`] or
    /// [`Error::InvalidMetadata`].
    pub fn from_canonical_bytes(bytes: &[u8]) -> Result<Metadata, Error> {
        let mut r = Reader::new(bytes);
        let metadata = Self::decode_from(&mut r)?;
        r.finish()?;
        Ok(metadata)
    }

    /// Reads canonical metadata from the front of `r` and validates it.
    ///
    /// # Errors
    ///
    /// [`Error::Truncated`], [`Error::UnknownScheme`], [`Error::InvalidTag`],
    /// [`Error::InvalidUtf8`] or [`Error::InvalidMetadata`].
    pub(crate) fn decode_from(r: &mut Reader<'_>) -> Result<Metadata, Error> {
        let split_id = r.array::<16>("split_id")?;
        let key_id = r.string8("key_id length", "key_id")?;
        let epoch = r.u64("epoch")?;
        let scheme = Scheme::from_code(r.u8("scheme")?)?;
        let index = r.u16("index")?;
        let threshold = r.u16("threshold")?;
        let shares = r.u16("shares")?;
        let recipient = if r.option_tag("recipient tag")? {
            let id = r.string8("recipient id length", "recipient id")?;
            let fingerprint = r.array::<32>("recipient fingerprint")?;
            Some(RecipientInfo { id, fingerprint })
        } else {
            None
        };
        let created_at = r.u64("created_at")?;
        let expires_at = if r.option_tag("expires_at tag")? {
            Some(r.u64("expires_at")?)
        } else {
            None
        };
        let commitment = r.array::<32>("commitment")?;
        let label = r.string8("label length", "label")?;
        let metadata = Metadata {
            split_id,
            key_id,
            epoch,
            scheme,
            index,
            threshold,
            shares,
            recipient,
            created_at,
            expires_at,
            commitment,
            label,
        };
        metadata.validate()?;
        Ok(metadata)
    }

    fn encoded_len_hint(&self) -> usize {
        let recipient = self.recipient.as_ref().map_or(0, |r| 1 + r.id.len() + 32);
        16 + 1 + self.key_id.len() + 8 + 1 + 6 + 1 + recipient + 8 + 9 + 32 + 1 + self.label.len()
    }
}

fn check_text(text: &str, too_long: &'static str, control: &'static str) -> Result<(), Error> {
    if text.len() > MAX_TEXT_LEN {
        return Err(Error::InvalidMetadata { reason: too_long });
    }
    // Control characters (C0, DEL, C1) could forge terminal output when a
    // shard's metadata is printed.
    if text.chars().any(char::is_control) {
        return Err(Error::InvalidMetadata { reason: control });
    }
    Ok(())
}

/// The blinded commitment to a share for hash-committed schemes
/// ([`Scheme::is_hash_committed`]):
///
/// ```text
/// BLAKE3-derive_key("symbolon share commitment v2",
///     split_id (16) || epoch (u64 BE) || scheme code (u8) || index (u16 BE)
///     || blinding (32) || share)
/// ```
///
/// Only `split_id`, `epoch`, `scheme` and `index` are read from `metadata`
/// (its `commitment` is ignored). [`crate::Envelope::seal`] calls this with
/// a fresh random `blinding` and stores the result in the metadata; callers
/// need it only to check a commitment by hand.
///
/// # Security
///
/// The commitment is public, even in a sealed shard. With `blinding` drawn
/// uniformly at random and kept as secret as the share (it travels inside
/// the sealed payload), the commitment is hiding: it reveals nothing about
/// the share, even a threshold-1 share that *is* a low-entropy secret
/// (BLAKE3 modelled as a random oracle). It is binding by BLAKE3's collision
/// resistance, and the metadata prefix ties it to one slot (split, epoch,
/// scheme, index), so it cannot be replayed to another.
pub fn share_commitment(
    metadata: &Metadata,
    blinding: &[u8; BLINDING_LEN],
    share: &[u8],
) -> [u8; 32] {
    let mut hasher = commitment_hasher(metadata, blinding);
    hasher.update(share);
    *hasher.finalize().as_bytes()
}

/// [`share_commitment`]'s hasher before the share bytes, which follow.
pub(crate) fn commitment_hasher(
    metadata: &Metadata,
    blinding: &[u8; BLINDING_LEN],
) -> blake3::Hasher {
    // Fixed-length fields first and the share last: the input is
    // unambiguous without length prefixes. Hashed in place, no copy.
    let mut hasher = blake3::Hasher::new_derive_key(SHARE_COMMITMENT_CONTEXT);
    hasher.update(&metadata.split_id);
    hasher.update(&metadata.epoch.to_be_bytes());
    hasher.update(&[metadata.scheme.code()]);
    hasher.update(&metadata.index.to_be_bytes());
    hasher.update(blinding);
    hasher
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    pub(crate) fn sample() -> Metadata {
        Metadata {
            split_id: [7; 16],
            key_id: "db-master".into(),
            epoch: 3,
            scheme: Scheme::ShamirGf256,
            index: 2,
            threshold: 3,
            shares: 5,
            recipient: None,
            created_at: 1_700_000_000,
            expires_at: Some(1_800_000_000),
            commitment: [0x5c; 32],
            label: "production database".into(),
        }
    }

    #[test]
    fn scheme_codes_and_names_are_stable() {
        let table = [
            (Scheme::ShamirGf256, 1, "shamir-gf256"),
            (Scheme::Ssms, 2, "ssms"),
            (Scheme::FeldmanRistretto255, 3, "feldman-ristretto255"),
            (Scheme::FrostEd25519, 4, "frost-ed25519"),
        ];
        for (scheme, code, name) in table {
            assert_eq!(scheme.code(), code);
            assert_eq!(scheme.as_str(), name);
            assert_eq!(scheme.to_string(), name);
            assert_eq!(Scheme::from_code(code), Ok(scheme));
            assert_eq!(Scheme::from_name(name), Some(scheme));
        }
        assert_eq!(Scheme::from_code(0), Err(Error::UnknownScheme { code: 0 }));
        assert_eq!(Scheme::from_code(5), Err(Error::UnknownScheme { code: 5 }));
        assert_eq!(Scheme::from_name("shamir"), None);
    }

    #[test]
    fn validation_names_the_broken_rule() {
        let reason = |edit: fn(&mut Metadata)| {
            let mut m = sample();
            edit(&mut m);
            match m.validate() {
                Err(Error::InvalidMetadata { reason }) => reason,
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(reason(|m| m.index = 0), "index is 0 (indices start at 1)");
        assert_eq!(reason(|m| m.index = 6), "index exceeds shares");
        assert_eq!(reason(|m| m.threshold = 0), "threshold is 0");
        assert_eq!(reason(|m| m.threshold = 6), "threshold exceeds shares");
        assert_eq!(reason(|m| m.shares = 0), "shares is 0");
        assert_eq!(
            reason(|m| m.shares = 256),
            "shares exceeds the scheme's maximum (255 for GF(2^8) schemes)"
        );
        assert_eq!(
            reason(|m| m.key_id = "k".repeat(256)),
            "key_id is longer than 255 bytes"
        );
        assert_eq!(
            reason(|m| m.key_id = "a\u{1b}[2J".into()),
            "key_id holds a control character"
        );
        assert_eq!(
            reason(|m| m.label = "é".repeat(128)),
            "label is longer than 255 bytes"
        );
        assert_eq!(
            reason(|m| m.label = "two\nlines".into()),
            "label holds a control character"
        );
        assert_eq!(
            reason(|m| {
                m.recipient = Some(RecipientInfo {
                    id: "x\u{9b}".into(),
                    fingerprint: [0; 32],
                })
            }),
            "recipient id holds a control character"
        );
        assert_eq!(
            reason(|m| m.expires_at = Some(m.created_at)),
            "expires_at is not after created_at"
        );
        // Limits themselves are fine.
        let mut m = sample();
        m.label = "l".repeat(255);
        m.threshold = 5;
        m.index = 5;
        assert_eq!(m.validate(), Ok(()));
        m.scheme = Scheme::FeldmanRistretto255;
        m.shares = 1000;
        assert_eq!(m.validate(), Ok(()));
        assert_eq!(m.to_canonical_bytes().map(|_| ()), Ok(()));
    }

    #[test]
    fn canonical_layout_is_fixed() {
        let mut m = sample();
        m.key_id = "k".into();
        m.label = String::new();
        m.recipient = Some(RecipientInfo {
            id: "r".into(),
            fingerprint: [0xaa; 32],
        });
        let bytes = m.to_canonical_bytes().unwrap();
        let mut expected = vec![7u8; 16];
        expected.extend_from_slice(&[1, b'k']);
        expected.extend_from_slice(&3u64.to_be_bytes());
        expected.extend_from_slice(&[1, 0, 2, 0, 3, 0, 5]);
        expected.extend_from_slice(&[1, 1, b'r']);
        expected.extend_from_slice(&[0xaa; 32]);
        expected.extend_from_slice(&1_700_000_000u64.to_be_bytes());
        expected.push(1);
        expected.extend_from_slice(&1_800_000_000u64.to_be_bytes());
        expected.extend_from_slice(&[0x5c; 32]);
        expected.push(0);
        assert_eq!(bytes, expected);
        assert_eq!(bytes.len(), m.encoded_len_hint());
    }

    #[test]
    fn commitment_matches_its_definition() {
        let m = sample();
        let blinding = [0x3b; BLINDING_LEN];
        let mut input = m.split_id.to_vec();
        input.extend_from_slice(&m.epoch.to_be_bytes());
        input.push(m.scheme.code());
        input.extend_from_slice(&m.index.to_be_bytes());
        input.extend_from_slice(&blinding);
        input.extend_from_slice(b"abc");
        assert_eq!(
            share_commitment(&m, &blinding, b"abc"),
            blake3::derive_key("symbolon share commitment v2", &input)
        );
        // The old, unblinded definition is gone.
        assert_ne!(
            share_commitment(&m, &blinding, b"abc"),
            blake3::derive_key("symbolon share commitment v1", b"abc")
        );
        // Fields other than split_id, epoch, scheme and index do not count.
        let other = Metadata {
            label: "other".into(),
            commitment: [0; 32],
            threshold: 5,
            ..sample()
        };
        assert_eq!(
            share_commitment(&other, &blinding, b"abc"),
            share_commitment(&m, &blinding, b"abc")
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// The commitment depends on every bound input: changing the
        /// blinding, the share or the slot (split, epoch, scheme, index)
        /// changes it.
        #[test]
        fn commitment_binds_blinding_share_and_slot(
            blinding in any::<[u8; BLINDING_LEN]>(),
            share in prop::collection::vec(any::<u8>(), 1..200),
            pos in any::<prop::sample::Index>(),
            mask in 1u8..=255,
        ) {
            let m = sample();
            let c = share_commitment(&m, &blinding, &share);
            let mut b = blinding;
            b[pos.index(BLINDING_LEN)] ^= mask;
            prop_assert_ne!(share_commitment(&m, &b, &share), c);
            let mut s = share.clone();
            s[pos.index(share.len())] ^= mask;
            prop_assert_ne!(share_commitment(&m, &blinding, &s), c);
            let longer = [&share[..], &[0]].concat();
            prop_assert_ne!(share_commitment(&m, &blinding, &longer), c);
            for slot in [
                Metadata { split_id: [8; 16], ..sample() },
                Metadata { epoch: 4, ..sample() },
                Metadata { scheme: Scheme::Ssms, ..sample() },
                Metadata { index: 3, ..sample() },
            ] {
                prop_assert_ne!(share_commitment(&slot, &blinding, &share), c);
            }
        }
    }

    fn text() -> impl Strategy<Value = String> {
        "[a-z0-9 é_-]{0,40}"
    }

    prop_compose! {
        fn metadata()(
            split_id in any::<[u8; 16]>(),
            key_id in text(),
            epoch in any::<u64>(),
            scheme in prop::sample::select(Scheme::ALL.to_vec()),
            (shares, threshold, index) in (1u16..=255).prop_flat_map(|n| (Just(n), 1..=n, 1..=n)),
            recipient in prop::option::of((text(), any::<[u8; 32]>())),
            created_at in 0u64..u64::MAX,
            expiry in prop::option::of(1u64..1_000_000),
            commitment in any::<[u8; 32]>(),
            label in text(),
        ) -> Metadata {
            Metadata {
                split_id, key_id, epoch, scheme, index, threshold, shares,
                recipient: recipient.map(|(id, fingerprint)| RecipientInfo { id, fingerprint }),
                created_at,
                expires_at: expiry.and_then(|d| created_at.checked_add(d)),
                commitment, label,
            }
        }
    }

    proptest! {
        #[test]
        fn canonical_bytes_round_trip(m in metadata()) {
            let bytes = m.to_canonical_bytes().unwrap();
            prop_assert_eq!(Metadata::from_canonical_bytes(&bytes).unwrap(), m);
            // A prefix is never a valid encoding: the format is self-delimiting.
            for cut in [0, bytes.len() / 2, bytes.len() - 1] {
                prop_assert!(Metadata::from_canonical_bytes(&bytes[..cut]).is_err());
            }
            let mut longer = bytes.clone();
            longer.push(0);
            prop_assert_eq!(
                Metadata::from_canonical_bytes(&longer),
                Err(Error::TrailingBytes { count: 1 })
            );
        }
    }
}
