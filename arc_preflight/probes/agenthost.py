"""Host state that breaks an installed agent without the agent saying why.

Three things on the machine itself, each with a documented cause and a fix:

- ``agentconfig.json`` that the agent may not write. After a downgrade from 1.61 on Windows the
  file can be left read-only and the agent goes Disconnected (release notes 1.61, "Known
  issues", with ``attrib -r`` as the fix). On Linux the same is true of a file with the
  immutable or append-only attribute (which stops even root) or one whose owner lost write.
- A cloned machine identity: the agent's log holding HTTP 429 answers from the identity service
  (``*.his.arc.azure.com``). agent-overview.md, "Cloning guidelines": machines cloned from a
  connected image heartbeat for one resource, get 429s, and must each run ``azcmagent
  disconnect --force-local-only`` and connect again under their own name.
- Windows only: the in-box "Azure Arc Setup" feature (Windows Server 2022 and later, enabled
  by default). Its wizard installs the agent before it connects it (onboard-windows-server.md),
  so a wizard left half-way leaves an installed agent that is not connected, and onboarding
  scripts that only test for the himds service report success and never connect. The check
  sees the feature and the agent's state; it cannot tell who installed the agent.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import os
import re
import stat
import subprocess
import sys
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from ..fileio import open_regular
from ..model import Outcome, ProbeContext, Result, Status
from ..redact import bounded, redact
from .agentconfig import AGENTCONFIG
from .agentstate import NOT_CONNECTED, connect_command

# Linux inode flags (linux/fs.h): FS_IOC_GETFLAGS and the two that make a file unwritable.
FS_IOC_GETFLAGS = 0x80086601
FS_IMMUTABLE_FL = 0x10
FS_APPEND_FL = 0x20
LOG_TAIL = 4 << 20  # the end of the log is what matters; a rotated log is at most a few MiB
MAX_EVIDENCE = 3


def _windows(platform: Optional[str] = None) -> bool:
    return (platform or sys.platform).startswith("win")


def _installed(deps: Mapping[str, Result]) -> bool:
    agent_result = deps.get("agent")
    return bool(agent_result and agent_result.facts.get("installed"))


def inode_flags(path: str) -> Optional[int]:
    """The file's Linux inode flags (what ``lsattr`` shows); None where they cannot be read."""
    try:
        import fcntl
        import struct
    except ImportError:  # pragma: no cover - Windows
        return None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        raw = fcntl.ioctl(fd, FS_IOC_GETFLAGS, struct.pack("l", 0))
        return int(struct.unpack("l", raw)[0])
    except OSError:
        return None  # a file system without inode flags
    finally:
        os.close(fd)


def config_file_probe(agent_dir: str, ctx: ProbeContext, deps: Mapping[str, Result],
                      platform: Optional[str] = None,
                      flags: Callable[[str], Optional[int]] = inode_flags) -> Outcome:
    """May the agent write its ``agentconfig.json``?"""
    path = os.path.join(agent_dir, AGENTCONFIG)
    try:
        info = os.lstat(path)
    except PermissionError:
        return Outcome(Status.SKIP, "agent folder not readable (run as root to check)")
    except OSError:
        return Outcome(Status.SKIP, "no agentconfig.json (agent not installed)")
    if not stat.S_ISREG(info.st_mode):
        return Outcome(Status.SKIP, f"{path} is not a regular file")
    facts: Dict[str, Any] = {"path": path, "mode": oct(stat.S_IMODE(info.st_mode))}
    problems: List[str] = []
    commands: List[str] = []
    if _windows(platform):
        attributes = int(getattr(info, "st_file_attributes", 0))
        facts["attributes"] = attributes
        if attributes & getattr(stat, "FILE_ATTRIBUTE_READONLY", 1):
            problems.append("has the read-only attribute")
            commands.append(f'attrib -r "{path}"')
    else:
        found = flags(path)
        if found is not None:
            facts["inode_flags"] = found
            for bit, what, letter in ((FS_IMMUTABLE_FL, "is immutable", "i"),
                                      (FS_APPEND_FL, "is append-only", "a")):
                if found & bit:
                    problems.append(f"{what} (chattr +{letter})")
                    commands.append(f"sudo chattr -{letter} {path}")
        # Root writes whatever the mode says; a service account owning the file does not.
        if info.st_uid != 0 and not info.st_mode & stat.S_IWUSR:
            problems.append("is not writable by its owner")
            commands.append(f"sudo chmod u+w {path}")
    if problems:
        facts["next_command"] = commands
        return Outcome(Status.FAIL, f"{path} {' and '.join(problems)}: the agent cannot record "
                       f"its state and goes Disconnected; next: {commands[0]}",
                       code="agent.config_readonly", facts=facts)
    return Outcome(Status.PASS, f"{path} is writable", facts=facts)


