// Drop links: make one (what it is for, how long, limits, password), copy its address, see
// what arrived through it, close it.

import {
  ApiError, announce, api, copyText, describeError, formatBytes, formatDate, fromTemplate,
  parseSize, showFormError, signInAgain,
} from "./common.js";

const form = document.getElementById("drop-form");
const list = document.getElementById("drop-list");
const status = document.getElementById("drop-status");


/** What a drop link takes still, in words. */
export function dropFacts(drop, now = Date.now()) {
  const parts = [];
  if (drop.revoked) parts.push("closed");
  else if (!drop.expires_at) parts.push("takes files until you close it");
  else if (new Date(drop.expires_at).getTime() <= now) parts.push(`expired ${formatDate(drop.expires_at)}`);
  else parts.push(`takes files until ${formatDate(drop.expires_at)}`);
  const files = drop.max_files ? `${drop.files} of ${drop.max_files} files` : `${drop.files} file${drop.files === 1 ? "" : "s"}`;
  const bytes = drop.max_bytes ? `${formatBytes(drop.bytes)} of ${formatBytes(drop.max_bytes)}` : formatBytes(drop.bytes);
  parts.push(`${files} arrived (${bytes})`);
  if (drop.has_password) parts.push("needs a password");
  return parts.join(" · ");
}

function render(drop) {
  const row = fromTemplate("drop-row");
  row.dataset.id = drop.id;
  const address = new URL(drop.url, window.location.origin).href;
  row.querySelector(".drop-name").textContent = drop.name;
  const url = row.querySelector(".drop-url");
  url.value = address;
  url.setAttribute("aria-label", `Address of the drop link “${drop.name}”`);
  const facts = row.querySelector(".drop-facts");
  facts.textContent = dropFacts(drop);
  const copy = row.querySelector(".drop-copy");
  copy.setAttribute("aria-label", `Copy the address of “${drop.name}”`);
  copy.addEventListener("click", async () => {
    const ok = await copyText(address);
    copy.textContent = ok ? "Copied" : "Press Ctrl+C";
    announce(ok ? "Address copied to the clipboard." : "Copying failed; select the address and press Ctrl+C.");
    window.setTimeout(() => { copy.textContent = "Copy"; }, 2000);
  });
  const open = row.querySelector(".drop-open");
  open.href = address;
  const arrived = row.querySelector(".drop-files");
  arrived.href = `/files?drop=${encodeURIComponent(drop.id)}`;
  arrived.setAttribute("aria-label", `Files that arrived through “${drop.name}”`);
  const revoke = row.querySelector(".drop-revoke");
  revoke.setAttribute("aria-label", `Close the drop link “${drop.name}”`);
  if (drop.revoked) {
    revoke.hidden = true;
    open.hidden = true;
    row.classList.add("link-closed");
  }
  revoke.addEventListener("click", async () => {
    revoke.disabled = true;
    try {
      await api(`/api/v1/drops/${encodeURIComponent(drop.id)}`, { method: "DELETE" });
      const closed = render({ ...drop, revoked: true });
      row.replaceWith(closed);
      announce(`“${drop.name}” is closed: it takes no more files.`);
      closed.querySelector(".drop-copy").focus();
    } catch (err) {
      if (signInAgain(err)) return;
      revoke.disabled = false;
      announce(`It could not be closed: ${describeError(err)}`, { assertive: true });
    }
  });
  return row;
}

function showCount() {
  const n = list.children.length;
  status.textContent = n ? `${n} drop link${n === 1 ? "" : "s"}.` : "You have no drop links yet.";
}

async function load() {
  status.textContent = "Loading…";
  try {
    const body = await api("/api/v1/drops");
    list.replaceChildren(...body.drops.map(render));
    showCount();
  } catch (err) {
    if (signInAgain(err)) return;
    status.textContent = `Your drop links could not be loaded: ${describeError(err)}`;
  }
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = form.elements.name.value.trim();
  if (!name) {
    showFormError(form, "Say what the drop link is for.");
    form.elements.name.focus();
    return;
  }
  const body = { name, expires_in: form.elements.expires_in.value ? parseInt(form.elements.expires_in.value, 10) : null };
  const maxFiles = form.elements.max_files.value.trim();
  if (maxFiles) {
    body.max_files = Number(maxFiles);
    if (!Number.isInteger(body.max_files) || body.max_files < 1) {
      showFormError(form, "The number of files must be a whole number of at least 1, or empty.");
      form.elements.max_files.focus();
      return;
    }
  }
  const maxBytes = form.elements.max_bytes.value.trim();
  if (maxBytes) {
    body.max_bytes = parseSize(maxBytes);
    if (!body.max_bytes) {
      showFormError(form, "Write the size as a number with a unit, such as 500 MB or 2 GB, or leave it empty.");
      form.elements.max_bytes.focus();
      return;
    }
  }
  if (form.elements.password.value) body.password = form.elements.password.value;
  try {
    const drop = await api("/api/v1/drops", { method: "POST", json: body });
    showFormError(form, "");
    form.reset();
    const row = render(drop);
    row.classList.add("link-fresh");
    list.prepend(row);
    showCount();
    row.querySelector(".drop-url").select();
    row.querySelector(".drop-url").focus();
    announce("Drop link made.");
  } catch (err) {
    if (signInAgain(err)) return;
    const detail = err instanceof ApiError && err.code === "bad_request" && err.message ? ` ${err.message}` : "";
    showFormError(form, describeError(err) + detail);
  }
});

load();
