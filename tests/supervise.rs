//! Supervisors end to end: 1019 listen and 1020 barge in (a conference of
//! the caller, the agent and the supervisor, numbered after the trunk —
//! or, on a call an agent placed, after the placing seat), 1021 take over,
//! 1032 conference queries; the supervisor's seat rings first when it is
//! on-hook. Trunks are channels 0-3; seats 8001-8005 are channels 4-8.

mod support;

use serde_json::Value;
use support::{Client, Server, assert_refused, seat_ch};

/// 8001 talking on an inbound call, and a supervisor at 8003 (busy, so it
/// takes no queue calls): (agent, supervisor, trunk, guid).
fn supervised_floor(server: &Server) -> (Client, Client, u32, String) {
    let mut a = Client::login(server, "8001", "1001");
    let mut s = Client::login(server, "8003", "9001");
    s.request_ok("<MsgType>1002</MsgType><TelNum>8003</TelNum><ShowState>supervising</ShowState>");
    let (trunk, guid) = server.talking(&mut a, 8001);
    (a, s, trunk, guid)
}

fn conferences(c: &mut Client) -> Value {
    c.send("<MsgType>1032</MsgType>");
    c.expect("9032")["Conferences"].clone()
}

fn members(conf: &Value) -> Vec<String> {
    match &conf["Member"] {
        Value::Array(a) => a.iter().map(|m| m.as_str().unwrap().to_owned()).collect(),
        Value::String(s) => vec![s.clone()],
        _ => vec![],
    }
}

#[test]
fn a_lifted_supervisor_listens_then_leaves_and_the_call_goes_on() {
    let server = Server::start();
    let (_a, mut s, trunk, guid) = supervised_floor(&server);
    server.act("/sim/extensions/8003/offhook", None);
    s.request_ok("<MsgType>1019</MsgType><TelNum>8003</TelNum><Target>8001</Target>");
    assert_eq!(s.expect("6004")["TellGUID"], guid.as_str());
    s.expect_state("talking");
    let conf = format!("conf:{trunk}");
    for ch in [trunk, seat_ch(8001), seat_ch(8003)] {
        server.wait_channel(ch, "in the conference", |c| c["link"] == conf.as_str());
    }
    let confs = conferences(&mut s);
    assert_eq!(confs.as_array().unwrap().len(), 1, "{confs}");
    assert_eq!(confs[0]["ConfNo"], trunk.to_string());
    assert_eq!(confs[0]["HALLH"], "0");
    assert_eq!(members(&confs[0]), ["13800138000", "8001", "8003"]);
    s.send(&format!("<MsgType>1032</MsgType><ConfNo>{trunk}</ConfNo>"));
    assert_eq!(
        s.expect("9032")["Conferences"][0]["ConfNo"],
        trunk.to_string()
    );

    server.act("/sim/extensions/8003/onhook", None);
    s.expect("6007");
    server.wait_channel(trunk, "linked to the agent again", |c| {
        c["link"] == seat_ch(8001)
    });
    assert_eq!(server.channel(seat_ch(8001))["link"], trunk);
    let deadline = std::time::Instant::now() + support::PROMPT;
    while conferences(&mut s)
        .as_array()
        .is_some_and(|a| !a.is_empty())
    {
        assert!(
            std::time::Instant::now() < deadline,
            "conference never closed"
        );
    }
    s.send("<MsgType>1032</MsgType><ConfNo>0</ConfNo>");
    assert_refused(&s.expect("9000"), "no conference 0");
}

#[test]
fn a_barging_supervisor_on_hook_is_rung_first_and_the_call_ends_for_all() {
    let server = Server::start();
    let (mut a, mut s, trunk, guid) = supervised_floor(&server);
    s.request_ok("<MsgType>1020</MsgType><TelNum>8003</TelNum><Target>1001</Target>");
    let ring = server.wait_channel(seat_ch(8003), "ringing", |c| c["state"] == "ringing");
    assert_eq!(ring["caller"], "13800138000");
    server.act("/sim/extensions/8003/offhook", None);
    s.expect("6004");
    let conf = format!("conf:{trunk}");
    server.wait_channel(seat_ch(8003), "in the conference", |c| {
        c["link"] == conf.as_str()
    });
    assert_eq!(members(&conferences(&mut s)[0]).len(), 3);

    server.act(&format!("/sim/channels/{trunk}/hangup"), None);
    a.expect("6008");
    s.expect("6008");
    server.wait_channel(seat_ch(8003), "hearing nothing", |c| c["link"].is_null());
    let rows = server.call_records(1);
    assert_eq!(
        (rows[0].0.as_str(), rows[0].1, rows[0].2.as_str()),
        (guid.as_str(), 9, "caller")
    );
}

