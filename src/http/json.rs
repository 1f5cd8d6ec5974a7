//! The API's JSON body: `web::Json` (same limit, content type and errors, see
//! `errors::json_config`), and no NUL character (U+0000) in any string or key of it. JSON may
//! carry one (`"\u0000"`), PostgreSQL's `text` cannot store one, and no field of the API has a
//! use for it; so it is refused on both databases before a handler sees the body: with 422 and
//! the field's path, since the body is well-formed JSON that fits the schema (a JSON Schema
//! string may hold U+0000) and only its content is refused.
//!
//! A key twice in one object is refused with 400 at any depth: RFC 8259 § 4 leaves the
//! meaning of duplicate names to the parser ("the names within an object SHOULD be unique"),
//! serde_json keeps the last, and a proxy or a log that keeps the first reads another request
//! than the service does (I-JSON, RFC 7493 § 2.3: objects MUST NOT have duplicate names).
//! The body is read once into a `serde_json::Value`, as before, by a visitor that checks each
//! key against the object built so far: one pass, no second copy.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use serde::de::{DeserializeOwned, Error as _, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::error::ApiError;

/// A request body of type `T`, read from JSON.
#[derive(Debug)]
pub struct Json<T, const MAX: usize = MAX_TEXT>(pub T);

/// The longest string a JSON body may carry, in characters (fields document shorter limits of
/// their own in the OpenAPI document); a body that carries a file (`register`) sets its own.
pub const MAX_TEXT: usize = 20_000;

impl<T, const MAX: usize> Json<T, MAX> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T, const MAX: usize> std::ops::Deref for Json<T, MAX> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned + 'static, const MAX: usize> FromRequest for Json<T, MAX> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let value = web::Json::<UniqueKeys>::from_request(req, payload);
        Box::pin(async move {
            let UniqueKeys(value) = value.await?.into_inner();
            if let Some((field, problem)) = unprintable(&value, MAX) {
                let field = if field.is_empty() {
                    "body".to_owned()
                } else {
                    field
                };
                return Err(ApiError::validation(field, problem).into());
            }
            serde_json::from_value(value)
                .map(Json)
                .map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")).into())
        })
    }
}

/// A JSON value with no key twice in any object (see the module documentation). The error
/// names the key; serde_json adds the line and column.
struct UniqueKeys(Value);

impl<'de> Deserialize<'de> for UniqueKeys {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UniqueKeysVisitor).map(UniqueKeys)
    }
}

struct UniqueKeysVisitor;

impl<'de> Visitor<'de> for UniqueKeysVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        // As `Value`'s own visitor: JSON has no NaN or infinity, so this is always a number.
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        UniqueKeys::deserialize(d).map(|UniqueKeys(v)| v)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(UniqueKeys(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut fields = serde_json::Map::new();
        while let Some(key) = access.next_key::<String>()? {
            if fields.contains_key(&key) {
                return Err(A::Error::custom(format!(
                    "the key {key:?} appears twice in one object"
                )));
            }
            let UniqueKeys(v) = access.next_value()?;
            fields.insert(key, v);
        }
        Ok(Value::Object(fields))
    }
}

/// The path (`partners[2].share`) of the first string or object key in `value` that a notice
/// could not hold, and why; `""` for the body itself. A string may have at most `max`
/// characters, each printable by the notice font (`document::printable`) or a line break or
/// tab: whatever a request stores may end up on a signed notice, whose document must render.
/// U+0000 gets its own message (PostgreSQL's `text` cannot store it either).
fn unprintable(value: &Value, max: usize) -> Option<(String, String)> {
    match value {
        Value::String(s) => text_problem(s, max).map(|p| (String::new(), p)),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, v)| {
            unprintable(v, max).map(|(rest, p)| (format!("[{i}]{}", dotted(&rest)), p))
        }),
        Value::Object(fields) => fields.iter().find_map(|(k, v)| {
            if k.contains('\0') {
                return Some((k.replace('\0', "\\u0000"), NUL.to_owned()));
            }
            unprintable(v, max).map(|(rest, p)| (format!("{k}{}", dotted(&rest)), p))
        }),
        Value::Null | Value::Bool(_) | Value::Number(_) => None,
    }
}

