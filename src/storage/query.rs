//! Reading the stored records back: call and recording searches for the
//! admin API and reports, and whole-table reads for checks.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::storage::db::{ReadPool, with_conn};
use crate::storage::rows::{AgentStateRow, CallRow, FaxRow, RecordingDbRow};
use crate::storage::schema::{sp_agentregstate, sp_tellrec, spfaxrecord, sprecord};

/// Rows per page of a search.
pub const PAGE_SIZE: i64 = 100;

/// A stored call record with its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Queryable, Selectable)]
#[diesel(table_name = sp_tellrec)]
pub struct StoredCall {
    pub id: i32,
    #[diesel(embed)]
    #[serde(flatten)]
    pub row: CallRow,
}

/// A stored recording row with its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Queryable, Selectable)]
#[diesel(table_name = sprecord)]
pub struct StoredRecording {
    pub id: i32,
    #[diesel(embed)]
    #[serde(flatten)]
    pub row: RecordingDbRow,
}

/// A search over call records; every field narrows it. Times are UTC and
/// bound `start_time`: `from` inclusive, `to` exclusive.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CallFilter {
    pub caller: Option<String>,
    pub callee: Option<String>,
    /// Job number.
    pub agent: Option<String>,
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
    /// From 1.
    pub page: Option<u32>,
}

/// A search over recordings.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RecordingFilter {
    pub caller: Option<String>,
    pub callee: Option<String>,
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
    pub page: Option<u32>,
}

fn offset(page: Option<u32>) -> i64 {
    i64::from(page.unwrap_or(1).max(1) - 1) * PAGE_SIZE
}

impl ReadPool {
    /// Call records matching `f`, newest first, one page.
    pub fn calls(&self, f: &CallFilter) -> Result<Vec<StoredCall>, String> {
        Ok(with_conn!(self, |c| {
            let mut q = sp_tellrec::table.into_boxed();
            if let Some(v) = &f.caller {
                q = q.filter(sp_tellrec::caller_no.eq(v));
            }
            if let Some(v) = &f.callee {
                q = q.filter(sp_tellrec::callee_no.eq(v));
            }
            if let Some(v) = &f.agent {
                q = q.filter(sp_tellrec::work_no.eq(v));
            }
            if let Some(v) = f.from {
                q = q.filter(sp_tellrec::start_time.ge(v));
            }
            if let Some(v) = f.to {
                q = q.filter(sp_tellrec::start_time.lt(v));
            }
            q.order((sp_tellrec::start_time.desc(), sp_tellrec::id.desc()))
                .limit(PAGE_SIZE)
                .offset(offset(f.page))
                .select(StoredCall::as_select())
                .load(c)
                .map_err(|e| e.to_string())?
        }))
    }

    /// Recordings matching `f`, newest first, one page.
    pub fn recordings(&self, f: &RecordingFilter) -> Result<Vec<StoredRecording>, String> {
        Ok(with_conn!(self, |c| {
            let mut q = sprecord::table.into_boxed();
            if let Some(v) = &f.caller {
                q = q.filter(sprecord::caller_no.eq(v));
            }
            if let Some(v) = &f.callee {
                q = q.filter(sprecord::callee_no.eq(v));
            }
            if let Some(v) = f.from {
                q = q.filter(sprecord::start_time.ge(v));
            }
            if let Some(v) = f.to {
                q = q.filter(sprecord::start_time.lt(v));
            }
            q.order((sprecord::start_time.desc(), sprecord::id.desc()))
                .limit(PAGE_SIZE)
                .offset(offset(f.page))
                .select(StoredRecording::as_select())
                .load(c)
                .map_err(|e| e.to_string())?
        }))
    }

    /// One recording by id.
    pub fn recording(&self, id: i32) -> Result<Option<StoredRecording>, String> {
        Ok(with_conn!(self, |c| sprecord::table
            .filter(sprecord::id.eq(id))
            .select(StoredRecording::as_select())
            .first(c)
            .optional()
            .map_err(|e| e.to_string())?))
    }

    /// Every call record, oldest first (checks and exports).
    pub fn all_calls(&self) -> Result<Vec<CallRow>, String> {
        Ok(with_conn!(self, |c| sp_tellrec::table
            .order(sp_tellrec::id)
            .select(CallRow::as_select())
            .load(c)
            .map_err(|e| e.to_string())?))
    }

    /// Every recording row, oldest first.
    pub fn all_recordings(&self) -> Result<Vec<RecordingDbRow>, String> {
        Ok(with_conn!(self, |c| sprecord::table
            .order(sprecord::id)
            .select(RecordingDbRow::as_select())
            .load(c)
            .map_err(|e| e.to_string())?))
    }

    /// The agent log-in history, oldest first.
    pub fn agent_states(&self) -> Result<Vec<AgentStateRow>, String> {
        Ok(with_conn!(self, |c| sp_agentregstate::table
            .order(sp_agentregstate::id)
            .select(AgentStateRow::as_select())
            .load(c)
            .map_err(|e| e.to_string())?))
    }

    /// The fax log, oldest first.
    pub fn faxes(&self) -> Result<Vec<FaxRow>, String> {
        Ok(with_conn!(self, |c| spfaxrecord::table
            .order(spfaxrecord::id)
            .select(FaxRow::as_select())
            .load(c)
            .map_err(|e| e.to_string())?))
    }
}
