//! The coordinator's configuration file (TOML).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use symbolon_transport::TlsFiles;

use crate::Error;

/// `symbolon coordinator serve --config FILE`.
///
/// ```toml
/// listen = "127.0.0.1:7100"
/// data_dir = "/var/lib/symbolon/coordinator"   # identity.key lives here
/// database = "sqlite:///var/lib/symbolon/coordinator/symbolon.db"
/// join_token_file = "/etc/symbolon/join-token"
/// [tls]
/// ca = "/etc/symbolon/ca.pem"
/// cert = "/etc/symbolon/coordinator.pem"
/// key = "/etc/symbolon/coordinator.key"
/// ```
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address to serve HTTPS on.
    pub listen: SocketAddr,
    /// Directory for the coordinator's dealer identity (`identity.key`).
    pub data_dir: PathBuf,
    /// Database URL (`sqlite://PATH` or `postgres://...`); default
    /// `sqlite://<data_dir>/symbolon.db`.
    #[serde(default)]
    pub database: Option<String>,
    /// The token custodians present to register.
    #[serde(default)]
    pub join_token: Option<String>,
    /// A file holding that token (one line).
    #[serde(default)]
    pub join_token_file: Option<PathBuf>,
    /// Certificates: the coordinator's server certificate, also used as its
    /// client certificate towards custodians.
    pub tls: TlsFiles,
    /// Custodians' heartbeat interval, ms.
    #[serde(default = "default_heartbeat")]
    pub heartbeat_interval_ms: u64,
    /// Silence after which a custodian is `suspect`, ms (default 3 beats).
    #[serde(default)]
    pub suspect_after_ms: Option<u64>,
    /// Silence after which a custodian is `failed`, ms (default 10 beats).
    #[serde(default)]
    pub failed_after_ms: Option<u64>,
    /// How long to wait for one custodian's answer, ms.
    #[serde(default = "default_custodian_timeout")]
    pub custodian_timeout_ms: u64,
    /// How long to wait for the first custodians asked before asking more,
    /// ms (hedging against one slow custodian). It applies to rebuilding a
    /// `secret` key and to threshold decryption (one more custodian each
    /// time it passes) and to threshold signing: a FROST attempt not
    /// complete by then is joined by another with a fresh signing package,
    /// the signers that answered and spares in place of the slow ones.
    #[serde(default = "default_hedge")]
    pub hedge_after_ms: u64,
    /// Extra custodians to ask beyond the threshold from the start, when
    /// rebuilding a `secret` key.
    #[serde(default)]
    pub extra_custodians: u16,
    /// Extra custodians to ask beyond the threshold from the start for a
    /// threshold decryption, so one slow custodian does not set the
    /// latency (default 1: `t + 1` are asked, the first `t` valid answers
    /// are used).
    #[serde(default = "default_partial_extra")]
    pub partial_extra_custodians: u16,
    /// Largest accepted request body, bytes.
    #[serde(default = "default_max_body")]
    pub max_body_bytes: usize,
}

fn default_heartbeat() -> u64 {
    2_000
}
fn default_custodian_timeout() -> u64 {
    2_000
}
fn default_partial_extra() -> u16 {
    1
}

fn default_hedge() -> u64 {
    150
}
fn default_max_body() -> usize {
    16 << 20
}

impl Config {
    /// Reads and checks a configuration file.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] naming the file and what is wrong.
    pub fn load(path: &Path) -> Result<Config, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Config {
            path: path.to_owned(),
            reason: format!("cannot read: {e}"),
        })?;
        let config: Config = toml::from_str(&text).map_err(|e| Error::Config {
            path: path.to_owned(),
            reason: e.message().to_owned()
                + &e.span()
                    .map(|s| format!(" (at byte {})", s.start))
                    .unwrap_or_default(),
        })?;
        config.check().map_err(|reason| Error::Config {
            path: path.to_owned(),
            reason,
        })?;
        Ok(config)
    }

    /// Checks values that parse but make no sense.
    pub(crate) fn check(&self) -> Result<(), String> {
        if self.join_token.is_some() == self.join_token_file.is_some() {
            return Err("give exactly one of join_token and join_token_file".into());
        }
        if self.heartbeat_interval_ms == 0 {
            return Err("heartbeat_interval_ms must be positive".into());
        }
        if self.suspect_after() >= self.failed_after() {
            return Err("suspect_after_ms must be below failed_after_ms".into());
        }
        if self.custodian_timeout_ms == 0 {
            return Err("custodian_timeout_ms must be positive".into());
        }
        if self.max_body_bytes < 1024 {
            return Err("max_body_bytes must be at least 1024".into());
        }
        Ok(())
    }

    /// Silence before `suspect`, ms.
    pub fn suspect_after(&self) -> u64 {
        self.suspect_after_ms
            .unwrap_or(self.heartbeat_interval_ms.saturating_mul(3))
    }

    /// Silence before `failed`, ms.
    pub fn failed_after(&self) -> u64 {
        self.failed_after_ms
            .unwrap_or(self.heartbeat_interval_ms.saturating_mul(10))
    }

    /// The database URL.
    pub fn database_url(&self) -> String {
        self.database
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("symbolon.db").display()))
    }

    /// The join token.
    pub(crate) fn read_join_token(&self) -> Result<String, Error> {
        match (&self.join_token, &self.join_token_file) {
            (Some(token), _) => Ok(token.clone()),
            (None, Some(path)) => {
                let text = std::fs::read_to_string(path).map_err(|e| Error::Config {
                    path: path.clone(),
                    reason: format!("cannot read the join token: {e}"),
                })?;
                let token = text.trim().to_owned();
                if token.is_empty() {
                    return Err(Error::Config {
                        path: path.clone(),
                        reason: "the join token file is empty".into(),
                    });
                }
                Ok(token)
            }
            (None, None) => Err(Error::Config {
                path: PathBuf::new(),
                reason: "no join token configured".into(),
            }),
        }
    }
}
