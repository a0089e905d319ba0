// The live page: one EventSource for the server's snapshots, the admin API for the controls. No dependencies.
"use strict";

const BASE = "/__mock";
const TOKEN_KEY = "mockprovider.adminToken";
const CHART_POINTS = 300; // five minutes at one sample a second
const STATES = ["running", "queued", "throttled", "succeeded", "failed", "cancelled"];
const LIVE = ["throttled", "queued", "running"]; // stacked bottom to top
const COLORS = { running: "#1f5fd6", queued: "#e09a12", throttled: "#7b3fc4" };

const page = {
  token: localStorage.getItem(TOKEN_KEY) || "",
  auth: false,
  source: null,
  history: [],
  snapshot: null,
  seenJobs: new Set(),
  refreshTimer: null,
  reopenTimer: null,
};

const $ = (sel) => document.querySelector(sel);

function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

function num(n, digits = 0) {
  if (n === null || n === undefined || Number.isNaN(n)) return "—";
  return Number(n).toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

function money(usd) {
  if (usd === null || usd === undefined) return "—";
  return "$" + Number(usd).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  const s = Math.abs(seconds);
  if (s < 1) return `${Math.round(seconds * 1000)} ms`;
  if (s < 90) return `${num(seconds, s < 10 ? 1 : 0)} s`;
  const sign = seconds < 0 ? "−" : "";
  if (s < 5400) return `${sign}${Math.floor(s / 60)}m ${Math.floor(s % 60)}s`;
  return `${sign}${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

function headers(extra = {}) {
  const h = { ...extra };
  if (page.token) h["X-Mockprovider-Admin-Token"] = page.token;
  return h;
}

async function call(method, path, body) {
  const init = { method, headers: headers(body === undefined ? {} : { "Content-Type": "application/json" }), credentials: "same-origin" };
  if (body !== undefined) init.body = JSON.stringify(body);
  const reply = await fetch(BASE + path, init);
  let data = null;
  try { data = await reply.json(); } catch (e) { data = null; }
  if (reply.status === 401) { askToken("The admin token was refused."); }
  if (!reply.ok) {
    const problems = data && data.problems ? ` (${data.problems.join("; ")})` : "";
    throw new Error(((data && data.error) || `HTTP ${reply.status}`) + problems);
  }
  return data;
}

function toast(message, ok = true) {
  const el = $("#toast");
  el.textContent = message;
  el.className = "toast " + (ok ? "ok" : "bad");
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { el.textContent = ""; }, 8000);
}

// -- the token, the ticket cookie and the event stream ------------------------------------------------------

function askToken(message) {
  const dialog = $("#login-dialog");
  $("#login-error").textContent = message || "";
  if (!dialog.open) dialog.showModal();
  $("#login-token").focus();
}

async function openSession() {
  const reply = await fetch(BASE + "/ui/session", { method: "POST", headers: headers(), credentials: "same-origin" });
  if (reply.status === 401) return false;
  if (!reply.ok) throw new Error(`HTTP ${reply.status}`);
  const data = await reply.json();
  page.auth = data.auth;
  clearInterval(page.refreshTimer);
  if (data.auth) {
    // The ticket lasts expires_in seconds; renew it well before so reconnects always find a valid one.
    page.refreshTimer = setInterval(() => openSession().catch(() => {}), Math.max(data.expires_in * 400, 5000));
  }
  return true;
}

async function connect() {
  try {
    if (!(await openSession())) { askToken(page.token ? "The admin token was refused." : ""); return; }
  } catch (e) {
    setConn("lost", "server unreachable");
    scheduleReopen();
    return;
  }
  if (page.source) page.source.close();
  const source = new EventSource(BASE + "/ui/events");
  page.source = source;
  source.addEventListener("open", () => setConn("live", "live"));
  source.addEventListener("history", (e) => onHistory(JSON.parse(e.data)));
  source.addEventListener("snapshot", (e) => onSnapshot(JSON.parse(e.data)));
  source.addEventListener("error", () => {
    if (source.readyState === EventSource.CLOSED) {
      // A refused or failed (re)connection: EventSource gives up; renew the ticket and open again.
      setConn("lost", "reconnecting…");
      scheduleReopen();
    }
  });
}

function scheduleReopen() {
  clearTimeout(page.reopenTimer);
  page.reopenTimer = setTimeout(connect, 1500);
}

function setConn(state, text) {
  const el = $("#conn");
  el.dataset.state = state;
  el.textContent = text;
}

// -- data in ------------------------------------------------------------------------------------------------

function onHistory(data) {
  // A resumed stream sends only what this page missed; a new one (or one after a server restart) everything.
  const points = data.points || [];
  if (!data.resumed) {
    page.history = points.slice();
  } else {
    const last = page.history.length ? page.history[page.history.length - 1].seq : -1;
    for (const p of points) if (p.seq > last) page.history.push(p);
  }
  trimHistory();
}

function trimHistory() {
  if (page.history.length > CHART_POINTS * 2) page.history = page.history.slice(-CHART_POINTS * 2);
}

function onSnapshot(snap) {
  page.snapshot = snap;
  const p = snap.point;
  if (p && (!page.history.length || page.history[page.history.length - 1].seq < p.seq)) {
    page.history.push(p);
    trimHistory();
  }
  render(snap);
}

// -- rendering ----------------------------------------------------------------------------------------------

function render(snap) {
  renderProfile(snap);
  renderHeadline(snap);
  renderProviders(snap);
  renderJobs(snap);
  renderRequests(snap);
  renderProxy(snap);
  renderServer(snap);
}

function renderProfile(snap) {
  const active = snap.profile.active;
  $("#profile-name").textContent = active.name;
  $("#profile-desc").textContent = active.description || "";
  const scale = snap.clock.scale;
  let ttl = "";
  if (active.ttl_left_s !== null) {
    const real = scale !== 1 ? ` (${duration(active.ttl_left_real_s)} real)` : "";
    ttl = `→ ${active.reverts_to || "default"} in ${duration(active.ttl_left_s)}${real}`;
  }
  $("#profile-ttl").textContent = ttl;
  $("#active-profile").title = `active since ${new Date(active.since * 1000).toLocaleTimeString()} (engine time), from ${active.source}`
    + (active.chain.length ? `; then ${active.chain.join(" → ")}` : "");
  $("#clock").textContent = scale === 1 ? `since ${duration(snap.t - active.since)}` :
    `since ${duration(snap.t - active.since)} · time ×${num(1 / scale, 2)}`;

  const select = $("#switch-name");
  const names = snap.profile.available || [];
  const current = Array.from(select.options).map((o) => o.value);
  if (names.join("\n") !== current.join("\n")) {
    const chosen = current.length ? select.value : active.name;
    select.innerHTML = names.map((n) => `<option value="${esc(n)}">${esc(n)}</option>`).join("");
    if (names.includes(chosen)) select.value = chosen;
  }

  const keys = snap.profile.keys;
  $("#key-assignments").innerHTML = keys.length ? keys.map((k) =>
    `<span class="chip"><code>${esc(k.key)}</code> → <b>${esc(k.name)}</b>${k.ttl_left_s !== null ? ` · ${esc(duration(k.ttl_left_s))} left` : ""}</span>`).join("")
    + (snap.profile.keys_total > keys.length ? ` <span class="muted">and ${snap.profile.keys_total - keys.length} more</span>` : "")
    : "none";

  const inUse = [];
  for (const [provider, counts] of Object.entries(snap.providers)) {
    for (const [profile, n] of Object.entries(counts.profiles_in_use || {})) {
      inUse.push(`<span class="chip">${esc(provider)}: <b>${esc(profile)}</b> ×${num(n)}</span>`);
    }
  }
  $("#profiles-in-use").innerHTML = inUse.length ? inUse.join("") : "no jobs in the last minute";
}

function figure(name, value, cls = "") {
  return `<div class="figure ${cls}"><span class="value">${value}</span><span class="name">${esc(name)}</span></div>`;
}

function pick(obj, ...names) {
  for (const n of names) if (obj && obj[n] !== undefined && obj[n] !== null) return obj[n];
  return null;
}

function renderHeadline(snap) {
  const report = snap.extra && snap.extra.report;
  let created = 0, succeeded = 0, failed = 0, live = 0;
  for (const p of Object.values(snap.providers)) {
    created += p.created; succeeded += p.jobs.succeeded; failed += p.jobs.failed;
    live += p.jobs.running + p.jobs.queued + p.jobs.throttled;
  }
  const out = [figure("jobs created", num(created)), figure("in flight", num(live)),
    figure("succeeded", num(succeeded)), figure("failed", num(failed))];
  if (report && report.headline) {
    const h = report.headline;
    out.push(figure("polls per job", num(h.polls_per_job, 1)));
    out.push(figure("detection lag p50 / p95", `${duration(h.detection_lag_p50_s)} / ${duration(h.detection_lag_p95_s)}`));
    out.push(figure("retry hints honoured", h.retry_after_honoured === null ? "—" : `${num(h.retry_after_honoured * 100)}%`));
    out.push(figure("cost so far", money(h.cost_usd), "cost"));
  } else {
    out.push(figure("cost so far", "—", "cost"));
  }
  $("#headline").innerHTML = out.join("");
}

function statusClass(code) {
  const c = Number(code);
  if (c === 429) return "s429";
  return `s${Math.floor(c / 100)}xx`;
}

function meter(used, total, label) {
  if (total === null || total === undefined) return `<span class="muted">${esc(label || "no limit")}</span>`;
  const share = total > 0 ? Math.min(used / total, 1) : 1;
  const cls = share >= 1 ? "fill-bad" : share >= 0.8 ? "fill-warn" : "fill-ok";
  return `<div class="bar"><i class="${cls}" style="width:${(share * 100).toFixed(1)}%"></i><em>${num(used)} / ${num(total)}</em></div>`;
}

function providerCard(name, p, points) {
  const counts = STATES.map((s) => `<div class="count ${s}"><span class="n">${num(p.jobs[s])}</span><span class="s">${s}</span></div>`).join("");
  const req = p.requests;
  const statusTotal = Object.values(req.status).reduce((a, b) => a + b, 0);
  const bar = statusTotal ? Object.entries(req.status).map(([code, n]) =>
    `<i class="${statusClass(code)}" style="width:${(100 * n / statusTotal).toFixed(2)}%" title="${esc(code)}: ${n}"></i>`).join("") : "";
  const statuses = Object.entries(req.status).map(([code, n]) => `<b>${esc(code)}</b> ${num(n)}`).join(" · ") || "no requests";
  const endpoints = Object.entries(req.endpoints).map(([k, n]) => `${esc(k)} ${num(n)}`).join(" · ");
  const lim = p.limits;
  const busiest = (lim.busiest || []).map((b) => `<span class="chip"><code>${esc(b.key)}</code>`
    + (b.window ? ` ${esc(b.window)}` : "")
    + (b.slots_total !== null ? ` slots ${num(b.slots_taken)}/${num(b.slots_total)}` : "")
    + (b.rpm_limit !== null ? ` · rpm ${num(b.rpm_used)}/${num(b.rpm_limit)}` : "")
    + (b.credits !== null ? ` · credits ${num(b.spent, 2)}/${num(b.credits)}` : "") + "</span>").join("");
  const faults = p.faults ? Object.entries(p.faults) : null;
  const faultText = faults === null ? '<span class="muted">—</span>' : faults.length ?
    faults.map(([k, n]) => `<b>${esc(k)}</b> ${num(n)}`).join(" · ") : '<span class="muted">none</span>';
  return `<section class="panel provider" data-provider="${esc(name)}">
    <h2>${esc(name)} <small>${num(p.created)} jobs · ${num(req.rps, 1)} req/s · ${num(req.errors_per_s, 1)} errors/s</small></h2>
    <div class="counts">${counts}</div>
    ${chart(name, points)}
    <div class="legend"><span><i style="background:${COLORS.running}"></i>running</span><span><i style="background:${COLORS.queued}"></i>queued</span>
      <span><i style="background:${COLORS.throttled}"></i>throttled</span><span><i style="background:#222"></i>requests/s</span><span>last ${duration(points.length * ((page.snapshot && page.snapshot.server.interval_s) || 1))}</span></div>
    <div class="kv">
      <span>status mix <small>1 min</small></span><div><div class="bar">${bar}</div><div class="statuses">${statuses}</div></div>
      <span>endpoints <small>1 min</small></span><span>${endpoints || '<span class="muted">—</span>'}</span>
      <span>concurrency slots</span><div data-row="slots">${meter(lim.slots_taken, lim.scopes && lim.unlimited_scopes < lim.scopes ? lim.slots_total : null, "no limit")}</div>
      <span>waiting jobs</span><span title="throttled: waiting for a concurrency slot; queued: in the provider's queue"><b>${num(p.jobs.throttled)}</b> throttled · <b>${num(p.jobs.queued)}</b> queued</span>
      <span>requests / min <small>busiest key</small></span><div data-row="rpm">${meter(lim.rpm_used, lim.rpm_limit, "no limit")}</div>
      <span>injected faults</span><span data-row="faults">${faultText}</span>
      <span>limit rejections</span><span data-row="rejections">${countsText(p.rejections)}</span>
      <span>webhooks</span><span>${webhookText(p.webhooks)}</span>
      <span>keys seen</span><span>${num(lim.scopes)}</span>
      ${busiest ? `<span>busiest keys</span><div class="chips">${busiest}</div>` : ""}
    </div>
  </section>`;
}

function countsText(counts) {
  if (!counts) return '<span class="muted">—</span>';
  const parts = Object.entries(counts).map(([k, n]) => `<b>${esc(k)}</b> ${num(n)}`);
  return parts.length ? parts.join(" · ") : '<span class="muted">none</span>';
}

function webhookText(w) {
  if (!w) return '<span class="muted">—</span>';
  const parts = Object.entries(w).filter(([, n]) => n).map(([k, n]) => `<b>${esc(k.replace("_", " "))}</b> ${num(n)}`);
  return parts.length ? parts.join(" · ") : '<span class="muted">none sent</span>';
}

function chart(name, points) {
  const w = 600, h = 120;
  const shown = points.slice(-CHART_POINTS);
  const span = Math.max(shown.length, 60); // a short history fills the chart from the right, a minute wide
  if (shown.length < 2) return `<svg class="chart" viewBox="0 0 ${w} ${h}" preserveAspectRatio="none" role="img" aria-label="${esc(name)} jobs over time"></svg>`;
  const values = shown.map((pt) => pt.p[name] || { throttled: 0, queued: 0, running: 0, rps: 0 });
  const top = Math.max(1, ...values.map((v) => v.throttled + v.queued + v.running));
  const rpsTop = Math.max(1, ...values.map((v) => v.rps));
  const step = w / (span - 1);
  const x0 = w - (shown.length - 1) * step;
  const y = (v) => h - 4 - (v / top) * (h - 14);
  let base = values.map(() => 0);
  const layers = [];
  for (const state of LIVE) {
    const upper = values.map((v, i) => base[i] + v[state]);
    const path = upper.map((u, i) => `${(x0 + i * step).toFixed(1)},${y(u).toFixed(1)}`).join(" ")
      + " " + base.map((b, i) => `${(x0 + i * step).toFixed(1)},${y(b).toFixed(1)}`).reverse().join(" ");
    layers.push(`<polygon points="${path}" fill="${COLORS[state]}" fill-opacity="0.8"></polygon>`);
    base = upper;
  }
  const rps = values.map((v, i) => `${(x0 + i * step).toFixed(1)},${(h - 4 - (v.rps / rpsTop) * (h - 14)).toFixed(1)}`).join(" ");
  return `<svg class="chart" viewBox="0 0 ${w} ${h}" preserveAspectRatio="none" role="img" aria-label="${esc(name)} jobs over time">
    ${layers.join("")}<polyline points="${rps}" fill="none" stroke="#222" stroke-width="1.5" vector-effect="non-scaling-stroke"></polyline>
    <text x="4" y="11" font-size="10" fill="#5b6470">${num(top)} jobs</text><text x="${w - 4}" y="11" font-size="10" fill="#222" text-anchor="end">${num(rpsTop, 1)} req/s</text></svg>`;
}

function busy(p) {
  const j = p.jobs;
  return p.created > 0 || j.running + j.queued + j.throttled > 0 || Object.keys(p.requests.status).length > 0
    || p.limits.scopes > 0;
}

function renderProviders(snap) {
  // Providers that have seen traffic get a card each; the rest share one line, so a projector shows what matters.
  const entries = Object.entries(snap.providers);
  const active = entries.filter(([, p]) => busy(p));
  const idle = entries.filter(([, p]) => !busy(p)).map(([name]) => name);
  $("#providers").innerHTML = active.map(([name, p]) => providerCard(name, p, page.history)).join("");
  $("#idle-providers").innerHTML = idle.length ? `No traffic yet: ${idle.map((n) => `<span class="chip" data-idle="${esc(n)}">${esc(n)}</span>`).join("")}` : "";
}

function renderJobs(snap) {
  const body = $("#jobs tbody");
  const rows = snap.jobs.map((j) => {
    const fresh = !page.seenJobs.has(j.id);
    page.seenJobs.add(j.id);
    return `<tr class="${fresh ? "fresh" : ""}" data-job="${esc(j.id)}">
      <td><button class="job-link" data-job="${esc(j.id)}" title="${esc(j.id)}">${esc(j.id)}</button></td>
      <td>${esc(j.provider)}</td><td title="${esc(j.model)}">${esc(j.model)}</td>
      <td><span class="state ${esc(j.state)}">${esc(j.state)}</span></td>
      <td class="progress">${meterPct(j.progress)}</td><td>${duration(j.age_s)}</td></tr>`;
  });
  body.innerHTML = rows.join("") || `<tr><td colspan="6" class="muted">no jobs yet</td></tr>`;
  if (page.seenJobs.size > 5000) page.seenJobs = new Set(snap.jobs.map((j) => j.id));
}

function meterPct(progress) {
  const pct = Math.round(progress * 100);
  return `<div class="bar"><i class="fill-ok" style="width:${pct}%"></i><em>${pct}%</em></div>`;
}

function renderRequests(snap) {
  const requests = snap.requests;
  const missing = requests === undefined || requests === null;
  $("#requests-missing").hidden = !missing;
  $("#requests").hidden = missing;
  if (missing) return;
  const list = Array.isArray(requests) ? requests : (requests.requests || []);
  $("#requests tbody").innerHTML = list.slice().reverse().map((r) => {
    const when = pick(r, "time", "t", "at");
    const status = pick(r, "status");
    const fault = pick(r, "fault", "injected_fault");
    return `<tr><td>${when ? new Date(when * 1000).toLocaleTimeString() : "—"}</td><td>${esc(pick(r, "provider"))}</td>
      <td title="${esc(pick(r, "path"))}"><code>${esc(pick(r, "method"))} ${esc(pick(r, "path"))}</code></td>
      <td><span class="state ${status >= 400 ? "failed" : "succeeded"}">${esc(status)}</span>${fault ? ` <small>${esc(typeof fault === "string" ? fault : JSON.stringify(fault))}</small>` : ""}</td>
      <td>${pick(r, "job") ? `<button class="job-link" data-job="${esc(r.job)}">${esc(r.job)}</button>` : ""}</td></tr>`;
  }).join("") || `<tr><td colspan="5" class="muted">no requests yet</td></tr>`;
}

function bytes(n) {
  if (n < 1024) return `${num(n)} B/s`;
  if (n < 1048576) return `${num(n / 1024, 1)} KiB/s`;
  return `${num(n / 1048576, 1)} MiB/s`;
}

function renderProxy(snap) {
  const proxy = snap.proxy;
  $("#proxy-panel").hidden = !proxy;
  if (!proxy) return;
  $("#proxy-api").textContent = `API ${proxy.api} · in this process`;
  $("#proxies tbody").innerHTML = proxy.proxies.map((p) => {
    const toxics = p.toxics.map((t) => `<span class="chip"><b>${esc(t.name)}</b> ${esc(t.type)} ${esc(t.stream)} ${t.toxicity !== 1 ? `@${esc(t.toxicity)}` : ""}
      <small>${esc(Object.entries(t.attributes || {}).map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`).join(" "))}</small></span>`).join("");
    const http = p.http_rules ? `<span class="chip">${num(p.http_rules)} HTTP rules</span>` : "";
    return `<tr><td><b>${esc(p.name)}</b></td><td><code>${esc(p.listen)} → ${esc(p.upstream)}</code></td>
      <td><span class="state ${p.enabled ? "succeeded" : "cancelled"}">${p.enabled ? "enabled" : "disabled"}</span></td>
      <td>${num(p.connections)}</td><td>${bytes(p.bytes_per_s)}</td><td style="white-space:normal">${toxics || http ? toxics + http : '<span class="muted">none</span>'}</td></tr>`;
  }).join("") || `<tr><td colspan="6" class="muted">no proxies</td></tr>`;
}

