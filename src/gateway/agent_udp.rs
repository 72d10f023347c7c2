//! The agent UDP gateway (`[agent_udp] bind`): XML datagrams from agent
//! desktop programs to the router, replies and events back.
//!
//! Every request gets exactly one reply; a datagram that cannot be read is
//! answered with 9000 Result=0 and logged (truncated) with its sender. Each
//! request is handled in its own task so one slow answer never stalls the
//! socket for other clients.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use actix::prelude::*;
use spcti_actors::deps::SendToClient;
use spcti_actors::router::{Answer, ClientRequest, Router};
use spcti_protocol::reply::Ack;
use spcti_protocol::{Direction, MAX_DATAGRAM, Message as Wire, TextEncoding, decode, encode_into};
use tokio::net::UdpSocket;

/// Sends events to clients on the gateway's socket.
pub struct AgentUdp {
    socket: Arc<UdpSocket>,
    encoding: TextEncoding,
    /// One buffer for every event: steady-state sending does not allocate.
    buf: String,
}

impl Actor for AgentUdp {
    type Context = Context<Self>;
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

/// An event for a client.
impl Handler<SendToClient> for AgentUdp {
    type Result = ();
    fn handle(&mut self, m: SendToClient, _: &mut Context<Self>) {
        let Some(bytes) = datagram(&m.message, None, self.encoding, &mut self.buf) else {
            return;
        };
        // UDP: never wait on a full socket buffer; a lost event is what a
        // UDP client already has to live with.
        match self.socket.try_send_to(&bytes, m.to) {
            Ok(_) => {
                SENT.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                tracing::warn!(to = %m.to, msg_type = m.message.msg_type(), "event not sent: {e}");
            }
        }
    }
}

fn clip(data: &[u8]) -> String {
    let text = String::from_utf8_lossy(&data[..data.len().min(200)]);
    if data.len() > 200 {
        format!("{text}...")
    } else {
        text.into_owned()
    }
}

async fn reply(
    socket: &UdpSocket,
    to: SocketAddr,
    message: &Wire,
    seq: Option<&str>,
    encoding: TextEncoding,
) {
    let mut buf = String::with_capacity(256);
    let bytes = match datagram(message, seq, encoding, &mut buf) {
        Some(b) => b,
        None => match datagram(
            &Ack::failed(message.msg_type(), None, "reply too large for one datagram").into(),
            seq,
            encoding,
            &mut buf,
        ) {
            Some(b) => b,
            None => return,
        },
    };
    match socket.send_to(&bytes, to).await {
        Ok(_) => {
            SENT.fetch_add(1, Ordering::Relaxed);
        }
        Err(e) => tracing::warn!(%to, "reply not sent: {e}"),
    }
}

async fn serve(socket: Arc<UdpSocket>, encoding: TextEncoding, router: Addr<Router>) {
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
        let data = &buf[..n];
        RECEIVED.fetch_add(1, Ordering::Relaxed);
        let env = match decode(data, encoding).and_then(|e| e.known()) {
            Ok(env) => env,
            Err(err) => {
                REFUSED.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(%from, reason = %err, datagram = %clip(data), "bad datagram");
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
                "IP-seat requests go to the IP-seat port ([ip_seat] bind)".to_owned()
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
        let (socket, router) = (socket.clone(), router.clone());
        actix::spawn(async move {
            let seq = env.seq.clone();
            // 1031 is an HTTP request to a phone: no actor is concerned.
            if let Wire::PhoneControl(p) = env.message {
                let answer = super::phone::control(p).await.into();
                reply(&socket, from, &answer, seq.as_deref(), encoding).await;
                return;
            }
            let answer: Answer = router
                .send(ClientRequest {
                    from,
                    envelope: env,
                })
                .await
                .unwrap_or_else(|_| {
                    Wire::from(Ack::failed(code, None, "server is shutting down")).into()
                });
            reply(&socket, from, &answer.reply, seq.as_deref(), encoding).await;
            for then in &answer.then {
                reply(&socket, from, then, None, encoding).await;
            }
        });
    }
}

/// Binds the socket and starts the sending side (events can be queued
/// before the router exists); [`listen`] starts the receiving side.
pub async fn bind(
    bind: SocketAddr,
    encoding: TextEncoding,
) -> std::io::Result<(Addr<AgentUdp>, Arc<UdpSocket>, SocketAddr)> {
    let socket = Arc::new(UdpSocket::bind(bind).await?);
    let local = socket.local_addr()?;
    let addr = AgentUdp {
        socket: socket.clone(),
        encoding,
        buf: String::with_capacity(512),
    }
    .start();
    Ok((addr, socket, local))
}

/// Starts answering requests on a bound socket.
pub fn listen(socket: Arc<UdpSocket>, encoding: TextEncoding, router: Addr<Router>) {
    actix::spawn(serve(socket, encoding, router));
}
