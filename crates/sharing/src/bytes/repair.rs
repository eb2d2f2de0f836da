//! Enrollment repair of one lost byte share (Laing and Stinson, "A Survey
//! and Refinement of Repairable Threshold Schemes", J. Math. Cryptol. 2018,
//! section 4.1; the protocol of FROST's `repairable` module): `t` helpers
//! holding shares `s_i` rebuild the share `s_j = f(j)` of a new or
//! replacement holder `j` without the secret or any helper's share being
//! revealed.
//!
//! 1. Each helper `i` calls [`compute_deltas`]: it computes
//!    `lambda_i(j) * s_i` (`lambda_i(j)` the Lagrange coefficient of `i`
//!    over the helpers' indices, evaluated at `j`), splits it into one
//!    random additive piece ([`Delta`]) per helper (itself included), and
//!    sends each helper its piece privately.
//! 2. Each helper `k` calls [`sum_deltas`] on the pieces it received and
//!    sends the [`DeltaSum`] to `j` privately.
//! 3. Holder `j` calls [`recover_share`]: the sum of the sums is
//!    `sum_i lambda_i(j) * s_i = f(j)`.
//!
//! Every helper must use the same helper set.
//!
//! # Security
//!
//! Each piece a helper sends in step 1 is uniformly random on its own,
//! and each sum in step 2 is masked by pieces the other helpers hold, so
//! neither the coordinator relaying them nor the new holder learns any
//! helper's share; the secret never exists. Pieces and sums are not
//! verifiable (GF(2^8) has no homomorphic commitment): a dishonest helper
//! can make the repaired share wrong. Check the repaired share against a
//! digest of the lost one if one was kept (e.g. from heartbeats).

use rand_core::CryptoRng;

use super::{Share, check_indices, lagrange_coefficients, linear_combination};
use crate::{Error, SecretBytes};

/// A piece of helper `from`'s contribution to the repair of share `target`,
/// for helper `to` (step 1 output). Secret: zeroized on drop, redacted
/// under `Debug`.
#[derive(Clone)]
pub struct Delta {
    from: u8,
    to: u8,
    target: u8,
    value: SecretBytes,
}

/// The sum of the pieces helper `helper` received for the repair of share
/// `target` (step 2 output). Secret: zeroized on drop, redacted under
/// `Debug`.
#[derive(Clone)]
pub struct DeltaSum {
    helper: u8,
    target: u8,
    value: SecretBytes,
}

impl Delta {
    /// Rebuilds a piece from its parts (e.g. after transport).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidIndex`] when an index is 0.
    pub fn new(from: u8, to: u8, target: u8, value: SecretBytes) -> Result<Self, Error> {
        if from == 0 || to == 0 || target == 0 {
            return Err(Error::InvalidIndex { index: 0 });
        }
        Ok(Self {
            from,
            to,
            target,
            value,
        })
    }

    /// The helper that computed it.
    pub fn from(&self) -> u8 {
        self.from
    }

    /// The helper it is for.
    pub fn to(&self) -> u8 {
        self.to
    }

    /// The index of the share being repaired.
    pub fn target(&self) -> u8 {
        self.target
    }

    /// The piece's value.
    pub fn expose_secret(&self) -> &[u8] {
        self.value.expose_secret()
    }
}

impl DeltaSum {
    /// Rebuilds a sum from its parts (e.g. after transport).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidIndex`] when an index is 0.
    pub fn new(helper: u8, target: u8, value: SecretBytes) -> Result<Self, Error> {
        if helper == 0 || target == 0 {
            return Err(Error::InvalidIndex { index: 0 });
        }
        Ok(Self {
            helper,
            target,
            value,
        })
    }

    /// The helper that summed it.
    pub fn helper(&self) -> u8 {
        self.helper
    }

    /// The index of the share being repaired.
    pub fn target(&self) -> u8 {
        self.target
    }

    /// The sum's value.
    pub fn expose_secret(&self) -> &[u8] {
        self.value.expose_secret()
    }
}

impl core::fmt::Debug for Delta {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Delta")
            .field("from", &self.from)
            .field("to", &self.to)
            .field("target", &self.target)
            .field("value", &"<redacted>")
            .finish()
    }
}

impl core::fmt::Debug for DeltaSum {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DeltaSum")
            .field("helper", &self.helper)
            .field("target", &self.target)
            .field("value", &"<redacted>")
            .finish()
    }
}

impl zeroize::Zeroize for Delta {
    fn zeroize(&mut self) {
        self.value.zeroize();
    }
}

impl zeroize::Zeroize for DeltaSum {
    fn zeroize(&mut self) {
        self.value.zeroize();
    }
}

/// Checks the helper set and the target: distinct non-zero helpers, at
/// least `threshold` of them, `target` non-zero and not a helper.
fn check_helpers(helpers: &[u8], target: u8, threshold: usize) -> Result<(), Error> {
    check_indices(helpers)?;
    let need = threshold.max(1);
    if helpers.len() < need {
        return Err(Error::NotEnoughShares {
            have: helpers.len(),
            need,
        });
    }
    if target == 0 || helpers.contains(&target) {
        return Err(Error::InvalidIndex {
            index: usize::from(target),
        });
    }
    Ok(())
}

