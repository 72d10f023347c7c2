//! The tag names of the protocol, each with its one canonical spelling.
//!
//! Input is matched case-insensitively (the seed writes both `TellGuid` and
//! `TellGUID`); output always uses the spelling below. Aliases accept the
//! seed's misspellings.

macro_rules! tags {
    ($( $(#[$m:meta])* $variant:ident = $name:literal $(| $alias:literal)* ),+ $(,)?) => {
        /// A known tag.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Tag { $( $(#[$m])* $variant ),+ }

        impl Tag {
            /// Every known tag.
            pub const ALL: &'static [Tag] = &[$(Tag::$variant),+];

            /// The canonical spelling written on output.
            pub const fn name(self) -> &'static str {
                match self { $(Tag::$variant => $name),+ }
            }

            /// Case-insensitive lookup of a tag name or one of its aliases.
            pub fn from_name(name: &str) -> Option<Tag> {
                $(
                    if name.eq_ignore_ascii_case($name) $(|| name.eq_ignore_ascii_case($alias))* {
                        return Some(Tag::$variant);
                    }
                )+
                None
            }
        }
    };
}

tags! {
    MsgType = "MsgType",
    Seq = "Seq",
    TelNum = "TelNum",
    WorkNo = "WorkNo",
    GroupNo = "GroupNo",
    ShowState = "ShowState",
    CallerNo = "CallerNo",
    CalleeNo = "CalleeNo",
    CalleeNo2 = "CalleeNo2",
    TellGuid = "TellGUID",
    RingNo = "RingNo",
    Meeting = "Meeting",
    Hallh = "HALLH",
    ChNum = "ChNum",
    Flow = "Flow",
    Node = "Node",
    VarName = "VarName",
    VarValue = "VarValue",
    /// The seed also spells it `TanstoTel`.
    TransToTel = "TransToTel" | "TanstoTel",
    Target = "Target",
    RetIp = "RetIP",
    RetPort = "RetPort",
    Ip = "IP",
    Port = "Port",
    Mute = "Mute",
    Mode = "Mode",
    FileName = "FileName",
    Data = "Data",
    TimerNo = "TimerNo",
    OnOff = "OnOff",
    Period = "Period",
    PhoneIp = "PhoneIP",
    Key = "Key",
    User = "User",
    Password = "Password",
    OutgoingUri = "OutgoingUri",
    ConfNo = "ConfNo",
    Member = "Member",
    Req = "Req",
    Result = "Result",
    ResultStr = "ResultSTR",
    Count = "Count",
    Online = "Online",
    Ready = "Ready",
    Busy = "Busy",
    Talking = "Talking",
    Ringing = "Ringing",
    Queued = "Queued",
    LongestWaitS = "LongestWaitS",
    AnsweredToday = "AnsweredToday",
    AbandonedToday = "AbandonedToday",
    ServiceLevel = "ServiceLevel",
    ResultCh = "ResultCH",
    TransType = "TransType",
    InCallNum = "InCallNUM",
    Mac = "MAC",
    AgentState = "AgentState",
    WaitS = "WaitS",
    CustName = "CustName",
    CustCompany = "CustCompany",
    CustAddress = "CustAddress",
    CustContact = "CustContact",
    Ar = "AR",
    Reason = "Reason",
    Pages = "Pages",
    From = "From",
    ChType = "ChType",
    State = "State",
    LinkCh = "LinkCh",
    Time = "Time",
    Registered = "Registered",
    Contact = "Contact",
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_is_case_insensitive_with_aliases() {
        assert_eq!(Tag::from_name("tellguid"), Some(Tag::TellGuid));
        assert_eq!(Tag::from_name("TellGuid"), Some(Tag::TellGuid));
        assert_eq!(Tag::from_name("TanstoTel"), Some(Tag::TransToTel));
        assert_eq!(Tag::from_name("Nope"), None);
    }

    #[test]
    fn canonical_names_round_trip() {
        for tag in Tag::ALL {
            assert_eq!(Tag::from_name(tag.name()), Some(*tag));
        }
    }
}
