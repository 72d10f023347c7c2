//! A stream's RTCP bookkeeping (RFC 3550 §6.4, appendix A): how the
//! party's packets arrive (loss, the highest sequence number, jitter, the
//! last sender report), what we sent, and when the next report is due.
//! Sans I/O: the media task passes in packets and times, and sends what
//! [`Rtcp::report`] builds.

use std::time::Duration;

use spcti_protocol::rtcp::{ReportBlock, SenderInfo, compound};

/// RFC 3550 A.1: a jump this far ahead is a restart, not loss.
const MAX_DROPOUT: u16 = 3000;
/// ... and this far behind, a late packet.
const MAX_MISORDER: u16 = 100;
/// The report interval's centre: RFC 3550's minimum (§6.2); each interval
/// is drawn from 0.5–1.5 times it so streams do not report in step.
pub const INTERVAL: Duration = Duration::from_secs(5);

/// The party's stream as we receive it.
#[derive(Debug, Clone, Default)]
struct Source {
    ssrc: u32,
    base_seq: u16,
    max_seq: u16,
    /// Sequence number wraps, << 16.
    cycles: u32,
    /// A large jump is believed only when the next packet follows it.
    bad_seq: Option<u16>,
    received: u32,
    expected_prior: u32,
    received_prior: u32,
    /// Arrival minus RTP timestamp of the last packet, in RTP units.
    transit: Option<i64>,
    /// Interarrival jitter × 16 (A.8's integer form).
    jitter: u32,
    /// The last SR from it: the middle of its NTP time, and when it came.
    last_sr: Option<(u32, Duration)>,
}

impl Source {
    fn new(ssrc: u32, seq: u16) -> Source {
        Source {
            ssrc,
            base_seq: seq,
            max_seq: seq,
            ..Default::default()
        }
    }

    fn restart(&mut self, seq: u16) {
        let (ssrc, last_sr) = (self.ssrc, self.last_sr);
        *self = Source {
            last_sr,
            ..Source::new(ssrc, seq)
        };
    }

    /// RFC 3550 A.1's `update_seq`: whether the packet counts.
    fn sequence(&mut self, seq: u16) -> bool {
        let delta = seq.wrapping_sub(self.max_seq);
        if delta < MAX_DROPOUT {
            if seq < self.max_seq {
                self.cycles = self.cycles.wrapping_add(1 << 16);
            }
            self.max_seq = seq;
        } else if delta <= u16::MAX - MAX_MISORDER {
            // A big jump: the party restarted its stream, if the next
            // packet follows this one.
            if self.bad_seq == Some(seq) {
                self.restart(seq);
            } else {
                self.bad_seq = Some(seq.wrapping_add(1));
                return false;
            }
        }
        // Else a duplicate or a late packet: it counts, max_seq stays.
        self.bad_seq = None;
        true
    }

    fn block(&mut self, now: Duration) -> ReportBlock {
        let extended = self.cycles.wrapping_add(u32::from(self.max_seq));
        let expected = extended
            .wrapping_sub(u32::from(self.base_seq))
            .wrapping_add(1);
        let lost = i64::from(expected) - i64::from(self.received);
        let expected_interval = expected.wrapping_sub(self.expected_prior);
        let received_interval = self.received.wrapping_sub(self.received_prior);
        self.expected_prior = expected;
        self.received_prior = self.received;
        let lost_interval = i64::from(expected_interval) - i64::from(received_interval);
        let fraction_lost = match expected_interval {
            0 => 0,
            _ if lost_interval <= 0 => 0,
            n => ((lost_interval << 8) / i64::from(n)).min(255) as u8,
        };
        let (lsr, dlsr) = match self.last_sr {
            Some((mid, at)) => {
                let delay = now.saturating_sub(at);
                (mid, (delay.as_micros() * 65536 / 1_000_000) as u32)
            }
            None => (0, 0),
        };
        ReportBlock {
            ssrc: self.ssrc,
            fraction_lost,
            cumulative_lost: lost.clamp(-0x80_0000, 0x7f_ffff) as i32,
            highest_seq: extended,
            jitter: self.jitter >> 4,
            lsr,
            dlsr,
        }
    }
}

/// One stream's RTCP state. Times are since the stream opened.
#[derive(Debug, Clone)]
pub struct Rtcp {
    ssrc: u32,
    cname: String,
    source: Option<Source>,
    packets: u32,
    octets: u32,
    /// Whether we sent audio since the last report (then it is an SR).
    sent_since: bool,
}

