// The capacity dashboard: reads /v1/dashboard/stream (server-sent events, read with fetch so that the
// API key travels in the Authorization header, never in a URL) and redraws on every snapshot.
"use strict";

const KEY_STORE = "capacity-dashboard-key";
const MOVERS = ["team_member", "heat_shield", "ops"];
const SHOWN = { backlog: 5, committed: 8, in_progress: 8, paused: 4, done: 4 };
const VERBS = { start: "Start", done: "Done", pause: "Pause" };
const EXPORTS = {
  csv: ["/v1/reports/shares.csv", "capacity-shares.csv"],
  json: ["/v1/reports/shares", "capacity-shares.json"],
  svg: ["/v1/reports/shares.svg", "capacity-shares.svg"],
  png: ["/v1/reports/shares.png", "capacity-shares.png"],
};

const state = { key: null, canMove: false, stream: null, retryMs: 1000, chartVersion: null, snapshot: null,
  flowVersion: null, calibratedAt: null };

const { byId, el } = Pages;  // the DOM helpers every page shares (/pages/assets/pages.js)

const pct = (share) => `${Math.round(share * 100)}%`;

function paint(node, lane) {
  node.style.backgroundColor = lane.hex;
  node.style.color = lane.ink;
  return node;
}

function api(path, options = {}) {
  const headers = { ...(options.headers || {}), Authorization: `Bearer ${state.key}` };
  return fetch(path, { ...options, headers, cache: "no-store" });
}

async function problemDetail(response) {
  try {
    const body = await response.json();
    return body.detail || body.title || `The service answered ${response.status}.`;
  } catch {
    return `The service answered ${response.status}.`;
  }
}

function say(text, kind = "error") {
  const box = byId("message");
  box.textContent = text || "";
  box.className = `message ${kind}`;
  box.hidden = !text;
}

function setLive(mode, detail) {
  const live = byId("live");
  live.dataset.state = mode;
  const words = { live: "live", connecting: "connecting…", reconnecting: "reconnecting…", stale: "data stale",
                  idle: "not connected" };
  live.textContent = words[mode] || mode;
  live.title = detail || "";
}

// --- the key -----------------------------------------------------------------------------------

function askForKey(problem) {
  if (state.stream) state.stream.abort();
  byId("dashboard").hidden = true;
  byId("key-form").hidden = false;
  byId("key-error").textContent = problem || "";
  setLive("idle");
  byId("key-input").focus();
}

function forgetKey(problem) {
  localStorage.removeItem(KEY_STORE);
  state.key = null;
  askForKey(problem);
}

async function open() {
  state.key = localStorage.getItem(KEY_STORE);
  if (!state.key) {
    askForKey();
    return;
  }
  byId("key-form").hidden = true;
  byId("dashboard").hidden = false;
  if (await whoAmI()) connect();
}

async function whoAmI() {
  let response;
  try {
    response = await api("/v1/me");
  } catch (error) {
    state.canMove = false;
    return true; // the stream will retry and say what is wrong
  }
  if (response.status === 401) {
    forgetKey(await problemDetail(response));
    return false;
  }
  if (response.status === 404) { // a service without roles yet: every key may move cards
    state.canMove = true;
    byId("who").textContent = "";
  } else if (response.ok) {
    const me = await response.json();
    state.canMove = MOVERS.includes(me.role);
    byId("who").textContent = `${me.tool} · ${String(me.role).replace(/_/g, " ")}${state.canMove ? "" : " · read only"}`;
  } else {
    state.canMove = false;
  }
  document.body.dataset.canMove = String(state.canMove);
  return true;
}

// --- the stream --------------------------------------------------------------------------------

