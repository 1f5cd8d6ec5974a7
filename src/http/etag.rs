//! Optimistic concurrency: every GET of a versioned resource returns `ETag: "<version>"` (a
//! strong validator, RFC 9110 § 8.8.3), and every write requires `If-Match` with it (428
//! without, 412 when it names no current version). The one place handlers read `If-Match` and
//! `If-None-Match` and build the `ETag` header.
//!
//! `If-Match` uses the strong comparison (RFC 9110 § 13.1.1, § 8.8.3.2): a weak tag (`W/"3"`)
//! never matches, `*` matches any current representation, and a list matches if one of its
//! tags does.

use actix_web::HttpRequest;
use actix_web::http::header;

use crate::error::ApiError;
use crate::persistence::Expected;

pub fn etag(version: i32) -> String {
    format!("\"{version}\"")
}

/// The `ETag` header of a resource at `version`, for `insert_header`.
pub fn header(version: i32) -> (header::HeaderName, String) {
    (header::ETAG, etag(version))
}

/// What an `If-Match` header accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IfMatch {
    /// `*`: any current representation, i.e. the resource exists.
    Any,
    /// The versions named by the strong tags of the list (weak and foreign tags dropped: they
    /// never match). Never empty: `if_match` answers 412 for a list that names no version.
    Versions(Vec<i32>),
}

impl IfMatch {
    /// The versions a conditional write in `persistence` accepts.
    pub fn expected(&self) -> Expected<'_> {
        match self {
            IfMatch::Any => Expected::Any,
            IfMatch::Versions(v) => Expected::OneOf(v),
        }
    }
}

/// An entity-tag as sent (RFC 9110 § 8.8.3: `[W/] DQUOTE *etagc DQUOTE`).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tag<'a> {
    Strong(&'a str),
    Weak(&'a str),
}

/// The entity-tags of a field value `#entity-tag` (commas and optional white space between
/// them); `None` if it is not that grammar (an unquoted `3`, a stray character).
fn tags(value: &str) -> Option<Vec<Tag<'_>>> {
    let mut out = Vec::new();
    let mut rest = value;
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if rest.is_empty() {
            return Some(out);
        }
        let (weak, quoted) = match rest.strip_prefix("W/") {
            Some(r) => (true, r),
            None => (false, rest),
        };
        let inner = quoted.strip_prefix('"')?;
        let end = inner.find('"')?;
        let opaque = &inner[..end];
        // etagc: visible characters but DQUOTE (obs-text is not sent by our clients).
        if !opaque
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x7e).contains(&b))
        {
            return None;
        }
        out.push(if weak {
            Tag::Weak(opaque)
        } else {
            Tag::Strong(opaque)
        });
        rest = &inner[end + 1..];
        if !(rest.is_empty() || rest.starts_with([' ', '\t', ','])) {
            return None;
        }
    }
}

/// Every line of a header joined as one list (RFC 9110 § 5.3), if all are text.
fn field(req: &HttpRequest, name: header::HeaderName) -> Option<Result<String, ()>> {
    let mut values = req.headers().get_all(name).peekable();
    values.peek()?;
    let parts: Result<Vec<&str>, _> = values.map(|v| v.to_str()).collect();
    Some(parts.map(|p| p.join(", ")).map_err(|_| ()))
}

/// The `If-Match` of a write: 428 without one, 412 when it names no version this resource can
/// have (a weak tag, a tag that is no version, a value that is no entity-tag list).
pub fn if_match(req: &HttpRequest) -> Result<IfMatch, ApiError> {
    optional_if_match(req)?.ok_or_else(|| {
        ApiError::PreconditionRequired(
            "this write needs If-Match with the ETag of your last GET".into(),
        )
    })
}

/// The `If-Match` of a request, if it has one (412 as `if_match`).
pub fn optional_if_match(req: &HttpRequest) -> Result<Option<IfMatch>, ApiError> {
    let Some(value) = field(req, header::IF_MATCH) else {
        return Ok(None);
    };
    let value = value.unwrap_or_default();
    if value.trim() == "*" {
        return Ok(Some(IfMatch::Any));
    }
    let tags = tags(&value).unwrap_or_default();
    let versions: Vec<i32> = tags
        .iter()
        .filter_map(|t| match t {
            Tag::Strong(v) if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) => {
                v.parse().ok()
            }
            _ => None,
        })
        .collect();
    if !versions.is_empty() {
        return Ok(Some(IfMatch::Versions(versions)));
    }
    Err(ApiError::PreconditionFailed(
        if tags.iter().any(|t| matches!(t, Tag::Weak(_))) {
            "If-Match compares strongly (RFC 9110 § 13.1.1): a weak ETag (W/\"…\") never \
             matches; send the ETag of your last GET as it was given"
        } else {
            "If-Match does not name a version of this resource"
        }
        .into(),
    ))
}

/// Whether the request has `If-None-Match: *` (create only if the resource does not exist,
/// RFC 9110 § 13.1.2); any other `If-None-Match` is no precondition for a write (428 where
/// one is required).
pub fn if_none_match_any(req: &HttpRequest) -> Result<bool, ApiError> {
    // Another value (a list of tags, or something malformed) is not the precondition a create
    // needs, so it counts as none: the write then answers 428 naming the one it needs.
    Ok(matches!(field(req, header::IF_NONE_MATCH), Some(Ok(v)) if v.trim() == "*"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn parsed(values: &[&str]) -> Result<Option<IfMatch>, u16> {
        let mut req = TestRequest::default();
        for v in values {
            req = req.append_header((header::IF_MATCH, *v));
        }
        optional_if_match(&req.to_http_request())
            .map_err(|e| actix_web::ResponseError::status_code(&e).as_u16())
    }

    #[test]
    fn a_strong_tag_names_its_version_and_a_weak_one_never_matches() {
        assert_eq!(parsed(&[]), Ok(None));
        assert_eq!(parsed(&["\"3\""]), Ok(Some(IfMatch::Versions(vec![3]))));
        assert_eq!(parsed(&["W/\"3\""]), Err(412));
        assert_eq!(parsed(&["3"]), Err(412));
        assert_eq!(parsed(&["\"abc\""]), Err(412));
        assert_eq!(parsed(&["\"-1\""]), Err(412));
        assert_eq!(parsed(&["\"3\" x"]), Err(412));
    }

    #[test]
    fn a_list_matches_by_any_of_its_strong_tags_and_a_star_by_any_version() {
        assert_eq!(
            parsed(&["W/\"2\", \"3\",\"4\""]),
            Ok(Some(IfMatch::Versions(vec![3, 4])))
        );
        assert_eq!(
            parsed(&["\"5\"", "\"6\""]),
            Ok(Some(IfMatch::Versions(vec![5, 6])))
        );
        assert_eq!(parsed(&["*"]), Ok(Some(IfMatch::Any)));
        assert_eq!(parsed(&[" * "]), Ok(Some(IfMatch::Any)));
        // `*` stands alone (RFC 9110 § 13.1.1: `"*" / #entity-tag`).
        assert_eq!(parsed(&["*, \"3\""]), Err(412));
        assert!(IfMatch::Any.expected().admits(17));
        assert!(!IfMatch::Versions(vec![3, 4]).expected().admits(5));
    }
}
