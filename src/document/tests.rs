//! Tests of the notice document: formatting, wording per kind, and the PDF read back.
//!
//! The PDF is read back by a small extractor written here against the PDF specification
//! (objects, page tree, `/ToUnicode` maps, text operators), not against the renderer's own
//! tables, so a glyph that does not extract as its character fails the test. A second test
//! reads it with poppler's `pdftotext` when that is installed (or required by
//! `FA_REQUIRE_PDFTOTEXT=1`).

use std::collections::HashMap;

use chrono::NaiveDate;

use super::*;
use crate::domain::courts;
use crate::domain::notice::{NoticeKind, NoticeLine};
use crate::domain::remedy::AuthorityLevel;
use crate::domain::{FinancingType, Money};

fn m(cents: i64) -> Money {
    Money::from_cents(cents).unwrap()
}

fn d(y: i32, mo: u32, da: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, mo, da).unwrap()
}

const REDUCTION: &str = "Schulungskosten sind nur bis 150,00 € je Teilnehmertag zuwendungsfähig";

fn line(n: i32, text: &str, applied: i64, approved: i64, reason: Option<&str>) -> DocLine {
    DocLine {
        decided: NoticeLine {
            line: n,
            eligible: reason != Some("Bewirtungskosten sind nicht zuwendungsfähig"),
            applied: m(applied),
            approved: m(approved),
            actual: None,
            reason: reason.map(str::to_owned),
        },
        description: text.to_owned(),
    }
}

/// A notice of the given kind about one realistic case: 62.500,00 € eligible, 80 %,
/// 50.000,00 € granted, two lines cut.
fn sample(kind: NoticeKind) -> NoticeFacts {
    let mut f = NoticeFacts {
        kind,
        authority: Authority {
            name: "Thüringer Landesverwaltungsamt".to_owned(),
            unit: "Referat 200 – Zuwendungen E-Government".to_owned(),
            address: vec![
                "Jorge-Semprún-Platz 4".to_owned(),
                "99423 Weimar".to_owned(),
            ],
            place: "Weimar".to_owned(),
            // The Landesverwaltungsamt is no oberste Landesbehörde: Widerspruch.
            level: AuthorityLevel::Landesbehoerde,
        },
        recipients: vec![Recipient {
            name: "Stadt Erfurt".to_owned(),
            ags: "16051000".to_owned(),
            share_bp: None,
            court: Some(&courts::WEIMAR),
        }],
        postal_address: None,
        contact: None,
        number: "EGOV-2026-0042-B1".to_owned(),
        case_number: "EGOV-2026-0042".to_owned(),
        case_title: "Digitales Bürgerbüro – Online-Terminvergabe und E-Akte".to_owned(),
        programme_name: "E-Government-Förderung ab 2024".to_owned(),
        legal_basis: "Thüringer E-Government-Richtlinie (ThürEGovRL), in Kraft seit 1. Juli 2024"
            .to_owned(),
        dated: d(2027, 2, 1),
        refers_to: None,
        purpose: Some(
            "Einführung eines digitalen Bürgerbüros mit Online-Terminvergabe und \
             elektronischer Akte nach dem Onlinezugangsgesetz."
                .to_owned(),
        ),
        binding_years: Some(5),
        financing_type: Some(FinancingType::Anteil),
        rate_bp: Some(8000),
        max_amount: Some(m(10_000_000)),
        fixed_amount: None,
        eligible: Some(m(6_250_000)),
        granted: Some(m(5_000_000)),
        previous_grant: None,
        paid: Money::ZERO,
        revoked: None,
        reclaim: None,
        reclaim_due: None,
        interest_from: None,
        grant_period: Some((d(2027, 3, 1), d(2028, 6, 30))),
        proof_due: Some(d(2028, 12, 31)),
        allocations: vec![(2027, m(3_000_000)), (2028, m(2_000_000))],
        lines: vec![
            line(1, "Hardware (Server, Netzwerk)", 3_000_000, 3_000_000, None),
            line(2, "Softwarelizenzen", 2_500_000, 2_500_000, None),
            line(3, "Schulungen", 1_000_000, 750_000, Some(REDUCTION)),
            line(
                4,
                "Bewirtung",
                200_000,
                0,
                Some("Bewirtungskosten sind nicht zuwendungsfähig"),
            ),
        ],
        reason: None,
        posted_on: d(2027, 2, 1),
        delivery_days: 4,
        finality: crate::domain::calendar::Finality {
            delivered_on: d(2027, 2, 5),
            appeal_deadline: d(2027, 3, 5),
            final_on: d(2027, 3, 6),
        },
        prepared_by: "Anna Schmidt".to_owned(),
        signed_by: "Dr. Jens Müller".to_owned(),
    };
    let later = |f: &mut NoticeFacts, n: u32| {
        f.number = format!("EGOV-2026-0042-B{n}");
        f.refers_to = Some("EGOV-2026-0042-B1".to_owned());
        f.previous_grant = Some(m(5_000_000));
        f.paid = m(4_500_000);
    };
    match kind {
        NoticeKind::Grant => {}
        NoticeKind::Rejection => {
            f.granted = None;
            f.reason = Some(
                "Das Vorhaben wurde vor Antragstellung begonnen (Nr. 1.3 VV zu § 44 ThürLHO)."
                    .to_owned(),
            );
        }
        NoticeKind::EarlyStart => {
            f.granted = None;
            f.lines.clear();
        }
        NoticeKind::Amendment => {
            later(&mut f, 2);
            f.granted = Some(m(4_500_000));
            f.reason = Some("Die Softwarelizenzen wurden günstiger beschafft.".to_owned());
        }
        NoticeKind::Final => {
            later(&mut f, 3);
            f.granted = Some(m(4_200_000));
            f.reclaim = Some(m(300_000));
            f.reclaim_due = Some(d(2027, 4, 30));
            for l in &mut f.lines {
                l.decided.actual = Some(l.decided.approved);
            }
        }
        NoticeKind::Revocation => {
            later(&mut f, 4);
            f.revoked = Some(m(2_000_000));
            f.granted = Some(m(3_000_000));
            f.reclaim = Some(m(1_500_000));
            f.reclaim_due = Some(d(2027, 4, 30));
            f.interest_from = Some(d(2026, 10, 1));
            f.reason = Some(
                "Die Zweckbindung wurde nicht eingehalten: das Terminsystem wurde im \
                 September 2026 stillgelegt."
                    .to_owned(),
            );
        }
    }
    f
}

