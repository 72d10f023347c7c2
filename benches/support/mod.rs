//! The real server, in process, for load benches: the simulated switch with
//! N trunks and N seats, a zero-length welcome prompt (the IVR is skipped),
//! and one UDP socket playing every agent's desktop client.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use spcti::config::Config;
use spcti::serve::Running;
use spcti::sim::{SimAction, SimReply};
use spcti_actors::messages::router::ClientRequest;
use spcti_protocol::agent::Login;
use spcti_protocol::{Envelope, GroupList, Message, TelNum, TextEncoding, WorkNo, decode};
use tokio::sync::mpsc;

pub struct Bench {
    pub running: Running,
    pub client: SocketAddr,
    /// Datagrams, in bursts as they came, each with when it was read.
    events: mpsc::UnboundedReceiver<Vec<Raw>>,
    /// What has been taken off `events` and not yet looked at.
    pending: std::collections::VecDeque<Raw>,
    pub extensions: Vec<String>,
    _dir: tempfile::TempDir,
}

/// Resident memory of this process, bytes.
pub fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// Per thread of this process, by thread id with its name: nanoseconds run
/// on a CPU, nanoseconds waited for one while runnable, and times scheduled
/// (`/proc/<pid>/task/<tid>/schedstat`): where a phase's work ran, and how
/// often its threads were woken.
pub fn thread_cpu() -> Vec<(u32, String, [u64; 3])> {
    let mut out = Vec::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return out;
    };
    for t in tasks.flatten() {
        let tid = t.file_name().to_string_lossy().parse().unwrap_or(0);
        let name = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
        let Ok(stat) = std::fs::read_to_string(t.path().join("schedstat")) else {
            continue;
        };
        let mut f = stat
            .split_whitespace()
            .map(|v| v.parse::<u64>().unwrap_or(0));
        let v = [
            f.next().unwrap_or(0),
            f.next().unwrap_or(0),
            f.next().unwrap_or(0),
        ];
        out.push((tid, name.trim().to_owned(), v));
    }
    out
}

