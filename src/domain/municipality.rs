//! Municipality keys (Amtlicher Gemeindeschlüssel) and kinds.

use super::names::string_enum;
use std::fmt;
use std::str::FromStr;

/// An 8-digit Amtlicher Gemeindeschlüssel of Thuringia: Land `16`, Regierungsbezirk `0`,
/// Kreis (2 digits), Gemeinde (3 digits). A Landkreis applies under its Kreis key padded
/// with `000`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ags(String);

/// A 5-digit Kreis key (`16063` Wartburgkreis).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KreisKey(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("must be exactly {0} digits")]
    Length(usize),
    #[error("must consist of digits only")]
    NotDigits,
    #[error("is not a Thuringian key (must start with 160)")]
    NotThuringian,
}

fn check(s: &str, len: usize) -> Result<(), KeyError> {
    if s.len() != len {
        return Err(KeyError::Length(len));
    }
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(KeyError::NotDigits);
    }
    if !s.starts_with("160") {
        return Err(KeyError::NotThuringian);
    }
    Ok(())
}

impl Ags {
    pub fn parse(s: &str) -> Result<Self, KeyError> {
        check(s, 8)?;
        Ok(Ags(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The Kreis this key belongs to: its first five digits.
    pub fn kreis(&self) -> KreisKey {
        KreisKey(self.0[..5].to_owned())
    }
}

impl KreisKey {
    pub fn parse(s: &str) -> Result<Self, KeyError> {
        check(s, 5)?;
        Ok(KreisKey(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Ags {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ags::parse(s)
    }
}

impl fmt::Display for Ags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for KreisKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a register entry is. A kreisfreie Stadt is a Gemeinde and a Kreis at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MunicipalityKind {
    KreisfreieStadt,
    Landkreis,
    Stadt,
    Gemeinde,
}

string_enum!(MunicipalityKind, "municipality kind", {
    KreisfreieStadt => "kreisfreie_stadt",
    Landkreis => "landkreis",
    Stadt => "stadt",
    Gemeinde => "gemeinde",
});

impl MunicipalityKind {
    pub fn is_gemeinde(self) -> bool {
        !matches!(self, MunicipalityKind::Landkreis)
    }

    pub fn is_kreis(self) -> bool {
        matches!(
            self,
            MunicipalityKind::Landkreis | MunicipalityKind::KreisfreieStadt
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thuringian_ags_parses_and_knows_its_kreis() {
        let ags = Ags::parse("16063105").unwrap();
        assert_eq!(ags.kreis().as_str(), "16063");
    }

    #[test]
    fn malformed_keys_are_refused_with_the_reason() {
        assert_eq!(Ags::parse("1606310"), Err(KeyError::Length(8)));
        assert_eq!(Ags::parse("1606310x"), Err(KeyError::NotDigits));
        assert_eq!(Ags::parse("09162000"), Err(KeyError::NotThuringian));
        assert_eq!(Ags::parse("١٦٠٦٣١٠٥"), Err(KeyError::Length(8)));
        assert!(KreisKey::parse("16063").is_ok());
        assert!(KreisKey::parse("1606").is_err());
    }

    #[test]
    fn kinds_round_trip_through_their_names() {
        for k in MunicipalityKind::ALL {
            assert_eq!(k.as_str().parse::<MunicipalityKind>(), Ok(k));
        }
        assert!(MunicipalityKind::KreisfreieStadt.is_gemeinde());
        assert!(MunicipalityKind::KreisfreieStadt.is_kreis());
        assert!(!MunicipalityKind::Landkreis.is_gemeinde());
    }
}
