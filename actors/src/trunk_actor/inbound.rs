//! A trunk's inbound call: the leg's effects carried out, and the requests
//! agents and seats make of the call (offers, pick-up, transfer, consult,
//! supervision, mute).

use super::*;

impl TrunkActor {
    pub(super) fn leg_effects(&mut self, mut fx: Vec<LegEffect>, ctx: &mut Context<Self>) {
        let me = self.desc.ch;
        // An ending that stopped a recording tells the agents once the
        // switch has closed the file (closing.rs).
        let stopped = fx.iter().find_map(|e| match e {
            LegEffect::Switch(SwitchCommand::StopRecord { ch }) => Some(*ch),
            _ => None,
        });
        if let Some(rec) = stopped.filter(|_| !self.restarting) {
            let (tell, now): (Vec<_>, Vec<_>) = fx.into_iter().partition(|e| {
                matches!(
                    e,
                    LegEffect::AgentCallEnded { .. }
                        | LegEffect::AgentTransferred { .. }
                        | LegEffect::AgentCutOff { .. }
                )
            });
            fx = now;
            if !tell.is_empty() {
                let id = self.closing.hold(rec, tell);
                let guard = actix::clock::sleep(RECORDING_CLOSE_GUARD);
                ctx.spawn(guard.into_actor(self).map(move |_, act, ctx| {
                    act.run(ctx, |act, ctx| {
                        let late = act.closing.expire(id);
                        if !late.is_empty() {
                            tracing::warn!(ch = %rec, "the switch never reported the recording closed; the agents are told the call ended");
                            act.leg_effects(late, ctx);
                        }
                    });
                }));
            }
        }
        // Records first: whoever hears of this call's end (the agent's
        // 6007) must find its records already handed to the spool.
        // (A stable sort: every other effect keeps its order.)
        fx.sort_by_key(|e| !matches!(e, LegEffect::Record(_) | LegEffect::Recording(_)));
        for e in fx {
            match e {
                LegEffect::Switch(cmd) => self.switch(cmd),
                LegEffect::LookupCustomer(phone) => {
                    // An embedded database answers here, without a thread
                    // hop (the screen pop's critical path, docs/performance.md).
                    let quick = self.deps.store.quick_customers.as_ref();
                    if let Some(customer) = quick.and_then(|q| q.customer(&phone)) {
                        if let Core::Inbound(leg) = &mut self.core {
                            let fx = leg.customer(customer, self.deps.clock.now());
                            self.leg_effects(fx, ctx);
                        }
                        continue;
                    }
                    let lookup = self.deps.store.customers.send(LookupCustomer(phone));
                    // On a store worker: the quiescence barrier waits for it.
                    let busy = crate::idle::busy();
                    ctx.spawn(lookup.into_actor(self).map(|res, act, ctx| {
                        drop(busy);
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
                    priority,
                } => match self.deps.group(group) {
                    Some(g) => g.do_send(Enqueue {
                        ch: me,
                        since,
                        tried,
                        priority,
                        trunk: self
                            .me
                            .get_or_insert_with(|| TrunkRef::new(ctx.address()))
                            .clone(),
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
                LegEffect::Withdraw { ringer, why } => {
                    if let Some(seat) = self.deps.seat(ringer.seat) {
                        seat.do_send(StopRing { call: me });
                    }
                    if let Some(agent) = self.agents.remove(&ringer.agent) {
                        agent.do_send(OfferWithdrawn { call: me, why });
                    }
                }
                LegEffect::ConnectSeat { ringer } => {
                    let call = self.leg().and_then(|l| l.call());
                    let (guid, caller) = (
                        call.map(|c| c.guid),
                        call.map(|c| c.caller.clone()).unwrap_or_default(),
                    );
                    if let Some(seat) = self.deps.seat(ringer.seat) {
                        seat.do_send(ConnectSeat {
                            call: me,
                            guid,
                            caller,
                        });
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
                        if let Some(seat) = self.deps.seat(ringer.seat) {
                            seat.do_send(FarEndGone { call: me });
                        }
                    }
                    if let Some(agent) = self.agents.remove(&ringer.agent) {
                        agent.do_send(CallEnded { call: me, by_agent });
                    }
                }
                LegEffect::AgentTransferred { ringer } => {
                    if let Some(seat) = self.deps.seat(ringer.seat) {
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
                    heard_by,
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
                        heard_by,
                    });
                }
                LegEffect::ConfClose => {
                    if let Some(conf) = self.conf.take() {
                        conf.do_send(Close);
                    }
                }
                LegEffect::RingSupervisor { ringer } => {
                    let call = self.leg().and_then(|l| l.call());
                    let (caller, guid) = (
                        call.map(|c| c.caller.clone()).unwrap_or_default(),
                        call.map_or_else(TellGuid::new_v4, |c| c.guid),
                    );
                    if let Some(seat) = self.deps.seat(ringer.seat) {
                        seat.do_send(Ring {
                            call: me,
                            caller,
                            guid,
                        });
                    }
                }
                LegEffect::AgentCutOff { ringer } => {
                    if let Some(seat) = self.deps.seat(ringer.seat) {
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
                    if let Some(seat) = self.deps.seat(ringer.seat) {
                        seat.do_send(StopRing { call: me });
                        seat.do_send(FarEndGone { call: me });
                    }
                }
                LegEffect::FreeTrunk(ch) => {
                    if let Some(t) = self.deps.trunk(ch) {
                        t.do_send(FreeTrunk);
                    }
                }
                LegEffect::SeatOrphaned { seat } => {
                    if let Some(s) = self.deps.seat(seat) {
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
                            if let Core::Inbound(leg) = &mut act.core {
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
                LegEffect::StartFlowTimer(d) => {
                    if let Some(h) = self.flow_timer.take() {
                        ctx.cancel_future(h);
                    }
                    let sleep = self.deps.clock.sleep(d);
                    self.flow_timer = Some(ctx.spawn(sleep.into_actor(self).map(|_, act, ctx| {
                        act.flow_timer = None;
                        act.run(ctx, |act, ctx| {
                            let (now, clock) = (act.now(), act.deps.clock.clone());
                            if let Core::Inbound(leg) = &mut act.core {
                                let fx = leg.flow_timer(now, &clock, &act.deps.flows);
                                act.leg_effects(fx, ctx);
                            }
                        });
                    })));
                }
                LegEffect::StartAnnounceTimer(d) => {
                    if let Some(h) = self.announce_timer.take() {
                        ctx.cancel_future(h);
                    }
                    let sleep = self.deps.clock.sleep(d);
                    let h = ctx.spawn(sleep.into_actor(self).map(|_, act, ctx| {
                        act.announce_timer = None;
                        act.ask_queue_place(ctx);
                    }));
                    self.announce_timer = Some(h);
                }
                LegEffect::CancelAnnounceTimer => {
                    if let Some(h) = self.announce_timer.take() {
                        ctx.cancel_future(h);
                    }
                }
                LegEffect::CancelFlowTimer => {
                    if let Some(h) = self.flow_timer.take() {
                        ctx.cancel_future(h);
                    }
                }
                LegEffect::Record(r) => self.deps.store.records.submit(StoreRecord::Call(r)),
                LegEffect::Survey(r) => self.deps.store.records.submit(StoreRecord::Survey(r)),
                LegEffect::FlowHttp(req) => {
                    let seq = req.seq;
                    let ask = self.deps.flow_http.send(crate::deps::FlowHttp(req));
                    ctx.spawn(ask.into_actor(self).map(move |res, act, ctx| {
                        let result = res.unwrap_or_else(|_| Err("the HTTP worker is gone".into()));
                        act.run(ctx, |act, ctx| {
                            let (now, clock) = (act.now(), act.deps.clock.clone());
                            let flows = act.deps.flows.clone();
                            if let Core::Inbound(leg) = &mut act.core {
                                let input = crate::flow::IvrInput::HttpDone { seq, result };
                                let fx = leg.flow_input(input, now, &clock, &flows);
                                act.leg_effects(fx, ctx);
                            }
                        });
                    }));
                }
                LegEffect::Recording(r) => {
                    self.deps.store.records.submit(StoreRecord::Recording(r))
                }
                LegEffect::FlowTransfer(to) => {
                    let Core::Inbound(leg) = &self.core else {
                        continue;
                    };
                    let Some(call) = leg.call() else {
                        continue;
                    };
                    let (guid, caller) = (call.guid, call.caller.clone());
                    let ask =
                        crate::control::flow_transfer(self.deps.clone(), me, guid, caller, to);
                    ctx.spawn(ask.into_actor(self).map(move |res, act, ctx| {
                        act.run(ctx, |act, ctx| {
                            if let Ok((TransferTo::Seat(r), Some(a))) = &res {
                                act.agents.insert(r.agent.clone(), a.clone());
                            }
                            let to = res.map(|(to, _)| to).map_err(|why| why.to_string());
                            act.flow_transfer(to, ctx);
                        });
                    }));
                }
                LegEffect::TransferFailed(why) => self.flow_transfer(Err(why), ctx),
            }
        }
    }

    /// Where the flow's transfer reaches its target (or why not).
    fn flow_transfer(&mut self, to: Result<TransferTo, String>, ctx: &mut Context<Self>) {
        let (now, clock) = (self.now(), self.deps.clock.clone());
        let (flows, ring) = (self.deps.flows.clone(), self.deps.settings.ring_timeout);
        if let Core::Inbound(leg) = &mut self.core {
            let fx = leg.flow_transfer(to, now, ring, &clock, &flows);
            self.leg_effects(fx, ctx);
        }
    }

    /// The announcement timer ran out: asks the call's group where the
    /// call stands, then lets the leg announce it (if the same call still
    /// waits by then).
    fn ask_queue_place(&mut self, ctx: &mut Context<Self>) {
        let Core::Inbound(leg) = &self.core else {
            return;
        };
        let Some(call) = leg.call() else { return };
        let (guid, group) = (call.guid, call.group);
        let Some(g) = group.and_then(|g| self.deps.group(g)) else {
            return;
        };
        let ask = g.send(QueuePlace { ch: self.desc.ch });
        ctx.spawn(ask.into_actor(self).map(move |place, act, ctx| {
            act.run(ctx, |act, ctx| {
                if let Core::Inbound(leg) = &mut act.core {
                    if leg.call().is_some_and(|c| c.guid == guid) {
                        let fx = leg.announce(place.ok().flatten());
                        act.leg_effects(fx, ctx);
                    }
                }
            });
        }));
    }

    pub(super) fn customer_answer(
        &mut self,
        customer: Option<crate::records::Customer>,
        ctx: &mut Context<Self>,
    ) {
        self.run(ctx, |act, ctx| {
            let now = act.now();
            if let Core::Inbound(leg) = &mut act.core {
                let fx = leg.customer(customer, now);
                act.leg_effects(fx, ctx);
            }
        });
    }

    pub(super) fn leg(&self) -> Option<&InboundLeg> {
        match &self.core {
            Core::Inbound(leg) => Some(leg),
            Core::Seized(_) => None,
        }
    }

    pub(super) fn offer_to(&mut self, ringer: &Ringer, waited: std::time::Duration, pick_up: bool) {
        let me = self.desc.ch;
        // Borrowed, not cloned: the call carries the flow's variables and
        // its whole queued run; an offer needs a few fields of it.
        let Some(call) = self.leg().and_then(|l| l.call()) else {
            return;
        };
        // The seat first: a pop makes its agent lift the phone, and that
        // lift must reach the seat after the ring, however the threads are
        // scheduled (a lift before the ring would decline the offer).
        if let Some(seat) = self.deps.seat(ringer.seat) {
            seat.do_send(Ring {
                call: me,
                caller: call.caller.clone(),
                guid: call.guid,
            });
        }
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
                popup: call.popup.clone(),
            });
        }
    }

    pub(super) fn inbound_event(&mut self, ev: SwitchEvent, ctx: &mut Context<Self>) {
        let now = self.now();
        let clock = self.deps.clock.clone();
        let Core::Inbound(leg) = &mut self.core else {
            return;
        };
        let fx = match ev {
            // Stopping: no new call is taken (the caller hears busy).
            SwitchEvent::CallIn { ch, caller, .. } if self.deps.draining() => {
                tracing::info!(%ch, %caller, "call refused: the server is stopping");
                vec![LegEffect::Switch(SwitchCommand::Clear {
                    ch,
                    cause: Cause::BUSY,
                })]
            }
            SwitchEvent::CallIn {
                guid,
                caller,
                callee,
                ..
            } => {
                // The flow routed for the dialed number, at its current
                // version; the server always has its inbound flow (the
                // built-in one without files), so the fallback is only a
                // guard against a flow removed in between.
                let flow = self.deps.flows.for_callee(&callee).unwrap_or_else(|| {
                    tracing::error!(%callee, "no flow for this call; running the built-in one");
                    std::sync::Arc::new(crate::flow::builtin_default(
                        self.deps.settings.default_group,
                    ))
                });
                let flows = &self.deps.flows;
                match leg.call_in(guid, caller, callee, flow, now, &clock, flows) {
                    Ok(fx) => fx,
                    Err(e) => {
                        tracing::warn!(ch = %self.desc.ch, "{}", e.0);
                        vec![]
                    }
                }
            }
            SwitchEvent::PlayDone { completed, .. } => {
                leg.play_done(completed, now, &clock, &self.deps.flows)
            }
            SwitchEvent::Dtmf { digits, .. } => leg.digits(&digits, now, &clock, &self.deps.flows),
            SwitchEvent::Cleared { cause, .. } => leg.cleared(cause, now, &clock),
            _ => vec![],
        };
        self.leg_effects(fx, ctx);
    }
}

/// A group offers this trunk's call.
impl Handler<OfferCall> for TrunkActor {
    type Result = ();
    fn handle(&mut self, m: OfferCall, ctx: &mut Context<Self>) {
        self.run(ctx, |act, ctx| {
            let now = act.now();
            let timeout = act.deps.settings.ring_timeout;
            let ringers: Vec<Ringer> = m.ringers.iter().map(|(r, _)| r.clone()).collect();
            let result = match &mut act.core {
                Core::Inbound(leg) => leg.offer(ringers.clone(), now, timeout),
                Core::Seized(_) => return,
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

/// An offered agent declined (went busy meanwhile, seat off-hook), or its
/// phone refused the ring.
impl Handler<OfferDeclined> for TrunkActor {
    type Result = ();
    fn handle(&mut self, m: OfferDeclined, ctx: &mut Context<Self>) {
        self.run(ctx, |act, ctx| {
            if let Core::Inbound(leg) = &mut act.core {
                let fx = leg.declined(&m.agent, m.refused.is_some());
                act.leg_effects(fx, ctx);
            }
        });
    }
}

/// A seat ringing for this trunk was lifted.
impl Handler<SeatAnswered> for TrunkActor {
    type Result = ();
    fn handle(&mut self, m: SeatAnswered, ctx: &mut Context<Self>) {
        self.run(ctx, |act, ctx| {
            let now = act.now();
            let clock = act.deps.clock.clone();
            if let Core::Inbound(leg) = &mut act.core {
                let fx = leg.seat_answered(m.seat, now, &clock);
                act.leg_effects(fx, ctx);
            }
        });
    }
}

/// The seat talking on this trunk hung up.
impl Handler<SeatHungUp> for TrunkActor {
    type Result = ();
    fn handle(&mut self, m: SeatHungUp, ctx: &mut Context<Self>) {
        self.run(ctx, |act, ctx| {
            let now = act.now();
            let clock = act.deps.clock.clone();
            if let Core::Inbound(leg) = &mut act.core {
                let ring_timeout = act.deps.settings.ring_timeout;
                let fx = leg.seat_hung_up(m.seat, now, ring_timeout, &clock, &act.deps.flows);
                act.leg_effects(fx, ctx);
            }
        });
    }
}

/// Pick this trunk's ringing call up to another seat.
impl Handler<PickUpCall> for TrunkActor {
    type Result = Result<String, Refusal>;
    fn handle(&mut self, m: PickUpCall, ctx: &mut Context<Self>) -> Self::Result {
        self.request(ctx, |act, ctx| {
            let now = act.now();
            let clock = act.deps.clock.clone();
            let Core::Inbound(leg) = &mut act.core else {
                return Err(Refusal::state("not a trunk"));
            };
            let caller = leg.call().map(|c| c.caller.clone()).unwrap_or_default();
            let ring_timeout = act.deps.settings.ring_timeout;
            let fx = leg
                .pick_up(m.picker.clone(), m.seat_lifted, now, ring_timeout, &clock)
                .map_err(Refusal::from)?;
            act.agents.insert(m.picker.agent.clone(), m.agent);
            act.leg_effects(fx, ctx);
            Ok(caller)
        })
    }
}

/// Mute or unmute the agent on this trunk's call.
impl Handler<MuteSeat> for TrunkActor {
    type Result = Result<(), Refusal>;
    fn handle(&mut self, m: MuteSeat, ctx: &mut Context<Self>) -> Self::Result {
        self.request(ctx, |act, ctx| {
            let Core::Inbound(leg) = &mut act.core else {
                return Err(Refusal::state("not a trunk"));
            };
            let fx = leg.mute(m.seat, m.on).map_err(Refusal::from)?;
            act.leg_effects(fx, ctx);
            Ok(())
        })
    }
}

/// Transfer this trunk's call.
impl Handler<TransferCall> for TrunkActor {
    type Result = Result<(), Refusal>;
    fn handle(&mut self, m: TransferCall, ctx: &mut Context<Self>) -> Self::Result {
        self.request(ctx, |act, ctx| {
            let now = act.now();
            let clock = act.deps.clock.clone();
            let ring_timeout = act.deps.settings.ring_timeout;
            let Core::Inbound(leg) = &mut act.core else {
                return Err(Refusal::OnlyInbound("transferred"));
            };
            let target = match &m.to {
                TransferTo::Seat(r) => Some(r.agent.clone()),
                TransferTo::Group(_) | TransferTo::Outside { .. } => None,
            };
            let fx = leg
                .transfer(m.from_seat, m.to, now, ring_timeout, &clock)
                .map_err(Refusal::from)?;
            if let (Some(t), Some(a)) = (target, m.agent) {
                act.agents.insert(t, a);
            }
            act.leg_effects(fx, ctx);
            Ok(())
        })
    }
}

/// Hook flash from the agent's seat: hold, or back to the caller.
impl Handler<SeatFlash> for TrunkActor {
    type Result = Result<Flash, Refusal>;
    fn handle(&mut self, m: SeatFlash, ctx: &mut Context<Self>) -> Self::Result {
        self.request(ctx, |act, ctx| {
            let now = act.now();
            let clock = act.deps.clock.clone();
            let Core::Inbound(leg) = &mut act.core else {
                return Err(Refusal::state("not a call a flash can hold"));
            };
            let (flash, fx) = match m.hold {
                Some(on) => leg.hold(m.seat, on, now, &clock),
                None => leg.flash(m.seat, now, &clock),
            }
            .map_err(Refusal::from)?;
            act.leg_effects(fx, ctx);
            Ok(flash)
        })
    }
}

/// The agent on hold consults an extension.
impl Handler<ConsultCall> for TrunkActor {
    type Result = Result<(), Refusal>;
    fn handle(&mut self, m: ConsultCall, ctx: &mut Context<Self>) -> Self::Result {
        self.request(ctx, |act, ctx| {
            let Core::Inbound(leg) = &mut act.core else {
                return Err(Refusal::CallGone);
            };
            let fx = leg
                .consult(m.from_seat, m.target.clone())
                .map_err(Refusal::from)?;
            if let Some(a) = m.agent {
                act.agents.insert(m.target.agent.clone(), a);
            }
            act.leg_effects(fx, ctx);
            Ok(())
        })
    }
}

/// A supervisor joins the call.
impl Handler<Supervise> for TrunkActor {
    type Result = Result<spcti_protocol::ConfNo, Refusal>;
    fn handle(&mut self, m: Supervise, ctx: &mut Context<Self>) -> Self::Result {
        self.request(ctx, |act, ctx| {
            let Core::Inbound(leg) = &mut act.core else {
                return Err(Refusal::state("the call is not connected"));
            };
            let no = leg.conf_no();
            let fx = leg
                .supervise(m.sup.clone(), m.mode, m.seat_lifted)
                .map_err(Refusal::from)?;
            act.agents.insert(m.sup.agent.clone(), m.agent);
            act.leg_effects(fx, ctx);
            Ok(no)
        })
    }
}

/// A supervisor takes the call.
impl Handler<TakeOver> for TrunkActor {
    type Result = Result<(), Refusal>;
    fn handle(&mut self, m: TakeOver, ctx: &mut Context<Self>) -> Self::Result {
        self.request(ctx, |act, ctx| {
            let now = act.now();
            let clock = act.deps.clock.clone();
            let ring_timeout = act.deps.settings.ring_timeout;
            let Core::Inbound(leg) = &mut act.core else {
                return Err(Refusal::state("the call is not connected"));
            };
            let fx = leg
                .take_over(m.sup.clone(), m.seat_lifted, now, ring_timeout, &clock)
                .map_err(Refusal::from)?;
            act.agents.insert(m.sup.agent.clone(), m.agent);
            act.leg_effects(fx, ctx);
            Ok(())
        })
    }
}

/// Give a transferred call back to the agent who transferred it.
impl Handler<RetrieveCall> for TrunkActor {
    type Result = Result<String, Refusal>;
    fn handle(&mut self, m: RetrieveCall, ctx: &mut Context<Self>) -> Self::Result {
        self.request(ctx, |act, ctx| {
            let now = act.now();
            let clock = act.deps.clock.clone();
            let ring_timeout = act.deps.settings.ring_timeout;
            let Core::Inbound(leg) = &mut act.core else {
                return Err(Refusal::CallGone);
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
                .map_err(Refusal::from)?;
            act.agents.insert(m.by.agent.clone(), m.agent);
            act.leg_effects(fx, ctx);
            Ok(caller)
        })
    }
}
