//! The seed's path and the API's path store a case alike: a handful of seeded cases that
//! together make every kind of write are rebuilt on a fresh database through the HTTP API
//! only, from what the seeded database stored (each write at its instant, by its actor),
//! and every stored field of both is compared but the ids (mapped) and the case numbers
//! (mapped, see `Map`).
//!
//! What the seed writes goes through `persistence::steps` in memory and is then replayed
//! through the persistence transactions the handlers call (`seed::replay`); what the API
//! writes goes through the handlers' DTO conversions into the same transactions. A rule
//! changed on one path only (the seed's inputs, a DTO mapping) makes this test fail, naming
//! the table, the case, the field and both values.
//!
//! What it cannot see: a change of the seed's *inputs* (another amount, another day), since
//! B's requests are read from what A stored; such a history is still one the API writes
//! alike (e.g. `Sim::payment_room` one cent lower: the test passes).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Instant;

use diesel::prelude::*;
use foerderakte::domain::notice::ABOVE_APPROVAL_DE;
use foerderakte::domain::notice::{NoticeKind, NoticeStatus};
use foerderakte::domain::payment::PaymentStatus;
use foerderakte::domain::rate::rate_string;
use foerderakte::domain::{Money, Role};
use foerderakte::persistence::AnyConnection;
use foerderakte::persistence::applications::{ApplicationRow, CostLineRow, MemberRow};
use foerderakte::persistence::audit::AuditEvent;
use foerderakte::persistence::notices::{AllocationRow, NoticeLineRow, NoticeRow};
use foerderakte::persistence::payments::PaymentRow;
use foerderakte::persistence::schema::{
    application_members, applications, audit_events, cost_lines, notice_allocations, notice_lines,
    notices, payment_requests,
};
use foerderakte::seed::{self, Options};
use serde_json::{Value, json};

use crate::helpers::{Resp, TestApp, spawn_app};

/// Everything stored about one case: its rows, its notices with their lines and allocations,
/// its payment requests, and the audit entries of the case, its notices and its payment
/// requests.
#[derive(Debug, Clone)]
struct CaseRows {
    app: ApplicationRow,
    members: Vec<MemberRow>,
    lines: Vec<CostLineRow>,
    notices: Vec<NoticeRow>,
    notice_lines: Vec<NoticeLineRow>,
    allocations: Vec<AllocationRow>,
    payments: Vec<PaymentRow>,
    audit: Vec<AuditEvent>,
}

fn load_case(conn: &mut AnyConnection, id: &str) -> CaseRows {
    let app = applications::table
        .find(id)
        .select(ApplicationRow::as_select())
        .first(conn)
        .unwrap();
    let members = application_members::table
        .filter(application_members::application_id.eq(id))
        .order(application_members::position)
        .select(MemberRow::as_select())
        .load(conn)
        .unwrap();
    let lines = cost_lines::table
        .filter(cost_lines::application_id.eq(id))
        .order(cost_lines::line_no)
        .select(CostLineRow::as_select())
        .load(conn)
        .unwrap();
    let notices: Vec<NoticeRow> = notices::table
        .filter(notices::application_id.eq(id))
        .order((notices::prepared_at, notices::id))
        .select(NoticeRow::as_select())
        .load(conn)
        .unwrap();
    let notice_ids: Vec<&str> = notices.iter().map(|n| n.id.as_str()).collect();
    let notice_lines = notice_lines::table
        .filter(notice_lines::notice_id.eq_any(&notice_ids))
        .order((notice_lines::notice_id, notice_lines::line_no))
        .select(NoticeLineRow::as_select())
        .load(conn)
        .unwrap();
    let allocations = notice_allocations::table
        .filter(notice_allocations::notice_id.eq_any(&notice_ids))
        .order((
            notice_allocations::notice_id,
            notice_allocations::fiscal_year,
        ))
        .select(AllocationRow::as_select())
        .load(conn)
        .unwrap();
    let payments: Vec<PaymentRow> = payment_requests::table
        .filter(payment_requests::application_id.eq(id))
        .order((payment_requests::requested_at, payment_requests::id))
        .select(PaymentRow::as_select())
        .load(conn)
        .unwrap();
    let mut keys: Vec<&str> = vec![id];
    keys.extend(notice_ids.iter().copied());
    keys.extend(payments.iter().map(|p| p.id.as_str()));
    let audit = audit_events::table
        .filter(audit_events::record_key.eq_any(&keys))
        .filter(audit_events::record_type.eq_any(["application", "notice", "payment_request"]))
        .order((audit_events::occurred_at, audit_events::id))
        .select(AuditEvent::as_select())
        .load(conn)
        .unwrap();
    CaseRows {
        app,
        members,
        lines,
        notices,
        notice_lines,
        allocations,
        payments,
        audit,
    }
}

/// What a case's history shows, for choosing the cases.
const FEATURES: [&str; 12] = [
    "joint case",
    "draft edited",
    "information requested and provided",
    "early-start notice",
    "grant cutting a line, allocated over two fiscal years",
    "amendment",
    "two or more tranches requested, prepared and released",
    "proof of use returned once",
    "final notice and the final payment",
    "rejection",
    "withdrawal",
    "revocation",
];

