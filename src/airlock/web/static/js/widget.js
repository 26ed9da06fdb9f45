// Airlock's upload widget for a host app's page (the upload_widget macro of
// airlock/widget.html): choose or drop files; each goes to Airlock's tus endpoint with a
// progress bar, and goes on after a network failure or, for the same file, after a reload.
// No inline script or style: it runs under a CSP of `script-src 'self'; style-src 'self'`.
//
// Events, bubbling from the widget's element: "airlock:stored" (detail: {fileId, name}) and
// "airlock:rejected" (detail: {name, code, message}).

import { ApiError, describeError, formatBytes } from "./common.js";
import { TusUpload, UploadStore } from "./tus.js";

const STATUS = {
  creating: "Starting…",
  uploading: "Uploading…",
  resumed: "Resuming…",
  retrying: "Connection lost, retrying…",
  checking: "Checking…",
};

function row(list, file) {
  const item = document.createElement("li");
  item.className = "airlock-upload-item";
  const name = document.createElement("span");
  name.className = "airlock-upload-name";
  name.textContent = `${file.name} (${formatBytes(file.size)})`;
  const bar = document.createElement("progress");
  bar.max = Math.max(1, file.size);
  bar.value = 0;
  bar.setAttribute("aria-label", `Upload of ${file.name}`);
  const status = document.createElement("span");
  status.className = "airlock-upload-status";
  status.setAttribute("role", "status");
  item.append(name, bar, status);
  list.append(item);
  return { item, bar, status };
}

/** Make `root` (an element with data-airlock-upload) an upload widget. */
export function mount(root) {
  const endpoint = root.dataset.endpoint;
  const store = new UploadStore(root.dataset.owner || "host");
  const input = root.querySelector("input[type=file]");
  const list = root.querySelector(".airlock-upload-list");

  async function upload(file) {
    const { item, bar, status } = row(list, file);
    const task = new TusUpload(file, {
      endpoint,
      store,
      metadata: { filename: file.name, filetype: file.type, visibility: root.dataset.visibility },
      onProgress: (sent, total) => {
        bar.max = Math.max(1, total);
        bar.value = sent;
      },
      onStatus: (kind) => {
        status.textContent = STATUS[kind] || "";
      },
    });
    try {
      const { fileId } = await task.start();
      item.dataset.fileId = fileId;
      item.classList.add("airlock-upload-done");
      status.textContent = "Stored";
      root.dispatchEvent(new CustomEvent("airlock:stored", {
        bubbles: true, detail: { fileId, name: file.name },
      }));
    } catch (err) {
      item.classList.add("airlock-upload-failed");
      status.textContent = describeError(err);
      const code = err instanceof ApiError ? err.code : "network";
      root.dispatchEvent(new CustomEvent("airlock:rejected", {
        bubbles: true, detail: { name: file.name, code, message: status.textContent },
      }));
    }
  }

  const send = (files) => Array.from(files).forEach(upload);
  input.addEventListener("change", () => {
    send(input.files);
    input.value = "";
  });
  root.addEventListener("dragover", (event) => {
    event.preventDefault();
    root.classList.add("airlock-upload-over");
  });
  root.addEventListener("dragleave", () => root.classList.remove("airlock-upload-over"));
  root.addEventListener("drop", (event) => {
    event.preventDefault();
    root.classList.remove("airlock-upload-over");
    send(event.dataTransfer.files);
  });
}

document.querySelectorAll("[data-airlock-upload]").forEach(mount);
