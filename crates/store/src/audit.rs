//! The audit log's rows. The coordinator decides each entry's index (it
//! keeps the Merkle tree) and writes the rows in the same transaction as
//! the state change they record ([`crate::StoreTx::append_audit`]); this
//! module writes and reads them back.

use sqlx::any::AnyRow;
use sqlx::{Any, Row as _, Transaction};

use crate::column;
use crate::error::{Error, Result};
use crate::store::Store;

/// One entry to append.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditAppend {
    /// Its index in the log (the rows of a log are `0..n`, no gaps).
    pub index: u64,
    /// The canonical entry encoding.
    pub entry: Vec<u8>,
    /// Its RFC 6962 leaf hash.
    pub leaf_hash: [u8; 32],
    /// The signed tree head after this entry, on the last entry of a
    /// transaction.
    pub head: Option<String>,
}

/// A stored entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRow {
    /// Its index.
    pub index: u64,
    /// The canonical entry encoding, as stored.
    pub entry: Vec<u8>,
    /// The stored leaf hash.
    pub leaf_hash: [u8; 32],
    /// The signed tree head stored with it, if any.
    pub head: Option<String>,
}

impl AuditRow {
    fn decode(row: &AnyRow) -> Result<AuditRow> {
        let index: i64 = column::get(row, "idx", "audit_entries.idx", "?")?;
        let id = index.to_string();
        let leaf: Vec<u8> = column::get(row, "leaf_hash", "audit_entries.leaf_hash", &id)?;
        Ok(AuditRow {
            index: u64::try_from(index).map_err(|_| Error::Corrupt {
                what: "audit_entries.idx",
                detail: format!("negative index {index}"),
            })?,
            entry: column::get(row, "entry", "audit_entries.entry", &id)?,
            leaf_hash: leaf.try_into().map_err(|_| Error::Corrupt {
                what: "audit_entries.leaf_hash",
                detail: format!("row {id}: not 32 bytes"),
            })?,
            head: column::get(row, "head", "audit_entries.head", &id)?,
        })
    }
}

fn index(value: u64) -> Result<i64> {
    i64::try_from(value).map_err(|_| Error::InvalidInput {
        what: "audit index",
        detail: format!("{value} is too large"),
    })
}

/// Rows per multi-row `INSERT` (4 parameters each, far below SQLite's
/// and PostgreSQL's parameter limits).
const ROWS_PER_STATEMENT: usize = 128;

/// Inserts `appends` inside `tx`, many rows per statement. A taken index
/// (another coordinator replica appended first) is [`Error::Conflict`]
/// naming the indices of the statement that failed (`first..=last`).
pub(crate) async fn insert(tx: &mut Transaction<'_, Any>, appends: &[AuditAppend]) -> Result<()> {
    for chunk in appends.chunks(ROWS_PER_STATEMENT) {
        let mut sql =
            String::from("INSERT INTO audit_entries (idx, entry, leaf_hash, head) VALUES ");
        for i in 0..chunk.len() {
            if i > 0 {
                sql.push_str(", ");
            }
            let n = 4 * i;
            sql.push_str(&format!("(${}, ${}, ${}, ${})", n + 1, n + 2, n + 3, n + 4));
        }
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for append in chunk {
            query = query
                .bind(index(append.index)?)
                .bind(append.entry.as_slice())
                .bind(append.leaf_hash.to_vec())
                .bind(append.head.as_deref());
        }
        match query.execute(&mut **tx).await {
            Ok(_) => {}
            Err(err)
                if crate::error::db_kind(&err) == Some(sqlx::error::ErrorKind::UniqueViolation) =>
            {
                let first = chunk.first().map_or(0, |a| a.index);
                let last = chunk.last().map_or(first, |a| a.index);
                return Err(Error::Conflict {
                    what: "audit entry",
                    id: if first == last {
                        first.to_string()
                    } else {
                        format!("{first}..={last}")
                    },
                });
            }
            Err(err) => return Err(err.into()),
        }
    }
    Ok(())
}

impl Store {
    /// Every stored leaf hash, in index order, for rebuilding the tree.
    ///
    /// # Errors
    ///
    /// [`Error::Corrupt`] if the indexes are not exactly `0..n` or a hash
    /// is not 32 bytes.
    pub async fn audit_leaf_hashes(&self) -> Result<Vec<[u8; 32]>> {
        let rows = sqlx::query("SELECT idx, leaf_hash FROM audit_entries ORDER BY idx")
            .fetch_all(&self.read)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for (expected, row) in rows.iter().enumerate() {
            let idx: i64 = row.try_get("idx")?;
            if u64::try_from(idx).ok() != Some(expected as u64) {
                return Err(Error::Corrupt {
                    what: "audit_entries",
                    detail: format!("entry {expected} is missing (next stored index is {idx})"),
                });
            }
            let leaf: Vec<u8> = row.try_get("leaf_hash")?;
            out.push(leaf.try_into().map_err(|_| Error::Corrupt {
                what: "audit_entries.leaf_hash",
                detail: format!("row {idx}: not 32 bytes"),
            })?);
        }
        Ok(out)
    }

    /// Up to `limit` entries from index `start` on, in index order (a gap
    /// shows as a missing index).
    ///
    /// # Errors
    ///
    /// [`Error::Corrupt`] for an undecodable row; [`Error::Database`].
    pub async fn audit_entries(&self, start: u64, limit: u64) -> Result<Vec<AuditRow>> {
        let rows = sqlx::query(
            "SELECT idx, entry, leaf_hash, head FROM audit_entries WHERE idx >= $1 \
             ORDER BY idx LIMIT $2",
        )
        .bind(index(start)?)
        .bind(index(limit)?)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(AuditRow::decode).collect()
    }

    /// The number of stored entries.
    ///
    /// # Errors
    ///
    /// [`Error::Database`] only.
    pub async fn audit_size(&self) -> Result<u64> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_entries")
            .fetch_one(&self.read)
            .await?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// The signed tree head stored with the highest-indexed entry below
    /// `before` that has one, with that entry's index (the head's size is
    /// index + 1).
    ///
    /// # Errors
    ///
    /// [`Error::Database`]; [`Error::Corrupt`] for a negative index.
    pub async fn audit_head_before(&self, before: u64) -> Result<Option<(u64, String)>> {
        self.head_below(Some(before)).await
    }

    /// The signed tree head stored with the highest-indexed entry that has
    /// one, with that entry's index.
    ///
    /// # Errors
    ///
    /// As [`Store::audit_head_before`].
    pub async fn audit_latest_head(&self) -> Result<Option<(u64, String)>> {
        self.head_below(None).await
    }

    async fn head_below(&self, before: Option<u64>) -> Result<Option<(u64, String)>> {
        let query = sqlx::query(
            "SELECT idx, head FROM audit_entries WHERE head IS NOT NULL AND idx < $1 \
             ORDER BY idx DESC LIMIT 1",
        )
        .bind(before.map_or(Ok(i64::MAX), index)?);
        let Some(row) = query.fetch_optional(&self.read).await? else {
            return Ok(None);
        };
        let idx: i64 = row.try_get("idx")?;
        let head: String = row.try_get("head")?;
        let idx = u64::try_from(idx).map_err(|_| Error::Corrupt {
            what: "audit_entries",
            // The schema forbids it (CHECK idx >= 0); a changed schema must not
            // turn it into entry 0.
            detail: format!("a signed head is stored at the negative index {idx}"),
        })?;
        Ok(Some((idx, head)))
    }
}
