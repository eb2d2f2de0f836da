#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]
//! `symbolon dev` as a user runs it: the real binary starts a coordinator and
//! five custodian processes, client commands find it, Ctrl-C stops it, and a
//! second start resumes with the same keys.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use assert_cmd::cargo::CommandCargoExt as _;
use serde_json::Value;

fn symbolon() -> Command {
    let mut cmd = Command::cargo_bin("symbolon").unwrap();
    cmd.env_remove("SYMBOLON_CONFIG");
    cmd
}

/// Starts `symbolon dev` and waits for its banner; returns the child and the
/// banner text.
fn start_dev(dir: &Path) -> (Child, String) {
    let mut child = symbolon()
        .args(["dev", "--data-dir"])
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut banner = String::new();
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap_or_default();
            banner.push_str(&line);
            banner.push('\n');
            if line.contains("Ctrl-C stops the cluster") {
                let _ = tx.send(banner.clone());
            }
        }
    });
    match rx.recv_timeout(Duration::from_secs(120)) {
        Ok(banner) => (child, banner),
        Err(_) => {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "symbolon dev did not come up: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

/// Sends SIGINT (what Ctrl-C sends) and waits for a clean exit.
fn interrupt(mut child: Child) {
    let pid = rustix::process::Pid::from_raw(i32::try_from(child.id()).unwrap()).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::INT).unwrap();
    for _ in 0..300 {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "symbolon dev exited with {status}");
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    panic!("symbolon dev did not stop within 30 s of SIGINT");
}

fn client(dir: &Path, args: &[&str]) -> std::process::Output {
    symbolon()
        .args(args)
        .arg("--config")
        .arg(dir.join("client.toml"))
        .output()
        .unwrap()
}

fn client_json(dir: &Path, args: &[&str]) -> Value {
    let out = client(dir, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn run_with_stdin(dir: &Path, args: &[&str], input: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut child = symbolon()
        .args(args)
        .arg("--config")
        .arg(dir.join("client.toml"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn dev_cluster_runs_stops_and_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cluster");
    let (dev, banner) = start_dev(&dir);
    assert!(banner.contains("started"), "{banner}");

    let status = client_json(&dir, &["status", "--json"]);
    let custodians = status["custodians"].as_array().unwrap();
    assert_eq!(custodians.len(), 5);
    let mut countries: Vec<&str> = custodians
        .iter()
        .map(|c| {
            assert_eq!(c["state"], "healthy", "{c}");
            c["labels"]["country"].as_str().unwrap()
        })
        .collect();
    countries.sort_unstable();
    countries.dedup();
    assert_eq!(countries.len(), 5);

    let key = client_json(
        &dir,
        &[
            "key",
            "create",
            "demo",
            "--kind",
            "secret",
            "--threshold",
            "3",
            "--shares",
            "5",
            "--distinct",
            "country",
            "--json",
        ],
    );
    assert_eq!(key["placement"].as_array().unwrap().len(), 5);
    let ciphertext = run_with_stdin(&dir, &["encrypt", "--key", "demo"], b"attack at dawn");
    assert!(ciphertext.starts_with(b"SYMC"));
    let plaintext = run_with_stdin(&dir, &["decrypt", "--key", "demo"], &ciphertext);
    assert_eq!(plaintext, b"attack at dawn");

    // A second dev cluster on the same directory is refused.
    let second = symbolon()
        .args(["dev", "--data-dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(!second.status.success());
    assert!(
        String::from_utf8_lossy(&second.stderr).contains("already running"),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );

    interrupt(dev);
    let down = client(&dir, &["status"]);
    assert!(!down.status.success());
    assert!(
        String::from_utf8_lossy(&down.stderr).contains("cannot reach the coordinator"),
        "{}",
        String::from_utf8_lossy(&down.stderr)
    );

    let (dev, banner) = start_dev(&dir);
    assert!(banner.contains("resumed"), "{banner}");
    let list = client_json(&dir, &["key", "list", "--json"]);
    assert_eq!(list["keys"][0]["name"], "demo");
    let plaintext = run_with_stdin(&dir, &["decrypt", "--key", "demo"], &ciphertext);
    assert_eq!(plaintext, b"attack at dawn");
    let shown = client_json(&dir, &["key", "show", "demo", "--json"]);
    assert_eq!(shown["threshold"], 3);
    interrupt(dev);
}

#[test]
fn client_commands_without_a_cluster_say_how_to_start_one() {
    let tmp = tempfile::tempdir().unwrap();
    let out = symbolon()
        .current_dir(tmp.path())
        .args(["status"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no cluster configured") && stderr.contains("symbolon dev"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");

    let bad = tmp.path().join("client.toml");
    std::fs::write(&bad, "coordinator_url = 3\n").unwrap();
    let out = symbolon()
        .args(["key", "list", "--config"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("client.toml"), "{stderr}");

    let out = symbolon()
        .args(["decrypt", "--key", "demo", "--config"])
        .arg(&bad)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn ca_init_and_issue() {
    let tmp = tempfile::tempdir().unwrap();
    let ca = tmp.path().join("ca");
    let out = symbolon()
        .args(["ca", "init", "--dir"])
        .arg(&ca)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(ca.join("ca.pem").exists() && ca.join("ca.key").exists());

    // Never overwrites an existing CA.
    let again = symbolon()
        .args(["ca", "init", "--dir"])
        .arg(&ca)
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("ca.pem"));

    let certs = tmp.path().join("certs");
    let out = symbolon()
        .args(["ca", "issue", "--role", "client", "--name", "bob", "--ca"])
        .arg(&ca)
        .arg("--out-dir")
        .arg(&certs)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pem = std::fs::read_to_string(certs.join("bob.pem")).unwrap();
    assert!(pem.contains("BEGIN CERTIFICATE"));
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(certs.join("bob.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    let bad = symbolon()
        .args([
            "ca", "issue", "--role", "client", "--name", "bad/name", "--ca",
        ])
        .arg(&ca)
        .arg("--out-dir")
        .arg(&certs)
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("bad/name"));
}
