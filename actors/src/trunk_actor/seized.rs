//! A trunk seized for a call placed elsewhere (a seat's outside call, or
//! an inbound call sent outside): it relays what the far party does to the
//! call's owner, and can take the call over (a placed call transferred).

use super::*;

impl TrunkActor {
    pub(super) fn seized_event(&mut self, ev: SwitchEvent) {
        let me = self.desc.ch;
        let Core::Seized(z) = &mut self.core else {
            return;
        };
        let owner = self.deps.channel(z.owner);
        match ev {
            SwitchEvent::Answered { .. } => {
                z.answered = true;
                if let Some(o) = owner {
                    o.do_send(FarAnswered { far: me });
                }
            }
            SwitchEvent::Cleared { cause, .. } => {
                z.cleared = true;
                if let Some(o) = owner {
                    o.do_send(FarCleared { far: me, cause });
                }
            }
            SwitchEvent::CallIn { .. } => {
                tracing::warn!(ch = %me, "a call arrived on a trunk seized for an outbound call");
            }
            _ => {}
        }
    }
}

/// Take this trunk for a placed call.
impl Handler<Seize> for TrunkActor {
    type Result = bool;
    fn handle(&mut self, m: Seize, _: &mut Context<Self>) -> bool {
        let free =
            matches!(&self.core, Core::Inbound(leg) if leg.channel_state() == ChannelState::Free);
        if free {
            self.core = Core::Seized(Box::new(Seizure {
                owner: m.owner,
                guid: m.guid,
                caller: m.caller,
                callee: m.callee,
                agent: m.agent,
                answered: false,
                cleared: false,
            }));
            self.publish();
        }
        free
    }
}

/// The placed call on this trunk is over.
impl Handler<FreeTrunk> for TrunkActor {
    type Result = ();
    fn handle(&mut self, _: FreeTrunk, _: &mut Context<Self>) {
        if matches!(self.core, Core::Seized(_)) {
            self.core = Self::fresh_core(&self.desc);
            self.publish();
        }
    }
}

/// The trunk this call was sent out on answered.
impl Handler<FarAnswered> for TrunkActor {
    type Result = ();
    fn handle(&mut self, m: FarAnswered, ctx: &mut Context<Self>) {
        self.run(ctx, |act, ctx| {
            let now = act.now();
            let clock = act.deps.clock.clone();
            if let Core::Inbound(leg) = &mut act.core {
                let fx = leg.outside_answered(m.far, now, &clock);
                act.leg_effects(fx, ctx);
            }
        });
    }
}

/// The trunk this call was sent out on cleared.
impl Handler<FarCleared> for TrunkActor {
    type Result = ();
    fn handle(&mut self, m: FarCleared, ctx: &mut Context<Self>) {
        self.run(ctx, |act, ctx| {
            let now = act.now();
            let clock = act.deps.clock.clone();
            let flows = act.deps.flows.clone();
            if let Core::Inbound(leg) = &mut act.core {
                let fx = leg.outside_cleared(m.far, m.cause, now, &clock, &flows);
                act.leg_effects(fx, ctx);
            }
        });
    }
}

/// This seized trunk takes over the call its seat placed.
impl Handler<Adopt> for TrunkActor {
    type Result = Result<(), Refusal>;
    fn handle(&mut self, m: Adopt, ctx: &mut Context<Self>) -> Self::Result {
        self.request(ctx, |act, ctx| {
            match &act.core {
                Core::Seized(z) if z.cleared => {
                    // The customer hung up while the call was being handed over.
                    act.switch(SwitchCommand::Clear {
                        ch: act.desc.ch,
                        cause: Cause::NORMAL,
                    });
                    act.core = Self::fresh_core(&act.desc);
                    return Err(Refusal::state("the caller hung up"));
                }
                Core::Seized(_) => {}
                _ => return Err(Refusal::state("the trunk carries no placed call")),
            }
            let now = act.now();
            let clock = act.deps.clock.clone();
            let ring_timeout = act.deps.settings.ring_timeout;
            let mut leg = Box::new(InboundLeg::new(act.desc.ch));
            let target = match &m.to {
                TransferTo::Seat(r) => Some(r.agent.clone()),
                _ => None,
            };
            let fx = leg
                .adopt(m.call, m.to, m.seat_lifted, now, ring_timeout, &clock)
                .map_err(Refusal::from)?;
            act.core = Core::Inbound(leg);
            if let (Some(t), Some(a)) = (target, m.agent) {
                act.agents.insert(t, a);
            }
            act.leg_effects(fx, ctx);
            Ok(())
        })
    }
}

/// The far party of the seat's call goes on in `[flow] startflow`.
impl Handler<EnterFlow> for TrunkActor {
    type Result = ();
    fn handle(&mut self, m: EnterFlow, ctx: &mut Context<Self>) {
        self.run(ctx, |act, ctx| {
            let flow = act.deps.flows.startflow();
            let hung_up = matches!(&act.core, Core::Seized(z) if z.cleared);
            match (&act.core, flow) {
                (Core::Seized(_), Some(flow)) if !hung_up => {
                    let (now, clock) = (act.now(), act.deps.clock.clone());
                    let flows = act.deps.flows.clone();
                    let mut leg = Box::new(InboundLeg::new(act.desc.ch));
                    let fx = leg.enter_flow(m.call, flow, m.agent.as_ref(), now, &clock, &flows);
                    act.core = Core::Inbound(leg);
                    act.leg_effects(fx, ctx);
                }
                (Core::Seized(_), _) => {
                    // Gone meanwhile (the party hung up, or the flow was
                    // removed): the line is cleared and the trunk is free.
                    act.switch(SwitchCommand::Clear {
                        ch: act.desc.ch,
                        cause: Cause::NORMAL,
                    });
                    act.core = Self::fresh_core(&act.desc);
                }
                _ => tracing::warn!(ch = %act.desc.ch, "no placed call here to hand to a flow"),
            }
        });
    }
}
