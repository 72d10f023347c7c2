//! One call's run through its flow: the interpreter (sans-I/O).
//!
//! The trunk's leg feeds it what happens on the call (`IvrInput`) with the
//! time and the globals ([`FlowEnv`]), and carries out what it answers
//! (`IvrAction`). Nodes that need nothing from the caller (`set`, `branch`,
//! `time`, entering a sub-flow) are passed in the same step, at most
//! [`MAX_HOPS`] of them, so a flow that loops without waiting is stopped
//! instead of spinning a trunk's thread.
//!
//! Prompts: every `Play` the flow asks for ends with exactly one
//! `PlayDone` (played out, stopped, or replaced by the next `Play`: the
//! switch contract, actors/src/switch.rs). The run counts the plays still
//! owed an end and listens only to the end of the latest one, so a prompt
//! cut short by a key never ends the prompt that replaced it.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use chrono::{Datelike, NaiveDateTime, Timelike};
use spcti_protocol::GroupNo;

use super::expr::Vars;
use super::load::digit_prompt;
use super::{Exit, Flow, Node, Say, numbers};
use super::{IvrAction, IvrInput};
use crate::clock::Mono;

/// Nodes passed without waiting, per input, before the run is stopped.
pub const MAX_HOPS: usize = 100;
/// Sub-flows inside sub-flows, at most.
pub const MAX_DEPTH: usize = 8;
/// Keys pressed ahead of a menu or collect, kept at most.
const MAX_TYPE_AHEAD: usize = 32;

/// What a step may read besides the input.
pub struct FlowEnv<'a> {
    pub now: Mono,
    /// The server's local wall time (opening hours are local), asked only
    /// by a `time` node: converting to the local zone is not free, and most
    /// steps never need it.
    pub local: &'a dyn Fn() -> NaiveDateTime,
    pub globals: &'a BTreeMap<String, String>,
    /// The current version of a flow, by name (sub-flows).
    pub flows: &'a dyn Fn(&str) -> Option<Arc<Flow>>,
    /// Globals the step set (`set` with `global.NAME`); the caller stores
    /// them once the step is over (an empty value removes one).
    pub set: std::cell::RefCell<BTreeMap<String, String>>,
}

impl FlowEnv<'_> {
    /// The globals as this step sees them: with what it set.
    pub fn with_globals<R>(&self, f: impl FnOnce(&BTreeMap<String, String>) -> R) -> R {
        let set = self.set.borrow();
        if set.is_empty() {
            return f(self.globals);
        }
        let mut all = self.globals.clone();
        for (k, v) in set.iter() {
            match v.is_empty() {
                true => all.remove(k),
                false => all.insert(k.clone(), v.clone()),
            };
        }
        f(&all)
    }
}

/// A flow version held by a call; equal when it is the same version.
#[derive(Debug, Clone)]
struct Held(Arc<Flow>);

impl PartialEq for Held {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}
impl Eq for Held {}

/// Where in its node the run is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum At {
    /// Between nodes.
    Idle,
    /// A `play` node's prompt.
    Playing {
        barge_in: bool,
    },
    /// A `say` node: the digit prompts still to play.
    Saying(VecDeque<String>),
    MenuPrompt,
    MenuKeys,
    CollectPrompt,
    CollectKeys,
    /// A `wait` node, for data (1026 `ch:`).
    Waiting,
    /// A `voicemail` node's prompt, then the recording (`#` or its
    /// `max_s` ends it; so does the caller hanging up).
    VoicemailPrompt,
    Recording,
    /// An `http` node's request is out.
    Http(u64),
    /// Queued or hung up: the flow is over for this call.
    Done,
}

/// One call's position in its flow, its variables and its keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowRun {
    flow: Held,
    node: String,
    /// Sub-flows entered: the flow to return to, and the exit to take there.
    stack: Vec<(Held, Exit)>,
    /// The call's variables (`caller`, `callee`, `ch`, `tellguid`, `data`,
    /// and the flow's own).
    pub vars: BTreeMap<String, String>,
    at: At,
    /// Plays asked for whose end has not come.
    plays: u32,
    /// Keys pressed before a menu or collect asked (type-ahead).
    keys: String,
    /// Failed tries per menu node (a choice taken clears it).
    tries: BTreeMap<String, u32>,
    /// Keys collected by the current `collect`.
    collected: String,
    timer: bool,
    /// HTTP requests made so far (each answer names its request).
    http_seq: u64,
}

type Out = Vec<IvrAction>;

impl FlowRun {
    /// A run of `flow` for a call with these variables; nothing happens
    /// before [`start`](Self::start).
    pub fn new(flow: Arc<Flow>, vars: BTreeMap<String, String>) -> Self {
        FlowRun {
            node: flow.start.clone(),
            flow: Held(flow),
            stack: Vec::new(),
            vars,
            at: At::Idle,
            plays: 0,
            keys: String::new(),
            tries: BTreeMap::new(),
            collected: String::new(),
            timer: false,
            http_seq: 0,
        }
    }

    /// The flow (top or sub-flow) and node the call is in.
    pub fn position(&self) -> (&str, u32, &str) {
        (&self.flow.0.name, self.flow.0.version, &self.node)
    }

    /// Whether the flow is over (queued or hung up).
    pub fn done(&self) -> bool {
        self.at == At::Done
    }

    /// The variables the top flow marks for the screen pop, with their
    /// values (empty when unset).
    pub fn popup(&self) -> Vec<(String, String)> {
        let top = self.stack.first().map_or(&self.flow, |(f, _)| f);
        top.0
            .popup
            .iter()
            .map(|v| (v.clone(), self.vars.get(v).cloned().unwrap_or_default()))
            .collect()
    }

