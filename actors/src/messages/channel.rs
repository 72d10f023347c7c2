//! What a channel actor (actors/src/channel_actor.rs) takes and answers.

use super::*;
use crate::clock::Mono;
use crate::leg::{Flash, Ringer, TransferTo};
use crate::outbound::Placed;
use actix::prelude::*;
use spcti_protocol::{Cause, ChNum, ChannelState, GroupNo, TelNum, TellGuid};

/// A group offers the waiting call on this trunk to agents.
#[derive(Message)]
#[rtype(result = "()")]
pub struct OfferCall {
    pub group: GroupNo,
    pub ringers: Vec<(Ringer, AgentRef)>,
}

/// An offered agent could not take the call.
#[derive(Message)]
#[rtype(result = "()")]
pub struct OfferDeclined {
    pub agent: TelNum,
}

/// Trunk -> seat: ring for the call on `call`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Ring {
    pub call: ChNum,
    pub caller: String,
    /// The call's id, for the seat's own records (tellmsg 5).
    pub guid: spcti_protocol::TellGuid,
}

/// Trunk -> seat: stop ringing for `call`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct StopRing {
    pub call: ChNum,
}

/// Trunk -> seat: the far end of `call` is gone.
#[derive(Message)]
#[rtype(result = "()")]
pub struct FarEndGone {
    pub call: ChNum,
}

/// Trunk -> an off-hook seat: you are now connected to `call` (pick-up).
#[derive(Message)]
#[rtype(result = "()")]
pub struct ConnectSeat {
    pub call: ChNum,
    pub guid: Option<spcti_protocol::TellGuid>,
    pub caller: String,
}

/// Seat -> trunk: the seat ringing for you was lifted.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SeatAnswered {
    pub seat: ChNum,
}

/// Seat -> trunk: the seat connected to you hung up.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SeatHungUp {
    pub seat: ChNum,
}

/// Pick the ringing call on this trunk up to the picker's seat (connected
/// at once when `seat_lifted`, rung otherwise). Answers the caller's number.
#[derive(Message)]
#[rtype(result = "Result<String, String>")]
pub struct PickUpCall {
    pub picker: Ringer,
    pub agent: AgentRef,
    pub seat_lifted: bool,
}

/// End whatever is on this channel (1027; 1022 on the target's call). A
/// seat connected to a call ends that call; a ringing seat stops ringing
/// (the call goes on to other agents).
#[derive(Message)]
#[rtype(result = "Result<(), String>")]
pub struct ForceRelease;

/// Trunk: the agent on `seat` only listens (`on`) or talks again (1016).
#[derive(Message)]
#[rtype(result = "Result<(), String>")]
pub struct MuteSeat {
    pub seat: ChNum,
    pub on: bool,
}

/// Seat: the call it is ringing for, and since when.
#[derive(Message)]
#[rtype(result = "Option<(ChNum, Mono)>")]
pub struct RingingFor;

/// A summary for queries: state, numbers, since.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelView {
    pub ch: ChNum,
    pub state: ChannelState,
    pub caller: String,
    pub callee: String,
    pub guid: Option<TellGuid>,
    /// A seat: the call (trunk channel) it rings for or is connected to.
    pub call: Option<ChNum>,
}

/// What is on this channel now.
#[derive(Message)]
#[rtype(result = "ChannelView")]
pub struct GetChannel;

/// Trunk: the agent on `from_seat` transfers the call (1008, `*5`, `*6`).
/// `agent` is the agent at the target seat, if one is logged in there.
#[derive(Message)]
#[rtype(result = "Result<(), String>")]
pub struct TransferCall {
    pub from_seat: ChNum,
    pub to: TransferTo,
    pub agent: Option<AgentRef>,
}

/// Seat -> trunk: hook flash on the seat talking on this call.
#[derive(Message)]
#[rtype(result = "Result<Flash, String>")]
pub struct SeatFlash {
    pub seat: ChNum,
}

/// Trunk: the agent on hold (after a flash) consults extension `target`.
#[derive(Message)]
#[rtype(result = "Result<(), String>")]
pub struct ConsultCall {
    pub from_seat: ChNum,
    pub target: Ringer,
    pub agent: Option<AgentRef>,
}

/// Trunk: a supervisor listens to (1019) or barges into (1020) the call.
/// Answers the conference number.
#[derive(Message)]
#[rtype(result = "Result<spcti_protocol::ConfNo, String>")]
pub struct Supervise {
    pub sup: Ringer,
    pub agent: AgentRef,
    pub listen_only: bool,
    pub seat_lifted: bool,
}

/// Trunk: a supervisor takes the call over (1021).
#[derive(Message)]
#[rtype(result = "Result<(), String>")]
pub struct TakeOver {
    pub sup: Ringer,
    pub agent: AgentRef,
    pub seat_lifted: bool,
}

/// Trunk: the agent who transferred the call takes it back (1009, 1007).
/// Answers the caller's number.
#[derive(Message)]
#[rtype(result = "Result<String, String>")]
pub struct RetrieveCall {
    pub by: Ringer,
    pub agent: AgentRef,
    pub only_ringing: bool,
    pub seat_lifted: bool,
}

/// Seat: the agent transfers the outside call it placed. The seat's part
/// ends; the far trunk takes the call over and sends it `to` (`agent`: the
/// agent at the target seat). Answers the trunk.
#[derive(Message)]
#[rtype(result = "Result<ChNum, String>")]
pub struct HandOver {
    pub to: TransferTo,
    pub agent: Option<AgentRef>,
}

/// Trunk (seized for a placed call): take the call over and send it `to`.
#[derive(Message)]
#[rtype(result = "Result<(), String>")]
pub struct Adopt {
    pub call: crate::leg::CallInfo,
    pub to: TransferTo,
    pub agent: Option<AgentRef>,
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

/// Seat: place this call (1003, or digits dialed on the phone).
#[derive(Message)]
#[rtype(result = "Result<(), String>")]
pub struct StartCall {
    pub call: Placed,
    pub agent: Option<AgentRef>,
    /// The agent at the called extension, if one is logged in there.
    pub far_agent: Option<AgentRef>,
    /// Multi-party mode: everyone is hung up when the agent hangs up.
    pub hallh: bool,
}

/// Seized trunk -> the seat owning its call: the far party answered.
#[derive(Message)]
#[rtype(result = "()")]
pub struct FarAnswered {
    pub far: ChNum,
}

/// Seized trunk -> the seat owning its call: the far party is gone.
#[derive(Message)]
#[rtype(result = "()")]
pub struct FarCleared {
    pub far: ChNum,
    pub cause: Cause,
}

/// Make the actor panic (fault drills and tests).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Crash;

crate::mailbox::handle!(
    /// A handle on a `ChannelActor`: every message it takes, without its type.
    ChannelRef, ChannelMailboxes, [crate::switch::SwitchEvent, OfferCall, OfferDeclined, Ring, StopRing, FarEndGone, ConnectSeat, SeatAnswered, SeatHungUp, PickUpCall, ForceRelease, MuteSeat, RingingFor, GetChannel, TransferCall, SeatFlash, ConsultCall, Supervise, TakeOver, RetrieveCall, HandOver, Adopt, Seize, FreeTrunk, StartCall, FarAnswered, FarCleared, Crash, crate::supervision::Restart]
);
