//! `/api/flows` and `/api/prompts` (docs/flows.md "Admin API"): call flows
//! listed, read, checked, saved as a new version and deployed while the
//! server runs, deleted; prompts listed, uploaded (WAV checked: 8 kHz
//! mono, 16-bit PCM, A-law or µ-law) and removed. The file work is the
//! `FlowFiles` actor's (src/flows.rs) or, for prompts, a blocking thread's.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::{Admin, error, resource};
use crate::flows::{FlowAnswer, FlowOp};

type Data = web::Data<Admin>;

/// Largest prompt upload: ten minutes of 16-bit PCM at 8 kHz.
pub const MAX_PROMPT: usize = 10 * 60 * 16_000 + 4096;

async fn op(a: &Data, op: FlowOp) -> HttpResponse {
    match a.flow_files.send(op).await {
        Ok(FlowAnswer(204, _)) => HttpResponse::NoContent().finish(),
        Ok(FlowAnswer(status, body)) => {
            HttpResponse::build(StatusCode::from_u16(status).unwrap_or(StatusCode::OK)).json(body)
        }
        Err(_) => error(StatusCode::SERVICE_UNAVAILABLE, "the server is stopping"),
    }
}

async fn list(a: Data) -> HttpResponse {
    op(&a, FlowOp::List).await
}

async fn get(a: Data, name: web::Path<String>) -> HttpResponse {
    op(&a, FlowOp::Get(name.into_inner())).await
}

async fn version(a: Data, path: web::Path<(String, String)>) -> HttpResponse {
    let (name, n) = path.into_inner();
    match n.parse::<u32>() {
        Ok(n) if n >= 1 => op(&a, FlowOp::Version(name, n)).await,
        _ => error(
            StatusCode::BAD_REQUEST,
            format!("{n:?} is not a version number (1 or more)"),
        ),
    }
}

async fn put(a: Data, name: web::Path<String>, body: web::Json<Value>) -> HttpResponse {
    op(&a, FlowOp::Save(name.into_inner(), body.into_inner())).await
}

async fn check(a: Data, name: web::Path<String>, body: web::Json<Value>) -> HttpResponse {
    op(&a, FlowOp::Check(name.into_inner(), body.into_inner())).await
}

async fn delete(a: Data, name: web::Path<String>) -> HttpResponse {
    op(&a, FlowOp::Delete(name.into_inner())).await
}

/// `YYYY-MM-DDTHH:MM[:SS]`; a day past the month's end counts on into the
/// next month, as the search bounds do (docs/openapi.json `SimStart`).
fn local_time(s: &str) -> Option<chrono::NaiveDateTime> {
    let (date, time) = s.split_once('T')?;
    let mut d = date.splitn(3, '-').map(|p| p.parse::<u32>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let mut t = time.splitn(3, ':').map(|p| p.parse::<u32>().ok());
    let (h, min) = (t.next()??, t.next()??);
    let sec = t.next().unwrap_or(Some(0))?;
    let first = chrono::NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, m, 1)?;
    let date = first.checked_add_days(chrono::Days::new(u64::from(day.checked_sub(1)?)))?;
    Some(date.and_time(chrono::NaiveTime::from_hms_opt(h, min, sec)?))
}

/// `POST /api/flows/{name}/simulate`: a step-through run of the saved
/// flow, or of the draft in `flow`.
async fn simulate(a: Data, name: web::Path<String>, body: web::Json<Value>) -> HttpResponse {
    let body = body.into_inner();
    let Some(o) = body.as_object() else {
        return error(StatusCode::BAD_REQUEST, "the body is a JSON object");
    };
    let mut draft = None;
    let mut caller = "13800138000".to_owned();
    let mut callee = "4008001234".to_owned();
    let mut at = None;
    for (k, v) in o {
        match (k.as_str(), v) {
            ("flow", Value::Object(_)) => draft = Some(v.clone()),
            ("caller", Value::String(s)) if s.chars().count() <= 64 => caller = s.clone(),
            ("callee", Value::String(s)) if s.chars().count() <= 64 => callee = s.clone(),
            ("at", Value::String(s)) => match local_time(s) {
                Some(t) => at = Some(t),
                None => {
                    return error(
                        StatusCode::BAD_REQUEST,
                        format!("`at` {s:?} is not a local time like 2026-12-25T09:30"),
                    );
                }
            },
            ("flow" | "caller" | "callee" | "at", _) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "`{k}` has the wrong type (flow: object; caller, callee: up to 64 characters; at: a local time)"
                    ),
                );
            }
            _ => return error(StatusCode::BAD_REQUEST, format!("unknown field `{k}`")),
        }
    }
    op(
        &a,
        FlowOp::SimStart {
            name: name.into_inner(),
            draft,
            caller,
            callee,
            at,
        },
    )
    .await
}

