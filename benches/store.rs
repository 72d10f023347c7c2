//! Records per second the store sustains, per backend: call records handed
//! to the spool (appended and fsync'd on disk), then written to the database
//! in batches, until the last is acknowledged. SQLite always; PostgreSQL
//! with `SPCTI_TEST_PG_URL`; MySQL/MariaDB with `SPCTI_TEST_MYSQL_URL` and
//! `--features mysql`. Also the spool alone (database down): what the disk
//! takes while records wait.

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

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("store");
    g.throughput(Throughput::Elements(RECORDS));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(20));
    for backend in [Backend::Sqlite, Backend::Postgres, Backend::Mysql] {
        let Some(db) = backends::fresh(backend) else {
            continue;
        };
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
            let down = db.refused_url().parse().unwrap();
            let dir = tempfile::tempdir().unwrap();
            let spool = Spool::start(dir.path(), down).unwrap();
            let h = spool.handle();
            let st = h.status().clone();
            g.bench_function("spool_only/records_to_disk", |b| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        run += 1;
                        let before = st.depth();
                        let t = Instant::now();
                        for i in 0..RECORDS {
                            h.submit(record(run, i));
                        }
                        wait("records on disk", || st.depth() >= before + RECORDS);
                        total += t.elapsed();
                    }
                    total
                })
            });
            spool.shutdown(Duration::ZERO);
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
