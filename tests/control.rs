//! Agent call control end to end: pick-up (1010, `*7`), channel info (1011),
//! statistics (1013), UDP monitor platforms (1015), mute (1016), force
//! hang-up (1022), data exchange (1026), force release (1027) and phone
//! control (1031), over real UDP and HTTP against the real server.
//! Trunks are channels 0-3; seats 8001-8005 are channels 4-8.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, UdpSocket};
use std::sync::mpsc;

use serde_json::Value;
use spcti_protocol::{TextEncoding, decode, to_json};
use support::{Client, PROMPT, Server, assert_refused, seat_ch};

#[test]
fn pick_up_an_extension_only_after_the_minimum_ring_to_a_lifted_seat() {
    let server = Server::start();
    let mut a = Client::login(&server, "8001", "1001");
    let mut b = Client::login(&server, "8002", "1002");
    let (trunk, guid) = server.ringing(&mut a, 8001);

    b.send("<MsgType>1010</MsgType><TelNum>8002</TelNum><Target>8001</Target>");
    let r = b.expect("9040");
    assert_eq!(
        (r["ChNum"].as_str(), r["ResultCH"].as_str()),
        (Some("5"), Some("-1"))
    );
    assert!(
        r["ResultSTR"]
            .as_str()
            .unwrap()
            .contains("allowed after 5 s"),
        "{r}"
    );

    server.advance(5_000);
    server.act("/sim/extensions/8002/offhook", None);
    b.send("<MsgType>1010</MsgType><TelNum>8002</TelNum><Target>8001</Target><Seq>7</Seq>");
    let r = b.expect("9040");
    assert_eq!(r["ResultCH"], trunk.to_string());
    assert_eq!(r["InCallNUM"], "13800138000");
    assert_eq!(r["Seq"], "7");
    assert_eq!(b.expect("6004")["TellGUID"], guid.as_str());
    b.expect_state("talking");
    a.expect_state("ready");
    server.wait_channel(trunk, "linked to 8002", |c| c["link"] == seat_ch(8002));
    assert_eq!(server.channel(seat_ch(8002))["link"], trunk);
    server.wait_channel(seat_ch(8001), "no longer ringing", |c| c["state"] == "free");

    server.act("/sim/extensions/8002/onhook", None);
    b.expect("6007");
    let rows = server.call_records(1);
    assert_eq!(
        (rows[0].0.as_str(), rows[0].1, rows[0].3.as_str()),
        (guid.as_str(), 9, "8002")
    );
}

#[test]
fn a_busy_agent_picks_up_a_group_call_and_its_on_hook_seat_rings() {
    let server = Server::start();
    let mut a = Client::login(&server, "8001", "1001");
    let mut b = Client::login(&server, "8002", "1002");
    b.request_ok("<MsgType>1002</MsgType><TelNum>8002</TelNum><ShowState>lunch</ShowState>");
    let (trunk, guid) = server.ringing(&mut a, 8001);
    server.advance(6_000);

    b.send("<MsgType>1010</MsgType><TelNum>8002</TelNum><Target>1</Target>");
    let r = b.expect("9040");
    assert_eq!(r["ResultCH"], trunk.to_string(), "{r}");
    assert!(r["ResultSTR"].as_str().unwrap().contains("ringing"), "{r}");
    let pop = b.expect("6003");
    assert_eq!(
        (pop["TellGUID"].as_str(), pop["CallerNo"].as_str()),
        (Some(guid.as_str()), Some("13800138000"))
    );
    b.expect_state("ringing");
    a.expect_state("ready");
    server.wait_channel(seat_ch(8002), "ringing", |c| c["state"] == "ringing");
    server.wait_channel(seat_ch(8001), "stopped", |c| c["state"] == "free");

    server.act("/sim/extensions/8002/offhook", None);
    b.expect("6004");
    server.wait_channel(trunk, "linked to 8002", |c| c["link"] == seat_ch(8002));
}

