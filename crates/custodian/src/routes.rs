//! The custodian's HTTPS API, served to the coordinator only (mutual TLS,
//! coordinator-role certificates; see `symbolon_proto::custodian`).
//!
//! | route | answer |
//! | --- | --- |
//! | `PUT /v1/keys/{key_id}/versions/{version}/share` (binary envelope) | 200 `StoreShareResponse` |
//! | `DELETE /v1/keys/{key_id}/versions/{version}/share` | 204, idempotent |
//! | `POST /v1/release` (`ReleaseRequest`) | 200 `ReleaseResponse` (a `secret` key's shard only) |
//! | `POST /v1/partial` (`PartialRequest`) | 200 `PartialResponse`: a FROST signature share or a TDH2 decryption share |
//! | `POST /v1/keys/{key_id}/versions/{version}/nonces` (`NonceRequest`) | 200 `NonceResponse`: fresh FROST commitments, persisted first |
//! | `POST /v1/dkg/{session}/round1` (`DkgStart`) | 200 `DkgRound1`: this custodian's round-1 broadcast |
//! | `POST /v1/dkg/{session}/round2` (`DkgRound2Request`) | 200 `DkgRound2`: its round-2 envelopes, one per other participant |
//! | `POST /v1/dkg/{session}/finish` (`DkgFinish`) | 200 `DkgDone`: the share stored, the group derived |
//! | `DELETE /v1/dkg/{session}` | 204, idempotent: the session and the share it stored are gone |
//! | `POST /v1/audit/sync` (`AuditSync`) | 200 `AuditSynced` |
//! | `GET /v1/health` | 200 `CustodianHealth` |
//!
//! A release and a partial result run the same checks, in this order: this
//! run registered with the pinned coordinator; the shard is held; it is of
//! the kind the operation needs (a `secret` key for a release; `ed25519`
//! for `sign`, `ristretto255` for `decrypt`); (partial only) the logged
//! statement names the operation asked for; the shard has not expired;
//! (partial only) the payload decodes — a signing package listing this
//! custodian, enough signers and only the group's; a threshold ciphertext
//! for the request's version — and has the digest the logged statement
//! carries; and the request is proven in the audit log (see
//! `crate::ledger`). So a request refused for anything else writes nothing
//! (the log check may append leaf hashes). Only then, on the same blocking
//! task as the log check, is the share sealed, a nonce pair taken, or the
//! decryption share computed.
//!
//! A step that writes the vault, the nonces or a DKG session is never left
//! half done when the coordinator gives up on the request: storing or
//! deleting a shard, a DKG's last round and its abort run to completion on
//! a task of their own; publishing nonces reserves its batch number before
//! it writes (see `crate::nonces`).
//!
//! The DKG routes run the steps of `crate::dkg` (see its module docs for
//! every check), once this run registered with the pinned coordinator.
//!
//! Every error is an RFC 9457 problem document
//! (`application/problem+json`) whose `type` is
//! `urn:symbolon:problem:<kind>`, stable and safe to match on:
//!
//! | status | kind | when |
//! | --- | --- | --- |
//! | 400 | `bad-request` | malformed path, JSON, ephemeral key, signing package or ciphertext; a nonce count outside 1..=`MAX_NONCES_PER_REQUEST`; a statement whose `op` is not the partial operation asked for |
//! | 400 | `bad-envelope` | the body is not a shard envelope, it does not decrypt, or its scheme is unknown |
//! | 400 | `bad-request` | (DKG) a malformed session id, key id, label or participant list (indices not exactly `1..=n`, a custodian id or recipient key twice, an unparsable recipient), `t` and `n` outside `2 <= t <= n <= 255`, a relayed set without every expected index exactly once |
//! | 422 | `wrong-signer` | signed by a key other than the pinned coordinator's (this custodian's own key is accepted only for a threshold scheme; what it signed must then be a DKG share package, see `bad-share-package`) |
//! | 422 | `bad-signature` | the signature does not verify |
//! | 422 | `not-recipient` | not sealed to this custodian (key or id) |
//! | 422 | `key-mismatch` | metadata key id or epoch differs from the path |
//! | 422 | `expired` | the shard's `expires_at` has passed (on store, release, partial result and nonce request) |
//! | 422 | `commitment-mismatch` | the opened share does not match its commitment |
//! | 422 | `bad-share-package` | a threshold shard's plaintext is not a share package that checks out against its metadata (group inconsistent or not the one committed to, share off the dealer's commitment, index or threshold differs), or is not of its signer's making (a DKG share package, version 2, signed by the coordinator; a dealer's, version 1, signed by this custodian itself) |
//! | 409 | `wrong-kind` | a release of a threshold key's shard (its share never leaves the custodian); a partial result or nonces with a shard of another kind; (DKG) a start for a `secret` key |
//! | 403 | `payload-mismatch` | the message or ciphertext is not the payload whose digest the logged request carries |
//! | 422 | `not-a-signer` | the signing package lists no commitment for this custodian's index |
//! | 422 | `bad-signing-package` | the signing package lists fewer signers than the threshold, or a signer outside the group, or FROST refuses it |
//! | 409 | `nonce-unknown` | the package's commitment for this custodian is not one it published and still holds (unknown, already used, dropped at an unclean restart or beyond the cap) |
//! | 422 | `key-mismatch` | (decrypt) the ciphertext names another key version than the request |
//! | 422 | `bad-ciphertext-proof` | the ciphertext's proof fails for this key's group under its label (tampered, relabelled, or made for another key) |
//! | 409 | `conflict` | a different shard is already held for that key version; (DKG) a share is already held for the key version, another session is generating it, the session id is already in use, or the session is not at the step asked (running one, failed, finished) |
//! | 422 | `not-a-participant` | (DKG) the start does not list this custodian, or lists it with another recipient key |
//! | 422 | `dkg-participant-failed` | (DKG) participants failed; `custodians` names each with the reason: a malformed round-1 package or a bad proof of knowledge (round 2); a round-2 envelope not signed by its sender's key, not verifying, not sealed to this custodian, for another key, version, index, `t` or `n`, not opening, or a share off its sender's commitment (last round) |
//! | 422 | `dkg-equivocation` | (DKG) the relayed round-1 set does not hold this custodian's own package unchanged (round 2); a round-2 envelope commits to another round-1 set than this custodian saw (last round; `custodians` names its sender) |
//! | 404 | `not-found` | no shard held for that key version; no such DKG session (or it expired); unknown route |
//! | 405 | `method-not-allowed` | known route, wrong method |
//! | 413 | `payload-too-large` | body over [`MAX_BODY`] |
//! | 503 | `audit-log-not-pinned` | release or partial result before this run registered and pinned the log key |
//! | 409 | `audit-leaves-gap` | the log's leaf hashes sent start beyond the ones held |
//! | 409 | `audit-log-refused` | the tree head is not signed by the pinned log key, or the log forked or was rewritten (recorded in `audit/refusals.log`) |
//! | 403 | `request-not-in-log` | the request is not the `request.created` entry proven in the log |
//! | 403 | `request-expired` | the request expired (or claims a future creation time) |
//! | 415 | `unsupported-media-type` | JSON route body without a JSON content type |
//! | 503 | `not-registered` | a shard, a nonce request or a DKG step before this run registered with the coordinator |
//! | 503 | `too-many-sessions` | (DKG) a start while `crate::dkg::MAX_SESSIONS` sessions are kept |
//! | 503 | `stopping` | a nonce request while the custodian is shutting down |
//! | 500 | `about:blank` | our own fault: logged, nothing shown |

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection};
use axum::extract::{DefaultBodyLimit, Path, State as AxumState};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use symbolon_envelope::BLINDING_LEN;
use symbolon_proto::api::KeyKind;
use symbolon_proto::audit::{
    AuditEvidence, AuditSync, AuditSynced, RequestStatement, payload_digest,
};
use symbolon_proto::custodian::{
    B64, CustodianHealth, MAX_NONCES_PER_REQUEST, NonceRequest, NonceResponse, PartialOperation,
    PartialRequest, PartialResponse, ReleaseRequest, ReleaseResponse, StoreShareResponse,
};
use symbolon_proto::dkg::{DkgDone, DkgFinish, DkgRound1, DkgRound2, DkgRound2Request, DkgStart};
use symbolon_proto::release::{ReleaseContext, seal};
use symbolon_proto::scalar::HeldShare;
use symbolon_proto::{PROBLEM_CONTENT_TYPE, Problem};
use symbolon_threshold::{ed25519, tdh2};
use zeroize::Zeroizing;

