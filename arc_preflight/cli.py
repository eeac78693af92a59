"""Command line: flags -> settings -> engine -> render -> exit code, and nothing else.

Heavy modules (dnspython, rich's renderers, cryptography, the probes) are imported inside the
commands, so ``--help`` and ``--version`` start fast. Every expected failure (bad flag, unreadable
file, broken config) leaves through :func:`main` as one line on stderr and exit code 3; a
traceback is shown only with ``ARC_PREFLIGHT_DEBUG=1``.
"""

import os
import sys
from typing import Annotated, Any, Dict, List, Optional

import typer

from . import __version__, cli_diag, cli_fleet
from .cli_common import (
    CheckFormatOpt,
    CloudOpt,
    EndpointsFormatOpt,
    ExtensionsOpt,
    LocationOpt,
    NoColorOpt,
    OutputOpt,
    PrivateLinkScopeOpt,
    choose_format,
    terminal_width,
    to_terminal,
    use_color,
    write_output,
)
from .errors import UserError

EXIT_UNKNOWN = 3

app = typer.Typer(
    name="arc-preflight",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from .buildinfo import describe

        typer.echo(describe(__version__))  # says so when it is the single-file build
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        Optional[bool],
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = None,
) -> None:
    """Check that this server can connect to Azure Arc, and explain what blocks it.

    Exit codes: 0 all passed, 1 warnings only, 2 at least one failure, 3 could not judge.
    """


def _progress_ui(no_color: bool = False) -> Any:
    """A live progress bar on stderr, only when stderr is a terminal."""
    if not sys.stderr.isatty() or os.environ.get("TERM") == "dumb":
        return None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    return Progress(TextColumn("probing"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.description}"), console=Console(stderr=True, no_color=no_color),
                    transient=True)


