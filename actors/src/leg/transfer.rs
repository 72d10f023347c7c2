//! Transfers: to an extension, a group or an outside number, their
//! cancelling and retrieval, and a placed call adopted by a trunk.

use super::*;

impl InboundLeg {
    /// 1008 / `*5` / `*6`: the agent on `from_seat` sends the call on. The
    /// agent's segment is recorded (record and recording) and the agent
    /// released; the call rings the target seat alone, or waits in the group.
    pub fn transfer(
        &mut self,
        from_seat: ChNum,
        to: TransferTo,
        now: Mono,
        ring_timeout: Duration,
        clock: &Clock,
    ) -> Result<Vec<LegEffect>, NotNow> {
        match &self.leg {
            Leg::Talking { agent, .. } if agent.seat == from_seat => {}
            Leg::Talking { .. } => return Err(NotNow("you are not on this call")),
            _ => return Err(NotNow("the call is not connected")),
        }
        if matches!(&to, TransferTo::Seat(r) if r.seat == from_seat) {
            return Err(NotNow("you cannot transfer a call to yourself"));
        }
        let (mut call, agent, mut fx) = self.end_segment(now, clock)?;
        fx.push(LegEffect::AgentTransferred {
            ringer: agent.clone(),
        });
        call.transferred_by = Some(agent.agent.clone());
        fx.extend(self.send_on(call, to, Duration::ZERO, now, ring_timeout));
        Ok(fx)
    }

    /// Sends `call` on to `to` (an agent's transfer, a flow's `transfer`
    /// node): the target seat rings alone (with `waited` for its screen
    /// pop), the call waits in the group, or the outside number is dialed
    /// on the trunk seized for it.
    pub(super) fn send_on(
        &mut self,
        mut call: CallInfo,
        to: TransferTo,
        waited: Duration,
        now: Mono,
        ring_timeout: Duration,
    ) -> Vec<LegEffect> {
        let mut fx = Vec::new();
        match to {
            TransferTo::Seat(target) => {
                fx.push(LegEffect::Offer {
                    ringer: target.clone(),
                    waited,
                    pick_up: true,
                });
                fx.push(LegEffect::StartRingTimer(ring_timeout));
                self.to(Leg::Ringing {
                    call,
                    ringers: vec![target],
                    since: now,
                    picked_up: false,
                });
            }
            TransferTo::Group(group) => {
                call.group = Some(group);
                call.queued_at = Some(now);
                call.tried.clear();
                // The flow's queue wishes were for the group it chose.
                call.leave_flow();
                fx.push(LegEffect::Enqueue {
                    group,
                    since: now,
                    tried: Vec::new(),
                    priority: 0,
                });
                self.to(Leg::Queued { call });
            }
            TransferTo::Outside {
                trunk,
                caller,
                dialed,
            } => {
                fx.push(LegEffect::Switch(SwitchCommand::MakeCall {
                    ch: trunk,
                    caller,
                    callee: dialed.clone(),
                }));
                fx.push(LegEffect::StartRingTimer(OUTSIDE_TIMEOUT));
                self.to(Leg::Outside {
                    call,
                    trunk,
                    dialed,
                    answered: None,
                });
            }
        }
        fx
    }

