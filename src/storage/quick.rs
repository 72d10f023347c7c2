//! Screen-pop reads from an embedded SQLite database on the caller's own
//! thread, for the call path (`QuickCustomers`).
//!
//! Going to the store workers costs two thread wake-ups, most of a screen
//! pop's time when the welcome prompt is short (docs/performance.md). A
//! point read of one indexed row in a local WAL file needs no such hop, as
//! long as it can never wait: each thread keeps one connection with
//! `busy_timeout = 0` and `query_only = 1`, so a read that would have to
//! wait for a lock fails at once, and the caller asks the store workers as
//! for a server database. Server databases (network I/O) always go to the
//! workers.
//!
//! On an actor thread, the reads of one turn of its run queue share one
//! read transaction. Each transaction takes and lets go of the WAL's read
//! lock: `fcntl` on the `-shm` file and a mutex every thread's connection
//! shares, three quarters of a read's time when many calls come in at once
//! (docs/performance.md). The transaction ends when the thread has run
//! what was ready (a task queued behind it), or before a read once it is
//! `max_age` old, so a read never sees data older than that, and the read
//! lock is not held while the thread waits for work (a checkpoint can
//! empty the WAL).

use std::cell::RefCell;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;
use spcti_actors::deps::QuickCustomers;
use spcti_actors::records::Customer;

use crate::storage::db::customer_query;

/// How old a shared read transaction may grow: the most a screen pop's
/// customer data can lag behind a commit.
pub const MAX_AGE: Duration = Duration::from_millis(10);

/// Customer reads from the SQLite file at `path`.
pub struct QuickSqlite {
    path: String,
    max_age: Duration,
}

/// A thread's read connection.
struct Quick {
    /// The file it reads.
    path: String,
    conn: SqliteConnection,
    /// When the read transaction open on `conn` began, if one is.
    began: Option<Instant>,
}

thread_local! {
    static CONN: RefCell<Option<Quick>> = const { RefCell::new(None) };
}

impl QuickSqlite {
    pub fn new(path: &str) -> Self {
        QuickSqlite::with_max_age(path, MAX_AGE)
    }

    /// With another bound on how old a shared read may grow.
    pub fn with_max_age(path: &str, max_age: Duration) -> Self {
        QuickSqlite {
            path: path.to_owned(),
            max_age,
        }
    }

    fn open(&self) -> Option<Quick> {
        // Only an existing file: opening must not create an empty one.
        if !std::path::Path::new(&self.path).exists() {
            return None;
        }
        let mut c = SqliteConnection::establish(&self.path).ok()?;
        c.batch_execute("PRAGMA busy_timeout = 0; PRAGMA query_only = 1;")
            .ok()?;
        Some(Quick {
            path: self.path.clone(),
            conn: c,
            began: None,
        })
    }

    /// Whether this thread's connection is inside a shared read.
    #[cfg(test)]
    fn reading() -> bool {
        CONN.with(|cell| cell.borrow().as_ref().is_some_and(|q| q.began.is_some()))
    }
}

impl Quick {
    fn read(&mut self, phone: &str, max_age: Duration) -> QueryResult<Option<Customer>> {
        if self.began.is_some_and(|t| t.elapsed() >= max_age) {
            self.end()?;
        }
        // Only where a task can end it: a plain thread reads one row a
        // transaction, as SQLite does by itself.
        if self.began.is_none() && actix::Arbiter::try_current().is_some() {
            self.conn.batch_execute("BEGIN")?;
            self.began = Some(Instant::now());
            // Each transaction its own closer, with no flag that a lost
            // closer could leave set: one ending a later transaction early
            // only costs that transaction's sharing.
            actix::spawn(async {
                // Behind what this thread has ready now.
                tokio::task::yield_now().await;
                CONN.with(|cell| {
                    // Never borrowed across an await: a read is synchronous.
                    let Ok(mut slot) = cell.try_borrow_mut() else {
                        return;
                    };
                    if let Some(Err(e)) = slot.as_mut().map(Quick::end) {
                        tracing::debug!("quick customer read: {e}");
                        *slot = None;
                    }
                });
            });
        }
        customer_query!(&mut self.conn, phone)
    }

    /// Ends the shared read, if one is open.
    fn end(&mut self) -> QueryResult<()> {
        if self.began.take().is_some() {
            self.conn.batch_execute("COMMIT")?;
        }
        Ok(())
    }
}

