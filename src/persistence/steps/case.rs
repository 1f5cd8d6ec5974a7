//! What the writes of a case change: create, edit, transition. Each step takes the case as
//! loaded and the facts the write read, and returns the case after the change with its audit
//! entry, or the refusal. No I/O.

use std::collections::HashSet;

use chrono::NaiveDate;
use serde_json::{Value, json};

use crate::domain::application::{
    Content, Member, ProgrammeTerms, Violation, WHOLE_SHARE_BP, draft_violations,
    proof_before_grant_period, submission_violations, transition_input_violations,
};
use crate::domain::{Action, Money, Refusal, Status, transition};
use crate::persistence::applications::{
    ApplicationRow, Case, CostLineRow, FIRST_VERSION, MemberRow, RECORD_TYPE, TransitionRequest,
    WriteError, Writer, corrupt,
};
use crate::persistence::audit::{Entry, diff};
use crate::persistence::ledger;

/// The cost lines and members a content gives a case (a single case: the lead with the whole
/// share).
pub(crate) fn content_rows(id: &str, content: &Content) -> (Vec<CostLineRow>, Vec<MemberRow>) {
    let lines = content
        .cost_lines
        .iter()
        .enumerate()
        .map(|(i, l)| CostLineRow {
            application_id: id.to_owned(),
            line_no: i32::try_from(i + 1).unwrap_or(i32::MAX),
            category: l.category,
            description: l.description.clone(),
            amount_cents: l.amount,
            eligible: l.eligible,
            actual_cents: None,
        })
        .collect();
    let members: Vec<Member> = if content.joint {
        content.members.clone()
    } else {
        vec![Member {
            ags: content.lead.clone(),
            share_bp: WHOLE_SHARE_BP,
        }]
    };
    let members = members
        .iter()
        .enumerate()
        .map(|(i, m)| MemberRow {
            application_id: id.to_owned(),
            position: i32::try_from(i).unwrap_or(i32::MAX),
            ags: m.ags.as_str().to_owned(),
            kreis: m.ags.kreis().as_str().to_owned(),
            share_bp: m.share_bp,
            is_lead: m.ags == content.lead,
        })
        .collect();
    (lines, members)
}

/// The case with `content` (and `programme`) in place of its own.
fn with_content(before: &Case, programme: &str, content: &Content) -> Result<Case, WriteError> {
    let (total_cost, eligible) = content
        .totals()
        .amounts()
        .map_err(|v| WriteError::Invalid(vec![v]))?;
    let mut row = before.row.clone();
    row.programme_code = programme.to_owned();
    row.funding_object.clone_from(&content.funding_object);
    row.joint = content.joint;
    row.title.clone_from(&content.title);
    row.description.clone_from(&content.description);
    row.project_start = content.project_start;
    row.project_end = content.project_end;
    row.total_cost_cents = total_cost;
    row.eligible_cents = eligible;
    row.own_contribution_cents = content.own_contribution;
    row.third_party_cents = content.third_party_funds;
    row.requested_cents = content.requested_grant;
    row.contact.clone_from(&content.contact);
    row.postal_address.clone_from(&content.postal_address);
    let (lines, members) = content_rows(&row.id, content);
    Ok(Case {
        row,
        lines,
        members,
    })
}

/// The municipality keys a content names (lead and partners), sorted, once each.
pub(crate) fn member_keys(c: &Content) -> Vec<String> {
    let mut keys: Vec<String> = c
        .members
        .iter()
        .map(|m| m.ags.as_str().to_owned())
        .collect();
    keys.push(c.lead.as_str().to_owned());
    keys.sort();
    keys.dedup();
    keys
}

