"""A real clamd (Debian's ``clamav-daemon``) on a unix socket in a temp dir, with a signature
database written at start: the EICAR test string as an ``.ndb`` hex signature (assembled here
from two halves, so no file of the repository is itself a test virus) and one ``.hdb`` hash
line for ``HASHED_SAMPLE``. ``freshclam`` never runs; nothing is downloaded."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

EICAR = ("X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*").encode()
EICAR_SIGNATURE = "Airlock.Test.EICAR"
HASHED_SAMPLE = b"Airlock test sample: known only by its hash\n"
HASHED_SIGNATURE = "Airlock.Test.Hashed"
MAX_BYTES = "4000M"  # StreamMaxLength, MaxFileSize, MaxScanSize: above any upload the tests send

CONFIG = """\
LocalSocket {socket}
DatabaseDirectory {db}
TemporaryDirectory {tmp}
PidFile {pid}
LogFile {log}
LogTime yes
Foreground yes
StreamMaxLength {max}
MaxFileSize {max}
MaxScanSize {max}
"""


def clamd_binary() -> str:
    found = shutil.which("clamd") or ("/usr/sbin/clamd" if os.path.exists("/usr/sbin/clamd") else None)
    if found is None:
        raise RuntimeError("clamd is missing: scripts/setup installs Debian's clamav-daemon")
    return found


@dataclass
class Clamd:
    """``clamd`` in the foreground; ``url`` is what ``AIRLOCK_CLAMD`` takes."""

    root: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def socket(self) -> Path:
        return self.root / "clamd.sock"

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def _write_config(self) -> Path:
        db, tmp = self.root / "db", self.root / "tmp"
        db.mkdir(parents=True, exist_ok=True)
        tmp.mkdir(exist_ok=True)
        (db / "airlock-test.ndb").write_text(f"{EICAR_SIGNATURE}:0:*:{EICAR.hex()}\n")
        md5 = hashlib.md5(HASHED_SAMPLE).hexdigest()
        (db / "airlock-test.hdb").write_text(f"{md5}:{len(HASHED_SAMPLE)}:{HASHED_SIGNATURE}\n")
        conf = self.root / "clamd.conf"
        conf.write_text(CONFIG.format(socket=self.socket, db=db, tmp=tmp, pid=self.root / "pid",
                                      log=self.root / "clamd.log", max=MAX_BYTES))  # fmt: skip
        return conf

    def start(self) -> Clamd:
        conf = self._write_config()
        self.socket.unlink(missing_ok=True)
        self.proc = subprocess.Popen([clamd_binary(), "-c", str(conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"clamd exited: {self.log()}")
            if self.socket.exists():
                return self
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"clamd did not start: {self.log()}")

    def add_signature(self, name: str, sample: bytes) -> None:
        """A new hash signature for ``sample`` (as a signature update would bring); in force
        once clamd is started again."""
        md5 = hashlib.md5(sample).hexdigest()
        with open(self.root / "db" / "airlock-late.hdb", "a") as out:
            out.write(f"{md5}:{len(sample)}:{name}\n")

    def log(self) -> str:
        path = self.root / "clamd.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def stop(self) -> None:
        """Kill it outright (as a crash would), and wait."""
        if self.proc is not None and self.proc.poll() is None:
            self.resume()
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)
        self.proc = None
        self.socket.unlink(missing_ok=True)

    def pause(self) -> None:
        """Freeze it: connections still open (the kernel queues them), nothing answers."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGCONT)
