"""A realistic corpus of valid files of every type Airlock allows by default, made in code.

Everything is deterministic (seeded ``random.Random``) and made with what the project already
has: Pillow for images, ``zipfile`` for zip, OOXML and ODF packages, hand-written bytes for PDF,
MP3, MP4 and WebM. Nothing is downloaded.

``corpus()`` yields ``(filename, bytes)`` for every kind of file (a few random base64 texts
included); ``base64_texts(n)`` yields ``n`` distinct random base64 texts of 40 bytes to 64 KiB,
the text libmagic now and then mislabels (as ``application/vnd.hp-hpgl``, ``image/x-quicktime``
and the like).
"""

from __future__ import annotations

import base64
import io
import json
import random
import string
import struct
import textwrap
import zipfile
import zlib
from collections.abc import Callable, Iterator

from PIL import Image, ImageCms, ImageDraw
from PIL.PngImagePlugin import PngInfo

SEED = 0xA1_2C0C
Item = tuple[str, bytes]

# Deterministic zip timestamps (Office writes 1980-01-01; LibreOffice the save time).
_OFFICE_DATE = (1980, 1, 1, 0, 0, 0)
_SAVE_DATE = (2024, 3, 14, 9, 26, 53)


def corpus(seed: int = SEED) -> Iterator[Item]:
    """Every file of the corpus, named ``<kind>-<variant>.<ext>``; names are unique."""
    makers: tuple[Callable[[random.Random], Iterator[Item]], ...] = (
        pngs,
        jpegs,
        gifs,
        webps,
        pdfs,
        texts,
        csvs,
        markdowns,
        jsons,
        zips,
        docxs,
        xlsxs,
        pptxs,
        odts,
        odss,
        mp3s,
        mp4s,
        webms,
    )
    for i, make in enumerate(makers):
        yield from make(random.Random(seed * 100 + i))


def by_extension(items: Iterator[Item] | list[Item]) -> dict[str, list[Item]]:
    """The items grouped by their name's extension."""
    out: dict[str, list[Item]] = {}
    for name, data in items:
        out.setdefault(name.rpartition(".")[2], []).append((name, data))
    return out


# Base64 text ---------------------------------------------------------------------------------

_B64_MIN, _B64_MAX = 40, 64 * 1024


def base64_texts(n: int = 2500, seed: int = SEED) -> Iterator[Item]:
    """``n`` distinct random base64 texts, ``b64-NNNN-<style>-<size>.txt``, 40 bytes to 64 KiB
    (sizes log-uniform, so short and long ones alike), in the shapes people paste base64 in:
    one long line, MIME lines of 76, PEM lines of 64, ``base64`` tool lines of 76 with a final
    newline, URL-safe without padding; with and without a trailing newline and CRLF."""
    rng = random.Random(seed ^ 0xB64)
    seen: set[bytes] = set()
    i = 0
    while i < n:
        size = int(_B64_MIN * (_B64_MAX / _B64_MIN) ** rng.random())
        style, text = _base64_text(rng, size)
        if text in seen:
            continue
        seen.add(text)
        yield f"b64-{i:04d}-{style}-{len(text)}.txt", text
        i += 1


_B64_STYLES = ("line", "mime76", "pem64", "wrap76nl", "urlsafe", "crlf76", "wrap60")


def _base64_text(rng: random.Random, size: int) -> tuple[str, bytes]:
    style = rng.choice(_B64_STYLES)
    width = {"mime76": 76, "pem64": 64, "wrap76nl": 76, "crlf76": 76, "wrap60": 60}.get(style)
    eol = b"\r\n" if style == "crlf76" else b"\n"
    final = style == "wrap76nl" or (style != "line" and rng.random() < 0.5)
    # Raw bytes such that the text comes out at about ``size`` bytes (never below 40).
    per_char = 1 + (len(eol) / width if width else 0)
    raw = rng.randbytes(max(30, int(size / per_char * 3 / 4)))
    enc = (
        base64.urlsafe_b64encode(raw).rstrip(b"=") if style == "urlsafe" else base64.b64encode(raw)
    )

    def shaped(enc: bytes) -> bytes:
        body = eol.join(enc[j : j + width] for j in range(0, len(enc), width)) if width else enc
        return body + eol if final else body

    text = shaped(enc)
    while len(text) > _B64_MAX:  # keep within 64 KiB: drop whole 4-character groups
        enc = enc[:-4]
        text = shaped(enc)
    return style, text


# Images ----------------------------------------------------------------------------------------


