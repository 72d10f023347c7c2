//! The durable spool: records go to disk before they go to the database.
//!
//! Two threads, so neither the actors nor the disk ever wait for the
//! database:
//!
//! - the **spool writer** appends each record as one JSON line to the open
//!   segment `data_dir/spool/seg-NNNNNNNNNN.jsonl`, `fdatasync`s once per
//!   batch (everything that arrived while the previous sync ran), and hands
//!   the records on. A segment is sealed after [`SEGMENT_RECORDS`] records or
//!   when no record has come for [`IDLE_SEAL`];
//! - the **database writer** writes them in order, up to [`BATCH`] per
//!   transaction, each record at most [`LINGER`] after it reached it, as a
//!   background thread (`priority.rs`). A sealed segment whose every record
//!   is in the database is deleted. When the database is down it retries
//!   with backoff (100 ms doubling to 5 s) and the records wait on disk.
//!
//! At start, segments left by an earlier run are replayed first, in order.
//! Every record carries a stable key (`rec_key`, unique in its table) and
//! inserts skip existing keys, so a replay never writes a row twice.
//!
//! What a power cut can lose: only records accepted since the last
//! `fdatasync` (one batch, normally well under a millisecond of traffic). A
//! `kill -9` loses the same at most. A line torn by the cut is skipped on
//! replay with a warning. No client has been told of such a call's end:
//! each record gets a ticket in the [`Ledger`], marked once its batch is
//! synced, and the agent gateway holds end-of-call events until then.
//!
//! A record the database refuses for its content (not for being down: the
//! connection is checked) is appended to `spool/rejected.jsonl` with the
//! reason and counted, so one bad row cannot hold the others back and
//! nothing is thrown away.

use std::collections::{BTreeMap, VecDeque};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::config::DatabaseUrl;
use crate::storage::db::{Conn, DbError};
use crate::storage::ledger::Ledger;
use crate::storage::priority::{self, Priority};
use crate::storage::rows::Record;

/// Records per sealed segment.
pub const SEGMENT_RECORDS: u64 = 1000;
/// A segment with records is sealed after this long without new ones, so
/// that an idle system trims its spool.
pub const IDLE_SEAL: Duration = Duration::from_millis(500);
/// Records per database transaction.
pub const BATCH: usize = 500;
/// How long a record may wait in memory for others to share its database
/// transaction. It is already safe in the spool, so this delays only when
/// it can be read back from the database; meanwhile a busy system writes a
/// few large transactions a second instead of one per ended call. Each
/// commit writes every page it touched to SQLite's WAL (a few per table for
/// a single row), and on two cores the kernel work of thousands of small
/// commits a second, which no priority can preempt, was the hot path's
/// tail (docs/performance.md, "The database copy yields the cores").
pub const LINGER: Duration = Duration::from_millis(100);
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// The spool's and the database's state, shared with the admin API.
#[derive(Debug)]
pub struct SpoolStatus {
    backend: &'static str,
    url: String,
    /// Accepted, not yet synced to disk.
    unsynced: AtomicU64,
    /// On disk (or, if the disk failed, in memory), not yet in the database.
    depth: AtomicU64,
    /// Written to the database since start.
    written: AtomicU64,
    /// Database transactions that wrote records, since start.
    transactions: AtomicU64,
    /// Refused by the database, kept in `rejected.jsonl`.
    rejected: AtomicU64,
    db_up: AtomicBool,
    disk_ok: AtomicBool,
    last_error: Mutex<Option<String>>,
    /// When the database last took records: the end of a burst, read by
    /// benches after the fact (so waiting to see it is not timed).
    last_written_at: Mutex<Option<std::time::Instant>>,
}

/// A copy of [`SpoolStatus`] for JSON.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct StatusSnapshot {
    pub backend: &'static str,
    pub url: String,
    pub state: &'static str,
    pub last_error: Option<String>,
    pub spool_depth: u64,
    pub spool_unsynced: u64,
    pub spool_disk_ok: bool,
    pub written: u64,
    pub rejected: u64,
}

