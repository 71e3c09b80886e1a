// radixagent dashboard: plain JavaScript, no library. Data comes from /ui/api (with the page's
// CSRF token in a header) and live events from /v1/events (EventSource, by the login cookie).
// Text from the server is only ever set as textContent, never parsed as HTML.
"use strict";

const CSRF = document.querySelector('meta[name="csrf-token"]')?.content || "";
const SVG = "http://www.w3.org/2000/svg";
const FEED_TYPES = ["step", "tool_call", "tool_result", "failure", "run_end", "session_created", "session_deleted", "dropped", "approval_required"];

class HttpError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function api(path, options = {}) {
  const response = await fetch("/ui/api" + path, {
    ...options,
    credentials: "same-origin",
    headers: { "X-CSRF-Token": CSRF, ...(options.body ? { "Content-Type": "application/json" } : {}), ...(options.headers || {}) },
  });
  if (!response.ok) {
    let message = response.statusText;
    try { message = (await response.json()).error.message; } catch (_) { /* not JSON */ }
    throw new HttpError(response.status, message);
  }
  return response.json();
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k === "style") node.style.cssText = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) if (c != null) node.append(c);
  return node;
}

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text != null) node.textContent = text;
  return node;
}

function debounce(fn, ms) {
  let timer = null;
  return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
}

const fmtTime = (iso) => new Date(iso).toLocaleString(undefined, { hour12: false });
const pct = (x) => (x * 100).toFixed(1) + "%";
const short = (s, n) => (s.length > n ? s.slice(0, n - 1) + "\u2026" : s);

// --- the live feed ------------------------------------------------------------------------------

function listen(sessionId, onEvent) {
  const badge = document.getElementById("live");
  const source = new EventSource("/v1/events" + (sessionId ? "?session_id=" + encodeURIComponent(sessionId) : ""));
  source.onopen = () => { badge.className = "live on"; };
  source.onerror = () => { badge.className = "live off"; };  // EventSource reconnects on its own
  for (const type of FEED_TYPES) source.addEventListener(type, (e) => onEvent(JSON.parse(e.data)));
  return source;
}

function describeEvent(data) {
  const e = data.event;
  switch (data.type) {
    case "step": return "step " + e.step;
    case "tool_call": return e.call.tool_name + "(" + JSON.stringify(e.call.arguments) + ")";
    case "tool_result":
      if (e.result.error_type === "denied") return e.result.tool + " not run: " + e.result.error;
      return e.result.error ? e.result.tool + " failed: " + e.result.error : e.result.tool + " \u2192 " + short(String(e.result.result), 80);
    case "failure": return e.operation + ": " + e.message;
    case "run_end": return (e.response.is_successful ? "answered: " : "failed: ") + short(e.response.content || e.response.error_message || "", 100);
    case "session_created": return "created " + (e.title || "");
    case "dropped": return e.count + " events missed (reloading)";
    case "approval_required": return "waiting for approval: " + (e.approvals || []).map((a) => a.tool + "(" + JSON.stringify(a.arguments) + ")").join(", ");
    default: return "";
  }
}

function logEvent(list, data, withSession) {
  list.querySelector(".waiting")?.remove();
  const item = el("li", {}, el("span", { class: "chip " + data.type, text: data.type }));
  if (withSession && data.session_id) item.append(el("a", { href: "/ui/sessions/" + data.session_id, text: data.session_id.slice(0, 8) }), " ");
  item.append(describeEvent(data));
  list.prepend(item);
  while (list.children.length > 50) list.lastChild.remove();
}

// --- charts: one SVG line chart, drawn from points {t: Date, y: number} ---------------------------

