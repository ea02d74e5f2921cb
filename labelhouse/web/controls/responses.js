// How a prompt and model responses look, shared by the preference and ranking widgets.
import { h } from "../dom.js";
import { renderMarkdown } from "../markdown.js";

export function responseText(r) {
  if (typeof r === "string") return r;
  if (r && typeof r === "object") return r.text ?? r.content ?? r.response ?? JSON.stringify(r);
  return String(r);
}

export function promptBlock(item, field) {
  const value = item[field];
  if (value === undefined || value === null) return null;
  return h("section.prompt", null, h("div.label-small", null, "Prompt"), renderBody(value));
}

/** A string as safe Markdown, or a chat transcript (a list of {role, content}) as turns. */
export function renderBody(value) {
  if (Array.isArray(value) && value.every((t) => t && typeof t === "object" && "content" in t)) {
    return h("div.chat", null, value.map((t) =>
      h("div.turn", { dataset: { role: String(t.role ?? "") } }, h("div.role", null, String(t.role ?? "")), renderMarkdown(String(t.content)))));
  }
  return renderMarkdown(typeof value === "string" ? value : JSON.stringify(value, null, 2));
}
