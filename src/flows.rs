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

/// What a flow may name on this server.
pub struct Known {
    pub groups: BTreeSet<u32>,
    pub prompts: BTreeSet<String>,
}

impl Known {
    pub fn of(config: &Config, prompts: Vec<String>) -> Self {
        Known {
            groups: config.groups.iter().map(|g| g.no).collect(),
            prompts: prompts.into_iter().collect(),
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
    if !config.flow.startflow.is_empty() {
        tracing::warn!(
            startflow = %config.flow.startflow,
            "flow.startflow is not used yet: outbound calls hang up when the agent does"
        );
    }
    let routes = config
        .routes
        .iter()
        .map(|r| Route {
            callee: r.callee.clone(),
            flow: r.flow.clone(),
        })
        .collect();
    Ok(FlowBook::new(flows, routes, config.flow.inbound.clone()))
}

/// Re-reads flow files on request (1029), on the system thread: flow files
/// are small and reloads rare, so a blocking read here costs nothing a
/// call would notice.
pub struct FlowFiles {
    dir: PathBuf,
    inbound: String,
    known: Known,
    book: std::sync::Arc<FlowBook>,
}

impl FlowFiles {
    pub fn new(config: &Config, known: Known, book: std::sync::Arc<FlowBook>) -> Self {
        FlowFiles {
            dir: config.flow.dir.clone(),
            inbound: config.flow.inbound.clone(),
            known,
            book,
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
