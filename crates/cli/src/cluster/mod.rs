//! The cluster commands: PKI, daemons, the local dev cluster, and the
//! client commands that talk to a coordinator.

pub(crate) mod args;
pub(crate) mod audit;
mod bench;
mod client;
mod dev;
mod public_key;
mod sign;
mod signature;

use std::path::{Path, PathBuf};
use std::time::Duration;

use symbolon_proto::Problem;
use symbolon_proto::api::{
    CreateKeyRequest, DecryptRequest, DecryptResponse, DistinctLabel, EncryptRequest,
    EncryptResponse, KeyInfo, KeyKind, KeyList, ReleaseKeyRequest, ReleaseKeyResponse,
    StatusResponse,
};
use symbolon_proto::ciphertext::{self, THRESHOLD_MAGIC};
use symbolon_transport::{Ca, Role};

use self::args::{
    CaCommand, CryptArgs, DistinctArg, EncryptArgs, KeyCommand, KeyCreateArgs, KindArg,
    PublicFormat, ReleaseArgs, RoleArg, ServeCommand, StatusArgs,
};
pub(crate) use self::bench::run as bench;
use self::client::{Api, ClientConfig};
pub(crate) use self::dev::run as dev;
use self::public_key::{GroupKey, PublicInput, PublicKeyError, PublicKeyFile};
pub(crate) use self::sign::{sign, verify};
use self::signature::SignatureFileError;
use crate::error::CliError;
use crate::file::{self, Limit};
use crate::terminal::{printable, printable_list};

/// The coordinator's default request body limit (its `max_body_bytes`).
const COORDINATOR_MAX_BODY: usize = 16 << 20;

/// The most bytes one request carries (a plaintext, ciphertext or message
/// to sign): base64 grows them by a third, and the JSON around them needs
/// a few bytes more.
const MAX_PAYLOAD: usize = COORDINATOR_MAX_BODY / 4 * 3 - 4096;

/// Largest plaintext `encrypt` takes, leaving room for the ciphertext's
/// header and overhead within [`MAX_PAYLOAD`].
const MAX_PLAINTEXT: usize = MAX_PAYLOAD - 1024;

/// Largest ciphertext `decrypt` sends.
const MAX_CIPHERTEXT: usize = MAX_PAYLOAD;

// The largest payload, base64-encoded, fits the body with room for the JSON.
const _: () = assert!(MAX_PAYLOAD.div_ceil(3) * 4 + 1024 <= COORDINATOR_MAX_BODY);

/// Room in a custodian's request body for everything beside a threshold
/// operation's payload: the request, its audit evidence, the signers'
/// commitments.
const CUSTODIAN_REQUEST_ROOM: usize = 64 * 1024;

/// The most bytes a threshold operation's payload (a message to sign, a
/// ciphertext to decrypt) has: the coordinator sends it whole, base64 in
/// JSON, to each custodian, whose request bodies are at most
/// [`symbolon_custodian::MAX_BODY`].
const MAX_THRESHOLD_PAYLOAD: usize = {
    let custodian = (symbolon_custodian::MAX_BODY / 4 * 3).saturating_sub(CUSTODIAN_REQUEST_ROOM);
    if custodian < MAX_PAYLOAD {
        custodian
    } else {
        MAX_PAYLOAD
    }
};

/// What `sign` sends (an SSH signature's message is hashed here and may be
/// of any size).
const SIGN_LIMIT: Limit = Limit {
    max: MAX_THRESHOLD_PAYLOAD,
    why: "the custodians each receive the message whole; --format ssh signs files of any size (only their SHA-512 is sent)",
};

/// What `verify` reads for a plain signature: no more than `sign` signs.
const VERIFY_LIMIT: Limit = Limit {
    max: SIGN_LIMIT.max,
    why: "no threshold signature covers a longer message (`sign` refuses more; an SSH signature covers any size)",
};

