//! Opening the database: backend choice, connection pools, SQLite
//! settings and the embedded schema migrations.

use std::path::Path;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyPool, SqlSafeStr as _};

use crate::error::{Error, Result};

/// How long an SQLite connection waits for another process's lock before
/// giving up with `SQLITE_BUSY`.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Read connections per SQLite store. Writes go through a single
/// connection, so they queue in the pool instead of spinning on SQLite's
/// busy handler.
const SQLITE_READERS: u32 = 4;

/// Connections per PostgreSQL store (per coordinator replica).
const POSTGRES_CONNECTIONS: u32 = 16;

/// One embedded migration: version, description, SQL.
type EmbeddedMigration = (i64, &'static str, &'static str);

/// The SQLite schema, in order. Keep in step with [`POSTGRES_MIGRATIONS`].
const SQLITE_MIGRATIONS: &[EmbeddedMigration] = &[
    (
        1,
        "initial",
        include_str!("../migrations/sqlite/0001_initial.sql"),
    ),
    (
        2,
        "audit",
        include_str!("../migrations/sqlite/0002_audit.sql"),
    ),
    (
        3,
        "threshold",
        include_str!("../migrations/sqlite/0003_threshold.sql"),
    ),
];

/// The PostgreSQL schema, in order. Keep in step with [`SQLITE_MIGRATIONS`].
const POSTGRES_MIGRATIONS: &[EmbeddedMigration] = &[
    (
        1,
        "initial",
        include_str!("../migrations/postgres/0001_initial.sql"),
    ),
    (
        2,
        "audit",
        include_str!("../migrations/postgres/0002_audit.sql"),
    ),
    (
        3,
        "threshold",
        include_str!("../migrations/postgres/0003_threshold.sql"),
    ),
];

/// Which database engine a [`Store`] talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// An embedded SQLite file (single coordinator).
    Sqlite,
    /// A PostgreSQL server shared by several coordinator replicas.
    Postgres,
}

impl Backend {
    /// The backend a database URL names: `sqlite:` or
    /// `postgres:`/`postgresql:`.
    ///
    /// # Errors
    ///
    /// [`Error::UnsupportedUrl`] for any other scheme.
    pub fn from_url(url: &str) -> Result<Backend> {
        let scheme = url.split_once(':').map_or(url, |(scheme, _)| scheme);
        match scheme.to_ascii_lowercase().as_str() {
            "sqlite" => Ok(Backend::Sqlite),
            "postgres" | "postgresql" => Ok(Backend::Postgres),
            _ => Err(Error::UnsupportedUrl {
                scheme: scheme.to_owned(),
            }),
        }
    }

    fn migrations(self) -> &'static [EmbeddedMigration] {
        match self {
            Backend::Sqlite => SQLITE_MIGRATIONS,
            Backend::Postgres => POSTGRES_MIGRATIONS,
        }
    }
}

/// The coordinator's persistent state: a cheap, cloneable handle over the
/// connection pools.
///
/// All SQL is written once, portably (`$n` placeholders, `INTEGER`/`BIGINT`
/// as `i64`, `BLOB`/`BYTEA` as bytes, `TEXT`), and runs through sqlx's
/// `Any` driver on either backend.
#[derive(Clone, Debug)]
pub struct Store {
    /// Pool for statements that only read.
    pub(crate) read: AnyPool,
    /// Pool for statements that write. On SQLite a single connection (one
    /// writer at a time is all SQLite allows anyway); on PostgreSQL the
    /// same pool as `read`.
    pub(crate) write: AnyPool,
    backend: Backend,
}

