//! decode(encode(m)) == m for every message type, in both encodings, and the
//! decoder never panics on arbitrary input.

mod strategies;

use std::collections::BTreeSet;

use proptest::prelude::*;
use spcti_protocol::*;

#[test]
fn every_msg_type_has_a_strategy() {
    let covered: BTreeSet<u32> = strategies::all().iter().map(|(c, _)| *c).collect();
    let known: BTreeSet<u32> = Message::CODES.iter().copied().collect();
    assert_eq!(covered, known);
    assert_eq!(
        covered.len(),
        strategies::all().len(),
        "a code is listed twice"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn round_trip_utf8(message in strategies::any_message(), seq in strategies::seq()) {
        let bytes = encode(&message, seq.as_deref(), TextEncoding::Utf8);
        let back = decode(&bytes, TextEncoding::Utf8).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&bytes)));
        prop_assert_eq!(back.seq, seq);
        prop_assert_eq!(back.message, message);
    }

    #[test]
    fn round_trip_gbk(message in strategies::any_message()) {
        let bytes = encode(&message, None, TextEncoding::Gbk);
        let back = decode(&bytes, TextEncoding::Gbk).unwrap();
        prop_assert_eq!(back.message, message);
    }

    #[test]
    fn round_trip_json(message in strategies::any_message(), seq in strategies::seq()) {
        let env = Envelope { message, seq };
        let json = to_json(&env);
        let back = from_json(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
        prop_assert_eq!(back, env);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = decode(&bytes, TextEncoding::Utf8);
        let _ = decode(&bytes, TextEncoding::Gbk);
    }

    #[test]
    fn mangled_datagrams_never_panic(message in strategies::any_message(), cut in any::<usize>(), byte in any::<u8>()) {
        let mut bytes = encode(&message, None, TextEncoding::Utf8);
        let at = cut % (bytes.len() + 1);
        bytes.insert(at, byte);
        let _ = decode(&bytes, TextEncoding::Utf8);
        bytes.truncate(at);
        let _ = decode(&bytes, TextEncoding::Utf8);
    }
}
