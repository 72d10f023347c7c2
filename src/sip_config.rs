//! `[sip]`, `[[sip.trunk]]` and `[[sip.seat]]` (docs/sip.md
//! "Configuration"): read and checked like every other section, each bad
//! value named by its key. Only `driver = "sip"` uses them.

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer};
use spcti_actors::sip::sdp::Codec;
use spcti_actors::sip::transaction::Timers;

fn from_str<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr,
    T::Err: std::fmt::Display,
{
    let s = String::deserialize(d)?;
    s.parse().map_err(serde::de::Error::custom)
}

/// `rtp_ports = "20000-29999"`: RTP on the even ports, RTCP one above.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRange {
    pub low: u16,
    pub high: u16,
}

impl FromStr for PortRange {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?} is not `low-high` (e.g. \"20000-29999\")");
        let (a, b) = s.split_once('-').ok_or_else(bad)?;
        let low: u16 = a.trim().parse().map_err(|_| bad())?;
        let high: u16 = b.trim().parse().map_err(|_| bad())?;
        Ok(PortRange { low, high })
    }
}

impl PortRange {
    /// How many calls' RTP/RTCP pairs the range holds.
    pub fn pairs(self) -> u32 {
        (u32::from(self.high) + 1).saturating_sub(u32::from(self.low)) / 2
    }
}

/// Where seats' digest passwords come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeatPasswords {
    /// `sp_sipregpwd` (the admin API's `/api/sip-passwords`).
    Db,
    /// `[[sip.seat]] password`.
    Config,
}

impl FromStr for SeatPasswords {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "db" => Ok(SeatPasswords::Db),
            "config" => Ok(SeatPasswords::Config),
            _ => Err("expected \"db\" or \"config\"".into()),
        }
    }
}

/// `[[sip.trunk]]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SipTrunk {
    pub name: String,
    /// `IP:port`: outbound INVITEs go there, inbound ones are taken from
    /// that host.
    pub peer: String,
    pub channels: u32,
    #[serde(default)]
    pub user: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub from_number: String,
}

impl SipTrunk {
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.peer.parse().ok()
    }
}

/// `[[sip.seat]]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SipSeat {
    pub ext: String,
    #[serde(default)]
    pub password: String,
}

/// `[sip]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SipConfig {
    #[serde(deserialize_with = "from_str")]
    pub bind: SocketAddr,
    pub public_addr: String,
    #[serde(deserialize_with = "from_str")]
    pub rtp_ports: PortRange,
    pub max_calls: u32,
    #[serde(deserialize_with = "from_str")]
    pub seat_passwords: SeatPasswords,
    pub prompt_dir: PathBuf,
    pub codecs: Vec<String>,
    /// RFC 3261's timer bases, ms.
    pub t1_ms: u64,
    pub t2_ms: u64,
    pub t4_ms: u64,
    #[serde(default)]
    pub trunk: Vec<SipTrunk>,
    #[serde(default)]
    pub seat: Vec<SipSeat>,
}

/// A bad value: its key, the value as written, and what is allowed
/// (the configuration loader turns it into its error, with the file's
/// name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bad {
    pub key: String,
    pub value: String,
    pub allowed: String,
}

fn bad(key: impl Into<String>, value: impl std::fmt::Display, allowed: &str) -> Bad {
    Bad {
        key: key.into(),
        value: value.to_string(),
        allowed: allowed.to_owned(),
    }
}

impl SipConfig {
    /// The codecs, in order of preference.
    pub fn codecs(&self) -> Vec<Codec> {
        self.codecs
            .iter()
            .filter_map(|c| match c.as_str() {
                "PCMA" => Some(Codec::Pcma),
                "PCMU" => Some(Codec::Pcmu),
                _ => None,
            })
            .collect()
    }

    /// The transaction timers' bases (RFC 3261 §17.1.1.1).
    pub fn timers(&self) -> Timers {
        Timers {
            t1: Duration::from_millis(self.t1_ms),
            t2: Duration::from_millis(self.t2_ms),
            t4: Duration::from_millis(self.t4_ms),
        }
    }

    /// Every bad value, named by its key.
    pub fn validate(&self) -> Result<(), Bad> {
        if !(10..=10_000).contains(&self.t1_ms) {
            return Err(bad("sip.t1_ms", self.t1_ms, "10 to 10000"));
        }
        if !(self.t1_ms..=60_000).contains(&self.t2_ms) {
            let allowed = format!("{} (t1_ms) to 60000", self.t1_ms);
            return Err(bad("sip.t2_ms", self.t2_ms, &allowed));
        }
        if !(10..=60_000).contains(&self.t4_ms) {
            return Err(bad("sip.t4_ms", self.t4_ms, "10 to 60000"));
        }
        if !self.public_addr.is_empty() && self.public_addr.parse::<IpAddr>().is_err() {
            let v = format!("{:?}", self.public_addr);
            return Err(bad("sip.public_addr", v, "empty, or an IP address"));
        }
        let r = self.rtp_ports;
        if r.low % 2 != 0 || r.low >= r.high || r.low < 1024 {
            let v = format!("\"{}-{}\"", r.low, r.high);
            let allowed = "an even first port from 1024, below the last";
            return Err(bad("sip.rtp_ports", v, allowed));
        }
        if !(1..=100_000).contains(&self.max_calls) {
            return Err(bad("sip.max_calls", self.max_calls, "1 to 100000"));
        }
        let mut seen = HashSet::new();
        if self.codecs.is_empty() {
            return Err(bad("sip.codecs", "[]", "one or more of \"PCMA\", \"PCMU\""));
        }
        for (i, c) in self.codecs.iter().enumerate() {
            if !matches!(c.as_str(), "PCMA" | "PCMU") || !seen.insert(c.clone()) {
                let allowed = "\"PCMA\" or \"PCMU\", each once";
                return Err(bad(format!("sip.codecs[{i}]"), format!("{c:?}"), allowed));
            }
        }
        let mut names = HashSet::new();
        for (i, t) in self.trunk.iter().enumerate() {
            if t.name.is_empty() || !names.insert(t.name.clone()) {
                let v = format!("{:?}", t.name);
                return Err(bad(
                    format!("sip.trunk[{i}].name"),
                    v,
                    "a name no other trunk has",
                ));
            }
            if t.peer_addr().is_none() {
                let v = format!("{:?}", t.peer);
                let allowed = "IP:port, e.g. \"192.0.2.10:5060\" (no name lookups)";
                return Err(bad(format!("sip.trunk[{i}].peer"), v, allowed));
            }
            if !(1..=10_000).contains(&t.channels) {
                return Err(bad(
                    format!("sip.trunk[{i}].channels"),
                    t.channels,
                    "1 to 10000",
                ));
            }
            if t.user.is_empty() != t.password.is_empty() {
                let allowed = "both user and password, or neither";
                return Err(bad(
                    format!("sip.trunk[{i}].password"),
                    "(one of the two)",
                    allowed,
                ));
            }
        }
        let mut exts = HashSet::new();
        for (i, s) in self.seat.iter().enumerate() {
            if spcti_protocol::TelNum::new(s.ext.clone()).is_err() || !exts.insert(s.ext.clone()) {
                let v = format!("{:?}", s.ext);
                return Err(bad(
                    format!("sip.seat[{i}].ext"),
                    v,
                    "an extension no other seat has",
                ));
            }
            if self.seat_passwords == SeatPasswords::Config && s.password.is_empty() {
                let allowed = "a password (seat_passwords = \"config\")";
                return Err(bad(format!("sip.seat[{i}].password"), "\"\"", allowed));
            }
        }
        Ok(())
    }
}
