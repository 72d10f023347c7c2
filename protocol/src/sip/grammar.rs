//! RFC 3261 §25 grammar for the header values the stack reads: URIs,
//! name-addr / addr-spec, Via, CSeq, Call-ID, token lists, media types.
//! Each check is strict (a message that breaks it is answered 400 or
//! dropped, never half-read) and says what is wrong.

/// RFC 3261 `token` characters.
pub fn is_token_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&c)
}

pub fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_token_char)
}

/// `word` characters (Call-ID).
fn is_word_char(c: u8) -> bool {
    is_token_char(c) || b"()<>:\\\"/[]?{}".contains(&c)
}

fn trim(s: &str) -> &str {
    s.trim_matches(|c| c == ' ' || c == '\t')
}

/// Splits `s` at top-level `sep` (outside quoted strings and `<...>`).
/// `Err` on an unbalanced quote or angle bracket.
pub fn split_top(s: &str, sep: u8) -> Result<Vec<&str>, String> {
    let b = s.as_bytes();
    let (mut out, mut start, mut i) = (Vec::new(), 0, 0);
    let (mut quoted, mut angle) = (false, false);
    while i < b.len() {
        match b[i] {
            b'\\' if quoted => i += 1,
            b'"' if !angle => quoted = !quoted,
            b'<' if !quoted => {
                if angle {
                    return Err("`<` inside `<...>`".into());
                }
                angle = true;
            }
            b'>' if !quoted && angle => angle = false,
            c if c == sep && !quoted && !angle => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if quoted {
        return Err("a quoted string is not closed".into());
    }
    if angle {
        return Err("`<` without `>`".into());
    }
    out.push(&s[start..]);
    Ok(out)
}

/// `escaped` sequences are `%` and two hex digits.
fn escapes_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if !(b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
            {
                return false;
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    true
}

fn unreserved(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&c)
}

/// A host: a name, an IPv4 address, or an IPv6 reference `[...]`.
pub fn check_host(h: &str) -> Result<(), String> {
    if let Some(inner) = h.strip_prefix('[') {
        let inner = inner
            .strip_suffix(']')
            .ok_or_else(|| format!("`{h}`: `[` without `]`"))?;
        return inner
            .parse::<std::net::Ipv6Addr>()
            .map(|_| ())
            .map_err(|_| format!("`{inner}` is not an IPv6 address"));
    }
    if h.is_empty() {
        return Err("no host".into());
    }
    if h.bytes().all(|c| c.is_ascii_digit() || c == b'.') {
        return h
            .parse::<std::net::Ipv4Addr>()
            .map(|_| ())
            .map_err(|_| format!("`{h}` is not an IPv4 address"));
    }
    let name = h.strip_suffix('.').unwrap_or(h);
    let ok = name.split('.').all(|label| {
        let b = label.as_bytes();
        !b.is_empty()
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
    });
    if ok {
        Ok(())
    } else {
        Err(format!("`{h}` is not a host name"))
    }
}

/// `host [":" port]`.
pub fn check_hostport(hp: &str) -> Result<(), String> {
    let (host, port) = if hp.starts_with('[') {
        match hp.find(']') {
            Some(end) => {
                let rest = &hp[end + 1..];
                match rest.strip_prefix(':') {
                    Some(p) => (&hp[..=end], Some(p)),
                    None if rest.is_empty() => (hp, None),
                    None => return Err(format!("`{hp}`: text after the IPv6 reference")),
                }
            }
            None => return Err(format!("`{hp}`: `[` without `]`")),
        }
    } else {
        match hp.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hp, None),
        }
    };
    check_host(host)?;
    if let Some(p) = port {
        if p.is_empty()
            || p.len() > 5
            || !p.bytes().all(|c| c.is_ascii_digit())
            || p.parse::<u32>().map_or(true, |n| n > 65535)
        {
            return Err(format!("`{p}` is not a port"));
        }
    }
    Ok(())
}

/// The scheme of a URI, lower-cased.
pub fn scheme(uri: &str) -> Option<String> {
    let (s, _) = uri.split_once(':')?;
    let b = s.as_bytes();
    (!b.is_empty()
        && b[0].is_ascii_alphabetic()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || b"+-.".contains(c)))
    .then(|| s.to_ascii_lowercase())
}

