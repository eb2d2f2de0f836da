#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]
//! `symbolon audit`: `check-proof` on proof files built here with the audit
//! crate (no cluster needed), and the whole tool against a real
//! `symbolon dev` cluster whose database is then tampered with directly:
//! an edited, a deleted and a swapped row are each named by `audit verify`,
//! and a truncated log is found against a head saved earlier.

mod common;

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::{Dev, fails_with, interrupt, stderr, stdout, symbolon};
use ed25519_dalek::SigningKey;
use serde_json::{Value, json};
use symbolon_audit::{Entry, EventKind, NoteKey, Tree, TreeHead};

// ------------------------------------------------------------ offline proofs

const ORIGIN: &str = "symbolon/0123456789abcdef";

/// A small log signed by a fixed key, with inclusion proof files.
struct Fixture {
    dir: tempfile::TempDir,
    key: NoteKey,
    signing: SigningKey,
    tree: Tree,
    encoded: Vec<Vec<u8>>,
}

impl Fixture {
    fn new() -> Fixture {
        let signing = SigningKey::from_bytes(&[11; 32]);
        let key = NoteKey::new(ORIGIN, signing.verifying_key()).unwrap();
        let mut tree = Tree::new();
        let mut encoded = Vec::new();
        let events = [
            EventKind::KeyCreated,
            EventKind::SharesDistributed,
            EventKind::RequestCreated,
            EventKind::RequestCompleted,
            EventKind::CustodianHealthy,
        ];
        for (i, event) in events.into_iter().enumerate() {
            let mut entry = Entry::new(event, 1_700_000_000_000 + i as u64, "alice");
            entry.key_id = Some("demo".into());
            entry.key_version = Some(1);
            entry.request_digest = Some([i as u8; 32]);
            entry.custodians = vec!["c1".into(), "c2".into(), "c3".into()];
            entry.outcome = Some("ok".into());
            let bytes = entry.encode().unwrap();
            tree.append_entry(&bytes);
            encoded.push(bytes);
        }
        Fixture {
            dir: tempfile::tempdir().unwrap(),
            key,
            signing,
            tree,
            encoded,
        }
    }

    fn head(&self, signing: &SigningKey, origin: &str) -> String {
        TreeHead {
            size: self.tree.size(),
            root_hash: self.tree.current_root(),
            timestamp_ms: 1_700_000_001_000,
        }
        .sign(origin, origin, signing)
        .unwrap()
        .to_note()
    }

    /// The proof file `prove` would write for entry `index`.
    fn proof(&self, index: u64) -> Value {
        let proof: Vec<String> = self
            .tree
            .inclusion_proof(index, self.tree.size())
            .unwrap()
            .iter()
            .map(|h| h.to_hex())
            .collect();
        let bytes = &self.encoded[index as usize];
        json!({
            "format": "symbolon-audit-inclusion-proof",
            "version": 1,
            "log_key": self.key.to_vkey(),
            "index": index,
            "encoded": STANDARD.encode(bytes),
            "entry": serde_json::to_value(Entry::decode(bytes).unwrap()).unwrap(),
            "head": self.head(&self.signing, ORIGIN),
            "proof": proof,
        })
    }

    fn write(&self, name: &str, contents: &[u8]) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    fn write_json(&self, name: &str, value: &Value) -> PathBuf {
        self.write(
            name,
            serde_json::to_string_pretty(value).unwrap().as_bytes(),
        )
    }

    fn check(&self, file: &Path, extra: &[&str]) -> Output {
        symbolon()
            .args(["audit", "check-proof"])
            .arg(file)
            .args(["--log-key", &self.key.to_vkey()])
            .args(extra)
            .output()
            .unwrap()
    }
}

