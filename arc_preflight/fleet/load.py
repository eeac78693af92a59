"""Reading many hosts' ``arc-preflight/1`` reports, none of them trusted.

Inputs are files, folders (every ``*.json`` below them, and ``*.jsonl``/``*.ndjson`` as JSON
lines), globs, or ``-`` for JSON lines on stdin. Each report is read with a size cap (20 MiB),
parsed by the standard library (whose recursion guard turns absurd nesting into an error),
checked field by field and reduced at once to a :class:`~.model.HostReport`, so memory grows
with the number of hosts, not with the size of their reports. Every text kept is made printable,
redacted and cut to a bounded length. A report that cannot be used becomes an
:class:`~.model.InputProblem` with the reason; nothing is dropped without being listed.
"""

from __future__ import annotations

import datetime as dt
import glob
import json
import os
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import IO, Any, Dict, Iterator, List, Optional, Sequence, Tuple

from ..errors import UserError
from ..fileio import NotRegularFile, open_regular
from ..model import Status
from ..redact import clean
from .csvread import csv_cells
from .fields import (
    _EVIDENCE,
    _LONG,
    _SUMMARY,
    _TITLE,
    SCHEMA,
    _need,
    _shared,
    _strings,
    _text,
    _Unusable,
)
from .model import CauseInfo, HostCheck, HostDiagnosis, HostReport, InputProblem

MAX_REPORT_BYTES = 20 * 1024 * 1024
_LINE_FILES = (".jsonl", ".ndjson")
_GLOB_CHARS = "*?["
_RUN_STATUSES = ("pass", "warn", "fail", "unknown")
_CHECK_STATUSES = ("pass", "warn", "fail", "skip", "error")
_SEVERITIES = ("fail", "warn")
_QUIET = ("pass", "skip")
# Status by its label: a dictionary lookup, where calling the enum costs a Python-level call for
# each of the hundreds of thousands of checks a fleet holds.
_STATUS: Dict[str, Status] = {status.value: status for status in Status}


@dataclass
class Loaded:
    """What :func:`load` found: the reports, the inputs it could not use, the causes named."""

    hosts: List[HostReport] = field(default_factory=list)
    problems: List[InputProblem] = field(default_factory=list)
    causes: Dict[str, CauseInfo] = field(default_factory=dict)
    inputs: int = 0


PARALLEL_MIN = 400  # files in a row before reading them in worker processes pays off
MAX_WORKERS = 4


def load(args: Sequence[str], stdin: Optional[IO[bytes]] = None,
         keep_checks: bool = False, parallel_min: int = PARALLEL_MIN) -> Loaded:
    """Read every report named by ``args``; raises UserError when there is nothing to read.

    Many files in a row are read by worker processes on Linux (parsing JSON is most of the
    cost, and it holds the interpreter's lock); the result is the same as reading them in
    order, which decides which of two reports of one host is "later" on a tie.
    """
    loaded = Loaded()
    reader = _Reader(loaded, keep_checks)
    pending: List[str] = []
    for source, kind in _expand(args, loaded):
        if kind == "file":
            pending.append(source)
            continue
        _read_files_into(loaded, pending, keep_checks, parallel_min)
        pending = []
        if kind == "stdin":
            stream = stdin if stdin is not None else sys.stdin.buffer
            reader.lines(stream, "stdin")
        else:
            try:
                with _open_regular(source) as handle:
                    reader.lines(handle, source)
            except _Unusable as exc:
                reader.problem(source, exc)
    _read_files_into(loaded, pending, keep_checks, parallel_min)
    if loaded.inputs == 0:
        shown = " ".join(args)
        raise UserError(f"no arc-preflight reports found in {clean(shown)[:200]} "
                        "(give JSON files, folders holding them, globs, or - for JSON lines)")
    return loaded


def read_files(paths: List[str], keep_checks: bool) -> Loaded:
    """Read report files in order (the unit of work of a worker process)."""
    part = Loaded()
    reader = _Reader(part, keep_checks)
    for path in paths:
        reader.file(path)
    return part


