"""Opening what ``diagnose`` reads: a file, standard input, gzip, UTF-16, never a device.

Gzip is recognised by its magic bytes and UTF-16 (PowerShell 5 redirections) by its byte-order
mark, whatever the file is called; invalid UTF-8 is replaced, never fatal; damaged compressed
data ends the input with a warning instead of an error.
"""

from __future__ import annotations

import codecs
import gzip
import os
import re
import stat
import sys
import zlib
from dataclasses import dataclass, field
from typing import IO, Any, BinaryIO, List, Optional, Tuple

from ..errors import LogReadError

# Blocks of half a megabyte: every block in flight is a copy held by the reader or a worker,
# and with 1 MiB blocks (the same bytes in flight) all processes held about 6 MB more on the
# benchmark's 1 GB log, no faster (README's Performance section).
CHUNK_SIZE = 512 << 10


@dataclass
class ScanStats:
    lines: int = 0
    bytes_read: int = 0
    truncated_lines: int = 0
    sample: bytes = b""  # the first bytes read, to tell text from binary
    warnings: List[str] = field(default_factory=list)
    worker_blocks: int = 0  # blocks whose prefilter hits a worker process found

    def looks_binary(self) -> bool:
        """More than one byte in ten of the start is a NUL, a control byte or invalid UTF-8."""
        if not self.sample:
            return False
        text = self.sample.decode("utf-8", "replace")
        odd = sum(1 for c in text if c == "\ufffd" or (c < " " and c not in "\t\r\n"))
        return odd * 10 > len(text)


GZIP_MAGIC = b"\x1f\x8b"


def default_log_path(platform: str = sys.platform) -> str:
    """The agent's own log for this operating system."""
    if platform.startswith("win"):
        base = os.environ.get("PROGRAMDATA") or r"C:\ProgramData"
        return base.rstrip("\\/") + r"\AzureConnectedMachineAgent\Log\azcmagent.log"
    return "/var/opt/azcmagent/log/azcmagent.log"


class _Prefixed:
    """A read-only stream that returns ``head`` first, then the rest of ``raw``."""

    def __init__(self, head: bytes, raw: IO[bytes]) -> None:
        self._head = head
        self._raw = raw

    def read(self, size: int = -1) -> bytes:
        if self._head:
            if size is None or size < 0:
                data, self._head = self._head + self._raw.read(), b""
                return data
            data, self._head = self._head[:size], self._head[size:]
            if len(data) < size:
                data += self._raw.read(size - len(data))
            return data
        return self._raw.read(size)

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        pass

    def origin(self) -> Optional[Tuple[int, int]]:
        """(file descriptor, offset) of the next byte :meth:`read` returns, where that is a
        regular file read as it is: worker processes then read their blocks from the file
        themselves instead of receiving them through a pipe (see :mod:`.parallel`)."""
        try:
            fd = self._raw.fileno()
            position = self._raw.tell()
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None
        except (AttributeError, OSError, ValueError):
            return None
        return int(fd), int(position) - len(self._head)


class _Transcoded:
    """Decode UTF-16 (with BOM) on the fly and hand out UTF-8 bytes."""

    def __init__(self, raw: Any, encoding: str) -> None:
        self._raw = raw
        self._decoder = codecs.getincrementaldecoder(encoding)("replace")
        self._done = False

    def read(self, size: int = -1) -> bytes:
        while not self._done:
            data = self._raw.read(size if size and size > 0 else CHUNK_SIZE)
            if not data:
                self._done = True
                return self._decoder.decode(b"", final=True).encode("utf-8", "replace")
            text = self._decoder.decode(data)
            if text:
                return text.encode("utf-8", "replace")
        return b""


def _read_head(raw: Any, size: int) -> bytes:
    head = b""
    while len(head) < size:
        data = raw.read(size - len(head))
        if not data:
            break
        head += data
    return head


