//! SIP digest authentication (RFC 3261 §22, RFC 2617 with `qop=auth`,
//! MD5 as RFC 8760 keeps it for SIP), sans I/O.
//!
//! Server side ([`Challenger`]): seats' REGISTERs and INVITEs are
//! challenged; nonces carry their own issue time and a keyed hash, so any
//! nonce this server issued is recognised without a table, and one past
//! its lifetime is answered `stale=true` (the phone retries at once with
//! the new nonce, no password prompt). Nonce counts must grow per nonce:
//! a replayed `nc` is refused. Client side ([`answer`]): a trunk's
//! outbound INVITE answers its peer's 401/407.

use std::collections::HashMap;
use std::fmt::Write;
use std::time::Duration;

use md5::{Digest, Md5};

fn md5_hex(parts: &[&str]) -> String {
    let mut h = Md5::new();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            h.update(b":");
        }
        h.update(p.as_bytes());
    }
    h.finalize()
        .iter()
        .fold(String::with_capacity(32), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// The `response` of RFC 2617 §3.2.2.1 (MD5, `qop=auth` or none).
#[allow(clippy::too_many_arguments)]
pub fn response(
    user: &str,
    realm: &str,
    password: &str,
    method: &str,
    uri: &str,
    nonce: &str,
    qop: Option<(&str, &str)>,
) -> String {
    let ha1 = md5_hex(&[user, realm, password]);
    let ha2 = md5_hex(&[method, uri]);
    match qop {
        Some((nc, cnonce)) => md5_hex(&[&ha1, nonce, nc, cnonce, "auth", &ha2]),
        None => md5_hex(&[&ha1, nonce, &ha2]),
    }
}

/// The parameters of a `Digest` challenge or credentials, names
/// lower-cased, quotes removed. `Err` when the value is not
/// `Digest name=value, ...`.
pub fn params(value: &str) -> Result<HashMap<String, String>, String> {
    let value = value.trim();
    let rest = value
        .get(..6)
        .filter(|s| s.eq_ignore_ascii_case("digest"))
        .map(|_| &value[6..])
        .ok_or_else(|| format!("`{value}` is not a Digest challenge or credentials"))?;
    let mut out = HashMap::new();
    let b = rest.as_bytes();
    let mut i = 0;
    loop {
        while i < b.len() && (b[i] == b' ' || b[i] == b'\t' || b[i] == b',') {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let start = i;
        while i < b.len() && b[i] != b'=' {
            i += 1;
        }
        let name = rest[start..i].trim().to_ascii_lowercase();
        if i >= b.len() || name.is_empty() {
            return Err(format!("`{}` is not name=value", rest[start..].trim()));
        }
        i += 1;
        while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
            i += 1;
        }
        let v = if b.get(i) == Some(&b'"') {
            i += 1;
            let mut v = String::new();
            loop {
                match b.get(i) {
                    None => return Err(format!("`{name}`: a quoted string is not closed")),
                    Some(b'"') => {
                        i += 1;
                        break;
                    }
                    Some(b'\\') if i + 1 < b.len() => {
                        v.push(b[i + 1] as char);
                        i += 2;
                    }
                    Some(_) => {
                        let ch = rest[i..].chars().next().unwrap_or('?');
                        v.push(ch);
                        i += ch.len_utf8();
                    }
                }
            }
            v
        } else {
            let s = i;
            while i < b.len() && b[i] != b',' {
                i += 1;
            }
            rest[s..i].trim().to_owned()
        };
        out.insert(name, v);
    }
    Ok(out)
}

/// Why credentials were not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("no credentials")]
    Missing,
    #[error("credentials not understood: {0}")]
    Malformed(String),
    /// A nonce of ours, expired: challenge again with `stale=true`.
    #[error("the nonce is stale")]
    Stale,
    #[error("the nonce was not issued here")]
    UnknownNonce,
    #[error("the nonce count was used before")]
    Replayed,
    #[error("no such user")]
    UnknownUser,
    #[error("wrong password")]
    Wrong,
}

/// Issues and checks digest challenges for one realm.
#[derive(Debug, Clone)]
pub struct Challenger {
    pub realm: String,
    /// Keys the nonces: a nonce cannot be forged without it.
    secret: String,
    pub nonce_lifetime: Duration,
    /// Highest nonce count seen per nonce (replays refused); nonces that
    /// expired are forgotten.
    counts: HashMap<String, (u64, u32)>,
}

impl Challenger {
    /// `secret`: random per server start (a restart makes every nonce
    /// stale, which phones handle without asking the user).
    pub fn new(realm: &str, secret: &str, nonce_lifetime: Duration) -> Self {
        Challenger {
            realm: realm.to_owned(),
            secret: secret.to_owned(),
            nonce_lifetime,
            counts: HashMap::new(),
        }
    }

    /// `issued.salt.mac`: the salt makes every challenge's nonce its own
    /// (nonce counts start again per challenge), the keyed hash makes it
    /// unforgeable.
    fn nonce(&self, issued_s: u64, salt: u64) -> String {
        let mac = md5_hex(&[
            &issued_s.to_string(),
            &salt.to_string(),
            &self.secret,
            &self.realm,
        ]);
        format!("{issued_s:x}.{salt:x}.{mac}")
    }

