// Create a project: a form for the basics, the schema as YAML or JSON with a live preview of the
// labeling view (rendered by the same widgets annotators use, over a sample item). The server
// reads and checks the text as it is typed (POST /schemas/check), so the editor shows the same
// errors creating the project would, and YAML is parsed by PyYAML's safe loader, not here.
import { api } from "../api.js";
import { h, clear, toast } from "../dom.js";
import { go } from "../app.js";
import { buildTask } from "./task.js";
import { toYaml } from "../yaml.js";
import { widgetTypes } from "../controls/index.js";

// What the "add a control" form asks for, per type: the item field it reads by default, and
// which list (if any) the comma-separated entry fills.
const KINDS = {
  choices: { over: "text", list: "options", hint: "options: positive, negative" },
  spans: { over: "text", list: "labels", hint: "labels: PER, ORG, LOC" },
  boxes: { over: "image", list: "labels", hint: "labels: car, person" },
  text: { over: "prompt", list: null, hint: "" },
  rating: { over: null, list: null, hint: "" },
  ranking: { over: "responses", list: null, hint: "" },
  preference: { over: "responses", list: null, hint: "" },
};

const TEMPLATES = {
  "Text classification": { controls: [{ name: "label", type: "choices", over: "text", options: ["positive", "negative", "neutral"] }] },
  "Named entities": { controls: [{ name: "entities", type: "spans", over: "text", labels: ["PER", "ORG", "LOC"] }] },
  "Image boxes": { controls: [{ name: "objects", type: "boxes", over: "image", labels: ["car", "person"], shapes: ["rectangle", "polygon"] }] },
  "Preference (A vs B)": { controls: [{ name: "preference", type: "preference", over: "responses", prompt: "prompt", strength_scale: 3 }] },
  "Ranking": { controls: [{ name: "rank", type: "ranking", over: "responses", prompt: "prompt" }] },
  "SFT response": { controls: [{ name: "response", type: "text", min_length: 20, placeholder: "Write the ideal answer" }] },
  "Rubric grading": { controls: [{ name: "grade", type: "rating", min: 1, max: 5, criteria: [{ name: "helpful", description: "answers the question" }, { name: "correct", description: "no factual errors" }] }] },
};
const SAMPLE = {
  text: "Ada Lovelace met Charles Babbage in London in 1833.",
  prompt: "Explain recursion in one sentence.",
  responses: ["Recursion is when a function calls itself on a smaller input until a base case.", "It is recursion.", "A loop."],
};

