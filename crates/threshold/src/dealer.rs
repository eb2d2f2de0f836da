//! The trusted dealer both key kinds share: frost-core's
//! `generate_with_dealer` (RFC 9591, Appendix C: Shamir sharing of a fresh
//! key with a Feldman commitment) for participants `1..=n`, behind this
//! crate's threshold check and RNG bridge.

use frost_core::Ciphersuite;
use frost_core::keys::{IdentifierList, PublicKeyPackage, SecretShare, generate_with_dealer};
use rand_core::CryptoRng;

use crate::Error;
use crate::error::from_frost;
use crate::participant::check_threshold;
use crate::rng::Rng06;

/// The secret shares of a fresh key for participants `1..=participants`,
/// in that order, and the public key package.
///
/// # Errors
///
/// [`Error::InvalidThreshold`] unless `2 <= threshold <= participants`.
pub(crate) fn deal<C: Ciphersuite, R: CryptoRng + ?Sized>(
    threshold: u16,
    participants: u16,
    rng: &mut R,
) -> Result<(impl Iterator<Item = SecretShare<C>>, PublicKeyPackage<C>), Error> {
    check_threshold(threshold, participants)?;
    let (shares, public) = generate_with_dealer(
        participants,
        threshold,
        IdentifierList::Default,
        &mut Rng06(rng),
    )
    .map_err(from_frost)?;
    Ok((shares.into_values(), public))
}
