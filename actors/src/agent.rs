//! An agent's logic, without I/O.
//!
//! Status and state are different axes (docs/architecture.md, rule 3): the agent
//! chooses its [`Status`] (ready, busy with a ShowState, offline); the system
//! drives its [`Activity`] (idle, ringing, talking, wrap-up). Clients see the
//! two folded into one `AgentState`.

use std::net::SocketAddr;
use std::time::Duration;

use spcti_protocol::{AgentState, ChNum, GroupNo, TelNum, WorkNo};

use crate::clock::Mono;

/// Chosen by the agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ready,
    Busy,
    Offline,
}

/// Driven by the system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    Idle,
    Ringing { call: ChNum, since: Mono },
    Talking { call: ChNum, since: Mono },
    WrapUp { until: Mono },
}

/// Why an offer ended without this agent answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unanswered {
    /// Answered elsewhere, taken back, or the caller left.
    Withdrawn,
    /// It rang for the whole ring timeout.
    RangOut,
    /// The agent's phone refused the ring or could not be rung: an IP
    /// phone's decline or do-not-disturb, a phone that cannot be reached.
    Refused,
}

/// How long an agent whose phone refused a ring is not offered calls. A
/// phone on do-not-disturb refuses at once: without the pause the caller
/// would ring it again and again in a tight loop when it is the only one.
pub const REFUSED_PAUSE: Duration = Duration::from_secs(5);

/// One agent, logged in (or once logged in) at a seat.
#[derive(Debug, Clone)]
pub struct AgentCore {
    pub tel: TelNum,
    pub seat: ChNum,
    pub work_no: Option<WorkNo>,
    /// (group, priority)
    pub groups: Vec<(GroupNo, u32)>,
    pub status: Status,
    pub show_state: String,
    pub activity: Activity,
    /// When the agent last became free: the longest-idle key.
    pub idle_since: Mono,
    pub calls_today: u32,
    pub talk_today: Duration,
    /// The day `calls_today` and `talk_today` count.
    pub today: chrono::NaiveDate,
    /// Where events go: the source of the last 1001/1002/1099.
    pub client: Option<SocketAddr>,
    /// The seat phone is not on-hook (lifted, dialing, on a call the agent
    /// did not take from a queue): no queue may ring it.
    pub seat_in_use: bool,
    /// The call (trunk) this agent last transferred, to take back with 1009/1007.
    pub transferred: Option<ChNum>,
    /// Set once the client has sent a heartbeat; only such clients time out.
    pub last_heartbeat: Option<Mono>,
    /// Not offered calls until then: its phone just refused a ring
    /// ([`REFUSED_PAUSE`]). Clients still see the agent ready.
    pub paused_until: Option<Mono>,
}

/// Why a transition was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    NotAvailable(AgentState),
    NotOnThatCall,
}

impl AgentCore {
    pub fn new(tel: TelNum, seat: ChNum, now: Mono) -> Self {
        AgentCore {
            tel,
            seat,
            work_no: None,
            groups: Vec::new(),
            status: Status::Offline,
            show_state: String::new(),
            activity: Activity::Idle,
            idle_since: now,
            calls_today: 0,
            talk_today: Duration::ZERO,
            today: chrono::NaiveDate::default(),
            client: None,
            seat_in_use: false,
            transferred: None,
            last_heartbeat: None,
            paused_until: None,
        }
    }

    /// Starts a new day's counts when `today` is not the day counted.
    /// Returns whether it did.
    pub fn roll(&mut self, today: chrono::NaiveDate) -> bool {
        if self.today == today {
            return false;
        }
        self.today = today;
        self.calls_today = 0;
        self.talk_today = Duration::ZERO;
        true
    }

    /// What clients and monitors see.
    pub fn agent_state(&self) -> AgentState {
        match (self.status, self.activity) {
            (Status::Offline, Activity::Idle) => AgentState::Offline,
            (_, Activity::Ringing { .. }) => AgentState::Ringing,
            (_, Activity::Talking { .. }) => AgentState::Talking,
            (_, Activity::WrapUp { .. }) => AgentState::WrapUp,
            (Status::Ready, Activity::Idle) => AgentState::Ready,
            (Status::Busy, Activity::Idle) => AgentState::Busy,
        }
    }

    /// May be offered a call.
    pub fn available(&self) -> bool {
        self.status == Status::Ready
            && self.activity == Activity::Idle
            && !self.seat_in_use
            && self.paused_until.is_none()
    }

    fn set_show(&mut self, show: Option<String>) {
        if let Some(s) = show {
            // `NULL` clears what monitors show (seed).
            self.show_state = if s.eq_ignore_ascii_case("NULL") {
                String::new()
            } else {
                s
            };
        }
    }

