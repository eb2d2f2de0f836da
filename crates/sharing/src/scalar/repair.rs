//! Enrolment repair: rebuild one lost share for a replacement holder without
//! rebuilding the secret (Laing & Stinson, "A survey and refinement of
//! repairable threshold schemes", J. Math. Cryptology 2018, section 4 — the
//! scheme of FROST's `repairable` module; DESIGN.md section 6).
//!
//! With a helper set `H` of at least `t` holders and the lost index `j`:
//!
//! 1. [`deal`]: helper `i` computes `zeta_i = lambda_i(j) s_i` (Lagrange
//!    coefficient over `H`, evaluated at `j`), splits it into random additive
//!    pieces `delta_{i,k}` for every `k` in `H`, sends `delta_{i,k}` to helper
//!    `k`, and publishes `D_{i,k} = delta_{i,k} G`.
//! 2. [`aggregate`]: helper `k` checks the published pieces of every helper
//!    `i` (`sum_k D_{i,k} == lambda_i(j) Y_i`, from the group commitments)
//!    and each received piece against `D_{i,k}`, then sends
//!    `sigma_k = sum_i delta_{i,k}` to the new holder.
//! 3. [`recover`]: the new holder checks each `sigma_k` against
//!    `sum_i D_{i,k}`, sets `s_j = sum_k sigma_k`, and checks
//!    `s_j G == Y_j` from the group commitments.
//!
//! The published `D_{i,k}` are an addition to Laing–Stinson: they let every
//! step name the helper at fault instead of only detecting a bad result at
//! the end. They reveal nothing beyond `Y_j` and `Y_i`, which are public.
//!
//! # Security
//!
//! No party learns another's share: each `delta_{i,k}` for `k != i` is
//! uniformly random, and `sigma_k` is a random additive share of `s_j`.
//! Pieces and sums are secret and must be sealed to their recipient.

use curve25519_dalek::traits::VartimeMultiscalarMul;
use curve25519_dalek::{RistrettoPoint, Scalar};
use rand_core::CryptoRng;
use zeroize::Zeroizing;

use super::polynomial::random_scalar;
use super::{Commitments, Share, SubShare, dealing, lagrange_coefficient};
use crate::Error;

/// A helper's public repair output: `D_{helper,k} = delta_{helper,k} G` for
/// every helper `k`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepairCommitments {
    helper: u8,
    lost: u8,
    pieces: Vec<(u8, RistrettoPoint)>,
}

impl RepairCommitments {
    /// Rebuilds a helper's published repair commitments (e.g. after
    /// receiving them).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidIndex`] for a zero index, [`Error::DuplicateIndex`]
    /// for a repeated recipient.
    pub fn new(helper: u8, lost: u8, pieces: Vec<(u8, RistrettoPoint)>) -> Result<Self, Error> {
        if helper == 0 || lost == 0 {
            return Err(Error::InvalidIndex { index: 0 });
        }
        let recipients: Vec<u8> = pieces.iter().map(|&(k, _)| k).collect();
        dealing::check_indices(&recipients)?;
        Ok(Self {
            helper,
            lost,
            pieces,
        })
    }

    /// The helper's share index.
    pub fn helper(&self) -> u8 {
        self.helper
    }

    /// The index of the share being repaired.
    pub fn lost(&self) -> u8 {
        self.lost
    }

    /// `(k, D_{helper,k})` for each helper `k`.
    pub fn pieces(&self) -> &[(u8, RistrettoPoint)] {
        &self.pieces
    }

    fn piece_for(&self, recipient: u8) -> Option<RistrettoPoint> {
        self.pieces
            .iter()
            .find_map(|&(k, point)| (k == recipient).then_some(point))
    }
}

/// Everything one helper produces in step 1: public commitments and one
/// secret piece per helper (a [`SubShare`] from this helper to helper `k`).
#[derive(Debug)]
pub struct RepairDealing {
    public: RepairCommitments,
    pieces: Vec<SubShare>,
}

