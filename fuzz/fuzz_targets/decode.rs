//! Any bytes into the decoder, in both encodings: it must answer, never
//! panic; whatever it accepts must encode and decode back to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spcti_protocol::{MAX_DATAGRAM, TextEncoding, decode, encode, from_json, to_json};

fuzz_target!(|data: &[u8]| {
    for enc in [TextEncoding::Utf8, TextEncoding::Gbk] {
        if let Ok(env) = decode(data, enc) {
            let bytes = encode(&env.message, env.seq.as_deref(), enc);
            if bytes.len() > MAX_DATAGRAM {
                // Escaping can grow a datagram that was just under the limit.
                continue;
            }
            let back = decode(&bytes, enc).expect("re-decode of our own encoding");
            assert_eq!(back, env);
            assert_eq!(from_json(&to_json(&env)).expect("json bridge"), env);
        }
    }
});
