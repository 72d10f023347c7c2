//! Database connections on three backends, chosen at run time by the URL's
//! scheme, and the embedded migrations of each.
//!
//! The scheme is read here, not by diesel, so a refused connection says
//! "connection refused" and not "invalid URL". Timestamps are stored in UTC.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool};
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use spcti_actors::records::Customer;

use crate::config::{Backend, DatabaseUrl};
use crate::storage::rows::Record;

/// The SQLite schema (migrations/sqlite), compiled into the binary.
pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
/// The PostgreSQL schema.
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");
/// The MySQL/MariaDB schema.
#[cfg(feature = "mysql")]
pub const MYSQL_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/mysql");

/// Why the database could not be used.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot connect to {url}: {message}")]
    Connect { url: String, message: String },
    #[error("migration failed: {0}")]
    Migrate(String),
    #[error("query failed: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("{0} support is not compiled in; rebuild with `--features mysql`")]
    NotCompiled(&'static str),
}

/// A URL with any password replaced, for logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

fn sqlite_pragmas(conn: &mut SqliteConnection) -> QueryResult<()> {
    // WAL lets readers (reports, the admin API) run beside the writer; in WAL
    // mode NORMAL never corrupts the file (a power cut may lose the last
    // transactions, which the spool keeps).
    conn.batch_execute(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;",
    )
}

/// Opens a SQLite database, creating its directory if needed.
pub fn open_sqlite(path: &str) -> Result<SqliteConnection, DbError> {
    let connect_err = |message: String| DbError::Connect {
        url: format!("sqlite://{path}"),
        message,
    };
    if let Some(dir) = std::path::Path::new(path).parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir).map_err(|e| connect_err(e.to_string()))?;
        }
    }
    let mut conn = SqliteConnection::establish(path).map_err(|e| connect_err(e.to_string()))?;
    sqlite_pragmas(&mut conn).map_err(|e| connect_err(e.to_string()))?;
    Ok(conn)
}

/// One connection, whichever the backend.
pub enum Conn {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
    #[cfg(feature = "mysql")]
    Mysql(diesel::mysql::MysqlConnection),
}

fn connect_error(url: &DatabaseUrl, e: impl std::fmt::Display) -> DbError {
    DbError::Connect {
        url: redact(&url.url),
        message: e
            .to_string()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
    }
}

impl Conn {
    /// Connects to `url`.
    pub fn connect(url: &DatabaseUrl) -> Result<Conn, DbError> {
        match url.backend {
            Backend::Sqlite => open_sqlite(url.sqlite_path().unwrap_or_default()).map(Conn::Sqlite),
            Backend::Postgres => PgConnection::establish(&pg_url(&url.url))
                .map(Conn::Postgres)
                .map_err(|e| connect_error(url, e)),
            #[cfg(feature = "mysql")]
            Backend::Mysql => diesel::mysql::MysqlConnection::establish(&mysql_url(&url.url))
                .and_then(|mut c| {
                    mysql_session(&mut c)
                        .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
                    Ok(c)
                })
                .map(Conn::Mysql)
                .map_err(|e| connect_error(url, mysql_hint(e.to_string()))),
            #[cfg(not(feature = "mysql"))]
            Backend::Mysql => Err(DbError::NotCompiled("MySQL/MariaDB")),
        }
    }

    /// Checks the connection is alive.
    pub fn ping(&mut self) -> Result<(), DbError> {
        match self {
            Conn::Sqlite(c) => c.batch_execute("SELECT 1"),
            Conn::Postgres(c) => c.batch_execute("SELECT 1"),
            #[cfg(feature = "mysql")]
            Conn::Mysql(c) => c.batch_execute("SELECT 1"),
        }
        .map_err(DbError::Query)
    }

    /// Runs pending migrations; returns the names of those applied.
    pub fn migrate(&mut self) -> Result<Vec<String>, DbError> {
        let applied = match self {
            Conn::Sqlite(c) => c
                .run_pending_migrations(SQLITE_MIGRATIONS)
                .map(|v| v.iter().map(ToString::to_string).collect()),
            Conn::Postgres(c) => c
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(|v| v.iter().map(ToString::to_string).collect()),
            #[cfg(feature = "mysql")]
            Conn::Mysql(c) => c
                .run_pending_migrations(MYSQL_MIGRATIONS)
                .map(|v| v.iter().map(ToString::to_string).collect()),
        };
        applied.map_err(|e| DbError::Migrate(e.to_string()))
    }

