//! SDP offer/answer (RFC 3264) for spcti's audio, over `sdp-types`
//! (pinned): G.711 A-law and µ-law, RFC 4733 telephone-event, hold
//! (`sendonly`, `inactive`, and RFC 2543's `c=0.0.0.0`), ptime. Sans I/O:
//! bytes in, the agreed media and bytes out.

use std::net::{IpAddr, SocketAddr};

use sdp_types::{Attribute, Connection, Media, Origin, Session, Time};

/// The audio codecs spcti speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    Pcma,
    Pcmu,
}

impl Codec {
    /// The static payload type (RFC 3551).
    pub fn static_pt(self) -> u8 {
        match self {
            Codec::Pcma => 8,
            Codec::Pcmu => 0,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Codec::Pcma => "PCMA",
            Codec::Pcmu => "PCMU",
        }
    }

    fn of_name(n: &str) -> Option<Codec> {
        if n.eq_ignore_ascii_case("PCMA") {
            Some(Codec::Pcma)
        } else if n.eq_ignore_ascii_case("PCMU") {
            Some(Codec::Pcmu)
        } else {
            None
        }
    }
}

/// Who sends (from the local side's view).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    /// The answer's direction to an offer's (RFC 3264 §6.1).
    pub fn answer_to(self) -> Direction {
        match self {
            Direction::SendOnly => Direction::RecvOnly,
            Direction::RecvOnly => Direction::SendOnly,
            d => d,
        }
    }
}

/// The audio both sides agreed on, as the media engine needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agreed {
    /// Where to send RTP (none while the peer holds with `c=0.0.0.0`).
    pub remote: Option<SocketAddr>,
    pub codec: Codec,
    /// The codec's payload type on this call.
    pub pt: u8,
    /// RFC 4733 events' payload type, when the peer takes them.
    pub dtmf_pt: Option<u8>,
    /// Packet length, ms.
    pub ptime: u32,
    /// Our direction (hold: `RecvOnly` when the peer sends only, ...).
    pub direction: Direction,
}

/// Why an SDP is not taken: 400 (unreadable) or 488 (nothing in common).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdpError {
    #[error("the SDP cannot be read: {0}")]
    Malformed(String),
    #[error("not acceptable here: {0}")]
    NotAcceptable(String),
}

impl SdpError {
    /// The SIP status that says so.
    pub fn status(&self) -> u16 {
        match self {
            SdpError::Malformed(_) => 400,
            SdpError::NotAcceptable(_) => 488,
        }
    }
}

/// What one audio `m=` line offers.
struct Offered {
    codecs: Vec<(Codec, u8)>,
    dtmf_pt: Option<u8>,
    ptime: Option<u32>,
    direction: Direction,
    remote: Option<SocketAddr>,
}

fn attr<'a>(m: &'a Media, s: &'a Session, name: &'a str) -> Option<Option<&'a str>> {
    m.get_first_attribute_value(name)
        .or_else(|| s.get_first_attribute_value(name))
}

fn direction_of(m: &Media, s: &Session) -> Direction {
    for (name, d) in [
        ("sendonly", Direction::SendOnly),
        ("recvonly", Direction::RecvOnly),
        ("inactive", Direction::Inactive),
        ("sendrecv", Direction::SendRecv),
    ] {
        if m.has_attribute(name) {
            return d;
        }
    }
    for (name, d) in [
        ("sendonly", Direction::SendOnly),
        ("recvonly", Direction::RecvOnly),
        ("inactive", Direction::Inactive),
    ] {
        if s.has_attribute(name) {
            return d;
        }
    }
    Direction::SendRecv
}

