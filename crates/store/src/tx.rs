//! Write transactions: several state changes and their audit rows committed
//! together, each change in a savepoint so that one that fails (a taken
//! name, say) can be undone without the others.

use sqlx::{Any, Transaction};

use crate::audit::AuditAppend;
use crate::error::Result;
use crate::store::Store;

/// The savepoints a transaction uses (fixed names, so the statements are
/// static SQL).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Savepoint {
    /// Around one step of a shared transaction (a coordinator job).
    Step,
    /// Around [`StoreTx::create_key`]'s inserts.
    CreateKey,
}

impl Savepoint {
    /// (mark, release, roll back) statements.
    fn sql(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Self::Step => (
                "SAVEPOINT symbolon_step",
                "RELEASE SAVEPOINT symbolon_step",
                "ROLLBACK TO SAVEPOINT symbolon_step",
            ),
            Self::CreateKey => (
                "SAVEPOINT symbolon_create_key",
                "RELEASE SAVEPOINT symbolon_create_key",
                "ROLLBACK TO SAVEPOINT symbolon_create_key",
            ),
        }
    }
}

/// An open write transaction. Dropped without [`StoreTx::commit`], it rolls
/// back.
#[derive(Debug)]
pub struct StoreTx {
    pub(crate) tx: Transaction<'static, Any>,
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

    /// Marks a point that [`StoreTx::rollback_to_savepoint`] returns to.
    /// Savepoints nest.
    ///
    /// Every write that may fail inside a transaction shared with other
    /// writes needs one, on both backends: on PostgreSQL a failed statement
    /// spoils the whole transaction, and on SQLite the statements of a
    /// multi-statement write that ran before the failing one would stay.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Database`].
    pub async fn savepoint(&mut self, at: Savepoint) -> Result<()> {
        self.run(at.sql().0).await
    }

    /// Keeps what was written since the savepoint.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Database`].
    pub async fn release_savepoint(&mut self, at: Savepoint) -> Result<()> {
        self.run(at.sql().1).await
    }

    /// Undoes what was written since the savepoint (which is then gone).
    ///
    /// # Errors
    ///
    /// [`crate::Error::Database`].
    pub async fn rollback_to_savepoint(&mut self, at: Savepoint) -> Result<()> {
        self.run(at.sql().2).await?;
        self.release_savepoint(at).await
    }

    async fn run(&mut self, sql: &'static str) -> Result<()> {
        sqlx::query(sql).execute(&mut *self.tx).await?;
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
}
