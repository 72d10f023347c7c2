//! Transfers end to end: 1008 to an extension, an agent's job number or a
//! group (9030), 1009 cancel and 1007 retrieve, `*5<ext>#` / `*6<group>#`
//! dialed during the call; the screen pop at the target, the links on the
//! sim switch, and one call record and recording per talk segment.
//! Trunks are channels 0-3; seats 8001-8005 are channels 4-8.

mod support;

use serde_json::json;
use support::{Client, Server, assert_refused, seat_ch};

/// Group 1 (Service): 1001. Group 2 (Sales): 1002.
const CONFIG: &str = r#"
[[group]]
no = 1
name = "Service"
strategy = "longest-idle"

[[group]]
no = 2
name = "Sales"
strategy = "longest-idle"

[[agent]]
work_no = "1001"
groups = [{ no = 1, priority = 1 }]

[[agent]]
work_no = "1002"
groups = [{ no = 2, priority = 1 }]
"#;

#[test]
fn a_transfer_to_an_extension_pops_rings_and_connects_the_target() {
    let server = Server::with_config(CONFIG, &[]);
    let mut a = Client::login(&server, "8001", "1001");
    let mut b = Client::login(&server, "8002", "1002");
    let (trunk, guid) = server.talking(&mut a, 8001);
    server.advance(10_000);

    a.send("<MsgType>1008</MsgType><TelNum>8001</TelNum><TanstoTel>8002</TanstoTel><Seq>t1</Seq>");
    let r = a.expect("9030");
    assert_eq!(
        (
            r["ChNum"].as_str(),
            r["ResultCH"].as_str(),
            r["TransType"].as_str(),
            r["Seq"].as_str()
        ),
        (Some("4"), Some("5"), Some("1"), Some("t1"))
    );
    a.expect("6007");
    a.expect_state("ready");
    let pop = b.expect("6003");
    assert_eq!(
        (pop["TellGUID"].as_str(), pop["CallerNo"].as_str()),
        (Some(guid.as_str()), Some("13800138000"))
    );
    b.expect_state("ringing");
    server.wait_channel(seat_ch(8002), "ringing", |c| c["state"] == "ringing");
    let seat_a = server.wait_channel(seat_ch(8001), "cut off", |c| c["link"].is_null());
    assert_eq!(seat_a["state"], "offhook");

    server.act("/sim/extensions/8002/offhook", None);
    assert_eq!(b.expect("6004")["TellGUID"], guid.as_str());
    server.wait_channel(trunk, "linked to 8002", |c| c["link"] == seat_ch(8002));
    server.advance(5_000);
    server.act("/sim/extensions/8002/onhook", None);
    b.expect("6007");

    let rows = server.call_records(2);
    let by_tel = |t: &str| rows.iter().find(|r| r.3 == t).unwrap().clone();
    let (ga, ma, _, _, fa) = by_tel("8001");
    let (gb, mb, hb, _, fb) = by_tel("8002");
    assert_eq!(
        (ga.as_str(), ma, gb.as_str(), mb),
        (guid.as_str(), 9, guid.as_str(), 9)
    );
    assert_eq!(hb, "agent");
    let (fa, fb) = (fa.unwrap(), fb.unwrap());
    assert!(fa.ends_with(&format!("{guid}.wav")), "{fa}");
    assert!(fb.ends_with(&format!("{guid}-2.wav")), "{fb}");
    for (f, secs) in [(fa, 10), (fb, 5)] {
        let wav = hound::WavReader::open(server.data_dir().join("recordings").join(f)).unwrap();
        assert_eq!(wav.duration() / wav.spec().sample_rate, secs);
    }
}