#[test]
fn pick_up_with_no_target_and_by_phone_code() {
    let server = Server::start();
    let mut a = Client::login(&server, "8001", "1001");
    let mut b = Client::login(&server, "8002", "1002");
    let (trunk, _) = server.ringing(&mut a, 8001);
    server.advance(5_000);
    // *7<ext># from a lifted seat.
    server.act("/sim/extensions/8002/offhook", None);
    server.act(
        "/sim/extensions/8002/dial",
        Some(serde_json::json!({"digits": "*78001#"})),
    );
    b.expect("6004");
    server.wait_channel(trunk, "linked to 8002", |c| c["link"] == seat_ch(8002));
    server.act("/sim/extensions/8002/onhook", None);
    b.expect("6007");
    b.expect_state("ready");

    // 1010 with no Target: any call ringing in my groups (8001 is ready
    // again, and longest idle).
    a.expect_state("ready");
    let (trunk, _) = server.ringing(&mut a, 8001);
    server.advance(5_000);
    server.act("/sim/extensions/8002/offhook", None);
    b.send("<MsgType>1010</MsgType><TelNum>8002</TelNum>");
    assert_eq!(b.expect("9040")["ResultCH"], trunk.to_string());
    server.wait_channel(trunk, "linked to 8002", |c| c["link"] == seat_ch(8002));
}

#[test]
fn impossible_pick_ups_say_why() {
    let server = Server::start();
    let mut a = Client::login(&server, "8001", "1001");
    let mut b = Client::login(&server, "8002", "1002");
    let mut pick = |target: &str, why: &str| {
        b.send(&format!(
            "<MsgType>1010</MsgType><TelNum>8002</TelNum><Target>{target}</Target>"
        ));
        let r = b.expect("9040");
        assert_eq!(r["ResultCH"], "-1", "{r}");
        assert!(
            r["ResultSTR"].as_str().unwrap().contains(why),
            "{r} should say {why:?}"
        );
    };
    pick("", "no call is ringing");
    pick("9999", "neither a group nor an extension");
    pick("8003", "8003 is not ringing");
    pick("8002", "your own seat");
    let _ = server.ringing(&mut a, 8001);
    server.advance(5_000);
    // 8001 is ringing for the call; 8001 cannot pick it up elsewhere.
    a.send("<MsgType>1010</MsgType><TelNum>8001</TelNum><Target>1</Target>");
    assert!(
        a.expect("9040")["ResultSTR"]
            .as_str()
            .unwrap()
            .contains("already on a call")
    );
    let mut c = Client::new(&server);
    c.send("<MsgType>1010</MsgType><TelNum>8003</TelNum>");
    assert!(
        c.expect("9040")["ResultSTR"]
            .as_str()
            .unwrap()
            .contains("not logged in")
    );
    c.send("<MsgType>1010</MsgType><TelNum>7777</TelNum>");
    assert_refused(&c.expect("9000"), "not a seat extension");
}

#[test]
fn channel_info_by_channel_extension_and_job_number() {
    let server = Server::start();
    let mut a = Client::login(&server, "8001", "1001");
    let (trunk, guid) = server.talking(&mut a, 8001);

    a.send(&format!(
        "<MsgType>1011</MsgType><ChNum>{trunk}</ChNum><TelNum>8003</TelNum>"
    ));
    let r = a.expect("9011");
    assert_eq!(r["Count"], "1");
    let ch = &r["Channels"][0];
    assert_eq!(ch["ChNum"], trunk.to_string());
    assert_eq!(ch["State"], "talking");
    assert_eq!(ch["TellGUID"], guid.as_str());
    assert_eq!(ch["LinkCh"], seat_ch(8001).to_string());

    for q in [
        "<TelNum>8001</TelNum><WorkNo>9999</WorkNo>",
        "<WorkNo>1001</WorkNo>",
    ] {
        a.send(&format!("<MsgType>1011</MsgType>{q}"));
        let r = a.expect("9011");
        assert_eq!(r["Count"], "2", "{q}: {r}");
        let (seat, call) = (&r["Channels"][0], &r["Channels"][1]);
        assert_eq!(seat["ChNum"], seat_ch(8001).to_string());
        assert_eq!(seat["ChType"], "seat");
        assert_eq!(seat["AgentState"], "talking");
        assert_eq!(seat["WorkNo"], "1001");
        assert_eq!(call["ChNum"], trunk.to_string());
        assert_eq!(call["CallerNo"], "13800138000");
    }

    // To another address: the requester gets a 9000 saying where it went.
    let other = UdpSocket::bind("127.0.0.1:0").unwrap();
    other.set_read_timeout(Some(PROMPT)).unwrap();
    let port = other.local_addr().unwrap().port();
    let ack = a.request_ok(&format!(
        "<MsgType>1011</MsgType><TelNum>8001</TelNum><RetIP>127.0.0.1</RetIP><RetPort>{port}</RetPort>"
    ));
    assert!(
        ack["ResultSTR"]
            .as_str()
            .unwrap()
            .contains(&port.to_string())
    );
    let mut buf = [0u8; 9000];
    let n = other.recv(&mut buf).unwrap();
    let m = to_json(&decode(&buf[..n], TextEncoding::Utf8).unwrap());
    assert_eq!(
        (m["MsgType"].as_str(), m["Count"].as_str()),
        (Some("9011"), Some("2"))
    );

    a.send("<MsgType>1011</MsgType><ChNum>99</ChNum>");
    assert_refused(&a.expect("9000"), "no channel 99");
    a.send("<MsgType>1011</MsgType><TelNum>7777</TelNum>");
    assert_refused(&a.expect("9000"), "no extension 7777");
    a.send("<MsgType>1011</MsgType><WorkNo>4242</WorkNo>");
    assert_refused(&a.expect("9000"), "WorkNo 4242");
    a.send("<MsgType>1011</MsgType>");
    assert_refused(&a.expect("9000"), "ChNum, TelNum or WorkNo");
}