impl QuickCustomers for QuickSqlite {
    fn customer(&self, phone: &str) -> Option<Option<Customer>> {
        CONN.with(|cell| {
            let mut slot = cell.borrow_mut();
            if slot.as_ref().is_none_or(|q| q.path != self.path) {
                *slot = Some(self.open()?);
            }
            let q = slot.as_mut()?;
            match q.read(phone, self.max_age) {
                Ok(c) => Some(c),
                Err(e) => {
                    // Busy, or the file is not what it should be: the store
                    // workers answer (and report) this one; reopen next time
                    // (closing the connection ends its transaction).
                    tracing::debug!("quick customer read failed: {e}");
                    *slot = None;
                    None
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `spcti.db` in a new directory, migrated: the directory, the file.
    fn migrated() -> (tempfile::TempDir, String) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spcti.db").to_str().unwrap().to_owned();
        let url = format!("sqlite://{path}").parse().unwrap();
        crate::storage::db::migrate(&url).unwrap();
        (dir, path)
    }

    #[test]
    fn reads_a_customer_in_process_and_never_creates_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spcti.db");
        let path = path.to_str().unwrap();
        let missing = QuickSqlite::new(path);
        assert_eq!(missing.customer("138"), None, "no file: ask the workers");
        assert!(!std::path::Path::new(path).exists());

        let url = format!("sqlite://{path}").parse().unwrap();
        crate::storage::db::migrate(&url).unwrap();
        let mut c = SqliteConnection::establish(path).unwrap();
        c.batch_execute(
            "INSERT INTO sp_customer (phone, name, company) VALUES ('138', 'Zhang', 'ACME');",
        )
        .unwrap();
        let quick = QuickSqlite::new(path);
        let found = quick.customer("138").expect("answered at once").unwrap();
        assert_eq!(
            (found.name.as_str(), found.company.as_str()),
            ("Zhang", "ACME")
        );
        assert_eq!(quick.customer("139"), Some(None), "an unknown caller");
    }

    /// The screen-pop query is planned once per connection, not once per
    /// caller: SQLite re-prepares a statement on every new binding of a
    /// parameter its plan depends on (a bound `LIMIT ?`, as diesel's
    /// `.first()` writes), which made every pop parse its SQL again. The
    /// SQL diesel prepares is run on a raw connection, bound for three
    /// callers, and SQLite's own count of re-prepares read.
    #[test]
    fn the_screen_pop_query_is_not_prepared_again_for_each_caller() {
        use diesel::connection::{Instrumentation, InstrumentationEvent};
        use libsqlite3_sys as ffi;
        use std::ffi::CString;
        use std::sync::{Arc, Mutex};

        let (_dir, path) = migrated();
        let path = path.as_str();
        let mut c = SqliteConnection::establish(path).unwrap();
        c.batch_execute("INSERT INTO sp_customer (phone, name) VALUES ('139', 'Li');")
            .unwrap();
        let prepared = Arc::new(Mutex::new(Vec::<String>::new()));
        let seen = prepared.clone();
        let watch = move |e: InstrumentationEvent<'_>| {
            if let InstrumentationEvent::CacheQuery { sql, .. } = e {
                seen.lock().unwrap().push(sql.to_owned());
            }
        };
        c.set_instrumentation(Box::new(watch) as Box<dyn Instrumentation>);
        customer_query!(&mut c, "138").unwrap();
        let sql = prepared
            .lock()
            .unwrap()
            .iter()
            .find(|s| s.contains("sp_customer"))
            .cloned()
            .expect("the query went through the statement cache");

        let cpath = CString::new(path).unwrap();
        let csql = CString::new(sql.clone()).unwrap();
        // SAFETY: plain SQLite C API use on handles made and freed here.
        let reprepared = unsafe {
            let mut db = std::ptr::null_mut();
            assert_eq!(ffi::sqlite3_open(cpath.as_ptr(), &mut db), ffi::SQLITE_OK);
            let mut stmt = std::ptr::null_mut();
            let rc = ffi::sqlite3_prepare_v3(
                db,
                csql.as_ptr(),
                -1,
                ffi::SQLITE_PREPARE_PERSISTENT,
                &mut stmt,
                std::ptr::null_mut(),
            );
            assert_eq!(rc, ffi::SQLITE_OK, "{sql}");
            let mut rows = 0;
            for phone in ["138", "139", "140"] {
                ffi::sqlite3_reset(stmt);
                let phone = CString::new(phone).unwrap();
                ffi::sqlite3_bind_text(stmt, 1, phone.as_ptr(), -1, ffi::SQLITE_TRANSIENT());
                // Whatever else the query binds (a LIMIT's 1, say), bound again.
                for i in 2..=ffi::sqlite3_bind_parameter_count(stmt) {
                    ffi::sqlite3_bind_int64(stmt, i, 1);
                }
                while ffi::sqlite3_step(stmt) == ffi::SQLITE_ROW {
                    rows += 1;
                }
            }
            assert_eq!(rows, 1, "one of the three callers is known");
            let n = ffi::sqlite3_stmt_status(stmt, ffi::SQLITE_STMTSTATUS_REPREPARE, 0);
            ffi::sqlite3_finalize(stmt);
            ffi::sqlite3_close(db);
            n
        };
        assert_eq!(reprepared, 0, "re-prepared for each caller: {sql}");
    }

    /// On an actor thread the reads of one turn share a read transaction:
    /// they see one snapshot, the transaction ends once the thread has run
    /// what was ready (a commit made meanwhile is seen next, and a
    /// checkpoint can empty the WAL while the thread waits), and it never
    /// outlives `max_age`.
    #[test]
    fn reads_of_one_turn_share_a_transaction_that_ends_with_the_turn() {
        let (_dir, path) = migrated();
        let path = path.as_str();
        let mut w = SqliteConnection::establish(path).unwrap();
        w.batch_execute(
            "PRAGMA busy_timeout = 0; INSERT INTO sp_customer (phone, name) VALUES ('138', 'Zhang');",
        )
        .unwrap();
        let rename = |w: &mut SqliteConnection, name: &str| {
            w.batch_execute(&format!(
                "UPDATE sp_customer SET name = '{name}' WHERE phone = '138';"
            ))
            .unwrap();
        };
        // What a full checkpoint finds: 1 if a reader holds back the WAL.
        let checkpoint_blocked = |w: &mut SqliteConnection| -> i32 {
            #[derive(QueryableByName)]
            struct Ck {
                #[diesel(sql_type = diesel::sql_types::Integer)]
                busy: i32,
            }
            diesel::sql_query("PRAGMA wal_checkpoint(TRUNCATE)")
                .load::<Ck>(w)
                .unwrap()[0]
                .busy
        };
        let name = |q: &QuickSqlite| q.customer("138").unwrap().unwrap().name;
        actix::System::new().block_on(async {
            let quick = QuickSqlite::new(path);
            assert_eq!(name(&quick), "Zhang");
            assert!(QuickSqlite::reading());
            rename(&mut w, "Li");
            assert_eq!(name(&quick), "Zhang", "the same turn, the same snapshot");
            assert_eq!(checkpoint_blocked(&mut w), 1, "the reader holds the WAL");
            tokio::task::yield_now().await;
            tokio::task::yield_now().await;
            assert!(!QuickSqlite::reading(), "the turn is over");
            assert_eq!(checkpoint_blocked(&mut w), 0, "nothing holds the WAL");
            assert_eq!(name(&quick), "Li", "a new turn sees the commit");

            // A shared read at its age bound ends before the next read.
            let young = QuickSqlite::with_max_age(path, Duration::ZERO);
            tokio::task::yield_now().await;
            tokio::task::yield_now().await;
            assert_eq!(name(&young), "Li");
            rename(&mut w, "Wang");
            assert_eq!(name(&young), "Wang", "too old to share");
        });
        // A thread with no actor runtime keeps no transaction open.
        std::thread::scope(|s| {
            s.spawn(|| {
                let quick = QuickSqlite::new(path);
                assert_eq!(name(&quick), "Wang");
                assert!(!QuickSqlite::reading());
            });
        });
    }

    #[test]
    fn a_locked_database_is_not_waited_for() {
        let (_dir, path) = migrated();
        let path = path.as_str();
        // Out of WAL, an exclusive writer locks readers out.
        let mut w = SqliteConnection::establish(path).unwrap();
        w.batch_execute("PRAGMA journal_mode = DELETE; BEGIN EXCLUSIVE;")
            .unwrap();
        let quick = QuickSqlite::new(path);
        let at = std::time::Instant::now();
        assert_eq!(quick.customer("138"), None, "busy: ask the workers");
        assert!(
            at.elapsed() < std::time::Duration::from_secs(1),
            "no lock wait"
        );
        w.batch_execute("COMMIT;").unwrap();
    }
}
