//! IP-seat link (UDP 5805): MsgTypes 4860–4866.

use crate::codec::message;
use crate::ids::{Cause, TelNum, TellGuid};

message! {
    /// 4860: dial from my IP seat.
    pub struct IpSeatDial = 4860 {
        tel_num: TelNum = req TelNum,
        callee_no: String = req CalleeNo,
    }
}

message! {
    /// 4861: answer the call ringing at my IP seat.
    pub struct IpSeatAnswer = 4861 {
        tel_num: TelNum = req TelNum,
    }
}

message! {
    /// 4862: hang up my IP seat.
    pub struct IpSeatHangup = 4862 {
        tel_num: TelNum = req TelNum,
    }
}

message! {
    /// 4863: my IP seat is ringing.
    pub struct IpSeatRinging = 4863 {
        tel_num: TelNum = req TelNum,
        caller_no: String = dft CallerNo,
        tell_guid: Option<TellGuid> = nul TellGuid,
    }
}

message! {
    /// 4864: my IP seat is connected.
    pub struct IpSeatConnected = 4864 {
        tel_num: TelNum = req TelNum,
        caller_no: String = dft CallerNo,
        callee_no: String = dft CalleeNo,
        tell_guid: Option<TellGuid> = nul TellGuid,
    }
}

message! {
    /// 4865: my IP seat hung up.
    pub struct IpSeatHungUp = 4865 {
        tel_num: TelNum = req TelNum,
        reason: Option<Cause> = nul Reason,
    }
}

message! {
    /// 4866: registration state of my IP seat.
    pub struct IpSeatRegistration = 4866 {
        tel_num: TelNum = req TelNum,
        registered: bool = dft Registered,
        contact: String = dft Contact,
    }
}
