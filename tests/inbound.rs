//! Inbound calls end to end: the real server on loopback, agents over UDP,
//! the outside world over `/sim` HTTP, timers advanced on the manual clock.
//! Trunks are channels 0-3; seats 8001-8005 are channels 4-8.

mod support;

use std::time::Duration;

use serde_json::json;
use support::{Client, Server, seat_ch};

#[test]
fn answered_call_pops_links_records_and_logs() {
    let server = Server::start();
    {
        use diesel::prelude::*;
        use spcti::storage::schema::sp_customer::dsl::*;
        let mut conn =
            spcti::storage::db::open_sqlite(server.data_dir().join("spcti.db").to_str().unwrap())
                .unwrap();
        diesel::insert_into(sp_customer)
            .values((
                phone.eq("13800138000"),
                name.eq("Zhang Wei"),
                company.eq("Acme & Co."),
                address.eq("88 Century Ave"),
                contact.eq("Ms. Li"),
            ))
            .execute(&mut conn)
            .unwrap();
    }
    let mut agent = Client::login(&server, "8001", "1001");
    let (trunk, guid) = server.call("13800138000", "4008001234");
    let c = server.wait_channel(trunk, "playing welcome", |c| c["playing"] == "welcome");
    assert_eq!(
        (c["state"].as_str(), c["heard"].clone()),
        (Some("talking"), json!(["welcome"]))
    );
    server.advance(2_000);

    let pop = agent.expect("6003");
    assert_eq!(pop["TelNum"], "8001");
    assert_eq!(pop["ChNum"], trunk.to_string());
    assert_eq!(pop["CallerNo"], "13800138000");
    assert_eq!(pop["CalleeNo"], "4008001234");
    assert_eq!(pop["GroupNo"], "1");
    assert_eq!(pop["TellGUID"], guid);
    assert_eq!(pop["CustName"], "Zhang Wei");
    assert_eq!(pop["CustCompany"], "Acme & Co.");
    assert_eq!(pop["CustContact"], "Ms. Li");
    agent.expect_state("ringing");
    let seat = server.wait_channel(seat_ch(8001), "ringing", |c| c["state"] == "ringing");
    assert_eq!(seat["caller"], "13800138000");

    server.act("/sim/extensions/8001/offhook", None);
    let connected = agent.expect("6004");
    assert_eq!(
        (connected["TellGUID"].as_str(), connected["ChNum"].as_str()),
        (Some(guid.as_str()), Some(trunk.to_string().as_str()))
    );
    agent.expect_state("talking");
    let t = server.wait_channel(trunk, "linked", |c| c["link"] == seat_ch(8001));
    assert!(
        t["recording"]
            .as_str()
            .unwrap()
            .ends_with(&format!("{guid}.wav"))
    );
    assert_eq!(server.channel(seat_ch(8001))["link"], trunk);
    assert_eq!(server.channel(seat_ch(8001))["state"], "talking");

    server.advance(30_000);
    server.act("/sim/extensions/8001/onhook", None);
    assert_eq!(agent.expect("6007")["TelNum"], "8001");
    agent.expect_state("ready");
    let rows = server.call_records(1);
    let (g, tellmsg, by, tel, file) = rows[0].clone();
    assert_eq!(
        (g.as_str(), tellmsg, by.as_str(), tel.as_str()),
        (guid.as_str(), 9, "agent", "8001")
    );
    let file = server
        .data_dir()
        .join("recordings")
        .join(file.expect("record_file"));
    let wav = hound::WavReader::open(&file).expect("a WAV recording");
    assert_eq!(
        wav.duration() / wav.spec().sample_rate,
        30,
        "30 s of talk recorded"
    );
    server.wait_channel(trunk, "free", |c| c["state"] == "free");
}

#[test]
fn caller_hangs_up_first() {
    let server = Server::start();
    let mut agent = Client::login(&server, "8001", "1001");
    let (trunk, guid) = server.call("13900000000", "4008001234");
    server.through_ivr(trunk);
    agent.expect("6003");
    server.act("/sim/extensions/8001/offhook", None);
    agent.expect("6004");
    server.act(&format!("/sim/channels/{trunk}/hangup"), None);
    assert_eq!(agent.expect("6008")["TelNum"], "8001");
    agent.expect_state("ready");
    // The analog seat is still lifted, hearing nothing, until the agent hangs up.
    let seat = server.wait_channel(seat_ch(8001), "off-hook, unlinked", |c| {
        c["state"] == "offhook"
    });
    assert!(seat["link"].is_null());
    let rows = server.call_records(1);
    assert_eq!(
        (rows[0].0.as_str(), rows[0].1, rows[0].2.as_str()),
        (guid.as_str(), 9, "caller")
    );
    server.act("/sim/extensions/8001/onhook", None);
}

