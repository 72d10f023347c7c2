//! A flow file's JSON checked into a [`Flow`] (flows.md, "Checking").
//!
//! Checking collects every error rather than stopping at the first, so the
//! designer can mark all the broken nodes at once. Each error names the
//! flow, the node and the field. Unknown fields are errors too: a typo
//! (`timout_s`) must not silently fall back to a default.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use serde_json::{Map, Value};
use spcti_protocol::GroupNo;

use super::expr::{Expr, Template, is_var_name};
use super::{Exit, Flow, Node, Say, Window};

/// One thing wrong with a flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowError {
    pub flow: String,
    pub node: Option<String>,
    pub field: Option<String>,
    pub message: String,
}

impl std::fmt::Display for FlowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "flow `{}`", self.flow)?;
        if let Some(n) = &self.node {
            write!(f, ", node `{n}`")?;
        }
        if let Some(x) = &self.field {
            write!(f, ", field `{x}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl FlowError {
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "flow": self.flow,
            "node": self.node,
            "field": self.field,
            "message": self.message,
            "text": self.to_string(),
        })
    }
}

/// What a flow may name: the server's groups, prompts and other flows.
pub struct CheckContext<'a> {
    pub group: &'a dyn Fn(GroupNo) -> bool,
    pub prompt: &'a dyn Fn(&str) -> bool,
    pub flow: &'a dyn Fn(&str) -> bool,
}

/// Whether `name` is acceptable as a flow's (and its file's) name.
pub fn is_flow_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// The prompt names `say` speaks digits with (shipped, `config/prompts`).
pub fn digit_prompt(c: char) -> Option<String> {
    match c {
        '0'..='9' => Some(format!("digit_{c}")),
        '*' => Some("digit_star".into()),
        '#' => Some("digit_hash".into()),
        _ => None,
    }
}

const DTMF: &str = "0123456789*#ABCD";
/// Longest wait a flow may set on keys or data.
const MAX_WAIT_S: u64 = 3_600;

