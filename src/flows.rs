//! Flow files on disk (docs/flows.md): `[flow] dir` holds `<name>.json`,
//! the current version of each flow; older versions are kept under
//! `<dir>/.versions/<name>/<n>.json`.
//!
//! Loading checks every file against the server's groups and prompts
//! (`spcti_actors::flow::load`); one broken flow stops the server from
//! starting, with every error named, because a call center must not come
//! up routing callers through half a flow.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use spcti_actors::flow::{
    CheckContext, Flow, FlowBook, FlowError, Route, builtin_default, parse_flow,
};
use spcti_protocol::GroupNo;

use crate::config::Config;

/// Why the flows could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum FlowsError {
    #[error("flow.dir {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} error(s) in the call flows:\n{}", .0.len(), list(.0))]
    Invalid(Vec<FlowError>),
}

fn list(errors: &[FlowError]) -> String {
    errors
        .iter()
        .map(|e| format!("  {e}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// What a flow may name on this server (the prompts as they are now:
/// uploads count at once).
pub struct Known {
    pub groups: BTreeSet<u32>,
    pub prompts: crate::sim::wav::Prompts,
}

impl Known {
    pub fn of(config: &Config, prompts: crate::sim::wav::Prompts) -> Self {
        Known {
            groups: config.groups.iter().map(|g| g.no).collect(),
            prompts,
        }
    }
}

/// The names of the flow files in `dir` (none when it does not exist).
fn names(dir: &Path) -> Result<BTreeSet<String>, FlowsError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeSet::new()),
        Err(source) => {
            return Err(FlowsError::Read {
                path: dir.to_owned(),
                source,
            });
        }
    };
    let mut out = BTreeSet::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") || !path.is_file() {
            continue;
        }
        if let Some(stem) = path.file_stem().and_then(|s| s.to_str()) {
            out.insert(stem.to_owned());
        }
    }
    Ok(out)
}

/// The number of the version on disk: the newest kept one, or 1.
fn version_of(dir: &Path, name: &str) -> u32 {
    let kept = dir.join(".versions").join(name);
    std::fs::read_dir(kept)
        .map(|es| {
            es.flatten()
                .filter_map(|e| {
                    let p = e.path();
                    p.file_stem()?.to_str()?.parse::<u32>().ok()
                })
                .max()
                .unwrap_or(1)
        })
        .unwrap_or(1)
}

/// Reads and checks every flow in `[flow] dir`; the built-in flow stands in
/// for `[flow] inbound` when it has no file.
pub fn load(config: &Config, known: &Known) -> Result<FlowBook, FlowsError> {
    let dir = &config.flow.dir;
    let mut present = names(dir)?;
    let builtin = !present.contains(&config.flow.inbound);
    if builtin {
        present.insert(config.flow.inbound.clone());
    }
    let cx = CheckContext {
        group: &|g: GroupNo| known.groups.contains(&g.0),
        prompt: &|p: &str| known.prompts.contains(p),
        flow: &|f: &str| present.contains(f),
    };
    let mut flows = Vec::new();
    let mut errors = Vec::new();
    for name in &present {
        if builtin && *name == config.flow.inbound {
            let group = config.groups.first().map(|g| GroupNo(g.no));
            let mut f: Flow = builtin_default(group);
            f.name = name.clone();
            flows.push(f);
            continue;
        }
        let path = dir.join(format!("{name}.json"));
        let text = std::fs::read_to_string(&path).map_err(|source| FlowsError::Read {
            path: path.clone(),
            source,
        })?;
        match parse_flow(name, &text, version_of(dir, name), &cx) {
            Ok(f) => flows.push(f),
            Err(e) => errors.extend(e),
        }
    }
    let startflow = &config.flow.startflow;
    if !startflow.is_empty() && !present.contains(startflow) {
        errors.push(FlowError {
            flow: startflow.clone(),
            node: None,
            field: None,
            message: "[flow] startflow names it, but there is no such flow file".into(),
        });
    }
    // Routes naming a flow that does not exist are the config's error, but
    // only known once the files are read.
    for (i, r) in config.routes.iter().enumerate() {
        if !present.contains(&r.flow) {
            errors.push(FlowError {
                flow: r.flow.clone(),
                node: None,
                field: None,
                message: format!(
                    "route[{i}] (callee {:?}) names it, but there is no such flow file",
                    r.callee
                ),
            });
        }
    }
    if !errors.is_empty() {
        return Err(FlowsError::Invalid(errors));
    }
    let routes = config
        .routes
        .iter()
        .map(|r| Route {
            callee: r.callee.clone(),
            flow: r.flow.clone(),
        })
        .collect();
    let book = FlowBook::new(flows, routes, config.flow.inbound.clone());
    book.set_startflow(startflow);
    Ok(book)
}

