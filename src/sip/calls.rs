//! What the SIP switch writes and reads about calls, apart from its state:
//! the requests it starts, Q.850 causes to and from SIP, the user parts
//! of URIs.

use std::net::SocketAddr;

use spcti_actors::sip::transaction::final_response;
use spcti_protocol::Cause;
use spcti_protocol::sip::{Header, Message, grammar};

/// A new branch for a request of ours (RFC 3261's magic cookie first).
pub fn branch() -> String {
    format!("z9hG4bK{:016x}", fastrand::u64(..))
}

/// Our Via for a request, from `local`.
pub fn via(local: SocketAddr) -> String {
    format!("SIP/2.0/UDP {local};branch={};rport", branch())
}

/// Our Contact.
pub fn contact(local: SocketAddr) -> String {
    format!("<sip:spcti@{local}>")
}

/// The user part of a URI in a header value (`"A" <sip:8001@h>;tag=x`),
/// or of a bare URI.
pub fn user_of(value: &str) -> Option<String> {
    let uri = if value.contains('<') {
        grammar::check_address(value, "address").ok()?
    } else {
        // A bare addr-spec (or a Request-URI): the user part ends at the
        // `@`; what follows the host is parameters.
        value.to_owned()
    };
    let rest = uri.split_once(':')?.1;
    let (user, _) = rest.split_once('@')?;
    let user = user.split([';', ':']).next().unwrap_or(user);
    Some(
        percent_encoding::percent_decode_str(user)
            .decode_utf8_lossy()
            .into_owned(),
    )
}

/// The calling number of an INVITE: P-Asserted-Identity when present,
/// else the From.
pub fn caller_of(invite: &Message) -> String {
    invite
        .header("p-asserted-identity")
        .and_then(user_of)
        .or_else(|| invite.header("from").and_then(user_of))
        .unwrap_or_default()
}

/// The dialed number: the Request-URI's user part.
pub fn callee_of(invite: &Message) -> String {
    match &invite.start {
        spcti_protocol::sip::StartLine::Request { uri, .. } => user_of(uri).unwrap_or_default(),
        _ => String::new(),
    }
}

/// A new INVITE (not in a dialog) from `caller` to `uri`.
pub fn invite(
    local: SocketAddr,
    uri: &str,
    caller: &str,
    to: &str,
    call_id: &str,
    cseq: u32,
    sdp: Vec<u8>,
) -> Message {
    let h = |name: &str, value: String| Header {
        name: name.into(),
        value,
    };
    let host = local.ip();
    let headers = vec![
        h("via", via(local)),
        h("max-forwards", "70".into()),
        h(
            "from",
            format!("<sip:{caller}@{host}>;tag={:x}", fastrand::u64(..)),
        ),
        h("to", format!("<{to}>")),
        h("call-id", call_id.to_owned()),
        h("cseq", format!("{cseq} INVITE")),
        h("contact", contact(local)),
        h("allow", spcti_actors::sip::endpoint::ALLOW.into()),
        h("content-type", "application/sdp".into()),
    ];
    Message::request("INVITE", uri, headers, sdp)
}

/// The same INVITE again with credentials (after a 401/407): a new
/// branch, the next CSeq, `header` carrying `creds`.
pub fn with_credentials(
    first: &Message,
    local: SocketAddr,
    header: &str,
    creds: String,
) -> Message {
    let mut m = first.clone();
    m.set("via", via(local));
    let n = first.cseq().map_or(1, |c| c.0) + 1;
    m.set("cseq", format!("{n} INVITE"));
    m.set(header, creds);
    m
}

/// The CANCEL of our INVITE (§9.1): its Request-URI, top Via, From, To,
/// Call-ID and CSeq number.
pub fn cancel(invite: &Message) -> Message {
    let uri = match &invite.start {
        spcti_protocol::sip::StartLine::Request { uri, .. } => uri.clone(),
        _ => String::new(),
    };
    let mut headers = Vec::new();
    for name in ["via", "max-forwards", "from", "to", "call-id"] {
        if let Some(v) = invite.headers.iter().find(|h| h.name == name) {
            headers.push(v.clone());
        }
    }
    let n = invite.cseq().map_or(1, |c| c.0);
    headers.push(Header {
        name: "cseq".into(),
        value: format!("{n} CANCEL"),
    });
    Message::request("CANCEL", &uri, headers, Vec::new())
}

