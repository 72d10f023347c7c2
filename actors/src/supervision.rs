//! Containing failures: a panic in one actor's handler must not take down
//! any other actor or call.
//!
//! actix does not catch panics: one unwinding through an arbiter kills every
//! actor on it. So each handler runs its logic through [`contain`], which
//! catches the panic, records it, and stops the actor; its actix
//! `Supervisor` then restarts it (`Supervised::restarting` rebuilds state).

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use actix::prelude::*;

use crate::clock::{Clock, Mono};

/// Failures further apart than this do not count towards the backoff.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(60);
/// The longest an actor waits before taking messages again.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// How long an actor waits after a restart: nothing after one failure in
/// [`FAILURE_WINDOW`], then 100 ms doubling with each further failure, up to
/// [`MAX_BACKOFF`]. A fault that repeats (a poisoned message, a bad
/// dependency) is not retried in a tight loop.
pub fn backoff(recent_failures: usize) -> Duration {
    match recent_failures {
        0 | 1 => Duration::ZERO,
        n => (Duration::from_millis(100) * 2u32.saturating_pow((n - 2).min(16) as u32))
            .min(MAX_BACKOFF),
    }
}

/// Where an actor stands in the tree, as operators see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActorHealth {
    /// Stable id without slashes: `channel:12`, `agent:8001`, `group:1`.
    pub path: String,
    pub kind: &'static str,
    pub restarts: u32,
    pub last_failure: Option<String>,
    /// `running`, `restarting` (failed, not yet started again) or
    /// `backing_off` (started again, waiting before it takes messages).
    pub state: &'static str,
    /// While backing off: how long the wait is.
    pub backoff: Option<Duration>,
}

/// An actor failed (a handler panicked); it is being restarted.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct ActorFailed {
    pub path: String,
    pub kind: &'static str,
    pub reason: String,
}

/// An actor (re)started; the answer is how long it must wait before
/// taking messages (see [`backoff`]).
#[derive(Debug, Clone, Message)]
#[rtype(result = "Duration")]
pub struct ActorStarted {
    pub path: String,
    pub kind: &'static str,
}

/// Lists the tree.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Vec<ActorHealth>")]
pub struct ListActors;

/// An operator asked for a restart.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct ActorRestarting {
    pub path: String,
    pub kind: &'static str,
}

/// Stop so the supervisor starts the actor again (state rebuilt by its
/// `restarting` hook): the operator's restart.
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "()")]
pub struct Restart;

#[derive(Debug)]
struct Entry {
    health: ActorHealth,
    failures: Vec<Mono>,
    backoff_until: Option<Mono>,
}

/// Keeps the health of every supervised actor.
#[derive(Debug)]
pub struct Registry {
    clock: Clock,
    actors: BTreeMap<String, Entry>,
}

impl Registry {
    pub fn new(clock: Clock) -> Self {
        Registry {
            clock,
            actors: BTreeMap::new(),
        }
    }

    fn entry(&mut self, path: &str, kind: &'static str) -> &mut Entry {
        self.actors.entry(path.to_owned()).or_insert_with(|| Entry {
            health: ActorHealth {
                path: path.to_owned(),
                kind,
                restarts: 0,
                last_failure: None,
                state: "running",
                backoff: None,
            },
            failures: Vec::new(),
            backoff_until: None,
        })
    }
}

impl Actor for Registry {
    type Context = Context<Self>;
}

impl Handler<ActorStarted> for Registry {
    type Result = MessageResult<ActorStarted>;
    fn handle(&mut self, m: ActorStarted, _: &mut Context<Self>) -> Self::Result {
        let now = self.clock.now();
        let e = self.entry(&m.path, m.kind);
        e.failures
            .retain(|t| now.saturating_sub(*t) < FAILURE_WINDOW);
        let wait = backoff(e.failures.len());
        if wait.is_zero() {
            e.health.state = "running";
            e.backoff_until = None;
        } else {
            tracing::warn!(actor = %m.path, failures = e.failures.len(), ?wait, "actor keeps failing; backing off");
            e.health.state = "backing_off";
            e.backoff_until = Some(now + wait);
        }
        e.health.backoff = (!wait.is_zero()).then_some(wait);
        MessageResult(wait)
    }
}

