//! `ChannelActor`: one per switch channel. A trunk hosts an [`InboundLeg`];
//! a seat hosts a [`Seat`] phone. The actor delivers switch events, peer
//! messages and timers to the core and carries out what it returns.

use std::collections::HashMap;

use actix::prelude::*;
use spcti_protocol::monitor::ChannelStatus;
use spcti_protocol::{Cause, ChNum, ChType, ChannelState, GroupNo, TelNum, TellGuid};

use crate::agent_actor::{AgentActor, CallEnded, Connected, OfferWithdrawn, Offered};
use crate::clock::Mono;
use crate::deps::{Deps, LookupCustomer, SaveCallRecord, SaveRecording};
use crate::group_actor::{CallAnswered, CallLeft, Enqueue, OfferVoid};
use crate::leg::{CUSTOMER_LOOKUP_TIMEOUT, InboundLeg, LegEffect, Ringer};
use crate::router::SeatFeature;
use crate::seat::{DIGIT_TIMEOUT, Seat, SeatEffect};
use crate::supervision::{Restart, announce, contain, restart_now};
use crate::switch::{ChannelDesc, ChannelKind, SwitchCommand, SwitchEvent};

// ---- messages -------------------------------------------------------------

/// A group offers the waiting call on this trunk to agents.
#[derive(Message)]
#[rtype(result = "()")]
pub struct OfferCall {
    pub group: GroupNo,
    pub ringers: Vec<(Ringer, Addr<AgentActor>)>,
}

/// An offered agent could not take the call.
#[derive(Message)]
#[rtype(result = "()")]
pub struct OfferDeclined {
    pub agent: TelNum,
}

/// Trunk -> seat: ring for the call on `call`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Ring {
    pub call: ChNum,
    pub caller: String,
}

/// Trunk -> seat: stop ringing for `call`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct StopRing {
    pub call: ChNum,
}

/// Trunk -> seat: the far end of `call` is gone.
#[derive(Message)]
#[rtype(result = "()")]
pub struct FarEndGone {
    pub call: ChNum,
}

/// Trunk -> an off-hook seat: you are now connected to `call` (pick-up).
#[derive(Message)]
#[rtype(result = "()")]
pub struct ConnectSeat {
    pub call: ChNum,
}

/// Seat -> trunk: the seat ringing for you was lifted.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SeatAnswered {
    pub seat: ChNum,
}

/// Seat -> trunk: the seat connected to you hung up.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SeatHungUp {
    pub seat: ChNum,
}

/// Pick the ringing call on this trunk up to the picker's seat (connected
/// at once when `seat_lifted`, rung otherwise). Answers the caller's number.
#[derive(Message)]
#[rtype(result = "Result<String, String>")]
pub struct PickUpCall {
    pub picker: Ringer,
    pub agent: Addr<AgentActor>,
    pub seat_lifted: bool,
}

/// End whatever is on this channel (1027; 1022 on the target's call). A
/// seat connected to a call ends that call; a ringing seat stops ringing
/// (the call goes on to other agents).
#[derive(Message)]
#[rtype(result = "Result<(), String>")]
pub struct ForceRelease;

/// Trunk: the agent on `seat` only listens (`on`) or talks again (1016).
#[derive(Message)]
#[rtype(result = "Result<(), String>")]
pub struct MuteSeat {
    pub seat: ChNum,
    pub on: bool,
}

/// Seat: the call it is ringing for, and since when.
#[derive(Message)]
#[rtype(result = "Option<(ChNum, Mono)>")]
pub struct RingingFor;

/// A summary for queries: state, numbers, since.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelView {
    pub ch: ChNum,
    pub state: ChannelState,
    pub caller: String,
    pub callee: String,
    pub guid: Option<TellGuid>,
}

/// What is on this channel now.
#[derive(Message)]
#[rtype(result = "ChannelView")]
pub struct GetChannel;

/// Make the actor panic (fault drills and tests).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Crash;

// ---- the actor ------------------------------------------------------------

