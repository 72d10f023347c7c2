//! Calls an agent places (1003) and calls dialed on the seat phone, end to
//! end: the agent's own seat rings first, then the far end is called on a
//! trunk (outside numbers, leading `0`) or at another extension; 9000, 6023,
//! 6009, 6004, 6007/6008 and the call records with their tellmsg.
//! Trunks are channels 0-3; seats 8001-8005 are channels 4-8.

mod support;

use serde_json::{Value, json};
use support::{Client, Server, assert_refused, seat_ch};

fn server() -> Server {
    Server::with_config(
        support::DEFAULT_CONFIG,
        &[("SPCTI_SYS__CALLER_NO", "4008001234")],
    )
}

/// Sends 1003 and checks 9000 comes before 6023; returns the TellGUID.
fn place(a: &mut Client, xml: &str) -> String {
    a.send(&format!(
        "<MsgType>1003</MsgType><TelNum>8001</TelNum>{xml}"
    ));
    let ack = a.expect("9000");
    assert_eq!(ack["Result"], "1", "{ack}");
    assert!(
        !a.pending().iter().any(|m| m["MsgType"] == "6023"),
        "6023 came before the 9000"
    );
    let accepted = a.expect("6023");
    accepted["TellGUID"].as_str().unwrap().to_owned()
}

/// The trunk dialing out: (channel, its view).
fn dialing_trunk(server: &Server) -> (u32, Value) {
    server.wait_channels("a trunk dialing", |all| {
        all.iter()
            .find(|c| c["kind"] == "trunk" && c["state"] == "dialing")
            .map(|t| (t["ch"].as_u64().unwrap() as u32, t.clone()))
    })
}

#[test]
fn an_outside_call_rings_the_seat_first_then_dials_talks_and_is_recorded() {
    let server = server();
    let mut a = Client::login(&server, "8001", "1001");
    let guid = place(
        &mut a,
        "<CalleeNo>013900000000</CalleeNo><RingNo>Customer 42</RingNo>",
    );
    a.expect_state("talking");
    let seat = server.wait_channel(seat_ch(8001), "ringing", |c| c["state"] == "ringing");
    assert_eq!(seat["caller"], "Customer 42");
    // Nothing is dialed before the agent lifts the phone.
    let (_, all) = server.http("GET", "/sim/channels", None);
    assert!(
        all.as_array()
            .unwrap()
            .iter()
            .all(|c| c["kind"] == "seat" || c["state"] == "free")
    );

    server.act("/sim/extensions/8001/offhook", None);
    let (trunk, t) = dialing_trunk(&server);
    assert_eq!(
        (t["caller"].as_str(), t["callee"].as_str()),
        (Some("4008001234"), Some("13900000000"))
    );
    server.act(&format!("/sim/channels/{trunk}/answer"), None);
    let r = a.expect("6009");
    assert_eq!(
        (
            r["AR"].as_str(),
            r["Reason"].as_str(),
            r["TellGUID"].as_str(),
            r["CalleeNo"].as_str()
        ),
        (
            Some("1"),
            Some("16"),
            Some(guid.as_str()),
            Some("013900000000")
        )
    );
    assert_eq!(a.expect("6004")["TellGUID"], guid.as_str());
    server.wait_channel(seat_ch(8001), "linked", |c| c["link"] == trunk);
    assert_eq!(server.channel(trunk)["link"], seat_ch(8001));
    assert!(
        server.channel(seat_ch(8001))["recording"]
            .as_str()
            .unwrap()
            .ends_with(&format!("{guid}.wav"))
    );

    server.advance(20_000);
    server.act("/sim/extensions/8001/onhook", None);
    a.expect("6007");
    a.expect_state("ready");
    server.wait_channel(trunk, "free", |c| c["state"] == "free");
    let rows = server.call_records(1);
    let (g, tellmsg, by, tel, file) = rows[0].clone();
    assert_eq!(
        (g.as_str(), tellmsg, by.as_str(), tel.as_str()),
        (guid.as_str(), 10, "agent", "8001")
    );
    let wav = hound::WavReader::open(server.data_dir().join("recordings").join(file.unwrap()))
        .expect("a WAV recording");
    assert_eq!(wav.duration() / wav.spec().sample_rate, 20);
}

