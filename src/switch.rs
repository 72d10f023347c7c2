//! The switch-driver seam: what a driver (`[switch] driver`) gives the rest
//! of the server. A driver describes its channels (fixed channel numbers:
//! the client protocol names channels by `ChNum`), takes the actors'
//! [`SwitchCommand`]s, delivers its [`SwitchEvent`]s straight to each
//! channel's actor through an [`EventSink`], and may mount HTTP routes of
//! its own on the admin port (the sim's `/sim`).
//!
//! Adding a driver is one module implementing [`SwitchDriver`] and one arm
//! in `serve::driver` (docs/architecture.md, "The switch seam, and adding
//! a driver").

use std::collections::HashMap;

use actix::{Message, Recipient};
use actix_web::web::ServiceConfig;
use spcti_actors::switch::{ChannelDesc, EventSink, SwitchCommand};
use spcti_protocol::ChNum;

pub use spcti_actors::switch::{SetEventSink, SwitchEvent};

/// A running switch driver.
pub trait SwitchDriver: Send + Sync {
    /// Every channel, trunks and seats, with its number.
    fn channels(&self) -> Vec<ChannelDesc>;
    /// Where the actors' commands go.
    fn commands(&self) -> Recipient<SwitchCommand>;
    /// From now on, events go to `sink` (called once the channel actors exist).
    fn connect(&self, sink: EventSink);
    /// The driver's own HTTP routes on the admin port, if any. They are
    /// mounted only while this driver runs, and must guard themselves
    /// (the admin module's `require_token`).
    fn routes(&self, _cfg: &mut ServiceConfig) {}
    /// Where the seats' phone registrations can be asked for, when seats
    /// register (SIP); `None` when a seat's phone is wired (the sim).
    fn registrations(&self) -> Option<Recipient<Registrations>> {
        None
    }
}

/// A seat phone's registration, as `/api/channels` and the wallboard
/// show it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Registration {
    pub registered: bool,
    /// Where the seat rings.
    pub contact: Option<String>,
    /// Seconds until it lapses.
    pub expires: Option<u64>,
    pub user_agent: Option<String>,
}

/// Asks a driver for every seat's registration, by channel.
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "HashMap<ChNum, Registration>")]
pub struct Registrations;
