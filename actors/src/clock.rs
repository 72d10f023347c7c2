//! Time for the whole server, real or injected.
//!
//! Every protocol timer (ring timeout, prompt length, heartbeat, wrap-up)
//! sleeps on a [`Clock`]. In production it is tokio's clock (which tests
//! in-process can pause). With `[server] clock = "manual"` nothing moves until
//! [`Clock::advance`] is called, so end-to-end tests of a 45-second ring
//! timeout take no time and never race the wall clock.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{NaiveDateTime, Utc};
use tokio::sync::oneshot;

/// A point on the server's monotonic clock: time since the clock started.
pub type Mono = Duration;

#[derive(Default)]
struct Manual {
    now: Duration,
    seq: u64,
    timers: BTreeMap<(Duration, u64), oneshot::Sender<()>>,
}

struct Inner {
    origin_wall: NaiveDateTime,
    origin: tokio::time::Instant,
    manual: Option<Mutex<Manual>>,
}

/// The server clock. Cheap to clone; all clones share one time.
#[derive(Clone)]
pub struct Clock(Arc<Inner>);

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Clock")
            .field("manual", &self.is_manual())
            .field("now", &self.now())
            .finish()
    }
}

impl Clock {
    fn with(manual: bool) -> Self {
        Clock(Arc::new(Inner {
            origin_wall: Utc::now().naive_utc(),
            origin: tokio::time::Instant::now(),
            manual: manual.then(|| Mutex::new(Manual::default())),
        }))
    }

    /// tokio's clock: real time, or paused time under `#[tokio::test(start_paused)]`.
    pub fn real() -> Self {
        Clock::with(false)
    }

    /// A clock that moves only when [`advance`](Self::advance) is called.
    pub fn manual() -> Self {
        Clock::with(true)
    }

    /// Whether this clock is driven by hand.
    pub fn is_manual(&self) -> bool {
        self.0.manual.is_some()
    }

    fn manual_state(&self) -> Option<std::sync::MutexGuard<'_, Manual>> {
        // A panic while holding this lock cannot leave the map inconsistent.
        self.0
            .manual
            .as_ref()
            .map(|m| m.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Time since the clock started.
    pub fn now(&self) -> Mono {
        match self.manual_state() {
            Some(m) => m.now,
            None => tokio::time::Instant::now() - self.0.origin,
        }
    }

    /// Wall-clock time (UTC) corresponding to [`now`](Self::now).
    pub fn wall(&self) -> NaiveDateTime {
        self.wall_at(self.now())
    }

    /// Wall-clock time (UTC) of a monotonic point.
    pub fn wall_at(&self, at: Mono) -> NaiveDateTime {
        self.0.origin_wall + chrono::Duration::from_std(at).unwrap_or_default()
    }

    /// The server's local wall time now (flows' opening hours).
    pub fn local_wall(&self) -> NaiveDateTime {
        local_or_utc(self.wall(), true)
    }

    /// Today's date in the zone of the stored timestamps (UTC, or the
    /// server's local zone when `local`): the day "today" counters count.
    pub fn today(&self, local: bool) -> chrono::NaiveDate {
        local_or_utc(self.wall(), local).date()
    }

    /// How long until the next midnight on this clock (UTC, or local time
    /// when `local`).
    pub fn until_midnight(&self, local: bool) -> Duration {
        let wall = local_or_utc(self.wall(), local);
        let next = (wall.date() + chrono::Days::new(1))
            .and_hms_opt(0, 0, 0)
            .expect("midnight exists");
        // A daylight-saving change can make the local day 23 or 25 hours
        // long; the timer then fires early and re-arms, or an hour late.
        (next - wall).to_std().unwrap_or_default()
    }

    /// Completes after `d` on this clock.
    pub fn sleep(&self, d: Duration) -> impl Future<Output = ()> + 'static + use<> {
        let rx = self.manual_state().map(|mut m| {
            let (tx, rx) = oneshot::channel();
            m.seq += 1;
            let key = (m.now + d, m.seq);
            m.timers.insert(key, tx);
            rx
        });
        async move {
            match rx {
                // A dropped sender (clock gone) ends the wait too.
                Some(rx) => {
                    let _ = rx.await;
                }
                None => tokio::time::sleep(d).await,
            }
        }
    }

    /// Moves a manual clock forward, firing every timer that falls due, in
    /// order, without waiting between them (nothing woken runs before this
    /// returns: a timer it re-arms fires at most once; the sim's advance
    /// steps with [`fire_next`](Self::fire_next) instead). Returns how many
    /// fired. A real clock ignores this.
    pub fn advance(&self, d: Duration) -> usize {
        let until = self.now() + d;
        let mut fired = 0;
        while let Some(n) = self.fire_next(until) {
            fired += n;
        }
        fired
    }

