//! Whole calls under load: N concurrent simulated calls in process — queue,
//! ring, answer, talk with recording, hang up, call record written —
//! reporting completed calls per second, screen-pop latency and resident
//! memory per idle channel and per active call, for N = 100, 1,000, 10,000.
//!
//! The timed region runs from the first arrival to the moment the last
//! call's records are in the database (the spool empty); the pause taken
//! to read the memory of N active calls is not in it. There is no talk time
//! (the manual clock does not move), so recordings are headers only.
//!
//! Each N runs in its own process so one run's memory does not colour the
//! next. `cargo bench --bench calls` (add `-- 100` for one size).

mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use spcti::sim::{SimAction, SimReply};
use spcti_protocol::Message;
use support::{Bench, percentile, rss};

fn run(n: usize) {
    actix::System::new().block_on(async move {
        let base = rss();
        let mut b = Bench::start(n).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        let idle = rss();

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
                }
                other => panic!("{other:?}"),
            }
        }
        let pops = b.collect(6003, n).await;
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
        // Not timed: letting the allocator settle to read the memory.
        let paused = Instant::now();
        tokio::time::sleep(Duration::from_millis(200)).await;
        let active = rss();
        let pause = paused.elapsed();
        let written = b.running.db_status.written();
        for ext in b.extensions.clone() {
            b.sim(SimAction::OnHook { ext }).await;
        }
        b.collect(6007, n).await;
        // Done when every record of the calls is in the database: a call
        // record and a recording row per call at least.
        while b.running.db_status.written() < written + 2 * n as u64
            || b.running.db_status.pending() > 0
        {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let elapsed = t0.elapsed() - pause;
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
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    if let [n] = sizes[..] {
        run(n);
        return;
    }
    let sizes = if sizes.is_empty() {
        vec![100, 1_000, 10_000]
    } else {
        sizes
    };
    println!(
        "| N calls | completed calls/s | pop p50 ms | pop p99 ms | pop max ms | KiB per idle channel | KiB per active call |"
    );
    println!("|---|---|---|---|---|---|---|");
    for n in sizes {
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .arg(n.to_string())
            .env("RUST_LOG", "warn")
            .status()
            .unwrap();
        assert!(status.success(), "run with N = {n} failed");
    }
}
