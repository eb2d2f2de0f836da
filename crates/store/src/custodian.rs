//! Custodians: who holds shares, where they are, which keys they sign and
//! receive with, and when they last reported in.

use sqlx::any::AnyRow;

use crate::column::{self, stored_enum};
use crate::error::{Error, Result};
use crate::store::Store;
use crate::tx::StoreTx;

stored_enum! {
    /// What kind of custodian holds shares (stored as `tee`, `hsm`, ...).
    pub enum CustodianKind {
        /// A trusted execution environment.
        Tee => "tee",
        /// A hardware security module.
        Hsm => "hsm",
        /// A TPM-sealed host.
        Tpm => "tpm",
        /// An (ephemeral) virtual machine.
        Vm => "vm",
        /// Another organisation.
        Org => "org",
    }
}

/// A custodian introducing itself: what [`Store::upsert_custodian`] writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewCustodian {
    /// Its id (equal to its certificate name).
    pub id: String,
    /// Its HTTPS base URL.
    pub endpoint: String,
    /// Region label, e.g. `eu-central`.
    pub region: String,
    /// Country label (ISO 3166 code).
    pub country: String,
    /// Hosting provider or organisation label.
    pub provider: String,
    /// Its kind.
    pub kind: CustodianKind,
    /// Its HPKE recipient string (`symbolon1...`): shards are sealed to it.
    pub recipient: String,
    /// Its Ed25519 attestation verifying key: heartbeats are signed with it.
    pub attestation_key: [u8; 32],
    /// When it first registered, Unix milliseconds (kept on re-registration).
    pub registered_at: i64,
}

/// A stored custodian.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustodianRow {
    /// Its id (equal to its certificate name).
    pub id: String,
    /// Its HTTPS base URL.
    pub endpoint: String,
    /// Region label.
    pub region: String,
    /// Country label.
    pub country: String,
    /// Provider label.
    pub provider: String,
    /// Its kind.
    pub kind: CustodianKind,
    /// Its HPKE recipient string (`symbolon1...`).
    pub recipient: String,
    /// Its Ed25519 attestation verifying key.
    pub attestation_key: [u8; 32],
    /// When it first registered, Unix milliseconds.
    pub registered_at: i64,
    /// When its last accepted heartbeat arrived, Unix milliseconds.
    pub last_heartbeat_at: Option<i64>,
    /// The sequence number of its last accepted heartbeat.
    pub last_seq: Option<i64>,
    /// The shares it last reported holding: a JSON array, opaque to the
    /// store (`[]` until the first heartbeat).
    pub reported_shares: String,
    /// How many partial results it sent that failed their proofs.
    pub faults: i64,
    /// The last such fault, described.
    pub last_fault: Option<String>,
    /// When it was recorded, Unix milliseconds.
    pub last_fault_at: Option<i64>,
}

macro_rules! custodian_columns {
    () => {
        "id, endpoint, region, country, provider, kind, recipient, attestation_key, \
         registered_at, last_heartbeat_at, last_seq, reported_shares, faults, last_fault, \
         last_fault_at"
    };
}

impl CustodianRow {
    fn decode(row: &AnyRow) -> Result<CustodianRow> {
        let id: String = column::get(row, "id", "custodians.id", "?")?;
        Ok(CustodianRow {
            endpoint: column::get(row, "endpoint", "custodians.endpoint", &id)?,
            region: column::get(row, "region", "custodians.region", &id)?,
            country: column::get(row, "country", "custodians.country", &id)?,
            provider: column::get(row, "provider", "custodians.provider", &id)?,
            kind: column::name(row, "kind", "custodians.kind", &id)?,
            recipient: column::get(row, "recipient", "custodians.recipient", &id)?,
            attestation_key: column::bytes(
                row,
                "attestation_key",
                "custodians.attestation_key",
                &id,
            )?,
            registered_at: column::get(row, "registered_at", "custodians.registered_at", &id)?,
            last_heartbeat_at: column::get(
                row,
                "last_heartbeat_at",
                "custodians.last_heartbeat_at",
                &id,
            )?,
            last_seq: column::get(row, "last_seq", "custodians.last_seq", &id)?,
            reported_shares: column::get(
                row,
                "reported_shares",
                "custodians.reported_shares",
                &id,
            )?,
            faults: column::get(row, "faults", "custodians.faults", &id)?,
            last_fault: column::get(row, "last_fault", "custodians.last_fault", &id)?,
            last_fault_at: column::get(row, "last_fault_at", "custodians.last_fault_at", &id)?,
            id,
        })
    }
}

impl Store {
    /// Registers a custodian, or on re-registration (same id) updates its
    /// endpoint and labels, keeping `registered_at`, its heartbeat state
    /// and its keys. Returns the stored row.
    ///
    /// # Errors
    ///
    /// [`Error::Conflict`] (`"custodian keys"`) if the id is registered
    /// with a different attestation key or recipient; nothing changes.
    ///
    /// # Security
    ///
    /// A custodian cannot silently change its keys: a new attestation key
    /// would let whoever holds it forge heartbeats, a new recipient would
    /// redirect shards. Rotating them is an explicit, audited operation.
    pub async fn upsert_custodian(&self, custodian: &NewCustodian) -> Result<CustodianRow> {
        let mut tx = self.begin().await?;
        let row = tx.upsert_custodian(custodian).await?;
        tx.commit().await?;
        Ok(row)
    }

