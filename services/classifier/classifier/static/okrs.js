// OKRs: the current set and its versions; ops fills a new set (from the current one or a JSON file),
// previews the classifier's dry run over the open requests (POST /v1/okrs/preview, nothing published),
// then publishes exactly what was previewed (PUT /v1/okrs/{quarter}). Errors are shown beside each field.
"use strict";

(() => {
  const { api, byId, el, problem, say, showFieldErrors } = Pages;
  const SLOTS = 5;
  const CHANGES = { objective: "Another objective", unaligned: "No objective any more", aligned: "Gains an objective",
                    rank: "Same objective, new rank" };
  let previewed = null;
  let approvedAt = null; // the full time of a loaded set, kept while its day is unchanged
  let slotOf = [];       // the form slot of each objective sent

  function input(slot, name, label, multi, hint) {
    const id = `f-o${slot}-${name}`;
    const attrs = { id, "data-slot": String(slot), "data-name": name };
    if (hint) attrs["aria-describedby"] = `${id}-hint`;
    return el("div", { className: "field" }, [
      el("label", { text: label, attrs: { for: id } }),
      hint ? el("p", { className: "hint", text: hint, attrs: { id: `${id}-hint` } }) : null,
      el(multi ? "textarea" : "input", { data: { field: `body.objectives.${slot}.${name}` }, attrs }),
      el("p", { className: "field-error", data: { errorFor: `body.objectives.${slot}.${name}` }, attrs: { hidden: "" } })]);
  }

  function objectiveSlots() {
    byId("objectives").replaceChildren(...Array.from({ length: SLOTS }, (_, slot) =>
      el("fieldset", { className: "objective" }, [
        el("legend", { text: `Objective ${slot + 1}${slot >= 3 ? " (optional)" : ""}` }),
        el("div", { className: "grid" }, [input(slot, "id", "Id"), input(slot, "title", "Title")]),
        input(slot, "description", "Description", true),
        input(slot, "key_results", "Key results", true, "One per line."),
        input(slot, "keywords", "Keywords", false, "Separated by commas; optional.")])));
  }

  const field = (slot, name) => byId(`f-o${slot}-${name}`);

  function fill(set) {
    byId("f-quarter").value = set.quarter || "";
    byId("f-approved_by").value = set.approved_by || "";
    approvedAt = set.approved_at || null;
    byId("f-approved_at").value = approvedAt ? approvedAt.slice(0, 10) : "";
    const objectives = [...(set.objectives || [])];
    for (let slot = 0; slot < SLOTS; slot++) {
      const o = objectives[slot] || {};
      field(slot, "id").value = o.id || "";
      field(slot, "title").value = o.title || "";
      field(slot, "description").value = o.description || "";
      field(slot, "key_results").value = (o.key_results || []).join("\n");
      field(slot, "keywords").value = (o.keywords || []).join(", ");
    }
  }

  // The form as the body of PUT /v1/okrs/{quarter}; blank objective slots are left out.
  function collect() {
    const day = byId("f-approved_at").value;
    const body = { quarter: byId("f-quarter").value.trim() || null, approved_by: byId("f-approved_by").value.trim(),
                   approved_at: day ? (approvedAt && approvedAt.startsWith(day) ? approvedAt : `${day}T00:00:00Z`) : null,
                   objectives: [] };
    slotOf = [];
    for (let slot = 0; slot < SLOTS; slot++) {
      const values = Object.fromEntries(["id", "title", "description", "key_results", "keywords"].map((name) =>
        [name, field(slot, name).value.trim()]));
      if (!Object.values(values).some(Boolean)) continue;
      slotOf.push(slot);
      body.objectives.push({ id: values.id, title: values.title, description: values.description,
        key_results: values.key_results.split("\n").map((line) => line.trim()).filter(Boolean),
        keywords: values.keywords.split(",").map((word) => word.trim()).filter(Boolean) });
    }
    return body;
  }

  // The service names an objective by its place in the body; the form by its slot.
  function showErrors(found) {
    const fields = {};
    const general = [];
    for (const [where, message] of Object.entries(found.fields)) {
      const parts = where.split(".");
      if (parts[1] === "objectives" && parts.length >= 4) {
        fields[["body", "objectives", slotOf[Number(parts[2])], parts[3]].join(".")] = message;
      } else if (parts.length === 2 && parts[1] !== "objectives") {
        fields[where] = message;
      } else {
        general.push(parts.length > 1 ? `${parts.slice(1).join(" ")}: ${message}` : message);
      }
    }
    const box = byId("set-errors");
    box.textContent = general.join(" ");
    box.hidden = !general.length;
    showFieldErrors(byId("okr-form"), fields);
    say(found.detail);
  }

  const text = (value) => (value === null || value === undefined ? "none" : String(value));
  const place = (where) => (where.objective_id ? `${where.objective_id} (rank ${where.rank})` : "none");

  function renderPreview(found) {
    const figures = el("div", { className: "figures" }, [
      ["Open requests", found.open_requests], ["Would change objective", found.would_change_objective],
      ["Would become unaligned", found.would_become_unaligned], ["Would gain an objective", found.would_become_aligned],
      ["Only the rank changes", found.would_change_rank_only], ["Unchanged", found.unchanged]].map(([name, value]) =>
        el("div", {}, [el("p", { className: "muted", text: name }), el("p", { className: "figure", text: text(value) })])));
    const note = el("p", { text: `${found.quarter}, as version ${found.version}`
      + (found.current ? "; it becomes current as soon as it is published." : "; it takes effect when that quarter begins.")
      + (found.same_as_latest ? " It is the same as the latest version: publishing changes nothing." : "") });
    const rows = found.items.map((item) => el("tr", {}, [el("td", { text: item.title }), el("td", { text: item.lane }),
      el("td", { text: place(item.from) }), el("td", { text: place(item.to) }), el("td", { text: CHANGES[item.change] })]));
    const head = el("tr", {}, ["Request", "Lane", "Now", "Under this set", "Change"].map((name) =>
      el("th", { text: name, attrs: { scope: "col" } })));
    byId("preview-body").replaceChildren(note, figures, rows.length
      ? el("table", {}, [el("caption", { text: "Open requests whose objective would change" }), el("thead", {}, [head]),
                         el("tbody", {}, rows)])
      : el("p", { className: "muted", text: "No open request would change objective." }));
    byId("preview-box").hidden = false;
    byId("preview-title").focus();
  }

  async function preview(event) {
    event.preventDefault();
    const body = collect();
    const answer = await api("/v1/okrs/preview", { method: "POST", json: body });
    if (!answer.ok) { showErrors(await problem(answer)); return; }
    showErrors({ fields: {}, detail: "" });
    previewed = JSON.stringify(body);
    byId("publish").disabled = false;
    renderPreview(await answer.json());
  }

  async function publish() {
    const body = collect();
    if (JSON.stringify(body) !== previewed) { say("Preview this set before publishing it."); return; }
    if (!body.quarter) { say("Give the quarter the set is for."); return; }
    byId("publish").disabled = true;
    const answer = await api(`/v1/okrs/${encodeURIComponent(body.quarter)}`, { method: "PUT", json: body });
    if (!answer.ok) {
      showErrors(await problem(answer));
      byId("publish").disabled = false; // the set previewed stands: publishing it may be tried again (a 503, a 429)
      return;
    }
    const set = await answer.json();
    previewed = null;
    byId("preview-box").hidden = true;
    await load();
    say(`Version ${set.version} of ${set.quarter} is published.`, "ok");
  }

  function objectivesList(set) {
    return el("ol", { className: "objectives-list" }, set.objectives.map((o) =>
      el("li", {}, [el("strong", { text: `${o.id}: ${o.title}` }), ` — ${o.key_results.length} key result(s)`])));
  }

  async function showVersions(set) {
    const answer = await api(`/v1/okrs/${encodeURIComponent(set.quarter)}`);
    if (!answer.ok) { say((await problem(answer)).detail); return; }
    const numbers = (await answer.json()).versions.slice().reverse();
    const sets = await Promise.all(numbers.map(async (n) =>
      (await api(`/v1/okrs/${encodeURIComponent(set.quarter)}?version=${n}`)).json()));
    const head = el("tr", {}, ["Version", "Published", "By", "Approved by", "Objectives"].map((name) =>
      el("th", { text: name, attrs: { scope: "col" } })));
    const rows = sets.map((s) => el("tr", {}, [
      el("td", { text: `v${s.version}${s.version === set.version ? " (current)" : ""}` }),
      el("td", { text: Pages.dateText(s.published_at) }), el("td", { text: s.published_by }),
      el("td", { text: s.approved_by }), el("td", { text: s.objectives.map((o) => o.id).join(", ") })]));
    byId("versions").replaceChildren(el("table", {}, [el("caption", { text: `${set.quarter}, newest first` }),
                                                      el("thead", {}, [head]), el("tbody", {}, rows)]));
  }

  async function load() {
    const answer = await api("/v1/okrs/current");
    if (answer.status === 404) {
      byId("current").replaceChildren(el("p", { className: "muted", text: "No set is published for this quarter yet." }));
      byId("versions").replaceChildren();
      const now = new Date();
      if (!byId("f-quarter").value) byId("f-quarter").value = `${now.getFullYear()}-Q${Math.floor(now.getMonth() / 3) + 1}`;
      return;
    }
    if (!answer.ok) { say((await problem(answer)).detail); return; }
    const set = await answer.json();
    byId("current-title").textContent = `The current set: ${set.quarter}, version ${set.version}`;
    byId("current").replaceChildren(
      el("p", { text: `Approved by ${set.approved_by} on ${Pages.dateText(set.approved_at.slice(0, 10))}; published by `
                      + `${set.published_by} on ${Pages.dateText(set.published_at)}.` }), objectivesList(set));
    fill(set);
    await showVersions(set);
  }

  async function loadFile() {
    const file = byId("okr-file").files[0];
    if (!file) return;
    try {
      fill(JSON.parse(await file.text()));
      say(`Loaded ${file.name}. Preview it, then publish.`, "info");
    } catch (error) {
      say(`${file.name} is not a JSON document: ${error.message}`);
    }
    byId("publish").disabled = true;
  }

  document.addEventListener("DOMContentLoaded", () => {
    objectiveSlots();
    byId("okr-form").addEventListener("submit", preview);
    byId("okr-form").addEventListener("input", () => {
      byId("publish").disabled = previewed === null || JSON.stringify(collect()) !== previewed;
    });
    byId("okr-file").addEventListener("change", loadFile);
    byId("publish").addEventListener("click", publish);
    Pages.gate((me) => {
      byId("publish-section").hidden = me.role !== "ops";
      load();
    });
  });
})();
