//! `Idempotency-Key` for the writes that create a record: the first request with a key does
//! the write and stores its response in the same transaction; a retry with the same key and
//! body gets that response again, the same key with another body is refused
//! (`WriteError::KeyReused`). Keys are scoped to the token's subject.

use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use super::applications::{WriteError, Writer};
use super::schema::idempotency_keys as ik;
use super::{AnyConnection, write_tx};

/// The key of a create and the SHA-256 of its canonical request body.
#[derive(Debug, Clone, Copy)]
pub struct Idempotency<'a> {
    pub key: &'a str,
    pub request_hash: &'a str,
}

/// What a create answered: the new record and its response body, or a replay of the first
/// response to this key.
#[derive(Debug)]
pub enum Created<T> {
    New {
        record: Box<T>,
        id: String,
        body: String,
    },
    Replay {
        status: u16,
        body: String,
        id: String,
    },
}

fn stored_response<T>(
    conn: &mut AnyConnection,
    subject: &str,
    idem: &Idempotency<'_>,
) -> Result<Option<Created<T>>, WriteError> {
    let found: Option<(String, i32, String, String)> = ik::table
        .find((subject, idem.key))
        .select((
            ik::request_hash,
            ik::status_code,
            ik::response,
            ik::resource_id,
        ))
        .first(conn)
        .optional()?;
    match found {
        None => Ok(None),
        Some((hash, _, _, _)) if hash != idem.request_hash => Err(WriteError::KeyReused),
        Some((_, status, body, id)) => Ok(Some(Created::Replay {
            status: u16::try_from(status).unwrap_or(201),
            body,
            id,
        })),
    }
}

/// What a create's write returns: the record, its id and the response body.
pub type Written<T> = Result<(T, String, String), WriteError>;

/// Runs `work` (which writes the record and returns it with its id and response body) once per
/// key, in one transaction with the key's row. Concurrent requests with one key: the first
/// writes; the others wait on the key's row (PostgreSQL) or the write lock (SQLite) and then
/// get the first response.
pub fn once<T>(
    conn: &mut AnyConnection,
    w: &Writer<'_>,
    idem: Option<Idempotency<'_>>,
    status: u16,
    work: &mut dyn FnMut(&mut AnyConnection) -> Written<T>,
) -> Result<Created<T>, WriteError> {
    let attempt = write_tx(conn, |conn| {
        if let Some(idem) = &idem {
            if let Some(replay) = stored_response(conn, w.subject, idem)? {
                return Ok(replay);
            }
            // Claim the key first: a concurrent request with it blocks here until this
            // transaction ends, then fails on the primary key and reads our response.
            diesel::insert_into(ik::table)
                .values((
                    ik::subject.eq(w.subject),
                    ik::idem_key.eq(idem.key),
                    ik::request_hash.eq(idem.request_hash),
                    ik::status_code.eq(0),
                    ik::response.eq(""),
                    ik::resource_id.eq(""),
                    ik::created_at.eq(w.now),
                ))
                .execute(conn)?;
        }
        let (record, id, body) = work(conn)?;
        if let Some(idem) = &idem {
            diesel::update(ik::table.find((w.subject, idem.key)))
                .set((
                    ik::status_code.eq(i32::from(status)),
                    ik::response.eq(&body),
                    ik::resource_id.eq(&id),
                ))
                .execute(conn)?;
        }
        Ok(Created::New {
            record: Box::new(record),
            id,
            body,
        })
    });
    match (attempt, idem) {
        (
            Err(WriteError::Db(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _))),
            Some(idem),
        ) => {
            // Another request with the same key committed first: answer with its response.
            stored_response(conn, w.subject, &idem)?.ok_or_else(|| {
                WriteError::Conflict("a request with this Idempotency-Key is in progress".into())
            })
        }
        (other, _) => other,
    }
}
