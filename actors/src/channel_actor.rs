//! `ChannelActor`: one per switch channel. A trunk hosts an [`InboundLeg`];
//! a seat hosts a [`Seat`] phone. The actor delivers switch events, peer
//! messages and timers to the core and carries out what it returns.

use std::collections::HashMap;

use actix::prelude::*;
use spcti_protocol::monitor::ChannelStatus;
use spcti_protocol::{Cause, ChNum, ChType, ChannelState, TelNum, TellGuid};

use crate::clock::Mono;
use crate::conference_actor::ConferenceActor;
use crate::deps::{Deps, LookupCustomer, SaveCallRecord, SaveRecording};
use crate::leg::{
    CUSTOMER_LOOKUP_TIMEOUT, Flash, HOLD_PROMPT, InboundLeg, Leg, LegEffect, Ringer, TransferTo,
};
use crate::messages::agent::{
    CallEnded, Connected, OfferWithdrawn, Offered, OutboundResult, Transferred,
};
use crate::messages::conference::{Close, Join, Leave};
use crate::messages::group::{CallAnswered, CallLeft, Enqueue, OfferVoid};
use crate::messages::router::{SeatFeature, SeatHook};
use crate::messages::{AgentRef, ConferenceRef};
use crate::outbound::{Far, Out, OutEffect, OutboundCall, Placed};
use crate::seat::{DIGIT_TIMEOUT, Feature, Seat, SeatEffect};
use crate::supervision::{Restart, announce, contain, restart_now};
use crate::switch::{ChannelDesc, ChannelKind, SwitchCommand, SwitchEvent};

use crate::messages::channel::*;

// ---- the actor ------------------------------------------------------------

/// A trunk carrying a call a seat placed: the seat owns the call; the trunk
/// relays what its far party does and shows the call to monitors.
struct Seizure {
    owner: ChNum,
    guid: TellGuid,
    caller: String,
    callee: String,
    agent: Option<Ringer>,
    answered: bool,
    /// The far party left (its seat is told; this stops a late adoption).
    cleared: bool,
}

/// A seat's multi-party call: its legs meet in the seat's conference.
struct Meeting {
    /// Everyone is hung up when the agent hangs up.
    hallh: bool,
    /// The agent is still in the conference.
    agent_in: bool,
    /// The agent was told it is connected (6004 once, at the first answer).
    connected: bool,
}

enum Core {
    Trunk(Box<InboundLeg>),
    Seized(Box<Seizure>),
    Seat { seat: Seat, ext: TelNum },
}

/// One switch channel.
pub struct ChannelActor {
    desc: ChannelDesc,
    core: Core,
    deps: Deps,
    /// Agents this trunk is ringing or talking to.
    agents: HashMap<TelNum, AgentRef>,
    ring_timer: Option<SpawnHandle>,
    digit_timer: Option<SpawnHandle>,
    /// Seat: the calls this seat places (one, or several in multi-party
    /// mode), the agent placing them, and each far end's no-answer timer.
    outs: Vec<OutboundCall>,
    out_agent: Option<AgentRef>,
    dial_timers: HashMap<ChNum, SpawnHandle>,
    /// Seat: the agents at the extensions this seat calls, by their channel.
    far_agents: HashMap<ChNum, AgentRef>,
    /// Seat: the multi-party call (1003 `Meeting=1`, 1033) while it lasts.
    meeting: Option<Meeting>,
    /// Seat: whether the phone was last reported off its cradle.
    seat_in_use: bool,
    /// Seat: a star-code being dialed during a call, or after a hook flash
    /// the extension to consult.
    call_digits: String,
    /// Seat: a hook flash put the caller on hold; digits are a consult target.
    consult_dial: bool,
    /// Seat: flashes so far; only the trunk's answer to the latest counts.
    flash_seq: u32,
    /// Trunk: the call's conference, while a supervisor is on it.
    conf: Option<ConferenceRef>,
}

const KIND: &str = "channel";

impl ChannelActor {
    pub fn new(desc: ChannelDesc, deps: Deps) -> Self {
        let core = Self::fresh_core(&desc);
        ChannelActor {
            desc,
            core,
            deps,
            agents: HashMap::new(),
            ring_timer: None,
            digit_timer: None,
            outs: Vec::new(),
            out_agent: None,
            dial_timers: HashMap::new(),
            far_agents: HashMap::new(),
            meeting: None,
            seat_in_use: false,
            call_digits: String::new(),
            consult_dial: false,
            flash_seq: 0,
            conf: None,
        }
    }

    fn fresh_core(desc: &ChannelDesc) -> Core {
        match (desc.kind, &desc.ext) {
            (ChannelKind::Seat, Some(ext)) => Core::Seat {
                seat: Seat::OnHook,
                ext: ext.clone(),
            },
            _ => Core::Trunk(Box::new(InboundLeg::new(desc.ch))),
        }
    }

    /// The supervision path: `channel:12`.
    pub fn path(&self) -> String {
        format!("channel:{}", self.desc.ch)
    }

    /// Answers another actor's request: the work runs contained (a panic
    /// restarts this channel, is reported to supervision and answered as an
    /// error), and monitors see what it changed.
    fn request<R>(
        &mut self,
        ctx: &mut Context<Self>,
        f: impl FnOnce(&mut Self, &mut Context<Self>) -> Result<R, String>,
    ) -> Result<R, String> {
        let registry = self.deps.registry.clone();
        let out = contain(self, ctx, |a| a.path(), KIND, Some(&registry), f);
        self.publish();
        out.unwrap_or_else(|| Err("internal error; the channel was restarted".into()))
    }

    fn now(&self) -> Mono {
        self.deps.clock.now()
    }

    fn switch(&self, cmd: SwitchCommand) {
        self.deps.switch.do_send(cmd);
    }

    fn run(&mut self, ctx: &mut Context<Self>, f: impl FnOnce(&mut Self, &mut Context<Self>)) {
        let registry = self.deps.registry.clone();
        contain(self, ctx, |a| a.path(), KIND, Some(&registry), f);
        // Every change goes through here: monitors see it as it happens.
        self.publish();
    }

    /// The state, as a 6012.
    pub fn status(&self) -> ChannelStatus {
        let (ch_type, state, call, tel_num, work_no, link_ch) = match &self.core {
            Core::Trunk(leg) => {
                let agent = leg.talking_to();
                (
                    ChType::Trunk,
                    leg.channel_state(),
                    leg.call(),
                    agent.map(|a| a.agent.clone()),
                    agent.and_then(|a| a.work_no.clone()),
                    leg.link(),
                )
            }
            Core::Seized(z) => (
                ChType::Trunk,
                if z.answered {
                    ChannelState::Talking
                } else {
                    ChannelState::Dialing
                },
                None,
                z.agent.as_ref().map(|a| a.agent.clone()),
                z.agent.as_ref().and_then(|a| a.work_no.clone()),
                Some(z.owner).filter(|_| z.answered),
            ),
            Core::Seat { ext, .. } if !self.outs.is_empty() => {
                let talking = self.outs.iter().find_map(|o| match &o.state {
                    Out::Talking { call, .. } => Some(call.far.ch()),
                    _ => None,
                });
                let (state, link) = match talking {
                    // In a conference the seat hears no single channel.
                    Some(far) => (
                        ChannelState::Talking,
                        Some(far).filter(|_| self.meeting.is_none()),
                    ),
                    None if self
                        .outs
                        .iter()
                        .any(|o| matches!(o.state, Out::Dialing { .. })) =>
                    {
                        (ChannelState::Dialing, None)
                    }
                    None => (ChannelState::Ringing, None),
                };
                (ChType::Seat, state, None, Some(ext.clone()), None, link)
            }
            Core::Seat { seat, ext } => {
                let (state, link) = match seat {
                    Seat::OnHook => (ChannelState::Free, None),
                    Seat::Ringing { call, .. } => (ChannelState::Ringing, Some(*call)),
                    Seat::OffHook { .. } | Seat::Dead { .. } => (ChannelState::Dialing, None),
                    Seat::Connected { call, .. } => (ChannelState::Talking, Some(*call)),
                };
                (
                    ChType::Seat,
                    state,
                    None,
                    Some(ext.clone()),
                    None,
                    link.filter(|_| state == ChannelState::Talking),
                )
            }
        };
        let (caller_no, callee_no, tell_guid) =
            match (&self.core, self.outs.first().and_then(|o| o.call())) {
                (Core::Seized(z), _) => (z.caller.clone(), z.callee.clone(), Some(z.guid)),
                (_, Some(c)) => (c.caller.clone(), c.callee.clone(), Some(c.guid)),
                _ => (
                    call.map(|c| c.caller.clone()).unwrap_or_default(),
                    call.map(|c| c.callee.clone()).unwrap_or_default(),
                    call.map(|c| c.guid),
                ),
            };
        ChannelStatus {
            ch_num: self.desc.ch,
            ch_type,
            state,
            tel_num,
            work_no,
            caller_no,
            callee_no,
            tell_guid,
            link_ch,
            agent_state: None,
            show_state: String::new(),
            time: self.deps.clock.wall(),
        }
    }

