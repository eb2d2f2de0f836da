//! Registration with the coordinator and signed heartbeats (DESIGN §5).
//!
//! One task: register (retrying with backoff from [`FIRST_RETRY`] doubling
//! to [`MAX_RETRY`]) until the coordinator accepts, pin its recipient on the
//! first success, then send a heartbeat every interval — sequence number,
//! time and the digest of every held shard, signed with the attestation
//! key. A 401, 403 or 404 answer to a heartbeat means the coordinator lost
//! the registration: register again. Nothing here is fatal; failures are
//! logged and retried until shutdown.

use std::sync::Arc;
use std::time::Duration;

use symbolon_envelope::Recipient;
use symbolon_proto::Problem;
use symbolon_proto::custodian::{Heartbeat, Labels, RegisterRequest, RegisterResponse};
use tokio::sync::watch;
use zeroize::Zeroizing;

use crate::keys;
use crate::sequence::Sequence;
use crate::state::State;

/// The first registration retry delay.
pub(crate) const FIRST_RETRY: Duration = Duration::from_millis(100);
/// The longest registration retry delay.
pub(crate) const MAX_RETRY: Duration = Duration::from_secs(2);

/// What the membership task needs besides the shared state.
pub(crate) struct Membership {
    /// Shared with the HTTP handlers.
    pub(crate) state: Arc<State>,
    /// mTLS client that trusts coordinator-role servers only.
    pub(crate) client: reqwest::Client,
    /// The coordinator's base URL, without a trailing slash.
    pub(crate) coordinator_url: String,
    /// The cluster's join token.
    pub(crate) join_token: Zeroizing<String>,
    /// Our labels.
    pub(crate) labels: Labels,
    /// Our endpoint URL.
    pub(crate) endpoint: String,
    /// The heartbeat interval until the coordinator names one.
    pub(crate) interval: Duration,
    /// Heartbeat numbers (locked only by this task; a mutex so that the
    /// mark can be written on a blocking thread).
    pub(crate) sequence: Arc<std::sync::Mutex<Sequence>>,
}

/// How a heartbeat went.
enum Beat {
    Sent,
    /// The coordinator does not know us (any more).
    Unknown,
    Failed,
}

impl Membership {
    /// Registers, then beats, until `stop` turns true (or its sender is
    /// dropped); an exchange in flight is abandoned at once.
    pub(crate) async fn run(self, stop: watch::Receiver<bool>) {
        let mut stopped = stop.clone();
        tokio::select! {
            () = self.work(stop) => {}
            _ = stopped.wait_for(|s| *s) => {}
        }
    }

    async fn work(mut self, mut stop: watch::Receiver<bool>) {
        loop {
            if !self.register_until_accepted(&mut stop).await {
                return;
            }
            loop {
                self.state.dkg.expire();
                match self.beat().await {
                    Beat::Sent | Beat::Failed => {}
                    Beat::Unknown => break,
                }
                if !sleep_or_stop(self.interval, &mut stop).await {
                    return;
                }
            }
        }
    }

    /// `false` if stopped first.
    async fn register_until_accepted(&mut self, stop: &mut watch::Receiver<bool>) -> bool {
        let mut delay = FIRST_RETRY;
        loop {
            if *stop.borrow() {
                return false;
            }
            if self.register().await {
                return true;
            }
            if !sleep_or_stop(delay, stop).await {
                return false;
            }
            delay = (delay * 2).min(MAX_RETRY);
        }
    }