    /// The call entered the flow.
    pub fn start(&mut self, env: &FlowEnv<'_>) -> Out {
        let mut out = Vec::new();
        let start = self.flow.0.start.clone();
        self.enter(start, env, &mut out, 0);
        out
    }

    /// Jumps to `node` of `flow` (1005): what the call was doing stops.
    pub fn jump(
        &mut self,
        flow: Arc<Flow>,
        node: Option<String>,
        env: &FlowEnv<'_>,
    ) -> Result<Out, String> {
        let node = node.unwrap_or_else(|| flow.start.clone());
        if !flow.nodes.contains_key(&node) {
            return Err(format!("flow `{}` has no node `{node}`", flow.name));
        }
        let mut out = self.interrupt();
        self.stack.clear();
        self.tries.clear();
        self.keys.clear();
        self.flow = Held(flow);
        self.enter(node, env, &mut out, 0);
        Ok(out)
    }

    /// A prompt the flow did not ask for (the queue's music) was stopped
    /// as the call came back to the flow: its end is still to come and is
    /// not the end of the flow's next prompt.
    pub fn owe_play_done(&mut self) {
        self.plays += 1;
    }

    /// Whether the queue node the call waited at goes on when the agent
    /// hangs up first (`next`).
    pub fn has_next(&self) -> bool {
        matches!(
            self.node(),
            Some(Node::Queue { next: Some(_), .. } | Node::Transfer { next: Some(_), .. })
        )
    }

    /// The agent hung up first: the caller goes on at the queue node's
    /// `next` (the survey).
    pub fn after_agent(&mut self, env: &FlowEnv<'_>) -> Out {
        let mut out = Vec::new();
        let next = self.exit(|n| match n {
            Node::Queue { next, .. } | Node::Transfer { next, .. } => next.clone(),
            _ => None,
        });
        self.at = At::Idle;
        self.keys.clear();
        self.goto(next, env, &mut out, 0);
        out
    }

    /// Whether the queue node the call waits at has an `overflow` exit
    /// (so nobody logged in sends the caller on rather than waiting).
    pub fn has_overflow(&self) -> bool {
        matches!(
            self.node(),
            Some(Node::Queue {
                overflow: Some(_),
                ..
            })
        )
    }

    /// The call left the queue of its `queue` node (waited `max_wait`, or
    /// nobody is logged in): the flow goes on at `overflow`.
    pub fn overflow(&mut self, env: &FlowEnv<'_>) -> Out {
        let mut out = Vec::new();
        let next = self.exit(|n| match n {
            Node::Queue { overflow, .. } => overflow.clone(),
            _ => None,
        });
        self.at = At::Idle;
        self.goto(next, env, &mut out, 0);
        out
    }

    /// Whether the call waits on a `transfer` node (put through, or being
    /// put through, to its target).
    pub fn at_transfer(&self) -> bool {
        self.at == At::Done && matches!(self.node(), Some(Node::Transfer { .. }))
    }

    /// The transfer's target could not be reached: the flow goes on at
    /// the node's `fail`.
    pub fn transfer_failed(&mut self, env: &FlowEnv<'_>) -> Out {
        let mut out = Vec::new();
        if !self.at_transfer() {
            return out;
        }
        let fail = self.exit(|n| match n {
            Node::Transfer { fail, .. } => fail.clone(),
            _ => None,
        });
        self.at = At::Idle;
        self.keys.clear();
        self.goto(fail, env, &mut out, 0);
        out
    }

    /// Stops what the current node was doing (its prompt, its timer).
    fn interrupt(&mut self) -> Out {
        let mut out = Vec::new();
        if self.plays > 0
            && matches!(
                self.at,
                At::Playing { .. } | At::Saying(_) | At::MenuPrompt | At::CollectPrompt
            )
        {
            out.push(IvrAction::StopPlay);
        }
        if self.at == At::Recording {
            // A message cut short by a jump is kept as it is.
            out.push(IvrAction::StopRecording);
        }
        self.cancel_timer(&mut out);
        self.at = At::Idle;
        out
    }

    /// Something happened on the call.
    pub fn step(&mut self, input: IvrInput, env: &FlowEnv<'_>) -> Out {
        let mut out = Vec::new();
        match input {
            IvrInput::PlayDone { .. } => {
                self.plays = self.plays.saturating_sub(1);
                if self.plays == 0 {
                    self.prompt_ended(env, &mut out);
                }
            }
            IvrInput::Digits(d) => {
                for k in d.chars() {
                    self.key(k, env, &mut out);
                }
            }
            IvrInput::Timer => {
                self.timer = false;
                self.timed_out(env, &mut out);
            }
            IvrInput::HttpDone { seq, result } => {
                if self.at == At::Http(seq) {
                    self.http_done(result, env, &mut out);
                }
            }
            IvrInput::Data(d) => {
                self.vars.insert("data".into(), d);
                if self.at == At::Waiting {
                    self.cancel_timer(&mut out);
                    let next = self.exit(|n| match n {
                        Node::Wait { next, .. } => next.clone(),
                        _ => None,
                    });
                    self.goto(next, env, &mut out, 0);
                }
            }
        }
        out
    }

    fn node(&self) -> Option<&Node> {
        self.flow.0.nodes.get(&self.node)
    }

    fn exit(&self, pick: impl Fn(&Node) -> Exit) -> Exit {
        self.node().and_then(pick)
    }

    fn play(&mut self, prompt: String, out: &mut Out) {
        self.plays += 1;
        out.push(IvrAction::Play(prompt));
    }

    fn start_timer(&mut self, d: std::time::Duration, out: &mut Out) {
        self.timer = true;
        out.push(IvrAction::StartTimer(d));
    }