    /// Tells monitors the channel's state and, for a seat whose phone left
    /// or returned to its cradle, the agent sitting there (through the
    /// router, which knows who that is).
    fn publish(&mut self) {
        self.deps.monitor.channel(self.status());
        if let Core::Seat { seat, ext } = &self.core {
            let in_use = *seat != Seat::OnHook;
            if in_use != self.seat_in_use {
                self.seat_in_use = in_use;
                self.deps.topo().router.do_send(SeatHook {
                    ext: ext.clone(),
                    in_use,
                });
            }
        }
    }

    // -- trunk --------------------------------------------------------------

    fn leg_effects(&mut self, fx: Vec<LegEffect>, ctx: &mut Context<Self>) {
        let me = self.desc.ch;
        for e in fx {
            match e {
                LegEffect::Switch(cmd) => self.switch(cmd),
                LegEffect::LookupCustomer(phone) => {
                    let lookup = self.deps.store.customers.send(LookupCustomer(phone));
                    ctx.spawn(lookup.into_actor(self).map(|res, act, ctx| {
                        act.customer_answer(res.ok().flatten(), ctx);
                    }));
                    // A slow database must not keep the caller from an agent.
                    let sleep = self.deps.clock.sleep(CUSTOMER_LOOKUP_TIMEOUT);
                    ctx.spawn(
                        sleep
                            .into_actor(self)
                            .map(|_, act, ctx| act.customer_answer(None, ctx)),
                    );
                }
                LegEffect::Enqueue {
                    group,
                    since,
                    tried,
                } => match self.deps.group(group) {
                    Some(g) => g.do_send(Enqueue {
                        ch: me,
                        since,
                        tried,
                        trunk: ChannelRef::new(ctx.address()),
                    }),
                    None => tracing::error!(ch = %me, %group, "no such group; call stays in IVR"),
                },
                LegEffect::LeaveQueue { group, abandoned } => {
                    if let Some(g) = self.deps.group(group) {
                        g.do_send(CallLeft { ch: me, abandoned });
                    }
                }
                LegEffect::AnsweredInGroup { group, waited } => {
                    if let Some(g) = self.deps.group(group) {
                        g.do_send(CallAnswered { ch: me, waited });
                    }
                }
                LegEffect::Offer {
                    ringer,
                    waited,
                    pick_up,
                } => self.offer_to(&ringer, waited, pick_up),
                LegEffect::Withdraw { ringer, rang_out } => {
                    if let Some(seat) = self.deps.channel(ringer.seat) {
                        seat.do_send(StopRing { call: me });
                    }
                    if let Some(agent) = self.agents.remove(&ringer.agent) {
                        agent.do_send(OfferWithdrawn { call: me, rang_out });
                    }
                }
                LegEffect::ConnectSeat { ringer } => {
                    if let Some(seat) = self.deps.channel(ringer.seat) {
                        seat.do_send(ConnectSeat { call: me });
                    }
                }
                LegEffect::AgentConnected { ringer } => {
                    if let (Some(agent), Some(call)) = (
                        self.agents.get(&ringer.agent),
                        self.leg().and_then(|l| l.call()),
                    ) {
                        agent.do_send(Connected {
                            call: me,
                            guid: call.guid,
                        });
                    }
                }
                LegEffect::AgentCallEnded { ringer, by_agent } => {
                    if !by_agent {
                        if let Some(seat) = self.deps.channel(ringer.seat) {
                            seat.do_send(FarEndGone { call: me });
                        }
                    }
                    if let Some(agent) = self.agents.remove(&ringer.agent) {
                        agent.do_send(CallEnded { call: me, by_agent });
                    }
                }
                LegEffect::AgentTransferred { ringer } => {
                    if let Some(seat) = self.deps.channel(ringer.seat) {
                        seat.do_send(FarEndGone { call: me });
                    }
                    if let Some(agent) = self.agents.remove(&ringer.agent) {
                        agent.do_send(CallEnded {
                            call: me,
                            by_agent: true,
                        });
                        agent.do_send(Transferred { call: me });
                    }
                }
                LegEffect::ConfJoin {
                    ch,
                    number,
                    listen_only,
                } => {
                    let deps = self.deps.clone();
                    let no = spcti_protocol::ConfNo(me.0);
                    let conf = self.conf.get_or_insert_with(|| {
                        ConferenceRef::new(ConferenceActor::new(no, deps, false).start())
                    });
                    conf.do_send(Join {
                        ch,
                        number,
                        listen_only,
                    });
                }
                LegEffect::ConfClose => {
                    if let Some(conf) = self.conf.take() {
                        conf.do_send(Close);
                    }
                }
                LegEffect::RingSupervisor { ringer } => {
                    let caller = self
                        .leg()
                        .and_then(|l| l.call())
                        .map(|c| c.caller.clone())
                        .unwrap_or_default();
                    if let Some(seat) = self.deps.channel(ringer.seat) {
                        seat.do_send(Ring { call: me, caller });
                    }
                }
                LegEffect::AgentCutOff { ringer } => {
                    if let Some(seat) = self.deps.channel(ringer.seat) {
                        seat.do_send(FarEndGone { call: me });
                    }
                    if let Some(agent) = self.agents.remove(&ringer.agent) {
                        agent.do_send(CallEnded {
                            call: me,
                            by_agent: false,
                        });
                    }
                }
                LegEffect::ConsultGone { ringer } => {
                    if let Some(seat) = self.deps.channel(ringer.seat) {
                        seat.do_send(StopRing { call: me });
                        seat.do_send(FarEndGone { call: me });
                    }
                }
                LegEffect::FreeTrunk(ch) => {
                    if let Some(t) = self.deps.channel(ch) {
                        t.do_send(FreeTrunk);
                    }
                }
                LegEffect::SeatOrphaned { seat } => {
                    if let Some(s) = self.deps.channel(seat) {
                        s.do_send(FarEndGone { call: me });
                    }
                }
                LegEffect::StartRingTimer(d) => {
                    if let Some(h) = self.ring_timer.take() {
                        ctx.cancel_future(h);
                    }
                    let sleep = self.deps.clock.sleep(d);
                    self.ring_timer = Some(ctx.spawn(sleep.into_actor(self).map(|_, act, ctx| {
                        act.ring_timer = None;
                        act.run(ctx, |act, ctx| {
                            if let Core::Trunk(leg) = &mut act.core {
                                let fx = leg.ring_timeout();
                                act.leg_effects(fx, ctx);
                            }
                        });
                    })));
                }
                LegEffect::CancelRingTimer => {
                    if let Some(h) = self.ring_timer.take() {
                        ctx.cancel_future(h);
                    }
                }
                LegEffect::Record(r) => self.deps.store.calls.do_send(SaveCallRecord(r)),
                LegEffect::Recording(r) => self.deps.store.recordings.do_send(SaveRecording(r)),
            }
        }
    }

