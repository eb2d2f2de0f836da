//! Principals (users and services) the coordinator has seen.

use sqlx::any::AnyRow;

use crate::column;
use crate::error::{Error, Result};
use crate::store::Store;

/// A stored principal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrincipalRow {
    /// Its name (its certificate name).
    pub name: String,
    /// The role it last presented.
    pub role: String,
    /// When it was first seen, Unix milliseconds.
    pub first_seen: i64,
    /// When it was last seen, Unix milliseconds.
    pub last_seen: i64,
}

impl PrincipalRow {
    fn decode(row: &AnyRow) -> Result<PrincipalRow> {
        let name: String = column::get(row, "name", "principals.name", "?")?;
        Ok(PrincipalRow {
            role: column::get(row, "role", "principals.role", &name)?,
            first_seen: column::get(row, "first_seen", "principals.first_seen", &name)?,
            last_seen: column::get(row, "last_seen", "principals.last_seen", &name)?,
            name,
        })
    }
}

impl Store {
    /// Records that principal `name` was seen at `at_ms` with `role`:
    /// inserts it, or updates its role and moves `last_seen` forward
    /// (never backward, so out-of-order calls are harmless).
    ///
    /// # Errors
    ///
    /// [`Error::Database`] only.
    pub async fn touch_principal(&self, name: &str, role: &str, at_ms: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO principals (name, role, first_seen, last_seen) VALUES ($1, $2, $3, $3) \
             ON CONFLICT (name) DO UPDATE SET role = excluded.role, \
             last_seen = CASE WHEN excluded.last_seen > principals.last_seen \
             THEN excluded.last_seen ELSE principals.last_seen END",
        )
        .bind(name)
        .bind(role)
        .bind(at_ms)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// The principal with this name.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if there is none.
    pub async fn principal(&self, name: &str) -> Result<PrincipalRow> {
        let row =
            sqlx::query("SELECT name, role, first_seen, last_seen FROM principals WHERE name = $1")
                .bind(name)
                .fetch_optional(&self.read)
                .await?
                .ok_or_else(|| Error::NotFound {
                    what: "principal",
                    id: name.to_owned(),
                })?;
        PrincipalRow::decode(&row)
    }

    /// Every principal, ordered by name.
    ///
    /// # Errors
    ///
    /// [`Error::Database`] only.
    pub async fn principals(&self) -> Result<Vec<PrincipalRow>> {
        sqlx::query("SELECT name, role, first_seen, last_seen FROM principals ORDER BY name")
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(PrincipalRow::decode)
            .collect()
    }
}
