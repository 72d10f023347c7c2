//! The IVR part of an inbound call, where a call flow steps (sans-I/O).
//!
//! A flow hears what happened on the call ([`IvrInput`]: a prompt ended,
//! keys, its timer, data from a client) and answers what to do
//! ([`IvrAction`]: play, arm a timer, queue, release). The leg carries the
//! actions out with the effects it already has, so queues, pops, transfers
//! and recording do not know which flow sent the call. The flow is a
//! [`FlowRun`] of the flow engine (actors/src/flow/); without flow files
//! every call runs the built-in one (the welcome prompt, then the first
//! group: `flow::builtin_default`). docs/architecture.md, "Where the flow
//! engine goes".

use spcti_protocol::ChNum;
use std::collections::BTreeMap;
use std::sync::Arc;

use super::CallInfo;
use crate::clock::{Clock, Mono};
use crate::flow::{Flow, FlowBook, FlowEnv, FlowRun};

pub use crate::flow::{IvrAction, IvrInput, WELCOME_PROMPT};

/// What a flow's `queue` node asked of the call's wait, until the call
/// joins the queue (once the customer lookup answered): the run, still in
/// the leg, then joins it as a [`QueueStay`] (moved, not copied).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueWish {
    pub group: spcti_protocol::GroupNo,
    pub priority: u32,
    pub music: Option<String>,
    pub max_wait: Option<std::time::Duration>,
    pub announce: Option<(std::time::Duration, crate::flow::numbers::Lang)>,
}

impl QueueWish {
    /// The wait this wish asks for, with the run parked at the queue node.
    pub fn stay(self, flow: FlowRun) -> QueueStay {
        QueueStay {
            priority: self.priority,
            music: self.music,
            max_wait: self.max_wait,
            announce: self.announce,
            announcing: Default::default(),
            flow,
        }
    }
}

/// What a flow's `queue` node asked of the call's wait in the queue, and
/// the flow parked at that node (it goes on at `overflow`). While the call
/// keeps it, its run holds the call's variables (`CallInfo::vars`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueStay {
    pub priority: u32,
    pub music: Option<String>,
    pub max_wait: Option<std::time::Duration>,
    /// Position and expected-wait announcements: how often, in which
    /// language.
    pub announce: Option<(std::time::Duration, crate::flow::numbers::Lang)>,
    /// The announcement's prompts still to play.
    pub announcing: std::collections::VecDeque<String>,
    pub flow: FlowRun,
}

/// A voicemail on the call: its file (relative to `data_dir/recordings`),
/// when the recording started, and when it was closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Voicemail {
    pub file: String,
    pub since: Mono,
    pub closed: bool,
}

/// The environment of one flow step, from the server's flows and clock;
/// the globals the step set are stored once it is over (outside the
/// book's read lock).
pub fn with_env<R>(
    flows: &FlowBook,
    now: Mono,
    clock: &Clock,
    f: impl FnOnce(&FlowEnv<'_>) -> R,
) -> R {
    let local = || clock.local_wall();
    let (r, set) = flows.with(|globals, look| {
        let env = FlowEnv {
            now,
            local: &local,
            globals,
            flows: look,
            set: Default::default(),
        };
        let r = f(&env);
        (r, env.set.into_inner())
    });
    for (k, v) in set {
        flows.set_global(&k, &v);
    }
    r
}

/// A call's first variables: `caller`, `callee`, `ch`, `tellguid`.
pub fn call_vars(call: &CallInfo, ch: ChNum) -> BTreeMap<String, String> {
    [
        ("caller", call.caller.clone()),
        ("callee", call.callee.clone()),
        ("ch", ch.0.to_string()),
        ("tellguid", call.guid.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// A run of `flow` for `call` on trunk `ch`.
pub fn run_for(flow: Arc<Flow>, call: &CallInfo, ch: ChNum) -> FlowRun {
    FlowRun::new(flow, call_vars(call, ch))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::builtin_default;
    use crate::records::Direction;
    use spcti_protocol::{GroupNo, TellGuid};

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
            popup: Vec::new(),
            vars: Default::default(),
            stay: None,
            after_talk: false,
            voicemail: None,
        }
    }

    fn step(f: &mut FlowRun, i: IvrInput) -> Vec<IvrAction> {
        let book = FlowBook::default();
        with_env(&book, Mono::ZERO, &Clock::manual(), |env| f.step(i, env))
    }

    #[test]
    fn the_built_in_flow_plays_the_welcome_then_queues() {
        let book = FlowBook::default();
        let mut f = run_for(
            Arc::new(builtin_default(Some(GroupNo(3)))),
            &call(),
            ChNum(2),
        );
        assert_eq!(f.vars["ch"], "2");
        let first = with_env(&book, Mono::ZERO, &Clock::manual(), |env| f.start(env));
        assert_eq!(first, vec![IvrAction::Play("welcome".into())]);
        // Keys, data and timers do not end the welcome.
        assert!(step(&mut f, IvrInput::Digits("1".into())).is_empty());
        assert!(step(&mut f, IvrInput::Data("x".into())).is_empty());
        assert!(step(&mut f, IvrInput::Timer).is_empty());
        assert_eq!(
            step(&mut f, IvrInput::PlayDone { completed: false }),
            vec![IvrAction::Queue {
                group: GroupNo(3),
                priority: 0,
                music: None,
                max_wait: None,
                announce: None
            }],
            "a stopped welcome ends it too"
        );
    }

    #[test]
    fn without_a_group_the_built_in_flow_hangs_up_after_the_welcome() {
        let book = FlowBook::default();
        let mut f = run_for(Arc::new(builtin_default(None)), &call(), ChNum(0));
        with_env(&book, Mono::ZERO, &Clock::manual(), |env| f.start(env));
        assert_eq!(
            step(&mut f, IvrInput::PlayDone { completed: true }),
            vec![IvrAction::Hangup]
        );
    }
}