#[test]
fn a_busy_far_end_a_ring_out_and_a_seat_giving_up_each_end_the_call_as_they_should() {
    let server = server();
    let mut a = Client::login(&server, "8001", "1001");
    // Lifted first: dials at once.
    server.act("/sim/extensions/8001/offhook", None);
    let guid = place(&mut a, "<CalleeNo>013900000001</CalleeNo>");
    let (trunk, _) = dialing_trunk(&server);
    server.post(
        &format!("/sim/channels/{trunk}/reject"),
        json!({"cause": 17}),
    );
    let r = a.expect("6009");
    assert_eq!(
        (r["AR"].as_str(), r["Reason"].as_str()),
        (Some("0"), Some("17"))
    );
    a.expect("6008");
    a.expect_state("ready");
    let seat = server.wait_channel(seat_ch(8001), "lifted, hearing nothing", |c| {
        c["state"] == "offhook"
    });
    assert!(seat["link"].is_null());
    let rows = server.call_records(1);
    assert_eq!((rows[0].0.as_str(), rows[0].1), (guid.as_str(), 12));
    server.wait_channel(trunk, "free", |c| c["state"] == "free");

    // Nobody answers for 60 s.
    let _ = place(&mut a, "<CalleeNo>013900000002</CalleeNo>");
    dialing_trunk(&server);
    server.advance(60_000);
    let r = a.expect("6009");
    assert_eq!(
        (r["AR"].as_str(), r["Reason"].as_str()),
        (Some("0"), Some("19"))
    );
    assert_eq!(server.call_records(2)[1].1, 12);

    // The agent gives up while it rings.
    let _ = place(&mut a, "<CalleeNo>013900000003</CalleeNo>");
    let (trunk, _) = dialing_trunk(&server);
    server.act("/sim/extensions/8001/onhook", None);
    assert_eq!(a.expect("6009")["AR"], "0");
    a.expect("6007");
    server.wait_channel(trunk, "free", |c| c["state"] == "free");
    let rows = server.call_records(3);
    assert_eq!((rows[2].1, rows[2].2.as_str()), (14, "agent"));
}

#[test]
fn an_internal_call_rings_the_extension_and_links_the_seats() {
    let server = server();
    let mut a = Client::login(&server, "8001", "1001");
    let mut b = Client::login(&server, "8002", "1002");
    server.act("/sim/extensions/8002/offhook", None);
    place(&mut a, "<CalleeNo>8002</CalleeNo>");
    server.act("/sim/extensions/8001/offhook", None);
    let r = a.expect("6009");
    assert_eq!(
        (r["AR"].as_str(), r["Reason"].as_str()),
        (Some("0"), Some("17")),
        "8002 is off-hook: busy"
    );
    server.act("/sim/extensions/8002/onhook", None);
    server.act("/sim/extensions/8001/onhook", None);
    a.expect_state("ready");

    // The busy extension's agent saw nothing of that call.
    server.idle();
    b.got_no("6003", "the busy extension's agent got a pop");

    let guid = place(&mut a, "<CalleeNo>8002</CalleeNo>");
    server.act("/sim/extensions/8001/offhook", None);
    let far = server.wait_channel(seat_ch(8002), "ringing", |c| c["state"] == "ringing");
    assert_eq!(far["caller"], "8001");
    // The called agent gets the call like any offered call.
    let pop = b.expect("6003");
    assert_eq!(
        (
            pop["TellGUID"].as_str(),
            pop["CallerNo"].as_str(),
            pop["ChNum"].as_str()
        ),
        (
            Some(guid.as_str()),
            Some("8001"),
            Some(seat_ch(8001).to_string().as_str())
        )
    );
    b.expect_state("ringing");
    server.act("/sim/extensions/8002/offhook", None);
    assert_eq!(a.expect("6009")["AR"], "1");
    assert_eq!(b.expect("6004")["TellGUID"], guid.as_str());
    b.expect_state("talking");
    server.wait_channel(seat_ch(8001), "linked", |c| c["link"] == seat_ch(8002));
    assert_eq!(server.channel(seat_ch(8002))["link"], seat_ch(8001));
    server.advance(7_000);
    server.act("/sim/extensions/8002/onhook", None);
    a.expect("6008");
    b.expect("6007");
    b.expect_state("ready");
    // The failed call, 8001 left hearing busy tone (tellmsg 5), 8002's lift
    // that dialed nothing (tellmsg 11), and the internal call.
    let rows = server.call_records(4);
    let internal = rows.iter().find(|r| r.0 == guid).unwrap();
    assert_eq!((internal.1, internal.2.as_str()), (15, "caller"));
    assert!(
        rows.iter()
            .any(|r| r.1 == 11 && r.2 == "agent" && r.3 == "8002"),
        "{rows:?}"
    );
    assert!(rows.iter().any(|r| r.1 == 5 && r.3 == "8001"), "{rows:?}");
}

