//! Verify: the chain, the checkpoints, the stored documents, and the live rows against the
//! log (docs/audit.md). Streams the log in id order and the tables in key order, in pages, so
//! memory holds one page and one state hash per record.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use diesel::prelude::*;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::AnyConnection;
use super::applications::{ApplicationRow, Case, CostLineRow, MemberRow};
use super::audit::{self, AuditEvent};
use super::checkpoints::{self, Checkpoint};
use super::ledger;
use super::notices::{AllocationRow, Notice, NoticeLineRow, NoticeRow};
use super::payments::PaymentRow;
use super::schema::{
    application_members as am, applications as ap, audit_events as a, budgets as b,
    cost_lines as cl, municipalities as mu, notice_allocations as na, notice_documents as nd,
    notice_lines as nl, notices as n, payment_requests as pr, register_editions as re,
};
use super::seal::{self, Seal};
use crate::domain::Money;
use crate::domain::audit::{
    GENESIS, Keyring, SealDigest, apply_merge_patch, differences, hex, state_hash,
};

const PAGE: i64 = 5_000;
/// Findings a report lists in full (the count is always complete).
const MAX_LISTED: usize = 200;

/// One thing that does not verify: where (table, record, field) and what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Finding {
    /// `chain`, `checkpoint`, `document`, `row_differs`, `row_not_in_log`, `row_gone`,
    /// `derived`.
    pub kind: String,
    pub table: String,
    pub record: String,
    pub field: Option<String>,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct VerifyReport {
    pub ok: bool,
    /// Whether the run started from a verified checkpoint (`from_seq`) instead of the first
    /// entry, reconciling only the records written since.
    pub incremental: bool,
    pub from_seq: i64,
    pub entries_checked: u64,
    /// Entries of transactions that finished after the last seal (their MACs are checked;
    /// the next seal covers them).
    pub entries_unsealed: u64,
    pub seals_checked: u64,
    pub records_checked: u64,
    pub checkpoints_checked: u64,
    pub documents_checked: u64,
    /// The last seal of the chain as verified (0: nothing sealed yet).
    pub head_seq: i64,
    pub head_mac: String,
    /// How many findings there are; `findings` lists the first of them.
    pub findings_total: u64,
    pub findings: Vec<Finding>,
}

struct Run<'k> {
    keys: &'k Keyring,
    report: VerifyReport,
    /// Per record: the last entry's state hash.
    latest: Latest,
    /// Per (programme, fiscal year): what the signing entries committed, in cents.
    committed: BTreeMap<(String, i32), i64>,
    /// Checkpoint seq (a seal id) → the head MAC it names.
    expected_heads: BTreeMap<i64, String>,
    /// An incremental run: the records its entries touched (only those are reconciled).
    touched: Option<HashSet<(String, String)>>,
}

impl Run<'_> {
    fn find(&mut self, kind: &str, table: &str, record: &str, field: Option<&str>, detail: String) {
        self.report.ok = false;
        self.report.findings_total += 1;
        if self.report.findings.len() < MAX_LISTED {
            self.report.findings.push(Finding {
                kind: kind.to_owned(),
                table: table.to_owned(),
                record: record.to_owned(),
                field: field.map(str::to_owned),
                detail,
            });
        }
    }
}

/// What a run covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extent {
    /// Everything, from the first entry.
    Full,
    /// From the last checkpoint a full run verified (a full run if there is none): the
    /// chain after it, and the records written since against their rows. A row changed
    /// behind the service's back without a write since is found by the next full run.
    SinceVerified,
}

/// Verifies the chain, every stored checkpoint and the `published` ones (from outside the
/// database), the stored documents, and the rows of the audited tables against the state
/// the log gives them. `progress` hears the entries checked so far. All of it in one
/// snapshot of the database (`snapshot_tx`): writes committed meanwhile are neither in the
/// chain it reads nor in the rows it compares.
pub fn verify(
    conn: &mut AnyConnection,
    keys: &Keyring,
    published: &[Checkpoint],
    extent: Extent,
    progress: &(dyn Fn(u64) + Sync),
) -> QueryResult<VerifyReport> {
    super::snapshot_tx(conn, |c| {
        verify_snapshot(c, keys, published, extent, progress)
    })
}