/// What `encrypt` takes for a `secret` key: the coordinator encrypts it.
const PLAINTEXT_LIMIT: Limit = Limit {
    max: MAX_PLAINTEXT,
    why: "the coordinator receives it whole, base64 in JSON, within its request body limit",
};

/// What `encrypt` takes for a ristretto255 key: a ciphertext the custodians
/// can decrypt.
const THRESHOLD_ENCRYPT_LIMIT: Limit = Limit {
    max: MAX_THRESHOLD_PAYLOAD - 1024,
    why: "the custodians must each receive the whole ciphertext to decrypt it",
};

/// What `decrypt` sends for a `secret` key.
const CIPHERTEXT_LIMIT: Limit = Limit {
    max: MAX_CIPHERTEXT,
    why: "the coordinator receives it whole, base64 in JSON, within its request body limit",
};

/// What `key create --import` sends (the coordinator takes far less and
/// says how much).
const IMPORT_LIMIT: Limit = Limit {
    max: MAX_PAYLOAD,
    why: "the coordinator receives it whole, base64 in JSON, within its request body limit",
};

/// What `decrypt` sends for a ristretto255 key.
const THRESHOLD_DECRYPT_LIMIT: Limit = Limit {
    max: MAX_THRESHOLD_PAYLOAD,
    why: "the custodians each receive it whole",
};

// What `encrypt` makes, `decrypt` can send; every threshold limit is
// within the coordinator's.
const _: () = assert!(PLAINTEXT_LIMIT.max < CIPHERTEXT_LIMIT.max);
const _: () = assert!(THRESHOLD_ENCRYPT_LIMIT.max < THRESHOLD_DECRYPT_LIMIT.max);
const _: () = assert!(THRESHOLD_DECRYPT_LIMIT.max <= CIPHERTEXT_LIMIT.max);

/// What each command needs of a key, for [`Error::Kind`].
pub(crate) mod need {
    /// `sign`.
    pub(crate) const SIGN: &str = "sign needs an ed25519 key";
    /// `verify`.
    pub(crate) const VERIFY: &str = "verify needs an ed25519 key";
    /// `encrypt`.
    pub(crate) const ENCRYPT: &str =
        "encrypt needs a secret or ristretto255 key (ed25519 keys sign)";
    /// Anything that shows the group public key.
    pub(crate) const PUBLIC_KEY: &str = "it has no public key";
    /// `key show --format openssh|pem`.
    pub(crate) const SSH_OR_PEM: &str = "--format openssh and pem need an ed25519 key (hex and public work for both threshold kinds)";
}

