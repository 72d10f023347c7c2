//! A short reorder window for one RTP stream, for recording and mixing
//! (relaying needs none): packets out of order within the window come out
//! in order, a gap the window cannot wait for comes out as a lost frame
//! (the mixer plays silence there), duplicates and packets too late are
//! dropped. Sans I/O; sequence numbers wrap at 65,536.

use std::collections::BTreeMap;

/// What comes out: a frame in order, or a frame that never came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    Audio(Vec<u8>),
    Lost,
}

#[derive(Debug)]
pub struct Reorder {
    /// How many packets may wait for a missing one.
    window: usize,
    /// The next sequence number due out (extended to 64 bits).
    next: Option<u64>,
    /// The highest extended sequence number seen.
    highest: u64,
    waiting: BTreeMap<u64, Vec<u8>>,
}

impl Reorder {
    pub fn new(window: usize) -> Self {
        Reorder {
            window: window.max(1),
            next: None,
            highest: 0,
            waiting: BTreeMap::new(),
        }
    }

    /// The 16-bit `seq` extended to the one nearest the highest seen.
    fn extend(&self, seq: u16) -> u64 {
        let base = self.highest & !0xFFFF;
        let candidates = [base.wrapping_sub(0x1_0000), base, base + 0x1_0000];
        candidates
            .into_iter()
            .map(|b| b | u64::from(seq))
            .filter(|c| *c < u64::MAX / 2)
            .min_by_key(|c| c.abs_diff(self.highest))
            .unwrap_or(u64::from(seq))
    }

    /// A packet arrives; answers the frames now due, in order.
    pub fn push(&mut self, seq: u16, payload: Vec<u8>) -> Vec<Frame> {
        let s = if self.next.is_none() {
            // The first packet sets the ground: far from zero, so
            // wrapping backwards stays positive.
            let s = 0x1_0000_0000 + u64::from(seq);
            self.next = Some(s);
            self.highest = s;
            s
        } else {
            self.extend(seq)
        };
        let next = self.next.unwrap_or(s);
        if s < next || self.waiting.contains_key(&s) {
            return Vec::new(); // too late, or a duplicate
        }
        self.highest = self.highest.max(s);
        self.waiting.insert(s, payload);
        self.drain(false)
    }

    /// Everything still waiting, gaps as lost frames (end of the call).
    pub fn flush(&mut self) -> Vec<Frame> {
        self.drain(true)
    }

    fn drain(&mut self, all: bool) -> Vec<Frame> {
        let mut out = Vec::new();
        let Some(mut next) = self.next else {
            return out;
        };
        loop {
            if let Some(p) = self.waiting.remove(&next) {
                out.push(Frame::Audio(p));
                next += 1;
            } else if !self.waiting.is_empty() && (all || self.waiting.len() > self.window) {
                // Waited long enough for `next`.
                out.push(Frame::Lost);
                next += 1;
            } else {
                break;
            }
        }
        self.next = Some(next);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn audio(v: &[Frame]) -> Vec<String> {
        v.iter()
            .map(|f| match f {
                Frame::Audio(p) => p[0].to_string(),
                Frame::Lost => "-".into(),
            })
            .collect()
    }

    #[test]
    fn out_of_order_within_the_window_comes_out_in_order() {
        let mut r = Reorder::new(3);
        let mut out = Vec::new();
        for seq in [10u16, 12, 11, 13] {
            out.extend(r.push(seq, vec![seq as u8]));
        }
        assert_eq!(audio(&out), ["10", "11", "12", "13"]);
        // A duplicate and a late packet are dropped.
        assert!(r.push(12, vec![12]).is_empty());
        assert!(r.push(9, vec![9]).is_empty());
    }

    #[test]
    fn a_gap_longer_than_the_window_is_a_lost_frame() {
        let mut r = Reorder::new(2);
        let mut out = r.push(1, vec![1]);
        for seq in [3u16, 4, 5] {
            out.extend(r.push(seq, vec![seq as u8]));
        }
        assert_eq!(audio(&out), ["1", "-", "3", "4", "5"]);
        // Arriving after it was given up: dropped.
        assert!(r.push(2, vec![2]).is_empty());
        let mut r = Reorder::new(5);
        r.push(1, vec![1]);
        r.push(4, vec![4]);
        assert_eq!(audio(&r.flush()), ["-", "-", "4"]);
    }

    #[test]
    fn sequence_numbers_wrap() {
        let mut r = Reorder::new(3);
        let mut out = Vec::new();
        for seq in [65_534u16, 0, 65_535, 1] {
            out.extend(r.push(seq, vec![(seq % 251) as u8]));
        }
        assert_eq!(
            audio(&out),
            [
                (65_534 % 251).to_string(),
                (65_535 % 251).to_string(),
                "0".into(),
                "1".into()
            ]
        );
    }
}