#[test]
fn a_supervisor_takes_over_while_listening_or_from_an_idle_phone() {
    let server = Server::start();
    let (mut a, mut s, trunk, guid) = supervised_floor(&server);
    server.act("/sim/extensions/8003/offhook", None);
    s.request_ok("<MsgType>1019</MsgType><TelNum>8003</TelNum><Target>8001</Target>");
    s.expect("6004");
    server.advance(4_000);
    s.request_ok("<MsgType>1021</MsgType><TelNum>8003</TelNum><Target>8001</Target>");
    a.expect("6008");
    server.wait_channel(trunk, "linked to the supervisor", |c| {
        c["link"] == seat_ch(8003)
    });
    let seat_a = server.wait_channel(seat_ch(8001), "cut off", |c| c["link"].is_null());
    assert_eq!(seat_a["state"], "offhook");
    server.advance(6_000);
    server.act("/sim/extensions/8003/onhook", None);
    let rows = server.call_records(2);
    let by_tel = |t: &str| rows.iter().find(|r| r.3 == t).unwrap().clone();
    assert_eq!(by_tel("8001").0, guid);
    assert_eq!((by_tel("8003").1, by_tel("8003").2.as_str()), (9, "agent"));

    // From an idle phone: it rings with a screen pop, then has the call.
    server.act("/sim/extensions/8001/onhook", None);
    a.expect_state("ready");
    let (trunk, guid) = server.call("13900000000", "4008001234");
    server.through_ivr(trunk);
    a.expect("6003");
    server.wait_channel(seat_ch(8001), "ringing", |c| c["state"] == "ringing");
    server.act("/sim/extensions/8001/offhook", None);
    a.expect("6004");
    s.request_ok("<MsgType>1021</MsgType><TelNum>8003</TelNum><Target>8001</Target>");
    assert_eq!(s.expect("6003")["TellGUID"], guid.as_str());
    a.expect("6008");
    server.wait_channel(seat_ch(8003), "ringing", |c| c["state"] == "ringing");
    server.act("/sim/extensions/8003/offhook", None);
    server.wait_channel(trunk, "linked to the supervisor", |c| {
        c["link"] == seat_ch(8003)
    });
}

#[test]
fn impossible_supervision_says_why() {
    let server = Server::start();
    let mut a = Client::login(&server, "8001", "1001");
    let mut s = Client::login(&server, "8003", "9001");
    let mut t = Client::login(&server, "8004", "9002");
    // Supervisors take no queue calls.
    s.request_ok("<MsgType>1002</MsgType><TelNum>8003</TelNum>");
    t.request_ok("<MsgType>1002</MsgType><TelNum>8004</TelNum>");
    for (m, why) in [
        ("1019", "not on a call"),
        ("1020", "not on a call"),
        ("1021", "not on a call"),
    ] {
        s.send(&format!(
            "<MsgType>{m}</MsgType><TelNum>8003</TelNum><Target>8001</Target>"
        ));
        assert_refused(&s.expect("9000"), why);
    }
    s.send("<MsgType>1019</MsgType><TelNum>8003</TelNum><Target>4242</Target>");
    assert_refused(&s.expect("9000"), "no agent 4242");
    let (trunk, _) = server.call("13800138000", "4008001234");
    server.through_ivr(trunk);
    a.expect("6003");
    server.wait_channel(seat_ch(8001), "ringing", |c| c["state"] == "ringing");
    server.act("/sim/extensions/8001/offhook", None);
    a.expect("6004");
    a.send("<MsgType>1019</MsgType><TelNum>8001</TelNum><Target>8001</Target>");
    assert_refused(&a.expect("9000"), "yourself");
    s.request_ok("<MsgType>1019</MsgType><TelNum>8003</TelNum><Target>8001</Target>");
    t.send("<MsgType>1020</MsgType><TelNum>8004</TelNum><Target>8001</Target>");
    assert_refused(&t.expect("9000"), "already on this call");
    t.send("<MsgType>1021</MsgType><TelNum>8004</TelNum><Target>8001</Target>");
    assert_refused(&t.expect("9000"), "another supervisor");
}

