//! The quiescence barrier: "everything the last action set off is done".
//!
//! A test that checks something did *not* happen (no pop for a busy agent,
//! no second reply) must know the server has finished reacting, not merely
//! wait a while. The server is quiet when, at one instant:
//!
//! - every thread actors run on (the system arbiter and the channel
//!   arbiters) is parked in its runtime: no message, timer or socket event
//!   left to handle;
//! - no work runs off those threads ([`spcti_actors::idle`]: store lookups,
//!   password checks, HTTP requests of flows and desk phones);
//! - every probe holds (every record handed to the spool is on disk, so no
//!   end-of-call event is still held for it).
//!
//! How "at one instant" is known: tokio counts, per runtime, every park and
//! every unpark (odd while parked). Each thread is first made to run a
//! no-op task, so whatever was already due on it (a datagram in its socket,
//! a message in a mailbox) is handled in that same turn. Then the counts are
//! read three times a little apart; if every count is odd and none moved,
//! every thread stayed parked from its first reading to its last, so all
//! were parked together between the first and the last pass. A message one
//! thread sends another wakes the receiver, which moves its count.
//!
//! What this cannot see: a thread the kernel has woken but not yet run for
//! longer than the readings span (a few ms), and real-time timers (they are
//! waits, not work; with `[server] clock = "manual"` protocol timers do not
//! run on their own).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::runtime::Handle;

/// How far apart the readings of the park counts are.
const GAP: Duration = Duration::from_millis(2);

type Probe = Box<dyn Fn() -> bool + Send + Sync>;

/// The threads and conditions the barrier watches. One per server.
#[derive(Default)]
pub struct Quiet {
    runtimes: Mutex<Vec<(String, Handle)>>,
    probes: Mutex<Vec<(String, Probe)>>,
}

/// Why the server was not quiet in time: what was still busy.
#[derive(Debug, thiserror::Error)]
#[error("not quiet within {} ms: {busy}", within.as_millis())]
pub struct NotQuiet {
    pub within: Duration,
    pub busy: String,
}

impl Quiet {
    pub fn new() -> Self {
        Quiet::default()
    }

    /// Watches the runtime of the calling thread.
    pub fn watch_current(&self, name: impl Into<String>) {
        self.watch(name, Handle::current());
    }

    /// Watches a runtime.
    pub fn watch(&self, name: impl Into<String>, rt: Handle) {
        self.runtimes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((name.into(), rt));
    }

    /// Watches the runtime of an arbiter; returns once it is watched.
    pub async fn watch_arbiter(
        self: &std::sync::Arc<Self>,
        name: String,
        a: &actix::ArbiterHandle,
    ) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let me = self.clone();
        a.spawn(async move {
            me.watch(name, Handle::current());
            let _ = tx.send(());
        });
        let _ = rx.await;
    }

    /// A condition that must hold for the server to be quiet.
    pub fn probe(&self, name: impl Into<String>, f: impl Fn() -> bool + Send + Sync + 'static) {
        self.probes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((name.into(), Box::new(f)));
    }

    /// Waits until the server is quiet, at most `within`; says how long it
    /// took, or what was still busy.
    pub async fn settle(&self, within: Duration) -> Result<Duration, NotQuiet> {
        let start = Instant::now();
        let runtimes: Vec<(String, Handle)> = self
            .runtimes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        loop {
            match self.round(&runtimes).await {
                Ok(()) => return Ok(start.elapsed()),
                Err(busy) if start.elapsed() >= within => {
                    return Err(NotQuiet { within, busy });
                }
                Err(_) => tokio::time::sleep(GAP).await,
            }
        }
    }

    /// One attempt: what was busy, if anything.
    async fn round(&self, runtimes: &[(String, Handle)]) -> Result<(), String> {
        // Each thread handles what is already due on it, in this turn.
        for (_, rt) in runtimes {
            let _ = rt.spawn(async {}).await;
        }
        let first = self.reading(runtimes)?;
        for _ in 0..2 {
            tokio::time::sleep(GAP).await;
            let again = self.reading(runtimes)?;
            if again != first {
                let moved = runtimes
                    .iter()
                    .zip(first.iter().zip(&again))
                    .filter(|(_, (a, b))| a != b)
                    .map(|((n, _), _)| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", ");
                return Err(format!("{moved} ran"));
            }
        }
        Ok(())
    }

    /// Every runtime's park count, if each is parked, no off-thread work
    /// runs and every probe holds; else what is busy.
    fn reading(&self, runtimes: &[(String, Handle)]) -> Result<Vec<u64>, String> {
        let running = spcti_actors::idle::running();
        if running > 0 {
            return Err(format!(
                "{running} lookups or requests off the actors' threads"
            ));
        }
        let probes = self.probes.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((name, _)) = probes.iter().find(|(_, f)| !f()) {
            return Err(name.clone());
        }
        runtimes
            .iter()
            .map(|(name, rt)| {
                let n = rt.metrics().worker_park_unpark_count(0);
                if n % 2 == 1 {
                    Ok(n)
                } else {
                    Err(format!("{name} is running"))
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    #[actix_web::test]
    async fn quiet_once_every_thread_has_done_its_work() {
        let quiet = Arc::new(Quiet::new());
        let worker = actix::Arbiter::new();
        quiet.watch_arbiter("worker".into(), &worker.handle()).await;
        // Work that keeps the worker's thread busy for a while.
        let done = Arc::new(AtomicBool::new(false));
        let d = done.clone();
        worker.spawn(async move {
            std::thread::sleep(Duration::from_millis(50));
            d.store(true, Ordering::SeqCst);
        });
        quiet.settle(Duration::from_secs(5)).await.unwrap();
        assert!(
            done.load(Ordering::SeqCst),
            "quiet before the work was done"
        );
        worker.stop();
    }

    #[actix_web::test]
    async fn a_failing_probe_or_off_thread_work_is_not_quiet() {
        let quiet = Quiet::new();
        let open = Arc::new(AtomicBool::new(false));
        let o = open.clone();
        quiet.probe("the spool", move || o.load(Ordering::SeqCst));
        let err = quiet.settle(Duration::from_millis(20)).await.unwrap_err();
        assert_eq!(err.busy, "the spool");
        open.store(true, Ordering::SeqCst);
        let busy = spcti_actors::idle::busy();
        let err = quiet.settle(Duration::from_millis(20)).await.unwrap_err();
        assert!(err.busy.contains("off the actors' threads"), "{err}");
        drop(busy);
        quiet.settle(Duration::from_secs(5)).await.unwrap();
    }
}