    fn cancel_timer(&mut self, out: &mut Out) {
        if std::mem::take(&mut self.timer) {
            out.push(IvrAction::CancelTimer);
        }
    }

    /// Follows an exit: a node, or the end of the (sub-)flow.
    fn goto(&mut self, exit: Exit, env: &FlowEnv<'_>, out: &mut Out, hops: usize) {
        match exit {
            Some(node) => self.enter(node, env, out, hops + 1),
            None => match self.stack.pop() {
                // A sub-flow ended: its caller goes on at the subflow's `next`.
                Some((flow, next)) => {
                    self.flow = flow;
                    self.goto(next, env, out, hops + 1);
                }
                None => {
                    self.at = At::Done;
                    self.cancel_timer(out);
                    out.push(IvrAction::Hangup);
                }
            },
        }
    }

    fn fail(&mut self, why: String, out: &mut Out) {
        self.at = At::Done;
        self.cancel_timer(out);
        out.push(IvrAction::Release(why));
    }

    fn enter(&mut self, id: String, env: &FlowEnv<'_>, out: &mut Out, hops: usize) {
        if hops > MAX_HOPS {
            let why = format!(
                "flow `{}` passed {MAX_HOPS} nodes without waiting for the caller (at `{id}`); releasing the call",
                self.flow.0.name
            );
            return self.fail(why, out);
        }
        let flow = Arc::clone(&self.flow.0);
        let Some(node) = flow.nodes.get(&id) else {
            let why = format!(
                "flow `{}` has no node `{id}`; releasing the call",
                flow.name
            );
            return self.fail(why, out);
        };
        self.node = id;
        self.at = At::Idle;
        match node {
            Node::Play {
                prompt,
                barge_in,
                next,
            } => {
                if *barge_in && !self.keys.is_empty() {
                    // Keys pressed ahead skip it, and are kept for what follows.
                    return self.goto(next.clone(), env, out, hops);
                }
                self.play(prompt.clone(), out);
                self.at = At::Playing {
                    barge_in: *barge_in,
                };
            }
            Node::Say { say, next } => {
                let t = match say {
                    Say::Digits(t) | Say::Number(t, _) => t,
                };
                let text = env.with_globals(|g| {
                    t.fill(&Vars {
                        call: &self.vars,
                        globals: g,
                    })
                });
                let mut left: VecDeque<String> = match say {
                    Say::Digits(_) => text.chars().filter_map(digit_prompt).collect(),
                    Say::Number(_, lang) => {
                        // The digits in the text, as one number; a number
                        // too long to read as such is read digit by digit.
                        let digits: String = text.chars().filter(char::is_ascii_digit).collect();
                        match digits.parse::<u64>() {
                            Ok(n) if n <= lang.max() => numbers::speak(n, *lang).into(),
                            _ => digits.chars().filter_map(digit_prompt).collect(),
                        }
                    }
                };
                match left.pop_front() {
                    None => self.goto(next.clone(), env, out, hops),
                    Some(first) => {
                        self.play(first, out);
                        self.at = At::Saying(left);
                    }
                }
            }
            Node::Menu { prompt, .. } => {
                if let Some(k) = self.take_key() {
                    return self.menu_key(k, env, out, hops);
                }
                self.play(prompt.clone(), out);
                self.at = At::MenuPrompt;
            }
            Node::Collect { prompt, .. } => {
                self.collected.clear();
                if !self.keys.is_empty() {
                    self.at = At::CollectKeys;
                    while let Some(k) = self.take_key() {
                        self.collect_key(k, env, out, hops);
                        if self.at != At::CollectKeys {
                            return;
                        }
                    }
                    return;
                }
                match prompt {
                    Some(p) => {
                        self.play(p.clone(), out);
                        self.at = At::CollectPrompt;
                    }
                    None => self.collect_wait(out),
                }
            }
            Node::Set { vars, next } => {
                for (name, e) in vars {
                    let v = env.with_globals(|g| {
                        e.text(&Vars {
                            call: &self.vars,
                            globals: g,
                        })
                    });
                    let v = v.unwrap_or_else(|why| {
                        tracing::warn!(flow = %flow.name, node = %self.node, var = %name, "set: {why}");
                        String::new()
                    });
                    match name.strip_prefix("global.") {
                        // Seen by the rest of this step at once; stored for
                        // every flow when the step is over.
                        Some(g) => {
                            env.set.borrow_mut().insert(g.to_owned(), v);
                        }
                        None => {
                            self.vars.insert(name.clone(), v);
                        }
                    }
                }
                self.goto(next.clone(), env, out, hops);
            }
            Node::Branch {
                cond,
                then,
                otherwise,
            } => {
                let t = env.with_globals(|g| {
                    cond.truth(&Vars {
                        call: &self.vars,
                        globals: g,
                    })
                });
                let t = t.unwrap_or_else(|why| {
                    tracing::warn!(flow = %flow.name, node = %self.node, "branch takes `else`: {why}");
                    false
                });
                self.goto(
                    if t { then.clone() } else { otherwise.clone() },
                    env,
                    out,
                    hops,
                );
            }
            Node::Time {
                open,
                closed_if,
                open_next,
                closed_next,
            } => {
                let local = (env.local)();
                let day = local.weekday().num_days_from_monday();
                let minute = (local.hour() * 60 + local.minute()) as u16;
                let in_hours = open.is_empty()
                    || open
                        .iter()
                        .any(|w| w.days & (1 << day) != 0 && (w.from..w.to).contains(&minute));
                let closed = closed_if.as_ref().is_some_and(|e| {
                    env.with_globals(|g| e.truth(&Vars { call: &self.vars, globals: g }))
                        .unwrap_or_else(|why| {
                            tracing::warn!(flow = %flow.name, node = %self.node, "closed_if counts as false: {why}");
                            false
                        })
                });
                let next = if in_hours && !closed {
                    open_next
                } else {
                    closed_next
                };
                self.goto(next.clone(), env, out, hops);
            }
            Node::Queue {
                group,
                priority,
                music,
                max_wait,
                announce,
                ..
            } => {
                self.at = At::Done;
                self.cancel_timer(out);
                out.push(IvrAction::Queue {
                    group: GroupNo(group.0),
                    priority: *priority,
                    music: music.clone(),
                    max_wait: *max_wait,
                    announce: *announce,
                });
            }
            Node::Transfer { to, fail, .. } => {
                self.cancel_timer(out);
                let to = env.with_globals(|g| {
                    to.fill(&Vars {
                        call: &self.vars,
                        globals: g,
                    })
                });
                let to = to.trim();
                if to.is_empty() {
                    // Nowhere to go (an empty variable): as unreachable.
                    let fail = fail.clone();
                    return self.goto(fail, env, out, hops);
                }
                self.at = At::Done;
                out.push(IvrAction::Transfer(to.to_owned()));
            }
            Node::Subflow { flow: name, next } => {
                if self.stack.len() >= MAX_DEPTH {
                    let why = format!(
                        "sub-flows nested deeper than {MAX_DEPTH} at `{name}`; releasing the call"
                    );
                    return self.fail(why, out);
                }
                let Some(sub) = (env.flows)(name) else {
                    let why = format!("no flow `{name}` to enter; releasing the call");
                    return self.fail(why, out);
                };
                let start = sub.start.clone();
                let parent = std::mem::replace(&mut self.flow, Held(sub));
                self.stack.push((parent, next.clone()));
                self.enter(start, env, out, hops + 1);
            }
            Node::Wait { timeout, .. } => {
                self.start_timer(*timeout, out);
                self.at = At::Waiting;
            }
            Node::Http {
                method,
                url,
                body,
                timeout,
                ..
            } => {
                self.http_seq += 1;
                let (url, body) = env.with_globals(|g| {
                    let v = Vars {
                        call: &self.vars,
                        globals: g,
                    };
                    (url.fill(&v), body.as_ref().map(|b| b.fill(&v)))
                });
                out.push(IvrAction::Http(super::HttpRequest {
                    seq: self.http_seq,
                    method: method.clone(),
                    url,
                    body,
                    timeout: *timeout,
                }));
                self.at = At::Http(self.http_seq);
            }
            Node::Voicemail { prompt, .. } => {
                // Keys pressed before are not part of the message.
                self.keys.clear();
                match prompt {
                    Some(p) => {
                        self.play(p.clone(), out);
                        self.at = At::VoicemailPrompt;
                    }
                    None => self.start_recording(out),
                }
            }
            Node::Hangup => {
                self.at = At::Done;
                self.cancel_timer(out);
                out.push(IvrAction::Hangup);
            }
        }
    }