/// Escalation on one call without hanging up: listen, barge in, back to
/// listening, then take over (the manual's supervisor).
#[test]
fn a_supervisor_escalates_from_listening_to_barging_and_back_then_takes_over() {
    let server = Server::start();
    let (mut a, mut s, trunk, guid) = supervised_floor(&server);
    server.act("/sim/extensions/8003/offhook", None);
    s.request_ok("<MsgType>1019</MsgType><TelNum>8003</TelNum><Target>8001</Target>");
    assert_eq!(s.expect("6004")["TellGUID"], guid.as_str());
    let conf = format!("conf:{trunk}");
    let sup = server.wait_channel(seat_ch(8003), "listening", |c| c["link"] == conf.as_str());
    assert_eq!(sup["listen_only"], true);
    // Barge in: now heard by both.
    s.request_ok("<MsgType>1020</MsgType><TelNum>8003</TelNum><Target>8001</Target>");
    server.wait_channel(seat_ch(8003), "barged in", |c| {
        c["link"] == conf.as_str() && c["listen_only"] == false
    });
    // And back to listening.
    s.request_ok("<MsgType>1019</MsgType><TelNum>8003</TelNum><Target>8001</Target>");
    server.wait_channel(seat_ch(8003), "listening again", |c| {
        c["link"] == conf.as_str() && c["listen_only"] == true
    });
    // The call never dropped; now the supervisor takes it over.
    assert_eq!(server.channel(trunk)["link"], conf.as_str());
    s.request_ok("<MsgType>1021</MsgType><TelNum>8003</TelNum><Target>8001</Target>");
    server.wait_channel(trunk, "linked to the supervisor", |c| {
        c["link"] == seat_ch(8003)
    });
    a.expect("6008");
}

/// 1019 with `Mode=whisper`: the supervisor hears both sides and is heard
/// by the agent only (coaching); from there it can listen again or barge
/// in, on the same call. A mode that is neither is refused with why.
#[test]
fn a_supervisor_whispers_to_the_agent_then_barges_in() {
    let server = Server::start();
    let (_a, mut s, trunk, guid) = supervised_floor(&server);
    let conf = format!("conf:{trunk}");
    s.send("<MsgType>1019</MsgType><TelNum>8003</TelNum><Target>8001</Target><Mode>shout</Mode>");
    support::assert_refused(
        &s.expect("9000"),
        "Mode \"shout\": expected listen or whisper",
    );
    server.act("/sim/extensions/8003/offhook", None);
    s.request_ok(
        "<MsgType>1019</MsgType><TelNum>8003</TelNum><Target>8001</Target><Mode>whisper</Mode>",
    );
    assert_eq!(s.expect("6004")["TellGUID"], guid.as_str());
    let sup = server.wait_channel(seat_ch(8003), "whispering", |c| c["link"] == conf.as_str());
    // Heard by the agent's seat only; the caller does not hear it.
    assert_eq!(
        (sup["listen_only"].as_bool(), sup["heard_only_by"].as_u64()),
        (Some(false), Some(u64::from(seat_ch(8001))))
    );
    for ch in [trunk, seat_ch(8001)] {
        let c = server.channel(ch);
        assert_eq!(
            (c["link"].as_str(), c["heard_only_by"].is_null()),
            (Some(conf.as_str()), true),
            "{c}"
        );
    }
    // Listening again, then barging in: the whisper is gone each time.
    s.request_ok("<MsgType>1019</MsgType><TelNum>8003</TelNum><Target>8001</Target>");
    server.wait_channel(seat_ch(8003), "listening", |c| {
        c["listen_only"] == true && c["heard_only_by"].is_null()
    });
    s.request_ok(
        "<MsgType>1019</MsgType><TelNum>8003</TelNum><Target>8001</Target><Mode>Whisper</Mode>",
    );
    server.wait_channel(seat_ch(8003), "whispering again", |c| {
        c["listen_only"] == false && c["heard_only_by"] == seat_ch(8001)
    });
    s.request_ok("<MsgType>1020</MsgType><TelNum>8003</TelNum><Target>8001</Target>");
    server.wait_channel(seat_ch(8003), "barged in", |c| {
        c["listen_only"] == false && c["heard_only_by"].is_null()
    });
    assert_eq!(server.channel(trunk)["link"], conf.as_str());
}

