//! Decision notices (Bescheide): their kinds, when each may be prepared, which lifecycle
//! action signing one performs, and the grant a notice sets (partial approval, final notice).

use std::fmt;
use std::str::FromStr;

use super::grant::{FinancingType, GrantBasis, max_grant};
use super::{Action, Money, Status};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NoticeKind {
    /// Zuwendungsbescheid (full or partial).
    Grant,
    /// Ablehnungsbescheid.
    Rejection,
    /// Zustimmung zum vorzeitigen Vorhabenbeginn.
    EarlyStart,
    /// Änderungsbescheid: a new grant amount for an approved case.
    Amendment,
    /// Schlussbescheid after the proof of use.
    Final,
    /// Widerrufs-/Rücknahmebescheid with reclaim and interest.
    Revocation,
}

impl NoticeKind {
    pub const ALL: [NoticeKind; 6] = [
        NoticeKind::Grant,
        NoticeKind::Rejection,
        NoticeKind::EarlyStart,
        NoticeKind::Amendment,
        NoticeKind::Final,
        NoticeKind::Revocation,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::Grant => "grant",
            NoticeKind::Rejection => "rejection",
            NoticeKind::EarlyStart => "early_start",
            NoticeKind::Amendment => "amendment",
            NoticeKind::Final => "final",
            NoticeKind::Revocation => "revocation",
        }
    }

    /// The German title of the document.
    pub fn title_de(self) -> &'static str {
        match self {
            NoticeKind::Grant => "Zuwendungsbescheid",
            NoticeKind::Rejection => "Ablehnungsbescheid",
            NoticeKind::EarlyStart => "Zustimmung zum vorzeitigen Vorhabenbeginn",
            NoticeKind::Amendment => "Änderungsbescheid",
            NoticeKind::Final => "Schlussbescheid",
            NoticeKind::Revocation => "Widerrufsbescheid",
        }
    }

    /// The statuses of the case in which this kind of notice may be prepared and signed.
    pub fn allowed_in(self) -> &'static [Status] {
        match self {
            NoticeKind::Grant | NoticeKind::Rejection => &[Status::InReview],
            NoticeKind::EarlyStart => &[Status::Submitted, Status::InReview, Status::InfoRequested],
            NoticeKind::Amendment => &[Status::Approved],
            NoticeKind::Final => &[Status::ProofSubmitted],
            NoticeKind::Revocation => &[Status::Approved, Status::ProofSubmitted, Status::Closed],
        }
    }

    /// The lifecycle action signing performs; `None` leaves the status as it is.
    pub fn drives(self) -> Option<Action> {
        match self {
            NoticeKind::Grant => Some(Action::Approve),
            NoticeKind::Rejection => Some(Action::Reject),
            NoticeKind::Final => Some(Action::Close),
            NoticeKind::Revocation => Some(Action::Revoke),
            NoticeKind::EarlyStart | NoticeKind::Amendment => None,
        }
    }

    /// The notice number suffix letter: `B` (Bescheid) for every kind, numbered per case.
    pub fn number(case_number: &str, n: i64) -> String {
        format!("{case_number}-B{n}")
    }
}

impl fmt::Display for NoticeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for NoticeKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        NoticeKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown notice kind {s:?}"))
    }
}

/// A cost line as a notice decides it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecidedLine {
    pub applied: Money,
    /// What the notice recognises (≤ applied for a grant; actual, capped at approved, for a
    /// final notice).
    pub approved: Money,
    pub eligible: bool,
}

/// How a notice computes its grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GrantTerms {
    pub financing_type: FinancingType,
    pub rate_bp: Option<i32>,
    pub cap: Option<Money>,
    /// Festbetragsfinanzierung: the fixed sum (at most the eligible expenditure and the cap).
    pub fixed: Option<Money>,
}

/// The eligible expenditure and grant a notice sets: the sum of the approved amounts of the
/// eligible lines, and the grant by the financing type, rounded down to the cent.
pub fn decided_grant(
    lines: &[DecidedLine],
    terms: &GrantTerms,
    own_contribution: Money,
    third_party: Money,
) -> (Money, Money) {
    let eligible_cents: i64 = lines
        .iter()
        .filter(|l| l.eligible)
        .map(|l| l.approved.cents())
        .sum();
    let eligible = Money::from_cents(eligible_cents).unwrap_or(Money::ZERO);
    let ceiling = max_grant(&GrantBasis {
        financing_type: terms.financing_type,
        rate_bp: terms.rate_bp,
        cap: terms.cap,
        eligible,
        own_contribution,
        third_party,
    });
    let grant = match (terms.financing_type, terms.fixed) {
        (FinancingType::Festbetrag, Some(fixed)) => fixed.min(ceiling),
        _ => ceiling,
    };
    (eligible, grant)
}

