//! The agent UDP gateway (`[agent_udp] bind`): XML datagrams from agent
//! desktop programs to the router, replies and events back.
//!
//! Datagrams from outside `[agent_udp] allow` are dropped unread and
//! unanswered (counted). Every other request gets exactly one reply; a
//! datagram that cannot be read is answered with 9000 Result=0 and logged
//! (escaped, clipped, at most [`LOG_BURST`] lines per source per
//! [`LOG_WINDOW`]) with its sender. Each request is handled in its own task
//! so one slow answer never stalls the socket for other clients.
//!
//! A 1001 for an agent with `password_hash` is checked here, on a blocking
//! thread, before the router sees it.
//!
//! Events that tell a client a call ended (6007, 6008, 6009, 6024, 6025)
//! leave only once every record handed to the spool before them is synced
//! to disk (the spool's [`Ledger`]); a client's later datagrams, replies
//! included, queue behind them so it hears everything in order. One sync
//! covers every call that ended meanwhile (group commit).

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix::prelude::*;
use spcti_actors::access::Networks;
use spcti_actors::deps::SendToClient;
use spcti_actors::messages::RouterRef;
use spcti_actors::messages::router::{Answer, ClientRequest};
use spcti_protocol::reply::Ack;
use spcti_protocol::{
    Direction, MAX_DATAGRAM, Message as Wire, TextEncoding, WorkNo, decode, encode_into,
};
use tokio::net::UdpSocket;

use crate::password::Lockout;
use crate::storage::ledger::Ledger;

/// What the gateway enforces before a request reaches the actors.
pub struct Gate {
    pub encoding: TextEncoding,
    /// `[agent_udp] allow`.
    pub allow: Networks,
    /// `[[agent]] password_hash` by WorkNo.
    pub passwords: HashMap<WorkNo, String>,
}

/// Sends replies and events to clients on the gateway's socket.
pub struct AgentUdp {
    socket: Arc<UdpSocket>,
    encoding: TextEncoding,
    /// One buffer for every event: steady-state sending does not allocate.
    buf: String,
    ledger: Arc<Ledger>,
    /// Per client, datagrams waiting for the spool (first in, first out);
    /// the head is an end-of-call event whose ticket is not yet synced.
    held: HashMap<SocketAddr, VecDeque<Out>>,
}

impl Actor for AgentUdp {
    type Context = Context<Self>;
}

/// One datagram for a client.
#[derive(Debug)]
struct Out {
    bytes: Vec<u8>,
    msg_type: u32,
    /// Leaves only once the ledger has synced this ticket.
    after: Option<u64>,
}

/// Whether a message tells a client that a call or fax ended: it must not
/// leave before that call's records are on disk.
pub fn ends_call(msg_type: u32) -> bool {
    matches!(msg_type, 6007 | 6008 | 6009 | 6024 | 6025)
}

/// A request's reply and the events it caused, in order.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Answered {
    pub to: SocketAddr,
    pub datagrams: Vec<(u32, Vec<u8>)>,
}

/// Datagrams held for the spool right now (all clients).
pub static HELD: AtomicU64 = AtomicU64::new(0);

impl AgentUdp {
    /// Sends now, or queues behind what this client is already waiting for.
    fn push(&mut self, to: SocketAddr, msg_type: u32, bytes: Vec<u8>, ctx: &mut Context<Self>) {
        // Every record handed over before this moment belongs to calls that
        // ended before this event was made, this event's call included.
        let after = ends_call(msg_type)
            .then(|| self.ledger.issued())
            .filter(|t| !self.ledger.is_synced(*t));
        if after.is_none() && !self.held.contains_key(&to) {
            self.transmit(to, msg_type, &bytes);
            return;
        }
        HELD.fetch_add(1, Ordering::Relaxed);
        let queue = self.held.entry(to).or_default();
        queue.push_back(Out {
            bytes,
            msg_type,
            after,
        });
        if queue.len() == 1 {
            self.flush(to, ctx);
        }
    }