const THREE_AGENTS: &str = r#"
[[group]]
no = 1
name = "Service"
strategy = "longest-idle"

[[agent]]
work_no = "1001"
groups = [{ no = 1, priority = 2 }]
[[agent]]
work_no = "1002"
groups = [{ no = 1, priority = 1 }]
[[agent]]
work_no = "1003"
groups = [{ no = 1, priority = 1 }]
"#;

/// Waits until `ext` rings for the call on `trunk` and its client got the pop.
fn rings(server: &Server, client: &mut Client, ext: u32, trunk: u32) {
    server.wait_channel(seat_ch(ext), "ringing", |c| c["state"] == "ringing");
    assert_eq!(client.expect("6003")["ChNum"], trunk.to_string());
}

#[test]
fn priority_first_then_longest_idle_and_back_of_the_line_after_a_call() {
    let server = Server::with_config(THREE_AGENTS, &[]);
    let mut a3 = Client::login(&server, "8003", "1003");
    server.advance(10_000);
    let mut a2 = Client::login(&server, "8002", "1002");
    let mut a1 = Client::login(&server, "8001", "1001");

    // 8003 has been idle longest among priority 1.
    let (t, _) = server.call("1", "400");
    server.through_ivr(t);
    rings(&server, &mut a3, 8003, t);
    server.act("/sim/extensions/8003/offhook", None);
    a3.expect("6004");
    server.act("/sim/extensions/8003/onhook", None);
    a3.expect("6007");
    a3.expect_state("ready");

    // Having answered, 8003 went to the back: 8002 is next.
    let (t, _) = server.call("2", "400");
    server.through_ivr(t);
    rings(&server, &mut a2, 8002, t);
    // 8002 is ringing; the next call goes to 8003 (priority 1) before 8001.
    let (t, _) = server.call("3", "400");
    server.through_ivr(t);
    rings(&server, &mut a3, 8003, t);
    // Only now the priority-2 agent.
    let (t, _) = server.call("4", "400");
    server.through_ivr(t);
    rings(&server, &mut a1, 8001, t);
}

#[test]
fn back_from_busy_an_agent_queues_last() {
    let server = Server::with_config(THREE_AGENTS, &[]);
    let mut a3 = Client::login(&server, "8003", "1003");
    server.advance(10_000);
    let mut a2 = Client::login(&server, "8002", "1002");
    server.advance(10_000);
    // 8003 has waited longest, but leaves the seat and comes back.
    a3.request_ok("<MsgType>1002</MsgType><TelNum>8003</TelNum>");
    a3.expect_state("busy");
    a3.request_ok("<MsgType>1001</MsgType><TelNum>8003</TelNum><WorkNo>1003</WorkNo>");
    a3.expect_state("ready");
    let (t, _) = server.call("1", "400");
    server.through_ivr(t);
    rings(&server, &mut a2, 8002, t);
    let (t, _) = server.call("2", "400");
    server.through_ivr(t);
    rings(&server, &mut a3, 8003, t);
}

#[test]
fn ring_timeout_reoffers_to_the_next_agent_and_noanswerleave_makes_busy() {
    let server = Server::with_config(
        THREE_AGENTS,
        &[
            ("SPCTI_SYS__NOANSWERLEAVE", "true"),
            ("SPCTI_SYS__RING_TIMEOUT_S", "45"),
        ],
    );
    let mut a2 = Client::login(&server, "8002", "1002");
    server.advance(1_000);
    let mut a3 = Client::login(&server, "8003", "1003");
    let (t, guid) = server.call("13700000000", "400");
    server.through_ivr(t);
    rings(&server, &mut a2, 8002, t);

    server.advance(44_000);
    assert_eq!(
        server.channel(seat_ch(8002))["state"],
        "ringing",
        "still within 45 s"
    );
    server.advance(1_000);
    // 8002 let it ring out: busy (noanswerleave), its phone stops.
    let busy = a2.expect_state("busy");
    assert_eq!(busy["ShowState"], "no answer");
    server.wait_channel(seat_ch(8002), "quiet", |c| c["state"] == "free");
    // Re-offered to the next agent, same call.
    server.wait_channel(seat_ch(8003), "ringing", |c| c["state"] == "ringing");
    let pop = a3.expect("6003");
    assert_eq!(pop["TellGUID"], guid);
    assert_eq!(pop["WaitS"], "45");
}

