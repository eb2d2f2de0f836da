#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

//! The store against real SQLite files in temporary directories.

use std::path::{Path, PathBuf};

use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};
use symbolon_store::{
    Backend, CustodianKind, DistinctLabel, Error, KeyKind, NewCustodian, NewKey, NewKeyVersion,
    NewPlacement, NewRequest, RequestOutcome, Savepoint, Store,
};
use tempfile::TempDir;

struct Fixture {
    _dir: TempDir,
    path: PathBuf,
    store: Store,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("coordinator.db");
    let store = Store::open_sqlite(&path).await.unwrap();
    Fixture {
        _dir: dir,
        path,
        store,
    }
}

/// A second, raw connection to the same file, for checks and tampering
/// behind the store's back.
async fn raw(path: &Path) -> SqlitePool {
    SqlitePool::connect_with(SqliteConnectOptions::new().filename(path))
        .await
        .unwrap()
}

async fn count(pool: &SqlitePool, table: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
        .fetch_one(pool)
        .await
        .unwrap()
}

fn new_custodian(n: u8) -> NewCustodian {
    NewCustodian {
        id: format!("c{n}"),
        endpoint: format!("https://127.0.0.1:{}", 7000 + u16::from(n)),
        region: format!("region-{}", n % 3),
        country: ["DE", "FR", "CH", "NL", "SE"][usize::from(n) % 5].to_owned(),
        provider: format!("provider-{n}"),
        kind: CustodianKind::ALL[usize::from(n) % CustodianKind::ALL.len()],
        recipient: format!("symbolon1recipient{n}"),
        attestation_key: [n; 32],
        registered_at: 1_000 + i64::from(n),
    }
}

async fn register(store: &Store, n: u8) {
    store.upsert_custodian(&new_custodian(n)).await.unwrap();
}

fn new_key(id: &str, name: &str) -> NewKey {
    NewKey {
        id: id.to_owned(),
        name: name.to_owned(),
        kind: KeyKind::Secret,
        threshold: 2,
        shares: 3,
        distinct_label: Some(DistinctLabel::Country),
        created_at: 5_000,
        created_by: "alice".to_owned(),
    }
}

fn new_version(tag: u8) -> NewKeyVersion {
    NewKeyVersion {
        split_id: [tag; 16],
        created_at: 5_001,
        public_key: Some(vec![tag; 40]),
    }
}

/// Placements of shares 1..=3 on custodians c1..c3, listed in reverse.
fn new_placements() -> Vec<NewPlacement> {
    (1..=3u8)
        .rev()
        .map(|n| NewPlacement {
            share_index: i64::from(n),
            custodian_id: format!("c{n}"),
            metadata: vec![n; 40],
            envelope_digest: [0x40 + n; 32],
            acknowledged_at: 5_002,
        })
        .collect()
}

fn new_request(id: &str) -> NewRequest {
    NewRequest {
        id: id.to_owned(),
        key_id: "k1".to_owned(),
        version: 1,
        op: "decrypt".to_owned(),
        requester: "bob".to_owned(),
        created_at: 9_000,
    }
}

#[tokio::test]
async fn open_sets_wal_and_refuses_unknown_schemes() {
    let f = fixture().await;
    assert_eq!(f.store.backend(), Backend::Sqlite);
    let pool = raw(&f.path).await;
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    assert!(matches!(
        Store::open("mysql://root@localhost/db").await,
        Err(Error::UnsupportedUrl { scheme }) if scheme == "mysql"
    ));
}

#[tokio::test]
async fn open_sqlite_creates_the_file_at_an_awkward_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("with space?and#hash%.db");
    let store = Store::open_sqlite(&path).await.unwrap();
    register(&store, 1).await;
    store.close().await;
    assert!(path.is_file(), "{} not created", path.display());
    let store = Store::open_sqlite(&path).await.unwrap();
    assert_eq!(store.custodians().await.unwrap().len(), 1);
    store.close().await;
}

