//! A supervisor on the call this seat placed (the [`Watch`] core): 1019
//! listen or whisper and 1020 barge in on a call out, a call to another
//! extension or a meeting, and 1021 taking a call out over.

use super::*;
use crate::leg::TransferTo;
use crate::watch::{Talk, WatchEffect};

impl SeatActor {
    /// The connected call as a supervisor meets it: the meeting while a
    /// party talks in it, else the one call talking.
    pub(super) fn talk(&self) -> Option<Talk> {
        let talk = self.outs.iter().find_map(OutboundCall::talk)?;
        Some(match self.meeting {
            Some(_) => Talk::Meeting,
            None => talk,
        })
    }

    /// The call (and the conference, if any) gone from this seat: a
    /// supervisor still on it is let go.
    pub(super) fn watch_check(&mut self, ctx: &mut Context<Self>) {
        if self.watch.supervisor().is_some() && self.talk().is_none() {
            let fx = self.watch.over();
            self.watch_effects(fx, ctx);
        }
    }

    /// What the supervisor's phone shows and the call's id: the far party
    /// (the customer on a call out).
    fn shown(&self) -> (String, TellGuid) {
        self.outs.iter().find_map(|o| o.call()).map_or_else(
            || (String::new(), TellGuid::new_v4()),
            |c| (c.dialed.clone(), c.guid),
        )
    }

    /// The seat's conference (a meeting's, or the one a supervisor opens).
    pub(super) fn conference(&mut self) -> &ConferenceRef {
        let deps = self.deps.clone();
        let no = spcti_protocol::ConfNo(self.desc.ch.0);
        let hallh = self.meeting.as_ref().is_some_and(Meeting::hallh);
        self.conf.get_or_insert_with(|| {
            ConferenceRef::new(ConferenceActor::new(no, deps, hallh).start())
        })
    }

    pub(super) fn watch_effects(&mut self, fx: Vec<WatchEffect>, _ctx: &mut Context<Self>) {
        let me = self.desc.ch;
        let (shown, guid) = self.shown();
        for e in fx {
            match e {
                WatchEffect::Ring(r) => {
                    if let Some(s) = self.deps.seat(r.seat) {
                        s.do_send(Ring {
                            call: me,
                            caller: shown.clone(),
                            guid,
                        });
                    }
                }
                WatchEffect::StopRing(r) => {
                    if let Some(s) = self.deps.seat(r.seat) {
                        s.do_send(StopRing { call: me });
                    }
                    self.watcher = None;
                }
                WatchEffect::Connect(r) => {
                    if let Some(s) = self.deps.seat(r.seat) {
                        s.do_send(ConnectSeat {
                            call: me,
                            guid: Some(guid),
                            caller: shown.clone(),
                        });
                    }
                }
                WatchEffect::Switch(cmd) => self.switch(cmd),
                WatchEffect::ConfJoin {
                    ch,
                    number,
                    listen_only,
                    heard_by,
                } => self.conference().do_send(Join {
                    ch,
                    number,
                    listen_only,
                    heard_by,
                }),
                WatchEffect::ConfLeave { ch } => {
                    if let Some(conf) = &self.conf {
                        conf.do_send(Leave { ch });
                    }
                }
                WatchEffect::ConfClose => {
                    if let Some(conf) = self.conf.take() {
                        conf.do_send(Close);
                    }
                }
                WatchEffect::Connected(_) => {
                    if let Some(a) = &self.watcher {
                        a.do_send(Connected { call: me, guid });
                    }
                }
                WatchEffect::Ended { ringer, by_agent } => {
                    if !by_agent {
                        if let Some(s) = self.deps.seat(ringer.seat) {
                            s.do_send(FarEndGone { call: me });
                        }
                    }
                    if let Some(a) = self.watcher.take() {
                        a.do_send(CallEnded { call: me, by_agent });
                    }
                }
            }
        }
    }

