//! Agent requests that are answered from the whole floor rather than by one
//! agent's actor: pick-up (1010, `*7`, off-hook + `*`), channel info (1011),
//! statistics (1013), and the controls that act on another party's call
//! (1016 mute, 1022 force hang-up, 1026 data exchange, 1027 force release).
//!
//! The router resolves who is meant and hands the work here; each function
//! asks the actors concerned and returns the reply's content, or the reason
//! it could not be done (a 9000 Result=0 or a 9040 ResultSTR).

use crate::refusal::Refusal;
use spcti_protocol::event::DataReceived;
use spcti_protocol::monitor::ChannelStatus;
use spcti_protocol::reply::Stats;
use spcti_protocol::{
    AgentState, ChNum, ChType, ChannelState, ConfNo, GroupNo, TelNum, TellGuid, TransType, WorkNo,
};

use crate::clock::Mono;
use crate::deps::{CheckWhitelist, Deps, SendToClient};
use crate::leg::{Ringer, TransferTo};
use crate::messages::agent::{AgentView, GetAgent, Placing, PlacingCancelled, Transferred};
use crate::messages::channel::{ForceRelease, GetChannel, MuteSeat};
use crate::messages::group::{FindPickup, GetStats, PickupFind};
use crate::messages::seat::{HandOver, RingingFor, StartCall, SupervisePlaced, TakeOverPlaced};
use crate::messages::trunk::{
    ConsultCall, FreeTrunk, PickUpCall, RetrieveCall, Seize, Supervise, TakeOver, TransferCall,
};
use crate::messages::{AgentRef, TrunkRef};
use crate::outbound::{Far, Origin, Placed};

/// What an agent asks to pick up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PickTarget {
    /// Any call ringing in my groups (1010 with no Target, off-hook + `*`).
    Any,
    /// The call ringing at this extension.
    Ext(TelNum),
    /// The longest-ringing call of this group.
    Group(GroupNo),
}

/// A picked-up call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Picked {
    /// The trunk the call is on.
    pub trunk: ChNum,
    pub caller: String,
    /// The picker's seat was on-hook: it rings now, rather than being connected.
    pub ringing: bool,
}

fn too_early(rang: std::time::Duration, min: std::time::Duration) -> Refusal {
    Refusal::state(format!(
        "the call has rung {} s; pick-up is allowed after {} s",
        rang.as_secs(),
        min.as_secs()
    ))
}

/// The agent's view, refused unless it is logged in and on no call.
async fn free_agent(agent: &AgentRef) -> Result<AgentView, Refusal> {
    let view = agent.send(GetAgent).await.map_err(Refusal::from)?;
    if view.state == AgentState::Offline {
        return Err(Refusal::NotLoggedIn(view.tel.clone()));
    }
    if view.call.is_some() {
        return Err(Refusal::AlreadyOnCall);
    }
    Ok(view)
}

/// The longest-ringing call in `groups` that has rung long enough.
async fn ringing_in_groups(
    deps: &Deps,
    groups: impl Iterator<Item = GroupNo>,
) -> Result<(ChNum, TrunkRef), Refusal> {
    let min_ring = deps.settings.pickup_min_ring;
    let mut best: Option<(Mono, ChNum, TrunkRef)> = None;
    let mut early = None;
    for g in groups {
        let Some(group) = deps.group(g) else { continue };
        match group.send(FindPickup { min_ring }).await {
            Ok(PickupFind::Found { since, trunk, ch }) => {
                if best.as_ref().is_none_or(|(s, _, _)| since < *s) {
                    best = Some((since, ch, trunk));
                }
            }
            Ok(PickupFind::TooEarly { rang }) => {
                early = Some(early.map_or(rang, |e: std::time::Duration| e.max(rang)));
            }
            Ok(PickupFind::Nothing) | Err(_) => {}
        }
    }
    match (best, early) {
        (Some((_, ch, trunk)), _) => Ok((ch, trunk)),
        (None, Some(rang)) => Err(too_early(rang, min_ring)),
        (None, None) => Err(Refusal::state("no call is ringing there")),
    }
}

