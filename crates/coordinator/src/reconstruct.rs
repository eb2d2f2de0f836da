//! Rebuilding a `secret` key for one operation from any `t` custodians.
//!
//! The coordinator draws a fresh ephemeral HPKE key, asks `t` custodians
//! (plus `extra_custodians`), healthy ones first and in random order so load
//! spreads, for their shares sealed to it, and asks one more custodian each
//! time one fails or the hedge delay passes without enough answers. Each
//! answer is opened under the request's context and checked against the
//! share commitment recorded when the key was dealt; a share that fails is
//! reported with its custodian and the operation goes on with the others.
//! With `t` good shares the rest are abandoned (their requests cancelled),
//! the key is combined into locked memory, and the caller uses it and drops
//! it (wiped).

use std::pin::pin;
use std::time::Duration;

use futures::StreamExt as _;
use futures::stream::FuturesUnordered;
use rand::seq::SliceRandom as _;
use symbolon_envelope::verify_plaintext;
use symbolon_proto::CustodianFailure;
use symbolon_proto::api::HealthState;
use symbolon_proto::audit::{
    AuditEvidence, AuditSync, AuditSynced, MAX_LEAVES_PER_REQUEST, RequestStatement,
};
use symbolon_proto::custodian::{ReleaseRequest, ReleaseResponse};
use symbolon_proto::release::{EphemeralKey, ReleaseContext};
use symbolon_sharing::SecretBytes;
use symbolon_sharing::bytes::{self, Share};

use crate::locked::LockedSecret;
use crate::state::{AppState, Key, Slot, Version, now_ms};

/// The rebuilt key and who contributed.
pub(crate) struct Rebuilt {
    pub(crate) secret: LockedSecret,
    pub(crate) custodians: Vec<String>,
    pub(crate) failures: Vec<CustodianFailure>,
}

/// Why the key could not be rebuilt.
#[derive(Debug)]
pub(crate) enum RebuildError {
    /// Fewer than `need` custodians returned a valid share: every custodian
    /// asked and what went wrong with it.
    NotEnough {
        have: usize,
        need: usize,
        failures: Vec<CustodianFailure>,
    },
    /// Shares that each passed their commitment do not combine: the stored
    /// placement is inconsistent (ours, not a custodian's fault).
    Combine(symbolon_sharing::Error),
}

/// What every custodian is shown: the request and the log's evidence that
/// it holds it (the leaf hashes each custodian lacks are added per
/// custodian).
pub(crate) struct Bundle {
    pub(crate) statement: RequestStatement,
    pub(crate) head_note: String,
    pub(crate) head_size: u64,
    pub(crate) index: u64,
    pub(crate) entry: Vec<u8>,
    pub(crate) inclusion: Vec<String>,
}

/// Rebuilds `version` of `key` for the request in `bundle`, from shares
/// sealed to `ephemeral`.
pub(crate) async fn rebuild(
    state: &AppState,
    key: &Key,
    version: &Version,
    ephemeral: &EphemeralKey,
    bundle: &Bundle,
) -> Result<Rebuilt, RebuildError> {
    let need = usize::from(key.threshold);
    let candidates = order_candidates(state, version);
    let mut failures: Vec<CustodianFailure> = Vec::new();
    let mut good: Vec<(Share, String)> = Vec::with_capacity(need);
    let mut pending = FuturesUnordered::new();
    let mut next = 0usize;
    let first_wave = need
        .saturating_add(usize::from(state.config.extra_custodians))
        .min(candidates.len());
    while next < first_wave {
        if let Some(slot) = candidates.get(next) {
            pending.push(fetch(state, key, version, slot, ephemeral, bundle));
        }
        next += 1;
    }
    let hedge_delay = Duration::from_millis(state.config.hedge_after_ms);
    let mut hedge = pin!(tokio::time::sleep(hedge_delay));
    while good.len() < need {
        // Keep enough requests in flight to still reach `need`.
        while good.len() + pending.len() < need && next < candidates.len() {
            if let Some(slot) = candidates.get(next) {
                pending.push(fetch(state, key, version, slot, ephemeral, bundle));
            }
            next += 1;
        }
        if pending.is_empty() {
            break;
        }
        tokio::select! {
            Some((custodian, result)) = pending.next() => match result {
                Ok(share) => good.push((share, custodian)),
                Err(reason) => {
                    tracing::warn!(custodian = %custodian, key = %key.name, %reason, "custodian did not contribute");
                    metrics::counter!("symbolon_custodian_failures_total", "custodian" => custodian.clone()).increment(1);
                    failures.push(CustodianFailure { id: custodian, reason });
                }
            },
            () = &mut hedge, if next < candidates.len() => {
                if let Some(slot) = candidates.get(next) {
                    pending.push(fetch(state, key, version, slot, ephemeral, bundle));
                }
                next += 1;
                hedge.as_mut().reset(tokio::time::Instant::now() + hedge_delay);
            }
        }
    }
    drop(pending);
    if good.len() < need {
        // Name the custodians never reached too (none are left unasked
        // unless the key has fewer placements than its threshold).
        return Err(RebuildError::NotEnough {
            have: good.len(),
            need,
            failures,
        });
    }
    let (shares, custodians): (Vec<Share>, Vec<String>) = good.into_iter().unzip();
    let secret = bytes::combine(&shares, need).map_err(RebuildError::Combine)?;
    Ok(Rebuilt {
        secret: LockedSecret::new(secret),
        custodians,
        failures,
    })
}

