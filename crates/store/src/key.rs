//! Keys, their versions and where each version's shares are placed.
//!
//! A key version is one split of the key (one `split_id`); a placement
//! records that share `share_index` of that split was sealed to a
//! custodian and acknowledged. Only public metadata lives here: the shares
//! themselves never touch the store.

use std::collections::HashSet;

use sqlx::AnyConnection;
use sqlx::any::AnyRow;
use sqlx::error::ErrorKind;

use crate::column::{self, stored_enum};
use crate::error::{Error, Result, db_kind};
use crate::store::Store;
use crate::tx::{Savepoint, StoreTx};

stored_enum! {
    /// What a key is and how it is shared (stored as `secret`, ...).
    pub enum KeyKind {
        /// Opaque bytes, Shamir-shared byte-wise over GF(2^8).
        Secret => "secret",
        /// An Ed25519 signing key (FROST shares).
        Ed25519 => "ed25519",
        /// A ristretto255 decryption key (threshold decryption shares).
        Ristretto255 => "ristretto255",
    }
}

stored_enum! {
    /// The custodian label whose values must all differ across a key's
    /// placements (stored as `country`, `region`, `provider`).
    pub enum DistinctLabel {
        /// No two shares in one country.
        Country => "country",
        /// No two shares in one region.
        Region => "region",
        /// No two shares with one provider.
        Provider => "provider",
    }
}

/// A key to create: what [`Store::create_key`] writes (its current
/// version is 1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewKey {
    /// Its id (random hex, chosen by the caller).
    pub id: String,
    /// Its unique, human-chosen name.
    pub name: String,
    /// Its kind.
    pub kind: KeyKind,
    /// How many shares it takes to use the key (1 ≤ threshold ≤ shares).
    pub threshold: i64,
    /// How many shares each version is split into.
    pub shares: i64,
    /// The label that must differ between its custodians, if any.
    pub distinct_label: Option<DistinctLabel>,
    /// When it was created, Unix milliseconds.
    pub created_at: i64,
    /// The principal that created it.
    pub created_by: String,
}

/// A stored key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRow {
    /// Its id.
    pub id: String,
    /// Its unique name.
    pub name: String,
    /// Its kind.
    pub kind: KeyKind,
    /// How many shares it takes to use the key.
    pub threshold: i64,
    /// How many shares each version is split into.
    pub shares: i64,
    /// The label that must differ between its custodians, if any.
    pub distinct_label: Option<DistinctLabel>,
    /// The version operations use.
    pub current_version: i64,
    /// When it was created, Unix milliseconds.
    pub created_at: i64,
    /// The principal that created it.
    pub created_by: String,
}

/// A key version to create: one split of the key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewKeyVersion {
    /// The split's random identifier (bound into every share envelope).
    pub split_id: [u8; 16],
    /// When it was created, Unix milliseconds.
    pub created_at: i64,
    /// The public side of a threshold key version (group key and
    /// verification shares); `None` for a `secret` key.
    pub public_key: Option<Vec<u8>>,
}

/// A stored key version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyVersionRow {
    /// The key's id.
    pub key_id: String,
    /// The version number (from 1).
    pub version: i64,
    /// The split's random identifier.
    pub split_id: [u8; 16],
    /// When it was created, Unix milliseconds.
    pub created_at: i64,
    /// The public side of a threshold key version; `None` for `secret`.
    pub public_key: Option<Vec<u8>>,
}

/// A share placement to record, for the version being created.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewPlacement {
    /// The share index (1 ≤ index ≤ the key's shares).
    pub share_index: i64,
    /// The custodian holding it.
    pub custodian_id: String,
    /// The envelope's canonical metadata bytes (public).
    pub metadata: Vec<u8>,
    /// BLAKE3 of the envelope the custodian stored.
    pub envelope_digest: [u8; 32],
    /// When the custodian acknowledged storing it, Unix milliseconds.
    pub acknowledged_at: i64,
}

