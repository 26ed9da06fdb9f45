"""A filesystem that turns read-only on demand under open files, for fault tests (root only).

Linux will not remount a filesystem read-only while any file on it is open for writing
(``mount -o remount,ro`` answers "mount point is busy"), and a running SQLite has its database,
WAL and shared-memory files open read-write for as long as its connections live. Yet a
filesystem does turn read-only under open files in production: ext4 with
``errors=remount-ro`` after an I/O error, an emergency remount, a storage array fencing a
volume. From then on every write fails with ``EROFS`` and a new open for writing too, while
reads go on. ``ReadOnlySwitch`` is that, on demand: a FUSE filesystem that passes every call
through to a backing directory, and while read-only answers ``EROFS`` to whatever would change
it (``write``, ``open`` for writing, create, truncate, unlink, mkdir, rename, chmod, ...), as a
read-only mount does.

    with ReadOnlySwitch(backing_dir, mount_dir) as fs:
        ... a server keeps its SQLite database in mount_dir ...
        fs.set_read_only(True)     # from now on: EROFS
        fs.set_read_only(False)    # writable again, nothing remounted

The filesystem is served by a process of its own (this file run as a script, standard library
only), told what to do over a pipe: a process that serves a FUSE mount must never wait on that
mount itself, and Python stops daemon threads when it exits while its finalizers may still
close files on the mount. When the serving process ends, for any reason, the kernel aborts the
mount's connection: a user of it gets ``ENOTCONN``, never a hang.

One exception, said plainly: pages of a shared writable ``mmap`` that the kernel writes back
by itself (``FUSE_WRITE_CACHE``; SQLite's WAL index, the ``-shm`` file, is such a mapping, and
is memory shared between processes, not data) are still written to the backing file, so that
the kernel's page cache and the file never disagree.

The FUSE protocol is the kernel's ``include/uapi/linux/fuse.h``; this speaks version 7.31,
which every kernel since 5.4 accepts, one request at a time.
"""

from __future__ import annotations

import ctypes
import errno
import os
import select
import stat
import struct
import subprocess
import sys
import threading
from pathlib import Path
from types import TracebackType
from typing import IO, Any

_IN_HEADER = struct.Struct("<IIQQIIIHH")  # len, opcode, unique, nodeid, uid, gid, pid, extlen
_OUT_HEADER = struct.Struct("<IiQ")  # len, error, unique
_ATTR = struct.Struct("<QQQQQQIIIIIIIIII")  # fuse_attr, 88 bytes
_ENTRY = struct.Struct("<QQQQII")  # nodeid, generation, entry_valid, attr_valid, nsec, nsec
_ATTR_OUT = struct.Struct("<QII")  # attr_valid, attr_valid_nsec, dummy
_OPEN_OUT = struct.Struct("<QIi")  # fh, open_flags, backing_id
_INIT_OUT = struct.Struct("<IIIIHHIIHHII" + "H" * 12)  # 64 bytes
_KSTATFS = struct.Struct("<QQQQQIIII" + "I" * 6)
_DIRENT = struct.Struct("<QQII")

(LOOKUP, FORGET, GETATTR, SETATTR, MKDIR, UNLINK, RMDIR, RENAME, OPEN, READ, WRITE, STATFS,
 RELEASE, FSYNC, FLUSH, INIT, OPENDIR, READDIR, RELEASEDIR, FSYNCDIR, ACCESS, CREATE,
 INTERRUPT, DESTROY, BATCH_FORGET) = (1, 2, 3, 4, 9, 10, 11, 12, 14, 15, 16, 17, 18, 20, 25,
                                      26, 27, 28, 29, 30, 34, 35, 36, 38, 42)  # fmt: skip
_NO_REPLY = frozenset({FORGET, BATCH_FORGET, INTERRUPT})

FUSE_GETATTR_FH = 1
FUSE_WRITE_CACHE = 1
FOPEN_KEEP_CACHE = 2
FUSE_BIG_WRITES = 1 << 5
FATTR_MODE, FATTR_UID, FATTR_GID, FATTR_SIZE = 1, 2, 4, 8
FATTR_ATIME, FATTR_MTIME, FATTR_FH, FATTR_ATIME_NOW, FATTR_MTIME_NOW = 16, 32, 64, 128, 256
_MAX_WRITE = 128 * 1024
_VALID = 1  # seconds the kernel may cache names and attributes: every change goes through us
_MS_NOSUID, _MS_NODEV = 2, 4


