// text: write or rewrite a response. The prompt or chat transcript is shown by the label view;
// this is the editor, with the length checks of the config.
import { h } from "../dom.js";

export function create({ config, value, onChange }) {
  const min = config.min_length ?? 1, max = config.max_length ?? 100000;
  const area = h("textarea.editor", { placeholder: config.placeholder || "Write here", rows: 10, spellcheck: true, "aria-label": config.name });
  area.value = typeof value === "string" ? value : "";
  const counter = h("span.muted.small");
  const el = h("div.control.text", null, area, h("div.row.small", null, counter));
  const length = () => Array.from(area.value.trimEnd()).length;
  function paint() {
    const n = length();
    counter.textContent = `${n} characters` + (n < min ? ` (at least ${min})` : "") + (n > max ? ` (at most ${max})` : "");
    counter.classList.toggle("error", n < min || n > max);
  }
  area.addEventListener("input", () => { paint(); onChange(); });
  paint();
  return {
    el,
    owns: [],
    keys: [["e", "edit the text"], ["Escape", "leave the editor (then Enter submits)"]],
    value() {
      const n = length();
      return n >= min && n <= max && (n > 0 || min === 0) ? area.value : undefined;
    },
    problem() {
      const n = length();
      return n < min ? `${config.name}: write at least ${min} characters` : n > max ? `${config.name}: at most ${max} characters` : null;
    },
    focus() { area.focus(); },
    key(ev) {
      if (ev.key === "e" && !ev.ctrlKey && !ev.altKey && !ev.metaKey) { area.focus(); return true; }
      return false;
    },
  };
}
