//! spcti's domain: the sans-I/O state machines of calls, agents and queues
//! (`agent`, `leg`, `queue`, `seat`), and the actors that host them
//! (`*_actor`, `router`), under supervision (docs/architecture.md).

pub mod access;
pub mod agent;
pub mod agent_actor;
pub mod channel_host;
pub mod clock;
pub mod closing;
pub mod conference_actor;
pub mod control;
pub mod deps;
pub mod flow;
pub mod flow_timers;
pub mod group_actor;
pub mod idle;
pub mod leg;
pub mod mailbox;
pub mod messages;
pub mod monitor;
pub mod outbound;
pub mod queue;
pub mod records;
pub mod refusal;
pub mod router;
pub mod seat;
pub mod seat_actor;
pub mod sip;
pub mod strategy;
pub mod supervision;
pub mod switch;
pub mod trunk_actor;
pub mod udp_monitor;
pub mod watch;
