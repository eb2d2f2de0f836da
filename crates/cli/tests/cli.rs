//! The `symbolon` binary, driven as a user would: every success path and
//! every error path of keygen / split / combine / inspect.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use tempfile::TempDir;

fn symbolon() -> Command {
    Command::new(env!("CARGO_BIN_EXE_symbolon"))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A deterministic, non-trivial secret.
fn secret(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i * 131 % 251) as u8 ^ (i >> 8) as u8)
        .collect()
}

struct Split {
    dir: TempDir,
    shards: PathBuf,
    secret: Vec<u8>,
}

impl Split {
    fn share(&self, i: usize) -> PathBuf {
        self.shards.join(format!("share-{i}.sym"))
    }
}

/// Splits `len` bytes 3-of-5 with extra arguments; asserts success.
fn split(len: usize, extra: &[&str]) -> Split {
    let dir = TempDir::new().unwrap();
    let input = dir.path().join("secret.bin");
    let secret = secret(len);
    fs::write(&input, &secret).unwrap();
    let shards = dir.path().join("shards");
    symbolon()
        .args(["split", "-t", "3", "-n", "5", "--in"])
        .arg(&input)
        .arg("--out-dir")
        .arg(&shards)
        .args(extra)
        .assert()
        .success();
    Split {
        dir,
        shards,
        secret,
    }
}

fn combine(shares: &[PathBuf], extra: &[&str]) -> Output {
    symbolon()
        .arg("combine")
        .args(shares)
        .args(extra)
        .output()
        .unwrap()
}

fn keygen(dir: &Path, name: &str) -> (PathBuf, String) {
    let path = dir.join(name);
    let out = symbolon()
        .arg("keygen")
        .arg("--out")
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let public = String::from_utf8(out.stdout).unwrap();
    (path, public.trim().to_owned())
}

#[test]
fn keygen_prints_only_the_recipient_and_writes_a_private_file() {
    let dir = TempDir::new().unwrap();
    let (path, public) = keygen(dir.path(), "me.id");
    assert!(public.starts_with("symbolon1"), "{public}");
    assert!(!public.contains('\n'));
    let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let again = symbolon()
        .arg("keygen")
        .arg("--public")
        .arg(&path)
        .output()
        .unwrap();
    assert!(again.status.success());
    assert_eq!(String::from_utf8(again.stdout).unwrap().trim(), public);
    // Never overwrites an identity.
    let out = symbolon()
        .arg("keygen")
        .arg("--out")
        .arg(&path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));
}

#[test]
fn keygen_public_of_a_garbage_file_names_it() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("junk.id");
    fs::write(&path, "hello").unwrap();
    let out = symbolon()
        .arg("keygen")
        .arg("--public")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("junk.id") && err.contains("not a valid identity"),
        "{err}"
    );
}

