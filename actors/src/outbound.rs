//! A call a seat places (1003 from the agent's program, or digits dialed on
//! the phone), without I/O.
//!
//! The agent's own seat rings first (showing RingNo) unless it is already
//! lifted; then the far end is called: an outside number on a seized trunk,
//! or another extension; the far end answers or fails; either side hangs
//! up. The originating seat's channel actor hosts this and owns the call:
//! its GUID, times, recording, and the call record it ends with.

use std::time::Duration;

use spcti_protocol::{Cause, ChNum, TelNum, TellGuid};

use crate::clock::{Clock, Mono};
use crate::leg::{NotNow, Ringer};
use crate::records::{CallRecord, Direction, HangupBy, RecordingRow, TellMsg};
use crate::switch::SwitchCommand;
use crate::watch::Talk;

/// Where the called party is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Far {
    /// An outside number, on this (seized) trunk.
    Trunk(ChNum),
    /// Another extension.
    Seat { ch: ChNum, ext: TelNum },
}

impl Far {
    pub fn ch(&self) -> ChNum {
        match self {
            Far::Trunk(ch) | Far::Seat { ch, .. } => *ch,
        }
    }
}

/// Who asked for the call: the client (1003) or the phone's keypad.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Client,
    Phone,
}

/// What is known of the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    pub guid: TellGuid,
    /// The number the far end is shown.
    pub caller: String,
    /// The number as the agent gave it (an outside number keeps its `0`).
    pub callee: String,
    /// What the switch dials (without the outside-line `0`).
    pub dialed: String,
    /// Shown on the agent's own phone while it rings.
    pub ring_no: String,
    /// The seat placing the call, and its agent if one is logged in there.
    pub seat: ChNum,
    pub agent: Option<Ringer>,
    pub far: Far,
    pub origin: Origin,
    pub started: Mono,
    /// Multi-party mode (1003 `Meeting=1`, 1033): the parties meet in the
    /// seat's conference instead of a direct link; each leg is recorded on
    /// its far channel.
    pub meeting: bool,
}

/// The call's state; each state owns its data.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Out {
    /// Over: the host drops the call.
    #[default]
    Done,
    /// The agent's own seat rings.
    SeatRinging { call: Placed },
    /// The far end is being called.
    Dialing { call: Placed, since: Mono },
    Talking {
        call: Placed,
        answered_at: Mono,
        /// Relative to `data_dir/recordings`.
        recording: String,
        /// The agent only listens (1016).
        muted: bool,
    },
}

/// What the call wants done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutEffect {
    Switch(SwitchCommand),
    /// Internal call: ring the far seat, showing `caller`.
    RingFarSeat {
        seat: ChNum,
        caller: String,
    },
    /// Internal call: the far seat stops ringing, or hears nothing now.
    FarSeatGone {
        seat: ChNum,
        was_ringing: bool,
    },
    /// The seized trunk is free again.
    FreeTrunk(ChNum),
    /// Multi-party mode: into (or out of) the seat's conference.
    ConfJoin {
        ch: ChNum,
        number: String,
        listen_only: bool,
    },
    ConfLeave {
        ch: ChNum,
    },
    /// Ring (or stop) the timer for a far end that never answers.
    StartDialTimer(Duration),
    CancelDialTimer,
    /// 6009 to the agent.
    CallResult {
        answered: bool,
        cause: Cause,
    },
    /// The agent is talking (6004).
    AgentConnected,
    /// The call ended for the agent (6007 or 6008).
    AgentEnded {
        by_agent: bool,
    },
    Record(Box<CallRecord>),
    Recording(Box<RecordingRow>),
    /// The agent hung up first on an answered call out on `trunk`: the far
    /// party stays on the line and goes on in `[flow] startflow` (the
    /// survey) instead of being cleared.
    FarToFlow {
        trunk: ChNum,
        call: Box<Placed>,
    },
}

/// The call, as its host sees it.
#[derive(Debug, Clone)]
pub struct OutboundCall {
    pub state: Out,
}

/// How long the far end may ring before the call is given up (Q.850 19).
pub const DIAL_TIMEOUT: Duration = Duration::from_secs(60);