#[test]
fn check_proof_accepts_a_valid_proof_and_prints_the_entry() {
    let f = Fixture::new();
    let file = f.write_json("proof.json", &f.proof(2));
    let out = f.check(&file, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with(&format!(
            "ok: entry 2 is in the log {ORIGIN} at tree size 5"
        )),
        "{text}"
    );
    assert!(text.contains("request.created"), "{text}");
    assert!(text.contains("demo/v1"), "{text}");
    assert!(text.contains("c1,c2,c3"), "{text}");

    // JSON output, and the key from a file.
    let key_file = f.write("log.vkey", format!("{}\n", f.key.to_vkey()).as_bytes());
    let out = symbolon()
        .args(["audit", "check-proof", "--json", "--log-key"])
        .arg(format!("@{}", key_file.display()))
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["index"], 2);
    assert_eq!(v["size"], 5);
    assert_eq!(v["entry"]["event"], "request.created");

    // Every index of the log, and a proof without the informative `entry`.
    for index in 0..5 {
        let mut proof = f.proof(index);
        proof.as_object_mut().unwrap().remove("entry");
        let file = f.write_json(&format!("p{index}.json"), &proof);
        let out = f.check(&file, &[]);
        assert!(out.status.success(), "{index}: {}", stderr(&out));
    }
}

#[test]
fn check_proof_refuses_a_tampered_entry() {
    let f = Fixture::new();
    let mut proof = f.proof(2);
    let mut bytes = f.encoded[2].clone();
    // The last letter of the outcome: "ok" becomes "oj" (still decodable).
    let n = bytes.len();
    bytes[n - 2] ^= 1;
    proof["encoded"] = json!(STANDARD.encode(&bytes));
    proof.as_object_mut().unwrap().remove("entry");
    let file = f.write_json("proof.json", &proof);
    fails_with(
        &f.check(&file, &[]),
        "entry 2 is not in the log at tree size 5",
    );

    // The decoded `entry` shown to humans must match the bytes checked.
    let mut proof = f.proof(2);
    proof["entry"]["actor"] = json!("mallory");
    let file = f.write_json("shown.json", &proof);
    fails_with(
        &f.check(&file, &[]),
        "`entry` field does not match its `encoded` bytes (entry 2)",
    );

    // A proof moved to another index.
    let mut proof = f.proof(2);
    proof["index"] = json!(3);
    proof.as_object_mut().unwrap().remove("entry");
    let file = f.write_json("moved.json", &proof);
    fails_with(
        &f.check(&file, &[]),
        "entry 3 is not in the log at tree size 5",
    );
}

#[test]
fn check_proof_refuses_a_tampered_proof() {
    let f = Fixture::new();
    let mut proof = f.proof(1);
    let first = proof["proof"][0].as_str().unwrap().to_owned();
    let flipped = format!(
        "{}{}",
        if first.starts_with('0') { "1" } else { "0" },
        &first[1..]
    );
    proof["proof"][0] = json!(flipped);
    let file = f.write_json("hash.json", &proof);
    fails_with(
        &f.check(&file, &[]),
        "entry 1 is not in the log at tree size 5",
    );

    let mut proof = f.proof(1);
    proof["proof"].as_array_mut().unwrap().pop();
    let file = f.write_json("short.json", &proof);
    fails_with(&f.check(&file, &[]), "proof has 2 hashes, but 3 are needed");

    let mut proof = f.proof(1);
    proof["proof"][1] = json!("zz");
    let file = f.write_json("hex.json", &proof);
    fails_with(
        &f.check(&file, &[]),
        "proof hash 1 is not 64 hexadecimal digits",
    );
}

