//! The event feed (issue 18): every change of every record, in order, gap-free across pages,
//! resumable after any interruption, scoped like the records.

use std::collections::{BTreeMap, BTreeSet};

use diesel::prelude::*;
use serde_json::{Value, json};

use crate::applications::{LANGENSALZA, LEAD, act, day, id_of};
use crate::helpers::{TestApp, spawn_app};
use crate::notices::{approved_case, nid_of, pay, prepare, sign};

/// Reads the whole feed as `token` with pages of `limit`; returns the items and the last
/// `next_cursor`.
fn walk(app: &TestApp, token: &str, query: &str, limit: u64) -> (Vec<Value>, String) {
    read_on(app, token, query, "", limit)
}

/// Reads the feed from `after` (empty: the start) to its end right now, with pages of
/// `limit`; returns the items and the cursor to go on from.
fn read_on(
    app: &TestApp,
    token: &str,
    query: &str,
    after: &str,
    limit: u64,
) -> (Vec<Value>, String) {
    let mut items = Vec::new();
    let mut after = after.to_owned();
    loop {
        let q = if after.is_empty() {
            String::new()
        } else {
            format!("&after={after}")
        };
        let r = app.get(
            &format!("/api/v1/events?limit={limit}{query}{q}"),
            Some(token),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        let page = r.json();
        let got = page["items"].as_array().expect("items").clone();
        assert!(got.len() as u64 <= limit);
        items.extend(got);
        after = page["next_cursor"]
            .as_str()
            .expect("next_cursor")
            .to_owned();
        if page["has_more"] != true {
            return (items, after);
        }
    }
}

fn types(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|e| e["type"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// A case from draft to its final notice, with a payment request turned down on the way (a
/// change that does not touch the case's row).
fn walk_through(app: &TestApp) -> String {
    let lead = app.applicant(&[LEAD]);
    let cw = app.caseworker();
    let (id, _) = approved_case(app);
    pay(app, &id, "25000.00");
    let r = app.request_payment(
        &id,
        &lead,
        &json!({"amount": "1000.00", "reason": "Abschlag"}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let r = app.reject_payment(&id_of(&r.json()), &cw, &json!({"reason": "Rechnung fehlt"}));
    assert_eq!(r.status, 200, "{}", r.body);
    let proof = json!({"action": "submit_proof", "actual_costs": [
        {"line": 1, "amount": "40000.00"}, {"line": 2, "amount": "10000.00"},
        {"line": 3, "amount": "0.00"}]});
    let r = act(app, &id, &lead, &proof);
    assert_eq!(r.status, 200, "{}", r.body);
    let n = prepare(app, &id, &json!({"kind": "final", "posted_on": day(0)}));
    sign(app, &nid_of(&n));
    id
}

fn count(app: &TestApp, table: &str) -> i64 {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}"))
        .get_result::<N>(&mut app.db())
        .expect("count")
        .n
}

#[test]
fn the_feed_lists_every_change_of_a_walk_through_in_order_without_gaps_across_pages() {
    let app = spawn_app();
    let id = walk_through(&app);
    let cw = app.caseworker();
    let (all, _) = walk(&app, &cw, "", 500);
    for limit in [1, 3, 7] {
        let (paged, _) = walk(&app, &cw, "", limit);
        assert_eq!(paged, all, "pages of {limit} give the same feed");
    }
    // Every audit entry is an event (the log and the outbox are written together); the
    // caseworker sees all but the operators' records.
    assert_eq!(count(&app, "events"), count(&app, "audit_events"));
    let case: Vec<&Value> = all.iter().filter(|e| e["case_id"] == id.as_str()).collect();
    let got: Vec<String> = types(&case.iter().map(|v| (*v).clone()).collect::<Vec<_>>());
    for t in [
        "application.created",
        "application.submitted",
        "application.review_started",
        "notice.prepared",
        "notice.signed",
        "application.approved",
        "payment.requested",
        "payment.prepared",
        "payment.released",
        "application.paid_out",
        "payment.rejected",
        "application.proof_submitted",
        "application.closed",
    ] {
        assert!(got.iter().any(|g| g == t), "{t} missing from {got:?}");
    }
    // Cursors increase; each record's versions run 1, 2, 3, … without a hole.
    let mut seen = BTreeMap::<(String, String), i64>::new();
    let mut ids = BTreeSet::new();
    for e in &all {
        assert!(
            ids.insert(e["id"].as_str().unwrap().to_owned()),
            "twice: {e}"
        );
        let key = (
            e["record_type"].as_str().unwrap().to_owned(),
            e["record_id"].as_str().unwrap().to_owned(),
        );
        let v = e["version"].as_i64().unwrap();
        let last = seen.insert(key.clone(), v).unwrap_or(0);
        assert_eq!(v, last + 1, "{key:?} jumps from {last} to {v}");
    }
    // The data is the record as its GET showed it right after the change.
    let signed = case
        .iter()
        .rev()
        .find(|e| e["type"] == "notice.signed")
        .expect("the final notice's signing");
    assert_eq!(signed["data"]["status"], "signed");
    assert_eq!(signed["data"]["kind"], "final");
    let released = case
        .iter()
        .find(|e| e["type"] == "payment.released")
        .unwrap();
    assert_eq!(released["data"]["status"], "paid");
    assert_eq!(released["data"]["amount"], "25000.00");
    let created = case.first().unwrap();
    assert_eq!(created["type"], "application.created");
    assert_eq!(created["data"]["status"], "draft");
    assert_eq!(created["data"]["id"], id.as_str());
}

/// A tiny xorshift: the interruptions are random but the test is repeatable.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[test]
fn an_etl_loop_that_resumes_after_20_interruptions_ends_with_the_uninterrupted_feed() {
    let app = spawn_app();
    let cw = app.caseworker();
    let lead = app.applicant(&[LEAD]);
    let mut rng = Rng(0x5eed_f00d_u64);
    // The ETL keeps what it has stored and the cursor of the last stored event; an
    // interruption loses the page it was working on (and anything it had not stored).
    let mut stored: Vec<Value> = Vec::new();
    let mut saved: Option<String> = None;
    let mut interruptions = 0;
    let mut rounds = 0;
    while interruptions < 20 || rounds < 30 {
        rounds += 1;
        // Writers keep writing meanwhile.
        if rng.below(2) == 0 {
            let r = app.create_application(&lead, &crate::applications::draft_body(LEAD));
            assert_eq!(r.status, 201, "{}", r.body);
        }
        let limit = 1 + rng.below(6);
        let after = saved
            .as_deref()
            .map_or(String::new(), |c| format!("&after={c}"));
        let r = app.get(&format!("/api/v1/events?limit={limit}{after}"), Some(&cw));
        assert_eq!(r.status, 200, "{}", r.body);
        let page = r.json();
        let items = page["items"].as_array().unwrap().clone();
        // Stores the page item by item; an interruption may strike after any of them.
        let stop =
            (interruptions < 20 && rng.below(2) == 0).then(|| rng.below(items.len() as u64 + 1));
        for (i, e) in items.iter().enumerate() {
            if stop == Some(i as u64) {
                break;
            }
            stored.push(e.clone());
            saved = Some(e["cursor"].as_str().unwrap().to_owned());
        }
        match stop {
            Some(_) => interruptions += 1,
            None => saved = Some(page["next_cursor"].as_str().unwrap().to_owned()),
        }
    }
    // Then the ETL catches up.
    loop {
        let after = saved
            .as_deref()
            .map_or(String::new(), |c| format!("&after={c}"));
        let page = app
            .get(&format!("/api/v1/events?limit=50{after}"), Some(&cw))
            .json();
        stored.extend(page["items"].as_array().unwrap().iter().cloned());
        saved = Some(page["next_cursor"].as_str().unwrap().to_owned());
        if page["has_more"] != true {
            break;
        }
    }
    let (uninterrupted, head) = walk(&app, &cw, "", 500);
    assert_eq!(stored, uninterrupted);
    assert_eq!(saved.as_deref(), Some(head.as_str()));
    assert!(stored.len() > 20, "{} events", stored.len());
}

#[test]
fn the_feed_is_scoped_like_the_records_and_filters_by_type() {
    let app = spawn_app();
    let id = walk_through(&app);
    let lead = app.applicant(&[LEAD]);
    let other = app.applicant(&[LANGENSALZA]);
    let (mine, _) = walk(&app, &lead, "", 100);
    assert!(mine.iter().any(|e| e["case_id"] == id.as_str()));
    let (theirs, _) = walk(&app, &other, "", 100);
    assert!(
        theirs.iter().all(|e| e.get("case_id").is_none()),
        "another municipality's applicant sees no case of LEAD"
    );
    assert!(theirs.iter().all(|e| e["record_type"] != "budget"));
    let (ministry, _) = walk(&app, &app.ministry(), "", 100);
    assert!(ministry.iter().all(|e| e.get("case_id").is_none()));
    assert!(ministry.iter().any(|e| e["type"] == "budget.created"));
    let (admin, _) = walk(&app, &app.admin(), "", 100);
    assert!(admin.iter().all(|e| e.get("case_id").is_none()));

    let (signed, _) = walk(
        &app,
        &app.caseworker(),
        "&types=notice.signed,payment.*",
        100,
    );
    let got: BTreeSet<String> = types(&signed).into_iter().collect();
    let want: BTreeSet<String> = [
        "notice.signed",
        "payment.requested",
        "payment.prepared",
        "payment.released",
        "payment.rejected",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    assert_eq!(got, want);

    for (query, field) in [
        ("types=notice.exploded", "types"),
        ("types=notice", "types"),
        ("after=zz", "after"),
        ("after=763a31", "after"),
        ("limit=0", "limit"),
    ] {
        let r = app.get(&format!("/api/v1/events?{query}"), Some(&lead));
        let p = r.assert_problem(422);
        assert!(p.to_string().contains(field), "{query}: {p}");
    }
    assert_eq!(app.get("/api/v1/events", None).status, 401);
}

#[test]
fn a_reader_following_the_feed_while_writers_race_misses_nothing() {
    let app = spawn_app();
    let cw = app.caseworker();
    let lead = app.applicant(&[LEAD]);
    let done = std::sync::atomic::AtomicBool::new(false);
    let followed = std::thread::scope(|s| {
        let reader = s.spawn(|| {
            let (mut seen, mut cursor) = (Vec::new(), String::new());
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                let (items, next) = read_on(&app, &cw, "", &cursor, 4);
                seen.extend(items);
                cursor = next;
            }
            let (items, _) = read_on(&app, &cw, "", &cursor, 50);
            seen.extend(items);
            seen
        });
        let writers: Vec<_> = (0..6)
            .map(|w| {
                let (app, lead) = (&app, &lead);
                s.spawn(move || {
                    for i in 0..8 {
                        let r =
                            app.create_application(lead, &crate::applications::draft_body(LEAD));
                        assert_eq!(r.status, 201, "{}", r.body);
                        let id = id_of(&r.json());
                        let r = app.patch_application(
                            &id,
                            lead,
                            Some("\"1\""),
                            &json!({"title": format!("Vorhaben {w}-{i}")}),
                        );
                        assert_eq!(r.status, 200, "{}", r.body);
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().expect("a writer");
        }
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        reader.join().expect("the reader")
    });
    let (all, _) = walk(&app, &cw, "", 500);
    assert_eq!(
        followed, all,
        "the follower saw the feed as it stands, in its order"
    );
    assert!(all.len() >= 6 * 8 * 2, "{} events", all.len());
}

/// The application's last event in the feed.
fn last_case_event(app: &TestApp, id: &str) -> Value {
    let (all, _) = walk(app, &app.caseworker(), "", 500);
    all.into_iter()
        .rev()
        .find(|e| e["record_id"] == id && e["type"].as_str().unwrap().starts_with("application."))
        .expect("the case's events")
}

/// A write of a case renders its event from the case as it wrote it, not from a read after
/// the write: what it renders must be what a GET reads back (a draft created, a draft edited,
/// a case closed after a proof of use with actual costs; none of them has a running clock,
/// so a GET later shows the same).
#[test]
fn a_case_write_s_event_shows_the_case_as_its_get_reads_it_back() {
    let app = spawn_app();
    let lead = app.applicant(&[LEAD]);
    let cw = app.caseworker();
    let draft = crate::applications::create(&app, &lead, &crate::applications::draft_body(LEAD));
    let id = id_of(&draft);
    let get = |id: &str| app.get_application(id, &cw).json();
    assert_eq!(last_case_event(&app, &id)["data"], get(&id), "created");
    let r = app.patch_application(&id, &lead, Some("*"), &json!({"title": "Neuer Titel"}));
    assert_eq!(r.status, 200, "{}", r.body);
    let edited = last_case_event(&app, &id);
    assert_eq!(edited["type"], "application.updated");
    assert_eq!(edited["data"], get(&id), "edited");
    let closed = walk_through(&app);
    let event = last_case_event(&app, &closed);
    assert_eq!(event["type"], "application.closed");
    assert_eq!(event["data"], get(&closed), "closed");
}
