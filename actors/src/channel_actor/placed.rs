//! Calls a seat places: the seat's own outbound legs (and its meetings) and
//! the trunks they seize, which relay what the far party does.

use super::*;

impl ChannelActor {
    pub(super) fn seized_event(&mut self, ev: SwitchEvent) {
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
    pub(super) fn out_op(
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
    pub(super) fn meeting_check(&mut self, ctx: &mut Context<Self>) {
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
    pub(super) fn leave_meeting(&mut self, ctx: &mut Context<Self>) {
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

    pub(super) fn out_effects(
        &mut self,
        call: &Placed,
        mut fx: Vec<OutEffect>,
        ctx: &mut Context<Self>,
    ) {
        let me = self.desc.ch;
        // Records first, as for an inbound call (leg_effects).
        // (A stable sort: every other effect keeps its order.)
        fx.sort_by_key(|e| !matches!(e, OutEffect::Record(_) | OutEffect::Recording(_)));
        for e in fx {
            match e {
                OutEffect::Switch(cmd) => self.switch(cmd),
                OutEffect::RingFarSeat { seat, caller } => {
                    if let Some(s) = self.deps.channel(seat) {
                        s.do_send(Ring {
                            call: me,
                            caller: caller.clone(),
                            guid: call.guid,
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
                        if seat.far_end_gone(me, now) {
                            self.seat_call = Some(SeatCall {
                                guid: call.guid,
                                caller: call.caller.clone(),
                                callee: call.callee.clone(),
                            });
                        }
                    }
                    if let Some(a) = &self.out_agent {
                        a.do_send(CallEnded { call: me, by_agent });
                    }
                }
                OutEffect::Record(r) => self.deps.store.records.submit(StoreRecord::Call(r)),
                OutEffect::Recording(r) => {
                    self.deps.store.records.submit(StoreRecord::Recording(r))
                }
            }
        }
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