#[test]
fn statistics_per_group_and_for_the_floor() {
    let server = Server::start();
    let mut a = Client::login(&server, "8001", "1001");
    let mut b = Client::login(&server, "8002", "1002");
    b.request_ok("<MsgType>1002</MsgType><TelNum>8002</TelNum>");
    server.answered_call(&mut a, "8001", "13800138000");
    // One more caller gives up while queued... after 8001 is on a call.
    let (_, _) = server.talking(&mut a, 8001);
    let (t2, _) = server.call("13900000000", "4008001234");
    server.through_ivr(t2);
    // The wait is counted from the queueing, which follows the prompt
    // asynchronously: move the clock only once the caller is queued.
    let deadline = std::time::Instant::now() + PROMPT;
    loop {
        let (_, all) = server.http("GET", "/api/channels", None);
        let queued = all.as_array().is_some_and(|cs| {
            cs.iter().any(|c| {
                c["ChNum"].as_str().and_then(|n| n.parse().ok()) == Some(t2)
                    && c["State"] == "queued"
            })
        });
        if queued {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the caller was never queued: {all}"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    server.advance(3_000);

    let stats = |c: &mut Client, q: &str| {
        c.send(&format!("<MsgType>1013</MsgType>{q}"));
        c.expect("9014")
    };
    let g = stats(&mut a, "<GroupNo>1</GroupNo>");
    assert_eq!(g["GroupNo"], "1");
    assert_eq!(
        (
            g["Online"].as_str(),
            g["Busy"].as_str(),
            g["Talking"].as_str(),
            g["Queued"].as_str(),
            g["AnsweredToday"].as_str(),
        ),
        (Some("2"), Some("1"), Some("1"), Some("1"), Some("2"))
    );
    assert_eq!(g["LongestWaitS"], "3");
    assert_eq!(g["ServiceLevel"], "100");
    server.act(&format!("/sim/channels/{t2}/hangup"), None);
    let all = {
        // The abandon reaches the group asynchronously.
        let deadline = std::time::Instant::now() + PROMPT;
        loop {
            let s = stats(&mut a, "");
            if s["AbandonedToday"] == "1" || std::time::Instant::now() > deadline {
                break s;
            }
        }
    };
    assert_eq!(all["GroupNo"], "");
    assert_eq!(
        (
            all["Online"].as_str(),
            all["Ready"].as_str(),
            all["Talking"].as_str(),
            all["Queued"].as_str(),
            all["AbandonedToday"].as_str()
        ),
        (Some("2"), Some("0"), Some("1"), Some("0"), Some("1"))
    );
    a.send("<MsgType>1013</MsgType><GroupNo>9</GroupNo>");
    assert_refused(&a.expect("9000"), "no group 9");
}

#[test]
fn a_udp_monitor_platform_gets_a_snapshot_then_every_change() {
    let server = Server::start();
    let platform = UdpSocket::bind("127.0.0.1:0").unwrap();
    platform.set_read_timeout(Some(PROMPT)).unwrap();
    let port = platform.local_addr().unwrap().port();
    let mut client = Client::operator(&server, "8005", "9005");
    client.send(&format!(
        "<MsgType>1015</MsgType><IP>127.0.0.1</IP><Port>{port}</Port>"
    ));
    assert_eq!(client.expect("90991")["MAC"], "1");
    let read = || {
        let mut buf = [0u8; 9000];
        let n = platform.recv(&mut buf).unwrap();
        to_json(&decode(&buf[..n], TextEncoding::Utf8).unwrap())
    };
    // 4 trunks and 5 seats.
    let snapshot: Vec<Value> = (0..9).map(|_| read()).collect();
    assert!(snapshot.iter().all(|m| m["MsgType"] == "6012"));
    assert!(snapshot.iter().all(|m| m["State"] == "free"));

    let (trunk, guid) = server.call("13800138000", "4008001234");
    let m = loop {
        let m = read();
        if m["ChNum"].as_str() == Some(trunk.to_string().as_str()) {
            break m;
        }
    };
    assert_eq!(
        (m["State"].as_str(), m["TellGUID"].as_str()),
        (Some("ivr"), Some(guid.as_str()))
    );

    // Platforms only where agent clients may be ([agent_udp] allow).
    client.send("<MsgType>1015</MsgType><IP>0.0.0.0</IP><Port>9</Port>");
    assert_refused(&client.expect("9000"), "outside the networks");
}

#[test]
fn mute_cuts_only_the_callers_side() {
    let server = Server::start();
    let mut a = Client::login(&server, "8001", "1001");
    a.send("<MsgType>1016</MsgType><TelNum>8001</TelNum><Mute>1</Mute>");
    assert_refused(&a.expect("9000"), "not on a call");
    let (trunk, _) = server.talking(&mut a, 8001);

    a.request_ok("<MsgType>1016</MsgType><TelNum>8001</TelNum><Mute>1</Mute>");
    server.wait_channel(trunk, "deaf to the seat", |c| c["link"].is_null());
    assert_eq!(server.channel(seat_ch(8001))["link"], trunk);
    assert!(server.channel(trunk)["recording"].is_string());

    a.request_ok("<MsgType>1016</MsgType><TelNum>8001</TelNum><Mute>0</Mute>");
    server.wait_channel(trunk, "hearing the seat", |c| c["link"] == seat_ch(8001));
    assert_eq!(server.channel(seat_ch(8001))["link"], trunk);

    let mut nobody = Client::new(&server);
    nobody.send("<MsgType>1016</MsgType><TelNum>8004</TelNum><Mute>1</Mute>");
    assert_refused(&nobody.expect("9000"), "not logged in");
}

#[test]
fn a_supervisor_force_hangs_up_an_agents_call() {
    let server = Server::start();
    let mut a = Client::login(&server, "8001", "1001");
    let mut sup = Client::login(&server, "8003", "9001");
    sup.request_ok("<MsgType>1002</MsgType><TelNum>8003</TelNum>");
    sup.send("<MsgType>1022</MsgType><TelNum>8003</TelNum><Target>1001</Target>");
    assert_refused(&sup.expect("9000"), "not on a call");
    let (trunk, guid) = server.talking(&mut a, 8001);

    // By job number.
    sup.request_ok("<MsgType>1022</MsgType><TelNum>8003</TelNum><Target>1001</Target>");
    a.expect("6008");
    a.expect_state("ready");
    server.wait_channel(trunk, "released", |c| c["state"] == "free");
    let rows = server.call_records(1);
    assert_eq!(
        (rows[0].0.as_str(), rows[0].1, rows[0].2.as_str()),
        (guid.as_str(), 9, "system")
    );
    sup.send("<MsgType>1022</MsgType><TelNum>8003</TelNum><Target>4242</Target>");
    assert_refused(&sup.expect("9000"), "no agent 4242");
}

#[test]
fn force_release_of_a_channel() {
    let server = Server::start();
    let mut op = Client::operator(&server, "8005", "9005");
    let (trunk, guid) = server.call("13800138000", "4008001234");
    server.wait_channel(trunk, "in the IVR", |c| c["playing"] == "welcome");
    op.request_ok(&format!("<MsgType>1027</MsgType><ChNum>{trunk}</ChNum>"));
    server.wait_channel(trunk, "free", |c| c["state"] == "free");
    let rows = server.call_records(1);
    assert_eq!(
        (rows[0].0.as_str(), rows[0].1, rows[0].2.as_str()),
        (guid.as_str(), 7, "system")
    );
    op.send(&format!("<MsgType>1027</MsgType><ChNum>{trunk}</ChNum>"));
    assert_refused(&op.expect("9000"), "no call");
    op.send("<MsgType>1027</MsgType><ChNum>99</ChNum>");
    assert_refused(&op.expect("9000"), "no channel 99");

    // Releasing a seat on a call ends that call.
    let mut a = Client::login(&server, "8001", "1001");
    let (trunk, _) = server.talking(&mut a, 8001);
    op.request_ok(&format!(
        "<MsgType>1027</MsgType><ChNum>{}</ChNum>",
        seat_ch(8001)
    ));
    a.expect("6008");
    server.wait_channel(trunk, "free", |c| c["state"] == "free");
    assert_eq!(server.call_records(2)[1].2, "system");
}

#[test]
fn data_exchange_reaches_the_target_agent() {
    let server = Server::start();
    let mut a = Client::login(&server, "8001", "1001");
    let mut b = Client::login(&server, "8002", "1002");
    b.request_ok("<MsgType>1026</MsgType><Target>1001</Target><Data>order 42 &amp; more</Data>");
    let m = a.expect("6026");
    assert_eq!(
        (m["From"].as_str(), m["Data"].as_str()),
        (Some("8002"), Some("order 42 & more"))
    );
    // From another system, which speaks through a seat of its own.
    let mut crm = Client::operator(&server, "8003", "9003");
    crm.request_ok("<MsgType>1026</MsgType><Target>8002</Target><Data>x</Data>");
    assert_eq!(b.expect("6026")["From"], "8003");
    // A trunk with no call has no flow to take data.
    crm.send("<MsgType>1026</MsgType><Target>ch:1</Target><Data>x</Data>");
    assert_refused(&crm.expect("9000"), "the channel has no call");
    crm.send("<MsgType>1026</MsgType><Target>8005</Target><Data>x</Data>");
    assert_refused(&crm.expect("9000"), "no agent 8005");
}

/// A one-request HTTP server answering `status`; sends back the request head.
fn phone(status: u16) -> (String, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut head = String::new();
        let mut r = BufReader::new(s.try_clone().unwrap());
        loop {
            let mut line = String::new();
            if r.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                break;
            }
            head.push_str(&line);
        }
        write!(
            s,
            "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        tx.send(head).unwrap();
    });
    (addr, rx)
}

