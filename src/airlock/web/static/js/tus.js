// A small tus 1.0.0 client for Airlock's /api/v1/tus/ endpoint, for browsers.
//
// - creation with Upload-Length and Upload-Metadata (base64 of UTF-8), then PATCH in chunks
//   through XMLHttpRequest, whose upload progress events drive the progress bars;
// - a network error, a 5xx, a 409 or a 429 is retried with growing pauses: a HEAD learns how
//   much the server kept, and the upload goes on from there;
// - a rejection (the server's JSON error on a 4xx) ends the upload with that error: the server
//   has already deleted it;
// - unfinished uploads are remembered in localStorage by a fingerprint of the file, so the same
//   file added after a reload continues instead of starting over.

import { ApiError, csrfToken, errorFrom, sleep } from "./common.js";

const TUS_VERSION = "1.0.0";
const DEFAULT_CHUNK = 8 * 1024 * 1024;
// Pauses before the next try after a failure, in ms; the last one repeats.
export const RETRY_DELAYS = [500, 1000, 2000, 4000, 8000, 10000];
const MAX_FAILURES = 40; // in a row without progress: about six minutes of trying
// Statuses that say "try again" rather than "no".
const RETRYABLE = new Set([0, 408, 409, 423, 429, 500, 502, 503, 504]);

