//! Proactive refresh of byte shares (Herzberg, Jarecki, Krawczyk and Yung,
//! "Proactive Secret Sharing Or: How to Cope With Perpetual Leakage",
//! CRYPTO 1995, section 3): the same holders end up with new shares of the
//! same secret, and shares from before and after the refresh do not combine.
//!
//! 1. Each holder `i` calls [`deal`]: a random sharing of *zero* (degree
//!    `t - 1`, constant term 0) to every holder, sends each holder its
//!    [`SubShare`] privately and publishes the [`Commitments`].
//! 2. Each holder `j` calls [`apply`] with its old share and what it
//!    received: `s'_j = s_j + sum_i z_i(j)`. Since `sum_i z_i(0) = 0`, the
//!    new shares lie on a new random polynomial with the same constant term.
//!
//! Every holder must apply the dealings of the *same* set of dealers (any
//! non-empty set works), or the new shares no longer fit together: the
//! coordinator fixes the set, and the epoch change commits only once every
//! holder has stored its new share (DESIGN.md section 6).
//!
//! # Security
//!
//! The secret never exists during a refresh. [`apply`] checks every
//! sub-share against its dealer's hash commitment and names the dealer of
//! one that fails, but a hash commitment cannot show that a dealer really
//! shared zero with degree `t - 1` (see [`Commitments`]): a dishonest
//! dealer can change or destroy the secret. Keep the old shares until the
//! refreshed ones have been checked, e.g. by reconstructing a known
//! authenticator or comparing a digest of the secret.

use rand_core::CryptoRng;

use super::commitment::{Purpose, verified};
use super::{Commitments, Dealing, Share, SubShare, check_indices, check_parameters};
use crate::{Error, SecretBytes};

/// Deals a random sharing of zero of `len` bytes and degree
/// `threshold - 1` from holder `dealer` to every holder in `holders`
/// (including the dealer itself).
///
/// `context` identifies this refresh (e.g. key id and epoch number) and is
/// bound into every commitment, so sub-shares cannot be replayed into
/// another session.
///
/// # Errors
///
/// [`Error::InvalidThreshold`] / [`Error::TooManyShares`] unless
/// `1 <= threshold <= holders.len() <= 255`; [`Error::InvalidIndex`] /
/// [`Error::DuplicateIndex`] for bad holder indices, or when `dealer` is
/// not one of `holders` (named as `InvalidIndex`); [`Error::EmptySecret`]
/// when `len` is 0.
///
/// # Security
///
/// The sub-shares are secret: send each only to its recipient. `threshold`
/// must be the threshold of the sharing being refreshed.
pub fn deal<R: CryptoRng + ?Sized>(
    dealer: u8,
    len: usize,
    threshold: usize,
    holders: &[u8],
    context: &[u8],
    rng: &mut R,
) -> Result<Dealing, Error> {
    check_parameters(threshold, holders.len())?;
    check_indices(holders)?;
    if !holders.contains(&dealer) {
        return Err(Error::InvalidIndex {
            index: usize::from(dealer),
        });
    }
    if len == 0 {
        return Err(Error::EmptySecret);
    }
    let values = super::deal_polynomials(None, len, threshold, holders, rng);
    Ok(Dealing::new(
        dealer,
        holders,
        values,
        Purpose::Refresh,
        context,
        rng,
    ))
}

/// Adds to `old` the sub-shares it received, after checking each against
/// its dealer's commitments; returns the refreshed share (same index).
///
/// `commitments` holds one list per dealer of this refresh (every holder
/// must be given the same lists); `received` must hold exactly one
/// sub-share from each of those dealers, addressed to `old.index()`.
///
/// # Errors
///
/// [`Error::NotEnoughShares`] when `commitments` is empty;
/// [`Error::DuplicateIndex`] for two lists from one dealer;
/// [`Error::UnexpectedSubShare`], [`Error::MissingSubShare`],
/// [`Error::LengthMismatch`] (naming the dealer) for a sub-share that does
/// not belong to this set; [`Error::InvalidSubShare`] naming the dealer of
/// a sub-share that does not match its commitment.
///
/// # Security
///
/// See the module documentation: a dishonest dealer is detected only if
/// its sub-share was altered after it committed.
pub fn apply(
    old: &Share,
    received: &[SubShare],
    commitments: &[Commitments],
    context: &[u8],
) -> Result<Share, Error> {
    if commitments.is_empty() {
        return Err(Error::NotEnoughShares { have: 0, need: 1 });
    }
    let sub_shares = verified(
        old.index(),
        Some(old.len()),
        received,
        commitments,
        Purpose::Refresh,
        context,
    )?;
    let mut values: Vec<&[u8]> = Vec::with_capacity(sub_shares.len() + 1);
    values.push(old.expose_secret());
    values.extend(sub_shares.iter().map(|s| s.expose_secret()));
    let ones = vec![1u8; values.len()];
    let value: SecretBytes = super::linear_combination(&values, &ones, old.len());
    Share::new(old.index(), value)
}
