//! The coordinator's shared state: the store, its dealer identity, and
//! in-memory views of custodians and keys kept in step with the store.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use symbolon_envelope::{Identity, Metadata, Recipient};
use symbolon_proto::api::{CustodianStatus, HealthState, KeyKind};
use symbolon_proto::custodian::{Labels, ShareDigest};
use symbolon_store::Store;

use crate::config::Config;
use crate::problem::ApiError;

/// Unix milliseconds now.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// RFC 3339 for Unix milliseconds.
pub(crate) fn rfc3339(ms: u64) -> String {
    let nanos = i128::from(ms) * 1_000_000;
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| ms.to_string())
}

/// What the coordinator knows about one custodian.
#[derive(Clone, Debug)]
pub(crate) struct Custodian {
    pub(crate) id: String,
    pub(crate) endpoint: String,
    pub(crate) labels: Labels,
    pub(crate) recipient: Recipient,
    pub(crate) attestation_key: [u8; 32],
    pub(crate) registered_at_ms: u64,
    pub(crate) last_heartbeat_ms: Option<u64>,
    pub(crate) last_seq: Option<u64>,
    pub(crate) shares: Vec<ShareDigest>,
    /// Bad partial results it sent.
    pub(crate) faults: u64,
    /// The last one: when (RFC 3339) and what.
    pub(crate) last_fault: Option<String>,
}

/// Health thresholds.
#[derive(Clone, Copy, Debug)]
pub(crate) struct HealthPolicy {
    pub(crate) suspect_after_ms: u64,
    pub(crate) failed_after_ms: u64,
}

impl Custodian {
    pub(crate) fn silent_for(&self, now: u64) -> u64 {
        now.saturating_sub(self.last_heartbeat_ms.unwrap_or(self.registered_at_ms))
    }

    pub(crate) fn state(&self, now: u64, policy: HealthPolicy) -> HealthState {
        let silent = self.silent_for(now);
        if self.last_heartbeat_ms.is_none() {
            // Registered but no heartbeat yet: it may still be pinning this
            // coordinator's keys, so it is not given shares yet.
            return if silent >= policy.failed_after_ms {
                HealthState::Failed
            } else {
                HealthState::Suspect
            };
        }
        if silent >= policy.failed_after_ms {
            HealthState::Failed
        } else if silent >= policy.suspect_after_ms {
            HealthState::Suspect
        } else {
            HealthState::Healthy
        }
    }

    pub(crate) fn status(&self, now: u64, policy: HealthPolicy) -> CustodianStatus {
        CustodianStatus {
            id: self.id.clone(),
            state: self.state(now, policy),
            labels: self.labels.clone(),
            endpoint: self.endpoint.clone(),
            last_heartbeat: self.last_heartbeat_ms.map(rfc3339),
            silent_for_ms: self.silent_for(now),
            last_seq: self.last_seq,
            shares: self.shares.len(),
            faults: self.faults,
            last_fault: self.last_fault.clone(),
        }
    }
}

/// One share's slot in a key version, with its public envelope metadata.
#[derive(Clone, Debug)]
pub(crate) struct Slot {
    pub(crate) index: u16,
    pub(crate) custodian: String,
    pub(crate) metadata: Metadata,
}

/// The public side of a threshold key version.
#[derive(Debug)]
pub(crate) enum Group {
    /// FROST(Ed25519): the group key and verification shares.
    Ed25519(symbolon_threshold::ed25519::GroupKey),
    /// TDH2: the group key and verification shares.
    Ristretto255(symbolon_threshold::tdh2::GroupPublic),
}

impl Group {
    /// Decodes the stored public side of a key of `kind`.
    pub(crate) fn decode(
        kind: KeyKind,
        bytes: &[u8],
    ) -> Result<Option<Group>, symbolon_threshold::Error> {
        Ok(match kind {
            KeyKind::Secret => None,
            KeyKind::Ed25519 => Some(Group::Ed25519(
                symbolon_threshold::ed25519::GroupKey::from_bytes(bytes)?,
            )),
            KeyKind::Ristretto255 => Some(Group::Ristretto255(
                symbolon_threshold::tdh2::GroupPublic::from_bytes(bytes)?,
            )),
        })
    }

    /// The group public key (what `KeyInfo::public_key` shows).
    pub(crate) fn public_key(&self) -> [u8; 32] {
        match self {
            Group::Ed25519(group) => group.verifying_key_bytes(),
            Group::Ristretto255(group) => group.key_bytes(),
        }
    }
}

/// A key version's placement.
#[derive(Debug)]
pub(crate) struct Version {
    pub(crate) version: u64,
    pub(crate) slots: Vec<Slot>,
    /// The public side, for threshold kinds.
    pub(crate) group: Option<Group>,
}

/// A key and the versions loaded so far.
#[derive(Debug)]
pub(crate) struct Key {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) kind: KeyKind,
    pub(crate) threshold: u16,
    pub(crate) current_version: u64,
    pub(crate) versions: HashMap<u64, Arc<Version>>,
}

/// Everything request handlers share.
pub(crate) struct AppState {
    pub(crate) config: Config,
    pub(crate) store: Store,
    pub(crate) identity: Identity,
    pub(crate) audit: crate::audit::AuditLog,
    pub(crate) join_token_hash: [u8; 32],
    pub(crate) http: reqwest::Client,
    pub(crate) health: HealthPolicy,
    pub(crate) custodians: RwLock<BTreeMap<String, Custodian>>,
    pub(crate) keys: RwLock<HashMap<String, Arc<Key>>>,
    pub(crate) principals_seen: RwLock<HashMap<String, u64>>,
    /// Unused FROST commitments custodians published.
    pub(crate) nonces: crate::threshold::NoncePool,
    pub(crate) metrics: metrics_exporter_prometheus::PrometheusHandle,
}

