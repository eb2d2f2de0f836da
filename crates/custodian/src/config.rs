//! The custodian's configuration file (TOML).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use symbolon_proto::custodian::Labels;
use symbolon_transport::TlsFiles;
use zeroize::Zeroizing;

use crate::Error;

/// The heartbeat interval used until the coordinator names one.
pub const DEFAULT_HEARTBEAT_INTERVAL: Duration = Duration::from_millis(2_000);

/// A custodian's configuration (`symbolon custodian serve --config FILE`).
///
/// ```toml
/// id = "c1"                                  # equals the TLS certificate's name
/// listen = "127.0.0.1:7201"
/// # endpoint = "https://c1.example:7201"    # default: https://<bound address>
/// data_dir = "/var/lib/symbolon/c1"
/// coordinator_url = "https://127.0.0.1:7100"
/// join_token_file = "/etc/symbolon/join-token"   # or join_token = "..."
/// [labels]
/// region = "eu-central"
/// country = "DE"
/// provider = "acme"
/// kind = "vm"                                # tee | hsm | tpm | vm | org
/// [tls]
/// ca = "/etc/symbolon/ca.pem"
/// cert = "/etc/symbolon/c1.pem"
/// key = "/etc/symbolon/c1.key"
/// ```
///
/// Unknown fields are refused, so a typo is an error rather than a silently
/// ignored setting.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The custodian's id, checked with [`symbolon_proto::validate_name`];
    /// it must equal the name in its TLS certificate.
    pub id: String,
    /// Address to serve HTTPS on; port 0 picks a free one.
    pub listen: SocketAddr,
    /// The HTTPS base URL the coordinator reaches this custodian at.
    /// Default: `https://<bound address>` (with `127.0.0.1` or `[::1]` in
    /// place of an unspecified address).
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Directory for keys, the pinned coordinator key, the heartbeat
    /// sequence mark and the shards (created with mode 0700).
    pub data_dir: PathBuf,
    /// The coordinator's HTTPS base URL, e.g. `https://127.0.0.1:7100`.
    pub coordinator_url: String,
    /// The cluster's join token. Give exactly one of this and
    /// `join_token_file`.
    #[serde(default)]
    pub join_token: Option<String>,
    /// A file holding the join token (surrounding whitespace is ignored).
    #[serde(default)]
    pub join_token_file: Option<PathBuf>,
    /// Where the custodian is and what it is.
    pub labels: Labels,
    /// Its certificate (role custodian, name = `id`), key and the cluster CA.
    pub tls: TlsFiles,
    /// Heartbeat interval in milliseconds until the coordinator names one at
    /// registration; default 2000.
    #[serde(default)]
    pub heartbeat_interval_ms: Option<u64>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("id", &self.id)
            .field("listen", &self.listen)
            .field("endpoint", &self.endpoint)
            .field("data_dir", &self.data_dir)
            .field("coordinator_url", &self.coordinator_url)
            .field(
                "join_token",
                &self.join_token.as_ref().map(|_| "<redacted>"),
            )
            .field("join_token_file", &self.join_token_file)
            .field("labels", &self.labels)
            .field("tls", &self.tls)
            .field("heartbeat_interval_ms", &self.heartbeat_interval_ms)
            .finish()
    }
}

