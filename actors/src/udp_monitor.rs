//! `UdpMonitor`: the UDP monitor platforms set with 1015. A platform gets
//! one 6012 per channel when it is set (so it starts from the truth, as a
//! WebSocket monitor does), then a 6012 datagram on every channel state
//! change, sent through the agent gateway's socket.
//!
//! It watches the monitor hub like any other watcher, once a platform is
//! set (and not before: nobody to tell); a platform that does
//! not read its datagrams costs nothing (UDP is fire and forget), and if
//! this actor itself falls behind the hub it skips what it missed and sends
//! a fresh snapshot rather than stalling anything.

use crate::refusal::Refusal;
use std::net::SocketAddr;
use std::sync::Arc;

use actix::prelude::*;
use spcti_protocol::Message as Wire;
use tokio::sync::broadcast::error::RecvError;

use crate::deps::{Deps, SendToClient};

/// How many platforms may be set at once.
pub const MAX_PLATFORMS: usize = 32;

/// A platform set again gets a fresh snapshot at most this often: one small
/// request must not make the server send a whole floor's worth of
/// datagrams again and again (amplification).
pub const SNAPSHOT_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

// ---- messages -------------------------------------------------------------

/// Add a platform; answers whether it was accepted (90991 MAC).
#[derive(Debug, Message)]
#[rtype(result = "Result<(), Refusal>")]
pub struct AddPlatform(pub SocketAddr);

/// A change on the floor (from the hub watcher).
#[derive(Debug, Message)]
#[rtype(result = "()")]
struct FloorChanged(Arc<crate::monitor::Change>);

/// The watcher fell behind: send every platform a fresh snapshot.
#[derive(Debug, Message)]
#[rtype(result = "()")]
struct Resync;

// ---- the actor ------------------------------------------------------------

/// The platforms and their feed.
pub struct UdpMonitor {
    deps: Deps,
    platforms: Vec<SocketAddr>,
    /// When each platform last got a snapshot.
    snapshots: std::collections::HashMap<SocketAddr, crate::clock::Mono>,
}

impl UdpMonitor {
    pub fn new(deps: Deps) -> Self {
        UdpMonitor {
            deps,
            platforms: Vec::new(),
            snapshots: Default::default(),
        }
    }

    fn snapshot_to(&self, to: SocketAddr) {
        for c in self.deps.monitor.channels() {
            self.deps.client.do_send(SendToClient {
                to,
                message: c.into(),
            });
        }
    }

    /// Watches the hub from the first platform on: with none set, nothing
    /// here wakes on each of the floor's changes (every call makes several).
    fn watch(&mut self, ctx: &mut Context<Self>) {
        let (_, mut rx) = self.deps.monitor.subscribe();
        let me = ctx.address();
        ctx.spawn(
            async move {
                loop {
                    match rx.recv().await {
                        Ok(m) => {
                            if matches!(m.message, Wire::ChannelStatus(_)) {
                                me.do_send(FloorChanged(m));
                            }
                        }
                        Err(RecvError::Lagged(n)) => {
                            tracing::warn!(
                                missed = n,
                                "UDP monitor feed fell behind; resending a snapshot"
                            );
                            me.do_send(Resync);
                        }
                        Err(RecvError::Closed) => break,
                    }
                }
            }
            .into_actor(self),
        );
    }
}

impl Actor for UdpMonitor {
    type Context = Context<Self>;
}

/// 1015.
impl Handler<AddPlatform> for UdpMonitor {
    type Result = Result<(), Refusal>;
    fn handle(&mut self, m: AddPlatform, ctx: &mut Context<Self>) -> Self::Result {
        let to = m.0;
        if to.ip().is_unspecified() || to.port() == 0 || to.ip().is_multicast() {
            return Err(Refusal::invalid(format!("{to} cannot receive datagrams")));
        }
        if !self.platforms.contains(&to) {
            if self.platforms.len() >= MAX_PLATFORMS {
                return Err(Refusal::state(format!(
                    "already {MAX_PLATFORMS} monitor platforms"
                )));
            }
            self.platforms.push(to);
            tracing::info!(platform = %to, "UDP monitor platform set");
            if self.platforms.len() == 1 {
                // Before the snapshot: no change falls between the two.
                self.watch(ctx);
            }
        }
        let now = self.deps.clock.now();
        let due = self
            .snapshots
            .get(&to)
            .is_none_or(|at| now.saturating_sub(*at) >= SNAPSHOT_EVERY);
        if due {
            self.snapshots.insert(to, now);
            self.snapshot_to(to);
        }
        Ok(())
    }
}

impl Handler<FloorChanged> for UdpMonitor {
    type Result = ();
    fn handle(&mut self, m: FloorChanged, _: &mut Context<Self>) {
        for to in &self.platforms {
            self.deps.client.do_send(SendToClient {
                to: *to,
                message: m.0.message.clone(),
            });
        }
    }
}

impl Handler<Resync> for UdpMonitor {
    type Result = ();
    fn handle(&mut self, _: Resync, _: &mut Context<Self>) {
        for to in &self.platforms {
            self.snapshot_to(*to);
        }
    }
}
