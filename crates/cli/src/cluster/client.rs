//! Finding the cluster and talking to its coordinator.
//!
//! The client configuration comes from `--config FILE`, else
//! `$SYMBOLON_CONFIG`, else `./.symbolon-dev/client.toml` (written by
//! `symbolon dev`). Relative paths in it are relative to the file.
//! `SYMBOLON_COORDINATOR_URL`, `SYMBOLON_CA`, `SYMBOLON_CERT` and
//! `SYMBOLON_KEY` override single fields.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use symbolon_proto::Problem;
use symbolon_transport::{Role, TlsFiles};
use zeroize::Zeroizing;

use super::Error;
use crate::file::{Overflow, WipingBuffer};

/// Default client configuration written by `symbolon dev`.
pub(crate) const DEV_CLIENT_CONFIG: &str = ".symbolon-dev/client.toml";

/// `client.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ClientConfig {
    /// The coordinator's base URL.
    pub(crate) coordinator_url: String,
    /// The client's certificate, key and the cluster CA.
    pub(crate) tls: TlsFiles,
}

impl ClientConfig {
    /// Finds and reads the configuration.
    pub(crate) fn find(explicit: Option<&Path>) -> Result<ClientConfig, Error> {
        let (path, origin) = match (explicit, std::env::var_os("SYMBOLON_CONFIG")) {
            (Some(p), _) => (p.to_owned(), "--config"),
            (None, Some(p)) => (PathBuf::from(p), "SYMBOLON_CONFIG"),
            (None, None) => (PathBuf::from(DEV_CLIENT_CONFIG), "default"),
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && origin == "default" => {
                return Err(Error::NoCluster { path });
            }
            Err(source) => return Err(Error::Read { path, source }),
        };
        let mut config: ClientConfig = toml::from_str(&text).map_err(|e| Error::Config {
            path: path.clone(),
            reason: e.message().to_owned(),
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        for file in [
            &mut config.tls.ca,
            &mut config.tls.cert,
            &mut config.tls.key,
        ] {
            if file.is_relative() {
                *file = base.join(&*file);
            }
        }
        if let Some(url) = std::env::var_os("SYMBOLON_COORDINATOR_URL") {
            config.coordinator_url = url.to_string_lossy().into_owned();
        }
        for (var, file) in [
            ("SYMBOLON_CA", &mut config.tls.ca),
            ("SYMBOLON_CERT", &mut config.tls.cert),
            ("SYMBOLON_KEY", &mut config.tls.key),
        ] {
            if let Some(value) = std::env::var_os(var) {
                *file = PathBuf::from(value);
            }
        }
        Ok(config)
    }
}

/// A connection to the coordinator.
pub(crate) struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    pub(crate) fn new(config: &ClientConfig, timeout: Duration) -> Result<Api, Error> {
        let http = symbolon_transport::http_client(&config.tls, Role::Coordinator, timeout)?;
        Ok(Api {
            base: config.coordinator_url.trim_end_matches('/').to_owned(),
            http,
        })
    }

    pub(crate) async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, Error> {
        let request = self.http.get(format!("{}{path}", self.base));
        self.send(request).await
    }

    pub(crate) async fn post<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, Error> {
        let request = self.http.post(format!("{}{path}", self.base)).json(body);
        self.send(request).await
    }

    async fn send<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, Error> {
        let response = request.send().await.map_err(|e| Error::Unreachable {
            url: self.base.clone(),
            reason: deepest(&e),
        })?;
        let status = response.status();
        let body = self.read_body(response).await?;
        if !status.is_success() {
            return Err(match serde_json::from_slice::<Problem>(&body) {
                Ok(problem) => Error::Api(Box::new(problem)),
                Err(_) => Error::Http {
                    status: status.as_u16(),
                    body: String::from_utf8_lossy(&body).chars().take(300).collect(),
                },
            });
        }
        serde_json::from_slice(&body).map_err(|e| Error::BadAnswer {
            reason: e.to_string(),
        })
    }
}

impl Api {
    /// The answer's body, at most [`MAX_ANSWER`] bytes (a coordinator
    /// cannot make the client hold an unbounded answer), gathered in a
    /// buffer that is wiped when dropped and grows by copy-and-wipe:
    /// answers carry decrypted plaintexts. (The HTTP stack's own chunk
    /// buffers are not ours to wipe.)
    async fn read_body(
        &self,
        mut response: reqwest::Response,
    ) -> Result<Zeroizing<Vec<u8>>, Error> {
        let expected = response
            .content_length()
            .map_or(0, |n| usize::try_from(n).unwrap_or(usize::MAX));
        if expected > MAX_ANSWER {
            return Err(too_large(MAX_ANSWER));
        }
        let mut body = WipingBuffer::new(expected, MAX_ANSWER);
        while let Some(chunk) = response.chunk().await.map_err(|e| Error::Unreachable {
            url: self.base.clone(),
            reason: deepest(&e),
        })? {
            body.push(&chunk)
                .map_err(|Overflow| too_large(MAX_ANSWER))?;
        }
        Ok(body.into_bytes())
    }
}

/// The largest answer the client reads (an audit page, a released key or
/// a decrypted plaintext are far smaller).
const MAX_ANSWER: usize = 64 * 1024 * 1024;

fn too_large(limit: usize) -> Error {
    Error::BadAnswer {
        reason: format!("the answer is larger than {limit} bytes"),
    }
}

/// The innermost cause, which is the informative one for connection errors
/// (e.g. "Connection refused", "certificate unknown").
fn deepest(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text = s.to_string();
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_large_answers_name_the_limit() {
        let err = too_large(10);
        assert_eq!(
            err.to_string(),
            "the coordinator's answer is malformed: the answer is larger than 10 bytes"
        );
    }
}
