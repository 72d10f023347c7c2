//! The designer's step-through run (docs/flows.md "Trying a flow"): one
//! flow run on the real engine with no call behind it. Where a real call
//! has a switch (prompts ending, keys, timers running out, a queue, an
//! HTTP answer), the person trying the flow says what happens; the run
//! answers with what the caller would hear and where the flow is.
//!
//! Sans-I/O like the engine: the time is virtual (a timer "runs out" when
//! asked, moving the clock by its length), globals set by the run stay in
//! the run (the live ones are read at the start, never written), and an
//! `http` node's request is shown rather than sent.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDateTime;
use serde_json::{Value, json};
use spcti_actors::flow::{Flow, FlowBook, FlowEnv, FlowRun, IvrAction, IvrInput};

/// How long an untouched run is kept, and how many runs at most: a
/// designer tab left open must not hold memory for ever.
pub const IDLE: Duration = Duration::from_secs(30 * 60);
pub const MAX_RUNS: usize = 64;

/// One step-through run.
pub struct Simulation {
    run: FlowRun,
    /// The flow being tried when it is a draft (not the saved version):
    /// its sub-flow lookups and jumps find the draft under its name.
    draft: Option<Arc<Flow>>,
    globals: BTreeMap<String, String>,
    /// Virtual time since the call came in.
    clock: Duration,
    /// The local time the call came in (for `time` nodes).
    at: NaiveDateTime,
    /// Prompts asked for and not yet ended, first = the one playing.
    playing: Vec<String>,
    timer: Option<Duration>,
    http: Option<spcti_actors::flow::HttpRequest>,
    queue: Option<Value>,
    /// Where a `transfer` node puts the caller through.
    transfer: Option<String>,
    recording: bool,
    ended: Option<String>,
    /// What happened since the last answer, in order.
    events: Vec<Value>,
    pub touched: std::time::Instant,
}

/// What the person trying the flow says happened.
#[derive(Debug, Clone, PartialEq)]
pub enum SimInput {
    /// The prompt playing ended (played to its end).
    PromptDone,
    Keys(String),
    /// The armed timer ran out.
    Timer,
    Data(String),
    /// The `http` node's request answered: a JSON body, or a failure.
    Http(Result<Value, String>),
    /// Queued: an agent took the call and hung up first; put through by a
    /// `transfer`: the far end hung up first.
    AgentHungUp,
    /// The `transfer` node's target is not reached (busy, no answer).
    TransferFailed,
    /// Queued: `max_wait_s` passed, or nobody is logged in.
    Overflow,
    CallerHungUp,
}

impl SimInput {
    /// Reads `{"input": ..., ...}` (openapi.json `SimInput`).
    pub fn parse(v: &Value) -> Result<SimInput, String> {
        let kind = v
            .get("input")
            .and_then(Value::as_str)
            .ok_or("missing `input` (prompt_done, keys, timer, data, http, agent_hung_up, transfer_failed, overflow or caller_hung_up)")?;
        let text = |k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| format!("`{kind}` needs `{k}` (a string)"))
        };
        Ok(match kind {
            "prompt_done" => SimInput::PromptDone,
            "keys" => {
                let keys = text("keys")?;
                if keys.is_empty()
                    || keys.len() > 32
                    || !keys
                        .chars()
                        .all(|c| c.is_ascii_digit() || "*#ABCD".contains(c))
                {
                    return Err(format!("{keys:?} is not 1 to 32 keys of 0-9, *, #, A-D"));
                }
                SimInput::Keys(keys)
            }
            "timer" => SimInput::Timer,
            "data" => SimInput::Data(text("data")?),
            "http" => match (v.get("body"), v.get("error")) {
                (Some(b), None) => SimInput::Http(Ok(b.clone())),
                (None, Some(Value::String(e))) => SimInput::Http(Err(e.clone())),
                _ => {
                    return Err(
                        "`http` needs either `body` (the JSON answer) or `error` (a string)".into(),
                    );
                }
            },
            "agent_hung_up" => SimInput::AgentHungUp,
            "transfer_failed" => SimInput::TransferFailed,
            "overflow" => SimInput::Overflow,
            "caller_hung_up" => SimInput::CallerHungUp,
            other => return Err(format!("unknown input `{other}`")),
        })
    }
}

