"""Re-encoding accepted raster images (``AIRLOCK_IMAGE_REENCODE``): the image is decoded with
Pillow and written again from its pixels alone, so what rode along with them is gone: EXIF (GPS
positions, camera serials), text chunks and comments, XMP, and anything appended after the
image's end (the other half of a polyglot). The clean bytes are staged anew and become the File;
its size and SHA-256 then describe them.

Kept: the pixels, turned upright by their EXIF orientation first; the ICC colour profile (without
it colours shift); transparency, and an animation's frame timing and loop count. A JPEG that
needs no turning keeps its quantisation tables (``quality="keep"``), so it loses nearly nothing.

An image Pillow cannot decode is refused (``unsafe_content``): with re-encoding on, nothing is
stored that was not rewritten. Decoding holds one frame in memory, about 4 bytes per pixel, and
pixels were bounded by the pixel-flood check before this runs.
"""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Mapping
from typing import IO, Any

from airlock.errors import UnsafeContent
from airlock.pipeline.staging import Staged, StagedWrite
from airlock.storage.base import Staging

FORMATS = {
    "image/png": "PNG", "image/jpeg": "JPEG", "image/gif": "GIF", "image/webp": "WEBP",
    "image/bmp": "BMP", "image/tiff": "TIFF",
}  # fmt: skip
# What of an image's ``info`` survives: how to show the pixels, nothing about where they came from.
_KEPT_INFO = ("icc_profile", "transparency", "duration", "loop", "background", "disposal", "blend")
_SPOOL = 8 * 2**20  # clean images up to this size are built in memory, larger ones on disk
_CHUNK = 2**20


class Reencoder:
    """Rewrites staged raster images into fresh staged uploads on ``staging``."""

    def __init__(self, staging: Staging, max_file_size: int) -> None:
        self.staging = staging
        self.max_file_size = max_file_size

    @staticmethod
    def applies(mime: str) -> bool:
        """Whether images of type ``mime`` are re-encoded."""
        return mime in FORMATS

    def apply(self, staged: Staged, mime: str) -> Staged:
        """The clean image, staged anew; ``staged`` itself is left as it was (the caller
        discards it). ``UnsafeContent`` when Pillow cannot decode it, ``TooLarge`` when the
        clean image would exceed the file size limit."""
        from PIL import Image  # loaded with the first image, as for thumbnails

        with tempfile.SpooledTemporaryFile(_SPOOL) as clean:
            try:
                with staged.reader() as view:
                    _rewrite(view, FORMATS[mime], clean)
            except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError):
                raise UnsafeContent(
                    "The image could not be decoded, so it could not be re-encoded."
                ) from None
            clean.seek(0)
            with StagedWrite(self.staging, self.max_file_size, None) as out:
                while chunk := clean.read(_CHUNK):
                    out.write(chunk)
                return out.finish()


def _rewrite(view: IO[bytes], fmt: str, out: IO[bytes]) -> None:
    from PIL import ExifTags, Image, ImageOps

    with warnings.catch_warnings():
        # Pixels were bounded by the pixel-flood check against the operator's limit.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        img = Image.open(view, formats=[fmt])
        with img:
            img.load()
            options: dict[str, Any] = {"compression": "tiff_lzw"} if fmt == "TIFF" else {}
            if icc := img.info.get("icc_profile"):
                options["icc_profile"] = icc
            if getattr(img, "n_frames", 1) > 1:
                # Frame by frame from the source, one frame decoded at a time; the writer reads
                # each frame's ``info`` as it seeks, and is handed only the kept keys.
                img.info = _kept(img.info)
                img.save(out, fmt, save_all=True, **options)
                return
            turned = img.getexif().get(ExifTags.Base.Orientation, 1) != 1
            if fmt == "JPEG" and not turned:
                # The source's own tables and subsampling: re-encoding loses next to nothing.
                img.info = _kept(img.info)
                img.save(out, fmt, quality="keep", subsampling="keep", **options)
                return
            if fmt == "JPEG":
                options["quality"] = 95
            # A copy (which this is, turned or not) is a plain image: the format's own tag
            # stores (a TIFF's IPTC and XMP) stay behind with the source.
            frame = ImageOps.exif_transpose(img)
            frame.info = _kept(img.info)
            frame.save(out, fmt, **options)


def _kept(info: Mapping[str | tuple[int, int], Any]) -> dict[str | tuple[int, int], Any]:
    return {k: v for k, v in info.items() if k in _KEPT_INFO}
