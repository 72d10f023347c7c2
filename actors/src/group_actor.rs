//! `QueueGroupActor`: one per `[[group]]`. Hosts a [`QueueCore`]: callers
//! waiting, member agents and their availability; offers each waiting call
//! to the agents its strategy picks.

use std::collections::HashMap;
use std::time::Duration;

use actix::prelude::*;
use spcti_protocol::reply::Stats;
use spcti_protocol::{AgentState, ChNum, GroupNo, TelNum, WorkNo};

use crate::clock::Mono;
use crate::deps::Deps;
use crate::leg::Ringer;
use crate::messages::trunk::{OfferCall, Unstaffed};
use crate::messages::{AgentRef, TrunkRef};
use crate::monitor::GroupExtra;
use crate::queue::QueueCore;
use crate::strategy::Strategy;
use crate::supervision::{Restart, announce, contain, restart_now};

use crate::messages::group::*;

// ---- the actor ------------------------------------------------------------

struct MemberAddr {
    agent: AgentRef,
    seat: ChNum,
    work_no: Option<WorkNo>,
    state: AgentState,
}

/// One queue group.
pub struct QueueGroupActor {
    core: QueueCore,
    deps: Deps,
    trunks: HashMap<ChNum, TrunkRef>,
    members: HashMap<TelNum, MemberAddr>,
    /// How many members are in each state (9014's counts, kept as states
    /// change rather than counted per message).
    in_state: HashMap<AgentState, u32>,
}

const KIND: &str = "group";

impl QueueGroupActor {
    pub fn new(no: GroupNo, strategy: Strategy, service_level: Duration, deps: Deps) -> Self {
        QueueGroupActor {
            core: QueueCore::new(no, strategy, service_level),
            deps,
            trunks: HashMap::new(),
            members: HashMap::new(),
            in_state: HashMap::new(),
        }
    }

    pub fn path(&self) -> String {
        format!("group:{}", self.core.no)
    }

    fn run(&mut self, ctx: &mut Context<Self>, f: impl FnOnce(&mut Self)) {
        let registry = self.deps.registry.clone();
        contain(
            self,
            ctx,
            |a| a.path(),
            KIND,
            Some(&registry),
            |act, _| {
                f(act);
                act.dispatch();
            },
        );
        self.deps.monitor.group(self.stats(), self.extra());
    }

    /// At each midnight the day's counters start again, and the wallboard
    /// sees it then, not at the next call.
    fn at_midnight(&mut self, ctx: &mut Context<Self>) {
        let midnight = self.deps.clock.sleep(self.deps.until_midnight());
        ctx.spawn(midnight.into_actor(self).map(|_, act, ctx| {
            let today = act.deps.today();
            act.run(ctx, |act| {
                act.core.roll(today);
            });
            act.at_midnight(ctx);
        }));
    }

    /// What a wallboard adds to 9014.
    pub fn extra(&self) -> GroupExtra {
        let st = &self.core.stats;
        let (calls, talk) = self.core.totals();
        let calls = u32::try_from(calls).unwrap_or(u32::MAX);
        let ended = st.answered + st.abandoned;
        GroupExtra {
            asa: st
                .total_answer_wait
                .checked_div(st.answered)
                .unwrap_or_default(),
            aht: talk.checked_div(calls).unwrap_or_default(),
            abandon_permille: (st.abandoned * 1000).checked_div(ended).unwrap_or(0),
            service_level_threshold: self.core.service_level,
        }
    }

    /// The group's queue and counters, as a 9014.
    pub fn stats(&self) -> Stats {
        let now = self.deps.clock.now();
        let count = |s: AgentState| self.in_state.get(&s).copied().unwrap_or(0);
        Stats {
            group_no: Some(self.core.no),
            online: self.members.len() as u32,
            ready: self.core.ready_count() as u32,
            busy: count(AgentState::Busy) + count(AgentState::WrapUp),
            talking: count(AgentState::Talking),
            ringing: count(AgentState::Ringing),
            queued: self.core.waiting_count() as u32,
            longest_wait_s: self.core.longest_wait(now).as_secs() as u32,
            answered_today: self.core.stats.answered,
            abandoned_today: self.core.stats.abandoned,
            service_level: self.core.service_level_percent(),
        }
    }

    fn uncount(&mut self, state: AgentState) {
        if let Some(n) = self.in_state.get_mut(&state) {
            *n = n.saturating_sub(1);
        }
    }

    /// Offers waiting calls to free agents.
    fn dispatch(&mut self) {
        let now = self.deps.clock.now();
        for offer in self.core.next_offers(now) {
            let Some(trunk) = self.trunks.get(&offer.ch) else {
                continue;
            };
            let ringers = offer
                .agents
                .iter()
                .filter_map(|tel| {
                    self.members.get(tel).map(|m| {
                        (
                            Ringer {
                                agent: tel.clone(),
                                work_no: m.work_no.clone(),
                                seat: m.seat,
                            },
                            m.agent.clone(),
                        )
                    })
                })
                .collect();
            trunk.do_send(OfferCall {
                group: self.core.no,
                ringers,
            });
        }
    }
}

impl Actor for QueueGroupActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        announce(
            self,
            ctx,
            &self.deps.registry,
            &self.deps.clock,
            self.path(),
            KIND,
        );
        self.core.roll(self.deps.today());
        self.at_midnight(ctx);
        self.deps.monitor.group(self.stats(), self.extra());
    }
}

impl Supervised for QueueGroupActor {
    /// Waiting callers and member states are re-announced by the trunks and
    /// agents that own them; the day's counters survive.
    fn restarting(&mut self, _: &mut Context<Self>) {
        tracing::warn!(group = %self.core.no, waiting = self.core.waiting_count(), "group restarting");
    }
}

