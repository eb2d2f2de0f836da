//! Write transactions: several state changes and their audit rows committed
//! together, each change in a savepoint so that one that fails (a taken
//! name, say) can be undone without the others.

use sqlx::{Any, Transaction};

use crate::audit::AuditAppend;
use crate::error::Result;
use crate::store::Store;

/// An open write transaction. Dropped without [`StoreTx::commit`], it rolls
/// back.
#[derive(Debug)]
pub struct StoreTx {
    pub(crate) tx: Transaction<'static, Any>,
    pub(crate) store: Store,
}

impl Store {
    /// Begins a write transaction.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Database`].
    pub async fn begin(&self) -> Result<StoreTx> {
        Ok(StoreTx {
            tx: self.write.begin().await?,
            store: self.clone(),
        })
    }
}

impl StoreTx {
    /// Commits everything written (and not rolled back) in it.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Database`]; then nothing was written.
    pub async fn commit(self) -> Result<()> {
        self.tx.commit().await?;
        Ok(())
    }

    /// Whether a failed statement spoils the whole transaction until it is
    /// rolled back to a savepoint (PostgreSQL), so every step that may fail
    /// needs one. On SQLite a failed statement undoes only itself, and the
    /// multi-statement writes here ([`StoreTx::create_key`]) keep their own
    /// savepoint.
    pub fn failures_abort_transaction(&self) -> bool {
        self.store.backend() == crate::Backend::Postgres
    }

    /// Marks a point that [`StoreTx::rollback_to_savepoint`] returns to.
    /// Savepoints do not nest here: release or roll back before the next.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Database`].
    pub async fn savepoint(&mut self) -> Result<()> {
        sqlx::query("SAVEPOINT symbolon_step")
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Keeps what was written since the savepoint.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Database`].
    pub async fn release_savepoint(&mut self) -> Result<()> {
        sqlx::query("RELEASE SAVEPOINT symbolon_step")
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Undoes what was written since the savepoint (which is then gone).
    ///
    /// # Errors
    ///
    /// [`crate::Error::Database`].
    pub async fn rollback_to_savepoint(&mut self) -> Result<()> {
        sqlx::query("ROLLBACK TO SAVEPOINT symbolon_step")
            .execute(&mut *self.tx)
            .await?;
        sqlx::query("RELEASE SAVEPOINT symbolon_step")
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Appends audit rows.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Conflict`] (`"audit entry"`) if an index is taken.
    pub async fn append_audit(&mut self, rows: &[AuditAppend]) -> Result<()> {
        crate::audit::insert(&mut self.tx, rows).await
    }

    /// Stores the signed tree head on the row at `index` (the last row of
    /// the transaction).
    ///
    /// # Errors
    ///
    /// [`crate::Error::NotFound`] if there is no row at `index`.
    pub async fn set_audit_head(&mut self, index: u64, head: &str) -> Result<()> {
        crate::audit::set_head(&mut self.tx, index, head).await
    }
}
