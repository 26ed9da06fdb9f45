// The upload page: files from the picker, a drop anywhere on the page or the clipboard go up
// over tus, a few at a time, each with its own progress bar (percent, rate, time left) and one
// for the whole batch. Rejections show their reason next to the file.

import {
  ApiError, announce, describeError, formatBytes, formatDuration, fromTemplate,
} from "./common.js";
import { DirectUpload } from "./direct.js";
import { copyNewLink, openShare } from "./links.js";
import { Cancelled, TusUpload, UploadStore, fingerprint, probe, terminate } from "./tus.js";

const PARALLEL = 3;
const RATE_WINDOW_MS = 5000;

const root = document.getElementById("uploader");
const endpoint = root.dataset.endpoint;
const chunkSize = parseInt(root.dataset.chunkSize, 10) || undefined;
// Straight to the object store when the server is set up for it; tus (resumable) otherwise.
const Upload = root.dataset.direct === "1" ? DirectUpload : TusUpload;
const store = new UploadStore(root.dataset.owner);
const options = document.getElementById("upload-options");
const input = document.getElementById("file-input");
const list = document.getElementById("upload-list");
const batch = document.getElementById("batch");
const batchBar = document.getElementById("batch-bar");
const batchText = document.getElementById("batch-text");
const overlay = document.getElementById("drop-overlay");
const unfinished = document.getElementById("unfinished");
const unfinishedList = document.getElementById("unfinished-list");

const items = []; // every file added since the page loaded
const active = new Set(); // fingerprints of files being uploaded or waiting
let running = 0;
let announcedQuarter = -1;

/** One file in the list: its row, its upload and its numbers. */
class Item {
  constructor(file) {
    this.file = file;
    this.fp = fingerprint(file);
    this.state = "waiting"; // waiting, uploading, done, rejected, cancelled, failed
    this.sent = 0;
    this.samples = [];
    this.upload = null;
    this.row = fromTemplate("upload-row");
    this.bar = this.row.querySelector(".upload-bar");
    this.percent = this.row.querySelector(".upload-percent");
    this.rate = this.row.querySelector(".upload-rate");
    this.eta = this.row.querySelector(".upload-eta");
    this.status = this.row.querySelector(".upload-status");
    this.reason = this.row.querySelector(".upload-reason");
    this.cancelButton = this.row.querySelector(".upload-cancel");
    this.link = this.row.querySelector(".upload-link");
    this.row.querySelector(".upload-name").textContent = file.name;
    this.row.querySelector(".upload-size").textContent = formatBytes(file.size);
    this.bar.setAttribute("aria-label", `Upload of ${file.name}`);
    this.cancelButton.setAttribute("aria-label", `Cancel the upload of ${file.name}`);
    this.cancelButton.addEventListener("click", () => this.cancel());
    this.setStatus("Waiting…");
  }

  setState(state) {
    this.state = state;
    this.row.dataset.state = state;
    const finished = !["waiting", "uploading"].includes(state);
    this.cancelButton.hidden = finished;
    if (finished) {
      this.rate.textContent = "";
      this.eta.textContent = "";
    }
  }

  setStatus(text) {
    this.status.textContent = text;
  }

  progress(sent, total) {
    const now = performance.now();
    this.sent = sent;
    this.samples.push([now, sent]);
    while (this.samples.length > 2 && now - this.samples[0][0] > RATE_WINDOW_MS) this.samples.shift();
    const pct = total ? Math.floor((100 * sent) / total) : 100;
    this.bar.value = pct;
    this.percent.textContent = `${pct}%`;
    const [t0, b0] = this.samples[0];
    if (this.state === "uploading" && now - t0 > 400 && sent > b0) {
      const rate = ((sent - b0) * 1000) / (now - t0);
      this.rate.textContent = `${formatBytes(rate)}/s`;
      this.eta.textContent = sent < total ? `${formatDuration((total - sent) / rate)} left` : "";
    }
    updateBatch();
  }

