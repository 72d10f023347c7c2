//! The switch, as the actors see it: the Keygoe event/command model.
//!
//! A driver (the built-in `sim`, later `sip`) turns the switch's happenings
//! into [`SwitchEvent`]s and carries out [`SwitchCommand`]s. Actors know
//! nothing else about the switch.

use std::path::PathBuf;
use std::time::Duration;

use actix::prelude::*;
use spcti_protocol::{Cause, ChNum, ConfNo, TelNum, TellGuid};

/// What a channel is, as the switch reports it at start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelKind {
    /// A line to the carrier.
    Trunk,
    /// An analog seat phone.
    Seat,
}

/// One channel of the switch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelDesc {
    pub ch: ChNum,
    pub kind: ChannelKind,
    /// The extension of a seat.
    pub ext: Option<TelNum>,
}

/// Something that happened on the switch (XMS_EVT_*).
#[derive(Debug, Clone, PartialEq, Eq, Message)]
#[rtype(result = "()")]
pub enum SwitchEvent {
    /// A call arrived on a trunk (XMS_EVT_CALLIN).
    CallIn {
        ch: ChNum,
        caller: String,
        callee: String,
        guid: TellGuid,
    },
    /// The far end of an outbound call is ringing.
    Alerting { ch: ChNum },
    /// The far end of an outbound call answered (XMS_EVT_ANSWERCALL).
    Answered { ch: ChNum },
    /// The call on the channel ended or failed (XMS_EVT_CLEARCALL).
    Cleared { ch: ChNum, cause: Cause },
    /// Keys pressed (XMS_EVT_RECVIODATA).
    Dtmf { ch: ChNum, digits: String },
    /// Hook flash on a seat.
    HookFlash { ch: ChNum },
    /// A seat's phone put its call on hold (`on`) or took it back: a SIP
    /// phone's hold key, a re-INVITE offering `sendonly` or `inactive`
    /// (or RFC 2543's `c=0.0.0.0`), then one offering to receive again.
    Hold { ch: ChNum, on: bool },
    /// A seat phone was lifted (answers it if it was ringing).
    OffHook { ch: ChNum },
    /// A seat phone was put down.
    OnHook { ch: ChNum },
    /// The switch itself ended a seat phone's call because the call's
    /// other party left (a SIP phone's dialog closed with a BYE): the
    /// phone is down, but nobody put it down — no hang-up to report and
    /// no off-hook wait to log. It may come before or after the trunk's
    /// `Cleared` has reached the seat.
    Released { ch: ChNum },
    /// A ringing seat's phone refused the ring, or could not be rung at
    /// all (an IP phone's decline or do-not-disturb: cause 17 or 21; a
    /// phone that cannot be reached: any other cause). Its ring is over.
    RingFailed { ch: ChNum, cause: Cause },
    /// A prompt finished or was stopped (XMS_EVT_PLAY).
    PlayDone {
        ch: ChNum,
        prompt: String,
        completed: bool,
    },
    /// A recording was closed (XMS_EVT_RECORD).
    RecordDone {
        ch: ChNum,
        file: PathBuf,
        duration: Duration,
    },
    /// Two channels were connected (XMS_EVT_LINKDEVICE).
    Linked { ch: ChNum, other: ChNum },
    /// Two channels were disconnected.
    Unlinked { ch: ChNum, other: ChNum },
    /// A fax was sent or received (XMS_EVT_SENDFAX / XMS_EVT_RECVFAX).
    FaxDone {
        ch: ChNum,
        ok: bool,
        pages: u32,
        file: PathBuf,
    },
    /// The channel joined a conference (XMS_EVT_JOINTOCONF).
    ConfJoined { ch: ChNum, conf: ConfNo },
    /// The channel left a conference.
    ConfLeft { ch: ChNum, conf: ConfNo },
    /// A seat's phone registered, or its registration ended (SIP phones;
    /// a wired phone never sends it): a seat whose phone cannot be reached
    /// is not offered calls.
    PhoneRegistered { ch: ChNum, registered: bool },
}

