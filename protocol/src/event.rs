//! Events (server -> the agent's client, unsolicited): MsgTypes 6001–6026.

use crate::codec::{Body, Fields, Name, XmlWriter, dft, message, opt, req};
use crate::error::DecodeErrorKind;
use crate::ids::{AgentState, Cause, ChNum, GroupNo, TelNum, TellGuid, WorkNo};
use crate::tags::Tag;

message! {
    /// 6001: my agent state changed.
    pub struct AgentStateChanged = 6001 {
        tel_num: TelNum = req TelNum,
        work_no: Option<WorkNo> = nul WorkNo,
        agent_state: AgentState = req AgentState,
        show_state: String = dft ShowState,
    }
}

/// 6003: an incoming call rings me — the screen pop (来电弹屏).
///
/// Customer fields are empty when the caller is unknown. `extra` carries the
/// flow variables a flow marked for pop-up, as their own tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScreenPop {
    pub tel_num: TelNum,
    pub ch_num: ChNum,
    pub caller_no: String,
    pub callee_no: String,
    pub group_no: Option<GroupNo>,
    pub tell_guid: TellGuid,
    /// Seconds the caller queued.
    pub wait_s: u32,
    pub cust_name: String,
    pub cust_company: String,
    pub cust_address: String,
    pub cust_contact: String,
    /// Flow variables marked for pop-up: (tag name, value).
    pub extra: Vec<(String, String)>,
}

/// Whether `name` can be written as an element name without breaking the datagram.
pub fn is_xml_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

impl Body for ScreenPop {
    const MSG_TYPE: u32 = 6003;

    fn decode(f: &Fields<'_>) -> Result<Self, DecodeErrorKind> {
        let mut extra: Vec<(String, String)> = Vec::new();
        for (name, value) in f.iter() {
            if let Name::Other(n) = name {
                // Only names the encoder can write back are flow variables;
                // the first of a repeated name wins, as for every tag.
                if is_xml_name(n) && !extra.iter().any(|(e, _)| e.eq_ignore_ascii_case(n)) {
                    extra.push((n.to_string(), value.to_owned()));
                }
            }
        }
        Ok(ScreenPop {
            tel_num: req(f, Tag::TelNum)?,
            ch_num: req(f, Tag::ChNum)?,
            caller_no: dft(f, Tag::CallerNo)?,
            callee_no: dft(f, Tag::CalleeNo)?,
            group_no: opt(f, Tag::GroupNo)?,
            tell_guid: req(f, Tag::TellGuid)?,
            wait_s: dft(f, Tag::WaitS)?,
            cust_name: dft(f, Tag::CustName)?,
            cust_company: dft(f, Tag::CustCompany)?,
            cust_address: dft(f, Tag::CustAddress)?,
            cust_contact: dft(f, Tag::CustContact)?,
            extra,
        })
    }

    fn encode(&self, w: &mut XmlWriter<'_>) {
        w.field(Tag::TelNum, &self.tel_num);
        w.field(Tag::ChNum, &self.ch_num);
        w.field(Tag::CallerNo, &self.caller_no);
        w.field(Tag::CalleeNo, &self.callee_no);
        match &self.group_no {
            Some(g) => w.field(Tag::GroupNo, g),
            None => w.empty(Tag::GroupNo),
        }
        w.field(Tag::TellGuid, &self.tell_guid);
        w.field(Tag::WaitS, &self.wait_s);
        w.field(Tag::CustName, &self.cust_name);
        w.field(Tag::CustCompany, &self.cust_company);
        w.field(Tag::CustAddress, &self.cust_address);
        w.field(Tag::CustContact, &self.cust_contact);
        for (name, value) in &self.extra {
            // A variable whose name is not a valid tag, or shadows a protocol
            // tag, cannot be carried; leaving it out keeps the pop readable.
            if is_xml_name(name) && Tag::from_name(name).is_none() {
                w.other(name, value);
            }
        }
    }
}

message! {
    /// 6004: the call's GUID, when it is connected (发送通话GUID).
    pub struct CallConnected = 6004 {
        tel_num: TelNum = req TelNum,
        ch_num: ChNum = req ChNum,
        tell_guid: TellGuid = req TellGuid,
    }
}

message! {
    /// 6007: I hung up (本机挂机).
    pub struct LocalHangup = 6007 {
        tel_num: TelNum = req TelNum,
    }
}

message! {
    /// 6008: the other side hung up (对方挂机).
    pub struct RemoteHangup = 6008 {
        tel_num: TelNum = req TelNum,
    }
}

message! {
    /// 6009: result of a call I placed.
    pub struct CallResult = 6009 {
        tel_num: TelNum = req TelNum,
        caller_no: String = dft CallerNo,
        callee_no: String = dft CalleeNo,
        answered: bool = req Ar,
        reason: Cause = req Reason,
        tell_guid: Option<TellGuid> = nul TellGuid,
    }
}

message! {
    /// 6023: outbound call accepted (外呼接收 tellguid).
    pub struct CallAccepted = 6023 {
        tel_num: TelNum = req TelNum,
        callee_no: String = dft CalleeNo,
        tell_guid: TellGuid = req TellGuid,
    }
}

message! {
    /// 6024: fax sent.
    pub struct FaxSent = 6024 {
        tel_num: TelNum = req TelNum,
        callee_no: String = dft CalleeNo,
        file_name: String = dft FileName,
        pages: u32 = dft Pages,
        /// `ok` or the failure.
        result: String = dft Result,
        tell_guid: Option<TellGuid> = nul TellGuid,
    }
}

message! {
    /// 6025: fax received.
    pub struct FaxReceived = 6025 {
        ch_num: ChNum = req ChNum,
        caller_no: String = dft CallerNo,
        file_name: String = dft FileName,
        pages: u32 = dft Pages,
        result: String = dft Result,
        tell_guid: Option<TellGuid> = nul TellGuid,
    }
}

message! {
    /// 6026: data from another system or agent.
    pub struct DataReceived = 6026 {
        from: String = dft From,
        data: String = dft Data,
    }
}
