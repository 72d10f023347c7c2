//! Real calls through the `sip` driver: the spcti binary with
//! `driver = "sip"`, sipp as the carrier and as the seat's phone, the
//! agent's desktop over UDP. Each test runs in its own loopback-only
//! network namespace (tests/support/netns.rs), where fixed ports are
//! safe: spcti on 5060, the carrier on 5080, the seat's phone on 5062.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::netns::inside_netns;
use support::{Client, Server};

const SIPP_SHARE: &str = "/usr/share/sip-tester";

/// spcti with one carrier trunk (2 channels: 0-1) and seat 8001 (channel 2).
fn config(trunk_auth: &str) -> String {
    config_with(trunk_auth, "")
}

/// The same, with more seats and agents (TOML appended).
fn config_with(trunk_auth: &str, more: &str) -> String {
    format!(
        r#"
[switch]
driver = "sip"

[sip]
bind = "127.0.0.1:5060"
rtp_ports = "20000-20099"
seat_passwords = "config"

[[sip.trunk]]
name = "carrier"
peer = "127.0.0.1:5080"
channels = 2
{trunk_auth}

[[sip.seat]]
ext = "8001"
password = "secret"

[[group]]
no = 1
name = "Service"
strategy = "longest-idle"

[[agent]]
work_no = "1001"
groups = [{{ no = 1, priority = 1 }}]
{more}"#
    )
}

/// A menu: key 1 queues for group 1 (so the caller's RFC 4733 key must
/// reach the engine for the call to ring anyone).
const MENU: &str = r#"{
  "name": "default", "start": "menu",
  "nodes": {
    "menu":  {"kind": "menu", "prompt": "welcome", "timeout_s": 10, "retries": 1,
              "choices": {"1": "sales"}, "fail": "bye", "x": 10, "y": 10},
    "sales": {"kind": "queue", "group": 1},
    "bye":   {"kind": "play", "prompt": "goodbye"}
  }
}"#;

fn start(config: &str) -> Server {
    let prompts = tempfile::tempdir().unwrap().keep();
    Server::with_flows(
        config,
        &[("default", MENU)],
        &[
            ("SPCTI_SERVER__CLOCK", "real"),
            ("SPCTI_SYS__PICKUP_MIN_RING_S", "1"),
            ("SPCTI_SIP__PROMPT_DIR", prompts.to_str().unwrap()),
            ("RUST_LOG", "info,spcti=debug,spcti_actors=debug"),
        ],
    )
}

/// A sipp run: the scenario written to a file in `dir`, sipp on local
/// port `port` towards spcti.
fn sipp(dir: &Path, name: &str, scenario: &str, port: u16, extra: &[&str]) -> Child {
    let sf = dir.join(format!("{name}.xml"));
    std::fs::write(&sf, scenario).unwrap();
    Command::new("sipp")
        .arg("127.0.0.1:5060")
        .args(["-sf", sf.to_str().unwrap(), "-m", "1", "-i", "127.0.0.1"])
        .args(["-p", &port.to_string()])
        .args(["-timeout", "40s", "-nostdin", "-trace_err", "-trace_msg"])
        .args(extra)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start sipp")
}

/// Waits for sipp to end; panics with its logs if it failed.
fn finished(mut child: Child, dir: &Path, what: &str, server: &Server) {
    let t0 = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if t0.elapsed() > Duration::from_secs(45) {
            let _ = child.kill();
            break child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    if !status.success() {
        let mut logs = String::new();
        for f in std::fs::read_dir(dir).unwrap().flatten() {
            if f.path().extension().is_some_and(|x| x == "log") {
                logs.push_str(&format!("--- {}\n", f.path().display()));
                logs.push_str(&std::fs::read_to_string(f.path()).unwrap_or_default());
            }
        }
        panic!(
            "{what}: sipp failed ({status})\n{logs}\n--- server\n{}",
            server.log()
        );
    }
}

/// A seat's phone registers (digest) and ends.
fn register_as(ext: &str) -> String {
    let register = |cseq: u32, auth: &str| {
        format!(
            r#"  <send retrans="500"><![CDATA[
REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:{ext}@[remote_ip]>;tag=[pid]SIPpTag00[call_number]
To: <sip:{ext}@[remote_ip]>
Call-ID: [call_id]
CSeq: {cseq} REGISTER
Contact: <sip:{ext}@[local_ip]:[local_port]>
{auth}Max-Forwards: 70
Expires: 600
User-Agent: sipp-seat
Content-Length: 0

]]></send>
"#
        )
    };
    format!(
        r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="register">
{}  <recv response="401" auth="true"/>
{}  <recv response="200"/>
</scenario>
"#,
        register(1, ""),
        register(
            2,
            &format!("[authentication username={ext} password=secret]\n")
        ),
    )
}

/// A phone (at `ext`, answering as sipp's `[pid]SIPpTag01`) hangs up its
/// call: BYE to spcti, whose From it kept as `$spcti`, and its 200.
fn phone_bye(ext: &str) -> String {
    format!(
        r#"  <send retrans="500"><![CDATA[
BYE sip:spcti@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:{ext}@[local_ip]:[local_port]>;tag=[pid]SIPpTag01[call_number]
To: [$spcti]
Call-ID: [call_id]
CSeq: 9 BYE
Max-Forwards: 70
Content-Length: 0

]]></send>
  <recv response="200"/>
"#
    )
}

/// The trunk channel carrying call `guid`, as `/api/channels` shows it.
fn trunk_of_call(server: &Server, guid: &str) -> Option<serde_json::Value> {
    let (_, all) = server.http("GET", "/api/channels", None);
    all.as_array()?
        .iter()
        .find(|c| c["TellGUID"] == guid && c["ChType"] != "seat")
        .cloned()
}

/// The first call record's recording, once it is on disk.
fn first_recording(server: &Server) -> PathBuf {
    let rows = server.call_records(1);
    let file = server
        .data_dir()
        .join("recordings")
        .join(rows[0].4.clone().expect("the call is recorded"));
    written(&file);
    file
}

/// A phone's (or carrier's) reply to the request it got: the request's
/// Via, From, Call-ID and CSeq, its To tagged as the dialog's when
/// `tagged`, then `rest` (headers, blank line, body).
fn reply(status: &str, tagged: bool, rest: &str) -> String {
    let to = if tagged {
        "[last_To:];tag=[pid]SIPpTag01[call_number]"
    } else {
        "[last_To:]"
    };
    format!(
        "  <send><![CDATA[\nSIP/2.0 {status}\n[last_Via:]\n[last_From:]\n{to}\n[last_Call-ID:]\n[last_CSeq:]\n{rest}]]></send>\n"
    )
}

/// A phone answering: 200 with its SDP (PCMA, telephone-event).
fn answer_with_sdp() -> String {
    reply(
        "200 OK",
        true,
        "Contact: <sip:phone@[local_ip]:[local_port]>\nContent-Type: application/sdp\nContent-Length: [len]\n\nv=0\no=phone 1 1 IN IP4 [local_ip]\ns=-\nc=IN IP4 [media_ip]\nt=0 0\nm=audio [media_port] RTP/AVP 8 101\na=rtpmap:8 PCMA/8000\na=rtpmap:101 telephone-event/8000\n",
    )
}

/// The seat's phone: rings, answers with SDP, says nothing, and takes
/// the BYE.
fn seat_answers() -> String {
    format!(
        r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="seat">
  <recv request="INVITE"/>
{}{}  <recv request="ACK"/>
  <recv request="BYE"/>
{}</scenario>
"#,
        reply(
            "180 Ringing",
            true,
            "Contact: <sip:phone@[local_ip]:[local_port]>\nContent-Length: 0\n\n"
        ),
        answer_with_sdp(),
        reply("200 OK", false, "Content-Length: 0\n\n"),
    )
}

/// The carrier's caller: calls 4008001234, presses 1 (RFC 4733) in the
/// menu, waits for the agent, talks (sipp's `g711a.pcap`, 7 s of speech)
/// and hangs up.
fn caller_scenario() -> String {
    caller(true)
}

