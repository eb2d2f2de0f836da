//! Operations on `secret` keys: each rebuilds the key from `t` custodians
//! into locked memory, uses it once, and wipes it.

use std::sync::Arc;
use std::time::Instant;

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use rand::RngExt as _;
use symbolon_audit::EventKind;
use symbolon_envelope::{Envelope, Metadata, Recipient, RecipientInfo, Scheme};
use symbolon_proto::api::{
    DecryptRequest, DecryptResponse, EncryptRequest, EncryptResponse, KeyKind, ReleaseKeyRequest,
    ReleaseKeyResponse,
};
use symbolon_proto::audit::RequestStatement;
use symbolon_proto::release::EphemeralKey;
use symbolon_proto::{CustodianFailure, Problem, ciphertext};
use symbolon_store::{NewRequest, RequestOutcome};
use symbolon_transport::PeerIdentity;

use crate::audit;
use crate::problem::{ApiError, ApiJson};
use crate::reconstruct::{self, RebuildError, Rebuilt};
use crate::routes::require_client;
use crate::state::{AppState, Key, Version, now_ms};

/// How long custodians accept a request after it was created.
const REQUEST_LIFETIME_MS: u64 = 60_000;

/// Who took part in an operation, and who was asked but failed.
struct Participants {
    custodians: Vec<String>,
    failures: Vec<CustodianFailure>,
}

/// Runs `op` with the rebuilt key, recording the request before and its
/// outcome after.
async fn with_key<T>(
    state: &AppState,
    peer: &PeerIdentity,
    op: &'static str,
    name: &str,
    version: Option<u64>,
    use_key: impl FnOnce(&Key, &Version, &Rebuilt) -> Result<T, ApiError>,
) -> Result<(T, Participants), ApiError> {
    require_client(peer)?;
    state.touch_principal(&peer.name, peer.role.as_str()).await;
    let started = Instant::now();
    let (key, version) = match state.key(name, version).await {
        Ok(found) => found,
        Err(e) => return Err(refused(state, peer, op, name, None, e).await),
    };
    if key.kind != KeyKind::Secret {
        let e = ApiError::conflict(
            "wrong-kind",
            format!(
                "key {name:?} is a {} key; {op} needs a secret key",
                key.kind.as_str()
            ),
        );
        return Err(refused(state, peer, op, name, Some(&key.id), e).await);
    }
    let request_id = hex::encode(rand::rng().random::<[u8; 16]>());
    let ephemeral = EphemeralKey::generate(&mut rand::rng());
    let created_at_ms = now_ms();
    let statement = RequestStatement {
        request_id: request_id.clone(),
        key_id: key.id.clone(),
        version: version.version,
        op: op.to_owned(),
        requester: peer.name.clone(),
        created_at_ms,
        expires_at_ms: created_at_ms.saturating_add(REQUEST_LIFETIME_MS),
        ephemeral_public: ephemeral.public(),
    };
    let mut created = audit::entry(EventKind::RequestCreated, &peer.name);
    created.key_id = Some(key.id.clone());
    created.key_version = Some(version.version);
    created.request_digest = Some(statement.digest());
    created.detail = Some(format!("{op} request {request_id}"));
    let row = NewRequest {
        id: request_id.clone(),
        key_id: key.id.clone(),
        version: i64::try_from(version.version).unwrap_or(i64::MAX),
        op: op.to_owned(),
        requester: peer.name.clone(),
        created_at: i64::try_from(created_at_ms).unwrap_or(i64::MAX),
    };
    // The request is in the log before any custodian hears of it.
    let appended = state
        .audit
        .append(std::slice::from_ref(&created), move |tx| {
            Box::pin(async move { tx.insert_request(&row).await })
        })
        .await?;
    let (head, index) = (appended.head, appended.first);
    let encoded = appended.encoded.into_iter().next().unwrap_or_default();
    let inclusion = state
        .audit
        .inclusion_proof(index, head.head().size)
        .map_err(ApiError::internal)?
        .iter()
        .map(|h| h.to_hex())
        .collect();
    let bundle = reconstruct::Bundle {
        statement,
        head_note: head.to_note(),
        head_size: head.head().size,
        index,
        entry: encoded,
        inclusion,
    };
    let outcome = match reconstruct::rebuild(state, &key, &version, &ephemeral, &bundle).await {
        Ok(rebuilt) => {
            let value = use_key(&key, &version, &rebuilt);
            // The key is wiped here, before the request is recorded.
            let Rebuilt {
                secret,
                custodians,
                failures,
            } = rebuilt;
            drop(secret);
            value.map(|value| {
                (
                    value,
                    Participants {
                        custodians,
                        failures,
                    },
                )
            })
        }
        Err(RebuildError::NotEnough {
            have,
            need,
            failures,
        }) => Err(ApiError::custodians(
            StatusCode::SERVICE_UNAVAILABLE,
            "not-enough-custodians",
            format!("key {name:?} needs {need} custodians but only {have} returned a valid share"),
            failures,
        )),
        Err(RebuildError::Combine(e)) => Err(ApiError::internal(format_args!(
            "key {name:?} version {}: verified shares do not combine: {e}",
            version.version
        ))),
    };
    drop(ephemeral);
    let (outcome_kind, custodians, detail) = match &outcome {
        Ok((_, who)) => (RequestOutcome::Ok, who.custodians.clone(), None),
        Err(ApiError::Problem(p)) => (
            if p.status == 503 {
                RequestOutcome::Failed
            } else {
                RequestOutcome::Refused
            },
            Vec::new(),
            Some(p.one_line()),
        ),
        Err(ApiError::Internal(_)) => (
            RequestOutcome::Failed,
            Vec::new(),
            Some("internal error".to_owned()),
        ),
    };
    let label = outcome_kind.as_str();
    let mut completed = audit::entry(
        if outcome_kind == RequestOutcome::Refused {
            EventKind::RequestRefused
        } else {
            EventKind::RequestCompleted
        },
        &peer.name,
    );
    completed.key_id = Some(key.id.clone());
    completed.key_version = Some(version.version);
    completed.request_digest = created.request_digest;
    completed.custodians = custodians.clone();
    completed.outcome = Some(label.to_owned());
    completed.detail = detail.clone();
    let recorded = state
        .audit
        .append(&[completed], {
            let (request_id, custodians, detail) =
                (request_id.clone(), custodians.clone(), detail.clone());
            move |tx| {
                Box::pin(async move {
                    tx.complete_request(
                        &request_id,
                        i64::try_from(now_ms()).unwrap_or(i64::MAX),
                        outcome_kind,
                        &custodians,
                        detail.as_deref(),
                    )
                    .await
                })
            }
        })
        .await;
    // Fail closed: a result whose completion is not in the log is not
    // returned.
    if let Err(e) = recorded {
        tracing::error!(request = %request_id, error = ?e, "could not record the request's outcome");
        return Err(e.into());
    }
    metrics::counter!("symbolon_operations_total", "op" => op, "outcome" => label).increment(1);
    metrics::histogram!("symbolon_operation_duration_seconds", "op" => op)
        .record(started.elapsed().as_secs_f64());
    outcome
}