fn verify_snapshot(
    conn: &mut AnyConnection,
    keys: &Keyring,
    published: &[Checkpoint],
    extent: Extent,
    progress: &(dyn Fn(u64) + Sync),
) -> QueryResult<VerifyReport> {
    let start = match extent {
        Extent::Full => None,
        Extent::SinceVerified => checkpoints::latest_verified(conn)?.filter(|c| c.verifies(keys)),
    };
    let mut run = Run {
        keys,
        report: VerifyReport {
            ok: true,
            incremental: start.is_some(),
            from_seq: start.as_ref().map_or(0, |c| c.seq),
            entries_checked: 0,
            entries_unsealed: 0,
            seals_checked: 0,
            records_checked: 0,
            checkpoints_checked: 0,
            documents_checked: 0,
            head_seq: 0,
            head_mac: GENESIS.to_owned(),
            findings_total: 0,
            findings: Vec::new(),
        },
        latest: Latest::default(),
        committed: BTreeMap::new(),
        expected_heads: BTreeMap::new(),
        touched: None,
    };
    check_checkpoint_macs(conn, &mut run, published)?;
    let from = match &start {
        Some(c) => check_start(conn, &mut run, c)?,
        None => None,
    };
    let t = std::time::Instant::now();
    let rounds = check_seals(conn, &mut run, from)?;
    walk_entries(conn, &mut run, rounds, progress)?;
    log::info!(
        "audit verify: the chain in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    if run.report.incremental {
        run.touched = Some(run.latest.keys().collect());
    }
    let t = std::time::Instant::now();
    check_documents(conn, &mut run)?;
    log::info!(
        "audit verify: the documents in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let t = std::time::Instant::now();
    reconcile(conn, &mut run)?;
    log::info!(
        "audit verify: the rows in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    Ok(run.report)
}

/// Seals what has finished (in a transaction of its own), then `verify`; after a full run
/// that found nothing, a verified checkpoint at the head it verified: where the next
/// incremental run starts.
pub fn verify_and_record(
    conn: &mut AnyConnection,
    keys: &Keyring,
    published: &[Checkpoint],
    extent: Extent,
    progress: &(dyn Fn(u64) + Sync),
) -> QueryResult<VerifyReport> {
    let t = std::time::Instant::now();
    super::seal::seal_all(conn, chrono::Utc::now().naive_utc())?;
    log::info!("audit verify: sealed in {:.1} s", t.elapsed().as_secs_f64());
    let report = verify(conn, keys, published, extent, progress)?;
    if report.ok && !report.incremental && report.head_seq > 0 {
        let now = chrono::Utc::now().naive_utc();
        checkpoints::record_verified(conn, report.head_seq, report.head_mac.clone(), now)?;
    }
    Ok(report)
}

/// The seal a verified checkpoint names must still be the one it named: the run starts
/// after it.
fn check_start(
    conn: &mut AnyConnection,
    run: &mut Run<'_>,
    cp: &Checkpoint,
) -> QueryResult<Option<Seal>> {
    let stored = seal::find(conn, cp.seq)?;
    if stored.as_ref().map(|s| s.mac.as_str()) != Some(cp.head_mac.as_str()) {
        let detail = format!(
            "the verified checkpoint at seal {} names another seal than the log holds",
            cp.seq
        );
        run.find(
            "checkpoint",
            "audit_seals",
            &cp.seq.to_string(),
            Some("mac"),
            detail,
        );
    }
    Ok(stored)
}

/// Every checkpoint's own MAC, and what head each one names.
fn check_checkpoint_macs(
    conn: &mut AnyConnection,
    run: &mut Run<'_>,
    published: &[Checkpoint],
) -> QueryResult<()> {
    let stored = checkpoints::list(conn)?;
    for (origin, cp) in stored
        .iter()
        .map(|c| ("stored", c))
        .chain(published.iter().map(|c| ("published", c)))
    {
        run.report.checkpoints_checked += 1;
        let record = cp.seq.to_string();
        if !cp.verifies(run.keys) {
            run.find(
                "checkpoint",
                "audit_checkpoints",
                &record,
                Some("mac"),
                format!(
                    "the {origin} checkpoint {} does not verify under its key {}",
                    cp.seq, cp.key_id
                ),
            );
            continue;
        }
        match run.expected_heads.get(&cp.seq) {
            Some(m) if *m != cp.head_mac => run.find(
                "checkpoint",
                "audit_checkpoints",
                &record,
                Some("head_mac"),
                format!("two checkpoints name different heads at seal {}", cp.seq),
            ),
            _ => {
                run.expected_heads.insert(cp.seq, cp.head_mac.clone());
            }
        }
    }
    Ok(())
}

/// The chain of seals after `from` (all of them without): each one after the one before,
/// its round after the round before, its MAC under its key, and what a checkpoint names of
/// it. Returns the rounds whose entries `walk_entries` folds again.
fn check_seals(
    conn: &mut AnyConnection,
    run: &mut Run<'_>,
    from: Option<Seal>,
) -> QueryResult<Rounds> {
    let seals = seal::after(conn, from.as_ref().map_or(0, |s| s.id))?;
    let (mut last_id, mut last_mac, mut to_txid) =
        from.as_ref().map_or((0, GENESIS.to_owned(), 0), |s| {
            (s.id, s.mac.clone(), s.to_txid)
        });
    let start_txid = to_txid;
    for sl in &seals {
        run.report.seals_checked += 1;
        let record = sl.id.to_string();
        if sl.id != last_id + 1 {
            let detail = format!("seals {}..{} are missing", last_id + 1, sl.id - 1);
            run.find("chain", "audit_seals", &record, Some("id"), detail);
        } else if sl.prev_mac != last_mac {
            let detail = "prev_mac is not the MAC of the seal before".into();
            run.find("chain", "audit_seals", &record, Some("prev_mac"), detail);
        }
        if sl.from_txid != to_txid {
            let detail = format!(
                "the round starts at transaction {}, the one before ended at {to_txid}",
                sl.from_txid
            );
            run.find("chain", "audit_seals", &record, Some("from_txid"), detail);
        }
        match sl.expected_mac(run.keys) {
            None => {
                let detail = format!(
                    "signed with a key this verifier does not hold ({:?})",
                    sl.key_id
                );
                run.find("chain", "audit_seals", &record, Some("key_id"), detail);
            }
            Some(m) if m != sl.mac => {
                let detail =
                    "the seal does not match its MAC: changed, or written without the key".into();
                run.find("chain", "audit_seals", &record, Some("mac"), detail);
            }
            Some(_) => {}
        }
        if let Some(m) = run.expected_heads.get(&sl.id)
            && *m != sl.mac
        {
            let detail = format!("a checkpoint names head {m} at this seal; the log has another");
            run.find("checkpoint", "audit_seals", &record, Some("mac"), detail);
        }
        (last_id, to_txid) = (sl.id, sl.to_txid);
        last_mac.clone_from(&sl.mac);
    }
    run.report.head_seq = last_id;
    run.report.head_mac = last_mac;
    let beyond: Vec<i64> = run
        .expected_heads
        .range(last_id + 1..)
        .map(|(s, _)| *s)
        .collect();
    for id in beyond {
        run.find(
            "checkpoint",
            "audit_seals",
            &id.to_string(),
            None,
            format!("the log ends at seal {last_id}, but a checkpoint names seal {id}: entries were removed"),
        );
    }
    Ok(Rounds::new(seals, start_txid, to_txid))
}

/// The rounds of the seals a run checks, each seal's digest rebuilt from the entries as they
/// stream by in id order. A round is closed (compared with its seal) once the stream has
/// passed the seal's last entry, so that memory holds the rounds in flight only.
struct Rounds {
    seals: Vec<Seal>,
    open: HashMap<usize, SealDigest>,
    /// (last entry, index) of the rounds not yet closed.
    closing: BTreeSet<(i64, usize)>,
    /// The first transaction the run covers (the rounds before it were verified).
    start_txid: i64,
    /// The first transaction no seal covers yet.
    unsealed_from: i64,
}

impl Rounds {
    fn new(seals: Vec<Seal>, start_txid: i64, unsealed_from: i64) -> Rounds {
        let closing = seals
            .iter()
            .enumerate()
            .map(|(i, s)| (s.last_event, i))
            .collect();
        Rounds {
            seals,
            open: HashMap::new(),
            closing,
            start_txid,
            unsealed_from,
        }
    }

    /// Adds an entry to its round, after closing the rounds whose last entry came before it.
    fn add(&mut self, run: &mut Run<'_>, e: &AuditEvent) {
        while let Some(&(last, i)) = self.closing.first()
            && last < e.id
        {
            self.closing.pop_first();
            self.close(run, i);
        }
        if e.txid >= self.unsealed_from {
            run.report.entries_unsealed += 1;
            return;
        }
        let i = self.seals.partition_point(|s| s.to_txid <= e.txid);
        match self.seals.get(i) {
            Some(sl) if sl.covers(e.txid) => self.open.entry(i).or_default().add(e.id, &e.mac),
            _ => {
                let detail = format!("no seal covers the entry's transaction {}", e.txid);
                run.find(
                    "chain",
                    "audit_events",
                    &e.id.to_string(),
                    Some("txid"),
                    detail,
                );
            }
        }
    }

    /// Compares round `i` as the entries gave it with its seal.
    fn close(&mut self, run: &mut Run<'_>, i: usize) {
        let digest = self.open.remove(&i).unwrap_or_default();
        let sl = &self.seals[i];
        let record = format!("seal {}", sl.id);
        if digest.count() != sl.entries {
            let detail = format!(
                "seal {} covers {} entries (ids {}..{}, transactions {}..{}), the log holds {}: entries were removed or added",
                sl.id,
                sl.entries,
                sl.first_event,
                sl.last_event,
                sl.from_txid,
                sl.to_txid - 1,
                digest.count()
            );
            run.find("chain", "audit_events", &record, None, detail);
        } else if digest.finish() != sl.digest {
            let detail = format!(
                "the entries of seal {} (ids {}..{}) are not the ones sealed: an entry was replaced or renumbered",
                sl.id, sl.first_event, sl.last_event
            );
            run.find("chain", "audit_events", &record, Some("id"), detail);
        }
    }

    /// Closes every round still open.
    fn finish(&mut self, run: &mut Run<'_>) {
        while let Some((_, i)) = self.closing.pop_first() {
            self.close(run, i);
        }
    }
}

/// Walks the entries of the transactions after the verified rounds, in id order: one thread
/// reads the pages while this one checks them (`pipelined`).
fn walk_entries(
    conn: &mut AnyConnection,
    run: &mut Run<'_>,
    mut rounds: Rounds,
    progress: &(dyn Fn(u64) + Sync),
) -> QueryResult<()> {
    let from = rounds.start_txid;
    // An incremental run starts at the first entry of its transactions, found by the
    // (txid, id) index. Filtering on txid alone let the databases walk the primary key from
    // the log's start (8 s at 1 M cases instead of the rounds since the checkpoint), and so
    // does a plain `MIN(id)`: the planners' min/max shortcut walks the primary key until a
    // row matches. `MIN(id + 0)` is not an indexed column, so the txid index answers it.
    let first_id = match from {
        0 => 0,
        _ => match a::table
            .filter(a::txid.ge(from))
            .select(diesel::dsl::min(a::id + 0_i64))
            .first::<Option<i64>>(conn)?
        {
            Some(id) => id,
            None => {
                rounds.finish(run);
                return Ok(());
            }
        },
    };
    let produce = move |conn: &mut AnyConnection, emit: &mut dyn FnMut(Vec<AuditEvent>) -> bool| {
        match conn {
            // One statement, its rows streamed as PostgreSQL sends them (single-row mode):
            // the server produces the next rows while this side decodes, instead of waiting
            // for each page's query.
            AnyConnection::Pg(c) => {
                let mut page = Vec::with_capacity(PAGE as usize);
                let mut q = a::table.select(AuditEvent::as_select()).into_boxed();
                if from > 0 {
                    q = q.filter(a::id.ge(first_id).and(a::txid.ge(from)));
                }
                let rows = q
                    .order(a::id.asc())
                    .load_iter::<AuditEvent, diesel::pg::PgRowByRowLoadingMode>(c)?;
                for row in rows {
                    page.push(row?);
                    if page.len() as i64 == PAGE
                        && !emit(std::mem::replace(
                            &mut page,
                            Vec::with_capacity(PAGE as usize),
                        ))
                    {
                        return Ok(());
                    }
                }
                if !page.is_empty() {
                    emit(page);
                }
                Ok(())
            }
            AnyConnection::Sqlite(_) => {
                let mut after = first_id - 1;
                loop {
                    let mut q = a::table
                        .filter(a::id.gt(after))
                        .select(AuditEvent::as_select())
                        .into_boxed();
                    if from > 0 {
                        q = q.filter(a::txid.ge(from));
                    }
                    let page: Vec<AuditEvent> = q.order(a::id.asc()).limit(PAGE).load(conn)?;
                    let full = page.len() as i64 == PAGE;
                    let Some(last) = page.last() else {
                        return Ok(());
                    };
                    after = last.id;
                    if !emit(page) || !full {
                        return Ok(());
                    }
                }
            }
        }
    };
    pipelined_with(conn, produce, |page| {
        for e in page.iter() {
            check_entry(run, e);
            rounds.add(run, e);
        }
        progress(run.report.entries_checked);
    })?;
    rounds.finish(run);
    Ok(())
}

/// Checks one entry's MAC and takes in what it says of its record.
fn check_entry(run: &mut Run<'_>, e: &AuditEvent) {
    run.report.entries_checked += 1;
    let record = || e.id.to_string();
    match e.expected_mac(run.keys) {
        None => run.find(
            "chain",
            "audit_events",
            &record(),
            Some("key_id"),
            format!("signed with a key this verifier does not hold ({:?})", e.key_id),
        ),
        Some(m) if m != e.mac => run.find(
            "chain",
            "audit_events",
            &record(),
            Some("mac"),
            format!(
                "the entry ({} {} #{} {}) does not match its MAC: changed, or written without the key",
                e.record_type, e.record_key, e.seq, e.action
            ),
        ),
        Some(_) => {}
    }
    if e.record_type == ledger::NOTICE && e.action == "sign" {
        add_commitments(run, e);
    }
    run.latest
        .set(&e.record_type, &e.record_key, e.seq, &e.state_hash);
}

/// Per record type and key, the state hash of the record's last entry (the one with the
/// highest `seq`: the log streams in id order, which within a record is `seq` order since a
/// record's writes queue on its rows, but the replay does not rely on it). Nested maps, so
/// that an entry of a known record is looked up by its borrowed texts and its hash copied
/// into the buffer already there: no allocation per entry.
#[derive(Default)]
struct Latest(HashMap<String, HashMap<String, (i64, String)>>);

impl Latest {
    fn set(&mut self, record_type: &str, key: &str, seq: i64, hash: &str) {
        if !self.0.contains_key(record_type) {
            self.0.insert(record_type.to_owned(), HashMap::new());
        }
        let Some(of_type) = self.0.get_mut(record_type) else {
            return;
        };
        match of_type.get_mut(key) {
            Some((s, h)) if *s < seq => {
                *s = seq;
                h.clear();
                h.push_str(hash);
            }
            Some(_) => {}
            None => {
                of_type.insert(key.to_owned(), (seq, hash.to_owned()));
            }
        }
    }

    fn remove(&mut self, record_type: &str, key: &str) -> Option<String> {
        self.0.get_mut(record_type)?.remove(key).map(|(_, h)| h)
    }

    fn keys(&self) -> impl Iterator<Item = (String, String)> + '_ {
        self.0
            .iter()
            .flat_map(|(t, m)| m.keys().map(move |k| (t.clone(), k.clone())))
    }
}

/// What a signing entry says it committed of the budgets (`budget_commitments`).
fn add_commitments(run: &mut Run<'_>, e: &AuditEvent) {
    let changes: Value = serde_json::from_str(&e.changes).unwrap_or(Value::Null);
    let list = changes["budget_commitments"]["after"].as_array().cloned();
    for c in list.unwrap_or_default() {
        let (Some(p), Some(y), Some(change)) = (
            c["programme"].as_str(),
            c["fiscal_year"]
                .as_i64()
                .and_then(|y| i32::try_from(y).ok()),
            c["change"].as_str().and_then(|t| t.parse::<Money>().ok()),
        ) else {
            run.find(
                "chain",
                "audit_events",
                &e.id.to_string(),
                Some("changes"),
                "a budget commitment of this signing does not parse".into(),
            );
            continue;
        };
        *run.committed.entry((p.to_owned(), y)).or_insert(0) += change.cents();
    }
}

/// Every stored document against its own hash (the hash itself is in the notice's state);
/// an incremental run, those of the notices written since.
fn check_documents(conn: &mut AnyConnection, run: &mut Run<'_>) -> QueryResult<()> {
    if let Some(touched) = run.touched.clone() {
        for (_, id) in touched.iter().filter(|(t, _)| t == ledger::NOTICE) {
            let doc: Option<(String, Vec<u8>)> = nd::table
                .find(id)
                .select((nd::sha256, nd::content))
                .first(conn)
                .optional()?;
            if let Some((sha, content)) = doc {
                check_document(run, id, &sha, &content);
            }
        }
        return Ok(());
    }
    let mut after = String::new();
    loop {
        let page: Vec<(String, String, Vec<u8>)> = nd::table
            .filter(nd::notice_id.gt(&after))
            .order(nd::notice_id.asc())
            .limit(200)
            .select((nd::notice_id, nd::sha256, nd::content))
            .load(conn)?;
        let full = page.len() == 200;
        for (id, sha, content) in page {
            check_document(run, &id, &sha, &content);
            after = id;
        }
        if !full {
            return Ok(());
        }
    }
}

fn check_document(run: &mut Run<'_>, id: &str, sha: &str, content: &[u8]) {
    run.report.documents_checked += 1;
    if hex(&Sha256::digest(content)) != sha {
        let detail = "the stored document is not the one signed (its SHA-256 differs)";
        run.find(
            "document",
            "notice_documents",
            id,
            Some("content"),
            detail.into(),
        );
    }
}

/// The live state of one record, if its row exists.
fn live_state(
    conn: &mut AnyConnection,
    record_type: &str,
    key: &str,
) -> QueryResult<Option<Value>> {
    use super::applications::Scope;
    Ok(match record_type {
        ledger::APPLICATION => {
            super::applications::find(conn, key, Scope::All)?.map(|c| ledger::case(&c))
        }
        ledger::NOTICE => match super::notices::find(conn, key, Scope::All)? {
            None => None,
            Some(n) => {
                let sha: Option<String> = nd::table
                    .find(key)
                    .select(nd::sha256)
                    .first(conn)
                    .optional()?;
                Some(ledger::notice(&n, sha.as_deref()))
            }
        },
        ledger::PAYMENT_REQUEST => {
            super::payments::find(conn, key, Scope::All)?.map(|p| ledger::payment(&p))
        }
        ledger::PROGRAMME => {
            super::programmes::find(conn, key)?.map(|(p, o)| ledger::programme(&p, &o))
        }
        ledger::MUNICIPALITY => mu::table
            .find(key)
            .select(super::municipalities::Municipality::as_select())
            .first(conn)
            .optional()?
            .map(|m| ledger::municipality(&m)),
        _ => small_tables(conn)?
            .into_iter()
            .find(|(t, k, _)| *t == record_type && k == key)
            .map(|(_, _, v)| v),
    })
}

/// The records of the small tables (budgets, base rates, delivery rules, register
/// editions, repayments, webhook subscriptions): (record type, key, state).
fn small_tables(conn: &mut AnyConnection) -> QueryResult<Vec<(&'static str, String, Value)>> {
    let mut out = Vec::new();
    let budgets: Vec<super::budgets::BudgetRow> = b::table
        .select(super::budgets::BudgetRow::as_select())
        .load(conn)?;
    for row in &budgets {
        let key = super::budgets::key(&row.programme_code, row.fiscal_year);
        out.push((ledger::BUDGET, key, ledger::budget(row)));
    }
    for r in super::base_rates::list(conn)? {
        out.push((
            ledger::BASE_RATE,
            r.valid_from.to_string(),
            ledger::base_rate(&r),
        ));
    }
    for r in super::notices::delivery_rule_rows(conn)? {
        let state = ledger::delivery_rule(&r);
        out.push((ledger::DELIVERY_RULE, r.valid_from.to_string(), state));
    }
    for r in super::repayments::all(conn)? {
        out.push((ledger::REPAYMENT, r.id.clone(), ledger::repayment(&r)));
    }
    for w in super::webhooks::all(conn)? {
        out.push((ledger::WEBHOOK, w.id.clone(), ledger::webhook(&w)));
    }
    let editions: Vec<super::register::Edition> = re::table
        .select((re::edition, re::imported_at, re::records, re::imported_by))
        .load(conn)?;
    for e in &editions {
        out.push((
            ledger::REGISTER_EDITION,
            e.edition.to_string(),
            ledger::edition(e),
        ));
    }
    Ok(out)
}

/// Every audited table's rows against the log's last state of each record (an incremental
/// run: the records it touched), then the records of the log without a row.
fn reconcile(conn: &mut AnyConnection, run: &mut Run<'_>) -> QueryResult<()> {
    if let Some(touched) = run.touched.clone() {
        for (t, k) in &touched {
            if let Some(state) = live_state(conn, t, k)? {
                compare(conn, run, t, k, &state)?;
            }
        }
    } else {
        live_cases(conn, run)?;
        live_notices(conn, run)?;
        live_payments(conn, run)?;
        for (p, objects) in super::programmes::list(conn)? {
            let state = ledger::programme(&p, &objects);
            compare(conn, run, ledger::PROGRAMME, &p.code, &state)?;
        }
        let register: Vec<super::municipalities::Municipality> = mu::table
            .select(super::municipalities::Municipality::as_select())
            .load(conn)?;
        for m in &register {
            compare(
                conn,
                run,
                ledger::MUNICIPALITY,
                &m.ags,
                &ledger::municipality(m),
            )?;
        }
        for (t, k, state) in small_tables(conn)? {
            compare(conn, run, t, &k, &state)?;
        }
        check_commitments(conn, run)?;
    }
    let gone: Vec<(String, String)> = run.latest.keys().collect();
    for (t, k) in gone {
        let detail = format!("the log has {t} {k}, the database has no such row");
        run.find("row_gone", main_table(&t), &k, None, detail);
    }
    Ok(())
}

/// What the budgets commit against what the signings in the log committed (a full run).
fn check_commitments(conn: &mut AnyConnection, run: &mut Run<'_>) -> QueryResult<()> {
    let budgets: Vec<super::budgets::BudgetRow> = b::table
        .select(super::budgets::BudgetRow::as_select())
        .load(conn)?;
    for row in &budgets {
        let key = super::budgets::key(&row.programme_code, row.fiscal_year);
        let committed = run
            .committed
            .remove(&(row.programme_code.clone(), row.fiscal_year))
            .unwrap_or(0);
        if committed != row.committed_cents.cents() {
            let detail = format!(
                "the signings in the log commit {}, the row says {}",
                crate::domain::money::euros_text(committed),
                row.committed_cents
            );
            run.find("derived", "budgets", &key, Some("committed_cents"), detail);
        }
    }
    for ((p, y), c) in std::mem::take(&mut run.committed) {
        let detail = format!(
            "signings commit {} of a budget that is gone",
            crate::domain::money::euros_text(c)
        );
        run.find(
            "row_gone",
            "budgets",
            &super::budgets::key(&p, y),
            None,
            detail,
        );
    }
    Ok(())
}

/// The table that holds a record type's main row.
fn main_table(record_type: &str) -> &'static str {
    ledger::RECORD_TYPES
        .iter()
        .find(|(t, _)| *t == record_type)
        .map_or("audit_events", |(_, table)| table)
}