class _Guarded:
    """Turn decompression errors in the middle of a stream into an end of input + a warning."""

    def __init__(self, raw: Any, name: str, stats: ScanStats) -> None:
        self._raw = raw
        self._name = name
        self._stats = stats

    def read(self, size: int = -1) -> bytes:
        try:
            data: bytes = self._raw.read(size)
            return data
        except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
            reason = str(exc) or type(exc).__name__
            self._stats.warnings.append(
                f"{self._name}: stopped reading after line {self._stats.lines}: "
                f"damaged compressed data ({reason})")
            return b""
        except OSError as exc:
            reason = exc.strerror or str(exc)
            self._stats.warnings.append(
                f"{self._name}: stopped reading after line {self._stats.lines}: {reason}")
            return b""

    def origin(self) -> Optional[Tuple[int, int]]:
        """Where the wrapped stream reads from, if a regular file as is (see _Prefixed)."""
        inner = getattr(self._raw, "origin", None)
        return inner() if inner is not None else None


@dataclass
class LogInput:
    """An opened input: ``stream`` yields raw (decompressed, UTF-8) bytes."""

    name: str  # file name for evidence ("azcmagent.log", "stdin")
    path: str  # what the user gave, for messages
    stream: Any
    compressed: bool
    encoding: str
    _close: Optional[BinaryIO] = None

    def close(self) -> None:
        if self._close is not None:
            self._close.close()


def open_log(path: str, stats: ScanStats, stdin: Optional[BinaryIO] = None) -> LogInput:
    """Open a log file, ``-`` for standard input; gzip and UTF-16 are recognised by content.

    Raises :class:`LogReadError` with a one-line, user-facing reason when it cannot be read.
    """
    to_close: Optional[BinaryIO] = None
    if path == "-":
        raw: Any = stdin if stdin is not None else sys.stdin.buffer
        name = "stdin"
    else:
        name = os.path.basename(path.rstrip("/\\")) or path
        if os.path.isdir(path):
            raise LogReadError(f"{path} is a directory; give the log file inside it "
                               "(e.g. azcmagent.log or himds.log)")
        try:
            mode = os.stat(path).st_mode
        except OSError:
            mode = 0  # let open() below say what is wrong
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
            # /dev/zero or a disk would be read for ever; a pipe (FIFO) is fine.
            raise LogReadError(f"{path} is a device, not a log file (use - to read a stream "
                               "from stdin)")
        try:
            to_close = open(path, "rb")  # noqa: SIM115 - closed by LogInput.close
        except FileNotFoundError:
            raise LogReadError(f"cannot read {path}: no such file") from None
        except PermissionError:
            raise LogReadError(f"cannot read {path}: permission denied (the agent's logs are "
                               "readable by root/Administrator only; rerun elevated)") from None
        except OSError as exc:
            raise LogReadError(f"cannot read {path}: {exc.strerror or exc}") from None
        raw = to_close
    try:
        head = _read_head(raw, 4)
    except OSError as exc:
        if to_close is not None:
            to_close.close()
        raise LogReadError(f"cannot read {path}: {exc.strerror or exc}") from None
    stream: Any = _Prefixed(head, raw)
    compressed = head[:2] == GZIP_MAGIC
    if compressed:
        stream = _Guarded(gzip.GzipFile(fileobj=stream, mode="rb"), name, stats)
        head = stream.read(4)
        stream = _Prefixed(head, stream)
    else:
        stream = _Guarded(stream, name, stats)
    encoding = "utf-8"
    if head.startswith(codecs.BOM_UTF8):
        stream.read(3)
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
        stream = _Transcoded(stream, "utf-16")
    return LogInput(name=name, path=path, stream=stream, compressed=compressed,
                    encoding=encoding, _close=to_close)


def rotated_siblings(path: str) -> List[str]:
    """Older rotated copies next to ``path`` (``azcmagent.log.1``, ``.2.gz``...), newest first."""
    folder = os.path.dirname(path) or "."
    base = os.path.basename(path)
    found: List[Tuple[int, str]] = []
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    pattern = re.compile(re.escape(base) + r"\.(\d{1,4})(?:\.gz)?$")
    for entry in names:
        m = pattern.match(entry)
        if m:
            found.append((int(m.group(1)), os.path.join(folder, entry)))
    return [p for _, p in sorted(found)]
