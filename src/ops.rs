//! Operators' view of the supervision tree: `GET /api/actors` and, with
//! `[admin] fault_injection = true`, `POST /api/actors/{path}/crash`.

use actix::Addr;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde_json::json;
use spcti_actors::router::{CrashActor, Router};
use spcti_actors::supervision::{ListActors, Registry};

use crate::sim::http::error;

/// What the routes need.
pub struct Ops {
    pub router: Addr<Router>,
    pub registry: Addr<Registry>,
    pub fault_injection: bool,
}

async fn list(ops: web::Data<Ops>) -> HttpResponse {
    match ops.registry.send(ListActors).await {
        Ok(actors) => HttpResponse::Ok().json(
            actors
                .into_iter()
                .map(|a| {
                    json!({
                        "path": a.path,
                        "kind": a.kind,
                        "restarts": a.restarts,
                        "last_failure": a.last_failure,
                    })
                })
                .collect::<Vec<_>>(),
        ),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("registry did not answer: {e}"),
        ),
    }
}

async fn crash(ops: web::Data<Ops>, path: web::Path<String>) -> HttpResponse {
    if !ops.fault_injection {
        return error(
            StatusCode::NOT_FOUND,
            "fault injection is off ([admin] fault_injection)",
        );
    }
    match ops
        .router
        .send(CrashActor {
            path: path.into_inner(),
        })
        .await
    {
        Ok(Ok(())) => HttpResponse::NoContent().finish(),
        Ok(Err(why)) => error(StatusCode::NOT_FOUND, why),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("router did not answer: {e}"),
        ),
    }
}

/// Registers the routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/actors", web::get().to(list))
        .route("/api/actors/{path}/crash", web::post().to(crash));
}