#[test]
fn ring_timeout_without_noanswerleave_keeps_the_agent_ready_and_rings_them_again_when_alone() {
    let server = Server::start();
    let mut a = Client::login(&server, "8001", "1001");
    let (t, _) = server.call("1", "400");
    server.through_ivr(t);
    rings(&server, &mut a, 8001, t);
    server.advance(45_000);
    a.expect_state("ready");
    // Nobody else is free: the same agent is offered the call again.
    rings(&server, &mut a, 8001, t);
}

#[test]
fn a_busy_agent_is_not_offered_calls() {
    let server = Server::with_config(THREE_AGENTS, &[]);
    let mut a2 = Client::login(&server, "8002", "1002");
    a2.request_ok("<MsgType>1002</MsgType><TelNum>8002</TelNum><ShowState>lunch</ShowState>");
    assert_eq!(a2.expect_state("busy")["ShowState"], "lunch");
    server.advance(5_000);
    let mut a3 = Client::login(&server, "8003", "1003");
    let (t, _) = server.call("1", "400");
    server.through_ivr(t);
    rings(&server, &mut a3, 8003, t);
    server.idle();
    assert_eq!(server.channel(seat_ch(8002))["state"], "free");
    a2.got_no("6003", "a busy agent was offered the call");

    // A second call waits: the only other agent is busy.
    let (t2, _) = server.call("2", "400");
    server.through_ivr(t2);
    server.wait_channel(t2, "waiting", |c| {
        c["playing"].is_null() && c["state"] == "talking"
    });
    server.idle();
    assert_eq!(server.channel(seat_ch(8002))["state"], "free");
    a2.got_no("6003", "a busy agent was offered the waiting call");
    // Ready again: the waiting call comes at once, ShowState cleared with NULL.
    a2.request_ok("<MsgType>1001</MsgType><TelNum>8002</TelNum><ShowState>NULL</ShowState>");
    assert_eq!(a2.expect_state("ready")["ShowState"], "");
    rings(&server, &mut a2, 8002, t2);
}

#[test]
fn abandoned_calls_are_logged_with_their_tellmsg() {
    let server = Server::start();
    // 7: hung up in the IVR.
    let (t, g7) = server.call("1", "400");
    server.wait_channel(t, "playing", |c| c["playing"] == "welcome");
    server.act(&format!("/sim/channels/{t}/hangup"), None);
    server.call_records(1);
    // 13: hung up while queued (nobody logged in).
    let (t, g13) = server.call("2", "400");
    server.through_ivr(t);
    server.wait_channel(t, "queued", |c| c["playing"].is_null());
    server.advance(20_000);
    server.act(&format!("/sim/channels/{t}/hangup"), None);
    server.call_records(2);
    // 8: hung up while a seat rang.
    let mut a = Client::login(&server, "8001", "1001");
    let (t, g8) = server.call("3", "400");
    server.through_ivr(t);
    rings(&server, &mut a, 8001, t);
    server.act(&format!("/sim/channels/{t}/hangup"), None);
    a.expect_state("ready");
    server.wait_channel(seat_ch(8001), "quiet", |c| c["state"] == "free");
    let rows = server.call_records(3);
    let got: Vec<(String, i32, String)> = rows.into_iter().map(|r| (r.0, r.1, r.2)).collect();
    assert_eq!(
        got,
        vec![
            (g7, 7, "caller".into()),
            (g13, 13, "caller".into()),
            (g8, 8, "caller".into())
        ]
    );
}

