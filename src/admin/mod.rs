//! The HTTP admin API, metrics and web pages on `[admin] bind`.
//!
//! Everything under `/api` (except `/api/health`), `/metrics` and `/sim`
//! needs `Authorization: Bearer <token>` when `[admin] token` is set. The
//! guard is middleware on those scopes and resources, not a test of the
//! raw path: whatever spelling the router decodes into a guarded route
//! (`/%61pi/actors`) meets the guard. Errors are JSON `{"error": "..."}`
//! with the status that says what went wrong; a known path asked with a
//! method it lacks is a 405 with `Allow`.

pub mod api;
pub mod flows;
pub mod metrics;
pub mod web;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use actix::Addr;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web as aw};
use serde_json::json;
use spcti_actors::messages::RouterRef;
use spcti_actors::monitor::MonitorHub;
use spcti_actors::supervision::Registry;

use crate::storage::db::ReadPool;
use crate::storage::spool::SpoolStatus;

/// Addresses actually bound, known once every socket is open.
#[derive(Debug, Clone, Copy)]
pub struct Bound {
    pub agent_udp: SocketAddr,
    pub admin: SocketAddr,
    pub monitor: SocketAddr,
}

/// What the admin routes work with.
pub struct Admin {
    pub router: RouterRef,
    pub registry: Addr<Registry>,
    pub hub: MonitorHub,
    pub db: Arc<SpoolStatus>,
    pub reads: ReadPool,
    pub recordings: PathBuf,
    pub token: String,
    pub fault_injection: bool,
    pub started: Instant,
    pub bound: Arc<OnceLock<Bound>>,
    /// Flow files (`/api/flows`).
    pub flow_files: Addr<crate::flows::FlowFiles>,
    /// The running flows (which prompt a flow uses).
    pub flows: Arc<spcti_actors::flow::FlowBook>,
    /// The prompts (`/api/prompts`).
    pub prompts: crate::sim::wav::Prompts,
    /// Where seats' phone registrations are asked for (the SIP driver).
    pub registrations: Option<actix::Recipient<crate::switch::Registrations>>,
}

/// A JSON error answer.
pub fn error(status: StatusCode, message: impl Into<String>) -> HttpResponse {
    HttpResponse::build(status).json(json!({ "error": message.into() }))
}

/// The actors refused: the status its kind says, the reason as the body.
pub fn refused(why: spcti_actors::refusal::Refusal) -> HttpResponse {
    let status = StatusCode::from_u16(why.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    error(status, why.to_string())
}

/// Compares without an early exit, so response times do not reveal how
/// much of a guessed token was right.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The bearer-token guard: wrap a scope or resource in `from_fn(require_token)`.
pub async fn require_token(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let token = req
        .app_data::<aw::Data<Admin>>()
        .map(|a| a.token.clone())
        .unwrap_or_default();
    if !token.is_empty() {
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !constant_time_eq(given.as_bytes(), token.as_bytes()) {
            let resp = HttpResponse::Unauthorized()
                .insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"spcti\""))
                .json(json!({ "error": "missing or wrong bearer token ([admin] token)" }));
            return Ok(req.into_response(resp));
        }
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_boxed_body)
}

/// A resource whose other methods answer 405 with `Allow: allow`.
pub fn resource(path: &str, allow: &'static str) -> actix_web::Resource {
    aw::resource(path).default_service(aw::to(move |req: actix_web::HttpRequest| async move {
        HttpResponse::MethodNotAllowed()
            .insert_header((header::ALLOW, allow))
            .json(json!({
                "error": format!("{} is not allowed on {}; allowed: {allow}", req.method(), req.path())
            }))
    }))
}

/// Registers the admin routes, metrics and pages.
pub fn routes(cfg: &mut aw::ServiceConfig) {
    api::routes(cfg);
    metrics::routes(cfg);
    web::routes(cfg);
}

/// A JSON 404 for anything unrouted, instead of an empty body.
pub async fn not_found(req: actix_web::HttpRequest) -> HttpResponse {
    error(
        StatusCode::NOT_FOUND,
        format!("no route {} {}", req.method(), req.path()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_exactly() {
        assert!(constant_time_eq(b"s3cret", b"s3cret"));
        assert!(!constant_time_eq(b"s3cret", b"s3creT"));
        assert!(!constant_time_eq(b"s3cret", b"s3cre"));
        assert!(!constant_time_eq(b"", b"x"));
    }
}
