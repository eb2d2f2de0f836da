//! Command-line grammar of the cluster commands.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

/// Options every client command shares: where the cluster is.
#[derive(Debug, Args, Clone)]
pub(crate) struct ClientOpts {
    /// Client configuration file (default: $SYMBOLON_CONFIG, else
    /// ./.symbolon-dev/client.toml written by `symbolon dev`).
    #[arg(long, value_name = "FILE", global = true)]
    pub(crate) config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum CaCommand {
    /// Create a cluster CA (DIR/ca.pem, DIR/ca.key).
    Init {
        /// Directory for the CA files.
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
    },
    /// Issue a certificate for a coordinator, custodian or client.
    Issue {
        /// Directory holding ca.pem and ca.key.
        #[arg(long, value_name = "DIR")]
        ca: PathBuf,
        /// The certificate's role.
        #[arg(long, value_enum)]
        role: RoleArg,
        /// Its name (a custodian's name is its id).
        #[arg(long)]
        name: String,
        /// Extra DNS names or IP addresses for a server certificate.
        #[arg(long = "host", value_name = "HOST")]
        hosts: Vec<String>,
        /// Write OUT_DIR/NAME.pem and OUT_DIR/NAME.key (0600).
        #[arg(long, value_name = "DIR")]
        out_dir: PathBuf,
        /// Replace OUT_DIR/NAME.pem and OUT_DIR/NAME.key if they exist.
        #[arg(long)]
        force: bool,
    },
}

/// A certificate role.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum RoleArg {
    /// The coordinator.
    Coordinator,
    /// A custodian.
    Custodian,
    /// A client (user or service).
    Client,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ServeCommand {
    /// Run the daemon until SIGINT/SIGTERM.
    Serve {
        /// Its configuration file (TOML).
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum KeyCommand {
    /// Create a key: generate (or import) it, split it, seal each share to
    /// its custodian, and wipe it.
    Create(KeyCreateArgs),
    /// List keys.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        client: ClientOpts,
    },
    /// Show one key and where its shares are.
    Show {
        /// The key's name.
        name: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        client: ClientOpts,
    },
}

/// A key kind.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum KindArg {
    /// Opaque secret bytes, rebuilt for one operation at a time.
    Secret,
    /// Threshold Ed25519 signing key.
    Ed25519,
    /// Threshold ristretto255 decryption key.
    Ristretto255,
}

/// A label that must differ between the custodians of one key.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum DistinctArg {
    /// Country.
    Country,
    /// Region.
    Region,
    /// Provider.
    Provider,
}

#[derive(Debug, Args)]
pub(crate) struct KeyCreateArgs {
    /// The key's name (letters, digits, '.', '_', '-').
    pub(crate) name: String,
    /// What kind of key.
    #[arg(long, value_enum)]
    pub(crate) kind: KindArg,
    /// Custodians needed for an operation.
    #[arg(short = 't', long, value_name = "T")]
    pub(crate) threshold: u16,
    /// Custodians holding a share.
    #[arg(short = 'n', long, value_name = "N")]
    pub(crate) shares: u16,
    /// Import the secret from FILE instead of generating 32 random bytes.
    #[arg(long, value_name = "FILE")]
    pub(crate) import: Option<PathBuf>,
    /// No two shares on custodians with the same value of this label.
    #[arg(long, value_enum)]
    pub(crate) distinct: Option<DistinctArg>,
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
    #[command(flatten)]
    pub(crate) client: ClientOpts,
}

#[derive(Debug, Args)]
pub(crate) struct CryptArgs {
    /// The key's name.
    #[arg(long)]
    pub(crate) key: String,
    /// Read from FILE instead of standard input.
    #[arg(long = "in", value_name = "FILE")]
    pub(crate) input: Option<PathBuf>,
    /// Write to FILE (mode 0600) instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) client: ClientOpts,
}

#[derive(Debug, Args)]
pub(crate) struct ReleaseArgs {
    /// The key's name.
    #[arg(long)]
    pub(crate) key: String,
    /// The recipient string (`symbolon keygen` prints it) to seal the key to.
    #[arg(long, value_name = "RECIPIENT")]
    pub(crate) to: String,
    /// Write the sealed envelope to FILE instead of standard output; open
    /// it with `symbolon combine FILE --identity ID_FILE`.
    #[arg(long, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) client: ClientOpts,
}

#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
    #[command(flatten)]
    pub(crate) client: ClientOpts,
}

#[derive(Debug, Args)]
pub(crate) struct DevArgs {
    /// Where the cluster keeps its CA, configs, database and shares.
    #[arg(long, value_name = "DIR", default_value = ".symbolon-dev")]
    pub(crate) data_dir: PathBuf,
    /// First of seven consecutive loopback ports (coordinator, five
    /// custodians; 0 picks free ports). Remembered in the data dir.
    #[arg(long, value_name = "PORT")]
    pub(crate) base_port: Option<u16>,
}

/// Which operation `bench` measures.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub(crate) enum BenchOp {
    /// `decrypt` of a 1 KiB ciphertext.
    Decrypt,
    /// `encrypt` of 1 KiB.
    Encrypt,
}

#[derive(Debug, Args)]
pub(crate) struct BenchArgs {
    /// Concurrent clients.
    #[arg(long, default_value_t = 32)]
    pub(crate) clients: usize,
    /// How long to measure, e.g. 10s.
    #[arg(long, default_value = "10s")]
    pub(crate) duration: String,
    /// Operation to measure.
    #[arg(long, value_enum, default_value_t = BenchOp::Decrypt)]
    pub(crate) op: BenchOp,
    /// Threshold and shares of the bench key, as T/N.
    #[arg(long, default_value = "3/5")]
    pub(crate) scheme: String,
    /// Payload size in bytes.
    #[arg(long, default_value_t = 1024)]
    pub(crate) size: usize,
    #[command(flatten)]
    pub(crate) client: ClientOpts,
}