#[tokio::test]
async fn in_memory_store_shares_one_database() {
    let store = Store::open("sqlite::memory:").await.unwrap();
    register(&store, 1).await;
    // Reads and writes must see the same database.
    assert_eq!(store.custodian("c1").await.unwrap().id, "c1");
    store.close().await;
}

#[tokio::test]
async fn custodians_register_and_list() {
    let f = fixture().await;
    for n in [3, 1, 2] {
        let row = f.store.upsert_custodian(&new_custodian(n)).await.unwrap();
        assert_eq!(row.id, format!("c{n}"));
        assert_eq!(row.reported_shares, "[]");
        assert_eq!(row.last_seq, None);
        assert_eq!(row.last_heartbeat_at, None);
    }
    let c2 = f.store.custodian("c2").await.unwrap();
    let want = new_custodian(2);
    assert_eq!(c2.endpoint, want.endpoint);
    assert_eq!(c2.region, want.region);
    assert_eq!(c2.country, want.country);
    assert_eq!(c2.provider, want.provider);
    assert_eq!(c2.kind, want.kind);
    assert_eq!(c2.recipient, want.recipient);
    assert_eq!(c2.attestation_key, want.attestation_key);
    assert_eq!(c2.registered_at, want.registered_at);

    let ids: Vec<String> = f
        .store
        .custodians()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids, ["c1", "c2", "c3"]);

    assert!(matches!(
        f.store.custodian("nobody").await,
        Err(Error::NotFound { what: "custodian", id }) if id == "nobody"
    ));
}

#[tokio::test]
async fn reregistration_with_same_keys_updates_endpoint_and_labels() {
    let f = fixture().await;
    register(&f.store, 1).await;
    f.store
        .record_heartbeat("c1", 7, 2_000, "[1]")
        .await
        .unwrap();

    let mut again = new_custodian(1);
    again.endpoint = "https://10.0.0.9:7443".to_owned();
    again.region = "us-east".to_owned();
    again.country = "US".to_owned();
    again.provider = "other".to_owned();
    again.kind = CustodianKind::Hsm;
    again.registered_at = 99_999;
    let row = f.store.upsert_custodian(&again).await.unwrap();

    assert_eq!(row.endpoint, "https://10.0.0.9:7443");
    assert_eq!(row.region, "us-east");
    assert_eq!(row.country, "US");
    assert_eq!(row.provider, "other");
    assert_eq!(row.kind, CustodianKind::Hsm);
    // First registration time and heartbeat state survive.
    assert_eq!(row.registered_at, new_custodian(1).registered_at);
    assert_eq!(row.last_seq, Some(7));
    assert_eq!(row.last_heartbeat_at, Some(2_000));
    assert_eq!(row.reported_shares, "[1]");
    assert_eq!(f.store.custodian("c1").await.unwrap(), row);
}

#[tokio::test]
async fn reregistration_with_other_keys_is_refused() {
    let f = fixture().await;
    register(&f.store, 1).await;
    let before = f.store.custodian("c1").await.unwrap();

    let mut other_attestation = new_custodian(1);
    other_attestation.attestation_key = [0xEE; 32];
    other_attestation.endpoint = "https://evil:1".to_owned();
    let mut other_recipient = new_custodian(1);
    other_recipient.recipient = "symbolon1someoneelse".to_owned();
    other_recipient.endpoint = "https://evil:2".to_owned();

    for attempt in [other_attestation, other_recipient] {
        assert!(matches!(
            f.store.upsert_custodian(&attempt).await,
            Err(Error::Conflict { what: "custodian keys", id }) if id == "c1"
        ));
        assert_eq!(f.store.custodian("c1").await.unwrap(), before);
    }
}

