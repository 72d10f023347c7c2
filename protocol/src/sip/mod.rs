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

fn start_line(line: &str) -> Result<StartLine, String> {
    if line.len() > 4 && line[..4].eq_ignore_ascii_case("SIP/") {
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

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
