// Call-record and recording search, with playback in the browser. Audio is
// fetched with the admin token and played from a blob, so it works with
// [admin] token set.
"use strict";
const TELLMSG = {1: "rang out", 2: "seat unreachable", 3: "rejected", 4: "transfer talk", 5: "left off-hook", 6: "outbound, talked",
  7: "hung up in IVR", 8: "rang, not answered", 9: "answered", 10: "outbound answered", 11: "off-hook, no dial", 12: "outbound failed",
  13: "hung up in queue", 14: "outbound abandoned", 15: "internal", 16: "voicemail", 17: "transferred back"};
let page = 1;

function query() {
  const f = new FormData(document.getElementById("search"));
  const q = new URLSearchParams();
  for (const k of ["caller", "callee", "agent", "from", "to"]) {
    const v = (f.get(k) || "").trim();
    if (v && !(k === "agent" && f.get("what") === "recordings")) q.set(k, v.replace("T", " "));
  }
  q.set("page", page);
  return [f.get("what"), q];
}

async function play(id, cell) {
  const resp = await spcti.api(`/api/recordings/${id}/audio`);
  if (!resp.ok) { cell.textContent = (await resp.json().catch(() => ({}))).error || resp.statusText; return; }
  const audio = spcti.el("audio", { controls: "", autoplay: "" });
  audio.src = URL.createObjectURL(await resp.blob());
  cell.replaceChildren(audio);
}

async function search() {
  const [what, q] = query();
  const err = document.getElementById("error");
  const table = document.getElementById("results");
  err.textContent = "";
  document.getElementById("page").textContent = "page " + page;
  try {
    const body = await spcti.json(`/api/${what}?${q}`);
    const rows = body[what];
    const head = what === "calls"
      ? ["start (UTC)", "caller", "callee", "seat", "agent", "group", "result", "talk s", "hung up by"]
      : ["start (UTC)", "caller", "callee", "seat", "agent", "seconds", "play"];
    table.replaceChildren(spcti.el("tr", {}, ...head.map((h) => spcti.el("th", { text: h }))));
    if (!rows.length) table.append(spcti.el("tr", {}, spcti.el("td", { class: "empty", text: "Nothing found." })));
    for (const r of rows) {
      const cells = what === "calls"
        ? [r.start_time.replace("T", " "), r.caller_no, r.callee_no, r.tel_num, r.work_no, r.group_no ?? "", TELLMSG[r.tellmsg] || r.tellmsg, r.telllongtime, r.hangup_by]
        : [r.start_time.replace("T", " "), r.caller_no, r.callee_no, r.tel_num, r.work_no, r.duration_s];
      const tr = spcti.el("tr", { "data-id": r.id }, ...cells.map((c) => spcti.el("td", { text: String(c) })));
      if (what === "recordings") {
        const cell = spcti.el("td");
        const btn = spcti.el("button", { type: "button", class: "play", text: "▶ play" });
        btn.onclick = () => play(r.id, cell);
        cell.append(btn);
        tr.append(cell);
      }
      table.append(tr);
    }
  } catch (e) {
    err.textContent = e.message;
  }
}

document.getElementById("search").onsubmit = (ev) => { ev.preventDefault(); page = 1; search(); };
document.getElementById("prev").onclick = () => { if (page > 1) { page--; search(); } };
document.getElementById("next").onclick = () => { page++; search(); };
search();
