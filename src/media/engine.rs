//! The media engine: one task per SIP call leg, on a runtime of its own
//! (its own thread), so that audio never waits behind an actor's mailbox
//! and an actor never handles a packet. The SIP switch opens a
//! [`Stream`] per leg and sends it [`Cmd`]s; the stream reports what the
//! actors must know (keys, prompts done, recordings closed) straight to
//! the channel's actor through the [`EventSink`].
//!
//! Every 20 ms a stream sends one frame to its peer: the prompt it plays,
//! else the sum of what it hears (a linked leg, or the other members of a
//! conference). What it receives is decoded once and passed on at once to
//! every leg that hears it (no jitter buffer on that path); the recording,
//! which needs order, takes it through a short reorder window and mixes it
//! with what the leg hears.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use spcti_actors::sip::sdp::{Agreed, Direction};
use spcti_actors::switch::{EventSink, SwitchEvent};
use spcti_protocol::ChNum;
use spcti_protocol::rtp::Rtp;
use tokio::sync::mpsc;

use super::dtmf::{DtmfReceiver, Pressed};
use super::reorder::{Frame, Reorder};
use super::rtcp::{self, Rtcp};
use super::{decode, encode, mix};

/// Samples per 20 ms frame at 8 kHz.
pub const FRAME: usize = 160;
/// Samples of audio kept waiting at most, per source (160 ms: a leg that
/// sends faster than we tick must not grow a queue without end).
const MAX_QUEUED: usize = 8 * FRAME;

/// Audio from another leg: one decoded frame.
#[derive(Debug)]
pub struct Audio {
    from: ChNum,
    pcm: Vec<i16>,
}

/// What the SIP switch asks a stream to do.
#[derive(Debug)]
pub enum Cmd {
    /// Where and how to send (the agreed SDP; again after a re-INVITE).
    Peer(Agreed),
    /// Play a prompt (16-bit PCM) instead of what the leg hears.
    Play {
        prompt: String,
        pcm: Arc<[i16]>,
    },
    StopPlay,
    /// What this leg receives goes to `to` too.
    Feed {
        to: ChNum,
        tx: mpsc::Sender<Audio>,
    },
    Unfeed {
        to: ChNum,
    },
    /// Record both sides to `dir/name` (a 16-bit 8 kHz mono WAV).
    Record {
        dir: PathBuf,
        name: PathBuf,
    },
    StopRecord,
    /// Send a key (RFC 4733).
    Key(char),
    /// The leg is over: close the recording, free the ports.
    Close,
}

/// The engine: a runtime on its own thread and the RTP ports.
pub struct MediaEngine {
    rt: tokio::runtime::Handle,
    ip: IpAddr,
    /// Free even ports (RTP; RTCP is the odd one above).
    ports: Arc<Mutex<VecDeque<u16>>>,
}

/// The switch's handle on one leg's stream.
#[derive(Debug, Clone)]
pub struct Stream {
    /// Where the leg receives RTP (written into our SDP).
    pub local: SocketAddr,
    cmds: mpsc::UnboundedSender<Cmd>,
    audio: mpsc::Sender<Audio>,
}

impl Stream {
    pub fn send(&self, cmd: Cmd) {
        // A stream that ended has nothing left to do.
        let _ = self.cmds.send(cmd);
    }

    /// Where other legs send the audio this leg is to hear.
    pub fn audio(&self) -> mpsc::Sender<Audio> {
        self.audio.clone()
    }
}

