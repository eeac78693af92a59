"""Renderers: one pure ``render(report, ...) -> str`` per output format."""

from __future__ import annotations

from typing import Callable, Dict

from ..model import Report


def get(name: str) -> Callable[..., str]:
    """The renderer for a format name; imported lazily so unused formats cost nothing."""
    if name == "json":
        from .json_fmt import render
    elif name == "table":
        from .table import render
    else:
        raise ValueError(f"unknown format {name!r}")
    return render


FORMATS: Dict[str, str] = {"table": "a table for people", "json": "arc-preflight/1 JSON"}
__all__ = ["FORMATS", "Report", "get"]
