//! `TrunkActor`: one per trunk channel. It hosts the inbound call that
//! arrives on it (an [`InboundLeg`], inbound.rs), or, while a seat's placed
//! call holds it, relays what the far party does to that seat (seized.rs).
//! The actor delivers switch events, peer messages and timers to the core
//! and carries out what it returns.

use crate::refusal::Refusal;
use std::collections::HashMap;

use actix::prelude::*;
use spcti_protocol::monitor::ChannelStatus;
use spcti_protocol::{Cause, ChNum, ChType, ChannelState, TellGuid};

use crate::channel_host::{ChannelHost, KIND};
use crate::closing::{Closing, RECORDING_CLOSE_GUARD};
use crate::conference_actor::ConferenceActor;
use crate::deps::{Deps, LookupCustomer, StoreRecord};
use crate::leg::{CUSTOMER_LOOKUP_TIMEOUT, Flash, InboundLeg, LegEffect, Ringer, TransferTo};
use crate::messages::agent::{CallEnded, Connected, OfferWithdrawn, Offered, Transferred};
use crate::messages::channel::*;
use crate::messages::conference::{Close, Join};
use crate::messages::group::{CallAnswered, CallLeft, Enqueue, OfferVoid, QueuePlace};
use crate::messages::seat::{ConnectSeat, FarEndGone, Ring, StopRing};
use crate::messages::trunk::*;
use crate::messages::{AgentRef, ConferenceRef, TrunkRef};
use crate::supervision::{Restart, announce, contain, restart_now};
use crate::switch::{ChannelDesc, SwitchCommand, SwitchEvent};

mod flow;
mod inbound;
mod seized;

/// A trunk carrying a call a seat placed (or an inbound call sent outside):
/// the owner owns the call; the trunk relays what its far party does and
/// shows the call to monitors.
struct Seizure {
    owner: ChNum,
    guid: TellGuid,
    caller: String,
    callee: String,
    agent: Option<Ringer>,
    answered: bool,
    /// The far party left (its owner is told; this stops a late adoption).
    cleared: bool,
}

/// What the trunk carries.
enum Core {
    Inbound(Box<InboundLeg>),
    Seized(Box<Seizure>),
}

/// One trunk channel.
pub struct TrunkActor {
    desc: ChannelDesc,
    core: Core,
    deps: Deps,
    /// Agents this trunk is ringing or talking to.
    agents: HashMap<spcti_protocol::TelNum, AgentRef>,
    /// This actor's handle, made once (every queued call hands it to its
    /// group).
    me: Option<TrunkRef>,
    ring_timer: Option<SpawnHandle>,
    /// The call flow's timer (IVR menus, waits).
    flow_timer: Option<SpawnHandle>,
    /// The queue's announcement timer.
    announce_timer: Option<SpawnHandle>,
    /// The call's conference, while a supervisor is on it.
    conf: Option<ConferenceRef>,
    /// Agents' end-of-call notifications waiting for the recording the
    /// ending stopped to be closed (closing.rs).
    closing: Closing<LegEffect>,
    /// Restarting after a failure: the agents are told at once (the actor's
    /// timers and peers' handles do not survive the restart).
    restarting: bool,
}

impl TrunkActor {
    pub fn new(desc: ChannelDesc, deps: Deps) -> Self {
        TrunkActor {
            core: Self::fresh_core(&desc),
            desc,
            deps,
            agents: HashMap::new(),
            me: None,
            ring_timer: None,
            flow_timer: None,
            announce_timer: None,
            conf: None,
            closing: Closing::default(),
            restarting: false,
        }
    }

    fn fresh_core(desc: &ChannelDesc) -> Core {
        Core::Inbound(Box::new(InboundLeg::new(desc.ch)))
    }

    /// The state, as a 6012.
    pub fn status(&self) -> ChannelStatus {
        let view = self.view();
        let (tel_num, work_no, link_ch) = match &self.core {
            Core::Inbound(leg) => {
                let agent = leg.talking_to();
                (
                    agent.map(|a| a.agent.clone()),
                    agent.and_then(|a| a.work_no.clone()),
                    leg.link(),
                )
            }
            Core::Seized(z) => (
                z.agent.as_ref().map(|a| a.agent.clone()),
                z.agent.as_ref().and_then(|a| a.work_no.clone()),
                Some(z.owner).filter(|_| z.answered),
            ),
        };
        ChannelStatus {
            ch_num: self.desc.ch,
            ch_type: ChType::Trunk,
            state: view.state,
            tel_num,
            work_no,
            caller_no: view.caller,
            callee_no: view.callee,
            tell_guid: view.guid,
            link_ch,
            agent_state: None,
            show_state: String::new(),
            time: self.deps.clock.wall(),
        }
    }