impl Simulation {
    /// A call to `flow` from `caller` to `callee` at local time `at`
    /// enters it.
    pub fn start(
        flow: Arc<Flow>,
        draft: bool,
        caller: &str,
        callee: &str,
        at: NaiveDateTime,
        book: &FlowBook,
    ) -> Simulation {
        let vars = [
            ("caller", caller.to_owned()),
            ("callee", callee.to_owned()),
            ("ch", "0".to_owned()),
            ("tellguid", uuid::Uuid::new_v4().simple().to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let mut s = Simulation {
            run: FlowRun::new(flow.clone(), vars),
            draft: draft.then_some(flow),
            globals: book.globals(),
            clock: Duration::ZERO,
            at,
            playing: Vec::new(),
            timer: None,
            http: None,
            queue: None,
            transfer: None,
            recording: false,
            ended: None,
            events: Vec::new(),
            touched: std::time::Instant::now(),
        };
        let out = s.with_env(book, |run, env| run.start(env));
        s.apply(out, book);
        s
    }

    fn with_env<R>(
        &mut self,
        book: &FlowBook,
        f: impl FnOnce(&mut FlowRun, &FlowEnv<'_>) -> R,
    ) -> R {
        let local_at = self.at + chrono::Duration::from_std(self.clock).unwrap_or_default();
        let local = move || local_at;
        let draft = self.draft.clone();
        let look = move |name: &str| match &draft {
            Some(d) if d.name == name => Some(d.clone()),
            _ => book.get(name),
        };
        let env = FlowEnv {
            now: self.clock,
            local: &local,
            globals: &self.globals,
            flows: &look,
            set: Default::default(),
        };
        let r = f(&mut self.run, &env);
        let set = env.set.into_inner();
        for (k, v) in set {
            self.events
                .push(json!({"kind": "global", "name": k, "value": v}));
            self.globals.insert(k, v);
        }
        r
    }

    /// Carries out what the flow asked, as the switch would; a stopped
    /// prompt's end goes back to the flow at once (as the switch reports
    /// it).
    fn apply(&mut self, actions: Vec<IvrAction>, book: &FlowBook) {
        let mut stopped = 0;
        for a in actions {
            match a {
                IvrAction::Play(p) => {
                    self.events.push(json!({"kind": "play", "prompt": p}));
                    self.playing.push(p);
                }
                IvrAction::StopPlay => {
                    if !self.playing.is_empty() {
                        self.events
                            .push(json!({"kind": "stop", "prompts": self.playing.clone()}));
                        stopped += self.playing.len();
                        self.playing.clear();
                    }
                }
                IvrAction::StartTimer(d) => {
                    self.events
                        .push(json!({"kind": "timer", "ms": d.as_millis() as u64}));
                    self.timer = Some(d);
                }
                IvrAction::CancelTimer => self.timer = None,
                IvrAction::Queue {
                    group,
                    priority,
                    music,
                    max_wait,
                    announce,
                } => {
                    let q = json!({
                        "group": group.0,
                        "priority": priority,
                        "music": music,
                        "max_wait_s": max_wait.map(|d| d.as_secs()),
                        "announce_every_s": announce.map(|(d, _)| d.as_secs()),
                        "next": self.run.has_next(),
                        "overflow": self.run.has_overflow(),
                    });
                    self.events.push(json!({"kind": "queue", "queue": q}));
                    self.timer = None;
                    self.queue = Some(q);
                }
                IvrAction::Transfer(to) => {
                    self.events.push(json!({"kind": "transfer", "to": to}));
                    self.timer = None;
                    self.transfer = Some(to);
                }
                IvrAction::Http(req) => {
                    self.events.push(json!({
                        "kind": "http", "method": req.method, "url": req.url,
                        "body": req.body, "timeout_ms": req.timeout.as_millis() as u64,
                    }));
                    self.http = Some(req);
                }
                IvrAction::StartRecording { max } => {
                    self.events
                        .push(json!({"kind": "record", "max_s": max.as_secs()}));
                    self.recording = true;
                }
                IvrAction::StopRecording => {
                    self.events.push(json!({"kind": "message_kept"}));
                    self.recording = false;
                }
                IvrAction::Hangup => self.end("the flow hung up".into()),
                IvrAction::Release(why) => self.end(format!("released: {why}")),
            }
        }
        for _ in 0..stopped {
            if self.ended.is_some() {
                break;
            }
            let out = self.with_env(book, |run, env| {
                run.step(IvrInput::PlayDone { completed: false }, env)
            });
            self.apply(out, book);
        }
    }

    fn end(&mut self, why: String) {
        self.events.push(json!({"kind": "end", "why": why}));
        if self.recording {
            self.events.push(json!({"kind": "message_kept"}));
        }
        self.ended = Some(why);
        self.playing.clear();
        self.timer = None;
        self.http = None;
        self.recording = false;
    }

    /// Something happened on the pretend call; `Err` (with the reason)
    /// when it cannot happen now, and nothing changed.
    pub fn step(&mut self, input: SimInput, book: &FlowBook) -> Result<(), String> {
        self.touched = std::time::Instant::now();
        if let Some(why) = &self.ended {
            return Err(format!("the call is over ({why})"));
        }
        let queued = self.queue.is_some();
        let through = self.transfer.is_some();
        let out = match input {
            SimInput::CallerHungUp => {
                self.end("the caller hung up".into());
                return Ok(());
            }
            SimInput::AgentHungUp if !queued && !through => {
                return Err("the call is neither queued nor put through".into());
            }
            SimInput::Overflow if !queued => return Err("the call is not in a queue".into()),
            SimInput::TransferFailed if !through => {
                return Err("the call is not being put through (no transfer)".into());
            }
            SimInput::AgentHungUp => {
                self.queue = None;
                self.transfer = None;
                if !self.run.has_next() {
                    self.end("the far end hung up (the node has no `next`)".into());
                    return Ok(());
                }
                self.events.push(json!({"kind": "agent_hung_up"}));
                self.with_env(book, |run, env| run.after_agent(env))
            }
            SimInput::TransferFailed => {
                self.transfer = None;
                self.events.push(json!({"kind": "transfer_failed"}));
                self.with_env(book, |run, env| run.transfer_failed(env))
            }
            _ if through => {
                return Err("the call is put through: the far end hanging up first or a failed transfer moves it on".into());
            }
            SimInput::Overflow => {
                if !self.run.has_overflow() {
                    return Err("the queue node has no `overflow`: the caller keeps waiting".into());
                }
                self.queue = None;
                self.events.push(json!({"kind": "overflow"}));
                self.with_env(book, |run, env| run.overflow(env))
            }
            _ if queued => {
                return Err(
                    "the call is queued: an agent hanging up first or an overflow moves it on"
                        .into(),
                );
            }
            SimInput::PromptDone => {
                if self.playing.is_empty() {
                    return Err("no prompt is playing".into());
                }
                self.playing.remove(0);
                self.with_env(book, |run, env| {
                    run.step(IvrInput::PlayDone { completed: true }, env)
                })
            }
            SimInput::Keys(k) => self.with_env(book, |run, env| run.step(IvrInput::Digits(k), env)),
            SimInput::Timer => {
                let Some(d) = self.timer.take() else {
                    return Err("no timer is running".into());
                };
                self.clock += d;
                self.with_env(book, |run, env| run.step(IvrInput::Timer, env))
            }
            SimInput::Data(d) => self.with_env(book, |run, env| run.step(IvrInput::Data(d), env)),
            SimInput::Http(result) => {
                let Some(req) = self.http.take() else {
                    return Err("no HTTP request is waiting for its answer".into());
                };
                self.with_env(book, |run, env| {
                    run.step(
                        IvrInput::HttpDone {
                            seq: req.seq,
                            result,
                        },
                        env,
                    )
                })
            }
        };
        self.apply(out, book);
        Ok(())
    }

    /// Where the run is and what happened since the last answer.
    pub fn report(&mut self, id: &str) -> Value {
        let (flow, version, node) = self.run.position();
        json!({
            "id": id,
            "flow": flow,
            "version": version,
            "node": if self.ended.is_some() { Value::Null } else { json!(node) },
            "vars": self.run.vars,
            "popup": self.run.popup().into_iter().collect::<BTreeMap<_, _>>(),
            "globals": self.globals,
            "events": std::mem::take(&mut self.events),
            "playing": self.playing,
            "timer_ms": self.timer.map(|d| d.as_millis() as u64),
            "http": self.http.as_ref().map(|r| json!({"method": r.method, "url": r.url, "body": r.body})),
            "queue": self.queue,
            "transfer": self.transfer,
            "recording": self.recording,
            "ended": self.ended,
            "clock_ms": self.clock.as_millis() as u64,
        })
    }
}
