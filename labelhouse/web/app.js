// The app shell: who is logged in, the top bar, and a hash router over the views.
import { api, setCsrf, ApiError, onOutbox } from "./api.js";
import { h, clear, toast } from "./dom.js";

export const state = { session: null };

const views = {
  login: () => import("./views/login.js"),
  projects: () => import("./views/projects.js"),
  label: () => import("./views/label.js"),
  review: () => import("./views/review.js"),
  manage: () => import("./views/manage.js"),
  "new": () => import("./views/newproject.js"),
  quality: () => import("./views/quality.js"),
  members: () => import("./views/members.js"),
  audit: () => import("./views/audit.js"),
  account: () => import("./views/account.js"),
};

let current = null;

export function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

export function isManager() {
  return state.session && ["owner", "manager"].includes(state.session.role);
}
export function isReviewer() {
  return state.session && ["owner", "manager", "reviewer"].includes(state.session.role);
}

export async function loadSession() {
  try {
    state.session = await api.get("/auth/session");
    setCsrf(state.session.csrf_token);
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 401) throw err;
    state.session = null;
  }
  renderBar();
}

export function setSession(session) {
  state.session = session;
  setCsrf(session ? session.csrf_token : "");
  renderBar();
}

function renderBar() {
  const bar = clear(document.getElementById("bar"));
  bar.append(h("a.brand", { href: "#/projects" }, "labelhouse"));
  const s = state.session;
  if (!s) return;
  const outbox = h("span.outbox", { id: "outbox" });
  onOutbox((n) => {
    outbox.textContent = n ? `${n} answer${n > 1 ? "s" : ""} waiting for the network – will retry` : "";
    outbox.hidden = !n;
  });
  const pick = h("select", {
    "aria-label": "Workspace",
    id: "workspace",
    onchange: async (e) => {
      try {
        setSession(await api.post("/auth/session/workspace", { workspace_id: Number(e.target.value) }));
        go("#/projects");
      } catch (err) { toast(err.message, "error"); }
    },
  }, s.workspaces.map((w) => h("option", { value: w.id, selected: w.id === s.workspace_id }, w.name)));
  bar.append(
    h("nav", null,
      h("a", { href: "#/projects" }, "Projects"),
      isManager() ? h("a", { href: "#/members" }, "Members") : null,
      isManager() ? h("a", { href: "#/audit" }, "Audit log") : null),
    outbox,
    h("span.spacer"),
    pick,
    h("a.who", { href: "#/account", title: `${s.role} – change password` }, `${s.email} · ${s.role}`),
    h("button.link", {
      id: "logout",
      onclick: async () => {
        try { await api.del("/auth/session"); } catch { /* already gone */ }
        setSession(null);
        go("#/login");
      },
    }, "Log out"));
}

async function route() {
  const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean);
  let name = parts[0] || "projects";
  if (!state.session && name !== "login") name = "login";
  if (state.session && name === "login") name = "projects";
  const load = views[name] || views.projects;
  if (current && current.leave) current.leave();
  const main = clear(document.getElementById("main"));
  const mod = await load();
  current = await mod.show(main, parts.slice(1));
}

window.addEventListener("hashchange", route);
window.addEventListener("lh:logged-out", () => { if (state.session) { setSession(null); go("#/login"); } });

// The first view's module loads while the session is asked for (both are needed to show it).
const firstView = (views[location.hash.replace(/^#\/?/, "").split("/")[0]] || views.projects)();
Promise.all([loadSession(), firstView]).then(route, (err) => toast(`Cannot reach the server: ${err.message}`, "error", 0));
