//! The call while a flow has it: the caller's keys and the flow's timer
//! reach the flow; what the flow asks is carried out with the leg's
//! effects; the queue node's wishes (priority, music, `max_wait`,
//! `overflow`); clients' requests (1005, 1006, 1026 `ch:`); and the way
//! back into a flow when the agent hangs up first (the survey).

use std::sync::Arc;

use spcti_protocol::Cause;

use super::*;
use crate::flow::{Flow, FlowBook, FlowRun, numbers};

impl InboundLeg {
    /// The caller pressed keys: only a flow listens to them.
    pub fn digits(
        &mut self,
        digits: &str,
        now: Mono,
        clock: &Clock,
        flows: &FlowBook,
    ) -> Vec<LegEffect> {
        self.flow_input(IvrInput::Digits(digits.to_owned()), now, clock, flows)
    }

    /// The flow's timer ran out.
    pub fn flow_timer(&mut self, now: Mono, clock: &Clock, flows: &FlowBook) -> Vec<LegEffect> {
        match &self.leg {
            // The queue node's `max_wait` ran out.
            Leg::Queued { .. } => self.overflow(now, clock, flows),
            // An agent is being rung: let the ring decide, and look again
            // shortly (the call overflows if it comes back to the queue).
            Leg::Ringing { .. } => vec![LegEffect::StartFlowTimer(MAX_WAIT_RECHECK)],
            _ => self.flow_input(IvrInput::Timer, now, clock, flows),
        }
    }

    /// An input for the call's flow; nothing outside the IVR.
    pub fn flow_input(
        &mut self,
        input: IvrInput,
        now: Mono,
        clock: &Clock,
        flows: &FlowBook,
    ) -> Vec<LegEffect> {
        let Leg::Ivr {
            flow,
            queue_when_known: None,
            ..
        } = &mut self.leg
        else {
            // No flow, or it is done (queued; the lookup is still out).
            return vec![];
        };
        let actions = ivr::with_env(flows, now, clock, |env| flow.step(input, env));
        self.flow_actions(actions, now, clock)
    }

    /// A flow variable of the call (1006): `""` when unset. While the call
    /// is in its flow, the flow's; after, as the flow left them.
    pub fn flow_var(&self, name: &str) -> Result<String, NotNow> {
        let vars = match &self.leg {
            Leg::Free => return Err(NotNow("the channel has no call")),
            Leg::Ivr { flow, .. } => &flow.vars,
            _ => match self.call() {
                Some(c) => c.vars(),
                None => return Err(NotNow("the channel has no call")),
            },
        };
        Ok(vars.get(name).cloned().unwrap_or_default())
    }

    /// Data from a client for the call's flow (1026 `ch:`): it is the
    /// flow's `data`, and a `wait` node goes on.
    pub fn flow_data(
        &mut self,
        data: String,
        now: Mono,
        clock: &Clock,
        flows: &FlowBook,
    ) -> Result<Vec<LegEffect>, NotNow> {
        match &self.leg {
            Leg::Ivr {
                queue_when_known: None,
                ..
            } => Ok(self.flow_input(IvrInput::Data(data), now, clock, flows)),
            Leg::Free => Err(NotNow("the channel has no call")),
            _ => Err(NotNow(
                "the call has left its flow (it is queued or talking)",
            )),
        }
    }

    /// Sends the call in its flow to `node` of `flow` (1005; the flow's
    /// start when `None`): while the call is in its flow, or talking to
    /// an agent (who leaves the call; its talk is recorded as ended by
    /// the agent). Refused: `Ok` the state, `Err` the node.
    pub fn flow_jump(
        &mut self,
        to: Arc<Flow>,
        node: Option<String>,
        now: Mono,
        clock: &Clock,
        flows: &FlowBook,
    ) -> Result<Vec<LegEffect>, Result<NotNow, String>> {
        // Talking: the agent sends the caller on (to the survey, a PIN
        // entry) and is done with the call.
        if matches!(
            self.leg,
            Leg::Talking {
                supervisor: None,
                ..
            }
        ) {
            let node = node.unwrap_or_else(|| to.start.clone());
            if !to.nodes.contains_key(&node) {
                return Err(Err(format!("flow `{}` has no node `{node}`", to.name)));
            }
            return Ok(self.talk_to_flow(Some((to, Some(node))), now, clock, flows));
        }
        let Leg::Ivr {
            flow,
            queue_when_known: None,
            ..
        } = &mut self.leg
        else {
            return Err(Ok(match self.leg {
                Leg::Free => NotNow("the channel has no call"),
                Leg::Talking { .. } => NotNow("a supervisor is on the call"),
                _ => NotNow(
                    "the call is not in its flow or with an agent (queued, ringing or on hold)",
                ),
            }));
        };
        let actions =
            ivr::with_env(flows, now, clock, |env| flow.jump(to, node, env)).map_err(Err)?;
        Ok(self.flow_actions(actions, now, clock))
    }