#[tokio::test]
async fn heartbeats_must_increase() {
    let f = fixture().await;
    register(&f.store, 1).await;

    let row = f
        .store
        .record_heartbeat("c1", 0, 2_000, "[]")
        .await
        .unwrap();
    assert_eq!(row.last_seq, Some(0));
    let row = f
        .store
        .record_heartbeat("c1", 5, 3_000, r#"[{"k":1}]"#)
        .await
        .unwrap();
    assert_eq!(row.last_seq, Some(5));
    assert_eq!(row.last_heartbeat_at, Some(3_000));
    assert_eq!(row.reported_shares, r#"[{"k":1}]"#);

    for stale in [5, 4, -1] {
        let err = f
            .store
            .record_heartbeat("c1", stale, 4_000, "[9]")
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::StaleSequence { custodian, seq, last_seq: 5 } if custodian == "c1" && *seq == stale),
            "{err:?}"
        );
    }
    let row = f.store.custodian("c1").await.unwrap();
    assert_eq!(row.last_seq, Some(5));
    assert_eq!(row.last_heartbeat_at, Some(3_000));
    assert_eq!(row.reported_shares, r#"[{"k":1}]"#);

    assert!(matches!(
        f.store.record_heartbeat("c9", 1, 1, "[]").await,
        Err(Error::NotFound {
            what: "custodian",
            ..
        })
    ));
}

#[tokio::test]
async fn custodian_faults_are_counted_with_the_last_one_kept() {
    let f = fixture().await;
    register(&f.store, 1).await;
    let row = f.store.custodian("c1").await.unwrap();
    assert_eq!(
        (row.faults, row.last_fault, row.last_fault_at),
        (0, None, None)
    );
    for (n, reason) in [(1, "bad signature share"), (2, "bad decryption share")] {
        let mut tx = f.store.begin().await.unwrap();
        let row = tx
            .record_custodian_fault("c1", reason, 7_000 + n)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(row.faults, n);
        assert_eq!(row.last_fault.as_deref(), Some(reason));
    }
    let row = f.store.custodian("c1").await.unwrap();
    assert_eq!(row.faults, 2);
    assert_eq!(row.last_fault.as_deref(), Some("bad decryption share"));
    assert_eq!(row.last_fault_at, Some(7_002));
    let mut tx = f.store.begin().await.unwrap();
    assert!(matches!(
        tx.record_custodian_fault("c9", "x", 1).await,
        Err(Error::NotFound {
            what: "custodian",
            ..
        })
    ));
}

#[tokio::test]
async fn racing_heartbeats_with_one_sequence_number_record_once() {
    let f = fixture().await;
    register(&f.store, 1).await;
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = f.store.clone();
            tokio::spawn(async move { store.record_heartbeat("c1", 1, 2_000, "[]").await })
        })
        .collect();
    let mut accepted = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => accepted += 1,
            Err(Error::StaleSequence { last_seq: 1, .. }) => {}
            Err(other) => panic!("{other:?}"),
        }
    }
    assert_eq!(accepted, 1);
}

