//! 1031 phone control (话机控制转发HTTP): the server forwards a key press to
//! an IP phone's HTTP action URL (`http://PHONE/servlet?key=KEY`, the
//! Yealink/Fanvil style), with basic auth, and answers 9000 with the
//! phone's HTTP status. The router decides who may ask and hands the
//! request to the [`PhoneGateway`]; the HTTP call runs on a bounded pool of
//! blocking threads, never on an actor's.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use spcti_actors::access::Networks;
use spcti_actors::deps::PhoneCommand;
use tokio::sync::Semaphore;

use base64::Engine;
use spcti_protocol::agent::PhoneControl;
use spcti_protocol::reply::Ack;

/// How long a phone may take to answer.
pub const TIMEOUT: Duration = Duration::from_secs(3);

/// At most this many phone requests run at once (each holds a blocking
/// thread for up to [`TIMEOUT`]) ...
pub const RUNNING: usize = 4;
/// ... and at most this many wait for one of them; past that a 1031 is
/// refused at once, so a flood costs neither threads nor memory.
pub const WAITING: usize = 16;

/// Where 1031 may send, and how much of it at once.
pub struct Policy {
    /// `[phone] allow`.
    pub allow: Networks,
    /// The server's own TCP and UDP ports, never a phone's (set once every
    /// socket is bound).
    pub own_ports: Arc<OnceLock<Vec<u16>>>,
    slots: Arc<Semaphore>,
    queued: AtomicUsize,
}

impl Policy {
    pub fn new(allow: Networks, own_ports: Arc<OnceLock<Vec<u16>>>) -> Self {
        Policy {
            allow,
            own_ports,
            slots: Arc::new(Semaphore::new(RUNNING)),
            queued: AtomicUsize::new(0),
        }
    }

    /// Where a request may go: an address literal (names are not resolved:
    /// the server must not be steered by DNS) inside `[phone] allow`, not
    /// one of the server's own ports on this machine.
    pub fn target(&self, phone_ip: &str) -> Result<SocketAddr, String> {
        let text = phone_ip.trim();
        let to = SocketAddr::from_str(text)
            .or_else(|_| IpAddr::from_str(text).map(|ip| SocketAddr::new(ip, 80)))
            .or_else(|_| {
                // A bracketed IPv6 literal without a port.
                text.strip_prefix('[')
                    .and_then(|t| t.strip_suffix(']'))
                    .ok_or(())
                    .and_then(|t| Ipv6Addr::from_str(t).map_err(drop))
                    .map(|ip| SocketAddr::new(ip.into(), 80))
            })
            .map_err(|_| format!("PhoneIP {text:?} is not an IP address with an optional :port"))?;
        if to.port() == 0 {
            return Err("PhoneIP port 0 cannot be reached".into());
        }
        if !self.allow.contains(to.ip()) {
            return Err(format!("PhoneIP {} is outside [phone] allow", to.ip()));
        }
        let ip = to.ip().to_canonical();
        let own = self.own_ports.get().is_none_or(|p| p.contains(&to.port()));
        if (ip.is_loopback() || ip.is_unspecified()) && own {
            return Err(format!("PhoneIP {to} is one of this server's own ports"));
        }
        Ok(to)
    }
}

/// Percent-encodes everything but unreserved characters and `keep`.
fn encode(value: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) || keep.contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The action URL for a request to `to`.
pub fn action_url(to: SocketAddr, p: &PhoneControl) -> Result<String, String> {
    let key = p.key.trim();
    if key.is_empty() {
        return Err("Key is empty".into());
    }
    // `number=1002` is one key value for these phones: its `=` stays.
    let mut url = format!("http://{to}/servlet?key={}", encode(key, b"=*#"));
    if let Some(uri) = p
        .outgoing_uri
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
    {
        url.push_str("&outgoing_uri=");
        url.push_str(&encode(uri, b"@:"));
    }
    Ok(url)
}

/// The phone gateway: carries out 1031 for the router, within [`Policy`].
pub struct PhoneGateway {
    policy: Arc<Policy>,
}

impl PhoneGateway {
    pub fn new(policy: Policy) -> Self {
        PhoneGateway {
            policy: Arc::new(policy),
        }
    }
}

impl actix::Actor for PhoneGateway {
    type Context = actix::Context<Self>;
}

/// One key press; the mailbox goes on while the phone is asked.
impl actix::Handler<PhoneCommand> for PhoneGateway {
    type Result = actix::ResponseFuture<Ack>;
    fn handle(&mut self, m: PhoneCommand, _: &mut actix::Context<Self>) -> Self::Result {
        let policy = self.policy.clone();
        Box::pin(async move { control(&policy, m.0).await })
    }
}

