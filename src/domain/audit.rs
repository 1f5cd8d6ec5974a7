//! The rules of the trusted audit log (docs/audit.md), without I/O:
//!
//! - **entries**: each with its own MAC, an HMAC-SHA256 under the audit key over its id and
//!   every field, so that an entry edited or written without the key is found by itself;
//! - **seals**: the chain. A seal covers the entries of a round of finished transactions,
//!   folded in id order into a digest (`SealDigest`), and its MAC covers that digest, the
//!   round and the MAC of the seal before: an entry removed, added or renumbered after it was
//!   sealed breaks its seal, a seal removed or changed breaks the chain from there on;
//! - **checkpoints**: the head (the last seal's id and MAC) at a moment, MAC'd the same way,
//!   to be published outside the database;
//! - **record states**: what a write stored, as the record's rows in canonical JSON. Each
//!   entry carries the RFC 7386 merge patch from the state before to the state after and the
//!   SHA-256 of the state after; verify replays the patches and compares with the live rows.

use hmac::{Hmac, Mac};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// The `prev_mac` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What the MAC of an entry covers first: a version tag, so that no other message the key
/// signs (a checkpoint) can be taken for an entry.
const ENTRY_TAG: &str = "foerderakte-audit-entry-v2";
const CHECKPOINT_TAG: &str = "foerderakte-audit-checkpoint-v3";
const SEAL_TAG: &str = "foerderakte-audit-seal-v1";

/// The shortest secret accepted: 256 bits, the HMAC-SHA256 block's security level.
pub const MIN_KEY_BYTES: usize = 32;

/// A secret audit key and its public id (the first 16 hex digits of the SHA-256 of the
/// secret with a tag: it names the key in every entry without revealing it).
#[derive(Clone)]
pub struct AuditKey {
    id: String,
    /// The HMAC keyed with the secret and fed the entry tag and the id: what every entry's
    /// MAC starts from (cloned, so that the key schedule runs once, not per entry).
    entry_base: Hmac<Sha256>,
    checkpoint_base: Hmac<Sha256>,
    seal_base: Hmac<Sha256>,
}

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditKey").field("id", &self.id).finish()
    }
}

impl AuditKey {
    pub fn new(secret: Vec<u8>) -> Result<AuditKey, String> {
        if secret.len() < MIN_KEY_BYTES {
            return Err(format!(
                "an audit key needs at least {MIN_KEY_BYTES} bytes, this one has {}",
                secret.len()
            ));
        }
        let mut h = Sha256::new();
        h.update(b"foerderakte-audit-key-id\0");
        h.update(&secret);
        let id = hex(&h.finalize()[..8]);
        let keyed = match Hmac::<Sha256>::new_from_slice(&secret) {
            Ok(m) => m,
            Err(e) => unreachable!("HMAC takes keys of any length: {e}"),
        };
        let base = |tag: &str| {
            let mut m = Message(keyed.clone());
            m.text(tag);
            m.text(&id);
            m.0
        };
        Ok(AuditKey {
            entry_base: base(ENTRY_TAG),
            checkpoint_base: base(CHECKPOINT_TAG),
            seal_base: base(SEAL_TAG),
            id,
        })
    }

    /// A key from its hexadecimal text (64 or more hex digits).
    pub fn from_hex(text: &str) -> Result<AuditKey, String> {
        AuditKey::new(unhex(text.trim())?)
    }

    pub fn id(&self) -> &str {
        &self.id
    }
}

/// The key that signs new entries and the earlier ones that still verify old entries
/// (rotation: docs/audit.md).
#[derive(Debug, Clone)]
pub struct Keyring {
    pub current: AuditKey,
    pub previous: Vec<AuditKey>,
}

impl Keyring {
    pub fn single(current: AuditKey) -> Keyring {
        Keyring {
            current,
            previous: Vec::new(),
        }
    }

    /// The key with this id, if the ring holds it.
    pub fn find(&self, id: &str) -> Option<&AuditKey> {
        std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.id == id)
    }
}

