//! Asking custodians for their part in one logged request.
//!
//! Every operation shows each custodian the same [`Bundle`]: the request
//! statement and the audit log's evidence that it holds the request (plus,
//! per custodian, the leaf hashes it has not seen). [`gather`] asks `t`
//! custodians (plus `extra`), healthy ones first and in random order so
//! load spreads, and asks one more each time one fails or the hedge delay
//! passes without enough answers; with `need` good answers the rest are
//! abandoned (their requests cancelled). [`call`] is one such question: it
//! brings a custodian that is far behind the log up to date first, resends
//! the whole log once to a custodian that holds fewer leaf hashes than it
//! reported, checks that the answer comes from the custodian and share
//! asked, and keeps its witness cosignature.

use std::future::Future;
use std::pin::pin;
use std::time::Duration;

use futures::StreamExt as _;
use futures::stream::FuturesUnordered;
use rand::seq::SliceRandom as _;
use serde::Serialize;
use serde::de::DeserializeOwned;
use symbolon_proto::api::HealthState;
use symbolon_proto::audit::{
    AuditEvidence, AuditSync, AuditSynced, MAX_LEAVES_PER_REQUEST, RequestStatement,
};
use symbolon_proto::custodian::{PartialResponse, ReleaseResponse};
use symbolon_proto::{CustodianFailure, Problem};

use crate::state::{AppState, Slot, Version, now_ms};

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

impl Bundle {
    /// The evidence for a custodian that holds `first_leaf` leaf hashes.
    fn evidence(&self, state: &AppState, first_leaf: u64) -> AuditEvidence {
        AuditEvidence {
            head: self.head_note.clone(),
            index: self.index,
            entry: self.entry.clone(),
            inclusion: self.inclusion.clone(),
            first_leaf,
            leaves: state.audit.leaves(first_leaf, self.head_size),
        }
    }
}

/// Why one custodian did not contribute.
#[derive(Debug)]
pub(crate) struct Failure {
    /// What went wrong, for the caller and the log.
    pub(crate) reason: String,
    /// Whether it answered with a result that fails its proof or
    /// commitment: misbehaviour, recorded against it.
    pub(crate) fault: bool,
}

impl Failure {
    /// Misbehaviour: a result that fails its check.
    pub(crate) fn fault(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            fault: true,
        }
    }
}

impl From<String> for Failure {
    fn from(reason: String) -> Self {
        Self {
            reason,
            fault: false,
        }
    }
}

impl From<Refusal> for Failure {
    fn from(refusal: Refusal) -> Self {
        refusal.reason.into()
    }
}

/// The custodians that were asked but did not contribute, each with why
/// and whether it misbehaved.
#[derive(Debug, Default)]
pub(crate) struct Failures(Vec<(CustodianFailure, bool)>);

impl Failures {
    /// Records (logs and counts) that `custodian` did not contribute.
    pub(crate) fn note(&mut self, custodian: &str, failure: Failure) {
        tracing::warn!(custodian, reason = %failure.reason, fault = failure.fault, "custodian did not contribute");
        metrics::counter!("symbolon_custodian_failures_total", "custodian" => custodian.to_owned())
            .increment(1);
        self.0.push((
            CustodianFailure {
                id: custodian.to_owned(),
                reason: failure.reason,
            },
            failure.fault,
        ));
    }

    /// The ones that misbehaved (to record against them).
    pub(crate) fn faults(&self) -> Vec<CustodianFailure> {
        self.0
            .iter()
            .filter(|(_, fault)| *fault)
            .map(|(failure, _)| failure.clone())
            .collect()
    }

    /// Every one, in the order they failed (for the answer).
    pub(crate) fn into_list(self) -> Vec<CustodianFailure> {
        self.0.into_iter().map(|(failure, _)| failure).collect()
    }
}

/// A finished operation: its result, the custodians that contributed
/// and those asked that did not.
pub(crate) struct Done<T> {
    pub(crate) value: T,
    pub(crate) custodians: Vec<String>,
    pub(crate) failures: Failures,
}

/// The good answers, in arrival order with their custodians, and the
/// custodians that were asked but failed.
pub(crate) struct Gathered<T> {
    pub(crate) good: Vec<(T, String)>,
    pub(crate) failures: Failures,
}

/// Fewer than `need` custodians contributed: every custodian asked and
/// what went wrong with it.
#[derive(Debug)]
pub(crate) struct NotEnough {
    pub(crate) have: usize,
    pub(crate) need: usize,
    pub(crate) failures: Failures,
}

