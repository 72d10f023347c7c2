//! Every control surface authenticated, confined and rate-limited, tried
//! the way a hostile client on the same network would, over real UDP and
//! HTTP against the real binary: the admin token under every spelling of a
//! path, `/sim` behind the token, the agent port's allow list, seats bound
//! to their client's address, supervisor roles, passwords, 1031/1015/1011
//! confined, log lines escaped and limited, strict parsing, and one reply
//! for every request.

mod support;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::process::{Command, Stdio};
use std::time::Duration;

use support::{Client, DEFAULT_CONFIG, PROMPT, Server, assert_refused};

const TOKEN: &str = "t0ken-a1b2";

/// A raw HTTP/1.1 exchange, so the path goes out exactly as written (an
/// HTTP library would normalise it): (status, headers, body).
fn raw(server: &Server, method: &str, path: &str, token: bool) -> (u16, String, String) {
    let mut s = TcpStream::connect(server.admin).unwrap();
    s.set_read_timeout(Some(PROMPT)).unwrap();
    let auth = if token {
        format!("Authorization: Bearer {TOKEN}\r\n")
    } else {
        String::new()
    };
    let body = if method == "POST" || method == "PUT" {
        r#"{"phone":"13800138000","name":"Mallory"}"#
    } else {
        ""
    };
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    let status = out
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP answer to {method} {path}: {out:?}"));
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    (status, head.to_ascii_lowercase(), body.to_owned())
}

fn with_token() -> Server {
    Server::with_config(
        DEFAULT_CONFIG,
        &[
            ("SPCTI_ADMIN__TOKEN", TOKEN),
            ("SPCTI_ADMIN__FAULT_INJECTION", "true"),
        ],
    )
}

#[test]
fn no_spelling_of_a_guarded_path_walks_around_the_token() {
    let server = with_token();
    let guarded = [
        ("GET", "/%61pi/actors"),
        ("GET", "/ap%69/calls"),
        ("GET", "/%6detrics"),
        ("GET", "/%6Detrics"),
        ("GET", "/api/%61ctors"),
        ("GET", "/api/openapi.json"),
        ("POST", "/%61pi/customers"),
        ("POST", "/%61pi/actors/agent:8001/crash"),
        ("POST", "/%61pi/actors/router/restart"),
        ("GET", "//api/actors"),
        ("GET", "/api//actors"),
        ("GET", "/./api/actors"),
        ("GET", "/api/./actors"),
        ("GET", "/x/../api/actors"),
        ("GET", "/api/../api/actors"),
        ("GET", "/%2e%2e/api/actors"),
        ("GET", "/API/actors"),
        ("GET", "/Api/Actors"),
        ("GET", "/METRICS"),
        ("GET", "/%73im/channels"),
        ("POST", "/%73im/calls"),
        ("GET", "/sim/channels"),
        ("POST", "/sim/clock/advance"),
        ("GET", "/sim/clock"),
        ("POST", "/sim/idle"),
        ("GET", "/api/actors?x=/api/health"),
        ("GET", "/api/health/../actors"),
    ];
    for (method, path) in guarded {
        let (status, _, body) = raw(&server, method, path, false);
        assert!(
            status == 401 || status == 404,
            "{method} {path} without a token answered {status}: {body}"
        );
    }
    // Nothing was created or crashed on the way.
    let (status, _, body) = raw(&server, "GET", "/api/customers", true);
    assert_eq!(status, 200);
    assert_eq!(body.trim(), "[]", "a customer was created: {body}");
    let (_, _, actors) = raw(&server, "GET", "/api/actors", true);
    assert!(!actors.contains("\"restarts\":1"), "{actors}");
    // The encoded spellings do reach the guarded routes (so the guard,
    // not a failed match, refused them above).
    for path in ["/%61pi/actors", "/%6detrics", "/%73im/channels"] {
        assert_eq!(
            raw(&server, "GET", path, true).0,
            200,
            "{path} with the token"
        );
    }
    // Public: the health check and the pages.
    assert_eq!(raw(&server, "GET", "/api/health", false).0, 200);
    assert_eq!(raw(&server, "GET", "/", false).0, 200);
}

