//! The SIP switch: one actor holding the SIP endpoint (transactions,
//! registrar) and every channel's call leg, turning SIP into the switch
//! model the actors know (docs/sip.md, "Behaviour the agent protocol
//! relies on") and the actors' commands into SIP. Audio is the media
//! engine's: this actor only opens, points and closes streams.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use spcti_actors::clock::Clock;
use spcti_actors::sip::dialog::{Dialog, tag};
use spcti_actors::sip::endpoint::{Endpoint, Out};
use spcti_actors::sip::sdp::{self, Agreed, Codec, Direction};
use spcti_actors::sip::transaction::{Key, final_response, response_for};
use spcti_actors::switch::{
    ChannelDesc, ChannelKind, EventSink, SetEventSink, SwitchCommand, SwitchEvent,
};
use spcti_protocol::sip::Message;
use spcti_protocol::{Cause, ChNum, ConfNo, TellGuid};
use tokio::net::UdpSocket;

use super::calls;
use crate::media::engine::{Cmd, MediaEngine, Stream};
use crate::sim::wav::Prompts;
use crate::switch::{Registration, Registrations};

/// A datagram on the SIP port.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Datagram(pub SocketAddr, pub Vec<u8>);

/// Seats' passwords read from `sp_sipregpwd`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Passwords(pub HashMap<String, String>);

/// A trunk as the switch uses it.
#[derive(Debug, Clone)]
pub struct Trunk {
    pub peer: SocketAddr,
    pub first: u32,
    pub count: u32,
    pub user: String,
    pub password: String,
    pub from_number: String,
}

/// A channel's call leg.
#[derive(Debug, Default)]
pub(super) enum Leg {
    #[default]
    Idle,
    /// An INVITE to us, not answered yet.
    Offered {
        key: Key,
        invite: Message,
        sdp: Vec<u8>,
        agreed: Option<Agreed>,
        to_tag: String,
    },
    /// Our INVITE, not answered yet.
    Calling {
        key: Key,
        invite: Message,
        to: SocketAddr,
        authed: bool,
        alerted: bool,
    },
    /// Answered: the dialog, and where its requests go. `held`: the peer
    /// holds the call (its last offer sends only, or nothing).
    Up {
        dialog: Dialog,
        to: SocketAddr,
        held: bool,
    },
    /// The far end left; the actors have not cleared the channel yet.
    Gone,
}

pub(super) struct Chan {
    pub(super) desc: ChannelDesc,
    pub(super) leg: Leg,
    pub(super) stream: Option<Stream>,
    /// The channels that hear this one.
    pub(super) heard_by: HashSet<ChNum>,
    /// The channels this one hears.
    pub(super) hears: HashSet<ChNum>,
    /// The trunk this seat heard last, once it hears nothing.
    pub(super) last_heard: Option<ChNum>,
    pub(super) call_id: Option<String>,
}

/// A 2xx of ours waiting for its ACK.
#[derive(Debug)]
pub(super) struct Unacked {
    key: Key,
    resp: Message,
    next: Duration,
    interval: Duration,
    until: Duration,
}

/// Settings fixed at start.
pub struct Setup {
    pub local: SocketAddr,
    pub codecs: Vec<Codec>,
    pub max_calls: u32,
    /// RFC 3261's T1/T2/T4 (`[sip] t1_ms` ...): our 2xx is resent on them.
    pub timers: spcti_actors::sip::transaction::Timers,
    pub trunks: Vec<Trunk>,
    pub seat_passwords: HashMap<String, String>,
    pub recordings: PathBuf,
}

/// A member of a conference on SIP legs: who hears it is set by feeds.
#[derive(Debug, Clone, Copy)]
pub(super) struct ConfMember {
    pub ch: ChNum,
    /// Hears the others, is heard by none.
    pub listen_only: bool,
    /// Heard by this member only (a supervisor's whisper).
    pub heard_by: Option<ChNum>,
}

impl ConfMember {
    /// Whether `other` hears this member.
    pub fn heard_by(&self, other: ChNum) -> bool {
        !self.listen_only && self.heard_by.is_none_or(|h| h == other)
    }
}

