// The call-flow designer (docs/flows.md "The designer"). The flow being
// edited lives here as plain data (`cur`); the canvas (Drawflow, vendored)
// only draws it and reports drags and connections. What is saved is the
// same JSON a person would write by hand: the server checks it and the
// problems it finds are shown on the steps they name.
"use strict";

// Each step kind: its exits (in the order of its connection dots) and the
// fields its form offers. Field types: text, int, bool, textarea, prompt,
// group, flow, lang, method, map (name = value lines), windows.
const KINDS = {
  play: { exits: ["next"], fields: [["prompt", "prompt"], ["barge_in", "bool"]] },
  say: { exits: ["next"], fields: [["digits", "text"], ["number", "text"], ["lang", "lang"]] },
  menu: { exits: ["invalid", "fail"], choices: true,
    fields: [["prompt", "prompt"], ["timeout_s", "int"], ["retries", "int"]] },
  collect: { exits: ["next", "fail"],
    fields: [["prompt", "prompt"], ["var", "text"], ["min", "int"], ["max", "int"], ["terminator", "text"], ["timeout_s", "int"]] },
  set: { exits: ["next"], fields: [["vars", "map"]] },
  branch: { exits: ["then", "else"], fields: [["if", "text"]] },
  time: { exits: ["open_next", "closed_next"], fields: [["open", "windows"], ["closed_if", "text"]] },
  queue: { exits: ["next", "overflow"],
    fields: [["group", "group"], ["priority", "int"], ["music", "prompt"], ["announce_every_s", "int"], ["lang", "lang"], ["max_wait_s", "int"]] },
  voicemail: { exits: ["next"], fields: [["prompt", "prompt"], ["max_s", "int"]] },
  http: { exits: ["next", "fail"],
    fields: [["method", "method"], ["url", "text"], ["body", "textarea"], ["timeout_ms", "int"], ["vars", "map"]] },
  transfer: { exits: ["next", "fail"], fields: [["to", "text"]] },
  subflow: { exits: ["next"], fields: [["flow", "flow"]] },
  wait: { exits: ["next", "fail"], fields: [["timeout_s", "int"]] },
  hangup: { exits: [], fields: [] },
};
const HELP = {
  play: "Plays a prompt.", say: "Speaks digits or a number.", menu: "Plays a prompt and waits for one key.",
  collect: "Collects several keys into a variable.", set: "Sets variables from expressions.",
  branch: "Goes one way or the other on an expression.", time: "Open or closed by the clock.",
  queue: "Queues the caller for an agent of a group.", voicemail: "Records a message.",
  http: "Asks a web service.", transfer: "Puts the caller through to an extension, agent or number.", subflow: "Runs another flow, then comes back.",
  wait: "Waits for data from a client (1026).", hangup: "Ends the call.",
};
const NAME_RE = /^[A-Za-z0-9_-]{1,64}$/;
const $ = (id) => document.getElementById(id);
const el = spcti.el;

const df = new Drawflow($("canvas"));
df.reroute = false;
df.start();

let known = { groups: [], prompts: [], flows: [] };
let cur = null;        // {name, start, popup: [], extra: {}, nodes: Map(id -> node)}
let selected = null;   // the id of the step whose form is shown
let quiet = false;     // the canvas changes are ours (loading, redrawing): ignore its events
let sim = null;        // the step-through run: {id}
let checkTimer = null;

function kindOf(n) { return KINDS[n.kind] || { exits: [], fields: [] }; }
function byName(name) { for (const n of cur.nodes.values()) if (n.name === name) return n; return null; }

// The exits of a step, in dot order: fixed ones, then the menu's keys.
function exitsOf(n) {
  const list = kindOf(n).exits.map((e) => ({
    label: e, get: () => n.exits[e] || "", set: (t) => { n.exits[e] = t; },
  }));
  if (kindOf(n).choices) {
    n.choices.forEach((c) => list.push({ label: "key " + (c[0] || "?"), get: () => c[1] || "", set: (t) => { c[1] = t; } }));
  }
  return list;
}