/// Sends the key press and answers the request.
pub async fn control(policy: &Policy, p: PhoneControl) -> Ack {
    let url = match policy.target(&p.phone_ip).and_then(|to| action_url(to, &p)) {
        Ok(u) => u,
        Err(why) => return Ack::failed(1031, None, why),
    };
    // Wait for a slot only if few others do.
    if policy.queued.fetch_add(1, Ordering::SeqCst) >= RUNNING + WAITING {
        policy.queued.fetch_sub(1, Ordering::SeqCst);
        return Ack::failed(
            1031,
            None,
            format!("phone control is busy ({RUNNING} running, {WAITING} waiting); try again"),
        );
    }
    let permit = policy.slots.clone().acquire_owned().await;
    let user = p.user.as_deref().unwrap_or("admin");
    let password = p.password.as_deref().unwrap_or("admin");
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    );
    let shown = url.clone();
    let busy = spcti_actors::idle::busy();
    let sent = actix_web::rt::task::spawn_blocking(move || {
        let _permit = permit;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(TIMEOUT))
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .into();
        agent
            .get(&url)
            .header("Authorization", &auth)
            .call()
            .map(|r| r.status().as_u16())
    })
    .await;
    drop(busy);
    policy.queued.fetch_sub(1, Ordering::SeqCst);
    match sent {
        Ok(Ok(status)) => {
            tracing::info!(url = %shown, status, "phone control sent");
            let mut ack = if (200..300).contains(&status) {
                Ack::ok(1031, None)
            } else {
                Ack::failed(1031, None, "")
            };
            ack.result_str = format!("HTTP {status}");
            ack
        }
        Ok(Err(e)) => {
            // Logged, not told: the reply must not tell a closed port from
            // a silent host (1031 is no port scanner).
            tracing::info!(url = %shown, "phone control failed: {e}");
            Ack::failed(1031, None, "the phone did not answer")
        }
        Err(_) => Ack::failed(1031, None, "internal error, try again"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(key: &str, uri: Option<&str>) -> PhoneControl {
        PhoneControl {
            phone_ip: String::new(),
            key: key.into(),
            user: None,
            password: None,
            outgoing_uri: uri.map(Into::into),
        }
    }

    fn policy() -> Policy {
        Policy::new(
            Networks(vec![
                Networks::parse_entry("10.0.0.0/8").unwrap(),
                Networks::parse_entry("127.0.0.1").unwrap(),
                Networks::parse_entry("fd00::/8").unwrap(),
            ]),
            Arc::new(OnceLock::from(vec![5806])),
        )
    }

    #[test]
    fn urls() {
        let to: SocketAddr = "10.0.0.7:80".parse().unwrap();
        assert_eq!(
            action_url(to, &req("OFFHOOK", None)).unwrap(),
            "http://10.0.0.7:80/servlet?key=OFFHOOK"
        );
        assert_eq!(
            action_url(to, &req("number=1002", Some("sip:1002@pbx"))).unwrap(),
            "http://10.0.0.7:80/servlet?key=number=1002&outgoing_uri=sip:1002@pbx"
        );
        assert_eq!(
            action_url(to, &req("a b&c", None)).unwrap(),
            "http://10.0.0.7:80/servlet?key=a%20b%26c"
        );
        assert!(action_url(to, &req(" ", None)).is_err());
    }

    #[test]
    fn phones_are_address_literals_inside_the_allow_list() {
        let p = policy();
        assert_eq!(
            p.target("10.0.0.7").unwrap(),
            "10.0.0.7:80".parse().unwrap()
        );
        assert_eq!(
            p.target("10.0.0.7:8080").unwrap(),
            "10.0.0.7:8080".parse().unwrap()
        );
        assert_eq!(
            p.target("[fd00::7]").unwrap(),
            "[fd00::7]:80".parse().unwrap()
        );
        assert_eq!(
            p.target("[fd00::7]:81").unwrap(),
            "[fd00::7]:81".parse().unwrap()
        );
        assert!(p.target("127.0.0.1:8080").is_ok());
        for bad in [
            "",
            "phone.example",
            "10.0.0.7/admin",
            "user@10.0.0.7",
            "10.0.0.7?x",
            "a b",
            "192.168.1.1",
            "8.8.8.8:80",
            "127.0.0.1:5806",
            "127.0.0.2:8080",
            "10.0.0.7:0",
        ] {
            assert!(p.target(bad).is_err(), "{bad}");
        }
    }
}