    /// The seat's part of a call out ends and its far trunk takes the call
    /// on, sent `to` (a transfer, or a supervisor taking it over).
    pub(super) fn give_to_trunk(
        &mut self,
        placed: Placed,
        fx: Vec<OutEffect>,
        adopt: impl FnOnce(crate::leg::CallInfo) -> Adopt,
        ctx: &mut Context<Self>,
    ) -> Result<ChNum, Refusal> {
        let Far::Trunk(trunk) = placed.far else {
            unreachable!("only calls out on a trunk are handed on")
        };
        self.out_effects(&placed, fx, ctx);
        self.outs.retain(|o| !o.is_done());
        if let Some(h) = self.dial_timers.remove(&trunk) {
            ctx.cancel_future(h);
        }
        self.out_agent = None;
        let t = self.deps.trunk(trunk).ok_or(Refusal::Gone("trunk"))?;
        t.do_send(adopt(placed::trunk_side(&placed)));
        Ok(trunk)
    }
}

/// A supervisor joins the call this seat placed, or changes mode on it.
impl Handler<SupervisePlaced> for SeatActor {
    type Result = Result<spcti_protocol::ConfNo, Refusal>;
    fn handle(&mut self, m: SupervisePlaced, ctx: &mut Context<Self>) -> Self::Result {
        self.request(ctx, |act, ctx| {
            let talk = act.talk();
            let fx = act
                .watch
                .supervise(
                    m.sup.clone(),
                    m.mode,
                    m.agent_seat,
                    m.seat_lifted,
                    talk.as_ref(),
                )
                .map_err(Refusal::from)?;
            act.watcher = Some(m.agent);
            act.watch_effects(fx, ctx);
            tracing::info!(seat = %act.ext, supervisor = %m.sup.agent, mode = ?m.mode, "placed call supervised");
            Ok(spcti_protocol::ConfNo(act.desc.ch.0))
        })
    }
}

/// A supervisor takes the call this seat placed out on a trunk.
impl Handler<TakeOverPlaced> for SeatActor {
    type Result = Result<ChNum, Refusal>;
    fn handle(&mut self, m: TakeOverPlaced, ctx: &mut Context<Self>) -> Self::Result {
        let me = self.desc.ch;
        self.request(ctx, |act, ctx| {
            let now = act.now();
            let clock = act.deps.clock.clone();
            if act.meeting.is_some() {
                return Err(Refusal::state("a conference call cannot be taken over"));
            }
            if m.sup.seat == me {
                return Err(Refusal::state("it is already your call"));
            }
            let Some(i) = act.outs.iter().position(|o| o.talk().is_some()) else {
                return Err(Refusal::state("the call is not connected"));
            };
            // Checked before the supervisor is let out of the conference.
            act.outs[i].can_be_taken_over().map_err(Refusal::from)?;
            let (joined, wfx) = act.watch.take_over(m.sup.seat).map_err(Refusal::from)?;
            let (placed, fx) = act.outs[i].cut_off(now, &clock).map_err(Refusal::from)?;
            act.watch_effects(wfx, ctx);
            act.watcher = None;
            if joined {
                // Its seat leaves this call for the trunk, where it is
                // connected at once.
                if let Some(s) = act.deps.seat(m.sup.seat) {
                    s.do_send(FarEndGone { call: me });
                }
            }
            let to = TransferTo::Seat(m.sup.clone());
            let lifted = joined || m.seat_lifted;
            // Unanswered, it waits in the default group like a transfer.
            let group = act.deps.settings.default_group;
            let trunk = act.give_to_trunk(
                placed,
                fx,
                |call| Adopt {
                    call: crate::leg::CallInfo { group, ..call },
                    to,
                    agent: Some(m.agent),
                    seat_lifted: lifted,
                },
                ctx,
            )?;
            tracing::info!(seat = %act.ext, supervisor = %m.sup.agent, %trunk, "placed call taken over");
            Ok(trunk)
        })
    }
}