#[test]
fn transfers_to_a_group_and_to_a_job_number() {
    let server = Server::with_config(CONFIG, &[]);
    let mut a = Client::login(&server, "8001", "1001");
    let mut b = Client::login(&server, "8002", "1002");
    let (trunk, guid) = server.talking(&mut a, 8001);

    a.send("<MsgType>1008</MsgType><TelNum>8001</TelNum><GroupNo>2</GroupNo>");
    let r = a.expect("9030");
    // A group transfer that worked names the call's channel (it waits on
    // its trunk), not -1, which means failure.
    assert_eq!(
        (r["ResultCH"].as_str(), r["TransType"].as_str()),
        (Some(trunk.to_string().as_str()), Some("2"))
    );
    let pop = b.expect("6003");
    assert_eq!(
        (pop["TellGUID"].as_str(), pop["GroupNo"].as_str()),
        (Some(guid.as_str()), Some("2"))
    );
    server.wait_channel(seat_ch(8002), "ringing", |c| c["state"] == "ringing");
    server.act("/sim/extensions/8002/offhook", None);
    b.expect("6004");
    server.wait_channel(trunk, "linked to 8002", |c| c["link"] == seat_ch(8002));

    // And back, by job number (8001 hangs up its dead line first).
    server.act("/sim/extensions/8001/onhook", None);
    a.expect_state("ready");
    b.send("<MsgType>1008</MsgType><TelNum>8002</TelNum><WorkNo>1001</WorkNo>");
    assert_eq!(b.expect("9030")["ResultCH"], seat_ch(8001).to_string());
    assert_eq!(a.expect("6003")["TellGUID"], guid.as_str());
    server.wait_channel(seat_ch(8001), "ringing", |c| c["state"] == "ringing");
    server.act("/sim/extensions/8001/offhook", None);
    server.wait_channel(trunk, "linked to 8001", |c| c["link"] == seat_ch(8001));
}

#[test]
fn the_transferring_agent_cancels_or_retrieves_the_call() {
    let server = Server::with_config(CONFIG, &[]);
    let mut a = Client::login(&server, "8001", "1001");
    let mut b = Client::login(&server, "8002", "1002");
    b.request_ok("<MsgType>1002</MsgType><TelNum>8002</TelNum>");
    let (trunk, guid) = server.talking(&mut a, 8001);

    a.send("<MsgType>1009</MsgType><TelNum>8001</TelNum>");
    assert_refused(&a.expect("9000"), "already on a call");
    a.send("<MsgType>1008</MsgType><TelNum>8001</TelNum><TransToTel>8002</TransToTel>");
    a.expect("9030");
    // The call has left the agent once 6007 says so (it follows the 9030,
    // after the switch has closed the recording).
    a.expect("6007");
    // A directed transfer rings a busy agent's free phone too.
    b.expect("6003");
    server.wait_channel(seat_ch(8002), "ringing", |c| c["state"] == "ringing");
    // 1009: back to 8001, whose phone is still lifted: connected at once.
    a.request_ok("<MsgType>1009</MsgType><TelNum>8001</TelNum>");
    assert_eq!(a.expect("6004")["TellGUID"], guid.as_str());
    server.wait_channel(trunk, "back at 8001", |c| c["link"] == seat_ch(8001));
    server.wait_channel(seat_ch(8002), "quiet", |c| c["state"] == "free");
    b.expect_state("busy");

    // To Sales, where nobody is free: the call waits; 1009 cannot take it
    // back from a queue, 1007 can.
    a.send("<MsgType>1008</MsgType><TelNum>8001</TelNum><GroupNo>2</GroupNo>");
    a.expect("9030");
    a.expect("6007");
    a.send("<MsgType>1009</MsgType><TelNum>8001</TelNum>");
    assert_refused(&a.expect("9000"), "take it back with 1007");
    a.request_ok("<MsgType>1007</MsgType><TelNum>8001</TelNum>");
    server.wait_channel(trunk, "back at 8001", |c| c["link"] == seat_ch(8001));
    a.send("<MsgType>1007</MsgType><TelNum>8001</TelNum>");
    assert_refused(&a.expect("9000"), "already on a call");

    server.act("/sim/extensions/8001/onhook", None);
    let rows = server.call_records(3);
    // Two segments before, then the call that came back: tellmsg 17.
    assert_eq!(rows.iter().filter(|r| r.1 == 17).count(), 1, "{rows:?}");
    assert_eq!(rows.iter().filter(|r| r.0 == guid).count(), 3);
}