impl SpoolStatus {
    fn new(url: &DatabaseUrl) -> Self {
        SpoolStatus {
            backend: url.backend.as_str(),
            url: crate::storage::db::redact(&url.url),
            unsynced: AtomicU64::new(0),
            depth: AtomicU64::new(0),
            written: AtomicU64::new(0),
            transactions: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            // Unknown until the first attempt; "down" would alarm for nothing.
            db_up: AtomicBool::new(true),
            disk_ok: AtomicBool::new(true),
            last_error: Mutex::new(None),
            last_written_at: Mutex::new(None),
        }
    }

    /// When the database last took records.
    pub fn last_written_at(&self) -> Option<std::time::Instant> {
        *self
            .last_written_at
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Records not yet in the database (spooled plus not yet synced).
    pub fn pending(&self) -> u64 {
        // Unsynced first: a synced record is counted on disk before it
        // leaves the unsynced count, so read in this order no record is
        // between the two readings unseen (0 means all in the database).
        let unsynced = self.unsynced.load(Ordering::SeqCst);
        unsynced + self.depth.load(Ordering::SeqCst)
    }

    /// Records on disk waiting for the database.
    pub fn depth(&self) -> u64 {
        self.depth.load(Ordering::SeqCst)
    }

    pub fn written(&self) -> u64 {
        self.written.load(Ordering::SeqCst)
    }

    /// Database transactions that wrote records, since start.
    pub fn transactions(&self) -> u64 {
        self.transactions.load(Ordering::SeqCst)
    }

    pub fn rejected(&self) -> u64 {
        self.rejected.load(Ordering::SeqCst)
    }

    pub fn db_up(&self) -> bool {
        self.db_up.load(Ordering::SeqCst)
    }

    pub fn last_error(&self) -> Option<String> {
        self.last_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn snapshot(&self) -> StatusSnapshot {
        // In this order, as in `pending`.
        let spool_unsynced = self.unsynced.load(Ordering::SeqCst);
        StatusSnapshot {
            backend: self.backend,
            url: self.url.clone(),
            state: if self.db_up() { "up" } else { "down" },
            last_error: self.last_error(),
            spool_depth: self.depth(),
            spool_unsynced,
            spool_disk_ok: self.disk_ok.load(Ordering::SeqCst),
            written: self.written(),
            rejected: self.rejected(),
        }
    }

    fn set_error(&self, e: Option<String>) {
        *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) = e;
    }
}

enum ToSpool {
    /// A record and its ticket in the [`Ledger`].
    Record(u64, Box<Record>),
    /// Seal, hand everything on, and stop.
    Close { deadline: Instant },
}

type SegNo = u64;

enum ToDb {
    /// A record, and the segment it is in (`None`: the disk failed, memory only).
    Record(Option<SegNo>, Box<Record>),
    /// No more records will go into this segment; it held `count`.
    Sealed(SegNo, u64),
    Close {
        deadline: Instant,
    },
}

/// What actors and the store use to hand records to the spool.
#[derive(Clone)]
pub struct SpoolHandle {
    /// Tickets are issued under this lock so the writer takes records in
    /// ticket order.
    tx: Arc<Mutex<Sender<ToSpool>>>,
    status: Arc<SpoolStatus>,
    ledger: Arc<Ledger>,
}

impl SpoolHandle {
    /// Hands a record to the spool. Never blocks.
    pub fn submit(&self, mut record: Record) {
        if record.fit() {
            tracing::warn!(
                key = record.key(),
                "a value longer than its column was cut to fit"
            );
        }
        self.status.unsynced.fetch_add(1, Ordering::SeqCst);
        let sent = {
            let tx = self.tx.lock().unwrap_or_else(|e| e.into_inner());
            tx.send(ToSpool::Record(self.ledger.issue(), Box::new(record)))
        };
        if let Err(mpsc::SendError(ToSpool::Record(_, r))) = sent {
            self.status.unsynced.fetch_sub(1, Ordering::SeqCst);
            // Only after shutdown: the log is the last place it can go.
            let json = serde_json::to_string(&r).unwrap_or_default();
            tracing::error!(record = %json, "spool closed; record not stored");
        }
    }

    pub fn status(&self) -> &Arc<SpoolStatus> {
        &self.status
    }

