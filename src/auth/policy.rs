//! Who may do what: one function per decision, so that handlers read as
//! "extract → authorize → call → respond" and the authorization matrix has one source.

use crate::domain::Role;

/// Every authenticated role may read the register and the programmes.
pub const ANY_ROLE: &[Role] = &Role::ALL;

/// Loading register editions is an operator's task.
pub const MANAGE_REGISTER: &[Role] = &[Role::Admin];

/// Programmes and budgets are maintained by operators.
pub const MANAGE_PROGRAMMES: &[Role] = &[Role::Admin];

/// Webhook subscriptions and their deliveries are managed by operators.
pub const MANAGE_WEBHOOKS: &[Role] = &[Role::Admin];

/// The audit log is read by operators.
pub const READ_AUDIT: &[Role] = &[Role::Admin];

/// Cases are read by their applicants (own municipalities only, scoped in the query) and by
/// the competence centre; the ministry reads aggregates, operators the audit log.
pub const READ_APPLICATIONS: &[Role] = &[Role::Applicant, Role::Caseworker, Role::Approver];

/// Applicants open cases for the municipalities in their token.
pub const CREATE_APPLICATIONS: &[Role] = &[Role::Applicant];

/// Drafts are edited by their lead applicant.
pub const EDIT_DRAFTS: &[Role] = &[Role::Applicant];

/// Notices are prepared by the competence centre's caseworkers.
pub const PREPARE_NOTICES: &[Role] = &[Role::Caseworker];

/// Notices are signed by approvers (never by the person who prepared them; checked per
/// notice).
pub const SIGN_NOTICES: &[Role] = &[Role::Approver];

/// Budgets are read by staff, the ministry and operators; cases are not shown with them.
pub const READ_BUDGETS: &[Role] = &[
    Role::Admin,
    Role::Ministry,
    Role::Caseworker,
    Role::Approver,
];

/// Applicants request payments for their cases.
pub const REQUEST_PAYMENTS: &[Role] = &[Role::Applicant];

/// A caseworker prepares a payout, an approver releases it (four eyes; checked per request).
pub const PAY_OUT: &[Role] = &[Role::Caseworker, Role::Approver];

/// A caseworker records money received back on a reclaim.
pub const RECORD_REPAYMENTS: &[Role] = &[Role::Caseworker];

/// A caseworker turns a payment request down.
pub const REJECT_PAYMENTS: &[Role] = &[Role::Caseworker];

/// Reports (aggregates, no personal data) are read by the ministry, the competence centre and
/// operators; applicants see their own cases instead.
pub const READ_REPORTS: &[Role] = &[
    Role::Ministry,
    Role::Caseworker,
    Role::Approver,
    Role::Admin,
];
