"""The storage conformance suite: the executable spec every backend must pass.

``check_storage(storage)`` runs each rule against a live backend (the tests run it for every
backend, ``airlock check`` runs it on the configured one) and raises ``AssertionError`` naming
the first rule broken; ``check_staging(staging, storage)`` does the same for a staging and the
storage it commits into. Both only touch keys they create, and delete them.
"""

from __future__ import annotations

import io
import os

from airlock.core.ids import new_id
from airlock.storage.base import Lister, LocalPaths, Staging, Storage


def check_storage(storage: Storage) -> list[str]:
    """Run every rule; return the names of the rules that passed (all of them, or it raises)."""
    passed = []
    for rule in (_put_and_read_back, _ranged_reads, _stat_and_missing, _delete_is_idempotent,
                 _put_is_atomic_on_short_input, _optional_capabilities):  # fmt: skip
        rule(storage)
        passed.append(rule.__name__.lstrip("_"))
    return passed


def _put_and_read_back(storage: Storage) -> None:
    key, data = new_id(), os.urandom(300_000)
    storage.put(key, io.BytesIO(data), len(data))
    try:
        with storage.open(key) as fh:
            assert fh.read() == data, "put then open must give back the same bytes"
    finally:
        storage.delete(key)


def _ranged_reads(storage: Storage) -> None:
    key, data = new_id(), bytes(range(256)) * 16
    storage.put(key, io.BytesIO(data), len(data))
    try:
        with storage.open(key, 10, 20) as fh:
            assert fh.read() == data[10:20], "open(start, stop) must give exactly that span"
        with storage.open(key, 4000) as fh:
            assert fh.read() == data[4000:], "open(start) must read to the end"
        with storage.open(key, 0, 10**9) as fh:
            assert fh.read() == data, "a stop past the end must be clamped"
    finally:
        storage.delete(key)


def _stat_and_missing(storage: Storage) -> None:
    key = new_id()
    assert storage.stat(key) is None, "stat of a missing key must be None"
    try:
        storage.open(key)
    except FileNotFoundError:
        pass
    else:
        raise AssertionError("open of a missing key must raise FileNotFoundError")
    storage.put(key, io.BytesIO(b"abc"), 3)
    try:
        st = storage.stat(key)
        assert st is not None and st.size == 3 and st.key == key, "stat must report the size"
    finally:
        storage.delete(key)


def _delete_is_idempotent(storage: Storage) -> None:
    key = new_id()
    storage.put(key, io.BytesIO(b"x"), 1)
    storage.delete(key)
    storage.delete(key)
    assert storage.stat(key) is None, "a deleted key must be gone"


def _put_is_atomic_on_short_input(storage: Storage) -> None:
    key = new_id()
    try:
        storage.put(key, io.BytesIO(b"short"), 10)
    except ValueError:
        pass
    else:
        storage.delete(key)
        raise AssertionError("put must refuse a source shorter than the size given")
    assert storage.stat(key) is None, "a failed put must leave nothing under the key"


def _optional_capabilities(storage: Storage) -> None:
    if isinstance(storage, Lister):
        key = new_id()
        storage.put(key, io.BytesIO(b"listed"), 6)
        try:
            assert key in {o.key for o in storage.list()}, "list must include a stored key"
        finally:
            storage.delete(key)
    if isinstance(storage, LocalPaths):
        key = new_id()
        storage.put(key, io.BytesIO(b"local"), 5)
        try:
            assert storage.path(key).read_bytes() == b"local", "path must hold the bytes"
        finally:
            storage.delete(key)


def check_staging(staging: Staging, storage: Storage) -> list[str]:
    """Run every staging rule; the names of those that passed (all, or it raises)."""
    passed = []
    for rule in (_stage_read_and_commit, _abort_undoes, _discard_is_idempotent):
        rule(staging, storage)
        passed.append(rule.__name__.lstrip("_"))
    return passed


def _stage_read_and_commit(staging: Staging, storage: Storage) -> None:
    data = os.urandom(9 * 1024 * 1024 + 17)  # more than one part of an object store's upload
    sid = staging.create()
    sink = staging.writer(sid, 0)
    for start in range(0, len(data), 1024 * 1024):
        sink.write(data[start : start + 1024 * 1024])
    sink.close()
    assert staging.size(sid) == len(data), "size must count every staged byte"
    staging.seal(sid)
    staging.seal(sid)  # safe to repeat
    with staging.reader(sid) as view:
        view.seek(len(data) - 22)
        assert view.read() == data[-22:], "the view must read from any position"
        view.seek(0)
        assert view.read(10) == data[:10], "the view must seek back"
    key = staging.commit(sid)
    try:
        with storage.open(key) as fh:
            assert fh.read() == data, "a commit must hand over exactly the staged bytes"
    finally:
        storage.delete(key)


def _abort_undoes(staging: Staging, storage: Storage) -> None:
    sid = staging.create()
    sink = staging.writer(sid, 0)
    sink.write(b"never kept")
    sink.abort()
    try:
        assert staging.size(sid) == 0, "abort must undo what the sink wrote"
    finally:
        staging.discard(sid)


def _discard_is_idempotent(staging: Staging, storage: Storage) -> None:
    sid = staging.create()
    sink = staging.writer(sid, 0)
    sink.write(b"gone")
    sink.close()
    staging.discard(sid)
    staging.discard(sid)
    assert staging.size(sid) == 0, "a discarded upload must be gone"