fn features(c: &CaseRows) -> BTreeSet<&'static str> {
    let actions: BTreeSet<&str> = c
        .audit
        .iter()
        .filter(|e| e.record_type == "application")
        .map(|e| e.action.as_str())
        .collect();
    let signed = |kind: &'static str| {
        c.notices
            .iter()
            .filter(move |n| n.kind.as_str() == kind && n.status == NoticeStatus::Signed)
    };
    let paid: Vec<&PaymentRow> = c
        .payments
        .iter()
        .filter(|p| p.status == PaymentStatus::Paid)
        .collect();
    let mut out = BTreeSet::new();
    let mut add = |i: usize, yes: bool| {
        if yes {
            out.insert(FEATURES[i]);
        }
    };
    add(0, c.app.joint);
    add(1, actions.contains("edit"));
    add(
        2,
        actions.contains("request_info") && actions.contains("provide_info"),
    );
    add(3, signed("early_start").next().is_some());
    add(
        4,
        signed("grant").any(|n| {
            let cut = c
                .notice_lines
                .iter()
                .any(|l| l.notice_id == n.id && l.approved_cents < l.applied_cents);
            let years = c.allocations.iter().filter(|a| a.notice_id == n.id).count();
            cut && years >= 2
        }),
    );
    add(5, signed("amendment").next().is_some());
    add(6, paid.len() >= 2);
    add(7, actions.contains("return_proof"));
    add(
        8,
        signed("final").any(|n| paid.iter().any(|p| p.paid_at > n.signed_at)),
    );
    add(9, signed("rejection").next().is_some());
    add(10, actions.contains("withdraw"));
    add(11, signed("revocation").next().is_some());
    out
}

/// Every case of the database, read in one statement per table.
fn load_all(conn: &mut AnyConnection) -> Vec<CaseRows> {
    let apps: Vec<ApplicationRow> = applications::table
        .order(applications::case_number)
        .select(ApplicationRow::as_select())
        .load(conn)
        .unwrap();
    let mut by_id: HashMap<String, CaseRows> = apps
        .iter()
        .map(|a| {
            let c = CaseRows {
                app: a.clone(),
                members: Vec::new(),
                lines: Vec::new(),
                notices: Vec::new(),
                notice_lines: Vec::new(),
                allocations: Vec::new(),
                payments: Vec::new(),
                audit: Vec::new(),
            };
            (a.id.clone(), c)
        })
        .collect();
    let members: Vec<MemberRow> = application_members::table
        .order((
            application_members::application_id,
            application_members::position,
        ))
        .select(MemberRow::as_select())
        .load(conn)
        .unwrap();
    for m in members {
        by_id.get_mut(&m.application_id).unwrap().members.push(m);
    }
    let lines: Vec<CostLineRow> = cost_lines::table
        .order((cost_lines::application_id, cost_lines::line_no))
        .select(CostLineRow::as_select())
        .load(conn)
        .unwrap();
    for l in lines {
        by_id.get_mut(&l.application_id).unwrap().lines.push(l);
    }
    let ns: Vec<NoticeRow> = notices::table
        .order((notices::prepared_at, notices::id))
        .select(NoticeRow::as_select())
        .load(conn)
        .unwrap();
    let mut owner: HashMap<String, String> = HashMap::new();
    for n in ns {
        owner.insert(n.id.clone(), n.application_id.clone());
        by_id.get_mut(&n.application_id).unwrap().notices.push(n);
    }
    let nl: Vec<NoticeLineRow> = notice_lines::table
        .order((notice_lines::notice_id, notice_lines::line_no))
        .select(NoticeLineRow::as_select())
        .load(conn)
        .unwrap();
    for l in nl {
        by_id
            .get_mut(&owner[&l.notice_id])
            .unwrap()
            .notice_lines
            .push(l);
    }
    let al: Vec<AllocationRow> = notice_allocations::table
        .order((
            notice_allocations::notice_id,
            notice_allocations::fiscal_year,
        ))
        .select(AllocationRow::as_select())
        .load(conn)
        .unwrap();
    for a in al {
        by_id
            .get_mut(&owner[&a.notice_id])
            .unwrap()
            .allocations
            .push(a);
    }
    let ps: Vec<PaymentRow> = payment_requests::table
        .order((payment_requests::requested_at, payment_requests::id))
        .select(PaymentRow::as_select())
        .load(conn)
        .unwrap();
    for p in ps {
        owner.insert(p.id.clone(), p.application_id.clone());
        by_id.get_mut(&p.application_id).unwrap().payments.push(p);
    }
    for e in load_audit(conn, &["application", "notice", "payment_request"], None) {
        let case = owner.get(&e.record_key).unwrap_or(&e.record_key).clone();
        by_id.get_mut(&case).unwrap().audit.push(e);
    }
    apps.iter().map(|a| by_id.remove(&a.id).unwrap()).collect()
}

