//! Supervisors on the call: listen, barge in, take over (a conference
//! numbered after the trunk).

use super::*;

impl InboundLeg {
    /// What letting a supervisor go takes: out of the conference (which
    /// closes), or its phone stops ringing.
    pub(super) fn drop_supervisor(supervisor: Option<Supervision>) -> Vec<LegEffect> {
        match supervisor {
            Some(s) if s.joined => vec![
                LegEffect::ConfClose,
                LegEffect::AgentCallEnded {
                    ringer: s.ringer,
                    by_agent: false,
                },
            ],
            Some(s) => vec![LegEffect::Withdraw {
                ringer: s.ringer,
                why: Unanswered::Withdrawn,
            }],
            None => vec![],
        }
    }

    /// The call's conference number: the trunk's channel number.
    pub fn conf_no(&self) -> ConfNo {
        ConfNo(self.ch.0)
    }

    /// 1019 / 1020: a supervisor listens to, whispers to the agent on, or
    /// barges into the call. A lifted seat joins at once; one on-hook
    /// rings first. The supervisor already on the call changes mode
    /// instead (listen -> whisper -> barge and back), without hanging up.
    pub fn supervise(
        &mut self,
        sup: Ringer,
        mode: SupMode,
        seat_lifted: bool,
    ) -> Result<Vec<LegEffect>, NotNow> {
        let Leg::Talking {
            agent, supervisor, ..
        } = &mut self.leg
        else {
            return Err(NotNow("the call is not connected"));
        };
        if agent.seat == sup.seat {
            return Err(NotNow("you cannot supervise your own call"));
        }
        if let Some(s) = supervisor.as_mut() {
            if s.ringer.seat != sup.seat {
                return Err(NotNow("a supervisor is already on this call"));
            }
            s.mode = mode;
            tracing::trace!(ch = %self.ch, supervisor = %sup.agent, ?mode, "supervisor changes mode");
            // Still ringing: it joins in the new mode when it answers.
            return Ok(match s.joined {
                true => vec![Self::supervisor_joins(s, agent.seat)],
                false => vec![],
            });
        }
        *supervisor = Some(Supervision {
            ringer: sup.clone(),
            mode,
            joined: false,
        });
        if !seat_lifted {
            return Ok(vec![LegEffect::RingSupervisor { ringer: sup }]);
        }
        let mut fx = vec![LegEffect::ConnectSeat {
            ringer: sup.clone(),
        }];
        fx.extend(self.join_supervisor());
        Ok(fx)
    }

    /// The supervisor's place in the conference, in its mode: a whisper is
    /// heard by the agent's seat only.
    fn supervisor_joins(s: &Supervision, agent_seat: ChNum) -> LegEffect {
        LegEffect::ConfJoin {
            ch: s.ringer.seat,
            number: s.ringer.agent.to_string(),
            listen_only: s.mode == SupMode::Listen,
            heard_by: (s.mode == SupMode::Whisper).then_some(agent_seat),
        }
    }

    /// The supervisor's seat is on the call: the caller, the agent and the
    /// supervisor meet in the conference.
    pub(super) fn join_supervisor(&mut self) -> Vec<LegEffect> {
        let me = self.ch;
        let Leg::Talking {
            call,
            agent,
            muted,
            supervisor: Some(s),
            ..
        } = &mut self.leg
        else {
            return vec![];
        };
        s.joined = true;
        tracing::trace!(ch = %me, supervisor = %s.ringer.agent, mode = ?s.mode, "supervisor joined");
        vec![
            LegEffect::Switch(SwitchCommand::Unlink {
                a: me,
                b: agent.seat,
            }),
            LegEffect::ConfJoin {
                ch: me,
                number: call.caller.clone(),
                listen_only: false,
                heard_by: None,
            },
            LegEffect::ConfJoin {
                ch: agent.seat,
                number: agent.agent.to_string(),
                listen_only: *muted,
                heard_by: None,
            },
            Self::supervisor_joins(s, agent.seat),
            LegEffect::AgentConnected {
                ringer: s.ringer.clone(),
            },
        ]
    }

    /// The supervisor hung up: the conference closes and the caller and
    /// the agent are linked directly again.
    pub(super) fn supervisor_left(&mut self) -> Vec<LegEffect> {
        let me = self.ch;
        let Leg::Talking {
            agent,
            muted,
            supervisor,
            ..
        } = &mut self.leg
        else {
            return vec![];
        };
        let Some(s) = supervisor.take() else {
            return vec![];
        };
        if !s.joined {
            return vec![];
        }
        vec![
            LegEffect::ConfClose,
            LegEffect::Switch(if *muted {
                SwitchCommand::Link {
                    a: agent.seat,
                    b: me,
                    two_way: false,
                }
            } else {
                SwitchCommand::Link {
                    a: me,
                    b: agent.seat,
                    two_way: true,
                }
            }),
            LegEffect::AgentCallEnded {
                ringer: s.ringer,
                by_agent: true,
            },
        ]
    }

    /// 1021: the supervisor takes the call; the agent is cut off (its
    /// segment recorded). A supervisor already on the call keeps it; a
    /// lifted seat is connected at once; one on-hook rings.
    pub fn take_over(
        &mut self,
        sup: Ringer,
        seat_lifted: bool,
        now: Mono,
        ring_timeout: Duration,
        clock: &Clock,
    ) -> Result<Vec<LegEffect>, NotNow> {
        let Leg::Talking {
            agent, supervisor, ..
        } = &mut self.leg
        else {
            return Err(NotNow("the call is not connected"));
        };
        if agent.seat == sup.seat {
            return Err(NotNow("it is already your call"));
        }
        // The supervisor on the call is the one taking it: its seat stays.
        let (lifted, ringing) = match supervisor.take() {
            Some(s) if s.ringer.seat == sup.seat => (s.joined, !s.joined),
            Some(s) => {
                *supervisor = Some(s);
                return Err(NotNow("another supervisor is on this call"));
            }
            None => (seat_lifted, false),
        };
        let (call, agent, mut fx) = self.end_segment(now, clock)?;
        if lifted {
            // Out of the conference before the direct link.
            fx.insert(0, LegEffect::ConfClose);
        }
        fx.push(LegEffect::AgentCutOff { ringer: agent });
        if lifted {
            fx.push(LegEffect::ConnectSeat {
                ringer: sup.clone(),
            });
            return Ok(self.connect(call, sup, fx, now, clock));
        }
        if !ringing {
            fx.push(LegEffect::Offer {
                ringer: sup.clone(),
                waited: Duration::ZERO,
                pick_up: true,
            });
        }
        fx.push(LegEffect::StartRingTimer(ring_timeout));
        self.to(Leg::Ringing {
            call,
            ringers: vec![sup],
            since: now,
            picked_up: false,
        });
        Ok(fx)
    }
}
