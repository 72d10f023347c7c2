//! What a user-agent server does with a datagram before any transaction
//! sees it: the checks of RFC 3261 §8.2 and §18, in the order that gives
//! the most useful answer (RFC 4475 and RFC 5118 are the tests).

use super::grammar as g;
use super::{Message, StartLine};

/// What this UAS takes: option tags it supports (`Require`) and body
/// types it reads.
#[derive(Debug, Clone)]
pub struct Policy {
    pub supported: Vec<String>,
    pub content_types: Vec<String>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            supported: Vec::new(),
            content_types: [
                "application/sdp",
                "application/dtmf-relay",
                "application/dtmf",
                "multipart/mixed",
                "message/sipfrag",
            ]
            .into_iter()
            .map(str::to_owned)
            .collect(),
        }
    }
}

/// The decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A well-formed request for the transaction layer.
    Request(Message),
    /// A well-formed response for the transaction layer.
    Response(Message),
    /// Answer the request at once with `code` and this reason phrase
    /// (naming the fault); nothing else happens.
    Reply {
        code: u16,
        reason: String,
        request: Message,
    },
    /// Not answerable (no usable Via, or a response): discarded, logged.
    Drop(String),
}

/// Headers a message carries once at most.
const SINGLE: [&str; 7] = [
    "to",
    "from",
    "call-id",
    "cseq",
    "max-forwards",
    "content-length",
    "content-type",
];

pub fn inspect(datagram: &[u8], policy: &Policy) -> Verdict {
    let msg = match Message::parse(datagram) {
        Ok(m) => m,
        Err(e) => return Verdict::Drop(e.to_string()),
    };
    match &msg.start {
        StartLine::Response { .. } => match response(&msg) {
            Ok(()) => Verdict::Response(msg),
            Err(why) => Verdict::Drop(why),
        },
        StartLine::Bad { line, why } if super::is_status_line(line) => {
            Verdict::Drop(format!("a response with a bad status line: {why}"))
        }
        _ => request(msg, policy),
    }
}

/// A response goes on only when it is whole: one Via (a UAC's own), and
/// the headers that match it to a transaction.
fn response(msg: &Message) -> Result<(), String> {
    let StartLine::Response { version, .. } = &msg.start else {
        unreachable!()
    };
    if *version != (2, 0) {
        return Err(format!("SIP/{}.{} is not SIP/2.0", version.0, version.1));
    }
    let vias = msg.values("via")?;
    if vias.len() != 1 {
        return Err(format!(
            "{} Via values in a response to us (one expected)",
            vias.len()
        ));
    }
    g::check_via(vias[0])?;
    common(msg)?;
    Ok(())
}

/// Checks shared by requests and responses: the dialog and transaction
/// headers are there, once, and well-formed.
fn common(msg: &Message) -> Result<(u32, String), String> {
    for h in SINGLE {
        if msg.count(h) > 1 {
            return Err(format!("{} {h} headers (one allowed)", msg.count(h)));
        }
    }
    for h in ["to", "from", "call-id", "cseq"] {
        if msg.count(h) == 0 {
            return Err(format!("no {h} header"));
        }
    }
    for v in msg.values("via")? {
        g::check_via(v)?;
    }
    g::check_address(msg.header("to").unwrap_or(""), "To")?;
    g::check_address(msg.header("from").unwrap_or(""), "From")?;
    g::check_call_id(msg.header("call-id").unwrap_or(""))?;
    let cseq = g::check_cseq(msg.header("cseq").unwrap_or(""))?;
    if let Some(mf) = msg.header("max-forwards") {
        match g::number(mf) {
            Ok(n) if n <= 255 => {}
            _ => return Err(format!("Max-Forwards `{mf}` is not 0 to 255")),
        }
    }
    let contacts = msg.values("contact")?;
    if !(contacts.len() == 1 && contacts[0] == "*") {
        for c in contacts {
            g::check_address(c, "Contact")?;
        }
    }
    if let Some(ct) = msg.header("content-type") {
        g::media_type(ct)?;
    }
    // The other list headers the stack reads split cleanly (quotes and
    // angle brackets balance).
    for h in ["accept", "require", "proxy-require", "supported", "allow"] {
        msg.values(h).map_err(|e| format!("{h}: {e}"))?;
    }
    Ok(cseq)
}

