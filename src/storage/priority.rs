//! The database copy's place in the queue for a core.
//!
//! The spool's database writer copies records that are already safe on disk
//! (`spool.rs`), so nobody waits for it, yet it used to compete with the
//! actor threads for the same cores: on two cores, a screen pop that woke
//! while a commit ran waited for the commit's time slice, which set the hot
//! path's p99 (docs/performance.md, "The database copy yields the cores").
//! So the writer runs as a background thread (`SCHED_IDLE`): a thread with
//! calls to handle that wakes takes the core from it at once, and the
//! scheduler counts a core that runs only it as free when it places a
//! woken thread. A kernel that does not preempt system calls
//! (`PREEMPT_NONE`) still lets the writer finish the one it is in: that
//! part is kept small by writing few, large transactions (`LINGER` in
//! `spool.rs`).
//!
//! A background thread gets almost no CPU while the cores are saturated, so
//! the copy could fall behind without bound and hold SQLite's write lock
//! across long stretches. [`Priority::wanted`] is the guard: once a record has
//! waited for the database longer than [`BEHIND_AFTER`], or the server is
//! stopping, the writer asks for a normal share again, and goes back to the
//! background once it has caught up. Raising a thread from `SCHED_IDLE`
//! needs `CAP_SYS_NICE` or an `RLIMIT_NICE` of 20 (`LimitNICE=20` under
//! systemd); without either the writer says so once and stays in the
//! background.

use std::time::{Duration, Instant};

/// How long records may wait for the database before the writer stops
/// yielding: far below what an operator reading call records would notice,
/// far above one commit.
pub const BEHIND_AFTER: Duration = Duration::from_secs(1);
/// How young the oldest waiting record must be before a raised writer goes
/// back to the background: above the spool's `LINGER`, the age at which
/// records are written when the writer keeps up.
pub const CAUGHT_UP: Duration = Duration::from_millis(250);

/// A thread's claim on the cores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// Runs only on a core nothing else wants (`SCHED_IDLE`).
    Background,
    /// Shares the cores like every other thread (`SCHED_OTHER`, nice 0).
    Normal,
}

impl Priority {
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Background => "background",
            Priority::Normal => "normal",
        }
    }
}

/// Gives the calling thread `p` (Linux; elsewhere a thread keeps what it
/// has and this says so).
pub fn set_current(p: Priority) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        let policy = match p {
            Priority::Background => libc::SCHED_IDLE,
            Priority::Normal => libc::SCHED_OTHER,
        };
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: pid 0 is the calling thread (Linux schedules threads, not
        // processes); `param` is a valid sched_param that outlives the call.
        let r = unsafe { libc::sched_setscheduler(0, policy, &param) };
        if r == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = p;
        Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
    }
}

/// The calling thread's id as the kernel knows it (Linux; 0 elsewhere),
/// for [`of_thread`].
pub fn thread_id() -> i32 {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: no arguments; cannot fail.
        unsafe { libc::gettid() }
    }
    #[cfg(not(target_os = "linux"))]
    0
}

/// Thread `tid`'s priority as the kernel has it now, if one of ours
/// (asked of the kernel each time: glibc's `pthread_getschedparam` keeps
/// the first answer).
pub fn of_thread(tid: i32) -> Option<Priority> {
    #[cfg(target_os = "linux")]
    {
        if tid <= 0 {
            return None;
        }
        // SAFETY: takes a thread id by value; an id that has gone is an error.
        match unsafe { libc::sched_getscheduler(tid) } {
            libc::SCHED_IDLE => Some(Priority::Background),
            libc::SCHED_OTHER => Some(Priority::Normal),
            _ => None,
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = tid;
        None
    }
}

impl Priority {
    /// What the database writer, running at `self`, should run at now,
    /// given since when its oldest record has waited (`None`: none waits):
    /// sans-I/O, time passed in. The writer may have records waiting at
    /// every moment while it keeps up (a busy system ends calls faster
    /// than one commit), so what counts is the age of the oldest. Raised
    /// once that is [`BEHIND_AFTER`], or the server is `stopping` (what is
    /// left is copied before it exits); lowered again only once the oldest
    /// is younger than [`CAUGHT_UP`], so the writer does not flip with
    /// every batch.
    pub fn wanted(self, oldest: Option<Instant>, stopping: bool, now: Instant) -> Priority {
        let age = oldest.map_or(Duration::ZERO, |t| now.saturating_duration_since(t));
        if stopping || age >= BEHIND_AFTER {
            Priority::Normal
        } else if age < CAUGHT_UP {
            Priority::Background
        } else {
            self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The writer's priority through a sequence of readings: each
    /// reading's answer is what it runs at for the next.
    struct Writer(Priority);

    impl Writer {
        fn wanted(&mut self, oldest: Option<Instant>, now: Instant) -> Priority {
            self.0 = self.0.wanted(oldest, false, now);
            self.0
        }
    }

    #[test]
    fn the_writer_yields_until_a_record_has_waited_too_long() {
        let t0 = Instant::now();
        let mut s = Writer(Priority::Background);
        assert_eq!(s.wanted(None, t0), Priority::Background);
        // Records waiting all the time, each written soon: it keeps up.
        for i in 1..100u32 {
            let now = t0 + CAUGHT_UP * i;
            assert_eq!(
                s.wanted(Some(now - CAUGHT_UP / 2), now),
                Priority::Background
            );
        }
        // One record has waited a second: a normal share.
        let t1 = t0 + BEHIND_AFTER * 200;
        assert_eq!(
            s.wanted(Some(t1), t1 + BEHIND_AFTER / 2),
            Priority::Background
        );
        assert_eq!(s.wanted(Some(t1), t1 + BEHIND_AFTER), Priority::Normal);
        // Catching up: still raised while the oldest is older than CAUGHT_UP.
        let t2 = t1 + BEHIND_AFTER * 2;
        assert_eq!(s.wanted(Some(t2 - CAUGHT_UP * 2), t2), Priority::Normal);
        // Caught up: back to the background.
        assert_eq!(s.wanted(Some(t2 - CAUGHT_UP / 2), t2), Priority::Background);
        assert_eq!(s.wanted(Some(t2 - CAUGHT_UP * 2), t2), Priority::Background);
        assert_eq!(s.wanted(None, t2), Priority::Background);
    }

    #[test]
    fn a_stopping_server_copies_at_a_normal_share() {
        let t0 = Instant::now();
        assert_eq!(
            Priority::Background.wanted(None, true, t0),
            Priority::Normal
        );
    }

    /// The kernel takes both ways on this machine (CI runs as root, which
    /// may raise a thread from the background).
    #[cfg(target_os = "linux")]
    #[test]
    fn a_thread_goes_to_the_background_and_back() {
        std::thread::spawn(|| {
            let me = thread_id();
            assert_eq!(of_thread(me), Some(Priority::Normal));
            set_current(Priority::Background).unwrap();
            assert_eq!(of_thread(me), Some(Priority::Background));
            match set_current(Priority::Normal) {
                Ok(()) => assert_eq!(of_thread(me), Some(Priority::Normal)),
                Err(e) => {
                    assert_eq!(e.raw_os_error(), Some(libc::EPERM), "{e}");
                    assert!(
                        std::env::var("CI").is_err(),
                        "CI runs where a background thread may be raised: {e}"
                    );
                }
            }
        })
        .join()
        .unwrap();
    }
}
