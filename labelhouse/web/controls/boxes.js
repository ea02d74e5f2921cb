// boxes: rectangles, polygons and keypoints on an image, on a canvas with zoom and pan.
//
// Mouse: drag on empty space draws (rectangle tool), click adds a vertex (polygon tool; click the
// first vertex, double-click or Enter closes) or a point (keypoint tool); click selects, drag
// moves, corner handles resize a rectangle, vertex handles reshape a polygon; wheel zooms at the
// pointer; Shift+drag or middle button pans.
// Keyboard: R/P/K pick the tool, number keys the label (relabel the selection), arrows move the
// crosshair (or the selection; the view pans to follow), Space places a corner/vertex/point at the
// crosshair, [ ] cycle the selection, Ctrl+arrows resize it (a polygon: its active vertex, V picks
// the next), Delete removes it, Ctrl+Z / Ctrl+Shift+Z undo and redo, + - zoom, F fits.
import { h } from "../dom.js";
import { digitKey } from "./index.js";

const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777", "#4b5563", "#65a30d"];
const TOOLS = { rectangle: "r", polygon: "p", keypoint: "k" };

export function create({ config, item, value, onChange, files }) {
  const file = files[config.over] || {};
  const img = file.img || null;
  const meta = item[config.over] || {};
  const W = img ? img.naturalWidth : meta.width || 1000, H = img ? img.naturalHeight : meta.height || 1000;
  const shapes = config.shapes && config.shapes.length ? config.shapes : ["rectangle"];
  let objects = Array.isArray(value) ? structuredClone(value) : [];
  let tool = shapes[0], label = 0, selected = -1, vertex = 0;
  let pending = null; // a polygon being drawn: [[x, y], ...] or a rectangle corner from the keyboard
  let cross = { x: W / 2, y: H / 2 };
  let view = { scale: 1, tx: 0, ty: 0 };
  let drag = null;
  const undo = [], redo = [];
  const canvas = h("canvas.boxes", { tabIndex: 0, "aria-label": `${config.name}: image with boxes` });
  canvas.lhDrawTimes = [];
  const toolbar = h("div.row.wrap.small", null,
    shapes.map((s) => h("button.chip", { type: "button", dataset: { tool: s }, onclick: () => { tool = s; pending = null; paint(); } }, h("kbd", null, TOOLS[s].toUpperCase()), s)),
    h("span.sep"),
    config.labels.map((name, i) => {
      const b = h("button.chip", { type: "button", dataset: { label: name }, onclick: () => setLabel(i) }, i < 10 ? h("kbd", null, String((i + 1) % 10)) : null, name);
      b.style.borderColor = COLORS[i % COLORS.length];
      return b;
    }),
    h("span.spacer"),
    h("span.muted.count"));
  const el = h("div.control.boxes", null, toolbar, h("div.canvas-wrap", null, canvas));
  // Opaque (the image and a dark margin cover it): cheaper to draw and to composite.
  const ctx = canvas.getContext("2d", { alpha: false });
  let dirty = true, size = { w: 0, h: 0 };

  const color = (name) => COLORS[Math.max(0, config.labels.indexOf(name)) % COLORS.length];
  const clampX = (x) => Math.round(Math.max(0, Math.min(W, x)) * 10) / 10;
  const clampY = (y) => Math.round(Math.max(0, Math.min(H, y)) * 10) / 10;
  function toImage(ev) {
    const r = canvas.getBoundingClientRect();
    return { x: (ev.clientX - r.left - view.tx) / view.scale, y: (ev.clientY - r.top - view.ty) / view.scale };
  }
  function snapshot() { undo.push(JSON.stringify(objects)); if (undo.length > 200) undo.shift(); redo.length = 0; }
  function changed() { paint(); onChange(); }
  function setLabel(i) {
    if (i >= config.labels.length) return;
    label = i;
    if (selected >= 0) { snapshot(); objects[selected].label = config.labels[i]; changed(); } else paint();
  }
  function fit() {
    const rect = canvas.parentElement.getBoundingClientRect();
    const cw = Math.max(200, rect.width || 800);
    const ch = Math.min(Math.round(window.innerHeight * 0.7), Math.round((cw * H) / W)) || 480;
    const dpr = window.devicePixelRatio || 1;
    if (size.w !== cw || size.h !== ch) {
      canvas.width = Math.round(cw * dpr); canvas.height = Math.round(ch * dpr);
      canvas.style.width = cw + "px"; canvas.style.height = ch + "px";
      size = { w: cw, h: ch };
    }
    const scale = Math.min(cw / W, ch / H);
    view = { scale, tx: (cw - W * scale) / 2, ty: (ch - H * scale) / 2 };
    paint();
  }
  function zoom(factor, at) {
    const scale = Math.max(0.05, Math.min(40, view.scale * factor));
    view.tx = at.sx - (at.sx - view.tx) * (scale / view.scale);
    view.ty = at.sy - (at.sy - view.ty) * (scale / view.scale);
    view.scale = scale;
    paint();
  }
  function bbox(o) {
    if (o.type === "polygon") {
      const xs = o.points.map((p) => p[0]), ys = o.points.map((p) => p[1]);
      return { x: Math.min(...xs), y: Math.min(...ys), w: Math.max(...xs) - Math.min(...xs), h: Math.max(...ys) - Math.min(...ys) };
    }
    if (o.type === "keypoint") return { x: o.x, y: o.y, w: 0, h: 0 };
    return o;
  }
  function hit(p) {
    const tol = 6 / view.scale;
    for (let i = objects.length - 1; i >= 0; i--) {
      const o = objects[i], b = bbox(o);
      if (o.type === "keypoint") { if (Math.hypot(o.x - p.x, o.y - p.y) <= tol) return i; continue; }
      if (o.type === "polygon" ? inPolygon(p, o.points) : p.x >= b.x - tol && p.x <= b.x + b.w + tol && p.y >= b.y - tol && p.y <= b.y + b.h + tol) return i;
    }
    return -1;
  }
  /** The handle under the pointer: a corner of the selected rectangle ("nw"...), or the index of
   * a vertex of the selected polygon. */
  function handleAt(p) {
    if (selected < 0) return null;
    const o = objects[selected];
    const tol = 7 / view.scale;
    if (o.type === "polygon") {
      const k = o.points.findIndex(([x, y]) => Math.abs(x - p.x) <= tol && Math.abs(y - p.y) <= tol);
      return k >= 0 ? k : null;
    }
    if (o.type !== "rectangle" && o.type !== undefined) return null;
    const corners = [[o.x, o.y, "nw"], [o.x + o.w, o.y, "ne"], [o.x, o.y + o.h, "sw"], [o.x + o.w, o.y + o.h, "se"]];
    const c = corners.find(([x, y]) => Math.abs(x - p.x) <= tol && Math.abs(y - p.y) <= tol);
    return c ? c[2] : null;
  }
  function addRect(a, b) {
    const x = clampX(Math.min(a.x, b.x)), y = clampY(Math.min(a.y, b.y));
    const w = clampX(Math.max(a.x, b.x)) - x, hh = clampY(Math.max(a.y, b.y)) - y;
    if (w < 2 || hh < 2) return;
    snapshot();
    objects.push({ type: "rectangle", label: config.labels[label], x, y, w: Math.round(w * 10) / 10, h: Math.round(hh * 10) / 10 });
    select(objects.length - 1);
    changed();
  }
  function addPoint(p) {
    if (tool === "keypoint") {
      snapshot();
      objects.push({ type: "keypoint", label: config.labels[label], x: clampX(p.x), y: clampY(p.y) });
      select(objects.length - 1);
      changed();
    } else if (tool === "polygon") {
      pending = pending || [];
      const first = pending[0];
      if (first && pending.length >= 3 && Math.hypot(first[0] - p.x, first[1] - p.y) <= 8 / view.scale) return closePolygon();
      pending.push([clampX(p.x), clampY(p.y)]);
      paint();
    } else if (tool === "rectangle") {
      if (!pending) { pending = { corner: { x: p.x, y: p.y } }; paint(); } else { addRect(pending.corner, p); pending = null; paint(); }
    }
  }
  function closePolygon() {
    if (!Array.isArray(pending) || pending.length < 3) return false;
    snapshot();
    objects.push({ type: "polygon", label: config.labels[label], points: pending });
    pending = null;
    select(objects.length - 1);
    changed();
    return true;
  }
  function select(i) { selected = i; vertex = 0; }
  /** Pan so that an image point stays on screen (the crosshair, a moved object), as keys move it. */
  function follow(x, y) {
    const m = 24, sx = view.tx + x * view.scale, sy = view.ty + y * view.scale;
    if (sx < m) view.tx += m - sx; else if (sx > size.w - m) view.tx -= sx - (size.w - m);
    if (sy < m) view.ty += m - sy; else if (sy > size.h - m) view.ty -= sy - (size.h - m);
  }
  function resizeSelected(dx, dy) {
    const o = objects[selected];
    if (o.type === "polygon") {
      const [x, y] = o.points[vertex];
      o.points[vertex] = [clampX(x + dx), clampY(y + dy)];
      follow(...o.points[vertex]);
    } else if (o.type !== "keypoint") {
      o.w = Math.round(Math.max(1, Math.min(W - o.x, o.w + dx)) * 10) / 10;
      o.h = Math.round(Math.max(1, Math.min(H - o.y, o.h + dy)) * 10) / 10;
      follow(o.x + o.w, o.y + o.h);
    }
  }
  function moveSelected(dx, dy) {
    const o = objects[selected];
    if (o.type === "polygon") {
      const b = bbox(o);
      dx = Math.max(-b.x, Math.min(W - b.x - b.w, dx)); dy = Math.max(-b.y, Math.min(H - b.y - b.h, dy));
      o.points = o.points.map(([x, y]) => [Math.round((x + dx) * 10) / 10, Math.round((y + dy) * 10) / 10]);
    } else {
      const w = o.w || 0, hh = o.h || 0;
      o.x = Math.round(Math.max(0, Math.min(W - w, o.x + dx)) * 10) / 10;
      o.y = Math.round(Math.max(0, Math.min(H - hh, o.y + dy)) * 10) / 10;
    }
  }

  canvas.addEventListener("pointerdown", (ev) => {
    canvas.focus();
    canvas.setPointerCapture(ev.pointerId);
    const p = toImage(ev);
    if (ev.button === 1 || ev.shiftKey) { drag = { mode: "pan", sx: ev.clientX, sy: ev.clientY, tx: view.tx, ty: view.ty }; return; }
    const handle = handleAt(p);
    if (typeof handle === "number") { snapshot(); vertex = handle; drag = { mode: "vertex", moved: false }; paint(); return; }
    if (handle) { snapshot(); drag = { mode: "resize", handle, start: { ...objects[selected] } }; return; }
    if (tool === "polygon" && pending) { addPoint(p); return; }
    const i = hit(p);
    // The keypoint tool places points inside boxes (a face in a person): only a point is picked.
    if (i >= 0 && (tool !== "keypoint" || objects[i].type === "keypoint")) {
      if (i !== selected) select(i);
      snapshot(); drag = { mode: "move", last: p, moved: false }; paint(); return;
    }
    select(-1);
    if (tool === "rectangle") { drag = { mode: "draw", from: p, to: p }; paint(); return; }
    addPoint(p);
  });
  canvas.addEventListener("pointermove", (ev) => {
    if (!drag) return;
    const p = toImage(ev);
    if (drag.mode === "pan") { view.tx = drag.tx + ev.clientX - drag.sx; view.ty = drag.ty + ev.clientY - drag.sy; }
    else if (drag.mode === "draw") drag.to = p;
    else if (drag.mode === "move") { moveSelected(p.x - drag.last.x, p.y - drag.last.y); drag.last = p; drag.moved = true; }
    else if (drag.mode === "vertex") { objects[selected].points[vertex] = [clampX(p.x), clampY(p.y)]; drag.moved = true; }
    else if (drag.mode === "resize") {
      const s = drag.start, o = objects[selected];
      const x1 = drag.handle.includes("w") ? clampX(p.x) : s.x, x2 = drag.handle.includes("e") ? clampX(p.x) : s.x + s.w;
      const y1 = drag.handle.includes("n") ? clampY(p.y) : s.y, y2 = drag.handle.includes("s") ? clampY(p.y) : s.y + s.h;
      o.x = Math.min(x1, x2); o.y = Math.min(y1, y2);
      o.w = Math.max(1, Math.round(Math.abs(x2 - x1) * 10) / 10); o.h = Math.max(1, Math.round(Math.abs(y2 - y1) * 10) / 10);
    }
    paint();
  });
  canvas.addEventListener("pointerup", () => {
    const d = drag;
    drag = null;
    if (!d) return;
    if (d.mode === "draw") { addRect(d.from, d.to); paint(); }
    else if ((d.mode === "move" || d.mode === "vertex") && !d.moved) undo.pop();
    else if (d.mode === "move" || d.mode === "resize" || d.mode === "vertex") changed();
  });
  canvas.addEventListener("dblclick", () => closePolygon());
  canvas.addEventListener("wheel", (ev) => {
    ev.preventDefault();
    const r = canvas.getBoundingClientRect();
    zoom(ev.deltaY < 0 ? 1.15 : 1 / 1.15, { sx: ev.clientX - r.left, sy: ev.clientY - r.top });
  }, { passive: false });
  new ResizeObserver(() => {
    const width = canvas.parentElement.getBoundingClientRect().width;
    if (Math.abs(width - size.w) > 0.5) fit();
  }).observe(el);

  function paint() {
    if (dirty) return;
    dirty = true;
    requestAnimationFrame(draw);
  }
  function draw() {
    dirty = false;
    const t0 = performance.now();
    const dpr = window.devicePixelRatio || 1;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = "#111";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.setTransform(dpr * view.scale, 0, 0, dpr * view.scale, dpr * view.tx, dpr * view.ty);
    if (file.bitmap || img) ctx.drawImage(file.bitmap || img, 0, 0);
    const lw = 2 / view.scale;
    objects.forEach((o, i) => {
      const c = color(o.label);
      ctx.strokeStyle = c;
      ctx.lineWidth = i === selected ? lw * 2 : lw;
      if (o.type === "polygon") {
        ctx.beginPath();
        o.points.forEach(([x, y], k) => (k ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
        ctx.closePath();
        ctx.stroke();
      } else if (o.type === "keypoint") {
        ctx.fillStyle = c;
        ctx.beginPath(); ctx.arc(o.x, o.y, 4 / view.scale, 0, 2 * Math.PI); ctx.fill();
      } else ctx.strokeRect(o.x, o.y, o.w, o.h);
      if (i === selected && o.type === "polygon") {
        const s = 6 / view.scale;
        o.points.forEach(([x, y], k) => { ctx.fillStyle = k === vertex ? c : "#fff"; ctx.fillRect(x - s / 2, y - s / 2, s, s); });
      }
      if (i === selected && (o.type === "rectangle" || !o.type)) {
        ctx.fillStyle = "#fff";
        const s = 6 / view.scale;
        for (const [x, y] of [[o.x, o.y], [o.x + o.w, o.y], [o.x, o.y + o.h], [o.x + o.w, o.y + o.h]]) ctx.fillRect(x - s / 2, y - s / 2, s, s);
      }
    });
    ctx.setLineDash([6 / view.scale, 4 / view.scale]);
    ctx.strokeStyle = COLORS[label % COLORS.length];
    ctx.lineWidth = lw;
    if (drag && drag.mode === "draw") ctx.strokeRect(Math.min(drag.from.x, drag.to.x), Math.min(drag.from.y, drag.to.y), Math.abs(drag.to.x - drag.from.x), Math.abs(drag.to.y - drag.from.y));
    if (Array.isArray(pending) && pending.length) {
      ctx.beginPath();
      pending.forEach(([x, y], k) => (k ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
      ctx.lineTo(cross.x, cross.y);
      ctx.stroke();
    }
    if (pending && pending.corner) ctx.strokeRect(Math.min(pending.corner.x, cross.x), Math.min(pending.corner.y, cross.y), Math.abs(cross.x - pending.corner.x), Math.abs(cross.y - pending.corner.y));
    ctx.setLineDash([]);
    if (document.activeElement === canvas || keyboardUsed) {
      const r = 10 / view.scale;
      ctx.strokeStyle = "#fff";
      ctx.beginPath(); ctx.moveTo(cross.x - r, cross.y); ctx.lineTo(cross.x + r, cross.y); ctx.moveTo(cross.x, cross.y - r); ctx.lineTo(cross.x, cross.y + r); ctx.stroke();
    }
    toolbar.querySelectorAll("[data-tool]").forEach((b) => b.classList.toggle("on", b.dataset.tool === tool));
    toolbar.querySelectorAll("[data-label]").forEach((b, i) => b.classList.toggle("on", i === label));
    toolbar.querySelector(".count").textContent = `${objects.length} object${objects.length === 1 ? "" : "s"}` + (selected >= 0 ? ` · #${selected + 1} selected` : "");
    canvas.dataset.objects = String(objects.length);
    canvas.dataset.selected = String(selected);
    // where the image is on the canvas (scale, then offset in CSS pixels): for tests and tools
    canvas.dataset.view = `${view.scale} ${view.tx} ${view.ty}`;
    const times = canvas.lhDrawTimes;
    times.push(performance.now() - t0);
    if (times.length > 2000) times.splice(0, 1000);
  }
  let keyboardUsed = false;
  dirty = false;
  requestAnimationFrame(fit);

  const keys = [
    ...shapes.map((s) => [TOOLS[s].toUpperCase(), `${s} tool`]),
    ["1 … 9, 0", "label (relabels the selection)"], ["mouse drag", "draw / move / resize"], ["arrows", "move the crosshair (or the selection; Shift: ×10)"],
    ["Space", "place a corner / vertex / point at the crosshair"], ["Enter", "close the polygon (when drawing one)"],
    ["[ ]", "select the previous / next object"], ["Ctrl + arrows", "resize the selection (Shift: ×10)"],
    ...(shapes.includes("polygon") ? [["V", "next vertex of the selected polygon (Ctrl+arrows move it)"]] : []),
    ["mouse on a handle", "resize a rectangle, move a polygon's vertex"], ["Delete", "delete the selection"], ["Escape", "cancel drawing / deselect"],
    ["Ctrl+Z / Ctrl+Shift+Z", "undo / redo"], ["+ −, wheel", "zoom"], ["F", "fit the image"], ["Shift+drag", "pan"],
  ];
  return {
    el,
    owns: [config.over],
    keys,
    value() { return objects.map((o) => ({ ...o })); },
    focus() { canvas.focus({ preventScroll: true }); },
    objects: () => objects,
    setObjects(list) { snapshot(); objects = list; changed(); },
    key(ev) {
      const k = ev.key;
      if ((ev.ctrlKey || ev.metaKey) && (k === "z" || k === "Z" || k === "y")) {
        const back = k === "z" && !ev.shiftKey;
        const from = back ? undo : redo, to = back ? redo : undo;
        if (from.length) { to.push(JSON.stringify(objects)); objects = JSON.parse(from.pop()); select(-1); changed(); }
        return true;
      }
      if (ev.ctrlKey && !ev.altKey && !ev.metaKey && k.startsWith("Arrow")) {
        if (selected < 0) return true;
        const step = ev.shiftKey ? 10 : 1;
        snapshot();
        resizeSelected(k === "ArrowLeft" ? -step : k === "ArrowRight" ? step : 0, k === "ArrowUp" ? -step : k === "ArrowDown" ? step : 0);
        changed();
        return true;
      }
      if (ev.ctrlKey || ev.metaKey || ev.altKey) return false;
      const lower = k.toLowerCase();
      const toolKey = shapes.find((s) => TOOLS[s] === lower);
      if (toolKey) { tool = toolKey; pending = null; paint(); return true; }
      const d = digitKey(ev);
      if (d >= 0) { setLabel(d); return true; }
      if (k.startsWith("Arrow")) {
        keyboardUsed = true;
        const step = ev.shiftKey ? 10 : 1;
        const dx = k === "ArrowLeft" ? -step : k === "ArrowRight" ? step : 0, dy = k === "ArrowUp" ? -step : k === "ArrowDown" ? step : 0;
        if (selected >= 0 && !pending) { snapshot(); moveSelected(dx, dy); const b = bbox(objects[selected]); follow(b.x, b.y); changed(); }
        else { cross = { x: clampX(cross.x + dx), y: clampY(cross.y + dy) }; follow(cross.x, cross.y); paint(); }
        return true;
      }
      if (k === " ") { keyboardUsed = true; select(-1); addPoint(cross); return true; }
      if (lower === "v" && selected >= 0 && objects[selected].type === "polygon") { vertex = (vertex + 1) % objects[selected].points.length; paint(); return true; }
      if (k === "Enter" && Array.isArray(pending)) { closePolygon(); return true; }
      if (k === "Escape") { if (pending) pending = null; else select(-1); paint(); return true; }
      if (k === "Delete" || k === "Backspace") {
        if (selected >= 0) { snapshot(); objects.splice(selected, 1); select(-1); changed(); }
        return true;
      }
      if (k === "[" || k === "]") {
        if (objects.length) { select(k === "]" ? (selected + 1) % objects.length : (selected - 1 + objects.length) % objects.length); paint(); }
        return true;
      }
      if (k === "+" || k === "=" || k === "-") {
        zoom(k === "-" ? 1 / 1.25 : 1.25, { sx: view.tx + cross.x * view.scale, sy: view.ty + cross.y * view.scale });
        return true;
      }
      if (lower === "f") { fit(); return true; }
      return false;
    },
  };
}

function inPolygon(p, pts) {
  let inside = false;
  for (let i = 0, j = pts.length - 1; i < pts.length; j = i++) {
    const [xi, yi] = pts[i], [xj, yj] = pts[j];
    if (yi > p.y !== yj > p.y && p.x < ((xj - xi) * (p.y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}
