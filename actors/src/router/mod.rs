//! `Router`: maps client requests onto agent actors (creating an agent's
//! actor at its first login), checks who may ask what (`access`), and
//! carries seat feature codes to the actors they concern. Switch events do
//! not pass through it: the driver delivers them to their channel's actor.

use crate::refusal::Refusal;
use std::collections::HashMap;
use std::net::SocketAddr;

use actix::prelude::*;
use spcti_protocol::agent::{Heartbeat, Login, Logout, SetBusy};
use spcti_protocol::event::CallAccepted;
use spcti_protocol::reply::{
    Ack, ChannelInfo, ConfInfo, HeartbeatAck, MonitorSet, PickUpResult, TransferResult,
};
use spcti_protocol::{
    AgentState, ConfNo, DataTarget, Direction, GroupNo, Message as Wire, ResultCh, TelNum, WorkNo,
};

use crate::access::{self, Access, Denied, Need, Session};
use crate::agent_actor::AgentActor;
use crate::control::{self, PickTarget, PlaceRequest, TransferTarget};
use crate::deps::{Deps, SendToClient};
use crate::leg::SupMode;
use crate::messages::agent::{AgentRequest, ClientCommand, PhoneLogout, SeatInUse};
use crate::messages::conference::{ConferenceIndex, GetConference};
use crate::messages::{AgentRef, ChannelRef, ConferenceRef, GroupRef};
use crate::outbound::Origin;
use crate::seat::Feature;
use crate::supervision::{Restart, announce, contain, restart_now};
use crate::udp_monitor::{AddPlatform, UdpMonitor};

use crate::messages::router::*;

mod flows;
mod targets;

// ---- the actor ------------------------------------------------------------

type BoxFuture<T> = std::pin::Pin<Box<dyn std::future::Future<Output = T>>>;

/// Where a request goes.
enum Routed {
    /// To its agent's actor.
    Agent(AgentRef, ClientCommand),
    /// Answered by the router itself (boxed: replies are large).
    Reply(Box<Wire>),
    /// Answered once the actors concerned have answered.
    Later(BoxFuture<Wire>),
    /// The same, with an event to follow the reply.
    LaterThen(BoxFuture<Answer>),
}

/// A 9000 refusal of request `code`.
fn fail(code: u32, tel: Option<&TelNum>, why: impl std::fmt::Display) -> Routed {
    Routed::Reply(Box::new(Wire::from(Ack::failed(
        code,
        tel.cloned(),
        why.to_string(),
    ))))
}

/// A refused 1008: 9030 with ResultCH -1 and the reason.
fn transfer_failed(my_seat: spcti_protocol::ChNum, why: Refusal) -> Routed {
    Routed::Reply(Box::new(
        TransferResult {
            ch_num: my_seat,
            result_ch: ResultCh(None),
            trans_type: None,
            result_str: Some(why.to_string()),
        }
        .into(),
    ))
}

/// A 9000 from what a future found.
fn acked(code: u32, tel: Option<TelNum>, f: BoxFuture<Result<(), Refusal>>) -> Routed {
    Routed::Later(Box::pin(async move {
        match f.await {
            Ok(()) => Ack::ok(code, tel).into(),
            Err(why) => Ack::failed(code, tel, why.to_string()).into(),
        }
    }))
}

/// The agent actor of a seat named as the sender's own, or the refusal.
macro_rules! existing {
    ($router:ident, $code:expr, $tel:expr) => {
        match $router.agents.get($tel) {
            Some(a) => a.clone(),
            None => return fail($code, Some($tel), Refusal::NotLoggedIn($tel.clone())),
        }
    };
}

/// The agent a supervisor's or data exchange's `Target` names, or the refusal.
macro_rules! target {
    ($router:ident, $code:expr, $tel:expr, $target:expr) => {
        match $router.target_agent($target) {
            Ok(a) => a,
            Err(why) => return fail($code, $tel, why),
        }
    };
}

