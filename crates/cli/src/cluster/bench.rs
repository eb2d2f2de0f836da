//! `symbolon bench`: throughput and latency of `secret`-key operations
//! against a running cluster, beside the in-process floor of the same
//! cryptography.
//!
//! The cluster figure: `--clients` concurrent clients, each with its own
//! mutual-TLS connection, run `decrypt` (or `encrypt`) of `--size` bytes for
//! `--duration`; operations/s and p50/p99/max latency are printed.
//!
//! The floor: the same cryptography with the shares already in memory and no
//! network, on every core: draw an ephemeral HPKE key, have `t` "custodians"
//! seal their shard plaintexts to it, open and check each against its
//! commitment, combine, and run the AEAD operation. The ratio of the two is
//! what the HTTP, TLS, JSON, scheduling and the store cost.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use symbolon_envelope::{Envelope, Identity, Metadata, RecipientInfo, Scheme, verify_plaintext};
use symbolon_proto::api::{
    CreateKeyRequest, DecryptRequest, DecryptResponse, EncryptRequest, EncryptResponse, KeyInfo,
    KeyKind,
};
use symbolon_proto::ciphertext;
use symbolon_proto::release::{self, EphemeralKey, ReleaseContext};
use symbolon_sharing::SecretBytes;
use symbolon_sharing::bytes::{self, Share};

use super::Error;
use super::args::{BenchArgs, BenchOp};
use super::client::{Api, ClientConfig};

fn parse_scheme(text: &str) -> Result<(u16, u16), Error> {
    let bad = || Error::Usage(format!("--scheme {text:?}: expected T/N, e.g. 3/5"));
    let (t, n) = text.split_once('/').ok_or_else(bad)?;
    let t: u16 = t.trim().parse().map_err(|_| bad())?;
    let n: u16 = n.trim().parse().map_err(|_| bad())?;
    if t == 0 || t > n || n > 255 {
        return Err(bad());
    }
    Ok((t, n))
}

pub(crate) fn run(args: &BenchArgs) -> Result<(), Error> {
    let duration = humantime::parse_duration(&args.duration)
        .map_err(|e| Error::Usage(format!("--duration {:?}: {e}", args.duration)))?;
    if args.clients == 0 || args.clients > 4096 {
        return Err(Error::Usage("--clients must be 1..=4096".into()));
    }
    if args.size > 1 << 20 {
        return Err(Error::Usage("--size must be at most 1 MiB".into()));
    }
    let (t, n) = parse_scheme(&args.scheme)?;
    let config = ClientConfig::find(args.client.config.as_deref())?;
    let rt = super::runtime()?;
    let cluster = rt.block_on(cluster_bench(args, &config, duration, t, n))?;
    drop(rt);
    println!(
        "cluster   {:<7} {}-of-{} {} B, {} clients, {:.1} s: {:>8.0} ops/s  p50 {:>6.2} ms  p99 {:>6.2} ms  max {:>6.2} ms  errors {}",
        match args.op {
            BenchOp::Decrypt => "decrypt",
            BenchOp::Encrypt => "encrypt",
        },
        t,
        n,
        args.size,
        args.clients,
        cluster.elapsed.as_secs_f64(),
        cluster.ops_per_sec(),
        cluster.p50_ms,
        cluster.p99_ms,
        cluster.max_ms,
        cluster.errors,
    );
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let floor = floor_bench(t, n, args.size, Duration::from_secs(3), threads)?;
    println!(
        "floor     same cryptography in process, {threads} threads, no network: {floor:>8.0} ops/s"
    );
    println!(
        "ratio     cluster / floor = {:.1}%",
        100.0 * cluster.ops_per_sec() / floor.max(1.0)
    );
    if cluster.errors > 0 {
        return Err(Error::Dev(format!(
            "{} operations failed during the bench (first: {})",
            cluster.errors,
            cluster.first_error.unwrap_or_default()
        )));
    }
    Ok(())
}

