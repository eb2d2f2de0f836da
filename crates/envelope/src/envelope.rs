//! The shard envelope: signed metadata plus the share, in the clear or
//! sealed with HPKE (RFC 9180) to one recipient, signed with Ed25519
//! (RFC 8032).
//!
//! Binary layout (version 1; all integers big-endian):
//!
//! ```text
//! "SYMB" | 0x01 | metadata | signer (32) | payload | signature (64)
//! payload = kind (0x00 clear | 0x01 HPKE) | [encapsulated key (32)] | length (u64) | bytes
//! ```
//!
//! The payload bytes are the plaintext, or its HPKE ciphertext. For
//! hash-committed schemes the plaintext is `blinding (32) || share`, with a
//! fresh random blinding per shard, and the metadata's commitment is
//! [`share_commitment`] of it; for Feldman shards it is the bare share.
//!
//! The signature is Ed25519 over
//! `"symbolon shard signature v1" || metadata || signer || kind || payload digest`,
//! where the payload digest is BLAKE3 `derive_key("symbolon shard payload v1",
//! payload encoding)`. See `docs/envelope-format.md` for every field.

use core::fmt;

use ed25519_dalek::{Signature, VerifyingKey};
use rand_core::CryptoRng;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::identity::{Identity, Recipient, ed25519_key_is_valid};
use crate::metadata::{BLINDING_LEN, Metadata, share_commitment};
use crate::payload::{Payload, TAG_LEN};
use crate::wire::Reader;
use crate::{Error, armor};

/// Magic bytes at the start of a binary envelope.
pub const MAGIC: [u8; 4] = *b"SYMB";
/// The envelope format version this build reads and writes.
pub const FORMAT_VERSION: u8 = 1;
/// Domain-separation prefix of the signed message.
pub const SIGNATURE_DOMAIN: &[u8] = b"symbolon shard signature v1";

pub(crate) const SIGNATURE_LEN: usize = 64;

/// A signed shard: metadata, the share (clear or HPKE-sealed), the dealer's
/// Ed25519 public key and signature.
///
/// Every `Envelope` value has valid metadata, a payload consistent with it
/// (sealed exactly when `metadata.recipient` is set, and for hash-committed
/// schemes a plaintext longer than the blinding) and a valid signer key;
/// the signature itself is checked by [`Envelope::verify_signature`] (and by
/// [`Envelope::open`]).
///
/// # Security
///
/// A clear envelope holds a share in the clear; its payload buffer is wiped
/// on drop and `Debug` never prints payload bytes. The signature proves who
/// dealt the shard, not that they are trusted: compare [`Envelope::signer`]
/// with the dealer key you expect.
#[derive(Clone)]
pub struct Envelope {
    metadata: Metadata,
    /// `metadata.to_canonical_bytes()`, kept so signing, verifying and
    /// encoding do not re-encode.
    metadata_bytes: Vec<u8>,
    signer: [u8; 32],
    payload: Payload,
    signature: [u8; SIGNATURE_LEN],
}

impl fmt::Debug for Envelope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Envelope")
            .field("metadata", &self.metadata)
            .field("signer", &Hex(&self.signer))
            .field("sealed", &self.is_sealed())
            .field("payload_len", &self.payload_len())
            .finish_non_exhaustive()
    }
}

struct Hex<'a>(&'a [u8]);

