// loopwright dashboard: the live parts. Pages are rendered by the server and work
// without this script; it refreshes them, streams events (SSE, resuming from the
// cursor the browser keeps as Last-Event-ID), loads diffs, and sends cancel.
// Every URL is relative to <base href="/<token>/">.
"use strict";

const body = document.body;
const MAX_EVENTS = 2000; // events kept on the page; older ones stay a click away

function text(tag, cls, value) {
  const el = document.createElement(tag);
  if (cls) el.className = cls;
  el.textContent = value;
  return el;
}

function clip(value, n) {
  const s = typeof value === "string" ? value : JSON.stringify(value);
  return s && s.length > n ? s.slice(0, n) + "…" : s || "";
}

const SUMMARY = {
  run_started: (d) => "run started: " + clip(d.goal, 120),
  plan: (d) => "plan: " + (d.subgoals || []).map((s) => s.id + " " + clip(s.title, 60)).join("; "),
  worker_started: (d) => `worker ${d.subgoal} started (${d.backend})`,
  worker_output: (d) => clip(d.text || d.preview, 160),
  worker_finished: (d) => `worker ${d.subgoal} ${d.status}` + (d.error ? ": " + clip(d.error, 120) : ""),
  model_call: (d) => `${d.provider}:${d.model} ${d.input_tokens || 0}+${d.output_tokens || 0} tokens`,
  verify_started: (d) => `verify: ${(d.commands || []).length} command(s)`,
  verify_finished: (d) => "verify " + (d.passed ? "passed" : "failed"),
  review: (d) => "review: " + (d.verdicts || []).map((v) => (v.complete ? "complete" : "not complete")).join(", "),
  iteration_finished: (d) => "iteration " + (d.passed ? "passed" : "not passed: " + clip((d.reasons || []).join("; "), 140)),
  checkpoint: (d) => `checkpoint ${String(d.sha || "").slice(0, 10)} (${d.verdict})`,
  warning: (d) => "warning: " + clip(d.message, 200),
  error: (d) => "error: " + clip(d.message, 200),
  run_finished: (d) => `finished: ${d.state} — ${d.stop_reason}`,
};

function eventItem(e) {
  const li = document.createElement("li");
  li.className = "ev ev-" + e.type;
  const when = new Date((e.ts || 0) * 1000).toLocaleTimeString();
  li.append(text("span", "ev-meta", `#${e.seq} ${when} it${e.iteration} `));
  li.append(text("b", "", e.type + " "));
  const fn = SUMMARY[e.type];
  li.append(text("span", "", fn ? fn(e.data || {}) : clip(e.data, 160)));
  return li;
}

// --- runs page: the first page refreshes itself -----------------------------------
function runsPage() {
  if (body.dataset.live !== "1") return;
  const rows = document.getElementById("runs-body");
  const query = body.dataset.query ? "?" + body.dataset.query : "";
  setInterval(async () => {
    if (document.hidden) return;
    const r = await fetch("fragments/runs" + query);
    if (r.ok) rows.innerHTML = await r.text();
  }, 3000);
}

// --- run page ------------------------------------------------------------------------
const diffs = new Map(); // href -> highlighted HTML: a checkpoint's diff never changes

async function loadDiff(details) {
  const href = details.dataset.diff;
  const target = details.querySelector(".diff-body");
  if (!diffs.has(href)) {
    const r = await fetch(href);
    diffs.set(href, r.ok ? await r.text() : "<p class=bad>" + r.status + "</p>");
  }
  target.innerHTML = diffs.get(href);
}

function wireDiffs(root) {
  root.querySelectorAll("details.diff").forEach((d) => {
    d.addEventListener("toggle", () => d.open && loadDiff(d));
    if (d.open) loadDiff(d);
  });
}

function wireCancel(runId) {
  const button = document.getElementById("cancel");
  if (!button) return;
  button.addEventListener("click", async () => {
    if (!confirm("Cancel run " + runId + "? Its workers are killed.")) return;
    button.disabled = true;
    button.textContent = "cancelling…";
    const r = await fetch(`api/runs/${runId}/cancel`, { method: "POST" });
    button.textContent = r.ok ? "cancelled" : "cancel failed (" + r.status + ")";
    refreshLive(runId);
  });
}

let refreshing = null;
function refreshLive(runId) {
  if (refreshing) return;
  refreshing = setTimeout(async () => {
    refreshing = null;
    const live = document.getElementById("live");
    const open = new Set([...live.querySelectorAll("details.diff[open]")].map((d) => d.dataset.diff));
    const r = await fetch(`fragments/runs/${runId}` + location.search);
    if (!r.ok) return;
    live.innerHTML = await r.text();
    live.querySelectorAll("details.diff").forEach((d) => {
      if (open.has(d.dataset.diff)) d.open = true;
    });
    wireDiffs(live);
    wireCancel(runId);
  }, 300);
}

const CHANGES = new Set(["plan", "worker_started", "worker_finished", "verify_finished", "review",
  "iteration_finished", "checkpoint", "run_finished", "cancelled", "interrupted", "paused",
  "resumed", "warning", "error", "questions"]);

function runPage() {
  const runId = body.dataset.run;
  const list = document.getElementById("events");
  const state = document.getElementById("events-state");
  const older = document.getElementById("older");
  let oldest = null;
  wireDiffs(document);
  wireCancel(runId);

  const source = new EventSource(`api/runs/${runId}/events/stream`);
  source.onmessage = (m) => {
    const batch = JSON.parse(m.data);
    if (oldest === null) oldest = batch.start;
    batch.events.forEach((e) => list.append(eventItem(e)));
    while (list.children.length > MAX_EVENTS) list.firstElementChild.remove();
    state.textContent = `${list.children.length} event(s) shown, live`;
    older.hidden = oldest === "0";
    if (batch.events.some((e) => CHANGES.has(e.type))) refreshLive(runId);
  };
  source.addEventListener("end", (m) => {
    source.close();
    state.textContent = `${list.children.length} event(s) shown; the run is ${JSON.parse(m.data).state}`;
    refreshLive(runId);
  });
  source.onerror = () => { state.textContent = "reconnecting…"; };

  older.addEventListener("click", async () => {
    if (oldest === null || oldest === "0") return;
    const r = await fetch(`api/runs/${runId}/events?before=${oldest}&limit=200`);
    if (!r.ok) return;
    const page = await r.json();
    oldest = page.start;
    const first = list.firstElementChild;
    page.events.forEach((e) => list.insertBefore(eventItem(e), first));
    older.hidden = oldest === "0";
  });
}

// --- hosts page: ask the pool's hosts how they are ---------------------------------
// The server asks every host at once (each within its timeout) and sends the rows back.
async function hostsPage() {
  const rows = document.getElementById("hosts-body");
  if (!rows) return;
  rows.querySelectorAll("td.health").forEach((cell) => { cell.textContent = "asking…"; });
  const r = await fetch("fragments/hosts");
  if (r.ok) rows.innerHTML = await r.text();
}

({ runs: runsPage, run: runPage, hosts: hostsPage })[body.dataset.page]?.();