/// Picks a ringing call up to `agent`'s seat: connected at once when the
/// seat is lifted, rung otherwise. Refused before the call has rung
/// `pickup_min_ring_s`.
pub async fn pick_up(deps: Deps, agent: AgentRef, target: PickTarget) -> Result<Picked, Refusal> {
    let view = free_agent(&agent).await?;
    let (ch, trunk) = match &target {
        PickTarget::Any => {
            if view.groups.is_empty() {
                return Err(Refusal::state("you are in no group"));
            }
            ringing_in_groups(&deps, view.groups.iter().map(|(g, _)| *g)).await?
        }
        PickTarget::Group(g) => ringing_in_groups(&deps, std::iter::once(*g)).await?,
        PickTarget::Ext(ext) => {
            if *ext == view.tel {
                return Err(Refusal::state(
                    "the call is ringing your own seat: answer it",
                ));
            }
            let seat = deps
                .topo()
                .seats
                .get(ext)
                .and_then(|ch| deps.seat(*ch))
                .ok_or_else(|| Refusal::NoExtension(ext.to_string()))?;
            let (call, since) = seat
                .send(RingingFor)
                .await
                .map_err(Refusal::from)?
                .ok_or_else(|| Refusal::state(format!("{ext} is not ringing")))?;
            let rang = deps.clock.now().saturating_sub(since);
            if rang < deps.settings.pickup_min_ring {
                return Err(too_early(rang, deps.settings.pickup_min_ring));
            }
            // A call between two seats lives on the calling seat.
            let trunk = deps
                .trunk(call)
                .ok_or(Refusal::state("not a trunk"))?
                .clone();
            (call, trunk)
        }
    };
    let lifted = match deps.channel(view.seat) {
        Some(seat) => seat.send(GetChannel).await.map_err(Refusal::from)?.state,
        None => ChannelState::Free,
    } == ChannelState::Dialing;
    let picker = Ringer {
        agent: view.tel.clone(),
        work_no: view.work_no.clone(),
        seat: view.seat,
    };
    let caller = trunk
        .send(PickUpCall {
            picker,
            agent,
            seat_lifted: lifted,
        })
        .await
        .map_err(Refusal::from)??;
    tracing::info!(agent = %view.tel, trunk = %ch, ?target, ringing = !lifted, "picked up");
    Ok(Picked {
        trunk: ch,
        caller,
        ringing: !lifted,
    })
}

/// The seat channels of the floor with their agent's WorkNo and states
/// filled in, as 6012 shows them.
fn with_agents(deps: &Deps, mut chans: Vec<ChannelStatus>) -> Vec<ChannelStatus> {
    let agents = deps.monitor.agents();
    for c in &mut chans {
        let Some(tel) = &c.tel_num else { continue };
        if let Some((a, _)) = agents.iter().find(|(a, _)| &a.tel_num == tel) {
            if a.agent_state != AgentState::Offline {
                c.work_no.clone_from(&a.work_no);
            }
            if c.ch_type != spcti_protocol::ChType::Trunk {
                c.agent_state = Some(a.agent_state);
                c.show_state.clone_from(&a.show_state);
            }
        }
    }
    chans
}

/// The job number of the agent logged in at seat `tel`, if any.
fn work_no_at(deps: &Deps, tel: &TelNum) -> Option<WorkNo> {
    deps.monitor
        .agents()
        .into_iter()
        .find(|(a, _)| &a.tel_num == tel && a.agent_state != AgentState::Offline)
        .and_then(|(a, _)| a.work_no)
}

/// The logged-in agent with job number `w`, if any.
pub fn agent_with_work_no(deps: &Deps, w: &WorkNo) -> Option<TelNum> {
    deps.monitor
        .agents()
        .into_iter()
        .find(|(a, _)| a.work_no.as_ref() == Some(w) && a.agent_state != AgentState::Offline)
        .map(|(a, _)| a.tel_num)
}

