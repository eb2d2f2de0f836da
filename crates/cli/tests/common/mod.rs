//! The harness the `symbolon` integration tests share: the binary, output
//! checks, and a real `symbolon dev` cluster started and stopped as a user
//! does.
// Each test crate uses its own part of the harness.
#![allow(dead_code)]

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use assert_cmd::cargo::CommandCargoExt as _;
use serde_json::Value;

/// The `symbolon` binary, ignoring the caller's `SYMBOLON_CONFIG`.
pub(crate) fn symbolon() -> Command {
    let mut cmd = Command::cargo_bin("symbolon").unwrap();
    cmd.env_remove("SYMBOLON_CONFIG");
    cmd
}

pub(crate) fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub(crate) fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Expects success; returns standard output.
pub(crate) fn succeeds(out: &Output) -> String {
    assert!(out.status.success(), "{}", stderr(out));
    stdout(out)
}

/// Expects a failure whose stderr contains `needle`, and no panic.
pub(crate) fn fails_with(out: &Output, needle: &str) {
    assert!(
        !out.status.success(),
        "expected failure, got success: {}",
        stdout(out)
    );
    let err = stderr(out);
    assert!(err.contains(needle), "expected {needle:?} in: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// A client command against the cluster in `dir`, to run as the caller
/// likes.
pub(crate) fn client_command(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = symbolon();
    cmd.args(args).arg("--config").arg(dir.join("client.toml"));
    cmd
}

/// Runs a client command against the cluster in `dir`.
pub(crate) fn client(dir: &Path, args: &[&str]) -> Output {
    client_command(dir, args).output().unwrap()
}

/// A running `symbolon dev`; stopped with SIGINT when dropped, so a failing
/// test does not leave daemons behind. Its standard error goes to
/// `<dir>.log`.
pub(crate) struct Dev {
    child: Option<Child>,
    dir: PathBuf,
    /// What it printed up to "Ctrl-C stops the cluster".
    pub(crate) banner: String,
}

impl Dev {
    /// Starts `symbolon dev --data-dir dir` and waits for its banner.
    pub(crate) fn start(dir: &Path) -> Dev {
        let log_path = PathBuf::from(format!("{}.log", dir.display()));
        let log = std::fs::File::create(&log_path).unwrap();
        let mut child = symbolon()
            .args(["dev", "--data-dir"])
            .arg(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        // Reads to the end, so the cluster never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut banner = String::new();
            for line in BufReader::new(out).lines() {
                let line = line.unwrap_or_default();
                banner.push_str(&line);
                banner.push('\n');
                if line.contains("Ctrl-C stops the cluster") {
                    let _ = tx.send(banner.clone());
                }
            }
        });
        let mut dev = Dev {
            child: Some(child),
            dir: dir.to_owned(),
            banner: String::new(),
        };
        match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(banner) => dev.banner = banner,
            Err(_) => panic!(
                "symbolon dev did not come up within 120 s: {}",
                std::fs::read_to_string(&log_path).unwrap_or_default()
            ),
        }
        dev
    }

    /// Runs a client command against this cluster.
    pub(crate) fn run(&self, args: &[&str]) -> Output {
        client(&self.dir, args)
    }

    /// Runs a client command that must succeed; returns its standard output.
    pub(crate) fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        stdout(&out)
    }

    /// Runs a client command that must succeed and print JSON.
    pub(crate) fn json(&self, args: &[&str]) -> Value {
        serde_json::from_str(&self.ok(args)).unwrap()
    }

    /// Runs a client command with `input` on standard input; it must
    /// succeed. Returns its standard output.
    pub(crate) fn run_with_stdin(&self, args: &[&str], input: &[u8]) -> Vec<u8> {
        let out = with_stdin(self.command(args), input);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        out.stdout
    }

    /// A client command against this cluster, to run as the caller likes.
    pub(crate) fn command(&self, args: &[&str]) -> Command {
        client_command(&self.dir, args)
    }

    /// Stops the cluster with SIGINT and checks that it exits cleanly.
    pub(crate) fn stop(mut self) {
        let child = self.child.take().unwrap();
        interrupt(child, true);
    }
}

impl Drop for Dev {
    fn drop(&mut self) {
        if let Some(child) = self.child.take() {
            interrupt(child, false);
        }
    }
}

/// Runs `cmd` with `input` on standard input; returns what it did, success
/// or not.
pub(crate) fn with_stdin(mut cmd: Command, input: &[u8]) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    // Written from another thread: a command that fails early stops
    // reading, and its output must still be collected.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

/// Sends SIGINT (what Ctrl-C sends) and waits up to 30 s for the exit,
/// which must be clean if `check`; kills the process after that.
pub(crate) fn interrupt(mut child: Child, check: bool) {
    if let Ok(pid) = i32::try_from(child.id())
        && let Some(pid) = rustix::process::Pid::from_raw(pid)
    {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::INT);
    }
    for _ in 0..300 {
        if let Ok(Some(status)) = child.try_wait() {
            if check {
                assert!(status.success(), "{status}");
            }
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(!check, "the process did not stop within 30 s of SIGINT");
}
