//! A reclaim's account over time (§ 49a VwVfG): which paid money is to be repaid, from when
//! it bears interest, and how repayments are credited.
//!
//! - **Tranches.** What a notice reclaims is money that was paid out. The reclaims of a case
//!   take the latest money first: a notice reclaiming `R` when `P` was paid covers the payouts
//!   between `P − R` and `P` (less what earlier reclaims took). Each such part of a payout is a
//!   tranche with its own payout day.
//! - **Interest (§ 49a (3) VwVfG)**: five points above the base rate, on the amount to be
//!   repaid, from the day the grant lost effect (`interest_from`), but never before the
//!   tranche was paid out: before that day there was nothing to repay. Day-exact per base-rate
//!   period, actual/365, integer arithmetic (`interest`), per tranche.
//! - **Crediting (§ 367 (1) BGB, applied by analogy)**: a repayment pays the interest accrued
//!   until its day first, then the principal; among the principals those that bear interest
//!   first, the oldest first (§ 366 (2) BGB: the more burdensome, then the older debt). The
//!   rule is dated data (`CREDITING_RULES`): its application to § 49a claims rests on the
//!   commentary (docs/law/issue-15-sources.md, item 5); no court decision was verified.
//! - **Rounding.** Interest accrued up to a repayment is rounded down to the cent when it is
//!   credited (the fraction carries on); at `as_of` once more. Nobody pays a fraction of a cent
//!   more than accrued.

use chrono::NaiveDate;

use super::Money;
use super::interest::{BaseRate, InterestError, SURCHARGE_HUNDREDTHS, known_until};

/// How a repayment is credited, as dated data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crediting {
    /// § 367 (1) BGB: costs, then interest, then principal.
    InterestFirst,
}

/// The crediting rules from a day on, with their source.
pub const CREDITING_RULES: [(&str, Crediting, &str); 1] = [(
    "1900-01-01",
    Crediting::InterestFirst,
    "§ 367 Abs. 1 BGB entsprechend (Kosten, Zinsen, Hauptleistung); § 366 Abs. 2 BGB for the \
     order of several principals",
)];

/// A reclaim notice as the account needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reclaim {
    pub notice: String,
    pub amount: Money,
    /// `None`: the reclaim bears no interest (none was claimed).
    pub interest_from: Option<NaiveDate>,
    /// What had been paid out when the notice was signed.
    pub paid_then: Money,
}

/// A part of a payout that a reclaim covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tranche {
    pub notice: String,
    pub payment: String,
    pub paid_on: NaiveDate,
    pub amount: Money,
    /// The later of the reclaim's `interest_from` and `paid_on`; `None`: no interest.
    pub interest_from: Option<NaiveDate>,
}

/// Splits the reclaims over the payouts (id, day, amount; in the order they were paid), the
/// latest money first.
pub fn tranches(payouts: &[(String, NaiveDate, Money)], reclaims: &[Reclaim]) -> Vec<Tranche> {
    let mut out = Vec::new();
    let mut taken = 0_i64;
    for r in reclaims {
        let high = r.paid_then.cents() - taken;
        let low = high - r.amount.cents();
        taken += r.amount.cents();
        let mut cum = 0_i64;
        for (id, day, amount) in payouts {
            let (from, to) = (cum, cum + amount.cents());
            cum = to;
            let overlap = to.min(high) - from.max(low);
            if overlap <= 0 {
                continue;
            }
            out.push(Tranche {
                notice: r.notice.clone(),
                payment: id.clone(),
                paid_on: *day,
                amount: Money::from_cents(overlap).unwrap_or(Money::ZERO),
                interest_from: r.interest_from.map(|f| f.max(*day)),
            });
        }
    }
    out
}

/// One stretch of days at one rate on one tranche's outstanding principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: NaiveDate,
    /// Inclusive.
    pub to: NaiveDate,
    pub days: i64,
    pub principal: Money,
    /// Base rate + surcharge, hundredths of a percent.
    pub rate_hundredths: i32,
}