/// What each thread spent between two `thread_cpu` readings, busiest
/// first: "name: run ms (waited ms, times scheduled)".
pub fn thread_cpu_since(before: &[(u32, String, [u64; 3])]) -> String {
    let mut spent: Vec<([u64; 3], String)> = thread_cpu()
        .into_iter()
        .filter_map(|(tid, name, v)| {
            let was = before.iter().find(|b| b.0 == tid).map_or([0; 3], |b| b.2);
            let d = [v[0] - was[0], v[1] - was[1], v[2] - was[2]];
            (d[0] > 0).then(|| (d, format!("{name}/{tid}")))
        })
        .collect();
    spent.sort_by_key(|b| std::cmp::Reverse(b.0));
    spent
        .iter()
        .map(|(d, who)| {
            format!(
                "{who}: {:.1} ms ({:.1} ms waiting, {}x)",
                d[0] as f64 / 1e6,
                d[1] as f64 / 1e6,
                d[2]
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// One measured run as a table row: iterations per second over `total`,
/// then the latency percentiles in ms.
pub fn row(run: usize, iterations: usize, total: Duration, latency: &mut [Duration]) {
    latency.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "| {run} | {iterations} | {:.0} | {:.3} | {:.3} | {:.3} | {:.3} |",
        iterations as f64 / total.as_secs_f64(),
        ms(percentile(latency, 0.5)),
        ms(percentile(latency, 0.9)),
        ms(percentile(latency, 0.99)),
        ms(percentile(latency, 1.0)),
    );
}

impl Bench {
    /// `n` trunks and `n` logged-in agents of group 1; inbound calls run
    /// the built-in default flow.
    pub async fn start(n: usize) -> Bench {
        Bench::start_with(n, None).await
    }

    /// As `start`, with `flow` (JSON) as the inbound flow `default`.
    pub async fn start_with(n: usize, flow: Option<&str>) -> Bench {
        Bench::start_reading(n, flow, None).await
    }

    /// As `start_with`; with `poll`, the client does not wait on its
    /// socket but looks at it every `poll` (each datagram's time is then
    /// when it was read, up to `poll` late). For many calls at once: a
    /// client waiting on its socket is woken by the server's `sendto` for
    /// nearly every datagram, and on loopback that wake-up (and the client
    /// taking the core from the server, which it then often does) is
    /// charged to the server's thread: at N = 10,000, about a third of the
    /// agent gateway's time. A real desktop client runs on another machine.
    pub async fn start_reading(n: usize, flow: Option<&str>, poll: Option<Duration>) -> Bench {
        let dir = tempfile::tempdir().unwrap();
        let flows = dir.path().join("flows");
        std::fs::create_dir_all(&flows).unwrap();
        if let Some(flow) = flow {
            std::fs::write(flows.join("default.json"), flow).unwrap();
        }
        let prompts = dir.path().join("prompts");
        std::fs::create_dir_all(&prompts).unwrap();
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 8000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        hound::WavWriter::create(prompts.join("welcome.wav"), spec)
            .unwrap()
            .finalize()
            .unwrap();
        let first = 100_000;
        let extensions: Vec<String> = (first..first + n).map(|e| e.to_string()).collect();
        let toml = format!(
            r#"
[server]
data_dir = "{data}"
[agent_udp]
bind = "127.0.0.1:0"
[admin]
bind = "127.0.0.1:0"
[database]
url = "sqlite://{data}/spcti.db"
[sim]
trunks = {n}
extensions = "{first}-{last}"
prompt_dir = "{prompts}"
[flow]
dir = "{flows}"
[sys]
ring_timeout_s = 3600
[[group]]
no = 1
name = "Bench"
strategy = "longest-idle"
"#,
            data = dir.path().join("data").display(),
            prompts = prompts.display(),
            flows = flows.display(),
            last = first + n - 1,
        );
        let config = Config::from_parts(Some((&toml, "bench.toml")), std::iter::empty()).unwrap();
        spcti::storage::db::migrate(&config.database.url).unwrap();
        let running = spcti::serve::start(config).await.unwrap();

        let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, None).unwrap();
        let _ = sock.set_recv_buffer_size(64 << 20);
        sock.bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into())
            .unwrap();
        let client = sock.local_addr().unwrap().as_socket().unwrap();
        let (tx, events) = mpsc::unbounded_channel();
        // The client is the instrument: it reads and timestamps each
        // datagram as it arrives, and sorts it by the MsgType read off its
        // bytes; decoding waits until `collect` has what it waits for, so
        // the client's own work does not take the two cores from the server
        // under test while the server is timed (a second thread decoding
        // as the datagrams came took a tenth of the CPU of 10,000 pops).
        // Each hand-off carries every datagram already waiting: one wake-up
        // per burst, not per datagram. With `poll`, the reader looks every
        // `poll` instead of waiting on the socket.
        std::thread::spawn(move || {
            // One byte over the protocol's limit: an oversized datagram
            // arrives whole enough to fail its decoding.
            let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); spcti_protocol::MAX_DATAGRAM + 1];
            let bytes = |buf: &[std::mem::MaybeUninit<u8>], n: usize| -> Vec<u8> {
                // SAFETY: recv initialised the first n bytes.
                unsafe { std::slice::from_raw_parts(buf.as_ptr().cast::<u8>(), n) }.to_vec()
            };
            loop {
                let mut burst = Vec::new();
                if poll.is_none() {
                    // Wait for one, then take what else has come, unwaiting.
                    let Ok(n) = sock.recv(&mut buf) else { break };
                    let at = Instant::now();
                    burst.push(Raw::new(bytes(&buf, n), at));
                }
                while burst.len() < 512 {
                    match sock.recv_with_flags(&mut buf, libc::MSG_DONTWAIT) {
                        Ok(n) => {
                            let at = Instant::now();
                            burst.push(Raw::new(bytes(&buf, n), at));
                        }
                        Err(_) => break,
                    }
                }
                if burst.is_empty() {
                    if tx.is_closed() {
                        break;
                    }
                    std::thread::sleep(poll.unwrap_or_default());
                    continue;
                }
                if tx.send(burst).is_err() {
                    break;
                }
            }
        });
        let bench = Bench {
            running,
            client,
            events,
            pending: std::collections::VecDeque::new(),
            extensions,
            _dir: dir,
        };
        for chunk in bench.extensions.chunks(500) {
            let logins = chunk.iter().map(|ext| {
                bench.running.router.send(ClientRequest {
                    from: client,
                    envelope: Envelope::new(Login {
                        tel_num: TelNum::new(ext.clone()).unwrap(),
                        work_no: Some(WorkNo::new(ext.clone()).unwrap()),
                        groups: GroupList::default(),
                        show_state: None,
                        password: None,
                    }),
                })
            });
            for r in futures_join(logins).await {
                assert!(matches!(r, Ok(a) if matches!(&a.reply, Message::Ack(a) if a.ok)));
            }
        }
        bench
    }

    pub async fn sim(&self, action: SimAction) -> SimReply {
        self.running
            .sim
            .as_ref()
            .expect("the sim driver")
            .send(action)
            .await
            .unwrap()
            .unwrap()
    }

    /// Waits for `count` messages of `msg_type`, dropping others; each
    /// with when it was read. Every datagram taken, dropped or not, is
    /// decoded once the count is reached: one the client cannot read
    /// fails the bench.
    pub async fn collect(&mut self, msg_type: u32, count: usize) -> Vec<(Message, Instant)> {
        self.collect_then(msg_type, count, || ()).await
    }

    /// As `collect`, calling `reached` the moment the count is reached,
    /// before anything is decoded.
    pub async fn collect_then(
        &mut self,
        msg_type: u32,
        count: usize,
        reached: impl FnOnce(),
    ) -> Vec<(Message, Instant)> {
        let mut kept = Vec::with_capacity(count);
        let mut others = Vec::new();
        while kept.len() < count {
            let Some(raw) = self.pending.pop_front() else {
                let next = tokio::time::timeout(Duration::from_secs(60), self.events.recv()).await;
                match next {
                    Ok(Some(burst)) => self.pending.extend(burst),
                    _ => panic!("only {} of {count} MsgType {msg_type} arrived", kept.len()),
                }
                continue;
            };
            if raw.msg_type == msg_type {
                kept.push(raw);
            } else {
                others.push(raw);
            }
        }
        reached();
        for raw in &others {
            raw.decode();
        }
        kept.iter().map(|raw| (raw.decode(), raw.at)).collect()
    }
}

