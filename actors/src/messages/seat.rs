//! What a seat actor (actors/src/seat_actor) takes besides what every
//! channel takes (`super::channel`): ringing and connecting its phone for a
//! call that lives elsewhere, and the calls it places.

use super::channel::*;
use super::*;
use crate::clock::Mono;
use crate::leg::TransferTo;
use crate::outbound::Placed;
use crate::refusal::Refusal;
use actix::prelude::*;
use spcti_protocol::ChNum;

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

/// Seat: the call it is ringing for, and since when.
#[derive(Message)]
#[rtype(result = "Option<(ChNum, Mono)>")]
pub struct RingingFor;

/// Seat: place this call (1003, or digits dialed on the phone).
#[derive(Message)]
#[rtype(result = "Result<(), Refusal>")]
pub struct StartCall {
    pub call: Placed,
    pub agent: Option<AgentRef>,
    /// The agent at the called extension, if one is logged in there.
    pub far_agent: Option<AgentRef>,
    /// Multi-party mode: everyone is hung up when the agent hangs up.
    pub hallh: bool,
}

/// Seat: the agent transfers the outside call it placed. The seat's part
/// ends; the far trunk takes the call over and sends it `to` (`agent`: the
/// agent at the target seat). Answers the trunk.
#[derive(Message)]
#[rtype(result = "Result<ChNum, Refusal>")]
pub struct HandOver {
    pub to: TransferTo,
    pub agent: Option<AgentRef>,
}

/// Seat: a supervisor joins the call this seat placed (1019, 1020), or
/// changes mode on it. `agent_seat`: the seat of the agent supervised (a
/// party of the call; a whisper is heard there). Answers the conference.
#[derive(Message)]
#[rtype(result = "Result<spcti_protocol::ConfNo, Refusal>")]
pub struct SupervisePlaced {
    pub sup: crate::leg::Ringer,
    pub agent: AgentRef,
    pub mode: crate::leg::SupMode,
    pub seat_lifted: bool,
    pub agent_seat: ChNum,
}

/// Seat: a supervisor takes the call this seat placed out on a trunk
/// (1021). The seat's agent is cut off; the far trunk takes the call on,
/// for the supervisor. Answers the trunk.
#[derive(Message)]
#[rtype(result = "Result<ChNum, Refusal>")]
pub struct TakeOverPlaced {
    pub sup: crate::leg::Ringer,
    pub agent: AgentRef,
    pub seat_lifted: bool,
}

crate::mailbox::handle!(
    /// A handle on a `SeatActor`: every message it takes, without its type.
    SeatRef, SeatMailboxes, [crate::switch::SwitchEvent, GetChannel, ForceRelease, MuteSeat, OfferDeclined, SeatAnswered, SeatHungUp, FarAnswered, FarCleared, Crash, crate::supervision::Restart, Ring, StopRing, FarEndGone, ConnectSeat, RingingFor, StartCall, HandOver, SupervisePlaced, TakeOverPlaced]
);
