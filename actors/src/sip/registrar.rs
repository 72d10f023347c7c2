//! The registrar for SIP seats (RFC 3261 §10.3), sans I/O: a phone's
//! REGISTER for its extension is challenged (digest, [`super::digest`]),
//! then its Contact is bound until it expires; the seat rings there. Each
//! answer is built here, so the driver only sends it.

use std::collections::HashMap;
use std::net::SocketAddr;

use spcti_protocol::sip::{Message, grammar};

use super::digest::{AuthError, Challenger};
use super::transaction::final_response as reply;

/// Where a registered phone is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The Contact URI (the seat's INVITEs go there).
    pub contact: String,
    /// When it lapses, in seconds on the caller's clock.
    pub expires_at: u64,
    pub user_agent: String,
    /// The address the REGISTER came from (replies and NAT checks).
    pub source: SocketAddr,
    call_id: String,
    cseq: u32,
}

/// Registration limits (RFC 3261 §10.3 steps 7-8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub min: u64,
    pub max: u64,
    pub default: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            min: 60,
            max: 3600,
            default: 3600,
        }
    }
}

/// The registrar: the seats' bindings.
#[derive(Debug)]
pub struct Registrar {
    auth: Challenger,
    limits: Limits,
    bindings: HashMap<String, Vec<Binding>>,
}

/// The extension a REGISTER is for: the user part of its To URI.
pub fn extension(req: &Message) -> Option<String> {
    let uri = grammar::check_address(req.header("to")?, "To").ok()?;
    let (user, _) = uri.split_once(':')?.1.rsplit_once('@')?;
    Some(user.split([';', ':']).next().unwrap_or(user).to_owned())
}

impl Registrar {
    pub fn new(auth: Challenger, limits: Limits) -> Self {
        Registrar {
            auth,
            limits,
            bindings: HashMap::new(),
        }
    }

    /// Checks that `req` (a REGISTER, or an INVITE from a seat) carries
    /// `ext`'s digest credentials; `Err` is the answer to send instead
    /// (401 with a fresh or stale challenge, 403, or 400).
    pub fn authorize(
        &mut self,
        req: &Message,
        ext: &str,
        now_s: u64,
        password: impl Fn(&str) -> Option<String>,
    ) -> Result<(), Message> {
        let method = req.method().unwrap_or_default();
        let challenge = |auth: &Challenger, stale: bool| {
            let mut r = reply(req, 401, "Unauthorized");
            r.set("www-authenticate", auth.challenge(now_s, stale));
            r
        };
        match self
            .auth
            .verify(req.header("authorization"), &method, now_s, &password)
        {
            Ok(user) if user == ext => Ok(()),
            Ok(user) => Err(reply(
                req,
                403,
                &format!("Forbidden ({user} may not act for {ext})"),
            )),
            Err(AuthError::Missing) | Err(AuthError::UnknownNonce) => {
                Err(challenge(&self.auth, false))
            }
            Err(AuthError::Stale) => Err(challenge(&self.auth, true)),
            Err(e @ (AuthError::Wrong | AuthError::UnknownUser | AuthError::Replayed)) => {
                Err(reply(req, 403, &format!("Forbidden ({e})")))
            }
            Err(e @ AuthError::Malformed(_)) => Err(reply(req, 400, &format!("Bad Request ({e})"))),
        }
    }

