#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

//! Audit log append throughput on SQLite (issue target: >= 20,000 appends/s
//! with proofs available). Each append is a `request.created` entry written
//! with its request row, as the coordinator does; appends that arrive while
//! a transaction is open share the next one (group commit). Prints
//! appends/s for 1 and 32 concurrent appenders and the inclusion proof rate.
//!
//! `cargo bench -p symbolon-coordinator --bench audit` (set
//! `SYMBOLON_BENCH_APPENDS` to change the count, default 20,000).

use std::time::Duration;

fn rate(n: u64, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

fn main() {
    // Under `cargo test --benches` (no `--bench` argument) run a small
    // smoke pass only.
    let bench = std::env::args().any(|a| a == "--bench");
    let total: u64 = if bench {
        std::env::var("SYMBOLON_BENCH_APPENDS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(20_000)
    } else {
        200
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    for (with_requests, what) in [
        (true, "request.created + request row"),
        (false, "entry only"),
    ] {
        for appenders in [1u64, 32] {
            let dir = tempfile::tempdir().unwrap();
            let (appended, proved) = runtime.block_on(symbolon_coordinator::bench_support::append(
                dir.path(),
                total,
                appenders,
                with_requests,
            ));
            println!(
                "audit append ({what}), SQLite, {appenders:>2} appender(s): {total} in {:.2} s = \
                 {:.0} appends/s; inclusion proofs {:.0}/s",
                appended.as_secs_f64(),
                rate(total, appended),
                rate(total, proved),
            );
        }
    }
}
