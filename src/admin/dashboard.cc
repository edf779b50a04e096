#include "admin/dashboard.h"

namespace tollgate::admin {

namespace {

constexpr std::string_view kPage = R"HTML(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>tollgate</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  :root { --ok: #1a7f37; --warn: #9a6700; --bad: #cf222e; --off: #6e7781; --line: #d0d7de; --bg: #f6f8fa; }
  body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #1f2328; background: #fff; }
  header { display: flex; align-items: center; gap: 24px; padding: 12px 20px; border-bottom: 1px solid var(--line); background: var(--bg); }
  header h1 { font-size: 18px; margin: 0; }
  .stat { font-variant-numeric: tabular-nums; }
  .stat b { font-size: 16px; }
  main { padding: 8px 20px 24px; }
  h2 { font-size: 15px; margin: 20px 0 6px; }
  h2 small { font-weight: normal; color: var(--off); margin-left: 8px; }
  table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
  th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
  th { font-weight: 600; font-size: 12px; color: #57606a; text-transform: uppercase; letter-spacing: .03em; }
  td.num { text-align: right; }
  .badge { display: inline-block; padding: 1px 8px; border-radius: 10px; color: #fff; font-size: 12px; font-weight: 600; }
  .closed { background: var(--ok); } .half_open { background: var(--warn); } .open { background: var(--bad); } .disabled { background: var(--off); }
  .throttled { background: var(--warn); }
  .reason { color: #57606a; font-size: 12px; }
  .errors span { display: inline-block; margin-right: 8px; }
  .bar { height: 6px; background: #eaeef2; border-radius: 3px; min-width: 60px; }
  .bar > div { height: 6px; background: #0969da; border-radius: 3px; }
  button { font: inherit; padding: 2px 10px; border: 1px solid var(--line); border-radius: 6px; background: #fff; cursor: pointer; }
  button:hover { background: var(--bg); }
  #status { margin-left: auto; color: var(--off); font-size: 12px; }
  #status.error { color: var(--bad); }
  form#login { padding: 40px 20px; }
  .charts { display: flex; flex-wrap: wrap; gap: 12px; margin: 8px 0 4px; }
  .chart { border: 1px solid var(--line); border-radius: 6px; padding: 4px 6px; }
  .chart h3 { font-size: 11px; font-weight: 600; color: #57606a; text-transform: uppercase; margin: 0 0 2px; letter-spacing: .03em; }
  .chart svg { display: block; }
  .chart .axis { stroke: var(--line); }
  .chart text { font-size: 9px; fill: #57606a; }
  .legend { font-size: 12px; color: #57606a; }
  .legend span { display: inline-block; margin-right: 10px; }
  .legend i { display: inline-block; width: 10px; height: 3px; vertical-align: middle; margin-right: 4px; }
  #timeline { list-style: none; padding: 0; margin: 4px 0; font-size: 13px; max-height: 260px; overflow-y: auto; }
  #timeline li { padding: 3px 0; border-bottom: 1px solid var(--line); }
  #timeline time { color: var(--off); font-variant-numeric: tabular-nums; margin-right: 8px; }
</style>
</head>
<body>
<header>
  <h1>tollgate</h1>
  <span class="stat">queued <b id="queued">–</b></span>
  <span class="stat">running <b id="running">–</b></span>
  <span class="stat">dead letters <b id="dead">–</b></span>
  <span class="stat" id="queues" hidden>queue broker <b id="broker">–</b></span>
  <button id="replay" title="Put every dead letter back in the queue">Replay dead letters</button>
  <span id="status">connecting…</span>
</header>
<main>
<div id="main"></div>
<h2>Timeline <small>breaker transitions, throttling, manual disables — last 15 minutes, this instance</small></h2>
<ol id="timeline"><li class="reason">nothing yet</li></ol>
</main>
<form id="login" hidden>
  <p>Admin token: <input id="token" type="password" size="40" autocomplete="off"> <button type="submit">Open</button></p>
</form>
<script>
"use strict";
let token = new URLSearchParams(location.hash.slice(1)).get("token") || sessionStorage.getItem("tollgate-token") || "";
if (location.hash) history.replaceState(null, "", location.pathname);
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
const pct = (x) => (100 * x).toFixed(1) + "%";
const ms = (x) => x >= 100 ? x.toFixed(0) : x.toFixed(1);

async function api(method, path, body) {
  const r = await fetch(path, {method, body, headers: {Authorization: "Bearer " + token}, cache: "no-store"});
  if (r.status === 401) { showLogin(); throw new Error("the admin token was refused"); }
  if (!r.ok) throw new Error(method + " " + path + ": HTTP " + r.status);
  return r.json();
}

function showLogin() {
  $("login").hidden = false;
  document.querySelector("main").hidden = true;
}

$("login").addEventListener("submit", (e) => {
  e.preventDefault();
  token = $("token").value;
  sessionStorage.setItem("tollgate-token", token);
  $("login").hidden = true;
  document.querySelector("main").hidden = false;
  refresh();
});

function stateBadge(r) {
  if (r.disabled) return '<span class="badge disabled" data-state="disabled">disabled</span>';
  const s = r.breaker.state;
  let html = '<span class="badge ' + s + '" data-state="' + s + '">' + s.replace("_", "-") + "</span>";
  if (r.throttled_for_ms > 0) html += ' <span class="badge throttled">throttled</span>';
  if (s === "closed" && r.breaker.ramp < 1) html += ' <span class="reason">ramping ' + pct(r.breaker.ramp) + "</span>";
  if (s !== "closed" && r.breaker.reason) html += '<div class="reason">' + esc(r.breaker.reason) + "</div>";
  return html;
}

function errors(h) {
  const e = Object.entries(h.errors || {});
  if (!e.length) return "–";
  return '<span class="errors">' + e.map(([k, v]) => "<span>" + esc(k) + " " + v + "</span>").join("") + "</span>";
}

function quota(r) {
  const l = r.limits || {};
  const parts = [];
  if (l.daily_quota) parts.push(l.daily_used + "/" + l.daily_quota + " today");
  if (l.monthly_quota) parts.push(l.monthly_used + "/" + l.monthly_quota + " month");
  return parts.join("<br>") || "–";
}

const palette = ["#0969da", "#cf222e", "#1a7f37", "#9a6700", "#8250df", "#bf3989", "#1b7c83", "#6e7781"];
let hist = null;  // the last 15 minutes (GET /admin/overview?history=1)

// One chart: a polyline per series over the last 15 minutes, y from 0 to the
// largest value (or `max`). series: [{key, attr, color, points: [[t, v], ...]}].
function chart(metric, capability, title, series, fmt, max) {
  const w = 220, h = 70, now = Date.now() / 1000, span = 15 * 60;
  let top = max ?? 0;
  for (const s of series) for (const [, v] of s.points) top = Math.max(top, v);
  if (!(top > 0)) top = 1;
  const x = (t) => ((t - (now - span)) / span * w).toFixed(1);
  const y = (v) => (h - v / top * (h - 4)).toFixed(1);
  let svg = '<svg width="' + w + '" height="' + (h + 10) + '" data-chart="' + metric + '" data-capability="' + esc(capability) + '">' +
            '<line class="axis" x1="0" y1="' + h + '" x2="' + w + '" y2="' + h + '"/>' +
            '<text x="0" y="' + (h + 9) + '">-15 min</text><text x="' + (w - 18) + '" y="' + (h + 9) + '">now</text>' +
            '<text x="2" y="9">' + esc(fmt(top)) + "</text>";
  for (const s of series) {
    if (!s.points.length) continue;
    const last = s.points[s.points.length - 1][1];
    const values = s.points.map((p) => p[1]);
    svg += '<polyline fill="none" stroke-width="1.5" stroke="' + s.color + '" ' + s.attr + '="' + esc(s.key) + '" data-last="' + last +
           '" data-min="' + Math.min(...values) + '" data-max="' + Math.max(...values) +
           '" points="' + s.points.map(([t, v]) => x(t) + "," + y(v)).join(" ") + '"><title>' + esc(s.key) + ": " + esc(fmt(last)) + "</title></polyline>";
  }
  return '<div class="chart"><h3>' + esc(title) + "</h3>" + svg + "</svg></div>";
}

function charts(capability) {
  if (!hist) return "";
  const mine = hist.series.filter((s) => s.capability === capability);
  if (!mine.length) return "";
  const byProvider = (f) => mine.map((s, i) => ({key: s.provider, attr: "data-provider", color: palette[i % palette.length],
                                                points: s.points.filter((p) => f(p) !== null).map((p) => [p.t, f(p)])}));
  const classes = {};
  for (const s of mine) for (const p of s.points) for (const [c, n] of Object.entries(p.errors || {})) {
    (classes[c] ??= new Map()).set(p.t, ((classes[c].get(p.t)) || 0) + n);
  }
  const errorSeries = Object.entries(classes).map(([c, m], i) => ({key: c, attr: "data-class", color: palette[(i + 1) % palette.length],
                                                                  points: [...m.entries()].sort((a, b) => a[0] - b[0])}));
  let html = '<div class="legend">' + mine.map((s, i) => '<span><i style="background:' + palette[i % palette.length] + '"></i>' + esc(s.provider) + "</span>").join("") + "</div>";
  html += '<div class="charts">' +
    chart("success", capability, "success rate", byProvider((p) => p.calls ? p.successes / p.calls : null), pct, 1) +
    chart("p95", capability, "p95 latency ms", byProvider((p) => p.calls ? p.p95_ms : null), ms) +
    chart("p50", capability, "p50 latency ms", byProvider((p) => p.calls ? p.p50_ms : null), ms) +
    chart("share", capability, "traffic share", byProvider((p) => p.share), pct, 1) +
    chart("errors", capability, "errors by class (window)", errorSeries, (v) => String(Math.round(v))) +
    chart("cost", capability, "cost per successful call", byProvider((p) => p.cost_per_success ?? null), (v) => v.toFixed(4)) +
    "</div>";
  if (errorSeries.length) {
    html += '<div class="legend">errors: ' + errorSeries.map((s) => '<span><i style="background:' + s.color + '"></i>' + esc(s.key) + "</span>").join("") + "</div>";
  }
  return html;
}

function renderTimeline() {
  if (!hist) return;
  const items = hist.timeline.slice().reverse();
  $("timeline").innerHTML = items.length ? items.map((e) =>
    '<li data-kind="' + esc(e.kind) + '" data-provider="' + esc(e.provider) + '" data-state="' + esc(e.state || "") + '">' +
    "<time>" + esc(new Date(e.t).toLocaleTimeString()) + "</time><b>" + esc(e.provider) + "</b> " +
    (e.capability ? esc(e.capability) + " " : "") + esc(e.kind === "breaker" ? "breaker " + (e.state || "").replace("_", "-") :
                                                        e.kind === "throttled" ? "throttled: " + e.state : e.kind) +
    (e.reason ? ' <span class="reason">— ' + esc(e.reason) + "</span>" : "") + "</li>").join("")
    : '<li class="reason">nothing yet</li>';
}

function render(o) {
  const jobs = o.jobs || {};
  $("queued").textContent = jobs.queued ?? "–";
  $("running").textContent = jobs.running ?? "–";
  $("dead").textContent = jobs.dead ?? "–";
  if (o.queues) {
    $("queues").hidden = false;
    $("broker").textContent = (o.queues.connected ? "connected" : "disconnected") + " · " + o.queues.in_flight + " in flight";
    $("broker").style.color = o.queues.connected ? "" : "var(--bad)";
  }
  let html = "";
  for (const c of o.capabilities) {
    html += "<h2>" + esc(c.name) + "<small>" + esc(c.strategy) + " · " + c.successes + " successes in window · cost per successful call " +
            c.cost_per_success.toFixed(4) + "</small></h2>";
    html += "<table><thead><tr><th>provider</th><th>state</th><th>success</th><th>calls</th><th>errors by class</th>" +
            "<th>p50 / p95 / p99 ms</th><th>delivered</th><th>share</th><th>price</th><th>quota</th><th></th></tr></thead><tbody>";
    for (const r of c.routes) {
      const h = r.health, l = h.latency_ms;
      html += '<tr data-provider="' + esc(r.provider) + '">' +
              "<td><b>" + esc(r.provider) + "</b></td>" +
              '<td class="state">' + stateBadge(r) + "</td>" +
              '<td class="num">' + (h.calls ? pct(h.success_rate) : "–") + "</td>" +
              '<td class="num">' + h.calls + (h.in_flight ? " (+" + h.in_flight + " in flight)" : "") + "</td>" +
              "<td>" + errors(h) + "</td>" +
              '<td class="num">' + ms(l.p50) + " / " + ms(l.p95) + " / " + ms(l.p99) + "</td>" +
              '<td class="num delivery">' + (r.delivery_rate === undefined ? "" : r.delivery_rate === null ? "…" : pct(r.delivery_rate)) + "</td>" +
              '<td><div class="bar"><div style="width:' + (100 * r.traffic_share).toFixed(0) + '%"></div></div>' + pct(r.traffic_share) + "</td>" +
              '<td class="num">' + r.price + "</td>" +
              "<td>" + quota(r) + "</td>" +
              '<td><button data-act="' + (r.disabled ? "enable" : "disable") + '" data-p="' + esc(r.provider) + '">' +
              (r.disabled ? "enable" : "disable") + "</button></td></tr>";
    }
    html += "</tbody></table>";
    html += charts(c.name);
  }
  $("main").innerHTML = html;
  renderTimeline();
}

let lastHistory = 0;
async function refresh() {
  try {
    // The history (15 minutes of points) every 2 s; the rest every second.
    const withHistory = Date.now() - lastHistory >= 2000;
    const o = await api("GET", "/admin/overview" + (withHistory ? "?history=1" : ""));
    if (o.history) { hist = o.history; lastHistory = Date.now(); }
    render(o);
    $("status").textContent = "updated " + new Date().toLocaleTimeString();
    $("status").className = "";
  } catch (e) {
    $("status").textContent = e.message;
    $("status").className = "error";
  }
}

$("main").addEventListener("click", async (e) => {
  const b = e.target.closest("button[data-act]");
  if (!b) return;
  const reason = window.prompt(b.dataset.act + " " + b.dataset.p + ": why? (shown in the timeline)", "");
  if (reason === null) return;
  await api("POST", "/admin/providers/" + encodeURIComponent(b.dataset.p) + "/" + b.dataset.act,
            JSON.stringify({reason: reason.slice(0, 200)})).catch(() => {});
  lastHistory = 0;
  refresh();
});
$("replay").addEventListener("click", async () => {
  const r = await api("POST", "/admin/jobs/replay-dead").catch(() => null);
  if (r) $("status").textContent = r.replayed + " dead letters replayed";
  refresh();
});

if (token) refresh(); else showLogin();
setInterval(() => { if (token && $("login").hidden) refresh(); }, 1000);
</script>
</body>
</html>
)HTML";

}  // namespace

std::string_view dashboard_html() { return kPage; }

}  // namespace tollgate::admin
