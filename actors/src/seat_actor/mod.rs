//! `SeatActor`: one per seat channel (an agent's phone). It hosts the
//! [`Seat`] phone core and the keys pressed during a call
//! ([`InCallKeys`]) (phone.rs), and the calls the seat places, alone or as
//! a multi-party meeting (placed.rs). A call a trunk brings lives on the
//! trunk; the seat only rings for it and is connected to it.

use crate::refusal::Refusal;
use std::collections::HashMap;

use actix::prelude::*;
use spcti_protocol::monitor::ChannelStatus;
use spcti_protocol::{Cause, ChNum, ChType, ChannelState, TelNum, TellGuid};

use crate::channel_host::{ChannelHost, KIND};
use crate::clock::Mono;
use crate::closing::{Closing, RECORDING_CLOSE_GUARD};
use crate::conference_actor::ConferenceActor;
use crate::deps::{Deps, StoreRecord};
use crate::leg::Flash;
use crate::messages::agent::{CallEnded, Connected, OfferWithdrawn, Offered, OutboundResult};
use crate::messages::channel::*;
use crate::messages::conference::{Close, Join, Leave};
use crate::messages::router::{SeatFeature, SeatHook};
use crate::messages::seat::*;
use crate::messages::trunk::{Adopt, FreeTrunk, SeatFlash};
use crate::messages::{AgentRef, ConferenceRef};
use crate::outbound::{Far, Meeting, MeetingStep, Out, OutEffect, OutboundCall, Placed};
use crate::seat::{DIGIT_TIMEOUT, InCallKeys, Seat, SeatEffect};
use crate::supervision::{Restart, announce, contain, restart_now};
use crate::switch::{ChannelDesc, SwitchCommand, SwitchEvent};

mod phone;
mod placed;
mod watched;

/// One seat channel.
pub struct SeatActor {
    desc: ChannelDesc,
    ext: TelNum,
    seat: Seat,
    deps: Deps,
    digit_timer: Option<SpawnHandle>,
    /// The calls this seat places (one, or several in multi-party mode),
    /// the agent placing them, and each far end's no-answer timer.
    outs: Vec<OutboundCall>,
    out_agent: Option<AgentRef>,
    dial_timers: HashMap<ChNum, SpawnHandle>,
    /// The agents at the extensions this seat calls, by their channel.
    far_agents: HashMap<ChNum, AgentRef>,
    /// The multi-party call (1003 `Meeting=1`, 1033) while it lasts.
    meeting: Option<Meeting>,
    /// The multi-party call's conference, or the one a supervisor of the
    /// placed call opened.
    conf: Option<ConferenceRef>,
    /// A supervisor on the placed call (watched.rs), and its agent.
    watch: crate::watch::Watch,
    watcher: Option<AgentRef>,
    /// Whether the phone was last reported off its cradle.
    in_use: bool,
    /// Keys pressed during a call (transfer codes, or after a hook flash
    /// the extension to consult).
    keys: InCallKeys,
    /// The call it was last rung for or connected to, for the record of a
    /// phone left off-hook after it (tellmsg 5).
    last_call: Option<SeatCall>,
    /// What agents are to be told of a placed call's end, waiting for its
    /// recording (on this seat) to be closed (closing.rs).
    closing: Closing<placed::Tell>,
    /// Restarting after a failure: the agents are told at once.
    restarting: bool,
    /// The seat's phone cannot be rung (a SIP phone not registered).
    pub(super) unreachable: bool,
}

/// Who a seat's last call was with.
#[derive(Debug, Clone)]
struct SeatCall {
    guid: TellGuid,
    caller: String,
    callee: String,
}

impl SeatActor {
    pub fn new(desc: ChannelDesc, ext: TelNum, deps: Deps) -> Self {
        SeatActor {
            desc,
            ext,
            seat: Seat::OnHook,
            deps,
            digit_timer: None,
            outs: Vec::new(),
            out_agent: None,
            dial_timers: HashMap::new(),
            far_agents: HashMap::new(),
            meeting: None,
            conf: None,
            watch: Default::default(),
            watcher: None,
            in_use: false,
            keys: InCallKeys::default(),
            last_call: None,
            closing: Closing::default(),
            restarting: false,
            unreachable: false,
        }
    }

    /// The phone's state, and the channel it hears (if one).
    fn state(&self) -> (ChannelState, Option<ChNum>) {
        if !self.outs.is_empty() {
            let talking = self.outs.iter().find_map(|o| match &o.state {
                Out::Talking { call, .. } => Some(call.far.ch()),
                _ => None,
            });
            return match talking {
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
        }
        match &self.seat {
            Seat::OnHook => (ChannelState::Free, None),
            Seat::Ringing { .. } => (ChannelState::Ringing, None),
            Seat::OffHook { .. } | Seat::Dead { .. } => (ChannelState::Dialing, None),
            Seat::Connected { call, .. } => (ChannelState::Talking, Some(*call)),
        }
    }

    /// The state, as a 6012.
    pub fn status(&self) -> ChannelStatus {
        let (state, link_ch) = self.state();
        let placed = self.outs.first().and_then(|o| o.call());
        ChannelStatus {
            ch_num: self.desc.ch,
            ch_type: ChType::Seat,
            state,
            tel_num: Some(self.ext.clone()),
            work_no: None,
            caller_no: placed.map(|c| c.caller.clone()).unwrap_or_default(),
            callee_no: placed.map(|c| c.callee.clone()).unwrap_or_default(),
            tell_guid: placed.map(|c| c.guid),
            link_ch,
            agent_state: None,
            show_state: String::new(),
            time: self.deps.clock.wall(),
        }
    }
}

impl ChannelHost for SeatActor {
    fn deps(&self) -> &Deps {
        &self.deps
    }