def _picture(rng: random.Random, w: int, h: int, mode: str = "RGB") -> Image.Image:
    """A photo-ish picture: smooth gradients, a few shapes, some noise."""
    grad = Image.linear_gradient("L")
    r = grad.resize((w, h))
    g = grad.rotate(90).resize((w, h))
    b = Image.radial_gradient("L").resize((w, h))
    img = Image.merge("RGB", (r, g, b))
    draw = ImageDraw.Draw(img)
    for _ in range(rng.randint(1, 6)):
        x0, y0 = rng.randrange(w), rng.randrange(h)
        x1, y1 = min(w - 1, x0 + rng.randint(0, w // 2)), min(h - 1, y0 + rng.randint(0, h // 2))
        color = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)((x0, y0, x1, y1), fill=color)
    noise = Image.frombytes("RGB", (w, h), rng.randbytes(w * h * 3))
    img = Image.blend(img, noise, 0.15)
    if mode == "RGB":
        return img
    if mode == "RGBA":
        alpha = Image.linear_gradient("L").rotate(45).resize((w, h))
        img.putalpha(alpha)
        return img
    if mode == "P":
        return img.quantize(colors=rng.choice((2, 16, 64, 256)))
    return img.convert(mode)


def _srgb_icc() -> bytes:
    """An sRGB ICC profile by LittleCMS, with a fixed creation date (it writes the time now)."""
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return icc[:24] + struct.pack(">6H", 2024, 3, 14, 9, 26, 53) + icc[36:]


def _save(img: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    img.save(out, fmt, **params)
    return out.getvalue()


_SIZES = ((1, 1), (2, 3), (16, 16), (64, 48), (100, 100), (200, 150), (320, 240), (300, 400))


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def _png_by_hand(
    w: int,
    h: int,
    color_type: int,
    depth: int,
    pixel: Callable[[int, int], bytes],
    interlace: bool,
    extra: tuple[bytes, ...] = (),
) -> bytes:
    """A PNG written scanline by scanline (what Pillow cannot write: Adam7 interlacing, 16-bit
    RGB); filter 0 on every line."""
    passes = (
        (
            (0, 0, 8, 8),
            (4, 0, 8, 8),
            (0, 4, 4, 8),
            (2, 0, 4, 4),
            (0, 2, 2, 4),
            (1, 0, 2, 2),
            (0, 1, 1, 2),
        )
        if interlace
        else ((0, 0, 1, 1),)
    )
    raw = bytearray()
    for x0, y0, dx, dy in passes:
        xs = range(x0, w, dx)
        if not xs:
            continue
        for y in range(y0, h, dy):
            raw += b"\x00" + b"".join(pixel(x, y) for x in xs)
    ihdr = struct.pack(">IIBBBBB", w, h, depth, color_type, 0, 0, 1 if interlace else 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + b"".join(extra)
        + _png_chunk(b"IDAT", zlib.compress(bytes(raw), 9))
        + _png_chunk(b"IEND", b"")
    )


def pngs(rng: random.Random) -> Iterator[Item]:
    for w, h in _SIZES:
        yield f"png-rgb-{w}x{h}.png", _save(_picture(rng, w, h), "PNG")
    for w, h in ((1, 1), (48, 48), (256, 192)):
        yield f"png-rgba-{w}x{h}.png", _save(_picture(rng, w, h, "RGBA"), "PNG")
    for w, h in ((1, 1), (33, 17), (240, 180)):
        yield f"png-palette-{w}x{h}.png", _save(_picture(rng, w, h, "P"), "PNG", optimize=True)
    pal = _picture(rng, 64, 64, "P")
    yield "png-palette-transparent.png", _save(pal, "PNG", transparency=0)
    for w, h in ((1, 1), (128, 96)):
        yield f"png-gray-{w}x{h}.png", _save(_picture(rng, w, h, "L"), "PNG")
    yield "png-gray-alpha.png", _save(_picture(rng, 40, 30, "RGBA").convert("LA"), "PNG")
    yield "png-bilevel.png", _save(_picture(rng, 120, 80, "1"), "PNG")
    gray16 = _picture(rng, 90, 60, "L").point(lambda v: v * 257).convert("I;16")
    yield "png-gray-16bit.png", _save(gray16, "PNG")

    def rgb16(x: int, y: int) -> bytes:
        return struct.pack(">HHH", x * 65535 // 79, y * 65535 // 59, (x * y * 37) & 0xFFFF)

    yield "png-rgb-16bit.png", _png_by_hand(80, 60, 2, 16, rgb16, interlace=False)

    def rgb8(x: int, y: int) -> bytes:
        return bytes(((x * 5) & 0xFF, (y * 3) & 0xFF, ((x ^ y) * 7) & 0xFF))

    yield "png-rgb-interlaced.png", _png_by_hand(150, 100, 2, 8, rgb8, interlace=True)
    yield "png-rgb-interlaced-3x3.png", _png_by_hand(3, 3, 2, 8, rgb8, interlace=True)
    yield (
        "png-rgba16-interlaced.png",
        _png_by_hand(37, 29, 6, 16, lambda x, y: rgb16(x, y) + b"\xff\xff", interlace=True),
    )
    info = PngInfo()
    info.add_text("Title", "Corpus sample")
    info.add_text("Software", "Airlock tests")
    info.add_text("Comment", "zTXt: " + "compressed comment " * 20, zip=True)
    info.add_itxt("Description", "Unicode text: café, 日本語, 🚀", lang="en", tkey="Description")
    yield "png-text-chunks.png", _save(_picture(rng, 120, 90), "PNG", pnginfo=info, dpi=(300, 300))
    icc = _srgb_icc()
    yield "png-icc-profile.png", _save(_picture(rng, 64, 64), "PNG", icc_profile=icc)
    frames = [_picture(rng, 48, 48) for _ in range(4)]
    yield (
        "png-animated-apng.png",
        _save(frames[0], "PNG", save_all=True, append_images=frames[1:], duration=120, loop=0),
    )
    yield "png-uncompressed.png", _save(_picture(rng, 50, 40), "PNG", compress_level=0)


def _strip_jfif(jpeg: bytes) -> bytes:
    """The JPEG without its JFIF APP0 segment: how cameras write (SOI, then Exif APP1)."""
    out, i = bytearray(jpeg[:2]), 2
    while i < len(jpeg) and jpeg[i] == 0xFF and jpeg[i + 1] != 0xDA:
        length = struct.unpack(">H", jpeg[i + 2 : i + 4])[0]
        if jpeg[i + 1] != 0xE0:
            out += jpeg[i : i + 2 + length]
        i += 2 + length
    return bytes(out + jpeg[i:])


def jpegs(rng: random.Random) -> Iterator[Item]:
    for (w, h), q in zip(_SIZES, (75, 90, 50, 85, 95, 70, 80, 60), strict=True):
        ext = "jpeg" if q % 10 == 5 else "jpg"
        yield f"jpeg-baseline-{w}x{h}-q{q}.{ext}", _save(_picture(rng, w, h), "JPEG", quality=q)
    for w, h in ((64, 64), (320, 200)):
        yield (
            f"jpeg-progressive-{w}x{h}.jpg",
            _save(_picture(rng, w, h), "JPEG", progressive=True, optimize=True, quality=85),
        )
    for w, h in ((1, 1), (160, 120)):
        yield f"jpeg-gray-{w}x{h}.jpg", _save(_picture(rng, w, h, "L"), "JPEG")
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    exif[0x0110] = "Canon EOS 5D Mark IV"
    exif[0x0112] = 6  # orientation: rotate 90
    exif[0x0131] = "Firmware 1.0.4"
    exif[0x0132] = "2024:03:14 09:26:53"
    photo = _picture(rng, 240, 160)
    with_exif = _save(photo, "JPEG", exif=exif.tobytes(), quality=92)
    yield "jpeg-exif-jfif.jpg", with_exif
    yield "jpeg-exif-camera.jpg", _strip_jfif(with_exif)  # SOI then APP1 "Exif"
    yield (
        "jpeg-exif-camera-progressive.jpeg",
        _strip_jfif(_save(_picture(rng, 200, 300), "JPEG", exif=exif.tobytes(), progressive=True)),
    )
    yield "jpeg-cmyk.jpg", _save(_picture(rng, 80, 60).convert("CMYK"), "JPEG")
    yield "jpeg-444.jpg", _save(_picture(rng, 90, 90), "JPEG", subsampling=0, quality=97)
    icc = _srgb_icc()
    yield "jpeg-icc.jpg", _save(_picture(rng, 100, 75), "JPEG", icc_profile=icc, dpi=(72, 72))
    yield "jpeg-comment.jpg", _save(_picture(rng, 50, 50), "JPEG", comment=b"made by Airlock tests")
    yield "jpeg-restart-markers.jpg", _save(_picture(rng, 128, 128), "JPEG", restart_marker_rows=2)


def gifs(rng: random.Random) -> Iterator[Item]:
    for w, h in ((1, 1), (16, 16), (120, 80), (300, 200)):
        yield f"gif-static-{w}x{h}.gif", _save(_picture(rng, w, h, "P"), "GIF")
    yield "gif-gray.gif", _save(_picture(rng, 60, 60, "L"), "GIF")
    yield "gif-transparent.gif", _save(_picture(rng, 64, 64, "P"), "GIF", transparency=0)
    yield "gif-comment.gif", _save(_picture(rng, 32, 32, "P"), "GIF", comment=b"corpus")
    for n, (w, h) in ((3, (32, 32)), (8, (100, 60))):
        frames = [_picture(rng, w, h, "P") for _ in range(n)]
        yield (
            f"gif-animated-{n}frames.gif",
            _save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=80, loop=0),
        )
    frames = [_picture(rng, 40, 40, "P") for _ in range(2)]
    yield (
        "gif-animated-once.gif",
        _save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=500),
    )


def webps(rng: random.Random) -> Iterator[Item]:
    for (w, h), q in (((1, 1), 80), ((64, 48), 50), ((320, 240), 90), ((200, 300), 75)):
        yield f"webp-lossy-{w}x{h}.webp", _save(_picture(rng, w, h), "WEBP", quality=q)
    for w, h in ((1, 1), (100, 100), (256, 128)):
        yield f"webp-lossless-{w}x{h}.webp", _save(_picture(rng, w, h), "WEBP", lossless=True)
    yield "webp-lossy-alpha.webp", _save(_picture(rng, 80, 80, "RGBA"), "WEBP", quality=80)
    yield "webp-lossless-alpha.webp", _save(_picture(rng, 80, 60, "RGBA"), "WEBP", lossless=True)
    exif = Image.Exif()
    exif[0x0110] = "Pixel 8"
    yield "webp-exif.webp", _save(_picture(rng, 120, 90), "WEBP", exif=exif.tobytes())
    for lossless in (False, True):
        frames = [_picture(rng, 48, 48) for _ in range(4)]
        yield (
            f"webp-animated-{'lossless' if lossless else 'lossy'}.webp",
            _save(
                frames[0],
                "WEBP",
                save_all=True,
                append_images=frames[1:],
                duration=100,
                loop=0,
                lossless=lossless,
            ),
        )


# PDF -------------------------------------------------------------------------------------------


def _stream(data: bytes, compress: bool, extra: bytes = b"") -> bytes:
    if compress:
        data = zlib.compress(data)
        extra += b" /Filter /FlateDecode"
    return b"<< /Length %d%s >>\nstream\n%s\nendstream" % (len(data), extra, data)


def _pdf(
    objects: list[bytes],
    version: str,
    binary: bool = True,
    info: bytes | None = None,
    eol: bytes = b"\n",
    xref_stream: bool = False,
) -> bytes:
    """A PDF whose object 1 is the catalog; the xref table (or stream) has the real offsets."""
    out = bytearray(b"%PDF-" + version.encode() + eol)
    if binary:
        out += b"%\xe2\xe3\xcf\xd3" + eol
    if info is not None:
        objects = [*objects, info]
    offsets = []
    for num, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj" % num + eol + body + eol + b"endobj" + eol
    file_id = b"<" + zlib.crc32(bytes(out)).to_bytes(4, "big").hex().encode() * 4 + b">"
    info_ref = b" /Info %d 0 R" % len(objects) if info is not None else b""
    size = len(objects) + 1
    if xref_stream:
        num = size
        offsets.append(len(out))
        rows = b"\x00" + b"\x00\x00\x00\x00" + b"\xff\xff"
        rows += b"".join(b"\x01" + o.to_bytes(4, "big") + b"\x00\x00" for o in offsets)
        body = _stream(
            rows,
            True,
            b" /Type /XRef /Size %d /W [1 4 2] /Root 1 0 R%s /ID [%s %s]"
            % (num + 1, info_ref, file_id, file_id),
        )
        out += b"%d 0 obj" % num + eol + body + eol + b"endobj" + eol
        start = offsets[-1]
    else:
        start = len(out)
        out += b"xref" + eol + b"0 %d" % size + eol + b"0000000000 65535 f\r\n"
        out += b"".join(b"%010d 00000 n\r\n" % o for o in offsets)
        out += (
            b"trailer"
            + eol
            + b"<< /Size %d /Root 1 0 R%s /ID [%s %s] >>" % (size, info_ref, file_id, file_id)
            + eol
        )
    out += b"startxref" + eol + b"%d" % start + eol + b"%%EOF" + eol
    return bytes(out)


def _pdf_text(s: str) -> bytes:
    return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)").encode("latin-1")


def _pdf_document(
    rng: random.Random,
    pages: int,
    compress: bool,
    image: bytes | None = None,
    width: int = 612,
    height: int = 792,
) -> list[bytes]:
    """Catalog, page tree, font, then per page a page and its content stream."""
    first_page = 4 if image is None else 5
    kids = b" ".join(b"%d 0 R" % (first_page + 2 * p) for p in range(pages))
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, pages),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    xobj = b""
    if image is not None:
        with Image.open(io.BytesIO(image)) as im:
            iw, ih = im.size
        objs.append(
            _stream(
                image,
                False,
                b" /Type /XObject /Subtype /Image /Width %d /Height %d"
                b" /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode" % (iw, ih),
            )
        )
        xobj = b" /XObject << /Im1 4 0 R >>"
    for p in range(pages):
        lines = [f"Page {p + 1} of {pages}"] + [_sentence(rng) for _ in range(rng.randint(3, 25))]
        ops = [b"BT /F1 18 Tf 72 %d Td (%s) Tj ET" % (height - 72, _pdf_text(lines[0]))]
        ops.append(b"BT /F1 11 Tf 14 TL 72 %d Td" % (height - 110))
        ops += [b"(%s) '" % _pdf_text(t[:90]) for t in lines[1:]]
        ops.append(b"ET")
        ops.append(b"0.2 0.4 0.8 rg 72 60 %d 4 re f" % (width - 144))
        if image is not None:
            ops.append(b"q 200 0 0 150 72 300 cm /Im1 Do Q")
        content = b"\n".join(ops)
        page = (
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Contents %d 0 R"
            b" /Resources << /Font << /F1 3 0 R >>%s >> >>"
            % (width, height, first_page + 2 * p + 1, xobj)
        )
        objs += [page, _stream(content, compress)]
    return objs


_INFO = (
    b"<< /Title (Quarterly report) /Author (Airlock tests) /Producer (hand-written)"
    b" /CreationDate (D:20240314092653Z) >>"
)


def pdfs(rng: random.Random) -> Iterator[Item]:
    yield "pdf-1.4-one-page.pdf", _pdf(_pdf_document(rng, 1, False), "1.4", binary=False)
    yield "pdf-1.4-binary-comment.pdf", _pdf(_pdf_document(rng, 1, False), "1.4")
    yield "pdf-1.4-flate.pdf", _pdf(_pdf_document(rng, 1, True), "1.4", info=_INFO)
    yield "pdf-1.7-flate.pdf", _pdf(_pdf_document(rng, 2, True), "1.7")
    yield "pdf-1.7-multipage.pdf", _pdf(_pdf_document(rng, 12, True), "1.7", info=_INFO)
    yield "pdf-1.3-plain-multipage.pdf", _pdf(_pdf_document(rng, 3, False), "1.3", binary=False)
    yield "pdf-1.6-crlf.pdf", _pdf(_pdf_document(rng, 2, True), "1.6", eol=b"\r\n")
    yield "pdf-1.5-xref-stream.pdf", _pdf(_pdf_document(rng, 2, True), "1.5", xref_stream=True)
    yield "pdf-2.0.pdf", _pdf(_pdf_document(rng, 1, True), "2.0", info=_INFO)
    photo = _save(_picture(rng, 200, 150), "JPEG", quality=80)
    yield "pdf-1.4-scanned-image.pdf", _pdf(_pdf_document(rng, 1, True, image=photo), "1.4")
    yield "pdf-a4-landscape.pdf", _pdf(_pdf_document(rng, 1, True, width=842, height=595), "1.7")


# Text ------------------------------------------------------------------------------------------

