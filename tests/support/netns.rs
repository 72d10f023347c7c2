//! SIP and RTP tests run inside their own network namespace with only
//! loopback (`ip netns`; removed afterwards): whatever host a message or
//! an SDP names, nothing can leave the machine. A test re-runs itself
//! under `ip netns exec`.

use std::process::Command;

const INSIDE: &str = "SPCTI_TEST_IN_NETNS";

/// Runs `test` of this binary inside a fresh loopback-only namespace;
/// answers false when this process is not the one inside.
pub fn inside_netns(test: &str) -> bool {
    if std::env::var_os(INSIDE).is_some() {
        return true;
    }
    for (tool, package) in [("ip", "iproute2"), ("sipp", "sip-tester")] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success());
        if !found {
            super::missing(&format!(
                "SIP peer test skipped: no `{tool}` (apt-get install {package})"
            ));
            return false;
        }
    }
    let ns = format!("spcti-{}-{}", std::process::id(), fastrand::u32(..));
    let ip = |args: &[&str]| {
        Command::new("ip")
            .args(args)
            .status()
            .is_ok_and(|s| s.success())
    };
    if !ip(&["netns", "add", &ns]) {
        super::missing("SIP peer test skipped: cannot create a network namespace (needs root)");
        return false;
    }
    struct Gone(String);
    impl Drop for Gone {
        fn drop(&mut self) {
            let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
        }
    }
    let _gone = Gone(ns.clone());
    assert!(ip(&["netns", "exec", &ns, "ip", "link", "set", "lo", "up"]));
    let out = Command::new("ip")
        .args(["netns", "exec", &ns])
        .arg(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(INSIDE, "1")
        .output()
        .expect("run the test inside the namespace");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && text.contains("1 passed"),
        "inside {ns}:\n{text}"
    );
    false
}