/// Parses and checks flow `name` (its file's name) from `text`.
pub fn parse_flow(
    name: &str,
    text: &str,
    version: u32,
    cx: &CheckContext<'_>,
) -> Result<Flow, Vec<FlowError>> {
    let whole = |message: String| FlowError {
        flow: name.to_owned(),
        node: None,
        field: None,
        message,
    };
    if !is_flow_name(name) {
        return Err(vec![whole(
            "a flow's name is 1 to 64 letters, digits, `_` or `-`".into(),
        )]);
    }
    let source: Value =
        serde_json::from_str(text).map_err(|e| vec![whole(format!("not valid JSON: {e}"))])?;
    let Some(top) = source.as_object() else {
        return Err(vec![whole("a flow is a JSON object".into())]);
    };
    let mut errors = Vec::new();
    let top_err = |field: &str, message: String| FlowError {
        flow: name.to_owned(),
        node: None,
        field: Some(field.to_owned()),
        message,
    };
    for k in top.keys() {
        if !matches!(
            k.as_str(),
            "name" | "start" | "popup" | "nodes" | "description"
        ) {
            errors.push(top_err(k, "unknown field".into()));
        }
    }
    match top.get("name") {
        None => {}
        Some(Value::String(n)) if n == name => {}
        Some(other) => errors.push(top_err(
            "name",
            format!("is {other}, but the file is the flow `{name}`"),
        )),
    }
    let start = match top.get("start") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => {
            errors.push(top_err(
                "start",
                "missing: the node a call starts at".into(),
            ));
            String::new()
        }
    };
    let mut popup = Vec::new();
    match top.get("popup") {
        None => {}
        Some(Value::Array(a)) => {
            for v in a {
                match v.as_str() {
                    // A protocol tag's name would clash in the 6003.
                    Some(s) if spcti_protocol::tags::Tag::from_name(s).is_some() => errors.push(top_err(
                        "popup",
                        format!("`{s}` is a tag of the 6003 itself; copy it to another name with a `set` node"),
                    )),
                    Some(s) if is_var_name(s) => popup.push(s.to_owned()),
                    _ => errors.push(top_err("popup", format!("{v} is not a variable name"))),
                }
            }
        }
        Some(_) => errors.push(top_err("popup", "a list of variable names".into())),
    }
    let mut nodes = BTreeMap::new();
    match top.get("nodes") {
        Some(Value::Object(m)) if !m.is_empty() => {
            for (id, v) in m {
                let mut f = Fields {
                    flow: name,
                    node: id,
                    obj: None,
                    used: BTreeSet::new(),
                    errors: &mut errors,
                };
                if !is_node_id(id) {
                    f.err(None, "a node's id is letters, digits, `_` or `-`".into());
                    continue;
                }
                let Some(obj) = v.as_object() else {
                    f.err(None, "a node is a JSON object".into());
                    continue;
                };
                f.obj = Some(obj);
                // A node that could not be read is reported once, not
                // again field by field.
                if let Some(node) = node_of(&mut f, cx) {
                    nodes.insert(id.clone(), node);
                    f.finish();
                }
            }
        }
        _ => errors.push(top_err("nodes", "missing: at least one node".into())),
    }
    // Links: every exit names a node; every node is reachable.
    if !start.is_empty() && !nodes.contains_key(&start) && top.get("nodes").is_some() {
        errors.push(top_err("start", format!("no node `{start}`")));
    }
    for (id, node) in &nodes {
        for (field, to) in node.exits() {
            if let Some(to) = to {
                if !nodes.contains_key(to) {
                    errors.push(FlowError {
                        flow: name.to_owned(),
                        node: Some(id.clone()),
                        field: Some(field),
                        message: format!("no node `{to}`"),
                    });
                }
            }
        }
    }
    if nodes.contains_key(&start) {
        let mut seen = BTreeSet::from([start.as_str()]);
        let mut todo = VecDeque::from([start.as_str()]);
        while let Some(id) = todo.pop_front() {
            for (_, to) in nodes[id].exits() {
                if let Some(to) = to {
                    if nodes.contains_key(to) && seen.insert(to) {
                        todo.push_back(to);
                    }
                }
            }
        }
        for id in nodes.keys() {
            if !seen.contains(id.as_str()) {
                errors.push(FlowError {
                    flow: name.to_owned(),
                    node: Some(id.clone()),
                    field: None,
                    message: format!("no path from `{start}` reaches it"),
                });
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Flow {
        name: name.to_owned(),
        version,
        start,
        popup,
        nodes,
        source,
    })
}

fn is_node_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
}

/// One node's fields being read; what is read is marked used.
struct Fields<'a, 'e> {
    flow: &'a str,
    node: &'a str,
    obj: Option<&'a Map<String, Value>>,
    used: BTreeSet<&'static str>,
    errors: &'e mut Vec<FlowError>,
}

