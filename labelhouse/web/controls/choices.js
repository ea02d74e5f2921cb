// choices: one option (or several when `multiple`), by click or number key.
import { h } from "../dom.js";
import { digitKey } from "./index.js";

export function create({ config, value, onChange }) {
  const multiple = !!config.multiple;
  let chosen = new Set(value === undefined || value === null ? [] : multiple ? value : [value]);
  let touched = value !== undefined;
  const buttons = config.options.map((opt, i) =>
    h("button.choice", { type: "button", role: multiple ? "checkbox" : "radio", onclick: () => pick(i), dataset: { option: opt } },
      i < 10 ? h("kbd", null, String((i + 1) % 10)) : null, opt));
  const el = h("div.control.choices", { role: multiple ? "group" : "radiogroup", "aria-label": config.name }, buttons);
  function paint() {
    buttons.forEach((b, i) => {
      const on = chosen.has(config.options[i]);
      b.classList.toggle("on", on);
      b.setAttribute("aria-checked", String(on));
    });
  }
  function pick(i) {
    const opt = config.options[i];
    if (opt === undefined) return;
    if (multiple) { if (chosen.has(opt)) chosen.delete(opt); else chosen.add(opt); }
    else chosen = new Set([opt]);
    touched = true;
    paint();
    onChange();
  }
  paint();
  return {
    el,
    owns: [],
    keys: [["1 … 9, 0", multiple ? "toggle option 1 … 10" : "choose option 1 … 10"]],
    value() {
      if (!touched) return undefined;
      if (multiple) return config.options.filter((o) => chosen.has(o));
      return chosen.size ? [...chosen][0] : undefined;
    },
    key(ev) {
      const n = digitKey(ev);
      if (n < 0 || ev.ctrlKey || ev.altKey || ev.metaKey) return false;
      pick(n);
      return true;
    },
  };
}
