//! The WebSocket monitor over real sockets: the snapshot on connect, live
//! changes, JSON frames, and a stalled watcher that neither hurts calls nor
//! stays connected for ever.

mod support;

use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use serde_json::Value;
use spcti_protocol::{TextEncoding, decode, to_json};
use support::{Client, Server};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

type Ws = WebSocket<MaybeTlsStream<TcpStream>>;

fn connect(addr: SocketAddr, query: &str) -> Ws {
    let (ws, resp) =
        tungstenite::connect(format!("ws://{addr}/{query}")).expect("monitor connects");
    assert_eq!(resp.status(), 101);
    if let MaybeTlsStream::Plain(s) = ws.get_ref() {
        s.set_read_timeout(Some(support::PROMPT)).unwrap();
    }
    ws
}

/// The next frame as JSON, whichever the format.
fn next(ws: &mut Ws) -> Value {
    loop {
        match ws.read().expect("a frame") {
            Message::Text(t) => {
                let t = t.as_str();
                return if t.starts_with('{') {
                    serde_json::from_str(t).unwrap()
                } else {
                    to_json(&decode(t.as_bytes(), TextEncoding::Utf8).expect("valid XML frame"))
                };
            }
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected frame {other:?}"),
        }
    }
}

/// Frames until one satisfies `f`.
fn until(ws: &mut Ws, what: &str, f: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + support::PROMPT;
    let mut seen = Vec::new();
    loop {
        assert!(Instant::now() < deadline, "never saw {what}; saw {seen:#?}");
        let m = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| next(ws))) {
            Ok(m) => m,
            Err(_) => panic!("never saw {what}; saw {seen:#?}"),
        };
        seen.push(m.clone());
        if f(&m) {
            return m;
        }
    }
}

type Check<'a> = (&'a str, Box<dyn Fn(&Value) -> bool + 'a>);

/// Frames until each check has matched one, in whatever order they come
/// (different actors publish from different threads); returns the matches.
fn until_all(ws: &mut Ws, checks: Vec<Check<'_>>) -> Vec<Value> {
    let mut found: Vec<Option<Value>> = vec![None; checks.len()];
    while found.iter().any(Option::is_none) {
        let missing: Vec<&str> = checks
            .iter()
            .zip(&found)
            .filter(|(_, f)| f.is_none())
            .map(|(c, _)| c.0)
            .collect();
        let m = until(ws, &missing.join(", "), |_| true);
        for (i, (_, f)) in checks.iter().enumerate() {
            if found[i].is_none() && f(&m) {
                found[i] = Some(m.clone());
            }
        }
    }
    found.into_iter().map(Option::unwrap).collect()
}