function lineChart(target, points, { color, max, format }) {
  const W = 480, H = 180, L = 44, R = 8, T = 8, B = 22;
  target.replaceChildren();
  if (!points.length) {
    target.append(svg("text", { x: W / 2, y: H / 2, "text-anchor": "middle", class: "empty" }, "no steps yet"));
    return;
  }
  const top = max ?? Math.max(1, ...points.map((p) => p.y)) * 1.1;
  const t0 = points[0].t.getTime(), t1 = points[points.length - 1].t.getTime();
  // several steps in one second: spread them by order, not time, so they do not pile up
  const byOrder = t1 - t0 < 1000 * points.length;
  const x = (p, i) => L + (W - L - R) * (points.length === 1 ? 0.5 : byOrder ? i / (points.length - 1) : (p.t.getTime() - t0) / (t1 - t0));
  const y = (v) => T + (H - T - B) * (1 - Math.min(v, top) / top);
  for (let k = 0; k <= 4; k++) {
    const v = (top * k) / 4;
    target.append(svg("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: "grid" }));
    target.append(svg("text", { x: L - 4, y: y(v) + 3, "text-anchor": "end", class: "axis" }, format(v)));
  }
  target.append(svg("text", { x: L, y: H - 6, class: "axis" }, points[0].t.toLocaleTimeString(undefined, { hour12: false })));
  target.append(svg("text", { x: W - R, y: H - 6, "text-anchor": "end", class: "axis" }, points[points.length - 1].t.toLocaleTimeString(undefined, { hour12: false })));
  const coords = points.map((p, i) => x(p, i).toFixed(1) + "," + y(p.y).toFixed(1));
  const base = y(0).toFixed(1);
  target.append(svg("polygon", { points: x(points[0], 0).toFixed(1) + "," + base + " " + coords.join(" ") + " " + x(points[points.length - 1], points.length - 1).toFixed(1) + "," + base, fill: color, class: "area" }));
  target.append(svg("polyline", { points: coords.join(" "), stroke: color, class: "series" }));
  points.forEach((p, i) => {
    const dot = svg("circle", { cx: x(p, i), cy: y(p.y), r: 3, fill: color });
    dot.append(svg("title", {}, format(p.y) + " at " + p.t.toLocaleTimeString(undefined, { hour12: false })));
    target.append(dot);
  });
}

function drawUsageCharts(usage) {
  const points = usage.data.map((u) => ({ t: new Date(u.at), cache: u.cache_hit_rate, latency: u.latency_ms }));
  lineChart(document.getElementById("chart-cache"), points.map((p) => ({ t: p.t, y: p.cache })), { color: "#1f9d6b", max: 1, format: (v) => Math.round(v * 100) + "%" });
  lineChart(document.getElementById("chart-latency"), points.map((p) => ({ t: p.t, y: p.latency })), { color: "#e08a1e", format: (v) => (v >= 1000 ? (v / 1000).toFixed(1) + " s" : Math.round(v) + " ms") });
}

// --- the sessions page --------------------------------------------------------------------------

function sessionRow(row) {
  const tr = el("tr", { "data-session": row.id });
  tr.append(
    el("td", {}, el("a", { href: "/ui/sessions/" + row.id, text: row.title || row.id })),
    el("td", { text: fmtTime(row.created_at) }),
    el("td", { text: fmtTime(row.updated_at) }),
    el("td", { class: "num", text: String(row.runs) }),
    el("td", { class: "num", text: String(row.steps) }),
    el("td", { class: "num", text: String(row.prompt_tokens + row.completion_tokens) }),
    el("td", {}, el("span", { class: "meter" }, el("span", { style: "width:" + (row.cache_hit_rate * 100).toFixed(1) + "%" })), " " + pct(row.cache_hit_rate)),
  );
  return tr;
}

function indexPage() {
  const body = document.querySelector("#sessions tbody");
  const events = document.getElementById("events");
  const changed = new Set();
  const refresh = debounce(async () => {
    const rows = await api("/sessions");
    body.replaceChildren(...rows.data.map(sessionRow));
    if (!rows.data.length) body.append(el("tr", { class: "empty" }, el("td", { colspan: "7", text: "No sessions yet: create one with POST /v1/sessions." })));
    for (const tr of body.querySelectorAll("tr[data-session]")) if (changed.has(tr.dataset.session)) tr.classList.add("flash");
    changed.clear();
    document.getElementById("session-count").textContent = String(rows.data.length);
    drawUsageCharts(await api("/usage"));
  }, 500);
  listen(null, (data) => {
    logEvent(events, data, true);
    if (data.session_id) changed.add(data.session_id);
    // the numbers change when a run ends: reloading on every step would cost the store a
    // query per session per step, for every open dashboard
    if (["session_created", "session_deleted", "run_end", "dropped"].includes(data.type)) refresh();
    else if (data.session_id) document.querySelector(`#sessions tr[data-session="${CSS.escape(data.session_id)}"]`)?.classList.add("flash");
  });
  api("/usage").then(drawUsageCharts);
}

// --- one session's page -------------------------------------------------------------------------

const ROLE_COLORS = { system: "#8a94a6", user: "#2f6fdf", assistant: "#1f9d6b", tool: "#e08a1e" };

function preorder(tree) {
  const byId = new Map(tree.nodes.map((n) => [n.id, n]));
  const order = [];
  const walk = (id) => { const n = byId.get(id); if (!n) return; order.push(n); n.children.forEach(walk); };
  walk(tree.root_id);
  return { byId, order };
}

function drawTree(tree, onSelect) {
  const target = document.getElementById("tree");
  const { byId, order } = preorder(tree);
  const ROW = 26, STEP = 20, PAD = 12;
  const row = new Map(order.map((n, i) => [n.id, i]));
  const width = 760, height = order.length * ROW + PAD;
  target.replaceChildren();
  target.setAttribute("width", width);
  target.setAttribute("height", height);
  target.setAttribute("viewBox", `0 0 ${width} ${height}`);
  const cx = (n) => PAD + n.depth * STEP, cy = (n) => PAD + row.get(n.id) * ROW;
  for (const n of order) {
    if (!n.parent_id || !byId.has(n.parent_id)) continue;
    const p = byId.get(n.parent_id);
    target.append(svg("path", { d: `M${cx(p)},${cy(p)} V${cy(n)} H${cx(n)}`, class: "edge" }));
  }
  for (const n of order) {
    const g = svg("g", { class: "node" + (n.id === tree.head_node_id ? " head" : ""), "data-node": n.id, "data-role": n.role });
    g.append(svg("rect", { x: cx(n) - 8, y: cy(n) - ROW / 2 + 2, width: width - cx(n), height: ROW - 4, fill: "transparent", rx: 4 }));
    g.append(svg("circle", { cx: cx(n), cy: cy(n), r: 6, fill: n.kind === "summary" ? "#9b59b6" : ROLE_COLORS[n.role] || "#999" }));
    const label = svg("text", { x: cx(n) + 12, y: cy(n) + 4 });
    label.append(svg("tspan", { class: "role" }, n.role + (n.children.length > 1 ? " \u00b7 " + n.children.length + " branches" : "") + "  "));
    label.append(svg("tspan", {}, short(nodeSummary(n), 90)));
    g.append(label);
    g.addEventListener("click", () => {
      target.querySelectorAll(".node.selected").forEach((s) => s.classList.remove("selected"));
      g.classList.add("selected");
      onSelect(n);
    });
    target.append(g);
  }
  document.getElementById("tree-count").textContent = (() => { const b = order.filter((n) => !n.children.length).length; return `${order.length} messages, ${b} branch${b === 1 ? "" : "es"}`; })();
}

function nodeSummary(n) {
  if (n.role === "system") return n.content ? short(n.content.split("\n")[0], 60) : "(system prompt)";
  const decision = n.parts.find((p) => p.kind === "decision");
  const calls = n.parts.filter((p) => p.kind === "tool-call").map((p) => p.call.tool_name + "(" + JSON.stringify(p.call.arguments) + ")");
  if (calls.length) return "\u2192 " + calls.join(", ");
  const results = n.parts.filter((p) => p.kind === "tool-result").map((p) => p.record.tool + " \u21d2 " + (p.record.error || p.record.result));
  if (results.length) return results.join("; ");
  const answer = n.parts.find((p) => p.kind === "answer");
  if (answer) return answer.content;
  if (decision && !decision.action) return "(unreadable reply) " + n.content;
  return n.content.replace(/\s+/g, " ");
}

function showNode(n) {
  const box = document.getElementById("node-detail");
  box.replaceChildren(
    el("p", {}, el("span", { class: "chip", style: "background:" + (ROLE_COLORS[n.role] || "#999"), text: n.role }), " " + fmtTime(n.created_at) + "  depth " + n.depth),
    el("pre", { text: n.content || "(empty)" }),
  );
  if (n.usage) box.append(el("p", { class: "hint", text: `prompt ${n.usage.prompt_tokens} (cached ${n.usage.cached_tokens}), generated ${n.usage.completion_tokens}, ${Math.round(n.usage.latency_ms)} ms` }));
  for (const part of n.parts) {
    const { kind, ...rest } = part;
    box.append(el("div", { class: "part" }, el("span", { class: "chip", text: kind }), el("pre", { text: JSON.stringify(rest, null, 2) })));
  }
}

function drawSteps(tree) {
  const list = document.getElementById("steps");
  const { byId, order } = preorder(tree);
  const steps = order.filter((n) => n.role === "assistant");
  const maxLatency = Math.max(1, ...steps.map((n) => (n.usage ? n.usage.latency_ms : 0)));
  list.replaceChildren();
  steps.forEach((n, i) => {
    const decision = n.parts.find((p) => p.kind === "decision") || {};
    const action = decision.action || "unreadable";
    const conf = decision.confidence ?? 0;
    const calls = n.parts.filter((p) => p.kind === "tool-call").map((p) => p.call);
    const results = new Map();
    for (const child of n.children.map((id) => byId.get(id)).filter(Boolean)) {
      for (const p of child.parts) if (p.kind === "tool-result") results.set(p.record.id, p.record);
    }
    const asked = new Set(n.parts.filter((p) => p.kind === "approval-request").map((p) => p.call_id));
    const callBox = el("div", { class: "calls" });
    for (const c of calls) {
      const r = results.get(c.id);
      const outcome = r ? el("span", { class: r.error ? "err" : "result", text: " \u21d2 " + short(String(r.error || r.result), 60) + " (" + Math.round(r.duration_ms) + " ms)" })
        : asked.has(c.id) ? el("span", { class: "hint", text: " waiting for approval" }) : null;
      callBox.append(el("div", {}, c.tool_name + "(" + JSON.stringify(c.arguments) + ")", outcome));
    }
    if (!calls.length) callBox.append(el("div", { class: "hint", text: short(nodeSummary(n), 80) }));
    const u = n.usage;
    const tokens = el("div", {});
    if (u) {
      const total = Math.max(1, u.prompt_tokens + u.completion_tokens);
      tokens.append(
        el("div", { class: "tokens", title: "cached / uncached prompt / generated" },
          el("span", { class: "cached", style: `width:${(100 * u.cached_tokens) / total}%` }),
          el("span", { class: "uncached", style: `width:${(100 * (u.prompt_tokens - u.cached_tokens)) / total}%` }),
          el("span", { class: "generated", style: `width:${(100 * u.completion_tokens) / total}%` })),
        el("div", { class: "tokens-label", text: `${u.cached_tokens} cached / ${u.prompt_tokens} prompt, ${u.completion_tokens} generated` }));
    }
    const latency = el("div", { class: "latency" });
    if (u) latency.append(el("span", { class: "bar", style: `width:${(90 * u.latency_ms) / maxLatency}px` }), Math.round(u.latency_ms) + " ms");
    list.append(el("li", { "data-node": n.id },
      el("span", { class: "stepno", text: "#" + (i + 1) }),
      el("div", { class: "decision" }, el("span", { class: "chip " + action, text: action }), el("span", { class: "conf", title: "confidence " + conf.toFixed(2) }, el("span", { style: `width:${conf * 100}%` })), " " + conf.toFixed(2)),
      callBox, tokens, latency));
  });
}

function drawFeedback(status) {
  const box = document.getElementById("feedback");
  const f = status.feedback_summary;
  const avg = f.average_ratings;
  const perf = f.performance_summary;
  box.replaceChildren(el("div", { class: "ratings" },
    el("div", {}, el("div", { class: "big", text: avg.user_rating != null ? avg.user_rating.toFixed(1) + " / 5" : "\u2013" }), el("div", { class: "hint", text: `user rating (${avg.ratings})` })),
    el("div", {}, el("div", { class: "big", text: avg.overall != null ? avg.overall.toFixed(1) + " / 5" : "\u2013" }), el("div", { class: "hint", text: `assessed quality (${avg.assessments})` })),
    el("div", {}, el("div", { class: "big", text: String(perf.runs) }), el("div", { class: "hint", text: "runs" })),
    el("div", {}, el("div", { class: "big", text: perf.engine_cache_hit_rate != null ? pct(perf.engine_cache_hit_rate) : "\u2013" }), el("div", { class: "hint", text: "cache hit rate" })),
    el("div", {}, el("div", { class: "big", text: perf.success_rate != null ? pct(perf.success_rate) : "\u2013" }), el("div", { class: "hint", text: "success rate" }))));
  const list = el("ul", { id: "recommendations" });
  for (const r of f.recommendations) list.append(el("li", { class: r.severity }, el("strong", { text: r.message }), el("div", { class: "hint", text: r.evidence })));
  if (!f.recommendations.length) list.append(el("li", { text: "No recommendations: not enough data, or nothing to change." }));
  box.append(list);
}

// The pending calls: drawn at once from an `approval_required` event (the run's lease is still
// held then, so the list route would wait for the run to end), and redrawn from the list route
// when a run ends or a decision is taken. A call already shown keeps its row (a reason being
// typed, a decision on its way).
function approvalRow(sessionId, item) {
  const approve = el("button", { class: "approve", type: "button", text: "Approve" });
  const deny = el("button", { class: "deny", type: "button", text: "Deny" });
  const reason = el("input", { class: "reason", type: "text", maxlength: "500", placeholder: "why deny (optional, the model reads it)", "aria-label": "reason to deny" });
  const status = el("span", { class: "hint status" });
  const row = el("li", { "data-call": item.call_id }, el("span", { class: "chip tool_call", text: item.tool }), el("code", { text: JSON.stringify(item.arguments) }), reason, approve, deny, status);
  const decide = async (decision) => {
    approve.disabled = deny.disabled = reason.disabled = true;  // the answer may take a whole resumed run: one click is enough
    row.classList.add("deciding");
    status.className = "hint status";
    status.textContent = decision === "approve" ? "approved: the run goes on\u2026" : "denied: the run goes on\u2026";
    try {
      const body = { decision, reason: decision === "deny" ? reason.value.trim() : "" };
      await api(`/v1/sessions/${encodeURIComponent(sessionId)}/approvals/${encodeURIComponent(item.call_id)}`, { method: "POST", body: JSON.stringify(body) });
    } catch (error) {
      approve.disabled = deny.disabled = reason.disabled = false;
      row.classList.remove("deciding");
      status.className = "error status";
      status.textContent = "not taken: " + error.message;
      return;
    }
    loadApprovals(sessionId);
  };
  approve.addEventListener("click", () => decide("approve"));
  deny.addEventListener("click", () => decide("deny"));
  return row;
}

function showApprovals(sessionId, waiting, { replace }) {
  const panel = document.getElementById("approvals");
  const list = document.getElementById("approval-list");
  const rows = new Map([...list.children].map((li) => [li.dataset.call, li]));
  if (replace) {
    const still = new Set(waiting.map((item) => item.call_id));
    for (const [id, li] of rows) if (!still.has(id)) li.remove();
  }
  for (const item of waiting) if (!rows.has(item.call_id)) list.append(approvalRow(sessionId, item));
  panel.hidden = list.children.length === 0;
}

async function loadApprovals(sessionId) {
  let pending;
  try {
    pending = await api("/v1/sessions/" + encodeURIComponent(sessionId) + "/approvals");
  } catch (error) {
    document.getElementById("approvals").hidden = true;  // a server without approvals (404): no panel
    return;
  }
  // the list also holds the decided calls of a turn that still waits for others
  showApprovals(sessionId, pending.data.filter((item) => item.decision == null), { replace: true });
}

function sessionPage() {
  const sessionId = document.body.dataset.session;
  const enc = encodeURIComponent(sessionId);
  let selected = null;
  const reload = debounce(async () => {
    const [tree, usage] = await Promise.all([api(`/v1/sessions/${enc}/tree`), api(`/usage?session_id=${enc}`)]);
    drawTree(tree, (n) => { selected = n.id; showNode(n); });
    drawSteps(tree);
    drawUsageCharts(usage);
    const again = selected && document.querySelector(`#tree .node[data-node="${CSS.escape(selected)}"]`);
    if (again) again.dispatchEvent(new Event("click"));
    drawFeedback(await api(`/v1/sessions/${enc}/status`));
  }, 150);
  const live = document.getElementById("live-run");
  const liveSteps = document.getElementById("live-steps");
  const liveStatus = document.getElementById("live-status");
  const stepItem = (n) => {
    let item = liveSteps.querySelector(`li[data-step="${n}"]`);
    if (!item) {
      item = el("li", { "data-step": String(n) }, el("span", { class: "stepno", text: "#" + n }), el("div", { class: "calls" }));
      liveSteps.append(item);
    }
    return item.querySelector(".calls");
  };
  const decided = () => liveSteps.querySelectorAll(".deciding").forEach((d) => {
    const step = d.closest("li");
    d.remove();
    if (!step.querySelector(".calls").children.length) step.remove();  // a step that only answered: the answer says it
  });
  listen(sessionId, (data) => {
    const e = data.event;
    if (data.type === "step") {
      if (e.step === 1) liveSteps.replaceChildren();
      live.hidden = false;
      liveStatus.textContent = "step " + e.step;
      decided();
      stepItem(e.step).append(el("div", { class: "hint deciding", text: "deciding\u2026" }));
    } else if (data.type === "tool_call" || data.type === "tool_result" || data.type === "failure") {
      decided();
      stepItem(e.step ?? liveSteps.children.length).append(el("div", {}, el("span", { class: "chip " + data.type, text: data.type }), describeEvent(data)));
    } else if (data.type === "run_end") {
      decided();
      const paused = (e.response.pending_approvals || []).length > 0;
      liveStatus.textContent = paused ? "waiting for approval" : e.response.is_successful ? "finished" : "failed";
      // a paused run has no answer yet: the run goes on, in this list, once its calls are decided
      if (!paused) liveSteps.append(el("li", { class: "final" }, el("span", { class: "chip run_end", text: "answer" }), el("div", { text: e.response.content || e.response.error_message || "" })));
      reload();
      loadApprovals(sessionId);
    } else if (data.type === "approval_required") {
      decided();
      liveStatus.textContent = "waiting for approval";
      stepItem(e.step ?? liveSteps.children.length).append(el("div", {}, el("span", { class: "chip approval_required", text: "approval" }), describeEvent(data)));
      showApprovals(sessionId, e.approvals, { replace: false });
    } else if (data.type === "dropped") {
      reload();
    } else if (data.type === "session_deleted") {
      liveStatus.textContent = "the session was deleted";
    }
  });
  reload();
  loadApprovals(sessionId);
}

document.addEventListener("DOMContentLoaded", () => {
  const page = document.body.dataset.page;
  if (page === "index") indexPage();
  else if (page === "session") sessionPage();
});
