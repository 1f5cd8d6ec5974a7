//! Which legal remedy lies against a notice, by the level of the issuing authority.
//!
//! § 68 Abs. 1 Satz 2 Nr. 1 VwGO: no preliminary proceedings (Widerspruch) against an act of
//! an oberste Landesbehörde (a ministry), unless a statute prescribes them; the action
//! (Klage) is then brought within one month of notification (§ 74 Abs. 1 Satz 2 VwGO) at the
//! court `courts::court_for` names (§ 52 Nr. 3 Satz 2 VwGO). Against an act of another
//! Landesbehörde the Widerspruch lies first. Sources: docs/law/issue-15-sources.md, items 7,
//! 9 and 11; no Thuringian statute re-imposing a Widerspruch for these notices was found.

use super::names::string_enum;

/// The level of the issuing authority (`AUTHORITY_LEVEL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AuthorityLevel {
    /// A Thuringian ministry, such as the finance ministry, where the competence centre sits
    /// since 1 January 2021.
    #[default]
    ObersteLandesbehoerde,
    /// Any other authority of the Land (the Landesverwaltungsamt, say).
    Landesbehoerde,
}

string_enum!(AuthorityLevel, "authority level", {
    ObersteLandesbehoerde => "oberste_landesbehoerde",
    Landesbehoerde => "landesbehoerde",
});

/// The remedy a notice's instructions name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Remedy {
    /// Objection to the issuing authority (§§ 68, 70 VwGO).
    Widerspruch,
    /// Action at the administrative court (§ 68 Abs. 1 Satz 2 Nr. 1, § 74 Abs. 1 Satz 2 VwGO).
    Klage,
}

impl AuthorityLevel {
    pub fn remedy(self) -> Remedy {
        match self {
            AuthorityLevel::ObersteLandesbehoerde => Remedy::Klage,
            AuthorityLevel::Landesbehoerde => Remedy::Widerspruch,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ministrys_notice_is_contested_by_action_another_authoritys_by_objection() {
        assert_eq!(AuthorityLevel::default().remedy(), Remedy::Klage);
        assert_eq!(AuthorityLevel::Landesbehoerde.remedy(), Remedy::Widerspruch);
        assert_eq!(
            "oberste_landesbehoerde".parse(),
            Ok(AuthorityLevel::ObersteLandesbehoerde)
        );
        assert_eq!("landesbehoerde".parse(), Ok(AuthorityLevel::Landesbehoerde));
        assert!("ministerium".parse::<AuthorityLevel>().is_err());
    }
}