pub struct SipSwitch {
    pub(super) ep: Endpoint,
    pub(super) socket: Arc<UdpSocket>,
    pub(super) setup: Setup,
    pub(super) chans: Vec<Chan>,
    pub(super) by_ext: HashMap<String, usize>,
    pub(super) by_call: HashMap<String, usize>,
    /// Our client transactions (INVITEs) and server INVITEs, by channel.
    pub(super) by_key: HashMap<Key, usize>,
    /// INVITEs we cancelled: a 2xx that crosses the CANCEL is ACKed and
    /// ended at once.
    pub(super) cancelled: HashMap<Key, Message>,
    /// Our 2xx answers not yet ACKed, by Call-ID: sent again at T1, 2·T1
    /// ... up to T2 (RFC 3261 §13.3.1.4), so that a lost 200 does not
    /// leave the caller waiting.
    pub(super) unacked: HashMap<String, Unacked>,
    /// The wall-clock second of the last full tick.
    pub(super) ticked_s: u64,
    pub(super) confs: HashMap<ConfNo, Vec<ConfMember>>,
    pub(super) sink: Option<EventSink>,
    pub(super) clock: Clock,
    pub(super) media: Arc<MediaEngine>,
    pub(super) prompts: Prompts,
    pub(super) sdp_version: u64,
}

