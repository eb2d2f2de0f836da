//! Writing and checking clear envelopes piece by piece, for shares too large
//! to hold in memory. The bytes are exactly those of [`Envelope::encode`]
//! (same format, version 1); only the order of work differs.
//!
//! A clear binary envelope is
//! `"SYMB" | 0x01 | metadata | signer | 0x00 | length | blinding | share | signature`.
//! The commitment inside the metadata and the signature at the end both
//! depend on the whole share, so a [`ShardWriter`] hands out the bytes up to
//! the share with a placeholder commitment ([`ShardWriter::head`]), hashes
//! the share as it is fed, and at the end returns the final metadata bytes
//! (same length, to be written over the placeholder at
//! [`METADATA_OFFSET`]) and the signature to append ([`ShardTail`]).
//!
//! [`EnvelopeHead::parse`] reads everything before the payload bytes from
//! the start of an encoding and its total length, with the same checks and
//! errors as [`Envelope::decode`]; a [`PayloadCheck`] then hashes the
//! payload as it is read, to verify the signature and the commitment.
//!
//! [`Envelope::encode`]: crate::Envelope::encode
//! [`Envelope::decode`]: crate::Envelope::decode

use ed25519_dalek::{Signature, VerifyingKey};
use rand_core::CryptoRng;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::Error;
use crate::envelope::{FORMAT_VERSION, MAGIC, SIGNATURE_LEN, signed_message};
use crate::identity::{Identity, ed25519_key_is_valid};
use crate::metadata::{BLINDING_LEN, Metadata, commitment_hasher};
use crate::payload::{self, ENCAPSULATED_KEY_LEN, TAG_LEN};
use crate::wire::Reader;

/// Offset of the canonical metadata in every binary envelope (after the
/// magic and the version byte).
pub const METADATA_OFFSET: u64 = 5;

/// A clear envelope being written piece by piece; see the `stream` module's docs in the source.
///
/// # Security
///
/// Holds the blinding (secret, wiped on drop). The share bytes fed to it are
/// hashed, never kept.
pub struct ShardWriter {
    metadata: Metadata,
    signer: [u8; 32],
    blinding: Zeroizing<[u8; BLINDING_LEN]>,
    share_len: u64,
    fed: u64,
    commitment: Option<blake3::Hasher>,
    digest: blake3::Hasher,
}

impl core::fmt::Debug for ShardWriter {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ShardWriter")
            .field("metadata", &self.metadata)
            .field("share_len", &self.share_len)
            .field("fed", &self.fed)
            .finish_non_exhaustive()
    }
}

/// What a [`ShardWriter`] produces once the whole share is fed.
#[derive(Debug)]
pub struct ShardTail {
    /// The final metadata (with the commitment set).
    pub metadata: Metadata,
    /// Its canonical bytes, to be written at [`METADATA_OFFSET`] over the
    /// placeholder (they have the same length).
    pub metadata_bytes: Vec<u8>,
    /// The signature, to be appended after the share.
    pub signature: [u8; 64],
}

impl ShardWriter {
    /// Starts a clear envelope for a share of `share_len` bytes, signed by
    /// `dealer`. For hash-committed schemes the blinding is drawn from `rng`
    /// and the commitment will be set as [`crate::Envelope::seal`] sets it;
    /// for others the caller's commitment is kept.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidMetadata`] (also when `metadata.recipient` is set:
    /// sealed shards are made with [`crate::Envelope::seal`]),
    /// [`Error::EmptyShare`].
    pub fn new<R: CryptoRng + ?Sized>(
        metadata: Metadata,
        share_len: u64,
        dealer: &Identity,
        rng: &mut R,
    ) -> Result<Self, Error> {
        metadata.validate()?;
        if share_len == 0 {
            return Err(Error::EmptyShare);
        }
        if metadata.recipient.is_some() {
            return Err(Error::InvalidMetadata {
                reason: "metadata.recipient is set but no recipient was given",
            });
        }
        let mut blinding = Zeroizing::new([0u8; BLINDING_LEN]);
        let blinding_len = metadata.scheme.blinding_len();
        let commitment = if metadata.scheme.is_hash_committed() {
            rng.fill_bytes(&mut *blinding);
            Some(commitment_hasher(&metadata, &blinding))
        } else {
            None
        };
        let payload_len =
            share_len
                .checked_add(blinding_len as u64)
                .ok_or(Error::InvalidMetadata {
                    reason: "the share is too long",
                })?;
        let mut digest = payload::digest_hasher(false, None, payload_len);
        digest.update(blinding.get(..blinding_len).unwrap_or_default());
        Ok(Self {
            metadata,
            signer: dealer.recipient().signing_key_bytes(),
            blinding,
            share_len,
            fed: 0,
            commitment,
            digest,
        })
    }