/// A URI: `sip:`/`sips:` checked in full (RFC 3261 §19.1), any other
/// scheme as an absolute URI (no spaces, quotes or angle brackets).
pub fn check_uri(uri: &str) -> Result<(), String> {
    if uri
        .bytes()
        .any(|c| c <= b' ' || c == b'"' || c == b'<' || c == b'>' || c >= 0x7f)
    {
        return Err(format!("`{uri}` has a character a URI may not have"));
    }
    let scheme = scheme(uri).ok_or_else(|| format!("`{uri}` has no scheme"))?;
    let rest = &uri[scheme.len() + 1..];
    if scheme != "sip" && scheme != "sips" {
        return if rest.is_empty() || !escapes_ok(rest) {
            Err(format!("`{uri}` is not a URI"))
        } else {
            Ok(())
        };
    }
    if !escapes_ok(rest) {
        return Err(format!("`{uri}`: a `%` not followed by two hex digits"));
    }
    // `@` appears in neither parameters nor headers: the last one ends
    // the user part (which may hold `?`, `;`, `/`, `,`).
    let (userinfo, after) = match rest.rfind('@') {
        Some(at) => (Some(&rest[..at]), &rest[at + 1..]),
        None => (None, rest),
    };
    let (hostpart, headers) = match after.split_once('?') {
        Some((m, h)) => (m, Some(h)),
        None => (after, None),
    };
    if let Some(u) = userinfo {
        let (user, password) = match u.split_once(':') {
            Some((a, b)) => (a, Some(b)),
            None => (u, None),
        };
        if user.is_empty()
            || !user
                .bytes()
                .all(|c| unreserved(c) || c == b'%' || b"&=+$,;?/".contains(&c))
        {
            return Err(format!("`{user}` is not a SIP URI user"));
        }
        if let Some(p) = password {
            if !p
                .bytes()
                .all(|c| unreserved(c) || c == b'%' || b"&=+$,".contains(&c))
            {
                return Err("the URI's password has a character it may not have".into());
            }
        }
    }
    let mut parts = hostpart.split(';');
    check_hostport(parts.next().unwrap_or(""))?;
    for p in parts {
        let (name, value) = match p.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (p, None),
        };
        let pchar = |c: u8| unreserved(c) || c == b'%' || b"[]/:&+$".contains(&c);
        if name.is_empty()
            || !name.bytes().all(pchar)
            || value.is_some_and(|v| v.is_empty() || !v.bytes().all(pchar))
        {
            return Err(format!("`;{p}` is not a URI parameter"));
        }
    }
    if let Some(h) = headers {
        for kv in h.split('&') {
            let hchar = |c: u8| unreserved(c) || c == b'%' || b"[]/?:+$".contains(&c);
            let ok = kv.split_once('=').is_some_and(|(n, v)| {
                !n.is_empty() && n.bytes().all(hchar) && v.bytes().all(hchar)
            });
            if !ok {
                return Err(format!("`?{h}` is not a URI header part"));
            }
        }
    }
    Ok(())
}

/// Whether a `sip:`/`sips:` URI carries headers (`?...` after the host;
/// a `?` in the user part does not count).
pub fn has_headers(uri: &str) -> bool {
    let after = uri.rfind('@').map_or(uri, |at| &uri[at + 1..]);
    matches!(scheme(uri).as_deref(), Some("sip" | "sips")) && after.contains('?')
}

/// `*( SEMI generic-param )` after a value: `;name[=token/host/quoted]`.
fn check_params(s: &str, what: &str) -> Result<(), String> {
    let s = trim(s);
    if s.is_empty() {
        return Ok(());
    }
    let Some(s) = s.strip_prefix(';') else {
        return Err(format!(
            "{what}: `{s}` where parameters (`;name=value`) belong"
        ));
    };
    for p in split_top(s, b';')? {
        let (name, value) = match p.split_once('=') {
            Some((n, v)) => (trim(n), Some(trim(v))),
            None => (trim(p), None),
        };
        if !is_token(name) {
            return Err(format!("{what}: `;{p}` is not a parameter"));
        }
        if let Some(v) = value {
            let quoted = v.len() >= 2 && v.starts_with('"') && v.ends_with('"');
            let hostlike = check_host(v).is_ok();
            if !(quoted || is_token(v) || hostlike) {
                return Err(format!(
                    "{what}: `;{p}` has a value a parameter may not have"
                ));
            }
        }
    }
    Ok(())
}

/// A display name: a quoted string, or tokens separated by white space.
fn check_display(d: &str) -> Result<(), String> {
    let d = trim(d);
    if d.is_empty() || (d.len() >= 2 && d.starts_with('"') && d.ends_with('"')) {
        return Ok(());
    }
    if d.split([' ', '\t']).filter(|w| !w.is_empty()).all(is_token) {
        Ok(())
    } else {
        Err(format!("`{d}` is not a display name (quote it)"))
    }
}

