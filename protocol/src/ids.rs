//! Newtype ids and the protocol's named states (docs/architecture.md, rules 6 and 7).

use std::borrow::Cow;
use std::fmt::{self, Write as _};
use std::str::FromStr;

use uuid::Uuid;

use crate::string_enum;
use crate::value::{FieldValue, escape_into, number_newtype, token_newtype};

number_newtype!(
    /// A channel number of the switch (trunk, seat, voice, fax or conference channel).
    ChNum(u32)
);
number_newtype!(
    /// A queue group number (`[[group]] no`).
    GroupNo(u32)
);
number_newtype!(
    /// A conference number.
    ConfNo(u32)
);
number_newtype!(
    /// A Q.850 clear cause (16 normal, 17 busy, 18 no response, 19 no answer, 21 rejected, 34 no circuit).
    Cause(u16)
);

impl Cause {
    /// 16: normal clearing.
    pub const NORMAL: Cause = Cause(16);
    /// 17: user busy.
    pub const BUSY: Cause = Cause(17);
    /// 18: no user responding.
    pub const NO_RESPONSE: Cause = Cause(18);
    /// 19: no answer from user (alerted).
    pub const NO_ANSWER: Cause = Cause(19);
    /// 21: call rejected.
    pub const REJECTED: Cause = Cause(21);
    /// 34: no circuit/channel available.
    pub const NO_CIRCUIT: Cause = Cause(34);
}

token_newtype!(
    /// A seat's extension number (the phone the agent sits at).
    TelNum, 30, "TelNum"
);
token_newtype!(
    /// An agent's job number (工号).
    WorkNo, 30, "WorkNo"
);

/// A call's id: upper-case hex 8-4-4-4-12 on the wire, as in the seed's example.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TellGuid(pub Uuid);

impl TellGuid {
    /// A fresh random id.
    pub fn new_v4() -> Self {
        TellGuid(Uuid::new_v4())
    }
}

impl fmt::Display for TellGuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
        f.write_str(self.0.hyphenated().encode_upper(&mut buf))
    }
}

impl FromStr for TellGuid {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        // The hyphenated form, or the braced one Windows clients make
        // (`{769194C3-...}`, what GUID-to-string gives there), normalised to
        // the bare form: clients store and compare these strings.
        let text = text
            .strip_prefix('{')
            .and_then(|t| t.strip_suffix('}'))
            .unwrap_or(text);
        if text.len() != uuid::fmt::Hyphenated::LENGTH {
            return Err("expected a GUID like 769194C3-423C-40E7-8E23-7BA83900DBFB".into());
        }
        Uuid::parse_str(text)
            .map(TellGuid)
            .map_err(|_| "expected a GUID like 769194C3-423C-40E7-8E23-7BA83900DBFB".into())
    }
}

impl FieldValue for TellGuid {
    fn parse_text(text: &str) -> Result<Self, String> {
        text.parse()
    }
    fn write_xml(&self, out: &mut String) {
        let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
        out.push_str(self.0.hyphenated().encode_upper(&mut buf));
    }
    fn text(&self) -> Cow<'_, str> {
        Cow::Owned(self.to_string())
    }
}

/// A comma list of groups (`<GroupNo>1,3</GroupNo>` in 1001).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupList(pub Vec<GroupNo>);

impl FieldValue for GroupList {
    fn parse_text(text: &str) -> Result<Self, String> {
        text.split(',')
            .map(|part| {
                part.trim()
                    .parse()
                    .map(GroupNo)
                    .map_err(|_| "expected group numbers separated by commas".to_string())
            })
            .collect::<Result<Vec<_>, _>>()
            .map(GroupList)
    }
    fn write_xml(&self, out: &mut String) {
        for (i, g) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "{}", g.0);
        }
    }
    fn text(&self) -> Cow<'_, str> {
        let mut s = String::new();
        self.write_xml(&mut s);
        Cow::Owned(s)
    }
}

/// `ResultCH`: the channel a call went to, or `-1` when it went nowhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ResultCh(pub Option<ChNum>);

impl FieldValue for ResultCh {
    fn parse_text(text: &str) -> Result<Self, String> {
        if text == "-1" {
            return Ok(ResultCh(None));
        }
        text.parse()
            .map(|n| ResultCh(Some(ChNum(n))))
            .map_err(|_| "expected a channel number or -1".into())
    }
    fn write_xml(&self, out: &mut String) {
        match self.0 {
            Some(ch) => ch.write_xml(out),
            None => out.push_str("-1"),
        }
    }
    fn text(&self) -> Cow<'_, str> {
        match self.0 {
            Some(ch) => Cow::Owned(ch.to_string()),
            None => Cow::Borrowed("-1"),
        }
    }
}