    /// One registration attempt; `true` if registered with the pinned
    /// coordinator.
    async fn register(&mut self) -> bool {
        let state = &self.state;
        let request = RegisterRequest {
            join_token: self.join_token.as_str().to_owned(),
            id: state.id.clone(),
            labels: self.labels.clone(),
            endpoint: self.endpoint.clone(),
            recipient: state.keys.identity.recipient().to_string(),
            attestation_key: state.keys.attestation.public(),
        };
        let url = format!("{}/v1/custodians/register", self.coordinator_url);
        let response = match self.client.post(&url).json(&request).send().await {
            Ok(response) => response,
            Err(e) => {
                tracing::warn!(url, error = %error_chain(&e), "registration failed: coordinator unreachable");
                return false;
            }
        };
        let status = response.status();
        if !status.is_success() {
            let detail = problem_detail(response).await;
            if status.is_client_error() {
                tracing::warn!(url, %status, detail, "the coordinator refused the registration");
            } else {
                tracing::warn!(url, %status, detail, "registration failed");
            }
            return false;
        }
        let answer: RegisterResponse = match response.json().await {
            Ok(answer) => answer,
            Err(e) => {
                tracing::warn!(url, error = %error_chain(&e), "registration failed: unreadable answer");
                return false;
            }
        };
        let recipient = match answer.coordinator_recipient.parse::<Recipient>() {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(url, error = %e, "registration failed: the coordinator's recipient is invalid");
                return false;
            }
        };
        match state.pinned() {
            Some(pinned) if pinned != recipient => {
                tracing::error!(
                    pinned = %pinned,
                    offered = %recipient,
                    "the coordinator presents a different key than the one pinned at first registration; refusing it (shards stay refused). If the coordinator was legitimately replaced, remove coordinator.recipient from the data directory"
                );
                state.set_unregistered();
                return false;
            }
            Some(_) => {}
            None => {
                let data_dir = state.data_dir.clone();
                let pinned =
                    tokio::task::spawn_blocking(move || keys::store_pinned(&data_dir, &recipient))
                        .await;
                match pinned {
                    Ok(Ok(())) => {
                        tracing::info!(coordinator = %recipient, "pinned the coordinator's key");
                    }
                    Ok(Err(e)) => {
                        tracing::error!(error = %e, "cannot pin the coordinator's key");
                        return false;
                    }
                    Err(_) => {
                        tracing::error!("cannot pin the coordinator's key: the write task failed");
                        return false;
                    }
                }
            }
        }
        // The audit log key is pinned the same way: a coordinator that later
        // presents another log key is refused.
        let ledger_state = Arc::clone(&self.state);
        let vkey = answer.audit_log_key.clone();
        match tokio::task::spawn_blocking(move || ledger_state.ledger.pin(&vkey)).await {
            Ok(Ok(true)) => {}
            Ok(Ok(false)) => {
                tracing::error!(
                    offered = %answer.audit_log_key,
                    "the coordinator presents a different audit log key than the one pinned at first registration; refusing it (releases stay refused). If the log was legitimately replaced, remove audit/log.vkey from the data directory"
                );
                state.set_unregistered();
                return false;
            }
            Ok(Err(e)) => {
                tracing::error!(error = %e, "cannot pin the coordinator's audit log key");
                return false;
            }
            Err(_) => {
                tracing::error!("cannot pin the audit log key: the write task failed");
                return false;
            }
        }
        state.set_registered(recipient);
        if answer.heartbeat_interval_ms > 0 {
            self.interval = heartbeat_interval(answer.heartbeat_interval_ms);
        }
        tracing::info!(
            id = state.id,
            heartbeat_interval_ms = u64::try_from(self.interval.as_millis()).unwrap_or(u64::MAX),
            "registered with the coordinator"
        );
        true
    }

    /// The next sequence number, writing the mark off the async threads
    /// when a new block must be reserved.
    async fn next_seq(&mut self) -> Option<u64> {
        let sequence = Arc::clone(&self.sequence);
        let take = move || {
            sequence
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .take()
        };
        let needs_write = self
            .sequence
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .needs_write();
        let result = if needs_write {
            match tokio::task::spawn_blocking(take).await {
                Ok(result) => result,
                Err(_) => {
                    tracing::error!("the heartbeat sequence task failed");
                    return None;
                }
            }
        } else {
            take()
        };
        result
            .map_err(|e| tracing::error!(error = %e, "cannot reserve heartbeat sequence numbers"))
            .ok()
    }

    /// Sends one heartbeat.
    async fn beat(&mut self) -> Beat {
        let Some(seq) = self.next_seq().await else {
            return Beat::Failed;
        };
        let state = &self.state;
        let time_ms = crate::vault::unix_now_ms();
        let signed = Heartbeat {
            custodian_id: state.id.clone(),
            seq,
            time_ms,
            shares: state.vault.digests(),
            audit_size: state.ledger.size(),
        }
        .sign(state.keys.attestation.expose_secret());
        let url = format!(
            "{}/v1/custodians/{}/heartbeat",
            self.coordinator_url, state.id
        );
        let response = match self.client.post(&url).json(&signed).send().await {
            Ok(response) => response,
            Err(e) => {
                tracing::warn!(url, seq, error = %error_chain(&e), "heartbeat failed: coordinator unreachable");
                return Beat::Failed;
            }
        };
        let status = response.status();
        if status.is_success() {
            tracing::trace!(seq, "heartbeat sent");
            return Beat::Sent;
        }
        let detail = problem_detail(response).await;
        if matches!(status.as_u16(), 401 | 403 | 404) {
            tracing::warn!(url, seq, %status, detail, "the coordinator does not know this custodian; registering again");
            Beat::Unknown
        } else {
            tracing::warn!(url, seq, %status, detail, "heartbeat refused");
            Beat::Failed
        }
    }
}

/// Sleeps for `duration`; `false` if `stop` turned true first.
async fn sleep_or_stop(duration: Duration, stop: &mut watch::Receiver<bool>) -> bool {
    let slept = tokio::select! {
        () = tokio::time::sleep(duration) => true,
        _ = stop.wait_for(|s| *s) => false,
    };
    slept && !*stop.borrow()
}

/// The problem's one-line summary, or the body text, for logs.
async fn problem_detail(response: reqwest::Response) -> String {
    let text = response.text().await.unwrap_or_default();
    match serde_json::from_str::<Problem>(&text) {
        Ok(problem) => problem.one_line(),
        Err(_) => text.chars().take(300).collect(),
    }
}

/// An error and its sources, on one line (reqwest's own message is terse).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut line = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        line.push_str(": ");
        line.push_str(&e.to_string());
        source = e.source();
    }
    line
}

/// The shortest heartbeat interval a coordinator may ask for.
const MIN_HEARTBEAT: Duration = Duration::from_millis(100);
/// The longest: a coordinator cannot silence a custodian by asking for
/// beats once a year.
const MAX_HEARTBEAT: Duration = Duration::from_secs(60);

/// The coordinator's requested interval, clamped to
/// [`MIN_HEARTBEAT`]..=[`MAX_HEARTBEAT`].
fn heartbeat_interval(requested_ms: u64) -> Duration {
    Duration::from_millis(requested_ms).clamp(MIN_HEARTBEAT, MAX_HEARTBEAT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requested_intervals_are_clamped() {
        assert_eq!(heartbeat_interval(1), MIN_HEARTBEAT);
        assert_eq!(heartbeat_interval(2_000), Duration::from_secs(2));
        assert_eq!(heartbeat_interval(u64::MAX), MAX_HEARTBEAT);
    }
}
