//! SIP transactions (RFC 3261 §17, with RFC 6026's Accepted state), sans
//! I/O: the four machines take messages and the time, and say what to
//! send, what to hand the transaction user (TU) and when to wake them.
//! Retransmissions of requests and responses are absorbed here, so a
//! request never reaches the TU twice (a call is never created twice).
//!
//! Time is a monotonic `Duration` passed in ([`crate::clock::Mono`]);
//! nothing here sleeps or reads a clock.

use std::collections::HashMap;
use std::time::Duration;

use spcti_protocol::sip::{Header, Message, StartLine};

use crate::clock::Mono;

/// RFC 3261's timer bases (§17.1.1.1), configurable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timers {
    /// Round-trip estimate (500 ms).
    pub t1: Duration,
    /// Longest retransmit interval for non-INVITE requests and INVITE
    /// responses (4 s).
    pub t2: Duration,
    /// Longest a message stays in the network (5 s).
    pub t4: Duration,
}

impl Default for Timers {
    fn default() -> Self {
        Timers {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
        }
    }
}

/// Whether the transport retransmits by itself (TCP) or not (UDP).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Unreliable,
    Reliable,
}

/// What a transaction wants done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send these bytes to the peer (a first send or a retransmission).
    Send(Vec<u8>),
    /// Give the TU this message (a response, or a new request).
    ToTu(Message),
    /// The transaction failed for want of an answer (timer B, F or H):
    /// the TU acts as on a 408.
    Timeout,
    /// The transaction is over; forget it.
    Terminated,
}

/// Which machine, and in which state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Calling,
    Trying,
    Proceeding,
    Completed,
    Confirmed,
    Accepted,
    Terminated,
}

/// The key a message matches its transaction by (§17.1.3, §17.2.3):
/// the top Via's branch and sent-by, and the method (ACK matching the
/// INVITE's server transaction).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    pub branch: String,
    pub sent_by: String,
    pub method: String,
    /// Client or server side.
    pub server: bool,
}

impl Key {
    /// The key of a message as received (`server`: a request to us, or a
    /// response to one of our requests). Requests without an RFC 3261
    /// branch (`z9hG4bK...`) get a key from their dialog headers (§17.2.3,
    /// RFC 2543 style).
    pub fn of(m: &Message, server: bool) -> Option<Key> {
        let (branch, sent_by) = m.top_via()?;
        let mut method = m.method()?;
        if method == "ACK" {
            method = "INVITE".into();
        }
        let branch = match branch {
            Some(b) if b.starts_with("z9hG4bK") => b,
            _ => {
                let from_tag = m.header("from").unwrap_or("");
                let (n, _) = m.cseq()?;
                format!(
                    "2543:{}:{}:{}:{n}",
                    m.header("call-id").unwrap_or(""),
                    from_tag,
                    match &m.start {
                        StartLine::Request { uri, .. } => uri.as_str(),
                        _ => "",
                    }
                )
            }
        };
        Some(Key {
            branch,
            sent_by,
            method,
            server,
        })
    }
}

/// One transaction.
#[derive(Debug, Clone)]
pub struct Transaction {
    pub key: Key,
    invite: bool,
    state: State,
    timers: Timers,
    reliable: bool,
    /// The request (client) or the last response sent (server), as bytes,
    /// for retransmission.
    resend: Option<Vec<u8>>,
    /// The request this transaction is for.
    request: Message,
    /// Retransmission timer (A, E, G): when it fires next, and the interval.
    retransmit: Option<(Mono, Duration)>,
    /// Timeout / linger timer (B, D, F, H, I, J, K, L).
    deadline: Option<Mono>,
    /// A server INVITE transaction sends 100 Trying itself if the TU has
    /// not answered by then (§17.2.1: 200 ms).
    trying_at: Option<Mono>,
}

impl Transaction {
    fn new(key: Key, request: Message, timers: Timers, transport: Transport) -> Self {
        let invite = key.method == "INVITE";
        Transaction {
            key,
            invite,
            state: State::Trying,
            timers,
            reliable: transport == Transport::Reliable,
            resend: None,
            request,
            retransmit: None,
            deadline: None,
            trying_at: None,
        }
    }

    pub fn state(&self) -> State {
        self.state
    }

    /// When the transaction next needs [`Transaction::tick`].
    pub fn next_wake(&self) -> Option<Mono> {
        [self.retransmit.map(|r| r.0), self.deadline, self.trying_at]
            .into_iter()
            .flatten()
            .min()
    }

    fn linger(&self, unreliable: Duration) -> Duration {
        if self.reliable {
            Duration::ZERO
        } else {
            unreliable
        }
    }