_WORDS = [
    "the",
    "of",
    "and",
    "to",
    "in",
    "is",
    "it",
    "that",
    "for",
    "on",
    "with",
    "as",
    "was",
    "at",
    "by",
    "be",
    "this",
    "from",
    "or",
    "an",
    "are",
    "have",
    "not",
    "but",
    "what",
    "all",
    "were",
    "when",
    "we",
    "there",
    "can",
    "more",
    "if",
    "no",
    "out",
    "so",
    "said",
    "each",
    "which",
    "do",
    "their",
    "time",
    "will",
    "way",
    "about",
    "many",
    "then",
    "them",
    "write",
    "would",
    "like",
    "these",
    "her",
    "long",
    "make",
    "thing",
    "see",
    "him",
    "two",
    "has",
    "look",
    "day",
    "could",
    "people",
    "number",
    "water",
    "find",
    "first",
    "over",
    "year",
    "upload",
    "file",
    "server",
    "report",
    "meeting",
    "budget",
    "quarter",
    "network",
    "secure",
    "storage",
    "customer",
    "invoice",
    "project",
    "schedule",
    "review",
    "release",
    "version",
    "deadline",
    "summary",
    "analysis",
    "result",
    "measure",
    "system",
    "process",
    "account",
    "payment",
    "shipping",
    "order",
    "address",
    "contract",
    "policy",
    "service",
    "support",
    "request",
    "response",
    "change",
    "update",
    "delivery",
    "team",
]


def _sentence(rng: random.Random, n: int | None = None) -> str:
    words = [rng.choice(_WORDS) for _ in range(n or rng.randint(5, 18))]
    return " ".join(words).capitalize() + rng.choice(".....?!")


def _prose(rng: random.Random, paragraphs: int, width: int = 72) -> str:
    paras = [" ".join(_sentence(rng) for _ in range(rng.randint(2, 7))) for _ in range(paragraphs)]
    return "\n\n".join(textwrap.fill(p, width) for p in paras) + "\n"


_ACCENTED = (
    "café",
    "naïve",
    "über",
    "façade",
    "Ångström",
    "smörgåsbord",
    "jalapeño",
    "crème",
    "brûlée",
    "Zürich",
    "São Paulo",
    "Kraków",
    "Øresund",
    "İstanbul",
    "Dvořák",
)
_CJK = (
    "日本語のテキスト",
    "中文文本测试",
    "한국어 텍스트",
    "東京都",
    "上海市",
    "ファイル",
    "文件上传",
)
_EMOJI = ("🚀", "📁", "✅", "🙂", "🎉", "🔒", "👍🏽", "🇫🇷", "❤️", "👩‍💻")


def _unicode_prose(rng: random.Random, pool: tuple[str, ...], lines: int) -> str:
    out = []
    for _ in range(lines):
        words = [
            rng.choice(pool) if rng.random() < 0.35 else rng.choice(_WORDS)
            for _ in range(rng.randint(4, 14))
        ]
        out.append(" ".join(words))
    return "\n".join(out) + "\n"


_C_SOURCE = """\
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Count the lines of a file. */
static long count_lines(FILE *fp)
{
    long n = 0;
    int c;
    while ((c = fgetc(fp)) != EOF)
        if (c == '\\n')
            n++;
    return n;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE\\n", argv[0]);
        return EXIT_FAILURE;
    }
    FILE *fp = fopen(argv[1], "r");
    if (!fp) {
        perror("fopen");
        return EXIT_FAILURE;
    }
    printf("%ld\\n", count_lines(fp));
    fclose(fp);
    return 0;
}
"""

_PY_SOURCE = '''\
import json
import sys
from pathlib import Path


def load(path: Path) -> dict:
    """Read one settings file."""
    with path.open(encoding="utf-8") as fp:
        return json.load(fp)


class Report:
    def __init__(self, rows):
        self.rows = list(rows)

    def total(self):
        return sum(r["amount"] for r in self.rows)


if __name__ == "__main__":
    data = load(Path(sys.argv[1]))
    print(Report(data["rows"]).total())
'''

_SH_SOURCE = """\
#!/bin/sh
# Rotate the logs and keep the last seven.
set -eu
cd /var/log/app
for i in 6 5 4 3 2 1; do
    [ -f "app.log.$i" ] && mv "app.log.$i" "app.log.$((i + 1))"
done
mv app.log app.log.1
kill -HUP "$(cat /run/app.pid)"
"""

_JS_SOURCE = """\
'use strict';

const fs = require('fs');

function parse(text) {
  return text.split('\\n').filter(Boolean).map((line) => JSON.parse(line));
}

module.exports = { parse };

if (require.main === module) {
  const rows = parse(fs.readFileSync(process.argv[2], 'utf8'));
  console.log(`${rows.length} rows`);
}
"""

_JAVA_SOURCE = """\
package com.example.upload;

import java.util.ArrayList;
import java.util.List;

public class Batch {
    private final List<String> names = new ArrayList<>();

    public void add(String name) {
        names.add(name);
    }

    public int size() {
        return names.size();
    }

    public static void main(String[] args) {
        Batch b = new Batch();
        for (String a : args) {
            b.add(a);
        }
        System.out.println(b.size());
    }
}
"""

_SQL_SOURCE = """\
-- Monthly totals per customer
SELECT c.name, date_trunc('month', o.created_at) AS month, SUM(o.amount) AS total
FROM customers c
JOIN orders o ON o.customer_id = c.id
WHERE o.created_at >= '2024-01-01'
GROUP BY c.name, month
ORDER BY month, total DESC;
"""

_EMAIL = """\
From: Alice Example <alice@example.com>
To: Bob Example <bob@example.org>
Subject: Re: the quarterly report
Date: Thu, 14 Mar 2024 09:26:53 +0100
Message-ID: <20240314092653.1234@example.com>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Hi Bob,

Attached are the numbers we discussed.

Alice
"""

_DIFF = """\
diff --git a/src/report.py b/src/report.py
index 3b18e51..a9c0f2d 100644
--- a/src/report.py
+++ b/src/report.py
@@ -10,7 +10,7 @@ class Report:
     def total(self):
-        return sum(r["amount"] for r in self.rows)
+        return sum(r.get("amount", 0) for r in self.rows)
"""

_TEX = r"""\documentclass{article}
\usepackage[utf8]{inputenc}
\title{Quarterly report}
\begin{document}
\maketitle
\section{Summary}
Revenue grew by 4\,\% over the quarter.
\end{document}
"""

_INI = """\
; Settings of the importer
[database]
host = db.internal
port = 5432
name = reports

[upload]
max_size = 100MB
allowed = png, jpg, pdf
"""


_MAKEFILE = """\
CC = gcc
CFLAGS = -O2 -Wall

all: app

app: main.o util.o
\t$(CC) $(CFLAGS) -o $@ $^

clean:
\trm -f *.o app
"""

_GO_SOURCE = """\
package main

import (
\t"fmt"
\t"os"
)

func main() {
\tfmt.Println(len(os.Args))
}
"""

_CSHARP_SOURCE = """\
using System;

namespace Upload
{
    class Program
    {
        static void Main(string[] args)
        {
            Console.WriteLine(args.Length);
        }
    }
}
"""

_SRT = """\
1
00:00:01,000 --> 00:00:04,000
Hello there.

2
00:00:05,000 --> 00:00:08,500
The upload finished.
"""

_YAML = """\
---
name: airlock
version: 0.1.0
storage:
  kind: s3
  bucket: uploads
allowed:
  - png
  - pdf
"""


def _wrapped_b64(rng: random.Random, size: int, width: int = 64) -> str:
    enc = base64.b64encode(rng.randbytes(size)).decode()
    return "\n".join(enc[i : i + width] for i in range(0, len(enc), width))


def _log_lines(rng: random.Random, n: int) -> str:
    levels = ("INFO", "INFO", "INFO", "DEBUG", "WARNING", "ERROR")
    out = []
    for i in range(n):
        ts = f"2024-03-14T09:{(i // 60) % 60:02d}:{i % 60:02d}.{rng.randrange(1000):03d}Z"
        out.append(
            f"{ts} {rng.choice(levels):7} airlock.web pid={rng.randint(100, 9999)} "
            f"request_id={rng.getrandbits(64):016x} {_sentence(rng)}"
        )
    return "\n".join(out) + "\n"


def _access_log(rng: random.Random, n: int) -> str:
    paths = ("/", "/api/v1/files", "/static/app.js", "/login", "/api/v1/files/abc/content")
    out = []
    for i in range(n):
        ip = ".".join(str(rng.randrange(1, 255)) for _ in range(4))
        out.append(
            f"{ip} - - [14/Mar/2024:09:{i // 60 % 60:02d}:{i % 60:02d} +0000] "
            f'"{rng.choice(("GET", "POST"))} {rng.choice(paths)} HTTP/1.1" '
            f'{rng.choice((200, 201, 304, 404))} {rng.randrange(50000)} "-" '
            f'"Mozilla/5.0 (X11; Linux x86_64)"'
        )
    return "\n".join(out) + "\n"


def _hexdump(data: bytes, style: str) -> str:
    out = []
    for off in range(0, len(data), 16):
        row = data[off : off + 16]
        hexes = " ".join(f"{b:02x}" for b in row)
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in row)
        if style == "xxd":
            pairs = " ".join(row[j : j + 2].hex() for j in range(0, len(row), 2))
            out.append(f"{off:08x}: {pairs:<39}  {text}")
        else:
            out.append(f"{off:08x}  {hexes:<47}  |{text}|")
    return "\n".join(out) + "\n"


