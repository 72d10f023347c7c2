//! The JSON routes under `/api` (documented in `docs/openapi.json`, served
//! at `/api/openapi.json`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{NaiveDate, NaiveDateTime};
use serde::Deserialize;
use serde_json::{Value, json};
use spcti_actors::messages::router::{CrashActor, RestartActor};
use spcti_actors::supervision::ListActors;
use spcti_protocol::{Envelope, Message as Wire, to_json};

use super::{Admin, error, refused, resource};
use crate::storage::directory::DirError;
use crate::storage::query::{CallFilter, RecordingFilter};

type Data = web::Data<Admin>;

const OPENAPI: &str = include_str!("../../docs/openapi.json");

fn wire_json(m: Wire) -> Value {
    to_json(&Envelope {
        message: m,
        seq: None,
    })
}

async fn health(a: Data) -> HttpResponse {
    let b = a.bound.get().copied();
    HttpResponse::Ok().json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_s": a.started.elapsed().as_secs(),
        "agent_udp": b.map(|b| b.agent_udp.to_string()),
        "admin": b.map(|b| b.admin.to_string()),
        "monitor": b.map(|b| b.monitor.to_string()),
        "database": a.db.snapshot(),
    }))
}

async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(OPENAPI)
}

async fn actors(a: Data) -> HttpResponse {
    match a.registry.send(ListActors).await {
        Ok(list) => HttpResponse::Ok().json(
            list.into_iter()
                .map(|h| {
                    json!({
                        "path": h.path,
                        "kind": h.kind,
                        "state": h.state,
                        "restarts": h.restarts,
                        "last_failure": h.last_failure,
                        "backoff_ms": h.backoff.map(|d| d.as_millis() as u64),
                    })
                })
                .collect::<Vec<_>>(),
        ),
        Err(e) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the registry did not answer: {e}"),
        ),
    }
}

fn valid_path(path: &str) -> bool {
    !path.is_empty()
        && path.len() <= 64
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b':' || b == b'-' || b == b'_')
}

async fn restart(a: Data, path: web::Path<String>) -> HttpResponse {
    let path = path.into_inner();
    if !valid_path(&path) {
        return error(
            StatusCode::BAD_REQUEST,
            "an actor path is kind:id, e.g. agent:8001, channel:12, group:1",
        );
    }
    match a.router.send(RestartActor { path }).await {
        Ok(Ok(())) => HttpResponse::Accepted().json(json!({"restarting": true})),
        Ok(Err(why)) => refused(why),
        Err(e) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the router did not answer: {e}"),
        ),
    }
}

async fn crash(a: Data, path: web::Path<String>) -> HttpResponse {
    if !a.fault_injection {
        return error(
            StatusCode::NOT_FOUND,
            "fault injection is off ([admin] fault_injection)",
        );
    }
    let path = path.into_inner();
    if !valid_path(&path) {
        return error(
            StatusCode::BAD_REQUEST,
            "an actor path is kind:id, e.g. agent:8001, channel:12, group:1",
        );
    }
    match a.router.send(CrashActor { path }).await {
        Ok(Ok(())) => HttpResponse::NoContent().finish(),
        Ok(Err(why)) => refused(why),
        Err(e) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the router did not answer: {e}"),
        ),
    }
}

async fn agents(a: Data) -> HttpResponse {
    let list: Vec<Value> = a
        .hub
        .agents()
        .into_iter()
        .map(|(s, since)| {
            let mut v = wire_json(s.into());
            v["Since"] = json!(since.format("%Y-%m-%d %H:%M:%S").to_string());
            v
        })
        .collect();
    HttpResponse::Ok().json(list)
}

