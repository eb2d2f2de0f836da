//! Dealings: the messages of the share-moving protocols ([`super::refresh`],
//! [`super::reshare`]).
//!
//! A dealer shares a value with a fresh polynomial and produces a
//! [`Dealing`]: its public [`DealerCommitments`] (broadcast to every
//! recipient) and one secret [`SubShare`] per recipient (sent to that
//! recipient only, sealed). A recipient checks each sub-share against its
//! dealer's commitments and names the dealer when one does not match.

use curve25519_dalek::{RistrettoPoint, Scalar};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::{Commitments, polynomial::Polynomial};
use crate::Error;

/// A dealer's public output: its share index and its Feldman commitments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DealerCommitments {
    dealer: u8,
    commitments: Commitments,
}

impl DealerCommitments {
    /// Pairs a dealer's share index with the commitments it published.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidIndex`] when `dealer` is 0.
    pub fn new(dealer: u8, commitments: Commitments) -> Result<Self, Error> {
        if dealer == 0 {
            return Err(Error::InvalidIndex { index: 0 });
        }
        Ok(Self {
            dealer,
            commitments,
        })
    }

    /// The dealer's share index.
    pub fn dealer(&self) -> u8 {
        self.dealer
    }

    /// The dealer's Feldman commitments.
    pub fn commitments(&self) -> &Commitments {
        &self.commitments
    }
}

/// One secret sub-share: the evaluation of `dealer`'s polynomial at
/// `recipient`. Zeroized on drop, redacted under `Debug`.
#[derive(Clone)]
pub struct SubShare {
    dealer: u8,
    recipient: u8,
    value: Scalar,
}

impl SubShare {
    /// Builds a sub-share (e.g. after unsealing it).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidIndex`] when `dealer` or `recipient` is 0.
    pub fn new(dealer: u8, recipient: u8, value: Scalar) -> Result<Self, Error> {
        if dealer == 0 || recipient == 0 {
            return Err(Error::InvalidIndex { index: 0 });
        }
        Ok(Self {
            dealer,
            recipient,
            value,
        })
    }

    /// Share index of the dealer.
    pub fn dealer(&self) -> u8 {
        self.dealer
    }

    /// Share index of the recipient.
    pub fn recipient(&self) -> u8 {
        self.recipient
    }

    /// The secret value.
    pub fn expose_secret(&self) -> &Scalar {
        &self.value
    }

    /// `value G` (fixed-base, constant-time): public once published.
    pub(crate) fn verification_point(&self) -> RistrettoPoint {
        RistrettoPoint::mul_base(&self.value)
    }

    /// Checks `value G == sum_k recipient^k A_k` against the dealer's commitments.
    pub(crate) fn verify(&self, commitments: &Commitments) -> Result<(), Error> {
        self.verify_point(&commitments.verification_share(self.recipient)?)
    }

    /// Checks `value G == expected`.
    pub(crate) fn verify_point(&self, expected: &RistrettoPoint) -> Result<(), Error> {
        if RistrettoPoint::mul_base(&self.value) == *expected {
            Ok(())
        } else {
            Err(Error::InvalidSubShare {
                dealer: self.dealer,
                recipient: self.recipient,
            })
        }
    }
}

impl Drop for SubShare {
    fn drop(&mut self) {
        self.value.zeroize();
    }
}

impl ZeroizeOnDrop for SubShare {}

impl PartialEq for SubShare {
    fn eq(&self, other: &Self) -> bool {
        self.dealer == other.dealer
            && self.recipient == other.recipient
            && bool::from(self.value.ct_eq(&other.value))
    }
}

impl Eq for SubShare {}

impl core::fmt::Debug for SubShare {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SubShare")
            .field("dealer", &self.dealer)
            .field("recipient", &self.recipient)
            .field("value", &"<redacted>")
            .finish()
    }
}

