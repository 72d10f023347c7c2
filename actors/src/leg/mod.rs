//! An inbound call on a trunk, without I/O: IVR, queue, ringing agents,
//! talking, and the call record each ending writes.
//!
//! The trunk leg owns the call (its GUID, numbers, times, recording); the
//! seat legs and agents it rings only report back to it.

use std::sync::Arc;
use std::time::Duration;

use spcti_protocol::{Cause, ChNum, ChannelState, ConfNo, GroupNo, TelNum, TellGuid, WorkNo};

use crate::agent::Unanswered;
use crate::clock::{Clock, Mono};
use crate::flow::{Flow, FlowBook, FlowRun};
use crate::records::{CallRecord, Customer, Direction, HangupBy, RecordingRow, TellMsg};
use crate::switch::SwitchCommand;

mod hold;
mod in_flow;
pub mod ivr;
mod supervise;
mod transfer;

pub use ivr::{IvrAction, IvrInput, WELCOME_PROMPT};

/// How long a call waits for its customer data before it is offered without it.
pub const CUSTOMER_LOOKUP_TIMEOUT: Duration = Duration::from_secs(3);

/// How soon a call whose `max_wait` ran out while it rang an agent is
/// looked at again.
pub const MAX_WAIT_RECHECK: Duration = Duration::from_secs(1);

/// Cause used when the system itself tears a call down (Q.850 41, temporary failure).
pub const SYSTEM_FAILURE: Cause = Cause(41);

/// What is known of the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallInfo {
    pub guid: TellGuid,
    pub caller: String,
    pub callee: String,
    pub started: Mono,
    pub group: Option<GroupNo>,
    pub queued_at: Option<Mono>,
    /// `None` while the lookup is under way: the call is not offered before
    /// the screen pop has its data (or the lookup timed out).
    pub customer: Option<Customer>,
    /// Agents that let it ring out.
    pub tried: Vec<TelNum>,
    /// The agent who last transferred the call: it may take it back (1009,
    /// 1007) while the call still rings or waits.
    pub transferred_by: Option<TelNum>,
    /// The call came back to the agent who transferred it (tellmsg 17).
    pub returned: bool,
    /// Talk segments so far (one per agent who answered): names each
    /// segment's recording and record.
    pub segments: u32,
    /// `in` for a call that came in; `out` for one an agent placed and then
    /// transferred (the trunk took it over).
    pub direction: Direction,
    /// The flow's variables for the screen pop (flows.md `popup`), taken
    /// when the flow queued the call.
    pub popup: Vec<(String, String)>,
    /// Every flow variable as the flow left them, once the call has left
    /// its flow for good (an agent sent it to a group); while `stay` is
    /// kept, its run holds them: read them with [`CallInfo::vars`].
    pub vars: std::collections::BTreeMap<String, String>,
    /// The flow's wishes for the wait in the queue (none when a transfer
    /// or no flow queued it).
    pub stay: Option<Box<ivr::QueueStay>>,
    /// The caller went back into a flow after talking to an agent (the
    /// survey): the talk's record is written; the flow's end adds none.
    pub after_talk: bool,
    /// A voicemail the caller left or is leaving: the call's record says
    /// so (tellmsg 16) and names its file.
    pub voicemail: Option<ivr::Voicemail>,
}

impl CallInfo {
    /// Caller priority in the queue (0 unless a flow set it).
    pub fn priority(&self) -> u32 {
        self.stay.as_ref().map_or(0, |s| s.priority)
    }

    /// Every flow variable as the flow left them when it queued the call
    /// (1006 reads them while the agent talks). One copy: the parked run's
    /// while the call keeps it, which is where they are when no agent
    /// sent the call on.
    pub fn vars(&self) -> &std::collections::BTreeMap<String, String> {
        self.stay.as_ref().map_or(&self.vars, |s| &s.flow.vars)
    }

    /// The call leaves its flow for good: the flow's wishes for the wait
    /// go, its variables stay with the call.
    pub fn leave_flow(&mut self) {
        if let Some(stay) = self.stay.take() {
            self.vars = stay.flow.vars;
        }
    }

    /// The music the caller hears while waiting, if the flow chose one.
    pub fn music(&self) -> Option<&str> {
        self.stay.as_ref().and_then(|s| s.music.as_deref())
    }
}

/// Where a transfer sends the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferTo {
    /// An extension (an agent's seat): it rings, with a screen pop for the
    /// agent there.
    Seat(Ringer),
    /// A queue group: the call waits there like any other.
    Group(GroupNo),
    /// An outside number, dialed on this seized trunk (`[sys] transtoout`).
    Outside {
        trunk: ChNum,
        caller: String,
        dialed: String,
    },
}

/// An agent whose seat rings for the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ringer {
    pub agent: TelNum,
    pub work_no: Option<WorkNo>,
    pub seat: ChNum,
}

/// The leg's state; each state owns its data.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Leg {
    #[default]
    Free,
    /// The call is in its flow (the IVR).
    Ivr {
        call: CallInfo,
        flow: FlowRun,
        /// The flow queued the call; it joins the queue once the customer
        /// lookup answered (the pop needs the data).
        queue_when_known: Option<ivr::QueueWish>,
        /// The flow's timer is armed.
        timer: bool,
    },
    Queued {
        call: CallInfo,
    },
    Ringing {
        call: CallInfo,
        ringers: Vec<Ringer>,
        since: Mono,
        /// Rung for the agent who picked it up: nobody else may pick it
        /// up from them (two pick-ups at once: the first wins).
        picked_up: bool,
    },
    Talking {
        call: CallInfo,
        agent: Ringer,
        answered_at: Mono,
        /// Relative to `data_dir/recordings`.
        recording: String,
        /// The agent only listens: the caller does not hear the seat (1016).
        muted: bool,
        /// A supervisor listening (1019) or barging in (1020).
        supervisor: Option<Supervision>,
    },
    /// The agent flashed: the caller is on hold (hearing the queue music)
    /// while the agent dials, and maybe talks to, another extension.
    Held {
        call: CallInfo,
        agent: Ringer,
        answered_at: Mono,
        recording: String,
        /// The extension consulted, and when it answered.
        consult: Option<(Ringer, Option<Mono>)>,
    },
    /// Transferred to an outside number on a second (seized) trunk.
    Outside {
        call: CallInfo,
        trunk: ChNum,
        dialed: String,
        /// The transfer's far end answered; its talk is recorded.
        answered: Option<(Mono, String)>,
    },
}

/// What a caller on hold hears (looped).
pub const HOLD_PROMPT: &str = "queue";

/// What a hook flash did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flash {
    /// The caller is on hold; the agent may dial an extension.
    Held,
    /// Back to the caller.
    Returned,
}

/// How long an outside transfer target may ring before the caller goes
/// back to the queue.
pub const OUTSIDE_TIMEOUT: Duration = Duration::from_secs(60);

/// A supervisor on a call. While joined, the caller, the agent and the
/// supervisor are members of the call's conference (numbered after the
/// trunk), as Keygoe did it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Supervision {
    pub ringer: Ringer,
    pub mode: SupMode,
    /// The supervisor's seat is in the conference (not still ringing).
    pub joined: bool,
}

/// How a supervisor is on a call (1019, 1020).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SupMode {
    /// Hears both sides, says nothing (1019).
    Listen,
    /// Hears both sides, heard by the agent only (1019 `Mode=whisper`).
    Whisper,
    /// Hears and is heard by both (1020).
    Barge,
}