async function connect() {
  if (state.stream) state.stream.abort();
  const stream = new AbortController();
  state.stream = stream;
  setLive("connecting");
  try {
    const response = await api("/v1/dashboard/stream", { signal: stream.signal,
                                                         headers: { Accept: "text/event-stream" } });
    if (response.status === 401 || response.status === 403) { // a key that may not read the board: no retry
      forgetKey(await problemDetail(response));
      return;
    }
    if (!response.ok) throw new Error(await problemDetail(response));
    state.retryMs = 1000;
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer = (buffer + decoder.decode(value, { stream: true })).replace(/\r\n?/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        onFrame(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
      }
    }
    setLive("reconnecting", "The stream ended.");
  } catch (error) {
    if (stream.signal.aborted) return;
    setLive("reconnecting", error.message);
  }
  if (stream.signal.aborted || state.stream !== stream) return;
  setTimeout(connect, state.retryMs);
  state.retryMs = Math.min(state.retryMs * 2, 15000);
}

function onFrame(frame) {
  let event = "message";
  const data = [];
  for (const line of frame.split("\n")) {
    if (!line || line.startsWith(":")) continue; // a comment: the heartbeat
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
  }
  if (data.length === 0) return;
  const payload = JSON.parse(data.join("\n"));
  if (event === "snapshot") {
    setLive("live");
    render(payload);
  } else if (event === "unavailable") {
    setLive("stale", payload.detail);
  }
}

// --- drawing -----------------------------------------------------------------------------------

function render(snapshot) {
  state.snapshot = snapshot;
  const updated = new Date(snapshot.generated_at).toLocaleTimeString();
  byId("cycle").textContent = `Cycle ${snapshot.cycle} · ${snapshot.shares.capacity_points} points · ` +
    `policy version ${snapshot.policy_version} · updated ${updated}`;
  byId("columns").replaceChildren(...snapshot.columns.map(column));
  renderShares(snapshot.shares, snapshot.lanes);
  renderBacklog(snapshot.backlog, snapshot.backlog_hidden || 0);
  renderAttention(snapshot);
  renderOverlaps(snapshot.overlaps || []);
  if (state.chartVersion !== snapshot.version) refreshChart(snapshot.version);
  if (state.flowVersion !== snapshot.version) refreshFlow(snapshot.version);
}

function wipLine(wip) {
  const line = el("p", { className: "wip", attrs: { title: `Counts the cards ${wip.counts}.` } });
  const figure = el("strong", { text: `${wip.count} / ${wip.limit}`, className: wip.over ? "over" : "" });
  line.append(`${wip.caption}: `, figure);
  if (wip.over) line.append(el("span", { className: "over", text: " — over limit" }));
  return line;
}

function laneWip(wip) {
  const shown = wip.lanes.filter((lane) => lane.count > 0 || lane.over);
  if (shown.length === 0) return null;
  return el("ul", { className: "lane-wip" }, shown.map((lane) => el("li", {
    className: lane.over ? "over" : "",
    text: `${lane.lane.replace(/_/g, " ")} ${lane.count} / ${lane.limit}${lane.over ? " — over limit" : ""}`,
  })));
}

function column(col) {
  const over = Boolean(col.wip && (col.wip.over || col.wip.lanes.some((lane) => lane.over)));
  const node = el("section", { className: `column${over ? " over" : ""}`, data: { column: col.name } });
  const title = el("h2", {}, [el("span", { text: col.title }), el("span", { className: "count", text: col.count })]);
  node.append(el("header", {}, [title, col.wip ? wipLine(col.wip) : null, col.wip ? laneWip(col.wip) : null]));
  const limit = SHOWN[col.name] || 8;
  const cards = el("div", { className: "cards" }, col.cards.slice(0, limit).map(card));
  node.append(cards);
  const more = col.count - Math.min(limit, col.cards.length);
  if (more > 0) node.append(el("p", { className: "more", text: `+ ${more} more` }));
  // A requester tool's key sees its own cards; the others are counted, never shown.
  if (col.hidden > 0) node.append(el("p", { className: "more", text: `+ ${col.hidden} of other tools (not shown)` }));
  return node;
}

