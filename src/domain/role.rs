//! The roles a token can carry (JWT claim `role`).

use super::names::string_enum;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A municipal IT lead; acts for the municipalities in its token's `ags` claim.
    Applicant,
    /// Staff of the competence centre.
    Caseworker,
    /// The signing authority (four-eyes principle).
    Approver,
    /// Finance-ministry controlling: aggregates only.
    Ministry,
    /// Operators: programmes, budgets, register.
    Admin,
}

string_enum!(Role, "role", {
    Applicant => "applicant",
    Caseworker => "caseworker",
    Approver => "approver",
    Ministry => "ministry",
    Admin => "admin",
});

impl Role {
    /// Staff of the competence centre see every case.
    pub fn is_staff(self) -> bool {
        matches!(self, Role::Caseworker | Role::Approver)
    }
}
