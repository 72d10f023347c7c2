//! The real `spcti` binary: `xml decode`/`encode`, `migrate`, and config
//! errors that stop `serve`.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn spcti(args: &[&str], stdin: &[u8], envs: &[(&str, &str)]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_spcti"))
        .args(args)
        .envs(envs.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn spcti");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

#[test]
fn decode_prints_canonical_tags_as_strings() {
    let out = spcti(
        &["xml", "decode"],
        b"<msgtype>6009</msgtype><TelNum>8031</TelNum><CallerNo>6060</CallerNo><CalleeNo>78963200</CalleeNo><AR>1</AR><Reason>0</Reason><TellGuid>769194c3-423c-40e7-8e23-7ba83900dbfb</TellGuid>\n",
        &[],
    );
    assert_eq!(
        json(&out),
        serde_json::json!({
            "MsgType": "6009", "TelNum": "8031", "CallerNo": "6060", "CalleeNo": "78963200",
            "AR": "1", "Reason": "0", "TellGUID": "769194C3-423C-40E7-8E23-7BA83900DBFB"
        })
    );
}

#[test]
fn decode_gbk_input() {
    let (bytes, _, _) = encoding_rs::GBK
        .encode("<MsgType>1002</MsgType><TelNum>8001</TelNum><ShowState>午休中</ShowState>");
    let out = spcti(&["xml", "decode", "--encoding", "gbk"], &bytes, &[]);
    assert_eq!(
        json(&out),
        serde_json::json!({"MsgType": "1002", "TelNum": "8001", "ShowState": "午休中"})
    );
    // The same bytes are not UTF-8.
    let out = spcti(&["xml", "decode"], &bytes, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "spcti: datagram is not valid utf-8 text but is valid GBK: the sender uses GBK (set the encoding to gbk, or send UTF-8)"
    );
}

#[test]
fn decode_refuses_bad_datagrams_with_exit_1() {
    for (input, why) in [
        (&b"<MsgType>1001</MsgType>"[..], "missing TelNum"),
        (b"<MsgType>4242</MsgType>", "unknown MsgType 4242"),
        (
            b"<MsgType>1001</MsgType><TelNum>8001",
            "<TelNum> is not closed",
        ),
        (
            b"<!DOCTYPE x><MsgType>1001</MsgType>",
            "DOCTYPE is not allowed",
        ),
    ] {
        let out = spcti(&["xml", "decode"], input, &[]);
        assert_eq!(out.status.code(), Some(1));
        assert!(out.stdout.is_empty());
        assert_eq!(
            String::from_utf8_lossy(&out.stderr).trim(),
            format!("spcti: {why}")
        );
    }
    let big = vec![b' '; 20_000];
    let out = spcti(&["xml", "decode"], &big, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("over the 8 KiB limit"));
}

#[test]
fn encode_then_decode_round_trips_lists() {
    let input = serde_json::json!({
        "MsgType": "9032",
        "Conferences": [{"ConfNo": "4", "Member": ["8001", "13800000000"], "HALLH": "1"}],
        "Seq": "x1"
    });
    let out = spcti(&["xml", "encode"], input.to_string().as_bytes(), &[]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout.clone()).unwrap(),
        "<MsgType>9032</MsgType><ConfNo>4</ConfNo><Member>8001</Member><Member>13800000000</Member><HALLH>1</HALLH><Seq>x1</Seq>"
    );
    let back = spcti(&["xml", "decode"], &out.stdout, &[]);
    assert_eq!(json(&back), input);
    let out = spcti(&["xml", "encode"], br#"{"MsgType":"1001"}"#, &[]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn migrate_creates_the_sqlite_schema_once() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/db/spcti.db", dir.path().display());
    let envs = [("SPCTI_DATABASE__URL", url.as_str())];
    let out = spcti(&["migrate"], b"", &envs);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("applied"));
    let again = spcti(&["migrate"], b"", &envs);
    assert_eq!(
        String::from_utf8_lossy(&again.stdout).trim(),
        "database is up to date"
    );
}

#[test]
fn serve_refuses_a_misspelt_key_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "[sys]\nring_timout_s = 10\n").unwrap();
    let out = spcti(&["serve", "--config", file.to_str().unwrap()], b"", &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown key `sys.ring_timout_s`") && err.contains("bad.toml"),
        "{err}"
    );
}

#[test]
fn serve_refuses_bad_values_naming_key_value_and_what_is_allowed() {
    let dir = tempfile::tempdir().unwrap();
    for (toml, env, expect) in [
        ("[monitor]\nbind = \"nowhere\"\n", None, "monitor.bind"),
        (
            "[database]\nurl = \"oracle://db/calls\"\n",
            None,
            "database.url",
        ),
        (
            "[admin]\nfault_injection = \"yes\"\n",
            None,
            "admin.fault_injection",
        ),
        (
            "",
            Some(("SPCTI_SYS__RING_TIMEOUT_S", "forever")),
            "sys.ring_timeout_s",
        ),
    ] {
        let file = dir.path().join("bad.toml");
        std::fs::write(&file, toml).unwrap();
        let envs: Vec<(&str, &str)> = env.into_iter().collect();
        let out = spcti(&["serve", "--config", file.to_str().unwrap()], b"", &envs);
        assert_eq!(out.status.code(), Some(1), "{toml}{env:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expect), "{expect}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "one clear line: {err}");
    }
}

#[test]
fn send_prints_what_comes_back() {
    let peer = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = peer.local_addr().unwrap().to_string();
    let echo = std::thread::spawn(move || {
        let mut buf = [0u8; 9000];
        let (n, from) = peer.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"<MsgType>1099</MsgType><TelNum>8001</TelNum>\n");
        peer.send_to(
            b"<MsgType>9099</MsgType><TelNum>8001</TelNum><AgentState>ready</AgentState>",
            from,
        )
        .unwrap();
    });
    let out = spcti(
        &["xml", "send", &addr, "--listen-ms", "2000"],
        b"<MsgType>1099</MsgType><TelNum>8001</TelNum>\n",
        &[],
    );
    echo.join().unwrap();
    assert_eq!(
        json(&out),
        serde_json::json!({"MsgType": "9099", "TelNum": "8001", "AgentState": "ready"})
    );
    // A bad datagram is refused before anything is sent.
    let out = spcti(
        &["xml", "send", "127.0.0.1:9"],
        b"<MsgType>1099</MsgType>",
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "spcti: missing TelNum"
    );
}

/// A backend this build cannot speak stops `serve` at once (records would
/// only pile up in the spool).
#[cfg(not(feature = "mysql"))]
#[test]
fn serve_refuses_a_backend_that_is_not_compiled_in() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = spcti(
        &["serve"],
        b"",
        &[
            ("SPCTI_DATABASE__URL", "mysql://root@127.0.0.1/test"),
            ("SPCTI_SERVER__DATA_DIR", data.to_str().unwrap()),
            ("SPCTI_AGENT_UDP__BIND", "127.0.0.1:0"),
            ("SPCTI_ADMIN__BIND", "127.0.0.1:0"),
            ("SPCTI_MONITOR__BIND", "127.0.0.1:0"),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("database.url")
            && err.contains("not compiled in")
            && err.contains("--features mysql"),
        "{err}"
    );
}