    /// 1001: log in / ready. A fresh login puts the agent at the back of the line.
    pub fn login(
        &mut self,
        work_no: Option<WorkNo>,
        groups: Vec<(GroupNo, u32)>,
        show: Option<String>,
        now: Mono,
    ) {
        // Back from busy or offline, the agent queues last among its
        // equals (the manual: 重新上线后…排队到最后); a 1001 while already
        // ready keeps its place.
        if self.status != Status::Ready {
            self.idle_since = now;
        }
        if self.status == Status::Offline {
            self.last_heartbeat = None;
        }
        if work_no.is_some() {
            self.work_no = work_no;
        }
        self.groups = groups;
        self.status = Status::Ready;
        self.set_show(show);
        tracing::trace!(agent = %self.tel, "ready");
    }

    /// 1002: busy (leave the seat).
    pub fn set_busy(&mut self, show: Option<String>) {
        self.status = Status::Busy;
        self.set_show(show);
        tracing::trace!(agent = %self.tel, "busy");
    }

    /// 1004 / `*9` / heartbeat loss.
    pub fn logout(&mut self) {
        self.status = Status::Offline;
        self.show_state.clear();
        tracing::trace!(agent = %self.tel, "offline");
    }

    /// A call is offered: the seat starts ringing.
    pub fn offered(&mut self, call: ChNum, now: Mono) -> Result<(), Refusal> {
        if !self.available() {
            return Err(Refusal::NotAvailable(self.agent_state()));
        }
        self.activity = Activity::Ringing { call, since: now };
        Ok(())
    }

    /// A call this agent asked to pick up rings its seat: allowed while
    /// busy (the agent chose to take it), never while on or ringing for
    /// another call.
    pub fn picking_up(&mut self, call: ChNum, now: Mono) -> Result<(), Refusal> {
        if self.status == Status::Offline
            || !matches!(self.activity, Activity::Idle | Activity::WrapUp { .. })
        {
            return Err(Refusal::NotAvailable(self.agent_state()));
        }
        self.activity = Activity::Ringing { call, since: now };
        Ok(())
    }

    /// The agent places a call from its seat (`call` is the seat's own
    /// channel, which owns the call): it is on that call from now on, so no
    /// queue offers it another.
    pub fn placing(&mut self, call: ChNum, now: Mono) -> Result<(), Refusal> {
        if self.status == Status::Offline
            || !matches!(self.activity, Activity::Idle | Activity::WrapUp { .. })
        {
            return Err(Refusal::NotAvailable(self.agent_state()));
        }
        self.activity = Activity::Talking { call, since: now };
        Ok(())
    }

    /// The call could not be started after all.
    pub fn placing_cancelled(&mut self, call: ChNum) {
        if matches!(self.activity, Activity::Talking { call: c, .. } if c == call) {
            self.activity = Activity::Idle;
        }
    }

    /// The call this agent is ringing for or talking on.
    pub fn call(&self) -> Option<ChNum> {
        match self.activity {
            Activity::Ringing { call, .. } | Activity::Talking { call, .. } => Some(call),
            _ => None,
        }
    }

    /// The offer ended without this agent answering. With `noanswerleave`,
    /// a ring-out or a refusal makes the agent busy; a refusal also pauses
    /// offers for [`REFUSED_PAUSE`]: returns when the pause ends.
    pub fn offer_withdrawn(
        &mut self,
        call: ChNum,
        why: Unanswered,
        noanswerleave: bool,
        now: Mono,
    ) -> Result<Option<Mono>, Refusal> {
        match self.activity {
            Activity::Ringing { call: c, .. } if c == call => {
                self.activity = Activity::Idle;
                let unanswered = matches!(why, Unanswered::RangOut | Unanswered::Refused);
                if unanswered && noanswerleave && self.status == Status::Ready {
                    self.status = Status::Busy;
                    self.show_state = "no answer".into();
                }
                if why == Unanswered::Refused {
                    let until = now + REFUSED_PAUSE;
                    self.paused_until = Some(until);
                    return Ok(Some(until));
                }
                Ok(None)
            }
            _ => Err(Refusal::NotOnThatCall),
        }
    }

    /// The pause after a refused ring is over: offers may come again.
    pub fn pause_over(&mut self) {
        self.paused_until = None;
    }

    /// The agent's seat is connected to `call`.
    pub fn connected(&mut self, call: ChNum, now: Mono) {
        self.activity = Activity::Talking { call, since: now };
    }

    /// The call ended. Returns the wrap-up deadline, if any.
    pub fn call_ended(
        &mut self,
        call: ChNum,
        now: Mono,
        wrap_up: Duration,
    ) -> Result<Option<Mono>, Refusal> {
        let Activity::Talking { call: c, since } = self.activity else {
            return Err(Refusal::NotOnThatCall);
        };
        if c != call {
            return Err(Refusal::NotOnThatCall);
        }
        self.calls_today += 1;
        self.talk_today += now.saturating_sub(since);
        // After answering a call the agent goes to the back of the line.
        self.idle_since = now;
        if wrap_up.is_zero() {
            self.activity = Activity::Idle;
            Ok(None)
        } else {
            let until = now + wrap_up;
            self.activity = Activity::WrapUp { until };
            Ok(Some(until))
        }
    }

