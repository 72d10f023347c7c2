//! Whole calls under load: N concurrent simulated calls in process — queue,
//! ring, answer, talk with recording, hang up, call record written —
//! reporting completed calls per second, screen-pop latency and resident
//! memory per idle channel and per active call, for N = 100, 1,000, 10,000.
//!
//! The timed region runs from the first arrival to the moment the last
//! call's records are in the database (the spool empty); the pause taken
//! to read the memory of N active calls is not in it. The clock is the real
//! one: each recording holds its talk time (that pause and the answers
//! around it, some 0.3 s) of the simulated parties' silence.
//!
//! Each run is its own process so one run's memory does not colour the
//! next: per N a warm-up run (not shown), then three, and the min, median
//! and max of the completed rate. `cargo bench --bench calls` (add `-- 100`
//! for one size).
//!
//! With `BENCH_PHASES=1` each run also prints, to stderr, when the arrivals
//! were all sent, the first and last pop, each thread's CPU time from the
//! first arrival to the last pop (with its time waiting for a core and how
//! often it was scheduled), when every call was talking and how long the
//! hang-ups took to the last 6007 and to the last record.
//!
//! The client (`support`) reads and timestamps each datagram on its own
//! thread and decodes only once `collect` has its count: the instrument
//! does not take the two cores from the server while the pops are timed.
//! It looks at its socket every millisecond rather than waiting on it, so
//! the server's `sendto` does not wake it for each datagram (on loopback
//! that wake-up is charged to the server's thread); a datagram's time is
//! when it was read, up to a millisecond (and the sleep's overshoot) after
//! it arrived, so latencies are overstated by that much, never understated.
//! With `BENCH_CHILD=1 BENCH_PROFILE_POPS=1 target/release/deps/calls-* N`
//! one run waits 2 s after printing `ready` (for `perf record -p`) and
//! exits once the pops are in.
//!
//! `cargo bench --bench calls -- flows [N]` compares call flows: the same
//! whole calls through the built-in default flow (welcome, queue) and
//! through the five-node flow below (play, menu, collect, branch on an
//! expression, queue; the caller's keys "1", "91234#" sent at once after
//! the call comes in and taken as type-ahead), three rounds of each,
//! alternating, N = 1,000 unless given. The keys are in the timed region:
//! they are part of a call through a menu.

mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use spcti::sim::{SimAction, SimReply};
use spcti_protocol::Message;
use support::{Bench, percentile, rss};

/// Five nodes, two expressions evaluated per call (the branch and the
/// collect's variable in it), two key inputs.
const FIVE: &str = r#"{
  "name": "default", "start": "welcome", "popup": ["customer_id"],
  "nodes": {
    "welcome": {"kind": "play", "prompt": "welcome", "next": "menu"},
    "menu":    {"kind": "menu", "prompt": "welcome", "timeout_s": 30, "choices": {"1": "ask"}, "fail": "q"},
    "ask":     {"kind": "collect", "var": "customer_id", "min": 4, "max": 10, "timeout_s": 30, "next": "vip", "fail": "q"},
    "vip":     {"kind": "branch", "if": "customer_id.starts_with(\"9\") && caller != \"\"", "then": "q", "else": "q"},
    "q":       {"kind": "queue", "group": 1}
  }
}"#;

/// How often the client looks at its socket: every millisecond unless
/// `BENCH_POLL_US` says otherwise (0: it waits on the socket, woken by each
/// datagram's arrival, as `hot_path` does).
fn poll() -> Option<Duration> {
    let us = std::env::var("BENCH_POLL_US")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    (us > 0).then(|| Duration::from_micros(us))
}