/// A stored placement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlacementRow {
    /// The key's id.
    pub key_id: String,
    /// The key version.
    pub version: i64,
    /// The share index.
    pub share_index: i64,
    /// The custodian holding it.
    pub custodian_id: String,
    /// The envelope's canonical metadata bytes (public).
    pub metadata: Vec<u8>,
    /// BLAKE3 of the envelope the custodian stored.
    pub envelope_digest: [u8; 32],
    /// When the custodian acknowledged storing it, Unix milliseconds.
    pub acknowledged_at: i64,
}

macro_rules! key_columns {
    () => {
        "id, name, kind, threshold, shares, distinct_label, current_version, created_at, created_by"
    };
}

impl KeyRow {
    fn decode(row: &AnyRow) -> Result<KeyRow> {
        let id: String = column::get(row, "id", "keys.id", "?")?;
        Ok(KeyRow {
            name: column::get(row, "name", "keys.name", &id)?,
            kind: column::name(row, "kind", "keys.kind", &id)?,
            threshold: column::get(row, "threshold", "keys.threshold", &id)?,
            shares: column::get(row, "shares", "keys.shares", &id)?,
            distinct_label: column::optional_name(
                row,
                "distinct_label",
                "keys.distinct_label",
                &id,
            )?,
            current_version: column::get(row, "current_version", "keys.current_version", &id)?,
            created_at: column::get(row, "created_at", "keys.created_at", &id)?,
            created_by: column::get(row, "created_by", "keys.created_by", &id)?,
            id,
        })
    }
}

impl KeyVersionRow {
    fn decode(row: &AnyRow) -> Result<KeyVersionRow> {
        let key_id: String = column::get(row, "key_id", "key_versions.key_id", "?")?;
        let version: i64 = column::get(row, "version", "key_versions.version", &key_id)?;
        let id = format!("{key_id}/{version}");
        Ok(KeyVersionRow {
            split_id: column::bytes(row, "split_id", "key_versions.split_id", &id)?,
            created_at: column::get(row, "created_at", "key_versions.created_at", &id)?,
            public_key: column::get(row, "public_key", "key_versions.public_key", &id)?,
            key_id,
            version,
        })
    }
}

impl PlacementRow {
    fn decode(row: &AnyRow) -> Result<PlacementRow> {
        let key_id: String = column::get(row, "key_id", "placements.key_id", "?")?;
        let version: i64 = column::get(row, "version", "placements.version", &key_id)?;
        let share_index: i64 = column::get(row, "share_index", "placements.share_index", &key_id)?;
        let id = format!("{key_id}/{version}/{share_index}");
        Ok(PlacementRow {
            custodian_id: column::get(row, "custodian_id", "placements.custodian_id", &id)?,
            metadata: column::get(row, "metadata", "placements.metadata", &id)?,
            envelope_digest: column::bytes(
                row,
                "envelope_digest",
                "placements.envelope_digest",
                &id,
            )?,
            acknowledged_at: column::get(
                row,
                "acknowledged_at",
                "placements.acknowledged_at",
                &id,
            )?,
            key_id,
            version,
            share_index,
        })
    }
}

/// Refuses key parameters and placements that can never describe a usable
/// key, before touching the database.
fn validate(key: &NewKey, placements: &[NewPlacement]) -> Result<()> {
    let invalid = |what, detail: String| Err(Error::InvalidInput { what, detail });
    if key.threshold < 1 || key.threshold > key.shares {
        return invalid(
            "threshold",
            format!(
                "{} of {} shares (need 1 ≤ threshold ≤ shares)",
                key.threshold, key.shares
            ),
        );
    }
    let placed = i64::try_from(placements.len()).unwrap_or(i64::MAX);
    if placed < key.threshold || placed > key.shares {
        return invalid(
            "placements",
            format!(
                "{placed} placements for a {}-of-{} key (need between threshold and shares)",
                key.threshold, key.shares
            ),
        );
    }
    let mut indices = HashSet::with_capacity(placements.len());
    let mut custodians = HashSet::with_capacity(placements.len());
    for placement in placements {
        if placement.share_index < 1 || placement.share_index > key.shares {
            return invalid(
                "placements",
                format!(
                    "share index {} outside 1..={}",
                    placement.share_index, key.shares
                ),
            );
        }
        if !indices.insert(placement.share_index) {
            return invalid(
                "placements",
                format!("share index {} placed twice", placement.share_index),
            );
        }
        if !custodians.insert(placement.custodian_id.as_str()) {
            return invalid(
                "placements",
                format!("custodian {:?} given two shares", placement.custodian_id),
            );
        }
    }
    Ok(())
}

