//! How much a grant may be (VV Nr. 2 zu § 44 LHO). One rule for the submit check (the
//! requested grant may not exceed it) and for notices (the granted amount is computed by it).
//!
//! Rounding: a computed grant is rounded **down** to the cent, never up, so that no one is
//! granted a fraction of a cent more than the rule allows.

use super::Money;
use super::names::string_enum;

/// Financing type (Finanzierungsart).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinancingType {
    /// Anteilfinanzierung: a rate of the eligible expenditure, capped.
    Anteil,
    /// Fehlbedarfsfinanzierung: what own and third-party funds leave uncovered, capped.
    Fehlbedarf,
    /// Festbetragsfinanzierung: a fixed sum; never more than the eligible expenditure.
    Festbetrag,
    /// Vollfinanzierung: the whole eligible expenditure (an exception), capped.
    Voll,
}

string_enum!(FinancingType, "financing type", {
    Anteil => "anteil",
    Fehlbedarf => "fehlbedarf",
    Festbetrag => "festbetrag",
    Voll => "voll",
});

/// What the rule is applied to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GrantBasis {
    pub financing_type: FinancingType,
    /// Funding rate in basis points (8000 = 80 %); used by `Anteil` (none means 100 %).
    pub rate_bp: Option<i32>,
    /// The maximum amount (Höchstbetrag), if any.
    pub cap: Option<Money>,
    pub eligible: Money,
    pub own_contribution: Money,
    pub third_party: Money,
}

/// The largest grant the rule allows, rounded down to the cent; never negative.
pub fn max_grant(b: &GrantBasis) -> Money {
    let eligible = b.eligible.cents().max(0);
    let cents = match b.financing_type {
        FinancingType::Anteil => {
            let bp = i128::from(b.rate_bp.unwrap_or(10_000).clamp(0, 10_000));
            // Non-negative operands: integer division is the floor.
            i64::try_from(i128::from(eligible) * bp / 10_000).unwrap_or(i64::MAX)
        }
        FinancingType::Fehlbedarf => {
            (eligible - b.own_contribution.cents() - b.third_party.cents()).max(0)
        }
        FinancingType::Festbetrag | FinancingType::Voll => eligible,
    };
    let cents = match b.cap {
        Some(cap) => cents.min(cap.cents().max(0)),
        None => cents,
    };
    Money::from_cents(cents).unwrap_or(Money::ZERO)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn m(s: &str) -> Money {
        s.parse().unwrap()
    }

    fn basis(
        ft: FinancingType,
        rate: Option<i32>,
        cap: Option<&str>,
        eligible: &str,
    ) -> GrantBasis {
        GrantBasis {
            financing_type: ft,
            rate_bp: rate,
            cap: cap.map(m),
            eligible: m(eligible),
            own_contribution: m("1000.00"),
            third_party: m("500.00"),
        }
    }

    #[test]
    fn anteil_grant_is_rounded_down_to_the_cent() {
        // 80 % of 52500.50 = 42000.40; 75 % of 0.03 = 0.0225 → 0.02
        let b = basis(FinancingType::Anteil, Some(8000), None, "52500.50");
        assert_eq!(max_grant(&b), m("42000.40"));
        let b = basis(FinancingType::Anteil, Some(7500), None, "0.03");
        assert_eq!(max_grant(&b), m("0.02"));
        let b = basis(FinancingType::Anteil, Some(3333), None, "100.00");
        assert_eq!(max_grant(&b), m("33.33"));
    }

    #[test]
    fn eighty_percent_of_123456_78_is_98765_42_or_the_cap() {
        let b = basis(FinancingType::Anteil, Some(8000), None, "123456.78");
        assert_eq!(max_grant(&b), m("98765.42"));
        let b = basis(
            FinancingType::Anteil,
            Some(8000),
            Some("50000.00"),
            "123456.78",
        );
        assert_eq!(max_grant(&b), m("50000.00"));
    }

    #[test]
    fn the_cap_limits_every_financing_type() {
        for ft in FinancingType::ALL {
            let b = basis(ft, Some(8000), Some("30000.00"), "100000.00");
            assert_eq!(max_grant(&b), m("30000.00"), "{ft}");
        }
    }

    #[test]
    fn fehlbedarf_covers_what_own_and_third_party_funds_leave_open() {
        let b = basis(FinancingType::Fehlbedarf, None, None, "10000.00");
        assert_eq!(max_grant(&b), m("8500.00"));
        let b = basis(FinancingType::Fehlbedarf, None, None, "1000.00");
        assert_eq!(max_grant(&b), Money::ZERO);
    }

    #[test]
    fn festbetrag_and_voll_never_exceed_the_eligible_expenditure() {
        let b = basis(
            FinancingType::Festbetrag,
            None,
            Some("500000.00"),
            "120000.00",
        );
        assert_eq!(max_grant(&b), m("120000.00"));
        let b = basis(FinancingType::Voll, None, None, "777.77");
        assert_eq!(max_grant(&b), m("777.77"));
    }

    proptest! {
        #[test]
        fn an_anteil_grant_is_never_more_than_rate_times_eligible(
            cents in 0i64..10_000_000_000_000, bp in 1i32..=10_000
        ) {
            let b = GrantBasis {
                financing_type: FinancingType::Anteil,
                rate_bp: Some(bp),
                cap: None,
                eligible: Money::from_cents(cents).unwrap(),
                own_contribution: Money::ZERO,
                third_party: Money::ZERO,
            };
            let g = max_grant(&b).cents();
            // g ≤ cents·bp/10000 < g + 1 cent, in exact integers
            prop_assert!(i128::from(g) * 10_000 <= i128::from(cents) * i128::from(bp));
            prop_assert!((i128::from(g) + 1) * 10_000 > i128::from(cents) * i128::from(bp));
        }
    }
}