#[test]
fn star_five_and_star_six_during_a_call() {
    let server = Server::with_config(CONFIG, &[]);
    let mut a = Client::login(&server, "8001", "1001");
    let mut b = Client::login(&server, "8002", "1002");
    let (trunk, guid) = server.talking(&mut a, 8001);
    server.act(
        "/sim/extensions/8001/dial",
        Some(json!({"digits": "12*58002#"})),
    );
    assert_eq!(b.expect("6003")["TellGUID"], guid.as_str());
    server.wait_channel(seat_ch(8002), "ringing", |c| c["state"] == "ringing");
    server.act("/sim/extensions/8002/offhook", None);
    server.wait_channel(trunk, "at 8002", |c| c["link"] == seat_ch(8002));

    server.act("/sim/extensions/8001/onhook", None);
    a.expect_state("ready");
    server.act("/sim/extensions/8002/dial", Some(json!({"digits": "*61#"})));
    // *6: the same caller, queued to group 1, rings there; 8002 is out of it.
    let pop = a.expect("6003");
    assert_eq!(
        (
            pop["GroupNo"].as_str(),
            pop["TellGUID"].as_str(),
            pop["ChNum"].as_str()
        ),
        (
            Some("1"),
            Some(guid.as_str()),
            Some(trunk.to_string().as_str())
        )
    );
    b.expect("6007");
    server.wait_channel(seat_ch(8001), "ringing", |c| c["state"] == "ringing");
    server.act("/sim/extensions/8001/offhook", None);
    assert_eq!(a.expect("6004")["TellGUID"], guid.as_str());
    server.wait_channel(trunk, "back at 8001", |c| c["link"] == seat_ch(8001));
}

#[test]
fn impossible_transfers_say_why() {
    let server = Server::with_config(CONFIG, &[]);
    let mut a = Client::login(&server, "8001", "1001");
    // A failed transfer is a 9030 with ResultCH -1, and why (the manual).
    let transfer = |a: &mut Client, tags: &str, why: &str| {
        a.send(&format!(
            "<MsgType>1008</MsgType><TelNum>8001</TelNum>{tags}"
        ));
        let r = a.expect("9030");
        assert_eq!(
            (r["ChNum"].as_str(), r["ResultCH"].as_str()),
            (Some(seat_ch(8001).to_string().as_str()), Some("-1")),
            "{r}"
        );
        assert!(
            r["ResultSTR"].as_str().unwrap_or("").contains(why),
            "{r} should say {why:?}"
        );
    };
    transfer(&mut a, "<TransToTel>8002</TransToTel>", "not on a call");
    server.talking(&mut a, 8001);
    transfer(&mut a, "", "TransToTel, WorkNo or GroupNo is required");
    transfer(&mut a, "<TransToTel>8001</TransToTel>", "to yourself");
    transfer(&mut a, "<TransToTel>7777</TransToTel>", "no extension 7777");
    transfer(
        &mut a,
        "<TransToTel>013900000000</TransToTel>",
        "outside numbers",
    );
    transfer(&mut a, "<WorkNo>4242</WorkNo>", "WorkNo 4242");
    transfer(&mut a, "<GroupNo>9</GroupNo>", "no group 9");
    server.act("/sim/extensions/8003/offhook", None);
    transfer(&mut a, "<TransToTel>8003</TransToTel>", "8003 is busy");
    a.send("<MsgType>1007</MsgType><TelNum>8001</TelNum>");
    assert_refused(&a.expect("9000"), "already on a call");
    let mut b = Client::login(&server, "8002", "1002");
    b.send("<MsgType>1009</MsgType><TelNum>8002</TelNum>");
    assert_refused(&b.expect("9000"), "transferred no call");
}

