"""The single-file build (``dist/arc-preflight.pyz``) running a real ``check`` in the lab.

The archive is run the way a server without pip runs it: ``python -I -S arc-preflight.pyz``
(no PYTHONPATH, no site-packages at all, so neither the checkout nor the test venv can supply a
module), from a folder outside the repo, inside the loopback-only namespace. One healthy and
two failing scenarios, with the default interpreter and every other pyenv CPython 3.9-3.13;
plus a run as ``nobody`` whose home cache is not writable, so the bootstrap falls back to the
temp folder.

The archive is ``dist/arc-preflight.pyz`` when it is newer than the sources and covers the
interpreters used here (``scripts/ci-zipapp`` leaves it there); otherwise it is built once per
session into a temporary folder (this machine's platform and those interpreters only).
Building fetches wheels from the package index -- from the host, by pip, before any lab
exists; everything the CLI does runs inside the namespace.
"""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Dict, Iterator, List, Optional

import jsonschema
import pytest

from .netlab import CliResult, Lab
from .test_scenarios import IDENTITY, LAB_ISSUER, LOCATION, agent_dir, fake_systemd

pytestmark = [pytest.mark.lab, pytest.mark.timeout(900)]

REPO = Path(__file__).resolve().parents[2]
DIST_PYZ = REPO / "dist" / "arc-preflight.pyz"
BUILD = REPO / "scripts" / "build-zipapp"


def _interpreters() -> Dict[str, str]:
    """label -> interpreter: the one running the tests, and one pyenv CPython of every other
    minor version from 3.9 to 3.13 that is installed (issue 10: the single file runs a lab check
    on every Python under pyenv, not only the oldest)."""
    found = {"default": sys.executable}
    own = f"{sys.version_info[0]}.{sys.version_info[1]}"
    root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    for minor in ("3.9", "3.10", "3.11", "3.12", "3.13"):
        if minor == own:
            continue
        for candidate in sorted(glob.glob(os.path.join(root, "versions", f"{minor}.*", "bin",
                                                       "python3"))):
            if os.access(candidate, os.X_OK):
                found[f"pyenv-{minor}"] = candidate
                break
    return found


INTERPRETERS = _interpreters()


