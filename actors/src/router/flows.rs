//! Clients' requests about call flows (docs/flows.md "Messages"): 1005
//! switch a call's flow, 1006 read a flow variable, 1028 timers, 1029
//! reload flow files, 1030 set a global; 1026 `ch:` data is routed with the other
//! data exchanges and reaches the trunk through `Router::flow_trunk`.

use super::*;
use crate::deps::ReloadFlows;
use crate::flow::expr::is_var_name;
use crate::messages::TrunkRef;
use crate::messages::agent::GetAgent;
use crate::messages::trunk::FlowRequest;
use spcti_protocol::ChNum;
use spcti_protocol::reply::VariableValue;

/// The channel and trunk of a call, once the agent that has it answered.
type CallTrunk = BoxFuture<Result<(ChNum, TrunkRef), Refusal>>;

impl Router {
    /// The trunk whose flow a request names by channel number.
    pub(super) fn flow_trunk(deps: &Deps, ch: ChNum) -> Result<TrunkRef, Refusal> {
        if let Some(t) = deps.trunk(ch) {
            return Ok(t.clone());
        }
        Err(match deps.channel(ch) {
            Some(_) => Refusal::invalid(format!(
                "channel {ch} is a seat; flows run on trunk channels"
            )),
            None => Refusal::NoChannel(ch),
        })
    }

    /// The trunk of the call a request names: `ChNum`, or the call of the
    /// agent at `TelNum`.
    fn call_trunk(&self, ch: Option<ChNum>, tel: Option<&TelNum>) -> Result<CallTrunk, Refusal> {
        if let Some(ch) = ch {
            let t = Self::flow_trunk(&self.deps, ch)?;
            return Ok(Box::pin(async move { Ok((ch, t)) }));
        }
        let tel = tel.ok_or_else(|| Refusal::invalid("ChNum or TelNum is required"))?;
        let agent = self
            .agents
            .get(tel)
            .cloned()
            .ok_or_else(|| Refusal::NotLoggedIn(tel.clone()))?;
        let deps = self.deps.clone();
        Ok(Box::pin(async move {
            let view = agent.send(GetAgent).await.map_err(Refusal::from)?;
            let ch = view
                .call
                .ok_or_else(|| Refusal::state(format!("{} has no call", view.tel)))?;
            Ok((ch, Self::flow_trunk(&deps, ch)?))
        }))
    }

    pub(super) fn flow_request(&mut self, code: u32, msg: Wire) -> Routed {
        let deps = self.deps.clone();
        match msg {
            Wire::SetGlobal(g) => {
                if !is_var_name(&g.var_name) {
                    let why = format!(
                        "VarName {:?} is not a variable name (a letter or _, then letters, digits or _)",
                        g.var_name
                    );
                    return fail(code, None, why);
                }
                deps.flows.set_global(&g.var_name, &g.var_value);
                Routed::Reply(Box::new(Ack::ok(code, None).into()))
            }
            Wire::Timer(t) => {
                let set = crate::messages::timers::SetTimer {
                    no: t.timer_no,
                    on: t.on,
                    period: t
                        .period_ms
                        .map(|ms| std::time::Duration::from_millis(ms.into())),
                    flow: t.flow,
                };
                acked(
                    code,
                    None,
                    Box::pin(async move {
                        deps.flow_timers
                            .send(set)
                            .await
                            .map_err(|_| Refusal::Internal)?
                    }),
                )
            }
            Wire::ReloadFlow(r) => {
                let name = r.flow.filter(|f| !f.trim().is_empty());
                acked(
                    code,
                    None,
                    Box::pin(async move {
                        let done = deps
                            .flow_files
                            .send(ReloadFlows(name))
                            .await
                            .map_err(|_| Refusal::Internal)??;
                        tracing::info!(flows = ?done, "flows reloaded (1029)");
                        Ok(())
                    }),
                )
            }
            Wire::SwitchFlow(s) => {
                let tel = s.tel_num.clone();
                let Some(flow) = deps.flows.get(&s.flow) else {
                    return fail(code, tel.as_ref(), format!("no flow `{}`", s.flow));
                };
                let node = s.node.filter(|n| !n.is_empty());
                let trunk = match self.call_trunk(s.ch_num, s.tel_num.as_ref()) {
                    Ok(t) => t,
                    Err(why) => return fail(code, tel.as_ref(), why),
                };
                acked(
                    code,
                    tel,
                    Box::pin(async move {
                        let (_, t) = trunk.await?;
                        t.send(FlowRequest::Jump { flow, node })
                            .await
                            .map_err(Refusal::from)?
                            .map(|_| ())
                    }),
                )
            }
            Wire::GetVariable(g) => {
                let tel = g.tel_num.clone();
                let trunk = match self.call_trunk(g.ch_num, g.tel_num.as_ref()) {
                    Ok(t) => t,
                    Err(why) => return fail(code, tel.as_ref(), why),
                };
                Routed::Later(Box::pin(async move {
                    let got = async {
                        let (ch, t) = trunk.await?;
                        let value = t
                            .send(FlowRequest::Get(g.var_name.clone()))
                            .await
                            .map_err(Refusal::from)??;
                        Ok::<_, Refusal>((ch, value))
                    };
                    match got.await {
                        Ok((ch, value)) => VariableValue {
                            ch_num: Some(ch),
                            var_name: g.var_name,
                            var_value: value,
                        }
                        .into(),
                        Err(why) => Ack::failed(code, tel, why.to_string()).into(),
                    }
                }))
            }
            other => fail(
                code,
                None,
                format!("MsgType {} is not a flow request", other.msg_type()),
            ),
        }
    }
}
