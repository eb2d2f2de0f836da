//! Operations on keys. With a `secret` key each rebuilds the key from `t`
//! custodians into locked memory, uses it once, and wipes it; with a
//! threshold key (`ed25519` sign, `ristretto255` decrypt) custodians return
//! partial results and the key never exists whole (see
//! [`crate::threshold`]). Every request is in the audit log before any
//! custodian hears of it, and its outcome after.

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
    ReleaseKeyResponse, SignRequest, SignResponse,
};
use symbolon_proto::audit::{NO_PAYLOAD, RequestStatement, payload_digest};
use symbolon_proto::release::EphemeralKey;
use symbolon_proto::{CustodianFailure, Problem, ciphertext};
use symbolon_store::{NewRequest, RequestOutcome};
use symbolon_transport::PeerIdentity;

use crate::audit;
use crate::fanout::{Bundle, Done, NotEnough};
use crate::locked::LockedSecret;
use crate::problem::{ApiError, ApiJson};
use crate::reconstruct::{self, RebuildError};
use crate::routes::require_client;
use crate::state::{AppState, Group, Key, Version, now_ms};
use crate::threshold::{self, ThresholdError};

/// How long custodians accept a request after it was created.
const REQUEST_LIFETIME_MS: u64 = 60_000;

/// Who took part in an operation, and who was asked but failed.
struct Participants {
    custodians: Vec<String>,
    failures: Vec<CustodianFailure>,
}

/// A request that is in the audit log, ready to be shown to custodians.
struct Logged {
    key: Arc<Key>,
    version: Arc<Version>,
    bundle: Bundle,
    created: symbolon_audit::Entry,
    started: Instant,
}

/// What a request asks for, before it is logged.
struct Ask<'a> {
    op: &'static str,
    name: &'a str,
    version: Option<u64>,
    /// The kind the operation needs.
    kind: KeyKind,
    payload_digest: [u8; 32],
    ephemeral_public: [u8; 32],
}

/// Checks the caller, the key and its kind, and logs `request.created`
/// (before any custodian hears of the request). A refusal is logged too.
async fn open_request(
    state: &AppState,
    peer: &PeerIdentity,
    ask: &Ask<'_>,
) -> Result<Logged, ApiError> {
    require_client(peer)?;
    state.touch_principal(&peer.name, peer.role.as_str()).await;
    let started = Instant::now();
    let (op, name) = (ask.op, ask.name);
    let (key, version) = match state.key(name, ask.version).await {
        Ok(found) => found,
        Err(e) => return Err(refused(state, peer, op, name, None, e).await),
    };
    if key.kind != ask.kind {
        let e = ApiError::conflict(
            "wrong-kind",
            format!(
                "key {name:?} is a{} {} key; {op} needs a{} {} key",
                article(key.kind),
                key.kind.as_str(),
                article(ask.kind),
                ask.kind.as_str()
            ),
        );
        return Err(refused(state, peer, op, name, Some(&key.id), e).await);
    }
    let request_id = hex::encode(rand::rng().random::<[u8; 16]>());
    let created_at_ms = now_ms();
    let statement = RequestStatement {
        request_id: request_id.clone(),
        key_id: key.id.clone(),
        version: version.version,
        op: op.to_owned(),
        requester: peer.name.clone(),
        created_at_ms,
        expires_at_ms: created_at_ms.saturating_add(REQUEST_LIFETIME_MS),
        ephemeral_public: ask.ephemeral_public,
        payload_digest: ask.payload_digest,
    };
    let mut created = audit::entry(EventKind::RequestCreated, &peer.name);
    created.key_id = Some(key.id.clone());
    created.key_version = Some(version.version);
    created.request_digest = Some(statement.digest());
    created.detail = Some(format!("{op} request {request_id}"));
    let row = NewRequest {
        id: request_id,
        key_id: key.id.clone(),
        version: i64::try_from(version.version).unwrap_or(i64::MAX),
        op: op.to_owned(),
        requester: peer.name.clone(),
        created_at: i64::try_from(created_at_ms).unwrap_or(i64::MAX),
    };
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
    Ok(Logged {
        key,
        version,
        bundle: Bundle {
            statement,
            head_note: head.to_note(),
            head_size: head.head().size,
            index,
            entry: encoded,
            inclusion,
        },
        created,
        started,
    })
}

fn article(kind: KeyKind) -> &'static str {
    match kind {
        KeyKind::Ed25519 => "n",
        KeyKind::Secret | KeyKind::Ristretto255 => "",
    }
}

