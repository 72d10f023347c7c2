//! The SIP switch carrying out the actors' commands: seats rung at their
//! registered phones, outbound calls on trunks, clearing (BYE, CANCEL or
//! a refusal with the Q.850 cause), who hears whom (links and
//! conferences as feeds between the legs' streams), prompts and
//! recordings.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use spcti_actors::sip::sdp::{self, Direction};
use spcti_actors::switch::{ChannelKind, SwitchCommand, SwitchEvent};
use spcti_protocol::{Cause, ChNum};

use super::calls;
use super::switch::{Leg, SipSwitch, now_s};
use crate::media::engine::{Cmd, Stream};

impl SipSwitch {
    // --- the actors' commands ---------------------------------------------

    /// Places our INVITE on channel `i` to `uri` at `to`.
    pub(super) fn call_out(&mut self, i: usize, to: SocketAddr, uri: &str, caller: &str) -> bool {
        let Some(stream) = self.stream(i) else {
            return false;
        };
        let version = self.next_sdp_version();
        let offer = sdp::offer(
            stream.local,
            &self.setup.codecs,
            Direction::SendRecv,
            version,
            version,
        );
        let call_id = format!("{:016x}@spcti", fastrand::u64(..));
        let invite = calls::invite(self.setup.local, uri, caller, uri, &call_id, 1, offer);
        self.by_call.insert(call_id.clone(), i);
        self.chans[i].call_id = Some(call_id);
        let key = self.send_request(to, invite.clone(), Some(i));
        self.chans[i].leg = Leg::Calling {
            key,
            invite,
            to,
            authed: false,
            alerted: false,
        };
        true
    }

    /// Rings seat `i` (its registered phone) showing `caller`.
    pub(super) fn ring(&mut self, i: usize, caller: &str) {
        if !matches!(self.chans[i].leg, Leg::Idle) {
            return;
        }
        let ext = self.chans[i]
            .desc
            .ext
            .as_ref()
            .map(|e| e.to_string())
            .unwrap_or_default();
        let Some(b) = self.ep.registrar.binding(&ext, now_s()).cloned() else {
            tracing::info!(%ext, "the seat's phone is not registered: not rung");
            return;
        };
        let caller = if caller.is_empty() {
            "anonymous"
        } else {
            caller
        };
        self.call_out(i, b.source, &b.contact, caller);
    }

    pub(super) fn command(&mut self, cmd: SwitchCommand) {
        match cmd {
            SwitchCommand::Alert { ch, caller } => self.ring(ch.0 as usize, &caller),
            SwitchCommand::Answer { ch } => self.answer(ch.0 as usize),
            SwitchCommand::MakeCall { ch, caller, callee } => {
                let i = ch.0 as usize;
                if self.chans[i].desc.kind == ChannelKind::Seat {
                    return self.ring(i, &caller);
                }
                if !matches!(self.chans[i].leg, Leg::Idle) {
                    return self.far_end_cleared(ch, Cause::NO_CIRCUIT);
                }
                let Some(t) = self.trunk_of(ch) else {
                    return self.far_end_cleared(ch, Cause::NO_CIRCUIT);
                };
                let caller = if caller.is_empty() {
                    t.from_number.clone()
                } else {
                    caller
                };
                let uri = format!("sip:{callee}@{}", t.peer);
                if !self.call_out(i, t.peer, &uri, &caller) {
                    self.far_end_cleared(ch, Cause::NO_CIRCUIT);
                }
            }
            SwitchCommand::Clear { ch, cause } => self.clear(ch.0 as usize, cause),
            SwitchCommand::Link { a, b, two_way } => {
                self.stop_play(a);
                self.feed(b, a);
                if two_way {
                    self.stop_play(b);
                    self.feed(a, b);
                }
                self.emit(SwitchEvent::Linked { ch: a, other: b });
            }
            SwitchCommand::Unlink { a, b } => {
                self.unfeed(b, a);
                self.unfeed(a, b);
                self.emit(SwitchEvent::Unlinked { ch: a, other: b });
            }
            SwitchCommand::Play { ch, prompt } => self.play(ch, prompt),
            SwitchCommand::StopPlay { ch } => self.stop_play(ch),
            SwitchCommand::Record { ch, file } => match &self.chans[ch.0 as usize].stream {
                Some(s) => s.send(Cmd::Record {
                    dir: self.setup.recordings.clone(),
                    name: file,
                }),
                None => tracing::warn!(%ch, "nothing to record: the channel has no call"),
            },
            SwitchCommand::StopRecord { ch } => match &self.chans[ch.0 as usize].stream {
                Some(s) => s.send(Cmd::StopRecord),
                None => self.emit(SwitchEvent::RecordDone {
                    ch,
                    file: PathBuf::new(),
                    duration: Duration::ZERO,
                }),
            },
            SwitchCommand::JoinConf {
                ch,
                conf,
                listen_only,
                heard_by,
            } => {
                // Joining again (listen -> whisper -> barge) re-sets who
                // hears the member; who it hears does not change.
                let me = super::switch::ConfMember {
                    ch,
                    listen_only,
                    heard_by,
                };
                let members = self.confs.get(&conf).cloned().unwrap_or_default();
                let fed = |s: &Self, from: ChNum, to: ChNum| {
                    s.chans[from.0 as usize].heard_by.contains(&to)
                };
                for m in members.iter().filter(|m| m.ch != ch) {
                    match (me.heard_by(m.ch), fed(self, ch, m.ch)) {
                        (true, false) => self.feed(ch, m.ch),
                        (false, true) => self.unfeed(ch, m.ch),
                        _ => {}
                    }
                    if m.heard_by(ch) && !fed(self, m.ch, ch) {
                        self.feed(m.ch, ch);
                    }
                }
                let v = self.confs.entry(conf).or_default();
                v.retain(|m| m.ch != ch);
                v.push(me);
                self.emit(SwitchEvent::ConfJoined { ch, conf });
            }
            SwitchCommand::LeaveConf { ch, conf } => {
                let members = self.confs.get(&conf).cloned().unwrap_or_default();
                for m in members.iter().filter(|m| m.ch != ch) {
                    self.unfeed(ch, m.ch);
                    self.unfeed(m.ch, ch);
                }
                if let Some(v) = self.confs.get_mut(&conf) {
                    v.retain(|m| m.ch != ch);
                    if v.is_empty() {
                        self.confs.remove(&conf);
                    }
                }
                self.emit(SwitchEvent::ConfLeft { ch, conf });
            }
            SwitchCommand::SendFax { ch, file } | SwitchCommand::ReceiveFax { ch, file } => {
                tracing::warn!(%ch, "fax is not carried on SIP calls yet");
                self.emit(SwitchEvent::FaxDone {
                    ch,
                    ok: false,
                    pages: 0,
                    file,
                });
            }
        }
    }

