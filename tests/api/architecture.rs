//! The module rules of `src/http`: a resource module (applications, notices, …) uses the
//! shared toolkit (`caller`, `dto`, `etag`, `json`, `pagination`, …) and never another resource
//! module, so that what several resources need has one home.

use std::path::{Path, PathBuf};

/// The resource modules under `src/http`.
const RESOURCES: &[&str] = &[
    "applications",
    "audit",
    "base_rates",
    "budgets",
    "events",
    "municipalities",
    "notices",
    "payments",
    "programmes",
    "register",
    "reports",
];

/// The resource a source file belongs to: `src/http/notices.rs` and everything under
/// `src/http/applications/` (by their first path component).
fn resource_of(http: &Path, file: &Path) -> Option<&'static str> {
    let first = file.strip_prefix(http).ok()?.components().next()?;
    let name = first.as_os_str().to_str()?;
    let name = name.strip_suffix(".rs").unwrap_or(name);
    RESOURCES.iter().copied().find(|r| *r == name)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a readable directory") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The first path segment after each `crate::http::` or `super::` (any number of `super::`),
/// with the members of a `{…}` group each on their own.
fn referenced_modules(source: &str) -> Vec<String> {
    let mut names = Vec::new();
    for line in source.lines() {
        let code = line.split("//").next().unwrap_or("");
        for prefix in ["crate::http::", "super::"] {
            let mut rest = code;
            while let Some(at) = rest.find(prefix) {
                let mut tail = &rest[at + prefix.len()..];
                while let Some(t) = tail.strip_prefix("super::") {
                    tail = t;
                }
                if let Some(group) = tail.strip_prefix('{') {
                    let group = group.split('}').next().unwrap_or("");
                    names.extend(group.split(',').map(|m| first_segment(m.trim())));
                } else {
                    names.push(first_segment(tail));
                }
                rest = tail;
            }
        }
    }
    names
}

fn first_segment(path: &str) -> String {
    path.chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// Every `(file, other resource)` where a resource module refers to another one.
fn cross_resource_references(http: &Path) -> Vec<(String, String)> {
    let mut files = Vec::new();
    rust_files(http, &mut files);
    files.sort();
    let mut found = Vec::new();
    for file in files {
        let Some(own) = resource_of(http, &file) else {
            continue;
        };
        let source = std::fs::read_to_string(&file).expect("a readable source file");
        for name in referenced_modules(&source) {
            if name != own && RESOURCES.contains(&name.as_str()) {
                found.push((file.display().to_string(), name));
            }
        }
    }
    found
}

#[test]
fn no_resource_module_of_src_http_uses_another_resource_module() {
    let http = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/http");
    let found = cross_resource_references(&http);
    assert!(
        found.is_empty(),
        "resource modules use other resource modules (move the shared piece to \
         src/http/caller.rs or src/http/dto.rs): {found:?}"
    );
}

#[test]
fn the_scan_finds_the_forms_a_cross_resource_use_takes() {
    let names = |s: &str| referenced_modules(s);
    assert_eq!(names("use super::notices::NoticeDto;"), ["notices"]);
    assert_eq!(names("use super::super::payments;"), ["payments"]);
    assert_eq!(
        names("use super::{applications::now, json::Json};"),
        ["applications", "json"]
    );
    assert_eq!(
        names("let x = crate::http::budgets::BudgetDto::from(&b);"),
        ["budgets"]
    );
    assert!(names("// use super::notices;").is_empty());
}