async fn groups(a: Data) -> HttpResponse {
    let list: Vec<Value> = a
        .hub
        .groups()
        .into_iter()
        .map(|(s, x)| {
            let mut v = wire_json(s.into());
            v["AsaS"] = json!((x.asa.as_millis() as f64 / 100.0).round() / 10.0);
            v["AhtS"] = json!((x.aht.as_millis() as f64 / 100.0).round() / 10.0);
            v["AbandonRate"] = json!(f64::from(x.abandon_permille) / 1000.0);
            v["ServiceLevelThresholdS"] = json!(x.service_level_threshold.as_secs());
            v
        })
        .collect();
    HttpResponse::Ok().json(list)
}

async fn channels(a: Data) -> HttpResponse {
    // SIP seats' registrations, when the driver has phones that register.
    let registrations = match &a.registrations {
        Some(r) => r
            .send(crate::switch::Registrations)
            .await
            .unwrap_or_default(),
        None => Default::default(),
    };
    let list: Vec<Value> = a
        .hub
        .channels()
        .into_iter()
        .map(|c| {
            let ch = c.ch_num;
            let mut v = wire_json(c.into());
            if let Some(r) = registrations.get(&ch) {
                v["Registration"] = serde_json::to_value(r).unwrap_or(Value::Null);
            }
            v
        })
        .collect();
    HttpResponse::Ok().json(list)
}

/// A UTC time given as `YYYY-MM-DD`, `YYYY-MM-DD HH:MM[:SS]` or with a `T`.
/// A search bound: `YYYY-MM-DD[ HH:MM[:SS]]` (or `T` between), the shape
/// `docs/openapi.json` gives. A day past the month's end counts on into
/// the next month (`2026-11-31` is 1 December), as the calendar-free
/// pattern of the document allows it.
fn parse_time(key: &str, v: &str) -> Result<NaiveDateTime, HttpResponse> {
    let bad = || {
        error(
            StatusCode::BAD_REQUEST,
            format!("{key}={v}: expected a UTC time like 2026-11-24 or 2026-11-24 09:30:00"),
        )
    };
    let (date, time) = match v.split_once([' ', 'T']) {
        Some((d, t)) => (d, Some(t)),
        None => (v, None),
    };
    let num = |s: &str, len: usize| -> Option<u32> {
        (s.len() == len && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let mut ymd = date.split('-');
    let (Some(y), Some(m), Some(d), None) = (ymd.next(), ymd.next(), ymd.next(), ymd.next()) else {
        return Err(bad());
    };
    let (Some(y), Some(m), Some(d)) = (num(y, 4), num(m, 2), num(d, 2)) else {
        return Err(bad());
    };
    if !(1..=31).contains(&d) {
        return Err(bad());
    }
    let day = NaiveDate::from_ymd_opt(y as i32, m, 1)
        .and_then(|first| first.checked_add_days(chrono::Days::new(u64::from(d - 1))))
        .ok_or_else(bad)?;
    let (h, min, sec) = match time {
        None => (Some(0), Some(0), Some(0)),
        Some(t) => match t.split(':').collect::<Vec<_>>().as_slice() {
            [h, m] => (num(h, 2), num(m, 2), Some(0)),
            [h, m, s] => (num(h, 2), num(m, 2), num(s, 2)),
            _ => return Err(bad()),
        },
    };
    let (Some(h), Some(min), Some(sec)) = (h, min, sec) else {
        return Err(bad());
    };
    day.and_hms_opt(h, min, sec).ok_or_else(bad)
}

#[derive(Deserialize)]
struct Search {
    caller: Option<String>,
    callee: Option<String>,
    agent: Option<String>,
    from: Option<String>,
    to: Option<String>,
    page: Option<String>,
}

struct Parsed {
    from: Option<NaiveDateTime>,
    to: Option<NaiveDateTime>,
    page: Option<u32>,
}

/// The largest page asked for (`docs/openapi.json`).
const MAX_PAGE: u32 = 100_000;
/// The longest search term.
const MAX_TERM: usize = 64;

fn parse_search(q: &Search) -> Result<Parsed, HttpResponse> {
    for (key, term) in [
        ("caller", &q.caller),
        ("callee", &q.callee),
        ("agent", &q.agent),
    ] {
        if term.as_ref().is_some_and(|t| t.chars().count() > MAX_TERM) {
            return Err(error(
                StatusCode::BAD_REQUEST,
                format!("{key} is longer than {MAX_TERM} characters"),
            ));
        }
    }
    let from = q
        .from
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|v| parse_time("from", v))
        .transpose()?;
    let to =
        q.to.as_deref()
            .filter(|s| !s.is_empty())
            .map(|v| parse_time("to", v))
            .transpose()?;
    // An empty `page=` is no number: refused like any other (the schema's
    // integer), unlike empty search terms, which mean "any".
    let page = match q.page.as_deref() {
        None => None,
        Some(p) => match digits(p).and_then(|p| p.parse::<u32>().ok()).ok_or(()) {
            Ok(n) if (1..=MAX_PAGE).contains(&n) => Some(n),
            _ => {
                return Err(error(
                    StatusCode::BAD_REQUEST,
                    format!("page={p}: expected a page number from 1 to {MAX_PAGE}"),
                ));
            }
        },
    };
    Ok(Parsed { from, to, page })
}

fn nonempty(v: &Option<String>) -> Option<String> {
    v.clone().filter(|s| !s.is_empty())
}

/// Runs blocking database work off the server's threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, HttpResponse> {
    match web::block(f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(error(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("database unavailable: {e}"),
        )),
        Err(e) => Err(error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())),
    }
}

