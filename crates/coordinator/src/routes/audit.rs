//! The audit log API: tree heads, entries and proofs, for auditors and
//! `symbolon audit`.

use std::sync::Arc;

use axum::Extension;
use axum::extract::State;
use serde::Deserialize;
use symbolon_audit::{Entry, NoteKey};
use symbolon_proto::Problem;
use symbolon_proto::audit::{
    AuditEntries, AuditEntryView, AuditHead, ConsistencyProof, InclusionProof, MAX_ENTRIES_PER_PAGE,
};
use symbolon_store::AuditRow;
use symbolon_transport::PeerIdentity;
use utoipa::IntoParams;

use crate::problem::{ApiError, ApiPath, ApiQuery};
use crate::routes::require_client;
use crate::state::AppState;

fn view(row: AuditRow) -> AuditEntryView {
    AuditEntryView {
        index: row.index,
        entry: Entry::decode(&row.entry).ok(),
        encoded: row.entry,
        head: row.head,
    }
}

/// The latest signed tree head, the log key and the newest witnessed head.
#[utoipa::path(get, path = "/v1/audit/head", tag = "audit",
    responses((status = 200, body = AuditHead), (status = "4XX", body = Problem)))]
pub(crate) async fn head(
    State(state): State<Arc<AppState>>,
    Extension(peer): Extension<PeerIdentity>,
) -> Result<axum::Json<AuditHead>, ApiError> {
    require_client(&peer)?;
    let latest = state.audit.latest();
    let witness_keys = state
        .all_custodians()
        .into_iter()
        .filter_map(|c| {
            let key = ed25519_dalek::VerifyingKey::from_bytes(&c.attestation_key).ok()?;
            NoteKey::new(&c.id, key).ok().map(|k| k.to_vkey())
        })
        .collect();
    Ok(axum::Json(AuditHead {
        note: latest.to_note(),
        size: latest.head().size,
        log_key: state.audit.note_key().to_vkey(),
        witnessed: state.audit.witnessed().map(|w| w.to_note()),
        witness_keys,
    }))
}

/// Which entries to list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct Page {
    /// The first index (default 0).
    #[serde(default)]
    start: u64,
    /// How many (default and maximum 1000).
    limit: Option<u64>,
}

/// A page of entries, in index order.
#[utoipa::path(get, path = "/v1/audit/entries", tag = "audit", params(Page),
    responses((status = 200, body = AuditEntries), (status = "4XX", body = Problem)))]
pub(crate) async fn entries(
    State(state): State<Arc<AppState>>,
    Extension(peer): Extension<PeerIdentity>,
    ApiQuery(page): ApiQuery<Page>,
) -> Result<axum::Json<AuditEntries>, ApiError> {
    require_client(&peer)?;
    let limit = page.limit.unwrap_or(MAX_ENTRIES_PER_PAGE);
    if limit == 0 || limit > MAX_ENTRIES_PER_PAGE {
        return Err(ApiError::bad_request(format!(
            "limit must be 1 to {MAX_ENTRIES_PER_PAGE}, got {limit}"
        )));
    }
    let size = state.audit.latest().head().size;
    // Past the end (any start up to u64::MAX): an empty page, no query.
    let rows = if page.start < size {
        state.store.audit_entries(page.start, limit).await?
    } else {
        Vec::new()
    };
    Ok(axum::Json(AuditEntries {
        entries: rows.into_iter().map(view).collect(),
        size,
    }))
}

/// One entry.
#[utoipa::path(get, path = "/v1/audit/entries/{index}", tag = "audit",
    params(("index" = u64, Path, description = "entry index")),
    responses((status = 200, body = AuditEntryView), (status = "4XX", body = Problem)))]
pub(crate) async fn entry(
    State(state): State<Arc<AppState>>,
    Extension(peer): Extension<PeerIdentity>,
    ApiPath(index): ApiPath<u64>,
) -> Result<axum::Json<AuditEntryView>, ApiError> {
    require_client(&peer)?;
    if index >= state.audit.latest().head().size {
        return Err(ApiError::not_found("audit entry", &index.to_string()));
    }
    let row = state
        .store
        .audit_entries(index, 1)
        .await?
        .into_iter()
        .find(|r| r.index == index)
        .ok_or_else(|| ApiError::not_found("audit entry", &index.to_string()))?;
    Ok(axum::Json(view(row)))
}

/// Which inclusion proof.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct InclusionQuery {
    /// The entry's index.
    index: u64,
}

/// An inclusion proof of one entry against the latest signed tree head.
#[utoipa::path(get, path = "/v1/audit/proof/inclusion", tag = "audit", params(InclusionQuery),
    responses((status = 200, body = InclusionProof), (status = "4XX", body = Problem)))]
pub(crate) async fn inclusion(
    State(state): State<Arc<AppState>>,
    Extension(peer): Extension<PeerIdentity>,
    ApiQuery(query): ApiQuery<InclusionQuery>,
) -> Result<axum::Json<InclusionProof>, ApiError> {
    require_client(&peer)?;
    let head = state.audit.latest();
    let size = head.head().size;
    if query.index >= size {
        return Err(ApiError::not_found("audit entry", &query.index.to_string()));
    }
    let proof = state
        .audit
        .inclusion_proof(query.index, size)
        .map_err(ApiError::bad_request)?;
    let row = state
        .store
        .audit_entries(query.index, 1)
        .await?
        .into_iter()
        .find(|r| r.index == query.index)
        .ok_or_else(|| ApiError::not_found("audit entry", &query.index.to_string()))?;
    Ok(axum::Json(InclusionProof {
        index: query.index,
        encoded: row.entry,
        head: head.to_note(),
        proof: proof.iter().map(|h| h.to_hex()).collect(),
    }))
}

/// Which consistency proof.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConsistencyQuery {
    /// The older tree size.
    from: u64,
    /// The newer tree size.
    to: u64,
}

/// A consistency proof between two tree sizes.
#[utoipa::path(get, path = "/v1/audit/proof/consistency", tag = "audit", params(ConsistencyQuery),
    responses((status = 200, body = ConsistencyProof), (status = "4XX", body = Problem)))]
pub(crate) async fn consistency(
    State(state): State<Arc<AppState>>,
    Extension(peer): Extension<PeerIdentity>,
    ApiQuery(query): ApiQuery<ConsistencyQuery>,
) -> Result<axum::Json<ConsistencyProof>, ApiError> {
    require_client(&peer)?;
    let proof = state
        .audit
        .consistency_proof(query.from, query.to)
        .map_err(ApiError::bad_request)?;
    Ok(axum::Json(ConsistencyProof {
        from: query.from,
        to: query.to,
        proof: proof.iter().map(|h| h.to_hex()).collect(),
    }))
}
