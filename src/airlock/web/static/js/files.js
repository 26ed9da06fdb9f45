// My files: the list (search, pages), thumbnails, rename, public/private, share links, delete,
// and the storage used against the quota.

import {
  ApiError, announce, api, copyText, describeError, formatBytes, formatDate, fromTemplate,
  setupDialog, showFormError,
} from "./common.js";
import { openShare, pageUrl } from "./links.js";

const PAGE_SIZE = 20;
const STATIC = "/static/img/";

const rows = document.getElementById("file-rows");
const table = document.getElementById("files-table");
const empty = document.getElementById("empty");
const status = document.getElementById("list-status");
const search = document.getElementById("search");
const prevButton = document.getElementById("prev-page");
const nextButton = document.getElementById("next-page");
const pageLabel = document.getElementById("page-label");
const quotaText = document.getElementById("quota-text");
const quotaBar = document.getElementById("quota-bar");

const renameDialog = setupDialog(document.getElementById("rename-dialog"));
const deleteDialog = setupDialog(document.getElementById("delete-dialog"));

// The cursor of each page seen so far (the first page has none), and the next page's.
let cursors = [null];
let page = 0;
let nextCursor = null;
let query = "";
// /files?drop=ID: only the Files that arrived through that drop link.
const dropFilter = new URLSearchParams(window.location.search).get("drop");
let loading = null;