/// Turns a constraint violation from [`insert_key`] into the error naming
/// the culprit, looking on the transaction's own connection (after the
/// failed inserts were rolled back), so that rows this transaction wrote
/// earlier count too.
async fn explain_create_failure(
    conn: &mut AnyConnection,
    err: sqlx::Error,
    key: &NewKey,
    placements: &[NewPlacement],
) -> Error {
    async fn exists(
        conn: &mut AnyConnection,
        sql: &'static str,
        id: &str,
    ) -> std::result::Result<bool, sqlx::Error> {
        Ok(sqlx::query(sql)
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?
            .is_some())
    }
    let explained = async {
        match db_kind(&err) {
            Some(ErrorKind::UniqueViolation) => {
                if exists(conn, "SELECT 1 FROM keys WHERE name = $1", &key.name).await? {
                    return Ok(Some(Error::Conflict {
                        what: "key name",
                        id: key.name.clone(),
                    }));
                }
                if exists(conn, "SELECT 1 FROM keys WHERE id = $1", &key.id).await? {
                    return Ok(Some(Error::Conflict {
                        what: "key id",
                        id: key.id.clone(),
                    }));
                }
            }
            Some(ErrorKind::ForeignKeyViolation) => {
                for placement in placements {
                    let id = &placement.custodian_id;
                    if !exists(conn, "SELECT 1 FROM custodians WHERE id = $1", id).await? {
                        return Ok(Some(Error::NotFound {
                            what: "custodian",
                            id: id.clone(),
                        }));
                    }
                }
            }
            _ => {}
        }
        Ok::<_, sqlx::Error>(None)
    };
    match explained.await {
        Ok(Some(culprit)) => culprit,
        Ok(None) => Error::Database { source: err },
        Err(lookup) => Error::Database { source: lookup },
    }
}