impl Rtcp {
    pub fn new(ssrc: u32) -> Rtcp {
        Rtcp {
            ssrc,
            // RFC 7022: a CNAME of its own per stream, nothing about the host.
            cname: format!("{ssrc:08x}@spcti"),
            source: None,
            packets: 0,
            octets: 0,
            sent_since: false,
        }
    }

    /// An RTP packet from the party (audio or RFC 4733: one sequence),
    /// arrived at `at`.
    pub fn received(&mut self, ssrc: u32, seq: u16, rtp_ts: u32, at: Duration) {
        let s = match &mut self.source {
            Some(s) if s.ssrc == ssrc => {
                if !s.sequence(seq) {
                    return;
                }
                s
            }
            // The first packet, or a new source (a re-INVITE moved the
            // party): counting starts here.
            _ => self.source.insert(Source::new(ssrc, seq)),
        };
        s.received = s.received.wrapping_add(1);
        // A.8: jitter from arrival times on the 8 kHz RTP clock.
        let arrival = (at.as_micros() * 8 / 1000) as i64;
        let transit = arrival - i64::from(rtp_ts);
        if let Some(prev) = s.transit {
            let d = (transit - prev).unsigned_abs().min(u64::from(u32::MAX)) as u32;
            s.jitter = s
                .jitter
                .wrapping_add(d)
                .wrapping_sub((s.jitter.wrapping_add(8)) >> 4);
        }
        s.transit = Some(transit);
    }

    /// A sender report from the party: its SSRC and the middle of its NTP
    /// time, arrived at `at`.
    pub fn sender_report(&mut self, ssrc: u32, ntp_mid: u32, at: Duration) {
        if let Some(s) = self.source.as_mut().filter(|s| s.ssrc == ssrc) {
            s.last_sr = Some((ntp_mid, at));
        }
    }

    /// An RTP packet of ours with `payload` bytes went out.
    pub fn sent(&mut self, payload: usize) {
        self.packets = self.packets.wrapping_add(1);
        self.octets = self.octets.wrapping_add(payload as u32);
        self.sent_since = true;
    }

    /// The compound report due now: an SR if we sent since the last one,
    /// else an RR; with a block for the party once it has sent; a BYE at
    /// the end (`bye`). `ntp` and `rtp_ts`: now on the wall clock and on
    /// our RTP clock.
    pub fn report(&mut self, at: Duration, ntp: u64, rtp_ts: u32, bye: bool) -> Vec<u8> {
        let sender = self.sent_since.then_some(SenderInfo {
            ntp,
            rtp_ts,
            packets: self.packets,
            octets: self.octets,
        });
        self.sent_since = false;
        let blocks: Vec<ReportBlock> = self.source.iter_mut().map(|s| s.block(at)).collect();
        compound(self.ssrc, sender.as_ref(), &blocks, &self.cname, bye)
    }
}

/// The wall clock in NTP format (seconds since 1900, 32.32 fixed point).
pub fn ntp_now() -> u64 {
    const UNIX_TO_NTP: u64 = 2_208_988_800;
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    ((d.as_secs() + UNIX_TO_NTP) << 32) | ((u64::from(d.subsec_nanos()) << 32) / 1_000_000_000)
}

/// The next report interval: 0.5–1.5 × [`INTERVAL`] (RFC 3550 §6.3.1).
pub fn next_interval() -> Duration {
    INTERVAL.mul_f64(0.5 + fastrand::f64())
}

#[cfg(test)]
mod tests {
    use super::*;
    use spcti_protocol::rtcp::sender_report;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// The first report block of a compound packet (an RR's or SR's).
    fn block_of(p: &[u8]) -> (u8, i32, u32, u32, u32, u32) {
        let b = spcti_protocol::rtcp::read(p).expect("RTCP")[0].blocks[0];
        (
            b.fraction_lost,
            b.cumulative_lost,
            b.highest_seq,
            b.jitter,
            b.lsr,
            b.dlsr,
        )
    }

