//! Records per second the store sustains, per backend: call records handed
//! to the spool (appended and fsync'd on disk), then written to the database
//! in batches, until the last is acknowledged. SQLite always; PostgreSQL
//! with `SPCTI_TEST_PG_URL`; MySQL/MariaDB with `SPCTI_TEST_MYSQL_URL` and
//! `--features mysql` (a backend not configured prints one line saying it is
//! skipped; under `CI` it fails). Also the spool alone (database down): what
//! the disk takes while records wait. Each iteration starts from an empty
//! table and, for the spool alone, an empty spool; that setup is not timed.

#[path = "../tests/support/backends.rs"]
mod backends;

use std::time::{Duration, Instant};

use chrono::NaiveDate;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use spcti::config::Backend;
use spcti::storage::rows::{CallRow, Record};
use spcti::storage::spool::Spool;

const RECORDS: u64 = 5_000;

fn record(run: u64, i: u64) -> Record {
    let start = NaiveDate::from_ymd_opt(2026, 11, 24)
        .unwrap()
        .and_hms_opt(9, 0, 0)
        .unwrap()
        + chrono::Duration::seconds(i as i64);
    Record::Call(CallRow {
        rec_key: format!("call:{run}:{i}"),
        tellguid: "769194C3-423C-40E7-8E23-7BA83900DBFB".into(),
        ch_num: (i % 30) as i32,
        caller_no: format!("1380013{:04}", i % 10_000),
        callee_no: "4008001234".into(),
        tel_num: "8001".into(),
        work_no: "1001".into(),
        group_no: Some(1),
        direction: "in".into(),
        start_time: start,
        queue_time: Some(start + chrono::Duration::seconds(8)),
        answer_time: Some(start + chrono::Duration::seconds(20)),
        end_time: start + chrono::Duration::seconds(200),
        telllongtime: 180,
        tellmsg: 9,
        hangup_by: "agent".into(),
        cause: 16,
        record_file: Some(format!("2026/11/24/{i}.wav")),
    })
}

fn wait(what: &str, f: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(300);
    while !f() {
        assert!(Instant::now() < deadline, "timed out: {what}");
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// Empties `sp_tellrec` (the bench writes nothing else).
fn empty_table(db: &backends::TestDb) {
    use diesel::connection::SimpleConnection;
    let sql = "DELETE FROM sp_tellrec";
    match spcti::storage::db::Conn::connect(&db.url()).expect("the bench database") {
        spcti::storage::db::Conn::Sqlite(mut c) => c.batch_execute(sql),
        spcti::storage::db::Conn::Postgres(mut c) => c.batch_execute(sql),
        #[cfg(feature = "mysql")]
        spcti::storage::db::Conn::Mysql(mut c) => c.batch_execute(sql),
    }
    .expect("emptying sp_tellrec");
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("store");
    g.throughput(Throughput::Elements(RECORDS));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(20));
    for backend in [Backend::Sqlite, Backend::Postgres, Backend::Mysql] {
        let Some(db) = backends::fresh(backend) else {
            continue;
        };
        spcti::storage::db::migrate(&db.url()).expect("migrations");
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::start(dir.path(), db.url()).unwrap();
        let h = spool.handle();
        let st = h.status().clone();
        let mut run = 0;
        g.bench_function(format!("{}/records_to_database", backend.as_str()), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    run += 1;
                    // Every iteration inserts into an empty table (outside
                    // the timed region), so samples do not slow as it grows.
                    empty_table(&db);
                    let before = st.written();
                    let t = Instant::now();
                    for i in 0..RECORDS {
                        h.submit(record(run, i));
                    }
                    wait("records written", || st.written() >= before + RECORDS);
                    total += t.elapsed();
                }
                total
            })
        });
        spool.shutdown(Duration::from_secs(30));
        if backend == Backend::Sqlite {
            // The spool alone: the database refuses connections.
            // A fresh spool per iteration (outside the timed region): the
            // records of earlier ones would otherwise pile up on disk and in
            // memory, waiting for a database that never comes.
            let down: spcti::config::DatabaseUrl = db.refused_url().parse().unwrap();
            g.bench_function("spool_only/records_to_disk", |b| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        run += 1;
                        let dir = tempfile::tempdir().unwrap();
                        let spool = Spool::start(dir.path(), down.clone()).unwrap();
                        let h = spool.handle();
                        let st = h.status().clone();
                        let t = Instant::now();
                        for i in 0..RECORDS {
                            h.submit(record(run, i));
                        }
                        wait("records on disk", || st.depth() >= RECORDS);
                        total += t.elapsed();
                        spool.shutdown(Duration::ZERO);
                    }
                    total
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
