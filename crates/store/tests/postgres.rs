#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

//! Smoke test of the PostgreSQL backend against a real server.
//!
//! By default the test starts its own throwaway server: it finds the newest
//! `/usr/lib/postgresql/*/bin/{initdb,pg_ctl}` (Debian's `postgresql`
//! package; `scripts/test.sh` installs it), initialises a cluster in a temp
//! dir (as the `postgres` user when running as root, since `initdb` and
//! `pg_ctl` refuse root), starts it on a free loopback port with its socket
//! in the same dir, and always stops it and removes the dir afterwards, even
//! when an assertion fails. Missing binaries fail the test; it never passes
//! without having run.
//!
//! Set `SYMBOLON_TEST_POSTGRES_URL` to a server URL whose user may create
//! databases (e.g. `postgres://test@127.0.0.1:54329/postgres`) to use that
//! server instead. Either way the test creates and drops a private database.

use std::net::TcpListener;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sqlx::Connection as _;
use sqlx::postgres::PgConnection;
use symbolon_store::{
    Backend, CustodianKind, Error, KeyKind, NewCustodian, NewKey, NewKeyVersion, NewPlacement,
    NewRequest, RequestOutcome, Store,
};

/// How often to retry starting the server when the free port picked was
/// taken by someone else in between.
const START_ATTEMPTS: u32 = 3;

/// The newest installed PostgreSQL's `initdb` and `pg_ctl`.
fn postgres_binaries() -> (PathBuf, PathBuf) {
    let newest = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<f64>().ok()?;
            let bin = entry.path().join("bin");
            (bin.join("initdb").is_file() && bin.join("pg_ctl").is_file()).then_some((version, bin))
        })
        .max_by(|a, b| a.0.total_cmp(&b.0));
    let Some((_, bin)) = newest else {
        panic!(
            "no PostgreSQL server binaries in /usr/lib/postgresql/*/bin (initdb, pg_ctl): \
             install the `postgresql` package (scripts/test.sh does: \
             apt-get install --no-install-recommends postgresql), \
             or set SYMBOLON_TEST_POSTGRES_URL to an existing server"
        );
    };
    (bin.join("initdb"), bin.join("pg_ctl"))
}

/// `s` as one single-quoted POSIX shell word.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// A throwaway PostgreSQL server; dropping it stops the server and removes
/// its directory.
struct TempPostgres {
    pg_ctl: PathBuf,
    data: PathBuf,
    as_postgres: bool,
    url: String,
    // Dropped after `drop` has stopped the server.
    dir: tempfile::TempDir,
}

impl TempPostgres {
    fn start() -> Self {
        let (initdb, pg_ctl) = postgres_binaries();
        let dir = tempfile::Builder::new()
            .prefix("symbolon-pg-")
            .tempdir()
            .expect("create temp dir for PostgreSQL");
        // A fresh dir is owned by our effective user: root there means
        // initdb and pg_ctl must run as `postgres`, who must own the dir.
        let as_postgres = std::fs::metadata(dir.path()).unwrap().uid() == 0;
        if as_postgres {
            let chown = Command::new("chown")
                .arg("postgres:")
                .arg(dir.path())
                .output()
                .expect("run chown");
            assert!(
                chown.status.success(),
                "chown postgres: {} failed (the `postgres` user comes with the \
                 `postgresql` package): {}",
                dir.path().display(),
                String::from_utf8_lossy(&chown.stderr)
            );
        }
        let data = dir.path().join("data");
        let server = Self {
            pg_ctl,
            data,
            as_postgres,
            url: String::new(),
            dir,
        };
        server.run(
            &initdb,
            &["-D", path_str(&server.data), "-A", "trust", "-U", "test"],
        );
        server.start_on_free_port()
    }

