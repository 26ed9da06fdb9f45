// Direct uploads: the file goes from the browser straight to the object store with a presigned
// form POST, and the server then inspects it there. Same interface as TusUpload (start(),
// cancel(), onProgress, onStatus), so the upload page can use either. A presigned POST cannot
// resume: an interrupted upload starts over.

import { ApiError, api } from "./common.js";
import { Cancelled } from "./tus.js";

export class DirectUpload {
  constructor(file, options) {
    this.file = file;
    this.metadata = options.metadata || {};
    this.onProgress = options.onProgress || (() => {});
    this.onStatus = options.onStatus || (() => {});
    this.controller = new AbortController();
    this.xhr = null;
    this.cancelled = false;
  }

  async start() {
    this.onStatus("creating");
    const body = { name: this.file.name, size: this.file.size, visibility: this.metadata.visibility };
    if (this.metadata.expires_in) body.expires_in = parseInt(this.metadata.expires_in, 10);
    const presigned = await api("/api/v1/uploads/presign", {
      method: "POST", json: body, signal: this.controller.signal,
    });
    this.onStatus("uploading");
    await this._post(presigned);
    if (this.cancelled) throw new Cancelled();
    this.onStatus("checking");
    const file = await api(`/api/v1/uploads/${encodeURIComponent(presigned.upload_id)}/complete`, {
      method: "POST", signal: this.controller.signal,
    });
    return { fileId: file.id, resumedFrom: null };
  }

  /** Nothing to delete on the server: an upload never completed is removed by its gc. */
  async cancel() {
    if (this.cancelled) return;
    this.cancelled = true;
    this.controller.abort();
    if (this.xhr) this.xhr.abort();
  }

  _post(presigned) {
    return new Promise((resolve, reject) => {
      const form = new FormData();
      for (const [name, value] of Object.entries(presigned.fields)) form.append(name, value);
      form.append("file", this.file);
      const xhr = new XMLHttpRequest();
      this.xhr = xhr;
      xhr.open("POST", presigned.url);
      xhr.upload.addEventListener("progress", (event) => {
        this.onProgress(Math.min(event.loaded, this.file.size), this.file.size);
      });
      xhr.addEventListener("load", () => {
        this.xhr = null;
        if (xhr.status >= 200 && xhr.status < 300) return resolve();
        // The store's own refusal (an XML body): the policy or its expiry did not hold.
        return reject(new ApiError(xhr.status, "bad_request", "The storage refused the upload."));
      });
      const failed = () => {
        this.xhr = null;
        reject(this.cancelled ? new Cancelled() : new ApiError(0, "network"));
      };
      xhr.addEventListener("error", failed);
      xhr.addEventListener("abort", failed);
      xhr.addEventListener("timeout", failed);
      xhr.send(form);
    });
  }
}