function summary(n) {
  const f = n.f;
  switch (n.kind) {
    case "play": case "voicemail": return f.prompt ? "“" + f.prompt + "”" : "";
    case "menu": return (f.prompt ? "“" + f.prompt + "” " : "") + "keys " + n.choices.map((c) => c[0]).join(" ");
    case "collect": return f.var ? "into " + f.var : "";
    case "say": return f.digits || f.number || "";
    case "branch": return f.if || "";
    case "queue": return f.group ? "group " + f.group : "";
    case "subflow": return f.flow || "";
    case "transfer": return f.to ? "to " + f.to : "";
    case "http": return (f.method || "GET") + " " + (f.url || "");
    case "set": return Object.keys(f.vars || {}).join(", ");
    default: return "";
  }
}

// --- the canvas -----------------------------------------------------------

function nodeEl(n) { return document.getElementById("node-" + n.id); }

function addToCanvas(n, x, y) {
  quiet = true;
  n.id = String(df.addNode(n.kind, 1, exitsOf(n).length, x, y, "fn k-" + n.kind, {}, "<div></div>"));
  quiet = false;
  cur.nodes.set(n.id, n);
  nodeEl(n).dataset.name = n.name;
  render(n);
}

function render(n) {
  const box = nodeEl(n)?.querySelector(".drawflow_content_node");
  if (!box) return;
  nodeEl(n).dataset.name = n.name;
  box.replaceChildren(
    el("div", { class: "fn-title" }, el("b", { text: n.name }), el("span", { class: "kind", text: n.kind })),
    el("div", { class: "fn-sum", text: summary(n) }),
    el("div", { class: "fn-err" }),
  );
  nodeEl(n).classList.toggle("start", cur.start === n.name);
  const outs = exitsOf(n);
  nodeEl(n).querySelectorAll(".outputs .output").forEach((o, i) => {
    if (!outs[i]) return;
    const t = outs[i].get();
    o.dataset.label = outs[i].label + (t === n.name ? " ↺" : "");
    o.title = outs[i].label + " → " + (t || "(ends the flow)");
  });
}

// Redraws a step's outgoing connections from its exits (the data is the
// truth; a step looping to itself is shown by ↺ on its dot).
function redraw(n) {
  quiet = true;
  const d = df.getNodeFromId(n.id);
  const outs = exitsOf(n);
  let have = Object.keys(d.outputs).length;
  while (have < outs.length) { df.addNodeOutput(n.id); have++; }
  while (have > outs.length) { df.removeNodeOutput(n.id, "output_" + have); have--; }
  const now = df.getNodeFromId(n.id);
  for (const [cls, o] of Object.entries(now.outputs)) {
    for (const c of [...o.connections]) df.removeSingleConnection(n.id, c.node, cls, c.output);
  }
  outs.forEach((e, i) => {
    const t = byName(e.get());
    if (t && t !== n) df.addConnection(n.id, t.id, "output_" + (i + 1), "input_1");
  });
  quiet = false;
  render(n);
}

df.on("connectionCreated", (c) => {
  if (quiet) return;
  const n = cur.nodes.get(String(c.output_id));
  const t = cur.nodes.get(String(c.input_id));
  const e = n && exitsOf(n)[parseInt(c.output_class.slice(7), 10) - 1];
  if (!e || !t) return;
  e.set(t.name);          // one exit goes to one step: the new connection replaces the old
  redraw(n);
  changed(n);
});
df.on("connectionRemoved", (c) => {
  if (quiet) return;
  const n = cur.nodes.get(String(c.output_id));
  const t = cur.nodes.get(String(c.input_id));
  const e = n && exitsOf(n)[parseInt(c.output_class.slice(7), 10) - 1];
  if (e && t && e.get() === t.name) { e.set(""); render(n); changed(n); }
});
// The form follows the step last pressed on. (Drawflow's own selection
// event does not fire again for the step it thinks is still selected,
// after another step was added and shown in the form.)
$("canvas").addEventListener("mousedown", (ev) => {
  const node = ev.target.closest?.(".drawflow-node");
  if (!node || ev.target.closest(".output, .input")) return;
  if (selected !== node.id.slice(5)) { selected = node.id.slice(5); nodeForm(); }
});
df.on("nodeRemoved", (id) => {
  if (quiet || !cur) return;
  const gone = cur.nodes.get(String(id));
  cur.nodes.delete(String(id));
  if (gone && cur.start === gone.name) cur.start = cur.nodes.size ? cur.nodes.values().next().value.name : "";
  if (selected === String(id)) { selected = null; nodeForm(); }
  flowForm();
  changed();
});
df.on("nodeMoved", () => changed());