function renderServer(snap) {
  const s = snap.server;
  const lag = s.loop_lag && s.loop_lag.p99_ms !== null ? `${num(s.loop_lag.p99_ms, 1)} ms` : "—";
  $("#server").textContent = `${num(s.jobs_stored)} jobs stored · ${num(s.jobs_live)} live · event-loop lag p99 ${lag} · `
    + `${s.viewers} viewer${s.viewers === 1 ? "" : "s"} · one sample every ${num(s.interval_s, 2)} s (p99 ${num(s.tick_ms_p99, 2)} ms) · `
    + `engine time scale ${snap.clock.scale}`;
}

// -- a job's plan and timeline -----------------------------------------------------------------------------

async function showJob(id) {
  const dialog = $("#job-dialog");
  $("#job-title").textContent = id;
  $("#job-body").innerHTML = '<p class="muted">loading…</p>';
  if (!dialog.open) dialog.showModal();
  try {
    const data = await call("GET", `/ui/jobs/${encodeURIComponent(id)}`);
    const j = data.job;
    const plan = j.plan;
    const cells = [["provider", j.provider], ["model", j.model], ["state", j.state], ["progress", `${Math.round(j.progress * 100)}%`],
      ["queue", duration(plan.queue)], ["run", duration(plan.run)], ["outcome", plan.outcome + (plan.fail_at !== null ? ` at ${Math.round(plan.fail_at * 100)}%` : "")],
      ["profile", j.profile], ["cost", `${num(j.cost, 3)}`], ["waited for a slot", duration(j.admitted - j.created)],
      ["ends", j.ends === null ? "never (stuck)" : `after ${duration(j.ends - j.created)}`], ["cancelled", j.cancelled_at === null ? "no" : `after ${duration(j.cancelled_at - j.created)}`]];
    const rows = data.timeline.map((e) => {
      const detail = e.kind === "state" ? (e.planned ? "planned" : "") :
        e.kind === "webhook" ? [e.attempt ? `attempt ${e.attempt}` : "", e.status ? `HTTP ${e.status}` : "", e.outcome || "", e.error || ""].filter(Boolean).join(" · ") :
        [pick(e, "method"), pick(e, "path"), pick(e, "status"), pick(e, "fault") ? `fault ${JSON.stringify(e.fault)}` : ""].filter(Boolean).join(" ");
      return `<tr><td class="${e.planned ? "planned" : ""}">+${duration(e.after_s)}</td><td><span class="kind ${esc(e.kind)}">${esc(e.kind)}</span></td>
        <td class="${e.planned ? "planned" : ""}">${esc(e.what ?? "")}</td><td>${esc(detail)}</td></tr>`;
    }).join("");
    $("#job-body").innerHTML = `<div class="plan">${cells.map(([k, v]) => `<div><span>${esc(k)}</span>${esc(v)}</div>`).join("")}</div>
      <h3>Timeline <small>engine time since creation${data.scale !== 1 ? `, scale ${data.scale}` : ""}</small></h3>
      <table class="rows timeline"><thead><tr><th class="w-age">at</th><th class="w-state">kind</th><th class="w-model">event</th><th>detail</th></tr></thead><tbody>${rows}</tbody></table>`;
  } catch (e) {
    $("#job-body").innerHTML = `<p class="error">${esc(e.message)}</p>`;
  }
}

