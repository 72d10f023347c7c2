//! A queue group's logic, without I/O: who is waiting, which agents are
//! free, who gets the next call, and the day's statistics.
//!
//! The original's rule (seed FAQ 2): by priority (lower number first), then
//! by how long the agent has been idle. An agent's idle time restarts after
//! answering a call, after placing one and after logging in again, so within
//! one priority they go to the back of the line. The other strategies of
//! config/spcti.toml only change the order within the best priority.

use std::collections::VecDeque;
use std::time::Duration;

use spcti_protocol::{ChNum, GroupNo, TelNum};

use crate::clock::Mono;
use crate::strategy::Strategy;

/// What the group knows of one member agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub tel: TelNum,
    /// Lower is offered first.
    pub priority: u32,
    /// Ready and idle: may be offered a call.
    pub available: bool,
    /// When the agent last became idle (the longest-idle key).
    pub idle_since: Mono,
    pub calls_today: u32,
    pub talk_today: Duration,
    /// Round-robin position: increases every time the agent is offered a call.
    last_offered: u64,
}

/// A caller waiting in the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    pub ch: ChNum,
    /// When the caller joined the queue (kept across re-offers).
    pub since: Mono,
    /// Agents that let this call ring out; they are offered it again only
    /// when nobody else is free.
    pub tried: Vec<TelNum>,
}

/// A decision: ring these agents for the call on `ch`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    pub ch: ChNum,
    pub agents: Vec<TelNum>,
    pub waited: Duration,
}

/// Counters for 9014 and the wallboard: today's, reset at midnight in the
/// zone of the stored timestamps (`[database] timezone`). Earlier days are
/// in the call records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DayStats {
    /// The day they count.
    pub day: chrono::NaiveDate,
    pub answered: u32,
    pub abandoned: u32,
    pub answered_within_sl: u32,
    pub total_answer_wait: Duration,
}

/// The group.
#[derive(Debug)]
pub struct QueueCore {
    pub no: GroupNo,
    pub strategy: Strategy,
    pub service_level: Duration,
    members: Vec<Member>,
    waiting: VecDeque<Waiting>,
    /// Calls offered and ringing, with the agents ringing for each.
    ringing: Vec<(ChNum, Vec<TelNum>, Mono)>,
    offers_made: u64,
    pub stats: DayStats,
}

impl QueueCore {
    pub fn new(no: GroupNo, strategy: Strategy, service_level: Duration) -> Self {
        QueueCore {
            no,
            strategy,
            service_level,
            members: Vec::new(),
            waiting: VecDeque::new(),
            ringing: Vec::new(),
            offers_made: 0,
            stats: DayStats::default(),
        }
    }

    /// Starts a new day's counters when `today` is not the day counted.
    /// Returns whether it did.
    pub fn roll(&mut self, today: chrono::NaiveDate) -> bool {
        if self.stats.day == today {
            return false;
        }
        self.stats = DayStats {
            day: today,
            ..DayStats::default()
        };
        true
    }

    /// The members, in no particular order.
    pub fn members(&self) -> &[Member] {
        &self.members
    }

    /// The callers waiting, first in line first.
    pub fn waiting(&self) -> impl Iterator<Item = &Waiting> {
        self.waiting.iter()
    }

    /// Calls ringing at agents: (call channel, agents, since).
    pub fn ringing(&self) -> &[(ChNum, Vec<TelNum>, Mono)] {
        &self.ringing
    }

    /// An agent's state changed (login, ready, busy, call ended...).
    #[allow(clippy::too_many_arguments)]
    pub fn update_member(
        &mut self,
        tel: &TelNum,
        priority: u32,
        available: bool,
        idle_since: Mono,
        calls_today: u32,
        talk_today: Duration,
    ) {
        match self.members.iter_mut().find(|m| &m.tel == tel) {
            Some(m) => {
                m.priority = priority;
                m.available = available;
                m.idle_since = idle_since;
                m.calls_today = calls_today;
                m.talk_today = talk_today;
            }
            None => self.members.push(Member {
                tel: tel.clone(),
                priority,
                available,
                idle_since,
                calls_today,
                talk_today,
                last_offered: 0,
            }),
        }
    }

    /// An agent left the group (logged out).
    pub fn remove_member(&mut self, tel: &TelNum) {
        self.members.retain(|m| &m.tel != tel);
    }

    /// An offer the group made never reached these agents (the caller left
    /// first): they are free again.
    pub fn release(&mut self, ch: ChNum, agents: &[TelNum]) {
        self.ringing.retain(|(c, _, _)| *c != ch);
        for m in self.members.iter_mut().filter(|m| agents.contains(&m.tel)) {
            m.available = true;
        }
    }

    /// A caller joins the queue, behind everyone who came earlier.
    pub fn enqueue(&mut self, ch: ChNum, since: Mono, tried: Vec<TelNum>) {
        self.ringing.retain(|(c, _, _)| *c != ch);
        if self.waiting.iter().any(|w| w.ch == ch) {
            return;
        }
        let at = self
            .waiting
            .iter()
            .position(|w| w.since > since)
            .unwrap_or(self.waiting.len());
        self.waiting.insert(at, Waiting { ch, since, tried });
    }