    /// Ends the talking agent's segment: its recording closed, its seat
    /// unlinked, its record and recording row written under the segment's
    /// own keys (the call's final record keeps the plain key). A supervisor
    /// on the call is let go. Leaves the leg empty for the caller to decide.
    pub(super) fn end_segment(
        &mut self,
        now: Mono,
        clock: &Clock,
    ) -> Result<(CallInfo, Ringer, Vec<LegEffect>), NotNow> {
        let (mut call, agent, answered_at, recording, supervisor) =
            match std::mem::take(&mut self.leg) {
                Leg::Talking {
                    call,
                    agent,
                    answered_at,
                    recording,
                    supervisor,
                    ..
                } => (call, agent, answered_at, recording, supervisor),
                Leg::Held {
                    call,
                    agent,
                    answered_at,
                    recording,
                    ..
                } => (call, agent, answered_at, recording, None),
                other => {
                    self.leg = other;
                    return Err(NotNow("the call is not connected"));
                }
            };
        let segment = call.segments;
        let mut fx = Self::drop_supervisor(supervisor);
        fx.push(LegEffect::Switch(SwitchCommand::StopRecord { ch: self.ch }));
        fx.push(LegEffect::Switch(SwitchCommand::Unlink {
            a: self.ch,
            b: agent.seat,
        }));
        if let LegEffect::Record(mut r) = self.record(
            &call,
            Ending {
                agent: Some(&agent),
                answered_at: Some(answered_at),
                tellmsg: if call.direction == Direction::Out {
                    TellMsg::OutboundAnswered
                } else {
                    TellMsg::Answered
                },
                hangup_by: HangupBy::Agent,
                cause: Cause::NORMAL,
                recording: Some(&recording),
            },
            now,
            clock,
        ) {
            r.key = format!("call:{}:{}:{}", call.guid, self.ch, segment + 1);
            fx.push(LegEffect::Record(r));
        }
        fx.push(self.recording_row(
            &call,
            format!("rec:{}:{}:{}", call.guid, self.ch, segment + 1),
            Some(&agent),
            (answered_at, recording),
            now,
            clock,
        ));
        call.segments = segment + 1;
        call.returned = false;
        Ok((call, agent, fx))
    }

    /// The outside transfer target answered: the caller and it are linked
    /// and their talk recorded as the call's next segment.
    pub fn outside_answered(&mut self, far: ChNum, now: Mono, clock: &Clock) -> Vec<LegEffect> {
        let me = self.ch;
        let Leg::Outside {
            call,
            trunk,
            answered: answered @ None,
            ..
        } = &mut self.leg
        else {
            return vec![];
        };
        if *trunk != far {
            return vec![];
        }
        let recording = format!(
            "{}/{}-{}.wav",
            clock.wall_at(now).format("%Y%m%d"),
            call.guid,
            call.segments + 1
        );
        *answered = Some((now, recording.clone()));
        vec![
            LegEffect::CancelRingTimer,
            LegEffect::Switch(SwitchCommand::Link {
                a: me,
                b: far,
                two_way: true,
            }),
            LegEffect::Switch(SwitchCommand::Record {
                ch: me,
                file: recording.into(),
            }),
        ]
    }

    /// The outside transfer target is gone: before answering, the caller
    /// goes back to the queue (or the flow's `fail`); after, the call is
    /// over, or goes on in its flow (a `transfer` node's `next`).
    pub fn outside_cleared(
        &mut self,
        far: ChNum,
        cause: Cause,
        now: Mono,
        clock: &Clock,
        flows: &FlowBook,
    ) -> Vec<LegEffect> {
        match &self.leg {
            Leg::Outside {
                trunk,
                answered: None,
                ..
            } if *trunk == far => self.outside_failed(),
            Leg::Outside { trunk, call, .. }
                if *trunk == far && call.stay.as_ref().is_some_and(|s| s.flow.has_next()) =>
            {
                self.outside_to_flow(cause, now, clock, flows)
            }
            Leg::Outside { trunk, .. } if *trunk == far => {
                // The far end is the answering side: recorded as the agent's.
                self.finish_outside(HangupBy::Agent, cause, now, clock)
            }
            _ => vec![],
        }
    }

    /// The outside target never answered: release its trunk, requeue.
    pub(super) fn outside_failed(&mut self) -> Vec<LegEffect> {
        let Leg::Outside {
            mut call, trunk, ..
        } = std::mem::take(&mut self.leg)
        else {
            return vec![];
        };
        call.transferred_by = None;
        let fx = vec![
            LegEffect::Switch(SwitchCommand::Clear {
                ch: trunk,
                cause: Cause::NORMAL,
            }),
            LegEffect::FreeTrunk(trunk),
        ];
        self.requeue(call, fx)
    }

    /// Ends a call transferred outside: both trunks released, the caller's
    /// record and the outside leg's record written.
    pub(super) fn finish_outside(
        &mut self,
        by: HangupBy,
        cause: Cause,
        now: Mono,
        clock: &Clock,
    ) -> Vec<LegEffect> {
        let Leg::Outside {
            call,
            trunk,
            dialed,
            answered,
        } = std::mem::take(&mut self.leg)
        else {
            return vec![];
        };
        let mut fx = self.release_outside(trunk, answered.is_some());
        fx.push(LegEffect::Switch(SwitchCommand::Clear {
            ch: self.ch,
            cause,
        }));
        fx.extend(self.outside_records(&call, trunk, dialed, answered, (by, cause), now, clock));
        self.to(Leg::Free);
        fx
    }

