"""Admin/root rights: ``azcmagent connect`` refuses to run without them (AZCM0018).

Not being elevated is a warning, not a failure: this tool is meant to run unprivileged too, and
the admin needs to know only that the real connect must be run elevated.
"""

from __future__ import annotations

import os
import sys
from typing import Mapping

from ..model import Outcome, ProbeContext, Result, Status


def is_elevated() -> bool:
    if sys.platform.startswith("win"):  # pragma: no cover - Windows only
        try:
            import ctypes

            return bool(ctypes.windll.shell32.IsUserAnAdmin())  # type: ignore[attr-defined]
        except (AttributeError, OSError):
            return False
    return os.geteuid() == 0


def probe(ctx: ProbeContext, deps: Mapping[str, Result]) -> Outcome:
    if is_elevated():
        who = "Administrator" if sys.platform.startswith("win") else "root"
        return Outcome(Status.PASS, f"running as {who}", facts={"elevated": True})
    if sys.platform.startswith("win"):  # pragma: no cover
        text = "not running as Administrator; azcmagent connect must run elevated"
    else:
        text = f"running as uid {os.geteuid()}, not root; azcmagent connect must run as root"
    return Outcome(Status.WARN, text, code="privilege.not_admin", facts={"elevated": False})
