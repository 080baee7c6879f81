#include "node/ops/dashboard.hpp"

namespace swarmd::node {

namespace {

constexpr std::string_view kPage = R"html(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>swarmd</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; background: #fafafa; }
  h1 { font-size: 1.3em; margin: 0 0 .2em; }
  .sub { color: #666; margin-bottom: 1em; font-family: monospace; }
  .cards { display: flex; flex-wrap: wrap; gap: .8em; margin-bottom: 1em; }
  .card { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: .6em .9em; min-width: 9em; }
  .card .k { color: #666; font-size: .85em; }
  .card .v { font-size: 1.4em; font-variant-numeric: tabular-nums; }
  table { border-collapse: collapse; background: #fff; }
  th, td { border: 1px solid #ddd; padding: .25em .6em; text-align: left; font-variant-numeric: tabular-nums; }
  th { background: #f0f0f0; }
  td.mono { font-family: monospace; }
  canvas { background: #fff; border: 1px solid #ddd; border-radius: 6px; }
  #err { color: #b00; }
</style>
</head>
<body>
<h1>swarmd <span id="mode"></span></h1>
<div class="sub" id="who">connecting…</div>
<div id="err"></div>
<div class="cards" id="cards"></div>
<canvas id="chart" width="640" height="140"></canvas>
<h2>Swarm</h2>
<table><thead><tr><th>peer</th><th>round</th><th>accuracy</th><th>merge</th><th>merged hash</th></tr></thead>
<tbody id="peers"></tbody></table>
<h2>Network</h2>
<div class="cards" id="net"></div>
<table><thead><tr><th>connection</th><th>address</th><th>direction</th><th>path</th></tr></thead>
<tbody id="links"></tbody></table>
<script>
"use strict";
const history = [];
function text(v, digits) {
  if (typeof v !== "number") return String(v ?? "-");
  if (v < 0) return "-";
  return digits === undefined ? String(v) : v.toFixed(digits);
}
function el(tag, content, cls) {
  const e = document.createElement(tag);
  e.textContent = content;
  if (cls) e.className = cls;
  return e;
}
function card(k, v) {
  const c = el("div", "", "card");
  c.append(el("div", k, "k"), el("div", v, "v"));
  return c;
}
function draw() {
  const c = document.getElementById("chart"), g = c.getContext("2d");
  g.clearRect(0, 0, c.width, c.height);
  const pts = history.filter(p => p.accuracy >= 0);
  if (pts.length < 2) return;
  g.strokeStyle = "#2a6"; g.beginPath();
  pts.forEach((p, i) => {
    const x = 10 + i * (c.width - 20) / (pts.length - 1), y = c.height - 10 - p.accuracy * (c.height - 20);
    i ? g.lineTo(x, y) : g.moveTo(x, y);
  });
  g.stroke();
  g.fillStyle = "#666"; g.fillText("held-out accuracy (0..1)", 12, 14);
}
async function poll() {
  try {
    const r = await fetch("/api/status", {cache: "no-store"});
    const s = await r.json();
    document.getElementById("err").textContent = "";
    document.getElementById("mode").textContent = `· ${s.spec} (${s.mode}, ${s.role})`;
    document.getElementById("who").textContent = `${s.peer_id} · swarm ${String(s.swarm_id).slice(0, 16)}…`;
    const cards = document.getElementById("cards");
    cards.replaceChildren(
      card("round", `${s.round} / ${s.merge_round}`), card("peers", `${s.connections}`),
      card("updates in log", `${s.updates}`), card("loss", text(s.loss, 4)),
      card("accuracy", text(s.accuracy, 3)), card("messages in / out", `${s.messages_in} / ${s.messages_out}`),
      card("merge", s.merge_state + (s.merged_hash ? " " + s.merged_hash.slice(0, 12) : "")));
    history.push({accuracy: s.accuracy});
    if (history.length > 300) history.shift();
    draw();
    const rows = [];
    for (const [id, p] of Object.entries(s.swarm_peers || {})) {
      const tr = document.createElement("tr");
      tr.append(el("td", id.slice(0, 20) + "…", "mono"), el("td", text(p.round)), el("td", text(p.accuracy, 3)),
                el("td", p.merge_state || "-"), el("td", (p.merged_hash || "-").slice(0, 16), "mono"));
      rows.push(tr);
    }
    document.getElementById("peers").replaceChildren(...rows);
    const reach = s.reach || {}, dht = s.dht || {}, punch = reach.hole_punch || {};
    const links = s.links || [];
    const relayed = links.filter(l => l.relayed).length;
    document.getElementById("net").replaceChildren(
      card("reachability", (reach.reachability || "-") + (reach.behind_nat ? " (behind NAT)" : "")),
      card("relay reservations", `${(reach.relay_addrs || []).length}`),
      card("DHT", `${dht.mode || "-"}, ${text(dht.routing_table)} in table`),
      card("links direct / relayed", `${links.length - relayed} / ${relayed}`),
      card("hole punches", `${text(punch.direct_upgrades)} direct, ${text(punch.attempts)} rounds`));
    const linkRows = links.map(l => {
      const tr = document.createElement("tr");
      tr.append(el("td", String(l.peer).slice(0, 20) + "…", "mono"), el("td", l.addr, "mono"),
                el("td", l.outbound ? "out" : "in"), el("td", l.relayed ? "relayed" : "direct"));
      return tr;
    });
    document.getElementById("links").replaceChildren(...linkRows);
  } catch (e) {
    document.getElementById("err").textContent = "no answer from the node: " + e;
  }
}
poll();
setInterval(poll, 2000);
</script>
</body>
</html>
)html";

}  // namespace

std::string_view dashboard_html() { return kPage; }

}  // namespace swarmd::node
