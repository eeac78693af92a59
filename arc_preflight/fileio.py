"""Writing reports and state: atomic where that is safe, direct where it is not.

A regular file is replaced through a temporary file and a rename, so a reader (a monitoring
collector, the next scheduled run) never sees half a file. Anything else, a device such as
/dev/null, a FIFO or a terminal, must be written in place: renaming over it would replace
/dev/null with a regular file for the whole machine. Symbolic links are followed, so the file
they point to is updated and the link kept.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile


def _umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current


def write_text(path: str, text: str) -> None:
    """Write ``text`` to ``path``; raises OSError for the caller to report."""
    real = os.path.realpath(path)
    try:
        mode = os.stat(real).st_mode
    except FileNotFoundError:
        mode = None
    if mode is not None and not stat.S_ISREG(mode):
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(21, "is a directory", path)
        with open(real, "w", encoding="utf-8") as handle:
            handle.write(text)
        return
    folder = os.path.dirname(real) or "."
    fd, tmp = tempfile.mkstemp(prefix=".arc-preflight-", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        # Keep the permissions an existing file had; a new one gets what open() would give
        # (mkstemp's 0600 would hide a report from, say, node_exporter's collector).
        with contextlib.suppress(OSError):
            os.chmod(tmp, stat.S_IMODE(mode) if mode is not None else 0o666 & ~_umask())
        os.replace(tmp, real)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