/// The Q.850 cause of a `Reason: Q.850;cause=N` header, if any.
pub fn reason_cause(m: &Message) -> Option<Cause> {
    m.values("reason").ok()?.into_iter().find_map(|r| {
        let mut parts = r.split(';');
        if !parts.next()?.trim().eq_ignore_ascii_case("q.850") {
            return None;
        }
        parts.find_map(|p| {
            let (k, v) = p.split_once('=')?;
            k.trim()
                .eq_ignore_ascii_case("cause")
                .then(|| v.trim().parse().ok().map(Cause))?
        })
    })
}

/// A SIP failure as a Q.850 cause (RFC 3398 §7.2.4.1).
pub fn cause_of_status(code: u16) -> Cause {
    Cause(match code {
        401 | 403 | 407 | 603 => 21,
        484 => 28,
        485 => 1,
        404 | 604 => 1,
        408 | 504 => 102,
        410 => 22,
        480 => 18,
        486 | 600 => 17,
        487 => 16,
        488 | 606 => 65,
        500 | 502 | 505 | 513 | 580 => 38,
        501 => 79,
        503 => 34,
        400..=499 => 127,
        _ => 31,
    })
}

/// A Q.850 cause as the status refusing an INVITE (RFC 3398 §8.2.6.1).
pub fn status_of_cause(cause: Cause) -> (u16, &'static str) {
    match cause.0 {
        1..=3 => (404, "Not Found"),
        17 => (486, "Busy Here"),
        18 | 19 => (480, "Temporarily Unavailable"),
        21 => (603, "Decline"),
        22 => (410, "Gone"),
        27 => (502, "Bad Gateway"),
        28 => (484, "Address Incomplete"),
        34 | 38 | 41 | 42 | 47 => (503, "Service Unavailable"),
        102 => (504, "Server Time-out"),
        _ => (480, "Temporarily Unavailable"),
    }
}

/// A refusal of `req` with `code`, carrying the cause as a `Reason`.
pub fn refusal(req: &Message, code: u16, reason: &str, cause: Option<Cause>) -> Message {
    let mut r = final_response(req, code, reason);
    if let Some(c) = cause {
        r.set("reason", format!("Q.850;cause={}", c.0));
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_of_uris_and_addresses() {
        assert_eq!(
            user_of("\"Bob\" <sip:8001@10.0.0.1:5062>;tag=1").as_deref(),
            Some("8001")
        );
        assert_eq!(user_of("sip:*58002%23@h").as_deref(), Some("*58002#"));
        assert_eq!(
            user_of("sip:013900000000;phone-context=x@h").as_deref(),
            Some("013900000000")
        );
        assert_eq!(user_of("sip:h"), None);
        // A `%` before a character of several bytes is kept, not split.
        assert_eq!(user_of("sip:a%é@h").as_deref(), Some("a%é"));
    }

    #[test]
    fn causes_both_ways() {
        assert_eq!(cause_of_status(486), Cause(17));
        assert_eq!(cause_of_status(404), Cause(1));
        assert_eq!(cause_of_status(603), Cause(21));
        assert_eq!(status_of_cause(Cause(17)).0, 486);
        assert_eq!(status_of_cause(Cause(16)).0, 480);
        let m = Message::parse(
            b"BYE sip:a@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:b@h>;tag=2\r\nCall-ID: c\r\nCSeq: 2 BYE\r\nReason: SIP;cause=200, Q.850;cause=17;text=\"busy\"\r\nContent-Length: 0\r\n\r\n",
        )
        .unwrap();
        assert_eq!(reason_cause(&m), Some(Cause(17)));
    }
}