/// The inserts of [`Store::create_key`], on the transaction's connection.
async fn insert_key(
    conn: &mut AnyConnection,
    key: &NewKey,
    version: &NewKeyVersion,
    placements: &[NewPlacement],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO keys (id, name, kind, threshold, shares, distinct_label, current_version, \
         created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $8)",
    )
    .bind(&key.id)
    .bind(&key.name)
    .bind(key.kind.as_str())
    .bind(key.threshold)
    .bind(key.shares)
    .bind(key.distinct_label.map(DistinctLabel::as_str))
    .bind(key.created_at)
    .bind(&key.created_by)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO key_versions (key_id, version, split_id, created_at, public_key) \
         VALUES ($1, 1, $2, $3, $4)",
    )
    .bind(&key.id)
    .bind(version.split_id.to_vec())
    .bind(version.created_at)
    .bind(version.public_key.clone())
    .execute(&mut *conn)
    .await?;
    for placement in placements {
        sqlx::query(
            "INSERT INTO placements (key_id, version, share_index, custodian_id, metadata, \
             envelope_digest, acknowledged_at) VALUES ($1, 1, $2, $3, $4, $5, $6)",
        )
        .bind(&key.id)
        .bind(placement.share_index)
        .bind(&placement.custodian_id)
        .bind(placement.metadata.as_slice())
        .bind(placement.envelope_digest.to_vec())
        .bind(placement.acknowledged_at)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

impl Store {
    /// Creates a key with version 1 and that version's placements, all in
    /// one transaction: afterwards either everything is stored or nothing
    /// is. Returns the stored key.
    ///
    /// # Errors
    ///
    /// * [`Error::InvalidInput`]: threshold not in `1..=shares`; fewer
    ///   placements than the threshold or more than `shares`; a share index
    ///   outside `1..=shares`, or repeated; a custodian given two shares.
    /// * [`Error::Conflict`] (`"key name"` or `"key id"`) if a key with
    ///   this name or id exists.
    /// * [`Error::NotFound`] (`"custodian"`) if a placement names an
    ///   unregistered custodian.
    pub async fn create_key(
        &self,
        key: &NewKey,
        version: &NewKeyVersion,
        placements: &[NewPlacement],
    ) -> Result<KeyRow> {
        let mut tx = self.begin().await?;
        let row = tx.create_key(key, version, placements).await?;
        tx.commit().await?;
        tracing::debug!(key = %key.id, name = %key.name, "key created");
        Ok(row)
    }

    /// The key with this id.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if there is none; [`Error::Corrupt`] if its row
    /// does not decode.
    pub async fn key(&self, id: &str) -> Result<KeyRow> {
        let row = sqlx::query(concat!(
            "SELECT ",
            key_columns!(),
            " FROM keys WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.read)
        .await?
        .ok_or_else(|| Error::NotFound {
            what: "key",
            id: id.to_owned(),
        })?;
        KeyRow::decode(&row)
    }

    /// The key with this name.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if there is none; [`Error::Corrupt`] if its row
    /// does not decode.
    pub async fn key_by_name(&self, name: &str) -> Result<KeyRow> {
        let row = sqlx::query(concat!(
            "SELECT ",
            key_columns!(),
            " FROM keys WHERE name = $1"
        ))
        .bind(name)
        .fetch_optional(&self.read)
        .await?
        .ok_or_else(|| Error::NotFound {
            what: "key",
            id: name.to_owned(),
        })?;
        KeyRow::decode(&row)
    }

    /// Every key, ordered by name.
    ///
    /// # Errors
    ///
    /// [`Error::Corrupt`] if any row does not decode.
    pub async fn keys(&self) -> Result<Vec<KeyRow>> {
        sqlx::query(concat!(
            "SELECT ",
            key_columns!(),
            " FROM keys ORDER BY name"
        ))
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(KeyRow::decode)
        .collect()
    }

    /// One version of a key.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] (`"key version"`, id `KEY/VERSION`) if there is
    /// none; [`Error::Corrupt`] if its row does not decode.
    pub async fn key_version(&self, key_id: &str, version: i64) -> Result<KeyVersionRow> {
        let row = sqlx::query(
            "SELECT key_id, version, split_id, created_at, public_key FROM key_versions \
             WHERE key_id = $1 AND version = $2",
        )
        .bind(key_id)
        .bind(version)
        .fetch_optional(&self.read)
        .await?
        .ok_or_else(|| Error::NotFound {
            what: "key version",
            id: format!("{key_id}/{version}"),
        })?;
        KeyVersionRow::decode(&row)
    }

    /// The placements of one key version, ordered by share index (empty
    /// for an unknown key or version).
    ///
    /// # Errors
    ///
    /// [`Error::Corrupt`] if any row does not decode.
    pub async fn placements(&self, key_id: &str, version: i64) -> Result<Vec<PlacementRow>> {
        sqlx::query(
            "SELECT key_id, version, share_index, custodian_id, metadata, envelope_digest, \
             acknowledged_at FROM placements WHERE key_id = $1 AND version = $2 \
             ORDER BY share_index",
        )
        .bind(key_id)
        .bind(version)
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(PlacementRow::decode)
        .collect()
    }
}

impl StoreTx {
    /// Creates a key with version 1 and its placements; see
    /// [`Store::create_key`]. All or nothing inside the transaction: on an
    /// error its own savepoint undoes whatever it inserted, and the
    /// transaction can go on.
    ///
    /// # Errors
    ///
    /// As [`Store::create_key`].
    pub async fn create_key(
        &mut self,
        key: &NewKey,
        version: &NewKeyVersion,
        placements: &[NewPlacement],
    ) -> Result<KeyRow> {
        validate(key, placements)?;
        self.savepoint(Savepoint::CreateKey).await?;
        if let Err(err) = insert_key(&mut self.tx, key, version, placements).await {
            self.rollback_to_savepoint(Savepoint::CreateKey).await?;
            return Err(explain_create_failure(&mut self.tx, err, key, placements).await);
        }
        self.release_savepoint(Savepoint::CreateKey).await?;
        Ok(KeyRow {
            id: key.id.clone(),
            name: key.name.clone(),
            kind: key.kind,
            threshold: key.threshold,
            shares: key.shares,
            distinct_label: key.distinct_label,
            current_version: 1,
            created_at: key.created_at,
            created_by: key.created_by.clone(),
        })
    }
}
