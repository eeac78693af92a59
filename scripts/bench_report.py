#!/usr/bin/env python3
"""Benchmark ``arc-preflight report`` on a generated fleet (DESIGN section 6: 10,000 host reports
in under 5 s and 200 MB).

The reports are real ``check --format json`` outputs captured in the network lab
(``tests/fleet_samples``: healthy, port 443 dropped, a foreign CA, NXDOMAIN for the login names,
a proxy demanding authentication), each copied with its own host name, start time, addresses,
durations and summaries, in a realistic mix: mostly healthy, the rest spread over the four
failures, 1% stale (three days old), 0.5% duplicate hosts and 0.1% garbage files. They are
written to a temporary folder (about 45 KB each, 450 MB for 10,000), then the CLI rolls them up
in a fresh process per format. Wall time includes process start; memory is the child's peak
resident set size (the kernel's VmHWM, as ``wait4`` reports it).

    python3 scripts/bench_report.py [--hosts 10000] [--formats json,html,table,csv] [--runs 3]
                                    [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Tuple

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "tests" / "fleet_samples"
MIX = (("healthy", 0.70), ("drop-443", 0.10), ("foreign-ca", 0.07), ("nxdomain-login", 0.07),
       ("proxy-auth", 0.06))
TARGET_S, TARGET_MB = 5.0, 200.0


def templates() -> Dict[str, str]:
    """Each sample as JSON text with placeholders for what differs between hosts."""
    out = {}
    for name, _share in MIX:
        doc = json.loads((SAMPLES / f"{name}.json").read_text(encoding="utf-8"))
        doc["host"]["hostname"] = "@HOST@"
        doc["started_at"] = "@STARTED@"
        doc["duration_s"] = 1.5
        text = json.dumps(doc, indent=2)
        out[name] = text.replace("127.0.1.1", "@ADDR@").replace('"duration_s": 1.5',
                                                                 '"duration_s": @DUR@')
    return out


def generate(folder: Path, hosts: int, seed: int = 7) -> Tuple[int, int]:
    """Write the fleet; returns (files, bytes)."""
    rng = random.Random(seed)
    texts = templates()
    names = [n for n, _ in MIX]
    weights = [w for _, w in MIX]
    base = time.time() - 3600
    total = 0
    files = 0
    for index in range(hosts):
        scenario = rng.choices(names, weights)[0]
        host = f"srv-{index:05d}.contoso.example"
        if rng.random() < 0.005 and index:
            host = f"srv-{index - 1:05d}.contoso.example"  # the same host reported twice
        started = base + rng.uniform(0, 3000) - (3 * 86400 if rng.random() < 0.01 else 0)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started))
        addr = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        text = (texts[scenario].replace("@HOST@", host).replace("@STARTED@", stamp)
                .replace("@ADDR@", addr).replace("@DUR@", f"{rng.uniform(0.3, 6):.2f}"))
        if rng.random() < 0.001:
            text = text[: len(text) // 3]  # a report cut short in transfer
        sub = folder / f"batch{index // 1000:02d}"
        sub.mkdir(exist_ok=True)
        path = sub / f"{host}-{index}.json"
        path.write_text(text, encoding="utf-8")
        total += len(text)
        files += 1
    return files, total


def _tree_rss_kb(pid: int) -> int:
    """Resident memory of a process and its children (the report's worker processes), in KiB."""
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
        pending.extend(int(child) for child in children)
    return total


def measure(argv: List[str]) -> Dict[str, float]:
    """One run in a fresh process: wall and CPU seconds (workers included), the peak resident
    size of the largest process (VmHWM, as wait4 reports it) and of the whole process tree
    (sampled every 10 ms), the exit code and the output's size."""
    import threading

    peak_tree = [0]
    with tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.PIPE)
        done = threading.Event()

        def sample() -> None:
            while not done.wait(0.01):
                peak_tree[0] = max(peak_tree[0], _tree_rss_kb(proc.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        done.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        err = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
        if proc.stderr:
            proc.stderr.close()
        if proc.returncode not in (0, 1, 2, 3) or "internal error" in err:
            raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}): {err.strip()}")
        size = out.seek(0, os.SEEK_END)
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime,
            "rss": usage.ru_maxrss / 1024.0, "tree": peak_tree[0] / 1024.0,
            "code": proc.returncode, "out": size}


REFERENCE = """
import json, pathlib, sys
for path in sorted(pathlib.Path(sys.argv[1]).glob("batch*/*.json")):
    try:
        json.loads(path.read_bytes())
    except ValueError:
        pass
"""


def cli() -> List[str]:
    script = Path(sys.executable).with_name("arc-preflight")
    return [str(script)] if script.exists() else [sys.executable, "-m", "arc_preflight"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=10000)
    parser.add_argument("--formats", default="json,html,table,csv")
    parser.add_argument("--runs", type=int, default=3, help="runs per format (best is shown)")
    parser.add_argument("--keep", metavar="DIR",
                        help="generate into DIR and keep it (reused when it holds the fleet)")
    args = parser.parse_args()
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="arcpf-fleet-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        started = time.perf_counter()
        existing = sorted(folder.glob("batch*/*.json"))
        if args.keep and len(existing) == args.hosts:
            size = sum(p.stat().st_size for p in existing)
            print(f"reusing {len(existing)} reports, {size / 1e6:.0f} MB, under {folder}")
        else:
            files, size = generate(folder, args.hosts)
            print(f"generated {files} reports, {size / 1e6:.0f} MB, in "
                  f"{time.perf_counter() - started:.1f} s under {folder}")
        ref = measure([sys.executable, "-c", REFERENCE, str(folder)])
        print(f"reference, json.loads of every report in one process: wall {ref['wall']:5.2f} s, "
              f"CPU {ref['cpu']:5.2f} s (the floor for reading them in Python)")
        ok = True
        for fmt in args.formats.split(","):
            runs = [measure([*cli(), "report", str(folder), "--format", fmt])
                    for _ in range(args.runs)]
            best = min(runs, key=lambda r: r["wall"])
            rss = max(r["rss"] for r in runs)
            tree = max(r["tree"] for r in runs)
            within = best["wall"] < TARGET_S and rss < TARGET_MB
            ok = ok and within  # the target holds for every format
            print(f"report --format {fmt:<8} wall {best['wall']:5.2f} s (best of {args.runs}), "
                  f"CPU {best['cpu']:5.2f} s, peak RSS {rss:5.1f} MB (largest process; "
                  f"all processes together {tree:5.1f} MB), exit {best['code']:.0f}, "
                  f"output {best['out'] / 1e6:.1f} MB"
                  f"{'' if within else '  (over the 5 s / 200 MB target)'}")
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
        print(f"({os.cpu_count()} CPUs, load average {load:.1f} at the end)")
        return 0 if ok else 1
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
