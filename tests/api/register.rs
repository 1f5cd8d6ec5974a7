//! Loading register editions safely: a file that would retire most of the register is refused
//! unless forced (then loaded and audited, and verify still agrees), editions load only in
//! the order of their dates, a kind must fit its key, parallel imports of one edition load it
//! once, and a municipality's name that is a spreadsheet formula leaves the CSV reports inert.

use serde_json::{Value, json};

use crate::applications::{LEAD, SALZUNGEN, assert_one_winner, case_in, race, year};
use crate::helpers::{Resp, TestApp, spawn_app};

const HEADER: &str =
    "ags\tname\tkind\tkreis\tverband\tpopulation\tarea_ha\tpostcode\tvalid_from\tvalid_to";

/// The bundled edition as the edition `date`, each row passed through `change` (`None` drops
/// it).
fn edition(date: &str, change: impl Fn(&str) -> Option<String>) -> String {
    let mut out = Vec::new();
    for line in foerderakte::persistence::register::BUNDLED.lines() {
        if line.starts_with("# edition") {
            out.push(format!("# edition\t{date}"));
        } else if line.starts_with('#') || line.starts_with("ags\t") {
            out.push(line.to_owned());
        } else if let Some(l) = change(line) {
            out.push(l);
        }
    }
    out.join("\n")
}

/// The bundled row of `ags`.
fn bundled_row(ags: &str) -> String {
    foerderakte::persistence::register::BUNDLED
        .lines()
        .find(|l| l.starts_with(&format!("{ags}\t")))
        .unwrap_or_else(|| panic!("{ags} is in the bundled register"))
        .to_owned()
}

/// `row` with its cell `column` (0-based) replaced.
fn with_cell(row: &str, column: usize, value: &str) -> String {
    let mut cells: Vec<&str> = row.split('\t').collect();
    cells[column] = value;
    cells.join("\t")
}

fn import(app: &TestApp, body: &Value) -> Resp {
    app.post_json("/api/v1/register/editions", Some(&app.admin()), body)
}

fn editions(app: &TestApp) -> usize {
    app.register_editions(&app.admin())
        .json()
        .as_array()
        .expect("a list")
        .len()
}

fn assert_verifies(app: &TestApp) {
    let v = app.verify_audit(&app.admin());
    assert_eq!(v.status, 200, "{}", v.body);
    assert_eq!(v.json()["ok"], true, "{}", v.body);
}

/// The entries of the audit log about `record_type` `key`.
fn entries_of(app: &TestApp, record_type: &str, key: &str) -> Vec<Value> {
    let log = app.audit_log(&app.admin()).json();
    log["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|e| e["record_type"] == record_type && e["record_key"] == key)
        .cloned()
        .collect()
}

#[test]
fn a_one_row_edition_is_refused_and_with_force_loaded_audited_and_verified() {
    let app = spawn_app();
    let one_row = format!("# edition\t2025-01-01\n{HEADER}\n{}\n", bundled_row(LEAD));
    let mut db = app.watch_db();
    let before = db.state();
    let refused = import(&app, &json!({ "content": one_row }));
    let problem = refused.assert_problem(409);
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("retire 640 of the register's 641 current entries")
            && detail.contains("force"),
        "{detail}"
    );
    db.assert_unchanged(&before, "the refused one-row edition");
    let not_forced = import(&app, &json!({ "content": one_row, "force": false }));
    not_forced.assert_problem(409);
    db.assert_unchanged(&before, "the one-row edition with force false");

    let forced = import(&app, &json!({ "content": one_row, "force": true }));
    assert_eq!(forced.status, 201, "{}", forced.body);
    let report = forced.json();
    assert_eq!(
        report,
        json!({"inserted": 0, "updated": 1, "retired": 640, "forced": true})
    );
    assert_eq!(editions(&app), 2);
    let gone = app.get_municipality(SALZUNGEN, &app.admin()).json();
    assert_eq!(gone["valid_to"], "2024-12-31");

    // Audited as the admin's write: the edition with what the import did…
    let edition = entries_of(&app, "register_edition", "2025-01-01");
    assert_eq!(edition.len(), 1, "{edition:?}");
    let e = &edition[0];
    assert_eq!(e["actor"], "otto.operator");
    assert_eq!(e["role"], "admin");
    assert_eq!(e["action"], "import");
    let reason = e["reason"].as_str().unwrap();
    assert!(
        reason.contains("2025-01-01: 0 inserted, 1 updated, 640 retired")
            && reason.contains("forced"),
        "{reason}"
    );
    assert_eq!(e["changes"]["retired"]["after"], 640);
    assert_eq!(e["changes"]["forced"]["after"], true);
    // …and each municipality it retired, with the change of its end date.
    let retired = entries_of(&app, "municipality", SALZUNGEN);
    let last = retired.last().expect("entries of Bad Salzungen");
    assert_eq!(last["action"], "update");
    assert_eq!(last["actor"], "otto.operator");
    assert_eq!(last["changes"]["valid_to"]["after"], "2024-12-31");
    assert_verifies(&app);
}

