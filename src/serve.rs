//! `spcti serve`: validate the configuration, prepare the data directory and
//! the database, build the actor tree on the switch, open the gateways, and
//! run until SIGINT/SIGTERM.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use actix::prelude::*;
use actix_web::{App, HttpServer, web};
use spcti_actors::clock::Clock;
use spcti_actors::deps::{Deps, Settings, Topology};
use spcti_actors::group_actor::QueueGroupActor;
use spcti_actors::messages::{ChannelRef, GroupRef, RouterRef, SeatRef, TrunkRef};
use spcti_actors::router::Router;
use spcti_actors::seat_actor::SeatActor;
use spcti_actors::supervision::Registry;
use spcti_actors::switch::ChannelKind;
use spcti_actors::trunk_actor::TrunkActor;
use spcti_protocol::{GroupNo, WorkNo};
use tracing_subscriber::EnvFilter;

use crate::config::{ClockMode, Config, Driver};
use crate::sim::wav::Prompts;
use crate::sim::{SimDriver, SimSwitch};
use crate::switch::SwitchDriver;

/// Sets up logging from `RUST_LOG` (default `info`).
pub fn init_logging() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, never in a file.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// The actors' settings from the configuration.
pub fn settings(config: &Config) -> Settings {
    Settings {
        ring_timeout: Duration::from_secs(config.sys.ring_timeout_s.into()),
        noanswerleave: config.sys.noanswerleave,
        pickup_min_ring: Duration::from_secs(config.sys.pickup_min_ring_s.into()),
        allow_phone_logout: config.sys.allow_phone_logout,
        allow_unknown_agents: config.sys.allow_unknown_agents,
        heartbeat: Duration::from_secs(config.agent_udp.heartbeat_s.into()),
        default_group: config.groups.first().map(|g| GroupNo(g.no)),
        wrap_up: config
            .groups
            .iter()
            .map(|g| (GroupNo(g.no), Duration::from_secs(g.wrap_up_s.into())))
            .collect(),
        agents: config
            .agents
            .iter()
            .filter_map(|a| {
                let w = WorkNo::new(a.work_no.clone()).ok()?;
                Some((
                    w,
                    a.groups
                        .iter()
                        .map(|m| (GroupNo(m.no), m.priority))
                        .collect(),
                ))
            })
            .collect(),
        caller_no: config.sys.caller_no.clone(),
        whitelist_only: config.sys.whitelist_only,
        transtoout: config.sys.transtoout,
        supervisors: config
            .sys
            .supervisors
            .iter()
            .filter_map(|w| WorkNo::new(w.clone()).ok())
            .collect(),
        protected: config
            .agents
            .iter()
            .filter(|a| a.password_hash.is_some())
            .filter_map(|a| WorkNo::new(a.work_no.clone()).ok())
            .collect(),
        client_networks: config.agent_udp.allow.clone(),
        local_time: config.database.timezone == crate::config::TimeZone::Local,
    }
}

/// Addresses actually bound (a port 0 in the configuration picks a free one).
pub use crate::admin::Bound;

/// A running server: the addresses it bound and handles tests and benches use.
pub struct Running {
    pub bound: Bound,
    pub clock: Clock,
    /// The simulated switch, when it is the driver.
    pub sim: Option<Addr<SimSwitch>>,
    pub router: RouterRef,
    pub registry: Addr<Registry>,
    pub monitor: spcti_actors::monitor::MonitorHub,
    pub server: actix_web::dev::Server,
    /// The monitor's WebSocket server, already running: stopped after the
    /// drain, so watchers see the calls end.
    pub monitor_server: actix_web::dev::ServerHandle,
    /// Stop it with [`Spool::shutdown`](crate::storage::spool::Spool::shutdown) after the server.
    pub spool: crate::storage::spool::Spool,
    /// Set while stopping; see [`drain`].
    pub draining: Arc<std::sync::atomic::AtomicBool>,
    pub channels: Vec<ChannelRef>,
    pub db_status: Arc<crate::storage::spool::SpoolStatus>,
}

