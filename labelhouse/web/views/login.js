// Log in with e-mail and password; the server sets an HttpOnly session cookie.
import { api } from "../api.js";
import { h, toast } from "../dom.js";
import { setSession, go } from "../app.js";

export function show(main) {
  const email = h("input", { type: "email", name: "email", autocomplete: "username", required: true, autofocus: true });
  const password = h("input", { type: "password", name: "password", autocomplete: "current-password", required: true });
  const workspace = h("input", { type: "text", name: "workspace", placeholder: "(your first)" });
  const error = h("p.error", { role: "alert" });
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
  h("label", null, "E-mail", email),
  h("label", null, "Password", password),
  h("label", null, "Workspace", workspace),
  error,
  h("button.primary", { type: "submit" }, "Log in"));
  main.append(form);
  email.focus();
  return {};
}