impl fmt::Debug for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl Envelope {
    /// Seals `share` to `recipient` (or leaves it in the clear when `None`)
    /// and signs the result with `dealer`'s Ed25519 key.
    ///
    /// `metadata.recipient` must be `None` for a clear shard; for a sealed
    /// one its fingerprint must equal `recipient.fingerprint()`.
    ///
    /// The commitment: for hash-committed schemes
    /// ([`Scheme::is_hash_committed`](crate::Scheme::is_hash_committed))
    /// `seal` draws a fresh [`BLINDING_LEN`]-byte blinding value from `rng`,
    /// makes the payload plaintext `blinding || share` and **overwrites**
    /// `metadata.commitment` with
    /// [`share_commitment`]`(&metadata, &blinding, share)`; whatever the
    /// caller put there is ignored (read the result from
    /// [`Envelope::metadata`]). For
    /// [`Scheme::FeldmanRistretto255`](crate::Scheme::FeldmanRistretto255)
    /// the plaintext is the bare share and the caller's commitment is kept.
    ///
    /// `rng` supplies, in this order, the blinding (32 bytes, hash-committed
    /// schemes only) and the HPKE ephemeral key (sealed shards only).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidMetadata`] (including a recipient given without
    /// `metadata.recipient` or the reverse), [`Error::RecipientMismatch`],
    /// [`Error::EmptyShare`], [`Error::Encryption`].
    ///
    /// # Security
    ///
    /// `rng` must be cryptographically secure: the secret blinding is what
    /// keeps the public commitment from revealing a low-entropy share (a
    /// threshold-1 share is the secret itself). The plaintext is built once,
    /// in a buffer that is wiped on drop, and a sealed one is encrypted in
    /// place, so a large share is copied once.
    pub fn seal<R: CryptoRng + ?Sized>(
        mut metadata: Metadata,
        share: &[u8],
        recipient: Option<&Recipient>,
        dealer: &Identity,
        rng: &mut R,
    ) -> Result<Envelope, Error> {
        metadata.validate()?;
        if share.is_empty() {
            return Err(Error::EmptyShare);
        }
        match (recipient, &metadata.recipient) {
            (None, None) => {}
            (Some(recipient), Some(info)) => {
                if recipient.fingerprint() != info.fingerprint {
                    return Err(Error::RecipientMismatch);
                }
            }
            (Some(_), None) => {
                return Err(Error::InvalidMetadata {
                    reason: "a recipient was given but metadata.recipient is None",
                });
            }
            (None, Some(_)) => {
                return Err(Error::InvalidMetadata {
                    reason: "metadata.recipient is set but no recipient was given",
                });
            }
        }
        let blinding_len = metadata.scheme.blinding_len();
        let tag_len = if recipient.is_some() { TAG_LEN } else { 0 };
        // Room for the tag too, so sealing in place never reallocates.
        let mut plaintext = Zeroizing::new(Vec::with_capacity(
            share.len().saturating_add(blinding_len + tag_len),
        ));
        if metadata.scheme.is_hash_committed() {
            let mut blinding = Zeroizing::new([0u8; BLINDING_LEN]);
            rng.fill_bytes(&mut *blinding);
            plaintext.extend_from_slice(&*blinding);
            metadata.commitment = share_commitment(&metadata, &blinding, share);
        }
        plaintext.extend_from_slice(share);
        let metadata_bytes = metadata.to_canonical_bytes()?;
        let payload = match recipient {
            None => Payload::Clear(plaintext),
            Some(recipient) => Payload::seal(
                plaintext,
                &recipient.encryption_key_bytes(),
                &metadata_bytes,
                rng,
            )?,
        };
        let signer = dealer.recipient().signing_key_bytes();
        let signature = dealer.sign(&signed_message_of(&metadata_bytes, &signer, &payload));
        Ok(Envelope {
            metadata,
            metadata_bytes,
            signer,
            payload,
            signature,
        })
    }

    /// The signed metadata.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// The dealer's Ed25519 verifying key, as named in the envelope.
    pub fn signer(&self) -> [u8; 32] {
        self.signer
    }

    /// Whether the share is HPKE-sealed (to `metadata.recipient`).
    pub fn is_sealed(&self) -> bool {
        self.payload.is_sealed()
    }

    /// The number of payload bytes: the plaintext's length when clear, the
    /// ciphertext's (plaintext + 16-byte tag) when sealed. The plaintext is
    /// the share, preceded by a 32-byte blinding for hash-committed schemes.
    pub fn payload_len(&self) -> usize {
        self.payload.data().len()
    }

    /// The length of the share inside, clear or sealed (without the
    /// blinding).
    pub fn share_len(&self) -> usize {
        self.payload
            .plaintext_len()
            .saturating_sub(self.metadata.scheme.blinding_len())
    }

    /// Whether the shard has expired at `now` (Unix seconds): `expires_at`
    /// is set and `now >= expires_at`.
    pub fn is_expired(&self, now: u64) -> bool {
        self.metadata.expires_at.is_some_and(|e| now >= e)
    }

    /// [`Envelope::is_expired`] as a `Result`.
    ///
    /// # Errors
    ///
    /// [`Error::Expired`] if the shard has expired at `now`.
    pub fn check_expiry(&self, now: u64) -> Result<(), Error> {
        match self.metadata.expires_at {
            Some(expires_at) if now >= expires_at => Err(Error::Expired { expires_at, now }),
            _ => Ok(()),
        }
    }

    /// The exact message the signature covers (see the module docs).
    pub fn signed_message(&self) -> Vec<u8> {
        signed_message_of(&self.metadata_bytes, &self.signer, &self.payload)
    }

    /// Checks the Ed25519 signature with `verify_strict` (canonical `S`, no
    /// small-order `R` or key).
    ///
    /// # Errors
    ///
    /// [`Error::BadSignature`] if it does not verify.
    pub fn verify_signature(&self) -> Result<(), Error> {
        let key = VerifyingKey::from_bytes(&self.signer).map_err(|_| Error::BadSignature)?;
        let signature = Signature::from_bytes(&self.signature);
        key.verify_strict(&self.signed_message(), &signature)
            .map_err(|_| Error::BadSignature)
    }