const KINDS = [
  [/^image\//, "image", "image"],
  [/^video\//, "video", "video"],
  [/^audio\//, "audio", "audio"],
  [/^application\/pdf$/, "pdf", "PDF"],
  [/^(text\/|application\/json)/, "text", "text"],
  [/(zip|gzip|tar|7z|rar)/, "archive", "archive"],
  [/(wordprocessing|spreadsheet|presentation|opendocument|msword|ms-excel)/, "doc", "document"],
];

function kindOf(mime) {
  for (const [re, kind, word] of KINDS) if (re.test(mime)) return { kind, word };
  return { kind: "file", word: "file" };
}

/** "PNG image", "PDF document", "MP4 video": the type in words a person reads. */
function typeLabel(file) {
  const { word } = kindOf(file.content_type);
  const ext = (/\.([A-Za-z0-9]{1,8})$/.exec(file.name) || [])[1];
  if (word === "PDF" || word === "text") return word === "text" ? "Text" : word;
  if (word === "file") return file.content_type;
  return ext ? `${ext.toUpperCase()} ${word}` : word;
}

function formatDay(text) {
  const date = new Date(text);
  if (Number.isNaN(date.getTime())) return text || "—";
  return date.toLocaleDateString(undefined, { dateStyle: "medium" });
}

function handleAuth(err) {
  if (err instanceof ApiError && err.status === 401) {
    const here = window.location.pathname + window.location.search;
    window.location.assign(`/login?next=${encodeURIComponent(here)}`);
    return true;
  }
  return false;
}

// -- the list ----------------------------------------------------------------------------------

async function load({ focusFirst = false } = {}) {
  const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (cursors[page]) params.set("cursor", cursors[page]);
  if (query) params.set("q", query);
  if (dropFilter) params.set("drop", dropFilter);
  if (loading) loading.abort();
  const controller = new AbortController();
  loading = controller;
  table.setAttribute("aria-busy", "true");
  try {
    const body = await api(`/api/v1/files?${params}`, { signal: controller.signal });
    nextCursor = body.next_cursor || null;
    render(body.files || []);
    if (focusFirst) rows.querySelector(".file-name")?.focus();
  } catch (err) {
    if (err && err.name === "AbortError") return;
    if (handleAuth(err)) return;
    status.textContent = `Your files could not be loaded: ${describeError(err)}`;
  } finally {
    if (loading === controller) {
      loading = null;
      table.removeAttribute("aria-busy");
    }
  }
}

function render(files) {
  rows.replaceChildren(...files.map(renderRow));
  showSelection();
  table.hidden = files.length === 0;
  empty.hidden = files.length > 0;
  if (!files.length) {
    empty.replaceChildren();
    if (query) {
      empty.textContent = `No file's name contains “${query}”.`;
    } else if (page > 0) {
      empty.textContent = "No more files.";
    } else {
      const link = document.createElement("a");
      link.href = "/upload";
      link.textContent = "Upload some";
      empty.append("You have no files yet. ", link, ".");
    }
  }
  prevButton.disabled = page === 0;
  nextButton.disabled = !nextCursor;
  pageLabel.textContent = page > 0 || nextCursor ? `Page ${page + 1}` : "";
  const shown = files.length === 1 ? "1 file" : `${files.length} files`;
  const through = dropFilter ? " that arrived through this drop link" : "";
  status.textContent = query ? `${shown}${through} matching “${query}” on this page.` : `${shown}${through} on this page.`;
}

function renderRow(file) {
  const row = fromTemplate("file-row");
  row.dataset.id = file.id;
  fillRow(row, file);
  const box = row.querySelector(".row-select");
  box.checked = selected.has(file.id);
  box.addEventListener("change", () => {
    if (box.checked) selected.set(file.id, file);
    else selected.delete(file.id);
    showSelection();
  });
  return row;
}

// -- bulk: select, share selected, delete selected ---------------------------------------------

const selected = new Map(); // id -> File, across pages
const bulkBar = document.getElementById("bulk-bar");
const selectAll = document.getElementById("select-all");
const bulkShareDialog = setupDialog(document.getElementById("bulk-share-dialog"));
const bulkShareForm = document.getElementById("bulk-share-form");
const bulkDeleteDialog = setupDialog(document.getElementById("bulk-delete-dialog"));
const bulkDeleteForm = document.getElementById("bulk-delete-form");

function countWords(n) {
  return n === 1 ? "1 file" : `${n} files`;
}

function showSelection() {
  const n = selected.size;
  bulkBar.hidden = n === 0;
  document.getElementById("bulk-count").textContent = `${countWords(n)} selected`;
  const boxes = [...rows.querySelectorAll(".row-select")];
  selectAll.checked = boxes.length > 0 && boxes.every((b) => b.checked);
  selectAll.indeterminate = !selectAll.checked && boxes.some((b) => b.checked);
}

selectAll.addEventListener("change", () => {
  for (const row of rows.children) {
    const box = row.querySelector(".row-select");
    box.checked = selectAll.checked;
    box.dispatchEvent(new Event("change"));
  }
});

document.getElementById("bulk-clear").addEventListener("click", () => {
  selected.clear();
  for (const box of rows.querySelectorAll(".row-select")) box.checked = false;
  showSelection();
  selectAll.focus();
});

document.getElementById("bulk-share").addEventListener("click", () => {
  for (const node of bulkShareDialog.querySelectorAll(".dialog-count")) {
    node.textContent = countWords(selected.size);
  }
  bulkShareForm.reset();
  document.getElementById("bulk-result").hidden = true;
  document.getElementById("bulk-create").hidden = false;
  showFormError(bulkShareForm, "");
  bulkShareDialog.showModal();
});

bulkShareForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const expiry = bulkShareForm.elements.expires_in.value;
  const body = { files: [...selected.keys()], expires_in: expiry ? parseInt(expiry, 10) : null };
  if (bulkShareForm.elements.password.value) body.password = bulkShareForm.elements.password.value;
  try {
    const link = await api("/api/v1/links", { method: "POST", json: body });
    const url = document.getElementById("bulk-url");
    url.value = pageUrl(link);
    document.getElementById("bulk-result").hidden = false;
    document.getElementById("bulk-create").hidden = true;
    url.select();
    url.focus();
    announce(`One link for ${countWords(link.files.length)} created.`);
  } catch (err) {
    if (handleAuth(err)) return;
    showFormError(bulkShareForm, describeError(err));
  }
});

document.getElementById("bulk-copy").addEventListener("click", async (event) => {
  const ok = await copyText(document.getElementById("bulk-url").value);
  event.currentTarget.textContent = ok ? "Copied" : "Press Ctrl+C";
  announce(ok ? "Copied to the clipboard." : "Copying failed; press Ctrl+C.");
});

document.getElementById("bulk-delete").addEventListener("click", () => {
  bulkDeleteDialog.querySelector(".dialog-count").textContent = countWords(selected.size);
  showFormError(bulkDeleteForm, "");
  bulkDeleteDialog.showModal();
});

bulkDeleteForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const failed = [];
  for (const [id, file] of [...selected]) {
    try {
      await api(`/api/v1/files/${encodeURIComponent(id)}`, { method: "DELETE" });
      selected.delete(id);
    } catch (err) {
      if (handleAuth(err)) return;
      failed.push(`${file.name}: ${describeError(err)}`);
    }
  }
  if (failed.length) {
    showFormError(bulkDeleteForm, `Not deleted: ${failed.join("; ")}`);
  } else {
    bulkDeleteDialog.close("done");
    announce("The selected files are deleted.");
  }
  loadQuota();
  await load();
  showSelection();
});