impl<'a> Fields<'a, '_> {
    fn err(&mut self, field: Option<&str>, message: String) {
        self.errors.push(FlowError {
            flow: self.flow.to_owned(),
            node: Some(self.node.to_owned()),
            field: field.map(str::to_owned),
            message,
        });
    }

    fn get(&mut self, field: &'static str) -> Option<&'a Value> {
        self.used.insert(field);
        self.obj.and_then(|o| o.get(field)).filter(|v| !v.is_null())
    }

    fn string(&mut self, field: &'static str, required: bool) -> Option<String> {
        match self.get(field) {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(Value::String(_)) | None if !required => None,
            None | Some(Value::String(_)) => {
                self.err(Some(field), "missing".into());
                None
            }
            Some(other) => {
                self.err(Some(field), format!("{other} is not text"));
                None
            }
        }
    }

    fn number(&mut self, field: &'static str, default: u64, max: u64) -> u64 {
        match self.get(field) {
            None => default,
            Some(v) => match v.as_u64() {
                Some(n) if n <= max => n,
                _ => {
                    self.err(
                        Some(field),
                        format!("{v} is not a whole number from 0 to {max}"),
                    );
                    default
                }
            },
        }
    }

    fn seconds(&mut self, field: &'static str, default: u64) -> Duration {
        let s = self.number(field, default, MAX_WAIT_S);
        if s == 0 {
            self.err(Some(field), "must be at least 1 second".into());
        }
        Duration::from_secs(s)
    }

    fn boolean(&mut self, field: &'static str) -> bool {
        match self.get(field) {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(v) => {
                self.err(Some(field), format!("{v} is not true or false"));
                false
            }
        }
    }

    fn exit(&mut self, field: &'static str) -> Exit {
        self.string(field, false)
    }

    fn prompt(
        &mut self,
        field: &'static str,
        required: bool,
        cx: &CheckContext<'_>,
    ) -> Option<String> {
        let p = self.string(field, required)?;
        if !(cx.prompt)(&p) {
            self.err(Some(field), format!("no prompt `{p}`"));
        }
        Some(p)
    }

    fn expr(&mut self, field: &'static str, required: bool) -> Option<Expr> {
        let src = self.string(field, required)?;
        match Expr::compile(&src) {
            Ok(e) => Some(e),
            Err(e) => {
                self.err(Some(field), format!("`{src}` does not compile: {e}"));
                None
            }
        }
    }

    fn template(&mut self, field: &'static str) -> Option<Template> {
        let src = self.string(field, false)?;
        match Template::parse(&src) {
            Ok(t) => Some(t),
            Err(e) => {
                self.err(Some(field), e);
                None
            }
        }
    }

    /// The language numbers are spoken in (`lang`, English by default).
    fn lang(&mut self) -> super::numbers::Lang {
        use super::numbers::Lang;
        match self.string("lang", false) {
            None => Lang::En,
            Some(l) => Lang::parse(&l).unwrap_or_else(|| {
                self.err(Some("lang"), format!("`{l}` is not `en` or `zh`"));
                Lang::En
            }),
        }
    }

    /// Fields this kind does not have.
    fn finish(mut self) {
        let Some(obj) = self.obj else { return };
        let unknown: Vec<String> = obj
            .keys()
            .filter(|k| {
                !self.used.contains(k.as_str())
                    && !matches!(k.as_str(), "kind" | "x" | "y" | "label")
            })
            .cloned()
            .collect();
        for k in unknown {
            self.err(Some(&k), "unknown field for this kind of node".into());
        }
    }
}