/// A From / To / Contact value: `name-addr` or `addr-spec`, then
/// parameters. Answers the URI.
pub fn check_address(v: &str, what: &str) -> Result<String, String> {
    let v = trim(v);
    // Quotes and angle brackets balance (the split checks it).
    split_top(v, b',')?;
    if let Some(lt) = top_find(v, b'<') {
        check_display(&v[..lt])?;
        let gt = v[lt..]
            .find('>')
            .map(|i| i + lt)
            .ok_or_else(|| format!("{what}: `<` without `>`"))?;
        let uri = &v[lt + 1..gt];
        if uri != trim(uri) {
            return Err(format!("{what}: white space inside `<...>`"));
        }
        check_uri(uri).map_err(|e| format!("{what}: {e}"))?;
        check_params(&v[gt + 1..], what)?;
        return Ok(uri.to_owned());
    }
    // An addr-spec with no brackets: its parameters are the header's, so
    // the URI itself may not hold `;`, `?` or `,`.
    let (uri, params) = match v.find(';') {
        Some(i) => (&v[..i], &v[i..]),
        None => (v, ""),
    };
    let uri = trim(uri);
    if uri.contains('?') || uri.contains(',') {
        return Err(format!(
            "{what}: a URI with `?` or `,` must be written in `<...>`"
        ));
    }
    if uri.contains(' ') || uri.contains('\t') || uri.contains('"') {
        return Err(format!(
            "{what}: `{uri}` is not an address (a display name needs `<...>`)"
        ));
    }
    check_uri(uri).map_err(|e| format!("{what}: {e}"))?;
    check_params(params, what)?;
    Ok(uri.to_owned())
}