    fn channel(&self) -> ChNum {
        self.desc.ch
    }

    /// Tells monitors the channel's state and, when the phone left or
    /// returned to its cradle, the agent sitting there (through the router,
    /// which knows who that is).
    fn publish(&mut self) {
        self.deps.monitor.channel(self.status());
        // Ringing is not in use: the ring may be the very offer the agent
        // is about to get (the seat is rung before the pop).
        let in_use = !matches!(self.seat, Seat::OnHook | Seat::Ringing { .. });
        if in_use != self.in_use {
            self.in_use = in_use;
            self.deps.topo().router.do_send(SeatHook {
                ext: self.ext.clone(),
                in_use,
            });
        }
    }
}

impl Actor for SeatActor {
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

impl Supervised for SeatActor {
    /// After a failure the seat's call cannot be trusted: the calls it
    /// placed are released; a call it was on is ended by its trunk as a
    /// system release (the agent did not hang up, its record must not say
    /// so). The phone starts over on its cradle.
    fn restarting(&mut self, ctx: &mut Context<Self>) {
        let seat = std::mem::replace(&mut self.seat, Seat::OnHook);
        self.digit_timer = None;
        self.keys.reset();
        // What an earlier ending still holds is told now: no event will
        // release it after the restart; and this ending tells at once.
        self.closing
            .drain()
            .into_iter()
            .for_each(placed::Tell::send);
        self.restarting = true;
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
                trunk.do_send(ForceRelease);
            }
        }
        self.restarting = false;
        self.switch(SwitchCommand::Clear {
            ch: self.desc.ch,
            cause: Cause(41),
        });
    }
}

/// A switch event for this seat.
impl Handler<SwitchEvent> for SeatActor {
    type Result = ();
    fn handle(&mut self, ev: SwitchEvent, ctx: &mut Context<Self>) {
        self.run(ctx, |act, ctx| match ev {
            // The recording of a call this seat placed is closed: the
            // agents may hear the call ended now.
            SwitchEvent::RecordDone { ch, .. } => {
                act.closing
                    .closed(ch)
                    .into_iter()
                    .for_each(placed::Tell::send);
            }
            SwitchEvent::PhoneRegistered { registered, .. } => {
                tracing::info!(seat = %act.ext, registered, "the seat's phone");
                act.unreachable = !registered;
                let mut set = act
                    .deps
                    .unreachable
                    .write()
                    .unwrap_or_else(|e| e.into_inner());
                if registered {
                    set.remove(&act.ext);
                } else {
                    set.insert(act.ext.clone());
                }
            }
            ev => act.seat_event(ev, ctx),
        });
    }
}

/// What is on this seat.
impl Handler<GetChannel> for SeatActor {
    type Result = MessageResult<GetChannel>;
    fn handle(&mut self, _: GetChannel, _: &mut Context<Self>) -> Self::Result {
        let (state, call) = match &self.seat {
            Seat::OnHook => (ChannelState::Free, None),
            Seat::Ringing { call, .. } => (ChannelState::Ringing, Some(*call)),
            Seat::OffHook { .. } | Seat::Dead { .. } => (ChannelState::Dialing, None),
            Seat::Connected { call, .. } => (ChannelState::Talking, Some(*call)),
        };
        MessageResult(ChannelView {
            ch: self.desc.ch,
            state,
            caller: String::new(),
            callee: String::new(),
            guid: None,
            call,
        })
    }
}

/// Panic on purpose (fault injection).
impl Handler<Crash> for SeatActor {
    type Result = ();
    fn handle(&mut self, _: Crash, ctx: &mut Context<Self>) {
        self.run(ctx, |_, _| panic!("crash requested"));
    }
}

/// The operator's restart: the seat's call is ended as after a failure
/// (see `restarting`), and the phone starts on its cradle.
impl Handler<Restart> for SeatActor {
    type Result = ();
    fn handle(&mut self, _: Restart, ctx: &mut Context<Self>) {
        restart_now(ctx, &self.deps.registry, self.path(), KIND);
    }
}

/// The operator's (or a supervisor's) release.
impl Handler<ForceRelease> for SeatActor {
    type Result = Result<(), Refusal>;
    fn handle(&mut self, _: ForceRelease, ctx: &mut Context<Self>) -> Self::Result {
        let me = self.desc.ch;
        self.request(ctx, |act, ctx| {
            if !act.outs.is_empty() {
                tracing::info!(ch = %me, "placed call released by request");
                act.out_op(ctx, None, |o, now, clock| o.release(now, clock));
                return Ok(());
            }
            match act.seat.clone() {
                // The call is the trunk's: ending it there writes its record
                // and tells everyone, this seat included.
                Seat::Connected { call, .. } => {
                    let trunk = act
                        .deps
                        .channel(call)
                        .ok_or(Refusal::state("no such call"))?;
                    trunk.do_send(ForceRelease);
                    Ok(())
                }
                Seat::Ringing { call, .. } => {
                    act.seat.stop_ring(call);
                    act.switch(SwitchCommand::Clear {
                        ch: me,
                        cause: Cause::NORMAL,
                    });
                    if let Some(trunk) = act.deps.channel(call) {
                        trunk.do_send(OfferDeclined {
                            agent: act.ext.clone(),
                            refused: None,
                        });
                    }
                    Ok(())
                }
                Seat::OffHook { .. } | Seat::Dead { .. } => {
                    // The phone stays lifted; it only hears nothing.
                    act.switch(SwitchCommand::Clear {
                        ch: me,
                        cause: Cause::NORMAL,
                    });
                    Ok(())
                }
                Seat::OnHook => Err(Refusal::state(format!("channel {me} is free"))),
            }
        })
    }
}