  async run() {
    this.setState("uploading");
    const metadata = {
      filename: this.file.name,
      filetype: this.file.type,
      visibility: this.visibility,
      expires_in: this.expiresIn,
    };
    this.upload = new Upload(this.file, {
      endpoint, chunkSize, metadata, store,
      onProgress: (sent, total) => this.progress(sent, total),
      onStatus: (kind, detail) => this.onStatus(kind, detail),
    });
    try {
      const { fileId, resumedFrom } = await this.upload.start();
      this.setState("done");
      this.progress(this.file.size, this.file.size);
      const resumed = resumedFrom ? ` (resumed at ${Math.floor((100 * resumedFrom) / (this.file.size || 1))}%)` : "";
      this.setStatus(`Uploaded${resumed}.`);
      this.link.href = `/api/v1/files/${encodeURIComponent(fileId)}/content`;
      this.link.textContent = "Open";
      this.link.setAttribute("aria-label", `Open ${this.file.name}`);
      this.link.target = "_blank";
      this.link.rel = "noopener";
      this.link.hidden = false;
      const stored = { id: fileId, name: this.file.name };
      const copyLink = this.row.querySelector(".upload-copy-link");
      copyLink.setAttribute("aria-label", `Copy a share link to ${this.file.name}`);
      copyLink.addEventListener("click", () => copyNewLink(stored, copyLink));
      copyLink.hidden = false;
      const share = this.row.querySelector(".upload-share");
      share.setAttribute("aria-label", `Share ${this.file.name}`);
      share.addEventListener("click", () => openShare(stored));
      share.hidden = false;
      announce(`${this.file.name} uploaded.`);
    } catch (err) {
      if (err instanceof Cancelled) {
        this.setState("cancelled");
        this.setStatus("Cancelled.");
        announce(`Upload of ${this.file.name} cancelled.`);
      } else if (err instanceof ApiError && err.status >= 400 && err.status < 600
                 && !["internal_error", "upload_lost", "unauthorized", "forbidden"].includes(err.code)) {
        this.reject(err);
      } else {
        this.setState("failed");
        this.setStatus("Upload failed.");
        this.showReason(err instanceof ApiError && err.code === "upload_lost"
          ? err.message : describeError(err), err);
        announce(`Upload of ${this.file.name} failed: ${this.reason.textContent}`, { assertive: true });
      }
    } finally {
      active.delete(this.fp);
      updateBatch();
    }
  }

  onStatus(kind, detail) {
    if (kind === "creating") this.setStatus("Starting…");
    else if (kind === "uploading") this.setStatus(this.resumeNote || "Uploading…");
    else if (kind === "checking") {
      this.setStatus("Checking the file…");
      this.eta.textContent = "";
    }
    else if (kind === "resumed") {
      const pct = Math.floor((100 * detail) / (this.file.size || 1));
      this.resumeNote = `Resumed at ${pct}%.`;
      this.setStatus(this.resumeNote);
      announce(`${this.file.name}: resumed at ${pct}%.`);
    } else if (kind === "retrying") {
      const seconds = Math.max(1, Math.round(detail.delay / 1000));
      const status = detail.error ? detail.error.status : 0;
      const why = status === 0 ? "Connection lost"
        : status === 429 ? "The server asks to slow down"
        : "The server could not take it just now";
      this.setStatus(`${why}; retrying in ${seconds} s…`);
      this.samples = [];
      this.rate.textContent = "";
      this.eta.textContent = "";
    }
  }

  reject(err) {
    this.setState("rejected");
    this.setStatus("Rejected.");
    this.bar.value = 0;
    this.percent.textContent = "";
    this.showReason(describeError(err), err);
    announce(`${this.file.name} was rejected: ${this.reason.textContent}`, { assertive: true });
  }

  showReason(text, err) {
    this.reason.textContent = text;
    // The server's own words carry the specifics ("Files ending in .exe are not allowed."),
    // unless they only say the same again ("This file is empty." beside "The file is empty.").
    if (err instanceof ApiError && err.message && !sameWords(err.message, text)
        && !text.includes(err.message) && err.code !== "network") {
      const detail = document.createElement("span");
      detail.className = "upload-detail";
      detail.textContent = ` ${err.message}`;
      this.reason.append(detail);
    }
    this.reason.hidden = false;
  }

  cancel() {
    if (this.state === "waiting") {
      this.setState("cancelled");
      this.setStatus("Cancelled.");
      active.delete(this.fp);
      updateBatch();
      pump();
      return;
    }
    if (this.upload) this.upload.cancel();
  }
}

function chosenOptions() {
  const data = new FormData(options);
  return { visibility: data.get("visibility") || "private", expiresIn: data.get("expires_in") || "" };
}

/** Add files to the queue (from the picker, a drop or a paste). */
function addFiles(fileList) {
  const files = Array.from(fileList || []);
  if (!files.length) return;
  const { visibility, expiresIn } = chosenOptions();
  let added = 0;
  for (const file of files) {
    const fp = fingerprint(file);
    if (active.has(fp)) continue; // the same file is already on its way
    const item = new Item(file);
    item.visibility = visibility;
    item.expiresIn = expiresIn;
    items.push(item);
    active.add(fp);
    list.append(item.row);
    added += 1;
  }
  if (!added) return;
  batch.hidden = false;
  announce(`${added} file${added === 1 ? "" : "s"} added.`);
  renderUnfinished();
  updateBatch();
  pump();
}

function pump() {
  while (running < PARALLEL) {
    const next = items.find((item) => item.state === "waiting");
    if (!next) return;
    running += 1;
    next.run().finally(() => {
      running -= 1;
      renderUnfinished();
      pump();
    });
  }
}

/** Whether two sentences say the same, give or take articles, case and punctuation. */
function sameWords(a, b) {
  const words = (s) => s.toLowerCase().replace(/[^\p{L}\p{N}\s]/gu, " ").split(/\s+/)
    .filter((w) => w && !["the", "this", "a", "an"].includes(w)).join(" ");
  return words(a) === words(b);
}

