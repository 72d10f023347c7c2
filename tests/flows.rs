//! Call flows end to end (docs/flows.md): flow files in the server's
//! `[flow] dir`, a sim call, the caller's keys over `/sim`, the prompts the
//! caller heard read back from the sim, and the agent's screen pop over UDP.
//! Prompt lengths (built in): welcome 2.0 s, busy 1.4 s, goodbye 1.2 s,
//! digits 0.4 s. Trunks are channels 0-3; seats 8001-8005 channels 4-8.

mod support;

use std::process::Command;

use serde_json::{Value, json};
use support::{Client, DEFAULT_CONFIG, Server, wav};

fn heard(c: &Value) -> Vec<String> {
    c["heard"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

fn keys(server: &Server, ch: u32, digits: &str) {
    server.act(
        &format!("/sim/channels/{ch}/dtmf"),
        Some(json!({ "digits": digits })),
    );
}

const MENU: &str = r#"{
  "name": "default", "start": "menu",
  "nodes": {
    "menu":  {"kind": "menu", "prompt": "welcome", "timeout_s": 5, "retries": 2,
              "choices": {"1": "sales", "2": "bye"}, "invalid": "sorry", "fail": "bye", "x": 10, "y": 10},
    "sorry": {"kind": "play", "prompt": "busy", "next": "menu"},
    "sales": {"kind": "queue", "group": 1},
    "bye":   {"kind": "play", "prompt": "goodbye"}
  }
}"#;

#[test]
fn a_menu_replays_after_an_invalid_key_and_a_timeout_then_queues_on_a_choice() {
    let server = Server::with_flows(DEFAULT_CONFIG, &[("default", MENU)], &[]);
    let mut agent = Client::login(&server, "8001", "1001");
    let (ch, guid) = server.call("13800138000", "4008001234");
    server.wait_channel(ch, "playing the menu", |c| c["playing"] == "welcome");

    // A wrong key stops the menu: the `invalid` node's prompt, then the menu again.
    keys(&server, ch, "9");
    server.wait_channel(ch, "playing invalid", |c| c["playing"] == "busy");
    server.advance(1_400);
    let c = server.wait_channel(ch, "the menu again", |c| heard(c).len() == 3);
    assert_eq!(heard(&c), ["welcome", "busy", "welcome"]);
    assert_eq!(c["playing"], "welcome");

    // Silence: after the prompt and 5 s, the menu plays once more (the
    // second failure of two retries).
    let c = server.advance_until(ch, "the menu after a timeout", 1_000, 12, |c| {
        heard(c).len() == 4
    });
    assert_eq!(heard(&c), ["welcome", "busy", "welcome", "welcome"]);

    // Pressed during the prompt, a choice counts at once.
    keys(&server, ch, "1");
    let pop = agent.expect("6003");
    assert_eq!(
        (pop["TellGUID"].as_str(), pop["GroupNo"].as_str()),
        (Some(guid.as_str()), Some("1"))
    );
    server.wait_channel(ch, "prompt stopped", |c| c["playing"].is_null());
}

#[test]
fn a_menu_whose_tries_run_out_takes_fail_and_the_flow_hangs_up_at_its_end() {
    let server = Server::with_flows(DEFAULT_CONFIG, &[("default", MENU)], &[]);
    let (ch, guid) = server.call("13800138000", "4008001234");
    server.wait_channel(ch, "playing the menu", |c| c["playing"] == "welcome");
    // Three wrong keys: the third failure is past the two retries.
    for n in 0..3 {
        keys(&server, ch, "7");
        if n < 2 {
            server.wait_channel(ch, "playing invalid", |c| c["playing"] == "busy");
            server.advance(1_400);
            server.wait_channel(ch, "the menu again", |c| c["playing"] == "welcome");
        }
    }
    server.wait_channel(ch, "playing goodbye", |c| c["playing"] == "goodbye");
    server.advance(1_200);
    server.wait_channel(ch, "hung up", |c| c["state"] == "free");
    // The call's record: ended in the IVR (tellmsg 7), by the system.
    let rows = server.call_records(1);
    assert_eq!(
        (rows[0].0.as_str(), rows[0].1, rows[0].2.as_str()),
        (guid.as_str(), 7, "system")
    );
}

const COLLECT: &str = r##"{
  "name": "ivr", "start": "ask", "popup": ["customer_id"],
  "nodes": {
    "ask":  {"kind": "collect", "prompt": "welcome", "var": "customer_id", "min": 4, "max": 8,
             "terminator": "#", "timeout_s": 6, "next": "read", "fail": "ask"},
    "read": {"kind": "say", "digits": "{customer_id}", "next": "vip"},
    "vip":  {"kind": "branch", "if": "customer_id.starts_with(\"9\")", "then": "vipq", "else": "std"},
    "vipq": {"kind": "queue", "group": 2},
    "std":  {"kind": "queue", "group": 1}
  }
}"##;

const TWO_GROUPS: &str = r#"
[flow]
inbound = "ivr"

[[group]]
no = 1
name = "Service"
strategy = "longest-idle"

[[group]]
no = 2
name = "VIP"
strategy = "longest-idle"

[[agent]]
work_no = "1001"
groups = [{ no = 1, priority = 1 }]

[[agent]]
work_no = "1002"
groups = [{ no = 2, priority = 1 }]
"#;