/// Everything a cluster command can fail with: one line each.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error(transparent)]
    Cli(#[from] CliError),
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: cannot write: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {reason}", path.display())]
    Config { path: PathBuf, reason: String },
    #[error(
        "no cluster configured: {} does not exist; start one with `symbolon dev` or pass --config FILE",
        path.display()
    )]
    NoCluster { path: PathBuf },
    #[error(transparent)]
    Tls(#[from] symbolon_transport::Error),
    #[error("cannot reach the coordinator at {url}: {}", printable(reason))]
    Unreachable { url: String, reason: String },
    #[error("{}", printable(&.0.one_line()))]
    Api(Box<Problem>),
    #[error("the coordinator answered {status}: {}", printable(body))]
    Http { status: u16, body: String },
    #[error("the coordinator's answer is malformed: {}", printable(reason))]
    BadAnswer { reason: String },
    #[error("--import works only with --kind secret: {} keys are generated in the cluster", kind.as_str())]
    ImportThreshold { kind: KeyKind },
    #[error(
        "--dkg works only with --kind ed25519 or ristretto255: a secret key is split by the coordinator"
    )]
    DkgSecret,
    #[error("key {key:?} is {} key; {need}", with_article(*kind))]
    Kind {
        key: String,
        kind: KeyKind,
        need: &'static str,
    },
    #[error("the coordinator gave no public key for key {key:?}")]
    NoPublicKey { key: String },
    #[error("the coordinator's public key for key {key:?} is invalid: {source}")]
    GroupKey { key: String, source: PublicKeyError },
    #[error("{}: {source}", path.display())]
    PublicKeyFile {
        path: PathBuf,
        source: PublicKeyError,
    },
    #[error(
        "{}: encrypt --public needs a Symbolon public key file (`symbolon key show NAME --format public`), which names the key and version a ciphertext carries",
        path.display()
    )]
    NotPublicKeyFile { path: PathBuf },
    #[error("{}: it is the public key of key {found:?}, not {expected:?}", path.display())]
    OtherKeyFile {
        path: PathBuf,
        expected: String,
        found: String,
    },
    #[error("{}: {source}", path.display())]
    SignatureFile {
        path: PathBuf,
        source: SignatureFileError,
    },
    #[error(
        "refusing the coordinator's signature: it is by public key {answered}, but key {key:?}'s public key is {expected}"
    )]
    SignerMismatch {
        key: String,
        expected: String,
        answered: String,
    },
    #[error(
        "refusing the coordinator's signature: it does not verify under key {key:?}'s public key {public_key}"
    )]
    SignatureInvalid { key: String, public_key: String },
    #[error("cannot encode the SSH signature: {source}")]
    SshSignature { source: ssh_key::Error },
    #[error("cannot encrypt: {0}")]
    Encrypt(symbolon_proto::Error),
    #[error("coordinator: {0}")]
    Coordinator(#[from] symbolon_coordinator::Error),
    #[error("custodian: {0}")]
    Custodian(#[from] symbolon_custodian::Error),
    #[error("{0}")]
    KeyName(symbolon_proto::Error),
    #[error("{0}")]
    Dev(String),
    #[error("{0}")]
    Usage(String),
}

/// "an ed25519", "a ristretto255", "a secret".
fn with_article(kind: KeyKind) -> &'static str {
    match kind {
        KeyKind::Secret => "a secret",
        KeyKind::Ed25519 => "an ed25519",
        KeyKind::Ristretto255 => "a ristretto255",
    }
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Dev(format!("cannot start the async runtime: {e}")))
}

