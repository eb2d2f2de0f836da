//! Key creation and listing, and cluster status.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use futures::future::join_all;
use rand::RngExt as _;
use symbolon_audit::EventKind;
use symbolon_envelope::{Envelope, Metadata, RecipientInfo, Scheme};
use symbolon_proto::api::{
    CreateKeyRequest, DistinctLabel, HealthState, KeyInfo, KeyKind, KeyList, PlacementInfo,
    StatusResponse,
};
use symbolon_proto::custodian::StoreShareResponse;
use symbolon_proto::scalar;
use symbolon_proto::{CustodianFailure, Problem, validate_name};
use symbolon_sharing::bytes;
use symbolon_store::{NewKey, NewKeyVersion, NewPlacement};
use symbolon_threshold::{ed25519, tdh2};
use symbolon_transport::PeerIdentity;
use zeroize::Zeroizing;

use crate::audit::{self, AppendError};
use crate::problem::{ApiError, ApiJson};
use crate::routes::require_client;
use crate::state::{AppState, Custodian, Group, now_ms, rfc3339};
use crate::{dkg, placement};

/// Largest secret `--import` accepts.
const MAX_IMPORT: usize = 64 * 1024;

/// Cluster status: every custodian's health.
#[utoipa::path(get, path = "/v1/status", tag = "cluster",
    responses((status = 200, body = StatusResponse), (status = "4XX", body = Problem)))]
pub(crate) async fn status(
    State(state): State<Arc<AppState>>,
    Extension(peer): Extension<PeerIdentity>,
) -> Result<axum::Json<StatusResponse>, ApiError> {
    require_client(&peer)?;
    let now = now_ms();
    let custodians = state
        .all_custodians()
        .iter()
        .map(|c| c.status(now, state.health))
        .collect();
    let keys = state.store.keys().await?.len();
    Ok(axum::Json(StatusResponse {
        custodians,
        keys,
        version: env!("CARGO_PKG_VERSION").to_owned(),
    }))
}

/// Every key.
#[utoipa::path(get, path = "/v1/keys", tag = "keys",
    responses((status = 200, body = KeyList), (status = "4XX", body = Problem)))]
pub(crate) async fn list(
    State(state): State<Arc<AppState>>,
    Extension(peer): Extension<PeerIdentity>,
) -> Result<axum::Json<KeyList>, ApiError> {
    require_client(&peer)?;
    let mut keys = Vec::new();
    for row in state.store.keys().await? {
        keys.push(key_info(&state, row).await?);
    }
    Ok(axum::Json(KeyList { keys }))
}

/// One key.
#[utoipa::path(get, path = "/v1/keys/{name}", tag = "keys",
    params(("name" = String, Path, description = "key name")),
    responses((status = 200, body = KeyInfo), (status = "4XX", body = Problem)))]
pub(crate) async fn show(
    State(state): State<Arc<AppState>>,
    Extension(peer): Extension<PeerIdentity>,
    Path(name): Path<String>,
) -> Result<axum::Json<KeyInfo>, ApiError> {
    require_client(&peer)?;
    let row = state
        .find_key(&name)
        .await?
        .ok_or_else(|| ApiError::not_found("key", &name))?;
    Ok(axum::Json(key_info(&state, row).await?))
}

async fn key_info(state: &AppState, row: symbolon_store::KeyRow) -> Result<KeyInfo, ApiError> {
    let placement = state
        .store
        .placements(&row.id, row.current_version)
        .await?
        .into_iter()
        .map(|p| PlacementInfo {
            index: u16::try_from(p.share_index).unwrap_or(0),
            custodian: p.custodian_id,
        })
        .collect();
    let public_key = if row.kind == symbolon_store::KeyKind::Secret {
        None
    } else {
        let version = state
            .store
            .key_version(&row.id, row.current_version)
            .await?;
        let bytes = version.public_key.ok_or_else(|| {
            ApiError::internal(format_args!("key {} has no stored public key", row.name))
        })?;
        Some(stored_public_key(row.kind, &bytes)?)
    };
    key_info_with(row, placement, public_key)
}