#[test]
fn an_edition_loaded_already_or_older_than_the_latest_is_refused_with_409() {
    let app = spawn_app();
    let admin = app.admin();
    let newer = app.import_edition(&edition("2025-01-01", |l| Some(l.to_owned())), &admin);
    assert_eq!(newer.status, 201, "{}", newer.body);
    let mut db = app.watch_db();
    let before = db.state();

    // An older edition would overwrite the current names and populations.
    let renamed = |l: &str| {
        Some(match l.starts_with(&format!("{LEAD}\t")) {
            true => with_cell(l, 1, "Eisenach (alt)"),
            false => l.to_owned(),
        })
    };
    let older = app.import_edition(&edition("2024-06-30", renamed), &admin);
    let detail = older.assert_problem(409)["detail"].to_string();
    assert!(
        detail.contains("older than the loaded edition 2025-01-01"),
        "{detail}"
    );
    // The same date again, with other content.
    let again = app.import_edition(&edition("2025-01-01", renamed), &admin);
    let detail = again.assert_problem(409)["detail"].to_string();
    assert!(detail.contains("already loaded"), "{detail}");
    // The shipped edition, older than the loaded one too.
    let shipped = app.import_edition(foerderakte::persistence::register::BUNDLED, &admin);
    shipped.assert_problem(409);
    db.assert_unchanged(&before, "the refused editions");
    assert_eq!(
        app.get_municipality(LEAD, &admin).json()["name"],
        "Eisenach, Stadt"
    );

    // A restart does not load the shipped edition over the later one.
    let app = app.restart_with(|_| {});
    let mut db = app.watch_db();
    db.assert_unchanged(&before, "the restart");
    assert_verifies(&app);
}

#[test]
fn a_kind_that_contradicts_the_key_or_a_key_twice_is_refused_with_422_naming_the_line() {
    let app = spawn_app();
    let admin = app.admin();
    let mut db = app.watch_db();
    let before = db.state();
    let kind_of = |ags: &'static str, kind: &'static str| {
        move |l: &str| {
            Some(match l.starts_with(&format!("{ags}\t")) {
                true => with_cell(l, 2, kind),
                false => l.to_owned(),
            })
        }
    };
    let erfurt_gemeinde = "16051001\tErfurt-Nord\tgemeinde\t16051\t0000\t100\t100\t99084\t\t";
    let cases: Vec<(String, &str)> = vec![
        (
            edition("2025-01-01", kind_of(LEAD, "landkreis")),
            "kind landkreis needs a Kreis key",
        ),
        (
            edition("2025-01-01", kind_of(LEAD, "kreisfreie_stadt")),
            "kind kreisfreie_stadt needs a Kreis key",
        ),
        (
            edition("2025-01-01", kind_of("16063000", "gemeinde")),
            "kind gemeinde needs a Gemeinde's key",
        ),
        (
            edition("2025-01-01", kind_of("16051000", "stadt")),
            "kind stadt needs a Gemeinde's key",
        ),
        (
            format!(
                "{}\n{erfurt_gemeinde}",
                edition("2025-01-01", |l| Some(l.into()))
            ),
            "whose register entry is a kreisfreie Stadt",
        ),
        (
            format!(
                "{}\n{}",
                edition("2025-01-01", |l| Some(l.into())),
                bundled_row(LEAD)
            ),
            "ags 16063105 is on line",
        ),
    ];
    for (content, expected) in &cases {
        let r = app.import_edition(content, &admin);
        let problem = r.assert_problem(422);
        let error = &problem["errors"][0];
        assert_eq!(error["field"], "content", "{problem}");
        let message = error["message"].as_str().unwrap();
        assert!(
            message.starts_with("line ") && message.contains(expected),
            "{expected}: {message}"
        );
        db.assert_unchanged(&before, expected);
    }
    // The line named is the row's line in the file.
    let content = edition("2025-01-01", kind_of(LEAD, "landkreis"));
    let line = content
        .lines()
        .position(|l| l.starts_with(&format!("{LEAD}\t")))
        .unwrap()
        + 1;
    let r = app.import_edition(&content, &admin);
    let message = r.assert_problem(422)["errors"][0]["message"].to_string();
    assert!(message.contains(&format!("line {line}: ")), "{message}");
}

