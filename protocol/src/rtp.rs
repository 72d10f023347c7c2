//! RTP packets (RFC 3550 §5.1) and RFC 4733 telephone-events, as wire
//! formats: read strictly (a packet that breaks the header rules is
//! refused with the reason, never half-read), written exactly.

/// An RTP packet's header fields and its payload (CSRCs and header
/// extension skipped over; padding removed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rtp<'a> {
    pub marker: bool,
    pub payload_type: u8,
    pub seq: u16,
    pub timestamp: u32,
    pub ssrc: u32,
    pub payload: &'a [u8],
}

impl<'a> Rtp<'a> {
    /// Reads a datagram.
    pub fn parse(b: &'a [u8]) -> Result<Rtp<'a>, String> {
        if b.len() < 12 {
            return Err(format!("{} bytes: shorter than an RTP header", b.len()));
        }
        if b[0] >> 6 != 2 {
            return Err(format!("RTP version {} (2 expected)", b[0] >> 6));
        }
        let padding = b[0] & 0x20 != 0;
        let extension = b[0] & 0x10 != 0;
        let csrcs = usize::from(b[0] & 0x0F);
        let pt = b[1] & 0x7F;
        // 72-76 would be RTCP sent to the RTP port (RFC 5761).
        if (72..=76).contains(&pt) {
            return Err(format!("payload type {pt} is RTCP's range"));
        }
        let mut at = 12 + 4 * csrcs;
        if extension {
            let ext = b
                .get(at + 2..at + 4)
                .ok_or("the header extension is cut off")?;
            at += 4 + 4 * usize::from(u16::from_be_bytes([ext[0], ext[1]]));
        }
        let mut end = b.len();
        if padding {
            let pad = usize::from(*b.last().unwrap_or(&0));
            if pad == 0 || pad > end.saturating_sub(at) {
                return Err(format!("{pad} bytes of padding do not fit"));
            }
            end -= pad;
        }
        if at > end {
            return Err("the header is longer than the packet".into());
        }
        Ok(Rtp {
            marker: b[1] & 0x80 != 0,
            payload_type: pt,
            seq: u16::from_be_bytes([b[2], b[3]]),
            timestamp: u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
            ssrc: u32::from_be_bytes([b[8], b[9], b[10], b[11]]),
            payload: &b[at..end],
        })
    }

    /// Writes a packet (no CSRCs, extension or padding) into `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.push(0x80);
        out.push((u8::from(self.marker) << 7) | (self.payload_type & 0x7F));
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.ssrc.to_be_bytes());
        out.extend_from_slice(self.payload);
    }
}

/// An RFC 4733 telephone-event payload (§2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelephoneEvent {
    /// 0-9, 10 = `*`, 11 = `#`, 12-15 = A-D, 16 = hook flash.
    pub event: u8,
    /// The last packets of an event.
    pub end: bool,
    /// Power level, 0 to 63 (-dBm0).
    pub volume: u8,
    /// In timestamp units since the event began.
    pub duration: u16,
}

impl TelephoneEvent {
    pub const FLASH: u8 = 16;

    pub fn parse(p: &[u8]) -> Result<TelephoneEvent, String> {
        let [event, flags, d0, d1] = p
            .get(..4)
            .and_then(|s| <[u8; 4]>::try_from(s).ok())
            .ok_or_else(|| format!("{} bytes: a telephone-event is 4", p.len()))?;
        Ok(TelephoneEvent {
            event,
            end: flags & 0x80 != 0,
            volume: flags & 0x3F,
            duration: u16::from_be_bytes([d0, d1]),
        })
    }

    pub fn to_bytes(self) -> [u8; 4] {
        let d = self.duration.to_be_bytes();
        [
            self.event,
            (u8::from(self.end) << 7) | (self.volume & 0x3F),
            d[0],
            d[1],
        ]
    }