/// The router.
pub struct Router {
    deps: Deps,
    agents: HashMap<TelNum, AgentRef>,
    /// Which seat is logged in from which address, and who may ask what.
    access: Access,
    /// The UDP monitor platforms (1015), started at the first.
    udp_monitor: Option<Addr<UdpMonitor>>,
    /// Seats whose phone is off its cradle, for agents that log in there.
    seats_in_use: std::collections::HashSet<TelNum>,
    /// Open conferences (1032).
    conferences: std::collections::BTreeMap<ConfNo, ConferenceRef>,
}

const KIND: &str = "router";

/// The reply for requests whose capability has not been built yet: which
/// capability, so a site knows what it is waiting for.
pub fn not_built(code: u32) -> &'static str {
    match code {
        1024 => "not supported yet: fax is not built yet",
        _ => "not supported yet",
    }
}

impl Router {
    pub fn new(deps: Deps) -> Self {
        Router {
            access: Access::new(deps.settings.supervisors.clone()),
            deps,
            agents: HashMap::new(),
            udp_monitor: None,
            seats_in_use: Default::default(),
            conferences: Default::default(),
        }
    }

    fn agent_for(&mut self, tel: &TelNum) -> Result<AgentRef, Refusal> {
        if let Some(a) = self.agents.get(tel) {
            return Ok(a.clone());
        }
        let seat = *self
            .deps
            .topo()
            .seats
            .get(tel)
            .ok_or_else(|| Refusal::state(format!("{tel} is not a seat extension")))?;
        let deps = self.deps.clone();
        let tel2 = tel.clone();
        let home = deps.home(seat);
        let addr = AgentRef::new(Supervisor::start_in_arbiter(&home, move |_| {
            AgentActor::new(tel2, seat, deps)
        }));
        if self.seats_in_use.contains(tel) {
            addr.do_send(SeatInUse(true));
        }
        self.agents.insert(tel.clone(), addr.clone());
        Ok(addr)
    }

    /// Who sent a datagram, for 6026's From: the seat logged in from its
    /// address (every sender is one: the access check comes first).
    fn sender_name(&self, from: SocketAddr) -> String {
        self.access
            .seats_of(from)
            .first()
            .map_or_else(|| from.to_string(), |(tel, _)| tel.to_string())
    }

    /// Checks the sender against what the request needs.
    fn authorize(&self, from: SocketAddr, need: &Need) -> Result<(), Denied> {
        let seats = &self.deps.topo().seats;
        self.access.check(from, need, |t| seats.get(t).copied())
    }

    /// A 1001 for a seat logged in from elsewhere takes it over: refused
    /// when the seat's agent has a password and this login was not checked
    /// against one; otherwise the old address hears 6001 offline.
    fn take_over_seat(&mut self, from: SocketAddr, l: &Login) -> Result<(), Refusal> {
        if let Some(old) = self.access.session(&l.tel_num).cloned() {
            if old.addr != from {
                let settings = &self.deps.settings;
                let held = old
                    .work_no
                    .as_ref()
                    .is_some_and(|w| settings.protected.contains(w));
                let checked = l
                    .work_no
                    .as_ref()
                    .is_some_and(|w| settings.protected.contains(w));
                if held && !checked {
                    return Err(Refusal::Denied(format!(
                        "{} is logged in by an agent with a password; only a 1001 with a WorkNo and its Password may take the seat over",
                        l.tel_num
                    ).into()));
                }
                tracing::info!(seat = %l.tel_num, old = %old.addr, new = %from, "seat taken over by a new login");
                self.deps.client.do_send(SendToClient {
                    to: old.addr,
                    message: spcti_protocol::event::AgentStateChanged {
                        tel_num: l.tel_num.clone(),
                        work_no: old.work_no.clone(),
                        agent_state: AgentState::Offline,
                        show_state: String::new(),
                    }
                    .into(),
                });
            }
        }
        self.access.set(
            l.tel_num.clone(),
            Some(Session {
                addr: from,
                work_no: l.work_no.clone(),
            }),
        );
        Ok(())
    }

