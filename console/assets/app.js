// Syncline console: polls /api/task and renders it. Plain JavaScript, no
// dependencies; charts are inline SVG.
"use strict";

const token = document.querySelector('meta[name="syncline-token"]').content;
const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else e.setAttribute(k, v);
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : String(c));
  }
  return e;
}

function count(n) { return Number(n).toLocaleString("en-US"); }
function rate(v) {
  if (v === null || v === undefined) return "-";
  return v < 100 ? v.toFixed(1) : count(Math.round(v));
}
function duration(s) {
  if (s === null || s === undefined) return "unknown";
  if (s < 10) return s.toFixed(1) + "s";
  if (s < 60) return Math.floor(s) + "s";
  if (s < 3600) return Math.floor(s / 60) + "m" + String(Math.floor(s % 60)).padStart(2, "0") + "s";
  return Math.floor(s / 3600) + "h" + String(Math.floor((s % 3600) / 60)).padStart(2, "0") + "m";
}
function bytes(v) {
  if (v === null || v === undefined) return "-";
  const units = ["B", "KB", "MB", "GB"];
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return (v < 10 && i > 0 ? v.toFixed(1) : Math.round(v)) + " " + units[i];
}
function stageBadge(stage) {
  return el("span", { class: "stage stage-" + (stage || "none") }, stage || "not captured");
}

function renderCapture(v) {
  const box = $("capture");
  box.replaceChildren();
  const c = v.capture;
  if (!c) { box.append(el("span", { class: "muted" }, "no checkpoint yet: capture has not started or not committed its first transaction")); return; }
  let stage = c.stage;
  if (c.status && (c.status.Stalled === true || c.status.State === "stalled")) stage = "stalled";
  const item = (label, value) => el("div", {}, el("span", {}, label), value instanceof Node ? value : el("b", {}, value));
  box.append(el("div", { class: "kv" },
    item("Stage", stageBadge(stage)),
    item("Delay", duration(c.delay_s)),
    item("Position", c.position),
    item("Checkpoint age", duration(c.age_s)),
    item("Tables", c.tables + (c.snapshotting ? " (" + c.snapshotting + " snapshotting)" : "") + (c.parked ? ", " + c.parked + " parked" : "")),
  ));
  if (c.gtid) box.append(el("div", { class: "muted" }, "GTID " + c.gtid));
}

function progress(t) {
  if (t.stage !== "snapshot") return t.stage === "streaming" ? el("span", { class: "muted" }, "done") : "";
  const known = t.estimated_rows > 0;
  const frac = known ? Math.min(t.snapshot_rows / t.estimated_rows, 1) : 0;
  const bar = el("span", { class: "bar" + (known ? "" : " unknown") }, el("span", {}));
  if (known) bar.firstChild.style.width = (frac * 100).toFixed(1) + "%";
  let text = count(t.snapshot_rows) + " rows";
  if (known) text += " of ~" + count(t.estimated_rows) + " (" + Math.round(frac * 100) + "%)";
  if (t.eta_s !== null && t.eta_s !== undefined) text += ", ETA " + duration(t.eta_s);
  return el("span", { class: "progress" }, bar, text);
}

function renderTables(v) {
  const body = document.querySelector("#tables tbody");
  body.replaceChildren();
  if (v.tables.length === 0) body.append(el("tr", {}, el("td", { colspan: 7, class: "muted" }, "no tables yet")));
  for (const t of v.tables) {
    const stage = el("td", {}, stageBadge(t.stage));
    if (t.reason) stage.append(el("div", { class: "reason" }, t.reason));
    let action = el("td", { class: "change-col" });
    if (v.changes && t.stage) {
      const b = el("button", { type: "button" }, "Remove");
      b.addEventListener("click", () => {
        if (confirm("Stop syncing " + t.name + "? Its target table stays as it is.")) post("/api/tables/remove", { tables: [t.name] });
      });
      action.append(b);
    }
    body.append(el("tr", { "data-table": t.name, "data-stage": t.stage || "" },
      el("td", {}, t.name), stage, el("td", {}, progress(t)),
      el("td", {}, t.topic || el("span", { class: "muted" }, "not created yet")),
      el("td", { class: "num" }, count(t.offsets)), el("td", { class: "num" }, rate(t.rate)), action));
  }
  $("add-form").hidden = !v.changes;
}

