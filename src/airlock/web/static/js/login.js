// The sign-in form: posts the credentials as JSON and goes on to where the user was headed.
import { ApiError, api, describeError, formatDuration, showFormError } from "./common.js";

const form = document.getElementById("login-form");
const button = form.querySelector('button[type="submit"]');

/** Only a local path: one leading slash, no backslash (the server checked it too). */
function nextPath() {
  const next = form.dataset.next || "/upload";
  return /^\/(?![/\\])[^\\]*$/.test(next) ? next : "/upload";
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const username = form.elements.username.value.trim();
  const password = form.elements.password.value;
  if (!username || !password) {
    showFormError(form, "Enter your user name and password.");
    (username ? form.elements.password : form.elements.username).focus();
    return;
  }
  button.disabled = true;
  showFormError(form, "");
  try {
    await api("/api/v1/session", { method: "POST", json: { username, password } });
    window.location.assign(nextPath());
  } catch (err) {
    button.disabled = false;
    let text;
    if (err instanceof ApiError && err.code === "unauthorized") {
      text = "That user name and password do not match.";
    } else if (err instanceof ApiError && err.code === "rate_limited") {
      text = err.retryAfter
        ? `Too many failed sign-ins. Try again in ${formatDuration(err.retryAfter)}.`
        : "Too many failed sign-ins. Try again later.";
    } else {
      text = describeError(err);
    }
    showFormError(form, text);
    form.elements.password.select();
    form.elements.password.focus();
  }
});

form.elements.username.focus();