    /// Where the flow's `transfer` node reaches its target (or why it
    /// cannot): the target seat rings, or the outside number is dialed on
    /// the seized trunk; a target not reached sends the flow on at `fail`.
    /// A caller who left the node meanwhile (hung up, moved by 1005) lets a
    /// seized trunk go.
    pub fn flow_transfer(
        &mut self,
        to: Result<TransferTo, String>,
        now: Mono,
        ring_timeout: Duration,
        clock: &Clock,
        flows: &FlowBook,
    ) -> Vec<LegEffect> {
        if !matches!(&self.leg, Leg::Ivr { flow, .. } if flow.at_transfer()) {
            return match to {
                Ok(TransferTo::Outside { trunk, .. }) => vec![LegEffect::FreeTrunk(trunk)],
                _ => vec![],
            };
        }
        let to = match to {
            Ok(to) => to,
            Err(why) => {
                let Leg::Ivr { flow, call, .. } = &mut self.leg else {
                    unreachable!("checked above")
                };
                tracing::info!(ch = %self.ch, guid = %call.guid, "the flow's transfer failed: {why}");
                let actions = ivr::with_env(flows, now, clock, |env| flow.transfer_failed(env));
                return self.flow_actions(actions, now, clock);
            }
        };
        let Leg::Ivr { mut call, flow, .. } = std::mem::take(&mut self.leg) else {
            unreachable!("checked above")
        };
        // The flow waits at its node: `next` when the far end hangs up
        // first, `fail` when it is not reached.
        call.stay = Some(Box::new(ivr::QueueStay {
            priority: 0,
            music: None,
            max_wait: None,
            announce: None,
            announcing: Default::default(),
            flow,
        }));
        let waited = now.saturating_sub(call.started);
        self.send_on(call, to, waited, now, ring_timeout)
    }

    /// The call is in `flow` now: carries out the actions it began with.
    pub(super) fn enter_ivr(
        &mut self,
        call: CallInfo,
        flow: FlowRun,
        actions: Vec<IvrAction>,
        now: Mono,
        clock: &Clock,
    ) -> Vec<LegEffect> {
        self.to(Leg::Ivr {
            call,
            flow,
            queue_when_known: None,
            timer: false,
        });
        self.flow_actions(actions, now, clock)
    }