/// 1011: the channels a query names, by ChNum > TelNum > WorkNo (seed):
/// one channel by number; by seat or agent, the seat's channel and the
/// channel talking to it.
pub fn channel_info(
    deps: &Deps,
    ch: Option<ChNum>,
    tel: Option<&TelNum>,
    work_no: Option<&WorkNo>,
) -> Result<Vec<ChannelStatus>, Refusal> {
    let all = deps.monitor.channels();
    let tel = match (ch, tel, work_no) {
        (Some(ch), _, _) => {
            let one: Vec<ChannelStatus> = all.into_iter().filter(|c| c.ch_num == ch).collect();
            if one.is_empty() {
                return Err(Refusal::NoChannel(ch));
            }
            return Ok(with_agents(deps, one));
        }
        (None, Some(tel), _) => {
            if !deps.topo().seats.contains_key(tel) {
                return Err(Refusal::NoExtension(tel.to_string()));
            }
            tel.clone()
        }
        (None, None, Some(w)) => {
            agent_with_work_no(deps, w).ok_or_else(|| Refusal::NoWorkNo(w.clone()))?
        }
        (None, None, None) => return Err(Refusal::invalid("ChNum, TelNum or WorkNo is required")),
    };
    let mut found: Vec<ChannelStatus> = all
        .into_iter()
        .filter(|c| c.tel_num.as_ref() == Some(&tel))
        .collect();
    // The seat first, then the call it is on.
    found.sort_by_key(|c| (c.ch_type == spcti_protocol::ChType::Trunk, c.ch_num.0));
    Ok(with_agents(deps, found))
}

/// 1013: one group's statistics, or (no group) the whole floor's: agents
/// counted once however many groups they serve; the service level weighted
/// by each group's answered calls. Asked of the groups, so waits are as of now.
pub async fn statistics(deps: Deps, group: Option<GroupNo>) -> Result<Stats, Refusal> {
    if let Some(g) = group {
        let addr = deps.group(g).ok_or(Refusal::NoGroup(g))?;
        return addr.send(GetStats).await.map_err(Refusal::from);
    }
    let mut total = Stats {
        group_no: None,
        online: 0,
        ready: 0,
        busy: 0,
        talking: 0,
        ringing: 0,
        queued: 0,
        longest_wait_s: 0,
        answered_today: 0,
        abandoned_today: 0,
        service_level: 100,
    };
    for (a, _) in deps.monitor.agents() {
        let n = match a.agent_state {
            AgentState::Offline => continue,
            AgentState::Ready => &mut total.ready,
            AgentState::Busy | AgentState::WrapUp => &mut total.busy,
            AgentState::Talking => &mut total.talking,
            AgentState::Ringing => &mut total.ringing,
        };
        *n += 1;
        total.online += 1;
    }
    let mut weighted = 0u64;
    for addr in deps.topo().groups.values() {
        let s = addr.send(GetStats).await.map_err(Refusal::from)?;
        total.queued += s.queued;
        total.longest_wait_s = total.longest_wait_s.max(s.longest_wait_s);
        total.answered_today += s.answered_today;
        total.abandoned_today += s.abandoned_today;
        weighted += u64::from(s.service_level) * u64::from(s.answered_today);
    }
    if total.answered_today > 0 {
        total.service_level = (weighted / u64::from(total.answered_today)) as u32;
    }
    Ok(total)
}

/// The agent's view, refused unless it is on a call (connected).
async fn talking(agent: &AgentRef) -> Result<(AgentView, ChNum), Refusal> {
    let view = agent.send(GetAgent).await.map_err(Refusal::from)?;
    match (view.state, view.call) {
        (AgentState::Talking, Some(call)) => Ok((view, call)),
        _ => Err(Refusal::state(format!("{} is not on a call", view.tel))),
    }
}

/// 1016: the agent only listens (`on`) or talks again.
pub async fn mute(deps: Deps, agent: AgentRef, on: bool) -> Result<(), Refusal> {
    let (view, call) = talking(&agent).await?;
    let trunk = deps.channel(call).ok_or(Refusal::CallGone)?;
    trunk
        .send(MuteSeat {
            seat: view.seat,
            on,
        })
        .await
        .map_err(Refusal::from)?
}

/// 1022: end the call `target` is talking on (the supervisor's 强拆).
pub async fn force_hangup(deps: Deps, target: AgentRef) -> Result<(), Refusal> {
    let (view, call) = talking(&target).await?;
    tracing::info!(target = %view.tel, trunk = %call, "call force hung up by a supervisor");
    release(deps, call).await
}

/// 1027: release channel `ch`.
pub async fn release(deps: Deps, ch: ChNum) -> Result<(), Refusal> {
    let chan = deps.channel(ch).ok_or(Refusal::NoChannel(ch))?;
    chan.send(ForceRelease).await.map_err(Refusal::from)?
}