#[test]
fn collected_digits_are_read_back_branch_the_call_and_pop_on_the_agents_screen() {
    let server = Server::with_flows(TWO_GROUPS, &[("ivr", COLLECT)], &[]);
    let mut service = Client::login(&server, "8001", "1001");
    let mut vip = Client::login(&server, "8002", "1002");
    let (ch, guid) = server.call("13800138000", "4008001234");
    server.wait_channel(ch, "asking", |c| c["playing"] == "welcome");
    // Keys during the prompt stop it; `#` ends the number.
    keys(&server, ch, "9123#");
    let c = server.wait_channel(ch, "reading back", |c| c["playing"] == "digit_9");
    assert_eq!(heard(&c), ["welcome", "digit_9"]);
    let c = server.advance_until(ch, "read back", 400, 10, |c| heard(c).len() == 5);
    assert_eq!(
        heard(&c),
        ["welcome", "digit_9", "digit_1", "digit_2", "digit_3"]
    );
    server.advance(400);
    // A number starting with 9 goes to the VIP group, with it on the pop.
    let pop = vip.expect("6003");
    assert_eq!(pop["TellGUID"], guid.as_str());
    assert_eq!(pop["GroupNo"], "2");
    assert_eq!(pop["customer_id"], "9123");
    server.idle();
    service.got_no("6003", "the VIP call went to the service group too");
}

#[test]
fn collect_times_out_to_fail_with_too_few_keys_and_takes_enough_ones() {
    let server = Server::with_flows(TWO_GROUPS, &[("ivr", COLLECT)], &[]);
    let mut service = Client::login(&server, "8001", "1001");
    let (ch, _) = server.call("13800138000", "4008001234");
    server.wait_channel(ch, "asking", |c| c["playing"] == "welcome");
    server.advance(2_000);
    keys(&server, ch, "12");
    // Two keys are too few: after 6 s of silence `fail` asks again.
    let c = server.advance_until(ch, "asked again", 1_000, 12, |c| heard(c).len() == 2);
    assert_eq!(heard(&c), ["welcome", "welcome"]);
    server.advance(2_000);
    keys(&server, ch, "12345");
    // Five keys and silence: enough, read back, then the service group.
    server.advance_until(ch, "reading back", 1_000, 12, |c| c["playing"] == "digit_1");
    server.advance_until(ch, "read back", 400, 12, |c| heard(c).len() == 7);
    server.advance(400);
    let pop = service.expect("6003");
    assert_eq!(
        (pop["GroupNo"].as_str(), pop["customer_id"].as_str()),
        (Some("1"), Some("12345"))
    );
}

#[test]
fn routes_pick_the_flow_by_dialed_number() {
    let sales = r#"{"start": "q", "nodes": {"q": {"kind": "queue", "group": 1}}}"#;
    let config = format!("{DEFAULT_CONFIG}\n[[route]]\ncallee = \"400800*\"\nflow = \"sales\"\n");
    let server = Server::with_flows(&config, &[("default", MENU), ("sales", sales)], &[]);
    let mut agent = Client::login(&server, "8001", "1001");
    // Routed: straight to the queue, no prompt.
    let (ch, guid) = server.call("13800138000", "4008001234");
    assert_eq!(agent.expect("6003")["TellGUID"], guid.as_str());
    assert!(heard(&server.channel(ch)).is_empty());
    // Any other number: the inbound flow's menu.
    let (ch2, _) = server.call("13900139000", "95555");
    server.wait_channel(ch2, "the menu", |c| c["playing"] == "welcome");
}

/// `spcti serve` on a flow dir holding `flows`: its exit code and stderr.
fn serve_with(flows: &[(&str, &str)], config: &str) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("flows")).unwrap();
    for (name, text) in flows {
        std::fs::write(dir.path().join("flows").join(format!("{name}.json")), text).unwrap();
    }
    std::fs::write(dir.path().join("spcti.toml"), config).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_spcti"))
        .args(["serve", "--config"])
        .arg(dir.path().join("spcti.toml"))
        .env("SPCTI_FLOW__DIR", dir.path().join("flows"))
        .env("SPCTI_SERVER__DATA_DIR", dir.path().join("data"))
        .env("SPCTI_AGENT_UDP__BIND", "127.0.0.1:0")
        .env("SPCTI_ADMIN__BIND", "127.0.0.1:0")
        .env("SPCTI_MONITOR__BIND", "127.0.0.1:0")
        .env("SPCTI_IP_SEAT__BIND", "127.0.0.1:0")
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_broken_flow_keeps_the_server_from_starting_and_every_error_is_named() {
    let broken = r#"{"start": "menu", "nodes": {
        "menu": {"kind": "menu", "prompt": "no-such-prompt", "choices": {"1": "gone"}},
        "q": {"kind": "queue", "group": 7},
        "x": {"kind": "branch", "if": "caller ==", "then": "q"}}}"#;
    let (code, err) = serve_with(&[("default", broken)], DEFAULT_CONFIG);
    assert_ne!(code, Some(0), "{err}");
    for want in [
        "flow `default`, node `menu`, field `prompt`: no prompt `no-such-prompt`",
        "flow `default`, node `menu`, field `choices.1`: no node `gone`",
        "flow `default`, node `q`, field `group`: no group 7",
        "flow `default`, node `x`, field `if`: `caller ==` does not compile",
        "flow `default`, node `q`: no path from `menu` reaches it",
    ] {
        assert!(err.contains(want), "{want:?} not in:\n{err}");
    }
    // A route to a flow that has no file is refused too.
    let config = format!("{DEFAULT_CONFIG}\n[[route]]\ncallee = \"400*\"\nflow = \"sales\"\n");
    let (code, err) = serve_with(&[], &config);
    assert_ne!(code, Some(0), "{err}");
    assert!(err.contains("flow `sales`: route[0]"), "{err}");
}

const HOURS: &str = r#"{
  "start": "hours",
  "nodes": {
    "hours":  {"kind": "time", "open": [{"days": "mon-sun", "from": "00:00", "to": "24:00"}],
               "closed_if": "global.holiday == \"1\"", "open_next": "q", "closed_next": "closed"},
    "q":      {"kind": "queue", "group": 1},
    "closed": {"kind": "play", "prompt": "goodbye"}
  }
}"#;