#[test]
fn a_known_path_with_a_method_it_lacks_is_405_with_allow() {
    let server = with_token();
    for (method, path, allow) in [
        ("TRACE", "/api/actors", "get"),
        ("DELETE", "/api/actors", "get"),
        ("PUT", "/api/customers", "get, post"),
        ("POST", "/api/customers/1", "get, put, delete"),
        ("DELETE", "/metrics", "get"),
        ("GET", "/sim/calls", "post"),
        ("POST", "/api/health", "get"),
    ] {
        let (status, head, body) = raw(&server, method, path, true);
        assert_eq!(status, 405, "{method} {path}: {body}");
        assert!(
            head.contains(&format!("allow: {allow}\r\n"))
                || head.ends_with(&format!("allow: {allow}")),
            "{method} {path}: {head}"
        );
        assert!(body.contains("\"error\""), "{body}");
    }
    // Without the token a guarded path says 401 first, whatever the method.
    assert_eq!(raw(&server, "TRACE", "/api/actors", false).0, 401);
    // A query parameter given twice (an array) is refused, not half-read.
    let (status, _, body) = raw(&server, "GET", "/api/calls?page=1&page=2", true);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("duplicate field `page`"), "{body}");
}

#[test]
fn datagrams_from_outside_the_allow_list_are_dropped_and_counted() {
    let server = Server::with_config(
        DEFAULT_CONFIG,
        &[("SPCTI_AGENT_UDP__ALLOW", "127.0.0.2/32")],
    );
    let outsider = UdpSocket::bind("127.0.0.1:0").unwrap();
    outsider.connect(server.agent_udp).unwrap();
    for _ in 0..3 {
        outsider
            .send(b"<MsgType>1001</MsgType><TelNum>8001</TelNum><WorkNo>1001</WorkNo>")
            .unwrap();
    }
    // Inside the list: answered. Its reply comes after the outsider's
    // datagrams were read (one socket, read in order).
    let mut insider = Client::from_ip(&server, "127.0.0.2");
    insider.request_ok("<MsgType>1001</MsgType><TelNum>8002</TelNum><WorkNo>1002</WorkNo>");
    outsider
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut buf = [0u8; 9000];
    assert!(
        outsider.recv(&mut buf).is_err(),
        "the outsider got an answer"
    );
    assert_eq!(server.metric("spcti_agent_udp_dropped_total"), 3.0);
    // Not logged in: the outsider's 1001 never reached the actors.
    let (_, agents) = server.http("GET", "/api/agents", None);
    let agents = agents.to_string();
    assert!(!agents.contains("\"8001\""), "{agents}");
}

#[test]
fn a_seat_answers_only_to_the_address_it_logged_in_from() {
    let server = Server::start();
    let mut a = Client::login(&server, "8001", "1001");
    let mut b = Client::from_ip(&server, "127.0.0.2");
    for req in [
        "<MsgType>1099</MsgType><TelNum>8001</TelNum>",
        "<MsgType>1002</MsgType><TelNum>8001</TelNum>",
        "<MsgType>1004</MsgType><TelNum>8001</TelNum>",
        "<MsgType>1016</MsgType><TelNum>8001</TelNum><Mute>1</Mute>",
        "<MsgType>1003</MsgType><TelNum>8001</TelNum><CalleeNo>8002</CalleeNo>",
    ] {
        b.send(req);
        assert_refused(
            &b.expect("9000"),
            "8001 is logged in from another address; send 1001",
        );
    }
    // Still ready, and the screen pop goes to the agent's own client only.
    let (trunk, guid) = server.ringing(&mut a, 8001);
    server.idle();
    let stolen = b.arrived();
    assert!(stolen.is_empty(), "the other address got {stolen:?}");
    server.act(&format!("/sim/channels/{trunk}/hangup"), None);
    let _ = guid;
    // A 1001 from the new address takes the seat over: the old client is
    // told it is offline, the new one learns the seat's state.
    b.request_ok("<MsgType>1001</MsgType><TelNum>8001</TelNum><WorkNo>1001</WorkNo>");
    b.expect_state("ready");
    a.expect_state("offline");
    a.send("<MsgType>1002</MsgType><TelNum>8001</TelNum>");
    assert_refused(&a.expect("9000"), "logged in from another address");
    let _ = a.drain(Duration::from_millis(100));
    let (_, guid) = server.ringing(&mut b, 8001);
    assert!(!guid.is_empty());
    server.idle();
    a.got_no("6003", "the old address got the pop");
}

