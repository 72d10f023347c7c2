//! Channel-state monitoring: 6012, pushed on every channel state change.

use chrono::NaiveDateTime;

use crate::codec::message;
use crate::ids::{AgentState, ChNum, ChType, ChannelState, TelNum, TellGuid, WorkNo};

message! {
    /// 6012: one channel's state. Also the repeated run inside 9011.
    pub struct ChannelStatus = 6012 {
        ch_num: ChNum = req ChNum,
        ch_type: ChType = req ChType,
        state: ChannelState = req State,
        tel_num: Option<TelNum> = nul TelNum,
        work_no: Option<WorkNo> = nul WorkNo,
        caller_no: String = dft CallerNo,
        callee_no: String = dft CalleeNo,
        tell_guid: Option<TellGuid> = nul TellGuid,
        link_ch: Option<ChNum> = nul LinkCh,
        agent_state: Option<AgentState> = nul AgentState,
        show_state: String = dft ShowState,
        /// When the state began (local wall clock, `YYYY-MM-DD HH:MM:SS`).
        time: NaiveDateTime = req Time,
    }
}
