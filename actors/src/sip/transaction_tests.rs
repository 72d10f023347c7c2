//! The four transaction machines against RFC 3261 §17's timer tables,
//! on virtual time.

use std::time::Duration;

use spcti_protocol::sip::{Message, Verdict, inspect};

use super::transaction::*;

const T1: Duration = Duration::from_millis(500);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn msg(text: &str) -> Message {
    let text = text.replace('\n', "\r\n");
    match inspect(text.as_bytes(), &Default::default()) {
        Verdict::Request(m) | Verdict::Response(m) => m,
        other => panic!("{other:?}\n{text}"),
    }
}

fn request(method: &str, branch: &str) -> Message {
    msg(&format!(
        "{method} sip:8001@127.0.0.1 SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:5080;branch={branch}
Max-Forwards: 70
From: <sip:carrier@127.0.0.1>;tag=a1
To: <sip:8001@127.0.0.1>
Call-ID: c1@127.0.0.1
CSeq: 7 {method}
Content-Length: 0

"
    ))
}

fn response(req: &Message, code: u16) -> Message {
    let mut r = response_for(req, code, "X");
    r.set("to", "<sip:8001@127.0.0.1>;tag=b2");
    // Through the wire and back, as the peer's answer arrives.
    match inspect(&r.encode(), &Default::default()) {
        Verdict::Response(m) => m,
        other => panic!("{other:?}"),
    }
}

fn sends(a: &[Action]) -> usize {
    a.iter().filter(|x| matches!(x, Action::Send(_))).count()
}

fn to_tu(a: &[Action]) -> usize {
    a.iter().filter(|x| matches!(x, Action::ToTu(_))).count()
}

/// Every Send from `tick`s at each wake-up until `until`, with their times.
fn run(table: &mut Transactions, until: Duration) -> Vec<(Duration, Action)> {
    let mut out = Vec::new();
    while let Some(at) = table.next_wake().filter(|w| *w <= until) {
        for (_, acts) in table.tick(at) {
            out.extend(acts.into_iter().map(|a| (at, a)));
        }
    }
    out
}

#[test]
fn an_invite_we_send_is_retransmitted_on_timer_a_until_timer_b() {
    let mut t = Transactions::new(Timers::default());
    let (_, first) = t.send(request("INVITE", "z9hG4bKa"), Transport::Unreliable, ms(0));
    assert_eq!(sends(&first), 1);
    let got = run(&mut t, ms(40_000));
    let resent: Vec<u64> = got
        .iter()
        .filter(|(_, a)| matches!(a, Action::Send(_)))
        .map(|(at, _)| at.as_millis() as u64)
        .collect();
    // A doubles: 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s; B at 32 s.
    assert_eq!(resent, [500, 1_500, 3_500, 7_500, 15_500, 31_500]);
    let ends: Vec<_> = got
        .iter()
        .filter(|(_, a)| !matches!(a, Action::Send(_)))
        .collect();
    assert_eq!(
        ends,
        [
            &(ms(32_000), Action::Timeout),
            &(ms(32_000), Action::Terminated)
        ]
    );
    assert!(t.is_empty());
}

#[test]
fn a_failure_to_our_invite_is_acked_once_per_copy_and_reaches_the_tu_once() {
    let mut t = Transactions::new(Timers::default());
    let inv = request("INVITE", "z9hG4bKb");
    let (key, _) = t.send(inv.clone(), Transport::Unreliable, ms(0));
    let r = t.receive(response(&inv, 180), Transport::Unreliable, ms(100));
    assert!(
        matches!(&r, Received::Matched(_, a) if to_tu(a) == 1 && sends(a) == 0),
        "{r:?}"
    );
    // No retransmission after a provisional.
    assert!(run(&mut t, ms(10_000)).is_empty());
    let busy = response(&inv, 486);
    let Received::Matched(_, a) = t.receive(busy.clone(), Transport::Unreliable, ms(10_000)) else {
        panic!()
    };
    assert_eq!((sends(&a), to_tu(&a)), (1, 1));
    let Action::Send(ack) = &a[0] else {
        panic!("{a:?}")
    };
    let Verdict::Request(ack) = inspect(ack, &Default::default()) else {
        panic!("our ACK does not pass our own inspection")
    };
    assert_eq!(ack.header("cseq"), Some("7 ACK"));
    assert_eq!(ack.header("to"), Some("<sip:8001@127.0.0.1>;tag=b2"));
    assert_eq!(ack.top_via().unwrap().0.as_deref(), Some("z9hG4bKb"));
    // The peer did not hear the ACK: its 486 again gets the ACK again,
    // and the TU hears nothing more.
    let Received::Matched(_, a) = t.receive(busy, Transport::Unreliable, ms(10_500)) else {
        panic!()
    };
    assert_eq!((sends(&a), to_tu(&a)), (1, 0));
    assert_eq!(t.get(&key).unwrap().state(), State::Completed);
    // Timer D: 32 s, then gone without a timeout.
    let got = run(&mut t, ms(50_000));
    assert_eq!(got, [(ms(42_000), Action::Terminated)]);
}

