//! Containing failures: a panic in one actor's handler must not take down
//! any other actor or call.
//!
//! actix does not catch panics: one unwinding through an arbiter kills every
//! actor on it. So each handler runs its logic through [`contain`], which
//! catches the panic, records it, and stops the actor; its actix
//! `Supervisor` then restarts it (`Supervised::restarting` rebuilds state).

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};

use actix::prelude::*;

/// Where an actor stands in the tree, as operators see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActorHealth {
    /// Stable id without slashes: `channel:12`, `agent:8001`, `group:1`.
    pub path: String,
    pub kind: &'static str,
    pub restarts: u32,
    pub last_failure: Option<String>,
}

/// An actor failed (a handler panicked); it is being restarted.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct ActorFailed {
    pub path: String,
    pub kind: &'static str,
    pub reason: String,
}

/// An actor joined the tree.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct ActorStarted {
    pub path: String,
    pub kind: &'static str,
}

/// Lists the tree.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Vec<ActorHealth>")]
pub struct ListActors;

/// Keeps the health of every supervised actor.
#[derive(Debug, Default)]
pub struct Registry {
    actors: BTreeMap<String, ActorHealth>,
}

impl Actor for Registry {
    type Context = Context<Self>;
}

impl Handler<ActorStarted> for Registry {
    type Result = ();
    fn handle(&mut self, m: ActorStarted, _: &mut Context<Self>) {
        self.actors.entry(m.path.clone()).or_insert(ActorHealth {
            path: m.path,
            kind: m.kind,
            restarts: 0,
            last_failure: None,
        });
    }
}

impl Handler<ActorFailed> for Registry {
    type Result = ();
    fn handle(&mut self, m: ActorFailed, _: &mut Context<Self>) {
        let entry = self.actors.entry(m.path.clone()).or_insert(ActorHealth {
            path: m.path,
            kind: m.kind,
            restarts: 0,
            last_failure: None,
        });
        entry.restarts += 1;
        entry.last_failure = Some(m.reason);
    }
}

impl Handler<ListActors> for Registry {
    type Result = MessageResult<ListActors>;
    fn handle(&mut self, _: ListActors, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.actors.values().cloned().collect())
    }
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