/// The fields an entry's MAC covers, in a fixed order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainedFields<'a> {
    /// The entry's place in the global chain.
    pub id: i64,
    pub record_type: &'a str,
    pub record_key: &'a str,
    /// The entry's place in its record's history.
    pub seq: i64,
    /// Microseconds since 1970-01-01 UTC.
    pub occurred_at: i64,
    pub actor: &'a str,
    pub role: &'a str,
    pub action: &'a str,
    pub from_status: Option<&'a str>,
    pub to_status: Option<&'a str>,
    pub reason: Option<&'a str>,
    /// The changed fields as JSON text, exactly as stored.
    pub changes: &'a str,
    /// The merge patch of the record's state, as stored.
    pub state: &'a str,
    pub state_hash: &'a str,
}

/// What a MAC covers, fed field by field: every text with its length in front (8 bytes, big
/// endian), every integer as 8 bytes big endian, an absent value as the byte 0 and a present
/// one as 1 before it, so that no two different field lists give the same bytes. Nothing is
/// escaped or copied.
struct Message(Hmac<Sha256>);

impl Message {
    fn int(&mut self, i: i64) {
        self.0.update(&i.to_be_bytes());
    }

    fn text(&mut self, s: &str) {
        self.int(i64::try_from(s.len()).unwrap_or(i64::MAX));
        self.0.update(s.as_bytes());
    }

    fn opt(&mut self, s: Option<&str>) {
        match s {
            None => self.0.update(&[0]),
            Some(s) => {
                self.0.update(&[1]);
                self.text(s);
            }
        }
    }

    fn finish(self) -> String {
        hex(&self.0.finalize().into_bytes())
    }
}

/// The entry's MAC: HMAC-SHA256 under `key` over a version tag, the key id, the previous
/// entry's MAC and every field (`Message`).
pub fn entry_mac(key: &AuditKey, prev_mac: &str, f: &ChainedFields<'_>) -> String {
    let mut m = Message(key.entry_base.clone());
    m.text(prev_mac);
    m.int(f.id);
    m.text(f.record_type);
    m.text(f.record_key);
    m.int(f.seq);
    m.int(f.occurred_at);
    m.text(f.actor);
    m.text(f.role);
    m.text(f.action);
    m.opt(f.from_status);
    m.opt(f.to_status);
    m.opt(f.reason);
    m.text(f.changes);
    m.text(f.state);
    m.text(f.state_hash);
    m.finish()
}

/// A checkpoint's MAC: the head `seq` with its MAC at `created_at` (microseconds since 1970,
/// UTC), and whether a full verify run verified the log up to it.
pub fn checkpoint_mac(
    key: &AuditKey,
    seq: i64,
    head_mac: &str,
    created_at: i64,
    verified: bool,
) -> String {
    let mut m = Message(key.checkpoint_base.clone());
    m.int(seq);
    m.text(head_mac);
    m.int(created_at);
    m.int(i64::from(verified));
    m.finish()
}

/// What a seal says (`seal_mac`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealFields<'a> {
    /// The seal's place in the chain of seals, from 1, without gaps.
    pub id: i64,
    /// The round: the entries of the transactions `from_txid <= txid < to_txid`.
    pub from_txid: i64,
    pub to_txid: i64,
    pub entries: i64,
    pub first_event: i64,
    pub last_event: i64,
    /// `SealDigest` of the round's entries.
    pub digest: &'a str,
    /// Microseconds since 1970-01-01 UTC.
    pub sealed_at: i64,
}

/// A seal's MAC: HMAC-SHA256 under `key` over a version tag, the key id, the previous seal's
/// MAC and the seal's fields.
pub fn seal_mac(key: &AuditKey, prev_mac: &str, f: &SealFields<'_>) -> String {
    let mut m = Message(key.seal_base.clone());
    m.text(prev_mac);
    m.int(f.id);
    m.int(f.from_txid);
    m.int(f.to_txid);
    m.int(f.entries);
    m.int(f.first_event);
    m.int(f.last_event);
    m.text(f.digest);
    m.int(f.sealed_at);
    m.finish()
}