/// 8001 talking on a call it placed out on a trunk (answered by the far
/// party), and a supervisor at 8003 kept from queue calls:
/// (agent, supervisor, trunk, guid).
fn placed_floor(server: &Server) -> (Client, Client, u32, String) {
    let mut a = Client::login(server, "8001", "1001");
    let mut s = Client::login(server, "8003", "9001");
    s.request_ok("<MsgType>1002</MsgType><TelNum>8003</TelNum><ShowState>supervising</ShowState>");
    server.act("/sim/extensions/8001/offhook", None);
    a.request_ok("<MsgType>1003</MsgType><TelNum>8001</TelNum><CalleeNo>013900000000</CalleeNo>");
    let trunk = server.wait_channels("a trunk dialing", |all| {
        all.iter()
            .find(|c| c["state"] == "dialing")
            .map(|c| c["ch"].as_u64().unwrap() as u32)
    });
    server.act(&format!("/sim/channels/{trunk}/answer"), None);
    let guid = a.expect("6004")["TellGUID"].as_str().unwrap().to_owned();
    (a, s, trunk, guid)
}

/// A call the agent placed is supervised like an inbound one, in a
/// conference numbered after the agent's seat: listen, whisper, barge in;
/// a mute meanwhile keeps the agent heard by nobody; when the supervisor
/// hangs up the two parties are linked again, the mute kept.
#[test]
fn a_supervisor_listens_whispers_and_barges_in_on_a_call_the_agent_placed() {
    let server = Server::start();
    let (mut a, mut s, trunk, guid) = placed_floor(&server);
    let seat = seat_ch(8001);
    let conf = format!("conf:{seat}");
    server.act("/sim/extensions/8003/offhook", None);
    s.request_ok("<MsgType>1019</MsgType><TelNum>8003</TelNum><Target>8001</Target>");
    assert_eq!(s.expect("6004")["TellGUID"], guid.as_str());
    s.expect_state("talking");
    for ch in [trunk, seat, seat_ch(8003)] {
        server.wait_channel(ch, "in the conference", |c| c["link"] == conf.as_str());
    }
    assert_eq!(server.channel(seat_ch(8003))["listen_only"], true);
    let confs = conferences(&mut s);
    assert_eq!(confs[0]["ConfNo"], seat.to_string(), "{confs}");
    assert_eq!(members(&confs[0]), ["8001", "013900000000", "8003"]);

    // Coaching the agent, then barging in: the same call all along.
    s.request_ok(
        "<MsgType>1019</MsgType><TelNum>8003</TelNum><Target>8001</Target><Mode>whisper</Mode>",
    );
    server.wait_channel(seat_ch(8003), "whispering", |c| {
        c["listen_only"] == false && c["heard_only_by"] == seat
    });
    s.request_ok("<MsgType>1020</MsgType><TelNum>8003</TelNum><Target>8001</Target>");
    server.wait_channel(seat_ch(8003), "barged in", |c| {
        c["listen_only"] == false && c["heard_only_by"].is_null()
    });
    // The agent mutes itself: its place in the conference changes.
    a.request_ok("<MsgType>1016</MsgType><TelNum>8001</TelNum><Mute>1</Mute>");
    server.wait_channel(seat, "muted in the conference", |c| {
        c["link"] == conf.as_str() && c["listen_only"] == true
    });

    server.act("/sim/extensions/8003/onhook", None);
    s.expect("6007");
    // Linked again, one way (the mute holds): the agent hears the party.
    server.wait_channel(seat, "linked to the far party again", |c| {
        c["link"] == trunk
    });
    server.idle();
    assert!(conferences(&mut s).as_array().is_none_or(|a| a.is_empty()));
    a.got_no("6007", "the agent's call goes on");
    a.request_ok("<MsgType>1016</MsgType><TelNum>8001</TelNum><Mute>0</Mute>");
    server.wait_channel(trunk, "talking both ways", |c| c["link"] == seat);

    server.act(&format!("/sim/channels/{trunk}/hangup"), None);
    a.expect("6008");
    let rows = server.call_records(1);
    assert_eq!(rows[0].0, guid);
}

