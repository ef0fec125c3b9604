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
        else if (item.state === "done") { bar.max = 1; bar.value = 1; }
        else if (item.state === "waiting") { bar.max = 1; bar.value = 0; }
        row.append(bar);
        const total = item.total ? ` / ${item.total.toLocaleString()}` : "";
        const state = item.state === "done" ? " — done" : item.state === "waiting" ? " — waiting" : "";
        row.append(el("span", { class: "small" }, `${item.done.toLocaleString()}${total} records${state}`));
        bars.append(row);
      }
      setTimeout(tick, 1500);
    };
    setTimeout(tick, 1500);
  }

  // Words of the agent's answers, in the language the marketer asked in.
  const AGENT_WORDS = {
    en: {
      segment: "Segment", everyone: "(every friend)", assumptions: "Assumptions",
      next: "Suggested next steps", save: "Save as Segment", tagName: "Lumo tag name",
      done: "Done.", options: "Choose an answer",
      count: (n) => (n === 1 ? "1 friend matches." : `${n.toLocaleString("en")} friends match.`),
      draft: (n) => `Broadcast draft for ${n === 1 ? "1 friend" : `${Number(n ?? 0).toLocaleString("en")} friends`}`,
    },
    ja: {
      segment: "セグメント", everyone: "（すべての友だち）", assumptions: "前提",
      next: "次にできること", save: "セグメントとして保存", tagName: "Lumoタグ名",
      done: "完了しました。", options: "答えを選んでください",
      count: (n) => `${Number(n).toLocaleString("ja")}人が該当します。`,
      draft: (n) => `${Number(n ?? 0).toLocaleString("ja")}人への配信文の下書き`,
    },
  };
  const agentWords = (answer) => AGENT_WORDS[answer && answer.language === "ja" ? "ja" : "en"];

  // The preview as a table: the server's labelled, localised table, or the raw rows.
  function previewTable(answer) {
    let columns;
    let rows;
    if (answer.preview_table && Array.isArray(answer.preview_table.rows)) {
      columns = answer.preview_table.columns.map((c) => c.label);
      rows = answer.preview_table.rows;
    } else {
      const raw = answer.preview || answer.members || [];
      if (!Array.isArray(raw) || !raw.length) return null;
      const flat = raw.map((row) => Object.assign({}, row, row.fields || {}));
      const keys = Object.keys(flat[0]).filter((key) => key !== "fields" && key !== "friend_id");
      columns = keys.map((key) => key.replace(/_/g, " "));
      rows = flat.map((row) => keys.map((key) => row[key] ?? "—"));
    }
    if (!rows.length) return null;
    const table = el("table", { class: "compact" });
    const head = el("tr");
    columns.forEach((label) => head.append(el("th", { scope: "col" }, label)));
    table.appendChild(el("thead")).append(head);
    const body = table.appendChild(el("tbody"));
    rows.forEach((row) => {
      const tr = body.appendChild(el("tr"));
      row.forEach((value) => tr.append(el("td", {}, value ?? "—")));
    });
    // The table scrolls sideways inside its bubble rather than widening the chat.
    const wrap = el("div", { class: "scroll", "data-agent-preview": "", tabindex: "0" });
    wrap.style.maxWidth = "100%";
    wrap.setAttribute("aria-label", columns.join(", "));
    wrap.append(table);
    return wrap;
  }

  // A clarifying question's options as buttons; each sends the reply that picks it.
  function questionOptions(question, words, onReply) {
    const options = (question && question.options) || [];
    if (!options.length || !onReply) return null;
    const group = el("div", { role: "group", class: "options", "data-agent-options": "" });
    group.setAttribute("aria-label", `${words.options}: ${question.question || ""}`);
    options.forEach((option) => {
      const button = el("button", { type: "button", class: "secondary" }, option.label);
      button.addEventListener("click", () => {
        group.querySelectorAll("button").forEach((b) => { b.disabled = true; });
        onReply(option.reply || option.label);
      });
      group.append(button);
    });
    return group;
  }

  // The agent answers with a few known fields; anything else is shown as plain data.
  function renderAnswer(answer, saveUrl, onReply) {
    const words = agentWords(answer);
    const item = el("li", { class: "message in" });
    item.style.minWidth = "0";
    item.append(el("span", { class: "sr-only" }, "Agent:"));
    const text = answer.text || answer.answer || answer.message || "";
    if (text) item.append(el("p", {}, text));
    const options = questionOptions(answer.clarifying_question, words, onReply);
    if (options) item.append(options);
    const segment = answer.segment || {};
    const segmentText = answer.segment_text ?? answer.text_form ?? segment.text ?? null;
    if (segmentText !== null && segmentText !== undefined) {
      item.append(el("p", { class: "small muted" }, words.segment));
      item.append(el("pre", { class: "code small", "data-agent-segment": "" }, segmentText || words.everyone));
    }
    const count = answer.count ?? segment.count;
    if (count !== undefined && count !== null) {
      item.append(el("p", { "data-agent-count": "" }, words.count(Number(count))));
    }
    const table = previewTable(answer);
    if (table) item.append(table);
    const assumptions = answer.assumptions || [];
    if (assumptions.length) {
      item.append(el("p", { class: "small muted" }, words.assumptions));
      const list = item.appendChild(el("ul", { class: "small" }));
      assumptions.forEach((a) => list.append(el("li", {}, typeof a === "string" ? a : JSON.stringify(a))));
    }
    if (segment.plain) item.append(el("p", { class: "small" }, segment.plain));
    const allActions = answer.actions || [];
    if (segmentText !== null && segmentText !== undefined) {
      const saving = allActions.find((a) => a && a.action === "save-segment");
      // A name to start from: the Segment in plain words, which the merchant can change.
      const suggested = answer.segment_name || segment.name || (segment.plain || "").slice(0, 80);
      const params = new URLSearchParams({ text: segmentText, name: suggested });
      item.append(el("a", { class: "button secondary", href: `${saveUrl}?${params}` },
        `${(saving && saving.label) || words.save}…`));
    }
    const actions = allActions.filter((a) => a && a.action !== "save-segment");
    if (actions.length) {
      item.append(el("p", { class: "small muted" }, words.next));
      const list = item.appendChild(el("ul", { class: "small actions" }));
      actions.forEach((action) => list.append(actionControl(action, words)));
    }
    if (answer.broadcast_draft) item.append(renderDraft(answer.broadcast_draft, words));
    return item;
  }

  // A broadcast draft: its messages as text, for the marketer to copy or refine.
  function renderDraft(draft, words = AGENT_WORDS.en) {
    const box = el("div", { class: "draft" });
    box.append(el("p", { class: "small muted" }, words.draft(draft.audience)));
    (draft.messages || []).forEach((m) => box.append(el("pre", { class: "code small" }, m.text || JSON.stringify(m))));
    return box;
  }

  // One of the agent's suggested actions; a Lumo tag needs a name first.
  function actionControl(action, words = AGENT_WORDS.en) {
    const item = el("li");
    if (typeof action === "string" || !action.endpoint) {
      item.textContent = typeof action === "string" ? action : (action.label || JSON.stringify(action));
      return item;
    }
    const form = el("form", { class: "inline" });
    let input = null;
    if (action.action === "add-lumo-tag") {
      const id = `action-tag-${Math.random().toString(36).slice(2, 8)}`;
      form.append(el("label", { for: id }, words.tagName));
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
        result.replaceChildren(answer.messages ? renderDraft(answer, words) :
          el("p", {}, answer.message || answer.text || words.done));
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
    const input = form.querySelector("textarea");
    const button = form.querySelector("button[type=submit], button:not([type])");
    // Only the latest question can still be answered; older options are switched off.
    const retireOptions = () => log.querySelectorAll("[data-agent-options] button")
      .forEach((b) => { b.disabled = true; });

    async function send(text) {
      error.hidden = true;
      button.disabled = true;
      retireOptions();
      const mine = el("li", { class: "message out" });
      mine.append(el("span", { class: "text" }, text));
      log.append(mine);
      const body = { text };
      if (box.dataset.conversationId) body.conversation_id = Number(box.dataset.conversationId);
      try {
        const answer = await fetchJSON(box.dataset.agentApi, { method: "POST", body });
        if (answer.conversation_id) box.dataset.conversationId = answer.conversation_id;
        log.append(renderAnswer(answer, box.dataset.saveUrl, send));
        return true;
      } catch (failure) {
        error.textContent = failure.message;
        error.hidden = false;
        return false;
      } finally {
        button.disabled = false;
        input.focus();
      }
    }

    // A reopened conversation: each stored answer is drawn like a live one.
    log.querySelectorAll("li[data-agent-stored]").forEach((stored) => {
      const data = stored.querySelector("script[data-agent-answer]");
      let answer;
      try {
        answer = JSON.parse(data.textContent);
      } catch (failure) {
        return;
      }
      stored.replaceWith(renderAnswer(answer, box.dataset.saveUrl, send));
    });
    const groups = log.querySelectorAll("[data-agent-options]");
    const lastAnswer = log.lastElementChild;
    groups.forEach((group) => {
      if (!lastAnswer || !lastAnswer.contains(group)) {
        group.querySelectorAll("button").forEach((b) => { b.disabled = true; });
      }
    });

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const text = input.value.trim();
      if (!text) return;
      if (await send(text)) input.value = "";
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    confirmForms();
    pollProgress();
    agentChat();
  });

  return { fetchJSON, csrfToken, renderAnswer };
})();
