"""Whether a process of this host (and pid namespace) still runs."""

from __future__ import annotations

import os


def alive(pid: int) -> bool:
    """True while ``pid`` runs (also someone else's, which we may not signal); a process that
    has died but was not reaped yet (a zombie) does not run."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            # "pid (comm) S ...": the state follows the last ')', as comm may hold any byte
            return stat.read().rpartition(b")")[2].split()[:1] != [b"Z"]
    except OSError:  # no /proc here, or it just went
        return True