impl MediaEngine {
    /// Starts the media thread; RTP on `ip`, even ports in `low..=high`.
    pub fn start(ip: IpAddr, low: u16, high: u16) -> std::io::Result<MediaEngine> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let handle = rt.handle().clone();
        std::thread::Builder::new()
            .name("spcti-media".into())
            .spawn(move || rt.block_on(std::future::pending::<()>()))?;
        let first = low + (low & 1);
        let ports = (first..high).step_by(2).collect();
        Ok(MediaEngine {
            rt: handle,
            ip,
            ports: Arc::new(Mutex::new(ports)),
        })
    }

    /// Opens a stream for channel `ch` (a seat when `seat`: its flash is a
    /// hook flash), reporting to `sink`. Fails when no port pair is free.
    pub fn open(&self, ch: ChNum, seat: bool, sink: EventSink) -> std::io::Result<Stream> {
        let (rtp, rtcp, port) = self.bind()?;
        let local = SocketAddr::new(self.ip, port);
        let (cmds, cmd_rx) = mpsc::unbounded_channel();
        let (audio, audio_rx) = mpsc::channel(64);
        let ports = self.ports.clone();
        self.rt.spawn(async move {
            let task = Task::new(ch, seat, sink);
            match (
                tokio::net::UdpSocket::from_std(rtp),
                tokio::net::UdpSocket::from_std(rtcp),
            ) {
                (Ok(rtp), Ok(rtcp)) => task.run(rtp, rtcp, cmd_rx, audio_rx).await,
                (Err(e), _) | (_, Err(e)) => tracing::error!(%ch, "RTP socket: {e}"),
            }
            ports
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push_back(port);
        });
        Ok(Stream { local, cmds, audio })
    }

    /// Takes the next free port pair that can be bound.
    fn bind(&self) -> std::io::Result<(std::net::UdpSocket, std::net::UdpSocket, u16)> {
        let mut ports = self.ports.lock().unwrap_or_else(|e| e.into_inner());
        // A port another program holds is skipped (and tried again later).
        for _ in 0..ports.len() {
            let Some(p) = ports.pop_front() else { break };
            let pair = std::net::UdpSocket::bind((self.ip, p))
                .and_then(|a| Ok((a, std::net::UdpSocket::bind((self.ip, p + 1))?)));
            match pair {
                Ok((a, b)) => {
                    a.set_nonblocking(true)?;
                    b.set_nonblocking(true)?;
                    return Ok((a, b, p));
                }
                Err(_) => ports.push_back(p),
            }
        }
        Err(std::io::Error::other("no RTP port pair is free"))
    }
}

/// A recording in progress.
struct Recording {
    name: PathBuf,
    path: PathBuf,
    writer: hound::WavWriter<std::io::BufWriter<std::fs::File>>,
    samples: u64,
}

impl Recording {
    fn start(dir: &Path, name: &Path) -> Result<Recording, String> {
        let (path, writer) =
            crate::sim::wav::recording_file(dir, name).map_err(|e| e.to_string())?;
        Ok(Recording {
            name: name.to_owned(),
            path,
            writer,
            samples: 0,
        })
    }

    fn write(&mut self, pcm: &[i16]) {
        for s in pcm {
            if self.writer.write_sample(*s).is_err() {
                return;
            }
        }
        self.samples += pcm.len() as u64;
    }

    /// Closes the file: its path and length.
    fn finish(self) -> (PathBuf, Duration) {
        let Recording {
            name,
            path,
            writer,
            samples,
        } = self;
        if let Err(e) = writer.finalize() {
            tracing::error!(file = %name.display(), "recording could not be finished: {e}");
        }
        (path, Duration::from_micros(samples * 1_000_000 / 8000))
    }
}

/// One leg's stream state (everything but the sockets).
struct Task {
    ch: ChNum,
    seat: bool,
    sink: EventSink,
    peer: Option<Agreed>,
    feeds: HashMap<ChNum, mpsc::Sender<Audio>>,
    /// What the leg hears from others, per source, as samples (legs
    /// may packetize at other lengths than this one).
    ins: HashMap<ChNum, VecDeque<i16>>,
    playing: Option<(String, Arc<[i16]>, usize)>,
    recording: Option<Recording>,
    /// What the leg's own party said, in order (for the recording).
    said: VecDeque<i16>,
    reorder: Reorder,
    dtmf: DtmfReceiver,
    ssrc: u32,
    seq: u16,
    timestamp: u32,
    /// RFC 4733 packets waiting to go out, one per frame time.
    keys_out: VecDeque<(bool, u32, [u8; 4])>,
    /// Where the party's RTP comes from (and ours goes).
    latched: Option<SocketAddr>,
    /// RTCP (rtcp.rs): the party's reception statistics, what we sent.
    rtcp: Rtcp,
    /// Where the party's RTCP comes from (and ours then goes).
    rtcp_from: Option<SocketAddr>,
    /// When the stream opened: RTCP's times count from here.
    opened: tokio::time::Instant,
}

