//! The admin API over real HTTP against the real server: the token, the
//! floor views, searches and audio (with bad and hostile ids), the
//! directory tables, metrics, and operators restarting failed actors.

mod support;

use serde_json::{Value, json};
use std::time::{Duration, Instant};

use support::{Client, Server};

const TOKEN: &str = "wallboard-7f3a";

/// An HTTP exchange: (status, headers we care about, body bytes).
struct Reply {
    status: u16,
    content_type: String,
    www_authenticate: Option<String>,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

fn request(
    server: &Server,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Reply {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let url = format!("http://{}{}", server.admin, path);
    let auth = token.map(|t| format!("Bearer {t}"));
    macro_rules! with_auth {
        ($req:expr) => {{
            let r = $req;
            match &auth {
                Some(a) => r.header("Authorization", a),
                None => r,
            }
        }};
    }
    let resp = match (method, body) {
        ("GET", _) => with_auth!(agent.get(&url)).call(),
        ("DELETE", _) => with_auth!(agent.delete(&url)).call(),
        ("POST", Some(b)) => with_auth!(agent.post(&url)).send_json(b),
        ("POST", None) => with_auth!(agent.post(&url)).send_empty(),
        ("PUT", Some(b)) => with_auth!(agent.put(&url)).send_json(b),
        ("POST-RAW", Some(Value::String(s))) => with_auth!(agent.post(&url))
            .header("Content-Type", "application/json")
            .send(s.as_bytes()),
        _ => unreachable!(),
    };
    let mut resp = resp.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    let header = |n: &str| {
        resp.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (content_type, www_authenticate) = (
        header("content-type").unwrap_or_default(),
        header("www-authenticate"),
    );
    Reply {
        status: resp.status().as_u16(),
        content_type,
        www_authenticate,
        body: resp.body_mut().read_to_vec().unwrap_or_default(),
    }
}

fn with_token() -> Server {
    Server::with_config(
        support::DEFAULT_CONFIG,
        &[
            ("SPCTI_ADMIN__TOKEN", TOKEN),
            ("SPCTI_ADMIN__FAULT_INJECTION", "true"),
        ],
    )
}

fn get(server: &Server, path: &str) -> Reply {
    request(server, "GET", path, Some(TOKEN), None)
}

#[test]
fn the_token_guards_every_route_but_health() {
    let server = with_token();
    let h = request(&server, "GET", "/api/health", None, None);
    assert_eq!(h.status, 200);
    assert_eq!(h.json()["database"]["state"], "up");
    for path in [
        "/api/actors",
        "/api/agents",
        "/api/groups",
        "/api/channels",
        "/api/calls",
        "/api/recordings",
        "/api/customers",
        "/api/whitelist",
        "/api/sip-passwords",
        "/api/openapi.json",
        "/metrics",
    ] {
        let none = request(&server, "GET", path, None, None);
        assert_eq!(none.status, 401, "{path} without a token");
        assert!(
            none.json()["error"].as_str().unwrap().contains("token"),
            "{path}"
        );
        assert_eq!(
            none.www_authenticate.as_deref(),
            Some("Bearer realm=\"spcti\"")
        );
        assert_eq!(
            request(&server, "GET", path, Some("wallboard-7f3b"), None).status,
            401,
            "{path} wrong token"
        );
        assert_eq!(
            request(&server, "GET", path, Some(&TOKEN[..TOKEN.len() - 1]), None).status,
            401,
            "{path} prefix"
        );
        assert_eq!(get(&server, path).status, 200, "{path} with the token");
    }
    assert_eq!(
        request(
            &server,
            "POST",
            "/api/actors/agent:8001/restart",
            None,
            None
        )
        .status,
        401
    );
    // The pages themselves are public (they ask for the token).
    let page = request(&server, "GET", "/", None, None);
    assert_eq!(page.status, 200);
    assert!(String::from_utf8_lossy(&page.body).contains("wallboard"));
    // Unknown routes answer JSON too.
    let nf = get(&server, "/api/nothing-here");
    assert_eq!(
        (nf.status, nf.content_type.as_str()),
        (404, "application/json")
    );
    // The OpenAPI document describes the routes.
    let doc = get(&server, "/api/openapi.json").json();
    assert_eq!(doc["openapi"], "3.0.3");
    for p in [
        "/api/health",
        "/api/actors/{path}/restart",
        "/api/recordings/{id}/audio",
        "/api/customers/{id}",
        "/metrics",
    ] {
        assert!(doc["paths"][p].is_object(), "{p} documented");
    }
}

#[test]
fn floor_views_searches_and_audio() {
    let server = with_token();
    let mut agent = Client::login(&server, "8001", "1001");
    let guid = server.answered_call(&mut agent, "8001", "13800138000");
    let (trunk, _) = server.call("13900000000", "4008001234");
    server.wait_channel(trunk, "in IVR", |c| c["playing"] == "welcome");

    let agents = get(&server, "/api/agents").json();
    assert_eq!(agents[0]["TelNum"], "8001");
    assert_eq!(agents[0]["AgentState"], "ready");
    assert!(agents[0]["Since"].as_str().unwrap().len() == 19);
    let groups = get(&server, "/api/groups").json();
    assert_eq!(
        (
            groups[0]["GroupNo"].as_str(),
            groups[0]["AnsweredToday"].as_str()
        ),
        (Some("1"), Some("1"))
    );
    assert_eq!(groups[0]["AbandonRate"], 0.0);
    assert!(groups[0]["AhtS"].as_f64().unwrap() >= 5.0, "{}", groups[0]);
    let channels = get(&server, "/api/channels").json();
    assert_eq!(channels.as_array().unwrap().len(), 9);
    assert_eq!(channels[trunk as usize]["State"], "ivr");

    server.call_records(1);
    let calls = get(&server, "/api/calls?caller=13800138000").json();
    assert_eq!(calls["calls"][0]["tellguid"], guid.as_str());
    assert_eq!(calls["calls"][0]["tellmsg"], 9);
    assert_eq!(
        get(&server, "/api/calls?agent=1001").json()["calls"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        get(&server, "/api/calls?caller=nobody").json()["calls"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        get(&server, "/api/calls?from=2000-01-01&to=2000-01-02").json()["calls"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    for bad in [
        "/api/calls?page=0",
        "/api/calls?page=x",
        "/api/calls?from=yesterday",
        "/api/recordings?to=2026-13-45",
    ] {
        let r = get(&server, bad);
        assert_eq!(r.status, 400, "{bad}");
        assert!(r.json()["error"].is_string(), "{bad}");
    }

    let recs = get(&server, "/api/recordings?caller=13800138000").json();
    let rec = &recs["recordings"][0];
    assert!(rec.get("file_name").is_none(), "no paths in the API: {rec}");
    let id = rec["id"].as_i64().unwrap();
    assert_eq!(rec["audio"], format!("/api/recordings/{id}/audio"));
    let audio = get(&server, &format!("/api/recordings/{id}/audio"));
    assert_eq!(audio.status, 200);
    assert_eq!(audio.content_type, "audio/wav");
    assert_eq!(&audio.body[..4], b"RIFF");
    assert_eq!(&audio.body[8..12], b"WAVE");
    assert_eq!(
        request(
            &server,
            "GET",
            &format!("/api/recordings/{id}/audio"),
            None,
            None
        )
        .status,
        401
    );

    // Bad, unknown and hostile ids.
    for (path, status) in [
        ("/api/recordings/abc/audio", 400),
        ("/api/recordings/0/audio", 400),
        ("/api/recordings/-1/audio", 400),
        ("/api/recordings/99999/audio", 404),
        ("/api/recordings/..%2F..%2Fetc%2Fpasswd/audio", 400),
        ("/api/recordings/1%00/audio", 400),
        ("/api/recordings/../../etc/passwd", 404),
    ] {
        let r = get(&server, path);
        assert_eq!(r.status, status, "{path}");
        assert_eq!(r.content_type, "application/json", "{path}");
    }
    // A row pointing outside the recordings directory is never served.
    {
        use diesel::prelude::*;
        use spcti::storage::schema::sprecord::dsl::*;
        let mut conn =
            spcti::storage::db::open_sqlite(server.data_dir().join("spcti.db").to_str().unwrap())
                .unwrap();
        diesel::update(sprecord.filter(id.eq(id_of(&recs))))
            .set(file_name.eq("../../spcti.toml"))
            .execute(&mut conn)
            .unwrap();
    }
    let r = get(&server, &format!("/api/recordings/{id}/audio"));
    assert_eq!(r.status, 404);
    assert!(!String::from_utf8_lossy(&r.body).contains("[[group]]"));
}

fn id_of(recs: &Value) -> i32 {
    recs["recordings"][0]["id"].as_i64().unwrap() as i32
}

#[test]
fn customers_whitelist_and_sip_passwords() {
    let server = with_token();
    let c = json!({"phone": "13800138000", "name": "Zhang Wei", "company": "Acme & Co.", "contact": "Ms. Li"});
    let created = request(
        &server,
        "POST",
        "/api/customers",
        Some(TOKEN),
        Some(c.clone()),
    );
    assert_eq!(created.status, 201);
    let id = created.json()["id"].as_i64().unwrap();
    assert_eq!(created.json()["company"], "Acme & Co.");
    assert_eq!(
        request(&server, "POST", "/api/customers", Some(TOKEN), Some(c)).status,
        409
    );
    for (bad, why) in [
        (json!({"name": "no phone"}), "phone"),
        (json!({"phone": ""}), "phone is required"),
        (json!({"phone": "1".repeat(31)}), "longer than 30"),
    ] {
        let r = request(&server, "POST", "/api/customers", Some(TOKEN), Some(bad));
        assert_eq!(r.status, 400);
        assert!(
            r.json()["error"].as_str().unwrap().contains(why),
            "{}",
            r.json()
        );
    }
    let raw = request(
        &server,
        "POST-RAW",
        "/api/customers",
        Some(TOKEN),
        Some(Value::String("{not json".into())),
    );
    assert_eq!(raw.status, 400);
    assert!(raw.json()["error"].as_str().unwrap().contains("JSON"));
    // The screen pop uses it at once.
    let mut agent = Client::login(&server, "8001", "1001");
    let (trunk, _) = server.call("13800138000", "4008001234");
    server.through_ivr(trunk);
    assert_eq!(agent.expect("6003")["CustName"], "Zhang Wei");

    let put = request(
        &server,
        "PUT",
        &format!("/api/customers/{id}"),
        Some(TOKEN),
        Some(json!({"phone": "13800138000", "name": "Zhang Wei", "company": "Acme Ltd"})),
    );
    assert_eq!(
        (put.status, put.json()["company"].as_str()),
        (200, Some("Acme Ltd"))
    );
    assert_eq!(
        get(&server, &format!("/api/customers/{id}")).json()["company"],
        "Acme Ltd"
    );
    assert_eq!(
        request(
            &server,
            "PUT",
            "/api/customers/9999",
            Some(TOKEN),
            Some(json!({"phone": "1"}))
        )
        .status,
        404
    );
    assert_eq!(
        request(
            &server,
            "DELETE",
            &format!("/api/customers/{id}"),
            Some(TOKEN),
            None
        )
        .status,
        204
    );
    assert_eq!(get(&server, &format!("/api/customers/{id}")).status, 404);
    assert_eq!(
        request(
            &server,
            "DELETE",
            &format!("/api/customers/{id}"),
            Some(TOKEN),
            None
        )
        .status,
        404
    );
    assert_eq!(get(&server, "/api/customers/x").status, 400);

    let w = request(
        &server,
        "POST",
        "/api/whitelist",
        Some(TOKEN),
        Some(json!({"number": "010*", "remark": "Beijing"})),
    );
    assert_eq!(w.status, 201);
    assert_eq!(
        request(
            &server,
            "POST",
            "/api/whitelist",
            Some(TOKEN),
            Some(json!({"number": "01a"}))
        )
        .status,
        400
    );
    assert_eq!(get(&server, "/api/whitelist").json()[0]["number"], "010*");

    let s = request(
        &server,
        "POST",
        "/api/sip-passwords",
        Some(TOKEN),
        Some(json!({"reg_num": "8001", "password": "s3cret"})),
    );
    assert_eq!(s.status, 201);
    assert!(
        s.json().get("password").is_none(),
        "passwords are never read back: {}",
        s.json()
    );
    let list = get(&server, "/api/sip-passwords");
    assert!(!String::from_utf8_lossy(&list.body).contains("s3cret"));
    assert_eq!(
        request(
            &server,
            "POST",
            "/api/sip-passwords",
            Some(TOKEN),
            Some(json!({"reg_num": "8001", "password": "x"}))
        )
        .status,
        409
    );
}

#[test]
fn metrics_in_prometheus_text() {
    let server = with_token();
    let mut agent = Client::login(&server, "8001", "1001");
    server.answered_call(&mut agent, "8001", "13800138000");
    agent.send("<MsgType>1001</MsgType>"); // bad: no TelNum
    agent.expect("9000");
    let m = get(&server, "/metrics");
    assert_eq!(m.status, 200);
    assert!(m.content_type.starts_with("text/plain"));
    let text = String::from_utf8(m.body).unwrap();
    let value = |series: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
            .unwrap_or_else(|| panic!("no {series} in\n{text}"))
            .rsplit(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert_eq!(value("spcti_channels{type=\"trunk\",state=\"free\"}"), 4.0);
    assert_eq!(value("spcti_channels{type=\"seat\",state=\"free\"}"), 5.0);
    assert_eq!(value("spcti_agents{state=\"ready\"}"), 1.0);
    assert_eq!(value("spcti_calls_answered_today{group=\"1\"}"), 1.0);
    assert_eq!(value("spcti_queue_depth{group=\"1\"}"), 0.0);
    assert_eq!(value("spcti_database_up"), 1.0);
    assert!(value("spcti_udp_messages_total{direction=\"received\"}") >= 2.0);
    assert_eq!(
        value("spcti_udp_messages_total{direction=\"refused\"}"),
        1.0
    );
    assert_eq!(value("spcti_actor_restarts_total{kind=\"agent\"}"), 0.0);
    assert!(text.contains("# TYPE spcti_spool_depth gauge"));
}

#[test]
fn operators_see_failures_and_restart_actors() {
    let server = with_token();
    let mut agent = Client::login(&server, "8001", "1001");
    let actors = get(&server, "/api/actors").json();
    let find = |list: &Value, path: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|a| a["path"] == path)
            .cloned()
    };
    for p in ["router", "channel:0", "channel:8", "group:1", "agent:8001"] {
        let a = find(&actors, p).unwrap_or_else(|| panic!("{p} in {actors}"));
        assert_eq!(
            (a["state"].as_str(), a["restarts"].as_u64()),
            (Some("running"), Some(0)),
            "{a}"
        );
    }

    // A failure is contained and visible; the agent stays logged in.
    assert_eq!(
        request(
            &server,
            "POST",
            "/api/actors/agent:8001/crash",
            Some(TOKEN),
            None
        )
        .status,
        204
    );
    let a = wait_actor(&server, "agent:8001", |a| {
        a["restarts"] == 1 && a["state"] == "running"
    });
    assert_eq!(a["last_failure"], "crash requested");
    server.answered_call(&mut agent, "8001", "13800138000");

    // An operator restart of the agent keeps it logged in, with its address.
    let r = request(
        &server,
        "POST",
        "/api/actors/agent:8001/restart",
        Some(TOKEN),
        None,
    );
    assert_eq!(r.status, 202, "{}", r.json());
    wait_actor(&server, "agent:8001", |a| {
        a["restarts"] == 2 && a["state"] == "running"
    });
    server.answered_call(&mut agent, "8001", "13800138001");

    // Restarting a channel or a group works the same way.
    assert_eq!(
        request(
            &server,
            "POST",
            "/api/actors/channel:2/restart",
            Some(TOKEN),
            None
        )
        .status,
        202
    );
    assert_eq!(
        request(
            &server,
            "POST",
            "/api/actors/group:1/restart",
            Some(TOKEN),
            None
        )
        .status,
        202
    );
    wait_actor(&server, "group:1", |a| {
        a["restarts"] == 1 && a["state"] == "running"
    });
    server.answered_call(&mut agent, "8001", "13800138002");

    // Unknown and malformed paths.
    assert_eq!(
        request(
            &server,
            "POST",
            "/api/actors/agent:9999/restart",
            Some(TOKEN),
            None
        )
        .status,
        404
    );
    assert_eq!(
        request(
            &server,
            "POST",
            "/api/actors/nonsense/restart",
            Some(TOKEN),
            None
        )
        .status,
        404
    );
    assert_eq!(
        request(
            &server,
            "POST",
            "/api/actors/..%2Fetc/restart",
            Some(TOKEN),
            None
        )
        .status,
        400
    );

    // Repeated failures back off: the second failure within a minute waits
    // 100 ms (on the server's clock) before the actor takes messages again.
    for _ in 0..2 {
        assert_eq!(
            request(
                &server,
                "POST",
                "/api/actors/channel:3/crash",
                Some(TOKEN),
                None
            )
            .status,
            204
        );
    }
    // Until the restarted actor announces itself, the registry shows the
    // failure alone ("restarting"); what it decided comes with that.
    let a = wait_actor(&server, "channel:3", |a| {
        a["restarts"] == 2 && a["state"] != "restarting"
    });
    assert_eq!(
        (a["state"].as_str(), a["backoff_ms"].as_u64()),
        (Some("backing_off"), Some(100)),
        "{a}"
    );
    server.advance(100);
    wait_actor(&server, "channel:3", |a| a["state"] == "running");

    // Metrics count the restarts.
    let m = String::from_utf8(get(&server, "/metrics").body).unwrap();
    assert!(
        m.contains("spcti_actor_restarts_total{kind=\"agent\"} 2"),
        "{m}"
    );
    assert!(
        m.contains("spcti_actor_restarts_total{kind=\"channel\"} 3"),
        "{m}"
    );
}

fn wait_actor(server: &Server, path: &str, f: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + support::PROMPT;
    loop {
        let list = get(server, "/api/actors").json();
        let found = list.as_array().unwrap().iter().find(|a| a["path"] == path);
        if let Some(a) = found.filter(|a| f(a)) {
            return a.clone();
        }
        // The deadline holds whether or not the actor is listed.
        assert!(
            std::time::Instant::now() < deadline,
            "{path} never got there: {}",
            found.map_or_else(|| "not listed".to_owned(), Value::to_string)
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// The state of agent `tel` as `/api/agents` shows it.
fn agent_state(server: &Server, tel: &str) -> String {
    let agents = get(server, "/api/agents").json();
    agents
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["TelNum"] == tel)
        .map(|a| a["AgentState"].as_str().unwrap().to_owned())
        .unwrap_or_else(|| panic!("no agent {tel} in {agents}"))
}

/// Waits until every view of agent `tel` says `state`.
fn wait_agent_state(server: &Server, tel: &str, state: &str) {
    let deadline = std::time::Instant::now() + support::PROMPT;
    loop {
        let shown = agent_state(server, tel);
        if shown == state {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{tel} shows {shown}, not {state}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn an_agent_crashed_during_a_call_is_rebuilt_the_same_everywhere() {
    let server = with_token();
    let mut agent = Client::login(&server, "8001", "1001");
    let (trunk, _) = server.talking(&mut agent, 8001);
    wait_agent_state(&server, "8001", "talking");
    let crash = request(
        &server,
        "POST",
        "/api/actors/agent:8001/crash",
        Some(TOKEN),
        None,
    );
    assert_eq!(crash.status, 204);
    wait_actor(&server, "agent:8001", |a| {
        a["restarts"] == 1 && a["state"] == "running"
    });
    // Rebuilt from the seat: still talking, and the call's end is counted.
    wait_agent_state(&server, "8001", "talking");
    server.act(&format!("/sim/channels/{trunk}/hangup"), None);
    agent.expect("6008");
    agent.expect_state("ready");
    wait_agent_state(&server, "8001", "ready");
    let metrics = String::from_utf8(get(&server, "/metrics").body).unwrap();
    assert!(
        metrics.contains("spcti_agents{state=\"talking\"} 0"),
        "{metrics}"
    );
    assert!(
        metrics.contains("spcti_agents{state=\"ready\"} 1"),
        "{metrics}"
    );
}

#[test]
fn a_seat_channel_crashed_mid_call_is_the_system_ending_the_call() {
    let server = with_token();
    let mut agent = Client::login(&server, "8001", "1001");
    let (trunk, guid) = server.talking(&mut agent, 8001);
    let seat = format!("/api/actors/channel:{}/crash", support::seat_ch(8001));
    assert_eq!(
        request(&server, "POST", &seat, Some(TOKEN), None).status,
        204
    );
    server.wait_channel(trunk, "free", |c| c["state"] == "free");
    // The agent did not hang up: 6008, not 6007.
    agent.expect("6008");
    server.idle();
    agent.got_no("6007", "the system ended the call, not the agent");
    let rows = server.call_records(1);
    assert_eq!(
        (rows[0].0.as_str(), rows[0].2.as_str()),
        (guid.as_str(), "system")
    );
}

/// "Today" is today: at midnight (UTC) the groups' answered and abandoned
/// counts and the agents' calls start again, at once, not at the next call.
#[test]
fn todays_counters_start_again_at_midnight() {
    let server = Server::start();
    let mut agent = Client::login(&server, "8001", "1001");
    server.answered_call(&mut agent, "8001", "13800138000");
    // A caller who gives up in the queue (the only agent is busy).
    agent.request_ok("<MsgType>1002</MsgType><TelNum>8001</TelNum>");
    let (t, _) = server.call("13900139000", "4008001234");
    server.through_ivr(t);
    // Queued (the customer lookup may finish after the prompt), then gone.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        agent.send("<MsgType>1013</MsgType><TelNum>8001</TelNum><GroupNo>1</GroupNo>");
        if agent.expect("9014")["Queued"] == "1" {
            break;
        }
        assert!(Instant::now() < deadline, "the caller never queued");
    }
    server.act(&format!("/sim/channels/{t}/hangup"), None);
    let counts = |server: &Server| {
        (
            server.metric("spcti_calls_answered_today{group=\"1\"}"),
            server.metric("spcti_calls_abandoned_today{group=\"1\"}"),
        )
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while counts(&server) != (1.0, 1.0) {
        assert!(Instant::now() < deadline, "{:?}", counts(&server));
        std::thread::sleep(Duration::from_millis(10));
    }
    // A day later, with nothing else happening.
    server.advance(24 * 3600 * 1000);
    while counts(&server) != (0.0, 0.0) {
        assert!(
            Instant::now() < deadline + Duration::from_secs(5),
            "still {:?} a day later",
            counts(&server)
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // 9014 says the same, and the new day counts from zero.
    agent.request_ok("<MsgType>1001</MsgType><TelNum>8001</TelNum><WorkNo>1001</WorkNo>");
    server.answered_call(&mut agent, "8001", "13800138001");
    agent.send("<MsgType>1013</MsgType><TelNum>8001</TelNum><GroupNo>1</GroupNo>");
    let g = agent.expect("9014");
    assert_eq!(
        (g["AnsweredToday"].as_str(), g["AbandonedToday"].as_str()),
        (Some("1"), Some("0")),
        "{g}"
    );
}

/// A key set in the file and in the environment: the environment wins, key
/// by key; the file's other keys, its groups and its agents stay. Groups
/// and agents are lists, which the environment cannot set: `serve` stops
/// and says so.
#[test]
fn the_environment_overrides_the_file_key_by_key() {
    let file = r#"
[admin]
token = "from-the-file"

[sys]
ring_timeout_s = 12

[[group]]
no = 7
name = "Sales"
strategy = "longest-idle"

[[agent]]
work_no = "4242"
groups = [{ no = 7, priority = 1 }]
"#;
    let server = Server::with_config(file, &[("SPCTI_ADMIN__TOKEN", TOKEN)]);
    let agents = "/api/agents";
    assert_eq!(
        request(&server, "GET", agents, Some(TOKEN), None).status,
        200
    );
    assert_eq!(
        request(&server, "GET", agents, Some("from-the-file"), None).status,
        401
    );
    // The file's agent, in the file's group, rung for the file's 12 s.
    let mut a = Client::login(&server, "8001", "4242");
    let (trunk, _) = server.call("13800138000", "4008001234");
    server.through_ivr(trunk);
    assert_eq!(a.expect("6003")["GroupNo"], "7");
    server.advance(11_999);
    server.idle();
    assert!(
        !a.arrived()
            .iter()
            .any(|m| m["MsgType"] == "6001" && m["AgentState"] == "ready"),
        "the ring timed out before the file's 12 s"
    );
    server.advance(1);
    a.expect_state("ready");

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spcti.toml");
    std::fs::write(&path, file).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_spcti"))
        .args(["serve", "--config", path.to_str().unwrap()])
        .env("SPCTI_AGENT__WORK_NO", "5555")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("SPCTI_AGENT__WORK_NO: `[[agent]]` is a list"),
        "{err}"
    );
}
