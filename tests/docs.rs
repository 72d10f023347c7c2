//! docs/protocol.md is for client authors: every example datagram in it must
//! decode, what the server sends must re-encode to exactly the same text, and every MsgType must have one.

use std::collections::BTreeSet;

use spcti_protocol::{Direction, Message, TextEncoding, decode, encode};

fn examples() -> Vec<String> {
    let doc = include_str!("../docs/protocol.md");
    let mut out = Vec::new();
    let mut lines = doc.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "```xml" {
            let body: Vec<&str> = lines.by_ref().take_while(|l| l.trim() != "```").collect();
            out.push(body.join("\n"));
        }
    }
    out
}

#[test]
fn every_example_decodes_and_is_canonical() {
    let examples = examples();
    assert!(examples.len() > 50, "found {} examples", examples.len());
    let mut seen = BTreeSet::new();
    for text in &examples {
        let env = decode(text.as_bytes(), TextEncoding::Utf8)
            .and_then(|e| e.known())
            .unwrap_or_else(|e| panic!("{e}: {text}"));
        seen.insert(env.message.msg_type());
        if env.message.direction() != Some(Direction::FromServer) {
            continue; // requests may be written any valid way; the server's output must match
        }
        let again = encode(&env.message, env.seq.as_deref(), TextEncoding::Utf8);
        assert_eq!(String::from_utf8(again).unwrap(), *text, "not canonical");
    }
    let all: BTreeSet<u32> = Message::CODES.iter().copied().collect();
    let missing: Vec<_> = all.difference(&seen).collect();
    assert!(
        missing.is_empty(),
        "MsgTypes without an example: {missing:?}"
    );
}
