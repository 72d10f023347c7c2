//! A seat phone's logic, without I/O: hook state, ringing, and the feature
//! codes dialed on it (`*9`, off-hook + `*`, `*5<ext>#`...).

use std::time::Duration;

use spcti_protocol::ChNum;

use crate::clock::Mono;

/// How long the seat waits for the next digit before acting on what it has.
pub const DIGIT_TIMEOUT: Duration = Duration::from_secs(3);

/// The phone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seat {
    OnHook,
    Ringing {
        call: ChNum,
        since: Mono,
    },
    /// Lifted, nothing connected: collecting digits.
    OffHook {
        since: Mono,
        digits: String,
        /// Any key pressed since the lift (a lift with none is logged as
        /// tellmsg 11 when the phone goes back).
        dialed: bool,
    },
    Connected {
        call: ChNum,
        since: Mono,
    },
    /// The far end left; the phone is still off-hook (busy tone).
    Dead {
        since: Mono,
    },
}

/// What the digits dialed on a lifted phone mean.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Feature {
    /// `*9`: go offline.
    Logout,
    /// off-hook + `*`: pick up any call ringing in my groups.
    PickUpAny,
    /// `*7<x>#`: pick up at an extension or group.
    PickUp(String),
    /// `*5<ext>#`: transfer to an extension.
    TransferToExt(String),
    /// `*6<group>#`: transfer to a group.
    TransferToGroup(String),
    /// A plain number: an internal or outside call.
    Dial(String),
    /// After a hook flash during a call: the extension to consult.
    Consult(String),
}

/// What the seat wants done after an input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeatEffect {
    /// Lifted while ringing: the call is answered.
    Answered(ChNum),
    /// Put down while connected.
    HungUp(ChNum),
    /// Put down after a lift that dialed nothing (tellmsg 11).
    IdleLift { since: Mono },
    /// Put down after the far end had left (busy tone since `since`;
    /// tellmsg 5).
    WaitedHangup { since: Mono },
    /// A feature code was completed.
    Feature(Feature),
    /// (Re)start the inter-digit timer.
    ArmDigitTimer,
}

impl Seat {
    /// Recognises a complete code; `timed_out` means no more digits are coming.
    pub fn parse(digits: &str, timed_out: bool) -> Option<Feature> {
        let complete = digits.ends_with('#');
        let body = digits.trim_end_matches('#');
        if body == "*9" {
            return Some(Feature::Logout);
        }
        if body == "*" && (complete || timed_out) {
            return Some(Feature::PickUpAny);
        }
        if !(complete || timed_out) {
            return None;
        }
        let arg = |p: &str| {
            body.strip_prefix(p)
                .filter(|a| !a.is_empty())
                .map(str::to_owned)
        };
        if let Some(a) = arg("*5") {
            Some(Feature::TransferToExt(a))
        } else if let Some(a) = arg("*6") {
            Some(Feature::TransferToGroup(a))
        } else if let Some(a) = arg("*7") {
            Some(Feature::PickUp(a))
        } else if !body.is_empty() && !body.starts_with('*') {
            Some(Feature::Dial(body.to_owned()))
        } else {
            None
        }
    }

    pub fn off_hook(&mut self, now: Mono) -> Vec<SeatEffect> {
        match *self {
            Seat::Ringing { call, .. } => {
                *self = Seat::Connected { call, since: now };
                vec![SeatEffect::Answered(call)]
            }
            Seat::OnHook => {
                *self = Seat::OffHook {
                    since: now,
                    digits: String::new(),
                    dialed: false,
                };
                vec![]
            }
            _ => vec![],
        }
    }

    /// The switch ended the phone's call itself (its caller left): the
    /// phone is down with nothing to report — the call's end reaches the
    /// agent from the call's side, and no one waited off-hook.
    pub fn released(&mut self) {
        if matches!(self, Seat::Connected { .. } | Seat::Dead { .. }) {
            *self = Seat::OnHook;
        }
    }

    pub fn on_hook(&mut self) -> Vec<SeatEffect> {
        let was = std::mem::replace(self, Seat::OnHook);
        match was {
            Seat::Connected { call, .. } => vec![SeatEffect::HungUp(call)],
            Seat::OffHook {
                since,
                dialed: false,
                ..
            } => vec![SeatEffect::IdleLift { since }],
            Seat::Dead { since } => vec![SeatEffect::WaitedHangup { since }],
            // A phone cannot go on-hook while ringing; keep ringing.
            Seat::Ringing { .. } => {
                *self = was;
                vec![]
            }
            _ => vec![],
        }
    }

    pub fn digits(&mut self, more: &str) -> Vec<SeatEffect> {
        let Seat::OffHook { digits, dialed, .. } = self else {
            return vec![];
        };
        *dialed |= !more.is_empty();
        let mut out = Vec::new();
        for c in more.chars() {
            digits.push(c);
            if let Some(f) = Seat::parse(digits, false) {
                digits.clear();
                out.push(SeatEffect::Feature(f));
            }
        }
        if !digits.is_empty() {
            out.push(SeatEffect::ArmDigitTimer);
        }
        out
    }