use crate::dkg::{self, DkgRefusal};
use crate::files;
use crate::ledger::{LogRefusal, Witnessed};
use crate::nonces::PublishError;
use crate::state::{State, to_completion};
use crate::vault::{self, Expected, Held, Refusal, StoreError, Stored};

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
        .route("/v1/partial", post(partial))
        .route(
            "/v1/keys/{key_id}/versions/{version}/nonces",
            post(publish_nonces),
        )
        .route("/v1/dkg/{session}/round1", post(dkg_round1))
        .route("/v1/dkg/{session}/round2", post(dkg_round2))
        .route("/v1/dkg/{session}/finish", post(dkg_finish))
        .route("/v1/dkg/{session}", delete(dkg_abort))
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

    fn wrong_kind(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "wrong-kind",
            "Wrong key kind for this operation",
            detail,
        )
    }

    fn not_registered() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not-registered",
            "Not registered",
            "this custodian has not registered with the coordinator yet, so it has no coordinator key to check shards against; retry shortly",
        )
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
            Refusal::BadSharePackage(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "bad-share-package",
                "Bad threshold share package",
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
    let parsed = files::parse_canonical_u64(&version).ok_or_else(|| {
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
/// The store runs on a task of its own, so a dropped request cannot leave
/// the file written but the shard not held.
async fn put_share(
    AxumState(state): AxumState<Arc<State>>,
    path: Result<Path<(String, String)>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<StoreShareResponse>, ApiError> {
    let (key_id, version) = share_path(path)?;
    let body = body.map_err(|r| bytes_problem(&r))?;
    let Some(coordinator) = state.registered_coordinator() else {
        return Err(ApiError::not_registered());
    };
    // The same bytes again (a retried PUT): already verified and stored.
    if let Some(held) = state.vault.get(&key_id, version)
        && held.digest == *blake3::hash(&body).as_bytes()
    {
        return Ok(ack(&state, &held));
    }
    let expected = Expected {
        coordinator: Some(&coordinator),
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
    let stored = {
        let (state, key_id) = (Arc::clone(&state), key_id.clone());
        to_completion("shard store", async move {
            state.vault.store(&key_id, version, body, shard).await
        })
        .await
        .map_err(ApiError::internal)?
    };
    match stored {
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
/// it was held; its nonces go with it. Runs on a task of its own.
async fn delete_share(
    AxumState(state): AxumState<Arc<State>>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let (key_id, version) = share_path(path)?;
    let removed = {
        let (state, key_id) = (Arc::clone(&state), key_id.clone());
        to_completion("shard delete", async move {
            state.delete_share(&key_id, version, None).await
        })
        .await
        .and_then(|removed| removed)
        .map_err(ApiError::internal)?
    };
    if removed {
        tracing::info!(key_id, version, "deleted a shard");
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The shard a request names, once this run has registered with the
/// pinned coordinator (nothing is released or computed before).
fn requested_shard(state: &State, statement: &RequestStatement) -> Result<Arc<Held>, ApiError> {
    if state.registered_coordinator().is_none() {
        return Err(ApiError::from(&LogRefusal::NotPinned));
    }
    state
        .vault
        .get(&statement.key_id, statement.version)
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "no shard held for key {:?} version {}",
                statement.key_id, statement.version
            ))
        })
}

/// Refuses an expired shard.
fn check_expiry(shard: &Held) -> Result<(), ApiError> {
    let now = vault::unix_now();
    match shard.metadata.expires_at {
        Some(expires_at) if now >= expires_at => {
            Err(ApiError::from(&Refusal::Expired { expires_at, now }))
        }
        _ => Ok(()),
    }
}

/// The request must be in the coordinator's audit log, in a log that
/// extends every log this custodian saw (DESIGN §4 step 4); once it is,
/// `then` computes the answer. Both run on one blocking task: the check may
/// append the log's new leaf hashes to disk, and `then` is CPU work (an
/// HPKE seal, a signature share, a decryption share with its proof). Gives
/// the statement back with the custodian's witness answer and `then`'s.
///
/// Everything the request can be refused for without the log is checked
/// before: a refused request writes nothing.
async fn when_logged<T: Send + 'static>(
    state: &Arc<State>,
    statement: RequestStatement,
    evidence: AuditEvidence,
    then: impl FnOnce(&State, &RequestStatement) -> Result<T, ApiError> + Send + 'static,
) -> Result<(RequestStatement, Witnessed, T), ApiError> {
    let state = Arc::clone(state);
    tokio::task::spawn_blocking(move || {
        let witnessed = state
            .ledger
            .check(
                &statement,
                &evidence,
                vault::unix_now_ms(),
                &state.id,
                state.keys.attestation.expose_secret(),
            )
            .map_err(|refusal| ApiError::from(&refusal))?;
        let answer = then(&state, &statement)?;
        Ok((statement, witnessed, answer))
    })
    .await
    .map_err(|_| ApiError::Internal("the request task failed".into()))?
}

/// `POST /v1/release`: a `secret` key's shard plaintext sealed to the
/// request's ephemeral key, once the request is proven to be in the audit
/// log.
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
    let shard = requested_shard(&state, &statement)?;
    if shard.expose_secret().is_none() {
        return Err(ApiError::wrong_kind(format!(
            "key {:?} version {} is a threshold key ({}): its share never leaves this custodian; ask for a partial result",
            statement.key_id,
            statement.version,
            shard.kind().as_str()
        )));
    }
    check_expiry(&shard)?;
    let corrupt = state.hooks.corrupt_releases.load(Ordering::Relaxed);
    let (statement, witnessed, (enc, sealed)) = {
        let shard = Arc::clone(&shard);
        when_logged(&state, statement, evidence, move |state, statement| {
            seal_release(state, statement, &shard, corrupt)
        })
        .await?
    };
    tracing::debug!(
        request_id = statement.request_id,
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

/// Seals a `secret` key's `blinding ‖ share` to the request's ephemeral
/// key, bound to the request (`symbolon_proto::release`).
fn seal_release(
    state: &State,
    statement: &RequestStatement,
    shard: &Held,
    corrupt: bool,
) -> Result<([u8; 32], Vec<u8>), ApiError> {
    let Some(plaintext) = shard.expose_secret() else {
        return Err(ApiError::Internal(
            "a released shard holds no secret share".into(),
        ));
    };
    let context = ReleaseContext {
        request_id: &statement.request_id,
        key_id: &statement.key_id,
        version: statement.version,
        custodian_id: &state.id,
        index: shard.index,
    };
    let sealed = if corrupt {
        tracing::warn!(
            key_id = statement.key_id,
            version = statement.version,
            "fault injection: releasing a share with one bit flipped"
        );
        let mut corrupted = Zeroizing::new(plaintext.to_vec());
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
            plaintext,
            &mut rand::rng(),
        )
    };
    sealed.map_err(|e| ApiError::bad_request(format!("cannot seal to ephemeral_public: {e}")))
}

/// A partial operation with its payload decoded and checked as far as
/// possible without the log and the secret share.
enum Work {
    /// FROST round two over this package, with this custodian's commitment
    /// in it.
    Sign {
        package: ed25519::SigningPackage,
        commitments: ed25519::SigningCommitments,
    },
    /// A TDH2 decryption share of this ciphertext under this label.
    Decrypt {
        ciphertext: tdh2::Ciphertext,
        label: Vec<u8>,
    },
}

/// `POST /v1/partial`: a FROST signature share or a TDH2 decryption share
/// with a threshold key's share, for a request proven to be in the audit
/// log whose statement carries the payload's digest.
async fn partial(
    AxumState(state): AxumState<Arc<State>>,
    body: Result<Json<PartialRequest>, JsonRejection>,
) -> Result<Json<PartialResponse>, ApiError> {
    let Json(PartialRequest {
        statement,
        evidence,
        operation,
    }) = body.map_err(|r| json_problem(&r))?;
    let stall = state.hooks.stall_partials_ms.load(Ordering::Relaxed);
    if stall > 0 {
        tracing::warn!(
            request_id = statement.request_id,
            stall_ms = stall,
            "fault injection: stalling a partial result"
        );
        tokio::time::sleep(std::time::Duration::from_millis(stall)).await;
    }
    let shard = requested_shard(&state, &statement)?;
    let needed = match &operation {
        PartialOperation::Sign { .. } => KeyKind::Ed25519,
        PartialOperation::Decrypt { .. } => KeyKind::Ristretto255,
    };
    if shard.kind() != needed {
        return Err(ApiError::wrong_kind(format!(
            "key {:?} version {} is a {} key; {} needs an {} key",
            statement.key_id,
            statement.version,
            shard.kind().as_str(),
            operation.name(),
            needed.as_str()
        )));
    }
    if statement.op != operation.name() {
        return Err(ApiError::bad_request(format!(
            "the logged request is for {:?}, not for the {} asked",
            statement.op,
            operation.name()
        )));
    }
    check_expiry(&shard)?;
    let (work, digest) = match (operation, shard.threshold_share()) {
        (PartialOperation::Sign { package }, Some(HeldShare::Ed25519 { share, group })) => {
            let (package, commitments) = signing_work(share, group, &package)?;
            let digest = payload_digest(package.message());
            (
                Work::Sign {
                    package,
                    commitments,
                },
                digest,
            )
        }
        (PartialOperation::Decrypt { ciphertext }, Some(HeldShare::Ristretto255 { .. })) => {
            let parsed = symbolon_proto::ciphertext::parse_threshold(&ciphertext).map_err(|e| {
                ApiError::bad_request(format!("malformed threshold ciphertext: {e}"))
            })?;
            if parsed.header.version != statement.version {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "key-mismatch",
                    "Ciphertext for another key version",
                    format!(
                        "the ciphertext was made for version {} but the request names version {}",
                        parsed.header.version, statement.version
                    ),
                ));
            }
            (
                Work::Decrypt {
                    label: parsed.label.to_vec(),
                    ciphertext: parsed.ciphertext,
                },
                payload_digest(&ciphertext),
            )
        }
        _ => return Err(disagree()),
    };
    if digest != statement.payload_digest {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "payload-mismatch",
            "Payload is not the one logged",
            format!(
                "the {} payload has digest {} but the logged request {} carries {}",
                statement.op,
                hex::encode(digest),
                statement.request_id,
                hex::encode(statement.payload_digest)
            ),
        ));
    }
    let corrupt = state.hooks.corrupt_releases.load(Ordering::Relaxed);
    let (statement, witnessed, partial) = {
        let shard = Arc::clone(&shard);
        when_logged(&state, statement, evidence, move |state, statement| match (
            work,
            shard.threshold_share(),
        ) {
            (
                Work::Sign {
                    package,
                    commitments,
                },
                Some(HeldShare::Ed25519 { share, .. }),
            ) => sign_share(state, statement, share, &package, &commitments, corrupt),
            (Work::Decrypt { ciphertext, label }, Some(HeldShare::Ristretto255 { share, .. })) => {
                decryption_share(statement, share, &ciphertext, &label, corrupt)
            }
            _ => Err(disagree()),
        })
        .await?
    };
    tracing::debug!(
        request_id = statement.request_id,
        key_id = statement.key_id,
        version = statement.version,
        op = statement.op,
        "computed a partial result"
    );
    Ok(Json(PartialResponse {
        custodian_id: state.id.clone(),
        index: shard.index,
        partial,
        witness_size: witnessed.size,
        cosigned_head: witnessed.cosigned,
    }))
}

