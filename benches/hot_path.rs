//! The per-call hot path, one call at a time: switch event (call in) ->
//! channel actor -> queue group -> agent actor -> encoded 6003 datagram on a
//! real UDP socket. Reports events per second and latency percentiles.
//! `cargo bench --bench hot_path` (add `-- 5000` for more iterations).

mod support;

use std::time::{Duration, Instant};

use spcti::sim::{SimAction, SimReply};
use support::{Bench, percentile};

fn main() {
    let iterations: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(2_000);
    actix::System::new().block_on(async move {
        let mut b = Bench::start(1).await;
        let mut latency = Vec::with_capacity(iterations);
        let t0 = Instant::now();
        for i in 0..iterations {
            let at = Instant::now();
            let SimReply::Call { ch, .. } = b.sim(SimAction::NewCall { caller: format!("{i}"), callee: "400".into() }).await else {
                panic!()
            };
            let (_, popped) = b.collect(6003, 1).await.remove(0);
            latency.push(popped.duration_since(at));
            // The caller gives up; the agent is ready again for the next one.
            b.sim(SimAction::Hangup { ch: ch.0 }).await;
            loop {
                let (m, _) = b.collect(6001, 1).await.remove(0);
                if matches!(m, spcti_protocol::Message::AgentStateChanged(ref s) if s.agent_state == spcti_protocol::AgentState::Ready) {
                    break;
                }
            }
        }
        let total = t0.elapsed();
        latency.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!("| iterations | call-in to 6003 per second | p50 ms | p90 ms | p99 ms | max ms |");
        println!("|---|---|---|---|---|---|");
        println!(
            "| {iterations} | {:.0} | {:.3} | {:.3} | {:.3} | {:.3} |",
            iterations as f64 / total.as_secs_f64(),
            ms(percentile(&latency, 0.5)),
            ms(percentile(&latency, 0.9)),
            ms(percentile(&latency, 0.99)),
            ms(percentile(&latency, 1.0)),
        );
        actix::System::current().stop();
    });
}