    #[test]
    fn loss_is_counted_per_interval_and_in_all() {
        let mut r = Rtcp::new(1);
        // 10 packets sent, 2 lost (seq 3 and 7), 20 ms apart.
        for seq in (0u16..10).filter(|s| *s != 3 && *s != 7) {
            r.received(77, seq, u32::from(seq) * 160, ms(u64::from(seq) * 20));
        }
        let p = r.report(ms(300), 0, 0, false);
        assert_eq!(p[1], 201, "we sent nothing: an RR");
        let (fraction, lost, highest, jitter, _, _) = block_of(&p);
        assert_eq!((lost, highest), (2, 9));
        assert_eq!(fraction, (2 * 256 / 10) as u8);
        assert_eq!(jitter, 0, "packets arrived exactly on time");
        // The next interval: 5 more, none lost.
        for seq in 10u16..15 {
            r.received(77, seq, u32::from(seq) * 160, ms(u64::from(seq) * 20));
        }
        let (fraction, lost, highest, ..) = block_of(&r.report(ms(600), 0, 0, false));
        assert_eq!((fraction, lost, highest), (0, 2, 14));
    }

    #[test]
    fn a_wrapping_sequence_counts_a_cycle_and_a_late_packet_is_no_loss() {
        let mut r = Rtcp::new(1);
        for (i, seq) in [65534u16, 65535, 1, 0, 2].into_iter().enumerate() {
            r.received(5, seq, i as u32 * 160, ms(i as u64 * 20));
        }
        let (fraction, lost, highest, ..) = block_of(&r.report(ms(200), 0, 0, false));
        assert_eq!(highest, (1 << 16) | 2);
        assert_eq!((fraction, lost), (0, 0));
    }

    #[test]
    fn jitter_follows_rfc_3550_a8() {
        let mut r = Rtcp::new(1);
        // Every other packet arrives 10 ms (80 units) late.
        let mut want = 0f64;
        let mut last = None::<i64>;
        for seq in 0u16..50 {
            let late = if seq % 2 == 1 { 10 } else { 0 };
            let at = u64::from(seq) * 20 + late;
            r.received(9, seq, u32::from(seq) * 160, ms(at));
            let transit = (at * 8) as i64 - i64::from(seq) * 160;
            if let Some(l) = last {
                want += ((transit - l).abs() as f64 - want) / 16.0;
            }
            last = Some(transit);
        }
        let (_, _, _, jitter, ..) = block_of(&r.report(ms(1000), 0, 0, false));
        assert!(
            (f64::from(jitter) - want).abs() <= 1.0,
            "jitter {jitter}, RFC 3550's estimate {want:.1}"
        );
    }

    #[test]
    fn a_sender_reports_when_it_sent_and_echoes_the_partys_last_sr() {
        let mut r = Rtcp::new(0xabc);
        r.received(7, 100, 0, ms(0));
        r.sender_report(7, 0x1234_5678, ms(500));
        r.sender_report(8, 0xffff_ffff, ms(600));
        r.sent(160);
        r.sent(160);
        let p = r.report(ms(1500), 0x0102_0304_0506_0708, 4242, true);
        assert_eq!(p[1], 200);
        assert_eq!(sender_report(&p), Some((0xabc, 0x0304_0506)));
        assert_eq!(
            &p[20..28],
            &[0, 0, 0, 2, 0, 0, 1, 64],
            "2 packets, 320 octets"
        );
        let (.., lsr, dlsr) = block_of(&p);
        // The other source's SR is not ours to echo; 1 s since the SR.
        assert_eq!((lsr, dlsr), (0x1234_5678, 65536));
        assert_eq!(&p[p.len() - 8..p.len() - 4], &[0x81, 203, 0, 1], "a BYE");
        // Nothing sent since: the next is an RR.
        assert_eq!(r.report(ms(2000), 0, 0, false)[1], 201);
    }

    #[test]
    fn a_restarted_stream_is_believed_on_its_second_packet() {
        let mut r = Rtcp::new(1);
        for seq in 0u16..5 {
            r.received(3, seq, 0, ms(0));
        }
        r.received(3, 40_000, 0, ms(0));
        r.received(3, 40_001, 0, ms(0));
        r.received(3, 40_002, 0, ms(0));
        let (_, lost, highest, ..) = block_of(&r.report(ms(100), 0, 0, false));
        assert_eq!((lost, highest), (0, 40_002));
    }

    #[test]
    fn intervals_are_spread_around_five_seconds() {
        for _ in 0..100 {
            let d = next_interval();
            assert!(d >= ms(2500) && d <= ms(7500), "{d:?}");
        }
        let n = ntp_now();
        assert!(n >> 32 > 3_900_000_000, "after 2023 in NTP seconds");
    }
}
