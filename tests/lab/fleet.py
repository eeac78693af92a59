"""The fleet lab: a controller and several hosts, each in its own network namespace, joined by
veth pairs; each host runs sshd and its own lab DNS, HTTPS stand-ins and fault.

``tests/lab/test_fleet.py`` drives the real ``ansible-playbook`` from the controller over SSH
with it. Each host is a ``netlab.Lab`` (dnsmasq on its own 127.0.0.53, stand-ins on its own
127.0.1.1, iptables rules in its own INPUT chain), built by one of ``netlab.SCENARIOS``, plus
one veth interface towards the controller::

    controller (a Lab)                        host i (a Lab, its own hostname)
      fl<i> 198.18.<i>.1/24  <--- veth --->     eth0 198.18.<i>.2/24, sshd on :22

Safety: addresses come only from 198.18.0.0/15 (RFC 2544, benchmarking), and only inside
these namespaces: the veth pairs are created inside the controller's namespace with the peer
put straight into the host's, so no interface ever exists in the machine's own namespace;
there is no default route anywhere and forwarding stays off, so a host reaches the controller
and nothing else (not even the other hosts). ``Fleet.assert_isolated`` checks all of it.

Each host's sshd runs in its own UTS namespace too, with the host's name as hostname, so the
reports it produces carry distinct ``host.hostname`` values as real machines would.

    with Fleet([HostSpec("web-healthy", "healthy"), ...]) as fleet:
        fleet.hosts["web-healthy"].ip, .extra_args, .lab
        fleet.controller.run([...])          # inside the controller namespace
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from .netlab import REPO_ROOT, SCENARIOS, Lab, LabError, Server, _sh

FLEET_NETWORK = ipaddress.ip_network("198.18.0.0/15")
SSHD = "/usr/sbin/sshd"
SSH_TOOLS = (SSHD, "ssh", "ssh-keygen", "unshare", "hostname")
LAB_ISSUER = "arc-preflight lab CA"  # the lab CA's name: accepted as Microsoft's issuer

DIST_PYZ = REPO_ROOT / "dist" / "arc-preflight.pyz"
BUILD_ZIPAPP = REPO_ROOT / "scripts" / "build-zipapp"
PYZ_CACHE = Path(tempfile.gettempdir()) / "arc-preflight-fleet-pyz"


def target_python() -> str:
    """The interpreter the fleet's hosts use (ansible modules and the single file)."""
    for candidate in ("/usr/bin/python3", "/bin/python3"):
        if os.access(candidate, os.X_OK):
            return candidate
    return sys.executable


def fleet_unavailable_reason() -> Optional[str]:
    """Why the fleet cannot be built here (beyond the lab's own needs), or None."""
    for tool in SSH_TOOLS:
        if shutil.which(tool) is None:
            return f"{tool} is not installed (Debian: openssh-server, openssh-client)"
    return None


# ---------------------------------------------------------------------------------------------
# The single file


def _minor(python: str) -> str:
    code = "import sys; print('%d.%d' % sys.version_info[:2])"
    return subprocess.run([python, "-I", "-c", code], capture_output=True, text=True,
                          check=True, timeout=30).stdout.strip()


def _sources() -> List[Path]:
    paths = [REPO_ROOT / "pyproject.toml", BUILD_ZIPAPP]
    paths += sorted(p for p in (REPO_ROOT / "arc_preflight").rglob("*")
                    if p.is_file() and "__pycache__" not in p.parts)
    return paths


