//! Where a payment request (Mittelabruf) is: requested by the municipality, prepared by a
//! caseworker (sachliche Richtigkeit), paid out by an approver (Anordnung), or rejected.

use chrono::{Datelike, NaiveDate};

use super::Money;
use super::money::euros_text;
use super::names::string_enum;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaymentStatus {
    Requested,
    Prepared,
    Paid,
    Rejected,
}

string_enum!(PaymentStatus, "payment status", {
    Requested => "requested",
    Prepared => "prepared",
    Paid => "paid",
    Rejected => "rejected",
});

impl PaymentStatus {
    /// Not yet paid or rejected: the money is still asked for.
    pub const OPEN: [PaymentStatus; 2] = [PaymentStatus::Requested, PaymentStatus::Prepared];

    pub fn is_open(self) -> bool {
        PaymentStatus::OPEN.contains(&self)
    }
}

/// A signed notice that set the grant of a case (grant, amendment, final notice, revocation),
/// and who made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GrantMaker<'a> {
    /// The notice's number, for the refusal's wording.
    pub notice: &'a str,
    pub prepared_by: &'a str,
    pub signed_by: Option<&'a str>,
}

/// Four eyes across the money (Vier-Augen-Prinzip): who releases a payout has not prepared it,
/// and has neither prepared nor signed any notice that set the grant of its case, so that no
/// one both decides what is owed and orders it paid. `None` if `releaser` may release it; else
/// the refusal, naming the rule.
pub fn four_eyes_refusal(
    releaser: &str,
    payout_prepared_by: Option<&str>,
    grant_makers: &[GrantMaker<'_>],
) -> Option<String> {
    const RULE: &str = "four-eyes principle";
    if payout_prepared_by == Some(releaser) {
        return Some(format!(
            "{RULE}: a payout is released by someone other than the person who prepared it"
        ));
    }
    let made = grant_makers.iter().find_map(|g| {
        if g.signed_by == Some(releaser) {
            Some((g.notice, "signed"))
        } else if g.prepared_by == releaser {
            Some((g.notice, "prepared"))
        } else {
            None
        }
    })?;
    let (notice, what) = made;
    Some(format!(
        "{RULE}: a payout is released by someone who neither prepared nor signed a notice \
         that set the grant it pays out; you {what} the notice {notice}"
    ))
}

/// What the grant notice in force says about *when* its money may flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutTerms {
    /// The notice's number, for the refusal's wording.
    pub notice: String,
    /// The day the notice takes effect: its deemed delivery (§ 41 (2), § 43 (1) VwVfG).
    pub effective_on: NaiveDate,
    /// The grant per fiscal year (Haushaltsjahr), as the notice allocates it.
    pub allocations: Vec<(i32, Money)>,
}

