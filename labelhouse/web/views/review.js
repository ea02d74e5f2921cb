// Review: take the next complete task from the review queue (doubtful ones first), look at each
// annotation in the same widgets annotators use, and accept, reject with a reason, or correct it
// (edit the answer in the widget, then save the correction as a new version).
import { api } from "../api.js";
import { h, clear, toast, showHelp, closeHelp, typing } from "../dom.js";
import { buildTask, loadFiles, collect } from "./task.js";

const ROUTES = { failed_gold: "an annotator failed gold here", low_confidence: "low consensus confidence", routine: "routine check" };

export async function show(main, [pid]) {
  const project = await api.get(`/projects/${pid}`);
  const stage = h("div.stage");
  const head = h("div.review-head");
  const reason = h("input", { name: "reason", placeholder: "reason (required to reject; the annotator sees it)", size: 50 });
  main.append(h("div.row", null, h("h1", null, `Review · ${project.name}`)), head, stage,
    h("div.row.wrap", null,
      h("button", { type: "button", onclick: () => step(-1), title: "Alt+P" }, "← Annotation"),
      h("button", { type: "button", onclick: () => step(1), title: "Alt+N" }, "Annotation →"),
      h("span.spacer"), reason,
      h("button.danger", { type: "button", id: "reject", onclick: () => decide("reject"), title: "Alt+R" }, "Reject"),
      h("button", { type: "button", id: "correct", onclick: () => decide("correct"), title: "Alt+C" }, "Save correction"),
      h("button.primary", { type: "button", id: "accept", onclick: () => decide("accept"), title: "Alt+A" }, "Accept")));

  let claim = null, views = [], index = 0, files = {}, left = false;
  let active = 0; // which control of the annotation on screen gets the keys

  async function load() {
    clear(stage); clear(head);
    claim = await api.post(`/projects/${pid}/review/next`);
    if (!claim) {
      stage.append(h("div.card.message", null, h("p", null, "Nothing to review right now."), h("button", { type: "button", onclick: load }, "Check again")));
      return;
    }
    files = await loadFiles(claim.task.item);
    views = [];
    for (const a of claim.annotations) {
      const built = await buildTask({ schema: project.schema, item: claim.task.item, answer: a.answer, files, onChange: () => {} });
      built.annotation = a;
      built.root.classList.add("staged");
      built.root.dataset.annotation = a.id;
      stage.append(built.root);
      views.push(built);
    }
    const pending = claim.annotations.findIndex((a) => !a.review);
    index = pending >= 0 ? pending : 0;
    paintHead();
    showView();
  }

  function paintHead() {
    const t = claim.task;
    const a = views[index] && views[index].annotation;
    clear(head).append(h("div.card.row.wrap", null,
      h("strong", null, `Task #${t.id}`),
      h("span.badge", { dataset: { route: claim.route } }, ROUTES[claim.route] || claim.route),
      t.confidence !== null && t.confidence !== undefined ? h("span.muted", null, `consensus confidence ${(100 * t.confidence).toFixed(0)}% over ${t.labels} labels`) : null,
      a ? h("span", { id: "which" }, `Annotation ${index + 1} of ${views.length}: ${a.annotator}, version ${a.version}${a.review ? ` (${a.review})` : ""}`) : null));
  }

  function showView() {
    views.forEach((v, i) => v.root.classList.toggle("staged", i !== index));
    active = 0;
    paintActive();
    paintHead();
  }

  function paintActive() {
    const v = views[index];
    if (!v) return;
    v.root.querySelectorAll(".control-box").forEach((b, i) => b.classList.toggle("active", i === active && v.widgets.length > 1));
  }

  function step(d) {
    if (!views.length) return;
    index = (index + d + views.length) % views.length;
    showView();
  }

  async function decide(kind) {
    const v = views[index];
    if (!v) return;
    const body = { decision: kind };
    if (reason.value.trim()) body.reason = reason.value.trim();
    if (kind === "reject" && !body.reason) { toast("Write a reason to reject", "error"); reason.focus(); return; }
    if (kind === "correct") {
      const { answer, problem } = collect(v.widgets);
      if (problem) { toast(problem, "error"); return; }
      body.answer = answer;
    }
    try {
      await api.post(`/annotations/${v.annotation.id}/review`, body);
      toast(`${kind === "accept" ? "Accepted" : kind === "reject" ? "Rejected" : "Corrected"}: ${v.annotation.annotator}'s answer`, "ok");
      v.annotation.review = kind === "accept" ? "accepted" : kind === "reject" ? "rejected" : "corrected";
      reason.value = "";
      const next = views.findIndex((x) => !x.annotation.review);
      if (next >= 0) { index = next; showView(); } else load();
    } catch (err) { toast(err.message, "error"); }
  }

  function onKey(ev) {
    if (left) return;
    if (ev.key === "Escape" && closeHelp()) return;
    if (ev.key === "?" && !typing(ev)) {
      ev.preventDefault();
      showHelp([["Review", [["Alt+A", "accept"], ["Alt+R", "reject (write the reason first)"], ["Alt+C", "save your correction (edit the answer in the widgets first)"],
        ["Alt+P / Alt+N", "previous / next annotation"], ["Tab / Shift+Tab", "next / previous control"], ["Escape", "leave a text box"]]],
        ...(views[index] ? views[index].widgets.map((w) => [`${w.config.name} (${w.config.type})`, w.keys]) : [])]);
      return;
    }
    if (ev.altKey && ev.code === "KeyA") { ev.preventDefault(); decide("accept"); return; }
    if (ev.altKey && ev.code === "KeyR") { ev.preventDefault(); decide("reject"); return; }
    if (ev.altKey && ev.code === "KeyC") { ev.preventDefault(); decide("correct"); return; }
    if (ev.altKey && (ev.code === "KeyN" || ev.code === "KeyP")) { ev.preventDefault(); step(ev.code === "KeyN" ? 1 : -1); return; }
    if (typing(ev)) {
      if (ev.key === "Escape") { ev.target.blur(); ev.preventDefault(); }
      return;
    }
    const v = views[index];
    if (!v) return;
    if (ev.key === "Tab" && v.widgets.length > 1) {
      ev.preventDefault();
      active = (active + (ev.shiftKey ? v.widgets.length - 1 : 1)) % v.widgets.length;
      paintActive();
      return;
    }
    // The active control first, then the others (as in the label view): a correction is made
    // with the same keys as the answer was.
    const w = v.widgets[active];
    if (w && w.key(ev)) { ev.preventDefault(); return; }
    for (const other of v.widgets) if (other !== w && other.key(ev)) { ev.preventDefault(); return; }
  }
  document.addEventListener("keydown", onKey);
  load().catch((err) => toast(err.message, "error"));
  return {
    leave() {
      left = true;
      document.removeEventListener("keydown", onKey);
      if (claim) api.post(`/tasks/${claim.task.id}/review/release`).catch(() => {});
    },
  };
}