fn node_of(f: &mut Fields<'_, '_>, cx: &CheckContext<'_>) -> Option<Node> {
    let kind = f.string("kind", true)?;
    let node = match kind.as_str() {
        "play" => Node::Play {
            prompt: f.prompt("prompt", true, cx).unwrap_or_default(),
            barge_in: f.boolean("barge_in"),
            next: f.exit("next"),
        },
        "say" => {
            let (digits, number) = (f.template("digits"), f.template("number"));
            let lang = f.lang();
            let (say, field, needs) = match (digits, number) {
                (Some(_), Some(_)) => {
                    f.err(Some("number"), "`digits` or `number`, not both".into());
                    return None;
                }
                (Some(t), None) => {
                    let needs: Vec<String> =
                        DTMF.chars().take(12).filter_map(digit_prompt).collect();
                    (Say::Digits(t), "digits", needs)
                }
                (None, Some(t)) => (Say::Number(t, lang), "number", lang.prompts()),
                (None, None) => {
                    f.err(
                        Some("digits"),
                        "missing: `digits` or `number` to speak, e.g. `{customer_id}`".into(),
                    );
                    return None;
                }
            };
            for p in needs {
                if !(cx.prompt)(&p) {
                    f.err(
                        Some(field),
                        format!("the prompt `{p}` it speaks with is missing"),
                    );
                }
            }
            let next = f.exit("next");
            Node::Say { say, next }
        }
        "menu" => {
            let prompt = f.prompt("prompt", true, cx).unwrap_or_default();
            let mut choices = BTreeMap::new();
            match f.get("choices") {
                Some(Value::Object(m)) if !m.is_empty() => {
                    for (k, v) in m {
                        let key = match k.chars().collect::<Vec<_>>()[..] {
                            [c] if DTMF.contains(c) => c,
                            _ => {
                                f.err(
                                    Some("choices"),
                                    format!("`{k}` is not one key (0-9, *, #, A-D)"),
                                );
                                continue;
                            }
                        };
                        match v.as_str() {
                            Some(to) if !to.is_empty() => {
                                choices.insert(key, to.to_owned());
                            }
                            _ => f.err(
                                Some("choices"),
                                format!("key `{k}` leads to {v}, not a node"),
                            ),
                        }
                    }
                }
                _ => f.err(Some("choices"), "missing: key -> node".into()),
            }
            Node::Menu {
                prompt,
                timeout: f.seconds("timeout_s", 5),
                retries: f.number("retries", 2, 20) as u32,
                choices,
                invalid: f.exit("invalid"),
                fail: f.exit("fail"),
            }
        }
        "collect" => {
            let prompt = f.prompt("prompt", false, cx);
            let var = f.string("var", true).unwrap_or_default();
            if !var.is_empty() && !is_var_name(&var) {
                f.err(Some("var"), format!("`{var}` is not a variable name"));
            }
            let min = f.number("min", 1, 64) as usize;
            let max = f.number("max", 32, 64) as usize;
            if max == 0 || min > max {
                f.err(
                    Some("max"),
                    format!("{max} keys at most, but at least {min}"),
                );
            }
            let terminator = match f.get("terminator") {
                None => Some('#'),
                Some(Value::String(s)) if s.is_empty() => None,
                Some(Value::String(s)) if s.len() == 1 && DTMF.contains(s.as_str()) => {
                    s.chars().next()
                }
                Some(v) => {
                    f.err(
                        Some("terminator"),
                        format!("{v} is not one key, or \"\" for none"),
                    );
                    None
                }
            };
            Node::Collect {
                prompt,
                var,
                min,
                max,
                terminator,
                timeout: f.seconds("timeout_s", 5),
                next: f.exit("next"),
                fail: f.exit("fail"),
            }
        }
        "set" => {
            let mut vars = Vec::new();
            match f.get("vars") {
                Some(Value::Object(m)) if !m.is_empty() => {
                    for (k, v) in m {
                        // `global.NAME` sets a global (as 1030 does).
                        let name = k.strip_prefix("global.").unwrap_or(k);
                        if !is_var_name(name) {
                            f.err(Some("vars"), format!("`{k}` is not a variable name"));
                            continue;
                        }
                        match v.as_str().map(Expr::compile) {
                            Some(Ok(e)) => vars.push((k.clone(), e)),
                            Some(Err(e)) => f.err(Some("vars"), format!("`{k}`: {e}")),
                            None => f.err(Some("vars"), format!("`{k}`: {v} is not an expression")),
                        }
                    }
                }
                _ => f.err(Some("vars"), "missing: name -> expression".into()),
            }
            Node::Set {
                vars,
                next: f.exit("next"),
            }
        }
        "branch" => {
            let cond = f.expr("if", true);
            let (then, otherwise) = (f.exit("then"), f.exit("else"));
            Node::Branch {
                cond: cond?,
                then,
                otherwise,
            }
        }
        "time" => {
            let mut open = Vec::new();
            match f.get("open") {
                Some(Value::Array(a)) => {
                    for w in a {
                        match window(w) {
                            Ok(w) => open.push(w),
                            Err(e) => f.err(Some("open"), e),
                        }
                    }
                }
                None => {}
                Some(v) => f.err(
                    Some("open"),
                    format!("{v} is not a list of {{days, from, to}}"),
                ),
            }
            Node::Time {
                open,
                closed_if: f.expr("closed_if", false),
                open_next: f.exit("open_next"),
                closed_next: f.exit("closed_next"),
            }
        }
        "queue" => {
            let g = f.number("group", 0, u32::MAX as u64) as u32;
            if g == 0 {
                f.err(Some("group"), "missing: a group number from 1".into());
            } else if !(cx.group)(GroupNo(g)) {
                f.err(Some("group"), format!("no group {g}"));
            }
            let lang = f.lang();
            let announce = match f.number("announce_every_s", 0, 3_600) {
                0 => None,
                s if s < 10 => {
                    f.err(
                        Some("announce_every_s"),
                        format!("{s} s is too often (10 at least)"),
                    );
                    None
                }
                s => {
                    let needs = super::ANNOUNCE_PROMPTS
                        .iter()
                        .map(|p| p.to_string())
                        .chain(lang.prompts());
                    for p in needs {
                        if !(cx.prompt)(&p) {
                            f.err(
                                Some("announce_every_s"),
                                format!("the prompt `{p}` it speaks with is missing"),
                            );
                        }
                    }
                    Some((Duration::from_secs(s), lang))
                }
            };
            let max_wait = match f.number("max_wait_s", 0, 86_400) {
                0 => None,
                s => Some(Duration::from_secs(s)),
            };
            Node::Queue {
                group: GroupNo(g),
                priority: f.number("priority", 0, 1_000) as u32,
                music: f.prompt("music", false, cx),
                max_wait,
                announce,
                overflow: f.exit("overflow"),
                next: f.exit("next"),
            }
        }
        "subflow" => {
            let flow = f.string("flow", true).unwrap_or_default();
            if !flow.is_empty() && f.flow != flow && !(cx.flow)(&flow) {
                f.err(Some("flow"), format!("no flow `{flow}`"));
            }
            Node::Subflow {
                flow,
                next: f.exit("next"),
            }
        }
        "wait" => Node::Wait {
            timeout: f.seconds("timeout_s", 30),
            next: f.exit("next"),
            fail: f.exit("fail"),
        },
        "hangup" => Node::Hangup,
        "voicemail" => Node::Voicemail {
            prompt: f.prompt("prompt", false, cx),
            max: f.seconds("max_s", 120),
            next: f.exit("next"),
        },
        "http" => {
            let method = f.string("method", false).unwrap_or_else(|| "GET".into());
            if !matches!(method.as_str(), "GET" | "POST" | "PUT") {
                f.err(
                    Some("method"),
                    format!("`{method}` is not GET, POST or PUT"),
                );
            }
            let url = f.template("url");
            match &url {
                None => f.err(Some("url"), "missing".into()),
                // The text before the first hole must fix the scheme and
                // host: a caller's keys never choose where a request goes.
                Some(t) if !t.src.starts_with("http://") => f.err(
                    Some("url"),
                    format!(
                        "`{}` is not an http:// address (https is not supported yet)",
                        t.src
                    ),
                ),
                Some(t)
                    if t.src["http://".len()..]
                        .split(['/', '?'])
                        .next()
                        .is_some_and(|h| h.contains('{')) =>
                {
                    f.err(
                        Some("url"),
                        "the host must be written out, not filled from a variable".into(),
                    )
                }
                _ => {}
            }
            let body = f.template("body");
            let ms = f.number("timeout_ms", 3_000, 30_000);
            if ms < 100 {
                f.err(
                    Some("timeout_ms"),
                    format!("{ms} ms is too short (100 to 30000)"),
                );
            }
            let mut vars = Vec::new();
            match f.get("vars") {
                None => {}
                Some(Value::Object(m)) => {
                    for (k, v) in m {
                        match v.as_str() {
                            Some(p) if is_var_name(k) && (p.is_empty() || p.starts_with('/')) => {
                                vars.push((k.clone(), p.to_owned()))
                            }
                            _ => f.err(
                                Some("vars"),
                                format!(
                                    "`{k}`: {v} is not a JSON pointer (\"/a/0/b\") for a variable"
                                ),
                            ),
                        }
                    }
                }
                Some(v) => f.err(Some("vars"), format!("{v} is not name -> JSON pointer")),
            }
            let (next, fail) = (f.exit("next"), f.exit("fail"));
            Node::Http {
                method,
                url: url?,
                body,
                timeout: Duration::from_millis(ms),
                vars,
                next,
                fail,
            }
        }
        "transfer" => {
            let to = f.template("to");
            if to.is_none() {
                f.err(
                    Some("to"),
                    "missing: an extension, a WorkNo or an outside number".into(),
                );
            }
            let (next, fail) = (f.exit("next"), f.exit("fail"));
            Node::Transfer {
                to: to?,
                next,
                fail,
            }
        }
        other => {
            f.err(Some("kind"), format!("unknown kind `{other}`"));
            return None;
        }
    };
    Some(node)
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn window(v: &Value) -> Result<Window, String> {
    let o = v
        .as_object()
        .ok_or_else(|| format!("{v} is not {{days, from, to}}"))?;
    let text = |k: &str| {
        o.get(k)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("`{k}` missing in {v}"))
    };
    let mut days = 0u8;
    for part in text("days")?.split(',') {
        let day = |d: &str| {
            DAYS.iter()
                .position(|x| x.eq_ignore_ascii_case(d.trim()))
                .ok_or_else(|| format!("`{d}` is not a day (mon..sun)"))
        };
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (day(a)?, day(b)?);
                let mut i = a;
                loop {
                    days |= 1 << i;
                    if i == b {
                        break;
                    }
                    i = (i + 1) % 7; // fri-mon wraps over the weekend
                }
            }
            None => days |= 1 << day(part)?,
        }
    }
    let from = minute(text("from")?)?;
    let to = minute(text("to")?)?;
    if from >= to {
        return Err(format!("`from` {from} is not before `to` in {v}"));
    }
    Ok(Window { days, from, to })
}