/// 1026: data for an agent's desktop program (6026).
pub async fn deliver_data(
    deps: Deps,
    target: AgentRef,
    from: String,
    data: String,
) -> Result<(), Refusal> {
    let view = target.send(GetAgent).await.map_err(Refusal::from)?;
    if view.state == AgentState::Offline {
        return Err(Refusal::NotLoggedIn(view.tel.clone()));
    }
    let to = view
        .client
        .ok_or_else(|| Refusal::state(format!("{} has no client address", view.tel)))?;
    deps.client.do_send(SendToClient {
        to,
        message: DataReceived { from, data }.into(),
    });
    Ok(())
}

/// A call to place from a seat (1003, or digits dialed on the phone).
#[derive(Debug, Clone)]
pub struct PlaceRequest {
    /// An outside number starts with `0` (stripped before dialing); anything
    /// else is an extension.
    pub callee: String,
    pub caller: Option<String>,
    pub guid: Option<TellGuid>,
    pub ring_no: Option<String>,
    pub origin: Origin,
    /// Multi-party mode (1003 `Meeting=1`, 1033): numbers need no leading
    /// `0` (an extension is a configured seat, anything else is dialed as
    /// given), and further calls join the same conference.
    pub meeting: bool,
    pub hallh: bool,
}

/// Whether the whitelist lets the seat dial `callee` (as given, or as dialed).
async fn whitelisted(deps: &Deps, callee: &str, dialed: &str) -> Result<(), Refusal> {
    // Read on a store worker: the quiescence barrier waits for it.
    let _busy = crate::idle::busy();
    for n in [callee, dialed] {
        match deps
            .store
            .whitelist
            .send(CheckWhitelist(n.to_owned()))
            .await
        {
            Ok(Ok(true)) => return Ok(()),
            Ok(Ok(false)) => {}
            Ok(Err(e)) => {
                return Err(Refusal::Storage(format!(
                    "the whitelist cannot be read: {e}"
                )));
            }
            Err(_) => {
                return Err(Refusal::Storage("the whitelist cannot be read".into()));
            }
        }
    }
    Err(Refusal::Denied(
        format!("{callee} is not on the whitelist: outside calls are restricted").into(),
    ))
}

/// Seizes a free trunk for a call placed from `owner`, or says none is free.
async fn seize_trunk(deps: &Deps, seize: impl Fn() -> Seize) -> Result<ChNum, Refusal> {
    let free: Vec<ChNum> = deps
        .monitor
        .channels()
        .into_iter()
        .filter(|c| c.ch_type == ChType::Trunk && c.state == ChannelState::Free)
        .map(|c| c.ch_num)
        .collect();
    for ch in free {
        let Some(trunk) = deps.trunk(ch) else {
            continue;
        };
        if trunk.send(seize()).await.unwrap_or(false) {
            return Ok(ch);
        }
    }
    Err(Refusal::state("no trunk is free (Q.850 34)"))
}

