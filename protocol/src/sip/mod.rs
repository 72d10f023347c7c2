//! SIP messages (RFC 3261) as a wire format, no I/O: a datagram framed
//! into its start line, headers (compact forms expanded, folded lines
//! joined) and body (`Content-Length` enforced), then checked against the
//! grammar of the headers the stack reads ([`grammar`]). Everything else is
//! kept raw, as received.
//!
//! [`inspect`] is what a user-agent server decides on receiving a
//! datagram, before any transaction sees it (docs/sip.md "What every bad
//! input gets"; the RFC 4475 and RFC 5118 torture cases are its tests): go
//! on with the request or response, answer it at once (400, 416, 420, 415,
//! 406, 505), or drop it.

pub mod grammar;
mod inspect;

pub use inspect::{Policy, Verdict, inspect};

/// A request's or a response's first line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartLine {
    Request {
        method: String,
        uri: String,
        /// `SIP/major.minor`.
        version: (u32, u32),
    },
    Response {
        version: (u32, u32),
        code: u16,
        reason: String,
    },
    /// A first line that breaks the grammar; the headers are still read
    /// (a request's can be answered 400).
    Bad { line: String, why: String },
}

/// One header line: its name as the long form, lower-case (`v` -> `via`),
/// and its value unfolded and trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub name: String,
    pub value: String,
}

/// A framed SIP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub start: StartLine,
    pub headers: Vec<Header>,
    pub body: Vec<u8>,
}

/// Why a datagram is not a SIP message at all (nothing to answer).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a SIP message: {0}")]
pub struct FrameError(pub String);

/// The long form of a compact header name (RFC 3261 §7.3.3 and the
/// extensions that define one), lower-case.
pub fn long_name(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    let long = match lower.as_str() {
        "i" => "call-id",
        "m" => "contact",
        "e" => "content-encoding",
        "l" => "content-length",
        "c" => "content-type",
        "f" => "from",
        "s" => "subject",
        "k" => "supported",
        "t" => "to",
        "v" => "via",
        "o" => "event",
        "r" => "refer-to",
        "u" => "allow-events",
        "b" => "referred-by",
        "x" => "session-expires",
        "a" => "accept-contact",
        "j" => "reject-contact",
        "d" => "request-disposition",
        "y" => "identity",
        "n" => "identity-info",
        _ => return lower,
    };
    long.to_owned()
}

/// `SIP/x.y`, case-insensitive name.
fn version(s: &str) -> Option<(u32, u32)> {
    let (name, v) = s.split_once('/')?;
    if !name.eq_ignore_ascii_case("SIP") {
        return None;
    }
    let (a, b) = v.split_once('.')?;
    let digits = |x: &str| !x.is_empty() && x.bytes().all(|c| c.is_ascii_digit());
    (digits(a) && digits(b)).then(|| Some((a.parse().ok()?, b.parse().ok()?)))?
}

impl Message {
    /// Frames a datagram. The start line must be exactly three parts
    /// separated by single spaces (a request) or a version, a three-digit
    /// code and any reason; header lines are `name: value`, continued by
    /// lines starting with white space; the body is `Content-Length`
    /// bytes (bytes beyond it in a datagram are not part of the message;
    /// fewer is an error).
    pub fn parse(datagram: &[u8]) -> Result<Message, FrameError> {
        let err = |s: &str| FrameError(s.to_owned());
        let end =
            find(datagram, b"\r\n\r\n").ok_or_else(|| err("no empty line after the headers"))?;
        let head =
            std::str::from_utf8(&datagram[..end]).map_err(|_| err("the headers are not UTF-8"))?;
        let rest = &datagram[end + 4..];
        let mut lines = head.split("\r\n");
        let first = lines.next().unwrap_or("");
        let start = start_line(first).unwrap_or_else(|why| StartLine::Bad {
            line: first.to_owned(),
            why,
        });
        let mut headers: Vec<Header> = Vec::new();
        for line in lines {
            if line.starts_with([' ', '\t']) {
                let last = headers
                    .last_mut()
                    .ok_or_else(|| err("a continuation line before any header"))?;
                last.value.push(' ');
                last.value.push_str(line.trim_matches([' ', '\t']));
                continue;
            }
            let (name, value) = line
                .split_once(':')
                .ok_or_else(|| FrameError(format!("`{line}` is not a header line")))?;
            let name = name.trim_end_matches([' ', '\t']);
            if !grammar::is_token(name) {
                return Err(FrameError(format!("`{name}` is not a header name")));
            }
            headers.push(Header {
                name: long_name(name),
                value: value.trim_matches([' ', '\t']).to_owned(),
            });
        }
        let lengths: Vec<&Header> = headers
            .iter()
            .filter(|h| h.name == "content-length")
            .collect();
        let body = match lengths.as_slice() {
            [] => rest.to_vec(),
            [one] => {
                let n = grammar::number(&one.value)
                    .map_err(|e| FrameError(format!("Content-Length: {e}")))?;
                if n > rest.len() as u64 {
                    return Err(FrameError(format!(
                        "Content-Length {n} but only {} bytes of body",
                        rest.len()
                    )));
                }
                rest[..n as usize].to_vec()
            }
            _ => rest.to_vec(),
        };
        Ok(Message {
            start,
            headers,
            body,
        })
    }