    /// Writes records in one transaction. A record whose key is already in
    /// its table is skipped: replaying the spool never writes a row twice.
    pub fn write(&mut self, records: &[&Record]) -> Result<(), DbError> {
        use crate::storage::schema::{
            sp_agentregstate, sp_survey, sp_tellrec, spfaxrecord, sprecord,
        };
        // One multi-row INSERT per table: a round trip per table, not per
        // row. Order within a table is kept (ids follow the spool).
        let (mut calls, mut recs, mut states, mut faxes) = (vec![], vec![], vec![], vec![]);
        let mut surveys = vec![];
        for r in records {
            match r {
                Record::Call(r) => calls.push(r),
                Record::Recording(r) => recs.push(r),
                Record::AgentState(r) => states.push(r),
                Record::Fax(r) => faxes.push(r),
                Record::Survey(r) => surveys.push(r),
            }
        }
        // Only a duplicate key is skipped, nothing else: SQLite's and
        // MySQL's INSERT IGNORE would also swallow other refusals.
        macro_rules! insert {
            ($c:expr, $table:ident, $rows:expr, $target:expr) => {
                diesel::insert_into($table::table)
                    .values($rows)
                    .on_conflict($target)
                    .do_nothing()
                    .execute($c)
            };
        }
        macro_rules! insert_all {
            // PostgreSQL, MySQL: the whole slice in one statement.
            ($c:expr, batch, |$t:ident| $target:expr) => {
                $c.transaction(|c| {
                    if !calls.is_empty() {
                        let $t = sp_tellrec::rec_key;
                        insert!(c, sp_tellrec, calls, $target)?;
                    }
                    if !recs.is_empty() {
                        let $t = sprecord::rec_key;
                        insert!(c, sprecord, recs, $target)?;
                    }
                    if !states.is_empty() {
                        let $t = sp_agentregstate::rec_key;
                        insert!(c, sp_agentregstate, states, $target)?;
                    }
                    if !faxes.is_empty() {
                        let $t = spfaxrecord::rec_key;
                        insert!(c, spfaxrecord, faxes, $target)?;
                    }
                    if !surveys.is_empty() {
                        let $t = sp_survey::rec_key;
                        insert!(c, sp_survey, surveys, $target)?;
                    }
                    Ok::<(), diesel::result::Error>(())
                })
            };
            // SQLite (in process, no round trips): row by row, cached statements.
            ($c:expr, rows) => {
                $c.transaction(|c| {
                    for r in calls {
                        insert!(c, sp_tellrec, r, sp_tellrec::rec_key)?;
                    }
                    for r in recs {
                        insert!(c, sprecord, r, sprecord::rec_key)?;
                    }
                    for r in states {
                        insert!(c, sp_agentregstate, r, sp_agentregstate::rec_key)?;
                    }
                    for r in faxes {
                        insert!(c, spfaxrecord, r, spfaxrecord::rec_key)?;
                    }
                    for r in surveys {
                        insert!(c, sp_survey, r, sp_survey::rec_key)?;
                    }
                    Ok::<(), diesel::result::Error>(())
                })
            };
        }
        match self {
            Conn::Sqlite(c) => insert_all!(c, rows)?,
            Conn::Postgres(c) => insert_all!(c, batch, |key| key)?,
            #[cfg(feature = "mysql")]
            Conn::Mysql(c) => insert_all!(c, batch, |_key| diesel::dsl::DuplicatedKeys)?,
        }
        Ok(())
    }
}

/// libpq waits for ever on a host that does not answer; spcti gives up
/// after 5 s (unless the URL says otherwise) and retries later.
fn pg_url(url: &str) -> String {
    if url.contains("connect_timeout=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&connect_timeout=5")
    } else {
        format!("{url}?connect_timeout=5")
    }
}