#[test]
fn phone_control_forwards_the_key_with_basic_auth() {
    // The test's phones are on this machine.
    let server = Server::with_config(
        support::DEFAULT_CONFIG,
        &[("SPCTI_PHONE__ALLOW", "127.0.0.1")],
    );
    let mut c = Client::operator(&server, "8005", "9005");
    let (addr, head) = phone(200);
    let r = c.request_ok(&format!(
        "<MsgType>1031</MsgType><PhoneIP>{addr}</PhoneIP><Key>number=1002</Key><OutgoingUri>sip:1002@pbx</OutgoingUri>"
    ));
    assert_eq!(r["ResultSTR"], "HTTP 200");
    let head = head.recv_timeout(PROMPT).unwrap();
    assert!(
        head.starts_with("GET /servlet?key=number=1002&outgoing_uri=sip:1002@pbx HTTP/1.1"),
        "{head}"
    );
    // admin:admin
    assert!(
        head.to_ascii_lowercase()
            .contains("authorization: basic ywrtaw46ywrtaw4="),
        "{head}"
    );

    let (addr, head) = phone(401);
    c.send(&format!(
        "<MsgType>1031</MsgType><PhoneIP>{addr}</PhoneIP><Key>OFFHOOK</Key><User>u</User><Password>p</Password>"
    ));
    assert_refused(&c.expect("9000"), "HTTP 401");
    assert!(
        head.recv_timeout(PROMPT)
            .unwrap()
            .to_ascii_lowercase()
            .contains("basic dtpw")
    );

    c.send("<MsgType>1031</MsgType><PhoneIP>127.0.0.1/evil</PhoneIP><Key>OFFHOOK</Key>");
    assert_refused(&c.expect("9000"), "not an IP address");
    // Nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    c.send(&format!(
        "<MsgType>1031</MsgType><PhoneIP>127.0.0.1:{port}</PhoneIP><Key>OFFHOOK</Key>"
    ));
    assert_refused(&c.expect("9000"), "did not answer");
}