    fn terminate(&mut self, out: &mut Vec<Action>) {
        self.state = State::Terminated;
        self.retransmit = None;
        self.deadline = None;
        self.trying_at = None;
        out.push(Action::Terminated);
    }

    // --- client side -----------------------------------------------------

    /// A client transaction for `request`: sent at once.
    pub fn client(
        request: Message,
        timers: Timers,
        transport: Transport,
        now: Mono,
    ) -> (Self, Vec<Action>) {
        let key = Key::of(&request, false).expect("our own request has a Via and a CSeq");
        let mut t = Transaction::new(key, request, timers, transport);
        let bytes = t.request.encode();
        t.state = if t.invite {
            State::Calling
        } else {
            State::Trying
        };
        if !t.reliable {
            t.retransmit = Some((now + timers.t1, timers.t1));
        }
        // Timer B / F: 64*T1.
        t.deadline = Some(now + timers.t1 * 64);
        t.resend = Some(bytes.clone());
        (t, vec![Action::Send(bytes)])
    }

    /// A response to our request.
    fn client_response(&mut self, resp: Message, now: Mono) -> Vec<Action> {
        let mut out = Vec::new();
        let code = resp.code().unwrap_or(0);
        match (self.invite, self.state, code) {
            (_, State::Terminated, _) => {}
            // INVITE: provisional.
            (true, State::Calling | State::Proceeding, 100..=199) => {
                self.state = State::Proceeding;
                self.retransmit = None;
                // Timer B no longer runs once a provisional came (§17.1.1.2).
                self.deadline = None;
                out.push(Action::ToTu(resp));
            }
            // INVITE: 2xx goes to the TU (which ACKs it in its dialog);
            // RFC 6026: linger in Accepted to pass on retransmitted 2xx.
            (true, State::Calling | State::Proceeding, 200..=299) => {
                self.state = State::Accepted;
                self.retransmit = None;
                self.deadline = Some(now + self.timers.t1 * 64);
                out.push(Action::ToTu(resp));
            }
            (true, State::Accepted, 200..=299) => out.push(Action::ToTu(resp)),
            // INVITE: a failure is ACKed here, once per response received.
            (true, State::Calling | State::Proceeding, 300..=699) => {
                self.state = State::Completed;
                self.retransmit = None;
                let ack = self.ack_for(&resp).encode();
                self.resend = Some(ack.clone());
                self.deadline = Some(now + self.linger(Duration::from_secs(32)));
                out.push(Action::Send(ack));
                out.push(Action::ToTu(resp));
                if self.reliable {
                    self.terminate(&mut out);
                }
            }
            (true, State::Completed, 300..=699) => {
                if let Some(ack) = &self.resend {
                    out.push(Action::Send(ack.clone()));
                }
            }
            // Non-INVITE.
            (false, State::Trying | State::Proceeding, 100..=199) => {
                self.state = State::Proceeding;
                out.push(Action::ToTu(resp));
            }
            (false, State::Trying | State::Proceeding, 200..=699) => {
                self.state = State::Completed;
                self.retransmit = None;
                // Timer K.
                self.deadline = Some(now + self.linger(self.timers.t4));
                out.push(Action::ToTu(resp));
                if self.reliable {
                    self.terminate(&mut out);
                }
            }
            // Retransmitted responses after completion are absorbed.
            _ => {}
        }
        out
    }

    /// The ACK for a failure response to our INVITE (§17.1.1.3): the
    /// request's Request-URI, Call-ID, From, top Via and Route, the
    /// response's To (with its tag), CSeq with ACK.
    fn ack_for(&self, resp: &Message) -> Message {
        let uri = match &self.request.start {
            StartLine::Request { uri, .. } => uri.clone(),
            _ => unreachable!("a client transaction holds a request"),
        };
        let mut headers = Vec::new();
        if let Some(via) = self
            .request
            .values("via")
            .ok()
            .and_then(|v| v.first().map(|s| s.to_string()))
        {
            headers.push(Header {
                name: "via".into(),
                value: via,
            });
        }
        for (name, from) in [
            ("max-forwards", &self.request),
            ("from", &self.request),
            ("to", resp),
            ("call-id", &self.request),
        ] {
            if let Some(v) = from.header(name) {
                headers.push(Header {
                    name: name.into(),
                    value: v.into(),
                });
            }
        }
        let n = self.request.cseq().map_or(1, |c| c.0);
        headers.push(Header {
            name: "cseq".into(),
            value: format!("{n} ACK"),
        });
        for h in self.request.headers.iter().filter(|h| h.name == "route") {
            headers.push(h.clone());
        }
        Message::request("ACK", &uri, headers, Vec::new())
    }

    // --- server side -----------------------------------------------------

