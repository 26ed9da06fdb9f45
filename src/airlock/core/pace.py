"""How slowly a request may arrive, the decision half of slow-client protection (no I/O, no
clock: callers pass ``now``). The rule is Apache ``mod_reqtimeout``'s: a body has ``grace``
seconds, plus one more second for every ``min_rate`` bytes received, so a client that keeps up
the rate on average is never cut, however large the body, and one that stops or trickles is."""

from __future__ import annotations

from dataclasses import dataclass

MIN_READ = 1024


@dataclass(frozen=True)
class Pace:
    """The allowance of one body that started arriving at ``start`` (seconds, monotonic)."""

    start: float
    grace: float
    min_rate: float

    def deadline(self, received: int) -> float:
        """When the body is too slow, with ``received`` bytes in."""
        return self.start + self.grace + received / self.min_rate

    def read_size(self, received: int, now: float, most: int) -> int:
        """How many bytes to ask for next: what half the time left covers at the minimum rate
        (at least ``MIN_READ``, at most ``most``). A read that has to wait for that many bytes
        then ends well within the allowance for any client at the minimum rate, so what was
        received is counted before the deadline is judged."""
        left = self.deadline(received) - now
        return max(MIN_READ, min(most, int(left * self.min_rate / 2)))