/// Healthy custodians first, then suspect, then failed; random order
/// within each group.
fn order_candidates<'v>(state: &AppState, version: &'v Version) -> Vec<&'v Slot> {
    let now = now_ms();
    let mut rng = rand::rng();
    let mut groups: [Vec<&Slot>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    for slot in &version.slots {
        let rank = match state.health_of(&slot.custodian, now) {
            Some(HealthState::Healthy) => 0,
            Some(HealthState::Suspect) => 1,
            Some(HealthState::Failed) | None => 2,
        };
        if let Some(group) = groups.get_mut(rank) {
            group.push(slot);
        }
    }
    let mut out = Vec::with_capacity(version.slots.len());
    for mut group in groups {
        group.shuffle(&mut rng);
        out.extend(group);
    }
    out
}

/// Asks one custodian for its share; returns `(custodian id, share or
/// reason)`.
async fn fetch(
    state: &AppState,
    key: &Key,
    version: &Version,
    slot: &Slot,
    ephemeral: &EphemeralKey,
    bundle: &Bundle,
) -> (String, Result<Share, String>) {
    let id = slot.custodian.clone();
    let mut result = fetch_inner(state, key, version, slot, ephemeral, bundle).await;
    if matches!(&result, Err(Failure::Behind)) {
        // It holds fewer leaf hashes than we thought (restored from an
        // older backup, say): send it the whole log once.
        state.audit.set_witness_size(&slot.custodian, 0);
        result = fetch_inner(state, key, version, slot, ephemeral, bundle).await;
    }
    (
        id,
        result.map_err(|f| match f {
            Failure::Behind => "holds fewer audit leaf hashes than it reported".to_owned(),
            Failure::Other(reason) => reason,
        }),
    )
}

/// Why one custodian did not contribute.
enum Failure {
    /// It refused because it lacks leaf hashes before the ones sent.
    Behind,
    Other(String),
}

impl From<String> for Failure {
    fn from(reason: String) -> Self {
        Failure::Other(reason)
    }
}

/// The problem kind a custodian answers when leaf hashes start beyond
/// the ones it holds.
const BEHIND_KIND: &str = "urn:symbolon:problem:audit-leaves-gap";