async fn calls(a: Data, q: web::Query<Search>) -> HttpResponse {
    let p = match parse_search(&q) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let f = CallFilter {
        caller: nonempty(&q.caller),
        callee: nonempty(&q.callee),
        agent: nonempty(&q.agent),
        from: p.from,
        to: p.to,
        page: p.page,
    };
    let reads = a.reads.clone();
    match blocking(move || reads.calls(&f)).await {
        Ok(rows) => HttpResponse::Ok().json(json!({"page": p.page.unwrap_or(1), "calls": rows})),
        Err(r) => r,
    }
}

async fn recordings(a: Data, q: web::Query<Search>) -> HttpResponse {
    let p = match parse_search(&q) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let f = RecordingFilter {
        caller: nonempty(&q.caller),
        callee: nonempty(&q.callee),
        from: p.from,
        to: p.to,
        page: p.page,
    };
    let reads = a.reads.clone();
    match blocking(move || reads.recordings(&f)).await {
        Ok(rows) => {
            // Ids only: the file's place on disk is the server's business.
            let rows: Vec<Value> = rows
                .into_iter()
                .map(|r| {
                    let mut v = serde_json::to_value(&r).unwrap_or_default();
                    if let Some(o) = v.as_object_mut() {
                        o.remove("file_name");
                        o.insert(
                            "audio".into(),
                            json!(format!("/api/recordings/{}/audio", r.id)),
                        );
                    }
                    v
                })
                .collect();
            HttpResponse::Ok().json(json!({"page": p.page.unwrap_or(1), "recordings": rows}))
        }
        Err(r) => r,
    }
}

/// Plain decimal digits only (Rust's parser also takes `+5`).
fn digits(text: &str) -> Option<&str> {
    (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())).then_some(text)
}

fn parse_id(id: &str) -> Result<i32, HttpResponse> {
    match digits(id).and_then(|d| d.parse::<i32>().ok()).ok_or(()) {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(error(
            StatusCode::BAD_REQUEST,
            format!("{id:?} is not an id (a number from 1 to 2147483647)"),
        )),
    }
}