function freeName(kind) {
  for (let i = 1; ; i++) if (!byName(kind + i)) return kind + i;
}

// The first place on a 4-wide grid that no step covers (a click on the
// palette puts the step there).
function freeSpot() {
  const taken = [...cur.nodes.values()].map((n) => df.getNodeFromId(n.id));
  for (let i = 0; ; i++) {
    const x = 40 + (i % 4) * 260, y = 40 + Math.floor(i / 4) * 150;
    if (!taken.some((d) => Math.abs(d.pos_x - x) < 220 && Math.abs(d.pos_y - y) < 110)) return [x, y];
  }
}

function newNode(kind, x, y) {
  if (!cur) { problems(["Open or create a flow first."]); return null; }
  const n = { name: freeName(kind), kind, f: {}, exits: {}, choices: [], extra: {} };
  if (kind === "menu") n.choices = [["1", ""]];
  if (kind === "queue" && known.groups.length) n.f.group = known.groups[0].no;
  if (["play", "menu"].includes(kind) && known.prompts.length) n.f.prompt = known.prompts.includes("welcome") ? "welcome" : known.prompts[0];
  if (kind === "collect") n.f.var = "digits";
  if (kind === "branch") n.f.if = "true";
  if (kind === "http") n.f.url = "http://127.0.0.1/";
  if (kind === "subflow" && known.flows.length) n.f.flow = known.flows.find((f) => f !== cur.name) || "";
  if (kind === "time") n.f.open = [{ days: "mon-fri", from: "09:00", to: "18:00" }];
  if (kind === "set") n.f.vars = {};
  if (x === undefined) [x, y] = freeSpot();
  addToCanvas(n, x, y);
  if (!cur.start) cur.start = n.name;
  render(n);
  selected = n.id;
  nodeForm();
  flowForm();
  changed();
  return n;
}

// --- the palette ------------------------------------------------------------

for (const kind of Object.keys(KINDS)) {
  const p = el("div", { class: "pal k-" + kind, draggable: "true", "data-kind": kind, title: HELP[kind] }, el("b", { text: kind }), el("span", { text: HELP[kind] }));
  p.addEventListener("dragstart", (ev) => ev.dataTransfer.setData("text/plain", kind));
  p.addEventListener("click", () => newNode(kind));
  $("palette").append(p);
}
$("canvas").addEventListener("dragover", (ev) => ev.preventDefault());
$("canvas").addEventListener("drop", (ev) => {
  ev.preventDefault();
  const kind = ev.dataTransfer.getData("text/plain");
  if (!KINDS[kind]) return;
  // Screen point to canvas point: undo the canvas's pan and zoom.
  const r = df.precanvas.getBoundingClientRect();
  newNode(kind, (ev.clientX - r.x) / df.zoom, (ev.clientY - r.y) / df.zoom);
});

// --- forms -------------------------------------------------------------------

function field(label, input) { return el("label", { class: "field" }, el("span", { text: label }), input); }

function selectOf(options, value, onchange) {
  const s = el("select");
  const opts = options.slice();
  if (value !== "" && value !== undefined && !opts.some((o) => String(o[0]) === String(value))) opts.push([value, value + " (unknown)"]);
  for (const [v, text] of opts) {
    const o = el("option", { value: String(v), text });
    if (String(v) === String(value ?? "")) o.selected = true;
    s.append(o);
  }
  s.addEventListener("change", () => onchange(s.value));
  return s;
}

