// The admin page: storage, a bar chart of uploads and rejections per day (SVG built with
// createElementNS, no inline style), users (add, disable, quota), recent rejections and the
// quarantined Files (release).

import {
  ApiError, announce, api, describeError, el, formatBytes, formatDate, parseSize, reasonFor,
  setupDialog, showFormError,
} from "./common.js";

const DAYS = 14;
const SVG = "http://www.w3.org/2000/svg";

const root = document.getElementById("admin");
const defaultQuota = parseInt(root.dataset.defaultQuota || "0", 10) || 0;
const status = document.getElementById("admin-status");
const usersBody = document.querySelector("#users-table tbody");
const addForm = document.getElementById("add-user");
const quotaDialog = setupDialog(document.getElementById("quota-dialog"));
const quotaForm = document.getElementById("quota-form");
const quotaInput = document.getElementById("quota-input");

function handleAuth(err) {
  if (err instanceof ApiError && err.status === 401) {
    window.location.assign(`/login?next=${encodeURIComponent(window.location.pathname)}`);
    return true;
  }
  return false;
}

function quotaLabel(bytes) {
  if (bytes === null || bytes === undefined) {
    return defaultQuota ? `default (${formatBytes(defaultQuota)})` : "unlimited";
  }
  return formatBytes(bytes);
}

// -- users -------------------------------------------------------------------------------------

async function loadUsers() {
  try {
    const body = await api("/api/v1/admin/users");
    usersBody.replaceChildren(...body.users.map(userRow));
  } catch (err) {
    if (handleAuth(err)) return;
    status.textContent = `Users could not be loaded: ${describeError(err)}`;
  }
}

function userRow(user) {
  const row = el("tr", { "data-username": user.username });
  const disable = el("button", {
    type: "button", class: "button button-small action-disable",
    "aria-label": `${user.disabled ? "Enable" : "Disable"} ${user.username}`,
  }, user.disabled ? "Enable" : "Disable");
  disable.addEventListener("click", () => setDisabled(user, !user.disabled, disable));
  const quota = el("button", {
    type: "button", class: "button button-small action-quota",
    "aria-label": `Change the quota of ${user.username}`,
  }, "Quota…");
  quota.addEventListener("click", () => openQuota(user));
  const reset = el("button", {
    type: "button", class: "button button-small action-reset",
    "aria-label": `Reset the password of ${user.username}`,
  }, "Password…");
  reset.addEventListener("click", () => openReset(user));
  const remove = el("button", {
    type: "button", class: "button button-small button-danger action-delete",
    "aria-label": `Delete ${user.username}`,
  }, "Delete…");
  remove.addEventListener("click", () => openDelete(user));
  const used = user.quota_bytes
    ? `${formatBytes(user.used_bytes)} (${Math.round((100 * user.used_bytes) / user.quota_bytes)}%)`
    : formatBytes(user.used_bytes);
  row.append(
    el("th", { scope: "row", class: "cell-user" }, user.username),
    el("td", { "data-label": "Role" }, user.is_admin ? "Administrator" : "User"),
    el("td", { "data-label": "Status" },
      el("span", { class: `badge ${user.disabled ? "badge-disabled" : "badge-active"}` },
        user.disabled ? "Disabled" : "Active")),
    el("td", { "data-label": "Files" }, String(user.files ?? "—")),
    el("td", { "data-label": "Used" }, used),
    el("td", { "data-label": "Quota", class: "cell-quota" }, quotaLabel(user.quota_bytes)),
    el("td", { "data-label": "Since" }, formatDate(user.created_at)),
    el("td", { class: "cell-actions" }, el("div", { class: "actions" }, quota, reset, disable, remove)),
  );
  return row;
}

