//! RFC 4475 ("SIP Torture Test Messages") and RFC 5118 (IPv6) against the
//! SIP codec's first decision (`sip::inspect`): every case as
//! `tests/data/sip-torture/expected.tsv` says (the RFC text of each case is
//! the contract; its README defines the columns), and no byte-level
//! mutation of any case makes it panic.

use spcti_protocol::sip::{Policy, Verdict, inspect};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/data/sip-torture");

fn cases() -> Vec<(String, String, Vec<u8>)> {
    let table = std::fs::read_to_string(format!("{DIR}/expected.tsv")).unwrap();
    table
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            let file = if cols[0].starts_with("rfc5118/") {
                format!("{DIR}/{}", cols[0])
            } else {
                format!("{DIR}/rfc4475/{}", cols[0])
            };
            let bytes = std::fs::read(&file).unwrap_or_else(|e| panic!("{file}: {e}"));
            (cols[0].to_owned(), cols[2].to_owned(), bytes)
        })
        .collect()
}

fn shows(v: &Verdict) -> String {
    match v {
        Verdict::Request(_) => "a request to handle".into(),
        Verdict::Response(_) => "a response to match".into(),
        Verdict::Reply { code, reason, .. } => format!("{code} {reason}"),
        Verdict::Drop(why) => format!("dropped: {why}"),
    }
}

#[test]
fn every_torture_case_gets_the_answer_its_rfc_gives() {
    let policy = Policy::default();
    let cases = cases();
    assert_eq!(cases.len(), 61, "the table lists 61 cases");
    let mut wrong = Vec::new();
    for (name, expect, bytes) in &cases {
        let v = inspect(bytes, &policy);
        let ok = match expect.as_str() {
            // Handled normally: taken, or (a request) answered with
            // anything but 400 — e.g. 416 for a scheme it never serves
            // (RFC 4475 §3.3.3).
            "parse" => match &v {
                Verdict::Request(_) | Verdict::Response(_) => true,
                Verdict::Reply { code, .. } => *code != 400,
                Verdict::Drop(_) => false,
            },
            "reject" => matches!(v, Verdict::Reply { code: 400, .. } | Verdict::Drop(_)),
            "drop" => matches!(v, Verdict::Drop(_)),
            "either" => true,
            code => {
                let code: u16 = code.parse().unwrap_or_else(|_| panic!("{name}: {code}"));
                matches!(v, Verdict::Reply { code: c, .. } if c == code)
            }
        };
        if !ok {
            wrong.push(format!("{name}: expected {expect}, got {}", shows(&v)));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} case(s) wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// Each case with one byte replaced, removed or doubled at every position:
/// whatever the answer, an answer (no panic, no endless loop).
#[test]
fn no_mutation_of_a_torture_case_panics() {
    let policy = Policy::default();
    let mut runs = 0u64;
    for (_, _, bytes) in cases() {
        for i in 0..bytes.len() {
            for b in [0u8, b' ', b':', b'\r', b'\n', b';', b'<', b'"', b'%', 0xff] {
                let mut m = bytes.clone();
                m[i] = b;
                let _ = inspect(&m, &policy);
                runs += 1;
            }
            let mut cut = bytes.clone();
            cut.remove(i);
            let _ = inspect(&cut, &policy);
            let mut twice = bytes.clone();
            twice.insert(i, bytes[i]);
            let _ = inspect(&twice, &policy);
            runs += 2;
        }
    }
    assert!(runs > 100_000, "{runs}");
}