/// One live record against the log: its state hash against the last entry's; on a
/// difference, the log's state replayed and compared field by field.
fn compare(
    conn: &mut AnyConnection,
    run: &mut Run<'_>,
    record_type: &str,
    key: &str,
    live: &Value,
) -> QueryResult<()> {
    if hash_differs(run, record_type, key, live) {
        explain(conn, run, record_type, key, live)?;
    }
    Ok(())
}

/// The state hash of a live record against its last entry's. A record the log does not know
/// is a finding here; `true`: the hashes differ (`explain` says where).
fn hash_differs(run: &mut Run<'_>, record_type: &str, key: &str, live: &Value) -> bool {
    run.report.records_checked += 1;
    let Some(logged_hash) = run.latest.remove(record_type, key) else {
        let detail = format!("{record_type} {key} is in the database but not in the log");
        run.find("row_not_in_log", main_table(record_type), key, None, detail);
        return false;
    };
    state_hash(live) != logged_hash
}

/// Where a live record differs from the log's state of it: the patches replayed and compared
/// field by field.
fn explain(
    conn: &mut AnyConnection,
    run: &mut Run<'_>,
    record_type: &str,
    key: &str,
    live: &Value,
) -> QueryResult<()> {
    let mut logged = Value::Null;
    for e in audit::for_record(conn, record_type, key)? {
        let patch: Value = serde_json::from_str(&e.state).unwrap_or(Value::Null);
        apply_merge_patch(&mut logged, &patch);
    }
    let diffs = differences(&logged, live);
    if diffs.is_empty() {
        let detail = "the stored state hash does not match the replayed log".to_owned();
        run.find("row_differs", main_table(record_type), key, None, detail);
    }
    for d in diffs {
        let mut parts = d.path.splitn(3, '.');
        let table = parts.next().unwrap_or_default().to_owned();
        let (record, field) = match (parts.next(), parts.next()) {
            (Some(child), Some(field)) => (format!("{key}/{child}"), field.to_owned()),
            (Some(field), None) => (key.to_owned(), field.to_owned()),
            _ => (key.to_owned(), String::new()),
        };
        let detail = format!(
            "the log says {}, the row says {}",
            d.logged.as_deref().unwrap_or("nothing"),
            d.live.as_deref().unwrap_or("nothing")
        );
        run.find("row_differs", &table, &record, Some(&field), detail);
    }
    Ok(())
}