    /// The bytes before the share: magic, version, metadata (with a
    /// placeholder commitment for hash-committed schemes), signer, payload
    /// header and blinding. Wiped on drop, as it holds the blinding.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidMetadata`] if the metadata cannot be encoded.
    pub fn head(&self) -> Result<Zeroizing<Vec<u8>>, Error> {
        let metadata_bytes = self.metadata.to_canonical_bytes()?;
        let blinding_len = self.metadata.scheme.blinding_len();
        let mut out = Zeroizing::new(Vec::with_capacity(
            MAGIC.len() + 1 + metadata_bytes.len() + 32 + 9 + blinding_len,
        ));
        out.extend_from_slice(&MAGIC);
        out.push(FORMAT_VERSION);
        out.extend_from_slice(&metadata_bytes);
        out.extend_from_slice(&self.signer);
        out.push(payload::KIND_CLEAR);
        out.extend_from_slice(&(self.share_len + blinding_len as u64).to_be_bytes());
        out.extend_from_slice(self.blinding.get(..blinding_len).unwrap_or_default());
        Ok(out)
    }

    /// Feeds the next bytes of the share.
    pub fn update(&mut self, share: &[u8]) {
        self.fed = self.fed.saturating_add(share.len() as u64);
        if let Some(commitment) = &mut self.commitment {
            commitment.update(share);
        }
        self.digest.update(share);
    }

    /// Sets the commitment and signs, once the whole share has been fed.
    ///
    /// # Errors
    ///
    /// [`Error::EmptyShare`] if the bytes fed are not exactly the share's
    /// length; [`Error::InvalidMetadata`] if the metadata cannot be encoded.
    pub fn finish(self, dealer: &Identity) -> Result<ShardTail, Error> {
        if self.fed != self.share_len {
            return Err(Error::EmptyShare);
        }
        let mut metadata = self.metadata;
        if let Some(commitment) = self.commitment {
            metadata.commitment = *commitment.finalize().as_bytes();
        }
        let metadata_bytes = metadata.to_canonical_bytes()?;
        let digest = *self.digest.finalize().as_bytes();
        let message = signed_message(&metadata_bytes, &self.signer, payload::KIND_CLEAR, &digest);
        Ok(ShardTail {
            signature: dealer.sign(&message),
            metadata,
            metadata_bytes,
        })
    }
}

/// Everything of a binary envelope before the payload bytes, read from the
/// start of the encoding; see the `stream` module's docs in the source.
#[derive(Clone, Debug)]
pub struct EnvelopeHead {
    metadata: Metadata,
    metadata_bytes: Vec<u8>,
    signer: [u8; 32],
    encapsulated_key: Option<[u8; ENCAPSULATED_KEY_LEN]>,
    payload_offset: u64,
    payload_len: u64,
}