#[test]
fn a_call_dialed_on_the_phone_goes_out_and_is_logged() {
    let server = server();
    let mut a = Client::login(&server, "8001", "1001");
    server.act("/sim/extensions/8001/offhook", None);
    server.act(
        "/sim/extensions/8001/dial",
        Some(json!({"digits": "013900000000#"})),
    );
    let (trunk, t) = dialing_trunk(&server);
    assert_eq!(t["callee"], "13900000000");
    a.expect_state("talking");
    server.act(&format!("/sim/channels/{trunk}/answer"), None);
    assert_eq!(a.expect("6009")["AR"], "1");
    server.wait_channel(seat_ch(8001), "linked", |c| c["link"] == trunk);
    // The far end hangs up first.
    server.act(&format!("/sim/channels/{trunk}/hangup"), None);
    a.expect("6008");
    let rows = server.call_records(1);
    assert_eq!((rows[0].1, rows[0].2.as_str()), (6, "caller"));
}

#[test]
fn controls_work_on_a_placed_call() {
    let server = server();
    let mut a = Client::login(&server, "8001", "1001");
    let mut sup = Client::login(&server, "8003", "9001");
    server.act("/sim/extensions/8001/offhook", None);
    place(&mut a, "<CalleeNo>013900000000</CalleeNo>");
    let (trunk, _) = dialing_trunk(&server);
    server.act(&format!("/sim/channels/{trunk}/answer"), None);
    a.expect("6004");
    a.request_ok("<MsgType>1016</MsgType><TelNum>8001</TelNum><Mute>1</Mute>");
    server.wait_channel(trunk, "deaf to the seat", |c| c["link"].is_null());
    assert_eq!(server.channel(seat_ch(8001))["link"], trunk);
    a.request_ok("<MsgType>1016</MsgType><TelNum>8001</TelNum><Mute>0</Mute>");
    server.wait_channel(trunk, "hearing the seat", |c| c["link"] == seat_ch(8001));

    sup.request_ok("<MsgType>1022</MsgType><TelNum>8003</TelNum><Target>8001</Target>");
    a.expect("6008");
    server.wait_channel(trunk, "free", |c| c["state"] == "free");
    let rows = server.call_records(1);
    assert_eq!((rows[0].1, rows[0].2.as_str()), (10, "system"));
}

#[test]
fn impossible_calls_are_refused_with_a_reason() {
    let server = Server::with_config(
        support::DEFAULT_CONFIG,
        &[
            ("SPCTI_SYS__WHITELIST_ONLY", "true"),
            ("SPCTI_SIM__TRUNKS", "1"),
        ],
    );
    let mut a = Client::login(&server, "8001", "1001");
    let mut try_call = |callee: &str, extra: &str, why: &str| {
        a.send(&format!(
            "<MsgType>1003</MsgType><TelNum>8001</TelNum><CalleeNo>{callee}</CalleeNo>{extra}"
        ));
        assert_refused(&a.expect("9000"), why);
    };
    try_call("7777", "", "no extension 7777");
    try_call("8001", "", "your own extension");
    try_call("12ab", "", "not a number");
    try_call("0", "", "dials no number");
    try_call("013900000000", "", "not on the whitelist");
    let (status, _) = server.post(
        "/api/whitelist",
        json!({"number": "0139*", "remark": "mobiles"}),
    );
    assert_eq!(status, 201);
    // The one trunk is taken by a caller.
    let (busy_trunk, _) = server.call("13800138000", "4008001234");
    try_call("013900000000", "", "no trunk is free");
    server.act(&format!("/sim/channels/{busy_trunk}/hangup"), None);
    server.wait_channel(busy_trunk, "free", |c| c["state"] == "free");
    place(&mut a, "<CalleeNo>013900000000</CalleeNo>");
    a.send("<MsgType>1003</MsgType><TelNum>8001</TelNum><CalleeNo>8002</CalleeNo>");
    assert_refused(&a.expect("9000"), "already on a call");

    let mut nobody = Client::new(&server);
    nobody.send("<MsgType>1003</MsgType><TelNum>8004</TelNum><CalleeNo>8002</CalleeNo>");
    assert_refused(&nobody.expect("9000"), "not logged in");
}

