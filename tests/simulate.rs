//! The designer's step-through runs over the admin API (docs/flows.md
//! "Trying a flow"): the real engine, no call, virtual time; what the
//! caller would hear, where the flow is, and a clear refusal for what
//! cannot happen.

mod support;

use serde_json::{Value, json};
use support::{Client, DEFAULT_CONFIG, Server};

const HOURS: &str = r#"{
  "name": "hours", "start": "greet", "popup": ["customer_id"],
  "nodes": {
    "greet": {"kind": "play", "prompt": "welcome", "barge_in": true, "next": "open"},
    "open":  {"kind": "time", "open": [{"days": "mon-fri", "from": "09:00", "to": "18:00"}],
              "closed_if": "global.holiday == \"1\"", "open_next": "ask", "closed_next": "vm"},
    "ask":   {"kind": "collect", "prompt": "welcome", "var": "customer_id", "min": 3, "max": 6,
              "timeout_s": 7, "next": "look", "fail": "q"},
    "look":  {"kind": "http", "url": "http://127.0.0.1:9/crm?id={customer_id}", "vars": {"tier": "/tier"},
              "next": "vip", "fail": "q"},
    "vip":   {"kind": "branch", "if": "tier == \"gold\"", "then": "q", "else": "vm"},
    "q":     {"kind": "queue", "group": 1, "max_wait_s": 60, "overflow": "vm", "next": "bye"},
    "vm":    {"kind": "voicemail", "max_s": 30, "next": "bye"},
    "bye":   {"kind": "hangup"}
  }
}"#;

fn start(server: &Server, name: &str, body: Value) -> Value {
    let (status, r) = server.post(&format!("/api/flows/{name}/simulate"), body);
    assert_eq!(status, 201, "{r}");
    r
}

fn step(server: &Server, run: &Value, input: Value) -> (u16, Value) {
    server.post(
        &format!("/api/simulations/{}", run["id"].as_str().unwrap()),
        input,
    )
}

fn ok(server: &Server, run: &Value, input: Value) -> Value {
    let (status, r) = step(server, run, input.clone());
    assert_eq!(status, 200, "{input}: {r}");
    r
}