#[tokio::test]
async fn create_key_and_read_it_back() {
    let f = fixture().await;
    for n in 1..=3 {
        register(&f.store, n).await;
    }
    let created = f
        .store
        .create_key(&new_key("k1", "volume"), &new_version(7), &new_placements())
        .await
        .unwrap();
    assert_eq!(created.current_version, 1);

    let mut other = new_key("k0", "alpha");
    other.kind = KeyKind::Ed25519;
    other.distinct_label = None;
    f.store
        .create_key(&other, &new_version(8), &new_placements()[..2])
        .await
        .unwrap();

    let by_name = f.store.key_by_name("volume").await.unwrap();
    assert_eq!(by_name, created);
    assert_eq!(by_name.kind, KeyKind::Secret);
    assert_eq!(by_name.threshold, 2);
    assert_eq!(by_name.shares, 3);
    assert_eq!(by_name.distinct_label, Some(DistinctLabel::Country));
    assert_eq!(by_name.created_at, 5_000);
    assert_eq!(by_name.created_by, "alice");
    assert_eq!(f.store.key("k1").await.unwrap(), created);

    let names: Vec<String> = f
        .store
        .keys()
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.name)
        .collect();
    assert_eq!(names, ["alpha", "volume"]);
    assert_eq!(
        f.store.key_by_name("alpha").await.unwrap().distinct_label,
        None
    );

    let version = f.store.key_version("k1", 1).await.unwrap();
    assert_eq!(version.key_id, "k1");
    assert_eq!(version.version, 1);
    assert_eq!(version.split_id, [7; 16]);
    assert_eq!(version.created_at, 5_001);
    assert_eq!(version.public_key, Some(vec![7; 40]));

    let placements = f.store.placements("k1", 1).await.unwrap();
    let indices: Vec<i64> = placements.iter().map(|p| p.share_index).collect();
    assert_eq!(indices, [1, 2, 3]);
    for p in &placements {
        let n = u8::try_from(p.share_index).unwrap();
        assert_eq!(p.key_id, "k1");
        assert_eq!(p.version, 1);
        assert_eq!(p.custodian_id, format!("c{n}"));
        assert_eq!(p.metadata, vec![n; 40]);
        assert_eq!(p.envelope_digest, [0x40 + n; 32]);
        assert_eq!(p.acknowledged_at, 5_002);
    }
    assert_eq!(f.store.placements("k0", 1).await.unwrap().len(), 2);
    assert!(f.store.placements("k1", 2).await.unwrap().is_empty());

    assert!(matches!(
        f.store.key_by_name("nope").await,
        Err(Error::NotFound { what: "key", .. })
    ));
    assert!(matches!(
        f.store.key_version("k1", 2).await,
        Err(Error::NotFound { what: "key version", id }) if id == "k1/2"
    ));
}

#[tokio::test]
async fn taken_key_name_leaves_nothing_behind() {
    let f = fixture().await;
    for n in 1..=3 {
        register(&f.store, n).await;
    }
    f.store
        .create_key(&new_key("k1", "volume"), &new_version(1), &new_placements())
        .await
        .unwrap();
    let err = f
        .store
        .create_key(&new_key("k2", "volume"), &new_version(2), &new_placements())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Conflict { what: "key name", id } if id == "volume"),
        "{err:?}"
    );

    let pool = raw(&f.path).await;
    assert_eq!(count(&pool, "keys").await, 1);
    assert_eq!(count(&pool, "key_versions").await, 1);
    assert_eq!(count(&pool, "placements").await, 3);
    assert!(matches!(
        f.store.key("k2").await,
        Err(Error::NotFound { .. })
    ));
    assert!(f.store.placements("k2", 1).await.unwrap().is_empty());
    // The first key is untouched.
    assert_eq!(f.store.key_by_name("volume").await.unwrap().id, "k1");
    assert_eq!(
        f.store.key_version("k1", 1).await.unwrap().split_id,
        [1; 16]
    );

    // A taken id is a conflict too.
    let err = f
        .store
        .create_key(&new_key("k1", "other"), &new_version(3), &new_placements())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Conflict { what: "key id", id } if id == "k1"),
        "{err:?}"
    );
    assert_eq!(count(&pool, "keys").await, 1);
    assert_eq!(count(&pool, "key_versions").await, 1);
}

#[tokio::test]
async fn failed_placement_rolls_back_the_whole_key() {
    let f = fixture().await;
    register(&f.store, 1).await;
    register(&f.store, 2).await;
    // c3 is not registered: the third placement insert fails after the
    // key, its version and two placements were written.
    let err = f
        .store
        .create_key(&new_key("k1", "volume"), &new_version(1), &new_placements())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::NotFound { what: "custodian", id } if id == "c3"),
        "{err:?}"
    );
    let pool = raw(&f.path).await;
    for table in ["keys", "key_versions", "placements"] {
        assert_eq!(count(&pool, table).await, 0, "{table}");
    }
    // Once c3 exists, the same key goes in.
    register(&f.store, 3).await;
    f.store
        .create_key(&new_key("k1", "volume"), &new_version(1), &new_placements())
        .await
        .unwrap();
    assert_eq!(f.store.placements("k1", 1).await.unwrap().len(), 3);
}