class FuseError(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(os.strerror(code))
        self.code = code


class _Server:
    """Serves ``backing`` at ``mountpoint``; ``read_only`` makes it refuse writes."""

    def __init__(self, backing: str, mountpoint: str) -> None:
        self.backing = backing
        self.mountpoint = mountpoint
        self.read_only = False
        self.refused = 0  # calls answered EROFS
        self._paths: dict[int, str] = {1: ""}  # nodeid -> path below backing
        self._ids: dict[str, int] = {"": 1}
        self._next_id = 2
        self._dirs: dict[int, list[tuple[str, int]]] = {}
        self._fd = -1
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self.errors: list[str] = []  # what went wrong in the serving thread

    def mount(self) -> None:
        self._fd = os.open("/dev/fuse", os.O_RDWR | os.O_CLOEXEC)
        opts = (f"fd={self._fd},rootmode={stat.S_IFDIR:o},user_id=0,group_id=0,"
                "default_permissions,allow_other").encode()  # fmt: skip
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.mount(b"airlock-rofs", self.mountpoint.encode(), b"fuse.airlock-rofs",
                      _MS_NOSUID | _MS_NODEV, opts) != 0:  # fmt: skip
            code = ctypes.get_errno()
            os.close(self._fd)
            raise OSError(code, f"mounting FUSE at {self.mountpoint}: {os.strerror(code)}")
        self._thread = threading.Thread(target=self._serve, name="rofs", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            self.unmount()
            raise RuntimeError("the kernel sent no FUSE INIT")

    def unmount(self) -> None:
        """Unmount (lazily when something still holds it) while still serving what the
        unmount writes back, then stop."""
        if subprocess.run(["umount", self.mountpoint], capture_output=True).returncode:
            subprocess.run(["umount", "-l", self.mountpoint], capture_output=True)
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    # Serving ----------------------------------------------------------------------------------

    def _serve(self) -> None:
        poller = select.poll()
        poller.register(self._fd, select.POLLIN)
        try:
            while not self._stop.is_set():
                if not poller.poll(100):
                    continue
                try:
                    data = os.read(self._fd, _MAX_WRITE + 64 * 1024)
                except OSError as exc:
                    if exc.errno in (errno.ENOENT, errno.EINTR, errno.EAGAIN):
                        continue  # the request was interrupted before we read it
                    if exc.errno == errno.ENODEV:
                        return  # unmounted
                    raise
                self._handle(data)
        except BaseException as exc:
            self.errors.append(f"serving stopped: {exc!r}")
        finally:
            # Closing the device aborts the connection: whatever still waits on the mount
            # gets ENOTCONN instead of hanging (in this process too).
            fd, self._fd = self._fd, -1
            if fd >= 0:
                os.close(fd)

    def _handle(self, data: bytes) -> None:
        length, opcode, unique, nodeid, *_, extlen, _pad = _IN_HEADER.unpack_from(data)
        body = data[_IN_HEADER.size : length - extlen * 8]
        if opcode in _NO_REPLY:
            return
        try:
            reply = self._dispatch(opcode, nodeid, body)
            error = 0
        except FuseError as exc:
            reply, error = b"", -exc.code
        except OSError as exc:
            reply, error = b"", -(exc.errno or errno.EIO)
        except Exception as exc:  # a bug here: answer EIO (a hung caller helps nobody), keep it
            reply, error = b"", -errno.EIO
            self.errors.append(f"opcode {opcode}: {exc!r}")
        try:
            os.write(self._fd, _OUT_HEADER.pack(_OUT_HEADER.size + len(reply), error, unique)
                     + reply)  # fmt: skip
        except OSError as exc:
            if exc.errno != errno.ENOENT:  # ENOENT: the caller was interrupted meanwhile
                raise
        if opcode == DESTROY:
            self._stop.set()

    def _writable(self) -> None:
        if self.read_only:
            self.refused += 1
            raise FuseError(errno.EROFS)

    def _real(self, nodeid: int) -> str:
        try:
            return os.path.join(self.backing, self._paths[nodeid])
        except KeyError:
            raise FuseError(errno.ENOENT) from None

    def _child(self, nodeid: int, name: bytes) -> str:
        if nodeid not in self._paths:
            raise FuseError(errno.ENOENT)
        return os.path.join(self._paths[nodeid], os.fsdecode(name))

    def _entry(self, rel: str) -> bytes:
        st = os.lstat(os.path.join(self.backing, rel))
        nodeid = self._ids.get(rel)
        if nodeid is None:
            nodeid = self._ids[rel] = self._next_id
            self._paths[nodeid] = rel
            self._next_id += 1
        return _ENTRY.pack(nodeid, 0, _VALID, _VALID, 0, 0) + self._attr(st, nodeid)

    @staticmethod
    def _attr(st: os.stat_result, nodeid: int) -> bytes:
        return _ATTR.pack(
            nodeid, st.st_size, st.st_blocks, int(st.st_atime), int(st.st_mtime),
            int(st.st_ctime), st.st_atime_ns % 10**9, st.st_mtime_ns % 10**9,
            st.st_ctime_ns % 10**9, st.st_mode, st.st_nlink, st.st_uid, st.st_gid, st.st_rdev,
            4096, 0,
        )  # fmt: skip

    def _attr_out(self, st: os.stat_result, nodeid: int) -> bytes:
        return _ATTR_OUT.pack(_VALID, 0, 0) + self._attr(st, nodeid)

    def _forget_name(self, rel: str) -> None:
        # The node stays (open handles still use it); the name now means a new file.
        self._ids.pop(rel, None)

    def _dispatch(self, opcode: int, nodeid: int, body: bytes) -> bytes:
        handler = _HANDLERS.get(opcode)
        if handler is None:
            raise FuseError(errno.ENOSYS)
        return handler(self, nodeid, body)

    # Operations -------------------------------------------------------------------------------

    def _init(self, _nodeid: int, body: bytes) -> bytes:
        major, _minor, readahead, flags = struct.unpack_from("<IIII", body)
        if major != 7:
            raise FuseError(errno.EPROTO)
        self._ready.set()
        return _INIT_OUT.pack(7, 31, readahead, flags & FUSE_BIG_WRITES, 16, 12, _MAX_WRITE, 1,
                              0, 0, 0, 0, *([0] * 12))  # fmt: skip

    def _lookup(self, nodeid: int, body: bytes) -> bytes:
        return self._entry(self._child(nodeid, body.rstrip(b"\0")))

    def _getattr(self, nodeid: int, body: bytes) -> bytes:
        flags, _dummy, fh = struct.unpack_from("<IIQ", body)
        st = os.fstat(fh) if flags & FUSE_GETATTR_FH else os.lstat(self._real(nodeid))
        return self._attr_out(st, nodeid)

    def _setattr(self, nodeid: int, body: bytes) -> bytes:
        (valid, _pad, fh, size, _owner, atime, mtime, _ctime, atimens, mtimens, _ctimens, mode,
         _u4, uid, gid, _u5) = struct.unpack_from("<IIQQQQQQIIIIIIII", body)  # fmt: skip
        self._writable()
        path = self._real(nodeid)
        if valid & FATTR_SIZE:
            if valid & FATTR_FH:
                os.ftruncate(fh, size)
            else:
                os.truncate(path, size)
        if valid & FATTR_MODE:
            os.chmod(path, stat.S_IMODE(mode))
        if valid & (FATTR_UID | FATTR_GID):
            os.chown(path, uid if valid & FATTR_UID else -1, gid if valid & FATTR_GID else -1)
        if valid & (FATTR_ATIME_NOW | FATTR_MTIME_NOW):
            os.utime(path)
        elif valid & (FATTR_ATIME | FATTR_MTIME):
            st = os.lstat(path)
            at = atime * 10**9 + atimens if valid & FATTR_ATIME else st.st_atime_ns
            mt = mtime * 10**9 + mtimens if valid & FATTR_MTIME else st.st_mtime_ns
            os.utime(path, ns=(at, mt))
        return self._attr_out(os.fstat(fh) if valid & FATTR_FH else os.lstat(path), nodeid)

    @staticmethod
    def _flags(flags: int) -> int:
        # The kernel keeps the file offset (and O_APPEND's) itself and sends positioned writes;
        # creation and truncation come as their own requests.
        drop = os.O_CREAT | os.O_EXCL | os.O_TRUNC | os.O_NOCTTY | os.O_APPEND
        return (flags & ~drop) | os.O_CLOEXEC

    def _open(self, nodeid: int, body: bytes) -> bytes:
        (flags,) = struct.unpack_from("<I", body)
        if flags & os.O_ACCMODE != os.O_RDONLY or flags & os.O_TRUNC:
            self._writable()
        fh = os.open(self._real(nodeid), self._flags(flags))
        return _OPEN_OUT.pack(fh, FOPEN_KEEP_CACHE, 0)

    def _create(self, nodeid: int, body: bytes) -> bytes:
        flags, mode, umask, _open_flags = struct.unpack_from("<IIII", body)
        self._writable()
        rel = self._child(nodeid, body[16:].rstrip(b"\0"))
        fh = os.open(os.path.join(self.backing, rel), self._flags(flags) | os.O_CREAT,
                     mode & ~umask & 0o7777)  # fmt: skip
        self._forget_name(rel)
        return self._entry(rel) + _OPEN_OUT.pack(fh, FOPEN_KEEP_CACHE, 0)

    def _read(self, _nodeid: int, body: bytes) -> bytes:
        fh, offset, size = struct.unpack_from("<QQI", body)
        return os.pread(fh, size, offset)

    def _write(self, _nodeid: int, body: bytes) -> bytes:
        fh, offset, size, write_flags = struct.unpack_from("<QQII", body)
        if not write_flags & FUSE_WRITE_CACHE:  # page writeback goes through: see above
            self._writable()
        written = os.pwrite(fh, body[40 : 40 + size], offset)
        return struct.pack("<II", written, 0)

    def _statfs(self, _nodeid: int, _body: bytes) -> bytes:
        s = os.statvfs(self.backing)
        return _KSTATFS.pack(s.f_blocks, s.f_bfree, s.f_bavail, s.f_files, s.f_ffree, s.f_bsize,
                             s.f_namemax, s.f_frsize, 0, *([0] * 6))  # fmt: skip

    def _release(self, _nodeid: int, body: bytes) -> bytes:
        (fh,) = struct.unpack_from("<Q", body)
        os.close(fh)
        return b""

    def _fsync(self, _nodeid: int, body: bytes) -> bytes:
        (fh,) = struct.unpack_from("<Q", body)
        os.fsync(fh)
        return b""

    def _nothing(self, _nodeid: int, _body: bytes) -> bytes:
        return b""

    def _mkdir(self, nodeid: int, body: bytes) -> bytes:
        mode, umask = struct.unpack_from("<II", body)
        self._writable()
        rel = self._child(nodeid, body[8:].rstrip(b"\0"))
        os.mkdir(os.path.join(self.backing, rel), mode & ~umask & 0o7777)
        self._forget_name(rel)
        return self._entry(rel)

    def _unlink(self, nodeid: int, body: bytes) -> bytes:
        self._writable()
        rel = self._child(nodeid, body.rstrip(b"\0"))
        os.unlink(os.path.join(self.backing, rel))
        self._forget_name(rel)
        return b""

    def _rmdir(self, nodeid: int, body: bytes) -> bytes:
        self._writable()
        rel = self._child(nodeid, body.rstrip(b"\0"))
        os.rmdir(os.path.join(self.backing, rel))
        self._forget_name(rel)
        return b""

    def _rename(self, nodeid: int, body: bytes) -> bytes:
        (newdir,) = struct.unpack_from("<Q", body)
        self._writable()
        old_name, new_name = body[8:].rstrip(b"\0").split(b"\0")
        old, new = self._child(nodeid, old_name), self._child(newdir, new_name)
        os.rename(os.path.join(self.backing, old), os.path.join(self.backing, new))
        moved = self._ids.pop(old, None)
        self._forget_name(new)
        if moved is not None:
            self._ids[new] = moved
            self._paths[moved] = new
        return b""

    def _opendir(self, nodeid: int, _body: bytes) -> bytes:
        rel = self._paths.get(nodeid)
        if rel is None:
            raise FuseError(errno.ENOENT)
        names = [(".", stat.S_IFDIR), ("..", stat.S_IFDIR)]
        with os.scandir(os.path.join(self.backing, rel)) as it:
            for e in it:
                names.append((e.name, stat.S_IFMT(e.stat(follow_symlinks=False).st_mode)))
        fh = self._next_id
        self._next_id += 1
        self._dirs[fh] = names
        return _OPEN_OUT.pack(fh, 0, 0)

    def _readdir(self, _nodeid: int, body: bytes) -> bytes:
        fh, offset, size = struct.unpack_from("<QQI", body)
        out = bytearray()
        for index, (name, kind) in enumerate(self._dirs.get(fh, [])[offset:], start=offset + 1):
            raw = os.fsencode(name)
            entry = _DIRENT.pack(0xFFFFFFFF, index, len(raw), kind >> 12) + raw
            entry += b"\0" * (-len(entry) % 8)
            if len(out) + len(entry) > size:
                break
            out += entry
        return bytes(out)

    def _releasedir(self, _nodeid: int, body: bytes) -> bytes:
        (fh,) = struct.unpack_from("<Q", body)
        self._dirs.pop(fh, None)
        return b""

    def _access(self, _nodeid: int, body: bytes) -> bytes:
        (mask,) = struct.unpack_from("<I", body)
        if mask & os.W_OK and self.read_only:
            raise FuseError(errno.EROFS)
        return b""


_HANDLERS: dict[int, Any] = {
    INIT: _Server._init, LOOKUP: _Server._lookup,
    GETATTR: _Server._getattr, SETATTR: _Server._setattr,
    OPEN: _Server._open, CREATE: _Server._create, READ: _Server._read,
    WRITE: _Server._write, STATFS: _Server._statfs,
    RELEASE: _Server._release, FSYNC: _Server._fsync,
    FLUSH: _Server._nothing, DESTROY: _Server._nothing,
    FSYNCDIR: _Server._nothing, MKDIR: _Server._mkdir,
    UNLINK: _Server._unlink, RMDIR: _Server._rmdir,
    RENAME: _Server._rename, OPENDIR: _Server._opendir,
    READDIR: _Server._readdir, RELEASEDIR: _Server._releasedir,
    ACCESS: _Server._access,
}  # fmt: skip


# The serving process and its client -----------------------------------------------------------


def _main(backing: str, mountpoint: str) -> int:
    """Serve, and obey one command a line on stdin: ``ro``, ``rw``, ``stats``; each answered
    ``ok REFUSED ERRORS`` on stdout. End of stdin: unmount and exit."""
    server = _Server(backing, mountpoint)
    server.mount()
    print("ready", flush=True)
    try:
        for line in sys.stdin:
            command = line.strip()
            if command in ("ro", "rw"):
                server.read_only = command == "ro"
            elif command != "stats":
                print(f"unknown command {command!r}", flush=True)
                continue
            print(f"ok {server.refused} {len(server.errors)}", flush=True)
    finally:
        server.unmount()
        for error in server.errors:
            print(f"rofs: {error}", file=sys.stderr)
    return 0


class ReadOnlySwitch:
    """``backing`` seen at ``mountpoint`` through FUSE, served by a process of its own (see the
    module's doc); ``set_read_only`` turns it read-only and back."""

    def __init__(self, backing: Path, mountpoint: Path) -> None:
        self.backing = backing
        self.mountpoint = mountpoint
        self.refused = 0  # calls answered EROFS so far (as of the last command)
        self.errors = 0  # requests the server failed on a bug of its own (answered EIO)
        self._proc: subprocess.Popen[str] | None = None

    def mount(self) -> ReadOnlySwitch:
        self._proc = subprocess.Popen(
            [sys.executable, __file__, str(self.backing), str(self.mountpoint)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, start_new_session=True,
        )  # fmt: skip
        try:
            if self._answer(15) != "ready":
                raise RuntimeError("the FUSE server did not start")
        except BaseException:
            self.unmount()
            raise
        return self

    def _answer(self, timeout: float) -> str:
        assert self._proc is not None and self._proc.stdout is not None
        stdout: IO[str] = self._proc.stdout
        ready, _, _ = select.select([stdout], [], [], timeout)
        if not ready:
            raise RuntimeError("the FUSE server did not answer")
        return stdout.readline().strip()

    def _command(self, command: str) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        self._proc.stdin.write(command + "\n")
        self._proc.stdin.flush()
        answer = self._answer(10).split()
        if len(answer) != 3 or answer[0] != "ok":
            raise RuntimeError(f"the FUSE server answered {answer}")
        self.refused, self.errors = int(answer[1]), int(answer[2])

    def set_read_only(self, on: bool) -> None:
        """From when this returns, refuse (``on``) or allow every change."""
        self._command("ro" if on else "rw")

    def stats(self) -> None:
        """Bring ``refused`` and ``errors`` up to date."""
        self._command("stats")

    def unmount(self) -> None:
        """Unmount and stop the server (killed after 20 s; the mount is then detached)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            if proc.stdin is not None:
                proc.stdin.close()
            proc.wait(20)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait(10)
        finally:
            if proc.stdout is not None:
                proc.stdout.close()
            mounted = any(line.split()[1] == str(self.mountpoint)
                          for line in Path("/proc/mounts").read_text().splitlines())  # fmt: skip
            if mounted:
                subprocess.run(["umount", "-l", str(self.mountpoint)], capture_output=True)

    def __enter__(self) -> ReadOnlySwitch:
        return self.mount()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:  # fmt: skip
        self.unmount()


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1], sys.argv[2]))
