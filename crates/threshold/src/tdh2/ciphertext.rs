//! TDH2 encryption, ciphertexts and their validity proof.

use chacha20poly1305::aead::inout::InOutBuf;
use chacha20poly1305::{AeadInOut as _, ChaCha20Poly1305, Key, KeyInit as _, Nonce, Tag};
use curve25519_dalek::RistrettoPoint;
use hkdf::Hkdf;
use rand_core::CryptoRng;
use sha2::Sha256;
use zeroize::{Zeroize, Zeroizing};

use super::keys::{EncryptionKey, GroupPublic};
use super::proof::{Dleq, G_BAR, hedged_nonce};
use crate::Error;
use crate::encoding::{Point, Reader};

const MAGIC: &[u8; 4] = b"SYTC";
const VERSION: u8 = 1;
/// The format header, also the AEAD's associated data.
const HEADER: [u8; 5] = [b'S', b'Y', b'T', b'C', VERSION];
const TAG_LEN: usize = 16;
/// Length of an encoded ciphertext with an empty plaintext.
pub const CIPHERTEXT_OVERHEAD: usize = HEADER.len() + 4 * 32 + TAG_LEN;

/// Domain of the ciphertext's validity proof.
const PROOF_DOMAIN: &[u8] = b"symbolon/threshold/tdh2/v1/ciphertext-proof";
/// Domain of the hedged encryption randomness.
const ENCRYPT_DOMAIN: &[u8] = b"symbolon/threshold/tdh2/v1/encrypt";
/// HKDF salt of the key derivation.
const KDF_SALT: &[u8] = b"symbolon/threshold/tdh2/v1/kdf";

/// A TDH2 ciphertext `(U, Ū, e, f, body)`: the ephemeral `U = r·G`, its twin
/// `Ū = r·Ḡ`, the proof `(e, f)` that both share the exponent `r` (bound to
/// the group key, the label and the body), and the AEAD body.
#[derive(Clone, PartialEq, Eq)]
pub struct Ciphertext {
    pub(super) u: Point,
    u_bar: Point,
    proof: Dleq,
    body: Vec<u8>,
}

/// Encrypts `plaintext` to the group under `label` (anyone can do this with
/// the public [`GroupPublic`]).
///
/// The label is public context bound into the ciphertext (e.g. the key id
/// and the purpose): decryption shares are only produced for the same
/// label.
///
/// # Errors
///
/// [`Error::PlaintextTooLong`] beyond ChaCha20-Poly1305's limit (256 GiB).
pub fn encrypt<R: CryptoRng + ?Sized>(
    group: &GroupPublic,
    label: &[u8],
    plaintext: &[u8],
    rng: &mut R,
) -> Result<Ciphertext, Error> {
    encrypt_to(&group.encryption_key(), label, plaintext, rng)
}

/// [`encrypt`] with only the group's public key `Y` (what an encryptor
/// that never talks to the cluster holds).
///
/// # Errors
///
/// As [`encrypt`].
pub fn encrypt_to<R: CryptoRng + ?Sized>(
    key: &EncryptionKey,
    label: &[u8],
    plaintext: &[u8],
    rng: &mut R,
) -> Result<Ciphertext, Error> {
    let y = &key.0;
    // r = H(random, Y, label, plaintext): uniform with a working RNG, and
    // never repeated for different messages with a broken one.
    let r = hedged_nonce(&[], &[ENCRYPT_DOMAIN, &y.bytes, label, plaintext], rng);
    let u = Point::new(RistrettoPoint::mul_base(&r));
    let u_bar = Point::new(G_BAR.point * *r);
    let shared = Zeroizing::new(y.point * *r);
    let cipher = cipher(&shared, y, &u, label)?;
    // Room for the tag, so appending it does not reallocate.
    let mut body = Zeroizing::new(Vec::with_capacity(plaintext.len().saturating_add(TAG_LEN)));
    body.extend_from_slice(plaintext);
    let tag = cipher
        .encrypt_inout_detached(
            &Nonce::default(),
            &HEADER,
            InOutBuf::from(body.as_mut_slice()),
        )
        .map_err(|_| Error::PlaintextTooLong)?;
    // `body` now holds ciphertext only.
    let mut body = core::mem::take(&mut *body);
    body.extend_from_slice(&tag);
    let proof = Dleq::prove(
        PROOF_DOMAIN,
        &[&y.bytes, label, &body],
        &r,
        &G_BAR,
        &u,
        &u_bar,
        rng,
    );
    Ok(Ciphertext {
        u,
        u_bar,
        proof,
        body,
    })
}

