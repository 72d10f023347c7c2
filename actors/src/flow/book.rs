//! The flows a server runs: the current version of each, routing by the
//! dialed number, and the global variables (1030).
//!
//! Shared by every trunk (one `Arc`); reads take a read lock for the
//! length of one step. Installing a version replaces the current one for
//! new calls only: a call holds the `Arc` of the version it started on and
//! finishes on it (flows.md, "versions").

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock, RwLockReadGuard};

use super::Flow;

/// One `[[route]]`: calls to `callee` (exact, or a prefix ending in `*`)
/// run `flow`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub callee: String,
    pub flow: String,
}

impl Route {
    pub fn matches(&self, callee: &str) -> bool {
        match self.callee.strip_suffix('*') {
            Some(prefix) => callee.starts_with(prefix),
            None => callee == self.callee,
        }
    }
}

#[derive(Debug, Default)]
struct Book {
    flows: BTreeMap<String, Arc<Flow>>,
    routes: Vec<Route>,
    inbound: String,
    /// `[flow] startflow`: the far party of an outbound call enters it
    /// when the agent hangs up first.
    startflow: Option<String>,
    globals: BTreeMap<String, String>,
}

/// The server's flows.
#[derive(Debug, Default)]
pub struct FlowBook(RwLock<Book>);

impl FlowBook {
    /// `inbound`: the flow of calls no route matches.
    pub fn new(flows: Vec<Flow>, routes: Vec<Route>, inbound: String) -> Self {
        FlowBook(RwLock::new(Book {
            flows: flows
                .into_iter()
                .map(|f| (f.name.clone(), Arc::new(f)))
                .collect(),
            routes,
            inbound,
            startflow: None,
            globals: BTreeMap::new(),
        }))
    }

    /// Sets `[flow] startflow` (empty: none).
    pub fn set_startflow(&self, name: &str) {
        self.write().startflow = (!name.is_empty()).then(|| name.to_owned());
    }

    /// The flow the far party of an outbound call enters when the agent
    /// hangs up first, at its current version.
    pub fn startflow(&self) -> Option<Arc<Flow>> {
        let b = self.read();
        b.startflow.as_ref().and_then(|n| b.flows.get(n).cloned())
    }

    fn read(&self) -> RwLockReadGuard<'_, Book> {
        // A panic while holding the lock cannot leave a map half-written.
        self.0.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Book> {
        self.0.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The flow a call to `callee` runs: the first matching route's, else
    /// `inbound`'s.
    pub fn for_callee(&self, callee: &str) -> Option<Arc<Flow>> {
        let b = self.read();
        let name = b
            .routes
            .iter()
            .find(|r| r.matches(callee))
            .map_or(b.inbound.as_str(), |r| r.flow.as_str());
        b.flows.get(name).cloned()
    }

    /// The current version of `name`.
    pub fn get(&self, name: &str) -> Option<Arc<Flow>> {
        self.read().flows.get(name).cloned()
    }

    /// Every flow's current version.
    pub fn all(&self) -> Vec<Arc<Flow>> {
        self.read().flows.values().cloned().collect()
    }

    /// Makes `flow` the current version of its name (new calls run it).
    pub fn install(&self, flow: Flow) -> Arc<Flow> {
        let flow = Arc::new(flow);
        self.write()
            .flows
            .insert(flow.name.clone(), Arc::clone(&flow));
        flow
    }

    /// Takes a flow away; calls on it finish on their version.
    pub fn remove(&self, name: &str) -> bool {
        self.write().flows.remove(name).is_some()
    }

    /// Why `name` must not be deleted: the inbound flow, a route's, or
    /// entered by another flow's `subflow` node.
    pub fn referenced(&self, name: &str) -> Option<String> {
        let b = self.read();
        if b.inbound == name {
            return Some("it is [flow] inbound".into());
        }
        if b.startflow.as_deref() == Some(name) {
            return Some("it is [flow] startflow".into());
        }
        if let Some(r) = b.routes.iter().find(|r| r.flow == name) {
            return Some(format!("[[route]] callee {:?} runs it", r.callee));
        }
        b.flows.values().find_map(|f| {
            f.nodes.iter().find_map(|(id, n)| match n {
                super::Node::Subflow { flow, .. } if flow == name && f.name != name => {
                    Some(format!("flow `{}` enters it at node `{id}`", f.name))
                }
                _ => None,
            })
        })
    }

    /// A flow that plays prompt `name`, and where.
    pub fn prompt_user(&self, name: &str) -> Option<String> {
        self.read().flows.values().find_map(|f| {
            f.nodes.iter().find_map(|(id, n)| {
                n.prompts()
                    .iter()
                    .any(|p| p == name)
                    .then(|| format!("flow `{}` plays it at node `{id}`", f.name))
            })
        })
    }

    /// Sets a global variable (1030); an empty value removes it.
    pub fn set_global(&self, name: &str, value: &str) {
        let mut b = self.write();
        if value.is_empty() {
            b.globals.remove(name);
        } else {
            b.globals.insert(name.to_owned(), value.to_owned());
        }
    }

    /// Runs `f` with the globals and a look-up of flows by name, under one
    /// read lock (one flow step).
    pub fn with<R>(
        &self,
        f: impl FnOnce(&BTreeMap<String, String>, &dyn Fn(&str) -> Option<Arc<Flow>>) -> R,
    ) -> R {
        let b = self.read();
        let look = |name: &str| b.flows.get(name).cloned();
        f(&b.globals, &look)
    }

    /// The globals now.
    pub fn globals(&self) -> BTreeMap<String, String> {
        self.read().globals.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(name: &str) -> Flow {
        let mut f = crate::flow::builtin_default(None);
        f.name = name.into();
        f
    }

    #[test]
    fn routes_pick_by_dialed_number_first_match_wins_else_inbound() {
        let book = FlowBook::new(
            vec![flow("default"), flow("sales"), flow("vip")],
            vec![
                Route {
                    callee: "4008001*".into(),
                    flow: "vip".into(),
                },
                Route {
                    callee: "400800*".into(),
                    flow: "sales".into(),
                },
            ],
            "default".into(),
        );
        assert_eq!(book.for_callee("40080012").unwrap().name, "vip");
        assert_eq!(book.for_callee("4008002").unwrap().name, "sales");
        assert_eq!(book.for_callee("95555").unwrap().name, "default");
    }

    #[test]
    fn a_new_version_serves_new_calls_and_old_calls_keep_theirs() {
        let book = FlowBook::new(vec![flow("default")], vec![], "default".into());
        let old = book.for_callee("1").unwrap();
        let mut v2 = flow("default");
        v2.version = 2;
        book.install(v2);
        assert_eq!(old.version, 0);
        assert_eq!(book.for_callee("1").unwrap().version, 2);
        book.set_global("holiday", "1");
        assert_eq!(book.globals()["holiday"], "1");
        book.set_global("holiday", "");
        assert!(book.globals().is_empty());
    }
}
