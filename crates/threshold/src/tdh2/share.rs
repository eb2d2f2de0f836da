//! Decryption shares `U_i = x_i·U` with their Chaum–Pedersen proofs, their
//! verification, and the combination of `t` of them.

use std::collections::BTreeSet;

use curve25519_dalek::RistrettoPoint;
use curve25519_dalek::traits::VartimeMultiscalarMul;
use rand_core::CryptoRng;
use zeroize::Zeroizing;

use super::ciphertext::Ciphertext;
use super::keys::{GroupPublic, KeyShare};
use super::proof::Dleq;
use crate::encoding::{Hex, Point, Reader, write_fields};
use crate::{Error, lagrange};

const MAGIC: &[u8; 4] = b"SYTD";
const VERSION: u8 = 1;
/// Length of an encoded [`DecryptionShare`].
pub const DECRYPTION_SHARE_LEN: usize = 4 + 1 + 2 + 32 + 64;

/// Domain of the decryption-share proof.
const PROOF_DOMAIN: &[u8] = b"symbolon/threshold/tdh2/v1/decryption-share-proof";

/// Participant `index`'s decryption share of one ciphertext: `U_i = x_i·U`
/// and a proof that `log_G Y_i = log_U U_i`. Public (it reveals nothing
/// about `x_i`; `t` of them reveal the ciphertext's key).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct DecryptionShare {
    index: u16,
    u_i: Point,
    proof: Dleq,
}

impl DecryptionShare {
    /// The index of the participant that made it.
    pub fn index(&self) -> u16 {
        self.index
    }

    /// The encoding: `"SYTD" || version 1 || index (u16 BE) || U_i || e ||
    /// f`.
    pub fn to_bytes(&self) -> [u8; DECRYPTION_SHARE_LEN] {
        let mut out = [0u8; DECRYPTION_SHARE_LEN];
        write_fields(
            &mut out,
            &[
                MAGIC,
                &[VERSION],
                &self.index.to_be_bytes(),
                &self.u_i.bytes,
                &self.proof.to_bytes(),
            ],
        );
        out
    }

    /// Decodes [`DecryptionShare::to_bytes`] (without checking the proof:
    /// see [`verify_decryption_share`]).
    ///
    /// # Errors
    ///
    /// A decoding error naming `"tdh2 decryption share"`;
    /// [`Error::InvalidIndex`] for index 0.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        const WHAT: &str = "tdh2 decryption share";
        if bytes.len() != DECRYPTION_SHARE_LEN {
            return Err(Error::Length {
                what: WHAT,
                len: bytes.len(),
                expected: DECRYPTION_SHARE_LEN,
            });
        }
        let mut reader = Reader::new(WHAT, bytes, MAGIC, VERSION)?;
        let index = reader.u16()?;
        if index == 0 {
            return Err(Error::InvalidIndex { index });
        }
        let u_i = reader.point()?;
        let proof = Dleq {
            e: reader.scalar()?,
            f: reader.scalar()?,
        };
        reader.finish()?;
        Ok(Self { index, u_i, proof })
    }
}

impl core::fmt::Debug for DecryptionShare {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DecryptionShare")
            .field("index", &self.index)
            .field("u_i", &Hex(&self.u_i.bytes))
            .finish_non_exhaustive()
    }
}

/// A custodian's step: checks the ciphertext's proof for `label` **first**
/// (refusing invalid ciphertexts is what makes the scheme CCA-secure), then
/// computes `U_i = x_i·U` with a proof that `log_G Y_i = log_U U_i`.
///
/// # Errors
///
/// [`Error::InvalidCiphertextProof`] for a tampered ciphertext, a wrong
/// label, or a ciphertext for another group key.
///
/// # Security
///
/// Constant-time in `x_i`. Check the custodian's own policy for this
/// ciphertext and label before calling.
pub fn decrypt_share<R: CryptoRng + ?Sized>(
    share: &KeyShare,
    ciphertext: &Ciphertext,
    label: &[u8],
    rng: &mut R,
) -> Result<DecryptionShare, Error> {
    ciphertext.verify_for(&share.group, label)?;
    let x = share.expose_secret();
    let u_i = Point::new(ciphertext.u.point * x);
    let index = share.index().to_be_bytes();
    let proof = Dleq::prove(
        PROOF_DOMAIN,
        &[&index],
        x,
        &ciphertext.u,
        &share.verification,
        &u_i,
        rng,
    );
    Ok(DecryptionShare {
        index: share.index(),
        u_i,
        proof,
    })
}

/// Checks one decryption share against the sender's verification share, as
/// it arrives, so the coordinator can name a cheating custodian (and ask
/// another) before it has `t` shares. [`combine`] checks every share again.
///
/// # Errors
///
/// [`Error::UnknownParticipant`] if the share's index is not in the group,
/// [`Error::InvalidDecryptionShare`] naming it if the proof fails.
pub fn verify_decryption_share(
    group: &GroupPublic,
    ciphertext: &Ciphertext,
    share: &DecryptionShare,
) -> Result<(), Error> {
    let index = share.index;
    let y_i = group
        .shares
        .get(&index)
        .ok_or(Error::UnknownParticipant { index })?;
    if share.proof.verify(
        PROOF_DOMAIN,
        &[&index.to_be_bytes()],
        &ciphertext.u,
        y_i,
        &share.u_i,
    ) {
        Ok(())
    } else {
        Err(Error::InvalidDecryptionShare { index })
    }
}