/// Re-reads flow files on request (1029), on the system thread: flow files
/// are small and reloads rare, so a blocking read here costs nothing a
/// call would notice.
pub struct FlowFiles {
    dir: PathBuf,
    inbound: String,
    known: Known,
    book: std::sync::Arc<FlowBook>,
    /// The designer's step-through runs, by id.
    sims: std::collections::HashMap<String, crate::flow_sim::Simulation>,
}

impl FlowFiles {
    pub fn new(config: &Config, known: Known, book: std::sync::Arc<FlowBook>) -> Self {
        FlowFiles {
            dir: config.flow.dir.clone(),
            inbound: config.flow.inbound.clone(),
            known,
            book,
            sims: Default::default(),
        }
    }

    /// Reads and checks `name`; installs it as a new version when its text
    /// changed. Errors leave the running version in place.
    fn reload_one(&self, name: &str, present: &BTreeSet<String>) -> Result<bool, Vec<FlowError>> {
        let path = self.dir.join(format!("{name}.json"));
        let whole = |message: String| {
            vec![FlowError {
                flow: name.to_owned(),
                node: None,
                field: None,
                message,
            }]
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            // The built-in inbound flow has no file to read.
            Err(_)
                if name == self.inbound && self.book.get(name).is_some_and(|f| f.version == 0) =>
            {
                return Ok(false);
            }
            Err(e) => return Err(whole(format!("cannot read {}: {e}", path.display()))),
        };
        let running = self.book.get(name);
        let cx = CheckContext {
            group: &|g: GroupNo| self.known.groups.contains(&g.0),
            prompt: &|p: &str| self.known.prompts.contains(p),
            flow: &|f: &str| present.contains(f) || self.book.get(f).is_some(),
        };
        let version = running.as_ref().map_or(1, |f| f.version + 1);
        let flow = parse_flow(name, &text, version, &cx)?;
        if running.as_ref().is_some_and(|r| r.source == flow.source) {
            return Ok(false);
        }
        // The running version's text is kept too, the first time it is
        // replaced (versions are only written when they change).
        if let Some(r) = running.as_ref().filter(|r| r.version >= 1) {
            let old = self
                .dir
                .join(".versions")
                .join(name)
                .join(format!("{}.json", r.version));
            if !old.exists() {
                let text = serde_json::to_string_pretty(&r.source).unwrap_or_default();
                keep_version(&self.dir, name, r.version, &text);
            }
        }
        keep_version(&self.dir, name, version, &text);
        self.book.install(flow);
        Ok(true)
    }
}

/// Keeps a copy of version `n` of `name` (flows.md: every version is kept).
fn keep_version(dir: &Path, name: &str, n: u32, text: &str) {
    let kept = dir.join(".versions").join(name);
    let r = std::fs::create_dir_all(&kept)
        .and_then(|_| std::fs::write(kept.join(format!("{n}.json")), text));
    if let Err(e) = r {
        tracing::warn!(flow = %name, version = n, "could not keep this version: {e}");
    }
}

impl actix::Actor for FlowFiles {
    type Context = actix::Context<Self>;
}

impl actix::Handler<spcti_actors::deps::ReloadFlows> for FlowFiles {
    type Result = Result<Vec<String>, spcti_actors::refusal::Refusal>;