impl Task {
    fn new(ch: ChNum, seat: bool, sink: EventSink) -> Task {
        let ssrc = fastrand::u32(..);
        Task {
            ch,
            seat,
            sink,
            peer: None,
            feeds: HashMap::new(),
            ins: HashMap::new(),
            playing: None,
            recording: None,
            said: VecDeque::new(),
            reorder: Reorder::new(4),
            dtmf: DtmfReceiver::default(),
            ssrc,
            seq: fastrand::u16(..),
            timestamp: fastrand::u32(..),
            keys_out: VecDeque::new(),
            latched: None,
            rtcp: Rtcp::new(ssrc),
            rtcp_from: None,
            opened: tokio::time::Instant::now(),
        }
    }

    async fn run(
        mut self,
        rtp: tokio::net::UdpSocket,
        rtcp: tokio::net::UdpSocket,
        mut cmds: mpsc::UnboundedReceiver<Cmd>,
        mut audio: mpsc::Receiver<Audio>,
    ) {
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut buf = vec![0u8; 2048];
        let mut control = vec![0u8; 2048];
        let report = tokio::time::sleep(rtcp::next_interval());
        tokio::pin!(report);
        loop {
            tokio::select! {
                r = rtp.recv_from(&mut buf) => match r {
                    Ok((n, from)) => self.received(&buf[..n], from),
                    Err(e) => tracing::debug!(ch = %self.ch, "RTP receive: {e}"),
                },
                r = rtcp.recv_from(&mut control) => {
                    if let Ok((n, from)) = r {
                        self.control(&control[..n], from);
                    }
                }
                () = &mut report => {
                    self.report(&rtcp, false).await;
                    report.as_mut().reset(tokio::time::Instant::now() + rtcp::next_interval());
                }
                Some(a) = audio.recv() => {
                    let q = self.ins.entry(a.from).or_default();
                    push_bounded(q, &a.pcm);
                }
                c = cmds.recv() => match c {
                    None | Some(Cmd::Close) => break,
                    Some(c) => self.command(c),
                },
                _ = tick.tick() => {
                    // Packets as long as the peer asked for (ptime).
                    let want = self.frame_len();
                    if tick.period() != Duration::from_millis(want as u64 / 8) {
                        tick = tokio::time::interval(Duration::from_millis(want as u64 / 8));
                        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
                        tick.reset();
                    }
                    if let Some(bytes) = self.frame() {
                        // Nothing while the party holds with `c=0.0.0.0`.
                        let sdp = self.peer.as_ref().and_then(|p| p.remote);
                        let to = sdp.and(self.latched.or(sdp));
                        if let Some(to) = to {
                            match rtp.send_to(&bytes, to).await {
                                Ok(_) => self.rtcp.sent(bytes.len().saturating_sub(12)),
                                Err(e) => tracing::debug!(ch = %self.ch, %to, "RTP send: {e}"),
                            }
                        }
                    }
                }
            }
        }
        // The party learns the stream ended (RFC 3550 §6.6).
        self.report(&rtcp, true).await;
        self.stop_record();
    }

    /// Where our RTCP goes: where the party's comes from, else the port
    /// above its RTP (RFC 3550 §11). Nowhere while the party holds with
    /// `c=0.0.0.0` or before it is known.
    fn rtcp_to(&self) -> Option<SocketAddr> {
        let sdp = self.peer.as_ref()?.remote?;
        let rtp = self.latched.unwrap_or(sdp);
        Some(
            self.rtcp_from
                .unwrap_or_else(|| SocketAddr::new(rtp.ip(), rtp.port().wrapping_add(1))),
        )
    }

