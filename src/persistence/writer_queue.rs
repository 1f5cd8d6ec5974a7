//! SQLite's writers served in the order they came.
//!
//! SQLite lets one transaction write at a time. A writer that finds the lock taken waits in
//! SQLite's busy handler: it sleeps, tries again, sleeps longer (up to 100 ms at a time), and
//! whoever tries the moment the lock is free gets it, whether it came first or last. Under
//! load a writer could lose that race again and again: in the load benchmark one create of
//! 2,939 waited more than 2 s while the median waited 50 ms (docs/benchmarks.md).
//!
//! So the write transactions of this process (`write_tx`) queue for a database file in a
//! first-come-first-served lock before they begin: a writer finishing hands the lock directly
//! to the one that has waited longest (`parking_lot`'s fair unlock), and `BEGIN IMMEDIATE`
//! then finds SQLite's lock free, unless another process writes to the file (the command line
//! while the service runs), for which the busy handler still waits.
//!
//! The queue waits at most as long as the busy handler would (`SQLITE_BUSY_TIMEOUT`) and then
//! answers as SQLite would, "database is locked": a write transaction that waits for another
//! one its own thread holds open (a second connection to the same file) fails after that
//! time, as before, instead of waiting forever. A database in memory has no file and no queue
//! (it has one connection).

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use diesel::result::{DatabaseErrorKind, Error};
use diesel::sql_types::Text;
use diesel::{QueryResult, QueryableByName, RunQueryDsl, SqliteConnection};

use super::SQLITE_BUSY_TIMEOUT;
use super::cached::Cached;

type Lock = parking_lot::Mutex<()>;

/// One lock per database file of the process, created when a file is first written to and
/// kept for the process's life (a few bytes per file).
fn lock_of(file: &str) -> &'static Lock {
    static LOCKS: OnceLock<Mutex<HashMap<String, &'static Lock>>> = OnceLock::new();
    let mut locks = LOCKS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    locks
        .entry(file.to_owned())
        .or_insert_with(|| Box::leak(Box::new(Lock::new(()))))
}

/// A writer's turn at its database file, until it is dropped (then handed to the next
/// writer in line).
#[must_use]
pub struct Turn(Option<parking_lot::MutexGuard<'static, ()>>);

impl Drop for Turn {
    fn drop(&mut self) {
        if let Some(guard) = self.0.take() {
            parking_lot::MutexGuard::unlock_fair(guard);
        }
    }
}

#[derive(QueryableByName)]
struct MainFile {
    #[diesel(sql_type = Text)]
    file: String,
}

/// Waits for the turn of this connection's database file (none for a database in memory).
pub fn take(conn: &mut SqliteConnection) -> QueryResult<Turn> {
    let file = file_of(conn)?;
    wait_turn(&file, SQLITE_BUSY_TIMEOUT)
}

/// The file of the connection's main database; empty for a database in memory.
fn file_of(conn: &mut SqliteConnection) -> QueryResult<String> {
    let main: MainFile = Cached::new(
        "SELECT file FROM pragma_database_list WHERE name = 'main'",
        &[],
    )?
    .get_result(conn)?;
    Ok(main.file)
}

fn wait_turn(file: &str, within: Duration) -> QueryResult<Turn> {
    if file.is_empty() {
        return Ok(Turn(None));
    }
    match lock_of(file).try_lock_for(within) {
        Some(guard) => Ok(Turn(Some(guard))),
        None => Err(Error::DatabaseError(
            DatabaseErrorKind::Unknown,
            Box::new(format!(
                "database is locked (no turn to write within {} ms: another write \
                 transaction of this process held the file)",
                within.as_millis()
            )),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::Connection;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A database file in a directory of its own, removed when dropped.
    struct TempDb(std::path::PathBuf);

    impl Drop for TempDb {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn file_db(name: &str) -> (TempDb, String) {
        let dir =
            std::env::temp_dir().join(format!("fa-writer-queue-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        let path = dir.join("db.sqlite3").display().to_string();
        (TempDb(dir), path)
    }

    #[test]
    fn writers_of_one_file_get_their_turns_in_the_order_they_came() {
        let (_dir, path) = file_db("order");
        let mut first = SqliteConnection::establish(&path).expect("a connection");
        let held = take(&mut first).expect("the first turn");
        let served = Arc::new(Mutex::new(Vec::new()));
        let waiting = Arc::new(AtomicUsize::new(0));
        let mut writers = Vec::new();
        for i in 0..4 {
            let (path, served, queued) = (path.clone(), served.clone(), waiting.clone());
            writers.push(std::thread::spawn(move || {
                let mut c = SqliteConnection::establish(&path).expect("a connection");
                let file = file_of(&mut c).expect("its file");
                queued.fetch_add(1, Ordering::SeqCst);
                let turn = wait_turn(&file, SQLITE_BUSY_TIMEOUT).expect("a turn");
                served.lock().unwrap().push(i);
                std::thread::sleep(Duration::from_millis(5));
                drop(turn);
            }));
            // Each writer queues before the next one starts (the sleep lets it reach the
            // queue from where it counted itself waiting: one call).
            while waiting.load(Ordering::SeqCst) <= i {
                std::thread::yield_now();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(
            served.lock().unwrap().is_empty(),
            "a writer went ahead of the holder"
        );
        drop(held);
        for w in writers {
            w.join().expect("a writer");
        }
        assert_eq!(*served.lock().unwrap(), vec![0, 1, 2, 3]);
    }

    #[test]
    fn another_file_and_a_database_in_memory_do_not_wait() {
        let (_a, path_a) = file_db("a");
        let (_b, path_b) = file_db("b");
        let mut a = SqliteConnection::establish(&path_a).expect("a connection");
        let mut b = SqliteConnection::establish(&path_b).expect("a connection");
        let mut m = SqliteConnection::establish(":memory:").expect("a connection");
        let _held = take(&mut a).expect("a turn at a");
        // Each would fail "database is locked" after the timeout if it waited for `a`.
        let _b = take(&mut b).expect("a turn at b");
        let _m = take(&mut m).expect("a turn in memory");
        assert!(file_of(&mut m).expect("no file").is_empty());
    }

    #[test]
    fn a_turn_not_given_within_the_busy_timeout_is_database_is_locked() {
        let (_dir, path) = file_db("timeout");
        let mut c = SqliteConnection::establish(&path).expect("a connection");
        let file = file_of(&mut c).expect("its file");
        let _held = wait_turn(&file, SQLITE_BUSY_TIMEOUT).expect("a turn");
        // Another writer while this one holds the turn (as a second connection of a thread
        // whose own write transaction is open): it fails when its time is up.
        let e = std::thread::scope(|s| {
            s.spawn(|| wait_turn(&file, Duration::from_millis(100)).err())
                .join()
        })
        .expect("the second writer")
        .expect("no turn");
        assert!(e.to_string().starts_with("database is locked"), "{e}");
    }
}
