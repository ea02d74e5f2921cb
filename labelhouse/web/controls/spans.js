// spans: tag named entities in a text. Select with the mouse, or with the keyboard: ← → move a
// cursor, Shift+← → extend, Ctrl moves by word; a number key tags the selection with that label.
// Offsets are Unicode code points, as the server counts them (not the browser's UTF-16 units).
import { h, clear } from "../dom.js";
import { digitKey } from "./index.js";

const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777", "#4b5563", "#65a30d"];

export function create({ config, item, value, onChange }) {
  const chars = Array.from(String(item[config.over] ?? ""));
  let spans = Array.isArray(value) ? value.map((s) => ({ start: s.start, end: s.end, label: s.label })) : [];
  let label = 0;
  let sel = null; // {start, end} in code points, the keyboard/mouse selection
  let anchor = 0, caret = 0;
  let touched = value !== undefined;
  const color = (name) => COLORS[config.labels.indexOf(name) % COLORS.length];
  const labels = config.labels.map((name, i) =>
    h("button.chip", { type: "button", dataset: { label: name }, onclick: () => { label = i; if (sel) tag(); paint(); } },
      i < 10 ? h("kbd", null, String((i + 1) % 10)) : null, name));
  labels.forEach((b, i) => { b.style.borderColor = COLORS[i % COLORS.length]; });
  const textBox = h("div.spans-text", { tabIndex: -1 });
  const list = h("ul.span-list");
  const el = h("div.control.spans", null, h("div.row.wrap", null, labels), textBox, list);
  textBox.addEventListener("mouseup", () => {
    const range = fromDom();
    if (range) { sel = range; anchor = range.start; caret = range.end; tag(); }
  });

  function fromDom() {
    const s = window.getSelection();
    if (!s || s.isCollapsed || !s.rangeCount) return null;
    const r = s.getRangeAt(0);
    const a = offsetOf(r.startContainer, r.startOffset), b = offsetOf(r.endContainer, r.endOffset);
    s.removeAllRanges();
    if (a === null || b === null || a === b) return null;
    let start = Math.min(a, b), end = Math.max(a, b);
    while (start < end && /\s/.test(chars[start])) start++;
    while (end > start && /\s/.test(chars[end - 1])) end--;
    return start < end ? { start, end } : null;
  }
  function offsetOf(node, off) {
    const seg = (node.nodeType === Node.TEXT_NODE ? node.parentElement : node)?.closest?.("[data-start]");
    if (!seg || !textBox.contains(seg)) return null;
    const units = node.nodeType === Node.TEXT_NODE ? node.textContent.slice(0, off) : "";
    return Number(seg.dataset.start) + Array.from(units).length;
  }
  function tag() {
    if (!sel) return;
    // Spans never start or end on whitespace, however the selection was made.
    let { start, end } = sel;
    while (start < end && /\s/.test(chars[start])) start++;
    while (end > start && /\s/.test(chars[end - 1])) end--;
    if (start === end) { sel = null; paint(); return; }
    sel = { start, end };
    const name = config.labels[label];
    const same = spans.findIndex((s) => s.start === sel.start && s.end === sel.end && s.label === name);
    if (same >= 0) spans.splice(same, 1);
    else {
      if (config.allow_overlap === false) spans = spans.filter((s) => s.end <= sel.start || s.start >= sel.end);
      spans.push({ start: sel.start, end: sel.end, label: name });
    }
    spans.sort((x, y) => x.start - y.start || x.end - y.end);
    touched = true;
    sel = null;
    anchor = caret;
    paint();
    onChange();
  }
  function paint() {
    labels.forEach((b, i) => b.classList.toggle("on", i === label));
    const cuts = new Set([0, chars.length]);
    for (const s of spans) { cuts.add(s.start); cuts.add(s.end); }
    if (sel) { cuts.add(sel.start); cuts.add(sel.end); }
    cuts.add(caret);
    const points = [...cuts].filter((p) => p >= 0 && p <= chars.length).sort((x, y) => x - y);
    clear(textBox);
    for (let i = 0; i < points.length - 1; i++) {
      const [a, b] = [points[i], points[i + 1]];
      if (a === b) continue;
      const over = spans.filter((s) => s.start <= a && s.end >= b);
      const seg = h("span.seg", { dataset: { start: a } }, chars.slice(a, b).join(""));
      if (over.length) {
        seg.classList.add("tagged");
        seg.title = over.map((s) => s.label).join(", ");
        seg.dataset.labels = over.map((s) => s.label).join(" ");
        // Overlapping entities stack as underlines, one color per label, so each stays visible.
        seg.style.boxShadow = over.map((s, k) => `inset 0 -${3 * (k + 1)}px 0 0 ${color(s.label)}`).join(", ");
        seg.style.paddingBottom = `${3 * over.length}px`;
        seg.style.backgroundColor = color(over[0].label) + "22";
      }
      if (sel && a >= sel.start && b <= sel.end) seg.classList.add("selected");
      if (a === caret && !sel) seg.classList.add("caret");
      textBox.append(seg);
    }
    clear(list);
    spans.forEach((s, i) => list.append(h("li.chip", { dataset: { span: i } },
      h("span.swatch", { title: s.label }), `${s.label}: `, h("q", null, chars.slice(s.start, s.end).join("")),
      h("button.link", { type: "button", "aria-label": "remove", onclick: () => { spans.splice(i, 1); touched = true; paint(); onChange(); } }, "×"))));
    list.querySelectorAll(".swatch").forEach((sw, i) => { sw.style.backgroundColor = color(spans[i].label); });
  }
  function moveCaret(to, extend) {
    caret = Math.max(0, Math.min(chars.length, to));
    if (!extend) { anchor = caret; sel = null; }
    else sel = caret === anchor ? null : { start: Math.min(anchor, caret), end: Math.max(anchor, caret) };
    paint();
  }
  function wordStep(from, dir) {
    let i = from;
    if (dir > 0) { while (i < chars.length && /\s/.test(chars[i])) i++; while (i < chars.length && !/\s/.test(chars[i])) i++; }
    else { while (i > 0 && /\s/.test(chars[i - 1])) i--; while (i > 0 && !/\s/.test(chars[i - 1])) i--; }
    return i;
  }
  paint();
  return {
    el,
    owns: [config.over],
    keys: [["1 … 9, 0", "pick a label (tags the selection)"], ["← →", "move the cursor"], ["Ctrl + ← →", "move by word"],
      ["Shift + ← →", "extend the selection"], ["Delete", "remove the last span at the cursor"], ["N", "no entities in this text"], ["mouse", "select text to tag it"]],
    value() { return touched ? spans.map((s) => ({ ...s, text: chars.slice(s.start, s.end).join("") })) : undefined; },
    problem() { return touched ? null : `${config.name}: tag the entities, or press N if there are none`; },
    key(ev) {
      if (ev.altKey || ev.metaKey) return false;
      if (ev.key === "ArrowRight" || ev.key === "ArrowLeft") {
        const dir = ev.key === "ArrowRight" ? 1 : -1;
        moveCaret(ev.ctrlKey ? wordStep(caret, dir) : caret + dir, ev.shiftKey);
        return true;
      }
      if (ev.key === "Delete" || ev.key === "Backspace") {
        const at = spans.map((s, i) => [s, i]).filter(([s]) => s.start <= caret && s.end >= caret).pop();
        if (at) { spans.splice(at[1], 1); touched = true; paint(); onChange(); }
        return true;
      }
      if (ev.key === "n" && !ev.ctrlKey) { touched = true; paint(); onChange(); return true; }
      const d = digitKey(ev);
      if (d < 0 || ev.ctrlKey || d >= config.labels.length) return false;
      label = d;
      if (sel) tag(); else paint();
      return true;
    },
  };
}
