//! The `sim` driver: a complete software switch (docs/simulator.md).
//!
//! It owns the physical truth of every channel — a seat phone is on- or
//! off-hook, a trunk has a party or not, who hears whom, what is playing and
//! recording — and turns the outside world's actions (the `/sim` HTTP
//! routes) into switch events and the actors' commands into state changes.
//! Prompts take their real length on the server clock; recordings are real
//! WAV files.

pub mod http;
pub mod recorder;
pub mod wav;

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::time::Duration;

use actix::prelude::*;
use serde::Serialize;
use spcti_actors::clock::{Clock, Mono};
use spcti_actors::switch::{
    ChannelDesc, ChannelKind, EventSink, SetEventSink, SwitchCommand, SwitchEvent,
};
use spcti_protocol::{Cause, ChNum, ConfNo, TelNum, TellGuid};

use recorder::{Recorded, Recordings};
use wav::Prompts;

/// A channel's state as `/sim/channels` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SimState {
    Free,
    Ringing,
    Offhook,
    Callin,
    Dialing,
    Talking,
    Hangup,
}

/// What a channel hears.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Link {
    Channel(ChNum),
    Conf(ConfNo),
}

#[derive(Debug)]
struct SimChannel {
    desc: ChannelDesc,
    state: SimState,
    caller: String,
    callee: String,
    link: Option<Link>,
    /// Channels that were linked to hear this one (`Link::Channel(this)`),
    /// some perhaps since unlinked: when this one stops, its listeners are
    /// found here instead of by a walk over every channel.
    listeners: Vec<ChNum>,
    /// In a conference: hears everyone, is heard by no one.
    listen_only: bool,
    /// In a conference: heard by this channel only (a whisper).
    heard_by: Option<ChNum>,
    playing: Option<String>,
    /// The recording's name; the file itself is the recorder thread's.
    recording: Option<String>,
    heard: Vec<String>,
    play_timer: Option<SpawnHandle>,
    answer_timer: Option<SpawnHandle>,
}

impl SimChannel {
    fn new(desc: ChannelDesc) -> Self {
        SimChannel {
            desc,
            state: SimState::Free,
            caller: String::new(),
            callee: String::new(),
            link: None,
            listeners: Vec::new(),
            listen_only: false,
            heard_by: None,
            playing: None,
            recording: None,
            heard: Vec::new(),
            play_timer: None,
            answer_timer: None,
        }
    }

    fn is_seat(&self) -> bool {
        self.desc.kind == ChannelKind::Seat
    }

    /// A seat phone that is lifted.
    fn off_hook(&self) -> bool {
        matches!(
            self.state,
            SimState::Offhook | SimState::Talking | SimState::Dialing
        )
    }

    fn reset(&mut self) {
        self.state = SimState::Free;
        self.caller.clear();
        self.callee.clear();
        self.link = None;
        self.playing = None;
        self.heard.clear();
    }
}

/// One channel as the `/sim/channels` routes show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimChannelView {
    pub ch: u32,
    pub kind: &'static str,
    pub ext: Option<String>,
    pub state: SimState,
    pub caller: String,
    pub callee: String,
    pub link: serde_json::Value,
    /// In a conference, listening only (a supervisor's listen, a mute).
    pub listen_only: bool,
    /// In a conference, heard by this channel only (a supervisor's
    /// whisper to the agent).
    pub heard_only_by: Option<u32>,
    pub playing: Option<String>,
    pub recording: Option<String>,
    pub heard: Vec<String>,
}

/// Why a `/sim` request was refused; each maps to an HTTP status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("no trunk is free")]
    NoTrunk,
}

/// The outside world acting on the switch (the `/sim` routes).
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<SimReply, SimError>")]
pub enum SimAction {
    NewCall {
        caller: String,
        callee: String,
    },
    Dtmf {
        ch: u32,
        digits: String,
    },
    Hangup {
        ch: u32,
    },
    Answer {
        ch: u32,
    },
    Reject {
        ch: u32,
        cause: u16,
    },
    OffHook {
        ext: String,
    },
    /// A ringing seat phone refuses the ring (an IP phone's decline) or
    /// turns out unreachable, with the Q.850 cause it gives.
    RefuseRing {
        ext: String,
        cause: u16,
    },
    OnHook {
        ext: String,
    },
    Flash {
        ext: String,
    },
    Dial {
        ext: String,
        digits: String,
    },
    List,
    Get {
        ch: u32,
    },
}

