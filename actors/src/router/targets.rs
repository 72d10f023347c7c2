//! What a request names, resolved: a login's groups, a supervisor's or
//! data exchange's target agent, a pick-up's target, a transfer's target.

use super::*;
use crate::refusal::Refusal;

impl Router {
    /// Checks a 1001 against the configuration and resolves its groups.
    pub(super) fn login_groups(&self, l: &Login) -> Result<Vec<(GroupNo, u32)>, Refusal> {
        let settings = &self.deps.settings;
        let configured = l.work_no.as_ref().and_then(|w| settings.agents.get(w));
        if configured.is_none() && !settings.allow_unknown_agents {
            return Err(match &l.work_no {
                Some(w) => Refusal::Denied(format!("WorkNo {w} is not a configured agent").into()),
                None => Refusal::Denied("WorkNo is required: unknown agents may not log in".into()),
            });
        }
        let priority_of = |g: GroupNo| {
            configured
                .and_then(|gs| gs.iter().find(|(n, _)| *n == g))
                .map_or(1, |(_, p)| *p)
        };
        if !l.groups.0.is_empty() {
            let mut out = Vec::new();
            for g in &l.groups.0 {
                if self.deps.group(*g).is_none() {
                    return Err(Refusal::NoGroup(*g));
                }
                if !out.iter().any(|(n, _)| n == g) {
                    out.push((*g, priority_of(*g)));
                }
            }
            return Ok(out);
        }
        match configured {
            Some(gs) if !gs.is_empty() => Ok(gs.clone()),
            _ => Ok(settings
                .default_group
                .map(|g| vec![(g, 1)])
                .unwrap_or_default()),
        }
    }

    /// The agent actor named by a supervisor's or data-exchange `Target`:
    /// an extension with an agent, else a logged-in agent's job number.
    pub(super) fn target_agent(&self, target: &str) -> Result<AgentRef, Refusal> {
        let target = target.trim();
        if let Some(a) = TelNum::new(target).ok().and_then(|t| self.agents.get(&t)) {
            return Ok(a.clone());
        }
        WorkNo::new(target)
            .ok()
            .and_then(|w| control::agent_with_work_no(&self.deps, &w))
            .and_then(|tel| self.agents.get(&tel).cloned())
            .ok_or_else(|| {
                Refusal::state(format!(
                    "no agent {target} (extension or WorkNo) is logged in"
                ))
            })
    }

    /// What a pick-up `Target` names: a configured group number, else an
    /// extension (docs/protocol.md section 8).
    pub(super) fn pick_target(&self, target: Option<&str>) -> Result<PickTarget, Refusal> {
        let Some(t) = target.map(str::trim).filter(|t| !t.is_empty()) else {
            return Ok(PickTarget::Any);
        };
        if let Some(g) = t
            .parse()
            .ok()
            .map(GroupNo)
            .filter(|g| self.deps.group(*g).is_some())
        {
            return Ok(PickTarget::Group(g));
        }
        match TelNum::new(t) {
            Ok(ext) if self.deps.topo().seats.contains_key(&ext) => Ok(PickTarget::Ext(ext)),
            _ => Err(Refusal::invalid(format!(
                "{t} is neither a group nor an extension"
            ))),
        }
    }

    /// What a transfer names: an extension (TransToTel, or the seat of the
    /// agent with that WorkNo), else a group; the number before the job
    /// number when both are given (seed).
    pub(super) fn transfer_target(
        &self,
        to_tel: Option<&str>,
        work_no: Option<&WorkNo>,
        group: Option<GroupNo>,
        caller: Option<String>,
        callee: Option<String>,
    ) -> Result<TransferTarget, Refusal> {
        let ext = |tel: TelNum| {
            let agent = self.agents.get(&tel).cloned();
            TransferTarget::Ext(tel, agent)
        };
        if let Some(t) = to_tel.map(str::trim).filter(|t| !t.is_empty()) {
            if let Some(tel) = TelNum::new(t)
                .ok()
                .filter(|tel| self.deps.topo().seats.contains_key(tel))
            {
                return Ok(ext(tel));
            }
            // The manual: with transtoout, any number that is not internal
            // goes out on a trunk; CalleeNo, when given, is what is dialed.
            if self.deps.settings.transtoout {
                let number = callee
                    .map(|c| c.trim().to_owned())
                    .filter(|c| !c.is_empty())
                    .unwrap_or_else(|| t.to_owned());
                return Ok(TransferTarget::Outside { number, caller });
            }
            return Err(if t.len() > 1 && t.starts_with('0') {
                Refusal::Denied("transfers to outside numbers are off ([sys] transtoout)".into())
            } else {
                Refusal::NoExtension(t.to_owned())
            });
        }
        if let Some(w) = work_no {
            return control::agent_with_work_no(&self.deps, w)
                .map(ext)
                .ok_or_else(|| Refusal::NoWorkNo(w.clone()));
        }
        match group {
            Some(g) if self.deps.group(g).is_some() => Ok(TransferTarget::Group(g)),
            Some(g) => Err(Refusal::NoGroup(g)),
            None => Err(Refusal::invalid(
                "TransToTel, WorkNo or GroupNo is required",
            )),
        }
    }
}
