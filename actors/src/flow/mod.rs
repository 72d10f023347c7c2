//! Call flows (the IVR engine of flows.md), sans-I/O.
//!
//! - [`load`]: a flow file's JSON, checked into a [`Flow`]: every error
//!   names the flow, the node and the field.
//! - [`expr`]: rhai expressions and `{name}` templates, compiled once per
//!   flow version.
//! - [`run`]: [`FlowRun`], one call's position in its flow, stepped by the
//!   trunk's leg with the inputs of `leg::IvrInput` and answering
//!   `leg::IvrAction`s (docs/architecture.md, "Where the flow engine goes").
//! - [`book`]: the loaded flows, their versions, routing by dialed number
//!   and the global variables, shared by every trunk.
//!
//! Reading and writing the files is the binary's (src/flows.rs): nothing
//! here does I/O.

pub mod book;
pub mod expr;
pub mod load;
pub mod numbers;
pub mod run;

use std::collections::BTreeMap;
use std::time::Duration;

use spcti_protocol::GroupNo;

pub use book::{FlowBook, Route};
pub use expr::{Expr, Template};
pub use load::{CheckContext, FlowError, parse_flow};
pub use run::{FlowEnv, FlowRun};

/// The prompt every inbound call hears in the built-in flow.
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
    /// The answer to the flow's HTTP request `seq`: the JSON body of a
    /// 2xx, or why there is none.
    HttpDone {
        seq: u64,
        result: Result<serde_json::Value, String>,
    },
}

/// An HTTP request a flow's `http` node makes (off the actors' threads).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// Matches the answer to the request (a stale answer is ignored).
    pub seq: u64,
    pub method: String,
    pub url: String,
    pub body: Option<String>,
    pub timeout: Duration,
}

/// What a flow wants done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IvrAction {
    /// Play a prompt to the caller; its end comes back as `PlayDone`.
    Play(String),
    /// Stop the prompt playing (a key barged in).
    StopPlay,
    /// Arm the flow's timer (replacing one armed before).
    StartTimer(Duration),
    CancelTimer,
    /// Queue the call to a group (once the caller's data is in, for the
    /// screen pop), at this caller priority (higher first), looping
    /// `music` while it waits; after `max_wait` (or, when the node has an
    /// `overflow` exit, with nobody logged in) the flow goes on there.
    Queue {
        group: GroupNo,
        priority: u32,
        music: Option<String>,
        max_wait: Option<Duration>,
        /// Position and expected-wait announcements, this often, spoken in
        /// this language.
        announce: Option<(Duration, numbers::Lang)>,
    },
    /// Put the caller through to `to` (an extension, a WorkNo or an
    /// outside number); when that fails the flow hears `transfer_failed`,
    /// when the far end hangs up first `after_agent`.
    Transfer(String),
    /// Make an HTTP request; its answer comes back as `HttpDone`.
    Http(HttpRequest),
    /// Record the caller (a voicemail), at most `max`; the flow stops it.
    StartRecording {
        max: Duration,
    },
    /// The voicemail is over: close the recording and keep it.
    StopRecording,
    /// The flow ended: a normal clearing by the system.
    Hangup,
    /// The flow cannot go on: the system releases the call, saying why.
    Release(String),
}

/// What a queue's announcements say around the numbers: "you are
/// number" N, "expected wait about" M "minutes".
pub const ANNOUNCE_PROMPTS: [&str; 3] = ["queue_position", "queue_wait", "minutes"];

/// A checked flow version, shared (`Arc`) by the calls running it.
#[derive(Debug)]
pub struct Flow {
    pub name: String,
    /// 1 for the first version saved; calls keep the version they started on.
    pub version: u32,
    pub start: String,
    /// Variables shown in the 6003 screen pop, as tags of their name.
    pub popup: Vec<String>,
    pub nodes: BTreeMap<String, Node>,
    /// The file as loaded (the designer's layout with it).
    pub source: serde_json::Value,
}

/// Where an exit leads: a node, or `None`, the flow ends there (a
/// sub-flow returns to its caller; the top flow hangs up).
pub type Exit = Option<String>;

/// Opening hours: days (bit 0 = Monday) and minutes of the day, `to`
/// exclusive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    pub days: u8,
    pub from: u16,
    pub to: u16,
}

/// What a `say` node speaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Say {
    /// Digit by digit.
    Digits(Template),
    /// As a number, in a language ("one hundred twenty", "一百二十").
    Number(Template, numbers::Lang),
}

