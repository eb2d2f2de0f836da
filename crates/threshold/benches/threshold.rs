//! FROST-Ed25519 signing and TDH2 decryption, 3-of-5, in process.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use symbolon_threshold::{ed25519, tdh2};

const MESSAGE: &[u8] = b"a 32-byte digest of the request!";
const LABEL: &[u8] = b"key-1/v1";

fn frost(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::from_seed([1; 32]);
    let (group, dealt) = ed25519::deal(3, 5, &mut rng).unwrap();
    let shares: Vec<ed25519::KeyShare> = dealt
        .iter()
        .map(|d| ed25519::KeyShare::from_dealt(&d.to_bytes()).unwrap())
        .collect();
    let signers = [&shares[0], &shares[2], &shares[4]];

    let round_one = |rng: &mut ChaCha20Rng| {
        let mut nonces = Vec::new();
        let mut commitments = BTreeMap::new();
        for s in signers {
            let (n, c) = ed25519::commit(s, rng);
            nonces.push(n);
            commitments.insert(s.index(), c);
        }
        let package = ed25519::SigningPackage::new(MESSAGE, &commitments).unwrap();
        (nonces, package)
    };
    let round_two = |nonces: Vec<ed25519::SigningNonces>, package: &ed25519::SigningPackage| {
        signers
            .iter()
            .zip(nonces)
            .map(|(s, n)| (s.index(), ed25519::sign(s, n, package).unwrap()))
            .collect::<BTreeMap<u16, ed25519::SignatureShare>>()
    };

    let mut group_bench = c.benchmark_group("frost-ed25519 3-of-5");
    group_bench.bench_function("full sign (3 commit + 3 sign + aggregate)", |b| {
        b.iter(|| {
            let (nonces, package) = round_one(&mut rng);
            let sig_shares = round_two(nonces, &package);
            black_box(ed25519::aggregate(&package, &sig_shares, &group).unwrap())
        });
    });
    group_bench.bench_function("sign share", |b| {
        b.iter_batched(
            || {
                let (mut nonces, package) = round_one(&mut rng);
                (nonces.swap_remove(0), package)
            },
            |(n, package)| black_box(ed25519::sign(signers[0], n, &package).unwrap()),
            BatchSize::SmallInput,
        );
    });
    let (nonces, package) = round_one(&mut rng);
    let sig_shares = round_two(nonces, &package);
    group_bench.bench_function("aggregate (3 shares)", |b| {
        b.iter(|| black_box(ed25519::aggregate(&package, &sig_shares, &group).unwrap()));
    });
    group_bench.finish();
}

fn tdh2(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::from_seed([2; 32]);
    let (group, shares) = tdh2::deal(3, 5, &mut rng).unwrap();
    let plaintext = [0x42u8; 64];
    let ciphertext = tdh2::encrypt(&group, LABEL, &plaintext, &mut rng).unwrap();
    let partials: Vec<tdh2::DecryptionShare> = [&shares[0], &shares[2], &shares[4]]
        .iter()
        .map(|s| tdh2::decrypt_share(s, &ciphertext, LABEL, &mut rng).unwrap())
        .collect();

    let mut bench = c.benchmark_group("tdh2 3-of-5, 64-byte plaintext");
    bench.bench_function("encrypt", |b| {
        b.iter(|| black_box(tdh2::encrypt(&group, LABEL, &plaintext, &mut rng).unwrap()));
    });
    bench.bench_function("decrypt_share (ciphertext check + share + proof)", |b| {
        b.iter(|| {
            black_box(tdh2::decrypt_share(&shares[0], &ciphertext, LABEL, &mut rng).unwrap())
        });
    });
    bench.bench_function("verify_decryption_share", |b| {
        b.iter(|| tdh2::verify_decryption_share(&group, &ciphertext, &partials[1]).unwrap());
    });
    bench.bench_function("combine 3 (all proof checks)", |b| {
        b.iter(|| black_box(tdh2::combine(&group, &ciphertext, LABEL, &partials).unwrap()));
    });
    bench.finish();
}

criterion_group!(benches, frost, tdh2);
criterion_main!(benches);