/// A few cases that together show every feature: greedily the case that shows the most
/// features not yet shown, the lowest case number among equals (the seed is fixed, so is
/// the choice).
fn choose(conn: &mut AnyConnection) -> Vec<(CaseRows, BTreeSet<&'static str>)> {
    let mut all: Vec<(CaseRows, BTreeSet<&'static str>)> = load_all(conn)
        .into_iter()
        .map(|c| {
            let f = features(&c);
            (c, f)
        })
        .collect();
    let mut missing: BTreeSet<&str> = FEATURES.into_iter().collect();
    let mut chosen = Vec::new();
    while !missing.is_empty() {
        let best = all
            .iter()
            .enumerate()
            .max_by_key(|(i, (_, f))| (f.intersection(&missing).count(), usize::MAX - i))
            .map(|(i, (_, f))| (i, f.intersection(&missing).count()));
        match best {
            Some((i, n)) if n > 0 => {
                let (c, f) = all.swap_remove(i);
                // Keep the order of case numbers among the rest for the next round.
                all.sort_by(|x, y| x.0.app.case_number.cmp(&y.0.app.case_number));
                for x in &f {
                    missing.remove(x);
                }
                chosen.push((c, f));
            }
            _ => panic!("no seeded case shows {missing:?}"),
        }
    }
    chosen
}

/// A's ids and case numbers with B's: B's text is read as A's by replacing each of B's by
/// A's (in one pass, through placeholders, so that a replaced value is never replaced again).
#[derive(Debug, Default)]
struct Map {
    /// A → B
    to_b: HashMap<String, String>,
    /// B → A
    to_a: HashMap<String, String>,
}

impl Map {
    fn add(&mut self, a: &str, b: &str) {
        self.to_b.insert(a.to_owned(), b.to_owned());
        self.to_a.insert(b.to_owned(), a.to_owned());
    }

    fn b(&self, a: &str) -> &str {
        self.to_b
            .get(a)
            .unwrap_or_else(|| panic!("{a} has no counterpart on B yet"))
    }

    /// B's id (or key) as A's; a key without counterpart (a programme code) stays.
    fn id(&self, b: &str) -> String {
        self.to_a.get(b).cloned().unwrap_or_else(|| b.to_owned())
    }

    fn text(&self, s: &str) -> String {
        let mut pairs: Vec<(&String, &String)> = self.to_a.iter().collect();
        // Longer first: a case number is a prefix of its notices' numbers, never the reverse.
        pairs.sort_by(|x, y| y.0.len().cmp(&x.0.len()).then(x.0.cmp(y.0)));
        let mut out = s.to_owned();
        for (i, (b, _)) in pairs.iter().enumerate() {
            out = out.replace(b.as_str(), &format!("\u{1}{i}\u{1}"));
        }
        for (i, (_, a)) in pairs.iter().enumerate() {
            out = out.replace(&format!("\u{1}{i}\u{1}"), a);
        }
        out
    }

    fn opt(&self, s: &Option<String>) -> Option<String> {
        s.as_deref().map(|s| self.text(s))
    }

    /// B's rows of a case as A's would read.
    fn case(&self, mut c: CaseRows) -> CaseRows {
        c.app.id = self.id(&c.app.id);
        c.app.case_number = self.text(&c.app.case_number);
        for m in &mut c.members {
            m.application_id = self.id(&m.application_id);
        }
        for l in &mut c.lines {
            l.application_id = self.id(&l.application_id);
        }
        for n in &mut c.notices {
            n.id = self.id(&n.id);
            n.application_id = self.id(&n.application_id);
            n.refers_to = n.refers_to.as_deref().map(|r| self.id(r));
            n.number = self.opt(&n.number);
            n.reason = self.opt(&n.reason);
            n.purpose = self.opt(&n.purpose);
        }
        for l in &mut c.notice_lines {
            l.notice_id = self.id(&l.notice_id);
        }
        for a in &mut c.allocations {
            a.notice_id = self.id(&a.notice_id);
        }
        for p in &mut c.payments {
            p.id = self.id(&p.id);
            p.application_id = self.id(&p.application_id);
            p.reason = self.opt(&p.reason);
            p.rejection_reason = self.opt(&p.rejection_reason);
        }
        for e in &mut c.audit {
            self.event(e);
        }
        c
    }

    fn event(&self, e: &mut AuditEvent) {
        e.record_key = self.id(&e.record_key);
        e.reason = self.opt(&e.reason);
        e.changes = self.text(&e.changes);
    }
}

/// Compares the fields of two rows of type `$T`. The pattern names every field of `$T` (the
/// compared ones and the `skip`ped ones), so a new column does not compile until it is added
/// here.
macro_rules! compare {
    ($diffs:expr, $where:expr, $a:expr, $b:expr, $T:ident { $($f:ident),* $(,)? }
     $(skip { $($s:ident),* $(,)? })?) => {{
        let (a, b): (&$T, &$T) = (&$a, &$b);
        let $T { $($f: _,)* $($($s: _,)*)? } = a;
        $(
            if a.$f != b.$f {
                $diffs.push(format!(
                    "{}: field {}: seed (A) {:?}, API (B) {:?}",
                    $where,
                    stringify!($f),
                    a.$f,
                    b.$f
                ));
            }
        )*
    }};
}

/// Every difference between A's rows of a case and B's (read as A's).
fn differences(a: &CaseRows, b: &CaseRows) -> Vec<String> {
    let mut d = Vec::new();
    let cn = &a.app.case_number;
    compare!(
        d,
        format!("applications, case {cn}"),
        a.app,
        b.app,
        ApplicationRow {
            id,
            case_number,
            case_year,
            programme_code,
            funding_object,
            lead_ags,
            joint,
            title,
            description,
            project_start,
            project_end,
            total_cost_cents,
            eligible_cents,
            own_contribution_cents,
            third_party_cents,
            requested_cents,
            granted_cents,
            paid_cents,
            status,
            version,
            info_due,
            early_start_at,
            early_start_by,
            clock_seconds,
            clock_since,
            submitted_at,
            created_by,
            created_at,
            updated_at,
            reclaimed_cents,
            contact,
            postal_address,
        }
    );
    let count = |d: &mut Vec<String>, table: &str, x: usize, y: usize| {
        if x != y {
            d.push(format!(
                "{table}, case {cn}: seed (A) has {x} rows, API (B) {y}"
            ));
        }
    };
    count(
        &mut d,
        "application_members",
        a.members.len(),
        b.members.len(),
    );
    for (x, y) in a.members.iter().zip(&b.members) {
        compare!(
            d,
            format!("application_members, case {cn}, position {}", x.position),
            x,
            y,
            MemberRow {
                application_id,
                position,
                ags,
                kreis,
                share_bp,
                is_lead,
            }
        );
    }
    count(&mut d, "cost_lines", a.lines.len(), b.lines.len());
    for (x, y) in a.lines.iter().zip(&b.lines) {
        compare!(
            d,
            format!("cost_lines, case {cn}, line {}", x.line_no),
            x,
            y,
            CostLineRow {
                application_id,
                line_no,
                category,
                description,
                amount_cents,
                eligible,
                actual_cents,
            }
        );
    }
    count(&mut d, "notices", a.notices.len(), b.notices.len());
    for (x, y) in a.notices.iter().zip(&b.notices) {
        compare!(
            d,
            format!("notices, case {cn}, {} notice {}", x.kind, x.id),
            x,
            y,
            NoticeRow {
                id,
                application_id,
                kind,
                status,
                number,
                seq,
                case_version,
                refers_to,
                financing_type,
                rate_bp,
                max_cents,
                fixed_cents,
                eligible_cents,
                computed_cents,
                granted_cents,
                paid_cents,
                revoked_cents,
                reclaim_cents,
                reclaim_due,
                interest_from,
                grant_period_start,
                grant_period_end,
                proof_due,
                purpose,
                binding_years,
                reason,
                posted_on,
                delivery_days,
                prepared_by,
                prepared_at,
                signed_by,
                signed_at,
            }
        );
    }
    // Lines and allocations keyed by A's notice id (B's are read as A's).
    let sorted = |mut v: Vec<NoticeLineRow>| {
        v.sort_by(|x, y| (&x.notice_id, x.line_no).cmp(&(&y.notice_id, y.line_no)));
        v
    };
    let (al, bl) = (
        sorted(a.notice_lines.clone()),
        sorted(b.notice_lines.clone()),
    );
    count(&mut d, "notice_lines", al.len(), bl.len());
    for (x, y) in al.iter().zip(&bl) {
        compare!(
            d,
            format!(
                "notice_lines, case {cn}, notice {}, line {}",
                x.notice_id, x.line_no
            ),
            x,
            y,
            NoticeLineRow {
                notice_id,
                line_no,
                applied_cents,
                approved_cents,
                actual_cents,
                eligible,
                reason,
            }
        );
    }
    let sorted = |mut v: Vec<AllocationRow>| {
        v.sort_by(|x, y| (&x.notice_id, x.fiscal_year).cmp(&(&y.notice_id, y.fiscal_year)));
        v
    };
    let (aa, ba) = (sorted(a.allocations.clone()), sorted(b.allocations.clone()));
    count(&mut d, "notice_allocations", aa.len(), ba.len());
    for (x, y) in aa.iter().zip(&ba) {
        compare!(
            d,
            format!(
                "notice_allocations, case {cn}, notice {}, year {}",
                x.notice_id, x.fiscal_year
            ),
            x,
            y,
            AllocationRow {
                notice_id,
                fiscal_year,
                amount_cents,
            }
        );
    }
    count(
        &mut d,
        "payment_requests",
        a.payments.len(),
        b.payments.len(),
    );
    for (x, y) in a.payments.iter().zip(&b.payments) {
        compare!(
            d,
            format!("payment_requests, case {cn}, request {}", x.id),
            x,
            y,
            PaymentRow {
                id,
                application_id,
                amount_cents,
                reason,
                status,
                requested_by,
                requested_at,
                prepared_by,
                prepared_at,
                paid_by,
                paid_at,
                paid_year,
                rejected_by,
                rejected_at,
                rejection_reason,
            }
        );
    }
    audit_differences(&mut d, &format!("case {cn}"), &a.audit, &b.audit);
    d
}

/// Audit entries per record, in chain order. Not compared:
/// - `id`, `txid`: the entry's place in the whole log, which holds every case of the history
///   on A and only the chosen ones on B, and its transaction;
/// - `prev_mac`, `mac`, `key_id`, `state`, `state_hash`: they cover the record key (a random
///   id), the row ids in the state and the previous entry of the global chain; that B's log is
///   intact and matches its rows is checked by `/audit/verify` instead.
fn audit_differences(d: &mut Vec<String>, what: &str, a: &[AuditEvent], b: &[AuditEvent]) {
    let chains = |v: &[AuditEvent]| {
        let mut v = v.to_vec();
        v.sort_by(|x, y| {
            (&x.record_type, &x.record_key, x.seq).cmp(&(&y.record_type, &y.record_key, y.seq))
        });
        v
    };
    let (a, b) = (chains(a), chains(b));
    if a.len() != b.len() {
        d.push(format!(
            "audit_events, {what}: seed (A) has {} entries, API (B) {}",
            a.len(),
            b.len()
        ));
    }
    for (x, y) in a.iter().zip(&b) {
        compare!(
            d,
            format!(
                "audit_events, {what}, {} {} #{} ({})",
                x.record_type, x.record_key, x.seq, x.action
            ),
            x,
            y,
            AuditEvent {
                record_type,
                record_key,
                seq,
                occurred_at,
                actor,
                role,
                action,
                from_status,
                to_status,
                reason,
            }
            // `changes` is compared below, key by key.
            skip { id, prev_mac, mac, changes, state, state_hash, key_id, txid }
        );
        if x.changes != y.changes {
            let at = format!(
                "audit_events, {what}, {} {} #{} ({}): field changes",
                x.record_type, x.record_key, x.seq, x.action
            );
            changes_differences(d, &at, &x.changes, &y.changes);
        }
    }
}

/// The keys of two audit entries' `changes` whose values differ (or, if the JSON is the same
/// but not its text, both texts).
fn changes_differences(d: &mut Vec<String>, at: &str, a: &str, b: &str) {
    let parse = |s: &str| serde_json::from_str::<Value>(s).unwrap_or(Value::String(s.into()));
    let (va, vb) = (parse(a), parse(b));
    let (Some(oa), Some(ob)) = (va.as_object(), vb.as_object()) else {
        d.push(format!("{at}: seed (A) {a}, API (B) {b}"));
        return;
    };
    let keys: BTreeSet<&String> = oa.keys().chain(ob.keys()).collect();
    let mut any = false;
    for k in keys {
        let (x, y) = (oa.get(k), ob.get(k));
        if x != y {
            any = true;
            let show = |v: Option<&Value>| v.map_or("absent".to_owned(), Value::to_string);
            d.push(format!(
                "{at}.{k}: seed (A) {}, API (B) {}",
                show(x),
                show(y)
            ));
        }
    }
    if !any {
        d.push(format!(
            "{at} (same JSON, other text): seed (A) {a}, API (B) {b}"
        ));
    }
}

/// The fields of `after` in `changes` written onto `state` (an audit entry's diff applied).
fn apply_diff(state: &mut Value, changes: &Value) {
    if let (Some(s), Some(c)) = (state.as_object_mut(), changes.as_object()) {
        for (k, v) in c {
            s.insert(k.clone(), v["after"].clone());
        }
    }
}

/// A snapshot's cost lines as the request body has them.
fn cost_lines_body(state: &Value) -> Value {
    let lines = state["cost_lines"].as_array().cloned().unwrap_or_default();
    Value::Array(
        lines
            .iter()
            .map(|l| {
                json!({
                    "category": l["category"], "description": l["description"],
                    "amount": l["amount"], "eligible": l["eligible"],
                })
            })
            .collect(),
    )
}

/// A snapshot's municipalities as the request body's partners (none for a single case).
fn partners_body(state: &Value) -> Value {
    if state["joint"] != json!(true) {
        return json!([]);
    }
    let partners = state["partners"].as_array().cloned().unwrap_or_default();
    Value::Array(
        partners
            .iter()
            .map(|p| {
                let bp = i32::try_from(p["share_bp"].as_i64().unwrap()).unwrap();
                json!({"ags": p["ags"], "share": rate_string(bp)})
            })
            .collect(),
    )
}

/// Case entries that a signing or a payout writes beside its own entry.
const FOLLOWS: [&str; 6] = ["approve", "reject", "close", "revoke", "amend", "payout"];

/// B rebuilt through the API, write by write.
struct Rebuild<'a> {
    b: &'a TestApp,
    map: Map,
    /// A's cases by A's id.
    cases: HashMap<String, &'a CaseRows>,
    /// A's notice and payment ids → A's case id.
    owner: HashMap<String, String>,
    /// Each case's snapshot so far, from its audit entries.
    state: HashMap<String, Value>,
    requests: usize,
}