// "O2 · Customers reach value in 90 days"; "OKR O2" (`unnamed` and the id) while its title is not known.
function objectiveLabel(id, title, unnamed) {
  return title ? `${id} · ${title}` : `${unnamed} ${id}`;
}

function card(item) {
  const node = paint(el("article", { className: "card", data: { requestId: item.request_id, lane: item.lane } }), item);
  const tagline = el("div", { className: "tagline" }, [el("span", { className: "lane-tag", text: item.label })]);
  if (item.expedite) tagline.append(el("span", { className: "urgent", text: "urgent" }));
  if (item.position) tagline.append(el("span", { text: `#${item.position} · from ${item.expected_start_cycle}` }));
  // Looks like the same or overlapping work as another open card: combine them, or merge one into the other.
  if (item.linked && item.linked.length) {
    const names = item.linked.map((l) => `${l.kind} of ${l.request_id} (${pct(l.score)})`).join("; ");
    tagline.append(el("span", { className: "linked", text: `linked ×${item.linked.length}`, attrs: { title: names } }));
  }
  // An objective gets a line of its own, as wide as the card: beside the move buttons its title would not show.
  const objective = item.objective_id ? objectiveLabel(item.objective_id, item.objective_title, "OKR") : null;
  const figures = `${item.points} pts${objective ? "" : " · no OKR"}`;
  const meta = el("div", { className: "meta" }, [el("p", { text: figures })]);
  if (state.canMove && item.moves.length > 0) {
    meta.append(el("div", { className: "moves" }, item.moves.map((move) => el("button", {
      text: VERBS[move] || move, attrs: { type: "button", "aria-label": `${VERBS[move] || move}: ${item.title}` },
      data: { move, requestId: item.request_id },
    }))));
  }
  node.append(tagline, el("h3", { text: item.title, attrs: { title: item.title } }),
              el("p", { className: "who", text: `${item.requester || "?"} · ${item.team}` }));
  if (objective) node.append(el("p", { className: "objective", text: objective, attrs: { title: objective } }));
  node.append(meta);
  return node;
}

function shareRow(name, lane, share, target, text, over, className = "") {
  const track = el("div", { className: "track" });
  const fill = el("div", { className: "fill" });
  const scale = Math.max(1, share, target || 0);
  fill.style.width = `${(share / scale) * 100}%`;
  fill.style.backgroundColor = lane ? lane.hex : "#4b5563";
  track.append(fill);
  if (target !== null && target !== undefined) {
    const mark = el("div", { className: "target", attrs: { title: text } });
    mark.style.left = `${(target / scale) * 100}%`;
    track.append(mark);
  }
  return el("div", { className: `share-row ${className}`.trim() }, [
    el("span", { className: "name", text: name, attrs: { title: name } }), track,
    el("span", { className: `share-text${over ? " over" : ""}`, text }),
  ]);
}

function renderShares(shares, lanes) {
  const colours = Object.fromEntries(lanes.map((lane) => [lane.lane, lane]));
  byId("lane-shares").replaceChildren(...shares.lanes.map((row) => {
    const target = row.policy_share;
    let text = `${pct(row.share)} · ${row.points} pts`;
    if (target !== null) text += ` · ${row.policy_kind} ${pct(target)}`;
    if (row.over) text += " — over cap";
    if (row.under_reserve) text += " — below reserve";
    return shareRow(row.lane.replace(/_/g, " "), colours[row.lane], row.share, target, text, row.over);
  }));
  const internal = byId("internal-share");
  internal.textContent = `Internal requests: ${pct(shares.internal_share)} of this cycle, against the ` +
    `${pct(shares.internal_allowance)} the customer reserve leaves` + (shares.internal_over ? " — over" : ".");
  internal.className = `summary${shares.internal_over ? " over" : ""}`;
  const objectives = shares.objectives.map((row) => shareRow(
    row.objective_id ? objectiveLabel(row.objective_id, row.title, "objective") : "no objective",
    null, row.share, null, `${pct(row.share)} · ${row.points} pts`, false, "titled"));
  byId("objective-shares").replaceChildren(
    ...(objectives.length ? objectives : [el("p", { className: "empty", text: "Nothing committed yet." })]));
}