/// What the leg wants done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LegEffect {
    Switch(SwitchCommand),
    LookupCustomer(String),
    /// Join (or rejoin) the group's queue.
    Enqueue {
        group: GroupNo,
        since: Mono,
        tried: Vec<TelNum>,
        /// Caller priority, higher first.
        priority: u32,
    },
    /// The call left the group's queue; `abandoned` when the caller hung up.
    LeaveQueue {
        group: GroupNo,
        abandoned: bool,
    },
    /// An agent answered after the caller waited `waited`.
    AnsweredInGroup {
        group: GroupNo,
        waited: Duration,
    },
    /// Offer the call to an agent (screen pop) and ring its seat;
    /// `pick_up` when the agent asked for it (allowed while busy).
    Offer {
        ringer: Ringer,
        waited: Duration,
        pick_up: bool,
    },
    /// The offer to an agent ended without them answering.
    Withdraw {
        ringer: Ringer,
        why: Unanswered,
    },
    /// Connect an agent's seat that is already off-hook (pick-up).
    ConnectSeat {
        ringer: Ringer,
    },
    /// The agent is talking on this call.
    AgentConnected {
        ringer: Ringer,
    },
    /// The call ended for the agent; `by_agent` when the seat hung up.
    AgentCallEnded {
        ringer: Ringer,
        by_agent: bool,
    },
    /// The agent transferred the call away: its seat hears nothing now.
    AgentTransferred {
        ringer: Ringer,
    },
    /// Join the call's conference (created at the first join).
    ConfJoin {
        ch: ChNum,
        number: String,
        listen_only: bool,
        /// Heard by this member only (a supervisor's whisper).
        heard_by: Option<ChNum>,
    },
    /// Every member leaves; the conference is over.
    ConfClose,
    /// Ring a supervisor's seat, or a consulted extension, for the call (no
    /// screen pop).
    RingSupervisor {
        ringer: Ringer,
    },
    /// The consulted extension is let go: it stops ringing or hears nothing.
    ConsultGone {
        ringer: Ringer,
    },

    /// The agent was cut off the call (a supervisor took it over).
    AgentCutOff {
        ringer: Ringer,
    },
    /// This seized trunk is free again.
    FreeTrunk(ChNum),
    /// A seat reported for a call it no longer has.
    SeatOrphaned {
        seat: ChNum,
    },
    StartRingTimer(Duration),
    CancelRingTimer,
    /// A flow's HTTP request; its answer goes back to the flow.
    FlowHttp(crate::flow::HttpRequest),
    /// A flow's `transfer` node: the trunk asks where `to` is reached and
    /// gives the answer to [`InboundLeg::flow_transfer`].
    FlowTransfer(String),
    /// The flow's transfer target was not reached (no answer, declined):
    /// the call is back in its flow, which goes on at the node's `fail`
    /// once the trunk passes this to [`InboundLeg::flow_transfer`].
    TransferFailed(String),
    /// The queue's announcement timer (its `announce` input when it runs
    /// out: the trunk asks the group where the call stands).
    StartAnnounceTimer(Duration),
    CancelAnnounceTimer,
    /// A survey answer to keep (`sp_survey`).
    Survey(Box<crate::records::SurveyAnswer>),
    /// The call flow's timer (its `Timer` input when it runs out).
    StartFlowTimer(Duration),
    CancelFlowTimer,
    Record(Box<CallRecord>),
    Recording(Box<RecordingRow>),
}

/// An input the leg cannot take in its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotNow(pub &'static str);

/// How a call ended, for its record.
struct Ending<'a> {
    agent: Option<&'a Ringer>,
    answered_at: Option<Mono>,
    tellmsg: TellMsg,
    hangup_by: HangupBy,
    cause: Cause,
    recording: Option<&'a str>,
}

impl Ending<'_> {
    /// An ending before anyone answered.
    fn unanswered(tellmsg: TellMsg, hangup_by: HangupBy, cause: Cause) -> Self {
        Ending {
            agent: None,
            answered_at: None,
            tellmsg,
            hangup_by,
            cause,
            recording: None,
        }
    }
}

/// The trunk's inbound leg.
#[derive(Debug, Clone)]
pub struct InboundLeg {
    pub ch: ChNum,
    pub leg: Leg,
}

impl InboundLeg {
    pub fn new(ch: ChNum) -> Self {
        InboundLeg { ch, leg: Leg::Free }
    }

    /// The agent on the call, once answered.
    pub fn talking_to(&self) -> Option<&Ringer> {
        match &self.leg {
            Leg::Talking { agent, .. } | Leg::Held { agent, .. } => Some(agent),
            _ => None,
        }
    }

    /// The channel this trunk's caller hears.
    pub fn link(&self) -> Option<ChNum> {
        match &self.leg {
            Leg::Talking { agent, .. } => Some(agent.seat),
            Leg::Outside {
                trunk,
                answered: Some(_),
                ..
            } => Some(*trunk),
            _ => None,
        }
    }

    /// The state monitors show for this trunk.
    pub fn channel_state(&self) -> ChannelState {
        match self.leg {
            Leg::Free => ChannelState::Free,
            Leg::Ivr { .. } => ChannelState::Ivr,
            Leg::Queued { .. } => ChannelState::Queued,
            Leg::Ringing { .. } => ChannelState::Ringing,
            Leg::Talking { .. } => ChannelState::Talking,
            Leg::Held { .. } => ChannelState::Held,
            Leg::Outside { answered: None, .. } => ChannelState::Dialing,
            Leg::Outside { .. } => ChannelState::Talking,
        }
    }

    /// The call, if any.
    pub fn call(&self) -> Option<&CallInfo> {
        match &self.leg {
            Leg::Free => None,
            Leg::Ivr { call, .. }
            | Leg::Queued { call }
            | Leg::Ringing { call, .. }
            | Leg::Talking { call, .. }
            | Leg::Held { call, .. }
            | Leg::Outside { call, .. } => Some(call),
        }
    }

    fn call_mut(&mut self) -> Option<&mut CallInfo> {
        match &mut self.leg {
            Leg::Free => None,
            Leg::Ivr { call, .. }
            | Leg::Queued { call }
            | Leg::Ringing { call, .. }
            | Leg::Talking { call, .. }
            | Leg::Held { call, .. }
            | Leg::Outside { call, .. } => Some(call),
        }
    }

    fn to(&mut self, leg: Leg) {
        tracing::trace!(ch = %self.ch, from = ?self.channel_state(), "leg transition");
        self.leg = leg;
    }

    /// A call arrives: answer it, look the caller up, and start `flow`
    /// (the version the call keeps to its end).
    #[allow(clippy::too_many_arguments)]
    pub fn call_in(
        &mut self,
        guid: TellGuid,
        caller: String,
        callee: String,
        flow: Arc<Flow>,
        now: Mono,
        clock: &Clock,
        flows: &FlowBook,
    ) -> Result<Vec<LegEffect>, NotNow> {
        if self.leg != Leg::Free {
            return Err(NotNow("a call arrived on a busy trunk"));
        }
        let call = CallInfo {
            guid,
            caller,
            callee,
            started: now,
            group: None,
            queued_at: None,
            customer: None,
            tried: Vec::new(),
            transferred_by: None,
            returned: false,
            segments: 0,
            direction: Direction::In,
            popup: Vec::new(),
            vars: Default::default(),
            stay: None,
            after_talk: false,
            voicemail: None,
        };
        let mut fx = vec![
            LegEffect::Switch(SwitchCommand::Answer { ch: self.ch }),
            LegEffect::LookupCustomer(call.caller.clone()),
        ];
        let mut flow = ivr::run_for(flow, &call, self.ch);
        let actions = ivr::with_env(flows, now, clock, |env| flow.start(env));
        fx.extend(self.enter_ivr(call, flow, actions, now, clock));
        Ok(fx)
    }