    pub fn digit_timeout(&mut self) -> Vec<SeatEffect> {
        let Seat::OffHook { digits, .. } = self else {
            return vec![];
        };
        let f = Seat::parse(digits, true);
        digits.clear();
        f.map(SeatEffect::Feature).into_iter().collect()
    }

    /// Ring for `call`. Refused unless on-hook.
    pub fn ring(&mut self, call: ChNum, now: Mono) -> bool {
        if *self == Seat::OnHook {
            *self = Seat::Ringing { call, since: now };
            true
        } else {
            false
        }
    }

    /// Stop ringing for `call` (answered elsewhere, timed out, caller gone).
    pub fn stop_ring(&mut self, call: ChNum) -> bool {
        if matches!(*self, Seat::Ringing { call: c, .. } if c == call) {
            *self = Seat::OnHook;
            true
        } else {
            false
        }
    }

    /// Connect an off-hook phone to `call` (pick-up).
    pub fn connect(&mut self, call: ChNum, now: Mono) -> bool {
        match self {
            Seat::OffHook { .. } | Seat::Dead { .. } => {
                *self = Seat::Connected { call, since: now };
                true
            }
            _ => false,
        }
    }

    /// The far end of `call` hung up.
    pub fn far_end_gone(&mut self, call: ChNum, now: Mono) -> bool {
        if matches!(*self, Seat::Connected { call: c, .. } if c == call) {
            *self = Seat::Dead { since: now };
            true
        } else {
            false
        }
    }

    /// The call this seat is ringing for or connected to.
    pub fn call(&self) -> Option<ChNum> {
        match *self {
            Seat::Ringing { call, .. } | Seat::Connected { call, .. } => Some(call),
            _ => None,
        }
    }
}

/// Keys pressed on a seat phone during a call (sans-I/O): `*5<ext>#` and
/// `*6<group>#` transfer; after a hook flash has put the caller on hold,
/// digits name the extension to consult, ended by `#` or a pause. Other
/// keys belong to the far end and are ignored here.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct InCallKeys {
    digits: String,
    /// A flash put the caller on hold: digits are a consult target.
    consulting: bool,
    /// Flashes so far: only the trunk's answer to the latest one counts.
    flashes: u32,
}

impl InCallKeys {
    /// Whether digits are a consult target now.
    pub fn consulting(&self) -> bool {
        self.consulting
    }

    /// A hook flash toggles hold at once (the agent may already be
    /// dialing); the trunk's answer, given back with the returned ticket to
    /// [`InCallKeys::flash_answered`], may correct it.
    pub fn flashed(&mut self) -> u32 {
        self.consulting = !self.consulting;
        self.digits.clear();
        self.flashes = self.flashes.wrapping_add(1);
        self.flashes
    }

    /// The trunk answered flash `ticket`: `Some(held)` whether the caller
    /// is on hold now, `None` if the flash was refused. An answer to an
    /// earlier flash is ignored: a later flash decides.
    pub fn flash_answered(&mut self, ticket: u32, held: Option<bool>) {
        if ticket == self.flashes {
            self.consulting = held.unwrap_or(false);
        }
    }

    pub fn set_consulting(&mut self, on: bool) {
        self.consulting = on;
    }

    /// The call is over (or the phone not on one): nothing pending.
    pub fn reset(&mut self) {
        self.digits.clear();
        self.consulting = false;
    }

    pub fn press(&mut self, keys: &str) -> Vec<SeatEffect> {
        if self.consulting {
            self.digits
                .extend(keys.chars().filter(|c| c.is_ascii_digit() || *c == '#'));
            if self.digits.ends_with('#') || self.digits.len() > 30 {
                let ext = std::mem::take(&mut self.digits)
                    .trim_end_matches('#')
                    .to_owned();
                return vec![SeatEffect::Feature(Feature::Consult(ext))];
            }
            return vec![SeatEffect::ArmDigitTimer];
        }
        let mut fx = Vec::new();
        for c in keys.chars() {
            // A code starts with `*`; anything before is for the far end.
            if self.digits.is_empty() && c != '*' {
                continue;
            }
            self.digits.push(c);
            if c == '#' || self.digits.len() > 32 {
                if let Some(f @ (Feature::TransferToExt(_) | Feature::TransferToGroup(_))) =
                    Seat::parse(&self.digits, false)
                {
                    fx.push(SeatEffect::Feature(f));
                }
                self.digits.clear();
            }
        }
        fx
    }