    fn customer_answer(
        &mut self,
        customer: Option<crate::records::Customer>,
        ctx: &mut Context<Self>,
    ) {
        self.run(ctx, |act, ctx| {
            let now = act.now();
            if let Core::Trunk(leg) = &mut act.core {
                let fx = leg.customer(customer, now);
                act.leg_effects(fx, ctx);
            }
        });
    }

    fn leg(&self) -> Option<&InboundLeg> {
        match &self.core {
            Core::Trunk(leg) => Some(leg),
            Core::Seized(_) | Core::Seat { .. } => None,
        }
    }

    fn offer_to(&mut self, ringer: &Ringer, waited: std::time::Duration, pick_up: bool) {
        let me = self.desc.ch;
        let Some(call) = self.leg().and_then(|l| l.call()).cloned() else {
            return;
        };
        if let Some(agent) = self.agents.get(&ringer.agent) {
            agent.do_send(Offered {
                call: me,
                guid: call.guid,
                caller: call.caller.clone(),
                callee: call.callee.clone(),
                group: call.group,
                waited,
                customer: call.customer.clone().unwrap_or_default(),
                pick_up,
            });
        }
        if let Some(seat) = self.deps.channel(ringer.seat) {
            seat.do_send(Ring {
                call: me,
                caller: call.caller.clone(),
            });
        }
    }

    fn trunk_event(&mut self, ev: SwitchEvent, ctx: &mut Context<Self>) {
        let now = self.now();
        let clock = self.deps.clock.clone();
        let default_group = self.deps.settings.default_group;
        let Core::Trunk(leg) = &mut self.core else {
            return;
        };
        let fx = match ev {
            SwitchEvent::CallIn {
                guid,
                caller,
                callee,
                ..
            } => match leg.call_in(guid, caller, callee, now) {
                Ok(fx) => fx,
                Err(e) => {
                    tracing::warn!(ch = %self.desc.ch, "{}", e.0);
                    vec![]
                }
            },
            // The hold music loops while the caller waits on hold.
            SwitchEvent::PlayDone {
                completed: true, ..
            } if matches!(leg.leg, Leg::Held { .. }) => {
                vec![LegEffect::Switch(SwitchCommand::Play {
                    ch: leg.ch,
                    prompt: HOLD_PROMPT.into(),
                })]
            }
            SwitchEvent::PlayDone { .. } => match default_group {
                Some(g) => leg.prompt_done(g, now),
                None => {
                    tracing::error!(ch = %self.desc.ch, "no [[group]] configured; releasing the call");
                    leg.abort(now, &clock)
                }
            },
            SwitchEvent::Cleared { cause, .. } => leg.cleared(cause, now, &clock),
            _ => vec![],
        };
        self.leg_effects(fx, ctx);
    }

    // -- a seized trunk ------------------------------------------------------

    fn seized_event(&mut self, ev: SwitchEvent) {
        let me = self.desc.ch;
        let Core::Seized(z) = &mut self.core else {
            return;
        };
        let owner = self.deps.channel(z.owner);
        match ev {
            SwitchEvent::Answered { .. } => {
                z.answered = true;
                if let Some(o) = owner {
                    o.do_send(FarAnswered { far: me });
                }
            }
            SwitchEvent::Cleared { cause, .. } => {
                z.cleared = true;
                if let Some(o) = owner {
                    o.do_send(FarCleared { far: me, cause });
                }
            }
            SwitchEvent::CallIn { .. } => {
                tracing::warn!(ch = %me, "a call arrived on a trunk seized for an outbound call");
            }
            _ => {}
        }
    }

    // -- this seat's own call -------------------------------------------------

    /// Runs an input of the seat's placed calls — the leg whose far end is
    /// `far`, or every leg — and carries out what they return.
    fn out_op(
        &mut self,
        ctx: &mut Context<Self>,
        far: Option<ChNum>,
        mut f: impl FnMut(&mut OutboundCall, Mono, &crate::clock::Clock) -> Vec<OutEffect>,
    ) {
        let now = self.now();
        let clock = self.deps.clock.clone();
        let mut work = Vec::new();
        for o in &mut self.outs {
            let Some(placed) = o.call().cloned() else {
                continue;
            };
            if far.is_some_and(|f| placed.far.ch() != f) {
                continue;
            }
            let fx = f(o, now, &clock);
            work.push((placed, fx));
        }
        for (placed, fx) in work {
            let far = placed.far.ch();
            self.out_effects(&placed, fx, ctx);
            if self
                .outs
                .iter()
                .all(|o| o.call().is_none_or(|c| c.far.ch() != far))
            {
                if let Some(h) = self.dial_timers.remove(&far) {
                    ctx.cancel_future(h);
                }
                // However the leg ended, its called agent is not left ringing.
                if let Some(a) = self.far_agents.remove(&far) {
                    a.do_send(OfferWithdrawn {
                        call: self.desc.ch,
                        rang_out: false,
                    });
                }
            }
        }
        self.outs.retain(|o| !o.is_done());
        self.meeting_check(ctx);
        if self.outs.is_empty() && self.meeting.is_none() {
            self.out_agent = None;
        }
    }

    /// A multi-party call ends when its last leg does; without the agent,
    /// a single party left in it is let go.
    fn meeting_check(&mut self, ctx: &mut Context<Self>) {
        let me = self.desc.ch;
        let Some(m) = &self.meeting else {
            return;
        };
        if !m.agent_in && self.outs.len() == 1 {
            self.out_op(ctx, None, |o, now, clock| o.release(now, clock));
            return;
        }
        if !self.outs.is_empty() {
            return;
        }
        let m = self.meeting.take().expect("checked");
        if let Some(conf) = self.conf.take() {
            conf.do_send(Close);
        }
        if m.agent_in {
            let now = self.now();
            if let Core::Seat { seat, .. } = &mut self.core {
                seat.stop_ring(me);
                seat.far_end_gone(me, now);
            }
            if let Some(a) = &self.out_agent {
                a.do_send(CallEnded {
                    call: me,
                    by_agent: false,
                });
            }
        }
        self.out_agent = None;
    }

    /// The agent hung up on its multi-party call: with HALLH everyone is
    /// hung up; otherwise the parties talking go on without the agent.
    fn leave_meeting(&mut self, ctx: &mut Context<Self>) {
        let me = self.desc.ch;
        let Some(m) = &mut self.meeting else {
            return;
        };
        m.agent_in = false;
        let hallh = m.hallh;
        if let Some(a) = &self.out_agent {
            a.do_send(CallEnded {
                call: me,
                by_agent: true,
            });
        }
        if let Some(conf) = &self.conf {
            conf.do_send(Leave { ch: me });
        }
        self.out_op(ctx, None, |o, now, clock| {
            if hallh || !matches!(o.state, Out::Talking { .. }) {
                o.seat_hung_up(now, clock)
            } else {
                vec![]
            }
        });
    }