async function setDisabled(user, disabled, button) {
  button.disabled = true;
  try {
    await api(`/api/v1/admin/users/${encodeURIComponent(user.username)}`,
      { method: "PATCH", json: { disabled } });
    announce(`${user.username} is now ${disabled ? "disabled" : "enabled"}.`);
    await loadUsers();
    usersBody.querySelector(`tr[data-username="${CSS.escape(user.username)}"] .action-disable`)?.focus();
  } catch (err) {
    if (handleAuth(err)) return;
    button.disabled = false;
    announce(`Could not change ${user.username}: ${describeError(err)} ${err.message || ""}`, { assertive: true });
  }
}

// -- password reset and delete ------------------------------------------------------------------

const resetDialog = setupDialog(document.getElementById("reset-dialog"));
const resetForm = document.getElementById("reset-form");
const deleteDialog = setupDialog(document.getElementById("delete-user-dialog"));
const deleteForm = document.getElementById("delete-user-form");
let target = null;

function openReset(user) {
  target = user;
  resetDialog.querySelector(".dialog-username").textContent = user.username;
  resetForm.reset();
  showFormError(resetForm, "");
  resetDialog.showModal();
}

resetForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!target) return;
  const password = resetForm.elements.password.value;
  if (password.length < 8) {
    showFormError(resetForm, "The password needs at least 8 characters.");
    return;
  }
  try {
    await api(`/api/v1/admin/users/${encodeURIComponent(target.username)}`,
      { method: "PATCH", json: { password } });
    resetDialog.close("done");
    announce(`The password of ${target.username} is set; their browser sessions have ended.`);
  } catch (err) {
    if (handleAuth(err)) return;
    showFormError(resetForm, `${describeError(err)} ${err.message || ""}`.trim());
  }
});

function openDelete(user) {
  target = user;
  deleteDialog.querySelector(".dialog-username").textContent = user.username;
  deleteDialog.querySelector(".dialog-files").textContent =
    user.files === 1 ? "1 file" : `${user.files ?? 0} files`;
  deleteForm.reset();
  showFormError(deleteForm, "");
  deleteDialog.showModal();
}

deleteForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!target) return;
  if (document.getElementById("delete-user-confirm").value.trim() !== target.username) {
    showFormError(deleteForm, `Type ${target.username} to confirm.`);
    return;
  }
  try {
    await api(`/api/v1/admin/users/${encodeURIComponent(target.username)}`, { method: "DELETE" });
    deleteDialog.close("done");
    announce(`${target.username} and their files are deleted.`);
    await loadUsers();
    loadStats();
  } catch (err) {
    if (handleAuth(err)) return;
    showFormError(deleteForm, `${describeError(err)} ${err.message || ""}`.trim());
  }
});

let editing = null;

function openQuota(user) {
  editing = user;
  quotaDialog.querySelector(".dialog-username").textContent = user.username;
  quotaInput.value = user.quota_bytes ? String(user.quota_bytes) : "";
  showFormError(quotaForm, "");
  quotaDialog.showModal();
  quotaInput.select();
}

quotaForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!editing) return;
  const text = quotaInput.value.trim();
  const bytes = text ? parseSize(text) : null;
  if (text && bytes === null) {
    showFormError(quotaForm, "Write a size such as 500MB, 2GB or 1GiB, or leave it empty.");
    return;
  }
  try {
    await api(`/api/v1/admin/users/${encodeURIComponent(editing.username)}`,
      { method: "PATCH", json: { quota_bytes: bytes } });
    quotaDialog.close("done");
    announce(`Quota of ${editing.username} set to ${quotaLabel(bytes)}.`);
    await loadUsers();
  } catch (err) {
    if (handleAuth(err)) return;
    showFormError(quotaForm, `${describeError(err)} ${err.message || ""}`.trim());
  }
});

addForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const username = addForm.elements.username.value.trim();
  const password = addForm.elements.password.value;
  const quotaText = addForm.elements.quota.value.trim();
  const quota = quotaText ? parseSize(quotaText) : null;
  if (!username || !password) {
    showFormError(addForm, "Enter a user name and a password.");
    return;
  }
  if (quotaText && quota === null) {
    showFormError(addForm, "Write the quota as a size such as 500MB, 2GB or 1GiB, or leave it empty.");
    addForm.elements.quota.focus();
    return;
  }
  const body = { username, password, is_admin: addForm.elements.is_admin.checked };
  if (quota !== null) body.quota_bytes = quota;
  try {
    await api("/api/v1/admin/users", { method: "POST", json: body });
    addForm.reset();
    showFormError(addForm, "");
    announce(`User ${username} added.`);
    await loadUsers();
  } catch (err) {
    if (handleAuth(err)) return;
    showFormError(addForm, err instanceof ApiError && err.message ? err.message : describeError(err));
  }
});

// -- statistics --------------------------------------------------------------------------------

async function loadStats() {
  try {
    const stats = await api(`/api/v1/admin/stats?days=${DAYS}`);
    document.getElementById("stat-files").textContent = String(stats.storage.files);
    document.getElementById("stat-bytes").textContent = formatBytes(stats.storage.bytes);
    const uploads = stats.days.reduce((n, d) => n + d.uploads, 0);
    const rejections = stats.days.reduce((n, d) => n + d.rejections, 0);
    document.getElementById("stat-uploads").textContent = String(uploads);
    document.getElementById("stat-rejections").textContent = String(rejections);
    drawChart(stats.days, uploads, rejections);
    fillDays(stats.days);
    fillRejections(stats.recent_rejections || []);
  } catch (err) {
    if (handleAuth(err)) return;
    status.textContent = `Statistics could not be loaded: ${describeError(err)}`;
  }
}

function svg(tag, attrs = {}, text = null) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  if (text !== null) node.textContent = text;
  return node;
}

/** A round upper bound for the y axis (1, 2, 5, 10, 20, 50, …). */
function niceMax(value) {
  if (value <= 4) return 4;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * magnitude >= value) return step * magnitude;
  return 10 * magnitude;
}