#[test]
fn a_ready_agent_whose_phone_is_off_the_hook_is_not_offered_calls() {
    let server = Server::start();
    let mut a = Client::login(&server, "8001", "1001");
    server.act("/sim/extensions/8001/offhook", None);
    let (trunk, guid) = server.call("13800138000", "4008001234");
    server.through_ivr(trunk);
    let stats = |a: &mut Client| {
        a.send("<MsgType>1013</MsgType><GroupNo>1</GroupNo>");
        a.expect("9014")
    };
    let deadline = std::time::Instant::now() + PROMPT;
    while stats(&mut a)["Queued"] != "1" {
        assert!(
            std::time::Instant::now() < deadline,
            "the call never queued"
        );
    }
    // Offering it would only bounce off the lifted phone (it used to, in a
    // tight loop): no screen pop, and the seat is left alone.
    server.idle();
    a.got_no("6003", "offered to a lifted phone");
    assert_eq!(server.channel(seat_ch(8001))["state"], "offhook");
    assert_eq!(stats(&mut a)["Ready"], "0");

    server.act("/sim/extensions/8001/onhook", None);
    assert_eq!(a.expect("6003")["TellGUID"], guid.as_str());
    server.wait_channel(seat_ch(8001), "ringing", |c| c["state"] == "ringing");
}

