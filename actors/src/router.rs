//! `Router`: maps switch events onto channel actors and client requests onto
//! agent actors (creating an agent's actor at its first login), and carries
//! seat feature codes to the actors they concern.

use std::collections::HashMap;
use std::net::SocketAddr;

use actix::prelude::*;
use spcti_protocol::agent::{Heartbeat, Login, Logout, SetBusy};
use spcti_protocol::reply::{Ack, HeartbeatAck};
use spcti_protocol::{AgentState, Direction, Envelope, GroupNo, Message as Wire, TelNum};

use crate::agent_actor::{AgentActor, AgentRequest, ClientCommand, GetAgent, PhoneLogout};
use crate::channel_actor::PickUpCall;
use crate::deps::Deps;
use crate::group_actor::{FindPickup, PickupFind};
use crate::leg::Ringer;
use crate::seat::Feature;
use crate::supervision::{Restart, announce, contain, restart_now};
use crate::switch::SwitchEvent;

// ---- messages -------------------------------------------------------------

/// A decoded request from an agent client; answered with the reply.
#[derive(Debug, Message)]
#[rtype(result = "Wire")]
pub struct ClientRequest {
    pub from: SocketAddr,
    pub envelope: Envelope,
}

/// A feature code dialed on a seat phone.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct SeatFeature {
    pub ext: TelNum,
    pub seat: spcti_protocol::ChNum,
    pub feature: Feature,
}

/// Make the actor at `path` (`channel:12`, `agent:8001`, `group:1`, `router`)
/// panic: fault drills and tests of supervision.
#[derive(Debug, Message)]
#[rtype(result = "Result<(), String>")]
pub struct CrashActor {
    pub path: String,
}

/// Restart the actor at `path` (the operator's restart).
#[derive(Debug, Message)]
#[rtype(result = "Result<(), String>")]
pub struct RestartActor {
    pub path: String,
}

/// The agent actor at a seat, if one was ever logged in there.
#[derive(Debug, Message)]
#[rtype(result = "Option<Addr<AgentActor>>")]
pub struct AgentAt(pub TelNum);

// ---- the actor ------------------------------------------------------------

/// The router.
pub struct Router {
    deps: Deps,
    agents: HashMap<TelNum, Addr<AgentActor>>,
}

const KIND: &str = "router";

/// The reply for requests whose capability has not been built yet.
pub const NOT_SUPPORTED: &str = "not supported yet";

impl Router {
    pub fn new(deps: Deps) -> Self {
        Router {
            deps,
            agents: HashMap::new(),
        }
    }

    fn agent_for(&mut self, tel: &TelNum) -> Result<Addr<AgentActor>, String> {
        if let Some(a) = self.agents.get(tel) {
            return Ok(a.clone());
        }
        let seat = *self
            .deps
            .topo()
            .seats
            .get(tel)
            .ok_or_else(|| format!("{tel} is not a seat extension"))?;
        let deps = self.deps.clone();
        let tel2 = tel.clone();
        let addr = Supervisor::start(move |_| AgentActor::new(tel2, seat, deps));
        self.agents.insert(tel.clone(), addr.clone());
        Ok(addr)
    }

