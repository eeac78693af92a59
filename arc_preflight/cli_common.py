"""What every command shares: its option types, writing a result, colour and width choices.

Both command modules (``cli`` and ``cli_diag``) import this one; neither imports the other, so
the command layer has one direction. Annotations are evaluated at run time by typer, so they use
``typing.Optional``/``List`` (Python 3.9).
"""

import os
import sys
from typing import Annotated, Iterable, List, Optional

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
    help="table (default), json, prometheus, nagios, junit, markdown or html.")]
EndpointsFormatOpt = Annotated[Optional[str], typer.Option(
    "--format", "-f", metavar="FORMAT", help="table (default), csv or json.")]
DiagFormatOpt = Annotated[Optional[str], typer.Option(
    "--format", "-f", metavar="FORMAT", help="table (default) or json.")]
NoColorOpt = Annotated[bool, typer.Option(
    "--no-color", help="No colour in the table (also: NO_COLOR=1); the words PASS, WARN and "
    "FAIL say the same.")]
DiagnoseFormatOpt = Annotated[Optional[str], typer.Option(
    "--format", "-f", metavar="FORMAT", help="table (default), json or html (one page).")]


def choose_format(fmt: Optional[str], allowed: "tuple[str, ...]") -> str:
    """The format asked for, or the first (the table); an unknown one is a bad flag."""
    chosen = fmt or allowed[0]
    if chosen not in allowed:
        raise UserError(f"--format {chosen!r} unknown (expected {', '.join(allowed)})")
    return chosen


def use_color(fmt: str, output: Optional[str], no_color: bool = False) -> bool:
    """Colour only for a table on a terminal, and never with --no-color, a non-empty NO_COLOR
    (no-color.org) or TERM=dumb. Colour only repeats the status words, so nothing is lost."""
    return fmt == "table" and not no_color and to_terminal(output) and \
        not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def to_terminal(output: Optional[str]) -> bool:
    """Whether the result goes to a terminal (stdout, and stdout is one)."""
    return (not output or output == "-") and sys.stdout.isatty()


def terminal_width(output: Optional[str] = None) -> int:
    """Columns to lay a table out in: the terminal's own width, whatever it is (under 80 the
    table becomes a list). A file or pipe has no width of its own: 80 (what a pager, an e-mail
    or a ticket shows without folding), or COLUMNS when the caller sets it."""
    import shutil

    if to_terminal(output):
        return max(20, shutil.get_terminal_size((80, 24)).columns)
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    return columns if 20 <= columns <= 1000 else 80


def write_output(text: str, output: Optional[str]) -> None:
    """Write a result to stdout, or atomically to a file."""
    write_stream((text,), output)


def write_stream(chunks: Iterable[str], output: Optional[str]) -> None:
    """Write a result that comes in pieces to stdout as they come, or atomically to a file
    (:func:`fileio.write_chunks`): a fleet's CSV is too big to hold whole.

    On stdout, characters its encoding lacks become '?': a host name or log line in another
    script must not crash a Windows console redirected with a legacy code page. A reader that
    went away (``| head``) ends the writing quietly; the command's exit code stays its own.
    """
    if not output or output == "-":
        encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
        try:
            for text in chunks:
                sys.stdout.write(_encodable(text, encoding))
            sys.stdout.flush()
        except BrokenPipeError:
            _silence_stdout()
        return
    from .fileio import write_chunks

    try:
        write_chunks(output, chunks)
    except OSError as exc:
        raise UserError(f"cannot write --output {output}: {exc.strerror or exc}") from None


def _encodable(text: str, encoding: str) -> str:
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        try:
            text = text.encode(encoding, "replace").decode(encoding)
        except LookupError:
            text = text.encode("ascii", "replace").decode("ascii")
    return text


def _silence_stdout() -> None:
    """Point stdout at the null device: what is still buffered for a closed pipe would fail
    again when the program flushes it on the way out (Python's own advice for SIGPIPE)."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except (OSError, ValueError):
        pass
