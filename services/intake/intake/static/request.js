// The request form: posts through the one door (POST /v1/requests with an Idempotency-Key), offers this
// quarter's objectives to claim, and shows the classifier's dry run (POST /v1/classify) as the person types.
"use strict";

(() => {
  const { api, byId, el, problem, say, showFieldErrors } = Pages;
  const CLASSIFIER = document.body.dataset.classifier;
  const FORM_KEY = document.body.dataset.formKey;
  // Which optional fields each kind of work asks for; the due date's label follows the kind.
  const WORK_FIELDS = {
    landing_page: ["customer_outcome", "due_date"], email: ["customer_outcome"], microsite: ["customer_outcome", "due_date"],
    creative: [], ad: ["customer_outcome"], social_post: ["customer_outcome"], deck: ["due_date"],
    report: ["due_date"], event_support: ["customer_outcome", "due_date"], review: ["due_date"],
    other: ["customer_outcome", "due_date"],
  };
  const DUE_LABEL = { event_support: "Date of the event", review: "Review needed by" };
  const form = byId("request-form");
  let idempotencyKey = null; // one per submission; a retry of the same body reuses it
  let lastBody = null;
  let dryTimer = null;
  let dryAsked = 0;
  let objectives = {};

  // With a form key configured, the form posts with it and nobody needs a key; otherwise the person's tool key.
  const auth = () => (FORM_KEY ? { Authorization: `Bearer ${FORM_KEY}` } : {});

  function showWorkFields() {
    const wanted = WORK_FIELDS[byId("work_type").value] || [];
    for (const box of form.querySelectorAll("[data-for-work]")) {
      const shown = wanted.includes(box.dataset.forWork);
      box.hidden = !shown;
      if (!shown) for (const input of box.querySelectorAll("input, textarea")) input.value = "";
    }
    byId("due-label").textContent = DUE_LABEL[byId("work_type").value] || "Needed by";
  }

  function body() {
    const value = (id) => byId(id).value.trim();
    const email = value("email");
    const draft = {
      title: value("title"), description: value("description"), work_type: byId("work_type").value,
      requester: { id: email, name: value("name"), email, team: value("team"), type: byId("lane").value },
    };
    for (const optional of ["customer_outcome", "due_date", "size", "okr_claim"]) {
      if (value(optional) && !byId(optional).closest("[hidden]")) draft[optional] = value(optional);
    }
    if (byId("expedite").checked) {
      draft.expedite = true;
      draft.justification = value("justification");
    }
    return draft;
  }

  async function loadObjectives() {
    const answer = await api("/v1/okrs/current", { headers: auth() }, CLASSIFIER).catch(() => null);
    const note = byId("okr-source");
    if (!answer || !answer.ok) {
      note.textContent = "The objectives could not be loaded; you can still send the request.";
      return;
    }
    const okrs = await answer.json();
    const select = byId("okr_claim");
    for (const objective of okrs.objectives) {
      objectives[objective.id] = objective.title;
      select.append(el("option", { text: `${objective.id}: ${objective.title}`, attrs: { value: objective.id } }));
    }
    note.textContent = `Published for ${okrs.quarter}, version ${okrs.version}.`;
  }

  function verdict(result) {
    const box = byId("dry-run");
    const lines = [];
    if (result.objective_id) {
      const title = objectives[result.objective_id] ? ` (${objectives[result.objective_id]})` : "";
      lines.push(el("p", { className: "hint-line", text: `This looks like it ladders up to ${result.objective_id}${title}.` }));
    } else {
      lines.push(el("p", { className: "hint-line", text: "This does not look like it ladders up to a published objective yet: it would wait behind objective work." }));
    }
    const claimed = byId("okr_claim").value;
    if (claimed && result.claim === "contradicted") {
      lines.push(el("p", { text: `The text does not bear out ${claimed} yet; say how it serves that objective, or choose another.` }));
    } else if (claimed && result.claim === "confirmed") {
      lines.push(el("p", { text: `The text bears out your choice of ${claimed}.` }));
    }
    lines.push(el("p", { className: "muted", text: `Lane: ${result.lane.replace("_", "-")}.` }));
    const similar = result.similar || [];
    if (similar.length) {
      lines.push(el("h3", { text: "Similar requests already asked" }));
      lines.push(el("ul", {}, similar.map((item) => el("li", {
        text: item.sentence || `A request of ${item.team} ${item.kind === "duplicate" ? "looks like the same work" : "overlaps"}.`,
      }))));
    }
    box.replaceChildren(...lines);
  }

  async function dryRun() {
    const draft = body();
    if (draft.title.length < 3 || !draft.description) return;
    // The dry run needs a valid requester; stand-ins where the person has not filled it in yet.
    draft.requester = { id: "draft", name: draft.requester.name || "draft", email: "draft@example.com",
                        team: draft.requester.team || "draft", type: draft.requester.type };
    delete draft.expedite; delete draft.justification;
    const asked = ++dryAsked;
    const answer = await api("/v1/classify", { method: "POST", json: draft, headers: auth() }, CLASSIFIER)
      .catch(() => null);
    if (asked !== dryAsked) return; // a newer draft is on its way
    if (answer && answer.ok) verdict(await answer.json());
    else byId("dry-run").replaceChildren(el("p", { className: "muted", text: "The dry run is not available right now." }));
  }

  // The API's validation messages, in the words of the form.
  function plain(found) {
    const fields = { ...found.fields };
    for (const error of found.body.errors || []) {
      const where = (error.location || []).join(".");
      if (where === "body.requester.email") fields[where] = "Enter an email address, like name@example.com.";
      else if (error.type === "string_too_short" || error.type === "missing") {
        fields[where] = where === "body.title" ? "Give it a title of at least 3 characters." : "Please fill this in.";
      } else if (error.type === "value_error") fields[where] = error.message.replace(/^Value error, /, "");
    }
    return fields;
  }

  // A marked field is cleared as soon as the person changes it.
  function cleared(event) {
    const field = event.target.dataset && event.target.dataset.field;
    if (!field || event.target.getAttribute("aria-invalid") !== "true") return;
    event.target.removeAttribute("aria-invalid");
    const slot = form.querySelector(`[data-error-for="${field}"]`);
    if (slot) { slot.textContent = ""; slot.hidden = true; }
    if (!form.querySelector("[aria-invalid=true]")) say("");
  }

  function typed(event) {
    cleared(event);
    if (!["title", "description", "customer_outcome", "okr_claim", "work_type", "lane"].includes(event.target.id)) return;
    clearTimeout(dryTimer);
    dryTimer = setTimeout(dryRun, 400);
  }

  async function submit(event) {
    event.preventDefault();
    const draft = body();
    const text = JSON.stringify(draft);
    if (idempotencyKey === null || text !== lastBody) idempotencyKey = crypto.randomUUID();
    lastBody = text;
    const button = byId("submit");
    button.disabled = true;
    say("Sending…", "info");
    let answer;
    try {
      answer = await api("/v1/requests", { method: "POST", json: draft,
                                           headers: { ...auth(), "Idempotency-Key": idempotencyKey } });
    } catch {
      say("The request could not be sent (no connection). Send it again: it will not be made twice.");
      button.disabled = false;
      return;
    }
    button.disabled = false;
    if (answer.status !== 202) {
      const found = await problem(answer);
      found.fields = plain(found);
      showFieldErrors(form, found.fields);
      const retry = [409, 429, 503].includes(answer.status) ? " Send it again: it will not be made twice." : "";
      say(Object.keys(found.fields).length ? "Please check the fields marked below." : found.detail + retry);
      return;
    }
    const accepted = await answer.json();
    idempotencyKey = null;
    lastBody = null;
    say("");
    showFieldErrors(form, {});
    form.hidden = true;
    document.querySelector(".dry-run").hidden = true;
    byId("done").hidden = false;
    byId("done-text").textContent = `"${draft.title}" is with the team (request ${accepted.id}). We tell you by email `
      + "where it stands once it is measured against the objectives and planned.";
    byId("follow").href = accepted.links.page || `/pages/mine#request=${encodeURIComponent(accepted.id)}`;
    byId("done-title").focus();
  }

  let started = false;
  function start() {
    if (started) return;
    started = true;
    showWorkFields();
    loadObjectives();
    byId("work_type").addEventListener("change", showWorkFields);
    byId("expedite").addEventListener("change", () => {
      byId("justification-field").hidden = !byId("expedite").checked;
    });
    form.addEventListener("input", typed);
    form.addEventListener("change", typed);
    form.addEventListener("submit", submit);
    byId("another").addEventListener("click", () => {
      form.reset();
      showWorkFields();
      byId("justification-field").hidden = true;
      byId("done").hidden = true;
      form.hidden = false;
      document.querySelector(".dry-run").hidden = false;
      byId("title").focus();
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    if (FORM_KEY) {
      byId("key-form").hidden = true;
      byId("content").hidden = false;
      start();
    } else {
      byId("forget").hidden = false;
      Pages.gate(start);
    }
  });
})();