#[test]
fn bad_datagrams_get_9000_and_the_server_keeps_working() {
    let server = Server::start();
    // Logged in: requests not built yet say so (to anyone else, "log in").
    let mut c = Client::operator(&server, "8005", "9005");
    let cases: &[(&[u8], &str, &str)] = &[
        (b"garbage", "0", "text outside any element"),
        (b"<MsgType>1001</MsgType>", "1001", "missing TelNum"),
        (
            b"<MsgType>1001</MsgType><TelNum>8001",
            "0",
            "<TelNum> is not closed",
        ),
        (
            b"<MsgType>1234</MsgType><TelNum>8001</TelNum>",
            "1234",
            "unknown MsgType 1234",
        ),
        (
            b"<MsgType>1002</MsgType><TelNum>8001</TelNum>",
            "1002",
            "8001 is not logged in",
        ),
        (
            b"<MsgType>1001</MsgType><TelNum>9999</TelNum>",
            "1001",
            "9999 is not a seat extension",
        ),
        (
            b"<MsgType>1001</MsgType><TelNum>8001</TelNum><GroupNo>7</GroupNo>",
            "1001",
            "no group 7",
        ),
        (
            b"<MsgType>1009</MsgType><TelNum>8001</TelNum>",
            "1009",
            "8001 is not logged in",
        ),
        (
            b"<MsgType>1005</MsgType><TelNum>8001</TelNum><Flow>sales</Flow>",
            "1005",
            "no flow `sales`",
        ),
        (
            b"<MsgType>1029</MsgType><Flow>sales</Flow>",
            "1029",
            "no flow `sales`",
        ),
        (
            b"<MsgType>1028</MsgType><TimerNo>1</TimerNo><OnOff>on</OnOff><Period>1000</Period><Flow>t</Flow>",
            "1028",
            "no flow `t`",
        ),
        (
            b"<MsgType>1024</MsgType><TelNum>8005</TelNum><CalleeNo>02150001234</CalleeNo><FileName>a.tif</FileName>",
            "1024",
            "not supported yet: fax is not built yet",
        ),
        (
            b"<MsgType>6003</MsgType><TelNum>8001</TelNum>",
            "6003",
            "missing ChNum",
        ),
        (
            b"<MsgType>6007</MsgType><TelNum>8001</TelNum>",
            "6007",
            "MsgType 6007 is sent by the server, not to it",
        ),
        (
            b"<MsgType>4860</MsgType><TelNum>8001</TelNum><CalleeNo>1</CalleeNo>",
            "4860",
            "IP-seat requests (4860-4869) are not taken here, and the IP-seat link is not built yet",
        ),
    ];
    for (input, req, why) in cases {
        c.send_bytes(input);
        let r = c.expect("9000");
        assert_eq!(
            (
                r["Req"].as_str(),
                r["Result"].as_str(),
                r["ResultSTR"].as_str()
            ),
            (Some(*req), Some("0"), Some(*why)),
            "{}",
            String::from_utf8_lossy(input)
        );
    }
    // A transfer refused is a 9030 with ResultCH -1 and why.
    c.send("<MsgType>1008</MsgType><TelNum>8001</TelNum><TransToTel>8002</TransToTel>");
    let r = c.expect("9030");
    assert_eq!(
        (r["ResultCH"].as_str(), r["ResultSTR"].as_str()),
        (Some("-1"), Some("8001 is not logged in"))
    );
    // Too large, and Seq echoed on a refusal.
    c.send(&format!(
        "<MsgType>1026</MsgType><Data>{}</Data>",
        "x".repeat(9000)
    ));
    assert!(
        c.expect("9000")["ResultSTR"]
            .as_str()
            .unwrap()
            .contains("8 KiB")
    );
    c.send("<MsgType>1099</MsgType><Seq>abc-1</Seq>");
    let r = c.expect("9000");
    assert_eq!(
        (r["Seq"].as_str(), r["ResultSTR"].as_str()),
        (Some("abc-1"), Some("missing TelNum"))
    );
    // Still serving: a login works and a call reaches the agent.
    let mut a = Client::login(&server, "8001", "1001");
    a.send("<MsgType>1099</MsgType><TelNum>8001</TelNum><Seq>7</Seq>");
    let hb = a.expect("9099");
    assert_eq!(
        (hb["AgentState"].as_str(), hb["Seq"].as_str()),
        (Some("ready"), Some("7"))
    );
    let (t, _) = server.call("1", "400");
    server.through_ivr(t);
    rings(&server, &mut a, 8001, t);
}

#[test]
fn star_nine_on_the_phone_logs_out() {
    let server = Server::start();
    let mut a = Client::login(&server, "8001", "1001");
    server.act("/sim/extensions/8001/offhook", None);
    server.act("/sim/extensions/8001/dial", Some(json!({"digits": "*9"})));
    a.expect_state("offline");
    server.act("/sim/extensions/8001/onhook", None);
    a.send("<MsgType>1099</MsgType><TelNum>8001</TelNum>");
    assert_eq!(a.expect("9099")["AgentState"], "offline");
    // Offline agents get no calls.
    let (t, _) = server.call("1", "400");
    server.through_ivr(t);
    server.wait_channel(t, "queued", |c| c["playing"].is_null());
    server.idle();
    assert_eq!(server.channel(seat_ch(8001))["state"], "free");
    a.got_no("6003", "an agent logged out by *9 was offered a call");
}

