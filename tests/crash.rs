//! `kill -9` at random instants around hang-ups: every call whose end an
//! agent was told of (6007) is in the database after a restart, exactly
//! once. The server's database is down (a port nobody listens on) for a
//! third of the runs, so records also wait in the spool across kills.
//!
//! Needs `SPCTI_TEST_PG_URL`; without it the test says so in one line (and
//! fails under CI). The seed of the random instants is printed, and
//! `SPCTI_CRASH_SEED` replays a run.

#[path = "support/backends.rs"]
mod backends;
mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use spcti::config::Backend;
use spcti::storage::db::ReadPool;
use support::{Client, Server};

/// Kills, each after a few calls: bounded, a run takes seconds.
const KILLS: usize = 36;

fn url_of(i: usize, live: &str, down: &str) -> String {
    if i % 3 == 1 { down } else { live }.to_owned()
}

#[test]
fn a_server_killed_around_hang_ups_loses_no_call_it_reported_ended() {
    let Some(db) = backends::fresh(Backend::Postgres) else {
        return;
    };
    let seed = std::env::var("SPCTI_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    eprintln!("crash test seed: {seed} (SPCTI_CRASH_SEED replays it)");
    let mut rng = fastrand::Rng::with_seed(seed);
    let down = db.refused_url();

    // TellGUIDs of calls whose 6007 reached the agent before a kill.
    let mut told: Vec<String> = Vec::new();
    let mut server = Server::with_config(
        support::DEFAULT_CONFIG,
        &[("SPCTI_DATABASE__URL", &url_of(0, &db.url, &down))],
    );
    for i in 0..KILLS {
        let mut agent = Client::login(&server, "8001", "1001");
        for k in 0..rng.usize(0..3) {
            told.push(server.answered_call(&mut agent, "8001", &format!("1380000{i:02}{k}")));
        }
        // The last call's hang-up races the kill.
        let (trunk, guid) = server.call(&format!("1390000{i:02}9"), "4008001234");
        server.through_ivr(trunk);
        agent.expect("6003");
        server.act("/sim/extensions/8001/offhook", None);
        agent.expect("6004");
        server.advance(3_000);
        let onhook = format!("http://{}/sim/extensions/8001/onhook", server.admin);
        let hang_up = std::thread::spawn(move || {
            // The server may be gone before it answers.
            let _ = ureq::post(&onhook).send_empty();
        });
        if rng.u8(0..4) > 0 {
            // The moment the agent hears of the end: the narrowest window
            // between telling and storing.
            agent.expect("6007");
            server.kill();
            told.push(guid);
        } else {
            // Before the hang-up reaches the server, while it is handled,
            // or a little after the agent was told.
            std::thread::sleep(Duration::from_micros(rng.u64(0..4_000)));
            server.kill();
            if agent
                .drain(Duration::from_millis(100))
                .iter()
                .any(|m| m["MsgType"] == "6007")
            {
                told.push(guid);
            }
        }
        let _ = hang_up.join();
        let url = url_of(i + 1, &db.url, &down);
        server = server.kill_and_restart_with(&[("SPCTI_DATABASE__URL", &url)]);
    }
    // Back on the live database, the spools of every run drain into it.
    server.wait_database("up with an empty spool", Duration::from_secs(60), |d| {
        d["state"] == "up" && d["spool_depth"] == 0 && d["spool_unsynced"] == 0
    });
    let deadline = Instant::now() + Duration::from_secs(5);
    let reads = ReadPool::new(&db.url(), 1);
    let rows = loop {
        let rows = reads.all_calls().unwrap();
        let mut count: HashMap<String, usize> = HashMap::new();
        for r in &rows {
            *count.entry(r.tellguid.clone()).or_default() += 1;
        }
        if told.iter().all(|g| count.contains_key(g)) || Instant::now() > deadline {
            break count;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    eprintln!("{} calls told ended, {} stored", told.len(), rows.len());
    for g in &told {
        assert_eq!(
            rows.get(g).copied().unwrap_or(0),
            1,
            "call {g}: the agent got its 6007, then the server was killed (seed {seed})\n{}",
            server.log()
        );
    }
    assert!(
        told.len() >= KILLS / 2,
        "too few calls ended to mean anything: {told:?}"
    );
}