    /// Which handed-over records are on disk.
    pub fn ledger(&self) -> &Arc<Ledger> {
        &self.ledger
    }
}

/// The running spool.
pub struct Spool {
    handle: SpoolHandle,
    spool_thread: Option<JoinHandle<()>>,
    db_thread: Option<JoinHandle<()>>,
    /// The database writer's kernel thread id, once it runs.
    db_tid: Arc<std::sync::atomic::AtomicI32>,
}

/// Why the spool could not start.
#[derive(Debug, thiserror::Error)]
#[error("cannot use the spool directory {dir}: {source}")]
pub struct SpoolError {
    dir: String,
    source: std::io::Error,
}

impl Spool {
    /// Opens the spool in `dir` (created if missing), queues what an earlier
    /// run left there, and starts writing to `url`.
    pub fn start(dir: &Path, url: DatabaseUrl) -> Result<Spool, SpoolError> {
        Spool::with_linger(dir, url, LINGER)
    }

    /// As [`Spool::start`], with records waiting up to `linger` to share a
    /// database transaction.
    pub fn with_linger(
        dir: &Path,
        url: DatabaseUrl,
        linger: Duration,
    ) -> Result<Spool, SpoolError> {
        let err = |source| SpoolError {
            dir: dir.display().to_string(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(err)?;
        let old = segments(dir).map_err(err)?;
        let status = Arc::new(SpoolStatus::new(&url));
        let ledger = Arc::new(Ledger::new());
        let (tx, rx) = mpsc::channel();
        let (db_tx, db_rx) = mpsc::channel();

        let next = old.last().map_or(1, |(n, _)| n + 1);
        let writer = SpoolWriter {
            dir: dir.to_owned(),
            next,
            open: None,
            status: status.clone(),
            ledger: ledger.clone(),
            db: db_tx,
        };
        // Replay happens on the spool thread before it takes new records, so
        // old records reach the database first.
        let spool_thread = std::thread::Builder::new()
            .name("spool-writer".into())
            .spawn(move || writer.run(old, rx))
            .map_err(err)?;
        let dbw = DbWriter {
            url,
            dir: dir.to_owned(),
            conn: None,
            pending: VecDeque::new(),
            segs: BTreeMap::new(),
            status: status.clone(),
            backoff: BACKOFF_MIN,
            retry_at: None,
            closing: None,
            linger,
            priority: Priority::Normal,
            fixed: false,
        };
        let db_tid = Arc::new(std::sync::atomic::AtomicI32::new(0));
        let tid = db_tid.clone();
        let db_thread = std::thread::Builder::new()
            .name("spool-db".into())
            .spawn(move || {
                tid.store(priority::thread_id(), Ordering::SeqCst);
                dbw.run(db_rx)
            })
            .map_err(err)?;
        Ok(Spool {
            handle: SpoolHandle {
                tx: Arc::new(Mutex::new(tx)),
                status,
                ledger,
            },
            spool_thread: Some(spool_thread),
            db_thread: Some(db_thread),
            db_tid,
        })
    }

    pub fn handle(&self) -> SpoolHandle {
        self.handle.clone()
    }

    /// The database writer's priority as the kernel has it now
    /// (`priority.rs`): background while the copy keeps up.
    pub fn db_priority(&self) -> Option<Priority> {
        priority::of_thread(self.db_tid.load(Ordering::SeqCst))
    }

    /// Flushes to the database, waiting at most `wait`; what is not written
    /// by then stays in the spool for the next start. Returns how many
    /// records are left.
    pub fn shutdown(mut self, wait: Duration) -> u64 {
        let deadline = Instant::now() + wait;
        let _ = self
            .handle
            .tx
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .send(ToSpool::Close { deadline });
        if let Some(t) = self.spool_thread.take() {
            let _ = t.join();
        }
        if let Some(t) = self.db_thread.take() {
            let _ = t.join();
        }
        self.handle.status.pending()
    }
}

fn seg_path(dir: &Path, n: SegNo) -> PathBuf {
    dir.join(format!("seg-{n:010}.jsonl"))
}

/// The segments in `dir`, oldest first.
fn segments(dir: &Path) -> std::io::Result<Vec<(SegNo, PathBuf)>> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let name = e.file_name();
        let name = name.to_string_lossy();
        if let Some(n) = name
            .strip_prefix("seg-")
            .and_then(|r| r.strip_suffix(".jsonl"))
            .and_then(|n| n.parse().ok())
        {
            v.push((n, e.path()));
        }
    }
    v.sort();
    Ok(v)
}

/// Makes a directory entry (a new or removed segment) durable.
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Appends a record the database or the spool could not take, with why.
fn reject(dir: &Path, line: &str, why: &str) {
    let entry = serde_json::json!({ "reason": why, "record": line });
    let res = OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("rejected.jsonl"))
        .and_then(|mut f| {
            writeln!(f, "{entry}")?;
            f.sync_data()
        });
    if let Err(e) = res {
        tracing::error!(%line, "cannot keep a rejected record ({e})");
    }
}