#[test]
fn star_nine_is_ignored_when_phone_logout_is_off() {
    let server = Server::with_config(
        support::DEFAULT_CONFIG,
        &[("SPCTI_SYS__ALLOW_PHONE_LOGOUT", "false")],
    );
    let mut a = Client::login(&server, "8001", "1001");
    server.act("/sim/extensions/8001/offhook", None);
    server.act("/sim/extensions/8001/dial", Some(json!({"digits": "*9"})));
    server.act("/sim/extensions/8001/onhook", None);
    server.idle();
    a.got_no("6001", "*9 changed the agent's state");
    a.send("<MsgType>1099</MsgType><TelNum>8001</TelNum>");
    assert_eq!(a.expect("9099")["AgentState"], "ready");
}

#[test]
fn off_hook_star_picks_up_a_call_ringing_in_my_group_after_the_minimum_ring() {
    let server = Server::with_config(THREE_AGENTS, &[]);
    let mut a2 = Client::login(&server, "8002", "1002");
    server.advance(1_000);
    let mut a3 = Client::login(&server, "8003", "1003");
    let (t, guid) = server.call("13600000000", "400");
    server.through_ivr(t);
    rings(&server, &mut a2, 8002, t);

    // Too early: rung 2 s of the 5 required.
    server.advance(2_000);
    server.act("/sim/extensions/8003/offhook", None);
    server.act("/sim/extensions/8003/dial", Some(json!({"digits": "*#"})));
    server.act("/sim/extensions/8003/onhook", None);
    server.idle();
    assert_eq!(server.channel(seat_ch(8002))["state"], "ringing");
    a3.got_no("6004", "picked up before the minimum ring");

    server.advance(3_000);
    server.act("/sim/extensions/8003/offhook", None);
    server.act("/sim/extensions/8003/dial", Some(json!({"digits": "*#"})));
    assert_eq!(a3.expect("6004")["TellGUID"], guid);
    server.wait_channel(t, "linked to 8003", |c| c["link"] == seat_ch(8003));
    server.wait_channel(seat_ch(8002), "quiet", |c| c["state"] == "free");
    a2.expect_state("ready");
}

#[test]
fn heartbeats_lost_three_times_log_out_but_silent_clients_stay() {
    let server = Server::start();
    let mut silent = Client::login(&server, "8002", "1002");
    let mut a = Client::login(&server, "8001", "1001");
    a.send("<MsgType>1099</MsgType><TelNum>8001</TelNum>");
    a.expect("9099");
    // The watch checks every 30 s from the heartbeat; the third check
    // (90 s without one) logs out, and not the first or second.
    server.advance(Duration::from_secs(90).as_millis() as u64 - 1);
    a.got_no("6001", "logged out before three heartbeats were missed");
    assert!(
        server.armed().contains(&90_000),
        "the third check is armed at 90 s: {:?}",
        server.armed()
    );
    server.advance(1);
    a.expect_state("offline");
    // The client that never sent a heartbeat is still logged in.
    silent.request_ok(
        "<MsgType>1002</MsgType><TelNum>8002</TelNum><ShowState>still here</ShowState>",
    );
}

#[test]
fn a_crashed_channel_is_restarted_and_other_calls_go_on() {
    let server = Server::with_config(THREE_AGENTS, &[("SPCTI_ADMIN__FAULT_INJECTION", "true")]);
    let mut a2 = Client::login(&server, "8002", "1002");
    server.advance(1_000);
    let mut a3 = Client::login(&server, "8003", "1003");
    let (ta, ga) = server.call("111", "400");
    server.through_ivr(ta);
    rings(&server, &mut a2, 8002, ta);
    server.act("/sim/extensions/8002/offhook", None);
    a2.expect("6004");
    let (tb, gb) = server.call("222", "400");
    server.through_ivr(tb);
    rings(&server, &mut a3, 8003, tb);
    server.act("/sim/extensions/8003/offhook", None);
    a3.expect("6004");

    server.act(&format!("/api/actors/channel:{ta}/crash"), None);
    // The crashed call is ended by the system and logged; its agent is told.
    a2.expect("6008");
    server.wait_channel(ta, "released", |c| c["state"] == "free");
    // The other call goes on untouched.
    assert_eq!(server.channel(tb)["link"], seat_ch(8003));
    server.act("/sim/extensions/8003/onhook", None);
    a3.expect("6007");
    let rows = server.call_records(2);
    assert!(
        rows.iter()
            .any(|r| r.0 == ga && r.1 == 9 && r.2 == "system" && r.3 == "8002")
    );
    assert!(rows.iter().any(|r| r.0 == gb && r.2 == "agent"));

    // Visible to operators, and the restarted channel takes new calls.
    let (status, actors) = server.http("GET", "/api/actors", None);
    assert_eq!(status, 200);
    let entry = actors
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["path"] == format!("channel:{ta}"))
        .unwrap()
        .clone();
    assert_eq!(
        (entry["restarts"].as_u64(), entry["last_failure"].as_str()),
        (Some(1), Some("crash requested"))
    );
    server.act("/sim/extensions/8002/onhook", None);
    let (t, _) = server.call("333", "400");
    assert_eq!(t, ta);
    server.through_ivr(t);
    rings(&server, &mut a2, 8002, t);

    // Unknown paths and a server without fault injection say so.
    let (status, body) = server.post("/api/actors/channel:99/crash", json!({}));
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("no actor channel:99"))
    );
}