    /// Verifies the signature, decrypts (when sealed) and checks the
    /// commitment (for hash-committed schemes), then returns the share,
    /// without the blinding.
    ///
    /// `identity` is needed only for a sealed shard and must be the one the
    /// shard is sealed to; it is ignored for a clear shard. Expiry is *not*
    /// checked: call [`Envelope::check_expiry`] with the current time.
    ///
    /// # Errors
    ///
    /// [`Error::BadSignature`], [`Error::IdentityRequired`],
    /// [`Error::NotRecipient`], [`Error::Decryption`],
    /// [`Error::CommitmentMismatch`].
    ///
    /// # Security
    ///
    /// Fails closed: no share bytes are returned unless every check passes.
    /// The share is returned in a buffer that is wiped on drop.
    pub fn open(&self, identity: Option<&Identity>) -> Result<Zeroizing<Vec<u8>>, Error> {
        self.verify_signature()?;
        let blinding_len = self.metadata.scheme.blinding_len();
        match &self.payload {
            Payload::Clear(plaintext) => {
                check_commitment(&self.metadata, plaintext)?;
                let share = plaintext.get(blinding_len..).ok_or(Error::EmptyShare)?;
                Ok(Zeroizing::new(share.to_vec()))
            }
            Payload::Sealed {
                encapsulated_key,
                ciphertext,
            } => {
                let identity = identity.ok_or(Error::IdentityRequired)?;
                let expected = self
                    .metadata
                    .recipient
                    .as_ref()
                    .map(|r| r.fingerprint)
                    .ok_or(Error::NotRecipient)?;
                if identity.recipient().fingerprint() != expected {
                    return Err(Error::NotRecipient);
                }
                let mut plaintext = Payload::open_sealed(
                    encapsulated_key,
                    ciphertext,
                    identity,
                    &self.metadata_bytes,
                )?;
                check_commitment(&self.metadata, &plaintext)?;
                // Drop the blinding in place rather than copying the share;
                // the stale bytes left in spare capacity are wiped with the
                // buffer.
                let cut = blinding_len.min(plaintext.len());
                plaintext.drain(..cut);
                Ok(plaintext)
            }
        }
    }

    /// The canonical binary form (starts with `SYMB` and the version byte).
    ///
    /// # Security
    ///
    /// For a clear shard the result contains the share in the clear.
    pub fn encode(&self) -> Vec<u8> {
        let len = MAGIC.len()
            + 1
            + self.metadata_bytes.len()
            + self.signer.len()
            + self.payload.encoded_len()
            + SIGNATURE_LEN;
        let mut out = Vec::with_capacity(len);
        out.extend_from_slice(&MAGIC);
        out.push(FORMAT_VERSION);
        out.extend_from_slice(&self.metadata_bytes);
        out.extend_from_slice(&self.signer);
        self.payload.encode_into(&mut out);
        out.extend_from_slice(&self.signature);
        out
    }

    /// Writes the same bytes as [`Envelope::encode`] to `out` without
    /// building them in memory first (a shard of a large secret can be
    /// hundreds of megabytes).
    ///
    /// # Errors
    ///
    /// Whatever `out` returns.
    pub fn write_to<W: std::io::Write + ?Sized>(&self, out: &mut W) -> std::io::Result<()> {
        out.write_all(&MAGIC)?;
        out.write_all(&[FORMAT_VERSION])?;
        out.write_all(&self.metadata_bytes)?;
        out.write_all(&self.signer)?;
        out.write_all(&self.payload.header())?;
        out.write_all(self.payload.data())?;
        out.write_all(&self.signature)
    }

    /// Decodes the binary form, strictly: the result re-encodes to exactly
    /// `bytes`. The signature is not checked here (see
    /// [`Envelope::verify_signature`]).
    ///
    /// # Errors
    ///
    /// [`Error::BadMagic`], [`Error::UnsupportedVersion`],
    /// [`Error::Truncated`], [`Error::TrailingBytes`],
    /// [`Error::UnknownScheme`], [`Error::InvalidTag`], [`Error::InvalidUtf8`],
    /// [`Error::InvalidMetadata`] (including a payload kind that disagrees
    /// with `metadata.recipient`), [`Error::InvalidSignerKey`],
    /// [`Error::EmptyShare`] (also for a hash-committed payload holding no
    /// share bytes after the blinding).
    pub fn decode(bytes: &[u8]) -> Result<Envelope, Error> {
        let mut r = Reader::new(bytes);
        if r.array::<4>("magic")? != MAGIC {
            return Err(Error::BadMagic);
        }
        let version = r.u8("version")?;
        if version != FORMAT_VERSION {
            return Err(Error::UnsupportedVersion { found: version });
        }
        let metadata = Metadata::decode_from(&mut r)?;
        let signer = r.array::<32>("signer")?;
        if !ed25519_key_is_valid(&signer) {
            return Err(Error::InvalidSignerKey);
        }
        let payload = Payload::decode(&mut r)?;
        match (payload.is_sealed(), metadata.recipient.is_some()) {
            (true, false) => {
                return Err(Error::InvalidMetadata {
                    reason: "the payload is sealed but metadata.recipient is None",
                });
            }
            (false, true) => {
                return Err(Error::InvalidMetadata {
                    reason: "metadata.recipient is set but the payload is in the clear",
                });
            }
            _ => {}
        }
        if payload.plaintext_len() <= metadata.scheme.blinding_len() {
            return Err(Error::EmptyShare);
        }
        let signature = r.array::<SIGNATURE_LEN>("signature")?;
        r.finish()?;
        // Canonical metadata re-encodes to the bytes it was read from.
        let metadata_bytes = metadata.to_canonical_bytes()?;
        Ok(Envelope {
            metadata,
            metadata_bytes,
            signer,
            payload,
            signature,
        })
    }