struct OpenSeg {
    no: SegNo,
    file: File,
    count: u64,
    last_write: Instant,
}

struct SpoolWriter {
    dir: PathBuf,
    next: SegNo,
    open: Option<OpenSeg>,
    status: Arc<SpoolStatus>,
    ledger: Arc<Ledger>,
    db: Sender<ToDb>,
}

impl Drop for SpoolWriter {
    /// However the writer ends, nobody may wait for a sync that will not come.
    fn drop(&mut self) {
        self.ledger.close();
    }
}

impl SpoolWriter {
    fn run(mut self, old: Vec<(SegNo, PathBuf)>, rx: Receiver<ToSpool>) {
        self.replay(old);
        let mut buf = Vec::with_capacity(64 * 1024);
        loop {
            let first = match rx.recv_timeout(IDLE_SEAL) {
                Ok(m) => m,
                Err(RecvTimeoutError::Timeout) => {
                    if self
                        .open
                        .as_ref()
                        .is_some_and(|s| s.last_write.elapsed() >= IDLE_SEAL)
                    {
                        self.seal();
                    }
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => {
                    self.seal();
                    return;
                }
            };
            // Everything that is already waiting goes into this one sync.
            let mut batch = Vec::new();
            let mut last_ticket = 0;
            let mut close = None;
            let mut next = Some(first);
            while let Some(m) = next {
                match m {
                    ToSpool::Record(ticket, r) => {
                        last_ticket = ticket;
                        batch.push(r);
                    }
                    ToSpool::Close { deadline } => {
                        close = Some(deadline);
                        break;
                    }
                }
                next = if batch.len() >= SEGMENT_RECORDS as usize {
                    None
                } else {
                    rx.try_recv().ok()
                };
            }
            self.append(batch, &mut buf);
            // On disk now, or (the disk failed) never: either way nobody
            // waits longer; a failed disk is logged and shows in health.
            self.ledger.mark(last_ticket);
            if let Some(deadline) = close {
                self.seal();
                let _ = self.db.send(ToDb::Close { deadline });
                return;
            }
        }
    }

    /// Queues the records of segments an earlier run left.
    fn replay(&mut self, old: Vec<(SegNo, PathBuf)>) {
        let mut total = 0u64;
        for (no, path) in old {
            let file = match File::open(&path) {
                Ok(f) => f,
                Err(e) => {
                    tracing::error!(path = %path.display(), "cannot read spool segment: {e}");
                    continue;
                }
            };
            let lines: Vec<String> = BufReader::new(file)
                .split(b'\n')
                .map_while(Result::ok)
                .map(|l| String::from_utf8_lossy(&l).into_owned())
                .collect();
            let mut count = 0;
            let last = lines.len().saturating_sub(1);
            for (i, line) in lines.iter().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                match serde_json::from_str::<Record>(line) {
                    Ok(r) => {
                        count += 1;
                        self.status.depth.fetch_add(1, Ordering::SeqCst);
                        let _ = self.db.send(ToDb::Record(Some(no), Box::new(r)));
                    }
                    // The last line of a segment may be torn by a crash
                    // mid-write: it was never synced, so never acknowledged.
                    Err(e) if i == last => {
                        tracing::warn!(path = %path.display(), "skipping a torn last line: {e}");
                    }
                    Err(e) => {
                        tracing::error!(path = %path.display(), line = i + 1, "unreadable spool line kept in rejected.jsonl: {e}");
                        self.status.rejected.fetch_add(1, Ordering::SeqCst);
                        reject(&self.dir, line, &format!("unreadable spool line: {e}"));
                    }
                }
            }
            total += count;
            let _ = self.db.send(ToDb::Sealed(no, count));
        }
        if total > 0 {
            tracing::info!(records = total, "replaying the spool left by the last run");
        }
    }

