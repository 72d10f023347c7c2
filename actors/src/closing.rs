//! End-of-call notifications held until the switch reports the call's
//! recording closed (sans-I/O).
//!
//! A client told that a call ended (6007, 6008) may fetch its recording at
//! once; the switch closes the file after it was asked to stop
//! (`SwitchCommand::StopRecord`), on its own time (a media task, another
//! thread). So the agents' notifications of an ending that stopped a
//! recording wait for `SwitchEvent::RecordDone` of that recording's
//! channel, or, if the switch never says (a recording that could not
//! start), for a guard timer. Records go to the spool at once as before:
//! only the telling waits.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use spcti_protocol::ChNum;

/// How long notifications wait for a recording to be reported closed.
pub const RECORDING_CLOSE_GUARD: Duration = Duration::from_secs(5);

/// Holds of notifications waiting now, in every host of the process: a
/// graceful stop (`serve::drain`) waits for this to reach zero, or the
/// last calls' 6007/6008 would be lost when the switch closes their
/// recordings a moment after the calls are down.
static HOLDING: AtomicUsize = AtomicUsize::new(0);

/// How many holds wait for their recordings now (all hosts).
pub fn holding() -> usize {
    HOLDING.load(Ordering::SeqCst)
}

/// Notifications `E` held per recording channel, in the order given.
#[derive(Debug)]
pub struct Closing<E> {
    /// (recording channel, hold id, notifications).
    held: Vec<(ChNum, u64, Vec<E>)>,
    holds: u64,
    /// Where the holds are counted: [`HOLDING`] but in this file's tests.
    count: &'static AtomicUsize,
}

impl<E> Default for Closing<E> {
    fn default() -> Self {
        Closing {
            held: Vec::new(),
            holds: 0,
            count: &HOLDING,
        }
    }
}

impl<E> Closing<E> {
    /// Holds `fx` until the recording on `rec` is closed. Answers the
    /// hold's id, for [`Closing::expire`].
    pub fn hold(&mut self, rec: ChNum, fx: Vec<E>) -> u64 {
        self.holds += 1;
        if !fx.is_empty() {
            self.count.fetch_add(1, Ordering::SeqCst);
            self.held.push((rec, self.holds, fx));
        }
        self.holds
    }

    /// The recording on `rec` is closed: what waited for it, in order.
    pub fn closed(&mut self, rec: ChNum) -> Vec<E> {
        self.release(|r, _| r == rec)
    }

    /// Hold `id`'s guard ran out: what it still holds (nothing if the
    /// recording was reported closed meanwhile).
    pub fn expire(&mut self, id: u64) -> Vec<E> {
        self.release(|_, i| i == id)
    }

    fn release(&mut self, pick: impl Fn(ChNum, u64) -> bool) -> Vec<E> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < self.held.len() {
            if pick(self.held[i].0, self.held[i].1) {
                self.count.fetch_sub(1, Ordering::SeqCst);
                out.extend(self.held.remove(i).2);
            } else {
                i += 1;
            }
        }
        out
    }

    /// Everything held (the host restarts: no event will release it).
    pub fn drain(&mut self) -> Vec<E> {
        self.release(|_, _| true)
    }

    /// Whether anything waits.
    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }
}

/// A host that stops with holds (its actor gone for good) holds nothing.
impl<E> Drop for Closing<E> {
    fn drop(&mut self) {
        self.count.fetch_sub(self.held.len(), Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notifications_wait_for_their_own_recording_and_keep_their_order() {
        let mut c = Closing::default();
        let first = c.hold(ChNum(1), vec!["6007 a", "6001 a"]);
        c.hold(ChNum(2), vec!["6007 b"]);
        c.hold(ChNum(1), vec!["6008 a"]);
        c.hold(ChNum(3), Vec::<&str>::new());
        assert!(c.expire(first + 99).is_empty());
        assert!(c.closed(ChNum(3)).is_empty(), "nothing was held for 3");
        assert_eq!(c.closed(ChNum(1)), ["6007 a", "6001 a", "6008 a"]);
        assert!(c.closed(ChNum(1)).is_empty(), "released once");
        assert!(!c.is_empty());
        assert_eq!(c.closed(ChNum(2)), ["6007 b"]);
        assert!(c.is_empty());
        assert!(c.expire(first).is_empty(), "a late guard finds nothing");
    }

    #[test]
    fn a_guard_releases_only_its_own_hold() {
        let mut c = Closing::default();
        let old = c.hold(ChNum(1), vec!["first call"]);
        let new = c.hold(ChNum(1), vec!["second call"]);
        assert_eq!(c.expire(old), ["first call"]);
        assert_eq!(c.expire(new), ["second call"]);
    }

    #[test]
    fn holds_are_counted_until_released_or_dropped() {
        // Its own count: the process-wide one moves with other tests.
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let holding = || COUNT.load(Ordering::SeqCst);
        let counted = || Closing {
            held: Vec::new(),
            holds: 0,
            count: &COUNT,
        };
        let mut c = counted();
        c.hold(ChNum(1), vec!["6007"]);
        let b = c.hold(ChNum(2), vec!["6008"]);
        c.hold(ChNum(3), Vec::<&str>::new());
        assert_eq!(holding(), 2, "an empty hold is not counted");
        c.expire(b);
        assert_eq!(holding(), 1);
        let mut d = counted();
        d.hold(ChNum(4), vec!["6007"]);
        assert_eq!(holding(), 2);
        drop(d);
        assert_eq!(holding(), 1, "a dropped host holds nothing");
        c.closed(ChNum(1));
        assert_eq!(holding(), 0);
    }
}
