// The quality page: per control, how sure the consensus is (a histogram of confidence), how
// reliable each annotator is (model estimate) next to their gold score with its 95% interval,
// agreement, and who is paused and why (with the manager's unpause).
import { api } from "../api.js";
import { h, clear, toast } from "../dom.js";
import { histogram, bars } from "../charts.js";

export async function show(main, [pid]) {
  const project = await api.get(`/projects/${pid}`);
  const body = h("div");
  main.append(h("div.row", null, h("h1", null, `Quality · ${project.name}`), h("span.spacer"),
    h("a.button", { href: `#/manage/${pid}` }, "Manage"), h("a.button", { href: `#/review/${pid}` }, "Review")), body);

  const FIELDS = [
    ["target_confidence", "Target confidence (adaptive overlap; empty: off)", 0.01],
    ["min_labels", "Min labels per task", 1],
    ["max_labels", "Max labels per task", 1],
    ["budget_labels", "Budget of extra labels (empty: none)", 1],
    ["label_cost", "Cost per label (for the report)", 0.01],
    ["review_below", "Review first below confidence", 0.01],
    ["gold_pass", "Gold pass mark", 0.01],
    ["pause_below", "Pause annotators below gold accuracy (empty: never)", 0.01],
    ["pause_min_gold", "…after this many gold answers", 1],
  ];

  function policyForm(policy) {
    const inputs = {};
    const form = h("form.card.policy", {
      onsubmit: async (e) => {
        e.preventDefault();
        const quality = {};
        for (const [name, , step] of FIELDS) {
          const raw = inputs[name].value.trim();
          quality[name] = raw === "" ? null : step === 1 ? parseInt(raw, 10) : Number(raw);
        }
        try {
          await api.patch(`/projects/${pid}`, { quality });
          toast("Quality policy saved", "ok");
          load();
        } catch (err) { toast(err.field ? `${err.field}: ${err.message}` : err.message, "error"); }
      },
    }, h("h2", null, "Quality policy"),
    h("div.grid.small", null, FIELDS.map(([name, text, step]) => {
      inputs[name] = h("input", { type: "number", name, step, min: 0, value: policy[name] ?? "" });
      return h("label", null, text, inputs[name]);
    })),
    h("button.primary", { type: "submit" }, "Save policy"));
    return form;
  }

  async function load() {
    clear(body);
    try { body.append(policyForm((await api.get(`/projects/${pid}`)).quality || {})); } catch { /* managers only */ }
    let report;
    try { report = await api.get(`/projects/${pid}/quality`); } catch (err) { body.append(h("p.error", null, err.message)); return; }
    const controls = Object.entries(report.controls || {});
    if (!controls.length) body.append(h("p.muted", null, "No control of this project has a quality model yet."));
    if (report.adaptive && report.adaptive.enabled) body.append(adaptiveSection(report.adaptive));
    for (const [name, c] of controls) body.append(controlSection(name, c));
    try {
      const pauses = await api.get(`/projects/${pid}/pauses`);
      body.append(pauseSection(pauses));
    } catch { /* pauses are for managers */ }
  }

  function adaptiveSection(a) {
    const fixed = a.labels + a.labels_saved;
    return h("section.card.adaptive", null, h("h2", null, "Adaptive overlap"),
      h("p.muted", null, `target confidence ${a.target_confidence} · ${a.min_labels}–${a.max_labels} labels per task · ` +
        `${a.extra_labels} extra labels bought${a.budget_labels !== null ? ` of a budget of ${a.budget_labels}` : ""} · ` +
        `${a.complete_tasks} of ${a.tasks} tasks complete`),
      bars([
        { label: "labels used", value: fixed ? a.labels / fixed : 0, note: `${a.labels}${a.spent !== null ? ` (${a.spent})` : ""}` },
        { label: `fixed ${a.max_labels} per task`, value: fixed ? 1 : 0, color: "#9ca3af", note: String(fixed) },
        { label: "labels saved", value: fixed ? a.labels_saved / fixed : 0, color: "#16a34a", note: `${a.labels_saved}${a.saved !== null ? ` (${a.saved})` : ""}` },
      ], { label: "labels used and saved by adaptive overlap" }));
  }

  function controlSection(name, c) {
    const section = h("section.card.quality", { dataset: { control: name } }, h("h2", null, `${name}`));
    const facts = [];
    if (c.method) facts.push(`method ${c.method}`);
    if (c.tasks !== undefined) facts.push(`${c.tasks} tasks`);
    if (c.answers !== undefined) facts.push(`${c.answers} answers`);
    if (c.mean_confidence !== null && c.mean_confidence !== undefined) facts.push(`mean confidence ${(100 * c.mean_confidence).toFixed(1)}%`);
    if (c.low_confidence_tasks !== undefined) facts.push(`${c.low_confidence_tasks} below 70%`);
    if (c.krippendorff_alpha !== null && c.krippendorff_alpha !== undefined) facts.push(`Krippendorff's α ${c.krippendorff_alpha.toFixed(3)}`);
    if (c.labels_saved !== undefined) facts.push(`${c.labels_saved} labels saved by adaptive overlap`);
    section.append(h("p.muted", null, facts.join(" · ")));
    const left = h("div"), right = h("div");
    section.append(h("div.two", null, left, right));
    if (Array.isArray(c.consensus) && c.consensus.length) {
      left.append(h("h3", null, "Consensus confidence"), histogram(c.consensus.map((x) => x.confidence), { label: "consensus confidence per task" }));
    }
    if (Array.isArray(c.annotators) && c.annotators.length) {
      right.append(h("h3", null, "Annotator reliability (model)"),
        bars(c.annotators.map((a) => ({ label: a.annotator, value: a.reliability, note: a.reliability === null ? "–" : `${a.reliability.toFixed(2)} · ${a.answers} answers` })), { label: "reliability per annotator" }));
      const gold = c.annotators.filter((a) => a.gold && a.gold.answered);
      if (gold.length) {
        right.append(h("h3", null, "Gold score (95% interval)"),
          bars(gold.map((a) => ({ label: a.annotator, value: a.gold.accuracy, low: a.gold.ci95[0], high: a.gold.ci95[1], color: "#16a34a", note: `${a.gold.correct}/${a.gold.answered}` })), { label: "gold accuracy per annotator" }));
      }
    }
    if (Array.isArray(c.leaderboard) && c.leaderboard.length) {
      section.append(h("h3", null, "Leaderboard (Bradley–Terry, 95% interval)"),
        bars(c.leaderboard.map((r) => ({ label: String(r.name ?? r.response ?? r.model), value: r.score ?? r.rating, low: r.ci95 ? r.ci95[0] : undefined, high: r.ci95 ? r.ci95[1] : undefined, note: (r.score ?? r.rating ?? 0).toFixed(3) }))));
    }
    return section;
  }

  function pauseSection(pauses) {
    const section = h("section.card", null, h("h2", null, "Paused annotators"));
    if (!pauses.length) { section.append(h("p.muted", null, "Nobody is paused.")); return section; }
    section.append(h("table", null, h("tbody", null, pauses.map((p) => h("tr", null,
      h("td", null, p.annotator || p.email || `user ${p.user_id}`), h("td", null, p.reason || ""),
      h("td", null, h("button", {
        type: "button",
        onclick: async () => {
          try { await api.del(`/projects/${pid}/pauses/${p.user_id}`); toast("Unpaused", "ok"); load(); } catch (err) { toast(err.message, "error"); }
        },
      }, "Unpause")))))));
    return section;
  }

  load();
  return {};
}