    fn handle(
        &mut self,
        m: spcti_actors::deps::ReloadFlows,
        _: &mut Self::Context,
    ) -> Self::Result {
        use spcti_actors::refusal::Refusal;
        let present = names(&self.dir).map_err(|e| Refusal::Storage(e.to_string()))?;
        let which: Vec<String> = match m.0 {
            Some(name) => {
                if !spcti_actors::flow::load::is_flow_name(&name) {
                    return Err(Refusal::invalid(format!("{name:?} is not a flow name")));
                }
                if !present.contains(&name) && self.book.get(&name).is_none() {
                    return Err(Refusal::invalid(format!("no flow `{name}`")));
                }
                vec![name]
            }
            None => present.iter().cloned().collect(),
        };
        let mut reloaded = Vec::new();
        let mut errors = Vec::new();
        for name in &which {
            match self.reload_one(name, &present) {
                Ok(true) => reloaded.push(name.clone()),
                Ok(false) => {}
                Err(e) => errors.extend(e),
            }
        }
        if errors.is_empty() {
            Ok(reloaded)
        } else {
            // The broken flows keep running their old versions; the others
            // were reloaded.
            let mut why = errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ");
            if !reloaded.is_empty() {
                why.push_str(&format!(" (reloaded: {})", reloaded.join(", ")));
            }
            Err(Refusal::invalid(why))
        }
    }
}

/// What the admin API asks of the flow files (`/api/flows`).
#[derive(Debug, Clone)]
pub enum FlowOp {
    List,
    Get(String),
    /// A kept version's JSON (to look back, or to put back with `Save`).
    Version(String, u32),
    /// Check a flow's JSON without saving it.
    Check(String, serde_json::Value),
    /// Check, save as the next version, and run it for new calls.
    Save(String, serde_json::Value),
    Delete(String),
    /// Start a step-through run of a flow: the saved one, or `draft` (its
    /// JSON as the designer has it, checked first).
    SimStart {
        name: String,
        draft: Option<serde_json::Value>,
        caller: String,
        callee: String,
        at: Option<chrono::NaiveDateTime>,
    },
    /// Something happens on a step-through run (`SimInput` JSON).
    SimStep(String, serde_json::Value),
    SimEnd(String),
}

/// An answer for the HTTP layer: status and JSON body.
#[derive(Debug)]
pub struct FlowAnswer(pub u16, pub serde_json::Value);

impl actix::Message for FlowOp {
    type Result = FlowAnswer;
}

fn refuse(status: u16, why: impl Into<String>) -> FlowAnswer {
    FlowAnswer(status, serde_json::json!({ "error": why.into() }))
}

/// The shape `docs/openapi.json` gives a flow (`FlowIn`): what does not
/// fit it is a malformed request (400); what fits but does not pass the
/// check conflicts with the server's groups, prompts and flows (409).
fn shape(v: &serde_json::Value) -> Result<(), String> {
    use serde_json::Value;
    let o = v.as_object().ok_or("a flow is a JSON object")?;
    for (k, x) in o {
        let ok = match k.as_str() {
            "name" | "description" => x.is_string(),
            "start" => x.as_str().is_some_and(|s| !s.is_empty()),
            "popup" => x.as_array().is_some_and(|a| a.iter().all(Value::is_string)),
            "nodes" => x.as_object().is_some_and(|m| {
                !m.is_empty()
                    && m.values().all(|n| {
                        n.as_object()
                            .and_then(|n| n.get("kind"))
                            .is_some_and(Value::is_string)
                    })
            }),
            _ => return Err(format!("unknown field `{k}`")),
        };
        if !ok {
            return Err(format!("`{k}` does not have the shape of a flow's `{k}`"));
        }
    }
    for k in ["start", "nodes"] {
        if !o.contains_key(k) {
            return Err(format!("missing `{k}`"));
        }
    }
    Ok(())
}