    /// The values of every header `name` (long form, any case), with
    /// comma-separated values split (outside quotes and `<...>`).
    pub fn values(&self, name: &str) -> Result<Vec<&str>, String> {
        let name = long_name(name);
        let mut out = Vec::new();
        for h in self.headers.iter().filter(|h| h.name == name) {
            for v in grammar::split_top(&h.value, b',')? {
                let v = v.trim_matches([' ', '\t']);
                if !v.is_empty() {
                    out.push(v);
                }
            }
        }
        Ok(out)
    }

    /// The first header `name`'s whole value.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = long_name(name);
        self.headers
            .iter()
            .find(|h| h.name == name)
            .map(|h| h.value.as_str())
    }

    /// How many header lines named `name` there are.
    pub fn count(&self, name: &str) -> usize {
        let name = long_name(name);
        self.headers.iter().filter(|h| h.name == name).count()
    }

    pub fn is_request(&self) -> bool {
        matches!(self.start, StartLine::Request { .. })
    }
}

/// How a header name is written out: the usual capitalisation of the
/// long form (`call-id` -> `Call-ID`).
pub fn display_name(name: &str) -> String {
    match name {
        "call-id" => "Call-ID".into(),
        "cseq" => "CSeq".into(),
        "www-authenticate" => "WWW-Authenticate".into(),
        "mime-version" => "MIME-Version".into(),
        _ => name
            .split('-')
            .map(|w| {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_ascii_uppercase().to_string() + &c.as_str().to_ascii_lowercase())
                    .unwrap_or_default()
            })
            .collect::<Vec<_>>()
            .join("-"),
    }
}

impl Message {
    /// A request with these headers (in order) and body.
    pub fn request(method: &str, uri: &str, headers: Vec<Header>, body: Vec<u8>) -> Message {
        Message {
            start: StartLine::Request {
                method: method.to_owned(),
                uri: uri.to_owned(),
                version: (2, 0),
            },
            headers,
            body,
        }
    }

    /// The wire form: the start line, every header but Content-Length as
    /// kept, then a Content-Length that matches the body.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = String::with_capacity(512);
        match &self.start {
            StartLine::Request {
                method,
                uri,
                version,
            } => out.push_str(&format!(
                "{method} {uri} SIP/{}.{}\r\n",
                version.0, version.1
            )),
            StartLine::Response {
                version,
                code,
                reason,
            } => out.push_str(&format!(
                "SIP/{}.{} {code} {reason}\r\n",
                version.0, version.1
            )),
            StartLine::Bad { line, .. } => {
                out.push_str(line);
                out.push_str("\r\n");
            }
        }
        for h in self.headers.iter().filter(|h| h.name != "content-length") {
            out.push_str(&display_name(&h.name));
            out.push_str(": ");
            out.push_str(&h.value);
            out.push_str("\r\n");
        }
        out.push_str(&format!("Content-Length: {}\r\n\r\n", self.body.len()));
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&self.body);
        bytes
    }

    /// Sets header `name` to `value` (replacing every one of that name).
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        let name = long_name(name);
        self.headers.retain(|h| h.name != name);
        self.headers.push(Header {
            name,
            value: value.into(),
        });
    }

    /// The `branch` of the top Via, and its sent-by (host and port).
    pub fn top_via(&self) -> Option<(Option<String>, String)> {
        let via = self.values("via").ok()?.into_iter().next()?;
        let after = via.split_once(['/']).map(|x| x.1)?;
        let after = after.split_once('/').map(|x| x.1)?.trim_start();
        let after = after.trim_start_matches(|c: char| {
            c.is_ascii_alphanumeric()
                || c == '-'
                || c == '.'
                || c == '!'
                || c == '%'
                || c == '*'
                || c == '_'
                || c == '+'
                || c == '`'
                || c == '\''
                || c == '~'
        });
        let mut parts = after.split(';');
        let sent_by: String = parts
            .next()
            .unwrap_or("")
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        let branch = parts.find_map(|p| {
            let (n, v) = p.split_once('=')?;
            n.trim()
                .eq_ignore_ascii_case("branch")
                .then(|| v.trim().to_owned())
        });
        Some((branch, sent_by.to_ascii_lowercase()))
    }

    /// The CSeq number and method.
    pub fn cseq(&self) -> Option<(u32, String)> {
        grammar::check_cseq(self.header("cseq")?).ok()
    }

    /// A request's method (the CSeq's for a response).
    pub fn method(&self) -> Option<String> {
        match &self.start {
            StartLine::Request { method, .. } => Some(method.clone()),
            _ => self.cseq().map(|c| c.1),
        }
    }

    /// A response's status code.
    pub fn code(&self) -> Option<u16> {
        match &self.start {
            StartLine::Response { code, .. } => Some(*code),
            _ => None,
        }
    }
}

