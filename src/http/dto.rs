//! Response and error pieces more than one resource uses: the audit event (an application's
//! history and the audit log) and the field errors of domain violations.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::application::Violation;
use crate::error::FieldError;
use crate::persistence::audit::AuditEvent;

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventDto {
    pub id: i64,
    /// `programme`, `budget`, `application`, …
    pub record_type: String,
    pub record_key: String,
    /// Position in the record's history, from 1 (`id` is the position in the global chain).
    pub seq: i64,
    pub occurred_at: DateTime<Utc>,
    pub actor: String,
    pub role: String,
    pub action: String,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    pub reason: Option<String>,
    /// `{"field": {"before": …, "after": …}}`
    #[schema(value_type = Object)]
    pub changes: serde_json::Value,
    /// The MAC of the entry before this one in the global chain (`id - 1`).
    pub prev_mac: String,
    /// HMAC-SHA256 of this entry under the audit key `key_id` (docs/audit.md).
    pub mac: String,
    pub key_id: String,
    /// SHA-256 of the record's stored rows after the write.
    pub state_hash: String,
}

impl From<AuditEvent> for AuditEventDto {
    fn from(e: AuditEvent) -> Self {
        AuditEventDto {
            changes: serde_json::from_str(&e.changes).unwrap_or(serde_json::Value::Null),
            id: e.id,
            record_type: e.record_type,
            record_key: e.record_key,
            seq: e.seq,
            occurred_at: e.occurred_at.and_utc(),
            actor: e.actor,
            role: e.role,
            action: e.action,
            from_status: e.from_status,
            to_status: e.to_status,
            reason: e.reason,
            prev_mac: e.prev_mac,
            mac: e.mac,
            key_id: e.key_id,
            state_hash: e.state_hash,
        }
    }
}

/// The domain's violations as the field errors of a 422.
pub fn field_errors(vs: Vec<Violation>) -> Vec<FieldError> {
    vs.into_iter()
        .map(|v| FieldError::new(v.field, v.message))
        .collect()
}

/// A record's representation for its event (`persistence::events::Represent`): the DTO the
/// API answers for it, or `null` when the write removed the record.
pub(crate) fn represented<T: serde::Serialize>(
    dto: Option<T>,
    case_id: Option<String>,
) -> diesel::QueryResult<crate::persistence::events::Represented> {
    let data = serde_json::to_value(dto)
        .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
    Ok(crate::persistence::events::Represented { data, case_id })
}
