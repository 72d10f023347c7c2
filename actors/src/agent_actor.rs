//! `AgentActor`: one per seat an agent has logged in at. Hosts an
//! [`AgentCore`], talks to the agent's desktop client (6001, 6003, 6004,
//! 6007, 6008) and keeps its groups told whether it can take a call.

use crate::refusal::Refusal;
use actix::prelude::*;
use spcti_protocol::event::{
    AgentStateChanged, CallConnected, CallResult, LocalHangup, RemoteHangup, ScreenPop,
};
use spcti_protocol::reply::{Ack, HeartbeatAck};
use spcti_protocol::{AgentState, ChNum, Message as Wire, TelNum};

use crate::agent::{Activity, AgentCore, Status};
use crate::deps::{AgentStateChange, Deps, SendToClient, StoreRecord};
use crate::messages::channel::OfferDeclined;
use crate::messages::group::{MemberLeft, MemberState};
use crate::supervision::{Restart, announce, contain, restart_now};

use crate::messages::agent::*;

// ---- the actor ------------------------------------------------------------

/// The agent at one seat.
pub struct AgentActor {
    core: AgentCore,
    deps: Deps,
    wrap_timer: Option<SpawnHandle>,
    /// Ends the pause after a refused ring.
    pause_timer: Option<SpawnHandle>,
    heartbeat_watch: Option<SpawnHandle>,
    /// Events caused by the client request being handled, held until its
    /// reply is sent (a client reads 9000 before the 6001 it caused).
    held_events: Option<Vec<Wire>>,
    /// The session the router was last told of (who may speak for the seat).
    told: Option<crate::access::Session>,
    /// Set by a restart: what the agent was doing is to be re-learnt.
    restarted: bool,
    /// This actor's handle, made once at start (groups are told it on every
    /// state change).
    me: Option<AgentRef>,
}

const KIND: &str = "agent";

impl AgentActor {
    pub fn new(tel: TelNum, seat: ChNum, deps: Deps) -> Self {
        let now = deps.clock.now();
        AgentActor {
            core: AgentCore::new(tel, seat, now),
            deps,
            wrap_timer: None,
            pause_timer: None,
            heartbeat_watch: None,
            held_events: None,
            told: None,
            restarted: false,
            me: None,
        }
    }

    /// Tells the router who is logged in here, when that changed: in the
    /// handler that changed it, so a client's next request already meets
    /// the new binding.
    fn tell_session(&mut self) {
        let now = match self.core.status {
            Status::Offline => None,
            _ => self.core.client.map(|addr| crate::access::Session {
                addr,
                work_no: self.core.work_no.clone(),
            }),
        };
        if now != self.told {
            self.told = now.clone();
            if let Some(topo) = self.deps.topology.get() {
                topo.router
                    .do_send(crate::messages::router::SessionChanged {
                        tel: self.core.tel.clone(),
                        session: now,
                    });
            }
        }
    }

    pub fn path(&self) -> String {
        format!("agent:{}", self.core.tel)
    }

    fn send(&mut self, message: impl Into<Wire>) {
        // While a client's request is handled, its events wait for the reply.
        if let Some(held) = &mut self.held_events {
            held.push(message.into());
            return;
        }
        if let Some(to) = self.core.client {
            self.deps.client.do_send(SendToClient {
                to,
                message: message.into(),
            });
        }
    }

    fn run<R>(
        &mut self,
        ctx: &mut Context<Self>,
        f: impl FnOnce(&mut Self, &mut Context<Self>) -> R,
    ) -> Option<R> {
        let registry = self.deps.registry.clone();
        contain(self, ctx, |a| a.path(), KIND, Some(&registry), f)
    }

    /// Applies a change to the core and tells everyone who must know, in the
    /// same handler (docs/architecture.md, rule 11).
    fn change(&mut self, ctx: &mut Context<Self>, f: impl FnOnce(&mut AgentCore)) {
        let before = (
            self.core.agent_state(),
            self.core.show_state.clone(),
            self.core.status,
        );
        let groups_before = self.core.groups.clone();
        f(&mut self.core);
        let after = (
            self.core.agent_state(),
            self.core.show_state.clone(),
            self.core.status,
        );
        for (g, _) in &groups_before {
            if !self.core.groups.iter().any(|(n, _)| n == g) || self.core.status == Status::Offline
            {
                if let Some(addr) = self.deps.group(*g) {
                    addr.do_send(MemberLeft {
                        tel: self.core.tel.clone(),
                    });
                }
            }
        }
        // The row first, then the event, as for call records.
        if before.2 != after.2 || before.1 != after.1 {
            self.save_state();
        }
        if before != after {
            let event = self.state_event();
            self.deps
                .monitor
                .agent(event.clone(), self.deps.clock.wall());
            self.send(event);
        }
        self.announce(ctx);
        self.tell_session();
    }

