"""arc_preflight.buildinfo, and the single-file build's bootstrap on a tiny archive.

The archive here is made by ``scripts/build-zipapp``'s own writer from one small fake wheel
(an ``arc_preflight.entry``, the module the bootstrap starts, that prints what the bootstrap
told it), so the cache rules are
tested in a second, with no network: where the cache goes, that it is 0700 and ours, that a
planted symlink or someone else's folder is refused, and that racing runs all succeed.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import os
import subprocess
import sys
import types
import zipfile
from pathlib import Path
from typing import Any, Dict, Optional

import pytest

from arc_preflight import buildinfo

REPO = Path(__file__).resolve().parents[1]
PYTHON = ".".join(str(part) for part in sys.version_info[:3])
MINOR = f"{sys.version_info[0]}.{sys.version_info[1]}"


def test_describe_normal_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, buildinfo.MARKER_MODULE, raising=False)
    assert buildinfo.build_kind() == ""
    assert buildinfo.describe("0.1.0") == "arc-preflight 0.1.0"


def test_describe_single_file(monkeypatch: pytest.MonkeyPatch) -> None:
    marker = types.ModuleType(buildinfo.MARKER_MODULE)
    marker.cache = "/root/.cache/arc-preflight/0123abcd-cp39-linux-x86_64"  # type: ignore[attr-defined]
    marker.platform = "linux-x86_64"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, buildinfo.MARKER_MODULE, marker)
    assert buildinfo.build_kind() == "single-file build"
    assert buildinfo.describe("0.1.0") == (
        f"arc-preflight 0.1.0 (single-file build, Python {PYTHON}, linux-x86_64, "
        "cache /root/.cache/arc-preflight/0123abcd-cp39-linux-x86_64)")


def test_describe_single_file_marker_without_details(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, buildinfo.MARKER_MODULE,
                        types.ModuleType(buildinfo.MARKER_MODULE))
    expected = f"arc-preflight 1.2.3 (single-file build, Python {PYTHON})"
    assert buildinfo.describe("1.2.3") == expected


# -- the bootstrap ------------------------------------------------------------------------------

FAKE_ENTRY = '''
import json, os, sys

def main():
    marker = sys.modules["_arc_preflight_pyz"]
    from arc_preflight import buildinfo
    print(json.dumps({"cache": marker.cache, "platform": marker.platform,
                      "file": os.path.abspath(__file__), "describe": buildinfo.describe("9.9"),
                      "path0": sys.path[0]}))
'''


def _builder() -> Any:
    loader = importlib.machinery.SourceFileLoader("build_zipapp",
                                                  str(REPO / "scripts" / "build-zipapp"))
    spec = importlib.util.spec_from_loader("build_zipapp", loader)
    assert spec is not None
    if "build_zipapp" in sys.modules:
        return sys.modules["build_zipapp"]
    module = importlib.util.module_from_spec(spec)
    sys.modules["build_zipapp"] = module  # dataclasses look their module up while defined
    loader.exec_module(module)
    return module


def _fake_wheel(folder: Path) -> Path:
    wheel = folder / "arc_preflight-9.9-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("arc_preflight/__init__.py", '__version__ = "9.9"\n')
        zf.writestr("arc_preflight/entry.py", FAKE_ENTRY)
        zf.writestr("arc_preflight/buildinfo.py",
                    (REPO / "arc_preflight" / "buildinfo.py").read_text(encoding="utf-8"))
        zf.writestr("arc_preflight-9.9.dist-info/METADATA",
                    "Metadata-Version: 2.1\nName: arc-preflight\nVersion: 9.9\n")
    return wheel


@pytest.fixture(scope="module")
def pyz(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not sys.platform.startswith("linux"):
        pytest.skip("the fake archive is made for this Linux interpreter")
    build = _builder()
    folder = tmp_path_factory.mktemp("fakepyz")
    plat = next(p for p in build.PLATFORMS if p.key.endswith(os.uname().machine))
    target = build.Target(plat, MINOR)
    target.chosen["arc-preflight"] = _fake_wheel(folder)
    out = folder / "fake.pyz"
    build.write_archive(out, [target], "9.9")
    return out


def run(pyz: Path, env: Dict[str, str], *, user: Optional[int] = None,
        expect: int = 0) -> subprocess.CompletedProcess[str]:
    base = {"PATH": "/usr/bin:/bin", "HOME": env.pop("HOME", "/nonexistent")}
    proc = subprocess.run([sys.executable, "-I", "-S", str(pyz)], capture_output=True, text=True,
                          env={**base, **env}, timeout=60, cwd="/", user=user)
    assert proc.returncode == expect, proc.stderr
    return proc


def test_extracts_once_into_a_private_folder(pyz: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    out = json.loads(run(pyz, {"ARC_PREFLIGHT_CACHE": str(cache)}).stdout)
    folder = Path(out["cache"])
    assert folder.parent == cache and folder.name.endswith(
        f"-cp{MINOR.replace('.', '')}-linux-{os.uname().machine}")
    assert out["file"].startswith(str(folder / "site")) and out["path0"] == str(folder / "site")
    assert out["describe"] == (f"arc-preflight 9.9 (single-file build, Python {PYTHON}, "
                               f"{out['platform']}, cache {folder})")
    assert cache.stat().st_mode & 0o777 == 0o700 and folder.stat().st_mode & 0o777 == 0o700
    stamp = (folder / ".complete").stat().st_mtime_ns
    run(pyz, {"ARC_PREFLIGHT_CACHE": str(cache)})
    assert (folder / ".complete").stat().st_mtime_ns == stamp  # warm: not extracted again
    assert [p.name for p in cache.iterdir()] == [folder.name]


def test_default_cache_is_xdg_then_home(pyz: Path, tmp_path: Path) -> None:
    out = json.loads(run(pyz, {"XDG_CACHE_HOME": str(tmp_path / "xdg")}).stdout)
    assert Path(out["cache"]).parent == tmp_path / "xdg" / "arc-preflight"
    out = json.loads(run(pyz, {"HOME": str(tmp_path / "home")}).stdout)
    assert Path(out["cache"]).parent == tmp_path / "home" / ".cache" / "arc-preflight"


def test_unwritable_user_cache_falls_back_to_temp(pyz: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    temp = tmp_path / "tmp"
    temp.mkdir()
    out = json.loads(run(pyz, {"XDG_CACHE_HOME": str(blocker / "sub"),
                               "TMPDIR": str(temp)}).stdout)
    assert Path(out["cache"]).parent == temp / f"arc-preflight-{os.geteuid()}"


def test_explicit_cache_that_cannot_be_used_is_an_error(pyz: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    proc = run(pyz, {"ARC_PREFLIGHT_CACHE": str(blocker)}, expect=3)
    assert "ARC_PREFLIGHT_CACHE" in proc.stderr and "Traceback" not in proc.stderr


def test_planted_symlink_is_refused(pyz: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    out = json.loads(run(pyz, {"ARC_PREFLIGHT_CACHE": str(cache)}).stdout)
    name = Path(out["cache"]).name
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for entry in cache.iterdir():
        subprocess.run(["rm", "-rf", str(entry)], check=True)
    (cache / name).symlink_to(elsewhere)
    proc = run(pyz, {"ARC_PREFLIGHT_CACHE": str(cache)}, expect=3)
    assert "symlink" in proc.stderr
    assert list(elsewhere.iterdir()) == []
    # the cache root itself as a symlink: refused as well
    link = tmp_path / "link"
    link.symlink_to(elsewhere)
    assert "symlink" in run(pyz, {"ARC_PREFLIGHT_CACHE": str(link)}, expect=3).stderr


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root")
def test_folder_owned_by_someone_else_is_refused(pyz: Path, tmp_path: Path) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir(mode=0o1777)
    temp.chmod(0o1777)
    planted = temp / "arc-preflight-0"  # what root's fallback would use, made by nobody
    planted.mkdir(mode=0o777)
    os.chown(planted, 65534, 65534)
    proc = run(pyz, {"XDG_CACHE_HOME": "/proc/no/such", "TMPDIR": str(temp)}, expect=3)
    assert "belongs to uid 65534" in proc.stderr
    assert list(planted.iterdir()) == []


def test_runs_racing_to_extract_all_succeed(pyz: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    env = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "ARC_PREFLIGHT_CACHE": str(cache)}
    procs = [subprocess.Popen([sys.executable, "-I", "-S", str(pyz)], env=env, cwd="/",
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(8)]
    results = [(p.wait(timeout=60), *p.communicate()) for p in procs]
    assert all(rc == 0 for rc, _out, _err in results), results
    assert len({json.loads(out)["cache"] for _rc, out, _err in results}) == 1
    assert len(list(cache.iterdir())) == 1  # no temporary folders left behind


def test_interpreter_without_wheels_is_told_so(tmp_path: Path) -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("Linux only")
    build = _builder()
    target = build.Target(build.PLATFORMS[2], "3.9")  # a Windows-only archive
    target.chosen["arc-preflight"] = _fake_wheel(tmp_path)
    out = tmp_path / "win.pyz"
    build.write_archive(out, [target], "9.9")
    proc = run(out, {"ARC_PREFLIGHT_CACHE": str(tmp_path / "cache")}, expect=3)
    assert "no wheels for" in proc.stderr and "cp39-win-amd64" in proc.stderr
    assert not (tmp_path / "cache").exists()
