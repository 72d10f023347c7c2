//! What the two channel actors (trunk_actor, seat_actor) share: each
//! handler's work runs contained under supervision (a panic restarts the
//! channel and is reported), and monitors see the channel's state after it
//! (architecture rule 11).

use actix::prelude::*;
use spcti_protocol::ChNum;

use crate::clock::Mono;
use crate::deps::Deps;
use crate::refusal::Refusal;
use crate::supervision::contain;
use crate::switch::SwitchCommand;

/// The supervision kind of every channel actor.
pub(crate) const KIND: &str = "channel";

/// A channel actor: what it must give, and the helpers it gets.
pub(crate) trait ChannelHost: Actor<Context = Context<Self>> {
    fn deps(&self) -> &Deps;
    fn channel(&self) -> ChNum;
    /// Tells monitors (and whoever else must know) the channel's state.
    fn publish(&mut self);

    /// The supervision path: `channel:12`.
    fn path(&self) -> String {
        format!("channel:{}", self.channel())
    }

    fn now(&self) -> Mono {
        self.deps().clock.now()
    }

    fn switch(&self, cmd: SwitchCommand) {
        self.deps().switch.do_send(cmd);
    }

    /// Runs a change contained; monitors see it as it happens.
    fn run(&mut self, ctx: &mut Context<Self>, f: impl FnOnce(&mut Self, &mut Context<Self>)) {
        let registry = self.deps().registry.clone();
        contain(self, ctx, |a| a.path(), KIND, Some(&registry), f);
        self.publish();
    }

    /// Answers another actor's request, run as [`ChannelHost::run`]; a
    /// panic is answered as the channel's restart.
    fn request<R>(
        &mut self,
        ctx: &mut Context<Self>,
        f: impl FnOnce(&mut Self, &mut Context<Self>) -> Result<R, Refusal>,
    ) -> Result<R, Refusal> {
        let registry = self.deps().registry.clone();
        let out = contain(self, ctx, |a| a.path(), KIND, Some(&registry), f);
        self.publish();
        out.unwrap_or(Err(Refusal::ChannelRestarted))
    }
}
