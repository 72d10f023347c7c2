//! Agent requests (client -> server, UDP 5800): MsgTypes 1001–1033 and 1099.

use std::net::IpAddr;

use crate::codec::message;
use crate::error::DecodeErrorKind;
use crate::ids::{ChNum, ConfNo, DataTarget, GroupList, GroupNo, TelNum, TellGuid, WorkNo};

/// Rules "ChNum or TelNum is required" (1005, 1006, 1024).
macro_rules! one_of_channel_or_tel {
    ($fn:ident, $ty:ty) => {
        fn $fn(m: &$ty) -> Result<(), DecodeErrorKind> {
            if m.ch_num.is_none() && m.tel_num.is_none() {
                return Err(DecodeErrorKind::MissingOneOf("ChNum or TelNum"));
            }
            Ok(())
        }
    };
}
one_of_channel_or_tel!(check_switch_flow, SwitchFlow);
one_of_channel_or_tel!(check_get_variable, GetVariable);
one_of_channel_or_tel!(check_send_fax, SendFax);

fn check_channel_info(m: &ChannelInfoQuery) -> Result<(), DecodeErrorKind> {
    if m.ch_num.is_none() && m.tel_num.is_none() && m.work_no.is_none() {
        return Err(DecodeErrorKind::MissingOneOf("ChNum, TelNum or WorkNo"));
    }
    if m.ret_ip.is_some() != m.ret_port.is_some() {
        return Err(DecodeErrorKind::MissingOneOf("RetIP and RetPort together"));
    }
    if m.ret_port == Some(0) {
        return Err(port_zero("RetPort"));
    }
    Ok(())
}

fn port_zero(tag: &'static str) -> DecodeErrorKind {
    DecodeErrorKind::BadValue {
        tag,
        value: "0".into(),
        allowed: "expected a port from 1 to 65535".into(),
    }
}

fn check_set_monitor(m: &SetMonitor) -> Result<(), DecodeErrorKind> {
    if m.port == 0 {
        return Err(port_zero("Port"));
    }
    Ok(())
}

fn check_timer(m: &Timer) -> Result<(), DecodeErrorKind> {
    if !(1..=9).contains(&m.timer_no) {
        return Err(DecodeErrorKind::BadValue {
            tag: "TimerNo",
            value: m.timer_no.to_string(),
            allowed: "expected 1 to 9".into(),
        });
    }
    if let Some(p) = m.period_ms {
        if p <= 100 {
            return Err(DecodeErrorKind::BadValue {
                tag: "Period",
                value: p.to_string(),
                allowed: "expected more than 100 (milliseconds)".into(),
            });
        }
    }
    Ok(())
}

message! {
    /// 1001: log in / ready (登陆示闲).
    pub struct Login = 1001 {
        tel_num: TelNum = req TelNum,
        work_no: Option<WorkNo> = opt WorkNo,
        /// Comma list; empty means the agent's configured groups.
        groups: GroupList = dft GroupNo,
        show_state: Option<String> = opt ShowState,
        /// Needed only for agents with `password_hash` set in the configuration.
        password: Option<String> = opt Password,
    }
}

message! {
    /// 1002: leave the seat / busy (离席示忙). `ShowState` `NULL` clears it.
    pub struct SetBusy = 1002 {
        tel_num: TelNum = req TelNum,
        show_state: Option<String> = opt ShowState,
    }
}

message! {
    /// 1003: the client places a call (客户端发起呼叫).
    pub struct PlaceCall = 1003 {
        tel_num: TelNum = req TelNum,
        callee_no: String = req CalleeNo,
        caller_no: Option<String> = opt CallerNo,
        /// Empty: the server makes one.
        tell_guid: Option<TellGuid> = opt TellGuid,
        /// Shown on the agent's own phone while it rings; empty = CalleeNo.
        ring_no: Option<String> = opt RingNo,
        meeting: bool = dft Meeting,
        hallh: bool = dft Hallh,
    }
}

message! {
    /// 1004: go offline (as `*9` on the phone).
    pub struct Logout = 1004 {
        tel_num: TelNum = req TelNum,
    }
}

message! {
    /// 1005: switch a channel's flow (切换流程).
    pub struct SwitchFlow = 1005, check = check_switch_flow {
        ch_num: Option<ChNum> = opt ChNum,
        tel_num: Option<TelNum> = opt TelNum,
        flow: String = req Flow,
        node: Option<String> = opt Node,
    }
}

message! {
    /// 1006: read a channel's flow variable (取变量值).
    pub struct GetVariable = 1006, check = check_get_variable {
        ch_num: Option<ChNum> = opt ChNum,
        tel_num: Option<TelNum> = opt TelNum,
        var_name: String = req VarName,
    }
}

message! {
    /// 1007: retrieve a call this agent transferred (取回通话).
    pub struct RetrieveCall = 1007 {
        tel_num: TelNum = req TelNum,
    }
}

message! {
    /// 1008: transfer (转接电话). Number before job number when both are given.
    pub struct Transfer = 1008 {
        tel_num: TelNum = req TelNum,
        trans_to_tel: Option<String> = opt TransToTel,
        work_no: Option<WorkNo> = opt WorkNo,
        group_no: Option<GroupNo> = opt GroupNo,
        caller_no: Option<String> = opt CallerNo,
        callee_no: Option<String> = opt CalleeNo,
    }
}