/// Reads one audio `m=` line: its codecs by payload type (static ones
/// without `rtpmap` too), telephone-event, ptime, direction and address.
fn read_audio(m: &Media, s: &Session) -> Result<Offered, SdpError> {
    let conn = m
        .connections
        .first()
        .or(s.connection.as_ref())
        .ok_or_else(|| SdpError::Malformed("no c= line for the audio".into()))?;
    let host = conn.connection_address.split('/').next().unwrap_or("");
    let ip: IpAddr = host.parse().map_err(|_| {
        SdpError::NotAcceptable(format!(
            "`{host}` is not an IP address (no name lookups for media)"
        ))
    })?;
    let mut direction = direction_of(m, s);
    // RFC 2543 hold: the address 0.0.0.0 — "do not send to me".
    let remote = if ip.is_unspecified() {
        if direction == Direction::SendRecv {
            direction = Direction::SendOnly;
        }
        None
    } else {
        Some(SocketAddr::new(ip, m.port))
    };
    let rtpmaps: Vec<sdp_types::RtpMap> = m
        .attributes_typed::<sdp_types::RtpMap>()
        .filter_map(Result::ok)
        .collect();
    let mut codecs = Vec::new();
    let mut dtmf_pt = None;
    for f in m.fmt.split_whitespace() {
        let pt: u8 = f
            .parse()
            .map_err(|_| SdpError::Malformed(format!("format `{f}` is not a payload type")))?;
        match rtpmaps.iter().find(|r| r.payload_type == pt) {
            Some(r) if r.clock_rate == 8000 => {
                if let Some(c) = Codec::of_name(&r.encoding_name) {
                    codecs.push((c, pt));
                } else if r.encoding_name.eq_ignore_ascii_case("telephone-event") {
                    dtmf_pt.get_or_insert(pt);
                }
            }
            Some(_) => {}
            None if pt == 0 => codecs.push((Codec::Pcmu, 0)),
            None if pt == 8 => codecs.push((Codec::Pcma, 8)),
            None => {}
        }
    }
    let ptime = match attr(m, s, "ptime") {
        Some(Some(p)) => p.trim().parse::<u32>().ok(),
        _ => None,
    };
    Ok(Offered {
        codecs,
        dtmf_pt,
        ptime,
        direction,
        remote,
    })
}

fn parse(sdp: &[u8]) -> Result<Session, SdpError> {
    Session::parse(sdp).map_err(|e| SdpError::Malformed(e.to_string()))
}

/// Where we receive, as SDP says it.
fn connection(local: SocketAddr) -> Connection {
    Connection::from_ip_addr(local.ip())
}

fn session(local: SocketAddr, id: u64, version: u64, medias: Vec<Media>) -> Vec<u8> {
    let mut s = Session::new(Origin::with_ip_addr(id, version, local.ip()), "spcti");
    s.connection = Some(connection(local));
    s.times = vec![Time::new(0, 0)];
    s.medias = medias;
    let mut out = Vec::new();
    s.write(&mut out).expect("writing to a Vec cannot fail");
    out
}

fn audio(local: SocketAddr, pts: &[(u8, &str)], ptime: u32, direction: Direction) -> Media {
    let fmt: Vec<String> = pts.iter().map(|(pt, _)| pt.to_string()).collect();
    let mut m = Media::new(
        sdp_types::MediaType::Audio,
        local.port(),
        sdp_types::TransportProto::RtpAvp,
        fmt.join(" "),
    );
    for (pt, map) in pts {
        m.attributes
            .push(Attribute::with_value("rtpmap", format!("{pt} {map}")));
        if map.starts_with("telephone-event") {
            m.attributes
                .push(Attribute::with_value("fmtp", format!("{pt} 0-16")));
        }
    }
    m.attributes.push(Attribute::with_value("ptime", ptime));
    m.attributes.push(Attribute::new(direction.as_str()));
    m
}

/// Answers an offer (an INVITE's or a re-INVITE's SDP): the first audio
/// line with a codec of ours is taken, in our order of preference; every
/// other line is refused with port 0, as RFC 3264 §6 says.
pub fn answer(
    offer: &[u8],
    local: SocketAddr,
    prefs: &[Codec],
    id: u64,
    version: u64,
) -> Result<(Vec<u8>, Agreed), SdpError> {
    let s = parse(offer)?;
    let mut agreed = None;
    let mut medias = Vec::new();
    let mut why = "no audio line".to_owned();
    for m in &s.medias {
        let usable = agreed.is_none()
            && m.media == "audio"
            && m.port != 0
            && m.proto.eq_ignore_ascii_case("RTP/AVP");
        if usable {
            let o = read_audio(m, &s)?;
            let pick = prefs
                .iter()
                .find_map(|p| o.codecs.iter().find(|(c, _)| c == p).copied());
            match pick {
                Some((codec, pt)) => {
                    let ptime = o
                        .ptime
                        .filter(|p| (10..=60).contains(p) && p % 10 == 0)
                        .unwrap_or(20);
                    let direction = o.direction.answer_to();
                    let rtpmap = format!("{}/8000", codec.name());
                    let mut pts = vec![(pt, rtpmap.as_str())];
                    let te;
                    if let Some(d) = o.dtmf_pt {
                        te = "telephone-event/8000";
                        pts.push((d, te));
                    }
                    medias.push(audio(local, &pts, ptime, direction));
                    agreed = Some(Agreed {
                        remote: o.remote,
                        codec,
                        pt,
                        dtmf_pt: o.dtmf_pt,
                        ptime,
                        direction,
                    });
                    continue;
                }
                None => {
                    why = format!(
                        "no codec in common (offered: {}; spcti takes PCMA, PCMU)",
                        m.fmt
                    );
                }
            }
        }
        // Refused (or a second audio line): port 0, same formats.
        let mut r = Media::new(
            sdp_types::MediaType::Audio,
            0,
            sdp_types::TransportProto::RtpAvp,
            m.fmt.clone(),
        );
        r.media = m.media.clone();
        r.proto = m.proto.clone();
        medias.push(r);
    }
    let agreed = agreed.ok_or(SdpError::NotAcceptable(why))?;
    Ok((session(local, id, version, medias), agreed))
}