#[test]
fn a_holiday_global_set_by_1030_closes_the_time_node_until_it_is_cleared() {
    let server = Server::with_flows(DEFAULT_CONFIG, &[("default", HOURS)], &[]);
    let mut agent = Client::login(&server, "8001", "1001");
    agent.request_ok("<MsgType>1030</MsgType><VarName>holiday</VarName><VarValue>1</VarValue>");
    let (ch, _) = server.call("13800138000", "4008001234");
    server.wait_channel(ch, "closed", |c| c["playing"] == "goodbye");
    server.advance(1_200);
    server.wait_channel(ch, "hung up", |c| c["state"] == "free");
    // An empty value clears it: open again.
    agent.request_ok("<MsgType>1030</MsgType><VarName>holiday</VarName><VarValue></VarValue>");
    let (_, guid) = server.call("13800138000", "4008001234");
    assert_eq!(agent.expect("6003")["TellGUID"], guid.as_str());
    // A name an expression could not read is refused.
    agent.send("<MsgType>1030</MsgType><VarName>my var</VarName><VarValue>1</VarValue>");
    support::assert_refused(&agent.expect("9000"), "not a variable name");
}

const WAIT: &str = r#"{
  "start": "w", "popup": ["order"],
  "nodes": {
    "w":     {"kind": "wait", "timeout_s": 60, "next": "keep", "fail": "other"},
    "keep":  {"kind": "set", "vars": {"order": "\"order-\" + data"}, "next": "q"},
    "q":     {"kind": "queue", "group": 1},
    "other": {"kind": "play", "prompt": "busy", "next": "q"}
  }
}"#;

#[test]
fn data_for_a_channel_wakes_its_wait_node_and_1006_reads_the_flows_variables() {
    let server = Server::with_flows(DEFAULT_CONFIG, &[("default", WAIT)], &[]);
    let mut agent = Client::login(&server, "8001", "1001");
    let (ch, guid) = server.call("13800138000", "4008001234");
    server.wait_channel(ch, "answered", |c| c["state"] == "talking");
    // 1006 while the caller is in the flow: the call's own variables.
    agent.send(&format!(
        "<MsgType>1006</MsgType><ChNum>{ch}</ChNum><VarName>caller</VarName>"
    ));
    let v = agent.expect("9006");
    assert_eq!(
        (v["ChNum"].as_str(), v["VarValue"].as_str()),
        (Some(ch.to_string().as_str()), Some("13800138000"))
    );
    // 1026 to `ch:N`: the flow's `data`; the wait node goes on to the queue.
    agent.request_ok(&format!(
        "<MsgType>1026</MsgType><Target>ch:{ch}</Target><Data>77</Data>"
    ));
    let pop = agent.expect("6003");
    assert_eq!(
        (pop["TellGUID"].as_str(), pop["order"].as_str()),
        (Some(guid.as_str()), Some("order-77"))
    );
    // By TelNum: the agent's call, as the flow left it.
    agent.send("<MsgType>1006</MsgType><TelNum>8001</TelNum><VarName>data</VarName>");
    assert_eq!(agent.expect("9006")["VarValue"], "77");
    agent.send("<MsgType>1006</MsgType><TelNum>8001</TelNum><VarName>nothing</VarName>");
    assert_eq!(agent.expect("9006")["VarValue"], "");
    // The call left its flow: no more data for it, and no jumping it.
    agent.send(&format!(
        "<MsgType>1026</MsgType><Target>ch:{ch}</Target><Data>x</Data>"
    ));
    support::assert_refused(&agent.expect("9000"), "left its flow");
    // A seat channel runs no flow.
    agent.send("<MsgType>1006</MsgType><ChNum>4</ChNum><VarName>x</VarName>");
    support::assert_refused(&agent.expect("9000"), "is a seat");
}

#[test]
fn switch_flow_1005_sends_a_caller_to_another_node_and_refuses_unknown_ones() {
    let server = Server::with_flows(DEFAULT_CONFIG, &[("default", WAIT)], &[]);
    let mut agent = Client::login(&server, "8001", "1001");
    let (ch, _) = server.call("13800138000", "4008001234");
    server.wait_channel(ch, "answered", |c| c["state"] == "talking");
    agent.send(&format!(
        "<MsgType>1005</MsgType><ChNum>{ch}</ChNum><Flow>default</Flow><Node>nowhere</Node>"
    ));
    support::assert_refused(&agent.expect("9000"), "no node `nowhere`");
    agent.send(&format!(
        "<MsgType>1005</MsgType><ChNum>{ch}</ChNum><Flow>sales</Flow>"
    ));
    support::assert_refused(&agent.expect("9000"), "no flow `sales`");
    agent.request_ok(&format!(
        "<MsgType>1005</MsgType><ChNum>{ch}</ChNum><Flow>default</Flow><Node>other</Node>"
    ));
    server.wait_channel(ch, "jumped", |c| c["playing"] == "busy");
    server.advance(1_400);
    agent.expect("6003");
}

#[test]
fn reload_1029_installs_a_fixed_file_and_refuses_a_broken_one_keeping_the_old() {
    let server = Server::with_flows(DEFAULT_CONFIG, &[("default", HOURS)], &[]);
    let mut agent = Client::login(&server, "8001", "1001");
    let file = server
        .data_dir()
        .parent()
        .unwrap()
        .join("flows")
        .join("default.json");
    // Broken: refused with the node named; calls still run the old version.
    std::fs::write(
        &file,
        r#"{"start": "m", "nodes": {"m": {"kind": "queue", "group": 42}}}"#,
    )
    .unwrap();
    agent.send("<MsgType>1029</MsgType><Flow>default</Flow>");
    support::assert_refused(
        &agent.expect("9000"),
        "flow `default`, node `m`, field `group`: no group 42",
    );
    let (_, guid) = server.call("13800138000", "4008001234");
    assert_eq!(agent.expect("6003")["TellGUID"], guid.as_str());
    server.act("/sim/extensions/8001/offhook", None);
    agent.expect("6004");
    server.act("/sim/extensions/8001/onhook", None);
    agent.expect("6007");
    // Fixed: a play before the queue; new calls hear it.
    std::fs::write(
        &file,
        r#"{"start": "p", "nodes": {"p": {"kind": "play", "prompt": "busy", "next": "q"}, "q": {"kind": "queue", "group": 1}}}"#,
    )
    .unwrap();
    agent.request_ok("<MsgType>1029</MsgType>");
    let (ch, _) = server.call("13800138000", "4008001234");
    server.wait_channel(ch, "the new version", |c| c["playing"] == "busy");
    // Both versions are kept.
    let kept = file.parent().unwrap().join(".versions").join("default");
    assert!(kept.join("1.json").exists() && kept.join("2.json").exists());
}