/// Strict mode: MySQL must refuse, not silently mangle, a value it cannot
/// store (the row then goes to `rejected.jsonl` whole).
#[cfg(feature = "mysql")]
fn mysql_session(c: &mut diesel::mysql::MysqlConnection) -> QueryResult<()> {
    c.batch_execute(
        "SET SESSION sql_mode = CONCAT_WS(',', NULLIF(@@sql_mode, ''), 'STRICT_ALL_TABLES')",
    )
}

/// The MySQL client reports a refused TCP connection by errno only.
#[cfg(feature = "mysql")]
fn mysql_hint(message: String) -> String {
    if message.contains("Can't connect") && (message.contains("(111)") || message.contains("(115)"))
    {
        format!("{message}: connection refused")
    } else {
        message
    }
}

#[cfg(feature = "mysql")]
#[derive(Debug)]
struct MysqlSession;

#[cfg(feature = "mysql")]
impl CustomizeConnection<diesel::mysql::MysqlConnection, diesel::r2d2::Error> for MysqlSession {
    fn on_acquire(
        &self,
        conn: &mut diesel::mysql::MysqlConnection,
    ) -> Result<(), diesel::r2d2::Error> {
        mysql_session(conn).map_err(diesel::r2d2::Error::QueryError)
    }
}

/// diesel knows only `mysql://`; `mariadb://` is accepted as its synonym.
#[cfg(feature = "mysql")]
fn mysql_url(url: &str) -> String {
    url.replacen("mariadb://", "mysql://", 1)
}

/// Runs pending migrations on `url`; returns the names of those applied.
pub fn migrate(url: &DatabaseUrl) -> Result<Vec<String>, DbError> {
    Conn::connect(url)?.migrate()
}

#[derive(Debug)]
struct SqlitePragmas;

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        sqlite_pragmas(conn).map_err(diesel::r2d2::Error::QueryError)
    }
}

/// The screen-pop data of a caller, on whichever connection `$c` is (one
/// query for every backend and for the in-process reads, storage/quick.rs).
macro_rules! customer_query {
    ($c:expr, $phone:expr) => {
        $crate::storage::schema::sp_customer::table
            .filter($crate::storage::schema::sp_customer::phone.eq($phone))
            .select((
                $crate::storage::schema::sp_customer::name,
                $crate::storage::schema::sp_customer::company,
                $crate::storage::schema::sp_customer::address,
                $crate::storage::schema::sp_customer::contact,
            ))
            // Not `.first()`: its `LIMIT ?` is a bound parameter, and the
            // SQLite planner marks the statement for re-preparing whenever
            // that parameter is bound again, so every screen pop parsed
            // and planned this query anew (a fifth of a loaded server's
            // CPU, docs/performance.md). `phone` is unique: at most one row.
            .load::<(String, String, String, String)>($c)
            .map(|rows| {
                rows.into_iter()
                    .next()
                    .map(
                        |(name, company, address, contact)| spcti_actors::records::Customer {
                            name,
                            company,
                            address,
                            contact,
                        },
                    )
            })
    };
}

pub(crate) use customer_query;

/// Pooled connections for reads (screen pops, whitelist, SIP passwords).
#[derive(Clone)]
pub enum ReadPool {
    Sqlite(Pool<ConnectionManager<SqliteConnection>>),
    Postgres(Pool<ConnectionManager<PgConnection>>),
    #[cfg(feature = "mysql")]
    Mysql(Pool<ConnectionManager<diesel::mysql::MysqlConnection>>),
    /// The backend is not compiled in: every read says so.
    Unavailable(&'static str),
}

/// Whether `number` matches a whitelist entry: the exact number, or a
/// prefix ending in `*`.
pub fn whitelist_matches(entry: &str, number: &str) -> bool {
    let entry = entry.trim();
    match entry.strip_suffix('*') {
        Some(prefix) => number.starts_with(prefix),
        None => !entry.is_empty() && entry == number,
    }
}

impl ReadPool {
    /// Builds a pool that connects lazily, so a database that is down at
    /// start does not stop the server.
    pub fn new(url: &DatabaseUrl, size: u32) -> ReadPool {
        fn builder<C: diesel::r2d2::R2D2Connection + 'static>(
            size: u32,
        ) -> diesel::r2d2::Builder<ConnectionManager<C>> {
            // A screen pop waits for its lookup: give up quickly.
            Pool::builder()
                .max_size(size)
                .min_idle(Some(0))
                .connection_timeout(Duration::from_secs(1))
        }
        match url.backend {
            Backend::Sqlite => ReadPool::Sqlite(
                builder(size)
                    .connection_customizer(Box::new(SqlitePragmas))
                    .build_unchecked(ConnectionManager::new(
                        url.sqlite_path().unwrap_or_default(),
                    )),
            ),
            Backend::Postgres => ReadPool::Postgres(
                builder(size).build_unchecked(ConnectionManager::new(pg_url(&url.url))),
            ),
            #[cfg(feature = "mysql")]
            Backend::Mysql => ReadPool::Mysql(
                builder(size)
                    .connection_customizer(Box::new(MysqlSession))
                    .build_unchecked(ConnectionManager::new(mysql_url(&url.url))),
            ),
            #[cfg(not(feature = "mysql"))]
            Backend::Mysql => ReadPool::Unavailable("MySQL/MariaDB"),
        }
    }
}

