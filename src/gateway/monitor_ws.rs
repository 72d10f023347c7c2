//! The WebSocket monitor on `[monitor] bind` (docs/protocol.md section 6).
//!
//! On connect a watcher gets one 6012 per channel, one 6001 per agent seen
//! since start and one 9014 per queue group (the snapshot), then every
//! change as it happens. Frames are XML text (the datagram's text) unless
//! the URL says `?format=json`, which sends JSON objects keyed by tag name.
//!
//! A slow watcher must not slow calls: actors publish to the hub without
//! waiting, each watcher reads the hub's bounded backlog at its own pace,
//! and one that falls more than [`BACKLOG`](spcti_actors::monitor::BACKLOG)
//! changes behind, or does not take a frame within [`SEND_TIMEOUT`], is
//! closed (code 1013, "try again later") and can reconnect for a fresh
//! snapshot. Pings go out every [`PING`]; a watcher that answers none for
//! two intervals is closed.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use actix_ws::{CloseCode, CloseReason, Message as WsMessage};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::json;
use spcti_actors::monitor::{Form as Format, MonitorHub};
use spcti_protocol::{Envelope, Message as Wire, encode_into, to_json};
use tokio::sync::broadcast::error::RecvError;

/// How often watchers are pinged.
pub const PING: Duration = Duration::from_secs(15);
/// How long one frame may take to go out before the watcher is dropped.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Deserialize)]
struct Query {
    format: Option<String>,
}

fn frame(m: &Wire, format: Format) -> String {
    match format {
        Format::Xml => {
            let mut s = String::with_capacity(256);
            encode_into(m, None, &mut s);
            s
        }
        Format::Json => to_json(&Envelope {
            message: m.clone(),
            seq: None,
        })
        .to_string(),
    }
}

async fn watch(
    req: HttpRequest,
    body: web::Payload,
    hub: web::Data<MonitorHub>,
    limits: web::Data<Limits>,
    q: web::Query<Query>,
) -> Result<HttpResponse, actix_web::Error> {
    let format = match q.format.as_deref() {
        None | Some("xml") => Format::Xml,
        Some("json") => Format::Json,
        Some(other) => {
            return Ok(HttpResponse::BadRequest()
                .json(json!({"error": format!("format={other}: expected xml or json")})));
        }
    };
    let (resp, session, stream) = actix_ws::handle(&req, body)?;
    let hub = hub.get_ref().clone();
    actix_web::rt::spawn(serve_watcher(hub, session, stream, format, **limits));
    Ok(resp)
}

async fn serve_watcher(
    hub: MonitorHub,
    mut session: actix_ws::Session,
    mut stream: actix_ws::MessageStream,
    format: Format,
    limits: Limits,
) {
    let Limits { ping, send_timeout } = limits;
    let (snapshot, mut rx) = hub.subscribe();
    tracing::debug!(frames = snapshot.len(), "monitor watcher connected");
    for m in &snapshot {
        if !send(&mut session, frame(m, format), send_timeout).await {
            return;
        }
    }
    let mut pings = tokio::time::interval_at(tokio::time::Instant::now() + ping, ping);
    let mut last_pong = Instant::now();
    loop {
        tokio::select! {
            // What the watcher said first: a pong that came while frames
            // were going out counts before the ping timer looks at it.
            biased;
            msg = stream.next() => match msg {
                Some(Ok(WsMessage::Ping(b))) => {
                    if session.pong(&b).await.is_err() {
                        return;
                    }
                }
                Some(Ok(WsMessage::Pong(_))) => last_pong = Instant::now(),
                Some(Ok(WsMessage::Close(_))) | None | Some(Err(_)) => {
                    let _ = session.close(None).await;
                    return;
                }
                // Watchers only watch; anything they say is ignored.
                Some(Ok(_)) => {}
            },
            _ = pings.tick() => {
                if last_pong.elapsed() > ping * 2 + send_timeout {
                    tracing::info!("monitor watcher stopped answering pings; dropped");
                    let _ = session.close(Some(CloseReason {
                        code: CloseCode::Away,
                        description: Some("no pong".into()),
                    })).await;
                    return;
                }
                if session.ping(b"spcti").await.is_err() {
                    return;
                }
            }
            change = rx.recv() => match change {
                Ok(m) => {
                    let text = m.encoded(format, |m| frame(m, format));
                    if !send(&mut session, text.to_string(), send_timeout).await {
                        tracing::info!("monitor watcher too slow to take a frame; dropped");
                        drop(rx);
                        drop_watcher(session, "too slow; reconnect for a fresh snapshot", ping).await;
                        return;
                    }
                }
                Err(RecvError::Lagged(n)) => {
                    tracing::info!(missed = n, "monitor watcher fell behind; dropped");
                    drop(rx);
                    drop_watcher(session, "fell too far behind; reconnect for a fresh snapshot", ping).await;
                    return;
                }
                Err(RecvError::Closed) => {
                    let _ = session.close(None).await;
                    return;
                }
            },
        }
    }
}

/// Closes with 1013 "try again later" and why. The close waits behind the
/// frames already queued: a watcher that starts reading again within
/// `limit` (a ping interval) reads them, then the close; one that reads
/// nothing for that long is just disconnected. Its change feed is already
/// gone, so waiting costs one idle connection, not memory per change.
async fn drop_watcher(session: actix_ws::Session, why: &str, limit: Duration) {
    let reason = CloseReason {
        code: CloseCode::Again,
        description: Some(why.to_owned()),
    };
    let _ = tokio::time::timeout(limit, session.close(Some(reason))).await;
}

/// Sends one text frame; `false` when the watcher is gone or too slow.
async fn send(session: &mut actix_ws::Session, text: String, limit: Duration) -> bool {
    matches!(
        tokio::time::timeout(limit, session.text(text)).await,
        Ok(Ok(()))
    )
}

/// How patient the monitor is with watchers.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub ping: Duration,
    pub send_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            ping: PING,
            send_timeout: SEND_TIMEOUT,
        }
    }
}

/// Binds the monitor; returns the server (to run) and the address bound.
pub fn bind(
    addr: SocketAddr,
    hub: MonitorHub,
    limits: Limits,
) -> std::io::Result<(actix_web::dev::Server, SocketAddr)> {
    let hub = web::Data::new(hub);
    let limits = web::Data::new(limits);
    let http = HttpServer::new(move || {
        App::new()
            .app_data(hub.clone())
            .app_data(limits.clone())
            .route("/", web::get().to(watch))
            .route("/monitor", web::get().to(watch))
    })
    .workers(1)
    // SIGINT/SIGTERM are `serve::run`'s: a server that took them itself
    // would stop the whole actor system while calls are still ending.
    .disable_signals()
    .shutdown_timeout(1)
    .bind(addr)?;
    let bound = *http.addrs().first().expect("bound one address");
    Ok((http.run(), bound))
}
