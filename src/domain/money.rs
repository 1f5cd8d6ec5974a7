//! Money: euros with exactly two decimals, held as integer cents. No floating point anywhere:
//! JSON carries a string (`"310620.00"`), the database an integer column of cents.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::decimal::{self, DecimalError};

/// An amount in euros, exact to the cent. May be negative (a difference); request fields that
/// must not be negative say so with `Money::non_negative`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(i64);

/// The largest amount the service accepts: 100 billion euros, far beyond any programme, far
/// below where integer cents could overflow when summed.
pub const MAX_CENTS: i64 = 10_000_000_000_000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("must be a decimal string with exactly two decimals, like \"1234.50\"")]
    Format,
    #[error("must not be negative")]
    Negative,
    #[error("must not be negative zero (\"-0.00\")")]
    NegativeZero,
    #[error("exceeds the largest accepted amount (100000000000.00)")]
    TooLarge,
}

impl Money {
    pub const ZERO: Money = Money(0);

    pub fn from_cents(cents: i64) -> Result<Money, MoneyError> {
        if cents.abs() > MAX_CENTS {
            return Err(MoneyError::TooLarge);
        }
        Ok(Money(cents))
    }

    pub fn cents(self) -> i64 {
        self.0
    }

    pub fn to_decimal(self) -> Decimal {
        Decimal::new(self.0, 2)
    }

    /// Converts a decimal, rounding **down** (towards minus infinity) to the cent: the rule for
    /// every computed grant, so that no one is granted a fraction more than the rule allows.
    pub fn from_decimal_floor(d: Decimal) -> Result<Money, MoneyError> {
        let floored = (d * Decimal::ONE_HUNDRED).floor();
        let cents = i64::try_from(floored).map_err(|_| MoneyError::TooLarge)?;
        Money::from_cents(cents)
    }

    pub fn non_negative(self) -> Result<Money, MoneyError> {
        if self.0 < 0 {
            Err(MoneyError::Negative)
        } else {
            Ok(self)
        }
    }

    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0
            .checked_add(other.0)
            .and_then(|c| Money::from_cents(c).ok())
    }

    pub fn checked_sub(self, other: Money) -> Option<Money> {
        self.0
            .checked_sub(other.0)
            .and_then(|c| Money::from_cents(c).ok())
    }

    pub fn is_negative(self) -> bool {
        self.0 < 0
    }
}

impl FromStr for Money {
    type Err = MoneyError;

    /// Accepts `-?[0-9]+\.[0-9]{2}` (the decimal syntax of `decimal::lex`) and nothing else: no
    /// exponent, no thousands separator, no third decimal (which would have to be rounded), no
    /// missing decimals, no negative zero.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = decimal::lex(s).map_err(|e| match e {
            DecimalError::NegativeZero => MoneyError::NegativeZero,
            _ => MoneyError::Format,
        })?;
        if text.fraction.len() != 2 {
            return Err(MoneyError::Format);
        }
        if text.whole.len() > 15 {
            return Err(MoneyError::TooLarge);
        }
        let cents = text.scaled(2).map_err(|_| MoneyError::TooLarge)?;
        Money::from_cents(cents)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&cents_text(self.0, '.'))
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Money {
    /// Only a JSON string: a JSON number would already have passed through a float.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Money;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an amount as a string with exactly two decimals, like \"1234.50\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Money, E> {
                v.parse().map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

/// Any number of cents as euros with two decimals and this decimal separator: `-1234` →
/// `-12.34` (`-12,34`). Covers all of i64, so a sum beyond the money range (a report total) is
/// still written exactly.
pub fn cents_text(cents: i64, decimal: char) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}{}{decimal}{:02}", abs / 100, abs % 100)
}

/// The inverse of `cents_text` with '.': `-12.34` → -1234; `None` for anything else.
pub fn parse_cents_text(s: &str) -> Option<i64> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (euros, cents) = digits.split_once('.')?;
    if euros.is_empty()
        || cents.len() != 2
        || !euros
            .bytes()
            .chain(cents.bytes())
            .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let abs = euros
        .parse::<i64>()
        .ok()?
        .checked_mul(100)?
        .checked_add(cents.parse::<i64>().ok()?)?;
    Some(if neg { -abs } else { abs })
}

/// Cents as a euro string for messages and audit entries ("1234.50").
pub fn euros_text(cents: i64) -> String {
    cents_text(cents, '.')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn cents_text_reads_back() {
        for c in [0, 1, -1, 31_062_000, -1234, i64::MAX, i64::MIN + 1] {
            assert_eq!(parse_cents_text(&cents_text(c, '.')), Some(c), "{c}");
        }
        for bad in ["1", "1.0", ".10", "1.000", "1,00", "+1.00", "1e3.00", ""] {
            assert_eq!(parse_cents_text(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn amounts_parse_only_with_exactly_two_decimals() {
        assert_eq!("310620.00".parse::<Money>().unwrap().cents(), 31_062_000);
        assert_eq!("0.10".parse::<Money>().unwrap().cents(), 10);
        assert_eq!("-5.01".parse::<Money>().unwrap().cents(), -501);
        for bad in [
            "1", "1.0", "1.000", "1e3", ".50", "1,50", "1.5O", " 1.00", "+1.00", "", "-",
        ] {
            assert_eq!(bad.parse::<Money>(), Err(MoneyError::Format), "{bad:?}");
        }
        assert_eq!(
            "1000000000000000.00".parse::<Money>(),
            Err(MoneyError::TooLarge)
        );
        for bad in ["1.0_0", "1_0.00", "1e2.00", "-+1.00"] {
            assert_eq!(bad.parse::<Money>(), Err(MoneyError::Format), "{bad:?}");
        }
        for zero in ["-0.00", "-000.00"] {
            assert_eq!(
                zero.parse::<Money>(),
                Err(MoneyError::NegativeZero),
                "{zero:?}"
            );
        }
    }

    #[test]
    fn json_numbers_are_refused_and_strings_round_trip() {
        assert!(serde_json::from_str::<Money>("12.50").is_err());
        let m: Money = serde_json::from_str("\"12.50\"").unwrap();
        assert_eq!(serde_json::to_string(&m).unwrap(), "\"12.50\"");
    }

    #[test]
    fn computed_amounts_are_rounded_down_to_the_cent() {
        let d = Decimal::new(98_765_424, 3); // 98765.424
        assert_eq!(
            Money::from_decimal_floor(d).unwrap().to_string(),
            "98765.42"
        );
        let d = Decimal::new(98_765_429, 3);
        assert_eq!(
            Money::from_decimal_floor(d).unwrap().to_string(),
            "98765.42"
        );
    }

    proptest! {
        #[test]
        fn display_and_parse_are_inverse(cents in -MAX_CENTS..=MAX_CENTS) {
            let m = Money::from_cents(cents).unwrap();
            prop_assert_eq!(m.to_string().parse::<Money>().unwrap(), m);
            prop_assert_eq!(Money::from_decimal_floor(m.to_decimal()).unwrap(), m);
        }
    }
}
