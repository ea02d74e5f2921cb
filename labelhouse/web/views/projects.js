// The projects this person may work on, with progress and the actions their role allows.
import { api } from "../api.js";
import { h, toast } from "../dom.js";
import { isManager, isReviewer } from "../app.js";

export async function show(main) {
  main.append(h("div.row", null, h("h1", null, "Projects"), h("span.spacer"),
    isManager() ? h("a.button.primary", { href: "#/new" }, "New project") : null));
  const list = h("div.grid");
  main.append(list);
  let projects = [];
  try { projects = await api.get("/projects"); } catch (err) { toast(err.message, "error"); }
  if (!projects.length) list.append(h("p.muted", null, isManager() ? "No projects yet: create one." : "No projects are open to you yet."));
  for (const p of projects) {
    const progress = h("div.progress-slot");
    list.append(h("div.card.project", { dataset: { project: p.id } },
      h("h2", null, p.name),
      p.description ? h("p.muted", null, p.description) : null,
      h("p.muted", null, p.schema.controls.map((c) => c.type).join(", ")),
      progress,
      h("div.row", null,
        h("a.button.primary", { href: `#/label/${p.id}` }, "Label"),
        isReviewer() ? h("a.button", { href: `#/review/${p.id}` }, "Review") : null,
        isManager() ? h("a.button", { href: `#/manage/${p.id}` }, "Manage") : null,
        isManager() ? h("a.button", { href: `#/quality/${p.id}` }, "Quality") : null)));
    if (isReviewer()) {
      api.get(`/projects/${p.id}/stats`).then((s) => progress.append(progressBar(s)), () => {});
    }
  }
  return {};
}

export function progressBar(s) {
  const total = Math.max(1, s.tasks - s.gold);
  const pct = (n) => `${((100 * n) / total).toFixed(1)}%`;
  const done = h("span.done"); done.style.width = pct(s.complete);
  const busy = h("span.busy"); busy.style.width = pct(s.in_progress);
  return h("div", null,
    h("div.bar", { title: `${s.complete} done, ${s.in_progress} in progress, ${s.left} left` }, done, busy),
    h("p.muted.small", null, `${s.complete} done · ${s.in_progress} in progress · ${s.left} left · ${s.annotations} annotations`));
}
