//! Work in flight on threads that are not the actors' own: a store lookup,
//! a password check, a flow's or a desk phone's HTTP request.
//!
//! The quiescence barrier (`src/quiet.rs`, the sim's `POST /sim/idle`) sees
//! the actors' threads park; it cannot see a thread of the blocking pool or
//! the store workers, and an actor awaiting one of them is parked too. So
//! such work holds a [`Busy`] while it runs: the barrier waits for the
//! count to fall to zero. One process-wide count: several servers in one
//! process (benches) only make each other's barrier more careful.

use std::sync::atomic::{AtomicUsize, Ordering};

static BUSY: AtomicUsize = AtomicUsize::new(0);

/// Held while work runs off the actors' threads; dropped when its answer
/// is back on an actor's thread (or the work is given up).
#[must_use = "the work counts as running only while this is held"]
pub struct Busy(());

impl Drop for Busy {
    fn drop(&mut self) {
        BUSY.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Counts one piece of work as running until the guard is dropped.
pub fn busy() -> Busy {
    BUSY.fetch_add(1, Ordering::SeqCst);
    Busy(())
}

/// How many pieces of such work run now.
pub fn running() -> usize {
    BUSY.load(Ordering::SeqCst)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_guard_counts_while_held() {
        let before = running();
        let a = busy();
        let b = busy();
        assert!(running() >= before + 2);
        drop((a, b));
    }
}
