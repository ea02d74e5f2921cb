// ranking: order k responses, best first, by drag or keys (↑/↓ pick, Shift+↑/↓ move, or a
// number key puts the picked response at that rank).
import { h, clear } from "../dom.js";
import { promptBlock, renderBody, responseText } from "./responses.js";

export function create({ config, item, value, onChange }) {
  const responses = item[config.over] || [];
  let order = Array.isArray(value) && value.length === responses.length ? [...value] : responses.map((_, i) => i);
  let picked = 0; // a position in `order`
  let dragged = null;
  const list = h("ol.ranking");
  const el = h("div.control.ranking", null, promptBlock(item, config.prompt || "prompt"), list);
  function paint() {
    clear(list);
    order.forEach((idx, pos) => {
      const li = h("li.response", {
        draggable: true,
        dataset: { index: idx, rank: pos + 1 },
        onclick: () => { picked = pos; paint(); },
        ondragstart: (e) => { dragged = pos; e.dataTransfer.effectAllowed = "move"; e.dataTransfer.setData("text/plain", String(pos)); },
        ondragover: (e) => { e.preventDefault(); li.classList.add("drop"); },
        ondragleave: () => li.classList.remove("drop"),
        ondrop: (e) => { e.preventDefault(); if (dragged !== null) move(dragged, pos); dragged = null; },
      }, h("span.rank", null, `#${pos + 1}`), h("span.muted.small", null, ` response ${idx + 1}`), renderBody(responseText(responses[idx])));
      li.classList.toggle("picked", pos === picked);
      list.append(li);
    });
  }
  function move(from, to) {
    if (to < 0 || to >= order.length || from === to) return;
    const [x] = order.splice(from, 1);
    order.splice(to, 0, x);
    picked = to;
    paint();
    onChange();
  }
  paint();
  return {
    el,
    owns: [config.over, config.prompt || "prompt"],
    keys: [["↑ ↓", "pick a response"], ["Shift + ↑ ↓", "move it up / down"], ["1 … 9", "move it to that rank"]],
    value() { return [...order]; },
    key(ev) {
      if (ev.ctrlKey || ev.altKey || ev.metaKey) return false;
      if (ev.key === "ArrowUp" || ev.key === "ArrowDown") {
        const step = ev.key === "ArrowUp" ? -1 : 1;
        if (ev.shiftKey) move(picked, picked + step);
        else { picked = Math.max(0, Math.min(order.length - 1, picked + step)); paint(); }
        return true;
      }
      if (/^Digit[1-9]$/.test(ev.code)) { move(picked, Number(ev.code.slice(5)) - 1); return true; }
      return false;
    },
  };
}
