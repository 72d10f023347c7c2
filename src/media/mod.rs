//! The media engine's sans-I/O parts (docs/architecture.md "The SIP
//! stack"): RFC 4733 keys in and out (`dtmf`), the reorder window for
//! recording (`reorder`), and G.711 frames decoded and mixed into the
//! 16-bit PCM a call's recording holds. The RTP tasks that use them come
//! with the SIP driver.

pub mod dtmf;
pub mod engine;
pub mod reorder;
pub mod rtcp;

use spcti_actors::sip::sdp::Codec;
use spcti_protocol::g711;

/// A G.711 payload as 16-bit PCM.
pub fn decode(codec: Codec, payload: &[u8]) -> Vec<i16> {
    match codec {
        Codec::Pcma => payload.iter().map(|b| g711::alaw_decode(*b)).collect(),
        Codec::Pcmu => payload.iter().map(|b| g711::ulaw_decode(*b)).collect(),
    }
}

/// 16-bit PCM as a G.711 payload.
pub fn encode(codec: Codec, pcm: &[i16]) -> Vec<u8> {
    match codec {
        Codec::Pcma => pcm.iter().map(|s| g711::alaw_encode(*s)).collect(),
        Codec::Pcmu => pcm.iter().map(|s| g711::ulaw_encode(*s)).collect(),
    }
}

/// Both parties' audio for the same 20 ms, mixed (the recording hears
/// both): sample by sample, saturating; a side with less (a lost frame)
/// is silence there.
pub fn mix(a: &[i16], b: &[i16]) -> Vec<i16> {
    (0..a.len().max(b.len()))
        .map(|i| {
            let x = a.get(i).copied().unwrap_or(0);
            let y = b.get(i).copied().unwrap_or(0);
            x.saturating_add(y)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tone_survives_the_codec_and_the_mix_keeps_both_sides() {
        // 1 kHz at 8 kHz: a period of 8 samples.
        let tone: Vec<i16> = (0..160)
            .map(|n| (8_000.0 * (2.0 * std::f64::consts::PI * f64::from(n) / 8.0).sin()) as i16)
            .collect();
        for codec in [Codec::Pcma, Codec::Pcmu] {
            let back = decode(codec, &encode(codec, &tone));
            let err: f64 = tone
                .iter()
                .zip(&back)
                .map(|(a, b)| f64::from(a - b).powi(2))
                .sum::<f64>()
                / 160.0;
            let power: f64 = tone.iter().map(|a| f64::from(*a).powi(2)).sum::<f64>() / 160.0;
            // G.711 keeps well over 30 dB of signal to noise on a loud tone.
            assert!(10.0 * (power / err).log10() > 30.0, "{codec:?}");
        }
        let m = mix(&[1_000, i16::MAX, -5], &[2_000, 10]);
        assert_eq!(m, [3_000, i16::MAX, -5]);
    }
}
