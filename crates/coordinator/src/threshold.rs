//! Operations with threshold keys, where the key never exists whole: the
//! coordinator relays a logged request to custodians, each returns a
//! partial result computed with its share, and the coordinator checks and
//! combines the partials (DESIGN §2, §4 step 5).
//!
//! * **Sign** (`ed25519`, FROST, RFC 9591). Custodians pre-publish batches
//!   of single-use round-1 commitments ([`NoncePool`]), so a signature
//!   costs one round trip: the coordinator takes one unused commitment per
//!   signer, builds the signing package (which fixes the signer set), and
//!   asks those `t` custodians for signature shares. A pool running low is
//!   refilled in the background. Because a package fixes its signers,
//!   "the first `t` answers of `t + 1`" cannot come from one package; a
//!   slow signer is hedged instead as in ROAST (Ruffing, Ronge, Jin,
//!   Schneider-Bensch, Schröder, "ROAST: Robust Asynchronous Schnorr
//!   Threshold Signatures", CCS 2022), simplified: when no attempt has
//!   completed after `hedge_after_ms` and a custodian outside the awaited
//!   ones is free, another attempt starts alongside, without cancelling the
//!   first. Its signers are those that already answered with a valid share
//!   (asked again: a share is bound to its package) and spares, in
//!   candidate order, in place of those still awaited; every attempt has
//!   its own package of fresh commitments (one commitment in two packages
//!   would leak the key share). More may follow every `hedge_after_ms`
//!   while custodians are free, at most [`MAX_LIVE_ATTEMPTS`] live at once.
//!   The first attempt whose `t` shares aggregate wins; the others are
//!   dropped. A custodian that fails or sends a bad share is named,
//!   recorded and not asked again, and its attempt is replaced at once when
//!   no other is live, while `t` others remain; one that is merely slow is
//!   not blamed. With no free custodian (`t = n`, or the rest failed) the
//!   coordinator waits for the slow one, up to `custodian_timeout_ms`.
//! * **Decrypt** (`ristretto255`, TDH2). Decryption shares do not depend on
//!   who else takes part, so the coordinator asks `t + extra` custodians
//!   (`partial_extra_custodians`, default 1) and combines the first `t`
//!   whose DLEQ proofs verify; a bad share names its custodian.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::future::poll_fn;
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::Duration;

use futures::StreamExt as _;
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use symbolon_proto::custodian::{
    NonceRequest, NonceResponse, PartialOperation, PartialRequest, PartialResponse,
};
use symbolon_threshold::{ed25519, tdh2};
use tokio::time::Instant;
use zeroize::Zeroizing;

use crate::fanout::{self, Bundle, Done, Failure, Failures, NotEnough, Refusal};
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
    if let Some(c) = pooled_commitment(state, key, version, slot) {
        return Ok(c);
    }
    let pool_key = (slot.custodian.clone(), key.id.clone(), version.version);
    let mut fresh = fetch_batch(state, &pool_key, slot.index).await?;
    if fresh.is_empty() {
        return Err("published no commitments".to_owned());
    }
    let first = fresh.remove(0);
    state.nonces.put(&pool_key, fresh, false);
    Ok(first)
}

/// One unused commitment of `slot`'s custodian if the pool holds one,
/// without waiting. When the pool runs low a refill starts in the
/// background.
fn pooled_commitment(
    state: &Arc<AppState>,
    key: &Key,
    version: &Version,
    slot: &Slot,
) -> Option<ed25519::SigningCommitments> {
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
    taken
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

/// At most this many signing attempts are live at once, so a stuck
/// cluster does not burn every custodian's commitments.
const MAX_LIVE_ATTEMPTS: usize = 3;
/// A hedge that could not start is tried again after `hedge_after_ms`,
/// but not sooner than this (a zero delay must not spin).
const HEDGE_RETRY_MIN: Duration = Duration::from_millis(10);

/// A signer's answer in one attempt.
type Answer<'a> = (&'a Slot, Result<PartialResponse, Refusal>);

