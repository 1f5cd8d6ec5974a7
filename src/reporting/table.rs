//! A report as a table, written as CSV: RFC 4180 (comma, decimal point, English headers) or
//! for German Excel (semicolon, decimal comma, `ja`/`nein`, German headers, UTF-8 byte-order
//! mark so that Excel reads the umlauts). Both end records with CRLF and quote only where
//! needed. Amounts are whole cents written with two decimals and no thousands separator, so
//! that a spreadsheet reads them as numbers and nothing is rounded. A text cell a spreadsheet
//! would take for a formula is made inert first (`inert`).

use std::borrow::Cow;

use rust_decimal::Decimal;

use crate::domain::money::cents_text;

/// One cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    Text(String),
    Int(i64),
    /// Cents, written as euros with two decimals.
    Money(i64),
    /// A decimal number, written with the dialect's decimal separator.
    Decimal(Decimal),
    Bool(bool),
    Empty,
}

impl From<Option<String>> for Cell {
    fn from(v: Option<String>) -> Cell {
        v.map_or(Cell::Empty, Cell::Text)
    }
}

/// A column: its English key (the JSON field name) and its German header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub en: &'static str,
    pub de: &'static str,
}

impl Column {
    pub const fn new(en: &'static str, de: &'static str) -> Column {
        Column { en, de }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Table {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Cell>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// RFC 4180: comma, decimal point, English headers.
    Rfc4180,
    /// German Excel: semicolon, decimal comma, German headers, BOM.
    German,
}

impl Table {
    pub fn to_csv(&self, dialect: Dialect) -> Result<Vec<u8>, csv::Error> {
        let (delimiter, decimal) = match dialect {
            Dialect::Rfc4180 => (b',', '.'),
            Dialect::German => (b';', ','),
        };
        let mut out = Vec::new();
        if dialect == Dialect::German {
            out.extend_from_slice("\u{feff}".as_bytes());
        }
        {
            let mut w = csv::WriterBuilder::new()
                .delimiter(delimiter)
                .terminator(csv::Terminator::CRLF)
                .from_writer(&mut out);
            w.write_record(self.columns.iter().map(|c| match dialect {
                Dialect::Rfc4180 => c.en,
                Dialect::German => c.de,
            }))?;
            for row in &self.rows {
                w.write_record(row.iter().map(|cell| match cell {
                    Cell::Text(s) => inert(s).into_owned(),
                    Cell::Int(i) => i.to_string(),
                    Cell::Money(c) => cents_text(*c, decimal),
                    Cell::Decimal(d) => d.to_string().replace('.', &decimal.to_string()),
                    Cell::Bool(b) => match (dialect, b) {
                        (Dialect::Rfc4180, true) => "true".into(),
                        (Dialect::Rfc4180, false) => "false".into(),
                        (Dialect::German, true) => "ja".into(),
                        (Dialect::German, false) => "nein".into(),
                    },
                    Cell::Empty => String::new(),
                }))?;
            }
            w.flush()?;
        }
        Ok(out)
    }
}

/// The characters a spreadsheet reads as the start of a formula (or, tab and CR, as a
/// separator before one) at the beginning of a cell.
const FORMULA_START: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// A text cell as the spreadsheet must see it: a cell that begins with `=`, `+`, `-`, `@`, a
/// tab or a carriage return and is not a number gets a leading `'`, so that Excel or
/// LibreOffice show it as text instead of evaluating it (OWASP, "CSV Injection"; a
/// municipality's name comes from a register file, a case's text from an applicant). A number
/// written as text (`-5`, `-1234,56`, `+3.5`) stays as it is. The CSV writer then quotes the
/// cell where its delimiter, quotes or line breaks require it (RFC 4180).
pub fn inert(text: &str) -> Cow<'_, str> {
    if text.starts_with(FORMULA_START) && !is_number(text) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

/// A plain decimal number: an optional sign, digits, and at most one decimal separator (`.` or
/// `,`) with digits on both sides.
fn is_number(text: &str) -> bool {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    let mut parts = digits.splitn(2, ['.', ',']);
    let whole = parts.next().unwrap_or("");
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    all_digits(whole) && parts.next().is_none_or(all_digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        Table {
            columns: vec![
                Column::new("municipality_name", "Gemeinde"),
                Column::new("joint", "Interkommunal"),
                Column::new("granted", "Bewilligt (EUR)"),
            ],
            rows: vec![
                vec![
                    Cell::Text("Gera, Stadt".into()),
                    Cell::Bool(false),
                    Cell::Money(31_062_000),
                ],
                vec![
                    Cell::Text("Saalfeld/Saale; \"Kreisstadt\"".into()),
                    Cell::Bool(true),
                    Cell::Money(-5),
                ],
                vec![Cell::Empty, Cell::Empty, Cell::Money(i64::MIN)],
            ],
        }
    }

    #[test]
    fn rfc4180_quotes_only_where_needed_and_ends_lines_with_crlf() {
        let text = String::from_utf8(table().to_csv(Dialect::Rfc4180).unwrap()).unwrap();
        assert_eq!(
            text,
            "municipality_name,joint,granted\r\n\"Gera, Stadt\",false,310620.00\r\n\
             \"Saalfeld/Saale; \"\"Kreisstadt\"\"\",true,-0.05\r\n,,-92233720368547758.08\r\n"
        );
    }

    #[test]
    fn text_a_spreadsheet_would_evaluate_gets_a_leading_apostrophe_and_numbers_stay_numbers() {
        for formula in [
            "=HYPERLINK(\"http://x\",\"y\")",
            "+1+cmd|' /C calc'!A0",
            "-2+3",
            "@SUM(A1:A9)",
            "\t=1+1",
            "\r=1+1",
            "-",
            "+",
            "-1e5",
            "-1.",
            "-,5",
        ] {
            assert_eq!(inert(formula), format!("'{formula}"), "{formula:?}");
        }
        for kept in [
            "-5",
            "+5",
            "-1234.56",
            "-1234,56",
            "Gera, Stadt",
            "Saalfeld/Saale",
            "",
            "a=b",
            "'=already",
        ] {
            assert_eq!(inert(kept), kept, "{kept:?}");
        }
    }

    #[test]
    fn a_formula_cell_is_inert_and_quoted_in_both_dialects_and_money_stays_a_number() {
        let t = Table {
            columns: vec![Column::new("name", "Name"), Column::new("amount", "Betrag")],
            rows: vec![vec![
                Cell::Text("=HYPERLINK(\"http://x\",\"y\")".into()),
                Cell::Money(-1050),
            ]],
        };
        let rfc = String::from_utf8(t.to_csv(Dialect::Rfc4180).unwrap()).unwrap();
        assert_eq!(
            rfc,
            "name,amount\r\n\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",-10.50\r\n"
        );
        let de = String::from_utf8(t.to_csv(Dialect::German).unwrap()[3..].to_vec()).unwrap();
        assert_eq!(
            de,
            "Name;Betrag\r\n\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\";-10,50\r\n"
        );
    }

    #[test]
    fn german_excel_gets_a_bom_semicolons_and_decimal_commas() {
        let bytes = table().to_csv(Dialect::German).unwrap();
        assert_eq!(&bytes[..3], b"\xef\xbb\xbf");
        let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
        assert_eq!(
            text,
            "Gemeinde;Interkommunal;Bewilligt (EUR)\r\nGera, Stadt;nein;310620,00\r\n\
             \"Saalfeld/Saale; \"\"Kreisstadt\"\"\";ja;-0,05\r\n;;-92233720368547758,08\r\n"
        );
    }
}