#[tokio::test]
async fn a_failed_key_inside_a_shared_transaction_leaves_nothing_and_the_rest_commits() {
    let f = fixture().await;
    for n in 1..=2 {
        register(&f.store, n).await;
    }
    let mut tx = f.store.begin().await.unwrap();
    tx.insert_request(&new_request("kept")).await.unwrap();
    // c3 is not registered: the key row, its version and the first two
    // placements were inserted before the failing one.
    let err = tx
        .create_key(&new_key("k1", "alpha"), &new_version(7), &new_placements())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::NotFound { what: "custodian", id } if id == "c3"),
        "{err:?}"
    );
    tx.commit().await.unwrap();
    assert!(matches!(
        f.store.key("k1").await,
        Err(Error::NotFound { what: "key", .. })
    ));
    assert!(f.store.placements("k1", 1).await.unwrap().is_empty());
    assert_eq!(f.store.request("kept").await.unwrap().id, "kept");
}

#[tokio::test]
async fn a_name_taken_earlier_in_the_same_transaction_is_a_conflict() {
    // In memory: one connection serves reads and writes, so a lookup
    // outside the transaction would wait for it forever.
    let store = Store::open("sqlite::memory:").await.unwrap();
    for n in 1..=3 {
        register(&store, n).await;
    }
    let mut tx = store.begin().await.unwrap();
    tx.create_key(&new_key("k1", "alpha"), &new_version(1), &new_placements())
        .await
        .unwrap();
    let err = tx
        .create_key(&new_key("k2", "alpha"), &new_version(2), &new_placements())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Conflict { what: "key name", id } if id == "alpha"),
        "{err:?}"
    );
    tx.commit().await.unwrap();
    assert_eq!(store.key_by_name("alpha").await.unwrap().id, "k1");
}

#[tokio::test]
async fn impossible_keys_are_refused_before_the_database() {
    let f = fixture().await;
    for n in 1..=3 {
        register(&f.store, n).await;
    }
    let placements = new_placements();

    let mut too_high = new_key("k1", "a");
    too_high.threshold = 4;
    let mut zero = new_key("k1", "a");
    zero.threshold = 0;
    for key in [too_high, zero] {
        assert!(matches!(
            f.store.create_key(&key, &new_version(1), &placements).await,
            Err(Error::InvalidInput {
                what: "threshold",
                ..
            })
        ));
    }

    let key = new_key("k1", "a");
    let mut out_of_range = placements.clone();
    out_of_range[0].share_index = 4;
    let mut repeated_index = placements.clone();
    repeated_index[0].share_index = 2;
    let mut repeated_custodian = placements.clone();
    repeated_custodian[0].custodian_id = "c1".to_owned();
    let too_few = placements[..1].to_vec();
    let mut too_many = placements.clone();
    too_many.push(placements[0].clone());
    for bad in [
        out_of_range,
        repeated_index,
        repeated_custodian,
        too_few,
        too_many,
    ] {
        let err = f
            .store
            .create_key(&key, &new_version(1), &bad)
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidInput {
                    what: "placements",
                    ..
                }
            ),
            "{err:?}"
        );
    }
    assert!(f.store.keys().await.unwrap().is_empty());
}

#[tokio::test]
async fn principals_are_touched() {
    let f = fixture().await;
    f.store.touch_principal("bob", "client", 100).await.unwrap();
    f.store.touch_principal("alice", "admin", 50).await.unwrap();
    f.store.touch_principal("bob", "client", 300).await.unwrap();
    // Late, out-of-order call: last_seen does not go back; role follows.
    f.store
        .touch_principal("bob", "auditor", 200)
        .await
        .unwrap();

    let bob = f.store.principal("bob").await.unwrap();
    assert_eq!(bob.first_seen, 100);
    assert_eq!(bob.last_seen, 300);
    assert_eq!(bob.role, "auditor");
    let names: Vec<String> = f
        .store
        .principals()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(names, ["alice", "bob"]);
    assert!(matches!(
        f.store.principal("carol").await,
        Err(Error::NotFound {
            what: "principal",
            ..
        })
    ));
}

