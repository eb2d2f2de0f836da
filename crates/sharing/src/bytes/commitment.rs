//! Sub-shares and the hash commitments that let their recipients check them,
//! shared by [`super::refresh`] and [`super::reshare`].
//!
//! A dealer hands each recipient a [`SubShare`] (privately, e.g. sealed
//! with HPKE) and publishes one [`Commitments`] list: for each recipient,
//! `BLAKE3-derive-key(CONTEXT, purpose || session context || dealer ||
//! recipient || blinding || value)`. The 32-byte random `blinding` travels
//! with the sub-share and makes the commitment hiding: without it, a
//! one-byte sub-share could be found from its hash by trying all 256 values.
//!
//! # Security
//!
//! Hash commitments detect a sub-share that was altered in transit or
//! swapped after the dealer published its list, and name the dealer whose
//! list it fails. Unlike Feldman commitments over a prime-order group they
//! are *not* homomorphic, so they cannot prove that a dealer's sub-shares
//! are consistent: that they lie on one polynomial of the agreed degree,
//! that a refresh dealing shares zero, or that a reshare dealing shares the
//! dealer's own share. GF(2^8) has no homomorphic commitment scheme with
//! useful hiding, so a dishonest *dealer* can still corrupt the result; use
//! the scalar (Feldman) sharing where that matters.

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use crate::{Error, SecretBytes};

/// BLAKE3 key-derivation context of sub-share commitments.
const COMMITMENT_CONTEXT: &str = "symbolon-sharing 2026-11 GF(2^8) sub-share commitment v1";

/// Which protocol a dealing belongs to (bound into each commitment, so a
/// refresh sub-share cannot be replayed as a reshare one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// [`super::refresh`].
    Refresh = 1,
    /// [`super::reshare`].
    Reshare = 2,
}

/// A sub-share: what one dealer sends one recipient in a refresh or a
/// reshare, with the blinding that opens the dealer's commitment to it.
///
/// Secret: zeroized on drop, redacted under `Debug`.
#[derive(Clone)]
pub struct SubShare {
    dealer: u8,
    recipient: u8,
    value: SecretBytes,
    blinding: Zeroizing<[u8; 32]>,
}

impl SubShare {
    /// Rebuilds a sub-share from its parts (e.g. after transport).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidIndex`] when `dealer` or `recipient` is 0.
    pub fn new(
        dealer: u8,
        recipient: u8,
        value: SecretBytes,
        blinding: [u8; 32],
    ) -> Result<Self, Error> {
        let blinding = Zeroizing::new(blinding);
        if dealer == 0 || recipient == 0 {
            return Err(Error::InvalidIndex { index: 0 });
        }
        Ok(Self {
            dealer,
            recipient,
            value,
            blinding,
        })
    }

    /// Index of the share holder that dealt it (public).
    pub fn dealer(&self) -> u8 {
        self.dealer
    }

    /// Index of the share holder it is for (public).
    pub fn recipient(&self) -> u8 {
        self.recipient
    }

    /// Length of the value in bytes (public).
    pub fn len(&self) -> usize {
        self.value.len()
    }

    /// Whether the value is empty.
    pub fn is_empty(&self) -> bool {
        self.value.is_empty()
    }

    /// The sub-share's value.
    pub fn expose_secret(&self) -> &[u8] {
        self.value.expose_secret()
    }

    /// The blinding that opens the dealer's commitment (secret: anyone who
    /// has it and the commitment can test guesses of the value).
    pub fn expose_blinding(&self) -> &[u8; 32] {
        &self.blinding
    }

    /// The commitment to this sub-share under `purpose` and `context`.
    pub(crate) fn commitment(&self, purpose: Purpose, context: &[u8]) -> [u8; 32] {
        let mut hasher = blake3::Hasher::new_derive_key(COMMITMENT_CONTEXT);
        hasher.update(&[purpose as u8]);
        // usize -> u64 never truncates on supported targets.
        hasher.update(&(context.len() as u64).to_le_bytes());
        hasher.update(context);
        hasher.update(&[self.dealer, self.recipient]);
        hasher.update(self.blinding.as_slice());
        hasher.update(&(self.value.len() as u64).to_le_bytes());
        hasher.update(self.value.expose_secret());
        let commitment = *hasher.finalize().as_bytes();
        // The hasher's buffer still holds the tail of the secret sub-share.
        zeroize::Zeroize::zeroize(&mut hasher);
        commitment
    }
}