    /// The armored text form: `-----BEGIN SYMBOLON SHARD-----`, base64 of
    /// [`Envelope::encode`] in 64-column lines, `-----END SYMBOLON
    /// SHARD-----`, each line ending in `\n`.
    ///
    /// # Security
    ///
    /// For a clear shard the text contains the share.
    pub fn to_armored(&self) -> String {
        let binary = Zeroizing::new(self.encode());
        let mut text = armor::encode(armor::SHARD_LABEL, &binary);
        core::mem::take(&mut *text)
    }

    /// Reads the armored text form.
    ///
    /// # Errors
    ///
    /// [`Error::BadArmor`], then any [`Envelope::decode`] error.
    pub fn from_armored(text: &str) -> Result<Envelope, Error> {
        let binary = armor::decode(text, armor::SHARD_LABEL)?;
        Self::decode(&binary)
    }

    /// Reads either form: armored text (after optional leading whitespace)
    /// or binary.
    ///
    /// # Errors
    ///
    /// [`Error::BadMagic`] if the input is neither; [`Error::BadArmor`] if
    /// armored text is not UTF-8; otherwise as [`Envelope::from_armored`] or
    /// [`Envelope::decode`].
    pub fn parse(bytes: &[u8]) -> Result<Envelope, Error> {
        if armor::looks_armored(bytes) {
            let text = core::str::from_utf8(bytes).map_err(|_| Error::BadArmor {
                reason: "the text is not UTF-8",
            })?;
            Self::from_armored(text)
        } else {
            Self::decode(bytes)
        }
    }
}

/// `SIGNATURE_DOMAIN || metadata || signer || kind || payload digest`.
fn signed_message_of(metadata_bytes: &[u8], signer: &[u8; 32], payload: &Payload) -> Vec<u8> {
    signed_message(metadata_bytes, signer, payload.kind(), &payload.digest())
}

/// `SIGNATURE_DOMAIN || metadata || signer || kind || digest`.
pub(crate) fn signed_message(
    metadata_bytes: &[u8],
    signer: &[u8; 32],
    kind: u8,
    digest: &[u8; 32],
) -> Vec<u8> {
    let mut message =
        Vec::with_capacity(SIGNATURE_DOMAIN.len() + metadata_bytes.len() + 32 + 1 + 32);
    message.extend_from_slice(SIGNATURE_DOMAIN);
    message.extend_from_slice(metadata_bytes);
    message.extend_from_slice(signer);
    message.push(kind);
    message.extend_from_slice(digest);
    message
}

/// For hash-committed schemes, `metadata.commitment == share_commitment(share)`
/// (compared in constant time).
/// For hash-committed schemes, checks in constant time that the payload
/// plaintext `blinding || share` matches `metadata.commitment`.
fn check_commitment(metadata: &Metadata, plaintext: &[u8]) -> Result<(), Error> {
    if !metadata.scheme.is_hash_committed() {
        return Ok(());
    }
    let (blinding, share) = plaintext
        .split_first_chunk::<BLINDING_LEN>()
        .ok_or(Error::EmptyShare)?;
    if share.is_empty() {
        return Err(Error::EmptyShare);
    }
    if bool::from(share_commitment(metadata, blinding, share).ct_eq(&metadata.commitment)) {
        Ok(())
    } else {
        Err(Error::CommitmentMismatch)
    }
}

/// Checks a shard plaintext (`blinding || share`, as
/// [`Envelope::open_plaintext`] returns it) against `metadata.commitment`,
/// in constant time. Lets a party that kept only the public metadata (a
/// coordinator) verify a share a custodian later releases to it.
///
/// # Errors
///
/// [`Error::EmptyShare`] if the plaintext is too short,
/// [`Error::CommitmentMismatch`] if it does not match. Always `Ok` for
/// schemes that are not hash-committed.
pub fn verify_plaintext(metadata: &Metadata, plaintext: &[u8]) -> Result<(), Error> {
    check_commitment(metadata, plaintext)
}

