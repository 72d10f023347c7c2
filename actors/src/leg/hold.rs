//! Hook flash: the caller on hold with music, a consultation call, and
//! back or transferred.

use super::*;

impl InboundLeg {
    /// Hook flash on the agent's seat: the first puts the caller on hold
    /// (the agent may then dial an extension to consult); the next brings
    /// the agent back to the caller, letting the consulted extension go.
    pub fn flash(
        &mut self,
        seat: ChNum,
        now: Mono,
        clock: &Clock,
    ) -> Result<(Flash, Vec<LegEffect>), NotNow> {
        let me = self.ch;
        match &self.leg {
            Leg::Talking {
                agent,
                supervisor: None,
                ..
            } if agent.seat == seat => {
                let Leg::Talking {
                    call,
                    agent,
                    answered_at,
                    recording,
                    ..
                } = std::mem::take(&mut self.leg)
                else {
                    unreachable!("checked above")
                };
                let fx = vec![
                    LegEffect::Switch(SwitchCommand::Unlink { a: me, b: seat }),
                    LegEffect::Switch(SwitchCommand::Play {
                        ch: me,
                        prompt: HOLD_PROMPT.into(),
                    }),
                ];
                self.to(Leg::Held {
                    call,
                    agent,
                    answered_at,
                    recording,
                    consult: None,
                });
                Ok((Flash::Held, fx))
            }
            Leg::Talking { agent, .. } if agent.seat == seat => {
                Err(NotNow("a supervisor is on the call"))
            }
            Leg::Held { agent, .. } if agent.seat == seat => {
                let mut fx = self.unhold(now, clock);
                fx.push(LegEffect::Switch(SwitchCommand::Link {
                    a: me,
                    b: seat,
                    two_way: true,
                }));
                Ok((Flash::Returned, fx))
            }
            _ => Err(NotNow("your seat is not on this call")),
        }
    }

    /// A phone's hold key (a SIP phone's re-INVITE): as a hook flash, but
    /// it says which way — holding a held call, or taking back one that
    /// is not held, changes nothing.
    pub fn hold(
        &mut self,
        seat: ChNum,
        on: bool,
        now: Mono,
        clock: &Clock,
    ) -> Result<(Flash, Vec<LegEffect>), NotNow> {
        match (&self.leg, on) {
            (Leg::Held { agent, .. }, true) if agent.seat == seat => Ok((Flash::Held, vec![])),
            (Leg::Talking { agent, .. }, false) if agent.seat == seat => {
                Ok((Flash::Returned, vec![]))
            }
            _ => self.flash(seat, now, clock),
        }
    }

    /// Takes the caller off hold, back to talking with the agent (the
    /// caller's link is the caller's to restore); the consulted extension,
    /// if any, is let go.
    pub(super) fn unhold(&mut self, now: Mono, clock: &Clock) -> Vec<LegEffect> {
        let Leg::Held {
            call,
            agent,
            answered_at,
            recording,
            consult,
        } = std::mem::take(&mut self.leg)
        else {
            unreachable!("called on hold only")
        };
        let mut fx = vec![LegEffect::Switch(SwitchCommand::StopPlay { ch: self.ch })];
        if let Some((b, answered)) = consult {
            fx.extend(Self::consult_over(&call, &agent, b, answered, now, clock));
        }
        self.to(Leg::Talking {
            call,
            agent,
            answered_at,
            recording,
            muted: false,
            supervisor: None,
        });
        fx
    }

    /// The consulted extension leaves the consultation: unlinked from the
    /// agent (its talk recorded as tellmsg 4) or its ringing stopped.
    pub(super) fn consult_over(
        call: &CallInfo,
        agent: &Ringer,
        b: Ringer,
        answered: Option<Mono>,
        now: Mono,
        clock: &Clock,
    ) -> Vec<LegEffect> {
        let mut fx = Vec::new();
        if let Some(at) = answered {
            fx.push(LegEffect::Switch(SwitchCommand::Unlink {
                a: agent.seat,
                b: b.seat,
            }));
            fx.push(Self::consult_record(call, agent, &b, at, now, clock));
        }
        fx.push(LegEffect::ConsultGone { ringer: b });
        fx
    }

