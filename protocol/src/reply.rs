//! Replies (server -> the requesting client): 9000, 9006, 9011, 9014, 9030,
//! 9032, 9040, 90991, 9099.

use std::borrow::Cow;

use crate::codec::{Body, Fields, Name, XmlWriter, dft, message, opt, req};
use crate::error::{DecodeError, DecodeErrorKind};
use crate::ids::{AgentState, ChNum, ConfNo, GroupNo, ResultCh, TelNum, TransType};
use crate::monitor::ChannelStatus;
use crate::tags::Tag;

message! {
    /// 9000: the generic acknowledgement.
    pub struct Ack = 9000 {
        /// The request's MsgType, 0 when it could not be read.
        req: u32 = req Req,
        ok: bool = req Result,
        result_str: String = dft ResultStr,
        tel_num: Option<TelNum> = opt TelNum,
    }
}

impl Ack {
    /// A success.
    pub fn ok(req: u32, tel_num: Option<TelNum>) -> Self {
        Ack {
            req,
            ok: true,
            result_str: String::new(),
            tel_num,
        }
    }

    /// A refusal with the reason the client will display.
    pub fn failed(req: u32, tel_num: Option<TelNum>, why: impl Into<String>) -> Self {
        Ack {
            req,
            ok: false,
            result_str: why.into(),
            tel_num,
        }
    }

    /// The answer to a datagram that could not be decoded.
    pub fn refusal(err: &DecodeError) -> Self {
        Ack::failed(err.req, None, err.kind.to_string())
    }
}

message! {
    /// 9006: a variable's value.
    pub struct VariableValue = 9006 {
        ch_num: Option<ChNum> = opt ChNum,
        var_name: String = req VarName,
        var_value: String = dft VarValue,
    }
}

message! {
    /// 9014: statistics, per group or total.
    pub struct Stats = 9014 {
        group_no: Option<GroupNo> = nul GroupNo,
        online: u32 = dft Online,
        ready: u32 = dft Ready,
        busy: u32 = dft Busy,
        talking: u32 = dft Talking,
        ringing: u32 = dft Ringing,
        queued: u32 = dft Queued,
        longest_wait_s: u32 = dft LongestWaitS,
        answered_today: u32 = dft AnsweredToday,
        abandoned_today: u32 = dft AbandonedToday,
        /// Percent answered within the group's threshold.
        service_level: u32 = dft ServiceLevel,
    }
}

message! {
    /// 9030: transfer result.
    pub struct TransferResult = 9030 {
        /// The requester's channel.
        ch_num: ChNum = req ChNum,
        /// -1 when the transfer failed.
        result_ch: ResultCh = req ResultCh,
        trans_type: Option<TransType> = nul TransType,
        /// Why it failed (an added tag; clients that do not know it ignore it).
        result_str: Option<String> = opt ResultStr,
    }
}

message! {
    /// 9040: pick-up result.
    pub struct PickUpResult = 9040 {
        ch_num: ChNum = req ChNum,
        result_ch: ResultCh = req ResultCh,
        result_str: String = dft ResultStr,
        /// The caller's number.
        in_call_num: String = dft InCallNum,
    }
}

message! {
    /// 90991: monitor platform set (MAC 1 accepted, 0 refused).
    pub struct MonitorSet = 90991 {
        accepted: bool = req Mac,
    }
}

message! {
    /// 9099: heartbeat answer.
    pub struct HeartbeatAck = 9099 {
        tel_num: TelNum = req TelNum,
        agent_state: AgentState = req AgentState,
    }
}

/// Splits a list reply's fields into the head (before the first `start`
/// tag) and one group per `start` tag.
fn split_runs<'f, 'a>(f: &'f Fields<'a>, start: Tag) -> (Fields<'f>, Vec<Fields<'f>>) {
    let mut head = Fields::default();
    let mut runs: Vec<Fields<'f>> = Vec::new();
    for (name, value) in f.iter() {
        if *name == Name::Known(start) {
            runs.push(Fields::default());
        }
        let target = runs.last_mut().unwrap_or(&mut head);
        let name = match name {
            Name::Known(t) => Name::Known(*t),
            Name::Other(s) => Name::Other(Cow::Borrowed(s.as_ref())),
        };
        target.push(name, Cow::Borrowed(value));
    }
    (head, runs)
}

/// 9011: channel info, a `Count` then each channel's 6012 fields; every
/// `<ChNum>` starts the next channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelInfo {
    pub channels: Vec<ChannelStatus>,
}

impl Body for ChannelInfo {
    const MSG_TYPE: u32 = 9011;

    fn decode(f: &Fields<'_>) -> Result<Self, DecodeErrorKind> {
        let (head, runs) = split_runs(f, Tag::ChNum);
        let channels = runs
            .iter()
            .map(ChannelStatus::decode)
            .collect::<Result<Vec<_>, _>>()?;
        let count: Option<u32> = opt(&head, Tag::Count)?;
        if let Some(count) = count {
            if count as usize != channels.len() {
                return Err(DecodeErrorKind::BadValue {
                    tag: "Count",
                    value: count.to_string(),
                    allowed: format!("the datagram carries {} channels", channels.len()),
                });
            }
        }
        Ok(ChannelInfo { channels })
    }

    fn encode(&self, w: &mut XmlWriter<'_>) {
        w.field(Tag::Count, &(self.channels.len() as u32));
        for ch in &self.channels {
            ch.encode(w);
        }
    }
}

/// One conference in a 9032 reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conference {
    pub conf_no: ConfNo,
    /// One number per member.
    pub members: Vec<String>,
    pub hallh: bool,
}

/// 9032: conference info. Each `<ConfNo>` starts a conference, followed by
/// its `<Member>`s (repeated on purpose) and `<HALLH>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfInfo {
    pub conferences: Vec<Conference>,
}

impl Body for ConfInfo {
    const MSG_TYPE: u32 = 9032;

    fn decode(f: &Fields<'_>) -> Result<Self, DecodeErrorKind> {
        let (_, runs) = split_runs(f, Tag::ConfNo);
        let conferences = runs
            .iter()
            .map(|run| {
                Ok(Conference {
                    conf_no: req(run, Tag::ConfNo)?,
                    members: run
                        .iter()
                        .filter(|(n, v)| **n == Name::Known(Tag::Member) && !v.is_empty())
                        .map(|(_, v)| v.to_owned())
                        .collect(),
                    hallh: dft(run, Tag::Hallh)?,
                })
            })
            .collect::<Result<Vec<_>, DecodeErrorKind>>()?;
        Ok(ConfInfo { conferences })
    }

    fn encode(&self, w: &mut XmlWriter<'_>) {
        for c in &self.conferences {
            w.field(Tag::ConfNo, &c.conf_no);
            for m in &c.members {
                w.field(Tag::Member, m);
            }
            w.field(Tag::Hallh, &c.hallh);
        }
    }
}