impl RepairDealing {
    /// The part to broadcast to every helper and to the new holder.
    pub fn public(&self) -> &RepairCommitments {
        &self.public
    }

    /// The secret pieces, one per helper (including this helper's own).
    pub fn pieces(&self) -> &[SubShare] {
        &self.pieces
    }

    /// Splits the dealing into its public part and its pieces.
    pub fn into_parts(self) -> (RepairCommitments, Vec<SubShare>) {
        (self.public, self.pieces)
    }
}

/// Step 1, run by helper `share.index()`: splits `lambda_i(lost) s_i` into
/// random additive pieces for the `helpers`.
///
/// # Errors
///
/// [`Error::InvalidIndex`] when `lost` is 0, is among `helpers`, or when
/// `share.index()` is not among `helpers`; [`Error::DuplicateIndex`],
/// [`Error::TooManyShares`] for a bad helper set.
pub fn deal<R: CryptoRng + ?Sized>(
    share: &Share,
    helpers: &[u8],
    lost: u8,
    rng: &mut R,
) -> Result<RepairDealing, Error> {
    check_helpers(helpers, lost)?;
    let helper = share.index();
    let lambda = lagrange_coefficient(helpers, helper, Scalar::from(lost))?;
    let mut remainder = Zeroizing::new(lambda * share.expose_secret());
    let mut pieces = Vec::with_capacity(helpers.len());
    let mut points = Vec::with_capacity(helpers.len());
    let (last, rest) = helpers
        .split_last()
        .ok_or(Error::NotEnoughShares { have: 0, need: 1 })?;
    for &k in rest {
        let piece = SubShare::new(helper, k, random_scalar(rng))?;
        *remainder -= piece.expose_secret();
        points.push((k, piece.verification_point()));
        pieces.push(piece);
    }
    let piece = SubShare::new(helper, *last, *remainder)?;
    points.push((*last, piece.verification_point()));
    pieces.push(piece);
    Ok(RepairDealing {
        public: RepairCommitments::new(helper, lost, points)?,
        pieces,
    })
}

/// Checks one helper's published repair commitments against the group
/// commitments: one piece for each of `helpers`, summing to
/// `lambda_i(lost) Y_i`.
///
/// # Errors
///
/// [`Error::InvalidDealing`] naming the helper; [`Error::InvalidIndex`],
/// [`Error::DuplicateIndex`] for a bad helper set.
pub fn verify_dealing(
    group: &Commitments,
    helpers: &[u8],
    dealing: &RepairCommitments,
) -> Result<(), Error> {
    check_helpers(helpers, dealing.lost)?;
    let invalid = |reason| Error::InvalidDealing {
        dealer: dealing.helper,
        reason,
    };
    if dealing.pieces.len() != helpers.len()
        || helpers.iter().any(|&k| dealing.piece_for(k).is_none())
    {
        return Err(invalid("pieces do not match the helper set"));
    }
    let lambda = lagrange_coefficient(helpers, dealing.helper, Scalar::from(dealing.lost))?;
    let expected = RistrettoPoint::vartime_multiscalar_mul(
        [lambda],
        [group.verification_share(dealing.helper)?],
    );
    let sum: RistrettoPoint = dealing.pieces.iter().map(|(_, point)| point).sum();
    if sum != expected {
        return Err(invalid("pieces do not sum to the helper's share"));
    }
    Ok(())
}