impl Handler<ActorFailed> for Registry {
    type Result = ();
    fn handle(&mut self, m: ActorFailed, _: &mut Context<Self>) {
        let now = self.clock.now();
        let e = self.entry(&m.path, m.kind);
        e.health.restarts += 1;
        e.health.last_failure = Some(m.reason);
        e.health.state = "restarting";
        e.failures.push(now);
    }
}

impl Handler<ActorRestarting> for Registry {
    type Result = ();
    fn handle(&mut self, m: ActorRestarting, _: &mut Context<Self>) {
        let e = self.entry(&m.path, m.kind);
        e.health.restarts += 1;
        e.health.state = "restarting";
    }
}

impl Handler<ListActors> for Registry {
    type Result = MessageResult<ListActors>;
    fn handle(&mut self, _: ListActors, _: &mut Context<Self>) -> Self::Result {
        let now = self.clock.now();
        for e in self.actors.values_mut() {
            if e.backoff_until.is_some_and(|u| now >= u) {
                e.backoff_until = None;
                e.health.state = "running";
                e.health.backoff = None;
            }
        }
        MessageResult(self.actors.values().map(|e| e.health.clone()).collect())
    }
}

/// The operator's restart: recorded, then the actor stops and its
/// supervisor starts it again (state rebuilt by its `restarting` hook).
pub fn restart_now<A>(
    ctx: &mut Context<A>,
    registry: &Addr<Registry>,
    path: String,
    kind: &'static str,
) where
    A: Actor<Context = Context<A>>,
{
    tracing::warn!(actor = %path, "restart requested by an operator");
    registry.do_send(ActorRestarting { path, kind });
    ctx.stop();
}

/// Announces an actor's (re)start from its `started` hook and, after
/// repeated failures, holds its mailbox for the registry's backoff.
pub fn announce<A>(
    actor: &A,
    ctx: &mut Context<A>,
    registry: &Addr<Registry>,
    clock: &Clock,
    path: String,
    kind: &'static str,
) where
    A: Actor<Context = Context<A>>,
{
    let clock = clock.clone();
    let asked = registry.send(ActorStarted { path, kind });
    ctx.wait(asked.into_actor(actor).then(move |wait, act, _| {
        let wait = wait.unwrap_or_default();
        let sleep = (!wait.is_zero()).then(|| clock.sleep(wait));
        async move {
            if let Some(s) = sleep {
                s.await;
            }
        }
        .into_actor(act)
    }));
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".to_owned())
}

/// Runs `f`; if it panics, reports the failure to `registry`, stops the
/// actor (its supervisor restarts it) and returns `None`.
pub fn contain<A, R>(
    actor: &mut A,
    ctx: &mut Context<A>,
    path: impl FnOnce(&A) -> String,
    kind: &'static str,
    registry: Option<&Addr<Registry>>,
    f: impl FnOnce(&mut A, &mut Context<A>) -> R,
) -> Option<R>
where
    A: Actor<Context = Context<A>>,
{
    match catch_unwind(AssertUnwindSafe(|| f(actor, ctx))) {
        Ok(r) => Some(r),
        Err(payload) => {
            let reason = panic_text(&*payload);
            let path = path(actor);
            tracing::error!(actor = %path, %reason, "actor failed; restarting it");
            if let Some(r) = registry {
                r.do_send(ActorFailed { path, kind, reason });
            }
            ctx.stop();
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_repeated_failures_and_is_capped() {
        assert_eq!(backoff(0), Duration::ZERO);
        assert_eq!(backoff(1), Duration::ZERO);
        assert_eq!(backoff(2), Duration::from_millis(100));
        assert_eq!(backoff(3), Duration::from_millis(200));
        assert_eq!(backoff(6), Duration::from_millis(1600));
        assert_eq!(backoff(50), MAX_BACKOFF);
    }
}
