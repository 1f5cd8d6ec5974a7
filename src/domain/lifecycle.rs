//! The lifecycle of an application as a pure transition function:
//! `(status, action, role) → Result<status, Refusal>`. One exhaustive match; the persistence
//! layer stores `Status::as_str()` and applies the result with a conditional update.

use super::Role;
use super::names::string_enum;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Draft,
    Submitted,
    InReview,
    InfoRequested,
    Approved,
    Rejected,
    Withdrawn,
    ProofSubmitted,
    Closed,
    Revoked,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Submit,
    StartReview,
    RequestInfo,
    ProvideInfo,
    Withdraw,
    SubmitProof,
    ReturnProof,
    /// Records the permission to start the project before the decision (förderunschädlicher
    /// vorzeitiger Vorhabenbeginn). Not a funding promise; the status does not change.
    PermitEarlyStart,
    /// Signing a grant notice.
    Approve,
    /// Signing a rejection notice.
    Reject,
    /// Signing a final notice after proof of use.
    Close,
    /// Signing a revocation notice.
    Revoke,
}

/// The kind of notice whose signing drives a transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DrivingNotice {
    Grant,
    Rejection,
    Final,
    Revocation,
}

impl DrivingNotice {
    pub fn as_str(self) -> &'static str {
        match self {
            DrivingNotice::Grant => "grant",
            DrivingNotice::Rejection => "rejection",
            DrivingNotice::Final => "final",
            DrivingNotice::Revocation => "revocation",
        }
    }
}

/// Why a transition is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the role {role} may not {action}")]
    Role { role: Role, action: Action },
    #[error("{action} is not possible in status {status}")]
    State { status: Status, action: Action },
}

string_enum!(Status, "status", {
    Draft => "draft",
    Submitted => "submitted",
    InReview => "in_review",
    InfoRequested => "info_requested",
    Approved => "approved",
    Rejected => "rejected",
    Withdrawn => "withdrawn",
    ProofSubmitted => "proof_submitted",
    Closed => "closed",
    Revoked => "revoked",
});

string_enum!(Action, "action", {
    Submit => "submit",
    StartReview => "start_review",
    RequestInfo => "request_info",
    ProvideInfo => "provide_info",
    Withdraw => "withdraw",
    SubmitProof => "submit_proof",
    ReturnProof => "return_proof",
    PermitEarlyStart => "permit_early_start",
    Approve => "approve",
    Reject => "reject",
    Close => "close",
    Revoke => "revoke",
});

impl Status {
    /// No action leads out of a terminal status.
    pub fn is_terminal(self) -> bool {
        matches!(self, Status::Rejected | Status::Withdrawn | Status::Revoked)
    }

    /// Waiting for the competence centre's decision (counts into the pipeline).
    pub fn is_open(self) -> bool {
        matches!(
            self,
            Status::Submitted | Status::InReview | Status::InfoRequested
        )
    }
}

impl Action {
    /// The role that performs the action. Applicants act only on their own municipalities'
    /// cases; that is checked where the case is loaded, not here.
    pub fn role(self) -> Role {
        match self {
            Action::Submit | Action::ProvideInfo | Action::Withdraw | Action::SubmitProof => {
                Role::Applicant
            }
            Action::StartReview
            | Action::RequestInfo
            | Action::ReturnProof
            | Action::PermitEarlyStart => Role::Caseworker,
            Action::Approve | Action::Reject | Action::Close | Action::Revoke => Role::Approver,
        }
    }

    /// The notice whose signing performs this action, if it is not a plain transition.
    pub fn driving_notice(self) -> Option<DrivingNotice> {
        match self {
            Action::Approve => Some(DrivingNotice::Grant),
            Action::Reject => Some(DrivingNotice::Rejection),
            Action::Close => Some(DrivingNotice::Final),
            Action::Revoke => Some(DrivingNotice::Revocation),
            Action::Submit
            | Action::StartReview
            | Action::RequestInfo
            | Action::ProvideInfo
            | Action::Withdraw
            | Action::SubmitProof
            | Action::ReturnProof
            | Action::PermitEarlyStart => None,
        }
    }

    /// The statuses the action leads out of, and where it leads.
    fn edge(self, from: Status) -> Option<Status> {
        use Status as S;
        match (self, from) {
            (Action::Submit, S::Draft) => Some(S::Submitted),
            (Action::StartReview, S::Submitted) => Some(S::InReview),
            (Action::RequestInfo, S::InReview) => Some(S::InfoRequested),
            (Action::ProvideInfo, S::InfoRequested) => Some(S::InReview),
            (Action::Withdraw, S::Draft | S::Submitted | S::InReview | S::InfoRequested) => {
                Some(S::Withdrawn)
            }
            (Action::Approve, S::InReview) => Some(S::Approved),
            (Action::Reject, S::InReview) => Some(S::Rejected),
            (Action::SubmitProof, S::Approved) => Some(S::ProofSubmitted),
            (Action::ReturnProof, S::ProofSubmitted) => Some(S::Approved),
            (Action::Close, S::ProofSubmitted) => Some(S::Closed),
            (Action::Revoke, S::Approved | S::ProofSubmitted | S::Closed) => Some(S::Revoked),
            (Action::PermitEarlyStart, s @ (S::Submitted | S::InReview | S::InfoRequested)) => {
                Some(s)
            }
            _ => None,
        }
    }
}