function renderGroups(v) {
  const body = document.querySelector("#groups tbody");
  body.replaceChildren();
  if (v.groups.length === 0) body.append(el("tr", {}, el("td", { colspan: 7, class: "muted" }, "no apply consumer group has committed offsets yet")));
  for (const g of v.groups) {
    const name = el("td", {}, g.name);
    if (g.error) name.append(el("div", { class: "reason" }, g.error));
    body.append(el("tr", { "data-group": g.name },
      name, el("td", {}, g.state || "-"), el("td", { class: "num" }, g.members),
      el("td", { class: "num" }, (g.exact ? "" : "~") + count(g.lag)), el("td", { class: "num" }, rate(g.rate)),
      el("td", { class: "num" }, g.retries === null ? "-" : count(g.retries)),
      el("td", { class: "num" + (g.dead_letters ? " reason" : "") }, count(g.dead_letters))));
  }
  const dl = $("dead-letters");
  dl.replaceChildren();
  for (const d of v.dead_letters) {
    dl.append(el("div", { class: d.records ? "reason" : "muted" },
      count(d.records) + " dead letters of group " + d.group + " in topic " + d.topic + " (read them with kcat, replay after the fix)"));
  }
}

function renderObjects(v) {
  const box = $("objects");
  box.replaceChildren();
  const o = v.objects;
  if (!o) {
    box.append(el("span", { class: "muted" }, "this task keeps no object list in Kafka (capture selects tables with --tables); a task started from a spec (docs/task.md) shows its list here"));
    return;
  }
  box.append(el("div", { class: "muted" }, "revision " + o.revision + (o.change ? " (" + o.change + ")" : "") + ", written " + new Date(o.ts_ms).toISOString().replace("T", " ").slice(0, 19) + " UTC"));
  const ul = el("ul", { class: "objects" });
  for (const obj of o.objects) {
    let s = obj.database + ": " + (obj.tables && obj.tables.length ? obj.tables.join(", ") : "*");
    if (obj.exclude && obj.exclude.length) s += " excluding " + obj.exclude.join(", ");
    if (obj.columns && obj.columns.length) s += "; columns " + obj.columns.join(", ");
    if (obj["drop-columns"] && obj["drop-columns"].length) s += "; without " + obj["drop-columns"].join(", ");
    if (obj.filter) s += "; where " + obj.filter;
    if (obj.operations && obj.operations.length) s += "; only " + obj.operations.join(", ");
    ul.append(el("li", {}, s));
  }
  box.append(ul);
}