    /// The custodian with this id.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if there is none; [`Error::Corrupt`] if its row
    /// does not decode.
    pub async fn custodian(&self, id: &str) -> Result<CustodianRow> {
        let row = sqlx::query(concat!(
            "SELECT ",
            custodian_columns!(),
            " FROM custodians WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.read)
        .await?
        .ok_or_else(|| Error::NotFound {
            what: "custodian",
            id: id.to_owned(),
        })?;
        CustodianRow::decode(&row)
    }

    /// Every custodian, ordered by id.
    ///
    /// # Errors
    ///
    /// [`Error::Corrupt`] if any row does not decode.
    pub async fn custodians(&self) -> Result<Vec<CustodianRow>> {
        sqlx::query(concat!(
            "SELECT ",
            custodian_columns!(),
            " FROM custodians ORDER BY id"
        ))
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(CustodianRow::decode)
        .collect()
    }

    /// Records an (already verified) heartbeat: its sequence number, when
    /// it arrived and the shares it reports, in one atomic statement that
    /// only succeeds if `seq` is above the last recorded one. Returns the
    /// updated row.
    ///
    /// # Errors
    ///
    /// [`Error::StaleSequence`] if `seq` is not above the last recorded
    /// sequence number (nothing changes); [`Error::NotFound`] for an
    /// unknown custodian.
    ///
    /// # Security
    ///
    /// The comparison and the update are one statement, so two replicas
    /// (or tasks) racing with the same heartbeat record it once.
    pub async fn record_heartbeat(
        &self,
        id: &str,
        seq: i64,
        at_ms: i64,
        reported_shares: &str,
    ) -> Result<CustodianRow> {
        let row = sqlx::query(concat!(
            "UPDATE custodians SET last_seq = $1, last_heartbeat_at = $2, reported_shares = $3 \
             WHERE id = $4 AND (last_seq IS NULL OR last_seq < $1) RETURNING ",
            custodian_columns!()
        ))
        .bind(seq)
        .bind(at_ms)
        .bind(reported_shares)
        .bind(id)
        .fetch_optional(&self.write)
        .await?;
        if let Some(row) = row {
            return CustodianRow::decode(&row);
        }
        // Refused: say why.
        let last: Option<Option<i64>> =
            sqlx::query_scalar("SELECT last_seq FROM custodians WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.read)
                .await?;
        match last {
            None => Err(Error::NotFound {
                what: "custodian",
                id: id.to_owned(),
            }),
            Some(Some(last_seq)) => Err(Error::StaleSequence {
                custodian: id.to_owned(),
                seq,
                last_seq,
            }),
            // The row existed with no sequence yet, so the update could
            // only have missed it by racing a deletion.
            Some(None) => Err(Error::Conflict {
                what: "custodian heartbeat",
                id: id.to_owned(),
            }),
        }
    }
}

impl StoreTx {
    /// Counts one bad partial result against a custodian and keeps its
    /// description (the caller logs it in the same transaction). Returns
    /// the updated row.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown custodian.
    pub async fn record_custodian_fault(
        &mut self,
        id: &str,
        reason: &str,
        at_ms: i64,
    ) -> Result<CustodianRow> {
        let row = sqlx::query(concat!(
            "UPDATE custodians SET faults = faults + 1, last_fault = $1, last_fault_at = $2 \
             WHERE id = $3 RETURNING ",
            custodian_columns!()
        ))
        .bind(reason)
        .bind(at_ms)
        .bind(id)
        .fetch_optional(&mut *self.tx)
        .await?
        .ok_or_else(|| Error::NotFound {
            what: "custodian",
            id: id.to_owned(),
        })?;
        CustodianRow::decode(&row)
    }

    /// Registers a custodian or updates its endpoint and labels; see
    /// [`Store::upsert_custodian`].
    ///
    /// # Errors
    ///
    /// [`Error::Conflict`] (`"custodian keys"`) if the id is registered
    /// with a different attestation key or recipient.
    pub async fn upsert_custodian(&mut self, custodian: &NewCustodian) -> Result<CustodianRow> {
        let row = sqlx::query(concat!(
            "INSERT INTO custodians (id, endpoint, region, country, provider, kind, recipient, \
             attestation_key, registered_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (id) DO UPDATE SET endpoint = excluded.endpoint, \
             region = excluded.region, country = excluded.country, \
             provider = excluded.provider, kind = excluded.kind \
             WHERE custodians.attestation_key = excluded.attestation_key \
             AND custodians.recipient = excluded.recipient RETURNING ",
            custodian_columns!()
        ))
        .bind(&custodian.id)
        .bind(&custodian.endpoint)
        .bind(&custodian.region)
        .bind(&custodian.country)
        .bind(&custodian.provider)
        .bind(custodian.kind.as_str())
        .bind(&custodian.recipient)
        .bind(custodian.attestation_key.to_vec())
        .bind(custodian.registered_at)
        .fetch_optional(&mut *self.tx)
        .await?;
        match row {
            Some(row) => CustodianRow::decode(&row),
            None => Err(Error::Conflict {
                what: "custodian keys",
                id: custodian.id.clone(),
            }),
        }
    }
}