/// The group public key (hex) of a stored threshold key version.
fn stored_public_key(kind: symbolon_store::KeyKind, bytes: &[u8]) -> Result<String, ApiError> {
    let kind = KeyKind::from_name(kind.as_str())
        .ok_or_else(|| ApiError::internal(format_args!("unknown key kind {kind:?}")))?;
    public_key_hex(kind, bytes)
}

/// The group public key (hex) in the public side of a `kind` key.
fn public_key_hex(kind: KeyKind, bytes: &[u8]) -> Result<String, ApiError> {
    let group = Group::decode(kind, bytes)
        .map_err(|e| ApiError::internal(format_args!("stored public key: {e}")))?
        .ok_or_else(|| ApiError::internal("a secret key has no public key"))?;
    Ok(hex::encode(group.public_key()))
}

fn key_info_with(
    row: symbolon_store::KeyRow,
    placement: Vec<PlacementInfo>,
    public_key: Option<String>,
) -> Result<KeyInfo, ApiError> {
    Ok(KeyInfo {
        kind: KeyKind::from_name(row.kind.as_str()).ok_or_else(|| {
            ApiError::internal(format_args!("key {} has kind {:?}", row.name, row.kind))
        })?,
        distinct: row
            .distinct_label
            .and_then(|d| DistinctLabel::from_name(d.as_str())),
        threshold: u16::try_from(row.threshold).unwrap_or(0),
        shares: u16::try_from(row.shares).unwrap_or(0),
        version: u64::try_from(row.current_version).unwrap_or(0),
        created_at: rfc3339(u64::try_from(row.created_at).unwrap_or(0)),
        created_by: row.created_by,
        placement,
        public_key,
        name: row.name,
        id: row.id,
    })
}

/// Creates a `secret` key: generate (or import), split, seal each share to
/// its custodian, distribute, wait for every acknowledgement, record, wipe.
#[utoipa::path(post, path = "/v1/keys", tag = "keys",
    request_body = CreateKeyRequest,
    responses((status = 201, body = KeyInfo), (status = "4XX", body = Problem),
              (status = 502, body = Problem, description = "a custodian did not acknowledge its share")))]