function mapText(m) { return Object.entries(m || {}).map(([k, v]) => k + " = " + v).join("\n"); }
function parseMap(t) {
  const m = {};
  for (const line of t.split("\n")) {
    const i = line.indexOf("=");
    if (i > 0) m[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return m;
}
function windowsText(w) { return (w || []).map((x) => `${x.days} ${x.from}-${x.to}`).join("\n"); }
function parseWindows(t) {
  return t.split("\n").map((l) => l.trim()).filter(Boolean).map((l) => {
    const [days, span = ""] = l.split(/\s+/);
    const [from = "", to = ""] = span.split("-");
    return { days, from, to };
  });
}

function input(n, name, type) {
  const v = n.f[name];
  const set = (x) => {
    if (x === "" || x === undefined || x === false) delete n.f[name]; else n.f[name] = x;
    render(n);
    changed(n);
  };
  const text = (attrs = {}) => {
    const i = el("input", Object.assign({ value: v ?? "" }, attrs));
    i.addEventListener("input", () => set(type === "int" ? (i.value === "" ? "" : Number(i.value)) : i.value));
    return i;
  };
  switch (type) {
    case "int": return text({ type: "number", min: "0" });
    case "bool": {
      const c = el("input", { type: "checkbox" });
      c.checked = !!v;
      c.addEventListener("change", () => set(c.checked));
      return c;
    }
    case "textarea": {
      const a = el("textarea", { rows: "3" });
      a.value = v ?? "";
      a.addEventListener("input", () => set(a.value));
      return a;
    }
    case "map": case "windows": {
      const a = el("textarea", { rows: "3", placeholder: type === "map" ? "name = value" : "mon-fri 09:00-18:00" });
      a.value = type === "map" ? mapText(v) : windowsText(v);
      a.addEventListener("input", () => set(type === "map" ? parseMap(a.value) : parseWindows(a.value)));
      return a;
    }
    case "prompt": return selectOf([["", "—"]].concat(known.prompts.map((p) => [p, p])), v, set);
    case "group": return selectOf([["", "—"]].concat(known.groups.map((g) => [g.no, g.no + " " + (g.name || "")])), v, (x) => set(x === "" ? "" : Number(x)));
    case "flow": return selectOf([["", "—"]].concat(known.flows.filter((f) => f !== cur.name).map((f) => [f, f])), v, set);
    case "lang": return selectOf([["", "default"], ["en", "English"], ["zh", "Chinese"]], v, set);
    case "method": return selectOf([["", "GET"], ["POST", "POST"], ["PUT", "PUT"]], v, set);
    default: return text();
  }
}

function targetSelect(n, e) {
  const names = [...cur.nodes.values()].map((m) => [m.name, m.name === n.name ? m.name + " (itself)" : m.name]);
  return selectOf([["", "— ends the flow"]].concat(names), e.get(), (t) => { e.set(t); redraw(n); changed(n); });
}

function nodeForm() {
  const box = $("nodeform");
  const n = cur && cur.nodes.get(selected);
  if (!n) { box.replaceChildren(el("p", { class: "empty", text: "Click a step to edit it." })); return; }
  const name = el("input", { value: n.name, pattern: "[A-Za-z0-9_-]{1,64}", name: "stepname" });
  const nameErr = el("span", { class: "error" });
  name.addEventListener("change", () => {
    const to = name.value.trim();
    if (to === n.name) return;
    if (!NAME_RE.test(to)) { nameErr.textContent = "1 to 64 letters, digits, _ or -"; return; }
    if (byName(to)) { nameErr.textContent = "another step has that name"; return; }
    nameErr.textContent = "";
    const from = n.name;
    for (const m of cur.nodes.values()) {
      for (const k of Object.keys(m.exits)) if (m.exits[k] === from) m.exits[k] = to;
      for (const c of m.choices) if (c[1] === from) c[1] = to;
    }
    if (cur.start === from) cur.start = to;
    n.name = to;
    for (const m of cur.nodes.values()) render(m);
    flowForm();
    changed(n);
  });
  const parts = [
    el("h2", { text: "Step" }),
    field("Name", name), nameErr,
    el("p", { class: "hint", text: n.kind + ": " + (HELP[n.kind] || "a kind this designer does not know; edit the file") }),
  ];
  for (const [f, type] of kindOf(n).fields) parts.push(field(f, input(n, f, type)));
  if (kindOf(n).choices) {
    parts.push(el("h3", { text: "Keys" }));
    n.choices.forEach((c, i) => {
      const key = el("input", { value: c[0], size: "2", maxlength: "1", class: "key", "data-choice": String(i) });
      key.addEventListener("change", () => { c[0] = key.value.trim(); render(n); changed(n); });
      const del = el("button", { type: "button", text: "×", title: "Remove this key" });
      del.addEventListener("click", () => { n.choices.splice(i, 1); redraw(n); nodeForm(); changed(n); });
      parts.push(el("div", { class: "choice" }, key, targetSelect(n, exitsOf(n)[kindOf(n).exits.length + i]), del));
    });
    const add = el("button", { type: "button", text: "Add a key", id: "addkey" });
    add.addEventListener("click", () => {
      const used = new Set(n.choices.map((c) => c[0]));
      const k = [..."1234567890*#"].find((x) => !used.has(x)) || "";
      n.choices.push([k, ""]);
      redraw(n);
      nodeForm();
      changed(n);
    });
    parts.push(add);
  }
  if (kindOf(n).exits.length) {
    parts.push(el("h3", { text: "Then" }));
    kindOf(n).exits.forEach((e, i) => parts.push(field(e, targetSelect(n, exitsOf(n)[i]))));
  }
  const start = el("button", { type: "button", text: cur.start === n.name ? "Calls start here" : "Start calls here" });
  start.disabled = cur.start === n.name;
  start.addEventListener("click", () => { cur.start = n.name; for (const m of cur.nodes.values()) render(m); flowForm(); nodeForm(); changed(); });
  const del = el("button", { type: "button", class: "danger", text: "Delete step" });
  del.addEventListener("click", () => df.removeNodeId("node-" + n.id));
  parts.push(el("div", { class: "row" }, start, del));
  box.replaceChildren(...parts);
}

function flowForm() {
  const box = $("flowform");
  if (!cur) { box.replaceChildren(); return; }
  const start = selectOf([...cur.nodes.values()].map((n) => [n.name, n.name]), cur.start, (v) => {
    cur.start = v;
    for (const m of cur.nodes.values()) render(m);
    changed();
  });
  start.name = "start";
  const popup = el("input", { value: cur.popup.join(", "), placeholder: "customer_id, ...", name: "popup" });
  popup.addEventListener("input", () => { cur.popup = popup.value.split(",").map((s) => s.trim()).filter(Boolean); changed(); });
  const versions = el("div", { class: "versions" });
  for (const v of cur.versions || []) {
    const b = el("button", { type: "button", text: "v" + v, title: "Open version " + v + " (save it to roll back)" });
    b.addEventListener("click", () => openVersion(cur.name, v));
    versions.append(b);
  }
  box.replaceChildren(
    el("h2", { text: "Flow " + cur.name }),
    field("Calls start at", start),
    field("Screen-pop variables", popup),
    cur.versions?.length ? field("Kept versions", versions) : "",
  );
}

// --- checking, saving, loading --------------------------------------------

function problems(list) {
  const box = $("problems");
  box.replaceChildren(...list.map((t) => el("div", { class: "problem", text: t })));
  box.hidden = list.length === 0;
}

function showErrors(errors) {
  for (const n of cur.nodes.values()) {
    const mine = errors.filter((e) => e.node === n.name);
    nodeEl(n)?.classList.toggle("has-error", mine.length > 0);
    const box = nodeEl(n)?.querySelector(".fn-err");
    if (box) box.textContent = mine.map((e) => (e.field ? e.field + ": " : "") + e.message).join("; ");
  }
  problems(errors.map((e) => e.text || e.message));
  $("save").classList.toggle("bad", errors.length > 0);
}

function changed() {
  if (!cur) return;
  cur.dirty = true;
  $("flowname").textContent = cur.name + " (not saved)";
  clearTimeout(checkTimer);
  checkTimer = setTimeout(check, 300);
}

async function check() {
  if (!cur) return;
  const resp = await spcti.api(`/api/flows/${encodeURIComponent(cur.name)}/check`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(toJson()),
  });
  const body = await resp.json().catch(() => ({}));
  if (resp.ok) showErrors(body.errors || []);
  else showErrors([{ text: body.error || resp.statusText, message: body.error || resp.statusText }]);
}

function toJson() {
  const nodes = {};
  for (const n of cur.nodes.values()) {
    const o = { kind: n.kind };
    for (const [k, v] of Object.entries(n.f)) {
      const empty = v === "" || v === null || v === undefined || (Array.isArray(v) && !v.length);
      if (!empty) o[k] = v;
    }
    for (const e of kindOf(n).exits) if (n.exits[e]) o[e] = n.exits[e];
    if (kindOf(n).choices) o.choices = Object.fromEntries(n.choices.filter((c) => c[0]).map((c) => [c[0], c[1] || ""]));
    Object.assign(o, n.extra);
    const d = df.getNodeFromId(n.id);
    o.x = Math.round(d.pos_x);
    o.y = Math.round(d.pos_y);
    nodes[n.name] = o;
  }
  const flow = Object.assign({ name: cur.name, start: cur.start || "" }, cur.extra);
  if (cur.popup.length) flow.popup = cur.popup;
  flow.nodes = nodes;
  return flow;
}

function load(name, flow, versions) {
  endSim();
  quiet = true;
  df.clear();
  quiet = false;
  cur = { name, start: flow.start || "", popup: flow.popup || [], extra: {}, nodes: new Map(), versions };
  for (const [k, v] of Object.entries(flow)) if (!["name", "start", "popup", "nodes"].includes(k)) cur.extra[k] = v;
  let i = 0;
  for (const [nm, spec] of Object.entries(flow.nodes || {})) {
    const n = { name: nm, kind: spec.kind, f: {}, exits: {}, choices: [], extra: {} };
    const k = kindOf(n);
    const fields = new Set(k.fields.map((f) => f[0]));
    for (const [key, v] of Object.entries(spec)) {
      if (["kind", "x", "y"].includes(key)) continue;
      if (fields.has(key)) n.f[key] = v;
      else if (k.exits.includes(key)) n.exits[key] = v;
      else if (key === "choices" && k.choices) n.choices = Object.entries(v || {});
      else n.extra[key] = v;
    }
    addToCanvas(n, spec.x ?? 40 + (i % 4) * 250, spec.y ?? 40 + Math.floor(i / 4) * 150);
    i++;
  }
  for (const n of cur.nodes.values()) redraw(n);
  selected = null;
  nodeForm();
  flowForm();
  $("flowname").textContent = name + (flow.version ? "" : "");
  $("save").disabled = false;
  $("try").disabled = false;
  history.replaceState(null, "", "#" + name);
  for (const li of document.querySelectorAll("#flows li")) li.classList.toggle("here", li.dataset.name === name);
  check();
}

async function open(name) {
  const resp = await spcti.api(`/api/flows/${encodeURIComponent(name)}`);
  const body = await resp.json().catch(() => ({}));
  if (!resp.ok) { problems([body.error || resp.statusText]); return; }
  load(name, body.flow, body.versions);
  $("flowname").textContent = `${name} v${body.version}`;
}

async function openVersion(name, v) {
  const resp = await spcti.api(`/api/flows/${encodeURIComponent(name)}/versions/${v}`);
  const body = await resp.json().catch(() => ({}));
  if (!resp.ok) { problems([body.error || resp.statusText]); return; }
  const versions = cur?.versions;
  load(name, body.flow, versions);
  $("flowname").textContent = `${name}: version ${v} (save to put it back)`;
}

async function save() {
  if (!cur) return;
  const resp = await spcti.api(`/api/flows/${encodeURIComponent(cur.name)}`, {
    method: "PUT", headers: { "Content-Type": "application/json" }, body: JSON.stringify(toJson()),
  });
  const body = await resp.json().catch(() => ({}));
  if (resp.ok) {
    cur.dirty = false;
    $("flowname").textContent = `${cur.name} v${body.version} — saved and deployed`;
    showErrors([]);
    await refresh();
    const again = await spcti.json(`/api/flows/${encodeURIComponent(cur.name)}`).catch(() => null);
    if (again) { cur.versions = again.versions; flowForm(); }
  } else if (body.errors) {
    showErrors(body.errors);
    $("flowname").textContent = `${cur.name} — not saved: ${body.errors.length} problem(s)`;
  } else {
    problems([`Not saved: ${body.error || resp.statusText}`]);
  }
}

async function refresh() {
  const [flows, groups, prompts] = await Promise.all([
    spcti.json("/api/flows"), spcti.json("/api/groups"), spcti.json("/api/prompts"),
  ]);
  known.flows = flows.flows.map((f) => f.name);
  known.groups = groups.map((g) => ({ no: Number(g.GroupNo), name: g.Name || "" }));
  known.prompts = prompts.prompts.map((p) => p.name);
  $("flows").replaceChildren(...flows.flows.map((f) => {
    const li = el("li", { "data-name": f.name },
      el("a", { href: "#" + f.name, text: f.name }),
      el("span", { class: "hint", text: ` v${f.version}, ${f.nodes} steps${f.inbound ? ", inbound" : ""}` }));
    li.classList.toggle("here", cur?.name === f.name);
    li.querySelector("a").addEventListener("click", (ev) => { ev.preventDefault(); open(f.name); });
    return li;
  }));
}

$("save").addEventListener("click", save);
$("newflow").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const name = $("newname").value.trim();
  if (!NAME_RE.test(name)) { problems(["A flow name is 1 to 64 letters, digits, _ or -."]); return; }
  if (known.flows.includes(name)) { open(name); return; }
  load(name, { name, start: "", nodes: {} }, []);
  $("flowname").textContent = name + " (new, not saved)";
  $("newname").value = "";
});
$("upload").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const form = ev.target;
  const file = form.file.files[0];
  const resp = await spcti.api(`/api/prompts/${encodeURIComponent(form.name.value.trim())}`, { method: "PUT", body: file });
  const body = await resp.json().catch(() => ({}));
  $("upload-result").textContent = resp.ok ? `Uploaded ${body.name} (${(body.duration_ms / 1000).toFixed(1)} s)` : (body.error || resp.statusText);
  $("upload-result").classList.toggle("error", !resp.ok);
  if (resp.ok) { await refresh(); if (selected) nodeForm(); if (cur) check(); }
});