/// Step 1, at helper `share.index()`: its contribution
/// `lambda_i(target) * s_i`, split into one random piece per helper, in the
/// order of `helpers`.
///
/// # Errors
///
/// [`Error::InvalidIndex`] / [`Error::DuplicateIndex`] for bad helper
/// indices, a zero `target`, a `target` among the helpers, or a share whose
/// index is not among them; [`Error::NotEnoughShares`] for fewer than
/// `threshold` helpers; [`Error::EmptySecret`] for an empty share.
///
/// # Security
///
/// The pieces are secret: send each only to its helper.
pub fn compute_deltas<R: CryptoRng + ?Sized>(
    share: &Share,
    helpers: &[u8],
    target: u8,
    threshold: usize,
    rng: &mut R,
) -> Result<Vec<Delta>, Error> {
    check_helpers(helpers, target, threshold)?;
    let position = helpers
        .iter()
        .position(|&h| h == share.index())
        .ok_or(Error::InvalidIndex {
            index: usize::from(share.index()),
        })?;
    if share.is_empty() {
        return Err(Error::EmptySecret);
    }
    let len = share.len();
    let lambda = lagrange_coefficients(helpers, target)
        .get(position)
        .copied()
        .unwrap_or(0);
    // Random pieces for every helper but the last; the last one makes the
    // pieces sum to lambda * s_i.
    let mut pieces: Vec<SecretBytes> = Vec::with_capacity(helpers.len());
    for _ in 1..helpers.len() {
        let mut piece = SecretBytes::new(vec![0u8; len]);
        rng.fill_bytes(piece.expose_secret_mut());
        pieces.push(piece);
    }
    let mut values: Vec<&[u8]> = vec![share.expose_secret()];
    values.extend(pieces.iter().map(SecretBytes::expose_secret));
    let mut coefficients = vec![1u8; values.len()];
    if let Some(first) = coefficients.first_mut() {
        *first = lambda;
    }
    let last = linear_combination(&values, &coefficients, len);
    pieces.push(last);
    helpers
        .iter()
        .zip(pieces)
        .map(|(&to, value)| Delta::new(share.index(), to, target, value))
        .collect()
}

/// Step 2, at helper `helper`: sums the pieces it received, exactly one
/// from every helper (itself included).
///
/// # Errors
///
/// As [`compute_deltas`] for the helper set and target, plus
/// [`Error::InvalidIndex`] when `helper` is not in it;
/// [`Error::UnexpectedSubShare`] (naming sender and recipient) for a piece
/// from outside the set, for another helper or target, or repeated;
/// [`Error::MissingSubShare`] when a helper's piece is absent;
/// [`Error::LengthMismatch`] naming the sender of a piece of another length.
pub fn sum_deltas(
    helper: u8,
    helpers: &[u8],
    target: u8,
    received: &[Delta],
) -> Result<DeltaSum, Error> {
    check_helpers(helpers, target, 1)?;
    if !helpers.contains(&helper) {
        return Err(Error::InvalidIndex {
            index: usize::from(helper),
        });
    }
    let values = one_from_each(helpers, helper, received, |d| {
        (d.from, d.to == helper && d.target == target, &d.value)
    })?;
    let len = values.first().map_or(0, |v| v.len());
    let ones = vec![1u8; values.len()];
    Ok(DeltaSum {
        helper,
        target,
        value: linear_combination(&values, &ones, len),
    })
}

/// Step 3, at the new holder: adds the helpers' sums, exactly one from
/// every helper, into its share `target`.
///
/// # Errors
///
/// As [`compute_deltas`] for the helper set and target, plus
/// [`Error::UnexpectedSubShare`] for a sum from outside the set, for
/// another target, or repeated; [`Error::MissingSubShare`] when a
/// helper's sum is absent; [`Error::LengthMismatch`] naming the helper of a
/// sum of another length.
pub fn recover_share(target: u8, helpers: &[u8], sums: &[DeltaSum]) -> Result<Share, Error> {
    check_helpers(helpers, target, 1)?;
    let values = one_from_each(helpers, target, sums, |s| {
        (s.helper, s.target == target, &s.value)
    })?;
    let len = values.first().map_or(0, |v| v.len());
    let ones = vec![1u8; values.len()];
    Share::new(target, linear_combination(&values, &ones, len))
}

/// Picks exactly one item from each of `senders`, in that order, refusing
/// extra, foreign or misaddressed ones and unequal lengths. `parts`
/// returns an item's sender, whether it is addressed right, and its value.
fn one_from_each<'a, T>(
    senders: &[u8],
    recipient: u8,
    items: &'a [T],
    parts: impl Fn(&'a T) -> (u8, bool, &'a SecretBytes),
) -> Result<Vec<&'a [u8]>, Error> {
    let mut by_sender: [Option<&'a SecretBytes>; 256] = [None; 256];
    for item in items {
        let (sender, addressed, value) = parts(item);
        let unexpected = Error::UnexpectedSubShare {
            dealer: sender,
            recipient,
        };
        if !addressed || !senders.contains(&sender) {
            return Err(unexpected);
        }
        let slot = by_sender
            .get_mut(usize::from(sender))
            .ok_or(unexpected.clone())?;
        if slot.is_some() {
            return Err(unexpected);
        }
        *slot = Some(value);
    }
    let mut values = Vec::with_capacity(senders.len());
    let mut expected = None;
    for &sender in senders {
        let value = by_sender
            .get(usize::from(sender))
            .copied()
            .flatten()
            .ok_or(Error::MissingSubShare {
                dealer: sender,
                recipient,
            })?;
        let expected = *expected.get_or_insert(value.len());
        if value.len() != expected {
            return Err(Error::LengthMismatch {
                index: sender,
                len: value.len(),
                expected,
            });
        }
        values.push(value.expose_secret());
    }
    Ok(values)
}