#[test]
fn requests_need_a_logged_in_sender_and_supervisor_requests_a_supervisor() {
    let server = Server::with_config(DEFAULT_CONFIG, &[("SPCTI_SYS__SUPERVISORS", "9000")]);
    let mut a = Client::login(&server, "8001", "1001");
    let (trunk, _) = server.talking(&mut a, 8001);
    // Never logged in.
    let mut nobody = Client::from_ip(&server, "127.0.0.3");
    for req in [
        format!("<MsgType>1027</MsgType><ChNum>{trunk}</ChNum>"),
        "<MsgType>1013</MsgType>".to_owned(),
        "<MsgType>1032</MsgType>".to_owned(),
        "<MsgType>1026</MsgType><Target>8001</Target><Data>x</Data>".to_owned(),
        "<MsgType>1011</MsgType><TelNum>8001</TelNum>".to_owned(),
        "<MsgType>1031</MsgType><PhoneIP>10.0.0.7</PhoneIP><Key>OFFHOOK</Key>".to_owned(),
    ] {
        nobody.send(&req);
        assert_refused(
            &nobody.expect("9000"),
            "no agent is logged in from this address",
        );
    }
    // An ordinary agent (allowed as an unknown agent) is no supervisor.
    let mut m = Client::operator(&server, "8002", "4242");
    for req in [
        "<MsgType>1019</MsgType><TelNum>8002</TelNum><Target>8001</Target>".to_owned(),
        "<MsgType>1020</MsgType><TelNum>8002</TelNum><Target>8001</Target>".to_owned(),
        "<MsgType>1021</MsgType><TelNum>8002</TelNum><Target>8001</Target>".to_owned(),
        "<MsgType>1022</MsgType><TelNum>8002</TelNum><Target>8001</Target>".to_owned(),
        format!("<MsgType>1027</MsgType><ChNum>{trunk}</ChNum>"),
        "<MsgType>1015</MsgType><IP>127.0.0.1</IP><Port>9</Port>".to_owned(),
        "<MsgType>1011</MsgType><TelNum>8001</TelNum>".to_owned(),
        "<MsgType>1028</MsgType><TimerNo>1</TimerNo>".to_owned(),
        "<MsgType>1030</MsgType><VarName>x</VarName>".to_owned(),
    ] {
        m.send(&req);
        assert_refused(&m.expect("9000"), "only supervisors may do this");
    }
    // About itself it may ask; a supervisor's seat must be its own.
    m.send("<MsgType>1011</MsgType><TelNum>8002</TelNum>");
    assert_eq!(m.expect("9011")["MsgType"], "9011");
    m.send("<MsgType>1019</MsgType><TelNum>8003</TelNum><Target>8001</Target>");
    assert_refused(&m.expect("9000"), "8003 is not logged in");
    // The call goes on; the supervisor may.
    assert_eq!(server.channel(trunk)["state"], "talking");
    let mut sup = Client::operator(&server, "8003", "9000");
    sup.request_ok("<MsgType>1022</MsgType><TelNum>8003</TelNum><Target>8001</Target>");
    a.expect("6008");
}

fn hash(password: &str) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_spcti"))
        .arg("hash-password")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[test]
