"""What every command shares: its option types, writing a result, colour and width choices.

Both command modules (``cli`` and ``cli_diag``) import this one; neither imports the other, so
the command layer has one direction. Annotations are evaluated at run time by typer, so they use
``typing.Optional``/``List`` (Python 3.9).
"""

import os
import sys
from typing import Annotated, List, Optional

import typer

from .errors import UserError

CloudOpt = Annotated[Optional[str], typer.Option(
    metavar="CLOUD", help="AzureCloud (default), AzureUSGovernment or AzureChinaCloud.")]
LocationOpt = Annotated[Optional[str], typer.Option(
    "--location", "-l", metavar="REGION", help="Azure region, e.g. eastus.")]
ExtensionsOpt = Annotated[Optional[List[str]], typer.Option(
    "--extensions", "-e", metavar="FEATURE",
    help="Also probe optional endpoints (repeatable): all, sql, wac, esu, license, telemetry.")]
PrivateLinkScopeOpt = Annotated[Optional[str], typer.Option(
    metavar="RESOURCE-ID", help="Arc private link scope resource id: its names must resolve "
    "privately.")]
OutputOpt = Annotated[Optional[str], typer.Option(
    "--output", "-o", metavar="PATH", help="Write the result here instead of stdout.")]
CheckFormatOpt = Annotated[Optional[str], typer.Option(
    "--format", "-f", metavar="FORMAT",
    help="table (default), json, prometheus, nagios, junit or markdown.")]
EndpointsFormatOpt = Annotated[Optional[str], typer.Option(
    "--format", "-f", metavar="FORMAT", help="table (default), csv or json.")]
DiagFormatOpt = Annotated[Optional[str], typer.Option(
    "--format", "-f", metavar="FORMAT", help="table (default) or json.")]


def choose_format(fmt: Optional[str], allowed: "tuple[str, ...]") -> str:
    """The format asked for, or the first (the table); an unknown one is a bad flag."""
    chosen = fmt or allowed[0]
    if chosen not in allowed:
        raise UserError(f"--format {chosen!r} unknown (expected {', '.join(allowed)})")
    return chosen


def use_color(fmt: str, output: Optional[str]) -> bool:
    """Colour only for a table on a terminal, and never when NO_COLOR is set."""
    return fmt == "table" and not output and sys.stdout.isatty() and \
        "NO_COLOR" not in os.environ


def terminal_width() -> int:
    """The terminal's width for tables (at least 80), or a fixed 110 for files and pipes."""
    import shutil

    if sys.stdout.isatty():
        return max(80, shutil.get_terminal_size((110, 24)).columns)
    return 110


def write_output(text: str, output: Optional[str]) -> None:
    """Write a result to stdout, or atomically to a file.

    On stdout, characters its encoding lacks become '?': a host name or log line in another
    script must not crash a Windows console redirected with a legacy code page.
    """
    if not output or output == "-":
        encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
        try:
            text.encode(encoding)
        except (UnicodeEncodeError, LookupError):
            try:
                text = text.encode(encoding, "replace").decode(encoding)
            except LookupError:
                text = text.encode("ascii", "replace").decode("ascii")
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    from .fileio import write_text

    try:
        write_text(output, text)
    except OSError as exc:
        raise UserError(f"cannot write --output {output}: {exc.strerror or exc}") from None
