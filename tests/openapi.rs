//! The admin API agrees with its OpenAPI document (`docs/openapi.json`):
//! schemathesis (PyPI, pinned in `.ci/run`) generates requests from the
//! document, valid and invalid, and checks every answer against it, with
//! the token set and taken away. 0 server errors, 0 schema violations.

mod support;

use std::process::Command;

use support::{DEFAULT_CONFIG, Server};

const TOKEN: &str = "schema-t0k";
/// Examples per operation: bounded so the run stays well under a minute.
const EXAMPLES: &str = "40";

/// `st` if it is installed; under CI its absence fails the suite.
fn schemathesis() -> Option<String> {
    match Command::new("st").arg("--version").output() {
        Ok(out) if out.status.success() => Some(String::from_utf8_lossy(&out.stdout).into()),
        _ => {
            support::missing(
                "skipped: schemathesis (`st`) is not installed: pip install schemathesis==4.32.5",
            );
            None
        }
    }
}

#[test]
fn the_admin_api_keeps_to_its_openapi_document() {
    let Some(version) = schemathesis() else {
        return;
    };
    let server = Server::with_config(DEFAULT_CONFIG, &[("SPCTI_ADMIN__TOKEN", TOKEN)]);
    let doc = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/openapi.json");
    let reports = server.dir.path().join("st");
    // Per-operation expectations the document cannot state (why: in the file).
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/schemathesis.toml");
    let out = Command::new("st")
        .args(["--config-file", config])
        .args(["run", doc, "--url"])
        .arg(format!("http://{}", server.admin))
        .args(["-H", &format!("Authorization: Bearer {TOKEN}")])
        .args(["--max-examples", EXAMPLES, "--generation-deterministic"])
        .args(["--checks", "all", "--workers", "1"])
        .arg("--report-dir")
        .arg(&reports)
        .env("NO_COLOR", "1")
        // Its caches (.hypothesis, .schemathesis) go with the server's
        // temporary directory, not into the source tree.
        .current_dir(server.dir.path())
        .output()
        .expect("run schemathesis");
    let text = String::from_utf8_lossy(&out.stdout);
    let summary = text
        .lines()
        .find(|l| {
            l.trim_start()
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit())
                && l.contains(" generated")
        })
        .unwrap_or_else(|| panic!("no summary from schemathesis {version}:\n{text}"));
    // "N generated, N passed[, K skipped]": nothing failed, and something ran.
    let generated: u64 = summary
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(generated >= 100, "too few cases ({summary}):\n{text}");
    assert!(
        out.status.success() && !summary.contains("fail") && !summary.contains("error"),
        "schemathesis {version} found problems ({summary}):\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        server.log().lines().all(|l| !l.contains("panicked")),
        "{}",
        server.log()
    );
}
