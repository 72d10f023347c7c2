//! The `/sim` control routes of docs/simulator.md, exactly: the outside world
//! (callers, seat phones) driven over HTTP. Plus `POST /sim/clock/advance`
//! for a manual clock.

use std::time::Duration;

use crate::admin::resource;
use actix::Addr;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;
use spcti_actors::clock::Clock;

use crate::quiet::Quiet;

use super::{SimAction, SimError, SimReply, SimSwitch};

/// JSON error body with a status.
pub fn error(status: actix_web::http::StatusCode, message: impl Into<String>) -> HttpResponse {
    HttpResponse::build(status).json(json!({ "error": message.into() }))
}

async fn act(sim: &Addr<SimSwitch>, action: SimAction) -> HttpResponse {
    use actix_web::http::StatusCode;
    match sim.send(action).await {
        Ok(Ok(SimReply::Done)) => HttpResponse::NoContent().finish(),
        Ok(Ok(SimReply::Call { ch, guid })) => {
            HttpResponse::Ok().json(json!({ "ch": ch.0, "tellguid": guid.to_string() }))
        }
        Ok(Ok(SimReply::Channels(list))) => HttpResponse::Ok().json(list),
        Ok(Ok(SimReply::Channel(c))) => HttpResponse::Ok().json(c),
        Ok(Err(SimError::NotFound(m))) => error(StatusCode::NOT_FOUND, m),
        Ok(Err(SimError::BadRequest(m))) => error(StatusCode::BAD_REQUEST, m),
        Ok(Err(SimError::NoTrunk)) => error(StatusCode::SERVICE_UNAVAILABLE, "no trunk is free"),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the switch did not answer: {e}"),
        ),
    }
}

