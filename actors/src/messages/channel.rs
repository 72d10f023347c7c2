//! What every channel actor takes, trunk or seat (actors/src/trunk_actor,
//! actors/src/seat_actor): switch events, queries, release, and what the
//! channel a call lives on hears about that call (a call lives on the trunk
//! it came in on, or on the seat that placed it). [`ChannelRef`] reaches a
//! channel without knowing which kind it is; [`super::TrunkRef`] and
//! [`super::SeatRef`] also reach what only that kind does.

use crate::refusal::Refusal;
use actix::prelude::*;
use spcti_protocol::{Cause, ChNum, ChannelState, TelNum, TellGuid};

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

/// End whatever is on this channel (1027; 1022 on the target's call). A
/// seat connected to a call ends that call; a ringing seat stops ringing
/// (the call goes on to other agents).
#[derive(Message)]
#[rtype(result = "Result<(), Refusal>")]
pub struct ForceRelease;

/// Trunk: the agent on `seat` only listens (`on`) or talks again (1016).
#[derive(Message)]
#[rtype(result = "Result<(), Refusal>")]
pub struct MuteSeat {
    pub seat: ChNum,
    pub on: bool,
}

/// An offered agent could not take the call.
#[derive(Message)]
#[rtype(result = "()")]
pub struct OfferDeclined {
    pub agent: TelNum,
    /// Set when the phone refused the ring or could not be rung (with the
    /// cause it gave); unset when the seat was in use or not registered.
    pub refused: Option<spcti_protocol::Cause>,
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
    /// A handle on a channel actor of either kind: what both take.
    ChannelRef, ChannelMailboxes, [crate::switch::SwitchEvent, GetChannel, ForceRelease, MuteSeat, OfferDeclined, SeatAnswered, SeatHungUp, FarAnswered, FarCleared, Crash, crate::supervision::Restart]
);
