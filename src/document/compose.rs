//! What a notice says, as a sequence of blocks: the German wording per kind of notice,
//! independent of the PDF, so that it can be tested as text and reused (preview, e-mail).

use crate::domain::courts::Court;
use crate::domain::notice::NoticeKind;
use crate::domain::remedy::Remedy;
use crate::domain::{FinancingType, Money};

use super::{DocLine, DocumentError, NoticeFacts, Recipient, date_de, euro_de, percent_de};
use crate::domain::remedy::vwvfg;

/// One unit of the document, in reading order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// Top left of the first page: authority name (bold), unit, address lines.
    Letterhead(Vec<String>),
    /// The addressees.
    Recipients(Vec<String>),
    /// "Erfurt, 01.02.2027", set flush right.
    PlaceDate(String),
    /// The title of the notice (kind).
    Title(String),
    /// Reference lines as label and value: number, Aktenzeichen, Betreff, …
    Fields(Vec<(String, String)>),
    /// A section heading.
    Heading(String),
    /// Running text; a `'\n'` inside is a forced line break.
    Paragraph(String),
    Table(Table),
    /// Closing: greeting, "Im Auftrag", the signatory, who prepared it.
    Signature(Vec<String>),
}

/// A table; every row has one cell per column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<String>>,
    /// The last row is a total: set apart by a rule and in bold.
    pub total: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// Empty headers in every column: the table is drawn without a header row.
    pub header: String,
    /// Relative width.
    pub weight: u16,
    pub align: Align,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

impl Column {
    fn new(header: &str, weight: u16, align: Align) -> Column {
        Column {
            header: header.to_owned(),
            weight,
            align,
        }
    }
}

impl Table {
    /// Whether a header row is drawn.
    pub fn has_header(&self) -> bool {
        self.columns.iter().any(|c| !c.header.is_empty())
    }
}

impl Block {
    /// The block's text: lines separated by `'\n'`, table cells by `'\t'`.
    pub fn text(&self) -> String {
        match self {
            Block::Letterhead(lines) | Block::Recipients(lines) | Block::Signature(lines) => {
                lines.join("\n")
            }
            Block::PlaceDate(s) | Block::Title(s) | Block::Heading(s) | Block::Paragraph(s) => {
                s.clone()
            }
            Block::Fields(pairs) => pairs
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect::<Vec<_>>()
                .join("\n"),
            Block::Table(t) => {
                let mut rows = Vec::new();
                if t.has_header() {
                    rows.push(t.columns.iter().map(|c| c.header.as_str()).collect());
                }
                rows.extend(
                    t.rows
                        .iter()
                        .map(|r| r.iter().map(String::as_str).collect()),
                );
                rows.iter()
                    .map(|r: &Vec<&str>| r.join("\t"))
                    .collect::<Vec<_>>()
                    .join("\n")
            }
        }
    }
}

/// The whole document as plain text, blocks separated by blank lines.
pub fn plain_text(blocks: &[Block]) -> String {
    blocks
        .iter()
        .map(Block::text)
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// Checks that the facts hold what this kind of notice must state; [`super::render_pdf`]
/// refuses to print a notice without, say, its amount. [`compose`] itself never fails and
/// writes "(fehlt)" where a fact is missing, so that a draft can still be previewed.
pub fn validate(f: &NoticeFacts) -> Result<(), DocumentError> {
    let kind = f.kind.as_str();
    let need = |present: bool, field: &'static str| {
        if present {
            Ok(())
        } else {
            Err(DocumentError::Missing { kind, field })
        }
    };
    need(!f.recipients.is_empty(), "a recipient")?;
    if f.authority.level.remedy() == Remedy::Klage {
        // § 58 Abs. 1 VwGO: the instructions must name the court and its seat.
        need(
            f.recipients.iter().all(|r| r.court.is_some()),
            "the competent court of every recipient",
        )?;
    }
    match f.kind {
        NoticeKind::Grant | NoticeKind::Final => need(f.granted.is_some(), "granted")?,
        NoticeKind::Amendment => {
            need(f.refers_to.is_some(), "refers_to")?;
            need(f.granted.is_some(), "granted")?;
        }
        // § 39 ThürVwVfG: whatever burdens the addressee must give its reasons.
        NoticeKind::Rejection => need(has_text(&f.reason), "reason")?,
        NoticeKind::Revocation => {
            need(f.refers_to.is_some(), "refers_to")?;
            need(f.revoked.is_some(), "revoked")?;
            need(f.interest_from.is_some(), "interest_from")?;
            need(has_text(&f.reason), "reason")?;
        }
        NoticeKind::EarlyStart => {}
    }
    if reclaims(f).is_some() {
        need(f.reclaim_due.is_some(), "reclaim_due")?;
    }
    Ok(())
}

