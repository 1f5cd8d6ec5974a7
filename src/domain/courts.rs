//! The three administrative courts of Thuringia and their districts (Verwaltungsgerichts-
//! bezirke), as dated data: which court an action (Klage) against a notice goes to.
//!
//! § 52 Nr. 3 Satz 2 VwGO: against an authority whose competence spans several court
//! districts (a ministry: the whole Land), the court in whose district the aggrieved party
//! (the municipality) has its seat. § 1 Abs. 2 ThürAGVwGO: „Die Verwaltungsgerichte haben
//! ihren Sitz in Gera, Meiningen und Weimar. … Der jeweilige Verwaltungsgerichtsbezirk ergibt
//! sich aus der Anlage zu diesem Gesetz." The Anlage in force is dated 1 July 2021, the day
//! Eisenach (16056) joined the Wartburgkreis (16063). Sources and what was not seen:
//! docs/law/issue-15-sources.md, items 7 and 10.

use chrono::NaiveDate;

use super::KreisKey;

/// An administrative court: its name, its seat and, where verified, its postal address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Court {
    /// „Verwaltungsgericht Meiningen".
    pub name: &'static str,
    /// The town of its seat (§ 58 Abs. 1 VwGO: the instructions must name it).
    pub seat: &'static str,
    /// Street and postcode; `None` where they were not verified (they are then not printed:
    /// a wrong address could make the instructions incorrect, § 58 Abs. 2 VwGO).
    pub postal: Option<PostalAddress>,
}

/// A court's street address; its town is the court's seat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PostalAddress {
    pub street: &'static str,
    pub postcode: &'static str,
}

impl Court {
    /// „Lindenallee 15, 98617 Meiningen", or `None` without a verified address.
    pub fn address_line(&self) -> Option<String> {
        self.postal
            .map(|p| format!("{}, {} {}", p.street, p.postcode, self.seat))
    }
}

/// The court's home page (http://www.vgwe.thueringen.de/): „Gerichtszentrum Weimar, Jenaer
/// Straße 2a, 99425 Weimar".
pub const WEIMAR: Court = Court {
    name: "Verwaltungsgericht Weimar",
    seat: "Weimar",
    postal: Some(PostalAddress {
        street: "Jenaer Straße 2a",
        postcode: "99425",
    }),
};

/// The court's home page (www.vgme.thueringen.de): „Justizzentrum Meiningen, Lindenallee 15,
/// 98617 Meiningen".
pub const MEININGEN: Court = Court {
    name: "Verwaltungsgericht Meiningen",
    seat: "Meiningen",
    postal: Some(PostalAddress {
        street: "Lindenallee 15",
        postcode: "98617",
    }),
};

/// The court sits in the Justizzentrum Gera, Rudolf-Diener-Straße; house number and postcode
/// were not verified, so only the seat is printed.
pub const GERA: Court = Court {
    name: "Verwaltungsgericht Gera",
    seat: "Gera",
    postal: None,
};

/// One Kreis's court, with the days the assignment holds (`None`: open).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct District {
    /// The 5-digit Kreis key (a kreisfreie Stadt has its own).
    pub kreis: &'static str,
    pub court: &'static Court,
    pub valid_from: Option<NaiveDate>,
    pub valid_to: Option<NaiveDate>,
}

const fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(y, m, d) {
        Some(d) => d,
        None => panic!("a valid date"),
    }
}

/// The day the Anlage to the ThürAGVwGO in force took effect (lexaris: „Anlage | 01.07.2021").
pub const ANLAGE_IN_FORCE_FROM: NaiveDate = ymd(2021, 7, 1);

const fn open(kreis: &'static str, court: &'static Court) -> District {
    District {
        kreis,
        court,
        valid_from: None,
        valid_to: None,
    }
}

/// The court districts by Kreis: VG Weimar 8 Landkreise and 2 cities, VG Meiningen 4 and 1,
/// VG Gera 5 and 2 (the Anlage to the ThürAGVwGO, § 1 Abs. 2 ThürAGVwGO; the Anlage's wording
/// itself was not seen: the districts are those the courts name on their own pages, VG Weimar
/// and VG Meiningen, and for VG Gera the VG Weimar page „Verwaltungsgerichtsbezirke" as cited
/// by Wikipedia, retrieved 26 April 2021). The Kreise of the Anlage of 1 July 2021 have no
/// start date: before it, the pages from before the merger show the same districts (Meiningen
/// with Eisenach as a kreisfreie Stadt, Gera as of April 2021, Weimar the remaining Kreise);
/// the one change was Eisenach, a kreisfreie Stadt of the Meiningen district until 30 June
/// 2021 and part of the Wartburgkreis (Meiningen) since.
pub const DISTRICTS: [District; 23] = [
    open("16051", &WEIMAR),    // Erfurt
    open("16052", &GERA),      // Gera
    open("16053", &GERA),      // Jena
    open("16054", &MEININGEN), // Suhl
    open("16055", &WEIMAR),    // Weimar
    District {
        kreis: "16056", // Eisenach, kreisfreie Stadt until 30 June 2021
        court: &MEININGEN,
        valid_from: None,
        valid_to: Some(ymd(2021, 6, 30)),
    },
    open("16061", &WEIMAR),    // Eichsfeld
    open("16062", &WEIMAR),    // Nordhausen
    open("16063", &MEININGEN), // Wartburgkreis
    open("16064", &WEIMAR),    // Unstrut-Hainich-Kreis
    open("16065", &WEIMAR),    // Kyffhäuserkreis
    open("16066", &MEININGEN), // Schmalkalden-Meiningen
    open("16067", &WEIMAR),    // Gotha
    open("16068", &WEIMAR),    // Sömmerda
    open("16069", &MEININGEN), // Hildburghausen
    open("16070", &WEIMAR),    // Ilm-Kreis
    open("16071", &WEIMAR),    // Weimarer Land
    open("16072", &MEININGEN), // Sonneberg
    open("16073", &GERA),      // Saalfeld-Rudolstadt
    open("16074", &GERA),      // Saale-Holzland-Kreis
    open("16075", &GERA),      // Saale-Orla-Kreis
    open("16076", &GERA),      // Greiz
    open("16077", &GERA),      // Altenburger Land
];

