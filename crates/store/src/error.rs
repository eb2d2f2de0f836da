//! The store's one error type.

/// Everything that can go wrong in the store.
///
/// Callers map these to protocol answers: [`Error::NotFound`] to 404,
/// [`Error::Conflict`] and [`Error::StaleSequence`] to 409,
/// [`Error::InvalidInput`] to 400, the rest to a logged 500.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No row with this id.
    #[error("{what} {id:?} not found")]
    NotFound {
        /// What was looked up, e.g. `"custodian"`, `"key"`, `"request"`.
        what: &'static str,
        /// The id or name that matched nothing.
        id: String,
    },

    /// The row already exists or is in a state that forbids the change:
    /// a taken key name, a custodian re-registering with different keys, a
    /// request completed twice.
    #[error("{what} {id:?} conflicts with the stored state")]
    Conflict {
        /// What clashed, e.g. `"key name"`, `"custodian keys"`, `"request completion"`.
        what: &'static str,
        /// The id or name that clashed.
        id: String,
    },

    /// A heartbeat whose sequence number is not above the last one
    /// recorded for this custodian: a replay or a reordered message.
    #[error(
        "custodian {custodian:?}: heartbeat sequence {seq} is not above the last recorded {last_seq}"
    )]
    StaleSequence {
        /// The custodian that sent it.
        custodian: String,
        /// The refused sequence number.
        seq: i64,
        /// The last sequence number recorded.
        last_seq: i64,
    },

    /// The caller passed values that can never be stored (e.g. a threshold
    /// above the number of shares, two placements on one custodian).
    #[error("invalid {what}: {detail}")]
    InvalidInput {
        /// Which argument.
        what: &'static str,
        /// What is wrong with it.
        detail: String,
    },

    /// A stored row that does not decode: an unknown enum name, a blob of
    /// the wrong length, malformed JSON. The store is not touched.
    #[error("corrupt {what} in the store: {detail}")]
    Corrupt {
        /// Which table and column, e.g. `"custodians.kind"`.
        what: &'static str,
        /// The row and the offending value.
        detail: String,
    },

    /// The database URL names no supported backend.
    #[error("unsupported database URL scheme {scheme:?} (expected sqlite: or postgres:)")]
    UnsupportedUrl {
        /// The scheme found (everything before the first `:`).
        scheme: String,
    },

    /// The database failed (connection, I/O, a constraint not mapped above).
    #[error("database error: {source}")]
    Database {
        /// The driver's error.
        #[from]
        source: sqlx::Error,
    },

    /// Applying the embedded schema migrations failed, e.g. the database
    /// was migrated by a newer or different build.
    #[error("schema migration failed")]
    Migration {
        /// The migrator's error.
        #[from]
        source: sqlx::migrate::MigrateError,
    },
}

/// The store's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The kind of a database error, if it is one.
pub(crate) fn db_kind(err: &sqlx::Error) -> Option<sqlx::error::ErrorKind> {
    match err {
        sqlx::Error::Database(db) => Some(db.kind()),
        _ => None,
    }
}