/// Everything one dealer produces: public commitments and one secret
/// sub-share per recipient (in the order the recipients were given).
#[derive(Debug)]
pub struct Dealing {
    public: DealerCommitments,
    sub_shares: Vec<SubShare>,
}

impl Dealing {
    /// The part to broadcast to every recipient.
    pub fn public(&self) -> &DealerCommitments {
        &self.public
    }

    /// The secret sub-shares, one per recipient.
    pub fn sub_shares(&self) -> &[SubShare] {
        &self.sub_shares
    }

    /// The sub-share addressed to `recipient`, if any.
    pub fn sub_share_for(&self, recipient: u8) -> Option<&SubShare> {
        self.sub_shares.iter().find(|s| s.recipient == recipient)
    }

    /// Splits the dealing into its public part and its sub-shares.
    pub fn into_parts(self) -> (DealerCommitments, Vec<SubShare>) {
        (self.public, self.sub_shares)
    }
}

/// Checks that `indices` are non-zero and distinct.
pub(crate) fn check_indices(indices: &[u8]) -> Result<(), Error> {
    let mut seen = [false; 256];
    for &index in indices {
        if index == 0 {
            return Err(Error::InvalidIndex { index: 0 });
        }
        let slot = seen
            .get_mut(usize::from(index))
            .ok_or(Error::InvalidIndex {
                index: usize::from(index),
            })?;
        if *slot {
            return Err(Error::DuplicateIndex { index });
        }
        *slot = true;
    }
    Ok(())
}

/// Checks `1 <= threshold <= recipients.len() <= 255` and that the recipients are valid.
pub(crate) fn check_recipients(threshold: usize, recipients: &[u8]) -> Result<(), Error> {
    super::check_parameters(threshold, recipients.len())?;
    check_indices(recipients)
}

/// Shares `value` with a fresh polynomial of the given threshold to `recipients`.
pub(crate) fn deal<R: rand_core::CryptoRng + ?Sized>(
    dealer: u8,
    value: &Scalar,
    threshold: usize,
    recipients: &[u8],
    rng: &mut R,
) -> Result<Dealing, Error> {
    check_recipients(threshold, recipients)?;
    let polynomial = Polynomial::random(value, threshold, rng);
    let sub_shares = recipients
        .iter()
        .map(|&recipient| SubShare::new(dealer, recipient, polynomial.evaluate(recipient)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Dealing {
        public: DealerCommitments::new(dealer, polynomial.commit())?,
        sub_shares,
    })
}

/// Matches `sub_shares` to `dealers` for `recipient`: the dealers must be
/// distinct and each must have sent exactly one sub-share to `recipient`.
/// Returns the sub-shares in the order of `dealers`.
pub(crate) fn match_sub_shares<'a>(
    recipient: u8,
    dealers: &[u8],
    sub_shares: &'a [SubShare],
) -> Result<Vec<&'a SubShare>, Error> {
    check_indices(dealers)?;
    let mut matched: Vec<Option<&SubShare>> = vec![None; dealers.len()];
    for sub_share in sub_shares {
        let unexpected = Error::UnexpectedSubShare {
            dealer: sub_share.dealer,
            recipient: sub_share.recipient,
        };
        if sub_share.recipient != recipient {
            return Err(unexpected);
        }
        let Some(slot) = dealers
            .iter()
            .position(|&d| d == sub_share.dealer)
            .and_then(|position| matched.get_mut(position))
        else {
            return Err(unexpected);
        };
        if slot.is_some() {
            return Err(unexpected);
        }
        *slot = Some(sub_share);
    }
    matched
        .into_iter()
        .zip(dealers)
        .map(|(slot, &dealer)| slot.ok_or(Error::MissingSubShare { dealer, recipient }))
        .collect()
}

/// The dealer indices of `dealings`, in order.
pub(crate) fn dealers(dealings: &[DealerCommitments]) -> Vec<u8> {
    dealings.iter().map(DealerCommitments::dealer).collect()
}