const NUL: &str = "must not contain the NUL character (\\u0000)";

fn text_problem(s: &str, max: usize) -> Option<String> {
    if s.len() > max && s.chars().count() > max {
        return Some(format!("at most {max} characters"));
    }
    let bad = s
        .chars()
        .find(|&c| !matches!(c, '\n' | '\r' | '\t') && !crate::document::printable(c))?;
    Some(match bad {
        '\0' => NUL.to_owned(),
        c if c.is_control() => format!("must not contain the control character U+{:04X}", c as u32),
        c => format!(
            "contains U+{:04X}, which a notice cannot print (the characters of DejaVu Sans are accepted)",
            c as u32
        ),
    })
}

/// `rest` as the continuation of a path: `.name`, `[i]` or nothing.
fn dotted(rest: &str) -> String {
    if rest.is_empty() || rest.starts_with('[') {
        rest.to_owned()
    } else {
        format!(".{rest}")
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{UniqueKeys, unprintable};

    fn unique(body: &str) -> Result<serde_json::Value, String> {
        serde_json::from_str::<UniqueKeys>(body)
            .map(|UniqueKeys(v)| v)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn a_key_twice_in_any_object_is_refused_and_everything_else_reads_as_value_does() {
        for body in [
            r#"{"amount":"1.00","amount":"39999.99"}"#,
            r#"{"a":{"b":1,"b":1}}"#,
            r#"{"a":[{"x":1},{"y":2,"y":3}]}"#,
            r#"{"a\u0062":1,"ab":2}"#,
        ] {
            let err = unique(body).unwrap_err();
            assert!(err.contains("appears twice"), "{body}: {err}");
        }
        for body in [
            r#"{"a":1,"b":{"a":2},"c":[{"a":3},{"a":4}]}"#,
            r#"[1, -2, 3.5, 1e400, "s", null, true, {}, []]"#,
            r#"{"n": 18446744073709551615, "m": -9223372036854775808}"#,
        ] {
            let ours = unique(body);
            let value = serde_json::from_str::<serde_json::Value>(body).map_err(|e| e.to_string());
            assert_eq!(ours, value, "{body}");
        }
    }

    fn nul_path(v: serde_json::Value) -> Option<String> {
        unprintable(&v, 100).map(|(path, _)| path)
    }

    fn problem(s: &str) -> Option<String> {
        unprintable(&json!({ "t": s }), 30).map(|(_, p)| p)
    }

    #[test]
    fn text_is_bounded_and_printable_by_the_notice_font() {
        assert_eq!(problem("Straße 1\n99817 Eisenach\tÄÖÜ €§"), None);
        assert_eq!(problem("Ελλάδα"), None);
        assert_eq!(problem(&"ü".repeat(30)), None);
        assert_eq!(problem(&"ü".repeat(31)).unwrap(), "at most 30 characters");
        assert!(problem("a\u{7}").unwrap().contains("U+0007"));
        assert!(problem("\u{E000}").unwrap().contains("cannot print"));
        assert!(problem("漢").unwrap().contains("U+6F22"));
        assert!(problem("\u{10FFFD}").unwrap().contains("cannot print"));
        assert!(problem("a\u{0}").unwrap().contains("NUL"));
    }

    #[test]
    fn a_nul_is_found_in_any_string_or_key_at_any_depth_and_named_by_its_path() {
        assert_eq!(nul_path(json!("a\u{0}")).as_deref(), Some(""));
        assert_eq!(
            nul_path(json!({"a": [{"b": "\u{0}"}]})).as_deref(),
            Some("a[0].b")
        );
        assert_eq!(
            nul_path(json!({"p": [[1], ["x", "\u{0}"]]})).as_deref(),
            Some("p[1][1]")
        );
        assert_eq!(
            nul_path(json!({"x": {"a\u{0}": 1}})).as_deref(),
            Some("x.a\\u0000")
        );
        assert_eq!(nul_path(json!({"a": ["\\u0000", 0, null, true]})), None);
    }
}
