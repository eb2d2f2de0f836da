//! Throughput of Krawczyk's short secret sharing at 3-of-5.
//!
//! `split` and `combine` of 64 MiB and 1 GiB; `combine` both from the
//! original shards (1, 2, 3: no erasure decoding) and from a mix that needs
//! decoding (1, 4, 5). Throughput is counted in secret bytes. Dropping the
//! result (freeing the fragments, wiping the combined secret) is not timed.
//!
//! Setup happens inside each benchmark's closure, so a filter such as
//! `split/64MiB` skips the gigabyte allocations of the others.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use symbolon_sharing::ssms::{self, Share};

const SIZES: [(&str, usize); 2] = [("64MiB", 64 << 20), ("1GiB", 1 << 30)];

fn secret(len: usize) -> Vec<u8> {
    let mut secret = vec![0u8; len];
    ChaCha20Rng::seed_from_u64(len as u64).fill_bytes(&mut secret);
    secret
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("ssms_3of5");
    group.sample_size(10);
    for (name, len) in SIZES {
        group.throughput(Throughput::Bytes(len as u64));
        group.bench_function(BenchmarkId::new("split", name), |b| {
            let secret = secret(len);
            let mut rng = ChaCha20Rng::seed_from_u64(1);
            b.iter_with_large_drop(|| ssms::split(&secret, 3, 5, &mut rng).unwrap());
        });
        for (label, picked) in [
            ("combine_originals", [0, 1, 2]),
            ("combine_decoding", [0, 3, 4]),
        ] {
            group.bench_function(BenchmarkId::new(label, name), |b| {
                let secret = secret(len);
                let shares =
                    ssms::split(&secret, 3, 5, &mut ChaCha20Rng::seed_from_u64(2)).unwrap();
                drop(secret);
                let used: Vec<Share> = picked.iter().map(|&i| shares[i].clone()).collect();
                drop(shares);
                b.iter_with_large_drop(|| ssms::combine(&used, 3).unwrap());
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