/// What a `/sim` action answers.
#[derive(Debug, Clone, PartialEq)]
pub enum SimReply {
    Call { ch: ChNum, guid: TellGuid },
    Done,
    Channels(Vec<SimChannelView>),
    Channel(Box<SimChannelView>),
}

/// The simulated switch.
pub struct SimSwitch {
    channels: Vec<SimChannel>,
    by_ext: HashMap<TelNum, usize>,
    /// Trunks that may be free, lowest first: a call-in takes the lowest
    /// free trunk without a walk over every channel (10,000 of them in the
    /// load bench). An entry is checked before use; a trunk that goes free
    /// is put back in `Clear`, the only place a trunk is reset.
    free_trunks: BTreeSet<u32>,
    sink: Option<EventSink>,
    clock: Clock,
    prompts: Prompts,
    recorder: Recordings,
    answer_delay: Duration,
}

impl SimSwitch {
    /// `trunks` trunk channels 0..trunks, then one channel per extension.
    pub fn new(
        trunks: u32,
        extensions: &[TelNum],
        clock: Clock,
        prompts: Prompts,
        recordings: PathBuf,
        answer_delay: Duration,
    ) -> Self {
        let mut channels: Vec<SimChannel> = (0..trunks)
            .map(|n| {
                SimChannel::new(ChannelDesc {
                    ch: ChNum(n),
                    kind: ChannelKind::Trunk,
                    ext: None,
                })
            })
            .collect();
        let mut by_ext = HashMap::new();
        for (i, ext) in extensions.iter().enumerate() {
            let ch = trunks + i as u32;
            by_ext.insert(ext.clone(), ch as usize);
            channels.push(SimChannel::new(ChannelDesc {
                ch: ChNum(ch),
                kind: ChannelKind::Seat,
                ext: Some(ext.clone()),
            }));
        }
        SimSwitch {
            channels,
            by_ext,
            free_trunks: (0..trunks).collect(),
            sink: None,
            clock,
            prompts,
            recorder: Recordings::start(recordings),
            answer_delay,
        }
    }

    /// Every channel, for building the actor tree.
    pub fn descriptors(&self) -> Vec<ChannelDesc> {
        self.channels.iter().map(|c| c.desc.clone()).collect()
    }

    fn emit(&self, ev: SwitchEvent) {
        match &self.sink {
            Some(s) => s.deliver(ev),
            None => tracing::warn!(?ev, "switch event before the channels exist"),
        }
    }

    fn chan(&mut self, ch: u32) -> Result<&mut SimChannel, SimError> {
        self.channels
            .get_mut(ch as usize)
            .ok_or_else(|| SimError::NotFound(format!("no channel {ch}")))
    }

    fn seat(&mut self, ext: &str) -> Result<&mut SimChannel, SimError> {
        let i = TelNum::new(ext)
            .ok()
            .and_then(|t| self.by_ext.get(&t).copied())
            .ok_or_else(|| SimError::NotFound(format!("no extension {ext}")))?;
        Ok(&mut self.channels[i])
    }

    fn view(c: &SimChannel) -> SimChannelView {
        SimChannelView {
            ch: c.desc.ch.0,
            kind: if c.is_seat() { "seat" } else { "trunk" },
            ext: c.desc.ext.as_ref().map(|e| e.to_string()),
            state: c.state,
            caller: c.caller.clone(),
            callee: c.callee.clone(),
            link: match &c.link {
                None => serde_json::Value::Null,
                Some(Link::Channel(ch)) => serde_json::json!(ch.0),
                Some(Link::Conf(n)) => serde_json::json!(format!("conf:{n}")),
            },
            listen_only: matches!(c.link, Some(Link::Conf(_))) && c.listen_only,
            heard_only_by: c
                .heard_by
                .filter(|_| matches!(c.link, Some(Link::Conf(_))))
                .map(|h| h.0),
            playing: c.playing.clone(),
            recording: c.recording.clone(),
            heard: c.heard.clone(),
        }
    }