function fillRow(row, file) {
  const links = file.links || {};
  const { kind } = kindOf(file.content_type);
  const thumb = row.querySelector(".thumb");
  if (links.thumbnail) {
    thumb.src = links.thumbnail;
    thumb.classList.remove("thumb-icon");
  } else {
    thumb.src = `${STATIC}type-${kind}.svg`;
    thumb.classList.add("thumb-icon");
  }
  const name = row.querySelector(".file-name");
  name.textContent = file.name;
  name.href = links.content;
  name.target = "_blank";
  name.rel = "noopener";
  const expiry = row.querySelector(".file-expiry");
  expiry.textContent = [
    file.drop_id ? "Arrived through a drop link" : "",
    file.expires_at ? `Deleted after ${formatDate(file.expires_at)}` : "",
  ].filter(Boolean).join(" · ");
  if (file.quarantine) {
    // A rescan flagged it: its bytes are no longer served; say why instead of linking to them.
    name.removeAttribute("href");
    expiry.textContent = `Quarantined ${formatDate(file.quarantine.at)}: the malware scanner ` +
      `found ${file.quarantine.reason}. Its bytes are no longer served.`;
    expiry.classList.add("file-quarantined");
  }
  row.querySelector(".cell-size").textContent = formatBytes(file.size);
  const type = row.querySelector(".cell-type");
  type.textContent = typeLabel(file);
  type.title = file.content_type;
  const time = row.querySelector("time");
  time.dateTime = file.created_at;
  time.textContent = formatDay(file.created_at);
  time.title = formatDate(file.created_at);

  const visibility = row.querySelector(".cell-visibility");
  const badge = visibility.querySelector(".badge");
  badge.textContent = file.visibility === "public" ? "Public" : "Private";
  badge.className = `badge badge-${file.visibility}`;
  visibility.querySelector(".public-link")?.remove();
  if (file.visibility === "public") {
    const open = document.createElement("a");
    open.className = "public-link";
    open.href = `/public/${encodeURIComponent(file.id)}`;
    open.textContent = "Public page";
    open.setAttribute("aria-label", `Public page of ${file.name}`);
    visibility.append(open);
  }

  const download = row.querySelector(".action-download");
  download.href = `${links.content}?download=1`;
  download.setAttribute("aria-label", `Download ${file.name}`);
  const toggle = row.querySelector(".action-visibility");
  const makePublic = file.visibility !== "public";
  toggle.textContent = makePublic ? "Make public" : "Make private";
  toggle.setAttribute("aria-label", `${makePublic ? "Make public" : "Make private"}: ${file.name}`);
  toggle.onclick = () => changeVisibility(row, file, makePublic ? "public" : "private");
  const share = row.querySelector(".action-share");
  share.setAttribute("aria-label", `Share ${file.name}`);
  share.onclick = () => openShare(file);
  const rename = row.querySelector(".action-rename");
  rename.setAttribute("aria-label", `Rename ${file.name}`);
  rename.onclick = () => openRename(row, file);
  const del = row.querySelector(".action-delete");
  del.setAttribute("aria-label", `Delete ${file.name}`);
  del.onclick = () => openDelete(row, file);
}