fn run(n: usize, five: bool) {
    actix::System::new().block_on(async move {
        let base = rss();
        let mut b = Bench::start_reading(n, five.then_some(FIVE), poll()).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        let idle = rss();

        let phases = std::env::var_os("BENCH_PHASES").is_some();
        let profile_pops = std::env::var_os("BENCH_PROFILE_POPS").is_some();
        if profile_pops {
            // Time for a profiler to attach (`perf record -p`) before the
            // arrivals; the process exits once the pops are in.
            eprintln!("ready");
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
        let cpu0 = support::thread_cpu();
        let t0 = Instant::now();
        let mut started: HashMap<u32, Instant> = HashMap::with_capacity(n);
        for i in 0..n {
            let at = Instant::now();
            match b
                .sim(SimAction::NewCall {
                    caller: format!("138{i:08}"),
                    callee: "4008001234".into(),
                })
                .await
            {
                SimReply::Call { ch, .. } => {
                    started.insert(ch.0, at);
                    if five {
                        b.sim(SimAction::Dtmf {
                            ch: ch.0,
                            digits: "191234#".into(),
                        })
                        .await;
                    }
                }
                other => panic!("{other:?}"),
            }
        }
        let injected = t0.elapsed();
        let mut pop_cpu = String::new();
        let pops = b
            .collect_then(6003, n, || {
                if phases {
                    pop_cpu = support::thread_cpu_since(&cpu0);
                }
            })
            .await;
        if profile_pops {
            std::process::exit(0);
        }
        if phases {
            let first = pops.iter().map(|p| p.1).min().unwrap().duration_since(t0);
            let last = pops.iter().map(|p| p.1).max().unwrap().duration_since(t0);
            eprintln!("injected in {injected:?}, pops from {first:?} to {last:?}");
            eprintln!("CPU from the first arrival to the last pop: {pop_cpu}");
        }
        let mut pop_latency: Vec<Duration> = pops
            .iter()
            .map(|(m, at)| match m {
                Message::ScreenPop(p) => at.duration_since(started[&p.ch_num.0]),
                _ => unreachable!(),
            })
            .collect();
        pop_latency.sort();
        for (m, _) in &pops {
            if let Message::ScreenPop(p) = m {
                b.sim(SimAction::OffHook {
                    ext: p.tel_num.to_string(),
                })
                .await;
            }
        }
        b.collect(6004, n).await;
        let talking = t0.elapsed();
        // Not timed: letting the allocator settle to read the memory.
        let paused = Instant::now();
        tokio::time::sleep(Duration::from_millis(200)).await;
        let active = rss();
        let pause = paused.elapsed();
        let written = b.running.db_status.written();
        let hang = Instant::now();
        for ext in b.extensions.clone() {
            b.sim(SimAction::OnHook { ext }).await;
        }
        b.collect(6007, n).await;
        let told = hang.elapsed();
        // Done when every record of the calls is in the database: a call
        // record and a recording row per call at least. The end is when
        // the database took the last of them, not when this loop notices:
        // its polling is not timed.
        while b.running.db_status.written() < written + 2 * n as u64
            || b.running.db_status.pending() > 0
        {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let end = b
            .running
            .db_status
            .last_written_at()
            .expect("records written");
        let elapsed = end.duration_since(t0) - pause;
        if phases {
            eprintln!(
                "all talking at {talking:?}; hang-up to the last 6007 {told:?}, to the last record {:?}",
                end.duration_since(hang)
            );
        }
        if std::env::var_os("BENCH_FLOW_ROWS").is_some() {
            println!(
                "| {} | {n} | {:.0} | {:.2} | {:.2} |",
                if five {
                    "five nodes"
                } else {
                    "built-in default"
                },
                n as f64 / elapsed.as_secs_f64(),
                percentile(&pop_latency, 0.5).as_secs_f64() * 1e3,
                percentile(&pop_latency, 0.99).as_secs_f64() * 1e3,
            );
            actix::System::current().stop();
            return;
        }
        println!(
            "| {n} | {:.0} | {:.2} | {:.2} | {:.2} | {:.1} | {:.1} |",
            n as f64 / elapsed.as_secs_f64(),
            percentile(&pop_latency, 0.5).as_secs_f64() * 1e3,
            percentile(&pop_latency, 0.99).as_secs_f64() * 1e3,
            percentile(&pop_latency, 1.0).as_secs_f64() * 1e3,
            idle.saturating_sub(base) as f64 / (2 * n) as f64 / 1024.0,
            active.saturating_sub(idle) as f64 / n as f64 / 1024.0,
        );
        actix::System::current().stop();
    });
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let sizes: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
    let five = args.iter().any(|a| a == "five");
    if let ([n], true) = (&sizes[..], std::env::var_os("BENCH_CHILD").is_some()) {
        run(*n, five);
        return;
    }
    if args.iter().any(|a| a == "flows") {
        let n = sizes.first().copied().unwrap_or(1_000);
        println!("| flow | N calls | completed calls/s | pop p50 ms | pop p99 ms |");
        println!("|---|---|---|---|---|");
        // A warm-up of each (not shown), then three rounds, alternating.
        for round in 0..4 {
            for flow in ["default", "five"] {
                let status = std::process::Command::new(std::env::current_exe().unwrap())
                    .args([n.to_string(), flow.to_owned()])
                    .env("BENCH_CHILD", "1")
                    .env("RUST_LOG", "warn")
                    .env_remove("BENCH_FLOW_ROWS")
                    .envs((round > 0).then_some(("BENCH_FLOW_ROWS", "1")))
                    .stdout(if round > 0 {
                        std::process::Stdio::inherit()
                    } else {
                        std::process::Stdio::null()
                    })
                    .status()
                    .unwrap();
                assert!(status.success(), "{flow} run with N = {n} failed");
            }
        }
        return;
    }
    let sizes = if sizes.is_empty() {
        vec![100, 1_000, 10_000]
    } else {
        sizes
    };
    println!(
        "| N calls | run | completed calls/s | pop p50 ms | pop p99 ms | pop max ms | KiB per idle channel | KiB per active call |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    // Per N: a warm-up run (not shown), then three, each in a fresh
    // process; then the spread of the completed rate over the three.
    for n in sizes {
        let mut rates = Vec::new();
        for run in 0..4 {
            let out = std::process::Command::new(std::env::current_exe().unwrap())
                .arg(n.to_string())
                .env("BENCH_CHILD", "1")
                .env("RUST_LOG", "warn")
                .stderr(std::process::Stdio::inherit())
                .output()
                .unwrap();
            assert!(out.status.success(), "run with N = {n} failed");
            if run == 0 {
                continue;
            }
            let row = String::from_utf8(out.stdout).unwrap();
            let row = row.trim();
            // "| N | calls/s | ..." as the child prints it.
            let cells: Vec<&str> = row.trim_matches('|').split('|').map(str::trim).collect();
            rates.push(cells[1].parse::<f64>().unwrap());
            println!("| {} | {run} | {} |", cells[0], cells[1..].join(" | "));
        }
        rates.sort_by(f64::total_cmp);
        println!(
            "| {n} | min / median / max | {:.0} / {:.0} / {:.0} | | | | | |",
            rates[0], rates[1], rates[2]
        );
    }
}
