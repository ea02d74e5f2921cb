// The audit log for managers: who did what, newest first. The workspace's own events are one chain
// (lane "main"); the tasks handed out to each annotator (who was shown which item) are a chain per
// annotator (lane "user:<id>"), picked here by member.
import { api } from "../api.js";
import { h, toast } from "../dom.js";

const HEADINGS = ["When", "Who", "What", "On", "Details"];

export async function show(main) {
  const body = h("tbody");
  const lane = h("select", { name: "lane", "aria-label": "which chain", onchange: () => load() },
    h("option", { value: "main" }, "Workspace events"));
  main.append(h("h1", null, "Audit log"),
    h("p.muted", null, "Every login, token, role change, export, deletion and file view, chained by hash; each annotator's task handouts (who was shown which item) in a chain of their own. `labelhouse audit verify` proves every chain intact."),
    h("p", null, h("label", null, "Chain ", lane)),
    h("table.card", null, h("thead", null, h("tr", null, HEADINGS.map((x) => h("th", null, x)))), body));
  try {
    for (const m of await api.get("/members")) {
      lane.append(h("option", { value: `user:${m.user_id}` }, `Tasks handed out to ${m.email}`));
    }
  } catch (err) { toast(err.message, "error"); }

  async function load() {
    body.replaceChildren();
    try {
      // A lane pages oldest first; read it through (up to 10,000 events) and show the newest 300.
      let events = [], after = 0;
      for (let n = 0; n < 50; n++) {
        const page = await api.get(`/audit?lane=${encodeURIComponent(lane.value)}&after=${after}&limit=200`);
        events = events.concat(page).slice(-300);
        if (page.length < 200) break;
        after = page[page.length - 1].seq;
      }
      if (!events.length) body.append(h("tr", null, h("td.muted", { colspan: HEADINGS.length }, "No events in this chain.")));
      for (const e of events.reverse()) {
        body.append(h("tr", null,
          h("td.small", null, new Date(e.at).toLocaleString()),
          h("td", null, e.actor || ""),
          h("td", null, e.action),
          h("td", null, e.target || ""),
          h("td.small.muted", null, e.details ? JSON.stringify(e.details) : "")));
      }
    } catch (err) { toast(err.message, "error"); }
  }
  await load();
  return {};
}
