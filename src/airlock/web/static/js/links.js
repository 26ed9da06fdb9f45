// Share links, for the upload and files pages: the share dialog (a File's links with their
// addresses, what is left of them, a QR code, revoke; and a form for another) and the
// one-click "Copy link".

import {
  ApiError, announce, api, copyText, describeError, formatDate, fromTemplate, setupDialog,
  showFormError, signInAgain,
} from "./common.js";

const dialog = document.getElementById("share-dialog");
const list = document.getElementById("share-links");
const listStatus = document.getElementById("share-links-status");
const form = document.getElementById("share-form");
let sharing = null;
let onChange = () => {};

if (dialog) setupDialog(dialog);


/** The share page's address of a link (what people open), and the bytes' own. */
export function pageUrl(link) {
  const token = link.url.replace(/^\/s\//, "");
  return new URL(`/share/${token}`, window.location.origin).href;
}

function directUrl(link) {
  return new URL(link.url, window.location.origin).href;
}

/** What is left of a link, in words: its expiry, downloads, password. */
export function linkFacts(link, now = Date.now()) {
  const parts = [];
  if (!link.expires_at) parts.push("never expires");
  else if (new Date(link.expires_at).getTime() <= now) parts.push(`expired ${formatDate(link.expires_at)}`);
  else parts.push(`works until ${formatDate(link.expires_at)}`);
  if (link.max_downloads) {
    parts.push(`${link.downloads} of ${link.max_downloads} download${link.max_downloads === 1 ? "" : "s"} used`);
  } else {
    parts.push(`${link.downloads} download${link.downloads === 1 ? "" : "s"}`);
  }
  if (link.has_password) parts.push("needs a password");
  parts.push(`made ${formatDate(link.created_at)}`);
  return parts.join(" · ");
}

async function copyButton(button, text, label) {
  const ok = await copyText(text);
  button.textContent = ok ? "Copied" : "Press Ctrl+C";
  announce(ok ? `${label} copied to the clipboard.` : "Copying failed; select the address and press Ctrl+C.");
  window.setTimeout(() => { button.textContent = label === "Address" ? "Copy" : "Copy download address"; }, 2000);
  return ok;
}

function renderLink(link, { fresh = false } = {}) {
  const row = fromTemplate("link-row");
  row.dataset.id = link.id;
  const url = row.querySelector(".link-url");
  const facts = row.querySelector(".link-facts");
  const factsId = `link-facts-${link.id}`;
  facts.id = factsId;
  facts.textContent = linkFacts(link);
  const open = row.querySelector(".link-open");
  const copy = row.querySelector(".link-copy");
  const copyDirect = row.querySelector(".link-copy-direct");
  const qr = row.querySelector(".link-qr");
  const image = row.querySelector(".link-qr-image");
  if (link.url) {
    url.value = pageUrl(link);
    url.setAttribute("aria-label", "Share page address");
    url.setAttribute("aria-describedby", factsId);
    open.href = pageUrl(link);
    copy.addEventListener("click", () => copyButton(copy, pageUrl(link), "Address"));
    copyDirect.addEventListener("click", () => copyButton(copyDirect, directUrl(link), "Download address"));
    image.alt = `QR code of ${pageUrl(link)}`;
    qr.addEventListener("click", () => {
      const show = image.hidden;
      if (show && !image.src) image.src = `/links/${encodeURIComponent(link.id)}/qr.svg`;
      image.hidden = !show;
      qr.setAttribute("aria-expanded", String(show));
      qr.textContent = show ? "Hide QR code" : "QR code";
    });
  } else {
    // Made before addresses were kept: it still works, but its address cannot be shown again.
    url.value = "(address not kept: revoke this link and make another)";
    url.setAttribute("aria-label", "Address not kept");
    for (const node of [open, copy, copyDirect, qr]) node.hidden = true;
  }
  const revoke = row.querySelector(".link-revoke");
  revoke.setAttribute("aria-label", `Revoke the link made ${formatDate(link.created_at)}`);
  revoke.addEventListener("click", () => revokeLink(row, link));
  if (fresh) row.classList.add("link-fresh");
  return row;
}

function showCount() {
  const n = list.children.length;
  listStatus.textContent = n ? `${n} link${n === 1 ? "" : "s"} to this file.` : "No links to this file yet.";
}

async function loadLinks(file) {
  list.replaceChildren();
  listStatus.textContent = "Loading…";
  try {
    const body = await api(`/api/v1/files/${encodeURIComponent(file.id)}/links`);
    if (sharing !== file) return;
    // Newest first: the one just made is on top.
    list.replaceChildren(...body.links.slice().reverse().map((link) => renderLink(link)));
    showCount();
  } catch (err) {
    if (signInAgain(err)) return;
    listStatus.textContent = `The links could not be loaded: ${describeError(err)}`;
  }
}

async function revokeLink(row, link) {
  const button = row.querySelector(".link-revoke");
  button.disabled = true;
  try {
    await api(`/api/v1/links/${encodeURIComponent(link.id)}`, { method: "DELETE" });
    const next = row.nextElementSibling || row.previousElementSibling;
    row.remove();
    showCount();
    announce("Link revoked: its address no longer works.");
    (next?.querySelector(".link-revoke") || form.elements.expires_in).focus();
    onChange();
  } catch (err) {
    if (signInAgain(err)) return;
    button.disabled = false;
    announce(`The link could not be revoked: ${describeError(err)}`, { assertive: true });
  }
}

/** Open the share dialog for ``file``; ``changed`` is called when its links change. */
export function openShare(file, changed = () => {}) {
  sharing = file;
  onChange = changed;
  dialog.querySelector(".dialog-filename").textContent = file.name;
  form.reset();
  showFormError(form, "");
  dialog.showModal();
  loadLinks(file);
}

/** A new link to ``file`` (``options``: expires_in, max_downloads, password). */
export async function createLink(file, options) {
  return api(`/api/v1/files/${encodeURIComponent(file.id)}/links`, { method: "POST", json: options });
}

/** The default link's lifetime: the dialog's preselected choice (null: never). */
export function defaultExpiry() {
  const value = form.elements.expires_in.querySelector("option[selected]")?.value
    ?? form.elements.expires_in.value;
  return value ? parseInt(value, 10) : null;
}

/** "Copy link": a new link with the default lifetime, its share page address copied. */
export async function copyNewLink(file, button) {
  button.disabled = true;
  try {
    const link = await createLink(file, { expires_in: defaultExpiry() });
    const ok = await copyText(pageUrl(link));
    button.textContent = ok ? "Link copied" : "Copy failed";
    announce(ok ? `A link to ${file.name} was copied; it ${linkFacts(link).split(" · ")[0]}.`
      : `A link to ${file.name} was made but could not be copied: open Share to copy it.`);
    window.setTimeout(() => { button.textContent = "Copy link"; }, 2500);
    return link;
  } catch (err) {
    if (signInAgain(err)) return null;
    announce(`No link could be made: ${describeError(err)}`, { assertive: true });
    return null;
  } finally {
    button.disabled = false;
  }
}

form?.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!sharing) return;
  const file = sharing;
  const expiry = form.elements.expires_in.value;
  const limitText = form.elements.max_downloads.value.trim();
  const password = form.elements.password.value;
  let maxDownloads = null;
  if (limitText) {
    maxDownloads = Number(limitText);
    if (!Number.isInteger(maxDownloads) || maxDownloads < 1) {
      showFormError(form, "The download limit must be a whole number of at least 1, or empty.");
      form.elements.max_downloads.focus();
      return;
    }
  }
  const options = { expires_in: expiry ? parseInt(expiry, 10) : null, max_downloads: maxDownloads };
  if (password) options.password = password;
  try {
    const link = await createLink(file, options);
    showFormError(form, "");
    form.reset();
    const row = renderLink(link, { fresh: true });
    list.prepend(row);
    showCount();
    row.querySelector(".link-url").select();
    row.querySelector(".link-url").focus();
    announce("Share link created.");
    onChange();
  } catch (err) {
    if (signInAgain(err)) return;
    const detail = err instanceof ApiError && err.code === "bad_request" && err.message ? ` ${err.message}` : "";
    showFormError(form, describeError(err) + detail);
  }
});