/// The combiner's step: checks the ciphertext's proof and every share's
/// proof, recombines the shared point `K = Σ λ_i·U_i = x·U` from the first
/// `t` shares (Lagrange at 0), derives the key and opens the body.
/// ([`Combiner`] does the same one share at a time, checking each once.)
///
/// # Errors
///
/// [`Error::InvalidCiphertextProof`]; per share, in order:
/// [`Error::UnknownParticipant`], [`Error::DuplicateIndex`],
/// [`Error::InvalidDecryptionShare`] naming the culprit; then
/// [`Error::NotEnoughShares`] below `t`; [`Error::Decryption`] if the body
/// does not authenticate.
///
/// # Security
///
/// Whoever combines learns the plaintext: combine where the plaintext may
/// be. The interpolation is variable-time, over public shares only.
pub fn combine(
    group: &GroupPublic,
    ciphertext: &Ciphertext,
    label: &[u8],
    shares: &[DecryptionShare],
) -> Result<Zeroizing<Vec<u8>>, Error> {
    let combiner = Combiner::new(group, ciphertext, label)?;
    let checked = shares
        .iter()
        .map(|share| combiner.check(*share))
        .collect::<Result<Vec<_>, _>>()?;
    combiner.combine(&checked)
}

/// Combines one ciphertext's decryption shares as they arrive: the
/// ciphertext's proof is checked once ([`Combiner::new`]), each share's
/// proof once ([`Combiner::check`], so a cheater is named before `t` shares
/// are in), and [`Combiner::combine`] only takes shares this combiner
/// checked.
#[derive(Debug)]
pub struct Combiner<'a> {
    group: &'a GroupPublic,
    ciphertext: &'a Ciphertext,
    label: &'a [u8],
}

/// A decryption share a [`Combiner`] checked.
#[derive(Clone, Copy, Debug)]
pub struct CheckedShare<'a> {
    share: DecryptionShare,
    /// The group and ciphertext it was checked against (compared by
    /// address: a group with the same key but another sharing of it must
    /// not lend its shares).
    group: &'a GroupPublic,
    ciphertext: &'a Ciphertext,
}

impl CheckedShare<'_> {
    /// The sender's index.
    pub fn index(&self) -> u16 {
        self.share.index
    }
}

impl<'a> Combiner<'a> {
    /// Checks the ciphertext's proof for `group` and `label`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidCiphertextProof`].
    pub fn new(
        group: &'a GroupPublic,
        ciphertext: &'a Ciphertext,
        label: &'a [u8],
    ) -> Result<Self, Error> {
        ciphertext.verify_for(&group.key, label)?;
        Ok(Self {
            group,
            ciphertext,
            label,
        })
    }

    /// Checks one share's proof against its sender's verification share.
    ///
    /// # Errors
    ///
    /// As [`verify_decryption_share`].
    pub fn check(&self, share: DecryptionShare) -> Result<CheckedShare<'a>, Error> {
        verify_decryption_share(self.group, self.ciphertext, &share)?;
        Ok(CheckedShare {
            share,
            group: self.group,
            ciphertext: self.ciphertext,
        })
    }

    /// Recombines the shared point from the first `t` shares and opens the
    /// body.
    ///
    /// # Errors
    ///
    /// [`Error::DuplicateIndex`]; [`Error::Malformed`] for a share another
    /// combiner checked; [`Error::NotEnoughShares`] below `t`;
    /// [`Error::Decryption`] if the body does not authenticate.
    ///
    /// # Security
    ///
    /// As [`combine`].
    pub fn combine(&self, shares: &[CheckedShare<'_>]) -> Result<Zeroizing<Vec<u8>>, Error> {
        let mut seen = BTreeSet::new();
        for checked in shares {
            if !core::ptr::eq(checked.ciphertext, self.ciphertext)
                || !core::ptr::eq(checked.group, self.group)
            {
                return Err(Error::Malformed {
                    what: "decryption share",
                    reason: "checked by another combiner",
                });
            }
            if !seen.insert(checked.share.index) {
                return Err(Error::DuplicateIndex {
                    index: checked.share.index,
                });
            }
        }
        let need = self.group.threshold();
        let chosen = shares
            .get(..usize::from(need))
            .ok_or(Error::NotEnoughShares {
                have: shares.len(),
                need,
            })?;
        let set: Vec<u16> = chosen.iter().map(|s| s.share.index).collect();
        let shared = Zeroizing::new(RistrettoPoint::vartime_multiscalar_mul(
            chosen
                .iter()
                .map(|s| lagrange::coefficient(0, &set, s.share.index)),
            chosen.iter().map(|s| s.share.u_i.point),
        ));
        self.ciphertext.open(&shared, &self.group.key, self.label)
    }
}
