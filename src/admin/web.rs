//! The web pages, compiled into the binary (no build step): the wallboard
//! at `/`, call/recording search at `/search` and the call-flow designer
//! at `/flows`. They use the admin API and the WebSocket monitor like any
//! other client. The designer draws on Drawflow 0.0.60 (MIT, vendored
//! unchanged under `pages/vendor/` with its licence, served beside it).

use actix_web::{HttpResponse, web};

const INDEX: &str = include_str!("pages/index.html");
const SEARCH: &str = include_str!("pages/search.html");
const CSS: &str = include_str!("pages/spcti.css");
const COMMON_JS: &str = include_str!("pages/common.js");
const WALLBOARD_JS: &str = include_str!("pages/wallboard.js");
const SEARCH_JS: &str = include_str!("pages/search.js");
const FLOWS: &str = include_str!("pages/flows.html");
const FLOWS_JS: &str = include_str!("pages/flows.js");
const FLOWS_CSS: &str = include_str!("pages/flows.css");
const DRAWFLOW_JS: &str = include_str!("pages/vendor/drawflow.min.js");
const DRAWFLOW_CSS: &str = include_str!("pages/vendor/drawflow.min.css");
const DRAWFLOW_LICENSE: &str = include_str!("pages/vendor/drawflow.LICENSE");

fn page(
    body: &'static str,
    ty: &'static str,
) -> impl Fn() -> std::future::Ready<HttpResponse> + Clone {
    move || {
        std::future::ready(
            HttpResponse::Ok()
                .content_type(ty)
                .insert_header(("Cache-Control", "no-cache"))
                .insert_header(("X-Content-Type-Options", "nosniff"))
                .body(body),
        )
    }
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    let html = "text/html; charset=utf-8";
    let js = "text/javascript; charset=utf-8";
    let css = "text/css; charset=utf-8";
    for (path, body, ty) in [
        ("/", INDEX, html),
        ("/search", SEARCH, html),
        ("/assets/spcti.css", CSS, css),
        ("/assets/common.js", COMMON_JS, js),
        ("/assets/wallboard.js", WALLBOARD_JS, js),
        ("/assets/search.js", SEARCH_JS, js),
        ("/flows", FLOWS, html),
        ("/assets/flows.js", FLOWS_JS, js),
        ("/assets/flows.css", FLOWS_CSS, css),
        ("/assets/vendor/drawflow.min.js", DRAWFLOW_JS, js),
        ("/assets/vendor/drawflow.min.css", DRAWFLOW_CSS, css),
        (
            "/assets/vendor/drawflow.LICENSE",
            DRAWFLOW_LICENSE,
            "text/plain; charset=utf-8",
        ),
    ] {
        cfg.service(super::resource(path, "GET").route(web::get().to(page(body, ty))));
    }
}
