"""The agent's services as real systemd, the process table and Windows report them (issue 15,
item 5).

Facts: gcad.service and extd.service both run the process ``gc_linux_service``; their
executables are under ``/opt/GC_Service/`` and ``/opt/GC_Ext/`` (Microsoft's
``articles/azure-arc/servers/agent-overview.md``, azure-management-docs, Linux tables). The Arc
proxy service was disabled by default before agent 1.51 and stays off unless the Arc gateway is
used; 1.51+ starts it but ``connection.type direct`` may turn it off (same article, "Azure Arc
Proxy"). Unit states are what ``systemctl show -p LoadState,ActiveState,SubState,UnitFileState``
prints: a stopped service is ``ActiveState=inactive`` / ``SubState=dead``, a crashed one
``ActiveState=failed`` / ``SubState=failed``, a missing one ``LoadState=not-found`` (systemd's
``systemctl --state=help`` lists these values).

Windows cannot run here: its branch is exercised with ``sys.platform`` patched and a fake
service manager.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

import psutil
import pytest

from arc_preflight.config import Settings
from arc_preflight.model import ProbeContext, Status
from arc_preflight.probes import service

ACTIVE = {"LoadState": "loaded", "ActiveState": "active", "SubState": "running",
          "UnitFileState": "enabled"}
INACTIVE = {"LoadState": "loaded", "ActiveState": "inactive", "SubState": "dead",
            "UnitFileState": "enabled"}
DISABLED = {"LoadState": "loaded", "ActiveState": "inactive", "SubState": "dead",
            "UnitFileState": "disabled"}
FAILED = {"LoadState": "loaded", "ActiveState": "failed", "SubState": "failed",
          "UnitFileState": "enabled"}
NOT_FOUND = {"LoadState": "not-found", "ActiveState": "inactive", "SubState": "dead",
             "UnitFileState": ""}


def ctx(agent_dir: Path, connection_type: Optional[str] = None) -> ProbeContext:
    if connection_type:
        (agent_dir / "localconfig.json").write_text(json.dumps(
            {"connection.type": connection_type}))
    return ProbeContext(timeout=2.0, settings=Settings(agent_dir=str(agent_dir)),
                        deadline_at=time.monotonic() + 30)


def systemd(monkeypatch: pytest.MonkeyPatch, **units: Dict[str, str]) -> None:
    monkeypatch.setattr(service, "unit_properties",
                        lambda name, props, timeout: dict(units[name]))


@pytest.mark.parametrize(("unit", "state", "status", "code"), [
    ("himdsd", INACTIVE, Status.FAIL, "service.stopped"),
    ("himdsd", FAILED, Status.FAIL, "service.failed"),
    ("gcad", FAILED, Status.WARN, "service.failed"),
    ("extd", INACTIVE, Status.WARN, "service.stopped"),
    ("extd", ACTIVE, Status.PASS, None),
])
def test_systemd_states(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, unit: str,
                        state: Dict[str, str], status: Status, code: Optional[str]) -> None:
    systemd(monkeypatch, **{unit: state})
    out = service.probe(unit, True, ctx(tmp_path), {})
    assert (out.status, out.code) == (status, code), out
    assert state["SubState"] in out.summary


@pytest.mark.parametrize("state", [INACTIVE, DISABLED])
def test_arcproxyd_off_without_gateway_is_normal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 state: Dict[str, str]) -> None:
    systemd(monkeypatch, arcproxyd=state)
    out = service.probe("arcproxyd", True, ctx(tmp_path, "direct"), {})
    assert out.status is Status.PASS and out.code is None, out
    assert out.facts["needed"] is False and "gateway" in out.summary


def test_arcproxyd_off_without_any_localconfig_is_normal(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    systemd(monkeypatch, arcproxyd=DISABLED)
    assert service.probe("arcproxyd", True, ctx(tmp_path), {}).status is Status.PASS


def test_arcproxyd_off_with_gateway_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    systemd(monkeypatch, arcproxyd=INACTIVE)
    out = service.probe("arcproxyd", True, ctx(tmp_path, "gateway"), {})
    assert (out.status, out.code) == (Status.FAIL, "service.stopped")
    assert "gateway" in out.summary


def test_arcproxyd_crashed_without_gateway_still_warns(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    systemd(monkeypatch, arcproxyd=FAILED)
    out = service.probe("arcproxyd", True, ctx(tmp_path, "direct"), {})
    assert (out.status, out.code) == (Status.WARN, "service.failed")


def test_not_installed_before_the_agent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    systemd(monkeypatch, gcad=NOT_FOUND)
    assert service.probe("gcad", False, ctx(tmp_path), {}).status is Status.SKIP


# -- the process table (no systemd: containers, WSL) -----------------------------------------


class FakeProc:
    def __init__(self, pid: int, name: str, exe: Optional[str]) -> None:
        self.pid = pid
        self.info = {"name": name, "pid": pid}
        self._exe = exe

    def exe(self) -> str:
        if self._exe is None:
            raise psutil.AccessDenied(self.pid)
        return self._exe

    def cmdline(self) -> List[str]:
        if self._exe is None:
            raise psutil.AccessDenied(self.pid)
        return [self._exe]


def processes(monkeypatch: pytest.MonkeyPatch, *procs: FakeProc) -> None:
    monkeypatch.setattr(service, "unit_properties", lambda *a: None)
    monkeypatch.setattr(psutil, "process_iter", lambda attrs=None: iter(procs))


def test_extd_process_is_not_counted_as_gcad(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    processes(monkeypatch, FakeProc(41, "gc_linux_service", "/opt/GC_Ext/GC/gc_linux_service"))
    extd = service.probe("extd", True, ctx(tmp_path), {})
    gcad = service.probe("gcad", True, ctx(tmp_path), {})
    assert extd.status is Status.PASS and extd.facts["pid"] == 41
    assert (gcad.status, gcad.code) == (Status.WARN, "service.stopped"), gcad


def test_both_gc_services_found_by_folder(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    processes(monkeypatch,
              FakeProc(41, "gc_linux_service", "/opt/GC_Ext/GC/gc_linux_service"),
              FakeProc(52, "gc_linux_service", "/opt/GC_Service/GC/gc_linux_service"))
    assert service.probe("gcad", True, ctx(tmp_path), {}).facts["pid"] == 52
    assert service.probe("extd", True, ctx(tmp_path), {}).facts["pid"] == 41


def test_unattributable_process_is_said_so(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    processes(monkeypatch, FakeProc(41, "gc_linux_service", None))
    out = service.probe("gcad", True, ctx(tmp_path), {})
    assert out.status is Status.SKIP and "cannot be told apart" in out.summary


def test_arcproxy_process_absent_without_gateway(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    processes(monkeypatch, FakeProc(7, "himds", "/opt/azcmagent/bin/himds"))
    assert service.probe("arcproxyd", True, ctx(tmp_path), {}).status is Status.PASS
    assert service.probe("himdsd", True, ctx(tmp_path), {}).status is Status.PASS


# -- Windows (faked) ---------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "state", "connection", "status"), [
    ("arcproxy", "stopped", None, Status.PASS),
    ("arcproxy", "stopped", "gateway", Status.FAIL),
    ("himds", "stopped", None, Status.FAIL),
    ("GCArcService", "running", None, Status.PASS),
])
def test_windows_services(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, state: str,
                          connection: Optional[str], status: Status) -> None:
    monkeypatch.setattr(service.sys, "platform", "win32")
    info: Dict[str, Any] = {"name": name, "status": state, "start_type": "automatic"}
    monkeypatch.setattr(service, "windows_service", lambda n: dict(info))
    out = service.probe(name, True, ctx(tmp_path, connection), {})
    assert out.status is status, out