    /// The customer lookup answered (`None`: unknown caller, failed or timed
    /// out). The first answer counts.
    pub fn customer(&mut self, customer: Option<Customer>, now: Mono) -> Vec<LegEffect> {
        let Some(call) = self.call_mut() else {
            return vec![];
        };
        if call.customer.is_some() {
            return vec![];
        }
        call.customer = Some(customer.unwrap_or_default());
        let wish = match &mut self.leg {
            Leg::Ivr {
                queue_when_known, ..
            } => queue_when_known.take(),
            _ => None,
        };
        wish.map_or_else(Vec::new, |w| self.enqueue(w, now))
    }

    /// A prompt ended: on hold the music loops; in the IVR the flow goes on.
    pub fn play_done(
        &mut self,
        completed: bool,
        now: Mono,
        clock: &Clock,
        flows: &FlowBook,
    ) -> Vec<LegEffect> {
        match &self.leg {
            Leg::Held { .. } if completed => vec![LegEffect::Switch(SwitchCommand::Play {
                ch: self.ch,
                prompt: HOLD_PROMPT.into(),
            })],
            Leg::Ivr { .. } => self.flow_input(IvrInput::PlayDone { completed }, now, clock, flows),
            Leg::Queued { .. } | Leg::Ringing { .. } => self.music_done(completed),
            _ => vec![],
        }
    }

    /// The group offers the call to these agents.
    pub fn offer(
        &mut self,
        ringers: Vec<Ringer>,
        now: Mono,
        ring_timeout: Duration,
    ) -> Result<Vec<LegEffect>, NotNow> {
        if !matches!(self.leg, Leg::Queued { .. }) || ringers.is_empty() {
            return Err(NotNow("the call is no longer waiting"));
        }
        let Leg::Queued { call } = std::mem::take(&mut self.leg) else {
            unreachable!("checked above")
        };
        let waited = now.saturating_sub(call.queued_at.unwrap_or(now));
        let mut fx: Vec<LegEffect> = ringers
            .iter()
            .map(|r| LegEffect::Offer {
                ringer: r.clone(),
                waited,
                pick_up: false,
            })
            .collect();
        fx.push(LegEffect::StartRingTimer(ring_timeout));
        self.to(Leg::Ringing {
            call,
            ringers,
            since: now,
            picked_up: false,
        });
        Ok(fx)
    }

    fn requeue(&mut self, mut call: CallInfo, mut fx: Vec<LegEffect>) -> Vec<LegEffect> {
        fx.push(LegEffect::CancelRingTimer);
        // Put through by its flow's `transfer` node: the flow decides.
        if let Some(stay) = call.stay.take_if(|s| s.flow.at_transfer()) {
            self.to(Leg::Ivr {
                call,
                flow: stay.flow,
                queue_when_known: None,
                timer: false,
            });
            fx.push(LegEffect::TransferFailed("nobody answered".into()));
            return fx;
        }
        if let Some(group) = call.group {
            fx.push(LegEffect::Enqueue {
                group,
                since: call.queued_at.unwrap_or(call.started),
                tried: call.tried.clone(),
                priority: call.priority(),
            });
        }
        self.to(Leg::Queued { call });
        fx
    }

    /// An offered agent could not take the call (went busy meanwhile, or its seat could not ring).
    pub fn declined(&mut self, agent: &TelNum, refused: bool) -> Vec<LegEffect> {
        let Leg::Ringing { ringers, call, .. } = &mut self.leg else {
            return vec![];
        };
        let Some(i) = ringers.iter().position(|r| &r.agent == agent) else {
            return vec![];
        };
        let r = ringers.remove(i);
        // A phone that refused the ring counts as one that rang out: the
        // call goes to others first (and its agent pauses, REFUSED_PAUSE).
        if refused && !call.tried.contains(agent) {
            call.tried.push(agent.clone());
        }
        let fx = vec![LegEffect::Withdraw {
            ringer: r,
            why: if refused {
                Unanswered::Refused
            } else {
                Unanswered::Withdrawn
            },
        }];
        if !ringers.is_empty() {
            return fx;
        }
        let Leg::Ringing { call, .. } = std::mem::take(&mut self.leg) else {
            unreachable!()
        };
        self.requeue(call, fx)
    }

    /// Nobody answered within the ring timeout: back to the queue.
    pub fn ring_timeout(&mut self) -> Vec<LegEffect> {
        if matches!(self.leg, Leg::Outside { answered: None, .. }) {
            return self.outside_failed();
        }
        let Leg::Ringing {
            mut call, ringers, ..
        } = std::mem::take(&mut self.leg)
        else {
            // The timer raced an answer or hang-up: nothing to do.
            return vec![];
        };
        let mut fx = Vec::new();
        for r in ringers {
            if !call.tried.contains(&r.agent) {
                call.tried.push(r.agent.clone());
            }
            fx.push(LegEffect::Withdraw {
                ringer: r,
                why: Unanswered::RangOut,
            });
        }
        self.requeue(call, fx)
    }

    fn connect(
        &mut self,
        call: CallInfo,
        agent: Ringer,
        mut fx: Vec<LegEffect>,
        now: Mono,
        clock: &Clock,
    ) -> Vec<LegEffect> {
        // A transferred call is recorded per agent: one file per segment.
        let recording = match call.segments {
            0 => format!("{}/{}.wav", clock.wall_at(now).format("%Y%m%d"), call.guid),
            n => format!(
                "{}/{}-{}.wav",
                clock.wall_at(now).format("%Y%m%d"),
                call.guid,
                n + 1
            ),
        };
        fx.push(LegEffect::CancelRingTimer);
        if let Some(stay) = &call.stay {
            // The bridge never waits for the music or an announcement.
            if stay.music.is_some() || !stay.announcing.is_empty() {
                fx.push(LegEffect::Switch(SwitchCommand::StopPlay { ch: self.ch }));
            }
            if stay.max_wait.is_some() {
                fx.push(LegEffect::CancelFlowTimer);
            }
            if stay.announce.is_some() {
                fx.push(LegEffect::CancelAnnounceTimer);
            }
        }
        fx.push(LegEffect::Switch(SwitchCommand::Link {
            a: self.ch,
            b: agent.seat,
            two_way: true,
        }));
        fx.push(LegEffect::Switch(SwitchCommand::Record {
            ch: self.ch,
            file: recording.clone().into(),
        }));
        if let Some(group) = call.group {
            fx.push(LegEffect::AnsweredInGroup {
                group,
                waited: now.saturating_sub(call.queued_at.unwrap_or(now)),
            });
        }
        fx.push(LegEffect::AgentConnected {
            ringer: agent.clone(),
        });
        self.to(Leg::Talking {
            call,
            agent,
            answered_at: now,
            recording,
            muted: false,
            supervisor: None,
        });
        fx
    }

    /// A ringing seat was lifted.
    pub fn seat_answered(&mut self, seat: ChNum, now: Mono, clock: &Clock) -> Vec<LegEffect> {
        if matches!(&self.leg, Leg::Talking { supervisor: Some(s), .. } if s.ringer.seat == seat && !s.joined)
        {
            return self.join_supervisor();
        }
        if let Leg::Held {
            agent,
            consult: Some((b, answered @ None)),
            ..
        } = &mut self.leg
        {
            if b.seat == seat {
                *answered = Some(now);
                return vec![LegEffect::Switch(SwitchCommand::Link {
                    a: agent.seat,
                    b: seat,
                    two_way: true,
                })];
            }
        }
        let ringing_here = matches!(&self.leg, Leg::Ringing { ringers, .. } if ringers.iter().any(|r| r.seat == seat));
        if !ringing_here {
            return vec![LegEffect::SeatOrphaned { seat }];
        }
        let Leg::Ringing { call, ringers, .. } = std::mem::take(&mut self.leg) else {
            unreachable!()
        };
        let mut fx = Vec::new();
        let mut winner = None;
        for r in ringers {
            if r.seat == seat {
                winner = Some(r);
            } else {
                fx.push(LegEffect::Withdraw {
                    ringer: r,
                    why: Unanswered::Withdrawn,
                });
            }
        }
        self.connect(call, winner.expect("checked above"), fx, now, clock)
    }

