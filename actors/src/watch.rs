//! A supervisor on a call a seat placed (1019 listen or whisper, 1020
//! barge in): a call out on a trunk, a call to another extension, or a
//! multi-party meeting. Sans-I/O: the seat actor that hosts the call
//! (seat_actor/watched.rs) passes in what happened and carries out the
//! returned effects. The inbound counterpart is `leg/supervise.rs`.
//!
//! As for an inbound call, the supervisor meets the parties in a
//! conference numbered after the call's channel (here the placing seat);
//! a meeting already has one, which the supervisor simply joins. When the
//! supervisor hangs up, a two-party call is linked directly again.

use spcti_protocol::ChNum;

use crate::leg::{NotNow, Ringer, SupMode};
use crate::switch::SwitchCommand;

/// The supervised call as its seat has it at this moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Talk {
    /// Two parties linked directly: the placing seat and its far end (a
    /// trunk or another seat). `muted`: the placing agent only listens.
    Pair {
        seat: ChNum,
        seat_no: String,
        far: ChNum,
        far_no: String,
        muted: bool,
    },
    /// A multi-party call: every party is in the seat's conference already.
    Meeting,
}

impl Talk {
    fn has(&self, ch: ChNum) -> bool {
        matches!(self, Talk::Pair { seat, far, .. } if *seat == ch || *far == ch)
    }

    /// The two parties linked directly again, honouring a mute.
    fn relink(seat: ChNum, far: ChNum, muted: bool) -> SwitchCommand {
        match muted {
            true => SwitchCommand::Link {
                a: seat,
                b: far,
                two_way: false,
            },
            false => SwitchCommand::Link {
                a: seat,
                b: far,
                two_way: true,
            },
        }
    }
}

/// The supervisor on the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Supervisor {
    pub ringer: Ringer,
    pub mode: SupMode,
    /// In the conference (its seat answered, or was lifted already).
    pub joined: bool,
    /// The seat of the agent supervised: a whisper is heard there alone.
    pub agent_seat: ChNum,
}

/// What the hosting seat actor is to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchEffect {
    /// The supervisor's on-hook seat rings for the call.
    Ring(Ringer),
    /// It stops ringing (the call ended first).
    StopRing(Ringer),
    /// The supervisor's lifted seat is now on the call.
    Connect(Ringer),
    Switch(SwitchCommand),
    /// Into the call's conference, or a member's place in it changes.
    ConfJoin {
        ch: ChNum,
        number: String,
        listen_only: bool,
        heard_by: Option<ChNum>,
    },
    ConfLeave {
        ch: ChNum,
    },
    ConfClose,
    /// 6004 to the supervisor.
    Connected(Ringer),
    /// The supervisor is off the call: it hung up (`by_agent`), or the
    /// call ended under it (its lifted seat hears nothing now).
    Ended {
        ringer: Ringer,
        by_agent: bool,
    },
}

/// At most one supervisor per call, as on an inbound call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Watch {
    sup: Option<Supervisor>,
}

impl Watch {
    pub fn supervisor(&self) -> Option<&Supervisor> {
        self.sup.as_ref()
    }

    /// Whether the supervisor sits in the conference of a two-party call
    /// (which then carries the parties' audio instead of a direct link).
    pub fn bridges(&self, talk: &Talk) -> bool {
        matches!(talk, Talk::Pair { .. }) && self.sup.as_ref().is_some_and(|s| s.joined)
    }

    /// 1019 / 1020 on the call: a lifted seat joins at once, one on-hook
    /// rings first. The supervisor already on the call changes mode
    /// instead (listen -> whisper -> barge and back) without hanging up.
    /// `talk` is `None` while the call is not connected.
    pub fn supervise(
        &mut self,
        ringer: Ringer,
        mode: SupMode,
        agent_seat: ChNum,
        lifted: bool,
        talk: Option<&Talk>,
    ) -> Result<Vec<WatchEffect>, NotNow> {
        let Some(talk) = talk else {
            return Err(NotNow("the call is not connected"));
        };
        if talk.has(ringer.seat) || ringer.seat == agent_seat {
            return Err(NotNow("you cannot supervise your own call"));
        }
        if let Some(s) = self.sup.as_mut() {
            if s.ringer.seat != ringer.seat {
                return Err(NotNow("a supervisor is already on this call"));
            }
            s.mode = mode;
            s.agent_seat = agent_seat;
            return Ok(match s.joined {
                true => vec![Self::place(s)],
                // Still ringing: it joins in the new mode when it answers.
                false => vec![],
            });
        }
        self.sup = Some(Supervisor {
            ringer: ringer.clone(),
            mode,
            joined: false,
            agent_seat,
        });
        if !lifted {
            return Ok(vec![WatchEffect::Ring(ringer)]);
        }
        let mut fx = vec![WatchEffect::Connect(ringer)];
        fx.extend(self.join(talk));
        Ok(fx)
    }