/// What the decision of each sample says, and an amount it must show.
fn tenor_of(kind: NoticeKind) -> (&'static str, &'static str) {
    match kind {
        NoticeKind::Grant => (
            "Auf Ihren Antrag hin wird Ihnen für das Vorhaben „Digitales Bürgerbüro – \
             Online-Terminvergabe und E-Akte“ eine Zuwendung in Höhe von 50.000,00 € als nicht \
             rückzahlbarer Zuschuss im Wege der Projektförderung bewilligt.",
            "62.500,00 €",
        ),
        NoticeKind::Rejection => (
            "Ihr Antrag auf Gewährung einer Zuwendung für das Vorhaben „Digitales Bürgerbüro – \
             Online-Terminvergabe und E-Akte“ wird abgelehnt.",
            "",
        ),
        NoticeKind::EarlyStart => (
            "Dem vorzeitigen Beginn des Vorhabens „Digitales Bürgerbüro – Online-Terminvergabe \
             und E-Akte“ wird nach VV Nr. 1.3 zu § 44 ThürLHO zugestimmt. Diese Zustimmung \
             begründet keinen Anspruch auf eine Zuwendung.",
            "",
        ),
        NoticeKind::Amendment => (
            "Der Zuwendungsbescheid EGOV-2026-0042-B1 wird wie folgt geändert: Die Zuwendung \
             beträgt nunmehr 45.000,00 € (bisher 50.000,00 €).",
            "45.000,00 €",
        ),
        NoticeKind::Final => (
            "Die Zuwendung für das Vorhaben „Digitales Bürgerbüro – Online-Terminvergabe und \
             E-Akte“ wird endgültig auf 42.000,00 € festgesetzt.",
            "Der überzahlte Betrag von 3.000,00 € ist bis zum 30.04.2027 zu erstatten.",
        ),
        NoticeKind::Revocation => (
            "Der Zuwendungsbescheid EGOV-2026-0042-B1 wird in Höhe von 20.000,00 € mit Wirkung \
             vom 01.10.2026 widerrufen (§ 49 Abs. 3 VwVfG i. V. m. § 1 Abs. 1 ThürVwVfG).",
            "Der zu erstattende Betrag von 15.000,00 € ist bis zum 30.04.2027 zu erstatten und \
             nach § 49a Abs. 3 VwVfG i. V. m. § 1 Abs. 1 ThürVwVfG ab dem 01.10.2026 mit fünf \
             Prozentpunkten über dem Basiszinssatz jährlich zu verzinsen.",
        ),
    }
}

fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn euro_de_groups_thousands_with_dots_and_uses_a_decimal_comma() {
    assert_eq!(euro_de(Money::ZERO), "0,00 €");
    assert_eq!(euro_de(m(5)), "0,05 €");
    assert_eq!(euro_de(m(99_999)), "999,99 €");
    assert_eq!(euro_de(m(100_000)), "1.000,00 €");
    assert_eq!(euro_de(m(5_000_000)), "50.000,00 €");
    assert_eq!(euro_de(m(123_456_789)), "1.234.567,89 €");
    assert_eq!(euro_de(m(100_000_000_000)), "1.000.000.000,00 €");
}