impl core::fmt::Debug for SubShare {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SubShare")
            .field("dealer", &self.dealer)
            .field("recipient", &self.recipient)
            .field("value", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl Zeroize for SubShare {
    fn zeroize(&mut self) {
        self.value.zeroize();
        self.blinding.zeroize();
    }
}

/// A dealer's published hash commitments, one per recipient. Public.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Commitments {
    dealer: u8,
    entries: Vec<(u8, [u8; 32])>,
}

impl Commitments {
    /// Rebuilds a commitment list from its parts (e.g. after transport).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidIndex`] for a zero dealer or recipient index,
    /// [`Error::DuplicateIndex`] for a recipient listed twice.
    pub fn new(dealer: u8, entries: Vec<(u8, [u8; 32])>) -> Result<Self, Error> {
        if dealer == 0 {
            return Err(Error::InvalidIndex { index: 0 });
        }
        let recipients: Vec<u8> = entries.iter().map(|(r, _)| *r).collect();
        super::check_indices(&recipients)?;
        Ok(Self { dealer, entries })
    }

    /// Index of the dealer that published it.
    pub fn dealer(&self) -> u8 {
        self.dealer
    }

    /// `(recipient, commitment)` pairs, in the dealer's order.
    pub fn entries(&self) -> &[(u8, [u8; 32])] {
        &self.entries
    }

    /// The commitment to the sub-share for `recipient`, if listed.
    pub fn get(&self, recipient: u8) -> Option<&[u8; 32]> {
        self.entries
            .iter()
            .find(|(r, _)| *r == recipient)
            .map(|(_, c)| c)
    }

    /// Checks `sub_share` against this list under `purpose` and `context`.
    pub(crate) fn verify(
        &self,
        sub_share: &SubShare,
        purpose: Purpose,
        context: &[u8],
    ) -> Result<(), Error> {
        let culprit = Error::InvalidSubShare {
            dealer: self.dealer,
            recipient: sub_share.recipient,
        };
        if sub_share.dealer != self.dealer {
            return Err(culprit);
        }
        let expected = self.get(sub_share.recipient).ok_or(culprit.clone())?;
        let actual = sub_share.commitment(purpose, context);
        if bool::from(actual.ct_eq(expected)) {
            Ok(())
        } else {
            Err(culprit)
        }
    }
}

/// One dealer's output in a refresh or a reshare: a secret sub-share per
/// recipient, to be sent to each privately, and the public commitments to
/// all of them, to be published to every recipient.
#[derive(Debug)]
pub struct Dealing {
    sub_shares: Vec<SubShare>,
    commitments: Commitments,
}

impl Dealing {
    /// Deals sub-shares with fresh blindings, and commits to them.
    pub(crate) fn new<R: rand_core::CryptoRng + ?Sized>(
        dealer: u8,
        recipients: &[u8],
        values: Vec<SecretBytes>,
        purpose: Purpose,
        context: &[u8],
        rng: &mut R,
    ) -> Self {
        let mut sub_shares = Vec::with_capacity(recipients.len());
        let mut entries = Vec::with_capacity(recipients.len());
        for (&recipient, value) in recipients.iter().zip(values) {
            let mut blinding = Zeroizing::new([0u8; 32]);
            rng.fill_bytes(blinding.as_mut_slice());
            let sub_share = SubShare {
                dealer,
                recipient,
                value,
                blinding,
            };
            entries.push((recipient, sub_share.commitment(purpose, context)));
            sub_shares.push(sub_share);
        }
        Self {
            sub_shares,
            commitments: Commitments { dealer, entries },
        }
    }

    /// The sub-shares, one per recipient, in the order the recipients were given.
    pub fn sub_shares(&self) -> &[SubShare] {
        &self.sub_shares
    }

    /// The public commitments.
    pub fn commitments(&self) -> &Commitments {
        &self.commitments
    }