fn kinds(r: &Value) -> Vec<String> {
    r["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_draft_runs_step_by_step_through_keys_a_web_answer_and_the_queue() {
    let server = Server::start();
    let flow: Value = serde_json::from_str(HOURS).unwrap();
    // A Tuesday at 10:00: open.
    let r = start(
        &server,
        "hours",
        json!({"flow": flow, "at": "2026-12-01T10:00", "caller": "555"}),
    );
    assert_eq!(
        (r["node"].as_str(), r["version"].as_u64()),
        (Some("greet"), Some(0))
    );
    assert_eq!(r["playing"], json!(["welcome"]));
    assert_eq!(r["vars"]["caller"], "555");

    // Keys barge into the welcome and are kept for the collect (type-ahead).
    let r = ok(&server, &r, json!({"input": "keys", "keys": "12"}));
    assert_eq!(kinds(&r)[0], "stop", "{r}");
    assert_eq!(r["node"], "ask", "{r}");
    let r = ok(&server, &r, json!({"input": "keys", "keys": "34#"}));
    assert_eq!(r["node"], "look", "{r}");
    assert_eq!(r["vars"]["customer_id"], "1234");
    assert_eq!(r["popup"]["customer_id"], "1234");
    // The request is shown, not sent; the answer is given by hand.
    assert_eq!(r["http"]["url"], "http://127.0.0.1:9/crm?id=1234", "{r}");
    let r = ok(
        &server,
        &r,
        json!({"input": "http", "body": {"tier": "gold"}}),
    );
    assert_eq!(r["vars"]["tier"], "gold");
    assert_eq!(r["node"], "q");
    assert_eq!(r["queue"]["group"], 1);
    assert_eq!(r["queue"]["max_wait_s"], 60);

    // Keys mean nothing in the queue; an overflow goes to the voicemail.
    let (status, why) = step(&server, &r, json!({"input": "keys", "keys": "5"}));
    assert_eq!(status, 409, "{why}");
    let r = ok(&server, &r, json!({"input": "overflow"}));
    assert_eq!(kinds(&r), ["overflow", "record", "timer"], "{r}");
    assert!(r["recording"].as_bool().unwrap());
    // The recording's limit runs out on virtual time: no waiting here.
    let r = ok(&server, &r, json!({"input": "timer"}));
    assert_eq!(r["clock_ms"], 30_000);
    assert!(kinds(&r).contains(&"message_kept".to_owned()), "{r}");
    assert_eq!(r["ended"], "the flow hung up", "{r}");
    let (status, why) = step(&server, &r, json!({"input": "prompt_done"}));
    assert_eq!(
        (status, why["error"].as_str().map(|e| e.contains("over"))),
        (409, Some(true))
    );

    // Nothing was saved: the draft ran as version 0 and is not a flow.
    let (status, _) = server.http("GET", "/api/flows/hours", None);
    assert_eq!(status, 404);
}

#[test]
fn the_clock_and_the_globals_of_a_run_are_its_own() {
    let server = Server::with_flows(DEFAULT_CONFIG, &[("hours", HOURS)], &[]);
    // Saturday: closed, straight to the voicemail after the welcome.
    let r = start(&server, "hours", json!({"at": "2026-12-05T10:00"}));
    assert_eq!(r["version"], 1);
    let r = ok(&server, &r, json!({"input": "prompt_done"}));
    assert_eq!(r["node"], "vm", "{r}");
    // A time past the month's end counts on: 2026-11-31 is Tuesday 1 December.
    let r = start(&server, "hours", json!({"at": "2026-11-31T09:00"}));
    let r = ok(&server, &r, json!({"input": "prompt_done"}));
    assert_eq!(r["node"], "ask", "{r}");
    // The collect's timer (from the end of its prompt) with too few
    // keys: the fail exit, the queue.
    let r = ok(&server, &r, json!({"input": "prompt_done"}));
    assert_eq!(r["timer_ms"], 7_000, "{r}");
    let r = ok(&server, &r, json!({"input": "keys", "keys": "9"}));
    let r = ok(&server, &r, json!({"input": "timer"}));
    assert_eq!(r["node"], "q", "{r}");
    // The agent hangs up first: `next`, then the end.
    let r = ok(&server, &r, json!({"input": "agent_hung_up"}));
    assert_eq!(r["ended"], "the flow hung up", "{r}");

    // A live holiday global (1030) closes the runs started after it; a
    // run already going keeps the globals it started with.
    let before = start(&server, "hours", json!({"at": "2026-12-01T10:00"}));
    let mut agent = Client::login(&server, "8001", "1001");
    agent.request_ok("<MsgType>1030</MsgType><VarName>holiday</VarName><VarValue>1</VarValue>");
    let after = start(&server, "hours", json!({"at": "2026-12-01T10:00"}));
    assert_eq!(after["globals"]["holiday"], "1", "{after}");
    let after = ok(&server, &after, json!({"input": "prompt_done"}));
    assert_eq!(after["node"], "vm", "{after}");
    let before = ok(&server, &before, json!({"input": "prompt_done"}));
    assert_eq!(before["node"], "ask", "{before}");
}

#[test]
fn bad_runs_and_bad_inputs_are_refused_with_the_reason() {
    let server = Server::start();
    // No such flow, no draft.
    let (status, why) = server.post("/api/flows/nosuch/simulate", json!({}));
    assert_eq!(status, 404, "{why}");
    // A draft that does not pass its check: every error, naming the node.
    let (status, why) = server.post(
        "/api/flows/x/simulate",
        json!({"flow": {"start": "a", "nodes": {"a": {"kind": "play", "prompt": "nosuch", "next": "gone"}}}}),
    );
    assert_eq!(status, 409, "{why}");
    let text = why["error"].as_str().unwrap();
    assert!(
        text.contains("node `a`") && text.contains("gone") && text.contains("nosuch"),
        "{text}"
    );
    // A bad time, a bad field.
    for body in [
        json!({"at": "tomorrow"}),
        json!({"at": "2026-13-01T10:00"}),
        json!({"caller": 5}),
        json!({"flow": []}),
    ] {
        let (status, why) = server.post("/api/flows/default/simulate", body.clone());
        assert_eq!(status, 400, "{body}: {why}");
        assert!(why["error"].is_string(), "{why}");
    }

    let r = start(&server, "default", json!({}));
    for (input, status) in [
        (json!({}), 400),
        (json!({"input": "sing"}), 400),
        (json!({"input": "keys", "keys": "1x"}), 400),
        (json!({"input": "keys"}), 400),
        (json!({"input": "http", "body": {}, "error": "both"}), 400),
        (json!({"input": "timer"}), 409),
        (json!({"input": "http", "body": {}}), 409),
        (json!({"input": "agent_hung_up"}), 409),
    ] {
        let (got, why) = step(&server, &r, input.clone());
        assert_eq!(got, status, "{input}: {why}");
        assert!(why["error"].is_string(), "{why}");
    }
    // The run is untouched by what it refused.
    let again = ok(&server, &r, json!({"input": "prompt_done"}));
    assert_eq!(again["queue"]["group"], 1, "{again}");

    // Ended runs are gone.
    let path = format!("/api/simulations/{}", r["id"].as_str().unwrap());
    assert_eq!(server.http("DELETE", &path, None).0, 204);
    assert_eq!(server.http("DELETE", &path, None).0, 404);
    assert_eq!(step(&server, &r, json!({"input": "caller_hung_up"})).0, 404);
}

#[test]
fn a_transfer_is_shown_and_its_outcome_chosen() {
    let server = Server::start();
    let flow = json!({"start": "put", "nodes": {
        "put":   {"kind": "transfer", "to": "{callee}", "next": "bye", "fail": "sorry"},
        "sorry": {"kind": "play", "prompt": "busy"},
        "bye":   {"kind": "hangup"}
    }});
    let r = start(&server, "t", json!({"flow": flow, "callee": "8002"}));
    assert_eq!(
        (r["transfer"].as_str(), r["node"].as_str()),
        (Some("8002"), Some("put")),
        "{r}"
    );
    let (status, why) = step(&server, &r, json!({"input": "keys", "keys": "1"}));
    assert_eq!(status, 409, "{why}");
    let failed = ok(&server, &r, json!({"input": "transfer_failed"}));
    assert_eq!(
        (failed["node"].as_str(), failed["transfer"].is_null()),
        (Some("sorry"), true)
    );
    assert_eq!(failed["playing"], json!(["busy"]));

    let r = start(&server, "t", json!({"flow": flow, "callee": "8002"}));
    let r = ok(&server, &r, json!({"input": "agent_hung_up"}));
    assert_eq!(r["ended"], "the flow hung up", "{r}");
    let r = start(&server, "t", json!({"flow": flow, "callee": "8002"}));
    assert_eq!(step(&server, &r, json!({"input": "overflow"})).0, 409);
}