const WAITING: &str = r#"{
  "start": "q",
  "nodes": {
    "q":    {"kind": "queue", "group": 1, "music": "queue", "max_wait_s": 20, "overflow": "sorry"},
    "sorry": {"kind": "play", "prompt": "goodbye"}
  }
}"#;

#[test]
fn queue_music_loops_until_an_agent_answers() {
    let server = Server::with_flows(DEFAULT_CONFIG, &[("default", WAITING)], &[]);
    let mut agent = Client::login(&server, "8001", "1001");
    agent.request_ok("<MsgType>1002</MsgType><TelNum>8001</TelNum>");
    let (ch, _) = server.call("13800138000", "4008001234");
    server.wait_channel(ch, "music", |c| c["playing"] == "queue");
    // The 3 s melody plays again and again while the caller waits.
    let c = server.advance_until(ch, "music again", 3_000, 3, |c| heard(c).len() == 2);
    assert_eq!(heard(&c), ["queue", "queue"]);
    // An agent frees up: the call rings it and the music stops on answer.
    // Back from busy (1001 while logged in).
    agent.request_ok("<MsgType>1001</MsgType><TelNum>8001</TelNum><WorkNo>1001</WorkNo>");
    agent.expect("6003");
    server.act("/sim/extensions/8001/offhook", None);
    agent.expect("6004");
    let c = server.wait_channel(ch, "linked, music off", |c| {
        c["playing"].is_null() && c["link"] == 4
    });
    assert_eq!(c["state"], "talking");
}

#[test]
fn max_wait_and_an_empty_group_send_the_caller_to_overflow() {
    let server = Server::with_flows(DEFAULT_CONFIG, &[("default", WAITING)], &[]);
    // Nobody logged in: straight to `overflow`.
    let (ch, guid) = server.call("13800138000", "4008001234");
    server.wait_channel(ch, "overflowed", |c| c["playing"] == "goodbye");
    server.advance(1_200);
    server.wait_channel(ch, "hung up", |c| c["state"] == "free");
    let rows = server.call_records(1);
    assert_eq!((rows[0].0.as_str(), rows[0].1), (guid.as_str(), 7));
    // Logged in but busy: the caller waits with music, then after 20 s overflows.
    let mut agent = Client::login(&server, "8001", "1001");
    agent.request_ok("<MsgType>1002</MsgType><TelNum>8001</TelNum>");
    let (ch, _) = server.call("13800138000", "4008001234");
    server.wait_channel(ch, "music", |c| c["playing"] == "queue");
    // (1 s steps: a step longer than the goodbye would play it out unseen.)
    let c = server.advance_until(ch, "overflowed", 1_000, 30, |c| c["playing"] == "goodbye");
    assert!(heard(&c).len() >= 7, "{c}");
    // The group no longer counts it.
    let (_, stats) = server.http("GET", "/api/groups", None);
    assert_eq!(stats[0]["Queued"], "0", "{stats}");
}

#[test]
fn a_flows_caller_priority_puts_its_callers_ahead_in_the_queue() {
    let normal = r#"{"start": "q", "nodes": {"q": {"kind": "queue", "group": 1}}}"#;
    let vip = r#"{"start": "q", "nodes": {"q": {"kind": "queue", "group": 1, "priority": 5}}}"#;
    let config = format!("{DEFAULT_CONFIG}\n[[route]]\ncallee = \"888\"\nflow = \"vip\"\n");
    let server = Server::with_flows(&config, &[("default", normal), ("vip", vip)], &[]);
    let mut agent = Client::login(&server, "8001", "1001");
    agent.request_ok("<MsgType>1002</MsgType><TelNum>8001</TelNum>");
    let (_, first) = server.call("13800000001", "95555");
    let (_, second) = server.call("13800000002", "888");
    // Both wait; the agent comes back: the VIP caller, who came later, rings first.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while server.http("GET", "/api/groups", None).1[0]["Queued"] != "2" {
        assert!(std::time::Instant::now() < deadline, "never both queued");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    agent.request_ok("<MsgType>1001</MsgType><TelNum>8001</TelNum><WorkNo>1001</WorkNo>");
    assert_eq!(agent.expect("6003")["TellGUID"], second.as_str());
    assert_ne!(first, second);
}

/// The shipped survey flow (config/flows/survey.json).
fn shipped_survey() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config/flows/survey.json"
    ))
    .unwrap()
}

const WITH_SURVEY: &str = r#"{
  "start": "w",
  "nodes": {
    "w": {"kind": "play", "prompt": "welcome", "next": "q"},
    "q": {"kind": "queue", "group": 1, "next": "rate"},
    "rate": {"kind": "subflow", "flow": "survey"}
  }
}"#;

