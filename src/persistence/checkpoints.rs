//! Signed checkpoints of the audit chain: the head (the last seal's id and MAC) at a moment,
//! MAC'd with the audit key, stored in the database and printed for publication
//! (`foerderakte audit checkpoint`). A published checkpoint lets verify detect any entry
//! removed or altered at or before it, and a log cut back behind it.

use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::AnyConnection;
use super::audit;
use super::schema::audit_checkpoints as c;
use crate::domain::audit::{Keyring, checkpoint_mac};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Serialize, Deserialize)]
#[diesel(table_name = c)]
pub struct Checkpoint {
    /// The id of the last seal at the checkpoint.
    pub seq: i64,
    /// That seal's MAC.
    pub head_mac: String,
    pub created_at: NaiveDateTime,
    /// Made by a full verify run that found the log intact up to it.
    pub verified: bool,
    pub key_id: String,
    pub mac: String,
}

impl Checkpoint {
    /// Whether the checkpoint's MAC holds under its key.
    pub fn verifies(&self, keys: &Keyring) -> bool {
        keys.find(&self.key_id).is_some_and(|k| {
            let at = self.created_at.and_utc().timestamp_micros();
            checkpoint_mac(k, self.seq, &self.head_mac, at, self.verified) == self.mac
        })
    }

    /// The checkpoint as published: one JSON object.
    pub fn to_text(&self) -> String {
        serde_json::json!({
            "seq": self.seq,
            "head_mac": self.head_mac,
            "created_at": audit::timestamp_text(self.created_at),
            "verified": self.verified,
            "key_id": self.key_id,
            "mac": self.mac,
        })
        .to_string()
    }

    /// A published checkpoint read back (`to_text`).
    pub fn from_text(text: &str) -> Result<Checkpoint, String> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Published {
            seq: i64,
            head_mac: String,
            created_at: DateTime<Utc>,
            verified: bool,
            key_id: String,
            mac: String,
        }
        let p: Published =
            serde_json::from_str(text.trim()).map_err(|e| format!("not a checkpoint: {e}"))?;
        Ok(Checkpoint {
            seq: p.seq,
            head_mac: p.head_mac,
            created_at: p.created_at.naive_utc(),
            verified: p.verified,
            key_id: p.key_id,
            mac: p.mac,
        })
    }
}

/// Seals what has finished, then signs the head at `now` and stores it (once per head: a
/// second call at the same head returns the stored one).
pub fn create(conn: &mut AnyConnection, now: NaiveDateTime) -> QueryResult<Checkpoint> {
    super::seal::seal_all(conn, now)?;
    sign_head(conn, now)
}

/// Signs the head of what is sealed at `now` and stores it (once per head), without sealing
/// first: `create` after `seal::seal_all`. Sealing must run in its own transactions (a round
/// takes only transactions that finished before its snapshot), so a caller that wraps the
/// checkpoint in a transaction of its own (the `Idempotency-Key` of the API's POST) seals
/// before it.
pub fn sign_head(conn: &mut AnyConnection, now: NaiveDateTime) -> QueryResult<Checkpoint> {
    super::write_tx(conn, |conn| {
        let (seq, head_mac) = super::seal::head(conn)?;
        store(conn, seq, head_mac, now, false)
    })
}

/// Records that a full verify run found the log intact up to seal `seq` with MAC
/// `head_mac`: where the next incremental run starts.
pub fn record_verified(
    conn: &mut AnyConnection,
    seq: i64,
    head_mac: String,
    now: NaiveDateTime,
) -> QueryResult<Checkpoint> {
    super::write_tx(conn, |conn| store(conn, seq, head_mac, now, true))
}

fn store(
    conn: &mut AnyConnection,
    seq: i64,
    head_mac: String,
    now: NaiveDateTime,
    verified: bool,
) -> QueryResult<Checkpoint> {
    let keys = audit::keys()?;
    if let Some(existing) = c::table
        .find((seq, verified))
        .select(Checkpoint::as_select())
        .first(conn)
        .optional()?
    {
        return Ok(existing);
    }
    let created_at = now.trunc_subsecs(6);
    let key = &keys.current;
    let at = created_at.and_utc().timestamp_micros();
    let cp = Checkpoint {
        seq,
        mac: checkpoint_mac(key, seq, &head_mac, at, verified),
        head_mac,
        created_at,
        verified,
        key_id: key.id().to_owned(),
    };
    diesel::insert_into(c::table)
        .values((
            c::seq.eq(cp.seq),
            c::head_mac.eq(&cp.head_mac),
            c::created_at.eq(cp.created_at),
            c::verified.eq(cp.verified),
            c::key_id.eq(&cp.key_id),
            c::mac.eq(&cp.mac),
        ))
        .execute(conn)?;
    Ok(cp)
}

pub fn list(conn: &mut AnyConnection) -> QueryResult<Vec<Checkpoint>> {
    c::table
        .order((c::seq.asc(), c::verified.asc()))
        .select(Checkpoint::as_select())
        .load(conn)
}

/// The newest checkpoint a full verify run made.
pub fn latest_verified(conn: &mut AnyConnection) -> QueryResult<Option<Checkpoint>> {
    c::table
        .filter(c::verified.eq(true))
        .order(c::seq.desc())
        .select(Checkpoint::as_select())
        .first(conn)
        .optional()
}