/// One node of a flow, by kind (flows.md, "Node kinds").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Play {
        prompt: String,
        barge_in: bool,
        next: Exit,
    },
    Say {
        say: Say,
        next: Exit,
    },
    Menu {
        prompt: String,
        timeout: Duration,
        retries: u32,
        choices: BTreeMap<char, String>,
        invalid: Exit,
        fail: Exit,
    },
    Collect {
        prompt: Option<String>,
        var: String,
        min: usize,
        max: usize,
        terminator: Option<char>,
        timeout: Duration,
        next: Exit,
        fail: Exit,
    },
    Set {
        vars: Vec<(String, Expr)>,
        next: Exit,
    },
    Branch {
        cond: Expr,
        then: Exit,
        otherwise: Exit,
    },
    Time {
        open: Vec<Window>,
        closed_if: Option<Expr>,
        open_next: Exit,
        closed_next: Exit,
    },
    Queue {
        group: GroupNo,
        /// Caller priority in the group, higher first.
        priority: u32,
        /// Played, looped, while the caller waits.
        music: Option<String>,
        /// Longest wait before `overflow`.
        max_wait: Option<Duration>,
        /// Position and expected-wait announcements, this often.
        announce: Option<(Duration, numbers::Lang)>,
        /// Where the caller goes after `max_wait`, or when nobody is
        /// logged in to the group.
        overflow: Exit,
        /// Where the caller goes when the agent hangs up first (the
        /// satisfaction survey); none: the call ends with the agent.
        next: Exit,
    },
    /// The caller is put through to an extension, an agent's WorkNo or an
    /// outside number (`to`, a template).
    Transfer {
        to: Template,
        /// Where the caller goes when the far end hangs up first; none:
        /// the call ends with it.
        next: Exit,
        /// The target could not be reached (unknown, busy, no answer).
        fail: Exit,
    },
    Subflow {
        flow: String,
        next: Exit,
    },
    Voicemail {
        prompt: Option<String>,
        max: Duration,
        next: Exit,
    },
    Http {
        method: String,
        url: Template,
        body: Option<Template>,
        timeout: Duration,
        /// Variable -> JSON pointer into the answer.
        vars: Vec<(String, String)>,
        next: Exit,
        fail: Exit,
    },
    Wait {
        timeout: Duration,
        next: Exit,
        fail: Exit,
    },
    Hangup,
}

impl Node {
    /// The prompts the node plays (`say`'s digit prompts included).
    pub fn prompts(&self) -> Vec<String> {
        match self {
            Node::Play { prompt, .. } | Node::Menu { prompt, .. } => vec![prompt.clone()],
            Node::Collect { prompt, .. } | Node::Voicemail { prompt, .. } => {
                prompt.iter().cloned().collect()
            }
            Node::Queue {
                music, announce, ..
            } => {
                let mut v: Vec<String> = music.iter().cloned().collect();
                if let Some((_, lang)) = announce {
                    v.extend(ANNOUNCE_PROMPTS.iter().map(|p| p.to_string()));
                    v.extend(lang.prompts());
                }
                v
            }
            Node::Say {
                say: Say::Number(_, lang),
                ..
            } => lang.prompts(),
            Node::Say { .. } => "0123456789*#"
                .chars()
                .filter_map(load::digit_prompt)
                .collect(),
            _ => vec![],
        }
    }

    /// Every exit, with the field naming it (for checking and drawing);
    /// `None`: the flow ends there.
    pub fn exits(&self) -> Vec<(String, Option<&str>)> {
        fn e<'a>(f: &str, x: &'a Exit) -> (String, Option<&'a str>) {
            (f.to_owned(), x.as_deref())
        }
        match self {
            Node::Play { next, .. }
            | Node::Say { next, .. }
            | Node::Set { next, .. }
            | Node::Subflow { next, .. }
            | Node::Voicemail { next, .. } => vec![e("next", next)],
            Node::Menu {
                choices,
                invalid,
                fail,
                ..
            } => {
                let mut v: Vec<_> = choices
                    .iter()
                    .map(|(k, n)| (format!("choices.{k}"), Some(n.as_str())))
                    .collect();
                v.push(e("invalid", invalid));
                v.push(e("fail", fail));
                v
            }
            Node::Collect { next, fail, .. }
            | Node::Transfer { next, fail, .. }
            | Node::Wait { next, fail, .. }
            | Node::Http { next, fail, .. } => {
                vec![e("next", next), e("fail", fail)]
            }
            Node::Branch {
                then, otherwise, ..
            } => vec![e("then", then), e("else", otherwise)],
            Node::Time {
                open_next,
                closed_next,
                ..
            } => vec![e("open_next", open_next), e("closed_next", closed_next)],
            Node::Queue { overflow, next, .. } => {
                vec![e("overflow", overflow), e("next", next)]
            }
            Node::Hangup => vec![],
        }
    }
}

/// The flow every call runs when no flow file exists: today's behaviour
/// (the welcome prompt, then `group`).
pub fn builtin_default(group: Option<GroupNo>) -> Flow {
    let mut nodes = BTreeMap::new();
    nodes.insert(
        "welcome".to_owned(),
        Node::Play {
            prompt: WELCOME_PROMPT.to_owned(),
            barge_in: false,
            next: group.map(|_| "queue".to_owned()),
        },
    );
    if let Some(group) = group {
        let queue = Node::Queue {
            group,
            priority: 0,
            music: None,
            max_wait: None,
            announce: None,
            overflow: None,
            next: None,
        };
        nodes.insert("queue".to_owned(), queue);
    }
    // The same flow as a file would say it (what the admin API shows).
    let mut source = serde_json::json!({
        "start": "welcome",
        "nodes": {"welcome": {"kind": "play", "prompt": WELCOME_PROMPT}},
    });
    if let Some(g) = group {
        source["nodes"]["welcome"]["next"] = "queue".into();
        source["nodes"]["queue"] = serde_json::json!({"kind": "queue", "group": g.0});
    }
    Flow {
        name: "default".into(),
        version: 0,
        start: "welcome".into(),
        popup: Vec::new(),
        nodes,
        source,
    }
}
