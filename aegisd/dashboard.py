"""`GET /dashboard`: one self-contained HTML page of live metrics and workspace status.

The page loads nothing from elsewhere: its Content-Security-Policy allows only its own inline
script and style (by hash) and fetches to its own origin. Every 2 s its script scrapes
`/metrics` (request rate, latency percentiles interpolated from the histogram buckets the way
Prometheus's `histogram_quantile` does, cache hit ratio, memory, store) and asks `/rpc` for
`daemon.status`, then `index.status` and `lint.report` of each workspace (a method a plugin does
not provide shows as n/a). Over TCP the page is opened as `/dashboard?token=...`; its script
sends that token as `Authorization: Bearer` on every fetch. Values are written with
`textContent` only, so workspace names and paths can never inject markup.
"""

from __future__ import annotations

import base64
import hashlib

from aiohttp import web

STYLE = """
:root { color-scheme: light; --fg: #1d2330; --muted: #6b7385; --line: #e3e6ee; --card: #fff;
  --bg: #f4f6fa; --ok: #1f8a4c; --warn: #b7791f; --bad: #c53030; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif;
  color: var(--fg); background: var(--bg); }
header { display: flex; gap: 16px; align-items: baseline; padding: 14px 24px;
  background: var(--card); border-bottom: 1px solid var(--line); }
header h1 { margin: 0; font-size: 18px; }
header .meta { color: var(--muted); }
header .right { margin-left: auto; color: var(--muted); }
main { padding: 18px 24px; }
#error { display: none; margin-bottom: 14px; padding: 8px 12px; border-radius: 6px;
  background: #fdecec; color: var(--bad); }
body[data-state="error"] #error { display: block; }
.cards { display: grid; grid-template-columns: repeat(4, minmax(0, 1fr)); gap: 12px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px;
  padding: 12px 14px; }
.card h2 { margin: 0 0 6px; font-size: 12px; font-weight: 600; color: var(--muted);
  text-transform: uppercase; letter-spacing: .04em; }
.big { font-size: 26px; font-weight: 600; font-variant-numeric: tabular-nums; }
.unit { font-size: 13px; color: var(--muted); font-weight: 400; }
.sub { color: var(--muted); font-size: 12px; font-variant-numeric: tabular-nums; }
.lat { display: flex; gap: 14px; }
.lat div { font-variant-numeric: tabular-nums; }
.lat b { display: block; font-size: 20px; }
h3 { margin: 22px 0 8px; font-size: 15px; }
table { width: 100%; border-collapse: collapse; background: var(--card);
  border: 1px solid var(--line); border-radius: 8px; overflow: hidden; }
th, td { text-align: left; padding: 8px 12px; border-bottom: 1px solid var(--line); }
th { font-size: 12px; color: var(--muted); font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
th.num { text-align: right; }
td .root { display: block; color: var(--muted); font-size: 12px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px;
  font-weight: 600; background: var(--line); }
.ok, .pass { color: var(--ok); } .warn, .pending { color: var(--warn); }
.fail, .error, .degraded { color: var(--bad); }
.empty { color: var(--muted); text-align: center; }
"""

