//! PostgreSQL outages against the real server: the local PostgreSQL cluster
//! is stopped mid-run and started again. Needs `SPCTI_TEST_PG_URL` naming a
//! local server and `pg_ctlcluster` (Debian's postgresql-common); otherwise
//! each test says in one line that it is skipped.
//!
//! The tests take turns (a lock) and always start the cluster again, even
//! when they fail. Other test binaries must not use PostgreSQL at the same
//! time: `cargo test` runs binaries one after another, and
//! `.config/nextest.toml` puts these tests in a group of their own.

#[path = "support/backends.rs"]
mod backends;
mod support;

use std::collections::HashSet;
use std::io::Write;
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

use backends::TestDb;
use spcti::config::Backend;
use spcti::storage::db::ReadPool;
use support::{Client, Server};

static TURNS: Mutex<()> = Mutex::new(());

/// The local cluster of `SPCTI_TEST_PG_URL`, started again when dropped.
struct Cluster {
    version: String,
}

impl Cluster {
    fn find() -> Option<Cluster> {
        let url = std::env::var("SPCTI_TEST_PG_URL").ok()?;
        let local = ["@127.0.0.1", "@localhost", "@[::1]"]
            .iter()
            .any(|h| url.contains(h));
        let version = std::fs::read_dir("/etc/postgresql")
            .ok()?
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .max()?;
        (local && which("pg_ctlcluster")).then_some(Cluster { version })
    }

    fn ctl(&self, action: &str) -> Result<(), String> {
        let mut cmd = Command::new("pg_ctlcluster");
        cmd.args(["--skip-systemctl-redirect", &self.version, "main", action]);
        if action == "stop" {
            cmd.args(["-m", "fast"]);
        }
        let out = cmd.output().map_err(|e| e.to_string())?;
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        // "already running" / "not running" are the state we want.
        if out.status.success() || said.contains("already running") || said.contains("not running")
        {
            Ok(())
        } else {
            Err(format!("pg_ctlcluster {action}: {said}"))
        }
    }

    fn stop(&self) {
        self.ctl("stop").unwrap();
    }

    fn start(&self) {
        self.ctl("start").unwrap();
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Never leave the machine's PostgreSQL stopped, even after a failure.
        if let Err(e) = self.ctl("start") {
            let _ = writeln!(std::io::stderr(), "could not start PostgreSQL again: {e}");
        }
    }
}

fn which(cmd: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(cmd).is_file()))
}

/// The lock, the cluster and a fresh database, or `None` after one line.
fn setup(test: &str) -> Option<(std::sync::MutexGuard<'static, ()>, Cluster, TestDb)> {
    let turn = TURNS.lock().unwrap_or_else(|e| e.into_inner());
    let Some(cluster) = Cluster::find() else {
        backends::missing(&format!(
            "outage test {test} skipped: needs SPCTI_TEST_PG_URL on a local PostgreSQL and pg_ctlcluster"
        ));
        return None;
    };
    cluster.start();
    let db = backends::fresh(Backend::Postgres)?;
    Some((turn, cluster, db))
}

const WAIT: Duration = Duration::from_secs(60);

/// The TellGUIDs in `sp_tellrec` and `sprecord`, and the keys of the
/// log-in history, each checked to appear once.
fn stored(db: &TestDb) -> (Vec<String>, Vec<String>, usize) {
    let r = ReadPool::new(&db.url(), 1);
    let calls: Vec<String> = r
        .all_calls()
        .unwrap()
        .into_iter()
        .map(|c| c.tellguid)
        .collect();
    let recs: Vec<String> = r
        .all_recordings()
        .unwrap()
        .into_iter()
        .map(|c| c.tellguid)
        .collect();
    let states = r.agent_states().unwrap();
    let keys: HashSet<&str> = states.iter().map(|s| s.rec_key.as_str()).collect();
    assert_eq!(
        keys.len(),
        states.len(),
        "a log-in history row written twice"
    );
    (calls, recs, states.len())
}