fn surveys(server: &Server, n: usize) -> Vec<(String, String, String, String)> {
    use diesel::prelude::*;
    use spcti::storage::schema::sp_survey::dsl::*;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let path = server.data_dir().join("spcti.db");
        let mut conn = spcti::storage::db::open_sqlite(path.to_str().unwrap()).unwrap();
        let rows: Vec<(String, String, String, String)> = sp_survey
            .select((tellguid, answer, work_no, flow))
            .load(&mut conn)
            .unwrap();
        if rows.len() >= n || std::time::Instant::now() > deadline {
            return rows;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

#[test]
fn after_the_agent_hangs_up_the_caller_rates_the_call_and_the_answer_is_kept() {
    let survey = shipped_survey();
    let server = Server::with_flows(
        DEFAULT_CONFIG,
        &[("default", WITH_SURVEY), ("survey", &survey)],
        &[],
    );
    let mut agent = Client::login(&server, "8001", "1001");
    let (ch, guid) = server.talking(&mut agent, 8001);
    // The agent hangs up first: the caller stays, hearing the survey.
    server.act("/sim/extensions/8001/onhook", None);
    agent.expect("6007");
    let c = server.wait_channel(ch, "asked to rate", |c| c["playing"] == "survey");
    assert!(c["link"].is_null(), "{c}");
    keys(&server, ch, "4");
    server.wait_channel(ch, "thanked", |c| c["playing"] == "thanks");
    server.advance(1_000);
    server.wait_channel(ch, "hung up", |c| c["state"] == "free");
    // The talk's record (answered, ended by the agent), and the answer.
    let rows = server.call_records(1);
    assert_eq!(
        (rows[0].0.as_str(), rows[0].1, rows[0].2.as_str()),
        (guid.as_str(), 9, "agent")
    );
    let s = surveys(&server, 1);
    assert_eq!(
        s,
        [(
            guid.clone(),
            "4".to_owned(),
            "1001".to_owned(),
            "survey v1".to_owned()
        )]
    );
    // Only one call record: the survey adds none.
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(server.call_records(1).len(), 1);
}

#[test]
fn switch_flow_1005_sends_a_talking_caller_to_the_survey_and_the_agent_is_free() {
    let survey = shipped_survey();
    let server = Server::with_flows(DEFAULT_CONFIG, &[("survey", &survey)], &[]);
    let mut agent = Client::login(&server, "8001", "1001");
    let (ch, guid) = server.talking(&mut agent, 8001);
    agent.request_ok("<MsgType>1005</MsgType><TelNum>8001</TelNum><Flow>survey</Flow>");
    server.wait_channel(ch, "asked to rate", |c| {
        c["playing"] == "survey" && c["link"].is_null()
    });
    agent.expect("6007");
    // A key that is not 1-5, then a good one on the second asking.
    keys(&server, ch, "9");
    server.wait_channel(ch, "asked again", |c| {
        heard(c).iter().filter(|p| *p == "survey").count() == 2
    });
    keys(&server, ch, "5");
    server.wait_channel(ch, "thanked", |c| c["playing"] == "thanks");
    server.advance(1_000);
    server.wait_channel(ch, "hung up", |c| c["state"] == "free");
    assert_eq!(surveys(&server, 1)[0].1, "5");
    assert_eq!(server.call_records(1)[0].0, guid);
}

#[test]
fn a_timer_1028_runs_a_callerless_flow_that_sets_a_global_the_callers_flow_reads() {
    let gate = r#"{"start": "gate", "nodes": {
        "gate": {"kind": "branch", "if": "global.open == \"1\"", "then": "q", "else": "closed"},
        "q": {"kind": "queue", "group": 1},
        "closed": {"kind": "play", "prompt": "goodbye"}}}"#;
    let opener =
        r#"{"start": "s", "nodes": {"s": {"kind": "set", "vars": {"global.open": "\"1\""}}}}"#;
    let server = Server::with_flows(
        DEFAULT_CONFIG,
        &[("default", gate), ("opener", opener)],
        &[],
    );
    let mut agent = Client::login(&server, "8001", "1001");
    // A flow with a caller's node cannot run on a timer.
    agent.send("<MsgType>1028</MsgType><TimerNo>1</TimerNo><OnOff>on</OnOff><Period>1000</Period><Flow>default</Flow>");
    support::assert_refused(&agent.expect("9000"), "node `closed` is a `play`");
    agent.send("<MsgType>1028</MsgType><TimerNo>2</TimerNo><OnOff>on</OnOff>");
    support::assert_refused(&agent.expect("9000"), "timer 2 has no Period yet");
    agent.request_ok("<MsgType>1028</MsgType><TimerNo>1</TimerNo><OnOff>on</OnOff><Period>60000</Period><Flow>opener</Flow>");
    // Before the first tick: closed.
    let (ch, _) = server.call("13800138000", "4008001234");
    server.wait_channel(ch, "closed", |c| c["playing"] == "goodbye");
    server.advance(1_200);
    server.wait_channel(ch, "hung up", |c| c["state"] == "free");
    // A minute later the timer's flow has opened the lines.
    server.advance(60_000);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let (ch, guid) = server.call("13800138000", "4008001234");
        let c = server.wait_channel(ch, "routed", |c| {
            c["playing"] == "goodbye" || c["state"] == "talking"
        });
        if c["playing"].is_null() {
            assert_eq!(agent.expect("6003")["TellGUID"], guid.as_str());
            break;
        }
        // The tick was still on its way: this caller heard "closed".
        assert!(
            std::time::Instant::now() < deadline,
            "the timer never opened the lines"
        );
        server.act(&format!("/sim/channels/{ch}/hangup"), None);
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // Off: the flow no longer runs (and turning off needs nothing else).
    agent.request_ok("<MsgType>1028</MsgType><TimerNo>1</TimerNo><OnOff>off</OnOff>");
}

