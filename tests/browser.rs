//! The wallboard in a real headless browser (Debian's `chromium`, driven
//! over the DevTools protocol): the page loads against a running server, a
//! simulated call comes in and shows up live, and a screenshot is saved to
//! `target/wallboard.png` for a person to look at. Without chromium the
//! test says in one line that it is skipped.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};
use support::{Client, Server};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

fn chromium() -> Option<String> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|c| {
            std::env::var_os("PATH")
                .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(c).is_file()))
        })
        .map(str::to_owned)
}

struct Browser {
    child: Child,
    _profile: tempfile::TempDir,
    ws: WebSocket<MaybeTlsStream<TcpStream>>,
    next_id: u64,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Browser {
    fn start(bin: &str) -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let mut child = Command::new(bin)
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--window-size=1600,1000",
                "--remote-debugging-port=0",
                &format!("--user-data-dir={}", profile.path().display()),
                "about:blank",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start chromium");
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let browser_ws = loop {
            let line = lines
                .next()
                .expect("chromium printed its DevTools address")
                .unwrap();
            if let Some(url) = line.strip_prefix("DevTools listening on ") {
                break url.trim().to_owned();
            }
        };
        // Keep draining chromium's stderr so it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        let port = browser_ws
            .split(':')
            .nth(2)
            .unwrap()
            .split('/')
            .next()
            .unwrap()
            .to_owned();
        // The first page target appears just after the address is printed.
        let deadline = Instant::now() + Duration::from_secs(20);
        let page = loop {
            let targets: Value = ureq::get(&format!("http://127.0.0.1:{port}/json/list"))
                .call()
                .ok()
                .and_then(|mut r| r.body_mut().read_json().ok())
                .unwrap_or(Value::Null);
            let page = targets
                .as_array()
                .into_iter()
                .flatten()
                .find(|t| t["type"] == "page");
            if let Some(url) = page.and_then(|p| p["webSocketDebuggerUrl"].as_str()) {
                break url.to_owned();
            }
            assert!(
                Instant::now() < deadline,
                "chromium opened no page: {targets}"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        let (ws, _) = tungstenite::connect(page).expect("DevTools page socket");
        Browser {
            child,
            _profile: profile,
            ws,
            next_id: 1,
        }
    }

    /// Sends a DevTools command and waits for its answer.
    fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.ws
            .send(Message::text(
                json!({"id": id, "method": method, "params": params}).to_string(),
            ))
            .unwrap();
        loop {
            if let Message::Text(t) = self.ws.read().unwrap() {
                let v: Value = serde_json::from_str(t.as_str()).unwrap();
                if v["id"] == id {
                    assert!(v.get("error").is_none(), "{method}: {v}");
                    return v["result"].clone();
                }
            }
        }
    }

    fn eval(&mut self, js: &str) -> Value {
        self.call(
            "Runtime.evaluate",
            json!({"expression": js, "returnByValue": true}),
        )["result"]["value"]
            .clone()
    }

    fn wait_for(&mut self, what: &str, js: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.eval(js) != json!(true) {
            assert!(Instant::now() < deadline, "the page never showed {what}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[test]
fn the_wallboard_shows_a_call_as_it_happens() {
    let Some(bin) = chromium() else {
        support::missing("browser test skipped: no chromium on PATH (apt-get install chromium)");
        return;
    };
    let server = Server::start();
    let mut agent = Client::login(&server, "8001", "1001");
    let mut b = Browser::start(&bin);
    b.call(
        "Page.navigate",
        json!({"url": format!("http://{}/", server.admin)}),
    );
    b.wait_for(
        "the live connection",
        "document.getElementById('live')?.textContent === 'live'",
    );
    b.wait_for(
        "all channels",
        "document.querySelectorAll('.ch').length === 9",
    );
    b.wait_for(
        "the agent ready",
        "!!document.querySelector('.agent.s-ready[data-tel=\"8001\"]')",
    );

    // A customer calls: the trunk shows up in the IVR, then the seat rings.
    let (trunk, _) = server.call("13800138000", "4008001234");
    b.wait_for(
        "the call in the IVR",
        &format!("!!document.querySelector('.ch.c-ivr[data-ch=\"{trunk}\"]')?.textContent.includes('13800138000')"),
    );
    server.advance(2_000);
    agent.expect("6003");
    b.wait_for(
        "the agent ringing",
        "!!document.querySelector('.agent.s-ringing[data-tel=\"8001\"]')",
    );
    server.act("/sim/extensions/8001/offhook", None);
    b.wait_for(
        "the agent talking",
        "!!document.querySelector('.agent.s-talking[data-tel=\"8001\"]')",
    );
    b.wait_for(
        "the queue tile",
        "document.querySelector('.queue[data-group=\"1\"]')?.textContent.includes('Group 1')",
    );

    // The screenshot, for a person to look at.
    let shot = b.call("Page.captureScreenshot", json!({"format": "png"}));
    let png = base64::engine::general_purpose::STANDARD
        .decode(shot["data"].as_str().unwrap())
        .unwrap();
    assert_eq!(&png[1..4], b"PNG");
    let out = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("wallboard.png");
    std::fs::write(&out, &png).unwrap();
    let _ = writeln!(std::io::stderr(), "wallboard screenshot: {}", out.display());

    server.act("/sim/extensions/8001/onhook", None);
    b.wait_for(
        "the agent ready again",
        "!!document.querySelector('.agent.s-ready[data-tel=\"8001\"]')",
    );
    b.wait_for(
        "the answered count",
        "document.querySelector('.queue[data-group=\"1\"]')?.textContent.includes('1answered')",
    );

    // The search page finds the call and plays its recording.
    server.call_records(1);
    b.call(
        "Page.navigate",
        json!({"url": format!("http://{}/search", server.admin)}),
    );
    b.wait_for(
        "the call in the results",
        "document.querySelector('#results')?.textContent.includes('13800138000')",
    );
    b.eval("document.querySelector('select[name=what]').value = 'recordings'; document.querySelector('#search button').click(); true");
    b.wait_for(
        "a recording",
        "!!document.querySelector('#results button.play')",
    );
    b.eval("document.querySelector('#results button.play').click(); true");
    b.wait_for(
        "the player",
        "!!document.querySelector('#results audio')?.src.startsWith('blob:')",
    );
}