/// Logs to stderr; `RUST_LOG` overrides the default level.
pub(crate) fn init_tracing(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// Completes on SIGINT or SIGTERM.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

pub(crate) fn ca(command: &CaCommand) -> Result<(), Error> {
    match command {
        CaCommand::Init { dir } => {
            let ca = Ca::init(dir)?;
            eprintln!("created cluster CA in {}", dir.display());
            println!("{}", ca.cert_path().display());
            Ok(())
        }
        CaCommand::Issue {
            ca,
            role,
            name,
            hosts,
            out_dir,
            force,
        } => {
            let authority = Ca::load(ca)?;
            let role = match role {
                RoleArg::Coordinator => Role::Coordinator,
                RoleArg::Custodian => Role::Custodian,
                RoleArg::Client => Role::Client,
            };
            std::fs::create_dir_all(out_dir).map_err(|source| Error::Write {
                path: out_dir.clone(),
                source,
            })?;
            let issued = authority.issue(role, name, hosts)?;
            // An existing key or certificate is kept unless --force.
            let files = issued
                .write(out_dir, name, authority.cert_path(), file::existing(*force))
                .map_err(CliError::from)?;
            eprintln!(
                "issued a {role} certificate for {name}: {} and {}",
                files.cert.display(),
                files.key.display()
            );
            Ok(())
        }
    }
}

pub(crate) fn coordinator(command: &ServeCommand) -> Result<(), Error> {
    let ServeCommand::Serve { config } = command;
    let config = symbolon_coordinator::Config::load(config)?;
    init_tracing("info");
    runtime()?.block_on(symbolon_coordinator::run(config, shutdown_signal()))?;
    Ok(())
}

pub(crate) fn custodian(command: &ServeCommand) -> Result<(), Error> {
    let ServeCommand::Serve { config } = command;
    let config = symbolon_custodian::Config::load(config)?;
    init_tracing("info");
    runtime()?.block_on(symbolon_custodian::run(config, shutdown_signal()))?;
    Ok(())
}

fn api(config: Option<&Path>) -> Result<Api, Error> {
    let config = ClientConfig::find(config)?;
    Api::new(&config, Duration::from_secs(30))
}

fn print_json<T: serde::Serialize>(value: &T) -> Result<(), Error> {
    let text = serde_json::to_string_pretty(value).map_err(CliError::Json)?;
    println!("{text}");
    Ok(())
}

/// Validates a key name given on the command line.
fn key_name(name: &str) -> Result<&str, Error> {
    symbolon_proto::validate_name("key name", name).map_err(Error::KeyName)?;
    Ok(name)
}

pub(crate) fn status(args: &StatusArgs) -> Result<(), Error> {
    let status: StatusResponse = runtime()?
        .block_on(async { api(args.client.config.as_deref())?.get("/v1/status").await })?;
    if args.json {
        return print_json(&status);
    }
    println!(
        "{:<12} {:<8} {:<8} {:<14} {:<10} {:<5} {:>6} {:>6}  last heartbeat",
        "CUSTODIAN", "STATE", "COUNTRY", "REGION", "PROVIDER", "KIND", "SHARES", "FAULTS"
    );
    for c in &status.custodians {
        println!(
            "{:<12} {:<8} {:<8} {:<14} {:<10} {:<5} {:>6} {:>6}  {}",
            printable(&c.id),
            c.state.as_str(),
            printable(&c.labels.country),
            printable(&c.labels.region),
            printable(&c.labels.provider),
            c.labels.kind.as_str(),
            c.shares,
            c.faults,
            c.last_heartbeat.as_deref().map_or_else(
                || "never".to_owned(),
                |t| format!("{} ({} ms ago)", printable(t), c.silent_for_ms)
            ),
        );
    }
    for line in status.custodians.iter().filter_map(fault_line) {
        println!("{line}");
    }
    println!(
        "{} keys; coordinator {}",
        status.keys,
        printable(&status.version)
    );
    Ok(())
}

/// The last bad partial result (a signature or decryption share that failed
/// its proof) of a custodian that sent any.
fn fault_line(c: &symbolon_proto::api::CustodianStatus) -> Option<String> {
    let fault = c.last_fault.as_deref()?;
    Some(format!(
        "custodian {} sent {} bad partial result{}; last: {}",
        printable(&c.id),
        c.faults,
        if c.faults == 1 { "" } else { "s" },
        printable(fault)
    ))
}

fn print_key(key: &KeyInfo) -> Result<(), Error> {
    println!("name:      {}", printable(&key.name));
    println!("id:        {}", printable(&key.id));
    println!("kind:      {}", key.kind.as_str());
    println!("threshold: {} of {}", key.threshold, key.shares);
    println!("version:   {}", key.version);
    if let Some(d) = key.distinct {
        println!("distinct:  {}", d.as_str());
    }
    println!(
        "created:   {} by {}",
        printable(&key.created_at),
        printable(&key.created_by)
    );
    let placement: Vec<String> = key
        .placement
        .iter()
        .map(|p| format!("{}:{}", p.index, printable(&p.custodian)))
        .collect();
    println!("placement: {}", placement.join(" "));
    if key.kind == KeyKind::Secret {
        return Ok(());
    }
    let group = group_key(key, need::PUBLIC_KEY)?;
    println!("public:    {}", group.to_hex());
    if let GroupKey::Ed25519(ed25519) = &group {
        let line =
            public_key::openssh_line(ed25519, &key.name).map_err(group_key_error(&key.name))?;
        println!("openssh:   {}", printable(&line));
        let pem = public_key::pem(ed25519).map_err(group_key_error(&key.name))?;
        print!("pem:\n{pem}");
    }
    Ok(())
}

/// The group public key of a threshold key, as the coordinator gave it;
/// `need` says what the command needs if it is a `secret` key.
fn group_key(key: &KeyInfo, need: &'static str) -> Result<GroupKey, Error> {
    if key.kind == KeyKind::Secret {
        return Err(Error::Kind {
            key: key.name.clone(),
            kind: key.kind,
            need,
        });
    }
    let hex = key
        .public_key
        .as_deref()
        .ok_or_else(|| Error::NoPublicKey {
            key: key.name.clone(),
        })?;
    GroupKey::from_hex(key.kind, hex).map_err(group_key_error(&key.name))
}

/// [`Error::GroupKey`] for key `name`.
fn group_key_error(name: &str) -> impl Fn(PublicKeyError) -> Error + '_ {
    move |source| Error::GroupKey {
        key: name.to_owned(),
        source,
    }
}

