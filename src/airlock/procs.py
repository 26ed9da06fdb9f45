"""Whether a process of this host (and pid namespace) still runs."""

from __future__ import annotations

import os


def alive(pid: int) -> bool:
    """True while ``pid`` runs (also someone else's, which we may not signal)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