    /// Splits the dealing into its sub-shares and commitments.
    pub fn into_parts(self) -> (Vec<SubShare>, Commitments) {
        (self.sub_shares, self.commitments)
    }
}

/// What a recipient checks before using what it received from the dealers
/// of one refresh or reshare: exactly one sub-share from each dealer that
/// published commitments, addressed to `recipient`, `len` bytes long (if
/// given; else as long as the first), matching its commitment.
///
/// Returns the sub-shares in the order of `commitments`.
///
/// # Errors
///
/// [`Error::DuplicateIndex`] for two commitment lists from one dealer;
/// [`Error::UnexpectedSubShare`] for a sub-share from a dealer without
/// commitments, for another recipient, or repeated;
/// [`Error::MissingSubShare`] when a dealer's sub-share is absent;
/// [`Error::LengthMismatch`] (naming the dealer) for a wrong length;
/// [`Error::InvalidSubShare`] when one does not match its commitment.
pub(crate) fn verified<'a>(
    recipient: u8,
    len: Option<usize>,
    received: &'a [SubShare],
    commitments: &[Commitments],
    purpose: Purpose,
    context: &[u8],
) -> Result<Vec<&'a SubShare>, Error> {
    let dealers: Vec<u8> = commitments.iter().map(Commitments::dealer).collect();
    super::check_indices(&dealers)?;
    let mut seen = [false; 256];
    for sub_share in received {
        let unexpected = Error::UnexpectedSubShare {
            dealer: sub_share.dealer,
            recipient: sub_share.recipient,
        };
        if sub_share.recipient != recipient || !dealers.contains(&sub_share.dealer) {
            return Err(unexpected);
        }
        let slot = seen
            .get_mut(usize::from(sub_share.dealer))
            .ok_or(unexpected.clone())?;
        if *slot {
            return Err(unexpected);
        }
        *slot = true;
    }
    let expected_len = len.or_else(|| received.first().map(SubShare::len));
    let mut out = Vec::with_capacity(commitments.len());
    for list in commitments {
        let sub_share =
            received
                .iter()
                .find(|s| s.dealer == list.dealer)
                .ok_or(Error::MissingSubShare {
                    dealer: list.dealer,
                    recipient,
                })?;
        if let Some(expected) = expected_len.filter(|&e| e != sub_share.len()) {
            return Err(Error::LengthMismatch {
                index: sub_share.dealer,
                len: sub_share.len(),
                expected,
            });
        }
        list.verify(sub_share, purpose, context)?;
        out.push(sub_share);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    fn dealing() -> Dealing {
        let mut rng = ChaCha20Rng::seed_from_u64(9);
        let values = vec![
            SecretBytes::from_slice(b"aa"),
            SecretBytes::from_slice(b"bb"),
        ];
        Dealing::new(4, &[1, 2], values, Purpose::Reshare, b"ctx", &mut rng)
    }

    #[test]
    fn commitments_open_only_under_the_same_purpose_and_context() {
        let d = dealing();
        let s = &d.sub_shares()[0];
        let c = d.commitments();
        assert!(c.verify(s, Purpose::Reshare, b"ctx").is_ok());
        let bad = Err(Error::InvalidSubShare {
            dealer: 4,
            recipient: 1,
        });
        assert_eq!(c.verify(s, Purpose::Refresh, b"ctx"), bad);
        assert_eq!(c.verify(s, Purpose::Reshare, b"ctx2"), bad);
        let tampered = SubShare::new(4, 1, SecretBytes::from_slice(b"ab"), *s.expose_blinding());
        assert_eq!(c.verify(&tampered.unwrap(), Purpose::Reshare, b"ctx"), bad);
        let reblinded = SubShare::new(4, 1, SecretBytes::from_slice(b"aa"), [0; 32]);
        assert_eq!(c.verify(&reblinded.unwrap(), Purpose::Reshare, b"ctx"), bad);
    }

    #[test]
    fn blinding_hides_equal_values() {
        let d = dealing();
        let mut rng = ChaCha20Rng::seed_from_u64(10);
        let again = Dealing::new(
            4,
            &[1, 2],
            vec![
                SecretBytes::from_slice(b"aa"),
                SecretBytes::from_slice(b"bb"),
            ],
            Purpose::Reshare,
            b"ctx",
            &mut rng,
        );
        assert_ne!(
            d.commitments().entries()[0].1,
            again.commitments().entries()[0].1
        );
    }

    #[test]
    fn debug_is_redacted_and_constructors_check_indices() {
        let d = dealing();
        let shown = format!("{d:?}");
        assert!(shown.contains("<redacted>"));
        assert!(!shown.contains("97, 97"), "{shown}");
        assert!(SubShare::new(0, 1, SecretBytes::default(), [0; 32]).is_err());
        assert_eq!(
            Commitments::new(1, vec![(2, [0; 32]), (2, [1; 32])]),
            Err(Error::DuplicateIndex { index: 2 })
        );
        assert_eq!(
            Commitments::new(0, vec![]),
            Err(Error::InvalidIndex { index: 0 })
        );
    }
}