    /// The outside leg let go: unlinked (and its talk's recording closed)
    /// when it answered, its trunk cleared and freed.
    fn release_outside(&self, trunk: ChNum, answered: bool) -> Vec<LegEffect> {
        let mut fx = vec![LegEffect::CancelRingTimer];
        if answered {
            fx.push(LegEffect::Switch(SwitchCommand::StopRecord { ch: self.ch }));
            fx.push(LegEffect::Switch(SwitchCommand::Unlink {
                a: self.ch,
                b: trunk,
            }));
        }
        fx.push(LegEffect::Switch(SwitchCommand::Clear {
            ch: trunk,
            cause: Cause::NORMAL,
        }));
        fx.push(LegEffect::FreeTrunk(trunk));
        fx
    }

    /// The records of an outside transfer: the caller's, the outside
    /// leg's own (on its trunk), and the recording of their talk.
    #[allow(clippy::too_many_arguments)]
    fn outside_records(
        &self,
        call: &CallInfo,
        trunk: ChNum,
        dialed: String,
        answered: Option<(Mono, String)>,
        (by, cause): (HangupBy, Cause),
        now: Mono,
        clock: &Clock,
    ) -> Vec<LegEffect> {
        let mut fx = Vec::new();
        let (answered_at, recording) = match &answered {
            Some((at, file)) => (Some(*at), Some(file.as_str())),
            None => (None, None),
        };
        let ending = |tellmsg| Ending {
            agent: None,
            answered_at,
            tellmsg,
            hangup_by: by,
            cause,
            recording,
        };
        fx.push(self.record(
            call,
            ending(if answered.is_some() {
                TellMsg::Answered
            } else {
                TellMsg::RangNotAnswered
            }),
            now,
            clock,
        ));
        // The outside leg has a record of its own, on its trunk.
        if let LegEffect::Record(mut r) = self.record(
            call,
            ending(if answered.is_some() {
                TellMsg::OutboundTalked
            } else {
                TellMsg::OutboundFailed
            }),
            now,
            clock,
        ) {
            r.key = format!("call:{}:{}", call.guid, trunk);
            r.ch = trunk;
            r.direction = Direction::Out;
            r.callee_no = dialed;
            r.record_file = None;
            fx.push(LegEffect::Record(r));
        }
        if let Some((at, file)) = answered {
            fx.push(self.recording_row(
                call,
                format!("rec:{}:{}:{}", call.guid, self.ch, call.segments + 1),
                None,
                (at, file),
                now,
                clock,
            ));
        }
        fx
    }

    /// The outside number a flow's `transfer` put the caller through to
    /// hung up first: the talk is a segment of the call (its records under
    /// their own keys) and the caller goes on at the node's `next`.
    fn outside_to_flow(
        &mut self,
        cause: Cause,
        now: Mono,
        clock: &Clock,
        flows: &FlowBook,
    ) -> Vec<LegEffect> {
        let Leg::Outside {
            mut call,
            trunk,
            dialed,
            answered,
        } = std::mem::take(&mut self.leg)
        else {
            return vec![];
        };
        let mut fx = self.release_outside(trunk, answered.is_some());
        let mut records = self.outside_records(
            &call,
            trunk,
            dialed,
            answered,
            (HangupBy::Agent, cause),
            now,
            clock,
        );
        call.segments += 1;
        for e in &mut records {
            match e {
                LegEffect::Record(r) if r.ch == self.ch => {
                    r.key = format!("{}:{}", r.key, call.segments)
                }
                _ => {}
            }
        }
        fx.extend(records);
        call.after_talk = true;
        let Some(stay) = call.stay.take() else {
            unreachable!("checked by the caller")
        };
        let mut flow = stay.flow;
        let actions = ivr::with_env(flows, now, clock, |env| flow.after_agent(env));
        fx.extend(self.enter_ivr(call, flow, actions, now, clock));
        fx
    }

