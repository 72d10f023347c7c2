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

use std::cell::RefCell;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;
use spcti_actors::deps::QuickCustomers;
use spcti_actors::records::Customer;

use crate::storage::db::customer_query;

/// Customer reads from the SQLite file at `path`.
pub struct QuickSqlite {
    path: String,
}

thread_local! {
    /// This thread's read connection, and the file it reads.
    static CONN: RefCell<Option<(String, SqliteConnection)>> = const { RefCell::new(None) };
}

impl QuickSqlite {
    pub fn new(path: &str) -> Self {
        QuickSqlite {
            path: path.to_owned(),
        }
    }

    fn open(&self) -> Option<SqliteConnection> {
        // Only an existing file: opening must not create an empty one.
        if !std::path::Path::new(&self.path).exists() {
            return None;
        }
        let mut c = SqliteConnection::establish(&self.path).ok()?;
        c.batch_execute("PRAGMA busy_timeout = 0; PRAGMA query_only = 1;")
            .ok()?;
        Some(c)
    }
}

impl QuickCustomers for QuickSqlite {
    fn customer(&self, phone: &str) -> Option<Option<Customer>> {
        CONN.with(|cell| {
            let mut slot = cell.borrow_mut();
            if slot.as_ref().is_none_or(|(p, _)| *p != self.path) {
                *slot = Some((self.path.clone(), self.open()?));
            }
            let (_, conn) = slot.as_mut()?;
            match customer_query!(conn, phone) {
                Ok(c) => Some(c),
                Err(e) => {
                    // Busy, or the file is not what it should be: the store
                    // workers answer (and report) this one; reopen next time.
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

    #[test]
    fn a_locked_database_is_not_waited_for() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spcti.db");
        let path = path.to_str().unwrap();
        let url = format!("sqlite://{path}").parse().unwrap();
        crate::storage::db::migrate(&url).unwrap();
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