pub(super) fn now_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl SipSwitch {
    pub fn new(
        ep: Endpoint,
        socket: Arc<UdpSocket>,
        setup: Setup,
        descs: &[ChannelDesc],
        clock: Clock,
        media: Arc<MediaEngine>,
        prompts: Prompts,
    ) -> Self {
        let chans: Vec<Chan> = descs
            .iter()
            .map(|d| Chan {
                desc: d.clone(),
                leg: Leg::Idle,
                stream: None,
                heard_by: HashSet::new(),
                hears: HashSet::new(),
                last_heard: None,
                call_id: None,
            })
            .collect();
        let by_ext = descs
            .iter()
            .enumerate()
            .filter_map(|(i, d)| Some((d.ext.as_ref()?.to_string(), i)))
            .collect();
        SipSwitch {
            ep,
            socket,
            setup,
            chans,
            by_ext,
            by_call: HashMap::new(),
            by_key: HashMap::new(),
            cancelled: HashMap::new(),
            unacked: HashMap::new(),
            ticked_s: 0,
            confs: HashMap::new(),
            sink: None,
            clock,
            media,
            prompts,
            sdp_version: 1,
        }
    }

    pub(super) fn emit(&self, ev: SwitchEvent) {
        match &self.sink {
            Some(s) => s.deliver(ev),
            None => tracing::warn!(?ev, "switch event before the channels exist"),
        }
    }

    pub(super) fn out(&mut self, outs: Vec<Out>) {
        for o in outs {
            match o {
                Out::Send(to, bytes) => self.send_bytes(to, &bytes),
                Out::Request(key, req, from) => self.request(key, req, from),
                Out::Response(key, resp) => self.response(key, resp),
                Out::Timeout(key) => self.timeout(key),
                Out::Registered(ext) => {
                    tracing::info!(%ext, "seat registered");
                    self.phone(&ext, true);
                }
                Out::Unregistered(ext) => {
                    tracing::info!(%ext, "seat unregistered");
                    self.phone(&ext, false);
                }
            }
        }
    }

    /// The trunk channel `ch` belongs to.
    pub(super) fn trunk_of(&self, ch: ChNum) -> Option<Trunk> {
        self.setup
            .trunks
            .iter()
            .find(|t| (t.first..t.first + t.count).contains(&ch.0))
            .cloned()
    }

    /// Tells seat `ext`'s actor whether its phone can be rung.
    pub(super) fn phone(&self, ext: &str, registered: bool) {
        if let Some(&i) = self.by_ext.get(ext) {
            let ch = self.chans[i].desc.ch;
            self.emit(SwitchEvent::PhoneRegistered { ch, registered });
        }
    }

    pub(super) fn send_bytes(&self, to: SocketAddr, bytes: &[u8]) {
        if tracing::enabled!(tracing::Level::DEBUG) {
            let first = bytes.split(|b| *b == b'\r').next().unwrap_or_default();
            tracing::debug!(%to, "SIP out: {}", String::from_utf8_lossy(first));
        }
        if let Err(e) = self.socket.try_send_to(bytes, to) {
            tracing::debug!(%to, "SIP send: {e}");
        }
    }

    pub(super) fn respond(&mut self, key: &Key, resp: Message) {
        let now = self.clock.now();
        let outs = self.ep.respond(key, resp, now);
        self.out(outs);
    }

    pub(super) fn send_request(&mut self, to: SocketAddr, req: Message, ch: Option<usize>) -> Key {
        let now = self.clock.now();
        let (key, outs) = self.ep.send(to, req, now);
        if let Some(i) = ch {
            self.by_key.insert(key.clone(), i);
        }
        self.out(outs);
        key
    }

    pub(super) fn active_calls(&self) -> u32 {
        self.chans
            .iter()
            .filter(|c| !matches!(c.leg, Leg::Idle))
            .count() as u32
    }

    pub(super) fn next_sdp_version(&mut self) -> u64 {
        self.sdp_version += 1;
        self.sdp_version
    }

    /// Opens channel `i`'s stream (once per leg).
    pub(super) fn stream(&mut self, i: usize) -> Option<Stream> {
        if let Some(s) = &self.chans[i].stream {
            return Some(s.clone());
        }
        let sink = self.sink.clone()?;
        let c = &self.chans[i];
        match self
            .media
            .open(c.desc.ch, c.desc.kind == ChannelKind::Seat, sink)
        {
            Ok(s) => {
                self.chans[i].stream = Some(s.clone());
                Some(s)
            }
            Err(e) => {
                tracing::error!(ch = %c.desc.ch, "no media for the call: {e}");
                None
            }
        }
    }

    /// A trunk's call ended from outside (the far end left, or our call
    /// failed): the actors are told, and the channel stays taken until
    /// they clear it, as on every switch (a new call must not land on a
    /// channel whose last call is still being closed).
    pub(super) fn far_end_cleared(&mut self, ch: ChNum, cause: Cause) {
        if let Some(c) = self.chans.get_mut(ch.0 as usize) {
            if matches!(c.leg, Leg::Idle) && c.desc.kind == ChannelKind::Trunk {
                c.leg = Leg::Gone;
            }
        }
        self.emit(SwitchEvent::Cleared { ch, cause });
    }

    /// Channel `i`'s leg is over: its stream closed (the recording too),
    /// whoever heard it hears it no more, its call forgotten.
    pub(super) fn end_leg(&mut self, i: usize) {
        let ch = self.chans[i].desc.ch;
        if let Some(s) = self.chans[i].stream.take() {
            s.send(Cmd::Close);
        }
        if let Some(id) = self.chans[i].call_id.take() {
            self.by_call.remove(&id);
            self.unacked.remove(&id);
        }
        self.chans[i].leg = Leg::Idle;
        self.chans[i].last_heard = None;
        self.by_key.retain(|_, v| *v != i);
        for x in std::mem::take(&mut self.chans[i].heard_by) {
            if let Some(c) = self.chans.get_mut(x.0 as usize) {
                c.hears.remove(&ch);
            }
        }
        for x in std::mem::take(&mut self.chans[i].hears) {
            if let Some(c) = self.chans.get_mut(x.0 as usize) {
                c.heard_by.remove(&ch);
                if let Some(s) = &c.stream {
                    s.send(Cmd::Unfeed { to: ch });
                }
            }
        }
        for members in self.confs.values_mut() {
            members.retain(|m| m.ch != ch);
        }
    }

    /// A trunk's caller left: a SIP phone that only heard it is hung up
    /// (a SIP phone, unlike an analog one, is not left lifted on a dead
    /// line: its user would see a call that never ends).
    pub(super) fn hang_up_orphans(&mut self, gone: ChNum, mut listeners: Vec<ChNum>) {
        // Seats the actors unlinked from this trunk just before clearing it
        // (a forced release, a transfer away) count as having heard it.
        listeners.extend(
            self.chans
                .iter()
                .filter(|c| c.last_heard == Some(gone))
                .map(|c| c.desc.ch),
        );
        listeners.sort_by_key(|c| c.0);
        listeners.dedup();
        for x in listeners {
            let i = x.0 as usize;
            let Some(c) = self.chans.get(i) else { continue };
            let in_conf = self.confs.values().any(|m| m.iter().any(|y| y.ch == x));
            if c.desc.kind == ChannelKind::Seat && c.hears.is_empty() && !in_conf {
                if let Leg::Up { .. } = c.leg {
                    tracing::info!(seat = %x, trunk = %gone, "the caller left: the SIP phone is hung up");
                    self.bye(i, Cause::NORMAL);
                    // Not `OnHook`: the agent did not hang up, and the
                    // seat may not have heard of the caller leaving yet.
                    self.emit(SwitchEvent::Released { ch: x });
                }
            }
        }
    }

    /// Sends BYE on channel `i`'s dialog and ends the leg.
    pub(super) fn bye(&mut self, i: usize, cause: Cause) {
        let leg = std::mem::take(&mut self.chans[i].leg);
        if let Leg::Up { mut dialog, to, .. } = leg {
            let local = self.setup.local;
            let mut bye = dialog.request("BYE", &calls::via(local), &calls::contact(local), None);
            bye.set("reason", format!("Q.850;cause={}", cause.0));
            self.send_request(to, bye, None);
        }
        self.end_leg(i);
    }

    // --- requests to us ---------------------------------------------------

    pub(super) fn request(&mut self, key: Key, req: Message, from: SocketAddr) {
        let method = req.method().unwrap_or_default();
        let call_id = req.header("call-id").unwrap_or_default().to_owned();
        let chan = self.by_call.get(&call_id).copied();
        match method.as_str() {
            "INVITE" if req.header("to").and_then(tag).is_some() => self.reinvite(chan, key, req),
            "INVITE" => self.invite(key, req, from),
            "ACK" => self.ack(chan, req),
            "CANCEL" => self.cancel_in(chan, key, req),
            "BYE" => self.bye_in(chan, key, req),
            "INFO" => self.info(chan, key, req),
            _ => {
                let r = final_response(&req, 501, "Not Implemented");
                self.respond(&key, r);
            }
        }
    }

    pub(super) fn invite(&mut self, key: Key, req: Message, from: SocketAddr) {
        let refuse = |this: &mut Self, code: u16, why: &str| {
            tracing::info!(%from, code, "INVITE refused: {why}");
            let mut r = final_response(&req, code, why);
            if code == 503 {
                r.set("retry-after", "5");
            }
            this.respond(&key, r);
        };
        if self
            .by_call
            .contains_key(req.header("call-id").unwrap_or_default())
        {
            // The same call again under a new branch: never a second call
            // (said first: it is not a new call to count against the limit).
            return refuse(self, 482, "Loop Detected");
        }
        if self.active_calls() >= self.setup.max_calls {
            return refuse(self, 503, "Service Unavailable (max_calls reached)");
        }
        // The trunk whose peer sent it; else a seat's phone (its From is
        // a seat here); else a trunk whose host sent it from another port.
        // In that order because seats and trunks may share a host.
        let ext = req.header("from").and_then(calls::user_of);
        let seat = ext.as_ref().and_then(|e| self.by_ext.get(e).copied());
        let trunk = self
            .setup
            .trunks
            .iter()
            .find(|t| t.peer == from)
            .or_else(|| {
                seat.is_none()
                    .then(|| self.setup.trunks.iter().find(|t| t.peer.ip() == from.ip()))
                    .flatten()
            })
            .cloned();
        let i = if let Some(t) = trunk {
            let free = (t.first..t.first + t.count)
                .map(|c| c as usize)
                .find(|c| matches!(self.chans[*c].leg, Leg::Idle));
            match free {
                Some(i) => i,
                None => {
                    return refuse(
                        self,
                        503,
                        "Service Unavailable (no free channel on the trunk)",
                    );
                }
            }
        } else {
            // A seat dialing: its phone must be one of ours, with the
            // seat's password.
            let Some(i) = seat else {
                return refuse(self, 403, "Forbidden (not a trunk peer or a seat)");
            };
            let ext = ext.unwrap_or_default();
            let pw = &self.setup.seat_passwords;
            if let Err(r) = self
                .ep
                .registrar
                .authorize(&req, &ext, now_s(), |u| pw.get(u).cloned())
            {
                self.respond(&key, r);
                return;
            }
            if !matches!(self.chans[i].leg, Leg::Idle) {
                return refuse(self, 486, "Busy Here (the seat is in a call)");
            }
            i
        };
        let Some(stream) = self.stream(i) else {
            return refuse(self, 503, "Service Unavailable (no RTP port free)");
        };
        let version = self.next_sdp_version();
        let (sdp, agreed) = if req.body.is_empty() {
            // No offer: ours goes in the 200, the answer comes in the ACK.
            let o = sdp::offer(
                stream.local,
                &self.setup.codecs,
                Direction::SendRecv,
                version,
                version,
            );
            (o, None)
        } else {
            match sdp::answer(
                &req.body,
                stream.local,
                &self.setup.codecs,
                version,
                version,
            ) {
                Ok((s, a)) => (s, Some(a)),
                Err(e) => {
                    self.end_leg(i);
                    let code = e.status();
                    let mut r = final_response(&req, code, reason_phrase(code));
                    r.set("warning", format!("399 spcti \"{e}\""));
                    self.respond(&key, r);
                    return;
                }
            }
        };
        let call_id = req.header("call-id").unwrap_or_default().to_owned();
        self.by_call.insert(call_id.clone(), i);
        self.by_key.insert(key.clone(), i);
        let ch = self.chans[i].desc.ch;
        self.chans[i].call_id = Some(call_id);
        let to_tag = format!("{:x}", fastrand::u64(..));
        let seat = self.chans[i].desc.kind == ChannelKind::Seat;
        let dialed = calls::callee_of(&req);
        self.chans[i].leg = Leg::Offered {
            key,
            invite: req.clone(),
            sdp,
            agreed,
            to_tag,
        };
        if seat {
            // The phone went off-hook and dialed: answered at once, so
            // that it hears what follows; the digits are the seat's keys.
            self.answer(i);
            self.emit(SwitchEvent::OffHook { ch });
            if !dialed.is_empty() {
                self.emit(SwitchEvent::Dtmf { ch, digits: dialed });
            }
        } else {
            let caller = calls::caller_of(&req);
            self.emit(SwitchEvent::CallIn {
                ch,
                caller,
                callee: dialed,
                guid: TellGuid::new_v4(),
            });
        }
    }

    /// Answers channel `i`'s offered INVITE (200 with our SDP).
    pub(super) fn answer(&mut self, i: usize) {
        let Leg::Offered {
            key,
            invite,
            sdp,
            agreed,
            to_tag,
        } = std::mem::take(&mut self.chans[i].leg)
        else {
            return;
        };
        let mut ok = response_for(&invite, 200, "OK");
        if let Some(to) = invite.header("to") {
            ok.set("to", format!("{to};tag={to_tag}"));
        }
        ok.set("contact", calls::contact(self.setup.local));
        ok.set("allow", spcti_actors::sip::endpoint::ALLOW);
        ok.set("content-type", "application/sdp");
        ok.body = sdp;
        match Dialog::uas(&invite, &ok) {
            Ok(dialog) => {
                let to = self.reply_address(&invite);
                self.chans[i].leg = Leg::Up {
                    dialog,
                    to,
                    held: false,
                };
                if let (Some(a), Some(s)) = (agreed, &self.chans[i].stream) {
                    s.send(Cmd::Peer(a));
                }
                let now = self.clock.now();
                if let Some(id) = invite.header("call-id") {
                    self.unacked.insert(
                        id.to_owned(),
                        Unacked {
                            key: key.clone(),
                            resp: ok.clone(),
                            next: now + self.setup.timers.t1,
                            interval: self.setup.timers.t1,
                            until: now + self.setup.timers.t1 * 64,
                        },
                    );
                }
                self.respond(&key, ok);
            }
            Err(e) => {
                let r = final_response(&invite, 400, &format!("Bad Request ({e})"));
                self.respond(&key, r);
                self.end_leg(i);
                self.far_end_cleared(self.chans[i].desc.ch, Cause(127));
            }
        }
    }

    /// Where in-dialog requests to the sender of `req` go: the address the
    /// transaction came from (its Via's received/rport), else its Contact.
    pub(super) fn reply_address(&self, req: &Message) -> SocketAddr {
        let contact = req
            .values("contact")
            .ok()
            .and_then(|v| v.first().map(|s| s.to_string()))
            .and_then(|c| spcti_protocol::sip::grammar::check_address(&c, "Contact").ok());
        contact
            .as_deref()
            .and_then(host_port)
            .or_else(|| {
                req.top_via()
                    .and_then(|(_, sent_by)| host_port(&format!("sip:{sent_by}")))
            })
            .unwrap_or(self.setup.local)
    }

    // --- responses to our requests ------------------------------------------

    pub(super) fn response(&mut self, key: Key, resp: Message) {
        if let Some(invite) = self.cancelled.get(&key).cloned() {
            // Our CANCEL crossed the answer: take the call and end it.
            if (200..300).contains(&resp.code().unwrap_or(0)) {
                if let Ok(mut d) = Dialog::uac(&invite, &resp) {
                    let to = self.reply_address(&resp);
                    let local = self.setup.local;
                    let ack = d.request("ACK", &calls::via(local), &calls::contact(local), None);
                    self.send_bytes(to, &ack.encode());
                    let bye = d.request("BYE", &calls::via(local), &calls::contact(local), None);
                    self.send_request(to, bye, None);
                }
            }
            if resp.code().unwrap_or(0) >= 200 {
                self.cancelled.remove(&key);
            }
            return;
        }
        let Some(&i) = self.by_key.get(&key) else {
            // A 2xx retransmitted after our ACK: ACK it again.
            return self.reack(&resp);
        };
        let code = resp.code().unwrap_or(408);
        let ch = self.chans[i].desc.ch;
        let seat = self.chans[i].desc.kind == ChannelKind::Seat;
        let Leg::Calling {
            invite,
            to,
            authed,
            alerted,
            ..
        } = &mut self.chans[i].leg
        else {
            if let Leg::Up { .. } = self.chans[i].leg {
                if (200..300).contains(&code) {
                    self.reack(&resp);
                }
            }
            return;
        };
        match code {
            100 => {}
            101..=199 => {
                if !*alerted && !seat {
                    *alerted = true;
                    self.emit(SwitchEvent::Alerting { ch });
                }
            }
            200..=299 => {
                let (invite, to) = (invite.clone(), *to);
                self.by_key.remove(&key);
                self.answered(i, invite, resp, to);
            }
            401 | 407 if !*authed => {
                let (invite, to) = (invite.clone(), *to);
                self.by_key.remove(&key);
                self.authenticate(i, invite, resp, to);
            }
            _ => {
                self.by_key.remove(&key);
                let cause =
                    calls::reason_cause(&resp).unwrap_or_else(|| calls::cause_of_status(code));
                tracing::info!(%ch, code, cause = cause.0, "our INVITE failed");
                self.end_leg(i);
                if seat {
                    // The phone declined (486/603: cause 17/21) or could
                    // not be rung (404, 480, 5xx...): the seat's actor logs
                    // it and the call goes to another agent at once.
                    self.emit(SwitchEvent::RingFailed { ch, cause });
                } else {
                    self.far_end_cleared(ch, cause);
                }
            }
        }
    }

    /// Our request got no answer at all (timer B/F).
    pub(super) fn timeout(&mut self, key: Key) {
        self.cancelled.remove(&key);
        let Some(i) = self.by_key.remove(&key) else {
            return;
        };
        if let Leg::Calling { .. } = self.chans[i].leg {
            let ch = self.chans[i].desc.ch;
            tracing::info!(%ch, "our INVITE got no answer");
            self.end_leg(i);
            if self.chans[i].desc.kind == ChannelKind::Trunk {
                self.far_end_cleared(ch, Cause(102));
            } else {
                // A seat's phone that never answers the INVITE at all
                // cannot be rung (no user responding).
                self.emit(SwitchEvent::RingFailed {
                    ch,
                    cause: Cause::NO_RESPONSE,
                });
            }
        }
    }

    pub(super) fn reack(&mut self, resp: &Message) {
        let call_id = resp.header("call-id").unwrap_or_default();
        let Some(&i) = self.by_call.get(call_id) else {
            return;
        };
        if let Leg::Up { dialog, to, .. } = &mut self.chans[i].leg {
            let to = *to;
            let local = self.setup.local;
            let ack =
                dialog
                    .clone()
                    .request("ACK", &calls::via(local), &calls::contact(local), None);
            self.send_bytes(to, &ack.encode());
        }
    }

    pub(super) fn answered(&mut self, i: usize, invite: Message, resp: Message, to: SocketAddr) {
        let ch = self.chans[i].desc.ch;
        let local = self.setup.local;
        let dialog = match Dialog::uac(&invite, &resp) {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(%ch, "the answer cannot make a dialog: {e}");
                self.end_leg(i);
                self.far_end_cleared(ch, Cause(127));
                return;
            }
        };
        let mut d = dialog.clone();
        let ack = d.request("ACK", &calls::via(local), &calls::contact(local), None);
        let target = self.reply_address(&resp);
        let target = if target == local { to } else { target };
        self.send_bytes(target, &ack.encode());
        match sdp::read_answer(&resp.body, &self.setup.codecs) {
            Ok(a) => {
                if let Some(s) = &self.chans[i].stream {
                    s.send(Cmd::Peer(a));
                }
            }
            Err(e) => tracing::warn!(%ch, "the answer's SDP: {e}"),
        }
        self.chans[i].leg = Leg::Up {
            dialog: d,
            to: target,
            held: false,
        };
        if self.chans[i].desc.kind == ChannelKind::Seat {
            self.emit(SwitchEvent::OffHook { ch });
        } else {
            self.emit(SwitchEvent::Answered { ch });
        }
    }

    pub(super) fn authenticate(
        &mut self,
        i: usize,
        invite: Message,
        resp: Message,
        to: SocketAddr,
    ) {
        let ch = self.chans[i].desc.ch;
        let trunk = self.trunk_of(ch);
        let (hname, ahname) = if resp.code() == Some(407) {
            ("proxy-authenticate", "proxy-authorization")
        } else {
            ("www-authenticate", "authorization")
        };
        let uri = match &invite.start {
            spcti_protocol::sip::StartLine::Request { uri, .. } => uri.clone(),
            _ => String::new(),
        };
        let creds = trunk.filter(|t| !t.user.is_empty()).and_then(|t| {
            let ch = resp.header(hname)?;
            spcti_actors::sip::digest::answer(
                ch,
                &t.user,
                &t.password,
                "INVITE",
                &uri,
                &format!("{:x}", fastrand::u64(..)),
                1,
            )
            .ok()
        });
        let Some(creds) = creds else {
            tracing::info!(%ch, "the peer wants credentials this trunk has not");
            self.end_leg(i);
            self.far_end_cleared(ch, Cause::REJECTED);
            return;
        };
        let again = calls::with_credentials(&invite, self.setup.local, ahname, creds);
        let key = self.send_request(to, again.clone(), Some(i));
        self.chans[i].leg = Leg::Calling {
            key,
            invite: again,
            to,
            authed: true,
            alerted: false,
        };
    }

    pub(super) fn tick(&mut self) {
        let now = self.clock.now();
        // Transactions' timers when due; lapsed registrations once a second.
        let second = now_s();
        if self.ep.next_wake().is_some_and(|w| w <= now) || second != self.ticked_s {
            self.ticked_s = second;
            let outs = self.ep.tick(now, second);
            self.out(outs);
        }
        let due: Vec<String> = self
            .unacked
            .iter()
            .filter(|(_, u)| u.next <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in due {
            let Some(u) = self.unacked.get_mut(&id) else {
                continue;
            };
            if now >= u.until {
                // No ACK in 64·T1: the caller is not there (§13.3.1.4).
                self.unacked.remove(&id);
                if let Some(&i) = self.by_call.get(&id) {
                    tracing::info!(ch = %self.chans[i].desc.ch, "our 200 was never ACKed: ending the call");
                    let ch = self.chans[i].desc.ch;
                    self.bye(i, Cause(102));
                    if self.chans[i].desc.kind == ChannelKind::Seat {
                        self.emit(SwitchEvent::OnHook { ch });
                    } else {
                        self.far_end_cleared(ch, Cause(102));
                    }
                }
                continue;
            }
            u.interval = (u.interval * 2).min(self.setup.timers.t2);
            u.next = now + u.interval;
            let (key, resp) = (u.key.clone(), u.resp.clone());
            self.respond(&key, resp);
        }
    }
}