/// Places a call from seat `tel`: its phone rings first unless lifted, then
/// the far end is called. `agent` is the agent logged in there (required for
/// 1003). Answers the call's GUID once it is under way.
pub async fn place_call(
    deps: Deps,
    tel: TelNum,
    agent: Option<AgentRef>,
    req: PlaceRequest,
) -> Result<TellGuid, Refusal> {
    let seat_ch = *deps
        .topo()
        .seats
        .get(&tel)
        .ok_or_else(|| Refusal::state(format!("{tel} is not a seat extension")))?;
    let callee = req.callee.trim().to_owned();
    if callee.is_empty()
        || !callee
            .chars()
            .all(|c| c.is_ascii_digit() || c == '*' || c == '#')
    {
        return Err(Refusal::invalid(format!(
            "CalleeNo {callee:?} is not a number"
        )));
    }
    let view = match &agent {
        Some(a) => Some(a.send(GetAgent).await.map_err(Refusal::from)?),
        None => None,
    }
    .filter(|v| v.state != AgentState::Offline);
    if req.origin == Origin::Client && view.is_none() {
        return Err(Refusal::NotLoggedIn(tel.clone()));
    }
    // Another party for the agent's conference call is no new call.
    let joining = req.meeting && view.as_ref().is_some_and(|v| v.call == Some(seat_ch));
    if !joining && view.as_ref().is_some_and(|v| v.call.is_some()) {
        return Err(Refusal::AlreadyOnCall);
    }
    let ringer = view.as_ref().map(|v| Ringer {
        agent: v.tel.clone(),
        work_no: v.work_no.clone(),
        seat: v.seat,
    });
    let guid = req.guid.unwrap_or_else(TellGuid::new_v4);
    let given_caller = req
        .caller
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty());
    let as_extension = TelNum::new(callee.as_str())
        .ok()
        .filter(|e| deps.topo().seats.contains_key(e));
    let outside = if req.meeting {
        // Conference mode: no `0` marks outside numbers.
        as_extension.is_none().then_some(callee.as_str())
    } else {
        callee.strip_prefix('0')
    };
    let (far, dialed, caller) = if let Some(outside) = outside {
        if outside.is_empty() {
            return Err(Refusal::invalid("CalleeNo 0 dials no number"));
        }
        if deps.settings.whitelist_only {
            whitelisted(&deps, &callee, outside).await?;
        }
        let caller = given_caller
            .or_else(|| Some(deps.settings.caller_no.clone()).filter(|c| !c.is_empty()))
            .unwrap_or_else(|| tel.to_string());
        let seize = || Seize {
            owner: seat_ch,
            guid,
            caller: caller.clone(),
            callee: outside.to_owned(),
            agent: ringer.clone(),
        };
        let trunk = seize_trunk(&deps, seize).await?;
        (Far::Trunk(trunk), outside.to_owned(), caller)
    } else {
        let ext = as_extension.ok_or_else(|| {
            Refusal::invalid(format!(
                "no extension {callee}; outside numbers start with 0"
            ))
        })?;
        if ext == tel {
            return Err(Refusal::state("you cannot call your own extension"));
        }
        let ch = deps.topo().seats[&ext];
        (
            Far::Seat { ch, ext },
            callee.clone(),
            given_caller.unwrap_or_else(|| tel.to_string()),
        )
    };
    let undo = |why: Refusal| {
        if let Far::Trunk(t) = &far {
            if let Some(t) = deps.trunk(*t) {
                t.do_send(FreeTrunk);
            }
        }
        why
    };
    // The agent at a called extension gets the call as any offered call.
    let far_agent = match &far {
        // A busy extension answers 17; its agent sees nothing of it.
        Far::Seat { ch, .. } if !matches!(seat_state(&deps, *ch).await, Ok(ChannelState::Free)) => {
            None
        }
        Far::Seat { ext, .. } => {
            let router = &deps.topo().router;
            match router
                .send(crate::messages::router::AgentAt(ext.clone()))
                .await
            {
                Ok(Some(a)) => match a.send(GetAgent).await {
                    Ok(v) if v.state != AgentState::Offline => Some(a),
                    _ => None,
                },
                _ => None,
            }
        }
        Far::Trunk(_) => None,
    };
    let agent = agent.filter(|_| view.is_some());
    if let Some(a) = agent.as_ref().filter(|_| !joining) {
        a.send(Placing { call: seat_ch })
            .await
            .map_err(|_| undo(Refusal::Restarting))?
            .map_err(undo)?;
    }
    let placed = Placed {
        guid,
        caller,
        ring_no: req
            .ring_no
            .map(|r| r.trim().to_owned())
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| callee.clone()),
        callee,
        dialed,
        seat: seat_ch,
        agent: ringer,
        far: far.clone(),
        origin: req.origin,
        started: deps.clock.now(),
        meeting: req.meeting,
    };
    let seat = deps.seat(seat_ch).ok_or(Refusal::Gone("seat"))?;
    let started = seat
        .send(StartCall {
            call: placed,
            agent: agent.clone(),
            far_agent,
            hallh: req.hallh,
        })
        .await
        .map_err(Refusal::from)
        .and_then(|r| r);
    if let Err(why) = started {
        if let Some(a) = agent.as_ref().filter(|_| !joining) {
            a.do_send(PlacingCancelled { call: seat_ch });
        }
        return Err(undo(why));
    }
    tracing::info!(seat = %tel, %guid, far = ?far, "call placed");
    Ok(guid)
}

/// Where an agent transfers its call.
#[derive(Debug, Clone)]
pub enum TransferTarget {
    /// An extension, with the agent logged in there if any.
    Ext(TelNum, Option<AgentRef>),
    Group(GroupNo),
    /// An outside number with its leading `0`, and the CallerNo to show.
    Outside {
        number: String,
        caller: Option<String>,
    },
}