def check_resumable_staging(staging: Staging, storage: Storage) -> list[str]:
    """The rules of a staging for resumable uploads, on top of ``check_staging``'s: appends at
    the staged size across several writers, a writer at an earlier offset drops what lay past
    it, reads before the commit, and joining uploads."""
    passed = check_staging(staging, storage)
    rules = (_appends_resume, _writer_truncates, _truncates_at_a_sync, _release_keeps,
             _reopens_sealed, _joins)  # fmt: skip
    for rule in rules:
        rule(staging, storage)
        passed.append(rule.__name__.lstrip("_"))
    return passed


def _append(staging: Staging, sid: str, offset: int, data: bytes, sync_every: int = 0) -> None:
    sink = staging.writer(sid, offset)
    for start in range(0, len(data), 1024 * 1024):
        sink.write(data[start : start + 1024 * 1024])
        if sync_every and (start // (1024 * 1024)) % sync_every == 0:
            sink.sync()
    sink.close()


def _appends_resume(staging: Staging, storage: Storage) -> None:
    first, second = os.urandom(3 * 1024 * 1024 + 5), os.urandom(10 * 1024 * 1024 + 7)
    sid = staging.create()
    try:
        _append(staging, sid, 0, first, sync_every=2)
        assert staging.size(sid) == len(first), "a closed writer's bytes must be staged"
        _append(staging, sid, len(first), second)
        data = first + second
        assert staging.size(sid) == len(data), "a second writer must append at the offset"
        staging.seal(sid)
        assert staging.size(sid) == len(data), "sealing keeps every byte"
        with staging.reader(sid) as view:
            view.seek(len(first) - 3)
            assert view.read(6) == data[len(first) - 3 : len(first) + 3], "reads span writers"
            view.seek(0)
            assert view.read() == data, "the view must hold every byte before the commit"
        key = staging.commit(sid)
        with storage.open(key) as fh:
            assert fh.read() == data, "the commit must join the bytes in order"
        storage.delete(key)
    finally:
        staging.discard(sid)


def _writer_truncates(staging: Staging, storage: Storage) -> None:
    sid = staging.create()
    try:
        _append(staging, sid, 0, b"0123456789")
        _append(staging, sid, 4, b"abc")
        assert staging.size(sid) == 7, "a writer at an earlier offset drops what lay past it"
        with staging.reader(sid) as view:
            assert view.read() == b"0123abc", "a small upload reads back before the seal"
    finally:
        staging.discard(sid)


def _truncates_at_a_sync(staging: Staging, storage: Storage) -> None:
    """What a crashed writer left past the last offset it reported is dropped by the next."""
    kept, lost, again = (os.urandom(n) for n in (9 * 1024 * 1024 + 3, 6 * 1024 * 1024, 1000))
    sid = staging.create()
    try:
        sink = staging.writer(sid, 0)
        sink.write(kept)
        sink.sync()
        sink.write(lost)
        sink.sync()
        sink.release()  # the process died here; it had reported only ``kept``
        assert staging.size(sid) >= len(kept), "synced bytes must be staged"
        _append(staging, sid, len(kept), again)
        assert staging.size(sid) == len(kept) + len(again), "what lay past the offset is gone"
        staging.seal(sid)
        with staging.reader(sid) as view:
            assert view.read() == kept + again, "the bytes after the cut follow the kept ones"
    finally:
        staging.discard(sid)


def _release_keeps(staging: Staging, storage: Storage) -> None:
    """``release`` neither writes nor undoes: what a sync made durable stays."""
    sid = staging.create()
    try:
        sink = staging.writer(sid, 0)
        sink.write(b"synced ")
        sink.sync()
        sink.release()
        assert staging.size(sid) == 7, "release must keep what was synced"
        _append(staging, sid, 7, b"and more")
        with staging.reader(sid) as view:
            assert view.read() == b"synced and more"
    finally:
        staging.discard(sid)


def _reopens_sealed(staging: Staging, storage: Storage) -> None:
    """A sealed upload takes its last bytes again (the request that sealed it died before its
    checks decided, and the client resends from the offset recorded before)."""
    data, again = os.urandom(7 * 1024 * 1024 + 3), os.urandom(1024 * 1024)
    cut = 6 * 1024 * 1024 + 1
    sid = staging.create()
    try:
        _append(staging, sid, 0, data)
        staging.seal(sid)
        _append(staging, sid, len(data), b"")  # every byte there: nothing changes
        assert staging.size(sid) == len(data)
        _append(staging, sid, cut, again)
        assert staging.size(sid) == cut + len(again), "the resent bytes replace the old"
        staging.seal(sid)
        with staging.reader(sid) as view:
            assert view.read() == data[:cut] + again, "a resealed upload holds what was sent"
    finally:
        staging.discard(sid)


def _joins(staging: Staging, storage: Storage) -> None:
    """Small uploads, and large ones whose stretches an object store copies itself."""
    mib = 1024 * 1024
    for sizes in ((12, 11), (6 * mib + 1, 3 * mib, 7 * mib, 2)):
        datas = [os.urandom(n) for n in sizes]
        sids = [staging.create() for _ in datas]
        joined = staging.create()
        try:
            for sid, data in zip(sids, datas, strict=True):
                _append(staging, sid, 0, data)
                staging.seal(sid)
            staging.concatenate(joined, sids)
            staging.seal(joined)
            assert staging.size(joined) == sum(sizes), "a join holds every byte"
            with staging.reader(joined) as view:
                assert view.read() == b"".join(datas), "concatenate joins in order"
        finally:
            for sid in (*sids, joined):
                staging.discard(sid)