impl OutboundCall {
    /// Starts the call. `lifted`: the seat is already off-hook, so the far
    /// end is called at once.
    pub fn start(call: Placed, lifted: bool, now: Mono) -> (Self, Vec<OutEffect>) {
        let mut this = OutboundCall { state: Out::Done };
        let fx = if lifted {
            this.dial(call, now)
        } else {
            let fx = vec![OutEffect::Switch(SwitchCommand::Alert {
                ch: call.seat,
                caller: call.ring_no.clone(),
            })];
            this.to(Out::SeatRinging { call });
            fx
        };
        (this, fx)
    }

    pub fn is_done(&self) -> bool {
        self.state == Out::Done
    }

    pub fn call(&self) -> Option<&Placed> {
        match &self.state {
            Out::Done => None,
            Out::SeatRinging { call } | Out::Dialing { call, .. } | Out::Talking { call, .. } => {
                Some(call)
            }
        }
    }

    /// The connected call as a supervisor meets it (watch.rs).
    pub fn talk(&self) -> Option<Talk> {
        let Out::Talking { call, muted, .. } = &self.state else {
            return None;
        };
        Some(match call.meeting {
            true => Talk::Meeting,
            false => Talk::Pair {
                seat: call.seat,
                seat_no: seat_number(call),
                far: call.far.ch(),
                far_no: call.callee.clone(),
                muted: *muted,
            },
        })
    }

    fn to(&mut self, state: Out) {
        tracing::trace!(state = ?std::mem::discriminant(&state), "outbound transition");
        self.state = state;
    }

    fn dial(&mut self, call: Placed, now: Mono) -> Vec<OutEffect> {
        let mut fx = vec![match &call.far {
            Far::Trunk(ch) => OutEffect::Switch(SwitchCommand::MakeCall {
                ch: *ch,
                caller: call.caller.clone(),
                callee: call.dialed.clone(),
            }),
            Far::Seat { ch, .. } => OutEffect::RingFarSeat {
                seat: *ch,
                caller: call.caller.clone(),
            },
        }];
        fx.push(OutEffect::StartDialTimer(DIAL_TIMEOUT));
        self.to(Out::Dialing { call, since: now });
        fx
    }

    /// The agent's ringing seat was lifted: call the far end.
    pub fn seat_lifted(&mut self, now: Mono) -> Vec<OutEffect> {
        match std::mem::take(&mut self.state) {
            Out::SeatRinging { call } => self.dial(call, now),
            other => {
                self.state = other;
                vec![]
            }
        }
    }

    /// The far end answered (the trunk's far party, or the far seat lifted).
    pub fn far_answered(&mut self, far: ChNum, now: Mono, clock: &Clock) -> Vec<OutEffect> {
        let call = match std::mem::take(&mut self.state) {
            Out::Dialing { call, .. } if call.far.ch() == far => call,
            other => {
                self.state = other;
                return vec![];
            }
        };
        let recording = format!("{}/{}.wav", clock.wall_at(now).format("%Y%m%d"), call.guid);
        let mut fx = vec![OutEffect::CancelDialTimer];
        if call.meeting {
            fx.push(OutEffect::ConfJoin {
                ch: call.seat,
                number: seat_number(&call),
                listen_only: false,
            });
            fx.push(OutEffect::ConfJoin {
                ch: far,
                number: call.callee.clone(),
                listen_only: false,
            });
        } else {
            fx.push(OutEffect::Switch(SwitchCommand::Link {
                a: call.seat,
                b: far,
                two_way: true,
            }));
        }
        fx.extend([
            OutEffect::Switch(SwitchCommand::Record {
                ch: recorder(&call),
                file: recording.clone().into(),
            }),
            OutEffect::CallResult {
                answered: true,
                cause: Cause::NORMAL,
            },
            OutEffect::AgentConnected,
        ]);
        self.to(Out::Talking {
            call,
            answered_at: now,
            recording,
            muted: false,
        });
        fx
    }

    /// 1016 on a placed call: the agent only listens (`on`) or talks again.
    pub fn mute(&mut self, on: bool) -> Result<Vec<OutEffect>, NotNow> {
        let Out::Talking { call, muted, .. } = &mut self.state else {
            return Err(NotNow("no call is connected"));
        };
        *muted = on;
        let (seat, far) = (call.seat, call.far.ch());
        if call.meeting {
            return Ok(vec![OutEffect::ConfJoin {
                ch: seat,
                number: seat_number(call),
                listen_only: on,
            }]);
        }
        Ok(if on {
            vec![
                OutEffect::Switch(SwitchCommand::Unlink { a: seat, b: far }),
                OutEffect::Switch(SwitchCommand::Link {
                    a: seat,
                    b: far,
                    two_way: false,
                }),
            ]
        } else {
            vec![OutEffect::Switch(SwitchCommand::Link {
                a: seat,
                b: far,
                two_way: true,
            })]
        })
    }

