//! The heartbeat monitor: logs every change of a custodian's health (to the
//! tracing log and the audit log) and
//! keeps the `symbolon_custodians` gauge current.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use symbolon_audit::EventKind;
use symbolon_proto::api::HealthState;

use crate::audit;
use crate::state::{AppState, now_ms};

pub(crate) async fn run(state: Arc<AppState>) {
    let mut last: HashMap<String, HealthState> = HashMap::new();
    let period = Duration::from_millis((state.config.heartbeat_interval_ms / 2).clamp(100, 1_000));
    let mut tick = tokio::time::interval(period);
    loop {
        tick.tick().await;
        let now = now_ms();
        let mut counts = [0u32; 3];
        for c in state.all_custodians() {
            let current = c.state(now, state.health);
            if let Some(slot) = counts.get_mut(current as usize) {
                *slot += 1;
            }
            let previous = last.insert(c.id.clone(), current);
            if previous.is_some_and(|p| p != current)
                || (previous.is_none() && current != HealthState::Healthy)
            {
                let event = match current {
                    HealthState::Healthy => EventKind::CustodianHealthy,
                    HealthState::Suspect => EventKind::CustodianSuspect,
                    HealthState::Failed => EventKind::CustodianFailed,
                };
                let mut entry = audit::entry(event, "coordinator");
                entry.custodians = vec![c.id.clone()];
                entry.detail = Some(format!("silent for {} ms", c.silent_for(now)));
                if let Err(e) = state.audit.record(&[entry]).await {
                    // Health is derived from heartbeat times, so nothing
                    // else changes here; note the failure and try again on
                    // the next tick.
                    tracing::error!(custodian = %c.id, error = ?e, "could not log a health change");
                    last.remove(&c.id);
                }
                match current {
                    HealthState::Healthy => {
                        tracing::info!(custodian = %c.id, "custodian is healthy")
                    }
                    HealthState::Suspect => {
                        tracing::warn!(custodian = %c.id, silent_ms = c.silent_for(now), "custodian is suspect: heartbeats missed")
                    }
                    HealthState::Failed => {
                        tracing::error!(custodian = %c.id, silent_ms = c.silent_for(now), "custodian has failed: no heartbeat")
                    }
                }
            }
        }
        for (state_name, count) in ["healthy", "suspect", "failed"].into_iter().zip(counts) {
            metrics::gauge!("symbolon_custodians", "state" => state_name).set(f64::from(count));
        }
    }
}