SCRIPT = """
"use strict";
const REFRESH_MS = 2000;
const WINDOW_MS = 30000;
const token = new URLSearchParams(location.search).get("token");
const headers = { "X-Aegisd-Client": "dashboard" };
if (token) headers["Authorization"] = "Bearer " + token;
const scrapes = [];
let nextId = 1;
let updates = 0;

function $(id) { return document.getElementById(id); }
function set(id, text) { $(id).textContent = text; }
function fmt(value, digits) { return value === null || !isFinite(value) ? "\\u2014" : value.toFixed(digits); }
function duration(s) {
  if (s < 60) return Math.round(s) + " s";
  if (s < 3600) return fmt(s / 60, 1) + " min";
  return s < 86400 ? fmt(s / 3600, 1) + " h" : fmt(s / 86400, 1) + " d";
}
function ms(seconds) { return seconds === null ? "\\u2014" : fmt(seconds * 1000, seconds < 0.01 ? 2 : 1); }

async function fetchOk(path, init) {
  const response = await fetch(path, { cache: "no-store", ...init, headers: { ...headers, ...(init || {}).headers } });
  if (!response.ok) throw new Error(path + " answered HTTP " + response.status);
  return response;
}

function parseMetrics(text) {
  const samples = [];
  for (const line of text.split("\\n")) {
    if (!line || line[0] === "#") continue;
    const m = /^([A-Za-z_:][\\w:]*)(?:\\{(.*)\\})?\\s+(\\S+)/.exec(line);
    if (!m) continue;
    const labels = {};
    for (const l of (m[2] || "").matchAll(/(\\w+)="((?:[^"\\\\]|\\\\.)*)"/g)) labels[l[1]] = l[2];
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return samples;
}

function total(samples, name, keep) {
  let sum = 0;
  for (const s of samples) if (s.name === name && (!keep || keep(s.labels))) sum += s.value;
  return sum;
}

function scrape(samples) {
  const buckets = new Map();
  for (const s of samples) {
    if (s.name !== "aegisd_rpc_duration_seconds_bucket") continue;
    const le = s.labels.le === "+Inf" ? Infinity : Number(s.labels.le);
    buckets.set(le, (buckets.get(le) || 0) + s.value);
  }
  return {
    t: Date.now(),
    requests: total(samples, "aegisd_rpc_requests_total"),
    errors: total(samples, "aegisd_rpc_requests_total", (l) => l.outcome !== "ok"),
    buckets,
    hits: total(samples, "aegisd_cache_hits_total"),
    misses: total(samples, "aegisd_cache_misses_total"),
    inFlight: total(samples, "aegisd_rpc_in_flight"),
    wsClients: total(samples, "aegisd_websocket_clients"),
    rss: total(samples, "process_resident_memory_bytes"),
    retries: total(samples, "aegisd_store_retries_total"),
    storeFailures: total(samples, "aegisd_store_failures_total"),
    breakerOpen: total(samples, "aegisd_store_breaker_open"),
    limited: total(samples, "aegisd_rate_limited_total"),
  };
}

// Prometheus's histogram_quantile: linear interpolation inside the bucket holding the rank.
function quantile(q, buckets) {
  const sorted = [...buckets].sort((a, b) => a[0] - b[0]);
  const count = sorted.length ? sorted[sorted.length - 1][1] : 0;
  if (count <= 0) return null;
  const rank = q * count;
  let lower = 0;
  let below = 0;
  for (const [le, cumulative] of sorted) {
    if (cumulative >= rank) {
      if (le === Infinity) return lower;
      if (cumulative === below) return le;
      return lower + (le - lower) * (rank - below) / (cumulative - below);
    }
    lower = le;
    below = cumulative;
  }
  return lower;
}

function delta(now, base) {
  if (!base) return now.buckets;
  const out = new Map();
  for (const [le, value] of now.buckets) out.set(le, value - (base.buckets.get(le) || 0));
  return out;
}

function showMetrics(now, uptime) {
  while (scrapes.length && now.t - scrapes[0].t > WINDOW_MS) scrapes.shift();
  const base = scrapes.length ? scrapes[0] : null;
  scrapes.push(now);
  const seconds = base ? (now.t - base.t) / 1000 : uptime;
  const span = base ? "last " + Math.round(seconds) + " s" : "since start";
  const requests = now.requests - (base ? base.requests : 0);
  const buckets = delta(now, base);
  set("rate", fmt(seconds > 0 ? requests / seconds : null, 1));
  set("rate-window", span);
  set("p50", ms(quantile(0.5, buckets)));
  set("p90", ms(quantile(0.9, buckets)));
  set("p99", ms(quantile(0.99, buckets)));
  set("lat-window", span + ", all methods");
  set("requests", String(now.requests));
  set("errors", String(now.errors - (base ? base.errors : 0)));
  set("in-flight", String(now.inFlight));
  const lookups = now.hits + now.misses;
  set("cache-ratio", lookups ? fmt(100 * now.hits / lookups, 1) : "\\u2014");
  set("cache-hits", String(now.hits));
  set("cache-misses", String(now.misses));
  set("rss", fmt(now.rss / 1048576, 1));
  set("ws-clients", String(now.wsClients));
  set("store-retries", String(now.retries));
  set("store-failures", String(now.storeFailures));
  set("breaker", now.breakerOpen ? "open" : "closed");
  $("breaker").className = now.breakerOpen ? "degraded" : "ok";
  set("rate-limited", String(now.limited));
}

async function rpc(calls) {
  const batch = calls.map(([method, params]) => ({ jsonrpc: "2.0", method, params, id: nextId++ }));
  const response = await fetchOk("/rpc", {
    method: "POST", body: JSON.stringify(batch), headers: { "Content-Type": "application/json" },
  });
  const answers = new Map((await response.json()).map((a) => [a.id, a]));
  return batch.map((request) => answers.get(request.id));
}

function cell(row, key, text, cls) {
  const td = document.createElement("td");
  td.dataset.k = key;
  td.textContent = text;
  if (cls) td.className = cls;
  row.appendChild(td);
  return td;
}

function lintText(answer) {
  if (!answer || answer.error) return ["n/a", ""];
  const r = answer.result;
  const worst = ["critical", "high"].filter((s) => r.summary.by_severity[s]);
  const detail = worst.map((s) => r.summary.by_severity[s] + " " + s).join(", ");
  const text = r.status + " \\u00b7 " + r.summary.issues + " issues" + (detail ? " (" + detail + ")" : "");
  return [text + (r.running ? " \\u00b7 running" : ""), r.status];
}

function showWorkspaces(workspaces, answers) {
  const body = $("workspaces");
  body.replaceChildren();
  if (!workspaces.length) {
    const row = body.insertRow();
    const td = cell(row, "none", "No workspace is open.", "empty");
    td.colSpan = 7;
  }
  workspaces.forEach((ws, i) => {
    const index = answers[2 * i];
    const lint = answers[2 * i + 1];
    const row = body.insertRow();
    row.dataset.ws = ws.id;
    const name = cell(row, "name", ws.name);
    const root = document.createElement("span");
    root.className = "root";
    root.textContent = ws.root;
    name.appendChild(root);
    cell(row, "clock", String(ws.clock), "num");
    const ok = index && index.result;
    cell(row, "files", ok ? String(index.result.files) : "n/a", "num");
    cell(row, "symbols", ok ? String(index.result.symbols) : "n/a", "num");
    const [text, status] = lintText(lint);
    cell(row, "lint", text, status);
    cell(row, "pending", ws.pending ? "pending" : "fresh", ws.pending ? "pending" : "ok");
    cell(row, "degraded", ws.degraded ? "degraded: " + ws.degraded : "no", ws.degraded ? "degraded" : "ok");
  });
}

async function refresh() {
  const metrics = parseMetrics(await (await fetchOk("/metrics")).text());
  const [status] = await rpc([["daemon.status", {}]]);
  if (!status || status.error) throw new Error("daemon.status: " + JSON.stringify(status && status.error));
  const d = status.result;
  const workspaces = d.workspaces;
  const calls = workspaces.flatMap((ws) => [
    ["index.status", { workspace: ws.id }], ["lint.report", { workspace: ws.id }],
  ]);
  const answers = calls.length ? await rpc(calls) : [];
  showMetrics(scrape(metrics), d.uptime_s);
  set("version", "v" + d.version + " \\u00b7 pid " + d.pid);
  set("uptime", "up " + duration(d.uptime_s));
  set("ws-count", String(workspaces.length));
  set("ws-pending", String(workspaces.filter((ws) => ws.pending).length));
  set("ws-degraded", String(workspaces.filter((ws) => ws.degraded).length));
  set("health", d.health.status + (d.health.reasons.length ? ": " + d.health.reasons.join("; ") : ""));
  $("health").className = "badge " + (d.health.status === "ok" ? "ok" : "degraded");
  showWorkspaces(workspaces, answers);
}

async function tick() {
  try {
    await refresh();
    updates += 1;
    document.body.dataset.state = "ok";
    document.body.dataset.updates = String(updates);
    set("updated", "updated " + new Date().toLocaleTimeString());
  } catch (error) {
    document.body.dataset.state = "error";
    set("error", "Cannot reach the daemon: " + error.message + " (retrying every 2 s)");
  }
  setTimeout(tick, REFRESH_MS);
}

tick();
"""