fn agents_with_a_password_need_it_and_guessing_locks_the_address_out() {
    let config = format!(
        "{DEFAULT_CONFIG}\n[[agent]]\nwork_no = \"2001\"\ngroups = [{{ no = 1 }}]\npassword_hash = \"{}\"\n",
        hash("corr3ct horse")
    );
    let server = Server::with_config(&config, &[]);
    // The original's clients (no Password) still log in where none is set.
    let _plain = Client::login(&server, "8001", "1001");
    let mut c = Client::new(&server);
    let login =
        |pw: &str| format!("<MsgType>1001</MsgType><TelNum>8002</TelNum><WorkNo>2001</WorkNo>{pw}");
    c.send(&login(""));
    assert_refused(&c.expect("9000"), "this agent needs a Password");
    c.send(&login("<Password>wrong</Password>"));
    assert_refused(&c.expect("9000"), "wrong password");
    c.request_ok(&login("<Password>corr3ct horse</Password>"));
    c.expect_state("ready");
    // Nobody takes the seat over without the password.
    let mut thief = Client::from_ip(&server, "127.0.0.2");
    thief.send("<MsgType>1001</MsgType><TelNum>8002</TelNum><WorkNo>6666</WorkNo>");
    assert_refused(&thief.expect("9000"), "agent with a password");
    // Guessing: five wrong passwords lock the address out, the right one too.
    for _ in 0..5 {
        thief.send(&login("<Password>guess</Password>"));
        assert_refused(&thief.expect("9000"), "wrong password");
    }
    thief.send(&login("<Password>corr3ct horse</Password>"));
    assert_refused(&thief.expect("9000"), "too many wrong passwords");
    // The agent's own address is not locked out.
    c.request_ok("<MsgType>1002</MsgType><TelNum>8002</TelNum>");
    let log = server.log();
    assert!(
        !log.contains("corr3ct") && !log.contains("guess"),
        "a password reached the log"
    );
}

#[test]
fn a_bad_password_hash_is_a_config_error_that_does_not_echo_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("spcti.toml");
    std::fs::write(
        &file,
        format!("{DEFAULT_CONFIG}\n[[agent]]\nwork_no = \"2001\"\npassword_hash = \"plaintext-secret\"\n"),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_spcti"))
        .args(["serve", "--config", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("agent[1].password_hash"), "{err}");
    assert!(!err.contains("plaintext-secret"), "{err}");
}

/// A TCP listener that accepts and never answers (a phone that hangs).
fn silent_phone() -> (TcpListener, String) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    (l, addr)
}

#[test]
fn phone_control_is_confined_and_bounded() {
    let server = Server::with_config(DEFAULT_CONFIG, &[("SPCTI_PHONE__ALLOW", "127.0.0.1")]);
    let mut c = Client::operator(&server, "8005", "9005");
    let admin_port = server.admin.port();
    for (ip, why) in [
        (
            format!("127.0.0.1:{admin_port}"),
            "one of this server's own ports".to_owned(),
        ),
        (
            format!("127.0.0.1:{}", server.agent_udp.port()),
            "own ports".to_owned(),
        ),
        ("10.1.2.3".to_owned(), "outside [phone] allow".to_owned()),
        ("localhost:80".to_owned(), "not an IP address".to_owned()),
        (
            "127.0.0.1/servlet".to_owned(),
            "not an IP address".to_owned(),
        ),
    ] {
        c.send(&format!(
            "<MsgType>1031</MsgType><PhoneIP>{ip}</PhoneIP><Key>OFFHOOK</Key>"
        ));
        assert_refused(&c.expect("9000"), &why);
    }
    // A flood at a phone that never answers: 4 run, 16 wait, the rest are
    // refused at once; the server's threads stay bounded.
    let (_phone, addr) = silent_phone();
    let req = format!("<MsgType>1031</MsgType><PhoneIP>{addr}</PhoneIP><Key>OFFHOOK</Key>");
    for _ in 0..30 {
        c.send(&req);
    }
    let mut busy = 0;
    let mut silent = 0;
    for _ in 0..30 {
        let r = c.expect_within("9000", Duration::from_secs(30));
        let why = r["ResultSTR"].as_str().unwrap();
        if why.contains("phone control is busy") {
            busy += 1;
        } else if why.contains("the phone did not answer") {
            silent += 1;
        } else {
            panic!("unexpected {r}");
        }
    }
    assert_eq!((busy, silent), (10, 20));
}