#[test]
fn date_de_is_day_month_year_with_leading_zeros() {
    assert_eq!(date_de(d(2027, 2, 1)), "01.02.2027");
    assert_eq!(date_de(d(2026, 12, 31)), "31.12.2026");
}

#[test]
fn percent_de_drops_trailing_zeros() {
    assert_eq!(percent_de(8000), "80 %");
    assert_eq!(percent_de(7550), "75,5 %");
    assert_eq!(percent_de(3334), "33,34 %");
    assert_eq!(percent_de(10_000), "100 %");
    assert_eq!(percent_de(5), "0,05 %");
    assert_eq!(percent_de(0), "0 %");
}

#[test]
fn compose_states_each_kinds_decision_amounts_and_legal_remedy() {
    for kind in NoticeKind::ALL {
        let f = sample(kind);
        validate(&f).unwrap();
        let blocks = compose(&f);
        let text = squash(&plain_text(&blocks));
        let (tenor, more) = tenor_of(kind);
        assert!(
            text.contains(&squash(tenor)),
            "{kind}: tenor missing in\n{text}"
        );
        assert!(text.contains(&squash(more)), "{kind}: {more:?} missing");
        assert_eq!(
            blocks.get(3),
            Some(&Block::Title(kind.title_de().to_owned()))
        );
        assert!(blocks.contains(&Block::Heading("Rechtsbehelfsbelehrung".to_owned())));
        assert!(text.contains(
            "Der Widerspruch ist schriftlich oder zur Niederschrift bei Thüringer \
             Landesverwaltungsamt, Jorge-Semprún-Platz 4, 99423 Weimar einzulegen."
        ));
        assert!(text.contains(
            "Dieser Bescheid wurde am 01.02.2027 zur Post gegeben und gilt am 05.02.2027 als \
             bekannt gegeben (§ 41 Abs. 2 VwVfG i. V. m. § 1 Abs. 1 ThürVwVfG, 4. Tag nach der \
             Aufgabe zur Post). Die Widerspruchsfrist endet mit Ablauf des 05.03.2027; ohne Widerspruch wird der \
             Bescheid am 06.03.2027 bestandskräftig."
        ));
        assert!(text.contains("Aktenzeichen: EGOV-2026-0042"));
        assert!(text.contains("Weimar, 01.02.2027"));
        assert!(text.contains("Im Auftrag Dr. Jens Müller"));
        assert!(text.contains("Vorbereitet: Anna Schmidt"));
        assert_eq!(
            text.contains("Bezug: Bescheid EGOV-2026-0042-B1"),
            f.refers_to.is_some()
        );
    }
}

/// The sample as the finance ministry (an oberste Landesbehörde) issues it to a town of the
/// Wartburgkreis.
fn ministry(kind: NoticeKind) -> NoticeFacts {
    let mut f = sample(kind);
    f.authority = Authority {
        name: "Thüringer Finanzministerium".to_owned(),
        unit: "Kompetenzzentrum Verwaltung 4.0".to_owned(),
        address: vec!["Ludwig-Erhard-Ring 7".to_owned(), "99099 Erfurt".to_owned()],
        place: "Erfurt".to_owned(),
        level: AuthorityLevel::ObersteLandesbehoerde,
    };
    f.recipients = vec![recipient("Eisenach, Stadt", "16063105", &courts::MEININGEN)];
    f
}

fn recipient(name: &str, ags: &str, court: &'static courts::Court) -> Recipient {
    Recipient {
        name: name.to_owned(),
        ags: ags.to_owned(),
        share_bp: None,
        court: Some(court),
    }
}

const KLAGE_MEININGEN: &str = "Gegen diesen Bescheid kann innerhalb eines Monats nach \
    Bekanntgabe Klage beim Verwaltungsgericht Meiningen, Lindenallee 15, 98617 Meiningen, \
    schriftlich oder zu Protokoll des Urkundsbeamten der Geschäftsstelle erhoben werden. \
    Eines Vorverfahrens bedarf es nicht, da der Bescheid von einer obersten Landesbehörde \
    erlassen wurde (§ 68 Abs. 1 Satz 2 Nr. 1, § 74 Abs. 1 Satz 2 VwGO).";

