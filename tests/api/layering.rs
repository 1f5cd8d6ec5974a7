//! The layering rules of `docs/architecture.md` that a grep can check: `src/domain/` is pure,
//! it neither imports nor names actix, diesel or utoipa.

use std::path::{Path, PathBuf};

/// The crates the domain must not use: every crate whose name starts with one of these
/// (`actix_web`, `actix_rt`, `diesel_migrations`, `utoipa_actix_web`, …), named by a path
/// (`diesel::…`), a `use` or an `extern crate`.
const FORBIDDEN_CRATES: [&str; 3] = ["actix", "diesel", "utoipa"];

/// Derives and attributes that come from those crates even when named without a path.
const FORBIDDEN_DERIVES: [&str; 12] = [
    "ToSchema",
    "IntoParams",
    "ToResponse",
    "Queryable",
    "QueryableByName",
    "Selectable",
    "Insertable",
    "AsChangeset",
    "Identifiable",
    "Associations",
    "AsExpression",
    "FromSqlRow",
];
const FORBIDDEN_ATTRIBUTES: [&str; 5] =
    ["#[schema(", "#[param(", "#[diesel(", "#[utoipa", "#[actix"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The line without its `//` comment (doc comments included); string contents are kept, a
/// `//` inside a string literal ends the line early, which only makes the check miss text
/// after it.
fn code(line: &str) -> &str {
    line.split("//").next().unwrap_or("")
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The identifiers of a line of code, each with the code before and after it.
fn identifiers(text: &str) -> Vec<(&str, &str, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices().chain([(text.len(), ' ')]) {
        match (start, is_ident(c)) {
            (None, true) => start = Some(i),
            (Some(s), false) => {
                out.push((&text[..s], &text[s..i], &text[i..]));
                start = None;
            }
            _ => {}
        }
    }
    out
}

/// Whether the line names a forbidden crate: `crate::`, `use crate`, `extern crate crate`.
fn names_forbidden_crate(text: &str) -> bool {
    identifiers(text).into_iter().any(|(before, ident, after)| {
        let before = before.trim_end();
        FORBIDDEN_CRATES.iter().any(|c| ident.starts_with(c))
            && (after.trim_start().starts_with("::")
                || before.ends_with("use")
                || before.ends_with("extern crate"))
    })
}

/// Whether `word` occurs in `text` as a whole identifier.
fn names(text: &str, word: &str) -> bool {
    identifiers(text)
        .into_iter()
        .any(|(_, ident, _)| ident == word)
}

/// What a domain file uses of actix, diesel or utoipa, as `path:line: text`.
fn forbidden_uses(path: &Path, source: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut in_derive = false;
    for (n, line) in source.lines().enumerate() {
        let text = code(line);
        let squeezed: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let mut hit = names_forbidden_crate(text);
        hit |= FORBIDDEN_ATTRIBUTES.iter().any(|a| squeezed.contains(a));
        in_derive |= squeezed.contains("#[derive(");
        if in_derive {
            hit |= FORBIDDEN_DERIVES.iter().any(|d| names(text, d));
            if squeezed.contains(")]") {
                in_derive = false;
            }
        }
        if hit {
            found.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
        }
    }
    found
}

#[test]
fn the_domain_imports_and_names_no_actix_diesel_or_utoipa() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/domain");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    files.sort();
    assert!(
        files.len() > 5,
        "no domain files found under {}",
        root.display()
    );
    let found: Vec<String> = files
        .iter()
        .flat_map(|f| {
            let shown = f.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap_or(f);
            forbidden_uses(shown, &std::fs::read_to_string(f).unwrap())
        })
        .collect();
    assert!(
        found.is_empty(),
        "src/domain/ must not use actix, diesel or utoipa (docs/architecture.md):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_layering_check_sees_imports_paths_and_derives() {
    let p = Path::new("x.rs");
    let bad = [
        "use actix_web::HttpResponse;",
        "use diesel::prelude::*;",
        "use utoipa::ToSchema;",
        "use utoipa;",
        "    let r = actix_web::HttpResponse::Ok();",
        "fn f(c: &mut diesel::PgConnection) {}",
        "#[derive(Debug, Clone, utoipa::ToSchema)]",
        "#[derive(Debug, ToSchema)]",
        "#[derive(\n    Debug,\n    Queryable,\n)]",
        "    #[schema(value_type = String)]",
        "#[diesel(table_name = cases)]",
        "pub use ::diesel::Connection;",
        "extern crate diesel;",
        "use diesel_migrations::EmbeddedMigrations;",
        "    let doc = utoipa_actix_web :: AppExt;",
    ];
    for source in bad {
        assert!(!forbidden_uses(p, source).is_empty(), "not seen: {source}");
    }
    let good = [
        "//! Pure domain rules: no actix, no diesel, no I/O.",
        "/// Unlike utoipa::ToSchema, this derives nothing.",
        "#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]",
        "let schema_version = 1; // diesel::sql_query is not used here",
        "fn to_schema_name() {}",
        "let utoipa_like = 1;",
        "#[derive(Debug, ToSchemaLike)]",
    ];
    for source in good {
        assert!(
            forbidden_uses(p, source).is_empty(),
            "wrongly seen: {source}"
        );
    }
}
