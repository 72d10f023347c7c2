//! RTCP (RFC 3550 §6) as the media engine speaks it: the compound packet
//! a stream sends every few seconds — a sender report (SR) while it sends
//! audio, else a receiver report (RR), then its CNAME (SDES), then a BYE
//! when the stream ends — and the sender reports it reads back (their
//! NTP time is what the next report's LSR/DLSR echo). Sans I/O.

/// RTCP packet types (RFC 3550 §12.1).
const SR: u8 = 200;
const RR: u8 = 201;
const SDES: u8 = 202;
const BYE: u8 = 203;
/// The SDES item that names the source.
const CNAME: u8 = 1;

/// What a sender says of its own stream (an SR's sender info).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenderInfo {
    /// Wall clock when the report was made, NTP format (RFC 3550 §4).
    pub ntp: u64,
    /// The same instant on the stream's RTP clock.
    pub rtp_ts: u32,
    pub packets: u32,
    pub octets: u32,
}

/// How a source's packets arrived (one report block, RFC 3550 §6.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportBlock {
    pub ssrc: u32,
    /// Lost since the last report, out of 256.
    pub fraction_lost: u8,
    /// Lost since the start (24-bit signed: duplicates can make it < 0).
    pub cumulative_lost: i32,
    /// Cycles of the sequence number << 16 | highest received.
    pub highest_seq: u32,
    /// Interarrival jitter, in RTP timestamp units.
    pub jitter: u32,
    /// The middle 32 bits of the last SR's NTP time from that source.
    pub lsr: u32,
    /// Since that SR arrived, in 1/65536 s.
    pub dlsr: u32,
}

fn header(count: u8, pt: u8, words_after: usize) -> [u8; 4] {
    let len = u16::try_from(words_after).unwrap_or(u16::MAX).to_be_bytes();
    [0x80 | (count & 0x1f), pt, len[0], len[1]]
}

/// The compound packet: an SR when `sender` is given, else an RR, with
/// `blocks` (at most 31), then SDES with `cname`, then a BYE when `bye`.
pub fn compound(
    ssrc: u32,
    sender: Option<&SenderInfo>,
    blocks: &[ReportBlock],
    cname: &str,
    bye: bool,
) -> Vec<u8> {
    let blocks = &blocks[..blocks.len().min(31)];
    let mut out = Vec::with_capacity(96);
    let words = 1 + if sender.is_some() { 5 } else { 0 } + 6 * blocks.len();
    let pt = if sender.is_some() { SR } else { RR };
    out.extend(header(blocks.len() as u8, pt, words));
    out.extend(ssrc.to_be_bytes());
    if let Some(s) = sender {
        out.extend(s.ntp.to_be_bytes());
        out.extend(s.rtp_ts.to_be_bytes());
        out.extend(s.packets.to_be_bytes());
        out.extend(s.octets.to_be_bytes());
    }
    for b in blocks {
        out.extend(b.ssrc.to_be_bytes());
        let lost = b.cumulative_lost.clamp(-0x80_0000, 0x7f_ffff) as u32 & 0x00ff_ffff;
        out.extend(((u32::from(b.fraction_lost) << 24) | lost).to_be_bytes());
        out.extend(b.highest_seq.to_be_bytes());
        out.extend(b.jitter.to_be_bytes());
        out.extend(b.lsr.to_be_bytes());
        out.extend(b.dlsr.to_be_bytes());
    }
    // SDES: one chunk, the CNAME item, an END item, padded to 32 bits.
    let name = &cname.as_bytes()[..cname.len().min(255)];
    let chunk = 4 + 2 + name.len() + 1;
    let padded = chunk.div_ceil(4) * 4;
    out.extend(header(1, SDES, padded / 4));
    out.extend(ssrc.to_be_bytes());
    out.extend([CNAME, name.len() as u8]);
    out.extend(name);
    out.resize(out.len() + padded - (chunk - 1), 0);
    if bye {
        out.extend(header(1, BYE, 1));
        out.extend(ssrc.to_be_bytes());
    }
    out
}

/// The packets of a compound datagram, each whole; `None` when it is not
/// RTCP version 2 or a length runs past the end.
fn packets(mut b: &[u8]) -> Option<Vec<&[u8]>> {
    let mut out = Vec::new();
    while b.len() >= 4 {
        if b[0] >> 6 != 2 {
            return None;
        }
        let len = (usize::from(u16::from_be_bytes([b[2], b[3]])) + 1) * 4;
        if len > b.len() {
            return None;
        }
        out.push(&b[..len]);
        b = &b[len..];
    }
    Some(out)
}

fn word(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// The sender report in a compound packet, if any: the sender's SSRC and
/// the middle 32 bits of its NTP time (what an LSR echoes). `None` for a
/// packet that is not RTCP version 2 or holds no SR.
pub fn sender_report(b: &[u8]) -> Option<(u32, u32)> {
    packets(b)?
        .into_iter()
        .find(|p| p[1] == SR && p.len() >= 28)
        .map(|p| (word(p, 4), word(p, 10)))
}

/// One packet of a compound datagram as read back: its type, and for an
/// SR or RR its report blocks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    pub pt: u8,
    pub blocks: Vec<ReportBlock>,
}