    /// Answers a REGISTER from `source` at `now_s`. `seats` says whether an
    /// extension is a seat here and gives its password.
    pub fn register(
        &mut self,
        req: &Message,
        source: SocketAddr,
        now_s: u64,
        password: impl Fn(&str) -> Option<String>,
    ) -> Message {
        let Some(ext) = extension(req) else {
            return reply(req, 404, "Not Found (the To names no extension)");
        };
        if password(&ext).is_none() {
            return reply(req, 404, &format!("Not Found (no seat {ext})"));
        }
        if let Err(r) = self.authorize(req, &ext, now_s, &password) {
            return r;
        }
        let call_id = req.header("call-id").unwrap_or("").to_owned();
        let cseq = req.cseq().map_or(0, |c| c.0);
        let header_expires = req.header("expires").and_then(|e| grammar::number(e).ok());
        let contacts = match req.values("contact") {
            Ok(c) => c,
            Err(e) => return reply(req, 400, &format!("Bad Request (Contact: {e})")),
        };
        let ua = req.header("user-agent").unwrap_or("").to_owned();
        let list = self.bindings.entry(ext.clone()).or_default();
        if contacts == ["*"] {
            if header_expires != Some(0) {
                return reply(req, 400, "Bad Request (`Contact: *` needs `Expires: 0`)");
            }
            list.clear();
        }
        for c in contacts.iter().filter(|c| **c != "*") {
            let Ok(uri) = grammar::check_address(c, "Contact") else {
                return reply(req, 400, "Bad Request (Contact)");
            };
            let param = c
                .split(';')
                .skip(1)
                .find_map(|p| p.trim().strip_prefix("expires="))
                .and_then(|v| grammar::number(v).ok());
            let expires = param.or(header_expires).unwrap_or(self.limits.default);
            if expires != 0 && expires < self.limits.min {
                let mut r = reply(req, 423, "Interval Too Brief");
                r.set("min-expires", self.limits.min.to_string());
                return r;
            }
            let existing = list.iter().position(|b| b.contact == uri);
            if let Some(i) = existing {
                let b = &list[i];
                // An older REGISTER of the same registration arriving late.
                if b.call_id == call_id && cseq <= b.cseq {
                    return reply(req, 500, "Server Internal Error (out of order REGISTER)");
                }
                list.remove(i);
            }
            if expires > 0 {
                list.push(Binding {
                    contact: uri,
                    expires_at: now_s + expires.min(self.limits.max),
                    user_agent: ua.clone(),
                    source,
                    call_id: call_id.clone(),
                    cseq,
                });
            }
        }
        list.retain(|b| b.expires_at > now_s);
        let mut ok = reply(req, 200, "OK");
        for b in list.iter() {
            ok.headers.push(spcti_protocol::sip::Header {
                name: "contact".into(),
                value: format!("<{}>;expires={}", b.contact, b.expires_at - now_s),
            });
        }
        ok
    }

    /// Where seat `ext` is registered now (the latest binding).
    pub fn binding(&self, ext: &str, now_s: u64) -> Option<&Binding> {
        self.bindings
            .get(ext)?
            .iter()
            .filter(|b| b.expires_at > now_s)
            .max_by_key(|b| b.expires_at)
    }

