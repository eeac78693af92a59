"""Settings from defaults, a TOML file, the environment and flags, validated in one place.

Precedence is defaults < ``--config`` file < environment < flags, so a fleet can ship one file and
an admin can still override a value on the command line. Every problem raises :class:`ConfigError`
with a one-line message; the CLI turns it into exit code 3.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Tuple
from urllib.parse import urlsplit

from . import datafiles
from .errors import ConfigError
from .model import PROBE_KINDS
from .render import FORMATS as render_formats

FORMATS = tuple(render_formats)  # the renderers are the one list of output formats
PROFILES = ("preflight", "health")
SECRET_ENV = "ARC_PREFLIGHT_SP_SECRET"
DEFAULT_HIMDS_URL = "http://localhost:40342/metadata/instance?api-version=2020-06-01"
DEFAULT_IMDS_URL = "http://169.254.169.254/metadata/instance?api-version=2021-02-01"
# Address ranges that count as "private" when judging Private Link DNS answers.
DEFAULT_PRIVATE_RANGES = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
                          "fc00::/7")


# Microsoft.HybridCompute/gateways resource ids, as azcmagent connect --gateway-id takes them
# (arc-gateway.md: "the Azure Arc gateway resource's Azure Resource Manager ID").
GATEWAY_ID_RE = re.compile(
    r"^/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[-\w._()]{1,90}/providers/"
    r"Microsoft\.HybridCompute/gateways/[-\w.]{1,80}$", re.IGNORECASE)
_HOST_RE = re.compile(r"^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}"
                      r"[a-z0-9])?)+$")


def gateway_host(url: str) -> Optional[str]:
    """The host name of a gateway URL (``https://x.gw.arc.azure.com`` or the bare name);
    None when it is not one."""
    text = url.strip()
    if "://" not in text:
        text = "https://" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    if parts.scheme != "https" or port not in (None, 443) or not _HOST_RE.match(host):
        return None
    return host


MAX_FILE = 1024 * 1024  # config and secret files are small; never read a device for ever


def default_agent_dir() -> str:
    """Where the agent keeps localconfig.json and agentconfig.json on this OS."""
    if sys.platform.startswith("win"):
        base = os.environ.get("PROGRAMDATA", r"C:\ProgramData")
        return str(Path(base) / "AzureConnectedMachineAgent" / "Config")
    return "/var/opt/azcmagent"


def default_services() -> Tuple[str, ...]:
    """The agent's services whose state matters for connecting (facts 3.1)."""
    if sys.platform.startswith("win"):
        return ("himds", "GCArcService", "ExtensionService", "arcproxy")
    return ("himdsd", "gcad", "extd", "arcproxyd")


@dataclass(frozen=True)
class Settings:
    cloud: str = "AzureCloud"
    location: Optional[str] = None
    extensions: Tuple[str, ...] = ()
    tenant_id: Optional[str] = None
    subscription_id: Optional[str] = None
    resource_group: Optional[str] = None
    resource_name: Optional[str] = None
    tags: Optional[str] = None
    correlation_id: Optional[str] = None
    private_link_scope: Optional[str] = None
    service_principal_id: Optional[str] = None
    service_principal_secret: Optional[str] = field(default=None, repr=False)
    # Newer connect inputs (issue 11 item 4): a certificate instead of a secret, the Azure CLI's
    # sign-in, the account's own tenant (Lighthouse), automatic upgrade.
    service_principal_cert: Optional[str] = None
    use_azcli: bool = False
    user_tenant_id: Optional[str] = None
    enable_automatic_upgrade: bool = False
    azcli: Optional[str] = None  # the az program; default: PATH
    timeout: float = 5.0
    deadline: float = 30.0
    proxy: Optional[str] = None
    no_proxy: bool = False
    dns_servers: Tuple[str, ...] = ()
    ca_bundle: Optional[str] = None
    himds_url: str = DEFAULT_HIMDS_URL
    imds_url: str = DEFAULT_IMDS_URL
    arc_proxy_url: str = "http://localhost:40343"  # the agent's local Arc proxy (gateway mode)
    # The Arc gateway: the resource id given to azcmagent connect, its URL
    # (<prefix>.gw.arc.azure.com, from az arcgateway list), and the Arc proxy's log (default:
    # log/arcproxy.log beside the agent's configuration, as the agent keeps it).
    gateway_id: Optional[str] = None
    gateway_url: Optional[str] = None
    arcproxy_log: Optional[str] = None
    azcmagent: Optional[str] = None
    expected_issuers: Tuple[str, ...] = ()
    private_ranges: Tuple[str, ...] = DEFAULT_PRIVATE_RANGES
    compare_direct: bool = False
    state: Optional[str] = None
    quiet: bool = False
    fail_on: str = "warn"
    profile: str = "preflight"
    syslog: bool = False
    journal_socket: str = "/run/systemd/journal/socket"
    identity_url: Optional[str] = None  # default: https://<the cloud's identity host>
    arm_url: Optional[str] = None  # default: https://<the cloud's ARM host>
    clock_warn_s: float = 120.0
    clock_fail_s: float = 300.0
    agent_dir: str = field(default_factory=default_agent_dir)
    # Where the host's system files (systemd's system.conf.d) are read from: "/" except in tests
    # and when checking a mounted image. Set in a --config file as system-root.
    system_root: str = "/"
    services: Tuple[str, ...] = field(default_factory=default_services)
    only: Tuple[str, ...] = ()
    skip: Tuple[str, ...] = ()
    format: Optional[str] = None
    output: Optional[str] = None
    auth: bool = False

    def kind_enabled(self, kind: str) -> bool:
        if self.only and kind not in self.only:
            return False
        return kind not in self.skip

    def public(self) -> Dict[str, Any]:
        """The settings as shown in reports: secrets replaced, credentials in URLs removed."""
        from .redact import redact_url

        shown: Dict[str, Any] = {}
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            if item.name == "service_principal_secret":
                value = "[REDACTED]" if value else None
            elif item.name == "proxy" and value:
                value = redact_url(value)
            elif isinstance(value, tuple):
                value = list(value)
            shown[item.name] = value
        return shown


_FIELDS = {f.name: f for f in dataclasses.fields(Settings)}
_TUPLE_FIELDS = {"extensions", "dns_servers", "services", "only", "skip", "expected_issuers",
                 "private_ranges"}
_FLOAT_FIELDS = {"timeout", "deadline", "clock_warn_s", "clock_fail_s"}
_BOOL_FIELDS = {"no_proxy", "auth", "compare_direct", "quiet", "syslog", "use_azcli",
                "enable_automatic_upgrade"}
_ALIASES = {"dns_server": "dns_servers", "extension": "extensions",
            "expected_issuer": "expected_issuers", "private_range": "private_ranges"}


def _key(name: str) -> str:
    key = name.replace("-", "_")
    return _ALIASES.get(key, key)


def load_file(path: str) -> Dict[str, Any]:
    """Read a ``--config`` TOML file; keys are flag names (``dns-server`` or ``dns_server``).

    Keys may also sit under a ``[check]`` table, so one file can later hold other commands.
    """
    from .fileio import NotRegularFile, read_regular

    try:
        data = read_regular(path, MAX_FILE, "config file")  # never a FIFO or a device
        if len(data) > MAX_FILE:
            raise ConfigError(f"config file {path} is larger than {MAX_FILE // 1024} KiB; "
                              "is it really a config file?")
        doc = datafiles.loads_bounded(data.decode("utf-8"))
    except NotRegularFile as exc:
        raise ConfigError(str(exc.strerror)) from None
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except IsADirectoryError:
        raise ConfigError(f"config file {path} is a directory") from None
    except PermissionError:
        raise ConfigError(f"config file {path} is not readable (permission denied)") from None
    except datafiles.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc}") from None
    section = doc.pop("check", {})
    if not isinstance(section, dict):
        raise ConfigError(f"config file {path}: [check] must be a table")
    doc.update(section)
    values: Dict[str, Any] = {}
    for name, value in doc.items():
        key = _key(name)
        if key not in _FIELDS:
            raise ConfigError(f"config file {path}: unknown setting {name!r}")
        values[key] = value
    return values


