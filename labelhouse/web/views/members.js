// Members and roles of this workspace: add, change role and vendor team, limit to projects (an
// outside vendor's people see only what they are assigned), remove.
import { api } from "../api.js";
import { h, clear, toast } from "../dom.js";

const ROLES = ["annotator", "reviewer", "manager", "owner"];

export async function show(main) {
  const body = h("tbody");
  const email = h("input", { type: "email", name: "email", required: true, placeholder: "name@example.com" });
  const password = h("input", { type: "password", name: "password", placeholder: "initial password (new accounts)" });
  const role = h("select", { name: "role" }, ROLES.map((r) => h("option", { value: r }, r)));
  const team = h("input", { name: "team", maxlength: 100, placeholder: "vendor team (optional)" });
  main.append(h("h1", null, "Members"),
    h("form.card.row.wrap", {
      onsubmit: async (e) => {
        e.preventDefault();
        try {
          const m = { email: email.value, role: role.value };
          if (password.value) m.password = password.value;
          if (team.value.trim()) m.team = team.value.trim();
          await api.post("/members", m);
          toast(`${email.value} added as ${role.value}`, "ok");
          email.value = ""; password.value = ""; team.value = "";
          load();
        } catch (err) { toast(err.message, "error"); }
      },
    }, email, password, role, team, h("button.primary", { type: "submit" }, "Add member")),
    h("table.card", null, h("thead", null, h("tr", null, h("th", null, "E-mail"), h("th", null, "Role"), h("th", null, "Team"), h("th", null, "Projects"), h("th"))), body));

  async function load() {
    let members = [], projects = [];
    try { [members, projects] = await Promise.all([api.get("/members"), api.get("/projects")]); } catch (err) { toast(err.message, "error"); }
    const names = new Map(projects.map((p) => [p.id, p.name]));
    clear(body);
    for (const m of members) {
      const pick = h("select", {
        "aria-label": `role of ${m.email}`,
        onchange: async () => {
          try { await api.patch(`/members/${m.user_id}`, { role: pick.value }); toast(`${m.email} is now ${pick.value}`, "ok"); }
          catch (err) { toast(err.message, "error"); pick.value = m.role; }
        },
      }, ROLES.map((r) => h("option", { value: r, selected: r === m.role }, r)));
      // a vendor team, saved when the field changes; empty removes it (quality per team)
      const teamInput = h("input.team", {
        "aria-label": `team of ${m.email}`, maxlength: 100, value: m.team || "", placeholder: "none",
        onchange: async () => {
          try {
            const saved = await api.patch(`/members/${m.user_id}`, { team: teamInput.value });
            toast(saved.team ? `${m.email} is in team ${saved.team}` : `${m.email} has no team`, "ok");
          } catch (err) { toast(err.message, "error"); teamInput.value = m.team || ""; }
        },
      });
      const scope = h("td.scope", null, scopeView(m, names, projects, load));
      body.append(h("tr", { dataset: { member: m.email } },
        h("td", null, m.email), h("td", null, pick), h("td", null, teamInput), scope,
        h("td", null, h("button.link.danger", {
          type: "button",
          onclick: async () => {
            if (!confirm(`Remove ${m.email} from this workspace?`)) return;
            try { await api.del(`/members/${m.user_id}`); load(); } catch (err) { toast(err.message, "error"); }
          },
        }, "Remove"))));
    }
  }
  load();
  return {};
}

/** Which projects a member may work on, with an editor: "all", or a ticked list. */
function scopeView(m, names, projects, reload) {
  const summary = m.projects === null ? "all projects" : m.projects.map((id) => names.get(id) ?? `#${id}`).join(", ") || "none";
  const wrap = h("div.scope", null, h("span.muted", null, summary), " ");
  const edit = h("button.link", {
    type: "button",
    "aria-label": `projects of ${m.email}`,
    onclick: () => {
      const all = h("input", { type: "checkbox", name: "all", checked: m.projects === null });
      const boxes = projects.map((p) => h("input", { type: "checkbox", value: p.id, checked: m.projects !== null && m.projects.includes(p.id) }));
      const sync = () => boxes.forEach((b) => { b.disabled = all.checked; });
      all.addEventListener("change", sync);
      sync();
      const form = h("form.scope-editor", {
        onsubmit: async (e) => {
          e.preventDefault();
          const body = all.checked ? { all_projects: true } : { projects: boxes.filter((b) => b.checked).map((b) => Number(b.value)) };
          try { await api.patch(`/members/${m.user_id}`, body); toast(`${m.email}: projects saved`, "ok"); reload(); }
          catch (err) { toast(err.message, "error"); }
        },
      },
      h("label.inline", null, all, "all projects"),
      projects.map((p, i) => h("label.inline", null, boxes[i], p.name)),
      h("button.primary", { type: "submit" }, "Save"),
      h("button", { type: "button", onclick: () => { form.replaceWith(wrap); } }, "Cancel"));
      wrap.replaceWith(form);
    },
  }, "change");
  wrap.append(edit);
  return wrap;
}
