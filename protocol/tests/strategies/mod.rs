//! Proptest strategies: one per MsgType, generating only values the wire can
//! carry (values are trimmed, empty optional tags mean absent).

use chrono::{DateTime, NaiveDateTime};
use proptest::option::of;
use proptest::prelude::*;
use proptest::strategy::Union;
use spcti_protocol::agent::*;
use spcti_protocol::event::*;
use spcti_protocol::ipseat::*;
use spcti_protocol::monitor::ChannelStatus;
use spcti_protocol::reply::*;
use spcti_protocol::tags::Tag;
use spcti_protocol::*;

fn xml_trim(s: String) -> String {
    s.trim_matches([' ', '\t', '\r', '\n']).to_owned()
}

/// Any printable text, including markup characters and CJK, trimmed.
pub fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,16}".prop_map(xml_trim),
        "[a-z &<>'\"中文午休\r\n\t]{0,12}".prop_map(xml_trim),
    ]
}

pub fn text1() -> impl Strategy<Value = String> {
    text().prop_filter("non-empty", |s| !s.is_empty())
}

pub fn token() -> impl Strategy<Value = String> {
    "[0-9A-Za-z*#+]{1,12}"
}

pub fn tel() -> impl Strategy<Value = TelNum> {
    token().prop_map(|s| TelNum::new(s).unwrap())
}

pub fn work() -> impl Strategy<Value = WorkNo> {
    token().prop_map(|s| WorkNo::new(s).unwrap())
}

pub fn guid() -> impl Strategy<Value = TellGuid> {
    any::<u128>().prop_map(|n| TellGuid(uuid::Uuid::from_u128(n)))
}

pub fn ch() -> impl Strategy<Value = ChNum> {
    any::<u32>().prop_map(ChNum)
}

pub fn group() -> impl Strategy<Value = GroupNo> {
    any::<u32>().prop_map(GroupNo)
}

pub fn time() -> impl Strategy<Value = NaiveDateTime> {
    (0i64..4_102_444_800).prop_map(|s| DateTime::from_timestamp(s, 0).unwrap().naive_utc())
}

fn ip() -> impl Strategy<Value = std::net::IpAddr> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(std::net::IpAddr::from),
        any::<[u16; 8]>().prop_map(std::net::IpAddr::from),
    ]
}

fn pick<T: Copy + std::fmt::Debug + 'static>(all: &'static [T]) -> impl Strategy<Value = T> {
    proptest::sample::select(all)
}

fn target() -> impl Strategy<Value = DataTarget> {
    prop_oneof![
        ch().prop_map(DataTarget::Channel),
        "[0-9A-Za-z]{1,8}".prop_map(DataTarget::Agent),
    ]
}

fn trans_type() -> impl Strategy<Value = TransType> {
    pick(&[TransType::Internal, TransType::Group, TransType::Outbound])
}

pub fn channel_status() -> impl Strategy<Value = ChannelStatus> {
    (
        (
            ch(),
            pick(ChType::ALL),
            pick(ChannelState::ALL),
            of(tel()),
            of(work()),
        ),
        (
            text(),
            text(),
            of(guid()),
            of(ch()),
            of(pick(AgentState::ALL)),
            text(),
            time(),
        ),
    )
        .prop_map(
            |(
                (ch_num, ch_type, state, tel_num, work_no),
                (caller_no, callee_no, tell_guid, link_ch, agent_state, show_state, time),
            )| ChannelStatus {
                ch_num,
                ch_type,
                state,
                tel_num,
                work_no,
                caller_no,
                callee_no,
                tell_guid,
                link_ch,
                agent_state,
                show_state,
                time,
            },
        )
}

fn extra_name() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9_]{0,10}".prop_filter("not a protocol tag", |n| Tag::from_name(n).is_none())
}

fn extras() -> impl Strategy<Value = Vec<(String, String)>> {
    proptest::collection::vec((extra_name(), text()), 0..3).prop_map(|v| {
        let mut out: Vec<(String, String)> = Vec::new();
        for (n, t) in v {
            if !out.iter().any(|(e, _)| e.eq_ignore_ascii_case(&n)) {
                out.push((n, t));
            }
        }
        out
    })
}