fn minute(t: &str) -> Result<u16, String> {
    let bad = || format!("`{t}` is not a time HH:MM");
    let (h, m) = t.split_once(':').ok_or_else(bad)?;
    let (h, m): (u16, u16) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if m > 59 || h > 24 || (h == 24 && m != 0) || h.to_string().len() > 2 {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn cx_all() -> CheckContext<'static> {
        CheckContext {
            group: &|g| g.0 <= 3,
            prompt: &|p| p != "missing",
            flow: &|f| f == "survey",
        }
    }

    fn errors(text: &str) -> Vec<String> {
        parse_flow("t", text, 1, &cx_all())
            .map(|_| Vec::new())
            .unwrap_or_else(|e| e.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn a_good_flow_loads_with_its_exits() {
        let f = parse_flow(
            "t",
            r#"{"name":"t","start":"m","popup":["id"],"nodes":{
              "m":{"kind":"menu","prompt":"menu","choices":{"1":"q","2":"c"},"invalid":"m","fail":"q","x":1,"y":2},
              "c":{"kind":"collect","prompt":"enter","var":"id","min":2,"max":4,"next":"b","fail":"q"},
              "b":{"kind":"branch","if":"id.starts_with(\"9\")","then":"s","else":"q"},
              "s":{"kind":"subflow","flow":"survey","next":"h"},
              "h":{"kind":"hangup"},
              "q":{"kind":"queue","group":2,"priority":1}}}"#,
            1,
            &cx_all(),
        )
        .unwrap();
        assert_eq!(f.start, "m");
        assert_eq!(f.popup, ["id"]);
        assert!(matches!(
            f.nodes["c"],
            Node::Collect {
                min: 2,
                max: 4,
                terminator: Some('#'),
                ..
            }
        ));
    }

    #[test]
    fn every_error_names_the_flow_node_and_field() {
        let e = errors(
            r#"{"start":"m","nodes":{
              "m":{"kind":"menu","prompt":"missing","timout_s":3,"choices":{"12":"q","3":"nowhere"}},
              "q":{"kind":"queue","group":9},
              "lost":{"kind":"hangup"},
              "b":{"kind":"branch","if":"1 +"},
              "z":{"kind":"dance"}}}"#,
        );
        let want = [
            "flow `t`, node `m`, field `prompt`: no prompt `missing`",
            "flow `t`, node `m`, field `choices`: `12` is not one key (0-9, *, #, A-D)",
            "flow `t`, node `m`, field `timout_s`: unknown field for this kind of node",
            "flow `t`, node `q`, field `group`: no group 9",
            "flow `t`, node `z`, field `kind`: unknown kind `dance`",
            "flow `t`, node `m`, field `choices.3`: no node `nowhere`",
            "flow `t`, node `lost`: no path from `m` reaches it",
        ];
        for w in want {
            assert!(e.iter().any(|x| x == w), "{w} not in {e:#?}");
        }
        assert!(
            e.iter()
                .any(|x| x.starts_with("flow `t`, node `b`, field `if`: `1 +` does not compile")),
            "{e:#?}"
        );
    }

    #[test]
    fn the_whole_file_is_checked_too() {
        assert!(errors("[1]")[0].contains("a JSON object"));
        assert!(errors("{")[0].contains("not valid JSON"));
        let e = errors(r#"{"name":"other","start":"a","nodes":{"a":{"kind":"hangup"}},"extra":1}"#);
        assert!(e.iter().any(|x| x.contains("field `name`")), "{e:?}");
        assert!(
            e.iter().any(|x| x.contains("field `extra`: unknown field")),
            "{e:?}"
        );
        let e = errors(r#"{"start":"b","nodes":{"a":{"kind":"hangup"}}}"#);
        assert!(
            e.iter()
                .any(|x| x == "flow `t`, field `start`: no node `b`"),
            "{e:?}"
        );
        assert!(parse_flow("../etc", "{}", 1, &cx_all()).is_err());
    }

    #[test]
    fn opening_hours_parse_days_ranges_and_the_end_of_day() {
        let w = window(&serde_json::json!({"days":"mon-fri","from":"09:00","to":"18:00"})).unwrap();
        assert_eq!((w.days, w.from, w.to), (0b0011111, 540, 1080));
        let w = window(&serde_json::json!({"days":"sat,sun","from":"00:00","to":"24:00"})).unwrap();
        assert_eq!((w.days, w.to), (0b1100000, 1440));
        let w = window(&serde_json::json!({"days":"fri-mon","from":"10:00","to":"11:00"})).unwrap();
        assert_eq!(w.days, 0b1110001);
        assert!(window(&serde_json::json!({"days":"funday","from":"1:00","to":"2:00"})).is_err());
        assert!(window(&serde_json::json!({"days":"mon","from":"18:00","to":"09:00"})).is_err());
        assert!(window(&serde_json::json!({"days":"mon","from":"9","to":"24:30"})).is_err());
    }

    #[test]
    fn transfer_needs_a_target_and_http_a_written_out_host() {
        let e = errors(r#"{"start":"v","nodes":{"v":{"kind":"transfer","to":"8001","next":"x"}}}"#);
        assert_eq!(e, ["flow `t`, node `v`, field `next`: no node `x`"]);
        let e = errors(r#"{"start":"v","nodes":{"v":{"kind":"transfer","fail":"v"}}}"#);
        assert!(
            e.iter().any(|x| x
                == "flow `t`, node `v`, field `to`: missing: an extension, a WorkNo or an outside number"),
            "{e:?}"
        );
        let e = errors(
            r#"{"start":"h","nodes":{"h":{"kind":"http","url":"http://{host}/x","vars":{"a":"b"}}}}"#,
        );
        assert!(
            e.iter()
                .any(|x| x.contains("field `url`: the host must be written out")),
            "{e:?}"
        );
        assert!(e.iter().any(|x| x.contains("field `vars`: `a`")), "{e:?}");
        let e = errors(
            r#"{"start":"q","nodes":{"q":{"kind":"queue","group":1,"announce_every_s":3,"lang":"fr"}}}"#,
        );
        assert!(
            e.iter()
                .any(|x| x.contains("field `announce_every_s`") && x.contains("too often")),
            "{e:?}"
        );
        assert!(e.iter().any(|x| x.contains("field `lang`: `fr`")), "{e:?}");
    }
}