/// The `IP:port` of a SIP URI (`sip:user@10.0.0.1:5062;transport=udp`);
/// port 5060 when absent. Names are not looked up.
fn host_port(uri: &str) -> Option<SocketAddr> {
    let rest = uri.split_once(':')?.1;
    let hostport = rest.rsplit_once('@').map_or(rest, |x| x.1);
    let hostport = hostport.split([';', '?', '>']).next()?;
    if let Ok(a) = hostport.parse::<SocketAddr>() {
        return Some(a);
    }
    hostport
        .parse::<std::net::IpAddr>()
        .ok()
        .map(|ip| SocketAddr::new(ip, 5060))
}

pub(super) fn reason_phrase(code: u16) -> &'static str {
    match code {
        400 => "Bad Request",
        488 => "Not Acceptable Here",
        _ => "Error",
    }
}

impl Actor for SipSwitch {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        // The transactions' timers, to 10 ms (T1 is at least that).
        ctx.run_interval(Duration::from_millis(10), |act, _| act.tick());
        let socket = self.socket.clone();
        let me = ctx.address();
        actix::spawn(async move {
            let mut buf = vec![0u8; 65_536];
            loop {
                match socket.recv_from(&mut buf).await {
                    Ok((n, from)) => me.do_send(Datagram(from, buf[..n].to_vec())),
                    Err(e) => tracing::debug!("SIP receive: {e}"),
                }
            }
        });
    }
}