    /// The `WWW-Authenticate` / `Proxy-Authenticate` value, at `now_s`
    /// (seconds on any clock that only goes forward).
    pub fn challenge(&self, now_s: u64, stale: bool) -> String {
        format!(
            "Digest realm=\"{}\", nonce=\"{}\", algorithm=MD5, qop=\"auth\"{}",
            self.realm,
            self.nonce(now_s, fastrand::u64(..)),
            if stale { ", stale=true" } else { "" }
        )
    }

    /// Checks an `Authorization` value for `method` at `now_s`;
    /// `password` looks the user's password up. Answers the user.
    pub fn verify(
        &mut self,
        authorization: Option<&str>,
        method: &str,
        now_s: u64,
        password: impl Fn(&str) -> Option<String>,
    ) -> Result<String, AuthError> {
        let p = params(authorization.ok_or(AuthError::Missing)?).map_err(AuthError::Malformed)?;
        let get = |k: &str| {
            p.get(k)
                .map(String::as_str)
                .ok_or_else(|| AuthError::Malformed(format!("no `{k}`")))
        };
        let (user, realm, nonce, uri, resp) = (
            get("username")?,
            get("realm")?,
            get("nonce")?,
            get("uri")?,
            get("response")?,
        );
        if realm != self.realm {
            return Err(AuthError::Malformed(format!(
                "realm `{realm}` is not `{}`",
                self.realm
            )));
        }
        if let Some(alg) = p.get("algorithm") {
            if !alg.eq_ignore_ascii_case("MD5") {
                return Err(AuthError::Malformed(format!("algorithm {alg} (MD5 only)")));
            }
        }
        let mut parts = nonce.splitn(3, '.');
        let issued = match (parts.next(), parts.next()) {
            (Some(ts), Some(salt)) => u64::from_str_radix(ts, 16)
                .ok()
                .zip(u64::from_str_radix(salt, 16).ok())
                .filter(|(ts, salt)| self.nonce(*ts, *salt) == nonce)
                .map(|(ts, _)| ts),
            _ => None,
        }
        .ok_or(AuthError::UnknownNonce)?;
        let qop = match p.get("qop").map(String::as_str) {
            Some("auth") => {
                let nc = get("nc")?;
                let cnonce = get("cnonce")?;
                Some((nc, cnonce))
            }
            Some(other) => return Err(AuthError::Malformed(format!("qop={other} (auth only)"))),
            None => None,
        };
        let pw = password(user).ok_or(AuthError::UnknownUser)?;
        if response(user, realm, &pw, method, uri, nonce, qop) != resp.to_ascii_lowercase() {
            return Err(AuthError::Wrong);
        }
        // The password is right; only now may an old nonce be called stale
        // (a stale answer to a wrong password would invite guessing).
        if now_s.saturating_sub(issued) > self.nonce_lifetime.as_secs() {
            return Err(AuthError::Stale);
        }
        let lifetime = self.nonce_lifetime.as_secs();
        self.counts
            .retain(|_, (at, _)| now_s.saturating_sub(*at) <= lifetime);
        if let Some((nc, _)) = qop {
            let n = u32::from_str_radix(nc, 16)
                .map_err(|_| AuthError::Malformed(format!("nc={nc}")))?;
            let seen = self.counts.entry(nonce.to_owned()).or_insert((issued, 0));
            if n <= seen.1 {
                return Err(AuthError::Replayed);
            }
            seen.1 = n;
        }
        Ok(user.to_owned())
    }
}

