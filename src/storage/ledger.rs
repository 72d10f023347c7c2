//! The spool's sync ledger: which records are on disk.
//!
//! Every record handed to the spool gets the next number (its ticket) in
//! the order the spool writer will take it; after each `fdatasync` the
//! writer marks the highest ticket of that batch synced. Since records are
//! written in ticket order, "synced ≥ t" means every record with a ticket up
//! to `t` is on disk.
//!
//! This is what holds back end-of-call events: whoever must not speak before
//! the records already handed over are durable reads [`Ledger::issued`] and
//! waits for [`Ledger::wait`] on it. Many calls' records share one sync
//! (group commit), so waiting costs at most one `fdatasync`, not one per
//! call.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::watch;

/// The highest ticket issued and the highest synced.
#[derive(Debug)]
pub struct Ledger {
    issued: AtomicU64,
    synced: watch::Sender<u64>,
}

impl Default for Ledger {
    fn default() -> Self {
        Ledger::new()
    }
}

impl Ledger {
    pub fn new() -> Self {
        Ledger {
            issued: AtomicU64::new(0),
            synced: watch::Sender::new(0),
        }
    }

    /// The next ticket. The caller must hand the record on in ticket order
    /// (the spool issues under the lock it sends under).
    pub(crate) fn issue(&self) -> u64 {
        self.issued.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// The ticket of the last record handed over: once it is synced, so is
    /// everything handed over before this call.
    pub fn issued(&self) -> u64 {
        self.issued.load(Ordering::SeqCst)
    }

    /// The highest ticket known to be on disk.
    pub fn synced(&self) -> u64 {
        *self.synced.borrow()
    }

    /// Whether everything up to `ticket` is on disk.
    pub fn is_synced(&self, ticket: u64) -> bool {
        self.synced() >= ticket
    }

    /// Records up to `ticket` are on disk (or will never be: see
    /// [`Ledger::close`]); wakes whoever waits for them.
    pub(crate) fn mark(&self, ticket: u64) {
        self.synced.send_if_modified(|s| {
            if ticket > *s {
                *s = ticket;
                true
            } else {
                false
            }
        });
    }

    /// The spool stopped: nothing more will be synced, so nobody may wait.
    pub(crate) fn close(&self) {
        self.mark(u64::MAX);
    }

    /// Resolves once everything up to `ticket` is on disk.
    pub fn wait(&self, ticket: u64) -> impl Future<Output = ()> + 'static {
        let mut rx = self.synced.subscribe();
        async move {
            // An error means the sender is gone: the spool stopped.
            let _ = rx.wait_for(|s| *s >= ticket).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_is_synced_once_a_later_one_is() {
        let l = Ledger::new();
        let a = l.issue();
        let b = l.issue();
        assert_eq!(l.issued(), b);
        assert!(!l.is_synced(a));
        l.mark(b);
        assert!(l.is_synced(a) && l.is_synced(b));
        // Marks never go back.
        l.mark(a);
        assert_eq!(l.synced(), b);
    }

    #[tokio::test]
    async fn waiters_wake_on_the_sync_that_covers_them() {
        let l = std::sync::Arc::new(Ledger::new());
        let t = l.issue();
        let waiting = tokio::spawn(l.wait(t));
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        l.mark(t);
        waiting.await.unwrap();
        // Already synced: resolves at once.
        l.wait(t).await;
    }

    #[tokio::test]
    async fn a_closed_ledger_keeps_nobody_waiting() {
        let l = Ledger::new();
        let t = l.issue();
        l.close();
        l.wait(t + 5).await;
    }
}
