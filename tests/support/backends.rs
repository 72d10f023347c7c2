//! Databases for the storage tests: a fresh one per test on each backend.
//! SQLite always; PostgreSQL when `SPCTI_TEST_PG_URL` is set; MySQL/MariaDB
//! when `SPCTI_TEST_MYSQL_URL` is set and the `mysql` feature is built. A
//! backend that is skipped says so in one line on standard error.

// Shared by several test binaries, each using a part.
#![allow(dead_code)]

use std::io::Write;
use std::sync::Once;

use spcti::config::{Backend, DatabaseUrl};

/// A database that exists for one test and is dropped after it.
pub struct TestDb {
    pub backend: Backend,
    pub url: String,
    /// For SQLite: keeps the file's directory alive.
    _dir: Option<tempfile::TempDir>,
    admin_url: Option<String>,
    name: String,
}

impl TestDb {
    pub fn url(&self) -> DatabaseUrl {
        self.url.parse().unwrap()
    }

    /// The same server, a port nobody listens on: "connection refused".
    pub fn refused_url(&self) -> String {
        match self.backend {
            Backend::Sqlite => {
                // A path whose parent is a file cannot be opened or created.
                let f = self._dir.as_ref().unwrap().path().join("not-a-dir");
                std::fs::write(&f, b"").unwrap();
                format!("sqlite://{}/spcti.db", f.display())
            }
            Backend::Postgres => format!("postgres://postgres@127.0.0.1:1/{}", self.name),
            Backend::Mysql => format!("mysql://root@127.0.0.1:1/{}", self.name),
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(admin) = &self.admin_url {
            drop_database(self.backend, admin, &self.name);
        }
    }
}

/// A dependency a test needs is missing: under CI (`CI` set) that fails
/// the test, naming it; elsewhere the test is skipped with one line.
pub fn missing(line: &str) {
    assert!(
        std::env::var_os("CI").is_none(),
        "{line} (CI is set: a missing dependency fails the suite)"
    );
    // Written to the process's stderr, past the test harness's capture.
    let _ = writeln!(std::io::stderr(), "{line}");
}

fn skip_once(once: &'static Once, line: &str) {
    if std::env::var_os("CI").is_some() {
        missing(line);
    }
    // Once per process, so the line shows once in `cargo test` output.
    once.call_once(|| missing(line));
}

static PG_SKIP: Once = Once::new();
static MYSQL_SKIP: Once = Once::new();

/// A fresh database on `backend`, or `None` (after one line) when that
/// backend is not configured for tests.
pub fn fresh(backend: Backend) -> Option<TestDb> {
    let name = format!("spcti_t_{}", uuid::Uuid::new_v4().simple());
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}", dir.path().join("spcti.db").display());
            Some(TestDb {
                backend,
                url,
                _dir: Some(dir),
                admin_url: None,
                name,
            })
        }
        Backend::Postgres => {
            let Ok(admin) = std::env::var("SPCTI_TEST_PG_URL") else {
                skip_once(
                    &PG_SKIP,
                    "storage tests: PostgreSQL skipped (set SPCTI_TEST_PG_URL=postgres://postgres@127.0.0.1/test to run them)",
                );
                return None;
            };
            create_database(backend, &admin, &name);
            Some(TestDb {
                backend,
                url: with_database(&admin, &name),
                _dir: None,
                admin_url: Some(admin),
                name,
            })
        }
        Backend::Mysql => {
            let Ok(admin) = std::env::var("SPCTI_TEST_MYSQL_URL") else {
                skip_once(
                    &MYSQL_SKIP,
                    "storage tests: MySQL/MariaDB skipped (set SPCTI_TEST_MYSQL_URL=mysql://root@127.0.0.1/test and build with --features mysql)",
                );
                return None;
            };
            if !cfg!(feature = "mysql") {
                skip_once(
                    &MYSQL_SKIP,
                    "storage tests: MySQL/MariaDB skipped (SPCTI_TEST_MYSQL_URL is set but this build lacks --features mysql)",
                );
                return None;
            }
            create_database(backend, &admin, &name);
            Some(TestDb {
                backend,
                url: with_database(&admin, &name),
                _dir: None,
                admin_url: Some(admin),
                name,
            })
        }
    }
}

/// `url` with its database name replaced.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").unwrap() + 3;
    let base = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

fn create_database(backend: Backend, admin: &str, name: &str) {
    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;
    match backend {
        Backend::Postgres => {
            let mut c = diesel::pg::PgConnection::establish(admin)
                .unwrap_or_else(|e| panic!("SPCTI_TEST_PG_URL={admin}: {e}"));
            c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        }
        #[cfg(feature = "mysql")]
        Backend::Mysql => {
            let mut c = diesel::mysql::MysqlConnection::establish(admin)
                .unwrap_or_else(|e| panic!("SPCTI_TEST_MYSQL_URL={admin}: {e}"));
            c.batch_execute(&format!("CREATE DATABASE {name} CHARACTER SET utf8mb4"))
                .unwrap();
        }
        _ => unreachable!("{backend:?}"),
    }
}

fn drop_database(backend: Backend, admin: &str, name: &str) {
    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;
    match backend {
        Backend::Postgres => {
            if let Ok(mut c) = diesel::pg::PgConnection::establish(admin) {
                let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
        #[cfg(feature = "mysql")]
        Backend::Mysql => {
            if let Ok(mut c) = diesel::mysql::MysqlConnection::establish(admin) {
                let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {name}"));
            }
        }
        _ => {}
    }
}