    /// Sends the compound report due now (with a BYE at the end).
    async fn report(&mut self, socket: &tokio::net::UdpSocket, bye: bool) {
        let Some(to) = self.rtcp_to() else { return };
        let at = self.opened.elapsed();
        let packet = self.rtcp.report(at, rtcp::ntp_now(), self.timestamp, bye);
        if let Err(e) = socket.send_to(&packet, to).await {
            tracing::debug!(ch = %self.ch, %to, "RTCP send: {e}");
        }
    }

    /// A datagram on the RTCP port: the party's sender report is noted
    /// (the next report echoes it). Only the party's host is heard.
    fn control(&mut self, b: &[u8], from: SocketAddr) {
        let party = self.latched.or(self.peer.as_ref().and_then(|p| p.remote));
        if party.is_none_or(|p| p.ip() != from.ip()) {
            return;
        }
        let Some((ssrc, ntp_mid)) = spcti_protocol::rtcp::sender_report(b) else {
            return;
        };
        self.rtcp_from.get_or_insert(from);
        self.rtcp
            .sender_report(ssrc, ntp_mid, self.opened.elapsed());
    }

    fn deliver(&self, ev: SwitchEvent) {
        self.sink.deliver(ev);
    }

    /// A datagram on the RTP port.
    fn received(&mut self, b: &[u8], from: SocketAddr) {
        let Some(peer) = &self.peer else { return };
        let Ok(p) = Rtp::parse(b) else { return };
        // Symmetric RTP: the first sender of the agreed audio is the party
        // (a phone behind NAT, or on a host with several addresses, sends
        // from another address than its SDP names); from then on only it
        // is heard, so a stray sender is never mixed into a customer's call.
        if p.payload_type != peer.pt && Some(p.payload_type) != peer.dtmf_pt {
            return;
        }
        match self.latched {
            None => self.latched = Some(from),
            Some(l) if l != from => return,
            Some(_) => {}
        }
        // Events (RFC 4733) share the audio's sequence numbers.
        self.rtcp
            .received(p.ssrc, p.seq, p.timestamp, self.opened.elapsed());
        if Some(p.payload_type) == peer.dtmf_pt {
            match self.dtmf.packet(p.timestamp, p.payload) {
                Some(Pressed::Key(k)) => self.deliver(SwitchEvent::Dtmf {
                    ch: self.ch,
                    digits: k.to_string(),
                }),
                Some(Pressed::Flash) if self.seat => {
                    self.deliver(SwitchEvent::HookFlash { ch: self.ch })
                }
                _ => {}
            }
            return;
        }
        if p.payload_type != peer.pt {
            return;
        }
        let pcm = decode(peer.codec, p.payload);
        for tx in self.feeds.values() {
            // A full queue drops the frame: the listener is behind.
            let _ = tx.try_send(Audio {
                from: self.ch,
                pcm: pcm.clone(),
            });
        }
        if self.recording.is_some() {
            for f in self.reorder.push(p.seq, p.payload.to_vec()) {
                let frame = match f {
                    Frame::Audio(x) => decode(peer.codec, &x),
                    // A lost packet: silence as long as the one before.
                    Frame::Lost => vec![0; p.payload.len()],
                };
                push_bounded(&mut self.said, &frame);
            }
        }
    }

