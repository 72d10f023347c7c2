//! Calls a seat places: its outbound legs (to a trunk or another seat) and
//! its multi-party meetings; what the far ends do reaches it here.

use super::*;
use crate::agent::Unanswered;

/// A call this seat placed, as its far trunk takes it over (a transfer,
/// or `[flow] startflow`): from the trunk's side the customer is the
/// caller; its records still say `out`.
pub(super) fn trunk_side(placed: &Placed) -> crate::leg::CallInfo {
    crate::leg::CallInfo {
        guid: placed.guid,
        caller: placed.dialed.clone(),
        callee: placed.caller.clone(),
        started: placed.started,
        group: None,
        queued_at: None,
        customer: Some(Default::default()),
        tried: Vec::new(),
        transferred_by: None,
        returned: false,
        segments: 1,
        direction: crate::records::Direction::Out,
        popup: Vec::new(),
        vars: Default::default(),
        stay: None,
        after_talk: false,
        voicemail: None,
    }
}

impl SeatActor {
    /// The agent hung up first on a call out: its far party goes on in
    /// `[flow] startflow` on the trunk.
    fn far_to_flow(&mut self, trunk: ChNum, placed: Placed) {
        let call = crate::leg::CallInfo {
            after_talk: true,
            ..trunk_side(&placed)
        };
        match self.deps.trunk(trunk) {
            Some(t) => t.do_send(crate::messages::trunk::EnterFlow {
                call,
                agent: placed.agent,
            }),
            None => tracing::error!(%trunk, "no trunk to hand the far party to"),
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
                        why: Unanswered::Withdrawn,
                    });
                }
            }
        }
        self.outs.retain(|o| !o.is_done());
        self.meeting_check(ctx);
        self.watch_check(ctx);
        if self.outs.is_empty() && self.meeting.is_none() {
            self.out_agent = None;
        }
    }

    /// A multi-party call ends when its last leg does; without the agent,
    /// a single party left in it is let go (the Meeting core decides).
    pub(super) fn meeting_check(&mut self, ctx: &mut Context<Self>) {
        let me = self.desc.ch;
        let Some(m) = &self.meeting else {
            return;
        };
        match m.step(self.outs.len()) {
            MeetingStep::Continue => {}
            MeetingStep::ReleaseLast => {
                self.out_op(ctx, None, |o, now, clock| o.release(now, clock));
            }
            MeetingStep::Over { agent_in } => {
                self.meeting = None;
                if let Some(conf) = self.conf.take() {
                    conf.do_send(Close);
                }
                if agent_in {
                    let now = self.now();
                    self.seat.stop_ring(me);
                    self.seat.far_end_gone(me, now);
                    if let Some(a) = &self.out_agent {
                        a.do_send(CallEnded {
                            call: me,
                            by_agent: false,
                        });
                    }
                }
                self.out_agent = None;
            }
        }
    }

    /// The agent hung up on its multi-party call: with HALLH everyone is
    /// hung up; otherwise the parties talking go on without the agent.
    pub(super) fn leave_meeting(&mut self, ctx: &mut Context<Self>) {
        let me = self.desc.ch;
        let Some(m) = &mut self.meeting else {
            return;
        };
        let hangs_up = m.agent_left();
        if let Some(a) = &self.out_agent {
            a.do_send(CallEnded {
                call: me,
                by_agent: true,
            });
        }
        if let Some(conf) = &self.conf {
            conf.do_send(Leave { ch: me });
        }
        let survey = self.deps.flows.startflow().is_some();
        self.out_op(ctx, None, |o, now, clock| {
            match (hangs_up(&o.state), survey) {
                (true, true) => o.seat_hung_up_to_flow(now, clock),
                (true, false) => o.seat_hung_up(now, clock),
                (false, _) => vec![],
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
        // An ending that stopped this seat's recording tells the agents
        // once the switch has closed the file (closing.rs); everything
        // else happens now. (A meeting's legs are recorded on their far
        // channels and end for the agent as a whole.)
        let wait = !self.restarting
            && fx.iter().any(
                |e| matches!(e, OutEffect::Switch(SwitchCommand::StopRecord { ch }) if *ch == me),
            );
        let mut tell: Vec<Tell> = Vec::new();
        let mut say = |t: Tell| {
            if wait {
                tell.push(t);
            } else {
                t.send();
            }
        };
        // Records first, as for an inbound call (leg_effects).
        // (A stable sort: every other effect keeps its order.)
        fx.sort_by_key(|e| !matches!(e, OutEffect::Record(_) | OutEffect::Recording(_)));
        for e in fx {
            match e {
                OutEffect::Switch(cmd) => self.switch(cmd),
                OutEffect::RingFarSeat { seat, caller } => {
                    if let Some(s) = self.deps.seat(seat) {
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
                            popup: Vec::new(),
                        });
                    }
                }
                OutEffect::FarSeatGone { seat, was_ringing } => {
                    if let Some(s) = self.deps.seat(seat) {
                        if was_ringing {
                            s.do_send(StopRing { call: me });
                        }
                        s.do_send(FarEndGone { call: me });
                    }
                    if let Some(a) = self.far_agents.remove(&seat) {
                        // Its offer ends, or the calling side hung up.
                        say(Tell::Withdrawn(
                            a.clone(),
                            OfferWithdrawn {
                                call: me,
                                why: Unanswered::Withdrawn,
                            },
                        ));
                        say(Tell::Ended(
                            a,
                            CallEnded {
                                call: me,
                                by_agent: false,
                            },
                        ));
                    }
                }
                OutEffect::FreeTrunk(ch) => {
                    if let Some(t) = self.deps.trunk(ch) {
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
                } => self.conference().do_send(Join {
                    ch,
                    number,
                    listen_only,
                    heard_by: None,
                }),
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
                        say(Tell::Result(
                            a.clone(),
                            OutboundResult {
                                guid: call.guid,
                                caller: call.caller.clone(),
                                callee: call.callee.clone(),
                                answered,
                                cause,
                            },
                        ));
                    }
                }
                OutEffect::AgentConnected => {
                    // In a multi-party call, once: the agent is on one call.
                    if self.meeting.as_mut().is_some_and(|m| !m.connect()) {
                        continue;
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
                    // The phone stops ringing, or stays lifted hearing nothing.
                    self.seat.stop_ring(me);
                    if self.seat.far_end_gone(me, now) {
                        self.last_call = Some(SeatCall {
                            guid: call.guid,
                            caller: call.caller.clone(),
                            callee: call.callee.clone(),
                        });
                    }
                    if let Some(a) = &self.out_agent {
                        say(Tell::Ended(a.clone(), CallEnded { call: me, by_agent }));
                    }
                }
                OutEffect::Record(r) => self.deps.store.records.submit(StoreRecord::Call(r)),
                OutEffect::Recording(r) => {
                    self.deps.store.records.submit(StoreRecord::Recording(r))
                }
                OutEffect::FarToFlow { trunk, call } => self.far_to_flow(trunk, *call),
            }
        }
        if !tell.is_empty() {
            let id = self.closing.hold(me, tell);
            let guard = actix::clock::sleep(RECORDING_CLOSE_GUARD);
            ctx.spawn(guard.into_actor(self).map(move |_, act, _| {
                let late = act.closing.expire(id);
                if !late.is_empty() {
                    tracing::warn!(ch = %me, "the switch never reported the recording closed; the agents are told the call ended");
                }
                late.into_iter().for_each(Tell::send);
            }));
        }
    }
}

