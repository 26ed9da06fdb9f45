// Helpers every page shares: the API call with the CSRF token, plain-words error messages,
// sizes and durations, announcements for screen readers, dialogs and the clipboard.
//
// User text only ever reaches the page as textContent or attribute values, never as HTML.

/** The session's CSRF token, from the page's <meta name="csrf-token">. */
export function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

/** An API error: the HTTP status and API.md's error code, message and details. */
export class ApiError extends Error {
  constructor(status, code, message, details = {}, retryAfter = null) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code || (status === 0 ? "network" : "http_" + status);
    this.details = details || {};
    this.retryAfter = retryAfter;
  }
}

/** The ApiError a failed response carries (its JSON envelope, or just its status). */
export async function errorFrom(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  const err = (body && body.error) || {};
  const retry = parseInt(response.headers.get("Retry-After") || "", 10);
  return new ApiError(response.status, err.code, err.message, err.details,
    Number.isFinite(retry) ? retry : null);
}

/**
 * Call the JSON API with the session cookie and the CSRF token; resolves to the parsed body
 * (null for 204), rejects with an ApiError.
 */
export async function api(path, { method = "GET", json, signal } = {}) {
  const headers = { Accept: "application/json", "X-CSRF-Token": csrfToken() };
  const init = { method, headers, credentials: "same-origin", cache: "no-store", signal };
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (exc) {
    if (exc && exc.name === "AbortError") throw exc;
    throw new ApiError(0, "network", "The server could not be reached.");
  }
  if (!response.ok) throw await errorFrom(response);
  if (response.status === 204) return null;
  const type = response.headers.get("Content-Type") || "";
  return type.includes("json") ? response.json() : null;
}

// What each of API.md's error codes means, in plain words.
const REASONS = {
  too_large: "This file is larger than the server accepts.",
  empty_file: "This file is empty.",
  type_not_allowed: "Files of this type are not allowed here.",
  content_mismatch: "The file's name does not match its content (its extension says one type, its bytes another).",
  unsafe_content: "This file looks unsafe (for example a zip bomb or hidden active content).",
  malware_detected: "The virus scanner found malware in this file.",
  scanner_unavailable: "The virus scanner is not available right now, so the file could not be checked. Try again later.",
  quota_exceeded: "There is not enough room left in your storage quota.",
  storage_full: "The server has run out of storage space.",
  checksum_mismatch: "The file was damaged on its way to the server.",
  rate_limited: "Too many attempts; wait a moment and try again.",
  unauthorized: "You are signed out. Sign in again and retry.",
  forbidden: "You are not allowed to do this. Reload the page and try again.",
  not_found: "The server no longer knows this item.",
  gone: "This is no longer available.",
  conflict: "Someone else changed this at the same time. Try again.",
  bad_request: "The server did not understand the request.",
  no_file: "No file was sent.",
  malformed_multipart: "The upload was garbled on its way to the server.",
  precondition_failed: "The server does not speak this upload protocol version.",
  unsupported_media_type: "The server did not accept the form of this request.",
  internal_error: "Something went wrong on the server.",
  network: "The server could not be reached. Check your connection.",
};

/** On a 401 (signed out meanwhile), go to the sign-in page and back here afterwards; whether
 * that is what happened. */
export function signInAgain(err) {
  if (err instanceof ApiError && err.status === 401) {
    const here = window.location.pathname + window.location.search;
    window.location.assign(`/login?next=${encodeURIComponent(here)}`);
    return true;
  }
  return false;
}

/** A plain-words sentence for an error code, falling back to the server's own message. */
export function reasonFor(code, fallback) {
  return REASONS[code] || fallback || "Something went wrong.";
}

/** The sentence to show for an ApiError (plain words, plus the server's specifics). */
export function describeError(err) {
  if (!(err instanceof ApiError)) return "Something went wrong.";
  const plain = reasonFor(err.code, err.message);
  if (err.code === "rate_limited" && err.retryAfter) {
    return `${plain} You can try again in ${formatDuration(err.retryAfter)}.`;
  }
  return plain;
}

const UNITS = ["kB", "MB", "GB", "TB", "PB"];

/** "1.2 MB"-style sizes, decimal units as the server pages write them. */
export function formatBytes(size) {
  if (size == null || !Number.isFinite(size)) return "—";
  if (size < 1000) return `${size} B`;
  let value = size;
  for (const unit of UNITS) {
    value /= 1000;
    if (value < 1000 || unit === "PB") {
      return `${value < 100 ? value.toFixed(1) : value.toFixed(0)} ${unit}`;
    }
  }
  return `${size} B`;
}

/** "3 s", "2 min 5 s", "1 h 4 min". */
export function formatDuration(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return "—";
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  const h = Math.floor(m / 60);
  return `${h} h ${m % 60} min`;
}

/** A date the reader's way, from an RFC 3339 string. */
export function formatDate(text) {
  if (!text) return "—";
  const date = new Date(text);
  if (Number.isNaN(date.getTime())) return text;
  return date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

const SIZE_UNITS = {
  "": 1, b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12,
  k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40,
  kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40,
};

/** Bytes from "500MB" (10^6), "1GiB"/"1G" (2^30) or a plain number, as the server reads
 * sizes; null when the text is not a size. */
export function parseSize(text) {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!m) return null;
  const unit = SIZE_UNITS[m[2].toLowerCase()];
  if (unit === undefined) return null;
  return Math.floor(parseFloat(m[1]) * unit);
}

/** Say something to screen-reader users (polite, or assertive for errors). */
export function announce(text, { assertive = false } = {}) {
  const region = document.getElementById(assertive ? "alert" : "live");
  if (!region) return;
  // Clearing first makes the same sentence twice in a row be read twice.
  region.textContent = "";
  window.setTimeout(() => { region.textContent = text; }, 50);
}

/** A new element with attributes and text children (text is set as text, never parsed). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** A fresh copy of a <template>'s first element. */
export function fromTemplate(id) {
  const template = document.getElementById(id);
  return template.content.firstElementChild.cloneNode(true);
}

/** Show or hide a form's error paragraph. */
export function showFormError(form, text) {
  const box = form.querySelector(".form-error");
  if (!box) return;
  box.textContent = text || "";
  box.hidden = !text;
}

/** Wire a <dialog>'s [data-close] buttons; returns the dialog. */
export function setupDialog(dialog) {
  for (const button of dialog.querySelectorAll("[data-close]")) {
    button.addEventListener("click", () => dialog.close("cancel"));
  }
  return dialog;
}

/** Copy text to the clipboard: the async Clipboard API, else a hidden textarea. */
export async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      // Permission refused: fall through to the old way.
    }
  }
  const area = el("textarea", { class: "offscreen", readonly: true, "aria-hidden": "true" });
  area.value = text;
  document.body.append(area);
  area.select();
  let ok = false;
  try {
    ok = document.execCommand("copy");
  } catch {
    ok = false;
  }
  area.remove();
  return ok;
}

/** Wait, or stop waiting early when the signal aborts. */
export function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = window.setTimeout(resolve, ms);
    if (signal) {
      signal.addEventListener("abort", () => {
        window.clearTimeout(timer);
        resolve();
      }, { once: true });
    }
  });
}