#[tokio::test]
async fn requests_complete_once() {
    let f = fixture().await;
    assert_eq!(f.store.count_requests().await.unwrap(), 0);
    f.store.insert_request(&new_request("r1")).await.unwrap();
    f.store.insert_request(&new_request("r2")).await.unwrap();
    assert!(matches!(
        f.store.insert_request(&new_request("r1")).await,
        Err(Error::Conflict { what: "request", id }) if id == "r1"
    ));
    assert_eq!(f.store.count_requests().await.unwrap(), 2);

    let open = f.store.request("r1").await.unwrap();
    assert_eq!(open.key_id, "k1");
    assert_eq!(open.version, 1);
    assert_eq!(open.op, "decrypt");
    assert_eq!(open.requester, "bob");
    assert_eq!(open.created_at, 9_000);
    assert_eq!(open.completed_at, None);
    assert_eq!(open.outcome, None);
    assert_eq!(open.custodians, None);
    assert_eq!(open.detail, None);

    let took_part = vec!["c1".to_owned(), "c3".to_owned()];
    f.store
        .complete_request("r1", 9_010, RequestOutcome::Ok, &took_part, None)
        .await
        .unwrap();
    f.store
        .complete_request("r2", 9_020, RequestOutcome::Refused, &[], Some("policy"))
        .await
        .unwrap();

    let done = f.store.request("r1").await.unwrap();
    assert_eq!(done.completed_at, Some(9_010));
    assert_eq!(done.outcome, Some(RequestOutcome::Ok));
    assert_eq!(done.custodians, Some(took_part.clone()));
    assert_eq!(done.detail, None);
    let refused = f.store.request("r2").await.unwrap();
    assert_eq!(refused.outcome, Some(RequestOutcome::Refused));
    assert_eq!(refused.custodians, Some(vec![]));
    assert_eq!(refused.detail.as_deref(), Some("policy"));

    // The first completion stands.
    assert!(matches!(
        f.store
            .complete_request("r1", 9_999, RequestOutcome::Failed, &[], Some("late"))
            .await,
        Err(Error::Conflict { what: "request completion", id }) if id == "r1"
    ));
    assert_eq!(f.store.request("r1").await.unwrap(), done);
    assert!(matches!(
        f.store
            .complete_request("r9", 1, RequestOutcome::Ok, &[], None)
            .await,
        Err(Error::NotFound {
            what: "request",
            ..
        })
    ));
    assert!(matches!(
        f.store.request("r9").await,
        Err(Error::NotFound {
            what: "request",
            ..
        })
    ));
}

#[tokio::test]
async fn restart_loses_nothing() {
    let f = fixture().await;
    for n in 1..=3 {
        register(&f.store, n).await;
    }
    f.store
        .record_heartbeat("c2", 4, 2_000, "[2]")
        .await
        .unwrap();
    f.store
        .create_key(&new_key("k1", "volume"), &new_version(1), &new_placements())
        .await
        .unwrap();
    f.store.touch_principal("alice", "admin", 10).await.unwrap();
    f.store.insert_request(&new_request("r1")).await.unwrap();
    f.store
        .complete_request(
            "r1",
            9_001,
            RequestOutcome::Failed,
            &["c1".to_owned()],
            Some("timeout"),
        )
        .await
        .unwrap();
    f.store.insert_request(&new_request("r2")).await.unwrap();

    let custodians = f.store.custodians().await.unwrap();
    let keys = f.store.keys().await.unwrap();
    let version = f.store.key_version("k1", 1).await.unwrap();
    let placements = f.store.placements("k1", 1).await.unwrap();
    let principals = f.store.principals().await.unwrap();
    let r1 = f.store.request("r1").await.unwrap();
    let r2 = f.store.request("r2").await.unwrap();
    f.store.close().await;

    let store = Store::open_sqlite(&f.path).await.unwrap();
    assert_eq!(store.custodians().await.unwrap(), custodians);
    assert_eq!(store.keys().await.unwrap(), keys);
    assert_eq!(store.key_version("k1", 1).await.unwrap(), version);
    assert_eq!(store.placements("k1", 1).await.unwrap(), placements);
    assert_eq!(store.principals().await.unwrap(), principals);
    assert_eq!(store.request("r1").await.unwrap(), r1);
    assert_eq!(store.request("r2").await.unwrap(), r2);
    assert_eq!(store.count_requests().await.unwrap(), 2);
    // State constraints survive too.
    assert!(matches!(
        store.record_heartbeat("c2", 4, 3_000, "[]").await,
        Err(Error::StaleSequence { last_seq: 4, .. })
    ));
    // And the reopened store keeps working.
    store
        .complete_request("r2", 9_002, RequestOutcome::Ok, &[], None)
        .await
        .unwrap();
    store.close().await;
}