    fn open_segment(&mut self) -> std::io::Result<&mut OpenSeg> {
        if self.open.is_none() {
            let no = self.next;
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(seg_path(&self.dir, no))?;
            sync_dir(&self.dir);
            self.next += 1;
            self.open = Some(OpenSeg {
                no,
                file,
                count: 0,
                last_write: Instant::now(),
            });
        }
        Ok(self.open.as_mut().expect("just opened"))
    }

    // The boxes travel on to the database thread as they are.
    #[allow(clippy::vec_box)]
    fn append(&mut self, batch: Vec<Box<Record>>, buf: &mut Vec<u8>) {
        if batch.is_empty() {
            return;
        }
        let n = batch.len() as u64;
        buf.clear();
        for r in &batch {
            // Serializing these plain rows cannot fail.
            serde_json::to_writer(&mut *buf, r).expect("record serializes");
            buf.push(b'\n');
        }
        let written = self.open_segment().and_then(|seg| {
            seg.file.write_all(buf)?;
            seg.file.sync_data()?;
            seg.count += n;
            seg.last_write = Instant::now();
            Ok(seg.no)
        });
        let seg = match written {
            Ok(no) => {
                if !self.status.disk_ok.swap(true, Ordering::SeqCst) {
                    tracing::info!("spool disk writable again");
                }
                Some(no)
            }
            Err(e) => {
                // A full or failed disk must not stop calls: the records
                // go on to the database from memory, and the log says so.
                if self.status.disk_ok.swap(false, Ordering::SeqCst) {
                    tracing::error!(dir = %self.dir.display(), "spool disk write failed, records kept in memory only: {e}");
                }
                // Whatever part of the batch reached the file is not counted
                // in the segment; seal it so a replay does not double count.
                self.seal();
                None
            }
        };
        self.status.depth.fetch_add(n, Ordering::SeqCst);
        self.status.unsynced.fetch_sub(n, Ordering::SeqCst);
        for r in batch {
            let _ = self.db.send(ToDb::Record(seg, r));
        }
        if self
            .open
            .as_ref()
            .is_some_and(|s| s.count >= SEGMENT_RECORDS)
        {
            self.seal();
        }
    }

    fn seal(&mut self) {
        if let Some(seg) = self.open.take() {
            let _ = self.db.send(ToDb::Sealed(seg.no, seg.count));
        }
    }
}

#[derive(Default)]
struct SegState {
    done: u64,
    sealed: Option<u64>,
}

struct DbWriter {
    url: DatabaseUrl,
    dir: PathBuf,
    conn: Option<Conn>,
    /// Each with when it reached this thread.
    pending: VecDeque<(Option<SegNo>, Box<Record>, Instant)>,
    segs: BTreeMap<SegNo, SegState>,
    status: Arc<SpoolStatus>,
    backoff: Duration,
    retry_at: Option<Instant>,
    closing: Option<Instant>,
    /// How long a record may wait for others to share its transaction.
    linger: Duration,
    /// What the thread runs at (`priority.rs`).
    priority: Priority,
    /// The kernel refused a change once: the thread keeps what it has.
    fixed: bool,
}