/// Waits until exactly the channels `want` hear conference `n`.
fn wait_conference(server: &Server, n: u32, want: &[u32]) {
    let conf = format!("conf:{n}");
    server.wait_channels(&format!("conference {n} = {want:?}"), |all| {
        let mut got: Vec<u32> = all
            .iter()
            .filter(|c| c["link"] == conf.as_str())
            .map(|c| c["ch"].as_u64().unwrap() as u32)
            .collect();
        got.sort();
        (got == want).then_some(())
    })
}

#[test]
fn meeting_mode_adds_parties_to_one_conference_and_hallh_hangs_up_everyone() {
    let server = server();
    let mut a = Client::login(&server, "8001", "1001");
    let conf = seat_ch(8001);
    // Conference mode: outside numbers need no leading 0.
    let g1 = place(
        &mut a,
        "<CalleeNo>13900000001</CalleeNo><Meeting>1</Meeting><HALLH>1</HALLH>",
    );
    server.act("/sim/extensions/8001/offhook", None);
    let (t1, t) = dialing_trunk(&server);
    assert_eq!(t["callee"], "13900000001");
    server.act(&format!("/sim/channels/{t1}/answer"), None);
    let r = a.expect("6009");
    assert_eq!(
        (r["AR"].as_str(), r["TellGUID"].as_str()),
        (Some("1"), Some(g1.as_str()))
    );
    a.expect("6004");
    wait_conference(&server, conf, &[t1, conf]);

    // A second party: an extension joins the same conference.
    let g2 = place(
        &mut a,
        "<CalleeNo>8002</CalleeNo><Meeting>1</Meeting><HALLH>1</HALLH>",
    );
    server.wait_channel(seat_ch(8002), "ringing", |c| c["state"] == "ringing");
    server.act("/sim/extensions/8002/offhook", None);
    let r = a.expect("6009");
    assert_eq!(
        (r["AR"].as_str(), r["TellGUID"].as_str()),
        (Some("1"), Some(g2.as_str()))
    );
    wait_conference(&server, conf, &[t1, conf, seat_ch(8002)]);
    a.send("<MsgType>1032</MsgType>");
    let q = a.expect("9032");
    let c = &q["Conferences"][0];
    assert_eq!(
        (c["ConfNo"].as_str(), c["HALLH"].as_str()),
        (Some(conf.to_string().as_str()), Some("1"))
    );
    assert_eq!(c["Member"], json!(["8001", "13900000001", "8002"]));

    server.advance(9_000);
    server.act("/sim/extensions/8001/onhook", None);
    a.expect("6007");
    a.expect_state("ready");
    server.wait_channel(t1, "released", |c| c["state"] == "free");
    let far = server.wait_channel(seat_ch(8002), "hearing nothing", |c| c["link"].is_null());
    assert_eq!(far["state"], "offhook");
    let rows = server.call_records(2);
    let of = |g: &str| rows.iter().find(|r| r.0 == g).unwrap().clone();
    assert_eq!((of(&g1).1, of(&g1).2.as_str()), (10, "agent"));
    assert_eq!((of(&g2).1, of(&g2).2.as_str()), (15, "agent"));
    assert!(of(&g1).4.is_some(), "each leg is recorded");
    wait_conference(&server, conf, &[]);
}

