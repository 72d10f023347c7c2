//! The web pages, compiled into the binary (no build step): the wallboard
//! at `/` and call/recording search at `/search`. They use the admin API
//! and the WebSocket monitor like any other client.

use actix_web::{HttpResponse, web};

const INDEX: &str = include_str!("pages/index.html");
const SEARCH: &str = include_str!("pages/search.html");
const CSS: &str = include_str!("pages/spcti.css");
const COMMON_JS: &str = include_str!("pages/common.js");
const WALLBOARD_JS: &str = include_str!("pages/wallboard.js");
const SEARCH_JS: &str = include_str!("pages/search.js");

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
    ] {
        cfg.service(super::resource(path, "GET").route(web::get().to(page(body, ty))));
    }
}