/// What an agent is told when a placed call ends, held until the call's
/// recording is closed.
pub(super) enum Tell {
    Ended(AgentRef, CallEnded),
    Withdrawn(AgentRef, OfferWithdrawn),
    Result(AgentRef, OutboundResult),
}

impl Tell {
    pub(super) fn send(self) {
        match self {
            Tell::Ended(a, m) => a.do_send(m),
            Tell::Withdrawn(a, m) => a.do_send(m),
            Tell::Result(a, m) => a.do_send(m),
        }
    }
}

/// Place a call from this seat.
impl Handler<StartCall> for SeatActor {
    type Result = Result<(), Refusal>;
    fn handle(&mut self, m: StartCall, ctx: &mut Context<Self>) -> Self::Result {
        let me = self.desc.ch;
        self.request(ctx, |act, ctx| {
            let now = act.now();
            let joining = act.meeting.is_some() && m.call.meeting;
            if !act.outs.is_empty() && !joining {
                return Err(Refusal::state("the seat is already placing a call"));
            }
            if act.meeting.as_ref().is_some_and(|x| !x.agent_in()) {
                return Err(Refusal::state("the agent has left its conference call"));
            }
            let (seat, ext) = (&mut act.seat, &act.ext);
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
                    return Err(Refusal::Busy(ext.clone()));
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
                act.meeting = Some(Meeting::new(m.hallh));
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
impl Handler<FarAnswered> for SeatActor {
    type Result = ();
    fn handle(&mut self, m: FarAnswered, ctx: &mut Context<Self>) {
        self.run(ctx, |act, ctx| {
            act.out_op(ctx, Some(m.far), |o, now, clock| {
                o.far_answered(m.far, now, clock)
            });
        });
    }
}

/// The trunk this seat's call went out on cleared.
impl Handler<FarCleared> for SeatActor {
    type Result = ();
    fn handle(&mut self, m: FarCleared, ctx: &mut Context<Self>) {
        self.run(ctx, |act, ctx| {
            act.out_op(ctx, Some(m.far), |o, now, clock| {
                o.far_cleared(m.far, m.cause, now, clock)
            });
        });
    }
}

/// The extension this seat calls could not ring: it is busy, or its phone
/// refused (with its cause).
impl Handler<OfferDeclined> for SeatActor {
    type Result = ();
    fn handle(&mut self, m: OfferDeclined, ctx: &mut Context<Self>) {
        self.run(ctx, |act, ctx| {
            // The supervisor's phone could not ring: it is not on the call.
            if act
                .watch
                .supervisor()
                .is_some_and(|s| !s.joined && s.ringer.agent == m.agent)
            {
                let fx = act.watch.over();
                act.watch_effects(fx, ctx);
                return;
            }
            let far = act
                .outs
                .iter()
                .find_map(|o| match o.call().map(|c| &c.far) {
                    Some(Far::Seat { ch, ext }) if *ext == m.agent => Some(*ch),
                    _ => None,
                });
            if let Some(ch) = far {
                let cause = m.refused.unwrap_or(Cause::BUSY);
                act.out_op(ctx, Some(ch), |o, now, clock| {
                    o.far_cleared(ch, cause, now, clock)
                });
            }
        });
    }
}

/// The extension this seat calls answered.
impl Handler<SeatAnswered> for SeatActor {
    type Result = ();
    fn handle(&mut self, m: SeatAnswered, ctx: &mut Context<Self>) {
        self.run(ctx, |act, ctx| {
            let talk = act.talk();
            if let Some(fx) = act.watch.answered(m.seat, talk.as_ref()) {
                act.watch_effects(fx, ctx);
                return;
            }
            act.out_op(ctx, Some(m.seat), |o, now, clock| {
                o.far_answered(m.seat, now, clock)
            });
        });
    }
}

/// The extension this seat calls hung up: its agent did.
impl Handler<SeatHungUp> for SeatActor {
    type Result = ();
    fn handle(&mut self, m: SeatHungUp, ctx: &mut Context<Self>) {
        self.run(ctx, |act, ctx| {
            let talk = act.talk();
            if let Some(fx) = act.watch.hung_up(m.seat, talk.as_ref()) {
                act.watch_effects(fx, ctx);
                return;
            }
            if let Some(a) = act.far_agents.remove(&m.seat) {
                a.do_send(CallEnded {
                    call: act.desc.ch,
                    by_agent: true,
                });
            }
            act.out_op(ctx, Some(m.seat), |o, now, clock| {
                o.far_cleared(m.seat, Cause::NORMAL, now, clock)
            });
        });
    }
}

/// Mute or unmute the agent on the call this seat placed.
impl Handler<MuteSeat> for SeatActor {
    type Result = Result<(), Refusal>;
    fn handle(&mut self, m: MuteSeat, ctx: &mut Context<Self>) -> Self::Result {
        self.request(ctx, |act, ctx| {
            if !act.outs.is_empty() && m.seat != act.desc.ch {
                return Err(Refusal::state(
                    "only the agent who placed the call can mute on it",
                ));
            }
            let Some(out) = act
                .outs
                .iter_mut()
                .find(|o| matches!(o.state, Out::Talking { .. }))
            else {
                return Err(Refusal::state("not a trunk"));
            };
            let mut fx = out.mute(m.on).map_err(Refusal::from)?;
            let placed = out.call().cloned().expect("talking");
            // A supervisor bridges the parties: the seat's place in its
            // conference changes, not a link.
            let talk = out.talk();
            if let Some(e) = talk.and_then(|t| act.watch.mute(&t)) {
                fx.clear();
                act.watch_effects(vec![e], ctx);
            }
            act.out_effects(&placed, fx, ctx);
            Ok(())
        })
    }
}

/// The agent transfers the call this seat placed.
impl Handler<HandOver> for SeatActor {
    type Result = Result<ChNum, Refusal>;
    fn handle(&mut self, m: HandOver, ctx: &mut Context<Self>) -> Self::Result {
        self.request(ctx, |act, ctx| {
            let now = act.now();
            let clock = act.deps.clock.clone();
            if act.meeting.is_some() {
                return Err(Refusal::state("a conference call cannot be transferred"));
            }
            let Some(out) = act.outs.first_mut() else {
                return Err(Refusal::state("this seat placed no call"));
            };
            let (placed, fx) = out.hand_over(now, &clock).map_err(Refusal::from)?;
            // A supervisor on the call is let go with it.
            let wfx = act.watch.over();
            act.watch_effects(wfx, ctx);
            let group = act.deps.settings.default_group;
            let transferred_by = placed.agent.as_ref().map(|a| a.agent.clone());
            act.give_to_trunk(
                placed,
                fx,
                |call| Adopt {
                    call: crate::leg::CallInfo {
                        group,
                        transferred_by,
                        ..call
                    },
                    to: m.to,
                    agent: m.agent,
                    seat_lifted: false,
                },
                ctx,
            )
        })
    }
}
