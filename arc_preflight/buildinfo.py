"""How this copy runs: from a normal install, or from the single-file build (``.pyz``).

The single-file build's bootstrap (the archive's ``__main__.py``, written by
``scripts/build-zipapp``) registers a module named ``_arc_preflight_pyz`` in ``sys.modules``
before it imports the package, with the attributes ``cache`` (the folder the wheels were
extracted to), ``platform`` (``linux-x86_64``, ``linux-aarch64``, ``win-amd64``), ``build``
(the build hash) and ``archive`` (the ``.pyz`` path). A module attribute rather than an
environment variable: it is not inherited by the processes the checks start, so a normal
install run from there is never mistaken for the single-file build.

Standard library only, and cheap: ``--version`` imports this.
"""

from __future__ import annotations

import sys
from typing import Optional

MARKER_MODULE = "_arc_preflight_pyz"
SINGLE_FILE = "single-file build"


def _marker_attr(name: str) -> Optional[str]:
    marker = sys.modules.get(MARKER_MODULE)
    if marker is None:
        return None
    value = getattr(marker, name, None)
    return str(value) if value is not None else ""


def build_kind() -> str:
    """``"single-file build"`` when running from the ``.pyz``, else ``""``."""
    return SINGLE_FILE if sys.modules.get(MARKER_MODULE) is not None else ""


def describe(version: str) -> str:
    """The ``--version`` line.

    ``arc-preflight 0.1.0`` for a normal install; for the single-file build, also the Python,
    the platform and the cache folder, e.g. ``arc-preflight 0.1.0 (single-file build, Python
    3.9.18, linux-x86_64, cache /root/.cache/arc-preflight/<build>-cp39-linux-x86_64)``.
    """
    kind = build_kind()
    if not kind:
        return f"arc-preflight {version}"
    python = ".".join(str(part) for part in sys.version_info[:3])
    parts = [kind, f"Python {python}"]
    platform = _marker_attr("platform")
    if platform:
        parts.append(platform)
    cache = _marker_attr("cache")
    if cache:
        parts.append(f"cache {cache}")
    return f"arc-preflight {version} ({', '.join(parts)})"
