//! Custodian registration and heartbeats.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use subtle::ConstantTimeEq as _;
use symbolon_audit::EventKind;
use symbolon_envelope::Recipient;
use symbolon_proto::custodian::{RegisterRequest, RegisterResponse, SignedHeartbeat};
use symbolon_proto::{Problem, validate_name};
use symbolon_store::NewCustodian;
use symbolon_transport::{PeerIdentity, Role};

use crate::audit::{self, AppendError};
use crate::problem::{ApiError, ApiJson};
use crate::state::{AppState, Custodian, now_ms};

fn require_custodian(peer: &PeerIdentity, id: &str) -> Result<(), ApiError> {
    if peer.role != Role::Custodian {
        return Err(ApiError::forbidden(format!(
            "only custodian certificates may use this endpoint; this one is a {} certificate",
            peer.role
        )));
    }
    if peer.name != id {
        return Err(ApiError::forbidden(format!(
            "certificate is for custodian {:?}, not {id:?}",
            peer.name
        )));
    }
    Ok(())
}

/// Registers a custodian (or refreshes its endpoint and labels).
#[utoipa::path(post, path = "/v1/custodians/register", tag = "custodians",
    request_body = RegisterRequest,
    responses((status = 200, body = RegisterResponse), (status = "4XX", body = Problem)))]
pub(crate) async fn register(
    State(state): State<Arc<AppState>>,
    Extension(peer): Extension<PeerIdentity>,
    ApiJson(request): ApiJson<RegisterRequest>,
) -> Result<axum::Json<RegisterResponse>, ApiError> {
    validate_name("custodian id", &request.id).map_err(|e| ApiError::bad_request(e.to_string()))?;
    require_custodian(&peer, &request.id)?;
    let presented = blake3::hash(request.join_token.as_bytes());
    if !bool::from(presented.as_bytes().ct_eq(&state.join_token_hash)) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "bad-join-token",
            "Bad join token",
            "the join token is not this cluster's",
        ));
    }
    let recipient: Recipient = request
        .recipient
        .parse()
        .map_err(|e| ApiError::bad_request(format!("recipient: {e}")))?;
    if !request.endpoint.starts_with("https://") {
        return Err(ApiError::bad_request("endpoint must be an https:// URL"));
    }
    let now = now_ms();
    let row = NewCustodian {
        id: request.id.clone(),
        endpoint: request.endpoint.clone(),
        region: request.labels.region.clone(),
        country: request.labels.country.clone(),
        provider: request.labels.provider.clone(),
        kind: symbolon_store::CustodianKind::from_name(request.labels.kind.as_str())
            .ok_or_else(|| ApiError::internal("custodian kind unknown to the store"))?,
        recipient: request.recipient.clone(),
        attestation_key: request.attestation_key,
        registered_at: i64::try_from(now).unwrap_or(i64::MAX),
    };
    let mut registered = audit::entry(EventKind::CustodianRegistered, &request.id);
    registered.custodians = vec![request.id.clone()];
    registered.detail = Some(format!(
        "endpoint {}, {} / {} / {} / {}",
        request.endpoint,
        request.labels.region,
        request.labels.country,
        request.labels.provider,
        request.labels.kind.as_str()
    ));
    let appended = state
        .audit
        .append(&[registered], move |tx| {
            Box::pin(async move { tx.upsert_custodian(&row).await })
        })
        .await;
    match appended {
        Ok(_) => {}
        Err(AppendError::Store(symbolon_store::Error::Conflict { .. })) => {
            return Err(ApiError::conflict(
                "custodian-keys-changed",
                format!(
                    "custodian {:?} is registered with other keys; a custodian cannot change its keys by re-registering",
                    request.id
                ),
            ));
        }
        Err(e) => return Err(e.into()),
    }
    if let Ok(mut map) = state.custodians.write() {
        let previous = map.get(&request.id).cloned();
        map.insert(
            request.id.clone(),
            Custodian {
                id: request.id.clone(),
                endpoint: request.endpoint,
                labels: request.labels,
                recipient,
                attestation_key: request.attestation_key,
                registered_at_ms: previous.as_ref().map_or(now, |p| p.registered_at_ms),
                last_heartbeat_ms: previous.as_ref().and_then(|p| p.last_heartbeat_ms),
                last_seq: previous.as_ref().and_then(|p| p.last_seq),
                faults: previous.as_ref().map_or(0, |p| p.faults),
                last_fault: previous.as_ref().and_then(|p| p.last_fault.clone()),
                shares: previous.map(|p| p.shares).unwrap_or_default(),
            },
        );
    }
    tracing::info!(custodian = %request.id, "custodian registered");
    Ok(axum::Json(RegisterResponse {
        coordinator_recipient: state.identity.recipient().to_string(),
        heartbeat_interval_ms: state.config.heartbeat_interval_ms,
        audit_log_key: state.audit.note_key().to_vkey(),
    }))
}

/// Accepts a signed heartbeat.
#[utoipa::path(post, path = "/v1/custodians/{id}/heartbeat", tag = "custodians",
    params(("id" = String, Path, description = "custodian id")),
    request_body = SignedHeartbeat,
    responses((status = 204), (status = "4XX", body = Problem)))]
pub(crate) async fn heartbeat(
    State(state): State<Arc<AppState>>,
    Extension(peer): Extension<PeerIdentity>,
    Path(id): Path<String>,
    ApiJson(beat): ApiJson<SignedHeartbeat>,
) -> Result<StatusCode, ApiError> {
    require_custodian(&peer, &id)?;
    if beat.heartbeat.custodian_id != id {
        return Err(ApiError::bad_request(format!(
            "heartbeat names custodian {:?} but was posted for {id:?}",
            beat.heartbeat.custodian_id
        )));
    }
    let attestation_key = state
        .attestation_key_of(&id)
        .ok_or_else(|| ApiError::not_found("registered custodian", &id))?;
    beat.verify(&attestation_key).map_err(|_| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "bad-heartbeat-signature",
            "Bad heartbeat signature",
            "the heartbeat is not signed by the custodian's registered attestation key",
        )
    })?;
    // The store refuses a sequence number that is not above the last one
    // in the same statement that records it, so replicas cannot race.
    let now = now_ms();
    let shares_json = serde_json::to_string(&beat.heartbeat.shares).map_err(ApiError::internal)?;
    match state
        .store
        .record_heartbeat(
            &id,
            i64::try_from(beat.heartbeat.seq).unwrap_or(i64::MAX),
            i64::try_from(now).unwrap_or(i64::MAX),
            &shares_json,
        )
        .await
    {
        Ok(_) => {}
        Err(symbolon_store::Error::StaleSequence { last_seq, .. }) => {
            return Err(ApiError::conflict(
                "stale-heartbeat",
                format!(
                    "sequence number {} is not above the last accepted {last_seq}",
                    beat.heartbeat.seq
                ),
            ));
        }
        Err(e) => return Err(e.into()),
    }
    state.audit.set_witness_size(&id, beat.heartbeat.audit_size);
    if let Ok(mut map) = state.custodians.write()
        && let Some(c) = map.get_mut(&id)
    {
        c.last_heartbeat_ms = Some(now);
        c.last_seq = Some(beat.heartbeat.seq);
        c.shares = beat.heartbeat.shares;
    }
    Ok(StatusCode::NO_CONTENT)
}