    /// A server transaction for a new request; the TU gets the request.
    pub fn server(
        request: Message,
        timers: Timers,
        transport: Transport,
        now: Mono,
    ) -> (Self, Vec<Action>) {
        let key =
            Key::of(&request, true).expect("a request that passed inspection has a Via and a CSeq");
        let mut t = Transaction::new(key, request.clone(), timers, transport);
        if t.invite {
            t.state = State::Proceeding;
            t.trying_at = Some(now + Duration::from_millis(200));
        } else {
            t.state = State::Trying;
        }
        (t, vec![Action::ToTu(request)])
    }

    /// The TU answers the request.
    pub fn respond(&mut self, resp: Message, now: Mono) -> Vec<Action> {
        let mut out = Vec::new();
        let code = resp.code().unwrap_or(0);
        let bytes = resp.encode();
        match (self.invite, self.state) {
            (_, State::Completed | State::Confirmed | State::Terminated) => return out,
            (true, State::Accepted) => {
                // The TU's own 2xx retransmissions (its dialog) go out as is.
                if (200..300).contains(&code) {
                    out.push(Action::Send(bytes));
                }
                return out;
            }
            _ => {}
        }
        self.trying_at = None;
        out.push(Action::Send(bytes.clone()));
        self.resend = Some(bytes);
        match (self.invite, code) {
            (_, 100..=199) => self.state = State::Proceeding,
            (true, 200..=299) => {
                // RFC 6026: the ACK to a 2xx is the dialog's; the
                // transaction stays to absorb INVITE retransmissions.
                self.state = State::Accepted;
                self.deadline = Some(now + self.timers.t1 * 64);
            }
            (true, _) => {
                self.state = State::Completed;
                if !self.reliable {
                    self.retransmit = Some((now + self.timers.t1, self.timers.t1));
                }
                // Timer H.
                self.deadline = Some(now + self.timers.t1 * 64);
            }
            (false, _) => {
                self.state = State::Completed;
                // Timer J.
                self.deadline = Some(now + self.linger(self.timers.t1 * 64));
                if self.reliable {
                    self.terminate(&mut out);
                }
            }
        }
        out
    }

    /// The request again (a retransmission), or the ACK of a failure.
    fn server_request(&mut self, req: Message, now: Mono) -> Vec<Action> {
        let mut out = Vec::new();
        let ack = req.method().as_deref() == Some("ACK");
        match (self.state, ack) {
            (State::Completed, true) if self.invite => {
                self.state = State::Confirmed;
                self.retransmit = None;
                // Timer I.
                self.deadline = Some(now + self.linger(self.timers.t4));
                if self.reliable {
                    self.terminate(&mut out);
                }
            }
            // An ACK to a 2xx is the dialog's: pass it up.
            (State::Accepted, true) => out.push(Action::ToTu(req)),
            (State::Proceeding | State::Completed, false) => {
                if let Some(last) = &self.resend {
                    out.push(Action::Send(last.clone()));
                }
            }
            // Absorbed: a retransmission before any answer, or after the
            // end of the exchange.
            _ => {}
        }
        out
    }

    /// Time passed: timers that ran out fire.
    pub fn tick(&mut self, now: Mono) -> Vec<Action> {
        let mut out = Vec::new();
        if self.state == State::Terminated {
            return out;
        }
        if self.trying_at.is_some_and(|at| at <= now) {
            self.trying_at = None;
            let trying = trying_for(&self.request);
            let bytes = trying.encode();
            self.resend = Some(bytes.clone());
            out.push(Action::Send(bytes));
        }
        if let Some((_, every)) = self.retransmit.filter(|(at, _)| *at <= now) {
            let next = match (self.key.server, self.invite) {
                // A: doubles without a cap.
                (false, true) => every * 2,
                // E, G: doubles up to T2.
                _ => (every * 2).min(self.timers.t2),
            };
            // Timer E in Proceeding fires every T2 (§17.1.2.2).
            let next = if !self.key.server && !self.invite && self.state == State::Proceeding {
                self.timers.t2
            } else {
                next
            };
            self.retransmit = Some((now + next, next));
            if let Some(bytes) = &self.resend {
                out.push(Action::Send(bytes.clone()));
            }
        }
        if self.deadline.is_some_and(|d| d <= now) {
            let failed = match (self.key.server, self.state) {
                // B, F: no final answer. H: no ACK.
                (false, State::Calling | State::Trying | State::Proceeding) => true,
                (true, State::Completed) if self.invite => true,
                _ => false,
            };
            if failed {
                out.push(Action::Timeout);
            }
            self.terminate(&mut out);
        }
        out
    }
}

