// One task on screen: the item's fields and a widget per control. Built off-screen while the
// previous task is still being labeled (prefetch), so showing it is a swap, not a load.
import { h } from "../dom.js";
import { widgetFor } from "../controls/index.js";
import { renderBody } from "../controls/responses.js";

/** Fetch and decode an item's files (signed URLs from `next`) so the widgets draw at once. */
export async function loadFiles(item) {
  const files = {};
  await Promise.all(Object.entries(item).map(async ([field, v]) => {
    if (!v || typeof v !== "object" || typeof v.url !== "string") return;
    const res = await fetch(v.url, { credentials: "same-origin" });
    if (!res.ok) throw new Error(`could not load the file of '${field}' (${res.status})`);
    const blob = await res.blob();
    const url = URL.createObjectURL(blob);
    const entry = { url, blob };
    // The server's media type is a hint; an image is whatever the browser can decode as one.
    if (blob.type.startsWith("image/") || blob.type === "application/octet-stream" || !blob.type) {
      const img = new Image();
      img.src = url;
      try {
        await img.decode();
        entry.img = img;
        // A bitmap stays decoded in memory, so the canvas draws it at once when the task shows.
        if (window.createImageBitmap) entry.bitmap = await createImageBitmap(blob);
      } catch { /* not an image: offered as a download */ }
    }
    files[field] = entry;
  }));
  return files;
}

/** Build a task's view. `answer` holds saved values per control name (a draft or an annotation). */
export async function buildTask({ schema, item, answer, files, onChange }) {
  const controls = schema.controls;
  const mods = await Promise.all(controls.map((c) => widgetFor(c.type)));
  const widgets = controls.map((config, i) => {
    const w = mods[i].create({ config, item, value: answer ? answer[config.name] : undefined, onChange, files });
    w.config = config;
    return w;
  });
  const owned = new Set(widgets.flatMap((w) => w.owns));
  const fields = Object.entries(item).filter(([k]) => !owned.has(k));
  const itemPanel = fields.length ? h("section.item", null, fields.map(([k, v]) => fieldView(k, v, files[k]))) : null;
  const root = h("div.task", null,
    itemPanel,
    widgets.map((w, i) => h("section.control-box", { dataset: { control: w.config.name, index: i } },
      h("div.control-title", null, h("strong", null, w.config.name), w.config.description ? h("span.muted", null, " — " + w.config.description) : null),
      w.el)));
  return { root, widgets };
}

function fieldView(name, value, file) {
  let body;
  if (file && file.img) body = h("img.item-image", { src: file.url, alt: name });
  else if (file) body = h("a", { href: file.url, download: value.name || name }, `Download ${value.name || name}`);
  else body = renderBody(value);
  return h("div.field", { dataset: { field: name } }, h("div.label-small", null, name), body);
}

/** Each control's answer, or the first problem that stops a submit. */
export function collect(widgets) {
  const answer = {};
  for (const w of widgets) {
    const v = w.value();
    if (v === undefined) {
      if (w.config.required === false) continue;
      return { problem: (w.problem && w.problem()) || `${w.config.name}: give an answer first` };
    }
    answer[w.config.name] = v;
  }
  return { answer };
}

/** Whatever is filled in so far, for a draft. */
export function partial(widgets) {
  const answer = {};
  for (const w of widgets) {
    const v = w.value();
    if (v !== undefined) answer[w.config.name] = v;
  }
  return answer;
}