/// Asks the custodians of `version` with `fetch` until `need` answered
/// well: `need + extra` at first, one more for each failure and each time
/// the hedge delay passes.
pub(crate) async fn gather<'v, T, F, Fut>(
    state: &AppState,
    version: &'v Version,
    need: usize,
    extra: u16,
    fetch: F,
) -> Result<Gathered<T>, NotEnough>
where
    F: Fn(&'v Slot) -> Fut,
    Fut: Future<Output = Result<T, Failure>>,
{
    let candidates = order_candidates(state, version);
    let ask = |slot: &'v Slot| {
        let answer = fetch(slot);
        async move { (slot, answer.await) }
    };
    let mut failures = Failures::default();
    let mut good: Vec<(T, String)> = Vec::with_capacity(need);
    let mut pending = FuturesUnordered::new();
    let mut next = 0usize;
    let first_wave = need
        .saturating_add(usize::from(extra))
        .min(candidates.len());
    while next < first_wave {
        if let Some(slot) = candidates.get(next) {
            pending.push(ask(slot));
        }
        next += 1;
    }
    let hedge_delay = Duration::from_millis(state.config.hedge_after_ms);
    let mut hedge = pin!(tokio::time::sleep(hedge_delay));
    while good.len() < need {
        // Keep enough requests in flight to still reach `need`.
        while good.len() + pending.len() < need && next < candidates.len() {
            if let Some(slot) = candidates.get(next) {
                pending.push(ask(slot));
            }
            next += 1;
        }
        if pending.is_empty() {
            break;
        }
        tokio::select! {
            Some((slot, result)) = pending.next() => match result {
                Ok(value) => good.push((value, slot.custodian.clone())),
                Err(failure) => failures.note(&slot.custodian, failure),
            },
            () = &mut hedge, if next < candidates.len() => {
                if let Some(slot) = candidates.get(next) {
                    pending.push(ask(slot));
                }
                next += 1;
                hedge.as_mut().reset(tokio::time::Instant::now() + hedge_delay);
            }
        }
    }
    drop(pending);
    if good.len() < need {
        return Err(NotEnough {
            have: good.len(),
            need,
            failures,
        });
    }
    Ok(Gathered { good, failures })
}

/// Healthy custodians first, then suspect, then failed; random order
/// within each group.
pub(crate) fn order_candidates<'v>(state: &AppState, version: &'v Version) -> Vec<&'v Slot> {
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

/// An answer that carries the custodian's view of the audit log.
pub(crate) trait Witnessed {
    fn custodian_id(&self) -> &str;
    fn index(&self) -> u16;
    fn witness_size(&self) -> u64;
    fn cosigned_head(&self) -> &str;
}

macro_rules! witnessed {
    ($($t:ty),*) => {$(
        impl Witnessed for $t {
            fn custodian_id(&self) -> &str {
                &self.custodian_id
            }
            fn index(&self) -> u16 {
                self.index
            }
            fn witness_size(&self) -> u64 {
                self.witness_size
            }
            fn cosigned_head(&self) -> &str {
                &self.cosigned_head
            }
        }
    )*};
}

witnessed!(ReleaseResponse, PartialResponse);

/// The problem a custodian answers when the leaf hashes sent start beyond
/// the ones it holds.
const BEHIND: &str = "audit-leaves-gap";

/// Posts `make(evidence)` to `path` on the custodian of `slot` and returns
/// its checked answer.
pub(crate) async fn call<Req, Resp>(
    state: &AppState,
    slot: &Slot,
    bundle: &Bundle,
    path: &str,
    make: impl Fn(AuditEvidence) -> Req,
) -> Result<Resp, Refusal>
where
    Req: Serialize,
    Resp: DeserializeOwned + Witnessed,
{
    match call_once(state, slot, bundle, path, &make).await {
        Err(refusal) if refusal.is(BEHIND) => {
            // It holds fewer leaf hashes than we thought (restored from an
            // older backup, say): send it the whole log once.
            state.audit.set_witness_size(&slot.custodian, 0);
            call_once(state, slot, bundle, path, &make)
                .await
                .map_err(|refusal| {
                    if refusal.is(BEHIND) {
                        "holds fewer audit leaf hashes than it reported"
                            .to_owned()
                            .into()
                    } else {
                        refusal
                    }
                })
        }
        other => other,
    }
}

async fn call_once<Req, Resp>(
    state: &AppState,
    slot: &Slot,
    bundle: &Bundle,
    path: &str,
    make: &impl Fn(AuditEvidence) -> Req,
) -> Result<Resp, Refusal>
where
    Req: Serialize,
    Resp: DeserializeOwned + Witnessed,
{
    let endpoint = state
        .endpoint_of(&slot.custodian)
        .ok_or_else(|| "not registered with this coordinator".to_owned())?;
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
    let request = make(bundle.evidence(state, first_leaf));
    let url = format!("{}{path}", endpoint.trim_end_matches('/'));
    let answer: Resp = exchange(state, state.http.post(&url).json(&request)).await?;
    if answer.custodian_id() != slot.custodian || answer.index() != slot.index {
        return Err(format!(
            "answered as custodian {:?} share {} instead of share {}",
            answer.custodian_id(),
            answer.index(),
            slot.index
        )
        .into());
    }
    state
        .audit
        .set_witness_size(&slot.custodian, answer.witness_size());
    // Its cosignature is evidence for auditors, not a condition of the
    // operation: a bad one is logged.
    if let Err(reason) =
        state
            .audit
            .add_cosignature(answer.cosigned_head(), &slot.custodian, || {
                state
                    .attestation_key_of(&slot.custodian)
                    .and_then(|attestation| witness_key(&slot.custodian, &attestation))
            })
    {
        tracing::warn!(custodian = %slot.custodian, %reason, "custodian's tree head cosignature refused");
    }
    Ok(answer)
}