#[test]
fn voicemail_keeps_the_message_with_a_tellmsg_16_record_listed_for_search() {
    let flow = r#"{"start": "vm", "nodes": {
        "vm": {"kind": "voicemail", "prompt": "busy", "max_s": 60, "next": "bye"},
        "bye": {"kind": "play", "prompt": "goodbye"}}}"#;
    let server = Server::with_flows(DEFAULT_CONFIG, &[("default", flow)], &[]);
    let (ch, guid) = server.call("13800138000", "4008001234");
    server.wait_channel(ch, "the beep", |c| c["playing"] == "busy");
    server.advance(1_400);
    server.wait_channel(ch, "recording", |c| !c["recording"].is_null());
    // Five seconds of message, then `#`.
    server.advance(5_000);
    keys(&server, ch, "#");
    server.wait_channel(ch, "goodbye", |c| {
        c["playing"] == "goodbye" && c["recording"].is_null()
    });
    server.advance(1_200);
    server.wait_channel(ch, "hung up", |c| c["state"] == "free");
    let rows = server.call_records(1);
    let (g, tellmsg, by, _, file) = &rows[0];
    assert_eq!(
        (g.as_str(), *tellmsg, by.as_str()),
        (guid.as_str(), 16, "system")
    );
    let file = file.clone().expect("the record names the message");
    let wav = server.data_dir().join("recordings").join(&file);
    let len = std::fs::metadata(&wav).unwrap().len();
    // 8 kHz, 16-bit: about 5 s of audio.
    assert!(
        (70_000..100_000).contains(&len),
        "{} is {len} bytes",
        wav.display()
    );
    // Listed for /search, with its audio.
    let (_, recs) = server.http("GET", "/api/recordings?caller=13800138000", None);
    let rec = &recs["recordings"][0];
    assert_eq!(rec["tellguid"], guid.as_str(), "{recs}");
    assert_eq!(rec["duration_s"], 5, "{recs}");
    assert!(
        rec["audio"]
            .as_str()
            .unwrap()
            .starts_with("/api/recordings/")
    );
}

#[test]
fn a_caller_who_hangs_up_while_leaving_a_message_still_leaves_it() {
    let flow = r#"{"start": "vm", "nodes": {"vm": {"kind": "voicemail", "max_s": 60}}}"#;
    let server = Server::with_flows(DEFAULT_CONFIG, &[("default", flow)], &[]);
    let (ch, guid) = server.call("13800138000", "4008001234");
    server.wait_channel(ch, "recording", |c| !c["recording"].is_null());
    server.advance(3_000);
    server.act(&format!("/sim/channels/{ch}/hangup"), None);
    let rows = server.call_records(1);
    assert_eq!(
        (rows[0].0.as_str(), rows[0].1, rows[0].2.as_str()),
        (guid.as_str(), 16, "caller")
    );
    let (_, recs) = server.http("GET", "/api/recordings?caller=13800138000", None);
    assert_eq!(recs["recordings"][0]["duration_s"], 3, "{recs}");
}

/// A one-route HTTP server on loopback: answers every request with
/// `status` and `body`, and hands the request line over a channel.
fn crm(
    status: u16,
    body: &'static str,
) -> (std::net::SocketAddr, std::sync::mpsc::Receiver<String>) {
    use std::io::{BufRead, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap() == 0 || h == "\r\n" {
                    break;
                }
            }
            let _ = tx.send(line.trim().to_owned());
            let mut s = stream;
            let _ = write!(
                s,
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (addr, rx)
}

fn http_flow(addr: std::net::SocketAddr) -> String {
    format!(
        r#"{{"start": "ask", "popup": ["level"], "nodes": {{
        "ask": {{"kind": "http", "url": "http://{addr}/customers?phone={{caller}}", "timeout_ms": 2000,
                 "vars": {{"level": "/level"}}, "next": "q", "fail": "sorry"}},
        "q": {{"kind": "queue", "group": 1}},
        "sorry": {{"kind": "play", "prompt": "goodbye"}}}}}}"#
    )
}