/** base64 of a string's UTF-8 bytes (btoa alone takes Latin-1 only). */
export function base64Utf8(text) {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/** An Upload-Metadata header value; empty and missing values are left out. */
export function encodeMetadata(fields) {
  return Object.entries(fields)
    .filter(([, value]) => value !== undefined && value !== null && value !== "")
    .map(([key, value]) => `${key} ${base64Utf8(String(value))}`)
    .join(",");
}

/** What identifies "the same file" after a reload: name, size and modification time. */
export function fingerprint(file) {
  return JSON.stringify([file.name, file.size, file.lastModified]);
}

/** Unfinished uploads of one user, kept in localStorage: fingerprint → {url, name, size,
 * lastModified, percent, updated}. Storage that is full or switched off is simply not used. */
export class UploadStore {
  constructor(owner, storage = window.localStorage) {
    this.key = `airlock.uploads.v1.${owner}`;
    this.storage = storage;
  }

  all() {
    try {
      const value = JSON.parse(this.storage.getItem(this.key) || "{}");
      return value && typeof value === "object" ? value : {};
    } catch {
      return {};
    }
  }

  get(fp) {
    return this.all()[fp] || null;
  }

  put(fp, entry) {
    const all = this.all();
    all[fp] = { ...(all[fp] || {}), ...entry, updated: Date.now() };
    this._save(all);
  }

  remove(fp) {
    const all = this.all();
    if (fp in all) {
      delete all[fp];
      this._save(all);
    }
  }

  _save(all) {
    try {
      if (Object.keys(all).length) this.storage.setItem(this.key, JSON.stringify(all));
      else this.storage.removeItem(this.key);
    } catch {
      // Private browsing or a full store: resuming after a reload just will not be offered.
    }
  }
}

function isLocalPath(url) {
  return typeof url === "string" && /^\/(?![/\\])/.test(url);
}

/** Ask the server to drop an unfinished upload (tus termination); true when it did. Only
 * same-origin paths are sent anything. */
export async function terminate(url) {
  if (!isLocalPath(url)) return false;
  try {
    const response = await fetch(url, {
      method: "DELETE",
      credentials: "same-origin",
      headers: { "Tus-Resumable": TUS_VERSION, "X-CSRF-Token": csrfToken() },
    });
    return response.ok;
  } catch {
    return false; // unreachable now: the server drops abandoned uploads by itself later
  }
}

/**
 * Where an upload stands on the server: {fileId} once it became a File, {offset, length} while
 * unfinished, {gone: true} when the server no longer has it. Rejects with an ApiError when the
 * server cannot be asked right now.
 */
export async function probe(url, signal) {
  let response;
  try {
    response = await fetch(url, {
      method: "HEAD",
      headers: { "Tus-Resumable": TUS_VERSION },
      credentials: "same-origin",
      cache: "no-store",
      signal,
    });
  } catch (exc) {
    if (signal && signal.aborted) throw new Cancelled();
    throw new ApiError(0, "network", "The server could not be reached.");
  }
  // A finished upload answers 303 to its File; fetch follows it.
  if (response.redirected) {
    const fileId = fileIdFromUrl(response.url);
    if (fileId) return { fileId, offset: null, gone: false };
  }
  if (response.status === 404 || response.status === 410 || response.status === 403) {
    return { fileId: null, offset: null, gone: true };
  }
  if (!response.ok) {
    const retry = parseInt(response.headers.get("Retry-After") || "", 10);
    throw new ApiError(response.status, null, `HTTP ${response.status}`, {},
      Number.isFinite(retry) ? retry : null);
  }
  const offset = parseOffset(response.headers.get("Upload-Offset"));
  if (offset === null) throw new ApiError(response.status, "internal_error", "No Upload-Offset.");
  return { fileId: null, offset, length: parseOffset(response.headers.get("Upload-Length")), gone: false };
}

/** The upload was cancelled by the user. */
export class Cancelled extends Error {
  constructor() {
    super("Cancelled");
    this.name = "Cancelled";
  }
}

function fileIdFromUrl(url) {
  const m = /\/files\/([^/?#]+)$/.exec(new URL(url, window.location.href).pathname);
  return m ? decodeURIComponent(m[1]) : null;
}

function parseOffset(value) {
  const n = parseInt(value || "", 10);
  return Number.isFinite(n) && n >= 0 ? n : null;
}

function errorFromXhr(xhr) {
  let body = null;
  try {
    body = JSON.parse(xhr.responseText);
  } catch {
    body = null;
  }
  const err = (body && body.error) || {};
  const retry = parseInt(xhr.getResponseHeader("Retry-After") || "", 10);
  return new ApiError(xhr.status, err.code, err.message, err.details,
    Number.isFinite(retry) ? retry : null);
}

function isRetryable(err) {
  if (!(err instanceof ApiError)) return false;
  // 503 is also the scanner's "cannot check now": a rejection, and the upload is gone.
  if (err.code === "scanner_unavailable" || err.code === "storage_full") return false;
  return RETRYABLE.has(err.status);
}

/**
 * One file's upload. Callbacks: onProgress(bytesSent, bytesTotal), onStatus(kind, detail) with
 * kind "creating", "uploading", "resumed" (detail: offset), "retrying" (detail: {delay, error}),
 * "checking" (every byte sent, the server's answer pending). start() resolves to {fileId, resumedFrom} or rejects with an ApiError (the
 * rejection) or Cancelled.
 */
export class TusUpload {
  constructor(file, options) {
    this.file = file;
    this.endpoint = options.endpoint;
    this.chunkSize = Math.max(1, options.chunkSize || DEFAULT_CHUNK);
    this.metadata = options.metadata || {};
    this.store = options.store || null;
    this.onProgress = options.onProgress || (() => {});
    this.onStatus = options.onStatus || (() => {});
    this.retryDelays = options.retryDelays || RETRY_DELAYS;
    this.fp = fingerprint(file);
    this.url = null;
    this.offset = 0;
    this.resumedFrom = null;
    this.xhr = null;
    this.cancelled = false;
    this.controller = new AbortController();
    this._lastSaved = 0;
  }

  async start() {
    const saved = this.store ? this.store.get(this.fp) : null;
    if (saved && isLocalPath(saved.url)) {
      const found = await this._withRetries(() => this._head(saved.url));
      if (found.fileId) {
        this._forget();
        this.onProgress(this.file.size, this.file.size);
        return { fileId: found.fileId, resumedFrom: this.file.size };
      }
      if (found.offset !== null) {
        this.url = saved.url;
        this.offset = found.offset;
        this.resumedFrom = found.offset;
        this.onProgress(this.offset, this.file.size);
        this.onStatus("resumed", this.offset);
      } else {
        this._forget(); // expired or unknown on the server: start over
      }
    }
    if (!this.url) {
      this.onStatus("creating");
      const created = await this._withRetries(() => this._create());
      if (created.fileId) {
        this._forget();
        this.onProgress(this.file.size, this.file.size);
        return { fileId: created.fileId, resumedFrom: null };
      }
    }
    return this._sendAll();
  }

  /** Stop: abort what is in flight and tell the server to drop the upload. */
  async cancel() {
    if (this.cancelled) return;
    this.cancelled = true;
    this.controller.abort();
    if (this.xhr) this.xhr.abort();
    this._forget();
    if (this.url) await terminate(this.url);
  }

  // -- the steps -------------------------------------------------------------------------------

  async _create() {
    const response = await this._fetch(this.endpoint, {
      method: "POST",
      headers: {
        "Tus-Resumable": TUS_VERSION,
        "Upload-Length": String(this.file.size),
        "Upload-Metadata": encodeMetadata(this.metadata),
        "X-CSRF-Token": csrfToken(),
      },
    });
    if (response.status !== 201) throw await errorFrom(response);
    const fileId = response.headers.get("Upload-File-Id");
    if (fileId) return { fileId };
    const location = response.headers.get("Location");
    if (!location) throw new ApiError(response.status, "internal_error", "The server sent no upload address.");
    this.url = new URL(location, window.location.href).pathname;
    this.offset = 0;
    this._remember(0, true);
    return { fileId: null };
  }

  /** Where the upload at ``url`` stands (see probe()); network trouble is an ApiError. */
  async _head(url) {
    return probe(url, this.controller.signal);
  }

  async _sendAll() {
    this.onStatus("uploading");
    let failures = 0;
    let waitedForFinish = 0;
    for (;;) {
      this._checkCancelled();
      if (this.offset >= this.file.size && this.file.size > 0) {
        // Everything arrived but the answer did not: the HEAD (which waits for the checks)
        // tells the outcome.
        const found = await this._withRetries(() => this._head(this.url));
        if (found.fileId) return this._done(found.fileId);
        if (found.offset === null) throw this._lost();
        this.offset = found.offset;
        if (this.offset >= this.file.size) {
          if (++waitedForFinish > 10) throw this._lost();
          await sleep(1000, this.controller.signal);
        }
        continue;
      }
      const end = Math.min(this.offset + this.chunkSize, this.file.size);
      const result = await this._patch(this.offset, end);
      this._checkCancelled();
      if (result.fileId) return this._done(result.fileId);
      if (result.error === null) {
        if (result.offset > this.offset) failures = 0;
        this.offset = result.offset;
        this._remember(this.offset);
        continue;
      }
      if (!isRetryable(result.error)) {
        this._forget();
        throw result.error;
      }
      failures += 1;
      if (failures > MAX_FAILURES) throw result.error;
      await this._pause(failures, result.error);
      const found = await this._withRetries(() => this._head(this.url));
      if (found.fileId) return this._done(found.fileId);
      if (found.offset === null) {
        this._forget();
        throw result.error.status === 0 ? this._lost() : result.error;
      }
      if (found.offset > this.offset) failures = 0;
      this.offset = found.offset;
      this.onProgress(this.offset, this.file.size);
      this._remember(this.offset);
      this.onStatus("uploading");
    }
  }

  /** One PATCH of bytes [start, end): {offset, fileId, error} (error null on success). */
  _patch(start, end) {
    return new Promise((resolve) => {
      const xhr = new XMLHttpRequest();
      this.xhr = xhr;
      xhr.open("PATCH", this.url, true);
      xhr.withCredentials = true;
      xhr.setRequestHeader("Tus-Resumable", TUS_VERSION);
      xhr.setRequestHeader("Upload-Offset", String(start));
      xhr.setRequestHeader("Content-Type", "application/offset+octet-stream");
      xhr.setRequestHeader("X-CSRF-Token", csrfToken());
      if (end === this.file.size) {
        // Every byte is on its way; the server checks the whole file once it has it.
        xhr.upload.addEventListener("load", () => this.onStatus("checking"));
      }
      xhr.upload.addEventListener("progress", (event) => {
        const sent = start + Math.min(event.loaded, end - start);
        this.onProgress(sent, this.file.size);
        this._remember(sent);
      });
      const finish = (value) => {
        this.xhr = null;
        resolve(value);
      };
      xhr.addEventListener("load", () => {
        if (xhr.status === 204 || xhr.status === 200) {
          const offset = parseOffset(xhr.getResponseHeader("Upload-Offset"));
          const fileId = xhr.getResponseHeader("Upload-File-Id");
          if (fileId) return finish({ offset: this.file.size, fileId, error: null });
          if (offset === null) {
            return finish({ error: new ApiError(0, "network", "No Upload-Offset in the answer.") });
          }
          this.onProgress(offset, this.file.size);
          return finish({ offset, fileId: null, error: null });
        }
        return finish({ error: errorFromXhr(xhr) });
      });
      xhr.addEventListener("error", () => finish({ error: new ApiError(0, "network") }));
      xhr.addEventListener("timeout", () => finish({ error: new ApiError(0, "network") }));
      xhr.addEventListener("abort", () => finish({ error: new ApiError(0, "network") }));
      xhr.send(this.file.slice(start, end));
    });
  }

  // -- plumbing --------------------------------------------------------------------------------

  async _fetch(url, init) {
    try {
      return await fetch(url, {
        ...init, credentials: "same-origin", cache: "no-store", signal: this.controller.signal,
      });
    } catch (exc) {
      this._checkCancelled();
      throw new ApiError(0, "network", "The server could not be reached.");
    }
  }

  /** Run a request step again (after a pause) while it fails in a way worth retrying. */
  async _withRetries(step) {
    for (let failures = 1; ; failures += 1) {
      this._checkCancelled();
      try {
        return await step();
      } catch (err) {
        this._checkCancelled();
        if (!isRetryable(err) || failures > MAX_FAILURES) throw err;
        await this._pause(failures, err);
      }
    }
  }

  async _pause(failures, error) {
    const delays = this.retryDelays;
    let delay = delays[Math.min(failures - 1, delays.length - 1)];
    if (error && error.retryAfter) delay = Math.max(delay, error.retryAfter * 1000);
    this.onStatus("retrying", { delay, error });
    await sleep(delay, this.controller.signal);
    this._checkCancelled();
  }

  _done(fileId) {
    this._forget();
    this.offset = this.file.size;
    this.onProgress(this.file.size, this.file.size);
    return { fileId, resumedFrom: this.resumedFrom };
  }

  _lost() {
    return new ApiError(404, "upload_lost",
      "The server no longer has this upload; it may have been rejected. Try again.");
  }

  _checkCancelled() {
    if (this.cancelled) throw new Cancelled();
  }

  _remember(sent, force = false) {
    if (!this.store || !this.url || this.cancelled) return;
    const now = Date.now();
    if (!force && now - this._lastSaved < 1000) return;
    this._lastSaved = now;
    const size = this.file.size || 1;
    this.store.put(this.fp, {
      url: this.url,
      name: this.file.name,
      size: this.file.size,
      lastModified: this.file.lastModified,
      percent: Math.floor((100 * sent) / size),
    });
  }

  _forget() {
    if (this.store) this.store.remove(this.fp);
  }
}