    fn take_key(&mut self) -> Option<char> {
        (!self.keys.is_empty()).then(|| self.keys.remove(0))
    }

    fn prompt_ended(&mut self, env: &FlowEnv<'_>, out: &mut Out) {
        match &mut self.at {
            At::Playing { .. } => {
                let next = self.exit(|n| match n {
                    Node::Play { next, .. } => next.clone(),
                    _ => None,
                });
                self.goto(next, env, out, 0);
            }
            At::Saying(left) => match left.pop_front() {
                Some(p) => self.play(p, out),
                None => {
                    let next = self.exit(|n| match n {
                        Node::Say { next, .. } => next.clone(),
                        _ => None,
                    });
                    self.goto(next, env, out, 0);
                }
            },
            At::MenuPrompt => {
                if let Some(Node::Menu { timeout, .. }) = self.node() {
                    let t = *timeout;
                    self.start_timer(t, out);
                    self.at = At::MenuKeys;
                }
            }
            At::CollectPrompt => self.collect_wait(out),
            At::VoicemailPrompt => self.start_recording(out),
            _ => {}
        }
    }

    /// The `http` node's answer: its variables from the JSON, then `next`;
    /// no answer (an error, a timeout, not 2xx, not JSON): `fail`.
    fn http_done(
        &mut self,
        result: Result<serde_json::Value, String>,
        env: &FlowEnv<'_>,
        out: &mut Out,
    ) {
        let Some(Node::Http {
            vars, next, fail, ..
        }) = self.node().cloned()
        else {
            return;
        };
        self.at = At::Idle;
        match result {
            Ok(json) => {
                for (name, pointer) in vars {
                    let v = match json.pointer(&pointer) {
                        Some(serde_json::Value::String(s)) => s.clone(),
                        Some(serde_json::Value::Null) | None => String::new(),
                        Some(other) => other.to_string(),
                    };
                    self.vars.insert(name, v);
                }
                self.goto(next, env, out, 0);
            }
            Err(why) => {
                self.vars.insert("http_error".into(), why);
                self.goto(fail, env, out, 0);
            }
        }
    }

    fn start_recording(&mut self, out: &mut Out) {
        if let Some(Node::Voicemail { max, .. }) = self.node() {
            let max = *max;
            out.push(IvrAction::StartRecording { max });
            self.start_timer(max, out);
            self.at = At::Recording;
        }
    }

    /// The message is over (`#`, or `max_s`): kept, and the flow goes on.
    fn stop_recording(&mut self, env: &FlowEnv<'_>, out: &mut Out) {
        self.cancel_timer(out);
        out.push(IvrAction::StopRecording);
        let next = self.exit(|n| match n {
            Node::Voicemail { next, .. } => next.clone(),
            _ => None,
        });
        self.goto(next, env, out, 0);
    }

