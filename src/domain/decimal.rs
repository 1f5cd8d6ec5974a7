//! The one syntax of the API's decimal strings: amounts (`Money`), rates and shares
//! (`rate::parse_rate`), base-rate percentages (`interest::parse_percent`). Each type decides
//! its scale and range; this module decides what a decimal string is:
//!
//! `-?[0-9]+(\.[0-9]+)?`, and no negative zero.
//!
//! No exponent (`5e-1`), no leading or trailing point (`.8`, `1.`), no digit separator
//! (`0.5_0`, `1,5`), no `+`, no white space: what a client sends is what it means, and a value
//! has one spelling per scale. `-0` and `-0.00` are refused: a sign on zero says nothing and
//! slips past a "must not be negative" check that compares with zero.

/// Why a string is not an acceptable decimal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecimalError {
    #[error(
        "must be a decimal string: digits, optionally a point and more digits, like \"0.80\" \
         (no exponent, no `+`, no `_`, no leading point)"
    )]
    Syntax,
    #[error("must not be negative zero")]
    NegativeZero,
    #[error("at most {0} decimals")]
    Scale(u32),
    #[error("out of range")]
    Range,
}

/// A decimal string taken apart: its sign, the digits before the point and those after it
/// (empty without a point).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecimalText<'a> {
    pub negative: bool,
    pub whole: &'a str,
    pub fraction: &'a str,
}

/// Checks `s` against the syntax and takes it apart.
pub fn lex(s: &str) -> Result<DecimalText<'_>, DecimalError> {
    let (negative, unsigned) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (whole, fraction) = match unsigned.split_once('.') {
        Some((_, "")) => return Err(DecimalError::Syntax),
        Some((w, f)) => (w, f),
        None => (unsigned, ""),
    };
    let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(fraction) {
        return Err(DecimalError::Syntax);
    }
    if negative && whole.bytes().chain(fraction.bytes()).all(|b| b == b'0') {
        return Err(DecimalError::NegativeZero);
    }
    Ok(DecimalText {
        negative,
        whole,
        fraction,
    })
}

impl DecimalText<'_> {
    /// The value times 10^`scale` as an integer (`"0.8"` at scale 4 is 8000); more decimals
    /// than `scale` are refused, even zeros, so that the documented scale is the only one.
    pub fn scaled(&self, scale: u32) -> Result<i64, DecimalError> {
        let pad = (scale as usize)
            .checked_sub(self.fraction.len())
            .ok_or(DecimalError::Scale(scale))?;
        let digits = self
            .whole
            .bytes()
            .chain(self.fraction.bytes())
            .chain(std::iter::repeat_n(b'0', pad));
        let mut value: i64 = 0;
        for b in digits {
            value = value
                .checked_mul(10)
                .and_then(|v| v.checked_add(i64::from(b - b'0')))
                .ok_or(DecimalError::Range)?;
        }
        Ok(if self.negative { -value } else { value })
    }
}

/// `lex` and `scaled` in one: `s` times 10^`scale`.
pub fn parse_scaled(s: &str, scale: u32) -> Result<i64, DecimalError> {
    lex(s)?.scaled(scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_digits_with_an_optional_point_and_decimals_are_decimals() {
        assert_eq!(parse_scaled("0.8", 4), Ok(8000));
        assert_eq!(parse_scaled("1", 4), Ok(10_000));
        assert_eq!(parse_scaled("007.50", 2), Ok(750));
        assert_eq!(parse_scaled("-1.27", 2), Ok(-127));
        for bad in [
            "5e-1", "5E1", ".8", "1.", "0.5_0", "0_5", "+0.5", "1,5", " 1", "1 ", "", "-", "-.5",
            "0x10", "1.2.3", "１", "٣",
        ] {
            assert_eq!(lex(bad), Err(DecimalError::Syntax), "{bad:?}");
        }
    }

    #[test]
    fn negative_zero_is_refused_in_every_spelling() {
        for bad in ["-0", "-0.00", "-000.0", "-0.0000"] {
            assert_eq!(lex(bad), Err(DecimalError::NegativeZero), "{bad:?}");
        }
        assert_eq!(parse_scaled("0.00", 2), Ok(0));
        assert_eq!(parse_scaled("-0.01", 2), Ok(-1));
    }

    #[test]
    fn the_scale_is_a_maximum_and_the_range_is_checked_without_overflow() {
        assert_eq!(parse_scaled("0.33333", 4), Err(DecimalError::Scale(4)));
        assert_eq!(parse_scaled("0.80000", 4), Err(DecimalError::Scale(4)));
        assert_eq!(
            parse_scaled("79228162514264337593543950335", 4),
            Err(DecimalError::Range)
        );
        assert_eq!(parse_scaled(&"0".repeat(100), 2), Ok(0));
    }
}
