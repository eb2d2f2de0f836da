//! `symbolon audit`: read and verify the coordinator's tamper-evident audit
//! log (DESIGN §8).
//!
//! * `tail` prints the last entries (and follows new ones with `-f`);
//! * `verify` replays the whole log with [`symbolon_audit::Replay`]: it
//!   rebuilds the Merkle tree from the entries, checks every signed tree
//!   head, the latest head, and a head saved by an earlier `verify --save`,
//!   and names the first entry that does not match;
//! * `prove` fetches an inclusion proof and writes it, with its signed tree
//!   head, to a self-contained JSON file;
//! * `check-proof` checks such a file offline against the log's public key.
//!
//! Entries are always decoded from their canonical `encoded` bytes (the
//! bytes the log hashes), never from the coordinator's decoded view.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Subcommand};
use serde::{Deserialize, Serialize};
use serde_json::json;
use symbolon_audit::{
    Entry, HeadSource, NodeHash, NoteKey, Replay, ReplayError, SignedTreeHead, TreeHead, leaf_hash,
    verify_inclusion,
};
use symbolon_proto::audit::{
    AuditEntries, AuditEntryView, AuditHead, InclusionProof, MAX_ENTRIES_PER_PAGE,
};
use time::OffsetDateTime;

use super::args::ClientOpts;
use super::client::Api;
use crate::error::CliError;
use crate::file;
use crate::terminal::printable;

/// The `format` field of a proof file.
const PROOF_FORMAT: &str = "symbolon-audit-inclusion-proof";
/// The proof file version this build writes and reads.
const PROOF_VERSION: u64 = 1;
/// How often `tail -f` asks for new entries.
const FOLLOW_INTERVAL: Duration = Duration::from_millis(500);

#[derive(Debug, Subcommand)]
pub(crate) enum AuditCommand {
    /// Print the last entries of the audit log, one per line: index, time,
    /// event, actor, key/version, outcome and custodians.
    Tail(TailArgs),
    /// Rebuild the whole log from the coordinator and check it: every entry,
    /// every signed tree head, the latest head, and (with --since) that the
    /// log still extends a head saved earlier. Names the first bad entry and
    /// exits non-zero if anything does not match.
    Verify(VerifyArgs),
    /// Fetch the inclusion proof of one entry, with the signed tree head it
    /// is against, as a self-contained JSON file for `check-proof`.
    Prove(ProveArgs),
    /// Check an inclusion proof file offline: the tree head's signature by
    /// the log key, and that the entry is in the tree it signs. Needs no
    /// cluster.
    CheckProof(CheckProofArgs),
}

#[derive(Debug, Args)]
pub(crate) struct TailArgs {
    /// How many entries to print.
    #[arg(short = 'n', long = "lines", value_name = "N", default_value_t = 20)]
    lines: u64,
    /// Keep printing new entries as they are logged, until Ctrl-C.
    #[arg(short = 'f', long)]
    follow: bool,
    /// Print one JSON object per line (index, encoded, entry, head).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    client: ClientOpts,
}

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// A tree head saved by an earlier `verify --save`: fail if the log is
    /// now shorter than it (truncated) or its first entries differ from the
    /// ones it signed (history rewritten).
    #[arg(long, value_name = "FILE")]
    since: Option<PathBuf>,
    /// After a successful check, write the verified latest tree head to
    /// FILE (replacing it), for a later `--since FILE`.
    #[arg(long, value_name = "FILE")]
    save: Option<PathBuf>,
    /// The log's public key (`name+id+key`, as this command prints it), or
    /// @FILE holding it. Without it the key the coordinator presents is
    /// trusted on first use; a --since head must be signed by it.
    #[arg(long, value_name = "VKEY|@FILE")]
    log_key: Option<String>,
    /// Also require at least K valid witness (custodian) cosignatures on
    /// the latest witnessed tree head, which must match the log. The
    /// witnesses' keys are the ones the coordinator presents.
    #[arg(long, value_name = "K")]
    witnesses: Option<usize>,
    /// Print the result as one JSON object (also on failure, then with
    /// `"ok": false` and the first bad entry).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    client: ClientOpts,
}