pub(crate) async fn create(
    State(state): State<Arc<AppState>>,
    Extension(peer): Extension<PeerIdentity>,
    ApiJson(request): ApiJson<CreateKeyRequest>,
) -> Result<(StatusCode, axum::Json<KeyInfo>), ApiError> {
    require_client(&peer)?;
    state.touch_principal(&peer.name, peer.role.as_str()).await;
    validate_name("key name", &request.name).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let (t, n) = (request.threshold, request.shares);
    let min_threshold = if request.kind == KeyKind::Secret {
        1
    } else {
        2
    };
    if n == 0 || n > 255 || t < min_threshold || t > n {
        return Err(ApiError::unprocessable(
            "bad-threshold",
            format!(
                "a key of kind {} needs {min_threshold} <= threshold <= shares <= 255, got threshold {t} and shares {n}",
                request.kind.as_str()
            ),
        ));
    }
    if request.kind != KeyKind::Secret && request.import.is_some() {
        return Err(ApiError::unprocessable(
            "bad-import",
            format!(
                "a {} key cannot be imported: it is generated split (import a secret key instead)",
                request.kind.as_str()
            ),
        ));
    }
    if request.dkg && request.kind == KeyKind::Secret {
        return Err(ApiError::unprocessable(
            "bad-dkg",
            "a secret key cannot come from a distributed key generation: use kind ed25519 or ristretto255, or drop dkg",
        ));
    }
    if let Some(bytes) = &request.import
        && (bytes.is_empty() || bytes.len() > MAX_IMPORT)
    {
        return Err(ApiError::unprocessable(
            "bad-import",
            format!(
                "an imported secret must be 1 to {MAX_IMPORT} bytes, got {}",
                bytes.len()
            ),
        ));
    }
    if state.find_key(&request.name).await?.is_some() {
        return Err(ApiError::conflict(
            "key-exists",
            format!("a key named {:?} already exists", request.name),
        ));
    }
    let now = now_ms();
    let healthy: Vec<Custodian> = state
        .all_custodians()
        .into_iter()
        .filter(|c| c.state(now, state.health) == HealthState::Healthy)
        .collect();
    let chosen = placement::choose(&healthy, usize::from(n), request.distinct)
        .map_err(|why| ApiError::unprocessable("placement-unsatisfiable", why.to_string()))?;

    let key_id = hex::encode(rand::rng().random::<[u8; 16]>());
    let split_id: [u8; 16] = rand::rng().random();
    let (placements, public) = if request.dkg {
        generate(&state, &chosen, &key_id, &request).await?
    } else {
        distribute(&state, &chosen, &key_id, split_id, &request, now).await?
    };
    let created_at = i64::try_from(now).unwrap_or(i64::MAX);
    let key = NewKey {
        id: key_id.clone(),
        name: request.name.clone(),
        kind: symbolon_store::KeyKind::from_name(request.kind.as_str())
            .ok_or_else(|| ApiError::internal(format_args!("key kind {:?}", request.kind)))?,
        threshold: i64::from(t),
        shares: i64::from(n),
        distinct_label: request
            .distinct
            .and_then(|d| symbolon_store::DistinctLabel::from_name(d.as_str())),
        created_at,
        created_by: peer.name.clone(),
    };
    let public_key = public
        .as_deref()
        .map(|bytes| public_key_hex(request.kind, bytes))
        .transpose()?;
    let version = NewKeyVersion {
        split_id,
        created_at,
        public_key: public,
    };
    let mut created = audit::entry(EventKind::KeyCreated, &peer.name);
    created.key_id = Some(key_id.clone());
    created.key_version = Some(1);
    created.detail = Some(format!(
        "name {:?}, kind {}, {t} of {n}{}",
        request.name,
        request.kind.as_str(),
        if request.dkg {
            ", generated by the custodians (DKG)"
        } else {
            ""
        }
    ));
    let mut distributed = audit::entry(EventKind::SharesDistributed, &peer.name);
    distributed.key_id = Some(key_id.clone());
    distributed.key_version = Some(1);
    distributed.custodians = placements.iter().map(|p| p.custodian_id.clone()).collect();
    distributed.outcome = Some(
        if request.dkg {
            "generated and stored by each custodian"
        } else {
            "acknowledged"
        }
        .to_owned(),
    );
    let placement: Vec<PlacementInfo> = placements
        .iter()
        .map(|p| PlacementInfo {
            index: u16::try_from(p.share_index).unwrap_or(0),
            custodian: p.custodian_id.clone(),
        })
        .collect();
    let appended = state
        .audit
        .append(&[created, distributed], move |tx| {
            Box::pin(async move { tx.create_key(&key, &version, &placements).await })
        })
        .await;
    let row = match appended {
        Ok(appended) => appended.value,
        Err(e) => {
            withdraw(&state, &chosen, &key_id).await;
            return Err(match e {
                AppendError::Store(symbolon_store::Error::Conflict { .. }) => ApiError::conflict(
                    "key-exists",
                    format!("a key named {:?} already exists", request.name),
                ),
                other => other.into(),
            });
        }
    };
    metrics::counter!("symbolon_keys_created_total").increment(1);
    tracing::info!(key = %request.name, threshold = t, shares = n, by = %peer.name, "key created");
    Ok((
        StatusCode::CREATED,
        axum::Json(key_info_with(row, placement, public_key)?),
    ))
}

