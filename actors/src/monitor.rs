//! The floor as monitors see it: the latest state of every channel (6012),
//! agent (6001) and queue group (9014), and a broadcast of every change.
//!
//! Actors publish here synchronously (a lock and a broadcast send, no
//! await), so watching never slows a call. Watchers (the WebSocket monitor,
//! the wallboard, metrics) subscribe and get a snapshot followed by the
//! changes. The broadcast keeps the last [`BACKLOG`] changes: a watcher that
//! falls further behind than that is told so (`Lagged`) and is expected to
//! drop and resubscribe for a fresh snapshot.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use chrono::NaiveDateTime;

use spcti_protocol::event::AgentStateChanged;
use spcti_protocol::monitor::ChannelStatus;
use spcti_protocol::reply::Stats;
use spcti_protocol::{GroupNo, Message as Wire, TelNum};
use tokio::sync::broadcast;

/// Changes kept for watchers that are behind.
pub const BACKLOG: usize = 4096;

/// What a wallboard shows of a group beyond 9014's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GroupExtra {
    /// Average speed of answer today.
    pub asa: Duration,
    /// Average handle (talk) time today, over the members' calls.
    pub aht: Duration,
    /// Abandoned calls per thousand calls that ended today.
    pub abandon_permille: u32,
    /// The group's service-level threshold.
    pub service_level_threshold: Duration,
}

/// The forms a change is sent in (the WebSocket monitor's `?format=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    Xml,
    Json,
}

/// One change as every watcher gets it: the message, and each form of it,
/// encoded once however many watchers take it (200 watchers of a JSON feed
/// cost one encoding per change, not 200).
#[derive(Debug)]
pub struct Change {
    pub message: Wire,
    forms: [OnceLock<Arc<str>>; 2],
}

impl Change {
    fn new(message: Wire) -> Self {
        Change {
            message,
            forms: Default::default(),
        }
    }

    /// The change in `form`, encoded by `encode` the first time any watcher
    /// asks for that form.
    pub fn encoded(&self, form: Form, encode: impl FnOnce(&Wire) -> String) -> Arc<str> {
        self.forms[form as usize]
            .get_or_init(|| encode(&self.message).into())
            .clone()
    }
}

#[derive(Default)]
struct Floor {
    channels: BTreeMap<u32, ChannelStatus>,
    agents: BTreeMap<TelNum, (AgentStateChanged, NaiveDateTime)>,
    groups: BTreeMap<GroupNo, (Stats, GroupExtra)>,
}

/// Shared by every actor (through `Deps`) and every watcher.
#[derive(Clone)]
pub struct MonitorHub {
    floor: Arc<Mutex<Floor>>,
    tx: broadcast::Sender<Arc<Change>>,
}

impl Default for MonitorHub {
    fn default() -> Self {
        MonitorHub::new()
    }
}

/// Two channel states are the same change if they differ only in time.
/// Field by field, without a copy: this runs on every channel change of
/// every call. (Destructured, so a new field cannot be forgotten here.)
fn same_channel(a: &ChannelStatus, b: &ChannelStatus) -> bool {
    let ChannelStatus {
        ch_num,
        ch_type,
        state,
        tel_num,
        work_no,
        caller_no,
        callee_no,
        tell_guid,
        link_ch,
        agent_state,
        show_state,
        time: _,
    } = a;
    *ch_num == b.ch_num
        && *ch_type == b.ch_type
        && *state == b.state
        && *tel_num == b.tel_num
        && *work_no == b.work_no
        && *caller_no == b.caller_no
        && *callee_no == b.callee_no
        && *tell_guid == b.tell_guid
        && *link_ch == b.link_ch
        && *agent_state == b.agent_state
        && *show_state == b.show_state
}

impl MonitorHub {
    pub fn new() -> Self {
        MonitorHub::with_backlog(BACKLOG)
    }

    /// A hub keeping `backlog` changes for watchers that are behind.
    pub fn with_backlog(backlog: usize) -> Self {
        let (tx, _) = broadcast::channel(backlog);
        MonitorHub {
            floor: Arc::new(Mutex::new(Floor::default())),
            tx,
        }
    }

    fn floor(&self) -> std::sync::MutexGuard<'_, Floor> {
        self.floor.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether anyone watches now. Asked with the floor locked: a watcher
    /// subscribes before it takes its snapshot under that lock, so a change
    /// made while nobody watched is in the snapshot of whoever comes next.
    fn watched(&self) -> bool {
        self.tx.receiver_count() > 0
    }

    fn send(&self, m: Wire) {
        // No watcher is not an error.
        let _ = self.tx.send(Arc::new(Change::new(m)));
    }

    /// A channel's state; published only when it changed.
    pub fn channel(&self, s: ChannelStatus) {
        // Built only for a watcher; the floor keeps the state either way.
        let out = {
            let mut f = self.floor();
            if f.channels
                .get(&s.ch_num.0)
                .is_some_and(|old| same_channel(old, &s))
            {
                return;
            }
            let out = self.watched().then(|| s.clone());
            f.channels.insert(s.ch_num.0, s);
            out
        };
        if let Some(s) = out {
            self.send(s.into());
        }
    }

