//! A queue group's logic, without I/O: who is waiting, which agents are
//! free, who gets the next call, and the day's statistics.
//!
//! The original's rule (seed FAQ 2): by priority (lower number first), then
//! by how long the agent has been idle. An agent's idle time restarts after
//! answering a call, after placing one and after logging in again, so within
//! one priority they go to the back of the line. The other strategies of
//! config/spcti.toml only change the order within the best priority.

use std::collections::{BTreeMap, BTreeSet, HashMap};
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

/// A waiting caller's place: higher caller priority first (a flow's
/// `queue` node sets it; 0 by default), then who came first.
type WaitKey = (std::cmp::Reverse<u32>, Mono, u64);

/// A caller waiting in the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    pub ch: ChNum,
    /// Higher is served first (flows.md `queue` node `priority`).
    pub priority: u32,
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

/// A member's place in the offer order: priority first, then the
/// strategy's keys, then the extension (a stable tie-break).
type Rank = (u32, u128, u128, TelNum);

/// A member's place in the offer order under `strategy`.
fn rank(strategy: Strategy, m: &Member) -> Rank {
    let idle = m.idle_since.as_nanos();
    let (a, b) = match strategy {
        Strategy::LongestIdle | Strategy::RingAll | Strategy::Random => (idle, 0),
        Strategy::RoundRobin => (u128::from(m.last_offered), 0),
        Strategy::FewestCalls => (u128::from(m.calls_today), idle),
        Strategy::LeastTalkTime => (m.talk_today.as_nanos(), idle),
    };
    (m.priority, a, b, m.tel.clone())
}

/// The group.
///
/// Every operation a call makes is O(log n) in the members and callers
/// (ordered indexes, running totals), so 10,000 agents and callers in one
/// group cost no more per call than ten.
#[derive(Debug)]
pub struct QueueCore {
    pub no: GroupNo,
    pub strategy: Strategy,
    pub service_level: Duration,
    members: HashMap<TelNum, Member>,
    /// The available members, in offer order.
    order: BTreeSet<Rank>,
    /// Calls and talk time today over all members (the wallboard's AHT).
    calls_total: u64,
    talk_total: Duration,
    /// Waiting callers by (caller priority, highest first; since;
    /// arrival): first in line first.
    waiting: BTreeMap<WaitKey, Waiting>,
    waiting_at: HashMap<ChNum, WaitKey>,
    /// The same callers by (since, arrival): who waited longest.
    waiting_since: BTreeSet<(Mono, u64)>,
    arrivals: u64,
    /// Calls offered and ringing, with the agents ringing for each, and
    /// since when (oldest first in `ringing_order`).
    ringing: HashMap<ChNum, (Vec<TelNum>, Mono)>,
    ringing_order: BTreeSet<(Mono, ChNum)>,
    offers_made: u64,
    pub stats: DayStats,
}

