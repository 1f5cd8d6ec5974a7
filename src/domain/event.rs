//! What the event feed calls a change (docs/events.md): each audit entry of a record is one
//! event, typed `<record>.<what happened>` in the past tense (`application.submitted`,
//! `notice.signed`, `payment.released`). The log's own names (record types, actions) stay as
//! they are; this is the one translation into the feed's public vocabulary.

/// A record type of the log as the feed names it, and whether its events belong to a case
/// (visible to the case's municipalities and to staff, never to the ministry).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordKind {
    pub log_name: &'static str,
    pub feed_name: &'static str,
    pub case_level: bool,
}

/// Every record type that has events, by the log's name.
pub const RECORD_KINDS: [RecordKind; 11] = [
    kind("application", "application", true),
    kind("notice", "notice", true),
    kind("payment_request", "payment", true),
    kind("repayment", "repayment", true),
    kind("budget", "budget", false),
    kind("programme", "programme", false),
    kind("base_rate", "base_rate", false),
    kind("delivery_rule", "delivery_rule", false),
    kind("municipality", "municipality", false),
    kind("register_edition", "register_edition", false),
    kind("webhook", "webhook", false),
];

const fn kind(log_name: &'static str, feed_name: &'static str, case_level: bool) -> RecordKind {
    RecordKind {
        log_name,
        feed_name,
        case_level,
    }
}

/// The kind of a log record type (`None`: the log has no such type).
pub fn record_kind(log_name: &str) -> Option<RecordKind> {
    RECORD_KINDS.into_iter().find(|k| k.log_name == log_name)
}

/// The log's actions and what the feed says happened. `payout` is the case's side of a
/// released payment (`application.paid_out`), `pay` the payment request's
/// (`payment.released`).
const PAST: [(&str, &str); 32] = [
    ("init", "created"),
    ("create", "created"),
    ("edit", "updated"),
    ("update", "updated"),
    ("change", "changed"),
    ("delete", "deleted"),
    ("import", "imported"),
    ("submit", "submitted"),
    ("start_review", "review_started"),
    ("request_info", "info_requested"),
    ("provide_info", "info_provided"),
    ("permit_early_start", "early_start_permitted"),
    ("approve", "approved"),
    ("amend", "amended"),
    ("reject", "rejected"),
    ("withdraw", "withdrawn"),
    ("payout", "paid_out"),
    ("submit_proof", "proof_submitted"),
    ("return_proof", "proof_returned"),
    ("close", "closed"),
    ("revoke", "revoked"),
    ("reclaim", "reclaimed"),
    ("prepare", "prepared"),
    ("sign", "signed"),
    ("request", "requested"),
    ("pay", "released"),
    ("record", "recorded"),
    ("dissolve", "dissolved"),
    ("rename", "renamed"),
    ("merge", "merged"),
    ("redeliver", "redelivered"),
    ("rotate_secret", "secret_rotated"),
];

/// The event type of an audit entry: `<feed name>.<past tense>`; an action this table does
/// not know keeps its own name (`application.<action>`), so that a new action is never
/// dropped from the feed (test: every action the write path uses is in the table).
pub fn event_type(record_type: &str, action: &str) -> String {
    let record = record_kind(record_type).map_or(record_type, |k| k.feed_name);
    let what = PAST
        .iter()
        .find(|(a, _)| *a == action)
        .map_or(action, |(_, p)| p);
    format!("{record}.{what}")
}

/// Every event type the feed knows, for validating a `types` filter or a subscription.
pub fn known_types() -> Vec<String> {
    let mut out = Vec::new();
    for k in RECORD_KINDS {
        for (_, p) in PAST {
            out.push(format!("{}.{p}", k.feed_name));
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Whether `pattern` (an event type, `<record>.*` or `*`) selects `event_type`.
pub fn type_matches(pattern: &str, event_type: &str) -> bool {
    match pattern.strip_suffix(".*") {
        _ if pattern == "*" => true,
        Some(record) => event_type
            .strip_prefix(record)
            .is_some_and(|rest| rest.starts_with('.')),
        None => pattern == event_type,
    }
}

/// Whether `pattern` is a type filter the feed accepts: `*`, `<record>.*` of a known record or
/// a known type.
pub fn valid_pattern(pattern: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    if let Some(record) = pattern.strip_suffix(".*") {
        return RECORD_KINDS.iter().any(|k| k.feed_name == record);
    }
    let Some((record, what)) = pattern.split_once('.') else {
        return false;
    };
    RECORD_KINDS.iter().any(|k| k.feed_name == record) && PAST.iter().any(|(_, p)| *p == what)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_read_as_the_issue_names_them() {
        assert_eq!(event_type("application", "submit"), "application.submitted");
        assert_eq!(event_type("notice", "sign"), "notice.signed");
        assert_eq!(event_type("payment_request", "pay"), "payment.released");
        assert_eq!(event_type("application", "payout"), "application.paid_out");
        assert_eq!(event_type("programme", "init"), "programme.created");
    }

    #[test]
    fn every_lifecycle_action_has_a_past_tense() {
        for a in crate::domain::lifecycle::Action::ALL {
            assert!(
                PAST.iter().any(|(x, _)| *x == a.as_str()),
                "{} has no event name",
                a.as_str()
            );
        }
    }

    #[test]
    fn patterns() {
        assert!(type_matches("*", "notice.signed"));
        assert!(type_matches("notice.*", "notice.signed"));
        assert!(!type_matches("notice.*", "notices.signed"));
        assert!(type_matches("notice.signed", "notice.signed"));
        assert!(!type_matches("notice.signed", "notice.prepared"));
        assert!(valid_pattern("payment.released"));
        assert!(valid_pattern("application.*"));
        assert!(!valid_pattern("application"));
        assert!(!valid_pattern("foo.*"));
        assert!(!valid_pattern("notice.exploded"));
    }
}
