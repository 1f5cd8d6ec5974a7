//! Dates and instants in requests as the API documents them, for JSON fields and query
//! parameters alike: `#[serde(deserialize_with = "…")]` adapters over
//! `domain::calendar::parse_date` and `parse_instant`. chrono's own deserializers are
//! looser (`2027-1-1`, `+12345-01-01`, a year before PostgreSQL's earliest day); a value of
//! the wrong shape is refused like any value of the wrong type: 400. Whether a well-formed
//! date lies in range is each field's rule, answered with 422 and the field's name
//! (`calendar::business_date_problem`, `calendar::instant_problem`).
//!
//! An `Option` field with one of these adapters needs `#[serde(default)]`: serde treats a
//! missing field as `None` only for fields without `deserialize_with`.

use chrono::{DateTime, NaiveDate, Utc};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};

use crate::domain::calendar::{parse_date, parse_instant};

/// A required `YYYY-MM-DD`.
pub fn date<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
    let s = String::deserialize(d)?;
    parse_date(&s).map_err(D::Error::custom)
}

/// An optional `YYYY-MM-DD` (`null` or absent: `None`).
pub fn date_option<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
    Option::<String>::deserialize(d)?
        .map(|s| parse_date(&s).map_err(D::Error::custom))
        .transpose()
}

/// A `YYYY-MM-DD` that `null` clears: absent `None`, `null` `Some(None)`.
pub fn date_double_option<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<NaiveDate>>, D::Error> {
    date_option(d).map(Some)
}

/// An optional RFC 3339 instant.
pub fn instant_option<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    Option::<String>::deserialize(d)?
        .map(|s| parse_instant(&s).map_err(D::Error::custom))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        #[serde(deserialize_with = "date")]
        on: NaiveDate,
        #[serde(default, deserialize_with = "date_option")]
        until: Option<NaiveDate>,
        #[serde(default, deserialize_with = "date_double_option")]
        cleared: Option<Option<NaiveDate>>,
        #[serde(default, deserialize_with = "instant_option")]
        since: Option<DateTime<Utc>>,
    }

    fn body(v: serde_json::Value) -> Result<Body, serde_json::Error> {
        serde_json::from_value(v)
    }

    #[test]
    fn absent_null_and_strict_values_are_told_apart() {
        let b = body(serde_json::json!({"on": "2027-01-01"})).unwrap();
        assert_eq!(b.on.to_string(), "2027-01-01");
        assert_eq!((b.until, b.cleared, b.since), (None, None, None));
        let b = body(serde_json::json!({
            "on": "2027-01-01", "until": null, "cleared": null, "since": "2026-01-01T00:00:00Z"
        }))
        .unwrap();
        assert_eq!(b.cleared, Some(None));
        assert!(b.since.is_some());
        for bad in [
            serde_json::json!({"on": "2027-1-1"}),
            serde_json::json!({"on": "-5000-01-01"}),
            serde_json::json!({"on": 20270101}),
            serde_json::json!({"on": "2027-01-01", "until": "+12027-01-01"}),
            serde_json::json!({"on": "2027-01-01", "cleared": "2027-02-30"}),
            serde_json::json!({"on": "2027-01-01", "since": "-5000-01-01T00:00:00Z"}),
        ] {
            assert!(body(bad.clone()).is_err(), "{bad}");
        }
    }

    #[test]
    fn query_strings_use_the_same_rules() {
        #[derive(Debug, Deserialize)]
        struct Q {
            #[serde(default, deserialize_with = "date_option")]
            as_of: Option<NaiveDate>,
        }
        let q = |s: &str| actix_web::web::Query::<Q>::from_query(s).map(|q| q.into_inner());
        assert!(q("as_of=2019-12-31").unwrap().as_of.is_some());
        assert!(q("as_of=2019-1-31").is_err());
        assert!(q("as_of=%2B2019-12-31").is_err());
        assert!(q("").unwrap().as_of.is_none());
    }
}
