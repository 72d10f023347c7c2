//! Flows' `http` nodes (docs/flows.md): each request on a bounded blocking
//! pool, never on an actor's thread, with the node's timeout; the answer
//! is the JSON body of a 2xx, anything else a reason for the `fail` exit.
//!
//! Bounded twice: at most [`RUNNING`] requests at once and [`WAITING`]
//! queued behind them (more are refused at once, so a slow CRM cannot
//! pile up every caller in the building), and at most [`MAX_BODY`] bytes
//! of answer read.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use spcti_actors::deps::FlowHttp;
use spcti_actors::flow::HttpRequest;
use tokio::sync::Semaphore;

pub const RUNNING: usize = 16;
pub const WAITING: usize = 256;
/// Longest answer read.
pub const MAX_BODY: u64 = 256 * 1024;

/// The worker.
pub struct FlowHttpGateway {
    slots: Arc<Semaphore>,
    queued: Arc<AtomicUsize>,
}

impl Default for FlowHttpGateway {
    fn default() -> Self {
        FlowHttpGateway {
            slots: Arc::new(Semaphore::new(RUNNING)),
            queued: Arc::new(AtomicUsize::new(0)),
        }
    }
}

impl actix::Actor for FlowHttpGateway {
    type Context = actix::Context<Self>;
}

impl actix::Handler<FlowHttp> for FlowHttpGateway {
    type Result = actix::ResponseFuture<Result<serde_json::Value, String>>;

    fn handle(&mut self, m: FlowHttp, _: &mut actix::Context<Self>) -> Self::Result {
        let (slots, queued) = (self.slots.clone(), self.queued.clone());
        Box::pin(async move {
            if queued.fetch_add(1, Ordering::SeqCst) >= RUNNING + WAITING {
                queued.fetch_sub(1, Ordering::SeqCst);
                return Err(format!(
                    "too many flow HTTP requests at once ({RUNNING} running, {WAITING} waiting)"
                ));
            }
            let permit = slots.acquire_owned().await;
            let req = m.0;
            let url = req.url.clone();
            let busy = spcti_actors::idle::busy();
            let done = actix_web::rt::task::spawn_blocking(move || {
                let _permit = permit;
                send(&req)
            })
            .await;
            drop(busy);
            queued.fetch_sub(1, Ordering::SeqCst);
            let result = done.unwrap_or_else(|_| Err("internal error".into()));
            match &result {
                Ok(_) => tracing::debug!(%url, "flow HTTP answered"),
                Err(why) => tracing::info!(%url, "flow HTTP failed: {why}"),
            }
            result
        })
    }
}

/// One request, blocking.
fn send(req: &HttpRequest) -> Result<serde_json::Value, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(req.timeout))
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let answer = match (req.method.as_str(), &req.body) {
        ("POST", body) => agent
            .post(&req.url)
            .header("Content-Type", "application/json")
            .send(body.as_deref().unwrap_or("")),
        ("PUT", body) => agent
            .put(&req.url)
            .header("Content-Type", "application/json")
            .send(body.as_deref().unwrap_or("")),
        _ => agent.get(&req.url).call(),
    };
    let mut answer = answer.map_err(|e| match e {
        ureq::Error::Timeout(_) => format!("no answer within {} ms", req.timeout.as_millis()),
        other => other.to_string(),
    })?;
    let status = answer.status().as_u16();
    if !(200..300).contains(&status) {
        return Err(format!("HTTP {status}"));
    }
    let text = answer
        .body_mut()
        .with_config()
        .limit(MAX_BODY)
        .read_to_string()
        .map_err(|e| format!("the answer could not be read: {e}"))?;
    if text.trim().is_empty() {
        return Ok(serde_json::Value::Null);
    }
    serde_json::from_str(&text).map_err(|e| format!("the answer is not JSON: {e}"))
}