/// The call ending under a supervisor lets it go (6008, its lifted seat
/// hears nothing); a supervisor who is one of the parties is refused.
#[test]
fn a_supervised_call_between_extensions_ends_for_the_supervisor_too() {
    let server = Server::start();
    let mut a = Client::login(&server, "8001", "1001");
    let mut b = Client::login(&server, "8002", "1002");
    let mut s = Client::login(&server, "8003", "9001");
    s.request_ok("<MsgType>1002</MsgType><TelNum>8003</TelNum>");
    server.act("/sim/extensions/8001/offhook", None);
    a.request_ok("<MsgType>1003</MsgType><TelNum>8001</TelNum><CalleeNo>8002</CalleeNo>");
    b.expect("6003");
    server.act("/sim/extensions/8002/offhook", None);
    a.expect("6004");
    b.expect("6004");
    // The called agent is supervised; a whisper reaches its seat only.
    server.act("/sim/extensions/8003/offhook", None);
    s.request_ok(
        "<MsgType>1019</MsgType><TelNum>8003</TelNum><Target>8002</Target><Mode>whisper</Mode>",
    );
    s.expect("6004");
    let conf = format!("conf:{}", seat_ch(8001));
    for ch in [seat_ch(8001), seat_ch(8002)] {
        server.wait_channel(ch, "in the conference", |c| c["link"] == conf.as_str());
    }
    let sup = server.wait_channel(seat_ch(8003), "whispering", |c| c["link"] == conf.as_str());
    assert_eq!(sup["heard_only_by"], seat_ch(8002));
    // Parties cannot supervise their own call; nor can it be taken over.
    b.send("<MsgType>1019</MsgType><TelNum>8002</TelNum><Target>8001</Target>");
    assert_refused(&b.expect("9000"), "your own call");
    s.send("<MsgType>1021</MsgType><TelNum>8003</TelNum><Target>8002</Target>");
    assert_refused(&s.expect("9000"), "between extensions cannot be taken over");

    server.act("/sim/extensions/8002/onhook", None);
    b.expect("6007");
    a.expect("6008");
    s.expect("6008");
    s.expect_state("busy");
    server.wait_channel(seat_ch(8003), "hearing nothing", |c| {
        c["link"].is_null() && c["state"] == "offhook"
    });
}

/// 1021 on a call the agent placed: the agent is cut off (6008) and the
/// supervisor has the far party — connected at once from the conference,
/// or rung with a pop from an idle phone. Each segment is recorded.
#[test]
fn a_supervisor_takes_over_a_call_the_agent_placed() {
    let server = Server::start();
    let (mut a, mut s, trunk, guid) = placed_floor(&server);
    server.act("/sim/extensions/8003/offhook", None);
    s.request_ok("<MsgType>1019</MsgType><TelNum>8003</TelNum><Target>8001</Target>");
    s.expect("6004");
    s.request_ok("<MsgType>1021</MsgType><TelNum>8003</TelNum><Target>8001</Target>");
    a.expect("6008");
    let c = s.expect("6004");
    assert_eq!(
        (c["ChNum"].as_str(), c["TellGUID"].as_str()),
        (Some(trunk.to_string().as_str()), Some(guid.as_str()))
    );
    server.wait_channel(trunk, "linked to the supervisor", |c| {
        c["link"] == seat_ch(8003)
    });
    assert!(server.channel(seat_ch(8001))["link"].is_null());
    server.act(
        "/sim/channels/{trunk}/hangup"
            .replace("{trunk}", &trunk.to_string())
            .as_str(),
        None,
    );
    s.expect("6008");
    let rows = server.call_records(2);
    assert!(rows.iter().all(|r| r.0 == guid), "{rows:?}");
    let files: Vec<_> = rows.iter().map(|r| r.4.clone().unwrap()).collect();
    assert_ne!(files[0], files[1], "one recording per segment");

    // From an idle phone: the supervisor's seat rings with the call's pop.
    let mut b = Client::login(&server, "8002", "1002");
    b.request_ok("<MsgType>1002</MsgType><TelNum>8002</TelNum>");
    server.act("/sim/extensions/8001/onhook", None);
    server.act("/sim/extensions/8003/onhook", None);
    a.expect_state("ready");
    server.act("/sim/extensions/8001/offhook", None);
    a.request_ok("<MsgType>1003</MsgType><TelNum>8001</TelNum><CalleeNo>013900000001</CalleeNo>");
    let trunk = server.wait_channels("a trunk dialing", |all| {
        all.iter()
            .find(|c| c["state"] == "dialing")
            .map(|c| c["ch"].as_u64().unwrap() as u32)
    });
    server.act(&format!("/sim/channels/{trunk}/answer"), None);
    a.expect("6004");
    s.request_ok("<MsgType>1021</MsgType><TelNum>8003</TelNum><Target>8001</Target>");
    a.expect("6008");
    let pop = s.expect("6003");
    assert_eq!(pop["ChNum"], trunk.to_string());
    server.wait_channel(seat_ch(8003), "ringing", |c| c["state"] == "ringing");
    server.act("/sim/extensions/8003/offhook", None);
    s.expect("6004");
    server.wait_channel(trunk, "linked to the supervisor", |c| {
        c["link"] == seat_ch(8003)
    });
}