export function show(main) {
  const name = h("input", { name: "name", required: true, placeholder: "e.g. Support tickets, batch 3" });
  const description = h("input", { name: "description", placeholder: "what annotators should know" });
  const overlap = h("input", { name: "overlap", type: "number", min: 1, max: 50, value: 1 });
  const lease = h("input", { name: "lease_seconds", type: "number", min: 30, value: 900 });
  const gold = h("input", { name: "gold_rate", type: "number", min: 0, max: 1, step: 0.01, value: 0 });
  let syntax = "yaml";
  const write = (value) => (syntax === "yaml" ? toYaml(value) : JSON.stringify(value, null, 2) + "\n");
  const template = h("select", { name: "template", onchange: () => { schema.value = write(TEMPLATES[template.value]); preview(); } },
    Object.keys(TEMPLATES).map((t) => h("option", { value: t }, t)));
  const syntaxPick = h("select", { name: "syntax", "aria-label": "schema syntax", onchange: () => convert(syntaxPick.value) },
    h("option", { value: "yaml" }, "YAML"), h("option", { value: "json" }, "JSON"));
  const schema = h("textarea.schema-editor", { name: "schema", spellcheck: false, "aria-label": "schema" });
  schema.value = write(TEMPLATES["Text classification"]);
  const problem = h("p.error", { role: "alert" });
  const exportsLine = h("p.muted.small", { id: "schema-exports" });
  const previewBox = h("div.preview");
  const builder = controlForm(async (control) => {
    problem.textContent = "";
    const out = await read();
    if (!out) return false;
    const names = new Set(out.schema.controls.map((c) => c.name));
    if (names.has(control.name)) { problem.textContent = `There is already a control named "${control.name}"`; return false; }
    schema.value = write({ ...out.schema, controls: [...out.schema.controls, control] });
    await preview();
    return true;
  });
  let timer = null, asked = 0;
  schema.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(preview, 250); });

  /** The schema the editor holds, read and checked by the server (YAML safely, there only);
   * null when it has a mistake, which is shown under the editor. */
  async function read() {
    const mine = ++asked;
    try {
      const out = await api.post("/schemas/check", { text: schema.value, syntax });
      return mine === asked ? out : null;
    } catch (err) {
      if (mine === asked) problem.textContent = err.field && err.field !== "text" ? `${err.field}: ${err.message}` : err.message;
      return null;
    }
  }

  async function convert(to) {
    if (to === syntax) return;
    // A preview still waiting for its debounce would read the text while the switch is under
    // way and supersede the switch's own read (only the latest read counts), which undid the
    // switch when it came within 250 ms of an edit; the switch previews afterwards instead.
    clearTimeout(timer);
    problem.textContent = "";
    const out = await read();
    if (!out) { syntaxPick.value = syntax; return; }  // fix the mistake first, then switch
    syntax = to;
    schema.value = write(out.schema);
    await preview();
  }

  async function preview() {
    problem.textContent = "";
    const out = await read();
    if (!out) return;
    const parsed = out.schema;
    exportsLine.textContent = `Exports: ${out.exports.join(", ")}`;
    try {
      const item = { ...SAMPLE };
      const files = {};
      for (const c of parsed.controls) {
        if (c.type === "boxes") { const f = await sampleImage(); files[c.over] = f; item[c.over] = { width: f.img.naturalWidth, height: f.img.naturalHeight }; }
        else if (c.type === "preference" && c.over) item[c.over] = SAMPLE.responses.slice(0, 2);
        else if (c.type === "ranking" && c.over) item[c.over] = SAMPLE.responses;
        else if (c.over && !(c.over in item)) item[c.over] = SAMPLE.text;
      }
      const { root } = await buildTask({ schema: parsed, item, answer: null, files, onChange: () => {} });
      clear(previewBox).append(root);
    } catch (err) { problem.textContent = `Cannot preview: ${err.message}`; }
  }

  const form = h("form.card", {
    onsubmit: async (e) => {
      e.preventDefault();
      problem.textContent = "";
      clearTimeout(timer);
      const out = await read();
      if (!out) return;
      try {
        const p = await api.post("/projects", {
          name: name.value, description: description.value, schema: out.schema,
          overlap: Number(overlap.value), lease_seconds: Number(lease.value), gold_rate: Number(gold.value),
        });
        toast(`Project "${p.name}" created`, "ok");
        go(`#/manage/${p.id}`);
      } catch (err) { problem.textContent = err.field ? `${err.field}: ${err.message}` : err.message; }
    },
  },
  h("h1", null, "New project"),
  h("div.two", null,
    h("div", null,
      h("label", null, "Name", name),
      h("label", null, "Description", description),
      h("div.row", null, h("label", null, "Annotators per task", overlap), h("label", null, "Lease (seconds)", lease), h("label", null, "Gold rate", gold)),
      h("div.row", null, h("label", null, "Start from", template), h("label", null, "Schema as", syntaxPick)),
      builder,
      h("label", null, "Schema", schema),
      problem,
      exportsLine,
      h("button.primary", { type: "submit" }, "Create project")),
    h("div", null, h("div.label-small", null, "Preview of the labeling view"), previewBox)));
  main.append(form);
  preview();
  name.focus();
  return {};
}

/** A small form that adds one control to the schema (the editor holds the rest of its options). */
function controlForm(add) {
  const type = h("select", { name: "control_type", "aria-label": "control type", onchange: () => sync() },
    widgetTypes.map((t) => h("option", { value: t }, t)));
  const name = h("input", { name: "control_name", placeholder: "name", size: 10, "aria-label": "control name" });
  const over = h("input", { name: "control_over", placeholder: "item field", size: 10, "aria-label": "item field" });
  const list = h("input", { name: "control_list", size: 28, "aria-label": "options or labels" });
  function sync() {
    const kind = KINDS[type.value] || {};
    over.value = kind.over || "";
    list.hidden = !kind.list;
    list.placeholder = kind.hint || "";
  }
  sync();
  async function submit() {
    const kind = KINDS[type.value] || {};
    const control = { name: name.value.trim() || type.value, type: type.value };
    if (over.value.trim()) control.over = over.value.trim();
    if (kind.list) {
      const entries = list.value.split(",").map((x) => x.trim()).filter(Boolean);
      if (!entries.length) { toast(`Write the ${kind.list}, separated by commas`, "error"); list.focus(); return; }
      control[kind.list] = entries;
    }
    if (await add(control)) { name.value = ""; list.value = ""; }
  }
  // Enter in a field adds the control instead of submitting the project form.
  const onKey = (e) => { if (e.key === "Enter") { e.preventDefault(); submit(); } };
  for (const input of [name, over, list]) input.addEventListener("keydown", onKey);
  return h("fieldset.add-control", null, h("legend", null, "Add a control"),
    h("div.row.wrap", null, type, name, over, list, h("button", { type: "button", id: "add-control", onclick: submit }, "Add")));
}

let sample = null;
function sampleImage() {
  if (sample) return sample;
  const c = document.createElement("canvas");
  c.width = 480; c.height = 320;
  const g = c.getContext("2d");
  g.fillStyle = "#dbeafe"; g.fillRect(0, 0, 480, 320);
  g.fillStyle = "#1d4ed8"; g.fillRect(60, 80, 120, 90);
  g.fillStyle = "#dc2626"; g.beginPath(); g.arc(330, 180, 60, 0, 2 * Math.PI); g.fill();
  sample = new Promise((resolve) => c.toBlob(async (blob) => {
    const url = URL.createObjectURL(blob);
    const img = new Image(); img.src = url; await img.decode();
    resolve({ url, blob, img });
  }));
  return sample;
}