/// `100 Trying` for a request (§8.2.6: Timestamp is not echoed; the To
/// has no tag).
pub fn trying_for(req: &Message) -> Message {
    response_for(req, 100, "Trying")
}

/// A response to `req` with its Via, From, To, Call-ID and CSeq (§8.2.6.2).
pub fn response_for(req: &Message, code: u16, reason: &str) -> Message {
    let headers = req
        .headers
        .iter()
        .filter(|h| matches!(h.name.as_str(), "via" | "from" | "to" | "call-id" | "cseq"))
        .cloned()
        .collect();
    Message {
        start: StartLine::Response {
            version: (2, 0),
            code,
            reason: reason.to_owned(),
        },
        headers,
        body: Vec::new(),
    }
}

/// A final response to `req` (`response_for`), its To tagged when the
/// request's had no tag (§8.2.6.2).
pub fn final_response(req: &Message, code: u16, reason: &str) -> Message {
    let mut r = response_for(req, code, reason);
    if let Some(to) = req.header("to") {
        if super::dialog::tag(to).is_none() {
            r.set("to", format!("{to};tag={:x}", fastrand::u64(..)));
        }
    }
    r
}

/// Every transaction of one SIP endpoint, by key.
#[derive(Debug)]
pub struct Transactions {
    live: HashMap<Key, Transaction>,
    timers: Timers,
}

/// What a received message is to the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// A new request, now with its server transaction: the TU handles it.
    New(Key, Vec<Action>),
    /// Part of a transaction (a retransmission absorbed, a response
    /// passed on, an ACK): these actions.
    Matched(Key, Vec<Action>),
    /// A response that matches no transaction of ours: dropped (§18.1.2).
    Stray,
    /// An ACK for no transaction (to a 2xx whose transaction is gone):
    /// the dialog's.
    StrayAck(Message),
}

impl Transactions {
    pub fn new(timers: Timers) -> Self {
        Transactions {
            live: HashMap::new(),
            timers,
        }
    }

    pub fn len(&self) -> usize {
        self.live.len()
    }

    pub fn is_empty(&self) -> bool {
        self.live.is_empty()
    }

    pub fn get(&self, key: &Key) -> Option<&Transaction> {
        self.live.get(key)
    }

    /// Sends a request in a new client transaction.
    pub fn send(
        &mut self,
        request: Message,
        transport: Transport,
        now: Mono,
    ) -> (Key, Vec<Action>) {
        let (t, out) = Transaction::client(request, self.timers, transport, now);
        let key = t.key.clone();
        self.live.insert(key.clone(), t);
        (key, out)
    }

    /// A message that passed `sip::inspect`.
    pub fn receive(&mut self, m: Message, transport: Transport, now: Mono) -> Received {
        if m.is_request() {
            let Some(key) = Key::of(&m, true) else {
                return Received::Stray;
            };
            if let Some(t) = self.live.get_mut(&key) {
                let out = t.server_request(m, now);
                return self.after(key, out);
            }
            if m.method().as_deref() == Some("ACK") {
                return Received::StrayAck(m);
            }
            let (t, out) = Transaction::server(m, self.timers, transport, now);
            self.live.insert(key.clone(), t);
            return Received::New(key, out);
        }
        let Some(key) = Key::of(&m, false) else {
            return Received::Stray;
        };
        match self.live.get_mut(&key) {
            Some(t) => {
                let out = t.client_response(m, now);
                self.after(key, out)
            }
            None => Received::Stray,
        }
    }

    /// The TU answers the request of server transaction `key`.
    pub fn respond(&mut self, key: &Key, resp: Message, now: Mono) -> Vec<Action> {
        let Some(t) = self.live.get_mut(key) else {
            return Vec::new();
        };
        let out = t.respond(resp, now);
        if t.state == State::Terminated {
            self.live.remove(key);
        }
        out
    }

    fn after(&mut self, key: Key, out: Vec<Action>) -> Received {
        if self
            .live
            .get(&key)
            .is_some_and(|t| t.state == State::Terminated)
        {
            self.live.remove(&key);
        }
        Received::Matched(key, out)
    }

    /// When the table next needs [`Transactions::tick`].
    pub fn next_wake(&self) -> Option<Mono> {
        self.live.values().filter_map(Transaction::next_wake).min()
    }

    /// Time passed: every transaction's due timers, by key.
    pub fn tick(&mut self, now: Mono) -> Vec<(Key, Vec<Action>)> {
        let mut out = Vec::new();
        for (k, t) in self.live.iter_mut() {
            if t.next_wake().is_some_and(|w| w <= now) {
                let a = t.tick(now);
                if !a.is_empty() {
                    out.push((k.clone(), a));
                }
            }
        }
        self.live.retain(|_, t| t.state != State::Terminated);
        out
    }
}
