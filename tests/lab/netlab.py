"""The lab: real network failures reproduced inside a loopback-only network namespace.

Why a namespace: the CLI under test must see *real* DNS answers, TCP resets, blackholes, TLS
handshakes and proxy replies, not mocks; and none of it may leave the machine. A namespace made
with ``ip netns add`` has only a loopback interface, so the kernel has no route to anything
outside it (``connect()`` to a non-loopback address fails with ENETUNREACH). The lab never adds
another interface, and every address it binds or publishes is checked to be loopback (or a
documentation address, for the "unroutable" case).

Quick tour (see ``tests/lab/conftest.py`` for the pytest fixtures)::

    from .netlab import Lab, UNROUTABLE_IP

    with Lab() as lab:                                 # namespace + lo up + resolv.conf
        hosts = lab.catalogue_hosts(location="eastus") # probeable names from the CLI
        lab.serve_endpoints(hosts)                     # DNS -> 127.0.1.1, HTTPS stand-in there
        lab.himds()                                    # HIMDS on 127.0.0.1:40342
        lab.dns(nxdomain=["login.microsoftonline.com", "login.windows.net"])
        result = lab.cli_check("--location", "eastus") # runs the CLI inside, parses JSON
        assert result.data is not None

API (all methods raise ``LabError`` on failure; every subprocess has a timeout):

Lifecycle
    ``Lab(name=None, *, workdir=None, keep=False)``   -- ``start()``/``close()``, or ``with``.
    ``lab.name``, ``lab.workdir``, ``lab.ca_bundle`` (trusted CA PEM for ``--ca-bundle``),
    ``lab.foreign_ca_bundle`` (the untrusted "inspecting proxy" CA).
    ``lab.add_address(addr)`` / ``lab.add_azure_imds_address()`` -- extra addresses on lo.
    ``lab.assert_isolated()`` -- fails unless ``lo`` is the only interface.
DNS (dnsmasq on 127.0.0.53; names not mapped get NXDOMAIN; nothing is forwarded upstream)
    ``lab.dns(records=None, *, nxdomain=(), aaaa=None, replace=False)`` -- merge and restart.
    ``lab.dns_drop()`` (silent: queries time out) / ``lab.dns_stop()`` (port closed: refused).
    ``lab.resolve(name, rdtype="A") -> DnsAnswer`` -- dnspython query from inside.
HTTPS stand-ins
    ``lab.serve_endpoints(hosts, ip="127.0.1.1", port=443, *, issuer="lab", tls_max=None,
    mode="ok", status=None, body=None, date_offset=0.0, expired=False, cert_hosts=None)``
    -> ``Server``: maps the hosts to ``ip`` in DNS and serves a certificate covering them.
    ``lab.serve(...)``: the same without touching DNS.
HIMDS / IMDS
    ``lab.himds(mode="answer"|"hang"|"absent", *, compute=None, bind="127.0.0.1",
    port=40342)`` and ``lab.azure_imds(mode="answer")`` (adds 169.254.169.254 to lo).
Firewall (iptables INPUT chain inside the namespace: the far side of lo)
    ``lab.drop(ip=None, port=443, proto="tcp")``, ``lab.reject(ip=None, port=443,
    proto="tcp", reject_with="tcp-reset")``, ``lab.unroutable(hosts, ip=UNROUTABLE_IP)``,
    ``lab.iptables(*args)``, ``lab.flush_firewall()``.
Proxy (squid on 127.0.0.1:3128, own conf/log/pid dirs, runs as user ``proxy``)
    ``lab.proxy(*, deny=(), auth=None, port=3128) -> Proxy`` (``.url``, ``.url_with_auth``,
    ``.access_log()``). ``check_argv(proxy=PROXY_FROM_ENVIRONMENT)`` passes no proxy flag, so
    the CLI takes the proxy from the agent's localconfig.json or ``HTTPS_PROXY``.
Running things inside
    ``lab.run(argv, *, user=None, env=None, timeout=60, input=None, cwd=None)``
    -> ``CompletedProcess[str]``; ``user="nobody"`` runs with uid/gid 65534 through setpriv.
    ``lab.python(code, *args, ...)``, ``lab.cli(*args, ...)``, ``lab.cli_check(*extra, ...)``
    -> ``CliResult``, ``lab.connect(ip, port) -> "connected"|"timeout"|"refused"|...``,
    ``lab.command_prefix(user=None)`` (for printing a command a human can paste).
    ``lab.spawn(key, argv, *, ready=None, ready_file=None, ...) -> Server``: any other
    long-running server inside, stopped with the lab (the fleet lab's sshd, ``fleet.py``).
Module level
    ``lab_unavailable_reason() -> str | None``, ``cleanup_stale() -> list[str]``,
    ``destroy_namespace(name)``, ``list_namespaces()``.
Scenarios
    ``SCENARIOS[name].apply(lab, hosts) -> list[str]`` builds a named setup (healthy,
    nxdomain-login, dns-silent, drop-443, reset-443, unroutable, foreign-ca, himds-hang, ...)
    and returns the ``check`` argv for it; ``SCENARIOS[name].user`` says who runs the CLI.
    ``scripts/lab up NAME`` uses the same table, so a demo is exactly what a test sees.

Firewall rules sit in the INPUT chain (the far side of lo) so a DROP behaves like a silent
remote firewall; in OUTPUT, the sender would get EPERM at once. Wildcard DNS entries
(``*.domain``) answer A only; their AAAA queries get NXDOMAIN (dnsmasq's ``address=``).
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Union

REPO_ROOT = Path(__file__).resolve().parents[2]
STANDIN = Path(__file__).resolve().with_name("standin.py")

NS_PREFIX = "arcpf"
LAB_DNS_IP = "127.0.0.53"
DEFAULT_ENDPOINT_IP = "127.0.1.1"
HIMDS_PORT = 40342
PROXY_PORT = 3128
# ``check_argv(proxy=PROXY_FROM_ENVIRONMENT)`` adds neither --proxy nor --no-proxy, so the CLI
# picks the proxy itself (agent proxy.url, then HTTPS_PROXY), as it would on a real machine.
PROXY_FROM_ENVIRONMENT = "<environment>"
AZURE_IMDS_IP = "169.254.169.254"
UNROUTABLE_IP = "203.0.113.10"
NOBODY_UID = 65534
DNSMASQ = "/usr/sbin/dnsmasq"
SQUID = "/usr/sbin/squid"
SQUID_BASIC_AUTH = "/usr/lib/squid/basic_ncsa_auth"
READY_NAME = "arcpf-lab-ready.test"
LAB_GATEWAY = "lab01.gw.arc.azure.com"  # an Arc gateway URL of the <prefix>.gw.arc.azure.com form
OUTSIDE_GATEWAY_HTTP = ("crl.microsoft.com", "oneocsp.microsoft.com", "ocsp.digicert.com")

# Only these may appear in DNS answers that point away from loopback: documentation ranges
# (RFC 5737). With only lo in the namespace there is no route to them, which is the point.
DOC_NETWORKS = tuple(
    ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")
)
IDENTITY_HOSTS = ("login.microsoftonline.com", "login.windows.net")

# Used when the CLI's catalogue cannot be read (the CLI is written in parallel).
FALLBACK_HOSTS = (
    "login.microsoftonline.com",
    "login.windows.net",
    "eastus.login.microsoft.com",
    "pas.windows.net",
    "management.azure.com",
    "gbl.his.arc.azure.com",
    "agentserviceapi.guestconfiguration.azure.com",
    "eastus-gas.guestconfiguration.azure.com",
    "guestnotificationservice.azure.com",
    "download.microsoft.com",
    "packages.microsoft.com",
)

_PROXY_VARS = ("http_proxy", "https_proxy", "no_proxy", "all_proxy", "ftp_proxy")
_NAME_RE = re.compile(rf"^{NS_PREFIX}-(\d+)-[0-9a-f]+$")

Records = Mapping[str, Union[str, Sequence[str]]]


class LabError(RuntimeError):
    """A lab step failed; the message says which and includes the relevant log tail."""


# ---------------------------------------------------------------------------------------------
# Low-level helpers


def _sh(argv: Sequence[str], timeout: float = 20, check: bool = True,
        input: Optional[str] = None) -> subprocess.CompletedProcess[str]:
    """Run a host-side command (``ip``, ``iptables`` via ``ip netns exec``) with a timeout."""
    try:
        proc = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout,
                              input=input, check=False)
    except subprocess.TimeoutExpired as exc:
        raise LabError(f"timed out after {timeout}s: {' '.join(argv)}") from exc
    if check and proc.returncode != 0:
        raise LabError(f"failed ({proc.returncode}): {' '.join(argv)}\n{proc.stderr.strip()}")
    return proc


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _is_loopback(addr: str) -> bool:
    return ipaddress.ip_address(addr).is_loopback


def _check_bind_address(addr: str) -> None:
    """Servers may only listen on loopback or the IMDS address the lab puts on lo."""
    if not (_is_loopback(addr) or addr == AZURE_IMDS_IP):
        raise LabError(f"refusing to bind to non-loopback address {addr}")


def _check_answer_address(addr: str) -> None:
    """DNS answers may point to loopback, the lo-only IMDS address or documentation ranges."""
    ip = ipaddress.ip_address(addr)
    if ip.is_loopback or addr == AZURE_IMDS_IP or any(ip in n for n in DOC_NETWORKS):
        return
    raise LabError(f"refusing to publish non-loopback, non-documentation address {addr}")


def _as_list(value: Union[str, Sequence[str]]) -> List[str]:
    return [value] if isinstance(value, str) else list(value)


def list_namespaces() -> List[str]:
    """Names of existing network namespaces created by the lab (prefix ``arcpf-``)."""
    proc = _sh(["ip", "netns", "list"], check=False)
    names = [line.split()[0] for line in proc.stdout.splitlines() if line.strip()]
    return [n for n in names if n.startswith(f"{NS_PREFIX}-")]


def destroy_namespace(name: str, workdir: Optional[Path] = None) -> None:
    """Kill every process living in the namespace, delete it and its /etc/netns directory.

    Used by teardown as a backstop (grandchildren of a timed-out command), by stale cleanup and
    by ``scripts/lab down``. ``ip netns pids`` only lists processes in *that* namespace, so this
    cannot hit anything else.
    """
    if not name.startswith(f"{NS_PREFIX}-"):
        raise LabError(f"refusing to destroy a namespace not made by the lab: {name}")
    for _ in range(3):
        proc = _sh(["ip", "netns", "pids", name], check=False)
        pids = [int(p) for p in proc.stdout.split() if p.strip().isdigit()]
        if not pids:
            break
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.1)
    _sh(["ip", "netns", "del", name], check=False)
    shutil.rmtree(Path("/etc/netns") / name, ignore_errors=True)
    if workdir is not None:
        shutil.rmtree(workdir, ignore_errors=True)


def cleanup_stale() -> List[str]:
    """Delete lab namespaces whose creating process is gone (a crashed or killed test run).

    Names embed the creator's pid (``arcpf-<pid>-<hex>``) so parallel runs (pytest-xdist) never
    delete each other's live namespaces. Hand-made demo namespaces (``arcpf-demo``) are left
    alone; ``scripts/lab down`` removes them.
    """
    removed = []
    for name in list_namespaces():
        match = _NAME_RE.match(name)
        if not match:
            continue
        pid = int(match.group(1))
        if pid == os.getpid() or Path(f"/proc/{pid}").exists():
            continue
        destroy_namespace(name)
        for stale in Path(tempfile.gettempdir()).glob(f"{name}-*"):
            shutil.rmtree(stale, ignore_errors=True)
        removed.append(name)
    return removed


def lab_unavailable_reason() -> Optional[str]:
    """Why the lab cannot run here, or None. Tries a real ``ip netns add`` (containers without
    CAP_SYS_ADMIN pass the root check and still fail there)."""
    if os.geteuid() != 0:
        return "the lab needs root (ip netns, iptables, binding port 443)"
    for tool in ("ip", "iptables", "setpriv", DNSMASQ):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    name = f"{NS_PREFIX}-{os.getpid()}-probe{secrets.token_hex(2)}"
    try:
        proc = _sh(["ip", "netns", "add", name], check=False)
    except LabError as exc:
        return str(exc)
    if proc.returncode != 0:
        return f"`ip netns add` failed: {proc.stderr.strip()}"
    _sh(["ip", "netns", "del", name], check=False)
    return None


# ---------------------------------------------------------------------------------------------
# Handles returned to tests


@dataclass
class Server:
    """A process the lab started inside the namespace (stand-in, dnsmasq, squid)."""

    kind: str
    popen: subprocess.Popen[bytes]
    log: Path
    ip: str = ""
    port: int = 0

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, timeout: float = 5) -> None:
        """SIGTERM, then SIGKILL: teardown must never wait on a wedged server."""
        if self.popen.poll() is not None:
            return
        self.popen.terminate()
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout=timeout)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@dataclass
class Proxy:
    """The squid forward proxy; ``url`` is what to pass to ``--proxy``."""

    server: Server
    port: int
    auth: Optional[tuple[str, str]]
    deny: tuple[str, ...]
    directory: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url_with_auth(self) -> str:
        if not self.auth:
            return self.url
        return f"http://{self.auth[0]}:{self.auth[1]}@127.0.0.1:{self.port}"

    def access_log(self) -> str:
        path = self.directory / "access.log"
        return path.read_text(errors="replace") if path.exists() else ""


@dataclass
class DnsAnswer:
    """Outcome of ``lab.resolve``: rcode is NOERROR/NXDOMAIN/NOANSWER/TIMEOUT/ERROR."""

    rcode: str
    addresses: List[str] = field(default_factory=list)
    detail: str = ""


@dataclass
class CliResult:
    """A finished CLI run; ``data`` is the parsed JSON document when stdout held one."""

    proc: subprocess.CompletedProcess[str]
    data: Any

    @property
    def returncode(self) -> int:
        return self.proc.returncode

    @property
    def stdout(self) -> str:
        return self.proc.stdout

    @property
    def stderr(self) -> str:
        return self.proc.stderr


# Runs inside the namespace; prints one JSON line. Kept as source so it needs no file on disk.
_RESOLVE_CODE = r"""
import json, sys, time
import dns.exception, dns.resolver
name, rdtype, server, lifetime = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
r = dns.resolver.Resolver(configure=False)
r.nameservers = [server]
try:
    ans = r.resolve(name, rdtype, lifetime=lifetime)
    print(json.dumps(["NOERROR", [a.to_text() for a in ans], ""]))
