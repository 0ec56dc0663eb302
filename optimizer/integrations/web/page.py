"""The status page: one self-contained HTML document (inline CSS, JS and SVG; no network).

It reads ``api/status`` and ``api/chart`` (relative, so it works behind a path prefix) every
15 s, passing on ``?token=`` as a bearer token when the page was opened with one.
"""

PAGE = r"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>xStorage optimiser</title>
<style>
:root { --bg:#f4f6f8; --card:#fff; --ink:#1d2630; --mute:#66727f; --ok:#1a7f37; --bad:#c62828;
  --charge:#2e7d32; --discharge:#ef6c00; --idle:#90a4ae; --imp:#1565c0; --exp:#8e24aa; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.4 system-ui, sans-serif; background:var(--bg); color:var(--ink); }
header { display:flex; gap:1em; align-items:center; padding:.8em 1.2em; background:#22303c;
  color:#fff; flex-wrap:wrap; }
header h1 { font-size:1.2em; margin:0; font-weight:600; }
#badge { padding:.2em .7em; border-radius:1em; font-weight:600; background:var(--mute); }
#badge.ok { background:var(--ok); } #badge.bad { background:var(--bad); }
#clock { margin-left:auto; opacity:.8; }
main { padding:1em 1.2em; display:grid; gap:1em; }
.cards { display:grid; grid-template-columns:repeat(auto-fit, minmax(300px, 1fr)); gap:1em; }
.card { background:var(--card); border-radius:10px; padding:.8em 1em;
  box-shadow:0 1px 3px rgba(0,0,0,.08); }
.card h2 { font-size:.8em; text-transform:uppercase; letter-spacing:.05em; color:var(--mute);
  margin:0 0 .4em; font-weight:600; }
.big { font-size:2em; font-weight:650; }
.row { display:flex; justify-content:space-between; gap:.5em; }
.mute { color:var(--mute); } .good { color:var(--ok); } .warn { color:var(--bad); }
#chart svg, #loadchart svg, #pvchart svg { width:100%; height:auto; display:block; }
#legend, .legend { display:flex; flex-wrap:wrap; gap:1.2em; font-size:.85em; color:var(--mute); }
#legend i, .legend i { display:inline-block; width:14px; height:4px; margin-right:.35em;
  vertical-align:middle; }
#events { margin:0; padding-left:1.2em; max-height:12em; overflow:auto; font-size:.9em; }
#events .warning, #events .error { color:var(--bad); }
</style>
</head>
<body>
<header><h1>xStorage optimiser</h1><span id="badge">loading</span>
<span id="clock"></span></header>
<main>
<section class="cards">
 <div class="card"><h2>State of charge</h2><div class="big" id="soc">–</div>
  <div class="mute">planned now <span id="planned">–</span></div></div>
 <div class="card"><h2>Battery</h2>
  <div class="row"><span>doing</span><b id="action">–</b></div>
  <div class="row"><span>command</span><span id="command">–</span></div>
  <div class="row"><span>device mode</span><span id="mode">–</span></div>
  <div class="row"><span>next</span><span id="next">–</span></div></div>
 <div class="card"><h2>Device &amp; prices</h2>
  <div class="row"><span>device</span><b id="reachable">–</b></div>
  <div class="row"><span>last reading</span><span id="reading">–</span></div>
  <div class="row"><span>price now</span><span id="pricenow">–</span></div>
  <div class="row"><span>prices known until</span><span id="until">–</span></div></div>
 <div class="card"><h2>Today</h2>
  <div class="row"><span>cost</span><b id="cost">–</b></div>
  <div class="row"><span>without battery</span><span id="idle">–</span></div>
  <div class="row"><span>saved</span><b class="good" id="saved">–</b></div></div>
 <div class="card"><h2>Yesterday &amp; to date</h2>
  <div class="row"><span>yesterday cost</span><span id="ycost">–</span></div>
  <div class="row"><span>without battery</span><span id="yidle">–</span></div>
  <div class="row"><span>saved yesterday</span><b class="good" id="ysaved">–</b></div>
  <div class="row"><span>saved to date</span><b class="good" id="todate">–</b></div></div>
 <div class="card"><h2>Optimiser</h2><div class="big" id="enabled">–</div>
  <div class="mute" id="plan">–</div></div>
</section>
<section class="card" id="chart"><h2>Prices, SOC and commands: past 24 h and the plan</h2>
 <svg id="svg" viewBox="0 0 1000 380" role="img" aria-label="chart"></svg>
 <div id="legend">
  <span><i style="background:var(--imp)"></i>import price</span>
  <span><i style="background:var(--exp)"></i>export price</span>
  <span><i style="background:#111"></i>measured SOC</span>
  <span><i style="background:#fbc02d"></i>planned SOC</span>
  <span><i style="background:var(--charge)"></i>charge</span>
  <span><i style="background:var(--discharge)"></i>discharge</span>
  <span><i style="background:var(--idle)"></i>idle / device mode</span></div></section>
<section class="card" id="loadchart">
 <h2>House load: forecast as planned and measured (kWh per slot)</h2>
 <svg id="loadsvg" viewBox="0 0 1000 160" role="img" aria-label="load chart"></svg>
 <div id="loadlegend" class="legend">
  <span><i style="background:#fbc02d"></i>forecast the plan used</span>
  <span><i style="background:#111"></i>measured</span></div></section>
<section class="card" id="pvchart">
 <h2>PV: forecast as planned and measured (kWh per slot)</h2>
 <svg id="pvsvg" viewBox="0 0 1000 160" role="img" aria-label="PV chart"></svg>
 <div id="pvlegend" class="legend">
  <span><i style="background:#fb8c00"></i>forecast the plan used</span>
  <span><i style="background:#111"></i>measured by the device</span></div></section>
<section class="card"><h2>Recent warnings, fallbacks and re-plans</h2>
 <ul id="events"><li class="mute">none</li></ul></section>
</main>
<script>
"use strict";
const token = new URLSearchParams(location.search).get("token");
const headers = token ? {Authorization: "Bearer " + token} : {};
let zone = "UTC", cur = "";
const $ = (id) => document.getElementById(id);
const set = (id, text) => { $(id).textContent = text; };
const fmtTime = (iso) => iso ? new Intl.DateTimeFormat("en-GB", {timeZone: zone,
  weekday: "short", hour: "2-digit", minute: "2-digit"}).format(new Date(iso)) : "–";
const money = (v) => v === null || v === undefined ? "–" : v.toFixed(2) + " " + cur;
const pct = (v) => v === null || v === undefined ? "–" : v.toFixed(1) + " %";
const price = (v) => v === null || v === undefined ? "–" : v.toFixed(3);
const colour = {charge: "var(--charge)", discharge: "var(--discharge)"};

async function get(path) {
  const r = await fetch(path, {headers, cache: "no-store"});
  if (!r.ok) { throw new Error(path + ": HTTP " + r.status); }
  return r.json();
}

function showStatus(s) {
  zone = s.timezone; cur = s.currency;
  const badge = $("badge");
  badge.textContent = s.in_control ? "in control" : s.health;
  badge.className = s.in_control ? "ok" : "bad";
  set("clock", fmtTime(s.time) + " (" + zone + ")");
  set("soc", pct(s.soc_pct)); set("planned", pct(s.planned_soc_pct));
  set("action", s.action_now);
  const cmd = s.command ? s.command.command : "none yet";
  set("command", cmd + (s.command ? (s.command_confirmed ? " ✓ confirmed" : " (not confirmed)")
                                  : ""));
  set("mode", s.mode || "–");
  set("next", s.next_action ? s.next_action + " at " + fmtTime(s.next_action_start_utc) : "–");
  const r = $("reachable");
  r.textContent = s.device_reachable ? "reachable" : "unreachable";
  r.className = s.device_reachable ? "good" : "warn";
  set("reading", fmtTime(s.last_reading_utc));
  set("pricenow", price(s.import_price_now) + " / " + price(s.export_price_now) + " " + cur
      + "/kWh");
  set("until", fmtTime(s.prices_until_utc));
  set("cost", money(s.cost_today)); set("idle", money(s.no_battery_cost_today));
  set("saved", money(s.savings_today));
  const y = s.yesterday || {};
  set("ycost", money(y.cost)); set("yidle", money(y.no_battery_cost));
  set("ysaved", money(y.savings)); set("todate", money(s.savings_to_date));
  set("enabled", s.optimiser_enabled ? "enabled" : "switched off");
  set("plan", "plan " + (s.plan_id ?? "–") + ", " + s.plan_status + ", made "
      + fmtTime(s.plan_made_utc));
  const list = $("events");
  list.replaceChildren();
  for (const e of s.events.slice(0, 15)) {
    const li = document.createElement("li");
    li.className = e.level;
    li.textContent = fmtTime(e.time) + " — " + e.message;
    list.appendChild(li);
  }
  if (!s.events.length) { list.innerHTML = '<li class="mute">none</li>'; }
}

const NS = "http://www.w3.org/2000/svg";
function el(name, attrs, parent) {
  const node = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) { node.setAttribute(k, v); }
  parent.appendChild(node);
  return node;
}

