// A small, safe Markdown renderer: it builds DOM nodes, so no text ever becomes markup.
// Supports what prompts and model responses use: paragraphs, headings, lists, fenced and inline
// code, bold, italics, block quotes and links (shown as text with their address; never followed
// from a task, since a link could leak who is labeling what).
import { h } from "./dom.js";

export function renderMarkdown(source) {
  const root = h("div.md");
  const lines = String(source ?? "").replace(/\r\n?/g, "\n").split("\n");
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    const fence = line.match(/^\s*(```|~~~)\s*([\w+-]*)\s*$/);
    if (fence) {
      const body = [];
      i++;
      while (i < lines.length && !lines[i].trim().startsWith(fence[1])) body.push(lines[i++]);
      i++;
      root.append(h("pre.code", { dataset: fence[2] ? { lang: fence[2] } : undefined }, h("code", null, body.join("\n"))));
      continue;
    }
    if (!line.trim()) { i++; continue; }
    const heading = line.match(/^(#{1,6})\s+(.*)$/);
    if (heading) {
      root.append(h("h" + Math.min(6, heading[1].length + 2), null, inline(heading[2])));
      i++;
      continue;
    }
    if (/^\s*([-*+]|\d+[.)])\s+/.test(line)) {
      const ordered = /^\s*\d/.test(line);
      const list = h(ordered ? "ol" : "ul");
      while (i < lines.length && /^\s*([-*+]|\d+[.)])\s+/.test(lines[i])) {
        list.append(h("li", null, inline(lines[i].replace(/^\s*([-*+]|\d+[.)])\s+/, ""))));
        i++;
      }
      root.append(list);
      continue;
    }
    if (/^\s*>/.test(line)) {
      const quote = [];
      while (i < lines.length && /^\s*>/.test(lines[i])) quote.push(lines[i++].replace(/^\s*>\s?/, ""));
      root.append(h("blockquote", null, renderMarkdown(quote.join("\n"))));
      continue;
    }
    const para = [];
    while (i < lines.length && lines[i].trim() && !/^(\s*(```|~~~)|#{1,6}\s|\s*([-*+]|\d+[.)])\s|\s*>)/.test(lines[i])) {
      para.push(lines[i++]);
    }
    const p = h("p");
    para.forEach((text, n) => { if (n) p.append(h("br")); p.append(...inline(text)); });
    root.append(p);
  }
  return root;
}

const INLINE = /(`[^`]+`)|(\*\*[^*]+\*\*|__[^_]+__)|(\*[^*\s][^*]*\*|_[^_\s][^_]*_)|(\[[^\]]+\]\([^)\s]+\))/;

function inline(text) {
  const out = [];
  let rest = text;
  while (rest) {
    const m = rest.match(INLINE);
    if (!m) { out.push(rest); break; }
    if (m.index) out.push(rest.slice(0, m.index));
    const token = m[0];
    if (m[1]) out.push(h("code", null, token.slice(1, -1)));
    else if (m[2]) out.push(h("strong", null, ...inline(token.slice(2, -2))));
    else if (m[3]) out.push(h("em", null, ...inline(token.slice(1, -1))));
    else {
      const [, label, href] = token.match(/^\[([^\]]+)\]\(([^)\s]+)\)$/);
      out.push(h("span.link", { title: href }, label, h("span.muted", null, ` <${href}>`)));
    }
    rest = rest.slice(m.index + token.length);
  }
  return out;
}