    /// Wrap-up time is over.
    pub fn wrap_up_done(&mut self, now: Mono) {
        if let Activity::WrapUp { until } = self.activity {
            if now >= until {
                self.activity = Activity::Idle;
                self.idle_since = now;
            }
        }
    }

    /// A 1099 arrived.
    pub fn heartbeat(&mut self, now: Mono) {
        self.last_heartbeat = Some(now);
    }

    /// Whether a client that has sent heartbeats missed three in a row.
    /// Clients that never sent one (the original's) never time out.
    pub fn heartbeat_lost(&self, now: Mono, interval: Duration) -> bool {
        self.status != Status::Offline
            && self
                .last_heartbeat
                .is_some_and(|last| now.saturating_sub(last) >= interval * 3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent() -> AgentCore {
        AgentCore::new(TelNum::new("8001").unwrap(), ChNum(30), Duration::ZERO)
    }
    fn s(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn status_and_activity_fold_into_agent_state() {
        let mut a = agent();
        assert_eq!(a.agent_state(), AgentState::Offline);
        a.login(None, vec![(GroupNo(1), 1)], Some("hi".into()), s(5));
        assert_eq!((a.agent_state(), a.idle_since), (AgentState::Ready, s(5)));
        a.offered(ChNum(1), s(6)).unwrap();
        assert_eq!(a.agent_state(), AgentState::Ringing);
        assert_eq!(
            a.offered(ChNum(2), s(6)),
            Err(Refusal::NotAvailable(AgentState::Ringing))
        );
        a.connected(ChNum(1), s(8));
        assert_eq!(a.agent_state(), AgentState::Talking);
        assert_eq!(a.call_ended(ChNum(1), s(20), s(10)).unwrap(), Some(s(30)));
        assert_eq!(a.agent_state(), AgentState::WrapUp);
        assert_eq!(
            (a.calls_today, a.talk_today, a.idle_since),
            (1, s(12), s(20))
        );
        a.wrap_up_done(s(30));
        assert_eq!(a.agent_state(), AgentState::Ready);
        a.set_busy(Some("NULL".into()));
        assert_eq!(
            (a.agent_state(), a.show_state.as_str()),
            (AgentState::Busy, "")
        );
    }

    #[test]
    fn back_from_busy_or_offline_an_agent_queues_last_but_a_repeated_login_keeps_its_place() {
        let mut a = agent();
        a.login(None, vec![], None, s(0));
        a.login(None, vec![], None, s(3));
        assert_eq!(a.idle_since, s(0), "ready again: same place");
        a.set_busy(None);
        a.login(None, vec![], None, s(5));
        assert_eq!(a.idle_since, s(5), "back from busy: last");
        a.logout();
        a.login(None, vec![], None, s(9));
        assert_eq!(a.idle_since, s(9), "back from offline: last");
    }

    #[test]
    fn ring_out_with_noanswerleave_goes_busy() {
        let mut a = agent();
        a.login(None, vec![], None, s(0));
        a.offered(ChNum(1), s(1)).unwrap();
        a.offer_withdrawn(ChNum(1), Unanswered::RangOut, true, s(46))
            .unwrap();
        assert_eq!(a.agent_state(), AgentState::Busy);
        let mut a = agent();
        a.login(None, vec![], None, s(0));
        a.offered(ChNum(1), s(1)).unwrap();
        a.offer_withdrawn(ChNum(1), Unanswered::RangOut, false, s(46))
            .unwrap();
        assert_eq!((a.agent_state(), a.idle_since), (AgentState::Ready, s(0)));
        assert!(a.available());
    }

    #[test]
    fn a_refused_ring_pauses_offers_but_the_agent_still_shows_ready() {
        let mut a = agent();
        a.login(None, vec![], None, s(0));
        a.offered(ChNum(1), s(1)).unwrap();
        assert_eq!(
            a.offer_withdrawn(ChNum(1), Unanswered::Refused, false, s(2)),
            Ok(Some(s(2) + REFUSED_PAUSE))
        );
        assert_eq!(a.agent_state(), AgentState::Ready);
        assert!(!a.available(), "offered again at once");
        a.pause_over();
        assert!(a.available());
        // Answered elsewhere: no pause.
        a.offered(ChNum(1), s(9)).unwrap();
        assert_eq!(
            a.offer_withdrawn(ChNum(1), Unanswered::Withdrawn, true, s(10)),
            Ok(None)
        );
        assert!(a.available());
    }

    #[test]
    fn heartbeat_rules() {
        let mut a = agent();
        a.login(None, vec![], None, s(0));
        assert!(
            !a.heartbeat_lost(s(1000), s(30)),
            "never sent one: never times out"
        );
        a.heartbeat(s(10));
        assert!(!a.heartbeat_lost(s(99), s(30)));
        assert!(a.heartbeat_lost(s(100), s(30)));
    }
}