/// A Kreis merged into another: (old key, new key, first day in the new Kreis). Eisenach
/// joined the Wartburgkreis on 1 July 2021 (data/municipalities-historical.tsv).
pub const MERGED_KREISE: [(&str, &str, NaiveDate); 1] = [("16056", "16063", ymd(2021, 7, 1))];

/// The court of the district a municipality of Kreis `kreis` lies in on `on`; a Kreis merged
/// into another by then is looked up as that one. `None` for a key the table does not know.
pub fn court_for(kreis: &KreisKey, on: NaiveDate) -> Option<&'static Court> {
    let mut key = kreis.as_str();
    if let Some((_, into, _)) = MERGED_KREISE
        .iter()
        .find(|(old, _, from)| *old == key && on >= *from)
    {
        key = into;
    }
    DISTRICTS
        .iter()
        .find(|d| {
            d.kreis == key
                && d.valid_from.is_none_or(|from| from <= on)
                && d.valid_to.is_none_or(|to| on <= to)
        })
        .map(|d| d.court)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kreis(s: &str) -> KreisKey {
        KreisKey::parse(s).unwrap()
    }

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// (Kreis key, kind, valid_to) of every row of a register TSV.
    fn register_rows(tsv: &str) -> Vec<(String, String, Option<NaiveDate>)> {
        tsv.lines()
            .filter(|l| !l.starts_with('#') && !l.starts_with("ags\t") && !l.is_empty())
            .map(|l| {
                let cols: Vec<&str> = l.split('\t').collect();
                let valid_to = cols.get(9).filter(|s| !s.is_empty()).map(|s| d(s));
                (cols[3].to_owned(), cols[2].to_owned(), valid_to)
            })
            .collect()
    }

    const CURRENT: &str = include_str!("../../data/municipalities-2023-11-30.tsv");
    const HISTORICAL: &str = include_str!("../../data/municipalities-historical.tsv");

    #[test]
    fn every_kreis_of_the_register_has_a_court_on_every_day_its_keys_are_valid() {
        let mut rows = register_rows(CURRENT);
        rows.extend(register_rows(HISTORICAL));
        assert!(rows.len() > 600, "{} rows read", rows.len());
        for (key, _, valid_to) in &rows {
            let k = kreis(key);
            let days = match valid_to {
                Some(to) => vec![d("2019-01-01"), *to],
                None => vec![d("2019-01-01"), ANLAGE_IN_FORCE_FROM, d("2030-12-31")],
            };
            for day in days {
                assert!(
                    court_for(&k, day).is_some(),
                    "Kreis {key} has no court on {day}"
                );
            }
        }
    }

    #[test]
    fn the_table_holds_exactly_the_registers_kreise_and_the_three_districts_sizes() {
        let mut register: Vec<String> = register_rows(CURRENT)
            .into_iter()
            .filter(|(_, kind, _)| kind == "landkreis" || kind == "kreisfreie_stadt")
            .map(|(k, _, _)| k)
            .collect();
        register.sort();
        let today: Vec<String> = DISTRICTS
            .iter()
            .filter(|d| d.valid_to.is_none())
            .map(|d| d.kreis.to_owned())
            .collect();
        assert_eq!(today, register);
        let count = |c: &Court| {
            DISTRICTS
                .iter()
                .filter(|d| d.valid_to.is_none() && d.court == c)
                .count()
        };
        assert_eq!(
            (count(&WEIMAR), count(&MEININGEN), count(&GERA)),
            (10, 5, 7)
        );
    }

    #[test]
    fn a_municipality_goes_to_the_court_of_its_kreis() {
        let day = d("2027-02-01");
        assert_eq!(court_for(&kreis("16063"), day), Some(&MEININGEN));
        assert_eq!(court_for(&kreis("16051"), day), Some(&WEIMAR));
        assert_eq!(court_for(&kreis("16053"), day), Some(&GERA));
        assert_eq!(court_for(&kreis("16064"), day), Some(&WEIMAR));
        assert_eq!(court_for(&kreis("16099"), day), None);
    }

    #[test]
    fn eisenach_belongs_to_meiningen_before_and_after_it_joined_the_wartburgkreis() {
        let eisenach = kreis("16056");
        assert_eq!(court_for(&eisenach, d("2021-06-30")), Some(&MEININGEN));
        assert_eq!(court_for(&eisenach, d("2021-07-01")), Some(&MEININGEN));
        // Through the merger, not through the row that ended on 30 June 2021.
        let row = DISTRICTS.iter().find(|d| d.kreis == "16056").unwrap();
        assert_eq!(row.valid_to, Some(d("2021-06-30")));
        assert_eq!(MERGED_KREISE[0].1, "16063");
    }

    #[test]
    fn only_verified_addresses_are_given() {
        assert_eq!(
            MEININGEN.address_line().as_deref(),
            Some("Lindenallee 15, 98617 Meiningen")
        );
        assert_eq!(
            WEIMAR.address_line().as_deref(),
            Some("Jenaer Straße 2a, 99425 Weimar")
        );
        assert_eq!(GERA.address_line(), None);
    }
}
