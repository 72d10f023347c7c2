//! Timers 1–9 (1028): each runs a flow that has no caller (`set`,
//! `branch`, `time`) every period, e.g. to open and close the lines by
//! setting a global that the callers' flows read. Runs on the system
//! thread; a tick is one flow step, which never waits.

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;

use crate::clock::Clock;
use crate::deps::FlowHttp;
use crate::flow::{Flow, FlowBook, FlowRun, IvrAction, IvrInput, Node};
use crate::leg::ivr::with_env;
use crate::messages::timers::SetTimer;
use crate::refusal::Refusal;

/// Shortest period (the protocol's: above 100 ms).
pub const MIN_PERIOD: Duration = Duration::from_millis(101);

#[derive(Default)]
struct Slot {
    on: bool,
    period: Option<Duration>,
    flow: Option<String>,
    /// Bumped at every change: a tick armed before it does nothing.
    generation: u64,
    handle: Option<SpawnHandle>,
}

/// The nine timers.
pub struct FlowTimers {
    clock: Clock,
    flows: Arc<FlowBook>,
    http: Recipient<FlowHttp>,
    slots: [Slot; 9],
}

impl FlowTimers {
    pub fn new(clock: Clock, flows: Arc<FlowBook>, http: Recipient<FlowHttp>) -> Self {
        FlowTimers {
            clock,
            flows,
            http,
            slots: Default::default(),
        }
    }

    /// Carries a run on: an `http` node's request is made and the run
    /// steps on with its answer; anything else ends it.
    fn drive(
        &mut self,
        timer: usize,
        mut run: FlowRun,
        out: Vec<IvrAction>,
        ctx: &mut Context<Self>,
    ) {
        let Some(req) = out.into_iter().find_map(|a| match a {
            IvrAction::Http(r) => Some(r),
            _ => None,
        }) else {
            return;
        };
        let seq = req.seq;
        let ask = self.http.send(FlowHttp(req));
        ctx.spawn(ask.into_actor(self).map(move |res, act, ctx| {
            let result = res.unwrap_or_else(|_| Err("the HTTP worker is gone".into()));
            let now = act.clock.now();
            let input = IvrInput::HttpDone { seq, result };
            let out = with_env(&act.flows, now, &act.clock, |env| run.step(input, env));
            tracing::debug!(timer = timer + 1, ?out, "timer flow went on");
            act.drive(timer, run, out, ctx);
        }));
    }

    fn arm(&mut self, i: usize, ctx: &mut Context<Self>) {
        let slot = &self.slots[i];
        let (Some(period), true) = (slot.period, slot.on) else {
            return;
        };
        let generation = slot.generation;
        let sleep = self.clock.sleep(period);
        let h = ctx.spawn(sleep.into_actor(self).map(move |_, act, ctx| {
            if act.slots[i].generation != generation {
                return;
            }
            act.tick(i, ctx);
            act.arm(i, ctx);
        }));
        self.slots[i].handle = Some(h);
    }

    /// Runs the timer's flow once, on its current version.
    fn tick(&mut self, i: usize, ctx: &mut Context<Self>) {
        let Some(name) = self.slots[i].flow.clone() else {
            return;
        };
        let Some(flow) = self.flows.get(&name) else {
            tracing::warn!(timer = i + 1, flow = %name, "the timer's flow is gone; skipped");
            return;
        };
        let vars = [("timer".to_owned(), (i + 1).to_string())].into();
        let mut run = FlowRun::new(flow, vars);
        let now = self.clock.now();
        let out = with_env(&self.flows, now, &self.clock, |env| run.start(env));
        tracing::debug!(timer = i + 1, flow = %name, ?out, "timer flow ran");
        self.drive(i, run, out, ctx);
    }
}

/// Why `flow` cannot run without a caller: its first node that needs one.
pub fn callerless(flow: &Flow) -> Result<(), String> {
    for (id, node) in &flow.nodes {
        let kind = match node {
            Node::Set { .. }
            | Node::Branch { .. }
            | Node::Time { .. }
            | Node::Http { .. }
            | Node::Hangup => continue,
            Node::Play { .. } => "play",
            Node::Say { .. } => "say",
            Node::Menu { .. } => "menu",
            Node::Collect { .. } => "collect",
            Node::Queue { .. } => "queue",
            Node::Subflow { .. } => "subflow",
            Node::Transfer { .. } => "transfer",
            Node::Wait { .. } => "wait",
            Node::Voicemail { .. } => "voicemail",
        };
        return Err(format!(
            "flow `{}`, node `{id}` is a `{kind}`: a timer's flow has no caller (set, branch, time, http and hangup only)",
            flow.name
        ));
    }
    Ok(())
}

impl Actor for FlowTimers {
    type Context = Context<Self>;
}

impl Handler<SetTimer> for FlowTimers {
    type Result = Result<(), Refusal>;

    fn handle(&mut self, m: SetTimer, ctx: &mut Context<Self>) -> Self::Result {
        let i = usize::from(m.no)
            .checked_sub(1)
            .filter(|i| *i < 9)
            .ok_or_else(|| Refusal::invalid(format!("TimerNo {} is not 1 to 9", m.no)))?;
        if m.period.is_some_and(|p| p < MIN_PERIOD) {
            return Err(Refusal::invalid("Period must be above 100 ms"));
        }
        let flow = m.flow.filter(|f| !f.trim().is_empty());
        if let Some(name) = &flow {
            let f = self
                .flows
                .get(name)
                .ok_or_else(|| Refusal::invalid(format!("no flow `{name}`")))?;
            callerless(&f).map_err(Refusal::invalid)?;
        }
        let slot = &self.slots[i];
        let on = m.on.unwrap_or(slot.on);
        let period = m.period.or(slot.period);
        let name = flow.or_else(|| slot.flow.clone());
        if on && (period.is_none() || name.is_none()) {
            return Err(Refusal::invalid(format!(
                "timer {} has no {} yet: give it to turn the timer on",
                m.no,
                if period.is_none() { "Period" } else { "Flow" }
            )));
        }
        let slot = &mut self.slots[i];
        if let Some(h) = slot.handle.take() {
            ctx.cancel_future(h);
        }
        slot.generation += 1;
        slot.on = on;
        slot.period = period;
        slot.flow = name;
        tracing::info!(timer = m.no, on, ?period, flow = ?slot.flow, "timer set (1028)");
        self.arm(i, ctx);
        Ok(())
    }
}