    fn out_effects(&mut self, call: &Placed, fx: Vec<OutEffect>, ctx: &mut Context<Self>) {
        let me = self.desc.ch;
        for e in fx {
            match e {
                OutEffect::Switch(cmd) => self.switch(cmd),
                OutEffect::RingFarSeat { seat, caller } => {
                    if let Some(s) = self.deps.channel(seat) {
                        s.do_send(Ring {
                            call: me,
                            caller: caller.clone(),
                        });
                    }
                    // A directed call: it pops and rings even a busy agent.
                    if let Some(a) = self.far_agents.get(&seat) {
                        a.do_send(Offered {
                            call: me,
                            guid: call.guid,
                            caller,
                            callee: call.callee.clone(),
                            group: None,
                            waited: std::time::Duration::ZERO,
                            customer: Default::default(),
                            pick_up: true,
                        });
                    }
                }
                OutEffect::FarSeatGone { seat, was_ringing } => {
                    if let Some(s) = self.deps.channel(seat) {
                        if was_ringing {
                            s.do_send(StopRing { call: me });
                        }
                        s.do_send(FarEndGone { call: me });
                    }
                    if let Some(a) = self.far_agents.remove(&seat) {
                        // Its offer ends, or the calling side hung up.
                        a.do_send(OfferWithdrawn {
                            call: me,
                            rang_out: false,
                        });
                        a.do_send(CallEnded {
                            call: me,
                            by_agent: false,
                        });
                    }
                }
                OutEffect::FreeTrunk(ch) => {
                    if let Some(t) = self.deps.channel(ch) {
                        t.do_send(FreeTrunk);
                    }
                }
                OutEffect::StartDialTimer(d) => {
                    let far = call.far.ch();
                    if let Some(h) = self.dial_timers.remove(&far) {
                        ctx.cancel_future(h);
                    }
                    let sleep = self.deps.clock.sleep(d);
                    let h = ctx.spawn(sleep.into_actor(self).map(move |_, act, ctx| {
                        act.dial_timers.remove(&far);
                        act.run(ctx, |act, ctx| {
                            act.out_op(ctx, Some(far), |o, now, clock| o.dial_timeout(now, clock))
                        });
                    }));
                    self.dial_timers.insert(far, h);
                }
                OutEffect::CancelDialTimer => {
                    if let Some(h) = self.dial_timers.remove(&call.far.ch()) {
                        ctx.cancel_future(h);
                    }
                }
                OutEffect::ConfJoin {
                    ch,
                    number,
                    listen_only,
                } => {
                    let deps = self.deps.clone();
                    let no = spcti_protocol::ConfNo(me.0);
                    let hallh = self.meeting.as_ref().is_some_and(|m| m.hallh);
                    let conf = self.conf.get_or_insert_with(|| {
                        ConferenceRef::new(ConferenceActor::new(no, deps, hallh).start())
                    });
                    conf.do_send(Join {
                        ch,
                        number,
                        listen_only,
                    });
                }
                OutEffect::ConfLeave { ch } => {
                    if let Some(conf) = &self.conf {
                        conf.do_send(Leave { ch });
                    }
                }
                // The called extension's agent is connected too (6004).
                OutEffect::CallResult {
                    answered: true,
                    cause,
                } if self.far_agents.contains_key(&call.far.ch()) => {
                    if let Some(a) = self.far_agents.get(&call.far.ch()) {
                        a.do_send(Connected {
                            call: me,
                            guid: call.guid,
                        });
                    }
                    if let Some(a) = &self.out_agent {
                        a.do_send(OutboundResult {
                            guid: call.guid,
                            caller: call.caller.clone(),
                            callee: call.callee.clone(),
                            answered: true,
                            cause,
                        });
                    }
                }
                OutEffect::CallResult { answered, cause } => {
                    if let Some(a) = &self.out_agent {
                        a.do_send(OutboundResult {
                            guid: call.guid,
                            caller: call.caller.clone(),
                            callee: call.callee.clone(),
                            answered,
                            cause,
                        });
                    }
                }
                OutEffect::AgentConnected => {
                    // In a multi-party call, once: the agent is on one call.
                    if let Some(m) = &mut self.meeting {
                        if std::mem::replace(&mut m.connected, true) {
                            continue;
                        }
                    }
                    if let Some(a) = &self.out_agent {
                        a.do_send(Connected {
                            call: me,
                            guid: call.guid,
                        });
                    }
                }
                // A multi-party call ends for the agent as a whole
                // (meeting_check, leave_meeting), not leg by leg.
                OutEffect::AgentEnded { .. } if self.meeting.is_some() => {}
                OutEffect::AgentEnded { by_agent } => {
                    let now = self.now();
                    if let Core::Seat { seat, .. } = &mut self.core {
                        // The phone stops ringing, or stays lifted hearing nothing.
                        seat.stop_ring(me);
                        seat.far_end_gone(me, now);
                    }
                    if let Some(a) = &self.out_agent {
                        a.do_send(CallEnded { call: me, by_agent });
                    }
                }
                OutEffect::Record(r) => self.deps.store.calls.do_send(SaveCallRecord(r)),
                OutEffect::Recording(r) => self.deps.store.recordings.do_send(SaveRecording(r)),
            }
        }
    }

    // -- seat ---------------------------------------------------------------

    fn seat_effects(&mut self, fx: Vec<SeatEffect>, ctx: &mut Context<Self>) {
        let me = self.desc.ch;
        for e in fx {
            match e {
                // This seat's own call rang it: the agent lifted to dial.
                SeatEffect::Answered(call) if call == me => {
                    self.out_op(ctx, None, |o, now, _| o.seat_lifted(now));
                }
                SeatEffect::HungUp(call) if call == me && self.meeting.is_some() => {
                    self.leave_meeting(ctx);
                }
                SeatEffect::HungUp(call) if call == me => {
                    self.out_op(ctx, None, |o, now, clock| o.seat_hung_up(now, clock));
                }
                SeatEffect::Answered(call) => {
                    if let Some(trunk) = self.deps.channel(call) {
                        trunk.do_send(SeatAnswered { seat: me });
                    }
                }
                SeatEffect::HungUp(call) => {
                    if let Some(trunk) = self.deps.channel(call) {
                        trunk.do_send(SeatHungUp { seat: me });
                    }
                }
                SeatEffect::Feature(feature) => {
                    if let Core::Seat { ext, .. } = &self.core {
                        self.deps.topo().router.do_send(SeatFeature {
                            ext: ext.clone(),
                            seat: me,
                            feature,
                        });
                    }
                }
                SeatEffect::ArmDigitTimer => {
                    if let Some(h) = self.digit_timer.take() {
                        ctx.cancel_future(h);
                    }
                    let sleep = self.deps.clock.sleep(DIGIT_TIMEOUT);
                    self.digit_timer =
                        Some(ctx.spawn(sleep.into_actor(self).map(|_, act, ctx| {
                            act.digit_timer = None;
                            act.run(ctx, |act, ctx| {
                                // A pause ends the number dialed after a flash.
                                if act.consult_dial && !act.call_digits.is_empty() {
                                    let ext = std::mem::take(&mut act.call_digits);
                                    act.seat_effects(
                                        vec![SeatEffect::Feature(Feature::Consult(ext))],
                                        ctx,
                                    );
                                } else if let Core::Seat { seat, .. } = &mut act.core {
                                    let fx = seat.digit_timeout();
                                    act.seat_effects(fx, ctx);
                                }
                            });
                        })));
                }
            }
        }
    }

