//! `symbolon dev`: a coordinator and five custodians on loopback, as
//! separate processes, with a fresh CA and everything in one directory.
//!
//! Layout of the data directory (default `./.symbolon-dev`):
//!
//! ```text
//! dev.toml                  written last: the cluster is initialised
//! client.toml               used by client commands by default
//! join-token                custodians' join token (0600)
//! ca/ca.pem, ca/ca.key      the cluster CA
//! client/admin.{pem,key}    the client certificate
//! coordinator/              coordinator.toml, certificate, identity.key, symbolon.db
//! custodians/cN/            cN.toml, certificate, data/ (identity, shards)
//! logs/*.log                each process's log
//! ```
//!
//! Started again on an initialised directory it reuses everything: same
//! ports, same keys.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use rand::RngExt as _;
use serde::{Deserialize, Serialize};
use symbolon_proto::api::{HealthState, StatusResponse};
use symbolon_transport::{Ca, Role, TlsFiles};
use tokio::process::{Child, Command};

use super::Error;
use super::args::DevArgs;
use super::client::{Api, ClientConfig};

/// The five dev custodians: id, country, region, provider, kind.
const CUSTODIANS: [(&str, &str, &str, &str, &str); 5] = [
    ("c1", "DE", "eu-central", "hetzner", "tee"),
    ("c2", "FR", "eu-west", "ovh", "hsm"),
    ("c3", "JP", "ap-northeast", "sakura", "tpm"),
    ("c4", "US", "us-east", "aws", "vm"),
    ("c5", "BR", "sa-east", "magalu", "org"),
];

/// How long to wait for every custodian to be healthy.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long children get to exit after SIGTERM.
const STOP_GRACE: Duration = Duration::from_secs(10);

#[derive(Debug, Serialize, Deserialize)]
struct DevState {
    coordinator_port: u16,
    custodian_ports: Vec<u16>,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Write {
        path: path.to_owned(),
        source,
    }
}

fn mkdir(path: &Path) -> Result<(), Error> {
    use std::os::unix::fs::DirBuilderExt as _;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(io_err(path))
}

fn write_file(path: &Path, text: &str) -> Result<(), Error> {
    crate::file::write_private(path, &[text.as_bytes()]).map_err(Error::from)
}

fn free_ports(count: usize, base: Option<u16>) -> Result<Vec<u16>, Error> {
    if let Some(base) = base {
        return (0..count)
            .map(|i| {
                u16::try_from(i)
                    .ok()
                    .and_then(|i| base.checked_add(i))
                    .ok_or_else(|| {
                        Error::Usage(format!(
                            "--base-port {base} leaves no room for {count} ports"
                        ))
                    })
            })
            .collect();
    }
    // Hold all listeners at once so the ports differ, then release them.
    let listeners = (0..count)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::Dev(format!("cannot find free loopback ports: {e}")))?;
    listeners
        .iter()
        .map(|l| {
            l.local_addr()
                .map(|a| a.port())
                .map_err(|e| Error::Dev(format!("cannot find free loopback ports: {e}")))
        })
        .collect()
}

