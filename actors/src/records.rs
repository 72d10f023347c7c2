//! What the actors hand to storage: call records, recording rows, and the
//! customer data a screen pop shows.

use chrono::NaiveDateTime;
use spcti_protocol::{ChNum, GroupNo, TelNum, TellGuid, WorkNo};

/// `sp_tellrec.tellmsg`: the seed's final statuses, kept exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TellMsg {
    /// 1: rang 45 s, not answered (older versions).
    RingTimeout = 1,
    /// 2: the seat could not be rung.
    SeatUnreachable = 2,
    /// 3: rejected (IP seat hung up while ringing).
    Rejected = 3,
    /// 4: talk between seats during a transfer.
    TransferTalk = 4,
    /// 5: the analog seat stayed off-hook after the call.
    WaitingHangup = 5,
    /// 6: outbound call talked, the seat hung up first.
    OutboundTalked = 6,
    /// 7: inbound, the caller hung up in the IVR.
    IvrHangup = 7,
    /// 8: inbound, rang a seat, not answered.
    RangNotAnswered = 8,
    /// 9: inbound, answered by a seat.
    Answered = 9,
    /// 10: outbound, answered, the seat hung up first.
    OutboundAnswered = 10,
    /// 11: the seat went off-hook and dialed nothing.
    OffHookNoDial = 11,
    /// 12: outbound failed.
    OutboundFailed = 12,
    /// 13: the caller hung up while queued.
    QueueHangup = 13,
    /// 14: the seat hung up while the outbound call was being set up.
    OutboundAbandoned = 14,
    /// 15: internal call between seats.
    Internal = 15,
    /// 16: voicemail left.
    Voicemail = 16,
    /// 17: call transferred back.
    TransferredBack = 17,
}

impl TellMsg {
    /// The stored number.
    pub const fn code(self) -> i32 {
        self as i32
    }
}

/// Who ended a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HangupBy {
    Caller,
    Agent,
    System,
}

impl HangupBy {
    pub const fn as_str(self) -> &'static str {
        match self {
            HangupBy::Caller => "caller",
            HangupBy::Agent => "agent",
            HangupBy::System => "system",
        }
    }
}

/// Call direction as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    In,
    Out,
    Internal,
}

impl Direction {
    pub const fn as_str(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
            Direction::Internal => "internal",
        }
    }
}

/// One `sp_tellrec` row: a call leg that ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRecord {
    /// Stable key: writing it twice must not make two rows.
    pub key: String,
    pub tellguid: TellGuid,
    pub ch: ChNum,
    pub caller_no: String,
    pub callee_no: String,
    pub tel_num: Option<TelNum>,
    pub work_no: Option<WorkNo>,
    pub group_no: Option<GroupNo>,
    pub direction: Direction,
    pub start_time: NaiveDateTime,
    pub queue_time: Option<NaiveDateTime>,
    pub answer_time: Option<NaiveDateTime>,
    pub end_time: NaiveDateTime,
    pub talk_s: u32,
    pub tellmsg: TellMsg,
    pub hangup_by: HangupBy,
    pub cause: u16,
    pub record_file: Option<String>,
}

/// One `sprecord` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingRow {
    pub key: String,
    pub tellguid: TellGuid,
    pub caller_no: String,
    pub callee_no: String,
    pub tel_num: Option<TelNum>,
    pub work_no: Option<WorkNo>,
    pub start_time: NaiveDateTime,
    pub end_time: NaiveDateTime,
    pub duration_s: u32,
    /// Relative to `data_dir/recordings`.
    pub file_name: String,
    pub direction: Direction,
}

/// The customer fields of a screen pop (`sp_customer`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Customer {
    pub name: String,
    pub company: String,
    pub address: String,
    pub contact: String,
}

/// One `sp_survey` row: a caller's answer to the survey a flow ran after
/// the agent hung up (flows.md; the flow variable `survey`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SurveyAnswer {
    pub key: String,
    pub guid: TellGuid,
    pub caller: String,
    /// The agent the caller talked to.
    pub tel_num: String,
    pub work_no: String,
    pub answer: String,
    /// The flow (and version) that asked.
    pub flow: String,
    pub at: NaiveDateTime,
}
