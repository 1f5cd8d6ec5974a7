//! Issue acceptance: after `seed-demo`, the reports say what the public figures say: in 2019
//! 16 grant notices worth exactly 310,620.00 €, 37 applications open at the end of 2019 with
//! about 9.2 M€ requested, in 2020 163 grant notices worth about 7.81 M€; and the grand total
//! is the same for every grouping.

use foerderakte::seed::{self, DEFAULT_SEED, Options};
use serde_json::Value;

use crate::helpers::spawn_app;

fn cents(v: &Value) -> i64 {
    let s = v.as_str().unwrap_or_else(|| panic!("not an amount: {v}"));
    let (e, c) = s.split_once('.').unwrap();
    e.parse::<i64>().unwrap() * 100 + c.parse::<i64>().unwrap()
}

#[test]
fn after_seed_demo_the_reports_show_the_public_figures_of_2019_and_2020() {
    let app = spawn_app();
    let mut conn = app.db();
    seed::run(
        &mut conn,
        &Options {
            cases: None,
            seed: DEFAULT_SEED,
            bulk: false,
        },
        &mut |_| {},
    )
    .unwrap();
    let ministry = app.ministry();
    let get = |path: &str| {
        let r = app.get(path, Some(&ministry));
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        r.json()
    };
    let v = get("/api/v1/reports/volumes?basis=notice&group_by=year&from=2019&to=2020");
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{v}");
    assert_eq!(rows[0]["year"], 2019);
    assert_eq!(rows[0]["count"], 16);
    assert_eq!(rows[0]["granted"], "310620.00");
    assert_eq!(rows[1]["year"], 2020);
    assert_eq!(rows[1]["count"], 163);
    let g2020 = cents(&rows[1]["granted"]);
    assert!(
        (780_500_000..=781_500_000).contains(&g2020),
        "2020: {}",
        rows[1]["granted"]
    );

    let p = get("/api/v1/reports/pipeline?as_of=2019-12-31");
    assert_eq!(p["open"], 37, "{p}");
    let requested = cents(&p["requested"]);
    assert!((915_000_000..=925_000_000).contains(&requested), "{p}");

    // The same grand total whichever way the whole history is grouped, on every basis.
    for basis in ["notice", "submission", "payment"] {
        let all = get(&format!("/api/v1/reports/volumes?basis={basis}&group_by="));
        for group_by in [
            "year",
            "year,municipality",
            "kreis",
            "programme,funding_object",
            "joint",
        ] {
            let r = get(&format!(
                "/api/v1/reports/volumes?basis={basis}&group_by={group_by}"
            ));
            assert_eq!(r["totals"], all["totals"], "{basis} by {group_by}");
        }
    }
    // Budgets: committed never above the budget; the demo has joint cases and a revocation.
    let b = get("/api/v1/reports/budget");
    for row in b["rows"].as_array().unwrap() {
        if let (Some(_), Some(_)) = (row["amount"].as_str(), row["available"].as_str()) {
            assert!(cents(&row["available"]) >= 0, "{row}");
        }
    }
    let joint = get("/api/v1/reports/volumes?group_by=joint");
    assert_eq!(
        joint["rows"].as_array().unwrap().len(),
        2,
        "single and joint cases: {joint}"
    );
    let cash = get("/api/v1/reports/volumes?basis=payment&group_by=");
    assert!(
        cents(&cash["totals"]["reclaimed"]) > 0,
        "one revocation reclaims: {cash}"
    );
    let times = get("/api/v1/reports/processing-times?year=2020");
    assert!(!times["rows"].as_array().unwrap().is_empty());
}
