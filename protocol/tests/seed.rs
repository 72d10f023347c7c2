//! The seed's literal examples and protocol.md's rules, as fixtures.

use spcti_protocol::agent::*;
use spcti_protocol::event::CallResult;
use spcti_protocol::reply::{Ack, ChannelInfo, ConfInfo};
use spcti_protocol::*;

fn dec(text: &str) -> Result<Envelope, DecodeError> {
    decode(text.as_bytes(), TextEncoding::Utf8)
}

fn enc(m: impl Into<Message>) -> String {
    String::from_utf8(encode(&m.into(), None, TextEncoding::Utf8)).unwrap()
}

const SEED_6009: &str = "<MsgType>6009</MsgType><TelNum>8031</TelNum><CallerNo>6060</CallerNo><CalleeNo>78963200</CalleeNo><AR>1</AR><Reason>0</Reason><TellGUID>769194C3-423C-40E7-8E23-7BA83900DBFB</TellGUID>";

#[test]
fn seed_6009_decodes_exactly_and_re_encodes_byte_for_byte() {
    let env = dec(SEED_6009).unwrap();
    let expected = CallResult {
        tel_num: TelNum::new("8031").unwrap(),
        caller_no: "6060".into(),
        callee_no: "78963200".into(),
        answered: true,
        reason: Cause(0),
        tell_guid: Some("769194C3-423C-40E7-8E23-7BA83900DBFB".parse().unwrap()),
    };
    assert_eq!(env.message, Message::CallResult(expected.clone()));
    assert_eq!(enc(expected), SEED_6009);
}

#[test]
fn seed_6009_as_printed_missing_its_first_bracket_is_refused_with_a_reason() {
    // The seed's copy dropped the first `<`; that text is not a datagram.
    let err = dec(&SEED_6009[1..]).unwrap_err();
    assert_eq!(err.kind, DecodeErrorKind::StrayText);
}

#[test]
fn seed_9000_example() {
    let text = "<MsgType>9000</MsgType><Req>1001</Req><Result>0</Result><ResultSTR>missing TelNum</ResultSTR>";
    let env = dec(text).unwrap();
    assert_eq!(
        env.message,
        Message::Ack(Ack::failed(1001, None, "missing TelNum"))
    );
    assert_eq!(enc(Ack::failed(1001, None, "missing TelNum")), text);
}

#[test]
fn whitespace_declaration_case_and_alias() {
    let text = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n  <msgtype> 1008</msgtype>\n <TELNUM>8001 </TELNUM>\n<TanstoTel>8002</TanstoTel><Unknown>x</Unknown>";
    let env = dec(text).unwrap();
    let Message::Transfer(t) = env.message else {
        panic!()
    };
    assert_eq!(t.tel_num.as_str(), "8001");
    assert_eq!(t.trans_to_tel.as_deref(), Some("8002"));
}

#[test]
fn show_state_null_and_tellguid_case() {
    let env =
        dec("<MsgType>1002</MsgType><TelNum>8001</TelNum><ShowState>NULL</ShowState>").unwrap();
    assert_eq!(
        env.message,
        Message::SetBusy(SetBusy {
            tel_num: TelNum::new("8001").unwrap(),
            show_state: Some("NULL".into())
        })
    );
    let env = dec("<MsgType>1003</MsgType><TelNum>8001</TelNum><CalleeNo>013800000000</CalleeNo><TellGuid>769194c3-423c-40e7-8e23-7ba83900dbfb</TellGuid>").unwrap();
    let Message::PlaceCall(p) = env.message else {
        panic!()
    };
    assert_eq!(
        p.tell_guid.unwrap().to_string(),
        "769194C3-423C-40E7-8E23-7BA83900DBFB"
    );
    assert!(!p.meeting && !p.hallh);
}

#[test]
fn first_of_a_repeated_tag_wins() {
    let env = dec("<MsgType>1099</MsgType><TelNum>8001</TelNum><TelNum>8002</TelNum>").unwrap();
    assert_eq!(
        env.message,
        Message::Heartbeat(Heartbeat {
            tel_num: TelNum::new("8001").unwrap()
        })
    );
}