    /// Moves a manual clock to the first timer due by `until` and fires
    /// every timer due at that instant; `None` (and the clock at `until`)
    /// when none is due by then. Stepping with this, and letting the server
    /// react between steps, runs a re-armed timer (a heartbeat check every
    /// 10 s) as often as it would run in real time; [`advance`] cannot.
    ///
    /// [`advance`]: Self::advance
    pub fn fire_next(&self, until: Mono) -> Option<usize> {
        let mut m = self.manual_state()?;
        // Cancelled timers (their waiter dropped) are not steps.
        m.timers.retain(|_, tx| !tx.is_closed());
        let due = match m.timers.first_key_value() {
            Some((&(at, _), _)) if at <= until => at,
            _ => {
                m.now = m.now.max(until);
                return None;
            }
        };
        m.now = m.now.max(due);
        let later = m.timers.split_off(&(due, u64::MAX));
        let now_due = std::mem::replace(&mut m.timers, later);
        drop(m);
        Some(
            now_due
                .into_values()
                .map(|tx| tx.send(()))
                .filter(Result::is_ok)
                .count(),
        )
    }

    /// When each live timer of a manual clock falls due, soonest first.
    pub fn armed(&self) -> Vec<Mono> {
        self.manual_state().map_or_else(Vec::new, |m| {
            m.timers
                .iter()
                .filter(|(_, tx)| !tx.is_closed())
                .map(|(&(at, _), _)| at)
                .collect()
        })
    }

    /// Timers waiting on a manual clock (cancelled ones included until due).
    pub fn pending(&self) -> usize {
        self.manual_state().map_or(0, |m| m.timers.len())
    }
}

fn local_or_utc(utc: NaiveDateTime, local: bool) -> NaiveDateTime {
    if local {
        use chrono::TimeZone as _;
        chrono::Local.from_utc_datetime(&utc).naive_local()
    } else {
        utc
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn midnight_is_when_today_changes() {
        let clock = Clock::manual();
        let today = clock.today(false);
        let left = clock.until_midnight(false);
        assert!(left > Duration::ZERO && left <= Duration::from_secs(86_400));
        clock.advance(left - Duration::from_millis(1));
        assert_eq!(clock.today(false), today);
        clock.advance(Duration::from_millis(1));
        assert_eq!(clock.today(false), today + chrono::Days::new(1));
        assert_eq!(clock.until_midnight(false), Duration::from_secs(86_400));
    }

    #[actix_rt::test]
    async fn manual_clock_fires_only_when_advanced() {
        let clock = Clock::manual();
        let c = clock.clone();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        for s in [3u64, 1, 2] {
            let (c, tx) = (c.clone(), tx.clone());
            actix_rt::spawn(async move {
                c.sleep(Duration::from_secs(s)).await;
                tx.send(s).unwrap();
            });
        }
        tokio::task::yield_now().await;
        assert_eq!(clock.pending(), 3);
        assert!(rx.try_recv().is_err());
        assert_eq!(clock.advance(Duration::from_millis(2500)), 2);
        assert_eq!(rx.recv().await, Some(1));
        assert_eq!(rx.recv().await, Some(2));
        assert!(rx.try_recv().is_err());
        assert_eq!(clock.advance(Duration::from_secs(1)), 1);
        assert_eq!(rx.recv().await, Some(3));
        assert_eq!(clock.now(), Duration::from_millis(3500));
    }

    #[actix_rt::test]
    async fn stepping_fires_a_rearmed_timer_at_each_of_its_times() {
        let clock = Clock::manual();
        let c = clock.clone();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        // A check every 10 s, as an agent's heartbeat watch.
        actix_rt::spawn(async move {
            loop {
                c.sleep(Duration::from_secs(10)).await;
                if tx.send(c.now()).is_err() {
                    break;
                }
            }
        });
        tokio::task::yield_now().await;
        let until = Duration::from_secs(35);
        let mut seen = Vec::new();
        while clock.fire_next(until).is_some() {
            // The server reacts (and re-arms) before the next step.
            seen.push(rx.recv().await.unwrap());
            tokio::task::yield_now().await;
        }
        assert_eq!(seen, [10, 20, 30].map(Duration::from_secs));
        assert_eq!(clock.now(), until);
        assert_eq!(clock.armed(), [Duration::from_secs(40)]);
        // A jump fires the first one only, with the clock already at the end.
        let jump = Clock::manual();
        let j = jump.clone();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        actix_rt::spawn(async move {
            j.sleep(Duration::from_secs(10)).await;
            let _ = tx.send(j.now());
        });
        tokio::task::yield_now().await;
        assert_eq!(jump.advance(until), 1);
        assert_eq!(rx.recv().await, Some(until));
    }
}