    /// The record of a consultation between two seats (tellmsg 4).
    pub(super) fn consult_record(
        call: &CallInfo,
        agent: &Ringer,
        b: &Ringer,
        since: Mono,
        now: Mono,
        clock: &Clock,
    ) -> LegEffect {
        LegEffect::Record(Box::new(CallRecord {
            key: format!("consult:{}:{}:{}", call.guid, agent.seat, since.as_millis()),
            tellguid: call.guid,
            ch: agent.seat,
            caller_no: agent.agent.to_string(),
            callee_no: b.agent.to_string(),
            tel_num: Some(agent.agent.clone()),
            work_no: agent.work_no.clone(),
            group_no: None,
            direction: Direction::Internal,
            start_time: clock.wall_at(since),
            queue_time: None,
            answer_time: Some(clock.wall_at(since)),
            end_time: clock.wall_at(now),
            talk_s: now.saturating_sub(since).as_secs() as u32,
            tellmsg: TellMsg::TransferTalk,
            hangup_by: HangupBy::Agent,
            cause: Cause::NORMAL.0,
            record_file: None,
        }))
    }

    /// The agent on hold dialed extension `b` to consult: it rings.
    pub fn consult(&mut self, seat: ChNum, b: Ringer) -> Result<Vec<LegEffect>, NotNow> {
        let Leg::Held { agent, consult, .. } = &mut self.leg else {
            return Err(NotNow("flash first to put the caller on hold"));
        };
        if agent.seat != seat {
            return Err(NotNow("your seat is not on this call"));
        }
        if consult.is_some() {
            return Err(NotNow(
                "already consulting: flash to return, or hang up to transfer",
            ));
        }
        if b.seat == seat {
            return Err(NotNow("you cannot consult yourself"));
        }
        *consult = Some((b.clone(), None));
        Ok(vec![LegEffect::RingSupervisor { ringer: b }])
    }

    /// The agent hung up while the caller was on hold: the consulted
    /// extension gets the call (a transfer), connected if it answered,
    /// ringing alone otherwise. With nobody consulted, the call ends.
    pub(super) fn hung_up_on_hold(
        &mut self,
        now: Mono,
        ring_timeout: Duration,
        clock: &Clock,
    ) -> Vec<LegEffect> {
        let me = self.ch;
        let consult = match &mut self.leg {
            Leg::Held { consult, .. } => consult.take(),
            _ => return vec![],
        };
        let Some((b, answered)) = consult else {
            // Nobody to hand the call to: it ends as the agent's hang-up.
            let mut fx = self.unhold(now, clock);
            fx.extend(self.finish_talk(HangupBy::Agent, Cause::NORMAL, now, clock));
            return fx;
        };
        let Ok((mut call, agent, mut fx)) = self.end_segment(now, clock) else {
            return vec![];
        };
        fx.insert(0, LegEffect::Switch(SwitchCommand::StopPlay { ch: me }));
        if let Some(at) = answered {
            fx.push(LegEffect::Switch(SwitchCommand::Unlink {
                a: agent.seat,
                b: b.seat,
            }));
            fx.push(Self::consult_record(&call, &agent, &b, at, now, clock));
        }
        fx.push(LegEffect::AgentTransferred {
            ringer: agent.clone(),
        });
        call.transferred_by = Some(agent.agent.clone());
        if answered.is_some() {
            return self.connect(call, b, fx, now, clock);
        }
        // Still ringing: a transfer like 1008's, the phone already ringing.
        fx.push(LegEffect::StartRingTimer(ring_timeout));
        self.to(Leg::Ringing {
            call,
            ringers: vec![b],
            since: now,
            picked_up: false,
        });
        fx
    }
}