impl Rebuild<'_> {
    fn token(&self, e: &AuditEvent, case: Option<&CaseRows>) -> String {
        let role: Role = e.role.parse().unwrap();
        let lead = case.map(|c| c.app.lead_ags.as_str());
        let ags: Vec<&str> = match (role, lead) {
            (Role::Applicant, Some(l)) => vec![l],
            _ => Vec::new(),
        };
        self.b.token(role, &e.actor, &ags)
    }

    fn ok(&mut self, e: &AuditEvent, what: &str, r: Resp) -> Value {
        self.requests += 1;
        assert!(
            (200..300).contains(&r.status),
            "rebuilding {} {} #{} ({}) at {} by {} on B: {what} answered {}: {}",
            e.record_type,
            e.record_key,
            e.seq,
            e.action,
            e.occurred_at,
            e.actor,
            r.status,
            r.body
        );
        if r.body.is_empty() {
            Value::Null
        } else {
            r.json()
        }
    }

    /// B's version of A's case `a_id`, for `If-Match`.
    fn if_match(&mut self, a_id: &str) -> String {
        let id = self.map.b(a_id).to_owned();
        let r = self.b.get_application(&id, &self.b.caseworker());
        self.requests += 1;
        assert_eq!(r.status, 200, "{}", r.body);
        format!("\"{}\"", r.json()["version"])
    }

    fn write(&mut self, e: &AuditEvent) {
        if e.role == "system" {
            // The shipped rows' `init` and the register's import: B has its own.
            return;
        }
        self.b.clock().fix(e.occurred_at);
        let changes: Value = serde_json::from_str(&e.changes).unwrap();
        match e.record_type.as_str() {
            "programme" => self.programme(e, &changes),
            "budget" => self.budget(e, &changes),
            "application" => self.case_write(e, &changes),
            "notice" => self.notice_write(e),
            "payment_request" => self.payment_write(e),
            other => panic!("no replay for {other} entries"),
        }
    }

    fn programme(&mut self, e: &AuditEvent, changes: &Value) {
        let keys: Vec<&String> = changes.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["funding_objects"], "{e:?}");
        let before = changes["funding_objects"]["before"].as_array().unwrap();
        let after = changes["funding_objects"]["after"].as_array().unwrap();
        let changed: Vec<Value> = after
            .iter()
            .filter(|o| !before.contains(o))
            .map(|o| json!({"code": o["code"], "fundable_now": o["fundable_now"]}))
            .collect();
        let token = self.token(e, None);
        let r = self.b.get_programme(&e.record_key, &token);
        let version = format!("\"{}\"", self.ok(e, "GET programme", r)["version"]);
        let body = json!({"funding_objects": changed, "reason": e.reason});
        let r = self
            .b
            .patch_programme(&e.record_key, &token, Some(&version), &body);
        self.ok(e, "PATCH programme", r);
    }

    fn budget(&mut self, e: &AuditEvent, changes: &Value) {
        let (code, year) = e.record_key.rsplit_once('/').unwrap();
        let body = json!({"amount": changes["amount"]["after"], "reason": e.reason});
        let token = self.token(e, None);
        let r = self
            .b
            .put_budget(code, year.parse().unwrap(), &token, &body);
        self.ok(e, "PUT budget", r);
    }

    fn case_write(&mut self, e: &AuditEvent, changes: &Value) {
        let a_id = e.record_key.clone();
        let case = self.cases[&a_id];
        let state = self.state.entry(a_id.clone()).or_insert_with(|| json!({}));
        apply_diff(state, changes);
        let state = state.clone();
        let token = self.token(e, Some(case));
        match e.action.as_str() {
            "create" => {
                let body = json!({
                    "programme": state["programme"],
                    "funding_object": state["funding_object"],
                    "lead_ags": case.app.lead_ags,
                    "title": state["title"],
                    "description": state["description"],
                    "project_start": state["project_start"],
                    "project_end": state["project_end"],
                    "cost_lines": cost_lines_body(&state),
                    "own_contribution": state["own_contribution"],
                    "third_party_funds": state["third_party_funds"],
                    "requested_grant": state["requested_grant"],
                    "partners": partners_body(&state),
                    "contact": state["contact"],
                    "postal_address": state["postal_address"],
                });
                let r = self.b.create_application(&token, &body);
                let made = self.ok(e, "POST application", r);
                let b_id = made["id"].as_str().unwrap();
                self.map.add(&a_id, b_id);
                self.map
                    .add(&case.app.case_number, made["case_number"].as_str().unwrap());
            }
            "edit" => {
                let mut body = serde_json::Map::new();
                for k in changes.as_object().unwrap().keys() {
                    let (field, value) = match k.as_str() {
                        "cost_lines" => ("cost_lines", cost_lines_body(&state)),
                        "partners" | "joint" => ("partners", partners_body(&state)),
                        "programme" | "funding_object" | "title" | "description"
                        | "project_start" | "project_end" | "own_contribution"
                        | "third_party_funds" | "requested_grant" | "contact"
                        | "postal_address" => (k.as_str(), state[k].clone()),
                        other => panic!("an edit of {other}: {e:?}"),
                    };
                    body.insert(field.to_owned(), value);
                }
                if let Some(reason) = &e.reason {
                    body.insert("reason".into(), json!(reason));
                }
                let version = self.if_match(&a_id);
                let id = self.map.b(&a_id).to_owned();
                let r = self
                    .b
                    .patch_application(&id, &token, Some(&version), &Value::Object(body));
                self.ok(e, "PATCH application", r);
            }
            action if FOLLOWS.contains(&action) => {}
            // Written by the signing of an early-start notice, whose number is the reason.
            "permit_early_start"
                if e.reason
                    .as_deref()
                    .is_some_and(|r| r.starts_with(&format!("{}-B", case.app.case_number))) => {}
            action => {
                let mut body = json!({"action": action});
                if let Some(reason) = &e.reason {
                    body["reason"] = json!(reason);
                }
                if action == "request_info" {
                    body["response_due"] = state["info_due"].clone();
                }
                if action == "submit_proof" {
                    let lines = state["cost_lines"].as_array().unwrap();
                    body["actual_costs"] = Value::Array(
                        lines
                            .iter()
                            .map(|l| json!({"line": l["line"], "amount": l["actual"]}))
                            .collect(),
                    );
                }
                let version = self.if_match(&a_id);
                let id = self.map.b(&a_id).to_owned();
                let r = self
                    .b
                    .transition_application(&id, &token, Some(&version), &body);
                self.ok(e, "POST transition", r);
            }
        }
    }

    fn notice_write(&mut self, e: &AuditEvent) {
        let case = self.cases[&self.owner[&e.record_key]];
        let token = self.token(e, Some(case));
        match e.action.as_str() {
            "prepare" => {
                let n = case.notices.iter().find(|n| n.id == e.record_key).unwrap();
                let body = notice_body(case, n);
                let id = self.map.b(&case.app.id).to_owned();
                let r = self.b.prepare_notice(&id, &token, &body);
                let made = self.ok(e, "POST notice", r);
                self.map.add(&n.id, made["id"].as_str().unwrap());
            }
            "sign" => {
                let id = self.map.b(&e.record_key).to_owned();
                let r = self.b.sign_notice(&id, &token);
                self.ok(e, "POST sign", r);
            }
            other => panic!("no replay for notice {other}"),
        }
    }

    fn payment_write(&mut self, e: &AuditEvent) {
        let case = self.cases[&self.owner[&e.record_key]];
        let token = self.token(e, Some(case));
        let p = case.payments.iter().find(|p| p.id == e.record_key).unwrap();
        match e.action.as_str() {
            "request" => {
                let body = json!({"amount": p.amount_cents, "reason": p.reason});
                let id = self.map.b(&case.app.id).to_owned();
                let r = self.b.request_payment(&id, &token, &body);
                let made = self.ok(e, "POST payment request", r);
                self.map.add(&p.id, made["id"].as_str().unwrap());
            }
            "prepare" | "pay" => {
                let id = self.map.b(&p.id).to_owned();
                let r = self.b.payout(&id, &token);
                self.ok(e, "POST payout", r);
            }
            "reject" => {
                let id = self.map.b(&p.id).to_owned();
                let body = json!({"reason": e.reason});
                let r = self.b.reject_payment(&id, &token, &body);
                self.ok(e, "POST reject", r);
            }
            other => panic!("no replay for payment request {other}"),
        }
    }
}