    /// An agent picks the ringing call up from another seat (1010, `*7`,
    /// off-hook + `*`). A lifted seat is connected at once; a seat on-hook
    /// becomes the only one ringing for the call, for a fresh ring timeout.
    pub fn pick_up(
        &mut self,
        picker: Ringer,
        seat_lifted: bool,
        now: Mono,
        ring_timeout: Duration,
        clock: &Clock,
    ) -> Result<Vec<LegEffect>, NotNow> {
        match &self.leg {
            Leg::Ringing { ringers, .. } if ringers.iter().any(|r| r.seat == picker.seat) => {
                return Err(NotNow("the call is ringing your own seat: answer it"));
            }
            Leg::Ringing {
                picked_up: true, ..
            } => {
                return Err(NotNow("the call was just picked up by another agent"));
            }
            Leg::Ringing { .. } => {}
            _ => return Err(NotNow("the call is not ringing")),
        }
        let Leg::Ringing { call, ringers, .. } = std::mem::take(&mut self.leg) else {
            unreachable!("checked above")
        };
        let mut fx: Vec<LegEffect> = ringers
            .into_iter()
            .map(|r| LegEffect::Withdraw {
                ringer: r,
                why: Unanswered::Withdrawn,
            })
            .collect();
        if !seat_lifted {
            let waited = now.saturating_sub(call.queued_at.unwrap_or(now));
            fx.push(LegEffect::Offer {
                ringer: picker.clone(),
                waited,
                pick_up: true,
            });
            fx.push(LegEffect::StartRingTimer(ring_timeout));
            self.to(Leg::Ringing {
                call,
                ringers: vec![picker],
                since: now,
                picked_up: true,
            });
            return Ok(fx);
        }
        fx.push(LegEffect::ConnectSeat {
            ringer: picker.clone(),
        });
        Ok(self.connect(call, picker, fx, now, clock))
    }

    /// 1016: the agent on `seat` only listens (`on`) or talks again. The
    /// caller's side of the link is cut or restored; the agent keeps hearing
    /// the caller, and the recording goes on.
    pub fn mute(&mut self, seat: ChNum, on: bool) -> Result<Vec<LegEffect>, NotNow> {
        let me = self.ch;
        let Leg::Talking {
            agent,
            muted,
            supervisor,
            ..
        } = &mut self.leg
        else {
            return Err(NotNow("no call is connected"));
        };
        if agent.seat != seat {
            return Err(NotNow("the seat is not on this call"));
        }
        if *muted == on {
            return Ok(vec![]);
        }
        *muted = on;
        tracing::trace!(ch = %me, muted = on, "mute");
        if supervisor.as_ref().is_some_and(|s| s.joined) {
            return Ok(vec![LegEffect::ConfJoin {
                ch: seat,
                number: agent.agent.to_string(),
                listen_only: on,
                heard_by: None,
            }]);
        }
        Ok(if on {
            vec![
                LegEffect::Switch(SwitchCommand::Unlink { a: me, b: seat }),
                LegEffect::Switch(SwitchCommand::Link {
                    a: seat,
                    b: me,
                    two_way: false,
                }),
            ]
        } else {
            vec![LegEffect::Switch(SwitchCommand::Link {
                a: me,
                b: seat,
                two_way: true,
            })]
        })
    }

    /// The `sprecord` row of a talk recorded on this trunk: `talk` is when
    /// it began and its file.
    fn recording_row(
        &self,
        call: &CallInfo,
        key: String,
        agent: Option<&Ringer>,
        talk: (Mono, String),
        now: Mono,
        clock: &Clock,
    ) -> LegEffect {
        let (from, file_name) = talk;
        LegEffect::Recording(Box::new(RecordingRow {
            key,
            tellguid: call.guid,
            caller_no: call.caller.clone(),
            callee_no: call.callee.clone(),
            tel_num: agent.map(|a| a.agent.clone()),
            work_no: agent.and_then(|a| a.work_no.clone()),
            start_time: clock.wall_at(from),
            end_time: clock.wall_at(now),
            duration_s: now.saturating_sub(from).as_secs() as u32,
            file_name,
            direction: call.direction,
        }))
    }

    fn record(&self, call: &CallInfo, end: Ending<'_>, now: Mono, clock: &Clock) -> LegEffect {
        let Ending {
            agent,
            answered_at,
            tellmsg,
            hangup_by,
            cause,
            recording,
        } = end;
        let talk = answered_at.map_or(Duration::ZERO, |a| now.saturating_sub(a));
        LegEffect::Record(Box::new(CallRecord {
            key: format!("call:{}:{}", call.guid, self.ch),
            tellguid: call.guid,
            ch: self.ch,
            caller_no: call.caller.clone(),
            callee_no: call.callee.clone(),
            tel_num: agent.map(|a| a.agent.clone()),
            work_no: agent.and_then(|a| a.work_no.clone()),
            group_no: call.group,
            direction: call.direction,
            start_time: clock.wall_at(call.started),
            queue_time: call.queued_at.map(|q| clock.wall_at(q)),
            answer_time: answered_at.map(|a| clock.wall_at(a)),
            end_time: clock.wall_at(now),
            talk_s: talk.as_secs() as u32,
            tellmsg,
            hangup_by,
            cause: cause.0,
            record_file: recording.map(str::to_owned),
        }))
    }

    fn finish_talk(
        &mut self,
        by: HangupBy,
        cause: Cause,
        now: Mono,
        clock: &Clock,
    ) -> Vec<LegEffect> {
        self.end_talk(by, cause, now, clock, true).0
    }

    /// Ends the talk: its recording, link, record and the agent's end;
    /// the caller is cleared too unless `clear` is false (the caller goes
    /// back into a flow). Hands back the call.
    fn end_talk(
        &mut self,
        by: HangupBy,
        cause: Cause,
        now: Mono,
        clock: &Clock,
        clear: bool,
    ) -> (Vec<LegEffect>, CallInfo, Ringer) {
        let Leg::Talking {
            call,
            agent,
            answered_at,
            recording,
            supervisor,
            ..
        } = std::mem::take(&mut self.leg)
        else {
            unreachable!("called in Talking only")
        };
        let mut fx = Self::drop_supervisor(supervisor);
        fx.extend([
            LegEffect::Switch(SwitchCommand::StopRecord { ch: self.ch }),
            LegEffect::Switch(SwitchCommand::Unlink {
                a: self.ch,
                b: agent.seat,
            }),
        ]);
        if clear {
            fx.push(LegEffect::Switch(SwitchCommand::Clear {
                ch: self.ch,
                cause,
            }));
        }
        fx.push(LegEffect::AgentCallEnded {
            ringer: agent.clone(),
            by_agent: by == HangupBy::Agent,
        });
        let ending = Ending {
            agent: Some(&agent),
            answered_at: Some(answered_at),
            tellmsg: match (call.returned, call.direction) {
                (true, _) => TellMsg::TransferredBack,
                (false, Direction::Out) => TellMsg::OutboundAnswered,
                (false, _) => TellMsg::Answered,
            },
            hangup_by: by,
            cause,
            recording: Some(&recording),
        };
        fx.push(self.record(&call, ending, now, clock));
        fx.push(self.recording_row(
            &call,
            format!("rec:{}:{}", call.guid, self.ch),
            Some(&agent),
            (answered_at, recording),
            now,
            clock,
        ));
        self.to(Leg::Free);
        (fx, call, agent)
    }

