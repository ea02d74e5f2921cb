// The manager's console for one project: progress, import with a live job bar, export, and each
// annotator's count and time per task.
import { api, call } from "../api.js";
import { h, clear, toast, fmtSeconds } from "../dom.js";
import { progressBar } from "./projects.js";

export async function show(main, [pid]) {
  const project = await api.get(`/projects/${pid}`);
  const progress = h("div");
  const people = h("tbody");
  const importState = h("div.import-state");
  const file = h("input", { type: "file", name: "file", accept: ".jsonl,.json,.csv,.zip" });
  let stopped = false;
  main.append(
    h("div.row", null, h("h1", null, project.name), h("span.spacer"),
      h("a.button", { href: `#/label/${pid}` }, "Label"), h("a.button", { href: `#/review/${pid}` }, "Review"), h("a.button", { href: `#/quality/${pid}` }, "Quality")),
    h("div.two", null,
      h("section.card", null, h("h2", null, "Progress"), progress,
        h("h2", null, "Annotators"),
        h("table.people", null, h("thead", null, h("tr", null, h("th", null, "Annotator"), h("th", null, "Annotations"), h("th", null, "Time per task"))), people)),
      h("section.card", null,
        h("h2", null, "Import items"),
        h("p.muted.small", null, "JSONL, JSON, CSV, or a zip of images. Re-importing the same rows adds nothing."),
        h("form.row", { onsubmit: (e) => { e.preventDefault(); upload(); } }, file, h("button.primary", { type: "submit", id: "import" }, "Import")),
        importState,
        h("h2", null, "Export"),
        h("p.muted.small", null, "The formats this project's controls feed; each file holds every annotated task with its consensus."),
        h("div.row.wrap", null, project.exports.map((f) => h("a.button", { href: `/api/v1/projects/${pid}/export?format=${f}`, download: "", dataset: { format: f } }, f.toUpperCase()))),
        h("h2", null, "Schema"),
        h("pre.code.small", null, JSON.stringify(project.schema, null, 2)))));

  async function refresh() {
    try {
      const s = await api.get(`/projects/${pid}/stats`);
      clear(progress).append(progressBar(s));
      clear(people);
      for (const a of s.annotators) people.append(h("tr", null, h("td", null, a.annotator), h("td", null, String(a.annotations)), h("td", null, fmtSeconds(a.mean_seconds))));
      if (!s.annotators.length) people.append(h("tr", null, h("td.muted", { colSpan: 3 }, "No annotations yet")));
    } catch (err) { toast(err.message, "error"); }
  }

  async function upload() {
    const f = file.files[0];
    if (!f) { toast("Choose a file first", "error"); return; }
    const bar = h("progress", { max: 100, value: 0 });
    const label = h("span.small", null, `Uploading ${f.name}…`);
    clear(importState).append(bar, label);
    try {
      const res = await call("POST", `/projects/${pid}/items`, f, { raw: true, headers: { "Content-Type": f.type || "application/octet-stream" } });
      const body = await res.json();
      if (!res.ok) throw new Error(body.error ? body.error.message : res.statusText);
      if (res.status === 202) await follow(body, bar, label);
      else done(body, bar, label);
    } catch (err) { label.textContent = `Import failed: ${err.message}`; label.classList.add("error"); }
    refresh();
  }

  async function follow(job, bar, label) {
    while (!stopped) {
      job = await api.get(`/jobs/${job.id}`);
      if (job.total) { bar.max = job.total; bar.value = job.done; }
      label.textContent = `Importing: ${job.done.toLocaleString()}${job.total ? " of " + job.total.toLocaleString() : ""} rows (${job.state})`;
      if (job.state === "succeeded") return done(job.result, bar, label);
      if (job.state === "failed") throw new Error(job.error || "the import job failed");
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  function done(result, bar, label) {
    bar.max = 1; bar.value = 1;
    label.textContent = `Imported: ${result.created} new, ${result.duplicates} already there, ${result.failed} failed`;
    if (result.errors && result.errors.length) {
      importState.append(h("ul.small.error", null, result.errors.slice(0, 20).map((e) => h("li", null, `line ${e.line}: ${e.message}`))));
    }
  }

  refresh();
  const timer = setInterval(refresh, 5000);
  return { leave() { stopped = true; clearInterval(timer); } };
}