/// The fold of a round's entries in id order: SHA-256 over each entry's id (8 bytes, big
/// endian) and its MAC (length first), so that a removed, added, reordered or renumbered
/// entry gives another digest. Unkeyed: the entries' MACs are keyed already, and the seal's
/// MAC covers the digest.
#[derive(Clone, Default)]
pub struct SealDigest {
    hash: Sha256,
    count: i64,
}

impl SealDigest {
    pub fn add(&mut self, id: i64, mac: &str) {
        self.hash.update(id.to_be_bytes());
        self.hash
            .update(i64::try_from(mac.len()).unwrap_or(i64::MAX).to_be_bytes());
        self.hash.update(mac.as_bytes());
        self.count += 1;
    }

    /// How many entries were added.
    pub fn count(&self) -> i64 {
        self.count
    }

    pub fn finish(self) -> String {
        hex(&self.hash.finalize())
    }
}

/// The RFC 7386 merge patch that turns `before` into `after` (both objects without null
/// values, which the patch could not tell from removed ones; anything else is replaced
/// whole).
pub fn merge_patch_between(before: &Value, after: &Value) -> Value {
    match (before, after) {
        (Value::Object(b), Value::Object(a)) => {
            let mut out = Map::new();
            for (k, bv) in b {
                match a.get(k) {
                    None => {
                        out.insert(k.clone(), Value::Null);
                    }
                    Some(av) if av != bv => {
                        out.insert(k.clone(), merge_patch_between(bv, av));
                    }
                    Some(_) => {}
                }
            }
            for (k, av) in a {
                if !b.contains_key(k) {
                    out.insert(k.clone(), av.clone());
                }
            }
            Value::Object(out)
        }
        (_, a) => a.clone(),
    }
}

/// Applies an RFC 7386 merge patch to `target` (section 2's algorithm).
pub fn apply_merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(t) = target {
        for (k, v) in p {
            if v.is_null() {
                t.remove(k);
            } else {
                apply_merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    }
}

/// The SHA-256 (hex) of a state in canonical form: compact JSON with every object's keys in
/// byte order, whatever order the map kept them in.
pub fn state_hash(state: &Value) -> String {
    let mut h = Hashing(Sha256::new());
    canonical(state, &mut h);
    hex(&h.0.finalize())
}

/// A hasher as the `io::Write` serde_json writes scalars into.
struct Hashing(Sha256);

impl std::io::Write for Hashing {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn scalar<T: serde::Serialize + ?Sized>(v: &T, out: &mut Hashing) {
    if let Err(e) = serde_json::to_writer(&mut *out, v) {
        unreachable!("a JSON value always serialises: {e}");
    }
}

fn canonical(v: &Value, out: &mut Hashing) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            if !keys.is_sorted() {
                keys.sort();
            }
            out.0.update(b"{");
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.0.update(b",");
                }
                scalar(k.as_str(), out);
                out.0.update(b":");
                canonical(&m[k], out);
            }
            out.0.update(b"}");
        }
        Value::Array(items) => {
            out.0.update(b"[");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.0.update(b",");
                }
                canonical(item, out);
            }
            out.0.update(b"]");
        }
        other => scalar(other, out),
    }
}

/// One field where two states differ: its path (`table.field` or `table.row.field`) and both
/// values (`None`: absent or null).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldDifference {
    pub path: String,
    pub logged: Option<String>,
    pub live: Option<String>,
}

/// Every leaf field where `logged` and `live` differ, in path order.
pub fn differences(logged: &Value, live: &Value) -> Vec<FieldDifference> {
    let mut out = Vec::new();
    walk("", logged, live, &mut out);
    out
}

fn walk(path: &str, logged: &Value, live: &Value, out: &mut Vec<FieldDifference>) {
    if let (Value::Object(l), Value::Object(r)) = (logged, live) {
        let mut keys: Vec<&String> = l.keys().chain(r.keys()).collect();
        keys.sort();
        keys.dedup();
        for k in keys {
            let sub = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            let (a, b) = (
                l.get(k).unwrap_or(&Value::Null),
                r.get(k).unwrap_or(&Value::Null),
            );
            walk(&sub, a, b, out);
        }
    } else if logged != live {
        let text = |v: &Value| match v {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        };
        out.push(FieldDifference {
            path: path.to_owned(),
            logged: text(logged),
            live: text(live),
        });
    }
}

