//! Clients' requests to the call flow on this trunk (1005, 1006, 1026
//! `ch:`): carried out by the leg, whose flow run answers.

use super::*;

impl Handler<FlowRequest> for TrunkActor {
    type Result = Result<String, Refusal>;
    fn handle(&mut self, m: FlowRequest, ctx: &mut Context<Self>) -> Self::Result {
        self.request(ctx, |act, ctx| {
            let (now, clock) = (act.now(), act.deps.clock.clone());
            let flows = act.deps.flows.clone();
            let Core::Inbound(leg) = &mut act.core else {
                return Err(Refusal::state(
                    "the trunk carries a call placed by a seat; it runs no flow",
                ));
            };
            let (value, fx) = match m {
                FlowRequest::Get(name) => (leg.flow_var(&name).map_err(Refusal::from)?, vec![]),
                FlowRequest::Data(data) => (
                    String::new(),
                    leg.flow_data(data, now, &clock, &flows)
                        .map_err(Refusal::from)?,
                ),
                FlowRequest::Jump { flow, node } => (
                    String::new(),
                    leg.flow_jump(flow, node, now, &clock, &flows)
                        .map_err(|e| match e {
                            Ok(state) => Refusal::from(state),
                            Err(node) => Refusal::invalid(node),
                        })?,
                ),
            };
            act.leg_effects(fx, ctx);
            Ok(value)
        })
    }
}

impl Handler<Unstaffed> for TrunkActor {
    type Result = ();
    fn handle(&mut self, _: Unstaffed, ctx: &mut Context<Self>) {
        self.run(ctx, |act, ctx| {
            let (now, clock) = (act.now(), act.deps.clock.clone());
            let flows = act.deps.flows.clone();
            if let Core::Inbound(leg) = &mut act.core {
                let fx = leg.unstaffed(now, &clock, &flows);
                act.leg_effects(fx, ctx);
            }
        });
    }
}