    fn act(&mut self, a: SimAction, ctx: &mut Context<Self>) -> Result<SimReply, SimError> {
        match a {
            SimAction::NewCall { caller, callee } => {
                let i = self.take_free_trunk().ok_or(SimError::NoTrunk)?;
                let c = &mut self.channels[i];
                c.state = SimState::Callin;
                c.caller = caller.clone();
                c.callee = callee.clone();
                let ch = c.desc.ch;
                let guid = TellGuid::new_v4();
                self.emit(SwitchEvent::CallIn {
                    ch,
                    caller,
                    callee,
                    guid,
                });
                Ok(SimReply::Call { ch, guid })
            }
            SimAction::Dtmf { ch, digits } => {
                check_digits(&digits)?;
                let c = self.chan(ch)?;
                if matches!(
                    c.state,
                    SimState::Free | SimState::Hangup | SimState::Ringing
                ) {
                    return Err(SimError::BadRequest(format!(
                        "channel {ch} has no call to send keys on"
                    )));
                }
                let ch = c.desc.ch;
                self.emit(SwitchEvent::Dtmf { ch, digits });
                Ok(SimReply::Done)
            }
            SimAction::Hangup { ch } => {
                let c = self.chan(ch)?;
                if c.is_seat() {
                    let ext = c
                        .desc
                        .ext
                        .clone()
                        .map(|e| e.to_string())
                        .unwrap_or_default();
                    return self.act(SimAction::OnHook { ext }, ctx);
                }
                if matches!(c.state, SimState::Free | SimState::Hangup) {
                    return Err(SimError::BadRequest(format!("channel {ch} has no call")));
                }
                c.state = SimState::Hangup;
                let ch = c.desc.ch;
                self.hear_nothing(ch, ctx);
                self.emit(SwitchEvent::Cleared {
                    ch,
                    cause: Cause::NORMAL,
                });
                Ok(SimReply::Done)
            }
            SimAction::Answer { ch } => {
                let c = self.chan(ch)?;
                if c.state != SimState::Dialing {
                    return Err(SimError::BadRequest(format!(
                        "channel {ch} has no outbound call ringing"
                    )));
                }
                let ch = c.desc.ch;
                self.far_end_answers(ch, ctx);
                Ok(SimReply::Done)
            }
            SimAction::Reject { ch, cause } => {
                let c = self.chan(ch)?;
                if c.state != SimState::Dialing {
                    return Err(SimError::BadRequest(format!(
                        "channel {ch} has no outbound call ringing"
                    )));
                }
                c.state = SimState::Hangup;
                if let Some(h) = c.answer_timer.take() {
                    ctx.cancel_future(h);
                }
                let ch = c.desc.ch;
                self.emit(SwitchEvent::Cleared {
                    ch,
                    cause: Cause(cause),
                });
                Ok(SimReply::Done)
            }
            SimAction::OffHook { ext } => {
                let c = self.seat(&ext)?;
                if c.off_hook() {
                    return Err(SimError::BadRequest(format!("{ext} is already off-hook")));
                }
                // Answering a ringing phone or lifting an idle one: either way
                // it is lifted with nothing connected until the system links it.
                c.state = SimState::Offhook;
                let ch = c.desc.ch;
                self.emit(SwitchEvent::OffHook { ch });
                Ok(SimReply::Done)
            }
            SimAction::RefuseRing { ext, cause } => {
                let c = self.seat(&ext)?;
                if c.state != SimState::Ringing {
                    return Err(SimError::BadRequest(format!("{ext} is not ringing")));
                }
                c.reset();
                let ch = c.desc.ch;
                self.emit(SwitchEvent::RingFailed {
                    ch,
                    cause: Cause(cause),
                });
                Ok(SimReply::Done)
            }
            SimAction::OnHook { ext } => {
                let c = self.seat(&ext)?;
                if !c.off_hook() {
                    return Err(SimError::BadRequest(format!("{ext} is already on-hook")));
                }
                let ch = c.desc.ch;
                c.reset();
                self.hear_nothing(ch, ctx);
                self.emit(SwitchEvent::OnHook { ch });
                Ok(SimReply::Done)
            }
            SimAction::Flash { ext } => {
                let c = self.seat(&ext)?;
                if !c.off_hook() {
                    return Err(SimError::BadRequest(format!(
                        "{ext} is on-hook; a hook flash needs a lifted phone"
                    )));
                }
                let ch = c.desc.ch;
                self.emit(SwitchEvent::HookFlash { ch });
                Ok(SimReply::Done)
            }
            SimAction::Dial { ext, digits } => {
                check_digits(&digits)?;
                let c = self.seat(&ext)?;
                if !c.off_hook() {
                    return Err(SimError::BadRequest(format!(
                        "{ext} is on-hook; lift it first"
                    )));
                }
                let ch = c.desc.ch;
                self.emit(SwitchEvent::Dtmf { ch, digits });
                Ok(SimReply::Done)
            }
            SimAction::List => Ok(SimReply::Channels(
                self.channels.iter().map(Self::view).collect(),
            )),
            SimAction::Get { ch } => {
                let c = self.chan(ch)?;
                Ok(SimReply::Channel(Box::new(Self::view(c))))
            }
        }
    }