@app.command()
def check(
    cloud: CloudOpt = None,
    location: LocationOpt = None,
    tenant_id: Annotated[Optional[str], typer.Option(metavar="GUID", help="As for azcmagent connect.")] = None,
    subscription_id: Annotated[Optional[str], typer.Option(metavar="GUID|NAME", help="As for azcmagent connect.")] = None,
    resource_group: Annotated[Optional[str], typer.Option(metavar="NAME", help="As for azcmagent connect.")] = None,
    resource_name: Annotated[Optional[str], typer.Option(metavar="NAME", help="As for azcmagent connect.")] = None,
    tags: Annotated[Optional[str], typer.Option(metavar="'K=V,...'", help="As for azcmagent connect.")] = None,
    correlation_id: Annotated[Optional[str], typer.Option(metavar="GUID", help="As for azcmagent connect.")] = None,
    private_link_scope: PrivateLinkScopeOpt = None,
    gateway_id: Annotated[Optional[str], typer.Option(metavar="ID", help="As for azcmagent connect: the Arc gateway's resource id (adds the gateway checks).")] = None,
    gateway_url: Annotated[Optional[str], typer.Option(metavar="URL", help="Your Arc gateway's URL, <prefix>.gw.arc.azure.com (az arcgateway list); default: what azcmagent show reports.")] = None,
    service_principal_id: Annotated[Optional[str], typer.Option(metavar="APP-ID", help="Application id of the onboarding service principal.")] = None,
    service_principal_secret: Annotated[Optional[str], typer.Option(metavar="SECRET", help="Its secret (better: ARC_PREFLIGHT_SP_SECRET or --service-principal-secret-file). Never shown.", show_default=False)] = None,
    service_principal_secret_file: Annotated[Optional[str], typer.Option(metavar="PATH", help="Read the secret from this file.")] = None,
    service_principal_cert: Annotated[Optional[str], typer.Option(metavar="PATH", help="PFX or PEM file with the certificate and its private key, instead of a secret.")] = None,
    use_azcli: Annotated[bool, typer.Option("--use-azcli", help="Sign in with the Azure CLI's account, as connect would (agent 1.59+).")] = False,
    user_tenant_id: Annotated[Optional[str], typer.Option(metavar="GUID", help="Tenant of the signing-in account, when not the resource's tenant.")] = None,
    enable_automatic_upgrade: Annotated[bool, typer.Option("--enable-automatic-upgrade", help="As for azcmagent connect (agent 1.62+).")] = False,
    extensions: ExtensionsOpt = None,
    fmt: CheckFormatOpt = None,
    output: OutputOpt = None,
    timeout: Annotated[Optional[float], typer.Option(metavar="SECONDS", help="Seconds per probe (default 5).")] = None,
    deadline: Annotated[Optional[float], typer.Option(metavar="SECONDS", help="Seconds for the whole run (default 30).")] = None,
    proxy: Annotated[Optional[str], typer.Option(metavar="URL", help="Probe through this proxy (http://host:port), overriding the agent's.")] = None,
    no_proxy: Annotated[bool, typer.Option("--no-proxy", help="Probe direct, ignoring every proxy setting.")] = False,
    dns_server: Annotated[Optional[List[str]], typer.Option(metavar="IP", help="Ask this DNS server (repeatable) instead of the system's.")] = None,
    ca_bundle: Annotated[Optional[str], typer.Option(metavar="PEM", help="PEM file of trusted CAs, replacing the OS trust store.")] = None,
    himds_url: Annotated[Optional[str], typer.Option(metavar="URL", help="The agent's local metadata endpoint.")] = None,
    agent_dir: Annotated[Optional[str], typer.Option(metavar="DIR", help="Folder of the agent's localconfig.json and agentconfig.json.")] = None,
    azcmagent: Annotated[Optional[str], typer.Option(metavar="PATH", help="Path of the azcmagent program (default: PATH, then the agent's install folder).")] = None,
    imds_url: Annotated[Optional[str], typer.Option(metavar="URL", help="Azure instance metadata URL used to detect an Azure VM.")] = None,
    expected_issuer: Annotated[Optional[List[str]], typer.Option(metavar="PATTERN", help="Also accept this certificate issuer (fnmatch pattern; repeatable).")] = None,
    private_range: Annotated[Optional[List[str]], typer.Option(metavar="CIDR", help="Address range that counts as private for Private Link (repeatable; replaces the RFC 1918 defaults).")] = None,
    compare_direct: Annotated[bool, typer.Option("--compare-direct", help="Also try proxied endpoints direct, to see whether the proxy is the cause.")] = False,
    state: Annotated[Optional[str], typer.Option(metavar="PATH", help="Keep the last result in this file and report what changed since.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing unless something failed, warned or changed (for cron).")] = False,
    fail_on: Annotated[Optional[str], typer.Option(metavar="warn|fail", help="What makes a non-zero exit: warn (default) or fail.")] = None,
    profile: Annotated[Optional[str], typer.Option(metavar="preflight|health", help="preflight (default: before connecting) or health (a connected agent on a timer).")] = None,
    syslog: Annotated[bool, typer.Option("--syslog", help="Log each changed check to journald/syslog (Windows: the event log); needs --state.")] = False,
    auth: Annotated[bool, typer.Option("--auth", help="Sign in as the service principal and check providers, permissions and the machine name with Resource Manager (contacts Azure).")] = False,
    only: Annotated[Optional[List[str]], typer.Option(metavar="KIND", help="Run only these probe kinds (repeatable): dns tcp tls https proxy service himds privilege clock imds agent params auth. The layers an endpoint check needs (dns, tcp) always run.")] = None,
    skip: Annotated[Optional[List[str]], typer.Option(metavar="KIND", help="Skip these probe kinds (repeatable).")] = None,
    config: Annotated[Optional[str], typer.Option(metavar="PATH", help="TOML file holding any of these settings.")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Table: every layer's full result under each endpoint (TLS cipher, issuer, addresses), not one line per check.")] = False,
    no_color: NoColorOpt = False,
) -> None:
    """Probe everything the agent needs to connect and explain each failure.

    Takes the flags of azcmagent connect by the same names: swap the command word and run the
    same line.
    """
    from . import config as config_mod

    flags: Dict[str, Any] = {
        "cloud": cloud, "location": location, "tenant_id": tenant_id,
        "subscription_id": subscription_id, "resource_group": resource_group,
        "resource_name": resource_name, "tags": tags, "correlation_id": correlation_id,
        "private_link_scope": private_link_scope, "service_principal_id": service_principal_id,
        "service_principal_secret": service_principal_secret, "extensions": extensions,
        "service_principal_cert": service_principal_cert, "use_azcli": use_azcli or None,
        "user_tenant_id": user_tenant_id,
        "enable_automatic_upgrade": enable_automatic_upgrade or None,
        "format": fmt, "output": output, "timeout": timeout, "deadline": deadline,
        "proxy": proxy, "no_proxy": no_proxy or None, "dns_servers": dns_server,
        "ca_bundle": ca_bundle, "himds_url": himds_url, "agent_dir": agent_dir, "only": only,
        "skip": skip, "azcmagent": azcmagent, "imds_url": imds_url,
        "expected_issuers": expected_issuer, "private_ranges": private_range,
        "compare_direct": compare_direct or None, "auth": auth or None, "state": state,
        "quiet": quiet or None, "fail_on": fail_on, "profile": profile, "syslog": syslog or None,
        "gateway_id": gateway_id, "gateway_url": gateway_url,
    }
    if service_principal_secret:
        from .redact import register_secret

        register_secret(service_principal_secret)
    if service_principal_secret_file:
        flags["service_principal_secret"] = config_mod.read_secret_file(
            service_principal_secret_file)
    settings = config_mod.build(flags, config)
    if settings.syslog and not settings.state:
        raise UserError("--syslog logs changes between runs: it needs --state FILE")

    from . import engine, render
    from .background import Background

    Background(lambda: render.prepare(settings.format or "table"), "renderer")
    progress = None
    ui = _progress_ui(no_color)
    if ui is not None:
        task = ui.add_task("", total=None)

        def progress(result: Any, done: int, total: int) -> None:
            ui.update(task, completed=done, total=total, description=result.id)

    if ui is not None:
        with ui:
            report = engine.run_check(settings, progress)
    else:
        report = engine.run_check(settings, progress)
    from .redact import redact

    for notice in report.notices:
        sys.stderr.write(f"arc-preflight: warning: {redact(notice)}\n")
    fmt_name = settings.format or "table"
    quiet_now = settings.quiet and report.status.value == "pass" and not report.changes
    if not (quiet_now and not settings.output):
        text = render.get(fmt_name)(report, color=use_color(fmt_name, settings.output, no_color),
                                    width=terminal_width(settings.output),
                                    terminal=to_terminal(settings.output), verbose=verbose)
        write_output(text, settings.output)
    raise typer.Exit(report.exit_code)


@app.command()
def endpoints(
    cloud: CloudOpt = None,
    location: LocationOpt = None,
    extensions: ExtensionsOpt = None,
    private_link_scope: PrivateLinkScopeOpt = None,
    fmt: EndpointsFormatOpt = None,
    output: OutputOpt = None,
    gateway: Annotated[bool, typer.Option(
        "--gateway", help="As with the Arc gateway (public cloud): the names still allowed "
        "directly, those that stay outside the gateway, and those it carries.")] = False,
) -> None:
    """List the host names and ports the agent needs, for a firewall request."""
    from . import catalog
    from .render import endpoints as render_endpoints

    fmt = choose_format(fmt, ("table", "csv", "json"))
    the_cloud = catalog.find_cloud(cloud or "AzureCloud")
    features = list(extensions or [])
    for feature in features:
        if feature != "all" and feature not in catalog.FEATURES:
            raise UserError(f"--extensions {feature!r} unknown "
                            f"(expected all or {', '.join(catalog.FEATURES)})")
    problem = catalog.check_region(the_cloud, location) if location else None
    if problem:
        raise UserError(f"--location: {problem}")
    if gateway:
        from .errors import CatalogError

        try:
            items = catalog.gateway_endpoints(the_cloud, location, features,
                                              include_optional="all" in features)
        except CatalogError as exc:
            raise UserError(f"--gateway: {exc}") from None
    else:
        items = catalog.endpoints(the_cloud, location, features,
                                  include_optional="all" in features)
    text = render_endpoints.render(items, fmt, the_cloud, location, bool(private_link_scope),
                                   gateway=gateway)
    write_output(text, output)


@app.command()
def schedule(
    name: Annotated[Optional[str], typer.Argument(
        metavar="NAME", help="Which file: see --list.", show_default=False)] = None,
    list_all: Annotated[bool, typer.Option("--list", help="List the schedules.")] = False,
    command: Annotated[Optional[str], typer.Option(
        metavar="COMMAND", help="Command line that starts arc-preflight (default: this "
        "installation).")] = None,
) -> None:
    """Print a ready-made schedule (systemd, cron, Windows task) for this installation.

    Redirect it into place, for example:

        arc-preflight schedule arc-preflight.service > /etc/systemd/system/arc-preflight.service
    """
    from . import schedules

    if list_all or name is None:
        if name is not None:
            raise UserError("give either NAME or --list, not both")
        write_output(schedules.listing(), None)
        return
    write_output(schedules.render(name, command), None)


app.command(help=cli_diag.DIAGNOSE_HELP)(cli_diag.diagnose)
app.command(help=cli_diag.EXPLAIN_HELP)(cli_diag.explain)
app.command(help=cli_fleet.REPORT_HELP)(cli_fleet.report)
app.command(help=cli_fleet.COMPARE_HELP)(cli_fleet.compare)


def main(argv: Optional[List[str]] = None) -> None:
    """Console-script entry point: runs the app and maps every outcome to an exit code."""
    command = typer.main.get_command(app)
    code: Any = 0
    try:
        code = command.main(args=argv, prog_name="arc-preflight", standalone_mode=False)
    except Exception as exc:
        code = _click_outcome(exc)
    except KeyboardInterrupt:
        sys.stderr.write("arc-preflight: interrupted\n")
        code = EXIT_UNKNOWN
    _exit(code if isinstance(code, int) else 0)


def _kind(exc: BaseException) -> str:
    """The click exception family of ``exc`` by class name.

    typer 0.20 and later drive a vendored copy of click (``typer._click``) whose classes are not
    the ``click`` package's, and older typer releases use ``click`` itself; matching on names
    handles both without importing either.
    """
    names = {cls.__name__ for cls in type(exc).__mro__}
    for kind in ("Exit", "NoArgsIsHelpError", "UsageError", "Abort", "ClickException"):
        if kind in names:
            return kind
    return ""


def _click_outcome(exc: Exception) -> int:
    kind = _kind(exc)
    if kind == "Exit":
        return int(getattr(exc, "exit_code", 0) or 0)
    ctx = getattr(exc, "ctx", None)
    if kind == "NoArgsIsHelpError":
        # A bare command is a request for help, not a mistake.
        sys.stdout.write((ctx.get_help() if ctx is not None else "") + "\n")
        return 0
    if kind == "UsageError":
        lines = str(exc.format_message()).strip().splitlines()  # type: ignore[attr-defined]
        where = ctx.command_path if ctx is not None else "arc-preflight"
        message = lines[0] if lines else "invalid usage"
        sys.stderr.write(f"arc-preflight: error: {message} (see '{where} --help')\n")
        return EXIT_UNKNOWN
    if kind == "Abort":
        sys.stderr.write("arc-preflight: interrupted\n")
        return EXIT_UNKNOWN
    if kind == "ClickException":
        message = str(exc.format_message())  # type: ignore[attr-defined]
        sys.stderr.write(f"arc-preflight: error: {message}\n")
        return EXIT_UNKNOWN
    return _unexpected(exc)


def _unexpected(exc: BaseException) -> int:
    """Bad input prints one line; anything else is an internal error, still one line."""
    from .redact import redact

    if isinstance(exc, UserError):
        sys.stderr.write(f"arc-preflight: error: {redact(str(exc))}\n")
        return EXIT_UNKNOWN
    if os.environ.get("ARC_PREFLIGHT_DEBUG"):
        raise exc
    sys.stderr.write(f"arc-preflight: internal error: {type(exc).__name__}: {redact(str(exc))} "
                     "(set ARC_PREFLIGHT_DEBUG=1 for details)\n")
    return EXIT_UNKNOWN


def _exit(code: int) -> None:
    """Exit without waiting for abandoned probe threads (they are daemons, but be certain)."""
    import threading

    sys.stdout.flush()
    sys.stderr.flush()
    if threading.active_count() > 1:
        os._exit(code)
    sys.exit(code)