    fn collect_wait(&mut self, out: &mut Out) {
        if let Some(Node::Collect { timeout, .. }) = self.node() {
            let t = *timeout;
            self.cancel_timer(out);
            self.start_timer(t, out);
            self.at = At::CollectKeys;
        }
    }

    fn key(&mut self, k: char, env: &FlowEnv<'_>, out: &mut Out) {
        match self.at {
            At::Playing { barge_in: true } => {
                out.push(IvrAction::StopPlay);
                self.push_key(k);
                let next = self.exit(|n| match n {
                    Node::Play { next, .. } => next.clone(),
                    _ => None,
                });
                self.goto(next, env, out, 0);
            }
            At::MenuPrompt => {
                out.push(IvrAction::StopPlay);
                self.menu_key(k, env, out, 0);
            }
            At::MenuKeys => {
                self.cancel_timer(out);
                self.menu_key(k, env, out, 0);
            }
            At::CollectPrompt => {
                out.push(IvrAction::StopPlay);
                self.at = At::CollectKeys;
                self.collect_key(k, env, out, 0);
            }
            At::CollectKeys => self.collect_key(k, env, out, 0),
            // `#` ends the message; other keys are part of it.
            At::Recording if k == '#' => self.stop_recording(env, out),
            At::Recording | At::VoicemailPrompt | At::Done => {}
            // Playing without barge-in, saying digits, waiting for data:
            // kept for the next menu or collect.
            _ => self.push_key(k),
        }
    }

    fn push_key(&mut self, k: char) {
        if self.keys.len() < MAX_TYPE_AHEAD {
            self.keys.push(k);
        }
    }

    fn menu_key(&mut self, k: char, env: &FlowEnv<'_>, out: &mut Out, hops: usize) {
        let Some(Node::Menu {
            choices, invalid, ..
        }) = self.node()
        else {
            return;
        };
        match choices.get(&k) {
            Some(to) => {
                let to = to.clone();
                self.tries.remove(&self.node);
                self.enter(to, env, out, hops + 1);
            }
            None => {
                let invalid = invalid.clone();
                // Keys mashed after a wrong one are not taken as answers.
                self.keys.clear();
                if self.menu_failed(env, out, hops) {
                    // Without an `invalid` node the menu plays again.
                    let again = invalid.or_else(|| Some(self.node.clone()));
                    self.goto(again, env, out, hops);
                }
            }
        }
    }

    /// Counts a failed try; `false` when the tries are used up (the
    /// run went to `fail`).
    fn menu_failed(&mut self, env: &FlowEnv<'_>, out: &mut Out, hops: usize) -> bool {
        let Some(Node::Menu { retries, fail, .. }) = self.node() else {
            return false;
        };
        let (retries, fail) = (*retries, fail.clone());
        let n = self.tries.entry(self.node.clone()).or_default();
        *n += 1;
        if *n > retries {
            self.tries.remove(&self.node);
            self.goto(fail, env, out, hops);
            return false;
        }
        true
    }

    fn collect_key(&mut self, k: char, env: &FlowEnv<'_>, out: &mut Out, hops: usize) {
        let Some(Node::Collect {
            max, terminator, ..
        }) = self.node()
        else {
            return;
        };
        let (max, term) = (*max, *terminator);
        if Some(k) == term {
            return self.collect_end(env, out, hops);
        }
        self.collected.push(k);
        if self.collected.len() >= max {
            return self.collect_end(env, out, hops);
        }
        // Each key gives the caller the whole timeout again for the next.
        self.collect_wait(out);
    }

    fn collect_end(&mut self, env: &FlowEnv<'_>, out: &mut Out, hops: usize) {
        self.cancel_timer(out);
        let Some(Node::Collect {
            var,
            min,
            next,
            fail,
            ..
        }) = self.node()
        else {
            return;
        };
        let (var, min, next, fail) = (var.clone(), *min, next.clone(), fail.clone());
        let got = std::mem::take(&mut self.collected);
        if got.len() >= min {
            self.vars.insert(var, got);
            self.goto(next, env, out, hops);
        } else {
            self.goto(fail, env, out, hops);
        }
    }