    /// Hook flash during an inbound call: the trunk holds the caller (then
    /// digits name an extension to consult) or brings the agent back.
    fn hook_flash(&mut self, ctx: &mut Context<Self>) {
        let me = self.desc.ch;
        let Core::Seat {
            seat: Seat::Connected { call, .. },
            ..
        } = &self.core
        else {
            return;
        };
        let Some(trunk) = self.deps.channel(*call).filter(|_| *call != me) else {
            return;
        };
        let asked = trunk.send(SeatFlash { seat: me });
        // A flash toggles hold: the seat takes digits as the consult target
        // from now on, not from when the trunk's answer arrives (the agent
        // may already be dialing). The answer only corrects a refusal.
        self.consult_dial = !self.consult_dial;
        self.call_digits.clear();
        self.flash_seq = self.flash_seq.wrapping_add(1);
        let seq = self.flash_seq;
        ctx.spawn(asked.into_actor(self).map(move |res, act, _| {
            if act.flash_seq != seq {
                return; // a later flash decides
            }
            match res {
                Ok(Ok(flash)) => act.consult_dial = flash == Flash::Held,
                Ok(Err(why)) => {
                    act.consult_dial = false;
                    tracing::info!(seat = %me, %why, "hook flash ignored");
                }
                Err(_) => {}
            }
        }));
    }

    fn seat_event(&mut self, ev: SwitchEvent, ctx: &mut Context<Self>) {
        if let SwitchEvent::HookFlash { .. } = ev {
            return self.hook_flash(ctx);
        }
        let now = self.now();
        let Core::Seat { seat, .. } = &mut self.core else {
            return;
        };
        let fx = match ev {
            SwitchEvent::OffHook { .. } => seat.off_hook(now),
            SwitchEvent::OnHook { .. } => {
                if let Some(h) = self.digit_timer.take() {
                    ctx.cancel_future(h);
                }
                seat.on_hook()
            }
            // During a call only `*5<ext>#` and `*6<group>#` mean anything
            // here; other keys belong to the far end.
            SwitchEvent::Dtmf { digits, .. }
                if self.consult_dial && matches!(seat, Seat::Connected { .. }) =>
            {
                self.call_digits
                    .extend(digits.chars().filter(|c| c.is_ascii_digit() || *c == '#'));
                if self.call_digits.ends_with('#') || self.call_digits.len() > 30 {
                    let ext: String = std::mem::take(&mut self.call_digits)
                        .trim_end_matches('#')
                        .to_owned();
                    vec![SeatEffect::Feature(Feature::Consult(ext))]
                } else {
                    vec![SeatEffect::ArmDigitTimer]
                }
            }
            SwitchEvent::Dtmf { digits, .. } if matches!(seat, Seat::Connected { .. }) => {
                let mut fx = Vec::new();
                for c in digits.chars() {
                    if self.call_digits.is_empty() && c != '*' {
                        continue;
                    }
                    self.call_digits.push(c);
                    if c == '#' || self.call_digits.len() > 32 {
                        if let Some(f @ (Feature::TransferToExt(_) | Feature::TransferToGroup(_))) =
                            Seat::parse(&self.call_digits, false)
                        {
                            fx.push(SeatEffect::Feature(f));
                        }
                        self.call_digits.clear();
                    }
                }
                fx
            }
            SwitchEvent::Dtmf { digits, .. } => seat.digits(&digits),
            _ => vec![],
        };
        if !matches!(seat, Seat::Connected { .. }) {
            self.call_digits.clear();
            self.consult_dial = false;
        }
        self.seat_effects(fx, ctx);
    }
}

impl Actor for ChannelActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        announce(
            self,
            ctx,
            &self.deps.registry,
            &self.deps.clock,
            self.path(),
            KIND,
        );
        self.publish();
    }
}

impl Supervised for ChannelActor {
    /// After a failure the call on this channel cannot be trusted: end it as
    /// the system (record written, switch channel released, peers told) and
    /// start over from a free channel.
    fn restarting(&mut self, ctx: &mut Context<Self>) {
        let now = self.now();
        let clock = self.deps.clock.clone();
        let old = std::mem::replace(&mut self.core, Self::fresh_core(&self.desc));
        self.ring_timer = None;
        self.digit_timer = None;
        match old {
            Core::Trunk(mut leg) => {
                let fx = leg.abort(now, &clock);
                let _ = contain(
                    self,
                    ctx,
                    |a| a.path(),
                    KIND,
                    None,
                    |act, ctx| act.leg_effects(fx, ctx),
                );
            }
            Core::Seized(z) => {
                if let Some(o) = self.deps.channel(z.owner) {
                    o.do_send(FarCleared {
                        far: self.desc.ch,
                        cause: Cause(41),
                    });
                }
                self.switch(SwitchCommand::Clear {
                    ch: self.desc.ch,
                    cause: Cause(41),
                });
            }
            Core::Seat { seat, .. } => {
                if !self.outs.is_empty() {
                    let _ = contain(
                        self,
                        ctx,
                        |a| a.path(),
                        KIND,
                        None,
                        |act, ctx| act.out_op(ctx, None, |o, now, clock| o.release(now, clock)),
                    );
                    self.outs.clear();
                    self.out_agent = None;
                    self.dial_timers.clear();
                    self.meeting = None;
                    self.conf = None;
                } else if let Some(call) = seat.call() {
                    if let Some(trunk) = self.deps.channel(call) {
                        trunk.do_send(SeatHungUp { seat: self.desc.ch });
                    }
                }
                self.switch(SwitchCommand::Clear {
                    ch: self.desc.ch,
                    cause: Cause(41),
                });
            }
        }
        self.agents.clear();
    }
}

/// A switch event for this channel.
impl Handler<SwitchEvent> for ChannelActor {
    type Result = ();
    fn handle(&mut self, ev: SwitchEvent, ctx: &mut Context<Self>) {
        self.run(ctx, |act, ctx| match act.core {
            Core::Trunk(_) => act.trunk_event(ev, ctx),
            Core::Seized(_) => act.seized_event(ev),
            Core::Seat { .. } => act.seat_event(ev, ctx),
        });
    }
}

/// A group offers this trunk's call.
impl Handler<OfferCall> for ChannelActor {
    type Result = ();
    fn handle(&mut self, m: OfferCall, ctx: &mut Context<Self>) {
        self.run(ctx, |act, ctx| {
            let now = act.now();
            let timeout = act.deps.settings.ring_timeout;
            let ringers: Vec<Ringer> = m.ringers.iter().map(|(r, _)| r.clone()).collect();
            let result = match &mut act.core {
                Core::Trunk(leg) => leg.offer(ringers.clone(), now, timeout),
                Core::Seized(_) | Core::Seat { .. } => return,
            };
            match result {
                Ok(fx) => {
                    for (r, addr) in m.ringers {
                        act.agents.insert(r.agent, addr);
                    }
                    act.leg_effects(fx, ctx);
                }
                // The caller left (or was answered) while the group chose.
                Err(_) => {
                    if let Some(g) = act.deps.group(m.group) {
                        g.do_send(OfferVoid {
                            ch: act.desc.ch,
                            agents: ringers.into_iter().map(|r| r.agent).collect(),
                        });
                    }
                }
            }
        });
    }
}

/// An offered agent declined (went busy meanwhile, seat off-hook).
impl Handler<OfferDeclined> for ChannelActor {
    type Result = ();
    fn handle(&mut self, m: OfferDeclined, ctx: &mut Context<Self>) {
        self.run(ctx, |act, ctx| {
            if let Core::Trunk(leg) = &mut act.core {
                let fx = leg.declined(&m.agent);
                act.leg_effects(fx, ctx);
            }
            // The extension this seat calls could not ring: it is busy.
            let far = act
                .outs
                .iter()
                .find_map(|o| match o.call().map(|c| &c.far) {
                    Some(Far::Seat { ch, ext }) if *ext == m.agent => Some(*ch),
                    _ => None,
                });
            if let Some(ch) = far {
                act.out_op(ctx, Some(ch), |o, now, clock| {
                    o.far_cleared(ch, Cause::BUSY, now, clock)
                });
            }
        });
    }
}

