//! The custodian's HTTPS API, served to the coordinator only (mutual TLS,
//! coordinator-role certificates; see `symbolon_proto::custodian`).
//!
//! | route | answer |
//! | --- | --- |
//! | `PUT /v1/keys/{key_id}/versions/{version}/share` (binary envelope) | 200 `StoreShareResponse` |
//! | `DELETE /v1/keys/{key_id}/versions/{version}/share` | 204, idempotent |
//! | `POST /v1/release` (`ReleaseRequest`) | 200 `ReleaseResponse` |
//! | `POST /v1/audit/sync` (`AuditSync`) | 200 `AuditSynced` |
//! | `GET /v1/health` | 200 `CustodianHealth` |
//!
//! Every error is an RFC 9457 problem document
//! (`application/problem+json`) whose `type` is
//! `urn:symbolon:problem:<kind>`, stable and safe to match on:
//!
//! | status | kind | when |
//! | --- | --- | --- |
//! | 400 | `bad-request` | malformed path, JSON or ephemeral key |
//! | 400 | `bad-envelope` | the body is not a shard envelope, or it does not decrypt |
//! | 422 | `wrong-signer` | signed by a key other than the pinned coordinator's |
//! | 422 | `bad-signature` | the signature does not verify |
//! | 422 | `not-recipient` | not sealed to this custodian (key or id) |
//! | 422 | `key-mismatch` | metadata key id or epoch differs from the path |
//! | 422 | `expired` | the shard's `expires_at` has passed (on store and on release) |
//! | 422 | `commitment-mismatch` | the opened share does not match its commitment |
//! | 409 | `conflict` | a different shard is already held for that key version |
//! | 404 | `not-found` | no shard held for that key version; unknown route |
//! | 405 | `method-not-allowed` | known route, wrong method |
//! | 413 | `payload-too-large` | body over [`MAX_BODY`] |
//! | 503 | `audit-log-not-pinned` | release before this run registered and pinned the log key |
//! | 409 | `audit-leaves-gap` | the log's leaf hashes sent start beyond the ones held |
//! | 409 | `audit-log-refused` | the tree head is not signed by the pinned log key, or the log forked or was rewritten (recorded in `audit/refusals.log`) |
//! | 403 | `request-not-in-log` | the request is not the `request.created` entry proven in the log |
//! | 403 | `request-expired` | the request expired (or claims a future creation time) |
//! | 415 | `unsupported-media-type` | release body without a JSON content type |
//! | 503 | `not-registered` | no registration with the coordinator yet in this run |
//! | 500 | `about:blank` | our own fault: logged, nothing shown |

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection};
use axum::extract::{DefaultBodyLimit, Path, State as AxumState};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use symbolon_envelope::BLINDING_LEN;
use symbolon_proto::custodian::{
    CustodianHealth, ReleaseRequest, ReleaseResponse, StoreShareResponse,
};
use symbolon_proto::release::{ReleaseContext, seal};
use symbolon_proto::{PROBLEM_CONTENT_TYPE, Problem};
use zeroize::Zeroizing;

use crate::ledger::LogRefusal;
use crate::state::State;
use crate::vault::{self, Expected, Refusal, StoreError, Stored};
use symbolon_proto::audit::{AuditSync, AuditSynced};

/// The largest request body accepted, bytes (a shard of a 32-byte key is a
/// few hundred bytes).
pub const MAX_BODY: usize = 1 << 20;

/// The custodian's router.
pub(crate) fn router(state: Arc<State>) -> Router {
    Router::new()
        .route(
            "/v1/keys/{key_id}/versions/{version}/share",
            put(put_share).delete(delete_share),
        )
        .route("/v1/release", post(release))
        .route("/v1/audit/sync", post(audit_sync))
        .route("/v1/health", get(health))
        .fallback(unknown_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

/// An error answer: a problem for the caller's faults, a bare 500 (the
/// reason logged, not sent) for ours.
#[derive(Debug)]
pub(crate) enum ApiError {
    /// Shown as is.
    Problem(Box<Problem>),
    /// Logged; answered with a bare 500.
    Internal(Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    fn new(status: StatusCode, kind: &str, title: &str, detail: impl Into<String>) -> Self {
        Self::Problem(Box::new(Problem::new(status.as_u16(), kind, title, detail)))
    }

    fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "bad-request",
            "Bad request",
            detail,
        )
    }

    fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "Not found", detail)
    }

    fn internal(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Internal(Box::new(error))
    }
}