#[derive(Debug, Args)]
pub(crate) struct ProveArgs {
    /// The entry's index.
    #[arg(long, value_name = "N")]
    entry: u64,
    /// Write the proof to FILE (replacing it) instead of standard output.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// The log's public key to check the proof with before writing it
    /// (default: the key the coordinator presents, which is also recorded
    /// in the file for reference).
    #[arg(long, value_name = "VKEY|@FILE")]
    log_key: Option<String>,
    #[command(flatten)]
    client: ClientOpts,
}

#[derive(Debug, Args)]
pub(crate) struct CheckProofArgs {
    /// The proof file `symbolon audit prove` wrote.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// The log's public key (`name+id+key`), or @FILE holding it. Required:
    /// the key recorded inside the proof file is never trusted.
    #[arg(long, value_name = "VKEY|@FILE")]
    log_key: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// What is wrong with an inclusion proof.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ProofError {
    #[error("its tree head is malformed: {0}")]
    HeadUnreadable(symbolon_audit::Error),
    #[error("its tree head is not signed by the log key {name:?}: {source}")]
    HeadSignature {
        name: String,
        source: symbolon_audit::Error,
    },
    #[error("its tree head is for log {found:?}, not {expected:?}")]
    HeadOrigin { expected: String, found: String },
    #[error("proof hash {position} is not 64 hexadecimal digits")]
    ProofHash { position: usize },
    #[error("entry {index} is not in the log at tree size {size}: {source}")]
    NotIncluded {
        index: u64,
        size: u64,
        source: symbolon_audit::Error,
    },
    #[error("entry {index} is in the log but is not a valid audit entry: {source}")]
    Undecodable {
        index: u64,
        source: symbolon_audit::Error,
    },
    #[error("its `entry` field does not match its `encoded` bytes (entry {index})")]
    EntryMismatch { index: u64 },
}

/// Everything an audit command can fail with: one line each.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AuditError {
    #[error(transparent)]
    Cluster(#[from] super::Error),
    #[error(
        "--log-key {arg:?}: {source} (expected name+id+key, as `symbolon audit verify` prints it, or @FILE)"
    )]
    LogKey {
        arg: String,
        source: symbolon_audit::Error,
    },
    #[error("the coordinator presents a malformed log key {key:?}: {source}")]
    PresentedKey {
        key: String,
        source: symbolon_audit::Error,
    },
    #[error("the coordinator presents a malformed witness key {key:?}: {source}")]
    WitnessKey {
        key: String,
        source: symbolon_audit::Error,
    },
    #[error("the coordinator's {what} tree head is malformed: {source}")]
    HeadUnreadable {
        what: &'static str,
        source: symbolon_audit::Error,
    },
    #[error("{}: not a saved tree head: {source}", path.display())]
    SavedHead {
        path: PathBuf,
        source: symbolon_audit::Error,
    },
    #[error(
        "{}: {source}; it was saved for another log or under another log key ({key_source} is {key})",
        path.display()
    )]
    SavedHeadKey {
        path: PathBuf,
        key_source: &'static str,
        key: String,
        source: Box<ReplayError>,
    },
    #[error("audit log verification failed: {0}")]
    Verify(Box<ReplayError>),
    #[error("--witnesses {required}: no tree head has been cosigned by witnesses yet")]
    NotWitnessed { required: usize },
    #[error("{context}: {source}")]
    Proof { context: String, source: ProofError },
    #[error("{}: not an audit inclusion proof: {reason}", path.display())]
    ProofFile { path: PathBuf, reason: String },
    #[error(
        "{}: proof file version {version} is not supported (this symbolon reads version {PROOF_VERSION})",
        path.display()
    )]
    ProofVersion { path: PathBuf, version: u64 },
    #[error(
        "no log key to check the proof against: pass --log-key VKEY|@FILE (the key recorded in the proof file is not trusted)"
    )]
    NoLogKey,
}

