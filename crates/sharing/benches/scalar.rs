//! Benchmarks for Shamir over the ristretto255 scalar field with Feldman
//! commitments: split, verify, combine, and the per-holder cost of refresh,
//! reshare and repair, at (t, n) = (3, 5) and (10, 16). `vsss-rs` split and
//! verify run alongside as a baseline.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use curve25519_dalek::{RistrettoPoint, Scalar};
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use std::hint::black_box;
use symbolon_sharing::scalar::{self, DealerCommitments, SubShare, refresh, repair, reshare};

const PARAMS: [(usize, usize); 2] = [(3, 5), (10, 16)];

fn rng() -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(0x5ca1a5)
}

fn secret(rng: &mut ChaCha20Rng) -> Scalar {
    let mut wide = [0u8; 64];
    rng.fill_bytes(&mut wide);
    Scalar::from_bytes_mod_order_wide(&wide)
}

fn id(t: usize, n: usize) -> String {
    format!("{t}-of-{n}")
}

fn core(c: &mut Criterion) {
    let mut group = c.benchmark_group("scalar");
    for (t, n) in PARAMS {
        let mut rng = rng();
        let s = secret(&mut rng);
        let (shares, commitments) = scalar::split(&s, t, n, &mut rng).unwrap();
        group.bench_function(BenchmarkId::new("split", id(t, n)), |b| {
            b.iter(|| scalar::split(black_box(&s), t, n, &mut rng).unwrap())
        });
        group.bench_function(BenchmarkId::new("verify_one", id(t, n)), |b| {
            b.iter(|| scalar::verify(black_box(&shares[n - 1]), &commitments).unwrap())
        });
        group.bench_function(BenchmarkId::new("combine", id(t, n)), |b| {
            b.iter(|| scalar::combine(black_box(&shares[..t]), t).unwrap())
        });
        group.bench_function(BenchmarkId::new("combine_verified", id(t, n)), |b| {
            b.iter(|| scalar::combine_verified(black_box(&shares[..t]), &commitments).unwrap())
        });
    }
    group.finish();
}

fn vsss_baseline(c: &mut Criterion) {
    use vsss_rs::{DefaultShare, FeldmanVerifierSet, IdentifierPrimeField, ValueGroup, feldman};
    type VsssShare = DefaultShare<IdentifierPrimeField<Scalar>, IdentifierPrimeField<Scalar>>;
    let mut group = c.benchmark_group("vsss-rs");
    for (t, n) in PARAMS {
        let mut rng = rng();
        let s = IdentifierPrimeField(secret(&mut rng));
        let split = |rng: &mut ChaCha20Rng| {
            feldman::split_secret::<VsssShare, ValueGroup<RistrettoPoint>>(t, n, &s, None, rng)
                .unwrap()
        };
        let (shares, verifiers) = split(&mut rng);
        group.bench_function(BenchmarkId::new("split", id(t, n)), |b| {
            b.iter(|| split(&mut rng))
        });
        group.bench_function(BenchmarkId::new("verify_one", id(t, n)), |b| {
            b.iter(|| verifiers.verify_share(black_box(&shares[n - 1])).unwrap())
        });
    }
    group.finish();
}

fn moves(c: &mut Criterion) {
    let mut group = c.benchmark_group("scalar-moves");
    for (t, n) in PARAMS {
        let mut rng = rng();
        let s = secret(&mut rng);
        let (shares, commitments) = scalar::split(&s, t, n, &mut rng).unwrap();
        let indices: Vec<u8> = shares.iter().map(|s| s.index()).collect();

        // Refresh: every holder deals to all n; each applies n dealings.
        let dealings: Vec<_> = indices
            .iter()
            .map(|&d| refresh::deal(d, &commitments, &indices, &mut rng).unwrap())
            .collect();
        let public: Vec<DealerCommitments> = dealings.iter().map(|d| d.public().clone()).collect();
        let mine: Vec<SubShare> = dealings
            .iter()
            .map(|d| d.sub_share_for(1).unwrap().clone())
            .collect();
        group.bench_function(BenchmarkId::new("refresh_deal", id(t, n)), |b| {
            b.iter(|| refresh::deal(1, &commitments, &indices, &mut rng).unwrap())
        });
        group.bench_function(BenchmarkId::new("refresh_apply", id(t, n)), |b| {
            b.iter(|| refresh::apply(&shares[0], &commitments, &public, black_box(&mine)).unwrap())
        });

        // Reshare: t old holders deal to n new holders with the same (t, n).
        let new_indices: Vec<u8> = (101..101 + n as u8).collect();
        let dealings: Vec<_> = shares[..t]
            .iter()
            .map(|s| reshare::deal(s, t, &new_indices, &mut rng).unwrap())
            .collect();
        let public: Vec<DealerCommitments> = dealings.iter().map(|d| d.public().clone()).collect();
        let mine: Vec<SubShare> = dealings
            .iter()
            .map(|d| d.sub_share_for(101).unwrap().clone())
            .collect();
        group.bench_function(BenchmarkId::new("reshare_deal", id(t, n)), |b| {
            b.iter(|| reshare::deal(&shares[0], t, &new_indices, &mut rng).unwrap())
        });
        group.bench_function(BenchmarkId::new("reshare_apply", id(t, n)), |b| {
            b.iter(|| reshare::apply(101, &commitments, t, &public, black_box(&mine)).unwrap())
        });

        // Repair share n from helpers 1..=t.
        let lost = n as u8;
        let helpers: Vec<u8> = (1..=t as u8).collect();
        let dealings: Vec<_> = shares[..t]
            .iter()
            .map(|s| repair::deal(s, &helpers, lost, &mut rng).unwrap())
            .collect();
        let public: Vec<_> = dealings.iter().map(|d| d.public().clone()).collect();
        let pieces_for = |k: u8| -> Vec<SubShare> {
            dealings
                .iter()
                .map(|d| {
                    d.pieces()
                        .iter()
                        .find(|p| p.recipient() == k)
                        .unwrap()
                        .clone()
                })
                .collect()
        };
        let sums: Vec<SubShare> = helpers
            .iter()
            .map(|&k| repair::aggregate(k, &commitments, &public, &pieces_for(k)).unwrap())
            .collect();
        let mine = pieces_for(1);
        group.bench_function(BenchmarkId::new("repair_deal", id(t, n)), |b| {
            b.iter(|| repair::deal(&shares[0], &helpers, lost, &mut rng).unwrap())
        });
        group.bench_function(BenchmarkId::new("repair_aggregate", id(t, n)), |b| {
            b.iter(|| repair::aggregate(1, &commitments, &public, black_box(&mine)).unwrap())
        });
        group.bench_function(BenchmarkId::new("repair_recover", id(t, n)), |b| {
            b.iter(|| repair::recover(&commitments, &public, black_box(&sums)).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, core, vsss_baseline, moves);
criterion_main!(benches);