fn versions_of(dir: &Path, name: &str) -> Vec<u32> {
    let mut v: Vec<u32> = std::fs::read_dir(dir.join(".versions").join(name))
        .map(|es| {
            es.flatten()
                .filter_map(|e| e.path().file_stem()?.to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    v.sort_unstable();
    v
}

impl FlowFiles {
    fn check_against(&self, name: &str, text: &str, version: u32) -> Result<Flow, Vec<FlowError>> {
        let present = names(&self.dir).unwrap_or_default();
        let cx = CheckContext {
            group: &|g: GroupNo| self.known.groups.contains(&g.0),
            prompt: &|p: &str| self.known.prompts.contains(p),
            flow: &|f: &str| f == name || present.contains(f) || self.book.get(f).is_some(),
        };
        parse_flow(name, text, version, &cx)
    }

    fn save(&self, name: &str, body: &serde_json::Value) -> FlowAnswer {
        let text = serde_json::to_string_pretty(body).unwrap_or_default();
        let running = self.book.get(name);
        let kept = versions_of(&self.dir, name);
        let version = running
            .as_ref()
            .map_or(0, |f| f.version)
            .max(kept.last().copied().unwrap_or(0))
            + 1;
        let flow = match self.check_against(name, &text, version) {
            Ok(f) => f,
            Err(errors) => return checked_out(errors),
        };
        if let Some(r) = running
            .as_ref()
            .filter(|r| r.version >= 1 && !kept.contains(&r.version))
        {
            let old = serde_json::to_string_pretty(&r.source).unwrap_or_default();
            keep_version(&self.dir, name, r.version, &old);
        }
        let path = self.dir.join(format!("{name}.json"));
        let tmp = self.dir.join(format!(".{name}.json.tmp"));
        let written = std::fs::create_dir_all(&self.dir)
            .and_then(|_| std::fs::write(&tmp, &text))
            .and_then(|_| std::fs::rename(&tmp, &path));
        if let Err(e) = written {
            return refuse(500, format!("cannot write {}: {e}", path.display()));
        }
        keep_version(&self.dir, name, version, &text);
        self.book.install(flow);
        tracing::info!(flow = %name, version, "flow saved and deployed");
        FlowAnswer(200, serde_json::json!({ "name": name, "version": version }))
    }
}

impl FlowFiles {
    fn sim_start(
        &mut self,
        name: String,
        draft: Option<serde_json::Value>,
        caller: &str,
        callee: &str,
        at: Option<chrono::NaiveDateTime>,
    ) -> FlowAnswer {
        use crate::flow_sim::{IDLE, MAX_RUNS, Simulation};
        self.sims.retain(|_, s| s.touched.elapsed() < IDLE);
        if self.sims.len() >= MAX_RUNS {
            return refuse(
                429,
                format!("{MAX_RUNS} step-through runs are open; end one (DELETE) or wait"),
            );
        }
        let (flow, is_draft) = match draft {
            Some(body) => {
                if let Err(why) = shape(&body) {
                    return refuse(400, why);
                }
                match self.check_against(&name, &body.to_string(), 0) {
                    Ok(f) => (std::sync::Arc::new(f), true),
                    Err(errors) => return checked_out(errors),
                }
            }
            None => match self.book.get(&name) {
                Some(f) => (f, false),
                None => return refuse(404, format!("no flow `{name}`")),
            },
        };
        let at = at.unwrap_or_else(|| chrono::Local::now().naive_local());
        let mut sim = Simulation::start(flow, is_draft, caller, callee, at, &self.book);
        let id = uuid::Uuid::new_v4().simple().to_string();
        let report = sim.report(&id);
        self.sims.insert(id, sim);
        FlowAnswer(201, report)
    }

    fn sim_step(&mut self, id: &str, input: &serde_json::Value) -> FlowAnswer {
        let input = match crate::flow_sim::SimInput::parse(input) {
            Ok(i) => i,
            Err(why) => return refuse(400, why),
        };
        let Some(sim) = self.sims.get_mut(id) else {
            return refuse(
                404,
                format!("no step-through run `{id}` (ended, or idle too long)"),
            );
        };
        match sim.step(input, &self.book) {
            Ok(()) => FlowAnswer(200, sim.report(id)),
            Err(why) => refuse(409, why),
        }
    }
}

/// A flow that does not pass its check: 409 with every error.
fn checked_out(errors: Vec<FlowError>) -> FlowAnswer {
    let text = errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    FlowAnswer(
        409,
        serde_json::json!({
            "error": text,
            "errors": errors.iter().map(FlowError::to_json).collect::<Vec<_>>(),
        }),
    )
}

impl actix::Handler<FlowOp> for FlowFiles {
    type Result = actix::MessageResult<FlowOp>;

    fn handle(&mut self, op: FlowOp, _: &mut Self::Context) -> Self::Result {
        let name_of = |op: &FlowOp| match op {
            FlowOp::List => None,
            FlowOp::Get(n)
            | FlowOp::Version(n, _)
            | FlowOp::Check(n, _)
            | FlowOp::Save(n, _)
            | FlowOp::Delete(n)
            | FlowOp::SimStart { name: n, .. } => Some(n.clone()),
            FlowOp::SimStep(..) | FlowOp::SimEnd(_) => None,
        };
        if let Some(n) = name_of(&op).filter(|n| !spcti_actors::flow::load::is_flow_name(n)) {
            return actix::MessageResult(refuse(
                400,
                format!("{n:?} is not a flow name (1 to 64 letters, digits, `_` or `-`)"),
            ));
        }
        let answer = match op {
            FlowOp::List => {
                let list: Vec<serde_json::Value> = self
                    .book
                    .all()
                    .iter()
                    .map(|f| {
                        serde_json::json!({
                            "name": f.name,
                            "version": f.version,
                            "start": f.start,
                            "nodes": f.nodes.len(),
                            "inbound": f.name == self.inbound,
                        })
                    })
                    .collect();
                FlowAnswer(200, serde_json::json!({ "flows": list }))
            }
            FlowOp::Get(name) => match self.book.get(&name) {
                None => refuse(404, format!("no flow `{name}`")),
                Some(f) => FlowAnswer(
                    200,
                    serde_json::json!({
                        "name": f.name,
                        "version": f.version,
                        "versions": versions_of(&self.dir, &name),
                        "flow": f.source.clone(),
                    }),
                ),
            },
            FlowOp::Version(name, n) => {
                let path = self
                    .dir
                    .join(".versions")
                    .join(&name)
                    .join(format!("{n}.json"));
                let kept = std::fs::read_to_string(&path)
                    .ok()
                    .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok());
                match kept {
                    Some(flow) => FlowAnswer(
                        200,
                        serde_json::json!({ "name": name, "version": n, "flow": flow }),
                    ),
                    None => refuse(404, format!("flow `{name}` has no version {n} kept")),
                }
            }
            FlowOp::Check(name, body) => match shape(&body) {
                Err(why) => refuse(400, why),
                Ok(()) => {
                    let text = body.to_string();
                    let errors = self
                        .check_against(&name, &text, 0)
                        .err()
                        .unwrap_or_default();
                    let list: Vec<_> = errors.iter().map(FlowError::to_json).collect();
                    FlowAnswer(200, serde_json::json!({ "errors": list }))
                }
            },
            FlowOp::Save(name, body) => match shape(&body) {
                Err(why) => refuse(400, why),
                Ok(()) => self.save(&name, &body),
            },
            FlowOp::SimStart {
                name,
                draft,
                caller,
                callee,
                at,
            } => self.sim_start(name, draft, &caller, &callee, at),
            FlowOp::SimStep(id, input) => self.sim_step(&id, &input),
            FlowOp::SimEnd(id) => match self.sims.remove(&id) {
                Some(_) => FlowAnswer(204, serde_json::Value::Null),
                None => refuse(404, format!("no step-through run `{id}`")),
            },
            FlowOp::Delete(name) => {
                if self.book.get(&name).is_none() {
                    refuse(404, format!("no flow `{name}`"))
                } else if let Some(why) = self.book.referenced(&name) {
                    refuse(409, format!("flow `{name}` is in use: {why}"))
                } else {
                    let path = self.dir.join(format!("{name}.json"));
                    match std::fs::remove_file(&path) {
                        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                            refuse(500, format!("cannot remove {}: {e}", path.display()))
                        }
                        _ => {
                            // Its versions stay under .versions/.
                            self.book.remove(&name);
                            FlowAnswer(204, serde_json::Value::Null)
                        }
                    }
                }
            }
        };
        actix::MessageResult(answer)
    }
}