/// Pages read by a second thread, which owns the connection meanwhile, and checked by this
/// one as they come (`next` gives `None` after the last).
fn pipelined<P: Send>(
    conn: &mut AnyConnection,
    mut next: impl FnMut(&mut AnyConnection) -> QueryResult<Option<P>> + Send,
    check: impl FnMut(&mut P),
) -> QueryResult<()> {
    let produce = move |conn: &mut AnyConnection, emit: &mut dyn FnMut(P) -> bool| loop {
        match next(conn)? {
            Some(page) => {
                if !emit(page) {
                    return Ok(());
                }
            }
            None => return Ok(()),
        }
    };
    pipelined_with(conn, produce, check)
}

/// Pages that `produce` makes on a second thread, which owns the connection meanwhile, and
/// hands to `emit` (false: nobody checks them any more), checked by this thread as they come.
/// The pages go back to the reading thread to be dropped: memory freed by the thread that
/// allocated it, not contended between the two (glibc's arenas: freeing across threads took
/// a third of a run).
fn pipelined_with<P: Send>(
    conn: &mut AnyConnection,
    produce: impl FnOnce(&mut AnyConnection, &mut dyn FnMut(P) -> bool) -> QueryResult<()> + Send,
    mut check: impl FnMut(&mut P),
) -> QueryResult<()> {
    use std::sync::mpsc;
    std::thread::scope(|s| {
        let (tx, rx) = mpsc::sync_channel::<QueryResult<P>>(2);
        let (done_tx, done_rx) = mpsc::channel::<P>();
        let reader = s.spawn(move || {
            let mut emit = |page: P| {
                drop(done_rx.try_iter().collect::<Vec<_>>());
                tx.send(Ok(page)).is_ok()
            };
            if let Err(e) = produce(conn, &mut emit) {
                let _ = tx.send(Err(e));
            }
            drop(tx);
            drop(done_rx.iter().collect::<Vec<_>>());
        });
        let mut result = Ok(());
        for page in rx {
            match page {
                Ok(mut p) => {
                    check(&mut p);
                    let _ = done_tx.send(p);
                }
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        drop(done_tx);
        reader.join().map_err(|_| {
            diesel::result::Error::QueryBuilderError("a verify reader panicked".into())
        })?;
        result
    })
}

fn group<T, K: std::hash::Hash + Eq>(rows: Vec<T>, key: impl Fn(&T) -> K) -> HashMap<K, Vec<T>> {
    let mut out: HashMap<K, Vec<T>> = HashMap::new();
    for r in rows {
        out.entry(key(&r)).or_default().push(r);
    }
    out
}

/// A page of live records (assembled with their child rows) and the parents of child rows
/// whose record is not among them.
struct LivePage<T> {
    records: Vec<T>,
    orphans: Vec<(&'static str, String)>,
}

/// The live records of one type, read in pages by a second thread while this one hashes
/// them; records whose hash differs are explained afterwards (`explain` reads the log).
fn reconcile_pages<T: Send>(
    conn: &mut AnyConnection,
    run: &mut Run<'_>,
    record_type: &'static str,
    next: impl FnMut(&mut AnyConnection) -> QueryResult<Option<LivePage<T>>> + Send,
    state: impl Fn(&T) -> (&str, Value),
) -> QueryResult<()> {
    let mut differing: Vec<(String, Value)> = Vec::new();
    pipelined(conn, next, |page| {
        for r in &page.records {
            let (key, live) = state(r);
            if hash_differs(run, record_type, key, &live) {
                differing.push((key.to_owned(), live));
            }
        }
        for (table, parent) in &page.orphans {
            let detail = format!("rows of {table} belong to {parent}, which has no row");
            run.find("row_not_in_log", table, parent, None, detail);
        }
    })?;
    for (key, live) in differing {
        explain(conn, run, record_type, &key, &live)?;
    }
    Ok(())
}

/// The parents left in `groups` (child rows whose record was not read), for `table`.
fn orphans_of<T>(
    table: &'static str,
    groups: HashMap<String, T>,
) -> impl Iterator<Item = (&'static str, String)> {
    groups.into_keys().map(move |p| (table, p))
}

fn live_cases(conn: &mut AnyConnection, run: &mut Run<'_>) -> QueryResult<()> {
    let mut after = String::new();
    let next = move |conn: &mut AnyConnection| -> QueryResult<Option<LivePage<Case>>> {
        let rows: Vec<ApplicationRow> = ap::table
            .filter(ap::id.gt(&after))
            .order(ap::id.asc())
            .limit(PAGE)
            .select(ApplicationRow::as_select())
            .load(conn)?;
        let Some(last) = rows.last() else {
            return Ok(None);
        };
        let (first, last) = (rows[0].id.clone(), last.id.clone());
        let lines: Vec<CostLineRow> = cl::table
            .filter(cl::application_id.between(&first, &last))
            .order((cl::application_id.asc(), cl::line_no.asc()))
            .select(CostLineRow::as_select())
            .load(conn)?;
        let members: Vec<MemberRow> = am::table
            .filter(am::application_id.between(&first, &last))
            .order((am::application_id.asc(), am::position.asc()))
            .select(MemberRow::as_select())
            .load(conn)?;
        let mut lines = group(lines, |l| l.application_id.clone());
        let mut members = group(members, |m| m.application_id.clone());
        let records = rows
            .into_iter()
            .map(|row| Case {
                lines: lines.remove(&row.id).unwrap_or_default(),
                members: members.remove(&row.id).unwrap_or_default(),
                row,
            })
            .collect();
        let orphans = orphans_of("cost_lines", lines)
            .chain(orphans_of("application_members", members))
            .collect();
        after = last;
        Ok(Some(LivePage { records, orphans }))
    };
    reconcile_pages(conn, run, ledger::APPLICATION, next, |c: &Case| {
        (c.row.id.as_str(), ledger::case(c))
    })
}

/// A notice and its stored document's hash.
type NoticeWithDocument = (Notice, Option<String>);

fn live_notices(conn: &mut AnyConnection, run: &mut Run<'_>) -> QueryResult<()> {
    let mut after = String::new();
    let next =
        move |conn: &mut AnyConnection| -> QueryResult<Option<LivePage<NoticeWithDocument>>> {
            let rows: Vec<NoticeRow> = n::table
                .filter(n::id.gt(&after))
                .order(n::id.asc())
                .limit(PAGE)
                .select(NoticeRow::as_select())
                .load(conn)?;
            let Some(last) = rows.last() else {
                return Ok(None);
            };
            let (first, last) = (rows[0].id.clone(), last.id.clone());
            let lines: Vec<NoticeLineRow> = nl::table
                .filter(nl::notice_id.between(&first, &last))
                .order((nl::notice_id.asc(), nl::line_no.asc()))
                .select(NoticeLineRow::as_select())
                .load(conn)?;
            let allocations: Vec<AllocationRow> = na::table
                .filter(na::notice_id.between(&first, &last))
                .order((na::notice_id.asc(), na::fiscal_year.asc()))
                .select(AllocationRow::as_select())
                .load(conn)?;
            let documents: Vec<(String, String)> = nd::table
                .filter(nd::notice_id.between(&first, &last))
                .select((nd::notice_id, nd::sha256))
                .load(conn)?;
            let mut lines = group(lines, |l| l.notice_id.clone());
            let mut allocations = group(allocations, |a| a.notice_id.clone());
            let mut documents: HashMap<String, String> = documents.into_iter().collect();
            let records = rows
                .into_iter()
                .map(|row| {
                    let sha = documents.remove(&row.id);
                    let notice = Notice {
                        lines: lines.remove(&row.id).unwrap_or_default(),
                        allocations: allocations.remove(&row.id).unwrap_or_default(),
                        row,
                        case_number: String::new(),
                        refers_to_number: None,
                        previous_grant_cents: None,
                    };
                    (notice, sha)
                })
                .collect();
            let orphans = orphans_of("notice_lines", lines)
                .chain(orphans_of("notice_allocations", allocations))
                .chain(orphans_of("notice_documents", documents))
                .collect();
            after = last;
            Ok(Some(LivePage { records, orphans }))
        };
    reconcile_pages(
        conn,
        run,
        ledger::NOTICE,
        next,
        |(n, sha): &NoticeWithDocument| (n.row.id.as_str(), ledger::notice(n, sha.as_deref())),
    )
}

fn live_payments(conn: &mut AnyConnection, run: &mut Run<'_>) -> QueryResult<()> {
    let mut after = String::new();
    let next = move |conn: &mut AnyConnection| -> QueryResult<Option<LivePage<PaymentRow>>> {
        let records: Vec<PaymentRow> = pr::table
            .filter(pr::id.gt(&after))
            .order(pr::id.asc())
            .limit(PAGE)
            .select(PaymentRow::as_select())
            .load(conn)?;
        let Some(last) = records.last() else {
            return Ok(None);
        };
        after = last.id.clone();
        Ok(Some(LivePage {
            records,
            orphans: Vec::new(),
        }))
    };
    reconcile_pages(
        conn,
        run,
        ledger::PAYMENT_REQUEST,
        next,
        |p: &PaymentRow| (p.id.as_str(), ledger::payment(p)),
    )
}