    /// The supervisor's place in the conference, in its mode.
    fn place(s: &Supervisor) -> WatchEffect {
        WatchEffect::ConfJoin {
            ch: s.ringer.seat,
            number: s.ringer.agent.to_string(),
            listen_only: s.mode == SupMode::Listen,
            heard_by: (s.mode == SupMode::Whisper).then_some(s.agent_seat),
        }
    }

    /// The supervisor's seat is on the call: a two-party call moves into
    /// the conference, then the supervisor joins it.
    fn join(&mut self, talk: &Talk) -> Vec<WatchEffect> {
        let Some(s) = self.sup.as_mut() else {
            return vec![];
        };
        s.joined = true;
        let mut fx = Vec::new();
        if let Talk::Pair {
            seat,
            seat_no,
            far,
            far_no,
            muted,
        } = talk
        {
            fx.extend([
                WatchEffect::Switch(SwitchCommand::Unlink { a: *seat, b: *far }),
                WatchEffect::ConfJoin {
                    ch: *seat,
                    number: seat_no.clone(),
                    listen_only: *muted,
                    heard_by: None,
                },
                WatchEffect::ConfJoin {
                    ch: *far,
                    number: far_no.clone(),
                    listen_only: false,
                    heard_by: None,
                },
            ]);
        }
        fx.push(Self::place(s));
        fx.push(WatchEffect::Connected(s.ringer.clone()));
        fx
    }

    /// A seat this call rang answered: `None` unless it is the
    /// supervisor's (then it joins).
    pub fn answered(&mut self, seat: ChNum, talk: Option<&Talk>) -> Option<Vec<WatchEffect>> {
        let s = self.sup.as_ref()?;
        if s.ringer.seat != seat || s.joined {
            return None;
        }
        Some(match talk {
            Some(talk) => self.join(talk),
            // Answered just as the call ended: nothing to join.
            None => self.over(),
        })
    }

    /// A seat on this call hung up: `None` unless it is the supervisor's.
    /// The call goes on as before it came.
    pub fn hung_up(&mut self, seat: ChNum, talk: Option<&Talk>) -> Option<Vec<WatchEffect>> {
        if self.sup.as_ref()?.ringer.seat != seat {
            return None;
        }
        let s = self.sup.take()?;
        let mut fx = Vec::new();
        if s.joined {
            match talk {
                Some(Talk::Pair {
                    seat, far, muted, ..
                }) => {
                    fx.push(WatchEffect::ConfClose);
                    fx.push(WatchEffect::Switch(Talk::relink(*seat, *far, *muted)));
                }
                Some(Talk::Meeting) => fx.push(WatchEffect::ConfLeave { ch: s.ringer.seat }),
                None => {}
            }
        }
        fx.push(WatchEffect::Ended {
            ringer: s.ringer,
            by_agent: true,
        });
        Some(fx)
    }

    /// 1016 by the placing agent while the supervisor bridges a two-party
    /// call: its place in the conference changes (instead of the link).
    pub fn mute(&self, talk: &Talk) -> Option<WatchEffect> {
        match talk {
            Talk::Pair {
                seat,
                seat_no,
                muted,
                ..
            } if self.bridges(talk) => Some(WatchEffect::ConfJoin {
                ch: *seat,
                number: seat_no.clone(),
                listen_only: *muted,
                heard_by: None,
            }),
            _ => None,
        }
    }

    /// The call ended, or left this seat (transferred): the supervisor is
    /// let go — out of the conference, or its phone stops ringing.
    pub fn over(&mut self) -> Vec<WatchEffect> {
        match self.sup.take() {
            Some(s) if s.joined => vec![
                WatchEffect::ConfClose,
                WatchEffect::Ended {
                    ringer: s.ringer,
                    by_agent: false,
                },
            ],
            Some(s) => vec![WatchEffect::StopRing(s.ringer)],
            None => vec![],
        }
    }