#[test]
fn a_ministrys_notice_names_the_action_at_the_court_of_the_recipients_seat_and_no_objection() {
    for kind in NoticeKind::ALL {
        let f = ministry(kind);
        validate(&f).unwrap();
        let blocks = compose(&f);
        let text = squash(&plain_text(&blocks));
        assert!(blocks.contains(&Block::Heading("Rechtsbehelfsbelehrung".to_owned())));
        assert!(
            text.contains(&squash(KLAGE_MEININGEN)),
            "{kind}: no Klage in\n{text}"
        );
        // The Klagefrist is the same period, computed as before (calendar::finality).
        assert!(text.contains(
            "Die Klagefrist endet mit Ablauf des 05.03.2027; ohne Klage wird der Bescheid am \
             06.03.2027 bestandskräftig."
        ));
        assert!(!text.contains("Widerspruch"), "{kind}: {text}");
        assert!(text.contains("Erfurt, 01.02.2027"));
    }
}

#[test]
fn a_court_without_a_verified_address_is_named_with_its_seat() {
    let mut f = ministry(NoticeKind::Grant);
    f.recipients = vec![recipient("Jena, Stadt", "16053000", &courts::GERA)];
    let text = squash(&plain_text(&compose(&f)));
    assert!(text.contains(
        "Klage beim Verwaltungsgericht Gera mit Sitz in Gera, schriftlich oder zu Protokoll"
    ));
    assert!(!text.contains("Meiningen"));
}

#[test]
fn joint_recipients_in_several_court_districts_each_get_their_court() {
    let mut f = ministry(NoticeKind::Grant);
    f.recipients = vec![
        recipient("Eisenach, Stadt", "16063105", &courts::MEININGEN),
        recipient("Bad Langensalza, Stadt", "16064003", &courts::WEIMAR),
        recipient("Bad Salzungen, Stadt", "16063003", &courts::MEININGEN),
    ];
    let text = plain_text(&compose(&f));
    for needle in [
        "Klage bei dem Verwaltungsgericht, in dessen Bezirk er seinen Sitz hat (§ 52 Nr. 3 \
         Satz 2 VwGO)",
        "– Eisenach, Stadt; Bad Salzungen, Stadt: Verwaltungsgericht Meiningen, Lindenallee \
         15, 98617 Meiningen\n– Bad Langensalza, Stadt: Verwaltungsgericht Weimar, Jenaer \
         Straße 2a, 99425 Weimar",
        "(§ 68 Abs. 1 Satz 2 Nr. 1, § 74 Abs. 1 Satz 2 VwGO)",
    ] {
        assert!(
            squash(&text).contains(&squash(needle)),
            "{needle:?} missing in\n{text}"
        );
    }
    assert!(text.contains("Verwaltungsgericht Meiningen, Lindenallee 15, 98617 Meiningen\n– Bad"));
}

#[test]
fn a_ministrys_notice_without_a_recipients_court_is_refused_an_authoritys_is_not() {
    let mut f = ministry(NoticeKind::Grant);
    f.recipients.push(Recipient {
        court: None,
        ..recipient("Nirgendwo", "16099999", &courts::WEIMAR)
    });
    let missing = Err(DocumentError::Missing {
        kind: "grant",
        field: "the competent court of every recipient",
    });
    assert_eq!(validate(&f), missing);
    assert_eq!(render_pdf(&f).map(|_| ()), missing);
    // compose still previews it, with the gap marked.
    assert!(plain_text(&compose(&f)).contains("zuständigen Verwaltungsgericht (fehlt)"));
    f.authority.level = AuthorityLevel::Landesbehoerde;
    assert_eq!(validate(&f), Ok(()));
}

#[test]
fn the_action_instructions_extract_from_the_pdf() {
    let f = ministry(NoticeKind::Grant);
    let text = squash(&extract_text(&render_pdf(&f).unwrap()));
    assert!(text.contains(&squash(KLAGE_MEININGEN)), "{text}");
    assert!(text.contains("Die Klagefrist endet mit Ablauf des 05.03.2027"));
    assert!(!text.contains("Widerspruch"));
}

#[test]
fn a_grant_lists_amounts_years_lines_reductions_and_conditions() {
    let text = plain_text(&compose(&sample(NoticeKind::Grant)));
    for needle in [
        "Zuwendungsfähige Ausgaben\t62.500,00 €",
        "Finanzierungsart\tAnteilfinanzierung",
        "Fördersatz\t80 %",
        "Höchstbetrag\t100.000,00 €",
        "Bewilligte Zuwendung\t50.000,00 €",
        "Die Zuwendung wird im Wege der Anteilfinanzierung in Höhe von 80 % der \
         zuwendungsfähigen Ausgaben, höchstens jedoch 100.000,00 €, gewährt.",
        "Soweit die beantragten Ausgaben nicht als zuwendungsfähig anerkannt werden, wird der \
         Antrag abgelehnt.",
        "Bewilligungszeitraum: vom 01.03.2027 bis 30.06.2028.",
        "für die Dauer von 5 Jahren",
        "2027\t30.000,00 €",
        "Summe\t50.000,00 €",
        "Nr.\tBezeichnung\tbeantragt\tanerkannt\tBegründung der Kürzung",
        "3\tSchulungen\t10.000,00 €\t7.500,00 €\tSchulungskosten",
        "4\tBewirtung\t2.000,00 €\t0,00 €\tBewirtungskosten sind nicht zuwendungsfähig",
        "\tSumme\t67.000,00 €\t62.500,00 €\t",
        "Die Allgemeinen Nebenbestimmungen für Zuwendungen zur Projektförderung an kommunale \
         Körperschaften (ANBest-K) sind Bestandteil dieses Bescheides.",
        "Der Verwendungsnachweis ist bis zum 31.12.2028 bei Thüringer Landesverwaltungsamt \
         vorzulegen.",
        "Nr. 3 Schulungen: beantragt 10.000,00 €, anerkannt 7.500,00 € – Schulungskosten",
    ] {
        assert!(text.contains(needle), "{needle:?} missing in\n{text}");
    }
    assert!(!text.contains("Bereits ausgezahlt"), "nothing is paid yet");
    assert!(!text.contains("(fehlt)"));
}

