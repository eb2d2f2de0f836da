//! Resharing byte shares to a new committee and/or new `(t', n')`
//! (Desmedt and Jajodia, "Redistributing Secret Shares to New Access
//! Structures and Its Applications", GMU tech. report ISSE-TR-97-01, 1997;
//! Wong, Wang and Wing, "Verifiable Secret Redistribution for Archive
//! Systems", IEEE SISW 2002, without the Feldman part).
//!
//! 1. Each of at least `t` old holders `i` calls [`deal`]: it shares its own
//!    share `s_i` with a fresh polynomial `g_i` of degree `t' - 1` to the new
//!    holders, sends new holder `j` the [`SubShare`] `g_i(j)` privately and
//!    publishes the [`Commitments`].
//! 2. Each new holder `j` calls [`combine`]: after checking every sub-share
//!    against its dealer's commitments it computes
//!    `s'_j = sum_i lambda_i * g_i(j)`, with `lambda_i` the Lagrange
//!    coefficients of the dealers' indices at 0. The `s'_j` are a
//!    `(t', n')` sharing of `sum_i lambda_i * s_i`, the old secret.
//!
//! Every new holder must combine the dealings of the *same* set of dealers.
//! The old shares are destroyed only after every new holder has stored its
//! new share (the two-phase epoch change of DESIGN.md section 6).
//!
//! # Security
//!
//! The secret never exists during a reshare. Each new holder checks its
//! sub-shares against the dealers' hash commitments and a mismatch names
//! the dealer ([`Error::InvalidSubShare`]). Hash commitments detect a
//! sub-share tampered with in transit or after the fact, but, unlike
//! Feldman commitments, cannot prove that a dealer's sub-shares are
//! consistent or that it dealt its true share: GF(2^8) has no homomorphic
//! commitment (see [`Commitments`]). A dishonest old holder can therefore
//! make the new sharing encode a wrong secret; check the result (e.g. a
//! digest of the secret or a known authenticator) before destroying the old
//! shares.

use rand_core::CryptoRng;

use super::commitment::{Purpose, verified};
use super::{
    Commitments, Dealing, Share, SubShare, check_indices, check_parameters, lagrange_coefficients,
};
use crate::Error;

/// Re-shares the old holder's `share` to `new_holders` with threshold
/// `new_threshold`.
///
/// `context` identifies this reshare (e.g. key id and the old and new
/// epoch numbers) and is bound into every commitment.
///
/// # Errors
///
/// [`Error::InvalidThreshold`] / [`Error::TooManyShares`] unless
/// `1 <= new_threshold <= new_holders.len() <= 255`;
/// [`Error::InvalidIndex`] / [`Error::DuplicateIndex`] for bad new holder
/// indices; [`Error::EmptySecret`] for an empty share.
///
/// # Security
///
/// The sub-shares are secret: send each only to its recipient.
pub fn deal<R: CryptoRng + ?Sized>(
    share: &Share,
    new_threshold: usize,
    new_holders: &[u8],
    context: &[u8],
    rng: &mut R,
) -> Result<Dealing, Error> {
    check_parameters(new_threshold, new_holders.len())?;
    check_indices(new_holders)?;
    if share.is_empty() {
        return Err(Error::EmptySecret);
    }
    let values = super::deal_polynomials(
        Some(share.expose_secret()),
        share.len(),
        new_threshold,
        new_holders,
        rng,
    );
    Ok(Dealing::new(
        share.index(),
        new_holders,
        values,
        Purpose::Reshare,
        context,
        rng,
    ))
}

/// Builds new holder `recipient`'s share from the sub-shares it received,
/// after checking each against its dealer's commitments.
///
/// `commitments` holds one list per dealer (old holder) taking part, the
/// same lists for every new holder; there must be at least `old_threshold`
/// of them. `received` must hold exactly one sub-share from each of those
/// dealers, addressed to `recipient`.
///
/// # Errors
///
/// [`Error::InvalidIndex`] for `recipient == 0`; [`Error::NotEnoughShares`]
/// for fewer than `old_threshold` (or no) dealers;
/// [`Error::DuplicateIndex`] for two lists from one dealer;
/// [`Error::UnexpectedSubShare`], [`Error::MissingSubShare`],
/// [`Error::LengthMismatch`] (naming the dealer) for a sub-share that does
/// not belong to this set; [`Error::InvalidSubShare`] naming the dealer of
/// a sub-share that does not match its commitment.
///
/// # Security
///
/// See the module documentation: the commitments catch tampering with a
/// sub-share, not a dealer that dealt a wrong one.
pub fn combine(
    recipient: u8,
    old_threshold: usize,
    received: &[SubShare],
    commitments: &[Commitments],
    context: &[u8],
) -> Result<Share, Error> {
    if recipient == 0 {
        return Err(Error::InvalidIndex { index: 0 });
    }
    let need = old_threshold.max(1);
    if commitments.len() < need {
        return Err(Error::NotEnoughShares {
            have: commitments.len(),
            need,
        });
    }
    let sub_shares = verified(
        recipient,
        None,
        received,
        commitments,
        Purpose::Reshare,
        context,
    )?;
    let dealers: Vec<u8> = sub_shares.iter().map(|s| s.dealer()).collect();
    let lambdas = lagrange_coefficients(&dealers, 0);
    let values: Vec<&[u8]> = sub_shares.iter().map(|s| s.expose_secret()).collect();
    let len = sub_shares.first().map_or(0, |s| s.len());
    Share::new(recipient, super::linear_combination(&values, &lambdas, len))
}
