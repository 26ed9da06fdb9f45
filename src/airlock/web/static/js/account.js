// The account page: change your own password (the current one first).

import { ApiError, announce, api, describeError, showFormError } from "./common.js";

const form = document.getElementById("password-form");
const done = document.getElementById("password-done");

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  done.hidden = true;
  const current = form.elements.current.value;
  const next = form.elements.new.value;
  if (!current) {
    showFormError(form, "Enter your current password.");
    form.elements.current.focus();
    return;
  }
  if (next.length < 8) {
    showFormError(form, "The new password needs at least 8 characters.");
    form.elements.new.focus();
    return;
  }
  if (next !== form.elements.repeat.value) {
    showFormError(form, "The two new passwords differ.");
    form.elements.repeat.focus();
    return;
  }
  try {
    await api("/api/v1/me/password", { method: "POST", json: { current, new: next } });
    showFormError(form, "");
    form.reset();
    done.textContent = "Your password is changed. Your other browser sessions have ended.";
    done.hidden = false;
    announce(done.textContent);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      window.location.assign(`/login?next=${encodeURIComponent(window.location.pathname)}`);
      return;
    }
    const text = err instanceof ApiError && err.code === "forbidden"
      ? "That is not your current password." : describeError(err);
    showFormError(form, text);
    form.elements.current.focus();
  }
});
