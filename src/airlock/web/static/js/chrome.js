// The page frame: the Sign out button.
import { api, announce, describeError } from "./common.js";

const signOut = document.getElementById("sign-out");
if (signOut) {
  signOut.addEventListener("click", async () => {
    signOut.disabled = true;
    try {
      await api("/api/v1/session", { method: "DELETE" });
      window.location.assign("/login");
    } catch (err) {
      signOut.disabled = false;
      announce(`Signing out failed: ${describeError(err)}`, { assertive: true });
    }
  });
}