async fn audio(a: Data, id: web::Path<String>, req: HttpRequest) -> HttpResponse {
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let reads = a.reads.clone();
    let row = match blocking(move || reads.recording(id)).await {
        Ok(Some(r)) => r,
        Ok(None) => return error(StatusCode::NOT_FOUND, format!("no recording {id}")),
        Err(r) => return r,
    };
    // The stored name must stay inside the recordings directory, whatever
    // the database holds.
    let rel = std::path::Path::new(&row.row.file_name);
    if rel.is_absolute()
        || rel
            .components()
            .any(|c| !matches!(c, std::path::Component::Normal(_)))
    {
        tracing::error!(id, file = %row.row.file_name, "recording row points outside the recordings directory");
        return error(
            StatusCode::NOT_FOUND,
            format!("recording {id} has no audio file"),
        );
    }
    let path = a.recordings.join(rel);
    match actix_files::NamedFile::open(&path) {
        Ok(f) => f
            .set_content_type("audio/wav".parse().expect("a valid mime type"))
            .into_response(&req),
        Err(_) => error(
            StatusCode::NOT_FOUND,
            format!("recording {id} has no audio file"),
        ),
    }
}

fn dir_error(e: DirError) -> HttpResponse {
    match e {
        DirError::Invalid(m) => error(StatusCode::BAD_REQUEST, m),
        DirError::Duplicate(m) => error(StatusCode::CONFLICT, format!("{m} already exists")),
        DirError::Unavailable(m) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("database unavailable: {m}"),
        ),
    }
}

async fn dir_block<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, DirError> + Send + 'static,
) -> Result<T, HttpResponse> {
    match web::block(f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(dir_error(e)),
        Err(e) => Err(error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())),
    }
}

/// CRUD routes for one directory table.
macro_rules! crud {
    ($cfg:expr, $base:literal, $in:ty, $what:literal, $list:ident, $get:ident, $create:ident, $update:ident, $delete:ident) => {{
        async fn list(a: Data) -> HttpResponse {
            let reads = a.reads.clone();
            match dir_block(move || reads.$list()).await {
                Ok(v) => HttpResponse::Ok().json(v),
                Err(r) => r,
            }
        }
        async fn get(a: Data, id: web::Path<String>) -> HttpResponse {
            let id = match parse_id(&id) {
                Ok(id) => id,
                Err(r) => return r,
            };
            let reads = a.reads.clone();
            match dir_block(move || reads.$get(id)).await {
                Ok(Some(v)) => HttpResponse::Ok().json(v),
                Ok(None) => error(
                    StatusCode::NOT_FOUND,
                    format!(concat!("no ", $what, " {}"), id),
                ),
                Err(r) => r,
            }
        }
        async fn create(a: Data, body: web::Json<$in>) -> HttpResponse {
            let reads = a.reads.clone();
            match dir_block(move || reads.$create(&body)).await {
                Ok(v) => HttpResponse::Created().json(v),
                Err(r) => r,
            }
        }
        async fn update(a: Data, id: web::Path<String>, body: web::Json<$in>) -> HttpResponse {
            let id = match parse_id(&id) {
                Ok(id) => id,
                Err(r) => return r,
            };
            let reads = a.reads.clone();
            match dir_block(move || reads.$update(id, &body)).await {
                Ok(Some(v)) => HttpResponse::Ok().json(v),
                Ok(None) => error(
                    StatusCode::NOT_FOUND,
                    format!(concat!("no ", $what, " {}"), id),
                ),
                Err(r) => r,
            }
        }
        async fn delete(a: Data, id: web::Path<String>) -> HttpResponse {
            let id = match parse_id(&id) {
                Ok(id) => id,
                Err(r) => return r,
            };
            let reads = a.reads.clone();
            match dir_block(move || reads.$delete(id)).await {
                Ok(true) => HttpResponse::NoContent().finish(),
                Ok(false) => error(
                    StatusCode::NOT_FOUND,
                    format!(concat!("no ", $what, " {}"), id),
                ),
                Err(r) => r,
            }
        }
        $cfg.service(
            resource($base, "GET, POST")
                .route(web::get().to(list))
                .route(web::post().to(create)),
        )
        .service(
            resource(concat!($base, "/{id}"), "GET, PUT, DELETE")
                .route(web::get().to(get))
                .route(web::put().to(update))
                .route(web::delete().to(delete)),
        );
    }};
}