#[test]
fn a_final_notice_shows_actual_expenditure_and_the_reclaim() {
    let text = plain_text(&compose(&sample(NoticeKind::Final)));
    for needle in [
        "beantragt\tanerkannt\ttatsächlich\tBegründung der Kürzung",
        "Endgültig festgesetzte Zuwendung\t42.000,00 €",
        "Bereits ausgezahlt\t45.000,00 €",
        "Erstattungsbetrag\t3.000,00 €",
    ] {
        assert!(text.contains(needle), "{needle:?} missing in\n{text}");
    }
    assert!(!text.contains("ANBest-K"));
}

#[test]
fn a_joint_case_names_the_lead_and_the_shares() {
    let mut f = sample(NoticeKind::Grant);
    f.recipients = vec![
        Recipient {
            name: "Stadt Erfurt".to_owned(),
            ags: "16051000".to_owned(),
            share_bp: Some(3334),
            court: Some(&courts::WEIMAR),
        },
        Recipient {
            name: "Stadt Weimar".to_owned(),
            ags: "16055000".to_owned(),
            share_bp: Some(3333),
            court: Some(&courts::WEIMAR),
        },
    ];
    let text = plain_text(&compose(&f));
    assert!(text.contains("Stadt Erfurt (federführend, AGS 16051000, Anteil 33,34 %)"));
    assert!(text.contains("Stadt Weimar (AGS 16055000, Anteil 33,33 %)"));
}

#[test]
fn render_refuses_a_notice_without_what_its_kind_must_state() {
    let mut f = sample(NoticeKind::Grant);
    f.granted = None;
    assert_eq!(
        render_pdf(&f),
        Err(DocumentError::Missing {
            kind: "grant",
            field: "granted"
        })
    );
    let mut f = sample(NoticeKind::Revocation);
    f.reason = Some("  ".to_owned());
    assert!(matches!(
        render_pdf(&f),
        Err(DocumentError::Missing {
            field: "reason",
            ..
        })
    ));
    let mut f = sample(NoticeKind::Final);
    f.reclaim_due = None;
    assert!(matches!(
        render_pdf(&f),
        Err(DocumentError::Missing {
            field: "reclaim_due",
            ..
        })
    ));
}

#[test]
fn the_pdf_text_extracts_as_the_german_text() {
    let f = sample(NoticeKind::Grant);
    let pdf = render_pdf(&f).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    let text = squash(&extract_text(&pdf));
    for needle in [
        "Zuwendungsbescheid",
        "50.000,00 €",
        "62.500,00 €",
        "Rechtsbehelfsbelehrung",
        "Widerspruch",
        "Thüringer Landesverwaltungsamt",
        "Bewirtungskosten sind nicht zuwendungsfähig",
        "Seite 1 von 2",
        "Seite 2 von 2",
    ] {
        assert!(text.contains(needle), "{needle:?} missing in\n{text}");
    }
    // Every paragraph and heading, wrapped or not, reads back in full.
    for block in compose(&f) {
        if let Block::Paragraph(s) | Block::Heading(s) | Block::Title(s) = &block {
            assert!(text.contains(&squash(s)), "{s:?} missing in\n{text}");
        }
    }
    assert!(text.contains(&squash(&format!(
        "Nr. 3 Schulungen: beantragt 10.000,00 €, anerkannt 7.500,00 € – {REDUCTION}"
    ))));
}

