//! Any bytes into the SIP codec's first decision (`sip::inspect`): it must
//! answer, never panic; a message it takes as whole must frame the same
//! way again, and its dialog headers must read.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spcti_protocol::sip::{Message, Policy, Verdict, inspect};

fuzz_target!(|data: &[u8]| {
    match inspect(data, &Policy::default()) {
        Verdict::Request(m) | Verdict::Response(m) => {
            assert_eq!(Message::parse(data).as_ref(), Ok(&m));
            for h in ["via", "contact", "require", "accept"] {
                m.values(h).expect("a message taken as whole has list headers that split");
            }
            assert!(m.header("call-id").is_some() && m.header("cseq").is_some());
        }
        Verdict::Reply { code, reason, request } => {
            assert!((400..700).contains(&code), "{code}");
            assert!(!reason.is_empty());
            assert!(request.header("via").is_some());
        }
        Verdict::Drop(why) => assert!(!why.is_empty()),
    }
});