    /// A call leaves the group: answered elsewhere, abandoned, or moved.
    /// Returns whether it was waiting or ringing here.
    pub fn remove_call(&mut self, ch: ChNum) -> bool {
        let before = self.waiting.len() + self.ringing.len();
        self.waiting.retain(|w| w.ch != ch);
        self.ringing.retain(|(c, _, _)| *c != ch);
        before != self.waiting.len() + self.ringing.len()
    }

    /// The caller hung up while waiting or ringing.
    pub fn abandoned(&mut self, ch: ChNum) {
        if self.remove_call(ch) {
            self.stats.abandoned += 1;
        }
    }

    /// An agent answered a call of this group after `waited`.
    pub fn answered(&mut self, ch: ChNum, waited: Duration) {
        self.remove_call(ch);
        self.stats.answered += 1;
        self.stats.total_answer_wait += waited;
        if waited <= self.service_level {
            self.stats.answered_within_sl += 1;
        }
    }

    /// Matches waiting callers with free agents, first caller first.
    pub fn next_offers(&mut self, now: Mono) -> Vec<Offer> {
        let mut offers = Vec::new();
        while let Some(front) = self.waiting.front() {
            let agents = self.choose(&front.tried);
            if agents.is_empty() {
                break;
            }
            let call = self.waiting.pop_front().expect("front exists");
            for tel in &agents {
                self.offers_made += 1;
                let seq = self.offers_made;
                if let Some(m) = self.members.iter_mut().find(|m| &m.tel == tel) {
                    // Reserved until the agent reports back.
                    m.available = false;
                    m.last_offered = seq;
                }
            }
            self.ringing.push((call.ch, agents.clone(), now));
            offers.push(Offer {
                ch: call.ch,
                agents,
                waited: now.saturating_sub(call.since),
            });
        }
        offers
    }

    fn choose(&self, tried: &[TelNum]) -> Vec<TelNum> {
        let free: Vec<&Member> = self.members.iter().filter(|m| m.available).collect();
        let untried: Vec<&Member> = free
            .iter()
            .copied()
            .filter(|m| !tried.contains(&m.tel))
            .collect();
        // Everyone free already let it ring out: try them again rather than let the caller wait.
        let pool = if untried.is_empty() { free } else { untried };
        let Some(best) = pool.iter().map(|m| m.priority).min() else {
            return Vec::new();
        };
        let mut top: Vec<&Member> = pool.into_iter().filter(|m| m.priority == best).collect();
        match self.strategy {
            Strategy::RingAll => {
                top.sort_by_key(|m| m.idle_since);
                return top.into_iter().map(|m| m.tel.clone()).collect();
            }
            Strategy::LongestIdle => top.sort_by_key(|m| (m.idle_since, m.tel.clone())),
            Strategy::RoundRobin => top.sort_by_key(|m| (m.last_offered, m.tel.clone())),
            Strategy::FewestCalls => top.sort_by_key(|m| (m.calls_today, m.idle_since)),
            Strategy::LeastTalkTime => top.sort_by_key(|m| (m.talk_today, m.idle_since)),
            Strategy::Random => {
                let i = fastrand::usize(..top.len());
                return vec![top[i].tel.clone()];
            }
        }
        vec![top[0].tel.clone()]
    }

    /// The longest a current caller has waited.
    pub fn longest_wait(&self, now: Mono) -> Duration {
        self.waiting
            .iter()
            .map(|w| w.since)
            .chain(self.ringing.iter().map(|r| r.2))
            .min()
            .map_or(Duration::ZERO, |s| now.saturating_sub(s))
    }

