// What every person's page shares: the API key (entered once per tab, kept in sessionStorage, sent only
// in the Authorization header), calls to the public API, problem+json answers shown in words and per
// field, and small DOM helpers. Each page's own script uses the global ``Pages``.
"use strict";

const Pages = (() => {
  const KEY_STORE = "governance-pages-key";
  const byId = (id) => document.getElementById(id);

  function el(tag, options = {}, children = []) {
    const node = document.createElement(tag);
    if (options.className) node.className = options.className;
    if (options.text !== undefined) node.textContent = String(options.text);
    for (const [name, value] of Object.entries(options.data || {})) node.dataset[name] = value;
    for (const [name, value] of Object.entries(options.attrs || {})) node.setAttribute(name, value);
    for (const child of children) if (child !== null && child !== undefined) node.append(child);
    return node;
  }

  const key = () => sessionStorage.getItem(KEY_STORE);

  // fetch with the caller's key; ``base`` is another service's address (from the page's data attributes).
  function api(path, options = {}, base = "") {
    const headers = { ...(options.headers || {}) };
    if (key() && !headers.Authorization) headers.Authorization = `Bearer ${key()}`;
    if (options.json !== undefined) {
      headers["Content-Type"] = "application/json";
      options = { ...options, body: JSON.stringify(options.json) };
    }
    return fetch(`${base}${path}`, { ...options, headers, cache: "no-store" });
  }

  // A problem+json answer as {detail, fields: {"body.title": "message", ...}}.
  async function problem(response) {
    let body = {};
    try { body = await response.json(); } catch { /* not JSON */ }
    const fields = {};
    for (const error of body.errors || []) {
      const where = (error.location || []).join(".");
      if (where && !fields[where]) fields[where] = error.message;
    }
    return { status: response.status, detail: body.detail || body.title || `The service answered ${response.status}.`,
             fields, body };
  }

  function say(text, kind = "error", boxId = "message") {
    const box = byId(boxId);
    box.textContent = text || "";
    box.className = `message ${kind}`;
    box.hidden = !text;
    box.setAttribute("role", kind === "error" ? "alert" : "status");
  }

  // Marks each input whose ``data-field`` (e.g. "body.title") has an error, with the message beside it.
  function showFieldErrors(form, fields) {
    for (const node of form.querySelectorAll("[data-field]")) {
      const message = fields[node.dataset.field];
      const slot = form.querySelector(`[data-error-for="${node.dataset.field}"]`);
      if (message) {
        node.setAttribute("aria-invalid", "true");
        if (slot) { slot.textContent = message; slot.hidden = false; }
      } else {
        node.removeAttribute("aria-invalid");
        if (slot) { slot.textContent = ""; slot.hidden = true; }
      }
    }
    // A slot no input owns ("body": the values together, e.g. a lane cap over 1) shows its message too.
    for (const slot of form.querySelectorAll("[data-error-for]")) {
      if (form.querySelector(`[data-field="${slot.dataset.errorFor}"]`)) continue;
      const message = fields[slot.dataset.errorFor];
      slot.textContent = message || "";
      slot.hidden = !message;
    }
    const first = form.querySelector("[aria-invalid=true]");
    if (first) first.focus();
  }

  // Shows the key form until a key is known and accepted by GET /v1/me, then calls ``ready(me)``.
  function gate(ready) {
    const form = byId("key-form");
    const content = byId("content");
    async function check() {
      const answer = await api("/v1/me");
      if (!answer.ok) {
        sessionStorage.removeItem(KEY_STORE);
        form.hidden = false;
        content.hidden = true;
        say((await problem(answer)).detail);
        byId("key-input").focus();
        return;
      }
      const me = await answer.json();
      form.hidden = true;
      content.hidden = false;
      say("");
      const who = byId("who");
      if (who) who.textContent = `Signed in as ${me.tool} (${me.role})`;
      ready(me);
    }
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      sessionStorage.setItem(KEY_STORE, byId("key-input").value.trim());
      check();
    });
    const forget = byId("forget");
    if (forget) forget.addEventListener("click", () => { sessionStorage.removeItem(KEY_STORE); location.reload(); });
    if (key()) check(); else { form.hidden = false; content.hidden = true; }
  }

  // A date alone ("2026-11-30") is the team's calendar day: read as UTC, it would show a day early west of UTC.
  const dateText = (iso) => {
    if (!iso) return "";
    const day = /^\d{4}-\d{2}-\d{2}$/.test(iso);
    return new Date(iso).toLocaleDateString("en-GB", { day: "numeric", month: "short", year: "numeric",
                                                       ...(day ? { timeZone: "UTC" } : {}) });
  };

  return { api, byId, dateText, el, gate, key, problem, say, showFieldErrors };
})();
