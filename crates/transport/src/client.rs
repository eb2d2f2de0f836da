//! The HTTPS client cluster members use to call each other.

use std::time::Duration;

use crate::Error;
use crate::files::TlsFiles;
use crate::identity::Role;
use crate::tls::client_config;

/// The longest time spent establishing a TCP connection, whatever the
/// request timeout.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// How long an idle pooled connection is kept open.
pub const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// An HTTPS client that authenticates with `files` and talks only to servers
/// whose certificate chains to the cluster CA and names `server_role`.
///
/// Connections are pooled and kept alive (a new mutual-TLS connection costs
/// far more than a request on an open one); each request times out after
/// `timeout`, connecting after at most [`CONNECT_TIMEOUT`] (or `timeout` if
/// shorter). Plain `http://` URLs are refused, and proxies from the
/// environment are ignored: cluster traffic always goes direct.
///
/// # Errors
///
/// As [`client_config`], plus [`Error::HttpClient`] if reqwest refuses the
/// configuration.
pub fn http_client(
    files: &TlsFiles,
    server_role: Role,
    timeout: Duration,
) -> Result<reqwest::Client, Error> {
    let tls = client_config(files, server_role)?;
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .https_only(true)
        .no_proxy()
        .timeout(timeout)
        .connect_timeout(timeout.min(CONNECT_TIMEOUT))
        .pool_idle_timeout(POOL_IDLE_TIMEOUT)
        .tcp_nodelay(true)
        .tcp_keepalive(Duration::from_secs(60))
        .build()
        .map_err(|source| Error::HttpClient { source })
}
