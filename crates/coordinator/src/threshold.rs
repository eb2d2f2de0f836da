//! Operations with threshold keys, where the key never exists whole: the
//! coordinator relays a logged request to custodians, each returns a
//! partial result computed with its share, and the coordinator checks and
//! combines the partials (DESIGN §2, §4 step 5).
//!
//! * **Sign** (`ed25519`, FROST, RFC 9591). Custodians pre-publish batches
//!   of single-use round-1 commitments ([`NoncePool`]), so a signature
//!   costs one round trip: the coordinator takes one unused commitment per
//!   signer, builds the signing package (which fixes the signer set), and
//!   asks exactly those `t` custodians for signature shares. A pool running
//!   low is refilled in the background. A custodian
//!   that fails or sends a bad share is named, recorded, and the round is
//!   run again with fresh commitments without it, while `t` others remain.
//! * **Decrypt** (`ristretto255`, TDH2). Decryption shares do not depend on
//!   who else takes part, so the coordinator asks `t + extra` custodians
//!   (`partial_extra_custodians`, default 1) and combines the first `t`
//!   whose DLEQ proofs verify; a bad share names its custodian.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use futures::future::join_all;
use symbolon_proto::custodian::{
    NonceRequest, NonceResponse, PartialOperation, PartialRequest, PartialResponse,
};
use symbolon_threshold::{ed25519, tdh2};
use zeroize::Zeroizing;

use crate::fanout::{self, Bundle, Failure, Failures, NotEnough};
use crate::state::{AppState, Key, Slot, Version};

/// How many commitments to ask a custodian for at a time.
const NONCE_BATCH: u16 = 64;
/// Below this many unused commitments a refill starts in the background,
/// so a signature rarely waits for one.
const NONCE_LOW_WATER: usize = 32;

type PoolKey = (String, String, u64);

/// One custodian's unused commitments for one key version.
#[derive(Default)]
struct Pooled {
    unused: VecDeque<ed25519::SigningCommitments>,
    refilling: bool,
}

/// Unused FROST commitments each custodian published, per key version.
/// Each is handed out once ([`NoncePool::take`] removes it); the custodian
/// refuses any it did not publish or already used, so a lost pool (a
/// coordinator restart) only costs fresh batches.
#[derive(Default)]
pub(crate) struct NoncePool {
    pool: Mutex<HashMap<PoolKey, Pooled>>,
}

impl NoncePool {
    /// One unused commitment, if any, and whether the caller should start
    /// a refill (the pool is low and none is under way: it is now marked
    /// as under way).
    fn take(&self, key: &PoolKey) -> (Option<ed25519::SigningCommitments>, bool) {
        let Ok(mut pool) = self.pool.lock() else {
            return (None, false);
        };
        let pooled = pool.entry(key.clone()).or_default();
        let taken = pooled.unused.pop_front();
        let refill = pooled.unused.len() < NONCE_LOW_WATER && !pooled.refilling;
        if refill {
            pooled.refilling = true;
        }
        (taken, refill)
    }

    /// Adds fresh commitments (`refilled`: they come from a background
    /// refill, which is now over).
    fn put(&self, key: &PoolKey, fresh: Vec<ed25519::SigningCommitments>, refilled: bool) {
        if let Ok(mut pool) = self.pool.lock() {
            let pooled = pool.entry(key.clone()).or_default();
            pooled.unused.extend(fresh);
            if refilled {
                pooled.refilling = false;
            }
        }
    }

    /// A background refill failed: the next take may start another.
    fn refill_failed(&self, key: &PoolKey) {
        if let Ok(mut pool) = self.pool.lock()
            && let Some(pooled) = pool.get_mut(key)
        {
            pooled.refilling = false;
        }
    }

    /// Forgets a custodian's commitments for a key version (it said it
    /// does not know one: it restarted without them).
    fn forget(&self, key: &PoolKey) {
        if let Ok(mut pool) = self.pool.lock()
            && let Some(pooled) = pool.get_mut(key)
        {
            pooled.unused.clear();
        }
    }
}

/// One unused commitment of `slot`'s custodian. When the pool runs low a
/// refill starts in the background; when it is empty a batch is fetched
/// first.
async fn commitment(
    state: &Arc<AppState>,
    key: &Key,
    version: &Version,
    slot: &Slot,
) -> Result<ed25519::SigningCommitments, String> {
    let pool_key = (slot.custodian.clone(), key.id.clone(), version.version);
    let (taken, refill) = state.nonces.take(&pool_key);
    if refill {
        let state = Arc::clone(state);
        let (pool_key, index) = (pool_key.clone(), slot.index);
        tokio::spawn(async move {
            match fetch_batch(&state, &pool_key, index).await {
                Ok(fresh) => state.nonces.put(&pool_key, fresh, true),
                Err(reason) => {
                    tracing::warn!(custodian = %pool_key.0, %reason, "could not refill FROST commitments");
                    state.nonces.refill_failed(&pool_key);
                }
            }
        });
    }
    if let Some(c) = taken {
        return Ok(c);
    }
    let mut fresh = fetch_batch(state, &pool_key, slot.index).await?;
    if fresh.is_empty() {
        return Err("published no commitments".to_owned());
    }
    let first = fresh.remove(0);
    state.nonces.put(&pool_key, fresh, false);
    Ok(first)
}

