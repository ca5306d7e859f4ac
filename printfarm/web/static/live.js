// Keeps a page live: re-renders its #live part every second (the server draws it, charts included),
// and sends the clear-bed form to the API. No framework, nothing fetched from elsewhere.
"use strict";
const POLL_MS = 1000;
const live = document.getElementById("live");
const status = document.getElementById("status");
let busy = false;

function editing() {
  // Never replace a form the operator is typing into.
  const active = document.activeElement;
  return active && live.contains(active) && active.closest("form.clear-bed");
}

async function refresh() {
  if (busy || editing() || document.hidden) return;
  busy = true;
  try {
    const response = await fetch(location.href, {headers: {"X-Fragment": "1"}, credentials: "same-origin", cache: "no-store"});
    if (response.status === 401) { location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search); return; }
    if (!response.ok) throw new Error("HTTP " + response.status);
    const html = await response.text();
    if (!editing()) live.innerHTML = html;
    status.textContent = "live · " + new Date().toLocaleTimeString();
    status.classList.remove("stale");
  } catch (err) {
    status.textContent = "not updating: " + err.message;
    status.classList.add("stale");
  } finally {
    busy = false;
  }
}

live.addEventListener("submit", async (event) => {
  const form = event.target.closest("form.clear-bed");
  if (!form) return;
  event.preventDefault();
  const out = form.querySelector("output");
  const button = form.querySelector("button");
  const body = {good_units: Number(form.good_units.value), rejected_units: Number(form.rejected_units.value)};
  button.disabled = true;
  out.textContent = "";
  try {
    const response = await fetch(`/api/printers/${form.dataset.printer}/clear-bed`, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json"}, body: JSON.stringify(body),
    });
    if (!response.ok) {
      const problem = await response.json().catch(() => ({}));
      const detail = Array.isArray(problem.detail) ? problem.detail.map((d) => d.msg).join("; ") : problem.detail;
      out.textContent = detail || "HTTP " + response.status;
      button.disabled = false;
      form.good_units.focus();  // a disabled button lost the focus; keep the form (and the reason) on screen
      return;
    }
    document.activeElement.blur();
    await refresh();
  } catch (err) {
    out.textContent = "not sent: " + err.message;
    button.disabled = false;
    form.good_units.focus();
  }
});

// Keep good + rejected equal to the plate's units while the operator adjusts one of them.
live.addEventListener("input", (event) => {
  const form = event.target.closest("form.clear-bed");
  const units = form ? Number(form.dataset.units) : 0;
  if (!form || !units) return;
  const other = event.target.name === "good_units" ? form.rejected_units : form.good_units;
  const value = Math.min(units, Math.max(0, Number(event.target.value) || 0));
  other.value = units - value;
});

setInterval(refresh, POLL_MS);
status.textContent = "live";
