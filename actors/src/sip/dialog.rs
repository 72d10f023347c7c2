//! SIP dialogs (RFC 3261 §12), sans I/O: the state an INVITE and its
//! answer set up (tags, the peer's target, the route set, both CSeqs),
//! the requests sent inside it (BYE, re-INVITE, INFO, the ACK of a 2xx),
//! and the checks on requests received inside it.

use spcti_protocol::sip::{Header, Message, StartLine, grammar};

/// A dialog's identity (§12): Call-ID and both tags.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DialogId {
    pub call_id: String,
    pub local_tag: String,
    pub remote_tag: String,
}

/// One dialog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialog {
    pub id: DialogId,
    /// Our From (as the UAC) / To (as the UAS), with our tag.
    pub local: String,
    /// The peer's, with its tag.
    pub remote: String,
    /// Where in-dialog requests go: the peer's Contact URI.
    pub remote_target: String,
    /// Record-Route, in the order our requests use it.
    pub route_set: Vec<String>,
    pub local_cseq: u32,
    pub remote_cseq: Option<u32>,
}

/// The `tag` parameter of a From / To value.
pub fn tag(value: &str) -> Option<String> {
    // Parameters follow the `>` of a name-addr, or the addr-spec itself.
    let params = match value.rfind('>') {
        Some(i) => &value[i + 1..],
        None => value.split_once(';').map_or("", |x| x.1),
    };
    params.split(';').find_map(|p| {
        let (n, v) = p.split_once('=')?;
        n.trim()
            .eq_ignore_ascii_case("tag")
            .then(|| v.trim().to_owned())
    })
}

fn contact_uri(m: &Message) -> Result<String, String> {
    let c = m
        .values("contact")?
        .into_iter()
        .next()
        .ok_or("no Contact to send in-dialog requests to")?;
    grammar::check_address(c, "Contact")
}

fn record_route(m: &Message) -> Result<Vec<String>, String> {
    Ok(m.values("record-route")?
        .into_iter()
        .map(str::to_owned)
        .collect())
}

impl Dialog {
    /// We answered `invite` with `answer` (a 2xx, or a 1xx with a To tag):
    /// the dialog as its UAS.
    pub fn uas(invite: &Message, answer: &Message) -> Result<Dialog, String> {
        let local = answer.header("to").ok_or("no To")?.to_owned();
        let remote = invite.header("from").ok_or("no From")?.to_owned();
        Ok(Dialog {
            id: DialogId {
                call_id: invite.header("call-id").ok_or("no Call-ID")?.to_owned(),
                local_tag: tag(&local).ok_or("our answer has no To tag")?,
                remote_tag: tag(&remote).unwrap_or_default(),
            },
            local,
            remote,
            remote_target: contact_uri(invite)?,
            // The UAS keeps the Record-Route order as received.
            route_set: record_route(invite)?,
            local_cseq: 0,
            remote_cseq: invite.cseq().map(|c| c.0),
        })
    }

    /// Our `invite` was answered by `answer` (a 2xx, or a 1xx with a To
    /// tag): the dialog as its UAC.
    pub fn uac(invite: &Message, answer: &Message) -> Result<Dialog, String> {
        let remote = answer.header("to").ok_or("no To")?.to_owned();
        let local = invite.header("from").ok_or("no From")?.to_owned();
        let mut routes = record_route(answer)?;
        // The UAC uses the answer's Record-Route reversed (§12.1.2).
        routes.reverse();
        Ok(Dialog {
            id: DialogId {
                call_id: invite.header("call-id").ok_or("no Call-ID")?.to_owned(),
                local_tag: tag(&local).ok_or("our INVITE has no From tag")?,
                remote_tag: tag(&remote).ok_or("the answer has no To tag")?,
            },
            local,
            remote,
            remote_target: contact_uri(answer)?,
            route_set: routes,
            local_cseq: invite.cseq().map_or(1, |c| c.0),
            remote_cseq: None,
        })
    }

    /// Whether `m` (a request to us) belongs to this dialog.
    pub fn matches(&self, m: &Message) -> bool {
        m.header("call-id") == Some(self.id.call_id.as_str())
            && m.header("to").and_then(tag).as_deref() == Some(self.id.local_tag.as_str())
            && m.header("from").and_then(tag).unwrap_or_default() == self.id.remote_tag
    }