/// Logs a request refused before it was created (unknown key or version,
/// wrong kind) and returns the refusal. Nothing happened, so a log failure
/// changes nothing but is reported.
async fn refused(
    state: &AppState,
    peer: &PeerIdentity,
    op: &str,
    name: &str,
    key_id: Option<&str>,
    error: ApiError,
) -> ApiError {
    if let ApiError::Problem(problem) = &error {
        let mut entry = audit::entry(EventKind::RequestRefused, &peer.name);
        entry.key_id = key_id.map(str::to_owned);
        entry.outcome = Some("refused".to_owned());
        entry.detail = Some(format!("{op} on key {name:?}: {}", problem.one_line()));
        if let Err(e) = state.audit.record(&[entry]).await {
            tracing::error!(error = ?e, "could not log a refused request");
        }
    }
    error
}

/// Encrypts with a `secret` key (XChaCha20-Poly1305; the ciphertext names
/// the key and version).
#[utoipa::path(post, path = "/v1/keys/{name}/encrypt", tag = "operations",
    params(("name" = String, Path, description = "key name")),
    request_body = EncryptRequest,
    responses((status = 200, body = EncryptResponse), (status = "4XX", body = Problem),
              (status = 503, body = Problem, description = "fewer than t custodians answered")))]
pub(crate) async fn encrypt(
    State(state): State<Arc<AppState>>,
    Extension(peer): Extension<PeerIdentity>,
    Path(name): Path<String>,
    ApiJson(request): ApiJson<EncryptRequest>,
) -> Result<axum::Json<EncryptResponse>, ApiError> {
    let (ciphertext, who) = with_key(
        &state,
        &peer,
        "encrypt",
        &name,
        None,
        |key, version, rebuilt| {
            ciphertext::encrypt(
                rebuilt.secret.expose_secret(),
                &key.name,
                version.version,
                request.plaintext.expose_secret(),
                &mut rand::rng(),
            )
            .map(|ct| (ct, version.version))
            .map_err(|e| ApiError::bad_request(e.to_string()))
        },
    )
    .await?;
    Ok(axum::Json(EncryptResponse {
        ciphertext: ciphertext.0,
        version: ciphertext.1,
        custodians: who.custodians,
        failures: who.failures,
    }))
}