#[test]
fn a_transfer_to_an_outside_number_bridges_two_trunks_or_requeues_the_caller() {
    let server = Server::with_config(CONFIG, &[("SPCTI_SYS__TRANSTOOUT", "true")]);
    let mut a = Client::login(&server, "8001", "1001");
    let (trunk, guid) = server.talking(&mut a, 8001);
    a.send("<MsgType>1008</MsgType><TelNum>8001</TelNum><TransToTel>013900000000</TransToTel>");
    let r = a.expect("9030");
    assert_eq!(r["TransType"], "3", "{r}");
    let out: u32 = r["ResultCH"].as_str().unwrap().parse().unwrap();
    assert_ne!(out, trunk);
    a.expect("6007");
    let t2 = server.wait_channel(out, "dialing", |c| c["state"] == "dialing");
    assert_eq!(
        (t2["callee"].as_str(), t2["caller"].as_str()),
        (Some("13900000000"), Some("13800138000"))
    );
    server.act(&format!("/sim/channels/{out}/answer"), None);
    server.wait_channel(trunk, "bridged", |c| c["link"] == out);
    assert_eq!(server.channel(out)["link"], trunk);
    assert!(
        server.channel(trunk)["recording"]
            .as_str()
            .unwrap()
            .ends_with(&format!("{guid}-2.wav"))
    );
    server.advance(8_000);
    server.act(&format!("/sim/channels/{out}/hangup"), None);
    server.wait_channel(trunk, "free", |c| c["state"] == "free");
    server.wait_channel(out, "free", |c| c["state"] == "free");
    let rows = server.call_records(3);
    assert!(rows.iter().all(|r| r.0 == guid), "{rows:?}");
    let mut msgs: Vec<i32> = rows.iter().map(|r| r.1).collect();
    msgs.sort();
    assert_eq!(msgs, [6, 9, 9], "{rows:?}");

    // A busy number: the caller goes back to the queue, to 8001 again.
    server.act("/sim/extensions/8001/onhook", None);
    a.expect_state("ready");
    let (trunk, guid) = server.talking(&mut a, 8001);
    a.send("<MsgType>1008</MsgType><TelNum>8001</TelNum><TransToTel>013900000001</TransToTel>");
    let out: u32 = a.expect("9030")["ResultCH"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    server.wait_channel(out, "dialing", |c| c["state"] == "dialing");
    server.act("/sim/extensions/8001/onhook", None);
    a.expect_state("ready");
    server.post(&format!("/sim/channels/{out}/reject"), json!({"cause": 17}));
    assert_eq!(a.expect("6003")["TellGUID"], guid.as_str());
    server.wait_channel(out, "free", |c| c["state"] == "free");
    server.wait_channel(seat_ch(8001), "ringing", |c| c["state"] == "ringing");
    assert_eq!(server.channel(trunk)["state"], "talking");
}

#[test]
fn hook_flash_holds_the_caller_consults_an_extension_and_returns_or_transfers() {
    let server = Server::with_config(CONFIG, &[]);
    let mut a = Client::login(&server, "8001", "1001");
    let mut b = Client::login(&server, "8002", "1002");
    let (trunk, guid) = server.talking(&mut a, 8001);

    server.act("/sim/extensions/8001/flash", None);
    let held = server.wait_channel(trunk, "on hold", |c| c["playing"] == "queue");
    assert!(held["link"].is_null());
    // The hold music loops.
    server.advance(30_000);
    server.wait_channel(trunk, "still on hold", |c| c["playing"] == "queue");
    server.act(
        "/sim/extensions/8001/dial",
        Some(json!({"digits": "8002#"})),
    );
    server.wait_channel(seat_ch(8002), "ringing", |c| c["state"] == "ringing");
    server.act("/sim/extensions/8002/offhook", None);
    server.wait_channel(seat_ch(8001), "consulting", |c| c["link"] == seat_ch(8002));
    assert_eq!(server.channel(seat_ch(8002))["link"], seat_ch(8001));
    assert_eq!(
        server.channel(trunk)["playing"],
        "queue",
        "the caller still waits"
    );

    // Flash again: back to the caller; 8002 is let go.
    server.advance(4_000);
    server.act("/sim/extensions/8001/flash", None);
    server.wait_channel(trunk, "back with 8001", |c| c["link"] == seat_ch(8001));
    assert!(server.channel(trunk)["playing"].is_null());
    server.wait_channel(seat_ch(8002), "let go", |c| c["link"].is_null());
    server.act("/sim/extensions/8002/onhook", None);

    // Again, the number ended by a pause; then 8001 hangs up: transferred.
    server.act("/sim/extensions/8001/flash", None);
    server.wait_channel(trunk, "on hold", |c| c["playing"] == "queue");
    server.act("/sim/extensions/8001/dial", Some(json!({"digits": "8002"})));
    // The number is taken after a 3 s pause from the last digit, not
    // before.
    server.idle();
    server.advance(2_999);
    assert_eq!(
        server.channel(seat_ch(8002))["state"],
        "free",
        "dialed before the 3 s pause"
    );
    server.advance(1);
    server.wait_channel(seat_ch(8002), "ringing", |c| c["state"] == "ringing");
    server.act("/sim/extensions/8002/offhook", None);
    server.wait_channel(seat_ch(8001), "consulting", |c| c["link"] == seat_ch(8002));
    server.advance(2_000);
    server.act("/sim/extensions/8001/onhook", None);
    a.expect("6007");
    assert_eq!(b.expect("6004")["TellGUID"], guid.as_str());
    server.wait_channel(trunk, "with 8002", |c| c["link"] == seat_ch(8002));
    assert!(server.channel(trunk)["playing"].is_null());
    server.act("/sim/extensions/8002/onhook", None);
    b.expect("6007");
    // Two consult parts (tellmsg 4), 8002 put down after it was let go
    // (tellmsg 5), 8001's part and 8002's part.
    let rows = server.call_records(5);
    assert!(rows.iter().all(|r| r.0 == guid), "{rows:?}");
    assert_eq!(rows.iter().filter(|r| r.1 == 4).count(), 2, "{rows:?}");
    assert!(rows.iter().any(|r| r.1 == 5 && r.3 == "8002"), "{rows:?}");
    let last = rows
        .iter()
        .find(|r| r.1 == 9 && r.3 == "8002")
        .expect("8002's part");
    assert!(last.4.as_deref().unwrap().ends_with("-2.wav"));
}

/// The manual: with `transtoout`, any number that is not internal goes out
/// on a trunk, with or without a leading 0; CalleeNo, when given, is the
/// number dialed and CallerNo the number shown.
#[test]
fn with_transtoout_any_number_not_internal_goes_out_as_the_manual_says() {
    for (tags, callee, caller) in [
        (
            "<TransToTel>13900000001</TransToTel>",
            "13900000001",
            "13800138000",
        ),
        (
            "<TransToTel>5555</TransToTel><CalleeNo>013900000002</CalleeNo><CallerNo>4008001234</CallerNo>",
            "13900000002",
            "4008001234",
        ),
    ] {
        let server = Server::with_config(CONFIG, &[("SPCTI_SYS__TRANSTOOUT", "true")]);
        let mut a = Client::login(&server, "8001", "1001");
        let (trunk, _) = server.talking(&mut a, 8001);
        a.send(&format!(
            "<MsgType>1008</MsgType><TelNum>8001</TelNum>{tags}"
        ));
        let r = a.expect("9030");
        assert_eq!(r["TransType"], "3", "{tags}: {r}");
        let out: u32 = r["ResultCH"].as_str().unwrap().parse().unwrap();
        assert_ne!(out, trunk);
        let t = server.wait_channel(out, "dialing", |c| c["state"] == "dialing");
        assert_eq!(
            (t["callee"].as_str(), t["caller"].as_str()),
            (Some(callee), Some(caller)),
            "{tags}"
        );
    }
}
