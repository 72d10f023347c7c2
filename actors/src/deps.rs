//! What every actor is given at start: the clock, the switch, storage, the
//! client gateway, the supervision registry, settings, and the fixed part of
//! the tree (channels and groups, known once the server has started).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use actix::prelude::*;
use spcti_protocol::{ChNum, GroupNo, Message as Wire, TelNum, WorkNo};

use crate::clock::Clock;
use crate::messages::{ChannelRef, GroupRef, RouterRef, SeatRef, TrunkRef};
use crate::records::{CallRecord, Customer, RecordingRow};
use crate::supervision::Registry;
use crate::switch::SwitchCommand;

/// Server settings the actors act on (from `[sys]`, `[agent_udp]`, `[[group]]`, `[[agent]]`).
#[derive(Debug, Clone)]
pub struct Settings {
    pub ring_timeout: Duration,
    pub noanswerleave: bool,
    pub pickup_min_ring: Duration,
    pub allow_phone_logout: bool,
    pub allow_unknown_agents: bool,
    pub heartbeat: Duration,
    /// Group calls queue to until flows exist (the first `[[group]]`).
    pub default_group: Option<GroupNo>,
    /// Wrap-up per group.
    pub wrap_up: HashMap<GroupNo, Duration>,
    /// Configured agents: job number -> (group, priority).
    pub agents: HashMap<WorkNo, Vec<(GroupNo, u32)>>,
    /// CallerNo for placed calls that give none (`[sys] caller_no`; empty:
    /// the seat's extension).
    pub caller_no: String,
    /// Outside numbers only if the whitelist has them (`[sys] whitelist_only`).
    pub whitelist_only: bool,
    /// Transfers may go to outside numbers (`[sys] transtoout`).
    pub transtoout: bool,
    /// Agents who may supervise (`[sys] supervisors`; empty: everyone).
    pub supervisors: std::collections::HashSet<WorkNo>,
    /// Agents with a password (`[[agent]] password_hash`): their seat can
    /// only be taken over by a 1001 whose password was checked.
    pub protected: std::collections::HashSet<WorkNo>,
    /// Where agent clients may be (`[agent_udp] allow`): the only places
    /// 1011's RetIP and 1015's platforms may send to.
    pub client_networks: crate::access::Networks,
    /// Stored times and "today" are the server's local time
    /// (`[database] timezone = "local"`), not UTC.
    pub local_time: bool,
}

/// A datagram for a client (agent desktop), sent by the UDP gateway.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct SendToClient {
    pub to: SocketAddr,
    pub message: Wire,
}

/// 1031: a key press for a desk phone, answered with its 9000 by the phone
/// gateway (the HTTP call is I/O; no actor waits on it).
#[derive(Debug, Clone, Message)]
#[rtype(result = "spcti_protocol::reply::Ack")]
pub struct PhoneCommand(pub spcti_protocol::agent::PhoneControl);

/// One `sp_agentregstate` row: an agent's log-in state changed.
#[derive(Debug, Clone)]
pub struct AgentStateChange {
    pub key: String,
    pub tel_num: TelNum,
    pub work_no: Option<WorkNo>,
    pub groups: Vec<GroupNo>,
    pub state: &'static str,
    pub show_state: String,
    pub client_addr: Option<SocketAddr>,
    pub at: chrono::NaiveDateTime,
}

/// A record for storage.
#[derive(Debug, Clone)]
pub enum StoreRecord {
    Call(Box<CallRecord>),
    Recording(Box<RecordingRow>),
    AgentState(Box<AgentStateChange>),
    Survey(Box<crate::records::SurveyAnswer>),
}

/// Where records go: the durable spool.
///
/// `submit` is called on the actor's own thread and returns at once (no
/// disk, no database, no mailbox in between), so a record handed over before
/// a message is sent is in the spool's queue before anyone acts on that
/// message. The client gateway relies on it: an end-of-call event waits for
/// every record handed over before it to be synced (docs/storage.md).
pub trait RecordSink: Send + Sync {
    fn submit(&self, record: StoreRecord);
}

/// Find the screen-pop data of a caller.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Option<Customer>")]
pub struct LookupCustomer(pub String);

/// Re-reads flow files (1029): one flow, or all when `None`. Answers the
/// names of the flows reloaded; a broken file is refused with its errors
/// and its old version keeps running (the binary's src/flows.rs).
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<Vec<String>, crate::refusal::Refusal>")]
pub struct ReloadFlows(pub Option<String>);

/// A flow's HTTP request (an `http` node), made by the binary on a bounded
/// blocking pool (src/gateway/flow_http.rs): the JSON body of a 2xx, or
/// why there is none.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<serde_json::Value, String>")]
pub struct FlowHttp(pub crate::flow::HttpRequest);

/// Whether a number may be dialed under `whitelist_only`: an exact entry or
/// a prefix entry ending in `*`. `Err` when the database cannot be read.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<bool, String>")]
pub struct CheckWhitelist(pub String);