impl EnvelopeHead {
    /// Parses the head of a binary envelope from `prefix`, its first bytes
    /// (the first 64 KiB always suffice; more are ignored), given the length
    /// `total_len` of the whole encoding.
    ///
    /// # Errors
    ///
    /// Exactly those [`crate::Envelope::decode`] returns for the whole
    /// encoding, except that the signature is not read.
    pub fn parse(prefix: &[u8], total_len: u64) -> Result<Self, Error> {
        let mut r = Reader::new(prefix);
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
        let kind = r.u8("payload kind")?;
        let encapsulated_key = match kind {
            payload::KIND_CLEAR => None,
            payload::KIND_HPKE => Some(r.array::<ENCAPSULATED_KEY_LEN>("encapsulated key")?),
            tag => {
                return Err(Error::InvalidTag {
                    field: "payload kind",
                    tag,
                });
            }
        };
        let payload_len = r.u64("payload length")?;
        let payload_offset = (prefix.len() - r.remaining()) as u64;
        let after = total_len.saturating_sub(payload_offset);
        if payload_len > after {
            return Err(Error::Truncated { field: "payload" });
        }
        let min_len = if encapsulated_key.is_some() {
            TAG_LEN as u64
        } else {
            0
        };
        if payload_len <= min_len {
            return Err(Error::EmptyShare);
        }
        match (encapsulated_key.is_some(), metadata.recipient.is_some()) {
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
        if payload_len - min_len <= metadata.scheme.blinding_len() as u64 {
            return Err(Error::EmptyShare);
        }
        let after = after - payload_len;
        if after < SIGNATURE_LEN as u64 {
            return Err(Error::Truncated { field: "signature" });
        }
        if after > SIGNATURE_LEN as u64 {
            return Err(Error::TrailingBytes {
                count: usize::try_from(after - SIGNATURE_LEN as u64).unwrap_or(usize::MAX),
            });
        }
        let metadata_bytes = metadata.to_canonical_bytes()?;
        Ok(Self {
            metadata,
            metadata_bytes,
            signer,
            encapsulated_key,
            payload_offset,
            payload_len,
        })
    }

    /// The signed metadata (not yet verified).
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// The dealer's Ed25519 key, as named in the envelope.
    pub fn signer(&self) -> [u8; 32] {
        self.signer
    }

    /// Whether the payload is HPKE-sealed.
    pub fn is_sealed(&self) -> bool {
        self.encapsulated_key.is_some()
    }

    /// Offset of the payload bytes in the encoding.
    pub fn payload_offset(&self) -> u64 {
        self.payload_offset
    }

    /// Length of the payload bytes; the 64-byte signature follows them.
    pub fn payload_len(&self) -> u64 {
        self.payload_len
    }

    /// Offset of the signature (the last 64 bytes).
    pub fn signature_offset(&self) -> u64 {
        self.payload_offset + self.payload_len
    }

    /// Length of the blinding at the start of a clear payload (0 for
    /// schemes that are not hash-committed).
    pub fn blinding_len(&self) -> usize {
        self.metadata.scheme.blinding_len()
    }

    /// Whether the shard has expired at `now` (see [`crate::Envelope::is_expired`]).
    pub fn is_expired(&self, now: u64) -> bool {
        self.metadata.expires_at.is_some_and(|e| now >= e)
    }

    /// Starts hashing the payload bytes, to be fed in order.
    pub fn payload_check(&self) -> PayloadCheck {
        PayloadCheck {
            head: self.clone(),
            digest: payload::digest_hasher(
                self.is_sealed(),
                self.encapsulated_key.as_ref(),
                self.payload_len,
            ),
            commitment: None,
            blinding: Zeroizing::new(Vec::with_capacity(BLINDING_LEN)),
            fed: 0,
        }
    }
}

/// Hashes the payload of an [`EnvelopeHead`] as it is read; see the
/// `stream` module's docs in the source.
pub struct PayloadCheck {
    head: EnvelopeHead,
    digest: blake3::Hasher,
    commitment: Option<blake3::Hasher>,
    blinding: Zeroizing<Vec<u8>>,
    fed: u64,
}

impl core::fmt::Debug for PayloadCheck {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PayloadCheck")
            .field("fed", &self.fed)
            .finish_non_exhaustive()
    }
}