#[test]
fn an_http_node_asks_a_crm_and_its_answer_pops_on_the_agents_screen() {
    let (addr, requests) = crm(200, r#"{"level": "gold", "other": 1}"#);
    let flow = http_flow(addr);
    let server = Server::with_flows(DEFAULT_CONFIG, &[("default", &flow)], &[]);
    let mut agent = Client::login(&server, "8001", "1001");
    let (_, guid) = server.call("13800138000", "4008001234");
    let pop = agent.expect("6003");
    assert_eq!(
        (pop["TellGUID"].as_str(), pop["level"].as_str()),
        (Some(guid.as_str()), Some("gold"))
    );
    let line = requests
        .recv_timeout(std::time::Duration::from_secs(5))
        .unwrap();
    assert_eq!(line, "GET /customers?phone=13800138000 HTTP/1.1");
}

#[test]
fn an_http_node_that_gets_no_usable_answer_takes_fail() {
    let (addr, _requests) = crm(500, r#"{"error": "down"}"#);
    let flow = http_flow(addr);
    let server = Server::with_flows(DEFAULT_CONFIG, &[("default", &flow)], &[]);
    let (ch, _) = server.call("13800138000", "4008001234");
    server.wait_channel(ch, "fail", |c| c["playing"] == "goodbye");
    // Nothing listening at all: the same.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let flow = http_flow(closed);
    let server = Server::with_flows(DEFAULT_CONFIG, &[("default", &flow)], &[]);
    let (ch, _) = server.call("13800138000", "4008001234");
    server.wait_channel(ch, "fail", |c| c["playing"] == "goodbye");
}

#[test]
fn flows_are_saved_checked_versioned_and_deployed_over_the_admin_api() {
    let server = Server::with_flows(DEFAULT_CONFIG, &[], &[]);
    let mut agent = Client::login(&server, "8001", "1001");
    // Without files: the built-in inbound flow.
    let (status, list) = server.http("GET", "/api/flows", None);
    assert_eq!(status, 200);
    assert_eq!(list["flows"][0]["name"], "default");
    assert_eq!(list["flows"][0]["inbound"], true);
    let (_, one) = server.http("GET", "/api/flows/default", None);
    assert_eq!(
        one["flow"]["nodes"]["welcome"]["prompt"], "welcome",
        "{one}"
    );

    // A broken flow is refused with every error, and not saved.
    let broken = json!({"start": "m", "nodes": {"m": {"kind": "menu", "prompt": "welcome", "choices": {"1": "nowhere"}}}});
    let (status, e) = server.http("PUT", "/api/flows/default", Some(broken.clone()));
    assert_eq!(status, 409, "{e}");
    assert_eq!(e["errors"][0]["node"], "m");
    assert_eq!(e["errors"][0]["field"], "choices.1");
    let (status, c) = server.http("POST", "/api/flows/default/check", Some(broken));
    assert_eq!(
        (status, c["errors"][0]["message"].as_str()),
        (200, Some("no node `nowhere`"))
    );
    // Not a flow's shape at all: 400.
    let (status, _) = server.http("PUT", "/api/flows/default", Some(json!({"nodes": 3})));
    assert_eq!(status, 400);

    // Saved and deployed: the next call hears it.
    let menu: Value = serde_json::from_str(MENU).unwrap();
    let (status, saved) = server.http("PUT", "/api/flows/default", Some(menu.clone()));
    assert_eq!(
        (status, saved["version"].as_u64()),
        (200, Some(1)),
        "{saved}"
    );
    let (ch, _) = server.call("13800138000", "4008001234");
    server.wait_channel(ch, "the new menu", |c| c["playing"] == "welcome");
    keys(&server, ch, "1");
    agent.expect("6003");
    // Saved again: version 2; both kept; the file is the current one.
    let (_, saved) = server.http("PUT", "/api/flows/default", Some(menu));
    assert_eq!(saved["version"], 2);
    let (_, one) = server.http("GET", "/api/flows/default", None);
    assert_eq!(
        (one["version"].as_u64(), one["versions"].clone()),
        (Some(2), json!([1, 2]))
    );
    let file = server.dir.path().join("flows").join("default.json");
    assert!(std::fs::read_to_string(file).unwrap().contains("\"menu\""));
    // A kept version reads back (to roll back: PUT it again).
    let (status, v1) = server.http("GET", "/api/flows/default/versions/1", None);
    assert_eq!(
        (status, v1["flow"]["start"].as_str()),
        (200, Some("menu")),
        "{v1}"
    );
    assert_eq!(
        server.http("GET", "/api/flows/default/versions/9", None).0,
        404
    );
    assert_eq!(
        server.http("GET", "/api/flows/default/versions/0", None).0,
        400
    );

    // The inbound flow cannot be deleted; another can, then it is gone.
    let (status, e) = server.http("DELETE", "/api/flows/default", None);
    assert_eq!(status, 409, "{e}");
    let other = json!({"start": "q", "nodes": {"q": {"kind": "queue", "group": 1}}});
    assert_eq!(server.http("PUT", "/api/flows/other", Some(other)).0, 200);
    assert_eq!(server.http("DELETE", "/api/flows/other", None).0, 204);
    assert_eq!(server.http("GET", "/api/flows/other", None).0, 404);
    assert_eq!(server.http("GET", "/api/flows/..%2Fx", None).0, 400);
}

#[test]
fn prompts_are_uploaded_checked_played_and_kept_while_in_use() {
    let server = Server::with_flows(DEFAULT_CONFIG, &[], &[]);
    // Refused with the reason.
    for (bytes, why) in [
        (wav(1, 2, 8000, 0.5), "2 channels"),
        (wav(1, 1, 44100, 0.5), "44100 Hz"),
        (b"hello".to_vec(), "not a WAV file"),
    ] {
        let (status, e) = server.put_bytes("/api/prompts/hello", &bytes);
        assert_eq!(status, 415, "{e}");
        assert!(e["error"].as_str().unwrap().contains(why), "{e}");
    }
    // An A-law prompt of 1.5 s.
    let (status, ok) = server.put_bytes("/api/prompts/hello", &wav(6, 1, 8000, 1.5));
    assert_eq!(
        (status, ok["duration_ms"].as_u64()),
        (200, Some(1500)),
        "{ok}"
    );
    let (_, list) = server.http("GET", "/api/prompts", None);
    let hello = list["prompts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "hello")
        .cloned();
    assert_eq!(hello.unwrap()["built_in"], false);
    // A flow may use it at once, and the call plays it for its length.
    let flow = json!({"start": "p", "nodes": {"p": {"kind": "play", "prompt": "hello", "next": "q"}, "q": {"kind": "queue", "group": 1}}});
    assert_eq!(server.http("PUT", "/api/flows/default", Some(flow)).0, 200);
    let (ch, _) = server.call("13800138000", "4008001234");
    server.wait_channel(ch, "hello", |c| c["playing"] == "hello");
    server.advance(1_400);
    assert_eq!(server.channel(ch)["playing"], "hello");
    server.advance(100);
    server.wait_channel(ch, "played out", |c| c["playing"].is_null());
    // In use: kept.
    let (status, e) = server.http("DELETE", "/api/prompts/hello", None);
    assert_eq!(status, 409, "{e}");
    assert!(
        e["error"].as_str().unwrap().contains("flow `default`"),
        "{e}"
    );
    assert_eq!(server.http("DELETE", "/api/prompts/nothing", None).0, 404);
}

#[test]
fn startflow_takes_the_far_party_of_an_outbound_call_into_the_survey_when_the_agent_hangs_up() {
    let survey = shipped_survey();
    let config = format!("{DEFAULT_CONFIG}\n[flow]\nstartflow = \"survey\"\n");
    let server = Server::with_flows(
        &config,
        &[("survey", &survey)],
        &[("SPCTI_SYS__CALLER_NO", "4008001234")],
    );
    let mut agent = Client::login(&server, "8001", "1001");
    agent.request_ok(
        "<MsgType>1003</MsgType><TelNum>8001</TelNum><CalleeNo>013900000000</CalleeNo>",
    );
    let guid = agent.expect("6023")["TellGUID"]
        .as_str()
        .unwrap()
        .to_owned();
    server.act("/sim/extensions/8001/offhook", None);
    let trunk = server.wait_channels("a trunk dialing", |all| {
        all.iter()
            .find(|c| c["kind"] == "trunk" && c["state"] == "dialing")
            .map(|t| t["ch"].as_u64().unwrap() as u32)
    });
    server.act(&format!("/sim/channels/{trunk}/answer"), None);
    agent.expect("6004");
    server.advance(10_000);
    // The agent hangs up first: the customer is asked to rate the call.
    server.act("/sim/extensions/8001/onhook", None);
    agent.expect("6007");
    server.wait_channel(trunk, "asked to rate", |c| {
        c["playing"] == "survey" && c["link"].is_null()
    });
    keys(&server, trunk, "3");
    server.wait_channel(trunk, "thanked", |c| c["playing"] == "thanks");
    server.advance(1_000);
    server.wait_channel(trunk, "hung up", |c| c["state"] == "free");
    let rows = server.call_records(1);
    assert_eq!(
        (rows[0].0.as_str(), rows[0].1, rows[0].2.as_str()),
        (guid.as_str(), 10, "agent")
    );
    let s = surveys(&server, 1);
    assert_eq!(
        (s[0].0.as_str(), s[0].1.as_str(), s[0].2.as_str()),
        (guid.as_str(), "3", "1001")
    );
    // The trunk is free for the next call.
    let (ch, _) = server.call("13800138000", "4008001234");
    server.wait_channel(ch, "answered", |c| c["state"] == "talking");
}

#[test]
fn a_startflow_without_a_file_keeps_the_server_from_starting() {
    let config = format!("{DEFAULT_CONFIG}\n[flow]\nstartflow = \"survey\"\n");
    let (code, err) = serve_with(&[], &config);
    assert_ne!(code, Some(0), "{err}");
    assert!(
        err.contains("flow `survey`: [flow] startflow names it"),
        "{err}"
    );
}

#[test]
fn a_caller_the_flow_queues_again_after_a_talk_gets_a_record_and_recording_per_talk() {
    let flow = r#"{"start": "w", "nodes": {
        "w": {"kind": "play", "prompt": "welcome", "next": "q"},
        "q": {"kind": "queue", "group": 1, "next": "again"},
        "again": {"kind": "queue", "group": 1}}}"#;
    let server = Server::with_flows(DEFAULT_CONFIG, &[("default", flow)], &[]);
    let mut agent = Client::login(&server, "8001", "1001");
    let (_, guid) = server.talking(&mut agent, 8001);
    server.advance(3_000);
    server.act("/sim/extensions/8001/onhook", None);
    agent.expect("6007");
    // Back in the queue: the same caller pops again.
    assert_eq!(agent.expect("6003")["TellGUID"], guid.as_str());
    server.act("/sim/extensions/8001/offhook", None);
    agent.expect("6004");
    server.advance(2_000);
    server.act("/sim/extensions/8001/onhook", None);
    agent.expect("6007");
    let rows = server.call_records(2);
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows.iter().all(|r| r.0 == guid && r.1 == 9), "{rows:?}");
    assert_ne!(rows[0].4, rows[1].4, "one recording per talk: {rows:?}");
}

