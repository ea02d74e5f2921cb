// The quality page: per control, how sure the consensus is (a histogram of confidence), agreement
// per label and per annotator pair, how reliable each annotator and team is next to their gold
// score with its 95% interval, a leaderboard with intervals and the position bias for preference
// and ranking controls, labels saved by adaptive overlap, a recompute job with its progress, and
// who is paused and why (with the manager's unpause).
import { api } from "../api.js";
import { h, clear, toast } from "../dom.js";
import { histogram, bars } from "../charts.js";

export async function show(main, [pid]) {
  const project = await api.get(`/projects/${pid}`);
  const body = h("div");
  main.append(h("div.row", null, h("h1", null, `Quality · ${project.name}`), h("span.spacer"),
    h("a.button", { href: `#/manage/${pid}` }, "Manage"), h("a.button", { href: `#/review/${pid}` }, "Review")), body);

  // [setting, label, step, what an empty field means: null (off) or undefined (the default)]
  const FIELDS = [
    ["target_confidence", "Target confidence (adaptive overlap; empty: off)", 0.01, null],
    ["min_labels", "Min labels per task", 1, undefined],
    ["max_labels", "Max labels per task", 1, undefined],
    ["budget_labels", "Budget of extra labels (empty: none)", 1, null],
    ["label_cost", "Cost per label (for the report)", 0.01, null],
    ["review_below", "Review first below confidence", 0.01, undefined],
    ["gold_pass", "Gold pass mark", 0.01, undefined],
    ["pause_below", "Pause annotators below gold accuracy (empty: never)", 0.01, null],
    ["pause_min_gold", "…after this many gold answers", 1, undefined],
  ];

  function policyForm(policy) {
    const inputs = {};
    const form = h("form.card.policy", {
      onsubmit: async (e) => {
        e.preventDefault();
        const quality = { ...policy }; // settings without a field here (stop_rule...) are kept
        for (const [name, , step, empty] of FIELDS) {
          const raw = inputs[name].value.trim();
          if (raw === "" && empty === undefined) delete quality[name]; // the server's default
          else quality[name] = raw === "" ? null : step === 1 ? parseInt(raw, 10) : Number(raw);
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

  async function load(stored = false) {
    clear(body);
    try { body.append(policyForm((await api.get(`/projects/${pid}`)).quality || {})); } catch { /* managers only */ }
    let report;
    try { report = await api.get(`/projects/${pid}/quality${stored ? "?stored=true" : ""}`); } catch (err) {
      body.append(h("p.error", null, err.message));
      if (err.code === "too_large") body.append(recomputeSection({}));
      return;
    }
    body.append(recomputeSection(report));
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
    const fixed = a.labels + a.labels_saved + (a.labels_short || 0);
    return h("section.card.adaptive", null, h("h2", null, "Adaptive overlap"),
      h("p.muted", null, `target confidence ${a.target_confidence} (${a.stop_rule} rule${a.annotator_weights === false ? ", unweighted" : ""}) · ${a.min_labels}–${a.max_labels} labels per task · ` +
        `${a.extra_labels} extra labels bought${a.budget_labels !== null ? ` of a budget of ${a.budget_labels}` : ""} · ` +
        `${a.complete_tasks} of ${a.tasks} tasks complete`),
      bars([
        { label: "labels used", value: fixed ? a.labels / fixed : 0, note: `${a.labels}${a.spent !== null ? ` (${a.spent})` : ""}` },
        { label: `fixed ${a.max_labels} per task`, value: fixed ? 1 : 0, color: "#9ca3af", note: String(fixed) },
        { label: "labels saved", value: fixed ? a.labels_saved / fixed : 0, color: "#16a34a", note: `${a.labels_saved}${a.saved !== null ? ` (${a.saved})` : ""}` },
        { label: `not bought: budget ran out (${a.tasks_short || 0} tasks below the target)`, value: fixed ? (a.labels_short || 0) / fixed : 0, color: "#d97706", note: String(a.labels_short || 0) },
      ], { label: "labels used and saved by adaptive overlap" }));
  }

  const pct = (x) => `${(100 * x).toFixed(1)}%`;
  const num = (x, d = 3) => (x === null || x === undefined ? "–" : x.toFixed(d));

  function controlSection(name, c) {
    const section = h("section.card.quality", { dataset: { control: name, type: c.type || "" } }, h("h2", null, `${name}`));
    const a = c.agreement || {};
    const facts = [c.type, `method ${c.method}`, `${c.tasks} tasks`, `${c.answers} answers`];
    if (c.method_note) facts.push(c.method_note);
    if (c.mean_confidence !== null && c.mean_confidence !== undefined) facts.push(`mean confidence ${pct(c.mean_confidence)}`);
    if (c.low_confidence_tasks !== undefined) facts.push(`${c.low_confidence_tasks} below ${pct(c.low_confidence_below ?? 0.8)}`);
    if (a.krippendorff_alpha !== null && a.krippendorff_alpha !== undefined) facts.push(`Krippendorff's α (${a.level}) ${num(a.krippendorff_alpha)}`);
    if (a.fleiss_kappa !== null && a.fleiss_kappa !== undefined) facts.push(`Fleiss' κ ${num(a.fleiss_kappa)}`);
    if (a.mean_pairwise !== null && a.mean_pairwise !== undefined) facts.push(`mean pairwise ${a.pair_measure.replace("_", " ")} ${num(a.mean_pairwise)}`);
    section.append(h("p.muted.facts", null, facts.join(" · ")));
    const left = h("div"), right = h("div");
    section.append(h("div.two", null, left, right));
    if (c.tasks) {
      left.append(h("h3", null, "Consensus confidence"),
        histogram([], { counts: c.confidence_histogram, label: "consensus confidence per task" }));
    }
    const labels = (a.per_label || []).filter((l) => (l.alpha ?? l.f1) !== null && (l.alpha ?? l.f1) !== undefined);
    if (labels.length) {
      const measure = labels[0].f1 !== undefined ? a.pair_measure.replace("_", " ") : "Krippendorff's α";
      left.append(h("h3", null, `Agreement per label (${measure})`),
        h("div.per-label", null, bars(labels.map((l) => ({ label: String(l.label), value: l.alpha ?? l.f1, color: "#7c3aed", note: num(l.alpha ?? l.f1) })), { label: "agreement per label" })));
    }
    const pairs = (a.pairs || []).filter((p) => p.value !== null);
    if (pairs.length) {
      const measure = a.pair_measure === "cohen_kappa" ? "Cohen's κ" : a.pair_measure.replace(/_/g, " ");
      left.append(h("h3", null, `Agreement per annotator pair (${measure})`),
        h("div.pairs", null, bars(pairs.map((p) => ({ label: `${p.a} · ${p.b}`, value: p.value, color: "#0891b2", note: `${num(p.value)} · ${p.items} items` })), { label: "agreement per annotator pair" })));
    }
    if (Array.isArray(c.annotators) && c.annotators.length) {
      right.append(h("h3", null, "Annotator reliability (estimated)"),
        h("div.reliability", null, bars(c.annotators.map((x) => ({ label: x.annotator, value: x.reliability, note: x.reliability === null ? "–" : `${x.reliability.toFixed(2)} · ${x.answers} answers` })), { label: "reliability per annotator" })));
      const gold = c.annotators.filter((x) => x.gold && x.gold.answered);
      if (gold.length) {
        right.append(h("h3", null, "Gold score (95% interval)"),
          h("div.gold", null, bars(gold.map((x) => ({ label: x.annotator, value: x.gold.accuracy, low: x.gold.ci95[0], high: x.gold.ci95[1], color: "#16a34a", note: `${x.gold.correct}/${x.gold.answered}` })), { label: "gold accuracy per annotator" })));
      }
    }
    const teams = (c.teams || []).filter((t) => t.team);
    if (teams.length) {
      right.append(h("h3", null, "Per team: reliability, and gold with 95% interval"),
        h("div.teams", null, bars(teams.flatMap((t) => [
          { label: `${t.team} (${t.annotators})`, value: t.reliability, note: `${num(t.reliability, 2)} · ${t.answers} answers` },
          ...(t.gold.answered ? [{ label: `${t.team} gold`, value: t.gold.accuracy, low: t.gold.ci95[0], high: t.gold.ci95[1], color: "#16a34a", note: `${t.gold.correct}/${t.gold.answered}` }] : []),
        ]), { label: "reliability and gold per team" })));
    }
    const board = c.leaderboard;
    if (board && board.entries.length) {
      section.append(h("h3", null, `Leaderboard of ${board.ranks} (Bradley–Terry with ties, 95% bootstrap interval; bar: chance to beat an average one)`),
        board.regularised ? h("p.muted", null, "Some response never lost or never won: the scores use a small prior to stay finite.") : null,
        board.groups > 1 ? h("p.muted", null, `The responses fall into ${board.groups} groups never compared with each other: compare scores only within a group (${board.entries.map((e) => `${e.name} ${e.group}`).join(", ")}).`) : null,
        h("div.leaderboard", null, bars(board.entries.map((e) => ({ label: `${e.rank}. ${e.name}`, value: e.win_vs_average, low: e.win_ci95[0], high: e.win_ci95[1], color: "#db2777", note: `${e.score >= 0 ? "+" : ""}${e.score.toFixed(2)} [${e.ci95[0].toFixed(2)}, ${e.ci95[1].toFixed(2)}] · Elo ${Math.round(e.elo)}` })), { label: "leaderboard", width: 860, right: 250 })));
      const b = board.position_bias;
      section.append(h("h3", null, "Position bias: how often the response shown first wins (95% interval)"),
        h("div.bias", null, bars([{ label: "first shown wins", value: b.left_rate, low: b.ci95[0], high: b.ci95[1], color: "#ea580c", note: `${pct(b.left_rate)} of ${b.left_wins + b.right_wins} decided · p ${b.p_value.toFixed(3)}` }], { label: "position bias", width: 860, right: 250 })),
        b.within_pairs === undefined ? null : h("p.muted", null, b.within_pairs
          ? `Within the ${b.within_pairs.pairs} pair(s) shown both ways (${b.within_pairs.votes} votes), the first shown wins ${pct(b.within_pairs.left_rate)} [${pct(b.within_pairs.ci95[0])}, ${pct(b.within_pairs.ci95[1])}] among equals.`
          : "No pair was shown both ways: the position cannot be told apart from the responses' strength."));
    }
    if (Array.isArray(c.weeks) && c.weeks.length) {
      section.append(h("details.weeks", null, h("summary", null, "Per annotator per week"),
        h("table", null, h("thead", null, h("tr", null, ["annotator", "week of", "answers", "agreement with consensus", "gold"].map((t) => h("th", null, t)))),
          h("tbody", null, c.weeks.map((w) => h("tr", null, h("td", null, w.annotator), h("td", null, w.week), h("td", null, String(w.answers)),
            h("td", null, num(w.reliability, 2)), h("td", null, w.gold_answered ? `${w.gold_accuracy.toFixed(2)} of ${w.gold_answered}` : "–")))))));
    }
    return section;
  }

  function recomputeSection(report) {
    const state = h("span.muted.recompute-state", null, report.computed_at ? `stored report computed ${report.computed_at} (job ${report.job_id})` : "computed now");
    const bar = h("progress", { max: 1, value: 0, hidden: true });
    const button = h("button", {
      type: "button", id: "recompute",
      onclick: async () => {
        button.disabled = true; bar.hidden = false;
        try {
          let job = await api.post(`/projects/${pid}/quality/recompute`);
          while (job.state === "queued" || job.state === "running") {
            bar.max = job.total || 1; bar.value = job.done || 0;
            state.textContent = `job ${job.id}: ${job.done} of ${job.total} steps`;
            await new Promise((r) => setTimeout(r, 300));
            job = await api.get(`/jobs/${job.id}`);
          }
          if (job.state !== "succeeded") throw new Error(job.error || "the recompute failed");
          toast("Quality report recomputed", "ok");
          load(true);
        } catch (err) { toast(err.message, "error"); button.disabled = false; }
      },
    }, "Recompute as a job");
    return h("div.row", null, state, bar, h("span.spacer"), button);
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