macro_rules! strat {
    ($v:expr, $s:expr) => {
        ($v, $s.prop_map(Message::from).boxed())
    };
}

/// One strategy per MsgType, with its code.
pub fn all() -> Vec<(u32, BoxedStrategy<Message>)> {
    vec![
        strat!(
            1001,
            (
                tel(),
                of(work()),
                proptest::collection::vec(group(), 0..4),
                of(text1()),
                of(text1())
            )
                .prop_map(|(tel_num, work_no, g, show_state, password)| Login {
                    tel_num,
                    work_no,
                    groups: GroupList(g),
                    show_state,
                    password
                })
        ),
        strat!(
            1002,
            (tel(), of(text1())).prop_map(|(tel_num, show_state)| SetBusy {
                tel_num,
                show_state
            })
        ),
        strat!(
            1003,
            (
                tel(),
                text1(),
                of(text1()),
                of(guid()),
                of(text1()),
                any::<bool>(),
                any::<bool>()
            )
                .prop_map(
                    |(tel_num, callee_no, caller_no, tell_guid, ring_no, meeting, hallh)| {
                        PlaceCall {
                            tel_num,
                            callee_no,
                            caller_no,
                            tell_guid,
                            ring_no,
                            meeting,
                            hallh,
                        }
                    }
                )
        ),
        strat!(1004, tel().prop_map(|tel_num| Logout { tel_num })),
        strat!(
            1005,
            (of(ch()), tel(), text1(), of(text1())).prop_map(|(ch_num, t, flow, node)| {
                SwitchFlow {
                    ch_num,
                    tel_num: Some(t),
                    flow,
                    node,
                }
            })
        ),
        strat!(
            1006,
            (ch(), of(tel()), text1()).prop_map(|(c, tel_num, var_name)| GetVariable {
                ch_num: Some(c),
                tel_num,
                var_name
            })
        ),
        strat!(1007, tel().prop_map(|tel_num| RetrieveCall { tel_num })),
        strat!(
            1008,
            (
                tel(),
                of(text1()),
                of(work()),
                of(group()),
                of(text1()),
                of(text1())
            )
                .prop_map(
                    |(tel_num, trans_to_tel, work_no, group_no, caller_no, callee_no)| Transfer {
                        tel_num,
                        trans_to_tel,
                        work_no,
                        group_no,
                        caller_no,
                        callee_no
                    }
                )
        ),
        strat!(1009, tel().prop_map(|tel_num| CancelTransfer { tel_num })),
        strat!(
            1010,
            (tel(), of(text1())).prop_map(|(tel_num, target)| PickUp { tel_num, target })
        ),
        strat!(
            1011,
            (of(ch()), tel(), of(work()), of((ip(), any::<u16>()))).prop_map(
                |(ch_num, t, work_no, ret)| ChannelInfoQuery {
                    ch_num,
                    tel_num: Some(t),
                    work_no,
                    ret_ip: ret.map(|r| r.0),
                    ret_port: ret.map(|r| r.1)
                }
            )
        ),
        strat!(
            1013,
            of(group()).prop_map(|group_no| StatsQuery { group_no })
        ),
        strat!(
            1015,
            (ip(), any::<u16>()).prop_map(|(ip, port)| SetMonitor { ip, port })
        ),
        strat!(
            1016,
            (tel(), any::<bool>()).prop_map(|(tel_num, mute)| Mute { tel_num, mute })
        ),
        strat!(
            1019,
            (tel(), text1(), of(text1())).prop_map(|(tel_num, target, mode)| Listen {
                tel_num,
                target,
                mode
            })
        ),
        strat!(
            1020,
            (tel(), text1()).prop_map(|(tel_num, target)| BargeIn { tel_num, target })
        ),
        strat!(
            1021,
            (tel(), text1()).prop_map(|(tel_num, target)| TakeOver { tel_num, target })
        ),
        strat!(
            1022,
            (tel(), text1()).prop_map(|(tel_num, target)| ForceHangup { tel_num, target })
        ),
        strat!(
            1024,
            (tel(), of(ch()), of(text1()), text1()).prop_map(
                |(t, ch_num, callee_no, file_name)| SendFax {
                    tel_num: Some(t),
                    ch_num,
                    callee_no,
                    file_name
                }
            )
        ),
        strat!(
            1026,
            (target(), text1()).prop_map(|(target, data)| DataExchange { target, data })
        ),
        strat!(1027, ch().prop_map(|ch_num| ForceRelease { ch_num })),
        strat!(
            1028,
            (1u8..=9, of(any::<bool>()), of(101u32..), of(text1())).prop_map(
                |(timer_no, on, period_ms, flow)| Timer {
                    timer_no,
                    on,
                    period_ms,
                    flow
                }
            )
        ),
        strat!(1029, of(text1()).prop_map(|flow| ReloadFlow { flow })),
        strat!(
            1030,
            (text1(), text()).prop_map(|(var_name, var_value)| SetGlobal {
                var_name,
                var_value
            })
        ),
        strat!(
            1031,
            (text1(), text1(), of(text1()), of(text1()), of(text1())).prop_map(
                |(phone_ip, key, user, password, outgoing_uri)| PhoneControl {
                    phone_ip,
                    key,
                    user,
                    password,
                    outgoing_uri
                }
            )
        ),
        strat!(
            1032,
            of(any::<u32>()).prop_map(|c| ConfQuery {
                conf_no: c.map(ConfNo)
            })
        ),
        strat!(
            1033,
            (tel(), text1(), text1(), of(text1()), any::<bool>()).prop_map(
                |(tel_num, callee_no, callee_no2, caller_no, hallh)| TwoPartyConference {
                    tel_num,
                    callee_no,
                    callee_no2,
                    caller_no,
                    hallh
                }
            )
        ),
        strat!(1099, tel().prop_map(|tel_num| Heartbeat { tel_num })),
        strat!(
            9000,
            (any::<u32>(), any::<bool>(), text(), of(tel())).prop_map(
                |(req, ok, result_str, tel_num)| Ack {
                    req,
                    ok,
                    result_str,
                    tel_num
                }
            )
        ),
        strat!(
            9006,
            (of(ch()), text1(), text()).prop_map(|(ch_num, var_name, var_value)| VariableValue {
                ch_num,
                var_name,
                var_value
            })
        ),
        strat!(
            9011,
            proptest::collection::vec(channel_status(), 0..4)
                .prop_map(|channels| ChannelInfo { channels })
        ),
        strat!(
            9014,
            (of(group()), any::<[u32; 9]>(), 0u32..=100).prop_map(
                |(group_no, n, service_level)| Stats {
                    group_no,
                    online: n[0],
                    ready: n[1],
                    busy: n[2],
                    talking: n[3],
                    ringing: n[4],
                    queued: n[5],
                    longest_wait_s: n[6],
                    answered_today: n[7],
                    abandoned_today: n[8],
                    service_level
                }
            )
        ),
        strat!(
            9030,
            (ch(), of(ch()), of(trans_type()), of(text1())).prop_map(
                |(ch_num, r, trans_type, result_str)| TransferResult {
                    ch_num,
                    result_ch: ResultCh(r),
                    trans_type,
                    result_str
                }
            )
        ),
        strat!(
            9032,
            proptest::collection::vec(
                (
                    any::<u32>(),
                    proptest::collection::vec(text1(), 0..4),
                    any::<bool>()
                ),
                0..3
            )
            .prop_map(|v| ConfInfo {
                conferences: v
                    .into_iter()
                    .map(|(c, members, hallh)| Conference {
                        conf_no: ConfNo(c),
                        members,
                        hallh
                    })
                    .collect()
            })
        ),
        strat!(
            9040,
            (ch(), of(ch()), text(), text()).prop_map(|(ch_num, r, result_str, in_call_num)| {
                PickUpResult {
                    ch_num,
                    result_ch: ResultCh(r),
                    result_str,
                    in_call_num,
                }
            })
        ),
        strat!(
            90991,
            any::<bool>().prop_map(|accepted| MonitorSet { accepted })
        ),
        strat!(
            9099,
            (tel(), pick(AgentState::ALL)).prop_map(|(tel_num, agent_state)| HeartbeatAck {
                tel_num,
                agent_state
            })
        ),
        strat!(
            6001,
            (tel(), of(work()), pick(AgentState::ALL), text()).prop_map(
                |(tel_num, work_no, agent_state, show_state)| AgentStateChanged {
                    tel_num,
                    work_no,
                    agent_state,
                    show_state
                }
            )
        ),
        strat!(
            6003,
            (
                (
                    tel(),
                    ch(),
                    text(),
                    text(),
                    of(group()),
                    guid(),
                    any::<u32>()
                ),
                (text(), text(), text(), text(), extras())
            )
                .prop_map(
                    |(
                        (tel_num, ch_num, caller_no, callee_no, group_no, tell_guid, wait_s),
                        (cust_name, cust_company, cust_address, cust_contact, extra),
                    )| ScreenPop {
                        tel_num,
                        ch_num,
                        caller_no,
                        callee_no,
                        group_no,
                        tell_guid,
                        wait_s,
                        cust_name,
                        cust_company,
                        cust_address,
                        cust_contact,
                        extra
                    }
                )
        ),
        strat!(
            6004,
            (tel(), ch(), guid()).prop_map(|(tel_num, ch_num, tell_guid)| CallConnected {
                tel_num,
                ch_num,
                tell_guid
            })
        ),
        strat!(6007, tel().prop_map(|tel_num| LocalHangup { tel_num })),
        strat!(6008, tel().prop_map(|tel_num| RemoteHangup { tel_num })),
        strat!(
            6009,
            (
                tel(),
                text(),
                text(),
                any::<bool>(),
                any::<u16>(),
                of(guid())
            )
                .prop_map(|(tel_num, caller_no, callee_no, answered, r, tell_guid)| {
                    CallResult {
                        tel_num,
                        caller_no,
                        callee_no,
                        answered,
                        reason: Cause(r),
                        tell_guid,
                    }
                })
        ),
        strat!(6012, channel_status()),
        strat!(
            6023,
            (tel(), text(), guid()).prop_map(|(tel_num, callee_no, tell_guid)| CallAccepted {
                tel_num,
                callee_no,
                tell_guid
            })
        ),
        strat!(
            6024,
            (tel(), text(), text(), any::<u32>(), text(), of(guid())).prop_map(
                |(tel_num, callee_no, file_name, pages, result, tell_guid)| FaxSent {
                    tel_num,
                    callee_no,
                    file_name,
                    pages,
                    result,
                    tell_guid
                }
            )
        ),
        strat!(
            6025,
            (ch(), text(), text(), any::<u32>(), text(), of(guid())).prop_map(
                |(ch_num, caller_no, file_name, pages, result, tell_guid)| FaxReceived {
                    ch_num,
                    caller_no,
                    file_name,
                    pages,
                    result,
                    tell_guid
                }
            )
        ),
        strat!(
            6026,
            (text(), text()).prop_map(|(from, data)| DataReceived { from, data })
        ),
        strat!(
            4860,
            (tel(), text1()).prop_map(|(tel_num, callee_no)| IpSeatDial { tel_num, callee_no })
        ),
        strat!(4861, tel().prop_map(|tel_num| IpSeatAnswer { tel_num })),
        strat!(4862, tel().prop_map(|tel_num| IpSeatHangup { tel_num })),
        strat!(
            4863,
            (tel(), text(), of(guid())).prop_map(|(tel_num, caller_no, tell_guid)| IpSeatRinging {
                tel_num,
                caller_no,
                tell_guid
            })
        ),
        strat!(
            4864,
            (tel(), text(), text(), of(guid())).prop_map(
                |(tel_num, caller_no, callee_no, tell_guid)| IpSeatConnected {
                    tel_num,
                    caller_no,
                    callee_no,
                    tell_guid
                }
            )
        ),
        strat!(
            4865,
            (tel(), of(any::<u16>())).prop_map(|(tel_num, r)| IpSeatHungUp {
                tel_num,
                reason: r.map(Cause)
            })
        ),
        strat!(
            4866,
            (tel(), any::<bool>(), text()).prop_map(|(tel_num, registered, contact)| {
                IpSeatRegistration {
                    tel_num,
                    registered,
                    contact,
                }
            })
        ),
    ]
}

/// Any message of any type.
pub fn any_message() -> impl Strategy<Value = Message> {
    Union::new(all().into_iter().map(|(_, s)| s))
}

/// An optional Seq token.
pub fn seq() -> impl Strategy<Value = Option<String>> {
    of(text1())
}
