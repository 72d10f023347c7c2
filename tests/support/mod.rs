//! End-to-end harness: the real `spcti` binary on loopback ports (port 0),
//! driven over real UDP (agent clients) and HTTP (the `/sim` outside world),
//! with the server's clock in manual mode so protocol timers are advanced,
//! never slept through.

#![allow(dead_code)]

pub mod netns;

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use spcti_protocol::{TextEncoding, decode, to_json};

/// How long to wait for something the server does at once (not a protocol timer).
pub const PROMPT: Duration = Duration::from_secs(5);

pub struct Server {
    child: Child,
    pub dir: tempfile::TempDir,
    pub agent_udp: SocketAddr,
    pub admin: SocketAddr,
    pub monitor: SocketAddr,
    http: ureq::Agent,
    env: Vec<(String, String)>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Groups and agents used unless a test gives its own.
pub const DEFAULT_CONFIG: &str = r#"
[[group]]
no = 1
name = "Service"
strategy = "longest-idle"

[[agent]]
work_no = "1001"
groups = [{ no = 1, priority = 1 }]
"#;

impl Server {
    pub fn start() -> Server {
        Server::with_config(DEFAULT_CONFIG, &[])
    }

    /// Starts the binary with `config` (TOML laid over the defaults) and extra env overrides.
    pub fn with_config(config: &str, env: &[(&str, &str)]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("spcti.toml"), config).unwrap();
        let data = dir.path().join("data");
        let db = format!("sqlite://{}", data.join("spcti.db").display());
        let mut all = vec![("SPCTI_DATABASE__URL".to_owned(), db)];
        all.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        Server::spawn(dir, all)
    }