    /// The agent transfers the call: its segment ends here (record and
    /// recording written, the agent released) but the far trunk is not
    /// cleared — its party stays on the line for whoever takes the call.
    /// Answers the call as placed, for the trunk that adopts it.
    pub fn hand_over(
        &mut self,
        now: Mono,
        clock: &Clock,
    ) -> Result<(Placed, Vec<OutEffect>), NotNow> {
        self.leaves_on_its_trunk([
            "a conference call cannot be transferred",
            "a call between extensions cannot be transferred",
        ])?;
        let Out::Talking {
            call,
            answered_at,
            recording,
            ..
        } = std::mem::take(&mut self.state)
        else {
            unreachable!("checked above")
        };
        let tellmsg = match call.origin {
            Origin::Client => TellMsg::OutboundAnswered,
            Origin::Phone => TellMsg::OutboundTalked,
        };
        let fx = vec![
            OutEffect::Switch(SwitchCommand::StopRecord { ch: call.seat }),
            OutEffect::Switch(SwitchCommand::Unlink {
                a: call.seat,
                b: call.far.ch(),
            }),
            OutEffect::AgentEnded { by_agent: true },
            record(
                &call,
                Some(answered_at),
                tellmsg,
                HangupBy::Agent,
                Cause::NORMAL,
                Some(&recording),
                now,
                clock,
            ),
            recording_row(&call, answered_at, recording, now, clock),
        ];
        Ok((call, fx))
    }

