//! The cluster commands: PKI, daemons, the local dev cluster, and the
//! client commands that talk to a coordinator.

pub(crate) mod args;
pub(crate) mod audit;
mod bench;
mod client;
mod dev;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use symbolon_proto::Problem;
use symbolon_proto::api::{
    CreateKeyRequest, DecryptRequest, DecryptResponse, DistinctLabel, EncryptRequest,
    EncryptResponse, KeyInfo, KeyKind, KeyList, ReleaseKeyRequest, ReleaseKeyResponse,
    StatusResponse,
};
use symbolon_transport::{Ca, Role};

use self::args::{
    CaCommand, CryptArgs, DistinctArg, KeyCommand, KeyCreateArgs, KindArg, ReleaseArgs, RoleArg,
    ServeCommand, StatusArgs,
};
pub(crate) use self::bench::run as bench;
use self::client::{Api, ClientConfig};
pub(crate) use self::dev::run as dev;
use crate::error::CliError;
use crate::file;

/// Largest plaintext `encrypt` sends (the coordinator accepts 16 MiB bodies;
/// base64 grows data by a third).
const MAX_PLAINTEXT: usize = 12 << 20;

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
    #[error("cannot reach the coordinator at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("{}", .0.one_line())]
    Api(Box<Problem>),
    #[error("the coordinator answered {status}: {body}")]
    Http { status: u16, body: String },
    #[error("the coordinator's answer is malformed: {reason}")]
    BadAnswer { reason: String },
    #[error("{what} is {len} bytes; at most {max} are allowed")]
    TooLarge {
        what: &'static str,
        len: usize,
        max: usize,
    },
    #[error("coordinator: {0}")]
    Coordinator(#[from] symbolon_coordinator::Error),
    #[error("custodian: {0}")]
    Custodian(#[from] symbolon_custodian::Error),
    #[error("{0}")]
    Dev(String),
    #[error("{0}")]
    Usage(String),
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

pub(crate) fn status(args: &StatusArgs) -> Result<(), Error> {
    let status: StatusResponse = runtime()?
        .block_on(async { api(args.client.config.as_deref())?.get("/v1/status").await })?;
    if args.json {
        return print_json(&status);
    }
    println!(
        "{:<12} {:<8} {:<8} {:<14} {:<10} {:<5} {:>6}  last heartbeat",
        "CUSTODIAN", "STATE", "COUNTRY", "REGION", "PROVIDER", "KIND", "SHARES"
    );
    for c in &status.custodians {
        println!(
            "{:<12} {:<8} {:<8} {:<14} {:<10} {:<5} {:>6}  {}",
            c.id,
            c.state.as_str(),
            c.labels.country,
            c.labels.region,
            c.labels.provider,
            c.labels.kind.as_str(),
            c.shares,
            c.last_heartbeat.as_deref().map_or_else(
                || "never".to_owned(),
                |t| format!("{t} ({} ms ago)", c.silent_for_ms)
            ),
        );
    }
    println!("{} keys; coordinator {}", status.keys, status.version);
    Ok(())
}

fn print_key(key: &KeyInfo) {
    println!("name:      {}", key.name);
    println!("id:        {}", key.id);
    println!("kind:      {}", key.kind.as_str());
    println!("threshold: {} of {}", key.threshold, key.shares);
    println!("version:   {}", key.version);
    if let Some(d) = key.distinct {
        println!("distinct:  {}", d.as_str());
    }
    println!("created:   {} by {}", key.created_at, key.created_by);
    let placement: Vec<String> = key
        .placement
        .iter()
        .map(|p| format!("{}:{}", p.index, p.custodian))
        .collect();
    println!("placement: {}", placement.join(" "));
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
                    k.name,
                    k.kind.as_str(),
                    format!("{}/{}", k.threshold, k.shares),
                    k.version,
                    k.created_at
                );
            }
            Ok(())
        }
        KeyCommand::Show { name, json, client } => {
            symbolon_proto::validate_name("key name", name)
                .map_err(|e| Error::Usage(e.to_string()))?;
            let key: KeyInfo = runtime()?.block_on(async {
                api(client.config.as_deref())?
                    .get(&format!("/v1/keys/{name}"))
                    .await
            })?;
            if *json {
                return print_json(&key);
            }
            print_key(&key);
            Ok(())
        }
    }
}

