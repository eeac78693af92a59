"""Reading and writing the files the tool is pointed at, safely when it runs as root.

A regular file is replaced through a temporary file and a rename, so a reader (a monitoring
collector, the next scheduled run) never sees half a file. Anything else, a device such as
/dev/null, a FIFO or a terminal, must be written in place: renaming over it would replace
/dev/null with a regular file for the whole machine.

Every name is opened relative to a descriptor of its folder, and nothing is looked up twice: a
path is never resolved first and opened later. In a world-writable sticky folder (``/tmp``) the
rule of the kernel's ``protected_symlinks`` and ``protected_regular`` applies whatever the
kernel's own settings: a symbolic link, or an existing file, owned by someone other than this
user and the folder's owner is refused, so root never writes through a link another user
planted, nor into a file another user prepared. A link that passes is followed, so the file it
points to is updated and the link kept. Temporary files that a killed run left behind are removed
by the next write to the same file.

Configuration, state, secret and CA files are read only when they are regular files: a FIFO or
a device would block the run or never end (:func:`read_regular`).
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from typing import Iterable, Optional, Tuple

_TMP_TAG = ".arc-preflight-tmp-"
_MAX_LINKS = 8  # links followed in a row before giving up (the kernel allows 40)
_STALE_S = 600.0  # a temporary file this old is left over whatever its process id says
_DIR_FD = os.open in os.supports_dir_fd and os.stat in os.supports_dir_fd and hasattr(
    os, "O_NOFOLLOW") and hasattr(os, "O_DIRECTORY")


class NotRegularFile(OSError):
    """A path that must be a regular file is a FIFO, a device, a socket or a folder."""


class UnsafeFile(OSError):
    """A link or file planted by another user in a world-writable sticky folder."""


def _umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _shared_sticky(folder: os.stat_result) -> bool:
    """A folder anyone may create files in, where only owners may remove them (``/tmp``)."""
    return bool(folder.st_mode & stat.S_ISVTX) and bool(folder.st_mode & stat.S_IWOTH)


def _planted(folder: os.stat_result, entry: os.stat_result) -> bool:
    """An entry in a shared sticky folder that neither this user nor the folder's owner made."""
    if not _shared_sticky(folder):
        return False
    return entry.st_uid not in (os.geteuid(), folder.st_uid)


_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(
    os, "O_BINARY", 0)