#[test]
fn a_two_party_conference_goes_on_without_the_agent_until_one_party_is_left() {
    let server = server();
    let mut a = Client::login(&server, "8001", "1001");
    let conf = seat_ch(8001);
    a.send("<MsgType>1033</MsgType><TelNum>8001</TelNum><CalleeNo>13900000001</CalleeNo><CalleeNo2>13900000002</CalleeNo2>");
    assert_eq!(a.expect("9000")["Result"], "1");
    let accepted = [a.expect("6023"), a.expect("6023")];
    assert_ne!(accepted[0]["TellGUID"], accepted[1]["TellGUID"]);
    server.wait_channel(seat_ch(8001), "ringing once", |c| c["state"] == "ringing");
    server.act("/sim/extensions/8001/offhook", None);
    let trunks: Vec<u32> = server.wait_channels("both legs dialing", |all| {
        let d: Vec<u32> = all
            .iter()
            .filter(|c| c["state"] == "dialing")
            .map(|c| c["ch"].as_u64().unwrap() as u32)
            .collect();
        (d.len() == 2).then_some(d)
    });
    for t in &trunks {
        server.act(&format!("/sim/channels/{t}/answer"), None);
        assert_eq!(a.expect("6009")["AR"], "1");
    }
    wait_conference(&server, conf, &[trunks[0], trunks[1], conf]);

    // The agent leaves (HALLH 0): the two parties talk on.
    server.act("/sim/extensions/8001/onhook", None);
    a.expect("6007");
    wait_conference(&server, conf, &[trunks[0], trunks[1]]);
    // One hangs up: the other, alone, is let go.
    server.act(&format!("/sim/channels/{}/hangup", trunks[0]), None);
    server.wait_channel(trunks[1], "released", |c| c["state"] == "free");
    let rows = server.call_records(2);
    assert!(rows.iter().all(|r| r.1 == 10), "{rows:?}");
    a.send("<MsgType>1032</MsgType>");
    assert_eq!(a.expect("9032")["Conferences"], json!([]));
}

#[test]
fn a_placed_call_is_transferred_to_an_extension_or_taken_back() {
    let server = server();
    let mut a = Client::login(&server, "8001", "1001");
    let mut b = Client::login(&server, "8002", "1002");
    server.act("/sim/extensions/8001/offhook", None);
    let guid = place(&mut a, "<CalleeNo>013900000000</CalleeNo>");
    let (trunk, _) = dialing_trunk(&server);
    server.act(&format!("/sim/channels/{trunk}/answer"), None);
    a.expect("6004");
    server.advance(6_000);

    a.send("<MsgType>1008</MsgType><TelNum>8001</TelNum><TransToTel>8002</TransToTel>");
    let r = a.expect("9030");
    assert_eq!(
        (r["ResultCH"].as_str(), r["TransType"].as_str()),
        (Some(seat_ch(8002).to_string().as_str()), Some("1"))
    );
    a.expect("6007");
    // The customer is the caller for the agent who takes it.
    let pop = b.expect("6003");
    assert_eq!(
        (pop["TellGUID"].as_str(), pop["CallerNo"].as_str()),
        (Some(guid.as_str()), Some("13900000000"))
    );
    server.wait_channel(seat_ch(8002), "ringing", |c| c["state"] == "ringing");
    // 1009: back to 8001 (still lifted).
    a.request_ok("<MsgType>1009</MsgType><TelNum>8001</TelNum>");
    server.wait_channel(trunk, "back at 8001", |c| c["link"] == seat_ch(8001));
    server.wait_channel(seat_ch(8002), "quiet", |c| c["state"] == "free");
    // Again, and this time 8002 answers.
    a.send("<MsgType>1008</MsgType><TelNum>8001</TelNum><TransToTel>8002</TransToTel>");
    a.expect("9030");
    b.expect("6003");
    server.wait_channel(seat_ch(8002), "ringing", |c| c["state"] == "ringing");
    server.act("/sim/extensions/8002/offhook", None);
    assert_eq!(b.expect("6004")["TellGUID"], guid.as_str());
    server.wait_channel(trunk, "linked to 8002", |c| c["link"] == seat_ch(8002));
    server.advance(4_000);
    server.act("/sim/extensions/8002/onhook", None);
    b.expect("6007");
    server.wait_channel(trunk, "released", |c| c["state"] == "free");
    // 8001's placed part, its part after taking it back, and 8002's part.
    let rows = server.call_records(3);
    assert!(rows.iter().all(|r| r.0 == guid), "{rows:?}");
    let by = |tel: &str| rows.iter().filter(|r| r.3 == tel).count();
    assert_eq!((by("8001"), by("8002")), (2, 1), "{rows:?}");
    let last = rows.iter().find(|r| r.3 == "8002").unwrap();
    assert_eq!((last.1, last.2.as_str()), (10, "agent"));
    assert!(rows.iter().all(|r| r.4.is_some()), "every part recorded");
    assert!(
        rows.iter().all(|r| r.1 == 10),
        "an outbound call throughout: {rows:?}"
    );

    // Not on a call any more: the transfer fails (9030, ResultCH -1).
    a.send("<MsgType>1008</MsgType><TelNum>8001</TelNum><TransToTel>8003</TransToTel>");
    let r = a.expect("9030");
    assert_eq!(r["ResultCH"], "-1", "{r}");
    assert!(
        r["ResultSTR"].as_str().unwrap().contains("not on a call"),
        "{r}"
    );
}