def _minor(python: str) -> str:
    return subprocess.run([python, "-I", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                          capture_output=True, text=True, check=True, timeout=30).stdout.strip()


def _newest_source() -> float:
    paths = [REPO / "pyproject.toml", BUILD]
    paths += [p for p in (REPO / "arc_preflight").rglob("*")
              if p.is_file() and "__pycache__" not in p.parts]
    return max(p.stat().st_mtime for p in paths)


HOST_PLATFORM = f"linux-{os.uname().machine}"


def _covers(pyz: Path, minors: List[str]) -> bool:
    with zipfile.ZipFile(pyz) as zf:
        manifest = json.loads(zf.read("arc_preflight_pyz.json"))
    return all(f"cp{m.replace('.', '')}-{HOST_PLATFORM}" in manifest["targets"] for m in minors)


@pytest.fixture(scope="session")
def pyz(lab_ready: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    minors = sorted({_minor(p) for p in INTERPRETERS.values()})
    if DIST_PYZ.exists() and DIST_PYZ.stat().st_mtime >= _newest_source() \
            and _covers(DIST_PYZ, minors):
        return DIST_PYZ
    out = tmp_path_factory.mktemp("pyz") / "arc-preflight.pyz"
    proc = subprocess.run([sys.executable, str(BUILD), "--platforms", HOST_PLATFORM,
                           "--python", ",".join(minors), "--output", str(out)],
                          capture_output=True, text=True, timeout=840)
    assert proc.returncode == 0, f"build-zipapp failed:\n{proc.stdout}\n{proc.stderr[-4000:]}"
    return out


@pytest.fixture(params=sorted(INTERPRETERS))
def python(request: pytest.FixtureRequest) -> Iterator[str]:
    yield INTERPRETERS[request.param]


def archive_schema(pyz: Path) -> Dict[str, object]:
    """The report schema inside the archive: the contract of the code that was packed (the
    checkout may have moved on since the build)."""
    with zipfile.ZipFile(pyz) as zf:
        name = next(n for n in zf.namelist()
                    if n.startswith("w/arc_preflight-")
                    and n.endswith("/arc_preflight/data/report.schema.json"))
        schema: Dict[str, object] = json.loads(zf.read(name))
    return schema


def run_pyz(lab: Lab, pyz: Path, python: str, *, user: Optional[str] = None,
            cache: Optional[Path] = None, env: Optional[Dict[str, Optional[str]]] = None,
            timeout: float = 2.0) -> CliResult:
    """``check`` from the archive inside the namespace; JSON parsed and schema-checked."""
    argv = lab.check_argv("--location", LOCATION, "--himds-url", lab.himds_url,
                          "--agent-dir", agent_dir(lab), "--expected-issuer", LAB_ISSUER,
                          timeout=timeout)
    environment: Dict[str, Optional[str]] = {
        **fake_systemd(lab), "PYTHONPATH": None,
        "ARC_PREFLIGHT_CACHE": str(cache) if cache else None, **(env or {})}
    proc = lab.run([python, "-I", "-S", str(pyz), *argv], user=user, env=environment,
                   cwd=Path(lab.workdir), timeout=120)
    try:
        data = json.loads(proc.stdout)
    except ValueError:
        data = None
    result = CliResult(proc, data)
    assert data is not None, f"no JSON: rc={proc.returncode}\n{proc.stderr[-3000:]}"
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    jsonschema.validate(data, archive_schema(pyz))
    assert data["exit_code"] == proc.returncode
    return result


def by_id(result: CliResult) -> Dict[str, Dict[str, object]]:
    return {item["id"]: item for item in result.data["checks"]}


def test_healthy(healthy_lab: Lab, pyz: Path, python: str, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    result = run_pyz(healthy_lab, pyz, python, cache=cache)
    assert result.returncode == 0, result.data["diagnoses"]
    assert result.data["status"] == "pass"
    assert result.data["diagnoses"] == []
    checks = by_id(result)
    # every layer really ran from the archive: DNS (dnspython), TLS (cryptography reads the
    # chain), HTTPS (http.client), HIMDS
    for host in (*IDENTITY, "management.azure.com"):
        for layer in ("dns", "tcp"):
            key = f"{layer}:{host}" if layer == "dns" else f"{layer}:{host}:443"
            assert checks[key]["status"] == "pass", checks[key]
        assert checks[f"tls:{host}:443"]["status"] == "pass"
        assert checks[f"https:{host}:443"]["status"] == "pass"
    assert checks["himds"]["status"] == "pass"
    # extracted once, into a 0700 folder named after the build and this interpreter
    folders = list(cache.iterdir())
    assert len(folders) == 1 and folders[0].name.split("-")[1].startswith("cp"), folders
    assert folders[0].stat().st_mode & 0o777 == 0o700


def test_nxdomain_login(healthy_lab: Lab, pyz: Path, python: str, tmp_path: Path) -> None:
    healthy_lab.dns(nxdomain=list(IDENTITY))
    result = run_pyz(healthy_lab, pyz, python, cache=tmp_path / "cache")
    assert result.returncode == 2
    assert result.data["status"] == "fail"
    checks = by_id(result)
    for host in IDENTITY:
        assert checks[f"dns:{host}"]["code"] == "dns.nxdomain"
    assert checks["https:management.azure.com:443"]["status"] == "pass"
    causes = [d for d in result.data["diagnoses"] if d["category"] == "dns_failure"]
    assert len(causes) == 1 and causes[0]["severity"] == "fail", result.data["diagnoses"]
    assert all(host in " ".join(causes[0]["evidence"]) for host in IDENTITY)


def test_port_443_dropped(healthy_lab: Lab, pyz: Path, python: str, tmp_path: Path) -> None:
    healthy_lab.drop(port=443)
    result = run_pyz(healthy_lab, pyz, python, cache=tmp_path / "cache", timeout=1.5)
    assert result.returncode == 2
    assert result.data["status"] == "fail"
    tcp = [c for c in result.data["checks"]
           if c["probe"] == "tcp" and c["target"].endswith(":443")]
    assert tcp and all(c["code"] == "tcp.timeout" for c in tcp)
    arm = [d for d in result.data["diagnoses"]
           if any("management.azure.com" in e for e in d["evidence"])]
    assert arm and arm[0]["category"] == "firewall_or_proxy_blocking", result.data["diagnoses"]


def test_non_root_falls_back_to_temp_cache(healthy_lab: Lab, pyz: Path) -> None:
    """As ``nobody``, HOME (the lab's root-owned workdir) has no writable ~/.cache: the
    bootstrap falls back to <TMPDIR>/arc-preflight-65534, made 0700 and owned by nobody."""
    tmpdir = Path(healthy_lab.workdir) / "tmp"
    tmpdir.mkdir()
    tmpdir.chmod(0o1777)
    result = run_pyz(healthy_lab, pyz, sys.executable, user="nobody",
                     env={"TMPDIR": str(tmpdir), "XDG_CACHE_HOME": None})
    assert result.data["host"]["elevated"] is False
    assert result.returncode == 1 and result.data["status"] == "warn"  # only: not admin
    assert by_id(result)["https:management.azure.com:443"]["status"] == "pass"
    root = tmpdir / "arc-preflight-65534"
    assert root.is_dir() and root.stat().st_uid == 65534
    assert root.stat().st_mode & 0o777 == 0o700
    assert not (Path(healthy_lab.workdir) / ".cache").exists()