    /// 1021: the supervisor takes the call, which leaves this seat.
    /// Answers whether its seat is already on the call (so it is
    /// connected, not rung, where the call goes), and what letting it out
    /// of this call takes. Another supervisor on the call refuses.
    pub fn take_over(&mut self, seat: ChNum) -> Result<(bool, Vec<WatchEffect>), NotNow> {
        match self.sup.take() {
            None => Ok((false, vec![])),
            Some(s) if s.ringer.seat != seat => {
                self.sup = Some(s);
                Err(NotNow("another supervisor is on this call"))
            }
            // It hears nothing for a moment, then the call where it goes.
            Some(s) if s.joined => Ok((true, vec![WatchEffect::ConfClose])),
            Some(s) => Ok((false, vec![WatchEffect::StopRing(s.ringer)])),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spcti_protocol::TelNum;

    fn sup() -> Ringer {
        Ringer {
            agent: TelNum::new("8009").unwrap(),
            work_no: None,
            seat: ChNum(9),
        }
    }

    fn pair(muted: bool) -> Talk {
        Talk::Pair {
            seat: ChNum(1),
            seat_no: "8001".into(),
            far: ChNum(20),
            far_no: "13800138000".into(),
            muted,
        }
    }

    fn joins(fx: &[WatchEffect], ch: u32) -> Option<(bool, Option<ChNum>)> {
        fx.iter().find_map(|e| match e {
            WatchEffect::ConfJoin {
                ch: c,
                listen_only,
                heard_by,
                ..
            } if c.0 == ch => Some((*listen_only, *heard_by)),
            _ => None,
        })
    }

    #[test]
    fn a_lifted_supervisor_moves_a_linked_pair_into_the_conference() {
        let mut w = Watch::default();
        let fx = w
            .supervise(sup(), SupMode::Listen, ChNum(1), true, Some(&pair(false)))
            .unwrap();
        assert_eq!(fx[0], WatchEffect::Connect(sup()));
        assert_eq!(
            fx[1],
            WatchEffect::Switch(SwitchCommand::Unlink {
                a: ChNum(1),
                b: ChNum(20)
            })
        );
        assert_eq!(joins(&fx, 1), Some((false, None)));
        assert_eq!(joins(&fx, 20), Some((false, None)));
        assert_eq!(joins(&fx, 9), Some((true, None)), "listen only");
        assert_eq!(fx.last(), Some(&WatchEffect::Connected(sup())));
        assert!(w.bridges(&pair(false)));
    }

    #[test]
    fn an_on_hook_supervisor_rings_and_joins_in_the_mode_last_asked() {
        let mut w = Watch::default();
        let fx = w
            .supervise(sup(), SupMode::Listen, ChNum(1), false, Some(&pair(false)))
            .unwrap();
        assert_eq!(fx, vec![WatchEffect::Ring(sup())]);
        // Whisper asked while it still rings: no effect yet.
        let fx = w
            .supervise(sup(), SupMode::Whisper, ChNum(1), false, Some(&pair(false)))
            .unwrap();
        assert!(fx.is_empty());
        assert_eq!(
            w.answered(ChNum(5), Some(&pair(false))),
            None,
            "not its seat"
        );
        let fx = w.answered(ChNum(9), Some(&pair(false))).unwrap();
        assert_eq!(joins(&fx, 9), Some((false, Some(ChNum(1)))), "a whisper");
    }

    #[test]
    fn modes_change_on_the_call_without_hanging_up() {
        let mut w = Watch::default();
        w.supervise(sup(), SupMode::Listen, ChNum(1), true, Some(&pair(false)))
            .unwrap();
        let fx = w
            .supervise(sup(), SupMode::Barge, ChNum(1), true, Some(&pair(false)))
            .unwrap();
        assert_eq!(fx.len(), 1);
        assert_eq!(joins(&fx, 9), Some((false, None)));
        let fx = w
            .supervise(sup(), SupMode::Listen, ChNum(1), true, Some(&pair(false)))
            .unwrap();
        assert_eq!(joins(&fx, 9), Some((true, None)));
    }

    #[test]
    fn parties_and_a_second_supervisor_are_refused() {
        let mut w = Watch::default();
        let far = Ringer {
            seat: ChNum(20),
            ..sup()
        };
        assert!(
            w.supervise(far, SupMode::Listen, ChNum(1), true, Some(&pair(false)))
                .is_err()
        );
        assert!(
            w.supervise(sup(), SupMode::Listen, ChNum(1), true, None)
                .is_err(),
            "not connected"
        );
        w.supervise(sup(), SupMode::Listen, ChNum(1), true, Some(&pair(false)))
            .unwrap();
        let other = Ringer {
            seat: ChNum(8),
            ..sup()
        };
        assert_eq!(
            w.supervise(other, SupMode::Barge, ChNum(1), true, Some(&pair(false))),
            Err(NotNow("a supervisor is already on this call"))
        );
    }

    #[test]
    fn the_supervisor_hanging_up_relinks_the_pair_and_keeps_a_mute() {
        let mut w = Watch::default();
        w.supervise(sup(), SupMode::Barge, ChNum(1), true, Some(&pair(true)))
            .unwrap();
        assert_eq!(w.hung_up(ChNum(1), Some(&pair(true))), None, "a party");
        let fx = w.hung_up(ChNum(9), Some(&pair(true))).unwrap();
        assert_eq!(
            fx,
            vec![
                WatchEffect::ConfClose,
                WatchEffect::Switch(SwitchCommand::Link {
                    a: ChNum(1),
                    b: ChNum(20),
                    two_way: false
                }),
                WatchEffect::Ended {
                    ringer: sup(),
                    by_agent: true
                },
            ]
        );
        assert!(w.supervisor().is_none());
    }

    #[test]
    fn in_a_meeting_the_supervisor_only_joins_and_leaves() {
        let mut w = Watch::default();
        let fx = w
            .supervise(sup(), SupMode::Listen, ChNum(1), true, Some(&Talk::Meeting))
            .unwrap();
        assert!(!fx.iter().any(|e| matches!(e, WatchEffect::Switch(_))));
        assert_eq!(joins(&fx, 9), Some((true, None)));
        assert_eq!(joins(&fx, 1), None);
        assert!(!w.bridges(&Talk::Meeting));
        let fx = w.hung_up(ChNum(9), Some(&Talk::Meeting)).unwrap();
        assert_eq!(fx[0], WatchEffect::ConfLeave { ch: ChNum(9) });
    }

    #[test]
    fn the_call_ending_lets_the_supervisor_go() {
        let mut w = Watch::default();
        w.supervise(sup(), SupMode::Listen, ChNum(1), false, Some(&pair(false)))
            .unwrap();
        assert_eq!(w.over(), vec![WatchEffect::StopRing(sup())]);
        w.supervise(sup(), SupMode::Listen, ChNum(1), true, Some(&pair(false)))
            .unwrap();
        assert_eq!(
            w.over(),
            vec![
                WatchEffect::ConfClose,
                WatchEffect::Ended {
                    ringer: sup(),
                    by_agent: false
                }
            ]
        );
        assert!(w.over().is_empty());
    }

    #[test]
    fn a_mute_under_a_supervisor_moves_the_seat_in_the_conference() {
        let mut w = Watch::default();
        assert_eq!(w.mute(&pair(true)), None, "no supervisor: the link");
        w.supervise(sup(), SupMode::Listen, ChNum(1), true, Some(&pair(false)))
            .unwrap();
        assert_eq!(
            w.mute(&pair(true)),
            Some(WatchEffect::ConfJoin {
                ch: ChNum(1),
                number: "8001".into(),
                listen_only: true,
                heard_by: None
            })
        );
    }

    #[test]
    fn take_over_keeps_the_supervisor_on_the_call_and_refuses_another() {
        let mut w = Watch::default();
        assert_eq!(w.take_over(ChNum(9)), Ok((false, vec![])));
        w.supervise(sup(), SupMode::Listen, ChNum(1), true, Some(&pair(false)))
            .unwrap();
        assert!(w.take_over(ChNum(8)).is_err());
        assert!(w.supervisor().is_some(), "still on the call");
        assert_eq!(
            w.take_over(ChNum(9)),
            Ok((true, vec![WatchEffect::ConfClose]))
        );
        assert!(w.supervisor().is_none());
    }
}
