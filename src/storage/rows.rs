//! The rows spcti writes, as they travel through the spool (JSON lines) and
//! into the tables. Each carries its stable key (`rec_key`), so writing a
//! row twice — a replay after a crash — leaves one row.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use spcti_actors::deps::{AgentStateChange, StoreRecord};
use spcti_actors::records::{CallRecord, RecordingRow, SurveyAnswer};

use crate::storage::schema::{sp_agentregstate, sp_survey, sp_tellrec, spfaxrecord, sprecord};

/// One `sp_tellrec` row.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Insertable, Queryable, Selectable,
)]
#[diesel(table_name = sp_tellrec)]
pub struct CallRow {
    pub rec_key: String,
    pub tellguid: String,
    pub ch_num: i32,
    pub caller_no: String,
    pub callee_no: String,
    pub tel_num: String,
    pub work_no: String,
    pub group_no: Option<i32>,
    pub direction: String,
    pub start_time: NaiveDateTime,
    pub queue_time: Option<NaiveDateTime>,
    pub answer_time: Option<NaiveDateTime>,
    pub end_time: NaiveDateTime,
    pub telllongtime: i32,
    pub tellmsg: i32,
    pub hangup_by: String,
    pub cause: i32,
    pub record_file: Option<String>,
}

/// One `sprecord` row.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Insertable, Queryable, Selectable,
)]
#[diesel(table_name = sprecord)]
pub struct RecordingDbRow {
    pub rec_key: String,
    pub tellguid: String,
    pub caller_no: String,
    pub callee_no: String,
    pub tel_num: String,
    pub work_no: String,
    pub start_time: NaiveDateTime,
    pub end_time: NaiveDateTime,
    pub duration_s: i32,
    pub file_name: String,
    pub direction: String,
}

/// One `sp_agentregstate` row.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Insertable, Queryable, Selectable,
)]
#[diesel(table_name = sp_agentregstate)]
pub struct AgentStateRow {
    pub rec_key: String,
    pub tel_num: String,
    pub work_no: String,
    pub group_no: String,
    pub state: String,
    pub show_state: String,
    pub client_addr: String,
    pub change_time: NaiveDateTime,
}

/// One `spfaxrecord` row.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Insertable, Queryable, Selectable,
)]
#[diesel(table_name = spfaxrecord)]
pub struct FaxRow {
    pub rec_key: String,
    pub caller_no: String,
    pub callee_no: String,
    pub file_name: String,
    pub start_time: NaiveDateTime,
    pub direction: String,
    pub result: String,
    pub tellguid: String,
}

/// One `sp_survey` row.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Insertable, Queryable, Selectable,
)]
#[diesel(table_name = sp_survey)]
pub struct SurveyRow {
    pub rec_key: String,
    pub tellguid: String,
    pub caller_no: String,
    pub tel_num: String,
    pub work_no: String,
    pub answer: String,
    pub flow: String,
    pub answer_time: NaiveDateTime,
}

/// Anything written through the spool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "t", content = "r")]
pub enum Record {
    Call(CallRow),
    Recording(RecordingDbRow),
    AgentState(AgentStateRow),
    Fax(FaxRow),
    Survey(SurveyRow),
}

/// Cuts `s` to at most `n` characters (the column is `varchar(n)`, which
/// counts characters on every backend); returns whether it was cut.
fn clip(s: &mut String, n: usize) -> bool {
    match s.char_indices().nth(n) {
        Some((at, _)) => {
            s.truncate(at);
            true
        }
        None => false,
    }
}

impl Record {
    /// Rewrites every timestamp with `f` (UTC to the tables' zone).
    pub fn map_times(&mut self, f: impl Fn(NaiveDateTime) -> NaiveDateTime) {
        match self {
            Record::Call(r) => {
                r.start_time = f(r.start_time);
                r.queue_time = r.queue_time.map(&f);
                r.answer_time = r.answer_time.map(&f);
                r.end_time = f(r.end_time);
            }
            Record::Recording(r) => {
                r.start_time = f(r.start_time);
                r.end_time = f(r.end_time);
            }
            Record::AgentState(r) => r.change_time = f(r.change_time),
            Record::Fax(r) => r.start_time = f(r.start_time),
            Record::Survey(r) => r.answer_time = f(r.answer_time),
        }
    }