    /// Only an answered two-party call out on a trunk can leave the seat
    /// for its trunk; `why` is the refusal for a meeting and for a call
    /// between extensions.
    fn leaves_on_its_trunk(&self, why: [&'static str; 2]) -> Result<(), NotNow> {
        match &self.state {
            Out::Talking { call, .. } if call.meeting => Err(NotNow(why[0])),
            Out::Talking {
                call: Placed {
                    far: Far::Trunk(_), ..
                },
                ..
            } => Ok(()),
            Out::Talking { .. } => Err(NotNow(why[1])),
            _ => Err(NotNow("the call is not connected")),
        }
    }

    /// Whether a supervisor may take this call over (1021): only an
    /// answered two-party call out on a trunk; else why not.
    pub fn can_be_taken_over(&self) -> Result<(), NotNow> {
        self.leaves_on_its_trunk([
            "a conference call cannot be taken over",
            "a call between extensions cannot be taken over",
        ])
    }

    /// 1021: a supervisor takes the call out on a trunk. As a hand-over
    /// (the far party stays on its trunk, which takes the call on), but
    /// for the agent the call was ended by someone else.
    pub fn cut_off(
        &mut self,
        now: Mono,
        clock: &Clock,
    ) -> Result<(Placed, Vec<OutEffect>), NotNow> {
        self.can_be_taken_over()?;
        let (call, mut fx) = self.hand_over(now, clock)?;
        for e in &mut fx {
            if let OutEffect::AgentEnded { by_agent } = e {
                *by_agent = false;
            }
        }
        Ok((call, fx))
    }

    /// The far end is gone: it failed before answering (busy, rejected,
    /// no answer, no circuit) or hung up after.
    pub fn far_cleared(
        &mut self,
        far: ChNum,
        cause: Cause,
        now: Mono,
        clock: &Clock,
    ) -> Vec<OutEffect> {
        if self.call().is_none_or(|c| c.far.ch() != far) {
            return vec![];
        }
        self.end(HangupBy::Caller, cause, now, clock)
    }

    /// Nobody answered in time.
    pub fn dial_timeout(&mut self, now: Mono, clock: &Clock) -> Vec<OutEffect> {
        if !matches!(self.state, Out::Dialing { .. }) {
            return vec![];
        }
        self.end(HangupBy::System, Cause::NO_ANSWER, now, clock)
    }

    /// The agent's seat hung up.
    pub fn seat_hung_up(&mut self, now: Mono, clock: &Clock) -> Vec<OutEffect> {
        self.end(HangupBy::Agent, Cause::NORMAL, now, clock)
    }

    /// The agent hung up first and the site runs a flow for the far party
    /// (`[flow] startflow`): an answered call out on a trunk keeps its far
    /// party, who goes on in the flow; any other call ends as usual.
    pub fn seat_hung_up_to_flow(&mut self, now: Mono, clock: &Clock) -> Vec<OutEffect> {
        let (call, trunk) = match &self.state {
            Out::Talking { call, .. } if !call.meeting => match call.far {
                Far::Trunk(t) => (call.clone(), t),
                Far::Seat { .. } => return self.seat_hung_up(now, clock),
            },
            _ => return self.seat_hung_up(now, clock),
        };
        let mut fx = self.seat_hung_up(now, clock);
        // The far party is not cleared nor its trunk freed: it is handed on.
        fx.retain(|e| {
            !matches!(e, OutEffect::Switch(SwitchCommand::Clear { ch, .. }) if *ch == trunk)
                && !matches!(e, OutEffect::FreeTrunk(ch) if *ch == trunk)
        });
        fx.push(OutEffect::FarToFlow {
            trunk,
            call: Box::new(call),
        });
        fx
    }

    /// An operator or supervisor ends the call (1027, 1022).
    pub fn release(&mut self, now: Mono, clock: &Clock) -> Vec<OutEffect> {
        self.end(HangupBy::System, Cause::NORMAL, now, clock)
    }

    /// Tears the far side down. A trunk is always released, even when its
    /// party left first (the switch holds a cleared channel until told);
    /// a far seat that hung up itself needs no word.
    fn clear_far(far: &Far, far_left: bool, was_ringing: bool, fx: &mut Vec<OutEffect>) {
        match far {
            Far::Seat { .. } if far_left => {}
            Far::Trunk(ch) => {
                fx.push(OutEffect::Switch(SwitchCommand::Clear {
                    ch: *ch,
                    cause: Cause::NORMAL,
                }));
                fx.push(OutEffect::FreeTrunk(*ch));
            }
            Far::Seat { ch, .. } => fx.push(OutEffect::FarSeatGone {
                seat: *ch,
                was_ringing,
            }),
        }
    }

    fn end(&mut self, by: HangupBy, cause: Cause, now: Mono, clock: &Clock) -> Vec<OutEffect> {
        let internal = |c: &Placed| matches!(c.far, Far::Seat { .. });
        let mut fx = Vec::new();
        match std::mem::take(&mut self.state) {
            Out::Done => return fx,
            Out::SeatRinging { call } => {
                // Never dialed: the agent's phone stops ringing; nothing to record
                // but the attempt.
                fx.push(OutEffect::Switch(SwitchCommand::Clear {
                    ch: call.seat,
                    cause,
                }));
                Self::clear_far(&call.far, false, false, &mut fx);
                fx.push(OutEffect::CallResult {
                    answered: false,
                    cause,
                });
                fx.push(OutEffect::AgentEnded { by_agent: false });
                fx.push(record(
                    &call,
                    None,
                    TellMsg::OutboundAbandoned,
                    by,
                    cause,
                    None,
                    now,
                    clock,
                ));
            }
            Out::Dialing { call, .. } => {
                fx.push(OutEffect::CancelDialTimer);
                Self::clear_far(&call.far, by == HangupBy::Caller, true, &mut fx);
                fx.push(OutEffect::CallResult {
                    answered: false,
                    cause,
                });
                fx.push(OutEffect::AgentEnded {
                    by_agent: by == HangupBy::Agent,
                });
                let tellmsg = match by {
                    HangupBy::Agent => TellMsg::OutboundAbandoned,
                    _ => TellMsg::OutboundFailed,
                };
                fx.push(record(&call, None, tellmsg, by, cause, None, now, clock));
            }
            Out::Talking {
                call,
                answered_at,
                recording,
                ..
            } => {
                fx.push(OutEffect::Switch(SwitchCommand::StopRecord {
                    ch: recorder(&call),
                }));
                fx.push(if call.meeting {
                    OutEffect::ConfLeave { ch: call.far.ch() }
                } else {
                    OutEffect::Switch(SwitchCommand::Unlink {
                        a: call.seat,
                        b: call.far.ch(),
                    })
                });
                Self::clear_far(&call.far, by == HangupBy::Caller, false, &mut fx);
                fx.push(OutEffect::AgentEnded {
                    by_agent: by == HangupBy::Agent,
                });
                let tellmsg = match (internal(&call), call.origin) {
                    (true, _) => TellMsg::Internal,
                    (false, Origin::Client) => TellMsg::OutboundAnswered,
                    (false, Origin::Phone) => TellMsg::OutboundTalked,
                };
                fx.push(record(
                    &call,
                    Some(answered_at),
                    tellmsg,
                    by,
                    cause,
                    Some(&recording),
                    now,
                    clock,
                ));
                fx.push(recording_row(&call, answered_at, recording, now, clock));
            }
        }
        fx
    }
}

/// The `sprecord` row of a placed call's talk.
fn recording_row(
    call: &Placed,
    answered_at: Mono,
    recording: String,
    now: Mono,
    clock: &Clock,
) -> OutEffect {
    OutEffect::Recording(Box::new(RecordingRow {
        key: format!("rec:{}:{}", call.guid, call.seat),
        tellguid: call.guid,
        caller_no: call.caller.clone(),
        callee_no: call.callee.clone(),
        tel_num: call.agent.as_ref().map(|a| a.agent.clone()),
        work_no: call.agent.as_ref().and_then(|a| a.work_no.clone()),
        start_time: clock.wall_at(answered_at),
        end_time: clock.wall_at(now),
        duration_s: now.saturating_sub(answered_at).as_secs() as u32,
        file_name: recording,
        direction: direction(call),
    }))
}

/// The seat's number in its conference.
fn seat_number(call: &Placed) -> String {
    call.agent
        .as_ref()
        .map_or_else(|| call.caller.clone(), |a| a.agent.to_string())
}

/// The channel a leg's talk is recorded on: the seat, or in multi-party
/// mode the far channel (one recording per leg; the seat hears them all).
fn recorder(call: &Placed) -> ChNum {
    if call.meeting {
        call.far.ch()
    } else {
        call.seat
    }
}

fn direction(call: &Placed) -> Direction {
    match call.far {
        Far::Trunk(_) => Direction::Out,
        Far::Seat { .. } => Direction::Internal,
    }
}

#[allow(clippy::too_many_arguments)]
fn record(
    call: &Placed,
    answered_at: Option<Mono>,
    tellmsg: TellMsg,
    by: HangupBy,
    cause: Cause,
    recording: Option<&str>,
    now: Mono,
    clock: &Clock,
) -> OutEffect {
    let talk = answered_at.map_or(Duration::ZERO, |a| now.saturating_sub(a));
    OutEffect::Record(Box::new(CallRecord {
        key: format!("call:{}:{}", call.guid, call.seat),
        tellguid: call.guid,
        ch: call.seat,
        caller_no: call.caller.clone(),
        callee_no: call.callee.clone(),
        tel_num: call.agent.as_ref().map(|a| a.agent.clone()),
        work_no: call.agent.as_ref().and_then(|a| a.work_no.clone()),
        group_no: None,
        direction: direction(call),
        start_time: clock.wall_at(call.started),
        queue_time: None,
        answer_time: answered_at.map(|a| clock.wall_at(a)),
        end_time: clock.wall_at(now),
        talk_s: talk.as_secs() as u32,
        tellmsg,
        hangup_by: by,
        cause: cause.0,
        record_file: recording.map(str::to_owned),
    }))
}

/// A seat's multi-party call (1003 `Meeting=1`, 1033), sans-I/O: its legs
/// (each an [`OutboundCall`]) meet in the seat's conference. It decides
/// when the agent is connected, when the meeting ends and which legs go
/// when the agent leaves; the seat actor carries that out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meeting {
    /// Everyone is hung up when the agent hangs up (HALLH).
    hallh: bool,
    /// The agent is still in the conference.
    agent_in: bool,
    /// The agent was told it is connected (6004 once, at the first answer).
    connected: bool,
}

