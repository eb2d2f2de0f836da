//! The HTTP API.

use std::sync::Arc;

use axum::Extension;
use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use symbolon_transport::{PeerIdentity, Role};
use utoipa::OpenApi;

use crate::problem::{self, ApiError};
use crate::state::AppState;

pub(crate) mod audit;
pub(crate) mod custodians;
pub(crate) mod keys;
pub(crate) mod ops;

/// The OpenAPI document of the `/v1` API.
#[derive(OpenApi)]
#[openapi(
    info(title = "Symbolon coordinator", description = "Threshold key custody: custodians, keys and operations. Every call needs a client certificate of the cluster CA (mutual TLS); errors are RFC 9457 problem details."),
    paths(
        keys::status, keys::list, keys::show, keys::create,
        ops::encrypt, ops::decrypt, ops::release, ops::sign,
        custodians::register, custodians::heartbeat,
        audit::head, audit::entries, audit::entry, audit::inclusion, audit::consistency,
    ),
    tags(
        (name = "cluster", description = "Cluster health"),
        (name = "keys", description = "Keys and their placement"),
        (name = "operations", description = "Using keys"),
        (name = "audit", description = "The tamper-evident audit log: signed tree heads, entries, inclusion and consistency proofs"),
        (name = "custodians", description = "Custodian registration and heartbeats (custodian certificates only)"),
    )
)]
pub(crate) struct ApiDoc;

pub(crate) fn require_client(peer: &PeerIdentity) -> Result<(), ApiError> {
    if peer.role == Role::Client {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!(
            "this endpoint needs a client certificate; this one is a {} certificate",
            peer.role
        )))
    }
}

async fn openapi() -> impl IntoResponse {
    axum::Json(ApiDoc::openapi())
}

async fn metrics(
    State(state): State<Arc<AppState>>,
    Extension(_peer): Extension<PeerIdentity>,
) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}

/// The coordinator's router.
pub(crate) fn router(state: Arc<AppState>) -> Router {
    let limit = state.config.max_body_bytes;
    Router::new()
        .route("/v1/status", get(keys::status))
        .route("/v1/keys", get(keys::list).post(keys::create))
        .route("/v1/keys/{name}", get(keys::show))
        .route("/v1/keys/{name}/encrypt", post(ops::encrypt))
        .route("/v1/keys/{name}/decrypt", post(ops::decrypt))
        .route("/v1/keys/{name}/release", post(ops::release))
        .route("/v1/keys/{name}/sign", post(ops::sign))
        .route("/v1/custodians/register", post(custodians::register))
        .route("/v1/custodians/{id}/heartbeat", post(custodians::heartbeat))
        .route("/v1/audit/head", get(audit::head))
        .route("/v1/audit/entries", get(audit::entries))
        .route("/v1/audit/entries/{index}", get(audit::entry))
        .route("/v1/audit/proof/inclusion", get(audit::inclusion))
        .route("/v1/audit/proof/consistency", get(audit::consistency))
        .route("/v1/openapi.json", get(openapi))
        .route("/metrics", get(metrics))
        .fallback(problem::not_found_route)
        .method_not_allowed_fallback(problem::method_not_allowed)
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}