fn request(msg: Message, policy: &Policy) -> Verdict {
    // Without a Via that can be read there is nowhere to send an answer.
    let top_via = msg
        .values("via")
        .ok()
        .and_then(|v| v.first().map(|s| s.to_string()));
    match top_via {
        Some(v) if g::check_via(&v).is_ok() => {}
        Some(v) => return Verdict::Drop(format!("a request whose Via `{v}` cannot be read")),
        None => return Verdict::Drop("a request without Via".into()),
    }
    let reply = |code: u16, reason: String, request: Message| Verdict::Reply {
        code,
        reason,
        request,
    };
    let (method, uri, version) = match &msg.start {
        StartLine::Request {
            method,
            uri,
            version,
        } => (method.clone(), uri.clone(), *version),
        StartLine::Bad { why, .. } => {
            let why = why.clone();
            return reply(400, format!("Bad Request ({why})"), msg);
        }
        StartLine::Response { .. } => unreachable!(),
    };
    if version != (2, 0) {
        return reply(505, "Version Not Supported".into(), msg);
    }
    let cseq = match common(&msg) {
        Ok(c) => c,
        Err(why) => return reply(400, format!("Bad Request ({why})"), msg),
    };
    if cseq.1 != method {
        let why = format!("CSeq method {} is not the request's {method}", cseq.1);
        return reply(400, format!("Bad Request ({why})"), msg);
    }
    match g::scheme(&uri).as_deref() {
        Some("sip" | "sips" | "tel") => {}
        Some(other) => {
            return reply(416, format!("Unsupported URI Scheme ({other})"), msg);
        }
        None => {
            let why = format!("the Request-URI `{uri}` is not a URI");
            return reply(400, format!("Bad Request ({why})"), msg);
        }
    }
    if let Err(why) = g::check_uri(&uri) {
        return reply(400, format!("Bad Request (Request-URI: {why})"), msg);
    }
    if g::has_headers(&uri) {
        // RFC 3261 §19.1.5: headers in a Request-URI are not allowed.
        let why = "a Request-URI may not carry headers (`?`)";
        return reply(400, format!("Bad Request ({why})"), msg);
    }
    let required = match msg.values("require").and_then(|v| g::tokens(&v.join(","))) {
        Ok(r) => r,
        Err(why) => return reply(400, format!("Bad Request (Require: {why})"), msg),
    };
    let unsupported: Vec<String> = required
        .into_iter()
        .filter(|t| !policy.supported.contains(t))
        .collect();
    if !unsupported.is_empty() && method != "CANCEL" && method != "ACK" {
        return reply(
            420,
            format!("Bad Extension ({})", unsupported.join(", ")),
            msg,
        );
    }
    if !msg.body.is_empty() {
        let ct = msg
            .header("content-type")
            .map(g::media_type)
            .transpose()
            .ok()
            .flatten();
        match ct {
            Some(ct) if policy.content_types.contains(&ct) => {}
            Some(ct) => return reply(415, format!("Unsupported Media Type ({ct})"), msg),
            None => {
                let why = "a body without Content-Type";
                return reply(400, format!("Bad Request ({why})"), msg);
            }
        }
        if let Some(enc) = msg.header("content-encoding") {
            if !enc.trim().eq_ignore_ascii_case("identity") {
                return reply(415, format!("Unsupported Media Type (encoding {enc})"), msg);
            }
        }
    }
    // An INVITE is answered with SDP: a caller that accepts none cannot
    // take the answer.
    if method == "INVITE" {
        if let Ok(accept) = msg.values("accept") {
            let takes_sdp = accept.is_empty()
                || accept.iter().any(|a| {
                    let t = a
                        .split(';')
                        .next()
                        .unwrap_or("")
                        .trim()
                        .to_ascii_lowercase();
                    matches!(t.as_str(), "application/sdp" | "application/*" | "*/*")
                });
            if msg.count("accept") > 0 && !takes_sdp {
                return reply(
                    406,
                    "Not Acceptable (answers are application/sdp)".into(),
                    msg,
                );
            }
        }
    }
    Verdict::Request(msg)
}
