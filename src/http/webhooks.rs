//! Webhook subscriptions (issue 18): being built on its own branch.

/// A subscription as the API shows it (without its secret), for its event.
pub(crate) fn represent(
    _conn: &mut crate::persistence::AnyConnection,
    _id: &str,
) -> diesel::QueryResult<crate::persistence::events::Represented> {
    super::dto::represented(None::<()>, None)
}