/// What a meeting does after its legs changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeetingStep {
    /// It goes on.
    Continue,
    /// Without the agent, one party is left alone: let it go.
    ReleaseLast,
    /// No leg is left: the meeting is over; `agent_in`: the agent was still
    /// in it (its phone and its client are told the call ended).
    Over { agent_in: bool },
}

impl Meeting {
    pub fn new(hallh: bool) -> Self {
        Meeting {
            hallh,
            agent_in: true,
            connected: false,
        }
    }

    /// Everyone is hung up when the agent hangs up.
    pub fn hallh(&self) -> bool {
        self.hallh
    }

    /// The agent is still in the conference (another party may join).
    pub fn agent_in(&self) -> bool {
        self.agent_in
    }

    /// A leg answered: whether the agent is to be told it is connected
    /// (once per meeting: the agent is on one call).
    pub fn connect(&mut self) -> bool {
        !std::mem::replace(&mut self.connected, true)
    }

    /// The legs changed; `legs` are left.
    pub fn step(&self, legs: usize) -> MeetingStep {
        match legs {
            0 => MeetingStep::Over {
                agent_in: self.agent_in,
            },
            1 if !self.agent_in => MeetingStep::ReleaseLast,
            _ => MeetingStep::Continue,
        }
    }

    /// The agent hung up. Answers, for a leg, whether it is hung up too:
    /// with HALLH every leg is; otherwise only the legs not yet talking
    /// (the parties talking go on without the agent).
    pub fn agent_left(&mut self) -> impl Fn(&Out) -> bool + use<> {
        self.agent_in = false;
        let hallh = self.hallh;
        move |o: &Out| hallh || !matches!(o, Out::Talking { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    fn placed(far: Far) -> Placed {
        Placed {
            guid: TellGuid::new_v4(),
            caller: "4008001234".into(),
            callee: "013900000000".into(),
            dialed: "13900000000".into(),
            ring_no: "013900000000".into(),
            seat: ChNum(30),
            agent: Some(Ringer {
                agent: TelNum::new("8001").unwrap(),
                work_no: None,
                seat: ChNum(30),
            }),
            far,
            origin: Origin::Client,
            started: s(0),
            meeting: false,
        }
    }

    fn record_of(fx: &[OutEffect]) -> &CallRecord {
        fx.iter()
            .find_map(|e| match e {
                OutEffect::Record(r) => Some(&**r),
                _ => None,
            })
            .expect("a call record")
    }

    #[test]
    fn with_a_startflow_the_far_party_stays_for_it_when_the_agent_hangs_up() {
        let clock = Clock::manual();
        let (mut out, _) = OutboundCall::start(placed(Far::Trunk(ChNum(3))), false, s(0));
        out.seat_lifted(s(2));
        out.far_answered(ChNum(3), s(5), &clock);
        let fx = out.seat_hung_up_to_flow(s(65), &clock);
        assert!(
            !fx.iter().any(|e| matches!(
                e,
                OutEffect::FreeTrunk(_)
                    | OutEffect::Switch(SwitchCommand::Clear { ch: ChNum(3), .. })
            )),
            "{fx:?}"
        );
        assert!(fx.iter().any(|e| matches!(
            e,
            OutEffect::FarToFlow {
                trunk: ChNum(3),
                ..
            }
        )));
        assert_eq!(record_of(&fx).tellmsg, TellMsg::OutboundAnswered);
        // Before it was answered: an ordinary end.
        let (mut out, _) = OutboundCall::start(placed(Far::Trunk(ChNum(3))), false, s(0));
        out.seat_lifted(s(2));
        let fx = out.seat_hung_up_to_flow(s(3), &clock);
        assert!(fx.contains(&OutEffect::FreeTrunk(ChNum(3))));
        assert!(!fx.iter().any(|e| matches!(e, OutEffect::FarToFlow { .. })));
    }

    #[test]
    fn seat_rings_first_then_the_trunk_dials_and_the_talk_is_recorded() {
        let clock = Clock::manual();
        let (mut out, fx) = OutboundCall::start(placed(Far::Trunk(ChNum(3))), false, s(0));
        assert_eq!(
            fx,
            vec![OutEffect::Switch(SwitchCommand::Alert {
                ch: ChNum(30),
                caller: "013900000000".into()
            })]
        );
        let fx = out.seat_lifted(s(2));
        assert_eq!(
            fx[0],
            OutEffect::Switch(SwitchCommand::MakeCall {
                ch: ChNum(3),
                caller: "4008001234".into(),
                callee: "13900000000".into()
            })
        );
        assert!(
            out.far_answered(ChNum(4), s(5), &clock).is_empty(),
            "not ours"
        );
        let fx = out.far_answered(ChNum(3), s(5), &clock);
        assert!(fx.contains(&OutEffect::CallResult {
            answered: true,
            cause: Cause::NORMAL
        }));
        let fx = out.seat_hung_up(s(65), &clock);
        let r = record_of(&fx);
        assert_eq!(
            (r.tellmsg, r.hangup_by, r.talk_s, r.direction),
            (
                TellMsg::OutboundAnswered,
                HangupBy::Agent,
                60,
                Direction::Out
            )
        );
        assert!(fx.contains(&OutEffect::FreeTrunk(ChNum(3))));
        assert!(out.is_done());
    }

    #[test]
    fn each_way_an_outbound_call_can_fail_has_its_tellmsg() {
        let clock = Clock::manual();
        let (mut out, _) = OutboundCall::start(placed(Far::Trunk(ChNum(3))), true, s(0));
        let fx = out.far_cleared(ChNum(3), Cause::BUSY, s(3), &clock);
        assert!(fx.contains(&OutEffect::CallResult {
            answered: false,
            cause: Cause::BUSY
        }));
        assert_eq!(record_of(&fx).tellmsg, TellMsg::OutboundFailed);
        assert_eq!(record_of(&fx).cause, 17);

        let (mut out, _) = OutboundCall::start(placed(Far::Trunk(ChNum(3))), true, s(0));
        let fx = out.seat_hung_up(s(3), &clock);
        assert_eq!(record_of(&fx).tellmsg, TellMsg::OutboundAbandoned);
        assert!(fx.contains(&OutEffect::Switch(SwitchCommand::Clear {
            ch: ChNum(3),
            cause: Cause::NORMAL
        })));

        let (mut out, _) = OutboundCall::start(placed(Far::Trunk(ChNum(3))), true, s(0));
        let fx = out.dial_timeout(s(60), &clock);
        assert_eq!(record_of(&fx).cause, 19);

        let far = Far::Seat {
            ch: ChNum(31),
            ext: TelNum::new("8002").unwrap(),
        };
        let (mut out, fx) = OutboundCall::start(placed(far), true, s(0));
        assert_eq!(
            fx[0],
            OutEffect::RingFarSeat {
                seat: ChNum(31),
                caller: "4008001234".into()
            }
        );
        out.far_answered(ChNum(31), s(1), &clock);
        let fx = out.far_cleared(ChNum(31), Cause::NORMAL, s(11), &clock);
        let r = record_of(&fx);
        assert_eq!(
            (r.tellmsg, r.hangup_by, r.talk_s),
            (TellMsg::Internal, HangupBy::Caller, 10)
        );
        assert!(fx.contains(&OutEffect::AgentEnded { by_agent: false }));
    }

    #[test]
    fn a_meeting_connects_the_agent_once_and_ends_with_its_last_leg() {
        let mut m = Meeting::new(false);
        assert!(m.connect(), "the first answer connects the agent");
        assert!(!m.connect(), "later answers do not tell it again");
        assert_eq!(m.step(2), MeetingStep::Continue);
        assert_eq!(m.step(1), MeetingStep::Continue, "the agent is still in");
        assert_eq!(m.step(0), MeetingStep::Over { agent_in: true });
    }

    #[test]
    fn without_hallh_talking_parties_stay_when_the_agent_leaves() {
        let mut m = Meeting::new(false);
        let hang_up = m.agent_left();
        let talking = Out::Talking {
            call: placed(Far::Trunk(ChNum(1))),
            answered_at: s(0),
            recording: String::new(),
            muted: false,
        };
        assert!(!hang_up(&talking));
        assert!(hang_up(&Out::Done));
        assert!(!m.agent_in());
        assert_eq!(m.step(2), MeetingStep::Continue);
        assert_eq!(
            m.step(1),
            MeetingStep::ReleaseLast,
            "one party alone is let go"
        );
        assert_eq!(m.step(0), MeetingStep::Over { agent_in: false });
    }

    #[test]
    fn with_hallh_everyone_is_hung_up_with_the_agent() {
        let mut m = Meeting::new(true);
        assert!(m.hallh());
        let hang_up = m.agent_left();
        let talking = Out::Talking {
            call: placed(Far::Trunk(ChNum(1))),
            answered_at: s(0),
            recording: String::new(),
            muted: false,
        };
        assert!(hang_up(&talking));
    }
}
