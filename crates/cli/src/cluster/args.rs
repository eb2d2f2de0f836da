//! Command-line grammar of the cluster commands.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use super::signature::Namespace;

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
    /// Show one key and where its shares are; for a threshold key also its
    /// group public key (hex; for ed25519 also the OpenSSH line and PEM).
    Show {
        /// The key's name.
        name: String,
        /// Print JSON.
        #[arg(long, conflicts_with = "format")]
        json: bool,
        /// Print only the group public key in this encoding, e.g.
        /// `symbolon key show k --format openssh > k.pub`.
        #[arg(long, value_enum, value_name = "FORMAT")]
        format: Option<PublicFormat>,
        #[command(flatten)]
        client: ClientOpts,
    },
}

/// An encoding of a threshold key's group public key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum PublicFormat {
    /// 64 hex digits (both kinds).
    Hex,
    /// An OpenSSH line `ssh-ed25519 AAAA… symbolon:NAME` (ed25519), for
    /// `allowed_signers` and `ssh-keygen -Y verify`.
    Openssh,
    /// PEM SubjectPublicKeyInfo, `-----BEGIN PUBLIC KEY-----` (ed25519).
    Pem,
    /// A Symbolon public key file (`symbolon-public-key v1 KIND NAME
    /// VERSION HEX`, both kinds): what `encrypt --public` and `verify
    /// --public` read offline.
    Public,
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
    /// Import the secret from FILE instead of generating 32 random bytes
    /// (secret keys only).
    #[arg(long, value_name = "FILE")]
    pub(crate) import: Option<PathBuf>,
    /// Generate an ed25519 or ristretto255 key by distributed key
    /// generation among the custodians (FROST's DKG) instead of dealing it:
    /// the key never exists anywhere, not even briefly in the coordinator.
    #[arg(long, conflicts_with = "import")]
    pub(crate) dkg: bool,
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
pub(crate) struct EncryptArgs {
    #[command(flatten)]
    pub(crate) crypt: CryptArgs,
    /// Encrypt offline to this public key file (`symbolon key show NAME
    /// --format public`) of the ristretto255 key NAME: no cluster or
    /// configuration needed.
    #[arg(long, value_name = "FILE")]
    pub(crate) public: Option<PathBuf>,
}

/// How `sign` writes the signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum SignFormat {
    /// The 64 signature bytes (the default with --out).
    Raw,
    /// 128 hex digits and a newline (the default on standard output).
    Hex,
    /// Base64 and a newline.
    Base64,
    /// An OpenSSH signature (-----BEGIN SSH SIGNATURE-----) for
    /// `ssh-keygen -Y verify -n NAMESPACE`.
    Ssh,
}

#[derive(Debug, Args)]
pub(crate) struct SignArgs {
    /// The ed25519 key's name.
    #[arg(long)]
    pub(crate) key: String,
    /// Sign FILE instead of standard input.
    #[arg(long = "in", value_name = "FILE")]
    pub(crate) input: Option<PathBuf>,
    /// Write the signature to FILE instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
    /// Signature encoding (default: raw with --out, else hex).
    #[arg(long, value_enum)]
    pub(crate) format: Option<SignFormat>,
    /// The SSH signature's namespace (--format ssh only; default: file).
    #[arg(long, value_name = "NS")]
    pub(crate) namespace: Option<Namespace>,
    /// The key's public key, pinned (any `symbolon key show` encoding): the
    /// signature must verify under it, whatever the coordinator says.
    /// Without it the key comes from the coordinator, which then vouches
    /// for it itself.
    #[arg(long, value_name = "FILE")]
    pub(crate) public: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) client: ClientOpts,
}

#[derive(Debug, Args)]
#[command(after_help = "\
Exit status: 0 if the signature is valid (\"signature valid\" on standard error),
1 if it is not (the reason on standard error), 2 for any other error (usage, unreadable
or malformed files, the cluster unreachable).")]
pub(crate) struct VerifyArgs {
    /// The ed25519 key's name (its public key comes from the cluster unless
    /// --public is given).
    #[arg(long, required_unless_present = "public")]
    pub(crate) key: Option<String>,
    /// The signature: 64 raw bytes, hex, base64, or an SSH signature.
    #[arg(long, value_name = "FILE")]
    pub(crate) signature: PathBuf,
    /// The signed message (default: standard input).
    #[arg(long = "in", value_name = "FILE")]
    pub(crate) input: Option<PathBuf>,
    /// Verify offline with this public key: a Symbolon public key file, an
    /// OpenSSH ssh-ed25519 line, a PEM public key or 64 hex digits (any
    /// `symbolon key show` output).
    #[arg(long, value_name = "FILE")]
    pub(crate) public: Option<PathBuf>,
    /// The namespace an SSH signature must carry (default: file).
    #[arg(long, value_name = "NS")]
    pub(crate) namespace: Option<Namespace>,
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
    /// `decrypt` of a --size-byte ciphertext with a `secret` key (the key
    /// rebuilt from t custodians' shares).
    Decrypt,
    /// `encrypt` of --size bytes with a `secret` key.
    Encrypt,
    /// `sign` of a --size-byte message with an `ed25519` key (FROST: t
    /// custodians each send a signature share).
    Sign,
    /// `decrypt` of a --size-byte ciphertext with a `ristretto255` key
    /// (TDH2: t custodians each send a decryption share).
    ThresholdDecrypt,
    /// decrypt, sign and threshold-decrypt one after the other.
    All,
}

#[derive(Debug, Args)]
pub(crate) struct BenchArgs {
    /// Concurrent clients.
    #[arg(long, default_value_t = 32)]
    pub(crate) clients: usize,
    /// How long to measure each operation, e.g. 10s.
    #[arg(long, default_value = "10s")]
    pub(crate) duration: String,
    /// Operation to measure.
    #[arg(long, value_enum, default_value_t = BenchOp::Decrypt)]
    pub(crate) op: BenchOp,
    /// Threshold and shares of the bench keys, as T/N (the bench creates
    /// `bench-T-of-N`, `bench-sign-T-of-N` and `bench-tdec-T-of-N` the first
    /// time and reuses them).
    #[arg(long, default_value = "3/5")]
    pub(crate) scheme: String,
    /// Payload (plaintext or message) size in bytes.
    #[arg(long, default_value_t = 1024)]
    pub(crate) size: usize,
    #[command(flatten)]
    pub(crate) client: ClientOpts,
}