    /// The lowest free trunk, taken out of `free_trunks`.
    fn take_free_trunk(&mut self) -> Option<usize> {
        let free = |c: &SimChannel| !c.is_seat() && c.state == SimState::Free;
        while let Some(t) = self.free_trunks.pop_first() {
            if self.channels.get(t as usize).is_some_and(free) {
                return Some(t as usize);
            }
        }
        // Not reached while every reset of a trunk puts it back; kept so
        // that a missed one costs a walk, never a refused call.
        self.channels.iter().position(free)
    }

    /// `from` now hears `to`: noted on `to`, so that `to` hanging up finds
    /// it. Entries no longer linked are dropped here, which keeps the list
    /// as short as the channel's current listeners.
    fn link(&mut self, from: ChNum, to: ChNum) {
        self.channels[from.0 as usize].link = Some(Link::Channel(to));
        let mut listeners = std::mem::take(&mut self.channels[to.0 as usize].listeners);
        listeners
            .retain(|&x| x != from && self.channels[x.0 as usize].link == Some(Link::Channel(to)));
        listeners.push(from);
        self.channels[to.0 as usize].listeners = listeners;
    }

    /// The channel stops hearing anything; whoever heard it loses the link
    /// too, and its recording is closed.
    fn hear_nothing(&mut self, ch: ChNum, ctx: &mut Context<Self>) {
        self.stop_play(ch, ctx, false);
        self.stop_record(ch, ctx);
        let listeners = self
            .channels
            .get_mut(ch.0 as usize)
            .map(|c| std::mem::take(&mut c.listeners))
            .unwrap_or_default();
        for x in listeners {
            let c = &mut self.channels[x.0 as usize];
            if c.link == Some(Link::Channel(ch)) {
                c.link = None;
                if c.is_seat() && c.state == SimState::Talking {
                    c.state = SimState::Offhook;
                }
            }
        }
        if let Some(c) = self.channels.get_mut(ch.0 as usize) {
            c.link = None;
        }
    }

    fn far_end_answers(&mut self, ch: ChNum, ctx: &mut Context<Self>) {
        let c = &mut self.channels[ch.0 as usize];
        if let Some(h) = c.answer_timer.take() {
            ctx.cancel_future(h);
        }
        c.state = SimState::Talking;
        self.emit(SwitchEvent::Answered { ch });
    }

    fn stop_play(&mut self, ch: ChNum, ctx: &mut Context<Self>, report: bool) {
        let Some(c) = self.channels.get_mut(ch.0 as usize) else {
            return;
        };
        if let Some(h) = c.play_timer.take() {
            ctx.cancel_future(h);
        }
        if let Some(prompt) = c.playing.take() {
            if report {
                self.emit(SwitchEvent::PlayDone {
                    ch,
                    prompt,
                    completed: false,
                });
            }
        }
    }

    /// Stops the recording on `ch` and says when it is closed: always, so
    /// that the call's end never waits for a recording that did not run.
    /// Closed on the recorder thread and reported from there
    /// (`Handler<Recorded>`), even when nothing runs: a report made here
    /// could overtake the closing of a recording stopped just before, and
    /// tell the agents of a file not yet complete.
    fn stop_record(&mut self, ch: ChNum, ctx: &mut Context<Self>) {
        if let Some(c) = self.channels.get_mut(ch.0 as usize) {
            c.recording = None;
        }
        let report = ctx.address().recipient();
        self.recorder.finish(ch, self.clock.now(), report);
    }

