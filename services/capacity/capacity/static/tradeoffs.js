// Trade-offs: open ones with the urgent ask, its justification and everything committed this cycle; a
// heat-shield key pauses one piece of work or defers the urgent request, with a note; decided ones below.
// ``?id=<tradeoff id>`` (the trade-off email's link) brings that trade-off into view and focus.
"use strict";

(() => {
  const { api, byId, el, problem, say, showFieldErrors } = Pages;
  const STATES = { committed: "Committed", in_progress: "In progress", paused: "Paused", done: "Done",
                   open: "Waiting" };
  const PAUSABLE = new Set(["committed", "in_progress"]);
  const wanted = new URLSearchParams(location.search).get("id");
  let deciding = false;
  let focusedOnce = false;

  // A lane as people read it (business_unit: "Business unit"); the lanes come with the data, from shared/lanes.py.
  const lane = (name) => (name ? name[0].toUpperCase() + name.slice(1).replace(/_/g, " ") : name);
  const domId = (id) => id.replace(/[^A-Za-z0-9_-]/g, "-");

  function committedTable(tradeoff, key) {
    const rows = tradeoff.committed.map((item) => {
      const choiceId = `pause-${key}-${domId(item.request_id)}`;
      const first = PAUSABLE.has(item.state) && deciding
        ? el("td", {}, [el("span", { className: "choice" }, [
            el("input", { attrs: { type: "radio", name: `choice-${key}`, value: `pause:${item.request_id}`,
                                   id: choiceId, required: "" } }),
            el("label", { text: `Pause “${item.title}”`, attrs: { for: choiceId } })])])
        : el("td", { text: item.title });
      return el("tr", {}, [first, el("td", { text: lane(item.lane) }),
        el("td", { className: "num", text: item.points }), el("td", { text: STATES[item.state] || item.state }),
        el("td", { text: `${item.requester.name || ""} (${item.requester.team})` })]);
    });
    const points = tradeoff.committed.reduce((sum, item) => sum + item.points, 0);
    const head = el("tr", {}, ["Request", "Lane", "Points", "Status", "Asked by"].map((name) =>
      el("th", { text: name, className: name === "Points" ? "num" : "", attrs: { scope: "col" } })));
    const caption = `Everything committed in cycle ${tradeoff.cycle}: ${points} points`
      + (tradeoff.hidden_candidates ? ` (and ${tradeoff.hidden_candidates} you may not see)` : "");
    return el("table", {}, [el("caption", { text: caption }), el("thead", {}, [head]),
                            el("tbody", {}, rows.length ? rows : [el("tr", {}, [
                              el("td", { text: "Nothing is committed this cycle.", attrs: { colspan: "5" } })])])]);
  }

  function decisionForm(tradeoff, key) {
    const urgent = tradeoff.request ? tradeoff.request.title : tradeoff.request_id;
    const deferId = `defer-${key}`;
    const noteId = `note-${key}`;
    const form = el("form", { className: "stack decide", data: { tradeoff: tradeoff.tradeoff_id },
                              attrs: { "aria-label": `Decide on “${urgent}”` } }, [
      el("fieldset", {}, [
        el("legend", { text: "Your decision" }),
        committedTable(tradeoff, key),
        el("p", { className: "choice" }, [
          el("input", { attrs: { type: "radio", name: `choice-${key}`, value: "defer", id: deferId } }),
          el("label", { text: `Pause nothing: defer “${urgent}” to the backlog`, attrs: { for: deferId } })]),
      ]),
      el("div", { className: "field" }, [
        el("label", { text: "Note with the decision", attrs: { for: noteId } }),
        el("p", { className: "hint", text: "Why, in a sentence or two. It goes to the requester whose work is paused.",
                  attrs: { id: `${noteId}-hint` } }),
        el("textarea", { data: { field: "body.note" },
                         attrs: { id: noteId, name: "note", maxlength: "1000", "aria-describedby": `${noteId}-hint` } }),
        el("p", { className: "field-error", data: { errorFor: "body.note" }, attrs: { hidden: "" } })]),
      el("p", { className: "field-error", data: { errorFor: "body.pause" }, attrs: { hidden: "" } }),
      el("div", { className: "actions" }, [el("button", { className: "primary", text: "Record the decision",
                                                          attrs: { type: "submit" } })]),
    ]);
    form.addEventListener("submit", (event) => { event.preventDefault(); decide(form, tradeoff, key); });
    return form;
  }

  async function decide(form, tradeoff, key) {
    const choice = form.querySelector(`input[name="choice-${key}"]:checked`);
    if (!choice) { say("Choose one piece of work to pause, or defer the urgent request."); return; }
    const note = form.querySelector("textarea").value.trim();
    const body = choice.value === "defer" ? { defer: true } : { pause: choice.value.slice("pause:".length) };
    if (note) body.note = note;
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    const answer = await api(`/v1/tradeoffs/${encodeURIComponent(tradeoff.tradeoff_id)}/decision`,
                             { method: "POST", json: body });
    button.disabled = false;
    if (!answer.ok) {
      const found = await problem(answer);
      if ([404, 409, 422].includes(found.status) && !Object.keys(found.fields).length) {
        await load(); // decided elsewhere, closed, or its work moved on: show the trade-offs as they are now
      } else {
        showFieldErrors(form, found.fields);
      }
      say(found.detail);
      return;
    }
    const decided = await answer.json();
    const what = decided.status === "paused"
      ? `paused ${decided.paused_request_id} to commit “${tradeoff.request ? tradeoff.request.title : tradeoff.request_id}”`
      : "deferred the urgent request to the backlog";
    await load();
    say(`Decision recorded: ${what}. The people concerned are told.`, "ok");
  }

  function openCard(tradeoff) {
    const key = domId(tradeoff.tradeoff_id);
    const request = tradeoff.request || { title: tradeoff.request_id, lane: "", points: "", requester: {} };
    const headingId = `heading-${key}`;
    const card = el("article", { className: "card tradeoff", attrs: { id: `tradeoff-${key}`,
                                                                      "aria-labelledby": headingId } }, [
      el("h3", { text: `“${request.title}” asks for room in cycle ${tradeoff.cycle}`,
                 attrs: { id: headingId, tabindex: "-1" } }),
      el("ul", { className: "facts" }, [
        el("li", { text: `Asked by ${request.requester.name || "?"} (${request.requester.team || "?"})` }),
        el("li", { text: `${lane(request.lane)} lane` }),
        el("li", { text: `${request.points} points` }),
        el("li", { text: `Trade-off ${tradeoff.tradeoff_id}` })]),
      el("p", { className: "justification" }, [el("strong", { text: "Why it is urgent: " }),
        request.justification || "No justification was given."]),
      deciding ? decisionForm(tradeoff, key) : committedTable(tradeoff, key),
    ]);
    return card;
  }

  function outcome(tradeoff) {
    if (tradeoff.status === "paused") {
      const paused = tradeoff.committed.find((item) => item.request_id === tradeoff.paused_request_id);
      return `Paused “${paused ? paused.title : tradeoff.paused_request_id || "work you may not see"}”; committed the urgent request`;
    }
    if (tradeoff.status === "deferred") return "Deferred to the backlog";
    return "Closed without a decision (committed, done or withdrawn in the normal course)";
  }

  function decidedTable(items) {
    if (!items.length) return el("p", { className: "muted", text: "No trade-off has been decided yet." });
    const head = el("tr", {}, ["Urgent request", "Cycle", "Outcome", "Decided by", "Note", "Policy"].map((name) =>
      el("th", { text: name, attrs: { scope: "col" } })));
    const rows = items.map((tradeoff) => el("tr", { attrs: { id: `tradeoff-${domId(tradeoff.tradeoff_id)}`,
                                                              tabindex: "-1" } }, [
      el("td", { text: tradeoff.request ? tradeoff.request.title : tradeoff.request_id }),
      el("td", { text: tradeoff.cycle }), el("td", { text: outcome(tradeoff) }),
      el("td", { text: tradeoff.decided_by || "—" }), el("td", { text: tradeoff.note || "—" }),
      el("td", { text: tradeoff.policy_version === null ? "—" : `v${tradeoff.policy_version}` })]));
    return el("table", {}, [el("caption", { text: `${items.length} decided or closed` }),
                            el("thead", {}, [head]), el("tbody", {}, rows)]);
  }

  function bringIntoFocus() {
    if (!wanted || focusedOnce) return;
    focusedOnce = true;
    const target = byId(`tradeoff-${domId(wanted)}`);
    if (!target) { say(`There is no trade-off ${wanted} that this key may see.`, "info"); return; }
    target.classList.add("focused");
    const heading = target.querySelector("h3") || target;
    heading.scrollIntoView({ block: "start" });
    heading.focus();
    if (target.tagName === "TR") say(`Trade-off ${wanted} is already decided; its outcome is highlighted below.`, "info");
  }

  async function load() {
    const answer = await api("/v1/tradeoffs");
    if (!answer.ok) { say((await problem(answer)).detail); return; }
    const items = (await answer.json()).items;
    const open = items.filter((t) => t.status === "open");
    const done = items.filter((t) => t.status !== "open");
    byId("open-title").textContent = `Waiting for a decision (${open.length})`;
    byId("open").replaceChildren(...(open.length ? open.map(openCard)
      : [el("p", { className: "muted", text: "No trade-off is waiting for a decision." })]));
    byId("decided").replaceChildren(decidedTable(done));
    bringIntoFocus();
  }

  document.addEventListener("DOMContentLoaded", () => Pages.gate((me) => {
    deciding = me.role === "heat_shield";
    byId("read-only").hidden = deciding;
    load();
  }));
})();