except dns.resolver.NXDOMAIN as e:
    print(json.dumps(["NXDOMAIN", [], str(e)]))
except dns.resolver.NoAnswer as e:
    print(json.dumps(["NOANSWER", [], str(e)]))
except (dns.exception.Timeout, dns.resolver.LifetimeTimeout) as e:
    print(json.dumps(["TIMEOUT", [], str(e)]))
except Exception as e:
    print(json.dumps(["ERROR", [], type(e).__name__ + ": " + str(e)]))
"""

_WAIT_DNS_CODE = r"""
import sys, time
import dns.resolver
name, server, deadline = sys.argv[1], sys.argv[2], time.monotonic() + float(sys.argv[3])
r = dns.resolver.Resolver(configure=False)
r.nameservers = [server]
while True:
    try:
        r.resolve(name, "A", lifetime=0.5)
        sys.exit(0)
    except Exception as e:
        if time.monotonic() > deadline:
            print(e, file=sys.stderr)
            sys.exit(1)
        time.sleep(0.05)
"""

_WAIT_TCP_CODE = r"""
import socket, sys, time
host, port, deadline = sys.argv[1], int(sys.argv[2]), time.monotonic() + float(sys.argv[3])
while True:
    try:
        socket.create_connection((host, port), timeout=0.5).close()
        sys.exit(0)
    except OSError as e:
        if time.monotonic() > deadline:
            print(e, file=sys.stderr)
            sys.exit(1)
        time.sleep(0.05)
