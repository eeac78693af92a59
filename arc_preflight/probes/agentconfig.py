"""The agent's two local JSON files, read one way: ``localconfig.json`` and ``agentconfig.json``.

``localconfig.json`` holds what ``azcmagent config set`` wrote (``proxy.url``, ``proxy.bypass``,
``connection.type``...); ``agentconfig.json`` what ``azcmagent connect`` recorded (resource
name, ids). Both are optional: a missing file is the normal state before installation. A file
that exists but cannot be used is returned with the reason, for the probes to report; reading
one never stops the run.
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, Optional, Tuple

LOCALCONFIG = "localconfig.json"
AGENTCONFIG = "agentconfig.json"
MAX_BYTES = 1 << 20  # both files are a few KB; a device or a runaway file is not read for ever
NEEDS_ELEVATION = "is not readable by this user"


def needs_elevation(problem: Optional[str]) -> bool:
    """The problem :func:`read` gave is only that this user may not read the file: a question
    of privileges, never a damaged file or an absent agent."""
    return bool(problem) and NEEDS_ELEVATION in str(problem)


def present(agent_dir: str, name: str) -> bool:
    """The file exists, or may exist behind a folder this user cannot search (root-only)."""
    try:
        os.stat(os.path.join(agent_dir, name))
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def read(agent_dir: str, name: str) -> Tuple[Dict[str, Any], Optional[str]]:
    """The JSON object in ``agent_dir/name`` and, if it could not be used, why.

    Absent: ``({}, None)``. Unreadable, damaged or not an object: ``({}, reason)``.
    """
    path = os.path.join(agent_dir, name)
    try:
        with open(path, encoding="utf-8-sig") as handle:
            text = handle.read(MAX_BYTES + 1)
    except FileNotFoundError:
        return {}, None
    except PermissionError:
        return {}, f"{path} {NEEDS_ELEVATION} (run as root to see the agent's settings)"
    except (OSError, UnicodeDecodeError) as exc:
        return {}, f"{path} cannot be read: {str(exc)[:120]}"
    if len(text) > MAX_BYTES:
        return {}, f"{path} is larger than {MAX_BYTES // 1024} KiB: not the agent's file"
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        return {}, f"{path} is not valid JSON: {str(exc)[:120]}"
    if not isinstance(data, dict):
        return {}, f"{path} does not hold a JSON object"
    return data, None


def load_localconfig(agent_dir: str) -> Tuple[Dict[str, Any], Optional[str]]:
    """The agent's local settings with the proxy keys type-checked, and any problem found.

    A wrongly typed ``proxy.url`` or ``proxy.bypass`` is dropped and reported (the agent itself
    would trip over it); the rest of the file is still used.
    """
    data, problem = read(agent_dir, LOCALCONFIG)
    if problem:
        return data, problem
    problems = []
    if "proxy.url" in data and not isinstance(data["proxy.url"], str):
        problems.append("proxy.url is not a string")
        data = {k: v for k, v in data.items() if k != "proxy.url"}
    bypass = data.get("proxy.bypass")
    if bypass is not None and not isinstance(bypass, (str, list)):
        problems.append("proxy.bypass is neither a list nor a string")
        data = {k: v for k, v in data.items() if k != "proxy.bypass"}
    path = os.path.join(agent_dir, LOCALCONFIG)
    return data, (f"{path}: {'; '.join(problems)}" if problems else None)


def read_localconfig(agent_dir: str) -> Dict[str, Any]:
    """The usable part of the agent's local settings (see :func:`load_localconfig`)."""
    return load_localconfig(agent_dir)[0]


def read_agentconfig(agent_dir: str) -> Dict[str, Any]:
    """What ``azcmagent connect`` recorded; empty when absent or unusable."""
    return read(agent_dir, AGENTCONFIG)[0]
