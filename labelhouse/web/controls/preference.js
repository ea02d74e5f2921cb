// preference: A vs B side by side, a strength, an optional (or required) reason.
import { h } from "../dom.js";
import { promptBlock, renderBody, responseText } from "./responses.js";

export function create({ config, item, value, onChange }) {
  const [a, b] = item[config.over] || [];
  const scale = config.strength_scale ?? 3;
  let winner = value?.winner, strength = value?.strength ?? null;
  const reason = h("textarea.reason", { rows: 2, placeholder: config.require_reason ? "Why? (required)" : "Why? (optional)", "aria-label": "reason" });
  reason.value = value?.reason ?? "";
  reason.addEventListener("input", onChange);
  const side = (key, resp) => h("article.response", { dataset: { side: key }, onclick: () => choose(key) },
    h("div.label-small", null, h("kbd", null, key === "a" ? "A / ←" : "B / →"), ` Response ${key.toUpperCase()}`),
    renderBody(responseText(resp)));
  const sides = { a: side("a", a), b: side("b", b) };
  const tie = config.allow_tie !== false ? h("button.choice", { type: "button", onclick: () => choose("tie") }, h("kbd", null, "T"), "Tie") : null;
  const strengths = [];
  for (let s = 1; s <= scale && scale > 1; s++) {
    strengths.push(h("button.score", { type: "button", dataset: { score: s }, onclick: () => { strength = s; paint(); onChange(); } }, String(s)));
  }
  const el = h("div.control.preference", null,
    promptBlock(item, config.prompt || "prompt"),
    h("div.pair", null, sides.a, sides.b),
    h("div.row", null, tie, strengths.length ? h("span.muted", null, "Strength:") : null, strengths),
    reason);
  function choose(w) { winner = w; if (w !== "tie" && strength === null) strength = 1; paint(); onChange(); }
  function paint() {
    sides.a.classList.toggle("on", winner === "a");
    sides.b.classList.toggle("on", winner === "b");
    if (tie) tie.classList.toggle("on", winner === "tie");
    strengths.forEach((btn) => btn.classList.toggle("on", winner !== "tie" && Number(btn.dataset.score) === strength));
  }
  paint();
  return {
    el,
    owns: [config.over, config.prompt || "prompt"],
    keys: [["A or ←", "A is better"], ["B or →", "B is better"], ...(tie ? [["T", "a tie"]] : []),
      ...(scale > 1 ? [[`1 … ${Math.min(scale, 9)}`, "how strongly"]] : []), ["R", "write the reason"]],
    value() {
      if (!winner) return undefined;
      if (config.require_reason && !reason.value.trim()) return undefined;
      const out = { winner };
      if (winner !== "tie") out.strength = strength ?? 1;
      if (reason.value.trim()) out.reason = reason.value;
      return out;
    },
    problem() {
      if (!winner) return `${config.name}: choose A, B${tie ? " or a tie" : ""}`;
      if (config.require_reason && !reason.value.trim()) return `${config.name}: write a reason`;
      return null;
    },
    key(ev) {
      if (ev.ctrlKey || ev.altKey || ev.metaKey) return false;
      const k = ev.key.toLowerCase();
      if (k === "a" || ev.key === "ArrowLeft") choose("a");
      else if (k === "b" || ev.key === "ArrowRight") choose("b");
      else if (k === "t" && tie) choose("tie");
      else if (k === "r") { reason.focus(); }
      else if (/^Digit[1-9]$/.test(ev.code) && Number(ev.code.slice(5)) <= scale && scale > 1) {
        strength = Number(ev.code.slice(5)); paint(); onChange();
      } else return false;
      return true;
    },
  };
}