/// A shard whose kind (checked) and share disagree: our fault.
fn disagree() -> ApiError {
    ApiError::Internal("a shard's kind and share disagree".into())
}

fn unprocessable(kind: &str, title: &str, detail: String) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, kind, title, detail)
}

/// Decodes a signing package and checks it can be signed with `share`:
/// it lists this custodian's commitment, at least the threshold of signers
/// and only signers of the group. Checked before the log (nothing is
/// written for a package that cannot sign) and before a nonce pair is
/// spent.
fn signing_work(
    share: &ed25519::KeyShare,
    group: &ed25519::GroupKey,
    package: &[u8],
) -> Result<(ed25519::SigningPackage, ed25519::SigningCommitments), ApiError> {
    let package = ed25519::SigningPackage::from_bytes(package)
        .map_err(|e| ApiError::bad_request(format!("malformed signing package: {e}")))?;
    let index = share.index();
    let Some(commitments) = package.commitment(index) else {
        return Err(unprocessable(
            "not-a-signer",
            "Not a signer",
            format!(
                "the signing package lists no commitment for this custodian's index {index} (signers {:?})",
                package.participants()
            ),
        ));
    };
    let signers = package.participants();
    if signers.len() < usize::from(share.threshold()) {
        return Err(unprocessable(
            "bad-signing-package",
            "Bad signing package",
            format!(
                "the signing package lists {} signers, fewer than the threshold {}",
                signers.len(),
                share.threshold()
            ),
        ));
    }
    if let Some(stranger) = signers
        .iter()
        .find(|&&i| group.verifying_share_bytes(i).is_none())
    {
        return Err(unprocessable(
            "bad-signing-package",
            "Bad signing package",
            format!("the signing package lists signer {stranger}, who holds no share of this key"),
        ));
    }
    Ok((package, commitments))
}

