//! `ChannelActor`: one per switch channel. A trunk hosts an [`InboundLeg`];
//! a seat hosts a [`Seat`] phone. The actor delivers switch events, peer
//! messages and timers to the core and carries out what it returns.

use std::collections::HashMap;

use actix::prelude::*;
use spcti_protocol::monitor::ChannelStatus;
use spcti_protocol::{Cause, ChNum, ChType, ChannelState, TelNum, TellGuid};

use crate::clock::Mono;
use crate::conference_actor::ConferenceActor;
use crate::deps::{Deps, LookupCustomer, StoreRecord};
use crate::leg::{
    CUSTOMER_LOOKUP_TIMEOUT, Flash, HOLD_PROMPT, InboundLeg, Leg, LegEffect, Ringer, TransferTo,
};
use crate::messages::agent::{
    CallEnded, Connected, OfferWithdrawn, Offered, OutboundResult, Transferred,
};
use crate::messages::conference::{Close, Join, Leave};
use crate::messages::group::{CallAnswered, CallLeft, Enqueue, OfferVoid};
use crate::messages::router::{SeatFeature, SeatHook};
use crate::messages::{AgentRef, ChannelRef, ConferenceRef};
use crate::outbound::{Far, Out, OutEffect, OutboundCall, Placed};
use crate::seat::{DIGIT_TIMEOUT, InCallKeys, Seat, SeatEffect};
use crate::supervision::{Restart, announce, contain, restart_now};
use crate::switch::{ChannelDesc, ChannelKind, SwitchCommand, SwitchEvent};

use crate::messages::channel::*;

mod inbound;
mod phone;
mod placed;

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
    /// This actor's handle, made once at start (every queued call hands it
    /// to its group).
    me: Option<ChannelRef>,
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
    /// Seat: keys pressed during a call (transfer codes, or after a hook
    /// flash the extension to consult).
    keys: InCallKeys,
    /// Seat: flashes so far; only the trunk's answer to the latest counts.
    flash_seq: u32,
    /// Trunk: the call's conference, while a supervisor is on it.
    conf: Option<ConferenceRef>,
    /// Seat: the call it was last rung for or connected to, for the
    /// record of a phone left off-hook after it (tellmsg 5).
    seat_call: Option<SeatCall>,
}

/// Who a seat's last call was with.
#[derive(Debug, Clone)]
pub(super) struct SeatCall {
    pub guid: TellGuid,
    pub caller: String,
    pub callee: String,
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
            me: None,
            ring_timer: None,
            digit_timer: None,
            outs: Vec::new(),
            out_agent: None,
            dial_timers: HashMap::new(),
            far_agents: HashMap::new(),
            meeting: None,
            seat_in_use: false,
            keys: InCallKeys::default(),
            flash_seq: 0,
            conf: None,
            seat_call: None,
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
            // Ringing is not in use: the ring may be the very offer the
            // agent is about to get (the seat is rung before the pop).
            let in_use = !matches!(seat, Seat::OnHook | Seat::Ringing { .. });
            if in_use != self.seat_in_use {
                self.seat_in_use = in_use;
                self.deps.topo().router.do_send(SeatHook {
                    ext: ext.clone(),
                    in_use,
                });
            }
        }
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
                    // The system ends the call, as when a trunk fails: the
                    // agent did not hang up (its record must not say so).
                    if let Some(trunk) = self.deps.channel(call) {
                        trunk.do_send(ForceRelease);
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

/// What is on this channel.
impl Handler<GetChannel> for ChannelActor {
    type Result = MessageResult<GetChannel>;
    fn handle(&mut self, _: GetChannel, _: &mut Context<Self>) -> Self::Result {
        let mut seat_call = None;
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
                    call: None,
                });
            }
            Core::Seat { seat, .. } => (
                match seat {
                    Seat::OnHook => ChannelState::Free,
                    Seat::Ringing { call, .. } => {
                        seat_call = Some(*call);
                        ChannelState::Ringing
                    }
                    Seat::OffHook { .. } | Seat::Dead { .. } => ChannelState::Dialing,
                    Seat::Connected { call, .. } => {
                        seat_call = Some(*call);
                        ChannelState::Talking
                    }
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
            call: seat_call,
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
