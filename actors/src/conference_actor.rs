//! `ConferenceActor`: one per conference on the switch. It keeps who is in
//! it and how (talking, or listening only), carries joins and leaves to the
//! switch, and answers 1032. A supervisor listening (1019) or barging in
//! (1020) is a conference of the caller, the agent and the supervisor,
//! numbered after the call's trunk; the call that owns it closes it.

use actix::prelude::*;
use spcti_protocol::reply::Conference;
use spcti_protocol::{ChNum, ConfNo};

use crate::deps::Deps;
use crate::messages::ConferenceRef;
use crate::switch::SwitchCommand;

use crate::messages::conference::*;

// ---- the actor ------------------------------------------------------------

#[derive(Debug, Clone)]
struct Member {
    ch: ChNum,
    number: String,
    listen_only: bool,
}

/// One conference.
pub struct ConferenceActor {
    no: ConfNo,
    deps: Deps,
    members: Vec<Member>,
    /// Everyone is hung up when its owner hangs up (HALLH).
    hallh: bool,
}

impl ConferenceActor {
    pub fn new(no: ConfNo, deps: Deps, hallh: bool) -> Self {
        ConferenceActor {
            no,
            deps,
            members: Vec::new(),
            hallh,
        }
    }
}

impl Actor for ConferenceActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        tracing::debug!(conf = %self.no, "conference opened");
        self.deps.topo().router.do_send(ConferenceIndex::Opened(
            self.no,
            ConferenceRef::new(ctx.address()),
        ));
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        self.deps
            .topo()
            .router
            .do_send(ConferenceIndex::Closed(self.no));
    }
}

impl Handler<Join> for ConferenceActor {
    type Result = ();
    fn handle(&mut self, m: Join, _: &mut Context<Self>) {
        self.deps.switch.do_send(SwitchCommand::JoinConf {
            ch: m.ch,
            conf: self.no,
            listen_only: m.listen_only,
            heard_by: m.heard_by,
        });
        match self.members.iter_mut().find(|x| x.ch == m.ch) {
            Some(x) => {
                x.listen_only = m.listen_only;
                x.number = m.number;
            }
            None => self.members.push(Member {
                ch: m.ch,
                number: m.number,
                listen_only: m.listen_only,
            }),
        }
    }
}

impl Handler<Leave> for ConferenceActor {
    type Result = ();
    fn handle(&mut self, m: Leave, _: &mut Context<Self>) {
        if let Some(i) = self.members.iter().position(|x| x.ch == m.ch) {
            self.members.remove(i);
            self.deps.switch.do_send(SwitchCommand::LeaveConf {
                ch: m.ch,
                conf: self.no,
            });
        }
    }
}

impl Handler<Close> for ConferenceActor {
    type Result = ();
    fn handle(&mut self, _: Close, ctx: &mut Context<Self>) {
        for m in self.members.drain(..) {
            self.deps.switch.do_send(SwitchCommand::LeaveConf {
                ch: m.ch,
                conf: self.no,
            });
        }
        tracing::debug!(conf = %self.no, "conference closed");
        ctx.stop();
    }
}

impl Handler<GetConference> for ConferenceActor {
    type Result = MessageResult<GetConference>;
    fn handle(&mut self, _: GetConference, _: &mut Context<Self>) -> Self::Result {
        MessageResult(Conference {
            conf_no: self.no,
            members: self.members.iter().map(|m| m.number.clone()).collect(),
            hallh: self.hallh,
        })
    }
}
