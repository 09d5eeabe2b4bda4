"""JSON-lines results files that survive interruption, concurrency and damage.

* **One writer per file**: :func:`exclusive` holds a POSIX lock on ``<file>.lock`` (released
  by the kernel when the process ends, even by ``kill -9``; not inherited by forked
  workers). A second writer waits for it, or refuses when asked not to wait.
* **Whole records**: :func:`append_record` writes one line, newline included, with a
  single ``O_APPEND`` write, then ``fsync``.
* **Repair**: :func:`repair` gives a complete last line its missing newline and cuts off a
  torn one (the record is simply computed again).
* **Tolerant reading**: :func:`read_records` skips malformed lines (torn JSON, garbage,
  records that fail validation) with a warning naming the line number.

These functions know nothing about what the records mean or who computes them, so they
serve a process pool, Dask or a single process alike.
"""
from __future__ import annotations

import errno
import fcntl
import json
import math
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from .errors import NeuromorphError

#: Bytes read from the end of a file to find its last line when repairing it.
TAIL_BYTES = 1 << 20


class ResultsBusy(NeuromorphError):
    """Another process is writing the same results file."""


def json_safe(value):
    """``value`` with every non-finite float replaced by None (so the JSON stays valid)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def to_json_line(record: dict) -> bytes:
    """One record as a UTF-8 JSON line (no NaN or Infinity, ends with a newline)."""
    return (json.dumps(json_safe(record), allow_nan=False) + "\n").encode()


def _lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


def _holder(lock_path: Path) -> str:
    try:
        return lock_path.read_text().strip() or "unknown"
    except OSError:
        return "unknown"


@contextmanager
def exclusive(path: Path, wait: bool = True, notify: Callable[[str], None] = lambda m: None) -> Iterator[None]:
    """Hold the only write access to ``path`` for the duration of the block.

    Raises
    ------
    ResultsBusy
        When another process holds it and ``wait`` is False.
    """
    lock_path = _lock_path(Path(path))
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EACCES, errno.EAGAIN):
                raise
            holder = _holder(lock_path)
            if not wait:
                raise ResultsBusy(f"{path} is being written by another neuromorph process (pid {holder}); "
                                  "wait for it to finish or choose another --out") from None
            notify(f"waiting for the neuromorph process (pid {holder}) that is writing {path}")
            fcntl.lockf(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


def _last_line_start(handle, size: int) -> int:
    """Offset just after the last newline of an open binary file (0 if it has none)."""
    end = size
    while end > 0:
        start = max(0, end - TAIL_BYTES)
        handle.seek(start)
        chunk = handle.read(end - start)
        if b"\n" in chunk:
            return start + chunk.rfind(b"\n") + 1
        end = start
    return 0


def _parses(line: bytes) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except (ValueError, RecursionError):
        return False


def repair(path: Path, warn: Callable[[str], None] = lambda m: None) -> None:
    """Make ``path`` end with a newline: a complete last record gets its newline, a torn
    last line (an interrupted write) is removed. Call it while holding :func:`exclusive`."""
    path = Path(path)
    if not path.exists() or path.stat().st_size == 0:
        return
    with path.open("rb+") as handle:
        size = handle.seek(0, os.SEEK_END)
        handle.seek(size - 1)
        if handle.read(1) == b"\n":
            return
        cut = _last_line_start(handle, size)
        handle.seek(cut)
        if size - cut <= TAIL_BYTES and _parses(handle.read()):
            handle.seek(0, os.SEEK_END)
            handle.write(b"\n")
        else:
            handle.truncate(cut)
            warn(f"{path}: removed an incomplete last line (an interrupted write); it will be computed again")
        handle.flush()
        os.fsync(handle.fileno())


def append_record(path: Path, record: dict) -> None:
    """Append one record as a whole line with its newline, and flush it to disk."""
    data = to_json_line(record)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)


def read_records(path: Path, check: Callable[[dict], str | None] = lambda r: None,
                 warn: Callable[[str], None] = lambda m: None) -> list[dict]:
    """Valid records of a JSON-lines file in file order; malformed lines are skipped with a
    warning ``file:line: why``. ``check(record)`` returns why a parsed record is invalid."""
    path = Path(path)
    if not path.exists():
        return []
    records = []
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, 1):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)
            except (ValueError, RecursionError):
                warn(f"{path}:{number}: skipped a malformed line (not JSON)")
                continue
            problem = "not a JSON object" if not isinstance(record, dict) else check(record)
            if problem:
                warn(f"{path}:{number}: skipped a record: {problem}")
                continue
            records.append(record)
    return records
