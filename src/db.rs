//! Database connection and embedded migrations.

use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::config::{Backend, DatabaseUrl};

/// The SQLite schema (database.md), compiled into the binary.
pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// Why the database could not be reached or migrated.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot open {url}: {message}")]
    Connect { url: String, message: String },
    #[error("migration failed: {0}")]
    Migrate(String),
    #[error("{0} is not supported by this build yet")]
    Unsupported(&'static str),
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
    // WAL lets readers (reports, the admin API) run beside the writer.
    diesel::sql_query("PRAGMA journal_mode = WAL")
        .execute(&mut conn)
        .map_err(|e| connect_err(e.to_string()))?;
    // In WAL mode NORMAL never corrupts the file; a power cut may lose the
    // last transactions, which the spool (storage capability) is there for.
    diesel::sql_query("PRAGMA synchronous = NORMAL")
        .execute(&mut conn)
        .map_err(|e| connect_err(e.to_string()))?;
    diesel::sql_query("PRAGMA busy_timeout = 5000")
        .execute(&mut conn)
        .map_err(|e| connect_err(e.to_string()))?;
    Ok(conn)
}

/// Runs pending migrations; returns the names of those applied.
pub fn migrate(url: &DatabaseUrl) -> Result<Vec<String>, DbError> {
    match url.backend {
        Backend::Sqlite => {
            let path = url.sqlite_path().unwrap_or_default();
            let mut conn = open_sqlite(path)?;
            let applied = conn
                .run_pending_migrations(SQLITE_MIGRATIONS)
                .map_err(|e| DbError::Migrate(e.to_string()))?;
            Ok(applied.iter().map(ToString::to_string).collect())
        }
        Backend::Postgres => Err(DbError::Unsupported("PostgreSQL")),
        Backend::Mysql => Err(DbError::Unsupported("MySQL/MariaDB")),
    }
}