function drawChart(days, uploads, rejections) {
  const width = 560;
  const height = 220;
  const pad = { top: 12, right: 8, bottom: 28, left: 34 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const top = niceMax(Math.max(1, ...days.map((d) => Math.max(d.uploads, d.rejections))));
  const chart = svg("svg", {
    viewBox: `0 0 ${width} ${height}`, class: "chart-svg", role: "img",
    "aria-labelledby": "chart-svg-title",
  });
  chart.append(svg("title", { id: "chart-svg-title" },
    `Over the last ${days.length} days: ${uploads} uploads and ${rejections} rejections.`));
  const y = (v) => pad.top + plotH - (v / top) * plotH;
  for (const tick of [0, top / 2, top]) {
    chart.append(svg("line", { x1: pad.left, x2: width - pad.right, y1: y(tick), y2: y(tick),
      class: tick === 0 ? "axis" : "grid" }));
    chart.append(svg("text", { x: pad.left - 6, y: y(tick) + 4, class: "tick tick-y" },
      String(Math.round(tick))));
  }
  const slot = plotW / Math.max(1, days.length);
  const barW = Math.max(2, Math.min(16, slot / 2 - 2));
  days.forEach((day, i) => {
    const x = pad.left + i * slot + slot / 2;
    const group = svg("g", { class: "day" });
    group.append(svg("title", {}, `${day.date}: ${day.uploads} uploads, ${day.rejections} rejections`));
    for (const [value, cls, dx] of [[day.uploads, "bar-uploads", -barW - 1], [day.rejections, "bar-rejections", 1]]) {
      const h = Math.max(0, (value / top) * plotH);
      group.append(svg("rect", { x: x + dx, y: y(value), width: barW, height: h, class: `bar ${cls}` }));
    }
    chart.append(group);
    const every = Math.ceil(days.length / 7);
    if (i % every === 0 || i === days.length - 1) {
      chart.append(svg("text", { x, y: height - 8, class: "tick tick-x" }, day.date.slice(5)));
    }
  });
  document.getElementById("chart").replaceChildren(chart);
}

function fillDays(days) {
  const body = document.querySelector("#days-table tbody");
  body.replaceChildren(...days.map((d) => el("tr", {},
    el("th", { scope: "row" }, d.date), el("td", {}, String(d.uploads)),
    el("td", {}, String(d.rejections)))));
}

function fillRejections(items) {
  const body = document.querySelector("#rejections-table tbody");
  body.replaceChildren(...items.map((r) => el("tr", {},
    el("td", { "data-label": "When" }, formatDate(r.at)),
    el("td", { "data-label": "User" }, r.username || "—"),
    el("td", { "data-label": "File", class: "cell-name" }, r.name || "—"),
    el("td", { "data-label": "Reason" },
      el("span", { class: "reason" }, reasonFor(r.code, r.message)),
      el("span", { class: "hint reason-code" }, ` ${r.code}`)))));
  document.getElementById("rejections-table").hidden = items.length === 0;
  document.getElementById("no-rejections").hidden = items.length > 0;
}

// -- quarantine --------------------------------------------------------------------------------

const quarantineTable = document.getElementById("quarantine-table");
const quarantineBody = quarantineTable.querySelector("tbody");
const moreQuarantine = document.getElementById("more-quarantine");
const releaseDialog = setupDialog(document.getElementById("release-dialog"));
const releaseForm = document.getElementById("release-form");
let quarantineCursor = null;

async function loadQuarantine({ more = false } = {}) {
  const query = more && quarantineCursor ? `?cursor=${encodeURIComponent(quarantineCursor)}` : "";
  try {
    const body = await api(`/api/v1/admin/quarantine${query}`);
    const rows = body.files.map(quarantineRow);
    if (more) quarantineBody.append(...rows);
    else quarantineBody.replaceChildren(...rows);
    quarantineCursor = body.next_cursor;
  } catch (err) {
    if (handleAuth(err)) return;
    status.textContent = `Quarantined files could not be loaded: ${describeError(err)}`;
    return;
  }
  const any = quarantineBody.children.length > 0;
  quarantineTable.hidden = !any;
  document.getElementById("no-quarantine").hidden = any;
  moreQuarantine.hidden = !quarantineCursor;
}

function quarantineRow(file) {
  const release = el("button", {
    type: "button", class: "button button-small action-release", "aria-label": `Release ${file.name}`,
  }, "Release…");
  release.addEventListener("click", () => openRelease(file));
  const quarantine = file.quarantine || {};
  return el("tr", { "data-file-id": file.id },
    el("th", { scope: "row", class: "cell-name" }, file.name),
    el("td", { "data-label": "Owner" }, file.owner),
    el("td", { "data-label": "Signature" }, el("span", { class: "reason-code" }, quarantine.reason || "—")),
    el("td", { "data-label": "Quarantined" }, quarantine.at ? formatDate(quarantine.at) : "—"),
    el("td", { class: "cell-actions" }, el("div", { class: "actions" }, release)));
}

let releasing = null;

function openRelease(file) {
  releasing = file;
  releaseDialog.querySelector(".dialog-filename").textContent = file.name;
  releaseDialog.querySelector(".dialog-signature").textContent = (file.quarantine || {}).reason || "—";
  showFormError(releaseForm, "");
  releaseDialog.showModal();
}

releaseForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!releasing) return;
  const file = releasing;
  try {
    await api(`/api/v1/admin/files/${encodeURIComponent(file.id)}/release`, { method: "POST" });
    releaseDialog.close("done");
    announce(`${file.name} released: it is served again.`);
    await loadQuarantine();
    (quarantineBody.querySelector(".action-release") || document.getElementById("quarantine-title")).focus();
  } catch (err) {
    if (handleAuth(err)) return;
    showFormError(releaseForm, `${describeError(err)} ${err.message || ""}`.trim());
  }
});

moreQuarantine.addEventListener("click", () => loadQuarantine({ more: true }));

loadStats();
loadUsers();
loadQuarantine();