#[test]
fn seq_is_carried() {
    let env = dec("<MsgType>1099</MsgType><TelNum>8001</TelNum><Seq>a-17</Seq>").unwrap();
    assert_eq!(env.seq.as_deref(), Some("a-17"));
    let bytes = encode(&env.message, env.seq.as_deref(), TextEncoding::Utf8);
    assert_eq!(
        bytes,
        b"<MsgType>1099</MsgType><TelNum>8001</TelNum><Seq>a-17</Seq>"
    );
}

#[test]
fn list_replies_repeat_tags() {
    let text = "<MsgType>9032</MsgType><ConfNo>3</ConfNo><Member>8001</Member><Member>13800000000</Member><HALLH>1</HALLH>";
    let env = dec(text).unwrap();
    let Message::ConfInfo(ConfInfo { conferences }) = &env.message else {
        panic!()
    };
    assert_eq!(conferences[0].members, vec!["8001", "13800000000"]);
    assert_eq!(enc(env.message.clone()), text);

    let text = "<MsgType>9011</MsgType><Count>2</Count>\
        <ChNum>3</ChNum><ChType>trunk</ChType><State>talking</State><Time>2026-01-02 03:04:05</Time>\
        <ChNum>7</ChNum><ChType>seat</ChType><State>free</State><TelNum>8001</TelNum><Time>2026-01-02 03:04:06</Time>";
    let Message::ChannelInfo(ChannelInfo { channels }) = dec(text).unwrap().message else {
        panic!()
    };
    assert_eq!(channels.len(), 2);
    assert_eq!(channels[1].tel_num.as_ref().unwrap().as_str(), "8001");
    assert_eq!(channels[0].state, ChannelState::Talking);

    let bad = text.replace("<Count>2</Count>", "<Count>3</Count>");
    assert!(matches!(
        dec(&bad).unwrap_err().kind,
        DecodeErrorKind::BadValue { tag: "Count", .. }
    ));
}

#[test]
fn refusals_carry_req_and_seq_and_say_why() {
    let cases: &[(&str, u32, &str)] = &[
        (
            "<MsgType>1001</MsgType><Seq>9</Seq>",
            1001,
            "missing TelNum",
        ),
        (
            "<MsgType>1001</MsgType><TelNum></TelNum>",
            1001,
            "missing TelNum",
        ),
        ("<TelNum>8001</TelNum>", 0, "missing MsgType"),
        (
            "<MsgType>1016</MsgType><TelNum>8001</TelNum><Mute>maybe</Mute>",
            1016,
            "bad Mute 'maybe': expected 1 or 0",
        ),
        (
            "<MsgType>1028</MsgType><TimerNo>3</TimerNo><Period>50</Period>",
            1028,
            "bad Period '50': expected more than 100 (milliseconds)",
        ),
        (
            "<MsgType>1028</MsgType><TimerNo>10</TimerNo>",
            1028,
            "bad TimerNo '10': expected 1 to 9",
        ),
        (
            "<MsgType>1005</MsgType><Flow>x</Flow>",
            1005,
            "missing ChNum or TelNum",
        ),
        (
            "<MsgType>1015</MsgType><IP>300.1.1.1</IP><Port>9</Port>",
            1015,
            "bad IP '300.1.1.1': expected an IPv4 or IPv6 address",
        ),
        (
            "<MsgType>1001</MsgType><TelNum>80 01</TelNum>",
            1001,
            "bad TelNum '80 01': TelNum must not contain spaces",
        ),
        (
            "<MsgType>1001</MsgType><TelNum a=\"1\">8001</TelNum>",
            0,
            "<TelNum> has attributes; values go in element text",
        ),
        (
            "<MsgType>1001</MsgType><TelNum><b>8001</b></TelNum>",
            0,
            "<b> is nested inside <TelNum>; values must be plain text",
        ),
        (
            "<MsgType>1001</MsgType><TelNum>8001",
            0,
            "<TelNum> is not closed",
        ),
        (
            "<MsgType>1001</MsgType><TelNum>8001</WorkNo>",
            0,
            "</WorkNo> does not close <TelNum>",
        ),
        (
            "<!DOCTYPE lol [<!ENTITY a \"b\">]><MsgType>1001</MsgType>",
            0,
            "DOCTYPE is not allowed",
        ),
        ("", 0, "datagram is empty"),
    ];
    for (text, req, why) in cases {
        let err = dec(text).unwrap_err();
        assert_eq!(
            (err.req, err.kind.to_string().as_str()),
            (*req, *why),
            "{text}"
        );
    }
    assert_eq!(
        dec("<MsgType>1001</MsgType><Seq>9</Seq>")
            .unwrap_err()
            .seq
            .as_deref(),
        Some("9")
    );
}