/// Deals the key and distributes the sealed shares; returns the
/// acknowledged placements and the public side (threshold kinds). On any
/// failure the shares already stored are withdrawn.
async fn distribute(
    state: &AppState,
    chosen: &[Custodian],
    key_id: &str,
    split_id: [u8; 16],
    request: &CreateKeyRequest,
    now: u64,
) -> Result<(Vec<NewPlacement>, Option<Vec<u8>>), ApiError> {
    let (t, n) = (request.threshold, request.shares);
    let dealt = deal(request.kind, t, n, request.import.as_ref())?;
    let mut sealed = Vec::with_capacity(chosen.len());
    for (custodian, (index, payload)) in chosen.iter().zip(&dealt.payloads) {
        let metadata = Metadata {
            split_id,
            key_id: key_id.to_owned(),
            epoch: 1,
            scheme: dealt.scheme,
            index: *index,
            threshold: t,
            shares: n,
            recipient: Some(RecipientInfo {
                id: custodian.id.clone(),
                fingerprint: custodian.recipient.fingerprint(),
            }),
            created_at: now / 1000,
            expires_at: None,
            commitment: dealt.commitment,
            label: format!("key {} version 1", request.name),
        };
        let envelope = Envelope::seal(
            metadata,
            payload,
            Some(&custodian.recipient),
            &state.identity,
            &mut rand::rng(),
        )
        .map_err(ApiError::internal)?;
        sealed.push(envelope);
    }
    let Dealt {
        payloads, public, ..
    } = dealt;
    drop(payloads);

    let results = join_all(
        chosen
            .iter()
            .zip(&sealed)
            .map(|(custodian, envelope)| put_share(state, custodian, key_id, envelope.encode())),
    )
    .await;
    let mut failures = Vec::new();
    let mut placements = Vec::with_capacity(sealed.len());
    for ((custodian, envelope), result) in chosen.iter().zip(&sealed).zip(results) {
        match result {
            Ok(digest) => placements.push(NewPlacement {
                share_index: i64::from(envelope.metadata().index),
                custodian_id: custodian.id.clone(),
                metadata: envelope
                    .metadata()
                    .to_canonical_bytes()
                    .map_err(ApiError::internal)?,
                envelope_digest: digest,
                acknowledged_at: i64::try_from(now_ms()).unwrap_or(i64::MAX),
            }),
            Err(reason) => failures.push(CustodianFailure {
                id: custodian.id.clone(),
                reason,
            }),
        }
    }
    if !failures.is_empty() {
        withdraw(state, chosen, key_id).await;
        return Err(ApiError::custodians(
            StatusCode::BAD_GATEWAY,
            "distribution-failed",
            format!(
                "key {:?} was not created: {} of {n} custodians did not acknowledge their share",
                request.name,
                failures.len()
            ),
            failures,
        ));
    }
    Ok((placements, public))
}