/// The channel of extension `ext`, refused unless its phone is on-hook and idle.
async fn free_seat(deps: &Deps, ext: &TelNum) -> Result<ChNum, Refusal> {
    let seat = *deps
        .topo()
        .seats
        .get(ext)
        .ok_or_else(|| Refusal::NoExtension(ext.to_string()))?;
    if seat_state(deps, seat).await? != ChannelState::Free {
        return Err(Refusal::Busy(ext.clone()));
    }
    Ok(seat)
}

async fn seat_state(deps: &Deps, seat: ChNum) -> Result<ChannelState, Refusal> {
    let chan = deps.channel(seat).ok_or(Refusal::Gone("seat"))?;
    Ok(chan.send(GetChannel).await.map_err(Refusal::from)?.state)
}

/// Where a transfer's target is reached, for the call on trunk `owner`
/// (`guid`; `shown`: its caller, shown to an outside target when neither
/// the request nor `[sys] caller_no` gives a number): the extension's seat
/// (on-hook and idle) with the agent logged in there, if any and not on a
/// call; a group; or an outside number dialed on a trunk seized for it.
async fn reach(
    deps: &Deps,
    target: TransferTarget,
    owner: ChNum,
    guid: TellGuid,
    shown: String,
) -> Result<(TransferTo, Option<AgentRef>), Refusal> {
    match target {
        TransferTarget::Outside { number, caller } => {
            let dialed = number.strip_prefix('0').unwrap_or(&number).to_owned();
            if dialed.is_empty() || !dialed.chars().all(|c| c.is_ascii_digit()) {
                return Err(Refusal::invalid(format!(
                    "{number} is not an outside number"
                )));
            }
            if deps.settings.whitelist_only {
                whitelisted(deps, &number, &dialed).await?;
            }
            // Shown to the far end: the given number, the center's, else
            // the caller's own.
            let caller = caller
                .filter(|c| !c.trim().is_empty())
                .or_else(|| Some(deps.settings.caller_no.clone()).filter(|c| !c.is_empty()))
                .unwrap_or(shown);
            let seize = || Seize {
                owner,
                guid,
                caller: caller.clone(),
                callee: dialed.clone(),
                agent: None,
            };
            let out = seize_trunk(deps, seize).await?;
            Ok((
                TransferTo::Outside {
                    trunk: out,
                    caller,
                    dialed,
                },
                None,
            ))
        }
        TransferTarget::Group(g) => {
            if deps.group(g).is_none() {
                return Err(Refusal::NoGroup(g));
            }
            Ok((TransferTo::Group(g), None))
        }
        TransferTarget::Ext(ext, target_agent) => {
            let seat = free_seat(deps, &ext).await?;
            let mut work_no = None;
            let target_agent = match target_agent {
                Some(a) => {
                    let v = a.send(GetAgent).await.map_err(Refusal::from)?;
                    if v.call.is_some() {
                        return Err(Refusal::state(format!("{ext} is busy on a call")));
                    }
                    // Nobody logged in there: the phone rings without a pop.
                    (v.state != AgentState::Offline).then(|| {
                        work_no = v.work_no;
                        a
                    })
                }
                None => None,
            };
            let ringer = Ringer {
                agent: ext,
                work_no,
                seat,
            };
            Ok((TransferTo::Seat(ringer), target_agent))
        }
    }
}

/// A flow's `transfer` node on the call on trunk `owner`: `to` is an
/// extension, else the WorkNo of a logged-in agent, else (with `[sys]
/// transtoout`) an outside number. Answers where it is reached, as
/// [`reach`] does.
pub async fn flow_transfer(
    deps: Deps,
    owner: ChNum,
    guid: TellGuid,
    caller: String,
    to: String,
) -> Result<(TransferTo, Option<AgentRef>), Refusal> {
    let ext = |tel: TelNum| async {
        let agent = deps
            .topo()
            .router
            .send(crate::messages::router::AgentAt(tel.clone()))
            .await
            .ok()
            .flatten();
        TransferTarget::Ext(tel, agent)
    };
    let seat = TelNum::new(to.clone())
        .ok()
        .filter(|t| deps.topo().seats.contains_key(t));
    let by_work_no = WorkNo::new(to.clone())
        .ok()
        .and_then(|w| agent_with_work_no(&deps, &w));
    let target = match (seat, by_work_no) {
        (Some(tel), _) | (None, Some(tel)) => ext(tel).await,
        (None, None) if deps.settings.transtoout => TransferTarget::Outside {
            number: to,
            caller: None,
        },
        (None, None) if to.len() > 1 && to.starts_with('0') => {
            return Err(Refusal::Denied(
                "transfers to outside numbers are off ([sys] transtoout)".into(),
            ));
        }
        (None, None) => return Err(Refusal::NoExtension(to)),
    };
    reach(&deps, target, owner, guid, caller).await
}

