//! Funding rates and shares: decimal strings in the API (`"0.80"`), basis points in the
//! database (`8000`), so that no rate ever passes through a float.

use rust_decimal::Decimal;

use super::decimal::{self, DecimalError};

/// `8000` basis points → `"0.80"`; at least two decimals, at most four.
pub fn rate_string(bp: i32) -> String {
    let mut d = Decimal::new(i64::from(bp), 4).normalize();
    if d.scale() < 2 {
        d.rescale(2);
    }
    d.to_string()
}

/// The decimals a rate or share may have: basis points.
pub const RATE_SCALE: u32 = 4;

/// `"0.80"` → `8000`: the decimal syntax of `decimal::lex` (no exponent, no `_`, no leading
/// point, no negative zero), at most four decimals, above 0 and at most 1.
pub fn parse_rate(s: &str) -> Result<i32, String> {
    let bp = decimal::parse_scaled(s, RATE_SCALE).map_err(|e| match e {
        DecimalError::Syntax => "must be a decimal string like \"0.80\"".to_owned(),
        DecimalError::Scale(_) => "at most four decimals".to_owned(),
        DecimalError::Range => "out of range".to_owned(),
        DecimalError::NegativeZero => e.to_string(),
    })?;
    let bp = i32::try_from(bp).map_err(|_| "out of range")?;
    if !(1..=10_000).contains(&bp) {
        return Err("must be above 0 and at most 1".into());
    }
    Ok(bp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_round_trip_between_strings_and_basis_points() {
        assert_eq!(parse_rate("0.80"), Ok(8000));
        assert_eq!(rate_string(8000), "0.80");
        assert_eq!(rate_string(3333), "0.3333");
        assert_eq!(rate_string(10_000), "1.00");
        assert!(parse_rate("0.33333").is_err());
        assert!(parse_rate("1.20").is_err());
        assert!(parse_rate("0").is_err());
        assert!(parse_rate("abc").is_err());
        assert_eq!(parse_rate("1"), Ok(10_000));
        // What `Decimal::from_str` took: an exponent, a leading point, digit separators.
        for bad in ["5e-1", ".8", "0.5_0", "0_5", "+0.5", "-0", "0.80000"] {
            assert!(parse_rate(bad).is_err(), "{bad:?}");
        }
        // Beyond what a Decimal holds once multiplied: refused, no overflow panic.
        assert!(parse_rate("79228162514264337593543950335").is_err());
    }
}