enum Core {
    Trunk(Box<InboundLeg>),
    Seat { seat: Seat, ext: TelNum },
}

/// One switch channel.
pub struct ChannelActor {
    desc: ChannelDesc,
    core: Core,
    deps: Deps,
    /// Agents this trunk is ringing or talking to.
    agents: HashMap<TelNum, Addr<AgentActor>>,
    ring_timer: Option<SpawnHandle>,
    digit_timer: Option<SpawnHandle>,
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
                    agent.map(|a| a.seat),
                )
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
        ChannelStatus {
            ch_num: self.desc.ch,
            ch_type,
            state,
            tel_num,
            work_no,
            caller_no: call.map(|c| c.caller.clone()).unwrap_or_default(),
            callee_no: call.map(|c| c.callee.clone()).unwrap_or_default(),
            tell_guid: call.map(|c| c.guid),
            link_ch,
            agent_state: None,
            show_state: String::new(),
            time: self.deps.clock.wall(),
        }
    }

    fn publish(&self) {
        self.deps.monitor.channel(self.status());
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
                        trunk: ctx.address(),
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
            Core::Seat { .. } => None,
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

    // -- seat ---------------------------------------------------------------

    fn seat_effects(&mut self, fx: Vec<SeatEffect>, ctx: &mut Context<Self>) {
        let me = self.desc.ch;
        for e in fx {
            match e {
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
                                if let Core::Seat { seat, .. } = &mut act.core {
                                    let fx = seat.digit_timeout();
                                    act.seat_effects(fx, ctx);
                                }
                            });
                        })));
                }
            }
        }
    }

    fn seat_event(&mut self, ev: SwitchEvent, ctx: &mut Context<Self>) {
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
            SwitchEvent::Dtmf { digits, .. } => seat.digits(&digits),
            _ => vec![],
        };
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
            Core::Seat { seat, .. } => {
                if let Some(call) = seat.call() {
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
                Core::Seat { .. } => return,
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
                seat.far_end_gone(m.call, now);
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
                let fx = leg.seat_hung_up(m.seat, now, &clock);
                act.leg_effects(fx, ctx);
            }
        });
    }
}

/// Pick this trunk's ringing call up to another seat.
impl Handler<PickUpCall> for ChannelActor {
    type Result = Result<String, String>;
    fn handle(&mut self, m: PickUpCall, ctx: &mut Context<Self>) -> Self::Result {
        let out = contain(
            self,
            ctx,
            |a| a.path(),
            KIND,
            None,
            |act, ctx| {
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
            },
        );
        out.unwrap_or_else(|| Err("the call failed".into()))
    }
}

/// The operator's (or a supervisor's) release.
impl Handler<ForceRelease> for ChannelActor {
    type Result = Result<(), String>;
    fn handle(&mut self, _: ForceRelease, ctx: &mut Context<Self>) -> Self::Result {
        let me = self.desc.ch;
        let out = contain(
            self,
            ctx,
            |a| a.path(),
            KIND,
            None,
            |act, ctx| {
                let now = act.now();
                let clock = act.deps.clock.clone();
                match &mut act.core {
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
            },
        );
        self.publish();
        out.unwrap_or_else(|| Err("internal error; the channel was restarted".into()))
    }
}

/// Mute or unmute the agent on this trunk's call.
impl Handler<MuteSeat> for ChannelActor {
    type Result = Result<(), String>;
    fn handle(&mut self, m: MuteSeat, ctx: &mut Context<Self>) -> Self::Result {
        let out = contain(
            self,
            ctx,
            |a| a.path(),
            KIND,
            None,
            |act, ctx| {
                let Core::Trunk(leg) = &mut act.core else {
                    return Err("not a trunk".to_owned());
                };
                let fx = leg.mute(m.seat, m.on).map_err(|e| e.0.to_owned())?;
                act.leg_effects(fx, ctx);
                Ok(())
            },
        );
        out.unwrap_or_else(|| Err("internal error; the channel was restarted".into()))
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
