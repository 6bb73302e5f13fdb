// Policy: the current policy as a form; ops previews its effect (POST /v1/policy/preview: the planner's
// answer on a copy, nothing saved), then saves exactly what was previewed (PUT /v1/policy); every saved
// version below with who published it and what it changed.
"use strict";

(() => {
  const { api, byId, el, problem, say, showFieldErrors } = Pages;
  const SCALARS = {
    "cycle-fields": [["cycle_days", "Days per cycle", 1], ["capacity_points", "Points per cycle", 1],
                     ["customer_reserve", "Customer reserve (share, 0 to 1)", 0.05],
                     ["horizon_cycles", "Cycles planned ahead", 1], ["max_wait_cycles", "Most cycles work may wait", 1],
                     ["default_points", "Points when no size is given", 1],
                     ["large_points", "Large work starts at (points)", 1]],
  };
  const MAPS = [["cap-fields", "lane_caps", 0.01], ["wip-fields", "wip_limits", 1], ["size-fields", "size_points", 1]];
  const STATUS = { committed: "committed", in_progress: "in progress", paused: "paused", backlogged: "in the backlog",
                   done: "done" };
  let mayEdit = false;
  let previewed = null;

  // A lane as people read it (business_unit: "Business unit"); the lanes come with the data, from shared/lanes.py.
  const lane = (name) => (name ? name[0].toUpperCase() + name.slice(1).replace(/_/g, " ") : name);
  const percent = (share) => `${Math.round(share * 1000) / 10}%`;

  function field(path, label, step, value) {
    const id = `f-${path.replace(/\./g, "-")}`;
    return el("div", { className: "field" }, [
      el("label", { text: label, attrs: { for: id } }),
      el("input", { data: { field: `body.${path}`, path }, attrs: { id, type: "number", step: String(step),
                    min: "0", value: String(value), required: "", inputmode: step < 1 ? "decimal" : "numeric",
                    ...(mayEdit ? {} : { readonly: "" }) } }),
      el("p", { className: "field-error", data: { errorFor: `body.${path}` }, attrs: { hidden: "" } })]);
  }

  function fill(policy) {
    byId("current-title").textContent = `The policy (version ${policy.version})`;
    for (const [box, fields] of Object.entries(SCALARS)) {
      byId(box).replaceChildren(...fields.map(([name, label, step]) => field(name, label, step, policy[name])));
    }
    for (const [box, name, step] of MAPS) {
      const inputs = Object.entries(policy[name]).map(([key, value]) =>
        field(`${name}.${key}`, name === "size_points" ? `Size ${key}` : lane(key), step, value));
      if (name === "wip_limits") inputs.push(field("wip_total", "All lanes together", 1, policy.wip_total));
      byId(box).replaceChildren(...inputs);
    }
  }

  // The form as the body PUT /v1/policy takes; an empty or unreadable number is sent as null, so the
  // service names the field that is wrong.
  function collect() {
    const body = {};
    for (const input of byId("policy-form").querySelectorAll("input[data-path]")) {
      const number = input.value.trim() === "" ? null : Number(input.value);
      const value = Number.isFinite(number) ? number : null;
      const [name, key] = input.dataset.path.split(".");
      if (key === undefined) body[name] = value;
      else (body[name] = body[name] || {})[key] = value;
    }
    return body;
  }

  function table(caption, headings, rows, empty) {
    if (!rows.length) return el("p", { className: "muted", text: empty });
    const head = el("tr", {}, headings.map((name) => el("th", { text: name, attrs: { scope: "col" } })));
    return el("table", {}, [el("caption", { text: caption }), el("thead", {}, [head]),
      el("tbody", {}, rows.map((cells) => el("tr", {}, cells.map((cell) => el("td", { text: cell })))))]);
  }

  const place = (where) => (where.status === "backlogged"
    ? `backlog #${where.position}, from ${where.expected_start_cycle}` : STATUS[where.status] || where.status);
  const shown = (value) => (value === null || value === undefined ? "—" : String(value));

  function renderPreview(found) {
    const { before, after } = found;
    const figures = el("div", { className: "figures" }, [
      ["Committed this cycle", `${before.committed_points} → ${after.committed_points} points`],
      ["Cycle", before.cycle === after.cycle ? after.cycle : `${before.cycle} → ${after.cycle}`],
      ["Backlog", `${before.backlog_depth} → ${after.backlog_depth} requests`],
      ["Cards that move", String(found.moves.length)]].map(([name, value]) =>
        el("div", {}, [el("p", { className: "muted", text: name }), el("p", { className: "figure", text: value })])));
    // In lane order (customer first), as the service lists them.
    const lanes = [...new Set([...(after.lanes || []), ...(before.lanes || [])])];
    byId("preview-body").replaceChildren(
      figures,
      table("Settings that change", ["Setting", "Now", "Proposed"],
            found.changes.map((c) => [c.setting, shown(c.before), shown(c.after)]),
            "These values are the current policy's: nothing would change."),
      table("Shares of this cycle", ["Lane", "Share now", "Share after", "Lane budget after (points)"],
            lanes.map((name) => [lane(name), percent(before.shares[name] || 0), percent(after.shares[name] || 0),
                                 shown(after.budgets[name])]), "Nothing is committed this cycle."),
      table("Cards that would move", ["Request", "Lane", "Points", "Move", "Now", "After"],
            found.moves.map((m) => [m.title, lane(m.lane), String(m.points), m.move, place(m.before),
                                    place(m.after)]), "No card would move."),
      table(`What would be committed in cycle ${after.cycle}`, ["Request", "Lane", "Points", "Status"],
            after.committed.map((c) => [c.title, lane(c.lane), String(c.points), STATUS[c.status] || c.status]),
            "Nothing would be committed this cycle."));
    byId("preview-box").hidden = false;
    byId("preview-title").focus();
  }

  async function preview(event) {
    event.preventDefault();
    const form = byId("policy-form");
    const body = collect();
    const answer = await api("/v1/policy/preview", { method: "POST", json: body });
    if (!answer.ok) {
      const found = await problem(answer);
      showFieldErrors(form, found.fields);
      say(found.detail);
      return;
    }
    showFieldErrors(form, {});
    say("");
    previewed = JSON.stringify(body);
    byId("save").disabled = false;
    renderPreview(await answer.json());
  }

  async function save() {
    const body = collect();
    if (JSON.stringify(body) !== previewed) { say("Preview these values before saving them."); return; }
    byId("save").disabled = true;
    const answer = await api("/v1/policy", { method: "PUT", json: body });
    if (!answer.ok) {
      const found = await problem(answer);
      showFieldErrors(byId("policy-form"), found.fields);
      say(found.detail);
      byId("save").disabled = false; // the values previewed stand: saving them may be tried again (a 503, a 429)
      return;
    }
    const policy = await answer.json();
    previewed = null;
    byId("preview-box").hidden = true;
    fill(policy);
    await versions();
    say(`Policy version ${policy.version} is saved; the board is planned by it now.`, "ok");
  }

  function changesList(changes) {
    if (!changes.length) return "The planner's defaults";
    return el("ul", { className: "changes" }, changes.map((c) =>
      el("li", { text: `${c.setting}: ${shown(c.before)} → ${shown(c.after)}` })));
  }

  async function versions() {
    const answer = await api("/v1/policy/versions");
    if (!answer.ok) { say((await problem(answer)).detail); return; }
    const items = (await answer.json()).items;
    const head = el("tr", {}, ["Version", "Published by", "What changed"].map((name) =>
      el("th", { text: name, attrs: { scope: "col" } })));
    const rows = items.map((v) => el("tr", {}, [el("td", { text: `v${v.version}` }),
      el("td", { text: v.updated_by || "—" }), el("td", {}, [changesList(v.changes)])]));
    byId("versions").replaceChildren(items.length
      ? el("table", {}, [el("caption", { text: "Newest first" }), el("thead", {}, [head]), el("tbody", {}, rows)])
      : el("p", { className: "muted", text: "No policy has been saved yet: the planner's defaults apply." }));
  }

  async function load() {
    const answer = await api("/v1/policy");
    if (!answer.ok) { say((await problem(answer)).detail); return; }
    fill(await answer.json());
    await versions();
  }

  document.addEventListener("DOMContentLoaded", () => {
    byId("policy-form").addEventListener("submit", preview);
    byId("policy-form").addEventListener("input", () => {
      byId("save").disabled = previewed === null || JSON.stringify(collect()) !== previewed;
    });
    byId("save").addEventListener("click", save);
    Pages.gate((me) => {
      mayEdit = me.role === "ops";
      byId("read-only").hidden = mayEdit;
      byId("preview").hidden = !mayEdit;
      byId("save").hidden = !mayEdit;
      byId("save-hint").hidden = !mayEdit;
      load();
    });
  });
})();