"""

_CONNECT_CODE = r"""
import errno, socket, sys
host, port, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
s.settimeout(timeout)
try:
    s.connect((host, port))
    print("connected")
except socket.timeout:
    print("timeout")
except ConnectionRefusedError:
    print("refused")
except ConnectionResetError:
    print("reset")
except OSError as e:
    names = {errno.ENETUNREACH: "unreachable", errno.EHOSTUNREACH: "unreachable"}
    print(names.get(e.errno, errno.errorcode.get(e.errno or 0, str(e))))
"""


# ---------------------------------------------------------------------------------------------
# The lab


class Lab:
    """One loopback-only network namespace with its servers; see the module docstring."""

    def __init__(self, name: Optional[str] = None, *, workdir: Optional[Path] = None,
                 keep: bool = False) -> None:
        """``keep=True`` leaves everything running on ``close()`` (``scripts/lab up``)."""
        self.name = name or f"{NS_PREFIX}-{os.getpid()}-{secrets.token_hex(3)}"
        if not self.name.startswith(f"{NS_PREFIX}-") or len(self.name) > 60:
            raise LabError(f"lab namespace names must start with {NS_PREFIX}- : {self.name}")
        self._own_workdir = workdir is None
        self.workdir = Path(workdir) if workdir else Path(
            tempfile.mkdtemp(prefix=f"{self.name}-"))
        self.keep = keep
        self.started = False
        self._servers: Dict[str, Server] = {}
        self._a: Dict[str, List[str]] = {}
        self._aaaa: Dict[str, List[str]] = {}
        self._nxdomain: set[str] = set()
        self._dns_dropped = False
        self._proxy: Optional[Proxy] = None
        self._ca: Any = None
        self._foreign_ca: Any = None

    # -- lifecycle ------------------------------------------------------------------------

    def __enter__(self) -> Lab:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> Lab:
        """Create the namespace, bring lo up, point its resolv.conf at the lab DNS."""
        if self.started:
            return self
        cleanup_stale()
        self.workdir.mkdir(parents=True, exist_ok=True)
        # Readable by the unprivileged user of the non-root scenarios (CA bundle, logs).
        self.workdir.chmod(0o755)
        try:
            _sh(["ip", "netns", "add", self.name])
            self.started = True
            _sh(["ip", "netns", "exec", self.name, "ip", "link", "set", "lo", "up"])
            netns_etc = Path("/etc/netns") / self.name
            netns_etc.mkdir(parents=True, exist_ok=True)
            (netns_etc / "resolv.conf").write_text(f"nameserver {LAB_DNS_IP}\n")
            self.assert_isolated()
            self._write_cas()
        except BaseException:
            self.close(force=True)
            raise
        return self

    def close(self, force: bool = False) -> None:
        """Stop servers, delete the namespace, /etc/netns/NAME and the workdir. Idempotent."""
        if self.keep and not force:
            return
        for server in list(self._servers.values()):
            with contextlib.suppress(Exception):
                server.stop()
        self._servers.clear()
        if self.started:
            destroy_namespace(self.name)
            self.started = False
        if self._own_workdir or force:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def assert_isolated(self) -> None:
        """The safety invariant: lo must be the only interface in the namespace."""
        proc = _sh(["ip", "netns", "exec", self.name, "ip", "-o", "link", "show"])
        names = [line.split(":")[1].strip().split("@")[0] for line in proc.stdout.splitlines()]
        if names != ["lo"]:
            raise LabError(f"namespace {self.name} has interfaces {names}; only lo is allowed")

    def _ns(self, *argv: str) -> List[str]:
        return ["ip", "netns", "exec", self.name, *argv]

    # -- certificates ------------------------------------------------------------------------

    def _write_cas(self) -> None:
        import trustme  # test-only dependency; imported here so `scripts/lab list` needs none

        self._ca = trustme.CA(organization_name="arc-preflight lab CA")
        self._foreign_ca = trustme.CA(organization_name="Contoso TLS Inspection CA")
        self._ca.cert_pem.write_to_path(str(self.ca_bundle))
        self._foreign_ca.cert_pem.write_to_path(str(self.foreign_ca_bundle))
        for path in (self.ca_bundle, self.foreign_ca_bundle):
            path.chmod(0o644)

    @property
    def ca_bundle(self) -> Path:
        """PEM of the lab CA that signs the stand-ins' certificates: pass it to --ca-bundle."""
        return self.workdir / "ca.pem"

    @property
    def foreign_ca_bundle(self) -> Path:
        """PEM of the untrusted CA (what a TLS-inspecting proxy's issuer looks like)."""
        return self.workdir / "foreign-ca.pem"

    def issue_cert(self, hosts: Iterable[str], *, issuer: str = "lab", expired: bool = False,
                   tag: str = "server", revocation: Optional[str] = None) -> tuple[Path, Path]:
        """Write a leaf certificate for ``hosts`` (wildcards allowed); returns (chain, key).

        ``revocation="crl.host"`` names ``http://crl.host/lab.crl`` as CRL distribution point
        and ``http://crl.host/ocsp`` as OCSP responder, as Microsoft's certificates name theirs.
        """
        import datetime

        ca = {"lab": self._ca, "foreign": self._foreign_ca}[issuer]
        if revocation:
            return self._issue_with_revocation(ca, list(dict.fromkeys(hosts)), revocation, tag)
        kwargs: Dict[str, Any] = {}
        if expired:
            now = datetime.datetime.now(datetime.timezone.utc)
            kwargs = {"not_before": now - datetime.timedelta(days=30),
                      "not_after": now - datetime.timedelta(days=1)}
        identities = list(dict.fromkeys(hosts))
        cert = ca.issue_cert(*identities, **kwargs)
        chain = self.workdir / f"{tag}-chain.pem"
        key = self.workdir / f"{tag}-key.pem"
        chain.write_bytes(b"".join(blob.bytes() for blob in cert.cert_chain_pems))
        cert.private_key_pem.write_to_path(str(key))
        key.chmod(0o600)
        return chain, key

    def _issue_with_revocation(self, ca: Any, hosts: List[str], revocation: str,
                               tag: str) -> tuple[Path, Path]:
        """A leaf signed by ``ca`` with CRL distribution point and OCSP (trustme adds neither)."""
        import datetime
        import ipaddress

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID

        ca_key = serialization.load_pem_private_key(ca.private_key_pem.bytes(), password=None)
        ca_cert = x509.load_pem_x509_certificate(ca.cert_pem.bytes())
        key = ec.generate_private_key(ec.SECP256R1())
        names: List[x509.GeneralName] = []
        for host in hosts:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                names.append(x509.DNSName(host))
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
                full_name=[x509.UniformResourceIdentifier(f"http://{revocation}/lab.crl")],
                relative_name=None, reasons=None, crl_issuer=None)]), critical=False)
            .add_extension(x509.AuthorityInformationAccess([x509.AccessDescription(
                AuthorityInformationAccessOID.OCSP,
                x509.UniformResourceIdentifier(f"http://{revocation}/ocsp"))]), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        chain = self.workdir / f"{tag}-chain.pem"
        key_path = self.workdir / f"{tag}-key.pem"
        chain.write_bytes(cert.public_bytes(serialization.Encoding.PEM) + ca.cert_pem.bytes())
        key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                               serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        key_path.chmod(0o600)
        return chain, key_path

    # -- addresses -----------------------------------------------------------------------

    def add_address(self, addr: str, prefixlen: Optional[int] = None) -> None:
        """Add an address to lo. 127/8 needs nothing (already local); this is for others."""
        _check_bind_address(addr)
        if _is_loopback(addr) and ":" not in addr:
            return
        plen = prefixlen or (128 if ":" in addr else 32)
        proc = _sh(self._ns("ip", "addr", "add", f"{addr}/{plen}", "dev", "lo"), check=False)
        if proc.returncode != 0 and "File exists" not in proc.stderr:
            raise LabError(f"ip addr add {addr}: {proc.stderr.strip()}")

    def add_azure_imds_address(self) -> None:
        """Put 169.254.169.254/32 on lo, so Azure-VM detection can be tested without Azure."""
        self.add_address(AZURE_IMDS_IP, 32)

    # -- processes ----------------------------------------------------------------------------

    def _spawn(self, key: str, argv: Sequence[str], *, ready_file: Optional[Path] = None,
               ready: Optional[Callable[[], bool]] = None, timeout: float = 10,
               ip: str = "", port: int = 0) -> Server:
        """Start a long-running process inside the namespace and wait until it is ready.

        Output goes to a log file, never a pipe: a pipe nobody reads would eventually block the
        server. ``start_new_session`` keeps Ctrl-C in pytest from killing servers before the
        teardown that expects them.
        """
        self._stop(key)
        log = self.workdir / f"{key}.log"
        if ready_file is not None:
            ready_file.unlink(missing_ok=True)
        with open(log, "wb") as out:
            popen = subprocess.Popen(self._ns(*argv), stdout=out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        server = Server(kind=key, popen=popen, log=log, ip=ip, port=port)
        self._servers[key] = server
        deadline = time.monotonic() + timeout
        while True:
            if popen.poll() is not None:
                raise LabError(f"{key} exited with {popen.returncode}:\n{_tail(log)}")
            if ready_file is not None and ready_file.exists():
                return server
            if ready is not None and ready():
                return server
            if time.monotonic() > deadline:
                server.stop()
                raise LabError(f"{key} not ready after {timeout}s:\n{_tail(log)}")
            time.sleep(0.02)

    def _stop(self, key: str) -> None:
        server = self._servers.pop(key, None)
        if server is not None:
            server.stop()

    def spawn(self, key: str, argv: Sequence[str], *, ready_file: Optional[Path] = None,
              ready: Optional[Callable[[], bool]] = None, timeout: float = 10,
              ip: str = "", port: int = 0) -> Server:
        """Start any long-running server inside the namespace (sshd for the fleet lab, ...):
        logged to ``workdir/KEY.log``, ready when ``ready_file`` exists or ``ready()`` is true,
        stopped by ``close()`` like the lab's own servers. Replaces a server of the same key."""
        return self._spawn(key, argv, ready_file=ready_file, ready=ready, timeout=timeout,
                           ip=ip, port=port)

    @property
    def servers(self) -> Mapping[str, Server]:
        """Running processes by key (``dnsmasq``, ``https-127.0.1.1-443``, ``himds``, ...)."""
        return dict(self._servers)

    def wait_tcp(self, host: str, port: int, timeout: float = 10) -> bool:
        """True once something accepts on host:port inside the namespace."""
        proc = self.python(_WAIT_TCP_CODE, host, str(port), str(timeout), timeout=timeout + 10)
        return proc.returncode == 0

    # -- DNS ----------------------------------------------------------------------------------

    def dns(self, records: Optional[Records] = None, *, nxdomain: Iterable[str] = (),
            aaaa: Optional[Records] = None, replace: bool = False) -> None:
        """Merge A/AAAA records and NXDOMAIN names into the lab DNS and (re)start dnsmasq.

        ``records`` maps a name (or ``*.domain`` for the domain and all names under it) to one
        address or a list. A name listed in ``nxdomain`` loses its records and answers
        NXDOMAIN; every name never mentioned also answers NXDOMAIN, because nothing is ever
        forwarded. ``replace=True`` forgets earlier calls first.
        """
        if replace:
            self._a.clear()
            self._aaaa.clear()
            self._nxdomain.clear()
        for table, new in ((self._a, records), (self._aaaa, aaaa)):
            for name, value in (new or {}).items():
                addrs = _as_list(value)
                for addr in addrs:
                    _check_answer_address(addr)
                key = name.lower().rstrip(".")
                table[key] = addrs
                self._nxdomain.discard(key)
        for name in nxdomain:
            key = name.lower().rstrip(".")
            self._a.pop(key, None)
            self._aaaa.pop(key, None)
            self._nxdomain.add(key)
        self._start_dnsmasq()

    @property
    def dns_records(self) -> Mapping[str, List[str]]:
        """Current A records (name -> addresses), for assertions and debugging."""
        return dict(self._a)

    def _dnsmasq_conf(self) -> str:
        lines = [f"host-record={READY_NAME},127.0.0.1"]
        for name in sorted(set(self._a) | set(self._aaaa)):
            addrs = self._a.get(name, []) + self._aaaa.get(name, [])
            if name.startswith("*."):
                # address= covers the domain and every name under it (dnsmasq's wildcard).
                lines += [f"address=/{name[2:]}/{addr}" for addr in addrs]
            else:
                lines.append(f"host-record={name},{','.join(addrs)}")
        lines += [f"address=/{name.lstrip('*.')}/" for name in sorted(self._nxdomain)]
        # Catch-all: anything else is NXDOMAIN, answered locally; with --no-resolv there is no
        # upstream anyway, this just makes the answer explicit instead of REFUSED.
        lines.append("address=/#/")
        return "\n".join(lines) + "\n"

    def _start_dnsmasq(self) -> None:
        conf = self.workdir / "dnsmasq.conf"
        conf.write_text(self._dnsmasq_conf())
        argv = [
            DNSMASQ, "--keep-in-foreground", "--no-resolv", "--no-hosts", "--no-poll",
            f"--listen-address={LAB_DNS_IP}", "--bind-interfaces", "--port=53",
            f"--conf-file={conf}", f"--pid-file={self.workdir / 'dnsmasq.pid'}",
            "--user=root", "--group=root", "--log-queries",
            f"--log-facility={self.workdir / 'dnsmasq-queries.log'}", "--cache-size=0",
        ]
        (self.workdir / "dnsmasq.pid").unlink(missing_ok=True)
        self._spawn("dnsmasq", argv, ip=LAB_DNS_IP, port=53, ready=self._dnsmasq_ready)

    def _dnsmasq_ready(self) -> bool:
        if self._dns_dropped:
            # Cannot be probed through the DROP rule; dnsmasq writes its pid file after binding.
            return (self.workdir / "dnsmasq.pid").exists()
        proc = self.python(_WAIT_DNS_CODE, READY_NAME, LAB_DNS_IP, "5", timeout=15)
        if proc.returncode != 0:
            raise LabError(f"dnsmasq does not answer: {proc.stderr.strip()}")
        return True

    def dns_stop(self) -> None:
        """No DNS server at all: queries get ICMP port-unreachable (fast failure)."""
        self._stop("dnsmasq")

    def dns_drop(self) -> None:
        """DNS server silent: DROP udp/tcp 53 so every query times out."""
        for proto in ("udp", "tcp"):
            self.iptables("-A", "INPUT", "-p", proto, "--dport", "53", "-j", "DROP")
        self._dns_dropped = True

    def resolve(self, name: str, rdtype: str = "A", lifetime: float = 2.0) -> DnsAnswer:
        """Ask the lab DNS from inside the namespace (dnspython); never raises on DNS errors."""
        proc = self.python(_RESOLVE_CODE, name, rdtype, LAB_DNS_IP, str(lifetime),
                           timeout=lifetime + 15)
        if proc.returncode != 0:
            raise LabError(f"resolve {name}: {proc.stderr.strip()}")
        rcode, addrs, detail = json.loads(proc.stdout.strip().splitlines()[-1])
        return DnsAnswer(rcode, addrs, detail)

    # -- HTTPS stand-ins -------------------------------------------------------------------

    def serve(self, hosts: Sequence[str], ip: str = DEFAULT_ENDPOINT_IP, port: int = 443, *,
              issuer: str = "lab", tls_max: Optional[str] = None, mode: str = "ok",
              status: Optional[int] = None, body: Optional[str] = None,
              date_offset: float = 0.0, expired: bool = False,
              cert_hosts: Optional[Sequence[str]] = None,
              revocation: Optional[str] = None) -> Server:
        """Start an HTTPS stand-in on ip:port with a certificate for ``hosts`` (no DNS change).

        ``issuer="foreign"`` signs with the untrusted CA (TLS inspection); ``tls_max="1.1"``
        makes an old server; ``mode`` is ok/hang/close-after-hello/reset-after-hello;
        ``cert_hosts`` overrides the certificate names (hostname-mismatch tests).
        """
        _check_bind_address(ip)
        self.add_address(ip)
        names = [h for h in (cert_hosts if cert_hosts is not None else hosts) if h]
        tag = f"https-{ip}-{port}"
        chain, key = self.issue_cert([*names, ip], issuer=issuer, expired=expired, tag=tag,
                                     revocation=revocation)
        ready = self.workdir / f"{tag}.ready"
        argv = [sys.executable, str(STANDIN), "--kind", "https", "--bind", ip,
                "--port", str(port), "--cert", str(chain), "--key", str(key), "--mode", mode,
                "--date-offset", str(date_offset), "--ready-file", str(ready)]
        if tls_max:
            argv += ["--tls-max", tls_max]
        if status is not None:
            argv += ["--status", str(status)]
        if body is not None:
            argv += ["--body", body]
        return self._spawn(tag, argv, ready_file=ready, ip=ip, port=port)

    def serve_endpoints(self, hosts: Iterable[str], ip: str = DEFAULT_ENDPOINT_IP,
                        port: int = 443, **options: Any) -> Server:
        """Map every host to ``ip`` in the lab DNS and serve HTTPS for all of them there.

        Hosts with a ``*`` other than a leading ``*.`` label (``azgn*.servicebus...``) cannot
        be served or resolved and are skipped. ``options`` go to ``serve``.
        """
        usable = [h.lower() for h in hosts if "*" not in h.lstrip("*.")]
        usable = list(dict.fromkeys(usable))
        if not usable:
            raise LabError("serve_endpoints: no usable host names")
        server = self.serve(usable, ip, port, **options)
        self.dns(dict.fromkeys(usable, ip))
        return server

    def unroutable(self, hosts: Iterable[str], ip: str = UNROUTABLE_IP) -> None:
        """Make names resolve to a documentation address: the namespace has no route to it, so
        connect() fails at once with ENETUNREACH and no packet can leave."""
        if _is_loopback(ip):
            raise LabError("unroutable() needs a documentation address, not loopback")
        self.dns(dict.fromkeys(hosts, ip))

    # -- HIMDS / IMDS ----------------------------------------------------------------------

    def himds(self, mode: str = "answer", *, compute: Optional[Mapping[str, Any]] = None,
              bind: str = "127.0.0.1", port: int = HIMDS_PORT,
              connected: bool = False) -> Optional[Server]:
        """HIMDS stand-in: ``answer`` (instance metadata), ``hang`` (accepts, never answers)
        or ``absent`` (nothing listens: connection refused).

        By default it is the HIMDS of the lab's default agent, installed and never connected:
        it serves no resource (``agent:himds-match`` warns when HIMDS serves a resource the
        agent does not record). ``connected=True`` serves the connected machine ``web01`` of
        the stand-in's compute document, for scenarios whose ``azcmagent show`` names it."""
        if not connected and mode == "answer":
            compute = {"resourceId": "", "name": "", **(compute or {})}
        return self._metadata_server("himds", mode, compute, bind, port)

    def azure_imds(self, mode: str = "answer", *,
                   compute: Optional[Mapping[str, Any]] = None) -> Optional[Server]:
        """Azure IMDS stand-in on 169.254.169.254:80 (lo), for "this is an Azure VM" tests."""
        self.add_azure_imds_address()
        compute = {"azEnvironment": "AzurePublicCloud", "resourceId": (
            "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/vm-rg"
            "/providers/Microsoft.Compute/virtualMachines/web01"), **(compute or {})}
        return self._metadata_server("imds", mode, compute, AZURE_IMDS_IP, 80)

    def _metadata_server(self, key: str, mode: str, compute: Optional[Mapping[str, Any]],
                         bind: str, port: int) -> Optional[Server]:
        modes = {"answer": "ok", "hang": "hang", "absent": None}
        if mode not in modes:
            raise LabError(f"{key} mode must be one of {sorted(modes)}, not {mode!r}")
        self._stop(key)
        if modes[mode] is None:
            return None
        _check_bind_address(bind)
        ready = self.workdir / f"{key}.ready"
        argv = [sys.executable, str(STANDIN), "--kind", "himds", "--bind", bind,
                "--port", str(port), "--mode", str(modes[mode]), "--ready-file", str(ready)]
        if compute:
            argv += ["--compute", json.dumps(dict(compute))]
        return self._spawn(key, argv, ready_file=ready, ip=bind, port=port)

    @property
    def himds_url(self) -> str:
        """The URL a scenario passes to ``--himds-url``."""
        return f"http://127.0.0.1:{HIMDS_PORT}/metadata/instance?api-version=2020-06-01"

    # -- firewall --------------------------------------------------------------------------

    def iptables(self, *args: str) -> None:
        """Run iptables inside the namespace (rules vanish with it).

        The lab's own rules go in INPUT, i.e. on the "server side" of lo: a DROP in OUTPUT
        would make the sender's sendto() fail at once with EPERM, which is nothing like a
        silent remote firewall.
        """
        _sh(self._ns("iptables", "-w", "5", *args))

    def _match(self, ip: Optional[str], port: Optional[int], proto: str) -> List[str]:
        match = ["-p", proto]
        if ip:
            _check_answer_address(ip)
            match += ["-d", ip]
        if port:
            match += ["--dport", str(port)]
        return match

    def drop(self, ip: Optional[str] = None, port: Optional[int] = 443,
             proto: str = "tcp") -> None:
        """Blackhole: SYNs vanish, connect() times out."""
        self.iptables("-A", "INPUT", *self._match(ip, port, proto), "-j", "DROP")

    def reject(self, ip: Optional[str] = None, port: Optional[int] = 443, proto: str = "tcp",
               reject_with: str = "tcp-reset") -> None:
        """Active refusal: the SYN is answered by a RST (connect() gets ECONNREFUSED)."""
        self.iptables("-A", "INPUT", *self._match(ip, port, proto), "-j", "REJECT",
                      "--reject-with", reject_with)

    def flush_firewall(self) -> None:
        """Remove every rule (including the DNS drop)."""
        self.iptables("-F", "INPUT")
        self.iptables("-F", "OUTPUT")
        self._dns_dropped = False

    # -- Arc gateway -------------------------------------------------------------------------

    def arc_gateway(self, host: str = LAB_GATEWAY, ip: str = "127.0.4.1", *,
                    issuer: str = "Microsoft Azure RSA TLS Issuing CA 07",
                    inspected: bool = False) -> Server:
        """An Arc gateway stand-in: HTTPS for ``host`` on ``ip``, mapped in DNS.

        Its certificate comes from a CA named ``issuer`` whose root is added to
        ``ca_bundle`` (so the chain verifies and, by default, the issuer is named like
        Microsoft's issuing CAs); ``inspected=True`` signs with the untrusted foreign CA instead,
        as a TLS-inspecting proxy on the way would. trustme names a CA by its organisation (no
        common name), which is what the CLI reports as the issuer.
        """
        if inspected:
            server = self.serve([host], ip, issuer="foreign")
        else:
            import trustme

            _check_bind_address(ip)
            issuing = trustme.CA(organization_name=issuer)
            self.ca_bundle.write_bytes(self.ca_bundle.read_bytes() + issuing.cert_pem.bytes())
            cert = issuing.issue_cert(host, ip)
            chain = self.workdir / "gateway-chain.pem"
            key = self.workdir / "gateway-key.pem"
            chain.write_bytes(b"".join(blob.bytes() for blob in cert.cert_chain_pems))
            cert.private_key_pem.write_to_path(str(key))
            key.chmod(0o600)
            ready = self.workdir / "gateway.ready"
            server = self._spawn("gateway", [sys.executable, str(STANDIN), "--kind", "https",
                                             "--bind", ip, "--port", "443", "--cert", str(chain),
                                             "--key", str(key), "--ready-file", str(ready)],
                                 ready_file=ready, ip=ip, port=443)
        self.dns({host: ip})
        return server

    def outside_gateway(self, https_ip: str = "127.0.4.2", http_ip: str = "127.0.4.3") -> None:
        """The names that stay outside the Arc gateway: ``aka.ms`` over HTTPS, and the CRL and
        OCSP names on plain HTTP port 80 (one stand-in answers for them all)."""
        self.serve_endpoints(["aka.ms"], ip=https_ip)
        _check_bind_address(http_ip)
        ready = self.workdir / "revocation.ready"
        self._spawn("revocation", [sys.executable, str(STANDIN), "--kind", "himds", "--bind",
                                   http_ip, "--port", "80", "--ready-file", str(ready)],
                    ready_file=ready, ip=http_ip, port=80)
        self.dns(dict.fromkeys(OUTSIDE_GATEWAY_HTTP, http_ip))

    # -- proxy -------------------------------------------------------------------------------

    def proxy(self, *, deny: Iterable[str] = (), auth: Optional[tuple[str, str]] = None,
              port: int = PROXY_PORT) -> Proxy:
        """Start squid on 127.0.0.1:``port``: CONNECT to 443 allowed, ``deny`` hosts get 403,
        ``auth=(user, password)`` makes every request without credentials get 407.

        Squid resolves through the lab DNS and keeps config, logs and pid under the workdir;
        it starts as root and drops to ``proxy`` (or ``nobody``) like a packaged squid.
        """
        if shutil.which(SQUID) is None:
            raise LabError("squid is not installed")
        directory = self.workdir / f"squid-{port}"
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(mode=0o755)
        user = "proxy" if _user_exists("proxy") else "nobody"
        deny = tuple(h.lower() for h in deny)
        conf = [
            f"http_port 127.0.0.1:{port}",
            f"pid_filename {directory / 'squid.pid'}",
            f"cache_effective_user {user}",
            f"cache_log {directory / 'cache.log'}",
            f"access_log stdio:{directory / 'access.log'}",
            "cache_store_log none",
            "cache deny all",
            f"coredump_dir {directory}",
            f"dns_nameservers {LAB_DNS_IP}",
            "hosts_file none",
            "pinger_enable off",
            "shutdown_lifetime 0 seconds",
            "forwarded_for delete",
            "acl SSL_ports port 443",
            "acl CONNECT method CONNECT",
        ]
        if auth:
            passwd = directory / "passwd"
            hashed = _sh(["openssl", "passwd", "-apr1", "-stdin"], input=auth[1]).stdout.strip()
            passwd.write_text(f"{auth[0]}:{hashed}\n")
            conf += [
                f"auth_param basic program {SQUID_BASIC_AUTH} {passwd}",
                "auth_param basic realm arc-preflight lab proxy",
                "auth_param basic children 2 startup=1",
                "acl authenticated proxy_auth REQUIRED",
                "http_access deny !authenticated",
            ]
        if deny:
            conf.append("acl denied dstdomain " + " ".join(deny))
            conf.append("http_access deny denied")
        conf += ["http_access deny CONNECT !SSL_ports", "http_access allow all"]
        (directory / "squid.conf").write_text("\n".join(conf) + "\n")
        _sh(["chown", "-R", f"{user}:", str(directory)])
        server = self._spawn(  # keyed by port: several proxies may run side by side
            f"squid-{port}", [SQUID, "-N", "-f", str(directory / "squid.conf")],
            ready=lambda: self.wait_tcp("127.0.0.1", port, timeout=10), timeout=20,
            ip="127.0.0.1", port=port)
        self._proxy = Proxy(server=server, port=port, auth=auth, deny=deny, directory=directory)
        return self._proxy

    # -- running things inside ----------------------------------------------------------------

    def command_prefix(self, user: Optional[str] = None) -> List[str]:
        """argv prefix that enters the namespace (and drops to ``user`` if given)."""
        prefix = ["ip", "netns", "exec", self.name]
        if user is not None:
            uid = NOBODY_UID if user == "nobody" else _uid_of(user)
            # dac_read_search lets the unprivileged process read the Python install under
            # /root (mode 700); it grants no write access and euid stays non-zero.
            prefix += ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                       "--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search", "--"]
        return prefix

    def env(self, extra: Optional[Mapping[str, Optional[str]]] = None,
            user: Optional[str] = None) -> Dict[str, str]:
        """Environment for commands inside: the caller's, minus proxy variables (the host's
        proxy would only confuse a lab run), plus the repo on PYTHONPATH so ``-m arc_preflight``
        works uninstalled. ``extra`` values of None delete a variable."""
        env = {k: v for k, v in os.environ.items() if k.lower() not in _PROXY_VARS}
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p)
        if user is not None:
            env.update(HOME=str(self.workdir), PYTHONDONTWRITEBYTECODE="1",
                       USER=user, LOGNAME=user)
        for key, value in (extra or {}).items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        return env

    def run(self, argv: Sequence[str], *, user: Optional[str] = None,
            env: Optional[Mapping[str, Optional[str]]] = None, timeout: float = 60,
            input: Optional[str] = None, cwd: Optional[Path] = None,
            check: bool = False) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` inside the namespace and capture text output.

        A timeout raises ``subprocess.TimeoutExpired`` (the direct child is killed; anything it
        forked dies with the namespace at teardown).
        """
        if not self.started:
            raise LabError("lab not started")
        return subprocess.run(
            [*self.command_prefix(user), *argv], capture_output=True, text=True,
            timeout=timeout, input=input, cwd=str(cwd or REPO_ROOT),
            env=self.env(env, user), check=check)

    def python(self, code: str, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        """``python -c code args`` inside, with the test runner's interpreter."""
        return self.run([sys.executable, "-c", code, *args], **kwargs)

    def connect(self, host: str, port: int, timeout: float = 2.0) -> str:
        """One TCP connect from inside: connected/timeout/refused/reset/unreachable/ERRNO."""
        proc = self.python(_CONNECT_CODE, host, str(port), str(timeout), timeout=timeout + 15)
        return proc.stdout.strip() or f"error: {proc.stderr.strip()}"

    def cli(self, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        """Run the installed ``arc-preflight`` console script inside the namespace.

        Falls back to ``python -m arc_preflight`` when the package is not installed beside the
        interpreter running the tests (a checkout used without ``pip install``).
        """
        script = Path(sys.executable).with_name("arc-preflight")
        if script.exists():
            return self.run([str(script), *args], **kwargs)
        return self.run([sys.executable, "-m", "arc_preflight", *args], **kwargs)

    def check_argv(self, *extra: str, timeout: float = 2.0, proxy: Optional[str] = None,
                   dns_server: bool = False) -> List[str]:
        """``check`` arguments with the lab's CA bundle and JSON output; ``proxy=None`` adds
        ``--no-proxy`` so the run never depends on the environment, and
        ``proxy=PROXY_FROM_ENVIRONMENT`` adds no proxy flag at all (environment-proxy tests)."""
        argv = ["check", "--ca-bundle", str(self.ca_bundle), "--format", "json",
                "--timeout", f"{timeout:g}"]
        if proxy == PROXY_FROM_ENVIRONMENT:
            pass  # no flag: the CLI resolves the proxy from localconfig.json / the environment
        elif proxy:
            argv += ["--proxy", proxy]
        else:
            argv += ["--no-proxy"]
        if dns_server:
            argv += ["--dns-server", LAB_DNS_IP]
        return [*argv, *extra]

    def cli_check(self, *extra: str, timeout: float = 2.0, proxy: Optional[str] = None,
                  dns_server: bool = False, user: Optional[str] = None,
                  run_timeout: float = 60) -> CliResult:
        """Run ``arc-preflight check`` inside and parse its JSON report (None if unparsable)."""
        proc = self.cli(*self.check_argv(*extra, timeout=timeout, proxy=proxy,
                                         dns_server=dns_server),
                        user=user, timeout=run_timeout)
        return CliResult(proc, _parse_json(proc.stdout))

    def catalogue_hosts(self, location: str = "eastus", *, probe_only: bool = True,
                        include_wildcards: bool = False) -> List[str]:
        """Host names from ``arc-preflight endpoints --format json`` (run inside the namespace,
        so even a buggy CLI cannot reach out), falling back to ``FALLBACK_HOSTS`` while the CLI
        cannot list them yet."""
        try:
            proc = self.cli("endpoints", "--format", "json", "--location", location, timeout=30)
            data = _parse_json(proc.stdout)
        except subprocess.TimeoutExpired:
            data = None
        if not isinstance(data, list):
            if isinstance(data, dict) and isinstance(data.get("endpoints"), list):
                data = data["endpoints"]
            else:
                return list(FALLBACK_HOSTS)
        hosts = []
        for entry in data:
            host = str(entry.get("host", ""))
            if not host or (probe_only and not entry.get("probe", True)):
                continue
            if "*" in host and not include_wildcards:
                continue
            hosts.append(host)
        return list(dict.fromkeys(hosts)) or list(FALLBACK_HOSTS)

    def describe(self) -> str:
        """Human summary: namespace, servers, DNS, CA bundle (printed by ``scripts/lab``)."""
        lines = [f"namespace  {self.name}", f"workdir    {self.workdir}",
                 f"ca bundle  {self.ca_bundle}"]
        for key, server in sorted(self._servers.items()):
            where = f"{server.ip}:{server.port}" if server.ip else ""
            lines.append(f"server     {key:<22} {where:<22} pid {server.popen.pid}")
        for name, addrs in sorted(self._a.items()):
            lines.append(f"dns        {name} -> {', '.join(addrs)}")
        for name in sorted(self._nxdomain):
            lines.append(f"dns        {name} -> NXDOMAIN")
        if self._dns_dropped:
            lines.append("dns        all queries DROPPED")
        rules = _sh(self._ns("iptables", "-S"), check=False).stdout.splitlines()
        lines += [f"firewall   {rule}" for rule in rules if rule.startswith("-A")]
        return "\n".join(lines)


def _parse_json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _user_exists(user: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(user)
    except KeyError:
        return False
    return True


def _uid_of(user: str) -> int:
    import pwd

    try:
        return pwd.getpwnam(user).pw_uid
    except KeyError as exc:
        raise LabError(f"no such user: {user}") from exc


# ---------------------------------------------------------------------------------------------
# Named scenarios, shared by scripts/lab (demos) and usable from scenario tests.


@dataclass
class Prepared:
    """What a scenario's setup tells the caller about running ``check`` against it."""

    extra: List[str] = field(default_factory=list)
    proxy: Optional[str] = None


@dataclass(frozen=True)
class Scenario:
    """A named lab setup; ``user`` is who should run the CLI (None: root)."""

    name: str
    description: str
    setup: Callable[[Lab, List[str]], Prepared]
    user: Optional[str] = None

    def apply(self, lab: Lab, hosts: List[str]) -> List[str]:
        """Build the scenario in ``lab``; returns the full ``check`` argv for it."""
        prepared = self.setup(lab, hosts)
        return lab.check_argv(*prepared.extra, proxy=prepared.proxy)


def _base(lab: Lab, hosts: List[str], **serve: Any) -> Prepared:
    lab.serve_endpoints(hosts, **serve)
    lab.himds()
    return Prepared(extra=["--himds-url", lab.himds_url])


def _with(change: Callable[[Lab], Any], **serve: Any) -> Callable[[Lab, List[str]], Prepared]:
    """Healthy lab, then one change: most failure scenarios are exactly that."""

    def setup(lab: Lab, hosts: List[str]) -> Prepared:
        prepared = _base(lab, hosts, **serve)
        result = change(lab)
        if isinstance(result, Proxy):
            prepared.proxy = result.url_with_auth
        elif isinstance(result, str):  # a proxy URL chosen by the scenario (e.g. no creds)
            prepared.proxy = result
        return prepared

    return setup


def _nothing(lab: Lab) -> None:
    return None


def _gateway(inspected: bool = False) -> Callable[[Lab, List[str]], Prepared]:
    """The Arc gateway path: the agent set to connection.type gateway with an upstream proxy
    (its localconfig.json in a stand-in agent folder), the Arc proxy, the gateway."""

    def setup(lab: Lab, hosts: List[str]) -> Prepared:
        prepared = _base(lab, hosts)
        lab.proxy(port=40343)  # stands in for the agent's Arc proxy
        upstream = lab.proxy(port=PROXY_PORT)
        folder = lab.workdir / "agent"
        folder.mkdir(exist_ok=True)
        (folder / "agentconfig.json").write_text("{}")
        (folder / "localconfig.json").write_text(json.dumps(
            {"connection.type": "gateway", "proxy.url": upstream.url}))
        folder.chmod(0o755)
        lab.arc_gateway(inspected=inspected)
        lab.outside_gateway()
        prepared.extra += ["--agent-dir", str(folder), "--gateway-url", LAB_GATEWAY]
        prepared.proxy = PROXY_FROM_ENVIRONMENT
        return prepared

    return setup


SCENARIOS: Dict[str, Scenario] = {s.name: s for s in (
    Scenario("healthy", "every endpoint answers, HIMDS answers", _with(_nothing)),
    Scenario("nxdomain-login", "identity names are NXDOMAIN",
             _with(lambda lab: lab.dns(nxdomain=list(IDENTITY_HOSTS)))),
    Scenario("dns-silent", "the DNS server never answers (DROP on port 53)",
             _with(lambda lab: lab.dns_drop())),
    Scenario("dns-down", "no DNS server listening (port unreachable)",
             _with(lambda lab: lab.dns_stop())),
    Scenario("drop-443", "port 443 blackholed (DROP)", _with(lambda lab: lab.drop(port=443))),
    Scenario("reset-443", "port 443 refused with a TCP reset",
             _with(lambda lab: lab.reject(port=443))),
    Scenario("unroutable", "management.azure.com resolves to an unroutable address",
             _with(lambda lab: lab.unroutable(["management.azure.com"]))),
    Scenario("foreign-ca", "certificates from an untrusted issuer (TLS inspection)",
             _with(_nothing, issuer="foreign")),
    Scenario("old-tls", "endpoints speak TLS 1.1 at most", _with(_nothing, tls_max="1.1")),
    Scenario("tls-hang", "TCP accepted, TLS handshake never answered",
             _with(_nothing, mode="hang")),
    Scenario("himds-absent", "nothing listens on localhost:40342",
             _with(lambda lab: lab.himds("absent"))),
    Scenario("himds-hang", "HIMDS accepts and never answers",
             _with(lambda lab: lab.himds("hang"))),
    Scenario("proxy", "all traffic through a squid proxy that allows it",
             _with(lambda lab: lab.proxy())),
    Scenario("proxy-deny", "squid denies CONNECT to management.azure.com (403)",
             _with(lambda lab: lab.proxy(deny=["management.azure.com"]))),
    Scenario("proxy-auth", "squid requires basic auth (407); the CLI is given no credentials",
             _with(lambda lab: lab.proxy(auth=("arc", "s3cret")).url)),
    Scenario("non-root", "healthy lab, the CLI runs as nobody", _with(_nothing), user="nobody"),
    Scenario("gateway", "Arc gateway: Arc proxy (squid) on 40343, upstream squid, the gateway and "
             "the names outside it served", _gateway()),
    Scenario("gateway-inspected", "Arc gateway whose name is TLS-inspected (foreign CA)",
             _gateway(inspected=True)),
)}