/// Lower-case hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// The bytes of a hexadecimal text.
pub fn unhex(text: &str) -> Result<Vec<u8>, String> {
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return Err("a hexadecimal key has an even number of digits".into());
    }
    bytes
        .chunks(2)
        .map(|p| match (digit(p[0]), digit(p[1])) {
            (Some(h), Some(l)) => Ok(h << 4 | l),
            _ => Err("a hexadecimal key has only the digits 0-9 and a-f".to_owned()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key(byte: u8) -> AuditKey {
        AuditKey::new(vec![byte; 32]).unwrap()
    }

    fn digest_of(entries: &[(i64, &str)]) -> String {
        let mut d = SealDigest::default();
        for (id, mac) in entries {
            d.add(*id, mac);
        }
        d.finish()
    }

    #[test]
    fn a_seal_digest_changes_with_any_entry_removed_added_reordered_or_renumbered() {
        let all = [(1, "aa"), (2, "bb"), (5, "cc")];
        let d = digest_of(&all);
        assert_ne!(d, digest_of(&all[..2]));
        assert_ne!(d, digest_of(&[(1, "aa"), (2, "bb"), (5, "cc"), (6, "dd")]));
        assert_ne!(d, digest_of(&[(2, "bb"), (1, "aa"), (5, "cc")]));
        assert_ne!(d, digest_of(&[(1, "aa"), (3, "bb"), (5, "cc")]));
        // Lengths are framed: moving a character from one MAC to the next is a change.
        assert_ne!(
            digest_of(&[(1, "ab"), (2, "c")]),
            digest_of(&[(1, "a"), (2, "bc")])
        );
        assert_eq!(d, digest_of(&all));
    }

    #[test]
    fn a_seal_mac_covers_every_field_and_the_seal_before() {
        let f = SealFields {
            id: 3,
            from_txid: 10,
            to_txid: 20,
            entries: 4,
            first_event: 100,
            last_event: 130,
            digest: "d1",
            sealed_at: 1_700_000_000_000_000,
        };
        let m = seal_mac(&key(1), GENESIS, &f);
        assert_eq!(m, seal_mac(&key(1), GENESIS, &f.clone()));
        assert_ne!(m, seal_mac(&key(2), GENESIS, &f));
        assert_ne!(m, seal_mac(&key(1), "other", &f));
        let changed = [
            SealFields { id: 4, ..f.clone() },
            SealFields {
                from_txid: 11,
                ..f.clone()
            },
            SealFields {
                to_txid: 21,
                ..f.clone()
            },
            SealFields {
                entries: 5,
                ..f.clone()
            },
            SealFields {
                first_event: 101,
                ..f.clone()
            },
            SealFields {
                last_event: 131,
                ..f.clone()
            },
            SealFields {
                digest: "d2",
                ..f.clone()
            },
            SealFields {
                sealed_at: 1,
                ..f.clone()
            },
        ];
        for c in &changed {
            assert_ne!(m, seal_mac(&key(1), GENESIS, c), "{c:?}");
        }
        // A seal's MAC is no entry's or checkpoint's MAC (the version tags differ).
        assert_ne!(
            m,
            checkpoint_mac(&key(1), 3, GENESIS, 1_700_000_000_000_000, false)
        );
    }

    fn fields(reason: Option<&str>) -> ChainedFields<'_> {
        ChainedFields {
            id: 7,
            record_type: "application",
            record_key: "1",
            seq: 1,
            occurred_at: 1_795_342_500_000_000,
            actor: "anna",
            role: "caseworker",
            action: "start_review",
            from_status: Some("submitted"),
            to_status: Some("in_review"),
            reason,
            changes: "{}",
            state: "{}",
            state_hash: "ab",
        }
    }

    #[test]
    fn the_mac_is_hmac_sha256_over_the_length_framed_fields() {
        // HMAC-SHA256 with 32 bytes 0x01 over the framed tag, key id, "p", 7, "application",
        // "1", 1, the instant, "anna", "caseworker", "start_review", Some("submitted"),
        // Some("in_review"), Some("a \"quoted\" reason"), "{}", "{}", "ab", recomputed
        // outside Rust (Python's hmac and struct, docs/audit.md).
        let k = key(1);
        assert_eq!(k.id(), "836bea8704f708b7");
        let f = fields(Some("a \"quoted\" reason"));
        assert_eq!(
            entry_mac(&k, "p", &f),
            "4bc8ef98651aa3d13130cfc46132866ac67ace72ab29899241138dee88c9c931"
        );
    }

    #[test]
    fn any_changed_field_predecessor_or_key_changes_the_mac() {
        let k = key(1);
        let m = entry_mac(&k, GENESIS, &fields(None));
        assert_eq!(m.len(), 64);
        assert_eq!(m, entry_mac(&k, GENESIS, &fields(None)));
        assert_ne!(m, entry_mac(&k, GENESIS, &fields(Some(""))));
        assert_ne!(m, entry_mac(&k, &m, &fields(None)));
        assert_ne!(m, entry_mac(&key(2), GENESIS, &fields(None)));
        let at = 1_795_342_500_000_000;
        let cp = checkpoint_mac(&k, 7, &m, at, false);
        assert_ne!(cp, checkpoint_mac(&k, 8, &m, at, false));
        assert_ne!(cp, checkpoint_mac(&k, 7, &m, at, true));
    }

    #[test]
    fn short_keys_and_bad_hex_are_refused_and_debug_hides_the_secret() {
        assert!(AuditKey::new(vec![0; 31]).is_err());
        assert!(AuditKey::from_hex("zz").is_err());
        assert!(AuditKey::from_hex("abc").is_err());
        let k = AuditKey::from_hex(&"0a".repeat(32)).unwrap();
        assert!(!format!("{k:?}").contains("0a0a"));
        let ring = Keyring {
            current: key(1),
            previous: vec![k.clone()],
        };
        assert_eq!(ring.find(k.id()).map(AuditKey::id), Some(k.id()));
        assert!(ring.find("nope").is_none());
    }

    #[test]
    fn a_merge_patch_turns_the_state_before_into_the_state_after() {
        let before = json!({"t": {"a": 1, "b": "x", "rows": {"1": {"v": 1}, "2": {"v": 2}}}});
        let after = json!({"t": {"a": 2, "c": true, "rows": {"1": {"v": 1}, "3": {"v": 3}}}});
        let patch = merge_patch_between(&before, &after);
        assert_eq!(
            patch,
            json!({"t": {"a": 2, "b": null, "c": true, "rows": {"2": null, "3": {"v": 3}}}})
        );
        let mut s = before.clone();
        apply_merge_patch(&mut s, &patch);
        assert_eq!(s, after);
        let mut fresh = Value::Null;
        apply_merge_patch(&mut fresh, &merge_patch_between(&Value::Null, &after));
        assert_eq!(fresh, after);
    }

    #[test]
    fn the_state_hash_ignores_key_order_and_differences_name_the_field() {
        let a = json!({"t": {"b": 1, "a": [1, "x"]}});
        let mut m = Map::new();
        m.insert("a".into(), json!([1, "x"]));
        m.insert("b".into(), json!(1));
        let b = json!({"t": Value::Object(m)});
        assert_eq!(state_hash(&a), state_hash(&b));
        // SHA-256 of `{"t":{"a":[1,"x"],"b":1}}`.
        assert_eq!(
            state_hash(&a),
            hex(&Sha256::digest(br#"{"t":{"a":[1,"x"],"b":1}}"#))
        );
        let live = json!({"t": {"b": 2, "a": [1, "x"], "c": "new"}});
        let d = differences(&a, &live);
        assert_eq!(
            d,
            vec![
                FieldDifference {
                    path: "t.b".into(),
                    logged: Some("1".into()),
                    live: Some("2".into())
                },
                FieldDifference {
                    path: "t.c".into(),
                    logged: None,
                    live: Some("new".into())
                },
            ]
        );
        assert_eq!(unhex("00ff10").unwrap(), vec![0, 255, 16]);
        assert_eq!(hex(&[0x00, 0x9f, 0xff]), "009fff");
    }
}