    fn command(&mut self, c: Cmd) {
        match c {
            Cmd::Peer(a) => {
                // A new answer (a re-INVITE) may move the party.
                if self.peer.as_ref().is_some_and(|p| p.remote != a.remote) {
                    self.latched = None;
                }
                self.peer = Some(a)
            }
            Cmd::Play { prompt, pcm } => {
                self.stop_play();
                self.playing = Some((prompt, pcm, 0));
            }
            Cmd::StopPlay => self.stop_play(),
            Cmd::Feed { to, tx } => {
                self.feeds.insert(to, tx);
            }
            Cmd::Unfeed { to } => {
                self.feeds.remove(&to);
            }
            Cmd::Record { dir, name } => {
                self.stop_record();
                match Recording::start(&dir, &name) {
                    Ok(r) => {
                        self.reorder = Reorder::new(4);
                        self.said.clear();
                        self.recording = Some(r);
                    }
                    Err(e) => {
                        tracing::error!(ch = %self.ch, file = %name.display(), "cannot record: {e}")
                    }
                }
            }
            Cmd::StopRecord => self.stop_record(),
            Cmd::Key(k) => {
                if let Some(e) = spcti_protocol::rtp::TelephoneEvent::of_key(k) {
                    // 100 ms of tone, a duration update every 20 ms.
                    self.keys_out
                        .extend(super::dtmf::key_packets(e, self.timestamp, 800, 160));
                }
            }
            Cmd::Close => {}
        }
    }

    fn stop_play(&mut self) {
        if let Some((prompt, _, _)) = self.playing.take() {
            self.deliver(SwitchEvent::PlayDone {
                ch: self.ch,
                prompt,
                completed: false,
            });
        }
    }

    /// Closes the recording, and always says so (the call's end waits for
    /// it, as on every switch).
    fn stop_record(&mut self) {
        let (file, duration) = match self.recording.take() {
            Some(mut r) => {
                for f in self.reorder.flush() {
                    if let Frame::Audio(x) = f {
                        let pcm = self
                            .peer
                            .as_ref()
                            .map(|p| decode(p.codec, &x))
                            .unwrap_or_default();
                        r.write(&pcm);
                    }
                }
                r.finish()
            }
            None => Default::default(),
        };
        self.deliver(SwitchEvent::RecordDone {
            ch: self.ch,
            file,
            duration,
        });
    }

    /// Samples per packet: the peer's ptime (20 ms until agreed).
    fn frame_len(&self) -> usize {
        self.peer
            .as_ref()
            .map_or(FRAME, |p| (p.ptime as usize * 8).clamp(80, 480))
    }

    /// One packet time: the packet to send (if the leg sends), and the
    /// recording's share of audio.
    fn frame(&mut self) -> Option<Vec<u8>> {
        let n = self.frame_len();
        let mut done = None;
        let out: Vec<i16> = match &mut self.playing {
            Some((name, pcm, at)) => {
                let end = (*at + n).min(pcm.len());
                let mut f = pcm[*at..end].to_vec();
                f.resize(n, 0);
                *at = end;
                if end >= pcm.len() {
                    done = Some(name.clone());
                }
                f
            }
            None => {
                let mut f = vec![0i16; n];
                for q in self.ins.values_mut() {
                    f = mix(&f, &take(q, n));
                }
                f
            }
        };
        if let Some(prompt) = done {
            self.playing = None;
            self.deliver(SwitchEvent::PlayDone {
                ch: self.ch,
                prompt,
                completed: true,
            });
        }
        if let Some(r) = &mut self.recording {
            let said = take(&mut self.said, n);
            r.write(&mix(&said, &out));
        }
        let peer = self.peer.as_ref()?;
        if matches!(peer.direction, Direction::RecvOnly | Direction::Inactive) {
            return None;
        }
        let (marker, payload_type, timestamp, payload) = match self.keys_out.pop_front() {
            Some((m, ts, ev)) => (m, peer.dtmf_pt?, ts, ev.to_vec()),
            None => (false, peer.pt, self.timestamp, encode(peer.codec, &out)),
        };
        let mut bytes = Vec::with_capacity(12 + payload.len());
        Rtp {
            marker,
            payload_type,
            seq: self.seq,
            timestamp,
            ssrc: self.ssrc,
            payload: &payload,
        }
        .write(&mut bytes);
        self.seq = self.seq.wrapping_add(1);
        self.timestamp = self.timestamp.wrapping_add(n as u32);
        Some(bytes)
    }
}