function updateBatch() {
  const counted = items.filter((i) => ["waiting", "uploading", "done"].includes(i.state));
  const total = counted.reduce((sum, i) => sum + i.file.size, 0);
  const sent = counted.reduce((sum, i) => sum + (i.state === "done" ? i.file.size : i.sent), 0);
  const pct = total ? Math.floor((100 * sent) / total) : (counted.length ? 100 : 0);
  batchBar.value = pct;
  const count = (state) => items.filter((i) => i.state === state).length;
  // Of every file added but those cancelled: four files with one refused are "3 of 4".
  const considered = items.length - count("cancelled");
  const parts = [`${count("done")} of ${considered} uploaded`];
  if (total) parts.push(`${formatBytes(sent)} of ${formatBytes(total)} (${pct}%)`);
  for (const [state, word] of [["rejected", "rejected"], ["failed", "failed"], ["cancelled", "cancelled"]]) {
    const n = count(state);
    if (n) parts.push(`${n} ${word}`);
  }
  batchText.textContent = parts.join(" · ");
  const busy = count("waiting") + count("uploading");
  // Screen readers hear the batch at every quarter, not every percent.
  const quarter = Math.floor(pct / 25);
  if (busy && quarter > announcedQuarter && quarter < 4) announce(`Uploads ${quarter * 25}% done.`);
  announcedQuarter = busy ? Math.max(announcedQuarter, quarter) : -1;
  if (!busy && batch.dataset.busy === "1") announce(`All uploads finished: ${batchText.textContent}.`);
  batch.dataset.busy = busy ? "1" : "0";
}

const probed = new Map(); // fingerprint → what the server said about that upload

/** List the unfinished uploads remembered from earlier visits (not those running now), and
 * ask the server how far each one got: what it reports is where a resume will start. */
function renderUnfinished() {
  const entries = Object.entries(store.all()).filter(([fp]) => !active.has(fp));
  unfinishedList.replaceChildren();
  for (const [fp, entry] of entries) {
    const row = fromTemplate("unfinished-row");
    row.querySelector(".unfinished-name").textContent = String(entry.name);
    const detail = row.querySelector(".unfinished-detail");
    detail.textContent = probed.get(fp) || formatBytes(Number(entry.size));
    const discard = row.querySelector(".unfinished-discard");
    discard.setAttribute("aria-label", `Discard the unfinished upload of ${entry.name}`);
    discard.addEventListener("click", () => discardUnfinished([[fp, entry]]));
    unfinishedList.append(row);
    if (!probed.has(fp)) checkUnfinished(fp, entry);
  }
  unfinished.hidden = entries.length === 0;
}

async function checkUnfinished(fp, entry) {
  probed.set(fp, "");
  let text;
  try {
    const found = await probe(entry.url);
    if (found.gone || found.fileId) {
      // Expired on the server, or it did finish after all: nothing left to resume.
      store.remove(fp);
      probed.delete(fp);
      renderUnfinished();
      return;
    }
    const size = Number(entry.size) || found.length || 0;
    const pct = size ? Math.floor((100 * found.offset) / size) : 0;
    text = `${formatBytes(found.offset)} of ${formatBytes(size)} received (${pct}%)`;
  } catch {
    text = `${formatBytes(Number(entry.size))} · the server could not say how far it got`;
  }
  probed.set(fp, text);
  renderUnfinished();
}

async function discardUnfinished(entries) {
  for (const [fp, entry] of entries) {
    store.remove(fp);
    probed.delete(fp);
    if (typeof entry.url === "string") terminate(entry.url); // fire and forget
  }
  renderUnfinished();
  announce(entries.length === 1 ? "Unfinished upload discarded." : "Unfinished uploads discarded.");
  if (unfinished.hidden) input.focus();
}

// -- where files come from ---------------------------------------------------------------------

input.addEventListener("change", () => {
  addFiles(input.files);
  input.value = ""; // choosing the same file again must fire "change" again
});

let dragDepth = 0;
const carriesFiles = (event) => Array.from(event.dataTransfer?.types || []).includes("Files");

document.addEventListener("dragenter", (event) => {
  if (!carriesFiles(event)) return;
  event.preventDefault();
  dragDepth += 1;
  overlay.hidden = false;
});
document.addEventListener("dragover", (event) => {
  if (!carriesFiles(event)) return;
  event.preventDefault();
  event.dataTransfer.dropEffect = "copy";
  overlay.hidden = false;
});
document.addEventListener("dragleave", (event) => {
  if (!carriesFiles(event)) return;
  dragDepth = Math.max(0, dragDepth - 1);
  if (dragDepth === 0) overlay.hidden = true;
});
document.addEventListener("drop", (event) => {
  if (!event.dataTransfer) return;
  event.preventDefault();
  dragDepth = 0;
  overlay.hidden = true;
  addFiles(event.dataTransfer.files);
});

document.addEventListener("paste", (event) => {
  const files = event.clipboardData ? Array.from(event.clipboardData.files) : [];
  if (!files.length) return;
  event.preventDefault();
  addFiles(files);
});

document.getElementById("discard-all").addEventListener("click", () => {
  discardUnfinished(Object.entries(store.all()).filter(([fp]) => !active.has(fp)));
});

renderUnfinished();
