//! `symbolon bench`: throughput and latency of key operations against a
//! running cluster, beside the in-process floor of the same cryptography.
//!
//! The cluster figure: `--clients` concurrent clients, each with its own
//! mutual-TLS connection, run one operation on `--size` bytes for
//! `--duration`; operations/s and p50/p99/max latency are printed. The
//! operations: `decrypt` (or `encrypt`) with a `secret` key, `sign` with an
//! `ed25519` key (FROST, RFC 9591) and `threshold-decrypt` with a
//! `ristretto255` key (TDH2, Shoup–Gennaro); `all` runs the first, second
//! and last one after the other.
//!
//! The floor: the same cryptography with the shares already in memory and no
//! network, on every core.
//!
//! * `secret` decrypt: draw an ephemeral HPKE key, have `t` "custodians"
//!   seal their shard plaintexts to it, open and check each against its
//!   commitment, combine, and run the AEAD operation.
//! * sign: each of `t` signers commits (round one), the signing package is
//!   built, each signs (round two), the shares are aggregated and the
//!   signature verified (RFC 9591 Section 5).
//! * threshold decrypt: `t` decryption shares with their proofs, then the
//!   combiner's step, which checks the ciphertext's and every share's proof.
//!
//! The ratio of the two is what the HTTP, TLS, JSON, scheduling, the audit
//! log and the store cost.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use symbolon_envelope::{Envelope, Identity, Metadata, RecipientInfo, Scheme, verify_plaintext};
use symbolon_proto::api::{
    CreateKeyRequest, DecryptRequest, DecryptResponse, EncryptRequest, EncryptResponse, KeyInfo,
    KeyKind, SignRequest, SignResponse,
};
use symbolon_proto::ciphertext;
use symbolon_proto::release::{self, EphemeralKey, ReleaseContext};
use symbolon_sharing::SecretBytes;
use symbolon_sharing::bytes::{self, Share};
use symbolon_threshold::{ed25519, tdh2};

use super::Error;
use super::args::{BenchArgs, BenchOp};
use super::client::{Api, ClientConfig};

/// How long each floor runs.
const FLOOR_DURATION: Duration = Duration::from_secs(3);

/// The byte every bench payload is made of.
const FILL: u8 = 0x5a;

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

/// One operation the bench measures against the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Measure {
    /// `decrypt` with a `secret` key.
    Decrypt,
    /// `encrypt` with a `secret` key.
    Encrypt,
    /// `sign` with an `ed25519` key.
    Sign,
    /// `decrypt` with a `ristretto255` key.
    ThresholdDecrypt,
}

impl Measure {
    /// What its rows are called.
    fn label(self) -> &'static str {
        match self {
            Measure::Decrypt => "decrypt",
            Measure::Encrypt => "encrypt",
            Measure::Sign => "sign",
            Measure::ThresholdDecrypt => "threshold-decrypt",
        }
    }

    /// The kind of key it needs.
    fn kind(self) -> KeyKind {
        match self {
            Measure::Decrypt | Measure::Encrypt => KeyKind::Secret,
            Measure::Sign => KeyKind::Ed25519,
            Measure::ThresholdDecrypt => KeyKind::Ristretto255,
        }
    }

    /// The name of the bench key it uses: one per kind and scheme, created
    /// the first time and reused after (the `secret` one keeps the name
    /// earlier versions of the bench gave it).
    fn key_name(self, t: u16, n: u16) -> String {
        match self.kind() {
            KeyKind::Secret => format!("bench-{t}-of-{n}"),
            KeyKind::Ed25519 => format!("bench-sign-{t}-of-{n}"),
            KeyKind::Ristretto255 => format!("bench-tdec-{t}-of-{n}"),
        }
    }

    /// What a key of another kind under its name is told.
    fn need(self) -> &'static str {
        match self.kind() {
            KeyKind::Secret => "the bench needs a secret key under this name",
            KeyKind::Ed25519 => "the bench needs an ed25519 key under this name",
            KeyKind::Ristretto255 => "the bench needs a ristretto255 key under this name",
        }
    }
}

/// The operations `op` measures, in order.
fn plan(op: BenchOp) -> &'static [Measure] {
    match op {
        BenchOp::Decrypt => &[Measure::Decrypt],
        BenchOp::Encrypt => &[Measure::Encrypt],
        BenchOp::Sign => &[Measure::Sign],
        BenchOp::ThresholdDecrypt => &[Measure::ThresholdDecrypt],
        BenchOp::All => &[Measure::Decrypt, Measure::Sign, Measure::ThresholdDecrypt],
    }
}

