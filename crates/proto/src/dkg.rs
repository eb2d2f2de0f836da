//! Distributed key generation among custodians (`symbolon key create
//! --dkg`): the custodians run FROST's DKG (Pedersen with proofs of
//! knowledge; `symbolon_threshold::dkg`) among themselves and the
//! coordinator only relays. The key never exists anywhere.
//!
//! Custodian endpoints (coordinator certificates), for one session id
//! (random hex, chosen by the coordinator):
//!
//! 1. `POST /v1/dkg/{session}/round1` — [`DkgStart`] → [`DkgRound1`]: the
//!    custodian draws its polynomial, keeps the secret state in memory and
//!    returns its round-1 broadcast package.
//! 2. `POST /v1/dkg/{session}/round2` — [`DkgRound2Request`] (every
//!    participant's round-1 package, its own included unchanged) →
//!    [`DkgRound2`]: the custodian checks every proof of knowledge and
//!    returns, for each other participant `j`, its round-2 package as a
//!    shard envelope sealed to `j`'s recipient key (HPKE) and signed with
//!    its own identity key — confidential and authenticated, so the
//!    coordinator relaying it can neither read nor forge it. The envelope
//!    metadata's `commitment` is [`round1_digest`] of the round-1 set, so a
//!    recipient that saw a different set refuses it (no equivocation by the
//!    relay).
//! 3. `POST /v1/dkg/{session}/finish` — [`DkgFinish`] (the round-2
//!    envelopes addressed to this custodian) → [`DkgDone`]: the custodian
//!    opens each (signer must be the sender's recipient key), checks every
//!    share against its sender's commitments, derives its key share and
//!    the group key, stores the share, and answers the group's public side.
//!    The coordinator creates the key only if every custodian reports the
//!    same group.
//! 4. `DELETE /v1/dkg/{session}` — drop the session and any share it
//!    stored (204, idempotent): a DKG that failed leaves nothing behind.
//!
//! A participant whose proof of knowledge or share is bad is named: the
//! custodian that detects it answers 422 `dkg-participant-failed` with the
//! culprit in the problem's `custodians`.

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use utoipa::ToSchema;

use crate::api::KeyKind;

/// One participant of a DKG.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DkgParticipant {
    /// Its participant index (`1..=n`, the share index).
    pub index: u16,
    /// The custodian's id.
    pub custodian_id: String,
    /// Its recipient string (`symbolon1…`): round-2 packages are sealed to
    /// it, and the ones it sends are signed by it.
    pub recipient: String,
}

/// Starts a DKG session on one custodian.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DkgStart {
    /// The key id (as in the shard envelopes).
    pub key_id: String,
    /// The key version (1 for a new key).
    pub version: u64,
    /// `ed25519` or `ristretto255`.
    pub kind: KeyKind,
    /// The threshold `t`.
    pub threshold: u16,
    /// Every participant, by index `1..=n`.
    pub participants: Vec<DkgParticipant>,
    /// A label for the stored share (`key NAME version 1`).
    pub label: String,
}

/// A custodian's round-1 broadcast.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DkgRound1 {
    /// The custodian's id.
    pub custodian_id: String,
    /// Its participant index.
    pub index: u16,
    /// Its `Round1Package` bytes (public).
    #[serde(with = "crate::b64")]
    #[schema(value_type = String, format = Byte)]
    pub package: Vec<u8>,
}

/// One participant's round-1 package, as relayed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DkgPackage {
    /// The sender's index.
    pub index: u16,
    /// The package bytes.
    #[serde(with = "crate::b64")]
    #[schema(value_type = String, format = Byte)]
    pub package: Vec<u8>,
}

/// Round 2: every participant's round-1 package.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DkgRound2Request {
    /// All `n` round-1 packages, by index.
    pub round1: Vec<DkgPackage>,
}

/// A custodian's round-2 packages, each sealed to its recipient.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DkgRound2 {
    /// The custodian's id.
    pub custodian_id: String,
    /// Its participant index.
    pub index: u16,
    /// One binary shard envelope per other participant, by recipient index
    /// (`DkgPackage::index` is the recipient here).
    pub sealed: Vec<DkgPackage>,
}

/// Round 3: the round-2 envelopes addressed to this custodian.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DkgFinish {
    /// One envelope from each other participant (`index` = sender).
    pub round2: Vec<DkgPackage>,
}

