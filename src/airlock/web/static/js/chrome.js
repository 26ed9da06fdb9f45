// The page frame: the Sign out button, and dates the server wrote in UTC shown in the
// reader's own time zone (<time datetime> elements; the UTC text stays without scripts).
import { api, announce, describeError, formatDate } from "./common.js";

for (const time of document.querySelectorAll("time[datetime]")) {
  const shown = formatDate(time.getAttribute("datetime"));
  if (shown !== "—") {
    time.title = time.textContent.trim();  // the UTC form, on hover
    time.textContent = shown;
  }
}

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