    /// At each midnight the day's counts start again; the groups hear of it.
    fn at_midnight(&mut self, ctx: &mut Context<Self>) {
        let midnight = self.deps.clock.sleep(self.deps.until_midnight());
        ctx.spawn(midnight.into_actor(self).map(|_, act, ctx| {
            let today = act.deps.today();
            act.run(ctx, |act, ctx| {
                if act.core.roll(today) {
                    act.announce(ctx);
                }
            });
            act.at_midnight(ctx);
        }));
    }

    fn save_state(&self) {
        let at = self.deps.clock.wall();
        let state = match self.core.status {
            Status::Ready => "ready",
            Status::Busy => "busy",
            Status::Offline => "offline",
        };
        let row = AgentStateChange {
            // A fresh id, not the time: two changes in the same instant
            // are two rows. It is stored with the record in the spool, so a
            // replay keeps it.
            key: format!("reg:{}:{}", self.core.tel, uuid::Uuid::new_v4().simple()),
            tel_num: self.core.tel.clone(),
            work_no: self.core.work_no.clone(),
            groups: self.core.groups.iter().map(|(g, _)| *g).collect(),
            state,
            show_state: self.core.show_state.clone(),
            client_addr: self.core.client,
            at,
        };
        self.deps
            .store
            .records
            .submit(StoreRecord::AgentState(Box::new(row)));
    }

    /// The agent's state as clients and monitors see it (6001).
    fn state_event(&self) -> AgentStateChanged {
        AgentStateChanged {
            tel_num: self.core.tel.clone(),
            work_no: self.core.work_no.clone(),
            agent_state: self.core.agent_state(),
            show_state: self.core.show_state.clone(),
        }
    }

    /// Tells each group whether this agent can take a call.
    fn announce(&mut self, ctx: &mut Context<Self>) {
        if self.core.status == Status::Offline {
            return;
        }
        for (g, priority) in &self.core.groups {
            if let Some(addr) = self.deps.group(*g) {
                let agent = self
                    .me
                    .get_or_insert_with(|| AgentRef::new(ctx.address()))
                    .clone();
                addr.do_send(MemberState {
                    tel: self.core.tel.clone(),
                    agent,
                    seat: self.core.seat,
                    work_no: self.core.work_no.clone(),
                    priority: *priority,
                    available: self.core.available(),
                    state: self.core.agent_state(),
                    idle_since: self.core.idle_since,
                    calls_today: self.core.calls_today,
                    talk_today: self.core.talk_today,
                });
            }
        }
    }

    fn watch_heartbeats(&mut self, ctx: &mut Context<Self>) {
        if self.heartbeat_watch.is_some() {
            return;
        }
        let interval = self.deps.settings.heartbeat;
        let sleep = self.deps.clock.sleep(interval);
        self.heartbeat_watch = Some(ctx.spawn(sleep.into_actor(self).map(move |_, act, ctx| {
            act.heartbeat_watch = None;
            act.run(ctx, |act, ctx| {
                let now = act.deps.clock.now();
                if act.core.heartbeat_lost(now, interval) {
                    tracing::info!(agent = %act.core.tel, "three heartbeats missed; logging out");
                    act.change(ctx, |c| c.logout());
                } else if act.core.status != Status::Offline && act.core.last_heartbeat.is_some() {
                    act.watch_heartbeats(ctx);
                }
            });
        })));
    }