/// The text of the notice, in the order the PDF shows it.
pub fn compose(f: &NoticeFacts) -> Vec<Block> {
    let mut b = Vec::new();
    b.push(Block::Letterhead(letterhead(f)));
    b.push(Block::Recipients(recipients(f)));
    b.push(Block::PlaceDate(format!(
        "{}, {}",
        f.authority.place,
        date_de(f.dated)
    )));
    b.push(Block::Title(f.kind.title_de().to_owned()));
    b.push(Block::Fields(reference_fields(f)));
    b.push(Block::Paragraph(
        "Sehr geehrte Damen und Herren,".to_owned(),
    ));

    b.push(Block::Heading("Entscheidung".to_owned()));
    b.extend(tenor(f).into_iter().map(Block::Paragraph));

    // The purpose is set by the grant (and may be changed by an amendment); the other kinds
    // do not decide it.
    let sets_purpose = matches!(f.kind, NoticeKind::Grant | NoticeKind::Amendment);
    if let Some(purpose) = f.purpose.as_deref().filter(|_| sets_purpose) {
        b.push(Block::Heading("Zuwendungszweck".to_owned()));
        b.push(Block::Paragraph(purpose.to_owned()));
    }
    if let Some(t) = amounts_table(f) {
        b.push(Block::Heading("Höhe der Zuwendung".to_owned()));
        b.push(Block::Table(t));
    }
    let period = period_paragraphs(f);
    if !period.is_empty() {
        b.push(Block::Heading(
            "Bewilligungszeitraum und Zweckbindung".to_owned(),
        ));
        b.extend(period.into_iter().map(Block::Paragraph));
    }
    if !f.allocations.is_empty() && matches!(f.kind, NoticeKind::Grant | NoticeKind::Amendment) {
        b.push(Block::Heading("Aufteilung auf Haushaltsjahre".to_owned()));
        b.push(Block::Table(allocation_table(f)));
    }
    if !f.lines.is_empty() && !matches!(f.kind, NoticeKind::Rejection | NoticeKind::EarlyStart) {
        b.push(Block::Heading("Ausgaben im Einzelnen".to_owned()));
        b.push(Block::Table(lines_table(&f.lines)));
    }
    if matches!(f.kind, NoticeKind::Grant | NoticeKind::Amendment) {
        b.push(Block::Heading("Nebenbestimmungen".to_owned()));
        b.push(Block::Paragraph(
            "Die Allgemeinen Nebenbestimmungen für Zuwendungen zur Projektförderung an \
             kommunale Körperschaften (ANBest-K) sind Bestandteil dieses Bescheides."
                .to_owned(),
        ));
        if let Some(due) = f.proof_due {
            b.push(Block::Paragraph(format!(
                "Der Verwendungsnachweis ist bis zum {} bei {} vorzulegen.",
                date_de(due),
                f.authority.name
            )));
        }
    }

    let reasons = reason_paragraphs(f);
    if !reasons.is_empty() {
        b.push(Block::Heading("Begründung".to_owned()));
        b.extend(reasons.into_iter().map(Block::Paragraph));
    }

    b.extend(remedy_blocks(f));

    b.push(Block::Signature(vec![
        "Mit freundlichen Grüßen".to_owned(),
        "Im Auftrag".to_owned(),
        f.signed_by.clone(),
        format!("Vorbereitet: {}", f.prepared_by),
    ]));
    b
}