function chip(item) {
  return paint(el("span", { className: "chip", text: item.label }), item);
}

function renderBacklog(items, hidden) {
  const list = byId("backlog");
  if (items.length === 0 && hidden > 0) {
    list.replaceChildren(el("li", { className: "more", text: `${hidden} waiting, of other tools (not shown)` }));
    return;
  }
  if (items.length === 0) {
    list.replaceChildren(el("li", { className: "empty", text: "The backlog is empty." }));
    return;
  }
  list.replaceChildren(...items.slice(0, 10).map((item) => el("li", {}, [
    chip(item), el("span", { text: `${item.title} ` }),
    el("span", { className: "when", text: `— expected to start ${item.expected_start_cycle}` }),
  ])));
  if (items.length > 10) list.append(el("li", { className: "more", text: `+ ${items.length - 10} more` }));
  if (hidden > 0) list.append(el("li", { className: "more", text: `+ ${hidden} of other tools (not shown)` }));
}

function renderOverlaps(overlaps) {
  const entries = overlaps.map((o) => el("li", {}, [
    el("span", { className: "kind", text: `${o.kind === "duplicate" ? "Duplicate" : "Overlap"} ${pct(o.score)}: ` }),
    ...o.requests.flatMap((r, i) => [i ? " and " : "", chip(r), ` "${r.title}" (${r.team})`]),
    o.hidden ? ` and ${o.hidden} request of another tool (not shown)` : "",
  ]));
  byId("overlaps").replaceChildren(
    ...(entries.length ? entries : [el("li", { className: "empty", text: "No open overlaps." })]));
}

function renderAttention(snapshot) {
  const entries = [];
  for (const t of snapshot.tradeoffs) {
    entries.push(el("li", {}, [el("span", { className: "kind", text: "Trade-off: " }), chip(t),
      `"${t.title}" is urgent and does not fit ${t.cycle}. What should we pause? ` +
      (t.candidates.map((c) => c.title).join(", ") || "nothing is committed")]));
  }
  for (const c of snapshot.collisions) {
    entries.push(el("li", {}, [el("span", { className: "kind", text: "Collision: " }),
      `${c.teams.join(" and ")} need large work by ${c.cycle}: ${c.points_needed} points against ` +
      `${c.points_available} available (${c.requests.map((r) => r.title).join(", ")}).`]));
  }
  for (const a of snapshot.alerts) {
    entries.push(el("li", {}, [el("span", { className: "kind", text: "Alert: " }), a.observation]));
  }
  byId("attention").replaceChildren(
    ...(entries.length ? entries : [el("li", { className: "empty", text: "No open trade-offs, collisions or alerts." })]));
}

async function refreshChart(version) {
  try {
    const response = await api("/v1/reports/shares.svg?width=960&height=420");
    if (!response.ok) return;
    const svg = new DOMParser().parseFromString(await response.text(), "image/svg+xml").documentElement;
    if (svg.nodeName !== "svg") return;
    svg.removeAttribute("width");
    svg.removeAttribute("height");
    byId("history-chart").replaceChildren(document.importNode(svg, true));
    state.chartVersion = version;
  } catch (error) {
    // the next snapshot tries again
  }
}

// --- flow and forecasts (GET /v1/flow, /v1/flow/cfd.svg, /v1/forecast/calibration) ------------

const days = (figures, p) => (figures ? `${figures[p]}` : "–");
const CALIBRATION_EVERY_MS = 10 * 60 * 1000; // the back-test replays a year: not on every snapshot

function table(id, head, rows) {
  const header = el("tr", {}, head.map((h) => el("th", { text: h })));
  byId(id).replaceChildren(el("thead", {}, [header]),
    el("tbody", {}, rows.map((cells) => el("tr", {}, cells.map((c) => el("td", { text: c }))))));
}