def _coerce(key: str, value: Any, origin: str) -> Any:
    if key in _TUPLE_FIELDS:
        if isinstance(value, str):
            value = [part for part in value.replace(",", " ").split() if part]
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{origin}: {key} must be a list of strings")
        return tuple(value)
    if key in _FLOAT_FIELDS:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ConfigError(f"{origin}: {key} must be a number of seconds")
        try:
            return float(value)
        except ValueError:
            raise ConfigError(f"{origin}: {key} must be a number of seconds") from None
    if key in _BOOL_FIELDS:
        if not isinstance(value, bool):
            raise ConfigError(f"{origin}: {key} must be true or false")
        return value
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"{origin}: {key} must be a string")
    return value


def from_env(environ: Mapping[str, str]) -> Dict[str, Any]:
    """Settings that may come from the environment: the secret, so it stays off the command line."""
    values: Dict[str, Any] = {}
    if environ.get(SECRET_ENV):
        values["service_principal_secret"] = environ[SECRET_ENV]
    return values


def read_secret_file(path: str) -> str:
    from .fileio import NotRegularFile, read_regular

    try:
        data = read_regular(path, MAX_FILE, "secret file")  # never a FIFO or a device
        if len(data) > MAX_FILE:
            raise ConfigError(f"secret file {path} is far too large to hold a secret")
        secret = data.decode("utf-8").strip()
    except NotRegularFile as exc:
        raise ConfigError(str(exc.strerror)) from None
    except OSError as exc:
        raise ConfigError(f"secret file {path} cannot be read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"secret file {path} is not text") from None
    if not secret:
        raise ConfigError(f"secret file {path} is empty")
    return secret


def build(
    flags: Mapping[str, Any],
    config_path: Optional[str] = None,
    environ: Optional[Mapping[str, str]] = None,
) -> Settings:
    """Merge every source and validate the result."""
    merged: Dict[str, Any] = {}
    if config_path:
        for key, value in load_file(config_path).items():
            merged[key] = _coerce(key, value, f"config file {config_path}")
    for key, value in from_env(os.environ if environ is None else environ).items():
        merged[key] = value
    for name, value in flags.items():
        if value is None or value == () or value == []:
            continue
        key = _key(name)
        if key not in _FIELDS:
            raise ConfigError(f"unknown setting {name!r}")
        merged[key] = _coerce(key, value, f"--{name.replace('_', '-')}")
    settings = Settings(**merged)
    validate(settings)
    return settings


def _check_url(value: str, what: str, schemes: Tuple[str, ...]) -> None:
    from .redact import redact_url, register_secret, userinfo_password

    password = userinfo_password(value)
    if password:
        register_secret(password)
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:
        # The parser's message quotes pieces of the URL, which may be pieces of a password.
        detail = "" if password else f": {exc}"
        raise ConfigError(f"{what} {redact_url(value)!r} is not a valid URL{detail}") from None
    if parts.scheme not in schemes or not parts.hostname:
        wanted = " or ".join(f"{s}://host:port" for s in schemes)
        raise ConfigError(f"{what} must look like {wanted}")
    if port == 0:
        raise ConfigError(f"{what} has port 0")


def validate(settings: Settings) -> None:
    """Reject settings the run cannot use; each message names the flag."""
    from . import catalog
    from .redact import redact_url

    if not 0 < settings.timeout <= 600:
        raise ConfigError("--timeout must be between 0 and 600 seconds")
    if not 0 < settings.deadline <= 3600:
        raise ConfigError("--deadline must be between 0 and 3600 seconds")
    for server in settings.dns_servers:
        try:
            ipaddress.ip_address(server)
        except ValueError:
            raise ConfigError(f"--dns-server {server!r} is not an IP address") from None
    if settings.proxy:
        try:
            _check_url(settings.proxy, "--proxy", ("http", "https"))
        except ConfigError as exc:
            raise ConfigError(redact_url(str(exc))) from None
    if settings.proxy and settings.no_proxy:
        raise ConfigError("--proxy and --no-proxy cannot be used together")
    _check_url(settings.himds_url, "--himds-url", ("http", "https"))
    _check_url(settings.imds_url, "--imds-url", ("http", "https"))
    _check_url(settings.arc_proxy_url, "arc_proxy_url", ("http",))
    if settings.gateway_id and not GATEWAY_ID_RE.match(settings.gateway_id):
        raise ConfigError("--gateway-id must be an Arc gateway resource id: /subscriptions/<id>/"
                          "resourceGroups/<group>/providers/Microsoft.HybridCompute/gateways/"
                          "<name>")
    if settings.gateway_url and gateway_host(settings.gateway_url) is None:
        raise ConfigError("--gateway-url must be https://<prefix>.gw.arc.azure.com or the bare "
                          "host name (az arcgateway list shows it)")
    for network in settings.private_ranges:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise ConfigError(f"--private-range {network!r} is not a network") from None
    if not 0 < settings.clock_warn_s <= settings.clock_fail_s:
        raise ConfigError("clock_warn_s must be positive and not above clock_fail_s")
    if settings.ca_bundle:
        check_ca_bundle(settings.ca_bundle)
    if settings.state:
        from .fileio import check_readable_regular

        problem = check_readable_regular(settings.state, "--state")
        if problem and not os.path.isdir(settings.state):  # a folder: a warning, as before
            raise ConfigError(problem)
    for kind in settings.only + settings.skip:
        if kind not in PROBE_KINDS:
            raise ConfigError(
                f"unknown probe kind {kind!r} (expected: {', '.join(PROBE_KINDS)})"
            )
    for feature in settings.extensions:
        if feature not in catalog.FEATURES and feature != "all":
            raise ConfigError(
                f"--extensions {feature!r} unknown (expected all or {', '.join(catalog.FEATURES)})"
            )
    # An unknown --cloud or --location is not a usage error: it is what azcmagent connect would
    # reject (AZCM0014, AZCM0020), so the check reports it as a finding.
    for name in ("identity_url", "arm_url"):
        value = getattr(settings, name)
        if value:
            _check_url(value, name.replace("_", "-"), ("https", "http"))
    if settings.fail_on not in ("warn", "fail"):
        raise ConfigError(f"--fail-on {settings.fail_on!r} unknown (expected warn or fail)")
    if settings.profile not in PROFILES:
        raise ConfigError(f"--profile {settings.profile!r} unknown (expected "
                          f"{' or '.join(PROFILES)})")
    if settings.format is not None and settings.format not in FORMATS:
        raise ConfigError(f"--format {settings.format!r} unknown (expected {', '.join(FORMATS)})")


def check_ca_bundle(path: str) -> None:
    """A CA bundle must exist, be readable and hold at least one certificate OpenSSL accepts."""
    import ssl

    from .fileio import NotRegularFile, read_regular

    if os.path.isdir(path):
        raise ConfigError(f"--ca-bundle {path} is a directory, expected a PEM file")
    try:
        data = read_regular(path, 4 * 1024 * 1024, "--ca-bundle")  # never a FIFO or a device
    except NotRegularFile as exc:
        raise ConfigError(str(exc.strerror)) from None
    except OSError as exc:
        raise ConfigError(f"--ca-bundle {path} cannot be read: {exc.strerror}") from None
    if b"-----BEGIN CERTIFICATE-----" not in data:
        raise ConfigError(f"--ca-bundle {path} holds no PEM certificate")
    try:
        ssl.create_default_context(cafile=path)
    except (ssl.SSLError, ValueError) as exc:
        raise ConfigError(f"--ca-bundle {path} is not a valid PEM bundle: {exc}") from None