/// Screen-pop data that can be read at once, on the caller's thread,
/// because reading it never waits: an embedded database read with no lock
/// wait allowed. `None`: not answerable now (busy, failed); the caller then
/// asks the store workers (`StoreHandle::customers`) as for a server
/// database.
pub trait QuickCustomers: Send + Sync {
    fn customer(&self, phone: &str) -> Option<Option<Customer>>;
}

/// Storage, as the actors see it.
#[derive(Clone)]
pub struct StoreHandle {
    pub records: Arc<dyn RecordSink>,
    /// Read in process without waiting, where the database allows it.
    pub quick_customers: Option<Arc<dyn QuickCustomers>>,
    pub customers: Recipient<LookupCustomer>,
    pub whitelist: Recipient<CheckWhitelist>,
}

/// The fixed part of the tree, set once at start.
pub struct Topology {
    /// Indexed by channel number: every channel, as either kind.
    pub channels: Vec<ChannelRef>,
    /// Indexed by channel number: the trunks (`None` at a seat's number).
    pub trunks: Vec<Option<TrunkRef>>,
    /// Indexed by channel number: the seats (`None` at a trunk's number).
    pub seat_actors: Vec<Option<SeatRef>>,
    /// Seat extension -> its channel.
    pub seats: HashMap<TelNum, ChNum>,
    pub groups: HashMap<GroupNo, GroupRef>,
    pub router: RouterRef,
    /// The threads channels run on: channel `ch` on `arbiters[ch % len]`.
    pub arbiters: Vec<actix::ArbiterHandle>,
}

/// Everything an actor needs from outside itself.
#[derive(Clone)]
pub struct Deps {
    pub clock: Clock,
    pub switch: Recipient<SwitchCommand>,
    pub store: StoreHandle,
    pub client: Recipient<SendToClient>,
    /// 1031's desk-phone HTTP requests.
    pub phone: Recipient<PhoneCommand>,
    pub registry: Addr<Registry>,
    /// What monitors and the wallboard watch.
    pub monitor: crate::monitor::MonitorHub,
    pub settings: Arc<Settings>,
    /// The call flows, their routes and globals (shared; reloaded in place).
    pub flows: Arc<crate::flow::FlowBook>,
    /// Where 1029 asks for the flow files to be read again.
    pub flow_files: Recipient<ReloadFlows>,
    /// Where flows' `http` nodes send their requests.
    pub flow_http: Recipient<FlowHttp>,
    /// The flow timers (1028).
    pub flow_timers: Recipient<crate::messages::timers::SetTimer>,
    pub topology: Arc<OnceLock<Topology>>,
    /// Set when the server is stopping: new arrivals are refused as busy.
    pub draining: Arc<std::sync::atomic::AtomicBool>,
    /// Seats whose phone cannot be rung now (a SIP phone not registered):
    /// their agents are not offered calls. Written by the seats' actors.
    pub unreachable: Arc<std::sync::RwLock<std::collections::HashSet<TelNum>>>,
}

impl Deps {
    /// Today, in the zone of the stored timestamps.
    pub fn today(&self) -> chrono::NaiveDate {
        self.clock.today(self.settings.local_time)
    }

    /// How long until that day ends.
    pub fn until_midnight(&self) -> Duration {
        self.clock.until_midnight(self.settings.local_time)
    }

    /// Whether seat `tel`'s phone cannot be rung now.
    pub fn unreachable(&self, tel: &TelNum) -> bool {
        self.unreachable
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains(tel)
    }

    /// Whether the server is stopping (no new calls).
    pub fn draining(&self) -> bool {
        self.draining.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The tree. Actors only receive messages after start, when it is set.
    pub fn topo(&self) -> &Topology {
        self.topology
            .get()
            .expect("topology is set before any message flows")
    }

    /// The actor of channel `ch`.
    pub fn channel(&self, ch: ChNum) -> Option<&ChannelRef> {
        self.topo().channels.get(ch.0 as usize)
    }

    /// The actor of trunk `ch` (`None` if `ch` is no trunk).
    pub fn trunk(&self, ch: ChNum) -> Option<&TrunkRef> {
        self.topo().trunks.get(ch.0 as usize)?.as_ref()
    }

    /// The actor of seat `ch` (`None` if `ch` is no seat).
    pub fn seat(&self, ch: ChNum) -> Option<&SeatRef> {
        self.topo().seat_actors.get(ch.0 as usize)?.as_ref()
    }

    /// The thread channel `ch` runs on. An agent runs beside its seat:
    /// agents are spread over the threads as the channels are, instead of
    /// all sharing the thread of the groups and the switch.
    pub fn home(&self, ch: ChNum) -> actix::ArbiterHandle {
        let arbiters = &self.topo().arbiters;
        match arbiters.len() {
            0 => actix::Arbiter::current(),
            n => arbiters[ch.0 as usize % n].clone(),
        }
    }

    /// The actor of group `no`.
    pub fn group(&self, no: GroupNo) -> Option<&GroupRef> {
        self.topo().groups.get(&no)
    }
}
