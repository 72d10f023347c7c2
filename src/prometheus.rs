//! Prometheus text exposition helpers, for every module that writes series
//! to `/metrics` where it counts them.

use std::fmt::Write;

/// `# HELP` and `# TYPE` of one series.
pub fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}
