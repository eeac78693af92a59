"""The ``diagnose`` and ``explain`` commands (knowledge base and agent logs)."""

from __future__ import annotations

from typing import Any


def register(app: Any) -> None:
    """Add the log commands to the typer app; a placeholder until they are built."""
    return None