/// One encoding of a threshold key's group public key, for
/// `key show --format`.
fn public_encoding(key: &KeyInfo, format: PublicFormat) -> Result<String, Error> {
    let group = group_key(key, need::PUBLIC_KEY)?;
    let encoding_error = group_key_error(&key.name);
    match format {
        PublicFormat::Hex => Ok(format!("{}\n", group.to_hex())),
        PublicFormat::Public => Ok(PublicKeyFile {
            name: key.name.clone(),
            version: key.version,
            key: group,
        }
        .to_line()),
        PublicFormat::Openssh => {
            let ed25519 = group.into_ed25519(&key.name, need::SSH_OR_PEM)?;
            public_key::openssh_line(&ed25519, &key.name)
                .map(|line| format!("{line}\n"))
                .map_err(encoding_error)
        }
        PublicFormat::Pem => {
            let ed25519 = group.into_ed25519(&key.name, need::SSH_OR_PEM)?;
            public_key::pem(&ed25519).map_err(encoding_error)
        }
    }
}

/// What `--public FILE` may weigh.
const PUBLIC_FILE_LIMIT: Limit = Limit {
    max: public_key::MAX_FILE_LEN,
    why: "no public key file is larger",
};

/// Reads a `--public FILE` in any encoding `key show` prints.
fn read_public(path: &Path) -> Result<PublicInput, Error> {
    let bytes = file::read_limited(Some(path), PUBLIC_FILE_LIMIT, "the public key file")?;
    PublicInput::parse(&bytes).map_err(|source| Error::PublicKeyFile {
        path: path.to_owned(),
        source,
    })
}

pub(crate) fn key(command: &KeyCommand) -> Result<(), Error> {
    match command {
        KeyCommand::Create(args) => key_create(args),
        KeyCommand::List { json, client } => {
            let list: KeyList = runtime()?
                .block_on(async { api(client.config.as_deref())?.get("/v1/keys").await })?;
            if *json {
                return print_json(&list);
            }
            println!(
                "{:<24} {:<13} {:>5} {:>7}  CREATED",
                "NAME", "KIND", "T/N", "VERSION"
            );
            for k in &list.keys {
                println!(
                    "{:<24} {:<13} {:>5} {:>7}  {}",
                    printable(&k.name),
                    k.kind.as_str(),
                    format!("{}/{}", k.threshold, k.shares),
                    k.version,
                    printable(&k.created_at)
                );
            }
            Ok(())
        }
        KeyCommand::Show {
            name,
            json,
            format,
            client,
        } => {
            let name = key_name(name)?;
            let key: KeyInfo = runtime()?.block_on(async {
                api(client.config.as_deref())?
                    .get(&format!("/v1/keys/{name}"))
                    .await
            })?;
            if *json {
                return print_json(&key);
            }
            if let Some(format) = format {
                let text = public_encoding(&key, *format)?;
                return Ok(file::write_public(None, text.as_bytes())?);
            }
            print_key(&key)
        }
    }
}