/// A JSON body, refused with 400 and the reason when it does not fit.
fn body<T: for<'de> Deserialize<'de>>(bytes: &web::Bytes) -> Result<T, HttpResponse> {
    serde_json::from_slice(bytes).map_err(|e| {
        error(
            actix_web::http::StatusCode::BAD_REQUEST,
            format!("bad body: {e}"),
        )
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewCall {
    caller: String,
    callee: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Digits {
    digits: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Reject {
    cause: u16,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Advance {
    ms: u64,
}

#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Idle {
    /// How long to wait for quiet before answering 503.
    within_ms: u64,
}

impl Default for Idle {
    fn default() -> Self {
        Idle { within_ms: 5_000 }
    }
}

/// How long each step of an advance waits for the server to react to the
/// timers it fired. Past it (a database lookup that hangs, say) the
/// advance goes on without waiting and answers `"settled": false`.
const STEP_SETTLE: Duration = Duration::from_secs(2);

fn ch_of(path: &str) -> Result<u32, HttpResponse> {
    path.parse().map_err(|_| {
        error(
            actix_web::http::StatusCode::NOT_FOUND,
            format!("no channel {path}"),
        )
    })
}

macro_rules! try_http {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(resp) => return resp,
        }
    };
}

/// Registers the routes: the `/sim` scope, behind the admin token when
/// one is set (the outside world's controls are as powerful as the API).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/sim")
            .wrap(actix_web::middleware::from_fn(crate::admin::require_token))
            .configure(sim_routes),
    );
}

fn sim_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/calls", "POST").route(web::post().to(
        |sim: web::Data<Addr<SimSwitch>>, b: web::Bytes| async move {
            let NewCall { caller, callee } = try_http!(body(&b));
            act(&sim, SimAction::NewCall { caller, callee }).await
        },
    )))
    .service(
        resource("/channels", "GET").route(
            web::get().to(|sim: web::Data<Addr<SimSwitch>>| async move {
                act(&sim, SimAction::List).await
            }),
        ),
    )
    .service(resource("/channels/{ch}", "GET").route(web::get().to(
        |sim: web::Data<Addr<SimSwitch>>, p: web::Path<String>| async move {
            let ch = try_http!(ch_of(&p));
            act(&sim, SimAction::Get { ch }).await
        },
    )))
    .service(
        resource("/channels/{ch}/dtmf", "POST").route(web::post().to(
            |sim: web::Data<Addr<SimSwitch>>, p: web::Path<String>, b: web::Bytes| async move {
                let ch = try_http!(ch_of(&p));
                let Digits { digits } = try_http!(body(&b));
                act(&sim, SimAction::Dtmf { ch, digits }).await
            },
        )),
    )
    .service(
        resource("/channels/{ch}/hangup", "POST").route(web::post().to(
            |sim: web::Data<Addr<SimSwitch>>, p: web::Path<String>| async move {
                let ch = try_http!(ch_of(&p));
                act(&sim, SimAction::Hangup { ch }).await
            },
        )),
    )
    .service(
        resource("/channels/{ch}/answer", "POST").route(web::post().to(
            |sim: web::Data<Addr<SimSwitch>>, p: web::Path<String>| async move {
                let ch = try_http!(ch_of(&p));
                act(&sim, SimAction::Answer { ch }).await
            },
        )),
    )
    .service(
        resource("/channels/{ch}/reject", "POST").route(web::post().to(
            |sim: web::Data<Addr<SimSwitch>>, p: web::Path<String>, b: web::Bytes| async move {
                let ch = try_http!(ch_of(&p));
                let Reject { cause } = try_http!(body(&b));
                act(&sim, SimAction::Reject { ch, cause }).await
            },
        )),
    )
    .service(
        resource("/extensions/{ext}/reject", "POST").route(web::post().to(
            |sim: web::Data<Addr<SimSwitch>>, p: web::Path<String>, b: web::Bytes| async move {
                let Reject { cause } = try_http!(body(&b));
                act(
                    &sim,
                    SimAction::RefuseRing {
                        ext: p.into_inner(),
                        cause,
                    },
                )
                .await
            },
        )),
    )
    .service(
        resource("/extensions/{ext}/offhook", "POST").route(web::post().to(
            |sim: web::Data<Addr<SimSwitch>>, p: web::Path<String>| async move {
                act(
                    &sim,
                    SimAction::OffHook {
                        ext: p.into_inner(),
                    },
                )
                .await
            },
        )),
    )
    .service(
        resource("/extensions/{ext}/onhook", "POST").route(web::post().to(
            |sim: web::Data<Addr<SimSwitch>>, p: web::Path<String>| async move {
                act(
                    &sim,
                    SimAction::OnHook {
                        ext: p.into_inner(),
                    },
                )
                .await
            },
        )),
    )
    .service(
        resource("/extensions/{ext}/flash", "POST").route(web::post().to(
            |sim: web::Data<Addr<SimSwitch>>, p: web::Path<String>| async move {
                act(
                    &sim,
                    SimAction::Flash {
                        ext: p.into_inner(),
                    },
                )
                .await
            },
        )),
    )
    .service(
        resource("/extensions/{ext}/dial", "POST").route(web::post().to(
            |sim: web::Data<Addr<SimSwitch>>, p: web::Path<String>, b: web::Bytes| async move {
                let Digits { digits } = try_http!(body(&b));
                act(
                    &sim,
                    SimAction::Dial {
                        ext: p.into_inner(),
                        digits,
                    },
                )
                .await
            },
        )),
    )
    .service(resource("/clock/advance", "POST").route(web::post().to(
        |clock: web::Data<Clock>, quiet: web::Data<Quiet>, b: web::Bytes| async move {
            let Advance { ms } = try_http!(body(&b));
            if !clock.is_manual() {
                return real_clock();
            }
            // Timer by timer, at each one's own time, the server reacting
            // to one before the next fires: a timer that re-arms (a
            // heartbeat check every 10 s) fires at each of its times within
            // the advance, and reads the time it was due.
            let until = clock.now() + Duration::from_millis(ms);
            let (mut fired, mut settled) = (0, true);
            while let Some(n) = clock.fire_next(until) {
                fired += n;
                if settled && let Err(e) = quiet.settle(STEP_SETTLE).await {
                    tracing::info!("advance goes on without waiting: {e}");
                    settled = false;
                }
            }
            HttpResponse::Ok().json(json!({
                "fired": fired,
                "now_ms": clock.now().as_millis() as u64,
                "settled": settled,
            }))
        },
    )))
    .service(
        resource("/clock", "GET").route(web::get().to(|clock: web::Data<Clock>| async move {
            if !clock.is_manual() {
                return real_clock();
            }
            let ms = |d: Duration| d.as_millis() as u64;
            HttpResponse::Ok().json(json!({
                "now_ms": ms(clock.now()),
                "armed_ms": clock.armed().into_iter().map(ms).collect::<Vec<_>>(),
            }))
        })),
    )
    .service(resource("/idle", "POST").route(web::post().to(
        |quiet: web::Data<Quiet>, b: web::Bytes| async move {
            let Idle { within_ms } = if b.is_empty() {
                Idle::default()
            } else {
                try_http!(body(&b))
            };
            match quiet
                .settle(Duration::from_millis(within_ms.min(60_000)))
                .await
            {
                Ok(waited) => {
                    HttpResponse::Ok().json(json!({ "waited_ms": waited.as_millis() as u64 }))
                }
                Err(e) => error(
                    actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
                    e.to_string(),
                ),
            }
        },
    )));
}

fn real_clock() -> HttpResponse {
    error(
        actix_web::http::StatusCode::BAD_REQUEST,
        "the clock is real; set [server] clock = \"manual\" to drive it",
    )
}