    /// 1011's RetIP and 1015's platform: only where agent clients may be.
    fn confined(&self, ip: std::net::IpAddr, what: &str) -> Result<(), Refusal> {
        if self.deps.settings.client_networks.contains(ip) {
            Ok(())
        } else {
            Err(Refusal::Denied(
                format!(
                    "{what} {ip} is outside the networks agent clients may use ([agent_udp] allow)"
                )
                .into(),
            ))
        }
    }

    /// Routes a request to its agent, answers it here, or hands it to a
    /// future that asks the actors concerned.
    fn request(&mut self, m: ClientRequest) -> Routed {
        let from = m.from;
        let code = m.envelope.message.msg_type();

        let need = access::need(&m.envelope.message);
        if let Err(denied) = self.authorize(from, &need) {
            match (&m.envelope.message, denied) {
                // A heartbeat for a seat nobody is logged in at: "offline".
                (Wire::Heartbeat(h), Denied::SeatNotLoggedIn(_)) => {
                    let offline = HeartbeatAck {
                        tel_num: h.tel_num.clone(),
                        agent_state: AgentState::Offline,
                    };
                    return Routed::Reply(Box::new(offline.into()));
                }
                (msg, denied) => {
                    let tel = match &need {
                        Need::OwnSeat(t) | Need::Supervisor { own: Some(t) } => Some(t),
                        _ => None,
                    };
                    let seat = tel.and_then(|t| self.deps.topo().seats.get(t).copied());
                    let why = Refusal::Denied(match (&denied, seat) {
                        (Denied::SeatNotLoggedIn(t), None) => {
                            format!("{t} is not a seat extension").into()
                        }
                        _ => denied.to_string().into(),
                    });
                    if let (Wire::Transfer(_), Some(ch_num)) = (msg, seat) {
                        return transfer_failed(ch_num, why);
                    }
                    // 9040 names the requester's channel: without a seat, a 9000.
                    if let (Wire::PickUp(_), Some(ch_num)) = (msg, seat) {
                        return Routed::Reply(Box::new(
                            PickUpResult {
                                ch_num,
                                result_ch: ResultCh(None),
                                result_str: why.to_string(),
                                in_call_num: String::new(),
                            }
                            .into(),
                        ));
                    }
                    return fail(code, tel, why);
                }
            }
        }
        match m.envelope.message {
            msg @ (Wire::Login(_) | Wire::SetBusy(_) | Wire::Logout(_) | Wire::Heartbeat(_)) => {
                self.agent_state(from, code, msg)
            }
            msg @ (Wire::PickUp(_)
            | Wire::Mute(_)
            | Wire::PlaceCall(_)
            | Wire::TwoPartyConference(_)
            | Wire::Transfer(_)
            | Wire::CancelTransfer(_)
            | Wire::RetrieveCall(_)) => self.call_control(code, msg),
            msg @ (Wire::Listen(_)
            | Wire::BargeIn(_)
            | Wire::TakeOver(_)
            | Wire::ForceHangup(_)
            | Wire::ForceRelease(_)) => self.supervision(code, msg),
            msg @ (Wire::ChannelInfoQuery(_)
            | Wire::StatsQuery(_)
            | Wire::SetMonitor(_)
            | Wire::ConfQuery(_)) => self.query(code, msg),
            msg @ (Wire::DataExchange(_) | Wire::PhoneControl(_)) => self.exchange(from, code, msg),
            msg @ (Wire::SwitchFlow(_)
            | Wire::GetVariable(_)
            | Wire::ReloadFlow(_)
            | Wire::SetGlobal(_)
            | Wire::Timer(_)) => self.flow_request(code, msg),
            other if other.direction() == Some(Direction::FromServer) => fail(
                code,
                None,
                format!("MsgType {code} is sent by the server, not to it"),
            ),
            _ => fail(code, None, not_built(code).to_owned()),
        }
    }

