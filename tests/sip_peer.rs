//! The SIP endpoint (actors/src/sip/endpoint.rs) against a real SIP
//! peer: sipp (Debian's `sip-tester`) registers a seat through the digest
//! challenge and asks OPTIONS, and every torture message is sent over
//! real UDP and answered as RFC 4475 / 5118 say. The test drives the
//! endpoint's socket itself (the driver that will own it is not built
//! yet).
//!
//! Every test here runs inside its own network namespace with only
//! loopback (`ip netns`; removed afterwards), so whatever a message names,
//! nothing can leave the machine: the test re-runs itself under
//! `ip netns exec`.

mod support;

use std::net::UdpSocket;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use spcti_actors::sip::digest::Challenger;
use spcti_actors::sip::endpoint::{Endpoint, Out};
use spcti_actors::sip::registrar::{Limits, Registrar};
use spcti_actors::sip::transaction::{Timers, Transactions, Transport};
use spcti_protocol::sip::Policy;

use support::netns::inside_netns;

/// The scenario: REGISTER, its 401 answered with the credentials, 200;
/// then OPTIONS, 200.
fn scenario(password: &str, final_code: u16) -> String {
    let register = |cseq: u32, auth: &str| {
        format!(
            r#"  <send retrans="500"><![CDATA[
REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:8001@[remote_ip]>;tag=[pid]SIPpTag00[call_number]
To: <sip:8001@[remote_ip]>
Call-ID: [call_id]
CSeq: {cseq} REGISTER
Contact: <sip:8001@[local_ip]:[local_port]>
{auth}Max-Forwards: 70
Expires: 600
User-Agent: sipp
Content-Length: 0

]]></send>
"#
        )
    };
    let options = if final_code == 200 {
        r#"  <send retrans="500"><![CDATA[
OPTIONS sip:[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:8001@[remote_ip]>;tag=[pid]SIPpTag01[call_number]
To: <sip:[remote_ip]>
Call-ID: [call_id]
CSeq: 1 OPTIONS
Max-Forwards: 70
Content-Length: 0

]]></send>
  <recv response="200"/>
"#
    } else {
        ""
    };
    format!(
        r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="register">
{}  <recv response="401" auth="true"/>
{}  <recv response="{final_code}"/>
{options}</scenario>
"#,
        register(1, ""),
        register(
            2,
            &format!("[authentication username=8001 password={password}]\n")
        ),
    )
}

/// Serves the endpoint on `socket` until sipp exits; answers sipp's exit
/// status, its output, and the endpoint's reports.
fn endpoint() -> Endpoint {
    Endpoint::new(
        Policy::default(),
        Transport::Unreliable,
        Transactions::new(Timers::default()),
        Registrar::new(
            Challenger::new("spcti", "test-secret", Duration::from_secs(300)),
            Limits::default(),
        ),
    )
}

fn serve_until_sipp_ends(
    socket: &UdpSocket,
    scenario_xml: &str,
) -> (bool, String, Vec<Out>, Endpoint) {
    let mut e = endpoint();
    let dir = tempfile::tempdir().unwrap();
    let sf = dir.path().join("register.xml");
    std::fs::write(&sf, scenario_xml).unwrap();
    let port = socket.local_addr().unwrap().port();
    // A free port for sipp's own socket.
    let own = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut sipp = Command::new("sipp")
        .arg(format!("127.0.0.1:{port}"))
        .args(["-sf", sf.to_str().unwrap(), "-m", "1", "-i", "127.0.0.1"])
        .args(["-p", &own.to_string()])
        .args(["-timeout", "20s", "-nostdin", "-trace_err", "-trace_msg"])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start sipp");
    let t0 = Instant::now();
    let pw = |ext: &str| (ext == "8001").then(|| "secret".to_owned());
    let mut reports = Vec::new();
    socket
        .set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    let mut buf = [0u8; 65_535];
    let status = loop {
        let now = t0.elapsed();
        let now_s = 1_000 + now.as_secs();
        let mut outs = Vec::new();
        if let Ok((n, from)) = socket.recv_from(&mut buf) {
            outs.extend(e.datagram(from, &buf[..n], t0.elapsed(), now_s, pw));
        }
        if e.next_wake().is_some_and(|w| w <= t0.elapsed()) {
            outs.extend(e.tick(t0.elapsed(), now_s));
        }
        for o in outs {
            match o {
                Out::Send(to, bytes) => {
                    socket.send_to(&bytes, to).unwrap();
                }
                other => reports.push(other),
            }
        }
        if let Some(s) = sipp.try_wait().unwrap() {
            break Some(s);
        }
        if t0.elapsed() > Duration::from_secs(25) {
            let _ = sipp.kill();
            let _ = sipp.wait();
            break None;
        }
    };
    let mut text = String::new();
    for f in std::fs::read_dir(dir.path()).unwrap().flatten() {
        if f.path().extension().is_some_and(|x| x == "log") {
            text.push_str(&std::fs::read_to_string(f.path()).unwrap_or_default());
        }
    }
    let Some(status) = status else {
        panic!("sipp never ended; its messages and errors:\n{text}\nreports: {reports:?}");
    };
    (status.success(), text, reports, e)
}

