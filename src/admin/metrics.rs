//! `GET /metrics`: Prometheus text exposition, `spcti_` series.

use std::collections::BTreeMap;
use std::fmt::Write;

use actix_web::{HttpResponse, web};
use spcti_actors::supervision::ListActors;
use spcti_protocol::{AgentState, ChType, ChannelState};

use super::Admin;
use crate::gateway::agent_udp;

use crate::prometheus::family;

async fn metrics(a: web::Data<Admin>) -> HttpResponse {
    let mut o = String::with_capacity(4096);
    family(
        &mut o,
        "spcti_uptime_seconds",
        "gauge",
        "Seconds since the server started.",
    );
    let _ = writeln!(o, "spcti_uptime_seconds {}", a.started.elapsed().as_secs());

    let channels = a.hub.channels();
    family(
        &mut o,
        "spcti_channels",
        "gauge",
        "Switch channels by type and state.",
    );
    let mut by: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    for t in [ChType::Trunk, ChType::Seat] {
        for s in ChannelState::ALL {
            by.insert((t.as_str(), s.as_str()), 0);
        }
    }
    for c in &channels {
        *by.entry((c.ch_type.as_str(), c.state.as_str()))
            .or_default() += 1;
    }
    for ((t, s), n) in &by {
        let _ = writeln!(o, "spcti_channels{{type=\"{t}\",state=\"{s}\"}} {n}");
    }
    family(
        &mut o,
        "spcti_calls_active",
        "gauge",
        "Calls in progress (trunk channels not free).",
    );
    let active = channels
        .iter()
        .filter(|c| c.ch_type == ChType::Trunk && c.state != ChannelState::Free)
        .count();
    let _ = writeln!(o, "spcti_calls_active {active}");

    family(
        &mut o,
        "spcti_agents",
        "gauge",
        "Agents seen since start, by state.",
    );
    let mut agents: BTreeMap<&str, u64> = AgentState::ALL.iter().map(|s| (s.as_str(), 0)).collect();
    for (s, _) in a.hub.agents() {
        *agents.entry(s.agent_state.as_str()).or_default() += 1;
    }
    for (s, n) in &agents {
        let _ = writeln!(o, "spcti_agents{{state=\"{s}\"}} {n}");
    }

    let groups = a.hub.groups();
    family(
        &mut o,
        "spcti_queue_depth",
        "gauge",
        "Callers waiting in each group's queue.",
    );
    for (g, _) in &groups {
        let _ = writeln!(
            o,
            "spcti_queue_depth{{group=\"{}\"}} {}",
            g.group_no.map(|n| n.0).unwrap_or(0),
            g.queued
        );
    }
    family(
        &mut o,
        "spcti_queue_longest_wait_seconds",
        "gauge",
        "The longest current wait in each group.",
    );
    for (g, _) in &groups {
        let _ = writeln!(
            o,
            "spcti_queue_longest_wait_seconds{{group=\"{}\"}} {}",
            g.group_no.map(|n| n.0).unwrap_or(0),
            g.longest_wait_s
        );
    }
    family(
        &mut o,
        "spcti_calls_answered_today",
        "gauge",
        "Calls answered today, per group.",
    );
    for (g, _) in &groups {
        let _ = writeln!(
            o,
            "spcti_calls_answered_today{{group=\"{}\"}} {}",
            g.group_no.map(|n| n.0).unwrap_or(0),
            g.answered_today
        );
    }
    family(
        &mut o,
        "spcti_calls_abandoned_today",
        "gauge",
        "Calls abandoned in queue today, per group.",
    );
    for (g, _) in &groups {
        let _ = writeln!(
            o,
            "spcti_calls_abandoned_today{{group=\"{}\"}} {}",
            g.group_no.map(|n| n.0).unwrap_or(0),
            g.abandoned_today
        );
    }
    family(
        &mut o,
        "spcti_service_level_ratio",
        "gauge",
        "Share of today's answered calls answered within the group's threshold.",
    );
    for (g, _) in &groups {
        let _ = writeln!(
            o,
            "spcti_service_level_ratio{{group=\"{}\"}} {}",
            g.group_no.map(|n| n.0).unwrap_or(0),
            f64::from(g.service_level) / 100.0
        );
    }

    let db = a.db.snapshot();
    family(
        &mut o,
        "spcti_database_up",
        "gauge",
        "1 when the last database write succeeded.",
    );
    let _ = writeln!(o, "spcti_database_up {}", u8::from(db.state == "up"));
    family(
        &mut o,
        "spcti_spool_depth",
        "gauge",
        "Records on disk waiting for the database.",
    );
    let _ = writeln!(o, "spcti_spool_depth {}", db.spool_depth);
    family(
        &mut o,
        "spcti_records_written_total",
        "counter",
        "Records written to the database since start.",
    );
    let _ = writeln!(o, "spcti_records_written_total {}", db.written);
    family(
        &mut o,
        "spcti_records_rejected_total",
        "counter",
        "Records the database refused, kept in spool/rejected.jsonl.",
    );
    let _ = writeln!(o, "spcti_records_rejected_total {}", db.rejected);

    agent_udp::write_metrics(&mut o);

    family(
        &mut o,
        "spcti_monitor_watchers",
        "gauge",
        "WebSocket monitor connections.",
    );
    let _ = writeln!(o, "spcti_monitor_watchers {}", a.hub.watchers());

    family(
        &mut o,
        "spcti_actor_restarts_total",
        "counter",
        "Actor restarts (failures and operator restarts), by kind.",
    );
    let mut restarts: BTreeMap<&str, u64> = ["channel", "agent", "group", "router"]
        .into_iter()
        .map(|k| (k, 0))
        .collect();
    if let Ok(list) = a.registry.send(ListActors).await {
        for h in list {
            *restarts.entry(h.kind).or_default() += u64::from(h.restarts);
        }
    }
    for (k, n) in &restarts {
        let _ = writeln!(o, "spcti_actor_restarts_total{{kind=\"{k}\"}} {n}");
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(o)
}

/// `/metrics`, behind the token guard.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        super::resource("/metrics", "GET")
            .wrap(actix_web::middleware::from_fn(super::require_token))
            .route(web::get().to(metrics)),
    );
}
