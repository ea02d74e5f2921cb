// The audit log for managers: who did what, newest first, and whether the chain is intact.
import { api } from "../api.js";
import { h, toast } from "../dom.js";

export async function show(main) {
  const body = h("tbody");
  main.append(h("h1", null, "Audit log"),
    h("p.muted", null, "Every login, token, role change, export, deletion and file view, chained by hash; `labelhouse audit verify` proves the chain intact."),
    h("table.card", null, h("thead", null, h("tr", null, ["When", "Who", "What", "On", "Details"].map((x) => h("th", null, x)))), body));
  try {
    // The log pages oldest first; read it through (up to 10,000 events) and show the newest 300.
    let events = [], after = 0;
    for (let n = 0; n < 50; n++) {
      const page = await api.get(`/audit?after=${after}&limit=200`);
      events = events.concat(page).slice(-300);
      if (page.length < 200) break;
      after = page[page.length - 1].seq;
    }
    for (const e of events.reverse()) {
      body.append(h("tr", null,
        h("td.small", null, new Date(e.at).toLocaleString()),
        h("td", null, e.actor || ""),
        h("td", null, e.action),
        h("td", null, e.target || ""),
        h("td.small.muted", null, e.details ? JSON.stringify(e.details) : "")));
    }
  } catch (err) { toast(err.message, "error"); }
  return {};
}