/// Decrypts a ciphertext made by `encrypt` with the key and version it
/// names.
#[utoipa::path(post, path = "/v1/keys/{name}/decrypt", tag = "operations",
    params(("name" = String, Path, description = "key name")),
    request_body = DecryptRequest,
    responses((status = 200, body = DecryptResponse), (status = "4XX", body = Problem),
              (status = 503, body = Problem, description = "fewer than t custodians answered")))]
pub(crate) async fn decrypt(
    State(state): State<Arc<AppState>>,
    Extension(peer): Extension<PeerIdentity>,
    Path(name): Path<String>,
    ApiJson(request): ApiJson<DecryptRequest>,
) -> Result<axum::Json<DecryptResponse>, ApiError> {
    let header = ciphertext::parse_header(&request.ciphertext)
        .map_err(|e| ApiError::unprocessable("bad-ciphertext", e.to_string()))?;
    if header.key != name {
        return Err(ApiError::unprocessable(
            "wrong-key",
            format!(
                "the ciphertext was made with key {:?}, not {name:?}",
                header.key
            ),
        ));
    }
    let (plaintext, who) = with_key(
        &state,
        &peer,
        "decrypt",
        &name,
        Some(header.version),
        |_, _, rebuilt| {
            ciphertext::decrypt(rebuilt.secret.expose_secret(), &request.ciphertext)
                .map_err(|e| ApiError::unprocessable("decryption-failed", e.to_string()))
        },
    )
    .await?;
    Ok(axum::Json(DecryptResponse {
        plaintext: plaintext.into(),
        custodians: who.custodians,
        failures: who.failures,
    }))
}

/// Releases the secret to a client, sealed to its HPKE key as a 1-of-1
/// shard envelope signed by the coordinator.
#[utoipa::path(post, path = "/v1/keys/{name}/release", tag = "operations",
    params(("name" = String, Path, description = "key name")),
    request_body = ReleaseKeyRequest,
    responses((status = 200, body = ReleaseKeyResponse), (status = "4XX", body = Problem),
              (status = 503, body = Problem, description = "fewer than t custodians answered")))]
pub(crate) async fn release(
    State(state): State<Arc<AppState>>,
    Extension(peer): Extension<PeerIdentity>,
    Path(name): Path<String>,
    ApiJson(request): ApiJson<ReleaseKeyRequest>,
) -> Result<axum::Json<ReleaseKeyResponse>, ApiError> {
    let recipient: Recipient = request
        .recipient
        .parse()
        .map_err(|e| ApiError::bad_request(format!("recipient: {e}")))?;
    let identity = &state.identity;
    let requester = peer.name.clone();
    let (envelope, who) = with_key(
        &state,
        &peer,
        "release",
        &name,
        None,
        |key, version, rebuilt| {
            let metadata = Metadata {
                split_id: rand::rng().random(),
                key_id: key.id.clone(),
                epoch: version.version,
                scheme: Scheme::ShamirGf256,
                index: 1,
                threshold: 1,
                shares: 1,
                recipient: Some(RecipientInfo {
                    id: requester.clone(),
                    fingerprint: recipient.fingerprint(),
                }),
                created_at: now_ms() / 1000,
                expires_at: None,
                commitment: [0; 32],
                label: format!(
                    "key {} version {} released to {requester}",
                    key.name, version.version
                ),
            };
            Envelope::seal(
                metadata,
                rebuilt.secret.expose_secret(),
                Some(&recipient),
                identity,
                &mut rand::rng(),
            )
            .map(|e| e.to_armored())
            .map_err(ApiError::internal)
        },
    )
    .await?;
    Ok(axum::Json(ReleaseKeyResponse {
        envelope,
        custodians: who.custodians,
        failures: who.failures,
    }))
}