#[test]
fn crash_route_is_off_by_default() {
    let server = Server::start();
    let (status, body) = server.http("POST", "/api/actors/channel:0/crash", None);
    assert_eq!(status, 404);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("fault injection is off")
    );
}

/// A seat phone that refuses the ring (an IP phone's decline, cause 21) or
/// cannot be rung (cause 18): the call goes on at once to the next agent,
/// the refusing agent is not offered calls for a pause (a phone on
/// do-not-disturb is not rung in a loop), and each attempt is logged:
/// tellmsg 3 (拒绝接听) and tellmsg 2 (未接听).
#[test]
fn a_phone_that_refuses_the_ring_passes_the_call_on_at_once_and_is_logged() {
    let server = Server::with_config(THREE_AGENTS, &[]);
    let mut a2 = Client::login(&server, "8002", "1002");
    server.advance(1_000);
    let mut a3 = Client::login(&server, "8003", "1003");
    let (t, guid) = server.call("13700000000", "400");
    server.through_ivr(t);
    rings(&server, &mut a2, 8002, t);
    server.act("/sim/extensions/8002/reject", Some(json!({"cause": 21})));
    // No ring timeout waited for: 8003 rings now.
    rings(&server, &mut a3, 8003, t);
    a2.expect_state("ready");
    server.act("/sim/extensions/8003/offhook", None);
    a3.expect("6004");

    // A second call while 8003 talks: 8002 is in its pause, so it waits.
    let (t2, guid2) = server.call("13700000001", "400");
    server.through_ivr(t2);
    server.wait_channel(t2, "queued", |c| c["playing"].is_null());
    server.idle();
    assert_eq!(server.channel(seat_ch(8002))["state"], "free");
    a2.got_no("6003", "offered again during the pause");
    // After the pause it rings; this time the phone cannot be reached.
    server.advance(5_000);
    rings(&server, &mut a2, 8002, t2);
    server.act("/sim/extensions/8002/reject", Some(json!({"cause": 18})));
    a2.expect_state("ready");
    // Alone (8003 still talks), it is rung again only after the pause,
    // refuses again (its own row), and after another pause answers.
    server.idle();
    assert_eq!(server.channel(seat_ch(8002))["state"], "free");
    server.advance(5_000);
    rings(&server, &mut a2, 8002, t2);
    server.act("/sim/extensions/8002/reject", Some(json!({"cause": 21})));
    a2.expect_state("ready");
    server.advance(5_000);
    rings(&server, &mut a2, 8002, t2);
    server.act("/sim/extensions/8002/offhook", None);
    a2.expect("6004");

    let rows = server.call_records(3);
    let refusals: Vec<(&str, i32, &str, &str)> = rows
        .iter()
        .filter(|r| matches!(r.1, 2 | 3))
        .map(|r| (r.0.as_str(), r.1, r.2.as_str(), r.3.as_str()))
        .collect();
    assert_eq!(
        refusals,
        [
            (guid.as_str(), 3, "agent", "8002"),
            (guid2.as_str(), 2, "system", "8002"),
            (guid2.as_str(), 3, "agent", "8002")
        ]
    );
    // Refusing a ring that is not ringing is a clear error.
    let (status, body) = server.post("/sim/extensions/8001/reject", json!({"cause": 21}));
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("8001 is not ringing"))
    );
}