impl Store {
    /// Opens (and on SQLite creates, given `?mode=rwc`) the database at
    /// `url` and brings its schema up to date.
    ///
    /// `url` is `sqlite://PATH?mode=rwc`, `sqlite::memory:` or
    /// `postgres://user@host/db`. SQLite files are switched to WAL with
    /// `synchronous=NORMAL`, foreign keys on and a busy timeout; an
    /// in-memory SQLite database lives in one connection, so all calls
    /// share it.
    ///
    /// # Errors
    ///
    /// [`Error::UnsupportedUrl`], [`Error::Database`] if the database
    /// cannot be opened, [`Error::Migration`] if its schema was written by
    /// an incompatible build.
    pub async fn open(url: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)?;
        let options: AnyConnectOptions = url.parse()?;
        let store = match backend {
            Backend::Sqlite => {
                let single = sqlite_is_private(url);
                let write = sqlite_pool_options(1).connect_with(options.clone()).await?;
                // WAL is a property of the file, set once while nothing
                // else has it open through this store.
                sqlx::query("PRAGMA journal_mode = WAL")
                    .execute(&write)
                    .await?;
                let read = if single {
                    write.clone()
                } else {
                    sqlite_pool_options(SQLITE_READERS)
                        .min_connections(0)
                        .connect_with(options)
                        .await?
                };
                Store {
                    read,
                    write,
                    backend,
                }
            }
            Backend::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(POSTGRES_CONNECTIONS)
                    .connect_with(options)
                    .await?;
                Store {
                    read: pool.clone(),
                    write: pool,
                    backend,
                }
            }
        };
        store.migrate().await?;
        tracing::debug!(backend = ?store.backend, "store opened");
        Ok(store)
    }

    /// Opens (creating if missing) the SQLite database file at `path`.
    ///
    /// # Errors
    ///
    /// As [`Store::open`]; [`Error::InvalidInput`] if the path is not
    /// UTF-8 or cannot be made absolute.
    pub async fn open_sqlite(path: &Path) -> Result<Store> {
        Store::open(&sqlite_url(path)?).await
    }

    /// The backend this store talks to.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Waits for in-flight calls to finish and closes every connection
    /// (on SQLite this also checkpoints the WAL). Other clones of this
    /// store fail with [`Error::Database`] afterwards.
    pub async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }

    async fn migrate(&self) -> Result<()> {
        let migrations = self
            .backend
            .migrations()
            .iter()
            .map(|&(version, description, sql)| {
                Migration::new(
                    version,
                    description.into(),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect();
        // On PostgreSQL the migrator takes an advisory lock, so replicas
        // starting together apply each migration once.
        Migrator::with_migrations(migrations)
            .run(&self.write)
            .await?;
        Ok(())
    }
}

/// Pool options for SQLite: per-connection settings applied on connect.
fn sqlite_pool_options(max: u32) -> AnyPoolOptions {
    AnyPoolOptions::new()
        .max_connections(max)
        .min_connections(1)
        // An in-memory database dies with its connection: never recycle.
        .idle_timeout(None)
        .max_lifetime(None)
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                let pragmas = format!(
                    "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = {};",
                    SQLITE_BUSY_TIMEOUT.as_millis()
                );
                sqlx::raw_sql(sqlx::AssertSqlSafe(pragmas))
                    .execute(conn)
                    .await?;
                Ok(())
            })
        })
}

/// Whether every connection to this SQLite URL would get its own database
/// (in-memory or temporary), so that the store must use just one.
fn sqlite_is_private(url: &str) -> bool {
    let rest = url
        .get("sqlite:".len()..)
        .unwrap_or_default()
        .trim_start_matches("//");
    let (database, params) = rest.split_once('?').unwrap_or((rest, ""));
    database.is_empty()
        || database == ":memory:"
        || params
            .split('&')
            .any(|pair| pair.eq_ignore_ascii_case("mode=memory"))
}