    fn command(&mut self, cmd: SwitchCommand, ctx: &mut Context<Self>) {
        let now: Mono = self.clock.now();
        match cmd {
            SwitchCommand::Alert { ch, caller } => {
                let c = &mut self.channels[ch.0 as usize];
                if c.is_seat() && c.state == SimState::Free {
                    c.state = SimState::Ringing;
                    c.caller = caller;
                    c.callee = c
                        .desc
                        .ext
                        .as_ref()
                        .map(|e| e.to_string())
                        .unwrap_or_default();
                }
            }
            SwitchCommand::Answer { ch } => {
                let c = &mut self.channels[ch.0 as usize];
                if c.state == SimState::Callin {
                    c.state = SimState::Talking;
                }
            }
            SwitchCommand::MakeCall { ch, caller, callee } => {
                let c = &mut self.channels[ch.0 as usize];
                if c.is_seat() {
                    if c.state == SimState::Free {
                        c.state = SimState::Ringing;
                        c.caller = caller;
                        c.callee = callee;
                    }
                    return;
                }
                if c.state != SimState::Free {
                    self.emit(SwitchEvent::Cleared {
                        ch,
                        cause: Cause::NO_CIRCUIT,
                    });
                    return;
                }
                c.state = SimState::Dialing;
                c.caller = caller;
                c.callee = callee;
                if !self.answer_delay.is_zero() {
                    let sleep = self.clock.sleep(self.answer_delay);
                    let h = ctx.spawn(sleep.into_actor(self).map(move |_, act, ctx| {
                        if act.channels[ch.0 as usize].state == SimState::Dialing {
                            act.channels[ch.0 as usize].answer_timer = None;
                            act.far_end_answers(ch, ctx);
                        }
                    }));
                    self.channels[ch.0 as usize].answer_timer = Some(h);
                }
                self.emit(SwitchEvent::Alerting { ch });
            }
            SwitchCommand::Clear { ch, .. } => {
                let c = &mut self.channels[ch.0 as usize];
                if c.is_seat() {
                    if c.state == SimState::Ringing {
                        c.reset();
                    } else if c.state == SimState::Talking {
                        // The phone stays lifted; it just hears nothing now.
                        c.state = SimState::Offhook;
                        c.link = None;
                    }
                    return;
                }
                if let Some(h) = c.answer_timer.take() {
                    ctx.cancel_future(h);
                }
                self.hear_nothing(ch, ctx);
                self.channels[ch.0 as usize].reset();
                self.free_trunks.insert(ch.0);
            }
            SwitchCommand::Link { a, b, two_way } => {
                self.stop_play(a, ctx, true);
                self.link(a, b);
                if two_way {
                    self.stop_play(b, ctx, true);
                    self.link(b, a);
                }
                for x in [a, b] {
                    let c = &mut self.channels[x.0 as usize];
                    if c.is_seat() && c.state == SimState::Offhook {
                        c.state = SimState::Talking;
                    }
                }
                self.emit(SwitchEvent::Linked { ch: a, other: b });
            }
            SwitchCommand::Unlink { a, b } => {
                for (x, y) in [(a, b), (b, a)] {
                    let c = &mut self.channels[x.0 as usize];
                    if c.link == Some(Link::Channel(y)) {
                        c.link = None;
                        if c.is_seat() && c.state == SimState::Talking {
                            c.state = SimState::Offhook;
                        }
                    }
                }
                self.emit(SwitchEvent::Unlinked { ch: a, other: b });
            }
            SwitchCommand::Play { ch, prompt } => {
                self.stop_play(ch, ctx, true);
                let Some(len) = self.prompts.duration(&prompt) else {
                    tracing::warn!(%ch, %prompt, "no such prompt");
                    self.emit(SwitchEvent::PlayDone {
                        ch,
                        prompt,
                        completed: false,
                    });
                    return;
                };
                let c = &mut self.channels[ch.0 as usize];
                c.heard.push(prompt.clone());
                // A prompt of no length is done at once: no timer, whose
                // wait would round up to the runtime's next 1 ms tick.
                if len.is_zero() {
                    self.emit(SwitchEvent::PlayDone {
                        ch,
                        prompt,
                        completed: true,
                    });
                    return;
                }
                c.playing = Some(prompt.clone());
                let sleep = self.clock.sleep(len);
                let h = ctx.spawn(sleep.into_actor(self).map(move |_, act, _| {
                    let c = &mut act.channels[ch.0 as usize];
                    c.play_timer = None;
                    if c.playing.take().is_some() {
                        act.emit(SwitchEvent::PlayDone {
                            ch,
                            prompt,
                            completed: true,
                        });
                    }
                }));
                self.channels[ch.0 as usize].play_timer = Some(h);
            }
            SwitchCommand::StopPlay { ch } => self.stop_play(ch, ctx, true),
            SwitchCommand::Record { ch, file } => {
                self.stop_record(ch, ctx);
                match wav::check_recording_name(&file) {
                    Ok(()) => {
                        let name = file.to_string_lossy().into_owned();
                        self.recorder.begin(ch, file, now);
                        self.channels[ch.0 as usize].recording = Some(name);
                    }
                    Err(e) => tracing::error!(%ch, file = %file.display(), "cannot record: {e}"),
                }
            }
            SwitchCommand::StopRecord { ch } => self.stop_record(ch, ctx),
            SwitchCommand::JoinConf {
                ch,
                conf,
                listen_only,
                heard_by,
            } => {
                let c = &mut self.channels[ch.0 as usize];
                c.link = Some(Link::Conf(conf));
                c.listen_only = listen_only;
                c.heard_by = heard_by;
                if c.is_seat() && c.state == SimState::Offhook {
                    c.state = SimState::Talking;
                }
                self.emit(SwitchEvent::ConfJoined { ch, conf });
            }
            SwitchCommand::LeaveConf { ch, conf } => {
                let c = &mut self.channels[ch.0 as usize];
                if c.link == Some(Link::Conf(conf)) {
                    c.link = None;
                    if c.is_seat() && c.state == SimState::Talking {
                        c.state = SimState::Offhook;
                    }
                }
                self.emit(SwitchEvent::ConfLeft { ch, conf });
            }
            SwitchCommand::SendFax { ch, file } | SwitchCommand::ReceiveFax { ch, file } => {
                // A simulated T.30 session: one page, 10 seconds.
                let sleep = self.clock.sleep(Duration::from_secs(10));
                ctx.spawn(sleep.into_actor(self).map(move |_, act, _| {
                    let ok = act.channels[ch.0 as usize].state == SimState::Talking;
                    act.emit(SwitchEvent::FaxDone {
                        ch,
                        ok,
                        pages: u32::from(ok),
                        file,
                    });
                }));
            }
        }
    }
}