/// A TOML string literal, escaped.
fn q(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

fn toml_string(value: &impl Serialize, path: &Path) -> Result<String, Error> {
    toml::to_string(value).map_err(|e| Error::Config {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

/// Creates the CA, certificates and configurations.
fn initialise(dir: &Path, base_port: Option<u16>) -> Result<DevState, Error> {
    let ports = free_ports(1 + CUSTODIANS.len(), base_port)?;
    let (coordinator_port, custodian_ports) = ports
        .split_first()
        .ok_or_else(|| Error::Dev("no ports".into()))?;
    let ca_dir = dir.join("ca");
    if ca_dir.join("ca.pem").exists() {
        return Err(Error::Dev(format!(
            "{} holds a half-initialised cluster (no dev.toml); remove the directory and start again",
            dir.display()
        )));
    }
    mkdir(&ca_dir)?;
    let ca = Ca::init(&ca_dir)?;
    let ca_path = ca.cert_path().to_owned();
    let token = hex::encode(rand::rng().random::<[u8; 32]>());
    write_file(&dir.join("join-token"), &format!("{token}\n"))?;

    let coordinator_dir = dir.join("coordinator");
    mkdir(&coordinator_dir)?;
    // A fresh directory (checked above): an existing file is an error.
    let tls = ca.issue(Role::Coordinator, "coordinator", &[])?.write(
        &coordinator_dir,
        "coordinator",
        &ca_path,
        symbolon_transport::Existing::Refuse,
    )?;
    let coordinator_url = format!("https://127.0.0.1:{coordinator_port}");
    let mut text = format!(
        "listen = {}\ndata_dir = {}\njoin_token_file = {}\n",
        q(&format!("127.0.0.1:{coordinator_port}")),
        q(&coordinator_dir.display().to_string()),
        q(&dir.join("join-token").display().to_string()),
    );
    text.push_str(&format!(
        "\n[tls]\n{}",
        toml_string(&tls, &coordinator_dir)?
    ));
    write_file(&coordinator_dir.join("coordinator.toml"), &text)?;

    for ((id, country, region, provider, kind), port) in CUSTODIANS.iter().zip(custodian_ports) {
        let cdir = dir.join("custodians").join(id);
        mkdir(&cdir)?;
        let tls = ca.issue(Role::Custodian, id, &[])?.write(
            &cdir,
            id,
            &ca_path,
            symbolon_transport::Existing::Refuse,
        )?;
        let mut text = format!(
            "id = {}\nlisten = {}\ndata_dir = {}\ncoordinator_url = {}\njoin_token_file = {}\n",
            q(id),
            q(&format!("127.0.0.1:{port}")),
            q(&cdir.join("data").display().to_string()),
            q(&coordinator_url),
            q(&dir.join("join-token").display().to_string()),
        );
        text.push_str(&format!(
            "\n[labels]\ncountry = {}\nregion = {}\nprovider = {}\nkind = {}\n\n[tls]\n{}",
            q(country),
            q(region),
            q(provider),
            q(kind),
            toml_string(&tls, &cdir)?
        ));
        write_file(&cdir.join(format!("{id}.toml")), &text)?;
    }

    let client_dir = dir.join("client");
    mkdir(&client_dir)?;
    let tls = ca.issue(Role::Client, "admin", &[])?.write(
        &client_dir,
        "admin",
        &ca_path,
        symbolon_transport::Existing::Refuse,
    )?;
    let client = ClientConfig {
        coordinator_url,
        tls: TlsFiles {
            ca: tls.ca.canonicalize().unwrap_or(tls.ca),
            cert: tls.cert.canonicalize().unwrap_or(tls.cert),
            key: tls.key.canonicalize().unwrap_or(tls.key),
        },
    };
    write_file(&dir.join("client.toml"), &toml_string(&client, dir)?)?;
    let state = DevState {
        coordinator_port: *coordinator_port,
        custodian_ports: custodian_ports.to_vec(),
    };
    write_file(&dir.join("dev.toml"), &toml_string(&state, dir)?)?;
    Ok(state)
}

struct Process {
    name: String,
    log: PathBuf,
    child: Child,
    exited: bool,
}

fn spawn(exe: &Path, name: &str, args: &[&str], logs: &Path) -> Result<Process, Error> {
    let log = logs.join(format!("{name}.log"));
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .map_err(io_err(&log))?;
    let err = file.try_clone().map_err(io_err(&log))?;
    let child = Command::new(exe)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::from(file))
        .stderr(Stdio::from(err))
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| Error::Dev(format!("cannot start {name} ({}): {e}", exe.display())))?;
    Ok(Process {
        name: name.to_owned(),
        log,
        child,
        exited: false,
    })
}

fn log_tail(path: &Path) -> String {
    std::fs::read_to_string(path)
        .map(|text| {
            let lines: Vec<&str> = text.lines().collect();
            lines
                .get(lines.len().saturating_sub(5)..)
                .unwrap_or_default()
                .join("\n    ")
        })
        .unwrap_or_default()
}

/// Sends SIGTERM to every child still running, waits, then kills.
async fn stop_all(processes: &mut [Process]) {
    for p in processes.iter() {
        if let Some(pid) = p
            .child
            .id()
            .and_then(|id| i32::try_from(id).ok())
            .and_then(rustix::process::Pid::from_raw)
        {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
    }
    let deadline = tokio::time::Instant::now() + STOP_GRACE;
    for p in processes.iter_mut() {
        if tokio::time::timeout_at(deadline, p.child.wait())
            .await
            .is_err()
        {
            eprintln!("{} did not stop in time; killing it", p.name);
            let _ = p.child.kill().await;
        }
    }
}

pub(crate) fn run(args: &DevArgs) -> Result<(), Error> {
    super::runtime()?.block_on(run_async(args))
}

async fn run_async(args: &DevArgs) -> Result<(), Error> {
    let dir = &args.data_dir;
    mkdir(dir)?;
    let dir = dir.canonicalize().map_err(io_err(dir))?;
    // One dev cluster per directory: held until this process exits.
    let lock_path = dir.join("dev.lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(io_err(&lock_path))?;
    if rustix::fs::flock(&lock, rustix::fs::FlockOperation::NonBlockingLockExclusive).is_err() {
        return Err(Error::Dev(format!(
            "another `symbolon dev` is already running on {}",
            dir.display()
        )));
    }
    let state_path = dir.join("dev.toml");
    let resumed = state_path.exists();
    let state: DevState = if resumed {
        let text = std::fs::read_to_string(&state_path).map_err(|source| Error::Read {
            path: state_path.clone(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| Error::Config {
            path: state_path.clone(),
            reason: e.message().to_owned(),
        })?
    } else {
        eprintln!("initialising a new dev cluster in {}", dir.display());
        initialise(&dir, args.base_port)?
    };
    let logs = dir.join("logs");
    mkdir(&logs)?;
    let exe = std::env::current_exe()
        .map_err(|e| Error::Dev(format!("cannot find the symbolon binary: {e}")))?;
    let mut processes = Vec::new();
    let coordinator_config = dir.join("coordinator/coordinator.toml");
    processes.push(spawn(
        &exe,
        "coordinator",
        &[
            "coordinator",
            "serve",
            "--config",
            &coordinator_config.display().to_string(),
        ],
        &logs,
    )?);
    for (id, ..) in CUSTODIANS {
        let config = dir.join("custodians").join(id).join(format!("{id}.toml"));
        processes.push(spawn(
            &exe,
            id,
            &[
                "custodian",
                "serve",
                "--config",
                &config.display().to_string(),
            ],
            &logs,
        )?);
    }
    let client = ClientConfig::find(Some(&dir.join("client.toml")))?;
    let api = Api::new(&client, Duration::from_secs(5))?;
    let started = Instant::now();
    let ready = tokio::select! {
        ready = wait_healthy(&api, &mut processes) => ready,
        () = super::shutdown_signal() => Err(Error::Dev("interrupted while starting".into())),
    };
    if let Err(e) = ready {
        stop_all(&mut processes).await;
        return Err(e);
    }
    let status: StatusResponse = api.get("/v1/status").await?;
    print_banner(&dir, &client, &exe, &status, resumed, started.elapsed());
    let _ = state;
    loop {
        tokio::select! {
            () = super::shutdown_signal() => break,
            () = tokio::time::sleep(Duration::from_millis(500)) => {
                for p in processes.iter_mut().filter(|p| !p.exited) {
                    if let Ok(Some(status)) = p.child.try_wait() {
                        p.exited = true;
                        eprintln!("{} exited ({status}); its log: {}", p.name, p.log.display());
                    }
                }
            }
        }
    }
    eprintln!("stopping the dev cluster");
    stop_all(&mut processes).await;
    eprintln!("stopped; `symbolon dev` again resumes with the same keys");
    Ok(())
}

async fn wait_healthy(api: &Api, processes: &mut [Process]) -> Result<(), Error> {
    let deadline = Instant::now() + START_TIMEOUT;
    let mut last;
    loop {
        for p in processes.iter_mut() {
            if let Ok(Some(status)) = p.child.try_wait() {
                return Err(Error::Dev(format!(
                    "{} exited while starting ({status}); last lines of {}:\n    {}",
                    p.name,
                    p.log.display(),
                    log_tail(&p.log)
                )));
            }
        }
        match api.get::<StatusResponse>("/v1/status").await {
            Ok(status) => {
                let healthy = status
                    .custodians
                    .iter()
                    .filter(|c| c.state == HealthState::Healthy)
                    .count();
                if healthy >= CUSTODIANS.len() {
                    return Ok(());
                }
                last = format!("{healthy} of {} custodians healthy", CUSTODIANS.len());
            }
            Err(e) => last = e.to_string(),
        }
        if Instant::now() > deadline {
            return Err(Error::Dev(format!(
                "the cluster did not become healthy within {} s: {last}",
                START_TIMEOUT.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn print_banner(
    dir: &Path,
    client: &ClientConfig,
    exe: &Path,
    status: &StatusResponse,
    resumed: bool,
    took: Duration,
) {
    let countries: Vec<String> = status
        .custodians
        .iter()
        .map(|c| format!("{} ({})", c.id, c.labels.country))
        .collect();
    let config_hint = if dir
        == std::env::current_dir()
            .unwrap_or_default()
            .join(".symbolon-dev")
    {
        String::new()
    } else {
        format!(
            "  export SYMBOLON_CONFIG={}\n",
            dir.join("client.toml").display()
        )
    };
    println!(
        "Symbolon dev cluster {} in {:.1} s\n  coordinator  {}\n  custodians   {}\n  keys         {}\n  data, logs   {}\n\nTry (the binary is {}):\n{config_hint}  symbolon status\n  symbolon key create demo --kind secret --threshold 3 --shares 5 --distinct country\n  echo 'attack at dawn' | symbolon encrypt --key demo > msg.sym\n  symbolon decrypt --key demo < msg.sym\n  symbolon bench --clients 32 --duration 10s\n\nCtrl-C stops the cluster; `symbolon dev` again resumes it.",
        if resumed { "resumed" } else { "started" },
        took.as_secs_f64(),
        client.coordinator_url,
        countries.join(", "),
        status.keys,
        dir.display(),
        exe.display(),
    );
}