    /// After a restart: the seat says whether the agent talks on a call;
    /// then every view (client, monitors, groups, metrics) is told the one
    /// rebuilt state at once, even where it did not change here (they still
    /// show what was true before the failure).
    fn relearn(&mut self, ctx: &mut Context<Self>) {
        let Some(seat) = self
            .deps
            .topology
            .get()
            .and_then(|_| self.deps.channel(self.core.seat))
        else {
            return;
        };
        let view = seat.send(crate::messages::channel::GetChannel);
        ctx.spawn(view.into_actor(self).map(|view, act, ctx| {
            act.run(ctx, |act, ctx| {
                let now = act.deps.clock.now();
                if let Ok(v) = view {
                    let on_call = v.state == spcti_protocol::ChannelState::Talking;
                    if let (true, Some(call), Status::Ready | Status::Busy) =
                        (on_call, v.call, act.core.status)
                    {
                        act.core.connected(call, now);
                    }
                }
                let event = act.state_event();
                act.deps.monitor.agent(event.clone(), act.deps.clock.wall());
                act.send(event);
                act.announce(ctx);
            });
        }));
    }

    /// Offers wait until `until` (a refused ring); then the groups hear the
    /// agent is free again.
    fn pause_offers(&mut self, until: crate::clock::Mono, ctx: &mut Context<Self>) {
        if let Some(h) = self.pause_timer.take() {
            ctx.cancel_future(h);
        }
        let sleep = self
            .deps
            .clock
            .sleep(until.saturating_sub(self.deps.clock.now()));
        self.pause_timer = Some(ctx.spawn(sleep.into_actor(self).map(|_, act, ctx| {
            act.pause_timer = None;
            act.run(ctx, |act, ctx| act.change(ctx, AgentCore::pause_over));
        })));
    }

    fn start_wrap_up(&mut self, until: crate::clock::Mono, ctx: &mut Context<Self>) {
        if let Some(h) = self.wrap_timer.take() {
            ctx.cancel_future(h);
        }
        let d = until.saturating_sub(self.deps.clock.now());
        let sleep = self.deps.clock.sleep(d);
        self.wrap_timer = Some(ctx.spawn(sleep.into_actor(self).map(|_, act, ctx| {
            act.wrap_timer = None;
            act.run(ctx, |act, ctx| {
                let now = act.deps.clock.now();
                act.change(ctx, |c| c.wrap_up_done(now));
            });
        })));
    }

    fn command(&mut self, m: ClientCommand, ctx: &mut Context<Self>) -> Wire {
        let now = self.deps.clock.now();
        let tel = Some(self.core.tel.clone());
        // Events go to where the client last spoke from.
        self.core.client = Some(m.from);
        match m.request {
            AgentRequest::Login {
                work_no,
                groups,
                show,
            } => {
                let before = self.held_events.as_ref().map_or(0, Vec::len);
                self.change(ctx, |c| c.login(work_no, groups, show, now));
                // A client that logs in (again, or taking the seat over from
                // another address) always learns the seat's state.
                if self.held_events.as_ref().map_or(0, Vec::len) == before {
                    self.send(self.state_event());
                }
                self.tell_session();
                let mut ack = Ack::ok(1001, tel);
                if let Some(t) = &ack.tel_num {
                    if self.deps.unreachable(t) {
                        ack.result_str =
                            "logged in; the seat's phone is not registered: no calls until it registers"
                                .into();
                    }
                }
                ack.into()
            }
            AgentRequest::Busy { show } => {
                if self.core.status == Status::Offline {
                    return Ack::failed(1002, tel, "not logged in: send 1001 first").into();
                }
                self.change(ctx, |c| c.set_busy(show));
                Ack::ok(1002, tel).into()
            }
            AgentRequest::Logout => {
                self.change(ctx, |c| c.logout());
                Ack::ok(1004, tel).into()
            }
            AgentRequest::Heartbeat => {
                self.core.heartbeat(now);
                if self.core.status != Status::Offline {
                    self.watch_heartbeats(ctx);
                }
                HeartbeatAck {
                    tel_num: self.core.tel.clone(),
                    agent_state: self.core.agent_state(),
                }
                .into()
            }
        }
    }
}

impl Actor for AgentActor {
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
        self.core.roll(self.deps.today());
        self.at_midnight(ctx);
        // After a restart: tell the groups again what survived, and learn
        // from the seat whether the agent is on a call.
        self.announce(ctx);
        if std::mem::take(&mut self.restarted) {
            self.relearn(ctx);
        }
    }
}