#[test]
fn parallel_imports_of_one_edition_load_it_once_and_the_others_get_409() {
    let first = spawn_app();
    let second = first.second_instance();
    let apps = [&first, &second];
    let content = edition("2025-01-01", |l| {
        (!l.starts_with(&format!("{SALZUNGEN}\t"))).then(|| l.to_owned())
    });
    let admin = first.admin();
    let answers = race(6, |i| apps[i % 2].import_edition(&content, &admin));
    assert_one_winner(&answers, 201, 409);
    for r in answers.iter().filter(|r| r.status == 409) {
        r.assert_problem(409);
    }
    assert_eq!(editions(&first), 2);
    assert_eq!(
        entries_of(&first, "register_edition", "2025-01-01").len(),
        1
    );
    let retired = entries_of(&first, "municipality", SALZUNGEN);
    assert_eq!(
        retired
            .iter()
            .filter(|e| e["changes"]["valid_to"]["after"] == "2024-12-31")
            .count(),
        1
    );
    assert_verifies(&first);
}

#[test]
fn a_formula_in_a_municipality_name_is_inert_in_both_csv_reports() {
    const FORMULA: &str = "=HYPERLINK(\"http://x\",\"y\")";
    let app = spawn_app();
    let content = edition("2025-01-01", |l| {
        Some(match l.starts_with(&format!("{LEAD}\t")) {
            true => with_cell(l, 1, FORMULA),
            false => l.to_owned(),
        })
    });
    let r = app.import_edition(&content, &app.admin());
    assert_eq!(r.status, 201, "{}", r.body);
    case_in(&app, "submitted");
    let y = year();
    let path = format!(
        "/api/v1/reports/volumes?basis=submission&group_by=year,municipality&from={y}&to={y}"
    );
    let ministry = app.ministry();
    // JSON is not a spreadsheet: the name as registered.
    let json = app.get(&path, Some(&ministry)).json();
    let row = json["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ags"] == LEAD)
        .cloned()
        .unwrap_or_else(|| panic!("no row for {LEAD}: {json}"));
    assert_eq!(row["municipality_name"], FORMULA);

    for (format, delimiter, bom) in [("csv-de", b';', 3), ("csv", b',', 0)] {
        let (status, bytes) = app.get_bytes(&format!("{path}&format={format}"), &ministry);
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
        let text = std::str::from_utf8(&bytes[bom..]).unwrap();
        // Quoted, the quotes doubled (RFC 4180), the apostrophe first.
        assert!(
            text.contains("\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\""),
            "{format}: {text}"
        );
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .from_reader(text.as_bytes());
        let header: Vec<String> = reader
            .headers()
            .unwrap()
            .iter()
            .map(str::to_owned)
            .collect();
        let records: Vec<Vec<String>> = reader
            .records()
            .map(|r| r.unwrap().iter().map(str::to_owned).collect())
            .collect();
        let record = records
            .iter()
            .find(|r| r.iter().any(|c| c == LEAD))
            .unwrap_or_else(|| panic!("{format}: no record for {LEAD}: {text}"));
        assert!(
            record.contains(&format!("'{FORMULA}")),
            "{format}: {record:?}"
        );
        // Every cell a spreadsheet reads is a number or inert text; the amounts stay numbers.
        for (name, cell) in header.iter().zip(record) {
            assert!(
                !cell.starts_with(['=', '+', '@', '\t', '\r'])
                    && (!cell.starts_with('-')
                        || cell[1..].replace(',', ".").parse::<f64>().is_ok()),
                "{format}: {name} = {cell:?}"
            );
        }
        let requested = header
            .iter()
            .position(|h| h == "requested" || h.starts_with("Beantragt"))
            .unwrap_or_else(|| panic!("{format}: no requested column in {header:?}"));
        let amount = record[requested].replace(',', ".");
        assert!(amount.parse::<f64>().is_ok(), "{format}: {amount}");
    }
}