#[test]
fn check_proof_refuses_a_tampered_or_foreign_head() {
    let f = Fixture::new();
    // Another root on the head's third line: the signature fails.
    let mut proof = f.proof(0);
    let head = proof["head"].as_str().unwrap().to_owned();
    let mut lines: Vec<String> = head.lines().map(str::to_owned).collect();
    lines[2] = STANDARD.encode([7u8; 32]);
    proof["head"] = json!(format!("{}\n", lines.join("\n")));
    let file = f.write_json("head.json", &proof);
    fails_with(
        &f.check(&file, &[]),
        &format!("its tree head is not signed by the log key \"{ORIGIN}\""),
    );

    // A head that does not parse.
    let mut proof = f.proof(0);
    proof["head"] = json!("hello\n");
    let file = f.write_json("garbled.json", &proof);
    fails_with(&f.check(&file, &[]), "its tree head is malformed");

    // A whole log re-signed by another key, checked against the real key.
    let mallory = SigningKey::from_bytes(&[66; 32]);
    let mut proof = f.proof(0);
    proof["head"] = json!(f.head(&mallory, ORIGIN));
    let file = f.write_json("forged.json", &proof);
    fails_with(&f.check(&file, &[]), "is not signed by the log key");

    // The right proof against the wrong key.
    let file = f.write_json("good.json", &f.proof(0));
    let other = NoteKey::new(ORIGIN, mallory.verifying_key()).unwrap();
    let out = symbolon()
        .args(["audit", "check-proof", "--log-key", &other.to_vkey()])
        .arg(&file)
        .output()
        .unwrap();
    fails_with(&out, "its tree head is not signed by the log key");
}

#[test]
fn check_proof_needs_a_log_key_and_never_trusts_the_files() {
    let f = Fixture::new();
    let file = f.write_json("proof.json", &f.proof(0));
    let out = symbolon()
        .args(["audit", "check-proof"])
        .arg(&file)
        .output()
        .unwrap();
    fails_with(&out, "pass --log-key");

    let out = symbolon()
        .args(["audit", "check-proof", "--log-key", "not-a-key"])
        .arg(&file)
        .output()
        .unwrap();
    fails_with(&out, "--log-key \"not-a-key\": malformed verifier key");

    let out = symbolon()
        .args([
            "audit",
            "check-proof",
            "--log-key",
            "@/nonexistent/log.vkey",
        ])
        .arg(&file)
        .output()
        .unwrap();
    fails_with(&out, "/nonexistent/log.vkey: cannot read");
}

#[test]
fn check_proof_names_what_is_wrong_with_a_bad_file() {
    let f = Fixture::new();
    let missing = f.dir.path().join("missing.json");
    fails_with(&f.check(&missing, &[]), "missing.json: cannot read");

    let garbage = f.write("garbage.json", b"\x00\x01 not json");
    fails_with(
        &f.check(&garbage, &[]),
        "garbage.json: not an audit inclusion proof: not JSON",
    );

    let array = f.write("array.json", b"[1, 2]");
    fails_with(&f.check(&array, &[]), "not a JSON object");

    let mut proof = f.proof(0);
    proof["format"] = json!("something-else");
    let file = f.write_json("format.json", &proof);
    fails_with(&f.check(&file, &[]), "its format is \"something-else\"");

    let mut proof = f.proof(0);
    proof["version"] = json!(2);
    let file = f.write_json("v2.json", &proof);
    fails_with(
        &f.check(&file, &[]),
        "proof file version 2 is not supported (this symbolon reads version 1)",
    );

    let mut proof = f.proof(0);
    proof["extra"] = json!(true);
    let file = f.write_json("extra.json", &proof);
    fails_with(&f.check(&file, &[]), "unknown field `extra`");

    let mut proof = f.proof(0);
    proof["encoded"] = json!("%%%");
    let file = f.write_json("b64.json", &proof);
    fails_with(&f.check(&file, &[]), "invalid base64");

    let mut proof = f.proof(0);
    proof.as_object_mut().unwrap().remove("head");
    let file = f.write_json("nohead.json", &proof);
    fails_with(&f.check(&file, &[]), "missing field `head`");

    // A non-entry proven into a log: included, but not an entry.
    let signing = SigningKey::from_bytes(&[12; 32]);
    let key = NoteKey::new(ORIGIN, signing.verifying_key()).unwrap();
    let mut tree = Tree::new();
    tree.append_entry(b"\x09junk");
    let head = TreeHead {
        size: 1,
        root_hash: tree.current_root(),
        timestamp_ms: 1,
    }
    .sign(ORIGIN, ORIGIN, &signing)
    .unwrap();
    let proof = json!({
        "format": "symbolon-audit-inclusion-proof",
        "version": 1,
        "log_key": key.to_vkey(),
        "index": 0,
        "encoded": STANDARD.encode(b"\x09junk"),
        "head": head.to_note(),
        "proof": [],
    });
    let file = f.write_json("junk.json", &proof);
    let out = symbolon()
        .args(["audit", "check-proof", "--log-key", &key.to_vkey()])
        .arg(&file)
        .output()
        .unwrap();
    fails_with(
        &out,
        "entry 0 is in the log but is not a valid audit entry: unknown audit entry version 9",
    );
}