#[test]
fn unknown_msg_type_is_a_value_refused_by_known() {
    let env = dec("<MsgType>1234</MsgType><TelNum>8001</TelNum><Seq>s</Seq>").unwrap();
    assert!(matches!(env.message, Message::Unknown(_)));
    let err = env.known().unwrap_err();
    assert_eq!(
        (err.req, err.kind.to_string(), err.seq.as_deref()),
        (1234, "unknown MsgType 1234".into(), Some("s"))
    );
    assert_eq!(
        dec("<MsgType>abc</MsgType>")
            .unwrap()
            .known()
            .unwrap_err()
            .req,
        0
    );
}

#[test]
fn size_and_encoding_limits() {
    let big = format!(
        "<MsgType>1026</MsgType><Target>8001</Target><Data>{}</Data>",
        "x".repeat(8200)
    );
    assert_eq!(
        dec(&big).unwrap_err().kind,
        DecodeErrorKind::TooLarge(big.len())
    );
    let ok = format!(
        "<MsgType>1026</MsgType><Target>8001</Target><Data>{}</Data>",
        "x".repeat(8000)
    );
    assert!(dec(&ok).is_ok());
    let bad = b"<MsgType>1002</MsgType><TelNum>8001</TelNum><ShowState>\xff\xfe</ShowState>";
    assert_eq!(
        decode(bad, TextEncoding::Utf8).unwrap_err().kind,
        DecodeErrorKind::BadEncoding("utf-8")
    );
    let (gbk, _, _) = encoding_rs::GBK
        .encode("<MsgType>1002</MsgType><TelNum>8001</TelNum><ShowState>午休</ShowState>");
    // GBK sent to a UTF-8 listener: the reason names the likely mistake.
    assert_eq!(
        decode(&gbk, TextEncoding::Utf8).unwrap_err().kind,
        DecodeErrorKind::GbkOnUtf8
    );
    let Message::SetBusy(b) = decode(&gbk, TextEncoding::Gbk).unwrap().message else {
        panic!()
    };
    assert_eq!(b.show_state.as_deref(), Some("午休"));
}

#[test]
fn encoder_escapes_values() {
    let m = SetBusy {
        tel_num: TelNum::new("8001").unwrap(),
        show_state: Some("R&D <meeting>".into()),
    };
    assert_eq!(
        enc(m),
        "<MsgType>1002</MsgType><TelNum>8001</TelNum><ShowState>R&amp;D &lt;meeting&gt;</ShowState>"
    );
}

#[test]
fn fuzz_regression_carriage_return_reference_survives_a_round_trip() {
    // Found by cargo-fuzz: `&#13;` decoded to CR, which the encoder wrote raw
    // and XML line-end rules read back as LF.
    let env =
        dec("<MsgType>1002</MsgType><TelNum>8001</TelNum><ShowState>a&#13;b</ShowState>").unwrap();
    let bytes = encode(&env.message, None, TextEncoding::Utf8);
    assert_eq!(dec(std::str::from_utf8(&bytes).unwrap()).unwrap(), env);
    assert_eq!(
        dec("<MsgType>1002</MsgType><TelNum>8001</TelNum><ShowState>a\u{0}b</ShowState>")
            .unwrap_err()
            .kind,
        DecodeErrorKind::ForbiddenChar(0)
    );
}