    /// Sends this client's held datagrams up to the first whose ticket is
    /// not synced yet, and waits for that one.
    fn flush(&mut self, to: SocketAddr, ctx: &mut Context<Self>) {
        let Some(mut queue) = self.held.remove(&to) else {
            return;
        };
        while let Some(head) = queue.front() {
            if let Some(t) = head.after.filter(|t| !self.ledger.is_synced(*t)) {
                let synced = self.ledger.wait(t);
                ctx.spawn(
                    synced
                        .into_actor(self)
                        .map(move |_, act, ctx| act.flush(to, ctx)),
                );
                self.held.insert(to, queue);
                return;
            }
            let out = queue.pop_front().expect("a head");
            HELD.fetch_sub(1, Ordering::Relaxed);
            self.transmit(to, out.msg_type, &out.bytes);
        }
    }

    fn transmit(&self, to: SocketAddr, msg_type: u32, bytes: &[u8]) {
        // UDP: never wait on a full socket buffer; a lost event is what a
        // UDP client already has to live with.
        match self.socket.try_send_to(bytes, to) {
            Ok(_) => {
                SENT.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                tracing::warn!(%to, msg_type, "datagram not sent: {e}");
            }
        }
    }
}

/// Encodes a datagram; `None` when it would exceed the protocol's limit.
fn datagram(
    message: &Wire,
    seq: Option<&str>,
    encoding: TextEncoding,
    buf: &mut String,
) -> Option<Vec<u8>> {
    buf.clear();
    encode_into(message, seq, buf);
    let bytes = encoding.encode_text(buf);
    if bytes.len() > MAX_DATAGRAM {
        tracing::error!(
            msg_type = message.msg_type(),
            len = bytes.len(),
            "datagram over 8 KiB not sent"
        );
        return None;
    }
    Some(bytes.into_owned())
}

/// Datagrams counted for `/metrics`: received, refused as bad, and sent
/// (replies and events).
pub static RECEIVED: AtomicU64 = AtomicU64::new(0);
pub static REFUSED: AtomicU64 = AtomicU64::new(0);
pub static SENT: AtomicU64 = AtomicU64::new(0);
/// Datagrams dropped unread: the sender is outside `[agent_udp] allow`.
pub static DROPPED: AtomicU64 = AtomicU64::new(0);
/// Log lines about bad datagrams left out by the per-source limit.
pub static LOG_SUPPRESSED: AtomicU64 = AtomicU64::new(0);

/// This gateway's series for `/metrics`, written where they are counted.
pub fn write_metrics(o: &mut String) {
    use crate::prometheus::family;
    use std::fmt::Write;
    let n = |c: &AtomicU64| c.load(Ordering::Relaxed);
    family(
        o,
        "spcti_udp_messages_total",
        "counter",
        "Agent UDP datagrams, by direction (received, refused as bad, sent).",
    );
    for (direction, c) in [
        ("received", &RECEIVED),
        ("refused", &REFUSED),
        ("sent", &SENT),
    ] {
        let _ = writeln!(
            o,
            "spcti_udp_messages_total{{direction=\"{direction}\"}} {}",
            n(c)
        );
    }
    family(
        o,
        "spcti_agent_udp_dropped_total",
        "counter",
        "Agent UDP datagrams dropped unread: the sender is outside [agent_udp] allow.",
    );
    let _ = writeln!(o, "spcti_agent_udp_dropped_total {}", n(&DROPPED));
    family(
        o,
        "spcti_agent_udp_log_suppressed_total",
        "counter",
        "Log lines about bad agent datagrams left out by the per-source limit.",
    );
    let _ = writeln!(
        o,
        "spcti_agent_udp_log_suppressed_total {}",
        n(&LOG_SUPPRESSED)
    );
    family(
        o,
        "spcti_agent_udp_held",
        "gauge",
        "Datagrams to clients waiting for their call's records to reach the spool's disk.",
    );
    let _ = writeln!(o, "spcti_agent_udp_held {}", n(&HELD));
}