/// A caller joins the queue.
impl Handler<Enqueue> for QueueGroupActor {
    type Result = ();
    fn handle(&mut self, m: Enqueue, ctx: &mut Context<Self>) {
        self.run(ctx, |act| {
            if act.members.is_empty() {
                m.trunk.do_send(Unstaffed);
            }
            act.trunks.insert(m.ch, m.trunk);
            act.core.enqueue(m.ch, m.since, m.tried, m.priority);
        });
    }
}

/// A call left.
impl Handler<CallLeft> for QueueGroupActor {
    type Result = ();
    fn handle(&mut self, m: CallLeft, ctx: &mut Context<Self>) {
        self.run(ctx, |act| {
            act.trunks.remove(&m.ch);
            if m.abandoned {
                act.core.abandoned(m.ch);
            } else {
                act.core.remove_call(m.ch);
            }
        });
    }
}

/// A call was answered.
impl Handler<CallAnswered> for QueueGroupActor {
    type Result = ();
    fn handle(&mut self, m: CallAnswered, ctx: &mut Context<Self>) {
        self.run(ctx, |act| {
            act.trunks.remove(&m.ch);
            act.core.answered(m.ch, m.waited);
        });
    }
}

/// An agent's availability.
impl Handler<MemberState> for QueueGroupActor {
    type Result = ();
    fn handle(&mut self, m: MemberState, ctx: &mut Context<Self>) {
        self.run(ctx, |act| {
            act.core.update_member(
                &m.tel,
                m.priority,
                m.available,
                m.idle_since,
                m.calls_today,
                m.talk_today,
            );
            let state = m.state;
            let old = act.members.insert(
                m.tel,
                MemberAddr {
                    agent: m.agent,
                    seat: m.seat,
                    work_no: m.work_no,
                    state,
                },
            );
            if let Some(old) = old {
                act.uncount(old.state);
            }
            *act.in_state.entry(state).or_default() += 1;
        });
    }
}

/// An agent left.
impl Handler<MemberLeft> for QueueGroupActor {
    type Result = ();
    fn handle(&mut self, m: MemberLeft, ctx: &mut Context<Self>) {
        self.run(ctx, |act| {
            act.core.remove_member(&m.tel);
            if let Some(old) = act.members.remove(&m.tel) {
                act.uncount(old.state);
            }
            // The last agent logged out: the callers waiting are told.
            if act.members.is_empty() {
                for w in act.core.waiting() {
                    if let Some(t) = act.trunks.get(&w.ch) {
                        t.do_send(Unstaffed);
                    }
                }
            }
        });
    }
}

/// An offer never reached the agents.
impl Handler<OfferVoid> for QueueGroupActor {
    type Result = ();
    fn handle(&mut self, m: OfferVoid, ctx: &mut Context<Self>) {
        self.run(ctx, |act| act.core.release(m.ch, &m.agents));
    }
}

/// A waiting caller's place, for its announcements: the expected wait is
/// its place times the day's average handling time, shared by the agents
/// logged in.
impl Handler<QueuePlace> for QueueGroupActor {
    type Result = MessageResult<QueuePlace>;
    fn handle(&mut self, m: QueuePlace, _: &mut Context<Self>) -> Self::Result {
        let Some(pos) = self.core.position(m.ch) else {
            return MessageResult(None);
        };
        let aht = self.extra().aht;
        let online = self.members.len() as u32;
        let expected = (!aht.is_zero() && online > 0).then(|| aht * pos as u32 / online);
        MessageResult(Some((pos as u32, expected)))
    }
}

/// Pick-up search.
impl Handler<FindPickup> for QueueGroupActor {
    type Result = MessageResult<FindPickup>;
    fn handle(&mut self, m: FindPickup, _: &mut Context<Self>) -> Self::Result {
        let now = self.deps.clock.now();
        let mut oldest: Option<(ChNum, Mono)> = None;
        let mut youngest_rang = None;
        for (ch, _, since) in self.core.ringing() {
            let rang = now.saturating_sub(since);
            if rang >= m.min_ring {
                if oldest.is_none_or(|(c, s)| (since, ch) < (s, c)) {
                    oldest = Some((ch, since));
                }
            } else {
                youngest_rang = Some(youngest_rang.map_or(rang, |r: Duration| r.max(rang)));
            }
        }
        MessageResult(match (oldest, youngest_rang) {
            (Some((ch, since)), _) => match self.trunks.get(&ch) {
                Some(trunk) => PickupFind::Found {
                    ch,
                    since,
                    trunk: trunk.clone(),
                },
                None => PickupFind::Nothing,
            },
            (None, Some(rang)) => PickupFind::TooEarly { rang },
            (None, None) => PickupFind::Nothing,
        })
    }
}

/// Live statistics.
impl Handler<GetStats> for QueueGroupActor {
    type Result = MessageResult<GetStats>;
    fn handle(&mut self, _: GetStats, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.stats())
    }
}

/// Panic on purpose.
impl Handler<CrashGroup> for QueueGroupActor {
    type Result = ();
    fn handle(&mut self, _: CrashGroup, ctx: &mut Context<Self>) {
        self.run(ctx, |_| panic!("crash requested"));
    }
}

/// The operator's restart: waiting callers and members are re-announced by
/// their trunks and agents; the day's counters survive.
impl Handler<Restart> for QueueGroupActor {
    type Result = ();
    fn handle(&mut self, _: Restart, ctx: &mut Context<Self>) {
        restart_now(ctx, &self.deps.registry, self.path(), KIND);
    }
}
