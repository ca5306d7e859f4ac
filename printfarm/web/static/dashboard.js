// The overview page: polls /api/dashboard every second with the token kept in localStorage.
"use strict";
const params = new URLSearchParams(location.search);
if (params.get("token")) {
  localStorage.setItem("printfarm_token", params.get("token"));
  history.replaceState(null, "", location.pathname);
}
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));

function showLogin() { $("login").hidden = false; $("board").hidden = true; }

$("login-form").addEventListener("submit", (e) => {
  e.preventDefault();
  localStorage.setItem("printfarm_token", $("token").value.trim());
  $("login").hidden = true;
  refresh();
});

function render(d) {
  const t = d.totals;
  $("totals").innerHTML = [["requested", t.requested_units], ["in production", t.in_production_units],
    ["good", t.good_units], ["rejected", t.rejected_units]]
    .map(([k, v]) => `<div class="total" data-total="${k}"><b>${v}</b>${k} units</div>`).join("");
  const max = Math.max(1, ...d.sites.map((s) => s.good_units));
  $("sites").innerHTML = d.sites.map((s) => `<div class="row" data-site="${s.site_id}"><span>${esc(s.site_name)}</span>
    <div class="bar" style="width:${(100 * s.good_units / max).toFixed(1)}%"></div><b class="good">${s.good_units}</b></div>`).join("");
  $("batches").querySelector("tbody").innerHTML = d.batches.map((b) => `<tr data-batch="${b.id}"><td>${b.id}</td>
    <td>${esc(d.part_names[b.part_id])}</td><td>${esc(d.hospital_names[b.hospital_id])}</td>
    <td><progress max="${b.quantity}" value="${Math.min(b.good_units, b.quantity)}"></progress></td>
    <td class="good">${b.good_units} / ${b.quantity}</td><td>${b.in_production_units}</td></tr>`).join("");
  $("printers").innerHTML = d.printers.map((p) => {
    const job = p.current_job;
    const state = p.connection !== "online" ? "offline" : job ? job.state : (p.is_bed_clear ? "idle" : "bed");
    const temps = p.tool_temp_c != null ? `${p.tool_temp_c.toFixed(0)} °C / bed ${(p.bed_temp_c ?? 0).toFixed(0)} °C` : "";
    return `<div class="card ${state}" data-printer="${p.id}"><h3>${esc(p.name)}</h3>
      <div class="muted">${esc(d.site_names[p.site_id])} · ${esc(p.loaded_material)}</div>
      <div><span class="tag">${esc(state)}</span> ${p.is_bed_clear ? "" : '<span class="tag warn">bed not clear</span>'}
      ${p.is_enabled ? "" : '<span class="tag warn">disabled</span>'}</div>
      ${job ? `<progress max="100" value="${job.progress_percent}"></progress> job ${job.id} · ${job.progress_percent}%` : ""}
      <div class="muted">${temps}</div></div>`;
  }).join("");
}

async function refresh() {
  const token = localStorage.getItem("printfarm_token");
  if (!token) { showLogin(); return; }
  try {
    const r = await fetch("/api/dashboard", {headers: {Authorization: `Bearer ${token}`}});
    if (r.status === 401) { localStorage.removeItem("printfarm_token"); showLogin(); return; }
    render(await r.json());
    $("board").hidden = false;
    $("status").textContent = "updated " + new Date().toLocaleTimeString();
  } catch (err) {
    $("status").textContent = "offline: " + err;
  }
}
refresh();
setInterval(refresh, 1000);
