// The text preview of a share or public page: the first bytes of the file, shown as text.
const PREVIEW_BYTES = 256 * 1024;

const pre = document.getElementById("text-preview");
const note = document.getElementById("text-preview-note");

async function show() {
  try {
    const response = await fetch(pre.dataset.src, {
      headers: { Range: `bytes=0-${PREVIEW_BYTES - 1}` },
      credentials: "same-origin",
    });
    if (!response.ok) throw new Error(String(response.status));
    const bytes = await response.arrayBuffer();
    pre.textContent = new TextDecoder("utf-8", { fatal: false }).decode(bytes);
    const range = response.headers.get("Content-Range");
    const total = range ? parseInt(range.split("/")[1], 10) : bytes.byteLength;
    if (response.status === 206 && total > bytes.byteLength) {
      note.textContent = "Only the beginning of the file is shown. Download it to see all of it.";
      note.hidden = false;
    }
  } catch {
    pre.textContent = "The preview could not be loaded. The Download button still works.";
  }
}

if (pre && pre.dataset.src) show();
