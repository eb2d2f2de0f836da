//! Appends per second with an inclusion proof for each new leaf, on a tree
//! that already holds 1e5 leaves (in memory; the coordinator adds SQLite).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use symbolon_audit::{Entry, EventKind, Tree, leaf_hash, verify_inclusion};

const BASE: u64 = 100_000;
const BATCH: u64 = 1_000;

fn base_tree() -> Tree {
    Tree::from_leaf_hashes((0..BASE).map(|i| leaf_hash(&i.to_be_bytes())))
}

fn bench(c: &mut Criterion) {
    let base = base_tree();
    let mut group = c.benchmark_group("audit");
    group.throughput(Throughput::Elements(BATCH));

    group.bench_function("append+inclusion_proof (1e5 leaves, 1000 appends)", |b| {
        b.iter_batched(
            || base.clone(),
            |mut tree| {
                for i in 0..BATCH {
                    let index = tree.append(leaf_hash(&(BASE + i).to_be_bytes()));
                    black_box(tree.inclusion_proof(index, tree.size()).unwrap());
                }
                tree
            },
            BatchSize::LargeInput,
        );
    });

    group.bench_function(
        "encode entry+append+proof+root (1e5 leaves, 1000 appends)",
        |b| {
            let mut entry = Entry::new(EventKind::RequestCompleted, 1_700_000_000_000, "alice");
            entry.key_id = Some("payments".into());
            entry.key_version = Some(3);
            entry.request_digest = Some([7; 32]);
            entry.custodians = vec!["c1".into(), "c2".into(), "c3".into()];
            entry.outcome = Some("ok".into());
            b.iter_batched(
                || base.clone(),
                |mut tree| {
                    for i in 0..BATCH {
                        entry.time_ms = i;
                        let index = tree.append(entry.leaf_hash().unwrap());
                        black_box(tree.inclusion_proof(index, tree.size()).unwrap());
                        black_box(tree.current_root());
                    }
                    tree
                },
                BatchSize::LargeInput,
            );
        },
    );

    group.throughput(Throughput::Elements(1));
    let size = base.size();
    let root = base.current_root();
    let proof = base.inclusion_proof(12_345, size).unwrap();
    let leaf = base.leaf(12_345).unwrap();
    group.bench_function("verify_inclusion (1e5 leaves)", |b| {
        b.iter(|| verify_inclusion(&leaf, 12_345, size, black_box(&proof), &root).unwrap());
    });
    group.bench_function("consistency_proof (1e5 leaves)", |b| {
        b.iter(|| black_box(base.consistency_proof(black_box(54_321), size).unwrap()));
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