async function changeVisibility(row, file, visibility) {
  const button = row.querySelector(".action-visibility");
  button.disabled = true;
  try {
    const updated = await api(`/api/v1/files/${encodeURIComponent(file.id)}`,
      { method: "PATCH", json: { visibility } });
    fillRow(row, updated);
    announce(`${updated.name} is now ${visibility}.`);
  } catch (err) {
    if (handleAuth(err)) return;
    announce(`Could not change ${file.name}: ${describeError(err)}`, { assertive: true });
  } finally {
    button.disabled = false;
    button.focus();
  }
}

// -- rename ------------------------------------------------------------------------------------

let renaming = null;
const renameForm = document.getElementById("rename-form");
const renameInput = document.getElementById("rename-input");

function openRename(row, file) {
  renaming = { row, file };
  renameInput.value = file.name;
  showFormError(renameForm, "");
  renameDialog.showModal();
  // Select the name without its extension, as file managers do.
  const dot = file.name.lastIndexOf(".");
  renameInput.setSelectionRange(0, dot > 0 ? dot : file.name.length);
}

renameForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!renaming) return;
  const { row, file } = renaming;
  const name = renameInput.value.trim();
  if (!name) {
    showFormError(renameForm, "Enter a name.");
    return;
  }
  try {
    const updated = await api(`/api/v1/files/${encodeURIComponent(file.id)}`,
      { method: "PATCH", json: { name } });
    fillRow(row, updated);
    renameDialog.close("done");
    announce(`Renamed to ${updated.name}.`);
  } catch (err) {
    if (handleAuth(err)) return;
    showFormError(renameForm, describeError(err) + (err.message && err.code !== "network" ? ` ${err.message}` : ""));
  }
});

// -- delete ------------------------------------------------------------------------------------

let deleting = null;
const deleteForm = document.getElementById("delete-form");

function openDelete(row, file) {
  deleting = { row, file };
  deleteDialog.querySelector(".dialog-filename").textContent = file.name;
  showFormError(deleteForm, "");
  deleteDialog.showModal();
}

deleteForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!deleting) return;
  const { row, file } = deleting;
  try {
    await api(`/api/v1/files/${encodeURIComponent(file.id)}`, { method: "DELETE" });
    deleteDialog.close("done");
    row.remove();
    announce(`${file.name} deleted.`);
    loadQuota();
    if (!rows.children.length) {
      if (page > 0) page -= 1;
      await load();
    }
    (rows.querySelector(".file-name") || search).focus();
  } catch (err) {
    if (handleAuth(err)) return;
    showFormError(deleteForm, describeError(err));
  }
});

// -- quota, search, pages ----------------------------------------------------------------------

async function loadQuota() {
  try {
    const me = await api("/api/v1/me");
    const used = me.used_bytes || 0;
    if (me.quota_bytes) {
      const pct = Math.min(100, Math.round((100 * used) / me.quota_bytes));
      quotaText.textContent = `${formatBytes(used)} of ${formatBytes(me.quota_bytes)} used (${pct}%)`;
      quotaBar.value = pct;
      quotaBar.hidden = false;
      quotaBar.classList.toggle("quota-high", pct >= 90);
    } else {
      quotaText.textContent = `${formatBytes(used)} used (no quota)`;
      quotaBar.hidden = true;
    }
  } catch (err) {
    if (handleAuth(err)) return;
    quotaText.textContent = "Your storage use could not be loaded.";
  }
}

let debounce = null;
search.addEventListener("input", () => {
  window.clearTimeout(debounce);
  debounce = window.setTimeout(() => {
    query = search.value.trim();
    cursors = [null];
    page = 0;
    load();
  }, 250);
});
document.getElementById("search-form").addEventListener("submit", (event) => {
  event.preventDefault();
  window.clearTimeout(debounce);
  query = search.value.trim();
  cursors = [null];
  page = 0;
  load();
});

nextButton.addEventListener("click", () => {
  if (!nextCursor) return;
  cursors[page + 1] = nextCursor;
  page += 1;
  load({ focusFirst: true });
});
prevButton.addEventListener("click", () => {
  if (page === 0) return;
  page -= 1;
  load({ focusFirst: true });
});

loadQuota();
load();