impl Config {
    /// Reads and checks a configuration file.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] naming the file, the field (dotted, e.g.
    /// `labels.kind`) and what is wrong: unreadable file, TOML syntax, a
    /// missing or unknown field, a value of the wrong type or out of range,
    /// an invalid id, a URL that is not `https://`, or not exactly one of
    /// `join_token` and `join_token_file`.
    pub fn load(path: &Path) -> Result<Config, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Config {
            path: Some(path.to_owned()),
            field: "(file)".to_owned(),
            reason: format!("cannot read: {e}"),
        })?;
        let config: Config = toml::from_str(&text).map_err(|e| {
            let (field, reason) = describe_toml_error(&text, &e);
            Error::Config {
                path: Some(path.to_owned()),
                field,
                reason,
            }
        })?;
        config.check().map_err(|(field, reason)| Error::Config {
            path: Some(path.to_owned()),
            field: field.to_owned(),
            reason,
        })?;
        Ok(config)
    }

    /// Checks what parses but cannot work; `start` runs it too, for
    /// configurations built in code.
    pub(crate) fn check(&self) -> Result<(), (&'static str, String)> {
        symbolon_proto::validate_name("custodian id", &self.id)
            .map_err(|e| ("id", e.to_string()))?;
        check_https("coordinator_url", &self.coordinator_url)?;
        if let Some(endpoint) = &self.endpoint {
            check_https("endpoint", endpoint)?;
        }
        match (&self.join_token, &self.join_token_file) {
            (Some(_), Some(_)) => {
                return Err((
                    "join_token",
                    "give only one of join_token and join_token_file".to_owned(),
                ));
            }
            (None, None) => {
                return Err((
                    "join_token",
                    "missing: give join_token or join_token_file".to_owned(),
                ));
            }
            (Some(token), None) if token.trim().is_empty() => {
                return Err(("join_token", "must not be empty".to_owned()));
            }
            _ => {}
        }
        if self.heartbeat_interval_ms == Some(0) {
            return Err(("heartbeat_interval_ms", "must be positive".to_owned()));
        }
        Ok(())
    }

    /// The configuration error for a failed [`Config::check`] of a
    /// configuration that did not come from a file.
    pub(crate) fn checked(&self) -> Result<(), Error> {
        self.check().map_err(|(field, reason)| Error::Config {
            path: None,
            field: field.to_owned(),
            reason,
        })
    }

    /// The join token, read from `join_token_file` if that is how it is
    /// given.
    pub(crate) fn resolve_join_token(&self) -> Result<Zeroizing<String>, Error> {
        if let Some(token) = &self.join_token {
            return Ok(Zeroizing::new(token.trim().to_owned()));
        }
        let Some(path) = &self.join_token_file else {
            return Err(Error::Config {
                path: None,
                field: "join_token".to_owned(),
                reason: "missing: give join_token or join_token_file".to_owned(),
            });
        };
        let bytes = crate::files::read_secret(path)?.ok_or_else(|| Error::Read {
            path: path.clone(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        })?;
        let text = std::str::from_utf8(&bytes).map_err(|_| Error::BadFile {
            path: path.clone(),
            reason: "the join token is not UTF-8 text",
        })?;
        let token = Zeroizing::new(text.trim().to_owned());
        if token.is_empty() {
            return Err(Error::BadFile {
                path: path.clone(),
                reason: "the join token file is empty",
            });
        }
        Ok(token)
    }

    /// The heartbeat interval until the coordinator names one.
    pub(crate) fn initial_heartbeat_interval(&self) -> Duration {
        self.heartbeat_interval_ms
            .map_or(DEFAULT_HEARTBEAT_INTERVAL, Duration::from_millis)
    }
}

fn check_https(field: &'static str, url: &str) -> Result<(), (&'static str, String)> {
    let parsed =
        reqwest::Url::parse(url).map_err(|e| (field, format!("{url:?} is not a URL: {e}")))?;
    if parsed.scheme() != "https" {
        return Err((field, format!("{url:?} must be an https:// URL")));
    }
    if parsed.host().is_none() {
        return Err((field, format!("{url:?} names no host")));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err((field, format!("{url:?} must not have a query or fragment")));
    }
    Ok(())
}

/// Turns a TOML error into (dotted field, one-line reason). The field is
/// read from the error's span: the key on that line, under the nearest
/// table header above it; a missing field is named by serde's message.
fn describe_toml_error(text: &str, error: &toml::de::Error) -> (String, String) {
    let message = error.message().trim().to_owned();
    let Some(span) = error.span() else {
        let field = missing_field(&message).unwrap_or_else(|| "(file)".to_owned());
        return (field, message);
    };
    let start = span.start.min(text.len());
    let before = text.get(..start).unwrap_or_default();
    let line_no = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = text
        .get(line_start..)
        .unwrap_or_default()
        .lines()
        .next()
        .unwrap_or_default()
        .trim();
    let header = |l: &str| {
        let l = l.trim();
        (l.starts_with('[') && l.ends_with(']'))
            .then(|| l.trim_matches(|c| c == '[' || c == ']').trim().to_owned())
    };
    // The table the span is in: its own header line, or the nearest above.
    let table = header(line).or_else(|| {
        text.get(..line_start)
            .unwrap_or_default()
            .lines()
            .rev()
            .find_map(header)
    });
    let key = if header(line).is_some() {
        None
    } else {
        line.split_once('=').map(|(k, _)| k.trim().to_owned())
    };
    let join = |a: Option<String>, b: Option<String>| match (a, b) {
        (Some(a), Some(b)) => Some(format!("{a}.{b}")),
        (a, b) => a.or(b),
    };
    let missing = missing_field(&message);
    let reason = if missing.is_some() {
        // Reported at the enclosing table; its line says nothing useful.
        message.clone()
    } else {
        format!("{message} (line {line_no})")
    };
    // A missing top-level field is reported over the whole document, a
    // missing field of a table over that table.
    let whole_document = span.start == 0 && (span.end == 0 || span.end >= text.trim_end().len());
    let field = match missing {
        Some(missing) if whole_document => Some(missing),
        Some(missing) => join(table, Some(missing)),
        None => join(table, key),
    }
    .unwrap_or_else(|| "(file)".to_owned());
    (field, reason)
}

