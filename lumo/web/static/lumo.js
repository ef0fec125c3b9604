// Lumo's few scripts: a CSRF-aware fetch, the Dashboard's progress poller and the agent chat.
"use strict";

const lumo = (() => {
  const csrfToken = () => {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  };

  // fetch() that sends the CSRF token and JSON, and turns error bodies into thrown messages.
  async function fetchJSON(url, options = {}) {
    const headers = Object.assign({ Accept: "application/json" }, options.headers || {});
    const init = Object.assign({ credentials: "same-origin" }, options, { headers });
    if (init.method && init.method.toUpperCase() !== "GET") headers["X-CSRFToken"] = csrfToken();
    if (init.body !== undefined && typeof init.body !== "string") {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(init.body);
    }
    const response = await fetch(url, init);
    const type = response.headers.get("Content-Type") || "";
    const data = type.includes("application/json") ? await response.json() : null;
    if (!response.ok) {
      const message = (data && (data.error || data.message)) ||
        `The request failed (HTTP ${response.status}). Reload the page and try again.`;
      throw new Error(message);
    }
    return data;
  }

  const el = (tag, attrs = {}, text) => {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  };

  function confirmForms() {
    document.querySelectorAll("form[data-confirm]").forEach((form) => {
      form.addEventListener("submit", (event) => {
        if (!window.confirm(form.dataset.confirm)) event.preventDefault();
      });
    });
  }

  function pollProgress() {
    const box = document.querySelector("[data-progress-url]");
    if (!box || !box.dataset.running) return;
    const bars = box.querySelector("[data-progress-bars]");
    const tick = async () => {
      let data;
      try {
        data = await fetchJSON(box.dataset.progressUrl);
      } catch (error) {
        setTimeout(tick, 5000);
        return;
      }
      if (!data.running) {
        window.location.reload();
        return;
      }
      bars.replaceChildren(el("p", {}, data.label));
      for (const item of data.categories) {
        const row = el("div", { class: "bar-row" });
        row.append(el("label", { for: `progress-${item.key}` }, item.label));
        const bar = el("progress", { id: `progress-${item.key}` });
        if (item.total) { bar.max = item.total; bar.value = item.done; }
        row.append(bar);
        const total = item.total ? ` / ${item.total.toLocaleString()}` : "";
        row.append(el("span", { class: "small" }, `${item.done.toLocaleString()}${total} records`));
        bars.append(row);
      }
      setTimeout(tick, 1500);
    };
    setTimeout(tick, 1500);
  }

  // The agent answers with a few known fields; anything else is shown as plain data.
  function renderAnswer(answer, saveUrl) {
    const item = el("li", { class: "message in" });
    item.append(el("span", { class: "sr-only" }, "Agent:"));
    const text = answer.text || answer.answer || answer.message || "";
    if (text) item.append(el("p", {}, text));
    const segment = answer.segment || {};
    const segmentText = answer.segment_text ?? answer.text_form ?? segment.text ?? null;
    if (segmentText !== null && segmentText !== undefined) {
      item.append(el("p", { class: "small muted" }, "Segment"));
      item.append(el("pre", { class: "code small", "data-agent-segment": "" }, segmentText || "(every friend)"));
    }
    const count = answer.count ?? segment.count;
    if (count !== undefined && count !== null) {
      item.append(el("p", { "data-agent-count": "" }, `${Number(count).toLocaleString()} friends match.`));
    }
    const rows = answer.preview || answer.members || [];
    if (Array.isArray(rows) && rows.length) {
      const flat = rows.map((row) => Object.assign({}, row, row.fields || {}));
      const keys = Object.keys(flat[0]).filter((key) => key !== "fields" && key !== "friend_id");
      const shown = (value) => (typeof value === "string" && /^\d{4}-\d\d-\d\dT/.test(value) ? value.slice(0, 10) : value);
      const table = el("table", { class: "compact" });
      const head = el("tr");
      keys.forEach((key) => head.append(el("th", { scope: "col" }, key)));
      table.appendChild(el("thead")).append(head);
      const body = table.appendChild(el("tbody"));
      flat.forEach((row) => {
        const tr = body.appendChild(el("tr"));
        keys.forEach((key) => tr.append(el("td", {}, shown(row[key]) ?? "—")));
      });
      const wrap = el("div", { class: "scroll" });
      wrap.append(table);
      item.append(wrap);
    }
    const assumptions = answer.assumptions || [];
    if (assumptions.length) {
      item.append(el("p", { class: "small muted" }, "Assumptions"));
      const list = item.appendChild(el("ul", { class: "small" }));
      assumptions.forEach((a) => list.append(el("li", {}, typeof a === "string" ? a : JSON.stringify(a))));
    }
    if (segment.plain) item.append(el("p", { class: "small" }, segment.plain));
    if (segmentText !== null && segmentText !== undefined) {
      const params = new URLSearchParams({ text: segmentText, name: answer.segment_name || segment.name || "" });
      item.append(el("a", { class: "button secondary", href: `${saveUrl}?${params}` }, "Save as Segment…"));
    }
    const actions = (answer.actions || []).filter((a) => a && a.action !== "save-segment");
    if (actions.length) {
      item.append(el("p", { class: "small muted" }, "Suggested next steps"));
      const list = item.appendChild(el("ul", { class: "small actions" }));
      actions.forEach((action) => list.append(actionControl(action)));
    }
    if (answer.broadcast_draft) item.append(renderDraft(answer.broadcast_draft));
    return item;
  }

  // A broadcast draft: its messages as text, for the marketer to copy or refine.
  function renderDraft(draft) {
    const box = el("div", { class: "draft" });
    box.append(el("p", { class: "small muted" }, `Broadcast draft for ${draft.audience ?? "?"} friends`));
    (draft.messages || []).forEach((m) => box.append(el("pre", { class: "code small" }, m.text || JSON.stringify(m))));
    return box;
  }

  // One of the agent's suggested actions; a Lumo tag needs a name first.
  function actionControl(action) {
    const item = el("li");
    if (typeof action === "string" || !action.endpoint) {
      item.textContent = typeof action === "string" ? action : (action.label || JSON.stringify(action));
      return item;
    }
    const form = el("form", { class: "inline" });
    let input = null;
    if (action.action === "add-lumo-tag") {
      const id = `action-tag-${Math.random().toString(36).slice(2, 8)}`;
      form.append(el("label", { for: id }, "Lumo tag name"));
      input = el("input", { id, required: "", maxlength: "100" });
      form.append(input);
    }
    form.append(el("button", { type: "submit", class: "secondary" }, action.label));
    const result = el("div", { role: "status" });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const body = Object.assign({}, action.body || {});
      if (input) body.tag = input.value.trim();
      try {
        const answer = await fetchJSON(action.endpoint, { method: "POST", body });
        result.replaceChildren(answer.messages ? renderDraft(answer) :
          el("p", {}, answer.message || answer.text || "Done."));
      } catch (failure) {
        result.replaceChildren(el("p", { class: "error" }, failure.message));
      }
    });
    item.append(form, result);
    return item;
  }

  function agentChat() {
    const box = document.querySelector("[data-agent]");
    if (!box) return;
    const form = box.querySelector("[data-agent-form]");
    const log = box.querySelector("[data-agent-log]");
    const error = box.querySelector("[data-agent-error]");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const input = form.querySelector("textarea");
      const text = input.value.trim();
      if (!text) return;
      const button = form.querySelector("button");
      error.hidden = true;
      button.disabled = true;
      const mine = el("li", { class: "message out" });
      mine.append(el("span", { class: "text" }, text));
      log.append(mine);
      const body = { text };
      if (box.dataset.conversationId) body.conversation_id = Number(box.dataset.conversationId);
      try {
        const answer = await fetchJSON(box.dataset.agentApi, { method: "POST", body });
        if (answer.conversation_id) box.dataset.conversationId = answer.conversation_id;
        log.append(renderAnswer(answer, box.dataset.saveUrl));
        input.value = "";
      } catch (failure) {
        error.textContent = failure.message;
        error.hidden = false;
      } finally {
        button.disabled = false;
        input.focus();
      }
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    confirmForms();
    pollProgress();
    agentChat();
  });

  return { fetchJSON, csrfToken, renderAnswer };
})();
