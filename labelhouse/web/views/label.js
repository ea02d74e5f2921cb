// The queue view: label one task after another, with the next one already claimed and rendered.
//
// While a task is open the view holds a second lease (`next` with prefetch) and builds that task
// off-screen, files fetched and decoded. Submit hands the answer to the outbox (api.js) and swaps
// the prepared task in, so the annotator never waits for the network; only then is another task
// prefetched, after the server has the answer (so it never holds more than two leases).
import { api, submit as send, newKey, ApiError, flush, pending } from "../api.js";
import { h, clear, toast, showHelp, closeHelp, typing } from "../dom.js";
import { buildTask, loadFiles, collect, partial } from "./task.js";

const DRAFT = (taskId) => `lh.draft.${taskId}`;
const afterPaint = (fn) => requestAnimationFrame(() => setTimeout(fn, 0));

export async function show(main, [pid]) {
  // The first task is asked for with the project, not after it: one round trip less on a load.
  // (Not while answers wait in the outbox: they go first, see first().)
  let firstNext = pending() ? null : api.post(`/projects/${pid}/next`);
  if (firstNext) firstNext.catch(() => {});
  const project = await api.get(`/projects/${pid}`);
  const stage = h("div.stage");
  const status = h("span.muted", { id: "task-status" });
  const banner = h("div.banner", { hidden: true });
  const buttons = h("div.row",
    null,
    h("button", { type: "button", id: "back", title: "Alt+B", onclick: () => back() }, "← Previous"),
    h("button", { type: "button", id: "skip", title: "Alt+S", onclick: () => skip() }, "Skip"),
    h("button", { type: "button", id: "release", title: "Alt+R", onclick: () => skip("release") }, "Release"),
    h("button", { type: "button", onclick: () => help(), title: "?" }, "Shortcuts (?)"),
    h("span.spacer"),
    h("button.primary", { type: "button", id: "submit", title: "Enter or Ctrl+Enter", onclick: () => submit() }, "Submit ⏎"));
  main.append(h("div.row", null, h("h1", null, project.name), h("span.spacer"), status), banner, stage, buttons);

  let current = null;     // the task on screen: {handout, widgets, root, shownAt, files}
  let staged = null;      // a promise of the prefetched task (or null)
  let stagedTask = null;  // the prefetched task once built
  let editing = null;     // an earlier task reopened for a new version
  let active = 0;         // which control gets the keys
  let left = false;
  let draftTimer = null;
  const history = [];     // submitted tasks, newest last: {entry, answer, annotationId}

  async function prepare(handout) {
    const task = handout.task;
    let answer = task.draft || null;
    if (!answer) {
      try { answer = JSON.parse(localStorage.getItem(DRAFT(task.id)) || "null"); } catch { answer = null; }
    }
    const files = await loadFiles(task.item);
    const entry = { handout, files };
    const built = await buildTask({ schema: project.schema, item: task.item, answer, files, onChange: () => edited(entry) });
    Object.assign(entry, built);
    entry.root.classList.add("staged");
    entry.root.dataset.task = task.id;
    stage.append(entry.root);
    return entry;
  }

  function edited(entry) {
    if (entry !== current) return;
    clearTimeout(draftTimer);
    draftTimer = setTimeout(() => saveDraft(entry), 500);
  }

  async function saveDraft(entry) {
    const id = entry.handout.task.id;
    const answer = partial(entry.widgets);
    localStorage.setItem(DRAFT(id), JSON.stringify(answer));
    try {
      await api.put(`/tasks/${id}/draft`, { answer });
      status.textContent = `Task #${id} · draft saved`;
    } catch (err) {
      status.textContent = `Task #${id} · draft kept in this browser (${err instanceof ApiError ? err.message : "offline"})`;
    }
  }

  function display(entry, pressedAt) {
    if (current && current !== entry) current.root.remove();
    current = entry;
    entry.root.classList.remove("staged");
    entry.shownAt = performance.now();
    active = 0;
    focusActive();
    status.textContent = `Task #${entry.handout.task.id}`;
    entry.root.dataset.ready = "1";
    if (pressedAt !== undefined) {
      afterPaint(() => performance.measure("lh:task-switch", { start: pressedAt, end: performance.now() }));
    } else if (!performance.getEntriesByName("lh:first-task").length) {
      // First load of the view: from the navigation (the page's time origin) to the first task
      // on screen and interactive, after the frame that shows it (read by bench/ui.py).
      afterPaint(() => { if (!performance.getEntriesByName("lh:first-task").length) performance.mark("lh:first-task"); });
    }
  }

  function focusActive() {
    if (!current) return;
    current.root.querySelectorAll(".control-box").forEach((b, i) => b.classList.toggle("active", i === active && current.widgets.length > 1));
    const w = current.widgets[active];
    if (w && w.focus) w.focus();
    else if (document.activeElement instanceof HTMLElement && current.root.contains(document.activeElement)) document.activeElement.blur();
  }

  function prefetch() {
    if (staged || left) return staged;
    staged = (async () => {
      const handout = await api.post(`/projects/${pid}/next`, { prefetch: true });
      if (!handout || left) return null;
      if (current && handout.lease.id === current.handout.lease.id) return null;
      const entry = await prepare(handout);
      stagedTask = entry;
      // Laid out and drawn once while hidden: from here the swap is all that is left to do.
      afterPaint(() => { entry.root.dataset.built = "1"; });
      return entry;
    })().catch((err) => {
      // Offline: try again when the network is back (if a task is on screen; else first() loads
      // one and prefetches after it, and two claims racing could hand out the same task twice).
      if (!(err instanceof ApiError)) window.addEventListener("online", () => { staged = null; if (current) prefetch(); }, { once: true });
      return null;
    });
    staged.then((entry) => { if (!entry) staged = null; });
    return staged;
  }

  let loading = false;
  async function first() {
    if (loading) return;
    loading = true;
    stageMessage("Loading…");
    try {
      // Answers waiting in the outbox go first: their leases are still live on the server, so
      // `next` would hand one of those tasks out again.
      let handout;
      if (firstNext) { handout = await firstNext.finally(() => { firstNext = null; }); }
      else {
        if (pending()) await flush();
        if (pending()) throw new TypeError("offline");
        handout = await api.post(`/projects/${pid}/next`);
      }
      if (!handout) return empty();
      display(await prepare(handout));
      clearMessage();
      prefetch();
    } catch (err) {
      if (err instanceof ApiError) { stageMessage(err.message); return; }
      // No network: the answers already given wait in the outbox; the queue resumes by itself
      // (the browser's online event is a hint only: a server that is down raises none).
      stageMessage("The server cannot be reached. Your answers are kept in this browser and sent when the network is back; the next task will load then.");
      status.textContent = "offline";
      const retry = () => { if (!left && !current) first(); };
      window.addEventListener("online", retry, { once: true });
      setTimeout(retry, 3000);
    } finally {
      loading = false;
    }
  }

  function empty() {
    stageMessage("No tasks for you right now.", h("button", { type: "button", onclick: () => first() }, "Check again"));
    status.textContent = "";
    current = null;
  }

  let message = null;
  function stageMessage(text, ...extra) {
    clearMessage();
    message = h("div.card.message", null, h("p", null, text), extra);
    stage.append(message);
  }
  function clearMessage() { if (message) { message.remove(); message = null; } }

  async function advance(sent, pressedAt) {
    if (stagedTask) {
      const next = stagedTask;
      stagedTask = null;
      staged = null;
      display(next, pressedAt);
      // The next prefetch waits for the server to have this answer, and for the new task to be
      // painted, so building it never competes with showing this one.
      sent.finally(() => afterPaint(prefetch));
      return;
    }
    if (current) { current.root.remove(); current = null; }
    stageMessage("Loading the next task…");
    await sent.catch(() => null);
    const pending = staged ? await staged : null;
    staged = null;
    stagedTask = null;
    if (pending) { clearMessage(); display(pending, pressedAt); prefetch(); return; }
    await first();
  }

  function submit(pressedAt) {
    if (editing) return saveEdit();
    if (!current) return;
    const { answer, problem } = collect(current.widgets);
    if (problem) { toast(problem, "error"); return; }
    const entry = current;
    const task = entry.handout.task;
    clearTimeout(draftTimer);
    localStorage.removeItem(DRAFT(task.id));
    const body = {
      answer,
      lease_id: entry.handout.lease.id,
      idempotency_key: newKey(),
      lead_time_s: Math.round((performance.now() - entry.shownAt) / 100) / 10,
    };
    const record = { entry, answer, annotationId: null };
    history.push(record);
    // A decoded bitmap is 4 MB a megapixel: kept only while its task is on screen or staged (a
    // reopened answer draws from the <img>, which the browser may decode again when needed).
    afterPaint(() => { for (const f of Object.values(entry.files)) if (f.bitmap) { f.bitmap.close(); f.bitmap = null; } });
    while (history.length > 10) { const old = history.shift(); Object.values(old.entry.files).forEach((f) => URL.revokeObjectURL(f.url)); }
    const sent = send(task.id, body).then((out) => {
      if (out) record.annotationId = out.id;
      return out;
    }, (err) => {
      toast(`Task #${task.id} was not saved: ${err.message}`, "error", 0);
      history.splice(history.indexOf(record), 1);
      return null;
    });
    advance(sent, pressedAt ?? performance.now());
  }

  /** Skip: never show this task to me again. Release: give it back to the queue (it may come
   * back to me later, its draft with it). */
  async function skip(how = "skip") {
    if (!current || editing) return;
    const lease = current.handout.lease.id;
    if (how === "skip") localStorage.removeItem(DRAFT(current.handout.task.id));
    advance(api.post(`/leases/${lease}/${how}`).catch((err) => toast(err.message, "error")));
  }

  /** Reopen the last submitted answer; pressed again while editing, the one before it (the
   * last ten of this visit are kept). */
  async function back() {
    const at = editing ? history.indexOf(editing.record) - 1 : history.length - 1;
    const record = history[at];
    if (!record) { toast(editing ? "No earlier answer in this visit" : "Nothing submitted yet in this visit", "info"); return; }
    if (!record.annotationId) { toast("That answer is still being sent; try again in a moment", "info"); return; }
    const built = await buildTask({ schema: project.schema, item: record.entry.handout.task.item, answer: record.answer, files: record.entry.files, onChange: () => {} });
    if (editing) editing.root.remove();
    editing = { record, ...built };
    if (current) current.root.classList.add("staged");
    banner.hidden = false;
    clear(banner).append(`Editing your answer to task #${record.entry.handout.task.id}: Enter saves a new version, Escape goes back, Alt+B goes further back.`);
    built.root.dataset.editing = "1";
    stage.append(built.root);
    active = 0;
  }

  async function saveEdit() {
    const { answer, problem } = collect(editing.widgets);
    if (problem) { toast(problem, "error"); return; }
    try {
      const out = await api.put(`/annotations/${editing.record.annotationId}`, { answer });
      editing.record.annotationId = out.id;
      editing.record.answer = answer;
      toast(`Saved version ${out.version} of task #${out.task_id}`, "ok");
      closeEdit();
    } catch (err) { toast(err.message, "error"); }
  }

  function closeEdit() {
    editing.root.remove();
    editing = null;
    banner.hidden = true;
    if (current) { current.root.classList.remove("staged"); focusActive(); }
  }

  function help() {
    const view = editing || current;
    const groups = [["Task", [["Enter / Ctrl+Enter", "submit (Ctrl+Enter inside a text box)"], ["Alt+S", "skip (never see it again)"], ["Alt+R", "release (back to the queue)"], ["Alt+B", "edit the previous answer"], ["Tab / Shift+Tab", "next / previous control"], ["Escape", "leave a text box"], ["?", "this help"]]]];
    if (view) for (const w of view.widgets) groups.push([`${w.config.name} (${w.config.type})`, w.keys]);
    showHelp(groups);
  }

  function onKey(ev) {
    if (left) return;
    if (ev.key === "Escape" && closeHelp()) { ev.preventDefault(); return; }
    if (ev.key === "?" && !typing(ev)) { ev.preventDefault(); help(); return; }
    if (document.getElementById("help")) return;
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); submit(ev.timeStamp); return; }
    if (ev.altKey && ev.code === "KeyS") { ev.preventDefault(); skip(); return; }
    if (ev.altKey && ev.code === "KeyR") { ev.preventDefault(); skip("release"); return; }
    if (ev.altKey && ev.code === "KeyB") { ev.preventDefault(); back(); return; }
    const view = editing || current;
    if (!view) return;
    if (typing(ev)) {
      if (ev.key === "Escape") { ev.target.blur(); ev.preventDefault(); }
      return;
    }
    if (ev.key === "Tab" && view.widgets.length > 1) {
      ev.preventDefault();
      active = (active + (ev.shiftKey ? view.widgets.length - 1 : 1)) % view.widgets.length;
      focusActive();
      return;
    }
    const w = view.widgets[active];
    if (w && w.key(ev)) { ev.preventDefault(); return; }
    if (ev.key === "Enter") { ev.preventDefault(); submit(ev.timeStamp); return; }
    if (ev.key === "Escape" && editing) { closeEdit(); return; }
    // A key no control of the active box uses may belong to another control (e.g. the number
    // keys of a single choices control in a schema with a text editor): try the others in order.
    for (const other of view.widgets) if (other !== w && other.key(ev)) { ev.preventDefault(); return; }
  }

  document.addEventListener("keydown", onKey);
  stage.addEventListener("focusin", (ev) => {
    const view = editing || current;
    const box = ev.target instanceof Element && ev.target.closest(".control-box");
    if (view && box && view.root.contains(box)) active = Number(box.dataset.index);
  });
  first();

  return {
    leave() {
      left = true;
      document.removeEventListener("keydown", onKey);
      clearTimeout(draftTimer);
      if (current) saveDraft(current);
      // Hand the prefetched task back at once; the open one keeps its lease (and its draft) so
      // coming back finds it, until the lease runs out.
      if (stagedTask) api.post(`/leases/${stagedTask.handout.lease.id}/release`).catch(() => {});
    },
  };
}
