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
