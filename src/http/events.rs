//! `GET /api/v1/events`: every change of every record the caller may read, in the feed's
//! order, gap-free and resumable (`persistence::events`, docs/events.md).

use actix_web::{HttpResponse, get, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::caller::Caller;
use super::pagination;
use crate::auth::policy;
use crate::domain::Role;
use crate::domain::event::{RECORD_KINDS, known_types, type_matches, valid_pattern};
use crate::error::{ApiError, Problem};
use crate::persistence::events::{self as repo, Event, FeedScope};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventQuery {
    /// Events after this cursor (a `next_cursor` or an item's `cursor`); without it, from
    /// the first event.
    pub after: Option<String>,
    /// Event types, comma-separated: `notice.signed`, `application.*` or `*`.
    #[param(example = "notice.signed,payment.*")]
    pub types: Option<String>,
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

/// One change of one record.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventDto {
    /// The event's id (stable; a webhook delivery of it carries it as `webhook-id`'s event).
    #[schema(example = "evt_1024")]
    pub id: String,
    /// `<record>.<what happened>`: `application.submitted`, `notice.signed`,
    /// `payment.released`, …
    #[serde(rename = "type")]
    #[schema(example = "notice.signed")]
    pub event_type: String,
    /// `application`, `notice`, `payment`, `repayment`, `budget`, `programme`, `base_rate`,
    /// `delivery_rule`, `municipality`, `register_edition` or `webhook`.
    pub record_type: String,
    pub record_id: String,
    /// The record's version after the change (its history's entry number).
    pub version: i64,
    pub occurred_at: DateTime<Utc>,
    /// The case the record belongs to (case-level records only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case_id: Option<String>,
    /// Resume after this event: pass as `after`.
    pub cursor: String,
    /// The record as its own GET showed it right after the change; `null` if the change
    /// removed it.
    pub data: serde_json::Value,
}

/// A page of the feed. `next_cursor` is always set: the place to continue from, also when
/// the page is empty (poll again with it later).
#[derive(Debug, Serialize, ToSchema)]
pub struct EventPage {
    pub items: Vec<EventDto>,
    pub next_cursor: String,
    /// Whether more events follow right now.
    pub has_more: bool,
}

/// The record types a role may read, as the log names them: a case's records for those
/// who read cases (an applicant only its municipalities'), budgets for those who read
/// budgets, the register's editions and the webhooks for operators, the reference data for
/// everyone.
fn readable(role: Role) -> Vec<&'static str> {
    RECORD_KINDS
        .iter()
        .filter(|k| match k.feed_name {
            _ if k.case_level => policy::READ_APPLICATIONS.contains(&role),
            "budget" => policy::READ_BUDGETS.contains(&role),
            "register_edition" => policy::MANAGE_REGISTER.contains(&role),
            "webhook" => policy::MANAGE_WEBHOOKS.contains(&role),
            _ => true,
        })
        .map(|k| k.log_name)
        .collect()
}

fn position(after: Option<&str>) -> Result<i64, ApiError> {
    let Some(c) = after else { return Ok(0) };
    let bad = || ApiError::validation("after", "is not a cursor of this feed");
    let text = pagination::decode(c).map_err(|_| bad())?;
    let p = text.strip_prefix("event:").ok_or_else(bad)?;
    p.parse::<i64>().ok().filter(|p| *p >= 0).ok_or_else(bad)
}

fn cursor(position: i64) -> String {
    pagination::encode(&format!("event:{position}"))
}

/// The types a `types` filter names (`None`: all).
fn types(filter: Option<&str>) -> Result<Option<Vec<String>>, ApiError> {
    let Some(f) = filter else { return Ok(None) };
    let patterns: Vec<&str> = f.split(',').map(str::trim).collect();
    if let Some(bad) = patterns.iter().find(|p| !valid_pattern(p)) {
        return Err(ApiError::validation(
            "types",
            format!("{bad:?} is not an event type (`notice.signed`, `application.*`, `*`)"),
        ));
    }
    if patterns.contains(&"*") {
        return Ok(None);
    }
    Ok(Some(
        known_types()
            .into_iter()
            .filter(|t| patterns.iter().any(|p| type_matches(p, t)))
            .collect(),
    ))
}

pub(crate) fn dto(e: Event) -> Result<EventDto, ApiError> {
    let feed_name = crate::domain::event::record_kind(&e.record_type)
        .map_or(e.record_type.clone(), |k| k.feed_name.to_owned());
    let position = e
        .position
        .ok_or_else(|| ApiError::Internal("an unpublished event in the feed".into()))?;
    Ok(EventDto {
        id: format!("evt_{}", e.id),
        event_type: e.event_type,
        record_type: feed_name,
        record_id: e.record_id,
        version: e.version,
        occurred_at: e.occurred_at.and_utc(),
        case_id: e.case_id,
        cursor: cursor(position),
        data: serde_json::from_str(&e.data)
            .map_err(|err| ApiError::Internal(format!("an event's data: {err}")))?,
    })
}

/// The event feed: each change of each record the caller may read, oldest first, in the
/// order in which the changes became final. Resume with `after=<next_cursor>`: nothing is
/// skipped and nothing repeated, whatever is written meanwhile.
#[utoipa::path(
    operation_id = "list_events",
    tag = "events",
    params(EventQuery),
    responses(
        (status = 200, body = EventPage),
        (status = 400, description = "a malformed parameter", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "a cursor this feed did not issue, an unknown type or a limit outside 1–500", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/events")]
pub async fn list(caller: Caller, query: web::Query<EventQuery>) -> Result<HttpResponse, ApiError> {
    caller.require(policy::ANY_ROLE)?;
    let q = query.into_inner();
    let after = position(q.after.as_deref())?;
    let types = types(q.types.as_deref())?;
    let limit = pagination::limit(q.limit)?;
    let page = caller
        .db(move |conn, caller| {
            repo::publish(conn)?;
            // The head first: every event up to it is final, so the page may end there.
            let upto = repo::head(conn)?;
            let record_types = readable(caller.principal.role);
            let scope = FeedScope {
                record_types: &record_types,
                municipalities: (caller.principal.role == Role::Applicant)
                    .then_some(caller.keys.as_slice()),
            };
            let rows = repo::feed(conn, after, upto, types.as_deref(), scope, limit + 1)?;
            Ok((rows, upto))
        })
        .await?;
    let (mut rows, upto) = page;
    let has_more = rows.len() > usize::try_from(limit).unwrap_or(usize::MAX);
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let next = match (has_more, rows.last()) {
        (true, Some(last)) => last.position.unwrap_or(after),
        _ => upto.max(after),
    };
    let items = rows.into_iter().map(dto).collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(EventPage {
        items,
        next_cursor: cursor(next),
        has_more,
    }))
}