/// Our offer (an outbound INVITE, or a re-INVITE to hold or resume):
/// the codecs in order, telephone-event as payload type 101.
pub fn offer(
    local: SocketAddr,
    prefs: &[Codec],
    direction: Direction,
    id: u64,
    version: u64,
) -> Vec<u8> {
    let maps: Vec<(u8, String)> = prefs
        .iter()
        .map(|c| (c.static_pt(), format!("{}/8000", c.name())))
        .chain(std::iter::once((101, "telephone-event/8000".to_owned())))
        .collect();
    let pts: Vec<(u8, &str)> = maps.iter().map(|(p, m)| (*p, m.as_str())).collect();
    session(local, id, version, vec![audio(local, &pts, 20, direction)])
}

/// Reads the answer to our offer: the codec it chose must be one we
/// offered.
pub fn read_answer(answer: &[u8], offered: &[Codec]) -> Result<Agreed, SdpError> {
    let s = parse(answer)?;
    let m = s
        .medias
        .iter()
        .find(|m| m.media == "audio" && m.port != 0)
        .ok_or_else(|| SdpError::NotAcceptable("the answer refused the audio".into()))?;
    let o = read_audio(m, &s)?;
    let (codec, pt) = o
        .codecs
        .iter()
        .copied()
        .find(|(c, _)| offered.contains(c))
        .ok_or_else(|| {
            SdpError::NotAcceptable(format!("the answer chose `{}`, not offered", m.fmt))
        })?;
    Ok(Agreed {
        remote: o.remote,
        codec,
        pt,
        dtmf_pt: o.dtmf_pt,
        ptime: o.ptime.unwrap_or(20),
        direction: o.direction.answer_to(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCAL: &str = "127.0.0.1:20000";

    fn offer_of(body: &str) -> Vec<u8> {
        body.replace('\n', "\r\n").into_bytes()
    }

    const SIPP: &str = "v=0
o=user1 53655765 2353687637 IN IP4 127.0.0.2
s=-
c=IN IP4 127.0.0.2
t=0 0
m=audio 6000 RTP/AVP 0 8 101
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=ptime:20
";

    #[test]
    fn a_carriers_offer_is_answered_with_our_preferred_codec_and_events() {
        let local: SocketAddr = LOCAL.parse().unwrap();
        let (sdp, a) = answer(&offer_of(SIPP), local, &[Codec::Pcma, Codec::Pcmu], 1, 1).unwrap();
        assert_eq!(
            a,
            Agreed {
                remote: Some("127.0.0.2:6000".parse().unwrap()),
                codec: Codec::Pcma,
                pt: 8,
                dtmf_pt: Some(101),
                ptime: 20,
                direction: Direction::SendRecv,
            }
        );
        let text = String::from_utf8(sdp).unwrap();
        assert!(text.contains("m=audio 20000 RTP/AVP 8 101\r\n"), "{text}");
        assert!(text.contains("c=IN IP4 127.0.0.1\r\n"), "{text}");
        assert!(
            text.contains("a=rtpmap:101 telephone-event/8000\r\n"),
            "{text}"
        );
        assert!(text.contains("a=sendrecv\r\n"), "{text}");
        // Our answer reads back as the same agreement.
        let back = read_answer(text.as_bytes(), &[Codec::Pcma]).unwrap();
        assert_eq!(
            (back.codec, back.pt, back.dtmf_pt),
            (Codec::Pcma, 8, Some(101))
        );
    }

    #[test]
    fn hold_is_answered_in_the_other_direction() {
        let local: SocketAddr = LOCAL.parse().unwrap();
        let held = SIPP.replace("a=ptime:20", "a=ptime:30\na=sendonly");
        let (sdp, a) = answer(&offer_of(&held), local, &[Codec::Pcmu], 1, 2).unwrap();
        assert_eq!(
            (a.direction, a.ptime, a.codec),
            (Direction::RecvOnly, 30, Codec::Pcmu)
        );
        assert!(String::from_utf8(sdp).unwrap().contains("a=recvonly\r\n"));
        // RFC 2543 style: c=0.0.0.0 — nowhere to send.
        let old = SIPP.replace("c=IN IP4 127.0.0.2", "c=IN IP4 0.0.0.0");
        let (_, a) = answer(&offer_of(&old), local, &[Codec::Pcmu], 1, 3).unwrap();
        assert_eq!((a.remote, a.direction), (None, Direction::RecvOnly));
        let inactive = SIPP.replace("a=ptime:20", "a=inactive");
        let (_, a) = answer(&offer_of(&inactive), local, &[Codec::Pcmu], 1, 4).unwrap();
        assert_eq!(a.direction, Direction::Inactive);
    }

    #[test]
    fn video_and_second_lines_are_refused_and_nothing_in_common_is_488() {
        let local: SocketAddr = LOCAL.parse().unwrap();
        let two = format!("{SIPP}m=video 6002 RTP/AVP 31\n");
        let (sdp, _) = answer(&offer_of(&two), local, &[Codec::Pcma, Codec::Pcmu], 1, 1).unwrap();
        let text = String::from_utf8(sdp).unwrap();
        assert!(text.contains("m=video 0 RTP/AVP 31\r\n"), "{text}");
        let g729 = SIPP
            .replace("RTP/AVP 0 8 101", "RTP/AVP 18")
            .replace("a=rtpmap:0 PCMU/8000", "a=rtpmap:18 G729/8000");
        let e = answer(&offer_of(&g729), local, &[Codec::Pcma, Codec::Pcmu], 1, 1).unwrap_err();
        assert_eq!(e.status(), 488, "{e}");
        let e = answer(b"v=0\r\nnonsense\r\n", local, &[Codec::Pcma], 1, 1).unwrap_err();
        assert_eq!(e.status(), 400, "{e}");
        // A dynamic payload type for PCMA is found by its rtpmap.
        let dynamic = SIPP
            .replace("RTP/AVP 0 8 101", "RTP/AVP 96")
            .replace("a=rtpmap:0 PCMU/8000", "a=rtpmap:96 PCMA/8000");
        let (_, a) = answer(
            &offer_of(&dynamic),
            local,
            &[Codec::Pcmu, Codec::Pcma],
            1,
            1,
        )
        .unwrap();
        assert_eq!((a.codec, a.pt, a.dtmf_pt), (Codec::Pcma, 96, None));
    }

    #[test]
    fn our_offer_lists_our_codecs_and_events_and_an_ipv6_peer_is_read() {
        let local: SocketAddr = "[2001:db8::1]:20002".parse().unwrap();
        let text = String::from_utf8(offer(
            local,
            &[Codec::Pcma, Codec::Pcmu],
            Direction::SendOnly,
            7,
            1,
        ))
        .unwrap();
        assert!(text.contains("m=audio 20002 RTP/AVP 8 0 101\r\n"), "{text}");
        assert!(text.contains("c=IN IP6 2001:db8::1\r\n"), "{text}");
        assert!(text.contains("a=sendonly\r\n"), "{text}");
        let reply = SIPP
            .replace("c=IN IP4 127.0.0.2", "c=IN IP6 2001:db8::9")
            .replace("RTP/AVP 0 8 101", "RTP/AVP 0 101");
        let a = read_answer(&offer_of(&reply), &[Codec::Pcma, Codec::Pcmu]).unwrap();
        assert_eq!(a.remote, Some("[2001:db8::9]:6000".parse().unwrap()));
        assert_eq!(a.codec, Codec::Pcmu);
        assert!(read_answer(&offer_of(&reply), &[Codec::Pcma]).is_err());
    }
}
