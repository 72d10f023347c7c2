//! The store actor, on a `SyncArbiter` so blocking database work never runs
//! on the actor threads.
//!
//! Writes (call records, recording rows, agent log-in history, fax records)
//! do not pass through here: actors hand them straight to the durable spool
//! ([`RecordSink`] for [`SpoolHandle`]), which writes them to the database on
//! its own thread; they never wait for the database. Reads (the customer of a screen
//! pop, the whitelist, SIP passwords) use an r2d2 pool. While reads fail the
//! store stops trying for a few seconds, so a database that is down costs a
//! screen pop nothing but its customer fields.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use actix::prelude::*;
use spcti_actors::deps::{
    CheckWhitelist, LookupCustomer, QuickCustomers, RecordSink, StoreHandle, StoreRecord,
};
use spcti_actors::records::Customer;

use crate::config::TimeZone;
use crate::storage::db::ReadPool;
use crate::storage::rows::{FaxRow, Record};
use crate::storage::spool::SpoolHandle;

/// After a failed read, how long reads are not attempted.
const READ_PAUSE: Duration = Duration::from_secs(5);

/// Store a fax record (`spfaxrecord`).
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct SaveFax(pub FaxRow);

/// The registration password of a SIP seat (`sp_sipregpwd`).
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<Option<String>, String>")]
pub struct SipPassword(pub String);

/// One store worker.
pub struct Store {
    spool: SpoolHandle,
    reads: ReadPool,
    /// Milliseconds since `epoch` before which reads are skipped; shared by
    /// the workers.
    paused_until: Arc<AtomicU64>,
    epoch: Instant,
}

impl Store {
    /// Starts `threads` store workers; returns their address and the handle
    /// actors use. `quick`: customer reads the callers may make themselves
    /// (embedded SQLite; storage/quick.rs).
    pub fn start(
        spool: SpoolHandle,
        zone: TimeZone,
        reads: ReadPool,
        threads: usize,
        quick: Option<Arc<dyn QuickCustomers>>,
    ) -> (Addr<Store>, StoreHandle) {
        let paused_until = Arc::new(AtomicU64::new(0));
        let epoch = Instant::now();
        let records = spool.clone();
        let addr = SyncArbiter::start(threads.max(1), move || Store {
            spool: records.clone(),
            reads: reads.clone(),
            paused_until: paused_until.clone(),
            epoch,
        });
        let handle = StoreHandle {
            records: Arc::new(Records { spool, zone }),
            quick_customers: quick,
            customers: addr.clone().recipient(),
            whitelist: addr.clone().recipient(),
        };
        (addr, handle)
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// Runs a read unless reads are paused; pauses them when it fails.
    fn read<T>(
        &self,
        what: &str,
        f: impl FnOnce(&ReadPool) -> Result<T, String>,
    ) -> Result<T, String> {
        if self.now_ms() < self.paused_until.load(Ordering::Relaxed) {
            return Err("database unavailable (reads paused after a failure)".into());
        }
        f(&self.reads).inspect_err(|e| {
            tracing::warn!("{what} failed, reads paused for {READ_PAUSE:?}: {e}");
            self.paused_until.store(
                self.now_ms() + READ_PAUSE.as_millis() as u64,
                Ordering::Relaxed,
            );
        })
    }
}

impl Actor for Store {
    type Context = SyncContext<Self>;
}

impl Handler<SaveFax> for Store {
    type Result = ();
    fn handle(&mut self, SaveFax(r): SaveFax, _: &mut SyncContext<Self>) {
        self.spool.submit(Record::Fax(r));
    }
}

/// Where actors' records go: the spool, with times in the tables' zone.
pub struct Records {
    pub spool: SpoolHandle,
    pub zone: TimeZone,
}

/// Records go to the spool on the caller's thread: submitting only queues.
impl RecordSink for Records {
    fn submit(&self, record: StoreRecord) {
        let mut record = Record::from(record);
        if self.zone != TimeZone::Utc {
            record.map_times(|t| self.zone.from_utc(t));
        }
        self.spool.submit(record);
    }
}

impl Handler<LookupCustomer> for Store {
    type Result = Option<Customer>;
    fn handle(
        &mut self,
        LookupCustomer(phone): LookupCustomer,
        _: &mut SyncContext<Self>,
    ) -> Option<Customer> {
        // A pop without customer fields beats no pop: errors give `None`.
        self.read("customer lookup", |p| p.customer(&phone))
            .ok()
            .flatten()
    }
}

impl Handler<CheckWhitelist> for Store {
    type Result = Result<bool, String>;
    fn handle(
        &mut self,
        CheckWhitelist(number): CheckWhitelist,
        _: &mut SyncContext<Self>,
    ) -> Result<bool, String> {
        self.read("whitelist lookup", |p| p.whitelisted(&number))
    }
}

impl Handler<SipPassword> for Store {
    type Result = Result<Option<String>, String>;
    fn handle(
        &mut self,
        SipPassword(reg): SipPassword,
        _: &mut SyncContext<Self>,
    ) -> Result<Option<String>, String> {
        self.read("SIP password lookup", |p| p.sip_password(&reg))
    }
}