// --- the step-through run ----------------------------------------------------

function logLine(text, cls = "") { $("sim-log").append(el("li", { class: cls, text })); $("sim-log").lastChild.scrollIntoView({ block: "nearest" }); }

function describe(e) {
  switch (e.kind) {
    case "play": return `hears “${e.prompt}”`;
    case "stop": return "the prompt stops";
    case "timer": return `waits up to ${e.ms / 1000} s`;
    case "queue": return `queued for group ${e.queue.group}` + (e.queue.music ? `, hearing “${e.queue.music}”` : "") + (e.queue.max_wait_s ? `, at most ${e.queue.max_wait_s} s` : "");
    case "http": return `${e.method} ${e.url}` + (e.body ? ` with ${e.body}` : "");
    case "record": return `recording a message (at most ${e.max_s} s)`;
    case "message_kept": return "the message is kept";
    case "global": return `global.${e.name} = ${e.value}`;
    case "agent_hung_up": return "the agent (the far end) hung up first";
    case "transfer": return `put through to ${e.to}`;
    case "transfer_failed": return "the transfer failed";
    case "overflow": return "the queue overflowed";
    case "end": return `call over: ${e.why}`;
    default: return JSON.stringify(e);
  }
}

function showSim(r) {
  for (const e of r.events) logLine(describe(e), "ev-" + e.kind);
  $("sim-node").textContent = r.ended ? "—" : `${r.flow}/${r.node}`;
  const waiting = r.ended ? "call over"
    : r.queue ? "in the queue"
    : r.transfer ? `put through to ${r.transfer}`
    : r.http ? "waiting for the web service"
    : r.playing.length ? `hearing “${r.playing[0]}”`
    : r.timer_ms != null ? `waiting (${r.timer_ms / 1000} s)`
    : "";
  $("sim-status").textContent = waiting;
  const on = (input, yes) => { const b = document.querySelector(`#sim button[data-input="${input}"]`); if (b) b.disabled = !!r.ended || !yes; };
  on("prompt_done", r.playing.length > 0);
  on("timer", r.timer_ms != null);
  on("agent_hung_up", !!r.queue || !!r.transfer);
  on("transfer_failed", !!r.transfer);
  on("overflow", !!r.queue?.overflow);
  on("caller_hung_up", true);
  on("data", !r.queue && !r.transfer);
  for (const b of document.querySelectorAll("#keypad button")) b.disabled = !!r.ended || !!r.queue || !!r.transfer;
  $("sim-http").hidden = !r.http;
  if (r.http) $("sim-http-req").textContent = `${r.http.method} ${r.http.url}`;
  const vars = Object.entries(r.vars).concat(Object.entries(r.globals).map(([k, v]) => ["global." + k, v]));
  $("sim-vars").replaceChildren(...vars.map(([k, v]) => el("tr", {}, el("th", { text: k }), el("td", { text: v }))));
  for (const n of cur.nodes.values()) nodeEl(n)?.classList.toggle("sim-here", !r.ended && r.flow === cur.name && r.node === n.name);
}