fn key_create(args: &KeyCreateArgs) -> Result<(), Error> {
    key_name(&args.name)?;
    let kind = match args.kind {
        KindArg::Secret => KeyKind::Secret,
        KindArg::Ed25519 => KeyKind::Ed25519,
        KindArg::Ristretto255 => KeyKind::Ristretto255,
    };
    if args.import.is_some() && kind != KeyKind::Secret {
        return Err(Error::ImportThreshold { kind });
    }
    if args.dkg && kind == KeyKind::Secret {
        return Err(Error::DkgSecret);
    }
    let import = match &args.import {
        Some(path) => Some(symbolon_proto::SecretData::from(file::read_limited(
            Some(path),
            IMPORT_LIMIT,
            "the imported secret",
        )?)),
        None => None,
    };
    let request = CreateKeyRequest {
        name: args.name.clone(),
        kind,
        threshold: args.threshold,
        shares: args.shares,
        distinct: args.distinct.map(|d| match d {
            DistinctArg::Country => DistinctLabel::Country,
            DistinctArg::Region => DistinctLabel::Region,
            DistinctArg::Provider => DistinctLabel::Provider,
        }),
        import,
        dkg: args.dkg,
    };
    let key: KeyInfo = runtime()?.block_on(async {
        api(args.client.config.as_deref())?
            .post("/v1/keys", &request)
            .await
    })?;
    if args.json {
        return print_json(&key);
    }
    let placement: Vec<&str> = key.placement.iter().map(|p| p.custodian.as_str()).collect();
    eprintln!(
        "created key {} ({} of {}) on {}",
        printable(&key.name),
        key.threshold,
        key.shares,
        printable_list(&placement, ", ")
    );
    print_key(&key)
}

/// The input of `encrypt`, within the limit of where it is encrypted.
fn read_plaintext(
    input: Option<&Path>,
    limit: Limit,
) -> Result<zeroize::Zeroizing<Vec<u8>>, Error> {
    Ok(file::read_limited(input, limit, "the input")?)
}

/// `encrypt`: a `secret` key encrypts in the cluster; a `ristretto255`
/// key encrypts here, to its group public key (from `--public FILE`, with
/// no cluster at all, or from the coordinator): its plaintext never
/// leaves this process. Where it is encrypted says how large it may be,
/// so the key is looked up before the input is read.
pub(crate) fn encrypt(args: &EncryptArgs) -> Result<(), Error> {
    let crypt = &args.crypt;
    let name = key_name(&crypt.key)?;
    let (input, out) = (crypt.input.as_deref(), crypt.out.as_deref());
    if let Some(path) = &args.public {
        let (key, version) = encryption_key_file(path, name)?;
        let plaintext = read_plaintext(input, THRESHOLD_ENCRYPT_LIMIT)?;
        return encrypt_to(&key, name, version, &plaintext, out);
    }
    let runtime = runtime()?;
    let api = api(crypt.client.config.as_deref())?;
    let info: KeyInfo = runtime.block_on(async { api.get(&format!("/v1/keys/{name}")).await })?;
    if info.kind != KeyKind::Secret {
        let key = group_key(&info, need::ENCRYPT)?.into_ristretto255(&info.name, need::ENCRYPT)?;
        let plaintext = read_plaintext(input, THRESHOLD_ENCRYPT_LIMIT)?;
        return encrypt_to(&key, name, info.version, &plaintext, out);
    }
    let request = EncryptRequest {
        plaintext: read_plaintext(input, PLAINTEXT_LIMIT)?.into(),
    };
    let answer: EncryptResponse = runtime.block_on(async {
        api.post(&format!("/v1/keys/{name}/encrypt"), &request)
            .await
    })?;
    warn_failures(&answer.failures);
    Ok(file::write_secret(out, &answer.ciphertext)?)
}

