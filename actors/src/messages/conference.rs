//! What a conference actor (actors/src/conference_actor.rs) takes and answers.

use actix::prelude::*;
use spcti_protocol::reply::Conference;
use spcti_protocol::{ChNum, ConfNo};

/// Join (or change how a member takes part).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Join {
    pub ch: ChNum,
    /// The number 1032 lists for the member.
    pub number: String,
    pub listen_only: bool,
    /// Heard by this member only (a supervisor's whisper to the agent).
    pub heard_by: Option<ChNum>,
}

/// One member leaves.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Leave {
    pub ch: ChNum,
}

/// Everyone leaves; the conference is over.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Close;

/// What 1032 shows of it.
#[derive(Debug, Message)]
#[rtype(result = "Conference")]
pub struct GetConference;

/// Conference -> router: opened (for 1032) or over.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub enum ConferenceIndex {
    Opened(ConfNo, ConferenceRef),
    Closed(ConfNo),
}

crate::mailbox::handle!(
    /// A handle on a `ConferenceActor`: every message it takes, without its type.
    ConferenceRef, ConferenceMailboxes, [Join, Leave, Close, GetConference]
);