impl Supervised for AgentActor {
    /// The login survives a failure (status, groups, client address,
    /// counters); what the agent was doing is re-learnt from the calls.
    fn restarting(&mut self, _: &mut Context<Self>) {
        self.restarted = true;
        self.core.activity = Activity::Idle;
        self.core.paused_until = None;
        self.wrap_timer = None;
        self.pause_timer = None;
        self.heartbeat_watch = None;
    }
}

/// A client request (1001, 1002, 1004, 1099).
impl Handler<ClientCommand> for AgentActor {
    type Result = MessageResult<ClientCommand>;
    fn handle(&mut self, m: ClientCommand, ctx: &mut Context<Self>) -> Self::Result {
        let tel = Some(self.core.tel.clone());
        self.held_events = Some(Vec::new());
        let reply = self
            .run(ctx, |act, ctx| act.command(m, ctx))
            .unwrap_or_else(|| {
                Ack::failed(0, tel, "internal error; the agent was restarted, try again").into()
            });
        // The request came from the client's address (`command` made it
        // the client's): the gateway sends these there, after the reply.
        let then = self.held_events.take().unwrap_or_default();
        MessageResult(crate::messages::router::Answer { reply, then })
    }
}

/// A call is offered.
impl Handler<Offered> for AgentActor {
    type Result = ();
    fn handle(&mut self, m: Offered, ctx: &mut Context<Self>) {
        self.run(ctx, |act, ctx| {
            let now = act.deps.clock.now();
            if !m.pick_up && act.deps.unreachable(&act.core.tel) {
                // The seat's phone cannot be rung: no pop, the call goes on
                // to the next agent.
                tracing::info!(agent = %act.core.tel, "the seat's phone is not registered; offer declined");
                if let Some(trunk) = act.deps.channel(m.call) {
                    trunk.do_send(OfferDeclined {
                        agent: act.core.tel.clone(),
                        refused: None,
                    });
                }
                return;
            }
            let mut accepted = Ok(());
            act.change(ctx, |c| {
                accepted = if m.pick_up {
                    c.picking_up(m.call, now)
                } else {
                    c.offered(m.call, now)
                }
            });
            if let Err(why) = accepted {
                tracing::info!(agent = %act.core.tel, ?why, "offer declined");
                if let Some(trunk) = act.deps.channel(m.call) {
                    trunk.do_send(OfferDeclined {
                        agent: act.core.tel.clone(),
                        refused: None,
                    });
                }
                return;
            }
            act.send(ScreenPop {
                tel_num: act.core.tel.clone(),
                ch_num: m.call,
                caller_no: m.caller,
                callee_no: m.callee,
                group_no: m.group,
                tell_guid: m.guid,
                wait_s: m.waited.as_secs() as u32,
                cust_name: m.customer.name,
                cust_company: m.customer.company,
                cust_address: m.customer.address,
                cust_contact: m.customer.contact,
                extra: m.popup,
            });
        });
    }
}

/// The offer ended.
impl Handler<OfferWithdrawn> for AgentActor {
    type Result = ();
    fn handle(&mut self, m: OfferWithdrawn, ctx: &mut Context<Self>) {
        self.run(ctx, |act, ctx| {
            let leave = act.deps.settings.noanswerleave;
            let now = act.deps.clock.now();
            let mut pause = None;
            act.change(ctx, |c| {
                pause = c.offer_withdrawn(m.call, m.why, leave, now).ok().flatten();
            });
            if let Some(until) = pause {
                act.pause_offers(until, ctx);
            }
        });
    }
}

/// Connected to the call.
impl Handler<Connected> for AgentActor {
    type Result = ();
    fn handle(&mut self, m: Connected, ctx: &mut Context<Self>) {
        self.run(ctx, |act, ctx| {
            let now = act.deps.clock.now();
            act.change(ctx, |c| c.connected(m.call, now));
            act.send(CallConnected {
                tel_num: act.core.tel.clone(),
                ch_num: m.call,
                tell_guid: m.guid,
            });
        });
    }
}