    /// The agent's seat hung up.
    pub fn seat_hung_up(
        &mut self,
        seat: ChNum,
        now: Mono,
        ring_timeout: Duration,
        clock: &Clock,
        flows: &FlowBook,
    ) -> Vec<LegEffect> {
        match &self.leg {
            Leg::Held { agent, .. } if agent.seat == seat => {
                self.hung_up_on_hold(now, ring_timeout, clock)
            }
            Leg::Held {
                consult: Some((b, Some(_))),
                ..
            } if b.seat == seat => {
                // The consulted extension hung up: the agent may flash back.
                let Leg::Held {
                    call,
                    agent,
                    consult,
                    ..
                } = &mut self.leg
                else {
                    unreachable!()
                };
                let (b, answered) = consult.take().expect("matched");
                let call = call.clone();
                let agent = agent.clone();
                Self::consult_over(&call, &agent, b, answered, now, clock)
            }
            Leg::Talking { agent, call, .. } if agent.seat == seat => {
                match call.stay.as_ref().is_some_and(|s| s.flow.has_next()) {
                    // The caller goes on (the survey).
                    true => self.talk_to_flow(None, now, clock, flows),
                    false => self.finish_talk(HangupBy::Agent, Cause::NORMAL, now, clock),
                }
            }
            Leg::Talking {
                supervisor: Some(s),
                ..
            } if s.ringer.seat == seat => self.supervisor_left(),
            _ => vec![],
        }
    }

    /// The caller hung up (or the carrier cleared the call).
    pub fn cleared(&mut self, cause: Cause, now: Mono, clock: &Clock) -> Vec<LegEffect> {
        self.end(HangupBy::Caller, cause, now, clock)
    }

    /// The system ends the call after a failure (actor restart).
    pub fn abort(&mut self, now: Mono, clock: &Clock) -> Vec<LegEffect> {
        self.end(HangupBy::System, SYSTEM_FAILURE, now, clock)
    }

    /// An operator or supervisor ends the call (1027, 1022): a normal
    /// clearing, recorded as ended by the system.
    pub fn release(&mut self, now: Mono, clock: &Clock) -> Result<Vec<LegEffect>, NotNow> {
        if self.leg == Leg::Free {
            return Err(NotNow("the channel has no call"));
        }
        Ok(self.end(HangupBy::System, Cause::NORMAL, now, clock))
    }

