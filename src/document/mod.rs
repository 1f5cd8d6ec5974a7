//! The signed decision notice (Bescheid) as a German PDF.
//!
//! Pure: the caller gathers the facts from the database into [`NoticeFacts`]; this module
//! turns them into text ([`compose`]) and lays that text out on A4 pages ([`render_pdf`]).
//! No clock, no I/O, no network: the font (DejaVu Sans) is compiled in from the `dejavu`
//! crate, and the same facts always give the same bytes.
//!
//! Text in the PDF is real text: every glyph maps back to its character through a
//! `ToUnicode` map, so copy and paste, search and `pdftotext` return the German text.

mod compose;
mod pdf;

#[cfg(test)]
mod tests;

use chrono::NaiveDate;

use crate::domain::calendar::Finality;
use crate::domain::courts::Court;
use crate::domain::notice::{NoticeKind, NoticeLine};
use crate::domain::remedy::AuthorityLevel;
use crate::domain::{FinancingType, Money};

pub use compose::{Align, Block, Column, Table, compose, plain_text, validate};
pub use pdf::{printable, render_pdf};

/// The issuing authority, as printed in the letterhead and the legal-remedy instructions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authority {
    pub name: String,
    pub unit: String,
    /// Postal address lines, e.g. `["Steigerstraße 24", "99096 Erfurt"]`.
    pub address: Vec<String>,
    /// Where the notice is dated ("Erfurt, 01.02.2027").
    pub place: String,
    /// Decides the remedy the instructions name: Klage for an oberste Landesbehörde,
    /// Widerspruch to this authority otherwise.
    pub level: AuthorityLevel,
}

/// One addressee. Joint cases have several; the lead comes first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub name: String,
    /// Amtlicher Gemeindeschlüssel.
    pub ags: String,
    /// Share of a joint case in basis points (3334 = 33,34 %); `None` for a single recipient.
    pub share_bp: Option<i32>,
    /// The administrative court of the recipient's seat on the notice's date (§ 52 Nr. 3
    /// Satz 2 VwGO); a notice of an oberste Landesbehörde needs it for every recipient.
    pub court: Option<&'static Court>,
}

/// A cost line as the notice decides it (`decided`: applied, approved, actual expenditure of
/// a final notice, the reason of a cut), with the case's description of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocLine {
    pub decided: NoticeLine,
    pub description: String,
}

/// Everything a notice says. Which fields a kind needs is checked by [`validate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeFacts {
    pub kind: NoticeKind,
    pub authority: Authority,
    /// Lead first.
    pub recipients: Vec<Recipient>,
    /// Where the notice is sent (the application's postal address, lines separated by line
    /// breaks) and to whom (a person by name and function); cases from before these were
    /// asked for have neither, and their notices are addressed by the register's name.
    pub postal_address: Option<String>,
    pub contact: Option<String>,
    /// Notice number, e.g. "EGOV-2026-0042-B1".
    pub number: String,
    /// Case number (Aktenzeichen), e.g. "EGOV-2026-0042".
    pub case_number: String,
    /// Project title (Betreff).
    pub case_title: String,
    pub programme_name: String,
    pub legal_basis: String,
    /// Date of the notice (day of signing).
    pub dated: NaiveDate,
    /// Number of the notice this one changes (amendment, final notice, revocation).
    pub refers_to: Option<String>,
    /// Zuwendungszweck.
    pub purpose: Option<String>,
    /// Zweckbindungsfrist in years.
    pub binding_years: Option<i32>,
    pub financing_type: Option<FinancingType>,
    /// Fördersatz in basis points (8000 = 80 %).
    pub rate_bp: Option<i32>,
    pub max_amount: Option<Money>,
    pub fixed_amount: Option<Money>,
    /// Zuwendungsfähige Ausgaben.
    pub eligible: Option<Money>,
    /// The grant in force after this notice.
    pub granted: Option<Money>,
    pub previous_grant: Option<Money>,
    pub paid: Money,
    pub revoked: Option<Money>,
    /// Erstattungsbetrag.
    pub reclaim: Option<Money>,
    pub reclaim_due: Option<NaiveDate>,
    /// From when the reclaimed amount bears interest (§ 49a Abs. 3 ThürVwVfG); for a
    /// revocation also the day it takes effect.
    pub interest_from: Option<NaiveDate>,
    pub grant_period: Option<(NaiveDate, NaiveDate)>,
    /// Deadline for the proof of use (Verwendungsnachweis).
    pub proof_due: Option<NaiveDate>,
    /// (fiscal year, amount)
    pub allocations: Vec<(i32, Money)>,
    pub lines: Vec<DocLine>,
    /// Begründung as written by the caseworker; blank lines separate paragraphs.
    pub reason: Option<String>,
    pub posted_on: NaiveDate,
    pub delivery_days: u32,
    pub finality: Finality,
    pub prepared_by: String,
    pub signed_by: String,
}

/// Why no document could be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    /// The facts lack something this kind of notice must state (a caller error).
    #[error("a {kind} notice needs {field}")]
    Missing {
        kind: &'static str,
        field: &'static str,
    },
    /// The compiled-in font could not be read or subset (a bug, not an input error).
    #[error("font: {0}")]
    Font(String),
    /// More distinct characters than a two-byte font encoding can address.
    #[error("the text uses more distinct characters than a PDF font can address")]
    TooManyCharacters,
}

/// German amount: `1.234.567,89 €` (thousands '.', decimals ',', a normal space before €).
pub fn euro_de(m: Money) -> String {
    euro_cents_de(m.cents())
}

/// Any number of cents as a German amount (as `euro_de`; a report's sum may leave the money
/// range).
pub fn euro_cents_de(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}{},{:02} €", group_thousands(abs / 100), abs % 100)
}

/// German date: `01.02.2027`.
pub fn date_de(d: NaiveDate) -> String {
    d.format("%d.%m.%Y").to_string()
}

/// German percentage from basis points, without trailing zeros: 8000 → `80 %`,
/// 7550 → `75,5 %`, 3334 → `33,34 %`.
pub fn percent_de(bp: i32) -> String {
    let sign = if bp < 0 { "-" } else { "" };
    let abs = bp.unsigned_abs();
    let (whole, frac) = (abs / 100, abs % 100);
    match frac {
        0 => format!("{sign}{whole} %"),
        f if f.is_multiple_of(10) => format!("{sign}{whole},{} %", f / 10),
        f => format!("{sign}{whole},{f:02} %"),
    }
}

/// `1234567` → `1.234.567`.
pub fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    out
}
