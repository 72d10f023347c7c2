//! Who may ask what on the agent UDP port (sans-I/O; the router holds one
//! [`Access`] and asks it before routing a request).
//!
//! The protocol itself carries no credentials beyond 1001's optional
//! `Password`, so the address a seat logged in from is what identifies its
//! agent afterwards:
//!
//! - a logged-in seat is bound to the address its 1001 came from; requests
//!   naming that seat (its `TelNum`) from any other address are refused until
//!   that address logs in anew (a takeover, which tells the old address 6001
//!   offline);
//! - every request but 1001 needs a sender that has a seat logged in;
//! - supervisor requests (1019–1022, 1027, 1015, 1028, 1030, and 1011 about
//!   another seat or with `RetIP`) need a sender whose agent is in
//!   `[sys] supervisors` (empty: every agent, as the original).

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use spcti_protocol::{ChNum, Message as Wire, TelNum, WorkNo};

/// A list of networks (`[agent_udp] allow`, `[phone] allow`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Networks(pub Vec<ipnet::IpNet>);

impl Networks {
    /// Whether `ip` is inside one of the networks. An IPv4 address seen
    /// through an IPv6 socket (`::ffff:a.b.c.d`) counts as the IPv4 one.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|n| n.contains(&ip))
    }

    /// One entry: a CIDR (`10.0.0.0/8`) or a bare address (one host).
    pub fn parse_entry(text: &str) -> Result<ipnet::IpNet, String> {
        let text = text.trim();
        if let Ok(net) = ipnet::IpNet::from_str(text) {
            return Ok(net);
        }
        IpAddr::from_str(text)
            .map(ipnet::IpNet::from)
            .map_err(|_| format!("{text:?} is not a network (CIDR like 10.0.0.0/8) or an address"))
    }
}

/// A logged-in seat's session: where its client is and who logged in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub addr: SocketAddr,
    pub work_no: Option<WorkNo>,
}

/// What a request needs of its sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Need {
    /// 1001: anyone on an allowed network (a takeover is checked apart).
    Nothing,
    /// Requests for the sender's own seat: it must be logged in from here.
    OwnSeat(TelNum),
    /// Any sender with a seat logged in from its address.
    LoggedIn,
    /// A supervisor; `own` is the seat named as the supervisor's (1019–1022).
    Supervisor { own: Option<TelNum> },
    /// 1011: about the sender's own seat any logged-in sender may ask;
    /// about another seat or to be sent elsewhere (`RetIP`), a supervisor.
    ChannelInfo {
        ch: Option<ChNum>,
        tel: Option<TelNum>,
        work_no: Option<WorkNo>,
        redirected: bool,
    },
}

/// What a request needs (every request the server takes is listed; a
/// message the server sends, not takes, needs nothing here and is refused
/// by the router).
pub fn need(m: &Wire) -> Need {
    use Wire::*;
    match m {
        Login(_) => Need::Nothing,
        SetBusy(x) => Need::OwnSeat(x.tel_num.clone()),
        PlaceCall(x) => Need::OwnSeat(x.tel_num.clone()),
        Logout(x) => Need::OwnSeat(x.tel_num.clone()),
        RetrieveCall(x) => Need::OwnSeat(x.tel_num.clone()),
        Transfer(x) => Need::OwnSeat(x.tel_num.clone()),
        CancelTransfer(x) => Need::OwnSeat(x.tel_num.clone()),
        PickUp(x) => Need::OwnSeat(x.tel_num.clone()),
        Mute(x) => Need::OwnSeat(x.tel_num.clone()),
        TwoPartyConference(x) => Need::OwnSeat(x.tel_num.clone()),
        Heartbeat(x) => Need::OwnSeat(x.tel_num.clone()),
        Listen(x) => Need::Supervisor {
            own: Some(x.tel_num.clone()),
        },
        BargeIn(x) => Need::Supervisor {
            own: Some(x.tel_num.clone()),
        },
        TakeOver(x) => Need::Supervisor {
            own: Some(x.tel_num.clone()),
        },
        ForceHangup(x) => Need::Supervisor {
            own: Some(x.tel_num.clone()),
        },
        ForceRelease(_) | SetMonitor(_) | Timer(_) | SetGlobal(_) | ReloadFlow(_) => {
            Need::Supervisor { own: None }
        }
        ChannelInfoQuery(q) => Need::ChannelInfo {
            ch: q.ch_num,
            tel: q.tel_num.clone(),
            work_no: q.work_no.clone(),
            redirected: q.ret_ip.is_some(),
        },
        _ => Need::LoggedIn,
    }
}