    /// Carries out what the flow asked, with the leg's own effects.
    pub(super) fn flow_actions(
        &mut self,
        actions: Vec<IvrAction>,
        now: Mono,
        clock: &Clock,
    ) -> Vec<LegEffect> {
        let mut fx = Vec::new();
        for a in actions {
            let Leg::Ivr {
                call,
                flow,
                queue_when_known,
                timer,
            } = &mut self.leg
            else {
                break; // queued or released: the flow is done
            };
            // A flow's timer does not outlive the flow.
            let armed = std::mem::take(timer);
            match a {
                IvrAction::Play(prompt) => {
                    *timer = armed;
                    fx.push(LegEffect::Switch(SwitchCommand::Play {
                        ch: self.ch,
                        prompt,
                    }));
                }
                IvrAction::StopPlay => {
                    *timer = armed;
                    fx.push(LegEffect::Switch(SwitchCommand::StopPlay { ch: self.ch }));
                }
                IvrAction::StartTimer(d) => {
                    *timer = true;
                    fx.push(LegEffect::StartFlowTimer(d));
                }
                IvrAction::CancelTimer if armed => fx.push(LegEffect::CancelFlowTimer),
                IvrAction::CancelTimer => {}
                IvrAction::Queue {
                    group,
                    priority,
                    music,
                    max_wait,
                    announce,
                } => {
                    if armed {
                        fx.push(LegEffect::CancelFlowTimer);
                    }
                    call.group = Some(group);
                    call.popup = flow.popup();
                    // The run joins the wait when the call joins the
                    // queue: moved then, not copied now.
                    let wish = ivr::QueueWish {
                        group,
                        priority,
                        music,
                        max_wait,
                        announce,
                    };
                    if call.customer.is_none() {
                        *queue_when_known = Some(wish);
                    } else {
                        fx.extend(self.enqueue(wish, now));
                    }
                }
                IvrAction::Http(req) => {
                    *timer = armed;
                    fx.push(LegEffect::FlowHttp(req));
                }
                IvrAction::Transfer(to) => {
                    if armed {
                        fx.push(LegEffect::CancelFlowTimer);
                    }
                    call.popup = flow.popup();
                    fx.push(LegEffect::FlowTransfer(to));
                }
                IvrAction::StartRecording { max: _ } => {
                    *timer = armed;
                    // The flow's own timer bounds it (`max_s`).
                    let file = format!(
                        "{}/{}-vm.wav",
                        clock.wall_at(now).format("%Y%m%d"),
                        call.guid
                    );
                    fx.push(LegEffect::Switch(SwitchCommand::Record {
                        ch: self.ch,
                        file: file.clone().into(),
                    }));
                    call.voicemail = Some(ivr::Voicemail {
                        file,
                        since: now,
                        closed: false,
                    });
                }
                IvrAction::StopRecording => {
                    *timer = armed;
                    let call = call.clone();
                    let (close, call) = self.close_voicemail(call, now, clock);
                    fx.extend(close);
                    if let Leg::Ivr { call: c, .. } = &mut self.leg {
                        *c = call;
                    }
                }
                IvrAction::Hangup => {
                    if armed {
                        fx.push(LegEffect::CancelFlowTimer);
                    }
                    fx.extend(self.end(HangupBy::System, Cause::NORMAL, now, clock));
                }
                IvrAction::Release(why) => {
                    tracing::error!(ch = %self.ch, "{why}");
                    if armed {
                        fx.push(LegEffect::CancelFlowTimer);
                    }
                    fx.extend(self.abort(now, clock));
                }
            }
        }
        fx
    }

    pub(super) fn enqueue(&mut self, wish: ivr::QueueWish, now: Mono) -> Vec<LegEffect> {
        let Leg::Ivr { mut call, flow, .. } = std::mem::take(&mut self.leg) else {
            return vec![];
        };
        let group = wish.group;
        call.group = Some(group);
        call.stay = Some(Box::new(wish.stay(flow)));
        call.queued_at = Some(now);
        let mut fx = vec![LegEffect::Enqueue {
            group,
            since: now,
            tried: Vec::new(),
            priority: call.priority(),
        }];
        if let Some(music) = call.music() {
            fx.push(LegEffect::Switch(SwitchCommand::Play {
                ch: self.ch,
                prompt: music.to_owned(),
            }));
        }
        if let Some(d) = call.stay.as_ref().and_then(|s| s.max_wait) {
            fx.push(LegEffect::StartFlowTimer(d));
        }
        if let Some((every, _)) = call.stay.as_ref().and_then(|s| s.announce) {
            fx.push(LegEffect::StartAnnounceTimer(every));
        }
        self.to(Leg::Queued { call });
        fx
    }

    /// The queue's music ended: it plays again while the caller waits
    /// (queued, or ringing an agent).
    pub(super) fn music_done(&mut self, completed: bool) -> Vec<LegEffect> {
        let ch = self.ch;
        let call = match &mut self.leg {
            Leg::Queued { call } | Leg::Ringing { call, .. } if completed => call,
            _ => return vec![],
        };
        let Some(stay) = call.stay.as_mut() else {
            return vec![];
        };
        // The announcement goes on, then the music again.
        let next = stay.announcing.pop_front().or_else(|| stay.music.clone());
        match next {
            Some(prompt) => vec![LegEffect::Switch(SwitchCommand::Play { ch, prompt })],
            None => vec![],
        }
    }