impl Handler<Datagram> for SipSwitch {
    type Result = ();
    fn handle(&mut self, Datagram(from, bytes): Datagram, _: &mut Context<Self>) {
        if tracing::enabled!(tracing::Level::DEBUG) {
            let first = bytes.split(|b| *b == b'\r').next().unwrap_or_default();
            tracing::debug!(%from, "SIP in: {}", String::from_utf8_lossy(first));
        }
        let now = self.clock.now();
        let pw = &self.setup.seat_passwords;
        let outs = self
            .ep
            .datagram(from, &bytes, now, now_s(), |u| pw.get(u).cloned());
        self.out(outs);
    }
}

impl Handler<SwitchCommand> for SipSwitch {
    type Result = ();
    fn handle(&mut self, cmd: SwitchCommand, _: &mut Context<Self>) {
        if !cmd.within(self.chans.len() as u32) {
            tracing::error!(?cmd, "command for a channel this switch does not have");
            return;
        }
        self.command(cmd);
    }
}

impl Handler<SetEventSink> for SipSwitch {
    type Result = ();
    fn handle(&mut self, m: SetEventSink, _: &mut Context<Self>) {
        self.sink = Some(m.0);
        // Every seat starts with its phone unregistered.
        let now = now_s();
        for (ext, i) in &self.by_ext {
            let registered = self.ep.registrar.binding(ext, now).is_some();
            let ch = self.chans[*i].desc.ch;
            self.emit(SwitchEvent::PhoneRegistered { ch, registered });
        }
    }
}

impl Handler<Passwords> for SipSwitch {
    type Result = ();
    fn handle(&mut self, m: Passwords, _: &mut Context<Self>) {
        self.setup.seat_passwords = m.0;
    }
}

impl Handler<Registrations> for SipSwitch {
    type Result = MessageResult<Registrations>;
    fn handle(&mut self, _: Registrations, _: &mut Context<Self>) -> Self::Result {
        let now = now_s();
        let mut out = HashMap::new();
        for (ext, i) in &self.by_ext {
            let b = self.ep.registrar.binding(ext, now);
            out.insert(
                self.chans[*i].desc.ch,
                Registration {
                    registered: b.is_some(),
                    contact: b.map(|b| b.contact.clone()),
                    expires: b.map(|b| b.expires_at.saturating_sub(now)),
                    user_agent: b.map(|b| b.user_agent.clone()),
                },
            );
        }
        MessageResult(out)
    }
}