#[test]
fn audit_commands_have_help_and_refuse_bad_arguments() {
    for sub in ["tail", "verify", "prove", "check-proof"] {
        let out = symbolon().args(["audit", sub, "--help"]).output().unwrap();
        assert!(out.status.success(), "{sub}: {}", stderr(&out));
        assert!(stdout(&out).contains("Usage: symbolon audit"), "{sub}");
    }
    let help = stdout(
        &symbolon()
            .args(["audit", "verify", "--help"])
            .output()
            .unwrap(),
    );
    for flag in ["--since", "--save", "--log-key", "--witnesses", "--json"] {
        assert!(help.contains(flag), "{flag}: {help}");
    }
    let out = symbolon().args(["audit", "prove"]).output().unwrap();
    fails_with(&out, "--entry <N>");
    // No cluster: the usual advice.
    let tmp = tempfile::tempdir().unwrap();
    let out = symbolon()
        .current_dir(tmp.path())
        .args(["audit", "verify"])
        .output()
        .unwrap();
    fails_with(&out, "no cluster configured");
    // A --since file that is not a head is named before anything else.
    let bad = tmp.path().join("head.note");
    std::fs::write(&bad, "not a head\n").unwrap();
    let config = tmp.path().join("client.toml");
    std::fs::write(
        &config,
        "coordinator_url = \"https://127.0.0.1:1\"\n[tls]\nca = \"ca.pem\"\ncert = \"c.pem\"\nkey = \"c.key\"\n",
    )
    .unwrap();
    let out = symbolon()
        .args(["audit", "verify", "--since"])
        .arg(&bad)
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    fails_with(
        &out,
        "head.note: not a saved tree head: malformed signed tree head",
    );
    let out = symbolon()
        .args(["audit", "verify", "--log-key", "x+y+z", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    fails_with(&out, "--log-key \"x+y+z\": malformed verifier key");
}

// ------------------------------------------------------------ dev cluster

/// One stored row of the audit log.
#[derive(Clone, Debug)]
struct Row {
    idx: i64,
    entry: Vec<u8>,
    leaf_hash: Vec<u8>,
    head: Option<String>,
}

/// Direct access to the coordinator's SQLite database, as an attacker with
/// write access to the disk has.
struct Db {
    rt: tokio::runtime::Runtime,
    pool: sqlx::SqlitePool,
}

impl Db {
    fn open(path: &Path) -> Db {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(path)
            .busy_timeout(Duration::from_secs(10));
        let pool = rt.block_on(
            sqlx::sqlite::SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(options),
        );
        Db {
            rt,
            pool: pool.unwrap(),
        }
    }

    fn rows(&self) -> Vec<Row> {
        use sqlx::Row as _;
        self.rt.block_on(async {
            sqlx::query("SELECT idx, entry, leaf_hash, head FROM audit_entries ORDER BY idx")
                .fetch_all(&self.pool)
                .await
                .unwrap()
                .iter()
                .map(|r| Row {
                    idx: r.get("idx"),
                    entry: r.get("entry"),
                    leaf_hash: r.get("leaf_hash"),
                    head: r.get("head"),
                })
                .collect()
        })
    }

    fn set(&self, idx: i64, entry: &[u8], leaf_hash: &[u8]) {
        self.rt.block_on(async {
            let done =
                sqlx::query("UPDATE audit_entries SET entry = ?, leaf_hash = ? WHERE idx = ?")
                    .bind(entry)
                    .bind(leaf_hash)
                    .bind(idx)
                    .execute(&self.pool)
                    .await
                    .unwrap();
            assert_eq!(done.rows_affected(), 1);
        });
    }

    fn delete_from(&self, idx: i64, to: i64) {
        self.rt.block_on(async {
            sqlx::query("DELETE FROM audit_entries WHERE idx >= ? AND idx <= ?")
                .bind(idx)
                .bind(to)
                .execute(&self.pool)
                .await
                .unwrap();
        });
    }

    fn insert(&self, row: &Row) {
        self.rt.block_on(async {
            sqlx::query(
                "INSERT INTO audit_entries (idx, entry, leaf_hash, head) VALUES (?, ?, ?, ?)",
            )
            .bind(row.idx)
            .bind(&row.entry)
            .bind(&row.leaf_hash)
            .bind(row.head.as_deref())
            .execute(&self.pool)
            .await
            .unwrap();
        });
    }
}

/// Indexes of rows that are a transaction of their own (they carry a head
/// and so does the row before them): an edit there is named exactly.
fn single_entry_transactions(rows: &[Row]) -> Vec<usize> {
    (0..rows.len())
        .filter(|&i| rows[i].head.is_some() && (i == 0 || rows[i - 1].head.is_some()))
        .collect()
}

fn event_of(row: &Row) -> EventKind {
    Entry::decode(&row.entry).unwrap().event
}

#[test]
fn a_tampered_database_is_named_by_audit_verify() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cluster");
    let dev = Dev::start(&dir);

    dev.ok(&[
        "key",
        "create",
        "demo",
        "--kind",
        "secret",
        "--threshold",
        "3",
        "--shares",
        "5",
        "--json",
    ]);
    let ciphertext = dev.run_with_stdin(&["encrypt", "--key", "demo"], b"attack at dawn");
    let plaintext = dev.run_with_stdin(&["decrypt", "--key", "demo"], &ciphertext);
    assert_eq!(plaintext, b"attack at dawn");

    // tail --json: one AuditEntryView per line, in order.
    let tail = dev.ok(&["audit", "tail", "--json", "-n", "1000"]);
    let views: Vec<Value> = tail
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let events: Vec<&str> = views
        .iter()
        .map(|v| v["entry"]["event"].as_str().unwrap())
        .collect();
    for (i, v) in views.iter().enumerate() {
        assert_eq!(v["index"], i as u64);
    }
    for wanted in ["key.created", "request.created", "request.completed"] {
        assert!(events.contains(&wanted), "{wanted} not in {events:?}");
    }
    let created = views
        .iter()
        .find(|v| v["entry"]["event"] == "key.created")
        .unwrap();
    assert!(created["entry"]["key_id"].is_string(), "{created}");
    // Human-readable tail: the last two lines.
    let human = dev.ok(&["audit", "tail", "-n", "2"]);
    assert_eq!(human.lines().count(), 2, "{human}");
    assert!(human.contains("request."), "{human}");

    // verify passes and saves the head.
    let saved = tmp.path().join("head.note");
    let out = dev.run(&["audit", "verify", "--save", saved.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    // Health changes of a loaded machine may have been logged since tail.
    let n: usize = text
        .strip_prefix("ok: ")
        .and_then(|t| t.split_once(" entries, root "))
        .and_then(|(count, _)| count.parse().ok())
        .unwrap_or_else(|| panic!("{text}"));
    assert!(n >= views.len(), "{text}");
    assert!(text.contains("signed heads checked"), "{text}");
    assert!(
        std::fs::read_to_string(&saved)
            .unwrap()
            .contains("\n\n\u{2014} ")
    );
    let report: Value = serde_json::from_str(&dev.ok(&[
        "audit",
        "verify",
        "--json",
        "--since",
        saved.to_str().unwrap(),
    ]))
    .unwrap();
    assert_eq!(report["ok"], true);
    assert_eq!(report["since"]["size"], n as u64);
    let log_key = report["log_key"].as_str().unwrap().to_owned();
    // Pinning the key works the same.
    dev.ok(&["audit", "verify", "--log-key", &log_key]);
    // A head saved from another log (another key) is refused, naming it.
    let foreign = tmp.path().join("foreign.note");
    std::fs::write(
        &foreign,
        Fixture::new().head(&SigningKey::from_bytes(&[11; 32]), ORIGIN),
    )
    .unwrap();
    let out = dev.run(&["audit", "verify", "--since", foreign.to_str().unwrap()]);
    fails_with(
        &out,
        "foreign.note: the saved tree head is not signed by the log key",
    );
    fails_with(&out, "saved for another log or under another log key");
    // The custodians cosign the heads they accept.
    let witnessed: Value =
        serde_json::from_str(&dev.ok(&["audit", "verify", "--witnesses", "1", "--json"])).unwrap();
    assert!(
        witnessed["witnessed"]["valid"].as_u64().unwrap() >= 1,
        "{witnessed}"
    );
    assert_eq!(witnessed["witnessed"]["known"], 5);
    let out = dev.run(&["audit", "verify", "--witnesses", "6"]);
    fails_with(&out, "6 are required");

    // tail -f prints entries logged after it started, and stops on Ctrl-C.
    let mut follower = symbolon()
        .args(["audit", "tail", "-f", "-n", "0", "--json", "--config"])
        .arg(dir.join("client.toml"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let lines = follower.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(lines).lines() {
            let Ok(line) = line else { break };
            let _ = tx.send(line);
        }
    });
    std::thread::sleep(Duration::from_millis(300));
    dev.run_with_stdin(&["encrypt", "--key", "demo"], b"more");
    let mut followed = Vec::new();
    while !followed.contains(&"request.completed".to_owned()) {
        let line = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("tail -f printed nothing new");
        let v: Value = serde_json::from_str(&line).unwrap();
        assert!(v["index"].as_u64().unwrap() >= n as u64, "{v}");
        // (Health changes of a loaded machine may be logged in between.)
        let event = v["entry"]["event"].as_str().unwrap();
        if event.starts_with("request.") {
            followed.push(event.to_owned());
        }
    }
    assert_eq!(followed, ["request.created", "request.completed"]);
    interrupt(follower, true);
    // Save the head again: it now covers the new entries too.
    let out = dev.ok(&[
        "audit",
        "verify",
        "--json",
        "--save",
        saved.to_str().unwrap(),
    ]);
    let v: Value = serde_json::from_str(&out).unwrap();
    let n = usize::try_from(v["entries"].as_u64().unwrap()).unwrap();
    assert!(n >= views.len() + 2);

    // prove + check-proof, offline against the pinned key.
    let request_created = events.iter().position(|e| *e == "request.created").unwrap();
    let proof = tmp.path().join("proof.json");
    dev.ok(&[
        "audit",
        "prove",
        "--entry",
        &request_created.to_string(),
        "--out",
        proof.to_str().unwrap(),
    ]);
    let out = symbolon()
        .args(["audit", "check-proof", "--log-key", &log_key])
        .arg(&proof)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("request.created"), "{}", stdout(&out));

    let db = Db::open(&dir.join("coordinator").join("symbolon.db"));
    let rows = db.rows();
    assert!(rows.len() >= n);
    let singles = single_entry_transactions(&rows);
    // Prefer a request entry; any single-entry transaction will do.
    let target = singles
        .iter()
        .copied()
        .find(|&i| event_of(&rows[i]) == EventKind::RequestCreated)
        .or_else(|| singles.first().copied())
        .expect("no single-entry transaction in the log");
    let verify_fails_naming = |needle: &str, entry: usize| {
        let out = dev.run(&["audit", "verify", "--json"]);
        fails_with(&out, needle);
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["ok"], false);
        assert_eq!(v["entry"], entry as u64, "{v}");
    };

    // (a) One byte of one entry flipped: the time field, so it still
    // decodes and only the hashes tell.
    let original = rows[target].clone();
    let mut edited = original.entry.clone();
    edited[10] ^= 0x01;
    db.set(original.idx, &edited, &original.leaf_hash);
    verify_fails_naming(&format!("entry {target} does not match"), target);
    // The version byte: no longer an entry at all.
    let mut broken = original.entry.clone();
    broken[0] = 0x09;
    db.set(original.idx, &broken, &original.leaf_hash);
    verify_fails_naming(
        &format!("entry {target} is not a valid audit entry"),
        target,
    );
    db.set(original.idx, &original.entry, &original.leaf_hash);
    dev.ok(&["audit", "verify"]);

    // An edit inside a transaction of several entries (key.created and
    // shares.distributed) names the transaction, and the coordinator's
    // inclusion proofs single out the edited entry.
    let created = rows
        .iter()
        .position(|r| event_of(r) == EventKind::KeyCreated)
        .unwrap();
    let distributed = created + 1;
    assert!(rows[created].head.is_none() && rows[distributed].head.is_some());
    let original = rows[distributed].clone();
    let mut edited = original.entry.clone();
    edited[10] ^= 0x01;
    db.set(original.idx, &edited, &original.leaf_hash);
    let out = dev.run(&["audit", "verify"]);
    fails_with(
        &out,
        &format!("entries {created}..={distributed} do not match"),
    );
    fails_with(
        &out,
        &format!("inclusion proofs fail for entry {distributed}\n"),
    );
    db.set(original.idx, &original.entry, &original.leaf_hash);

    // (b) A row deleted from the middle.
    let deleted = rows.len() / 2;
    db.delete_from(rows[deleted].idx, rows[deleted].idx);
    verify_fails_naming(&format!("entry {deleted} is missing"), deleted);
    db.insert(&rows[deleted]);
    dev.ok(&["audit", "verify"]);

    // (c) Two rows swapped (entries and leaf hashes, not heads): two
    // transactions of one entry each, so that the first of them is named
    // exactly.
    let other = singles
        .iter()
        .copied()
        .find(|&i| i != target)
        .expect("fewer than two single-entry transactions in the log");
    let (a, b) = (&rows[target], &rows[other]);
    db.set(a.idx, &b.entry, &b.leaf_hash);
    db.set(b.idx, &a.entry, &a.leaf_hash);
    let first = target.min(other);
    verify_fails_naming(&format!("entry {first} does not match"), first);
    db.set(a.idx, &a.entry, &a.leaf_hash);
    db.set(b.idx, &b.entry, &b.leaf_hash);
    dev.ok(&["audit", "verify", "--since", saved.to_str().unwrap()]);

    // Truncation: whole transactions cut off the end. The saved head
    // remembers how long the log was.
    let rows = db.rows();
    let keep = (0..n - 1).rev().find(|&i| rows[i].head.is_some()).unwrap() + 1;
    db.delete_from(keep as i64, i64::MAX);
    let out = dev.run(&["audit", "verify", "--since", saved.to_str().unwrap()]);
    fails_with(
        &out,
        &format!("log truncated: the saved head had {n} entries, the log now has {keep}"),
    );
    drop(db);
    dev.stop();
}