    fn start_on_free_port(mut self) -> Self {
        let log = self.dir.path().join("server.log");
        let mut last = String::new();
        for _ in 0..START_ATTEMPTS {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|listener| listener.local_addr())
                .expect("pick a free port")
                .port();
            let options = format!(
                "-p {port} -k {} -c listen_addresses=127.0.0.1",
                path_str(self.dir.path())
            );
            let out = self.try_run(
                &self.pg_ctl,
                &[
                    "-D",
                    path_str(&self.data),
                    "-l",
                    path_str(&log),
                    "-o",
                    &options,
                    "-w",
                    "start",
                ],
            );
            if out.status.success() {
                self.url = format!("postgres://test@127.0.0.1:{port}/postgres");
                return self;
            }
            last = format!(
                "{}{}\nserver log:\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        panic!("pg_ctl start failed {START_ATTEMPTS} times; last attempt:\n{last}");
    }

    /// Runs `program args` (as `postgres` when we are root), waiting for it.
    fn try_run(&self, program: &Path, args: &[&str]) -> Output {
        let mut command = if self.as_postgres {
            let line = std::iter::once(path_str(program))
                .chain(args.iter().copied())
                .map(shell_quote)
                .collect::<Vec<_>>()
                .join(" ");
            let mut su = Command::new("su");
            su.args(["postgres", "-s", "/bin/sh", "-c", &line]);
            su
        } else {
            let mut direct = Command::new(program);
            direct.args(args);
            direct
        };
        // Somewhere `postgres` may enter, not the (root's) test directory.
        command
            .current_dir(self.dir.path())
            .output()
            .unwrap_or_else(|e| panic!("run {}: {e}", program.display()))
    }

    fn run(&self, program: &Path, args: &[&str]) {
        let out = self.try_run(program, args);
        assert!(
            out.status.success(),
            "{} {args:?} failed: {}{}",
            program.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for TempPostgres {
    fn drop(&mut self) {
        // Stop even if never started (pg_ctl then just reports no server);
        // `dir` is removed after this returns.
        let out = self.try_run(
            &self.pg_ctl,
            &["-D", path_str(&self.data), "-m", "immediate", "stop"],
        );
        if !self.url.is_empty() && !out.status.success() {
            eprintln!(
                "pg_ctl stop failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("temp paths are UTF-8")
}

fn custodian(n: u8) -> NewCustodian {
    NewCustodian {
        id: format!("c{n}"),
        endpoint: format!("https://127.0.0.1:{}", 7000 + u16::from(n)),
        region: "eu".to_owned(),
        country: "DE".to_owned(),
        provider: format!("p{n}"),
        kind: CustodianKind::Tee,
        recipient: format!("symbolon1r{n}"),
        attestation_key: [n; 32],
        registered_at: 1,
    }
}

fn key(id: &str, name: &str) -> NewKey {
    NewKey {
        id: id.to_owned(),
        name: name.to_owned(),
        kind: KeyKind::Secret,
        threshold: 2,
        shares: 2,
        distinct_label: None,
        created_at: 2,
        created_by: "alice".to_owned(),
    }
}

fn placements(custodians: [u8; 2]) -> Vec<NewPlacement> {
    custodians
        .iter()
        .zip(1..)
        .map(|(n, index)| NewPlacement {
            share_index: index,
            custodian_id: format!("c{n}"),
            metadata: vec![*n; 8],
            envelope_digest: [*n; 32],
            acknowledged_at: 3,
        })
        .collect()
}

#[tokio::test]
async fn postgres_smoke() {
    // Declared first so that it is dropped (server stopped) last.
    let mut server = None;
    let admin_url = match std::env::var("SYMBOLON_TEST_POSTGRES_URL") {
        Ok(url) => url,
        Err(_) => server.insert(TempPostgres::start()).url.clone(),
    };
    let db = format!("symbolon_store_{}", std::process::id());
    let mut admin = PgConnection::connect(&admin_url).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}")))
        .execute(&mut admin)
        .await
        .unwrap();
    let (base, _) = admin_url.rsplit_once('/').unwrap();
    let url = format!("{base}/{db}");

    let store = Store::open(&url).await.unwrap();
    assert_eq!(store.backend(), Backend::Postgres);
    // Migrating again is a no-op.
    let again = Store::open(&url).await.unwrap();
    again.close().await;

    for n in 1..=2 {
        store.upsert_custodian(&custodian(n)).await.unwrap();
    }
    let mut moved = custodian(1);
    moved.endpoint = "https://elsewhere:1".to_owned();
    assert_eq!(
        store.upsert_custodian(&moved).await.unwrap().endpoint,
        "https://elsewhere:1"
    );
    let mut rekeyed = custodian(1);
    rekeyed.attestation_key = [9; 32];
    assert!(matches!(
        store.upsert_custodian(&rekeyed).await,
        Err(Error::Conflict {
            what: "custodian keys",
            ..
        })
    ));
    store.record_heartbeat("c1", 1, 10, "[]").await.unwrap();
    assert!(matches!(
        store.record_heartbeat("c1", 1, 11, "[]").await,
        Err(Error::StaleSequence { last_seq: 1, .. })
    ));
    assert_eq!(store.custodians().await.unwrap().len(), 2);

    let version = NewKeyVersion {
        split_id: [7; 16],
        created_at: 2,
        public_key: Some(vec![3; 48]),
    };
    store
        .create_key(&key("k1", "volume"), &version, &placements([1, 2]))
        .await
        .unwrap();
    assert!(matches!(
        store
            .create_key(&key("k2", "volume"), &version, &placements([1, 2]))
            .await,
        Err(Error::Conflict {
            what: "key name",
            ..
        })
    ));
    assert!(matches!(
        store
            .create_key(&key("k3", "other"), &version, &placements([1, 3]))
            .await,
        Err(Error::NotFound { what: "custodian", id }) if id == "c3"
    ));
    assert!(matches!(store.key("k3").await, Err(Error::NotFound { .. })));
    assert_eq!(store.keys().await.unwrap().len(), 1);
    let stored = store.key_version("k1", 1).await.unwrap();
    assert_eq!(stored.split_id, [7; 16]);
    assert_eq!(stored.public_key, Some(vec![3; 48]));
    // Inside a shared transaction a failed key (a taken name) is undone
    // alone, and the transaction goes on to commit the rest.
    let mut tx = store.begin().await.unwrap();
    assert!(matches!(
        tx.create_key(&key("k4", "volume"), &version, &placements([1, 2]))
            .await,
        Err(Error::Conflict {
            what: "key name",
            ..
        })
    ));
    let faulted = tx
        .record_custodian_fault("c1", "bad signature share", 9)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(matches!(store.key("k4").await, Err(Error::NotFound { .. })));
    assert_eq!(
        (faulted.faults, faulted.last_fault.as_deref()),
        (1, Some("bad signature share"))
    );
    let stored = store.placements("k1", 1).await.unwrap();
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[1].envelope_digest, [2; 32]);

    store.touch_principal("alice", "admin", 5).await.unwrap();
    store.touch_principal("alice", "admin", 4).await.unwrap();
    assert_eq!(store.principal("alice").await.unwrap().last_seen, 5);

    store
        .insert_request(&NewRequest {
            id: "r1".to_owned(),
            key_id: "k1".to_owned(),
            version: 1,
            op: "decrypt".to_owned(),
            requester: "alice".to_owned(),
            created_at: 6,
        })
        .await
        .unwrap();
    store
        .complete_request("r1", 7, RequestOutcome::Ok, &["c1".to_owned()], None)
        .await
        .unwrap();
    assert!(matches!(
        store
            .complete_request("r1", 8, RequestOutcome::Failed, &[], None)
            .await,
        Err(Error::Conflict { .. })
    ));
    let r1 = store.request("r1").await.unwrap();
    assert_eq!(r1.outcome, Some(RequestOutcome::Ok));
    assert_eq!(r1.custodians, Some(vec!["c1".to_owned()]));
    assert_eq!(store.count_requests().await.unwrap(), 1);

    store.close().await;
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE {db}")))
        .execute(&mut admin)
        .await
        .unwrap();
}
