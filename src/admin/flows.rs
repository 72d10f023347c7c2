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
        .service(resource("/prompts", "GET").route(web::get().to(prompts)))
        .service(
            resource("/prompts/{name}", "PUT, DELETE")
                .app_data(web::PayloadConfig::new(MAX_PROMPT))
                .route(web::put().to(put_prompt))
                .route(web::delete().to(delete_prompt)),
        );
}
