//! Signed checkpoints of the audit chain: the head (sequence number and MAC) at a moment,
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
    /// The id of the chain's last entry at the checkpoint.
    pub seq: i64,
    /// That entry's MAC.
    pub head_mac: String,
    pub created_at: NaiveDateTime,
    pub key_id: String,
    pub mac: String,
}

fn instant_text(t: NaiveDateTime) -> String {
    DateTime::<Utc>::from_naive_utc_and_offset(t, Utc)
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string()
}

impl Checkpoint {
    /// Whether the checkpoint's MAC holds under its key.
    pub fn verifies(&self, keys: &Keyring) -> bool {
        keys.find(&self.key_id).is_some_and(|k| {
            checkpoint_mac(k, self.seq, &self.head_mac, &instant_text(self.created_at)) == self.mac
        })
    }

    /// The checkpoint as published: one JSON object.
    pub fn to_text(&self) -> String {
        serde_json::json!({
            "seq": self.seq,
            "head_mac": self.head_mac,
            "created_at": instant_text(self.created_at),
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
            key_id: String,
            mac: String,
        }
        let p: Published =
            serde_json::from_str(text.trim()).map_err(|e| format!("not a checkpoint: {e}"))?;
        Ok(Checkpoint {
            seq: p.seq,
            head_mac: p.head_mac,
            created_at: p.created_at.naive_utc(),
            key_id: p.key_id,
            mac: p.mac,
        })
    }
}

/// Signs the current head at `now` and stores it (once per head: a second call at the same
/// head returns the stored one).
pub fn create(conn: &mut AnyConnection, now: NaiveDateTime) -> QueryResult<Checkpoint> {
    let keys = audit::keys()?;
    super::write_tx(conn, |conn| {
        let (seq, head_mac) = audit::head(conn)?;
        if let Some(existing) = c::table
            .find(seq)
            .select(Checkpoint::as_select())
            .first(conn)
            .optional()?
        {
            return Ok(existing);
        }
        let created_at = now.trunc_subsecs(6);
        let key = &keys.current;
        let cp = Checkpoint {
            seq,
            mac: checkpoint_mac(key, seq, &head_mac, &instant_text(created_at)),
            head_mac,
            created_at,
            key_id: key.id().to_owned(),
        };
        diesel::insert_into(c::table)
            .values((
                c::seq.eq(cp.seq),
                c::head_mac.eq(&cp.head_mac),
                c::created_at.eq(cp.created_at),
                c::key_id.eq(&cp.key_id),
                c::mac.eq(&cp.mac),
            ))
            .execute(conn)?;
        Ok(cp)
    })
}

pub fn list(conn: &mut AnyConnection) -> QueryResult<Vec<Checkpoint>> {
    c::table
        .order(c::seq.asc())
        .select(Checkpoint::as_select())
        .load(conn)
}

pub fn latest(conn: &mut AnyConnection) -> QueryResult<Option<Checkpoint>> {
    c::table
        .order(c::seq.desc())
        .select(Checkpoint::as_select())
        .first(conn)
        .optional()
}