def texts(rng: random.Random) -> Iterator[Item]:
    for n in (1, 3, 12, 60):
        yield f"txt-prose-{n}p.txt", _prose(rng, n).encode()
    yield "txt-prose-wide.txt", _prose(rng, 20, width=120).encode()
    yield "txt-prose-unwrapped.txt", "\n\n".join(_sentence(rng) * 8 for _ in range(10)).encode()
    yield "txt-short-word.txt", b"hello\n"
    yield "txt-one-line-no-newline.txt", _sentence(rng).encode()
    yield "txt-single-char.txt", b"x"
    yield "txt-whitespace-and-text.txt", b"   \n\n\t\t  \n    hello  there  \n\n\t\n   \n"
    yield "txt-leading-blank-lines.txt", b"\n" * 40 + _prose(rng, 2).encode()
    yield "txt-utf8-accents.txt", _unicode_prose(rng, _ACCENTED, 30).encode()
    yield "txt-utf8-cjk.txt", _unicode_prose(rng, _CJK, 30).encode()
    yield "txt-utf8-cjk-only.txt", ("".join(rng.choice(_CJK) for _ in range(200)) + "\n").encode()
    yield "txt-utf8-emoji.txt", _unicode_prose(rng, _EMOJI, 30).encode()
    yield "txt-utf8-mixed.txt", _unicode_prose(rng, _ACCENTED + _CJK + _EMOJI, 80).encode()
    yield (
        "txt-utf8-greek-cyrillic.txt",
        (
            "Καλημέρα κόσμε. Привет, мир! Съешь же ещё этих мягких французских булок.\n" * 20
        ).encode(),
    )
    yield "txt-utf8-bom.txt", b"\xef\xbb\xbf" + _prose(rng, 3).encode()
    yield "txt-utf8-bom-accents.txt", b"\xef\xbb\xbf" + _unicode_prose(rng, _ACCENTED, 10).encode()
    yield "txt-latin1.txt", _unicode_prose(rng, _ACCENTED[:8], 20).encode("latin-1")
    yield "txt-windows-crlf.txt", _prose(rng, 5).replace("\n", "\r\n").encode()
    yield (
        "txt-windows-crlf-bom.txt",
        b"\xef\xbb\xbf" + _prose(rng, 2).replace("\n", "\r\n").encode(),
    )
    yield "txt-old-mac-cr.txt", _prose(rng, 3).replace("\n", "\r").encode()
    yield (
        "txt-tabs.txt",
        "\n".join("\t".join(rng.choice(_WORDS) for _ in range(6)) for _ in range(40)).encode()
        + b"\n",
    )
    yield "txt-long-line-10k.txt", (" ".join(rng.choice(_WORDS) for _ in range(2000))).encode()
    yield (
        "txt-long-line-100k.txt",
        (" ".join(rng.choice(_WORDS) for _ in range(20000)) + "\n").encode(),
    )
    yield "txt-large-300k.txt", _prose(rng, 700).encode()
    yield "txt-source-c.txt", _C_SOURCE.encode()
    yield "txt-source-python.txt", _PY_SOURCE.encode()
    yield "txt-source-java.txt", _JAVA_SOURCE.encode()
    yield "txt-source-sql.txt", _SQL_SOURCE.encode()
    yield "txt-email.txt", _EMAIL.encode()
    yield "txt-diff.txt", _DIFF.encode()
    yield "txt-latex.txt", _TEX.encode()
    yield "txt-ini.txt", _INI.encode()
    yield "txt-yaml.txt", _YAML.encode()
    yield "txt-makefile.txt", _MAKEFILE.encode()
    yield "txt-source-go.txt", _GO_SOURCE.encode()
    yield "txt-source-csharp.txt", _CSHARP_SOURCE.encode()
    yield "txt-subtitles-srt.txt", _SRT.encode()
    yield "txt-playlist-m3u.txt", b"#EXTM3U\n#EXTINF:215,Artist - Title\nmusic/title.mp3\n"
    yield (
        "txt-json-lines.txt",
        "".join(
            json.dumps({"n": i, "word": rng.choice(_WORDS)}) + "\n" for i in range(50)
        ).encode(),
    )
    yield "txt-mbox.txt", ("From alice@example.com Thu Mar 14 09:26:53 2024\n" + _EMAIL).encode()
    yield (
        "txt-pem-certificate.txt",
        (
            f"-----BEGIN CERTIFICATE-----\n{_wrapped_b64(rng, 900)}\n-----END CERTIFICATE-----\n"
        ).encode(),
    )
    yield (
        "txt-pgp-signed-message.txt",
        (
            "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n"
            + _prose(rng, 2)
            + f"-----BEGIN PGP SIGNATURE-----\n\n{_wrapped_b64(rng, 300)}\n=kX3q\n"
            "-----END PGP SIGNATURE-----\n"
        ).encode(),
    )
    yield (
        "txt-ssh-public-key.txt",
        (
            f"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI"
            f"{base64.b64encode(rng.randbytes(32)).decode()} alice@laptop\n"
        ).encode(),
    )
    yield (
        "txt-windows-1252.txt",
        ("He said \u201chello\u201d \u2013 it costs \u20ac5.\r\n" * 10).encode("cp1252"),
    )
    yield "txt-log-app.txt", _log_lines(rng, 200).encode()
    yield "txt-log-access.txt", _access_log(rng, 300).encode()
    yield (
        "txt-log-traceback.txt",
        (
            _log_lines(rng, 5) + "Traceback (most recent call last):\n"
            '  File "/srv/app/report.py", line 12, in total\n'
            '    return sum(r["amount"] for r in self.rows)\n'
            "KeyError: 'amount'\n" + _log_lines(rng, 5)
        ).encode(),
    )
    blob = rng.randbytes(700)
    yield "txt-hexdump-canonical.txt", _hexdump(blob, "canonical").encode()
    yield "txt-hexdump-xxd.txt", _hexdump(blob, "xxd").encode()
    yield "txt-hex-string.txt", (rng.randbytes(2000).hex() + "\n").encode()
    yield "txt-hex-string-upper.txt", rng.randbytes(64).hex().upper().encode()
    printable = string.ascii_letters + string.digits + string.punctuation + " "
    for size in (50, 1000, 20000):
        chars = "".join(rng.choice(printable) for _ in range(size))
        yield f"txt-random-printable-{size}.txt", textwrap.fill(chars, 80).encode() + b"\n"
    yield (
        "txt-random-printable-oneline.txt",
        "".join(rng.choice(printable) for _ in range(4000)).encode(),
    )
    yield "txt-numbers-int.txt", "\n".join(str(rng.randrange(10**9)) for _ in range(500)).encode()
    yield (
        "txt-numbers-float.txt",
        "\n".join(f"{rng.uniform(-1e3, 1e3):.6f}" for _ in range(300)).encode() + b"\n",
    )
    yield "txt-numbers-one.txt", b"42\n"
    yield "txt-numbers-digits.txt", "".join(rng.choice(string.digits) for _ in range(3000)).encode()
    yield (
        "txt-numbers-table.txt",
        "\n".join(
            " ".join(f"{rng.randrange(1000):5d}" for _ in range(10)) for _ in range(50)
        ).encode()
        + b"\n",
    )
    yield "txt-uuids.txt", "\n".join(f"{rng.getrandbits(128):032x}" for _ in range(100)).encode()
    yield (
        "txt-ascii-art.txt",
        b"+--------+      +---------+\n|  web   | ---> | storage |\n+--------+      +---------+\n",
    )
    for name, text in list(base64_texts(12, seed=rng.randrange(2**32))):
        yield "txt-" + name, text
    yield from base64_lookalikes(rng)


# Random base64 whose first characters happen to be a signature libmagic knows (chance: about
# 1 in 4096 for "PA", HP-GL; 1 in 64**4 for the QuickTime atoms at offset 4): still base64.
_LOOKALIKES = (
    ("hpgl", 0, "PA"),
    ("quicktime-idsc", 4, "idsc"),
    ("quicktime-moov", 4, "moov"),
    ("quicktime-mdat", 4, "mdat"),
    ("quicktime-pckg", 4, "pckg"),
)


