//! `[sip]`, `[[sip.trunk]]`, `[[sip.seat]]` (../shared/spec/sip.md
//! "Configuration"): the defaults load, a working setup loads, and every
//! bad value is refused naming its key.

use spcti::config::Config;

fn load(text: &str) -> Result<Config, String> {
    Config::from_parts(Some((text, "t.toml")), std::iter::empty()).map_err(|e| e.to_string())
}

#[test]
fn the_defaults_and_a_working_setup_load() {
    let c = Config::defaults();
    assert_eq!(c.sip.bind, "0.0.0.0:5060".parse().unwrap());
    assert_eq!(c.sip.rtp_ports.pairs(), 5_000);
    assert_eq!(
        c.sip.codecs(),
        [
            spcti_actors::sip::sdp::Codec::Pcma,
            spcti_actors::sip::sdp::Codec::Pcmu
        ]
    );
    let c = load(
        r#"
[sip]
seat_passwords = "config"
[[sip.trunk]]
name = "carrier"
peer = "127.0.0.1:5080"
channels = 30
user = "acct"
password = "pw"
[[sip.seat]]
ext = "8001"
password = "secret"
"#,
    )
    .unwrap();
    assert_eq!(
        c.sip.trunk[0].peer_addr(),
        Some("127.0.0.1:5080".parse().unwrap())
    );
    assert_eq!(c.sip.seat[0].password, "secret");
    let over = Config::from_parts(
        None,
        [("SPCTI_SIP__BIND".to_owned(), "127.0.0.1:5070".to_owned())].into_iter(),
    )
    .unwrap();
    assert_eq!(over.sip.bind.port(), 5070);
    // RFC 3261's timers: 500 ms / 4 s / 5 s unless set.
    let t = Config::defaults().sip.timers();
    assert_eq!(t, spcti_actors::sip::transaction::Timers::default());
    let c = load("[sip]\nt1_ms = 250\nt2_ms = 2000\nt4_ms = 2500").unwrap();
    assert_eq!(
        (
            c.sip.timers().t1.as_millis(),
            c.sip.timers().t2.as_millis(),
            c.sip.timers().t4.as_millis()
        ),
        (250, 2000, 2500)
    );
}

#[test]
fn every_bad_value_is_named_by_its_key() {
    for (text, key) in [
        ("[sip]\nbind = \"nowhere\"", "sip.bind"),
        ("[sip]\npublic_addr = \"example.com\"", "sip.public_addr"),
        ("[sip]\nrtp_ports = \"20001-29999\"", "sip.rtp_ports"),
        ("[sip]\nrtp_ports = \"30000-20000\"", "sip.rtp_ports"),
        ("[sip]\nmax_calls = 0", "sip.max_calls"),
        ("[sip]\nt1_ms = 0", "sip.t1_ms"),
        ("[sip]\nt1_ms = 1000\nt2_ms = 500", "sip.t2_ms"),
        ("[sip]\nt4_ms = 100000", "sip.t4_ms"),
        ("[sip]\ncodecs = [\"G729\"]", "sip.codecs[0]"),
        ("[sip]\ncodecs = []", "sip.codecs"),
        ("[sip]\nseat_passwords = \"file\"", "sip.seat_passwords"),
        (
            "[[sip.trunk]]\nname = \"a\"\npeer = \"carrier.example:5060\"\nchannels = 2",
            "sip.trunk[0].peer",
        ),
        (
            "[[sip.trunk]]\nname = \"a\"\npeer = \"127.0.0.1:5060\"\nchannels = 0",
            "sip.trunk[0].channels",
        ),
        (
            "[[sip.trunk]]\nname = \"a\"\npeer = \"127.0.0.1:5060\"\nchannels = 2\nuser = \"u\"",
            "sip.trunk[0].password",
        ),
        (
            "[[sip.seat]]\next = \"8001\"\n[[sip.seat]]\next = \"8001\"",
            "sip.seat[1].ext",
        ),
        (
            "[sip]\nseat_passwords = \"config\"\n[[sip.seat]]\next = \"8001\"",
            "sip.seat[0].password",
        ),
        ("[[sip.seat]]\next = \"8001\"\nsecret = \"x\"", "secret"),
    ] {
        let e = load(text).expect_err(text);
        assert!(e.contains(key), "{text}: {e}");
    }
}
