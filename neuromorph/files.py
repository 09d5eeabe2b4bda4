"""Safe reading of neuromorph's data files (model, target, config, network files).

A data file is a regular UTF-8 text file of at most :data:`MAX_FILE_BYTES` bytes (a
leading byte-order mark is tolerated). Directories, devices (``/dev/zero``), pipes,
symlink loops, binary or Latin-1 files and oversized files are refused with one line
naming the file, before anything else reads them.
"""
from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path

import tomli

from .errors import InputError

#: Largest data file neuromorph reads (bytes). Model files are a few kB.
MAX_FILE_BYTES = 1_000_000
#: Characters of a bad value echoed back in an error message.
ECHO_CHARS = 200

_OS_ERRORS = {
    errno.ENOENT: "file not found",
    errno.ELOOP: "too many levels of symbolic links (a symlink loop?)",
    errno.EACCES: "permission denied",
    errno.EISDIR: "is a directory, not a file",
    errno.ENOTDIR: "a component of the path is not a directory",
    errno.ENAMETOOLONG: "file name too long",
}


def shorten(value, limit: int = ECHO_CHARS) -> str:
    """``repr(value)`` cut to about ``limit`` characters, saying how long it was."""
    text = repr(value)
    if len(text) <= limit:
        return text
    size = f"{len(value):,} characters" if isinstance(value, str) else f"{len(text):,} characters as text"
    return f"{text[:limit]}... ({size})"


def _os_problem(exc: OSError) -> str:
    return _OS_ERRORS.get(exc.errno, exc.strerror or str(exc))


def read_text_file(path: str | Path, *, max_bytes: int = MAX_FILE_BYTES, error: type[InputError] = InputError) -> str:
    """Text of a regular UTF-8 file of at most ``max_bytes`` bytes, without a byte-order mark.

    Raises
    ------
    InputError (or the given subclass)
        Not a regular file, unreadable, too large, not UTF-8, or binary (contains NUL).
    """
    source = str(path)
    try:
        info = os.stat(path)  # follows symlinks; a loop raises ELOOP
        if stat.S_ISDIR(info.st_mode):
            raise error("is a directory, not a file", source)
        if not stat.S_ISREG(info.st_mode):
            raise error("is not a regular file (a device, pipe or socket); give a text file", source)
        if info.st_size > max_bytes:
            raise error(f"is {info.st_size:,} bytes; data files are limited to {max_bytes:,} bytes", source)
        with open(path, "rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise error(_os_problem(exc), source) from None
    if len(data) > max_bytes:
        raise error(f"is larger than {max_bytes:,} bytes; data files are limited to that", source)
    return _decode(data, source, error)


def _decode(data: bytes, source: str, error: type[InputError]) -> str:
    nul = data.find(b"\x00")
    if nul >= 0:
        raise error(f"is a binary file (NUL byte at offset {nul}); expected UTF-8 text", source)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(f"is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
                    "save it as UTF-8", source) from None


def read_toml_file(path: str | Path, *, error: type[InputError] = InputError) -> dict:
    """Parse a TOML data file read with :func:`read_text_file`; one-line errors."""
    text = read_text_file(path, error=error)
    try:
        return tomli.loads(text)
    except tomli.TOMLDecodeError as exc:
        raise error(f"malformed TOML: {exc}", str(path)) from None
    except (RecursionError, MemoryError):
        raise error("malformed TOML: nesting too deep", str(path)) from None


def replace_file(path: str | Path, write) -> Path:
    """Write ``path`` atomically: ``write(temporary_path)`` creates a new file beside it, which then
    replaces ``path`` (a rename: a symlink at ``path`` is replaced, never followed; a reader sees
    the old file or the new one, never a part)."""
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix or ".tmp")
    os.close(handle)
    try:
        write(Path(temporary))
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise
    return path


def _umask() -> int:
    """The process's file-creation mask (read by setting it and setting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