/// The `Authorization` / `Proxy-Authorization` value answering
/// `challenge` (a 401's WWW-Authenticate or a 407's Proxy-Authenticate)
/// for `method` to `uri`, as request `nc` under this nonce.
pub fn answer(
    challenge: &str,
    user: &str,
    password: &str,
    method: &str,
    uri: &str,
    cnonce: &str,
    nc: u32,
) -> Result<String, String> {
    let p = params(challenge)?;
    let realm = p.get("realm").ok_or("the challenge has no realm")?;
    let nonce = p.get("nonce").ok_or("the challenge has no nonce")?;
    if let Some(alg) = p.get("algorithm") {
        if !alg.eq_ignore_ascii_case("MD5") {
            return Err(format!("algorithm {alg} is not supported (MD5 only)"));
        }
    }
    let auth = p
        .get("qop")
        .is_some_and(|q| q.split(',').any(|x| x.trim().eq_ignore_ascii_case("auth")));
    let nc = format!("{nc:08x}");
    let resp = response(
        user,
        realm,
        password,
        method,
        uri,
        nonce,
        auth.then_some((nc.as_str(), cnonce)),
    );
    let mut v = format!(
        "Digest username=\"{user}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{uri}\", response=\"{resp}\", algorithm=MD5"
    );
    if auth {
        let _ = write!(v, ", qop=auth, nc={nc}, cnonce=\"{cnonce}\"");
    }
    if let Some(opaque) = p.get("opaque") {
        let _ = write!(v, ", opaque=\"{opaque}\"");
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rfc_2617_example_gives_its_response() {
        // RFC 2617 §3.5.
        assert_eq!(
            response(
                "Mufasa",
                "testrealm@host.com",
                "Circle Of Life",
                "GET",
                "/dir/index.html",
                "dcd98b7102dd2f0e8b11d0f600bfb0c093",
                Some(("00000001", "0a4f113b")),
            ),
            "6629fae49393a05397450978507c4ef1"
        );
    }

    fn pw(user: &str) -> Option<String> {
        (user == "8001").then(|| "secret".to_owned())
    }

    #[test]
    fn a_phone_answering_our_challenge_is_let_in_once_per_count() {
        let mut c = Challenger::new("spcti", "k3y", Duration::from_secs(300));
        let ch = c.challenge(1_000, false);
        assert!(ch.contains("qop=\"auth\"") && !ch.contains("stale"));
        let creds = answer(&ch, "8001", "secret", "REGISTER", "sip:spcti", "c1", 1).unwrap();
        assert_eq!(
            c.verify(Some(&creds), "REGISTER", 1_010, pw),
            Ok("8001".into())
        );
        // The same count again is a replay; the next one is fine.
        assert_eq!(
            c.verify(Some(&creds), "REGISTER", 1_011, pw),
            Err(AuthError::Replayed)
        );
        let next = answer(&ch, "8001", "secret", "REGISTER", "sip:spcti", "c1", 2).unwrap();
        assert_eq!(
            c.verify(Some(&next), "REGISTER", 1_012, pw),
            Ok("8001".into())
        );
        // Credentials for one method do not serve another.
        let inv = answer(&ch, "8001", "secret", "REGISTER", "sip:spcti", "c1", 3).unwrap();
        assert_eq!(
            c.verify(Some(&inv), "INVITE", 1_013, pw),
            Err(AuthError::Wrong)
        );
    }

    #[test]
    fn wrong_forged_old_and_missing_credentials_are_refused() {
        let mut c = Challenger::new("spcti", "k3y", Duration::from_secs(300));
        let ch = c.challenge(1_000, false);
        let wrong = answer(&ch, "8001", "guess", "REGISTER", "sip:spcti", "c", 1).unwrap();
        assert_eq!(
            c.verify(Some(&wrong), "REGISTER", 1_001, pw),
            Err(AuthError::Wrong)
        );
        let nobody = answer(&ch, "9999", "x", "REGISTER", "sip:spcti", "c", 1).unwrap();
        assert_eq!(
            c.verify(Some(&nobody), "REGISTER", 1_001, pw),
            Err(AuthError::UnknownUser)
        );
        // A nonce from another server (another secret).
        let other =
            Challenger::new("spcti", "other", Duration::from_secs(300)).challenge(1_000, false);
        let forged = answer(&other, "8001", "secret", "REGISTER", "sip:spcti", "c", 1).unwrap();
        assert_eq!(
            c.verify(Some(&forged), "REGISTER", 1_001, pw),
            Err(AuthError::UnknownNonce)
        );
        // Right password, old nonce: stale (the phone retries by itself).
        let old = answer(&ch, "8001", "secret", "REGISTER", "sip:spcti", "c", 1).unwrap();
        assert_eq!(
            c.verify(Some(&old), "REGISTER", 1_301, pw),
            Err(AuthError::Stale)
        );
        assert!(c.challenge(1_301, true).ends_with("stale=true"));
        // Wrong password, old nonce: wrong, not stale.
        assert_eq!(
            c.verify(Some(&wrong), "REGISTER", 1_301, pw),
            Err(AuthError::Wrong)
        );
        assert_eq!(
            c.verify(None, "REGISTER", 1_000, pw),
            Err(AuthError::Missing)
        );
        assert!(matches!(
            c.verify(Some("Basic dXNlcjpwdw=="), "REGISTER", 1_000, pw),
            Err(AuthError::Malformed(_))
        ));
        assert!(matches!(
            c.verify(Some("Digest username=\"8001"), "REGISTER", 1_000, pw),
            Err(AuthError::Malformed(_))
        ));
    }

    #[test]
    fn a_carriers_challenge_is_answered_with_its_opaque_and_without_qop_when_it_has_none() {
        let ch = "Digest realm=\"carrier\", nonce=\"abc\", opaque=\"xyz\"";
        let v = answer(
            ch,
            "trunk1",
            "pw",
            "INVITE",
            "sip:13900000000@127.0.0.1",
            "cn",
            1,
        )
        .unwrap();
        let p = params(&v).unwrap();
        assert_eq!(p["opaque"], "xyz");
        assert!(!p.contains_key("qop"));
        assert_eq!(
            p["response"],
            response(
                "trunk1",
                "carrier",
                "pw",
                "INVITE",
                "sip:13900000000@127.0.0.1",
                "abc",
                None
            )
        );
        assert!(
            answer(
                "Digest realm=\"r\", nonce=\"n\", algorithm=SHA-256",
                "u",
                "p",
                "INVITE",
                "sip:x",
                "c",
                1
            )
            .is_err()
        );
    }
}
