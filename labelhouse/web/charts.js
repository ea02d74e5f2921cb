// Small SVG charts built with DOM calls (no markup strings): a histogram and horizontal bars
// with optional interval whiskers. Enough for the quality and progress pages.
const NS = "http://www.w3.org/2000/svg";

function s(tag, attrs, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

/** Counts of values in [0, 1] in `bins` equal bins, as columns (or the `counts` already binned). */
export function histogram(values, { bins = 10, width = 420, height = 160, label = "", counts: given = null } = {}) {
  const counts = given ? given.slice() : new Array(bins).fill(0);
  if (!given) for (const v of values) counts[Math.min(bins - 1, Math.max(0, Math.floor(v * bins)))]++;
  bins = counts.length;
  const max = Math.max(1, ...counts);
  const pad = 24, w = (width - pad * 2) / bins, hh = height - pad * 2;
  const svg = s("svg", { class: "chart", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label });
  counts.forEach((c, i) => {
    const bh = (hh * c) / max;
    svg.append(s("rect", { x: pad + i * w + 1, y: pad + hh - bh, width: w - 2, height: bh, fill: i / bins < 0.8 ? "#f59e0b" : "#16a34a", "data-bin": i, "data-count": c }, s("title", null, `${(i / bins).toFixed(1)}–${((i + 1) / bins).toFixed(1)}: ${c}`)));
    if (c) svg.append(s("text", { x: pad + i * w + w / 2, y: pad + hh - bh - 3, "text-anchor": "middle" }, c));
  });
  svg.append(s("line", { x1: pad, y1: pad + hh, x2: width - pad, y2: pad + hh, stroke: "#9ca3af" }));
  for (const t of [0, 0.5, 1]) svg.append(s("text", { x: pad + t * (width - 2 * pad), y: height - 6, "text-anchor": "middle" }, t.toFixed(1)));
  return svg;
}

/** rows: [{label, value (0..1), low?, high?, note?}] as horizontal bars with whiskers. Values
 * outside 0..1 (a negative kappa) are drawn clamped; the note and data-value keep the number. */
export function bars(rows, { width = 520, row = 22, label = "", right = 60 } = {}) {
  const left = 170, height = rows.length * row + 24;
  const span = width - left - right;
  const svg = s("svg", { class: "chart", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label });
  rows.forEach((r, i) => {
    const y = 8 + i * row;
    svg.append(s("text", { x: left - 6, y: y + row / 2 + 2, "text-anchor": "end" }, r.label.length > 24 ? r.label.slice(0, 23) + "…" : r.label));
    const clamp = (v) => Math.min(1, Math.max(0, v));
    if (r.value !== null && r.value !== undefined) {
      const v = clamp(r.value);
      svg.append(s("rect", { x: left, y: y + 3, width: Math.max(1, span * v), height: row - 8, fill: r.color || "#2563eb", opacity: 0.85, "data-label": r.label, "data-value": r.value }, s("title", null, r.note || r.value.toFixed(3))));
      // with a whisker, the note goes in the right margin so the interval stays readable
      const note = r.note || r.value.toFixed(2);
      const whisker = r.low !== undefined && r.low !== null;
      const after = left + span * v + 4;
      if (!whisker && after + note.length * 6 > width) {  // no room after a long bar: inside its end
        svg.append(s("text", { x: left + span * v - 4, y: y + row / 2 + 2, "text-anchor": "end", class: "inside" }, note));
      } else {
        svg.append(s("text", { x: whisker ? left + span + 6 : after, y: y + row / 2 + 2 }, note));
      }
    }
    if (r.low !== undefined && r.high !== undefined && r.low !== null) {
      const yy = y + row / 2;
      svg.append(s("line", { x1: left + span * clamp(r.low), x2: left + span * clamp(r.high), y1: yy, y2: yy, stroke: "#111827", "stroke-width": 1.5, "data-low": r.low, "data-high": r.high }));
      for (const x of [r.low, r.high]) svg.append(s("line", { x1: left + span * clamp(x), x2: left + span * clamp(x), y1: yy - 4, y2: yy + 4, stroke: "#111827" }));
    }
  });
  svg.append(s("line", { x1: left, y1: 4, x2: left, y2: height - 16, stroke: "#9ca3af" }));
  return svg;
}
