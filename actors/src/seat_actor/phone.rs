//! A seat's phone: hook, digits, flash and feature codes, and what trunks
//! ask of it (ring, stop ringing, connect).

use super::*;
use crate::records::TellMsg;

impl SeatActor {
    pub(super) fn seat_effects(&mut self, fx: Vec<SeatEffect>, ctx: &mut Context<Self>) {
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
                    // With `[flow] startflow` the far party of a call out
                    // goes on in that flow (the survey).
                    let survey = self.deps.flows.startflow().is_some();
                    self.out_op(ctx, None, |o, now, clock| match survey {
                        true => o.seat_hung_up_to_flow(now, clock),
                        false => o.seat_hung_up(now, clock),
                    });
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
                    self.deps.topo().router.do_send(SeatFeature {
                        ext: self.ext.clone(),
                        seat: me,
                        feature,
                    });
                }
                SeatEffect::IdleLift { since } => self.idle_lift(since),
                SeatEffect::WaitedHangup { since } => self.waited_hangup(since),
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
                                if let Some(consult) = act.keys.pause() {
                                    act.seat_effects(vec![consult], ctx);
                                } else {
                                    let fx = act.seat.digit_timeout();
                                    act.seat_effects(fx, ctx);
                                }
                            });
                        })));
                }
            }
        }
    }

    /// Hook flash during an inbound call: the trunk holds the caller (then
    /// digits name an extension to consult) or brings the agent back. A
    /// hold key (`hold`: which way) does the same, once per change.
    pub(super) fn hook_flash(&mut self, hold: Option<bool>, ctx: &mut Context<Self>) {
        let me = self.desc.ch;
        let Seat::Connected { call, .. } = &self.seat else {
            return;
        };
        let Some(trunk) = self.deps.trunk(*call) else {
            return;
        };
        if hold.is_some_and(|on| on == self.keys.consulting()) {
            return;
        }
        let asked = trunk.send(SeatFlash { seat: me, hold });
        // A flash toggles hold: the seat takes digits as the consult target
        // from now on, not from when the trunk's answer arrives (the agent
        // may already be dialing). The answer only corrects a refusal.
        let ticket = self.keys.flashed();
        ctx.spawn(asked.into_actor(self).map(move |res, act, _| match res {
            Ok(Ok(flash)) => act.keys.flash_answered(ticket, Some(flash == Flash::Held)),
            Ok(Err(why)) => {
                act.keys.flash_answered(ticket, None);
                tracing::info!(seat = %me, %why, "hook flash ignored");
            }
            Err(_) => {}
        }));
    }

    /// The phone went back after a lift that dialed nothing: the original
    /// logs that as tellmsg 11 (内线摘机), a call record of its own.
    fn idle_lift(&mut self, since: Mono) {
        let call = SeatCall {
            guid: TellGuid::new_v4(),
            caller: self.ext.to_string(),
            callee: String::new(),
        };
        self.seat_record(call, "lift", TellMsg::OffHookNoDial, since, false);
    }

    /// The phone went back long after the far end left (busy tone): the
    /// original logs the wait as tellmsg 5 (等待挂机), `telllongtime` being
    /// how long the phone stayed off-hook.
    fn waited_hangup(&mut self, since: Mono) {
        let call = self.last_call.take().unwrap_or_else(|| SeatCall {
            guid: TellGuid::new_v4(),
            caller: String::new(),
            callee: self.ext.to_string(),
        });
        self.seat_record(call, "wait", TellMsg::WaitingHangup, since, true);
    }

    /// A seat's own call record: off-hook from `since` until now, put down
    /// by the agent; `timed` counts that time as `telllongtime`.
    fn seat_record(&self, call: SeatCall, kind: &str, tellmsg: TellMsg, since: Mono, timed: bool) {
        let record = self.seat_row(call, kind, tellmsg, since, timed);
        self.deps
            .store
            .records
            .submit(StoreRecord::Call(Box::new(record)));
    }

    /// The phone refused the ring, or could not be rung at all: the ring
    /// is over. The original logs the attempt as tellmsg 3 (拒绝接听, an
    /// IP seat that refused) or 2 (未接听, the seat could not be rung), and
    /// the call goes on to another agent at once.
    fn ring_failed(&mut self, cause: Cause) {
        use crate::records::{Direction, HangupBy};
        let Seat::Ringing { call, since } = self.seat else {
            return;
        };
        self.seat.stop_ring(call);
        let refused = matches!(cause, Cause::BUSY | Cause::REJECTED);
        tracing::info!(seat = %self.ext, %call, cause = cause.0, refused, "the seat's phone did not take the ring");
        if let Some(c) = self.last_call.take() {
            let tellmsg = if refused {
                TellMsg::Rejected
            } else {
                TellMsg::SeatUnreachable
            };
            let mut row = self.seat_row(c, "refused", tellmsg, since, false);
            // Each attempt is its own row (the same call may be refused
            // again after the pause): the ring's start is in the key.
            row.key = format!("{}:{}", row.key, since.as_millis());
            row.direction = if self.deps.trunk(call).is_some() {
                Direction::In
            } else {
                Direction::Internal
            };
            row.hangup_by = if refused {
                HangupBy::Agent
            } else {
                HangupBy::System
            };
            row.cause = cause.0;
            self.deps
                .store
                .records
                .submit(StoreRecord::Call(Box::new(row)));
        }
        if let Some(from) = self.deps.channel(call) {
            from.do_send(OfferDeclined {
                agent: self.ext.clone(),
                refused: Some(cause),
            });
        }
    }

    fn seat_row(
        &self,
        call: SeatCall,
        kind: &str,
        tellmsg: TellMsg,
        since: Mono,
        timed: bool,
    ) -> crate::records::CallRecord {
        use crate::records::{CallRecord, Direction, HangupBy};
        let now = self.now();
        CallRecord {
            key: format!("{kind}:{}:{}", call.guid, self.desc.ch),
            tellguid: call.guid,
            ch: self.desc.ch,
            caller_no: call.caller,
            callee_no: call.callee,
            tel_num: Some(self.ext.clone()),
            work_no: None,
            group_no: None,
            direction: Direction::Internal,
            start_time: self.deps.clock.wall_at(since),
            queue_time: None,
            answer_time: None,
            end_time: self.deps.clock.wall_at(now),
            talk_s: if timed {
                now.saturating_sub(since).as_secs() as u32
            } else {
                0
            },
            tellmsg,
            hangup_by: HangupBy::Agent,
            cause: Cause::NORMAL.0,
            record_file: None,
        }
    }

    pub(super) fn seat_event(&mut self, ev: SwitchEvent, ctx: &mut Context<Self>) {
        match ev {
            SwitchEvent::HookFlash { .. } => return self.hook_flash(None, ctx),
            SwitchEvent::Hold { on, .. } => return self.hook_flash(Some(on), ctx),
            SwitchEvent::RingFailed { cause, .. } => return self.ring_failed(cause),
            _ => {}
        }
        let now = self.now();
        let seat = &mut self.seat;
        let fx = match ev {
            SwitchEvent::OffHook { .. } => seat.off_hook(now),
            SwitchEvent::OnHook { .. } => {
                if let Some(h) = self.digit_timer.take() {
                    ctx.cancel_future(h);
                }
                seat.on_hook()
            }
            SwitchEvent::Released { .. } => {
                if let Some(h) = self.digit_timer.take() {
                    ctx.cancel_future(h);
                }
                seat.released();
                vec![]
            }
            // During a call only transfer codes, and after a flash the
            // extension to consult, mean anything here (InCallKeys).
            SwitchEvent::Dtmf { digits, .. } if matches!(seat, Seat::Connected { .. }) => {
                self.keys.press(&digits)
            }
            SwitchEvent::Dtmf { digits, .. } => seat.digits(&digits),
            _ => vec![],
        };
        if !matches!(seat, Seat::Connected { .. }) {
            self.keys.reset();
        }
        self.seat_effects(fx, ctx);
    }
}

