//! Whole calls under load: N concurrent simulated calls in process — queue,
//! ring, answer, talk with recording, hang up, call record written —
//! reporting completed calls per second, screen-pop latency and resident
//! memory per idle channel and per active call, for N = 100, 1,000, 10,000.
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
        tokio::time::sleep(Duration::from_millis(200)).await;
        let active = rss();
        for ext in b.extensions.clone() {
            b.sim(SimAction::OnHook { ext }).await;
        }
        b.collect(6007, n).await;
        let elapsed = t0.elapsed();
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
