//! Proactive refresh: same holders, new shares of the same secret
//! (Herzberg, Jarecki, Krawczyk, Yung, "Proactive secret sharing or: how to
//! cope with perpetual leakage", CRYPTO 1995, section 3; DESIGN.md section 6).
//!
//! Every holder `d` deals a verifiable sharing of **zero** to all holders
//! ([`deal`]): a random polynomial `g_d` with `g_d(0) = 0`, published as
//! Feldman commitments whose constant term is the identity. Each holder `i`
//! checks every dealer's commitments and sub-share ([`apply`]) and sets
//! `s_i' = s_i + sum_d g_d(i)`. The group commitments become the
//! coefficient-wise sums, so the public key `A_0` is unchanged while every
//! share and every other commitment changes (with threshold 1 each share is
//! the secret itself, so there is nothing to refresh).
//!
//! # Security
//!
//! Shares of different epochs do not combine: after refresh, `t - 1` old
//! shares and one new share (or vice versa) interpolate to garbage. A refresh
//! protects against an adversary who saw old shares only if at least one
//! dealer was honest, so every holder should deal; all holders must apply the
//! same set of dealings, which they confirm by comparing
//! [`Commitments::digest`] of the result.

use rand_core::CryptoRng;
use zeroize::Zeroizing;

use curve25519_dalek::Scalar;
use curve25519_dalek::traits::IsIdentity;

use super::{Commitments, DealerCommitments, Dealing, Share, SubShare, dealing};
use crate::Error;

/// Holder `dealer`'s refresh dealing: a sharing of zero with the group's
/// threshold to `recipients` (normally every holder, itself included).
///
/// # Errors
///
/// [`Error::InvalidIndex`], [`Error::DuplicateIndex`] for bad indices;
/// [`Error::InvalidThreshold`], [`Error::TooManyShares`] when there are
/// fewer recipients than the group threshold or more than 255.
///
/// # Security
///
/// The sub-shares are secret: seal each one to its recipient.
pub fn deal<R: CryptoRng + ?Sized>(
    dealer: u8,
    group: &Commitments,
    recipients: &[u8],
    rng: &mut R,
) -> Result<Dealing, Error> {
    if dealer == 0 {
        return Err(Error::InvalidIndex { index: 0 });
    }
    dealing::deal(dealer, &Scalar::ZERO, group.threshold(), recipients, rng)
}

/// Checks that a dealer's public commitments are a refresh dealing for
/// `group`: the same number of commitments, and a constant term equal to the
/// identity (a sharing of zero, so the secret does not move).
///
/// # Errors
///
/// [`Error::InvalidDealing`] naming the dealer.
pub fn verify_dealing(group: &Commitments, dealing: &DealerCommitments) -> Result<(), Error> {
    if dealing.commitments().threshold() != group.threshold() {
        return Err(Error::InvalidDealing {
            dealer: dealing.dealer(),
            reason: "threshold differs from the group's",
        });
    }
    if !dealing.commitments().public_key().is_identity() {
        return Err(Error::InvalidDealing {
            dealer: dealing.dealer(),
            reason: "refresh dealing is not a sharing of zero",
        });
    }
    Ok(())
}

/// The group commitments after refresh: `group + sum_d C_d`, coefficient-wise.
///
/// # Errors
///
/// [`Error::NotEnoughShares`] for no dealings; [`Error::DuplicateIndex`] for
/// a repeated dealer; [`Error::InvalidDealing`] as in [`verify_dealing`].
pub fn new_commitments(
    group: &Commitments,
    dealings: &[DealerCommitments],
) -> Result<Commitments, Error> {
    check_dealings(group, dealings)?;
    Ok(group.plus(dealings.iter().map(DealerCommitments::commitments)))
}

/// Holder `share.index()`'s refresh step: checks its own share against the
/// group commitments, every dealing with [`verify_dealing`], and every
/// sub-share against its dealer's commitments, then returns the new share and
/// the new group commitments.
///
/// `sub_shares` must hold exactly one sub-share from each dealer in
/// `dealings`, addressed to this holder.
///
/// # Errors
///
/// [`Error::InvalidShare`] when the holder's own share does not match
/// `group`; [`Error::NotEnoughShares`] for no dealings;
/// [`Error::DuplicateIndex`], [`Error::InvalidDealing`],
/// [`Error::MissingSubShare`], [`Error::UnexpectedSubShare`],
/// [`Error::InvalidSubShare`] each naming the dealer at fault.
pub fn apply(
    share: &Share,
    group: &Commitments,
    dealings: &[DealerCommitments],
    sub_shares: &[SubShare],
) -> Result<(Share, Commitments), Error> {
    super::verify(share, group)?;
    check_dealings(group, dealings)?;
    let matched =
        dealing::match_sub_shares(share.index(), &dealing::dealers(dealings), sub_shares)?;
    for (sub_share, dealing) in matched.iter().zip(dealings) {
        sub_share.verify(dealing.commitments())?;
    }
    let mut value = Zeroizing::new(*share.expose_secret());
    for sub_share in &matched {
        *value += sub_share.expose_secret();
    }
    let refreshed = Share::new(share.index(), *value)?;
    Ok((
        refreshed,
        group.plus(dealings.iter().map(DealerCommitments::commitments)),
    ))
}

fn check_dealings(group: &Commitments, dealings: &[DealerCommitments]) -> Result<(), Error> {
    if dealings.is_empty() {
        return Err(Error::NotEnoughShares { have: 0, need: 1 });
    }
    let dealers = dealing::dealers(dealings);
    dealing::check_indices(&dealers)?;
    dealings.iter().try_for_each(|d| verify_dealing(group, d))
}