    /// Checks a request received in the dialog (§12.2.2): a CSeq lower
    /// than the last one is refused (500); a re-INVITE's Contact becomes
    /// the new target. `Err` carries the status and reason to answer.
    pub fn receive(&mut self, req: &Message) -> Result<(), (u16, String)> {
        let (n, method) = req.cseq().ok_or((400, "Bad Request (CSeq)".to_owned()))?;
        if method != "ACK" && method != "CANCEL" {
            if let Some(last) = self.remote_cseq {
                if n <= last {
                    return Err((
                        500,
                        format!("Server Internal Error (CSeq {n} is not after {last})"),
                    ));
                }
            }
            self.remote_cseq = Some(n);
        }
        if method == "INVITE" || method == "UPDATE" {
            if let Ok(target) = contact_uri(req) {
                self.remote_target = target;
            }
        }
        Ok(())
    }

    /// A request inside the dialog (§12.2.1.1): the next CSeq (ACK and
    /// CANCEL keep the INVITE's), our `via` (with a fresh branch) and
    /// `contact`, routed by the route set (loose routing; a strict first
    /// hop gets the target last, as §12.2.1.1 says).
    pub fn request(
        &mut self,
        method: &str,
        via: &str,
        contact: &str,
        body: Option<(&str, Vec<u8>)>,
    ) -> Message {
        let n = if method == "ACK" || method == "CANCEL" {
            self.local_cseq
        } else {
            self.local_cseq += 1;
            self.local_cseq
        };
        let loose = self
            .route_set
            .first()
            .is_none_or(|r| r.to_ascii_lowercase().contains(";lr"));
        let (uri, routes): (String, Vec<String>) = if loose {
            (self.remote_target.clone(), self.route_set.clone())
        } else {
            let first = grammar::check_address(&self.route_set[0], "Route")
                .unwrap_or_else(|_| self.route_set[0].clone());
            let mut rest: Vec<String> = self.route_set[1..].to_vec();
            rest.push(format!("<{}>", self.remote_target));
            (first, rest)
        };
        let h = |name: &str, value: String| Header {
            name: name.into(),
            value,
        };
        let mut headers = vec![
            h("via", via.to_owned()),
            h("max-forwards", "70".into()),
            h("from", self.local.clone()),
            h("to", self.remote.clone()),
            h("call-id", self.id.call_id.clone()),
            h("cseq", format!("{n} {method}")),
        ];
        headers.extend(routes.into_iter().map(|r| h("route", r)));
        if method != "BYE" && method != "ACK" && method != "CANCEL" {
            headers.push(h("contact", contact.to_owned()));
        }
        let body = match body {
            Some((ctype, b)) => {
                headers.push(h("content-type", ctype.to_owned()));
                b
            }
            None => Vec::new(),
        };
        Message {
            start: StartLine::Request {
                method: method.to_owned(),
                uri,
                version: (2, 0),
            },
            headers,
            body,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spcti_protocol::sip::{Verdict, inspect};

    fn msg(text: &str) -> Message {
        match inspect(text.replace('\n', "\r\n").as_bytes(), &Default::default()) {
            Verdict::Request(m) | Verdict::Response(m) => m,
            other => panic!("{other:?}"),
        }
    }

    const INVITE: &str = "INVITE sip:8001@10.0.0.1 SIP/2.0
Via: SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bK1
Record-Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>
Max-Forwards: 70
From: \"Carrier\" <sip:13800138000@10.0.0.9>;tag=abc
To: <sip:8001@10.0.0.1>
Call-ID: d1@10.0.0.9
CSeq: 10 INVITE
Contact: <sip:13800138000@10.0.0.9:5060>
Content-Length: 0

";

    #[test]
    fn as_the_uas_our_bye_goes_to_the_callers_contact_through_its_routes() {
        let invite = msg(INVITE);
        let mut ok = spcti_protocol::sip::Message::parse(
            b"SIP/2.0 200 OK\r\nTo: <sip:8001@10.0.0.1>;tag=xyz\r\n\r\n",
        )
        .unwrap();
        ok.set("call-id", "d1@10.0.0.9");
        let mut d = Dialog::uas(&invite, &ok).unwrap();
        assert_eq!(
            d.id,
            DialogId {
                call_id: "d1@10.0.0.9".into(),
                local_tag: "xyz".into(),
                remote_tag: "abc".into()
            }
        );
        let bye = d.request(
            "BYE",
            "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKb",
            "<sip:spcti@10.0.0.1>",
            None,
        );
        let StartLine::Request { uri, .. } = &bye.start else {
            panic!()
        };
        assert_eq!(uri, "sip:13800138000@10.0.0.9:5060");
        assert_eq!(
            bye.values("route").unwrap(),
            ["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]
        );
        assert_eq!(bye.header("cseq"), Some("1 BYE"));
        assert_eq!(bye.header("from"), Some("<sip:8001@10.0.0.1>;tag=xyz"));
        assert_eq!(
            bye.header("to"),
            Some("\"Carrier\" <sip:13800138000@10.0.0.9>;tag=abc")
        );
        // Our own BYE passes our own inspection.
        assert!(matches!(
            inspect(&bye.encode(), &Default::default()),
            Verdict::Request(_)
        ));

        // The caller's requests: in order, or refused.
        let mut reinvite = msg(&INVITE
            .replace("CSeq: 10", "CSeq: 11")
            .replace("To: <sip:8001@10.0.0.1>", "To: <sip:8001@10.0.0.1>;tag=xyz")
            .replace("10.0.0.9:5060>", "10.0.0.99:5062>"));
        assert!(d.matches(&reinvite));
        assert_eq!(d.receive(&reinvite), Ok(()));
        assert_eq!(d.remote_target, "sip:13800138000@10.0.0.99:5062");
        reinvite.set("cseq", "11 INVITE");
        assert_eq!(d.receive(&reinvite).unwrap_err().0, 500);
        let other = msg(&INVITE.replace(
            "To: <sip:8001@10.0.0.1>",
            "To: <sip:8001@10.0.0.1>;tag=nope",
        ));
        assert!(!d.matches(&other));
    }

    #[test]
    fn as_the_uac_the_routes_are_reversed_and_the_ack_keeps_the_invites_cseq() {
        let mut invite = msg(&INVITE.replace(
            "Record-Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\n",
            "",
        ));
        invite.set("cseq", "3 INVITE");
        let answer = msg("SIP/2.0 200 OK
Via: SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bK1
Record-Route: <sip:p2.example.com;lr>
Record-Route: <sip:p1.example.com;lr>
From: \"Carrier\" <sip:13800138000@10.0.0.9>;tag=abc
To: <sip:8001@10.0.0.1>;tag=seat
Call-ID: d1@10.0.0.9
CSeq: 3 INVITE
Contact: <sip:8001@192.168.1.20:5060;transport=udp>
Content-Length: 0

");
        let mut d = Dialog::uac(&invite, &answer).unwrap();
        assert_eq!(
            d.route_set,
            ["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]
        );
        let ack = d.request(
            "ACK",
            "SIP/2.0/UDP 10.0.0.9;branch=z9hG4bKa",
            "<sip:x@10.0.0.9>",
            None,
        );
        assert_eq!(ack.header("cseq"), Some("3 ACK"));
        let StartLine::Request { uri, .. } = &ack.start else {
            panic!()
        };
        assert_eq!(uri, "sip:8001@192.168.1.20:5060;transport=udp");
        let info = d.request(
            "INFO",
            "SIP/2.0/UDP 10.0.0.9;branch=z9hG4bKi",
            "<sip:x@10.0.0.9>",
            Some((
                "application/dtmf-relay",
                b"Signal=5\r\nDuration=160\r\n".to_vec(),
            )),
        );
        assert_eq!(info.header("cseq"), Some("4 INFO"));
        assert_eq!(info.header("content-type"), Some("application/dtmf-relay"));
        // A strict first hop: it becomes the Request-URI, the target the last Route.
        d.route_set = vec!["<sip:strict.example.com>".into()];
        let bye = d.request("BYE", "SIP/2.0/UDP 10.0.0.9;branch=z9hG4bKs", "", None);
        let StartLine::Request { uri, .. } = &bye.start else {
            panic!()
        };
        assert_eq!(uri, "sip:strict.example.com");
        assert_eq!(
            bye.values("route").unwrap(),
            ["<sip:8001@192.168.1.20:5060;transport=udp>"]
        );
        assert!(
            Dialog::uac(
                &invite,
                &msg("SIP/2.0 200 OK
Via: SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bK1
From: <sip:a@b>;tag=abc
To: <sip:8001@10.0.0.1>
Call-ID: d1@10.0.0.9
CSeq: 3 INVITE
Contact: <sip:8001@192.168.1.20>
Content-Length: 0

")
            )
            .is_err(),
            "an answer without a To tag makes no dialog"
        );
    }

    #[test]
    fn tags_are_read_from_either_form() {
        assert_eq!(tag("<sip:a@b;tag=no>;tag=yes").as_deref(), Some("yes"));
        assert_eq!(tag("sip:a@b;tag=t1").as_deref(), Some("t1"));
        assert_eq!(tag("\"A\" <sip:a@b>"), None);
    }
}
