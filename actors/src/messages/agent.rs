//! What the agent actor (actors/src/agent_actor.rs) takes and answers.

use crate::records::Customer;
use crate::refusal::Refusal;
use actix::prelude::*;
use spcti_protocol::{AgentState, Cause, ChNum, GroupNo, TelNum, TellGuid, WorkNo};
use std::net::SocketAddr;
use std::time::Duration;

/// What a client asks of its agent (the router has checked the request).
#[derive(Debug, Clone)]
pub enum AgentRequest {
    /// 1001, with groups and priorities resolved.
    Login {
        work_no: Option<WorkNo>,
        groups: Vec<(GroupNo, u32)>,
        show: Option<String>,
    },
    /// 1002.
    Busy { show: Option<String> },
    /// 1004.
    Logout,
    /// 1099.
    Heartbeat,
}

/// A client request with the address it came from; answered with the reply
/// and the events it caused, which the gateway sends after the reply.
#[derive(Debug, Message)]
#[rtype(result = "crate::messages::router::Answer")]
pub struct ClientCommand {
    pub from: SocketAddr,
    pub request: AgentRequest,
}

/// A call is offered: ring (the trunk rings the seat), pop the screen.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct Offered {
    pub call: ChNum,
    pub guid: TellGuid,
    pub caller: String,
    pub callee: String,
    pub group: Option<GroupNo>,
    pub waited: Duration,
    pub customer: Customer,
    /// The agent asked for this call (pick-up): it may ring while busy.
    pub pick_up: bool,
    /// Flow variables for the screen pop (flows.md `popup`).
    pub popup: Vec<(String, String)>,
}

/// The offer ended without this agent answering.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct OfferWithdrawn {
    pub call: ChNum,
    pub why: crate::agent::Unanswered,
}

/// The agent's seat is connected to the call.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct Connected {
    pub call: ChNum,
    pub guid: TellGuid,
}

/// The call ended; `by_agent` when the agent's seat hung up.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct CallEnded {
    pub call: ChNum,
    pub by_agent: bool,
}

/// The agent places a call from its seat (`call`, the seat's channel).
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<(), Refusal>")]
pub struct Placing {
    pub call: ChNum,
}

/// The placed call could not be started.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct PlacingCancelled {
    pub call: ChNum,
}

/// The far end of a placed call answered or failed (6009).
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct OutboundResult {
    pub guid: TellGuid,
    pub caller: String,
    pub callee: String,
    pub answered: bool,
    pub cause: Cause,
}

/// The agent transferred `call` away (it may take it back).
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct Transferred {
    pub call: ChNum,
}

/// The agent's seat phone left or returned to its cradle.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct SeatInUse(pub bool);

/// `*9` on the seat phone.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<(), Refusal>")]
pub struct PhoneLogout;

/// What the router needs to know of an agent.
#[derive(Debug, Clone)]
pub struct AgentView {
    pub tel: TelNum,
    pub seat: ChNum,
    pub work_no: Option<WorkNo>,
    pub groups: Vec<(GroupNo, u32)>,
    pub state: AgentState,
    pub show_state: String,
    /// The call (trunk channel) it rings for or talks on.
    pub call: Option<ChNum>,
    /// Where its client program is.
    pub client: Option<SocketAddr>,
    /// The call it last transferred.
    pub transferred: Option<ChNum>,
}

/// Asks for an [`AgentView`].
#[derive(Debug, Clone, Message)]
#[rtype(result = "AgentView")]
pub struct GetAgent;

/// Make the actor panic (fault drills and tests).
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct CrashAgent;

crate::mailbox::handle!(
    /// A handle on a `AgentActor`: every message it takes, without its type.
    AgentRef, AgentMailboxes, [ClientCommand, Offered, OfferWithdrawn, Connected, CallEnded, Placing, PlacingCancelled, OutboundResult, Transferred, SeatInUse, PhoneLogout, GetAgent, CrashAgent, crate::supervision::Restart]
);
