//! `spcti serve`: validate the configuration, prepare the data directory and
//! the database, then run the server.

use tracing_subscriber::EnvFilter;

use crate::config::Config;

/// Sets up logging from `RUST_LOG` (default `info`).
pub fn init_logging() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .try_init();
}

/// Runs the server until it is stopped.
pub fn run(config: Config) -> Result<(), String> {
    init_logging();
    std::fs::create_dir_all(&config.server.data_dir).map_err(|e| {
        format!(
            "cannot create server.data_dir {}: {e}",
            config.server.data_dir.display()
        )
    })?;
    match crate::db::migrate(&config.database.url) {
        Ok(applied) => {
            for name in applied {
                tracing::info!(migration = %name, "applied");
            }
        }
        // The server still starts without its database; records are kept
        // until it comes back (the spool, storage issue).
        Err(e) => tracing::error!("database: {e}"),
    }
    tracing::info!(
        agent_udp = %config.agent_udp.bind,
        monitor = %config.monitor.bind,
        admin = %config.admin.bind,
        groups = config.groups.len(),
        extensions = config.sim.extensions.0.len(),
        trunks = config.sim.trunks,
        "configuration valid"
    );
    Ok(())
}
