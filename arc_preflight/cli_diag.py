"""The ``diagnose`` and ``explain`` commands: the agent's own logs and the knowledge base.

Kept apart from ``cli.py`` so that registering them costs no import: the log reader, the
knowledge base and rich are imported inside the command functions. Annotations here are
evaluated at run time by typer, so they use ``typing.Optional``/``List`` (Python 3.9).
"""

import os
import sys
from typing import Annotated, List, Optional

import typer

_DIAGNOSE_HELP = """Explain why azcmagent connect failed, from the agent's log.

PATH is the agent's log (default: this OS's azcmagent.log), himds.log, a rotated or
gzip-compressed copy, or - for console output on stdin:

    azcmagent connect ... 2>&1 | arc-preflight diagnose -

Each cause is printed once with its evidence lines (redacted), the most decisive first. By
default only the latest connect attempt in the log is read; --all reads every line, --since
the lines dated at or after a time. Rotated logs (azcmagent.log.1, .2.gz...) are not read
unless given as PATH.

Exit codes: 0 no failure cause found, 1 warnings only, 2 failure causes found, 3 the input
could not be read (or reading stopped early and nothing was found before).
"""

_EXPLAIN_HELP = """Explain an agent error code, a knowledge-base entry or pasted error text.

QUERY is an AZCM code (AZCM0041, azcm0041), the agent's exit code (41), a cause id from
--list, a probe failure code (tcp.timeout), or error text as the agent printed it (classified
as diagnose would; - reads the text from stdin).

Exit codes: 0 found, 3 nothing in the knowledge base matches.
"""

_STDIN_LIMIT = 1 << 20


def _color(fmt: str, output: Optional[str]) -> bool:
    return fmt == "table" and not output and sys.stdout.isatty() and "NO_COLOR" not in os.environ


def _check_format(fmt: str) -> None:
    from .cli import UserError

    if fmt not in ("table", "json"):
        raise UserError(f"--format {fmt!r} unknown (expected table or json)")


def _json(data: object) -> str:
    import json

    return json.dumps(data, indent=2) + "\n"  # ASCII: safe on any console code page


def _emit(text: str, output: Optional[str]) -> None:
    """Write through cli._write (stdout encoding-safe, files atomic)."""
    from .cli import _write

    _write(text, output)


def register(app: typer.Typer) -> None:
    """Add ``diagnose`` and ``explain`` to the typer app."""

    @app.command(help=_DIAGNOSE_HELP)
    def diagnose(
        path: Annotated[Optional[str], typer.Argument(
            metavar="PATH|-",
            help="Log file, or - for stdin (default: the agent's azcmagent.log).",
            show_default=False)] = None,
        all_lines: Annotated[bool, typer.Option(
            "--all", help="Read every line, not only the latest connect attempt.")] = False,
        since: Annotated[Optional[str], typer.Option(
            metavar="TIME", help="Only lines dated at or after this time: 2h, 30m, 1d, 2026-03-04, "
                 "'2026-03-04 10:00' or RFC 3339.")] = None,
        fmt: Annotated[str, typer.Option("--format", "-f", metavar="FORMAT",
                                         help="table or json.")] = "table",
        output: Annotated[Optional[str], typer.Option(
            "--output", "-o", metavar="FILE",
            help="Write the result here instead of stdout.")] = None,
    ) -> None:
        from . import __version__
        from . import kb as kb_mod
        from .cli import UserError
        from .logdiag import diagnose_path, parse_since, report_json
        from .logscan import LogReadError, default_log_path, rotated_siblings

        _check_format(fmt)
        since_at = None
        if since is not None:
            try:
                since_at = parse_since(since)
            except ValueError as exc:
                raise UserError(str(exc)) from None
        target = path
        if target is None:
            target = default_log_path()
            if not os.path.exists(target):
                raise UserError(f"no agent log at {target} (is the agent installed here?); "
                                "give a log file, or - to read console output from stdin")
        try:
            report = diagnose_path(target, kb_mod.load(), all_lines=all_lines, since=since_at)
        except LogReadError as exc:
            raise UserError(str(exc)) from None
        if path is None:
            older = rotated_siblings(target)
            if older:
                import dataclasses

                names = ", ".join(os.path.basename(p) for p in older[:3])
                more = f" and {len(older) - 3} more" if len(older) > 3 else ""
                note = (f"older rotated logs were not read ({names}{more}); give one as PATH "
                        "to read it")
                report = dataclasses.replace(report, notes=(*report.notes, note))
        if fmt == "json":
            text = _json(report_json(report, __version__))
        else:
            from .render.diag_table import render_report

            text = render_report(report, color=_color(fmt, output))
        _emit(text, output)
        raise typer.Exit(report.exit_code)

    @app.command(help=_EXPLAIN_HELP)
    def explain(
        query: Annotated[Optional[List[str]], typer.Argument(
            metavar="QUERY",
            help="AZCM code, exit code, cause id, probe code or error text.",
            show_default=False)] = None,
        list_all: Annotated[bool, typer.Option(
            "--list", help="List every knowledge-base entry.")] = False,
        fmt: Annotated[str, typer.Option("--format", "-f", metavar="FORMAT",
                                         help="table or json.")] = "table",
        output: Annotated[Optional[str], typer.Option(
            "--output", "-o", metavar="FILE",
            help="Write the result here instead of stdout.")] = None,
    ) -> None:
        from . import __version__
        from . import kb as kb_mod
        from .cli import UserError

        _check_format(fmt)
        knowledge = kb_mod.load()
        color = _color(fmt, output)
        if list_all:
            if query:
                raise UserError("give either QUERY or --list, not both")
            if fmt == "json":
                from .logdiag import list_json

                _emit(_json(list_json(knowledge, __version__)), output)
            else:
                from .render.diag_table import render_list

                _emit(render_list(knowledge, color=color), output)
            return
        if not query:
            raise UserError("give an AZCM code, exit code, cause id or error text, or --list")
        text = " ".join(query)
        if text.strip() == "-":
            text = sys.stdin.read(_STDIN_LIMIT)
        if not text.strip():
            raise UserError("nothing to explain: the query is empty")

        from .logdiag import excerpt, explain_json
        from .logdiag import explain as lookup

        result = lookup(text, knowledge)
        if not result.causes and result.matched_by != "success":
            shown = excerpt(" ".join(text.split()), width=80)
            raise UserError(f"no knowledge-base entry matches {shown!r} "
                            "(arc-preflight explain --list shows them all)")
        if fmt == "json":
            _emit(_json(explain_json(result, __version__)), output)
        else:
            from .render.diag_table import render_explain

            _emit(render_explain(result, knowledge, sys.platform, color=color), output)