/// The carrier's caller, speaking (g711a.pcap) or silent.
fn caller(speaks: bool) -> String {
    let speech = if speaks {
        format!(r#"<nop><action><exec play_pcap_audio="{SIPP_SHARE}/g711a.pcap"/></action></nop>"#)
    } else {
        String::new()
    };
    format!(
        r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="carrier">
  <send retrans="500"><![CDATA[
INVITE sip:4008001234@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: "Customer" <sip:13800138000@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:4008001234@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: <sip:13800138000@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

v=0
o=carrier 1 1 IN IP4 [local_ip]
s=-
c=IN IP4 [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 8 101
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-16
]]></send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200" rtd="true"/>
  <send><![CDATA[
ACK sip:4008001234@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: "Customer" <sip:13800138000@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:4008001234@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0

]]></send>
  <pause milliseconds="500"/>
  <nop><action><exec play_pcap_audio="{SIPP_SHARE}/dtmf_2833_1.pcap"/></action></nop>
  <pause milliseconds="2000"/>
  {speech}
  <pause milliseconds="7500"/>
  <send retrans="500"><![CDATA[
BYE sip:4008001234@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: "Customer" <sip:13800138000@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:4008001234@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 2 BYE
Max-Forwards: 70
Content-Length: 0

]]></send>
  <recv response="200"/>
</scenario>
"#
    )
}

/// Waits until the recording `file` is on disk with its audio (it is
/// closed just after the call's record is written).
fn written(file: &Path) {
    let t0 = Instant::now();
    while std::fs::metadata(file).map_or(0, |m| m.len()) < 1000 {
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "no recording at {}",
            file.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The root mean square of a WAV's samples between two times.
fn rms(path: &Path, from_s: f32, to_s: f32) -> f64 {
    let mut r = hound::WavReader::open(path).expect("a WAV recording");
    let rate = r.spec().sample_rate as f32;
    let samples: Vec<i16> = r.samples::<i16>().map(Result::unwrap).collect();
    let (a, b) = (
        ((from_s * rate) as usize).min(samples.len()),
        ((to_s * rate) as usize).min(samples.len()),
    );
    let part = &samples[a..b];
    if part.is_empty() {
        return 0.0;
    }
    (part.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>() / part.len() as f64).sqrt()
}

/// The tests' sipp directory, with seat 8001's phone registered (from
/// port 5062, where its phone then answers).
fn seat_8001_registered(server: &Server) -> PathBuf {
    let dir = server.dir.path().join("sipp");
    std::fs::create_dir_all(&dir).unwrap();
    let reg = sipp(&dir, "register", &register_as("8001"), 5062, &[]);
    finished(reg, &dir, "the seat's REGISTER", server);
    registered(server);
    dir
}

fn registered(server: &Server) {
    registered_as(server, "8001");
}

fn registered_as(server: &Server, ext: &str) {
    let t0 = Instant::now();
    while !server.log().contains(&format!("seat registered ext={ext}")) {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "the seat never registered\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_carrier_call_keys_the_menu_pops_rings_the_sip_seat_and_is_recorded_with_the_callers_audio() {
    if !inside_netns(
        "a_carrier_call_keys_the_menu_pops_rings_the_sip_seat_and_is_recorded_with_the_callers_audio",
    ) {
        return;
    }
    let (server, dir, mut agent) = one_seat(&config(""));

    let seat = sipp_media(&dir, "seat", &seat_answers(), 5062, 16000);
    let caller = sipp_media(&dir, "carrier", &caller_scenario(), 5080, 18000);

    let pop = agent.expect("6003");
    assert_eq!(pop["CallerNo"], "13800138000");
    assert_eq!(pop["CalleeNo"], "4008001234");
    assert_eq!(pop["ChNum"], "0");
    let guid = pop["TellGUID"].as_str().unwrap().to_owned();
    let connected = agent.expect("6004");
    assert_eq!(connected["TellGUID"], guid.as_str());

    finished(caller, &dir, "the carrier's call", &server);
    finished(seat, &dir, "the seat's phone", &server);

    let rows = server.call_records(1);
    let (g, _, by, tel, file) = rows[0].clone();
    assert_eq!(
        (g.as_str(), by.as_str(), tel.as_str()),
        (guid.as_str(), "caller", "8001")
    );
    let file = server
        .data_dir()
        .join("recordings")
        .join(file.expect("record_file"));
    written(&file);
    let len = {
        let r = hound::WavReader::open(&file).unwrap();
        r.duration() as f32 / r.spec().sample_rate as f32
    };
    // From the agent's answer to the caller's BYE: about 9.5 s of the
    // caller's 10 s after the ACK (the menu key and the ring took the rest).
    assert!((8.0..10.5).contains(&len), "{len} s recorded");
    // The caller was silent for the first 2.5 s after the ACK, then spoke
    // (sipp's g711a.pcap) until the end; the seat said nothing.
    let before = rms(&file, 0.0, 1.0);
    let speech = rms(&file, 3.0, len);
    assert!(
        before < 50.0,
        "silence before the caller spoke, not {before}"
    );
    assert!(
        speech > 300.0,
        "the recording's level is {speech}: no caller audio"
    );
}

/// The seat's phone: rings, answers, talks for `talk_ms`, hangs up.
fn seat_answers_and_hangs_up(talk_ms: u32) -> String {
    let answer = answer_with_sdp();
    let bye = phone_bye("8001");
    format!(
        r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="seat-out">
  <recv request="INVITE">
    <action><ereg regexp=".*" search_in="hdr" header="From:" assign_to="spcti"/></action>
  </recv>
{answer}  <recv request="ACK"/>
  <pause milliseconds="{talk_ms}"/>
{bye}</scenario>
"#
    )
}

/// The carrier's reply to the request it got (tagged, with its Contact).
fn carrier_reply(code: &str, rest: &str) -> String {
    reply(
        code,
        true,
        &format!("Contact: <sip:carrier@[local_ip]:[local_port]>\n{rest}"),
    )
}

/// The carrier answering a call out: 200 with its SDP (PCMA).
fn carrier_answers() -> String {
    carrier_reply(
        "200 OK",
        "Content-Type: application/sdp\nContent-Length: [len]\n\nv=0\no=carrier 1 1 IN IP4 [local_ip]\ns=-\nc=IN IP4 [media_ip]\nt=0 0\nm=audio [media_port] RTP/AVP 8\na=rtpmap:8 PCMA/8000\n",
    )
}

/// The carrier taking an outbound call: challenges the first INVITE with
/// `challenge` (a 401 or a 407 with its header), checks the retried
/// INVITE's credentials (acct / trunkpw; a wrong answer fails the run),
/// rings, answers, speaks (g711a.pcap) and takes the BYE.
fn carrier_challenges_and_answers(challenge: &str) -> String {
    // sipp's verifyauth reads only `Authorization`: a proxy's challenge
    // is answered in `Proxy-Authorization`, which the test checks from
    // sipp's message log instead.
    let verify = match challenge.starts_with("401") {
        true => {
            r#"<recv request="INVITE" crlf="true">
    <action><verifyauth assign_to="authvalid" username="acct" password="trunkpw"/></action>
  </recv>
  <nop hide="true" test="authvalid" next="good"/>
  <recv request="NEVER" timeout="100"/>
  <label id="good"/>"#
        }
        false => r#"<recv request="INVITE" crlf="true"/>"#,
    };
    format!(
        r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="carrier-uas">
  <recv request="INVITE"/>
{}  <recv request="ACK"/>
  {verify}
{}{}  <recv request="ACK"/>
  <nop><action><exec play_pcap_audio="{SIPP_SHARE}/g711a.pcap"/></action></nop>
  <recv request="BYE"/>
{}</scenario>
"#,
        carrier_reply(challenge, "Content-Length: 0\n\n"),
        carrier_reply("180 Ringing", "Content-Length: 0\n\n"),
        carrier_answers(),
        carrier_reply("200 OK", "Content-Length: 0\n\n"),
    )
}

#[test]
fn an_agents_outbound_call_rings_the_sip_seat_then_the_digest_challenging_carrier() {
    if !inside_netns(
        "an_agents_outbound_call_rings_the_sip_seat_then_the_digest_challenging_carrier",
    ) {
        return;
    }
    _ = outbound_through_a_challenging_carrier(
        "401 Unauthorized\nWWW-Authenticate: Digest realm=\"carrier\", nonce=\"5f3a9c\", algorithm=MD5",
    );
}

/// The same with a carrier that is a proxy: 407 and Proxy-Authenticate,
/// answered with Proxy-Authorization.
#[test]
fn an_agents_outbound_call_answers_a_proxy_challenge_from_the_carrier() {
    if !inside_netns("an_agents_outbound_call_answers_a_proxy_challenge_from_the_carrier") {
        return;
    }
    let log = outbound_through_a_challenging_carrier(
        "407 Proxy Authentication Required\nProxy-Authenticate: Digest realm=\"carrier\", nonce=\"77ab01\", qop=\"auth\", algorithm=MD5",
    );
    // The retried INVITE as the carrier got it: its Proxy-Authorization
    // must hold the right digest for the challenge (qop=auth).
    let header = log
        .lines()
        .find_map(|l| l.strip_prefix("Proxy-Authorization:"))
        .unwrap_or_else(|| panic!("no Proxy-Authorization in the retried INVITE:\n{log}"));
    let p = spcti_actors::sip::digest::params(header.trim()).unwrap();
    let get = |k: &str| p.get(k).map(String::as_str).unwrap_or_default();
    assert_eq!(
        (get("username"), get("realm"), get("nonce"), get("qop")),
        ("acct", "carrier", "77ab01", "auth"),
        "{header}"
    );
    let want = spcti_actors::sip::digest::response(
        "acct",
        "carrier",
        "trunkpw",
        "INVITE",
        get("uri"),
        "77ab01",
        Some((get("nc"), get("cnonce"))),
    );
    assert_eq!(get("response"), want, "{header}");
}

/// 1003 from 8001 through the trunk, whose carrier challenges with
/// `challenge`: answered, bridged, recorded with the far end's speech.
/// Answers the carrier's sipp message log.
fn outbound_through_a_challenging_carrier(challenge: &str) -> String {
    let (server, dir, mut agent) = one_seat(&config(
        "user = \"acct\"\npassword = \"trunkpw\"\nfrom_number = \"4008001234\"",
    ));
    let seat = sipp_media(&dir, "seat", &seat_answers_and_hangs_up(8_000), 5062, 16000);
    let carrier = sipp_media(
        &dir,
        "carrier",
        &carrier_challenges_and_answers(challenge),
        5080,
        18000,
    );
    // sipp in server mode needs a moment to bind before it is called.
    std::thread::sleep(Duration::from_millis(300));

    agent.send("<MsgType>1003</MsgType><TelNum>8001</TelNum><CalleeNo>013900000000</CalleeNo>");
    assert_eq!(agent.expect("9000")["Result"], "1");
    let guid = agent.expect("6023")["TellGUID"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = agent.expect("6009");
    assert_eq!(
        (
            r["AR"].as_str(),
            r["Reason"].as_str(),
            r["TellGUID"].as_str()
        ),
        (Some("1"), Some("16"), Some(guid.as_str())),
        "the carrier answered after the challenge: {r}"
    );
    agent.expect("6004");
    finished(seat, &dir, "the seat's phone", &server);
    finished(carrier, &dir, "the carrier", &server);
    agent.expect("6007");

    let rows = server.call_records(1);
    let (g, tellmsg, by, _, file) = rows[0].clone();
    assert_eq!(
        (g.as_str(), tellmsg, by.as_str()),
        (guid.as_str(), 10, "agent")
    );
    let file = server.data_dir().join("recordings").join(file.unwrap());
    written(&file);
    // The far end's speech is in the agent's recording.
    let level = rms(&file, 0.5, 6.5);
    assert!(
        level > 300.0,
        "the recording's level is {level}: no far-end audio"
    );
    std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .find(|f| {
            let n = f.file_name().to_string_lossy().into_owned();
            n.starts_with("carrier_") && n.ends_with("_messages.log")
        })
        .map(|f| std::fs::read_to_string(f.path()).unwrap())
        .expect("the carrier's message log")
}

/// 1009 on SIP: the agent transfers the caller to 8002, whose phone rings;
/// before it answers the agent takes the call back. 8002's INVITE is
/// cancelled, and the agent's phone — still up, hearing nothing since the
/// transfer — is linked to the caller again at once.
#[test]
fn a_sip_agent_takes_back_a_transfer_before_it_is_answered() {
    if !inside_netns("a_sip_agent_takes_back_a_transfer_before_it_is_answered") {
        return;
    }
    let (server, dir, mut a) = two_seats();
    let seat_a = sipp_media(&dir, "seat8001", &seat_answers(), 5062, 16000);
    let seat_b = sipp_media(&dir, "seat8002", &seat_rings_unanswered(), 5064, 16100);
    let caller = sipp_media(&dir, "carrier", &caller_scenario(), 5080, 18000);
    let guid = a.expect("6003")["TellGUID"].as_str().unwrap().to_owned();
    a.expect("6004");
    let mut b = Client::login(&server, "8002", "1002");
    a.send("<MsgType>1008</MsgType><TelNum>8001</TelNum><TransToTel>8002</TransToTel>");
    assert_eq!(a.expect("9030")["ResultCH"], "3");
    assert_eq!(b.expect("6003")["TellGUID"], guid.as_str());
    let trunk = trunk_of_call(&server, &guid).expect("the call's trunk");
    assert_eq!(trunk["State"], "ringing", "{trunk}");
    a.request_ok("<MsgType>1009</MsgType><TelNum>8001</TelNum>");
    assert_eq!(a.expect("6004")["TellGUID"], guid.as_str());
    b.expect_state("ready");
    let back = trunk_of_call(&server, &guid).expect("the call's trunk");
    assert_eq!(
        (back["State"].as_str(), back["LinkCh"].as_str()),
        (Some("talking"), Some("2")),
        "the caller is 8001's again: {back}"
    );
    finished(seat_b, &dir, "8002's phone (cancelled)", &server);
    finished(caller, &dir, "the carrier's call", &server);
    finished(seat_a, &dir, "8001's phone", &server);
    a.expect("6008");
    let rows = server.call_records(2);
    assert!(
        rows.iter().all(|r| r.0 == guid && r.3 == "8001"),
        "both parts of the call are 8001's: {rows:?}"
    );
}

/// 1007 on SIP: the agent sends the caller back to group 1, where nobody
/// is free (so it waits in the queue), and takes it back; its phone, still
/// up, is linked to the caller again.
#[test]
fn a_sip_agent_takes_back_a_call_it_sent_to_a_queue() {
    if !inside_netns("a_sip_agent_takes_back_a_call_it_sent_to_a_queue") {
        return;
    }
    let (server, dir, mut a) = one_seat(&config(""));
    let seat = sipp_media(&dir, "seat8001", &seat_answers(), 5062, 16000);
    let caller = sipp_media(&dir, "carrier", &caller_scenario(), 5080, 18000);
    let guid = a.expect("6003")["TellGUID"].as_str().unwrap().to_owned();
    a.expect("6004");
    // The agent is busy meanwhile, so the group has nobody free.
    a.request_ok("<MsgType>1002</MsgType><TelNum>8001</TelNum>");
    a.send("<MsgType>1008</MsgType><TelNum>8001</TelNum><GroupNo>1</GroupNo>");
    let r = a.expect("9030");
    assert_ne!(r["ResultCH"], "-1", "the transfer to the group: {r}");
    let t0 = Instant::now();
    while trunk_of_call(&server, &guid).is_none_or(|t| t["State"] != "queued") {
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "the caller never queued"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    a.request_ok("<MsgType>1007</MsgType><TelNum>8001</TelNum>");
    assert_eq!(a.expect("6004")["TellGUID"], guid.as_str());
    let back = trunk_of_call(&server, &guid).expect("the call's trunk");
    assert_eq!(
        (back["State"].as_str(), back["LinkCh"].as_str()),
        (Some("talking"), Some("2")),
        "the caller is 8001's again: {back}"
    );
    finished(caller, &dir, "the carrier's call", &server);
    finished(seat, &dir, "8001's phone", &server);
    a.expect("6008");
}

/// A second seat (8002, channel 3) and its agent (1002).
const SECOND_SEAT: &str = r#"
[[sip.seat]]
ext = "8002"
password = "secret"

[[agent]]
work_no = "1002"
groups = [{ no = 1, priority = 1 }]
"#;

/// A seat's phone that rings and is never answered: the ring is
/// cancelled (200 to the CANCEL, 487 to the INVITE).
fn seat_rings_unanswered() -> String {
    format!(
        r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="seat-rings">
  <recv request="INVITE"/>
{}  <recv request="CANCEL"/>
{}  <send><![CDATA[
SIP/2.0 487 Request Terminated
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
CSeq: [cseq] INVITE
Content-Length: 0

]]></send>
  <recv request="ACK"/>
</scenario>
"#,
        reply(
            "180 Ringing",
            true,
            "Contact: <sip:phone@[local_ip]:[local_port]>\nContent-Length: 0\n\n"
        ),
        reply("200 OK", true, "Content-Length: 0\n\n"),
    )
}

/// Seat `ext`'s phone dials `digits` (an INVITE to spcti, challenged and
/// sent again with the seat's credentials), talks, and takes the BYE.
fn seat_dials(ext: &str, digits: &str) -> String {
    let invite = |cseq: u32, auth: &str| {
        format!(
            r#"  <send retrans="500"><![CDATA[
INVITE sip:{digits}@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:{ext}@[remote_ip]>;tag=[pid]SIPpTag00[call_number]
To: <sip:{digits}@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: {cseq} INVITE
Contact: <sip:{ext}@[local_ip]:[local_port]>
{auth}Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

v=0
o=seat 1 1 IN IP4 [local_ip]
s=-
c=IN IP4 [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 8 101
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
]]></send>
"#
        )
    };
    let ack = |cseq: u32| {
        format!(
            r#"  <send><![CDATA[
ACK sip:{digits}@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:{ext}@[remote_ip]>;tag=[pid]SIPpTag00[call_number]
To: <sip:{digits}@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: {cseq} ACK
Max-Forwards: 70
Content-Length: 0

]]></send>
"#
        )
    };
    format!(
        r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="seat-dials">
{}  <recv response="100" optional="true"/>
  <recv response="401" auth="true"/>
{}{}  <recv response="100" optional="true"/>
  <recv response="200"/>
{}  <recv request="BYE"/>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
</scenario>
"#,
        invite(1, ""),
        ack(1),
        invite(
            2,
            &format!("[authentication username={ext} password=secret]\n")
        ),
        ack(2),
    )
}

/// Both seats registered, both agents logged in (8002's after the call
/// reached 8001): the server, the sipp directory and the clients.
/// spcti with `config`, seat 8001's phone registered and its agent (1001)
/// logged in: the server, the sipp directory and the client.
fn one_seat(config: &str) -> (Server, PathBuf, Client) {
    let server = start(config);
    let dir = seat_8001_registered(&server);
    let a = Client::login(&server, "8001", "1001");
    (server, dir, a)
}

fn two_seats() -> (Server, PathBuf, Client) {
    two_seats_with("")
}

/// Both seats registered, with `more` TOML after the second seat's; 8001's
/// agent logged in.
fn two_seats_with(more: &str) -> (Server, PathBuf, Client) {
    let server = start(&config_with("", &format!("{SECOND_SEAT}{more}")));
    let dir: PathBuf = server.dir.path().join("sipp");
    std::fs::create_dir_all(&dir).unwrap();
    for (ext, port) in [("8001", 5062), ("8002", 5064)] {
        let reg = sipp(
            &dir,
            &format!("register{ext}"),
            &register_as(ext),
            port,
            &[],
        );
        finished(reg, &dir, "a seat's REGISTER", &server);
        registered_as(&server, ext);
    }
    let a = Client::login(&server, "8001", "1001");
    (server, dir, a)
}

fn media(port: u16) -> [String; 4] {
    [
        "-mi".into(),
        "127.0.0.1".into(),
        "-mp".into(),
        port.to_string(),
    ]
}

fn sipp_media(dir: &Path, name: &str, scenario: &str, port: u16, rtp: u16) -> Child {
    let m = media(rtp);
    let extra: Vec<&str> = m.iter().map(String::as_str).collect();
    sipp(dir, name, scenario, port, &extra)
}

#[test]
fn a_sip_agent_transfers_the_caller_to_another_sip_seat() {
    if !inside_netns("a_sip_agent_transfers_the_caller_to_another_sip_seat") {
        return;
    }
    let (server, dir, mut a) = two_seats();
    let seat_a = sipp_media(
        &dir,
        "seat8001",
        &seat_answers_and_hangs_up(3_000),
        5062,
        16000,
    );
    let seat_b = sipp_media(&dir, "seat8002", &seat_answers(), 5064, 16100);
    let caller = sipp_media(&dir, "carrier", &caller_scenario(), 5080, 18000);
    let guid = a.expect("6003")["TellGUID"].as_str().unwrap().to_owned();
    a.expect("6004");
    let mut b = Client::login(&server, "8002", "1002");

    a.send("<MsgType>1008</MsgType><TelNum>8001</TelNum><TransToTel>8002</TransToTel>");
    let r = a.expect("9030");
    assert_eq!(r["ResultCH"], "3", "the target seat's channel: {r}");
    assert_eq!(b.expect("6003")["TellGUID"], guid.as_str());
    assert_eq!(b.expect("6004")["TellGUID"], guid.as_str());

    finished(caller, &dir, "the carrier's call", &server);
    finished(seat_a, &dir, "8001's phone", &server);
    finished(seat_b, &dir, "8002's phone", &server);
    let rows = server.call_records(2);
    let row = |t: &str| rows.iter().find(|r| r.3 == t).unwrap().clone();
    let (ga, _, _, _, _) = row("8001");
    let (gb, _, hb, _, fb) = row("8002");
    assert_eq!(
        (ga.as_str(), gb.as_str(), hb.as_str()),
        (guid.as_str(), guid.as_str(), "caller")
    );
    let fb = server.data_dir().join("recordings").join(fb.unwrap());
    written(&fb);
    // The caller spoke to 8002 after the transfer.
    let level = rms(&fb, 3.0, 8.0);
    assert!(
        level > 300.0,
        "8002's recording has level {level}: no caller audio"
    );
}

/// A seat's phone that declines the ring: 603 to the INVITE, then the ACK.
fn seat_declines() -> String {
    format!(
        r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="seat-declines">
  <recv request="INVITE"/>
{}  <recv request="ACK"/>
</scenario>
"#,
        reply("603 Decline", true, "Content-Length: 0\n\n"),
    )
}

#[test]
fn a_sip_phone_that_declines_passes_the_call_to_the_next_seat_at_once() {
    if !inside_netns("a_sip_phone_that_declines_passes_the_call_to_the_next_seat_at_once") {
        return;
    }
    let (server, dir, mut a) = two_seats();
    let mut b = Client::login(&server, "8002", "1002");
    let seat_a = sipp_media(&dir, "seat8001", &seat_declines(), 5062, 16000);
    let seat_b = sipp_media(&dir, "seat8002", &seat_answers(), 5064, 16100);
    let caller = sipp_media(&dir, "carrier", &caller_scenario(), 5080, 18000);
    // 8001 (the longest idle) is offered the call; its phone declines and
    // the call rings 8002 at once, which answers.
    let guid = a.expect("6003")["TellGUID"].as_str().unwrap().to_owned();
    a.expect_state("ready");
    assert_eq!(b.expect("6003")["TellGUID"], guid.as_str());
    assert_eq!(b.expect("6004")["TellGUID"], guid.as_str());
    finished(seat_a, &dir, "8001's phone (declined)", &server);
    finished(caller, &dir, "the carrier's call", &server);
    finished(seat_b, &dir, "8002's phone", &server);
    let rows = server.call_records(2);
    let mut got: Vec<(&str, i32, &str)> = rows
        .iter()
        .map(|r| (r.0.as_str(), r.1, r.3.as_str()))
        .collect();
    got.sort_by_key(|r| r.1);
    // The decline (tellmsg 3) at 8001, the talk (9) at 8002.
    assert_eq!(
        got,
        [(guid.as_str(), 3, "8001"), (guid.as_str(), 9, "8002")]
    );
}

/// A SIP seat that lets the call ring out: at the ring timeout (2 s here)
/// its phone's INVITE is cancelled, its agent's offer ends, and the call
/// is offered to the next agent, whose SIP phone answers.
#[test]
fn a_call_ringing_out_at_a_sip_seat_is_offered_to_the_next() {
    if !inside_netns("a_call_ringing_out_at_a_sip_seat_is_offered_to_the_next") {
        return;
    }
    // 8001 logs in first: the longest idle, offered the call first.
    let (server, dir, mut a) = two_seats_with("\n[sys]\nring_timeout_s = 2\n");
    let mut b = Client::login(&server, "8002", "1002");
    let seat_a = sipp_media(&dir, "seat8001", &seat_rings_unanswered(), 5062, 16000);
    let seat_b = sipp_media(&dir, "seat8002", &seat_answers(), 5064, 16100);
    let caller = sipp_media(&dir, "carrier", &caller_scenario(), 5080, 18000);
    let guid = a.expect("6003")["TellGUID"].as_str().unwrap().to_owned();
    let offered = Instant::now();
    assert_eq!(b.expect("6003")["TellGUID"], guid.as_str());
    assert!(
        offered.elapsed() >= Duration::from_millis(1_500),
        "8002 was offered the call before 8001's ring timed out"
    );
    a.expect_state("ready");
    assert_eq!(b.expect("6004")["TellGUID"], guid.as_str());
    finished(seat_a, &dir, "8001's phone (cancelled)", &server);
    finished(caller, &dir, "the carrier's call", &server);
    finished(seat_b, &dir, "8002's phone", &server);
    let rows = server.call_records(1);
    let talk = rows
        .iter()
        .find(|r| r.1 == 9)
        .expect("the answered call's row");
    assert_eq!((talk.0.as_str(), talk.3.as_str()), (guid.as_str(), "8002"));
}

#[test]
fn a_sip_seat_picks_up_a_call_ringing_at_another() {
    if !inside_netns("a_sip_seat_picks_up_a_call_ringing_at_another") {
        return;
    }
    let (server, dir, mut a) = two_seats();
    let seat_a = sipp_media(&dir, "seat8001", &seat_rings_unanswered(), 5062, 16000);
    let caller = sipp_media(&dir, "carrier", &caller_scenario(), 5080, 18000);
    let guid = a.expect("6003")["TellGUID"].as_str().unwrap().to_owned();
    let mut b = Client::login(&server, "8002", "1002");
    // After the minimum ring (1 s here), 8002 dials `*#` on its phone.
    std::thread::sleep(Duration::from_millis(1_200));
    let seat_b = sipp_media(&dir, "seat8002", &seat_dials("8002", "*%23"), 5064, 16100);
    assert_eq!(b.expect("6004")["TellGUID"], guid.as_str());
    finished(seat_a, &dir, "8001's phone (cancelled)", &server);
    a.expect_state("ready");
    finished(caller, &dir, "the carrier's call", &server);
    finished(seat_b, &dir, "8002's phone", &server);
    let rows = server.call_records(1);
    assert_eq!(
        (rows[0].0.as_str(), rows[0].3.as_str()),
        (guid.as_str(), "8002")
    );
}

#[test]
fn a_seat_whose_phone_is_not_registered_is_not_offered_calls_and_api_channels_says_so() {
    if !inside_netns(
        "a_seat_whose_phone_is_not_registered_is_not_offered_calls_and_api_channels_says_so",
    ) {
        return;
    }
    let server = start(&config_with("", SECOND_SEAT));
    let dir: PathBuf = server.dir.path().join("sipp");
    std::fs::create_dir_all(&dir).unwrap();
    // Only 8002's phone registers; 8001's agent logs in first (the
    // longest idle), yet the call goes to 8002.
    let mut a = Client::new(&server);
    let ack = a.request_ok("<MsgType>1001</MsgType><TelNum>8001</TelNum><WorkNo>1001</WorkNo>");
    assert!(
        ack["ResultSTR"]
            .as_str()
            .is_some_and(|s| s.contains("phone is not registered")),
        "the login is told: {ack}"
    );
    let reg = sipp(&dir, "register8002", &register_as("8002"), 5064, &[]);
    finished(reg, &dir, "8002's REGISTER", &server);
    registered_as(&server, "8002");
    let mut b = Client::login(&server, "8002", "1002");

    let (_, channels) = server.http("GET", "/api/channels", None);
    let seat = |ch: &str| {
        channels
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["ChNum"] == ch)
            .unwrap_or_else(|| panic!("channel {ch} in {channels}"))
            .clone()
    };
    assert_eq!(seat("2")["Registration"]["registered"], false, "{channels}");
    let r = seat("3")["Registration"].clone();
    assert_eq!(r["registered"], true, "{channels}");
    assert_eq!(r["user_agent"], "sipp-seat");
    assert!(r["contact"].as_str().unwrap().contains(":5064"), "{r}");
    assert!(r["expires"].as_u64().unwrap() > 500, "{r}");
    assert!(
        seat("0").get("Registration").is_none(),
        "trunks register nothing"
    );

    let seat_b = sipp_media(&dir, "seat8002", &seat_answers(), 5064, 16100);
    let caller = sipp_media(&dir, "carrier", &caller_scenario(), 5080, 18000);
    let pop = b.expect("6003");
    assert_eq!(pop["TelNum"], "8002");
    b.expect("6004");
    finished(caller, &dir, "the carrier's call", &server);
    finished(seat_b, &dir, "8002's phone", &server);
    assert!(
        !a.drain(Duration::from_millis(300))
            .iter()
            .any(|m| m["MsgType"] == "6003"),
        "8001's phone is not registered: no call for it"
    );
}

/// The power of `freq` Hz in a stretch of 8 kHz audio (Goertzel).
fn tone_power(samples: &[i16], freq: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI * freq / 8000.0;
    let c = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for x in samples {
        let s0 = f64::from(*x) + c * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    (s1 * s1 + s2 * s2 - c * s1 * s2) / samples.len().max(1) as f64
}

/// baresip, a real SIP phone, as seat 8001: it registers with its digest
/// password, answers the call on its own (`answermode=auto`) and says a
/// 440 Hz tone (a WAV as its microphone); the tone is in the call's
/// recording.
/// baresip needs a non-loopback address to run: the namespace's `lo`
/// gets 10.99.0.1 as well (still nothing but this namespace).
#[test]
fn baresip_registers_as_a_seat_answers_a_carrier_call_and_its_voice_is_recorded() {
    if !inside_netns("baresip_registers_as_a_seat_answers_a_carrier_call_and_its_voice_is_recorded")
    {
        return;
    }
    if Command::new("sh")
        .args(["-c", "command -v baresip"])
        .output()
        .map_or(true, |o| !o.status.success())
    {
        support::missing("baresip test skipped: no `baresip` (apt-get install baresip)");
        return;
    }
    let ok = Command::new("ip")
        .args(["addr", "add", "10.99.0.1/32", "dev", "lo"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "cannot give the namespace's lo a second address");
    let server = start(&config(""));
    let dir: PathBuf = server.dir.path().join("baresip");
    std::fs::create_dir_all(&dir).unwrap();
    // The phone's microphone: 30 s of a 440 Hz tone (8 kHz mono WAV).
    let tone = dir.join("tone.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&tone, spec).unwrap();
    for i in 0..8000 * 30 {
        let x = (2.0 * std::f64::consts::PI * 440.0 * f64::from(i) / 8000.0).sin();
        w.write_sample((x * 8000.0) as i16).unwrap();
    }
    w.finalize().unwrap();
    // The README's configuration, with the tone as the microphone.
    std::fs::write(
        dir.join("config"),
        format!(
            "sip_listen 10.99.0.1:5070\nmodule_path /usr/lib/baresip/modules\nmodule g711.so\nmodule aufile.so\nmodule_app account.so\nmodule_app menu.so\naudio_source aufile,{}\naudio_player aufile,{}\naudio_alert aufile,/dev/null\n",
            tone.display(),
            dir.join("heard.wav").display()
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("accounts"),
        "<sip:8001@127.0.0.1:5060>;auth_pass=secret;answermode=auto;regint=600\n",
    )
    .unwrap();
    let log = std::fs::File::create(dir.join("baresip.log")).unwrap();
    let phone = Command::new("baresip")
        .args(["-f", dir.to_str().unwrap(), "-t", "30"])
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("start baresip");
    struct Kill(Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _phone = Kill(phone);
    registered(&server);
    let mut agent = Client::login(&server, "8001", "1001");
    let sipp_dir: PathBuf = server.dir.path().join("sipp");
    std::fs::create_dir_all(&sipp_dir).unwrap();
    let call = sipp_media(&sipp_dir, "carrier", &caller(false), 5080, 18000);
    let guid = agent.expect("6003")["TellGUID"]
        .as_str()
        .unwrap()
        .to_owned();
    let t0 = Instant::now();
    let answered = |log: String| {
        log.lines()
            .any(|l| l.contains("SIP in: SIP/2.0 200 ") && l.contains("from=10.99.0.1"))
    };
    while !answered(server.log()) {
        if t0.elapsed() > Duration::from_secs(8) {
            let log = std::fs::read_to_string(dir.join("baresip.log")).unwrap_or_default();
            panic!("baresip did not answer\n{log}\n{}", server.log());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(agent.expect("6004")["TellGUID"], guid.as_str());
    finished(call, &sipp_dir, "the carrier's call", &server);

    let rows = server.call_records(1);
    let file = server
        .data_dir()
        .join("recordings")
        .join(rows[0].4.clone().expect("record_file"));
    written(&file);
    let samples: Vec<i16> = hound::WavReader::open(&file)
        .unwrap()
        .samples::<i16>()
        .map(Result::unwrap)
        .collect();
    // The middle of the talk: baresip's 440 Hz, far above other tones.
    let mid = &samples[samples.len() / 4..samples.len() * 3 / 4];
    let (at, off) = (tone_power(mid, 440.0), tone_power(mid, 1000.0));
    let log = std::fs::read_to_string(dir.join("baresip.log")).unwrap_or_default();
    assert!(
        at > 1e4 && at > 100.0 * off,
        "440 Hz power {at:.0}, 1000 Hz {off:.0}: the phone's tone is not in the recording\n{log}"
    );
}

/// Seat 8001's phone answers, then (keys by SIP INFO, `dtmf-relay`)
/// flashes, dials `8002#` and, once 8002 answered, hangs up: a consult
/// transfer done on the phone.
fn seat_flashes_consults_and_hangs_up() -> String {
    seat_keys_by_info_and_hangs_up(&["hf", "8", "0", "0", "2", "#"])
}

/// Seat 8001's phone answers, sends `keys` one SIP INFO each (`hf` is a
/// hook flash), waits 2 s and hangs up.
fn seat_keys_by_info_and_hangs_up(keys: &[&str]) -> String {
    let info = |n: u32, signal: &str| {
        format!(
            r#"  <send retrans="500"><![CDATA[
INFO sip:spcti@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:8001@[local_ip]:[local_port]>;tag=[pid]SIPpTag01[call_number]
To: [$spcti]
Call-ID: [call_id]
CSeq: {n} INFO
Max-Forwards: 70
Content-Type: application/dtmf-relay
Content-Length: [len]

Signal={signal}
Duration=160
]]></send>
  <recv response="200"/>
  <pause milliseconds="150"/>
"#
        )
    };
    let keys: String = keys
        .iter()
        .enumerate()
        .map(|(i, k)| info(i as u32 + 1, k))
        .collect();
    format!(
        r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="seat-consults">
  <recv request="INVITE">
    <action><ereg regexp=".*" search_in="hdr" header="From:" assign_to="spcti"/></action>
  </recv>
{answer}  <recv request="ACK"/>
  <pause milliseconds="1000"/>
{keys}  <pause milliseconds="2000"/>
{bye}</scenario>
"#,
        bye = phone_bye("8001"),
        answer = answer_with_sdp(),
    )
}

#[test]
fn a_sip_phone_flashes_consults_another_seat_and_hangs_up_to_transfer() {
    if !inside_netns("a_sip_phone_flashes_consults_another_seat_and_hangs_up_to_transfer") {
        return;
    }
    flash_consult_transfer(|_| seat_flashes_consults_and_hangs_up());
}

/// RFC 4733 events `events` (16 is a hook flash, 11 is `#`) as sipp can
/// play them: a pcap of RTP telephone-event packets (payload type 101),
/// 0.4 s apart, each as a phone sends it (marker on the first packet,
/// three end packets).
fn rfc4733_pcap(events: &[u8]) -> Vec<u8> {
    // The addresses are sipp's to rewrite; only the RTP payload matters.
    let frame = |udp_payload: &[u8]| {
        let udp_len = 8 + udp_payload.len() as u16;
        let mut f = vec![0u8; 12];
        f.extend([0x08, 0x00]);
        f.extend([0x45, 0]);
        f.extend((20 + udp_len).to_be_bytes());
        f.extend([0, 0, 0, 0, 64, 17, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1]);
        f.extend(16000u16.to_be_bytes());
        f.extend(16000u16.to_be_bytes());
        f.extend(udp_len.to_be_bytes());
        f.extend([0, 0]);
        f.extend(udp_payload);
        f
    };
    let mut out = Vec::new();
    for v in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, 65535, 1] {
        if v == 0x0004_0002 {
            out.extend(2u16.to_le_bytes());
            out.extend(4u16.to_le_bytes());
        } else {
            out.extend(v.to_le_bytes());
        }
    }
    let (mut seq, mut at_us) = (100u16, 0u64);
    for (n, &event) in events.iter().enumerate() {
        let timestamp = 8000 + n as u32 * 3200;
        for k in 0..10u16 {
            let end = k >= 7;
            let duration = 160 * (k.min(7) + 1);
            let mut rtp = vec![0x80, if k == 0 { 0x80 | 101 } else { 101 }];
            rtp.extend(seq.to_be_bytes());
            rtp.extend(timestamp.to_be_bytes());
            rtp.extend(0x1234_5678u32.to_be_bytes());
            rtp.extend([event, if end { 0x8a } else { 0x0a }]);
            rtp.extend(duration.to_be_bytes());
            let f = frame(&rtp);
            out.extend(((at_us / 1_000_000) as u32).to_le_bytes());
            out.extend(((at_us % 1_000_000) as u32).to_le_bytes());
            out.extend((f.len() as u32).to_le_bytes());
            out.extend((f.len() as u32).to_le_bytes());
            out.extend(f);
            if k < 7 {
                seq = seq.wrapping_add(1);
                at_us += 20_000;
            }
        }
        seq = seq.wrapping_add(1);
        at_us += 400_000;
    }
    out
}

/// The same consultation keyed in the phone's media: a hook flash as RFC
/// 4733 event 16, then 8002# as RFC 4733 digits.
#[test]
fn a_sip_phone_flashes_by_rfc4733_event_16_and_consults() {
    if !inside_netns("a_sip_phone_flashes_by_rfc4733_event_16_and_consults") {
        return;
    }
    flash_consult_transfer(|dir| {
        let pcap = dir.join("flash-8002.pcap");
        std::fs::write(&pcap, rfc4733_pcap(&[16, 8, 0, 0, 2, 11])).unwrap();
        seat_keys_from_pcap_and_hangs_up(&pcap)
    });
}

/// Seat 8001's phone answers, plays the RTP in `pcap` (its keys), waits
/// 2 s after them and hangs up.
fn seat_keys_from_pcap_and_hangs_up(pcap: &Path) -> String {
    format!(
        r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="seat-keys-rtp">
  <recv request="INVITE">
    <action><ereg regexp=".*" search_in="hdr" header="From:" assign_to="spcti"/></action>
  </recv>
{answer}  <recv request="ACK"/>
  <pause milliseconds="1000"/>
  <nop><action><exec play_pcap_audio="{pcap}"/></action></nop>
  <pause milliseconds="5000"/>
{bye}</scenario>
"#,
        bye = phone_bye("8001"),
        answer = answer_with_sdp(),
        pcap = pcap.display(),
    )
}

/// Seat 8001 (its phone running the scenario `seat_a` builds in the sipp
/// directory) takes a carrier call, holds it with a flash, consults 8002
/// and hangs up: the caller is 8002's, and 8002's part is recorded with
/// the caller's voice.
fn flash_consult_transfer(seat_a: impl FnOnce(&Path) -> String) {
    let (server, dir, mut a) = two_seats();
    let seat_a = sipp_media(&dir, "seat8001", &seat_a(&dir), 5062, 16000);
    let seat_b = sipp_media(&dir, "seat8002", &seat_answers(), 5064, 16100);
    let caller = sipp_media(&dir, "carrier", &caller_scenario(), 5080, 18000);
    let guid = a.expect("6003")["TellGUID"].as_str().unwrap().to_owned();
    a.expect("6004");
    let mut b = Client::operator(&server, "8002", "1002");
    finished(seat_a, &dir, "8001's phone", &server);
    // 8001 hung up while consulting: the caller is 8002's now.
    assert_eq!(b.expect("6004")["TellGUID"], guid.as_str());
    finished(caller, &dir, "the carrier's call", &server);
    finished(seat_b, &dir, "8002's phone", &server);
    let rows = server.call_records(3);
    assert!(rows.iter().all(|r| r.0 == guid), "{rows:?}");
    let talk = rows
        .iter()
        .rev()
        .find(|r| r.3 == "8002" && r.4.is_some())
        .unwrap_or_else(|| panic!("8002's part of the call: {rows:?}"));
    let file = server
        .data_dir()
        .join("recordings")
        .join(talk.4.clone().unwrap());
    written(&file);
    let len = {
        let r = hound::WavReader::open(&file).unwrap();
        r.duration() as f32 / r.spec().sample_rate as f32
    };
    // The caller spoke until the end: heard in 8002's part.
    let level = rms(&file, (len - 3.0).max(0.0), len);
    assert!(
        level > 300.0,
        "8002's recording has level {level}: no caller audio"
    );
}

/// Seat 8001's phone answers, holds the call with its hold key (a
/// re-INVITE offering `sendonly`) for 3 s, takes it back (`sendrecv`)
/// and waits for the caller's BYE.
fn seat_holds_then_resumes() -> String {
    let reinvite = |cseq: u32, direction: &str| {
        format!(
            r#"  <send retrans="500"><![CDATA[
INVITE sip:spcti@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:8001@[local_ip]:[local_port]>;tag=[pid]SIPpTag01[call_number]
To: [$spcti]
Call-ID: [call_id]
CSeq: {cseq} INVITE
Contact: <sip:phone@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

v=0
o=phone 1 {cseq} IN IP4 [local_ip]
s=-
c=IN IP4 [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 8 101
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a={direction}
]]></send>
  <recv response="200"/>
  <send><![CDATA[
ACK sip:spcti@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:8001@[local_ip]:[local_port]>;tag=[pid]SIPpTag01[call_number]
To: [$spcti]
Call-ID: [call_id]
CSeq: {cseq} ACK
Max-Forwards: 70
Content-Length: 0

]]></send>
"#
        )
    };
    format!(
        r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="seat-holds">
  <recv request="INVITE">
    <action><ereg regexp=".*" search_in="hdr" header="From:" assign_to="spcti"/></action>
  </recv>
{answer}  <recv request="ACK"/>
  <pause milliseconds="1000"/>
{hold}  <pause milliseconds="3000"/>
{resume}  <recv request="BYE"/>
{ok}</scenario>
"#,
        answer = answer_with_sdp(),
        hold = reinvite(1, "sendonly"),
        resume = reinvite(2, "sendrecv"),
        ok = reply("200 OK", false, "Content-Length: 0\n\n"),
    )
}

/// A SIP phone's hold key: its re-INVITE offering `sendonly` holds the
/// caller (the trunk shows `held`, as after a hook flash, with music),
/// the next offering `sendrecv` brings the caller back; the call then
/// ends normally with one record.
#[test]
fn a_sip_phone_holds_the_caller_and_takes_the_call_back() {
    if !inside_netns("a_sip_phone_holds_the_caller_and_takes_the_call_back") {
        return;
    }
    let (server, dir, mut a) = one_seat(&config(""));
    let seat = sipp_media(&dir, "seat8001", &seat_holds_then_resumes(), 5062, 16000);
    let caller = sipp_media(&dir, "carrier", &caller_scenario(), 5080, 18000);
    let guid = a.expect("6003")["TellGUID"].as_str().unwrap().to_owned();
    a.expect("6004");
    let state = |want: &str| {
        let t0 = Instant::now();
        loop {
            let trunk = trunk_of_call(&server, &guid);
            if let Some(t) = trunk.clone().filter(|t| t["State"] == want) {
                return t;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(8),
                "the trunk never became {want}: {trunk:?}\n{}",
                server.log()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    let held = state("held");
    assert_eq!(held["LinkCh"], "", "the caller hears only music: {held}");
    let back = state("talking");
    assert_eq!(back["LinkCh"], "2", "linked to 8001's seat again: {back}");
    finished(seat, &dir, "8001's phone", &server);
    finished(caller, &dir, "the carrier's call", &server);
    a.expect("6008");
    let rows = server.call_records(1);
    assert_eq!(
        (rows[0].0.as_str(), rows[0].2.as_str()),
        (guid.as_str(), "caller")
    );
}

/// A supervisor's SIP phone (seat 8002): rings, answers, speaks
/// (`g711a.pcap`) and hangs up after 6.5 s.
fn supervisor_phone_speaks() -> String {
    format!(
        r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="supervisor">
  <recv request="INVITE">
    <action><ereg regexp=".*" search_in="hdr" header="From:" assign_to="spcti"/></action>
  </recv>
{ringing}{answer}  <recv request="ACK"/>
  <nop><action><exec play_pcap_audio="{SIPP_SHARE}/g711a.pcap"/></action></nop>
  <pause milliseconds="6500"/>
{bye}</scenario>
"#,
        bye = phone_bye("8002"),
        ringing = reply(
            "180 Ringing",
            true,
            "Contact: <sip:phone@[local_ip]:[local_port]>\nContent-Length: 0\n\n"
        ),
        answer = answer_with_sdp(),
    )
}

/// A supervisor on SIP phones, checked by ear: its on-hook phone is rung
/// for 1019 `Mode=whisper`, joins the call's conference and speaks; the
/// caller does not hear it (the trunk's recording holds what the caller
/// heard: silence), then after 1020 does. When the supervisor hangs up the
/// caller and the agent are linked again and the call goes on.
#[test]
fn a_supervisor_on_a_sip_phone_whispers_unheard_by_the_caller_then_barges_in() {
    if !inside_netns("a_supervisor_on_a_sip_phone_whispers_unheard_by_the_caller_then_barges_in") {
        return;
    }
    let (server, dir, mut a) = two_seats();
    let mut s = Client::login(&server, "8002", "1002");
    s.request_ok("<MsgType>1002</MsgType><TelNum>8002</TelNum>");
    let seat_a = sipp_media(&dir, "seat8001", &seat_answers(), 5062, 16000);
    let sup = sipp_media(&dir, "seat8002", &supervisor_phone_speaks(), 5064, 16100);
    // A silent caller: whatever the trunk's recording holds was sent to it.
    let caller = sipp_media(&dir, "carrier", &caller(false), 5080, 18000);
    let guid = a.expect("6003")["TellGUID"].as_str().unwrap().to_owned();
    a.expect("6004");
    let connected = Instant::now();
    s.request_ok(
        "<MsgType>1019</MsgType><TelNum>8002</TelNum><Target>8001</Target><Mode>whisper</Mode>",
    );
    assert_eq!(s.expect("6004")["TellGUID"], guid.as_str());
    let joined = connected.elapsed().as_secs_f32();
    s.send("<MsgType>1032</MsgType>");
    let confs = s.expect("9032")["Conferences"].clone();
    assert_eq!(
        confs[0]["Member"].as_array().map(Vec::len),
        Some(3),
        "{confs}"
    );
    std::thread::sleep(Duration::from_millis(2500));
    s.request_ok("<MsgType>1020</MsgType><TelNum>8002</TelNum><Target>8001</Target>");
    let barged = connected.elapsed().as_secs_f32();
    // The supervisor's phone hangs up by itself: the call goes on.
    assert_eq!(s.expect("6007")["TelNum"], "8002");
    let trunk = trunk_of_call(&server, &guid).expect("the call's trunk");
    assert_eq!(trunk["LinkCh"], "2", "linked to 8001 again: {trunk}");
    finished(sup, &dir, "the supervisor's phone", &server);
    finished(caller, &dir, "the carrier's call", &server);
    finished(seat_a, &dir, "8001's phone", &server);
    a.expect("6008");
    let file = first_recording(&server);
    let whisper = rms(&file, joined + 0.4, barged - 0.3);
    let barge = rms(&file, barged + 0.5, barged + 3.0);
    assert!(
        whisper < 50.0 && barge > 300.0,
        "what the caller heard: {whisper:.0} while whispered to the agent \
         ({joined:.1}-{barged:.1} s), {barge:.0} after the barge-in"
    );
}

/// Seat 8001's phone: answers, speaks (`g711a.pcap`, 7 s) and takes the
/// caller's BYE.
fn seat_speaks() -> String {
    format!(
        r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="seat-speaks">
  <recv request="INVITE"/>
{answer}  <recv request="ACK"/>
  <nop><action><exec play_pcap_audio="{SIPP_SHARE}/g711a.pcap"/></action></nop>
  <recv request="BYE"/>
{ok}</scenario>
"#,
        answer = answer_with_sdp(),
        ok = reply("200 OK", false, "Content-Length: 0\n\n"),
    )
}

/// The carrier answering a call out without a challenge and saying
/// nothing; it takes the BYE.
fn carrier_answers_silently() -> String {
    format!(
        r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="carrier-silent">
  <recv request="INVITE"/>
{}{}  <recv request="ACK"/>
  <recv request="BYE"/>
{}</scenario>
"#,
        carrier_reply("180 Ringing", "Content-Length: 0\n\n"),
        carrier_answers(),
        carrier_reply("200 OK", "Content-Length: 0\n\n"),
    )
}

/// A call the agent placed (1003, out on the trunk) supervised from a SIP
/// phone, checked by ear in the agent's recording (what the agent heard,
/// the far party being silent): a listening supervisor's voice does not
/// reach the agent; after 1020 it does.
#[test]
fn a_supervisor_on_a_sip_phone_listens_then_barges_in_on_a_call_the_agent_placed() {
    if !inside_netns(
        "a_supervisor_on_a_sip_phone_listens_then_barges_in_on_a_call_the_agent_placed",
    ) {
        return;
    }
    let (server, dir, mut a) = two_seats();
    let mut s = Client::login(&server, "8002", "1002");
    s.request_ok("<MsgType>1002</MsgType><TelNum>8002</TelNum>");
    let seat = sipp_media(
        &dir,
        "seat8001",
        &seat_answers_and_hangs_up(9_000),
        5062,
        16000,
    );
    let sup = sipp_media(&dir, "seat8002", &supervisor_phone_speaks(), 5064, 16100);
    let carrier = sipp_media(&dir, "carrier", &carrier_answers_silently(), 5080, 18000);
    // sipp in server mode needs a moment to bind before it is called.
    std::thread::sleep(Duration::from_millis(300));
    a.request_ok("<MsgType>1003</MsgType><TelNum>8001</TelNum><CalleeNo>013900000000</CalleeNo>");
    a.expect("6004");
    let connected = Instant::now();
    s.request_ok("<MsgType>1019</MsgType><TelNum>8002</TelNum><Target>8001</Target>");
    s.expect("6004");
    let joined = connected.elapsed().as_secs_f32();
    std::thread::sleep(Duration::from_millis(2500));
    s.request_ok("<MsgType>1020</MsgType><TelNum>8002</TelNum><Target>8001</Target>");
    let barged = connected.elapsed().as_secs_f32();
    assert_eq!(s.expect("6007")["TelNum"], "8002");
    finished(sup, &dir, "the supervisor's phone", &server);
    finished(seat, &dir, "8001's phone", &server);
    finished(carrier, &dir, "the carrier", &server);
    a.expect("6007");
    let file = first_recording(&server);
    let listen = rms(&file, joined + 0.4, barged - 0.3);
    let barge = rms(&file, barged + 0.5, barged + 3.0);
    assert!(
        listen < 50.0 && barge > 300.0,
        "what the agent heard of the supervisor: {listen:.0} while it listened \
         ({joined:.1}-{barged:.1} s), {barge:.0} after the barge-in"
    );
}

/// A multi-party call (1003 `Meeting=1`) on SIP, checked by ear: the agent
/// calls out on the trunk (a silent carrier), then adds extension 8002,
/// whose phone speaks; the carrier's leg is recorded on its channel, and
/// that recording (what the carrier heard) holds 8002's voice — the
/// conference mixes the parties.
#[test]
fn a_sip_agents_meeting_mixes_an_extension_into_a_call_out() {
    if !inside_netns("a_sip_agents_meeting_mixes_an_extension_into_a_call_out") {
        return;
    }
    let (server, dir, mut a) = two_seats();
    let seat = sipp_media(
        &dir,
        "seat8001",
        &seat_answers_and_hangs_up(9_000),
        5062,
        16000,
    );
    let far_ext = sipp_media(&dir, "seat8002", &supervisor_phone_speaks(), 5064, 16100);
    let carrier = sipp_media(&dir, "carrier", &carrier_answers_silently(), 5080, 18000);
    std::thread::sleep(Duration::from_millis(300));
    a.request_ok(
        "<MsgType>1003</MsgType><TelNum>8001</TelNum><CalleeNo>13900000001</CalleeNo><Meeting>1</Meeting>",
    );
    let g1 = a.expect("6023")["TellGUID"].as_str().unwrap().to_owned();
    assert_eq!(a.expect("6009")["AR"], "1");
    a.expect("6004");
    let connected = Instant::now();
    a.request_ok(
        "<MsgType>1003</MsgType><TelNum>8001</TelNum><CalleeNo>8002</CalleeNo><Meeting>1</Meeting>",
    );
    a.expect("6023");
    assert_eq!(a.expect("6009")["AR"], "1", "8002's phone answered");
    // The carrier's leg is recorded from its answer; 8002 speaks loudly
    // from 1 s to 6.5 s after it answers.
    let joined = connected.elapsed().as_secs_f32();
    a.send("<MsgType>1032</MsgType>");
    let c = a.expect("9032")["Conferences"][0].clone();
    assert_eq!(
        c["Member"],
        serde_json::json!(["8001", "13900000001", "8002"]),
        "{c}"
    );
    finished(far_ext, &dir, "8002's phone", &server);
    finished(seat, &dir, "8001's phone", &server);
    finished(carrier, &dir, "the carrier", &server);
    a.expect("6007");
    let rows = server.call_records(2);
    let leg = rows
        .iter()
        .find(|r| r.0 == g1)
        .unwrap_or_else(|| panic!("the carrier's leg in {rows:?}"));
    let file = server
        .data_dir()
        .join("recordings")
        .join(leg.4.clone().expect("each leg is recorded"));
    written(&file);
    let level = rms(&file, joined + 1.2, joined + 5.5);
    assert!(
        level > 300.0,
        "the carrier's leg heard {level:.0} of 8002 (from {joined:.1} s)"
    );
}

/// 1016 on a SIP call, checked by ear: while muted, the agent's voice
/// does not reach the caller (the trunk's recording, what the caller
/// heard, is silent while the agent speaks); before and after, it does.
#[test]
fn a_muted_sip_agent_is_not_heard_by_the_caller() {
    if !inside_netns("a_muted_sip_agent_is_not_heard_by_the_caller") {
        return;
    }
    let (server, dir, mut a) = one_seat(&config(""));
    let seat = sipp_media(&dir, "seat8001", &seat_speaks(), 5062, 16000);
    let caller = sipp_media(&dir, "carrier", &caller(false), 5080, 18000);
    a.expect("6003");
    a.expect("6004");
    let connected = Instant::now();
    // The agent's speech is loud from 1 s to 7 s after it answers.
    std::thread::sleep(Duration::from_millis(2800));
    a.request_ok("<MsgType>1016</MsgType><TelNum>8001</TelNum><Mute>1</Mute>");
    let muted = connected.elapsed().as_secs_f32();
    std::thread::sleep(Duration::from_millis(2000));
    a.request_ok("<MsgType>1016</MsgType><TelNum>8001</TelNum><Mute>0</Mute>");
    let unmuted = connected.elapsed().as_secs_f32();
    finished(caller, &dir, "the carrier's call", &server);
    finished(seat, &dir, "8001's phone", &server);
    a.expect("6008");
    let file = first_recording(&server);
    let levels = [
        rms(&file, 1.2, muted - 0.3),
        rms(&file, muted + 0.4, unmuted - 0.3),
        rms(&file, unmuted + 0.4, 6.8),
    ];
    assert!(
        levels[0] > 300.0 && levels[1] < 50.0 && levels[2] > 300.0,
        "what the caller heard of the agent: {levels:.0?} (before the mute, \
         muted {muted:.1}-{unmuted:.1} s, after)"
    );
}

#[test]
fn a_sip_phone_keys_star_five_and_the_caller_rings_another_seat() {
    if !inside_netns("a_sip_phone_keys_star_five_and_the_caller_rings_another_seat") {
        return;
    }
    let (server, dir, mut a) = two_seats();
    let mut b = Client::login(&server, "8002", "1002");
    // In the call, 8001's phone keys *58002# (a blind transfer to 8002),
    // then hangs up its dead line.
    let seat_a = sipp_media(
        &dir,
        "seat8001",
        &seat_keys_by_info_and_hangs_up(&["*", "5", "8", "0", "0", "2", "#"]),
        5062,
        16000,
    );
    let seat_b = sipp_media(&dir, "seat8002", &seat_answers(), 5064, 16100);
    let caller = sipp_media(&dir, "carrier", &caller_scenario(), 5080, 18000);
    let guid = a.expect("6003")["TellGUID"].as_str().unwrap().to_owned();
    a.expect("6004");
    // The caller rings 8002 with its pop, and 8002's phone answers.
    assert_eq!(b.expect("6003")["TellGUID"], guid.as_str());
    assert_eq!(b.expect("6004")["TellGUID"], guid.as_str());
    a.expect("6007");
    finished(seat_a, &dir, "8001's phone", &server);
    finished(caller, &dir, "the carrier's call", &server);
    finished(seat_b, &dir, "8002's phone", &server);
    let rows = server.call_records(2);
    let parts: Vec<(&str, &str)> = rows.iter().map(|r| (r.0.as_str(), r.3.as_str())).collect();
    assert!(
        parts.contains(&(guid.as_str(), "8001")) && parts.contains(&(guid.as_str(), "8002")),
        "a part at each seat: {rows:?}"
    );
}

/// `*6<group>#` keyed on a SIP phone during a call: the caller waits in
/// group 1 again and rings the agent there (8002), with its pop.
#[test]
fn a_sip_phone_keys_star_six_and_the_caller_goes_back_to_the_group() {
    if !inside_netns("a_sip_phone_keys_star_six_and_the_caller_goes_back_to_the_group") {
        return;
    }
    let (server, dir, mut a) = two_seats();
    let mut b = Client::login(&server, "8002", "1002");
    let seat_a = sipp_media(
        &dir,
        "seat8001",
        &seat_keys_by_info_and_hangs_up(&["*", "6", "1", "#"]),
        5062,
        16000,
    );
    let seat_b = sipp_media(&dir, "seat8002", &seat_answers(), 5064, 16100);
    let caller = sipp_media(&dir, "carrier", &caller_scenario(), 5080, 18000);
    let guid = a.expect("6003")["TellGUID"].as_str().unwrap().to_owned();
    a.expect("6004");
    let pop = b.expect("6003");
    assert_eq!(
        (pop["TellGUID"].as_str(), pop["GroupNo"].as_str()),
        (Some(guid.as_str()), Some("1"))
    );
    assert_eq!(b.expect("6004")["TellGUID"], guid.as_str());
    a.expect("6007");
    finished(seat_a, &dir, "8001's phone", &server);
    finished(caller, &dir, "the carrier's call", &server);
    finished(seat_b, &dir, "8002's phone", &server);
    let rows = server.call_records(2);
    let parts: Vec<(&str, &str)> = rows.iter().map(|r| (r.0.as_str(), r.3.as_str())).collect();
    assert!(
        parts.contains(&(guid.as_str(), "8001")) && parts.contains(&(guid.as_str(), "8002")),
        "a part at each seat: {rows:?}"
    );
}

/// The carrier's caller keys 1 and waits on the line until spcti hangs
/// up (BYE with a Q.850 cause), which it answers.
fn caller_hung_up_on() -> String {
    let mut s = caller(false);
    let bye = s
        .find("  <send retrans=\"500\"><![CDATA[\nBYE")
        .expect("the caller's BYE");
    s.truncate(bye);
    s.push_str(
        &reply("200 OK", false, "Content-Length: 0\n\n")
            .replace("  <send>", "  <recv request=\"BYE\"/>\n  <send>"),
    );
    s.push_str("</scenario>\n");
    // sipp takes a request during a pause as unexpected: it just waits.
    s.replace("<pause milliseconds=\"7500\"/>", "")
        .replace("<pause milliseconds=\"2000\"/>", "")
}

#[test]
fn a_supervisor_force_hangs_up_an_agents_sip_call() {
    if !inside_netns("a_supervisor_force_hangs_up_an_agents_sip_call") {
        return;
    }
    let (server, dir, mut a) = one_seat(&config_with("", SECOND_SEAT));
    let mut sup = Client::operator(&server, "8002", "1002");
    let seat = sipp_media(&dir, "seat", &seat_answers(), 5062, 16000);
    let caller = sipp_media(&dir, "carrier", &caller_hung_up_on(), 5080, 18000);
    let guid = a.expect("6003")["TellGUID"].as_str().unwrap().to_owned();
    a.expect("6004");
    sup.request_ok("<MsgType>1022</MsgType><TelNum>8002</TelNum><Target>1001</Target>");
    a.expect("6008");
    // Both SIP parties got spcti's BYE and answered it.
    finished(caller, &dir, "the carrier's caller, hung up on", &server);
    finished(seat, &dir, "the seat's phone, hung up on", &server);
    let rows = server.call_records(1);
    assert_eq!(
        (rows[0].0.as_str(), rows[0].2.as_str()),
        (guid.as_str(), "system")
    );
    assert!(
        server.log().contains("SIP out: BYE"),
        "spcti sent the BYEs\n{}",
        server.log()
    );
}

/// 1027 on a SIP call's trunk channel: the caller gets spcti's BYE, the
/// seat's phone is hung up too (it heard only that trunk), the agent gets
/// 6008, and the record says the system ended it; the channel is free.
#[test]
fn an_operator_force_releases_a_sip_calls_trunk_channel() {
    if !inside_netns("an_operator_force_releases_a_sip_calls_trunk_channel") {
        return;
    }
    let (server, dir, mut a) = one_seat(&config_with("", SECOND_SEAT));
    let mut op = Client::operator(&server, "8002", "1002");
    let seat = sipp_media(&dir, "seat", &seat_answers(), 5062, 16000);
    let caller = sipp_media(&dir, "carrier", &caller_hung_up_on(), 5080, 18000);
    let pop = a.expect("6003");
    let (guid, trunk) = (
        pop["TellGUID"].as_str().unwrap().to_owned(),
        pop["ChNum"].as_str().unwrap().to_owned(),
    );
    a.expect("6004");
    op.request_ok(&format!("<MsgType>1027</MsgType><ChNum>{trunk}</ChNum>"));
    a.expect("6008");
    finished(caller, &dir, "the carrier's caller, released", &server);
    finished(seat, &dir, "the seat's phone, hung up on", &server);
    let rows = server.call_records(1);
    assert_eq!(
        (rows[0].0.as_str(), rows[0].2.as_str()),
        (guid.as_str(), "system")
    );
    op.send(&format!("<MsgType>1027</MsgType><ChNum>{trunk}</ChNum>"));
    assert_eq!(op.expect("9000")["Result"], "0", "a free channel");
}

/// Seat 8001's phone dials `*9` (an INVITE, challenged), listens a moment
/// and hangs up itself (its BYE carries the 200's To tag: sipp's own
/// `[peer_tag_param]` would take the last response's, here the 401's).
fn seat_dials_star_nine_and_hangs_up() -> String {
    // sipp refuses a variable that is set and never used: only this
    // scenario keeps the To tag.
    let ends = seat_dials("8001", "*9").replace(
        "  <recv response=\"200\"/>",
        "  <recv response=\"200\">\n    <action><ereg regexp=\";tag=[^;> ]*\" search_in=\"hdr\" header=\"To:\" assign_to=\"totag\"/></action>\n  </recv>",
    );
    let at = ends
        .find("  <recv request=\"BYE\"/>")
        .expect("the BYE it waits for");
    format!(
        r#"{}  <pause milliseconds="500"/>
  <send retrans="500"><![CDATA[
BYE sip:spcti@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:8001@[remote_ip]>;tag=[pid]SIPpTag00[call_number]
To: <sip:*9@[remote_ip]:[remote_port]>[$totag]
Call-ID: [call_id]
CSeq: 3 BYE
Max-Forwards: 70
Content-Length: 0

]]></send>
  <recv response="200"/>
</scenario>
"#,
        &ends[..at]
    )
}

#[test]
fn star_nine_dialed_on_a_sip_phone_logs_its_agent_out() {
    if !inside_netns("star_nine_dialed_on_a_sip_phone_logs_its_agent_out") {
        return;
    }
    let (server, dir, mut a) = one_seat(&config(""));
    let phone = sipp_media(
        &dir,
        "seat",
        &seat_dials_star_nine_and_hangs_up(),
        5062,
        16000,
    );
    a.expect_state("offline");
    finished(phone, &dir, "8001's phone dialing *9", &server);
    a.send("<MsgType>1099</MsgType><TelNum>8001</TelNum>");
    assert_eq!(a.expect("9099")["AgentState"], "offline");
}

/// An INVITE from `from` (host:port) with SDP, as raw text.
fn raw_invite(from: &str, call_id: &str, branch: &str, caller: &str) -> Vec<u8> {
    let sdp = "v=0\r\no=x 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 19000 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n";
    format!(
        "INVITE sip:4008001234@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP {from};branch={branch}\r\nMax-Forwards: 70\r\nFrom: <sip:{caller}@{from}>;tag=t-{call_id}\r\nTo: <sip:4008001234@127.0.0.1:5060>\r\nCall-ID: {call_id}\r\nCSeq: 1 INVITE\r\nContact: <sip:{caller}@{from}>\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
        sdp.len()
    )
    .into_bytes()
}

/// The final status answering on `s` (its code and the whole response).
fn status(s: &std::net::UdpSocket) -> (u16, String) {
    let mut buf = [0u8; 65_535];
    loop {
        let (n, _) = s.recv_from(&mut buf).expect("an answer from spcti");
        let m = spcti_protocol::sip::Message::parse(&buf[..n]).unwrap();
        let code = m.code().unwrap();
        if code >= 200 {
            return (code, String::from_utf8_lossy(&buf[..n]).into_owned());
        }
    }
}

#[test]
fn strangers_get_403_a_call_is_never_made_twice_and_calls_past_max_calls_get_503() {
    if !inside_netns(
        "strangers_get_403_a_call_is_never_made_twice_and_calls_past_max_calls_get_503",
    ) {
        return;
    }
    let server = start(&config("").replace(
        "seat_passwords = \"config\"",
        "seat_passwords = \"config\"\nmax_calls = 1",
    ));
    let mut agent = Client::login(&server, "8001", "1001");
    let peer = |addr: &str| {
        let s = std::net::UdpSocket::bind(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s
    };
    // An INVITE from `s` to spcti, and the final status it gets.
    let invite = |s: &std::net::UdpSocket, call_id: &str, branch: &str, caller: &str| {
        let from = s.local_addr().unwrap().to_string();
        s.send_to(
            &raw_invite(&from, call_id, branch, caller),
            "127.0.0.1:5060",
        )
        .unwrap();
        status(s)
    };
    // Not the carrier's host, not a seat's phone: 403, and nothing else.
    let stranger = peer("127.0.0.2:5099");
    assert_eq!(invite(&stranger, "s1", "z9hG4bKs1", "666").0, 403);

    // The carrier's first call is taken (the menu answers it).
    let carrier = peer("127.0.0.1:5080");
    assert_eq!(invite(&carrier, "c1", "z9hG4bKc1", "13800138000").0, 200);
    // The same call again under a new branch (a forked copy): refused,
    // never a second call.
    assert_eq!(invite(&carrier, "c1", "z9hG4bKc1b", "13800138000").0, 482);
    // A second call past max_calls = 1: 503 with Retry-After.
    let (code, text) = invite(&carrier, "c2", "z9hG4bKc2", "13900000000");
    assert_eq!(code, 503, "{text}");
    assert!(text.to_ascii_lowercase().contains("retry-after:"), "{text}");
    // One call reached the actors, and nobody was offered a stranger's.
    let pops: Vec<_> = agent
        .drain(Duration::from_millis(500))
        .into_iter()
        .filter(|m| m["MsgType"] == "6003")
        .collect();
    assert!(pops.is_empty(), "{pops:?}");
    let (_, channels) = server.http("GET", "/api/channels", None);
    let busy = channels
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ChType"] == "trunk" && c["State"] != "free")
        .count();
    assert_eq!(busy, 1, "{channels}");
}