/// One FROST signing attempt (a ROAST session): the signers its package
/// fixes, the shares that arrived, and the requests still out. Dropping
/// it cancels those requests; each spent a single-use commitment, so
/// nothing can be reused by mistake.
struct Attempt<'a> {
    signers: Vec<&'a Slot>,
    package: ed25519::SigningPackage,
    shares: BTreeMap<u16, ed25519::SignatureShare>,
    /// The shares already checked on their own ([`Signing::vet`]).
    vetted: BTreeSet<u16>,
    pending: FuturesUnordered<BoxFuture<'a, Answer<'a>>>,
}

impl<'a> Attempt<'a> {
    /// The signers whose answer is still awaited.
    fn awaited(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.signers
            .iter()
            .filter(|slot| !self.shares.contains_key(&slot.index))
            .map(|&slot| slot.custodian.as_str())
    }

    /// The signers whose share arrived.
    fn answered(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.signers
            .iter()
            .filter(|slot| self.shares.contains_key(&slot.index))
            .map(|&slot| slot.custodian.as_str())
    }
}

/// Where a new attempt's commitments come from.
#[derive(Clone, Copy)]
enum Source {
    /// The pool, or a batch fetched now when it is empty.
    PoolOrFetch,
    /// The pool only.
    Pool,
}

/// Where an attempt stands after an answer.
enum Progress {
    /// Shares are still awaited.
    Waiting,
    /// Every signer's share arrived: aggregate.
    Complete,
    /// A signer failed: the attempt cannot complete.
    Failed,
}

/// The coordinator's side of one threshold signature: the custodians that
/// may still sign and why the others may not.
struct Signing<'a> {
    state: &'a Arc<AppState>,
    key: &'a Key,
    version: &'a Version,
    group: &'a ed25519::GroupKey,
    message: &'a [u8],
    bundle: &'a Bundle,
    need: usize,
    candidates: Vec<&'a Slot>,
    /// Failed or misbehaved: never asked again for this signature.
    excluded: HashSet<&'a str>,
    /// Custodians whose pooled commitments turned out stale (it restarted
    /// and dropped its nonces): asked once more with fresh ones.
    refreshed: HashSet<&'a str>,
    failures: Failures,
}

