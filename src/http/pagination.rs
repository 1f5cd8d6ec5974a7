//! Cursor pagination: `?limit=` (default 50, max 500) and an opaque `?cursor=`.

use serde::Serialize;
use utoipa::ToSchema;

use crate::error::ApiError;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 500;

/// A page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// Checks `limit`: 1..=500, default 50.
pub fn limit(requested: Option<i64>) -> Result<i64, ApiError> {
    match requested {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::validation(
            "limit",
            format!("must be between 1 and {MAX_LIMIT}"),
        )),
    }
}

/// Encodes a position as an opaque cursor (hex of a versioned key, so that clients do not
/// build cursors themselves and we may change the key later).
pub fn encode(position: &str) -> String {
    crate::domain::audit::hex(format!("v1:{position}").as_bytes())
}

pub fn decode(cursor: &str) -> Result<String, ApiError> {
    let bad = || ApiError::validation("cursor", "is not a cursor this API issued");
    // Hex digits only: slicing by byte offsets below would panic inside a multi-byte character.
    if !cursor.len().is_multiple_of(2)
        || cursor.len() > 512
        || !cursor.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return Err(bad());
    }
    let bytes = cursor
        .as_bytes()
        .chunks(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect::<Option<Vec<u8>>>()
        .ok_or_else(bad)?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    text.strip_prefix("v1:").map(str::to_owned).ok_or_else(bad)
}

/// Builds a page from up to `limit + 1` loaded rows: the extra row only says there is more.
pub fn page<R, T>(
    mut rows: Vec<R>,
    limit: i64,
    key: impl Fn(&R) -> String,
    map: impl Fn(R) -> T,
) -> Page<T> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next_cursor = if more {
        rows.last().map(|r| encode(&key(r)))
    } else {
        None
    };
    Page {
        items: rows.into_iter().map(map).collect(),
        next_cursor,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_foreign_ones_are_refused() {
        assert_eq!(decode(&encode("16063105")).unwrap(), "16063105");
        assert!(decode("zz").is_err());
        assert!(decode("abc").is_err());
        assert!(decode(&"41".repeat(4)).is_err());
        assert!(decode("\u{FFFD}\u{FFFD}").is_err());
        assert!(decode("aéb").is_err());
        // Multi-byte characters (found by schemathesis: this used to panic the worker).
        assert!(decode("0\u{800}").is_err());
        assert!(decode("ä0").is_err());
        assert!(decode("+1").is_err());
    }

    #[test]
    fn limits_outside_1_to_500_are_refused() {
        assert_eq!(limit(None).unwrap(), 50);
        assert!(limit(Some(0)).is_err());
        assert!(limit(Some(501)).is_err());
        assert_eq!(limit(Some(500)).unwrap(), 500);
    }
}
