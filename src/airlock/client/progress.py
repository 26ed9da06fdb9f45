"""Progress on stderr: one line per file (bytes, percentage, rate, ETA) and a total line.

On a terminal the lines of the files in flight are redrawn in place, at most ten times a second;
lines of finished files and messages scroll above them. Anywhere else (a log, a pipe) a plain
snapshot is printed at most every ``interval`` seconds and a final line per file, so logs stay
readable. The formatting functions are pure; ``Progress`` owns the clock and the stream.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO

# Decimal units, as the web pages and the size settings (AIRLOCK_MAX_FILE_SIZE=100MB) use them.
_UNITS = ("B", "kB", "MB", "GB", "TB")
RATE_WINDOW = 10.0  # seconds of samples a rate is averaged over
TTY_REDRAW = 0.1  # seconds between redraws on a terminal
NAME_WIDTH = 32  # longer names are shortened in the middle, so the numbers line up


def format_bytes(n: float) -> str:
    """``n`` bytes in decimal units with one decimal (``"12.5 MB"``); plain bytes below 1 kB."""
    unit = 0
    while abs(n) >= 1000 and unit < len(_UNITS) - 1:
        n /= 1000
        unit += 1
    return f"{int(n)} B" if unit == 0 else f"{n:.1f} {_UNITS[unit]}"


def format_rate(bytes_per_second: float | None) -> str:
    """``"3.2 MB/s"``, or ``"-- B/s"`` while there is no rate yet."""
    return "-- B/s" if bytes_per_second is None else f"{format_bytes(bytes_per_second)}/s"


def format_eta(seconds: float | None) -> str:
    """``"0:42"``, ``"1:02:03"``, or ``"--:--"`` when unknown."""
    if seconds is None or seconds != seconds or seconds < 0 or seconds > 99 * 3600:
        return "--:--"
    s = int(seconds + 0.5)
    hours, rest = divmod(s, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def format_line(name: str, done: int, total: int, rate: float | None, status: str = "") -> str:
    """One progress line: ``name  done / total  pct  rate  ETA m:ss`` (or ``status`` in place
    of the ETA, e.g. ``"done"``)."""
    pct = 100 if total == 0 else min(100, int(done * 100 / total))
    eta = None if not rate else (total - done) / rate
    tail = status or f"ETA {format_eta(eta)}"
    return (
        f"{name}  {format_bytes(done)} / {format_bytes(total)}  {pct:3d}%  "
        f"{format_rate(rate)}  {tail}"
    )


def shorten(name: str, width: int) -> str:
    """``name`` cut to ``width`` characters with an ellipsis in the middle."""
    if len(name) <= width:
        return name
    keep = max(width - 1, 2)
    return name[: keep - keep // 2] + "…" + name[len(name) - keep // 2 :]


@dataclass
class _Row:
    name: str
    total: int
    done: int = 0
    state: str = "waiting"  # then "active", and "done" or "failed"
    started_at: float = 0.0
    started_done: int = 0
    samples: deque[tuple[float, int]] = field(default_factory=deque)

    def rate(self) -> float | None:
        if len(self.samples) < 2:
            return None
        (t0, d0), (t1, d1) = self.samples[0], self.samples[-1]
        return (d1 - d0) / (t1 - t0) if t1 - t0 >= 0.5 else None


def _average(sent: int, elapsed: float) -> float | None:
    return sent / elapsed if sent > 0 and elapsed > 0 else None


class Progress:
    """Thread-safe progress display for a set of files, keyed by any hashable."""

    def __init__(
        self, stream: TextIO, files: dict[object, tuple[str, int]], *, tty: bool | None = None,
        interval: float = 5.0, clock: Callable[[], float] = time.monotonic,
    ) -> None:  # fmt: skip
        self._stream = stream
        self._tty = stream.isatty() if tty is None else tty
        self._interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        self._rows = {key: _Row(name, total) for key, (name, total) in files.items()}
        names = [name for name, _ in files.values()]
        names += [self._total_name()] if len(files) > 1 else []
        self._name_width = min(NAME_WIDTH, max((len(n) for n in names), default=0))
        self._drawn = 0  # lines of the live block currently on the terminal
        # Off a terminal the first snapshot comes one interval in: short runs print none.
        self._last_draw = -1e9 if self._tty else clock()
        self._changed = False

    # -- events from the uploads -------------------------------------------------------------

    def start(self, key: object, done: int) -> None:
        """``key`` is being uploaded from byte ``done`` on (non-zero when resuming)."""
        with self._lock:
            row = self._rows[key]
            row.state, row.done, row.started_done = "active", done, done
            row.started_at = self._clock()
            row.samples.clear()
            self._sample(row)
            self._refresh(force=self._tty)

    def update(self, key: object, done: int) -> None:
        """``done`` bytes of ``key`` are on the server (or on their way: it may go back down)."""
        with self._lock:
            row = self._rows[key]
            if done < row.done:
                row.samples.clear()  # resent after an error: the old rate means nothing now
            row.done = done
            self._sample(row)
            self._refresh()

    def finish(self, key: object, ok: bool) -> None:
        """``key`` ended. A finished file's last line (with its average rate) scrolls out of
        the live block; a failed one just leaves it: the caller says why, in its own line."""
        with self._lock:
            row = self._rows[key]
            row.state = "done" if ok else "failed"
            if not ok:
                if self._tty:
                    self._draw()
                return
            now = self._clock()
            rate = _average(row.total - row.started_done, now - (row.started_at or now))
            row.done = row.total
            line = format_line(self._name(row.name), row.done, row.total, rate, "done")
            self._print_above(self._stream, line)

    def message(self, text: str) -> None:
        """A line on stderr, kept clear of the live block."""
        with self._lock:
            self._print_above(self._stream, text)

    def output(self, stream: TextIO, text: str) -> None:
        """A line on another stream (stdout), without tearing the block if both are a terminal."""
        with self._lock:
            self._print_above(stream, text)

    def close(self) -> None:
        """Remove the live block and print the total once, when there was more than one file."""
        with self._lock:
            self._erase()
            if len(self._rows) > 1:
                self._stream.write(self._final_line() + "\n")
            self._stream.flush()

    # -- rendering -------------------------------------------------------------------------

    def _sample(self, row: _Row) -> None:
        now = self._clock()
        row.samples.append((now, row.done))
        while len(row.samples) > 2 and now - row.samples[0][0] > RATE_WINDOW:
            row.samples.popleft()
        self._changed = True

    def _total_name(self) -> str:
        return f"total ({len(self._rows)} files)"

    def _name(self, name: str) -> str:
        return shorten(name, self._name_width).ljust(self._name_width)

    def _final_line(self) -> str:
        ok = [r for r in self._rows.values() if r.state == "done"]
        failed = sum(1 for r in self._rows.values() if r.state == "failed")
        left = len(self._rows) - len(ok) - failed  # an interrupted run
        started = [r.started_at for r in self._rows.values() if r.started_at]
        sent = sum(r.done - r.started_done for r in ok)
        rate = _average(sent, self._clock() - min(started)) if started else None
        status = f"{len(ok)} done" + (f", {failed} failed" if failed else "") + (
            f", {left} not finished" if left else ""
        )
        return format_line(self._name(self._total_name()), sum(r.total for r in ok),
                           sum(r.total for r in self._rows.values()), rate, status)  # fmt: skip

    def _total_line(self) -> str:
        done = sum(r.done for r in self._rows.values() if r.state != "failed")
        total = sum(r.total for r in self._rows.values())
        rates = [r.rate() for r in self._rows.values() if r.state == "active"]
        rate = sum(x for x in rates if x is not None) if any(x is not None for x in rates) else None
        return format_line(self._name(self._total_name()), done, total, rate)

    def _block(self) -> list[str]:
        lines = [
            format_line(self._name(r.name), r.done, r.total, r.rate())
            for r in self._rows.values()
            if r.state == "active"
        ]
        if len(self._rows) > 1 and lines:
            lines.append(self._total_line())
        return lines

    def _refresh(self, force: bool = False) -> None:
        now = self._clock()
        if self._tty:
            if force or now - self._last_draw >= TTY_REDRAW:
                self._draw()
        elif self._changed and now - self._last_draw >= self._interval:
            for line in self._block():
                self._stream.write(line + "\n")
            self._stream.flush()
            self._last_draw, self._changed = now, False

    def _erase(self) -> None:
        if self._tty and self._drawn:
            # Cursor to the start of the block's first line, then clear to the end of screen.
            self._stream.write(f"\x1b[{self._drawn}F\x1b[J")
            self._drawn = 0

    def _draw(self) -> None:
        width = max(20, shutil.get_terminal_size().columns - 1)  # a wrapped line breaks the count
        lines = [line[:width] for line in self._block()]
        self._erase()
        self._stream.write("".join(line + "\n" for line in lines))
        self._stream.flush()
        self._drawn = len(lines)
        self._last_draw = self._clock()

    def _print_above(self, stream: TextIO, text: str) -> None:
        self._erase()
        self._stream.flush()
        stream.write(text + "\n")
        stream.flush()
        if self._tty:
            self._draw()
