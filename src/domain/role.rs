//! The roles a token can carry (JWT claim `role`).

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
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

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Applicant,
        Role::Caseworker,
        Role::Approver,
        Role::Ministry,
        Role::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Applicant => "applicant",
            Role::Caseworker => "caseworker",
            Role::Approver => "approver",
            Role::Ministry => "ministry",
            Role::Admin => "admin",
        }
    }

    /// Staff of the competence centre see every case.
    pub fn is_staff(self) -> bool {
        matches!(self, Role::Caseworker | Role::Approver)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown role {s:?}"))
    }
}