/// Why the server could not start; each names the configuration key or the
/// part at fault.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot create server.data_dir {}: {source}", path.display())]
    DataDir {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("cannot bind {key} {addr}: {source}")]
    Bind {
        key: &'static str,
        addr: String,
        source: std::io::Error,
    },
    #[error("database.url: {0}")]
    Database(#[from] crate::storage::db::DbError),
    #[error(transparent)]
    Spool(#[from] crate::storage::spool::SpoolError),
    #[error(transparent)]
    Flows(#[from] crate::flows::FlowsError),
    #[error(transparent)]
    Sip(#[from] crate::sip::SipStartError),
    #[error("internal error: {0}")]
    Internal(&'static str),
}

fn data_dir_error(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> StartError + '_ {
    move |source| StartError::DataDir {
        path: path.to_owned(),
        source,
    }
}

/// Builds the actor tree and opens every socket. Must run inside an actix system.
pub async fn start(config: Config) -> Result<Running, StartError> {
    crate::no_huge_pages();
    let data_dir = config.server.data_dir.clone();
    std::fs::create_dir_all(&data_dir).map_err(data_dir_error(&data_dir))?;
    let clock = match config.server.clock {
        ClockMode::Real => Clock::real(),
        ClockMode::Manual => Clock::manual(),
    };
    // The call flows first: a broken flow keeps the server from starting
    // before it opens any port or touches the database.
    // The prompts the running switch plays: the sim's, or the SIP
    // driver's own directory.
    let prompts = Prompts::load(match config.switch.driver {
        Driver::Sim => &config.sim.prompt_dir,
        Driver::Sip => &config.sip.prompt_dir,
    });
    let prompts_handle = prompts.clone();
    let known = crate::flows::Known::of(&config, prompts.clone());
    let flows = Arc::new(crate::flows::load(&config, &known)?);
    let flow_files = crate::flows::FlowFiles::new(&config, known, flows.clone()).start();
    let flow_http = crate::gateway::flow_http::FlowHttpGateway::default().start();
    let flow_timers = spcti_actors::flow_timers::FlowTimers::new(
        clock.clone(),
        flows.clone(),
        flow_http.clone().recipient(),
    )
    .start();
    let registry = Registry::new(clock.clone()).start();
    let monitor = spcti_actors::monitor::MonitorHub::new();

    // Records go to the spool first; the spool writes them to whichever
    // database the URL names, and waits (on disk) while it is down.
    let spool =
        crate::storage::spool::Spool::start(&data_dir.join("spool"), config.database.url.clone())?;
    let db_status = spool.handle().status().clone();
    let reads = crate::storage::db::ReadPool::new(&config.database.url, config.database.pool_size);
    // Writes only queue to the spool; the workers are for reads. A server
    // database is waited on over the network, so one worker per pooled
    // connection; SQLite reads run in process (in parallel, in WAL mode), so
    // more workers than cores only contend.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let workers = match config.database.url.backend {
        crate::config::Backend::Sqlite => (config.database.pool_size as usize).min(cores),
        _ => config.database.pool_size as usize,
    };
    let admin_reads = reads.clone();
    // An embedded database's screen-pop reads run on the caller's thread.
    let quick = config.database.url.sqlite_path().map(|path| {
        Arc::new(crate::storage::quick::QuickSqlite::new(path))
            as Arc<dyn spcti_actors::deps::QuickCustomers>
    });
    let (store_addr, store) = crate::storage::store::Store::start(
        spool.handle(),
        config.database.timezone,
        reads,
        workers,
        quick,
    );

    let (agent_udp, agent_socket, agent_bound) = crate::gateway::agent_udp::bind(
        config.agent_udp.bind,
        config.agent_udp.encoding,
        spool.handle().ledger().clone(),
    )
    .await
    .map_err(|source| StartError::Bind {
        key: "agent_udp.bind",
        addr: config.agent_udp.bind.to_string(),
        source,
    })?;

    let (driver, sim) = driver(&config, &clock, &data_dir, prompts, &store_addr)?;
    let descs = driver.channels();

    // The server's own ports, known once every socket is bound: never a phone's.
    let own_ports = Arc::new(OnceLock::new());
    let phone = crate::gateway::phone::PhoneGateway::new(crate::gateway::phone::Policy::new(
        config.phone.allow.clone(),
        own_ports.clone(),
    ))
    .start();
    let topology = Arc::new(OnceLock::new());
    let draining = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let deps = Deps {
        clock: clock.clone(),
        switch: driver.commands(),
        store,
        client: agent_udp.clone().recipient(),
        phone: phone.recipient(),
        registry: registry.clone(),
        monitor: monitor.clone(),
        settings: Arc::new(settings(&config)),
        flows: flows.clone(),
        flow_files: flow_files.clone().recipient(),
        flow_timers: flow_timers.recipient(),
        flow_http: flow_http.recipient(),
        topology: topology.clone(),
        draining: draining.clone(),
        unreachable: Default::default(),
    };

    let router = {
        let deps = deps.clone();
        RouterRef::new(Supervisor::start(move |_| Router::new(deps)))
    };
    // Channels are spread over one arbiter per core: a call's hot path runs
    // in parallel with other calls'.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let arbiters: Vec<Arbiter> = (0..cores).map(|_| Arbiter::new()).collect();
    // What the quiescence barrier (`POST /sim/idle`) watches: the threads
    // actors run on, and the spool's sync of every record handed to it.
    let quiet = Arc::new(crate::quiet::Quiet::new());
    quiet.watch_current("the system thread");
    for (i, a) in arbiters.iter().enumerate() {
        quiet
            .watch_arbiter(format!("channel thread {i}"), &a.handle())
            .await;
    }
    let ledger = spool.handle().ledger().clone();
    quiet.probe("records not yet on disk", move || {
        ledger.is_synced(ledger.issued())
    });
    // One actor per channel, by role: a trunk hosts the calls that arrive
    // on it, a seat its phone and the calls it places.
    let mut events = Vec::with_capacity(descs.len());
    let mut channels = Vec::with_capacity(descs.len());
    let mut trunks = Vec::with_capacity(descs.len());
    let mut seat_actors = Vec::with_capacity(descs.len());
    for (i, d) in descs.iter().enumerate() {
        let (d, deps) = (d.clone(), deps.clone());
        let arbiter = arbiters[i % cores].handle();
        match (d.kind, d.ext.clone()) {
            (ChannelKind::Seat, Some(ext)) => {
                let addr =
                    Supervisor::start_in_arbiter(&arbiter, move |_| SeatActor::new(d, ext, deps));
                events.push(addr.clone().recipient());
                channels.push(ChannelRef::new(addr.clone()));
                seat_actors.push(Some(SeatRef::new(addr)));
                trunks.push(None);
            }
            _ => {
                let addr =
                    Supervisor::start_in_arbiter(&arbiter, move |_| TrunkActor::new(d, deps));
                events.push(addr.clone().recipient());
                channels.push(ChannelRef::new(addr.clone()));
                trunks.push(Some(TrunkRef::new(addr)));
                seat_actors.push(None);
            }
        }
    }
    // Switch events go straight to their channel's actor.
    let sink = spcti_actors::switch::EventSink::new(events);
    let channel_refs = channels.clone();
    let groups = config
        .groups
        .iter()
        .map(|g| {
            let deps = deps.clone();
            let (no, strategy, sl) = (
                GroupNo(g.no),
                g.strategy,
                Duration::from_secs(g.service_level_s.into()),
            );
            (
                no,
                GroupRef::new(Supervisor::start(move |_| {
                    QueueGroupActor::new(no, strategy, sl, deps)
                })),
            )
        })
        .collect();
    let seats = descs
        .iter()
        .filter(|d| d.kind == ChannelKind::Seat)
        .filter_map(|d| d.ext.clone().map(|e| (e, d.ch)))
        .collect::<HashMap<_, _>>();
    topology
        .set(Topology {
            arbiters: arbiters.iter().map(Arbiter::handle).collect(),
            channels,
            trunks,
            seat_actors,
            seats,
            groups,
            router: router.clone(),
        })
        .map_err(|_| StartError::Internal("topology set twice"))?;
    driver.connect(sink);
    let gate = crate::gateway::agent_udp::Gate {
        encoding: config.agent_udp.encoding,
        allow: config.agent_udp.allow.clone(),
        passwords: config
            .agents
            .iter()
            .filter_map(|a| {
                let hash = a.password_hash.clone()?;
                Some((WorkNo::new(a.work_no.clone()).ok()?, hash))
            })
            .collect(),
    };
    crate::gateway::agent_udp::listen(agent_socket, agent_udp.clone(), gate, router.clone());

    let (monitor_server, monitor_bound) = crate::gateway::monitor_ws::bind(
        config.monitor.bind,
        monitor.clone(),
        crate::gateway::monitor_ws::Limits::default(),
    )
    .map_err(|source| StartError::Bind {
        key: "monitor.bind",
        addr: config.monitor.bind.to_string(),
        source,
    })?;
    let monitor_server_handle = monitor_server.handle();
    actix_web::rt::spawn(monitor_server);

    let bound_cell = Arc::new(OnceLock::<Bound>::new());
    let admin = web::Data::new(crate::admin::Admin {
        router: router.clone(),
        registry: registry.clone(),
        hub: monitor.clone(),
        db: db_status.clone(),
        reads: admin_reads,
        recordings: data_dir.join("recordings"),
        token: config.admin.token.clone(),
        fault_injection: config.admin.fault_injection,
        started: Instant::now(),
        bound: bound_cell.clone(),
        flow_files: flow_files.clone(),
        flows: flows.clone(),
        prompts: prompts_handle.clone(),
        registrations: driver.registrations(),
    });
    let http = HttpServer::new(move || {
        App::new()
            .app_data(admin.clone())
            .app_data(web::Data::from(quiet.clone()))
            // The driver's own routes (the sim's /sim), only while it runs.
            .configure(|cfg| driver.routes(cfg))
            .configure(crate::admin::routes)
            .default_service(web::to(crate::admin::not_found))
    })
    .workers(1)
    // SIGINT/SIGTERM are handled by `run`: calls are ended first (`drain`).
    .disable_signals()
    .shutdown_timeout(2)
    .bind(config.admin.bind)
    .map_err(|source| StartError::Bind {
        key: "admin.bind",
        addr: config.admin.bind.to_string(),
        source,
    })?;
    let admin_bound = *http
        .addrs()
        .first()
        .ok_or(StartError::Internal("admin.bind bound nothing"))?;
    let bound = Bound {
        agent_udp: agent_bound,
        admin: admin_bound,
        monitor: monitor_bound,
    };
    let _ = bound_cell.set(bound);
    let _ = own_ports.set(vec![
        bound.agent_udp.port(),
        bound.admin.port(),
        bound.monitor.port(),
        config.ip_seat.bind.port(),
    ]);
    let server = http.run();
    Ok(Running {
        bound,
        clock,
        sim,
        router,
        registry,
        monitor,
        server,
        monitor_server: monitor_server_handle,
        spool,
        db_status,
        draining,
        channels: channel_refs,
    })
}

/// What a graceful stop needs of a running server (taken before the HTTP
/// server itself is handed to the runtime).
pub struct Drainer {
    draining: Arc<std::sync::atomic::AtomicBool>,
    monitor: spcti_actors::monitor::MonitorHub,
    channels: Vec<ChannelRef>,
    ledger: Arc<crate::storage::ledger::Ledger>,
}

impl Running {
    pub fn drainer(&self) -> Drainer {
        Drainer {
            draining: self.draining.clone(),
            monitor: self.monitor.clone(),
            channels: self.channels.clone(),
            ledger: self.spool.handle().ledger().clone(),
        }
    }
}

/// A graceful stop, before the server's sockets close: new arrivals are
/// refused as busy; every call is ended as the system (its record and
/// recording written, its agent told with 6008), as a force release would;
/// then, once every channel is free or `wait` has passed, waits (within the
/// same bound) until the recordings are reported closed, the records are
/// synced and the end-of-call events held for them have left; `run` then
/// flushes the spool to the database.
pub async fn drain(running: &Drainer, wait: Duration) {
    use std::sync::atomic::Ordering;
    running.draining.store(true, Ordering::SeqCst);
    // Channels with a call on them: a trunk that is not free, anything
    // linked, ringing, talking or holding (a seat whose phone is merely
    // still off its cradle has no call).
    let busy = |hub: &spcti_actors::monitor::MonitorHub| {
        use spcti_protocol::{ChType, ChannelState as S};
        hub.channels()
            .iter()
            .filter(|c| {
                (c.ch_type == ChType::Trunk && c.state != S::Free)
                    || c.link_ch.is_some()
                    || matches!(c.state, S::Ringing | S::Talking | S::Held)
            })
            .count()
    };
    let calls = busy(&running.monitor);
    tracing::info!(calls, "stopping: ending every call (at most {wait:?})");
    for ch in &running.channels {
        // A free channel answers that it has no call; nothing to do there.
        ch.do_send(spcti_actors::messages::channel::ForceRelease);
    }
    let deadline = Instant::now() + wait;
    loop {
        let left = busy(&running.monitor);
        if left == 0 {
            break;
        }
        if Instant::now() >= deadline {
            tracing::warn!(calls = left, "stopping with calls still up after {wait:?}");
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Records are handed to the spool as calls end; the gateway lets each
    // call's 6007/6008 go once they are synced. Before that, the trunks and
    // seats hold those events until the switch reports each call's
    // recording closed, which it may do after the call is down.
    let settled = || {
        running.ledger.is_synced(running.ledger.issued())
            && spcti_actors::closing::holding() == 0
            && crate::gateway::agent_udp::HELD.load(Ordering::Relaxed) == 0
    };
    // Even when the calls took all of `wait`, one sync's worth of time for
    // the events of the last of them.
    let deadline = deadline.max(Instant::now() + Duration::from_secs(1));
    while !settled() {
        if Instant::now() >= deadline {
            tracing::warn!("stopping before every end-of-call event left");
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A started driver, and the sim's address when the sim is the driver.
type Started = (Arc<dyn SwitchDriver>, Option<Addr<SimSwitch>>);

/// Starts the switch driver `[switch] driver` names; the sim's address too,
/// when it is the sim (tests and benches drive it directly).
fn driver(
    config: &Config,
    clock: &Clock,
    data_dir: &std::path::Path,
    prompts: Prompts,
    store: &Addr<crate::storage::store::Store>,
) -> Result<Started, StartError> {
    match config.switch.driver {
        Driver::Sim => {
            let sim = SimDriver::start(SimSwitch::new(
                config.sim.trunks,
                &config.sim.extensions.0,
                clock.clone(),
                prompts,
                data_dir.join("recordings"),
                Duration::from_millis(config.sim.answer_delay_ms),
            ));
            let addr = sim.addr.clone();
            Ok((Arc::new(sim), Some(addr)))
        }
        Driver::Sip => {
            let sip = crate::sip::SipDriver::start(
                &config.sip,
                clock.clone(),
                prompts,
                data_dir.join("recordings"),
                Some(store.clone().recipient()),
            )?;
            Ok((Arc::new(sip), None))
        }
    }
}

/// SIGTERM or SIGINT (Ctrl-C).
async fn stop_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("a SIGTERM handler");
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM"),
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT"),
    }
}

/// How long a graceful stop waits for the database to take the spool.
pub const FLUSH_WAIT: Duration = Duration::from_secs(10);

/// Runs the server until it is stopped.
pub fn run(config: Config) -> Result<(), StartError> {
    init_logging();
    std::fs::create_dir_all(&config.server.data_dir)
        .map_err(data_dir_error(&config.server.data_dir))?;
    let url = config.database.url.clone();
    match crate::storage::db::migrate(&url) {
        Ok(applied) => {
            for name in applied {
                tracing::info!(migration = %name, "applied");
            }
        }
        // A SQLite file that cannot be opened, or a backend this build
        // cannot speak, is this machine's problem: stop and say so (records
        // would only pile up in the spool).
        Err(e @ crate::storage::db::DbError::NotCompiled(_)) => return Err(e.into()),
        Err(e) if url.backend == crate::config::Backend::Sqlite => return Err(e.into()),
        // A database server that is down, refuses us or is misnamed must
        // not stop calls: one line, and records wait in the spool.
        Err(e) => tracing::error!(
            "database.url: {e}; starting anyway, records wait in {} until it can be written",
            config.server.data_dir.join("spool").display()
        ),
    }
    let drain_wait = Duration::from_secs(config.server.drain_s.into());
    let spool = actix::System::new().block_on(async move {
        let running = start(config).await?;
        let b = running.bound;
        // One machine-readable line: scripts and tests find the real ports here.
        println!(
            "spcti listening agent_udp={} admin={} monitor={}",
            b.agent_udp, b.admin, b.monitor
        );
        use std::io::Write;
        let _ = std::io::stdout().flush();
        tracing::info!(agent_udp = %b.agent_udp, admin = %b.admin, monitor = %b.monitor, "spcti running");
        let handle = running.server.handle();
        let monitor = running.monitor_server.clone();
        let drainer = running.drainer();
        let server = actix_web::rt::spawn(running.server);
        stop_signal().await;
        drain(&drainer, drain_wait).await;
        handle.stop(true).await;
        monitor.stop(true).await;
        let _ = server.await;
        Ok::<_, StartError>(running.spool)
    })?;
    tracing::info!("stopping: writing the spool to the database (at most {FLUSH_WAIT:?})");
    let left = spool.shutdown(FLUSH_WAIT);
    if left > 0 {
        tracing::warn!(
            records = left,
            "stopped with records still in the spool; they are written at the next start"
        );
    }
    tracing::info!("spcti stopped");
    Ok(())
}
