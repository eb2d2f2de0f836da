//! Participant indices (custodian slots `1..=n`) and their frost
//! [`Identifier`]s, the scalars `1..=n` of the ciphersuite's field.

use std::collections::BTreeMap;

use frost_core::{Ciphersuite, Identifier};

use crate::Error;

/// The most participants a key may have: a cluster has at most 255
/// custodian slots per key (share indices are `1..=255`).
pub const MAX_PARTICIPANTS: u16 = 255;

/// Checks `2 <= threshold <= participants <= MAX_PARTICIPANTS`. Every
/// dealer, DKG and key decoder goes through here, so a decoded key cannot
/// make the Lagrange consistency check (quadratic in the threshold, linear
/// in the participants) run for a long time.
pub(crate) fn check_threshold(threshold: u16, participants: u16) -> Result<(), Error> {
    if participants > MAX_PARTICIPANTS {
        return Err(Error::TooManyParticipants {
            participants,
            max: MAX_PARTICIPANTS,
        });
    }
    if threshold < 2 || threshold > participants {
        return Err(Error::InvalidThreshold {
            threshold,
            participants,
        });
    }
    Ok(())
}

/// The frost identifier of participant `index` (the scalar `index`).
pub(crate) fn identifier<C: Ciphersuite>(index: u16) -> Result<Identifier<C>, Error> {
    Identifier::try_from(index).map_err(|_| Error::InvalidIndex { index })
}

/// The participant index of `id`, if it is one of the scalars `1..=65535`.
///
/// Both ciphersuites used here encode scalars little-endian; the round trip
/// through [`identifier`] makes the mapping exact whatever the encoding.
pub(crate) fn index_of<C: Ciphersuite>(id: &Identifier<C>) -> Option<u16> {
    let bytes = id.serialize();
    let (low, high) = bytes.split_at_checked(2)?;
    if high.iter().any(|&b| b != 0) {
        return None;
    }
    let index = u16::from_le_bytes(low.try_into().ok()?);
    let back = identifier::<C>(index).ok()?;
    (back == *id).then_some(index)
}

/// The participant index of `id`, or a decoding error for `what`.
pub(crate) fn decode_index<C: Ciphersuite>(
    what: &'static str,
    id: &Identifier<C>,
) -> Result<u16, Error> {
    index_of(id).ok_or(Error::Malformed {
        what,
        reason: "identifier is not a participant index",
    })
}

/// Re-keys a map by frost identifier.
pub(crate) fn to_frost_map<C: Ciphersuite, V, W>(
    map: &BTreeMap<u16, V>,
    convert: impl Fn(&V) -> W,
) -> Result<BTreeMap<Identifier<C>, W>, Error> {
    map.iter()
        .map(|(&index, value)| Ok((identifier::<C>(index)?, convert(value))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use frost_ed25519::Ed25519Sha512;
    use frost_ristretto255::Ristretto255Sha512;

    #[test]
    fn index_round_trips() {
        for index in [1u16, 2, 255, 256, 4242, u16::MAX] {
            let id = identifier::<Ed25519Sha512>(index).unwrap();
            assert_eq!(index_of(&id), Some(index));
            let id = identifier::<Ristretto255Sha512>(index).unwrap();
            assert_eq!(index_of(&id), Some(index));
        }
        assert_eq!(
            identifier::<Ed25519Sha512>(0),
            Err(Error::InvalidIndex { index: 0 })
        );
    }

    #[test]
    fn derived_identifiers_are_not_indices() {
        let id = Identifier::<Ed25519Sha512>::derive(b"alice").unwrap();
        assert_eq!(index_of(&id), None);
    }

    #[test]
    fn thresholds() {
        assert!(check_threshold(2, 2).is_ok());
        assert!(check_threshold(3, 5).is_ok());
        assert_eq!(
            check_threshold(1, 5),
            Err(Error::InvalidThreshold {
                threshold: 1,
                participants: 5
            })
        );
        assert!(check_threshold(2, MAX_PARTICIPANTS).is_ok());
        assert_eq!(
            check_threshold(2, MAX_PARTICIPANTS + 1),
            Err(Error::TooManyParticipants {
                participants: MAX_PARTICIPANTS + 1,
                max: MAX_PARTICIPANTS
            })
        );
        assert_eq!(
            check_threshold(6, 5),
            Err(Error::InvalidThreshold {
                threshold: 6,
                participants: 5
            })
        );
    }
}