/// Why a request was refused (the 9000 `ResultSTR`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    /// The seat is logged in from another address.
    OtherAddress(TelNum),
    /// The seat named as the sender's is not logged in.
    SeatNotLoggedIn(TelNum),
    /// Nothing is logged in from the sender's address.
    NoSession,
    /// The sender is not in `[sys] supervisors`.
    NotSupervisor(Option<WorkNo>),
}

impl fmt::Display for Denied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Denied::OtherAddress(tel) => write!(
                f,
                "{tel} is logged in from another address; send 1001 from this address to take the seat over"
            ),
            Denied::SeatNotLoggedIn(tel) => write!(f, "{tel} is not logged in"),
            Denied::NoSession => f.write_str(
                "no agent is logged in from this address: send 1001 first",
            ),
            Denied::NotSupervisor(Some(w)) => write!(
                f,
                "only supervisors may do this ([sys] supervisors); WorkNo {w} is not one"
            ),
            Denied::NotSupervisor(None) => f.write_str(
                "only supervisors may do this ([sys] supervisors); log in with a supervisor's WorkNo",
            ),
        }
    }
}

/// The sessions and the rules.
#[derive(Debug, Clone, Default)]
pub struct Access {
    sessions: HashMap<TelNum, Session>,
    /// Empty: every agent is a supervisor (the original).
    supervisors: HashSet<WorkNo>,
}

impl Access {
    pub fn new(supervisors: HashSet<WorkNo>) -> Self {
        Access {
            sessions: HashMap::new(),
            supervisors,
        }
    }

    /// The seat's session, if it is logged in.
    pub fn session(&self, tel: &TelNum) -> Option<&Session> {
        self.sessions.get(tel)
    }

    /// A seat logged in (`Some`) or out (`None`).
    pub fn set(&mut self, tel: TelNum, session: Option<Session>) {
        match session {
            Some(s) => {
                self.sessions.insert(tel, s);
            }
            None => {
                self.sessions.remove(&tel);
            }
        }
    }

    /// The seats logged in from `from`, in extension order.
    pub fn seats_of(&self, from: SocketAddr) -> Vec<(&TelNum, &Session)> {
        let mut seats: Vec<_> = self
            .sessions
            .iter()
            .filter(|(_, s)| s.addr == from)
            .collect();
        seats.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
        seats
    }

    /// Whether the agent of a session may supervise.
    pub fn is_supervisor(&self, s: &Session) -> bool {
        self.supervisors.is_empty()
            || s.work_no
                .as_ref()
                .is_some_and(|w| self.supervisors.contains(w))
    }

    /// A seat named as the sender's own must be logged in from `from`.
    fn own(&self, from: SocketAddr, tel: &TelNum) -> Result<&Session, Denied> {
        match self.sessions.get(tel) {
            Some(s) if s.addr == from => Ok(s),
            Some(_) => Err(Denied::OtherAddress(tel.clone())),
            None => Err(Denied::SeatNotLoggedIn(tel.clone())),
        }
    }

    fn any_supervisor(&self, from: SocketAddr) -> Result<(), Denied> {
        let seats = self.seats_of(from);
        if seats.is_empty() {
            return Err(Denied::NoSession);
        }
        if seats.iter().any(|(_, s)| self.is_supervisor(s)) {
            return Ok(());
        }
        Err(Denied::NotSupervisor(seats[0].1.work_no.clone()))
    }