impl QueueCore {
    pub fn new(no: GroupNo, strategy: Strategy, service_level: Duration) -> Self {
        QueueCore {
            no,
            strategy,
            service_level,
            members: HashMap::new(),
            order: BTreeSet::new(),
            calls_total: 0,
            talk_total: Duration::ZERO,
            waiting: BTreeMap::new(),
            waiting_at: HashMap::new(),
            waiting_since: BTreeSet::new(),
            arrivals: 0,
            ringing: HashMap::new(),
            ringing_order: BTreeSet::new(),
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

    /// Changes a member, keeping the order and the totals right.
    fn modify(&mut self, tel: &TelNum, f: impl FnOnce(&mut Member)) {
        let strategy = self.strategy;
        let Some(m) = self.members.get_mut(tel) else {
            return;
        };
        if m.available {
            self.order.remove(&rank(strategy, m));
        }
        let (calls, talk) = (m.calls_today, m.talk_today);
        f(m);
        self.calls_total = self.calls_total - u64::from(calls) + u64::from(m.calls_today);
        self.talk_total = self.talk_total.saturating_sub(talk) + m.talk_today;
        if m.available {
            self.order.insert(rank(strategy, m));
        }
    }

    /// How many members may be offered a call now.
    pub fn ready_count(&self) -> usize {
        self.order.len()
    }

    /// Calls and talk time today over all members.
    pub fn totals(&self) -> (u64, Duration) {
        (self.calls_total, self.talk_total)
    }

    /// A member, by extension.
    pub fn member(&self, tel: &TelNum) -> Option<&Member> {
        self.members.get(tel)
    }

    /// The callers waiting, first in line first.
    pub fn waiting(&self) -> impl Iterator<Item = &Waiting> {
        self.waiting.values()
    }

    /// A waiting caller's place in line (1 = next), if it waits here.
    pub fn position(&self, ch: ChNum) -> Option<usize> {
        let key = self.waiting_at.get(&ch)?;
        Some(self.waiting.range(..key).count() + 1)
    }

    /// How many callers wait.
    pub fn waiting_count(&self) -> usize {
        self.waiting.len()
    }

    /// Calls ringing at agents: (call channel, agents, since).
    pub fn ringing(&self) -> impl Iterator<Item = (ChNum, &[TelNum], Mono)> {
        self.ringing
            .iter()
            .map(|(ch, (agents, since))| (*ch, agents.as_slice(), *since))
    }

    fn stop_ringing(&mut self, ch: ChNum) -> bool {
        match self.ringing.remove(&ch) {
            Some((_, since)) => {
                self.ringing_order.remove(&(since, ch));
                true
            }
            None => false,
        }
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
        if !self.members.contains_key(tel) {
            self.members.insert(
                tel.clone(),
                Member {
                    tel: tel.clone(),
                    priority,
                    available: false,
                    idle_since,
                    calls_today: 0,
                    talk_today: Duration::ZERO,
                    last_offered: 0,
                },
            );
        }
        self.modify(tel, |m| {
            m.priority = priority;
            m.available = available;
            m.idle_since = idle_since;
            m.calls_today = calls_today;
            m.talk_today = talk_today;
        });
    }

    /// An agent left the group (logged out).
    pub fn remove_member(&mut self, tel: &TelNum) {
        self.modify(tel, |m| {
            m.available = false;
            m.calls_today = 0;
            m.talk_today = Duration::ZERO;
        });
        self.members.remove(tel);
    }

    /// An offer the group made never reached these agents (the caller left
    /// first): they are free again.
    pub fn release(&mut self, ch: ChNum, agents: &[TelNum]) {
        self.stop_ringing(ch);
        for tel in agents {
            self.modify(tel, |m| m.available = true);
        }
    }

    /// A caller joins the queue, behind everyone of its priority or
    /// higher who came earlier.
    pub fn enqueue(&mut self, ch: ChNum, since: Mono, tried: Vec<TelNum>, priority: u32) {
        self.stop_ringing(ch);
        if self.waiting_at.contains_key(&ch) {
            return;
        }
        self.arrivals += 1;
        let key = (std::cmp::Reverse(priority), since, self.arrivals);
        self.waiting_at.insert(ch, key);
        self.waiting_since.insert((since, self.arrivals));
        let w = Waiting {
            ch,
            priority,
            since,
            tried,
        };
        self.waiting.insert(key, w);
    }

    fn unwait(&mut self, key: &WaitKey) -> Option<Waiting> {
        self.waiting_since.remove(&(key.1, key.2));
        self.waiting.remove(key)
    }

    /// A call leaves the group: answered elsewhere, abandoned, or moved.
    /// Returns whether it was waiting or ringing here.
    pub fn remove_call(&mut self, ch: ChNum) -> bool {
        let waited = match self.waiting_at.remove(&ch) {
            Some(key) => self.unwait(&key).is_some(),
            None => false,
        };
        let rang = self.stop_ringing(ch);
        waited || rang
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
        while let Some((&key, front)) = self.waiting.first_key_value() {
            let agents = self.choose(&front.tried);
            if agents.is_empty() {
                break;
            }
            let call = self.unwait(&key).expect("front exists");
            self.waiting_at.remove(&call.ch);
            for tel in &agents {
                self.offers_made += 1;
                let seq = self.offers_made;
                // Reserved until the agent reports back.
                self.modify(tel, |m| {
                    m.available = false;
                    m.last_offered = seq;
                });
            }
            self.ringing.insert(call.ch, (agents.clone(), now));
            self.ringing_order.insert((now, call.ch));
            offers.push(Offer {
                ch: call.ch,
                agents,
                waited: now.saturating_sub(call.since),
            });
        }
        offers
    }

    fn choose(&self, tried: &[TelNum]) -> Vec<TelNum> {
        // The first in order nobody tried; everyone free already let it
        // ring out: try them again rather than let the caller wait.
        let untried = self.order.iter().find(|r| !tried.contains(&r.3));
        let Some(first) = untried.or_else(|| self.order.first()) else {
            return Vec::new();
        };
        let in_pool = |r: &&Rank| untried.is_none() || !tried.contains(&r.3);
        let best = || {
            self.order
                .iter()
                .skip_while(|r| r.0 < first.0)
                .take_while(|r| r.0 == first.0)
                .filter(in_pool)
        };
        match self.strategy {
            Strategy::RingAll => best().map(|r| r.3.clone()).collect(),
            Strategy::Random => {
                let top: Vec<&Rank> = best().collect();
                vec![top[fastrand::usize(..top.len())].3.clone()]
            }
            _ => vec![first.3.clone()],
        }
    }

    /// The longest a current caller has waited.
    pub fn longest_wait(&self, now: Mono) -> Duration {
        let waiting = self.waiting_since.first().map(|k| k.0);
        let ringing = self.ringing_order.first().map(|r| r.0);
        waiting
            .into_iter()
            .chain(ringing)
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
        q.enqueue(ChNum(0), Duration::ZERO, vec![], 0);
        q.answered(ChNum(0), secs(3));
        q.enqueue(ChNum(1), Duration::ZERO, vec![], 0);
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
        q.enqueue(ChNum(0), secs(100), vec![], 0);
        q.enqueue(ChNum(1), secs(101), vec![], 0);
        q.enqueue(ChNum(2), secs(102), vec![], 0);
        q.enqueue(ChNum(3), secs(103), vec![], 0);
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
    fn a_higher_caller_priority_is_served_first_and_the_longest_wait_stays_true() {
        let mut q = group(Strategy::LongestIdle);
        q.enqueue(ChNum(0), secs(100), vec![], 0);
        q.enqueue(ChNum(1), secs(105), vec![], 1);
        q.enqueue(ChNum(2), secs(106), vec![], 1);
        let order: Vec<_> = q.waiting().map(|w| w.ch.0).collect();
        assert_eq!(order, [1, 2, 0], "priority 1 first, in arrival order");
        // The longest wait is the earliest caller's, whatever its place.
        assert_eq!(q.longest_wait(secs(110)), secs(10));
        q.update_member(&t("8001"), 1, true, secs(1), 0, secs(0));
        assert_eq!(q.next_offers(secs(110))[0].ch, ChNum(1));
        q.remove_call(ChNum(0));
        assert_eq!(q.longest_wait(secs(110)), secs(4));
    }

    #[test]
    fn an_agent_who_let_it_ring_out_is_tried_last() {
        let mut q = group(Strategy::LongestIdle);
        q.update_member(&t("8001"), 1, true, secs(1), 0, secs(0));
        q.update_member(&t("8002"), 1, true, secs(5), 0, secs(0));
        q.enqueue(ChNum(0), secs(10), vec![t("8001")], 0);
        assert_eq!(q.next_offers(secs(11))[0].agents, [t("8002")]);
        // Alone, they get it again.
        let mut q = group(Strategy::LongestIdle);
        q.update_member(&t("8001"), 1, true, secs(1), 0, secs(0));
        q.enqueue(ChNum(0), secs(10), vec![t("8001")], 0);
        assert_eq!(q.next_offers(secs(11))[0].agents, [t("8001")]);
    }

    #[test]
    fn requeued_callers_keep_their_place() {
        let mut q = group(Strategy::LongestIdle);
        q.enqueue(ChNum(5), secs(20), vec![], 0);
        q.enqueue(ChNum(4), secs(10), vec![], 0);
        let order: Vec<_> = q.waiting().map(|w| w.ch.0).collect();
        assert_eq!(order, [4, 5]);
    }

    #[test]
    fn ring_all_round_robin_fewest_and_least_talk() {
        let mut q = group(Strategy::RingAll);
        q.update_member(&t("8001"), 1, true, secs(3), 0, secs(0));
        q.update_member(&t("8002"), 1, true, secs(1), 0, secs(0));
        q.update_member(&t("8003"), 2, true, secs(0), 0, secs(0));
        q.enqueue(ChNum(0), secs(10), vec![], 0);
        assert_eq!(q.next_offers(secs(10))[0].agents, [t("8002"), t("8001")]);

        let mut q = group(Strategy::RoundRobin);
        for n in ["8001", "8002", "8003"] {
            q.update_member(&t(n), 1, true, secs(0), 0, secs(0));
        }
        let mut seen = Vec::new();
        for ch in 0..4 {
            q.enqueue(ChNum(ch), secs(ch as u64), vec![], 0);
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
        q.enqueue(ChNum(0), secs(10), vec![], 0);
        assert_eq!(q.next_offers(secs(10))[0].agents, [t("8002")]);

        let mut q = group(Strategy::LeastTalkTime);
        q.update_member(&t("8001"), 1, true, secs(0), 0, secs(500));
        q.update_member(&t("8002"), 1, true, secs(9), 0, secs(60));
        q.enqueue(ChNum(0), secs(10), vec![], 0);
        assert_eq!(q.next_offers(secs(10))[0].agents, [t("8002")]);
    }

    #[test]
    fn statistics() {
        let mut q = group(Strategy::LongestIdle);
        q.enqueue(ChNum(0), secs(0), vec![], 0);
        q.enqueue(ChNum(1), secs(5), vec![], 0);
        assert_eq!(q.longest_wait(secs(30)), secs(30));
        q.answered(ChNum(0), secs(10));
        q.answered(ChNum(1), secs(40));
        q.abandoned(ChNum(9)); // not ours: not counted
        assert_eq!(q.stats.answered, 2);
        assert_eq!(q.stats.abandoned, 0);
        assert_eq!(q.service_level_percent(), 50);
    }

    #[test]
    fn ring_all_and_random_keep_to_the_best_priority_and_skip_who_rang_out() {
        let mut q = group(Strategy::RingAll);
        q.update_member(&t("8001"), 1, true, secs(3), 0, secs(0));
        q.update_member(&t("8002"), 1, true, secs(1), 0, secs(0));
        q.update_member(&t("8004"), 1, true, secs(2), 0, secs(0));
        q.update_member(&t("8003"), 2, true, secs(0), 0, secs(0));
        q.enqueue(ChNum(0), secs(10), vec![t("8002")], 0);
        assert_eq!(q.next_offers(secs(10))[0].agents, [t("8004"), t("8001")]);

        let mut q = group(Strategy::Random);
        q.update_member(&t("8001"), 1, true, secs(3), 0, secs(0));
        q.update_member(&t("8002"), 1, true, secs(1), 0, secs(0));
        q.update_member(&t("8003"), 2, true, secs(0), 0, secs(0));
        for ch in 0..20 {
            q.enqueue(ChNum(ch), secs(10), vec![t("8001")], 0);
            let o = q.next_offers(secs(10)).remove(0);
            assert_eq!(
                o.agents,
                [t("8002")],
                "the only untried agent of priority 1"
            );
            q.release(ChNum(ch), &o.agents);
        }
    }

    #[test]
    fn the_ready_count_and_totals_follow_every_change() {
        let mut q = group(Strategy::LongestIdle);
        for n in 0..100u32 {
            q.update_member(
                &t(&format!("{}", 8000 + n)),
                1,
                true,
                secs(n.into()),
                1,
                secs(10),
            );
        }
        assert_eq!((q.ready_count(), q.totals()), (100, (100, secs(1000))));
        for ch in 0..30 {
            q.enqueue(ChNum(ch), secs(200), vec![], 0);
        }
        let offers = q.next_offers(secs(200));
        assert_eq!(offers.len(), 30);
        // The longest idle first: 8000 .. 8029.
        assert_eq!(offers[29].agents, [t("8029")]);
        assert_eq!(q.ready_count(), 70);
        q.update_member(&t("8000"), 1, true, secs(300), 2, secs(40));
        assert_eq!((q.ready_count(), q.totals()), (71, (101, secs(1030))));
        q.remove_member(&t("8000"));
        assert_eq!((q.ready_count(), q.totals()), (70, (99, secs(990))));
        assert_eq!(q.member(&t("8000")), None);
        // Ringing calls count toward the longest wait until answered.
        assert_eq!(q.longest_wait(secs(260)), secs(60));
        for ch in 0..30 {
            q.answered(ChNum(ch), secs(1));
        }
        assert_eq!(q.longest_wait(secs(260)), Duration::ZERO);
    }
}