impl From<ReplayError> for AuditError {
    fn from(e: ReplayError) -> Self {
        AuditError::Verify(Box::new(e))
    }
}

impl From<CliError> for AuditError {
    fn from(e: CliError) -> Self {
        AuditError::Cluster(e.into())
    }
}

/// A self-contained inclusion proof, as `prove` writes it.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProofFile {
    /// [`PROOF_FORMAT`].
    format: String,
    /// [`PROOF_VERSION`].
    version: u64,
    /// The log key the proof was checked with when written. For reference
    /// only: `check-proof` never trusts it.
    log_key: String,
    /// The entry's index.
    index: u64,
    /// The entry's canonical encoding.
    #[serde(with = "symbolon_proto::b64")]
    encoded: Vec<u8>,
    /// The entry, decoded for humans; must match `encoded`.
    entry: Option<Entry>,
    /// The signed tree head (C2SP signed note) the proof is against.
    head: String,
    /// The RFC 9162 audit path, deepest first, hex.
    proof: Vec<String>,
}

pub(crate) fn run(command: &AuditCommand) -> Result<(), AuditError> {
    match command {
        AuditCommand::Tail(args) => tail(args),
        AuditCommand::Verify(args) => verify(args),
        AuditCommand::Prove(args) => prove(args),
        AuditCommand::CheckProof(args) => check_proof(args),
    }
}

fn api(client: &ClientOpts) -> Result<Api, AuditError> {
    Ok(super::api(client.config.as_deref())?)
}

/// Parses `--log-key VKEY|@FILE`.
fn parse_log_key(arg: &str) -> Result<NoteKey, AuditError> {
    let text = match arg.strip_prefix('@') {
        Some(path) => {
            let path = PathBuf::from(path);
            std::fs::read_to_string(&path).map_err(|source| super::Error::Read { path, source })?
        }
        None => arg.to_owned(),
    };
    NoteKey::from_vkey(text.trim()).map_err(|source| AuditError::LogKey {
        arg: arg.to_owned(),
        source,
    })
}

/// The log key to verify with: `--log-key`, else the coordinator's (trusted
/// on first use, with a note on stderr). Returns the key and whether it was
/// pinned.
fn choose_log_key(
    pinned: Option<NoteKey>,
    head: &AuditHead,
) -> Result<(NoteKey, bool), AuditError> {
    let presented = NoteKey::from_vkey(&head.log_key).map_err(|source| AuditError::PresentedKey {
        key: head.log_key.clone(),
        source,
    });
    match pinned {
        Some(pinned) => {
            if presented.as_ref().ok() != Some(&pinned) {
                eprintln!(
                    "warning: the coordinator presents log key {}, not the one given with --log-key",
                    head.log_key
                );
            }
            Ok((pinned, true))
        }
        None => {
            let key = presented?;
            eprintln!(
                "note: trusting the log key the coordinator presents: {}\n      (pin it with --log-key to detect a replaced key)",
                key.to_vkey()
            );
            Ok((key, false))
        }
    }
}

fn parse_head(note: &str, what: &'static str) -> Result<SignedTreeHead, AuditError> {
    SignedTreeHead::parse(note).map_err(|source| AuditError::HeadUnreadable { what, source })
}

// ---------------------------------------------------------------- tail

fn tail(args: &TailArgs) -> Result<(), AuditError> {
    super::runtime()?.block_on(tail_async(args))
}