#[test]
fn monitor_platforms_and_ret_ip_are_confined_and_not_amplified() {
    let server = Server::start();
    let mut sup = Client::operator(&server, "8005", "9005");
    sup.send("<MsgType>1015</MsgType><IP>8.8.8.8</IP><Port>9</Port>");
    assert_refused(&sup.expect("9000"), "outside the networks");
    sup.send("<MsgType>1011</MsgType><ChNum>0</ChNum><RetIP>8.8.8.8</RetIP><RetPort>9</RetPort>");
    assert_refused(&sup.expect("9000"), "outside the networks");
    sup.send("<MsgType>1011</MsgType><ChNum>0</ChNum><RetIP>127.0.0.1</RetIP><RetPort>0</RetPort>");
    assert_refused(&sup.expect("9000"), "bad RetPort");
    sup.send("<MsgType>1015</MsgType><IP>127.0.0.1</IP><Port>0</Port>");
    assert_refused(&sup.expect("9000"), "bad Port");
    // A platform set again within 10 s gets no second snapshot.
    let platform = UdpSocket::bind("127.0.0.1:0").unwrap();
    platform
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let port = platform.local_addr().unwrap().port();
    let set = format!("<MsgType>1015</MsgType><IP>127.0.0.1</IP><Port>{port}</Port>");
    let count = || {
        let mut buf = [0u8; 9000];
        let mut n = 0;
        while platform.recv(&mut buf).is_ok() {
            n += 1;
        }
        n
    };
    sup.send(&set);
    assert_eq!(sup.expect("90991")["MAC"], "1");
    assert_eq!(count(), 9, "4 trunks and 5 seats");
    for _ in 0..5 {
        sup.send(&set);
        assert_eq!(sup.expect("90991")["MAC"], "1");
    }
    assert_eq!(count(), 0);
    server.advance(10_000);
    sup.send(&set);
    assert_eq!(sup.expect("90991")["MAC"], "1");
    assert_eq!(count(), 9);
}

#[test]
fn bad_datagrams_are_logged_escaped_and_limited_per_source() {
    let server = Server::start();
    let c = Client::new(&server);
    c.send_bytes(b"<Forged>x\n2026-11-30T00:00:00Z  INFO spcti: admin logged in\x1b[31m</Forged>");
    for i in 0..99 {
        c.send_bytes(format!("<MsgType>{i}x</MsgType").as_bytes());
    }
    let mut c = c;
    for _ in 0..100 {
        c.expect("9000");
    }
    let log = server.log();
    assert!(
        !log.lines().any(|l| l.starts_with("2026-11-30T00:00:00Z")),
        "a forged line:\n{log}"
    );
    assert!(!log.contains('\x1b'), "an escape reached the log");
    let lines = log.lines().filter(|l| l.contains("bad datagram")).count();
    assert_eq!(lines, 5, "{log}");
    assert_eq!(server.metric("spcti_agent_udp_log_suppressed_total"), 95.0);
}

#[test]
fn lax_inputs_are_refused_with_the_reason() {
    let server = Server::start();
    let mut c = Client::operator(&server, "8005", "9005");
    for (input, why) in [
        (&b"<MsgType>1013</MsgType><Ab\0c>1</Ab\0c>"[..], "is not a valid XML name"),
        (b"<MsgType>+1013</MsgType>", "unknown MsgType +1013"),
        (b"<MsgType>1013</MsgType><GroupNo>+1</GroupNo>", "bad GroupNo"),
        (b"<MsgType>1027</MsgType><ChNum>-0</ChNum>", "bad ChNum"),
        (
            b"<MsgType>1011</MsgType><TelNum>8005</TelNum><RetIP>127.0.0.1</RetIP><RetPort>0</RetPort>",
            "bad RetPort",
        ),
    ] {
        c.send_bytes(input);
        assert_refused(&c.expect("9000"), why);
    }
}

#[test]
fn a_request_whose_reply_cannot_fit_still_gets_one_reply() {
    let server = Server::start();
    let mut c = Client::operator(&server, "8005", "9005");
    let head = "<MsgType>1013</MsgType><Seq>";
    let tail = "</Seq>";
    let seq = "7".repeat(8192 - head.len() - tail.len());
    let datagram = format!("{head}{seq}{tail}");
    assert_eq!(datagram.len(), 8192);
    c.send(&datagram);
    let r = c.expect("9000");
    assert_refused(&r, "too large for one datagram");
    server.idle();
    let more = c.arrived();
    assert!(more.is_empty(), "more than one reply: {more:?}");
}