// -- controls ----------------------------------------------------------------------------------------------

async function act(button, work) {
  button.disabled = true;
  try { await work(); } catch (e) { toast(e.message, false); } finally { button.disabled = false; }
}

function wire() {
  $("#switch-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const name = $("#switch-name").value;
    const ttl = $("#switch-ttl").value.trim();
    act($("#switch-button"), async () => {
      const body = ttl ? { name, ttl } : { name };
      const a = await call("PUT", "/profile", body);
      toast(`Profile ${a.name} is active` + (a.reverts_to ? `, back to ${a.reverts_to} after ${ttl}` : "") + ".");
    });
  });
  $("#default-button").addEventListener("click", () => act($("#default-button"), async () => {
    const a = await call("DELETE", "/profile");
    toast(`Back to the default profile, ${a.name}.`);
  }));
  $("#reset-button").addEventListener("click", () => {
    if (!confirm("Forget every job, count and assignment, and return to the default profile?")) return;
    act($("#reset-button"), async () => {
      const r = await call("POST", "/reset");
      page.seenJobs.clear();
      toast(`Reset: profile ${r.profile}.`);
    });
  });
  document.addEventListener("click", (event) => {
    const link = event.target.closest(".job-link");
    if (link) showJob(link.dataset.job);
  });
  $("#login-form").addEventListener("submit", () => {
    page.token = $("#login-token").value;
    localStorage.setItem(TOKEN_KEY, page.token);
    connect();
  });
}

wire();
connect();
