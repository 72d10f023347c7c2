//! The `sip` driver (docs/sip.md): spcti as a SIP back-to-back user
//! agent with its own media. Carriers' trunks (`[[sip.trunk]]`) bring
//! calls in and take calls out; SIP phones register as seats
//! (`[[sip.seat]]`). Channel numbers are fixed at start: every trunk's
//! channels in order, then one per seat, as on the sim.
//!
//! The layers: the codec in `spcti_protocol::sip`, the sans-I/O
//! transactions, dialogs, digest, registrar and SDP in
//! `spcti_actors::sip`, the media engine in `crate::media::engine`, and
//! here the switch actor that ties them to the actors' seam.

pub mod calls;
mod commands;
mod in_dialog;
pub mod switch;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use spcti_actors::clock::Clock;
use spcti_actors::sip::digest::Challenger;
use spcti_actors::sip::endpoint::Endpoint;
use spcti_actors::sip::registrar::{Limits, Registrar};
use spcti_actors::sip::transaction::{Transactions, Transport};
use spcti_actors::switch::{ChannelDesc, ChannelKind, EventSink, SetEventSink, SwitchCommand};
use spcti_protocol::sip::Policy;
use spcti_protocol::{ChNum, TelNum};

use crate::media::engine::MediaEngine;
use crate::sim::wav::Prompts;
use crate::sip_config::{SeatPasswords, SipConfig};
use crate::switch::Registrations;
use switch::{Passwords, Setup, SipSwitch, Trunk};

/// The SIP switch behind the driver seam.
pub struct SipDriver {
    pub addr: Addr<SipSwitch>,
    channels: Vec<ChannelDesc>,
}

/// Why the SIP driver could not start.
#[derive(Debug, thiserror::Error)]
pub enum SipStartError {
    #[error("sip.bind {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("sip.rtp_ports: the media engine cannot start: {0}")]
    Media(std::io::Error),
}

/// The address written into Via, Contact and SDP: `public_addr`, else
/// the bound address, else (bound to every interface) the interface that
/// routes to the first trunk (found by connecting a UDP socket, which
/// sends nothing).
fn local_addr(cfg: &SipConfig, bound: SocketAddr) -> SocketAddr {
    if let Ok(ip) = cfg.public_addr.parse::<IpAddr>() {
        return SocketAddr::new(ip, bound.port());
    }
    if !bound.ip().is_unspecified() {
        return bound;
    }
    let toward = cfg
        .trunk
        .first()
        .and_then(|t| t.peer_addr())
        .unwrap_or(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 5060));
    let ip = std::net::UdpSocket::bind((bound.ip(), 0))
        .and_then(|s| {
            s.connect(toward)?;
            s.local_addr()
        })
        .map_or(IpAddr::V4(Ipv4Addr::LOCALHOST), |a| a.ip());
    SocketAddr::new(ip, bound.port())
}

