//! Why the actors refused a request: one type for the whole actor layer
//! (architecture rule 9), instead of a `String` per call site.
//!
//! Its `Display` is exactly the text a client reads in a 9000's `ResultSTR`
//! (or a 9030's), so those texts do not change with the type. Its kind says
//! what an HTTP caller gets ([`Refusal::status`]) and lets tests and code
//! match on why, not on words.

use std::borrow::Cow;

use spcti_protocol::{ChNum, GroupNo, TelNum, WorkNo};

use crate::leg::NotNow;

/// A refused request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The request is malformed or names nothing usable (its text says
    /// what is wrong with it).
    #[error("{0}")]
    Invalid(Cow<'static, str>),
    /// Refused by the rules of who may ask what (access.rs).
    #[error("{0}")]
    Denied(Cow<'static, str>),
    /// No seat has this extension (as the request spelled it).
    #[error("no extension {0}")]
    NoExtension(String),
    #[error("no group {0}")]
    NoGroup(GroupNo),
    #[error("no channel {0}")]
    NoChannel(ChNum),
    /// No actor has this supervision path (`channel:12`, `agent:8001`).
    #[error("no actor {0}")]
    NoActor(String),
    #[error("{0} is not logged in")]
    NotLoggedIn(TelNum),
    #[error("no agent with WorkNo {0} is logged in")]
    NoWorkNo(WorkNo),
    /// The call the request is about ended meanwhile.
    #[error("the call is gone")]
    CallGone,
    /// A channel the request needs is gone (a restart, or a call that ended).
    #[error("the {0} is gone")]
    Gone(&'static str),
    #[error("{0} is busy")]
    Busy(TelNum),
    #[error("you are already on a call")]
    AlreadyOnCall,
    /// The request does not fit the state of the call, seat or agent it
    /// is about (a core's refusal; its text says why).
    #[error("{0}")]
    State(Cow<'static, str>),
    /// A capability not built yet.
    #[error("only inbound calls can be {0} yet")]
    OnlyInbound(&'static str),
    /// The database could not answer.
    #[error("{0}")]
    Storage(String),
    /// An actor the request needed restarted under it: try again.
    #[error("internal error; the actor is restarting, try again")]
    Restarting,
    /// The channel failed while handling the request and was restarted.
    #[error("internal error; the channel was restarted")]
    ChannelRestarted,
    #[error("internal error")]
    Internal,
}

impl Refusal {
    /// A refusal in the state the request found.
    pub fn state(why: impl Into<Cow<'static, str>>) -> Self {
        Refusal::State(why.into())
    }

    /// A malformed request.
    pub fn invalid(why: impl Into<Cow<'static, str>>) -> Self {
        Refusal::Invalid(why.into())
    }

    /// The HTTP status an admin caller gets for it.
    pub fn status(&self) -> u16 {
        match self {
            Refusal::Invalid(_) => 400,
            Refusal::Denied(_) => 403,
            Refusal::NoExtension(_)
            | Refusal::NoGroup(_)
            | Refusal::NoChannel(_)
            | Refusal::NoActor(_)
            | Refusal::NotLoggedIn(_)
            | Refusal::NoWorkNo(_)
            | Refusal::CallGone
            | Refusal::Gone(_) => 404,
            Refusal::Busy(_) | Refusal::AlreadyOnCall | Refusal::State(_) => 409,
            Refusal::OnlyInbound(_) => 501,
            Refusal::Storage(_) | Refusal::Restarting | Refusal::ChannelRestarted => 503,
            Refusal::Internal => 500,
        }
    }
}

/// A call core refused an input in its state.
impl From<NotNow> for Refusal {
    fn from(e: NotNow) -> Self {
        Refusal::State(Cow::Borrowed(e.0))
    }
}

/// An actor's mailbox closed under a request (it is restarting).
impl From<actix::MailboxError> for Refusal {
    fn from(_: actix::MailboxError) -> Self {
        Refusal::Restarting
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_texts_are_the_result_strings_clients_read() {
        let tel = TelNum::new("8001").unwrap();
        assert_eq!(Refusal::CallGone.to_string(), "the call is gone");
        assert_eq!(Refusal::Gone("seat").to_string(), "the seat is gone");
        assert_eq!(Refusal::Busy(tel.clone()).to_string(), "8001 is busy");
        assert_eq!(
            Refusal::NotLoggedIn(tel).to_string(),
            "8001 is not logged in"
        );
        assert_eq!(
            Refusal::OnlyInbound("supervised").to_string(),
            "only inbound calls can be supervised yet"
        );
        assert_eq!(
            Refusal::from(NotNow("the channel has no call")).to_string(),
            "the channel has no call"
        );
        assert_eq!(
            Refusal::Restarting.to_string(),
            "internal error; the actor is restarting, try again"
        );
    }

    #[test]
    fn each_kind_has_its_http_status() {
        assert_eq!(Refusal::invalid("x").status(), 400);
        assert_eq!(Refusal::NoGroup(GroupNo(9)).status(), 404);
        assert_eq!(Refusal::state("x").status(), 409);
        assert_eq!(Refusal::Restarting.status(), 503);
    }
}