/// Lines about bad datagrams one source may cause per [`LOG_WINDOW`].
pub const LOG_BURST: u32 = 5;
pub const LOG_WINDOW: Duration = Duration::from_secs(10);

/// Limits log lines per source (sans-I/O: the caller passes the time).
#[derive(Debug, Default)]
pub struct LogLimit {
    /// Source -> (window start, lines in it).
    seen: HashMap<IpAddr, (Instant, u32)>,
}

/// What to do with one more line from a source.
#[derive(Debug, PartialEq, Eq)]
pub enum LogVerdict {
    Log,
    /// Log, and say that the source's next lines in this window are left out.
    LogLast,
    Suppress,
}

impl LogLimit {
    pub fn admit(&mut self, ip: IpAddr, now: Instant) -> LogVerdict {
        // Bounded by the sources seen in the last window.
        if self.seen.len() > 4096 {
            self.seen
                .retain(|_, (start, _)| now.saturating_duration_since(*start) < LOG_WINDOW);
        }
        let e = self.seen.entry(ip).or_insert((now, 0));
        if now.saturating_duration_since(e.0) >= LOG_WINDOW {
            *e = (now, 0);
        }
        e.1 += 1;
        match e.1 {
            n if n < LOG_BURST => LogVerdict::Log,
            n if n == LOG_BURST => LogVerdict::LogLast,
            _ => LogVerdict::Suppress,
        }
    }
}

/// An event for a client.
impl Handler<SendToClient> for AgentUdp {
    type Result = ();
    fn handle(&mut self, m: SendToClient, ctx: &mut Context<Self>) {
        let Some(bytes) = datagram(&m.message, None, self.encoding, &mut self.buf) else {
            return;
        };
        self.push(m.to, m.message.msg_type(), bytes, ctx);
    }
}

/// A reply and the events its request caused.
impl Handler<Answered> for AgentUdp {
    type Result = ();
    fn handle(&mut self, m: Answered, ctx: &mut Context<Self>) {
        for (msg_type, bytes) in m.datagrams {
            self.push(m.to, msg_type, bytes, ctx);
        }
    }
}

/// A datagram for a log line: clipped, and escaped so that newlines and
/// terminal escapes in it cannot forge or colour a line.
pub fn clip(data: &[u8]) -> String {
    let text = String::from_utf8_lossy(&data[..data.len().min(200)]);
    let mut out: String = text.escape_debug().collect();
    if data.len() > 200 {
        out.push_str("...");
    }
    out
}

/// The datagram that answers a request: the reply; if it does not fit, a
/// refusal saying so; if not even that fits with the request's `Seq`, the
/// refusal without it. A request never goes unanswered.
pub fn answer_bytes(
    message: &Wire,
    seq: Option<&str>,
    encoding: TextEncoding,
    buf: &mut String,
) -> Vec<u8> {
    if let Some(b) = datagram(message, seq, encoding, buf) {
        return b;
    }
    let code = message.msg_type();
    let too_large = Ack::failed(
        code,
        None,
        "the reply is too large for one datagram (8 KiB)",
    );
    if let Some(b) = datagram(&too_large.into(), seq, encoding, buf) {
        return b;
    }
    let without_seq = Ack::failed(
        code,
        None,
        "the reply is too large for one datagram (8 KiB), even without its data; Seq is too long to echo",
    );
    datagram(&without_seq.into(), None, encoding, buf)
        .expect("a refusal without Seq is far below 8 KiB")
}