# A 429 from the identity service (the heartbeat and token calls go to <region>.his.arc.azure.*
# or gbl.his.arc.azure.*). Bounded quantifiers only: the log is untrusted text.
_IDENTITY_HOST = re.compile(r"[\w-]{1,63}\.his\.arc\.azure\.(?:com|us|cn)", re.IGNORECASE)
_TOO_MANY = re.compile(r"\b429\b|Too Many Requests", re.IGNORECASE)


def log_folder(agent_dir: str, platform: Optional[str] = None) -> str:
    """Linux logs in /var/opt/azcmagent/log; Windows in ...\\AzureConnectedMachineAgent\\Log
    beside Config (agent-overview.md, "Agent resources")."""
    if _windows(platform):
        import ntpath

        return ntpath.join(ntpath.dirname(ntpath.normpath(agent_dir)), "Log")
    return os.path.join(agent_dir, "log")


def read_tail(path: str, limit: int = LOG_TAIL) -> str:
    """The last ``limit`` bytes of a regular file (a FIFO or device is refused, never read)."""
    fd, info = open_regular(path, "log", nofollow=True)
    try:
        if info.st_size > limit:
            os.lseek(fd, info.st_size - limit, os.SEEK_SET)
        chunks = []
        left = limit
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    finally:
        os.close(fd)
    return b"".join(chunks).decode("utf-8", "replace")


def throttled_lines(text: str) -> List[str]:
    """Lines where the identity service answered 429."""
    return [line for line in text.splitlines()
            if _TOO_MANY.search(line[:4096]) and _IDENTITY_HOST.search(line[:4096])]


# logrus writes each line's time first: time="2026-11-02T08:15:04Z" (or with an offset and
# fractions of a second).
_LINE_TIME = re.compile(r'^\s{0,4}time="([0-9T:.+\-Z ]{10,40})"')
RECENT = _dt.timedelta(hours=24)


def line_time(line: str) -> Optional[_dt.datetime]:
    """When a logrus line was written; None when it carries no readable time."""
    match = _LINE_TIME.match(line)
    if not match:
        return None
    try:
        when = _dt.datetime.fromisoformat(match.group(1).strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=_dt.timezone.utc)


def recent_lines(lines: Sequence[str], now: _dt.datetime) -> Tuple[List[str], int]:
    """The lines written within :data:`RECENT` of ``now``, and how many others there were.

    A clone that was fixed leaves its 429s in the log until it rotates: only recent ones say
    the machine is still sharing an identity. A line without a time cannot be dated and is
    not counted either way."""
    recent, older = [], 0
    for line in lines:
        when = line_time(line)
        if when is None:
            continue
        if now - when <= RECENT:
            recent.append(line)
        else:
            older += 1
    return recent, older


def clone_probe(agent_dir: str, ctx: ProbeContext, deps: Mapping[str, Result],
                platform: Optional[str] = None,
                now: Optional[_dt.datetime] = None) -> Outcome:
    """Has the identity service been throttling this machine (HTTP 429, a cloned identity)?"""
    if not _installed(deps):
        return Outcome(Status.SKIP, "agent not installed")
    folder = log_folder(agent_dir, platform)
    path = os.path.join(folder, "himds.log")
    facts: Dict[str, Any] = {"log": path}
    try:
        text = read_tail(path)
    except FileNotFoundError:
        return Outcome(Status.SKIP, f"no agent log at {path}", facts=facts)
    except PermissionError:
        return Outcome(Status.SKIP, f"{path} not readable (run as root to check)", facts=facts)
    except OSError as exc:
        return Outcome(Status.SKIP, f"agent log not read: {bounded(str(exc), 200)}", facts=facts)
    now = now or _dt.datetime.now(_dt.timezone.utc)
    hits, older = recent_lines(throttled_lines(text), now)
    if older:
        facts["lines_429_older"] = older
    if not hits:
        return Outcome(Status.PASS, "no HTTP 429 from the identity service in himds.log in the "
                       "last 24 hours" + (f" ({older} older)" if older else ""), facts=facts)
    agent_facts = deps["agent"].facts
    name = agent_facts.get("connected_name") or agent_facts.get("resource_name")
    given_name = str(getattr(ctx.settings, "resource_name", None) or "").strip()
    settings = ctx.settings
    if given_name and name and given_name.casefold() == str(name).strip().casefold():
        # The name given is the one the clones share: reconnecting under it changes nothing.
        given_name = ""
        settings = dataclasses.replace(settings, resource_name=None)
    # A clone must come back under a name of its own, never the one it shares.
    commands = ["azcmagent disconnect --force-local-only",
                connect_command(settings, agent_facts, platform)
                + ("" if given_name else " --resource-name <unique-name>")]
    newest = max((t for t in map(line_time, hits) if t is not None), default=None)
    facts.update({"lines_429": len(hits),
                  "newest_429": newest.astimezone(_dt.timezone.utc).strftime(
                      "%Y-%m-%dT%H:%M:%SZ") if newest else None,
                  "evidence": [bounded(redact(line), 300) for line in hits[-MAX_EVIDENCE:]],
                  "next_command": commands})
    return Outcome(Status.WARN, f"himds.log has {len(hits)} HTTP 429 answer(s) from the identity "
                   "service in the last 24 hours: a clone of this machine is probably "
                   "heartbeating as " + (str(name) if name else "the same resource")
                   + f"; next: {commands[0]}", code="agent.cloned_identity", facts=facts)