/// Appends audio to a queue of samples, dropping the oldest past
/// [`MAX_QUEUED`].
fn push_bounded(q: &mut VecDeque<i16>, pcm: &[i16]) {
    q.extend(pcm.iter().copied());
    let over = q.len().saturating_sub(MAX_QUEUED);
    q.drain(..over);
}

/// The next `n` samples of a queue, silence where it runs short.
fn take(q: &mut VecDeque<i16>, n: usize) -> Vec<i16> {
    let k = n.min(q.len());
    let mut f: Vec<i16> = q.drain(..k).collect();
    f.resize(n, 0);
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use spcti_actors::sip::sdp::Codec;

    /// A party's RTP socket and the RTCP one on the port above it.
    async fn party() -> (tokio::net::UdpSocket, tokio::net::UdpSocket) {
        loop {
            let rtp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let port = rtp.local_addr().unwrap().port();
            if let Ok(rtcp) = tokio::net::UdpSocket::bind(("127.0.0.1", port + 1)).await {
                return (rtp, rtcp);
            }
        }
    }

    /// What a report says: (packet types in order, the first block's
    /// cumulative loss and highest sequence number).
    fn read(p: &[u8]) -> (Vec<u8>, Option<(i32, u32)>) {
        let packets = spcti_protocol::rtcp::read(p).expect("RTCP");
        let block = packets
            .iter()
            .find_map(|x| x.blocks.first())
            .map(|b| (b.cumulative_lost, b.highest_seq));
        (packets.iter().map(|x| x.pt).collect(), block)
    }

    /// The stream reports on RTCP as RFC 3550 says: an SR (it sends audio)
    /// with the party's loss, then SDES; and a BYE when it closes.
    #[tokio::test(start_paused = true)]
    async fn a_stream_reports_the_partys_loss_over_rtcp_and_says_bye() {
        let rtp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let rtcp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let ours = rtp.local_addr().unwrap();
        let (party_rtp, party_rtcp) = party().await;
        let (cmds, cmd_rx) = mpsc::unbounded_channel();
        let (_audio, audio_rx) = mpsc::channel(4);
        let task = Task::new(ChNum(0), false, EventSink::new(Vec::new()));
        let run = tokio::spawn(task.run(rtp, rtcp, cmd_rx, audio_rx));
        cmds.send(Cmd::Peer(Agreed {
            remote: Some(party_rtp.local_addr().unwrap()),
            codec: Codec::Pcma,
            pt: 8,
            dtmf_pt: None,
            ptime: 20,
            direction: Direction::SendRecv,
        }))
        .unwrap();
        // Ten packets, 20 ms apart; number 3 is lost on the way.
        for seq in 0u16..10 {
            if seq != 3 {
                let mut b = Vec::new();
                Rtp {
                    marker: false,
                    payload_type: 8,
                    seq: 500 + seq,
                    timestamp: u32::from(seq) * 160,
                    ssrc: 0x5eed,
                    payload: &[0xd5; 160],
                }
                .write(&mut b);
                party_rtp.send_to(&b, ours).await.unwrap();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let mut buf = [0u8; 1500];
        let (n, _) = tokio::time::timeout(Duration::from_secs(10), party_rtcp.recv_from(&mut buf))
            .await
            .expect("a report within 7.5 s")
            .unwrap();
        let (types, block) = read(&buf[..n]);
        assert_eq!(types, [200, 202], "an SR (it sends), then its CNAME");
        assert_eq!(block, Some((1, 509)), "one lost, up to sequence 509");
        drop(cmds);
        let bye = loop {
            let (n, _) =
                tokio::time::timeout(Duration::from_secs(10), party_rtcp.recv_from(&mut buf))
                    .await
                    .expect("the closing report")
                    .unwrap();
            let (types, _) = read(&buf[..n]);
            if types.last() == Some(&203) {
                break types;
            }
        };
        assert_eq!(bye[1..], [202, 203]);
        run.await.unwrap();
    }
}
