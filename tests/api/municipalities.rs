//! The municipality register.

use std::collections::HashSet;

use foerderakte::domain::Role;
use serde_json::Value;

use crate::helpers::{TestApp, spawn_app};

/// Follows `next_cursor` to the end and returns every item.
fn all_pages(app: &TestApp, query: &str, token: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let sep = if query.is_empty() { "?" } else { "&" };
    let mut next: Option<String> = None;
    loop {
        let q = match &next {
            Some(c) => format!("{query}{sep}limit=100&cursor={c}"),
            None => format!("{query}{sep}limit=100"),
        };
        let q = if q.starts_with('?') {
            q
        } else {
            format!("?{}", q.trim_start_matches('&'))
        };
        let resp = app.list_municipalities(&q, token);
        assert_eq!(resp.status, 200, "{}", resp.body);
        let page = resp.json();
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => next = Some(c.to_owned()),
            None => return items,
        }
    }
}

#[test]
fn the_register_holds_624_gemeinden_and_22_kreise() {
    let app = spawn_app();
    let t = app.token(Role::Ministry, "mia.ministry", &[]);
    let gemeinden = all_pages(&app, "?level=gemeinde", &t);
    let kreise = all_pages(&app, "?level=kreis", &t);
    assert_eq!(gemeinden.len(), 624);
    assert_eq!(kreise.len(), 22);
    let keys: HashSet<&str> = gemeinden
        .iter()
        .map(|m| m["ags"].as_str().unwrap())
        .collect();
    assert_eq!(keys.len(), 624, "pages do not overlap");
    let kreisfreie = kreise
        .iter()
        .filter(|k| k["kind"] == "kreisfreie_stadt")
        .count();
    assert_eq!(kreisfreie, 5);
    // The same counts straight from the database.
    let mut conn = app.db();
    let today = crate::helpers::today();
    assert_eq!(
        foerderakte::persistence::municipalities::count_current(&mut conn, today).unwrap(),
        (624, 22)
    );
}

#[test]
fn listing_by_kreis_gives_the_wartburgkreis() {
    let app = spawn_app();
    let t = app.caseworker();
    let items = all_pages(&app, "?kreis=16063", &t);
    assert!(items.iter().all(|m| m["kreis"] == "16063"));
    let names: Vec<&str> = items.iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"Wartburgkreis"));
    assert!(names.contains(&"Eisenach, Stadt"));
    assert!(names.contains(&"Bad Salzungen, Stadt"));
    // 1 Landkreis and its Gemeinden, in key order.
    let landkreise = items.iter().filter(|m| m["kind"] == "landkreis").count();
    assert_eq!(landkreise, 1);
    let keys: Vec<&str> = items.iter().map(|m| m["ags"].as_str().unwrap()).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    assert!(
        items.len() > 30,
        "the Wartburgkreis has dozens of Gemeinden, got {}",
        items.len()
    );
}

#[test]
fn a_municipality_is_found_by_its_key_and_name() {
    let app = spawn_app();
    let t = app.applicant(&["16063105"]);
    let resp = app.get_municipality("16063105", &t);
    assert_eq!(resp.status, 200);
    let m = resp.json();
    assert_eq!(m["name"], "Eisenach, Stadt");
    assert_eq!(m["kreis"], "16063");
    assert_eq!(m["edition"], "2023-11-30");

    let found = app.list_municipalities("?q=EISENACH", &t).json();
    let names: Vec<&str> = found["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["Eisenach, Stadt"]);
    // Umlauts fold too, and LIKE wildcards match literally.
    let found = app.list_municipalities("?q=B%C3%9CTTSTEDT", &t).json();
    assert!(!found["items"].as_array().unwrap().is_empty());
    let none = app.list_municipalities("?q=%25", &t).json();
    assert!(none["items"].as_array().unwrap().is_empty());
}

#[test]
fn a_key_that_left_the_register_is_kept_with_its_end_date() {
    let app = spawn_app();
    let t = app.caseworker();
    let old = app.get_municipality("16056000", &t).json();
    assert_eq!(old["name"], "Eisenach, Stadt");
    assert_eq!(old["valid_to"], "2021-06-30");
    // Not among today's Kreise, but among those of 2020.
    let today = app.list_municipalities("?level=kreis&limit=500", &t).json();
    assert!(
        !today["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["ags"] == "16056000")
    );
    let then = app
        .list_municipalities("?level=kreis&limit=500&valid_on=2020-01-01", &t)
        .json();
    assert!(
        then["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["ags"] == "16056000")
    );
}

#[test]
fn an_admin_loads_a_newer_edition_and_no_key_is_deleted() {
    let app = spawn_app();
    let admin = app.admin();
    let editions = app.register_editions(&admin).json();
    assert_eq!(editions.as_array().unwrap().len(), 1);
    assert_eq!(editions[0]["imported_by"], "system");

    // A made-up 2025 edition in which two Gemeinden of the Wartburgkreis have merged.
    let bundled = foerderakte::persistence::register::BUNDLED;
    let mut lines: Vec<String> = Vec::new();
    for line in bundled.lines() {
        if line.starts_with("# edition") {
            lines.push("# edition\t2025-01-01".into());
        } else if line.starts_with("16063003\t") {
            continue; // Bad Salzungen merged away
        } else {
            lines.push(line.to_owned());
        }
    }
    let resp = app.import_edition(&lines.join("\n"), &admin);
    assert_eq!(resp.status, 201, "{}", resp.body);
    let report = resp.json();
    assert_eq!(report["retired"], 1);
    assert_eq!(report["inserted"], 0);

    let gone = app.get_municipality("16063003", &admin).json();
    assert_eq!(gone["valid_to"], "2024-12-31");
    let again = app.import_edition(&lines.join("\n"), &admin);
    again.assert_problem(409);
    assert_eq!(
        app.register_editions(&admin)
            .json()
            .as_array()
            .unwrap()
            .len(),
        2
    );
}