    pub(super) fn clear(&mut self, i: usize, cause: Cause) {
        let listeners: Vec<ChNum> = self.chans[i].heard_by.iter().copied().collect();
        let ch = self.chans[i].desc.ch;
        let seat = self.chans[i].desc.kind == ChannelKind::Seat;
        match std::mem::take(&mut self.chans[i].leg) {
            Leg::Idle | Leg::Gone => {}
            Leg::Offered { key, invite, .. } => {
                let (code, why) = calls::status_of_cause(cause);
                let r = calls::refusal(&invite, code, why, Some(cause));
                self.respond(&key, r);
                self.end_leg(i);
            }
            Leg::Calling {
                key, invite, to, ..
            } => {
                let cancel = calls::cancel(&invite);
                self.cancelled.insert(key, invite);
                self.send_request(to, cancel, None);
                self.end_leg(i);
            }
            leg @ Leg::Up { .. } => {
                self.chans[i].leg = leg;
                self.bye(i, cause);
                if seat {
                    // The phone was hung up from here.
                    self.emit(SwitchEvent::OnHook { ch });
                }
            }
        }
        if !seat {
            self.hang_up_orphans(ch, listeners);
        }
    }

    /// `from`'s audio goes to `to` too.
    pub(super) fn feed(&mut self, from: ChNum, to: ChNum) {
        let (f, t) = (from.0 as usize, to.0 as usize);
        self.chans[f].heard_by.insert(to);
        self.chans[t].hears.insert(from);
        self.chans[t].last_heard = None;
        let tx = self.chans[t].stream.as_ref().map(Stream::audio);
        if let (Some(s), Some(tx)) = (&self.chans[f].stream, tx) {
            s.send(Cmd::Feed { to, tx });
        }
    }

    pub(super) fn unfeed(&mut self, from: ChNum, to: ChNum) {
        let (f, t) = (from.0 as usize, to.0 as usize);
        self.chans[f].heard_by.remove(&to);
        self.chans[t].hears.remove(&from);
        if self.chans[t].hears.is_empty() && self.chans[f].desc.kind == ChannelKind::Trunk {
            self.chans[t].last_heard = Some(from);
        }
        if let Some(s) = &self.chans[f].stream {
            s.send(Cmd::Unfeed { to });
        }
    }

    pub(super) fn play(&mut self, ch: ChNum, prompt: String) {
        let i = ch.0 as usize;
        let pcm = self.prompts.samples(&prompt);
        match (&self.chans[i].stream, pcm) {
            (Some(s), Some(pcm)) if !pcm.is_empty() => s.send(Cmd::Play { prompt, pcm }),
            (_, pcm) => {
                // No call to play on, no such prompt, or one of no length.
                let completed = pcm.is_some_and(|p| p.is_empty());
                self.emit(SwitchEvent::PlayDone {
                    ch,
                    prompt,
                    completed,
                });
            }
        }
    }

    pub(super) fn stop_play(&mut self, ch: ChNum) {
        if let Some(s) = &self.chans[ch.0 as usize].stream {
            s.send(Cmd::StopPlay);
        }
    }
}