fn letterhead(f: &NoticeFacts) -> Vec<String> {
    let a = &f.authority;
    let mut lines = vec![a.name.clone()];
    if !a.unit.is_empty() {
        lines.push(a.unit.clone());
    }
    lines.extend(a.address.iter().cloned());
    lines
}

/// The address block: the application's postal address and contact where it has them (for a
/// joint case the lead's), then who the recipients are.
fn recipients(f: &NoticeFacts) -> Vec<String> {
    let mut lines: Vec<String> = f
        .postal_address
        .iter()
        .flat_map(|a| a.lines().map(str::trim).filter(|l| !l.is_empty()))
        .map(str::to_owned)
        .collect();
    if let Some(c) = &f.contact {
        lines.push(format!("z. Hd. {c}"));
    }
    if let [single] = f.recipients.as_slice() {
        if lines.is_empty() {
            lines.push(single.name.clone());
        }
        lines.push(format!("Amtlicher Gemeindeschlüssel {}", single.ags));
        return lines;
    }
    lines.push("Gemeinsames Vorhaben der Zuwendungsempfänger:".to_owned());
    for (i, r) in f.recipients.iter().enumerate() {
        let mut details = vec![format!("AGS {}", r.ags)];
        if i == 0 {
            details.insert(0, "federführend".to_owned());
        }
        if let Some(bp) = r.share_bp {
            details.push(format!("Anteil {}", percent_de(bp)));
        }
        lines.push(format!("{} ({})", r.name, details.join(", ")));
    }
    lines
}

fn reference_fields(f: &NoticeFacts) -> Vec<(String, String)> {
    let mut fields = vec![
        ("Bescheid-Nr.".to_owned(), f.number.clone()),
        ("Aktenzeichen".to_owned(), f.case_number.clone()),
        ("Betreff".to_owned(), f.case_title.clone()),
        ("Förderprogramm".to_owned(), f.programme_name.clone()),
        ("Rechtsgrundlage".to_owned(), f.legal_basis.clone()),
    ];
    if let Some(r) = &f.refers_to {
        fields.push(("Bezug".to_owned(), format!("Bescheid {r}")));
    }
    fields
}

/// The decision itself (Tenor), one paragraph per sentence group.
fn tenor(f: &NoticeFacts) -> Vec<String> {
    let title = quoted(&f.case_title);
    let refers = f.refers_to.as_deref().unwrap_or(MISSING);
    let mut p = Vec::new();
    match f.kind {
        NoticeKind::Grant => {
            p.push(format!(
                "Auf Ihren Antrag hin wird Ihnen für das Vorhaben {title} eine Zuwendung in \
                 Höhe von {} als nicht rückzahlbarer Zuschuss im Wege der Projektförderung \
                 bewilligt.",
                amount(f.granted)
            ));
            p.extend(financing_sentence(f));
            if f.lines.iter().any(|l| reduced(l).is_some()) {
                p.push(
                    "Soweit die beantragten Ausgaben nicht als zuwendungsfähig anerkannt \
                     werden, wird der Antrag abgelehnt."
                        .to_owned(),
                );
            }
        }
        NoticeKind::Rejection => p.push(format!(
            "Ihr Antrag auf Gewährung einer Zuwendung für das Vorhaben {title} wird abgelehnt."
        )),
        NoticeKind::EarlyStart => {
            p.push(format!(
                "Dem vorzeitigen Beginn des Vorhabens {title} wird nach VV Nr. 1.3 zu § 44 \
                 ThürLHO zugestimmt. Diese Zustimmung begründet keinen Anspruch auf eine \
                 Zuwendung."
            ));
            p.push(
                "Das Finanzierungsrisiko für den Fall, dass der Antrag ganz oder teilweise \
                 abgelehnt wird, tragen Sie."
                    .to_owned(),
            );
        }
        NoticeKind::Amendment => {
            let before = f
                .previous_grant
                .map(|m| format!(" (bisher {})", euro_de(m)))
                .unwrap_or_default();
            p.push(format!(
                "Der Zuwendungsbescheid {refers} wird wie folgt geändert: Die Zuwendung \
                 beträgt nunmehr {}{before}.",
                amount(f.granted)
            ));
            p.extend(financing_sentence(f));
            p.extend(reclaim_sentence(f));
            p.push(format!(
                "Im Übrigen bleibt der Zuwendungsbescheid {refers} unverändert."
            ));
        }
        NoticeKind::Final => {
            p.push(format!(
                "Die Zuwendung für das Vorhaben {title} wird endgültig auf {} festgesetzt.",
                amount(f.granted)
            ));
            if let Some(m) = reclaims(f) {
                p.push(format!(
                    "Der überzahlte Betrag von {} ist bis zum {} zu erstatten.",
                    euro_de(m),
                    date_opt(f.reclaim_due)
                ));
                if let Some(from) = f.interest_from {
                    p.push(format!(
                        "Der Erstattungsbetrag ist nach {} ab dem {} mit fünf Prozentpunkten \
                         über dem Basiszinssatz jährlich zu verzinsen.",
                        vwvfg("§ 49a Abs. 3", f.dated),
                        date_de(from)
                    ));
                }
            }
        }
        NoticeKind::Revocation => {
            p.push(format!(
                "Der Zuwendungsbescheid {refers} wird in Höhe von {} mit Wirkung vom {} \
                 widerrufen ({}).",
                amount(f.revoked),
                date_opt(f.interest_from),
                vwvfg("§ 49 Abs. 3", f.dated)
            ));
            p.push(match reclaims(f) {
                Some(_) => revocation_reclaim(f),
                None => "Da der widerrufene Betrag nicht ausgezahlt wurde, ist nichts zu \
                         erstatten."
                    .to_owned(),
            });
        }
    }
    p
}