/// The target of 1026 data exchange: an agent (TelNum or WorkNo) or `ch:<ChNum>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataTarget {
    /// A channel's flow (variable `data`).
    Channel(ChNum),
    /// An agent, by extension or job number (resolved by the server).
    Agent(String),
}

impl FieldValue for DataTarget {
    fn parse_text(text: &str) -> Result<Self, String> {
        match text.get(..3) {
            Some(p) if p.eq_ignore_ascii_case("ch:") => text[3..]
                .trim()
                .parse()
                .map(|n| DataTarget::Channel(ChNum(n)))
                .map_err(|_| "expected ch:<channel number>".into()),
            _ => Ok(DataTarget::Agent(text.to_owned())),
        }
    }
    fn write_xml(&self, out: &mut String) {
        match self {
            DataTarget::Channel(ch) => {
                let _ = write!(out, "ch:{}", ch.0);
            }
            DataTarget::Agent(a) => escape_into(out, a),
        }
    }
    fn text(&self) -> Cow<'_, str> {
        match self {
            DataTarget::Channel(ch) => Cow::Owned(format!("ch:{}", ch.0)),
            DataTarget::Agent(a) => Cow::Borrowed(a),
        }
    }
}

string_enum! {
    /// What the system is doing with an agent, as clients and monitors see it (6001, 6012, 9099).
    pub enum AgentState {
        Offline = "offline",
        Ready = "ready",
        Busy = "busy",
        Ringing = "ringing",
        Talking = "talking",
        WrapUp = "wrapup",
    }
}

string_enum! {
    /// A channel's state on monitors (Keygoe DCS_* states, named).
    pub enum ChannelState {
        Free = "free",
        CallIn = "callin",
        Ringing = "ringing",
        Talking = "talking",
        Ivr = "ivr",
        Queued = "queued",
        Dialing = "dialing",
        Held = "held",
        Hangup = "hangup",
        Blocked = "blocked",
    }
}

string_enum! {
    /// A channel's kind.
    pub enum ChType {
        Trunk = "trunk",
        Seat = "seat",
        IpSeat = "ipseat",
        Voice = "voice",
        Fax = "fax",
        Conf = "conf",
    }
}

/// 9030 `TransType`: where a transfer went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransType {
    /// 1: another internal channel (seat).
    Internal,
    /// 2: a queue group.
    Group,
    /// 3: out on a trunk.
    Outbound,
}

impl TransType {
    /// The wire code.
    pub const fn code(self) -> u8 {
        match self {
            TransType::Internal => 1,
            TransType::Group => 2,
            TransType::Outbound => 3,
        }
    }
}

impl FieldValue for TransType {
    fn parse_text(text: &str) -> Result<Self, String> {
        match text {
            "1" => Ok(TransType::Internal),
            "2" => Ok(TransType::Group),
            "3" => Ok(TransType::Outbound),
            _ => Err("expected 1 (internal), 2 (group) or 3 (outbound)".into()),
        }
    }
    fn write_xml(&self, out: &mut String) {
        let _ = write!(out, "{}", self.code());
    }
    fn text(&self) -> Cow<'_, str> {
        Cow::Owned(self.code().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tellguid_is_upper_case_hyphenated() {
        let g: TellGuid = "769194c3-423c-40e7-8e23-7ba83900dbfb".parse().unwrap();
        assert_eq!(g.to_string(), "769194C3-423C-40E7-8E23-7BA83900DBFB");
        assert!(
            "769194C3423C40E78E237BA83900DBFB"
                .parse::<TellGuid>()
                .is_err()
        );
        // Windows' braced form is read and normalised; half a brace is not.
        let braced: TellGuid = "{769194c3-423c-40e7-8e23-7ba83900dbfb}".parse().unwrap();
        assert_eq!(braced, g);
        assert!(
            "{769194C3-423C-40E7-8E23-7BA83900DBFB"
                .parse::<TellGuid>()
                .is_err()
        );
        assert!(
            "769194C3-423C-40E7-8E23-7BA83900DBFB}"
                .parse::<TellGuid>()
                .is_err()
        );
    }

    #[test]
    fn tokens_refuse_spaces() {
        assert!(TelNum::new("80 01").is_err());
        assert!(TelNum::new("").is_err());
        assert_eq!(TelNum::new("8001").unwrap().as_str(), "8001");
    }

    #[test]
    fn group_lists_and_result_channels() {
        assert_eq!(
            GroupList::parse_text("1, 3").unwrap(),
            GroupList(vec![GroupNo(1), GroupNo(3)])
        );
        assert_eq!(ResultCh::parse_text("-1").unwrap(), ResultCh(None));
        assert_eq!(
            DataTarget::parse_text("CH:12").unwrap(),
            DataTarget::Channel(ChNum(12))
        );
        assert_eq!(AgentState::from_text("WRAPUP"), Some(AgentState::WrapUp));
    }
}
