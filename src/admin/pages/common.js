// Shared by the pages: the admin token (when [admin] token is set) and JSON fetches.
"use strict";
const spcti = {
  token() { return localStorage.getItem("spcti.token") || ""; },
  async api(path, opts = {}) {
    const headers = Object.assign({}, opts.headers || {});
    if (spcti.token()) headers["Authorization"] = "Bearer " + spcti.token();
    const resp = await fetch(path, Object.assign({}, opts, { headers }));
    if (resp.status === 401) {
      const t = prompt("This server needs its admin token ([admin] token):");
      if (t !== null) { localStorage.setItem("spcti.token", t.trim()); return spcti.api(path, opts); }
    }
    return resp;
  },
  async json(path) {
    const resp = await spcti.api(path);
    const body = await resp.json().catch(() => ({}));
    if (!resp.ok) throw new Error(body.error || resp.statusText);
    return body;
  },
  el(tag, attrs = {}, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "class") e.className = v; else if (k === "text") e.textContent = v; else e.setAttribute(k, v);
    }
    for (const k of kids) e.append(k);
    return e;
  },
  mmss(s) {
    s = Math.max(0, Math.floor(s));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    const two = (n) => String(n).padStart(2, "0");
    return h ? `${h}:${two(m)}:${two(r)}` : `${two(m)}:${two(r)}`;
  },
};
