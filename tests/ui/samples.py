"""Files for the browser tests: real images, text, and helpers that hand them to a page."""

from __future__ import annotations

import base64
import io
import random

from PIL import Image, ImageDraw
from playwright.sync_api import JSHandle, Page


def photo(width: int = 640, height: int = 420, seed: int = 1) -> bytes:
    """A colourful PNG (a gradient with a few shapes), so thumbnails and previews show."""
    rnd = random.Random(seed)
    top = tuple(rnd.randrange(40, 200) for _ in range(3))
    bottom = tuple(rnd.randrange(80, 255) for _ in range(3))
    img = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(img)
    for y in range(height):
        t = y / max(1, height - 1)
        draw.line([(0, y), (width, y)],
                  fill=tuple(int(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)))  # fmt: skip
    for _ in range(4):
        x, y = rnd.randrange(width), rnd.randrange(height)
        r = rnd.randrange(min(width, height) // 10, min(width, height) // 3)
        draw.ellipse([x - r, y - r, x + r, y + r],
                     fill=tuple(rnd.randrange(256) for _ in range(3)))  # fmt: skip
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def pdf() -> bytes:
    """A one-page PDF (the photo above, as Pillow writes it)."""
    buf = io.BytesIO()
    Image.open(io.BytesIO(photo(400, 300, seed=9))).save(buf, "PDF")
    return buf.getvalue()


_TEXT = b"abcdefghijklmnopqrstuvwxyz     \n"
_TEXT_TABLE = bytes(_TEXT[i % len(_TEXT)] for i in range(256))


def text(size: int, seed: int = 7) -> bytes:
    """``size`` bytes of plain ASCII text (random letters, spaces and line breaks)."""
    return random.Random(seed).randbytes(size).translate(_TEXT_TABLE)


HTML = b"<!doctype html><html><body><script>alert(1)</script></body></html>\n"


def data_transfer(page: Page, files: list[tuple[str, bytes, str]]) -> JSHandle:
    """A DataTransfer holding real File objects, made in the page (as a drag from the desktop
    would bring them)."""
    payload = [
        {"name": name, "b64": base64.b64encode(data).decode(), "type": mime}
        for name, data, mime in files
    ]
    return page.evaluate_handle(
        """(files) => {
            const dt = new DataTransfer();
            for (const f of files) {
                const bin = atob(f.b64);
                const bytes = new Uint8Array(bin.length);
                for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
                dt.items.add(new File([bytes], f.name, { type: f.type }));
            }
            return dt;
        }""",
        payload,
    )