/// `missing field `x`` → `x`.
fn missing_field(message: &str) -> Option<String> {
    let rest = message.split_once("missing field `")?.1;
    Some(rest.split_once('`')?.0.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
id = "c1"
listen = "127.0.0.1:0"
data_dir = "/tmp/x"
coordinator_url = "https://127.0.0.1:7100"
join_token = "t"
[labels]
region = "eu"
country = "DE"
provider = "acme"
kind = "vm"
[tls]
ca = "ca.pem"
cert = "c1.pem"
key = "c1.key"
"#;

    fn load_text(text: &str) -> Result<Config, Error> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("custodian.toml");
        std::fs::write(&path, text).unwrap();
        Config::load(&path)
    }

    fn field_of(text: &str) -> (String, String) {
        match load_text(text) {
            Err(Error::Config { field, reason, .. }) => (field, reason),
            other => panic!("expected a configuration error, got {other:?}"),
        }
    }

    #[test]
    fn good_config_loads() {
        let config = load_text(GOOD).unwrap();
        assert_eq!(config.id, "c1");
        assert_eq!(
            config.initial_heartbeat_interval(),
            DEFAULT_HEARTBEAT_INTERVAL
        );
        assert!(!format!("{config:?}").contains("\"t\""));
    }

    #[test]
    fn errors_name_the_field() {
        let (field, reason) = field_of(&GOOD.replace("kind = \"vm\"", "kind = \"cloud\""));
        assert_eq!(field, "labels.kind", "{reason}");
        assert!(reason.contains("cloud"), "{reason}");

        let (field, _) = field_of(&GOOD.replace("kind = \"vm\"", ""));
        assert_eq!(field, "labels.kind");

        let without_labels = GOOD.replace(
            "[labels]\nregion = \"eu\"\ncountry = \"DE\"\nprovider = \"acme\"\nkind = \"vm\"\n",
            "",
        );
        let (field, reason) = field_of(&without_labels);
        assert_eq!(field, "labels", "{reason}");

        let (field, _) = field_of(&GOOD.replace(
            "join_token = \"t\"",
            "join_token = \"t\"\njoin_token_file = \"f\"",
        ));
        assert_eq!(field, "join_token");
        let (field, _) = field_of(&GOOD.replace("join_token = \"t\"", ""));
        assert_eq!(field, "join_token");

        let (field, _) = field_of(&GOOD.replace("id = \"c1\"", "id = \"c/1\""));
        assert_eq!(field, "id");
        let (field, _) = field_of(&GOOD.replace("https://127", "http://127"));
        assert_eq!(field, "coordinator_url");
        let (field, _) =
            field_of(&GOOD.replace("listen = \"127.0.0.1:0\"", "listen = \"nowhere\""));
        assert_eq!(field, "listen");
        let (field, reason) =
            field_of(&GOOD.replace("join_token = \"t\"", "join_token = \"t\"\ncolour = 1"));
        assert_eq!(field, "colour", "{reason}");
        let (field, _) = field_of(&GOOD.replace(
            "join_token = \"t\"",
            "join_token = \"t\"\nheartbeat_interval_ms = 0",
        ));
        assert_eq!(field, "heartbeat_interval_ms");
    }

    #[test]
    fn missing_top_level_field_is_not_put_in_a_table() {
        // The same file with its tables first and `id` missing.
        let reordered = "[tls]\nca = \"a\"\ncert = \"b\"\nkey = \"c\"\n";
        let (field, reason) = field_of(reordered);
        assert!(!field.starts_with("tls."), "{field}: {reason}");
    }

    #[test]
    fn message_names_the_file() {
        let err = Config::load(Path::new("/nonexistent/custodian.toml")).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("/nonexistent/custodian.toml"), "{text}");
    }
}
