//! The per-call hot path, one call at a time: switch event (call in) ->
//! channel actor -> queue group -> agent actor -> encoded 6003 datagram on a
//! real UDP socket. Latency is call-in to 6003 read by the bench; "cycles
//! per second" counts whole cycles (call-in, pop, hang-up, agent ready
//! again), not call-ins alone. 200 cycles of warm-up, then three measured
//! runs, each its own row. `cargo bench --bench hot_path` (add `-- 5000`
//! for more iterations per run).

mod support;

use std::time::Instant;

use spcti::sim::{SimAction, SimReply};
use support::{Bench, row};

fn main() {
    let iterations: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(2_000);
    actix::System::new().block_on(async move {
        let mut b = Bench::start(1).await;
        println!("| run | iterations | cycles per second | p50 ms | p90 ms | p99 ms | max ms |");
        println!("|---|---|---|---|---|---|---|");
        for run in 0..4 {
        // Run 0 is the warm-up: 200 cycles, not reported.
        let iterations = if run == 0 { 200 } else { iterations };
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
        if run == 0 {
            continue;
        }
        row(run, iterations, total, &mut latency);
        }
        actix::System::current().stop();
    });
}
