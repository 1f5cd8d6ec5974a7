//! The SQL text is built from fixed pieces; these tests pin its parameter numbering, which
//! both backends bind by position.

use super::sql;
use super::*;

/// The `$n` placeholders of a text in order of appearance.
fn placeholders(text: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'$' {
            let digits: String = text[i + 1..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            if let Ok(n) = digits.parse() {
                out.push(n);
            }
            i += digits.len();
        }
        i += 1;
    }
    out
}

/// Every parameter is used, and their first appearances come in order 1, 2, 3, … (SQLite
/// numbers named parameters by first appearance).
fn assert_numbered_in_order(text: &str, count: usize) {
    let mut firsts = Vec::new();
    for n in placeholders(text) {
        if !firsts.contains(&n) {
            firsts.push(n);
        }
    }
    assert_eq!(firsts, (1..=count).collect::<Vec<_>>(), "{text}");
}

#[test]
fn every_volumes_variant_numbers_its_parameters_in_order_of_appearance() {
    for basis in [Basis::Notice, Basis::Submission, Basis::Payment] {
        for backend in [Backend::Postgres, Backend::Sqlite] {
            for (from, to) in [
                (None, None),
                (Some(2019), None),
                (None, Some(2020)),
                (Some(2019), Some(2020)),
            ] {
                for programme in [None, Some("THUEREGOVRL-2018".to_owned())] {
                    for kreis in [None, Some("16063".to_owned())] {
                        let q = VolumeQuery {
                            group_by: vec![GroupKey::Year, GroupKey::Municipality],
                            from,
                            to,
                            programme: programme.clone(),
                            kreis: kreis.clone(),
                            ..VolumeQuery::all(basis)
                        };
                        let (text, params) = sql::volumes(backend, &q, sql::Source::Facts);
                        assert_numbered_in_order(&text, params.len());
                        let years = usize::from(from.is_some()) + usize::from(to.is_some());
                        let expected = usize::from(programme.is_some())
                            + usize::from(kreis.is_some())
                            + years * if basis == Basis::Payment { 2 } else { 1 };
                        assert_eq!(params.len(), expected, "{basis:?} {from:?} {to:?}");
                        // From the totals: the basis, then the same filters once each.
                        let (text, params) = sql::volumes(backend, &q, sql::Source::Totals);
                        assert_numbered_in_order(&text, params.len());
                        let expected = 1
                            + usize::from(programme.is_some())
                            + usize::from(kreis.is_some())
                            + years;
                        assert_eq!(params.len(), expected, "{basis:?} {from:?} {to:?}");
                    }
                }
            }
        }
    }
}

#[test]
fn the_other_reports_number_their_parameters_in_order_too() {
    let t = NaiveDate::from_ymd_opt(2020, 1, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    for (text, params) in [
        sql::pipeline(t, None),
        sql::pipeline(t, Some("X")),
        sql::budget(None),
        sql::budget(Some(2020)),
        sql::processing(t, t),
        sql::contributions(Backend::Postgres, Some("c")),
        sql::contributions(Backend::Sqlite, None),
    ] {
        assert_numbered_in_order(&text, params.len());
    }
}

#[test]
fn the_year_of_a_timestamp_is_its_german_year_on_both_backends() {
    assert!(sql::year_of(Backend::Postgres, "x").contains("+ INTERVAL '1 hour'"));
    assert!(sql::year_of(Backend::Sqlite, "x").contains("'+1 hour'"));
}