impl From<&Refusal> for ApiError {
    fn from(refusal: &Refusal) -> Self {
        let (status, kind, title) = match refusal {
            Refusal::BadEnvelope(_) => (StatusCode::BAD_REQUEST, "bad-envelope", "Bad envelope"),
            Refusal::WrongSigner { .. } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "wrong-signer",
                "Shard not signed by the coordinator",
            ),
            Refusal::BadSignature => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "bad-signature",
                "Bad shard signature",
            ),
            Refusal::NotRecipient { .. } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "not-recipient",
                "Shard not for this custodian",
            ),
            Refusal::KeyMismatch { .. } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "key-mismatch",
                "Shard for another key version",
            ),
            Refusal::Expired { .. } => {
                (StatusCode::UNPROCESSABLE_ENTITY, "expired", "Shard expired")
            }
            Refusal::CommitmentMismatch => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "commitment-mismatch",
                "Share does not match its commitment",
            ),
        };
        Self::new(status, kind, title, refusal.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let problem = match self {
            Self::Problem(problem) => *problem,
            Self::Internal(error) => {
                tracing::error!(error = %error, "internal error");
                Problem {
                    kind: "about:blank".to_owned(),
                    title: "Internal Server Error".to_owned(),
                    status: 500,
                    detail: None,
                    instance: None,
                    custodians: Vec::new(),
                }
            }
        };
        let status =
            StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        (status, [(header::CONTENT_TYPE, PROBLEM_CONTENT_TYPE)], body).into_response()
    }
}

/// A body rejection: 413 stays 413, anything else is the caller's fault too.
fn body_problem(status: StatusCode, text: String) -> ApiError {
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
            status,
            "payload-too-large",
            "Payload too large",
            format!("the body exceeds {MAX_BODY} bytes"),
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::new(
            status,
            "unsupported-media-type",
            "Unsupported media type",
            text,
        ),
        s if s.is_client_error() => ApiError::new(s, "bad-request", "Bad request", text),
        _ => ApiError::bad_request(text),
    }
}

fn bytes_problem(rejection: &BytesRejection) -> ApiError {
    body_problem(rejection.status(), rejection.body_text())
}

fn json_problem(rejection: &JsonRejection) -> ApiError {
    body_problem(rejection.status(), rejection.body_text())
}

/// The key id and version of a share route, checked.
fn share_path(
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<(String, u64), ApiError> {
    let Path((key_id, version)) = path.map_err(|r| ApiError::bad_request(r.body_text()))?;
    symbolon_proto::validate_name("key id", &key_id)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let parsed = version
        .parse::<u64>()
        .ok()
        .filter(|v| v.to_string() == version)
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "version {:?} is not a decimal integer",
                version.chars().take(40).collect::<String>()
            ))
        })?;
    Ok((key_id, parsed))
}

fn ack(state: &State, shard: &vault::Held) -> Json<StoreShareResponse> {
    Json(StoreShareResponse {
        custodian_id: state.id.clone(),
        index: shard.index,
        digest: shard.digest,
    })
}

/// `PUT /v1/keys/{key_id}/versions/{version}/share`: verify, store, ack.
async fn put_share(
    AxumState(state): AxumState<Arc<State>>,
    path: Result<Path<(String, String)>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<StoreShareResponse>, ApiError> {
    let (key_id, version) = share_path(path)?;
    let body = body.map_err(|r| bytes_problem(&r))?;
    let Some(coordinator) = state.registered_coordinator() else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not-registered",
            "Not registered",
            "this custodian has not registered with the coordinator yet, so it has no coordinator key to check shards against; retry shortly",
        ));
    };
    // The same bytes again (a retried PUT): already verified and stored.
    if let Some(held) = state.vault.get(&key_id, version)
        && held.digest == *blake3::hash(&body).as_bytes()
    {
        return Ok(ack(&state, &held));
    }
    let expected = Expected {
        coordinator: &coordinator,
        identity: &state.keys.identity,
        custodian_id: &state.id,
        key_id: &key_id,
        version,
        now: Some(vault::unix_now()),
    };
    let shard = vault::verify(&body, &expected).map_err(|refusal| {
        tracing::warn!(key_id, version, reason = %refusal, "refused a shard");
        ApiError::from(&refusal)
    })?;
    match state.vault.store(&key_id, version, body, shard).await {
        Ok(Stored::New(shard)) => {
            tracing::info!(key_id, version, index = shard.index, digest = %hex::encode(shard.digest), "stored a shard");
            Ok(ack(&state, &shard))
        }
        Ok(Stored::Again(shard)) => Ok(ack(&state, &shard)),
        Err(StoreError::Conflict { held }) => {
            tracing::warn!(
                key_id,
                version,
                "refused a different shard for a key version already held"
            );
            Err(ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                "A different shard is held",
                format!(
                    "a different shard (digest {}) is already held for key {key_id:?} version {version}; delete it first",
                    hex::encode(held)
                ),
            ))
        }
        Err(StoreError::Io(e)) => Err(ApiError::internal(e)),
    }
}

