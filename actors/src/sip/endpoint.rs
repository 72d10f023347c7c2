//! One SIP endpoint's datagram handling, sans I/O: every datagram goes
//! through the first decision (`sip::inspect`), then the transactions;
//! REGISTER and OPTIONS are answered here (the registrar, capabilities),
//! bad requests get their answer at once, methods spcti does not serve get
//! 501 or 405, and the requests of calls (INVITE, ACK, BYE, CANCEL, INFO)
//! go up to the driver with their server transaction. The driver owns the
//! socket and the clock, and only sends what comes out.

use std::collections::HashMap;
use std::net::SocketAddr;

use spcti_protocol::sip::{Message, Policy, StartLine, Verdict, inspect};

use super::registrar::{Registrar, extension};
use super::transaction::{Action, Key, Received, Transactions, Transport, final_response};
use crate::clock::Mono;

/// Methods the driver handles (in calls), and the ones answered here.
pub const ALLOW: &str = "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, REGISTER";

/// What the endpoint wants done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Out {
    /// Send these bytes to this address.
    Send(SocketAddr, Vec<u8>),
    /// A request of a call for the driver, with its server transaction
    /// (answer it with [`Endpoint::respond`]; an ACK has none to answer).
    Request(Key, Message, SocketAddr),
    /// A response to one of the driver's requests.
    Response(Key, Message),
    /// The driver's request got no answer in time (as a 408).
    Timeout(Key),
    /// A seat's phone registered (first binding) or is gone (last one
    /// lapsed or removed).
    Registered(String),
    Unregistered(String),
}

/// The endpoint's state.
#[derive(Debug)]
pub struct Endpoint {
    policy: Policy,
    transport: Transport,
    tx: Transactions,
    pub registrar: Registrar,
    /// Where each live transaction's peer is.
    peers: HashMap<Key, SocketAddr>,
}

impl Endpoint {
    pub fn new(
        policy: Policy,
        transport: Transport,
        tx: Transactions,
        registrar: Registrar,
    ) -> Self {
        Endpoint {
            policy,
            transport,
            tx,
            registrar,
            peers: HashMap::new(),
        }
    }

    fn sends(&mut self, key: &Key, actions: Vec<Action>, out: &mut Vec<Out>) {
        let peer = self.peers.get(key).copied();
        for a in actions {
            match a {
                Action::Send(bytes) => {
                    if let Some(p) = peer {
                        out.push(Out::Send(p, bytes));
                    }
                }
                Action::ToTu(m) if m.is_request() => {
                    if let Some(p) = peer {
                        out.push(Out::Request(key.clone(), m, p));
                    }
                }
                Action::ToTu(m) => out.push(Out::Response(key.clone(), m)),
                Action::Timeout => out.push(Out::Timeout(key.clone())),
                Action::Terminated => {
                    self.peers.remove(key);
                }
            }
        }
    }