/// A meeting (1003 `Meeting=1`) is supervised in its own conference: the
/// supervisor joins it and leaves it, and the parties go on.
#[test]
fn a_supervisor_joins_and_leaves_a_meeting() {
    let server = Server::start();
    let mut a = Client::login(&server, "8001", "1001");
    let mut s = Client::login(&server, "8003", "9001");
    s.request_ok("<MsgType>1002</MsgType><TelNum>8003</TelNum>");
    server.act("/sim/extensions/8001/offhook", None);
    a.request_ok(
        "<MsgType>1003</MsgType><TelNum>8001</TelNum><CalleeNo>13900000001</CalleeNo><Meeting>1</Meeting>",
    );
    let trunk = server.wait_channels("a trunk dialing", |all| {
        all.iter()
            .find(|c| c["state"] == "dialing")
            .map(|c| c["ch"].as_u64().unwrap() as u32)
    });
    server.act(&format!("/sim/channels/{trunk}/answer"), None);
    a.expect("6004");
    let conf = format!("conf:{}", seat_ch(8001));
    server.wait_channel(trunk, "in the meeting", |c| c["link"] == conf.as_str());
    server.act("/sim/extensions/8003/offhook", None);
    s.request_ok("<MsgType>1019</MsgType><TelNum>8003</TelNum><Target>8001</Target>");
    s.expect("6004");
    let sup = server.wait_channel(seat_ch(8003), "listening", |c| c["link"] == conf.as_str());
    assert_eq!(sup["listen_only"], true);
    assert_eq!(
        members(&conferences(&mut s)[0]),
        ["8001", "13900000001", "8003"]
    );
    s.send("<MsgType>1021</MsgType><TelNum>8003</TelNum><Target>8001</Target>");
    assert_refused(&s.expect("9000"), "conference call cannot be taken over");
    server.act("/sim/extensions/8003/onhook", None);
    s.expect("6007");
    server.wait_channel(seat_ch(8003), "out of the meeting", |c| c["link"].is_null());
    server.idle();
    assert_eq!(server.channel(trunk)["link"], conf.as_str());
    assert_eq!(members(&conferences(&mut s)[0]), ["8001", "13900000001"]);
    a.got_no("6007", "the meeting goes on");
}

/// The placing seat's actor failing under a supervised call: the call is
/// ended by the system and the supervisor is let go too (6008, its phone
/// hearing nothing), not left talking on a call that no longer exists.
#[test]
fn a_crash_of_the_placing_seat_lets_its_supervisor_go() {
    let server = Server::with_config(
        support::DEFAULT_CONFIG,
        &[("SPCTI_ADMIN__FAULT_INJECTION", "true")],
    );
    let (mut a, mut s, trunk, _) = placed_floor(&server);
    server.act("/sim/extensions/8003/offhook", None);
    s.request_ok("<MsgType>1020</MsgType><TelNum>8003</TelNum><Target>8001</Target>");
    s.expect("6004");
    let conf = format!("conf:{}", seat_ch(8001));
    server.wait_channel(seat_ch(8003), "in the conference", |c| {
        c["link"] == conf.as_str()
    });
    server.act(
        &format!("/api/actors/channel:{}/crash", seat_ch(8001)),
        None,
    );
    a.expect("6008");
    s.expect("6008");
    s.expect_state("busy");
    server.wait_channel(seat_ch(8003), "hearing nothing", |c| c["link"].is_null());
    server.wait_channel(trunk, "released", |c| c["state"] == "free");
    assert!(conferences(&mut s).as_array().is_none_or(|a| a.is_empty()));
}