impl Envelope {
    /// Like [`Envelope::open`], but returns the whole verified plaintext,
    /// `blinding || share` for hash-committed schemes, so that it can be
    /// handed on (sealed) to a party that checks it with
    /// [`verify_plaintext`].
    ///
    /// # Errors
    ///
    /// As [`Envelope::open`].
    ///
    /// # Security
    ///
    /// The blinding is as secret as the share. Fails closed.
    pub fn open_plaintext(&self, identity: Option<&Identity>) -> Result<Zeroizing<Vec<u8>>, Error> {
        let share = self.open(identity)?;
        let blinding_len = self.metadata.scheme.blinding_len();
        if blinding_len == 0 {
            return Ok(share);
        }
        // `open` checked the commitment over exactly this blinding and share.
        let mut plaintext = Zeroizing::new(Vec::with_capacity(blinding_len + share.len()));
        match &self.payload {
            Payload::Clear(clear) => {
                plaintext.extend_from_slice(clear.get(..blinding_len).ok_or(Error::EmptyShare)?)
            }
            Payload::Sealed {
                encapsulated_key,
                ciphertext,
            } => {
                let identity = identity.ok_or(Error::IdentityRequired)?;
                let opened = Payload::open_sealed(
                    encapsulated_key,
                    ciphertext,
                    identity,
                    &self.metadata_bytes,
                )?;
                plaintext.extend_from_slice(opened.get(..blinding_len).ok_or(Error::EmptyShare)?);
            }
        }
        plaintext.extend_from_slice(&share);
        check_commitment(&self.metadata, &plaintext)?;
        Ok(plaintext)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::tests::sample;
    use crate::metadata::{RecipientInfo, Scheme};
    use proptest::prelude::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::{Rng as _, SeedableRng};

    const SHARE: &[u8] = b"\x01\x02share bytes\xff";

    fn rng(seed: u8) -> ChaCha20Rng {
        ChaCha20Rng::from_seed([seed; 32])
    }

    fn identity(seed: u8) -> Identity {
        Identity::generate(&mut rng(seed))
    }

    fn clear_metadata() -> Metadata {
        sample()
    }

    fn sealed_metadata(to: &Recipient) -> Metadata {
        Metadata {
            recipient: Some(RecipientInfo {
                id: "custodian-a".into(),
                fingerprint: to.fingerprint(),
            }),
            ..clear_metadata()
        }
    }

    fn clear() -> (Identity, Envelope) {
        let dealer = identity(1);
        let env = Envelope::seal(clear_metadata(), SHARE, None, &dealer, &mut rng(9)).unwrap();
        (dealer, env)
    }

    fn sealed() -> (Identity, Identity, Envelope) {
        let dealer = identity(1);
        let custodian = identity(2);
        let to = custodian.recipient();
        let env =
            Envelope::seal(sealed_metadata(&to), SHARE, Some(&to), &dealer, &mut rng(9)).unwrap();
        (dealer, custodian, env)
    }

    #[test]
    fn write_to_matches_encode() {
        let (_, env) = clear();
        let (_, _, sealed_env) = sealed();
        for e in [env, sealed_env] {
            let mut written = Vec::new();
            e.write_to(&mut written).unwrap();
            assert_eq!(written, e.encode());
        }
    }

    /// The blinding of a hash-committed clear envelope.
    fn clear_blinding(env: &Envelope) -> [u8; BLINDING_LEN] {
        env.payload.data()[..BLINDING_LEN].try_into().unwrap()
    }

    #[test]
    fn clear_round_trip() {
        let (dealer, env) = clear();
        assert!(!env.is_sealed());
        assert_eq!(env.payload_len(), BLINDING_LEN + SHARE.len());
        assert_eq!(env.share_len(), SHARE.len());
        assert_eq!(env.signer(), dealer.recipient().signing_key_bytes());
        // The payload is blinding || share, and seal set the commitment.
        assert_eq!(&env.payload.data()[BLINDING_LEN..], SHARE);
        let blinding = clear_blinding(&env);
        assert_ne!(blinding, [0; BLINDING_LEN]);
        assert_eq!(
            env.metadata().commitment,
            share_commitment(env.metadata(), &blinding, SHARE)
        );
        assert_eq!(
            env.metadata(),
            &Metadata {
                commitment: env.metadata().commitment,
                ..clear_metadata()
            }
        );
        let bytes = env.encode();
        assert!(bytes.starts_with(b"SYMB\x01"));
        let back = Envelope::decode(&bytes).unwrap();
        assert_eq!(back.encode(), bytes);
        assert_eq!(back.metadata(), env.metadata());
        assert_eq!(back.verify_signature(), Ok(()));
        assert_eq!(*back.open(None).unwrap(), SHARE);
        // An identity is ignored for a clear shard.
        assert_eq!(*back.open(Some(&identity(5))).unwrap(), SHARE);
    }

    #[test]
    fn sealed_round_trip() {
        let (dealer, custodian, env) = sealed();
        assert!(env.is_sealed());
        assert_eq!(env.payload_len(), BLINDING_LEN + SHARE.len() + 16);
        assert_eq!(env.share_len(), SHARE.len());
        let bytes = env.encode();
        // The share does not appear in the sealed encoding.
        assert!(!bytes.windows(SHARE.len()).any(|w| w == SHARE));
        let back = Envelope::decode(&bytes).unwrap();
        assert_eq!(back.encode(), bytes);
        assert_eq!(*back.open(Some(&custodian)).unwrap(), SHARE);
        assert_eq!(back.open(None).unwrap_err(), Error::IdentityRequired);
        assert_eq!(back.open(Some(&dealer)).unwrap_err(), Error::NotRecipient);
        assert_eq!(
            back.open(Some(&identity(3))).unwrap_err(),
            Error::NotRecipient
        );
    }

    #[test]
    fn sealing_is_randomised_but_signing_is_not() {
        let dealer = identity(1);
        let to = identity(2).recipient();
        let seal = |seed| {
            Envelope::seal(
                sealed_metadata(&to),
                SHARE,
                Some(&to),
                &dealer,
                &mut rng(seed),
            )
            .unwrap()
            .encode()
        };
        assert_eq!(seal(1), seal(1));
        assert_ne!(seal(1), seal(2));
    }

    #[test]
    fn seal_checks_its_inputs() {
        let dealer = identity(1);
        let to = identity(2).recipient();
        let other = identity(3).recipient();
        let mut r = rng(0);
        assert_eq!(
            Envelope::seal(sealed_metadata(&to), SHARE, Some(&other), &dealer, &mut r).unwrap_err(),
            Error::RecipientMismatch
        );
        assert!(matches!(
            Envelope::seal(sealed_metadata(&to), SHARE, None, &dealer, &mut r),
            Err(Error::InvalidMetadata { .. })
        ));
        assert!(matches!(
            Envelope::seal(clear_metadata(), SHARE, Some(&to), &dealer, &mut r),
            Err(Error::InvalidMetadata { .. })
        ));
        assert_eq!(
            Envelope::seal(clear_metadata(), b"", None, &dealer, &mut r).unwrap_err(),
            Error::EmptyShare
        );
        let bad = Metadata {
            index: 0,
            ..clear_metadata()
        };
        assert!(matches!(
            Envelope::seal(bad, SHARE, None, &dealer, &mut r),
            Err(Error::InvalidMetadata { .. })
        ));
    }

    #[test]
    fn seal_sets_hash_commitments_and_keeps_feldman_ones() {
        let dealer = identity(1);
        // A caller-supplied commitment is overwritten for hash-committed
        // schemes.
        for scheme in [Scheme::ShamirGf256, Scheme::Ssms] {
            let metadata = Metadata {
                scheme,
                commitment: [9; 32],
                ..clear_metadata()
            };
            let env = Envelope::seal(metadata, SHARE, None, &dealer, &mut rng(0)).unwrap();
            let blinding = clear_blinding(&env);
            assert_eq!(
                env.metadata().commitment,
                share_commitment(env.metadata(), &blinding, SHARE)
            );
            assert_eq!(*env.open(None).unwrap(), SHARE);
        }
        // Feldman commitments are the caller's, not this crate's to check,
        // and the payload is the bare share: nothing is drawn from the RNG.
        let feldman = Metadata {
            scheme: Scheme::FeldmanRistretto255,
            commitment: [9; 32],
            ..clear_metadata()
        };
        let mut r = rng(0);
        let env = Envelope::seal(feldman, SHARE, None, &dealer, &mut r).unwrap();
        assert_eq!(env.metadata().commitment, [9; 32]);
        assert_eq!(env.payload_len(), SHARE.len());
        assert_eq!(env.share_len(), SHARE.len());
        assert_eq!(env.payload.data(), SHARE);
        assert_eq!(*env.open(None).unwrap(), SHARE);
        assert_eq!(r.next_u32(), rng(0).next_u32());
        let to = identity(2).recipient();
        let sealed_feldman = Metadata {
            scheme: Scheme::FeldmanRistretto255,
            ..sealed_metadata(&to)
        };
        let env = Envelope::seal(sealed_feldman, SHARE, Some(&to), &dealer, &mut r).unwrap();
        assert_eq!(env.payload_len(), SHARE.len() + 16);
        assert_eq!(*env.open(Some(&identity(2))).unwrap(), SHARE);
    }

    /// The public commitment of a threshold-1 shard (whose share *is* the
    /// secret) is hiding: sealing the same secret twice gives unrelated
    /// commitments, neither computable from the secret alone.
    #[test]
    fn threshold_one_commitments_are_hiding() {
        let dealer = identity(1);
        let custodian = identity(2);
        let to = custodian.recipient();
        let secret = b"hunter2";
        let metadata = Metadata {
            index: 1,
            threshold: 1,
            shares: 1,
            ..sealed_metadata(&to)
        };
        let seal = |seed| {
            Envelope::seal(metadata.clone(), secret, Some(&to), &dealer, &mut rng(seed)).unwrap()
        };
        let (a, b) = (seal(1), seal(2));
        assert_ne!(a.metadata().commitment, b.metadata().commitment);
        assert_eq!(*a.open(Some(&custodian)).unwrap(), secret);
        assert_eq!(*b.open(Some(&custodian)).unwrap(), secret);
        // Guessing the secret is not enough to recompute the commitment.
        for guess in [&b"hunter2"[..], b""] {
            for commitment in [
                blake3::derive_key("symbolon share commitment v1", guess),
                share_commitment(&metadata, &[0; BLINDING_LEN], guess),
            ] {
                assert_ne!(commitment, a.metadata().commitment);
            }
        }
        // The secret does not appear in the encoding.
        let bytes = a.encode();
        assert!(!bytes.windows(secret.len()).any(|w| w == secret));
    }

    /// A correctly signed envelope with any plaintext and metadata, which
    /// `seal` would not make.
    fn forge(
        metadata: Metadata,
        plaintext: &[u8],
        recipient: Option<&Recipient>,
        dealer: &Identity,
    ) -> Envelope {
        let metadata_bytes = metadata.to_canonical_bytes().unwrap();
        let plaintext = Zeroizing::new(plaintext.to_vec());
        let payload = match recipient {
            None => Payload::Clear(plaintext),
            Some(to) => Payload::seal(
                plaintext,
                &to.encryption_key_bytes(),
                &metadata_bytes,
                &mut rng(7),
            )
            .unwrap(),
        };
        let signer = dealer.recipient().signing_key_bytes();
        let signature = dealer.sign(&signed_message_of(&metadata_bytes, &signer, &payload));
        let env = Envelope {
            metadata,
            metadata_bytes,
            signer,
            payload,
            signature,
        };
        assert_eq!(env.verify_signature(), Ok(()));
        env
    }

    #[test]
    fn commitment_is_checked_on_open() {
        let dealer = identity(1);
        let blinding = [0x42; BLINDING_LEN];
        let plaintext = [&blinding[..], SHARE].concat();
        let right = share_commitment(&clear_metadata(), &blinding, SHARE);
        let with = |commitment| Metadata {
            commitment,
            ..clear_metadata()
        };
        let env = forge(with(right), &plaintext, None, &dealer);
        assert_eq!(*env.open(None).unwrap(), SHARE);
        let env = forge(with([0; 32]), &plaintext, None, &dealer);
        assert_eq!(env.open(None).unwrap_err(), Error::CommitmentMismatch);
        // A pre-blinding (v1) shard fails closed.
        let long_share = [SHARE, SHARE, SHARE].concat();
        let v1 = blake3::derive_key("symbolon share commitment v1", &long_share);
        let env = forge(with(v1), &long_share, None, &dealer);
        assert_eq!(env.open(None).unwrap_err(), Error::CommitmentMismatch);
    }

    #[test]
    fn open_refuses_an_altered_blinding() {
        let dealer = identity(1);
        let custodian = identity(2);
        let to = custodian.recipient();
        let blinding = [0x42; BLINDING_LEN];
        for recipient in [None, Some(&to)] {
            let metadata = match recipient {
                None => clear_metadata(),
                Some(to) => sealed_metadata(to),
            };
            let metadata = Metadata {
                commitment: share_commitment(&metadata, &blinding, SHARE),
                ..metadata
            };
            let good = [&blinding[..], SHARE].concat();
            let env = forge(metadata.clone(), &good, recipient, &dealer);
            assert_eq!(*env.open(Some(&custodian)).unwrap(), SHARE);
            for i in [0, 17, BLINDING_LEN - 1] {
                let mut altered = good.clone();
                altered[i] ^= 0x80;
                let env = forge(metadata.clone(), &altered, recipient, &dealer);
                assert_eq!(
                    env.open(Some(&custodian)).unwrap_err(),
                    Error::CommitmentMismatch,
                    "byte {i}, sealed: {}",
                    recipient.is_some()
                );
            }
        }
    }

    /// A payload and its commitment moved to another slot (index, split,
    /// epoch or scheme), even re-signed by the dealer, do not open.
    #[test]
    fn commitments_do_not_move_between_slots() {
        let dealer = identity(1);
        let (_, env) = clear();
        let plaintext = env.payload.data().to_vec();
        let commitment = env.metadata().commitment;
        assert_eq!(
            *forge(env.metadata().clone(), &plaintext, None, &dealer)
                .open(None)
                .unwrap(),
            SHARE
        );
        for moved in [
            Metadata {
                index: 1,
                ..env.metadata().clone()
            },
            Metadata {
                split_id: [8; 16],
                ..env.metadata().clone()
            },
            Metadata {
                epoch: 4,
                ..env.metadata().clone()
            },
            Metadata {
                scheme: Scheme::Ssms,
                ..env.metadata().clone()
            },
        ] {
            assert_eq!(moved.commitment, commitment);
            let forged = forge(moved, &plaintext, None, &dealer);
            assert_eq!(forged.open(None).unwrap_err(), Error::CommitmentMismatch);
        }
    }

    #[test]
    fn decode_refuses_a_payload_with_only_a_blinding() {
        let dealer = identity(1);
        let to = identity(2).recipient();
        let blinding = [0x42; BLINDING_LEN];
        for recipient in [None, Some(&to)] {
            let metadata = match recipient {
                None => clear_metadata(),
                Some(to) => sealed_metadata(to),
            };
            let env = forge(metadata.clone(), &blinding, recipient, &dealer);
            assert_eq!(env.share_len(), 0);
            assert_eq!(
                Envelope::decode(&env.encode()).unwrap_err(),
                Error::EmptyShare
            );
            assert_eq!(env.open(Some(&identity(2))).unwrap_err(), Error::EmptyShare);
            // One share byte is enough.
            let one = [&blinding[..], &[7]].concat();
            let env = forge(metadata, &one, recipient, &dealer);
            let back = Envelope::decode(&env.encode()).unwrap();
            assert_eq!(back.share_len(), 1);
        }
        // Feldman payloads have no blinding: 32 bytes are a share.
        let feldman = Metadata {
            scheme: Scheme::FeldmanRistretto255,
            ..clear_metadata()
        };
        let env = forge(feldman, &blinding, None, &dealer);
        let back = Envelope::decode(&env.encode()).unwrap();
        assert_eq!(*back.open(None).unwrap(), blinding);
    }

    #[test]
    fn expiry() {
        let (_, env) = clear();
        let expires_at = env.metadata().expires_at.unwrap();
        assert!(!env.is_expired(expires_at - 1));
        assert!(env.is_expired(expires_at));
        assert!(env.is_expired(u64::MAX));
        assert_eq!(env.check_expiry(expires_at - 1), Ok(()));
        assert_eq!(
            env.check_expiry(expires_at),
            Err(Error::Expired {
                expires_at,
                now: expires_at
            })
        );
        let dealer = identity(1);
        let forever = Metadata {
            expires_at: None,
            ..clear_metadata()
        };
        let env = Envelope::seal(forever, SHARE, None, &dealer, &mut rng(0)).unwrap();
        assert!(!env.is_expired(u64::MAX));
    }

    #[test]
    fn armor_round_trip_and_parse_detects_the_form() {
        let (_, custodian, env) = sealed();
        let text = env.to_armored();
        assert!(text.starts_with("-----BEGIN SYMBOLON SHARD-----\n"));
        assert!(text.ends_with("-----END SYMBOLON SHARD-----\n"));
        let from_text = Envelope::from_armored(&text).unwrap();
        assert_eq!(from_text.encode(), env.encode());
        assert_eq!(
            Envelope::parse(text.as_bytes()).unwrap().encode(),
            env.encode()
        );
        let indented = format!("\n\n  {text}");
        assert_eq!(
            Envelope::parse(indented.as_bytes()).unwrap().encode(),
            env.encode()
        );
        assert_eq!(
            Envelope::parse(&env.encode()).unwrap().encode(),
            env.encode()
        );
        assert_eq!(*from_text.open(Some(&custodian)).unwrap(), SHARE);
        assert_eq!(Envelope::parse(b"hello").unwrap_err(), Error::BadMagic);
        assert_eq!(
            Envelope::parse(b"-----BEGIN \xff").unwrap_err(),
            Error::BadArmor {
                reason: "the text is not UTF-8"
            }
        );
        let identity_text = custodian.to_armored();
        assert!(matches!(
            Envelope::parse(identity_text.as_bytes()),
            Err(Error::BadArmor { .. })
        ));
    }

    #[test]
    fn debug_never_shows_the_payload() {
        let (_, env) = clear();
        let debug = format!("{env:?}");
        assert!(debug.contains("db-master"));
        assert!(!debug.contains("share bytes"));
        let hex: String = SHARE.iter().map(|b| format!("{b:02x}")).collect();
        assert!(!debug.contains(&hex));
        assert!(!debug.contains(&format!("{:?}", SHARE)));
    }

    #[test]
    fn decode_refuses_mismatched_payload_kind() {
        // A clear payload under metadata that names a recipient.
        let (_, env) = clear();
        let mut metadata = clear_metadata();
        metadata.recipient = Some(RecipientInfo {
            id: "x".into(),
            fingerprint: [1; 32],
        });
        let mut bytes = b"SYMB\x01".to_vec();
        bytes.extend_from_slice(&metadata.to_canonical_bytes().unwrap());
        bytes.extend_from_slice(&env.signer());
        env.payload.encode_into(&mut bytes);
        bytes.extend_from_slice(&[0; 64]);
        assert_eq!(
            Envelope::decode(&bytes).unwrap_err(),
            Error::InvalidMetadata {
                reason: "metadata.recipient is set but the payload is in the clear"
            }
        );
    }

    #[test]
    fn every_prefix_is_refused() {
        for bytes in [clear().1.encode(), sealed().2.encode()] {
            for cut in 0..bytes.len() {
                assert!(
                    matches!(
                        Envelope::decode(&bytes[..cut]),
                        Err(Error::Truncated { .. })
                    ),
                    "cut at {cut}"
                );
            }
        }
    }

    /// Decode, verify and open; the first error.
    fn accept(bytes: &[u8], identity: &Identity) -> Result<Zeroizing<Vec<u8>>, Error> {
        Envelope::decode(bytes)?.open(Some(identity))
    }

    #[test]
    fn every_single_bit_flip_is_refused() {
        let (_, custodian, sealed) = sealed();
        for bytes in [clear().1.encode(), sealed.encode()] {
            for i in 0..bytes.len() {
                for bit in 0..8 {
                    let mut tampered = bytes.clone();
                    tampered[i] ^= 1 << bit;
                    assert!(accept(&tampered, &custodian).is_err(), "byte {i} bit {bit}");
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn any_single_byte_change_is_refused(pos in any::<prop::sample::Index>(), mask in 1u8..=255) {
            let (_, custodian, sealed) = sealed();
            for bytes in [clear().1.encode(), sealed.encode()] {
                let i = pos.index(bytes.len());
                let mut tampered = bytes.clone();
                tampered[i] ^= mask;
                prop_assert!(accept(&tampered, &custodian).is_err());
            }
        }

        #[test]
        fn shares_of_any_length_round_trip(share in prop::collection::vec(any::<u8>(), 1..2000), seed in any::<u8>()) {
            let dealer = identity(1);
            let custodian = identity(2);
            let to = custodian.recipient();
            let env = Envelope::seal(sealed_metadata(&to), &share, Some(&to), &dealer, &mut rng(seed)).unwrap();
            let back = Envelope::parse(env.to_armored().as_bytes()).unwrap();
            prop_assert_eq!(back.encode(), env.encode());
            prop_assert_eq!(back.share_len(), share.len());
            prop_assert_eq!(&*back.open(Some(&custodian)).unwrap(), &share);
        }
    }
}