    /// A datagram from `from` at `now` (`now_s`: seconds for nonces and
    /// registrations); `password` gives a seat's digest password.
    pub fn datagram(
        &mut self,
        from: SocketAddr,
        bytes: &[u8],
        now: Mono,
        now_s: u64,
        password: impl Fn(&str) -> Option<String>,
    ) -> Vec<Out> {
        let mut out = Vec::new();
        let msg = match inspect(bytes, &self.policy) {
            Verdict::Drop(why) => {
                tracing::debug!(%from, "SIP datagram dropped: {why}");
                return out;
            }
            Verdict::Reply {
                code,
                reason,
                request,
            } => {
                tracing::info!(%from, code, "SIP request refused: {reason}");
                let mut r = final_response(&request, code, &reason);
                if code == 420 {
                    if let Ok(req) = request.values("require") {
                        r.set("unsupported", req.join(", "));
                    }
                }
                if code == 406 || code == 415 {
                    r.set("accept", "application/sdp");
                }
                out.push(Out::Send(from, r.encode()));
                return out;
            }
            Verdict::Request(m) | Verdict::Response(m) => m,
        };
        match self.tx.receive(msg, self.transport, now) {
            Received::New(key, actions) => {
                self.peers.insert(key.clone(), from);
                for a in actions {
                    match a {
                        Action::ToTu(req) => {
                            self.serve(&key, req, from, now, now_s, &password, &mut out)
                        }
                        other => self.sends(&key, vec![other], &mut out),
                    }
                }
            }
            Received::Matched(key, actions) => self.sends(&key, actions, &mut out),
            Received::StrayAck(ack) => {
                if let Some(key) = Key::of(&ack, true) {
                    out.push(Out::Request(key, ack, from));
                }
            }
            Received::Stray => tracing::debug!(%from, "a SIP response matching no request of ours"),
        }
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn serve(
        &mut self,
        key: &Key,
        req: Message,
        from: SocketAddr,
        now: Mono,
        now_s: u64,
        password: &impl Fn(&str) -> Option<String>,
        out: &mut Vec<Out>,
    ) {
        let StartLine::Request { method, .. } = &req.start else {
            return;
        };
        let answer = match method.as_str() {
            "REGISTER" => {
                let ext = extension(&req);
                let bound =
                    |r: &Registrar| ext.as_ref().is_some_and(|e| r.binding(e, now_s).is_some());
                let had = bound(&self.registrar);
                let r = self.registrar.register(&req, from, now_s, password);
                let has = bound(&self.registrar);
                match (ext, had, has) {
                    (Some(ext), false, true) => out.push(Out::Registered(ext)),
                    (Some(ext), true, false) => out.push(Out::Unregistered(ext)),
                    _ => {}
                }
                r
            }
            "OPTIONS" => {
                let mut r = final_response(&req, 200, "OK");
                r.set("allow", ALLOW);
                r.set("accept", "application/sdp");
                r
            }
            "INVITE" | "ACK" | "BYE" | "CANCEL" | "INFO" => {
                out.push(Out::Request(key.clone(), req, from));
                return;
            }
            "SUBSCRIBE" | "NOTIFY" | "PUBLISH" | "MESSAGE" | "UPDATE" | "PRACK" | "REFER" => {
                let mut r = final_response(&req, 405, "Method Not Allowed");
                r.set("allow", ALLOW);
                r
            }
            _ => final_response(&req, 501, "Not Implemented"),
        };
        let actions = self.tx.respond(key, answer, now);
        self.sends(key, actions, out);
    }

    /// The driver answers a request it was given.
    pub fn respond(&mut self, key: &Key, resp: Message, now: Mono) -> Vec<Out> {
        let mut out = Vec::new();
        let actions = self.tx.respond(key, resp, now);
        self.sends(key, actions, &mut out);
        out
    }

    /// The driver sends a request (a new client transaction) to `to`.
    pub fn send(&mut self, to: SocketAddr, req: Message, now: Mono) -> (Key, Vec<Out>) {
        let (key, actions) = self.tx.send(req, self.transport, now);
        self.peers.insert(key.clone(), to);
        let mut out = Vec::new();
        self.sends(&key, actions, &mut out);
        (key, out)
    }

    /// When [`Endpoint::tick`] is next due.
    pub fn next_wake(&self) -> Option<Mono> {
        self.tx.next_wake()
    }

    /// Time passed: retransmissions, timeouts, lapsed registrations.
    pub fn tick(&mut self, now: Mono, now_s: u64) -> Vec<Out> {
        let mut out = Vec::new();
        for (key, actions) in self.tx.tick(now) {
            self.sends(&key, actions, &mut out);
        }
        out.extend(
            self.registrar
                .expire(now_s)
                .into_iter()
                .map(Out::Unregistered),
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::digest::{Challenger, answer};
    use crate::sip::registrar::Limits;
    use crate::sip::transaction::{Timers, response_for};
    use std::time::Duration;

    fn endpoint() -> Endpoint {
        Endpoint::new(
            Policy::default(),
            Transport::Unreliable,
            Transactions::new(Timers::default()),
            Registrar::new(
                Challenger::new("spcti", "k", Duration::from_secs(300)),
                Limits::default(),
            ),
        )
    }

    fn pw(ext: &str) -> Option<String> {
        (ext == "8001").then(|| "pw".to_owned())
    }

    fn phone() -> SocketAddr {
        "127.0.0.1:5062".parse().unwrap()
    }

    fn register(branch: &str, cseq: u32, auth: &str) -> Vec<u8> {
        format!(
            "REGISTER sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5062;branch={branch}\r\nMax-Forwards: 70\r\nFrom: <sip:8001@127.0.0.1>;tag=p\r\nTo: <sip:8001@127.0.0.1>\r\nCall-ID: r@127.0.0.1\r\nCSeq: {cseq} REGISTER\r\nContact: <sip:8001@127.0.0.1:5062>\r\n{auth}Content-Length: 0\r\n\r\n"
        )
        .into_bytes()
    }

    fn sent(out: &[Out]) -> Vec<Message> {
        out.iter()
            .filter_map(|o| match o {
                Out::Send(to, b) => {
                    assert_eq!(*to, phone());
                    Some(Message::parse(b).unwrap())
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_phone_registers_through_the_challenge_and_its_retransmission_gets_the_same_answer() {
        let mut e = endpoint();
        let ms = Duration::from_millis;
        let first = e.datagram(phone(), &register("z9hG4bK1", 1, ""), ms(0), 1_000, pw);
        let r = sent(&first);
        assert_eq!(r[0].code(), Some(401));
        // The phone did not hear the 401: its copy gets the same answer,
        // and the registrar is not asked again.
        let again = e.datagram(phone(), &register("z9hG4bK1", 1, ""), ms(500), 1_000, pw);
        assert_eq!(sent(&again), r);
        let ch = r[0].header("www-authenticate").unwrap();
        let creds = answer(ch, "8001", "pw", "REGISTER", "sip:127.0.0.1", "c", 1).unwrap();
        let ok = e.datagram(
            phone(),
            &register("z9hG4bK2", 2, &format!("Authorization: {creds}\r\n")),
            ms(600),
            1_000,
            pw,
        );
        assert_eq!(sent(&ok)[0].code(), Some(200));
        assert!(ok.contains(&Out::Registered("8001".into())));
        assert_eq!(
            e.registrar.binding("8001", 1_001).unwrap().contact,
            "sip:8001@127.0.0.1:5062"
        );
        // An hour later it lapsed.
        assert!(
            e.tick(ms(3_700_000), 4_601)
                .contains(&Out::Unregistered("8001".into()))
        );
    }

    #[test]
    fn options_unknown_and_unserved_methods_and_calls() {
        let mut e = endpoint();
        let req = |method: &str, branch: &str| {
            format!(
                "{method} sip:8001@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5062;branch={branch}\r\nMax-Forwards: 70\r\nFrom: <sip:x@127.0.0.1>;tag=a\r\nTo: <sip:8001@127.0.0.1>\r\nCall-ID: {branch}@h\r\nCSeq: 1 {method}\r\nContact: <sip:x@127.0.0.1:5062>\r\nContent-Length: 0\r\n\r\n"
            )
            .into_bytes()
        };
        let zero = Duration::ZERO;
        let o = sent(&e.datagram(phone(), &req("OPTIONS", "z9hG4bKo"), zero, 0, pw));
        assert_eq!(
            (o[0].code(), o[0].header("allow")),
            (Some(200), Some(ALLOW))
        );
        let o = sent(&e.datagram(phone(), &req("FROBNICATE", "z9hG4bKf"), zero, 0, pw));
        assert_eq!(o[0].code(), Some(501));
        let o = sent(&e.datagram(phone(), &req("SUBSCRIBE", "z9hG4bKs"), zero, 0, pw));
        assert_eq!(
            (o[0].code(), o[0].header("allow")),
            (Some(405), Some(ALLOW))
        );
        // An INVITE goes up once; its copy does not.
        let inv = req("INVITE", "z9hG4bKi");
        let up = e.datagram(phone(), &inv, zero, 0, pw);
        let [Out::Request(key, m, from)] = up.as_slice() else {
            panic!("{up:?}")
        };
        assert_eq!((m.method().as_deref(), *from), (Some("INVITE"), phone()));
        assert!(
            e.datagram(phone(), &inv, Duration::from_millis(100), 0, pw)
                .is_empty()
        );
        let busy = response_for(m, 486, "Busy Here");
        let o = sent(&e.respond(key, busy, Duration::from_millis(150)));
        assert_eq!(o[0].code(), Some(486));
    }

    #[test]
    fn every_torture_case_with_an_answer_gets_it_as_a_well_formed_response() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/data/sip-torture");
        let table = std::fs::read_to_string(format!("{dir}/expected.tsv")).unwrap();
        let mut answered = 0;
        for line in table.lines().skip(1) {
            let cols: Vec<&str> = line.split('\t').collect();
            let Ok(code) = cols[2].parse::<u16>() else {
                continue;
            };
            let bytes = std::fs::read(format!("{dir}/rfc4475/{}", cols[0])).unwrap();
            let mut e = endpoint();
            let out = e.datagram(phone(), &bytes, Duration::ZERO, 0, pw);
            let replies = sent(&out);
            assert_eq!(replies.len(), 1, "{}: {out:?}", cols[0]);
            let r = &replies[0];
            assert_eq!(r.code(), Some(code), "{}", cols[0]);
            // The answer can be matched by the sender: its Via, Call-ID
            // and CSeq are the request's, and it reads as a response.
            let req = Message::parse(&bytes).unwrap();
            assert_eq!(r.header("call-id"), req.header("call-id"), "{}", cols[0]);
            assert_eq!(r.header("cseq"), req.header("cseq"), "{}", cols[0]);
            let whole = ["to", "from", "call-id", "cseq"]
                .iter()
                .all(|h| req.count(h) == 1);
            if whole {
                assert!(
                    matches!(
                        inspect(&r.encode(), &Policy::default()),
                        Verdict::Response(_)
                    ),
                    "{}",
                    cols[0]
                );
            }
            answered += 1;
        }
        assert_eq!(answered, 9);
    }
}