    /// Whether `from` may make a request that needs `need`. `seat_of`
    /// gives a seat extension's channel (for 1011 by channel number).
    pub fn check(
        &self,
        from: SocketAddr,
        need: &Need,
        seat_of: impl Fn(&TelNum) -> Option<ChNum>,
    ) -> Result<(), Denied> {
        match need {
            Need::Nothing => Ok(()),
            Need::OwnSeat(tel) => self.own(from, tel).map(drop),
            Need::LoggedIn => match self.seats_of(from).is_empty() {
                true => Err(Denied::NoSession),
                false => Ok(()),
            },
            Need::Supervisor { own: Some(tel) } => {
                let s = self.own(from, tel)?;
                match self.is_supervisor(s) {
                    true => Ok(()),
                    false => Err(Denied::NotSupervisor(s.work_no.clone())),
                }
            }
            Need::Supervisor { own: None } => self.any_supervisor(from),
            Need::ChannelInfo {
                ch,
                tel,
                work_no,
                redirected,
            } => {
                let seats = self.seats_of(from);
                if seats.is_empty() {
                    return Err(Denied::NoSession);
                }
                // The query's own priority: ChNum > TelNum > WorkNo.
                let about_self = seats.iter().any(|(t, s)| match (ch, tel, work_no) {
                    (Some(ch), _, _) => seat_of(t) == Some(*ch),
                    (None, Some(tel), _) => *t == tel,
                    (None, None, Some(w)) => s.work_no.as_ref() == Some(w),
                    (None, None, None) => false,
                });
                if about_self && !redirected {
                    Ok(())
                } else {
                    self.any_supervisor(from)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spcti_protocol::{Envelope, TextEncoding, decode};

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }
    fn tel(s: &str) -> TelNum {
        TelNum::new(s).unwrap()
    }
    fn work(s: &str) -> WorkNo {
        WorkNo::new(s).unwrap()
    }
    fn msg(xml: &str) -> Wire {
        let e: Envelope = decode(xml.as_bytes(), TextEncoding::Utf8).unwrap();
        e.message
    }
    fn seat_of(t: &TelNum) -> Option<ChNum> {
        Some(ChNum(t.as_str().parse::<u32>().unwrap() - 8000))
    }

    fn floor(supervisors: &[&str]) -> Access {
        let mut a = Access::new(supervisors.iter().map(|w| work(w)).collect());
        a.set(
            tel("8001"),
            Some(Session {
                addr: addr("10.0.0.1:5000"),
                work_no: Some(work("1001")),
            }),
        );
        a.set(
            tel("8002"),
            Some(Session {
                addr: addr("10.0.0.2:5000"),
                work_no: Some(work("1002")),
            }),
        );
        a
    }

    #[test]
    fn a_seat_answers_only_to_the_address_it_logged_in_from() {
        let a = floor(&[]);
        let busy = need(&msg("<MsgType>1002</MsgType><TelNum>8001</TelNum>"));
        assert_eq!(a.check(addr("10.0.0.1:5000"), &busy, seat_of), Ok(()));
        assert_eq!(
            a.check(addr("10.0.0.9:5000"), &busy, seat_of),
            Err(Denied::OtherAddress(tel("8001")))
        );
        // Another port on the same host is another client.
        assert!(a.check(addr("10.0.0.1:5001"), &busy, seat_of).is_err());
        let hb = need(&msg("<MsgType>1099</MsgType><TelNum>8001</TelNum>"));
        assert!(a.check(addr("10.0.0.2:5000"), &hb, seat_of).is_err());
        let out = need(&msg("<MsgType>1004</MsgType><TelNum>8003</TelNum>"));
        assert_eq!(
            a.check(addr("10.0.0.1:5000"), &out, seat_of),
            Err(Denied::SeatNotLoggedIn(tel("8003")))
        );
    }

    #[test]
    fn requests_without_a_seat_need_a_logged_in_sender() {
        let a = floor(&[]);
        let stats = need(&msg("<MsgType>1013</MsgType>"));
        assert_eq!(a.check(addr("10.0.0.1:5000"), &stats, seat_of), Ok(()));
        assert_eq!(
            a.check(addr("10.0.0.7:5000"), &stats, seat_of),
            Err(Denied::NoSession)
        );
        let release = need(&msg("<MsgType>1027</MsgType><ChNum>0</ChNum>"));
        assert_eq!(
            a.check(addr("10.0.0.7:5000"), &release, seat_of),
            Err(Denied::NoSession)
        );
    }

    #[test]
    fn supervisor_requests_need_a_listed_work_no() {
        let everyone = floor(&[]);
        let listed = floor(&["1002"]);
        let listen = need(&msg(
            "<MsgType>1019</MsgType><TelNum>8001</TelNum><Target>8002</Target>",
        ));
        assert_eq!(
            everyone.check(addr("10.0.0.1:5000"), &listen, seat_of),
            Ok(())
        );
        assert_eq!(
            listed.check(addr("10.0.0.1:5000"), &listen, seat_of),
            Err(Denied::NotSupervisor(Some(work("1001"))))
        );
        // The supervisor's seat must be the sender's own.
        assert_eq!(
            listed.check(addr("10.0.0.2:5000"), &listen, seat_of),
            Err(Denied::OtherAddress(tel("8001")))
        );
        let sup = need(&msg(
            "<MsgType>1019</MsgType><TelNum>8002</TelNum><Target>8001</Target>",
        ));
        assert_eq!(listed.check(addr("10.0.0.2:5000"), &sup, seat_of), Ok(()));
        let monitor = need(&msg(
            "<MsgType>1015</MsgType><IP>10.0.0.5</IP><Port>9</Port>",
        ));
        assert!(
            listed
                .check(addr("10.0.0.1:5000"), &monitor, seat_of)
                .is_err()
        );
        assert_eq!(
            listed.check(addr("10.0.0.2:5000"), &monitor, seat_of),
            Ok(())
        );
    }

    #[test]
    fn channel_info_about_oneself_is_free_about_others_is_supervised() {
        let a = floor(&["1002"]);
        let me = addr("10.0.0.1:5000");
        for own in [
            "<MsgType>1011</MsgType><TelNum>8001</TelNum>",
            "<MsgType>1011</MsgType><ChNum>1</ChNum>",
            "<MsgType>1011</MsgType><WorkNo>1001</WorkNo>",
        ] {
            assert_eq!(a.check(me, &need(&msg(own)), seat_of), Ok(()), "{own}");
        }
        for other in [
            "<MsgType>1011</MsgType><TelNum>8002</TelNum>",
            "<MsgType>1011</MsgType><ChNum>0</ChNum>",
            "<MsgType>1011</MsgType><ChNum>2</ChNum><TelNum>8001</TelNum>",
            "<MsgType>1011</MsgType><TelNum>8001</TelNum><RetIP>10.0.0.1</RetIP><RetPort>9</RetPort>",
        ] {
            assert!(a.check(me, &need(&msg(other)), seat_of).is_err(), "{other}");
        }
    }

    #[test]
    fn networks_take_cidrs_and_bare_addresses() {
        let n = Networks(
            ["10.0.0.0/8", "192.168.1.7", "::1/128"]
                .iter()
                .map(|t| Networks::parse_entry(t).unwrap())
                .collect(),
        );
        assert!(n.contains("10.200.0.1".parse().unwrap()));
        assert!(n.contains("192.168.1.7".parse().unwrap()));
        assert!(!n.contains("192.168.1.8".parse().unwrap()));
        assert!(n.contains("::ffff:10.1.2.3".parse().unwrap()));
        assert!(n.contains("::1".parse().unwrap()));
        assert!(!n.contains("8.8.8.8".parse().unwrap()));
        assert!(Networks::parse_entry("10.0.0.0/33").is_err());
        assert!(Networks::parse_entry("example.com").is_err());
    }
}
