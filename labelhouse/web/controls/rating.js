// rating: a score on a scale, or one per rubric criterion. Number keys score the active
// criterion; up/down arrows move between criteria.
import { h } from "../dom.js";
import { digitKey } from "./index.js";

export function create({ config, value, onChange }) {
  const min = config.min ?? 1, max = config.max ?? 5;
  const criteria = config.criteria && config.criteria.length ? config.criteria : null;
  const names = criteria ? criteria.map((c) => c.name) : [null];
  const scores = {};
  if (value !== undefined && value !== null) {
    if (criteria) Object.assign(scores, value);
    else scores[null] = value;
  }
  let active = 0;
  const rows = names.map((name, r) => {
    const crit = criteria ? criteria[r] : null;
    const buttons = [];
    for (let v = min; v <= max; v++) {
      buttons.push(h("button.score", { type: "button", onclick: () => { active = r; set(name, v); }, dataset: { score: v } }, String(v)));
    }
    return h("div.criterion", { dataset: { criterion: name ?? "" } },
      crit ? h("div.criterion-name", null, h("strong", null, crit.name), crit.description ? h("span.muted", null, " — " + crit.description) : null) : null,
      h("div.scale", { role: "radiogroup", "aria-label": name ?? config.name }, buttons));
  });
  const el = h("div.control.rating", null, rows);
  function set(name, v) { scores[name] = v; paint(); onChange(); }
  function paint() {
    rows.forEach((row, r) => {
      row.classList.toggle("active", r === active && names.length > 1);
      row.querySelectorAll("button.score").forEach((b) => b.classList.toggle("on", Number(b.dataset.score) === scores[names[r]]));
    });
  }
  paint();
  const keyRange = max - min < 10 ? `${min} … ${Math.min(max, 9)}` : "digits";
  return {
    el,
    owns: [],
    keys: [[keyRange, "score the active criterion"], ...(names.length > 1 ? [["↑ ↓", "previous / next criterion"]] : [])],
    value() {
      if (!criteria) return scores[null];
      return names.every((n) => scores[n] !== undefined) ? Object.fromEntries(names.map((n) => [n, scores[n]])) : undefined;
    },
    key(ev) {
      if (ev.ctrlKey || ev.altKey || ev.metaKey) return false;
      if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
        active = (active + (ev.key === "ArrowDown" ? 1 : names.length - 1)) % names.length;
        paint();
        return true;
      }
      const d = digitKey(ev);
      if (d < 0) return false;
      const v = Number(ev.code.slice(5));
      if (v < min || v > max) return false;
      set(names[active], v);
      if (names.length > 1 && active < names.length - 1) { active++; paint(); }
      return true;
    },
  };
}