/// 1008 / `*5` / `*6`: sends the call `agent` is talking on to an
/// extension or a group. Answers the channel the call went to (the target
/// seat; none for a group) and the 9030 TransType.
pub async fn transfer(
    deps: Deps,
    agent: AgentRef,
    target: TransferTarget,
) -> Result<(Option<ChNum>, TransType), Refusal> {
    let (view, call) = talking(&agent).await?;
    // A call the agent placed is owned by its own seat.
    let placed = call == view.seat;
    let here = deps.channel(call).ok_or(Refusal::CallGone)?;
    match &target {
        TransferTarget::Outside { .. } if placed => {
            return Err(Refusal::state(
                "a call you placed cannot be transferred to an outside number",
            ));
        }
        TransferTarget::Ext(ext, _) if *ext == view.tel => {
            return Err(Refusal::state("you cannot transfer a call to yourself"));
        }
        _ => {}
    }
    let (guid, shown) = match &target {
        TransferTarget::Outside { .. } => {
            let here = here.send(GetChannel).await.map_err(Refusal::from)?;
            (here.guid.unwrap_or_else(TellGuid::new_v4), here.caller)
        }
        _ => (TellGuid::new_v4(), String::new()),
    };
    let (to, target_agent) = reach(&deps, target, call, guid, shown).await?;
    let result = match &to {
        TransferTo::Seat(r) => (Some(r.seat), TransType::Internal),
        // The call stays on its trunk, queued: that is where it went.
        TransferTo::Group(_) => (Some(call), TransType::Group),
        TransferTo::Outside { trunk, .. } => (Some(*trunk), TransType::Outbound),
    };
    if placed {
        // The seat's part ends; the far trunk takes the call over.
        let seat = deps.seat(call).ok_or(Refusal::CallGone)?;
        let out = seat
            .send(HandOver {
                to,
                agent: target_agent,
            })
            .await
            .map_err(Refusal::from)??;
        agent.do_send(Transferred { call: out });
        tracing::info!(agent = %view.tel, trunk = %out, ?result, "placed call transferred");
        // A placed call queued to a group waits on its far trunk.
        if result.1 == TransType::Group {
            return Ok((Some(out), TransType::Group));
        }
        return Ok(result);
    }
    let seized = match &to {
        TransferTo::Outside { trunk, .. } => Some(*trunk),
        _ => None,
    };
    // A call between two seats lives on the calling seat.
    let trunk = deps
        .trunk(call)
        .ok_or(Refusal::OnlyInbound("transferred"))?;
    let sent = trunk
        .send(TransferCall {
            from_seat: view.seat,
            to,
            agent: target_agent,
        })
        .await
        .map_err(Refusal::from)
        .and_then(|r| r);
    if let Err(why) = sent {
        if let Some(t) = seized.and_then(|t| deps.trunk(t)) {
            t.do_send(FreeTrunk);
        }
        return Err(why);
    }
    tracing::info!(agent = %view.tel, trunk = %call, ?result, "call transferred");
    Ok(result)
}

/// 1009 (`only_ringing`) / 1007: the agent takes back the call it
/// transferred, while it still rings at the target or (1007) waits in a queue.
pub async fn retrieve(deps: Deps, agent: AgentRef, only_ringing: bool) -> Result<String, Refusal> {
    let view = free_agent(&agent).await?;
    let call = view
        .transferred
        .ok_or(Refusal::state("you have transferred no call"))?;
    let trunk = deps.trunk(call).ok_or(Refusal::CallGone)?;
    let lifted = seat_state(&deps, view.seat).await? == ChannelState::Dialing;
    trunk
        .send(RetrieveCall {
            by: Ringer {
                agent: view.tel.clone(),
                work_no: view.work_no.clone(),
                seat: view.seat,
            },
            agent,
            only_ringing,
            seat_lifted: lifted,
        })
        .await
        .map_err(Refusal::from)?
}

