//! Rebuilding a `secret` key for one operation from any `t` custodians.
//!
//! The coordinator draws a fresh ephemeral HPKE key and asks custodians
//! ([`crate::fanout::gather`]) for their shares sealed to it. Each answer is
//! opened under the request's context and checked against the share
//! commitment recorded when the key was dealt; a share that fails is
//! reported with its custodian and the operation goes on with the others.
//! With `t` good shares the rest are abandoned, the key is combined into
//! locked memory, and the caller uses it and drops it (wiped).

use symbolon_envelope::verify_plaintext;
use symbolon_proto::custodian::{ReleaseRequest, ReleaseResponse};
use symbolon_proto::release::{EphemeralKey, ReleaseContext};
use symbolon_sharing::SecretBytes;
use symbolon_sharing::bytes::{self, Share};

use crate::fanout::{self, Bundle, Done, Failure, NotEnough};
use crate::locked::LockedSecret;
use crate::state::{AppState, Key, Slot, Version};

/// Why the key could not be rebuilt.
#[derive(Debug)]
pub(crate) enum RebuildError {
    /// Fewer than `t` custodians returned a valid share.
    NotEnough(NotEnough),
    /// Shares that each passed their commitment do not combine: the stored
    /// placement is inconsistent (ours, not a custodian's fault).
    Combine(symbolon_sharing::Error),
}

/// Rebuilds `version` of `key` for the request in `bundle`, from shares
/// sealed to `ephemeral`.
pub(crate) async fn rebuild(
    state: &AppState,
    key: &Key,
    version: &Version,
    ephemeral: &EphemeralKey,
    bundle: &Bundle,
) -> Result<Done<LockedSecret>, RebuildError> {
    let need = usize::from(key.threshold);
    let gathered = fanout::gather(
        state,
        version,
        need,
        state.config.extra_custodians,
        |slot| async move {
            let answer: ReleaseResponse =
                fanout::call(state, slot, bundle, "/v1/release", |evidence| {
                    ReleaseRequest {
                        statement: bundle.statement.clone(),
                        evidence,
                    }
                })
                .await?;
            open_share(key, version, slot, ephemeral, bundle, &answer)
        },
    )
    .await
    .map_err(RebuildError::NotEnough)?;
    let (shares, custodians): (Vec<Share>, Vec<String>) = gathered.good.into_iter().unzip();
    let secret = bytes::combine(&shares, need).map_err(RebuildError::Combine)?;
    Ok(Done {
        value: LockedSecret::new(secret),
        custodians,
        failures: gathered.failures,
    })
}

/// Opens one custodian's sealed share and checks it against the
/// commitment recorded at creation.
fn open_share(
    key: &Key,
    version: &Version,
    slot: &Slot,
    ephemeral: &EphemeralKey,
    bundle: &Bundle,
    answer: &ReleaseResponse,
) -> Result<Share, Failure> {
    let context = ReleaseContext {
        request_id: &bundle.statement.request_id,
        key_id: &key.id,
        version: version.version,
        custodian_id: &slot.custodian,
        index: slot.index,
    };
    let plaintext = ephemeral
        .open(&context, &answer.enc, &answer.sealed)
        .map_err(|_| Failure::fault("its sealed share does not open for this request"))?;
    verify_plaintext(&slot.metadata, &plaintext).map_err(|_| {
        Failure::fault(
            "its share fails the commitment recorded at creation (corrupted or wrong share)",
        )
    })?;
    let blinding = if slot.metadata.scheme.is_hash_committed() {
        symbolon_envelope::BLINDING_LEN
    } else {
        0
    };
    let share = plaintext
        .get(blinding..)
        .ok_or_else(|| "its share is empty".to_owned())?;
    let index = u8::try_from(slot.index).map_err(|_| "share index out of range".to_owned())?;
    Share::new(index, SecretBytes::from_slice(share))
        .map_err(|e| Failure::from(format!("unusable share: {e}")))
}