/// Asks a custodian for a batch of fresh commitments.
async fn fetch_batch(
    state: &AppState,
    (custodian, key_id, version): &PoolKey,
    index: u16,
) -> Result<Vec<ed25519::SigningCommitments>, String> {
    let endpoint = state
        .endpoint_of(custodian)
        .ok_or_else(|| "not registered with this coordinator".to_owned())?;
    let url = format!(
        "{}/v1/keys/{key_id}/versions/{version}/nonces",
        endpoint.trim_end_matches('/'),
    );
    let answer: NonceResponse = fanout::exchange(
        state,
        state
            .http
            .post(&url)
            .json(&NonceRequest { count: NONCE_BATCH }),
    )
    .await
    .map_err(|refusal| format!("nonce request: {}", refusal.reason))?;
    if answer.custodian_id != *custodian || answer.index != index {
        return Err("answered the nonce request as another custodian or share".to_owned());
    }
    answer
        .commitments
        .iter()
        .map(|c| ed25519::SigningCommitments::from_bytes(&c.0))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("published a malformed commitment: {e}"))
}

/// A finished threshold operation.
pub(crate) struct Done<T> {
    pub(crate) value: T,
    pub(crate) custodians: Vec<String>,
    pub(crate) failures: Failures,
}

/// Why a threshold operation failed.
#[derive(Debug)]
pub(crate) enum ThresholdError {
    /// Fewer than `t` custodians contributed a valid partial.
    NotEnough(NotEnough),
    /// The caller's input is unusable (422 with this problem kind).
    Invalid { kind: &'static str, detail: String },
    /// Our fault: partials that each verified do not combine, or the
    /// stored key is unusable.
    Internal(String),
}

/// The problem a custodian answers for a commitment it does not hold.
const NONCE_UNKNOWN: &str = "nonce-unknown";

/// Signs `message` with `t` custodians' FROST shares. The signature is
/// checked under the group key (by [`ed25519::aggregate`]) before it is
/// returned.
pub(crate) async fn sign(
    state: &Arc<AppState>,
    key: &Key,
    version: &Version,
    group: &ed25519::GroupKey,
    message: &[u8],
    bundle: &Bundle,
) -> Result<Done<ed25519::Signature>, ThresholdError> {
    let need = usize::from(key.threshold);
    let candidates = fanout::order_candidates(state, version);
    let mut excluded: HashSet<&str> = HashSet::new();
    // Custodians whose pooled commitments turned out stale (it restarted
    // and dropped its nonces): asked once more with fresh ones.
    let mut refreshed: HashSet<&str> = HashSet::new();
    let mut failures = Failures::default();
    loop {
        // Round 1 from the pool: the first `t` custodians with a commitment.
        let mut signers: Vec<&Slot> = Vec::with_capacity(need);
        let mut commitments = BTreeMap::new();
        for slot in &candidates {
            if signers.len() == need {
                break;
            }
            if excluded.contains(slot.custodian.as_str()) {
                continue;
            }
            match commitment(state, key, version, slot).await {
                Ok(c) => {
                    commitments.insert(slot.index, c);
                    signers.push(slot);
                }
                Err(reason) => {
                    excluded.insert(&slot.custodian);
                    failures.note(&slot.custodian, reason.into());
                }
            }
        }
        if signers.len() < need {
            return Err(ThresholdError::NotEnough(NotEnough {
                have: signers.len(),
                need,
                failures,
            }));
        }
        let package = ed25519::SigningPackage::new(message, &commitments)
            .map_err(|e| ThresholdError::Internal(format!("signing package: {e}")))?;
        let package_bytes = package.to_bytes();
        // Round 2: every signer at once.
        let answers = join_all(signers.iter().map(|slot| {
            let package_bytes = &package_bytes;
            async move {
                fanout::call::<_, PartialResponse>(state, slot, bundle, "/v1/partial", |evidence| {
                    PartialRequest {
                        statement: bundle.statement.clone(),
                        evidence,
                        operation: PartialOperation::Sign {
                            package: package_bytes.clone(),
                        },
                    }
                })
                .await
            }
        }))
        .await;
        let mut shares = BTreeMap::new();
        let mut round_failed = false;
        for (slot, answer) in signers.iter().zip(answers) {
            let custodian = slot.custodian.as_str();
            let share = match answer {
                Ok(answer) => ed25519::SignatureShare::from_bytes(&answer.partial)
                    .map_err(|e| Failure::fault(format!("sent a malformed signature share: {e}"))),
                Err(refusal) if refusal.is(NONCE_UNKNOWN) && refreshed.insert(custodian) => {
                    // Not its fault: our pool is stale. Drop it and ask it
                    // again with a fresh commitment.
                    state
                        .nonces
                        .forget(&(custodian.to_owned(), key.id.clone(), version.version));
                    round_failed = true;
                    continue;
                }
                Err(refusal) => Err(refusal.into()),
            };
            match share {
                Ok(share) => {
                    shares.insert(slot.index, share);
                }
                Err(failure) => {
                    round_failed = true;
                    failures.note(custodian, failure);
                    excluded.insert(custodian);
                }
            }
        }
        if round_failed {
            continue;
        }
        match ed25519::aggregate(&package, &shares, group) {
            Ok(signature) => {
                return Ok(Done {
                    value: signature,
                    custodians: signers.iter().map(|s| s.custodian.clone()).collect(),
                    failures,
                });
            }
            Err(symbolon_threshold::Error::InvalidSignatureShare { .. }) => {
                // Name every cheater, not only the first aggregate found.
                let mut named = false;
                for slot in &signers {
                    let bad = shares.get(&slot.index).is_none_or(|share| {
                        ed25519::verify_share(group, slot.index, share, &package).is_err()
                    });
                    if bad {
                        named = true;
                        failures.note(
                            &slot.custodian,
                            Failure::fault("sent a signature share that fails verification"),
                        );
                        excluded.insert(&slot.custodian);
                    }
                }
                if !named {
                    return Err(ThresholdError::Internal(
                        "the signature does not verify, yet every share does".to_owned(),
                    ));
                }
            }
            Err(e) => {
                return Err(ThresholdError::Internal(format!(
                    "signature shares do not aggregate: {e}"
                )));
            }
        }
    }
}

/// Decrypts a threshold ciphertext with the first `t` custodians whose
/// decryption shares verify.
pub(crate) async fn decrypt(
    state: &AppState,
    key: &Key,
    version: &Version,
    group: &tdh2::GroupPublic,
    ciphertext_bytes: &[u8],
    parsed: &symbolon_proto::ciphertext::Threshold<'_>,
    bundle: &Bundle,
) -> Result<Done<Zeroizing<Vec<u8>>>, ThresholdError> {
    // Checked once, here: a tampered ciphertext costs the custodians
    // nothing and fails with a precise answer.
    let combiner = tdh2::Combiner::new(group, &parsed.ciphertext, parsed.label).map_err(|_| {
        ThresholdError::Invalid {
            kind: "bad-ciphertext-proof",
            detail: format!(
                "the ciphertext's proof does not verify under key {:?} version {}: \
                 it was altered, or made for another key",
                key.name, version.version
            ),
        }
    })?;
    let combiner = &combiner;
    let need = usize::from(key.threshold);
    let gathered = fanout::gather(
        state,
        version,
        need,
        state.config.partial_extra_custodians,
        |slot| async move {
            let answer: PartialResponse =
                fanout::call(state, slot, bundle, "/v1/partial", |evidence| {
                    PartialRequest {
                        statement: bundle.statement.clone(),
                        evidence,
                        operation: PartialOperation::Decrypt {
                            ciphertext: ciphertext_bytes.to_vec(),
                        },
                    }
                })
                .await?;
            let share = tdh2::DecryptionShare::from_bytes(&answer.partial)
                .map_err(|e| Failure::fault(format!("sent a malformed decryption share: {e}")))?;
            if share.index() != slot.index {
                return Err(Failure::fault(format!(
                    "sent a decryption share for index {} instead of {}",
                    share.index(),
                    slot.index
                )));
            }
            combiner
                .check(share)
                .map_err(|_| Failure::fault("sent a decryption share whose proof fails"))
        },
    )
    .await
    .map_err(ThresholdError::NotEnough)?;
    let (shares, custodians): (Vec<tdh2::CheckedShare<'_>>, Vec<String>) =
        gathered.good.into_iter().unzip();
    let plaintext = combiner.combine(&shares).map_err(|e| {
        ThresholdError::Internal(format!("verified decryption shares do not combine: {e}"))
    })?;
    Ok(Done {
        value: plaintext,
        custodians,
        failures: gathered.failures,
    })
}
