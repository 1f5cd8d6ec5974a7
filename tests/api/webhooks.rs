//! Webhooks (issue 18, docs/webhooks.md): signed deliveries with retries, in order per record,
//! at least once across restarts and never twice across instances; targets checked; the
//! secret shown once.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::applications::{LEAD, year};
use crate::helpers::{TestApp, jwt_settings, spawn_app, spawn_app_configured, verify_db};
use crate::notices::PROGRAMME;
use foerderakte::config::WebhookSettings;

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Hit {
    id: String,
    timestamp: String,
    signature: String,
    body: String,
    at: Instant,
}

/// A webhook receiver on loopback, answering each request with the status `answer` gives for
/// it (its number among the requests with its `webhook-id`, from 1, and its body).
struct Receiver {
    url: String,
    hits: Arc<Mutex<Vec<Hit>>>,
}

impl Receiver {
    fn start(answer: impl Fn(usize, &Value) -> u16 + Send + 'static) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!(
            "http://127.0.0.1:{}/hook",
            listener.local_addr().unwrap().port()
        );
        let hits: Arc<Mutex<Vec<Hit>>> = Arc::default();
        let seen = Arc::clone(&hits);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                stream
                    .set_read_timeout(Some(Duration::from_secs(5)))
                    .unwrap();
                let Some(hit) = read_request(&mut stream) else {
                    continue;
                };
                let status = {
                    let mut all = seen.lock().unwrap();
                    let nth = all.iter().filter(|h| h.id == hit.id).count() + 1;
                    let body: Value = serde_json::from_str(&hit.body).unwrap_or(Value::Null);
                    all.push(hit);
                    answer(nth, &body)
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
            }
        });
        Receiver { url, hits }
    }

    fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }

    /// Waits until `n` requests have arrived (at most `secs` seconds).
    fn wait_for(&self, n: usize, secs: u64) -> Vec<Hit> {
        let until = Instant::now() + Duration::from_secs(secs);
        loop {
            let hits = self.hits();
            if hits.len() >= n {
                return hits;
            }
            assert!(
                Instant::now() < until,
                "{} requests after {secs} s, expected {n}: {hits:?}",
                hits.len()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn read_request(stream: &mut std::net::TcpStream) -> Option<Hit> {
    let mut reader = BufReader::new(stream);
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end().to_owned();
        if line.is_empty() {
            break;
        }
        headers.push(line);
    }
    let header = |name: &str| {
        headers
            .iter()
            .filter_map(|h| h.split_once(':'))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    };
    let len: usize = header("content-length").parse().ok()?;
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    Some(Hit {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        body: String::from_utf8(body).ok()?,
        at: Instant::now(),
    })
}

/// A server that delivers webhooks to loopback, retrying after 1 s, 2 s and 4 s.
fn spawn_delivering() -> TestApp {
    spawn_app_configured(jwt_settings(), |s| {
        s.webhooks = WebhookSettings {
            retry_schedule: vec![1, 2, 4],
            allow_insecure: true,
            interval_ms: 100,
            timeout_secs: 3,
        };
    })
}

fn subscribe(app: &TestApp, url: &str, events: &[&str]) -> Value {
    let r = app.post_json(
        "/api/v1/webhooks",
        Some(&app.admin()),
        &json!({"url": url, "events": events}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    r.json()
}

/// Sets a budget of the fixtures' programme (an event `budget.created` or `budget.changed`).
fn set_budget(app: &TestApp, year: i32, amount: &str) {
    let r = app.put_budget(PROGRAMME, year, &app.admin(), &json!({ "amount": amount }));
    assert!([200, 201].contains(&r.status), "{}", r.body);
}

/// Whether `signature` is `v1,<base64 HMAC-SHA256>` of `{id}.{timestamp}.{body}` under the
/// key of `secret`: checked here with the crates directly, not with the server's code.
fn signature_verifies(secret: &str, hit: &Hit) -> bool {
    let key = B64
        .decode(secret.strip_prefix("whsec_").expect("a whsec_ secret"))
        .expect("base64");
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.{}", hit.id, hit.timestamp, hit.body).as_bytes());
    let expected = format!("v1,{}", B64.encode(mac.finalize().into_bytes()));
    hit.signature.split(' ').any(|s| s == expected)
}

fn deliveries(app: &TestApp, webhook: &str) -> Vec<Value> {
    let r = app.get(
        &format!("/api/v1/webhooks/{webhook}/deliveries"),
        Some(&app.admin()),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["items"].as_array().unwrap().clone()
}

/// Waits until every delivery of `webhook` is delivered.
fn all_delivered(app: &TestApp, webhook: &str, n: usize) -> Vec<Value> {
    let until = Instant::now() + Duration::from_secs(30);
    loop {
        let items = deliveries(app, webhook);
        if items.len() == n && items.iter().all(|d| d["status"] == "delivered") {
            return items;
        }
        assert!(Instant::now() < until, "not all delivered: {items:#?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_failing_receiver_gets_three_signed_attempts_with_backoff_and_the_history_shows_them() {
    let app = spawn_delivering();
    let receiver = Receiver::start(|nth, _| if nth <= 2 { 500 } else { 204 });
    let hook = subscribe(&app, &receiver.url, &["budget.*"]);
    let secret = hook["secret"].as_str().unwrap().to_owned();
    let id = hook["id"].as_str().unwrap().to_owned();
    set_budget(&app, year() + 1, "1000.00");

    let hits = receiver.wait_for(3, 30);
    assert_eq!(hits.len(), 3, "{hits:?}");
    assert!(hits[0].id.starts_with("msg_"));
    assert!(
        hits.iter().all(|h| h.id == hits[0].id),
        "one webhook-id: {hits:?}"
    );
    for h in &hits {
        assert!(signature_verifies(&secret, h), "signature of {h:?}");
        let ts: i64 = h.timestamp.parse().unwrap();
        assert!((chrono::Utc::now().timestamp() - ts).abs() < 60);
    }
    let (g1, g2) = (hits[1].at - hits[0].at, hits[2].at - hits[1].at);
    assert!(g1 >= Duration::from_millis(850), "first wait ~1 s: {g1:?}");
    assert!(
        g2 >= Duration::from_millis(1750),
        "second wait ~2 s: {g2:?}"
    );
    assert!(g2 > g1, "backoff: {g1:?} then {g2:?}");

    let event: Value = serde_json::from_str(&hits[0].body).unwrap();
    assert_eq!(event["type"], "budget.created");
    assert_eq!(event["record_type"], "budget");
    assert_eq!(event["record_id"], format!("{PROGRAMME}/{}", year() + 1));
    assert_eq!(event["data"]["amount"], "1000.00");

    let items = all_delivered(&app, &id, 1);
    let d = &items[0];
    assert_eq!(d["id"], hits[0].id.as_str());
    assert_eq!(d["attempts"], 3);
    let codes: Vec<&Value> = d["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["status_code"])
        .collect();
    assert_eq!(codes, [&json!(500), &json!(500), &json!(204)]);
    assert_eq!(d["history"][0]["attempt"], 1);
    assert_eq!(d["history"][0]["error"], "answered HTTP 500");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(receiver.hits().len(), 3, "nothing after the success");

    // Redelivered by an admin: a fourth attempt with the same id, the history kept.
    let r = app.post_json(
        &format!("/api/v1/webhooks/{id}/deliveries/{}/redeliver", hits[0].id),
        Some(&app.admin()),
        &json!({}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let hits = receiver.wait_for(4, 10);
    assert_eq!(hits[3].id, hits[0].id);
    let d = &all_delivered(&app, &id, 1)[0];
    assert_eq!(d["attempts"], 4);
    assert_eq!(d["history"].as_array().unwrap().len(), 4);
    let mut conn = app.db();
    let report = verify_db(&mut conn);
    assert!(report.ok, "{:?}", report.findings);
}

#[test]
fn the_last_retry_parks_a_delivery_as_failed() {
    let app = spawn_app_configured(jwt_settings(), |s| {
        s.webhooks = WebhookSettings {
            retry_schedule: vec![1],
            allow_insecure: true,
            interval_ms: 100,
            timeout_secs: 3,
        };
    });
    let receiver = Receiver::start(|_, _| 503);
    let hook = subscribe(&app, &receiver.url, &["budget.created"]);
    let id = hook["id"].as_str().unwrap();
    set_budget(&app, year() + 1, "5.00");
    receiver.wait_for(2, 20);
    let until = Instant::now() + Duration::from_secs(10);
    let d = loop {
        let items = deliveries(&app, id);
        if items.first().is_some_and(|d| d["status"] == "failed") {
            break items[0].clone();
        }
        assert!(Instant::now() < until, "{items:#?}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(d["attempts"], 2);
    assert_eq!(d["last_status_code"], 503);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(receiver.hits().len(), 2, "parked: no more attempts");
}

#[test]
fn a_restart_between_attempts_loses_nothing() {
    let app = spawn_app_configured(jwt_settings(), |s| {
        s.webhooks = WebhookSettings {
            retry_schedule: vec![3],
            allow_insecure: true,
            interval_ms: 100,
            timeout_secs: 3,
        };
    });
    let receiver = Receiver::start(|nth, _| if nth == 1 { 500 } else { 204 });
    let hook = subscribe(&app, &receiver.url, &["budget.*"]);
    let id = hook["id"].as_str().unwrap().to_owned();
    set_budget(&app, year() + 1, "7.00");
    receiver.wait_for(1, 20);
    // Stopped before the retry is due; another process on the same database takes over.
    let app = app.restart_with(|_| {});
    let hits = receiver.wait_for(2, 20);
    assert_eq!(hits[0].id, hits[1].id);
    let d = &all_delivered(&app, &id, 1)[0];
    assert_eq!(d["attempts"], 2);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(receiver.hits().len(), 2);
}

#[test]
fn the_lease_of_a_crashed_worker_runs_out_and_another_instance_delivers() {
    use foerderakte::persistence::{events, stored_now, webhooks};
    // No worker at first: the event is queued, then claimed by a "worker" that dies.
    let app = spawn_app_configured(jwt_settings(), |s| {
        s.webhooks = WebhookSettings {
            retry_schedule: vec![1],
            allow_insecure: true,
            interval_ms: 0,
            timeout_secs: 3,
        };
    });
    let receiver = Receiver::start(|_, _| 204);
    let hook = subscribe(&app, &receiver.url, &["budget.*"]);
    let id = hook["id"].as_str().unwrap().to_owned();
    set_budget(&app, year() + 1, "9.00");
    let mut conn = app.db();
    // On PostgreSQL the event is placed once every earlier transaction of the cluster has
    // finished (other tests run beside this one): publish until it is queued.
    let until = Instant::now() + Duration::from_secs(30);
    let claimed = loop {
        events::publish(&mut conn).unwrap();
        let now = stored_now();
        let lease = now + chrono::Duration::seconds(2);
        if let Some(c) = webhooks::claim(&mut conn, "crashed", now, lease).unwrap() {
            break c;
        }
        assert!(Instant::now() < until, "no delivery was queued");
        std::thread::sleep(Duration::from_millis(100));
    };
    let now = stored_now();
    assert!(
        webhooks::claim(&mut conn, "other", now, now + chrono::Duration::seconds(2))
            .unwrap()
            .is_none(),
        "a leased delivery is not claimed twice"
    );
    let started = Instant::now();
    let app = app.restart_with(|s| s.webhooks.interval_ms = 100);
    let hits = receiver.wait_for(1, 20);
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "not before the lease ran out"
    );
    assert_eq!(hits[0].id, claimed.delivery.id);
    let d = &all_delivered(&app, &id, 1)[0];
    assert_eq!(d["attempts"], 1);
}

#[test]
fn two_instances_deliver_each_attempt_once() {
    let app = spawn_delivering();
    let second = app.second_instance();
    // Every message fails once, then succeeds: exactly two requests per webhook-id.
    let receiver = Receiver::start(|nth, _| if nth == 1 { 500 } else { 200 });
    let hook = subscribe(&app, &receiver.url, &["budget.*"]);
    let id = hook["id"].as_str().unwrap().to_owned();
    let n = 12;
    for i in 0..n {
        let on = if i % 2 == 0 { &app } else { &second };
        set_budget(on, year() + 1 + i, "1.00");
    }
    let items = all_delivered(&app, &id, usize::try_from(n).unwrap());
    std::thread::sleep(Duration::from_millis(500));
    let hits = receiver.hits();
    let mut per_id = std::collections::BTreeMap::<String, usize>::new();
    for h in &hits {
        *per_id.entry(h.id.clone()).or_default() += 1;
    }
    assert_eq!(per_id.len(), items.len());
    assert!(per_id.values().all(|c| *c == 2), "{per_id:?}");
    assert!(items.iter().all(|d| d["attempts"] == 2), "{items:#?}");
}

#[test]
fn deliveries_of_one_record_arrive_in_order() {
    let app = spawn_delivering();
    // The first message of the budget fails: its later changes wait for it.
    let receiver = Receiver::start(|nth, body| {
        if nth == 1 && body["version"] == 1 {
            500
        } else {
            204
        }
    });
    let hook = subscribe(&app, &receiver.url, &["budget.*"]);
    let id = hook["id"].as_str().unwrap().to_owned();
    let y = year() + 1;
    for amount in ["1.00", "2.00", "3.00", "4.00"] {
        set_budget(&app, y, amount);
    }
    all_delivered(&app, &id, 4);
    let versions: Vec<i64> = receiver
        .hits()
        .iter()
        .map(|h| {
            serde_json::from_str::<Value>(&h.body).unwrap()["version"]
                .as_i64()
                .unwrap()
        })
        .collect();
    assert_eq!(versions, [1, 1, 2, 3, 4], "in order per record");
}

#[test]
fn targets_on_loopback_or_private_addresses_are_refused() {
    let app = spawn_app();
    let admin = app.admin();
    for url in [
        "http://127.0.0.1:9/hook",
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "https://10.1.2.3/hook",
        "https://[::ffff:169.254.169.254]/latest",
        "https://user@example.org/",
        "ftp://example.org/",
    ] {
        let r = app.post_json(
            "/api/v1/webhooks",
            Some(&admin),
            &json!({"url": url, "events": ["*"]}),
        );
        let p = r.assert_problem(422);
        assert!(p.to_string().contains("url"), "{url}: {p}");
    }
    let r = app.post_json(
        "/api/v1/webhooks",
        Some(&admin),
        &json!({"url": "https://127.0.0.1/hook", "events": ["*"]}),
    );
    assert!(r.body.contains("not a public address"), "{}", r.body);
    let r = app.post_json(
        "/api/v1/webhooks",
        Some(&admin),
        &json!({"url": "https://93.184.216.34/", "events": ["notice.exploded"]}),
    );
    r.assert_problem(422);
}

#[test]
fn the_secret_is_shown_once_and_only_admins_manage_webhooks() {
    let app = spawn_app_configured(jwt_settings(), |s| s.webhooks.allow_insecure = true);
    let admin = app.admin();
    let r = app.request(
        "POST",
        "/api/v1/webhooks",
        Some(&admin),
        &[("Idempotency-Key", "hook-1")],
        Some((
            "application/json",
            br#"{"url": "http://127.0.0.1:9/hook", "events": ["notice.signed", "payment.*"]}"#
                .to_vec(),
        )),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let hook = r.json();
    let id = hook["id"].as_str().unwrap().to_owned();
    let secret = hook["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_") && secret.len() >= 6 + 32);
    assert_eq!(
        r.header("location"),
        Some(format!("/api/v1/webhooks/{id}").as_str())
    );
    assert_eq!(hook["events"], json!(["notice.signed", "payment.*"]));

    let get = app.get(&format!("/api/v1/webhooks/{id}"), Some(&admin));
    assert_eq!(get.status, 200);
    let etag = get.header("etag").unwrap().to_owned();
    let patch = app.send_json(
        "PATCH",
        &format!("/api/v1/webhooks/{id}"),
        Some(&admin),
        Some(&etag),
        &json!({"events": ["notice.*"], "active": false}),
    );
    assert_eq!(patch.status, 200, "{}", patch.body);
    assert_eq!(patch.json()["events"], json!(["notice.*"]));
    assert_eq!(patch.json()["active"], false);
    let stale = app.send_json(
        "PATCH",
        &format!("/api/v1/webhooks/{id}"),
        Some(&admin),
        Some(&etag),
        &json!({"active": true}),
    );
    stale.assert_problem(412);

    let list = app.get("/api/v1/webhooks", Some(&admin));
    assert_eq!(list.status, 200);
    assert_eq!(list.json().as_array().unwrap().len(), 1);
    // On PostgreSQL an event enters the feed once every transaction of the cluster that
    // began before it has finished (other tests run beside this one): poll.
    let until = Instant::now() + Duration::from_secs(20);
    let feed = loop {
        let feed = app.get("/api/v1/events?types=webhook.*", Some(&admin));
        assert_eq!(feed.status, 200);
        if feed.json()["items"].as_array().unwrap().len() >= 2 || Instant::now() > until {
            break feed;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let types: Vec<Value> = feed.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].clone())
        .collect();
    assert_eq!(types, [json!("webhook.created"), json!("webhook.updated")]);
    let audit = app.get("/api/v1/audit?limit=500", Some(&admin));
    for body in [&get.body, &patch.body, &list.body, &feed.body, &audit.body] {
        assert!(!body.contains(&secret), "the secret shows: {body}");
        assert!(!body.contains("whsec_"), "a secret shows: {body}");
    }
    // A replay of the create answers the same (its secret included), creating nothing.
    let replay = app.request(
        "POST",
        "/api/v1/webhooks",
        Some(&admin),
        &[("Idempotency-Key", "hook-1")],
        Some((
            "application/json",
            br#"{"url": "http://127.0.0.1:9/hook", "events": ["notice.signed", "payment.*"]}"#
                .to_vec(),
        )),
    );
    assert_eq!(replay.status, 201);
    assert_eq!(replay.json()["id"], id.as_str());

    for token in [app.caseworker(), app.ministry(), app.applicant(&[LEAD])] {
        app.get("/api/v1/webhooks", Some(&token))
            .assert_problem(403);
        app.post_json(
            "/api/v1/webhooks",
            Some(&token),
            &json!({"url": "http://127.0.0.1:9/", "events": ["*"]}),
        )
        .assert_problem(403);
        let feed = app.get("/api/v1/events?types=webhook.*", Some(&token));
        assert_eq!(feed.json()["items"], json!([]), "{}", feed.body);
    }

    let etag = app
        .get(&format!("/api/v1/webhooks/{id}"), Some(&admin))
        .header("etag")
        .unwrap()
        .to_owned();
    let r = app.request(
        "DELETE",
        &format!("/api/v1/webhooks/{id}"),
        Some(&admin),
        &[("If-Match", &etag)],
        None,
    );
    assert_eq!(r.status, 204, "{}", r.body);
    app.get(&format!("/api/v1/webhooks/{id}"), Some(&admin))
        .assert_problem(404);
    let mut conn = app.db();
    let report = verify_db(&mut conn);
    assert!(report.ok, "{:?}", report.findings);
}