    /// A call a seat placed, handed over to this trunk when its agent
    /// transferred it: from now on it is this trunk's, like any call that
    /// came in, and it rings the target seat or waits in the group. A
    /// target seat already off-hook (`seat_lifted`: a supervisor taking the
    /// call over, 1021) is connected at once.
    pub fn adopt(
        &mut self,
        call: CallInfo,
        to: TransferTo,
        seat_lifted: bool,
        now: Mono,
        ring_timeout: Duration,
        clock: &Clock,
    ) -> Result<Vec<LegEffect>, NotNow> {
        if self.leg != Leg::Free {
            return Err(NotNow("the trunk is busy"));
        }
        let mut call = call;
        Ok(match to {
            TransferTo::Seat(target) if seat_lifted => {
                let fx = vec![LegEffect::ConnectSeat {
                    ringer: target.clone(),
                }];
                self.connect(call, target, fx, now, clock)
            }
            TransferTo::Seat(target) => {
                self.to(Leg::Ringing {
                    call,
                    ringers: vec![target.clone()],
                    since: now,
                    picked_up: false,
                });
                vec![
                    LegEffect::Offer {
                        ringer: target,
                        waited: Duration::ZERO,
                        pick_up: true,
                    },
                    LegEffect::StartRingTimer(ring_timeout),
                ]
            }
            TransferTo::Group(group) => {
                call.group = Some(group);
                call.queued_at = Some(now);
                call.leave_flow();
                self.to(Leg::Queued { call });
                vec![LegEffect::Enqueue {
                    group,
                    since: now,
                    tried: Vec::new(),
                    priority: 0,
                }]
            }
            TransferTo::Outside { .. } => {
                return Err(NotNow("a placed call cannot go out on another trunk"));
            }
        })
    }

    /// 1009 / 1007: the agent who transferred the call takes it back while
    /// it still rings elsewhere (`only_ringing`: 1009) or waits in a queue.
    /// A lifted seat is connected at once; one on-hook rings.
    pub fn retrieve(
        &mut self,
        by: Ringer,
        only_ringing: bool,
        seat_lifted: bool,
        now: Mono,
        ring_timeout: Duration,
        clock: &Clock,
    ) -> Result<Vec<LegEffect>, NotNow> {
        let call = self.call().ok_or(NotNow("the call is over"))?;
        if call.transferred_by.as_ref() != Some(&by.agent) {
            return Err(NotNow("you did not transfer this call"));
        }
        let mut fx = Vec::new();
        match &self.leg {
            Leg::Ringing { .. } => {}
            Leg::Outside {
                answered: None,
                trunk,
                ..
            } => {
                let trunk = *trunk;
                fx.push(LegEffect::CancelRingTimer);
                fx.push(LegEffect::Switch(SwitchCommand::Clear {
                    ch: trunk,
                    cause: Cause::NORMAL,
                }));
                fx.push(LegEffect::FreeTrunk(trunk));
                let Leg::Outside { call, .. } = std::mem::take(&mut self.leg) else {
                    unreachable!()
                };
                self.to(Leg::Ringing {
                    call,
                    ringers: Vec::new(),
                    since: now,
                    picked_up: false,
                });
            }
            Leg::Queued { call } if !only_ringing => {
                // Out of the queue first; then it is offered to `by` alone.
                if let Some(group) = call.group {
                    fx.push(LegEffect::LeaveQueue {
                        group,
                        abandoned: false,
                    });
                }
                let Leg::Queued { call } = std::mem::take(&mut self.leg) else {
                    unreachable!()
                };
                self.to(Leg::Ringing {
                    call,
                    ringers: Vec::new(),
                    since: now,
                    picked_up: false,
                });
            }
            Leg::Queued { .. } => {
                return Err(NotNow("the call waits in a queue: take it back with 1007"));
            }
            _ => return Err(NotNow("the transfer was already answered")),
        }
        if let Some(call) = self.call_mut() {
            call.returned = true;
            call.transferred_by = None;
        }
        fx.extend(self.pick_up(by, seat_lifted, now, ring_timeout, clock)?);
        Ok(fx)
    }
}