#[test]
fn any_three_of_five_rebuild_small_and_large_secrets() {
    for (len, scheme) in [
        (1, "shamir-gf256"),
        (100, "shamir-gf256"),
        (300_000, "ssms"),
    ] {
        let s = split(len, &[]);
        let out = symbolon()
            .arg("inspect")
            .arg("--json")
            .arg(s.share(1))
            .output()
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(json["scheme"], scheme);
        for subset in [[1, 2, 3], [1, 3, 5], [2, 4, 5], [3, 4, 5]] {
            let shares: Vec<_> = subset.iter().map(|&i| s.share(i)).collect();
            let out = combine(&shares, &[]);
            assert!(out.status.success(), "{}", stderr(&out));
            assert_eq!(out.stdout, s.secret, "len {len} subset {subset:?}");
        }
        for i in 1..=5 {
            let mode = fs::metadata(s.share(i)).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }
}

#[test]
fn explicit_schemes_and_armor_round_trip() {
    for extra in [
        &["--scheme", "ssms"][..],
        &["--scheme", "shamir", "--armor"][..],
    ] {
        let s = split(5000, extra);
        let text = fs::read(s.share(2)).unwrap();
        if extra.contains(&"--armor") {
            assert!(text.starts_with(b"-----BEGIN SYMBOLON SHARD-----"));
        }
        let out = combine(&[s.share(2), s.share(3), s.share(5)], &[]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(out.stdout, s.secret);
    }
}

#[test]
fn split_reads_stdin_and_combine_writes_a_private_file() {
    let dir = TempDir::new().unwrap();
    let shards = dir.path().join("s");
    symbolon()
        .args(["split", "--threshold", "2", "--shares", "3", "--out-dir"])
        .arg(&shards)
        .write_stdin("correct horse battery staple")
        .assert()
        .success();
    let out_file = dir.path().join("out.txt");
    let out = combine(
        &[shards.join("share-3.sym"), shards.join("share-1.sym")],
        &["--out", out_file.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    assert_eq!(
        fs::read(&out_file).unwrap(),
        b"correct horse battery staple"
    );
    assert_eq!(
        fs::metadata(&out_file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // The output file is never overwritten silently.
    let again = combine(
        &[shards.join("share-3.sym"), shards.join("share-1.sym")],
        &["--out", out_file.to_str().unwrap()],
    );
    assert!(!again.status.success());
    assert!(stderr(&again).contains("already exists"));
}

#[test]
fn sealed_shards_need_the_right_identity() {
    let dir = TempDir::new().unwrap();
    let mut recipients = Vec::new();
    let mut ids = Vec::new();
    for name in ["a", "b", "c", "d", "e"] {
        let (path, public) = keygen(dir.path(), name);
        recipients.push(format!("{name}={public}"));
        ids.push(path);
    }
    let (stranger, _) = keygen(dir.path(), "stranger");
    let mut extra: Vec<&str> = Vec::new();
    for r in &recipients {
        extra.extend(["--recipient", r.as_str()]);
    }
    let s = split(777, &extra);
    let shares = [s.share(1), s.share(2), s.share(3)];
    let id_args = |paths: &[&PathBuf]| {
        paths
            .iter()
            .flat_map(|p| ["--identity".to_owned(), p.display().to_string()])
            .collect::<Vec<_>>()
    };
    let ok_ids = id_args(&[&ids[0], &ids[1], &ids[2]]);
    let out = combine(
        &shares,
        &ok_ids.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(out.stdout, s.secret);

    // Without identities: each sealed shard says whose identity it needs.
    let out = combine(&shares, &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("share-1.sym") && err.contains("sealed to \"a\""),
        "{err}"
    );
    assert!(
        err.contains("supply 3 more") || err.contains("no usable shard"),
        "{err}"
    );

    // A wrong identity for share 3.
    let wrong = id_args(&[&ids[0], &ids[1], &stranger]);
    let out = combine(
        &shares,
        &wrong.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("share-3.sym") && err.contains("sealed to \"c\""),
        "{err}"
    );
    assert!(err.contains("supply 1 more"), "{err}");
    assert!(out.stdout.is_empty());

    // inspect shows who a sealed shard is for.
    let out = symbolon()
        .arg("inspect")
        .arg("--json")
        .arg(s.share(4))
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["sealed"], true);
    assert_eq!(json["recipient"]["id"], "d");
}

#[test]
fn a_flipped_byte_is_named_and_the_others_still_work() {
    let s = split(4096, &[]);
    let mut bytes = fs::read(s.share(2)).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    fs::write(s.share(2), &bytes).unwrap();

    // Exactly three given, one bad: refused, naming it.
    let out = combine(&[s.share(1), s.share(2), s.share(3)], &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("share-2.sym"), "{err}");
    assert!(err.contains("supply 1 more"), "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(out.stdout.is_empty());

    // Four given, one bad: the bad one is named, the secret still comes out.
    let out = combine(&[s.share(1), s.share(2), s.share(3), s.share(4)], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("share-2.sym"));
    assert_eq!(out.stdout, s.secret);
}

#[test]
fn every_single_byte_flip_is_caught() {
    // Flip each byte of a small shard in turn: it must never be accepted.
    let s = split(16, &[]);
    let original = fs::read(s.share(1)).unwrap();
    let bad = s.dir.path().join("bad.sym");
    for pos in (0..original.len()).step_by(7) {
        let mut bytes = original.clone();
        bytes[pos] ^= 0x80;
        fs::write(&bad, &bytes).unwrap();
        let out = combine(&[bad.clone(), s.share(2), s.share(3)], &[]);
        assert_eq!(out.status.code(), Some(1), "flip at {pos} accepted");
        assert!(
            stderr(&out).contains("bad.sym"),
            "flip at {pos}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn a_truncated_file_is_named() {
    let s = split(100, &[]);
    let bytes = fs::read(s.share(3)).unwrap();
    fs::write(s.share(3), &bytes[..bytes.len() - 10]).unwrap();
    let out = combine(&[s.share(1), s.share(2), s.share(3)], &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("share-3.sym"), "{err}");
    assert!(err.lines().last().unwrap().starts_with("error: "), "{err}");
}

#[test]
fn expired_shards_are_refused() {
    let s = split(10, &["--expires-in", "1s"]);
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let out = combine(&[s.share(1), s.share(2), s.share(3)], &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("share-1.sym: expired at"), "{err}");
    let out = symbolon().arg("inspect").arg(s.share(1)).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("EXPIRED"));
}

#[test]
fn duplicate_index_is_named() {
    let s = split(10, &[]);
    let copy = s.dir.path().join("copy.sym");
    fs::copy(s.share(1), &copy).unwrap();
    let out = combine(&[s.share(1), copy, s.share(2)], &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("copy.sym: duplicate share index 1"), "{err}");
    assert!(err.contains("supply 1 more"), "{err}");
}

#[test]
fn shares_of_two_splits_do_not_mix() {
    let a = split(10, &[]);
    let b = split(10, &[]);
    let out = combine(&[a.share(1), a.share(2), b.share(3)], &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("share-3.sym: belongs to a different split"),
        "{err}"
    );
}

#[test]
fn below_threshold_says_how_many_more() {
    let s = split(10, &[]);
    let out = combine(&[s.share(4)], &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("1 valid shard of 3 needed: supply 2 more"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn untrusted_signer_is_refused_and_trusted_one_accepted() {
    let dir = TempDir::new().unwrap();
    let (dealer, dealer_pub) = keygen(dir.path(), "dealer");
    let (_, other_pub) = keygen(dir.path(), "other");
    let s = split(50, &["--sign-with", dealer.to_str().unwrap()]);
    let shares = [s.share(1), s.share(2), s.share(3)];
    let out = combine(&shares, &["--trust-signer", &other_pub]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("share-1.sym: signed by untrusted key"),
        "{err}"
    );
    let out = combine(&shares, &["--trust-signer", &dealer_pub]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(out.stdout, s.secret);
    // The hex signer key that `inspect` shows pins the dealer too.
    let out = symbolon()
        .arg("inspect")
        .arg("--json")
        .arg(s.share(1))
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let hex_key = json["signer"].as_str().unwrap().to_owned();
    let out = combine(&shares, &["--trust-signer", &hex_key]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(out.stdout, s.secret);
    // A malformed --trust-signer is a usage error naming the value.
    let out = combine(&shares, &["--trust-signer", "symbolon1nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--trust-signer"));
}

#[test]
fn unreadable_inputs_are_named() {
    let dir = TempDir::new().unwrap();
    let missing = dir.path().join("missing.bin");
    let out = symbolon()
        .args(["split", "-t", "2", "-n", "3", "--in"])
        .arg(&missing)
        .arg("--out-dir")
        .arg(dir.path().join("s"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("missing.bin: cannot read"), "{err}");
    assert!(!dir.path().join("s").exists(), "no output on failure");

    let s = split(10, &[]);
    let out = combine(&[s.share(1), s.share(2), missing.clone()], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("missing.bin: cannot read"));
    // A directory is not a shard.
    let out = combine(&[s.share(1), s.share(2), s.shards.clone()], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("shards: cannot read"),
        "{}",
        stderr(&out)
    );
    let out = symbolon().arg("inspect").arg(&missing).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("missing.bin"));
}

#[test]
fn garbage_is_not_a_shard() {
    let dir = TempDir::new().unwrap();
    let junk = dir.path().join("junk.sym");
    fs::write(&junk, b"this is not a shard at all").unwrap();
    let out = symbolon().arg("inspect").arg(&junk).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.starts_with("error: ") && err.contains("junk.sym"),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
}

#[test]
fn bad_split_arguments_are_refused_before_anything_is_written() {
    let dir = TempDir::new().unwrap();
    let out_dir = dir.path().join("s");
    let cases: &[(&[&str], &str)] = &[
        (&["-t", "4", "-n", "3"], "invalid threshold 4 for 3 shares"),
        (&["-t", "0", "-n", "3"], "invalid threshold 0"),
        (&["-t", "2", "-n", "300"], "at most 255"),
        (
            &["-t", "2", "-n", "3", "--recipient", "a=symbolon1xyz"],
            "--recipient",
        ),
        (
            &["-t", "2", "-n", "3", "--recipient", "novalue"],
            "expected ID=PUBLIC",
        ),
        (
            &["-t", "2", "-n", "3", "--expires-in", "whenever"],
            "--expires-in",
        ),
        (
            &["-t", "2", "-n", "3", "--label", "a\x1b[2Jb"],
            "control characters",
        ),
        (
            &["-t", "2", "-n", "3", "--expires-at", "2001-01-01T00:00:00Z"],
            "not in the future",
        ),
    ];
    for (args, expect) in cases {
        let out = symbolon()
            .arg("split")
            .args(*args)
            .arg("--out-dir")
            .arg(&out_dir)
            .write_stdin("secret")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = stderr(&out);
        assert!(err.contains(expect), "{args:?}: {err}");
        assert!(!out_dir.exists(), "{args:?} wrote output");
    }
    // Recipient count must match.
    let (_, public) = keygen(dir.path(), "only");
    let r = format!("only={public}");
    let out = symbolon()
        .args([
            "split",
            "-t",
            "2",
            "-n",
            "3",
            "--recipient",
            &r,
            "--out-dir",
        ])
        .arg(&out_dir)
        .write_stdin("secret")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("1 recipients given for 3 shares"));
    // Empty secret.
    let out = symbolon()
        .args(["split", "-t", "2", "-n", "3", "--out-dir"])
        .arg(&out_dir)
        .write_stdin("")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("empty"));
}

#[test]
fn split_never_overwrites_shards_without_force() {
    let s = split(10, &[]);
    let before = fs::read(s.share(1)).unwrap();
    let input = s.dir.path().join("secret.bin");
    let out = symbolon()
        .args(["split", "-t", "3", "-n", "5", "--in"])
        .arg(&input)
        .arg("--out-dir")
        .arg(&s.shards)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("share-1.sym: already exists"),
        "{}",
        stderr(&out)
    );
    assert_eq!(fs::read(s.share(1)).unwrap(), before);
    symbolon()
        .args(["split", "-t", "3", "-n", "5", "--force", "--in"])
        .arg(&input)
        .arg("--out-dir")
        .arg(&s.shards)
        .assert()
        .success();
    assert_ne!(fs::read(s.share(1)).unwrap(), before);
}

#[test]
fn inspect_shows_metadata_but_never_the_share() {
    let s = split(64, &["--label", "db master key", "--expires-in", "30d"]);
    let out = symbolon()
        .arg("inspect")
        .arg("--json")
        .arg(s.share(4))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["index"], 4);
    assert_eq!(json["threshold"], 3);
    assert_eq!(json["shares"], 5);
    assert_eq!(json["label"], "db master key");
    assert_eq!(json["signature_valid"], true);
    assert_eq!(json["sealed"], false);
    assert_eq!(json["expired"], false);
    assert!(json["expires_at"].is_string());
    // Neither form of the output may contain the share, in any encoding.
    let shard = symbolon_envelope::Envelope::parse(&std::fs::read(s.share(4)).unwrap()).unwrap();
    let share = shard.open(None).unwrap();
    let encodings = [
        hex::encode(&*share),
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &*share),
    ];
    let json_text = String::from_utf8(out.stdout.clone()).unwrap();
    let text = symbolon().arg("inspect").arg(s.share(4)).output().unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    for encoded in &encodings {
        assert!(
            !json_text.contains(encoded.as_str()),
            "JSON shows the share"
        );
        assert!(!text.contains(encoded.as_str()), "text shows the share");
    }
    assert!(
        text.contains("share:       4 of 5 (any 3 rebuild)"),
        "{text}"
    );
    assert!(text.contains("db master key"));
}

/// The entries of `dir`, sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_failed_split_replaces_no_shard_and_leaves_no_temporary_file() {
    let all: Vec<String> = (1..=5).map(|i| format!("share-{i}.sym")).collect();
    // In memory (binary and armored) and streamed (clear binary SSMS).
    for (len, extra) in [(10, &[][..]), (10, &["--armor"][..]), (100_000, &[][..])] {
        let s = split(len, extra);
        let before: Vec<Vec<u8>> = (1..=5).map(|i| fs::read(s.share(i)).unwrap()).collect();
        // A directory where share 4 goes: its rename cannot succeed.
        fs::remove_file(s.share(4)).unwrap();
        fs::create_dir(s.share(4)).unwrap();
        let input = s.dir.path().join("other.bin");
        fs::write(&input, secret(len + 7)).unwrap();
        let out = symbolon()
            .args(["split", "-t", "3", "-n", "5", "--force", "--in"])
            .arg(&input)
            .arg("--out-dir")
            .arg(&s.shards)
            .args(extra)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{len} {extra:?}");
        assert!(
            stderr(&out).contains("share-4.sym: cannot write"),
            "{}",
            stderr(&out)
        );
        for i in [1, 2, 3, 5] {
            assert_eq!(
                fs::read(s.share(i)).unwrap(),
                before[i - 1],
                "share {i} was replaced ({len} {extra:?})"
            );
        }
        assert!(s.share(4).is_dir());
        assert_eq!(entries(&s.shards), all, "{len} {extra:?}");
        // The old shards still rebuild the old secret.
        let out = combine(&[s.share(1), s.share(3), s.share(5)], &[]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(out.stdout, s.secret);
    }

    // Into an empty directory: no shard appears at all.
    let dir = TempDir::new().unwrap();
    let input = dir.path().join("secret.bin");
    fs::write(&input, secret(100_000)).unwrap();
    let shards = dir.path().join("shards");
    fs::create_dir_all(shards.join("share-2.sym")).unwrap();
    let out = symbolon()
        .args(["split", "-t", "2", "-n", "3", "--force", "--in"])
        .arg(&input)
        .arg("--out-dir")
        .arg(&shards)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(entries(&shards), ["share-2.sym"]);
}

#[test]
fn ca_issue_refuses_to_replace_a_key_without_force() {
    let tmp = TempDir::new().unwrap();
    let ca = tmp.path().join("ca");
    symbolon()
        .args(["ca", "init", "--dir"])
        .arg(&ca)
        .assert()
        .success();
    let certs = tmp.path().join("certs");
    let issue = |extra: &[&str]| {
        symbolon()
            .args(["ca", "issue", "--role", "custodian", "--name", "c1", "--ca"])
            .arg(&ca)
            .arg("--out-dir")
            .arg(&certs)
            .args(extra)
            .output()
            .unwrap()
    };
    let (key, cert) = (certs.join("c1.key"), certs.join("c1.pem"));
    let first = issue(&[]);
    assert!(first.status.success(), "{}", stderr(&first));
    let (key_before, cert_before) = (fs::read(&key).unwrap(), fs::read(&cert).unwrap());

    let again = issue(&[]);
    assert_eq!(again.status.code(), Some(1));
    assert_eq!(
        stderr(&again).trim_end(),
        format!(
            "error: {}: already exists; remove it or pass --force",
            key.display()
        )
    );
    assert_eq!(fs::read(&key).unwrap(), key_before);
    assert_eq!(fs::read(&cert).unwrap(), cert_before);
    assert_eq!(entries(&certs), ["c1.key", "c1.pem"]);

    // Only the certificate left: still refused, naming it, and no key written.
    fs::remove_file(&key).unwrap();
    let again = issue(&[]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        stderr(&again).contains(&format!("{}: already exists", cert.display())),
        "{}",
        stderr(&again)
    );
    assert_eq!(entries(&certs), ["c1.pem"]);

    let forced = issue(&["--force"]);
    assert!(forced.status.success(), "{}", stderr(&forced));
    assert_ne!(fs::read(&cert).unwrap(), cert_before);
    assert!(
        fs::read_to_string(&key)
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----\n")
    );
    assert_eq!(
        fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(entries(&certs), ["c1.key", "c1.pem"]);
}