    /// An agent's state since `at`; published only when it changed.
    pub fn agent(&self, s: AgentStateChanged, at: NaiveDateTime) {
        let out = {
            let mut f = self.floor();
            if f.agents.get(&s.tel_num).is_some_and(|(old, _)| *old == s) {
                return;
            }
            let out = self.watched().then(|| s.clone());
            f.agents.insert(s.tel_num.clone(), (s, at));
            out
        };
        if let Some(s) = out {
            self.send(s.into());
        }
    }

    /// A group's queue and counters; published only when they changed.
    pub fn group(&self, s: Stats, extra: GroupExtra) {
        let Some(no) = s.group_no else { return };
        let out = {
            let mut f = self.floor();
            if f.groups
                .get(&no)
                .is_some_and(|(old, e)| *old == s && *e == extra)
            {
                return;
            }
            let out = self.watched().then(|| s.clone());
            f.groups.insert(no, (s, extra));
            out
        };
        if let Some(s) = out {
            self.send(s.into());
        }
    }

    /// Everything as it is now, then every change after it: the receiver is
    /// taken before the snapshot, so nothing falls between (a change may
    /// show twice, never zero times).
    pub fn subscribe(&self) -> (Vec<Wire>, broadcast::Receiver<Arc<Change>>) {
        let rx = self.tx.subscribe();
        let f = self.floor();
        let mut snap: Vec<Wire> =
            Vec::with_capacity(f.channels.len() + f.agents.len() + f.groups.len());
        snap.extend(f.channels.values().cloned().map(Wire::from));
        snap.extend(f.agents.values().map(|(a, _)| Wire::from(a.clone())));
        snap.extend(f.groups.values().map(|(g, _)| Wire::from(g.clone())));
        (snap, rx)
    }

    /// The current state of every channel.
    pub fn channels(&self) -> Vec<ChannelStatus> {
        self.floor().channels.values().cloned().collect()
    }

    /// The current state of every agent that has logged in since start,
    /// with when it began.
    pub fn agents(&self) -> Vec<(AgentStateChanged, NaiveDateTime)> {
        self.floor().agents.values().cloned().collect()
    }

    /// The current state of every group.
    pub fn groups(&self) -> Vec<(Stats, GroupExtra)> {
        self.floor().groups.values().cloned().collect()
    }

    /// Watchers connected now.
    pub fn watchers(&self) -> usize {
        self.tx.receiver_count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spcti_protocol::{ChNum, ChType, ChannelState};

    fn ch(n: u32, state: ChannelState, sec: u32) -> ChannelStatus {
        ChannelStatus {
            ch_num: ChNum(n),
            ch_type: ChType::Trunk,
            state,
            tel_num: None,
            work_no: None,
            caller_no: String::new(),
            callee_no: String::new(),
            tell_guid: None,
            link_ch: None,
            agent_state: None,
            show_state: String::new(),
            time: chrono::NaiveDate::from_ymd_opt(2026, 11, 24)
                .unwrap()
                .and_hms_opt(9, 0, sec)
                .unwrap(),
        }
    }

    #[test]
    fn snapshot_then_changes_without_repeats() {
        let hub = MonitorHub::new();
        hub.channel(ch(0, ChannelState::Free, 0));
        hub.channel(ch(1, ChannelState::Free, 0));
        let (snap, mut rx) = hub.subscribe();
        assert_eq!(snap.len(), 2);
        hub.channel(ch(1, ChannelState::Free, 5)); // only the time moved
        hub.channel(ch(1, ChannelState::Ivr, 6));
        let m = rx.try_recv().unwrap();
        assert_eq!(m.message, Wire::from(ch(1, ChannelState::Ivr, 6)));
        // Encoded once, whoever asks again.
        let a = m.encoded(Form::Json, |_| "first".into());
        let b = m.encoded(Form::Json, |_| "second".into());
        assert_eq!((&*a, &*b), ("first", "first"));
        assert_eq!(&*m.encoded(Form::Xml, |_| "xml".into()), "xml");
        assert!(rx.try_recv().is_err());
        assert_eq!(hub.channels()[1].state, ChannelState::Ivr);
    }

    #[test]
    fn a_watcher_too_far_behind_is_told() {
        let hub = MonitorHub::new();
        let (_, mut rx) = hub.subscribe();
        for i in 0..(BACKLOG as u32 + 10) {
            hub.channel(ch(
                0,
                if i % 2 == 0 {
                    ChannelState::Ivr
                } else {
                    ChannelState::Free
                },
                0,
            ));
        }
        assert!(matches!(
            rx.try_recv(),
            Err(broadcast::error::TryRecvError::Lagged(_))
        ));
    }
}