#[test]
fn a_reply_comes_before_the_events_its_request_caused() {
    let server = Server::start();
    let mut c = Client::new(&server);
    for (request, state) in [
        (
            "<MsgType>1001</MsgType><TelNum>8001</TelNum><WorkNo>1001</WorkNo>",
            "ready",
        ),
        ("<MsgType>1002</MsgType><TelNum>8001</TelNum>", "busy"),
        ("<MsgType>1004</MsgType><TelNum>8001</TelNum>", "offline"),
    ] {
        c.send(request);
        assert_eq!(c.expect("9000")["Result"], "1");
        assert!(
            c.pending().is_empty(),
            "an event came before the reply to {request}: {:?}",
            c.pending()
        );
        assert_eq!(c.expect("6001")["AgentState"], state);
    }
}

/// Two agents pick up the same ringing call at the same moment: exactly one
/// gets it (9040 naming the call, its seat rings, its pop), the other is
/// refused with the reason and nothing else happens to it.
#[test]
fn two_agents_picking_up_one_call_at_once_one_wins() {
    let server = Server::start();
    let mut a = Client::login(&server, "8001", "1001");
    let mut pickers: Vec<(u32, Client)> = [8002u32, 8003]
        .into_iter()
        .map(|ext| {
            let c = Client::operator(&server, &ext.to_string(), &(ext - 7000).to_string());
            (ext, c)
        })
        .collect();
    let (trunk, guid) = server.ringing(&mut a, 8001);
    server.advance(6_000);
    for (ext, c) in &pickers {
        c.send(&format!(
            "<MsgType>1010</MsgType><TelNum>{ext}</TelNum><Target>1</Target>"
        ));
    }
    let answers: Vec<(u32, Value)> = pickers
        .iter_mut()
        .map(|(ext, c)| (*ext, c.expect("9040")))
        .collect();
    let trunk_ch = trunk.to_string();
    let won: Vec<u32> = answers
        .iter()
        .filter(|(_, r)| r["ResultCH"] == trunk_ch.as_str())
        .map(|(ext, _)| *ext)
        .collect();
    assert_eq!(won.len(), 1, "exactly one wins: {answers:?}");
    let (winner, loser) = (won[0], if won[0] == 8002 { 8003 } else { 8002 });
    let lost = &answers.iter().find(|(e, _)| *e == loser).unwrap().1;
    assert_eq!(lost["ResultCH"], "-1", "{lost}");
    assert!(
        !lost["ResultSTR"].as_str().unwrap_or_default().is_empty(),
        "the refusal says why: {lost}"
    );

    let w = &mut pickers.iter_mut().find(|(e, _)| *e == winner).unwrap().1;
    assert_eq!(w.expect("6003")["TellGUID"], guid.as_str());
    server.wait_channel(seat_ch(winner), "ringing", |c| c["state"] == "ringing");
    server.wait_channel(seat_ch(8001), "stopped", |c| c["state"] == "free");
    server.act(&format!("/sim/extensions/{winner}/offhook"), None);
    w.expect("6004");
    server.wait_channel(trunk, "linked to the winner", |c| {
        c["link"] == seat_ch(winner)
    });
    // The loser's seat never rang and its agent got no pop.
    server.idle();
    assert_eq!(server.channel(seat_ch(loser))["state"], "free");
    let l = &mut pickers.iter_mut().find(|(e, _)| *e == loser).unwrap().1;
    l.got_no("6003", "the loser got a pop");
}