fn revocation_reclaim(f: &NoticeFacts) -> String {
    format!(
        "Der zu erstattende Betrag von {} ist bis zum {} zu erstatten und nach {} ab dem {} \
         mit fünf Prozentpunkten über dem Basiszinssatz jährlich zu verzinsen.",
        amount(f.reclaim),
        date_opt(f.reclaim_due),
        vwvfg("§ 49a Abs. 3", f.dated),
        date_opt(f.interest_from)
    )
}

/// An amendment may lower the grant below what was paid: then the difference is reclaimed.
fn reclaim_sentence(f: &NoticeFacts) -> Option<String> {
    reclaims(f)?;
    Some(match f.interest_from {
        Some(_) => revocation_reclaim(f),
        None => format!(
            "Der überzahlte Betrag von {} ist bis zum {} zu erstatten.",
            amount(f.reclaim),
            date_opt(f.reclaim_due)
        ),
    })
}

fn financing_sentence(f: &NoticeFacts) -> Option<String> {
    let at_most = f
        .max_amount
        .map(|m| format!(", höchstens jedoch {},", euro_de(m)))
        .unwrap_or_default();
    let how = match f.financing_type? {
        FinancingType::Anteil => match f.rate_bp {
            Some(bp) => format!(
                "im Wege der Anteilfinanzierung in Höhe von {} der zuwendungsfähigen \
                 Ausgaben{at_most}",
                percent_de(bp)
            ),
            None => format!("im Wege der Anteilfinanzierung{at_most}"),
        },
        FinancingType::Fehlbedarf => format!("im Wege der Fehlbedarfsfinanzierung{at_most}"),
        FinancingType::Festbetrag => match f.fixed_amount {
            Some(m) => format!(
                "im Wege der Festbetragsfinanzierung in Höhe von {}",
                euro_de(m)
            ),
            None => "im Wege der Festbetragsfinanzierung".to_owned(),
        },
        FinancingType::Voll => format!("im Wege der Vollfinanzierung{at_most}"),
    };
    Some(format!("Die Zuwendung wird {how} gewährt."))
}

