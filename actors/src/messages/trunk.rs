//! What a trunk actor (actors/src/trunk_actor) takes besides what every
//! channel takes (`super::channel`): offers of its queued call, the agents'
//! requests on it, and seizure for a call a seat places.

use super::channel::*;
use super::*;
use crate::leg::{Flash, Ringer, SupMode, TransferTo};
use crate::refusal::Refusal;
use actix::prelude::*;
use spcti_protocol::{ChNum, GroupNo, TellGuid};

/// A group offers the waiting call on this trunk to agents.
#[derive(Message)]
#[rtype(result = "()")]
pub struct OfferCall {
    pub group: GroupNo,
    pub ringers: Vec<(Ringer, AgentRef)>,
}

/// Pick the ringing call on this trunk up to the picker's seat (connected
/// at once when `seat_lifted`, rung otherwise). Answers the caller's number.
#[derive(Message)]
#[rtype(result = "Result<String, Refusal>")]
pub struct PickUpCall {
    pub picker: Ringer,
    pub agent: AgentRef,
    pub seat_lifted: bool,
}

/// Trunk: the agent on `from_seat` transfers the call (1008, `*5`, `*6`).
/// `agent` is the agent at the target seat, if one is logged in there.
#[derive(Message)]
#[rtype(result = "Result<(), Refusal>")]
pub struct TransferCall {
    pub from_seat: ChNum,
    pub to: TransferTo,
    pub agent: Option<AgentRef>,
}

/// Seat -> trunk: hook flash on the seat talking on this call.
#[derive(Message)]
#[rtype(result = "Result<Flash, Refusal>")]
pub struct SeatFlash {
    pub seat: ChNum,
    /// A hold key says which way (`Some(true)`: hold); a flash toggles.
    pub hold: Option<bool>,
}

/// Trunk: the agent on hold (after a flash) consults extension `target`.
#[derive(Message)]
#[rtype(result = "Result<(), Refusal>")]
pub struct ConsultCall {
    pub from_seat: ChNum,
    pub target: Ringer,
    pub agent: Option<AgentRef>,
}

/// Trunk: a supervisor listens to (1019) or barges into (1020) the call.
/// Answers the conference number.
#[derive(Message)]
#[rtype(result = "Result<spcti_protocol::ConfNo, Refusal>")]
pub struct Supervise {
    pub sup: Ringer,
    pub agent: AgentRef,
    pub mode: SupMode,
    pub seat_lifted: bool,
}

/// Trunk: a supervisor takes the call over (1021).
#[derive(Message)]
#[rtype(result = "Result<(), Refusal>")]
pub struct TakeOver {
    pub sup: Ringer,
    pub agent: AgentRef,
    pub seat_lifted: bool,
}

/// Trunk: the agent who transferred the call takes it back (1009, 1007).
/// Answers the caller's number.
#[derive(Message)]
#[rtype(result = "Result<String, Refusal>")]
pub struct RetrieveCall {
    pub by: Ringer,
    pub agent: AgentRef,
    pub only_ringing: bool,
    pub seat_lifted: bool,
}

/// Trunk (seized for a placed call): take the call over and send it `to`.
#[derive(Message)]
#[rtype(result = "Result<(), Refusal>")]
pub struct Adopt {
    pub call: crate::leg::CallInfo,
    pub to: TransferTo,
    pub agent: Option<AgentRef>,
    /// The target seat is off-hook (a supervisor taking the call over):
    /// it is connected at once instead of rung.
    pub seat_lifted: bool,
}

/// Trunk (seized for a placed call): the agent hung up first; the far
/// party stays and goes on in `[flow] startflow` (the survey). `agent` is
/// who talked to it.
#[derive(Message)]
#[rtype(result = "()")]
pub struct EnterFlow {
    pub call: crate::leg::CallInfo,
    pub agent: Option<Ringer>,
}

/// Trunk: take this free trunk for a call the seat `owner` places. Answers
/// whether it was free.
#[derive(Message)]
#[rtype(result = "bool")]
pub struct Seize {
    pub owner: ChNum,
    pub guid: TellGuid,
    pub caller: String,
    pub callee: String,
    pub agent: Option<Ringer>,
}

/// Trunk: the call that seized it is over; take inbound calls again.
#[derive(Message)]
#[rtype(result = "()")]
pub struct FreeTrunk;

/// A client's request to the call flow on this trunk (1005, 1006, 1026
/// `ch:`). Answers a variable's value for `Get`, `""` otherwise.
#[derive(Message)]
#[rtype(result = "Result<String, Refusal>")]
pub enum FlowRequest {
    /// 1006: a flow variable (`""` when unset).
    Get(String),
    /// 1026 `ch:`: the flow's `data`; a `wait` node goes on.
    Data(String),
    /// 1005: go to `node` of `flow` (its start when `None`).
    Jump {
        flow: std::sync::Arc<crate::flow::Flow>,
        node: Option<String>,
    },
}

/// Group -> trunk: nobody is logged in to the group the call waits in
/// (a flow's `overflow` takes the caller elsewhere).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Unstaffed;

crate::mailbox::handle!(
    /// A handle on a `TrunkActor`: every message it takes, without its type.
    TrunkRef, TrunkMailboxes, [crate::switch::SwitchEvent, GetChannel, ForceRelease, MuteSeat, OfferDeclined, SeatAnswered, SeatHungUp, FarAnswered, FarCleared, Crash, crate::supervision::Restart, OfferCall, PickUpCall, TransferCall, SeatFlash, ConsultCall, Supervise, TakeOver, RetrieveCall, Adopt, Seize, FreeTrunk, FlowRequest, Unstaffed, EnterFlow]
);
