//! The demo history written through the API's own transactions: every recorded write
//! (`sim::Step`) of every case, the budgets and the programme changes, in the order of their
//! instants, each through the persistence function its handler calls, with the writer of
//! that instant. What the simulation computed in memory and what the transactions write are
//! then the same by construction (`tests/api/seed.rs` compares them with the bulk path).

use super::sim::{Op, Step};
use crate::domain::application::Content;
use crate::persistence::applications::{self, Case, TransitionRequest, WriteError};
use crate::persistence::programmes::{self, Actor, FundingObjectChange, ProgrammeEdit};
use crate::persistence::{AnyConnection, BoxError, Expected, budgets, notices, payments};

/// A refused write: the history asked for something the service refuses.
fn refused(step: &Step, e: WriteError) -> BoxError {
    format!(
        "replaying {:?} on {} at {} by {}: {e:?}",
        std::mem::discriminant(&step.op),
        step.record,
        step.at,
        step.actor.subject
    )
    .into()
}

/// Writes the steps in order of their instants (a stable sort: steps of one instant keep
/// the order in which they were made), inside the caller's transaction.
pub(crate) fn run(conn: &mut AnyConnection, mut steps: Vec<Step>) -> Result<(), BoxError> {
    steps.sort_by_key(|s| s.at);
    for step in &steps {
        write(conn, step).map_err(|e| match e {
            Replay::Refused(e) => refused(step, e),
            Replay::Other(e) => e,
        })?;
    }
    Ok(())
}

enum Replay {
    Refused(WriteError),
    Other(BoxError),
}

impl From<WriteError> for Replay {
    fn from(e: WriteError) -> Self {
        Replay::Refused(e)
    }
}

impl From<diesel::result::Error> for Replay {
    fn from(e: diesel::result::Error) -> Self {
        Replay::Refused(WriteError::Db(e))
    }
}

fn write(conn: &mut AnyConnection, step: &Step) -> Result<(), Replay> {
    let w = step.actor.writer(step.at, step.new_id.as_deref());
    let id = step.record.as_str();
    match &step.op {
        Op::Create { programme, content } => {
            let none = |_: &Case| String::new();
            applications::create(conn, programme, content, &w, None, &none)?;
        }
        Op::Edit { content, reason } => {
            let edit = |c: &mut Content, _: &mut String| {
                c.clone_from(content);
                Vec::new()
            };
            let expected = Expected::Version(step.version);
            applications::update_draft(conn, id, expected, &w, &edit, reason.as_deref())?;
        }
        Op::Transition {
            action,
            reason,
            response_due,
            actual,
        } => {
            let t = TransitionRequest {
                action: *action,
                reason: reason.as_deref(),
                response_due: *response_due,
                expected: Expected::Version(step.version),
                actual_costs: actual.as_deref(),
            };
            applications::apply_transition(conn, id, &w, &t)?;
        }
        Op::Prepare { kind, req } => {
            notices::prepare(conn, id, *kind, req, &w)?;
        }
        Op::Sign => {
            notices::sign(conn, id, &w, &crate::config::default_authority())?;
        }
        Op::Request { amount, reason } => {
            payments::request(conn, id, *amount, reason.as_deref(), &w)?;
        }
        Op::Payout => {
            payments::payout(conn, id, &w)?;
        }
        Op::Budget {
            programme,
            year,
            amount,
            reason,
        } => {
            // The history creates each budget once, before the first signing commits it.
            let create = budgets::Condition::Absent;
            budgets::put(conn, (programme, *year), create, *amount, Some(reason), &w)?;
        }
        Op::Programme {
            code,
            objects,
            reason,
        } => programme(conn, step, code, objects, reason)?,
    }
    Ok(())
}

/// An administrator opens or closes funding objects.
fn programme(
    conn: &mut AnyConnection,
    step: &Step,
    code: &str,
    objects: &[(String, bool)],
    reason: &str,
) -> Result<(), Replay> {
    let version = programmes::find(conn, code)?
        .map(|(p, _)| p.version)
        .ok_or_else(|| Replay::Other(format!("no programme {code}").into()))?;
    let changes: Vec<FundingObjectChange> = objects
        .iter()
        .map(|(code, fundable_now)| FundingObjectChange {
            code: code.clone(),
            description: None,
            fundable_now: *fundable_now,
        })
        .collect();
    let actor = Actor {
        subject: &step.actor.subject,
        role: step.actor.role.as_str(),
        now: step.at,
    };
    let edit = ProgrammeEdit {
        objects: changes,
        ..ProgrammeEdit::default()
    };
    let outcome = programmes::update(
        conn,
        code,
        Expected::Version(version),
        &edit,
        &actor,
        Some(reason),
    )?;
    match outcome {
        programmes::UpdateOutcome::Updated(..) => Ok(()),
        other => Err(Replay::Other(format!("{code}: {other:?}").into())),
    }
}