async function simSend(input) {
  if (!sim) return;
  const resp = await spcti.api(`/api/simulations/${sim.id}`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(input),
  });
  const body = await resp.json().catch(() => ({}));
  if (resp.ok) showSim(body); else logLine(`(${body.error || resp.statusText})`, "refused");
}

async function startSim() {
  if (!cur) return;
  endSim();
  const resp = await spcti.api(`/api/flows/${encodeURIComponent(cur.name)}/simulate`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ flow: toJson() }),
  });
  const body = await resp.json().catch(() => ({}));
  if (!resp.ok) {
    if (body.errors) showErrors(body.errors); else problems([body.error || resp.statusText]);
    return;
  }
  sim = { id: body.id };
  $("sim").hidden = false;
  $("nodeform").hidden = true;
  $("sim-flow").textContent = cur.name;
  $("sim-log").replaceChildren();
  logLine(`a call from ${body.vars.caller} to ${body.vars.callee} comes in`, "ev-caller");
  showSim(body);
}

function endSim() {
  if (sim) spcti.api(`/api/simulations/${sim.id}`, { method: "DELETE" });
  sim = null;
  $("sim").hidden = true;
  $("nodeform").hidden = false;
  document.querySelectorAll(".sim-here").forEach((e) => e.classList.remove("sim-here"));
}