def _covers(pyz: Path, minor: str) -> bool:
    try:
        with zipfile.ZipFile(pyz) as archive:
            manifest = json.loads(archive.read("arc_preflight_pyz.json"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return False
    return f"cp{minor.replace('.', '')}-linux-x86_64" in manifest.get("targets", {})


def ensure_pyz(python: str) -> Path:
    """The single file to push to the fleet, able to run with ``python``.

    ``$ARC_PREFLIGHT_PYZ`` when set; else ``dist/arc-preflight.pyz`` when it is newer than every
    source; else a build of the current sources, cached under the system temp folder by a hash
    of their content (building fetches wheels and takes a minute or two; the cache makes a
    second run free while nothing changed). Callers copy it before use: another run may
    replace the cache's content meanwhile.
    """
    minor = _minor(python)
    given = os.environ.get("ARC_PREFLIGHT_PYZ")
    if given:
        if not _covers(Path(given), minor):
            raise LabError(f"ARC_PREFLIGHT_PYZ={given} has no build for Python {minor}")
        return Path(given)
    sources = _sources()
    if DIST_PYZ.exists() and _covers(DIST_PYZ, minor) and \
            DIST_PYZ.stat().st_mtime >= max(p.stat().st_mtime for p in sources):
        return DIST_PYZ
    digest = hashlib.sha256(minor.encode())
    for path in sources:
        digest.update(str(path.relative_to(REPO_ROOT)).encode() + b"\0" + path.read_bytes())
    cached = PYZ_CACHE / f"arc-preflight-{digest.hexdigest()[:16]}-py{minor}.pyz"
    if cached.exists() and _covers(cached, minor):
        return cached
    PYZ_CACHE.mkdir(mode=0o700, exist_ok=True)
    partial = cached.with_name(f"{cached.stem}.{os.getpid()}.partial.pyz")  # runs may race
    proc = subprocess.run([sys.executable, str(BUILD_ZIPAPP), "--no-windows", "--python", minor,
                           "--output", str(partial)],
                          capture_output=True, text=True, timeout=900)
    if proc.returncode != 0 or not partial.exists():
        raise LabError(f"build-zipapp failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    partial.replace(cached)
    lock = partial.with_name(partial.name + ".lock.json")  # the build's wheel list
    with contextlib.suppress(OSError):
        lock.replace(cached.with_name(cached.name + ".lock.json"))
    # Older builds go after a day (not at once: a concurrent run may be using one).
    for old in PYZ_CACHE.glob("arc-preflight-*"):
        with contextlib.suppress(OSError):
            if time.time() - old.stat().st_mtime > 86400:
                old.unlink()
    return cached


# ---------------------------------------------------------------------------------------------
# The fleet


@dataclass(frozen=True)
class HostSpec:
    """``name`` is the inventory name and the host's own hostname; ``scenario`` a key of
    ``netlab.SCENARIOS`` (healthy, nxdomain-login, drop-443, proxy-auth, ...)."""

    name: str
    scenario: str


@dataclass
class FleetHost:
    spec: HostSpec
    lab: Lab
    index: int
    ip: str
    controller_ip: str
    extra_args: List[str] = field(default_factory=list)
    sshd: Optional[Server] = None

    @property
    def name(self) -> str:
        return self.spec.name


def _fleet_address(text: str) -> str:
    if ipaddress.ip_address(text) not in FLEET_NETWORK:
        raise LabError(f"fleet addresses must be in {FLEET_NETWORK}: {text}")
    return text


def _ns(name: str, *argv: str) -> List[str]:
    return ["ip", "netns", "exec", name, *argv]


class Fleet:
    """A controller namespace and one namespace per ``HostSpec``; see the module docstring."""

    def __init__(self, specs: Sequence[HostSpec], *, location: str = "eastus",
                 check_timeout: float = 2.0) -> None:
        names = [s.name for s in specs]
        if len(set(names)) != len(names) or not 1 <= len(specs) <= 250:
            raise LabError(f"host names must be unique, 1 to 250 of them: {names}")
        for spec in specs:
            if spec.scenario not in SCENARIOS:
                raise LabError(f"unknown scenario {spec.scenario!r} for {spec.name}")
        self.specs = list(specs)
        self.location = location
        self.check_timeout = check_timeout
        self.controller = Lab()
        self.hosts: Dict[str, FleetHost] = {}
        self.started = False

    def __enter__(self) -> Fleet:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def workdir(self) -> Path:
        """The controller's folder: client key, known_hosts, ansible files, fetched reports."""
        return self.controller.workdir

    @property
    def client_key(self) -> Path:
        return self.workdir / "ssh" / "id_ed25519"

    @property
    def known_hosts(self) -> Path:
        return self.workdir / "ssh" / "known_hosts"

    def start(self) -> Fleet:
        reason = fleet_unavailable_reason()
        if reason:
            raise LabError(reason)
        try:
            self.started = True
            self.controller.start()
            self._client_key()
            # sshd's privilege-separation folder (Debian's unit makes it; here nothing does).
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
            catalogue = self.controller.catalogue_hosts(location=self.location)
            for index, spec in enumerate(self.specs, start=1):
                self._add_host(index, spec, catalogue)
            self.assert_isolated()
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        """Hosts first (their sshd and servers), then the controller. Idempotent."""
        for host in list(self.hosts.values()):
            with contextlib.suppress(Exception):
                host.lab.close()
        self.hosts.clear()
        if self.started:
            with contextlib.suppress(Exception):
                self.controller.close()
            self.started = False

    # -- building ---------------------------------------------------------------------------

    def _client_key(self) -> None:
        folder = self.client_key.parent
        folder.mkdir(mode=0o700)
        _sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "arc-preflight-fleet-controller",
             "-f", str(self.client_key)])
        self.known_hosts.write_text("")

    def _add_host(self, index: int, spec: HostSpec, catalogue: List[str]) -> None:
        lab = Lab().start()
        host = FleetHost(spec=spec, lab=lab, index=index,
                         ip=_fleet_address(f"198.18.{index}.2"),
                         controller_ip=_fleet_address(f"198.18.{index}.1"))
        self.hosts[spec.name] = host
        # Its own /etc/hosts (``ip netns exec`` mounts /etc/netns/NAME/* over /etc), naming
        # itself as a Debian machine does: the check wants its own name resolvable.
        (Path("/etc/netns") / lab.name / "hosts").write_text(
            f"127.0.0.1\tlocalhost\n127.0.1.1\t{spec.name}\n::1\tlocalhost ip6-localhost\n")
        self._link(host)
        prepared = SCENARIOS[spec.scenario].setup(lab, list(catalogue))
        proxy = ["--proxy", prepared.proxy] if prepared.proxy else ["--no-proxy"]
        host.extra_args = [
            "--timeout", f"{self.check_timeout:g}", "--ca-bundle", str(lab.ca_bundle),
            # no agent on the fleet yet: the pre-onboarding case, the same on every machine
            "--agent-dir", str(lab.workdir / "no-agent"),
            "--expected-issuer", LAB_ISSUER, *proxy, *prepared.extra,
            # Before onboarding the agent's services and HIMDS have nothing to say, and IMDS
            # only says "not Azure". (They were skipped first because importing requests inside
            # the probe's 2-second budget could get them abandoned as hung on a loaded CI
            # machine; the probes no longer use requests.) The network, proxy, parameter, clock
            # and privilege checks are what the fleet run is about.
            "--skip", "service", "--skip", "himds", "--skip", "imds"]
        host.sshd = self._sshd(host)

    def _link(self, host: FleetHost) -> None:
        """One veth pair: fl<i> in the controller, eth0 in the host, made inside the controller
        namespace with the peer created directly in the host's (never in the machine's)."""
        ctrl, name, dev = self.controller.name, host.lab.name, f"fl{host.index}"
        _sh(_ns(ctrl, "ip", "link", "add", dev, "type", "veth", "peer", "name", "eth0",
                "netns", name))
        for ns, iface, addr in ((ctrl, dev, host.controller_ip), (name, "eth0", host.ip)):
            # IPv4 only: no IPv6 link-local chatter, nothing but the /24 below on the link
            _sh(_ns(ns, "sysctl", "-q", "-w", f"net.ipv6.conf.{iface}.disable_ipv6=1"),
                check=False)
            _sh(_ns(ns, "ip", "addr", "add", f"{addr}/24", "dev", iface))
            _sh(_ns(ns, "ip", "link", "set", iface, "up"))

    def _sshd(self, host: FleetHost) -> Server:
        folder = host.lab.workdir / "sshd"
        folder.mkdir(mode=0o700)
        hostkey = folder / "ssh_host_ed25519_key"
        _sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", host.name, "-f", str(hostkey)])
        authorized = folder / "authorized_keys"
        authorized.write_text(self.client_key.with_suffix(".pub").read_text())
        authorized.chmod(0o600)
        keytype, blob = hostkey.with_suffix(".pub").read_text().split()[:2]
        with self.known_hosts.open("a") as out:
            out.write(f"{host.ip} {keytype} {blob}\n")
        config = folder / "sshd_config"
        config.write_text("\n".join([
            f"ListenAddress {host.ip}",
            "Port 22",
            f"HostKey {hostkey}",
            f"PidFile {folder / 'sshd.pid'}",
            f"AuthorizedKeysFile {authorized}",
            "AllowUsers root",
            "PermitRootLogin prohibit-password",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "UsePAM no",
            # the key files live under the system temp folder (mode 1777): StrictModes would
            # refuse them; they are 0600 and owned by root all the same
            "StrictModes no",
            "UseDNS no",
            "PrintMotd no",
            "X11Forwarding no",
            "AllowTcpForwarding no",
            "AllowAgentForwarding no",
            "PermitTunnel no",
            "MaxStartups 50:30:100",
            "Subsystem sftp internal-sftp",
            "LogLevel VERBOSE",
        ]) + "\n")
        _sh([SSHD, "-t", "-f", str(config)])
        # Everything sshd starts gets the host's own hostname (a UTS namespace: the report's
        # host.hostname) and, in a private mount namespace, root's shell start-up file as a
        # fresh Debian has it: this machine's own (pyenv, cargo) would put other interpreters
        # first on PATH and add most of a second to every SSH command.
        bashrc = Path("/root/.bashrc")
        skel = Path("/etc/skel/.bashrc") if Path("/etc/skel/.bashrc").is_file() else Path(
            "/dev/null")
        script = 'hostname "$1" || exit 1\n'
        if bashrc.is_file():
            script += f'mount --bind "{skel}" "{bashrc}" || exit 1\n'
        script += 'exec "$2" -D -e -f "$3"\n'
        argv = ["unshare", "--uts", "--mount", "--propagation", "private", "--", "sh", "-c",
                script, "sh", host.name, SSHD, str(config)]
        return host.lab.spawn(
            "sshd", argv, ip=host.ip, port=22, timeout=20,
            ready=lambda: self.controller.wait_tcp(host.ip, 22, timeout=5))

    # -- checks -----------------------------------------------------------------------------

    def assert_isolated(self) -> None:
        """Every namespace: only lo and its veth ends, addresses only loopback or in
        198.18.0.0/15, no default route, no forwarding."""
        expected = {self.controller.name: {"lo", *(f"fl{h.index}" for h in self.hosts.values())}}
        expected.update({h.lab.name: {"lo", "eth0"} for h in self.hosts.values()})
        for ns, allowed in expected.items():
            links = _sh(_ns(ns, "ip", "-o", "link", "show")).stdout.splitlines()
            names = {line.split(":")[1].strip().split("@")[0] for line in links}
            if names != allowed:
                raise LabError(f"{ns}: interfaces {sorted(names)}, expected {sorted(allowed)}")
            for line in _sh(_ns(ns, "ip", "-o", "addr", "show")).stdout.splitlines():
                family, cidr = line.split()[2:4]
                addr = ipaddress.ip_interface(cidr).ip
                if family == "inet" and not (addr.is_loopback or addr in FLEET_NETWORK):
                    raise LabError(f"{ns}: address {cidr} outside loopback and {FLEET_NETWORK}")
                if family == "inet6" and not addr.is_loopback:
                    raise LabError(f"{ns}: IPv6 address {cidr}")
            for family in ("-4", "-6"):
                routes = _sh(_ns(ns, "ip", family, "route", "show")).stdout
                if "default" in routes:
                    raise LabError(f"{ns}: default route:\n{routes}")
            forward = _sh(_ns(ns, "sysctl", "-n", "net.ipv4.ip_forward")).stdout.strip()
            if forward != "0":
                raise LabError(f"{ns}: IPv4 forwarding is on")

    def sshd_logs(self) -> str:
        """Every host's sshd log, for a failing test's message."""
        return "\n".join(f"--- {h.name} sshd\n{h.sshd.log_text()[-3000:] if h.sshd else ''}"
                         for h in self.hosts.values())
