//! A graceful stop (SIGTERM) with calls up loses nothing: every call is
//! ended as the system, its record and its recording are kept, its agent is
//! told, and everything reaches the database before the process exits.

mod support;

use std::time::Duration;

use support::{Client, Server};

#[test]
fn sigterm_ends_every_call_and_keeps_its_record_and_recording() {
    let mut server = Server::start();
    let mut a = Client::login(&server, "8001", "1001");
    let mut b = Client::login(&server, "8002", "1002");
    let (t1, g1) = server.talking(&mut a, 8001);
    let (t2, g2) = server.talking(&mut b, 8002);
    server.advance(30_000);
    assert!(
        server.terminate(Duration::from_secs(20)),
        "exit 0 within the drain time"
    );
    // The agents were told the other side is gone.
    a.expect("6008");
    b.expect("6008");
    // Both calls are in the database, ended by the system, with their
    // recordings whole.
    let rows = server.call_records(2);
    for (guid, trunk) in [(&g1, t1), (&g2, t2)] {
        let row = rows
            .iter()
            .find(|r| &r.0 == guid)
            .unwrap_or_else(|| panic!("no record of the call on trunk {trunk}: {rows:?}"));
        assert_eq!(row.2, "system", "{row:?}");
        let file = server
            .data_dir()
            .join("recordings")
            .join(row.4.clone().expect("record_file"));
        let wav = hound::WavReader::open(&file).expect("a WAV recording");
        // At least the 30 s both calls talked (the first also heard the
        // second's 2 s through the IVR).
        let seconds = wav.duration() / wav.spec().sample_rate;
        assert!((30..=32).contains(&seconds), "{file:?}: {seconds} s");
    }
}