#[test]
fn the_extractor_notices_missing_text() {
    // The checks above are only worth something if the extractor does not find what is not
    // there: change the amount and drop the address, and the old text is gone.
    let mut f = sample(NoticeKind::Grant);
    f.granted = Some(m(4_999_900));
    f.authority.address.clear();
    let text = squash(&extract_text(&render_pdf(&f).unwrap()));
    assert!(text.contains("Zuwendung in Höhe von 49.999,00 €"));
    assert!(!text.contains("Zuwendung in Höhe von 50.000,00 €"));
    assert!(!text.contains("Jorge-Semprún-Platz"));
    assert!(text.contains("zur Niederschrift bei Thüringer Landesverwaltungsamt einzulegen."));
}

#[test]
fn every_kind_renders() {
    for kind in NoticeKind::ALL {
        let pdf = render_pdf(&sample(kind)).unwrap();
        let text = squash(&extract_text(&pdf));
        assert!(text.contains(kind.title_de()), "{kind}");
        assert!(text.contains(&squash(tenor_of(kind).0)), "{kind}: {text}");
    }
}

#[test]
fn a_long_reason_breaks_onto_further_pages() {
    let mut f = sample(NoticeKind::Revocation);
    let sentence = "Die Prüfung des Verwendungsnachweises hat ergeben, dass Ausgaben in Höhe \
                    von 20.000,00 € nicht dem Zuwendungszweck entsprachen (§ 49 Abs. 3 \
                    Satz 1 Nr. 1 ThürVwVfG). ";
    let mut reason = sentence.repeat(5000 / sentence.len() + 1);
    // A word longer than a line, and a paragraph break.
    reason.push_str(&"x".repeat(300));
    reason.push_str("\n\nEnde der Begründung.");
    f.reason = Some(reason);
    f.lines[2].description = "Schulungen ".repeat(200);
    let pdf = render_pdf(&f).unwrap();
    let pages = page_count(&pdf);
    assert!(pages > 1, "{pages} page(s)");
    let text = squash(&extract_text(&pdf));
    assert!(text.contains(&format!("Seite 1 von {pages}")));
    assert!(text.contains(&format!("Seite {pages} von {pages}")));
    assert!(text.contains("Ende der Begründung."));
    assert!(text.contains("Rechtsbehelfsbelehrung"));
}

#[test]
fn characters_outside_the_font_still_extract() {
    let mut f = sample(NoticeKind::Grant);
    f.case_title = "Vorhaben mit Tab\tund ✓ und 漢字".to_owned();
    let text = squash(&extract_text(&render_pdf(&f).unwrap()));
    assert!(text.contains("Vorhaben mit Tab und ✓ und 漢字"), "{text}");
}

#[test]
fn the_pdf_is_deterministic_and_small() {
    let f = sample(NoticeKind::Grant);
    let a = render_pdf(&f).unwrap();
    assert_eq!(a, render_pdf(&f).unwrap());
    assert!(a.len() < 100_000, "{} bytes", a.len());
}

/// Reads the PDF with poppler's `pdftotext`, as a recipient's tools would.
#[test]
fn pdftotext_reads_the_german_text() {
    let required = std::env::var("FA_REQUIRE_PDFTOTEXT").is_ok_and(|v| v == "1");
    let present = std::process::Command::new("pdftotext")
        .arg("-v")
        .output()
        .is_ok();
    if !present {
        assert!(
            !required,
            "FA_REQUIRE_PDFTOTEXT=1 but pdftotext is not installed"
        );
        eprintln!("note: pdftotext not installed; skipping the poppler check");
        return;
    }
    let f = sample(NoticeKind::Grant);
    let path = std::env::temp_dir().join(format!("foerderakte-notice-{}.pdf", std::process::id()));
    std::fs::write(&path, render_pdf(&f).unwrap()).unwrap();
    let out = std::process::Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(&path)
        .arg("-")
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = squash(&String::from_utf8(out.stdout).unwrap());
    for needle in [
        "Zuwendungsbescheid",
        "50.000,00 €",
        "Rechtsbehelfsbelehrung",
        "Gegen diesen Bescheid kann innerhalb eines Monats nach Bekanntgabe Widerspruch \
         erhoben werden.",
        "(§ 41 Abs. 2 VwVfG i. V. m. § 1 Abs. 1 ThürVwVfG, 4. Tag nach der Aufgabe zur Post)",
        "„Digitales Bürgerbüro – Online-Terminvergabe und E-Akte“",
        "Nr. 3 Schulungen: beantragt 10.000,00 €, anerkannt 7.500,00 € – Schulungskosten",
        "Bewirtungskosten sind nicht zuwendungsfähig",
        "Seite 1 von 2",
    ] {
        assert!(
            text.contains(&squash(needle)),
            "{needle:?} missing in\n{text}"
        );
    }
}

// --- A minimal PDF text extractor -----------------------------------------------------------

/// An indirect object: its dictionary source and its (decompressed) stream, if any.
struct Object {
    dict: String,
    stream: Option<Vec<u8>>,
}

