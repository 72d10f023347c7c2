//! Hang-up latency: an agent hangs up an answered call (the seat goes
//! on-hook in the sim) -> channel actors end the call and hand its records
//! to the spool -> the agent's 6007 read by the bench on a real UDP socket.
//! Since end-of-call events wait for the spool's `fdatasync`, this is where
//! durability costs; the timed region is only on-hook to 6007 read.
//! "Calls per second" counts whole answered calls (in, pop, answer, hang-up,
//! agent ready again), one at a time. 200 calls of warm-up, then three
//! measured runs, each its own row. `cargo bench --bench hang_up` (add
//! `-- 5000` for more calls per run).

mod support;

use std::time::Instant;

use spcti::sim::{SimAction, SimReply, SimState};
use spcti_protocol::{AgentState, Message};
use support::{Bench, row};

fn main() {
    let iterations: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(2_000);
    actix::System::new().block_on(async move {
        // One trunk (channel 0) and one seat (channel 1).
        let mut b = Bench::start(1).await;
        let ext = b.extensions[0].clone();
        println!("| run | calls | calls per second | hang-up to 6007 p50 ms | p90 ms | p99 ms | max ms |");
        println!("|---|---|---|---|---|---|---|");
        for run in 0..4 {
            // Run 0 is the warm-up: 200 calls, not reported.
            let iterations = if run == 0 { 200 } else { iterations };
            let mut latency = Vec::with_capacity(iterations);
            let t0 = Instant::now();
            for i in 0..iterations {
                let SimReply::Call { .. } = b
                    .sim(SimAction::NewCall {
                        caller: format!("{i}"),
                        callee: "400".into(),
                    })
                    .await
                else {
                    panic!("no call")
                };
                b.collect(6003, 1).await;
                // The agent lifts a ringing phone (a person needs far
                // longer than the ring takes to reach the switch).
                loop {
                    let seat = b.sim(SimAction::Get { ch: 1 }).await;
                    if matches!(seat, SimReply::Channel(c) if c.state == SimState::Ringing) {
                        break;
                    }
                    tokio::task::yield_now().await;
                }
                b.sim(SimAction::OffHook { ext: ext.clone() }).await;
                b.collect(6004, 1).await;
                let at = Instant::now();
                b.sim(SimAction::OnHook { ext: ext.clone() }).await;
                let (_, told) = b.collect(6007, 1).await.remove(0);
                latency.push(told.duration_since(at));
                loop {
                    let (m, _) = b.collect(6001, 1).await.remove(0);
                    if matches!(m, Message::AgentStateChanged(ref s) if s.agent_state == AgentState::Ready)
                    {
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