/// Logs the request's outcome — and, in the same transaction, every
/// custodian that sent a bad partial result — and returns the outcome.
/// Fails closed: a result whose completion is not in the log is not
/// returned.
async fn close_request<T>(
    state: &AppState,
    peer: &PeerIdentity,
    op: &'static str,
    logged: &Logged,
    outcome: Result<(T, Participants), ApiError>,
    faults: &[CustodianFailure],
) -> Result<(T, Participants), ApiError> {
    let (key, version) = (&logged.key, &logged.version);
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
    completed.request_digest = logged.created.request_digest;
    completed.custodians = custodians.clone();
    completed.outcome = Some(label.to_owned());
    completed.detail = detail.clone();
    let (suspects, faults) = audit::suspects(
        &key.id,
        version.version,
        logged.created.request_digest,
        "bad partial result",
        op,
        faults,
    );
    let mut entries = vec![completed];
    entries.extend(suspects);
    let request_id = logged.bundle.statement.request_id.clone();
    let at = now_ms();
    let recorded = state
        .audit
        .append(&entries, {
            let (request_id, custodians, detail) =
                (request_id.clone(), custodians.clone(), detail.clone());
            move |tx| {
                Box::pin(async move {
                    let at_ms = i64::try_from(at).unwrap_or(i64::MAX);
                    tx.complete_request(
                        &request_id,
                        at_ms,
                        outcome_kind,
                        &custodians,
                        detail.as_deref(),
                    )
                    .await?;
                    audit::record_faults(tx, &faults, at).await
                })
            }
        })
        .await;
    match recorded {
        Ok(appended) => state.note_faults(appended.value),
        Err(e) => {
            tracing::error!(request = %request_id, error = ?e, "could not record the request's outcome");
            return Err(e.into());
        }
    }
    metrics::counter!("symbolon_operations_total", "op" => op, "outcome" => label).increment(1);
    metrics::histogram!("symbolon_operation_duration_seconds", "op" => op)
        .record(logged.started.elapsed().as_secs_f64());
    outcome
}

/// The answer when fewer than `t` custodians contributed; the ones that
/// misbehaved are added to `faults`.
fn not_enough(
    name: &str,
    what: &str,
    e: NotEnough,
    faults: &mut Vec<CustodianFailure>,
) -> ApiError {
    faults.extend(e.failures.faults());
    ApiError::custodians(
        StatusCode::SERVICE_UNAVAILABLE,
        "not-enough-custodians",
        format!(
            "key {name:?} needs {} custodians but only {} returned a valid {what}",
            e.need, e.have
        ),
        e.failures.into_list(),
    )
}

/// The result of a finished operation with who took part; the custodians
/// that misbehaved on the way are added to `faults`.
fn finished<T>(done: Done<T>, faults: &mut Vec<CustodianFailure>) -> (T, Participants) {
    faults.extend(done.failures.faults());
    (
        done.value,
        Participants {
            custodians: done.custodians,
            failures: done.failures.into_list(),
        },
    )
}

/// Runs `use_key` with the rebuilt `secret` key, recording the request
/// before and its outcome after.
async fn with_key<T>(
    state: &AppState,
    peer: &PeerIdentity,
    op: &'static str,
    name: &str,
    version: Option<u64>,
    use_key: impl FnOnce(&Key, &Version, &LockedSecret) -> Result<T, ApiError>,
) -> Result<(T, Participants), ApiError> {
    let ephemeral = EphemeralKey::generate(&mut rand::rng());
    let ask = Ask {
        op,
        name,
        version,
        kind: KeyKind::Secret,
        payload_digest: NO_PAYLOAD,
        ephemeral_public: ephemeral.public(),
    };
    let logged = open_request(state, peer, &ask).await?;
    let (key, version) = (&logged.key, &logged.version);
    let mut faults = Vec::new();
    let outcome = match reconstruct::rebuild(state, key, version, &ephemeral, &logged.bundle).await
    {
        Ok(rebuilt) => {
            let (secret, who) = finished(rebuilt, &mut faults);
            let value = use_key(key, version, &secret);
            // The key is wiped here, before the request is recorded.
            drop(secret);
            value.map(|value| (value, who))
        }
        Err(RebuildError::NotEnough(e)) => Err(not_enough(name, "share", e, &mut faults)),
        Err(RebuildError::Combine(e)) => Err(ApiError::internal(format_args!(
            "key {name:?} version {}: verified shares do not combine: {e}",
            version.version
        ))),
    };
    drop(ephemeral);
    close_request(state, peer, op, &logged, outcome, &faults).await
}