async fn fetch_inner(
    state: &AppState,
    key: &Key,
    version: &Version,
    slot: &Slot,
    ephemeral: &EphemeralKey,
    bundle: &Bundle,
) -> Result<Share, Failure> {
    let endpoint = state
        .endpoint_of(&slot.custodian)
        .ok_or_else(|| "not registered with this coordinator".to_owned())?;
    let url = format!("{}/v1/release", endpoint.trim_end_matches('/'));
    if bundle
        .head_size
        .saturating_sub(state.audit.witness_size(&slot.custodian))
        > MAX_LEAVES_PER_REQUEST
    {
        catch_up(state, &endpoint, &slot.custodian, bundle.head_size).await?;
    }
    let first_leaf = state
        .audit
        .witness_size(&slot.custodian)
        .min(bundle.head_size);
    let request = ReleaseRequest {
        statement: bundle.statement.clone(),
        evidence: AuditEvidence {
            head: bundle.head_note.clone(),
            index: bundle.index,
            entry: bundle.entry.clone(),
            inclusion: bundle.inclusion.clone(),
            first_leaf,
            leaves: state.audit.leaves(first_leaf, bundle.head_size),
        },
    };
    let request_id = bundle.statement.request_id.as_str();
    let timeout = state.custodian_timeout();
    let response = tokio::time::timeout(timeout, state.http.post(&url).json(&request).send())
        .await
        .map_err(|_| format!("timed out after {} ms", timeout.as_millis()))?
        .map_err(|e| describe_send_error(&e))?;
    if !response.status().is_success() {
        let (problem, refusal) = refusal(response, timeout).await;
        if problem.is_some_and(|p| p.kind == BEHIND_KIND) {
            return Err(Failure::Behind);
        }
        return Err(refusal.into());
    }
    let body = tokio::time::timeout(timeout, response.bytes())
        .await
        .map_err(|_| format!("timed out after {} ms", timeout.as_millis()))?
        .map_err(|e| format!("answer cut short: {e}"))?;
    let answer: ReleaseResponse =
        serde_json::from_slice(&body).map_err(|e| format!("malformed answer: {e}"))?;
    if answer.custodian_id != slot.custodian || answer.index != slot.index {
        return Err(format!(
            "answered as custodian {:?} share {} instead of share {}",
            answer.custodian_id, answer.index, slot.index
        )
        .into());
    }
    state
        .audit
        .set_witness_size(&slot.custodian, answer.witness_size);
    // Its cosignature is evidence for auditors, not a condition of the
    // operation: a bad one is logged.
    if let Some(attestation) = state.attestation_key_of(&slot.custodian)
        && let Some(witness) = witness_key(&slot.custodian, &attestation)
        && let Err(reason) = state.audit.add_cosignature(&answer.cosigned_head, &witness)
    {
        tracing::warn!(custodian = %slot.custodian, %reason, "custodian's tree head cosignature refused");
    }
    let context = ReleaseContext {
        request_id,
        key_id: &key.id,
        version: version.version,
        custodian_id: &slot.custodian,
        index: slot.index,
    };
    let plaintext = ephemeral
        .open(&context, &answer.enc, &answer.sealed)
        .map_err(|_| "its sealed share does not open for this request".to_owned())?;
    verify_plaintext(&slot.metadata, &plaintext).map_err(|_| {
        "its share fails the commitment recorded at creation (corrupted or wrong share)".to_owned()
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
        .map_err(|e| Failure::Other(format!("unusable share: {e}")))
}

/// A custodian's refusal: its problem document, if it sent one, and a
/// line saying what it was ("refused with STATUS: detail").
async fn refusal(
    response: reqwest::Response,
    timeout: Duration,
) -> (Option<symbolon_proto::Problem>, String) {
    let status = response.status();
    let body = tokio::time::timeout(timeout, response.bytes())
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    let problem = serde_json::from_slice::<symbolon_proto::Problem>(&body).ok();
    let detail = problem
        .as_ref()
        .map(symbolon_proto::Problem::one_line)
        .unwrap_or_else(|| String::from_utf8_lossy(&body).chars().take(200).collect());
    (problem, format!("refused with {status}: {detail}"))
}

/// Sends a custodian far behind the log the leaf hashes it lacks, in
/// chunks of at most [`MAX_LEAVES_PER_REQUEST`], each up to a signed head
/// stored in the log, until it is close enough to `target` to take the
/// rest with the request.
async fn catch_up(
    state: &AppState,
    endpoint: &str,
    custodian: &str,
    target: u64,
) -> Result<(), String> {
    let url = format!("{}/v1/audit/sync", endpoint.trim_end_matches('/'));
    let timeout = state.custodian_timeout();
    loop {
        let held = state.audit.witness_size(custodian);
        if target.saturating_sub(held) <= MAX_LEAVES_PER_REQUEST {
            return Ok(());
        }
        let limit = held.saturating_add(MAX_LEAVES_PER_REQUEST);
        let (index, head) = state
            .store
            .audit_head_before(limit)
            .await
            .map_err(|e| format!("cannot read the audit log to bring it up to date: {e}"))?
            .filter(|(index, _)| *index >= held)
            .ok_or_else(|| {
                format!("no signed tree head between {held} and {limit} to bring it up to date")
            })?;
        let sync = AuditSync {
            head,
            first_leaf: held,
            leaves: state.audit.leaves(held, index + 1),
        };
        let response = tokio::time::timeout(timeout, state.http.post(&url).json(&sync).send())
            .await
            .map_err(|_| format!("audit sync timed out after {} ms", timeout.as_millis()))?
            .map_err(|e| describe_send_error(&e))?;
        if !response.status().is_success() {
            let (_, refusal) = refusal(response, timeout).await;
            return Err(format!("audit sync {refusal}"));
        }
        let synced: AuditSynced = response
            .json()
            .await
            .map_err(|e| format!("malformed audit sync answer: {e}"))?;
        if synced.witness_size <= held {
            return Err("made no progress bringing its audit log up to date".to_owned());
        }
        state.audit.set_witness_size(custodian, synced.witness_size);
    }
}

/// A custodian's witness key: its attestation key named by its id.
fn witness_key(custodian: &str, attestation: &[u8; 32]) -> Option<symbolon_audit::NoteKey> {
    let key = ed25519_dalek::VerifyingKey::from_bytes(attestation).ok()?;
    symbolon_audit::NoteKey::new(custodian, key).ok()
}

pub(crate) fn describe_send_error(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
        let mut deepest = String::new();
        while let Some(s) = source {
            deepest = s.to_string();
            source = s.source();
        }
        format!("unreachable: {deepest}")
    } else {
        format!("request failed: {e}")
    }
}
