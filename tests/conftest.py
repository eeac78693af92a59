"""Shared fixtures for the unit tests.

Every test that is not marked ``lab`` runs with the Internet families of ``socket`` blocked, so a
unit test that would touch the network fails loudly instead of depending on (or leaking to) the
machine it runs on. ``AF_UNIX`` sockets and ``socket.socketpair()`` keep working: the runner's
queues, fake proxies and in-process servers built on them are fine.

The network lab (``tests/lab``) marks its tests ``lab`` and brings its own conftest; it is left
untouched by the block.
"""

from __future__ import annotations

import socket
import sys
from typing import Any, Iterator, NamedTuple

import pytest

from arc_preflight import kb as kbmod

BLOCKED = "network blocked in unit tests"
_INET = (socket.AF_INET, socket.AF_INET6)


def _is_inet(family: Any) -> bool:
    return family in _INET


def _raise(*_args: Any, **_kwargs: Any) -> Any:
    raise RuntimeError(BLOCKED)


def install_network_block(monkeypatch: pytest.MonkeyPatch) -> None:
    """Patch ``socket`` so that any IPv4/IPv6 connection or name lookup raises RuntimeError."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_sendto = socket.socket.sendto
    real_getaddrinfo = socket.getaddrinfo

    def connect(self: socket.socket, address: Any) -> None:
        if _is_inet(self.family):
            raise RuntimeError(BLOCKED)
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        if _is_inet(self.family):
            raise RuntimeError(BLOCKED)
        return real_connect_ex(self, address)

    def sendto(self: socket.socket, *args: Any) -> int:
        # dnspython sends UDP queries with sendto() and never calls connect(); block that too.
        if _is_inet(self.family):
            raise RuntimeError(BLOCKED)
        return real_sendto(self, *args)

    def getaddrinfo(host: Any, port: Any, family: int = 0, *args: Any, **kwargs: Any) -> Any:
        if family == getattr(socket, "AF_UNIX", None):
            return real_getaddrinfo(host, port, family, *args, **kwargs)
        raise RuntimeError(BLOCKED)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket.socket, "sendto", sendto)
    monkeypatch.setattr(socket, "create_connection", _raise)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture(autouse=True)
def _block_network(request: pytest.FixtureRequest,
                   monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    if request.node.get_closest_marker("lab") is None:
        install_network_block(monkeypatch)
    yield


MINI_CAUSES = '''
[[cause]]
id = "not_elevated"
category = "not_admin"
severity = "warn"
title = "Not running as administrator or root"
explanation = "azcmagent connect must run elevated."
remedy = ["Run azcmagent connect with sudo or as Administrator."]
azcm = ["AZCM0018"]
probe_codes = ["privilege.not_admin"]

[[cause]]
id = "dns_name_not_found"
category = "dns_failure"
severity = "fail"
title = "An endpoint name does not resolve"
explanation = "DNS answered NXDOMAIN for a name the agent needs."
remedy = ["Fix the DNS forwarders."]
docs = ["https://learn.microsoft.com/azure/azure-arc/servers/network-requirements"]
probe_codes = ["dns.nxdomain"]
priority = 70
'''


@pytest.fixture
def mini_kb() -> Any:
    """A tiny knowledge base parsed from inline TOML, independent of data/causes.toml."""
    from arc_preflight import kb

    return kb.parse(MINI_CAUSES)


class Run(NamedTuple):
    """A finished CLI run: exit code, stdout, stderr."""

    code: int
    out: str
    err: str


def _runner(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
            knowledge: Any) -> Any:
    """``cli.main`` in-process with SystemExit caught and a clean environment.

    ``cli._exit`` calls ``os._exit`` when other threads are alive (probes abandoned by other
    tests), which would end pytest itself, so exits go through SystemExit here. ``stdin`` (text
    or bytes) feeds commands that read ``-``.
    """
    import io

    from arc_preflight import cli, kb

    for name in ("ARC_PREFLIGHT_SP_SECRET", "HTTPS_PROXY", "https_proxy", "NO_PROXY",
                 "no_proxy", "ARC_PREFLIGHT_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setattr(cli, "_exit", lambda code: sys.exit(code))
    if knowledge is not None:
        monkeypatch.setattr(kb, "load", lambda: knowledge)

    def run(*argv: str, stdin: Any = b"") -> Run:
        data = stdin.encode("utf-8") if isinstance(stdin, str) else stdin
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
        with pytest.raises(SystemExit) as info:
            cli.main(list(argv))
        captured = capsys.readouterr()
        code = info.value.code
        return Run(code if isinstance(code, int) else 0, captured.out, captured.err)

    return run


@pytest.fixture
def run_cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
            mini_kb: Any) -> Any:
    """The CLI in-process with the small inline knowledge base (see ``_runner``)."""
    return _runner(monkeypatch, capsys, mini_kb)


@pytest.fixture
def run_cli_real_kb(monkeypatch: pytest.MonkeyPatch,
                    capsys: pytest.CaptureFixture[str]) -> Any:
    """The CLI in-process with the packaged knowledge base (see ``_runner``)."""
    return _runner(monkeypatch, capsys, None)


def without_dac_prefix() -> list:
    """A command prefix that makes root obey file permissions, or [] when not root.

    Root reads any file, so "unreadable file" tests would prove nothing; dropping the two DAC
    capabilities from the bounding set gives a root process that is refused like anyone else.
    """
    import os
    import shutil

    if not (hasattr(os, "geteuid") and os.geteuid() == 0):
        return []
    if not shutil.which("setpriv"):
        pytest.skip("root without setpriv cannot be made to obey file modes")
    return ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"]


def run_subprocess(*argv: str, prefix: Any = ()) -> Run:
    """The real entry point, ``python -m arc_preflight``, without proxy or secret variables."""
    import os
    import shutil
    import subprocess
    from pathlib import Path

    env = {k: v for k, v in os.environ.items()
           if k not in ("ARC_PREFLIGHT_SP_SECRET", "HTTPS_PROXY", "https_proxy",
                        "ARC_PREFLIGHT_DEBUG")}
    env["NO_COLOR"] = "1"
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1]) + os.pathsep + env.get(
        "PYTHONPATH", "")
    # Belt and braces: where possible the child gets a network namespace of its own with no
    # interface up, so even a bug that probes cannot send a packet.
    isolate = ["unshare", "-n"] if hasattr(os, "geteuid") and os.geteuid() == 0 and \
        shutil.which("unshare") else []
    proc = subprocess.run([*isolate, *prefix, sys.executable, "-m", "arc_preflight", *argv],
                          capture_output=True, text=True, timeout=120, env=env,
                          stdin=subprocess.DEVNULL)
    return Run(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def elevated(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Set what the privilege probe sees: ``elevated(True)`` passes, ``elevated(False)`` warns."""
    from arc_preflight.probes import privilege

    def set_to(value: bool) -> None:
        monkeypatch.setattr(privilege, "is_elevated", lambda: value)

    set_to(True)
    return set_to


@pytest.fixture(scope="session")
def kb() -> kbmod.KnowledgeBase:
    """The shipped knowledge base, loaded once: it is immutable, and every test that reads
    texts or checks data against it wants the same one."""
    return kbmod.load()