impl SipDriver {
    /// Binds the SIP port, starts the media engine and the switch. Runs
    /// inside the actor system.
    pub fn start(
        cfg: &SipConfig,
        clock: Clock,
        prompts: Prompts,
        recordings: std::path::PathBuf,
        passwords: Option<Recipient<crate::storage::store::SipPassword>>,
    ) -> Result<SipDriver, SipStartError> {
        let bind_err = |source| SipStartError::Bind {
            addr: cfg.bind,
            source,
        };
        let std_socket = std::net::UdpSocket::bind(cfg.bind).map_err(bind_err)?;
        std_socket.set_nonblocking(true).map_err(bind_err)?;
        // Room for a burst of requests while the switch is busy (the kernel
        // caps it at net.core.rmem_max).
        let sock = socket2::SockRef::from(&std_socket);
        if let Err(e) = sock
            .set_recv_buffer_size(4 << 20)
            .and_then(|_| sock.set_send_buffer_size(4 << 20))
        {
            tracing::warn!("sip.bind: cannot enlarge the socket's buffers: {e}");
        }
        let bound = std_socket.local_addr().map_err(bind_err)?;
        let socket = Arc::new(tokio::net::UdpSocket::from_std(std_socket).map_err(bind_err)?);
        let local = local_addr(cfg, bound);
        let rtp_ip = if bound.ip().is_unspecified() {
            bound.ip()
        } else {
            local.ip()
        };
        let media = MediaEngine::start(rtp_ip, cfg.rtp_ports.low, cfg.rtp_ports.high)
            .map_err(SipStartError::Media)?;
        // The media engine writes RTP from `rtp_ip`; the SDP names `local`.
        let mut channels = Vec::new();
        let mut trunks = Vec::new();
        for t in &cfg.trunk {
            let first = channels.len() as u32;
            for _ in 0..t.channels {
                channels.push(ChannelDesc {
                    ch: ChNum(channels.len() as u32),
                    kind: ChannelKind::Trunk,
                    ext: None,
                });
            }
            trunks.push(Trunk {
                peer: t
                    .peer_addr()
                    .expect("validated: sip.trunk[].peer is IP:port"),
                first,
                count: t.channels,
                user: t.user.clone(),
                password: t.password.clone(),
                from_number: t.from_number.clone(),
            });
        }
        for s in &cfg.seat {
            channels.push(ChannelDesc {
                ch: ChNum(channels.len() as u32),
                kind: ChannelKind::Seat,
                ext: TelNum::new(s.ext.clone()).ok(),
            });
        }
        let seat_passwords: HashMap<String, String> = match cfg.seat_passwords {
            SeatPasswords::Config => cfg
                .seat
                .iter()
                .map(|s| (s.ext.clone(), s.password.clone()))
                .collect(),
            SeatPasswords::Db => HashMap::new(),
        };
        // The nonces' key: from the OS's random source (uuid v4), so a
        // nonce cannot be forged from another start's.
        let secret = uuid::Uuid::new_v4().simple().to_string();
        let ep = Endpoint::new(
            Policy::default(),
            Transport::Unreliable,
            Transactions::new(cfg.timers()),
            Registrar::new(
                Challenger::new("spcti", &secret, Duration::from_secs(300)),
                Limits::default(),
            ),
        );
        let setup = Setup {
            local,
            codecs: cfg.codecs(),
            max_calls: cfg.max_calls,
            timers: cfg.timers(),
            trunks,
            seat_passwords,
            recordings,
        };
        let switch = SipSwitch::new(
            ep,
            socket,
            setup,
            &channels,
            clock,
            Arc::new(media),
            prompts,
        );
        let addr = switch.start();
        if let (SeatPasswords::Db, Some(store)) = (cfg.seat_passwords, passwords) {
            let exts: Vec<String> = cfg.seat.iter().map(|s| s.ext.clone()).collect();
            let to = addr.clone();
            // `sp_sipregpwd` read now and every 10 s: a password changed
            // through the admin API takes effect without a restart, and a
            // REGISTER never waits for the database.
            actix::spawn(async move {
                loop {
                    let mut map = HashMap::new();
                    for ext in &exts {
                        let pw = store
                            .send(crate::storage::store::SipPassword(ext.clone()))
                            .await;
                        match pw {
                            Ok(Ok(Some(p))) => {
                                map.insert(ext.clone(), p);
                            }
                            Ok(Ok(None)) => {}
                            Ok(Err(e)) => tracing::warn!(%ext, "SIP password lookup: {e}"),
                            Err(_) => return,
                        }
                    }
                    to.do_send(Passwords(map));
                    tokio::time::sleep(Duration::from_secs(10)).await;
                }
            });
        }
        tracing::info!(%bound, %local, "SIP listening");
        Ok(SipDriver { addr, channels })
    }
}

impl crate::switch::SwitchDriver for SipDriver {
    fn channels(&self) -> Vec<ChannelDesc> {
        self.channels.clone()
    }

    fn commands(&self) -> Recipient<SwitchCommand> {
        self.addr.clone().recipient()
    }

    fn connect(&self, sink: EventSink) {
        self.addr.do_send(SetEventSink(sink));
    }

    fn registrations(&self) -> Option<Recipient<Registrations>> {
        Some(self.addr.clone().recipient())
    }
}
