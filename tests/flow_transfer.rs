//! A flow's `transfer` node end to end on the sim (docs/flows.md): the
//! caller put through to an extension (by number or by the agent's
//! WorkNo) or an outside number; `fail` when the target is unknown, busy
//! or does not answer; `next` when the far end hangs up first.
//! Trunks are channels 0-3; seats 8001-8005 channels 4-8.

mod support;

use serde_json::{Value, json};
use support::{Client, Server, seat_ch};

const CONFIG: &str = r#"
[[group]]
no = 1
name = "Service"
strategy = "longest-idle"

[[agent]]
work_no = "1001"
groups = [{ no = 1, priority = 1 }]

[[agent]]
work_no = "1002"
groups = [{ no = 1, priority = 1 }]
"#;

fn flow(to: &str) -> String {
    format!(
        r#"{{
  "name": "default", "start": "hello",
  "nodes": {{
    "hello": {{"kind": "play", "prompt": "welcome", "next": "put"}},
    "put":   {{"kind": "transfer", "to": "{to}", "next": "bye", "fail": "sorry"}},
    "sorry": {{"kind": "play", "prompt": "busy"}},
    "bye":   {{"kind": "play", "prompt": "goodbye"}}
  }}
}}"#
    )
}

/// The trunk the transfer dials out on, once it does.
fn dialing_out(server: &Server) -> u32 {
    server.wait_channels("a trunk dialing out", |all| {
        all.iter()
            .find(|c| c["kind"] == "trunk" && c["state"] == "dialing")
            .and_then(|c| c["ch"].as_u64())
            .map(|ch| ch as u32)
    })
}

fn heard(c: &Value) -> Vec<String> {
    c["heard"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn the_caller_is_put_through_to_an_extension_and_goes_on_when_the_agent_hangs_up_first() {
    for to in ["8002", "1002"] {
        let server = Server::with_flows(CONFIG, &[("default", &flow(to))], &[]);
        let mut first = Client::login(&server, "8001", "1001");
        let mut target = Client::login(&server, "8002", "1002");
        let (ch, guid) = server.call("13800138000", "4008001234");
        server.through_ivr(ch);
        // The target rings with the screen pop; nobody else is offered it.
        let pop = target.expect("6003");
        assert_eq!(pop["TellGUID"].as_str(), Some(guid.as_str()), "{to}: {pop}");
        server.wait_channel(seat_ch(8002), "8002 ringing", |c| c["state"] == "ringing");
        server.act("/sim/extensions/8002/offhook", None);
        target.expect("6004");
        server.wait_channel(ch, "talking", |c| c["state"] == "talking");
        // The agent hangs up first: the caller goes on at `next`.
        server.act("/sim/extensions/8002/onhook", None);
        let c = server.wait_channel(ch, "the goodbye", |c| c["playing"] == "goodbye");
        assert_eq!(heard(&c), ["welcome", "goodbye"], "{to}");
        server.advance(1_200);
        server.wait_channel(ch, "the call over", |c| c["state"] == "free");
        // The talk has its record, at 8002; the first agent never saw the call.
        let records = server.call_records(1);
        assert!(
            records
                .iter()
                .any(|r| r.0.eq_ignore_ascii_case(&guid) && r.3 == "8002"),
            "{to}: {records:?}"
        );
        server.idle();
        first.got_no("6003", &format!("{to}: the first agent saw the call"));
    }
}

#[test]
fn an_unknown_busy_or_unanswered_target_sends_the_caller_to_fail() {
    // Not an extension, not a WorkNo, outside transfers off.
    let server = Server::with_flows(CONFIG, &[("default", &flow("5555"))], &[]);
    let (ch, _) = server.call("13800138000", "4008001234");
    server.through_ivr(ch);
    let c = server.wait_channel(ch, "the fail prompt", |c| c["playing"] == "busy");
    assert_eq!(heard(&c), ["welcome", "busy"]);

    // Busy: the target's phone is off the hook.
    let server = Server::with_flows(CONFIG, &[("default", &flow("8002"))], &[]);
    server.act("/sim/extensions/8002/offhook", None);
    let (ch, _) = server.call("13800138000", "4008001234");
    server.through_ivr(ch);
    let c = server.wait_channel(ch, "the fail prompt", |c| c["playing"] == "busy");
    assert_eq!(heard(&c), ["welcome", "busy"]);

    // No answer within the ring timeout (45 s): the ringing stops, and
    // the caller goes to `fail` — not into a queue.
    let server = Server::with_flows(CONFIG, &[("default", &flow("8002"))], &[]);
    let mut target = Client::login(&server, "8002", "1002");
    let (ch, _) = server.call("13800138000", "4008001234");
    server.through_ivr(ch);
    target.expect("6003");
    server.wait_channel(seat_ch(8002), "8002 ringing", |c| c["state"] == "ringing");
    let c = server.advance_until(
        ch,
        "the fail prompt after the ring timeout",
        5_000,
        12,
        |c| c["playing"] == "busy",
    );
    assert_eq!(heard(&c), ["welcome", "busy"]);
    server.wait_channel(seat_ch(8002), "8002 quiet again", |c| c["state"] == "free");
    let (_, groups) = server.http("GET", "/api/groups", None);
    assert_eq!(groups[0]["Queued"], "0", "{groups}");
}

#[test]
fn an_outside_number_is_dialed_on_a_free_trunk_with_transtoout() {
    let server = Server::with_flows(
        CONFIG,
        &[("default", &flow("013900000001"))],
        &[("SPCTI_SYS__TRANSTOOUT", "true")],
    );
    let (ch, _) = server.call("13800138000", "4008001234");
    server.through_ivr(ch);
    // The target is looked up off the trunk's mailbox: wait for the dialing.
    let out = dialing_out(&server);
    let t = server.wait_channel(out, "dialing", |c| c["state"] == "dialing");
    assert_eq!(
        (t["callee"].as_str(), t["caller"].as_str()),
        (Some("13900000001"), Some("13800138000"))
    );
    server.act(&format!("/sim/channels/{out}/answer"), None);
    server.wait_channel(ch, "talking", |c| c["state"] == "talking");
    // Unanswered, it would have gone to `fail`; answered, the far end
    // hanging up first sends the caller on at `next`.
    server.act(&format!("/sim/channels/{out}/hangup"), Some(json!({})));
    let c = server.wait_channel(ch, "the goodbye", |c| c["playing"] == "goodbye");
    assert_eq!(heard(&c), ["welcome", "goodbye"]);
    server.wait_channel(out, "the outside trunk free", |c| c["state"] == "free");
    server.advance(1_200);
    server.wait_channel(ch, "the call over", |c| c["state"] == "free");
    // The caller's talk (answered, with its recording) and the outside
    // leg's own record; the flow's end after a talk adds none.
    let records = server.call_records(2);
    let mut kinds: Vec<(i32, bool)> = records.iter().map(|r| (r.1, r.4.is_some())).collect();
    kinds.sort();
    assert_eq!(kinds, [(6, false), (9, true)], "{records:?}");

    // Refused by the far end (busy, 17): the caller goes to `fail`.
    let (ch, _) = server.call("13800138001", "4008001234");
    server.through_ivr(ch);
    let out = dialing_out(&server);
    server.act(
        &format!("/sim/channels/{out}/reject"),
        Some(json!({"cause": 17})),
    );
    let c = server.wait_channel(ch, "the fail prompt", |c| c["playing"] == "busy");
    assert_eq!(heard(&c), ["welcome", "busy"]);
    server.wait_channel(out, "the outside trunk free", |c| c["state"] == "free");
}
