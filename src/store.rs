//! The store: diesel on a `SyncArbiter`, so blocking database work never
//! runs on the actor threads. Writes carry a stable key (`rec_key`) so that
//! writing a record twice leaves one row.
//!
//! This is the SQLite store of the actor core; the durable spool and the
//! other backends come with the storage capability.

use actix::prelude::*;
use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;
use spcti_actors::deps::{
    LookupCustomer, SaveAgentState, SaveCallRecord, SaveRecording, StoreHandle,
};
use spcti_actors::records::Customer;

use crate::schema::{sp_agentregstate, sp_customer, sp_tellrec, sprecord};

/// One database connection per arbiter thread.
pub struct Store {
    conn: SqliteConnection,
}

impl Store {
    pub fn new(conn: SqliteConnection) -> Self {
        Store { conn }
    }

    /// Starts `threads` store workers on a path; returns the handle actors use.
    pub fn start(
        path: &str,
        threads: usize,
    ) -> Result<(Addr<Store>, StoreHandle), crate::db::DbError> {
        // Open once here so a bad path fails at start, not in a worker.
        drop(crate::db::open_sqlite(path)?);
        let path = path.to_owned();
        let addr = SyncArbiter::start(threads, move || {
            Store::new(crate::db::open_sqlite(&path).expect("opened once at start"))
        });
        let handle = StoreHandle {
            calls: addr.clone().recipient(),
            recordings: addr.clone().recipient(),
            agent_states: addr.clone().recipient(),
            customers: addr.clone().recipient(),
        };
        Ok((addr, handle))
    }
}

impl Actor for Store {
    type Context = SyncContext<Self>;
}

fn opt_str<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map(ToString::to_string).unwrap_or_default()
}

/// Writes a call record.
impl Handler<SaveCallRecord> for Store {
    type Result = ();
    fn handle(&mut self, SaveCallRecord(r): SaveCallRecord, _: &mut SyncContext<Self>) {
        let res = diesel::insert_or_ignore_into(sp_tellrec::table)
            .values((
                sp_tellrec::rec_key.eq(&r.key),
                sp_tellrec::tellguid.eq(r.tellguid.to_string()),
                sp_tellrec::ch_num.eq(r.ch.0 as i32),
                sp_tellrec::caller_no.eq(&r.caller_no),
                sp_tellrec::callee_no.eq(&r.callee_no),
                sp_tellrec::tel_num.eq(opt_str(&r.tel_num)),
                sp_tellrec::work_no.eq(opt_str(&r.work_no)),
                sp_tellrec::group_no.eq(r.group_no.map(|g| g.0 as i32)),
                sp_tellrec::direction.eq(r.direction.as_str()),
                sp_tellrec::start_time.eq(r.start_time),
                sp_tellrec::queue_time.eq(r.queue_time),
                sp_tellrec::answer_time.eq(r.answer_time),
                sp_tellrec::end_time.eq(r.end_time),
                sp_tellrec::telllongtime.eq(r.talk_s as i32),
                sp_tellrec::tellmsg.eq(r.tellmsg.code()),
                sp_tellrec::hangup_by.eq(r.hangup_by.as_str()),
                sp_tellrec::cause.eq(i32::from(r.cause)),
                sp_tellrec::record_file.eq(&r.record_file),
            ))
            .execute(&mut self.conn);
        if let Err(e) = res {
            tracing::error!(key = %r.key, "call record not written: {e}");
        }
    }
}

/// Writes a recording row.
impl Handler<SaveRecording> for Store {
    type Result = ();
    fn handle(&mut self, SaveRecording(r): SaveRecording, _: &mut SyncContext<Self>) {
        let res = diesel::insert_or_ignore_into(sprecord::table)
            .values((
                sprecord::rec_key.eq(&r.key),
                sprecord::tellguid.eq(r.tellguid.to_string()),
                sprecord::caller_no.eq(&r.caller_no),
                sprecord::callee_no.eq(&r.callee_no),
                sprecord::tel_num.eq(opt_str(&r.tel_num)),
                sprecord::work_no.eq(opt_str(&r.work_no)),
                sprecord::start_time.eq(r.start_time),
                sprecord::end_time.eq(r.end_time),
                sprecord::duration_s.eq(r.duration_s as i32),
                sprecord::file_name.eq(&r.file_name),
                sprecord::direction.eq(r.direction.as_str()),
            ))
            .execute(&mut self.conn);
        if let Err(e) = res {
            tracing::error!(key = %r.key, "recording row not written: {e}");
        }
    }
}

/// Writes an agent log-in state change.
impl Handler<SaveAgentState> for Store {
    type Result = ();
    fn handle(&mut self, r: SaveAgentState, _: &mut SyncContext<Self>) {
        let groups: Vec<String> = r.groups.iter().map(ToString::to_string).collect();
        let res = diesel::insert_or_ignore_into(sp_agentregstate::table)
            .values((
                sp_agentregstate::rec_key.eq(&r.key),
                sp_agentregstate::tel_num.eq(r.tel_num.to_string()),
                sp_agentregstate::work_no.eq(opt_str(&r.work_no)),
                sp_agentregstate::group_no.eq(groups.join(",")),
                sp_agentregstate::state.eq(r.state),
                sp_agentregstate::show_state.eq(&r.show_state),
                sp_agentregstate::client_addr.eq(opt_str(&r.client_addr)),
                sp_agentregstate::change_time.eq(r.at),
            ))
            .execute(&mut self.conn);
        if let Err(e) = res {
            tracing::error!(key = %r.key, "agent state not written: {e}");
        }
    }
}

/// Finds a caller's screen-pop data.
impl Handler<LookupCustomer> for Store {
    type Result = Option<Customer>;
    fn handle(
        &mut self,
        LookupCustomer(phone): LookupCustomer,
        _: &mut SyncContext<Self>,
    ) -> Option<Customer> {
        let row = sp_customer::table
            .filter(sp_customer::phone.eq(&phone))
            .select((
                sp_customer::name,
                sp_customer::company,
                sp_customer::address,
                sp_customer::contact,
            ))
            .first::<(String, String, String, String)>(&mut self.conn)
            .optional();
        match row {
            Ok(r) => r.map(|(name, company, address, contact)| Customer {
                name,
                company,
                address,
                contact,
            }),
            Err(e) => {
                tracing::warn!(%phone, "customer lookup failed: {e}");
                None
            }
        }
    }
}
