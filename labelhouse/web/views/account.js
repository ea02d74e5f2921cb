// One's own account: change the password (which ends every other session and API token); an
// owner can also delete the workspace for good (its data key is destroyed: crypto-shredding).
import { api } from "../api.js";
import { h, toast } from "../dom.js";
import { go, setSession, state } from "../app.js";

export function show(main) {
  const current = h("input", { type: "password", name: "current", autocomplete: "current-password", required: true });
  const fresh = h("input", { type: "password", name: "new", autocomplete: "new-password", required: true, minLength: 10 });
  const again = h("input", { type: "password", name: "again", autocomplete: "new-password", required: true });
  const error = h("p.error", { role: "alert" });
  const form = h("form.card.narrow", {
    id: "password-form",
    onsubmit: async (e) => {
      e.preventDefault();
      error.textContent = "";
      if (fresh.value !== again.value) {
        error.textContent = "The two new passwords differ.";
        return;
      }
      try {
        const out = await api.post("/auth/password", { current_password: current.value, new_password: fresh.value });
        form.reset();
        toast(`Password changed. Ended ${out.sessions_revoked} other session(s) and ${out.tokens_revoked} API token(s).`, "ok", 8000);
      } catch (err) {
        error.textContent = err.message;
      }
    },
  },
  h("h1", null, "Change password"),
  h("p.muted", null, `${state.session ? state.session.email : ""}: changing it signs you out everywhere else and revokes your API tokens.`),
  h("label", null, "Current password", current),
  h("label", null, "New password (10 characters or more)", fresh),
  h("label", null, "New password again", again),
  error,
  h("button.primary", { type: "submit" }, "Change password"));
  main.append(form);
  if (state.session && state.session.role === "owner") main.append(deleteCard());
  current.focus();
  return {};
}

function deleteCard() {
  const s = state.session;
  const name = (s.workspaces.find((w) => w.id === s.workspace_id) || {}).name || "";
  const confirm = h("input", { name: "confirm", autocomplete: "off", required: true });
  const reason = h("input", { name: "reason", required: true, maxLength: 1000 });
  const error = h("p.error", { role: "alert" });
  const form = h("form.card.narrow", {
    id: "delete-workspace-form",
    onsubmit: async (e) => {
      e.preventDefault();
      error.textContent = "";
      try {
        const out = await api.post("/workspace/delete", { confirm: confirm.value, reason: reason.value });
        toast(`Workspace deleted: ${out.rows} rows removed, data key destroyed.`, "ok", 8000);
        setSession(null);
        go("#/login");
      } catch (err) {
        error.textContent = err.message;
      }
    },
  },
  h("h2", null, "Delete this workspace"),
  h("p.muted", null, "Every project, item, file, annotation, member and token of the workspace goes, and its "
    + "encryption key is destroyed, so backups of it cannot be read either. This cannot be undone. "
    + "The audit log keeps the deletion, with your name and reason."),
  h("label", null, `Type the workspace's name (${name}) to confirm`, confirm),
  h("label", null, "Why (kept in the audit log)", reason),
  error,
  h("button.danger", { type: "submit" }, "Delete workspace for good"));
  return form;
}