    /// Checks a 1001 against the configuration and resolves its groups.
    fn login_groups(&self, l: &Login) -> Result<Vec<(GroupNo, u32)>, String> {
        let settings = &self.deps.settings;
        let configured = l.work_no.as_ref().and_then(|w| settings.agents.get(w));
        if configured.is_none() && !settings.allow_unknown_agents {
            return Err(match &l.work_no {
                Some(w) => format!("WorkNo {w} is not a configured agent"),
                None => "WorkNo is required: unknown agents may not log in".into(),
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
                    return Err(format!("no group {g}"));
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

    /// Routes a request to its agent, or answers it here (boxed: replies are large).
    fn request(
        &mut self,
        m: ClientRequest,
    ) -> Result<(Addr<AgentActor>, ClientCommand), Box<Wire>> {
        let from = m.from;
        let code = m.envelope.message.msg_type();
        let fail = |tel: Option<&TelNum>, why: String| {
            Box::new(Wire::from(Ack::failed(code, tel.cloned(), why)))
        };
        let existing = |router: &Router, tel: &TelNum| {
            router
                .agents
                .get(tel)
                .cloned()
                .ok_or_else(|| fail(Some(tel), format!("{tel} is not logged in")))
        };
        let (addr, request) = match m.envelope.message {
            Wire::Login(l) => {
                let groups = self
                    .login_groups(&l)
                    .map_err(|why| fail(Some(&l.tel_num), why))?;
                let addr = self
                    .agent_for(&l.tel_num)
                    .map_err(|why| fail(Some(&l.tel_num), why))?;
                let request = AgentRequest::Login {
                    work_no: l.work_no,
                    groups,
                    show: l.show_state,
                };
                (addr, request)
            }
            Wire::SetBusy(SetBusy {
                tel_num,
                show_state,
            }) => (
                existing(self, &tel_num)?,
                AgentRequest::Busy { show: show_state },
            ),
            Wire::Logout(Logout { tel_num }) => (existing(self, &tel_num)?, AgentRequest::Logout),
            Wire::Heartbeat(Heartbeat { tel_num }) => match self.agents.get(&tel_num) {
                Some(a) => (a.clone(), AgentRequest::Heartbeat),
                None => {
                    let offline = HeartbeatAck {
                        tel_num,
                        agent_state: AgentState::Offline,
                    };
                    return Err(Box::new(offline.into()));
                }
            },
            other if other.direction() == Some(Direction::FromServer) => {
                return Err(fail(
                    None,
                    format!("MsgType {code} is sent by the server, not to it"),
                ));
            }
            _ => return Err(fail(None, NOT_SUPPORTED.to_owned())),
        };
        Ok((addr, ClientCommand { from, request }))
    }

    fn feature(&mut self, m: SeatFeature) {
        let agent = self.agents.get(&m.ext).cloned();
        match m.feature {
            Feature::Logout => {
                if !self.deps.settings.allow_phone_logout {
                    tracing::info!(seat = %m.ext, "*9 ignored: [sys] allow_phone_logout is off");
                } else if let Some(a) = agent {
                    a.do_send(PhoneLogout);
                }
            }
            Feature::PickUpAny => {
                let Some(agent) = agent else {
                    tracing::info!(seat = %m.ext, "pick-up from a seat with no agent logged in");
                    return;
                };
                let deps = self.deps.clone();
                actix::spawn(pick_up_any(deps, agent));
            }
            other => tracing::info!(seat = %m.ext, feature = ?other, "{NOT_SUPPORTED}"),
        }
    }
}

/// Off-hook + `*`: the longest-ringing call of the agent's groups that has
/// rung `pickup_min_ring_s`, connected to the agent's (lifted) seat.
async fn pick_up_any(deps: Deps, agent: Addr<AgentActor>) {
    let Ok(view) = agent.send(GetAgent).await else {
        return;
    };
    let min_ring = deps.settings.pickup_min_ring;
    let mut best: Option<(crate::clock::Mono, Addr<crate::channel_actor::ChannelActor>)> = None;
    for (g, _) in &view.groups {
        let Some(group) = deps.group(*g) else {
            continue;
        };
        match group.send(FindPickup { min_ring }).await {
            Ok(PickupFind::Found { since, trunk, .. })
                if best.as_ref().is_none_or(|(s, _)| since < *s) =>
            {
                best = Some((since, trunk));
            }
            Ok(PickupFind::TooEarly { rang }) => {
                tracing::info!(agent = %view.tel, rang_s = rang.as_secs(), "pick-up refused: the call has not rung long enough");
            }
            _ => {}
        }
    }
    let Some((_, trunk)) = best else { return };
    let picker = Ringer {
        agent: view.tel.clone(),
        work_no: view.work_no.clone(),
        seat: view.seat,
    };
    match trunk.send(PickUpCall { picker, agent }).await {
        Ok(Ok(caller)) => tracing::info!(agent = %view.tel, %caller, "picked up"),
        Ok(Err(why)) => tracing::info!(agent = %view.tel, %why, "pick-up failed"),
        Err(e) => tracing::warn!(agent = %view.tel, "pick-up failed: {e}"),
    }
}

impl Actor for Router {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        announce(
            self,
            ctx,
            &self.deps.registry,
            &self.deps.clock,
            "router".into(),
            KIND,
        );
    }
}

impl Supervised for Router {}

/// Switch events go to their channel.
impl Handler<SwitchEvent> for Router {
    type Result = ();
    fn handle(&mut self, ev: SwitchEvent, _: &mut Context<Self>) {
        match self.deps.channel(ev.ch()) {
            Some(ch) => ch.do_send(ev),
            None => tracing::warn!(ch = %ev.ch(), "event for an unknown channel"),
        }
    }
}

/// Client requests go to their agent.
impl Handler<ClientRequest> for Router {
    type Result = ResponseFuture<Wire>;
    fn handle(&mut self, m: ClientRequest, ctx: &mut Context<Self>) -> Self::Result {
        let code = m.envelope.message.msg_type();
        let registry = self.deps.registry.clone();
        let routed = contain(
            self,
            ctx,
            |_| "router".into(),
            KIND,
            Some(&registry),
            |act, _| act.request(m),
        );
        Box::pin(async move {
            match routed {
                Some(Ok((addr, cmd))) => addr.send(cmd).await.unwrap_or_else(|_| {
                    Ack::failed(
                        code,
                        None,
                        "internal error; the agent is restarting, try again",
                    )
                    .into()
                }),
                Some(Err(reply)) => *reply,
                None => Ack::failed(code, None, "internal error, try again").into(),
            }
        })
    }
}

/// A seat feature code.
impl Handler<SeatFeature> for Router {
    type Result = ();
    fn handle(&mut self, m: SeatFeature, ctx: &mut Context<Self>) {
        let registry = self.deps.registry.clone();
        contain(
            self,
            ctx,
            |_| "router".into(),
            KIND,
            Some(&registry),
            |act, _| act.feature(m),
        );
    }
}

/// An actor an operator names by its path.
enum Target {
    Channel(Addr<crate::channel_actor::ChannelActor>),
    Agent(Addr<AgentActor>),
    Group(Addr<crate::group_actor::QueueGroupActor>),
    Router,
}

impl Router {
    /// The actor at `channel:12`, `agent:8001`, `group:1` or `router`.
    fn locate(&self, path: &str) -> Result<Target, String> {
        let unknown = || format!("no actor {path}");
        let (kind, id) = path.split_once(':').unwrap_or((path, ""));
        Ok(match kind {
            "channel" => {
                let ch = id.parse().map_err(|_| unknown())?;
                Target::Channel(
                    self.deps
                        .channel(spcti_protocol::ChNum(ch))
                        .ok_or_else(unknown)?
                        .clone(),
                )
            }
            "agent" => {
                let tel = TelNum::new(id).map_err(|_| unknown())?;
                Target::Agent(self.agents.get(&tel).ok_or_else(unknown)?.clone())
            }
            "group" => {
                let no = id.parse().map_err(|_| unknown())?;
                Target::Group(self.deps.group(GroupNo(no)).ok_or_else(unknown)?.clone())
            }
            "router" if id.is_empty() => Target::Router,
            _ => return Err(unknown()),
        })
    }
}

/// A fault drill.
impl Handler<CrashActor> for Router {
    type Result = Result<(), String>;
    fn handle(&mut self, m: CrashActor, ctx: &mut Context<Self>) -> Self::Result {
        match self.locate(&m.path)? {
            Target::Channel(a) => a.do_send(crate::channel_actor::Crash),
            Target::Agent(a) => a.do_send(crate::agent_actor::CrashAgent),
            Target::Group(a) => a.do_send(crate::group_actor::CrashGroup),
            Target::Router => {
                let registry = self.deps.registry.clone();
                contain(
                    self,
                    ctx,
                    |_| "router".into(),
                    KIND,
                    Some(&registry),
                    |_, _| panic!("crash requested"),
                );
            }
        }
        Ok(())
    }
}

/// The agent at a seat.
impl Handler<AgentAt> for Router {
    type Result = Option<Addr<AgentActor>>;
    fn handle(&mut self, m: AgentAt, _: &mut Context<Self>) -> Self::Result {
        self.agents.get(&m.0).cloned()
    }
}

/// Finds the actor at `path` and restarts it.
impl Handler<RestartActor> for Router {
    type Result = Result<(), String>;
    fn handle(&mut self, m: RestartActor, ctx: &mut Context<Self>) -> Self::Result {
        match self.locate(&m.path)? {
            Target::Channel(a) => a.do_send(Restart),
            Target::Agent(a) => a.do_send(Restart),
            Target::Group(a) => a.do_send(Restart),
            // The supervisor restarts the same struct: the index of agent
            // actors survives, so logged-in agents stay reachable.
            Target::Router => restart_now(ctx, &self.deps.registry, "router".into(), KIND),
        }
        Ok(())
    }
}