/// A tranche's account on the day asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrancheAccount {
    pub tranche: Tranche,
    pub principal_repaid: Money,
    pub interest: Money,
    pub interest_repaid: Money,
    pub periods: Vec<Period>,
}

/// The whole account on the day asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub tranches: Vec<TrancheAccount>,
    pub principal: Money,
    pub repaid: Money,
    pub principal_outstanding: Money,
    pub interest: Money,
    pub interest_outstanding: Money,
}

impl Account {
    /// What may still be repaid: principal and interest outstanding.
    pub fn outstanding(&self) -> Money {
        Money::from_cents(self.principal_outstanding.cents() + self.interest_outstanding.cents())
            .unwrap_or(Money::ZERO)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    #[error(transparent)]
    Interest(#[from] InterestError),
    #[error("the repayment of {received_on} exceeds what was outstanding by {excess}")]
    Overpaid {
        received_on: NaiveDate,
        excess: Money,
    },
}

/// Cents × hundredths × days per cent of interest: 100 (percent) × 100 (hundredths) × 365.
const DENOMINATOR: i128 = 100 * 100 * 365;

struct Running {
    outstanding: i64,
    numerator: i128,
    interest: i64,
    interest_repaid: i64,
    principal_repaid: i64,
    periods: Vec<Period>,
}

/// The account of `tranches` with `repayments` (day, amount) credited, on `as_of` (interest
/// for the days before it). Every day with interest needs a known base rate.
pub fn account(
    tranches: &[Tranche],
    repayments: &[(NaiveDate, Money)],
    as_of: NaiveDate,
    rates: &[BaseRate],
) -> Result<Account, AccountError> {
    let mut rates = rates.to_vec();
    rates.sort_by_key(|r| r.valid_from);
    let mut run: Vec<Running> = tranches
        .iter()
        .map(|t| Running {
            outstanding: t.amount.cents(),
            numerator: 0,
            interest: 0,
            interest_repaid: 0,
            principal_repaid: 0,
            periods: Vec::new(),
        })
        .collect();
    let mut repayments = repayments.to_vec();
    repayments.sort_by_key(|(d, _)| *d);
    let mut day = tranches
        .iter()
        .filter_map(|t| t.interest_from)
        .min()
        .unwrap_or(as_of);
    for (received_on, amount) in repayments.iter().filter(|(d, _)| *d <= as_of) {
        if *received_on > day {
            accrue(tranches, &mut run, day, *received_on, &rates)?;
            day = *received_on;
        }
        settle(&mut run);
        credit(tranches, &mut run, *received_on, *amount)?;
    }
    if as_of > day {
        accrue(tranches, &mut run, day, as_of, &rates)?;
    }
    settle(&mut run);
    Ok(summary(tranches, run, &repayments, as_of))
}

/// Interest for the days `from..until` on every tranche's outstanding principal, per base-rate
/// period.
fn accrue(
    tranches: &[Tranche],
    run: &mut [Running],
    from: NaiveDate,
    until: NaiveDate,
    rates: &[BaseRate],
) -> Result<(), InterestError> {
    let Some(last) = until.pred_opt() else {
        return Err(InterestError::Overflow);
    };
    for (t, r) in tranches.iter().zip(run.iter_mut()) {
        let Some(start) = t.interest_from.map(|s| s.max(from)) else {
            continue;
        };
        if start > last || r.outstanding == 0 {
            continue;
        }
        for (begin, end, rate) in rate_periods(rates, start, last)? {
            let days = (end - begin).num_days() + 1;
            r.numerator += i128::from(r.outstanding) * i128::from(rate) * i128::from(days);
            r.periods.push(Period {
                from: begin,
                to: end,
                days,
                principal: Money::from_cents(r.outstanding).unwrap_or(Money::ZERO),
                rate_hundredths: rate,
            });
        }
    }
    Ok(())
}

/// The base-rate periods covering `first..=last`, with their total rates (never below 0).
fn rate_periods(
    rates: &[BaseRate],
    first: NaiveDate,
    last: NaiveDate,
) -> Result<Vec<(NaiveDate, NaiveDate, i32)>, InterestError> {
    let until = known_until(rates).ok_or(InterestError::UnknownBaseRate(first))?;
    if rates.first().is_none_or(|r| r.valid_from > first) {
        return Err(InterestError::UnknownBaseRate(first));
    }
    if last > until {
        return Err(InterestError::UnknownBaseRate(
            until.succ_opt().ok_or(InterestError::Overflow)?,
        ));
    }
    let mut out = Vec::new();
    for (i, r) in rates.iter().enumerate() {
        let end = match rates.get(i + 1) {
            Some(next) => next.valid_from.pred_opt().ok_or(InterestError::Overflow)?,
            None => until,
        };
        let (begin, end) = (r.valid_from.max(first), end.min(last));
        if begin <= end {
            out.push((begin, end, (r.hundredths + SURCHARGE_HUNDREDTHS).max(0)));
        }
    }
    Ok(out)
}

/// Turns the whole cents of accrued interest into interest owed; the fraction carries on.
fn settle(run: &mut [Running]) {
    for r in run {
        let cents = r.numerator.div_euclid(DENOMINATOR);
        r.numerator -= cents * DENOMINATOR;
        r.interest += i64::try_from(cents).unwrap_or(i64::MAX);
    }
}

/// § 367 (1) BGB: a repayment pays interest first, then principal; interest-bearing
/// principals before others, the oldest first (§ 366 (2) BGB).
fn credit(
    tranches: &[Tranche],
    run: &mut [Running],
    received_on: NaiveDate,
    amount: Money,
) -> Result<(), AccountError> {
    let mut left = amount.cents();
    let mut order: Vec<usize> = (0..tranches.len()).collect();
    order.sort_by_key(|&i| (tranches[i].interest_from.is_none(), tranches[i].paid_on, i));
    for &i in &order {
        let due = run[i].interest - run[i].interest_repaid;
        let x = due.min(left);
        run[i].interest_repaid += x;
        left -= x;
    }
    for &i in &order {
        let x = run[i].outstanding.min(left);
        run[i].outstanding -= x;
        run[i].principal_repaid += x;
        left -= x;
    }
    if left > 0 {
        return Err(AccountError::Overpaid {
            received_on,
            excess: Money::from_cents(left).unwrap_or(Money::ZERO),
        });
    }
    Ok(())
}

fn summary(
    tranches: &[Tranche],
    run: Vec<Running>,
    repayments: &[(NaiveDate, Money)],
    as_of: NaiveDate,
) -> Account {
    let cents = |c: i64| Money::from_cents(c).unwrap_or(Money::ZERO);
    let sum = |f: &dyn Fn(&Running) -> i64| run.iter().map(f).sum::<i64>();
    let principal: i64 = tranches.iter().map(|t| t.amount.cents()).sum();
    let repaid: i64 = repayments
        .iter()
        .filter(|(d, _)| *d <= as_of)
        .map(|(_, m)| m.cents())
        .sum();
    let account = Account {
        principal: cents(principal),
        repaid: cents(repaid),
        principal_outstanding: cents(sum(&|r| r.outstanding)),
        interest: cents(sum(&|r| r.interest)),
        interest_outstanding: cents(sum(&|r| r.interest - r.interest_repaid)),
        tranches: Vec::new(),
    };
    Account {
        tranches: tranches
            .iter()
            .zip(run)
            .map(|(t, r)| TrancheAccount {
                tranche: t.clone(),
                principal_repaid: cents(r.principal_repaid),
                interest: cents(r.interest),
                interest_repaid: cents(r.interest_repaid),
                periods: r.periods,
            })
            .collect(),
        ..account
    }
}

#[cfg(test)]
mod tests;
