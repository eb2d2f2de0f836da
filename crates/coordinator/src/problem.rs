//! API errors as RFC 9457 problem details, and the JSON extractor that turns
//! every malformed body into one.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use symbolon_proto::{CustodianFailure, PROBLEM_CONTENT_TYPE, Problem};

/// An error answer. Caller faults carry a [`Problem`]; our own faults are
/// logged and answered with a bare 500 problem that reveals nothing.
#[derive(Debug)]
pub(crate) enum ApiError {
    /// 4xx (or 502/503 naming custodians): the problem is shown as is.
    Problem(Box<Problem>),
    /// 500: the reason is logged, not sent.
    Internal(String),
}

impl ApiError {
    pub(crate) fn new(
        status: StatusCode,
        kind: &str,
        title: &str,
        detail: impl Into<String>,
    ) -> Self {
        Self::Problem(Box::new(Problem::new(status.as_u16(), kind, title, detail)))
    }

    pub(crate) fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "bad-request",
            "Bad request",
            detail,
        )
    }

    pub(crate) fn unprocessable(kind: &str, detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            kind,
            "Unprocessable request",
            detail,
        )
    }

    pub(crate) fn not_found(what: &str, name: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "Not found",
            format!("no {what} named {name:?}"),
        )
    }

    pub(crate) fn conflict(kind: &str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, kind, "Conflict", detail)
    }

    pub(crate) fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden", detail)
    }

    pub(crate) fn custodians(
        status: StatusCode,
        kind: &str,
        detail: impl Into<String>,
        failures: Vec<CustodianFailure>,
    ) -> Self {
        let mut problem = Problem::new(status.as_u16(), kind, "Custodians did not answer", detail);
        problem.custodians = failures;
        Self::Problem(Box::new(problem))
    }

    pub(crate) fn internal(reason: impl std::fmt::Display) -> Self {
        Self::Internal(reason.to_string())
    }
}

impl From<symbolon_store::Error> for ApiError {
    fn from(e: symbolon_store::Error) -> Self {
        Self::internal(format_args!("store: {}", crate::error::chain(&e)))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let problem = match self {
            Self::Problem(p) => *p,
            Self::Internal(reason) => {
                tracing::error!(%reason, "internal error");
                Problem {
                    kind: "about:blank".into(),
                    title: "Internal Server Error".into(),
                    status: 500,
                    detail: None,
                    instance: None,
                    custodians: Vec::new(),
                }
            }
        };
        problem_response(problem)
    }
}

pub(crate) fn problem_response(problem: Problem) -> Response {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::to_vec(&problem).unwrap_or_default();
    (status, [(header::CONTENT_TYPE, PROBLEM_CONTENT_TYPE)], body).into_response()
}

/// `axum::Json` whose rejections are problem documents: 400 for syntax,
/// 422 for a well-formed body of the wrong shape, 415 for a missing JSON
/// content type, 413 for a body over the limit.
pub(crate) struct ApiJson<T>(pub(crate) T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    axum::Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_rejection(&rejection)),
        }
    }
}

fn json_rejection(rejection: &JsonRejection) -> ApiError {
    let status = rejection.status();
    let (kind, title) = match status {
        StatusCode::PAYLOAD_TOO_LARGE => ("payload-too-large", "Payload too large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("unsupported-media-type", "Unsupported media type"),
        StatusCode::UNPROCESSABLE_ENTITY => ("invalid-body", "Invalid request body"),
        _ => ("malformed-json", "Malformed JSON"),
    };
    ApiError::new(status, kind, title, rejection.body_text())
}

/// The answer for unknown routes.
pub(crate) async fn not_found_route(uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not-found",
        "Not found",
        format!("no such endpoint: {}", uri.path()),
    )
}

/// The answer for a known route with the wrong method.
pub(crate) async fn method_not_allowed(
    method: axum::http::Method,
    uri: axum::http::Uri,
) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "Method not allowed",
        format!("{method} is not allowed on {}", uri.path()),
    )
}

/// A wrapper around an axum extractor of request parts whose rejections
/// are 400 problem documents of `kind` (the rejection's own text as the
/// detail).
macro_rules! problem_extractor {
    ($(#[$doc:meta])* $name:ident, $inner:ident, $kind:literal, $title:literal) => {
        $(#[$doc])*
        pub(crate) struct $name<T>(pub(crate) T);

        impl<S, T> axum::extract::FromRequestParts<S> for $name<T>
        where
            T: serde::de::DeserializeOwned + Send,
            S: Send + Sync,
        {
            type Rejection = ApiError;

            async fn from_request_parts(
                parts: &mut axum::http::request::Parts,
                state: &S,
            ) -> Result<Self, Self::Rejection> {
                axum::extract::$inner::<T>::from_request_parts(parts, state)
                    .await
                    .map(|axum::extract::$inner(value)| Self(value))
                    .map_err(|rejection| {
                        ApiError::new(StatusCode::BAD_REQUEST, $kind, $title, rejection.body_text())
                    })
            }
        }
    };
}

problem_extractor!(
    /// `axum::extract::Query` whose rejections are 400 problem documents.
    ApiQuery, Query, "bad-query", "Bad query string"
);
problem_extractor!(
    /// `axum::extract::Path` whose rejections are 400 problem documents.
    ApiPath, Path, "bad-path", "Bad path parameter"
);