/// A datagram as the client read it.
struct Raw {
    bytes: Vec<u8>,
    at: Instant,
    /// Read off the bytes (`<MsgType>N<`), 0 if not there.
    msg_type: u32,
}

impl Raw {
    fn new(bytes: Vec<u8>, at: Instant) -> Raw {
        const TAG: &[u8] = b"<MsgType>";
        let msg_type = bytes
            .windows(TAG.len())
            .position(|w| w == TAG)
            .map(|i| &bytes[i + TAG.len()..])
            .and_then(|rest| {
                let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
                std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()
            })
            .unwrap_or(0);
        Raw {
            bytes,
            at,
            msg_type,
        }
    }

    fn decode(&self) -> Message {
        let env = decode(&self.bytes, TextEncoding::Utf8)
            .unwrap_or_else(|e| panic!("a datagram the client cannot read: {e}"));
        assert_eq!(
            env.message.msg_type(),
            self.msg_type,
            "the MsgType read off the bytes is the decoded one"
        );
        env.message
    }
}

/// Awaits futures concurrently, in order.
pub async fn futures_join<F: std::future::Future>(futs: impl Iterator<Item = F>) -> Vec<F::Output> {
    let handles: Vec<_> = futs.map(|f| Box::pin(f)).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await);
    }
    out
}
