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

impl Ags {
    /// Whether this key is a Kreis's own: its Gemeinde part (last three digits) is `000`. In
    /// GV100AD only a kreisfreie Stadt has the Gemeinde key `000` (Satzart 60, type 61, the
    /// city being its Kreis's one Gemeinde); the register writes a Landkreis under its Kreis key
    /// padded with `000` (`tools/gv100ad_to_tsv.py`). Every other Gemeinde's key ends in
    /// `001` or higher.
    pub fn is_kreis_key(&self) -> bool {
        self.0.ends_with("000")
    }
}

/// A register entry whose kind contradicts its key, or a kreisfreie Stadt with Gemeinden.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StructureError {
    #[error(
        "kind {kind} needs a Kreis key (ending in 000), but {ags} is a Gemeinde's key \
         (gemeinde or stadt)"
    )]
    KreisKindOnGemeindeKey { ags: String, kind: MunicipalityKind },
    #[error(
        "kind {kind} needs a Gemeinde's key, but {ags} ends in 000, which only a Kreis has \
         (landkreis or kreisfreie_stadt)"
    )]
    GemeindeKindOnKreisKey { ags: String, kind: MunicipalityKind },
    #[error(
        "{ags} is in the Kreis {kreis}, whose register entry is a kreisfreie Stadt: a \
         kreisfreie Stadt is its Kreis's only Gemeinde"
    )]
    GemeindeInKreisfreieStadt { ags: String, kreis: String },
}

impl MunicipalityKind {
    /// Whether `ags` can be an entry of this kind (`Ags::is_kreis_key`).
    pub fn check_key(self, ags: &Ags) -> Result<(), StructureError> {
        let (ags_text, kind) = (ags.as_str().to_owned(), self);
        match (
            matches!(
                self,
                MunicipalityKind::Landkreis | MunicipalityKind::KreisfreieStadt
            ),
            ags.is_kreis_key(),
        ) {
            (true, false) => Err(StructureError::KreisKindOnGemeindeKey {
                ags: ags_text,
                kind,
            }),
            (false, true) => Err(StructureError::GemeindeKindOnKreisKey {
                ags: ags_text,
                kind,
            }),
            _ => Ok(()),
        }
    }
}

/// Checks a register edition's entries against the key structure: each kind against its key
/// (`MunicipalityKind::check_key`), and no Gemeinde in the Kreis of a kreisfreie Stadt.
/// The error comes with the index of the entry it is about.
pub fn check_register(entries: &[(&Ags, MunicipalityKind)]) -> Result<(), (usize, StructureError)> {
    for (i, (ags, kind)) in entries.iter().enumerate() {
        kind.check_key(ags).map_err(|e| (i, e))?;
    }
    let kreisfreie: std::collections::HashSet<KreisKey> = entries
        .iter()
        .filter(|(_, kind)| *kind == MunicipalityKind::KreisfreieStadt)
        .map(|(ags, _)| ags.kreis())
        .collect();
    for (i, (ags, _)) in entries.iter().enumerate() {
        if !ags.is_kreis_key() && kreisfreie.contains(&ags.kreis()) {
            let e = StructureError::GemeindeInKreisfreieStadt {
                ags: ags.as_str().to_owned(),
                kreis: ags.kreis().as_str().to_owned(),
            };
            return Err((i, e));
        }
    }
    Ok(())
}

/// The share of the register's current entries (those without an end date) that one
/// edition may retire by leaving them out, in percent. Thuringia's largest yearly change
/// since 2019 merged a few dozen of its about 640 entries; an edition that drops more is
/// far more likely a truncated or wrong file than a territorial reform, and is loaded only
/// when the administrator says so (`force`).
pub const MAX_RETIRED_PERCENT: usize = 5;

/// Whether retiring `retiring` of `current` entries goes beyond `MAX_RETIRED_PERCENT`.
pub fn retires_too_many(retiring: usize, current: usize) -> bool {
    retiring.saturating_mul(100) > current.saturating_mul(MAX_RETIRED_PERCENT)
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
    fn a_kind_must_fit_its_key() {
        let key = |s: &str| Ags::parse(s).unwrap();
        use MunicipalityKind::*;
        assert!(Landkreis.check_key(&key("16063000")).is_ok());
        assert!(KreisfreieStadt.check_key(&key("16051000")).is_ok());
        assert!(Gemeinde.check_key(&key("16063105")).is_ok());
        assert!(Stadt.check_key(&key("16063003")).is_ok());
        assert_eq!(
            Landkreis.check_key(&key("16063105")),
            Err(StructureError::KreisKindOnGemeindeKey {
                ags: "16063105".into(),
                kind: Landkreis
            })
        );
        assert!(KreisfreieStadt.check_key(&key("16063105")).is_err());
        assert!(Gemeinde.check_key(&key("16063000")).is_err());
        assert!(Stadt.check_key(&key("16051000")).is_err());
    }

    #[test]
    fn a_kreisfreie_stadt_has_no_gemeinden_in_its_kreis() {
        let (erfurt, gemeinde, wartburg, eisenach) = (
            Ags::parse("16051000").unwrap(),
            Ags::parse("16051001").unwrap(),
            Ags::parse("16063000").unwrap(),
            Ags::parse("16063105").unwrap(),
        );
        use MunicipalityKind::*;
        assert_eq!(
            check_register(&[
                (&erfurt, KreisfreieStadt),
                (&wartburg, Landkreis),
                (&eisenach, Stadt)
            ]),
            Ok(())
        );
        let err = check_register(&[
            (&wartburg, Landkreis),
            (&gemeinde, Gemeinde),
            (&erfurt, KreisfreieStadt),
        ]);
        assert!(
            matches!(
                err,
                Err((1, StructureError::GemeindeInKreisfreieStadt { .. }))
            ),
            "{err:?}"
        );
        assert!(matches!(
            check_register(&[(&wartburg, Landkreis), (&eisenach, Landkreis)]),
            Err((1, StructureError::KreisKindOnGemeindeKey { .. }))
        ));
    }

    #[test]
    fn an_edition_may_retire_up_to_five_percent_of_the_current_entries() {
        assert!(!retires_too_many(0, 0));
        assert!(!retires_too_many(32, 641));
        assert!(retires_too_many(33, 641));
        assert!(!retires_too_many(5, 100));
        assert!(retires_too_many(6, 100));
        assert!(retires_too_many(1, 0));
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