    /// What is on the trunk, for queries.
    fn view(&self) -> ChannelView {
        match &self.core {
            Core::Inbound(leg) => {
                let call = leg.call();
                ChannelView {
                    ch: self.desc.ch,
                    state: leg.channel_state(),
                    caller: call.map(|c| c.caller.clone()).unwrap_or_default(),
                    callee: call.map(|c| c.callee.clone()).unwrap_or_default(),
                    guid: call.map(|c| c.guid),
                    call: None,
                }
            }
            Core::Seized(z) => ChannelView {
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
            },
        }
    }
}

impl ChannelHost for TrunkActor {
    fn deps(&self) -> &Deps {
        &self.deps
    }

    fn channel(&self) -> ChNum {
        self.desc.ch
    }

    /// Tells monitors the trunk's state.
    fn publish(&mut self) {
        self.deps.monitor.channel(self.status());
    }
}

impl Actor for TrunkActor {
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

impl Supervised for TrunkActor {
    /// After a failure the call on this trunk cannot be trusted: end it as
    /// the system (record written, switch channel released, peers told) and
    /// start over from a free trunk.
    fn restarting(&mut self, ctx: &mut Context<Self>) {
        let now = self.now();
        let clock = self.deps.clock.clone();
        let old = std::mem::replace(&mut self.core, Self::fresh_core(&self.desc));
        self.ring_timer = None;
        self.flow_timer = None;
        self.announce_timer = None;
        match old {
            Core::Inbound(mut leg) => {
                let mut fx = leg.abort(now, &clock);
                // What an earlier ending still held is told now too.
                fx.extend(self.closing.drain());
                self.restarting = true;
                let _ = contain(
                    self,
                    ctx,
                    |a| a.path(),
                    KIND,
                    None,
                    |act, ctx| act.leg_effects(fx, ctx),
                );
                self.restarting = false;
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
        }
        self.agents.clear();
    }
}

/// A switch event for this trunk.
impl Handler<SwitchEvent> for TrunkActor {
    type Result = ();
    fn handle(&mut self, ev: SwitchEvent, ctx: &mut Context<Self>) {
        self.run(ctx, |act, ctx| match (&act.core, ev) {
            // A recording this trunk's call stopped is closed: the agents
            // may hear the call ended now.
            (Core::Inbound(_), SwitchEvent::RecordDone { ch, .. }) => {
                let fx = act.closing.closed(ch);
                act.leg_effects(fx, ctx);
            }
            (Core::Inbound(_), ev) => act.inbound_event(ev, ctx),
            (Core::Seized(_), ev) => act.seized_event(ev),
        });
    }
}

/// What is on this trunk.
impl Handler<GetChannel> for TrunkActor {
    type Result = MessageResult<GetChannel>;
    fn handle(&mut self, _: GetChannel, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.view())
    }
}

/// Panic on purpose (fault injection).
impl Handler<Crash> for TrunkActor {
    type Result = ();
    fn handle(&mut self, _: Crash, ctx: &mut Context<Self>) {
        self.run(ctx, |_, _| panic!("crash requested"));
    }
}

/// The operator's restart: the call on the trunk is ended as after a
/// failure (see `restarting`), and the trunk starts free.
impl Handler<Restart> for TrunkActor {
    type Result = ();
    fn handle(&mut self, _: Restart, ctx: &mut Context<Self>) {
        restart_now(ctx, &self.deps.registry, self.path(), KIND);
    }
}

/// The operator's (or a supervisor's) release.
impl Handler<ForceRelease> for TrunkActor {
    type Result = Result<(), Refusal>;
    fn handle(&mut self, _: ForceRelease, ctx: &mut Context<Self>) -> Self::Result {
        let me = self.desc.ch;
        self.request(ctx, |act, ctx| {
            let now = act.now();
            let clock = act.deps.clock.clone();
            match &mut act.core {
                // The call belongs to whoever placed it.
                Core::Seized(z) => {
                    let owner = act
                        .deps
                        .channel(z.owner)
                        .ok_or(Refusal::state("no such call"))?;
                    owner.do_send(ForceRelease);
                    Ok(())
                }
                Core::Inbound(leg) => {
                    let fx = leg.release(now, &clock).map_err(Refusal::from)?;
                    tracing::info!(ch = %me, "call released by request");
                    act.leg_effects(fx, ctx);
                    Ok(())
                }
            }
        })
    }
}
