//! GF(2^8) byte-wise Shamir: split and combine, ours against vsss-rs's
//! `Gf256` byte sharing, blahaj, a memcpy of the same bytes and the CSPRNG
//! floor.
//!
//! Groups (`Throughput::Bytes` is the secret length throughout):
//!
//! * `split/{t}-of-{n}/{size}` and `combine/{t}-of-{n}/{size}` for
//!   (t, n) in {(3, 5), (10, 16)} and size in {32 B, 1 MiB, 64 MiB}:
//!   - `symbolon/chacha12`, `symbolon/chacha20`: [`bytes::split`] with the
//!     fastest backend and the caller's RNG (the ones a caller is likely to
//!     pass); `combine` has no RNG;
//!   - `symbolon-{backend}` (1 MiB only): each available kernel backend forced;
//!   - `vsss-rs/chacha12`, `blahaj/chacha12`: the baselines, same RNG;
//!   - `memcpy`: copying the bytes the operation writes into fresh buffers
//!     (split: `n` copies of the secret; combine: one copy of a share);
//!   - `drop/zeroize` (combine only): dropping one secret of that size,
//!     which zeroizes it (`SecretBytes`); not included in the figures
//!     above, which drop every implementation's output untimed;
//!   - `rng-floor/chacha12`, `rng-floor/chacha20` (split only): filling the
//!     `t - 1` coefficient bytes per secret byte that split must draw, in
//!     [`bytes::BLOCK`]-sized calls, with nothing else: the lower bound of
//!     split's time for that RNG.
//! * `kernels/{op}/64KiB/{backend}`: the raw `mul_acc` / `mul_add` kernels.
//!
//! The baselines are skipped at 64 MiB: they run at 1-100 MB/s, so one
//! iteration would take seconds to a minute and the whole run hours; their
//! cost per byte does not depend on the size (no caching effects at 1 MiB),
//! so compare against their 1 MiB figures.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{
    BatchSize, Bencher, BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group,
    criterion_main,
};
use rand_chacha::{ChaCha12Rng, ChaCha20Rng};
use rand_core::{Rng, SeedableRng};
use symbolon_sharing::bytes::{self, Share};
use symbolon_sharing::{SecretBytes, field};
use vsss_rs::Gf256;

const KIB: usize = 1024;
const MIB: usize = 1024 * KIB;
const PARAMS: [(usize, usize); 2] = [(3, 5), (10, 16)];
const SIZES: [usize; 3] = [32, MIB, 64 * MIB];

fn size_name(size: usize) -> String {
    match size {
        s if s >= MIB => format!("{}MiB", s / MIB),
        s if s >= KIB => format!("{}KiB", s / KIB),
        s => format!("{s}B"),
    }
}

fn secret(len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    ChaCha20Rng::seed_from_u64(42).fill_bytes(&mut v);
    v
}

fn backend_name(b: field::Backend) -> &'static str {
    match b {
        field::Backend::Portable => "portable",
        field::Backend::Ssse3 => "ssse3",
        field::Backend::Avx2 => "avx2",
        field::Backend::Avx512 => "avx512",
        _ => "other",
    }
}

/// Times `f`, dropping its output outside the measurement: every
/// implementation is charged for producing its output, none for freeing it
/// (ours zeroizes on drop, which `drop/zeroize` measures separately).
fn run<O>(b: &mut Bencher<'_>, size: usize, mut f: impl FnMut() -> O) {
    let batch = if size >= MIB {
        BatchSize::PerIteration
    } else {
        BatchSize::SmallInput
    };
    b.iter_batched(|| (), |()| f(), batch);
}

fn configure(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    size: usize,
) {
    group.throughput(Throughput::Bytes(size as u64));
    if size >= 64 * MIB {
        group
            .sample_size(10)
            .sampling_mode(SamplingMode::Flat)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(10));
    } else if size >= MIB {
        group
            .sample_size(10)
            .sampling_mode(SamplingMode::Flat)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(4));
    }
}