impl PayloadCheck {
    /// Feeds the next payload bytes.
    pub fn update(&mut self, mut bytes: &[u8]) {
        self.fed = self.fed.saturating_add(bytes.len() as u64);
        self.digest.update(bytes);
        let scheme = self.head.metadata.scheme;
        if self.head.is_sealed() || !scheme.is_hash_committed() {
            return;
        }
        if self.commitment.is_none() {
            let take = (BLINDING_LEN - self.blinding.len()).min(bytes.len());
            let (head, tail) = bytes.split_at(take);
            self.blinding.extend_from_slice(head);
            bytes = tail;
            if let Ok(blinding) = <&[u8; BLINDING_LEN]>::try_from(self.blinding.as_slice()) {
                self.commitment = Some(commitment_hasher(&self.head.metadata, blinding));
            }
        }
        if let Some(commitment) = &mut self.commitment {
            commitment.update(bytes);
        }
    }

    /// Ends hashing; the result checks the signature and the commitment.
    pub fn finish(self) -> CheckedPayload {
        let complete = self.fed == self.head.payload_len;
        let digest = *self.digest.finalize().as_bytes();
        let commitment_ok =
            if self.head.is_sealed() || !self.head.metadata.scheme.is_hash_committed() {
                true
            } else {
                self.commitment.is_some_and(|c| {
                    bool::from(
                        c.finalize()
                            .as_bytes()
                            .ct_eq(&self.head.metadata.commitment),
                    )
                })
            };
        CheckedPayload {
            message: signed_message(
                &self.head.metadata_bytes,
                &self.head.signer,
                if self.head.is_sealed() {
                    payload::KIND_HPKE
                } else {
                    payload::KIND_CLEAR
                },
                &digest,
            ),
            signer: self.head.signer,
            complete,
            commitment_ok: complete && commitment_ok,
        }
    }
}

/// The hashed payload of an envelope, ready for the signature and
/// commitment checks.
#[derive(Debug)]
pub struct CheckedPayload {
    message: Vec<u8>,
    signer: [u8; 32],
    complete: bool,
    commitment_ok: bool,
}

impl CheckedPayload {
    /// Checks `signature` (the envelope's last 64 bytes) as
    /// [`crate::Envelope::verify_signature`] does.
    ///
    /// # Errors
    ///
    /// [`Error::BadSignature`] if it does not verify, or if the payload fed
    /// was not exactly the declared length.
    pub fn verify_signature(&self, signature: &[u8; 64]) -> Result<(), Error> {
        if !self.complete {
            return Err(Error::BadSignature);
        }
        let key = VerifyingKey::from_bytes(&self.signer).map_err(|_| Error::BadSignature)?;
        key.verify_strict(&self.message, &Signature::from_bytes(signature))
            .map_err(|_| Error::BadSignature)
    }