#[test]
fn a_non_invite_we_send_retransmits_up_to_t2_and_lingers_t4_after_its_answer() {
    let mut t = Transactions::new(Timers::default());
    let opt = request("OPTIONS", "z9hG4bKc");
    t.send(opt.clone(), Transport::Unreliable, ms(0));
    let got = run(&mut t, ms(12_000));
    let at: Vec<u64> = got.iter().map(|(at, _)| at.as_millis() as u64).collect();
    // E: 0.5, 1.5, 3.5, 7.5, then every T2 = 4 s.
    assert_eq!(at, [500, 1_500, 3_500, 7_500, 11_500]);
    let Received::Matched(_, a) = t.receive(response(&opt, 200), Transport::Unreliable, ms(12_000))
    else {
        panic!()
    };
    assert_eq!(to_tu(&a), 1);
    // Its copies are absorbed; K (T4) ends it.
    let Received::Matched(_, a) = t.receive(response(&opt, 200), Transport::Unreliable, ms(12_100))
    else {
        panic!()
    };
    assert!(a.is_empty());
    assert_eq!(run(&mut t, ms(20_000)), [(ms(17_000), Action::Terminated)]);

    // Unanswered: F at 64*T1 = 32 s.
    let mut t = Transactions::new(Timers::default());
    t.send(request("OPTIONS", "z9hG4bKd"), Transport::Unreliable, ms(0));
    let got = run(&mut t, ms(40_000));
    assert!(got.contains(&(ms(32_000), Action::Timeout)), "{got:?}");
}

#[test]
fn an_invite_to_us_reaches_the_tu_once_and_its_failure_is_resent_until_acked() {
    let mut t = Transactions::new(Timers::default());
    let inv = request("INVITE", "z9hG4bKe");
    let Received::New(key, a) = t.receive(inv.clone(), Transport::Unreliable, ms(0)) else {
        panic!()
    };
    assert_eq!(to_tu(&a), 1);
    // The TU is slow: 100 Trying goes out after 200 ms.
    let got = run(&mut t, ms(300));
    assert_eq!(got.len(), 1);
    let (at, Action::Send(trying)) = &got[0] else {
        panic!()
    };
    assert_eq!(*at, ms(200));
    assert!(trying.starts_with(b"SIP/2.0 100 Trying\r\n"));
    // The caller's retransmission: the 100 again, never a second call.
    let r = t.receive(inv.clone(), Transport::Unreliable, ms(500));
    assert!(
        matches!(&r, Received::Matched(_, a) if sends(a) == 1 && to_tu(a) == 0),
        "{r:?}"
    );
    // The TU refuses; G retransmits it (0.5, 1, 2, 4, 4 s...) until the ACK.
    let a = t.respond(&key, response_for(&inv, 486, "Busy Here"), ms(1_000));
    assert_eq!(sends(&a), 1);
    let got = run(&mut t, ms(12_000));
    let at: Vec<u64> = got.iter().map(|(at, _)| at.as_millis() as u64).collect();
    assert_eq!(at, [1_500, 2_500, 4_500, 8_500]);
    let mut ack = inv.clone();
    ack.start = spcti_protocol::sip::StartLine::Request {
        method: "ACK".into(),
        uri: "sip:8001@127.0.0.1".into(),
        version: (2, 0),
    };
    ack.set("cseq", "7 ACK");
    let r = t.receive(ack, Transport::Unreliable, ms(12_000));
    assert!(
        matches!(&r, Received::Matched(_, a) if a.is_empty()),
        "{r:?}"
    );
    assert_eq!(t.get(&key).unwrap().state(), State::Confirmed);
    // I: T4, then gone; no timeout.
    assert_eq!(run(&mut t, ms(20_000)), [(ms(17_000), Action::Terminated)]);
}

#[test]
fn a_failure_never_acked_times_out_on_h() {
    let mut t = Transactions::new(Timers::default());
    let inv = request("INVITE", "z9hG4bKf");
    let Received::New(key, _) = t.receive(inv.clone(), Transport::Unreliable, ms(0)) else {
        panic!()
    };
    t.respond(
        &key,
        response_for(&inv, 480, "Temporarily Unavailable"),
        ms(0),
    );
    let got = run(&mut t, ms(40_000));
    assert!(got.contains(&(T1 * 64, Action::Timeout)), "{got:?}");
    assert!(t.is_empty());
}

