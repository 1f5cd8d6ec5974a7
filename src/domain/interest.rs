//! Interest on a reclaim (§ 49a (3) VwVfG): five percentage points above the base rate
//! (Basiszinssatz, § 247 BGB) per year, from the day the notice lost effect. The base rate
//! changes only on 1 January and 1 July; its periods are data. Computed day by day per
//! period, actual/365, exactly (integer arithmetic), and rounded **down** to the cent once at
//! the end. A day whose base rate is not known is refused, never guessed.

use chrono::{Datelike, NaiveDate};

use super::Money;

/// Percentage points above the base rate (§ 49a (3) VwVfG), in hundredths of a percent.
pub const SURCHARGE_HUNDREDTHS: i32 = 500;

/// A base rate from a day on, in hundredths of a percent (`-88` = −0.88 %, `127` = 1.27 %).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BaseRate {
    pub valid_from: NaiveDate,
    pub hundredths: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InterestError {
    #[error("the base rate for {0} is not known; an administrator must add it first")]
    UnknownBaseRate(NaiveDate),
    #[error("the interest period ends before it begins")]
    Backwards,
    #[error("the amount of interest is out of range")]
    Overflow,
}

/// `"1.27"` → `127`, `"-0.88"` → `-88`: a percentage with at most two decimals, between −20
/// and 20.
pub fn parse_percent(s: &str) -> Result<i32, String> {
    use super::decimal::{DecimalError, parse_scaled};
    let h = parse_scaled(s, 2).map_err(|e| match e {
        DecimalError::Syntax => "must be a decimal string like \"1.27\"".to_owned(),
        DecimalError::Scale(_) => "at most two decimals".to_owned(),
        DecimalError::Range => "out of range".to_owned(),
        DecimalError::NegativeZero => e.to_string(),
    })?;
    let h = i32::try_from(h).map_err(|_| "out of range".to_owned())?;
    if !(-2000..=2000).contains(&h) {
        return Err("must lie between -20 and 20".into());
    }
    Ok(h)
}

/// `127` → `"1.27"`, `-88` → `"-0.88"`.
pub fn percent_string(hundredths: i32) -> String {
    rust_decimal::Decimal::new(i64::from(hundredths), 2).to_string()
}

/// Base rates change only on 1 January and 1 July (§ 247 (1) BGB).
pub fn is_change_day(d: NaiveDate) -> bool {
    d.day() == 1 && (d.month() == 1 || d.month() == 7)
}

/// The last day the newest base rate is known to hold: the end of its half-year (the rate
/// changes only on 1 January and 1 July, and the next one is announced shortly before).
pub fn known_until(rates: &[BaseRate]) -> Option<NaiveDate> {
    let last = rates.iter().map(|r| r.valid_from).max()?;
    if last.month() <= 6 {
        NaiveDate::from_ymd_opt(last.year(), 6, 30)
    } else {
        NaiveDate::from_ymd_opt(last.year(), 12, 31)
    }
}

/// One stretch of days at one rate, for the worked example in a notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InterestPeriod {
    pub from: NaiveDate,
    /// Inclusive.
    pub to: NaiveDate,
    pub days: i64,
    /// Base rate + surcharge, hundredths of a percent.
    pub rate_hundredths: i32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interest {
    pub amount: Money,
    pub periods: Vec<InterestPeriod>,
}