impl AppState {
    pub(crate) fn custodian_timeout(&self) -> Duration {
        Duration::from_millis(self.config.custodian_timeout_ms)
    }

    /// A custodian's health, without copying its record (operations ask
    /// this for every slot).
    pub(crate) fn health_of(&self, id: &str, now: u64) -> Option<HealthState> {
        let map = self.custodians.read().ok()?;
        map.get(id).map(|c| c.state(now, self.health))
    }

    /// A custodian's registered attestation key.
    pub(crate) fn attestation_key_of(&self, id: &str) -> Option<[u8; 32]> {
        let map = self.custodians.read().ok()?;
        map.get(id).map(|c| c.attestation_key)
    }

    /// A custodian's endpoint, without copying the rest of its record.
    pub(crate) fn endpoint_of(&self, id: &str) -> Option<String> {
        let map = self.custodians.read().ok()?;
        map.get(id).map(|c| c.endpoint.clone())
    }

    /// Updates the in-memory fault counts from rows just written.
    pub(crate) fn note_faults(&self, rows: Vec<symbolon_store::CustodianRow>) {
        if let Ok(mut map) = self.custodians.write() {
            for row in rows {
                if let Some(c) = map.get_mut(&row.id) {
                    c.faults = u64::try_from(row.faults).unwrap_or(0);
                    c.last_fault = last_fault(&row);
                }
            }
        }
    }

    pub(crate) fn all_custodians(&self) -> Vec<Custodian> {
        self.custodians
            .read()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }

    /// The key named `name`, with `version` loaded (the current one when
    /// `None`).
    pub(crate) async fn key(
        &self,
        name: &str,
        version: Option<u64>,
    ) -> Result<(Arc<Key>, Arc<Version>), ApiError> {
        let cached = self.keys.read().ok().and_then(|m| m.get(name).cloned());
        if let Some(key) = cached {
            let v = version.unwrap_or(key.current_version);
            if let Some(found) = key.versions.get(&v) {
                return Ok((key.clone(), found.clone()));
            }
        }
        let row = self
            .find_key(name)
            .await?
            .ok_or_else(|| ApiError::not_found("key", name))?;
        let kind = KeyKind::from_name(row.kind.as_str()).ok_or_else(|| {
            ApiError::internal(format_args!("key {name} has kind {:?}", row.kind))
        })?;
        let current = u64::try_from(row.current_version).unwrap_or(0);
        let v = version.unwrap_or(current);
        if v == 0 || v > current {
            return Err(ApiError::not_found(
                "version",
                &format!("{name} version {v} (current is {current})"),
            ));
        }
        let placements = self
            .store
            .placements(&row.id, i64::try_from(v).unwrap_or(0))
            .await?;
        let mut slots = Vec::with_capacity(placements.len());
        for p in placements {
            let metadata = Metadata::from_canonical_bytes(&p.metadata).map_err(|e| {
                ApiError::internal(format_args!("stored metadata of {name} v{v}: {e}"))
            })?;
            slots.push(Slot {
                index: u16::try_from(p.share_index).unwrap_or(0),
                custodian: p.custodian_id,
                metadata,
            });
        }
        let group = match kind {
            KeyKind::Secret => None,
            _ => {
                let row = self
                    .store
                    .key_version(&row.id, i64::try_from(v).unwrap_or(0))
                    .await?;
                let bytes = row.public_key.ok_or_else(|| {
                    ApiError::internal(format_args!("{name} v{v} has no stored public key"))
                })?;
                Group::decode(kind, &bytes).map_err(|e| {
                    ApiError::internal(format_args!("stored public key of {name} v{v}: {e}"))
                })?
            }
        };
        let version_entry = Arc::new(Version {
            version: v,
            slots,
            group,
        });
        let mut versions = HashMap::new();
        versions.insert(v, version_entry.clone());
        let key = Arc::new(Key {
            id: row.id,
            name: row.name,
            kind,
            threshold: u16::try_from(row.threshold).unwrap_or(0),
            current_version: current,
            versions,
        });
        if version.is_none_or(|v| v == current)
            && let Ok(mut map) = self.keys.write()
        {
            map.insert(name.to_owned(), key.clone());
        }
        Ok((key, version_entry))
    }

    /// The stored key named `name`, if any.
    pub(crate) async fn find_key(
        &self,
        name: &str,
    ) -> Result<Option<symbolon_store::KeyRow>, ApiError> {
        match self.store.key_by_name(name).await {
            Ok(row) => Ok(Some(row)),
            Err(symbolon_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Records that a principal made a request (at most once a minute each,
    /// to keep the store off the hot path).
    pub(crate) async fn touch_principal(&self, name: &str, role: &str) {
        let now = now_ms();
        let due = self
            .principals_seen
            .read()
            .map(|m| {
                m.get(name)
                    .is_none_or(|last| now.saturating_sub(*last) > 60_000)
            })
            .unwrap_or(true);
        if !due {
            return;
        }
        if let Ok(mut m) = self.principals_seen.write() {
            m.insert(name.to_owned(), now);
        }
        if let Err(e) = self
            .store
            .touch_principal(name, role, i64::try_from(now).unwrap_or(i64::MAX))
            .await
        {
            tracing::warn!(principal = name, error = %e, "could not record principal");
        }
    }
}

/// A custodian row's last fault as shown: when (RFC 3339) and what.
pub(crate) fn last_fault(row: &symbolon_store::CustodianRow) -> Option<String> {
    let what = row.last_fault.as_ref()?;
    Some(
        match row.last_fault_at.and_then(|t| u64::try_from(t).ok()) {
            Some(at) => format!("{} {what}", rfc3339(at)),
            None => what.clone(),
        },
    )
}