/// `DELETE /v1/keys/{key_id}/versions/{version}/share`: 204 whether or not
/// it was held.
async fn delete_share(
    AxumState(state): AxumState<Arc<State>>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let (key_id, version) = share_path(path)?;
    let removed = state
        .vault
        .delete(&key_id, version)
        .await
        .map_err(ApiError::internal)?;
    if removed {
        tracing::info!(key_id, version, "deleted a shard");
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v1/release`: the shard's plaintext sealed to the request's
/// ephemeral key, once the request is proven to be in the audit log (that
/// check, which may append the log's new leaf hashes to disk, runs on the
/// blocking pool).
async fn release(
    AxumState(state): AxumState<Arc<State>>,
    body: Result<Json<ReleaseRequest>, JsonRejection>,
) -> Result<Json<ReleaseResponse>, ApiError> {
    let Json(ReleaseRequest {
        statement,
        evidence,
    }) = body.map_err(|r| json_problem(&r))?;
    if statement.op.is_empty() {
        return Err(ApiError::bad_request("the request names no operation"));
    }
    // Nothing is released while this run has not registered with the
    // pinned coordinator.
    if state.registered_coordinator().is_none() {
        return Err(ApiError::from(&LogRefusal::NotPinned));
    }
    let shard = state
        .vault
        .get(&statement.key_id, statement.version)
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "no shard held for key {:?} version {}",
                statement.key_id, statement.version
            ))
        })?;
    let now = vault::unix_now();
    if let Some(expires_at) = shard.metadata.expires_at
        && now >= expires_at
    {
        return Err(ApiError::from(&Refusal::Expired { expires_at, now }));
    }
    // The request must be in the coordinator's audit log, in a log that
    // extends every log this custodian saw (DESIGN §4 step 4).
    let (statement, witnessed) = {
        let state = Arc::clone(&state);
        tokio::task::spawn_blocking(move || {
            let checked = state.ledger.check(
                &statement,
                &evidence,
                vault::unix_now_ms(),
                &state.id,
                state.keys.attestation.expose_secret(),
            );
            (statement, checked)
        })
        .await
        .map_err(|_| ApiError::Internal("the audit check task failed".into()))?
    };
    let witnessed = witnessed.map_err(|refusal| ApiError::from(&refusal))?;
    let request_id = statement.request_id.as_str();
    let context = ReleaseContext {
        request_id,
        key_id: &statement.key_id,
        version: statement.version,
        custodian_id: &state.id,
        index: shard.index,
    };
    let sealed = if state.hooks.corrupt_releases.load(Ordering::Relaxed) {
        tracing::warn!(
            key_id = statement.key_id,
            version = statement.version,
            "fault injection: releasing a share with one bit flipped"
        );
        let mut corrupted = Zeroizing::new(shard.expose_secret().to_vec());
        let at = if shard.metadata.scheme.is_hash_committed() {
            BLINDING_LEN
        } else {
            0
        };
        if let Some(byte) = corrupted.get_mut(at) {
            *byte ^= 1;
        }
        seal(
            &statement.ephemeral_public,
            &context,
            &corrupted,
            &mut rand::rng(),
        )
    } else {
        seal(
            &statement.ephemeral_public,
            &context,
            shard.expose_secret(),
            &mut rand::rng(),
        )
    };
    let (enc, sealed) = sealed
        .map_err(|e| ApiError::bad_request(format!("cannot seal to ephemeral_public: {e}")))?;
    tracing::debug!(
        request_id,
        key_id = statement.key_id,
        version = statement.version,
        "released a share"
    );
    Ok(Json(ReleaseResponse {
        custodian_id: state.id.clone(),
        index: shard.index,
        enc,
        sealed,
        witness_size: witnessed.size,
        cosigned_head: witnessed.cosigned,
    }))
}

/// `POST /v1/audit/sync`: leaf hashes up to a signed head, for a custodian
/// too far behind the log to receive them with a request.
async fn audit_sync(
    AxumState(state): AxumState<Arc<State>>,
    body: Result<Json<AuditSync>, JsonRejection>,
) -> Result<Json<AuditSynced>, ApiError> {
    let Json(sync) = body.map_err(|r| json_problem(&r))?;
    if state.registered_coordinator().is_none() {
        return Err(ApiError::from(&LogRefusal::NotPinned));
    }
    let state = Arc::clone(&state);
    let witness_size = tokio::task::spawn_blocking(move || {
        state.ledger.sync(&sync.head, sync.first_leaf, &sync.leaves)
    })
    .await
    .map_err(|_| ApiError::Internal("the audit sync task failed".into()))?
    .map_err(|refusal| ApiError::from(&refusal))?;
    Ok(Json(AuditSynced { witness_size }))
}

impl From<&LogRefusal> for ApiError {
    fn from(refusal: &LogRefusal) -> Self {
        let (kind, title) = refusal.kind();
        let status = match refusal {
            LogRefusal::NotPinned => StatusCode::SERVICE_UNAVAILABLE,
            LogRefusal::Behind(_) | LogRefusal::Log(_) => StatusCode::CONFLICT,
            LogRefusal::NotIncluded(_) | LogRefusal::Stale(_) => StatusCode::FORBIDDEN,
        };
        Self::new(status, kind, title, refusal.to_string())
    }
}

/// `GET /v1/health`.
async fn health(AxumState(state): AxumState<Arc<State>>) -> Json<CustodianHealth> {
    Json(CustodianHealth {
        id: state.id.clone(),
        shares: state.vault.len(),
    })
}

async fn unknown_route(uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!("no such endpoint: {}", uri.path()))
}

async fn wrong_method(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "Method not allowed",
        format!("{method} is not allowed on {}", uri.path()),
    )
}