/// The ristretto255 key and version in the Symbolon public key file
/// `path`, which must be key `name`'s.
fn encryption_key_file(
    path: &Path,
    name: &str,
) -> Result<(symbolon_threshold::tdh2::EncryptionKey, u64), Error> {
    let PublicInput::File(file) = read_public(path)? else {
        return Err(Error::NotPublicKeyFile {
            path: path.to_owned(),
        });
    };
    if file.name != name {
        return Err(Error::OtherKeyFile {
            path: path.to_owned(),
            expected: name.to_owned(),
            found: file.name,
        });
    }
    let key = file.key.into_ristretto255(&file.name, need::ENCRYPT)?;
    Ok((key, file.version))
}

/// Encrypts here to a ristretto255 group key (TDH2, the `SYMT` format).
fn encrypt_to(
    key: &symbolon_threshold::tdh2::EncryptionKey,
    name: &str,
    version: u64,
    plaintext: &[u8],
    out: Option<&Path>,
) -> Result<(), Error> {
    let ciphertext = ciphertext::encrypt_threshold(key, name, version, plaintext, &mut rand::rng())
        .map_err(Error::Encrypt)?;
    Ok(file::write_secret(out, &ciphertext)?)
}

/// Custodians that were skipped in an operation that still succeeded.
fn warn_failures(failures: &[symbolon_proto::CustodianFailure]) {
    for f in failures {
        eprintln!("{}", failure_line(f));
    }
}

/// The warning for one custodian that did not contribute (its id and
/// reason come from the coordinator: made printable).
fn failure_line(f: &symbolon_proto::CustodianFailure) -> String {
    format!(
        "warning: custodian {} did not contribute: {}",
        printable(&f.id),
        printable(&f.reason)
    )
}

/// The limit on a ciphertext `decrypt` sends, by its magic: a threshold
/// ciphertext goes whole to every custodian, another only to the
/// coordinator.
fn decrypt_limit(magic: &[u8]) -> Limit {
    if ciphertext::is_threshold(magic) {
        THRESHOLD_DECRYPT_LIMIT
    } else {
        CIPHERTEXT_LIMIT
    }
}

pub(crate) fn decrypt(args: &CryptArgs) -> Result<(), Error> {
    let name = key_name(&args.key)?;
    let ciphertext = file::read_limited_by(
        args.input.as_deref(),
        "the ciphertext",
        THRESHOLD_MAGIC.len(),
        decrypt_limit,
    )?;
    // Check the header locally so a wrong file fails fast with a clear reason.
    let header = ciphertext::parse_header(&ciphertext)
        .map_err(|e| Error::Usage(format!("the input is not a Symbolon ciphertext: {e}")))?;
    if header.key != name {
        return Err(Error::Usage(format!(
            "the ciphertext was made with key {:?}, not {name:?}",
            header.key
        )));
    }
    let request = DecryptRequest {
        ciphertext: ciphertext.to_vec(),
    };
    let answer: DecryptResponse = runtime()?.block_on(async {
        api(args.client.config.as_deref())?
            .post(&format!("/v1/keys/{name}/decrypt"), &request)
            .await
    })?;
    warn_failures(&answer.failures);
    // The plaintext: a private file, or standard output unbuffered (no
    // copy left in the standard library's buffer).
    Ok(file::write_secret(
        args.out.as_deref(),
        answer.plaintext.expose_secret(),
    )?)
}