/// A custodian's result: it holds its share, and this is the group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DkgDone {
    /// The custodian's id.
    pub custodian_id: String,
    /// Its participant index.
    pub index: u16,
    /// The group's public side (`GroupKey`/`GroupPublic` bytes).
    #[serde(with = "crate::b64")]
    #[schema(value_type = String, format = Byte)]
    pub group: Vec<u8>,
    /// The canonical metadata of the envelope it stored its share in (the
    /// coordinator records it as the placement's metadata).
    #[serde(with = "crate::b64")]
    #[schema(value_type = String, format = Byte)]
    pub metadata: Vec<u8>,
    /// BLAKE3 of the stored envelope (as later reported in heartbeats).
    #[serde(with = "crate::hex32")]
    #[schema(value_type = String)]
    pub digest: [u8; 32],
}

/// The digest every round-2 envelope commits to: SHA-256 over a domain
/// tag, the key id, version, kind, threshold and label, every participant (index,
/// custodian id, recipient) in index order, and every round-1 package in
/// index order (length-prefixed). A custodian shown another participant
/// list or another round-1 set than its peers therefore refuses their
/// round-2 packages.
pub fn round1_digest(start: &DkgStart, round1: &[DkgPackage]) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(b"symbolon dkg round1 v1\0");
    let mut fields = Vec::new();
    crate::encoding::put_str(&mut fields, &start.key_id);
    fields.extend_from_slice(&start.version.to_be_bytes());
    crate::encoding::put_str(&mut fields, start.kind.as_str());
    fields.extend_from_slice(&start.threshold.to_be_bytes());
    crate::encoding::put_str(&mut fields, &start.label);
    let mut participants: Vec<&DkgParticipant> = start.participants.iter().collect();
    participants.sort_by_key(|p| p.index);
    fields.extend_from_slice(
        &u32::try_from(participants.len())
            .unwrap_or(u32::MAX)
            .to_be_bytes(),
    );
    for participant in participants {
        fields.extend_from_slice(&participant.index.to_be_bytes());
        crate::encoding::put_str(&mut fields, &participant.custodian_id);
        crate::encoding::put_str(&mut fields, &participant.recipient);
    }
    hash.update(&fields);
    let mut sorted: Vec<&DkgPackage> = round1.iter().collect();
    sorted.sort_by_key(|p| p.index);
    for package in sorted {
        hash.update(package.index.to_be_bytes());
        hash.update(
            u64::try_from(package.package.len())
                .unwrap_or(u64::MAX)
                .to_be_bytes(),
        );
        hash.update(&package.package);
    }
    hash.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start() -> DkgStart {
        DkgStart {
            key_id: "k".into(),
            version: 1,
            kind: KeyKind::Ed25519,
            threshold: 2,
            participants: Vec::new(),
            label: "key k version 1".into(),
        }
    }

    #[test]
    fn the_round1_digest_binds_every_package_and_the_parameters() {
        let set = vec![
            DkgPackage {
                index: 2,
                package: vec![2; 40],
            },
            DkgPackage {
                index: 1,
                package: vec![1; 40],
            },
        ];
        let base = round1_digest(&start(), &set);
        let mut reordered = set.clone();
        reordered.reverse();
        assert_eq!(round1_digest(&start(), &reordered), base);
        let mut changed = set.clone();
        changed[0].package[5] ^= 1;
        assert_ne!(round1_digest(&start(), &changed), base);
        let mut other = start();
        other.threshold = 3;
        assert_ne!(round1_digest(&other, &set), base);
        let mut other = start();
        other.kind = KeyKind::Ristretto255;
        assert_ne!(round1_digest(&other, &set), base);
        let mut other = start();
        other.label.push('!');
        assert_ne!(round1_digest(&other, &set), base);
        let mut other = start();
        other.participants.push(DkgParticipant {
            index: 1,
            custodian_id: "c1".into(),
            recipient: "symbolon1x".into(),
        });
        let with_one = round1_digest(&other, &set);
        assert_ne!(with_one, base);
        other.participants[0].recipient.push('y');
        assert_ne!(round1_digest(&other, &set), with_one);
        assert_ne!(round1_digest(&start(), &set[..1]), base);
    }
}