/// Why a payout of `amount` on the German day `today` is not allowed yet, given what was
/// paid before, or `None` if it may be released.
///
/// - A grant notice takes effect when it is made known (§ 43 (1) VwVfG), for a posted notice
///   on its deemed delivery (§ 41 (2) VwVfG): nothing is paid out before that day.
/// - Annuality (§ 45 (1) LHO, in Thuringia ThürLHO): money allocated to a fiscal year is
///   spent in that year; what was not paid in its year may follow later (carried over,
///   § 19 ThürLHO), but what belongs to a later year waits for that year. So the paid total
///   up to the end of the current fiscal year never exceeds the allocations of that year and
///   the years before it.
pub fn payout_refusal(
    terms: &PayoutTerms,
    today: NaiveDate,
    paid_before: Money,
    amount: Money,
) -> Option<String> {
    if today < terms.effective_on {
        return Some(format!(
            "the notice {} takes effect on its deemed delivery, {} (§ 41 (2), § 43 (1) \
             VwVfG); the payout can be released from that day on",
            terms.notice, terms.effective_on
        ));
    }
    let year = today.year();
    let mut years: Vec<(i32, i64)> = terms
        .allocations
        .iter()
        .map(|(y, m)| (*y, m.cents()))
        .collect();
    years.sort_unstable();
    let allowed: i64 = years
        .iter()
        .filter(|(y, _)| *y <= year)
        .map(|(_, c)| c)
        .sum();
    let after = paid_before.cents().saturating_add(amount.cents());
    if after <= allowed {
        return None;
    }
    let mut cumulative = 0_i64;
    let needed = years.iter().find_map(|(y, c)| {
        cumulative += c;
        (cumulative >= after).then_some(*y)
    });
    let what = format!(
        "the notice {} allocates {} to the fiscal years up to {year}, of which {} is paid",
        terms.notice,
        euros_text(allowed),
        paid_before
    );
    Some(match needed {
        Some(y) => format!("{what}; paying {amount} more needs the fiscal year {y}"),
        None => format!("{what}; its allocations do not cover {amount} more in any year"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> Money {
        s.parse().unwrap()
    }

    fn d(y: i32, mo: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, mo, day).unwrap()
    }

    fn terms() -> PayoutTerms {
        PayoutTerms {
            notice: "EGOV-2026-0001-B01".into(),
            effective_on: d(2026, 12, 9),
            allocations: vec![(2028, m("10000.00")), (2027, m("30000.00"))],
        }
    }

    #[test]
    fn who_prepared_or_signed_a_grant_or_prepared_the_payout_does_not_release_it() {
        let makers = [
            GrantMaker {
                notice: "EGOV-2026-0001-B1",
                prepared_by: "carla",
                signed_by: Some("anna"),
            },
            GrantMaker {
                notice: "EGOV-2026-0001-B2",
                prepared_by: "carl",
                signed_by: Some("bernd"),
            },
        ];
        for (who, names) in [
            ("anna", "you signed the notice EGOV-2026-0001-B1"),
            ("bernd", "you signed the notice EGOV-2026-0001-B2"),
            ("carl", "you prepared the notice EGOV-2026-0001-B2"),
        ] {
            let r = four_eyes_refusal(who, Some("petra"), &makers).unwrap();
            assert!(r.starts_with("four-eyes principle"), "{r}");
            assert!(r.ends_with(names), "{r}");
        }
        let r = four_eyes_refusal("petra", Some("petra"), &makers).unwrap();
        assert!(r.contains("prepared it"), "{r}");
        assert_eq!(four_eyes_refusal("olga", Some("petra"), &makers), None);
        assert_eq!(four_eyes_refusal("anna", Some("petra"), &[]), None);
    }

    #[test]
    fn nothing_is_paid_before_the_notice_takes_effect() {
        let t = terms();
        let r = payout_refusal(&t, d(2026, 12, 8), Money::ZERO, m("1.00")).unwrap();
        assert!(r.contains("2026-12-09"), "{r}");
        // On the day of effect the date no longer stands in the way, the fiscal year does.
        let r = payout_refusal(&t, d(2026, 12, 9), Money::ZERO, m("1.00")).unwrap();
        assert!(r.contains("fiscal year 2027"), "{r}");
    }

    #[test]
    fn each_fiscal_year_pays_up_to_its_allocations_and_the_years_before() {
        let t = terms();
        let jan27 = d(2027, 1, 4);
        assert_eq!(payout_refusal(&t, jan27, Money::ZERO, m("30000.00")), None);
        let r = payout_refusal(&t, jan27, m("30000.00"), m("0.01")).unwrap();
        assert!(r.contains("30.000,00") || r.contains("30000.00"), "{r}");
        assert!(r.contains("fiscal year 2028"), "{r}");
        let jan28 = d(2028, 1, 3);
        assert_eq!(
            payout_refusal(&t, jan28, m("30000.00"), m("10000.00")),
            None
        );
        // What 2027 did not pay may follow in 2028.
        assert_eq!(payout_refusal(&t, jan28, m("5000.00"), m("35000.00")), None);
        let r = payout_refusal(&t, jan28, m("30000.00"), m("10000.01")).unwrap();
        assert!(r.contains("do not cover"), "{r}");
    }
}