fn start_line(line: &str) -> Result<StartLine, String> {
    if is_status_line(line) {
        let mut p = line.splitn(3, ' ');
        let v =
            version(p.next().unwrap_or("")).ok_or_else(|| format!("`{line}`: no SIP version"))?;
        let code = p.next().unwrap_or("");
        if code.len() != 3 || !code.bytes().all(|c| c.is_ascii_digit()) || code.starts_with('0') {
            return Err(format!("`{code}` is not a three-digit status code"));
        }
        return Ok(StartLine::Response {
            version: v,
            code: code.parse().unwrap_or(0),
            reason: p.next().unwrap_or("").to_owned(),
        });
    }
    let parts: Vec<&str> = line.split(' ').collect();
    let [method, uri, v] = parts[..] else {
        return Err(format!(
            "`{line}` is not `METHOD uri SIP/2.0` with single spaces"
        ));
    };
    if !grammar::is_token(method) {
        return Err(format!("`{method}` is not a method"));
    }
    let version = version(v).ok_or_else(|| format!("`{v}` is not a SIP version"))?;
    Ok(StartLine::Request {
        method: method.to_owned(),
        uri: uri.to_owned(),
        version,
    })
}

/// Whether a first line is a response's (`SIP/...`). Compared as bytes: the
/// line may be any UTF-8.
pub(crate) fn is_status_line(line: &str) -> bool {
    line.as_bytes()
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case(b"SIP/"))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_first_line_of_any_utf8_is_read_without_slicing_a_character() {
        // Found by the fuzzer (fuzz/fuzz_targets/sip.rs): a 2-byte
        // character across byte 4 of the first line.
        let m = Message::parse("I2 но то\r\nVia: x\r\n\r\n".as_bytes()).unwrap();
        assert!(matches!(m.start, StartLine::Bad { .. }));
        assert!(!is_status_line("SIP"));
        assert!(is_status_line("sip/2.0 200 OK"));
    }

    #[test]
    fn a_list_header_that_does_not_split_is_a_bad_request() {
        // Found by the fuzzer: an INVITE whose Accept opens a quote it
        // never closes was taken as whole.
        let text = "INVITE sip:u@example.com SIP/2.0\r\nTo: sip:u@example.com\r\nFrom: sip:c@example.net;tag=1\r\nCall-ID: a@b\r\nAccept: \"text/x\r\nCSeq: 8 INVITE\r\nVia: SIP/2.0/UDP 192.0.2.15;branch=z9hG4bK1\r\nl: 0\r\n\r\n";
        match inspect(text.as_bytes(), &Policy::default()) {
            Verdict::Reply {
                code: 400, reason, ..
            } => assert!(reason.contains("accept"), "{reason}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn encode_writes_what_parse_reads() {
        let text = "INVITE sip:8001@127.0.0.1 SIP/2.0\r\nv: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK1\r\ni: a@b\r\nl: 3\r\n\r\nabcdef";
        let m = Message::parse(text.as_bytes()).unwrap();
        assert_eq!(m.body, b"abc");
        let again = Message::parse(&m.encode()).unwrap();
        assert_eq!(again.header("call-id"), Some("a@b"));
        assert_eq!(again.body, b"abc");
        assert!(
            m.encode()
                .starts_with(b"INVITE sip:8001@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP")
        );
        assert_eq!(display_name("www-authenticate"), "WWW-Authenticate");
        assert_eq!(display_name("max-forwards"), "Max-Forwards");
    }
}