async fn reply(
    socket: &UdpSocket,
    to: SocketAddr,
    message: &Wire,
    seq: Option<&str>,
    encoding: TextEncoding,
) {
    let mut buf = String::with_capacity(256);
    let bytes = answer_bytes(message, seq, encoding, &mut buf);
    match socket.send_to(&bytes, to).await {
        Ok(_) => {
            SENT.fetch_add(1, Ordering::Relaxed);
        }
        Err(e) => tracing::warn!(%to, "reply not sent: {e}"),
    }
}

/// Checks a 1001's password when its agent has one; `Err` is the refusal.
async fn check_password(
    gate: &Gate,
    lockout: &Mutex<Lockout>,
    from: SocketAddr,
    login: &spcti_protocol::agent::Login,
) -> Result<(), String> {
    let Some(hash) = login.work_no.as_ref().and_then(|w| gate.passwords.get(w)) else {
        return Ok(());
    };
    let now = Instant::now();
    if let Err(left) = lockout.lock().expect("lockout lock").check(from.ip(), now) {
        return Err(format!(
            "too many wrong passwords from this address; try again in {left} s"
        ));
    }
    let Some(given) = login.password.clone().filter(|p| !p.is_empty()) else {
        return Err("this agent needs a Password".into());
    };
    let hash = hash.clone();
    // argon2 is slow on purpose: never on the socket's or an actor's thread.
    let busy = spcti_actors::idle::busy();
    let ok = actix_web::rt::task::spawn_blocking(move || crate::password::verify(&hash, &given))
        .await
        .unwrap_or(false);
    drop(busy);
    let mut lockout = lockout.lock().expect("lockout lock");
    if ok {
        lockout.succeeded(from.ip());
        Ok(())
    } else {
        lockout.failed(from.ip(), Instant::now());
        tracing::warn!(%from, work_no = %login.work_no.as_ref().map(|w| w.as_str()).unwrap_or(""), "wrong password");
        Err("wrong password".into())
    }
}

/// One request, answered (through the sending actor, so the reply keeps
/// its place behind events this client is still waiting for).
async fn handle(
    socket: Arc<UdpSocket>,
    udp: Addr<AgentUdp>,
    gate: Arc<Gate>,
    lockout: Arc<Mutex<Lockout>>,
    router: RouterRef,
    from: SocketAddr,
    env: spcti_protocol::Envelope,
) {
    let encoding = gate.encoding;
    let code = env.message.msg_type();
    let seq = env.seq.clone();
    if let Wire::Login(l) = &env.message {
        if let Err(why) = check_password(&gate, &lockout, from, l).await {
            let refusal = Ack::failed(code, Some(l.tel_num.clone()), why).into();
            reply(&socket, from, &refusal, seq.as_deref(), encoding).await;
            return;
        }
    }
    let answer: Answer = router
        .send(ClientRequest {
            from,
            envelope: env,
        })
        .await
        .unwrap_or_else(|_| Wire::from(Ack::failed(code, None, "server is shutting down")).into());
    let mut buf = String::with_capacity(256);
    let mut datagrams = vec![(
        answer.reply.msg_type(),
        answer_bytes(&answer.reply, seq.as_deref(), encoding, &mut buf),
    )];
    datagrams.extend(
        answer
            .then
            .iter()
            .filter_map(|m| datagram(m, None, encoding, &mut buf).map(|b| (m.msg_type(), b))),
    );
    if udp
        .send(Answered {
            to: from,
            datagrams,
        })
        .await
        .is_err()
    {
        tracing::warn!(%from, "reply not sent: the gateway is stopping");
    }
}