#[test]
fn a_watcher_gets_every_channel_then_each_change() {
    let server = Server::start();
    let mut ws = connect(server.monitor, "");
    // Snapshot: 4 trunks and 5 seats, all free, and the group.
    let mut channels = Vec::new();
    let mut group = None;
    while channels.len() < 9 || group.is_none() {
        let m = until(&mut ws, "the snapshot", |_| true);
        match m["MsgType"].as_str() {
            Some("6012") => channels.push(m),
            Some("9014") => group = Some(m),
            other => panic!("unexpected {other:?} in the snapshot"),
        }
    }
    let mut nums: Vec<u32> = channels
        .iter()
        .map(|c| c["ChNum"].as_str().unwrap().parse().unwrap())
        .collect();
    nums.sort();
    assert_eq!(nums, (0..9).collect::<Vec<_>>());
    assert!(channels.iter().all(|c| c["State"] == "free"));
    assert_eq!(channels.iter().filter(|c| c["ChType"] == "seat").count(), 5);
    assert_eq!(group.unwrap()["GroupNo"], "1");

    // Live: an agent logs in, a call comes in, is answered.
    let mut agent = Client::login(&server, "8001", "1001");
    let ready = until(&mut ws, "6001 ready", |m| m["MsgType"] == "6001");
    assert_eq!(
        (ready["TelNum"].as_str(), ready["AgentState"].as_str()),
        (Some("8001"), Some("ready"))
    );
    let (trunk, guid) = server.call("13800138000", "4008001234");
    let ivr = until(&mut ws, "trunk in IVR", |m| {
        m["MsgType"] == "6012" && m["State"] == "ivr"
    });
    assert_eq!(ivr["ChNum"], trunk.to_string());
    assert_eq!(ivr["CallerNo"], "13800138000");
    assert_eq!(ivr["TellGUID"], guid.as_str());
    server.advance(2_000);
    let t = trunk.to_string();
    let seen = until_all(
        &mut ws,
        vec![
            (
                "the caller queued",
                Box::new(|m: &Value| {
                    m["MsgType"] == "6012" && m["ChNum"] == t.as_str() && m["State"] == "queued"
                }),
            ),
            (
                "the seat ringing",
                Box::new(|m: &Value| {
                    m["MsgType"] == "6012" && m["ChNum"] == "4" && m["State"] == "ringing"
                }),
            ),
            (
                "the group ringing an agent",
                Box::new(|m: &Value| m["MsgType"] == "9014" && m["Ringing"] == "1"),
            ),
        ],
    );
    assert_eq!(
        (seen[2]["GroupNo"].as_str(), seen[2]["Ready"].as_str()),
        (Some("1"), Some("0"))
    );
    agent.expect("6003");
    server.act("/sim/extensions/8001/offhook", None);
    let seen = until_all(
        &mut ws,
        vec![
            (
                "the trunk talking",
                Box::new(|m: &Value| {
                    m["MsgType"] == "6012" && m["ChNum"] == t.as_str() && m["State"] == "talking"
                }),
            ),
            (
                "the agent talking",
                Box::new(|m: &Value| m["MsgType"] == "6001" && m["AgentState"] == "talking"),
            ),
        ],
    );
    let talking = &seen[0];
    assert_eq!(
        (
            talking["LinkCh"].as_str(),
            talking["TelNum"].as_str(),
            talking["WorkNo"].as_str()
        ),
        (Some("4"), Some("8001"), Some("1001"))
    );
    server.act("/sim/extensions/8001/onhook", None);
    let seen = until_all(
        &mut ws,
        vec![
            (
                "the trunk free again",
                Box::new(|m: &Value| {
                    m["MsgType"] == "6012" && m["ChNum"] == t.as_str() && m["State"] == "free"
                }),
            ),
            (
                "the group's counters",
                Box::new(|m: &Value| m["MsgType"] == "9014" && m["AnsweredToday"] == "1"),
            ),
        ],
    );
    assert_eq!(seen[1]["Queued"], "0");

    // A second watcher connecting now sees the present, not the past: the
    // call that ended is gone, a new one in the IVR is there.
    let (now, _) = server.call("13900139000", "4008001234");
    server.wait_channel(now, "in the IVR", |c| c["playing"] == "welcome");
    let mut late = connect(server.monitor, "");
    let mut seen = 0;
    while seen < 9 {
        let m = until(&mut late, "the late watcher's snapshot", |_| true);
        if m["MsgType"] == "6012" {
            if m["ChNum"] == now.to_string().as_str() {
                assert_eq!(
                    (m["State"].as_str(), m["CallerNo"].as_str()),
                    (Some("ivr"), Some("13900139000")),
                    "{m}"
                );
            } else {
                assert_eq!(m["State"], "free", "{m}");
            }
            seen += 1;
        }
    }
}

