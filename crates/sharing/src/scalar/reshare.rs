//! Reshare to a new committee and/or new `(t', n')` without rebuilding the
//! secret (Desmedt & Jajodia, "Redistributing secret shares to new access
//! structures and its applications", 1997; verifiable form as in Wong, Wang &
//! Wing, "Verifiable secret redistribution for archive systems", 2002;
//! DESIGN.md section 6).
//!
//! At least `t` old holders `d` each deal their share `s_d` with a fresh
//! polynomial `h_d` of the new threshold `t'` to the new holders ([`deal`]),
//! publishing Feldman commitments `C_d` with `C_d[0] = s_d G`. New holder `j`
//! checks that every dealer's constant commitment equals that dealer's old
//! verification share `Y_d` (so the dealer really re-shared its share), checks
//! each sub-share against `C_d`, and sets
//! `s_j' = sum_d lambda_d h_d(j)` where `lambda_d` are the Lagrange
//! coefficients at 0 over the dealer set ([`apply`]). The new commitments are
//! `sum_d lambda_d C_d`, whose constant term is `sum_d lambda_d Y_d = A_0`:
//! the public key is unchanged.
//!
//! # Security
//!
//! Every new holder must use the same dealer set (the coordinator fixes it);
//! holders confirm by comparing [`Commitments::digest`] of the result before
//! the old epoch is destroyed.

use rand_core::CryptoRng;
use zeroize::Zeroizing;

use curve25519_dalek::Scalar;

use super::{
    Commitments, DealerCommitments, Dealing, Share, SubShare, dealing, lagrange_coefficients,
};
use crate::{Error, MAX_SHARES};

/// Old holder `share.index()`'s reshare dealing: its share, shared with
/// threshold `new_threshold` to `new_recipients`.
///
/// # Errors
///
/// [`Error::InvalidThreshold`], [`Error::TooManyShares`],
/// [`Error::InvalidIndex`], [`Error::DuplicateIndex`] for bad parameters.
///
/// # Security
///
/// The sub-shares are secret: seal each one to its recipient.
pub fn deal<R: CryptoRng + ?Sized>(
    share: &Share,
    new_threshold: usize,
    new_recipients: &[u8],
    rng: &mut R,
) -> Result<Dealing, Error> {
    dealing::deal(
        share.index(),
        share.expose_secret(),
        new_threshold,
        new_recipients,
        rng,
    )
}

/// Checks that a dealer's public commitments are a reshare dealing of its
/// old share: `new_threshold` commitments whose constant term is the
/// dealer's old verification share `Y_d` computed from `old`.
///
/// # Errors
///
/// [`Error::InvalidDealing`] naming the dealer.
pub fn verify_dealing(
    old: &Commitments,
    new_threshold: usize,
    dealing: &DealerCommitments,
) -> Result<(), Error> {
    if dealing.commitments().threshold() != new_threshold {
        return Err(Error::InvalidDealing {
            dealer: dealing.dealer(),
            reason: "threshold differs from the new threshold",
        });
    }
    if dealing.commitments().public_key() != old.verification_share(dealing.dealer())? {
        return Err(Error::InvalidDealing {
            dealer: dealing.dealer(),
            reason: "constant term is not the dealer's verification share",
        });
    }
    Ok(())
}

/// The new group commitments `sum_d lambda_d C_d` (public; every new holder
/// and the coordinator compute the same value from the same dealings).
///
/// # Errors
///
/// [`Error::NotEnoughShares`] for fewer dealers than the old threshold;
/// [`Error::DuplicateIndex`], [`Error::InvalidDealing`] naming the dealer.
pub fn new_commitments(
    old: &Commitments,
    new_threshold: usize,
    dealings: &[DealerCommitments],
) -> Result<Commitments, Error> {
    let lambdas = check_dealings(old, new_threshold, dealings)?;
    Ok(combine_commitments(new_threshold, &lambdas, dealings))
}

/// New holder `recipient`'s reshare step: verifies every dealing and
/// sub-share, then returns its new share and the new group commitments.
///
/// `sub_shares` must hold exactly one sub-share from each dealer in
/// `dealings`, addressed to `recipient`.
///
/// # Errors
///
/// [`Error::InvalidIndex`] for recipient 0; [`Error::NotEnoughShares`] for
/// fewer dealers than the old threshold; [`Error::DuplicateIndex`],
/// [`Error::InvalidDealing`], [`Error::MissingSubShare`],
/// [`Error::UnexpectedSubShare`], [`Error::InvalidSubShare`] naming the
/// dealer at fault.
pub fn apply(
    recipient: u8,
    old: &Commitments,
    new_threshold: usize,
    dealings: &[DealerCommitments],
    sub_shares: &[SubShare],
) -> Result<(Share, Commitments), Error> {
    if recipient == 0 {
        return Err(Error::InvalidIndex { index: 0 });
    }
    let lambdas = check_dealings(old, new_threshold, dealings)?;
    let matched = dealing::match_sub_shares(recipient, &dealing::dealers(dealings), sub_shares)?;
    for (sub_share, dealing) in matched.iter().zip(dealings) {
        sub_share.verify(dealing.commitments())?;
    }
    let mut value = Zeroizing::new(Scalar::ZERO);
    for (sub_share, lambda) in matched.iter().zip(&lambdas) {
        *value += lambda * sub_share.expose_secret();
    }
    let share = Share::new(recipient, *value)?;
    Ok((
        share,
        combine_commitments(new_threshold, &lambdas, dealings),
    ))
}

/// Validates the dealings and returns the Lagrange coefficients at 0 over
/// the dealer set, in the order of `dealings`.
fn check_dealings(
    old: &Commitments,
    new_threshold: usize,
    dealings: &[DealerCommitments],
) -> Result<Vec<Scalar>, Error> {
    if new_threshold == 0 || new_threshold > MAX_SHARES {
        return Err(Error::InvalidThreshold {
            threshold: new_threshold,
            shares: MAX_SHARES,
        });
    }
    if dealings.len() < old.threshold() {
        return Err(Error::NotEnoughShares {
            have: dealings.len(),
            need: old.threshold(),
        });
    }
    let dealers = dealing::dealers(dealings);
    dealing::check_indices(&dealers)?;
    dealings
        .iter()
        .try_for_each(|d| verify_dealing(old, new_threshold, d))?;
    lagrange_coefficients(&dealers, Scalar::ZERO)
}

fn combine_commitments(
    new_threshold: usize,
    lambdas: &[Scalar],
    dealings: &[DealerCommitments],
) -> Commitments {
    Commitments::weighted_sum(
        new_threshold,
        lambdas
            .iter()
            .copied()
            .zip(dealings.iter().map(DealerCommitments::commitments)),
    )
}
