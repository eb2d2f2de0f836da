//! Command-line grammar.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Threshold key custody: split secrets into signed, sealed, expiring shards
/// and combine them back offline, or run a cluster of custodians that hold a
/// key's shares and use it only together.
///
/// Secrets are read from files or standard input, never from the command
/// line. Files that hold secrets are written with mode 0600.
#[derive(Debug, Parser)]
#[command(name = "symbolon", version, propagate_version = true)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create an identity (X25519 for sealing, Ed25519 for signing) and print
    /// its public recipient string.
    Keygen(KeygenArgs),
    /// Split a secret into N shards, any T of which rebuild it.
    Split(SplitArgs),
    /// Check shards and rebuild the secret from any T of them.
    Combine(CombineArgs),
    /// Show a shard's metadata (never the share itself).
    Inspect(InspectArgs),
    /// Run a local cluster (a coordinator and five custodians on loopback)
    /// until Ctrl-C; started again, it resumes with the same keys.
    Dev(crate::cluster::args::DevArgs),
    /// Show the custodians, their health, labels and last heartbeat.
    Status(crate::cluster::args::StatusArgs),
    /// Create, list and show keys.
    #[command(subcommand)]
    Key(crate::cluster::args::KeyCommand),
    /// Encrypt standard input (or --in) with a key held by the custodians:
    /// a secret key through the cluster, a ristretto255 key locally to its
    /// public key; the ciphertext names the key and version.
    Encrypt(crate::cluster::args::EncryptArgs),
    /// Decrypt what `encrypt` produced.
    Decrypt(crate::cluster::args::CryptArgs),
    /// Sign standard input (or --in) with an ed25519 key: the custodians
    /// sign together and the key never exists whole.
    Sign(crate::cluster::args::SignArgs),
    /// Check a signature of an ed25519 key locally (exit status 0 valid,
    /// 1 invalid, 2 error).
    Verify(crate::cluster::args::VerifyArgs),
    /// Release a secret key to a client, sealed to its recipient string.
    Release(crate::cluster::args::ReleaseArgs),
    /// Measure operations/s and latency against a running cluster, beside
    /// the in-process floor of the same cryptography.
    Bench(crate::cluster::args::BenchArgs),
    /// Cluster PKI: create the CA and issue certificates.
    #[command(subcommand)]
    Ca(crate::cluster::args::CaCommand),
    /// Run the coordinator daemon.
    #[command(subcommand)]
    Coordinator(crate::cluster::args::ServeCommand),
    /// Run a custodian daemon.
    #[command(subcommand)]
    Custodian(crate::cluster::args::ServeCommand),
    /// Read and verify the tamper-evident audit log: tail it, rebuild and
    /// check it entry by entry, and prove that an entry is in it.
    #[command(subcommand)]
    Audit(crate::cluster::audit::AuditCommand),
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("mode").required(true).args(["out", "public"])))]
pub(crate) struct KeygenArgs {
    /// Write a new identity to FILE (mode 0600; refuses to overwrite).
    #[arg(long, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
    /// Print the public recipient string of an existing identity FILE.
    #[arg(long, value_name = "FILE")]
    pub(crate) public: Option<PathBuf>,
}

/// Which sharing scheme `split` uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum SchemeArg {
    /// `ssms` for secrets of 64 KiB or more, `shamir` below.
    Auto,
    /// Information-theoretic Shamir over GF(2^8): every share is as long as the secret.
    Shamir,
    /// Krawczyk's secret sharing made short: AEAD-encrypt, disperse the
    /// ciphertext (each share about |secret|/T), Shamir-share the key.
    Ssms,
}

#[derive(Debug, Args)]
pub(crate) struct SplitArgs {
    /// Number of shards needed to rebuild the secret (1..=N).
    #[arg(short = 't', long, value_name = "T")]
    pub(crate) threshold: u16,
    /// Number of shards to create (T..=255).
    #[arg(short = 'n', long, value_name = "N")]
    pub(crate) shares: u16,
    /// Read the secret from FILE instead of standard input.
    #[arg(long = "in", value_name = "FILE")]
    pub(crate) input: Option<PathBuf>,
    /// Directory to write `DIR/share-<i>.sym` into (created with mode 0700 if missing).
    #[arg(long, value_name = "DIR")]
    pub(crate) out_dir: PathBuf,
    /// Seal shard i to the i-th recipient (give exactly N; ID is a name you
    /// choose, PUBLIC is the string `symbolon keygen` printed).
    #[arg(long = "recipient", value_name = "ID=PUBLIC")]
    pub(crate) recipients: Vec<String>,
    /// Sign the shards with this identity file (default: a one-time key whose
    /// public string is printed so you can pin it at combine time).
    #[arg(long, value_name = "IDENTITY")]
    pub(crate) sign_with: Option<PathBuf>,
    /// Shards expire this long from now, e.g. 90s, 12h, 30d.
    #[arg(long, value_name = "DURATION", conflicts_with = "expires_at")]
    pub(crate) expires_in: Option<String>,
    /// Shards expire at this RFC 3339 time, e.g. 2027-01-31T12:00:00Z.
    #[arg(long, value_name = "RFC3339")]
    pub(crate) expires_at: Option<String>,
    /// A free-form label stored in every shard's signed metadata.
    #[arg(long, value_name = "TEXT", default_value = "")]
    pub(crate) label: String,
    /// Sharing scheme.
    #[arg(long, value_enum, default_value_t = SchemeArg::Auto)]
    pub(crate) scheme: SchemeArg,
    /// Write ASCII-armored text shards instead of binary.
    #[arg(long)]
    pub(crate) armor: bool,
    /// Overwrite existing share files in DIR.
    #[arg(long)]
    pub(crate) force: bool,
}

#[derive(Debug, Args)]
pub(crate) struct CombineArgs {
    /// Shard files (binary or armored); give at least T of them.
    #[arg(value_name = "SHARE", required = true)]
    pub(crate) shares: Vec<PathBuf>,
    /// Identity file able to open shards sealed to it (repeatable).
    #[arg(long = "identity", value_name = "FILE")]
    pub(crate) identities: Vec<PathBuf>,
    /// Accept only shards signed by this dealer: its public string, or the
    /// 64-hex-digit signer key `inspect` shows (repeatable).
    #[arg(long = "trust-signer", value_name = "PUBLIC")]
    pub(crate) trusted_signers: Vec<String>,
    /// Write the secret to FILE (mode 0600) instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
    /// Overwrite FILE if it exists.
    #[arg(long, requires = "out")]
    pub(crate) force: bool,
}

#[derive(Debug, Args)]
pub(crate) struct InspectArgs {
    /// Shard file (binary or armored).
    #[arg(value_name = "SHARE")]
    pub(crate) share: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    pub(crate) json: bool,
}