def base64_lookalikes(rng: random.Random) -> Iterator[Item]:
    """Random base64 texts with a libmagic signature where it looks: the mislabels of random
    base64 (``application/vnd.hp-hpgl``, ``image/x-quicktime``...) made certain, not likely."""
    for label, at, sig in _LOOKALIKES:
        for style, size in (("line", 500), ("mime76", 3000)):
            enc = base64.b64encode(rng.randbytes(size * 3 // 4))
            enc = enc[:at] + sig.encode() + enc[at + len(sig) :]
            text = (
                b"\n".join(enc[j : j + 76] for j in range(0, len(enc), 76)) + b"\n"
                if (style == "mime76")
                else enc
            )
            yield f"txt-b64-lookalike-{label}-{style}.txt", text


# CSV, Markdown, JSON -----------------------------------------------------------------------


def _csv(rows: list[list[str]], sep: str = ",", eol: str = "\n") -> str:
    def cell(v: str) -> str:
        if any(c in v for c in (sep, '"', "\n", "\r")):
            return '"' + v.replace('"', '""') + '"'
        return v

    return eol.join(sep.join(cell(v) for v in row) for row in rows) + eol


def _records(rng: random.Random, n: int, pool: tuple[str, ...] = ()) -> list[list[str]]:
    rows = [["id", "name", "email", "amount", "date", "note"]]
    for i in range(n):
        name = f"{rng.choice(pool or ('Alice', 'Bob', 'Carol'))} {rng.choice(_WORDS).title()}"
        note = _sentence(rng, rng.randint(1, 8))
        if rng.random() < 0.1:
            note = f'He said "{note}"'
        if rng.random() < 0.05:
            note += "\nsecond line"
        rows.append(
            [
                str(i + 1),
                name,
                f"user{i}@example.com",
                f"{rng.uniform(0, 9999):.2f}",
                f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                note,
            ]
        )
    return rows


def csvs(rng: random.Random) -> Iterator[Item]:
    yield "csv-header-small.csv", _csv(_records(rng, 5)).encode()
    yield "csv-header-large.csv", _csv(_records(rng, 3000)).encode()
    yield (
        "csv-quoted-fields.csv",
        _csv(
            [
                ["a", "b, with comma", 'c "quoted"'],
                ["1", "x,y", 'say "hi"'],
                ["2", "multi\nline", ""],
            ]
        ).encode(),
    )
    yield (
        "csv-semicolons.csv",
        _csv([[c.replace(".", ",") for c in r] for r in _records(rng, 40)], sep=";").encode(),
    )
    yield "csv-tabs.csv", _csv(_records(rng, 30), sep="\t").encode()
    yield "csv-utf8.csv", _csv(_records(rng, 50, _ACCENTED + _CJK)).encode()
    yield (
        "csv-utf8-bom-crlf.csv",
        b"\xef\xbb\xbf" + _csv(_records(rng, 50, _ACCENTED), sep=";", eol="\r\n").encode(),
    )
    yield "csv-excel-crlf.csv", _csv(_records(rng, 100), eol="\r\n").encode()
    yield (
        "csv-numbers-only.csv",
        _csv([[str(rng.randrange(10**6)) for _ in range(8)] for _ in range(200)]).encode(),
    )
    yield (
        "csv-single-column.csv",
        _csv([["value"]] + [[str(rng.random())] for _ in range(50)]).encode(),
    )
    yield "csv-no-header.csv", _csv(_records(rng, 20)[1:]).encode()
    yield (
        "csv-all-quoted.csv",
        "\n".join(",".join(f'"{v}"' for v in r) for r in _records(rng, 20)[:-1]).encode() + b"\n",
    )
    yield "csv-one-line.csv", b"a,b,c\n"
    yield (
        "csv-hpgl-lookalike-header.csv",
        _csv(
            [["PA", "PB", "PC"]] + [[str(rng.randrange(100)) for _ in range(3)] for _ in range(20)]
        ).encode(),
    )


def markdowns(rng: random.Random) -> Iterator[Item]:
    readme = f"""# Airlock

A secure file upload service. {_sentence(rng)}

## Install

```sh
pip install airlock
airlock serve --data-dir /srv/airlock
```

## Settings

| Setting | Default | Meaning |
|---------|---------|---------|
| `MAX_FILE_SIZE` | 100MB | {_sentence(rng, 5)} |
| `ALLOWED_TYPES` | png, jpg, pdf | {_sentence(rng, 6)} |

See [the API](docs/API.md) and the [issue tracker](https://github.com/example/airlock/issues).

> **Note**: {_sentence(rng)}

- one
- two
  - nested *emphasis* and **strong** and `code`
1. first
2. second

![diagram](docs/diagram.png)
"""
    yield "md-readme.md", readme.encode()
    yield (
        "md-headings.md",
        "\n\n".join(
            f"{'#' * (i % 6 + 1)} Heading {i}\n\n{_sentence(rng)}" for i in range(30)
        ).encode()
        + b"\n",
    )
    yield (
        "md-code-fences.md",
        f"""Some code:

```python
{_PY_SOURCE}```

```c
{_C_SOURCE}```

~~~
plain fence
~~~
""".encode(),
    )
    table = "| " + " | ".join(f"col{i}" for i in range(6)) + " |\n|" + "---|" * 6 + "\n"
    table += "".join(
        "| " + " | ".join(str(rng.randrange(1000)) for _ in range(6)) + " |\n" for _ in range(100)
    )
    yield "md-table.md", ("# Numbers\n\n" + table).encode()
    yield (
        "md-links.md",
        "\n".join(
            f"- [{rng.choice(_WORDS)}](https://example.com/{i}) <https://example.org/{i}>"
            for i in range(40)
        ).encode()
        + b"\n",
    )
    yield (
        "md-front-matter.md",
        (
            f"---\ntitle: Release notes\ndate: 2024-03-14\ntags: [a, b]\n"
            f"---\n\n# Release notes\n\n{_prose(rng, 4)}"
        ).encode(),
    )
    yield (
        "md-changelog.md",
        b"# Changelog\n\n"
        + "".join(
            f"## [1.{i}.0] - 2024-0{i % 9 + 1}-01\n### Fixed\n"
            f"- {_sentence(rng)}\n- {_sentence(rng)}\n\n"
            for i in range(20, 0, -1)
        ).encode(),
    )
    yield (
        "md-unicode.md",
        f"# Überblick 🚀\n\n{_unicode_prose(rng, _ACCENTED + _CJK + _EMOJI, 20)}".encode(),
    )
    yield "md-prose-only.md", _prose(rng, 6).encode()
    yield "md-windows-crlf.md", readme.replace("\n", "\r\n").encode()
    yield "md-todo-list.md", b"## TODO\n\n- [x] upload\n- [ ] thumbnails\n- [ ] quota\n"
    yield "md-one-heading-no-newline.md", b"# Title"
    yield "md-c-code-fence.md", f"Build it:\n\n```c\n{_C_SOURCE}```\n".encode()
    yield (
        "md-github-html-header.md",
        (
            '<p align="center">\n  <img src="docs/logo.png" '
            'width="200" alt="logo">\n</p>\n\n' + readme
        ).encode(),
    )


def jsons(rng: random.Random) -> Iterator[Item]:
    def record(depth: int) -> object:
        kind = rng.randrange(6 if depth < 4 else 4)
        if kind == 0:
            return rng.randrange(-(10**6), 10**6)
        if kind == 1:
            return round(rng.uniform(-1e4, 1e4), 4)
        if kind == 2:
            return _sentence(rng, rng.randint(1, 5))
        if kind == 3:
            return rng.choice((True, False, None))
        if kind == 4:
            return [record(depth + 1) for _ in range(rng.randint(0, 5))]
        return {rng.choice(_WORDS) + str(i): record(depth + 1) for i in range(rng.randint(0, 6))}

    obj = {
        "name": "airlock",
        "version": "0.1.0",
        "files": [
            {"id": i, "size": rng.randrange(10**7), "tags": [rng.choice(_WORDS) for _ in range(3)]}
            for i in range(30)
        ],
    }
    yield "json-object-pretty.json", json.dumps(obj, indent=2).encode() + b"\n"
    yield "json-object-minified.json", json.dumps(obj, separators=(",", ":")).encode()
    yield (
        "json-array-of-numbers.json",
        json.dumps([rng.randrange(10**6) for _ in range(500)]).encode(),
    )
    yield (
        "json-array-of-objects.json",
        json.dumps([record(0) for _ in range(100)], indent=1).encode(),
    )
    deep: object = {"leaf": [1, 2.5, "x", None, True]}
    for level in range(30):
        deep = {f"level{level}": [deep, level]} if level % 2 else {f"level{level}": deep}
    yield "json-nested-deep.json", json.dumps(deep, indent=4).encode()
    yield "json-random-nested.json", json.dumps({"data": [record(0) for _ in range(50)]}).encode()
    uni = {"café": "crème brûlée", "日本": "東京", "emoji": "🚀✅", "mixed": list(_ACCENTED)}
    yield "json-unicode-raw.json", json.dumps(uni, ensure_ascii=False, indent=2).encode()
    yield "json-unicode-escaped.json", json.dumps(uni).encode()
    yield "json-empty-object.json", b"{}"
    yield "json-empty-array.json", b"[]\n"
    yield "json-string.json", b'"just a string"\n'
    yield "json-crlf.json", json.dumps(obj, indent=2).replace("\n", "\r\n").encode()
    yield "json-tabs.json", json.dumps(obj, indent="\t").encode()
    big = {"rows": [{"id": i, "text": _sentence(rng), "value": rng.random()} for i in range(2500)]}
    yield "json-large-200k.json", json.dumps(big, indent=2).encode()
    geo = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"n": i},
                "geometry": {
                    "type": "Point",
                    "coordinates": [rng.uniform(-180, 180), rng.uniform(-90, 90)],
                },
            }
            for i in range(40)
        ],
    }
    yield "json-geojson.json", json.dumps(geo).encode()
    yield (
        "json-package.json",
        json.dumps(
            {
                "name": "web",
                "private": True,
                "scripts": {"build": "vite build"},
                "dependencies": {"tus-js-client": "^4.1.0"},
            },
            indent=2,
        ).encode(),
    )


# Zip, OOXML, ODF ----------------------------------------------------------------------------


def _zip(
    members: list[tuple[str, bytes]],
    method: int = zipfile.ZIP_DEFLATED,
    comment: bytes = b"",
    date: tuple[int, int, int, int, int, int] = _SAVE_DATE,
    stored: frozenset[str] = frozenset(),
) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=date)
            info.compress_type = (
                zipfile.ZIP_STORED if name in stored or name.endswith("/") else method
            )
            info.external_attr = (0o40755 << 16) | 0x10 if name.endswith("/") else 0o644 << 16
            zf.writestr(info, data)
        zf.comment = comment
    return out.getvalue()


def zips(rng: random.Random) -> Iterator[Item]:
    docs = [(f"docs/{rng.choice(_WORDS)}-{i}.txt", _prose(rng, 3).encode()) for i in range(5)]
    photo = _save(_picture(rng, 120, 90), "JPEG")
    yield "zip-deflated.zip", _zip(docs)
    yield "zip-stored.zip", _zip(docs, zipfile.ZIP_STORED)
    yield "zip-one-file.zip", _zip([("notes.txt", _prose(rng, 1).encode())])
    yield (
        "zip-nested-dirs.zip",
        _zip(
            [
                ("project/", b""),
                ("project/src/", b""),
                ("project/src/main.c", _C_SOURCE.encode()),
                ("project/src/lib/util.py", _PY_SOURCE.encode()),
                ("project/README.md", b"# Project\n"),
                ("project/assets/photo.jpg", photo),
                ("project/assets/logo.png", _save(_picture(rng, 32, 32, "RGBA"), "PNG")),
            ]
        ),
    )
    yield "zip-with-comment.zip", _zip(docs[:2], comment=b"Archived by the corpus generator")
    yield "zip-empty-dir-entry.zip", _zip([("empty/", b""), ("a.txt", b"a\n")])
    yield "zip-only-empty-dir.zip", _zip([("empty/", b"")])
    yield (
        "zip-mixed-methods.zip",
        _zip([("photo.jpg", photo), *docs[:3]], stored=frozenset({"photo.jpg"})),
    )
    yield (
        "zip-photos.zip",
        _zip(
            [(f"IMG_{i:04d}.JPG", _save(_picture(rng, 160, 120), "JPEG")) for i in range(6)],
            zipfile.ZIP_STORED,
        ),
    )
    yield (
        "zip-unicode-names.zip",
        _zip(
            [
                ("résumé.txt", b"cv\n"),
                ("日本語/ファイル.txt", b"x\n"),
                ("emoji-🚀.txt", b"rocket\n"),
            ]
        ),
    )
    yield "zip-bzip2.zip", _zip(docs, zipfile.ZIP_BZIP2)
    yield "zip-lzma.zip", _zip(docs, zipfile.ZIP_LZMA)
    yield "zip-of-zip.zip", _zip([("inner.zip", _zip(docs[:2])), ("readme.txt", b"nested\n")])
    yield "zip-binary-blob.zip", _zip([("data.bin", rng.randbytes(50_000))])
    yield "zip-csv-export.zip", _zip([("export.csv", _csv(_records(rng, 400)).encode())])
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:  # streamed: data descriptors
        for name, data in docs[:3]:
            with zf.open(zipfile.ZipInfo(name, date_time=_SAVE_DATE), "w") as member:
                member.write(data)
    yield "zip-data-descriptors.zip", out.getvalue()
    yield "zip-empty.zip", b"PK\x05\x06" + b"\x00" * 18  # what `zip` leaves after deleting all


_CT = "http://schemas.openxmlformats.org/package/2006/content-types"
_PKG_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_DOC_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'


def _content_types(
    overrides: list[tuple[str, str]],
    defaults: tuple[tuple[str, str], ...] | list[tuple[str, str]] = (),
) -> bytes:
    d = [
        ("rels", "application/vnd.openxmlformats-package.relationships+xml"),
        ("xml", "application/xml"),
        *defaults,
    ]
    body = "".join(f'<Default Extension="{e}" ContentType="{t}"/>' for e, t in d)
    body += "".join(f'<Override PartName="{p}" ContentType="{t}"/>' for p, t in overrides)
    return f'{_XML}<Types xmlns="{_CT}">{body}</Types>'.encode()


def _rels(rels: list[tuple[str, str, str]]) -> bytes:
    body = "".join(
        f'<Relationship Id="{i}" Type="{t}" Target="{target}"/>' for i, t, target in rels
    )
    return f'{_XML}<Relationships xmlns="{_PKG_RELS}">{body}</Relationships>'.encode()


def _doc_props(title: str, app: str) -> list[tuple[str, bytes]]:
    core = (
        f'{_XML}<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/'
        'metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<dc:title>{title}</dc:title><dc:creator>Airlock tests</dc:creator>"
        '<dcterms:created xsi:type="dcterms:W3CDTF">2024-03-14T09:26:53Z</dcterms:created>'
        "</cp:coreProperties>"
    )
    appx = (
        f'{_XML}<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/'
        f'extended-properties"><Application>{app}</Application></Properties>'
    )
    return [("docProps/core.xml", core.encode()), ("docProps/app.xml", appx.encode())]