fn split(c: &mut Criterion) {
    for (t, n) in PARAMS {
        for size in SIZES {
            let data = secret(size);
            let mut group = c.benchmark_group(format!("split/{t}-of-{n}/{}", size_name(size)));
            configure(&mut group, size);

            let mut rng12 = ChaCha12Rng::seed_from_u64(1);
            group.bench_function("symbolon/chacha12", |b| {
                run(b, size, || {
                    bytes::split(black_box(&data), t, n, &mut rng12).unwrap()
                })
            });
            let mut rng20 = ChaCha20Rng::seed_from_u64(1);
            group.bench_function("symbolon/chacha20", |b| {
                run(b, size, || {
                    bytes::split(black_box(&data), t, n, &mut rng20).unwrap()
                })
            });
            if size == MIB {
                for backend in field::Backend::available() {
                    group.bench_function(
                        format!("symbolon-{}/chacha12", backend_name(backend)),
                        |b| {
                            run(b, size, || {
                                field::with_backend(backend, || {
                                    bytes::split(black_box(&data), t, n, &mut rng12).unwrap()
                                })
                            })
                        },
                    );
                }
            }
            if size <= MIB {
                group.bench_function("vsss-rs/chacha12", |b| {
                    run(b, size, || {
                        Gf256::split_bytes(t, n, black_box(&data), &mut rng12).unwrap()
                    })
                });
                let dealer = blahaj::Sharks(t as u8);
                group.bench_function("blahaj/chacha12", |b| {
                    run(b, size, || {
                        dealer
                            .dealer_rng(black_box(&data), &mut rng12)
                            .take(n)
                            .collect::<Vec<_>>()
                    })
                });
            }
            group.bench_function("memcpy", |b| {
                run(b, size, || {
                    (0..n)
                        .map(|_| black_box(&data).to_vec())
                        .collect::<Vec<_>>()
                })
            });
            let mut coefficients = vec![0u8; (t - 1) * bytes::BLOCK.min(size)];
            for (name, mut rng) in [
                (
                    "rng-floor/chacha12",
                    Box::new(ChaCha12Rng::seed_from_u64(2)) as Box<dyn Rng>,
                ),
                (
                    "rng-floor/chacha20",
                    Box::new(ChaCha20Rng::seed_from_u64(2)),
                ),
            ] {
                group.bench_function(name, |b| {
                    b.iter(|| {
                        let mut left = size;
                        while left > 0 {
                            let block = bytes::BLOCK.min(left);
                            rng.fill_bytes(&mut coefficients[..(t - 1) * block]);
                            left -= block;
                        }
                        black_box(&coefficients);
                    })
                });
            }
            group.finish();
        }
    }
}

fn combine(c: &mut Criterion) {
    for (t, n) in PARAMS {
        for size in SIZES {
            let data = secret(size);
            let mut rng = ChaCha12Rng::seed_from_u64(3);
            let shares: Vec<Share> = bytes::split(&data, t, n, &mut rng).unwrap();
            // Use the last t shares, so that no index is 1 (all Lagrange
            // coefficients are non-trivial).
            let ours: Vec<Share> = shares[n - t..].to_vec();
            let mut group = c.benchmark_group(format!("combine/{t}-of-{n}/{}", size_name(size)));
            configure(&mut group, size);

            group.bench_function("symbolon", |b| {
                run(b, size, || {
                    let s: SecretBytes = bytes::combine(black_box(&ours), t).unwrap();
                    s
                })
            });
            if size == MIB {
                for backend in field::Backend::available() {
                    group.bench_function(format!("symbolon-{}", backend_name(backend)), |b| {
                        run(b, size, || {
                            field::with_backend(backend, || {
                                bytes::combine(black_box(&ours), t).unwrap()
                            })
                        })
                    });
                }
            }
            if size <= MIB {
                let vsss: Vec<Vec<u8>> = ours
                    .iter()
                    .map(|s| {
                        let mut v = vec![s.index()];
                        v.extend_from_slice(s.expose_secret());
                        v
                    })
                    .collect();
                assert_eq!(Gf256::combine_bytes(&vsss).unwrap(), data);
                group.bench_function("vsss-rs", |b| {
                    run(b, size, || Gf256::combine_bytes(black_box(&vsss)).unwrap())
                });
                // blahaj uses another field polynomial (0x11d), so it combines
                // its own shares.
                let sharks = blahaj::Sharks(t as u8);
                let theirs: Vec<blahaj::Share> = sharks
                    .dealer_rng(&data, &mut rng)
                    .skip(n - t)
                    .take(t)
                    .collect();
                assert_eq!(sharks.recover(&theirs).unwrap(), data);
                group.bench_function("blahaj", |b| {
                    run(b, size, || sharks.recover(black_box(&theirs)).unwrap())
                });
            }
            group.bench_function("drop/zeroize", |b| {
                b.iter_batched(
                    || SecretBytes::new(vec![0x5a; size]),
                    drop,
                    BatchSize::PerIteration,
                )
            });
            group.bench_function("memcpy", |b| {
                run(b, size, || black_box(ours[0].expose_secret()).to_vec())
            });
            group.finish();
        }
    }
}

fn kernels(c: &mut Criterion) {
    let len = 64 * KIB;
    let src = secret(len);
    let mut dst = secret(len);
    let mut group = c.benchmark_group("kernels");
    group.throughput(Throughput::Bytes(len as u64));
    for backend in field::Backend::available() {
        let k = field::kernels(backend).unwrap();
        group.bench_function(
            BenchmarkId::new("mul_acc/64KiB", backend_name(backend)),
            |b| b.iter(|| k.mul_acc(black_box(&mut dst), black_box(&src), 0x53)),
        );
        group.bench_function(
            BenchmarkId::new("mul_add/64KiB", backend_name(backend)),
            |b| b.iter(|| k.mul_add(black_box(&mut dst), black_box(&src), 0x53)),
        );
    }
    group.finish();
}

criterion_group!(benches, split, combine, kernels);
criterion_main!(benches);