impl DbWriter {
    fn run(mut self, rx: Receiver<ToDb>) {
        let mut spool_gone = false;
        match priority::set_current(Priority::Background) {
            Ok(()) => self.priority = Priority::Background,
            Err(e) => {
                self.fixed = true;
                tracing::debug!("the database copy shares the cores: {e}");
            }
        }
        loop {
            // Take what has arrived; block only when there is nothing to do.
            let wait = if let Some(at) = self.retry_at {
                Some(at.saturating_duration_since(Instant::now()))
            } else {
                self.due()
                    .map(|at| at.saturating_duration_since(Instant::now()))
            };
            let wait = match (wait, self.closing) {
                (w, Some(d)) => Some(
                    w.unwrap_or(Duration::MAX)
                        .min(d.saturating_duration_since(Instant::now())),
                ),
                (w, None) => w,
            };
            if !spool_gone {
                let first = match wait {
                    None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
                    Some(d) if d.is_zero() => rx.try_recv().map_err(|e| match e {
                        mpsc::TryRecvError::Empty => RecvTimeoutError::Timeout,
                        mpsc::TryRecvError::Disconnected => RecvTimeoutError::Disconnected,
                    }),
                    Some(d) => rx.recv_timeout(d),
                };
                match first {
                    Ok(m) => {
                        self.take(m);
                        while let Ok(m) = rx.try_recv() {
                            self.take(m);
                        }
                    }
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => spool_gone = true,
                }
            } else if let Some(d) = wait {
                std::thread::sleep(d);
            }
            if let Some(deadline) = self.closing {
                if self.pending.is_empty() || Instant::now() >= deadline {
                    if !self.pending.is_empty() {
                        tracing::warn!(
                            records = self.pending.len(),
                            "stopping with records not yet in the database; they stay in the spool for the next start"
                        );
                    }
                    return;
                }
            }
            if spool_gone && self.pending.is_empty() {
                return;
            }
            self.steer();
            if self.retry_at.is_some_and(|at| Instant::now() < at) {
                continue;
            }
            self.retry_at = None;
            if self.due().is_some_and(|at| at <= Instant::now()) {
                self.write_some();
            }
        }
    }

    /// When the pending records are to be written: once a transaction's
    /// worth has come, once the oldest has waited its linger, or at once
    /// when stopping; `None` when none waits.
    fn due(&self) -> Option<Instant> {
        let oldest = self.pending.front()?.2;
        if self.pending.len() >= BATCH || self.closing.is_some() {
            Some(oldest)
        } else {
            Some(oldest + self.linger)
        }
    }

    /// Background while the copy keeps up, a normal share once it lags
    /// (`priority.rs`).
    fn steer(&mut self) {
        let oldest = self.pending.front().map(|p| p.2);
        let wanted = self
            .priority
            .wanted(oldest, self.closing.is_some(), Instant::now());
        if wanted == self.priority || self.fixed {
            return;
        }
        match priority::set_current(wanted) {
            Ok(()) => {
                tracing::debug!(
                    waiting = self.pending.len(),
                    "the database copy runs at {} priority",
                    wanted.as_str()
                );
                self.priority = wanted;
            }
            Err(e) => {
                // Only raising can be refused (the thread is in the
                // background): said once, since it is not asked again.
                self.fixed = true;
                tracing::warn!(
                    waiting = self.pending.len(),
                    "the database copy is behind and cannot leave the background \
                     (it needs CAP_SYS_NICE or RLIMIT_NICE 20): {e}"
                );
            }
        }
    }

    fn take(&mut self, m: ToDb) {
        match m {
            ToDb::Record(seg, r) => {
                if let Some(no) = seg {
                    self.segs.entry(no).or_default();
                }
                self.pending.push_back((seg, r, Instant::now()));
            }
            ToDb::Sealed(no, count) => {
                self.segs.entry(no).or_default().sealed = Some(count);
                self.trim();
            }
            ToDb::Close { deadline } => self.closing = Some(deadline),
        }
    }

    /// Connects (and migrates) if needed.
    fn connect(&mut self) -> Result<(), DbError> {
        if self.conn.is_none() {
            let mut conn = Conn::connect(&self.url)?;
            conn.migrate()?;
            self.conn = Some(conn);
        }
        Ok(())
    }

    fn write_some(&mut self) {
        if let Err(e) = self.connect() {
            self.down(e);
            return;
        }
        let n = self.pending.len().min(BATCH);
        let conn = self.conn.as_mut().expect("connected above");
        let batch: Vec<&Record> = self.pending.iter().take(n).map(|(_, r, _)| &**r).collect();
        match conn.write(&batch) {
            Ok(()) => self.done(n, 0),
            // A failed query on a healthy connection is about the rows;
            // anything else is about the database.
            Err(e) if !is_transient(&e) && conn.ping().is_ok() => self.one_by_one(n),
            Err(e) => {
                self.conn = None;
                self.down(e);
            }
        }
    }