impl Ciphertext {
    /// Checks the ciphertext's proof for this group key and label: the
    /// encryptor knew `r` with `U = r·G`, `Ū = r·Ḡ`, and bound the label and
    /// the body. Any change to `U`, `Ū`, the proof, the body or the label,
    /// and any other group key, makes it fail.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidCiphertextProof`].
    pub fn verify(&self, group: &GroupPublic, label: &[u8]) -> Result<(), Error> {
        self.verify_for(&group.key, label)
    }

    /// [`Ciphertext::verify`] against the group key `y`.
    pub(super) fn verify_for(&self, y: &Point, label: &[u8]) -> Result<(), Error> {
        if self.proof.verify(
            PROOF_DOMAIN,
            &[&y.bytes, label, &self.body],
            &G_BAR,
            &self.u,
            &self.u_bar,
        ) {
            Ok(())
        } else {
            Err(Error::InvalidCiphertextProof)
        }
    }

    /// Decrypts the body with the recombined shared point `K = x·U`.
    pub(super) fn open(
        &self,
        shared: &RistrettoPoint,
        y: &Point,
        label: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, Error> {
        let body_len = self
            .body
            .len()
            .checked_sub(TAG_LEN)
            .ok_or(Error::Decryption)?;
        let (body, tag) = self.body.split_at(body_len);
        let tag = Tag::try_from(tag).map_err(|_| Error::Decryption)?;
        let mut plaintext = Zeroizing::new(vec![0u8; body_len]);
        let buffer = InOutBuf::new(body, &mut plaintext).map_err(|_| Error::Decryption)?;
        cipher(shared, y, &self.u, label)?
            .decrypt_inout_detached(&Nonce::default(), &HEADER, buffer, &tag)
            .map_err(|_| Error::Decryption)?;
        Ok(plaintext)
    }

    /// The length of the plaintext inside.
    pub fn plaintext_len(&self) -> usize {
        self.body.len().saturating_sub(TAG_LEN)
    }

    /// The encoding: `"SYTC" || version 1 || U || Ū || e || f || body`
    /// (points ristretto255-compressed, scalars little-endian canonical;
    /// the body is the ChaCha20-Poly1305 ciphertext and tag).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(CIPHERTEXT_OVERHEAD + self.plaintext_len());
        out.extend_from_slice(&HEADER);
        out.extend_from_slice(&self.u.bytes);
        out.extend_from_slice(&self.u_bar.bytes);
        out.extend_from_slice(&self.proof.to_bytes());
        out.extend_from_slice(&self.body);
        out
    }

    /// Decodes [`Ciphertext::to_bytes`] (without checking the proof: see
    /// [`Ciphertext::verify`]).
    ///
    /// # Errors
    ///
    /// A decoding error naming `"tdh2 ciphertext"`; an identity `U` or `Ū`
    /// is an [`Error::InvalidPoint`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        const WHAT: &str = "tdh2 ciphertext";
        let mut reader = Reader::new(WHAT, bytes, MAGIC, VERSION)?;
        let u = reader.point()?;
        let u_bar = reader.point()?;
        if u.point == RistrettoPoint::default() || u_bar.point == RistrettoPoint::default() {
            return Err(Error::InvalidPoint { what: WHAT });
        }
        let proof = Dleq {
            e: reader.scalar()?,
            f: reader.scalar()?,
        };
        let body = reader.rest();
        if body.len() < TAG_LEN {
            return Err(Error::Truncated {
                what: WHAT,
                len: bytes.len(),
                min: CIPHERTEXT_OVERHEAD,
            });
        }
        Ok(Self {
            u,
            u_bar,
            proof,
            body: body.to_vec(),
        })
    }
}

impl core::fmt::Debug for Ciphertext {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Ciphertext")
            .field("u", &crate::encoding::Hex(&self.u.bytes))
            .field("plaintext_len", &self.plaintext_len())
            .finish_non_exhaustive()
    }
}

/// The AEAD keyed with `HKDF-SHA256(salt = domain, ikm = K, info = Y || U ||
/// label)` (each info part length-prefixed). The key is fresh for every
/// ciphertext (a fresh `r`), so the all-zero nonce is used exactly once per
/// key.
fn cipher(
    shared: &RistrettoPoint,
    y: &Point,
    u: &Point,
    label: &[u8],
) -> Result<ChaCha20Poly1305, Error> {
    let ikm = Zeroizing::new(shared.compress().to_bytes());
    let mut info = Vec::with_capacity(3 * 8 + 64 + label.len());
    for part in [&y.bytes[..], &u.bytes[..], label] {
        info.extend_from_slice(&(part.len() as u64).to_be_bytes());
        info.extend_from_slice(part);
    }
    let mut key = Key::default();
    Hkdf::<Sha256>::new(Some(KDF_SALT), ikm.as_slice())
        .expand(&info, key.as_mut_slice())
        .map_err(|_| Error::Decryption)?;
    let cipher = ChaCha20Poly1305::new(&key);
    key.as_mut_slice().zeroize();
    Ok(cipher)
}