    /// Time for the queue's announcement: where the call stands (`place`:
    /// its position and, when known, the expected wait; `None` when it no
    /// longer waits). Only a caller still waiting hears it; the timer is
    /// armed again either way while the call waits or rings.
    pub fn announce(&mut self, place: Option<(u32, Option<Duration>)>) -> Vec<LegEffect> {
        let ch = self.ch;
        let (call, waiting) = match &mut self.leg {
            Leg::Queued { call } => (call, true),
            Leg::Ringing { call, .. } => (call, false),
            _ => return vec![],
        };
        let Some(stay) = call.stay.as_mut() else {
            return vec![];
        };
        let Some((every, lang)) = stay.announce else {
            return vec![];
        };
        let mut fx = vec![LegEffect::StartAnnounceTimer(every)];
        let (Some((pos, expected)), true) = (place, waiting) else {
            return fx;
        };
        if !stay.announcing.is_empty() {
            return fx; // the last one is still being spoken
        }
        let mut words: std::collections::VecDeque<String> = ["queue_position".to_owned()].into();
        words.extend(numbers::speak(u64::from(pos), lang));
        if let Some(wait) = expected {
            let minutes = wait.as_secs().div_ceil(60).max(1);
            words.push_back("queue_wait".into());
            words.extend(numbers::speak(minutes, lang));
            words.push_back("minutes".into());
        }
        let first = words.pop_front().expect("never empty");
        stay.announcing = words;
        // The music is cut for it (its end comes as not completed, and is
        // not taken for the announcement's).
        if stay.music.is_some() {
            fx.push(LegEffect::Switch(SwitchCommand::StopPlay { ch }));
        }
        fx.push(LegEffect::Switch(SwitchCommand::Play { ch, prompt: first }));
        fx
    }

    /// The group has nobody logged in: a caller whose flow has somewhere
    /// else to go (`overflow`) goes there; others wait for an agent.
    pub fn unstaffed(&mut self, now: Mono, clock: &Clock, flows: &FlowBook) -> Vec<LegEffect> {
        match &self.leg {
            Leg::Queued { call } if call.stay.as_ref().is_some_and(|s| s.flow.has_overflow()) => {
                self.overflow(now, clock, flows)
            }
            _ => vec![],
        }
    }

    /// The caller leaves the queue for the flow's `overflow` exit.
    pub(super) fn overflow(
        &mut self,
        now: Mono,
        clock: &Clock,
        flows: &FlowBook,
    ) -> Vec<LegEffect> {
        let Leg::Queued { mut call } = std::mem::take(&mut self.leg) else {
            return vec![];
        };
        let Some(stay) = call.stay.take() else {
            self.to(Leg::Queued { call });
            return vec![];
        };
        let mut fx = vec![LegEffect::CancelFlowTimer];
        if let Some(group) = call.group {
            fx.push(LegEffect::LeaveQueue {
                group,
                abandoned: false,
            });
        }
        let mut flow = stay.flow;
        if stay.announce.is_some() {
            fx.push(LegEffect::CancelAnnounceTimer);
        }
        if stay.music.is_some() || !stay.announcing.is_empty() {
            // One music play is always out while the caller waits (each
            // end plays it again); its end comes after this stop.
            fx.push(LegEffect::Switch(SwitchCommand::StopPlay { ch: self.ch }));
            flow.owe_play_done();
        }
        let actions = ivr::with_env(flows, now, clock, |env| flow.overflow(env));
        fx.extend(self.enter_ivr(call, flow, actions, now, clock));
        fx
    }

    /// The agent leaves the call and the caller goes on in a flow: at the
    /// queue node's `next` when the agent hung up first (`to` is `None`),
    /// or at `to`'s node (1005 while talking). The talk ends as if the
    /// agent hung up; the caller is not cleared.
    pub(super) fn talk_to_flow(
        &mut self,
        to: Option<(Arc<Flow>, Option<String>)>,
        now: Mono,
        clock: &Clock,
        flows: &FlowBook,
    ) -> Vec<LegEffect> {
        let (mut fx, mut call, agent) =
            self.end_talk(HangupBy::Agent, Cause::NORMAL, now, clock, false);
        // The talk is a segment of the call: its record and recording keep
        // their own keys, and a later talk (the flow may queue the caller
        // again) its own file.
        call.segments += 1;
        for e in &mut fx {
            match e {
                LegEffect::Record(r) => r.key = format!("{}:{}", r.key, call.segments),
                LegEffect::Recording(r) => r.key = format!("{}:{}", r.key, call.segments),
                _ => {}
            }
        }
        call.after_talk = true;
        let stay = call.stay.take();
        let (mut flow, actions) = match (to, stay) {
            (Some((f, node)), stay) => {
                let mut run = ivr::run_for(f.clone(), &call, self.ch);
                // The variables so far go with the caller.
                for (k, v) in stay
                    .map(|s| s.flow.vars)
                    .unwrap_or_else(|| call.vars.clone())
                {
                    run.vars.entry(k).or_insert(v);
                }
                let actions = ivr::with_env(flows, now, clock, |env| run.jump(f, node, env));
                (
                    run,
                    actions.unwrap_or_else(|why| vec![IvrAction::Release(why)]),
                )
            }
            (None, Some(stay)) => {
                let mut run = stay.flow;
                let actions = ivr::with_env(flows, now, clock, |env| run.after_agent(env));
                (run, actions)
            }
            (None, None) => unreachable!("checked by the callers"),
        };
        // Who talked to the caller, for the survey.
        flow.vars.insert("agent".into(), agent.agent.to_string());
        let work_no = agent.work_no.as_ref().map(ToString::to_string);
        flow.vars
            .insert("agent_work_no".into(), work_no.unwrap_or_default());
        fx.extend(self.enter_ivr(call, flow, actions, now, clock));
        fx
    }