// chart draws one series as an SVG line over the last hour.
function chart(id, t, values, fmt) {
  const svg = $(id);
  while (svg.firstChild) svg.removeChild(svg.firstChild);
  const W = 400, H = 140, L = 46, R = 6, T = 8, B = 18;
  const now = t.length ? t[t.length - 1] : Date.now();
  const from = now - 3600 * 1000;
  const pts = [];
  for (let i = 0; i < t.length; i++) if (values[i] !== null && values[i] !== undefined && t[i] >= from) pts.push([t[i], values[i]]);
  svg.setAttribute("data-points", String(pts.length));
  let top = 0;
  for (const p of pts) top = Math.max(top, p[1]);
  top = top > 0 ? top * 1.15 : 1;
  // Use the span of the data while it is short, so that points spread out.
  const start = pts.length ? Math.max(from, Math.min(pts[0][0], now - 60 * 1000)) : from;
  const x = (ms) => L + ((ms - start) / Math.max(now - start, 1)) * (W - L - R);
  const y = (v) => T + (1 - v / top) * (H - T - B);
  const add = (tag, attrs, text) => {
    const e = document.createElementNS(SVG, tag);
    for (const [k, val] of Object.entries(attrs)) e.setAttribute(k, val);
    if (text !== undefined) e.textContent = text;
    svg.appendChild(e);
    return e;
  };
  for (const f of [0, 0.5, 1]) {
    const v = top / 1.15 * f;
    add("line", { class: "grid", x1: L, x2: W - R, y1: y(v), y2: y(v) });
    add("text", { class: "axis", x: L - 4, y: y(v) + 3, "text-anchor": "end" }, fmt(v));
  }
  const mins = Math.round((now - start) / 60000);
  add("text", { class: "axis", x: L, y: H - 4 }, mins > 0 ? "-" + mins + " min" : "now");
  add("text", { class: "axis", x: W - R, y: H - 4, "text-anchor": "end" }, "now");
  if (pts.length === 0) {
    add("text", { class: "axis", x: (L + W) / 2, y: H / 2, "text-anchor": "middle" }, "no data yet");
    return null;
  }
  const line = pts.map((p) => x(p[0]).toFixed(1) + "," + y(p[1]).toFixed(1)).join(" ");
  add("polygon", { class: "area", points: x(pts[0][0]).toFixed(1) + "," + y(0) + " " + line + " " + x(pts[pts.length - 1][0]).toFixed(1) + "," + y(0) });
  add("polyline", { points: line });
  return pts[pts.length - 1][1];
}

function renderCharts(v) {
  const s = v.series;
  const d = chart("chart-delay", s.t, s.delay, duration);
  $("now-delay").textContent = d === null ? "" : duration(d);
  const r = chart("chart-rows", s.t, s.rows, (x) => rate(x));
  $("now-rows").textContent = r === null ? "" : rate(r) + " rows/s";
  const b = chart("chart-bytes", s.t, s.bytes, bytes);
  $("now-bytes").textContent = b === null ? (v.metrics ? "" : "with syncline dev or demo") : bytes(b) + "/s";
}

function render(v) {
  $("updated").textContent = v.at_ms ? "updated " + new Date(v.at_ms).toLocaleTimeString() : "waiting for the first sample";
  const err = $("error");
  err.hidden = !v.error;
  err.textContent = v.error || "";
  renderCapture(v);
  renderTables(v);
  renderGroups(v);
  renderObjects(v);
  renderCharts(v);
  $("interval").textContent = duration(v.interval_ms / 1000);
  $("mode").textContent = v.changes ? "Changes are allowed (--allow-changes)." : "Read-only.";
  document.body.setAttribute("data-ready", "1");
}

async function refresh() {
  try {
    const resp = await fetch("/api/task", { cache: "no-store" });
    render(await resp.json());
  } catch (e) {
    $("error").hidden = false;
    $("error").textContent = "the console does not answer: " + e;
  }
}

async function post(path, body) {
  const msg = $("message");
  try {
    const resp = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Syncline-Token": token },
      body: JSON.stringify(body),
    });
    const reply = await resp.json();
    msg.hidden = false;
    msg.className = "banner" + (reply.error ? "" : " ok");
    msg.textContent = reply.error || reply.message;
  } catch (e) {
    msg.hidden = false;
    msg.className = "banner";
    msg.textContent = String(e);
  }
  refresh();
}

$("add-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const tables = $("add-tables").value.split(/[\s,]+/).filter((s) => s);
  if (tables.length) post("/api/tables/add", { tables });
});
$("stop-task").addEventListener("click", () => {
  if (confirm("Stop the task? Capture commits and exits, each apply drains and exits; start them again to resume.")) post("/api/stop", {});
});

refresh();
setInterval(refresh, 1000);