/// Label and amount rows of whatever applies to this kind.
fn amounts_table(f: &NoticeFacts) -> Option<Table> {
    if matches!(f.kind, NoticeKind::Rejection | NoticeKind::EarlyStart) {
        return None;
    }
    let mut rows: Vec<(String, String)> = Vec::new();
    let mut row = |label: &str, value: String| rows.push((label.to_owned(), value));
    if let Some(m) = f.eligible {
        row("Zuwendungsfähige Ausgaben", euro_de(m));
    }
    if let Some(t) = f.financing_type {
        row("Finanzierungsart", financing_de(t).to_owned());
    }
    if let Some(bp) = f.rate_bp {
        row("Fördersatz", percent_de(bp));
    }
    if let Some(m) = f.max_amount {
        row("Höchstbetrag", euro_de(m));
    }
    if let Some(m) = f.fixed_amount {
        row("Festbetrag", euro_de(m));
    }
    if let Some(m) = f.previous_grant {
        row("Bisherige Zuwendung", euro_de(m));
    }
    if let Some(m) = f.revoked {
        row("Widerrufener Betrag", euro_de(m));
    }
    let granted_label = match f.kind {
        NoticeKind::Amendment => "Zuwendung nach dieser Änderung",
        NoticeKind::Final => "Endgültig festgesetzte Zuwendung",
        NoticeKind::Revocation => "Zuwendung nach dem Widerruf",
        _ => "Bewilligte Zuwendung",
    };
    if let Some(m) = f.granted {
        row(granted_label, euro_de(m));
    }
    if f.kind != NoticeKind::Grant || f.paid != Money::ZERO {
        row("Bereits ausgezahlt", euro_de(f.paid));
    }
    if let Some(m) = reclaims(f) {
        row("Erstattungsbetrag", euro_de(m));
    }
    Some(Table {
        columns: vec![
            Column::new("", 3, Align::Left),
            Column::new("", 2, Align::Right),
        ],
        rows: rows.into_iter().map(|(l, v)| vec![l, v]).collect(),
        total: false,
    })
}

fn period_paragraphs(f: &NoticeFacts) -> Vec<String> {
    if !matches!(
        f.kind,
        NoticeKind::Grant | NoticeKind::Amendment | NoticeKind::Final
    ) {
        return Vec::new();
    }
    let mut p = Vec::new();
    if let Some((from, to)) = f.grant_period {
        p.push(format!(
            "Bewilligungszeitraum: vom {} bis {}.",
            date_de(from),
            date_de(to)
        ));
    }
    if let Some(years) = f.binding_years.filter(|_| f.kind != NoticeKind::Final) {
        let unit = if years == 1 { "Jahr" } else { "Jahren" };
        p.push(format!(
            "Zweckbindungsfrist: Die mit der Zuwendung erworbenen oder hergestellten \
             Gegenstände und Leistungen sind für die Dauer von {years} {unit} nach \
             Abschluss des Vorhabens für den Zuwendungszweck zu verwenden."
        ));
    }
    p
}

fn allocation_table(f: &NoticeFacts) -> Table {
    let mut rows: Vec<Vec<String>> = f
        .allocations
        .iter()
        .map(|(year, m)| vec![year.to_string(), euro_de(*m)])
        .collect();
    let total = f.allocations.len() > 1;
    if total {
        rows.push(vec![
            "Summe".to_owned(),
            sum(f.allocations.iter().map(|a| a.1)),
        ]);
    }
    Table {
        columns: vec![
            Column::new("Haushaltsjahr", 3, Align::Left),
            Column::new("Betrag", 2, Align::Right),
        ],
        rows,
        total,
    }
}

fn lines_table(lines: &[DocLine]) -> Table {
    let with_actual = lines.iter().any(|l| l.decided.actual.is_some());
    let mut columns = vec![
        Column::new("Nr.", 4, Align::Left),
        Column::new("Bezeichnung", 16, Align::Left),
        Column::new("beantragt", 11, Align::Right),
        Column::new("anerkannt", 11, Align::Right),
    ];
    if with_actual {
        columns.push(Column::new("tatsächlich", 11, Align::Right));
    }
    columns.push(Column::new("Begründung der Kürzung", 17, Align::Left));

    let mut rows = Vec::new();
    for l in lines {
        let mut row = vec![
            l.decided.line.to_string(),
            l.description.clone(),
            euro_de(l.decided.applied),
            euro_de(l.decided.approved),
        ];
        if with_actual {
            row.push(
                l.decided
                    .actual
                    .map(euro_de)
                    .unwrap_or_else(|| "–".to_owned()),
            );
        }
        row.push(reduced(l).unwrap_or_default());
        rows.push(row);
    }
    let mut total = vec![
        String::new(),
        "Summe".to_owned(),
        sum(lines.iter().map(|l| l.decided.applied)),
        sum(lines.iter().map(|l| l.decided.approved)),
    ];
    if with_actual {
        total.push(sum(lines.iter().filter_map(|l| l.decided.actual)));
    }
    total.push(String::new());
    rows.push(total);
    Table {
        columns,
        rows,
        total: true,
    }
}