    /// Cuts every text to its column's width, so a long value from outside
    /// (a SIP caller id, a ShowState) costs its tail, not the whole row.
    /// Returns whether anything was cut.
    pub fn fit(&mut self) -> bool {
        let mut cut = false;
        let mut c = |s: &mut String, n| cut |= clip(s, n);
        match self {
            Record::Call(r) => {
                c(&mut r.rec_key, 64);
                c(&mut r.tellguid, 50);
                c(&mut r.caller_no, 30);
                c(&mut r.callee_no, 30);
                c(&mut r.tel_num, 30);
                c(&mut r.work_no, 30);
                c(&mut r.direction, 10);
                c(&mut r.hangup_by, 10);
                if let Some(f) = &mut r.record_file {
                    c(f, 200);
                }
            }
            Record::Recording(r) => {
                c(&mut r.rec_key, 64);
                c(&mut r.tellguid, 50);
                c(&mut r.caller_no, 30);
                c(&mut r.callee_no, 30);
                c(&mut r.tel_num, 30);
                c(&mut r.work_no, 30);
                c(&mut r.file_name, 200);
                c(&mut r.direction, 10);
            }
            Record::AgentState(r) => {
                c(&mut r.rec_key, 64);
                c(&mut r.tel_num, 30);
                c(&mut r.work_no, 30);
                c(&mut r.group_no, 100);
                c(&mut r.state, 20);
                c(&mut r.show_state, 100);
                c(&mut r.client_addr, 60);
            }
            Record::Fax(r) => {
                c(&mut r.rec_key, 64);
                c(&mut r.caller_no, 30);
                c(&mut r.callee_no, 30);
                c(&mut r.file_name, 100);
                c(&mut r.direction, 10);
                c(&mut r.result, 20);
                c(&mut r.tellguid, 50);
            }
            Record::Survey(r) => {
                c(&mut r.rec_key, 64);
                c(&mut r.tellguid, 50);
                c(&mut r.caller_no, 30);
                c(&mut r.tel_num, 30);
                c(&mut r.work_no, 30);
                c(&mut r.answer, 30);
                c(&mut r.flow, 80);
            }
        }
        cut
    }

    /// The stable key.
    pub fn key(&self) -> &str {
        match self {
            Record::Call(r) => &r.rec_key,
            Record::Recording(r) => &r.rec_key,
            Record::AgentState(r) => &r.rec_key,
            Record::Fax(r) => &r.rec_key,
            Record::Survey(r) => &r.rec_key,
        }
    }
}

/// Times are kept to the millisecond, the finest every backend stores
/// (MySQL `DATETIME(3)`), so a row reads back as it was written everywhere.
pub fn ms(t: NaiveDateTime) -> NaiveDateTime {
    use chrono::SubsecRound;
    t.trunc_subsecs(3)
}

fn text<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map(ToString::to_string).unwrap_or_default()
}

impl From<&CallRecord> for Record {
    fn from(r: &CallRecord) -> Self {
        Record::Call(CallRow {
            rec_key: r.key.clone(),
            tellguid: r.tellguid.to_string(),
            ch_num: r.ch.0 as i32,
            caller_no: r.caller_no.clone(),
            callee_no: r.callee_no.clone(),
            tel_num: text(&r.tel_num),
            work_no: text(&r.work_no),
            group_no: r.group_no.map(|g| g.0 as i32),
            direction: r.direction.as_str().into(),
            start_time: ms(r.start_time),
            queue_time: r.queue_time.map(ms),
            answer_time: r.answer_time.map(ms),
            end_time: ms(r.end_time),
            telllongtime: r.talk_s as i32,
            tellmsg: r.tellmsg.code(),
            hangup_by: r.hangup_by.as_str().into(),
            cause: i32::from(r.cause),
            record_file: r.record_file.clone(),
        })
    }
}

impl From<&RecordingRow> for Record {
    fn from(r: &RecordingRow) -> Self {
        Record::Recording(RecordingDbRow {
            rec_key: r.key.clone(),
            tellguid: r.tellguid.to_string(),
            caller_no: r.caller_no.clone(),
            callee_no: r.callee_no.clone(),
            tel_num: text(&r.tel_num),
            work_no: text(&r.work_no),
            start_time: ms(r.start_time),
            end_time: ms(r.end_time),
            duration_s: r.duration_s as i32,
            file_name: r.file_name.clone(),
            direction: r.direction.as_str().into(),
        })
    }
}

impl From<StoreRecord> for Record {
    fn from(r: StoreRecord) -> Self {
        match r {
            StoreRecord::Call(r) => Record::from(&*r),
            StoreRecord::Recording(r) => Record::from(&*r),
            StoreRecord::AgentState(r) => Record::from(&*r),
            StoreRecord::Survey(r) => Record::from(&*r),
        }
    }
}

impl From<&SurveyAnswer> for Record {
    fn from(r: &SurveyAnswer) -> Self {
        Record::Survey(SurveyRow {
            rec_key: r.key.clone(),
            tellguid: r.guid.to_string(),
            caller_no: r.caller.clone(),
            tel_num: r.tel_num.clone(),
            work_no: r.work_no.clone(),
            answer: r.answer.clone(),
            flow: r.flow.clone(),
            answer_time: ms(r.at),
        })
    }
}

impl From<&AgentStateChange> for Record {
    fn from(r: &AgentStateChange) -> Self {
        let groups: Vec<String> = r.groups.iter().map(ToString::to_string).collect();
        Record::AgentState(AgentStateRow {
            rec_key: r.key.clone(),
            tel_num: r.tel_num.to_string(),
            work_no: text(&r.work_no),
            group_no: groups.join(","),
            state: r.state.into(),
            show_state: r.show_state.clone(),
            client_addr: text(&r.client_addr),
            change_time: ms(r.at),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_counts_characters_not_bytes() {
        let mut s = "张三李四".to_owned();
        assert!(clip(&mut s, 2));
        assert_eq!(s, "张三");
        assert!(!clip(&mut s, 2));
        let mut e = String::new();
        assert!(!clip(&mut e, 0));
    }
}