impl<'a> Signing<'a> {
    /// The custodians that may sign in a new attempt: not left out and
    /// not awaited by a live one.
    fn free<'s>(&'s self, live: &'s [Attempt<'a>]) -> impl Iterator<Item = &'a Slot> + 's {
        self.candidates.iter().copied().filter(move |slot| {
            let custodian = slot.custodian.as_str();
            !self.excluded.contains(custodian)
                && !live
                    .iter()
                    .any(|attempt| attempt.awaited().any(|c| c == custodian))
        })
    }

    /// Names `custodian` as failed and never asks it again.
    fn leave_out(&mut self, custodian: &'a str, failure: Failure) {
        self.excluded.insert(custodian);
        self.failures.note(custodian, failure);
    }

    /// The free custodians in the order a new attempt takes them: first
    /// those whose share already arrived in a live attempt (they answer),
    /// then the others in candidate order.
    fn order(&self, live: &[Attempt<'a>]) -> Vec<&'a Slot> {
        let answered: HashSet<&str> = live.iter().flat_map(Attempt::answered).collect();
        let (mut order, rest): (Vec<&'a Slot>, Vec<&'a Slot>) = self
            .free(live)
            .partition(|slot| answered.contains(slot.custodian.as_str()));
        order.extend(rest);
        order
    }

    /// Opens an attempt with the first `t` custodians of `order` that have
    /// a fresh commitment, or `None` when fewer than `t` do.
    async fn open(
        &mut self,
        order: Vec<&'a Slot>,
        source: Source,
    ) -> Result<Option<Attempt<'a>>, ThresholdError> {
        let mut signers: Vec<&'a Slot> = Vec::with_capacity(self.need);
        let mut commitments = BTreeMap::new();
        for slot in order {
            if signers.len() == self.need {
                break;
            }
            let taken = match source {
                Source::PoolOrFetch => commitment(self.state, self.key, self.version, slot).await,
                Source::Pool => {
                    match pooled_commitment(self.state, self.key, self.version, slot) {
                        Some(c) => Ok(c),
                        // None to spare now; a refill is under way.
                        None => continue,
                    }
                }
            };
            match taken {
                Ok(c) => {
                    commitments.insert(slot.index, c);
                    signers.push(slot);
                }
                Err(reason) => self.leave_out(&slot.custodian, reason.into()),
            }
        }
        if signers.len() < self.need {
            // In no package, so still unused: back to the pool.
            for slot in signers {
                if let Some(c) = commitments.remove(&slot.index) {
                    self.state.nonces.put(
                        &(
                            slot.custodian.clone(),
                            self.key.id.clone(),
                            self.version.version,
                        ),
                        vec![c],
                        false,
                    );
                }
            }
            return Ok(None);
        }
        let package = ed25519::SigningPackage::new(self.message, &commitments)
            .map_err(|e| ThresholdError::Internal(format!("signing package: {e}")))?;
        let package_bytes: Arc<[u8]> = package.to_bytes().into();
        let pending = signers
            .iter()
            .map(|&slot| self.ask(slot, Arc::clone(&package_bytes)))
            .collect();
        Ok(Some(Attempt {
            signers,
            package,
            shares: BTreeMap::new(),
            vetted: BTreeSet::new(),
            pending,
        }))
    }

    /// A new attempt alongside the live ones, if `t` custodians are free
    /// and hold pooled commitments (a hedge does not wait for a batch from
    /// a custodian that may be as slow as the one it replaces). A signer
    /// whose share already arrived is asked again only if that share is
    /// valid (a bad one fails its attempt and names it).
    async fn hedge(
        &mut self,
        live: &mut Vec<Attempt<'a>>,
    ) -> Result<Option<Attempt<'a>>, ThresholdError> {
        if self.free(live).count() < self.need {
            return Ok(None);
        }
        live.retain_mut(|attempt| self.vet(attempt));
        let order = self.order(live);
        let opened = self.open(order, Source::Pool).await?;
        if let Some(attempt) = &opened {
            let signers: Vec<&str> = attempt
                .signers
                .iter()
                .map(|slot| slot.custodian.as_str())
                .collect();
            tracing::debug!(
                key = %self.key.name,
                live = live.len(),
                ?signers,
                "signature slow: another attempt started alongside"
            );
        }
        Ok(opened)
    }

    /// Asks `slot`'s custodian for its signature share on the package
    /// encoded as `package`.
    fn ask(&self, slot: &'a Slot, package: Arc<[u8]>) -> BoxFuture<'a, Answer<'a>> {
        let (state, bundle) = (self.state, self.bundle);
        Box::pin(async move {
            let answer = fanout::call(state, slot, bundle, "/v1/partial", |evidence| {
                PartialRequest {
                    statement: bundle.statement.clone(),
                    evidence,
                    operation: PartialOperation::Sign {
                        package: package.to_vec(),
                    },
                }
            })
            .await;
            (slot, answer)
        })
    }

    /// Takes `slot`'s answer in `attempt`.
    fn receive(
        &mut self,
        attempt: &mut Attempt<'a>,
        slot: &'a Slot,
        answer: Result<PartialResponse, Refusal>,
    ) -> Progress {
        let custodian = slot.custodian.as_str();
        let failure = match answer {
            Ok(answer) => match ed25519::SignatureShare::from_bytes(&answer.partial) {
                Ok(share) => {
                    attempt.shares.insert(slot.index, share);
                    return if attempt.shares.len() == attempt.signers.len() {
                        Progress::Complete
                    } else {
                        Progress::Waiting
                    };
                }
                Err(e) => Failure::fault(format!("sent a malformed signature share: {e}")),
            },
            Err(refusal) if refusal.is(NONCE_UNKNOWN) && self.refreshed.insert(custodian) => {
                // Not its fault: our pool is stale. Drop it; the next
                // attempt asks it again with a fresh commitment.
                self.state.nonces.forget(&(
                    custodian.to_owned(),
                    self.key.id.clone(),
                    self.version.version,
                ));
                return Progress::Failed;
            }
            Err(refusal) => refusal.into(),
        };
        self.leave_out(custodian, failure);
        Progress::Failed
    }

    /// Checks each share of `attempt` not checked yet on its own (RFC 9591
    /// Section 5.4); a signer whose share fails is named and left out.
    /// Whether every share passed.
    fn vet(&mut self, attempt: &mut Attempt<'a>) -> bool {
        let mut sound = true;
        for &slot in &attempt.signers {
            let Some(share) = attempt.shares.get(&slot.index) else {
                continue;
            };
            if attempt.vetted.insert(slot.index)
                && ed25519::verify_share(self.group, slot.index, share, &attempt.package).is_err()
            {
                sound = false;
                self.leave_out(
                    &slot.custodian,
                    Failure::fault("sent a signature share that fails verification"),
                );
            }
        }
        sound
    }

    /// The signature of a complete attempt, checked under the group key;
    /// `None` if shares fail their checks (every such signer is named and
    /// left out, not only the first aggregation found).
    fn aggregate(
        &mut self,
        attempt: &mut Attempt<'a>,
    ) -> Result<Option<ed25519::Signature>, ThresholdError> {
        match ed25519::aggregate(&attempt.package, &attempt.shares, self.group) {
            Ok(signature) => Ok(Some(signature)),
            Err(symbolon_threshold::Error::InvalidSignatureShare { .. }) => {
                if self.vet(attempt) {
                    return Err(ThresholdError::Internal(
                        "the signature does not verify, yet every share does".to_owned(),
                    ));
                }
                Ok(None)
            }
            Err(e) => Err(ThresholdError::Internal(format!(
                "signature shares do not aggregate: {e}"
            ))),
        }
    }

    /// Fewer than `t` custodians are left to sign.
    fn not_enough(self) -> ThresholdError {
        let have = self.free(&[]).count();
        ThresholdError::NotEnough(NotEnough {
            have,
            need: self.need,
            failures: self.failures,
        })
    }
}