fn objects(pdf: &[u8]) -> HashMap<u32, Object> {
    let mut out = HashMap::new();
    let mut pos = 0;
    while let Some(at) = find(&pdf[pos..], b" 0 obj").map(|i| i + pos) {
        let start = pdf[..at]
            .iter()
            .rposition(|b| !b.is_ascii_digit())
            .map_or(0, |i| i + 1);
        let id: u32 = std::str::from_utf8(&pdf[start..at])
            .unwrap()
            .parse()
            .unwrap();
        let body_start = at + b" 0 obj".len();
        // Streams may contain "endobj" by chance: skip the stream data by its markers first.
        let (dict, stream, end) = match find(&pdf[body_start..], b"stream\n") {
            Some(s) if find(&pdf[body_start..body_start + s], b"endobj").is_none() => {
                let data_start = body_start + s + b"stream\n".len();
                let data_end = data_start + find(&pdf[data_start..], b"\nendstream").unwrap();
                let dict = String::from_utf8_lossy(&pdf[body_start..body_start + s]).into_owned();
                let raw = &pdf[data_start..data_end];
                let data = if dict.contains("/FlateDecode") {
                    miniz_oxide::inflate::decompress_to_vec_zlib(raw).unwrap()
                } else {
                    raw.to_vec()
                };
                (dict, Some(data), data_end)
            }
            _ => {
                let e = body_start + find(&pdf[body_start..], b"endobj").unwrap();
                (
                    String::from_utf8_lossy(&pdf[body_start..e]).into_owned(),
                    None,
                    e,
                )
            }
        };
        out.insert(id, Object { dict, stream });
        pos = end;
    }
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The object number referenced right after `key` ("/Contents 5 0 R" → 5).
fn reference(dict: &str, key: &str) -> Option<u32> {
    let rest = &dict[dict.find(key)? + key.len()..];
    let mut words = rest.split_whitespace();
    let id = words.next()?.parse().ok()?;
    (words.next() == Some("0") && words.next() == Some("R")).then_some(id)
}

fn page_ids(objs: &HashMap<u32, Object>) -> Vec<u32> {
    let tree = objs
        .values()
        .find(|o| o.dict.contains("/Type /Pages"))
        .unwrap();
    let kids = &tree.dict[tree.dict.find("/Kids").unwrap()..];
    let kids = &kids[kids.find('[').unwrap() + 1..kids.find(']').unwrap()];
    let words: Vec<&str> = kids.split_whitespace().collect();
    words.chunks(3).map(|c| c[0].parse().unwrap()).collect()
}

fn page_count(pdf: &[u8]) -> usize {
    page_ids(&objects(pdf)).len()
}

/// `bfchar` entries of a ToUnicode CMap: code → text.
fn parse_cmap(data: &[u8]) -> HashMap<u16, String> {
    let text = String::from_utf8_lossy(data);
    let mut map = HashMap::new();
    for section in text.split("beginbfchar").skip(1) {
        let section = &section[..section.find("endbfchar").unwrap()];
        for l in section.lines().filter(|l| l.contains('<')) {
            let hex: Vec<&str> = l
                .split(['<', '>'])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect();
            let code = u16::from_str_radix(hex[0], 16).unwrap();
            let units: Vec<u16> = (0..hex[1].len() / 4)
                .map(|i| u16::from_str_radix(&hex[1][i * 4..i * 4 + 4], 16).unwrap())
                .collect();
            map.insert(code, String::from_utf16(&units).unwrap());
        }
    }
    map
}

/// The font resources of a page: resource name → ToUnicode map of that font.
fn page_fonts(objs: &HashMap<u32, Object>, page: &Object) -> HashMap<String, HashMap<u16, String>> {
    let fonts = &page.dict[page.dict.find("/Font").unwrap()..];
    let fonts = &fonts[fonts.find("<<").unwrap() + 2..fonts.find(">>").unwrap()];
    let words: Vec<&str> = fonts.split_whitespace().collect();
    words
        .chunks(4)
        .map(|c| {
            let font = &objs[&c[1].parse::<u32>().unwrap()];
            let cmap = &objs[&reference(&font.dict, "/ToUnicode").unwrap()];
            (
                c[0].trim_start_matches('/').to_owned(),
                parse_cmap(cmap.stream.as_deref().unwrap()),
            )
        })
        .collect()
}

/// The text of all pages in order; each positioned run on its own line.
fn extract_text(pdf: &[u8]) -> String {
    let objs = objects(pdf);
    let mut out = String::new();
    for id in page_ids(&objs) {
        let page = &objs[&id];
        let fonts = page_fonts(&objs, page);
        let content = &objs[&reference(&page.dict, "/Contents").unwrap()];
        let mut font = String::new();
        let mut operands: Vec<Token> = Vec::new();
        for token in tokens(content.stream.as_deref().unwrap()) {
            match token {
                Token::Op(op) => {
                    match op.as_str() {
                        "Tf" => {
                            if let Some(Token::Name(n)) = operands.first() {
                                font = n.clone();
                            }
                        }
                        "Tj" | "TJ" | "'" | "\"" => {
                            let cmap = &fonts[&font];
                            for t in &operands {
                                if let Token::Str(bytes) = t {
                                    for pair in bytes.chunks(2) {
                                        let code = u16::from_be_bytes([pair[0], pair[1]]);
                                        out.push_str(&cmap[&code]);
                                    }
                                }
                            }
                        }
                        "Td" | "TD" | "Tm" | "T*" | "ET" => out.push('\n'),
                        _ => {}
                    }
                    operands.clear();
                }
                t => operands.push(t),
            }
        }
    }
    out
}

#[derive(Debug, Clone)]
enum Token {
    Num,
    Name(String),
    Str(Vec<u8>),
    Op(String),
}

/// Tokens of a content stream; array brackets are dropped, so the strings of a `TJ` array
/// are simply operands of `TJ`.
fn tokens(data: &[u8]) -> Vec<Token> {
    let mut out = Vec::new();
    let mut i = 0;
    let delim = |b: u8| b.is_ascii_whitespace() || b"()<>[]{}/%".contains(&b);
    while i < data.len() {
        let b = data[i];
        match b {
            _ if b.is_ascii_whitespace() || b == b'[' || b == b']' => i += 1,
            b'(' => {
                let mut s = Vec::new();
                let mut depth = 1;
                i += 1;
                while depth > 0 {
                    let c = data[i];
                    i += 1;
                    match c {
                        b'\\' => {
                            let e = data[i];
                            i += 1;
                            match e {
                                b'n' => s.push(b'\n'),
                                b'r' => s.push(b'\r'),
                                b't' => s.push(b'\t'),
                                b'b' => s.push(8),
                                b'f' => s.push(12),
                                b'0'..=b'7' => {
                                    let mut v = u32::from(e - b'0');
                                    for _ in 0..2 {
                                        if matches!(data[i], b'0'..=b'7') {
                                            v = v * 8 + u32::from(data[i] - b'0');
                                            i += 1;
                                        }
                                    }
                                    s.push(v as u8);
                                }
                                b'\n' => {}
                                other => s.push(other),
                            }
                        }
                        b'(' => {
                            depth += 1;
                            s.push(c);
                        }
                        b')' => {
                            depth -= 1;
                            if depth > 0 {
                                s.push(c);
                            }
                        }
                        _ => s.push(c),
                    }
                }
                out.push(Token::Str(s));
            }
            b'<' => {
                let end = i + data[i..].iter().position(|&c| c == b'>').unwrap();
                let hex: Vec<u8> = data[i + 1..end]
                    .iter()
                    .copied()
                    .filter(|c| !c.is_ascii_whitespace())
                    .collect();
                let bytes = hex
                    .chunks(2)
                    .map(|h| {
                        let h = std::str::from_utf8(h).unwrap();
                        let h = if h.len() == 1 {
                            format!("{h}0")
                        } else {
                            h.to_owned()
                        };
                        u8::from_str_radix(&h, 16).unwrap()
                    })
                    .collect();
                out.push(Token::Str(bytes));
                i = end + 1;
            }
            b'/' => {
                let end = i
                    + 1
                    + data[i + 1..]
                        .iter()
                        .position(|&c| delim(c))
                        .unwrap_or(data.len() - i - 1);
                out.push(Token::Name(
                    String::from_utf8_lossy(&data[i + 1..end]).into_owned(),
                ));
                i = end;
            }
            _ => {
                let end = i + data[i..]
                    .iter()
                    .position(|&c| delim(c))
                    .unwrap_or(data.len() - i);
                let end = end.max(i + 1);
                let word = String::from_utf8_lossy(&data[i..end]).into_owned();
                if word.parse::<f64>().is_ok() {
                    out.push(Token::Num);
                } else {
                    out.push(Token::Op(word));
                }
                i = end;
            }
        }
    }
    out
}

#[test]
fn the_notice_goes_to_the_applications_postal_address_and_contact() {
    let mut f = sample(NoticeKind::Grant);
    f.postal_address = Some("Stadtverwaltung Erfurt\nFischmarkt 1\n99084 Erfurt".to_owned());
    f.contact = Some("Ingo Beispiel, Leiter IT".to_owned());
    let text = squash(&extract_text(&render_pdf(&f).unwrap()));
    assert!(
        text.contains(
            "Stadtverwaltung Erfurt Fischmarkt 1 99084 Erfurt z. Hd. Ingo Beispiel, Leiter IT \
             Amtlicher Gemeindeschlüssel 16051000"
        ),
        "{text}"
    );
}
