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

/// Since 1 January 2025 Thuringia has no administrative procedure code of its own text: § 1
/// Abs. 1 ThürVwVfG (Art. 1 of the Act of 2 July 2024, GVBl. S. 277) applies the federal
/// VwVfG. Before that day the ThürVwVfG had its own §§ 41, 49, 49a.
pub const FEDERAL_VWVFG_FROM: (i32, u32, u32) = (2025, 1, 1);

/// How a notice dated `on` cites a section of the administrative procedure code: "§ 41 Abs. 2
/// ThürVwVfG" before `FEDERAL_VWVFG_FROM`, "§ 41 Abs. 2 VwVfG i. V. m. § 1 Abs. 1 ThürVwVfG"
/// from then on.
pub fn vwvfg(section: &str, on: chrono::NaiveDate) -> String {
    let (y, m, d) = FEDERAL_VWVFG_FROM;
    match chrono::NaiveDate::from_ymd_opt(y, m, d) {
        Some(from) if on >= from => format!("{section} VwVfG i. V. m. § 1 Abs. 1 ThürVwVfG"),
        _ => format!("{section} ThürVwVfG"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notice_since_2025_cites_the_federal_code_through_the_thuringian_one() {
        let d = |s: &str| s.parse::<chrono::NaiveDate>().unwrap();
        assert_eq!(
            vwvfg("§ 49a Abs. 3", d("2024-12-31")),
            "§ 49a Abs. 3 ThürVwVfG"
        );
        assert_eq!(
            vwvfg("§ 49a Abs. 3", d("2025-01-01")),
            "§ 49a Abs. 3 VwVfG i. V. m. § 1 Abs. 1 ThürVwVfG"
        );
    }

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