/// The call ended.
impl Handler<CallEnded> for AgentActor {
    type Result = ();
    fn handle(&mut self, m: CallEnded, ctx: &mut Context<Self>) {
        self.run(ctx, |act, ctx| {
            let tel = act.core.tel.clone();
            if m.by_agent {
                act.send(LocalHangup { tel_num: tel });
            } else {
                act.send(RemoteHangup { tel_num: tel });
            }
            let now = act.deps.clock.now();
            let wrap = act
                .core
                .groups
                .iter()
                .filter_map(|(g, _)| act.deps.settings.wrap_up.get(g))
                .max()
                .copied()
                .unwrap_or_default();
            let mut until = None;
            act.change(ctx, |c| {
                until = c.call_ended(m.call, now, wrap).ok().flatten()
            });
            if let Some(until) = until {
                act.start_wrap_up(until, ctx);
            }
        });
    }
}

/// A call placed from the seat occupies the agent.
impl Handler<Placing> for AgentActor {
    type Result = Result<(), Refusal>;
    fn handle(&mut self, m: Placing, ctx: &mut Context<Self>) -> Self::Result {
        self.run(ctx, |act, ctx| {
            let now = act.deps.clock.now();
            let mut placed = Ok(());
            act.change(ctx, |c| placed = c.placing(m.call, now));
            placed.map_err(|r| match r {
                crate::agent::Refusal::NotAvailable(AgentState::Offline) => {
                    Refusal::NotLoggedIn(act.core.tel.clone())
                }
                _ => Refusal::AlreadyOnCall,
            })
        })
        .unwrap_or(Err(Refusal::Internal))
    }
}

impl Handler<PlacingCancelled> for AgentActor {
    type Result = ();
    fn handle(&mut self, m: PlacingCancelled, ctx: &mut Context<Self>) {
        self.run(ctx, |act, ctx| {
            act.change(ctx, |c| c.placing_cancelled(m.call))
        });
    }
}

/// 6009.
impl Handler<OutboundResult> for AgentActor {
    type Result = ();
    fn handle(&mut self, m: OutboundResult, ctx: &mut Context<Self>) {
        self.run(ctx, |act, _| {
            act.send(CallResult {
                tel_num: act.core.tel.clone(),
                caller_no: m.caller,
                callee_no: m.callee,
                answered: m.answered,
                reason: m.cause,
                tell_guid: Some(m.guid),
            });
        });
    }
}

/// Remembers the transferred call.
impl Handler<Transferred> for AgentActor {
    type Result = ();
    fn handle(&mut self, m: Transferred, _: &mut Context<Self>) {
        self.core.transferred = Some(m.call);
    }
}

/// Offers wait until the phone is back on-hook.
impl Handler<SeatInUse> for AgentActor {
    type Result = ();
    fn handle(&mut self, m: SeatInUse, ctx: &mut Context<Self>) {
        self.run(ctx, |act, ctx| act.change(ctx, |c| c.seat_in_use = m.0));
    }
}

/// `*9` on the phone.
impl Handler<PhoneLogout> for AgentActor {
    type Result = Result<(), Refusal>;
    fn handle(&mut self, _: PhoneLogout, ctx: &mut Context<Self>) -> Self::Result {
        self.run(ctx, |act, ctx| {
            if act.core.status == Status::Offline {
                return Err(Refusal::state("not logged in"));
            }
            act.change(ctx, |c| c.logout());
            Ok(())
        })
        .unwrap_or(Err(Refusal::Internal))
    }
}

/// The agent, for the router.
impl Handler<GetAgent> for AgentActor {
    type Result = MessageResult<GetAgent>;
    fn handle(&mut self, _: GetAgent, _: &mut Context<Self>) -> Self::Result {
        MessageResult(AgentView {
            tel: self.core.tel.clone(),
            seat: self.core.seat,
            work_no: self.core.work_no.clone(),
            groups: self.core.groups.clone(),
            state: self.core.agent_state(),
            show_state: self.core.show_state.clone(),
            call: self.core.call(),
            client: self.core.client,
            transferred: self.core.transferred,
        })
    }
}

/// Panic on purpose.
impl Handler<CrashAgent> for AgentActor {
    type Result = ();
    fn handle(&mut self, _: CrashAgent, ctx: &mut Context<Self>) {
        self.run(ctx, |_, _| panic!("crash requested"));
    }
}

/// The operator's restart: the agent stays logged in at the same seat with
/// the same client address (the core survives; see `restarting`).
impl Handler<Restart> for AgentActor {
    type Result = ();
    fn handle(&mut self, _: Restart, ctx: &mut Context<Self>) {
        restart_now(ctx, &self.deps.registry, self.path(), KIND);
    }
}