/// Ring this seat.
impl Handler<Ring> for ChannelActor {
    type Result = ();
    fn handle(&mut self, m: Ring, ctx: &mut Context<Self>) {
        self.run(ctx, |act, _| {
            let now = act.now();
            let me = act.desc.ch;
            let Core::Seat { seat, ext } = &mut act.core else {
                return;
            };
            if seat.ring(m.call, now) {
                act.switch(SwitchCommand::Alert {
                    ch: me,
                    caller: m.caller,
                });
            } else if let Some(trunk) = act.deps.channel(m.call) {
                tracing::info!(seat = %ext, "seat is in use; offer declined");
                trunk.do_send(OfferDeclined { agent: ext.clone() });
            }
        });
    }
}

/// Stop ringing this seat.
impl Handler<StopRing> for ChannelActor {
    type Result = ();
    fn handle(&mut self, m: StopRing, ctx: &mut Context<Self>) {
        self.run(ctx, |act, _| {
            let me = act.desc.ch;
            if let Core::Seat { seat, .. } = &mut act.core {
                if seat.stop_ring(m.call) {
                    act.switch(SwitchCommand::Clear {
                        ch: me,
                        cause: Cause::NORMAL,
                    });
                }
            }
        });
    }
}

/// The far end of this seat's call left.
impl Handler<FarEndGone> for ChannelActor {
    type Result = ();
    fn handle(&mut self, m: FarEndGone, ctx: &mut Context<Self>) {
        self.run(ctx, |act, _| {
            let now = act.now();
            if let Core::Seat { seat, .. } = &mut act.core {
                if seat.far_end_gone(m.call, now) {
                    act.consult_dial = false;
                }
            }
        });
    }
}

/// This off-hook seat picked up `call`.
impl Handler<ConnectSeat> for ChannelActor {
    type Result = ();
    fn handle(&mut self, m: ConnectSeat, ctx: &mut Context<Self>) {
        self.run(ctx, |act, _| {
            let now = act.now();
            if let Core::Seat { seat, .. } = &mut act.core {
                seat.connect(m.call, now);
            }
        });
    }
}

/// A seat ringing for this trunk was lifted.
impl Handler<SeatAnswered> for ChannelActor {
    type Result = ();
    fn handle(&mut self, m: SeatAnswered, ctx: &mut Context<Self>) {
        self.run(ctx, |act, ctx| {
            let now = act.now();
            let clock = act.deps.clock.clone();
            if let Core::Trunk(leg) = &mut act.core {
                let fx = leg.seat_answered(m.seat, now, &clock);
                act.leg_effects(fx, ctx);
            } else {
                // The extension this seat calls answered.
                act.out_op(ctx, Some(m.seat), |o, now, clock| {
                    o.far_answered(m.seat, now, clock)
                });
            }
        });
    }
}

/// The seat talking on this trunk hung up.
impl Handler<SeatHungUp> for ChannelActor {
    type Result = ();
    fn handle(&mut self, m: SeatHungUp, ctx: &mut Context<Self>) {
        self.run(ctx, |act, ctx| {
            let now = act.now();
            let clock = act.deps.clock.clone();
            if let Core::Trunk(leg) = &mut act.core {
                let ring_timeout = act.deps.settings.ring_timeout;
                let fx = leg.seat_hung_up(m.seat, now, ring_timeout, &clock);
                act.leg_effects(fx, ctx);
            } else {
                // The called extension hung up: its agent did.
                if let Some(a) = act.far_agents.remove(&m.seat) {
                    a.do_send(CallEnded {
                        call: act.desc.ch,
                        by_agent: true,
                    });
                }
                act.out_op(ctx, Some(m.seat), |o, now, clock| {
                    o.far_cleared(m.seat, Cause::NORMAL, now, clock)
                });
            }
        });
    }
}

/// Pick this trunk's ringing call up to another seat.
impl Handler<PickUpCall> for ChannelActor {
    type Result = Result<String, String>;
    fn handle(&mut self, m: PickUpCall, ctx: &mut Context<Self>) -> Self::Result {
        self.request(ctx, |act, ctx| {
            let now = act.now();
            let clock = act.deps.clock.clone();
            let Core::Trunk(leg) = &mut act.core else {
                return Err("not a trunk".to_owned());
            };
            let caller = leg.call().map(|c| c.caller.clone()).unwrap_or_default();
            let ring_timeout = act.deps.settings.ring_timeout;
            let fx = leg
                .pick_up(m.picker.clone(), m.seat_lifted, now, ring_timeout, &clock)
                .map_err(|e| e.0.to_owned())?;
            act.agents.insert(m.picker.agent.clone(), m.agent);
            act.leg_effects(fx, ctx);
            Ok(caller)
        })
    }
}

/// The operator's (or a supervisor's) release.
impl Handler<ForceRelease> for ChannelActor {
    type Result = Result<(), String>;
    fn handle(&mut self, _: ForceRelease, ctx: &mut Context<Self>) -> Self::Result {
        let me = self.desc.ch;
        self.request(ctx, |act, ctx| {
            let now = act.now();
            let clock = act.deps.clock.clone();
            if !act.outs.is_empty() {
                tracing::info!(ch = %me, "placed call released by request");
                act.out_op(ctx, None, |o, now, clock| o.release(now, clock));
                return Ok(());
            }
            match &mut act.core {
                // The call belongs to the seat that placed it.
                Core::Seized(z) => {
                    let owner = act.deps.channel(z.owner).ok_or("no such call")?;
                    owner.do_send(ForceRelease);
                    Ok(())
                }
                Core::Trunk(leg) => {
                    let fx = leg.release(now, &clock).map_err(|e| e.0.to_owned())?;
                    tracing::info!(ch = %me, "call released by request");
                    act.leg_effects(fx, ctx);
                    Ok(())
                }
                Core::Seat { seat, ext } => match seat.clone() {
                    // The call is the trunk's: ending it there writes its
                    // record and tells everyone, this seat included.
                    Seat::Connected { call, .. } => {
                        let trunk = act.deps.channel(call).ok_or("no such call")?;
                        trunk.do_send(ForceRelease);
                        Ok(())
                    }
                    Seat::Ringing { call, .. } => {
                        seat.stop_ring(call);
                        act.deps.switch.do_send(SwitchCommand::Clear {
                            ch: me,
                            cause: Cause::NORMAL,
                        });
                        if let Some(trunk) = act.deps.channel(call) {
                            trunk.do_send(OfferDeclined { agent: ext.clone() });
                        }
                        Ok(())
                    }
                    Seat::OffHook { .. } | Seat::Dead { .. } => {
                        // The phone stays lifted; it only hears nothing.
                        act.deps.switch.do_send(SwitchCommand::Clear {
                            ch: me,
                            cause: Cause::NORMAL,
                        });
                        Ok(())
                    }
                    Seat::OnHook => Err(format!("channel {me} is free")),
                },
            }
        })
    }
}

/// Mute or unmute the agent on this trunk's call.
impl Handler<MuteSeat> for ChannelActor {
    type Result = Result<(), String>;
    fn handle(&mut self, m: MuteSeat, ctx: &mut Context<Self>) -> Self::Result {
        self.request(ctx, |act, ctx| {
            if !act.outs.is_empty() && m.seat != act.desc.ch {
                return Err("only the agent who placed the call can mute on it".to_owned());
            }
            if let Some(out) = act
                .outs
                .iter_mut()
                .find(|o| matches!(o.state, Out::Talking { .. }))
            {
                let fx = out.mute(m.on).map_err(str::to_owned)?;
                let placed = out.call().cloned().expect("talking");
                act.out_effects(&placed, fx, ctx);
                return Ok(());
            }
            let Core::Trunk(leg) = &mut act.core else {
                return Err("not a trunk".to_owned());
            };
            let fx = leg.mute(m.seat, m.on).map_err(|e| e.0.to_owned())?;
            act.leg_effects(fx, ctx);
            Ok(())
        })
    }
}