#[tokio::test]
async fn corrupt_rows_are_errors_not_panics() {
    let f = fixture().await;
    for n in 1..=3 {
        register(&f.store, n).await;
    }
    f.store
        .create_key(&new_key("k1", "volume"), &new_version(1), &new_placements())
        .await
        .unwrap();
    f.store.insert_request(&new_request("r1")).await.unwrap();
    f.store.insert_request(&new_request("r2")).await.unwrap();

    let pool = raw(&f.path).await;
    for tamper in [
        "UPDATE custodians SET kind = 'spaceship' WHERE id = 'c2'",
        "UPDATE keys SET kind = 'rsa'",
        "UPDATE keys SET distinct_label = 'planet'",
        "UPDATE requests SET completed_at = 1, outcome = 'maybe' WHERE id = 'r1'",
        "UPDATE requests SET completed_at = 1, outcome = 'ok', custodians = 'not json' WHERE id = 'r2'",
    ] {
        sqlx::query(tamper).execute(&pool).await.unwrap();
    }
    // Blob lengths are guarded by CHECK constraints; bypass them to
    // simulate a file written by something else.
    let mut conn = pool.acquire().await.unwrap();
    sqlx::query("PRAGMA ignore_check_constraints = ON")
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::query("UPDATE placements SET envelope_digest = x'0102' WHERE share_index = 2")
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);

    let corrupt = |result: Result<_, Error>, column: &str| match result {
        Err(Error::Corrupt { what, detail }) => {
            assert_eq!(what, column);
            assert!(!detail.is_empty());
        }
        Err(other) => panic!("{column}: expected Corrupt, got {other:?}"),
        Ok(_) => panic!("{column}: expected Corrupt, got a row"),
    };
    corrupt(f.store.custodian("c2").await.map(drop), "custodians.kind");
    corrupt(f.store.custodians().await.map(drop), "custodians.kind");
    assert_eq!(f.store.custodian("c1").await.unwrap().id, "c1");
    corrupt(f.store.key("k1").await.map(drop), "keys.kind");
    corrupt(f.store.keys().await.map(drop), "keys.kind");
    sqlx::query("UPDATE keys SET kind = 'secret'")
        .execute(&pool)
        .await
        .unwrap();
    corrupt(
        f.store.key_by_name("volume").await.map(drop),
        "keys.distinct_label",
    );
    corrupt(f.store.request("r1").await.map(drop), "requests.outcome");
    corrupt(f.store.request("r2").await.map(drop), "requests.custodians");
    corrupt(
        f.store.placements("k1", 1).await.map(drop),
        "placements.envelope_digest",
    );
    // The store keeps working.
    assert_eq!(f.store.count_requests().await.unwrap(), 2);
}