    /// Writes the first `n` pending records singly, setting aside the ones
    /// the database refuses.
    fn one_by_one(&mut self, n: usize) {
        for _ in 0..n {
            let Some(conn) = self.conn.as_mut() else {
                return;
            };
            let res = conn.write(&[&*self.pending[0].1]);
            match res {
                Ok(()) => self.done(1, 0),
                Err(e) if !is_transient(&e) && conn.ping().is_ok() => {
                    let line = serde_json::to_string(&self.pending[0].1).unwrap_or_default();
                    tracing::error!(
                        key = self.pending[0].1.key(),
                        "database refused a record, kept in spool/rejected.jsonl: {e}"
                    );
                    reject(&self.dir, &line, &e.to_string());
                    self.done(0, 1);
                }
                Err(e) => {
                    self.conn = None;
                    self.down(e);
                    return;
                }
            }
        }
    }

    /// The first `ok + bad` pending records are finished with.
    fn done(&mut self, ok: usize, bad: usize) {
        for _ in 0..ok + bad {
            if let Some((Some(no), _, _)) = self.pending.pop_front() {
                self.segs.entry(no).or_default().done += 1;
            }
        }
        let n = (ok + bad) as u64;
        self.status.depth.fetch_sub(n, Ordering::SeqCst);
        if ok > 0 {
            *self
                .status
                .last_written_at
                .lock()
                .unwrap_or_else(|e| e.into_inner()) = Some(std::time::Instant::now());
        }
        self.status.written.fetch_add(ok as u64, Ordering::SeqCst);
        if ok > 0 {
            // Every call of `done` with rows written follows one commit.
            self.status.transactions.fetch_add(1, Ordering::SeqCst);
        }
        self.status.rejected.fetch_add(bad as u64, Ordering::SeqCst);
        if !self.status.db_up.swap(true, Ordering::SeqCst) {
            tracing::info!(
                backend = self.status.backend,
                waiting = self.pending.len(),
                "database is back; writing the spooled records"
            );
        }
        self.status.set_error(None);
        self.backoff = BACKOFF_MIN;
        self.trim();
    }

    fn down(&mut self, e: DbError) {
        let msg = e.to_string();
        let was_up = self.status.db_up.swap(false, Ordering::SeqCst);
        let changed = self.status.last_error().as_deref() != Some(msg.as_str());
        if was_up || changed {
            // One line per change, not one per retry.
            tracing::warn!(
                backend = self.status.backend,
                spooled = self.status.depth(),
                "database unavailable, records wait in the spool: {msg}"
            );
        } else {
            tracing::debug!("database still unavailable: {msg}");
        }
        self.status.set_error(Some(msg));
        self.retry_at = Some(Instant::now() + self.backoff);
        self.backoff = (self.backoff * 2).min(BACKOFF_MAX);
    }

    /// Deletes sealed segments whose records are all finished with.
    fn trim(&mut self) {
        let finished: Vec<SegNo> = self
            .segs
            .iter()
            .filter(|(_, s)| s.sealed.is_some_and(|c| s.done >= c))
            .map(|(n, _)| *n)
            .collect();
        if finished.is_empty() {
            return;
        }
        for no in finished {
            self.segs.remove(&no);
            if let Err(e) = std::fs::remove_file(seg_path(&self.dir, no)) {
                if e.kind() != std::io::ErrorKind::NotFound {
                    tracing::warn!(segment = no, "cannot trim spool segment: {e}");
                }
            }
        }
        sync_dir(&self.dir);
    }
}

/// Errors worth retrying on the same connection later rather than setting
/// the rows aside: lock contention and serialization conflicts.
fn is_transient(e: &DbError) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    match e {
        DbError::Query(Error::DatabaseError(kind, info)) => {
            let m = info.message().to_ascii_lowercase();
            matches!(
                kind,
                DatabaseErrorKind::SerializationFailure
                    | DatabaseErrorKind::ClosedConnection
                    | DatabaseErrorKind::UnableToSendCommand
                    | DatabaseErrorKind::ReadOnlyTransaction
            ) || m.contains("locked")
                || m.contains("busy")
                || m.contains("deadlock")
        }
        DbError::Query(_) => false,
        _ => true,
    }
}