/// `sqlite:///ABSOLUTE/PATH?mode=rwc`, percent-encoding everything but
/// unreserved characters and `/`, so that spaces, `?`, `#` and `%` in the
/// path survive URL parsing.
fn sqlite_url(path: &Path) -> Result<String> {
    let absolute = std::path::absolute(path).map_err(|err| Error::InvalidInput {
        what: "database path",
        detail: format!("{}: {err}", path.display()),
    })?;
    let text = absolute.to_str().ok_or_else(|| Error::InvalidInput {
        what: "database path",
        detail: format!("{} is not UTF-8", absolute.display()),
    })?;
    let mut url = String::with_capacity(text.len() + 24);
    url.push_str("sqlite://");
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'/' | b'-' | b'.' | b'_' | b'~') {
            url.push(char::from(byte));
        } else {
            url.push_str(&format!("%{byte:02X}"));
        }
    }
    url.push_str("?mode=rwc");
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_from_url() {
        assert_eq!(Backend::from_url("sqlite://x.db").unwrap(), Backend::Sqlite);
        assert_eq!(
            Backend::from_url("sqlite::memory:").unwrap(),
            Backend::Sqlite
        );
        assert_eq!(
            Backend::from_url("postgres://u@h/db").unwrap(),
            Backend::Postgres
        );
        assert_eq!(
            Backend::from_url("postgresql://u@h/db").unwrap(),
            Backend::Postgres
        );
        assert!(matches!(
            Backend::from_url("mysql://u@h/db"),
            Err(Error::UnsupportedUrl { scheme }) if scheme == "mysql"
        ));
    }

    #[test]
    fn private_sqlite_urls() {
        assert!(sqlite_is_private("sqlite::memory:"));
        assert!(sqlite_is_private("sqlite://:memory:"));
        assert!(sqlite_is_private("sqlite://?mode=memory"));
        assert!(sqlite_is_private("sqlite://"));
        assert!(!sqlite_is_private("sqlite:///tmp/x.db?mode=rwc"));
        assert!(!sqlite_is_private("sqlite://x.db"));
    }

    #[test]
    fn sqlite_url_escapes() {
        let url = sqlite_url(Path::new("/tmp/a b/c?#%.db")).unwrap();
        assert_eq!(url, "sqlite:///tmp/a%20b/c%3F%23%25.db?mode=rwc");
    }

    /// Every file under migrations/<backend> is embedded, in order, and
    /// both backends have the same versions.
    #[test]
    fn migrations_embedded_and_in_step() {
        for (dir, embedded) in [
            ("sqlite", SQLITE_MIGRATIONS),
            ("postgres", POSTGRES_MIGRATIONS),
        ] {
            let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("migrations")
                .join(dir);
            let mut files: Vec<String> = std::fs::read_dir(&path)
                .unwrap()
                .map(|entry| entry.unwrap().file_name().into_string().unwrap())
                .collect();
            files.sort();
            let expected: Vec<String> = embedded
                .iter()
                .map(|(version, description, _)| format!("{version:04}_{description}.sql"))
                .collect();
            assert_eq!(files, expected, "{dir}");
            for (file, (_, _, sql)) in files.iter().zip(embedded) {
                assert_eq!(&std::fs::read_to_string(path.join(file)).unwrap(), sql);
            }
        }
        let versions =
            |m: &[EmbeddedMigration]| m.iter().map(|(v, d, _)| (*v, *d)).collect::<Vec<_>>();
        assert_eq!(versions(SQLITE_MIGRATIONS), versions(POSTGRES_MIGRATIONS));
    }

    /// Every SQLite connection, reader or writer, gets the settings.
    #[tokio::test]
    async fn sqlite_connection_settings() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite(&dir.path().join("s.db")).await.unwrap();
        for pool in [&store.write, &store.read] {
            let pragma = |name: &'static str| async move {
                sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(format!(
                    "SELECT CAST(({name}) AS TEXT)"
                )))
                .fetch_one(pool)
                .await
                .unwrap()
            };
            assert_eq!(pragma("SELECT * FROM pragma_journal_mode").await, "wal");
            // 1 = NORMAL.
            assert_eq!(pragma("SELECT * FROM pragma_synchronous").await, "1");
            assert_eq!(pragma("SELECT * FROM pragma_foreign_keys").await, "1");
            assert_eq!(pragma("SELECT * FROM pragma_busy_timeout").await, "5000");
        }
        store.close().await;
    }
}