    /// 1001, 1002, 1004 and 1099: the agent actor answers them.
    fn agent_state(&mut self, from: SocketAddr, code: u32, msg: Wire) -> Routed {
        let (addr, request) = match msg {
            Wire::Login(l) => {
                let groups = match self.login_groups(&l) {
                    Ok(g) => g,
                    Err(why) => return fail(code, Some(&l.tel_num), why),
                };
                let addr = match self.agent_for(&l.tel_num) {
                    Ok(a) => a,
                    Err(why) => return fail(code, Some(&l.tel_num), why),
                };
                if let Err(why) = self.take_over_seat(from, &l) {
                    return fail(code, Some(&l.tel_num), why);
                }
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
            }) => {
                let addr = existing!(self, code, &tel_num);
                (addr, AgentRequest::Busy { show: show_state })
            }
            Wire::Logout(Logout { tel_num }) => {
                (existing!(self, code, &tel_num), AgentRequest::Logout)
            }
            Wire::Heartbeat(Heartbeat { tel_num }) => match self.agents.get(&tel_num) {
                Some(a) => (a.clone(), AgentRequest::Heartbeat),
                None => {
                    let offline = HeartbeatAck {
                        tel_num,
                        agent_state: AgentState::Offline,
                    };
                    return Routed::Reply(Box::new(offline.into()));
                }
            },
            other => {
                return fail(
                    code,
                    None,
                    format!("MsgType {} is not an agent-state request", other.msg_type()),
                );
            }
        };
        Routed::Agent(addr, ClientCommand { from, request })
    }

    /// A seat's own calls: 1003, 1007–1010, 1016, 1033.
    fn call_control(&mut self, code: u32, msg: Wire) -> Routed {
        let deps = self.deps.clone();
        match msg {
            Wire::PickUp(p) => {
                // 9040 names the requester's channel: without a seat, a 9000.
                let Some(my_seat) = self.deps.topo().seats.get(&p.tel_num).copied() else {
                    return fail(
                        code,
                        Some(&p.tel_num),
                        format!("{} is not a seat extension", p.tel_num),
                    );
                };
                let refused = |why: Refusal| {
                    Routed::Reply(Box::new(
                        PickUpResult {
                            ch_num: my_seat,
                            result_ch: ResultCh(None),
                            result_str: why.to_string(),
                            in_call_num: String::new(),
                        }
                        .into(),
                    ))
                };
                let Some(agent) = self.agents.get(&p.tel_num).cloned() else {
                    return refused(Refusal::NotLoggedIn(p.tel_num.clone()));
                };
                let target = match self.pick_target(p.target.as_deref()) {
                    Ok(t) => t,
                    Err(why) => return refused(why),
                };
                Routed::Later(Box::pin(async move {
                    let reply = match control::pick_up(deps, agent, target).await {
                        Ok(picked) => PickUpResult {
                            ch_num: my_seat,
                            result_ch: ResultCh(Some(picked.trunk)),
                            result_str: if picked.ringing {
                                "picked up; your seat is ringing".into()
                            } else {
                                "picked up".into()
                            },
                            in_call_num: picked.caller,
                        },
                        Err(why) => PickUpResult {
                            ch_num: my_seat,
                            result_ch: ResultCh(None),
                            result_str: why.to_string(),
                            in_call_num: String::new(),
                        },
                    };
                    reply.into()
                }))
            }
            Wire::Mute(mu) => {
                let agent = existing!(self, code, &mu.tel_num);
                acked(
                    code,
                    Some(mu.tel_num),
                    Box::pin(control::mute(deps, agent, mu.mute)),
                )
            }
            Wire::PlaceCall(p) => {
                let agent = existing!(self, code, &p.tel_num);
                let tel = p.tel_num.clone();
                let callee = p.callee_no.clone();
                let req = PlaceRequest {
                    callee: p.callee_no,
                    caller: p.caller_no,
                    guid: p.tell_guid,
                    ring_no: p.ring_no,
                    origin: Origin::Client,
                    meeting: p.meeting,
                    hallh: p.hallh,
                };
                Routed::LaterThen(Box::pin(async move {
                    match control::place_call(deps, tel.clone(), Some(agent), req).await {
                        Ok(guid) => Answer {
                            reply: Ack::ok(code, Some(tel.clone())).into(),
                            then: vec![
                                CallAccepted {
                                    tel_num: tel,
                                    callee_no: callee,
                                    tell_guid: guid,
                                }
                                .into(),
                            ],
                        },
                        Err(why) => {
                            Wire::from(Ack::failed(code, Some(tel), why.to_string())).into()
                        }
                    }
                }))
            }
            Wire::TwoPartyConference(c) => {
                let agent = existing!(self, code, &c.tel_num);
                let tel = c.tel_num.clone();
                let leg = |callee: &str| PlaceRequest {
                    callee: callee.to_owned(),
                    caller: c.caller_no.clone(),
                    guid: None,
                    ring_no: None,
                    origin: Origin::Client,
                    meeting: true,
                    hallh: c.hallh,
                };
                let legs = [
                    (c.callee_no.clone(), leg(&c.callee_no)),
                    (c.callee_no2.clone(), leg(&c.callee_no2)),
                ];
                Routed::LaterThen(Box::pin(async move {
                    let mut accepted = Vec::new();
                    let mut refused = Vec::new();
                    for (callee, req) in legs {
                        match control::place_call(
                            deps.clone(),
                            tel.clone(),
                            Some(agent.clone()),
                            req,
                        )
                        .await
                        {
                            Ok(guid) => accepted.push(Wire::from(CallAccepted {
                                tel_num: tel.clone(),
                                callee_no: callee,
                                tell_guid: guid,
                            })),
                            Err(why) => refused.push(format!("{callee}: {why}")),
                        }
                    }
                    // A leg that could not start is said; one that did goes on.
                    let reply = if refused.is_empty() {
                        Ack::ok(code, Some(tel))
                    } else {
                        Ack::failed(code, Some(tel), refused.join("; "))
                    };
                    Answer {
                        reply: reply.into(),
                        then: accepted,
                    }
                }))
            }
            Wire::Transfer(t) => {
                // Refusals are a 9030 too: ResultCH -1 and why (the manual).
                let my_seat = self.deps.topo().seats[&t.tel_num];
                let Some(agent) = self.agents.get(&t.tel_num).cloned() else {
                    return transfer_failed(my_seat, Refusal::NotLoggedIn(t.tel_num.clone()));
                };
                let target = match self.transfer_target(
                    t.trans_to_tel.as_deref(),
                    t.work_no.as_ref(),
                    t.group_no,
                    t.caller_no,
                    t.callee_no,
                ) {
                    Ok(target) => target,
                    Err(why) => return transfer_failed(my_seat, why),
                };
                Routed::Later(Box::pin(async move {
                    let (result_ch, trans_type, result_str) =
                        match control::transfer(deps, agent, target).await {
                            Ok((to, trans_type)) => (to, Some(trans_type), None),
                            Err(why) => (None, None, Some(why.to_string())),
                        };
                    TransferResult {
                        ch_num: my_seat,
                        result_ch: ResultCh(result_ch),
                        trans_type,
                        result_str,
                    }
                    .into()
                }))
            }
            Wire::CancelTransfer(c) => {
                let agent = existing!(self, code, &c.tel_num);
                let tel = c.tel_num;
                acked(
                    code,
                    Some(tel),
                    Box::pin(async move { control::retrieve(deps, agent, true).await.map(drop) }),
                )
            }
            Wire::RetrieveCall(r) => {
                let agent = existing!(self, code, &r.tel_num);
                let tel = r.tel_num;
                acked(
                    code,
                    Some(tel),
                    Box::pin(async move { control::retrieve(deps, agent, false).await.map(drop) }),
                )
            }
            other => fail(
                code,
                None,
                format!("MsgType {} is not routed here", other.msg_type()),
            ),
        }
    }

    /// Supervisors: 1019–1022 and 1027.
    fn supervision(&mut self, code: u32, msg: Wire) -> Routed {
        let deps = self.deps.clone();
        match msg {
            Wire::Listen(l) => {
                let mode = match l.mode.as_deref().map(str::to_ascii_lowercase).as_deref() {
                    None | Some("listen") => SupMode::Listen,
                    Some("whisper") => SupMode::Whisper,
                    Some(other) => {
                        return fail(
                            code,
                            Some(&l.tel_num),
                            format!("Mode {other:?}: expected listen or whisper"),
                        );
                    }
                };
                let sup = existing!(self, code, &l.tel_num);
                let target = target!(self, code, Some(&l.tel_num), &l.target);
                acked(
                    code,
                    Some(l.tel_num),
                    Box::pin(
                        async move { control::supervise(deps, sup, target, mode).await.map(drop) },
                    ),
                )
            }
            Wire::BargeIn(b) => {
                let sup = existing!(self, code, &b.tel_num);
                let target = target!(self, code, Some(&b.tel_num), &b.target);
                acked(
                    code,
                    Some(b.tel_num),
                    Box::pin(async move {
                        control::supervise(deps, sup, target, SupMode::Barge)
                            .await
                            .map(drop)
                    }),
                )
            }
            Wire::TakeOver(t) => {
                let sup = existing!(self, code, &t.tel_num);
                let target = target!(self, code, Some(&t.tel_num), &t.target);
                acked(
                    code,
                    Some(t.tel_num),
                    Box::pin(control::take_over(deps, sup, target)),
                )
            }
            Wire::ForceHangup(f) => {
                existing!(self, code, &f.tel_num);
                let target = target!(self, code, Some(&f.tel_num), &f.target);
                acked(
                    code,
                    Some(f.tel_num),
                    Box::pin(control::force_hangup(deps, target)),
                )
            }
            Wire::ForceRelease(f) => acked(code, None, Box::pin(control::release(deps, f.ch_num))),
            other => fail(
                code,
                None,
                format!("MsgType {} is not routed here", other.msg_type()),
            ),
        }
    }

    /// What the floor looks like: 1011, 1013, 1015, 1032.
    fn query(&mut self, code: u32, msg: Wire) -> Routed {
        let deps = self.deps.clone();
        match msg {
            Wire::ChannelInfoQuery(q) => {
                let info = match control::channel_info(
                    &self.deps,
                    q.ch_num,
                    q.tel_num.as_ref(),
                    q.work_no.as_ref(),
                ) {
                    Ok(channels) => ChannelInfo { channels },
                    Err(why) => return fail(code, q.tel_num.as_ref(), why),
                };
                match (q.ret_ip, q.ret_port) {
                    (Some(ip), Some(port)) => {
                        if let Err(why) = self.confined(ip, "RetIP") {
                            return fail(code, q.tel_num.as_ref(), why);
                        }
                        let to = SocketAddr::new(ip, port);
                        self.deps.client.do_send(SendToClient {
                            to,
                            message: info.into(),
                        });
                        let mut ack = Ack::ok(code, q.tel_num);
                        ack.result_str = format!("9011 sent to {to}");
                        Routed::Reply(Box::new(ack.into()))
                    }
                    _ => Routed::Reply(Box::new(info.into())),
                }
            }
            Wire::StatsQuery(q) => Routed::Later(Box::pin(async move {
                match control::statistics(deps, q.group_no).await {
                    Ok(s) => s.into(),
                    Err(why) => Ack::failed(code, None, why.to_string()).into(),
                }
            })),
            Wire::SetMonitor(s) => {
                if let Err(why) = self.confined(s.ip, "IP") {
                    return fail(code, None, why);
                }
                let platforms = self
                    .udp_monitor
                    .get_or_insert_with(|| UdpMonitor::new(deps.clone()).start())
                    .clone();
                let to = SocketAddr::new(s.ip, s.port);
                Routed::Later(Box::pin(async move {
                    let accepted = matches!(platforms.send(AddPlatform(to)).await, Ok(Ok(())));
                    MonitorSet { accepted }.into()
                }))
            }
            Wire::ConfQuery(q) => {
                let confs: Vec<ConferenceRef> = match q.conf_no {
                    Some(no) => match self.conferences.get(&no) {
                        Some(c) => vec![c.clone()],
                        None => return fail(code, None, format!("no conference {no}")),
                    },
                    None => self.conferences.values().cloned().collect(),
                };
                Routed::Later(Box::pin(async move {
                    let mut conferences = Vec::with_capacity(confs.len());
                    for c in confs {
                        // One that closed meanwhile is simply not listed.
                        if let Ok(info) = c.send(GetConference).await {
                            conferences.push(info);
                        }
                    }
                    ConfInfo { conferences }.into()
                }))
            }
            other => fail(
                code,
                None,
                format!("MsgType {} is not routed here", other.msg_type()),
            ),
        }
    }

    /// Data for others: 1026 to an agent, 1031 to a desk phone.
    fn exchange(&mut self, from: SocketAddr, code: u32, msg: Wire) -> Routed {
        let deps = self.deps.clone();
        match msg {
            Wire::DataExchange(d) => {
                let target = match d.target {
                    DataTarget::Agent(a) => target!(self, code, None, &a),
                    DataTarget::Channel(ch) => {
                        let trunk = match Self::flow_trunk(&deps, ch) {
                            Ok(t) => t,
                            Err(why) => return fail(code, None, why),
                        };
                        return acked(
                            code,
                            None,
                            Box::pin(async move {
                                trunk
                                    .send(crate::messages::trunk::FlowRequest::Data(d.data))
                                    .await
                                    .map_err(Refusal::from)?
                                    .map(|_| ())
                            }),
                        );
                    }
                };
                let sender = self.sender_name(from);
                acked(
                    code,
                    None,
                    Box::pin(control::deliver_data(deps, target, sender, d.data)),
                )
            }
            Wire::PhoneControl(p) => Routed::Later(Box::pin(async move {
                match deps.phone.send(crate::deps::PhoneCommand(p)).await {
                    Ok(ack) => ack.into(),
                    Err(_) => Ack::failed(code, None, "server is shutting down").into(),
                }
            })),
            other => fail(
                code,
                None,
                format!("MsgType {} is not routed here", other.msg_type()),
            ),
        }
    }

    /// `*5<ext>#` / `*6<group>#` dialed during a call.
    fn phone_transfer(
        &self,
        ext: TelNum,
        agent: Option<AgentRef>,
        target: Result<TransferTarget, Refusal>,
    ) {
        let target = match (agent, target) {
            (Some(agent), Ok(target)) => (agent, target),
            (None, _) => {
                tracing::info!(seat = %ext, "transfer from a seat with no agent logged in");
                return;
            }
            (_, Err(why)) => {
                tracing::info!(seat = %ext, %why, "transfer refused");
                return;
            }
        };
        let deps = self.deps.clone();
        actix::spawn(async move {
            if let Err(why) = control::transfer(deps, target.0, target.1).await {
                tracing::info!(seat = %ext, %why, "transfer refused");
            }
        });
    }

    fn feature(&mut self, m: SeatFeature) {
        let agent = self.agents.get(&m.ext).cloned();
        let target = match m.feature {
            Feature::Logout => {
                if !self.deps.settings.allow_phone_logout {
                    tracing::info!(seat = %m.ext, "*9 ignored: [sys] allow_phone_logout is off");
                } else if let Some(a) = agent {
                    a.do_send(PhoneLogout);
                }
                return;
            }
            Feature::Dial(number) => {
                let req = PlaceRequest {
                    callee: number,
                    caller: None,
                    guid: None,
                    ring_no: None,
                    origin: Origin::Phone,
                    meeting: false,
                    hallh: false,
                };
                let (deps, ext) = (self.deps.clone(), m.ext);
                actix::spawn(async move {
                    if let Err(why) = control::place_call(deps, ext.clone(), agent, req).await {
                        tracing::info!(seat = %ext, %why, "call from the phone refused");
                    }
                });
                return;
            }
            Feature::TransferToExt(x) => {
                let target = self.transfer_target(Some(&x), None, None, None, None);
                self.phone_transfer(m.ext, agent, target);
                return;
            }
            Feature::TransferToGroup(x) => {
                let target = match x.parse().ok().map(GroupNo) {
                    Some(g) => self.transfer_target(None, None, Some(g), None, None),
                    None => Err(Refusal::invalid(format!("{x} is not a group number"))),
                };
                self.phone_transfer(m.ext, agent, target);
                return;
            }
            Feature::Consult(x) => {
                let (Some(agent), Ok(ext)) = (agent, TelNum::new(x.as_str())) else {
                    tracing::info!(seat = %m.ext, number = %x, "consult refused: no agent or no number");
                    return;
                };
                let target_agent = self.agents.get(&ext).cloned();
                let (deps, seat) = (self.deps.clone(), m.ext);
                actix::spawn(async move {
                    if let Err(why) = control::consult(deps, agent, ext, target_agent).await {
                        tracing::info!(%seat, %why, "consult refused");
                    }
                });
                return;
            }
            Feature::PickUpAny => Ok(PickTarget::Any),
            Feature::PickUp(t) => self.pick_target(Some(&t)),
        };
        let Some(agent) = agent else {
            tracing::info!(seat = %m.ext, "pick-up from a seat with no agent logged in");
            return;
        };
        match target {
            Ok(target) => {
                let (deps, ext) = (self.deps.clone(), m.ext);
                actix::spawn(async move {
                    if let Err(why) = control::pick_up(deps, agent, target).await {
                        tracing::info!(seat = %ext, %why, "pick-up refused");
                    }
                });
            }
            Err(why) => tracing::info!(seat = %m.ext, %why, "pick-up refused"),
        }
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

/// Client requests go to their agent.
impl Handler<ClientRequest> for Router {
    type Result = ResponseFuture<Answer>;
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
            let reply: Wire = match routed {
                Some(Routed::Agent(addr, cmd)) => {
                    return addr.send(cmd).await.unwrap_or_else(|_| {
                        Wire::from(Ack::failed(
                            code,
                            None,
                            "internal error; the agent is restarting, try again",
                        ))
                        .into()
                    });
                }
                Some(Routed::Reply(reply)) => *reply,
                Some(Routed::Later(f)) => f.await,
                Some(Routed::LaterThen(f)) => return f.await,
                None => Ack::failed(code, None, "internal error, try again").into(),
            };
            reply.into()
        })
    }
}

