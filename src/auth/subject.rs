//! What a token's subject may look like. The subject is the actor of every audited change and
//! the person the four-eyes rule compares (the preparer of a notice may not sign it): two
//! subjects that look the same must be the same string. So a subject is refused unless it is
//! in Unicode Normalization Form C (`é` precomposed, not `e` + U+0301; UAX #15) and every
//! character of it is visible:
//!
//! - no control, format, separator or unassigned character: general categories Cc (controls,
//!   NUL among them, which PostgreSQL's text cannot store), Cf (zero-width space and joiners,
//!   bidi embeddings, overrides and isolates, the soft hyphen, the BOM), Zl, Zp, Cs, Co
//!   (private use) and Cn (unassigned: a later Unicode may make it anything);
//! - no other default-ignorable code point (Unicode's `Default_Ignorable_Code_Point`, UAX #44:
//!   variation selectors, the combining grapheme joiner, Hangul fillers, the Mongolian
//!   free variation selectors), which renderers draw as nothing;
//! - no space but U+0020, and none at either end (U+00A0, U+2002 … look like U+0020).
//!
//! (OWASP ASVS V5.1 and Unicode TR #36, "Unicode Security Considerations", on confusable
//! identifiers.)

use unicode_normalization::is_nfc;
use unicode_properties::{GeneralCategory as G, UnicodeGeneralCategory};

/// The default-ignorable code points outside Cf and Cn (DerivedCoreProperties.txt of
/// Unicode 16: `Default_Ignorable_Code_Point`); Cf and Cn are refused by category.
const IGNORABLE_OUTSIDE_CF_CN: &[(char, char)] = &[
    ('\u{034F}', '\u{034F}'),
    ('\u{115F}', '\u{1160}'),
    ('\u{17B4}', '\u{17B5}'),
    ('\u{180B}', '\u{180D}'),
    ('\u{180F}', '\u{180F}'),
    ('\u{3164}', '\u{3164}'),
    ('\u{FE00}', '\u{FE0F}'),
    ('\u{FFA0}', '\u{FFA0}'),
    ('\u{E0100}', '\u{E01EF}'),
];

/// Why `c` is not a visible character, or `None` if it is.
fn invisible(c: char) -> Option<&'static str> {
    let why = match c.general_category() {
        G::Control => "a control character",
        G::Format => "an invisible format character (zero-width, bidi control, …)",
        G::LineSeparator | G::ParagraphSeparator => "a line or paragraph separator",
        G::Surrogate | G::PrivateUse | G::Unassigned => "a private-use or unassigned character",
        _ if IGNORABLE_OUTSIDE_CF_CN
            .iter()
            .any(|(from, to)| (*from..=*to).contains(&c)) =>
        {
            "a character that is displayed as nothing"
        }
        _ => return None,
    };
    Some(why)
}

/// The first character of `text` that is not visible, as `U+XXXX` with the reason. (Spaces
/// are visible; a subject admits only U+0020, a name any.)
pub fn invisible_character(text: &str) -> Option<String> {
    text.chars()
        .find_map(|c| invisible(c).map(|why| format!("U+{:04X}, {why}", u32::from(c))))
}

/// Why `sub` is not an acceptable subject, or `None`.
pub fn subject_problem(sub: &str) -> Option<String> {
    if sub.trim().is_empty() {
        return Some("sub is empty".into());
    }
    if sub.trim() != sub {
        return Some("sub begins or ends with white space".into());
    }
    if let Some(c) = invisible_character(sub) {
        return Some(format!("sub contains {c}"));
    }
    if let Some(c) = sub
        .chars()
        .find(|c| *c != ' ' && c.general_category() == G::SpaceSeparator)
    {
        return Some(format!(
            "sub contains U+{:04X}, a space other than U+0020",
            u32::from(c)
        ));
    }
    if !is_nfc(sub) {
        return Some("sub is not in Unicode Normalization Form C (NFC)".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_subjects_pass() {
        for sub in [
            "anna.schmidt",
            "Jürgen Müller",
            "user@example.org",
            "3f1c-42",
            "Łukasz",
        ] {
            assert_eq!(subject_problem(sub), None, "{sub:?}");
        }
    }

    #[test]
    fn look_alikes_are_refused() {
        for sub in [
            "",
            "  ",
            "anna\u{200B}",
            "an\u{200D}na",
            "\u{202E}anna",
            "anna\u{2066}",
            "anna\u{FEFF}",
            "an\u{00AD}na",
            "anna\u{0000}",
            "anna\u{0007}",
            "anna\u{2028}x",
            "anna\u{2029}x",
            "anna\u{E000}",
            "anna\u{0378}",
            "anna\u{FE0F}",
            "anna\u{034F}x",
            "\u{3164}anna",
            "anna\u{00A0}schmidt",
            "anna ",
            " anna",
            "Ju\u{0308}rgen",
        ] {
            assert!(subject_problem(sub).is_some(), "{sub:?}");
        }
        assert_eq!(
            invisible_character("ab\u{200B}").as_deref(),
            Some("U+200B, an invisible format character (zero-width, bidi control, …)")
        );
    }
}