/// Ring this seat.
impl Handler<Ring> for SeatActor {
    type Result = ();
    fn handle(&mut self, m: Ring, ctx: &mut Context<Self>) {
        self.run(ctx, |act, _| {
            let now = act.now();
            let me = act.desc.ch;
            if act.unreachable {
                tracing::info!(seat = %act.ext, call = %m.call, "the seat's phone is not registered; offer declined");
                if let Some(trunk) = act.deps.channel(m.call) {
                    trunk.do_send(OfferDeclined {
                        agent: act.ext.clone(),
                        refused: None,
                    });
                }
                return;
            }
            let (seat, ext) = (&mut act.seat, &act.ext);
            if seat.ring(m.call, now) {
                act.last_call = Some(SeatCall {
                    guid: m.guid,
                    caller: m.caller.clone(),
                    callee: ext.to_string(),
                });
                act.switch(SwitchCommand::Alert {
                    ch: me,
                    caller: m.caller,
                });
            } else if let Some(trunk) = act.deps.channel(m.call) {
                tracing::info!(seat = %ext, state = ?seat, call = %m.call, "seat is in use; offer declined");
                trunk.do_send(OfferDeclined {
                    agent: ext.clone(),
                    refused: None,
                });
            }
        });
    }
}

/// Stop ringing this seat.
impl Handler<StopRing> for SeatActor {
    type Result = ();
    fn handle(&mut self, m: StopRing, ctx: &mut Context<Self>) {
        self.run(ctx, |act, _| {
            let me = act.desc.ch;
            if act.seat.stop_ring(m.call) {
                act.switch(SwitchCommand::Clear {
                    ch: me,
                    cause: Cause::NORMAL,
                });
            }
        });
    }
}

/// The far end of this seat's call left.
impl Handler<FarEndGone> for SeatActor {
    type Result = ();
    fn handle(&mut self, m: FarEndGone, ctx: &mut Context<Self>) {
        self.run(ctx, |act, _| {
            let now = act.now();
            if act.seat.far_end_gone(m.call, now) {
                act.keys.set_consulting(false);
            }
        });
    }
}

/// This off-hook seat picked up `call`.
impl Handler<ConnectSeat> for SeatActor {
    type Result = ();
    fn handle(&mut self, m: ConnectSeat, ctx: &mut Context<Self>) {
        self.run(ctx, |act, _| {
            let now = act.now();
            if act.seat.connect(m.call, now) {
                if let Some(guid) = m.guid {
                    act.last_call = Some(SeatCall {
                        guid,
                        caller: m.caller,
                        callee: act.ext.to_string(),
                    });
                }
            }
        });
    }
}

/// The call this seat rings for, and since when.
impl Handler<RingingFor> for SeatActor {
    type Result = Option<(ChNum, Mono)>;
    fn handle(&mut self, _: RingingFor, _: &mut Context<Self>) -> Self::Result {
        match &self.seat {
            Seat::Ringing { call, since } => Some((*call, *since)),
            _ => None,
        }
    }
}