/// A supervisor and the agent it acts on: (supervisor's view, its
/// lifted-ness, the agent's call, the agent's seat). Refused unless the
/// agent is on a call and the supervisor is free for it (or already on
/// that call, changing mode or taking it over).
async fn supervision(
    deps: &Deps,
    sup: &AgentRef,
    target: &AgentRef,
) -> Result<(AgentView, bool, ChNum, ChNum), Refusal> {
    let sv = sup.send(GetAgent).await.map_err(Refusal::from)?;
    if sv.state == AgentState::Offline {
        return Err(Refusal::NotLoggedIn(sv.tel.clone()));
    }
    let (tv, call) = talking(target).await?;
    if tv.tel == sv.tel {
        return Err(Refusal::state("you cannot supervise yourself"));
    }
    if sv.call.is_some_and(|c| c != call) {
        return Err(Refusal::AlreadyOnCall);
    }
    let lifted = seat_state(deps, sv.seat).await? == ChannelState::Dialing;
    Ok((sv, lifted, call, tv.seat))
}

fn ringer_of(v: &AgentView) -> Ringer {
    Ringer {
        agent: v.tel.clone(),
        work_no: v.work_no.clone(),
        seat: v.seat,
    }
}

/// 1019 (listen or whisper) / 1020 (barge in): the supervisor joins
/// `target`'s call in a conference; its seat rings first if on-hook.
/// Answers the conference.
pub async fn supervise(
    deps: Deps,
    sup: AgentRef,
    target: AgentRef,
    mode: crate::leg::SupMode,
) -> Result<ConfNo, Refusal> {
    // A supervisor already on this very call changes mode (listen <->
    // barge); `supervision` refuses one on another call.
    let (sv, lifted, call, agent_seat) = supervision(&deps, &sup, &target).await?;
    // An inbound call lives on its trunk; a call an agent placed (out, to
    // another extension, or a meeting) on the placing seat.
    let conf = match (deps.trunk(call), deps.seat(call)) {
        (Some(trunk), _) => trunk
            .send(Supervise {
                sup: ringer_of(&sv),
                agent: sup,
                mode,
                seat_lifted: lifted,
            })
            .await
            .map_err(Refusal::from)??,
        (None, Some(seat)) => seat
            .send(SupervisePlaced {
                sup: ringer_of(&sv),
                agent: sup,
                mode,
                seat_lifted: lifted,
                agent_seat,
            })
            .await
            .map_err(Refusal::from)??,
        (None, None) => return Err(Refusal::CallGone),
    };
    tracing::info!(supervisor = %sv.tel, call = %call, ?mode, "supervising");
    Ok(conf)
}

/// 1021: the supervisor takes `target`'s call; the agent is cut off.
pub async fn take_over(deps: Deps, sup: AgentRef, target: AgentRef) -> Result<(), Refusal> {
    let (sv, lifted, call, _) = supervision(&deps, &sup, &target).await?;
    match (deps.trunk(call), deps.seat(call)) {
        (Some(trunk), _) => trunk
            .send(TakeOver {
                sup: ringer_of(&sv),
                agent: sup,
                seat_lifted: lifted,
            })
            .await
            .map_err(Refusal::from)??,
        // A call out goes on on its far trunk, for the supervisor.
        (None, Some(seat)) => {
            seat.send(TakeOverPlaced {
                sup: ringer_of(&sv),
                agent: sup,
                seat_lifted: lifted,
            })
            .await
            .map_err(Refusal::from)??;
        }
        (None, None) => return Err(Refusal::CallGone),
    }
    tracing::info!(supervisor = %sv.tel, call = %call, "call taken over");
    Ok(())
}

/// After a hook flash: the agent on hold dialed extension `ext` to consult.
pub async fn consult(
    deps: Deps,
    agent: AgentRef,
    ext: TelNum,
    target_agent: Option<AgentRef>,
) -> Result<(), Refusal> {
    let (view, call) = talking(&agent).await?;
    let seat = free_seat(&deps, &ext).await?;
    let work_no = work_no_at(&deps, &ext);
    let trunk = deps.trunk(call).ok_or(Refusal::CallGone)?;
    trunk
        .send(ConsultCall {
            from_seat: view.seat,
            target: Ringer {
                agent: ext,
                work_no,
                seat,
            },
            agent: target_agent,
        })
        .await
        .map_err(Refusal::from)?
}
