// Building DOM without markup: every user-typed text goes in as a text node, never as HTML.

/** h('div.card', {onclick, title}, child, ...) -> HTMLElement. Children: nodes, strings, arrays, null. */
export function h(tag, attrs, ...children) {
  const [name, ...classes] = tag.split(".");
  const el = document.createElement(name || "div");
  if (classes.length) el.className = classes.join(" ");
  if (attrs) {
    for (const [key, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
      else if (key === "dataset") Object.assign(el.dataset, value);
      else if (key in el && key !== "list" && key !== "form") el[key] = value;
      else el.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

/** A short message at the bottom of the screen. kind: info | ok | error. */
export function toast(message, kind = "info", ms = 4000) {
  const box = document.getElementById("toasts");
  const el = h("div.toast." + kind, { role: kind === "error" ? "alert" : "status" }, message);
  box.append(el);
  if (ms) setTimeout(() => el.remove(), ms);
  return el;
}

/** The keyboard help overlay ('?'): groups of [keys, what they do]. */
export function showHelp(groups) {
  const old = document.getElementById("help");
  if (old) { old.remove(); return; }
  const close = () => panel.remove();
  const panel = h("div.overlay", { id: "help", onclick: (e) => { if (e.target === panel) close(); } },
    h("div.dialog", { role: "dialog", "aria-label": "Keyboard shortcuts" },
      h("h2", null, "Keyboard shortcuts"),
      groups.map(([title, keys]) => [
        h("h3", null, title),
        h("table.keys", null, keys.map(([k, what]) => h("tr", null, h("td", null, h("kbd", null, k)), h("td", null, what)))),
      ]),
      h("p.muted", null, "Press ? or Escape to close.")));
  document.body.append(panel);
}

export function closeHelp() {
  const old = document.getElementById("help");
  if (old) { old.remove(); return true; }
  return false;
}

/** True when a key event happens in a text field, where letters are typing, not shortcuts. */
export function typing(ev) {
  const t = ev.target;
  return t instanceof HTMLElement && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
}

export function fmtSeconds(s) {
  if (s === null || s === undefined) return "–";
  return s < 60 ? `${s.toFixed(1)} s` : `${(s / 60).toFixed(1)} min`;
}