/// A bad JSON body is a 400 with the parser's reason, as JSON.
pub fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(64 * 1024)
        .error_handler(|e, _| {
            let resp = error(StatusCode::BAD_REQUEST, format!("bad JSON body: {e}"));
            actix_web::error::InternalError::from_response(e, resp).into()
        })
}

/// A bad query string is a 400 as JSON too.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|e, _| {
        let resp = error(StatusCode::BAD_REQUEST, format!("bad query: {e}"));
        actix_web::error::InternalError::from_response(e, resp).into()
    })
}

/// `/api/health` (public, registered before the guarded scope), and the
/// `/api` scope: every route in it, and anything the router decodes into
/// it (`/%61pi/...`), meets the token guard first.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/health", "GET").route(web::get().to(health)))
        .service(
            web::scope("/api")
                .wrap(actix_web::middleware::from_fn(super::require_token))
                .configure(guarded),
        );
}

fn guarded(cfg: &mut web::ServiceConfig) {
    cfg.app_data(json_config())
        .app_data(query_config())
        .service(resource("/openapi.json", "GET").route(web::get().to(openapi)))
        .service(resource("/actors", "GET").route(web::get().to(actors)))
        .service(resource("/actors/{path}/restart", "POST").route(web::post().to(restart)))
        .service(resource("/actors/{path}/crash", "POST").route(web::post().to(crash)))
        .service(resource("/agents", "GET").route(web::get().to(agents)))
        .service(resource("/groups", "GET").route(web::get().to(groups)))
        .service(resource("/channels", "GET").route(web::get().to(channels)))
        .service(resource("/calls", "GET").route(web::get().to(calls)))
        .service(resource("/recordings", "GET").route(web::get().to(recordings)))
        .service(resource("/recordings/{id}/audio", "GET").route(web::get().to(audio)))
        .configure(super::flows::routes);
    crud!(
        cfg,
        "/customers",
        crate::storage::directory::CustomerIn,
        "customer",
        customers,
        customer_by_id,
        create_customer,
        update_customer,
        delete_customer
    );
    crud!(
        cfg,
        "/whitelist",
        crate::storage::directory::WhitelistIn,
        "whitelist entry",
        whitelist_entries,
        whitelist_entry,
        create_whitelist,
        update_whitelist,
        delete_whitelist
    );
    crud!(
        cfg,
        "/sip-passwords",
        crate::storage::directory::SipPasswordIn,
        "SIP password",
        sip_passwords,
        sip_password_by_id,
        create_sip_password,
        update_sip_password,
        delete_sip_password
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: &str) -> Option<String> {
        parse_time("from", v).ok().map(|t| t.to_string())
    }

    #[test]
    fn search_bounds_take_the_documented_shape_only() {
        assert_eq!(t("2026-11-24").as_deref(), Some("2026-11-24 00:00:00"));
        assert_eq!(
            t("2026-11-24 09:30").as_deref(),
            Some("2026-11-24 09:30:00")
        );
        assert_eq!(
            t("2026-11-24T09:30:05").as_deref(),
            Some("2026-11-24 09:30:05")
        );
        // Past the month's end: on into the next month.
        assert_eq!(t("2026-11-31").as_deref(), Some("2026-12-01 00:00:00"));
        assert_eq!(t("2026-02-30").as_deref(), Some("2026-03-02 00:00:00"));
        for bad in [
            "",
            "2026-1-24",
            "2026-11-24 9:30",
            "2026-11-32",
            "2026-00-10",
            "2026-13-01",
            "2026-11-24 24:00",
            "2026-11-24 09:60",
            " 2026-11-24",
            "+2026-11-24",
            "2026-11-24 09",
        ] {
            assert_eq!(t(bad), None, "{bad:?}");
        }
        assert!(digits("+5").is_none() && digits("").is_none() && digits("12").is_some());
    }
}
