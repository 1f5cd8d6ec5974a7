//! The API's JSON body: `web::Json` (same limit, content type and errors, see
//! `errors::json_config`), and no NUL character (U+0000) in any string or key of it. JSON may
//! carry one (`"\u0000"`), PostgreSQL's `text` cannot store one, and no field of the API has a
//! use for it; so it is refused with 400 on both databases before a handler sees the body.

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
            if contains_nul(&value) {
                return Err(ApiError::BadRequest(
                    "a string of the body contains the NUL character (\\u0000)".into(),
                )
                .into());
            }
            serde_json::from_value(value)
                .map(Json)
                .map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")).into())
        })
    }
}

/// Whether a string or an object key anywhere in `value` contains U+0000.
fn contains_nul(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(contains_nul),
        Value::Object(fields) => fields
            .iter()
            .any(|(k, v)| k.contains('\0') || contains_nul(v)),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::contains_nul;

    #[test]
    fn a_nul_is_found_in_any_string_or_key_at_any_depth() {
        assert!(contains_nul(&json!("a\u{0}")));
        assert!(contains_nul(&json!({"a": [{"b": "\u{0}"}]})));
        assert!(contains_nul(&json!({"a\u{0}": 1})));
        assert!(!contains_nul(&json!({"a": ["\\u0000", 0, null, true]})));
    }
}