/// Reads a compound datagram (a party's reports, or ours in tests).
pub fn read(b: &[u8]) -> Option<Vec<Packet>> {
    let read_block = |p: &[u8], at: usize| {
        let lost = word(p, at + 4);
        ReportBlock {
            ssrc: word(p, at),
            fraction_lost: (lost >> 24) as u8,
            cumulative_lost: ((lost << 8) as i32) >> 8,
            highest_seq: word(p, at + 8),
            jitter: word(p, at + 12),
            lsr: word(p, at + 16),
            dlsr: word(p, at + 20),
        }
    };
    Some(
        packets(b)?
            .into_iter()
            .map(|p| {
                let first = match p[1] {
                    SR => Some(28),
                    RR => Some(8),
                    _ => None,
                };
                let count = usize::from(p[0] & 0x1f);
                let blocks = first
                    .map(|f| {
                        (0..count)
                            .map(|i| f + 24 * i)
                            .take_while(|at| at + 24 <= p.len())
                            .map(|at| read_block(p, at))
                            .collect()
                    })
                    .unwrap_or_default();
                Packet { pt: p[1], blocks }
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block() -> ReportBlock {
        ReportBlock {
            ssrc: 0x0102_0304,
            fraction_lost: 64,
            cumulative_lost: -3,
            highest_seq: 0x0001_0005,
            jitter: 42,
            lsr: 0xaabb_ccdd,
            dlsr: 65536,
        }
    }

    #[test]
    fn a_sender_report_is_laid_out_as_rfc_3550_says() {
        let s = SenderInfo {
            ntp: 0x1122_3344_5566_7788,
            rtp_ts: 1000,
            packets: 7,
            octets: 1120,
        };
        let p = compound(0xdead_beef, Some(&s), &[block()], "ab", false);
        // SR: 2 + 5 + 6 words after the header's first.
        assert_eq!(&p[..4], &[0x81, 200, 0, 12]);
        assert_eq!(&p[4..8], &0xdead_beefu32.to_be_bytes());
        assert_eq!(&p[8..16], &0x1122_3344_5566_7788u64.to_be_bytes());
        assert_eq!(&p[16..20], &1000u32.to_be_bytes());
        assert_eq!(&p[20..24], &7u32.to_be_bytes());
        assert_eq!(&p[24..28], &1120u32.to_be_bytes());
        // The block: fraction 64, cumulative -3 as 24-bit two's complement.
        assert_eq!(&p[28..32], &0x0102_0304u32.to_be_bytes());
        assert_eq!(&p[32..36], &[64, 0xff, 0xff, 0xfd]);
        assert_eq!(&p[40..44], &42u32.to_be_bytes());
        assert_eq!(&p[44..48], &0xaabb_ccddu32.to_be_bytes());
        // SDES after 52 bytes: SSRC, CNAME "ab", END, padded to 12 bytes.
        assert_eq!(&p[52..56], &[0x81, 202, 0, 3]);
        assert_eq!(&p[56..60], &0xdead_beefu32.to_be_bytes());
        assert_eq!(&p[60..64], &[1, 2, b'a', b'b']);
        assert_eq!(&p[64..68], &[0, 0, 0, 0]);
        assert_eq!(p.len(), 68);
        assert_eq!(sender_report(&p), Some((0xdead_beef, 0x3344_5566)));
    }

    #[test]
    fn a_receiver_report_and_a_bye() {
        let p = compound(9, None, &[block()], "spcti", true);
        assert_eq!(&p[..4], &[0x81, 201, 0, 7]);
        // SDES: 4 + 2 + 5 + 1 = 12 bytes of chunk: 3 words.
        assert_eq!(&p[32..36], &[0x81, 202, 0, 3]);
        let bye = &p[p.len() - 8..];
        assert_eq!(bye, &[0x81, 203, 0, 1, 0, 0, 0, 9]);
        assert_eq!(sender_report(&p), None, "no SR in it");
        // Every packet's length word adds up to the whole.
        let mut b = &p[..];
        while !b.is_empty() {
            let len = (usize::from(u16::from_be_bytes([b[2], b[3]])) + 1) * 4;
            b = &b[len..];
        }
    }

    #[test]
    fn a_report_reads_back_as_written() {
        let p = compound(9, None, &[block(), block()], "spcti", true);
        let got = read(&p).unwrap();
        let types: Vec<u8> = got.iter().map(|x| x.pt).collect();
        assert_eq!(types, [201, 202, 203]);
        assert_eq!(got[0].blocks, [block(), block()]);
        assert!(got[1].blocks.is_empty());
        assert_eq!(read(&p[..p.len() - 2]), None, "a length past the end");
    }

    #[test]
    fn what_is_not_rtcp_reads_as_no_report() {
        assert_eq!(sender_report(&[]), None);
        assert_eq!(sender_report(&[0x00, 200, 0, 6]), None, "version 0");
        assert_eq!(sender_report(&[0x80, 200, 0, 60, 1, 2]), None, "too short");
    }
}