function drawChart(c) {
  const svg = $("svg");
  svg.replaceChildren();
  const L = 50, R = 950, T = 15, B = 300, t0 = Date.parse(c.from), t1 = Date.parse(c.to);
  const x = (iso) => L + (R - L) * (Date.parse(iso) - t0) / Math.max(1, t1 - t0);
  const ySoc = (v) => B - (B - T) * v / 100;
  const values = c.prices.flatMap((p) => [p.import, p.export]).filter((v) => v !== null);
  const lo = Math.min(0, ...values), hi = Math.max(0.01, ...values);
  const yP = (v) => B - (B - T) * (v - lo) / (hi - lo);
  for (let v = 0; v <= 100; v += 25) {
    el("line", {x1: L, x2: R, y1: ySoc(v), y2: ySoc(v), stroke: "#e3e7eb"}, svg);
    el("text", {x: L - 6, y: ySoc(v) + 4, "text-anchor": "end", "font-size": 11,
                fill: "#66727f"}, svg).textContent = v + "%";
  }
  for (const v of [lo, (lo + hi) / 2, hi]) {
    el("text", {x: R + 6, y: yP(v) + 4, "font-size": 11, fill: "#1565c0"}, svg)
      .textContent = v.toFixed(2);
  }
  const hours = 6 * 3600e3;
  for (let t = Math.ceil(t0 / hours) * hours; t <= t1; t += hours) {
    const xi = x(new Date(t).toISOString());
    el("line", {x1: xi, x2: xi, y1: T, y2: B, stroke: "#eef1f4"}, svg);
    el("text", {x: xi, y: B + 16, "text-anchor": "middle", "font-size": 11, fill: "#66727f"},
       svg).textContent = fmtTime(new Date(t).toISOString());
  }
  const step = (key, stroke) => {
    let d = "";
    for (const p of c.prices) {
      if (p[key] === null) { continue; }
      d += (d ? "L" : "M") + x(p.start) + "," + yP(p[key]) + "L" + x(p.end) + "," + yP(p[key]);
    }
    if (d) { el("path", {d, fill: "none", stroke, "stroke-width": 1.5}, svg); }
  };
  step("import", "#1565c0"); step("export", "#8e24aa");
  const line = (points, attrs) => {
    if (points.length < 2) { return; }
    const d = points.map((p, i) => (i ? "L" : "M") + p[0] + "," + p[1]).join("");
    el("path", Object.assign({d, fill: "none"}, attrs), svg);
  };
  line(c.planned_past_soc.map((p) => [x(p.time), ySoc(p.soc_pct)]),
       {stroke: "#fbc02d", "stroke-width": 2, "stroke-dasharray": "4 3"});
  line(c.plan.flatMap((s) => [[x(s.start), ySoc(s.soc_start_pct)],
                               [x(s.end), ySoc(s.soc_end_pct)]]),
       {stroke: "#fbc02d", "stroke-width": 2.5});
  line(c.measured_soc.map((p) => [x(p.time), ySoc(p.soc_pct)]),
       {stroke: "#111", "stroke-width": 2});
  for (const s of c.plan) {
    el("rect", {x: x(s.start), y: B + 26, width: Math.max(1, x(s.end) - x(s.start) - 1),
                height: 14, fill: colour[s.action] || "var(--idle)"}, svg);
  }
  for (const k of c.commands) {
    el("rect", {x: x(k.time) - 1, y: B + 44, width: 3, height: 14,
                fill: k.ok ? (colour[k.action] || "var(--idle)") : "var(--bad)"}, svg);
  }
  el("text", {x: L - 6, y: B + 37, "text-anchor": "end", "font-size": 10, fill: "#66727f"}, svg)
    .textContent = "plan";
  el("text", {x: L - 6, y: B + 55, "text-anchor": "end", "font-size": 10, fill: "#66727f"}, svg)
    .textContent = "sent";
  const now = x(c.now);
  el("line", {x1: now, x2: now, y1: T, y2: B + 58, stroke: "#c62828", "stroke-dasharray": "3 3"},
     svg);
  el("text", {x: now + 4, y: T + 10, "font-size": 11, fill: "#c62828"}, svg).textContent = "now";
  drawSteps("loadsvg", c.load, "#fbc02d", c, x);
  drawSteps("pvsvg", c.pv || [], "#fb8c00", c, x);
}
function drawSteps(id, rows, colour, c, x) {
  const svg = $(id);
  svg.replaceChildren();
  const T = 10, B = 140, L = 50, R = 950;
  const values = rows.flatMap((p) => [p.forecast_kwh, p.measured_kwh]).filter((v) => v !== null);
  const hi = Math.max(0.1, ...values);
  const y = (v) => B - (B - T) * v / hi;
  for (const v of [0, hi / 2, hi]) {
    el("line", {x1: L, x2: R, y1: y(v), y2: y(v), stroke: "#e3e7eb"}, svg);
    el("text", {x: L - 6, y: y(v) + 4, "text-anchor": "end", "font-size": 11,
                fill: "#66727f"}, svg).textContent = v.toFixed(2);
  }
  const steps = (key, stroke, dash) => {
    let d = "";
    for (const p of rows) {
      if (p[key] === null) { continue; }
      d += (d ? "L" : "M") + x(p.start) + "," + y(p[key]) + "L" + x(p.end) + "," + y(p[key]);
    }
    if (d) { el("path", {d, fill: "none", stroke, "stroke-width": 1.8, "stroke-dasharray": dash},
                svg); }
  };
  steps("measured_kwh", "#111", "none");
  steps("forecast_kwh", colour, "5 3");
  const now = x(c.now);
  el("line", {x1: now, x2: now, y1: T, y2: B, stroke: "#c62828", "stroke-dasharray": "3 3"}, svg);
}

async function refresh() {
  try {
    showStatus(await get("api/status"));
    drawChart(await get("api/chart"));
  } catch (err) {
    const badge = $("badge");
    badge.textContent = "no answer from the service";
    badge.className = "bad";
  }
}
refresh();
setInterval(refresh, 15000);
</script>
</body>
</html>
"""