_PROPS_OVERRIDES = [
    ("/docProps/core.xml", "application/vnd.openxmlformats-package.core-properties+xml"),
    ("/docProps/app.xml", "application/vnd.openxmlformats-officedocument.extended-properties+xml"),
]
_PROPS_RELS = [
    ("rId2", f"{_PKG_RELS}/metadata/core-properties", "docProps/core.xml"),
    ("rId3", f"{_DOC_REL}/extended-properties", "docProps/app.xml"),
]
_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_WML = "application/vnd.openxmlformats-officedocument.wordprocessingml"


def _docx(
    paragraphs: list[str], image: bytes | None = None, props: bool = True, order: str = "word"
) -> bytes:
    def esc(s: str) -> str:
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    body = "".join(
        f'<w:p><w:r><w:t xml:space="preserve">{esc(p)}</w:t></w:r></w:p>' for p in paragraphs
    )
    if image is not None:
        body += (
            '<w:p><w:r><w:drawing><wp:inline xmlns:wp="http://schemas.openxmlformats.org/'
            'drawingml/2006/wordprocessingDrawing"><wp:extent cx="1905000" cy="1428750"/>'
            '<wp:docPr id="1" name="Picture 1"/></wp:inline></w:drawing></w:r></w:p>'
        )
    document = (
        f'{_XML}<w:document xmlns:w="{_W}" xmlns:r="{_DOC_REL}"><w:body>{body}'
        '<w:sectPr><w:pgSz w:w="11906" w:h="16838"/></w:sectPr></w:body></w:document>'
    )
    styles = (
        f'{_XML}<w:styles xmlns:w="{_W}"><w:style w:type="paragraph" w:default="1" '
        'w:styleId="Normal"><w:name w:val="Normal"/></w:style></w:styles>'
    )
    overrides = [
        ("/word/document.xml", f"{_WML}.document.main+xml"),
        ("/word/styles.xml", f"{_WML}.styles+xml"),
    ]
    doc_rels = [("rId1", f"{_DOC_REL}/styles", "styles.xml")]
    defaults: list[tuple[str, str]] = []
    media: list[tuple[str, bytes]] = []
    if image is not None:
        defaults.append(("png", "image/png"))
        doc_rels.append(("rId2", f"{_DOC_REL}/image", "media/image1.png"))
        media.append(("word/media/image1.png", image))
    rels = [("rId1", f"{_DOC_REL}/officeDocument", "word/document.xml")]
    parts = [
        ("word/document.xml", document.encode()),
        ("word/styles.xml", styles.encode()),
        ("word/_rels/document.xml.rels", _rels(doc_rels)),
        *media,
    ]
    if props:
        overrides += _PROPS_OVERRIDES
        rels += _PROPS_RELS
        parts += _doc_props("Letter", "Microsoft Office Word")
    head = [
        ("[Content_Types].xml", _content_types(overrides, defaults)),
        ("_rels/.rels", _rels(rels)),
    ]
    if order == "word":  # Word: [Content_Types].xml first
        return _zip(head + parts, date=_OFFICE_DATE)
    # LibreOffice and some converters: _rels/.rels first, [Content_Types].xml last
    return _zip([head[1], *parts, head[0]])


def docxs(rng: random.Random) -> Iterator[Item]:
    yield "docx-letter.docx", _docx([_sentence(rng) for _ in range(10)])
    yield "docx-long.docx", _docx([" ".join(_sentence(rng) for _ in range(5)) for _ in range(300)])
    yield (
        "docx-unicode.docx",
        _docx(_unicode_prose(rng, _ACCENTED + _CJK + _EMOJI, 20).splitlines()),
    )
    yield "docx-minimal-no-props.docx", _docx(["Hello"], props=False)
    yield (
        "docx-with-image.docx",
        _docx(["See the photo:"], image=_save(_picture(rng, 200, 150), "PNG")),
    )
    yield "docx-libreoffice-order.docx", _docx([_sentence(rng) for _ in range(5)], order="lo")


_S = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_SML = "application/vnd.openxmlformats-officedocument.spreadsheetml"


def _xlsx(sheets: list[list[list[object]]], props: bool = True) -> bytes:
    strings: list[str] = []

    def cell(ref: str, v: object) -> str:
        if isinstance(v, (int, float)):
            return f'<c r="{ref}"><v>{v}</v></c>'
        strings.append(str(v))
        return f'<c r="{ref}" t="s"><v>{len(strings) - 1}</v></c>'

    def col(i: int) -> str:
        name = ""
        i += 1
        while i:
            i, r = divmod(i - 1, 26)
            name = chr(65 + r) + name
        return name

    parts: list[tuple[str, bytes]] = []
    overrides = [
        ("/xl/workbook.xml", f"{_SML}.sheet.main+xml"),
        ("/xl/styles.xml", f"{_SML}.styles+xml"),
        ("/xl/sharedStrings.xml", f"{_SML}.sharedStrings+xml"),
    ]
    wb_rels = []
    sheet_tags = []
    for n, rows in enumerate(sheets, 1):
        data = "".join(
            f'<row r="{r + 1}">'
            + "".join(cell(f"{col(c)}{r + 1}", v) for c, v in enumerate(row))
            + "</row>"
            for r, row in enumerate(rows)
        )
        xml = f'{_XML}<worksheet xmlns="{_S}"><sheetData>{data}</sheetData></worksheet>'
        parts.append((f"xl/worksheets/sheet{n}.xml", xml.encode()))
        overrides.append((f"/xl/worksheets/sheet{n}.xml", f"{_SML}.worksheet+xml"))
        wb_rels.append((f"rId{n}", f"{_DOC_REL}/worksheet", f"worksheets/sheet{n}.xml"))
        sheet_tags.append(f'<sheet name="Sheet{n}" sheetId="{n}" r:id="rId{n}"/>')
    k = len(sheets)
    wb_rels += [
        (f"rId{k + 1}", f"{_DOC_REL}/styles", "styles.xml"),
        (f"rId{k + 2}", f"{_DOC_REL}/sharedStrings", "sharedStrings.xml"),
    ]
    workbook = (
        f'{_XML}<workbook xmlns="{_S}" xmlns:r="{_DOC_REL}"><sheets>{"".join(sheet_tags)}'
        "</sheets></workbook>"
    )
    sst = "".join(
        f"<si><t>{s.replace('&', '&amp;').replace('<', '&lt;')}</t></si>" for s in strings
    )
    shared = (
        f'{_XML}<sst xmlns="{_S}" count="{len(strings)}" uniqueCount="{len(strings)}">{sst}</sst>'
    )
    styles = (
        f'{_XML}<styleSheet xmlns="{_S}"><fonts count="1"><font><sz val="11"/>'
        '<name val="Calibri"/></font></fonts><fills count="1"><fill><patternFill '
        'patternType="none"/></fill></fills><borders count="1"><border/></borders>'
        '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellXfs>'
        "</styleSheet>"
    )
    rels = [("rId1", f"{_DOC_REL}/officeDocument", "xl/workbook.xml")]
    parts = [
        ("xl/workbook.xml", workbook.encode()),
        ("xl/_rels/workbook.xml.rels", _rels(wb_rels)),
        *parts,
        ("xl/styles.xml", styles.encode()),
        ("xl/sharedStrings.xml", shared.encode()),
    ]
    if props:
        overrides += _PROPS_OVERRIDES
        rels += _PROPS_RELS
        parts += _doc_props("Budget", "Microsoft Excel")
    return _zip(
        [("[Content_Types].xml", _content_types(overrides)), ("_rels/.rels", _rels(rels)), *parts],
        date=_OFFICE_DATE,
    )


def xlsxs(rng: random.Random) -> Iterator[Item]:
    def table(n: int, cols: int) -> list[list[object]]:
        head: list[object] = [f"col {c}" for c in range(cols)]
        return [head] + [
            [rng.randrange(10**5) if c % 2 else round(rng.uniform(0, 1e3), 2) for c in range(cols)]
            for _ in range(n)
        ]

    yield "xlsx-small.xlsx", _xlsx([table(5, 3)])
    yield "xlsx-large.xlsx", _xlsx([table(2000, 12)])
    yield "xlsx-three-sheets.xlsx", _xlsx([table(20, 4), table(50, 6), table(1, 1)])
    yield (
        "xlsx-strings.xlsx",
        _xlsx([[[_sentence(rng, 3), rng.choice(_ACCENTED + _CJK)] for _ in range(100)]]),
    )
    yield "xlsx-no-props.xlsx", _xlsx([table(3, 2)], props=False)


_P = "http://schemas.openxmlformats.org/presentationml/2006/main"
_PML = "application/vnd.openxmlformats-officedocument.presentationml"
_A = "http://schemas.openxmlformats.org/drawingml/2006/main"


