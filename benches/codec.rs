//! Codec throughput: decode and encode of a screen pop (6003) and a channel
//! state (6012), the two datagrams sent on every offered call and every
//! channel change; and the SIP codec's first decision (`sip::inspect`) on
//! a carrier's INVITE with SDP, and the encoding of its 180. Criterion
//! reports messages per second.

use std::hint::black_box;

use chrono::NaiveDate;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use spcti_protocol::event::ScreenPop;
use spcti_protocol::monitor::ChannelStatus;
use spcti_protocol::*;

fn screen_pop() -> Message {
    ScreenPop {
        tel_num: TelNum::new("8001").unwrap(),
        ch_num: ChNum(12),
        caller_no: "13800138000".into(),
        callee_no: "4008001234".into(),
        group_no: Some(GroupNo(1)),
        tell_guid: "769194C3-423C-40E7-8E23-7BA83900DBFB".parse().unwrap(),
        wait_s: 14,
        cust_name: "张伟".into(),
        cust_company: "Acme Trading & Co.".into(),
        cust_address: "88 Century Avenue, Pudong, Shanghai".into(),
        cust_contact: "Ms. Li".into(),
        extra: vec![("IvrChoice".into(), "2".into())],
    }
    .into()
}

fn channel_state() -> Message {
    ChannelStatus {
        ch_num: ChNum(31),
        ch_type: ChType::Seat,
        state: ChannelState::Talking,
        tel_num: Some(TelNum::new("8001").unwrap()),
        work_no: Some(WorkNo::new("1001").unwrap()),
        caller_no: "13800138000".into(),
        callee_no: "8001".into(),
        tell_guid: Some("769194C3-423C-40E7-8E23-7BA83900DBFB".parse().unwrap()),
        link_ch: Some(ChNum(2)),
        agent_state: Some(AgentState::Talking),
        show_state: String::new(),
        time: NaiveDate::from_ymd_opt(2026, 11, 24)
            .unwrap()
            .and_hms_opt(9, 30, 0)
            .unwrap(),
    }
    .into()
}

fn bench(c: &mut Criterion) {
    for (name, msg) in [
        ("6003_screen_pop", screen_pop()),
        ("6012_channel_state", channel_state()),
    ] {
        let mut group = c.benchmark_group(name);
        group.throughput(Throughput::Elements(1));
        let bytes = encode(&msg, None, TextEncoding::Utf8);
        let gbk = encode(&msg, None, TextEncoding::Gbk);
        group.bench_function("decode_utf8", |b| {
            b.iter(|| decode(black_box(&bytes), TextEncoding::Utf8).unwrap())
        });
        group.bench_function("decode_gbk", |b| {
            b.iter(|| decode(black_box(&gbk), TextEncoding::Gbk).unwrap())
        });
        // The gateway's way: one buffer, cleared between datagrams.
        let mut buf = String::with_capacity(512);
        group.bench_function("encode_into_reused_buffer", |b| {
            b.iter(|| {
                buf.clear();
                encode_into(black_box(&msg), None, &mut buf);
                buf.len()
            })
        });
        group.bench_function("encode_gbk", |b| {
            b.iter(|| encode(black_box(&msg), None, TextEncoding::Gbk))
        });
        group.finish();
    }
}

/// A carrier's INVITE as sipp's uac scenario sends it, with its SDP.
const INVITE: &str = "INVITE sip:4008001234@127.0.0.1:5060 SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK-4242-1-0\r\n\
From: sipp <sip:13800138000@127.0.0.1:5080>;tag=4242SIPpTag001\r\n\
To: <sip:4008001234@127.0.0.1:5060>\r\n\
Call-ID: 1-4242@127.0.0.1\r\n\
CSeq: 1 INVITE\r\n\
Contact: sip:sipp@127.0.0.1:5080\r\n\
Max-Forwards: 70\r\n\
Subject: Performance Test\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 129\r\n\
\r\n\
v=0\r\n\
o=user1 53655765 2353687637 IN IP4 127.0.0.1\r\n\
s=-\r\n\
c=IN IP4 127.0.0.1\r\n\
t=0 0\r\n\
m=audio 6000 RTP/AVP 8\r\n\
a=rtpmap:8 PCMA/8000\r\n";

fn sip(c: &mut Criterion) {
    use spcti_protocol::sip::{Policy, Verdict, inspect};
    let policy = Policy::default();
    let bytes = INVITE.as_bytes();
    let Verdict::Request(req) = inspect(bytes, &policy) else {
        panic!("the bench INVITE is not taken")
    };
    let mut group = c.benchmark_group("sip_invite");
    group.throughput(Throughput::Elements(1));
    group.bench_function("inspect", |b| {
        b.iter(|| match inspect(black_box(bytes), &policy) {
            Verdict::Request(m) => m.headers.len(),
            other => panic!("{other:?}"),
        })
    });
    let mut ringing = req.clone();
    ringing.start = spcti_protocol::sip::StartLine::Response {
        version: (2, 0),
        code: 180,
        reason: "Ringing".into(),
    };
    ringing.body.clear();
    group.bench_function("encode_180", |b| {
        b.iter(|| black_box(&ringing).encode().len())
    });
    group.finish();
}

criterion_group!(benches, bench, sip);
criterion_main!(benches);
