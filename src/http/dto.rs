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
    /// Position in the record's chain, from 1.
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
    pub prev_hash: String,
    pub hash: String,
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
            prev_hash: e.prev_hash,
            hash: e.hash,
        }
    }
}

/// The domain's violations as the field errors of a 422.
pub fn field_errors(vs: Vec<Violation>) -> Vec<FieldError> {
    vs.into_iter()
        .map(|v| FieldError::new(v.field, v.message))
        .collect()
}