def _pptx(slides: list[str], props: bool = True) -> bytes:
    def sp(text: str) -> str:
        return (
            f'<p:sp><p:nvSpPr><p:cNvPr id="2" name="Title"/><p:cNvSpPr/><p:nvPr/></p:nvSpPr>'
            f"<p:spPr/><p:txBody><a:bodyPr/><a:p><a:r><a:t>{text}</a:t></a:r></a:p>"
            "</p:txBody></p:sp>"
        )

    def tree(inner: str) -> str:
        return (
            f'<p:cSld><p:spTree><p:nvGrpSpPr><p:cNvPr id="1" name=""/><p:cNvGrpSpPr/>'
            f"<p:nvPr/></p:nvGrpSpPr><p:grpSpPr/>{inner}</p:spTree></p:cSld>"
        )

    ns = f'xmlns:p="{_P}" xmlns:a="{_A}" xmlns:r="{_DOC_REL}"'
    overrides = [
        ("/ppt/presentation.xml", f"{_PML}.presentation.main+xml"),
        ("/ppt/slideMasters/slideMaster1.xml", f"{_PML}.slideMaster+xml"),
        ("/ppt/slideLayouts/slideLayout1.xml", f"{_PML}.slideLayout+xml"),
        ("/ppt/theme/theme1.xml", "application/vnd.openxmlformats-officedocument.theme+xml"),
    ]
    parts: list[tuple[str, bytes]] = []
    ids = []
    pres_rels = [
        ("rId1", f"{_DOC_REL}/slideMaster", "slideMasters/slideMaster1.xml"),
        ("rId2", f"{_DOC_REL}/theme", "theme/theme1.xml"),
    ]
    for n, text in enumerate(slides, 1):
        xml = f"{_XML}<p:sld {ns}>{tree(sp(text))}</p:sld>"
        parts += [
            (f"ppt/slides/slide{n}.xml", xml.encode()),
            (
                f"ppt/slides/_rels/slide{n}.xml.rels",
                _rels([("rId1", f"{_DOC_REL}/slideLayout", "../slideLayouts/slideLayout1.xml")]),
            ),
        ]
        overrides.append((f"/ppt/slides/slide{n}.xml", f"{_PML}.slide+xml"))
        pres_rels.append((f"rId{n + 2}", f"{_DOC_REL}/slide", f"slides/slide{n}.xml"))
        ids.append(f'<p:sldId id="{255 + n}" r:id="rId{n + 2}"/>')
    presentation = (
        f'{_XML}<p:presentation {ns}><p:sldMasterIdLst><p:sldMasterId id="2147483648" '
        f'r:id="rId1"/></p:sldMasterIdLst><p:sldIdLst>{"".join(ids)}</p:sldIdLst>'
        '<p:sldSz cx="12192000" cy="6858000"/><p:notesSz cx="6858000" cy="9144000"/>'
        "</p:presentation>"
    )
    master = (
        f'{_XML}<p:sldMaster {ns}>{tree("")}<p:clrMap bg1="lt1" tx1="dk1" bg2="lt2" '
        'tx2="dk2" accent1="accent1" accent2="accent2" accent3="accent3" '
        'accent4="accent4" accent5="accent5" accent6="accent6" hlink="hlink" '
        'folHlink="folHlink"/><p:sldLayoutIdLst><p:sldLayoutId id="2147483649" '
        'r:id="rId1"/></p:sldLayoutIdLst></p:sldMaster>'
    )
    layout = f"{_XML}<p:sldLayout {ns}>{tree('')}</p:sldLayout>"
    theme = (
        f'{_XML}<a:theme xmlns:a="{_A}" name="Office Theme"><a:themeElements>'
        '<a:clrScheme name="Office"/><a:fontScheme name="Office"/><a:fmtScheme name="Office"/>'
        "</a:themeElements></a:theme>"
    )
    parts = [
        ("ppt/presentation.xml", presentation.encode()),
        ("ppt/_rels/presentation.xml.rels", _rels(pres_rels)),
        *parts,
        ("ppt/slideMasters/slideMaster1.xml", master.encode()),
        (
            "ppt/slideMasters/_rels/slideMaster1.xml.rels",
            _rels(
                [
                    ("rId1", f"{_DOC_REL}/slideLayout", "../slideLayouts/slideLayout1.xml"),
                    ("rId2", f"{_DOC_REL}/theme", "../theme/theme1.xml"),
                ]
            ),
        ),
        ("ppt/slideLayouts/slideLayout1.xml", layout.encode()),
        (
            "ppt/slideLayouts/_rels/slideLayout1.xml.rels",
            _rels([("rId1", f"{_DOC_REL}/slideMaster", "../slideMasters/slideMaster1.xml")]),
        ),
        ("ppt/theme/theme1.xml", theme.encode()),
    ]
    rels = [("rId1", f"{_DOC_REL}/officeDocument", "ppt/presentation.xml")]
    if props:
        overrides += _PROPS_OVERRIDES
        rels += _PROPS_RELS
        parts += _doc_props("Slides", "Microsoft Office PowerPoint")
    return _zip(
        [("[Content_Types].xml", _content_types(overrides)), ("_rels/.rels", _rels(rels)), *parts],
        date=_OFFICE_DATE,
    )


def pptxs(rng: random.Random) -> Iterator[Item]:
    yield "pptx-one-slide.pptx", _pptx(["Quarterly review"])
    yield "pptx-ten-slides.pptx", _pptx([_sentence(rng, 4) for _ in range(10)])
    yield "pptx-no-props.pptx", _pptx(["Hello"], props=False)
    yield "pptx-many-slides.pptx", _pptx([_sentence(rng, 6) for _ in range(60)])


_ODF = "application/vnd.oasis.opendocument"
_OFFICE_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/"'
)
_ODF_XML = '<?xml version="1.0" encoding="UTF-8"?>\n'


def _odf(kind: str, body: str, thumbnail: bytes | None = None, extra: bool = True) -> bytes:
    """An ODF package as LibreOffice writes it: ``mimetype`` first and stored, then the rest."""
    mime = f"{_ODF}.{kind}"
    files = [("content.xml", "text/xml"), ("styles.xml", "text/xml"), ("meta.xml", "text/xml")]
    if not extra:
        files = files[:1]
    entries = "".join(
        f' <manifest:file-entry manifest:full-path="{p}" manifest:media-type="{t}"/>\n'
        for p, t in files
    )
    if thumbnail is not None:
        entries += (
            ' <manifest:file-entry manifest:full-path="Thumbnails/thumbnail.png" '
            'manifest:media-type="image/png"/>\n'
        )
    manifest = (
        f'{_ODF_XML}<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:'
        f'xmlns:manifest:1.0" manifest:version="1.3">\n <manifest:file-entry '
        f'manifest:full-path="/" manifest:version="1.3" manifest:media-type="{mime}"/>\n'
        f"{entries}</manifest:manifest>\n"
    )
    content = (
        f'{_ODF_XML}<office:document-content {_OFFICE_NS} office:version="1.3">'
        f"<office:body>{body}</office:body></office:document-content>"
    )
    members = [("mimetype", mime.encode())]
    if thumbnail is not None:
        members.append(("Thumbnails/thumbnail.png", thumbnail))
    members += [("content.xml", content.encode())]
    if extra:
        members += [
            (
                "styles.xml",
                f'{_ODF_XML}<office:document-styles {_OFFICE_NS} office:version="1.3"/>'.encode(),
            ),
            (
                "meta.xml",
                (
                    f'{_ODF_XML}<office:document-meta {_OFFICE_NS} office:version="1.3">'
                    "<office:meta><meta:generator>LibreOffice/7.6</meta:generator>"
                    "<dc:title>Corpus</dc:title></office:meta></office:document-meta>"
                ).encode(),
            ),
        ]
    members.append(("META-INF/manifest.xml", manifest.encode()))
    return _zip(members, stored=frozenset({"mimetype"}))


def _odt_body(paragraphs: list[str]) -> str:
    return "<office:text>" + "".join(f"<text:p>{p}</text:p>" for p in paragraphs) + "</office:text>"


def _ods_body(rows: list[list[object]]) -> str:
    def cell(v: object) -> str:
        if isinstance(v, (int, float)):
            return (
                f'<table:table-cell office:value-type="float" office:value="{v}">'
                f"<text:p>{v}</text:p></table:table-cell>"
            )
        return (
            f'<table:table-cell office:value-type="string"><text:p>{v}</text:p></table:table-cell>'
        )

    data = "".join(
        "<table:table-row>" + "".join(cell(v) for v in r) + "</table:table-row>" for r in rows
    )
    table = f'<table:table table:name="Sheet1">{data}</table:table>'
    return f"<office:spreadsheet>{table}</office:spreadsheet>"


def odts(rng: random.Random) -> Iterator[Item]:
    thumb = _save(_picture(rng, 181, 256), "PNG")
    yield "odt-letter.odt", _odf("text", _odt_body([_sentence(rng) for _ in range(8)]))
    yield "odt-long.odt", _odf("text", _odt_body([_sentence(rng) for _ in range(1500)]))
    yield "odt-with-thumbnail.odt", _odf("text", _odt_body(["Hello"]), thumbnail=thumb)
    yield "odt-minimal.odt", _odf("text", _odt_body(["Hi"]), extra=False)
    yield (
        "odt-unicode.odt",
        _odf("text", _odt_body(_unicode_prose(rng, _CJK + _EMOJI, 10).splitlines())),
    )


def odss(rng: random.Random) -> Iterator[Item]:
    thumb = _save(_picture(rng, 256, 181), "PNG")
    head: list[object] = ["item", "amount"]
    rows: list[list[object]] = [
        head,
        *([rng.choice(_WORDS), rng.randrange(1000)] for _ in range(40)),
    ]
    yield "ods-budget.ods", _odf("spreadsheet", _ods_body(rows))
    yield "ods-with-thumbnail.ods", _odf("spreadsheet", _ods_body(rows[:5]), thumbnail=thumb)
    yield "ods-minimal.ods", _odf("spreadsheet", _ods_body([[1]]), extra=False)
    big: list[list[object]] = [[rng.random() for _ in range(10)] for _ in range(800)]
    yield "ods-large.ods", _odf("spreadsheet", _ods_body(big))


# MP3 ---------------------------------------------------------------------------------------

_MPEG1_L3_KBPS = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
_MPEG1_RATES = (44100, 48000, 32000)
_MPEG2_L3_KBPS = (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)
_MPEG2_RATES = (22050, 24000, 16000)
_CHANNEL = {"stereo": 0b00, "joint": 0b01, "dual": 0b10, "mono": 0b11}


def _syncsafe(n: int) -> bytes:
    return bytes(((n >> 21) & 0x7F, (n >> 14) & 0x7F, (n >> 7) & 0x7F, n & 0x7F))


def _id3v2(frames: list[tuple[str, bytes]], version: int = 3, padding: int = 1024) -> bytes:
    body = b""
    for fid, data in frames:
        size = _syncsafe(len(data)) if version == 4 else struct.pack(">I", len(data))
        body += fid.encode() + size + b"\x00\x00" + data
    body += b"\x00" * padding
    return b"ID3" + bytes((version, 0, 0)) + _syncsafe(len(body)) + body


def _text_frame(text: str, version: int) -> bytes:
    if version == 4:
        return b"\x03" + text.encode("utf-8")
    return b"\x01" + text.encode("utf-16")  # UTF-16 with BOM, as v2.3 taggers write


def _mp3_frames(
    rng: random.Random,
    count: int,
    mpeg2: bool = False,
    kbps: int = 128,
    rate_index: int = 0,
    channel: str = "joint",
    vbr: bool = False,
    silence: bool = False,
    xing: bool = False,
) -> bytes:
    table = _MPEG2_L3_KBPS if mpeg2 else _MPEG1_L3_KBPS
    rates = _MPEG2_RATES if mpeg2 else _MPEG1_RATES
    mono = channel == "mono"
    side = (9 if mono else 17) if mpeg2 else (17 if mono else 32)
    out = bytearray()
    for n in range(count):
        rate = rng.choice(table[5:]) if vbr and not (xing and n == 0) else kbps
        br_index = table.index(rate)
        padding = (
            1
            if (n % 3 == 1 and rates[rate_index] == 44100) or (n % 2 and rates[rate_index] == 22050)
            else 0
        )
        coef = 72 if mpeg2 else 144
        size = coef * rate * 1000 // rates[rate_index] + padding
        header = bytes(
            (
                0xFF,
                0xF3 if mpeg2 else 0xFB,
                (br_index << 4) | (rate_index << 2) | (padding << 1),
                (_CHANNEL[channel] << 6) | 0b0100,
            )
        )
        if xing and n == 0:
            tag = b"Info" if not vbr else b"Xing"
            tag += struct.pack(">IIi", 0x0F, count, count * size) + bytes(range(0, 200, 2))
            tag += struct.pack(">I", 57) + b"LAME3.100"
            payload = b"\x00" * side + tag
        elif silence:
            payload = b"\x00" * side
        else:
            payload = rng.randbytes(side) + rng.randbytes(size - 4 - side)
        out += header + payload.ljust(size - 4, b"\x00" if silence or n == 0 else b"\x55")
    return bytes(out)


