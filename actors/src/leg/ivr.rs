//! The IVR part of an inbound call, where a call flow steps (sans-I/O).
//!
//! A flow hears what happened on the call ([`IvrInput`]: a prompt ended,
//! keys, its timer, data from a client) and answers what to do
//! ([`IvrAction`]: play, arm a timer, queue, release). The leg carries the
//! actions out with the effects it already has, so queues, pops, transfers
//! and recording do not know whether a flow or the fixed behaviour sent the
//! call. Today's only flow is [`CallFlow::WelcomeThenGroup`]: the welcome
//! prompt, then the first group; the flow engine of the call-flow contract
//! is the next variant (docs/architecture.md, "Where the flow engine
//! goes").

use std::time::Duration;

use spcti_protocol::GroupNo;

use super::CallInfo;
use crate::clock::Mono;

/// The prompt every inbound call hears in the fixed flow.
pub const WELCOME_PROMPT: &str = "welcome";

/// What a flow hears.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IvrInput {
    /// The prompt it asked for ended (`completed`: played to its end, not
    /// stopped).
    PlayDone { completed: bool },
    /// The caller pressed keys.
    Digits(String),
    /// The timer it armed ran out.
    Timer,
    /// A client sent data for this call (1026 `ch:`).
    Data(String),
}

/// What a flow wants done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IvrAction {
    /// Play a prompt to the caller; its end comes back as `PlayDone`.
    Play(String),
    /// Arm the flow's timer (replacing one armed before).
    StartTimer(Duration),
    CancelTimer,
    /// Queue the call to a group (once the caller's data is in, for the
    /// screen pop); the flow is done.
    Queue(GroupNo),
    /// The flow cannot go on: the system releases the call, saying why.
    Release(&'static str),
}

/// The flow a call runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallFlow {
    /// Play the welcome prompt, then queue to `group` (the first
    /// `[[group]]`; none configured: release).
    WelcomeThenGroup { group: Option<GroupNo> },
}

impl CallFlow {
    /// The fixed flow.
    pub fn welcome_then(group: Option<GroupNo>) -> Self {
        CallFlow::WelcomeThenGroup { group }
    }

    /// The call entered the flow (answered).
    pub fn start(&mut self, _call: &CallInfo, _now: Mono) -> Vec<IvrAction> {
        match self {
            CallFlow::WelcomeThenGroup { .. } => vec![IvrAction::Play(WELCOME_PROMPT.into())],
        }
    }

    /// Something happened on the call.
    pub fn step(&mut self, input: IvrInput, _call: &CallInfo, _now: Mono) -> Vec<IvrAction> {
        match (self, input) {
            // Stopped or played out, the welcome is over.
            (CallFlow::WelcomeThenGroup { group }, IvrInput::PlayDone { .. }) => match group {
                Some(g) => vec![IvrAction::Queue(*g)],
                None => vec![IvrAction::Release(
                    "no [[group]] configured; releasing the call",
                )],
            },
            // The fixed flow takes no keys, sets no timer and waits for no
            // data.
            (CallFlow::WelcomeThenGroup { .. }, _) => vec![],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::Direction;
    use spcti_protocol::TellGuid;

    fn call() -> CallInfo {
        CallInfo {
            guid: TellGuid::new_v4(),
            caller: "138".into(),
            callee: "400".into(),
            started: Mono::ZERO,
            group: None,
            queued_at: None,
            customer: None,
            tried: Vec::new(),
            transferred_by: None,
            returned: false,
            segments: 0,
            direction: Direction::In,
        }
    }

    #[test]
    fn the_fixed_flow_plays_the_welcome_then_queues() {
        let (c, t) = (call(), Mono::from_secs(1));
        let mut f = CallFlow::welcome_then(Some(GroupNo(3)));
        assert_eq!(f.start(&c, t), vec![IvrAction::Play("welcome".into())]);
        // Keys, data and timers do nothing in it.
        assert!(f.step(IvrInput::Digits("1".into()), &c, t).is_empty());
        assert!(f.step(IvrInput::Data("x".into()), &c, t).is_empty());
        assert!(f.step(IvrInput::Timer, &c, t).is_empty());
        assert_eq!(
            f.step(IvrInput::PlayDone { completed: false }, &c, t),
            vec![IvrAction::Queue(GroupNo(3))],
            "a stopped welcome ends it too"
        );
    }

    #[test]
    fn without_a_group_the_fixed_flow_releases() {
        let c = call();
        let mut f = CallFlow::welcome_then(None);
        f.start(&c, Mono::ZERO);
        assert!(matches!(
            f.step(IvrInput::PlayDone { completed: true }, &c, Mono::ZERO)[..],
            [IvrAction::Release(_)]
        ));
    }
}
