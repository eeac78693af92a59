"""The ``diagnose`` and ``explain`` commands: logs, pasted text and the knowledge base.

Module-level typer commands that ``cli`` registers; they share the command layer's pieces
through ``cli_common`` and never import ``cli``. The log reader, the knowledge base and rich are
imported inside the commands, so registering them costs no import.
"""

import os
import sys
from typing import Annotated, List, Optional

import typer

from .cli_common import (
    DiagFormatOpt,
    DiagnoseFormatOpt,
    NoColorOpt,
    OutputOpt,
    choose_format,
    terminal_width,
    use_color,
    write_output,
)
from .errors import UserError

DIAGNOSE_HELP = """Explain why azcmagent connect failed, from the agent's log.

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

EXPLAIN_HELP = """Explain an agent error code, a knowledge-base entry or pasted error text.

QUERY is an AZCM code (AZCM0041, azcm0041), the agent's exit code (41), a cause id from
--list, a category as check shows it (dns_failure: all its causes), a probe failure code
(tcp.timeout), or error text as the agent printed it (classified
as diagnose would; - reads the text from stdin).

Exit codes: 0 found, 3 nothing in the knowledge base matches.
"""

_FORMATS = ("table", "json")
_STDIN_LIMIT = 1 << 20


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
    jobs: Annotated[Optional[int], typer.Option(
        "--jobs", "-j", metavar="N", min=1, max=64,
        help="Processes that search a long log (over 8 MiB) for known texts; default one "
        "per CPU, at most 2; 1 reads it in this process alone.")] = None,
    fmt: DiagnoseFormatOpt = None,
    output: OutputOpt = None,
    no_color: NoColorOpt = False,
) -> None:
    from . import __version__
    from . import kb as kb_mod
    from .logs.diagnose import diagnose_path
    from .logs.inputs import default_log_path, rotated_siblings
    from .logs.lines import parse_since
    from .logs.parallel import workers_available

    fmt = choose_format(fmt, (*_FORMATS, "html"))
    since_at = parse_since(since) if since is not None else None
    target = path
    if target is None:
        target = default_log_path()
        if not os.path.exists(target):
            raise UserError(f"no agent log at {target} (is the agent installed here?); "
                            "give a log file, or - to read console output from stdin")
    report = diagnose_path(target, kb_mod.load(), all_lines=all_lines, since=since_at,
                           workers=workers_available() if jobs is None else
                           (jobs if jobs > 1 else 0))
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
        from .render.diag_json import dumps, report_json

        text = dumps(report_json(report, __version__))
    elif fmt == "html":
        from .render.html import render_log

        text = render_log(report, __version__)
    else:
        from .render.diag_table import render_report

        text = render_report(report, color=use_color(fmt, output, no_color),
                             width=terminal_width(output))
    write_output(text, output)
    raise typer.Exit(report.exit_code)


def explain(
    query: Annotated[Optional[List[str]], typer.Argument(
        metavar="QUERY",
        help="AZCM code, exit code, cause id, probe code or error text.",
        show_default=False)] = None,
    list_all: Annotated[bool, typer.Option(
        "--list", help="List every knowledge-base entry.")] = False,
    fmt: DiagFormatOpt = None,
    output: OutputOpt = None,
    no_color: NoColorOpt = False,
) -> None:
    from . import __version__
    from . import kb as kb_mod

    fmt = choose_format(fmt, _FORMATS)
    knowledge = kb_mod.load()
    color = use_color(fmt, output, no_color)
    width = terminal_width(output)
    if list_all:
        if query:
            raise UserError("give either QUERY or --list, not both")
        if fmt == "json":
            from .render.diag_json import dumps, list_json

            write_output(dumps(list_json(knowledge, __version__)), output)
        else:
            from .render.diag_table import render_list

            write_output(render_list(knowledge, color=color, width=width), output)
        return
    if not query:
        raise UserError("give an AZCM code, exit code, cause id or error text, or --list")
    text = " ".join(query)
    if text.strip() == "-":
        text = sys.stdin.read(_STDIN_LIMIT)
    if not text.strip():
        raise UserError("nothing to explain: the query is empty")

    from .explain import explain as lookup
    from .redact import excerpt

    result = lookup(text, knowledge)
    if not result.causes and result.matched_by != "success":
        shown = excerpt(" ".join(text.split()), width=80)
        raise UserError(f"no knowledge-base entry matches {shown!r} "
                        "(arc-preflight explain --list shows them all)")
    if fmt == "json":
        from .render.diag_json import dumps, explain_json

        write_output(dumps(explain_json(result, __version__)), output)
    else:
        from .render.diag_table import render_explain

        write_output(render_explain(result, knowledge, sys.platform, color=color, width=width),
                     output)