struct ClusterResult {
    ops: u64,
    errors: u64,
    first_error: Option<String>,
    elapsed: Duration,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

impl ClusterResult {
    fn ops_per_sec(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

async fn cluster_bench(
    args: &BenchArgs,
    config: &ClientConfig,
    duration: Duration,
    t: u16,
    n: u16,
) -> Result<ClusterResult, Error> {
    let api = Api::new(config, Duration::from_secs(30))?;
    let name = format!("bench-{t}-of-{n}");
    match api.get::<KeyInfo>(&format!("/v1/keys/{name}")).await {
        Ok(_) => {}
        Err(Error::Api(p)) if p.status == 404 => {
            let request = CreateKeyRequest {
                name: name.clone(),
                kind: KeyKind::Secret,
                threshold: t,
                shares: n,
                distinct: None,
                import: None,
                dkg: false,
            };
            let _: KeyInfo = api.post("/v1/keys", &request).await?;
            eprintln!("created key {name} for the bench");
        }
        Err(e) => return Err(e),
    }
    let payload = vec![0x5a_u8; args.size];
    let sample: EncryptResponse = api
        .post(
            &format!("/v1/keys/{name}/encrypt"),
            &EncryptRequest {
                plaintext: symbolon_proto::SecretData::new(payload.clone()),
            },
        )
        .await?;
    let encrypt_path = format!("/v1/keys/{name}/encrypt");
    let decrypt_path = format!("/v1/keys/{name}/decrypt");
    let decrypt_body = DecryptRequest {
        ciphertext: sample.ciphertext,
    };
    let encrypt_body = EncryptRequest {
        plaintext: symbolon_proto::SecretData::new(payload),
    };
    // Warm up every client's connection before measuring.
    let mut clients = Vec::with_capacity(args.clients);
    for _ in 0..args.clients {
        clients.push(Api::new(config, Duration::from_secs(30))?);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let errors = Arc::new(AtomicU64::new(0));
    let first_error = Arc::new(std::sync::Mutex::new(None::<String>));
    let measuring = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for client in clients {
        let (stop, errors, first_error, measuring) = (
            stop.clone(),
            errors.clone(),
            first_error.clone(),
            measuring.clone(),
        );
        let (op, encrypt_path, decrypt_path) =
            (args.op, encrypt_path.clone(), decrypt_path.clone());
        let (encrypt_body, decrypt_body) = (encrypt_body.clone(), decrypt_body.clone());
        tasks.push(tokio::spawn(async move {
            // Precision 3 is always valid, so this never returns early.
            let Ok(mut histogram) = hdrhistogram::Histogram::<u64>::new(3) else {
                return None;
            };
            while !stop.load(Ordering::Relaxed) {
                let started = Instant::now();
                let result = match op {
                    BenchOp::Decrypt => client
                        .post::<_, DecryptResponse>(&decrypt_path, &decrypt_body)
                        .await
                        .map(|_| ()),
                    BenchOp::Encrypt => client
                        .post::<_, EncryptResponse>(&encrypt_path, &encrypt_body)
                        .await
                        .map(|_| ()),
                };
                if !measuring.load(Ordering::Relaxed) {
                    continue;
                }
                match result {
                    Ok(()) => {
                        let micros =
                            u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
                        let _ = histogram.record(micros.max(1));
                    }
                    Err(e) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                        if let Ok(mut first) = first_error.lock() {
                            first.get_or_insert_with(|| e.to_string());
                        }
                    }
                }
            }
            Some(histogram)
        }));
    }
    // One second of warm-up (connections, caches), then measure.
    tokio::time::sleep(Duration::from_secs(1)).await;
    measuring.store(true, Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(duration).await;
    measuring.store(false, Ordering::Relaxed);
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let mut total =
        hdrhistogram::Histogram::<u64>::new(3).map_err(|e| Error::Dev(e.to_string()))?;
    for task in tasks {
        let histogram = task
            .await
            .map_err(|e| Error::Dev(format!("bench client failed: {e}")))?;
        if let Some(histogram) = histogram {
            total
                .add(&histogram)
                .map_err(|e| Error::Dev(e.to_string()))?;
        }
    }
    let first_error = first_error.lock().ok().and_then(|g| g.clone());
    Ok(ClusterResult {
        ops: total.len(),
        errors: errors.load(Ordering::Relaxed),
        first_error,
        elapsed,
        p50_ms: total.value_at_quantile(0.50) as f64 / 1000.0,
        p99_ms: total.value_at_quantile(0.99) as f64 / 1000.0,
        max_ms: total.max() as f64 / 1000.0,
    })
}

/// One custodian's shard as the floor needs it.
struct Held {
    metadata: Metadata,
    plaintext: zeroize::Zeroizing<Vec<u8>>,
    id: String,
}

/// Operations/s of the same cryptography in process, on `threads` threads.
fn floor_bench(
    t: u16,
    n: u16,
    size: usize,
    duration: Duration,
    threads: usize,
) -> Result<f64, Error> {
    let mut rng = rand::rng();
    let secret = SecretBytes::from_slice(&[0x42; 32]);
    let shares = bytes::split(
        secret.expose_secret(),
        usize::from(t),
        usize::from(n),
        &mut rng,
    )
    .map_err(|e| Error::Dev(format!("floor setup: {e}")))?;
    let dealer = Identity::generate(&mut rng);
    let mut held = Vec::new();
    for share in shares.iter().take(usize::from(t)) {
        let custodian = Identity::generate(&mut rng);
        let id = format!("c{}", share.index());
        let metadata = Metadata {
            split_id: [1; 16],
            key_id: "bench".into(),
            epoch: 1,
            scheme: Scheme::ShamirGf256,
            index: u16::from(share.index()),
            threshold: t,
            shares: n,
            recipient: Some(RecipientInfo {
                id: id.clone(),
                fingerprint: custodian.recipient().fingerprint(),
            }),
            created_at: 1,
            expires_at: None,
            commitment: [0; 32],
            label: String::new(),
        };
        let envelope = Envelope::seal(
            metadata,
            share.expose_secret(),
            Some(&custodian.recipient()),
            &dealer,
            &mut rng,
        )
        .map_err(|e| Error::Dev(format!("floor setup: {e}")))?;
        let plaintext = envelope
            .open_plaintext(Some(&custodian))
            .map_err(|e| Error::Dev(format!("floor setup: {e}")))?;
        held.push(Held {
            metadata: envelope.metadata().clone(),
            plaintext,
            id,
        });
    }
    let sample = ciphertext::encrypt(
        secret.expose_secret(),
        "bench",
        1,
        &vec![0x5a; size],
        &mut rng,
    )
    .map_err(|e| Error::Dev(format!("floor setup: {e}")))?;
    let held = Arc::new(held);
    let sample = Arc::new(sample);
    let ops = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (held, sample, ops, stop) =
                (held.clone(), sample.clone(), ops.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut rng = rand::rng();
                while !stop.load(Ordering::Relaxed) {
                    if one_floor_op(&held, &sample, t, &mut rng).is_ok() {
                        ops.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(duration);
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.join();
    }
    Ok(ops.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64())
}

fn one_floor_op(
    held: &[Held],
    sample: &[u8],
    t: u16,
    rng: &mut rand::rngs::ThreadRng,
) -> Result<(), ()> {
    let ephemeral = EphemeralKey::generate(rng);
    let mut shares = Vec::with_capacity(held.len());
    for h in held {
        let context = ReleaseContext {
            request_id: "r",
            key_id: "bench",
            version: 1,
            custodian_id: &h.id,
            index: h.metadata.index,
        };
        let (enc, sealed) =
            release::seal(&ephemeral.public(), &context, &h.plaintext, rng).map_err(|_| ())?;
        let opened = ephemeral.open(&context, &enc, &sealed).map_err(|_| ())?;
        verify_plaintext(&h.metadata, &opened).map_err(|_| ())?;
        let share = opened.get(symbolon_envelope::BLINDING_LEN..).ok_or(())?;
        let index = u8::try_from(h.metadata.index).map_err(|_| ())?;
        shares.push(Share::new(index, SecretBytes::from_slice(share)).map_err(|_| ())?);
    }
    let secret = bytes::combine(&shares, usize::from(t)).map_err(|_| ())?;
    ciphertext::decrypt(secret.expose_secret(), sample).map_err(|_| ())?;
    Ok(())
}