/// Why a custodian did not answer a request usefully: one line for the
/// caller and the log, and its problem document when it sent one.
#[derive(Debug)]
pub(crate) struct Refusal {
    pub(crate) reason: String,
    pub(crate) problem: Option<Problem>,
}

impl Refusal {
    /// Whether the custodian answered the problem `kind`
    /// (`urn:symbolon:problem:<kind>`).
    pub(crate) fn is(&self, kind: &str) -> bool {
        self.problem.as_ref().is_some_and(|p| {
            p.kind
                .strip_prefix("urn:symbolon:problem:")
                .is_some_and(|k| k == kind)
        })
    }
}

impl From<String> for Refusal {
    fn from(reason: String) -> Self {
        Self {
            reason,
            problem: None,
        }
    }
}

/// The largest answer read from a custodian (the largest real one, a
/// DKG round 2 among 255 custodians, is about 100 KiB).
const MAX_ANSWER_BYTES: usize = 4 << 20;

/// Sends `request` to a custodian and reads its JSON answer, the whole
/// exchange (connect, send, body) bounded by the custodian timeout and the
/// body by [`MAX_ANSWER_BYTES`]. A non-2xx answer is a [`Refusal`]
/// carrying the custodian's problem.
pub(crate) async fn exchange<Resp: DeserializeOwned>(
    state: &AppState,
    request: reqwest::RequestBuilder,
) -> Result<Resp, Refusal> {
    let timeout = state.custodian_timeout();
    let timed_out = || format!("timed out after {} ms", timeout.as_millis());
    let exchange = async {
        let mut response = request.send().await.map_err(|e| describe_send_error(&e))?;
        let status = response.status();
        let body = read_body(&mut response, MAX_ANSWER_BYTES).await?;
        if !status.is_success() {
            let problem = serde_json::from_slice::<Problem>(&body).ok();
            let detail = problem
                .as_ref()
                .map(Problem::one_line)
                .unwrap_or_else(|| String::from_utf8_lossy(&body).chars().take(200).collect());
            return Err(Refusal {
                reason: format!("refused with {status}: {detail}"),
                problem,
            });
        }
        serde_json::from_slice(&body).map_err(|e| Refusal::from(format!("malformed answer: {e}")))
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| Refusal::from(timed_out()))?
}

/// Reads `response`'s body, refusing one longer than `max` bytes before
/// holding more than that.
async fn read_body(response: &mut reqwest::Response, max: usize) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| format!("answer cut short: {e}"))?
    {
        if body.len().saturating_add(chunk.len()) > max {
            return Err(format!("answered with more than {max} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Sends a custodian far behind the log the leaf hashes it lacks, in
/// chunks of at most [`MAX_LEAVES_PER_REQUEST`], each up to a signed head
/// stored in the log, until it is close enough to `target` to take the
/// rest with the request.
pub(crate) async fn catch_up(
    state: &AppState,
    endpoint: &str,
    custodian: &str,
    target: u64,
) -> Result<(), String> {
    let url = format!("{}/v1/audit/sync", endpoint.trim_end_matches('/'));
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
        let synced: AuditSynced = exchange(state, state.http.post(&url).json(&sync))
            .await
            .map_err(|refusal| format!("audit sync: {}", refusal.reason))?;
        if synced.witness_size <= held {
            return Err("made no progress bringing its audit log up to date".to_owned());
        }
        state.audit.set_witness_size(custodian, synced.witness_size);
    }
}

/// Best effort: `DELETE path` on every custodian in `custodians` at once
/// (idempotent clean-ups); a failure is logged as `what`.
pub(crate) async fn delete_everywhere(
    state: &AppState,
    custodians: &[crate::state::Custodian],
    path: &str,
    what: &str,
) {
    let timeout = state.custodian_timeout();
    futures::future::join_all(custodians.iter().map(|c| {
        let url = format!("{}{path}", c.endpoint.trim_end_matches('/'));
        async move {
            match tokio::time::timeout(timeout, state.http.delete(&url).send()).await {
                Ok(Ok(r)) if r.status().is_success() => {}
                _ => tracing::warn!(custodian = %c.id, path, "could not {what}"),
            }
        }
    }))
    .await;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn response(body: &'static str) -> reqwest::Response {
        reqwest::Response::from(axum::http::Response::new(body))
    }

    #[tokio::test]
    async fn an_answer_longer_than_the_cap_is_refused() {
        let body = read_body(&mut response("{\"ok\":1}"), 8).await.unwrap();
        assert_eq!(body, b"{\"ok\":1}");
        let refused = read_body(&mut response("{\"ok\":12}"), 8)
            .await
            .unwrap_err();
        assert_eq!(refused, "answered with more than 8 bytes");
        assert!(read_body(&mut response(""), 0).await.unwrap().is_empty());
    }
}