/// `Some(reason)` when the line is not recognised in full (against the actual expenditure
/// where there is one): the reason given, or for an ineligible line a default.
fn reduced(l: &DocLine) -> Option<String> {
    let basis = l.decided.actual.unwrap_or(l.decided.applied);
    if l.decided.eligible && l.decided.approved >= basis {
        return None;
    }
    Some(match (&l.decided.reason, l.decided.eligible) {
        (Some(r), _) if !r.trim().is_empty() => r.trim().to_owned(),
        (_, false) => "nicht zuwendungsfähig".to_owned(),
        _ => String::new(),
    })
}

fn reason_paragraphs(f: &NoticeFacts) -> Vec<String> {
    let mut p: Vec<String> = f
        .reason
        .as_deref()
        .unwrap_or_default()
        .split("\n\n")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if matches!(f.kind, NoticeKind::Rejection | NoticeKind::EarlyStart) {
        return p;
    }
    let cuts: Vec<String> = f
        .lines
        .iter()
        .filter_map(|l| {
            let why = reduced(l)?;
            let basis = match l.decided.actual {
                Some(a) => format!("nachgewiesen {}", euro_de(a)),
                None => format!("beantragt {}", euro_de(l.decided.applied)),
            };
            let why = if why.is_empty() {
                String::new()
            } else {
                format!(" – {why}")
            };
            Some(format!(
                "Nr. {} {}: {basis}, anerkannt {}{why}",
                l.decided.line,
                l.description,
                euro_de(l.decided.approved)
            ))
        })
        .collect();
    if !cuts.is_empty() {
        p.push(
            "Folgende Ausgaben wurden nicht oder nicht in voller Höhe als zuwendungsfähig \
             anerkannt:"
                .to_owned(),
        );
        p.extend(cuts);
    }
    p
}

/// The legal-remedy instructions (by the authority's level) and the notes on notification,
/// with the day the period ends and the notice becomes final.
fn remedy_blocks(f: &NoticeFacts) -> Vec<Block> {
    let (instructions, period, without) = match f.authority.level.remedy() {
        Remedy::Widerspruch => (
            vec![widerspruch(f)],
            "Widerspruchsfrist",
            "ohne Widerspruch",
        ),
        Remedy::Klage => (klage(&f.recipients), "Klagefrist", "ohne Klage"),
    };
    let mut b = vec![Block::Heading("Rechtsbehelfsbelehrung".to_owned())];
    b.extend(instructions.into_iter().map(Block::Paragraph));
    b.push(Block::Heading("Hinweise zur Bekanntgabe".to_owned()));
    b.push(Block::Paragraph(format!(
        "Dieser Bescheid wurde am {} zur Post gegeben und gilt am {} als bekannt gegeben \
         ({}, {}. Tag nach der Aufgabe zur Post). Die {period} endet mit \
         Ablauf des {}; {without} wird der Bescheid am {} bestandskräftig.",
        date_de(f.posted_on),
        date_de(f.finality.delivered_on),
        vwvfg("§ 41 Abs. 2", f.posted_on),
        f.delivery_days,
        date_de(f.finality.appeal_deadline),
        date_de(f.finality.final_on),
    )));
    b
}

/// Objection to the issuing authority (a notice of a Landesbehörde, §§ 68, 70 VwGO).
fn widerspruch(f: &NoticeFacts) -> String {
    let a = &f.authority;
    let place = if a.address.is_empty() {
        a.name.clone()
    } else {
        format!("{}, {}", a.name, a.address.join(", "))
    };
    format!(
        "Gegen diesen Bescheid kann innerhalb eines Monats nach Bekanntgabe Widerspruch \
         erhoben werden. Der Widerspruch ist schriftlich oder zur Niederschrift bei {place} \
         einzulegen."
    )
}

