"""Renderers: one pure ``render(report, ...) -> str`` per output format."""

from __future__ import annotations

import importlib
from typing import Callable, Dict

from ..model import Report


def get(name: str) -> Callable[..., str]:
    """The renderer for a format name; imported lazily so unused formats cost nothing."""
    if name not in FORMATS:
        raise ValueError(f"unknown format {name!r}")
    module = importlib.import_module(f".{_MODULES.get(name, name)}", __name__)
    render: Callable[..., str] = module.render
    return render


def prepare(name: str) -> None:
    """Import a renderer and the libraries it will need, ahead of time.

    Called in a background thread while the probes wait on the network, so that rendering does
    not add its imports (rich costs about 100 ms) after the last probe has finished.
    """
    get(name)
    for module in _HEAVY.get(name, ()):
        importlib.import_module(module)


FORMATS: Dict[str, str] = {
    "table": "a table for people",
    "json": "arc-preflight/1 JSON",
    "prometheus": "node_exporter textfile collector",
    "nagios": "monitoring-plugin status line with performance data",
    "junit": "JUnit XML, a testcase per check",
    "markdown": "for tickets and chat",
    "html": "one self-contained page (the fleet report's design)",
}
_MODULES = {"json": "json_fmt"}
_HEAVY = {"table": ("rich.console", "rich.text", "rich.cells")}
__all__ = ["FORMATS", "Report", "get", "prepare"]