async fn tail_async(args: &TailArgs) -> Result<(), AuditError> {
    let api = api(&args.client)?;
    let head: AuditHead = api.get("/v1/audit/head").await?;
    let mut next = head.size.saturating_sub(args.lines);
    while next < head.size {
        let printed = print_page(&api, &mut next, Some(head.size), args.json).await?;
        if printed == 0 {
            break;
        }
    }
    if !args.follow {
        return Ok(());
    }
    let stop = super::shutdown_signal();
    tokio::pin!(stop);
    let mut warned = false;
    loop {
        tokio::select! {
            () = &mut stop => return Ok(()),
            () = tokio::time::sleep(FOLLOW_INTERVAL) => {}
        }
        match print_page(&api, &mut next, None, args.json).await {
            Ok(_) => warned = false,
            // The coordinator restarting is not the end of a follow.
            Err(AuditError::Cluster(super::Error::Unreachable { url, reason })) => {
                if !warned {
                    eprintln!("warning: cannot reach the coordinator at {url}: {reason}; retrying");
                    warned = true;
                }
            }
            Err(e) => return Err(e),
        }
    }
}

/// Prints the entries from `*next` on (below `end`, if given), one page;
/// advances `*next` and returns how many were printed.
async fn print_page(
    api: &Api,
    next: &mut u64,
    end: Option<u64>,
    json: bool,
) -> Result<usize, AuditError> {
    let limit = end.map_or(MAX_ENTRIES_PER_PAGE, |end| {
        end.saturating_sub(*next).min(MAX_ENTRIES_PER_PAGE)
    });
    if limit == 0 {
        return Ok(0);
    }
    let page = entries_page(api, *next, limit).await?;
    let mut text = String::new();
    let mut printed = 0;
    for view in page.entries {
        if view.index < *next || end.is_some_and(|end| view.index >= end) {
            continue;
        }
        *next = view.index.saturating_add(1);
        if json {
            text.push_str(&entry_json(view)?);
        } else {
            text.push_str(&entry_line(view.index, &view.encoded));
        }
        text.push('\n');
        printed += 1;
    }
    print(&text)?;
    Ok(printed)
}

/// `GET /v1/audit/entries`, refusing a page longer than asked for.
async fn entries_page(api: &Api, start: u64, limit: u64) -> Result<AuditEntries, AuditError> {
    let page: AuditEntries = api
        .get(&format!("/v1/audit/entries?start={start}&limit={limit}"))
        .await?;
    let len = page.entries.len() as u64;
    if len > limit {
        return Err(super::Error::BadAnswer {
            reason: format!("asked for at most {limit} entries from {start}, got {len}"),
        }
        .into());
    }
    Ok(page)
}

/// The entry as one JSON line: the coordinator's view with the entry
/// decoded here from its encoding.
fn entry_json(mut view: AuditEntryView) -> Result<String, AuditError> {
    view.entry = Entry::decode(&view.encoded).ok();
    Ok(serde_json::to_string(&view).map_err(CliError::Json)?)
}

/// One human-readable line: index, time, event, actor, key/version,
/// outcome, custodians.
fn entry_line(index: u64, encoded: &[u8]) -> String {
    match Entry::decode(encoded) {
        Ok(entry) => format_entry(index, &entry),
        Err(e) => format!("{index:>6}  <not a valid audit entry: {e}>"),
    }
}

fn format_entry(index: u64, entry: &Entry) -> String {
    let key = match (&entry.key_id, entry.key_version) {
        (Some(id), Some(v)) => format!("{}/v{v}", printable(id)),
        (Some(id), None) => printable(id),
        (None, Some(v)) => format!("-/v{v}"),
        (None, None) => "-".to_owned(),
    };
    let custodians = if entry.custodians.is_empty() {
        "-".to_owned()
    } else {
        printable(&entry.custodians.join(","))
    };
    let mut line = format!(
        "{index:>6}  {}  {:<20} {:<16} {:<16} {:<8} {custodians}",
        rfc3339(entry.time_ms),
        entry.event.name(),
        printable(&entry.actor),
        key,
        entry
            .outcome
            .as_deref()
            .map_or_else(|| "-".to_owned(), printable),
    );
    if let Some(detail) = &entry.detail {
        line.push_str("  # ");
        line.push_str(&printable(detail));
    }
    line
}