async fn serve(socket: Arc<UdpSocket>, udp: Addr<AgentUdp>, gate: Arc<Gate>, router: RouterRef) {
    let encoding = gate.encoding;
    let lockout = Arc::new(Mutex::new(Lockout::default()));
    let mut log_limit = LogLimit::default();
    // Larger than the protocol allows, so an oversized datagram is seen whole and refused.
    let mut buf = vec![0u8; 65_536];
    loop {
        let (n, from) = match socket.recv_from(&mut buf).await {
            Ok(x) => x,
            Err(e) => {
                // ICMP errors from earlier sends surface here on some systems.
                tracing::debug!("agent socket: {e}");
                continue;
            }
        };
        if !gate.allow.contains(from.ip()) {
            // Not read, not answered, not logged per datagram: a flood from
            // outside costs a counter.
            DROPPED.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        let data = &buf[..n];
        RECEIVED.fetch_add(1, Ordering::Relaxed);
        let env = match decode(data, encoding).and_then(|e| e.known()) {
            Ok(env) => env,
            Err(err) => {
                REFUSED.fetch_add(1, Ordering::Relaxed);
                match log_limit.admit(from.ip(), Instant::now()) {
                    LogVerdict::Suppress => {
                        LOG_SUPPRESSED.fetch_add(1, Ordering::Relaxed);
                    }
                    verdict => {
                        let reason = err.to_string().escape_debug().to_string();
                        tracing::warn!(%from, %reason, datagram = %clip(data), "bad datagram");
                        if verdict == LogVerdict::LogLast {
                            tracing::warn!(%from, "further unreadable datagrams from this address are counted, not logged, for {} s", LOG_WINDOW.as_secs());
                        }
                    }
                }
                reply(
                    &socket,
                    from,
                    &Ack::refusal(&err).into(),
                    err.seq.as_deref(),
                    encoding,
                )
                .await;
                continue;
            }
        };
        let code = env.message.msg_type();
        if env.message.direction() != Some(Direction::Request) || (4860..4870).contains(&code) {
            let why = if (4860..4870).contains(&code) {
                "IP-seat requests (4860-4869) are not taken here, and the IP-seat link is not built yet".to_owned()
            } else {
                format!("MsgType {code} is sent by the server, not to it")
            };
            reply(
                &socket,
                from,
                &Ack::failed(code, None, why).into(),
                env.seq.as_deref(),
                encoding,
            )
            .await;
            continue;
        }
        actix::spawn(handle(
            socket.clone(),
            udp.clone(),
            gate.clone(),
            lockout.clone(),
            router.clone(),
            from,
            env,
        ));
    }
}

/// Binds the socket and starts the sending side (events can be queued
/// before the router exists); [`listen`] starts the receiving side.
pub async fn bind(
    bind: SocketAddr,
    encoding: TextEncoding,
    ledger: Arc<Ledger>,
) -> std::io::Result<(Addr<AgentUdp>, Arc<UdpSocket>, SocketAddr)> {
    let socket = Arc::new(UdpSocket::bind(bind).await?);
    let local = socket.local_addr()?;
    let addr = AgentUdp {
        socket: socket.clone(),
        encoding,
        buf: String::with_capacity(512),
        ledger,
        held: HashMap::new(),
    }
    .start();
    Ok((addr, socket, local))
}

/// Starts answering requests on a bound socket.
pub fn listen(socket: Arc<UdpSocket>, udp: Addr<AgentUdp>, gate: Gate, router: RouterRef) {
    actix::spawn(serve(socket, udp, Arc::new(gate), router));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An end-of-call event waits for the spool's sync, and what follows it
    /// for the same client waits behind it; other clients do not wait.
    #[actix_web::test]
    async fn end_of_call_events_wait_for_the_sync_and_keep_their_order() {
        use spcti_protocol::event::{AgentStateChanged, LocalHangup};
        use spcti_protocol::{AgentState, TelNum};
        let ledger = Arc::new(Ledger::new());
        let (udp, _, _) = bind(
            "127.0.0.1:0".parse().unwrap(),
            TextEncoding::Utf8,
            ledger.clone(),
        )
        .await
        .unwrap();
        let client = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let other = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        for s in [&client, &other] {
            s.set_read_timeout(Some(Duration::from_millis(200)))
                .unwrap();
        }
        let tel = TelNum::new("8001").unwrap();
        let hung_up: Wire = LocalHangup {
            tel_num: tel.clone(),
        }
        .into();
        let ready: Wire = AgentStateChanged {
            tel_num: tel,
            work_no: None,
            agent_state: AgentState::Ready,
            show_state: String::new(),
        }
        .into();
        let read = |s: &std::net::UdpSocket| {
            let mut buf = [0u8; 2048];
            s.recv(&mut buf).ok().map(|n| {
                decode(&buf[..n], TextEncoding::Utf8)
                    .unwrap()
                    .message
                    .msg_type()
            })
        };

        // A record of the call is handed over and not yet synced.
        let ticket = ledger.issue();
        for m in [hung_up.clone(), ready.clone()] {
            udp.send(SendToClient {
                to: client.local_addr().unwrap(),
                message: m,
            })
            .await
            .unwrap();
        }
        udp.send(SendToClient {
            to: other.local_addr().unwrap(),
            message: ready.clone(),
        })
        .await
        .unwrap();
        assert_eq!(read(&other), Some(6001), "another client is not held");
        assert_eq!(
            read(&client),
            None,
            "6007 left before its record was synced"
        );
        assert_eq!(HELD.load(Ordering::Relaxed), 2);

        ledger.mark(ticket);
        // Let the gateway's waiter run (this test shares its thread).
        for _ in 0..500 {
            if HELD.load(Ordering::Relaxed) == 0 {
                break;
            }
            actix_web::rt::time::sleep(Duration::from_millis(1)).await;
        }
        assert_eq!(read(&client), Some(6007));
        assert_eq!(read(&client), Some(6001), "what followed keeps its place");
        assert_eq!(HELD.load(Ordering::Relaxed), 0);

        // Nothing pending: an end-of-call event leaves at once.
        udp.send(SendToClient {
            to: client.local_addr().unwrap(),
            message: hung_up,
        })
        .await
        .unwrap();
        assert_eq!(read(&client), Some(6007));
    }

    #[test]
    fn log_lines_are_escaped_and_clipped() {
        let forged = b"<a>\n2026-01-01T00:00:00Z INFO admin logged in\x1b[31m</a>";
        let line = clip(forged);
        assert!(!line.contains('\n') && !line.contains('\x1b'), "{line}");
        assert!(clip(&[b'x'; 500]).ends_with("..."));
    }

    #[test]
    fn five_lines_per_source_per_window() {
        let mut l = LogLimit::default();
        let (a, b) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let t0 = Instant::now();
        let verdicts: Vec<_> = (0..7).map(|_| l.admit(a, t0)).collect();
        assert_eq!(
            verdicts[..4],
            [
                LogVerdict::Log,
                LogVerdict::Log,
                LogVerdict::Log,
                LogVerdict::Log
            ]
        );
        assert_eq!(verdicts[4], LogVerdict::LogLast);
        assert_eq!(verdicts[5..], [LogVerdict::Suppress, LogVerdict::Suppress]);
        assert_eq!(l.admit(b, t0), LogVerdict::Log);
        assert_eq!(l.admit(a, t0 + LOG_WINDOW), LogVerdict::Log);
    }

    #[test]
    fn a_reply_too_large_still_answers() {
        let mut buf = String::new();
        let ok = Wire::from(Ack::ok(1013, None));
        let long_seq = "s".repeat(8180);
        // Fits: the reply itself.
        let b = answer_bytes(&ok, Some("1"), TextEncoding::Utf8, &mut buf);
        assert!(String::from_utf8(b).unwrap().contains("<Seq>1</Seq>"));
        // The Seq alone is too long to echo: answered without it.
        let b = answer_bytes(&ok, Some(&long_seq), TextEncoding::Utf8, &mut buf);
        let text = String::from_utf8(b).unwrap();
        assert!(text.len() <= MAX_DATAGRAM);
        assert!(
            !text.contains("<Seq>") && text.contains("too long to echo"),
            "{text}"
        );
    }
}
