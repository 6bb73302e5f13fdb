// My requests: every request a requester tool posted (with its key), or the one request a signed link opens
// (``#request=<id>&token=<token>``, no key): status, position, expected start, the timeline, withdraw.
"use strict";

(() => {
  const { api, byId, dateText, el, problem, say } = Pages;
  const STATUS_WORDS = {
    submitted: "Received", classified: "Measured against the objectives", committed: "Committed to a cycle",
    backlogged: "Waiting in the backlog", in_progress: "In progress", paused: "Paused", done: "Done",
    withdrawn: "Withdrawn", merged: "Merged into another request",
  };
  const FINAL = ["done", "withdrawn", "merged"];
  const place = new URLSearchParams(location.hash.slice(1));
  const token = place.get("token");
  let shown = null; // the request on the page

  // A signed link travels in its own header; without one, Pages.api sends the tab's key.
  const headers = () => (token ? { "X-Request-Link": token } : {});
  const latest = (request, type) => request.timeline.filter((entry) => entry.type === type).at(-1);

  // The range last told: the backlog notice's, or a later "start moved out" notice's.
  function startText(backlogged, slipped) {
    const data = backlogged.data;
    if (data.beyond_horizon) {
      return `No place yet in the weeks planned: not before cycle ${data.expected_start_cycle}, `
        + `the week of ${dateText(data.expected_start)}.`;
    }
    const forecast = slipped ? slipped.data.start_forecast : data.start_forecast;
    if (forecast && (forecast.p85 !== forecast.likely || forecast.p95 !== forecast.likely)) {
      return `Most likely the week of ${dateText(forecast.likely)}; by ${dateText(forecast.p85)} at 85% `
        + `and ${dateText(forecast.p95)} at 95% likelihood (cycle ${data.expected_start_cycle} by the plan).`;
    }
    if (forecast) return `The week of ${dateText(forecast.likely)} (cycle ${data.expected_start_cycle}).`;
    return `Cycle ${data.expected_start_cycle}, the week of ${dateText(data.expected_start)}.`;
  }

  function row(id, text) {
    byId(`${id}-row`).hidden = !text;
    if (text) byId(id === "start" ? "expected-start" : id).textContent = text;
  }

  function render(request) {
    shown = request;
    byId("list").hidden = true;
    byId("request").hidden = false;
    byId("request-title").textContent = request.request.title;
    byId("status").textContent = STATUS_WORDS[request.status] || request.status;
    const waiting = ["backlogged", "paused"].includes(request.status);
    const backlogged = waiting ? latest(request, "request.backlogged") : null;
    row("position", backlogged ? `Number ${backlogged.data.position}` : "");
    const slipped = backlogged ? latest(request, "request.forecast_slipped") : null;
    const moved = slipped && new Date(slipped.time) > new Date(backlogged.time) ? slipped : null;
    row("start", backlogged ? startText(backlogged, moved) : "");
    const scheduled = request.status === "committed" ? latest(request, "request.scheduled") : null;
    row("cycle", scheduled ? `Cycle ${scheduled.data.cycle}, from ${dateText(scheduled.data.cycle_start)}` : "");
    const classified = latest(request, "request.classified");
    row("objective", classified ? (classified.data.objective_id || "No published objective") : "");
    byId("reason").hidden = !backlogged;
    byId("reason").textContent = backlogged ? `Why it waits: ${backlogged.data.reason}` : "";
    const who = request.request.requester;
    byId("asked-by").textContent = `${who.name} (${who.team}), ${dateText(request.submitted_at)}`;
    byId("timeline").replaceChildren(...request.timeline.map((entry) => el("li", {}, [
      el("time", { text: new Date(entry.time).toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" }),
                   attrs: { datetime: entry.time } }),
      " ", el("span", { text: entry.summary }),
    ])));
    // Through a link, only the request's own requester may withdraw it (not one whose request was merged in).
    byId("withdraw-box").hidden = FINAL.includes(request.status) || request.link_may_withdraw === false;
  }

  let refresh = null;
  async function open(id, focus = true) {
    clearTimeout(refresh);
    const answer = await api(`/v1/requests/${encodeURIComponent(id)}`, { headers: headers() });
    if (!answer.ok) {
      say((await problem(answer)).detail);
      return null;
    }
    const request = await answer.json();
    render(request);
    if (focus) byId("request-title").focus();
    // A request on its way through the pipeline moves within seconds; later ones within days.
    if (!FINAL.includes(request.status)) {
      const soon = ["submitted", "classified"].includes(request.status);
      refresh = setTimeout(() => { if (shown && shown.id === id) open(id, false); }, soon ? 2000 : 30000);
    }
    return request;
  }

  async function list() {
    // Every request the tool posted, newest first: page after page, up to 100 pages of 50.
    const items = [];
    let cursor = null;
    for (let pages = 0; pages < 100; pages += 1) {
      const answer = await api(`/v1/requests?limit=50${cursor === null ? "" : `&cursor=${encodeURIComponent(cursor)}`}`);
      if (!answer.ok) { say((await problem(answer)).detail); return; }
      const page = await answer.json();
      items.push(...page.items);
      cursor = page.next_cursor ?? null;
      if (cursor === null) break;
    }
    if (cursor !== null) say(`Showing the newest ${items.length} requests.`, "info");
    byId("list").hidden = false;
    byId("request").hidden = true;
    byId("rows").replaceChildren(...items.map((item) => el("tr", {}, [
      el("td", {}, [el("a", { text: item.title, attrs: { href: `#request=${encodeURIComponent(item.id)}` } })]),
      el("td", { text: STATUS_WORDS[item.status] || item.status }),
      el("td", { text: (item.lane || "").replace("_", "-") }),
      el("td", { text: dateText(item.submitted_at) }),
    ])));
    if (!items.length) byId("rows").append(el("tr", {}, [el("td", { text: "No requests yet.", attrs: { colspan: "4" } })]));
  }

  async function withdraw(event) {
    event.preventDefault();
    const reason = byId("withdraw-reason").value.trim();
    const button = byId("withdraw");
    button.disabled = true;
    const answer = await api(`/v1/requests/${encodeURIComponent(shown.id)}/withdraw`,
                             { method: "POST", headers: headers(), ...(reason ? { json: { reason } } : {}) });
    if (answer.status !== 202) {
      button.disabled = false;
      say((await problem(answer)).detail);
      return;
    }
    say("Withdrawing…", "info");
    // The withdrawal is on the log; the status follows as soon as intake has read it back.
    for (let tries = 0; tries < 40; tries += 1) {
      const request = await open(shown.id, false);
      if (request && request.status === "withdrawn") break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    button.disabled = false;
    say(shown.status === "withdrawn" ? "Withdrawn. The team will not work on it." : "The withdrawal is on its way.",
        shown.status === "withdrawn" ? "ok" : "info");
    byId("status").focus();
  }

  function route() {
    const id = new URLSearchParams(location.hash.slice(1)).get("request");
    byId("back").hidden = Boolean(token);
    if (id) open(id); else list();
  }

  document.addEventListener("DOMContentLoaded", () => {
    byId("withdraw-form").addEventListener("submit", withdraw);
    byId("status").setAttribute("tabindex", "-1");
    if (token && place.get("request")) {
      byId("key-form").hidden = true;
      byId("content").hidden = false;
      byId("who").textContent = "Opened from your link";
      open(place.get("request"));
      return;
    }
    byId("forget").hidden = false;
    let started = false;
    Pages.gate(() => {
      if (!started) window.addEventListener("hashchange", route);
      started = true;
      route();
    });
  });
})();
