//! Operation requests: one row per operation asked of the coordinator,
//! written when it starts and completed once with its outcome.

use sqlx::any::AnyRow;

use crate::column::{self, stored_enum};
use crate::error::{Error, Result};
use crate::store::Store;
use crate::tx::StoreTx;

stored_enum! {
    /// How a request ended (stored as `ok`, `failed`, `refused`).
    pub enum RequestOutcome {
        /// The operation succeeded.
        Ok => "ok",
        /// It was allowed but failed (e.g. too few custodians answered).
        Failed => "failed",
        /// It was not allowed (policy, approvals, attestation).
        Refused => "refused",
    }
}

/// A request to record: what [`Store::insert_request`] writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewRequest {
    /// Its id (chosen by the caller, unique).
    pub id: String,
    /// The key it is for (not checked against the keys table: a refused
    /// request may name a key that does not exist).
    pub key_id: String,
    /// The key version it is for.
    pub version: i64,
    /// The operation, e.g. `decrypt`, `sign`, `release`.
    pub op: String,
    /// The principal asking.
    pub requester: String,
    /// When it arrived, Unix milliseconds.
    pub created_at: i64,
}

/// A stored request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestRow {
    /// Its id.
    pub id: String,
    /// The key it is for.
    pub key_id: String,
    /// The key version it is for.
    pub version: i64,
    /// The operation.
    pub op: String,
    /// The principal asking.
    pub requester: String,
    /// When it arrived, Unix milliseconds.
    pub created_at: i64,
    /// When it completed, Unix milliseconds; `None` while in flight.
    pub completed_at: Option<i64>,
    /// How it ended; `None` while in flight.
    pub outcome: Option<RequestOutcome>,
    /// The custodians that took part, once completed.
    pub custodians: Option<Vec<String>>,
    /// A human-readable note on the outcome (never secret material).
    pub detail: Option<String>,
}

impl RequestRow {
    fn decode(row: &AnyRow) -> Result<RequestRow> {
        let id: String = column::get(row, "id", "requests.id", "?")?;
        let custodians: Option<String> =
            column::get(row, "custodians", "requests.custodians", &id)?;
        let custodians = custodians
            .map(|json| {
                serde_json::from_str::<Vec<String>>(&json).map_err(|err| Error::Corrupt {
                    what: "requests.custodians",
                    detail: format!("row {id:?}: {err}"),
                })
            })
            .transpose()?;
        Ok(RequestRow {
            key_id: column::get(row, "key_id", "requests.key_id", &id)?,
            version: column::get(row, "version", "requests.version", &id)?,
            op: column::get(row, "op", "requests.op", &id)?,
            requester: column::get(row, "requester", "requests.requester", &id)?,
            created_at: column::get(row, "created_at", "requests.created_at", &id)?,
            completed_at: column::get(row, "completed_at", "requests.completed_at", &id)?,
            outcome: column::optional_name(row, "outcome", "requests.outcome", &id)?,
            custodians,
            detail: column::get(row, "detail", "requests.detail", &id)?,
            id,
        })
    }
}

impl Store {
    /// Records a new, in-flight request, in a transaction of its own (see
    /// [`StoreTx::insert_request`] to record it with other changes).
    ///
    /// # Errors
    ///
    /// [`Error::Conflict`] (`"request"`) if a request with this id exists.
    pub async fn insert_request(&self, request: &NewRequest) -> Result<()> {
        let mut tx = self.begin().await?;
        tx.insert_request(request).await?;
        tx.commit().await
    }

    /// Completes an in-flight request, once, in a transaction of its own
    /// (see [`StoreTx::complete_request`]).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown request; [`Error::Conflict`]
    /// (`"request completion"`) if it was already completed (the first
    /// completion stands).
    pub async fn complete_request(
        &self,
        id: &str,
        at_ms: i64,
        outcome: RequestOutcome,
        custodians: &[String],
        detail: Option<&str>,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        tx.complete_request(id, at_ms, outcome, custodians, detail)
            .await?;
        tx.commit().await
    }

    /// The request with this id.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if there is none; [`Error::Corrupt`] if its row
    /// does not decode.
    pub async fn request(&self, id: &str) -> Result<RequestRow> {
        let row = sqlx::query(
            "SELECT id, key_id, version, op, requester, created_at, completed_at, outcome, \
             custodians, detail FROM requests WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.read)
        .await?
        .ok_or_else(|| Error::NotFound {
            what: "request",
            id: id.to_owned(),
        })?;
        RequestRow::decode(&row)
    }

    /// How many requests are stored.
    ///
    /// # Errors
    ///
    /// [`Error::Database`] only.
    pub async fn count_requests(&self) -> Result<u64> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM requests")
            .fetch_one(&self.read)
            .await?;
        u64::try_from(count).map_err(|_| Error::Corrupt {
            what: "requests",
            detail: format!("negative count {count}"),
        })
    }
}

impl StoreTx {
    /// Records a new, in-flight request.
    ///
    /// # Errors
    ///
    /// [`Error::Conflict`] (`"request"`) if a request with this id exists.
    pub async fn insert_request(&mut self, request: &NewRequest) -> Result<()> {
        let result = sqlx::query(
            "INSERT INTO requests (id, key_id, version, op, requester, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&request.id)
        .bind(&request.key_id)
        .bind(request.version)
        .bind(&request.op)
        .bind(&request.requester)
        .bind(request.created_at)
        .execute(&mut *self.tx)
        .await;
        match result {
            Ok(_) => Ok(()),
            Err(err)
                if crate::error::db_kind(&err) == Some(sqlx::error::ErrorKind::UniqueViolation) =>
            {
                Err(Error::Conflict {
                    what: "request",
                    id: request.id.clone(),
                })
            }
            Err(err) => Err(err.into()),
        }
    }

    /// Completes an in-flight request, once: its end time, outcome, the
    /// custodians that took part and an optional note.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown request; [`Error::Conflict`]
    /// (`"request completion"`) if it was already completed.
    pub async fn complete_request(
        &mut self,
        id: &str,
        at_ms: i64,
        outcome: RequestOutcome,
        custodians: &[String],
        detail: Option<&str>,
    ) -> Result<()> {
        let custodians = serde_json::to_string(custodians).map_err(|err| Error::InvalidInput {
            what: "custodians",
            detail: err.to_string(),
        })?;
        let done = sqlx::query(
            "UPDATE requests SET completed_at = $1, outcome = $2, custodians = $3, detail = $4 \
             WHERE id = $5 AND completed_at IS NULL",
        )
        .bind(at_ms)
        .bind(outcome.as_str())
        .bind(custodians)
        .bind(detail)
        .bind(id)
        .execute(&mut *self.tx)
        .await?;
        if done.rows_affected() == 1 {
            return Ok(());
        }
        let exists: Option<i64> = sqlx::query_scalar("SELECT 1 FROM requests WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *self.tx)
            .await?;
        Err(match exists {
            Some(_) => Error::Conflict {
                what: "request completion",
                id: id.to_owned(),
            },
            None => Error::NotFound {
                what: "request",
                id: id.to_owned(),
            },
        })
    }
}
