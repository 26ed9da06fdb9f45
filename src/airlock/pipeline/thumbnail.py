"""Thumbnails of accepted images, made with Pillow at commit time.

Only the raster types Airlock serves inline get one. The image has already passed the
pixel-flood check; decoding is still bounded here, because a thumbnail is a nicety and must never
cost a worker hundreds of megabytes: JPEGs are decoded at a reduced scale (``draft``), and other
images over ``MAX_DECODE_PIXELS`` get no thumbnail at all.
"""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Callable
from typing import BinaryIO

log = logging.getLogger("airlock.thumbnail")

SIZE = 256
MAX_DECODE_PIXELS = 24_000_000  # about 96 MiB decoded as RGBA
THUMBNAIL_MIME = "image/webp"
_SOURCES = {"image/png": "PNG", "image/jpeg": "JPEG", "image/gif": "GIF", "image/webp": "WEBP"}


def make_thumbnail(open_view: Callable[[], BinaryIO], mime: str) -> bytes | None:
    """A WebP at most ``SIZE`` pixels on its longer side, or None when the type has no
    thumbnails or the image cannot (or should not) be decoded."""
    fmt = _SOURCES.get(mime)
    if fmt is None:
        return None
    # Pillow is loaded with the first image: some 2 MiB that a worker never given one does
    # not hold.
    from PIL import Image

    try:
        with open_view() as view:
            return _shrink(view, fmt)
    except (OSError, ValueError, Image.DecompressionBombError, SyntaxError) as exc:
        # A File that passed every check but that Pillow cannot read gets no thumbnail.
        log.info("no thumbnail (%s): %s", mime, type(exc).__name__)
        return None


def _shrink(view: BinaryIO, fmt: str) -> bytes | None:
    from PIL import Image, ImageOps

    with warnings.catch_warnings():
        # Sizes were checked by the pixel-flood check and are bounded again below.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        img = Image.open(view, formats=[fmt])
    with img:
        if fmt == "JPEG":
            img.draft("RGB", (SIZE, SIZE))
        width, height = img.size
        if width * height > MAX_DECODE_PIXELS:
            return None
        img.seek(0)  # the first frame of an animation
        frame = ImageOps.exif_transpose(img) or img
        frame.thumbnail((SIZE, SIZE))
        if frame.mode not in ("RGB", "RGBA"):
            frame = frame.convert("RGBA" if "transparency" in frame.info or frame.mode in (
                "LA", "PA", "P") else "RGB")  # fmt: skip
        out = io.BytesIO()
        frame.save(out, "WEBP", quality=80, method=4)
        return out.getvalue()