async function refreshFlow(version) {
  state.flowVersion = version;
  try {
    const response = await api("/v1/flow");
    if (!response.ok) return;
    const flow = await response.json();
    table("flow-lanes", ["Lane", "WIP", "Done / cycle", "Cycle time p50 · p85 · p95 (days)", "Lead time p85"],
      flow.lanes.map((l) => [l.lane.replace("_", "-"), l.wip, l.throughput.per_cycle,
        l.cycle_time_days ? ["p50", "p85", "p95"].map((p) => days(l.cycle_time_days, p)).join(" · ") : "–",
        days(l.lead_time_days, "p85")]));
    const sles = flow.lanes.filter((l) => l.sle).map((l) => l.sle.statement);
    const late = flow.work_in_progress.filter((w) => w.past_sle).length;
    byId("flow-sle").textContent = (sles.join(" ") || "No lane has finished 10 requests yet: no SLE.") +
      (late ? ` ${late} in progress past their lane's SLE.` : "");
    const svg = await api("/v1/flow/cfd.svg?days=90&width=640&height=360");
    if (svg.ok) {
      const node = new DOMParser().parseFromString(await svg.text(), "image/svg+xml").documentElement;
      if (node.nodeName === "svg") {
        node.removeAttribute("width");
        node.removeAttribute("height");
        byId("flow-cfd").replaceChildren(document.importNode(node, true));
      }
    }
    if (!state.calibratedAt || Date.now() - state.calibratedAt > CALIBRATION_EVERY_MS) refreshCalibration();
  } catch (error) {
    state.flowVersion = null; // the next snapshot tries again
  }
}

async function refreshCalibration() {
  const response = await api("/v1/forecast/calibration");
  if (!response.ok) return;
  const found = await response.json();
  state.calibratedAt = Date.now();
  const share = (s, p) => (s && s[p] !== null ? pct(s[p]) : "–");
  table("calibration", ["Lane", "Forecasts judged", "Started by 50%", "by 85%", "by 95%", "Brier"],
    [...found.lanes, { lane: "all lanes", ...found.overall }].map((l) => [l.lane.replace("_", "-"), l.judged,
      share(l.started_by, "p50"), share(l.started_by, "p85"), share(l.started_by, "p95"),
      l.brier === null ? "–" : l.brier.toFixed(3)]));
}

// --- actions -----------------------------------------------------------------------------------

async function move(button) {
  const { move: action, requestId } = button.dataset;
  const title = button.closest(".card").querySelector("h3").textContent;
  button.disabled = true;
  try {
    const response = await api(`/v1/work/${encodeURIComponent(requestId)}/${action}`, { method: "POST" });
    if (response.ok) say(`${VERBS[action]}: "${title}". The board updates by itself.`, "ok");
    else say(await problemDetail(response));
  } catch (error) {
    say(`The move did not reach the service: ${error.message}`);
  } finally {
    button.disabled = false;
  }
}

async function download(kind) {
  const [path, fallback] = EXPORTS[kind];
  const response = await api(path);
  if (!response.ok) {
    say(await problemDetail(response));
    return;
  }
  const disposition = response.headers.get("Content-Disposition") || "";
  const named = /filename="([^"]+)"/.exec(disposition);
  const url = URL.createObjectURL(await response.blob());
  const link = el("a", { attrs: { href: url, download: named ? named[1] : fallback } });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

document.addEventListener("DOMContentLoaded", () => {
  byId("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const key = byId("key-input").value.trim();
    if (!key) return;
    localStorage.setItem(KEY_STORE, key);
    byId("key-input").value = "";
    open();
  });
  byId("forget").addEventListener("click", () => forgetKey());
  byId("columns").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-move]");
    if (button) move(button);
  });
  for (const button of document.querySelectorAll("[data-export]")) {
    button.addEventListener("click", () => download(button.dataset.export));
  }
  open();
});