    /// The digit timer ran out: a consult number ends with the pause.
    pub fn pause(&mut self) -> Option<SeatEffect> {
        if self.consulting && !self.digits.is_empty() {
            let ext = std::mem::take(&mut self.digits);
            return Some(SeatEffect::Feature(Feature::Consult(ext)));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feature_codes() {
        assert_eq!(Seat::parse("*9", false), Some(Feature::Logout));
        assert_eq!(Seat::parse("*", false), None);
        assert_eq!(Seat::parse("*", true), Some(Feature::PickUpAny));
        assert_eq!(Seat::parse("*#", false), Some(Feature::PickUpAny));
        assert_eq!(Seat::parse("*58002", false), None);
        assert_eq!(
            Seat::parse("*58002#", false),
            Some(Feature::TransferToExt("8002".into()))
        );
        assert_eq!(
            Seat::parse("*62#", false),
            Some(Feature::TransferToGroup("2".into()))
        );
        assert_eq!(
            Seat::parse("*78002#", false),
            Some(Feature::PickUp("8002".into()))
        );
        assert_eq!(
            Seat::parse("8002", true),
            Some(Feature::Dial("8002".into()))
        );
        assert_eq!(Seat::parse("*3#", false), None);
    }

    #[test]
    fn only_the_latest_flash_answer_counts() {
        let mut k = InCallKeys::default();
        let first = k.flashed();
        assert!(k.consulting(), "a flash holds at once");
        let second = k.flashed();
        assert!(!k.consulting(), "a second flash brings the caller back");
        // The trunk's late answer to the first flash must not re-hold.
        k.flash_answered(first, Some(true));
        assert!(!k.consulting());
        k.flash_answered(second, Some(false));
        assert!(!k.consulting());
        // A refused flash: no consult number is collected.
        let third = k.flashed();
        assert!(k.consulting());
        k.flash_answered(third, None);
        assert!(!k.consulting());
        assert_eq!(k.press("8002#"), vec![]);
    }

    #[test]
    fn keys_during_a_call() {
        let mut k = InCallKeys::default();
        // The far end's keys pass; codes are taken.
        assert!(k.press("12").is_empty());
        assert_eq!(
            k.press("*58002#"),
            vec![SeatEffect::Feature(Feature::TransferToExt("8002".into()))]
        );
        assert_eq!(
            k.press("*6"),
            Vec::<SeatEffect>::new(),
            "incomplete: waits for #"
        );
        assert_eq!(
            k.press("2#"),
            vec![SeatEffect::Feature(Feature::TransferToGroup("2".into()))]
        );
        assert!(k.press("*9#").is_empty(), "not a transfer during a call");
        assert_eq!(k.pause(), None, "a pause ends nothing outside a consult");

        // After a flash: digits name the extension, ended by # or a pause.
        k.flashed();
        assert!(k.consulting());
        assert_eq!(k.press("80"), vec![SeatEffect::ArmDigitTimer]);
        assert_eq!(
            k.press("02#"),
            vec![SeatEffect::Feature(Feature::Consult("8002".into()))]
        );
        assert_eq!(k.press("8003"), vec![SeatEffect::ArmDigitTimer]);
        assert_eq!(
            k.pause(),
            Some(SeatEffect::Feature(Feature::Consult("8003".into())))
        );
        // The trunk refused the hold: digits go to the far end again.
        k.set_consulting(false);
        assert!(k.press("8004#").is_empty());
        k.flashed();
        k.press("80");
        k.reset();
        assert!(!k.consulting());
        assert_eq!(k.pause(), None);
    }

    #[test]
    fn a_phone_the_switch_releases_reports_nothing() {
        let now = Duration::ZERO;
        for far_gone_first in [false, true] {
            let mut s = Seat::OnHook;
            s.ring(ChNum(1), now);
            s.off_hook(now);
            if far_gone_first {
                assert!(s.far_end_gone(ChNum(1), now));
            }
            s.released();
            assert_eq!(s, Seat::OnHook);
            // The call's end arriving after changes nothing.
            assert!(!s.far_end_gone(ChNum(1), now));
            assert!(s.on_hook().is_empty());
        }
        // A ringing or lifted phone is not on a call to release.
        let mut s = Seat::OnHook;
        s.ring(ChNum(1), now);
        s.released();
        assert!(matches!(s, Seat::Ringing { .. }));
    }

    #[test]
    fn hook_and_ring() {
        let now = Duration::ZERO;
        let mut s = Seat::OnHook;
        assert!(s.ring(ChNum(1), now));
        assert!(s.on_hook().is_empty());
        assert_eq!(s.off_hook(now), vec![SeatEffect::Answered(ChNum(1))]);
        assert!(s.far_end_gone(ChNum(1), now));
        assert_eq!(s.on_hook(), vec![SeatEffect::WaitedHangup { since: now }]);
        // A lift that dials nothing is logged; one that dials is not.
        s.off_hook(Duration::from_secs(3));
        assert_eq!(
            s.on_hook(),
            vec![SeatEffect::IdleLift {
                since: Duration::from_secs(3)
            }]
        );
        s.off_hook(now);
        s.digits("1");
        assert!(s.on_hook().is_empty());
        s.off_hook(now);
        assert_eq!(s.digits("*9"), vec![SeatEffect::Feature(Feature::Logout)]);
        assert_eq!(s.digits("*"), vec![SeatEffect::ArmDigitTimer]);
        assert_eq!(
            s.digit_timeout(),
            vec![SeatEffect::Feature(Feature::PickUpAny)]
        );
        assert!(!s.ring(ChNum(2), now), "an off-hook phone cannot ring");
    }
}