/// The transition function. The role is checked first, so that a role that may never do an
/// action learns that, rather than something about the case's status.
pub fn transition(from: Status, action: Action, role: Role) -> Result<Status, Refusal> {
    if action.role() != role {
        return Err(Refusal::Role { role, action });
    }
    action.edge(from).ok_or(Refusal::State {
        status: from,
        action,
    })
}

/// `docs/state-machine.md`, generated from the transition function (a test keeps the
/// committed file current).
pub fn state_machine_markdown() -> String {
    let mut out = String::from(
        "# Application lifecycle\n\n\
         Generated from `src/domain/lifecycle.rs` by `state_machine_markdown()`; a test fails \
         when this file is stale (regenerate with `UPDATE_DOCS=1 cargo test state_machine`).\n\n\
         Actions marked *notice* are not posted to `/transitions`: they happen when an approver \
         signs the named notice.\n\n```mermaid\nstateDiagram-v2\n    [*] --> draft\n",
    );
    let mut rows = Vec::new();
    for from in Status::ALL {
        for action in Action::ALL {
            if let Ok(to) = transition(from, action, action.role()) {
                let via = match action.driving_notice() {
                    Some(n) => format!("{} notice", n.as_str()),
                    None => "`POST /transitions`".to_owned(),
                };
                out.push_str(&format!("    {from} --> {to}: {action}\n"));
                rows.push(format!(
                    "| `{from}` | `{action}` | `{}` | `{to}` | {via} |\n",
                    action.role()
                ));
            }
        }
    }
    for s in Status::ALL {
        if s.is_terminal() || s == Status::Closed {
            out.push_str(&format!("    {s} --> [*]\n"));
        }
    }
    out.push_str("```\n\n| from | action | role | to | how |\n|---|---|---|---|---|\n");
    for r in rows {
        out.push_str(&r);
    }
    out.push_str(
        "\nEvery other (status, action, role) combination is refused and changes nothing: \
         a role that never performs the action gets 403, an action impossible in the current \
         status 409.\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use Action as A;
    use Role as R;
    use Status as S;

    /// The lifecycle of the domain page, written out by hand.
    const ALLOWED: &[(Status, Action, Role, Status)] = &[
        (S::Draft, A::Submit, R::Applicant, S::Submitted),
        (S::Submitted, A::StartReview, R::Caseworker, S::InReview),
        (S::InReview, A::RequestInfo, R::Caseworker, S::InfoRequested),
        (S::InfoRequested, A::ProvideInfo, R::Applicant, S::InReview),
        (S::InReview, A::Approve, R::Approver, S::Approved),
        (S::InReview, A::Reject, R::Approver, S::Rejected),
        (S::Draft, A::Withdraw, R::Applicant, S::Withdrawn),
        (S::Submitted, A::Withdraw, R::Applicant, S::Withdrawn),
        (S::InReview, A::Withdraw, R::Applicant, S::Withdrawn),
        (S::InfoRequested, A::Withdraw, R::Applicant, S::Withdrawn),
        (S::Approved, A::SubmitProof, R::Applicant, S::ProofSubmitted),
        (S::ProofSubmitted, A::Close, R::Approver, S::Closed),
        (
            S::ProofSubmitted,
            A::ReturnProof,
            R::Caseworker,
            S::Approved,
        ),
        (S::Approved, A::Revoke, R::Approver, S::Revoked),
        (S::ProofSubmitted, A::Revoke, R::Approver, S::Revoked),
        (S::Closed, A::Revoke, R::Approver, S::Revoked),
        (
            S::Submitted,
            A::PermitEarlyStart,
            R::Caseworker,
            S::Submitted,
        ),
        (S::InReview, A::PermitEarlyStart, R::Caseworker, S::InReview),
        (
            S::InfoRequested,
            A::PermitEarlyStart,
            R::Caseworker,
            S::InfoRequested,
        ),
    ];

    #[test]
    fn every_status_action_role_triple_is_allowed_exactly_as_the_domain_says() {
        let mut checked = 0;
        for from in S::ALL {
            for action in A::ALL {
                for role in R::ALL {
                    let expected = ALLOWED
                        .iter()
                        .find(|(f, a, r, _)| *f == from && *a == action && *r == role)
                        .map(|(_, _, _, to)| *to);
                    let got = transition(from, action, role);
                    match expected {
                        Some(to) => assert_eq!(got, Ok(to), "{from} {action} {role}"),
                        None => assert!(got.is_err(), "{from} {action} {role} must be refused"),
                    }
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 10 * 12 * 5);
    }

    #[test]
    fn terminal_statuses_have_no_way_out() {
        for from in S::ALL.into_iter().filter(|s| s.is_terminal()) {
            for action in A::ALL {
                assert!(transition(from, action, action.role()).is_err());
            }
        }
    }

    #[test]
    fn a_wrong_role_is_named_before_the_status() {
        assert_eq!(
            transition(S::Withdrawn, A::Submit, R::Caseworker),
            Err(Refusal::Role {
                role: R::Caseworker,
                action: A::Submit
            })
        );
    }

    #[test]
    fn names_round_trip() {
        for s in S::ALL {
            assert_eq!(s.as_str().parse::<S>(), Ok(s));
        }
        for a in A::ALL {
            assert_eq!(a.as_str().parse::<A>(), Ok(a));
        }
    }

    #[test]
    fn state_machine_doc_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/state-machine.md");
        let generated = state_machine_markdown();
        if std::env::var("UPDATE_DOCS").is_ok() {
            std::fs::write(path, &generated).unwrap();
        }
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            committed == generated,
            "docs/state-machine.md is stale: UPDATE_DOCS=1 cargo test state_machine"
        );
    }
}