/// Has the custodians generate the key among themselves; returns the
/// placements they stored and the group's public side.
async fn generate(
    state: &AppState,
    chosen: &[Custodian],
    key_id: &str,
    request: &CreateKeyRequest,
) -> Result<(Vec<NewPlacement>, Option<Vec<u8>>), ApiError> {
    let generated = dkg::generate(
        state,
        chosen,
        key_id,
        request.kind,
        request.threshold,
        format!("key {} version 1", request.name),
    )
    .await;
    let generated = match generated {
        Ok(generated) => generated,
        Err(failed) => {
            record_culprits(state, key_id, &failed.culprits).await;
            let detail = if failed.culprits.is_empty() {
                format!(
                    "key {:?} was not created: the distributed key generation failed at {} custodian(s)",
                    request.name,
                    failed.failures.len()
                )
            } else {
                format!(
                    "key {:?} was not created: {} sent inconsistent or invalid DKG messages",
                    request.name,
                    failed
                        .culprits
                        .iter()
                        .map(|c| c.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            return Err(ApiError::custodians(
                StatusCode::BAD_GATEWAY,
                "dkg-failed",
                detail,
                failed.failures,
            ));
        }
    };
    // The group must decode (consistent verification shares) before the key
    // exists.
    if let Err(e) = Group::decode(request.kind, &generated.group) {
        withdraw(state, chosen, key_id).await;
        return Err(ApiError::custodians(
            StatusCode::BAD_GATEWAY,
            "dkg-failed",
            format!("the custodians agreed on an unusable group key: {e}"),
            Vec::new(),
        ));
    }
    let acknowledged_at = i64::try_from(now_ms()).unwrap_or(i64::MAX);
    let placements = chosen
        .iter()
        .zip(&generated.shares)
        .map(|(custodian, done)| NewPlacement {
            share_index: i64::from(done.index),
            custodian_id: custodian.id.clone(),
            metadata: done.metadata.clone(),
            envelope_digest: done.digest,
            acknowledged_at,
        })
        .collect();
    Ok((placements, Some(generated.group)))
}

/// Counts a DKG cheater's fault against it and logs it.
async fn record_culprits(state: &AppState, key_id: &str, culprits: &[CustodianFailure]) {
    if culprits.is_empty() {
        return;
    }
    let at = now_ms();
    let (entries, faults) = audit::suspects(key_id, 1, None, "bad dkg message", "dkg", culprits);
    let recorded = state
        .audit
        .append(&entries, move |tx| {
            Box::pin(async move { audit::record_faults(tx, &faults, at).await })
        })
        .await;
    match recorded {
        Ok(appended) => state.note_faults(appended.value),
        Err(e) => tracing::error!(error = ?e, "could not record a DKG cheater"),
    }
}

/// A dealt key: each share's index and envelope payload (wiped on drop),
/// the envelope scheme and commitment, and the public side to store.
struct Dealt {
    payloads: Vec<(u16, Zeroizing<Vec<u8>>)>,
    scheme: Scheme,
    commitment: [u8; 32],
    public: Option<Vec<u8>>,
}

/// Deals a fresh key of `kind` (or the imported secret) as `n` shares, any
/// `t` of which suffice; the whole key exists only inside this function
/// and is wiped before it returns.
fn deal(
    kind: KeyKind,
    t: u16,
    n: u16,
    import: Option<&symbolon_proto::SecretData>,
) -> Result<Dealt, ApiError> {
    let threshold_dealt = |group: Vec<u8>, shares: Vec<Zeroizing<Vec<u8>>>| Dealt {
        payloads: (1..=n)
            .zip(shares)
            .map(|(index, share)| (index, scalar::encode_package(&group, &share)))
            .collect(),
        // Only called for the threshold kinds, which all have a scheme.
        scheme: scalar::scheme(kind).unwrap_or(Scheme::FeldmanRistretto255),
        commitment: scalar::group_commitment(kind, &group),
        public: Some(group),
    };
    Ok(match kind {
        KeyKind::Secret => {
            let generated;
            let secret: &[u8] = match import {
                Some(bytes) => bytes.expose_secret(),
                None => {
                    let mut bytes = Zeroizing::new([0u8; 32]);
                    rand::rng().fill(bytes.as_mut_slice());
                    generated = bytes;
                    generated.as_slice()
                }
            };
            let shares = bytes::split(secret, usize::from(t), usize::from(n), &mut rand::rng())
                .map_err(ApiError::internal)?;
            Dealt {
                payloads: shares
                    .iter()
                    .map(|s| {
                        (
                            u16::from(s.index()),
                            Zeroizing::new(s.expose_secret().to_vec()),
                        )
                    })
                    .collect(),
                scheme: Scheme::ShamirGf256,
                commitment: [0; 32],
                public: None,
            }
        }
        KeyKind::Ed25519 => {
            let (group, shares) =
                ed25519::deal(t, n, &mut rand::rng()).map_err(ApiError::internal)?;
            let shares = shares.iter().map(|s| s.to_bytes()).collect();
            threshold_dealt(group.to_bytes(), shares)
        }
        KeyKind::Ristretto255 => {
            let (group, shares) = tdh2::deal(t, n, &mut rand::rng()).map_err(ApiError::internal)?;
            let shares = shares
                .iter()
                .map(|s| Zeroizing::new(s.to_bytes().to_vec()))
                .collect();
            threshold_dealt(group.to_bytes(), shares)
        }
    })
}

/// Sends one sealed shard; returns the acknowledged digest.
async fn put_share(
    state: &AppState,
    custodian: &Custodian,
    key_id: &str,
    body: Vec<u8>,
) -> Result<[u8; 32], String> {
    let expected = *blake3::hash(&body).as_bytes();
    let url = format!(
        "{}/v1/keys/{key_id}/versions/1/share",
        custodian.endpoint.trim_end_matches('/')
    );
    let ack: StoreShareResponse = crate::fanout::exchange(
        state,
        state
            .http
            .put(&url)
            .header("content-type", "application/octet-stream")
            .body(body),
    )
    .await
    .map_err(|refusal| refusal.reason)?;
    if ack.custodian_id != custodian.id || ack.digest != expected {
        return Err("acknowledged a different shard than the one sent".to_owned());
    }
    Ok(expected)
}

/// Best effort: asks every chosen custodian to drop the shard of a key that
/// was not created.
async fn withdraw(state: &AppState, chosen: &[Custodian], key_id: &str) {
    crate::fanout::delete_everywhere(
        state,
        chosen,
        &format!("/v1/keys/{key_id}/versions/1/share"),
        "withdraw the shard of an uncreated key",
    )
    .await;
}