pub(crate) fn release(args: &ReleaseArgs) -> Result<(), Error> {
    let name = key_name(&args.key)?;
    args.to
        .parse::<symbolon_envelope::Recipient>()
        .map_err(|e| Error::Usage(format!("--to {:?}: {e}", args.to)))?;
    let request = ReleaseKeyRequest {
        recipient: args.to.clone(),
    };
    let answer: ReleaseKeyResponse = runtime()?.block_on(async {
        api(args.client.config.as_deref())?
            .post(&format!("/v1/keys/{name}/release"), &request)
            .await
    })?;
    warn_failures(&answer.failures);
    // Sealed to the recipient, but kept as private as a plaintext.
    file::write_secret(args.out.as_deref(), answer.envelope.as_bytes())?;
    eprintln!(
        "released key {name} sealed to the recipient (custodians: {}); open it with `symbolon combine FILE --identity ID_FILE`",
        printable_list(&answer.custodians, ", ")
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use symbolon_proto::api::{CustodianStatus, HealthState};
    use symbolon_proto::custodian::Labels;

    #[test]
    fn custodians_with_faults_get_a_line_naming_the_last() {
        let labels: Labels = serde_json::from_value(serde_json::json!({
            "country": "DE", "region": "eu-central", "provider": "hetzner", "kind": "tee"
        }))
        .unwrap();
        let mut c = CustodianStatus {
            id: "c3".into(),
            state: HealthState::Healthy,
            labels,
            endpoint: "https://127.0.0.1:1".into(),
            last_heartbeat: None,
            silent_for_ms: 0,
            last_seq: None,
            shares: 2,
            faults: 0,
            last_fault: None,
        };
        assert_eq!(fault_line(&c), None);
        c.faults = 1;
        c.last_fault = Some("2026-11-21T09:00:00Z invalid signature share".into());
        assert_eq!(
            fault_line(&c).unwrap(),
            "custodian c3 sent 1 bad partial result; last: 2026-11-21T09:00:00Z invalid signature share"
        );
        c.faults = 3;
        assert!(
            fault_line(&c)
                .unwrap()
                .starts_with("custodian c3 sent 3 bad partial results; ")
        );
        // What the coordinator relays cannot drive the terminal.
        c.id = "c3\u{1b}[1A".into();
        c.last_fault = Some("bad share\r\u{1b}[2Kall good".into());
        assert_eq!(
            fault_line(&c).unwrap(),
            "custodian c3\\u{1b}[1A sent 3 bad partial results; last: bad share\\r\\u{1b}[2Kall good"
        );
    }

    #[test]
    fn server_supplied_text_is_printed_escaped() {
        let failure = symbolon_proto::CustodianFailure {
            id: "c2\u{1b}]0;owned\u{7}".into(),
            reason: "timed out\nwarning: none".into(),
        };
        assert_eq!(
            failure_line(&failure),
            "warning: custodian c2\\u{1b}]0;owned\\u{7} did not contribute: timed out\\nwarning: none"
        );
        let mut problem = Problem::new(
            503,
            "not-enough-custodians",
            "Not enough custodians",
            "2 of 3 needed\u{1b}[31m",
        );
        problem.custodians.push(failure);
        assert_eq!(
            Error::Api(Box::new(problem)).to_string(),
            "2 of 3 needed\\u{1b}[31m; c2\\u{1b}]0;owned\\u{7}: timed out\\nwarning: none"
        );
        let e = Error::Http {
            status: 502,
            body: "<html>\u{1b}[5m".into(),
        };
        assert_eq!(
            e.to_string(),
            "the coordinator answered 502: <html>\\u{1b}[5m"
        );
    }

    #[test]
    fn a_ciphertext_is_limited_by_where_it_goes() {
        assert_eq!(decrypt_limit(b"SYMT"), THRESHOLD_DECRYPT_LIMIT);
        assert_eq!(decrypt_limit(b"SYMC"), CIPHERTEXT_LIMIT);
        assert_eq!(decrypt_limit(b""), CIPHERTEXT_LIMIT);
    }

    #[test]
    fn threshold_key_errors_say_what_the_key_is_and_what_is_needed() {
        let e = Error::Kind {
            key: "vault".into(),
            kind: KeyKind::Ristretto255,
            need: "sign needs an ed25519 key",
        };
        assert_eq!(
            e.to_string(),
            "key \"vault\" is a ristretto255 key; sign needs an ed25519 key"
        );
        let e = Error::ImportThreshold {
            kind: KeyKind::Ed25519,
        };
        assert_eq!(
            e.to_string(),
            "--import works only with --kind secret: ed25519 keys are generated in the cluster"
        );
    }
}
