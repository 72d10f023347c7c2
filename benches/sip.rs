//! Answered-and-released calls per second through spcti's SIP driver,
//! side by side with sipp calling sipp, in one session on one machine.
//!
//! - **sipp → sipp**: sipp's built-in `uac` scenario against its built-in
//!   `uas` (INVITE, 180, 200, ACK, hold, BYE, 200).
//! - **sipp → spcti → sipp seat**: the same `uac` calls spcti's trunk;
//!   spcti answers, queues the call (a one-node flow: queue for group 1),
//!   rings a registered seat whose phone is sipp's `uas` (auto-answer),
//!   bridges both legs' media through its engine, and when the caller
//!   hangs up, hangs the seat up and writes the call record (SQLite).
//!   `SEATS` seats are registered (digest) and their agents logged in
//!   over UDP before anything is timed.
//!
//! Each figure is `N` calls (default 2,000) at a concurrency of at most
//! `LIMIT`, the caller holding `HOLD_MS` after the answer; timed from the
//! start of the uac until it exits (every call ended), three runs after a
//! warm-up of 200. A run counts only if sipp reports no failed call.
//! Also: spcti's CPU time per call (user + system, from /proc) and its
//! resident memory per active bridged call (`SEATS` calls up at once,
//! against the idle server).
//!
//! Runs in a loopback-only network namespace (root; the bench re-runs
//! itself under `ip netns exec`). `cargo bench --bench sip [-- N]`.

use std::io::{BufRead, BufReader, Write};
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const INSIDE: &str = "SPCTI_BENCH_IN_NETNS";
const SEATS: usize = 1000;
const LIMIT: usize = 900;
const HOLD_MS: u64 = 300;

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(2_000);
    if std::env::var_os(INSIDE).is_none() {
        outside(n);
        return;
    }
    inside(n);
}

/// Creates the namespace and runs the bench again inside it.
fn outside(n: usize) {
    let has = |tool: &str| {
        Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !has("sipp") || !has("ip") {
        eprintln!("sip bench: needs sipp (apt-get install sip-tester) and ip (iproute2)");
        return;
    }
    let ns = format!("spcti-bench-{}", std::process::id());
    let ip = |args: &[&str]| {
        Command::new("ip")
            .args(args)
            .status()
            .is_ok_and(|s| s.success())
    };
    if !ip(&["netns", "add", &ns]) {
        eprintln!("sip bench: cannot create a network namespace (needs root)");
        return;
    }
    ip(&["netns", "exec", &ns, "ip", "link", "set", "lo", "up"]);
    let status = Command::new("ip")
        .args(["netns", "exec", &ns])
        .arg(std::env::current_exe().unwrap())
        .arg(n.to_string())
        .env(INSIDE, "1")
        .status();
    ip(&["netns", "del", &ns]);
    assert!(status.is_ok_and(|s| s.success()), "the bench failed");
}

/// A child process killed when dropped (a failed run leaves nothing
/// running).
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn sipp(dir: &Path, args: &[&str]) -> Child {
    Command::new("sipp")
        .args(args)
        .args([
            "-i",
            "127.0.0.1",
            "-nostdin",
            "-timeout",
            "300s",
            "-trace_err",
        ])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start sipp")
}

/// One uac run of `n` calls to `to` from port `port`: its wall time, and
/// whether every call succeeded.
fn uac(dir: &Path, to: &str, port: u16, n: usize) -> (Duration, bool) {
    let t0 = Instant::now();
    let status = sipp(
        dir,
        &[
            to,
            "-sn",
            "uac",
            "-s",
            "4008001234",
            "-p",
            &port.to_string(),
            "-r",
            "5000",
            "-l",
            &LIMIT.to_string(),
            "-m",
            &n.to_string(),
            "-d",
            &HOLD_MS.to_string(),
            // A call with no answer in 10 s fails (the run, not the bench, ends).
            "-recv_timeout",
            "10000",
        ],
    )
    .wait()
    .unwrap();
    (t0.elapsed(), status.success())
}

/// Copies the run's logs (sipp's and the server's) to /tmp/spcti-sip-bench.
fn keep_logs(d: &Path) {
    let to = Path::new("/tmp/spcti-sip-bench");
    let _ = std::fs::create_dir_all(to);
    for f in std::fs::read_dir(d).into_iter().flatten().flatten() {
        if f.path().extension().is_some_and(|x| x == "log") {
            let _ = std::fs::copy(f.path(), to.join(f.file_name()));
        }
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Call records spcti has written: (all, answered by an agent). Each
/// call through spcti leaves one record; `tellmsg` 9 is a caller who
/// talked to an agent.
fn records(d: &Path) -> (u64, u64) {
    use diesel::prelude::*;
    use spcti::storage::schema::sp_tellrec::dsl::*;
    let Ok(mut conn) = spcti::storage::db::open_sqlite(d.join("data/spcti.db").to_str().unwrap())
    else {
        return (0, 0);
    };
    let all: i64 = sp_tellrec.count().get_result(&mut conn).unwrap_or(0);
    let talked: i64 = sp_tellrec
        .filter(tellmsg.eq(9))
        .count()
        .get_result(&mut conn)
        .unwrap_or(0);
    (all as u64, talked as u64)
}

/// user + system CPU seconds of `pid`.
fn cpu_s(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |x| x.1);
    let f: Vec<u64> = after
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    // Fields 14 and 15 (utime, stime) are 12 and 13 after the `)`.
    (f.get(11).unwrap_or(&0) + f.get(12).unwrap_or(&0)) as f64 / 100.0
}

fn rss_of(pid: u32) -> u64 {
    let statm = std::fs::read_to_string(format!("/proc/{pid}/statm")).unwrap_or_default();
    statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse::<u64>().ok())
        .unwrap_or(0)
        * 4096
}

fn config() -> String {
    let mut c = String::from(
        r#"
[switch]
driver = "sip"

[sip]
bind = "127.0.0.1:5060"
rtp_ports = "20000-29999"
max_calls = 5000
seat_passwords = "config"

[[sip.trunk]]
name = "carrier"
peer = "127.0.0.1:5080"
channels = 2000

[[group]]
no = 1
name = "Service"
strategy = "longest-idle"
"#,
    );
    for i in 0..SEATS {
        c.push_str(&format!(
            "\n[[sip.seat]]\next = \"{}\"\npassword = \"pw\"\n\n[[agent]]\nwork_no = \"{}\"\ngroups = [{{ no = 1, priority = 1 }}]\n",
            8001 + i,
            1001 + i
        ));
    }
    c
}

const QUEUE_ONLY: &str = r#"{"name": "default", "start": "q",
  "nodes": {"q": {"kind": "queue", "group": 1, "x": 10, "y": 10}}}"#;