/// The manual: after placing a call an agent queues behind the agents of
/// the same priority who were idle meanwhile, as after answering one.
#[test]
fn after_placing_a_call_an_agent_queues_last() {
    let server = server();
    let mut a = Client::login(&server, "8001", "1001");
    server.advance(10_000);
    let mut b = Client::login(&server, "8002", "1002");
    server.advance(10_000);
    // 8001 has been idle longest; it places a call, which is answered.
    place(&mut a, "<CalleeNo>013900000000</CalleeNo>");
    server.act("/sim/extensions/8001/offhook", None);
    let (trunk, _) = dialing_trunk(&server);
    server.act(&format!("/sim/channels/{trunk}/answer"), None);
    a.expect("6004");
    server.advance(5_000);
    server.act("/sim/extensions/8001/onhook", None);
    a.expect("6007");
    a.expect_state("ready");
    server.wait_channel(trunk, "free", |c| c["state"] == "free");
    // The next caller rings 8002, then the one after rings 8001.
    let (t1, _) = server.call("1", "400");
    server.through_ivr(t1);
    server.wait_channel(seat_ch(8002), "ringing", |c| c["state"] == "ringing");
    assert_eq!(b.expect("6003")["ChNum"], t1.to_string());
    let (t2, _) = server.call("2", "400");
    server.through_ivr(t2);
    server.wait_channel(seat_ch(8001), "ringing", |c| c["state"] == "ringing");
    assert_eq!(a.expect("6003")["ChNum"], t2.to_string());
}

/// Windows clients: a TellGUID in the braced form their GUID-to-string
/// gives is taken and normalised; a GBK datagram sent to a UTF-8 server is
/// refused with a reason that says so.
#[test]
fn windows_clients_braced_guids_and_gbk_on_a_utf8_server() {
    let server = server();
    let mut a = Client::login(&server, "8001", "1001");
    let guid = place(
        &mut a,
        "<CalleeNo>02112345678</CalleeNo><TellGUID>{769194c3-423c-40e7-8e23-7ba83900dbfb}</TellGUID>",
    );
    assert_eq!(guid, "769194C3-423C-40E7-8E23-7BA83900DBFB");
    // Half a brace is not a GUID.
    a.send("<MsgType>1003</MsgType><TelNum>8001</TelNum><CalleeNo>02112345678</CalleeNo><TellGUID>{769194C3-423C-40E7-8E23-7BA83900DBFB</TellGUID>");
    support::assert_refused(&a.expect("9000"), "TellGUID");

    let (gbk, _, _) = encoding_rs::GBK
        .encode("<MsgType>1002</MsgType><TelNum>8001</TelNum><ShowState>午休</ShowState>");
    a.send_bytes(&gbk);
    support::assert_refused(&a.expect("9000"), "is valid GBK: the sender uses GBK");
}