/// Runs `$body` with a pooled connection `$c` of whichever backend.
macro_rules! with_conn {
    ($pool:expr, |$c:ident| $body:expr) => {
        match $pool {
            $crate::storage::db::ReadPool::Sqlite(p) => {
                let $c = &mut *p.get().map_err(|e| e.to_string())?;
                $body
            }
            $crate::storage::db::ReadPool::Postgres(p) => {
                let $c = &mut *p.get().map_err(|e| e.to_string())?;
                $body
            }
            #[cfg(feature = "mysql")]
            $crate::storage::db::ReadPool::Mysql(p) => {
                let $c = &mut *p.get().map_err(|e| e.to_string())?;
                $body
            }
            $crate::storage::db::ReadPool::Unavailable(what) => {
                return Err($crate::storage::db::DbError::NotCompiled(what).to_string());
            }
        }
    };
}

pub(crate) use with_conn;

impl ReadPool {
    /// The screen-pop data of a caller.
    pub fn customer(&self, phone: &str) -> Result<Option<Customer>, String> {
        with_conn!(self, |c| customer_query!(c, phone)
            .map_err(|e| e.to_string()))
    }

    /// Whether `number` is on the whitelist.
    pub fn whitelisted(&self, number: &str) -> Result<bool, String> {
        use crate::storage::schema::whitelist;
        // The list is short (numbers and prefixes a seat may dial); matching
        // prefixes in SQL would differ between backends.
        let entries: Vec<String> = with_conn!(self, |c| whitelist::table
            .select(whitelist::number)
            .load::<String>(c)
            .map_err(|e| e.to_string())?);
        Ok(entries.iter().any(|e| whitelist_matches(e, number)))
    }

    /// The registration password of a SIP seat.
    pub fn sip_password(&self, reg_num: &str) -> Result<Option<String>, String> {
        use crate::storage::schema::sp_sipregpwd;
        Ok(with_conn!(self, |c| sp_sipregpwd::table
            .filter(sp_sipregpwd::reg_num.eq(reg_num))
            .select(sp_sipregpwd::password)
            // Not `.first()`: see `customer_query` (SQLite re-prepares a
            // bound `LIMIT ?` on every use). `reg_num` is unique.
            .load::<String>(c)
            .map(|rows| rows.into_iter().next())
            .map_err(|e| e.to_string())?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("postgres://app:s3cret@db/calls"),
            "postgres://app:***@db/calls"
        );
        assert_eq!(redact("postgres://app@db/calls"), "postgres://app@db/calls");
        assert_eq!(redact("sqlite://./data/x.db"), "sqlite://./data/x.db");
    }

    #[test]
    fn whitelist_entries_match_exactly_or_by_prefix() {
        assert!(whitelist_matches("13800138000", "13800138000"));
        assert!(!whitelist_matches("13800138000", "1380013800"));
        assert!(whitelist_matches("010*", "01062345678"));
        assert!(!whitelist_matches("010*", "02162345678"));
        assert!(whitelist_matches("*", "anything"));
        assert!(!whitelist_matches("", ""));
    }
}
