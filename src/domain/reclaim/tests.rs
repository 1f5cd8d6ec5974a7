use super::*;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn m(s: &str) -> Money {
    s.parse().unwrap()
}

fn rates() -> Vec<BaseRate> {
    [
        ("2024-07-01", 337),
        ("2025-01-01", 227),
        ("2025-07-01", 127),
        ("2026-01-01", 127),
    ]
    .into_iter()
    .map(|(f, h)| BaseRate {
        valid_from: d(f),
        hundredths: h,
    })
    .collect()
}

fn payouts() -> Vec<(String, NaiveDate, Money)> {
    vec![
        ("A".into(), d("2025-03-03"), m("10000.00")),
        ("B".into(), d("2025-05-15"), m("5000.00")),
    ]
}

fn reclaim() -> Reclaim {
    Reclaim {
        notice: "R".into(),
        amount: m("12000.00"),
        interest_from: Some(d("2025-02-01")),
        paid_then: m("15000.00"),
    }
}

#[test]
fn a_reclaim_takes_the_latest_money_first_and_each_tranche_bears_interest_from_its_payout() {
    let t = tranches(&payouts(), &[reclaim()]);
    assert_eq!(t.len(), 2);
    // 15,000.00 paid, 12,000.00 reclaimed: 3,000.00 of payout A stays granted.
    assert_eq!((t[0].payment.as_str(), t[0].amount), ("A", m("7000.00")));
    assert_eq!(t[0].interest_from, Some(d("2025-03-03")));
    assert_eq!((t[1].payment.as_str(), t[1].amount), ("B", m("5000.00")));
    assert_eq!(t[1].interest_from, Some(d("2025-05-15")));
    // A second reclaim takes the money below the first one's.
    let second = Reclaim {
        notice: "S".into(),
        amount: m("2000.00"),
        interest_from: None,
        paid_then: m("15000.00"),
    };
    let t = tranches(&payouts(), &[reclaim(), second]);
    assert_eq!(t[2].payment, "A");
    assert_eq!(t[2].amount, m("2000.00"));
    assert_eq!(t[2].interest_from, None);
}

/// The worked example of issue 15's acceptance 3, computed by hand.
///
/// Paid: A 10,000.00 on 3 March 2025, B 5,000.00 on 15 May 2025. A revocation reclaims
/// 12,000.00 with `interest_from` 1 February 2025, before both payouts. The latest money
/// first: tranche A = 7,000.00 from 3 March, tranche B = 5,000.00 from 15 May. Base rate
/// 2.27 % until 30 June 2025, 1.27 % from 1 July 2025 (rate 7.27 %, then 6.27 %). One
/// repayment of 4,000.00 received on 1 September 2025; the account asked on 1 December 2025.
///
/// Interest in cents is principal × rate (hundredths) × days / 3,650,000.
///
/// Until the repayment (days before 1 September):
/// - A, 3 March to 30 June, 120 days at 7.27 %: 700,000 × 727 × 120 = 61,068,000,000.
///   A, 1 July to 31 August, 62 days at 6.27 %: 700,000 × 627 × 62 = 27,211,800,000.
///   Sum 88,279,800,000 → 24,186.2466 cents: 241.86 €, the fraction 900,000 carries on.
/// - B, 15 May to 30 June, 47 days at 7.27 %: 500,000 × 727 × 47 = 17,084,500,000.
///   B, 1 July to 31 August, 62 days at 6.27 %: 500,000 × 627 × 62 = 19,437,000,000.
///   Sum 36,521,500,000 → 10,005.8904 cents: 100.05 €, the fraction 3,250,000 carries on.
///
/// The repayment of 4,000.00 pays the interest first (§ 367 (1) BGB): 341.91 €; the rest,
/// 3,658.09 €, the oldest principal: A falls to 3,341.91 €, B stays 5,000.00 €.
///
/// From 1 September to 30 November, 91 days at 6.27 %:
/// - A: 900,000 + 334,191 × 627 × 91 = 900,000 + 19,067,935,887 = 19,068,835,887 →
///   5,224.33 cents: 52.24 €.
/// - B: 3,250,000 + 500,000 × 627 × 91 = 3,250,000 + 28,528,500,000 = 28,531,750,000 →
///   7,816.92 cents: 78.16 €.
///
/// On 1 December 2025: interest 241.86 + 52.24 + 100.05 + 78.16 = 472.31 €, of which 341.91 €
/// repaid: 130.40 € outstanding; principal 12,000.00 − 3,658.09 = 8,341.91 € outstanding.
#[test]
fn the_worked_example_two_tranches_one_repayment_across_a_base_rate_change() {
    let t = tranches(&payouts(), &[reclaim()]);
    let repayments = [(d("2025-09-01"), m("4000.00"))];
    let a = account(&t, &repayments, d("2025-12-01"), &rates()).unwrap();
    assert_eq!(a.principal, m("12000.00"));
    assert_eq!(a.repaid, m("4000.00"));
    assert_eq!(a.tranches[0].interest, m("294.10"));
    assert_eq!(a.tranches[1].interest, m("178.21"));
    assert_eq!(a.interest, m("472.31"));
    assert_eq!(
        a.tranches[0].interest_repaid.cents() + a.tranches[1].interest_repaid.cents(),
        34191
    );
    assert_eq!(a.tranches[0].principal_repaid, m("3658.09"));
    assert_eq!(a.tranches[1].principal_repaid, Money::ZERO);
    assert_eq!(a.interest_outstanding, m("130.40"));
    assert_eq!(a.principal_outstanding, m("8341.91"));
    assert_eq!(a.outstanding(), m("8472.31"));
    // A's periods: two before the repayment at 7,000.00, one after at 3,341.91.
    let p: Vec<_> = a.tranches[0]
        .periods
        .iter()
        .map(|p| (p.from, p.to, p.days, p.principal, p.rate_hundredths))
        .collect();
    assert_eq!(
        p,
        vec![
            (d("2025-03-03"), d("2025-06-30"), 120, m("7000.00"), 727),
            (d("2025-07-01"), d("2025-08-31"), 62, m("7000.00"), 627),
            (d("2025-09-01"), d("2025-11-30"), 91, m("3341.91"), 627),
        ]
    );
}

#[test]
fn no_interest_runs_before_a_payout_and_a_reclaim_without_interest_bears_none() {
    let mut r = reclaim();
    r.interest_from = Some(d("2024-01-01"));
    let t = tranches(&payouts(), &[r]);
    let a = account(&t, &[], d("2025-03-04"), &rates()).unwrap();
    // One day (3 March) of A only: 700,000 × 727 / 3,650,000 = 139.42 cents.
    assert_eq!(a.interest, m("1.39"));
    let mut r = reclaim();
    r.interest_from = None;
    let t = tranches(&payouts(), &[r]);
    let a = account(
        &t,
        &[(d("2025-06-01"), m("12000.00"))],
        d("2025-12-01"),
        &rates(),
    )
    .unwrap();
    assert_eq!(a.interest, Money::ZERO);
    assert_eq!(a.outstanding(), Money::ZERO);
}

#[test]
fn a_repayment_above_what_is_outstanding_and_an_unknown_base_rate_are_errors() {
    let t = tranches(&payouts(), &[reclaim()]);
    let e = account(
        &t,
        &[(d("2025-03-04"), m("13000.00"))],
        d("2025-03-05"),
        &rates(),
    );
    assert!(matches!(e, Err(AccountError::Overpaid { .. })), "{e:?}");
    let e = account(&t, &[], d("2027-02-01"), &rates());
    assert!(matches!(e, Err(AccountError::Interest(_))), "{e:?}");
}