fn wait_stored(server: &Server, db: &TestDb, calls: usize) -> (Vec<String>, Vec<String>, usize) {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let s = stored(db);
        if s.0.len() >= calls && s.1.len() >= calls {
            return s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "only {s:?} stored\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A server on `db`; one call stored while PostgreSQL runs, then the
/// cluster stopped and three more calls made. Returns the TellGUIDs in order.
fn calls_across_a_stop(cluster: &Cluster, db: &TestDb) -> (Server, Client, Vec<String>) {
    let server = Server::with_config(support::DEFAULT_CONFIG, &[("SPCTI_DATABASE__URL", &db.url)]);
    let mut agent = Client::login(&server, "8001", "1001");
    let mut guids = vec![server.answered_call(&mut agent, "8001", "13800138000")];
    wait_stored(&server, db, 1);
    cluster.stop();
    for i in 0..3 {
        guids.push(server.answered_call(&mut agent, "8001", &format!("1390000000{i}")));
    }
    (server, agent, guids)
}

#[test]
fn calls_made_while_postgres_is_stopped_arrive_exactly_once() {
    let Some((_turn, cluster, db)) =
        setup("calls_made_while_postgres_is_stopped_arrive_exactly_once")
    else {
        return;
    };
    let (server, _agent, guids) = calls_across_a_stop(&cluster, &db);
    // Each answered call leaves a call record and a recording row.
    let d = server.wait_database("down with the calls spooled", WAIT, |d| {
        d["state"] == "down" && d["spool_depth"].as_u64() >= Some(6)
    });
    assert!(
        d["last_error"].as_str().is_some_and(|e| !e.is_empty()),
        "{d}"
    );
    assert_eq!(
        stored_count_while_down(&db),
        None,
        "PostgreSQL really is stopped"
    );

    cluster.start();
    let d = server.wait_database("up with an empty spool", WAIT, |d| {
        d["state"] == "up" && d["spool_depth"] == 0 && d["spool_unsynced"] == 0
    });
    let (calls, recs, states) = wait_stored(&server, &db, 4);
    assert_eq!(calls, guids, "every call record once, in order");
    assert_eq!(recs, guids, "every recording row once, in order");
    assert_eq!(
        d["written"].as_u64(),
        Some((calls.len() + recs.len() + states) as u64),
        "rows in the database are exactly the records written: {d}"
    );
    assert_eq!(d["rejected"], 0);
    let log = server.log();
    let downs = log.matches("database unavailable").count();
    assert!(
        (1..=2).contains(&downs),
        "one line per state change, not per retry ({downs}):\n{log}"
    );
    assert!(log.contains("database is back"), "{log}");
}

/// Whether a query works; `None` while the server is down.
fn stored_count_while_down(db: &TestDb) -> Option<usize> {
    ReadPool::new(&db.url(), 1)
        .all_calls()
        .ok()
        .map(|c| c.len())
}

#[test]
fn a_server_killed_while_postgres_is_stopped_loses_nothing() {
    let Some((_turn, cluster, db)) =
        setup("a_server_killed_while_postgres_is_stopped_loses_nothing")
    else {
        return;
    };
    let (server, agent, guids) = calls_across_a_stop(&cluster, &db);
    // Once the records are synced to the spool, nothing may be lost.
    server.wait_database("spooled and synced", WAIT, |d| {
        d["spool_depth"].as_u64() >= Some(6) && d["spool_unsynced"] == 0
    });
    drop(agent);
    let server = server.kill_and_restart();
    // Still down: the restarted server replays into a spool that waits.
    server.wait_database("down after the restart", WAIT, |d| d["state"] == "down");
    assert_eq!(stored_count_while_down(&db), None);

    cluster.start();
    server.wait_database("up with an empty spool", WAIT, |d| {
        d["state"] == "up" && d["spool_depth"] == 0
    });
    let (calls, recs, _) = wait_stored(&server, &db, 4);
    assert_eq!(calls, guids, "every call record once, in order");
    assert_eq!(recs, guids, "every recording row once, in order");
    let spool = server.data_dir().join("spool");
    let deadline = std::time::Instant::now() + WAIT;
    while std::fs::read_dir(&spool)
        .unwrap()
        .any(|e| e.unwrap().file_name().to_string_lossy().starts_with("seg-"))
    {
        assert!(std::time::Instant::now() < deadline, "spool never trimmed");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        server.log().contains("replaying the spool"),
        "{}",
        server.log()
    );
}

/// A database that hangs (the customer table locked by another session)
/// costs a screen pop only its customer fields: the call is offered once
/// the lookup's 3 s have passed on the server's clock, without them, and
/// lookups answer again once the lock is gone.
#[test]
fn a_hanging_customer_lookup_pops_the_call_without_customer_fields() {
    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;
    let Some((_turn, _cluster, db)) =
        setup("a_hanging_customer_lookup_pops_the_call_without_customer_fields")
    else {
        return;
    };
    // The server migrates the database before anything is locked.
    let server = Server::with_config(support::DEFAULT_CONFIG, &[("SPCTI_DATABASE__URL", &db.url)]);
    let mut agent = Client::login(&server, "8001", "1001");
    let mut lock = diesel::pg::PgConnection::establish(&db.url).unwrap();
    // (Apart: in one simple query the BEGIN would take the INSERT into the
    // transaction the ROLLBACK below undoes.)
    lock.batch_execute(
        "INSERT INTO sp_customer (phone, name) VALUES ('13800138000', 'Zhang Wei');",
    )
    .unwrap();
    lock.batch_execute("BEGIN; LOCK TABLE sp_customer IN ACCESS EXCLUSIVE MODE;")
        .unwrap();

    let (trunk, guid) = server.call("13800138000", "4008001234");
    server.through_ivr(trunk);
    // The lookup hangs; its 3 s on the server's clock pass.
    server.advance(3_000);
    let pop = agent.expect("6003");
    assert_eq!(pop["TellGUID"], guid);
    assert_eq!(pop["CustName"], "", "no customer fields from a hung lookup");
    server.act("/sim/extensions/8001/offhook", None);
    agent.expect("6004");
    server.act("/sim/extensions/8001/onhook", None);
    agent.expect("6007");
    agent.expect_state("ready");

    lock.batch_execute("ROLLBACK;").unwrap();
    let (trunk, guid) = server.call("13800138000", "4008001234");
    server.through_ivr(trunk);
    let pop = agent.expect("6003");
    assert_eq!(pop["TellGUID"], guid);
    assert_eq!(
        pop["CustName"],
        "Zhang Wei",
        "lookups answer again\n{}",
        server.log()
    );
}