/// Why there is no Widerspruch, and where the period comes from.
const KLAGE_BASIS: &str = "Eines Vorverfahrens bedarf es nicht, da der Bescheid von einer \
                           obersten Landesbehörde erlassen wurde (§ 68 Abs. 1 Satz 2 Nr. 1, \
                           § 74 Abs. 1 Satz 2 VwGO).";

/// Action at the administrative court of each recipient's seat (a notice of an oberste
/// Landesbehörde, § 52 Nr. 3 Satz 2 VwGO); recipients in several districts are listed with
/// their court, lead first.
fn klage(recipients: &[Recipient]) -> Vec<String> {
    let mut groups: Vec<(Option<&Court>, Vec<&str>)> = Vec::new();
    for r in recipients {
        match groups.iter_mut().find(|(c, _)| *c == r.court) {
            Some((_, names)) => names.push(&r.name),
            None => groups.push((r.court, vec![&r.name])),
        }
    }
    if let [(court, _)] = groups.as_slice() {
        return vec![format!(
            "Gegen diesen Bescheid kann innerhalb eines Monats nach Bekanntgabe Klage beim {}, \
             schriftlich oder zu Protokoll des Urkundsbeamten der Geschäftsstelle erhoben \
             werden. {KLAGE_BASIS}",
            court_de(*court)
        )];
    }
    let list: Vec<String> = groups
        .iter()
        .map(|(court, names)| format!("– {}: {}", names.join("; "), court_de(*court)))
        .collect();
    vec![
        format!(
            "Gegen diesen Bescheid kann jeder Zuwendungsempfänger innerhalb eines Monats nach \
             Bekanntgabe Klage bei dem Verwaltungsgericht, in dessen Bezirk er seinen Sitz hat \
             (§ 52 Nr. 3 Satz 2 VwGO), schriftlich oder zu Protokoll des Urkundsbeamten der \
             Geschäftsstelle erheben:\n{}",
            list.join("\n")
        ),
        KLAGE_BASIS.to_owned(),
    ]
}

/// „Verwaltungsgericht Meiningen, Lindenallee 15, 98617 Meiningen"; without a verified
/// address the seat: „Verwaltungsgericht Gera mit Sitz in Gera".
fn court_de(court: Option<&Court>) -> String {
    match court {
        Some(c) => match c.address_line() {
            Some(address) => format!("{}, {address}", c.name),
            None => format!("{} mit Sitz in {}", c.name, c.seat),
        },
        None => format!("zuständigen Verwaltungsgericht {MISSING}"),
    }
}

/// The amount to be paid back, if there is one.
fn reclaims(f: &NoticeFacts) -> Option<Money> {
    f.reclaim.filter(|m| m.cents() > 0)
}

fn financing_de(t: FinancingType) -> &'static str {
    match t {
        FinancingType::Anteil => "Anteilfinanzierung",
        FinancingType::Fehlbedarf => "Fehlbedarfsfinanzierung",
        FinancingType::Festbetrag => "Festbetragsfinanzierung",
        FinancingType::Voll => "Vollfinanzierung",
    }
}

fn has_text(s: &Option<String>) -> bool {
    s.as_deref().is_some_and(|s| !s.trim().is_empty())
}

fn quoted(s: &str) -> String {
    format!("„{s}“")
}

const MISSING: &str = "(fehlt)";

fn amount(m: Option<Money>) -> String {
    m.map(euro_de).unwrap_or_else(|| MISSING.to_owned())
}

fn date_opt(d: Option<chrono::NaiveDate>) -> String {
    d.map(date_de).unwrap_or_else(|| MISSING.to_owned())
}

/// Sum as text; saturates to "(fehlt)" only on an impossible overflow.
fn sum(mut amounts: impl Iterator<Item = Money>) -> String {
    amounts
        .try_fold(Money::ZERO, Money::checked_add)
        .map(euro_de)
        .unwrap_or_else(|| MISSING.to_owned())
}