# --------------------------------------------------------------------------------------------
# Windows: the in-box Azure Arc Setup feature

# What DISM prints per feature/capability: "State : Enabled" / "State : Installed" (public
# scripts match exactly these lines, e.g. ``findstr /I /C:"State : Enabled"`` after
# ``dism.exe /online /get-featureinfo``). Windows Server 2022 has it as an optional feature,
# 2025 as a capability (onboard-windows-server.md, "Uninstall Azure Arc Setup").
FEATURE_QUERY = ("dism.exe", "/online", "/English", "/Get-FeatureInfo",
                 "/FeatureName:AzureArcSetup")
CAPABILITY_QUERY = ("dism.exe", "/online", "/English", "/Get-CapabilityInfo",
                    "/CapabilityName:AzureArcSetup~~~~")
REMOVE_FEATURE = "Disable-WindowsOptionalFeature -Online -FeatureName AzureArcSetup"
REMOVE_CAPABILITY = "DISM /online /Remove-Capability /CapabilityName:AzureArcSetup~~~~"
_STATE = re.compile(r"^\s{0,8}State\s{0,8}:\s{0,8}([A-Za-z ]{1,40}?)\s{0,8}$", re.MULTILINE)
Runner = Callable[[Sequence[str], float], "subprocess.CompletedProcess[str]"]


def _run(argv: Sequence[str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout,
                          check=False)


def dism_state(text: str) -> Optional[str]:
    """``Enabled``, ``Installed``, ``Disabled``, ``Not Present``... from DISM's output."""
    match = _STATE.search(text)
    return match.group(1).strip() if match else None


def arc_setup_probe(ctx: ProbeContext, deps: Mapping[str, Result],
                    run: Runner = _run) -> Outcome:
    """Is the in-box Azure Arc Setup feature enabled beside an agent nobody connected?"""
    found: Dict[str, Any] = {}
    for kind, argv, remove in (("feature", FEATURE_QUERY, REMOVE_FEATURE),
                               ("capability", CAPABILITY_QUERY, REMOVE_CAPABILITY)):
        try:
            proc = run(argv, ctx.budget())
        except (OSError, subprocess.TimeoutExpired) as exc:
            return Outcome(Status.SKIP, f"DISM could not be asked ({type(exc).__name__})")
        output = (proc.stdout or "") + (proc.stderr or "")
        if "740" in output and "elevat" in output.lower():
            return Outcome(Status.SKIP, "DISM needs an elevated prompt (run as Administrator "
                           "to check for Azure Arc Setup)")
        state = dism_state(output)
        if state:
            found[kind] = state
        if state and state.lower() in ("enabled", "installed", "enable pending"):
            return _arc_setup_found(kind, state, remove, ctx, deps, found)
    if not found:
        return Outcome(Status.SKIP, "DISM did not report the AzureArcSetup feature state")
    return Outcome(Status.PASS, "the Azure Arc Setup feature is not installed", facts=found)


def _arc_setup_found(kind: str, state: str, remove: str, ctx: ProbeContext,
                     deps: Mapping[str, Result], found: Dict[str, Any]) -> Outcome:
    agent_result = deps.get("agent")
    agent_state = agent_result.facts.get("state") if agent_result else None
    facts = {**found, "agent_state": agent_state, "remove_command": remove}
    if agent_state != NOT_CONNECTED:
        return Outcome(Status.PASS, f"Azure Arc Setup {kind} is {state}; the agent is "
                       f"{agent_state or 'not installed'}", facts=facts)
    connect = connect_command(ctx.settings, {}, "win32")
    facts["next_command"] = [connect, remove]
    return Outcome(Status.WARN, f"Azure Arc Setup {kind} is {state} and the agent is installed "
                   "but not connected (the feature's wizard installs the agent before it "
                   "connects it): onboarding that only looks for the himds service reports "
                   f"success and never connects; next: {connect}",
                   code="agent.arc_setup_installed", facts=facts)