    /// Drops lapsed bindings; answers the seats left with none.
    pub fn expire(&mut self, now_s: u64) -> Vec<String> {
        let mut gone = Vec::new();
        for (ext, list) in self.bindings.iter_mut() {
            let had = !list.is_empty();
            list.retain(|b| b.expires_at > now_s);
            if had && list.is_empty() {
                gone.push(ext.clone());
            }
        }
        self.bindings.retain(|_, l| !l.is_empty());
        gone.sort();
        gone
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::digest::answer;
    use spcti_protocol::sip::{Verdict, inspect};
    use std::time::Duration;

    fn register(extra: &str, cseq: u32) -> Message {
        let text = format!(
            "REGISTER sip:10.0.0.1 SIP/2.0
Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK{cseq}
Max-Forwards: 70
From: <sip:8001@10.0.0.1>;tag=ph1
To: <sip:8001@10.0.0.1>
Call-ID: reg1@192.168.1.20
CSeq: {cseq} REGISTER
User-Agent: baresip
{extra}Content-Length: 0

"
        )
        .replace('\n', "\r\n");
        match inspect(text.as_bytes(), &Default::default()) {
            Verdict::Request(m) => m,
            other => panic!("{other:?}"),
        }
    }

    fn pw(ext: &str) -> Option<String> {
        matches!(ext, "8001" | "8002").then(|| format!("pw{ext}"))
    }

    fn reg() -> Registrar {
        Registrar::new(
            Challenger::new("spcti", "s3cret", Duration::from_secs(300)),
            Limits::default(),
        )
    }

    fn src() -> SocketAddr {
        "192.168.1.20:5060".parse().unwrap()
    }

    fn authorized(
        r: &mut Registrar,
        extra: &str,
        cseq: u32,
        now: u64,
        password: &str,
        nc: u32,
    ) -> Message {
        let first = r.register(&register(extra, cseq), src(), now, pw);
        assert_eq!(first.code(), Some(401), "{first:?}");
        let ch = first.header("www-authenticate").unwrap().to_owned();
        let creds = answer(&ch, "8001", password, "REGISTER", "sip:10.0.0.1", "cn", nc).unwrap();
        r.register(
            &register(&format!("{extra}Authorization: {creds}\n"), cseq + 1),
            src(),
            now,
            pw,
        )
    }

    #[test]
    fn a_phone_registers_after_the_challenge_and_the_seat_rings_at_its_contact() {
        let mut r = reg();
        let ok = authorized(
            &mut r,
            "Contact: <sip:8001@192.168.1.20:5060>\nExpires: 600\n",
            1,
            1_000,
            "pw8001",
            1,
        );
        assert_eq!(ok.code(), Some(200), "{ok:?}");
        assert_eq!(
            ok.header("contact"),
            Some("<sip:8001@192.168.1.20:5060>;expires=600")
        );
        assert!(super::super::dialog::tag(ok.header("to").unwrap()).is_some());
        let b = r.binding("8001", 1_100).unwrap();
        assert_eq!(
            (b.contact.as_str(), b.user_agent.as_str(), b.source),
            ("sip:8001@192.168.1.20:5060", "baresip", src())
        );
        // It lapses unless refreshed.
        assert!(r.binding("8001", 1_600).is_none());
        assert_eq!(r.expire(1_600), ["8001"]);
        assert!(r.expire(1_700).is_empty());
    }

    #[test]
    fn wrong_unknown_brief_and_removal() {
        let mut r = reg();
        let bad = authorized(
            &mut r,
            "Contact: <sip:8001@192.168.1.20>\n",
            1,
            1_000,
            "guess",
            1,
        );
        assert_eq!(bad.code(), Some(403), "{bad:?}");
        assert!(r.binding("8001", 1_000).is_none());

        let mut unknown = register("Contact: <sip:8009@192.168.1.20>\n", 1);
        unknown.set("to", "<sip:8009@10.0.0.1>");
        assert_eq!(r.register(&unknown, src(), 1_000, pw).code(), Some(404));

        let brief = authorized(
            &mut r,
            "Contact: <sip:8001@192.168.1.20>;expires=10\n",
            3,
            1_000,
            "pw8001",
            1,
        );
        assert_eq!(
            (brief.code(), brief.header("min-expires")),
            (Some(423), Some("60"))
        );

        // Registered, then removed with `Contact: *`.
        let ok = authorized(
            &mut r,
            "Contact: <sip:8001@192.168.1.20>\n",
            5,
            1_000,
            "pw8001",
            1,
        );
        assert_eq!(ok.code(), Some(200));
        assert!(r.binding("8001", 1_001).is_some());
        let star = authorized(&mut r, "Contact: *\nExpires: 0\n", 7, 1_002, "pw8001", 1);
        assert_eq!(star.code(), Some(200), "{star:?}");
        assert!(r.binding("8001", 1_002).is_none());
        let star_bad = authorized(&mut r, "Contact: *\n", 9, 1_003, "pw8001", 1);
        assert_eq!(star_bad.code(), Some(400));
    }

    #[test]
    fn a_stale_nonce_is_rechallenged_without_a_password_prompt_and_a_late_register_refused() {
        let mut r = reg();
        let first = r.register(
            &register("Contact: <sip:8001@192.168.1.20>\n", 1),
            src(),
            1_000,
            pw,
        );
        let ch = first.header("www-authenticate").unwrap().to_owned();
        let creds = answer(&ch, "8001", "pw8001", "REGISTER", "sip:10.0.0.1", "cn", 1).unwrap();
        let late = r.register(
            &register(
                &format!("Contact: <sip:8001@192.168.1.20>\nAuthorization: {creds}\n"),
                2,
            ),
            src(),
            1_400,
            pw,
        );
        assert_eq!(late.code(), Some(401));
        assert!(
            late.header("www-authenticate")
                .unwrap()
                .ends_with("stale=true")
        );
        let ok = authorized(
            &mut r,
            "Contact: <sip:8001@192.168.1.20>\n",
            10,
            2_000,
            "pw8001",
            1,
        );
        assert_eq!(ok.code(), Some(200));
        // The same Call-ID with an older CSeq, arriving after: refused.
        let old = authorized(
            &mut r,
            "Contact: <sip:8001@192.168.1.20>\n",
            5,
            2_001,
            "pw8001",
            2,
        );
        assert_eq!(old.code(), Some(500), "{old:?}");
    }
}