/// Rules a draft must meet to be stored: the programme and funding object exist, every
/// municipality is in the register (`known`: current or not, that is a submit rule), and
/// the structural rules of the domain.
pub(crate) fn draft_check(
    programme_code: &str,
    terms: Option<&ProgrammeTerms>,
    known: &HashSet<String>,
    c: &Content,
) -> Vec<Violation> {
    let mut out = draft_violations(c);
    match terms {
        None => out.push(Violation {
            field: "programme".into(),
            message: format!("no programme {programme_code}"),
        }),
        Some(p)
            if !p
                .funding_objects
                .iter()
                .any(|(o, _)| *o == c.funding_object) =>
        {
            out.push(Violation {
                field: "funding_object".into(),
                message: format!(
                    "{programme_code} has no funding object {:?} (it has {})",
                    c.funding_object,
                    p.funding_objects
                        .iter()
                        .map(|(o, _)| o.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })
        }
        Some(_) => {}
    }
    if !known.contains(c.lead.as_str()) {
        out.push(Violation {
            field: "lead_ags".into(),
            message: format!("{} is not in the municipality register", c.lead.as_str()),
        });
    }
    if c.joint {
        for (i, m) in c.members.iter().enumerate() {
            if !known.contains(m.ags.as_str()) {
                out.push(Violation {
                    field: format!("partners[{i}].ags"),
                    message: format!("{} is not in the municipality register", m.ags.as_str()),
                });
            }
        }
    }
    out
}

/// A new draft numbered `number`, with its audit entry (`create`).
pub(crate) fn create(
    id: String,
    number: String,
    programme: &str,
    content: &Content,
    w: &Writer<'_>,
) -> Result<(Case, Entry), WriteError> {
    let empty = Case {
        row: ApplicationRow {
            id,
            case_number: number,
            // The German year, as the case number's (Europe/Berlin).
            case_year: crate::domain::calendar::german_year(w.now),
            programme_code: programme.to_owned(),
            funding_object: String::new(),
            lead_ags: content.lead.as_str().to_owned(),
            joint: false,
            title: String::new(),
            description: String::new(),
            project_start: None,
            project_end: None,
            total_cost_cents: Money::ZERO,
            eligible_cents: Money::ZERO,
            own_contribution_cents: Money::ZERO,
            third_party_cents: Money::ZERO,
            requested_cents: Money::ZERO,
            granted_cents: None,
            paid_cents: Money::ZERO,
            status: Status::Draft,
            version: FIRST_VERSION,
            info_due: None,
            early_start_at: None,
            early_start_by: None,
            clock_seconds: 0,
            clock_since: None,
            submitted_at: None,
            created_by: w.subject.to_owned(),
            created_at: w.now,
            updated_at: w.now,
            reclaimed_cents: Money::ZERO,
            contact: None,
            postal_address: None,
        },
        lines: Vec::new(),
        members: Vec::new(),
    };
    let case = with_content(&empty, programme, content)?;
    let mut changes = diff(&json!({}), &case.snapshot());
    if let Value::Object(m) = &mut changes {
        m.insert(
            "case_number".into(),
            json!({"before": null, "after": case.row.case_number}),
        );
    }
    let entry = w
        .entry(
            RECORD_TYPE,
            &case.row.id,
            "create",
            None,
            Some(Status::Draft.as_str()),
            None,
            changes,
        )
        .with_state(Value::Null, ledger::case(&case));
    Ok((case, entry))
}

/// Only a draft is edited.
pub(crate) fn editable(before: &Case) -> Result<(), WriteError> {
    if before.row.status != Status::Draft {
        return Err(WriteError::Conflict(format!(
            "only a draft can be edited; this case is {} and changes only through its lifecycle",
            before.row.status
        )));
    }
    Ok(())
}

/// The draft after an edit that passed the draft check, with its audit entry; `None` when
/// nothing changes (no new version, no history entry).
pub(crate) fn edit(
    before: &Case,
    programme: &str,
    content: &Content,
    reason: Option<&str>,
    w: &Writer<'_>,
) -> Result<Option<(Case, Entry)>, WriteError> {
    if *content == before.content()? && programme == before.row.programme_code {
        return Ok(None);
    }
    let mut after = with_content(before, programme, content)?;
    after.row.version = before.row.version + 1;
    after.row.updated_at = w.now;
    let entry = w
        .entry(
            RECORD_TYPE,
            &before.row.id,
            "edit",
            None,
            None,
            reason,
            diff(&before.snapshot(), &after.snapshot()),
        )
        .with_state(ledger::case(before), ledger::case(&after));
    Ok(Some((after, entry)))
}

/// The proof of use names the actual expenditure of every cost line, each line once.
fn actual_cost_violations(
    action: Action,
    lines: usize,
    actual: Option<&[(i32, Money)]>,
) -> Vec<Violation> {
    let v = |m: String| Violation {
        field: "actual_costs".into(),
        message: m,
    };
    match (action, actual) {
        (Action::SubmitProof, None) => vec![v(
            "the proof of use states the actual expenditure of every cost line".into(),
        )],
        (Action::SubmitProof, Some(a)) => {
            let mut named: Vec<i32> = a.iter().map(|(l, _)| *l).collect();
            named.sort_unstable();
            let expected: Vec<i32> = (1..=i32::try_from(lines).unwrap_or(i32::MAX)).collect();
            let mut out = Vec::new();
            if named != expected {
                out.push(v(format!(
                    "name each of the cost lines 1..{lines} exactly once"
                )));
            }
            // Refused here, not by the table's CHECK (which would be a 500).
            for (i, (_, amount)) in a.iter().enumerate() {
                if amount.is_negative() {
                    out.push(Violation {
                        field: format!("actual_costs[{i}].amount"),
                        message: "must not be negative".into(),
                    });
                }
            }
            out
        }
        (_, Some(_)) => vec![v(format!(
            "only submit_proof carries actual costs, not {action}"
        ))],
        (_, None) => Vec::new(),
    }
}

/// What the submit rules read besides the case: the programme's terms and which of the
/// case's municipalities are current today.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SubmitFacts<'a> {
    pub terms: &'a ProgrammeTerms,
    pub current: &'a HashSet<String>,
}

/// A lifecycle action (`grant_start`: the grant period's start of the notice in force, for a
/// proof of use): the transition function decides (403 for the wrong role before
/// anything else), then the lead applicant, the `If-Match` version, the status, the actual
/// costs and, for a submission, the submit rules (`submit` must be given then); the clock and
/// the tracking move on.
pub(crate) fn transition_case(
    before: &Case,
    t: &TransitionRequest<'_>,
    submit: Option<SubmitFacts<'_>>,
    grant_start: Option<NaiveDate>,
    w: &Writer<'_>,
) -> Result<(Case, Entry), WriteError> {
    let today = w.today();
    let input = transition_input_violations(t.action, t.reason, t.response_due, today);
    if !input.is_empty() {
        return Err(WriteError::Invalid(input));
    }
    let from = before.row.status;
    let decided = transition(from, t.action, w.role);
    if let Err(refusal @ Refusal::Role { .. }) = decided {
        return Err(WriteError::Refused(refusal));
    }
    w.check_lead(before)?;
    if !t.expected.admits(before.row.version) {
        return Err(WriteError::Stale);
    }
    let to = decided.map_err(WriteError::Refused)?;
    let actual = actual_cost_violations(t.action, before.lines.len(), t.actual_costs);
    if !actual.is_empty() {
        return Err(WriteError::Invalid(actual));
    }
    if t.action == Action::SubmitProof
        && let Some(early) = proof_before_grant_period(grant_start, today)
    {
        return Err(WriteError::Invalid(vec![early]));
    }
    if t.action == Action::Submit {
        let facts = submit.ok_or_else(|| corrupt("submit rules without their facts"))?;
        let content = before.content()?;
        let violations = submission_violations(&content, facts.terms, facts.current, today);
        if !violations.is_empty() {
            return Err(WriteError::Invalid(violations));
        }
    }
    let track = before
        .row
        .tracking()
        .after(t.action, to, t.response_due, w.now, w.subject)
        .map_err(WriteError::Conflict)?;
    let mut after = before.clone();
    after.row.status = to;
    after.row.version = before.row.version + 1;
    after.row.updated_at = w.now;
    after.row.info_due = track.info_due;
    (after.row.early_start_at, after.row.early_start_by) = track.early_start.unzip();
    after.row.clock_seconds = track.clock.accumulated_secs;
    after.row.clock_since = track.clock.running_since;
    after.row.submitted_at = track.submitted_at;
    for (line, amount) in t.actual_costs.unwrap_or_default() {
        let stored = after.lines.iter_mut().find(|l| l.line_no == *line);
        match stored {
            Some(l) => l.actual_cents = Some(*amount),
            None => return Err(corrupt(format!("cost line {line} is not stored")).into()),
        }
    }
    let entry = w
        .entry(
            RECORD_TYPE,
            &before.row.id,
            t.action.as_str(),
            Some(from.as_str()),
            Some(to.as_str()),
            t.reason,
            diff(&before.snapshot(), &after.snapshot()),
        )
        .with_state(ledger::case(before), ledger::case(&after));
    Ok((after, entry))
}
