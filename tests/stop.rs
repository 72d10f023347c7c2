//! A graceful stop (SIGTERM) with calls up loses nothing: every call is
//! ended as the system, its record and its recording are kept, its agent is
//! told, and everything reaches the database before the process exits.

mod support;

use std::time::Duration;

use support::{Client, DEFAULT_CONFIG, Server};

const CALLS: u32 = 50;

/// Rows of `sprecord` once `n` exist: (tellguid, duration_s, file_name).
fn recording_rows(server: &Server, n: usize) -> Vec<(String, i32, String)> {
    use diesel::prelude::*;
    use spcti::storage::schema::sprecord::dsl::*;
    let path = server.data_dir().join("spcti.db");
    let mut conn = spcti::storage::db::open_sqlite(path.to_str().unwrap()).unwrap();
    let rows: Vec<(String, i32, String)> = sprecord
        .select((tellguid, duration_s, file_name))
        .load(&mut conn)
        .unwrap();
    assert_eq!(rows.len(), n, "{rows:?}");
    rows
}

#[test]
fn sigterm_ends_every_call_and_keeps_its_record_and_recording() {
    let trunks = CALLS + 2;
    let mut server = Server::with_config(
        DEFAULT_CONFIG,
        &[
            ("SPCTI_SIM__TRUNKS", &trunks.to_string()),
            ("SPCTI_SIM__EXTENSIONS", &format!("8001-{}", 8000 + CALLS)),
        ],
    );
    let mut agents: Vec<Client> = (0..CALLS)
        .map(|i| Client::login(&server, &(8001 + i).to_string(), &(1001 + i).to_string()))
        .collect();
    let calls: Vec<(u32, String)> = (0..CALLS)
        .map(|i| server.call(&format!("1390000{i:04}"), "4008001234"))
        .collect();
    for (trunk, _) in &calls {
        server.wait_channel(*trunk, "playing welcome", |c| c["playing"] == "welcome");
    }
    server.advance(2_000);
    // Each agent is offered one call, and answers it.
    for (i, a) in agents.iter_mut().enumerate() {
        a.expect("6003");
        server.act(&format!("/sim/extensions/{}/offhook", 8001 + i), None);
    }
    for a in &mut agents {
        a.expect("6004");
    }
    server.advance(30_000);

    assert!(
        server.terminate(Duration::from_secs(30)),
        "exit 0 within the drain time"
    );
    // Every agent was told the other side is gone.
    for a in &mut agents {
        a.expect("6008");
    }
    // Every call is in the database, ended by the system, with its
    // recording row and a playable recording of the talk.
    let rows = server.call_records(CALLS as usize);
    let recordings = recording_rows(&server, CALLS as usize);
    for (trunk, guid) in &calls {
        let row = rows
            .iter()
            .find(|r| &r.0 == guid)
            .unwrap_or_else(|| panic!("no record of the call on trunk {trunk}"));
        assert_eq!(row.2, "system", "{row:?}");
        let (_, seconds, file) = recordings
            .iter()
            .find(|r| &r.0 == guid)
            .unwrap_or_else(|| panic!("no recording row of {guid}"));
        assert_eq!(*seconds, 30, "{file}");
        let wav = hound::WavReader::open(server.data_dir().join("recordings").join(file))
            .expect("a playable WAV");
        assert_eq!(wav.duration() / wav.spec().sample_rate, 30, "{file}");
    }
}
