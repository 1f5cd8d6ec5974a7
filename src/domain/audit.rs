//! The hash chain of the audit log: each entry's hash covers its own fields and the previous
//! entry's hash of the same record, so that an edited, inserted or removed entry breaks the
//! chain from there on.

use sha2::{Digest, Sha256};

/// The hash that starts every record's chain.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The fields an entry's hash covers, in a fixed order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainedFields<'a> {
    pub record_type: &'a str,
    pub record_key: &'a str,
    pub seq: i64,
    /// RFC 3339 with microseconds, UTC.
    pub occurred_at: &'a str,
    pub actor: &'a str,
    pub role: &'a str,
    pub action: &'a str,
    pub from_status: Option<&'a str>,
    pub to_status: Option<&'a str>,
    pub reason: Option<&'a str>,
    /// The changed fields as JSON text, exactly as stored.
    pub changes: &'a str,
}

/// SHA-256 (hex) over the previous hash and the fields, serialised as a JSON array so that no
/// two different field lists serialise alike.
pub fn entry_hash(prev_hash: &str, f: &ChainedFields<'_>) -> String {
    let canonical = serde_json::json!([
        prev_hash,
        f.record_type,
        f.record_key,
        f.seq,
        f.occurred_at,
        f.actor,
        f.role,
        f.action,
        f.from_status,
        f.to_status,
        f.reason,
        f.changes
    ]);
    let digest = Sha256::digest(canonical.to_string().as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(reason: Option<&str>) -> ChainedFields<'_> {
        ChainedFields {
            record_type: "application",
            record_key: "1",
            seq: 1,
            occurred_at: "2026-11-22T10:15:00.000000Z",
            actor: "anna",
            role: "caseworker",
            action: "start_review",
            from_status: Some("submitted"),
            to_status: Some("in_review"),
            reason,
            changes: "{}",
        }
    }

    #[test]
    fn any_changed_field_or_predecessor_changes_the_hash() {
        let h = entry_hash(GENESIS, &fields(None));
        assert_eq!(h.len(), 64);
        assert_eq!(h, entry_hash(GENESIS, &fields(None)));
        assert_ne!(h, entry_hash(GENESIS, &fields(Some(""))));
        assert_ne!(h, entry_hash(&h, &fields(None)));
    }
}
