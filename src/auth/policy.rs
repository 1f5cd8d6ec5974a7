//! Who may do what: one function per decision, so that handlers read as
//! "extract → authorize → call → respond" and the authorization matrix has one source.

use crate::domain::Role;

/// Every authenticated role may read the register and the programmes.
pub const ANY_ROLE: &[Role] = &Role::ALL;

/// Loading register editions is an operator's task.
pub const MANAGE_REGISTER: &[Role] = &[Role::Admin];

/// Programmes and budgets are maintained by operators.
pub const MANAGE_PROGRAMMES: &[Role] = &[Role::Admin];

/// The audit log is read by operators.
pub const READ_AUDIT: &[Role] = &[Role::Admin];