    /// The key an event is (`0`-`9`, `*`, `#`, `A`-`D`), if it is one.
    pub fn key(self) -> Option<char> {
        match self.event {
            0..=9 => Some(char::from(b'0' + self.event)),
            10 => Some('*'),
            11 => Some('#'),
            12..=15 => Some(char::from(b'A' + self.event - 12)),
            _ => None,
        }
    }

    /// The event of a key.
    pub fn of_key(k: char) -> Option<u8> {
        match k {
            '0'..='9' => Some(k as u8 - b'0'),
            '*' => Some(10),
            '#' => Some(11),
            'A'..='D' => Some(k as u8 - b'A' + 12),
            'a'..='d' => Some(k as u8 - b'a' + 12),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_packet_reads_back_as_written() {
        let payload = [0xD5u8; 160];
        let p = Rtp {
            marker: true,
            payload_type: 8,
            seq: 65_535,
            timestamp: 0xDEAD_BEEF,
            ssrc: 0x0102_0304,
            payload: &payload,
        };
        let mut b = Vec::new();
        p.write(&mut b);
        assert_eq!(b.len(), 172);
        assert_eq!(&b[..4], &[0x80, 0x88, 0xFF, 0xFF]);
        assert_eq!(Rtp::parse(&b).unwrap(), p);
    }

    #[test]
    fn csrcs_extensions_and_padding_are_skipped_and_bad_headers_refused() {
        // CC=1, X=1 (one extension word), P=1 (2 bytes of padding).
        let mut b = vec![0xB1, 0x00, 0, 1, 0, 0, 0, 160, 0, 0, 0, 9];
        b.extend_from_slice(&[1, 2, 3, 4]); // CSRC
        b.extend_from_slice(&[0xBE, 0xDE, 0, 1, 9, 9, 9, 9]); // extension
        b.extend_from_slice(&[7, 7, 7]); // payload
        b.extend_from_slice(&[0, 2]); // padding
        let p = Rtp::parse(&b).unwrap();
        assert_eq!(
            (p.payload, p.seq, p.timestamp, p.ssrc),
            (&[7u8, 7, 7][..], 1, 160, 9)
        );
        assert!(Rtp::parse(&b[..11]).is_err());
        let mut v1 = b.clone();
        v1[0] = 0x40 | (v1[0] & 0x3F);
        assert!(Rtp::parse(&v1).unwrap_err().contains("version 1"));
        let mut pad = b.clone();
        *pad.last_mut().unwrap() = 200;
        assert!(Rtp::parse(&pad).is_err());
        let mut cut = b.clone();
        cut.truncate(18);
        assert!(Rtp::parse(&cut).is_err());
        let mut rtcp = b.clone();
        rtcp[1] = 72;
        assert!(Rtp::parse(&rtcp).is_err());
    }

    #[test]
    fn telephone_events_read_and_write() {
        // RFC 4733 §2.3: digit 5, end, volume 10, duration 800.
        let e = TelephoneEvent::parse(&[5, 0x8A, 0x03, 0x20]).unwrap();
        assert_eq!(
            e,
            TelephoneEvent {
                event: 5,
                end: true,
                volume: 10,
                duration: 800
            }
        );
        assert_eq!(e.to_bytes(), [5, 0x8A, 0x03, 0x20]);
        assert_eq!(e.key(), Some('5'));
        for k in "0123456789*#ABCD".chars() {
            let ev = TelephoneEvent::of_key(k).unwrap();
            let t = TelephoneEvent {
                event: ev,
                end: false,
                volume: 0,
                duration: 0,
            };
            assert_eq!(t.key(), Some(k));
        }
        let flash = TelephoneEvent {
            event: TelephoneEvent::FLASH,
            end: false,
            volume: 0,
            duration: 0,
        };
        assert_eq!(flash.key(), None);
        assert!(TelephoneEvent::parse(&[1, 2, 3]).is_err());
    }
}