#[tokio::test]
async fn concurrent_inserts_all_land() {
    let f = fixture().await;
    let tasks: Vec<_> = (0..8)
        .map(|task| {
            let store = f.store.clone();
            tokio::spawn(async move {
                for i in 0..50 {
                    let id = format!("t{task}-{i}");
                    store.insert_request(&new_request(&id)).await.unwrap();
                    store
                        .complete_request(&id, 10_000, RequestOutcome::Ok, &["c1".to_owned()], None)
                        .await
                        .unwrap();
                    store
                        .touch_principal(&format!("p{task}"), "client", i)
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(f.store.count_requests().await.unwrap(), 400);
    let pool = raw(&f.path).await;
    let completed: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM requests WHERE outcome = 'ok'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(completed, 400);
    let principals = f.store.principals().await.unwrap();
    assert_eq!(principals.len(), 8);
    assert!(principals.iter().all(|p| p.last_seen == 49));
}

fn append(index: u64, head: Option<&str>) -> symbolon_store::AuditAppend {
    let entry = format!("entry {index}").into_bytes();
    symbolon_store::AuditAppend {
        index,
        leaf_hash: [u8::try_from(index % 251).unwrap(); 32],
        entry,
        head: head.map(str::to_owned),
    }
}

#[tokio::test]
async fn audit_rows_commit_with_the_state_they_record() {
    let f = fixture().await;
    assert_eq!(f.store.audit_latest_head().await.unwrap(), None);
    let mut tx = f.store.begin().await.unwrap();
    tx.insert_request(&new_request("r1")).await.unwrap();
    tx.append_audit(&[append(0, None), append(1, Some("head 2"))])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    // A taken index fails the transaction: dropped, the request is gone too.
    let mut tx = f.store.begin().await.unwrap();
    tx.insert_request(&new_request("r2")).await.unwrap();
    let err = tx.append_audit(&[append(1, None)]).await.unwrap_err();
    assert!(
        matches!(&err, Error::Conflict { what: "audit entry", id } if id == "1"),
        "{err:?}"
    );
    drop(tx);
    assert!(matches!(
        f.store.request("r2").await,
        Err(Error::NotFound { .. })
    ));
    // A step undone to its savepoint leaves the rest of the transaction.
    let mut tx = f.store.begin().await.unwrap();
    tx.savepoint(Savepoint::Step).await.unwrap();
    tx.insert_request(&new_request("r3")).await.unwrap();
    tx.rollback_to_savepoint(Savepoint::Step).await.unwrap();
    tx.complete_request("r1", 5, RequestOutcome::Ok, &[], None)
        .await
        .unwrap();
    tx.append_audit(&[append(2, Some("head 3"))]).await.unwrap();
    tx.commit().await.unwrap();
    assert!(matches!(
        f.store.request("r3").await,
        Err(Error::NotFound { .. })
    ));
    assert_eq!(
        f.store.request("r1").await.unwrap().outcome,
        Some(RequestOutcome::Ok)
    );
    let mut tx = f.store.begin().await.unwrap();
    tx.append_audit(&[append(3, Some("head 4"))]).await.unwrap();
    tx.commit().await.unwrap();

    let leaves = f.store.audit_leaf_hashes().await.unwrap();
    assert_eq!(leaves, vec![[0; 32], [1; 32], [2; 32], [3; 32]]);
    assert_eq!(f.store.audit_size().await.unwrap(), 4);
    assert_eq!(
        f.store.audit_latest_head().await.unwrap(),
        Some((3, "head 4".to_owned()))
    );
    let page = f.store.audit_entries(1, 2).await.unwrap();
    assert_eq!(page.len(), 2);
    assert_eq!(page[0].index, 1);
    assert_eq!(page[0].entry, b"entry 1");
    assert_eq!(page[0].head.as_deref(), Some("head 2"));
    assert_eq!(page[1].head.as_deref(), Some("head 3"));
    assert_eq!(f.store.audit_entries(0, 1).await.unwrap()[0].head, None);

    // A row deleted behind the store's back is reported, not skipped.
    let pool = raw(&f.path).await;
    sqlx::query("DELETE FROM audit_entries WHERE idx = 1")
        .execute(&pool)
        .await
        .unwrap();
    let err = f.store.audit_leaf_hashes().await.unwrap_err();
    assert!(
        matches!(&err, Error::Corrupt { detail, .. } if detail.contains("entry 1 is missing")),
        "{err:?}"
    );
}