/// The final grant after the proof of use: the actual eligible expenditure per line (never
/// more than the line's approved amount) under the same terms, and never more than the grant
/// in force. Money paid above it is to be repaid.
pub fn final_grant(
    approved: &[DecidedLine],
    actual: &[Money],
    terms: &GrantTerms,
    own_contribution: Money,
    third_party: Money,
    current_grant: Money,
) -> (Money, Money) {
    let lines: Vec<DecidedLine> = approved
        .iter()
        .zip(actual)
        .map(|(l, a)| DecidedLine {
            applied: l.approved,
            approved: (*a).min(l.approved),
            eligible: l.eligible,
        })
        .collect();
    let (eligible, grant) = decided_grant(&lines, terms, own_contribution, third_party);
    (eligible, grant.min(current_grant))
}

/// What is to be repaid when `paid` exceeds the grant now in force.
pub fn reclaim(paid: Money, grant: Money) -> Money {
    paid.checked_sub(grant)
        .filter(|d| !d.is_negative())
        .unwrap_or(Money::ZERO)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> Money {
        s.parse().unwrap()
    }

    fn line(applied: &str, approved: &str, eligible: bool) -> DecidedLine {
        DecidedLine {
            applied: m(applied),
            approved: m(approved),
            eligible,
        }
    }

    const ANTEIL_80: GrantTerms = GrantTerms {
        financing_type: FinancingType::Anteil,
        rate_bp: Some(8000),
        cap: None,
        fixed: None,
    };

    #[test]
    fn a_partial_approval_recomputes_the_grant_from_the_approved_lines() {
        // the API page's example: line 2 cut from 12500.50 to 10000.00 → 80 % of 50000.00
        let lines = [
            line("40000.00", "40000.00", true),
            line("12500.50", "10000.00", true),
            line("300.00", "300.00", false),
        ];
        let terms = GrantTerms {
            cap: Some(m("50000.00")),
            ..ANTEIL_80
        };
        let (eligible, grant) = decided_grant(&lines, &terms, m("10800.50"), Money::ZERO);
        assert_eq!((eligible, grant), (m("50000.00"), m("40000.00")));
    }

    #[test]
    fn fehlbedarf_and_festbetrag_notices_are_exact_to_the_cent() {
        let lines = [line("123456.78", "123456.78", true)];
        let fehlbedarf = GrantTerms {
            financing_type: FinancingType::Fehlbedarf,
            rate_bp: None,
            cap: None,
            fixed: None,
        };
        let (_, g) = decided_grant(&lines, &fehlbedarf, m("20000.00"), m("3456.77"));
        assert_eq!(g, m("100000.01"));
        let festbetrag = GrantTerms {
            financing_type: FinancingType::Festbetrag,
            rate_bp: None,
            cap: Some(m("500000.00")),
            fixed: Some(m("75000.00")),
        };
        let (_, g) = decided_grant(&lines, &festbetrag, Money::ZERO, Money::ZERO);
        assert_eq!(g, m("75000.00"));
    }

    #[test]
    fn lower_actual_costs_lower_the_final_grant_and_overpayment_is_reclaimed() {
        let approved = [
            line("40000.00", "40000.00", true),
            line("12500.50", "10000.00", true),
        ];
        // actual: 35000.00 and 11000.00 (above the approved 10000.00: counts as 10000.00)
        let (eligible, grant) = final_grant(
            &approved,
            &[m("35000.00"), m("11000.00")],
            &ANTEIL_80,
            Money::ZERO,
            Money::ZERO,
            m("40000.00"),
        );
        assert_eq!((eligible, grant), (m("45000.00"), m("36000.00")));
        assert_eq!(reclaim(m("40000.00"), grant), m("4000.00"));
        assert_eq!(reclaim(m("30000.00"), grant), Money::ZERO);
    }

    #[test]
    fn each_kind_drives_its_lifecycle_action() {
        for k in NoticeKind::ALL {
            if let Some(a) = k.drives() {
                assert_eq!(a.driving_notice().map(|n| n.as_str()), Some(k.as_str()));
            }
            assert_eq!(k.as_str().parse::<NoticeKind>(), Ok(k));
        }
        assert_eq!(NoticeKind::number("EGOV-2026-0042", 1), "EGOV-2026-0042-B1");
    }
}