    fn timed_out(&mut self, env: &FlowEnv<'_>, out: &mut Out) {
        match self.at.clone() {
            // A failed try with tries left plays the menu again.
            At::MenuKeys if self.menu_failed(env, out, 0) => {
                let me = self.node.clone();
                self.enter(me, env, out, 1);
            }
            // Time ran out: enough keys are an answer, too few a failure.
            At::CollectKeys => self.collect_end(env, out, 0),
            At::Recording => self.stop_recording(env, out),
            At::Waiting => {
                let fail = self.exit(|n| match n {
                    Node::Wait { fail, .. } => fail.clone(),
                    _ => None,
                });
                self.goto(fail, env, out, 0);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::load::{CheckContext, parse_flow};
    use IvrAction::*;
    use IvrInput::*;
    use std::time::Duration;

    fn flow(name: &str, text: &str) -> Arc<Flow> {
        let cx = CheckContext {
            group: &|_| true,
            prompt: &|_| true,
            flow: &|_| true,
        };
        Arc::new(parse_flow(name, text, 1, &cx).unwrap_or_else(|e| panic!("{e:?}")))
    }

    struct T {
        run: FlowRun,
        globals: BTreeMap<String, String>,
        flows: BTreeMap<String, Arc<Flow>>,
        local: NaiveDateTime,
    }

    impl T {
        fn new(text: &str) -> Self {
            let f = flow("main", text);
            let vars = [("caller".to_owned(), "138".to_owned())].into();
            T {
                run: FlowRun::new(f, vars),
                globals: BTreeMap::new(),
                flows: BTreeMap::new(),
                // A Wednesday, 10:30.
                local: chrono::NaiveDate::from_ymd_opt(2026, 12, 2)
                    .unwrap()
                    .and_hms_opt(10, 30, 0)
                    .unwrap(),
            }
        }
        fn with<R>(&mut self, f: impl FnOnce(&mut FlowRun, &FlowEnv<'_>) -> R) -> R {
            let flows = self.flows.clone();
            let look = move |n: &str| flows.get(n).cloned();
            let local = self.local;
            let at = move || local;
            let env = FlowEnv {
                now: Mono::ZERO,
                local: &at,
                globals: &self.globals,
                flows: &look,
                set: Default::default(),
            };
            f(&mut self.run, &env)
        }
        fn start(&mut self) -> Out {
            self.with(|r, e| r.start(e))
        }
        fn step(&mut self, i: IvrInput) -> Out {
            self.with(|r, e| r.step(i, e))
        }
        fn keys(&mut self, k: &str) -> Out {
            self.step(Digits(k.into()))
        }
        fn done(&mut self) -> Out {
            self.step(PlayDone { completed: true })
        }
    }

    const MENU: &str = r#"{"start":"m","nodes":{
        "m":{"kind":"menu","prompt":"menu","timeout_s":5,"retries":1,
             "choices":{"1":"q1","2":"q2"},"invalid":"sorry","fail":"bye"},
        "sorry":{"kind":"play","prompt":"invalid","next":"m"},
        "q1":{"kind":"queue","group":1},
        "q2":{"kind":"queue","group":2,"priority":3},
        "bye":{"kind":"hangup"}}}"#;

    #[test]
    fn a_menu_takes_a_choice_after_its_prompt_or_during_it() {
        let mut t = T::new(MENU);
        assert_eq!(t.start(), vec![Play("menu".into())]);
        assert_eq!(t.done(), vec![StartTimer(Duration::from_secs(5))]);
        assert_eq!(
            t.keys("2"),
            vec![
                CancelTimer,
                Queue {
                    group: GroupNo(2),
                    priority: 3,
                    music: None,
                    max_wait: None,
                    announce: None
                }
            ]
        );
        assert!(t.run.done());
        // A key during the prompt stops it and counts at once.
        let mut t = T::new(MENU);
        t.start();
        assert_eq!(
            t.keys("1"),
            vec![
                StopPlay,
                Queue {
                    group: GroupNo(1),
                    priority: 0,
                    music: None,
                    max_wait: None,
                    announce: None
                }
            ]
        );
    }

    #[test]
    fn an_invalid_key_goes_to_invalid_and_retries_run_out_to_fail() {
        let mut t = T::new(MENU);
        t.start();
        t.done();
        // Wrong key: the `invalid` node plays, then the menu again.
        assert_eq!(t.keys("9"), vec![CancelTimer, Play("invalid".into())]);
        assert_eq!(t.done(), vec![Play("menu".into())]);
        assert_eq!(t.done(), vec![StartTimer(Duration::from_secs(5))]);
        // No key: the second failure uses up the one retry.
        assert_eq!(t.step(Timer), vec![Hangup]);
        assert!(t.run.done());
    }

    #[test]
    fn a_menu_timeout_replays_it_and_a_good_key_clears_the_count() {
        let mut t = T::new(MENU);
        t.start();
        t.done();
        assert_eq!(t.step(Timer), vec![Play("menu".into())]);
        t.done();
        assert_eq!(
            t.keys("1"),
            vec![
                CancelTimer,
                Queue {
                    group: GroupNo(1),
                    priority: 0,
                    music: None,
                    max_wait: None,
                    announce: None
                }
            ]
        );
    }

    #[test]
    fn the_end_of_a_stopped_prompt_is_not_the_end_of_the_next() {
        let mut t = T::new(MENU);
        t.start();
        // Wrong key during the prompt: stop it, play `invalid`.
        assert_eq!(t.keys("7"), vec![StopPlay, Play("invalid".into())]);
        // The stopped menu's end arrives first: nothing happens.
        assert!(t.step(PlayDone { completed: false }).is_empty());
        assert_eq!(t.done(), vec![Play("menu".into())]);
    }

    const COLLECT: &str = r#"{"start":"c","popup":["id"],"nodes":{
        "c":{"kind":"collect","prompt":"enter","var":"id","min":3,"max":6,"timeout_s":4,"next":"b","fail":"f"},
        "b":{"kind":"branch","if":"id.starts_with(\"9\")","then":"vip","else":"std"},
        "vip":{"kind":"queue","group":2},
        "std":{"kind":"queue","group":1},
        "f":{"kind":"play","prompt":"sorry"}}}"#;

    #[test]
    fn collect_ends_on_its_terminator_and_branches_on_the_digits() {
        let mut t = T::new(COLLECT);
        t.start();
        // Keys during the prompt stop it; each key re-arms the timeout.
        assert_eq!(
            t.keys("9"),
            vec![StopPlay, StartTimer(Duration::from_secs(4))]
        );
        assert_eq!(
            t.keys("12"),
            vec![
                CancelTimer,
                StartTimer(Duration::from_secs(4)),
                CancelTimer,
                StartTimer(Duration::from_secs(4))
            ]
        );
        assert_eq!(
            t.keys("#"),
            vec![
                CancelTimer,
                Queue {
                    group: GroupNo(2),
                    priority: 0,
                    music: None,
                    max_wait: None,
                    announce: None
                }
            ]
        );
        assert_eq!(t.run.vars["id"], "912");
        assert_eq!(t.run.popup(), vec![("id".to_owned(), "912".to_owned())]);
    }