const REGISTER: &str = r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="register">
  <send retrans="500"><![CDATA[
REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:[field0]@[remote_ip]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[field0]@[remote_ip]>
Call-ID: [call_id]
CSeq: 1 REGISTER
Contact: <sip:[field0]@[local_ip]:[local_port]>
Max-Forwards: 70
Expires: 3600
Content-Length: 0

]]></send>
  <recv response="401" auth="true"/>
  <send retrans="500"><![CDATA[
REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:[field0]@[remote_ip]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[field0]@[remote_ip]>
Call-ID: [call_id]
CSeq: 2 REGISTER
Contact: <sip:[field0]@[local_ip]:[local_port]>
[field1]
Max-Forwards: 70
Expires: 3600
Content-Length: 0

]]></send>
  <recv response="200"/>
</scenario>
"#;

/// The spcti binary next to this bench (cargo builds it for benches).
fn spcti_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_spcti"))
}

fn inside(n: usize) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();

    // --- sipp to sipp --------------------------------------------------
    let uas = Running(sipp(d, &["-sn", "uas", "-p", "5090"]));
    std::thread::sleep(Duration::from_millis(300));
    uac(d, "127.0.0.1:5090", 5091, 200);
    let mut base = Vec::new();
    for run in 1..=3 {
        let (t, ok) = uac(d, "127.0.0.1:5090", 5091, n);
        assert!(ok, "sipp to sipp: failed calls in run {run}");
        base.push(n as f64 / t.as_secs_f64());
        println!(
            "sipp → sipp            run {run}: {n} calls in {t:.2?}: {:.0} calls/s",
            base[run - 1]
        );
    }
    drop(uas);

    // --- through spcti -------------------------------------------------
    std::fs::write(d.join("spcti.toml"), config()).unwrap();
    std::fs::create_dir_all(d.join("flows")).unwrap();
    std::fs::write(d.join("flows/default.json"), QUEUE_ONLY).unwrap();
    let log = std::fs::File::create(d.join("server.log")).unwrap();
    let mut server = Running(
        Command::new(spcti_bin())
            .args(["serve", "--config", d.join("spcti.toml").to_str().unwrap()])
            .env("SPCTI_AGENT_UDP__BIND", "127.0.0.1:0")
            .env("SPCTI_ADMIN__BIND", "127.0.0.1:0")
            .env("SPCTI_MONITOR__BIND", "127.0.0.1:0")
            .env("SPCTI_IP_SEAT__BIND", "127.0.0.1:0")
            .env("SPCTI_SERVER__DATA_DIR", d.join("data"))
            .env(
                "SPCTI_DATABASE__URL",
                format!("sqlite://{}", d.join("data/spcti.db").display()),
            )
            .env("SPCTI_FLOW__DIR", d.join("flows"))
            .env("SPCTI_SIP__PROMPT_DIR", d.join("prompts"))
            .env(
                "RUST_LOG",
                std::env::var("SPCTI_BENCH_LOG").unwrap_or("warn".into()),
            )
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("start spcti"),
    );
    let mut line = String::new();
    BufReader::new(server.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let agent_udp: std::net::SocketAddr = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("agent_udp="))
        .unwrap_or_else(|| panic!("spcti did not start: {line}"))
        .parse()
        .unwrap();
    let pid = server.0.id();

    let mut csv = std::fs::File::create(d.join("seats.csv")).unwrap();
    writeln!(csv, "SEQUENTIAL").unwrap();
    for i in 0..SEATS {
        // sipp expands no field inside `[authentication]`: the whole
        // keyword is the second field (sipp's documented way).
        let ext = 8001 + i;
        writeln!(csv, "{ext};[authentication username={ext} password=pw];").unwrap();
    }
    std::fs::write(d.join("register.xml"), REGISTER).unwrap();
    let reg = sipp(
        d,
        &[
            "127.0.0.1:5060",
            "-sf",
            "register.xml",
            "-inf",
            "seats.csv",
            "-p",
            "5062",
            "-m",
            &SEATS.to_string(),
            "-r",
            "500",
        ],
    )
    .wait()
    .unwrap();
    if !reg.success() {
        keep_logs(d);
        panic!("the seats did not all register (logs: /tmp/spcti-sip-bench)");
    }
    let clients: Vec<UdpSocket> = (0..SEATS)
        .map(|i| {
            let s = UdpSocket::bind("127.0.0.1:0").unwrap();
            s.send_to(
                format!(
                    "<MsgType>1001</MsgType><TelNum>{}</TelNum><WorkNo>{}</WorkNo>",
                    8001 + i,
                    1001 + i
                )
                .as_bytes(),
                agent_udp,
            )
            .unwrap();
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let seats = Running(sipp(
        d,
        &[
            "-sn",
            "uas",
            "-p",
            "5062",
            "-trace_stat",
            "-stf",
            "seats.csv",
            "-fd",
            "1",
        ],
    ));
    std::thread::sleep(Duration::from_millis(300));
    let idle = rss_of(pid);

    let (_, ok) = uac(d, "127.0.0.1:5060", 5080, 200);
    if !ok {
        keep_logs(d);
        panic!("spcti: failed calls in the warm-up (logs: /tmp/spcti-sip-bench)");
    }
    let mut through = Vec::new();
    let mut cpu = Vec::new();
    for run in 1..=3 {
        // The last run's records all written first (not timed).
        let mut r0 = (u64::MAX, 0);
        loop {
            std::thread::sleep(Duration::from_millis(500));
            let now = records(d);
            if now.0 == r0.0 {
                break;
            }
            r0 = now;
        }
        let (r0, a0) = r0;
        let c0 = cpu_s(pid);
        let (t, ok) = uac(d, "127.0.0.1:5060", 5080, n);
        let c1 = cpu_s(pid);
        // Every call's record written (outside the timed region), and how
        // many of them talked to an agent at a seat.
        let t1 = Instant::now();
        let (mut r1, mut a1) = records(d);
        while r1 < r0 + n as u64 && t1.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(100));
            (r1, a1) = records(d);
        }
        if !ok {
            keep_logs(d);
            panic!("spcti: failed calls in run {run} (logs: /tmp/spcti-sip-bench)");
        }
        through.push(n as f64 / t.as_secs_f64());
        cpu.push((c1 - c0) / n as f64 * 1e6);
        println!(
            "sipp → spcti → sipp   run {run}: {n} calls in {t:.2?}: {:.0} calls/s, {:.0} µs CPU per call; {} records, {} talked to an agent",
            through[run - 1],
            cpu[run - 1],
            r1 - r0,
            a1 - a0
        );
    }

    // Memory: SEATS calls up at once, each bridged with media both ways.
    std::thread::sleep(Duration::from_secs(1));
    let m = LIMIT;
    let mut held = sipp(
        d,
        &[
            "127.0.0.1:5060",
            "-sn",
            "uac",
            "-s",
            "4008001234",
            "-p",
            "5080",
            "-r",
            "500",
            "-l",
            &m.to_string(),
            "-m",
            &m.to_string(),
            "-d",
            "6000",
        ],
    );
    std::thread::sleep(Duration::from_secs(4));
    let busy = rss_of(pid);
    let held_ok = held.wait().unwrap().success();

    let (b, s) = (median(base), median(through));
    println!();
    println!("| measure | value |");
    println!("|---|---|");
    println!("| sipp → sipp, calls/s (median of 3) | {b:.0} |");
    println!("| sipp → spcti → sipp seat, calls/s (median of 3) | {s:.0} |");
    println!("| ratio | {:.2} |", s / b);
    println!(
        "| spcti CPU per call (user + system) | {:.0} µs |",
        median(cpu)
    );
    println!(
        "| spcti RSS idle / with {m} bridged calls | {:.1} MiB / {:.1} MiB ({:.1} KiB per call{}) |",
        idle as f64 / 1048576.0,
        busy as f64 / 1048576.0,
        busy.saturating_sub(idle) as f64 / 1024.0 / m as f64,
        if held_ok {
            ""
        } else {
            "; some held calls failed"
        }
    );
    drop((clients, seats, server));
}