def open_regular(path: str, what: str = "file", *, nofollow: bool = False
                 ) -> Tuple[int, os.stat_result]:
    """A descriptor of ``path`` and its status, or :class:`NotRegularFile` (descriptor closed)
    unless it is a regular file. The caller closes the descriptor.

    The file is opened without blocking (a FIFO with no writer would wait for ever) and its
    type is read from the open descriptor, so nothing can be swapped in between. ``nofollow``
    refuses a symbolic link as the last part of the path (logs a service writes as root)."""
    fd = os.open(path, _READ_FLAGS | (getattr(os, "O_NOFOLLOW", 0) if nofollow else 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotRegularFile(errno.EINVAL, f"{what} {path} is {_kind(info.st_mode)}, "
                                 "expected a regular file", path)
    except BaseException:
        os.close(fd)
        raise
    return fd, info


def read_regular(path: str, limit: int, what: str = "file") -> bytes:
    """At most ``limit`` + 1 bytes of ``path``; :class:`NotRegularFile` unless it is a regular
    file (see :func:`open_regular`)."""
    fd, _info = open_regular(path, what)
    try:
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        chunks = []
        total = 0
        while total <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def check_readable_regular(path: str, what: str) -> Optional[str]:
    """Why ``path`` cannot be used as a ``what`` (a FIFO, a device...), or None when it is a
    regular file or does not exist (the caller reports a missing file its own way)."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    if stat.S_ISREG(info.st_mode):
        return None
    return f"{what} {path} is {_kind(info.st_mode)}, expected a regular file"


def _open_folder(path: str) -> Tuple[int, str]:
    folder, name = os.path.split(path)
    if not name or name in (".", ".."):
        raise IsADirectoryError(errno.EISDIR, "is a directory", path)
    fd = os.open(folder or ".", os.O_RDONLY | os.O_DIRECTORY)
    return fd, name


def _follow(dir_fd: int, name: str, folder: os.stat_result, path: str) -> Optional[str]:
    """The target of ``name`` when it is a link this run may follow, None when it is no link;
    :class:`UnsafeFile` for a link planted by another user."""
    try:
        entry = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None
    if not stat.S_ISLNK(entry.st_mode):
        if _planted(folder, entry):
            raise UnsafeFile(errno.EPERM, f"{path} belongs to another user (uid {entry.st_uid}) "
                             "in a world-writable folder; refusing to write into it", path)
        return None
    if _planted(folder, entry):
        raise UnsafeFile(errno.EPERM, f"{path} is a symbolic link owned by another user "
                         f"(uid {entry.st_uid}) in a world-writable folder; refusing to follow it",
                         path)
    return os.readlink(name, dir_fd=dir_fd)


def _clean_stale(dir_fd: int, name: str) -> None:
    """Remove temporary files for ``name`` that a killed run left behind (ours, not in use)."""
    prefix = f".{name}{_TMP_TAG}"
    import time

    with contextlib.suppress(OSError):
        for entry in os.scandir(dir_fd):
            if not entry.name.startswith(prefix):
                continue
            with contextlib.suppress(OSError, ValueError):
                info = entry.stat(follow_symlinks=False)
                if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid():
                    continue
                pid = int(entry.name[len(prefix):].split("-", 1)[0])
                alive = True
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    alive = False
                except PermissionError:
                    alive = True
                if pid == os.getpid() or not alive or time.time() - info.st_mtime > _STALE_S:
                    os.unlink(entry.name, dir_fd=dir_fd)


def write_text(path: str, text: str) -> None:
    """Write ``text`` to ``path``; raises OSError for the caller to report."""
    write_chunks(path, (text,))


def write_chunks(path: str, chunks: Iterable[str]) -> None:
    """Write the pieces of a text to ``path`` as they come, with the guarantees of
    :func:`write_text`: a regular file is only ever replaced whole, and if a piece cannot be
    written (a full disk) or cannot be made (the caller's error), the temporary file goes and
    the old file stays. For outputs too big to hold at once (a fleet's CSV); raises OSError."""
    if not _DIR_FD:  # pragma: no cover - Windows: no descriptor-relative calls
        _write_simple(path, chunks)
        return
    for _ in range(_MAX_LINKS):
        dir_fd, name = _open_folder(path)
        try:
            folder = os.fstat(dir_fd)
            target = _follow(dir_fd, name, folder, path)
            if target is None:
                _write_at(dir_fd, name, folder, path, chunks)
                return
        finally:
            os.close(dir_fd)
        # A link this user may follow: write to what it points at, judged the same way there.
        path = target if os.path.isabs(target) else os.path.join(os.path.dirname(path), target)
    raise OSError(errno.ELOOP, "too many levels of symbolic links", path)


def _open_in_place(dir_fd: int, name: str, wait: float = 2.0) -> int:
    """Open a device or FIFO for writing without blocking; a FIFO gets ``wait`` seconds for a
    reader to come, then the write fails (ENXIO) instead of hanging the run."""
    import time

    ends = time.monotonic() + wait
    while True:
        try:
            return os.open(name, os.O_WRONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY,
                           dir_fd=dir_fd)
        except OSError as exc:
            if exc.errno != errno.ENXIO or time.monotonic() > ends:
                raise
            time.sleep(0.05)


def _write_all(fd: int, chunks: Iterable[str]) -> None:
    for chunk in chunks:
        view = memoryview(chunk.encode("utf-8"))
        while view:
            view = view[os.write(fd, view):]


def _write_at(dir_fd: int, name: str, folder: os.stat_result, path: str,
              chunks: Iterable[str]) -> None:
    try:
        existing: Optional[os.stat_result] = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        existing = None
    if existing is not None and stat.S_ISDIR(existing.st_mode):
        raise IsADirectoryError(errno.EISDIR, "is a directory", path)
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        # A device, FIFO or terminal: written in place. A FIFO nobody reads is an error (ENXIO)
        # rather than a run blocked for ever.
        fd = _open_in_place(dir_fd, name)
        try:
            os.set_blocking(fd, True)
            _write_all(fd, chunks)
        finally:
            os.close(fd)
        return
    _clean_stale(dir_fd, name)
    tmp = f".{name}{_TMP_TAG}{os.getpid()}-{os.urandom(4).hex()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600,
                 dir_fd=dir_fd)
    try:
        try:
            _write_all(fd, chunks)
            os.fsync(fd)
            # Keep the permissions an existing file had; a new one gets what open() would give
            # (0600 would hide a report from, say, node_exporter's collector).
            mode = stat.S_IMODE(existing.st_mode) if existing is not None else 0o666 & ~_umask()
            with contextlib.suppress(OSError):
                os.fchmod(fd, mode)
        finally:
            os.close(fd)
        os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=dir_fd)
        raise


def _write_simple(path: str, chunks: Iterable[str]) -> None:  # pragma: no cover - Windows only
    import tempfile

    real = os.path.realpath(path)
    try:
        mode: Optional[int] = os.stat(real).st_mode
    except FileNotFoundError:
        mode = None
    if mode is not None and not stat.S_ISREG(mode):
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(21, "is a directory", path)
        with open(real, "w", encoding="utf-8") as handle:
            handle.writelines(chunks)
        return
    fd, tmp = tempfile.mkstemp(prefix=".arc-preflight-", dir=os.path.dirname(real) or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.writelines(chunks)
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(OSError):
            os.chmod(tmp, stat.S_IMODE(mode) if mode is not None else 0o666 & ~_umask())
        os.replace(tmp, real)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def planted(path: str) -> Optional[str]:
    """Why ``path`` must not be trusted (a link or file another user put in a world-writable
    sticky folder), or None. For readers; writers are checked race-free by :func:`write_text`."""
    try:
        folder = os.stat(os.path.dirname(path) or ".")
        entry = os.lstat(path)
    except OSError:
        return None
    if _planted(folder, entry):
        what = "a symbolic link" if stat.S_ISLNK(entry.st_mode) else "a file"
        return (f"{path} is {what} owned by another user (uid {entry.st_uid}) in a "
                "world-writable folder")
    return None