/// The next answer in any live attempt, with the attempt's position.
async fn next_answer<'a>(live: &mut [Attempt<'a>]) -> (usize, Answer<'a>) {
    poll_fn(|cx| {
        for (n, attempt) in live.iter_mut().enumerate() {
            if let Poll::Ready(Some(answer)) = attempt.pending.poll_next_unpin(cx) {
                return Poll::Ready((n, answer));
            }
        }
        Poll::Pending
    })
    .await
}

/// Signs `message` with `t` custodians' FROST shares, hedging against a
/// slow signer with further attempts (see the module docs). The signature
/// is checked under the group key (by [`ed25519::aggregate`]) before it is
/// returned.
pub(crate) async fn sign(
    state: &Arc<AppState>,
    key: &Key,
    version: &Version,
    group: &ed25519::GroupKey,
    message: &[u8],
    bundle: &Bundle,
) -> Result<Done<ed25519::Signature>, ThresholdError> {
    let mut signing = Signing {
        state,
        key,
        version,
        group,
        message,
        bundle,
        need: usize::from(key.threshold),
        candidates: fanout::order_candidates(state, version),
        excluded: HashSet::new(),
        refreshed: HashSet::new(),
        failures: Failures::default(),
    };
    let hedge_delay = Duration::from_millis(state.config.hedge_after_ms);
    let mut live: Vec<Attempt<'_>> = Vec::with_capacity(MAX_LIVE_ATTEMPTS);
    let mut hedge_at = Instant::now();
    loop {
        // The first attempt, or every one failed: start one at once.
        if live.is_empty() {
            match signing
                .open(signing.order(&[]), Source::PoolOrFetch)
                .await?
            {
                Some(attempt) => live.push(attempt),
                None => return Err(signing.not_enough()),
            }
            hedge_at = Instant::now() + hedge_delay;
        }
        let (n, (slot, answer)) = tokio::select! {
            next = next_answer(&mut live) => next,
            () = tokio::time::sleep_until(hedge_at), if live.len() < MAX_LIVE_ATTEMPTS => {
                hedge_at = match signing.hedge(&mut live).await? {
                    Some(attempt) => {
                        live.push(attempt);
                        Instant::now() + hedge_delay
                    }
                    None => Instant::now() + hedge_delay.max(HEDGE_RETRY_MIN),
                };
                continue;
            }
        };
        let Some(attempt) = live.get_mut(n) else {
            continue;
        };
        match signing.receive(attempt, slot, answer) {
            Progress::Waiting => {}
            Progress::Failed => {
                live.remove(n);
            }
            Progress::Complete => {
                if let Some(signature) = signing.aggregate(attempt)? {
                    // The winner; dropping the others cancels their requests.
                    return Ok(Done {
                        value: signature,
                        custodians: attempt
                            .signers
                            .iter()
                            .map(|slot| slot.custodian.clone())
                            .collect(),
                        failures: signing.failures,
                    });
                }
                live.remove(n);
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