/// A seat's session changed (login, logout, a new client address).
impl Handler<SessionChanged> for Router {
    type Result = ();
    fn handle(&mut self, m: SessionChanged, _: &mut Context<Self>) {
        self.access.set(m.tel, m.session);
    }
}

/// Conferences opening and closing.
impl Handler<ConferenceIndex> for Router {
    type Result = ();
    fn handle(&mut self, m: ConferenceIndex, _: &mut Context<Self>) {
        match m {
            ConferenceIndex::Opened(no, addr) => {
                self.conferences.insert(no, addr);
            }
            ConferenceIndex::Closed(no) => {
                self.conferences.remove(&no);
            }
        }
    }
}

/// A seat's phone changed hook: its agent is told (offers wait for on-hook).
impl Handler<SeatHook> for Router {
    type Result = ();
    fn handle(&mut self, m: SeatHook, _: &mut Context<Self>) {
        if m.in_use {
            self.seats_in_use.insert(m.ext.clone());
        } else {
            self.seats_in_use.remove(&m.ext);
        }
        if let Some(a) = self.agents.get(&m.ext) {
            a.do_send(SeatInUse(m.in_use));
        }
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
    Channel(ChannelRef),
    Agent(AgentRef),
    Group(GroupRef),
    Router,
}

impl Router {
    /// The actor at `channel:12`, `agent:8001`, `group:1` or `router`.
    fn locate(&self, path: &str) -> Result<Target, Refusal> {
        let unknown = || Refusal::NoActor(path.to_owned());
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
    type Result = Result<(), Refusal>;
    fn handle(&mut self, m: CrashActor, ctx: &mut Context<Self>) -> Self::Result {
        match self.locate(&m.path)? {
            Target::Channel(a) => a.do_send(crate::messages::channel::Crash),
            Target::Agent(a) => a.do_send(crate::messages::agent::CrashAgent),
            Target::Group(a) => a.do_send(crate::messages::group::CrashGroup),
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
    type Result = Option<AgentRef>;
    fn handle(&mut self, m: AgentAt, _: &mut Context<Self>) -> Self::Result {
        self.agents.get(&m.0).cloned()
    }
}

/// Finds the actor at `path` and restarts it.
impl Handler<RestartActor> for Router {
    type Result = Result<(), Refusal>;
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
