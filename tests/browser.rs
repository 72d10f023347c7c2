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
use support::{Client, Server, wav};
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

    /// The middle of the first element `selector` finds, in page pixels.
    fn center(&mut self, selector: &str) -> (f64, f64) {
        let js = format!(
            "(() => {{ const e = document.querySelector({selector:?}); if (!e) return null; \
             e.scrollIntoView({{block: 'nearest', inline: 'nearest'}}); \
             const r = e.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; }})()"
        );
        let v = self.eval(&js);
        let xy = v
            .as_array()
            .unwrap_or_else(|| panic!("nothing on the page matches {selector}"));
        (xy[0].as_f64().unwrap(), xy[1].as_f64().unwrap())
    }

    fn mouse(&mut self, kind: &str, (x, y): (f64, f64)) {
        self.call(
            "Input.dispatchMouseEvent",
            json!({"type": kind, "x": x, "y": y, "button": "left", "buttons": 1, "clickCount": 1}),
        );
    }

    /// A real click (press and release) on the element, as a person makes it.
    fn click(&mut self, selector: &str) {
        let at = self.center(selector);
        self.mouse("mouseMoved", at);
        self.mouse("mousePressed", at);
        self.mouse("mouseReleased", at);
    }

    /// Drags with the mouse from one element to another. Both are scrolled
    /// into view before either is measured (scrolling to the second could
    /// move the first), and the press must land on `from` itself.
    fn drag(&mut self, from: &str, to: &str) {
        self.center(to);
        let a = self.center(from);
        let b = self.center(to);
        let hit = format!(
            "(() => {{ const e = document.elementFromPoint({}, {}); \
             return !!e && e.closest({from:?}) === document.querySelector({from:?}); }})()",
            a.0, a.1
        );
        assert_eq!(
            self.eval(&hit),
            json!(true),
            "the press at {a:?} misses {from}"
        );
        self.mouse("mouseMoved", a);
        self.mouse("mousePressed", a);
        for i in 1..=8 {
            let f = f64::from(i) / 8.0;
            self.mouse("mouseMoved", (a.0 + (b.0 - a.0) * f, a.1 + (b.1 - a.1) * f));
        }
        self.mouse("mouseReleased", b);
    }

    /// Chooses `value` in a `<select>` as the user would (the page hears
    /// its change event).
    fn choose(&mut self, selector: &str, value: &str) {
        let js = format!(
            "(() => {{ const s = document.querySelector({selector:?}); if (!s) return false; \
             s.value = {value:?}; s.dispatchEvent(new Event('change')); return s.value === {value:?}; }})()"
        );
        assert_eq!(
            self.eval(&js),
            json!(true),
            "cannot choose {value} in {selector}"
        );
    }

    fn screenshot(&mut self, name: &str) {
        let shot = self.call("Page.captureScreenshot", json!({"format": "png"}));
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap())
            .unwrap();
        assert_eq!(&png[1..4], b"PNG");
        let out = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
        std::fs::write(&out, &png).unwrap();
        let _ = writeln!(std::io::stderr(), "screenshot: {}", out.display());
    }

    /// Puts a file in a file `<input>`, as a person choosing it would.
    fn set_file(&mut self, selector: &str, path: &std::path::Path) {
        let obj = self.call(
            "Runtime.evaluate",
            json!({"expression": format!("document.querySelector({selector:?})")}),
        )["result"]["objectId"]
            .as_str()
            .unwrap_or_else(|| panic!("no {selector}"))
            .to_owned();
        self.call(
            "DOM.setFileInputFiles",
            json!({"files": [path.display().to_string()], "objectId": obj}),
        );
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
    b.screenshot("wallboard.png");

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

/// The designer (docs/flows.md "The designer"): a supervisor opens the
/// inbound flow, builds a menu in front of the queue by clicking and
/// dragging, sees the server's check on the step it names, tries the flow
/// step by step, saves it; a real (simulated) call then hears the menu and
/// its key reaches the group.
#[test]
fn a_flow_built_in_the_designer_routes_a_real_call() {
    let Some(bin) = chromium() else {
        support::missing("browser test skipped: no chromium on PATH (apt-get install chromium)");
        return;
    };
    let server = Server::start();
    let mut agent = Client::login(&server, "8001", "1001");
    let mut b = Browser::start(&bin);
    b.call(
        "Page.navigate",
        json!({"url": format!("http://{}/flows#default", server.admin)}),
    );
    // The built-in inbound flow opens: welcome, then the queue.
    b.wait_for(
        "the default flow on the canvas",
        "document.querySelectorAll('.drawflow-node.fn').length === 2",
    );

    // A menu from the palette, by a click; its key 1 is dragged onto the queue.
    b.click(".pal[data-kind=menu]");
    b.wait_for(
        "the new menu step",
        "!!document.querySelector('.drawflow-node[data-name=menu1]')",
    );
    // The server's check (300 ms after a change) writes its verdict into the
    // step, which grows and moves its dots: drag only once it has landed.
    // The new menu is unreachable while calls still start at welcome.
    b.wait_for(
        "the check of the new menu",
        "document.querySelector('.drawflow-node[data-name=menu1] .fn-err')?.textContent !== ''",
    );
    b.drag(
        ".drawflow-node[data-name=menu1] .output_3",
        ".drawflow-node[data-name=queue] .input_1",
    );
    b.wait_for(
        "key 1 connected to the queue",
        "document.querySelector('.drawflow-node[data-name=menu1] .output_3')?.title === 'key 1 → queue'",
    );
    // Calls start at the menu; the old welcome step is now unreachable,
    // and the server's check says so on that step.
    b.click(".drawflow-node[data-name=menu1] .fn-title");
    b.wait_for(
        "the menu's form",
        "document.querySelector('#nodeform input[name=stepname]')?.value === 'menu1'",
    );
    b.eval("[...document.querySelectorAll('#nodeform button')].find(x => x.textContent === 'Start calls here').click(); true");
    b.wait_for(
        "the check naming the unreachable step",
        "document.querySelector('.drawflow-node[data-name=welcome]')?.classList.contains('has-error') \
         && document.querySelector('#problems').textContent.includes('welcome')",
    );
    b.click(".drawflow-node[data-name=welcome] .fn-title");
    b.wait_for(
        "the welcome step's form",
        "document.querySelector('#nodeform input[name=stepname]')?.value === 'welcome'",
    );
    b.eval("document.querySelector('#nodeform button.danger').click(); true");
    b.wait_for(
        "a flow with no problem",
        "document.querySelectorAll('.drawflow-node.fn').length === 2 \
         && document.querySelector('#problems').textContent === ''",
    );
    // Key 0 is added in the form and sent to the queue too.
    b.click(".drawflow-node[data-name=menu1] .fn-title");
    b.eval("document.querySelector('#addkey').click(); true");
    b.choose("#nodeform .choice:nth-of-type(2) select", "queue");
    b.wait_for(
        "key 2 on the canvas",
        "document.querySelector('.drawflow-node[data-name=menu1] .output_4')?.dataset.label === 'key 2'",
    );

    // A step dragged from the palette lands where it is dropped.
    b.eval(
        "(() => { const dt = new DataTransfer(); const pal = document.querySelector('.pal[data-kind=hangup]'); \
         pal.dispatchEvent(new DragEvent('dragstart', {dataTransfer: dt, bubbles: true})); \
         const r = document.getElementById('canvas').getBoundingClientRect(); \
         document.getElementById('canvas').dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true, \
           cancelable: true, clientX: r.x + 300, clientY: r.y + 400})); return true; })()",
    );
    b.wait_for(
        "the dropped step where it was dropped",
        "(() => { const n = document.querySelector('.drawflow-node[data-name=hangup1]'); if (!n) return false; \
         const c = document.getElementById('canvas').getBoundingClientRect(), r = n.getBoundingClientRect(); \
         return Math.abs(r.x - c.x - 300) < 30 && Math.abs(r.y - c.y - 400) < 30; })()",
    );
    // Menu key 2 goes to it, chosen in the form.
    b.click(".drawflow-node[data-name=menu1] .fn-title");
    b.choose("#nodeform .choice:nth-of-type(2) select", "hangup1");
    b.wait_for(
        "key 2 drawn to the hang-up",
        "document.querySelector('.drawflow-node[data-name=menu1] .output_4')?.title === 'key 2 → hangup1'",
    );

    // A prompt upload: a CD-quality WAV is refused with the reason, a
    // telephone one is taken and offered in the forms at once.
    let dir = tempfile::tempdir().unwrap();
    let (bad, good) = (dir.path().join("cd.wav"), dir.path().join("hello.wav"));
    std::fs::write(&bad, wav(1, 1, 44_100, 0.2)).unwrap();
    std::fs::write(&good, wav(6, 1, 8_000, 0.5)).unwrap();
    b.eval("document.querySelector('#upload input[name=name]').value = 'hello'; true");
    b.set_file("#upload input[name=file]", &bad);
    b.click("#upload button");
    b.wait_for(
        "the refusal with its reason",
        "document.querySelector('#upload-result').textContent.includes('44100 Hz')",
    );
    b.set_file("#upload input[name=file]", &good);
    b.click("#upload button");
    b.wait_for(
        "the upload taken",
        "document.querySelector('#upload-result').textContent.includes('Uploaded hello (0.5 s)')",
    );
    b.wait_for(
        "the new prompt offered",
        "[...document.querySelectorAll('#nodeform select option')].some(o => o.value === 'hello')",
    );

    // Step through it before saving: the menu plays, key 1 queues.
    b.click("#try");
    b.wait_for(
        "the run at the menu",
        "document.querySelector('#sim-node')?.textContent === 'default/menu1' \
         && document.querySelector('#sim-log').textContent.includes('hears “welcome”')",
    );
    b.click("#keypad button[data-key='1']");
    b.wait_for(
        "the run in the queue",
        "document.querySelector('#sim-log').textContent.includes('queued for group 1')",
    );
    b.screenshot("designer.png");
    b.click("#sim-close");

    b.click("#save");
    b.wait_for(
        "saved",
        "document.querySelector('#flowname').textContent.includes('saved and deployed')",
    );
    let (status, saved) = server.http("GET", "/api/flows/default", None);
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["flow"]["start"], "menu1", "{saved}");
    assert_eq!(
        saved["flow"]["nodes"]["menu1"]["choices"]["1"], "queue",
        "{saved}"
    );
    assert_eq!(
        saved["flow"]["nodes"]["menu1"]["choices"]["2"], "hangup1",
        "{saved}"
    );
    assert_eq!(
        saved["flow"]["nodes"]["hangup1"]["kind"], "hangup",
        "{saved}"
    );
    assert!(saved["flow"]["nodes"].get("welcome").is_none(), "{saved}");

    // A caller now hears the menu; key 1 puts the call through to the agent.
    let (trunk, guid) = server.call("13800138000", "4008001234");
    server.advance(1_000);
    server.act(
        &format!("/sim/channels/{trunk}/dtmf"),
        Some(json!({ "digits": "1" })),
    );
    server.advance(2_000);
    let pop = agent.expect("6003");
    assert_eq!(
        (pop["TellGUID"].as_str(), pop["GroupNo"].as_str()),
        (Some(guid.as_str()), Some("1")),
        "{pop}"
    );
}