#[test]
fn an_answered_invite_absorbs_its_retransmissions_and_passes_the_ack_up() {
    let mut t = Transactions::new(Timers::default());
    let inv = request("INVITE", "z9hG4bKg");
    let Received::New(key, _) = t.receive(inv.clone(), Transport::Unreliable, ms(0)) else {
        panic!()
    };
    t.respond(&key, response_for(&inv, 200, "OK"), ms(50));
    assert_eq!(t.get(&key).unwrap().state(), State::Accepted);
    let r = t.receive(inv.clone(), Transport::Unreliable, ms(400));
    assert!(
        matches!(&r, Received::Matched(_, a) if a.is_empty()),
        "{r:?}"
    );
    let mut ack = request("ACK", "z9hG4bKg");
    ack.set("cseq", "7 ACK");
    let r = t.receive(ack, Transport::Unreliable, ms(600));
    assert!(
        matches!(&r, Received::Matched(_, a) if to_tu(a) == 1),
        "{r:?}"
    );
    // L: 64*T1 after the 2xx.
    assert_eq!(run(&mut t, ms(60_000)), [(ms(32_050), Action::Terminated)]);
    // An ACK after that is the dialog's.
    let mut late = request("ACK", "z9hG4bKg");
    late.set("cseq", "7 ACK");
    assert!(matches!(
        t.receive(late, Transport::Unreliable, ms(60_000)),
        Received::StrayAck(_)
    ));
}

#[test]
fn a_non_invite_to_us_resends_its_answer_to_copies_and_lingers_j() {
    let mut t = Transactions::new(Timers::default());
    let reg = request("REGISTER", "z9hG4bKh");
    let Received::New(key, _) = t.receive(reg.clone(), Transport::Unreliable, ms(0)) else {
        panic!()
    };
    // A copy before the answer: absorbed, silently.
    let r = t.receive(reg.clone(), Transport::Unreliable, ms(100));
    assert!(
        matches!(&r, Received::Matched(_, a) if a.is_empty()),
        "{r:?}"
    );
    let a = t.respond(&key, response_for(&reg, 401, "Unauthorized"), ms(200));
    assert_eq!(sends(&a), 1);
    let r = t.receive(reg.clone(), Transport::Unreliable, ms(700));
    assert!(
        matches!(&r, Received::Matched(_, a) if sends(a) == 1 && to_tu(a) == 0),
        "{r:?}"
    );
    assert_eq!(run(&mut t, ms(60_000)), [(ms(32_200), Action::Terminated)]);
}

#[test]
fn over_a_reliable_transport_nothing_is_retransmitted() {
    let mut t = Transactions::new(Timers::default());
    let inv = request("INVITE", "z9hG4bKi");
    t.send(inv.clone(), Transport::Reliable, ms(0));
    let got = run(&mut t, ms(40_000));
    assert_eq!(
        got,
        [
            (ms(32_000), Action::Timeout),
            (ms(32_000), Action::Terminated)
        ]
    );
    let opt = request("OPTIONS", "z9hG4bKj");
    t.send(opt.clone(), Transport::Reliable, ms(0));
    let Received::Matched(_, a) = t.receive(response(&opt, 200), Transport::Reliable, ms(10))
    else {
        panic!()
    };
    assert_eq!(a.last(), Some(&Action::Terminated));
    assert!(t.is_empty());
}

#[test]
fn rfc2543_requests_match_by_their_dialog_headers_and_stray_responses_drop() {
    let mut t = Transactions::new(Timers::default());
    let old = request("INVITE", "1");
    assert!(matches!(
        t.receive(old.clone(), Transport::Unreliable, ms(0)),
        Received::New(..)
    ));
    assert!(matches!(
        t.receive(old, Transport::Unreliable, ms(500)),
        Received::Matched(..)
    ));
    let other = request("OPTIONS", "z9hG4bKzz");
    assert_eq!(
        t.receive(response(&other, 200), Transport::Unreliable, ms(1)),
        Received::Stray
    );
    // Configurable timers: T1 = 100 ms makes A fire at 100 ms.
    let mut fast = Transactions::new(Timers {
        t1: ms(100),
        ..Timers::default()
    });
    fast.send(request("INVITE", "z9hG4bKk"), Transport::Unreliable, ms(0));
    assert_eq!(fast.next_wake(), Some(ms(100)));
}