    /// Closes the caller's voicemail if it is still recording, and keeps
    /// it (`sprecord`).
    pub(super) fn close_voicemail(
        &self,
        mut call: CallInfo,
        now: Mono,
        clock: &Clock,
    ) -> (Vec<LegEffect>, CallInfo) {
        let mut fx = Vec::new();
        if let Some(vm) = call.voicemail.as_mut().filter(|v| !v.closed) {
            vm.closed = true;
            let (since, file) = (vm.since, vm.file.clone());
            fx.push(LegEffect::Switch(SwitchCommand::StopRecord { ch: self.ch }));
            let key = format!("vm:{}:{}", call.guid, self.ch);
            fx.push(self.recording_row(&call, key, None, (since, file), now, clock));
        }
        (fx, call)
    }

    /// The call ended while a flow had it: its records.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn ivr_ended(
        &self,
        call: CallInfo,
        flow: &FlowRun,
        clear: LegEffect,
        by: HangupBy,
        cause: Cause,
        now: Mono,
        clock: &Clock,
    ) -> Vec<LegEffect> {
        let mut fx = vec![
            LegEffect::Switch(SwitchCommand::StopPlay { ch: self.ch }),
            clear,
        ];
        let (close, call) = self.close_voicemail(call, now, clock);
        fx.extend(close);
        // Back in a flow after the talk (the survey): the talk's record was
        // written; the answer, if any, is kept with the call, and a message
        // left after the talk has a record of its own.
        if call.after_talk {
            if let Some(vm) = &call.voicemail {
                let ending = Ending {
                    recording: Some(&vm.file),
                    ..Ending::unanswered(TellMsg::Voicemail, by, cause)
                };
                if let LegEffect::Record(mut r) = self.record(&call, ending, now, clock) {
                    r.key = format!("{}:vm", r.key);
                    fx.push(LegEffect::Record(r));
                }
            }
            if let Some(answer) = flow.vars.get("survey").filter(|a| !a.is_empty()) {
                let (name, version, _) = flow.position();
                fx.push(LegEffect::Survey(Box::new(crate::records::SurveyAnswer {
                    key: format!("survey:{}", call.guid),
                    guid: call.guid,
                    caller: call.caller.clone(),
                    tel_num: flow.vars.get("agent").cloned().unwrap_or_default(),
                    work_no: flow.vars.get("agent_work_no").cloned().unwrap_or_default(),
                    answer: answer.clone(),
                    flow: format!("{name} v{version}"),
                    at: clock.wall_at(now),
                })));
            }
            return fx;
        }
        let ending = match &call.voicemail {
            Some(vm) => Ending {
                recording: Some(&vm.file),
                ..Ending::unanswered(TellMsg::Voicemail, by, cause)
            },
            None => Ending::unanswered(TellMsg::IvrHangup, by, cause),
        };
        fx.push(self.record(&call, ending, now, clock));
        fx
    }

    /// The far party of a call a seat placed goes on in a flow after the
    /// agent hung up first (`[flow] startflow`): the talk's records were
    /// written by the seat; the flow adds only a survey answer.
    pub fn enter_flow(
        &mut self,
        mut call: CallInfo,
        flow: Arc<Flow>,
        agent: Option<&Ringer>,
        now: Mono,
        clock: &Clock,
        flows: &FlowBook,
    ) -> Vec<LegEffect> {
        call.after_talk = true;
        let mut run = ivr::run_for(flow, &call, self.ch);
        if let Some(a) = agent {
            run.vars.insert("agent".into(), a.agent.to_string());
            let work_no = a.work_no.as_ref().map(ToString::to_string);
            run.vars
                .insert("agent_work_no".into(), work_no.unwrap_or_default());
        }
        let actions = ivr::with_env(flows, now, clock, |env| run.start(env));
        self.enter_ivr(call, run, actions, now, clock)
    }
}