/// The call this seat rings for.
impl Handler<RingingFor> for ChannelActor {
    type Result = Option<(ChNum, Mono)>;
    fn handle(&mut self, _: RingingFor, _: &mut Context<Self>) -> Self::Result {
        match &self.core {
            Core::Seat {
                seat: Seat::Ringing { call, since },
                ..
            } => Some((*call, *since)),
            _ => None,
        }
    }
}

/// What is on this channel.
impl Handler<GetChannel> for ChannelActor {
    type Result = MessageResult<GetChannel>;
    fn handle(&mut self, _: GetChannel, _: &mut Context<Self>) -> Self::Result {
        let (state, call) = match &self.core {
            Core::Trunk(leg) => (leg.channel_state(), leg.call()),
            Core::Seized(z) => {
                return MessageResult(ChannelView {
                    ch: self.desc.ch,
                    state: if z.answered {
                        ChannelState::Talking
                    } else {
                        ChannelState::Dialing
                    },
                    caller: z.caller.clone(),
                    callee: z.callee.clone(),
                    guid: Some(z.guid),
                });
            }
            Core::Seat { seat, .. } => (
                match seat {
                    Seat::OnHook => ChannelState::Free,
                    Seat::Ringing { .. } => ChannelState::Ringing,
                    Seat::OffHook { .. } | Seat::Dead { .. } => ChannelState::Dialing,
                    Seat::Connected { .. } => ChannelState::Talking,
                },
                None,
            ),
        };
        MessageResult(ChannelView {
            ch: self.desc.ch,
            state,
            caller: call.map(|c| c.caller.clone()).unwrap_or_default(),
            callee: call.map(|c| c.callee.clone()).unwrap_or_default(),
            guid: call.map(|c| c.guid),
        })
    }
}

/// Transfer this trunk's call.
impl Handler<TransferCall> for ChannelActor {
    type Result = Result<(), String>;
    fn handle(&mut self, m: TransferCall, ctx: &mut Context<Self>) -> Self::Result {
        self.request(ctx, |act, ctx| {
            let now = act.now();
            let clock = act.deps.clock.clone();
            let ring_timeout = act.deps.settings.ring_timeout;
            let Core::Trunk(leg) = &mut act.core else {
                return Err("only inbound calls can be transferred yet".to_owned());
            };
            let target = match &m.to {
                TransferTo::Seat(r) => Some(r.agent.clone()),
                TransferTo::Group(_) | TransferTo::Outside { .. } => None,
            };
            let fx = leg
                .transfer(m.from_seat, m.to, now, ring_timeout, &clock)
                .map_err(|e| e.0.to_owned())?;
            if let (Some(t), Some(a)) = (target, m.agent) {
                act.agents.insert(t, a);
            }
            act.leg_effects(fx, ctx);
            Ok(())
        })
    }
}

/// Hook flash from the agent's seat: hold, or back to the caller.
impl Handler<SeatFlash> for ChannelActor {
    type Result = Result<Flash, String>;
    fn handle(&mut self, m: SeatFlash, ctx: &mut Context<Self>) -> Self::Result {
        self.request(ctx, |act, ctx| {
            let now = act.now();
            let clock = act.deps.clock.clone();
            let Core::Trunk(leg) = &mut act.core else {
                return Err("not a call a flash can hold".to_owned());
            };
            let (flash, fx) = leg.flash(m.seat, now, &clock).map_err(|e| e.0.to_owned())?;
            act.leg_effects(fx, ctx);
            Ok(flash)
        })
    }
}

/// The agent on hold consults an extension.
impl Handler<ConsultCall> for ChannelActor {
    type Result = Result<(), String>;
    fn handle(&mut self, m: ConsultCall, ctx: &mut Context<Self>) -> Self::Result {
        self.request(ctx, |act, ctx| {
            let Core::Trunk(leg) = &mut act.core else {
                return Err("the call is gone".to_owned());
            };
            let fx = leg
                .consult(m.from_seat, m.target.clone())
                .map_err(|e| e.0.to_owned())?;
            if let Some(a) = m.agent {
                act.agents.insert(m.target.agent.clone(), a);
            }
            act.leg_effects(fx, ctx);
            Ok(())
        })
    }
}

/// A supervisor joins the call.
impl Handler<Supervise> for ChannelActor {
    type Result = Result<spcti_protocol::ConfNo, String>;
    fn handle(&mut self, m: Supervise, ctx: &mut Context<Self>) -> Self::Result {
        self.request(ctx, |act, ctx| {
            let Core::Trunk(leg) = &mut act.core else {
                return Err("only inbound calls can be supervised yet".to_owned());
            };
            let no = leg.conf_no();
            let fx = leg
                .supervise(m.sup.clone(), m.listen_only, m.seat_lifted)
                .map_err(|e| e.0.to_owned())?;
            act.agents.insert(m.sup.agent.clone(), m.agent);
            act.leg_effects(fx, ctx);
            Ok(no)
        })
    }
}

/// A supervisor takes the call.
impl Handler<TakeOver> for ChannelActor {
    type Result = Result<(), String>;
    fn handle(&mut self, m: TakeOver, ctx: &mut Context<Self>) -> Self::Result {
        self.request(ctx, |act, ctx| {
            let now = act.now();
            let clock = act.deps.clock.clone();
            let ring_timeout = act.deps.settings.ring_timeout;
            let Core::Trunk(leg) = &mut act.core else {
                return Err("only inbound calls can be taken over yet".to_owned());
            };
            let fx = leg
                .take_over(m.sup.clone(), m.seat_lifted, now, ring_timeout, &clock)
                .map_err(|e| e.0.to_owned())?;
            act.agents.insert(m.sup.agent.clone(), m.agent);
            act.leg_effects(fx, ctx);
            Ok(())
        })
    }
}

/// Give a transferred call back to the agent who transferred it.
impl Handler<RetrieveCall> for ChannelActor {
    type Result = Result<String, String>;
    fn handle(&mut self, m: RetrieveCall, ctx: &mut Context<Self>) -> Self::Result {
        self.request(ctx, |act, ctx| {
            let now = act.now();
            let clock = act.deps.clock.clone();
            let ring_timeout = act.deps.settings.ring_timeout;
            let Core::Trunk(leg) = &mut act.core else {
                return Err("the call is gone".to_owned());
            };
            let caller = leg.call().map(|c| c.caller.clone()).unwrap_or_default();
            let fx = leg
                .retrieve(
                    m.by.clone(),
                    m.only_ringing,
                    m.seat_lifted,
                    now,
                    ring_timeout,
                    &clock,
                )
                .map_err(|e| e.0.to_owned())?;
            act.agents.insert(m.by.agent.clone(), m.agent);
            act.leg_effects(fx, ctx);
            Ok(caller)
        })
    }
}

