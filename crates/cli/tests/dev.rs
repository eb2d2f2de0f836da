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

mod common;

use std::process::Stdio;

use common::{Dev, client, fails_with, succeeds, symbolon};

#[test]
fn dev_cluster_runs_stops_and_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cluster");
    let dev = Dev::start(&dir);
    assert!(dev.banner.contains("started"), "{}", dev.banner);

    let status = dev.json(&["status", "--json"]);
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

    let key = dev.json(&[
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
    ]);
    assert_eq!(key["placement"].as_array().unwrap().len(), 5);
    let ciphertext = dev.run_with_stdin(&["encrypt", "--key", "demo"], b"attack at dawn");
    assert!(ciphertext.starts_with(b"SYMC"));
    let plaintext = dev.run_with_stdin(&["decrypt", "--key", "demo"], &ciphertext);
    assert_eq!(plaintext, b"attack at dawn");

    // A second dev cluster on the same directory is refused.
    let second = symbolon()
        .args(["dev", "--data-dir"])
        .arg(&dir)
        .output()
        .unwrap();
    fails_with(&second, "already running");

    dev.stop();
    fails_with(&client(&dir, &["status"]), "cannot reach the coordinator");

    let dev = Dev::start(&dir);
    assert!(dev.banner.contains("resumed"), "{}", dev.banner);
    let list = dev.json(&["key", "list", "--json"]);
    assert_eq!(list["keys"][0]["name"], "demo");
    let plaintext = dev.run_with_stdin(&["decrypt", "--key", "demo"], &ciphertext);
    assert_eq!(plaintext, b"attack at dawn");
    let shown = dev.json(&["key", "show", "demo", "--json"]);
    assert_eq!(shown["threshold"], 3);
    dev.stop();
}

#[test]
fn client_commands_without_a_cluster_say_how_to_start_one() {
    let tmp = tempfile::tempdir().unwrap();
    let out = symbolon()
        .current_dir(tmp.path())
        .args(["status"])
        .output()
        .unwrap();
    fails_with(&out, "no cluster configured");
    fails_with(&out, "start one with `symbolon dev`");
    assert_eq!(common::stderr(&out).lines().count(), 1, "{out:?}");

    let bad = tmp.path().join("client.toml");
    std::fs::write(&bad, "coordinator_url = 3\n").unwrap();
    let out = symbolon()
        .args(["key", "list", "--config"])
        .arg(&bad)
        .output()
        .unwrap();
    fails_with(&out, &format!("{}: ", bad.display()));
    fails_with(&out, "invalid type: integer `3`, expected a string");

    // Local input is checked before the configuration is even read.
    let out = symbolon()
        .args(["decrypt", "--key", "demo", "--config"])
        .arg(&bad)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    fails_with(&out, "the input is not a Symbolon ciphertext");
}

#[test]
fn ca_init_and_issue() {
    let tmp = tempfile::tempdir().unwrap();
    let ca = tmp.path().join("ca");
    succeeds(
        &symbolon()
            .args(["ca", "init", "--dir"])
            .arg(&ca)
            .output()
            .unwrap(),
    );
    assert!(ca.join("ca.pem").exists() && ca.join("ca.key").exists());

    // Never overwrites an existing CA.
    let again = symbolon()
        .args(["ca", "init", "--dir"])
        .arg(&ca)
        .output()
        .unwrap();
    fails_with(&again, "ca.pem");

    let certs = tmp.path().join("certs");
    succeeds(
        &symbolon()
            .args(["ca", "issue", "--role", "client", "--name", "bob", "--ca"])
            .arg(&ca)
            .arg("--out-dir")
            .arg(&certs)
            .output()
            .unwrap(),
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
    fails_with(&bad, "bad/name");
}