/// The request that prepares a notice like `n`, read from its stored rows: what the kind
/// takes, stated explicitly (the financing terms, the grant period, the allocations) where
/// the stored value is the notice's own; a line decision for each line that the notice
/// recognises otherwise than the kind's default would (with its reason).
fn notice_body(case: &CaseRows, n: &NoticeRow) -> Value {
    let lines: Vec<&NoticeLineRow> = case
        .notice_lines
        .iter()
        .filter(|l| l.notice_id == n.id)
        .collect();
    let force: Vec<&NoticeLineRow> = match &n.refers_to {
        Some(r) => case
            .notice_lines
            .iter()
            .filter(|l| l.notice_id == *r)
            .collect(),
        None => Vec::new(),
    };
    let mut body = json!({"kind": n.kind.as_str(), "posted_on": n.posted_on});
    let mut set = |k: &str, v: Value| {
        if !v.is_null() {
            body[k] = v;
        }
    };
    set("reason", json!(n.reason));
    set("purpose", json!(n.purpose));
    let grant_setting = matches!(n.kind.as_str(), "grant" | "amendment");
    if grant_setting {
        set(
            "financing_type",
            json!(n.financing_type.map(|t| t.as_str())),
        );
        set("rate", json!(n.rate_bp.map(rate_string)));
        set("max_amount", json!(n.max_cents));
        set("fixed_amount", json!(n.fixed_cents));
        set("grant_period_start", json!(n.grant_period_start));
        set("grant_period_end", json!(n.grant_period_end));
        set("proof_due", json!(n.proof_due));
        set("binding_years", json!(n.binding_years));
    }
    if grant_setting || n.kind == NoticeKind::Final {
        let decisions: Vec<Value> = lines
            .iter()
            .filter(|l| {
                let f = force.iter().find(|f| f.line_no == l.line_no);
                let (base, reason) = match (n.kind.as_str(), f) {
                    ("amendment", Some(f)) => (f.approved_cents, None),
                    ("final", Some(f)) => {
                        let actual = l.actual_cents.unwrap_or(Money::ZERO);
                        let above = actual > f.approved_cents;
                        (
                            actual.min(f.approved_cents),
                            above.then(|| ABOVE_APPROVAL_DE.to_owned()),
                        )
                    }
                    _ => (l.applied_cents, None),
                };
                l.approved_cents != base || l.reason != reason
            })
            .map(|l| {
                json!({"line": l.line_no, "approved_amount": l.approved_cents,
                       "reason": l.reason})
            })
            .collect();
        set("approved_lines", Value::Array(decisions));
        let allocations: Vec<Value> = case
            .allocations
            .iter()
            .filter(|a| a.notice_id == n.id)
            .map(|a| json!({"fiscal_year": a.fiscal_year, "amount": a.amount_cents}))
            .collect();
        set("allocations", Value::Array(allocations));
    }
    if n.kind == NoticeKind::Revocation {
        set("revoked_amount", json!(n.revoked_cents));
    }
    if n.interest_from.is_some() {
        set("interest_from", json!(n.interest_from));
    }
    if matches!(n.kind.as_str(), "final" | "revocation") {
        set("reclaim_due", json!(n.reclaim_due));
    }
    body
}