message! {
    /// 1009: cancel a transfer whose target has not answered (终止转接恢复通话).
    pub struct CancelTransfer = 1009 {
        tel_num: TelNum = req TelNum,
    }
}

message! {
    /// 1010: pick up (抢接电话). Empty target: any call ringing in my groups.
    pub struct PickUp = 1010 {
        tel_num: TelNum = req TelNum,
        target: Option<String> = opt Target,
    }
}

message! {
    /// 1011: channel info (获取通道信息), by ChNum > TelNum > WorkNo.
    pub struct ChannelInfoQuery = 1011, check = check_channel_info {
        ch_num: Option<ChNum> = opt ChNum,
        tel_num: Option<TelNum> = opt TelNum,
        work_no: Option<WorkNo> = opt WorkNo,
        ret_ip: Option<IpAddr> = opt RetIp,
        ret_port: Option<u16> = opt RetPort,
    }
}

message! {
    /// 1013: statistics (获取统计信息); no group = all.
    pub struct StatsQuery = 1013 {
        group_no: Option<GroupNo> = opt GroupNo,
    }
}

message! {
    /// 1015: set the UDP monitor platform (设置监控平台).
    pub struct SetMonitor = 1015, check = check_set_monitor {
        ip: IpAddr = req Ip,
        port: u16 = req Port,
    }
}

message! {
    /// 1016: mute (listen only) or unmute.
    pub struct Mute = 1016 {
        tel_num: TelNum = req TelNum,
        mute: bool = req Mute,
    }
}

message! {
    /// 1019: listen (监听): hear both sides, say nothing; or whisper:
    /// hear both sides, heard by the agent only.
    pub struct Listen = 1019 {
        tel_num: TelNum = req TelNum,
        /// TelNum or WorkNo of the agent.
        target: String = req Target,
        /// `listen` (the default) or `whisper`.
        mode: Option<String> = opt Mode,
    }
}

message! {
    /// 1020: barge in (强插): three-way.
    pub struct BargeIn = 1020 {
        tel_num: TelNum = req TelNum,
        target: String = req Target,
    }
}

message! {
    /// 1021: take over (强切): the supervisor gets the caller, the agent is cut off.
    pub struct TakeOver = 1021 {
        tel_num: TelNum = req TelNum,
        target: String = req Target,
    }
}

message! {
    /// 1022: force hang-up of the target's call (强拆).
    pub struct ForceHangup = 1022 {
        tel_num: TelNum = req TelNum,
        target: String = req Target,
    }
}

message! {
    /// 1024: send a fax (发送传真). No CalleeNo: on the current call.
    pub struct SendFax = 1024, check = check_send_fax {
        tel_num: Option<TelNum> = opt TelNum,
        ch_num: Option<ChNum> = opt ChNum,
        callee_no: Option<String> = opt CalleeNo,
        file_name: String = req FileName,
    }
}

message! {
    /// 1026: data exchange with another system or agent.
    pub struct DataExchange = 1026 {
        target: DataTarget = req Target,
        data: String = req Data,
    }
}

message! {
    /// 1027: force release a channel (强行释放通道挂机).
    pub struct ForceRelease = 1027 {
        ch_num: ChNum = req ChNum,
    }
}

message! {
    /// 1028: timer (定时处理设置). Period empty = keep.
    pub struct Timer = 1028, check = check_timer {
        timer_no: u8 = req TimerNo,
        on: Option<bool> = opt OnOff,
        period_ms: Option<u32> = opt Period,
        flow: Option<String> = opt Flow,
    }
}

message! {
    /// 1029: reload flows now (及时修改流程); empty = all.
    pub struct ReloadFlow = 1029 {
        flow: Option<String> = opt Flow,
    }
}

message! {
    /// 1030: set a global flow variable.
    pub struct SetGlobal = 1030 {
        var_name: String = req VarName,
        var_value: String = dft VarValue,
    }
}

message! {
    /// 1031: phone control forwarded as HTTP (话机控制转发HTTP).
    pub struct PhoneControl = 1031 {
        /// Host, optionally with `:port`.
        phone_ip: String = req PhoneIp,
        /// SPEAKER, OFFHOOK, ONHOOK, CALLEND or `number=1002`.
        key: String = req Key,
        user: Option<String> = opt User,
        password: Option<String> = opt Password,
        outgoing_uri: Option<String> = opt OutgoingUri,
    }
}

message! {
    /// 1032: query conferences; empty = all.
    pub struct ConfQuery = 1032 {
        conf_no: Option<ConfNo> = opt ConfNo,
    }
}

message! {
    /// 1033: two-party outbound conference (agent + two outside numbers).
    pub struct TwoPartyConference = 1033 {
        tel_num: TelNum = req TelNum,
        callee_no: String = req CalleeNo,
        callee_no2: String = req CalleeNo2,
        caller_no: Option<String> = opt CallerNo,
        hallh: bool = dft Hallh,
    }
}

message! {
    /// 1099: heartbeat.
    pub struct Heartbeat = 1099 {
        tel_num: TelNum = req TelNum,
    }
}