def _workers() -> int:
    try:
        cpus = len(os.sched_getaffinity(0))  # type: ignore[attr-defined,unused-ignore]
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, MAX_WORKERS))


def _read_files_into(loaded: Loaded, paths: List[str], keep_checks: bool,
                     parallel_min: int) -> None:
    if not paths:
        return
    workers = _workers()
    parts: List[Loaded] = []
    if len(paths) >= parallel_min and workers > 1 and sys.platform.startswith("linux"):
        parts = _read_parallel(paths, keep_checks, workers)
    if not parts:
        parts = [read_files(paths, keep_checks)]
    for part in parts:
        loaded.hosts.extend(part.hosts)
        loaded.problems.extend(part.problems)
        loaded.inputs += part.inputs
        for cause_id, cause in part.causes.items():
            loaded.causes.setdefault(cause_id, cause)


def _read_parallel(paths: List[str], keep_checks: bool, workers: int) -> List[Loaded]:
    """The files read by ``workers`` forked processes, in order; [] if processes cannot be
    used here (no /dev/shm, a sandbox that forbids fork), and the caller reads them itself."""
    import concurrent.futures
    import multiprocessing

    size = max(25, min(250, len(paths) // (workers * 8) or 1))
    chunks = [paths[i:i + size] for i in range(0, len(paths), size)]
    try:
        context = multiprocessing.get_context("fork")
        with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
            return list(pool.map(read_files, chunks, [keep_checks] * len(chunks)))
    except (OSError, ValueError, concurrent.futures.process.BrokenProcessPool):
        return []


def _expand(args: Sequence[str], loaded: Loaded) -> Iterator[Tuple[str, str]]:
    """(path, how to read it) for each input: "file", "lines" or "stdin"."""
    if not args:
        raise UserError("give report files, folders or globs, or - to read JSON lines on stdin")
    for arg in args:
        if arg == "-":
            yield arg, "stdin"
            continue
        if os.path.isdir(arg):
            seen = len(loaded.problems)
            found = list(_walk(arg, loaded))
            if not found and len(loaded.problems) == seen:
                loaded.inputs += 1
                loaded.problems.append(InputProblem(
                    "unreadable", arg, "no reports (*.json) in this folder"))
            yield from found
        elif os.path.lexists(arg):
            yield arg, _kind_of(arg)
        elif any(ch in arg for ch in _GLOB_CHARS):
            matched = sorted(glob.glob(arg, recursive=True))
            if not matched:
                loaded.inputs += 1
                loaded.problems.append(InputProblem("unreadable", arg,
                                                    "the pattern matched no file"))
            for path in matched:
                if os.path.isdir(path):
                    yield from _walk(path, loaded)
                else:
                    yield path, _kind_of(path)
        else:
            loaded.inputs += 1
            loaded.problems.append(InputProblem("unreadable", arg, "no such file or folder"))


def _kind_of(path: str) -> str:
    return "lines" if path.lower().endswith(_LINE_FILES) else "file"


def _walk(folder: str, loaded: Loaded) -> Iterator[Tuple[str, str]]:
    """Report files below ``folder`` in a stable order; linked folders are not followed, and a
    folder that cannot be listed is itself listed as unreadable."""
    def refused(exc: OSError) -> None:
        loaded.inputs += 1
        loaded.problems.append(InputProblem(
            "unreadable", str(exc.filename or folder),
            f"cannot list this folder: {exc.strerror or exc}"))

    for root, dirs, files in os.walk(folder, onerror=refused):
        dirs.sort()
        for name in sorted(files):
            lowered = name.lower()
            if lowered.endswith(".json") or lowered.endswith(_LINE_FILES):
                path = os.path.join(root, name)
                yield path, _kind_of(path)


def _open_regular(path: str) -> IO[bytes]:
    """``path`` opened for reading if it is a regular file (never blocks on a FIFO)."""
    fd, _info = _open_fd(path)
    try:
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _open_fd(path: str) -> Tuple[int, os.stat_result]:
    """A descriptor of a regular file and its status (:func:`fileio.open_regular`), with the
    roll-up's reasons for a file it cannot use."""
    try:
        return open_regular(path, "report")
    except NotRegularFile:
        raise _Unusable("unreadable", "not a regular file") from None
    except OSError as exc:
        raise _Unusable("unreadable", f"cannot open: {exc.strerror or exc}") from None


def _read_report_file(path: str) -> bytes:
    """A report file's bytes (at most MAX_REPORT_BYTES + 1), if it is a regular file.

    The same checks as :func:`_open_regular` then :func:`read_capped`, in three system calls
    (open, fstat, read) and no file object: a fleet is thousands of small files.
    """
    fd, info = _open_fd(path)
    try:
        if info.st_size > MAX_REPORT_BYTES:
            raise _Unusable("unreadable", f"larger than {MAX_REPORT_BYTES >> 20} MiB: not read")
        want = info.st_size + 1  # one byte more than its size: did it grow while read?
        parts: List[bytes] = []
        got = 0
        while got < want:
            more = os.read(fd, want - got)
            if not more:
                break
            parts.append(more)
            got += len(more)
            if got == want < MAX_REPORT_BYTES + 1:
                want = MAX_REPORT_BYTES + 1  # it grew: read on, capped
        return parts[0] if len(parts) == 1 else b"".join(parts)
    finally:
        os.close(fd)


def read_capped(handle: IO[bytes]) -> bytes:
    """At most MAX_REPORT_BYTES + 1 bytes (one more than allowed shows the file is too big).

    The buffer is sized from the file's size: asking for 20 MiB for every 40 KB report would
    allocate and free 20 MiB each time.
    """
    try:
        size = os.fstat(handle.fileno()).st_size
    except (OSError, ValueError):
        size = MAX_REPORT_BYTES
    want = min(size, MAX_REPORT_BYTES) + 1
    data = handle.read(want)
    if len(data) == want and want <= MAX_REPORT_BYTES:  # grew while read: read the rest, capped
        data += handle.read(MAX_REPORT_BYTES + 1 - len(data))
    return data


class _Reader:
    def __init__(self, loaded: Loaded, keep_checks: bool) -> None:
        self.loaded = loaded
        self.keep_checks = keep_checks
        self.memo: Dict[Any, Any] = {}  # see extract()

    def problem(self, source: str, exc: _Unusable) -> None:
        self.loaded.problems.append(InputProblem(exc.kind, source, exc.reason, exc.hostname))

    def file(self, path: str) -> None:
        self.loaded.inputs += 1
        try:
            data = _read_report_file(path)
            if len(data) > MAX_REPORT_BYTES:
                raise _Unusable("unreadable", f"larger than {MAX_REPORT_BYTES >> 20} MiB: not read")
            self.add(data, path)
        except OSError as exc:
            self.problem(path, _Unusable("unreadable", f"cannot read: {exc.strerror or exc}"))
        except _Unusable as exc:
            self.problem(path, exc)

    def lines(self, stream: IO[bytes], name: str) -> None:
        """One report per line; a line over the size cap is skipped to its end and listed."""
        number = 0
        while True:
            try:
                line = stream.readline(MAX_REPORT_BYTES + 1)
            except OSError as exc:
                self.loaded.inputs += 1
                self.problem(name, _Unusable("unreadable", f"cannot read: {exc.strerror or exc}"))
                return
            if not line:
                return
            number += 1
            where = f"{name}:{number}"
            if len(line) > MAX_REPORT_BYTES and not line.endswith(b"\n"):
                self.loaded.inputs += 1
                self.problem(where, _Unusable(
                    "unreadable", f"line longer than {MAX_REPORT_BYTES >> 20} MiB: not read"))
                while True:  # skip the rest of that line without holding it
                    rest = stream.readline(1 << 20)
                    if not rest or rest.endswith(b"\n"):
                        break
                continue
            if not line.strip():
                continue
            self.loaded.inputs += 1
            try:
                self.add(line, where)
            except _Unusable as exc:
                self.problem(where, exc)

    def add(self, data: bytes, source: str) -> None:
        try:
            doc = json.loads(data)
        except RecursionError:
            raise _Unusable("unreadable", "not JSON: nested too deeply") from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise _Unusable("unreadable", f"not JSON: {_first_line(str(exc))}") from None
        self.loaded.hosts.append(extract(doc, source, self.loaded.causes, self.keep_checks,
                                         self.memo))


def _first_line(text: str) -> str:
    return clean(text.splitlines()[0] if text else "invalid")[:160]


# -- one report ------------------------------------------------------------------------------

def parse_time(text: str) -> Optional[float]:
    """Epoch seconds of an RFC 3339 time, or None."""
    try:
        when = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return when.timestamp()


def extract(doc: Any, source: str, causes: Dict[str, CauseInfo],
            keep_checks: bool = False, memo: Optional[Dict[Any, Any]] = None) -> HostReport:
    """The fleet's view of one parsed report; raises _Unusable with the reason.

    ``memo`` (one per batch of reports) makes equal rows, diagnoses and counts one object:
    most hosts of a fleet fail the same checks with the same messages, and a worker process
    then sends each such row once (pickle writes an object it has seen as a reference).
    """
    if memo is None:
        memo = {}
    if not isinstance(doc, dict):
        raise _Unusable("unreadable", f"not an {SCHEMA} report: not a JSON object")
    schema = doc.get("schema")
    host = doc.get("host")
    name = host.get("hostname") if isinstance(host, dict) else None
    shown = _text(name, 255) if isinstance(name, str) and name.strip() else None
    if schema != SCHEMA:
        what = _text(schema, 60) if isinstance(schema, str) else "none"
        raise _Unusable("schema", f"schema {what}, not {SCHEMA}", shown)
    host = _need(doc, "host", dict)
    if shown is None:
        raise _Unusable("unreadable", f"not an {SCHEMA} report: host.hostname is missing")
    status = _need(doc, "status", str)
    if status not in _RUN_STATUSES:
        raise _Unusable("unreadable", f"status {_text(status, 30)!r} unknown", shown)
    checks_in = _need(doc, "checks", list)
    diags_in = _need(doc, "diagnoses", list)
    started_at = _text(_need(doc, "started_at", str), 40)

    diagnoses: List[HostDiagnosis] = []
    cause_of: Dict[str, str] = {}
    for index, item in enumerate(diags_in):
        diag = _diagnosis(item, index, causes)
        diagnoses.append(diag)
        for check_id in diag.checks:
            cause_of.setdefault(check_id, diag.cause_id)

    problems: List[HostCheck] = []
    # The fast path, in comprehensions: most checks passed or were skipped, and only their
    # number is kept; every other check is then read field by field.
    try:
        counts: Dict[str, int] = Counter([item["status"] for item in checks_in])
        pending = [(i, item) for i, item in enumerate(checks_in)
                   if item["status"] not in _QUIET]
    except (TypeError, KeyError):
        index = next((i for i, item in enumerate(checks_in)
                      if not isinstance(item, dict) or not isinstance(item.get("status"), str)),
                     0)
        raise _Unusable("unreadable", f"checks[{index}] is not a check (no status)",
                        shown) from None
    for bad in counts:
        if bad not in _CHECK_STATUSES:
            raise _Unusable("unreadable", f"a check's status {_text(bad, 30)!r} is unknown",
                            shown)
    csv: Tuple[Tuple[Any, ...], ...] = ((), (), ())
    if keep_checks:
        csv = csv_cells(checks_in, cause_of, memo)
    for index, item in pending:
        check_id = _need(item, "id", str, f"checks[{index}].")
        state = item["status"]
        result = _STATUS[state]
        code = item.get("code")
        check_key = _text(check_id, 300)
        fields = (check_key, _text(item.get("probe", ""), 20),
                  _text(item.get("target", ""), 300), result,
                  _text(code, 60) if isinstance(code, str) else None,
                  _text(item.get("summary", ""), _SUMMARY), cause_of.get(check_key))
        row = memo.get(fields)
        if row is None:
            row = memo[fields] = HostCheck(*fields)
        if result.is_problem:
            problems.append(row)

    found = doc.get("settings")
    settings: Dict[str, Any] = found if isinstance(found, dict) else {}
    proxy = settings.get("proxy_effective")
    proxy_url = proxy.get("url") if isinstance(proxy, dict) else settings.get("proxy")
    duration = doc.get("duration_s")
    exit_code = doc.get("exit_code")
    return HostReport(
        hostname=shown,
        source=source,
        started_at=started_at,
        started=parse_time(started_at),
        status=_STATUS[status],
        exit_code=exit_code if isinstance(exit_code, int) and 0 <= exit_code <= 3
        else _STATUS[status].exit_code,
        tool_version=_text(doc.get("tool_version", "?"), 40),
        os=_text(host.get("os", ""), 120),
        elevated=host.get("elevated") is True,
        duration_s=float(duration) if isinstance(duration, (int, float)) else 0.0,
        cloud=_text(settings.get("cloud") or "", 60),
        location=_text(settings.get("location") or "", 60),
        proxy=_text(proxy_url, 200) if proxy_url else "",
        counts=_shared(memo, tuple(sorted(((_STATUS[k], n) for k, n in counts.items()),
                                          key=lambda item: -item[0].rank))),
        problems=_shared(memo, tuple(problems)),
        diagnoses=_shared(memo, tuple(_shared(memo, d) for d in diagnoses)),
        csv_heads=csv[0],
        csv_messages=csv[1],
        csv_causes=csv[2],
        agent_identity=_agent_identity(checks_in),
    )


def _agent_identity(checks: List[Any]) -> Tuple[Tuple[str, str], ...]:
    """("resource", id) and ("vm", id) from the agent check's facts, where it recorded them."""
    item = next((c for c in checks if c.get("id") == "agent"), None)
    facts = item.get("facts") if isinstance(item, dict) else None
    if not isinstance(facts, dict):
        return ()
    found = [(kind, _text(facts[key], 300)) for kind, key in (("resource", "resource_id"),
                                                              ("vm", "vm_id"))
             if isinstance(facts.get(key), str) and facts[key].strip()]
    return tuple(found)


def _diagnosis(item: Any, index: int, causes: Dict[str, CauseInfo]) -> HostDiagnosis:
    where = f"diagnoses[{index}]."
    if not isinstance(item, dict):
        raise _Unusable("unreadable", f"diagnoses[{index}] is not an object")
    cause_id = _text(_need(item, "cause_id", str, where), 80)
    severity = item.get("severity")
    if severity not in _SEVERITIES:
        severity = "fail"
    if cause_id not in causes:
        causes[cause_id] = CauseInfo(
            cause_id=cause_id,
            category=_text(item.get("category") or "unknown", 60),
            severity=str(severity),
            title=_text(item.get("title") or cause_id, _TITLE),
            explanation=_text(item.get("explanation") or "", _LONG),
            remedy=_strings(item.get("remedy"), _LONG),
            docs=tuple(d for d in _strings(item.get("docs"), _TITLE)
                       if d.startswith("https://")),
            azcm=_strings(item.get("azcm"), 20),
        )
    evidence = _strings(item.get("evidence"), _EVIDENCE)
    checks = item.get("checks")
    if isinstance(checks, list):
        linked = tuple(_text(c, 300) for c in checks[:500] if isinstance(c, str))
    else:  # older reports: the evidence lines start with the check's id
        linked = tuple(sys.intern(e.split(": ", 1)[0]) for e in evidence if ": " in e)
    return HostDiagnosis(cause_id=cause_id, severity=str(severity), evidence=evidence,
                         checks=linked)