/// The first `c` outside quoted strings.
fn top_find(s: &str, c: u8) -> Option<usize> {
    let b = s.as_bytes();
    let mut quoted = false;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' if quoted => i += 1,
            b'"' => quoted = !quoted,
            x if x == c && !quoted => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

/// One Via value: `SIP/2.0/UDP host[:port] *(;param)`.
pub fn check_via(v: &str) -> Result<(), String> {
    let v = trim(v);
    // sent-protocol, LWS allowed around the slashes.
    let mut rest = v;
    for i in 0..3 {
        rest = rest.trim_start_matches([' ', '\t']);
        let end = rest
            .bytes()
            .position(|c| !is_token_char(c))
            .unwrap_or(rest.len());
        if end == 0 {
            return Err(format!("Via `{v}`: no protocol"));
        }
        rest = rest[end..].trim_start_matches([' ', '\t']);
        if i < 2 {
            rest = rest
                .strip_prefix('/')
                .ok_or_else(|| format!("Via `{v}`: not `SIP/2.0/transport`"))?;
        }
    }
    let end = rest.find(';').unwrap_or(rest.len());
    let sent_by = trim(&rest[..end]);
    // LWS around the port colon is allowed by the grammar; remove it.
    let sent_by: String = sent_by
        .chars()
        .filter(|c| *c != ' ' && *c != '\t')
        .collect();
    check_hostport(&sent_by).map_err(|e| format!("Via `{v}`: {e}"))?;
    check_via_params(&rest[end..], v)
}

fn check_via_params(s: &str, v: &str) -> Result<(), String> {
    let s = trim(s);
    if s.is_empty() {
        return Ok(());
    }
    for p in s[1..].split(';') {
        let (name, value) = match p.split_once('=') {
            Some((n, x)) => (trim(n), Some(trim(x))),
            None => (trim(p), None),
        };
        if !is_token(name) {
            return Err(format!("Via `{v}`: `;{p}` is not a parameter"));
        }
        let Some(value) = value else { continue };
        let ok = match name.to_ascii_lowercase().as_str() {
            "received" => {
                let bare = value.trim_start_matches('[').trim_end_matches(']');
                bare.parse::<std::net::IpAddr>().is_ok()
            }
            "ttl" => value.len() <= 3 && value.parse::<u8>().is_ok(),
            "maddr" => check_host(value).is_ok(),
            _ => {
                is_token(value)
                    || check_host(value).is_ok()
                    || (value.len() >= 2 && value.starts_with('"') && value.ends_with('"'))
            }
        };
        if !ok {
            return Err(format!("Via `{v}`: `;{p}` has a value it may not have"));
        }
    }
    Ok(())
}

/// `CSeq: number method`; the number below 2^31 (RFC 3261 §8.1.1.5).
pub fn check_cseq(v: &str) -> Result<(u32, String), String> {
    let v = trim(v);
    let (n, m) = v
        .split_once([' ', '\t'])
        .ok_or_else(|| format!("CSeq `{v}` is not `number METHOD`"))?;
    let m = trim(m);
    if n.is_empty() || !n.bytes().all(|c| c.is_ascii_digit()) || !is_token(m) {
        return Err(format!("CSeq `{v}` is not `number METHOD`"));
    }
    match n.parse::<u32>() {
        Ok(n) if n < 1 << 31 => Ok((n, m.to_owned())),
        _ => Err(format!("CSeq number {n} is not below 2^31")),
    }
}

pub fn check_call_id(v: &str) -> Result<(), String> {
    let v = trim(v);
    let ok = match v.split_once('@') {
        Some((a, b)) => {
            !a.is_empty() && !b.is_empty() && a.bytes().chain(b.bytes()).all(is_word_char)
        }
        None => !v.is_empty() && v.bytes().all(is_word_char),
    };
    if ok {
        Ok(())
    } else {
        Err(format!("Call-ID `{v}` is not `word[@word]`"))
    }
}

/// A comma-separated list of tokens (Require, Supported, ...).
pub fn tokens(v: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for t in v.split(',') {
        let t = trim(t);
        if t.is_empty() {
            continue;
        }
        if !is_token(t) {
            return Err(format!("`{t}` is not an option tag"));
        }
        out.push(t.to_ascii_lowercase());
    }
    Ok(out)
}

/// A media type `type/subtype *(;param)`, lower-cased without parameters.
pub fn media_type(v: &str) -> Result<String, String> {
    let v = trim(v);
    let (mt, params) = match v.find(';') {
        Some(i) => (&v[..i], &v[i..]),
        None => (v, ""),
    };
    let (t, s) = mt
        .split_once('/')
        .ok_or_else(|| format!("`{v}` is not a media type"))?;
    let (t, s) = (trim(t), trim(s));
    if !is_token(t) || !is_token(s) {
        return Err(format!("`{v}` is not a media type"));
    }
    check_params(params, "media type")?;
    Ok(format!(
        "{}/{}",
        t.to_ascii_lowercase(),
        s.to_ascii_lowercase()
    ))
}

/// `1*DIGIT`, as a u64 when it fits.
pub fn number(v: &str) -> Result<u64, String> {
    let v = trim(v);
    if v.is_empty() || !v.bytes().all(|c| c.is_ascii_digit()) {
        return Err(format!("`{v}` is not a number"));
    }
    v.parse().map_err(|_| format!("{v} is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris() {
        for good in [
            "sip:user@example.com",
            "sip:%61lice@example.com;transport=TCP",
            "sips:[2001:db8::10]:5061",
            "sip:user;par=u%40example.net@example.com",
            "sip:+1-212-555-1212:1234@gateway.com;user=phone",
            "tel:+1-212-555-1212",
            "sip:user@example.com?Route=%3Csip:example.com%3E",
        ] {
            assert!(check_uri(good).is_ok(), "{good}: {:?}", check_uri(good));
        }
        for bad in [
            "sip:user@example.com lr",
            "sip:2001:db8::10",
            "sip:user@[2001:db8:::192.0.2.1:]",
            "sip:%zz@example.com",
            "sip:@example.com",
            "sip:user@exa mple.com",
            "sip:user@-bad-.com",
        ] {
            assert!(check_uri(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn addresses_vias_and_numbers() {
        assert_eq!(
            check_address("\"Joe\" <sip:joe@example.org>;tag=1", "From").unwrap(),
            "sip:joe@example.org"
        );
        assert!(check_address("sip:caller@example.net;tag=1", "From").is_ok());
        assert!(check_address("\"Mr. J. User <sip:j.user@example.com>", "To").is_err());
        assert!(check_address("<sip:joe@example.org>;;;;", "Contact").is_err());
        assert!(check_address("sip:user@example.com?Route=%3Csip:x%3E", "Contact").is_err());
        assert!(check_via("SIP/2.0/UDP 192.0.2.15;branch=z9hG4bK1").is_ok());
        assert!(check_via("SIP / 2.0 / UDP host.example.com : 5060 ;branch=x").is_ok());
        assert!(check_via("SIP/2.0/UDP 192.0.2.15;;,;,,").is_err());
        assert!(check_via("SIP/2.0/UDP [2001:db8::9:1];received=2001:db8::9:255").is_ok());
        assert_eq!(check_cseq("8 INVITE").unwrap(), (8, "INVITE".into()));
        assert!(check_cseq("36893488147419103232 REGISTER").is_err());
        assert!(check_cseq("2147483648 INVITE").is_err());
        assert!(check_call_id("a@b").is_ok() && check_call_id("a b").is_err());
        assert_eq!(
            media_type("Application/SDP ; x=1").unwrap(),
            "application/sdp"
        );
    }
}
