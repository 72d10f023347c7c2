//! Requests inside a call's dialog, from its far end: re-INVITE (hold
//! and resume, a new address), ACK, CANCEL, BYE and INFO (keys, flash).

use spcti_actors::sip::dialog::tag;
use spcti_actors::sip::sdp::{self, Direction};
use spcti_actors::sip::transaction::{Key, final_response, response_for};
use spcti_actors::switch::{ChannelKind, SwitchEvent};
use spcti_protocol::sip::Message;
use spcti_protocol::{Cause, ChNum};

use super::calls;
use super::switch::{Leg, SipSwitch, reason_phrase};
use crate::media::engine::Cmd;

impl SipSwitch {
    pub(super) fn reinvite(&mut self, chan: Option<usize>, key: Key, req: Message) {
        let Some(i) = chan else {
            let r = final_response(&req, 481, "Call/Transaction Does Not Exist");
            return self.respond(&key, r);
        };
        let local = self.chans[i].stream.as_ref().map(|s| s.local);
        let version = self.next_sdp_version();
        let Leg::Up { dialog, .. } = &mut self.chans[i].leg else {
            let r = final_response(&req, 491, "Request Pending");
            return self.respond(&key, r);
        };
        if let Err((code, why)) = dialog.receive(&req) {
            let r = final_response(&req, code, &why);
            return self.respond(&key, r);
        }
        let local_tag = dialog.id.local_tag.clone();
        let Some(local) = local else { return };
        let (body, agreed) = if req.body.is_empty() {
            (
                sdp::offer(local, &self.setup.codecs, Direction::SendRecv, 1, version),
                None,
            )
        } else {
            match sdp::answer(&req.body, local, &self.setup.codecs, 1, version) {
                Ok((b, a)) => (b, Some(a)),
                Err(e) => {
                    let r = final_response(&req, e.status(), reason_phrase(e.status()));
                    return self.respond(&key, r);
                }
            }
        };
        // Hold and resume: the stream sends, or not, as agreed. A seat's
        // phone holding (or taking back) its call is its hold key: the
        // caller hears music meanwhile, as after a hook flash.
        let holds = agreed.as_ref().map(|a| {
            a.remote.is_none() || matches!(a.direction, Direction::RecvOnly | Direction::Inactive)
        });
        let changed = match (holds, &mut self.chans[i].leg) {
            (Some(now), Leg::Up { held, .. }) if *held != now => {
                *held = now;
                Some(now)
            }
            _ => None,
        };
        if let (Some(a), Some(s)) = (agreed, &self.chans[i].stream) {
            s.send(Cmd::Peer(a));
        }
        let mut ok = response_for(&req, 200, "OK");
        if let Some(to) = req.header("to") {
            if tag(to).is_none() {
                ok.set("to", format!("{to};tag={local_tag}"));
            }
        }
        ok.set("contact", calls::contact(self.setup.local));
        ok.set("content-type", "application/sdp");
        ok.body = body;
        self.respond(&key, ok);
        let ch = self.chans[i].desc.ch;
        if let (Some(on), ChannelKind::Seat) = (changed, self.chans[i].desc.kind) {
            tracing::info!(%ch, on, "the seat's phone holds its call");
            self.emit(SwitchEvent::Hold { ch, on });
        }
    }

    pub(super) fn ack(&mut self, chan: Option<usize>, req: Message) {
        if let Some(id) = req.header("call-id") {
            self.unacked.remove(id);
        }
        // An ACK with an answer (we offered in the 200).
        let Some(i) = chan else { return };
        if req.body.is_empty() {
            return;
        }
        match sdp::read_answer(&req.body, &self.setup.codecs) {
            Ok(a) => {
                if let Some(s) = &self.chans[i].stream {
                    s.send(Cmd::Peer(a));
                }
            }
            Err(e) => tracing::warn!(ch = %self.chans[i].desc.ch, "the ACK's SDP: {e}"),
        }
    }

    pub(super) fn cancel_in(&mut self, chan: Option<usize>, key: Key, req: Message) {
        let offered = chan.filter(|i| matches!(self.chans[*i].leg, Leg::Offered { .. }));
        let Some(i) = offered else {
            let r = final_response(&req, 481, "Call/Transaction Does Not Exist");
            return self.respond(&key, r);
        };
        let ok = response_for(&req, 200, "OK");
        self.respond(&key, ok);
        if let Leg::Offered {
            key: ikey, invite, ..
        } = std::mem::take(&mut self.chans[i].leg)
        {
            let r = final_response(&invite, 487, "Request Terminated");
            self.respond(&ikey, r);
        }
        self.gone(i, calls::reason_cause(&req).unwrap_or(Cause::NORMAL));
    }

    pub(super) fn bye_in(&mut self, chan: Option<usize>, key: Key, req: Message) {
        let up = chan.filter(|i| match &self.chans[*i].leg {
            Leg::Up { dialog, .. } => dialog.matches(&req),
            _ => false,
        });
        let Some(i) = up else {
            let r = final_response(&req, 481, "Call/Transaction Does Not Exist");
            return self.respond(&key, r);
        };
        let ok = response_for(&req, 200, "OK");
        self.respond(&key, ok);
        self.gone(i, calls::reason_cause(&req).unwrap_or(Cause::NORMAL));
    }

    /// The far end of channel `i` left (BYE, CANCEL, a failed INVITE).
    pub(super) fn gone(&mut self, i: usize, cause: Cause) {
        let ch = self.chans[i].desc.ch;
        let listeners: Vec<ChNum> = self.chans[i].heard_by.iter().copied().collect();
        self.end_leg(i);
        if self.chans[i].desc.kind == ChannelKind::Seat {
            self.emit(SwitchEvent::OnHook { ch });
        } else {
            self.far_end_cleared(ch, cause);
            self.hang_up_orphans(ch, listeners);
        }
    }

    pub(super) fn info(&mut self, chan: Option<usize>, key: Key, req: Message) {
        let Some(i) = chan else {
            let r = final_response(&req, 481, "Call/Transaction Does Not Exist");
            return self.respond(&key, r);
        };
        let ctype = req.header("content-type").unwrap_or_default().to_owned();
        let ok = response_for(&req, 200, "OK");
        self.respond(&key, ok);
        let ch = self.chans[i].desc.ch;
        match crate::media::dtmf::info_key(&ctype, &req.body) {
            Some(crate::media::dtmf::Pressed::Key(k)) => self.emit(SwitchEvent::Dtmf {
                ch,
                digits: k.to_string(),
            }),
            Some(crate::media::dtmf::Pressed::Flash)
                if self.chans[i].desc.kind == ChannelKind::Seat =>
            {
                self.emit(SwitchEvent::HookFlash { ch })
            }
            _ => {}
        }
    }
}