/// Interest on `principal` for every day from `from` (the day the notice lost effect, counted)
/// up to but not including `as_of`, rounded down once: one tranche of `reclaim::account`
/// without repayments (the one rule of interest). A negative total rate counts as zero.
pub fn reclaim_interest(
    principal: Money,
    from: NaiveDate,
    as_of: NaiveDate,
    rates: &[BaseRate],
) -> Result<Interest, InterestError> {
    use super::reclaim::{AccountError, Tranche, account};
    if as_of < from {
        return Err(InterestError::Backwards);
    }
    let tranche = Tranche {
        notice: String::new(),
        payment: String::new(),
        paid_on: from,
        amount: principal,
        interest_from: Some(from),
    };
    let a = account(&[tranche], &[], as_of, rates).map_err(|e| match e {
        AccountError::Interest(i) => i,
        AccountError::Overpaid { .. } => InterestError::Overflow,
    })?;
    let periods = a
        .tranches
        .first()
        .map(|t| {
            t.periods
                .iter()
                .map(|p| InterestPeriod {
                    from: p.from,
                    to: p.to,
                    days: p.days,
                    rate_hundredths: p.rate_hundredths,
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Interest {
        amount: a.interest,
        periods,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }
    fn m(s: &str) -> Money {
        s.parse().unwrap()
    }

    /// The base rates of § 247 BGB as the Bundesbank publishes them (the rows of the seeded
    /// `base_rates` migration).
    fn rates() -> Vec<BaseRate> {
        [
            ("2016-07-01", -88),
            ("2023-01-01", 162),
            ("2023-07-01", 312),
            ("2024-01-01", 362),
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

    #[test]
    fn interest_over_two_base_rate_periods_is_exact_to_the_cent() {
        // 10,000.00 € from 2024-05-15 to 2024-08-14 (exclusive):
        // 2024-05-15..2024-06-30: 47 days at 3.62 + 5 = 8.62 % → 10000 × 0.0862 × 47/365 = 110.9972…
        // 2024-07-01..2024-08-13: 44 days at 3.37 + 5 = 8.37 % → 10000 × 0.0837 × 44/365 = 100.8986…
        // sum 211.8958… → 211.89
        let i =
            reclaim_interest(m("10000.00"), d("2024-05-15"), d("2024-08-14"), &rates()).unwrap();
        assert_eq!(i.amount, m("211.89"));
        assert_eq!(i.periods.len(), 2);
        assert_eq!((i.periods[0].days, i.periods[0].rate_hundredths), (47, 862));
        assert_eq!((i.periods[1].days, i.periods[1].rate_hundredths), (44, 837));
    }

    #[test]
    fn a_negative_base_rate_lowers_the_rate_below_five_percent() {
        // 2022: 365 days at −0.88 + 5 = 4.12 % of 1000.00 = 41.20
        let i = reclaim_interest(m("1000.00"), d("2022-01-01"), d("2023-01-01"), &rates()).unwrap();
        assert_eq!(i.amount, m("41.20"));
    }

    #[test]
    fn a_day_without_a_known_base_rate_is_refused() {
        // the newest rate (2026-01-01) holds until 2026-06-30
        assert_eq!(known_until(&rates()), Some(d("2026-06-30")));
        assert!(reclaim_interest(m("1.00"), d("2026-01-01"), d("2026-07-01"), &rates()).is_ok());
        assert_eq!(
            reclaim_interest(m("1.00"), d("2026-01-01"), d("2026-07-02"), &rates()),
            Err(InterestError::UnknownBaseRate(d("2026-07-01")))
        );
        assert_eq!(
            reclaim_interest(m("1.00"), d("2016-06-30"), d("2016-08-01"), &rates()),
            Err(InterestError::UnknownBaseRate(d("2016-06-30")))
        );
    }

    #[test]
    fn percentages_parse_to_hundredths_and_back() {
        assert_eq!(parse_percent("1.27"), Ok(127));
        assert_eq!(parse_percent("-0.88"), Ok(-88));
        assert_eq!(percent_string(-88), "-0.88");
        assert_eq!(percent_string(127), "1.27");
        assert!(parse_percent("1.275").is_err());
        assert!(parse_percent("25").is_err());
        assert!(parse_percent("x").is_err());
        for bad in ["1e0", ".5", "1_0", "-0.00", "+1.27"] {
            assert!(parse_percent(bad).is_err(), "{bad:?}");
        }
        assert!(is_change_day(d("2026-07-01")) && !is_change_day(d("2026-07-02")));
    }

    #[test]
    fn no_days_no_interest() {
        let i = reclaim_interest(m("5000.00"), d("2025-03-01"), d("2025-03-01"), &rates()).unwrap();
        assert_eq!(i.amount, Money::ZERO);
        assert!(
            reclaim_interest(m("5000.00"), d("2025-03-02"), d("2025-03-01"), &rates()).is_err()
        );
    }

    proptest! {
        #[test]
        fn interest_is_additive_up_to_the_rounding_of_each_part(
            cents in 0i64..100_000_000_000, a in 0i64..600, b in 0i64..600
        ) {
            let p = Money::from_cents(cents).unwrap();
            let start = d("2023-01-01");
            let mid = start + chrono::Duration::days(a);
            let end = mid + chrono::Duration::days(b);
            let whole = reclaim_interest(p, start, end, &rates()).unwrap().amount.cents();
            let first = reclaim_interest(p, start, mid, &rates()).unwrap().amount.cents();
            let second = reclaim_interest(p, mid, end, &rates()).unwrap().amount.cents();
            // each part is floored once: the whole is at most one cent above the parts' sum
            prop_assert!(whole >= first + second && whole <= first + second + 1);
        }
    }
}