impl SwitchEvent {
    /// The channel the event belongs to.
    pub fn ch(&self) -> ChNum {
        use SwitchEvent::*;
        match self {
            CallIn { ch, .. }
            | Alerting { ch }
            | Answered { ch }
            | Cleared { ch, .. }
            | Dtmf { ch, .. }
            | HookFlash { ch }
            | Hold { ch, .. }
            | OffHook { ch }
            | OnHook { ch }
            | Released { ch }
            | RingFailed { ch, .. }
            | PlayDone { ch, .. }
            | RecordDone { ch, .. }
            | Linked { ch, .. }
            | Unlinked { ch, .. }
            | FaxDone { ch, .. }
            | ConfJoined { ch, .. }
            | ConfLeft { ch, .. }
            | PhoneRegistered { ch, .. } => *ch,
        }
    }
}

/// Where a driver sends its events: each one straight to the actor of its
/// channel (no central mailbox on the way; docs/architecture.md, "The switch seam").
#[derive(Clone)]
pub struct EventSink {
    /// Indexed by channel number.
    channels: std::sync::Arc<Vec<Recipient<SwitchEvent>>>,
}

impl EventSink {
    pub fn new(channels: Vec<Recipient<SwitchEvent>>) -> Self {
        EventSink {
            channels: std::sync::Arc::new(channels),
        }
    }

    /// Delivers `ev` to its channel's actor.
    pub fn deliver(&self, ev: SwitchEvent) {
        match self.channels.get(ev.ch().0 as usize) {
            Some(actor) => actor.do_send(ev),
            None => tracing::warn!(ch = %ev.ch(), "event for a channel no actor hosts"),
        }
    }
}

/// Connects a driver to the actors once they exist.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SetEventSink(pub EventSink);

/// Something an actor asks the switch to do.
#[derive(Debug, Clone, PartialEq, Eq, Message)]
#[rtype(result = "()")]
pub enum SwitchCommand {
    /// Ring a seat phone, showing `caller`.
    Alert { ch: ChNum, caller: String },
    /// Answer an incoming trunk call.
    Answer { ch: ChNum },
    /// Place an outbound call on a trunk (or ring an extension).
    MakeCall {
        ch: ChNum,
        caller: String,
        callee: String,
    },
    /// Hang up the channel (stops a seat ringing).
    Clear { ch: ChNum, cause: Cause },
    /// Connect `a` to hear `b` (and `b` to hear `a` when two-way).
    Link { a: ChNum, b: ChNum, two_way: bool },
    /// Disconnect.
    Unlink { a: ChNum, b: ChNum },
    /// Play a prompt (a name in `config/prompts`).
    Play { ch: ChNum, prompt: String },
    /// Stop playing.
    StopPlay { ch: ChNum },
    /// Record what the channel and its link say, both sides in one file.
    Record { ch: ChNum, file: PathBuf },
    /// Close the recording.
    StopRecord { ch: ChNum },
    /// Join a conference (`listen_only`: hears all, says nothing).
    JoinConf {
        ch: ChNum,
        conf: ConfNo,
        listen_only: bool,
        /// Heard by this member only, not by the rest (a supervisor's
        /// whisper to the agent); `None`: heard by all (unless
        /// `listen_only`). Joining again changes how a member is heard.
        heard_by: Option<ChNum>,
    },
    /// Leave a conference.
    LeaveConf { ch: ChNum, conf: ConfNo },
    /// Send a fax file on the channel's call.
    SendFax { ch: ChNum, file: PathBuf },
    /// Receive a fax into a file.
    ReceiveFax { ch: ChNum, file: PathBuf },
}

impl SwitchCommand {
    /// Whether every channel the command names is below `n` (a driver
    /// refuses a command for a channel it does not have).
    pub fn within(&self, n: u32) -> bool {
        use SwitchCommand::*;
        match self {
            Link { a, b, .. } | Unlink { a, b } => a.0 < n && b.0 < n,
            Alert { ch, .. }
            | Answer { ch }
            | MakeCall { ch, .. }
            | Clear { ch, .. }
            | Play { ch, .. }
            | StopPlay { ch }
            | Record { ch, .. }
            | StopRecord { ch }
            | JoinConf { ch, .. }
            | LeaveConf { ch, .. }
            | SendFax { ch, .. }
            | ReceiveFax { ch, .. } => ch.0 < n,
        }
    }
}