/// Step 2, run by helper `helper`: verifies every helper's published
/// commitments and every piece received, and returns the sum of the pieces
/// as a sub-share from `helper` to the new holder.
///
/// The helper set is the set of helpers in `dealings`.
///
/// # Errors
///
/// [`Error::NotEnoughShares`] for fewer helpers than the threshold;
/// [`Error::InvalidIndex`] when `helper` is not a helper;
/// [`Error::DuplicateIndex`], [`Error::InvalidDealing`],
/// [`Error::MissingSubShare`], [`Error::UnexpectedSubShare`],
/// [`Error::InvalidSubShare`] naming the helper at fault.
pub fn aggregate(
    helper: u8,
    group: &Commitments,
    dealings: &[RepairCommitments],
    pieces: &[SubShare],
) -> Result<SubShare, Error> {
    let (helpers, lost) = check_dealings(group, dealings)?;
    if !helpers.contains(&helper) {
        return Err(Error::InvalidIndex {
            index: usize::from(helper),
        });
    }
    let matched = dealing::match_sub_shares(helper, &helpers, pieces)?;
    let mut sum = Zeroizing::new(Scalar::ZERO);
    for (piece, dealing) in matched.iter().zip(dealings) {
        let expected = dealing.piece_for(helper).ok_or(Error::MissingSubShare {
            dealer: dealing.helper,
            recipient: helper,
        })?;
        piece.verify_point(&expected)?;
        *sum += piece.expose_secret();
    }
    SubShare::new(helper, lost, *sum)
}

/// Step 3, run by the new holder: verifies each helper's sum against the
/// published commitments, adds them, and checks the result against the
/// group commitments.
///
/// # Errors
///
/// [`Error::NotEnoughShares`], [`Error::DuplicateIndex`],
/// [`Error::InvalidDealing`] as in [`aggregate`];
/// [`Error::MissingSubShare`], [`Error::UnexpectedSubShare`],
/// [`Error::InvalidSubShare`] naming the helper whose sum is absent or wrong;
/// [`Error::InvalidShare`] if the rebuilt share does not match `group`.
pub fn recover(
    group: &Commitments,
    dealings: &[RepairCommitments],
    sums: &[SubShare],
) -> Result<Share, Error> {
    let (helpers, lost) = check_dealings(group, dealings)?;
    let matched = dealing::match_sub_shares(lost, &helpers, sums)?;
    let mut value = Zeroizing::new(Scalar::ZERO);
    for (sum, &k) in matched.iter().zip(&helpers) {
        // sum_i D_{i,k}: every dealing holds a piece for k (checked above).
        let expected: RistrettoPoint = dealings.iter().filter_map(|d| d.piece_for(k)).sum();
        sum.verify_point(&expected)?;
        *value += sum.expose_secret();
    }
    let share = Share::new(lost, *value)?;
    super::verify(&share, group)?;
    Ok(share)
}

/// `helpers` distinct and non-zero, `lost` non-zero and not a helper.
fn check_helpers(helpers: &[u8], lost: u8) -> Result<(), Error> {
    if lost == 0 || helpers.contains(&lost) {
        return Err(Error::InvalidIndex {
            index: usize::from(lost),
        });
    }
    if helpers.len() > crate::MAX_SHARES {
        return Err(Error::TooManyShares {
            shares: helpers.len(),
            max: crate::MAX_SHARES,
        });
    }
    dealing::check_indices(helpers)
}

/// Validates all dealings; returns the helper set (in the order of
/// `dealings`) and the lost index.
fn check_dealings(
    group: &Commitments,
    dealings: &[RepairCommitments],
) -> Result<(Vec<u8>, u8), Error> {
    if dealings.len() < group.threshold() || dealings.is_empty() {
        return Err(Error::NotEnoughShares {
            have: dealings.len(),
            need: group.threshold().max(1),
        });
    }
    let helpers: Vec<u8> = dealings.iter().map(RepairCommitments::helper).collect();
    let lost = dealings.first().map_or(0, RepairCommitments::lost);
    for dealing in dealings {
        if dealing.lost != lost {
            return Err(Error::InvalidDealing {
                dealer: dealing.helper,
                reason: "repairs a different share",
            });
        }
        verify_dealing(group, &helpers, dealing)?;
    }
    Ok((helpers, lost))
}
