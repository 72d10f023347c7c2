//! The simulated switch's recordings, written on a thread of their own.
//!
//! A switch records on its own hardware (the SIP driver: in each call's
//! media task), so its event handling never waits for a file to be created
//! or closed. The sim did both on its actor's thread, which every call's
//! events also cross: 1,000 calls answered at once spent most of their
//! answering time creating WAV files there (docs/performance.md). Here the
//! jobs run in order on one thread; a closed file is reported back to the
//! switch, which then says `RecordDone` (closing.rs waits for it).
//!
//! Each job holds an [`idle::Busy`] until its work is done (a started file
//! exists; a closed file's report is handled by the switch), so the
//! quiescence barrier never finds the system idle with a file half made.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use actix::prelude::*;
use spcti_actors::clock::Mono;
use spcti_actors::idle::{self, Busy};
use spcti_protocol::ChNum;

use super::wav::Recorder;

/// A recording closed by the recorder thread, for the switch to report.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Recorded {
    pub ch: ChNum,
    /// Empty, with no duration, when no recording ran.
    pub file: PathBuf,
    pub duration: Duration,
    /// Dropped once the switch has said `RecordDone`.
    pub busy: Busy,
}

enum Job {
    Start {
        ch: ChNum,
        name: PathBuf,
        now: Mono,
        _busy: Busy,
    },
    Finish {
        ch: ChNum,
        now: Mono,
        report: Recipient<Recorded>,
        busy: Busy,
    },
}

/// The switch's handle on its recorder thread.
pub struct Recordings {
    jobs: mpsc::Sender<Job>,
}

impl Recordings {
    /// Starts the thread that writes recordings under `dir`. It ends when
    /// this handle is dropped, after the jobs already given; a file still
    /// open then is closed as it is (its header written).
    pub fn start(dir: PathBuf) -> Recordings {
        let (jobs, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("sim-recorder".into())
            .spawn(move || run(&dir, rx))
            .expect("a thread for the simulated switch's recordings");
        Recordings { jobs }
    }

    /// Starts recording `ch` into `name` (relative to the directory).
    pub fn begin(&self, ch: ChNum, name: PathBuf, now: Mono) {
        self.give(Job::Start {
            ch,
            name,
            now,
            _busy: idle::busy(),
        });
    }

    /// Closes `ch`'s recording, if one runs, with its length up to `now`;
    /// `report` hears of it once the file is complete (at once, after the
    /// jobs before it, if none runs).
    pub fn finish(&self, ch: ChNum, now: Mono, report: Recipient<Recorded>) {
        self.give(Job::Finish {
            ch,
            now,
            report,
            busy: idle::busy(),
        });
    }

    fn give(&self, job: Job) {
        if self.jobs.send(job).is_err() {
            tracing::error!("the simulated switch's recorder thread has stopped");
        }
    }
}

fn run(dir: &Path, rx: mpsc::Receiver<Job>) {
    let mut open: HashMap<ChNum, Recorder> = HashMap::new();
    while let Ok(job) = rx.recv() {
        match job {
            Job::Start { ch, name, now, .. } => match Recorder::start(dir, &name, now) {
                Ok(r) => {
                    open.insert(ch, r);
                }
                Err(e) => {
                    tracing::error!(%ch, file = %name.display(), "cannot record: {e}");
                }
            },
            Job::Finish {
                ch,
                now,
                report,
                busy,
            } => {
                let (file, duration) = match open.remove(&ch).map(|r| r.finish(now)) {
                    Some(Ok(done)) => done,
                    Some(Err(e)) => {
                        tracing::error!(%ch, "recording could not be finished: {e}");
                        Default::default()
                    }
                    None => Default::default(),
                };
                report.do_send(Recorded {
                    ch,
                    file,
                    duration,
                    busy,
                });
            }
        }
    }
}
