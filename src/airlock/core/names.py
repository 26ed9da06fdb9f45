"""Display names: keep Unicode, neutralise everything that could act as a path or a trick."""

from __future__ import annotations

import unicodedata

MAX_NAME_BYTES = 255
FALLBACK_STEM = "file"

# Windows device names are reserved with any extension (CON.txt opens the console).
_WINDOWS_RESERVED = frozenset(
    ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"]
    + [f"{p}{n}" for p in ("COM", "LPT") for n in [*"123456789", "¹", "²", "³"]]
)
# Bidi controls (LRE, RLE, PDF, LRO, RLO, LRI, RLI, FSI, PDI, LRM, RLM, ALM) are category Cf
# and vanish with the other format characters; line/paragraph separators are Zl/Zp.
_DROP_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def sanitize_name(raw: str) -> str:
    """A safe display name for ``raw``; never empty, never a path, at most 255 UTF-8 bytes.

    Unicode letters are kept (``фото.jpg`` stays ``фото.jpg``). Path parts (``/``, ``\\``, and
    characters that NFKC turns into them or into dots) are dropped keeping the last component;
    control, format (bidi override) and separator characters are removed; leading dots and
    surrounding spaces go; Windows device names get a ``_`` prefix; an over-long name is
    shortened keeping its extension.
    """
    name = unicodedata.normalize("NFC", raw)
    name = "".join(_path_twin(ch) for ch in name)
    name = "".join(" " if ch in "\t\r\n" else ch for ch in name)
    name = "".join(ch for ch in name if unicodedata.category(ch) not in _DROP_CATEGORIES)
    parts = [p for p in name.replace("\\", "/").split("/") if _trim(p)]
    name = _trim(parts[-1]) if parts else ""
    if not name:
        return FALLBACK_STEM
    stem, dot, _ext = name.rpartition(".")
    if not dot:
        stem = name
    if stem.split(".")[0].strip(" ").upper() in _WINDOWS_RESERVED:
        name = "_" + name
    return _shorten(name)


def _path_twin(ch: str) -> str:
    """A character that compatibility normalisation (NFKC, which other systems apply) turns into
    a dot or a path separator (fullwidth solidus and full stop, the two-dot leader) becomes that
    ASCII twin, so it is neutralised like it; every other character is kept as it is."""
    if ch.isascii():
        return ch
    folded = unicodedata.normalize("NFKC", ch)
    return folded if any(c in "/\\." for c in folded) else ch


def _trim(part: str) -> str:
    """Without surrounding white space, leading dots and trailing dots (Windows drops those)."""
    previous = None
    while previous != part:
        previous = part
        part = part.strip().lstrip(".").rstrip(".")
    return part


def _shorten(name: str) -> str:
    if len(name.encode("utf-8")) <= MAX_NAME_BYTES:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or len(ext.encode()) > 32:
        stem, dot, ext = name, "", ""
    budget = MAX_NAME_BYTES - len((dot + ext).encode("utf-8"))
    out = _trim(stem.encode("utf-8")[:budget].decode("utf-8", "ignore"))
    return (out or FALLBACK_STEM) + dot + ext


def extension(name: str) -> str:
    """The lower-case extension of a sanitised name, without the dot ('' when there is none)."""
    stem, dot, ext = name.rpartition(".")
    return ext.lower() if dot and stem else ""


def with_extension(name: str, ext: str) -> str:
    """``name`` with ``.ext`` appended, still within the length limit."""
    return _shorten(f"{name}.{ext}")