fn check_digits(digits: &str) -> Result<(), SimError> {
    if digits.is_empty()
        || !digits
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '*' | '#' | 'A'..='D'))
    {
        return Err(SimError::BadRequest(
            "digits must be 0-9, *, # or A-D, at least one".into(),
        ));
    }
    Ok(())
}

impl Actor for SimSwitch {
    type Context = Context<Self>;
}

/// The outside world.
impl Handler<SimAction> for SimSwitch {
    type Result = Result<SimReply, SimError>;
    fn handle(&mut self, a: SimAction, ctx: &mut Context<Self>) -> Self::Result {
        self.act(a, ctx)
    }
}

/// The actors' commands.
impl Handler<SwitchCommand> for SimSwitch {
    type Result = ();
    fn handle(&mut self, cmd: SwitchCommand, ctx: &mut Context<Self>) {
        if !cmd.within(self.channels.len() as u32) {
            tracing::error!(?cmd, "command for a channel this switch does not have");
            return;
        }
        self.command(cmd, ctx);
    }
}

/// A recording closed on the recorder thread: said now, in the switch's
/// order of events from here on.
impl Handler<Recorded> for SimSwitch {
    type Result = ();
    fn handle(&mut self, m: Recorded, _: &mut Context<Self>) {
        self.emit(SwitchEvent::RecordDone {
            ch: m.ch,
            file: m.file,
            duration: m.duration,
        });
        // Only now may the quiescence barrier find the switch idle.
        drop(m.busy);
    }
}

/// Connects the switch to the channel actors.
impl Handler<SetEventSink> for SimSwitch {
    type Result = ();
    fn handle(&mut self, m: SetEventSink, _: &mut Context<Self>) {
        self.sink = Some(m.0);
    }
}

/// The simulated switch behind the driver seam.
pub struct SimDriver {
    pub addr: Addr<SimSwitch>,
    pub clock: Clock,
    channels: Vec<ChannelDesc>,
}

impl SimDriver {
    /// Starts the simulated switch.
    pub fn start(sim: SimSwitch) -> Self {
        let channels = sim.descriptors();
        let clock = sim.clock.clone();
        SimDriver {
            addr: sim.start(),
            clock,
            channels,
        }
    }
}

impl crate::switch::SwitchDriver for SimDriver {
    fn channels(&self) -> Vec<ChannelDesc> {
        self.channels.clone()
    }

    fn commands(&self) -> Recipient<SwitchCommand> {
        self.addr.clone().recipient()
    }

    fn connect(&self, sink: EventSink) {
        self.addr.do_send(SetEventSink(sink));
    }

