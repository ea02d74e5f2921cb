// Log in with e-mail and password, or with single sign-on when the server has it; the server
// sets an HttpOnly session cookie either way.
import { api } from "../api.js";
import { h } from "../dom.js";
import { setSession, go } from "../app.js";

/** Where single sign-on should come back to: the page that asked for a login (a same-origin
 * path; the server checks it again and falls back to the projects page). */
function returnPath() {
  const hash = location.hash && !location.hash.startsWith("#/login") ? location.hash : "#/projects";
  return "/ui/" + hash;
}

function ssoBlock(box) {
  api.get("/auth/oidc").then((info) => {
    if (!info || !info.enabled) return;
    const href = `${info.login_url}?next=${encodeURIComponent(returnPath())}`;
    box.append(
      h("a.button.primary", { id: "sso", href }, `Sign in with ${info.name}`),
      h("p.muted", null, "or with your e-mail and password:"));
  }).catch(() => { /* no single sign-on: the form below is enough */ });
}

export function show(main) {
  const email = h("input", { type: "email", name: "email", autocomplete: "username", required: true, autofocus: true });
  const password = h("input", { type: "password", name: "password", autocomplete: "current-password", required: true });
  const workspace = h("input", { type: "text", name: "workspace", placeholder: "(your first)" });
  const error = h("p.error", { role: "alert" });
  const sso = h("div.sso");
  const form = h("form.card.narrow", {
    onsubmit: async (e) => {
      e.preventDefault();
      error.textContent = "";
      try {
        const body = { email: email.value, password: password.value };
        if (workspace.value.trim()) body.workspace = workspace.value.trim();
        setSession(await api.post("/auth/session", body));
        go("#/projects");
      } catch (err) {
        error.textContent = err.message;
      }
    },
  },
  h("h1", null, "Log in"),
  sso,
  h("label", null, "E-mail", email),
  h("label", null, "Password", password),
  h("label", null, "Workspace", workspace),
  error,
  h("button.primary", { type: "submit" }, "Log in"));
  main.append(form);
  ssoBlock(sso);
  email.focus();
  return {};
}
