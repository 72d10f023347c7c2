//! What a queue group actor (actors/src/group_actor.rs) takes and answers.

use actix::prelude::*;
use spcti_protocol::reply::Stats;
use spcti_protocol::{AgentState, ChNum, TelNum, WorkNo};
use std::time::Duration;

use super::*;
use crate::clock::Mono;

/// A caller joins (or rejoins) the queue.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Enqueue {
    pub ch: ChNum,
    pub since: Mono,
    pub tried: Vec<TelNum>,
    /// Caller priority, higher first (a flow's `queue` node).
    pub priority: u32,
    pub trunk: TrunkRef,
}

/// A call left the queue (caller hung up, or moved elsewhere).
#[derive(Message)]
#[rtype(result = "()")]
pub struct CallLeft {
    pub ch: ChNum,
    pub abandoned: bool,
}

/// A call of this group was answered after `waited`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct CallAnswered {
    pub ch: ChNum,
    pub waited: Duration,
}

/// An agent's current availability for this group.
#[derive(Message)]
#[rtype(result = "()")]
pub struct MemberState {
    pub tel: TelNum,
    pub agent: AgentRef,
    pub seat: ChNum,
    pub work_no: Option<WorkNo>,
    pub priority: u32,
    pub available: bool,
    /// What the agent is doing (for the group's counters).
    pub state: AgentState,
    pub idle_since: Mono,
    pub calls_today: u32,
    pub talk_today: Duration,
}

/// An agent left the group (logged out, or changed groups).
#[derive(Message)]
#[rtype(result = "()")]
pub struct MemberLeft {
    pub tel: TelNum,
}

/// An offer could not be made (the caller left first).
#[derive(Message)]
#[rtype(result = "()")]
pub struct OfferVoid {
    pub ch: ChNum,
    pub agents: Vec<TelNum>,
}

/// What a pick-up request found in this group.
#[derive(Debug)]
pub enum PickupFind {
    /// The longest-ringing call that may be picked up.
    Found {
        ch: ChNum,
        since: Mono,
        trunk: TrunkRef,
    },
    /// A call rings, but not yet long enough.
    TooEarly {
        rang: Duration,
    },
    Nothing,
}

/// Find a call ringing here that has rung at least `min_ring`.
#[derive(Message)]
#[rtype(result = "PickupFind")]
pub struct FindPickup {
    pub min_ring: Duration,
}

/// Where the call on `ch` stands in line (1 = next) and, once the group
/// has answered calls today, how long it may expect to wait.
#[derive(Message)]
#[rtype(result = "Option<(u32, Option<Duration>)>")]
pub struct QueuePlace {
    pub ch: ChNum,
}

/// Make the actor panic (fault drills and tests).
#[derive(Message)]
#[rtype(result = "()")]
pub struct CrashGroup;

/// The group's statistics as of now (9014): waits grow with time, so the
/// last published state is not enough for 1013.
#[derive(Message)]
#[rtype(result = "Stats")]
pub struct GetStats;

crate::mailbox::handle!(
    /// A handle on a `QueueGroupActor`: every message it takes, without its type.
    GroupRef, GroupMailboxes, [Enqueue, CallLeft, CallAnswered, MemberState, MemberLeft, OfferVoid, FindPickup, GetStats, CrashGroup, QueuePlace, crate::supervision::Restart]
);