    /// Percent of answered calls answered within the service level (100 with none).
    pub fn service_level_percent(&self) -> u32 {
        (self.stats.answered_within_sl * 100)
            .checked_div(self.stats.answered)
            .unwrap_or(100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> TelNum {
        TelNum::new(s).unwrap()
    }
    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    fn group(strategy: Strategy) -> QueueCore {
        QueueCore::new(GroupNo(1), strategy, secs(20))
    }

    #[test]
    fn a_new_day_starts_the_counters_again() {
        let mut q = group(Strategy::LongestIdle);
        let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        assert!(q.roll(day));
        q.enqueue(ChNum(0), Duration::ZERO, vec![]);
        q.answered(ChNum(0), secs(3));
        q.enqueue(ChNum(1), Duration::ZERO, vec![]);
        q.abandoned(ChNum(1));
        assert!(!q.roll(day), "the same day keeps its counts");
        assert_eq!((q.stats.answered, q.stats.abandoned), (1, 1));
        assert!(q.roll(day + chrono::Days::new(1)));
        assert_eq!(
            q.stats.answered + q.stats.abandoned + q.stats.answered_within_sl,
            0
        );
        assert_eq!(q.stats.total_answer_wait, Duration::ZERO);
    }

    #[test]
    fn priority_first_then_longest_idle() {
        let mut q = group(Strategy::LongestIdle);
        q.update_member(&t("8001"), 2, true, secs(1), 0, secs(0));
        q.update_member(&t("8002"), 1, true, secs(50), 0, secs(0));
        q.update_member(&t("8003"), 1, true, secs(10), 0, secs(0));
        q.enqueue(ChNum(0), secs(100), vec![]);
        q.enqueue(ChNum(1), secs(101), vec![]);
        q.enqueue(ChNum(2), secs(102), vec![]);
        q.enqueue(ChNum(3), secs(103), vec![]);
        let offers = q.next_offers(secs(110));
        let order: Vec<_> = offers
            .iter()
            .map(|o| (o.ch.0, o.agents[0].as_str().to_owned()))
            .collect();
        assert_eq!(
            order,
            [(0, "8003".into()), (1, "8002".into()), (2, "8001".into())]
        );
        assert_eq!(offers[0].waited, secs(10));
        // Nobody left: the fourth caller waits.
        assert_eq!(q.waiting().count(), 1);
    }

    #[test]
    fn an_agent_who_let_it_ring_out_is_tried_last() {
        let mut q = group(Strategy::LongestIdle);
        q.update_member(&t("8001"), 1, true, secs(1), 0, secs(0));
        q.update_member(&t("8002"), 1, true, secs(5), 0, secs(0));
        q.enqueue(ChNum(0), secs(10), vec![t("8001")]);
        assert_eq!(q.next_offers(secs(11))[0].agents, [t("8002")]);
        // Alone, they get it again.
        let mut q = group(Strategy::LongestIdle);
        q.update_member(&t("8001"), 1, true, secs(1), 0, secs(0));
        q.enqueue(ChNum(0), secs(10), vec![t("8001")]);
        assert_eq!(q.next_offers(secs(11))[0].agents, [t("8001")]);
    }

    #[test]
    fn requeued_callers_keep_their_place() {
        let mut q = group(Strategy::LongestIdle);
        q.enqueue(ChNum(5), secs(20), vec![]);
        q.enqueue(ChNum(4), secs(10), vec![]);
        let order: Vec<_> = q.waiting().map(|w| w.ch.0).collect();
        assert_eq!(order, [4, 5]);
    }

    #[test]
    fn ring_all_round_robin_fewest_and_least_talk() {
        let mut q = group(Strategy::RingAll);
        q.update_member(&t("8001"), 1, true, secs(3), 0, secs(0));
        q.update_member(&t("8002"), 1, true, secs(1), 0, secs(0));
        q.update_member(&t("8003"), 2, true, secs(0), 0, secs(0));
        q.enqueue(ChNum(0), secs(10), vec![]);
        assert_eq!(q.next_offers(secs(10))[0].agents, [t("8002"), t("8001")]);

        let mut q = group(Strategy::RoundRobin);
        for n in ["8001", "8002", "8003"] {
            q.update_member(&t(n), 1, true, secs(0), 0, secs(0));
        }
        let mut seen = Vec::new();
        for ch in 0..4 {
            q.enqueue(ChNum(ch), secs(ch as u64), vec![]);
            let o = q.next_offers(secs(10)).remove(0);
            seen.push(o.agents[0].as_str().to_owned());
            // The agent finishes and is free again.
            q.update_member(&o.agents[0], 1, true, secs(20), 1, secs(0));
            q.remove_call(ChNum(ch));
        }
        assert_eq!(seen, ["8001", "8002", "8003", "8001"]);

        let mut q = group(Strategy::FewestCalls);
        q.update_member(&t("8001"), 1, true, secs(0), 5, secs(0));
        q.update_member(&t("8002"), 1, true, secs(9), 2, secs(0));
        q.enqueue(ChNum(0), secs(10), vec![]);
        assert_eq!(q.next_offers(secs(10))[0].agents, [t("8002")]);

        let mut q = group(Strategy::LeastTalkTime);
        q.update_member(&t("8001"), 1, true, secs(0), 0, secs(500));
        q.update_member(&t("8002"), 1, true, secs(9), 0, secs(60));
        q.enqueue(ChNum(0), secs(10), vec![]);
        assert_eq!(q.next_offers(secs(10))[0].agents, [t("8002")]);
    }

    #[test]
    fn statistics() {
        let mut q = group(Strategy::LongestIdle);
        q.enqueue(ChNum(0), secs(0), vec![]);
        q.enqueue(ChNum(1), secs(5), vec![]);
        assert_eq!(q.longest_wait(secs(30)), secs(30));
        q.answered(ChNum(0), secs(10));
        q.answered(ChNum(1), secs(40));
        q.abandoned(ChNum(9)); // not ours: not counted
        assert_eq!(q.stats.answered, 2);
        assert_eq!(q.stats.abandoned, 0);
        assert_eq!(q.service_level_percent(), 50);
    }
}