/// FROST round two: takes the nonces this custodian published for its
/// `commitments` in `package` (each signs once) and signs.
fn sign_share(
    state: &State,
    statement: &RequestStatement,
    share: &ed25519::KeyShare,
    package: &ed25519::SigningPackage,
    commitments: &ed25519::SigningCommitments,
    corrupt: bool,
) -> Result<Vec<u8>, ApiError> {
    let nonces = state
        .nonces
        .take(&statement.key_id, statement.version, commitments)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::CONFLICT,
                "nonce-unknown",
                "Unknown or used nonce commitment",
                format!(
                    "the commitment for index {} is not one this custodian published for key {:?} version {} and still holds: never published here, already used, or dropped (an unclean restart, or beyond the cap); ask for fresh nonces",
                    share.index(),
                    statement.key_id,
                    statement.version
                ),
            )
        })?;
    let signature_share = ed25519::sign(share, nonces, package).map_err(|e| {
        unprocessable(
            "bad-signing-package",
            "Bad signing package",
            format!("FROST refused the signing package: {e}"),
        )
    })?;
    let mut bytes = signature_share.to_bytes().to_vec();
    if corrupt {
        tracing::warn!(
            key_id = statement.key_id,
            version = statement.version,
            "fault injection: answering a wrong signature share"
        );
        if let Some(byte) = bytes.first_mut() {
            *byte ^= 1;
        }
    }
    Ok(bytes)
}