fn load_audit(
    conn: &mut AnyConnection,
    types: &[&str],
    keys: Option<&[String]>,
) -> Vec<AuditEvent> {
    // Not the system's entries at start-up (the shipped rows' `init`, the register): each
    // database has its own, at its own instant.
    let mut q = audit_events::table
        .filter(audit_events::record_type.eq_any(types.to_vec()))
        .filter(audit_events::role.ne("system"))
        .into_boxed();
    if let Some(k) = keys {
        q = q.filter(audit_events::record_key.eq_any(k.to_vec()));
    }
    q.order((audit_events::occurred_at, audit_events::id))
        .select(AuditEvent::as_select())
        .load(conn)
        .unwrap()
}

#[test]
fn a_case_built_through_the_api_is_stored_as_the_seed_stores_it() {
    let started = Instant::now();
    let a = spawn_app();
    let mut ca = a.db();
    seed::run(
        &mut ca,
        &Options {
            cases: None,
            seed: seed::DEFAULT_SEED,
            bulk: false,
        },
        &mut |_| {},
    )
    .expect("the demo seeds");
    let seeded = started.elapsed();
    let chosen = choose(&mut ca);
    let cases: Vec<&CaseRows> = chosen.iter().map(|(c, _)| c).collect();

    // Every write of the chosen cases, and the programme changes and budgets of the
    // history, in the order A's log has them.
    let mut timeline: Vec<AuditEvent> = cases.iter().flat_map(|c| c.audit.clone()).collect();
    timeline.extend(load_audit(&mut ca, &["programme", "budget"], None));
    timeline.sort_by_key(|e| (e.occurred_at, e.id));
    let mut owner = HashMap::new();
    for c in &cases {
        for n in &c.notices {
            owner.insert(n.id.clone(), c.app.id.clone());
        }
        for p in &c.payments {
            owner.insert(p.id.clone(), c.app.id.clone());
        }
    }

    let b = spawn_app();
    let mut rebuild = Rebuild {
        b: &b,
        map: Map::default(),
        cases: cases.iter().map(|c| (c.app.id.clone(), *c)).collect(),
        owner,
        state: HashMap::new(),
        requests: 0,
    };
    for e in &timeline {
        rebuild.write(e);
    }
    b.clock().reset();
    let rebuilt = started.elapsed() - seeded;

    let mut cb = b.db();
    let mut diffs = Vec::new();
    let mut headers = 0;
    for (c, f) in &chosen {
        let on_b = load_case(&mut cb, rebuild.map.b(&c.app.id));
        let on_b = rebuild.map.case(on_b);
        let d = differences(c, &on_b);
        if !d.is_empty() {
            headers += 1;
            diffs.push(format!(
                "case {} ({}):",
                c.app.case_number,
                f.iter().copied().collect::<Vec<_>>().join(", ")
            ));
            diffs.extend(d);
        }
    }
    // The programme changes and budgets replayed are logged alike too.
    let other = |conn: &mut AnyConnection| load_audit(conn, &["programme", "budget"], None);
    audit_differences(
        &mut diffs,
        "programmes and budgets",
        &other(&mut ca),
        &other(&mut cb),
    );
    assert!(
        diffs.is_empty(),
        "the seed and the API stored the cases differently ({} differences):\n{}",
        diffs.len() - headers,
        diffs
            .iter()
            .take(40)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );

    // B's log verifies (its hashes are not compared with A's: they hash the ids).
    let v = b.verify_audit(&b.admin());
    assert_eq!(v.status, 200, "{}", v.body);
    assert_eq!(v.json()["ok"], true, "{}", v.body);

    let covered: BTreeMap<&str, &str> = chosen
        .iter()
        .flat_map(|(c, f)| f.iter().map(|x| (*x, c.app.case_number.as_str())))
        .collect();
    eprintln!(
        "equivalence: seeded in {:.1} s; {} cases ({covered:?}) rebuilt with {} requests in \
         {:.1} s; compared in {:.1} s",
        seeded.as_secs_f64(),
        chosen.len(),
        rebuild.requests,
        rebuilt.as_secs_f64(),
        (started.elapsed() - seeded - rebuilt).as_secs_f64(),
    );
}