    /// For clear hash-committed payloads, whether `blinding || share`
    /// matches the metadata's commitment (as [`crate::Envelope::open`] checks).
    ///
    /// # Errors
    ///
    /// [`Error::CommitmentMismatch`].
    pub fn check_commitment(&self) -> Result<(), Error> {
        if self.commitment_ok {
            Ok(())
        } else {
            Err(Error::CommitmentMismatch)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Envelope;
    use crate::metadata::{Scheme, tests::sample};
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    fn rng(seed: u8) -> ChaCha20Rng {
        ChaCha20Rng::from_seed([seed; 32])
    }

    fn written(metadata: Metadata, share: &[u8], dealer: &Identity, seed: u8) -> Vec<u8> {
        let mut writer =
            ShardWriter::new(metadata, share.len() as u64, dealer, &mut rng(seed)).unwrap();
        let mut out = writer.head().unwrap().to_vec();
        for piece in share.chunks(7) {
            writer.update(piece);
            out.extend_from_slice(piece);
        }
        let tail = writer.finish(dealer).unwrap();
        let at = METADATA_OFFSET as usize;
        out[at..at + tail.metadata_bytes.len()].copy_from_slice(&tail.metadata_bytes);
        out.extend_from_slice(&tail.signature);
        out
    }

    #[test]
    fn writer_matches_seal_and_head_matches_decode() {
        let dealer = Identity::generate(&mut rng(1));
        let share = b"a share of some length, fed in pieces".repeat(5);
        for scheme in Scheme::ALL {
            let metadata = Metadata { scheme, ..sample() };
            let bytes = written(metadata.clone(), &share, &dealer, 9);
            let sealed = Envelope::seal(metadata, &share, None, &dealer, &mut rng(9)).unwrap();
            assert_eq!(bytes, sealed.encode(), "{scheme:?}");

            let head = EnvelopeHead::parse(&bytes, bytes.len() as u64).unwrap();
            assert_eq!(head.metadata(), sealed.metadata());
            assert_eq!(head.signature_offset() as usize, bytes.len() - 64);
            let payload = &bytes[head.payload_offset() as usize..head.signature_offset() as usize];
            let signature: [u8; 64] = bytes[bytes.len() - 64..].try_into().unwrap();
            let mut check = head.payload_check();
            for piece in payload.chunks(5) {
                check.update(piece);
            }
            let checked = check.finish();
            assert_eq!(checked.verify_signature(&signature), Ok(()));
            assert_eq!(checked.check_commitment(), Ok(()));

            // A flipped share byte breaks the signature and the commitment.
            let mut check = head.payload_check();
            let mut bad = payload.to_vec();
            *bad.last_mut().unwrap() ^= 1;
            check.update(&bad);
            let checked = check.finish();
            assert_eq!(
                checked.verify_signature(&signature),
                Err(Error::BadSignature)
            );
            if scheme.is_hash_committed() {
                assert_eq!(checked.check_commitment(), Err(Error::CommitmentMismatch));
            }
            // A short payload never verifies.
            let mut check = head.payload_check();
            check.update(&payload[..payload.len() - 1]);
            assert_eq!(
                check.finish().verify_signature(&signature),
                Err(Error::BadSignature)
            );
        }
    }

    #[test]
    fn head_errors_match_decode() {
        let dealer = Identity::generate(&mut rng(1));
        let bytes = written(sample(), b"share", &dealer, 3);
        let mut cases: Vec<Vec<u8>> = (0..bytes.len()).map(|n| bytes[..n].to_vec()).collect();
        cases.push([&bytes[..], b"x"].concat());
        for i in 0..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[i] ^= 0x80;
            cases.push(flipped);
        }
        for case in cases {
            let decoded = Envelope::decode(&case).map(|_| ()).err();
            let head = EnvelopeHead::parse(&case, case.len() as u64)
                .map(|_| ())
                .err();
            assert_eq!(head, decoded, "{case:?}");
        }
    }

    #[test]
    fn writer_refuses_sealed_metadata_and_wrong_lengths() {
        let dealer = Identity::generate(&mut rng(1));
        let to = Identity::generate(&mut rng(2)).recipient();
        let sealed = Metadata {
            recipient: Some(crate::RecipientInfo {
                id: "a".into(),
                fingerprint: to.fingerprint(),
            }),
            ..sample()
        };
        assert!(matches!(
            ShardWriter::new(sealed, 5, &dealer, &mut rng(3)),
            Err(Error::InvalidMetadata { .. })
        ));
        assert_eq!(
            ShardWriter::new(sample(), 0, &dealer, &mut rng(3))
                .err()
                .map(|e| e.to_string()),
            Some(Error::EmptyShare.to_string())
        );
        let mut writer = ShardWriter::new(sample(), 5, &dealer, &mut rng(3)).unwrap();
        writer.update(b"abcd");
        assert_eq!(
            writer.finish(&dealer).err().map(|e| e.to_string()),
            Some(Error::EmptyShare.to_string())
        );
    }
}