    #[test]
    fn collect_timeout_takes_enough_digits_and_fails_too_few() {
        let mut t = T::new(COLLECT);
        t.start();
        t.done();
        t.keys("1234");
        assert_eq!(
            t.step(Timer),
            vec![Queue {
                group: GroupNo(1),
                priority: 0,
                music: None,
                max_wait: None,
                announce: None
            }]
        );
        assert_eq!(t.run.vars["id"], "1234");
        let mut t = T::new(COLLECT);
        t.start();
        t.done();
        t.keys("12");
        // Too few: `fail` plays its prompt, and the flow ends there.
        assert_eq!(t.step(Timer), vec![Play("sorry".into())]);
        assert_eq!(t.done(), vec![Hangup]);
        // The terminator with too few keys fails as well; max ends at once.
        let mut t = T::new(COLLECT);
        t.start();
        t.done();
        assert_eq!(t.keys("1#").last(), Some(&Play("sorry".into())));
        let mut t = T::new(COLLECT);
        t.start();
        t.done();
        assert_eq!(
            t.keys("123456").last(),
            Some(&Queue {
                group: GroupNo(1),
                priority: 0,
                music: None,
                max_wait: None,
                announce: None
            })
        );
    }

    #[test]
    fn keys_pressed_ahead_answer_the_next_menu() {
        let mut t = T::new(
            r#"{"start":"w","nodes":{
            "w":{"kind":"play","prompt":"welcome","next":"m"},
            "m":{"kind":"menu","prompt":"menu","choices":{"2":"q"}},
            "q":{"kind":"queue","group":1}}}"#,
        );
        t.start();
        // No barge-in: the welcome plays on; the key waits.
        assert!(t.keys("2").is_empty());
        assert_eq!(
            t.done(),
            vec![Queue {
                group: GroupNo(1),
                priority: 0,
                music: None,
                max_wait: None,
                announce: None
            }]
        );
    }

    #[test]
    fn set_time_and_globals_route_without_waiting() {
        let text = r#"{"start":"s","nodes":{
            "s":{"kind":"set","vars":{"tag":"caller + \"-x\""},"next":"h"},
            "h":{"kind":"time","open":[{"days":"mon-fri","from":"09:00","to":"18:00"}],
                 "closed_if":"global.holiday == \"1\"","open_next":"o","closed_next":"c"},
            "o":{"kind":"queue","group":1},
            "c":{"kind":"hangup"}}}"#;
        let mut t = T::new(text);
        assert_eq!(
            t.start(),
            vec![Queue {
                group: GroupNo(1),
                priority: 0,
                music: None,
                max_wait: None,
                announce: None
            }]
        );
        assert_eq!(t.run.vars["tag"], "138-x");
        // A holiday closes the open hours.
        let mut t = T::new(text);
        t.globals.insert("holiday".into(), "1".into());
        assert_eq!(t.start(), vec![Hangup]);
        // Saturday is outside them.
        let mut t = T::new(text);
        t.local = chrono::NaiveDate::from_ymd_opt(2026, 12, 5)
            .unwrap()
            .and_hms_opt(10, 0, 0)
            .unwrap();
        assert_eq!(t.start(), vec![Hangup]);
        // 18:00 is closed (`to` is exclusive).
        let mut t = T::new(text);
        t.local = t.local.date().and_hms_opt(18, 0, 0).unwrap();
        assert_eq!(t.start(), vec![Hangup]);
    }

    #[test]
    fn a_subflow_returns_to_its_callers_next() {
        let mut t = T::new(
            r#"{"start":"s","nodes":{
            "s":{"kind":"subflow","flow":"survey","next":"bye"},
            "bye":{"kind":"play","prompt":"goodbye"}}}"#,
        );
        t.flows.insert(
            "survey".into(),
            flow(
                "survey",
                r#"{"start":"ask","nodes":{
                "ask":{"kind":"collect","prompt":"rate","var":"score","max":1,"next":"thanks"},
                "thanks":{"kind":"play","prompt":"thanks"}}}"#,
            ),
        );
        assert_eq!(t.start(), vec![Play("rate".into())]);
        assert_eq!(t.run.position().0, "survey");
        assert_eq!(t.keys("5"), vec![StopPlay, Play("thanks".into())]);
        assert_eq!(t.run.vars["score"], "5");
        assert!(
            t.step(PlayDone { completed: false }).is_empty(),
            "`rate`, stopped"
        );
        assert_eq!(
            t.done(),
            vec![Play("goodbye".into())],
            "thanks ended: back in main"
        );
        assert_eq!(t.run.position(), ("main", 1, "bye"));
        assert_eq!(t.done(), vec![Hangup]);
    }

    #[test]
    fn a_missing_subflow_or_a_loop_without_waiting_releases_the_call() {
        let mut t = T::new(r#"{"start":"s","nodes":{"s":{"kind":"subflow","flow":"gone"}}}"#);
        assert!(matches!(&t.start()[..], [Release(why)] if why.contains("gone")));
        let mut t = T::new(
            r#"{"start":"a","nodes":{
            "a":{"kind":"set","vars":{"n":"1"},"next":"b"},
            "b":{"kind":"branch","if":"true","then":"a"}}}"#,
        );
        assert!(matches!(&t.start()[..], [Release(why)] if why.contains("without waiting")));
    }

    #[test]
    fn wait_continues_on_data_and_fails_on_its_timeout() {
        let text = r#"{"start":"w","nodes":{
            "w":{"kind":"wait","timeout_s":10,"next":"ok","fail":"no"},
            "ok":{"kind":"queue","group":1},
            "no":{"kind":"hangup"}}}"#;
        let mut t = T::new(text);
        assert_eq!(t.start(), vec![StartTimer(Duration::from_secs(10))]);
        assert_eq!(
            t.step(Data("42".into())),
            vec![
                CancelTimer,
                Queue {
                    group: GroupNo(1),
                    priority: 0,
                    music: None,
                    max_wait: None,
                    announce: None
                }
            ]
        );
        assert_eq!(t.run.vars["data"], "42");
        let mut t = T::new(text);
        t.start();
        assert_eq!(t.step(Timer), vec![Hangup]);
    }

    #[test]
    fn set_can_write_a_global_that_the_same_step_already_reads() {
        let mut t = T::new(
            r#"{"start":"s","nodes":{
            "s":{"kind":"set","vars":{"global.open":"\"1\""},"next":"b"},
            "b":{"kind":"branch","if":"global.open == \"1\"","then":"q","else":"h"},
            "q":{"kind":"queue","group":1},"h":{"kind":"hangup"}}}"#,
        );
        let (out, set) = t.with(|r, e| (r.start(e), e.set.borrow().clone()));
        assert_eq!(
            out,
            vec![Queue {
                group: GroupNo(1),
                priority: 0,
                music: None,
                max_wait: None,
                announce: None
            }]
        );
        assert_eq!(set["open"], "1");
        assert!(!t.run.vars.contains_key("global.open"));
    }

    #[test]
    fn voicemail_records_after_its_prompt_until_hash_or_its_limit() {
        let text = r#"{"start":"v","nodes":{
            "v":{"kind":"voicemail","prompt":"beep","max_s":60,"next":"bye"},
            "bye":{"kind":"play","prompt":"goodbye"}}}"#;
        let mut t = T::new(text);
        assert_eq!(t.start(), vec![Play("beep".into())]);
        // Keys during the prompt are not the end of a message not begun.
        assert!(t.keys("#").is_empty());
        let max = Duration::from_secs(60);
        assert_eq!(t.done(), vec![StartRecording { max }, StartTimer(max)]);
        assert!(t.keys("12").is_empty(), "keys are part of the message");
        assert_eq!(
            t.keys("#"),
            vec![CancelTimer, StopRecording, Play("goodbye".into())]
        );
        // The limit ends it too.
        let mut t = T::new(text);
        t.start();
        t.done();
        assert_eq!(t.step(Timer), vec![StopRecording, Play("goodbye".into())]);
    }

    #[test]
    fn http_fills_variables_from_the_answer_or_takes_fail() {
        let text = r#"{"start":"h","nodes":{
            "h":{"kind":"http","url":"http://crm.local/c?n={caller}","timeout_ms":500,
                 "vars":{"level":"/customer/level","name":"/customer/name"},"next":"q","fail":"f"},
            "q":{"kind":"queue","group":1},
            "f":{"kind":"hangup"}}}"#;
        let mut t = T::new(text);
        let out = t.start();
        let [Http(req)] = &out[..] else {
            panic!("{out:?}")
        };
        assert_eq!(req.url, "http://crm.local/c?n=138");
        assert_eq!(
            (req.method.as_str(), req.timeout),
            ("GET", Duration::from_millis(500))
        );
        // An answer to another request is not this one's.
        let stale = HttpDone {
            seq: req.seq + 1,
            result: Ok(serde_json::json!({})),
        };
        assert!(t.step(stale).is_empty());
        let json = serde_json::json!({"customer": {"level": 3, "name": "Li"}});
        let done = HttpDone {
            seq: req.seq,
            result: Ok(json),
        };
        assert_eq!(
            t.step(done),
            vec![Queue {
                group: GroupNo(1),
                priority: 0,
                music: None,
                max_wait: None,
                announce: None
            }]
        );
        assert_eq!(
            (t.run.vars["level"].as_str(), t.run.vars["name"].as_str()),
            ("3", "Li")
        );
        let mut t = T::new(text);
        let out = t.start();
        let [Http(req)] = &out[..] else {
            panic!("{out:?}")
        };
        let failed = HttpDone {
            seq: req.seq,
            result: Err("HTTP 500".into()),
        };
        assert_eq!(t.step(failed), vec![Hangup]);
        assert_eq!(t.run.vars["http_error"], "HTTP 500");
    }

    #[test]
    fn say_speaks_each_digit_then_goes_on() {
        let mut t = T::new(
            r#"{"start":"s","nodes":{"s":{"kind":"say","digits":"{caller}#","next":"q"},
            "q":{"kind":"queue","group":1}}}"#,
        );
        assert_eq!(t.start(), vec![Play("digit_1".into())]);
        assert_eq!(t.done(), vec![Play("digit_3".into())]);
        assert_eq!(t.done(), vec![Play("digit_8".into())]);
        assert_eq!(t.done(), vec![Play("digit_hash".into())]);
        assert_eq!(
            t.done(),
            vec![Queue {
                group: GroupNo(1),
                priority: 0,
                music: None,
                max_wait: None,
                announce: None
            }]
        );
    }

    #[test]
    fn a_jump_stops_the_node_and_enters_the_other_flow() {
        let mut t = T::new(MENU);
        t.start();
        t.done();
        let other = flow(
            "survey",
            r#"{"start":"a","nodes":{"a":{"kind":"play","prompt":"rate"}}}"#,
        );
        let out = t.with(|r, e| r.jump(other.clone(), None, e)).unwrap();
        assert_eq!(out, vec![CancelTimer, Play("rate".into())]);
        assert!(t.with(|r, e| r.jump(other, Some("zz".into()), e)).is_err());
    }
}