async fn sim_step(a: Data, id: web::Path<String>, body: web::Json<Value>) -> HttpResponse {
    op(&a, FlowOp::SimStep(id.into_inner(), body.into_inner())).await
}

async fn sim_end(a: Data, id: web::Path<String>) -> HttpResponse {
    op(&a, FlowOp::SimEnd(id.into_inner())).await
}

fn prompt_name(name: &str) -> Result<(), HttpResponse> {
    if spcti_actors::flow::load::is_flow_name(name) {
        Ok(())
    } else {
        Err(error(
            StatusCode::BAD_REQUEST,
            format!("{name:?} is not a prompt name (1 to 64 letters, digits, `_` or `-`)"),
        ))
    }
}

async fn prompts(a: Data) -> HttpResponse {
    let list: Vec<Value> = a
        .prompts
        .list()
        .into_iter()
        .map(|(name, len)| {
            json!({
                "name": name,
                "duration_ms": len.as_millis() as u64,
                "built_in": crate::sim::wav::built_in(&name),
            })
        })
        .collect();
    HttpResponse::Ok().json(json!({ "prompts": list }))
}

async fn put_prompt(a: Data, name: web::Path<String>, body: web::Bytes) -> HttpResponse {
    let name = name.into_inner();
    if let Err(r) = prompt_name(&name) {
        return r;
    }
    let prompts = a.prompts.clone();
    let n = name.clone();
    match web::block(move || prompts.put(&n, &body)).await {
        Ok(Ok(len)) => {
            tracing::info!(prompt = %name, ms = len.as_millis() as u64, "prompt uploaded");
            HttpResponse::Ok().json(json!({ "name": name, "duration_ms": len.as_millis() as u64 }))
        }
        Ok(Err(why)) if why.starts_with("cannot ") => error(StatusCode::INTERNAL_SERVER_ERROR, why),
        Ok(Err(why)) => error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("not usable as a prompt: {why}"),
        ),
        Err(_) => error(StatusCode::SERVICE_UNAVAILABLE, "the server is stopping"),
    }
}

async fn delete_prompt(a: Data, name: web::Path<String>) -> HttpResponse {
    let name = name.into_inner();
    if let Err(r) = prompt_name(&name) {
        return r;
    }
    if !a.prompts.contains(&name) {
        return error(StatusCode::NOT_FOUND, format!("no prompt `{name}`"));
    }
    if let Some(why) = a.flows.prompt_user(&name) {
        return error(
            StatusCode::CONFLICT,
            format!("prompt `{name}` is in use: {why}"),
        );
    }
    if crate::sim::wav::built_in(&name) {
        return error(
            StatusCode::CONFLICT,
            format!("`{name}` is a built-in prompt; upload a replacement to change it"),
        );
    }
    let prompts = a.prompts.clone();
    let n = name.clone();
    match web::block(move || prompts.remove(&n)).await {
        Ok(Ok(())) => HttpResponse::NoContent().finish(),
        Ok(Err(why)) => error(StatusCode::INTERNAL_SERVER_ERROR, why),
        Err(_) => error(StatusCode::SERVICE_UNAVAILABLE, "the server is stopping"),
    }
}

/// Inside the guarded `/api` scope.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/flows", "GET").route(web::get().to(list)))
        .service(
            resource("/flows/{name}", "GET, PUT, DELETE")
                .route(web::get().to(get))
                .route(web::put().to(put))
                .route(web::delete().to(delete)),
        )
        .service(resource("/flows/{name}/check", "POST").route(web::post().to(check)))
        .service(resource("/flows/{name}/versions/{n}", "GET").route(web::get().to(version)))
        .service(resource("/flows/{name}/simulate", "POST").route(web::post().to(simulate)))
        .service(
            resource("/simulations/{id}", "POST, DELETE")
                .route(web::post().to(sim_step))
                .route(web::delete().to(sim_end)),
        )
        .service(resource("/prompts", "GET").route(web::get().to(prompts)))
        .service(
            resource("/prompts/{name}", "PUT, DELETE")
                .app_data(web::PayloadConfig::new(MAX_PROMPT))
                .route(web::put().to(put_prompt))
                .route(web::delete().to(delete_prompt)),
        );
}
