// One's own account: change the password (which ends every other session and API token).
import { api } from "../api.js";
import { h, toast } from "../dom.js";
import { state } from "../app.js";

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
  current.focus();
  return {};
}
