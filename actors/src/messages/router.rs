//! What the router (actors/src/router.rs) takes and answers.

use super::*;
use crate::access::Session;
use crate::messages::conference::ConferenceIndex;
use crate::refusal::Refusal;
use crate::seat::Feature;
use actix::prelude::*;
use spcti_protocol::{Envelope, Message as Wire, TelNum};
use std::net::SocketAddr;

/// A decoded request from an agent client; answered with the reply.
#[derive(Debug, Message)]
#[rtype(result = "Answer")]
pub struct ClientRequest {
    pub from: SocketAddr,
    pub envelope: Envelope,
}

/// The reply to a request, and events that must follow it to the same
/// client (1003's 6023 comes after its 9000).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub reply: Wire,
    pub then: Vec<Wire>,
}

impl From<Wire> for Answer {
    fn from(reply: Wire) -> Self {
        Answer {
            reply,
            then: Vec::new(),
        }
    }
}

/// A seat logged in from an address (`Some`) or logged out (`None`): sent
/// by the agent actor in the handler that made the change, so the binding
/// is in place before its client reads the reply.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct SessionChanged {
    pub tel: TelNum,
    pub session: Option<Session>,
}

/// A feature code dialed on a seat phone.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct SeatFeature {
    pub ext: TelNum,
    pub seat: spcti_protocol::ChNum,
    pub feature: Feature,
}

/// A seat phone left (`in_use`) or returned to its cradle.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct SeatHook {
    pub ext: TelNum,
    pub in_use: bool,
}

/// Make the actor at `path` (`channel:12`, `agent:8001`, `group:1`, `router`)
/// panic: fault drills and tests of supervision.
#[derive(Debug, Message)]
#[rtype(result = "Result<(), Refusal>")]
pub struct CrashActor {
    pub path: String,
}

/// Restart the actor at `path` (the operator's restart).
#[derive(Debug, Message)]
#[rtype(result = "Result<(), Refusal>")]
pub struct RestartActor {
    pub path: String,
}

/// The agent actor at a seat, if one was ever logged in there.
#[derive(Debug, Message)]
#[rtype(result = "Option<AgentRef>")]
pub struct AgentAt(pub TelNum);

crate::mailbox::handle!(
    /// A handle on a `Router`: every message it takes, without its type.
    RouterRef, RouterMailboxes, [ClientRequest, SessionChanged, ConferenceIndex, SeatHook, SeatFeature, CrashActor, AgentAt, RestartActor]
);
