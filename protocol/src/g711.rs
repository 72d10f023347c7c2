//! ITU-T G.711 companding: 16-bit linear PCM to and from A-law (PCMA,
//! RTP payload type 8) and µ-law (PCMU, payload type 0), as the standard's
//! segment tables define them. Encoding rounds toward zero within a
//! segment (truncation of the low bits), as the reference does.

/// A-law: 13-bit magnitude, 8 segments; even bits inverted (XOR 0x55).
pub fn alaw_encode(pcm: i16) -> u8 {
    let sign: u8 = if pcm >= 0 { 0x80 } else { 0x00 };
    // Work on the 13-bit magnitude (the standard's input scale).
    let mut mag = if pcm >= 0 {
        i32::from(pcm)
    } else {
        -(i32::from(pcm)) - 1
    } >> 3;
    mag = mag.min(0x0FFF);
    let code = if mag < 32 {
        (mag >> 1) as u8
    } else {
        // Segment = position of the highest bit above bit 4.
        let seg = (31 - (mag as u32).leading_zeros()) as i32 - 4;
        ((seg as u8) << 4) | (((mag >> seg) & 0x0F) as u8)
    };
    (sign | code) ^ 0x55
}

pub fn alaw_decode(code: u8) -> i16 {
    let c = code ^ 0x55;
    let seg = i32::from((c >> 4) & 0x07);
    let mant = i32::from(c & 0x0F);
    let mag = if seg == 0 {
        (mant << 4) + 8
    } else {
        ((mant << 4) + 0x108) << (seg - 1)
    };
    if c & 0x80 != 0 {
        mag as i16
    } else {
        -mag as i16
    }
}

const ULAW_BIAS: i32 = 0x84;
const ULAW_CLIP: i32 = 32_635;

/// µ-law: biased magnitude, 8 segments, all bits inverted.
pub fn ulaw_encode(pcm: i16) -> u8 {
    let mut v = i32::from(pcm);
    let sign: u8 = if v < 0 {
        v = -v;
        0x80
    } else {
        0
    };
    v = v.min(ULAW_CLIP) + ULAW_BIAS;
    let seg = (31 - (v as u32).leading_zeros()) as i32 - 7;
    let mant = ((v >> (seg + 3)) & 0x0F) as u8;
    !(sign | ((seg as u8) << 4) | mant)
}

pub fn ulaw_decode(code: u8) -> i16 {
    let c = !code;
    let seg = i32::from((c >> 4) & 0x07);
    let mant = i32::from(c & 0x0F);
    let mag = (((mant << 3) + ULAW_BIAS) << seg) - ULAW_BIAS;
    if c & 0x80 != 0 {
        -mag as i16
    } else {
        mag as i16
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standards_end_points_and_zero() {
        // G.711 Table 1 (A-law) and Table 2 (µ-law), as transmitted.
        assert_eq!(alaw_decode(0xD5), 8);
        assert_eq!(alaw_decode(0x55), -8);
        assert_eq!(alaw_decode(0xAA), 32_256);
        assert_eq!(alaw_decode(0x2A), -32_256);
        assert_eq!(alaw_encode(0), 0xD5);
        assert_eq!(alaw_encode(i16::MAX), 0xAA);
        assert_eq!(alaw_encode(i16::MIN), 0x2A);
        assert_eq!(ulaw_decode(0xFF), 0);
        assert_eq!(ulaw_decode(0x7F), 0);
        assert_eq!(ulaw_decode(0x80), 32_124);
        assert_eq!(ulaw_decode(0x00), -32_124);
        assert_eq!(ulaw_encode(0), 0xFF);
        assert_eq!(ulaw_encode(i16::MAX), 0x80);
        assert_eq!(ulaw_encode(i16::MIN), 0x00);
    }

    #[test]
    fn every_code_decodes_to_a_value_that_encodes_back_to_it() {
        for c in 0..=255u8 {
            assert_eq!(alaw_encode(alaw_decode(c)), c, "A-law {c:#04x}");
            // µ-law has two zeros (0x7F, 0xFF); zero encodes as 0xFF.
            if c != 0x7F {
                assert_eq!(ulaw_encode(ulaw_decode(c)), c, "µ-law {c:#04x}");
            }
        }
    }

    #[test]
    fn encoding_is_monotonic_and_close() {
        let mut last_a = i32::MIN;
        let mut last_u = i32::MIN;
        for x in (i16::MIN..=i16::MAX).step_by(7) {
            let a = i32::from(alaw_decode(alaw_encode(x)));
            let u = i32::from(ulaw_decode(ulaw_encode(x)));
            assert!(a >= last_a && u >= last_u, "not monotonic at {x}");
            last_a = a;
            last_u = u;
            // Quantisation error within half the widest step (1024 A-law,
            // 1024 µ-law at the top segment) plus clipping at the ends.
            assert!((a - i32::from(x)).abs() <= 1024, "A-law {x} -> {a}");
            assert!((u - i32::from(x)).abs() <= 1024 + 700, "µ-law {x} -> {u}");
        }
    }
}