/// The agent transfers the call this seat placed.
impl Handler<HandOver> for ChannelActor {
    type Result = Result<ChNum, String>;
    fn handle(&mut self, m: HandOver, ctx: &mut Context<Self>) -> Self::Result {
        self.request(ctx, |act, ctx| {
            let now = act.now();
            let clock = act.deps.clock.clone();
            if act.meeting.is_some() {
                return Err("a conference call cannot be transferred".into());
            }
            let Some(out) = act.outs.first_mut() else {
                return Err("this seat placed no call".into());
            };
            let (placed, fx) = out.hand_over(now, &clock).map_err(str::to_owned)?;
            let Far::Trunk(trunk) = placed.far else {
                unreachable!("hand_over takes trunk calls only")
            };
            act.out_effects(&placed, fx, ctx);
            act.outs.retain(|o| !o.is_done());
            if let Some(h) = act.dial_timers.remove(&trunk) {
                ctx.cancel_future(h);
            }
            act.out_agent = None;
            // From the trunk's side the customer is the caller, as for a
            // call that came in; its records still say `out`.
            let call = crate::leg::CallInfo {
                guid: placed.guid,
                caller: placed.dialed.clone(),
                callee: placed.caller.clone(),
                started: placed.started,
                group: act.deps.settings.default_group,
                queued_at: None,
                customer: Some(Default::default()),
                tried: Vec::new(),
                transferred_by: placed.agent.as_ref().map(|a| a.agent.clone()),
                returned: false,
                segments: 1,
                direction: crate::records::Direction::Out,
            };
            let t = act.deps.channel(trunk).ok_or("the trunk is gone")?;
            t.do_send(Adopt {
                call,
                to: m.to,
                agent: m.agent,
            });
            Ok(trunk)
        })
    }
}

/// This seized trunk takes over the call its seat placed.
impl Handler<Adopt> for ChannelActor {
    type Result = Result<(), String>;
    fn handle(&mut self, m: Adopt, ctx: &mut Context<Self>) -> Self::Result {
        self.request(ctx, |act, ctx| {
            match &act.core {
                Core::Seized(z) if z.cleared => {
                    // The customer hung up while the call was being handed over.
                    act.switch(SwitchCommand::Clear {
                        ch: act.desc.ch,
                        cause: Cause::NORMAL,
                    });
                    act.core = Self::fresh_core(&act.desc);
                    return Err("the caller hung up".into());
                }
                Core::Seized(_) => {}
                _ => return Err("the trunk carries no placed call".into()),
            }
            let now = act.now();
            let ring_timeout = act.deps.settings.ring_timeout;
            let mut leg = Box::new(InboundLeg::new(act.desc.ch));
            let target = match &m.to {
                TransferTo::Seat(r) => Some(r.agent.clone()),
                _ => None,
            };
            let fx = leg
                .adopt(m.call, m.to, now, ring_timeout)
                .map_err(|e| e.0.to_owned())?;
            act.core = Core::Trunk(leg);
            if let (Some(t), Some(a)) = (target, m.agent) {
                act.agents.insert(t, a);
            }
            act.leg_effects(fx, ctx);
            Ok(())
        })
    }
}

/// Take this trunk for a placed call.
impl Handler<Seize> for ChannelActor {
    type Result = bool;
    fn handle(&mut self, m: Seize, _: &mut Context<Self>) -> bool {
        let free =
            matches!(&self.core, Core::Trunk(leg) if leg.channel_state() == ChannelState::Free);
        if free {
            self.core = Core::Seized(Box::new(Seizure {
                owner: m.owner,
                guid: m.guid,
                caller: m.caller,
                callee: m.callee,
                agent: m.agent,
                answered: false,
                cleared: false,
            }));
            self.publish();
        }
        free
    }
}

/// The placed call on this trunk is over.
impl Handler<FreeTrunk> for ChannelActor {
    type Result = ();
    fn handle(&mut self, _: FreeTrunk, _: &mut Context<Self>) {
        if matches!(self.core, Core::Seized(_)) {
            self.core = Self::fresh_core(&self.desc);
            self.publish();
        }
    }
}

/// Place a call from this seat.
impl Handler<StartCall> for ChannelActor {
    type Result = Result<(), String>;
    fn handle(&mut self, m: StartCall, ctx: &mut Context<Self>) -> Self::Result {
        let me = self.desc.ch;
        self.request(ctx, |act, ctx| {
            let now = act.now();
            let joining = act.meeting.is_some() && m.call.meeting;
            if !act.outs.is_empty() && !joining {
                return Err("the seat is already placing a call".to_owned());
            }
            if act.meeting.as_ref().is_some_and(|x| !x.agent_in) {
                return Err("the agent has left its conference call".to_owned());
            }
            let Core::Seat { seat, ext } = &mut act.core else {
                return Err(format!("channel {me} is not a seat"));
            };
            let lifted = match seat {
                // Another party for the conference call under way.
                Seat::Connected { call, .. } if joining && *call == me => true,
                Seat::Ringing { call, .. } if joining && *call == me => false,
                Seat::OnHook => {
                    seat.ring(me, now);
                    false
                }
                Seat::OffHook { .. } | Seat::Dead { .. } => {
                    seat.connect(me, now);
                    true
                }
                Seat::Ringing { .. } | Seat::Connected { .. } => {
                    return Err(format!("{ext} is busy"));
                }
            };
            if let Some(h) = act.digit_timer.take() {
                ctx.cancel_future(h);
            }
            let meeting = m.call.meeting;
            let (call, mut fx) = OutboundCall::start(m.call, lifted, now);
            if joining {
                // The agent's phone already rings for the conference.
                fx.retain(|e| !matches!(e, OutEffect::Switch(SwitchCommand::Alert { .. })));
            } else if meeting {
                act.meeting = Some(Meeting {
                    hallh: m.hallh,
                    agent_in: true,
                    connected: false,
                });
            }
            let placed = call.call().cloned().expect("just started");
            if let (Far::Seat { ch, .. }, Some(a)) = (&placed.far, m.far_agent) {
                act.far_agents.insert(*ch, a);
            }
            act.outs.push(call);
            if act.out_agent.is_none() {
                act.out_agent = m.agent;
            }
            act.out_effects(&placed, fx, ctx);
            Ok(())
        })
    }
}

/// The trunk this seat's call went out on answered.
impl Handler<FarAnswered> for ChannelActor {
    type Result = ();
    fn handle(&mut self, m: FarAnswered, ctx: &mut Context<Self>) {
        self.run(ctx, |act, ctx| {
            let now = act.now();
            let clock = act.deps.clock.clone();
            // A trunk's call transferred outside, or a seat's placed call.
            if let Core::Trunk(leg) = &mut act.core {
                let fx = leg.outside_answered(m.far, now, &clock);
                act.leg_effects(fx, ctx);
            } else {
                act.out_op(ctx, Some(m.far), |o, now, clock| {
                    o.far_answered(m.far, now, clock)
                });
            }
        });
    }
}

/// The trunk this seat's call went out on cleared.
impl Handler<FarCleared> for ChannelActor {
    type Result = ();
    fn handle(&mut self, m: FarCleared, ctx: &mut Context<Self>) {
        self.run(ctx, |act, ctx| {
            let now = act.now();
            let clock = act.deps.clock.clone();
            if let Core::Trunk(leg) = &mut act.core {
                let fx = leg.outside_cleared(m.far, m.cause, now, &clock);
                act.leg_effects(fx, ctx);
            } else {
                act.out_op(ctx, Some(m.far), |o, now, clock| {
                    o.far_cleared(m.far, m.cause, now, clock)
                });
            }
        });
    }
}

/// Panic on purpose (fault injection).
impl Handler<Crash> for ChannelActor {
    type Result = ();
    fn handle(&mut self, _: Crash, ctx: &mut Context<Self>) {
        self.run(ctx, |_, _| panic!("crash requested"));
    }
}

/// The operator's restart: the call on the channel is ended as after a
/// failure (see `restarting`), and the channel starts free.
impl Handler<Restart> for ChannelActor {
    type Result = ();
    fn handle(&mut self, _: Restart, ctx: &mut Context<Self>) {
        restart_now(ctx, &self.deps.registry, self.path(), KIND);
    }
}
