//! RFC 4733 keys on a call's RTP, sans I/O: the receiver turns a stream
//! of telephone-event packets (each event sent many times: a start, a
//! duration update every packet time, three copies of the end) into each
//! key once; the sender makes the packets for a key.

use spcti_protocol::rtp::TelephoneEvent;

/// A key pressed, or a hook flash (event 16).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pressed {
    Key(char),
    Flash,
}

/// Turns telephone-event packets into presses. An event is identified by
/// its RTP timestamp (RFC 4733 §2.5.1.2: all packets of one event share
/// it), so repeats and the redundant end packets count once, and a start
/// packet that was lost does not lose the key.
#[derive(Debug, Default)]
pub struct DtmfReceiver {
    /// The timestamp of the last event reported.
    last: Option<u32>,
}

impl DtmfReceiver {
    /// One telephone-event packet (its RTP timestamp and payload).
    pub fn packet(&mut self, timestamp: u32, payload: &[u8]) -> Option<Pressed> {
        let ev = TelephoneEvent::parse(payload).ok()?;
        if self.last == Some(timestamp) {
            return None;
        }
        let pressed = match ev.key() {
            Some(k) => Pressed::Key(k),
            None if ev.event == TelephoneEvent::FLASH => Pressed::Flash,
            None => return None,
        };
        self.last = Some(timestamp);
        Some(pressed)
    }
}

/// A SIP INFO body's key (`application/dtmf-relay`: `Signal=5`, with
/// `Signal=hf` or `flash` for a hook flash; `application/dtmf`: the key
/// alone). `None` when the body names no key.
pub fn info_key(content_type: &str, body: &[u8]) -> Option<Pressed> {
    let text = std::str::from_utf8(body).ok()?;
    let signal = if content_type.eq_ignore_ascii_case("application/dtmf") {
        text.trim()
    } else {
        text.lines().find_map(|l| {
            let (k, v) = l.split_once('=')?;
            k.trim().eq_ignore_ascii_case("signal").then_some(v.trim())
        })?
    };
    if signal.eq_ignore_ascii_case("hf") || signal.eq_ignore_ascii_case("flash") || signal == "16" {
        return Some(Pressed::Flash);
    }
    let mut chars = signal.chars();
    let k = chars.next()?;
    if chars.next().is_some() {
        // A numeric event code (10 = `*`, 11 = `#`) some phones send.
        let n: u8 = signal.parse().ok()?;
        return TelephoneEvent {
            event: n,
            end: true,
            volume: 0,
            duration: 0,
        }
        .key()
        .map(Pressed::Key);
    }
    TelephoneEvent::of_key(k).map(|e| {
        Pressed::Key(
            TelephoneEvent {
                event: e,
                end: true,
                volume: 0,
                duration: 0,
            }
            .key()
            .unwrap_or(k),
        )
    })
}

/// The packets that send one key (RFC 4733 §2.5.1): `(marker, timestamp,
/// payload)` for each packet time; the first has the marker bit, the
/// duration grows by `step` samples each packet, the end is sent three
/// times. `duration` and `step` are in timestamp units (8 per ms at 8 kHz).
pub fn key_packets(
    event: u8,
    timestamp: u32,
    duration: u16,
    step: u16,
) -> Vec<(bool, u32, [u8; 4])> {
    let step = step.max(1);
    let mut out = Vec::new();
    let mut d = step;
    loop {
        let end = d >= duration;
        let e = TelephoneEvent {
            event,
            end,
            volume: 10,
            duration: d.min(duration),
        };
        let copies = if end { 3 } else { 1 };
        for _ in 0..copies {
            out.push((out.is_empty(), timestamp, e.to_bytes()));
        }
        if end {
            return out;
        }
        d = d.saturating_add(step);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_sent_as_the_rfc_says_is_received_once() {
        // 100 ms of "5" in 20 ms packets.
        let packets = key_packets(5, 16_000, 800, 160);
        assert_eq!(packets.len(), 4 + 3);
        assert!(packets[0].0 && packets.iter().skip(1).all(|p| !p.0));
        assert!(packets.iter().all(|p| p.1 == 16_000));
        let last = TelephoneEvent::parse(&packets[6].2).unwrap();
        assert!(last.end && last.duration == 800);
        let mut rx = DtmfReceiver::default();
        let got: Vec<Pressed> = packets
            .iter()
            .filter_map(|p| rx.packet(p.1, &p.2))
            .collect();
        assert_eq!(got, [Pressed::Key('5')]);
    }

    #[test]
    fn sip_info_keys_and_flash() {
        let relay = "application/dtmf-relay";
        assert_eq!(
            info_key(relay, b"Signal=5\r\nDuration=160\r\n"),
            Some(Pressed::Key('5'))
        );
        assert_eq!(
            info_key(relay, b"Signal= *\r\nDuration=160\r\n"),
            Some(Pressed::Key('*'))
        );
        assert_eq!(info_key(relay, b"Signal=11\r\n"), Some(Pressed::Key('#')));
        assert_eq!(info_key(relay, b"Signal=hf\r\n"), Some(Pressed::Flash));
        assert_eq!(info_key(relay, b"Signal=a\r\n"), Some(Pressed::Key('A')));
        assert_eq!(info_key("application/dtmf", b"7"), Some(Pressed::Key('7')));
        assert_eq!(info_key(relay, b"Duration=160\r\n"), None);
        assert_eq!(info_key(relay, b"Signal=x\r\n"), None);
        assert_eq!(info_key(relay, &[0xff, 0xfe]), None);
    }

    #[test]
    fn the_same_key_twice_counts_twice_and_a_lost_start_loses_nothing() {
        let mut rx = DtmfReceiver::default();
        let mut got = Vec::new();
        for ts in [8_000u32, 9_600] {
            // The start packets are lost: only the ends arrive.
            for p in key_packets(1, ts, 480, 160).into_iter().skip(2) {
                got.extend(rx.packet(p.1, &p.2));
            }
        }
        assert_eq!(got, [Pressed::Key('1'), Pressed::Key('1')]);
        let flash = key_packets(TelephoneEvent::FLASH, 20_000, 800, 160);
        assert_eq!(rx.packet(flash[0].1, &flash[0].2), Some(Pressed::Flash));
        // Events that are not keys (e.g. 32, a modem tone) and junk are ignored.
        assert_eq!(rx.packet(30_000, &[32, 0x80, 0, 160]), None);
        assert_eq!(rx.packet(31_000, &[1, 2]), None);
    }
}