fn key_create(args: &KeyCreateArgs) -> Result<(), Error> {
    symbolon_proto::validate_name("key name", &args.name)
        .map_err(|e| Error::Usage(e.to_string()))?;
    let import = match &args.import {
        Some(path) => Some(symbolon_proto::SecretData::from(file::read(path)?)),
        None => None,
    };
    let request = CreateKeyRequest {
        name: args.name.clone(),
        kind: match args.kind {
            KindArg::Secret => KeyKind::Secret,
            KindArg::Ed25519 => KeyKind::Ed25519,
            KindArg::Ristretto255 => KeyKind::Ristretto255,
        },
        threshold: args.threshold,
        shares: args.shares,
        distinct: args.distinct.map(|d| match d {
            DistinctArg::Country => DistinctLabel::Country,
            DistinctArg::Region => DistinctLabel::Region,
            DistinctArg::Provider => DistinctLabel::Provider,
        }),
        import,
    };
    let key: KeyInfo = runtime()?.block_on(async {
        api(args.client.config.as_deref())?
            .post("/v1/keys", &request)
            .await
    })?;
    if args.json {
        return print_json(&key);
    }
    eprintln!(
        "created key {} ({} of {}) on {}",
        key.name,
        key.threshold,
        key.shares,
        key.placement
            .iter()
            .map(|p| p.custodian.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    print_key(&key);
    Ok(())
}

fn read_input(input: Option<&Path>) -> Result<zeroize::Zeroizing<Vec<u8>>, Error> {
    Ok(match input {
        Some(path) => file::read(path)?,
        None => file::read_stdin()?,
    })
}

fn write_output(out: Option<&Path>, bytes: &[u8]) -> Result<(), Error> {
    match out {
        Some(path) => Ok(file::write_private(path, &[bytes])?),
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(bytes)
                .and_then(|()| stdout.flush())
                .map_err(|e| Error::Cli(CliError::WriteStdout(e)))
        }
    }
}

pub(crate) fn encrypt(args: &CryptArgs) -> Result<(), Error> {
    symbolon_proto::validate_name("key name", &args.key)
        .map_err(|e| Error::Usage(e.to_string()))?;
    let plaintext = read_input(args.input.as_deref())?;
    if plaintext.len() > MAX_PLAINTEXT {
        return Err(Error::TooLarge {
            what: "the input",
            len: plaintext.len(),
            max: MAX_PLAINTEXT,
        });
    }
    let request = EncryptRequest {
        plaintext: plaintext.into(),
    };
    let answer: EncryptResponse = runtime()?.block_on(async {
        api(args.client.config.as_deref())?
            .post(&format!("/v1/keys/{}/encrypt", args.key), &request)
            .await
    })?;
    warn_failures(&answer.failures);
    write_output(args.out.as_deref(), &answer.ciphertext)
}

/// Custodians that were skipped in an operation that still succeeded.
fn warn_failures(failures: &[symbolon_proto::CustodianFailure]) {
    for f in failures {
        eprintln!(
            "warning: custodian {} did not contribute: {}",
            f.id, f.reason
        );
    }
}

pub(crate) fn decrypt(args: &CryptArgs) -> Result<(), Error> {
    symbolon_proto::validate_name("key name", &args.key)
        .map_err(|e| Error::Usage(e.to_string()))?;
    let ciphertext = read_input(args.input.as_deref())?;
    if ciphertext.len() > MAX_PLAINTEXT + 128 {
        return Err(Error::TooLarge {
            what: "the ciphertext",
            len: ciphertext.len(),
            max: MAX_PLAINTEXT + 128,
        });
    }
    // Check the header locally so a wrong file fails fast with a clear reason.
    let header = symbolon_proto::ciphertext::parse_header(&ciphertext)
        .map_err(|e| Error::Usage(format!("the input is not a Symbolon ciphertext: {e}")))?;
    if header.key != args.key {
        return Err(Error::Usage(format!(
            "the ciphertext was made with key {:?}, not {:?}",
            header.key, args.key
        )));
    }
    let request = DecryptRequest {
        ciphertext: ciphertext.to_vec(),
    };
    let answer: DecryptResponse = runtime()?.block_on(async {
        api(args.client.config.as_deref())?
            .post(&format!("/v1/keys/{}/decrypt", args.key), &request)
            .await
    })?;
    warn_failures(&answer.failures);
    write_output(args.out.as_deref(), answer.plaintext.expose_secret())
}

pub(crate) fn release(args: &ReleaseArgs) -> Result<(), Error> {
    symbolon_proto::validate_name("key name", &args.key)
        .map_err(|e| Error::Usage(e.to_string()))?;
    args.to
        .parse::<symbolon_envelope::Recipient>()
        .map_err(|e| Error::Usage(format!("--to {:?}: {e}", args.to)))?;
    let request = ReleaseKeyRequest {
        recipient: args.to.clone(),
    };
    let answer: ReleaseKeyResponse = runtime()?.block_on(async {
        api(args.client.config.as_deref())?
            .post(&format!("/v1/keys/{}/release", args.key), &request)
            .await
    })?;
    warn_failures(&answer.failures);
    write_output(args.out.as_deref(), answer.envelope.as_bytes())?;
    eprintln!(
        "released key {} sealed to the recipient (custodians: {}); open it with `symbolon combine FILE --identity ID_FILE`",
        args.key,
        answer.custodians.join(", ")
    );
    Ok(())
}