    fn routes(&self, cfg: &mut actix_web::web::ServiceConfig) {
        cfg.app_data(actix_web::web::Data::new(self.addr.clone()))
            .app_data(actix_web::web::Data::new(self.clock.clone()));
        http::routes(cfg);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three trunks (0–2) and two seats (3: ext 801, 4: ext 802); no sink,
    /// so events are only logged.
    fn switch() -> (Addr<SimSwitch>, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let exts = [TelNum::new("801").unwrap(), TelNum::new("802").unwrap()];
        let sim = SimSwitch::new(
            3,
            &exts,
            Clock::manual(),
            Prompts::load(dir.path()),
            dir.path().to_path_buf(),
            Duration::ZERO,
        );
        (sim.start(), dir)
    }

    async fn call_in(sim: &Addr<SimSwitch>) -> Result<u32, SimError> {
        let new = SimAction::NewCall {
            caller: "13800000000".into(),
            callee: "4008001234".into(),
        };
        match sim.send(new).await.unwrap()? {
            SimReply::Call { ch, .. } => Ok(ch.0),
            other => panic!("{other:?}"),
        }
    }

    async fn clear(sim: &Addr<SimSwitch>, ch: u32) {
        sim.send(SwitchCommand::Clear {
            ch: ChNum(ch),
            cause: Cause::NORMAL,
        })
        .await
        .unwrap();
    }

    async fn link_of(sim: &Addr<SimSwitch>, ch: u32) -> serde_json::Value {
        match sim.send(SimAction::Get { ch }).await.unwrap().unwrap() {
            SimReply::Channel(v) => v.link,
            other => panic!("{other:?}"),
        }
    }

    #[actix::test]
    async fn a_call_comes_in_on_the_lowest_free_trunk() {
        let (sim, _dir) = switch();
        for expected in 0..3 {
            assert_eq!(call_in(&sim).await.unwrap(), expected);
        }
        assert!(matches!(call_in(&sim).await, Err(SimError::NoTrunk)));

        clear(&sim, 2).await;
        clear(&sim, 0).await;
        assert_eq!(
            call_in(&sim).await.unwrap(),
            0,
            "the lowest, not the last freed"
        );
        assert_eq!(call_in(&sim).await.unwrap(), 2);

        // A trunk seized for a call out is not free for a call in.
        clear(&sim, 0).await;
        clear(&sim, 1).await;
        sim.send(SwitchCommand::MakeCall {
            ch: ChNum(0),
            caller: "801".into(),
            callee: "13900000000".into(),
        })
        .await
        .unwrap();
        assert_eq!(call_in(&sim).await.unwrap(), 1);
        assert!(matches!(call_in(&sim).await, Err(SimError::NoTrunk)));
        clear(&sim, 0).await;
        assert_eq!(call_in(&sim).await.unwrap(), 0);
    }

    #[actix::test]
    async fn a_trunk_that_clears_unlinks_whoever_heard_it_and_no_one_else() {
        let (sim, _dir) = switch();
        let (a, b) = (call_in(&sim).await.unwrap(), call_in(&sim).await.unwrap());
        let link = |x: u32, y: u32, two_way| SwitchCommand::Link {
            a: ChNum(x),
            b: ChNum(y),
            two_way,
        };
        // Seat 3 talks with trunk a; seat 4 listens to trunk a, one way.
        sim.send(link(3, a, true)).await.unwrap();
        sim.send(link(4, a, false)).await.unwrap();
        // Trunk b hears seat 4 only: untouched when a clears.
        sim.send(link(b, 4, false)).await.unwrap();
        clear(&sim, a).await;
        assert_eq!(link_of(&sim, 3).await, serde_json::Value::Null);
        assert_eq!(link_of(&sim, 4).await, serde_json::Value::Null);
        assert_eq!(link_of(&sim, b).await, serde_json::json!(4));

        // A listener that moved on to another channel keeps its new link
        // when the one it used to hear clears.
        let c = call_in(&sim).await.unwrap();
        assert_eq!(c, a);
        sim.send(link(3, c, true)).await.unwrap();
        sim.send(link(3, b, true)).await.unwrap();
        clear(&sim, c).await;
        assert_eq!(link_of(&sim, 3).await, serde_json::json!(b));
        clear(&sim, b).await;
        assert_eq!(link_of(&sim, 3).await, serde_json::Value::Null);
    }
}