/// Runs a threshold operation on a logged request: `run` gets the key
/// version's group and the bundle.
async fn with_partials<T>(
    state: &AppState,
    peer: &PeerIdentity,
    ask: &Ask<'_>,
    what: &str,
    run: impl AsyncFnOnce(&Key, &Version, &Group, &Bundle) -> Result<Done<T>, ThresholdError>,
) -> Result<(T, Participants, u64), ApiError> {
    let logged = open_request(state, peer, ask).await?;
    let (key, version) = (&logged.key, &logged.version);
    let mut faults = Vec::new();
    let outcome = match &version.group {
        None => Err(ApiError::internal(format_args!(
            "key {:?} v{} has no group key",
            key.name, version.version
        ))),
        Some(group) => match run(key, version, group, &logged.bundle).await {
            Ok(done) => Ok(finished(done, &mut faults)),
            Err(ThresholdError::NotEnough(e)) => Err(not_enough(ask.name, what, e, &mut faults)),
            Err(ThresholdError::Invalid { kind, detail }) => {
                Err(ApiError::unprocessable(kind, detail))
            }
            Err(ThresholdError::Internal(reason)) => Err(ApiError::internal(format_args!(
                "key {:?} v{}: {reason}",
                key.name, version.version
            ))),
        },
    };
    let (value, who) = close_request(state, peer, ask.op, &logged, outcome, &faults).await?;
    Ok((value, who, version.version))
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
    // An unknown key falls through to `with_key`, which logs the refusal.
    if let Ok((key, version)) = state.key(&name, None).await
        && key.kind == KeyKind::Ristretto255
    {
        // Anyone may encrypt to the group key: no custodian, no secret.
        require_client(&peer)?;
        let Some(Group::Ristretto255(group)) = &version.group else {
            return Err(ApiError::internal(format_args!(
                "key {name:?} v{} has no group key",
                version.version
            )));
        };
        let ciphertext = ciphertext::encrypt_threshold(
            &group.encryption_key(),
            &key.name,
            version.version,
            request.plaintext.expose_secret(),
            &mut rand::rng(),
        )
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
        return Ok(axum::Json(EncryptResponse {
            ciphertext,
            version: version.version,
            custodians: Vec::new(),
            failures: Vec::new(),
        }));
    }
    let (ciphertext, who) = with_key(
        &state,
        &peer,
        "encrypt",
        &name,
        None,
        |key, version, secret| {
            ciphertext::encrypt(
                secret.expose_secret(),
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
    if ciphertext::is_threshold(&request.ciphertext) {
        let parsed = ciphertext::parse_threshold(&request.ciphertext)
            .map_err(|e| ApiError::unprocessable("bad-ciphertext", e.to_string()))?;
        let ask = Ask {
            op: "decrypt",
            name: &name,
            version: Some(header.version),
            kind: KeyKind::Ristretto255,
            payload_digest: payload_digest(&request.ciphertext),
            ephemeral_public: [0; 32],
        };
        let bytes = request.ciphertext.as_slice();
        let (plaintext, who, _) = with_partials(
            &state,
            &peer,
            &ask,
            "decryption share",
            async |key, version, group, bundle| {
                let Group::Ristretto255(group) = group else {
                    return Err(ThresholdError::Internal(
                        "not a ristretto255 group".to_owned(),
                    ));
                };
                threshold::decrypt(&state, key, version, group, bytes, &parsed, bundle).await
            },
        )
        .await?;
        return Ok(axum::Json(DecryptResponse {
            plaintext: plaintext.into(),
            custodians: who.custodians,
            failures: who.failures,
        }));
    }
    let (plaintext, who) = with_key(
        &state,
        &peer,
        "decrypt",
        &name,
        Some(header.version),
        |_, _, secret| {
            ciphertext::decrypt(secret.expose_secret(), &request.ciphertext)
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
        |key, version, secret| {
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
                secret.expose_secret(),
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

/// Signs a message with an `ed25519` key through FROST: `t` custodians
/// each contribute a signature share; the key never exists whole.
#[utoipa::path(post, path = "/v1/keys/{name}/sign", tag = "operations",
    params(("name" = String, Path, description = "key name")),
    request_body = SignRequest,
    responses((status = 200, body = SignResponse), (status = "4XX", body = Problem),
              (status = 503, body = Problem, description = "fewer than t custodians answered")))]
pub(crate) async fn sign(
    State(state): State<Arc<AppState>>,
    Extension(peer): Extension<PeerIdentity>,
    Path(name): Path<String>,
    ApiJson(request): ApiJson<SignRequest>,
) -> Result<axum::Json<SignResponse>, ApiError> {
    let ask = Ask {
        op: "sign",
        name: &name,
        version: None,
        kind: KeyKind::Ed25519,
        payload_digest: payload_digest(&request.message),
        ephemeral_public: [0; 32],
    };
    let message = request.message.as_slice();
    let ((signature, public_key), who, version) = with_partials(
        &state,
        &peer,
        &ask,
        "signature share",
        async |key, version, group, bundle| {
            let Group::Ed25519(group) = group else {
                return Err(ThresholdError::Internal("not an ed25519 group".to_owned()));
            };
            // `sign` returns only a signature that verifies under `group`.
            let done = threshold::sign(&state, key, version, group, message, bundle).await?;
            Ok(Done {
                value: (done.value.to_bytes(), group.verifying_key_bytes()),
                custodians: done.custodians,
                failures: done.failures,
            })
        },
    )
    .await?;
    Ok(axum::Json(SignResponse {
        signature,
        public_key,
        version,
        custodians: who.custodians,
        failures: who.failures,
    }))
}