/// TDH2: checks the ciphertext's proof under its label for this key's
/// group, then computes the decryption share with its DLEQ proof.
fn decryption_share(
    statement: &RequestStatement,
    share: &tdh2::KeyShare,
    ciphertext: &tdh2::Ciphertext,
    label: &[u8],
    corrupt: bool,
) -> Result<Vec<u8>, ApiError> {
    let decryption_share = tdh2::decrypt_share(share, ciphertext, label, &mut rand::rng())
        .map_err(|e| {
            unprocessable(
                "bad-ciphertext-proof",
                "Ciphertext proof fails",
                format!(
                    "refusing to decrypt: {e} (the ciphertext was altered, relabelled, or made for another key)"
                ),
            )
        })?;
    let mut bytes = decryption_share.to_bytes().to_vec();
    if corrupt {
        tracing::warn!(
            key_id = statement.key_id,
            version = statement.version,
            "fault injection: answering a decryption share whose proof fails"
        );
        // The encoding ends with the proof's challenge `e` and response
        // `f`, 32 bytes each: flip the low bit of `f` (still canonical but
        // for one value in 2^252).
        if let Some(byte) = bytes.get_mut(tdh2::DECRYPTION_SHARE_LEN - 32) {
            *byte ^= 1;
        }
    }
    Ok(bytes)
}

