#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

//! Request-row throughput: one insert + one completion per operation, as
//! the coordinator writes for every decrypt/sign/release, on a temporary
//! SQLite file (WAL, synchronous=NORMAL).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use symbolon_store::{NewRequest, RequestOutcome, Store};

/// Concurrent callers in the parallel case.
const TASKS: u64 = 8;

async fn pair(store: &Store, n: u64, custodians: &[String]) {
    let id = format!("req-{n:016x}");
    store
        .insert_request(&NewRequest {
            id: id.clone(),
            key_id: "0123456789abcdef0123456789abcdef".to_owned(),
            version: 1,
            op: "decrypt".to_owned(),
            requester: "bench-client".to_owned(),
            created_at: 1_700_000_000_000,
        })
        .await
        .unwrap();
    store
        .complete_request(&id, 1_700_000_000_003, RequestOutcome::Ok, custodians, None)
        .await
        .unwrap();
}

fn requests(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = runtime
        .block_on(Store::open_sqlite(&dir.path().join("bench.db")))
        .unwrap();
    let next = Arc::new(AtomicU64::new(0));
    let custodians: Arc<[String]> = ["c1", "c2", "c3"].map(String::from).into();

    let mut group = c.benchmark_group("requests");
    group.throughput(Throughput::Elements(1));

    group.bench_function("insert+complete/sequential", |b| {
        b.to_async(&runtime).iter(|| {
            let n = next.fetch_add(1, Ordering::Relaxed);
            let store = &store;
            let custodians = &custodians;
            async move { pair(store, n, custodians).await }
        });
    });

    group.bench_function(format!("insert+complete/{TASKS}-tasks"), |b| {
        b.to_async(&runtime).iter_custom(|iters| {
            let store = store.clone();
            let next = next.clone();
            let custodians = custodians.clone();
            async move {
                let start = Instant::now();
                let per_task = iters.div_ceil(TASKS);
                let tasks: Vec<_> = (0..TASKS)
                    .map(|_| {
                        let store = store.clone();
                        let next = next.clone();
                        let custodians = custodians.clone();
                        tokio::spawn(async move {
                            for _ in 0..per_task {
                                let n = next.fetch_add(1, Ordering::Relaxed);
                                pair(&store, n, &custodians).await;
                            }
                        })
                    })
                    .collect();
                for task in tasks {
                    task.await.unwrap();
                }
                let elapsed = start.elapsed();
                // Scale to exactly `iters` pairs.
                elapsed.mul_f64(iters as f64 / (per_task * TASKS) as f64)
            }
        });
    });
    group.finish();
    runtime.block_on(store.close());
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = requests
}
criterion_main!(benches);
