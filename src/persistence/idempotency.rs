//! `Idempotency-Key` for the writes that create a record: the first request with a key does
//! the write and stores its response in the same transaction; a retry with the same key and
//! request gets that response again, the same key with another request is refused
//! (`KeyRefusal::Reused`). Keys are scoped to the token's subject; they are kept (never
//! purged), so a retry however late replays the first answer.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use super::applications::WriteError;
use super::cached::prepared;
use super::schema::idempotency_keys as ik;
use super::{AnyConnection, write_tx};

/// The key of a create and the SHA-256 of its canonical request.
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

/// Why a request with a key does not write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRefusal {
    /// The key was used before with another request (another body, path or operation).
    Reused,
    /// Another request with the key holds it and has not stored a response.
    InProgress,
}

impl From<KeyRefusal> for WriteError {
    fn from(r: KeyRefusal) -> Self {
        match r {
            KeyRefusal::Reused => WriteError::KeyReused,
            KeyRefusal::InProgress => {
                WriteError::Conflict("a request with this Idempotency-Key is in progress".into())
            }
        }
    }
}

/// The response stored for a key: (request hash, status, body, resource id).
type Stored = (String, i32, String, String);

fn stored(conn: &mut AnyConnection, subject: &str, key: &str) -> QueryResult<Option<Stored>> {
    ik::table
        .find((subject, key))
        .select((
            ik::request_hash,
            ik::status_code,
            ik::response,
            ik::resource_id,
        ))
        .first(conn)
        .optional()
}

/// Whether the key has its answer stored already (a retry that `once` will replay or refuse
/// without running its work): read before work that must not start for a retry.
pub fn answered(conn: &mut AnyConnection, subject: &str, key: &str) -> QueryResult<bool> {
    Ok(stored(conn, subject, key)?.is_some_and(|(_, status, _, _)| status != 0))
}

/// The first response again, if the request is the one it answered.
fn replay<T>(stored: Stored, idem: &Idempotency<'_>) -> Result<Created<T>, KeyRefusal> {
    let (hash, status, body, id) = stored;
    if hash != idem.request_hash {
        return Err(KeyRefusal::Reused);
    }
    Ok(Created::Replay {
        status: u16::try_from(status).unwrap_or(201),
        body,
        id,
    })
}

/// What a create's write returns: the record, its id and the response body.
pub type Written<T, E> = Result<(T, String, String), E>;

/// A create's write, run once per key.
pub type Work<'a, T, E> = dyn FnMut(&mut AnyConnection) -> Written<T, E> + 'a;

/// How a keyed transaction ended without its record.
enum Failed<E> {
    /// The write itself refused or failed.
    Work(E),
    /// Claiming the key failed (a concurrent request with it committed first).
    Claim(DieselError),
    Refused(KeyRefusal),
    Db(DieselError),
}

impl<E> From<DieselError> for Failed<E> {
    fn from(e: DieselError) -> Self {
        Failed::Db(e)
    }
}

/// Runs `work` (which writes the record and returns it with its id and response body) once per
/// key of `subject`, in one transaction with the key's row; `status` is what the response
/// answers. Concurrent requests with one key: the first writes; the others wait on the key's
/// row (PostgreSQL) or the write lock (SQLite) and then get the first response. A write that
/// fails stores nothing, so a retry of it runs again.
pub fn once<T, E>(
    conn: &mut AnyConnection,
    subject: &str,
    now: NaiveDateTime,
    idem: Option<Idempotency<'_>>,
    status: u16,
    work: &mut Work<'_, T, E>,
) -> Result<Created<T>, E>
where
    E: From<DieselError> + From<KeyRefusal>,
{
    let attempt = write_tx(conn, |conn| -> Result<Created<T>, Failed<E>> {
        if let Some(idem) = &idem {
            if let Some(first) = stored(conn, subject, idem.key)? {
                return replay(first, idem).map_err(Failed::Refused);
            }
            // Claim the key first: a concurrent request with it blocks here until this
            // transaction ends, then fails on the primary key and reads our response.
            diesel::insert_into(ik::table)
                .values((
                    ik::subject.eq(subject),
                    ik::idem_key.eq(idem.key),
                    ik::request_hash.eq(idem.request_hash),
                    ik::status_code.eq(0),
                    ik::response.eq(""),
                    ik::resource_id.eq(""),
                    ik::created_at.eq(now),
                ))
                .execute(conn)
                .map_err(Failed::Claim)?;
        }
        let (record, id, body) = work(conn).map_err(Failed::Work)?;
        if let Some(idem) = &idem {
            prepared(diesel::update(ik::table.find((subject, idem.key))).set((
                ik::status_code.eq(i32::from(status)),
                ik::response.eq(&body),
                ik::resource_id.eq(&id),
            )))
            .execute(conn)?;
        }
        Ok(Created::New {
            record: Box::new(record),
            id,
            body,
        })
    });
    match (attempt, idem) {
        (Ok(created), _) => Ok(created),
        (Err(Failed::Work(e)), _) => Err(e),
        (Err(Failed::Refused(r)), _) => Err(r.into()),
        (
            Err(Failed::Claim(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _))),
            Some(idem),
        ) => {
            // Another request with the same key committed first: answer with its response.
            match stored(conn, subject, idem.key)? {
                Some(first) => Ok(replay(first, &idem)?),
                None => Err(KeyRefusal::InProgress.into()),
            }
        }
        (Err(Failed::Claim(e) | Failed::Db(e)), _) => Err(e.into()),
    }
}
