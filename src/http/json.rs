//! The API's JSON body: `web::Json` (same limit, content type and errors, see
//! `errors::json_config`), and no NUL character (U+0000) in any string or key of it. JSON may
//! carry one (`"\u0000"`), PostgreSQL's `text` cannot store one, and no field of the API has a
//! use for it; so it is refused on both databases before a handler sees the body: with 422 and
//! the field's path, since the body is well-formed JSON that fits the schema (a JSON Schema
//! string may hold U+0000) and only its content is refused.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::ApiError;

/// A request body of type `T`, read from JSON.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T> Json<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Json<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let value = web::Json::<Value>::from_request(req, payload);
        Box::pin(async move {
            let value = value.await?.into_inner();
            if let Some(field) = nul_path(&value) {
                return Err(ApiError::validation(
                    if field.is_empty() {
                        "body".to_owned()
                    } else {
                        field
                    },
                    "must not contain the NUL character (\\u0000)",
                )
                .into());
            }
            serde_json::from_value(value)
                .map(Json)
                .map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")).into())
        })
    }
}

/// The path (`partners[2].share`) of the first string or object key in `value` that contains
/// U+0000; `""` for the body itself.
fn nul_path(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => s.contains('\0').then(String::new),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| nul_path(v).map(|rest| format!("[{i}]{}", dotted(&rest)))),
        Value::Object(fields) => fields.iter().find_map(|(k, v)| {
            if k.contains('\0') {
                return Some(k.replace('\0', "\\u0000"));
            }
            nul_path(v).map(|rest| format!("{k}{}", dotted(&rest)))
        }),
        Value::Null | Value::Bool(_) | Value::Number(_) => None,
    }
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

    use super::nul_path;

    #[test]
    fn a_nul_is_found_in_any_string_or_key_at_any_depth_and_named_by_its_path() {
        assert_eq!(nul_path(&json!("a\u{0}")).as_deref(), Some(""));
        assert_eq!(
            nul_path(&json!({"a": [{"b": "\u{0}"}]})).as_deref(),
            Some("a[0].b")
        );
        assert_eq!(
            nul_path(&json!({"p": [[1], ["x", "\u{0}"]]})).as_deref(),
            Some("p[1][1]")
        );
        assert_eq!(
            nul_path(&json!({"x": {"a\u{0}": 1}})).as_deref(),
            Some("x.a\\u0000")
        );
        assert_eq!(nul_path(&json!({"a": ["\\u0000", 0, null, true]})), None);
    }
}