#[test]
fn sipp_registers_a_seat_through_the_digest_challenge_and_asks_options() {
    if !inside_netns("sipp_registers_a_seat_through_the_digest_challenge_and_asks_options") {
        return;
    }
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let (ok, log, reports, e) = serve_until_sipp_ends(&socket, &scenario("secret", 200));
    assert!(ok, "sipp failed:\n{log}");
    assert!(
        reports.contains(&Out::Registered("8001".into())),
        "{reports:?}"
    );
    let b = e.registrar.binding("8001", 1_001).expect("8001 bound");
    assert!(b.contact.starts_with("sip:8001@127.0.0.1:"), "{b:?}");
    assert_eq!(b.user_agent, "sipp");
}

#[test]
fn sipp_with_the_wrong_password_is_refused() {
    if !inside_netns("sipp_with_the_wrong_password_is_refused") {
        return;
    }
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let (ok, log, reports, e) = serve_until_sipp_ends(&socket, &scenario("guess", 403));
    assert!(ok, "sipp did not see its 403:\n{log}");
    assert!(reports.is_empty(), "{reports:?}");
    assert!(e.registrar.binding("8001", 1_001).is_none());
}

/// Every RFC 4475 / RFC 5118 torture message sent over real UDP: each
/// gets the answer `expected.tsv` gives (or none, where it says drop),
/// answers go back to the sender whatever host the message names, and the
/// endpoint still answers OPTIONS after all of them.
#[test]
fn torture_datagrams_over_udp_get_their_answers() {
    if !inside_netns("torture_datagrams_over_udp_get_their_answers") {
        return;
    }
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/sip-torture");
    let server = UdpSocket::bind("127.0.0.1:0").unwrap();
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    server
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    client
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let to = server.local_addr().unwrap();
    let mut e = endpoint();
    let pw = |_: &str| None::<String>;
    let exchange = |bytes: &[u8], e: &mut Endpoint| -> Vec<u16> {
        client.send_to(bytes, to).unwrap();
        let mut buf = [0u8; 65_535];
        let (n, from) = server.recv_from(&mut buf).expect("the datagram arrives");
        for o in e.datagram(from, &buf[..n], Duration::ZERO, 1_000, pw) {
            if let Out::Send(addr, reply) = o {
                assert_eq!(
                    addr,
                    client.local_addr().unwrap(),
                    "answers go to the sender"
                );
                server.send_to(&reply, addr).unwrap();
            }
        }
        let mut codes = Vec::new();
        while let Ok(n) = client.recv(&mut buf) {
            let m = spcti_protocol::sip::Message::parse(&buf[..n]).expect("our answer frames");
            codes.push(m.code().expect("an answer is a response"));
        }
        codes
    };
    let table = std::fs::read_to_string(format!("{dir}/expected.tsv")).unwrap();
    let mut wrong = Vec::new();
    for line in table.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let file = if cols[0].starts_with("rfc5118/") {
            format!("{dir}/{}", cols[0])
        } else {
            format!("{dir}/rfc4475/{}", cols[0])
        };
        let bytes = std::fs::read(&file).unwrap();
        let codes = exchange(&bytes, &mut e);
        let ok = match cols[2] {
            "drop" => codes.is_empty(),
            "reject" => codes.is_empty() || codes == [400],
            "either" => true,
            "parse" => !codes.contains(&400),
            code => codes == [code.parse::<u16>().unwrap()],
        };
        if !ok {
            wrong.push(format!("{}: expected {}, got {codes:?}", cols[0], cols[2]));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    let options = b"OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKlast\r\nMax-Forwards: 70\r\nFrom: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:127.0.0.1>\r\nCall-ID: last@h\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
    assert_eq!(exchange(options, &mut e), [200]);
}