for (const k of "123456789*0#") {
  const b = el("button", { type: "button", text: k, "data-key": k });
  b.addEventListener("click", () => { logLine(`the caller presses ${k}`, "ev-caller"); simSend({ input: "keys", keys: k }); });
  $("keypad").append(b);
}
for (const b of document.querySelectorAll("#sim .sim-buttons button, #sim .sim-data button, #sim .sim-http button")) {
  b.addEventListener("click", () => {
    const what = b.dataset.input;
    if (what === "data") { logLine(`data arrives: ${$("sim-data").value}`, "ev-caller"); simSend({ input: "data", data: $("sim-data").value }); return; }
    if (what === "http-ok") {
      let parsed;
      try { parsed = JSON.parse($("sim-http-body").value); } catch (e) { logLine(`(not JSON: ${e.message})`, "refused"); return; }
      simSend({ input: "http", body: parsed });
      return;
    }
    if (what === "http-fail") { simSend({ input: "http", error: "failed (tried in the designer)" }); return; }
    logLine(b.textContent.toLowerCase(), "ev-caller");
    simSend({ input: what });
  });
}
$("try").addEventListener("click", startSim);
$("sim-close").addEventListener("click", endSim);
window.addEventListener("beforeunload", (ev) => {
  if (cur?.dirty) { ev.preventDefault(); ev.returnValue = ""; }
});

refresh().then(() => {
  const want = decodeURIComponent(location.hash.slice(1));
  if (want && known.flows.includes(want)) open(want);
}).catch((e) => problems([String(e.message || e)]));