/// Milliseconds since the epoch as RFC 3339 in UTC, always with three
/// fractional digits so that columns line up.
fn rfc3339(ms: u64) -> String {
    match OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.millisecond()
        ),
        Err(_) => format!("{ms}ms"),
    }
}

// ---------------------------------------------------------------- verify

fn verify(args: &VerifyArgs) -> Result<(), AuditError> {
    let result = super::runtime()?.block_on(verify_async(args));
    if args.json
        && let Err(e) = &result
    {
        let entry = match e {
            AuditError::Verify(r) => r.first_bad_entry(),
            _ => None,
        };
        print_json_line(&json!({ "ok": false, "error": e.to_string(), "entry": entry }))?;
    }
    result
}

async fn verify_async(args: &VerifyArgs) -> Result<(), AuditError> {
    // Local inputs first: a bad file or key fails before any connection.
    let since = match &args.since {
        Some(path) => Some(read_saved_head(path)?),
        None => None,
    };
    let pinned_key = args.log_key.as_deref().map(parse_log_key).transpose()?;
    let api = api(&args.client)?;
    let head: AuditHead = api.get("/v1/audit/head").await?;
    let (log_key, pinned) = choose_log_key(pinned_key, &head)?;
    let latest = parse_head(&head.note, "latest")?;
    let mut replay = Replay::new(log_key.clone(), since.as_ref()).map_err(|source| {
        match (&args.since, source) {
            (
                Some(path),
                source @ (ReplayError::HeadSignature { .. } | ReplayError::HeadOrigin { .. }),
            ) => AuditError::SavedHeadKey {
                path: path.clone(),
                key_source: if pinned {
                    "the key given with --log-key"
                } else {
                    "the key the coordinator presents"
                },
                key: log_key.to_vkey(),
                source: Box::new(source),
            },
            (_, source) => AuditError::from(source),
        }
    })?;

    // Replay the entries the latest head covers (more may be appended
    // meanwhile; they are for the next run).
    let target = latest.head().size;
    while replay.size() < target {
        let start = replay.size();
        let limit = (target - start).min(MAX_ENTRIES_PER_PAGE);
        let page = entries_page(&api, start, limit).await?;
        for view in &page.entries {
            if view.index >= target {
                break;
            }
            if let Err(e) = replay.push(view.index, &view.encoded, view.head.as_deref()) {
                hint_culprits(&api, &log_key, &e).await;
                return Err(e.into());
            }
        }
        if replay.size() == start {
            // The log ends here: `finish` names what is missing.
            break;
        }
    }
    let report = replay.finish(&latest)?;

    let witnessed = match (args.witnesses, &head.witnessed) {
        (None, _) | (Some(0), None) => None,
        (Some(required), None) => return Err(AuditError::NotWitnessed { required }),
        (Some(required), Some(note)) => {
            let witnessed = parse_head(note, "witnessed")?;
            let keys = head
                .witness_keys
                .iter()
                .map(|k| {
                    NoteKey::from_vkey(k).map_err(|source| AuditError::WitnessKey {
                        key: k.clone(),
                        source,
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let valid = replay.check_witnessed(&witnessed, &keys, required)?;
            Some(Witnessed {
                size: witnessed.head().size,
                valid,
                required,
                known: keys.len(),
            })
        }
    };
    finish_verify(args, &report, &log_key, &latest, witnessed)
}

/// What `verify --witnesses` established about the witnessed head.
#[derive(Debug, Serialize)]
struct Witnessed {
    /// The witnessed head's size.
    size: u64,
    /// Valid cosignatures by distinct known witnesses.
    valid: usize,
    /// Cosignatures required (`--witnesses`).
    required: usize,
    /// Witness keys the coordinator presents.
    known: usize,
}

/// The most entries of one transaction `hint_culprits` asks proofs for.
const MAX_HINT_SPAN: u64 = 64;

/// When several entries do not match a stored head, asks the coordinator
/// for the inclusion proof of each against its latest head and names the
/// ones whose stored bytes fail it, on stderr. A hint only: it relies on the
/// coordinator's in-memory tree (which a tampered database does not change),
/// and a dishonest coordinator can make an honest entry look bad this way,
/// though never a changed entry look good.
async fn hint_culprits(api: &Api, log_key: &NoteKey, error: &ReplayError) {
    let ReplayError::Mismatch {
        first,
        size,
        head: HeadSource::StoredWith { .. },
    } = *error
    else {
        return;
    };
    if size.saturating_sub(first) < 2 || size - first > MAX_HINT_SPAN {
        return;
    }
    // The proofs are all against the latest head: its signature is checked
    // once, not once per entry.
    let mut verified: Option<(String, TreeHead)> = None;
    let mut failing = Vec::new();
    for index in first..size {
        let Ok(proof) = api
            .get::<InclusionProof>(&format!("/v1/audit/proof/inclusion?index={index}"))
            .await
        else {
            return;
        };
        let head = match &verified {
            Some((note, head)) if *note == proof.head => Ok(*head),
            _ => verify_head(log_key, &proof.head)
                .inspect(|head| verified = Some((proof.head.clone(), *head))),
        };
        let included =
            head.and_then(|head| verify_path(&head, index, &proof.encoded, &proof.proof));
        if proof.index != index || included.is_err() {
            failing.push(index.to_string());
        }
    }
    if !failing.is_empty() {
        eprintln!(
            "hint: against the latest signed head, the coordinator's inclusion proofs fail for entry {}",
            failing.join(", ")
        );
    }
}

fn finish_verify(
    args: &VerifyArgs,
    report: &symbolon_audit::Report,
    log_key: &NoteKey,
    latest: &SignedTreeHead,
    witnessed: Option<Witnessed>,
) -> Result<(), AuditError> {
    if let Some(path) = &args.save {
        file::write_public(Some(path), latest.to_note().as_bytes())?;
    }
    if args.json {
        let head_json = |h: &TreeHead| {
            json!({
                "size": h.size,
                "root": h.root_hash.to_hex(),
                "timestamp_ms": h.timestamp_ms,
            })
        };
        return print_json_line(&json!({
            "ok": true,
            "entries": report.size,
            "root": report.root.to_hex(),
            "heads_checked": report.heads_checked,
            "latest": head_json(&report.latest),
            "since": report.since.as_ref().map(head_json),
            "witnessed": witnessed,
            "log_key": log_key.to_vkey(),
            "saved": args.save.as_ref().map(|p| p.display().to_string()),
        }));
    }
    println!(
        "ok: {} entries, root {}, {} signed heads checked",
        report.size, report.root, report.heads_checked
    );
    println!(
        "latest head: size {}, signed {}",
        report.latest.size,
        rfc3339(report.latest.timestamp_ms)
    );
    if let Some(since) = &report.since {
        println!(
            "consistent with the saved head of size {} (signed {})",
            since.size,
            rfc3339(since.timestamp_ms)
        );
    }
    if let Some(w) = witnessed {
        println!(
            "witnessed head of size {}: {} of {} witnesses cosigned ({} required)",
            w.size, w.valid, w.known, w.required
        );
    }
    println!("log key: {}", log_key.to_vkey());
    if let Some(path) = &args.save {
        eprintln!(
            "saved the verified head to {}; next time pass --since {}",
            path.display(),
            path.display()
        );
    }
    Ok(())
}

fn read_saved_head(path: &Path) -> Result<SignedTreeHead, AuditError> {
    let text = std::fs::read_to_string(path).map_err(|source| super::Error::Read {
        path: path.to_owned(),
        source,
    })?;
    SignedTreeHead::parse(&text).map_err(|source| AuditError::SavedHead {
        path: path.to_owned(),
        source,
    })
}

fn print_json_line(value: &serde_json::Value) -> Result<(), AuditError> {
    let mut text = serde_json::to_string(value).map_err(CliError::Json)?;
    text.push('\n');
    print(&text)
}

/// Writes `text` to standard output and flushes it.
fn print(text: &str) -> Result<(), AuditError> {
    Ok(file::write_public(None, text.as_bytes())?)
}

// ---------------------------------------------------------------- proofs

/// Checks an inclusion proof against `log_key`: the head's signature and
/// origin, the audit path from the entry's own leaf hash, and the entry's
/// decoding. Returns the verified head and the entry.
fn check_inclusion(
    log_key: &NoteKey,
    index: u64,
    encoded: &[u8],
    head: &str,
    proof: &[String],
) -> Result<(TreeHead, Entry), ProofError> {
    let head = verify_head(log_key, head)?;
    verify_path(&head, index, encoded, proof)?;
    let entry =
        Entry::decode(encoded).map_err(|source| ProofError::Undecodable { index, source })?;
    Ok((head, entry))
}

/// Parses a signed tree head and checks the log's signature and origin on it.
fn verify_head(log_key: &NoteKey, note: &str) -> Result<TreeHead, ProofError> {
    let signed = SignedTreeHead::parse(note).map_err(ProofError::HeadUnreadable)?;
    let verified = *signed
        .verify(log_key)
        .map_err(|source| ProofError::HeadSignature {
            name: log_key.name().to_owned(),
            source,
        })?;
    if signed.origin() != log_key.name() {
        return Err(ProofError::HeadOrigin {
            expected: log_key.name().to_owned(),
            found: signed.origin().to_owned(),
        });
    }
    Ok(verified)
}

/// Checks the audit path (hex hashes, deepest first) of entry `index`,
/// hashed here from `encoded`, against a verified head.
fn verify_path(
    head: &TreeHead,
    index: u64,
    encoded: &[u8],
    proof: &[String],
) -> Result<(), ProofError> {
    let path = proof
        .iter()
        .enumerate()
        .map(|(position, h)| NodeHash::from_hex(h).ok_or(ProofError::ProofHash { position }))
        .collect::<Result<Vec<_>, _>>()?;
    verify_inclusion(
        &leaf_hash(encoded),
        index,
        head.size,
        &path,
        &head.root_hash,
    )
    .map_err(|source| ProofError::NotIncluded {
        index,
        size: head.size,
        source,
    })
}

fn prove(args: &ProveArgs) -> Result<(), AuditError> {
    let pinned_key = args.log_key.as_deref().map(parse_log_key).transpose()?;
    let (proof, log_key) = super::runtime()?.block_on(async {
        let api = api(&args.client)?;
        let head: AuditHead = api.get("/v1/audit/head").await?;
        let (log_key, _) = choose_log_key(pinned_key, &head)?;
        let proof: InclusionProof = api
            .get(&format!("/v1/audit/proof/inclusion?index={}", args.entry))
            .await?;
        Ok::<_, AuditError>((proof, log_key))
    })?;
    if proof.index != args.entry {
        return Err(AuditError::Cluster(super::Error::BadAnswer {
            reason: format!(
                "asked for the proof of entry {}, got one for entry {}",
                args.entry, proof.index
            ),
        }));
    }
    let (head, entry) = check_inclusion(
        &log_key,
        proof.index,
        &proof.encoded,
        &proof.head,
        &proof.proof,
    )
    .map_err(|source| AuditError::Proof {
        context: format!("the coordinator's inclusion proof for entry {}", args.entry),
        source,
    })?;
    let file = ProofFile {
        format: PROOF_FORMAT.to_owned(),
        version: PROOF_VERSION,
        log_key: log_key.to_vkey(),
        index: proof.index,
        encoded: proof.encoded,
        entry: Some(entry),
        head: proof.head,
        proof: proof.proof,
    };
    let mut text = serde_json::to_string_pretty(&file).map_err(CliError::Json)?;
    text.push('\n');
    match &args.out {
        Some(path) => {
            file::write_public(Some(path), text.as_bytes())?;
            eprintln!(
                "entry {} is in the log at tree size {}; proof written to {}\ncheck it with: symbolon audit check-proof {} --log-key {}",
                file.index,
                head.size,
                path.display(),
                path.display(),
                log_key.to_vkey()
            );
        }
        None => print(&text)?,
    }
    Ok(())
}

/// Reads and parses a proof file, checking its format and version first so
/// that a file of another kind or version gets a precise error.
fn read_proof_file(path: &Path) -> Result<ProofFile, AuditError> {
    let bad = |reason: String| AuditError::ProofFile {
        path: path.to_owned(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(|source| super::Error::Read {
        path: path.to_owned(),
        source,
    })?;
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| bad(format!("not JSON: {e}")))?;
    let Some(object) = value.as_object() else {
        return Err(bad("not a JSON object".to_owned()));
    };
    match object.get("format").and_then(serde_json::Value::as_str) {
        Some(PROOF_FORMAT) => {}
        Some(other) => {
            return Err(bad(format!(
                "its format is {other:?}, not {PROOF_FORMAT:?}"
            )));
        }
        None => return Err(bad(format!("no \"format\": {PROOF_FORMAT:?} field"))),
    }
    match object.get("version").and_then(serde_json::Value::as_u64) {
        Some(PROOF_VERSION) => {}
        Some(version) => {
            return Err(AuditError::ProofVersion {
                path: path.to_owned(),
                version,
            });
        }
        None => return Err(bad("no numeric \"version\" field".to_owned())),
    }
    serde_json::from_value(value).map_err(|e| bad(e.to_string()))
}

fn check_proof(args: &CheckProofArgs) -> Result<(), AuditError> {
    let Some(arg) = &args.log_key else {
        return Err(AuditError::NoLogKey);
    };
    let log_key = parse_log_key(arg)?;
    let file = read_proof_file(&args.file)?;
    let context = || args.file.display().to_string();
    let (head, entry) =
        check_inclusion(&log_key, file.index, &file.encoded, &file.head, &file.proof).map_err(
            |source| AuditError::Proof {
                context: context(),
                source,
            },
        )?;
    if file.entry.as_ref().is_some_and(|shown| *shown != entry) {
        return Err(AuditError::Proof {
            context: context(),
            source: ProofError::EntryMismatch { index: file.index },
        });
    }
    if args.json {
        return print_json_line(&json!({
            "ok": true,
            "index": file.index,
            "size": head.size,
            "root": head.root_hash.to_hex(),
            "timestamp_ms": head.timestamp_ms,
            "log_key": log_key.to_vkey(),
            "entry": entry,
        }));
    }
    println!(
        "ok: entry {} is in the log {} at tree size {} (root {}, signed {})",
        file.index,
        log_key.name(),
        head.size,
        head.root_hash,
        rfc3339(head.timestamp_ms)
    );
    println!("{}", format_entry(file.index, &entry));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use symbolon_audit::EventKind;

    #[test]
    fn lines_escape_control_characters_and_show_every_field() {
        let mut entry = Entry::new(EventKind::RequestCompleted, 1_700_000_000_123, "al\x1bice");
        entry.key_id = Some("demo".into());
        entry.key_version = Some(2);
        entry.custodians = vec!["c1".into(), "c3".into()];
        entry.outcome = Some("ok".into());
        let line = format_entry(7, &entry);
        assert!(line.starts_with("     7  2023-11-14T22:13:20.123Z  request.completed"));
        assert!(line.contains("al\\u{1b}ice"), "{line}");
        assert!(line.contains("demo/v2"));
        assert!(line.contains(" ok "));
        assert!(line.ends_with("c1,c3"), "{line}");
        assert!(!line.contains('\x1b'));
        assert_eq!(
            entry_line(3, b"\x09"),
            "     3  <not a valid audit entry: unknown audit entry version 9>"
        );
    }
}