    fn end(&mut self, by: HangupBy, cause: Cause, now: Mono, clock: &Clock) -> Vec<LegEffect> {
        if let Leg::Held { .. } = self.leg {
            let mut fx = self.unhold(now, clock);
            fx.extend(self.finish_talk(by, cause, now, clock));
            return fx;
        }
        if matches!(self.leg, Leg::Talking { .. }) {
            return self.finish_talk(by, cause, now, clock);
        }
        if matches!(self.leg, Leg::Outside { .. }) {
            return self.finish_outside(by, cause, now, clock);
        }
        let clear = LegEffect::Switch(SwitchCommand::Clear { ch: self.ch, cause });
        match std::mem::take(&mut self.leg) {
            Leg::Free => vec![],
            Leg::Ivr { call, flow, .. } => {
                self.ivr_ended(call, &flow, clear, by, cause, now, clock)
            }
            Leg::Queued { call } => {
                let mut fx = vec![clear];
                if let Some(group) = call.group {
                    fx.push(LegEffect::LeaveQueue {
                        group,
                        abandoned: true,
                    });
                }
                fx.push(self.record(
                    &call,
                    Ending::unanswered(TellMsg::QueueHangup, by, cause),
                    now,
                    clock,
                ));
                fx
            }
            Leg::Ringing { call, ringers, .. } => {
                let mut fx: Vec<LegEffect> = vec![LegEffect::CancelRingTimer, clear];
                let last = ringers.first().cloned();
                fx.extend(ringers.into_iter().map(|r| LegEffect::Withdraw {
                    ringer: r,
                    why: Unanswered::Withdrawn,
                }));
                if let Some(group) = call.group {
                    fx.push(LegEffect::LeaveQueue {
                        group,
                        abandoned: true,
                    });
                }
                fx.push(self.record(
                    &call,
                    Ending {
                        agent: last.as_ref(),
                        ..Ending::unanswered(TellMsg::RangNotAnswered, by, cause)
                    },
                    now,
                    clock,
                ));
                fx
            }
            Leg::Talking { .. } | Leg::Held { .. } | Leg::Outside { .. } => {
                unreachable!("handled above")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tel(s: &str) -> TelNum {
        TelNum::new(s).unwrap()
    }
    fn ringer(t: &str, seat: u32) -> Ringer {
        Ringer {
            agent: tel(t),
            work_no: None,
            seat: ChNum(seat),
        }
    }
    fn s(n: u64) -> Duration {
        Duration::from_secs(n)
    }
    fn record_of(fx: &[LegEffect]) -> &CallRecord {
        fx.iter()
            .find_map(|e| match e {
                LegEffect::Record(r) => Some(&**r),
                _ => None,
            })
            .expect("a call record")
    }

    /// A call in the fixed flow to group 1.
    fn call_in(leg: &mut InboundLeg, caller: &str, callee: &str) -> Vec<LegEffect> {
        let flow = Arc::new(crate::flow::builtin_default(Some(GroupNo(1))));
        leg.call_in(
            TellGuid::new_v4(),
            caller.into(),
            callee.into(),
            flow,
            s(0),
            &Clock::manual(),
            &FlowBook::default(),
        )
        .unwrap()
    }

    fn queued(leg: &mut InboundLeg) {
        call_in(leg, "138", "400");
        leg.customer(None, s(1));
        leg.play_done(true, s(3), &Clock::manual(), &FlowBook::default());
    }

    #[test]
    fn the_call_is_queued_only_once_the_customer_lookup_answered() {
        let mut leg = InboundLeg::new(ChNum(0));
        call_in(&mut leg, "138", "400");
        assert!(
            leg.play_done(true, s(2), &Clock::manual(), &FlowBook::default())
                .is_empty()
        );
        assert_eq!(leg.channel_state(), ChannelState::Ivr);
        let c = Customer {
            name: "Zhang".into(),
            ..Customer::default()
        };
        let fx = leg.customer(Some(c.clone()), s(3));
        assert_eq!(
            fx,
            vec![LegEffect::Enqueue {
                group: GroupNo(1),
                since: s(3),
                tried: vec![],
                priority: 0,
            }]
        );
        // A late timeout changes nothing.
        assert!(leg.customer(None, s(4)).is_empty());
        assert_eq!(leg.call().unwrap().customer, Some(c));
    }

    #[test]
    fn answered_call_then_agent_hangs_up() {
        let clock = Clock::manual();
        let mut leg = InboundLeg::new(ChNum(2));
        queued(&mut leg);
        assert_eq!(leg.channel_state(), ChannelState::Queued);
        let fx = leg.offer(vec![ringer("8001", 30)], s(5), s(45)).unwrap();
        assert!(matches!(&fx[0], LegEffect::Offer { waited, .. } if *waited == s(2)));
        let fx = leg.seat_answered(ChNum(30), s(8), &clock);
        assert!(fx.contains(&LegEffect::Switch(SwitchCommand::Link {
            a: ChNum(2),
            b: ChNum(30),
            two_way: true
        })));
        assert!(fx.contains(&LegEffect::AnsweredInGroup {
            group: GroupNo(1),
            waited: s(5)
        }));
        let fx = leg.seat_hung_up(ChNum(30), s(68), s(45), &clock, &FlowBook::default());
        let r = record_of(&fx);
        assert_eq!(
            (r.tellmsg, r.hangup_by, r.talk_s),
            (TellMsg::Answered, HangupBy::Agent, 60)
        );
        assert!(
            fx.iter()
                .any(|e| matches!(e, LegEffect::Recording(r) if r.duration_s == 60))
        );
        assert!(fx.contains(&LegEffect::AgentCallEnded {
            ringer: ringer("8001", 30),
            by_agent: true
        }));
        assert_eq!(leg.leg, Leg::Free);
    }

    #[test]
    fn each_way_a_caller_can_leave_has_its_tellmsg() {
        let clock = Clock::manual();
        let mut leg = InboundLeg::new(ChNum(0));
        call_in(&mut leg, "1", "2");
        assert_eq!(
            record_of(&leg.cleared(Cause::NORMAL, s(1), &clock)).tellmsg,
            TellMsg::IvrHangup
        );

        queued(&mut leg);
        let fx = leg.cleared(Cause::NORMAL, s(9), &clock);
        assert_eq!(record_of(&fx).tellmsg, TellMsg::QueueHangup);
        assert!(fx.contains(&LegEffect::LeaveQueue {
            group: GroupNo(1),
            abandoned: true
        }));

        queued(&mut leg);
        leg.offer(vec![ringer("8001", 30)], s(5), s(45)).unwrap();
        let fx = leg.cleared(Cause::NORMAL, s(9), &clock);
        assert_eq!(record_of(&fx).tellmsg, TellMsg::RangNotAnswered);
        assert!(fx.contains(&LegEffect::Withdraw {
            ringer: ringer("8001", 30),
            why: Unanswered::Withdrawn
        }));

        queued(&mut leg);
        leg.offer(vec![ringer("8001", 30)], s(5), s(45)).unwrap();
        leg.seat_answered(ChNum(30), s(6), &clock);
        let fx = leg.cleared(Cause::NORMAL, s(9), &clock);
        let r = record_of(&fx);
        assert_eq!(
            (r.tellmsg, r.hangup_by),
            (TellMsg::Answered, HangupBy::Caller)
        );
        assert!(fx.contains(&LegEffect::AgentCallEnded {
            ringer: ringer("8001", 30),
            by_agent: false
        }));
    }

    #[test]
    fn ring_timeout_requeues_remembering_who_was_tried() {
        let clock = Clock::manual();
        let mut leg = InboundLeg::new(ChNum(0));
        queued(&mut leg);
        leg.offer(vec![ringer("8001", 30), ringer("8002", 31)], s(5), s(45))
            .unwrap();
        let fx = leg.ring_timeout();
        assert!(fx.contains(&LegEffect::Withdraw {
            ringer: ringer("8001", 30),
            why: Unanswered::RangOut
        }));
        assert!(fx.contains(&LegEffect::Enqueue {
            group: GroupNo(1),
            since: s(3),
            tried: vec![tel("8001"), tel("8002")],
            priority: 0,
        }));
        // A late timer does nothing; a late answer is an orphan.
        assert!(leg.ring_timeout().is_empty());
        assert_eq!(
            leg.seat_answered(ChNum(30), s(60), &clock),
            vec![LegEffect::SeatOrphaned { seat: ChNum(30) }]
        );
    }

    #[test]
    fn ring_all_first_answer_wins() {
        let clock = Clock::manual();
        let mut leg = InboundLeg::new(ChNum(0));
        queued(&mut leg);
        leg.offer(vec![ringer("8001", 30), ringer("8002", 31)], s(5), s(45))
            .unwrap();
        let fx = leg.seat_answered(ChNum(31), s(6), &clock);
        assert!(fx.contains(&LegEffect::Withdraw {
            ringer: ringer("8001", 30),
            why: Unanswered::Withdrawn
        }));
        assert!(fx.contains(&LegEffect::AgentConnected {
            ringer: ringer("8002", 31)
        }));
    }

    #[test]
    fn pick_up_rings_an_on_hook_seat_alone_and_connects_a_lifted_one() {
        let clock = Clock::manual();
        let mut leg = InboundLeg::new(ChNum(0));
        queued(&mut leg);
        leg.offer(vec![ringer("8001", 30)], s(5), s(45)).unwrap();
        assert!(
            leg.pick_up(ringer("8001", 30), false, s(11), s(45), &clock)
                .is_err(),
            "the seat it rings cannot pick it up"
        );
        let fx = leg
            .pick_up(ringer("8002", 31), false, s(11), s(45), &clock)
            .unwrap();
        assert!(fx.contains(&LegEffect::Withdraw {
            ringer: ringer("8001", 30),
            why: Unanswered::Withdrawn
        }));
        assert!(fx.contains(&LegEffect::Offer {
            ringer: ringer("8002", 31),
            waited: s(8),
            pick_up: true
        }));
        assert!(fx.contains(&LegEffect::StartRingTimer(s(45))));
        assert!(
            matches!(&leg.leg, Leg::Ringing { ringers, since, .. } if ringers.len() == 1 && *since == s(11))
        );

        // Picked up: the picker's claim stands (two at once: one wins).
        assert_eq!(
            leg.pick_up(ringer("8003", 32), true, s(12), s(45), &clock),
            Err(NotNow("the call was just picked up by another agent"))
        );

        // A lifted seat is connected at once.
        let mut leg = InboundLeg::new(ChNum(0));
        queued(&mut leg);
        leg.offer(vec![ringer("8001", 30)], s(5), s(45)).unwrap();
        let fx = leg
            .pick_up(ringer("8003", 32), true, s(12), s(45), &clock)
            .unwrap();
        assert!(fx.contains(&LegEffect::ConnectSeat {
            ringer: ringer("8003", 32)
        }));
        assert_eq!(leg.talking_to(), Some(&ringer("8003", 32)));
        assert!(
            leg.pick_up(ringer("8002", 31), true, s(13), s(45), &clock)
                .is_err(),
            "a connected call cannot be picked up"
        );
    }

    #[test]
    fn mute_makes_the_link_one_way_and_back() {
        let clock = Clock::manual();
        let mut leg = InboundLeg::new(ChNum(2));
        assert!(leg.mute(ChNum(30), true).is_err());
        queued(&mut leg);
        leg.offer(vec![ringer("8001", 30)], s(5), s(45)).unwrap();
        leg.seat_answered(ChNum(30), s(6), &clock);
        assert!(leg.mute(ChNum(31), true).is_err(), "another seat");
        assert_eq!(
            leg.mute(ChNum(30), true).unwrap(),
            vec![
                LegEffect::Switch(SwitchCommand::Unlink {
                    a: ChNum(2),
                    b: ChNum(30)
                }),
                LegEffect::Switch(SwitchCommand::Link {
                    a: ChNum(30),
                    b: ChNum(2),
                    two_way: false
                }),
            ]
        );
        assert!(
            leg.mute(ChNum(30), true).unwrap().is_empty(),
            "already muted"
        );
        assert_eq!(
            leg.mute(ChNum(30), false).unwrap(),
            vec![LegEffect::Switch(SwitchCommand::Link {
                a: ChNum(2),
                b: ChNum(30),
                two_way: true
            })]
        );
    }

    #[test]
    fn a_release_is_recorded_as_the_system_with_a_normal_cause() {
        let clock = Clock::manual();
        let mut leg = InboundLeg::new(ChNum(0));
        assert!(leg.release(s(0), &clock).is_err());
        queued(&mut leg);
        let fx = leg.release(s(9), &clock).unwrap();
        let r = record_of(&fx);
        assert_eq!(
            (r.tellmsg, r.hangup_by, r.cause),
            (TellMsg::QueueHangup, HangupBy::System, 16)
        );
        assert_eq!(leg.leg, Leg::Free);
    }

    /// One copy of the flow's variables: the run parked in the queue holds
    /// them, and they stay with the call when an agent sends it to a group
    /// (the run and its queue wishes go).
    #[test]
    fn the_flows_variables_outlive_the_flow_in_one_copy() {
        let clock = Clock::manual();
        let mut leg = InboundLeg::new(ChNum(0));
        queued(&mut leg);
        assert_eq!(leg.flow_var("caller").unwrap(), "138");
        let call = leg.call().unwrap();
        assert!(call.vars.is_empty(), "not copied beside the parked run");
        assert_eq!(call.stay.as_ref().unwrap().flow.vars["caller"], "138");
        leg.offer(vec![ringer("8001", 30)], s(5), s(45)).unwrap();
        leg.seat_answered(ChNum(30), s(6), &clock);
        leg.transfer(
            ChNum(30),
            TransferTo::Group(GroupNo(2)),
            s(7),
            s(45),
            &clock,
        )
        .unwrap();
        let call = leg.call().unwrap();
        assert!(call.stay.is_none(), "the flow's wishes were for its group");
        assert_eq!(leg.flow_var("caller").unwrap(), "138");
        assert_eq!(leg.flow_var("ch").unwrap(), "0");
    }

    #[test]
    fn a_transfer_records_the_segment_and_only_its_author_takes_it_back() {
        let clock = Clock::manual();
        let mut leg = InboundLeg::new(ChNum(0));
        queued(&mut leg);
        leg.offer(vec![ringer("8001", 30)], s(5), s(45)).unwrap();
        leg.seat_answered(ChNum(30), s(6), &clock);
        assert!(
            leg.transfer(
                ChNum(30),
                TransferTo::Seat(ringer("8001", 30)),
                s(7),
                s(45),
                &clock
            )
            .is_err(),
            "not to yourself"
        );
        let fx = leg
            .transfer(
                ChNum(30),
                TransferTo::Seat(ringer("8002", 31)),
                s(16),
                s(45),
                &clock,
            )
            .unwrap();
        let r = record_of(&fx);
        assert_eq!(
            (r.tellmsg, r.talk_s, r.tel_num.as_ref().map(|t| t.as_str())),
            (TellMsg::Answered, 10, Some("8001"))
        );
        assert!(r.key.ends_with(":1"), "a segment key of its own: {}", r.key);
        assert!(fx.contains(&LegEffect::AgentTransferred {
            ringer: ringer("8001", 30)
        }));
        assert!(fx.contains(&LegEffect::Offer {
            ringer: ringer("8002", 31),
            waited: Duration::ZERO,
            pick_up: true
        }));
        assert!(
            leg.retrieve(ringer("8003", 32), true, true, s(17), s(45), &clock)
                .is_err(),
            "only the agent who transferred it"
        );
        let fx = leg
            .retrieve(ringer("8001", 30), true, true, s(18), s(45), &clock)
            .unwrap();
        assert!(fx.contains(&LegEffect::ConnectSeat {
            ringer: ringer("8001", 30)
        }));
        let fx = leg.seat_hung_up(ChNum(30), s(20), s(45), &clock, &FlowBook::default());
        let r = record_of(&fx);
        assert_eq!(r.tellmsg, TellMsg::TransferredBack);
        assert!(r.record_file.as_deref().unwrap().ends_with("-2.wav"));
    }

    #[test]
    fn a_supervisor_rings_joins_the_conference_and_leaves_it_to_a_direct_link() {
        let clock = Clock::manual();
        let mut leg = InboundLeg::new(ChNum(2));
        queued(&mut leg);
        leg.offer(vec![ringer("8001", 30)], s(5), s(45)).unwrap();
        leg.seat_answered(ChNum(30), s(6), &clock);
        leg.mute(ChNum(30), true).unwrap();
        assert!(
            leg.supervise(ringer("8001", 30), SupMode::Listen, true)
                .is_err()
        );
        assert_eq!(
            leg.supervise(ringer("8003", 32), SupMode::Listen, false)
                .unwrap(),
            vec![LegEffect::RingSupervisor {
                ringer: ringer("8003", 32)
            }]
        );
        assert!(
            leg.supervise(ringer("8004", 33), SupMode::Barge, true)
                .is_err()
        );
        let fx = leg.seat_answered(ChNum(32), s(8), &clock);
        assert!(fx.contains(&LegEffect::ConfJoin {
            ch: ChNum(30),
            number: "8001".into(),
            listen_only: true,
            heard_by: None,
        }));
        assert!(fx.contains(&LegEffect::ConfJoin {
            ch: ChNum(32),
            number: "8003".into(),
            listen_only: true,
            heard_by: None,
        }));
        assert_eq!(leg.conf_no(), ConfNo(2));
        // The agent is still muted: back to a one-way link.
        let fx = leg.seat_hung_up(ChNum(32), s(9), s(45), &clock, &FlowBook::default());
        assert_eq!(fx[0], LegEffect::ConfClose);
        assert!(fx.contains(&LegEffect::Switch(SwitchCommand::Link {
            a: ChNum(30),
            b: ChNum(2),
            two_way: false
        })));
        assert_eq!(leg.talking_to(), Some(&ringer("8001", 30)));

        let fx = leg
            .take_over(ringer("8003", 32), true, s(20), s(45), &clock)
            .unwrap();
        assert!(fx.contains(&LegEffect::AgentCutOff {
            ringer: ringer("8001", 30)
        }));
        assert_eq!(record_of(&fx).talk_s, 14);
        assert_eq!(leg.talking_to(), Some(&ringer("8003", 32)));
    }

    #[test]
    fn the_flow_starts_with_the_call_and_keys_reach_it_only_in_the_ivr() {
        let clock = Clock::manual();
        let mut leg = InboundLeg::new(ChNum(4));
        let fx = call_in(&mut leg, "138", "400");
        assert_eq!(
            fx,
            vec![
                LegEffect::Switch(SwitchCommand::Answer { ch: ChNum(4) }),
                LegEffect::LookupCustomer("138".into()),
                LegEffect::Switch(SwitchCommand::Play {
                    ch: ChNum(4),
                    prompt: WELCOME_PROMPT.into(),
                }),
            ]
        );
        // The built-in flow ignores keys; they never end the welcome.
        assert!(
            leg.digits("1", s(1), &clock, &FlowBook::default())
                .is_empty()
        );
        assert_eq!(leg.channel_state(), ChannelState::Ivr);
        // A flow timer with no flow waiting on it does nothing.
        assert!(
            leg.flow_timer(s(1), &clock, &FlowBook::default())
                .is_empty()
        );
    }

    #[test]
    fn without_a_group_the_call_is_hung_up_when_the_welcome_ends() {
        let clock = Clock::manual();
        let mut leg = InboundLeg::new(ChNum(4));
        leg.call_in(
            TellGuid::new_v4(),
            "138".into(),
            "400".into(),
            Arc::new(crate::flow::builtin_default(None)),
            s(0),
            &clock,
            &FlowBook::default(),
        )
        .unwrap();
        let fx = leg.play_done(true, s(2), &clock, &FlowBook::default());
        assert_eq!(record_of(&fx).hangup_by, HangupBy::System);
        assert!(fx.contains(&LegEffect::Switch(SwitchCommand::Clear {
            ch: ChNum(4),
            cause: Cause::NORMAL,
        })));
        assert_eq!(leg.channel_state(), ChannelState::Free);
    }

    #[test]
    fn the_hold_music_loops_only_while_the_caller_is_held() {
        let clock = Clock::manual();
        let mut leg = InboundLeg::new(ChNum(0));
        queued(&mut leg);
        leg.offer(vec![ringer("8001", 30)], s(5), s(45)).unwrap();
        leg.seat_answered(ChNum(30), s(6), &clock);
        // Talking: a prompt ending means nothing.
        assert!(
            leg.play_done(true, s(7), &clock, &FlowBook::default())
                .is_empty()
        );
        let (flash, _) = leg.flash(ChNum(30), s(8), &clock).unwrap();
        assert_eq!(flash, Flash::Held);
        let again = vec![LegEffect::Switch(SwitchCommand::Play {
            ch: ChNum(0),
            prompt: HOLD_PROMPT.into(),
        })];
        assert_eq!(
            leg.play_done(true, s(20), &clock, &FlowBook::default()),
            again
        );
        // A prompt stopped (the agent came back) is not replayed.
        assert!(
            leg.play_done(false, s(21), &clock, &FlowBook::default())
                .is_empty()
        );
    }

    fn queue_flow(node: &str) -> Arc<Flow> {
        let out = match node.contains("\"out\"") {
            true => r#","out":{"kind":"play","prompt":"goodbye"}"#,
            false => "",
        };
        let text = format!(r#"{{"start":"q","nodes":{{"q":{node}{out}}}}}"#);
        let cx = crate::flow::CheckContext {
            group: &|_| true,
            prompt: &|_| true,
            flow: &|_| true,
        };
        Arc::new(crate::flow::parse_flow("t", &text, 1, &cx).unwrap())
    }

    fn queued_with(flow: Arc<Flow>, clock: &Clock) -> (InboundLeg, Vec<LegEffect>) {
        let mut leg = InboundLeg::new(ChNum(0));
        let book = FlowBook::default();
        leg.call_in(
            TellGuid::new_v4(),
            "138".into(),
            "400".into(),
            flow,
            s(0),
            clock,
            &book,
        )
        .unwrap();
        let fx = leg.customer(None, s(1));
        (leg, fx)
    }

    #[test]
    fn queue_music_loops_while_waiting_and_ringing_and_stops_on_answer() {
        let clock = Clock::manual();
        let book = FlowBook::default();
        let flow = queue_flow(r#"{"kind":"queue","group":1,"priority":2,"music":"queue"}"#);
        let (mut leg, fx) = queued_with(flow, &clock);
        let music = LegEffect::Switch(SwitchCommand::Play {
            ch: ChNum(0),
            prompt: "queue".into(),
        });
        assert!(fx.contains(&LegEffect::Enqueue {
            group: GroupNo(1),
            since: s(1),
            tried: vec![],
            priority: 2,
        }));
        assert!(fx.contains(&music));
        assert_eq!(
            leg.play_done(true, s(4), &clock, &book),
            vec![music.clone()]
        );
        leg.offer(vec![ringer("8001", 30)], s(5), s(45)).unwrap();
        assert_eq!(leg.play_done(true, s(7), &clock, &book), vec![music]);
        let fx = leg.seat_answered(ChNum(30), s(8), &clock);
        let stop = fx
            .iter()
            .position(|e| *e == LegEffect::Switch(SwitchCommand::StopPlay { ch: ChNum(0) }));
        let link = fx
            .iter()
            .position(|e| matches!(e, LegEffect::Switch(SwitchCommand::Link { .. })));
        assert!(stop < link && stop.is_some(), "{fx:?}");
        // Talking: the stopped music does not come back.
        assert!(leg.play_done(false, s(9), &clock, &book).is_empty());
    }

    #[test]
    fn max_wait_and_an_unstaffed_group_send_the_caller_to_overflow() {
        let clock = Clock::manual();
        let book = FlowBook::default();
        let flow = queue_flow(r#"{"kind":"queue","group":1,"max_wait_s":30,"overflow":"out"}"#);
        let (mut leg, fx) = queued_with(flow.clone(), &clock);
        assert!(fx.contains(&LegEffect::StartFlowTimer(s(30))));
        let fx = leg.flow_timer(s(31), &clock, &book);
        assert!(fx.contains(&LegEffect::LeaveQueue {
            group: GroupNo(1),
            abandoned: false
        }));
        assert!(fx.contains(&LegEffect::Switch(SwitchCommand::Play {
            ch: ChNum(0),
            prompt: "goodbye".into()
        })));
        assert_eq!(leg.channel_state(), ChannelState::Ivr);
        // Ringing when the wait runs out: looked at again shortly.
        let (mut leg, _) = queued_with(flow.clone(), &clock);
        leg.offer(vec![ringer("8001", 30)], s(5), s(45)).unwrap();
        assert_eq!(
            leg.flow_timer(s(31), &clock, &book),
            vec![LegEffect::StartFlowTimer(MAX_WAIT_RECHECK)]
        );
        // Nobody logged in: overflow at once.
        let (mut leg, _) = queued_with(flow, &clock);
        assert!(!leg.unstaffed(s(2), &clock, &book).is_empty());
        assert_eq!(leg.channel_state(), ChannelState::Ivr);
        // With music: the stopped music's end is not the end of `out`'s prompt.
        let flow = queue_flow(
            r#"{"kind":"queue","group":1,"music":"queue","max_wait_s":30,"overflow":"out"}"#,
        );
        let (mut leg, _) = queued_with(flow, &clock);
        leg.flow_timer(s(31), &clock, &book);
        assert!(leg.play_done(false, s(31), &clock, &book).is_empty());
        assert_eq!(leg.channel_state(), ChannelState::Ivr);
        // Without an overflow exit the caller waits for an agent.
        let flow = queue_flow(r#"{"kind":"queue","group":1}"#);
        let (mut leg, _) = queued_with(flow, &clock);
        assert!(leg.unstaffed(s(2), &clock, &book).is_empty());
        assert_eq!(leg.channel_state(), ChannelState::Queued);
    }

    #[test]
    fn announcements_cut_the_music_say_the_place_and_never_hold_the_bridge() {
        let clock = Clock::manual();
        let book = FlowBook::default();
        let flow = queue_flow(
            r#"{"kind":"queue","group":1,"music":"queue","announce_every_s":30,"lang":"zh"}"#,
        );
        let (mut leg, fx) = queued_with(flow, &clock);
        assert!(fx.contains(&LegEffect::StartAnnounceTimer(s(30))));
        let play = |p: &str| {
            LegEffect::Switch(SwitchCommand::Play {
                ch: ChNum(0),
                prompt: p.into(),
            })
        };
        let fx = leg.announce(Some((12, Some(s(150)))));
        assert_eq!(
            fx,
            vec![
                LegEffect::StartAnnounceTimer(s(30)),
                LegEffect::Switch(SwitchCommand::StopPlay { ch: ChNum(0) }),
                play("queue_position"),
            ]
        );
        // The stopped music's end changes nothing; each prompt's end plays
        // the next: 十二, "about", 三, "minutes" (150 s), then the music.
        assert!(leg.play_done(false, s(31), &clock, &book).is_empty());
        let mut heard = Vec::new();
        for _ in 0..6 {
            let fx = leg.play_done(true, s(32), &clock, &book);
            let [LegEffect::Switch(SwitchCommand::Play { prompt, .. })] = &fx[..] else {
                panic!("{fx:?}")
            };
            heard.push(prompt.clone());
        }
        assert_eq!(
            heard,
            ["zh_10", "zh_2", "queue_wait", "zh_3", "minutes", "queue"]
        );
        // Ringing: the timer goes on but nothing is said; on answer the
        // prompt stops at once and the timer with it.
        leg.offer(vec![ringer("8001", 30)], s(40), s(45)).unwrap();
        assert_eq!(
            leg.announce(Some((1, None))),
            vec![LegEffect::StartAnnounceTimer(s(30))]
        );
        let fx = leg.seat_answered(ChNum(30), s(41), &clock);
        assert!(fx.contains(&LegEffect::Switch(SwitchCommand::StopPlay { ch: ChNum(0) })));
        assert!(fx.contains(&LegEffect::CancelAnnounceTimer));
        assert!(leg.announce(Some((1, None))).is_empty(), "talking: nothing");
    }
}