    /// Starts the binary with call flows in its `[flow] dir`: (name, JSON).
    pub fn with_flows(config: &str, flows: &[(&str, &str)], env: &[(&str, &str)]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("spcti.toml"), config).unwrap();
        std::fs::create_dir_all(dir.path().join("flows")).unwrap();
        for (name, text) in flows {
            std::fs::write(dir.path().join("flows").join(format!("{name}.json")), text).unwrap();
        }
        let data = dir.path().join("data");
        let db = format!("sqlite://{}", data.join("spcti.db").display());
        let mut all = vec![("SPCTI_DATABASE__URL".to_owned(), db)];
        all.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        Server::spawn(dir, all)
    }

    /// Starts the binary on `dir` (its `spcti.toml` and `data/`).
    fn spawn(dir: tempfile::TempDir, env: Vec<(String, String)>) -> Server {
        let file = dir.path().join("spcti.toml");
        let data = dir.path().join("data");
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.path().join("server.log"))
            .unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_spcti"));
        cmd.args(["serve", "--config", file.to_str().unwrap()])
            .env("SPCTI_AGENT_UDP__BIND", "127.0.0.1:0")
            .env("SPCTI_ADMIN__BIND", "127.0.0.1:0")
            .env("SPCTI_MONITOR__BIND", "127.0.0.1:0")
            .env("SPCTI_IP_SEAT__BIND", "127.0.0.1:0")
            .env("SPCTI_SERVER__DATA_DIR", data.to_str().unwrap())
            // Each server its own flows (none: the built-in flow), never
            // the repository's config/flows.
            .env(
                "SPCTI_FLOW__DIR",
                dir.path().join("flows").to_str().unwrap(),
            )
            // Uploaded prompts go to the server's own directory, never
            // into the repository's config/prompts.
            .env(
                "SPCTI_SIM__PROMPT_DIR",
                dir.path().join("prompts").to_str().unwrap(),
            )
            .env("SPCTI_SERVER__CLOCK", "manual")
            .env("SPCTI_SIM__TRUNKS", "4")
            .env("SPCTI_SIM__EXTENSIONS", "8001-8005")
            .env("RUST_LOG", "info,spcti_actors=debug")
            .stdout(Stdio::piped())
            .stderr(stderr);
        for (k, v) in &env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn spcti");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let field = |name: &str| -> SocketAddr {
            line.split_whitespace()
                .find_map(|w| w.strip_prefix(&format!("{name}=")))
                .unwrap_or_else(|| {
                    let log =
                        std::fs::read_to_string(dir.path().join("server.log")).unwrap_or_default();
                    panic!("server did not start: {line:?}\n{log}")
                })
                .parse()
                .unwrap()
        };
        let (agent_udp, admin, monitor) = (field("agent_udp"), field("admin"), field("monitor"));
        let http = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .into();
        Server {
            child,
            dir,
            agent_udp,
            admin,
            monitor,
            http,
            env,
        }
    }

    /// `kill -9`, then a new server on the same configuration and data.
    pub fn kill_and_restart(self) -> Server {
        self.kill_and_restart_with(&[])
    }

    /// `kill -9` now (the process is gone when this returns).
    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// `kill -9`, then a new server on the same configuration and data,
    /// with `env` overriding what the killed one was given.
    pub fn kill_and_restart_with(mut self, env: &[(&str, &str)]) -> Server {
        self.kill();
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap());
        let mut all = std::mem::take(&mut self.env);
        for (k, v) in env {
            all.retain(|(key, _)| key != k);
            all.push((k.to_string(), v.to_string()));
        }
        drop(self);
        Server::spawn(dir, all)
    }

    /// SIGTERM, as an init system stops it; returns whether it exited 0
    /// within `wait`.
    pub fn terminate(&mut self, wait: Duration) -> bool {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        let deadline = Instant::now() + wait;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.success();
            }
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `/api/health`'s `database` object.
    pub fn database(&self) -> Value {
        let (status, b) = self.http("GET", "/api/health", None);
        assert_eq!(status, 200, "{b}");
        b["database"].clone()
    }

    /// Waits until `/api/health`'s `database` satisfies `f`.
    pub fn wait_database(&self, what: &str, wait: Duration, f: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + wait;
        loop {
            let d = self.database();
            if f(&d) {
                return d;
            }
            if Instant::now() > deadline {
                panic!("database never {what}: {d}\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A whole answered inbound call to `agent` on seat `tel` (channels
    /// 4.. are seats 8001..): returns the TellGUID.
    pub fn answered_call(&self, agent: &mut Client, tel: &str, caller: &str) -> String {
        let (trunk, guid) = self.call(caller, "4008001234");
        self.through_ivr(trunk);
        assert_eq!(agent.expect("6003")["TellGUID"], guid.as_str());
        self.act(&format!("/sim/extensions/{tel}/offhook"), None);
        assert_eq!(agent.expect("6004")["TellGUID"], guid.as_str());
        self.advance(5_000);
        self.act(&format!("/sim/extensions/{tel}/onhook"), None);
        agent.expect("6007");
        agent.expect_state("ready");
        guid
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// The Authorization header for the admin port: with a token set, /sim
    /// and /metrics need it as /api does.
    fn auth(&self) -> String {
        self.env
            .iter()
            .find(|(k, _)| k == "SPCTI_ADMIN__TOKEN")
            .map(|(_, t)| format!("Bearer {t}"))
            .unwrap_or_default()
    }

    /// An HTTP request to the admin port: (status, JSON body or Null).
    pub fn http(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let url = format!("http://{}{}", self.admin, path);
        let auth = self.auth();
        let resp = match (method, body) {
            ("GET", _) => self.http.get(&url).header("Authorization", &auth).call(),
            ("POST", Some(b)) => self
                .http
                .post(&url)
                .header("Authorization", &auth)
                .send_json(b),
            ("POST", None) => self
                .http
                .post(&url)
                .header("Authorization", &auth)
                .send_empty(),
            ("PUT", Some(b)) => self
                .http
                .put(&url)
                .header("Authorization", &auth)
                .send_json(b),
            ("DELETE", _) => self.http.delete(&url).header("Authorization", &auth).call(),
            _ => unreachable!(),
        };
        let mut resp = resp.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// A PUT of raw bytes (`audio/wav`): (status, JSON answer).
    pub fn put_bytes(&self, path: &str, bytes: &[u8]) -> (u16, Value) {
        let url = format!("http://{}{}", self.admin, path);
        let mut resp = self
            .http
            .put(&url)
            .header("Authorization", &self.auth())
            .header("Content-Type", "audio/wav")
            .send(bytes)
            .unwrap_or_else(|e| panic!("PUT {path}: {e}"));
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.http("POST", path, Some(body))
    }

    /// One sample of `/metrics` (the token sent if one is set).
    pub fn metric(&self, name: &str) -> f64 {
        let url = format!("http://{}/metrics", self.admin);
        let auth = self.auth();
        let mut resp = self
            .http
            .get(&url)
            .header("Authorization", &auth)
            .call()
            .unwrap();
        let text = resp.body_mut().read_to_string().unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("no metric {name} in:\n{text}"))
    }

    /// Asserts a 204 from a `/sim` action.
    pub fn act(&self, path: &str, body: Option<Value>) {
        let (status, b) = self.http("POST", path, body);
        assert_eq!(status, 204, "POST {path}: {b}");
    }

    /// A call arrives: returns (trunk channel, TellGUID).
    pub fn call(&self, caller: &str, callee: &str) -> (u32, String) {
        let (status, b) = self.post("/sim/calls", json!({"caller": caller, "callee": callee}));
        assert_eq!(status, 200, "{b}");
        (
            b["ch"].as_u64().unwrap() as u32,
            b["tellguid"].as_str().unwrap().to_owned(),
        )
    }

    /// Moves the server's manual clock, timer by timer; returns once the
    /// server has reacted to every timer that fell due.
    pub fn advance(&self, ms: u64) {
        self.advanced(ms);
    }

    /// [`advance`](Self::advance); whether the server went quiet after
    /// every step (false when something, such as a hanging lookup, kept
    /// it busy past the step's wait).
    pub fn advanced(&self, ms: u64) -> bool {
        let (status, b) = self.post("/sim/clock/advance", json!({"ms": ms}));
        assert_eq!(status, 200, "{b}");
        b["settled"] == true
    }

    /// Returns once the server has finished reacting to everything so far
    /// (`POST /sim/idle`): what has not happened by now will not happen
    /// without a new event or time passing. Negative checks go after it.
    pub fn idle(&self) {
        let (status, b) = self.post("/sim/idle", json!({}));
        assert_eq!(
            status,
            200,
            "the server never went quiet: {b}\n{}",
            self.log()
        );
    }

    /// When the live timers of the manual clock fall due (ms on its clock).
    pub fn armed(&self) -> Vec<u64> {
        let (status, b) = self.http("GET", "/sim/clock", None);
        assert_eq!(status, 200, "{b}");
        b["armed_ms"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect()
    }

    /// Moves the manual clock `step_ms` at a time until `f` holds for
    /// channel `ch` (at most `steps` steps). For timers armed by an event
    /// the test cannot see: each step fires whatever is armed by then.
    pub fn advance_until(
        &self,
        ch: u32,
        what: &str,
        step_ms: u64,
        steps: u32,
        f: impl Fn(&Value) -> bool,
    ) -> Value {
        for _ in 0..steps {
            // A settled advance has done all it set off: one look is
            // enough. Otherwise give the server a moment.
            let settled = self.advanced(step_ms);
            let deadline = Instant::now() + Duration::from_millis(if settled { 0 } else { 300 });
            loop {
                let c = self.channel(ch);
                if f(&c) {
                    return c;
                }
                if Instant::now() >= deadline {
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        panic!("never {what}: {}\n{}", self.channel(ch), self.log());
    }

    pub fn channel(&self, ch: u32) -> Value {
        let (status, b) = self.http("GET", &format!("/sim/channels/{ch}"), None);
        assert_eq!(status, 200, "{b}");
        b
    }

    /// Waits until channel `ch` satisfies `f` (the server acts asynchronously).
    pub fn wait_channel(&self, ch: u32, what: &str, f: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + PROMPT;
        loop {
            let c = self.channel(ch);
            if f(&c) {
                return c;
            }
            if Instant::now() > deadline {
                panic!("channel {ch} never became {what}: {c}\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Polls every channel until `f` finds what it waits for.
    pub fn wait_channels<T>(&self, what: &str, f: impl Fn(&[Value]) -> Option<T>) -> T {
        let deadline = Instant::now() + PROMPT;
        loop {
            let (status, all) = self.http("GET", "/sim/channels", None);
            assert_eq!(status, 200, "{all}");
            if let Some(found) = f(all.as_array().unwrap()) {
                return found;
            }
            if Instant::now() > deadline {
                panic!("never {what}: {all}\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits for the queue: the welcome prompt is playing on `ch`, then
    /// advances the clock past it.
    pub fn through_ivr(&self, ch: u32) {
        self.wait_channel(ch, "playing welcome", |c| c["playing"] == "welcome");
        self.advance(2_000);
    }

    /// Whether every record the server has handed to its spool is in the
    /// database: asked before rows are read, so that nothing waiting then
    /// means every record so far is in what is read. A server that no
    /// longer answers has stopped: nothing more will come from it.
    fn all_records_in(&self) -> bool {
        let url = format!("http://{}/api/health", self.admin);
        match self
            .http
            .get(&url)
            .header("Authorization", &self.auth())
            .call()
        {
            Ok(mut resp) => {
                let text = resp.body_mut().read_to_string().unwrap_or_default();
                let health: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                let d = &health["database"];
                d["spool_depth"] == 0 && d["spool_unsynced"] == 0
            }
            Err(ureq::Error::StatusCode(code)) => panic!("GET /api/health: {code}"),
            Err(_) => true,
        }
    }

    /// Rows of `sp_tellrec` once `n` exist and no record handed to the
    /// spool still waits for the database (records of one call can reach it
    /// in separate transactions): (tellguid, tellmsg, hangup_by, tel_num,
    /// record_file).
    pub fn call_records(&self, n: usize) -> Vec<(String, i32, String, String, Option<String>)> {
        use diesel::prelude::*;
        use spcti::storage::schema::sp_tellrec::dsl::*;
        let deadline = Instant::now() + PROMPT;
        let path = self.data_dir().join("spcti.db");
        loop {
            let all_in = self.all_records_in();
            let mut conn = spcti::storage::db::open_sqlite(path.to_str().unwrap()).unwrap();
            let rows: Vec<(String, i32, String, String, Option<String>)> = sp_tellrec
                .select((tellguid, tellmsg, hangup_by, tel_num, record_file))
                .order(id)
                .load(&mut conn)
                .unwrap();
            if rows.len() >= n && all_in {
                return rows;
            }
            if Instant::now() > deadline {
                panic!("expected {n} call records, have {rows:?}\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// The channel of seat `ext`: the harness's trunks are 0-3, seats 8001.. follow.
pub fn seat_ch(ext: u32) -> u32 {
    ext - 8001 + 4
}

/// A dependency a test needs is missing: under CI (`CI` set) that fails
/// the test, naming it; elsewhere the test is skipped with one line.
pub fn missing(line: &str) {
    assert!(
        std::env::var_os("CI").is_none(),
        "{line} (CI is set: a missing dependency fails the suite)"
    );
    eprintln!("{line}");
}

/// Asserts a 9000 refusal whose ResultSTR says `why`.
pub fn assert_refused(reply: &Value, why: &str) {
    assert_eq!(reply["Result"], "0", "{reply}");
    assert!(
        reply["ResultSTR"].as_str().unwrap().contains(why),
        "{reply} should say {why:?}"
    );
}

impl Server {
    /// A customer call goes through the IVR and rings seat `ext`, whose
    /// agent gets the screen pop: (trunk, TellGUID).
    pub fn ringing(&self, agent: &mut Client, ext: u32) -> (u32, String) {
        let (trunk, guid) = self.call("13800138000", "4008001234");
        self.through_ivr(trunk);
        assert_eq!(agent.expect("6003")["TellGUID"], guid.as_str());
        self.wait_channel(seat_ch(ext), "ringing", |c| c["state"] == "ringing");
        (trunk, guid)
    }

    /// The same, answered: the agent at `ext` talks to the caller.
    pub fn talking(&self, agent: &mut Client, ext: u32) -> (u32, String) {
        let (trunk, guid) = self.ringing(agent, ext);
        self.act(&format!("/sim/extensions/{ext}/offhook"), None);
        agent.expect("6004");
        self.wait_channel(trunk, "linked", |c| c["link"] == seat_ch(ext));
        (trunk, guid)
    }
}

/// An agent desktop program: one UDP socket.
pub struct Client {
    socket: UdpSocket,
    pending: Vec<Value>,
    /// The server's log, shown when an expected message never comes.
    server_log: PathBuf,
}

impl Client {
    pub fn new(server: &Server) -> Client {
        Client::from_ip(server, "127.0.0.1")
    }

    /// A client on another loopback address (another desk on the LAN).
    pub fn from_ip(server: &Server, ip: &str) -> Client {
        let socket = UdpSocket::bind((ip, 0)).unwrap();
        socket.connect(server.agent_udp).unwrap();
        socket.set_read_timeout(Some(PROMPT)).unwrap();
        Client {
            socket,
            pending: Vec::new(),
            server_log: server.dir.path().join("server.log"),
        }
    }

    pub fn send(&self, xml: &str) {
        self.socket.send(xml.as_bytes()).unwrap();
    }

    pub fn send_bytes(&self, bytes: &[u8]) {
        self.socket.send(bytes).unwrap();
    }

    fn read(&self) -> Value {
        let mut buf = [0u8; 9000];
        let n = self.socket.recv(&mut buf).unwrap_or_else(|e| {
            let log = std::fs::read_to_string(&self.server_log).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(60).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            panic!(
                "no datagram from the server ({e}); kept: {:?}\nlast lines of the server's log:\n{}",
                self.pending.iter().map(|m| m["MsgType"].clone()).collect::<Vec<_>>(),
                tail.join("\n")
            )
        });
        let env = decode(&buf[..n], TextEncoding::Utf8)
            .unwrap_or_else(|e| panic!("server sent bad XML ({e})"));
        to_json(&env)
    }

    /// The next message of `msg_type`, keeping others for later.
    pub fn expect(&mut self, msg_type: &str) -> Value {
        if let Some(i) = self.pending.iter().position(|m| m["MsgType"] == msg_type) {
            return self.pending.remove(i);
        }
        loop {
            let m = self.read();
            if m["MsgType"] == msg_type {
                return m;
            }
            self.pending.push(m);
        }
    }

    /// [`Client::expect`] with a longer wait (for answers that take a
    /// real-time timeout, such as a phone that never answers).
    pub fn expect_within(&mut self, msg_type: &str, wait: Duration) -> Value {
        self.socket.set_read_timeout(Some(wait)).unwrap();
        let m = self.expect(msg_type);
        self.socket.set_read_timeout(Some(PROMPT)).unwrap();
        m
    }

    /// Expects a 6001 with this AgentState.
    pub fn expect_state(&mut self, state: &str) -> Value {
        loop {
            let m = self.expect("6001");
            if m["AgentState"] == state {
                return m;
            }
        }
    }

    /// Sends a request and returns its 9000 reply, asserting Result.
    pub fn request_ok(&mut self, xml: &str) -> Value {
        self.send(xml);
        let r = self.expect("9000");
        assert_eq!(r["Result"], "1", "request failed: {r}");
        r
    }

    pub fn login(server: &Server, tel: &str, work_no: &str) -> Client {
        let mut c = Client::new(server);
        c.request_ok(&format!(
            "<MsgType>1001</MsgType><TelNum>{tel}</TelNum><WorkNo>{work_no}</WorkNo>"
        ));
        c.expect_state("ready");
        c
    }

    /// A client logged in and busy (takes no calls): a supervisor's desk or
    /// another system speaking through a seat of its own.
    pub fn operator(server: &Server, tel: &str, work_no: &str) -> Client {
        let mut c = Client::login(server, tel, work_no);
        c.request_ok(&format!("<MsgType>1002</MsgType><TelNum>{tel}</TelNum>"));
        c.expect_state("busy");
        c
    }

    /// Every message that arrives within `quiet` of the last one (or of now).
    pub fn drain(&mut self, quiet: Duration) -> Vec<Value> {
        self.socket.set_read_timeout(Some(quiet)).unwrap();
        let mut buf = [0u8; 9000];
        let mut out = std::mem::take(&mut self.pending);
        while let Ok(n) = self.socket.recv(&mut buf) {
            out.push(to_json(&decode(&buf[..n], TextEncoding::Utf8).unwrap()));
        }
        self.socket.set_read_timeout(Some(PROMPT)).unwrap();
        out
    }

    /// Every message that has arrived and not been expected, without
    /// waiting (after [`Server::idle`]: all that will come). They stay
    /// pending for later [`expect`](Self::expect)s.
    pub fn arrived(&mut self) -> &[Value] {
        self.socket.set_nonblocking(true).unwrap();
        let mut buf = [0u8; 9000];
        loop {
            match self.socket.recv(&mut buf) {
                Ok(n) => self
                    .pending
                    .push(to_json(&decode(&buf[..n], TextEncoding::Utf8).unwrap())),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => panic!("reading the client's socket: {e}"),
            }
        }
        self.socket.set_nonblocking(false).unwrap();
        &self.pending
    }

    /// Asserts that no message of type `msg_type` has arrived and not been
    /// expected (call it after [`Server::idle`]).
    pub fn got_no(&mut self, msg_type: &str, why: &str) {
        let got = self.arrived();
        assert!(
            !got.iter().any(|m| m["MsgType"] == msg_type),
            "{why}: got a {msg_type} in {got:?}"
        );
    }

    /// Messages already received and not yet expected.
    pub fn pending(&self) -> &[Value] {
        &self.pending
    }
}

/// A WAV file's bytes: `tag` 1 (PCM, 16-bit), 6 (A-law) or 7 (µ-law).
pub fn wav(tag: u16, channels: u16, rate: u32, seconds: f32) -> Vec<u8> {
    let bits: u16 = if tag == 1 { 16 } else { 8 };
    let block = channels * bits / 8;
    let data = vec![0xd5u8; (rate as f32 * seconds) as usize * block as usize];
    let mut v = Vec::new();
    v.extend(b"RIFF");
    v.extend((36 + data.len() as u32).to_le_bytes());
    v.extend(b"WAVEfmt ");
    v.extend(16u32.to_le_bytes());
    v.extend(tag.to_le_bytes());
    v.extend(channels.to_le_bytes());
    v.extend(rate.to_le_bytes());
    v.extend((rate * u32::from(block)).to_le_bytes());
    v.extend(block.to_le_bytes());
    v.extend(bits.to_le_bytes());
    v.extend(b"data");
    v.extend((data.len() as u32).to_le_bytes());
    v.extend(data);
    v
}
