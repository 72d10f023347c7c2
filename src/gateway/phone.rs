//! 1031 phone control (话机控制转发HTTP): the server forwards a key press to
//! an IP phone's HTTP action URL (`http://PHONE/servlet?key=KEY`, the
//! Yealink/Fanvil style), with basic auth, and answers 9000 with the
//! phone's HTTP status. It is plain I/O, so it lives at the gateway and
//! never reaches an actor.

use std::time::Duration;

use base64::Engine;
use spcti_protocol::agent::PhoneControl;
use spcti_protocol::reply::Ack;

/// How long a phone may take to answer.
pub const TIMEOUT: Duration = Duration::from_secs(3);

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

/// The action URL for a request, or why the request cannot be sent.
/// `PhoneIP` must be a bare host with an optional port: anything that would
/// change the URL's path or credentials is refused.
pub fn action_url(p: &PhoneControl) -> Result<String, String> {
    let host = p.phone_ip.trim();
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b));
    if !host_ok {
        return Err(format!("PhoneIP {host:?} is not a host or host:port"));
    }
    let key = p.key.trim();
    if key.is_empty() {
        return Err("Key is empty".into());
    }
    // `number=1002` is one key value for these phones: its `=` stays.
    let mut url = format!("http://{host}/servlet?key={}", encode(key, b"=*#"));
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

/// Sends the key press and answers the request.
pub async fn control(p: PhoneControl) -> Ack {
    let url = match action_url(&p) {
        Ok(u) => u,
        Err(why) => return Ack::failed(1031, None, why),
    };
    let user = p.user.as_deref().unwrap_or("admin");
    let password = p.password.as_deref().unwrap_or("admin");
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    );
    let shown = url.clone();
    let sent = actix_web::rt::task::spawn_blocking(move || {
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
            tracing::info!(url = %shown, "phone control failed: {e}");
            Ack::failed(1031, None, format!("the phone did not answer: {e}"))
        }
        Err(_) => Ack::failed(1031, None, "internal error, try again"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(ip: &str, key: &str, uri: Option<&str>) -> PhoneControl {
        PhoneControl {
            phone_ip: ip.into(),
            key: key.into(),
            user: None,
            password: None,
            outgoing_uri: uri.map(Into::into),
        }
    }

    #[test]
    fn urls() {
        assert_eq!(
            action_url(&req("10.0.0.7", "OFFHOOK", None)).unwrap(),
            "http://10.0.0.7/servlet?key=OFFHOOK"
        );
        assert_eq!(
            action_url(&req("10.0.0.7:8080", "number=1002", Some("sip:1002@pbx"))).unwrap(),
            "http://10.0.0.7:8080/servlet?key=number=1002&outgoing_uri=sip:1002@pbx"
        );
        assert_eq!(
            action_url(&req("p", "a b&c", None)).unwrap(),
            "http://p/servlet?key=a%20b%26c"
        );
        for bad in [
            "",
            "10.0.0.7/admin",
            "user@10.0.0.7",
            "10.0.0.7?x",
            "10.0.0.7#",
            "a b",
        ] {
            assert!(action_url(&req(bad, "OFFHOOK", None)).is_err(), "{bad}");
        }
    }
}