#[test]
fn say_number_reads_a_collected_number_in_chinese_or_english() {
    let flow = |lang: &str| {
        format!(
            r##"{{"start": "ask", "nodes": {{
            "ask": {{"kind": "collect", "prompt": "welcome", "var": "n", "next": "say"}},
            "say": {{"kind": "say", "number": "{{n}}", "lang": "{lang}", "next": "q"}},
            "q": {{"kind": "queue", "group": 1}}}}}}"##
        )
    };
    for (lang, want) in [
        ("zh", ["zh_1", "zh_100", "zh_0", "zh_5"]),
        ("en", ["en_1", "en_hundred", "en_5", ""]),
    ] {
        let f = flow(lang);
        let server = Server::with_flows(DEFAULT_CONFIG, &[("default", &f)], &[]);
        let (ch, _) = server.call("13800138000", "4008001234");
        server.wait_channel(ch, "asking", |c| c["playing"] == "welcome");
        keys(&server, ch, "105#");
        let want: Vec<&str> = want.into_iter().filter(|w| !w.is_empty()).collect();
        let c = server.advance_until(ch, "read", 350, 12, |c| heard(c).len() == 1 + want.len());
        assert_eq!(heard(&c)[1..], want, "{lang}");
    }
}

#[test]
fn a_waiting_caller_hears_its_place_between_the_music_and_the_agent_is_not_kept_waiting() {
    let flow = r#"{"start": "q", "nodes": {
        "q": {"kind": "queue", "group": 1, "music": "queue", "announce_every_s": 30}}}"#;
    let server = Server::with_flows(DEFAULT_CONFIG, &[("default", flow)], &[]);
    let mut agent = Client::login(&server, "8001", "1001");
    agent.request_ok("<MsgType>1002</MsgType><TelNum>8001</TelNum>");
    let (ch, _) = server.call("13800138000", "4008001234");
    server.wait_channel(ch, "music", |c| c["playing"] == "queue");
    // Every 30 s: "you are number" one, then the music again (no wait is
    // announced: the group has answered no call yet today).
    let said = |c: &Value| {
        let h = heard(c);
        h.windows(3)
            .any(|w| w == ["queue_position", "en_1", "queue"])
    };
    server.advance_until(ch, "announced", 1_000, 40, said);
    // The agent comes back while the music plays: the call is bridged at once.
    agent.request_ok("<MsgType>1001</MsgType><TelNum>8001</TelNum><WorkNo>1001</WorkNo>");
    agent.expect("6003");
    server.act("/sim/extensions/8001/offhook", None);
    agent.expect("6004");
    server.wait_channel(ch, "bridged, nothing playing", |c| {
        c["playing"].is_null() && c["link"] == 4
    });
}