/// `POST /v1/keys/{key_id}/versions/{version}/nonces`: fresh FROST round-1
/// commitments for an `ed25519` share, their nonces persisted before the
/// answer (see `crate::nonces`).
async fn publish_nonces(
    AxumState(state): AxumState<Arc<State>>,
    path: Result<Path<(String, String)>, PathRejection>,
    body: Result<Json<NonceRequest>, JsonRejection>,
) -> Result<Json<NonceResponse>, ApiError> {
    let (key_id, version) = share_path(path)?;
    let Json(NonceRequest { count }) = body.map_err(|r| json_problem(&r))?;
    if !(1..=MAX_NONCES_PER_REQUEST).contains(&count) {
        return Err(ApiError::bad_request(format!(
            "count must be 1 to {MAX_NONCES_PER_REQUEST}, not {count}"
        )));
    }
    if state.registered_coordinator().is_none() {
        return Err(ApiError::not_registered());
    }
    let not_held = || {
        ApiError::not_found(format!(
            "no shard held for key {key_id:?} version {version}"
        ))
    };
    let shard = state.vault.get(&key_id, version).ok_or_else(not_held)?;
    if shard.kind() != KeyKind::Ed25519 {
        return Err(ApiError::wrong_kind(format!(
            "key {key_id:?} version {version} is a {} key; FROST nonces are for ed25519 keys",
            shard.kind().as_str()
        )));
    }
    check_expiry(&shard)?;
    let index = shard.index;
    let commitments = state
        .nonces
        .publish(&state.vault, &key_id, version, shard, count)
        .await
        .map_err(|e| match e {
            PublishError::NotHeld => not_held(),
            PublishError::Closed => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "stopping",
                "Custodian stopping",
                "this custodian is shutting down",
            ),
            PublishError::Io(e) => ApiError::internal(e),
        })?;
    tracing::debug!(key_id, version, count, "published FROST nonce commitments");
    Ok(Json(NonceResponse {
        custodian_id: state.id.clone(),
        index,
        commitments: commitments.iter().map(|c| B64(c.to_bytes())).collect(),
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
        state.ledger.sync(
            &sync.head,
            sync.first_leaf,
            &sync.leaves,
            vault::unix_now_ms(),
        )
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

/// A DKG step's session id and body, once this run registered with the
/// pinned coordinator.
fn dkg_step<T>(
    state: &State,
    path: Result<Path<String>, PathRejection>,
    body: Result<Json<T>, JsonRejection>,
) -> Result<(String, T), ApiError> {
    let Path(session) = path.map_err(|r| ApiError::bad_request(r.body_text()))?;
    let Json(body) = body.map_err(|r| json_problem(&r))?;
    if state.registered_coordinator().is_none() {
        return Err(ApiError::not_registered());
    }
    Ok((session, body))
}

/// `POST /v1/dkg/{session}/round1`: a DKG's first round (see
/// `crate::dkg`).
async fn dkg_round1(
    AxumState(state): AxumState<Arc<State>>,
    path: Result<Path<String>, PathRejection>,
    body: Result<Json<DkgStart>, JsonRejection>,
) -> Result<Json<DkgRound1>, ApiError> {
    let (session, start) = dkg_step(&state, path, body)?;
    Ok(Json(dkg::round1(&state, &session, start)?))
}

/// `POST /v1/dkg/{session}/round2`: a DKG's second round, on the blocking
/// pool (every proof of knowledge checked, one HPKE seal per participant).
async fn dkg_round2(
    AxumState(state): AxumState<Arc<State>>,
    path: Result<Path<String>, PathRejection>,
    body: Result<Json<DkgRound2Request>, JsonRejection>,
) -> Result<Json<DkgRound2>, ApiError> {
    let (session, request) = dkg_step(&state, path, body)?;
    let answer = tokio::task::spawn_blocking(move || dkg::round2(&state, &session, &request))
        .await
        .map_err(|_| ApiError::Internal("the DKG round-2 task failed".into()))??;
    Ok(Json(answer))
}

/// `POST /v1/dkg/{session}/finish`: a DKG's last round; stores the share.
async fn dkg_finish(
    AxumState(state): AxumState<Arc<State>>,
    path: Result<Path<String>, PathRejection>,
    body: Result<Json<DkgFinish>, JsonRejection>,
) -> Result<Json<DkgDone>, ApiError> {
    let (session, request) = dkg_step(&state, path, body)?;
    Ok(Json(dkg::finish(&state, &session, request).await?))
}

/// `DELETE /v1/dkg/{session}`: 204 whether or not the session existed.
async fn dkg_abort(
    AxumState(state): AxumState<Arc<State>>,
    path: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let Path(session) = path.map_err(|r| ApiError::bad_request(r.body_text()))?;
    dkg::abort(&state, &session)
        .await
        .map_err(ApiError::internal)?;
    Ok(StatusCode::NO_CONTENT)
}

impl From<DkgRefusal> for ApiError {
    fn from(refusal: DkgRefusal) -> Self {
        let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
        let (status, kind, title, detail, custodians) = match refusal {
            DkgRefusal::BadRequest(detail) => {
                return Self::bad_request(detail);
            }
            DkgRefusal::WrongKind(kind) => {
                return Self::wrong_kind(format!(
                    "a {} key cannot be generated by the custodians; only ed25519 and ristretto255 keys can",
                    kind.as_str()
                ));
            }
            DkgRefusal::NotAParticipant(detail) => (
                unprocessable,
                "not-a-participant",
                "Not a participant",
                detail,
                Vec::new(),
            ),
            DkgRefusal::Conflict(detail) => (
                StatusCode::CONFLICT,
                "conflict",
                "Conflict",
                detail,
                Vec::new(),
            ),
            DkgRefusal::UnknownSession(detail) => return Self::not_found(detail),
            DkgRefusal::TooManySessions => (
                StatusCode::SERVICE_UNAVAILABLE,
                "too-many-sessions",
                "Too many DKG sessions",
                format!(
                    "this custodian keeps at most {} DKG sessions, each for {} s after its last step (a finished one too, so that an abort still deletes its share: deleting it deletes the share); delete failed ones, or retry once older ones expire",
                    dkg::MAX_SESSIONS,
                    dkg::SESSION_TTL.as_secs()
                ),
                Vec::new(),
            ),
            DkgRefusal::Equivocation { detail, culprits } => (
                unprocessable,
                "dkg-equivocation",
                "DKG messages were relayed inconsistently",
                detail,
                culprits,
            ),
            DkgRefusal::ParticipantFailed { detail, culprits } => (
                unprocessable,
                "dkg-participant-failed",
                "A DKG participant failed",
                detail,
                culprits,
            ),
            DkgRefusal::Internal(error) => return Self::Internal(error),
        };
        let mut problem = Problem::new(status.as_u16(), kind, title, detail);
        problem.custodians = custodians;
        Self::Problem(Box::new(problem))
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