#[test]
fn json_frames_are_objects_keyed_by_tag() {
    let server = Server::start();
    let mut ws = connect(server.monitor, "?format=json");
    match ws.read().unwrap() {
        Message::Text(t) => {
            let v: Value = serde_json::from_str(t.as_str()).expect("a JSON object");
            assert_eq!(v["MsgType"], "6012");
            assert!(v["ChNum"].is_string() && v["State"] == "free", "{v}");
        }
        other => panic!("{other:?}"),
    }
    // An unknown format is refused with a JSON error, not a silent default.
    let err = tungstenite::connect(format!("ws://{}/?format=csv", server.monitor)).unwrap_err();
    match err {
        tungstenite::Error::Http(resp) => {
            assert_eq!(resp.status(), 400);
            let body: Value = serde_json::from_slice(resp.body().as_deref().unwrap()).unwrap();
            assert!(body["error"].as_str().unwrap().contains("csv"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_stalled_watcher_does_not_hold_calls_up() {
    let server = Server::start();
    // Connects and never reads a frame.
    let _stalled = connect(server.monitor, "");
    let mut agent = Client::login(&server, "8001", "1001");
    for i in 0..5 {
        server.answered_call(&mut agent, "8001", &format!("1380013800{i}"));
    }
    assert_eq!(server.call_records(5).len(), 5);
}

/// The monitor alone, in process, on a thread of its own, with the given
/// backlog and limits; returns its hub and address.
fn monitor_alone(
    backlog: usize,
    limits: spcti::gateway::monitor_ws::Limits,
) -> (spcti_actors::monitor::MonitorHub, SocketAddr) {
    let hub = spcti_actors::monitor::MonitorHub::with_backlog(backlog);
    let (tx, rx) = std::sync::mpsc::channel();
    let server_hub = hub.clone();
    std::thread::spawn(move || {
        actix::System::new().block_on(async move {
            let (server, addr) = spcti::gateway::monitor_ws::bind(
                "127.0.0.1:0".parse().unwrap(),
                server_hub,
                limits,
            )
            .unwrap();
            tx.send(addr).unwrap();
            server.await.unwrap();
        })
    });
    (hub, rx.recv().unwrap())
}

/// Channel `i % 64`'s state, numbered `i` in its caller (so a watcher can
/// check it got every change in order), padded to `pad` bytes.
fn numbered_status(i: u32, pad: usize) -> spcti_protocol::monitor::ChannelStatus {
    use spcti_protocol::{ChNum, ChType, ChannelState};
    spcti_protocol::monitor::ChannelStatus {
        ch_num: ChNum(i % 64),
        ch_type: ChType::Trunk,
        state: if i % 2 == 0 {
            ChannelState::Ivr
        } else {
            ChannelState::Free
        },
        tel_num: None,
        work_no: None,
        caller_no: i.to_string(),
        callee_no: String::new(),
        tell_guid: None,
        link_ch: None,
        agent_state: None,
        show_state: "x".repeat(pad),
        time: chrono::NaiveDate::from_ymd_opt(2026, 11, 24)
            .unwrap()
            .and_hms_opt(9, 0, 0)
            .unwrap(),
    }
}

/// 200 watchers at once, on the monitor's real ping and send timers (made
/// short): each gets the snapshot and every change in order, those that
/// answer pings stay connected, and one that reads nothing (so answers no
/// ping) is closed while the others stay.
#[test]
fn two_hundred_watchers_see_every_change_and_a_silent_one_is_dropped() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    const WATCHERS: usize = 200;
    const CHANGES: u32 = 100;
    let ping = Duration::from_millis(300);
    let (hub, addr) = monitor_alone(
        4096,
        spcti::gateway::monitor_ws::Limits {
            ping,
            send_timeout: Duration::from_secs(2),
        },
    );
    for i in 0..64 {
        hub.channel(numbered_status(i, 0));
    }
    let t0 = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let pings = Arc::new(AtomicUsize::new(0));
    let readers: Vec<_> = (0..WATCHERS)
        .map(|_| {
            let mut ws = connect(addr, "?format=json");
            let (stop, pings) = (stop.clone(), pings.clone());
            std::thread::spawn(move || {
                let mut frames = Vec::new();
                let mut pinged = false;
                // Short reads, so the thread sees `stop`; a timed-out read
                // leaves the connection usable.
                if let MaybeTlsStream::Plain(s) = ws.get_ref() {
                    s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
                }
                while !stop.load(Ordering::SeqCst) {
                    match ws.read() {
                        Ok(Message::Text(t)) => {
                            frames.push(serde_json::from_str::<Value>(t.as_str()).unwrap())
                        }
                        // tungstenite queues the pong and sends it on the
                        // next read.
                        Ok(Message::Ping(_)) => {
                            if !pinged {
                                pings.fetch_add(1, Ordering::SeqCst);
                                pinged = true;
                            }
                        }
                        Ok(other) => panic!(
                            "unexpected frame {other:?} after {} frames, pinged {pinged}, at {:?}",
                            frames.len(),
                            t0.elapsed()
                        ),
                        Err(tungstenite::Error::Io(e))
                            if matches!(
                                e.kind(),
                                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                            ) => {}
                        Err(e) => panic!("a reader's connection failed: {e}"),
                    }
                }
                frames
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    while hub.watchers() < WATCHERS {
        assert!(
            Instant::now() < deadline,
            "only {} subscribed",
            hub.watchers()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    for i in 64..64 + CHANGES {
        hub.channel(numbered_status(i, 0));
    }
    // One more that reads nothing: it misses two pings and the send time,
    // and goes; the 200 that read stay.
    let silent = connect(addr, "?format=json");
    while hub.watchers() <= WATCHERS {
        assert!(
            Instant::now() < deadline,
            "the silent watcher never subscribed"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    while hub.watchers() > WATCHERS {
        assert!(
            Instant::now() < deadline,
            "the silent watcher was never dropped"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // Two more ping intervals: nobody who answers is dropped.
    std::thread::sleep(ping * 2);
    assert_eq!(
        hub.watchers(),
        WATCHERS,
        "watchers that answer pings were dropped"
    );
    assert_eq!(
        pings.load(Ordering::SeqCst),
        WATCHERS,
        "every watcher was pinged"
    );
    stop.store(true, Ordering::SeqCst);
    for r in readers {
        let frames = r.join().unwrap();
        assert_eq!(frames.len(), 64 + CHANGES as usize);
        let callers: Vec<u32> = frames
            .iter()
            .map(|f| f["CallerNo"].as_str().unwrap().parse().unwrap())
            .collect();
        // The snapshot (one per channel), then every change in order.
        let mut snapshot = callers[..64].to_vec();
        snapshot.sort_unstable();
        assert_eq!(snapshot, (0..64).collect::<Vec<_>>());
        assert_eq!(callers[64..], (64..64 + CHANGES).collect::<Vec<_>>());
    }
    drop(silent);
}

/// The monitor alone, in process, with a tiny backlog and send timeout so a
/// watcher that stops reading is dropped quickly; the publisher never waits.
#[test]
fn a_watcher_that_falls_behind_is_dropped_and_can_reconnect() {
    let (hub, addr) = monitor_alone(
        8,
        spcti::gateway::monitor_ws::Limits {
            ping: Duration::from_secs(60),
            send_timeout: Duration::from_secs(1),
        },
    );
    let status = |i: u32| {
        let mut s = numbered_status(i, 1024);
        s.caller_no = "1".repeat(30);
        s
    };
    let mut stalled = connect(addr, "");
    let deadline = Instant::now() + Duration::from_secs(30);
    // The server subscribes the watcher just after the handshake.
    while hub.watchers() == 0 {
        assert!(Instant::now() < deadline, "the watcher never subscribed");
        std::thread::sleep(Duration::from_millis(1));
    }
    let mut i = 0;
    // Publish until the monitor lets the stalled watcher go.
    while hub.watchers() > 0 {
        assert!(
            Instant::now() < deadline,
            "the stalled watcher was never dropped"
        );
        for _ in 0..64 {
            hub.channel(status(i));
            i += 1;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    // What it gets when it reads at last (within the ping interval): the
    // frames that were already in the buffers, then a close saying why.
    loop {
        match stalled.read() {
            Ok(Message::Close(Some(c))) => {
                assert_eq!(u16::from(c.code), 1013, "{c:?}");
                assert!(c.reason.contains("reconnect"), "{c:?}");
                break;
            }
            Ok(Message::Close(None)) => panic!("closed without saying why"),
            Ok(_) => {}
            Err(e) => panic!("the connection ended without a close frame: {e}"),
        }
    }
    // Reconnecting gives a fresh snapshot: one frame per channel.
    let mut again = connect(addr, "?format=json");
    let mut seen = std::collections::HashSet::new();
    while seen.len() < 64 {
        let m = match again.read() {
            Ok(Message::Text(t)) => serde_json::from_str::<Value>(t.as_str()).unwrap(),
            Ok(_) => continue,
            Err(e) => panic!("after {} of 64 snapshot frames: {e}", seen.len()),
        };
        seen.insert(m["ChNum"].as_str().unwrap().to_owned());
    }
}

/// `[agent_udp] encoding = "gbk"` end to end: desks send GBK, every
/// datagram back is GBK on the wire (not UTF-8), Chinese text survives a
/// round trip between two desks, and the monitor (WebSocket text, always
/// UTF-8) shows the same characters.
#[test]
fn a_gbk_floor_speaks_gbk_on_the_wire_and_the_monitor_shows_the_same_text() {
    use std::net::UdpSocket;
    let server = Server::with_config(
        support::DEFAULT_CONFIG,
        &[("SPCTI_AGENT_UDP__ENCODING", "gbk")],
    );
    let gbk = |s: &str| encoding_rs::GBK.encode(s).0.into_owned();
    let desk = || {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        s.connect(server.agent_udp).unwrap();
        s.set_read_timeout(Some(support::PROMPT)).unwrap();
        s
    };
    // The next datagram of `msg_type` (raw bytes and decoded as GBK).
    let until = |s: &UdpSocket, msg_type: &str| -> (Vec<u8>, Value) {
        let mut buf = [0u8; 9000];
        loop {
            let n = s.recv(&mut buf).expect("a datagram");
            let m = to_json(&decode(&buf[..n], TextEncoding::Gbk).expect("GBK XML"));
            if m["MsgType"] == msg_type {
                return (buf[..n].to_vec(), m);
            }
        }
    };
    let a = desk();
    let b = desk();
    a.send(&gbk(
        "<MsgType>1001</MsgType><TelNum>8001</TelNum><WorkNo>1001</WorkNo>",
    ))
    .unwrap();
    assert_eq!(until(&a, "6001").1["AgentState"], "ready");
    b.send(&gbk(
        "<MsgType>1001</MsgType><TelNum>8002</TelNum><WorkNo>1002</WorkNo>",
    ))
    .unwrap();
    assert_eq!(until(&b, "6001").1["AgentState"], "ready");

    // A state text in Chinese comes back in GBK.
    a.send(&gbk(
        "<MsgType>1002</MsgType><TelNum>8001</TelNum><ShowState>午休</ShowState>",
    ))
    .unwrap();
    let (raw, m) = until(&a, "6001");
    assert_eq!(
        (m["AgentState"].as_str(), m["ShowState"].as_str()),
        (Some("busy"), Some("午休"))
    );
    assert!(std::str::from_utf8(&raw).is_err(), "not GBK on the wire");
    assert!(
        raw.windows(4).any(|w| w == gbk("午休")),
        "the GBK bytes of 午休"
    );

    // Chinese data from one desk to another, both ways GBK.
    a.send(&gbk(
        "<MsgType>1026</MsgType><Target>8002</Target><Data>客户：张三，订单7731</Data>",
    ))
    .unwrap();
    let (raw, m) = until(&b, "6026");
    assert_eq!(
        (m["From"].as_str(), m["Data"].as_str()),
        (Some("8001"), Some("客户：张三，订单7731"))
    );
    assert!(std::str::from_utf8(&raw).is_err(), "not GBK on the wire");

    // The monitor shows the same characters, as UTF-8 text.
    let mut ws = connect(server.monitor, "?format=json");
    let seen = until_agent(&mut ws, "8001");
    assert_eq!(seen["ShowState"], "午休");
}

/// The monitor's 6001 for `tel` (from its snapshot or a change).
fn until_agent(ws: &mut Ws, tel: &str) -> Value {
    until(ws, &format!("agent {tel}'s state"), |m| {
        m["MsgType"] == "6001" && m["TelNum"] == tel
    })
}
