//! Messages between actors, apart from the actors (no file imports back;
//! docs/architecture.md), and a handle per actor kind ([`AgentRef`],
//! [`ChannelRef`], [`TrunkRef`], [`SeatRef`], [`GroupRef`], [`ConferenceRef`],
//! [`RouterRef`]) through which the others reach it.

pub mod agent;
pub mod channel;
pub mod conference;
pub mod group;
pub mod router;
pub mod seat;
pub mod timers;
pub mod trunk;

pub use agent::AgentRef;
pub use channel::ChannelRef;
pub use conference::ConferenceRef;
pub use group::GroupRef;
pub use router::RouterRef;
pub use seat::SeatRef;
pub use trunk::TrunkRef;
