"""The ``report`` and ``compare`` commands: many hosts' reports rolled up, two side by side.

Module-level typer commands that ``cli`` registers, like ``cli_diag``; they share the command
layer's pieces through ``cli_common`` and never import ``cli``. The fleet modules and the
renderers are imported inside the commands, so registering them costs nothing at start-up.
"""

import re
import sys
from typing import Annotated, List, Optional

import typer

from .cli_common import (
    NoColorOpt,
    OutputOpt,
    choose_format,
    terminal_width,
    use_color,
    write_output,
    write_stream,
)
from .errors import UserError

REPORT_HELP = """Roll up many hosts' arc-preflight JSON reports into one.

INPUTS are report files (check --format json), folders (every *.json below them; *.jsonl as
JSON lines), globs ('reports/**/*.json'), or - for JSON lines on stdin. Shows hosts by
status, causes ranked by how many hosts they hit (hosts named), and which endpoints failed on
which host. A host's latest report wins when it appears twice (the other is listed); reports
older than --stale before the newest one are listed as stale; unreadable reports and other
schema versions are listed, never dropped.

Formats: table (default), markdown, json (schema arc-preflight-fleet/1), csv (one row per host
and check, for spreadsheets and Log Analytics) and html (one self-contained page with filters
and per-host details).

Exit codes: the worst host's (0 all passed, 1 warnings only, 2 a failure); 3 when a report
could not be read or is stale and nothing failed, or the inputs were unusable.
"""

COMPARE_HELP = """Show what differs between two arc-preflight JSON reports.

Give a report from a server that works and one from a server that does not (or two runs of one
server): DNS answers, route and proxy, TLS version and issuer, clock offset, agent version and
state, the checks whose status differs and the diagnoses only one has.

Exit codes: 0 nothing differs, 1 something differs, 3 a report could not be read.
"""

FLEET_FORMATS = ("table", "markdown", "json", "csv", "html")
COMPARE_FORMATS = ("table", "markdown", "json")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$", re.IGNORECASE)
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(text: str) -> float:
    """Seconds in ``90m``, ``24h``, ``2d``, ``1w`` or plain seconds; 0 allowed."""
    match = _DURATION.match(text)
    if not match:
        raise UserError(f"--stale {text[:40]!r}: expected a duration such as 24h, 90m, 2d or 0")
    return float(match.group(1)) * _UNIT[match.group(2).lower()]


def report(
    inputs: Annotated[Optional[List[str]], typer.Argument(
        metavar="INPUTS...", help="Report files, folders, globs, or - for JSON lines on stdin.",
        show_default=False)] = None,
    fmt: Annotated[Optional[str], typer.Option(
        "--format", "-f", metavar="FORMAT",
        help="table (default), markdown, json, csv or html.")] = None,
    output: OutputOpt = None,
    stale: Annotated[Optional[str], typer.Option(
        metavar="DURATION", help="A report older than this before the newest report is stale "
        "(default 24h; 0: never).")] = None,
    no_color: NoColorOpt = False,
) -> None:
    from . import __version__
    from .fleet import load, rollup

    fmt = choose_format(fmt, FLEET_FORMATS)
    stale_s = parse_duration(stale) if stale is not None else rollup.DEFAULT_STALE_S
    loaded = load.load(inputs or [], stdin=sys.stdin.buffer if "-" in (inputs or []) else None,
                       keep_checks=fmt == "csv")
    fleet = rollup.build(loaded, __version__, stale_s)
    del loaded
    if fmt == "csv":  # 600,000 rows for 10,000 hosts: written as they are joined
        from .render.fleet_csv import chunks

        write_stream(chunks(fleet), output)
        raise typer.Exit(fleet.exit_code)
    if fmt == "json":
        from .render.fleet_json import render
    elif fmt == "html":
        from .render.fleet_html import render
    elif fmt == "markdown":
        from .render.fleet_markdown import render
    else:
        from .render.fleet_table import render
    write_output(render(fleet, color=use_color(fmt, output, no_color),
                        width=max(60, terminal_width(output))), output)
    raise typer.Exit(fleet.exit_code)


def compare(
    first: Annotated[str, typer.Argument(
        metavar="A.json", help="A report (say, from a server that works).", show_default=False)],
    second: Annotated[str, typer.Argument(
        metavar="B.json", help="Another report (say, from one that does not).",
        show_default=False)],
    fmt: Annotated[Optional[str], typer.Option(
        "--format", "-f", metavar="FORMAT", help="table (default), markdown or json.")] = None,
    output: OutputOpt = None,
    no_color: NoColorOpt = False,
) -> None:
    from .fleet.compare import compare as compare_reports
    from .fleet.compare import read_report
    from .render.compare_fmt import render

    fmt = choose_format(fmt, COMPARE_FORMATS)
    if first == "-" and second == "-":
        raise UserError("only one of the two reports can come from stdin")
    stdin = sys.stdin.buffer if "-" in (first, second) else None
    doc_a = read_report(first, stdin)
    doc_b = read_report(second, stdin)
    comparison = compare_reports(doc_a, doc_b, first, second)
    write_output(render(comparison, fmt, color=use_color(fmt, output, no_color),
                        width=max(60, terminal_width(output))), output)
    raise typer.Exit(comparison.exit_code)