def _id3v1(title: str) -> bytes:
    return (
        b"TAG"
        + title.encode("latin-1").ljust(30, b"\0")
        + b"Airlock".ljust(30, b"\0")
        + b"Corpus".ljust(30, b"\0")
        + b"2024"
        + b"comment".ljust(28, b"\0")
        + b"\x00\x01"
        + b"\x0c"
    )


def mp3s(rng: random.Random) -> Iterator[Item]:
    tags3 = _id3v2(
        [
            ("TIT2", _text_frame("Song title", 3)),
            ("TPE1", _text_frame("Artist", 3)),
            ("TALB", _text_frame("Album", 3)),
            ("TRCK", _text_frame("3/12", 3)),
        ]
    )
    tags4 = _id3v2(
        [("TIT2", _text_frame("Über café 🎵", 4)), ("TDRC", _text_frame("2024", 4))],
        version=4,
        padding=0,
    )
    yield "mp3-id3v23-cbr128.mp3", tags3 + _mp3_frames(rng, 200)
    yield "mp3-id3v24-cbr320.mp3", tags4 + _mp3_frames(rng, 120, kbps=320, rate_index=1)
    yield "mp3-no-id3-cbr128.mp3", _mp3_frames(rng, 150)
    yield "mp3-no-id3-stereo-192.mp3", _mp3_frames(rng, 100, kbps=192, channel="stereo")
    yield "mp3-no-id3-mono-64-32k.mp3", _mp3_frames(rng, 100, kbps=64, rate_index=2, channel="mono")
    yield "mp3-lame-info-silence.mp3", tags3 + _mp3_frames(rng, 80, silence=True, xing=True)
    yield "mp3-no-id3-xing-vbr.mp3", _mp3_frames(rng, 120, vbr=True, xing=True)
    yield "mp3-vbr-id3.mp3", tags3 + _mp3_frames(rng, 150, vbr=True)
    yield "mp3-id3v1-trailer.mp3", _mp3_frames(rng, 60) + _id3v1("Old style tag")
    yield "mp3-mpeg2-22khz.mp3", _mp3_frames(rng, 100, mpeg2=True, kbps=64, channel="mono")
    yield "mp3-mpeg2-id3.mp3", tags3 + _mp3_frames(rng, 100, mpeg2=True, kbps=32, channel="mono")
    cover = _save(_picture(rng, 300, 300), "JPEG", quality=85)
    apic = b"\x00image/jpeg\x00\x03cover\x00" + cover
    yield (
        "mp3-cover-art.mp3",
        _id3v2([("TIT2", _text_frame("With cover", 3)), ("APIC", apic)]) + (_mp3_frames(rng, 100)),
    )
    yield "mp3-short-10-frames.mp3", _mp3_frames(rng, 10, silence=True)


# MP4 -----------------------------------------------------------------------------------------


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def _full_box(kind: bytes, version: int, flags: int, payload: bytes) -> bytes:
    return _box(kind, bytes((version,)) + flags.to_bytes(3, "big") + payload)


_MATRIX = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)


def _mvhd(timescale: int, duration: int) -> bytes:
    return _full_box(
        b"mvhd",
        0,
        0,
        struct.pack(">IIII", 0, 0, timescale, duration)
        + struct.pack(">IH", 0x10000, 0x100)
        + b"\x00" * 10
        + _MATRIX
        + b"\x00" * 24
        + struct.pack(">I", 2),
    )


def _trak(w: int, h: int, timescale: int, duration: int, handler: bytes) -> bytes:
    tkhd = _full_box(
        b"tkhd",
        0,
        3,
        struct.pack(">IIII", 0, 0, 1, 0)
        + struct.pack(">I", duration)
        + b"\x00" * 8
        + struct.pack(">hhhH", 0, 0, 0x100 if handler == b"soun" else 0, 0)
        + _MATRIX
        + struct.pack(">II", w << 16, h << 16),
    )
    mdhd = _full_box(
        b"mdhd",
        0,
        0,
        struct.pack(">IIII", 0, 0, timescale, duration) + struct.pack(">HH", 0x55C4, 0),
    )
    hdlr = _full_box(b"hdlr", 0, 0, b"\x00" * 4 + handler + b"\x00" * 12 + b"Handler\x00")
    return _box(b"trak", tkhd + _box(b"mdia", mdhd + hdlr))


def _ftyp(major: bytes, minor: int, compatible: tuple[bytes, ...]) -> bytes:
    return _box(b"ftyp", major + struct.pack(">I", minor) + b"".join(compatible))


def mp4s(rng: random.Random) -> Iterator[Item]:
    moov = _box(b"moov", _mvhd(1000, 5000) + _trak(640, 360, 12800, 64000, b"vide"))
    minimal = _box(b"moov", _mvhd(600, 600))
    mdat = _box(b"mdat", rng.randbytes(30_000))
    yield (
        "mp4-isom-faststart.mp4",
        (_ftyp(b"isom", 0x200, (b"isom", b"iso2", b"avc1", b"mp41")) + moov + mdat),
    )
    yield (
        "mp4-isom-moov-last.mp4",
        (
            _ftyp(b"isom", 0x200, (b"isom", b"iso2", b"avc1", b"mp41"))
            + _box(b"free", b"")
            + mdat
            + moov
        ),
    )
    yield "mp4-mp42.mp4", _ftyp(b"mp42", 0, (b"mp42", b"isom")) + minimal + mdat
    yield (
        "mp4-mp42-minimal.mp4",
        _ftyp(b"mp42", 1, (b"isom", b"mp42")) + minimal + _box(b"mdat", b""),
    )
    yield (
        "mp4-mp41.mp4",
        _ftyp(b"mp41", 0, (b"mp41", b"isom")) + moov + _box(b"mdat", rng.randbytes(5000)),
    )
    yield "mp4-avc1.mp4", _ftyp(b"avc1", 0, (b"avc1", b"isom")) + moov + mdat
    yield "mp4-iso5-dash.mp4", _ftyp(b"iso5", 512, (b"iso5", b"iso6", b"mp41")) + moov + mdat
    yield (
        "mp4-audio-track.mp4",
        (
            _ftyp(b"mp42", 0, (b"isom", b"mp42"))
            + _box(b"moov", _mvhd(44100, 441000) + _trak(0, 0, 44100, 441000, b"soun"))
            + _box(b"mdat", rng.randbytes(20_000))
        ),
    )
    yield (
        "mp4-large-mdat.mp4",
        (
            _ftyp(b"isom", 0x200, (b"isom", b"iso2", b"mp41"))
            + moov
            + _box(b"mdat", rng.randbytes(300_000))
        ),
    )


# WebM ----------------------------------------------------------------------------------------


def _vint(n: int) -> bytes:
    for length in range(1, 9):
        if n < (1 << (7 * length)) - 1:
            return ((1 << (7 * length)) | n).to_bytes(length, "big")
    raise ValueError(n)


def _el(eid: int, payload: bytes | int | str | float) -> bytes:
    if isinstance(payload, bool):
        raise TypeError(payload)
    if isinstance(payload, int):
        payload = payload.to_bytes(max(1, (payload.bit_length() + 7) // 8), "big")
    elif isinstance(payload, float):
        payload = struct.pack(">d", payload)
    elif isinstance(payload, str):
        payload = payload.encode()
    return eid.to_bytes((eid.bit_length() + 7) // 8, "big") + _vint(len(payload)) + payload


def _ebml_header(doctype: str = "webm", version: int = 4) -> bytes:
    return _el(
        0x1A45DFA3,
        _el(0x4286, 1)
        + _el(0x42F7, 1)
        + _el(0x42F2, 4)
        + _el(0x42F3, 8)
        + _el(0x4282, doctype)
        + _el(0x4287, version)
        + _el(0x4285, 2),
    )


def _webm(
    rng: random.Random,
    codec: str,
    clusters: int,
    unknown_size: bool = False,
    audio: bool = False,
    version: int = 4,
) -> bytes:
    info = _el(
        0x1549A966,
        _el(0x2AD7B1, 1_000_000)
        + _el(0x4D80, "Lavf60.16.100")
        + _el(0x5741, "Lavf60.16.100")
        + _el(0x4489, float(clusters * 1000)),
    )
    if audio:
        media = _el(0xE1, _el(0xB5, 48000.0) + _el(0x9F, 2))
        track = _el(0xD7, 1) + _el(0x73C5, rng.getrandbits(56)) + _el(0x83, 2) + _el(0x86, codec)
    else:
        media = _el(0xE0, _el(0xB0, 640) + _el(0xBA, 360))
        track = _el(0xD7, 1) + _el(0x73C5, rng.getrandbits(56)) + _el(0x83, 1) + _el(0x86, codec)
    tracks = _el(0x1654AE6B, _el(0xAE, track + media))
    body = info + tracks
    for c in range(clusters):
        blocks = b"".join(
            _el(
                0xA3,
                b"\x81"
                + struct.pack(">h", k * 33)
                + b"\x80"
                + rng.randbytes(rng.randint(200, 3000)),
            )
            for k in range(10)
        )
        body += _el(0x1F43B675, _el(0xE7, c * 1000) + blocks)
    if unknown_size:  # what a live recorder (MediaRecorder) writes: size unknown
        segment = b"\x18\x53\x80\x67" + b"\x01\xff\xff\xff\xff\xff\xff\xff" + body
    else:
        segment = _el(0x18538067, body)
    return _ebml_header(version=version) + segment


def webms(rng: random.Random) -> Iterator[Item]:
    yield "webm-vp9.webm", _webm(rng, "V_VP9", 4)
    yield "webm-vp8.webm", _webm(rng, "V_VP8", 2, version=2)
    yield "webm-av1.webm", _webm(rng, "V_AV1", 3)
    yield "webm-opus-audio.webm", _webm(rng, "A_OPUS", 3, audio=True)
    yield "webm-mediarecorder-unknown-size.webm", _webm(rng, "V_VP8", 5, unknown_size=True)
    yield "webm-one-cluster.webm", _webm(rng, "V_VP9", 1)
    yield "webm-large.webm", _webm(rng, "V_VP9", 60)


def runnable_as_txt() -> list[Item]:
    """Text a browser would run or render, or a script that runs as it is (``#!``), named
    ``.txt``: refused by design (the bytes say what it is), so not part of the corpus of files
    that must pass."""
    return [
        ("txt-source-javascript.txt", _JS_SOURCE.encode()),
        ("txt-source-shell.txt", _SH_SOURCE.encode()),
        ("page.txt", b"<!DOCTYPE html><html><body><p>hello</p></body></html>\n"),
        ("drawing.txt", b'<svg xmlns="http://www.w3.org/2000/svg"><circle r="4"/></svg>\n'),
    ]
