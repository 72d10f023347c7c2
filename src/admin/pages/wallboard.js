// The live wallboard: a snapshot from the admin API, then every change from
// the WebSocket monitor (JSON frames). Reconnects with a fresh snapshot.
"use strict";
const board = { groups: new Map(), agents: new Map(), channels: new Map(), extra: new Map(), phones: new Map() };

function groupTile(g) {
  const x = board.extra.get(g.GroupNo) || {};
  const waited = Number(g.LongestWaitS) + (Number(g.Queued) > 0 ? (Date.now() - g._at) / 1000 : 0);
  const sl = Number(g.ServiceLevel);
  const alarm = Number(g.Queued) > 0 && (x.ServiceLevelThresholdS ? waited > x.ServiceLevelThresholdS : waited > 20);
  const stat = (v, label) => spcti.el("div", {}, spcti.el("b", { text: v }), spcti.el("span", { text: label }));
  return spcti.el("div", { class: "queue" + (alarm ? " alarm" : ""), "data-group": g.GroupNo },
    spcti.el("h3", { text: "Group " + g.GroupNo }),
    spcti.el("div", { class: "big" },
      stat(g.Queued, "waiting"), stat(spcti.mmss(Number(g.Queued) > 0 ? waited : 0), "longest wait"), stat(sl + "%", "service level")),
    spcti.el("div", { class: "small" },
      stat(g.Ready + "/" + g.Online, "ready"), stat(g.Talking, "talking"),
      stat(g.AnsweredToday, "answered"), stat(g.AbandonedToday, "abandoned"),
      stat(x.AsaS !== undefined ? x.AsaS + " s" : "–", "ASA"), stat(x.AhtS !== undefined ? x.AhtS + " s" : "–", "AHT"),
      stat(x.AbandonRate !== undefined ? Math.round(x.AbandonRate * 100) + "%" : "–", "abandon rate"), stat(g.Ringing, "ringing")));
}

function agentTile(a) {
  return spcti.el("div", { class: "agent s-" + a.AgentState, "data-tel": a.TelNum },
    spcti.el("div", { class: "who", text: a.TelNum + (a.WorkNo ? " · " + a.WorkNo : "") }),
    spcti.el("div", { class: "what", text: a.AgentState + (a.ShowState ? " — " + a.ShowState : "") }),
    spcti.el("div", { class: "since", text: spcti.mmss((Date.now() - a._since) / 1000) }));
}

function channelTile(c) {
  const who = c.ChType === "seat"
    ? "ext " + (c.TelNum || "") + (c.LinkCh ? " ↔ ch " + c.LinkCh : "")
    : c.State === "free" ? "" : (c.CallerNo || "") + (c.TelNum ? " → " + c.TelNum : "");
  // A SIP seat's phone that is not registered takes no calls: said on its tile.
  const phone = board.phones.get(c.ChNum);
  const down = phone && !phone.registered;
  return spcti.el("div", { class: "ch c-" + c.State + (down ? " unreg" : ""), "data-ch": c.ChNum, title: phone && phone.contact ? phone.contact : "" },
    spcti.el("b", { text: c.ChType + " " + c.ChNum }), spcti.el("div", { text: down ? "phone not registered" : c.State }), spcti.el("div", { text: who }));
}

function render() {
  const fill = (id, items, tile, empty) => {
    const box = document.getElementById(id);
    box.replaceChildren(...(items.length ? items.map(tile) : (empty ? [spcti.el("p", { class: "empty", text: empty })] : [])));
  };
  const byNum = (a, b) => Number(a) - Number(b);
  fill("queues", [...board.groups.keys()].sort(byNum).map((k) => board.groups.get(k)), groupTile, "No queue groups.");
  fill("agents", [...board.agents.keys()].sort().map((k) => board.agents.get(k)).filter((a) => a.AgentState !== "offline"), agentTile, "No agent logged in.");
  fill("channels", [...board.channels.keys()].sort(byNum).map((k) => board.channels.get(k)), channelTile, "");
  document.getElementById("clock").textContent = new Date().toLocaleTimeString();
}

function apply(m) {
  const now = Date.now();
  if (m.MsgType === "6012") board.channels.set(m.ChNum, m);
  else if (m.MsgType === "6001") {
    const old = board.agents.get(m.TelNum);
    m._since = old && old.AgentState === m.AgentState ? old._since : now;
    board.agents.set(m.TelNum, m);
  } else if (m.MsgType === "9014") { m._at = now; board.groups.set(m.GroupNo, m); refreshExtra(); }
}

let extraTimer = null;
function refreshExtra() {
  // ASA, AHT and abandon rate come from the API; fetched at most once a second.
  if (extraTimer) return;
  extraTimer = setTimeout(async () => {
    extraTimer = null;
    try { for (const g of await spcti.json("/api/groups")) board.extra.set(g.GroupNo, g); } catch (e) { /* next change retries */ }
  }, 1000);
}

async function snapshot() {
  const [health, agents, groups, channels] = await Promise.all([spcti.json("/api/health"), spcti.json("/api/agents"), spcti.json("/api/groups"), spcti.json("/api/channels")]);
  for (const c of channels) {
    if (c.Registration) board.phones.set(c.ChNum, c.Registration);
    if (!board.channels.has(c.ChNum)) board.channels.set(c.ChNum, c);
  }
  const db = document.getElementById("db");
  db.textContent = "database " + health.database.state + (health.database.spool_depth ? " · " + health.database.spool_depth + " spooled" : "");
  db.className = "status " + (health.database.state === "up" ? "live" : "down");
  const now = Date.now();
  for (const a of agents) { a._since = Math.min(now, Date.parse(a.Since.replace(" ", "T") + "Z") || now); board.agents.set(a.TelNum, a); }
  for (const g of groups) { g._at = now; board.groups.set(g.GroupNo, g); board.extra.set(g.GroupNo, g); }
  return health;
}

async function connect() {
  const live = document.getElementById("live");
  try {
    const health = await snapshot();
    const port = (health.monitor || "").split(":").pop();
    const ws = new WebSocket(`ws://${location.hostname}:${port}/?format=json`);
    ws.onopen = () => { live.textContent = "live"; live.className = "status live"; };
    ws.onmessage = (ev) => { apply(JSON.parse(ev.data)); render(); };
    ws.onclose = () => { live.textContent = "reconnecting…"; live.className = "status down"; setTimeout(connect, 2000); };
  } catch (e) {
    live.textContent = "offline: " + e.message; live.className = "status down";
    setTimeout(connect, 3000);
  }
}

setInterval(render, 1000);
setInterval(async () => { try { await snapshot(); } catch (e) { /* shown by the next connect */ } }, 15000);
connect();
render();
