//! What the flow timers (actors/src/flow_timers.rs) take: 1028.

use std::time::Duration;

use actix::prelude::*;

use crate::refusal::Refusal;

/// 1028: timer `no` (1–9) on or off; `None` keeps the period or flow set
/// before.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<(), Refusal>")]
pub struct SetTimer {
    pub no: u8,
    pub on: Option<bool>,
    pub period: Option<Duration>,
    pub flow: Option<String>,
}
