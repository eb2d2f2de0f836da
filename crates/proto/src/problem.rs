//! RFC 9457 problem details: the body of every error response.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An error response (`application/problem+json`, RFC 9457).
///
/// `type` is a URI naming the kind of problem (`urn:symbolon:problem:<kind>`,
/// stable across versions, safe to match on); `title` is its short summary;
/// `detail` explains this occurrence. Failures that involve custodians list
/// each one and why in `custodians`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// The problem kind, e.g. `urn:symbolon:problem:not-found`.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short, human-readable summary of the kind.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The request path it happened on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// Custodians that did not contribute, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub custodians: Vec<CustodianFailure>,
}

/// Why one custodian did not contribute to an operation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CustodianFailure {
    /// The custodian's id.
    pub id: String,
    /// What happened (unreachable, timed out, refused, bad share...).
    pub reason: String,
}

/// The media type of [`Problem`] bodies.
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

impl Problem {
    /// A problem of `kind` (the part after `urn:symbolon:problem:`).
    pub fn new(status: u16, kind: &str, title: &str, detail: impl Into<String>) -> Self {
        Self {
            kind: format!("urn:symbolon:problem:{kind}"),
            title: title.to_owned(),
            status,
            detail: Some(detail.into()),
            instance: None,
            custodians: Vec::new(),
        }
    }

    /// One line for a terminal: the detail (or title) and, for each
    /// custodian that failed, its id and reason.
    pub fn one_line(&self) -> String {
        let mut line = self.detail.clone().unwrap_or_else(|| self.title.clone());
        for c in &self.custodians {
            line.push_str(&format!("; {}: {}", c.id, c.reason));
        }
        line
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.one_line())
    }
}