/// The width of the label column: the longest label, at least 7 (so a
/// single `decrypt` or `encrypt` row looks as it always did).
fn label_width(measures: &[Measure]) -> usize {
    measures
        .iter()
        .map(|m| m.label().len())
        .max()
        .unwrap_or(0)
        .max(7)
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
    let measures = plan(args.op);
    if t < 2 && measures.iter().any(|m| m.kind() != KeyKind::Secret) {
        return Err(Error::Usage(format!(
            "--scheme {}: threshold keys (sign, threshold-decrypt) need T >= 2",
            args.scheme
        )));
    }
    let config = ClientConfig::find(args.client.config.as_deref())?;
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    println!(
        "machine   {threads} cores (the cluster, the bench clients and each floor share them)"
    );
    let width = label_width(measures);
    let mut failed = Vec::new();
    for &measure in measures {
        let label = measure.label();
        let rt = super::runtime()?;
        let cluster = rt.block_on(cluster_bench(args, &config, duration, t, n, measure))?;
        drop(rt);
        println!(
            "cluster   {label:<width$} {}-of-{} {} B, {} clients, {:.1} s: {:>8.0} ops/s  p50 {:>6.2} ms  p99 {:>6.2} ms  max {:>6.2} ms  errors {}",
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
        let floor = Floor {
            t,
            n,
            size: args.size,
            duration: FLOOR_DURATION,
            threads,
        }
        .ops_per_sec(measure)?;
        // One operation keeps the rows it always had; several name theirs.
        let tag = if measures.len() > 1 {
            format!("{label:<width$} ")
        } else {
            String::new()
        };
        println!(
            "floor     {tag}same cryptography in process, {threads} threads, no network: {floor:>8.0} ops/s"
        );
        println!(
            "ratio     {tag}cluster / floor = {:.1}%",
            100.0 * cluster.ops_per_sec() / floor.max(1.0)
        );
        if cluster.errors > 0 {
            failed.push(format!(
                "{label}: {} failed (first: {})",
                cluster.errors,
                cluster.first_error.unwrap_or_default()
            ));
        }
    }
    if !failed.is_empty() {
        return Err(Error::Dev(format!(
            "operations failed during the bench: {}",
            failed.join("; ")
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

/// The request every client sends over and over.
#[derive(Clone)]
enum Request {
    Decrypt { path: String, body: DecryptRequest },
    Encrypt { path: String, body: EncryptRequest },
    Sign { path: String, body: SignRequest },
}

impl Request {
    async fn send(&self, client: &Api) -> Result<(), Error> {
        match self {
            Request::Decrypt { path, body } => client
                .post::<_, DecryptResponse>(path, body)
                .await
                .map(drop),
            Request::Encrypt { path, body } => client
                .post::<_, EncryptResponse>(path, body)
                .await
                .map(drop),
            Request::Sign { path, body } => {
                client.post::<_, SignResponse>(path, body).await.map(drop)
            }
        }
    }
}

/// The bench key `name`: the existing one if it is of the right kind and
/// scheme, else a new one.
async fn bench_key(
    api: &Api,
    measure: Measure,
    name: &str,
    t: u16,
    n: u16,
) -> Result<KeyInfo, Error> {
    match api.get::<KeyInfo>(&format!("/v1/keys/{name}")).await {
        Ok(info) if info.kind != measure.kind() => Err(Error::Kind {
            key: name.to_owned(),
            kind: info.kind,
            need: measure.need(),
        }),
        Ok(info) if (info.threshold, info.shares) != (t, n) => Err(Error::Usage(format!(
            "key {name:?} is {}-of-{}, not {t}-of-{n}: it is not the bench's key",
            info.threshold, info.shares
        ))),
        Ok(info) => Ok(info),
        Err(Error::Api(p)) if p.status == 404 => {
            let request = CreateKeyRequest {
                name: name.to_owned(),
                kind: measure.kind(),
                threshold: t,
                shares: n,
                distinct: None,
                import: None,
                dkg: false,
            };
            let info: KeyInfo = api.post("/v1/keys", &request).await?;
            eprintln!("created key {name} for the bench");
            Ok(info)
        }
        Err(e) => Err(e),
    }
}

/// Creates (or finds) the key and builds the request, after one run of it
/// whose answer is checked where the client can check it.
async fn prepare(
    api: &Api,
    measure: Measure,
    t: u16,
    n: u16,
    size: usize,
) -> Result<Request, Error> {
    let name = measure.key_name(t, n);
    let info = bench_key(api, measure, &name, t, n).await?;
    let payload = vec![FILL; size];
    let encrypt_path = format!("/v1/keys/{name}/encrypt");
    let decrypt_path = format!("/v1/keys/{name}/decrypt");
    match measure {
        Measure::Decrypt => {
            let sample: EncryptResponse = api
                .post(
                    &encrypt_path,
                    &EncryptRequest {
                        plaintext: symbolon_proto::SecretData::new(payload),
                    },
                )
                .await?;
            Ok(Request::Decrypt {
                path: decrypt_path,
                body: DecryptRequest {
                    ciphertext: sample.ciphertext,
                },
            })
        }
        Measure::Encrypt => Ok(Request::Encrypt {
            path: encrypt_path,
            body: EncryptRequest {
                plaintext: symbolon_proto::SecretData::new(payload),
            },
        }),
        Measure::Sign => {
            let group = super::sign::ed25519_key(&info, measure.need())?;
            let body = SignRequest { message: payload };
            let path = format!("/v1/keys/{name}/sign");
            let answer: SignResponse = api.post(&path, &body).await?;
            super::sign::accept(&name, &group, &body.message, &answer)?;
            Ok(Request::Sign { path, body })
        }
        Measure::ThresholdDecrypt => {
            let group = super::group_key(&info, measure.need())?
                .into_ristretto255(&info.name, measure.need())?;
            // Encrypted here, offline, as any holder of the public key can.
            let sealed = ciphertext::encrypt_threshold(
                &group,
                &name,
                info.version,
                &payload,
                &mut rand::rng(),
            )
            .map_err(Error::Encrypt)?;
            let body = DecryptRequest { ciphertext: sealed };
            let answer: DecryptResponse = api.post(&decrypt_path, &body).await?;
            if answer.plaintext.expose_secret() != payload.as_slice() {
                return Err(Error::BadAnswer {
                    reason: format!(
                        "threshold decryption with key {name:?} returned another plaintext"
                    ),
                });
            }
            Ok(Request::Decrypt {
                path: decrypt_path,
                body,
            })
        }
    }
}

async fn cluster_bench(
    args: &BenchArgs,
    config: &ClientConfig,
    duration: Duration,
    t: u16,
    n: u16,
    measure: Measure,
) -> Result<ClusterResult, Error> {
    let api = Api::new(config, Duration::from_secs(30))?;
    let request = prepare(&api, measure, t, n, args.size).await?;
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
        let request = request.clone();
        tasks.push(tokio::spawn(async move {
            // Precision 3 is always valid, so this never returns early.
            let Ok(mut histogram) = hdrhistogram::Histogram::<u64>::new(3) else {
                return None;
            };
            while !stop.load(Ordering::Relaxed) {
                let started = Instant::now();
                let result = request.send(&client).await;
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

/// The error of a floor's setup or operation.
fn floor_error(what: &'static str) -> impl Fn(&dyn std::fmt::Display) -> Error {
    move |e| Error::Dev(format!("{what} floor: {e}"))
}

/// One floor: the cryptography of a `t`-of-`n` operation on `size` bytes,
/// run in process on `threads` threads for `duration`.
#[derive(Clone, Copy, Debug)]
struct Floor {
    t: u16,
    n: u16,
    size: usize,
    duration: Duration,
    threads: usize,
}

impl Floor {
    /// Operations/s of what the cluster does for `measure`.
    fn ops_per_sec(self, measure: Measure) -> Result<f64, Error> {
        match measure {
            Measure::Decrypt | Measure::Encrypt => self.secret(),
            Measure::Sign => self.sign(),
            Measure::ThresholdDecrypt => self.threshold_decrypt(),
        }
    }

    /// Operations/s of `op`. It runs once first, so a floor that cannot
    /// work is an error rather than 0 ops/s; a later failure is one too.
    fn run<F>(self, what: &'static str, op: F) -> Result<f64, Error>
    where
        F: Fn(&mut rand::rngs::ThreadRng) -> Result<(), Error> + Send + Sync + 'static,
    {
        op(&mut rand::rng())?;
        let op = Arc::new(op);
        let ops = Arc::new(AtomicU64::new(0));
        let failures = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let started = Instant::now();
        let workers: Vec<_> = (0..self.threads)
            .map(|_| {
                let (op, ops, failures, stop) =
                    (op.clone(), ops.clone(), failures.clone(), stop.clone());
                std::thread::spawn(move || {
                    let mut rng = rand::rng();
                    while !stop.load(Ordering::Relaxed) {
                        let counter = if op(&mut rng).is_ok() {
                            &ops
                        } else {
                            &failures
                        };
                        counter.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        std::thread::sleep(self.duration);
        stop.store(true, Ordering::Relaxed);
        for w in workers {
            let _ = w.join();
        }
        let elapsed = started.elapsed().as_secs_f64();
        match failures.load(Ordering::Relaxed) {
            0 => Ok(ops.load(Ordering::Relaxed) as f64 / elapsed),
            failed => Err(Error::Dev(format!(
                "{what} floor: {failed} operations failed"
            ))),
        }
    }

    /// FROST signing with `t` signers: per operation every signer commits,
    /// the package is built, every signer signs, the shares are aggregated
    /// and the signature verified (what the custodians and the coordinator
    /// do, minus the network).
    fn sign(self) -> Result<f64, Error> {
        const WHAT: &str = "sign";
        let fail = floor_error(WHAT);
        let (group, dealt) =
            ed25519::deal(self.t, self.n, &mut rand::rng()).map_err(|e| fail(&e))?;
        let signers = dealt
            .into_iter()
            .take(usize::from(self.t))
            .map(ed25519::DealtShare::verify)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| fail(&e))?;
        let message = vec![FILL; self.size];
        self.run(WHAT, move |rng| {
            let fail = floor_error(WHAT);
            let mut nonces = Vec::with_capacity(signers.len());
            let mut commitments = BTreeMap::new();
            for share in &signers {
                let (nonce, commitment) = ed25519::commit(share, rng);
                commitments.insert(share.index(), commitment);
                nonces.push(nonce);
            }
            let package =
                ed25519::SigningPackage::new(&message, &commitments).map_err(|e| fail(&e))?;
            let mut shares = BTreeMap::new();
            for (share, nonce) in signers.iter().zip(nonces) {
                let signed = ed25519::sign(share, nonce, &package).map_err(|e| fail(&e))?;
                shares.insert(share.index(), signed);
            }
            let signature = ed25519::aggregate(&package, &shares, &group).map_err(|e| fail(&e))?;
            group.verify(&message, &signature).map_err(|e| fail(&e))
        })
    }

    /// TDH2 threshold decryption: per operation the ciphertext is parsed,
    /// `t` holders each make a decryption share with its proof (checking
    /// the ciphertext's proof first), and the combiner checks every proof
    /// and opens the body.
    fn threshold_decrypt(self) -> Result<f64, Error> {
        const WHAT: &str = "threshold-decrypt";
        let fail = floor_error(WHAT);
        let mut rng = rand::rng();
        let (group, shares) = tdh2::deal(self.t, self.n, &mut rng).map_err(|e| fail(&e))?;
        let holders: Vec<tdh2::KeyShare> = shares.into_iter().take(usize::from(self.t)).collect();
        let sample = ciphertext::encrypt_threshold(
            &group.encryption_key(),
            "bench",
            1,
            &vec![FILL; self.size],
            &mut rng,
        )
        .map_err(|e| fail(&e))?;
        self.run(WHAT, move |rng| {
            let fail = floor_error(WHAT);
            let parsed = ciphertext::parse_threshold(&sample).map_err(|e| fail(&e))?;
            let mut partials = Vec::with_capacity(holders.len());
            for share in &holders {
                partials.push(
                    tdh2::decrypt_share(share, &parsed.ciphertext, parsed.label, rng)
                        .map_err(|e| fail(&e))?,
                );
            }
            tdh2::combine(&group, &parsed.ciphertext, parsed.label, &partials)
                .map(drop)
                .map_err(|e| fail(&e))
        })
    }

    /// The `secret`-key cryptography: `t` custodians each seal their
    /// shard's plaintext to an ephemeral key, which is opened and checked,
    /// then the key is combined and the AEAD operation run.
    fn secret(self) -> Result<f64, Error> {
        let (t, n) = (self.t, self.n);
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
            &vec![FILL; self.size],
            &mut rng,
        )
        .map_err(|e| Error::Dev(format!("floor setup: {e}")))?;
        self.run("decrypt", move |rng| {
            one_floor_op(&held, &sample, t, rng)
                .map_err(|()| Error::Dev("decrypt floor: an operation failed".into()))
        })
    }
}

/// One custodian's shard as the floor needs it.
struct Held {
    metadata: Metadata,
    plaintext: zeroize::Zeroizing<Vec<u8>>,
    id: String,
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

#[cfg(test)]
mod tests {
    use clap::ValueEnum as _;

    use super::*;

    #[test]
    fn op_names_parse_to_their_operations() {
        let cases = [
            ("decrypt", BenchOp::Decrypt),
            ("encrypt", BenchOp::Encrypt),
            ("sign", BenchOp::Sign),
            ("threshold-decrypt", BenchOp::ThresholdDecrypt),
            ("all", BenchOp::All),
        ];
        for (name, op) in cases {
            assert_eq!(BenchOp::from_str(name, false), Ok(op), "{name}");
            let value = op.to_possible_value().unwrap();
            assert_eq!(value.get_name(), name);
        }
        assert_eq!(BenchOp::value_variants().len(), cases.len());
        for bad in ["threshold_decrypt", "thresholddecrypt", "frost", ""] {
            assert!(BenchOp::from_str(bad, false).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn all_runs_secret_decrypt_then_sign_then_threshold_decrypt() {
        assert_eq!(
            plan(BenchOp::All),
            [Measure::Decrypt, Measure::Sign, Measure::ThresholdDecrypt]
        );
        assert_eq!(plan(BenchOp::Decrypt), [Measure::Decrypt]);
        assert_eq!(plan(BenchOp::Encrypt), [Measure::Encrypt]);
        assert_eq!(plan(BenchOp::Sign), [Measure::Sign]);
        assert_eq!(plan(BenchOp::ThresholdDecrypt), [Measure::ThresholdDecrypt]);
    }

    #[test]
    fn each_kind_has_its_own_key_and_labels_line_up() {
        assert_eq!(Measure::Decrypt.key_name(3, 5), "bench-3-of-5");
        assert_eq!(Measure::Encrypt.key_name(3, 5), "bench-3-of-5");
        assert_eq!(Measure::Sign.key_name(3, 5), "bench-sign-3-of-5");
        assert_eq!(
            Measure::ThresholdDecrypt.key_name(2, 4),
            "bench-tdec-2-of-4"
        );
        assert_eq!(Measure::Sign.kind(), KeyKind::Ed25519);
        assert_eq!(Measure::ThresholdDecrypt.kind(), KeyKind::Ristretto255);
        for measure in plan(BenchOp::All) {
            symbolon_proto::validate_name("key name", &measure.key_name(255, 255)).unwrap();
        }
        // A single secret operation keeps its 7-wide column.
        assert_eq!(label_width(plan(BenchOp::Decrypt)), 7);
        assert_eq!(label_width(plan(BenchOp::Sign)), 7);
        assert_eq!(label_width(plan(BenchOp::All)), "threshold-decrypt".len());
    }

    #[test]
    fn every_floor_runs_its_operation() {
        for measure in plan(BenchOp::All) {
            let floor = Floor {
                t: 2,
                n: 3,
                size: 64,
                duration: Duration::from_millis(20),
                threads: 1,
            };
            // Each runs once before it is timed: Ok means that one worked.
            let rate = floor.ops_per_sec(*measure).unwrap();
            assert!(rate.is_finite() && rate >= 0.0, "{measure:?}: {rate}");
        }
    }

    #[test]
    fn schemes_parse_and_bad_ones_are_refused() {
        assert_eq!(parse_scheme("3/5").unwrap(), (3, 5));
        assert_eq!(parse_scheme(" 2 / 3 ").unwrap(), (2, 3));
        assert_eq!(parse_scheme("255/255").unwrap(), (255, 255));
        for bad in ["", "3", "0/5", "6/5", "3/256", "a/5", "3-5", "3/5/7"] {
            let err = parse_scheme(bad).unwrap_err();
            assert!(err.to_string().contains("expected T/N"), "{bad:?}: {err}");
        }
    }
}