BODY = """
<header>
  <h1>aegisd</h1><span class="meta" id="version"></span><span class="meta" id="uptime"></span>
  <span class="badge" id="health">connecting</span>
  <span class="right" id="updated">not updated yet</span>
</header>
<main>
  <div id="error"></div>
  <section class="cards">
    <div class="card"><h2>Request rate</h2>
      <div class="big"><span id="rate">\u2014</span> <span class="unit">req/s</span></div>
      <div class="sub" id="rate-window"></div></div>
    <div class="card"><h2>Latency (ms)</h2>
      <div class="lat"><div>p50<b id="p50">\u2014</b></div><div>p90<b id="p90">\u2014</b></div>
        <div>p99<b id="p99">\u2014</b></div></div>
      <div class="sub" id="lat-window"></div></div>
    <div class="card"><h2>Cache hit ratio</h2>
      <div class="big"><span id="cache-ratio">\u2014</span> <span class="unit">%</span></div>
      <div class="sub"><span id="cache-hits">0</span> hits \u00b7
        <span id="cache-misses">0</span> misses</div></div>
    <div class="card"><h2>Requests</h2>
      <div class="big" id="requests">0</div>
      <div class="sub"><span id="errors">0</span> errors in window \u00b7
        <span id="rate-limited">0</span> rate-limited</div></div>
    <div class="card"><h2>Memory (RSS)</h2>
      <div class="big"><span id="rss">\u2014</span> <span class="unit">MiB</span></div></div>
    <div class="card"><h2>Connections</h2>
      <div class="big"><span id="ws-clients">0</span> <span class="unit">WebSocket</span></div>
      <div class="sub"><span id="in-flight">0</span> requests in flight</div></div>
    <div class="card"><h2>Store</h2>
      <div class="big"><span id="store-retries">0</span> <span class="unit">retries</span></div>
      <div class="sub"><span id="store-failures">0</span> failures \u00b7 breaker
        <span id="breaker">closed</span></div></div>
    <div class="card"><h2>Workspaces</h2>
      <div class="big" id="ws-count">0</div>
      <div class="sub"><span id="ws-pending">0</span> pending \u00b7
        <span id="ws-degraded">0</span> degraded</div></div>
  </section>
  <h3>Workspaces</h3>
  <table>
    <thead><tr><th>workspace</th><th class="num">clock</th><th class="num">files</th>
      <th class="num">symbols</th><th>lint</th><th>pending</th><th>degraded</th></tr></thead>
    <tbody id="workspaces"></tbody>
  </table>
</main>
"""

PAGE = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>aegisd dashboard</title>
<style>{STYLE}</style>
</head>
<body data-state="loading" data-updates="0">{BODY}<script>{SCRIPT}</script>
</body>
</html>
"""


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


# Only this page's own script and style run; fetches go to its own origin and nowhere else.
HEADERS = {
    "Content-Security-Policy": (
        f"default-src 'none'; script-src {_sha256(SCRIPT)}; style-src {_sha256(STYLE)}; "
        "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    ),
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


async def dashboard(request: web.Request) -> web.Response:
    return web.Response(text=PAGE, content_type="text/html", charset="utf-8", headers=HEADERS)
