#!/usr/bin/env python3
"""Benchmark arc-preflight in the lab against the targets of DESIGN section 6.

Measures, each in a fresh loopback-only network namespace (nothing leaves the machine):

* the full public-cloud catalogue (``--location eastus --extensions all``), healthy;
* the same with every endpoint blackholed (iptables DROP) and ``--timeout 2``;
* what admins do today: the same URLs probed one at a time with curl, blackholed and healthy;
* the physical limit: the same URLs probed by one curl in parallel (``curl --parallel``), and the
  gap between it and arc-preflight, blackholed and healthy;
* ``arc-preflight --help`` and ``--version`` start-up, and which heavy modules they import;
* peak memory (max RSS) of a full ``check``.

Wall times include process start, as a user would see them. Run as root (the lab needs
``ip netns``): ``python3 scripts/bench.py [--runs 5] [--json out.json]``; ``--diagnose-only``
measures ``diagnose`` (with its worker processes and in one, grep on the same log, and the
prefilter alone with the knowledge base's literals and twice as many) without the lab.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from lab.netlab import Lab, lab_unavailable_reason  # noqa: E402

HEAVY = ("requests", "dns.resolver", "cryptography", "rich.table", "urllib3", "psutil", "re2")
TIMEOUT = 2.0


def cli_argv() -> List[str]:
    script = Path(sys.executable).with_name("arc-preflight")
    if script.exists():
        return [str(script)]
    found = shutil.which("arc-preflight")
    return [found] if found else [sys.executable, "-m", "arc_preflight"]


def warm_bytecode() -> None:
    """Compile the package's bytecode once, as ``pip install`` does when it installs a wheel.

    An editable checkout run with ``PYTHONDONTWRITEBYTECODE=1`` (set on some CI and sandbox
    machines) never writes ``__pycache__``, so every timed run would compile all ~50 modules
    from source first: about 0.14 s of start-up that no installed copy pays. compileall writes
    the cache whatever that variable says.
    """
    import compileall

    import arc_preflight

    compileall.compile_dir(str(Path(arc_preflight.__file__).parent), quiet=1)


def timed(argv: Sequence[str], env: Optional[Dict[str, str]] = None) -> Tuple[float, str]:
    """(wall seconds, stdout) of one process, its start included."""
    started = time.perf_counter()
    proc = subprocess.run(list(argv), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                          env=env, cwd=str(ROOT), timeout=600, check=False)
    return time.perf_counter() - started, proc.stdout.decode("utf-8", "replace")


def _hwm_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _tree(pid: int) -> List[int]:
    """A process and its descendants (diagnose's worker processes)."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        try:
            with open(f"/proc/{current}/task/{current}/children", encoding="ascii") as handle:
                pending.extend(int(child) for child in handle.read().split())
        except (OSError, ValueError):
            pass
    return found


def _field_kib(path: str, name: str) -> int:
    try:
        with open(path, encoding="ascii") as handle:
            for line in handle:
                if line.startswith(name):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def watch(argv: Sequence[str], env: Optional[Dict[str, str]] = None
          ) -> Tuple[float, int, int]:
    """(wall seconds, exit code, peak RSS KiB) of one process (see :func:`watch_tree`)."""
    result = watch_tree(argv, env)
    return result["wall"], result["code"], result["hwm_kib"]


def watch_tree(argv: Sequence[str], env: Optional[Dict[str, str]] = None) -> Dict[str, Any]:
    """One run of ``argv``: wall and CPU seconds (its worker processes included), the peak
    resident size of the program itself, and the peaks of its whole process tree's resident
    size (shared pages counted in every process) and proportional size (PSS: shared pages
    split between the processes that share them).

    The program's peak is the kernel's VmHWM, polled while it runs: rusage's ru_maxrss would
    also count the parent's pages the child held between fork and exec. Output goes to a
    temporary file, not /dev/null: GNU grep notices /dev/null and stops at the first match,
    which would make the reference meaninglessly fast.
    """
    import resource
    import tempfile

    peak = tree_rss = tree_pss = 0
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with tempfile.TemporaryFile() as sink:
        proc = subprocess.Popen(list(argv), stdout=sink, stderr=subprocess.DEVNULL, env=env,
                                cwd=str(ROOT))
        while proc.poll() is None:
            peak = max(peak, _hwm_kib(proc.pid))
            pids = _tree(proc.pid)
            tree_rss = max(tree_rss, sum(_field_kib(f"/proc/{p}/status", "VmRSS:")
                                         for p in pids))
            tree_pss = max(tree_pss, sum(_field_kib(f"/proc/{p}/smaps_rollup", "Pss:")
                                         for p in pids))
            time.sleep(0.01)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": wall, "code": int(proc.returncode), "hwm_kib": peak, "cpu": cpu,
            "tree_rss_kib": tree_rss, "tree_pss_kib": tree_pss}


def peak_rss(argv: Sequence[str], env: Optional[Dict[str, str]] = None) -> int:
    """Peak RSS (KiB) of one run of ``argv``."""
    return watch(argv, env)[2]


def lab_env(lab: Lab) -> Dict[str, str]:
    return {k: v for k, v in lab.env(None, None).items() if v is not None}


def check_argv(lab: Lab, extra: Sequence[str] = ()) -> List[str]:
    return [*lab.command_prefix(None), *cli_argv(), "check", "--ca-bundle", str(lab.ca_bundle),
            "--no-proxy", "--format", "json", "--timeout", f"{TIMEOUT:g}", "--location",
            "eastus", "--extensions", "all", "--skip", "service", "--skip", "himds",
            "--expected-issuer", "arc-preflight lab CA", *extra]


def curl_loop(lab: Lab, urls: Sequence[str]) -> float:
    """The admin's loop today: one curl per URL, each waiting for its own timeout."""
    started = time.perf_counter()
    for url in urls:
        subprocess.run([*lab.command_prefix(None), "curl", "-s", "-o", "/dev/null",
                        "--max-time", f"{TIMEOUT:g}", "--cacert", str(lab.ca_bundle), url],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
                       timeout=120)
    return time.perf_counter() - started


def curl_parallel(lab: Lab, urls: Sequence[str]) -> float:
    """The physical limit: every URL at once from one curl, each with the same timeout.

    One process, no Python, all transfers started together: what is left is process start,
    the network and the timeout itself, which is what arc-preflight's gap is measured against.
    """
    argv = [*lab.command_prefix(None), "curl", "-s", "--parallel", "--parallel-immediate",
            "--parallel-max", str(max(1, len(urls))), "--max-time", f"{TIMEOUT:g}",
            "--cacert", str(lab.ca_bundle)]
    for url in urls:
        argv += ["-o", "/dev/null", url]
    started = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
                   timeout=120)
    return time.perf_counter() - started


def catalogue(lab: Lab) -> Tuple[List[str], List[str]]:
    proc = lab.cli("endpoints", "--format", "json", "--location", "eastus", "--extensions",
                   "all")
    items = [e for e in json.loads(proc.stdout) if e["probe"]]
    hosts = sorted({e["host"] for e in items})
    urls = [e["url"] if e["port"] in (80, 443) else f"https://{e['host']}:{e['port']}/"
            for e in items]
    return hosts, urls


def start_lab() -> Tuple[Lab, List[str]]:
    lab = Lab().start()
    hosts, urls = catalogue(lab)
    lab.serve_endpoints(hosts)
    lab.himds(bind="127.0.1.1", port=80)  # plain HTTP answers for the port-80 ESU endpoint
    return lab, urls


def help_startup(runs: int) -> Dict[str, Any]:
    times: Dict[str, List[float]] = {"--help": [], "--version": []}
    for _ in range(runs):
        for flag in times:
            started = time.perf_counter()
            subprocess.run([*cli_argv(), flag], stdout=subprocess.DEVNULL, check=True)
            times[flag].append(time.perf_counter() - started)
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "arc_preflight", "--help"],
                          capture_output=True, text=True, check=True)
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines()}
    heavy = sorted(m for m in HEAVY if m in imported)
    return {flag: statistics.median(values) for flag, values in times.items()} | {
        "heavy_imports": heavy}


def diagnose_bench(size_mb: int, reuse: Optional[str] = None, runs: int = 1) -> Dict[str, Any]:
    """diagnose on a generated agent log of ``size_mb`` MiB (or the log ``reuse`` names), with
    its worker processes and in one process (``--jobs 1``), grep on the same file, and the
    prefilter alone with the knowledge base's literals and with twice as many.

    With ``runs`` > 1 the two diagnose runs alternate that many times and the figures are the
    medians (each run's are kept under ``*_runs``): on a machine shared with other jobs one
    run says little, and a difference of a megabyte or two needs several to be seen."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="arc-preflight-bench-") as folder:
        log = Path(reuse) if reuse else Path(folder) / "azcmagent.log"
        if not reuse:
            subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_log.py"), str(size_mb),
                            "-o", str(log)], check=True, timeout=1800)
        size = log.stat().st_size
        # Read once so every tool starts from a warm page cache.
        subprocess.run(["cat", str(log)], stdout=subprocess.DEVNULL, check=True)
        out: Dict[str, Any] = {"log_mb": size / 1e6, "diagnose_runs_n": runs}
        modes: Tuple[Tuple[str, List[str]], ...] = (("diagnose", []),
                                                    ("diagnose_1job", ["--jobs", "1"]))
        seen: Dict[str, List[Dict[str, Any]]] = {key: [] for key, _ in modes}
        for _ in range(max(1, runs)):
            for key, extra in modes:
                run = watch_tree([*cli_argv(), "diagnose", "--all", *extra, str(log)])
                run["load"] = _load_average()
                seen[key].append(run)
        for key, _ in modes:
            done = seen[key]

            def median(name: str, done: List[Dict[str, Any]] = done) -> float:
                return float(statistics.median(run[name] for run in done))

            out.update({f"{key}_s": median("wall"), f"{key}_exit": done[-1]["code"],
                        f"{key}_mb_per_s": size / 1e6 / median("wall"),
                        f"{key}_cpu_s": median("cpu"), f"{key}_rss_mb": median("hwm_kib") / 1024,
                        f"{key}_tree_rss_mb": median("tree_rss_kib") / 1024,
                        f"{key}_tree_pss_mb": median("tree_pss_kib") / 1024,
                        f"{key}_runs": [{"mb_per_s": size / 1e6 / run["wall"], "cpu_s": run["cpu"],
                                         "tree_pss_mb": run["tree_pss_kib"] / 1024,
                                         "load": run["load"]} for run in done]})
        grep = watch_tree(["grep", "-c", "-E", "level=error|AZCM", str(log)])
        out.update({"grep_s": grep["wall"], "grep_rss_mb": grep["hwm_kib"] / 1024})
        out.update(prefilter_bench(log))
    return out


def _load_average() -> float:
    """The one-minute load average, noted beside every run (other jobs on the machine)."""
    try:
        with open("/proc/loadavg", encoding="ascii") as handle:
            return float(handle.read().split()[0])
    except (OSError, ValueError, IndexError):
        return -1.0


def synthetic_family(count: int, seed: int = 7) -> set:
    """``count`` made-up code names shaped like the knowledge base's code families (ARM codes
    such as ``resourcegroupnotfound``: 8-24 lower-case letters), to see how stage one's cost
    grows if the knowledge base doubles (tests/test_linefinder.py uses the same shape)."""
    import random

    rnd = random.Random(seed)
    out: set = set()
    while len(out) < count:
        out.add("".join(rnd.choice("abcdefghijklmnopqrstuvwxyz")
                        for _ in range(rnd.randint(8, 24))))
    return out


def prefilter_bench(log: Path, sample_mb: int = 64) -> Dict[str, float]:
    """MB/s of stage one alone (one process, CPU time) on the first ``sample_mb`` MiB of the
    log: the lines holding a literal and their literal ids (``Prefilter.hit_lines``, what
    diagnose calls per block), with RE2 finding the lines (where installed) and with the pure
    prefilter alone, for the knowledge base's literals and with as many made-up ones again."""
    from arc_preflight import kb as kb_mod
    from arc_preflight.logs import linefinder
    from arc_preflight.logs.prefilter import Prefilter
    from arc_preflight.logs.scanner import matcher_for

    literals = set(matcher_for(kb_mod.load(), "pure").literals)
    doubled = literals | synthetic_family(len(literals))
    with open(log, "rb") as handle:
        blocks = [block for block in iter(lambda: handle.read(1 << 20), b"")][:sample_mb]
    size = sum(len(block) for block in blocks) / 1e6
    out: Dict[str, float] = {}
    backends = ["re2", "pure"] if linefinder.available() else ["pure"]
    for backend in backends:
        for key, chosen in (("prefilter", literals), ("prefilter_x2", doubled)):
            prefilter = Prefilter.build(chosen, backend)
            name = key.replace("prefilter", "prefilter_pure") if backend == "pure" and \
                len(backends) == 2 else key
            started = time.process_time()
            for block in blocks:
                prefilter.hit_lines(block, len(block))
            out[f"{name}_mb_per_s"] = size / (time.process_time() - started)
            out[f"{name}_literals"] = len(chosen)
    out["prefilter_backend"] = backends[0]  # type: ignore[assignment]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", help="also write the numbers here")
    parser.add_argument("--log-mb", type=int, default=1024,
                        help="size of the generated log for diagnose (0 skips it)")
    parser.add_argument("--diagnose-only", action="store_true",
                        help="only the diagnose figures (no lab, no root needed)")
    parser.add_argument("--log", metavar="PATH",
                        help="a log gen_log.py wrote before, instead of generating one")
    args = parser.parse_args()
    warm_bytecode()
    if args.diagnose_only:
        results = diagnose_bench(args.log_mb or 1024, args.log, args.runs)
        return show(diagnose_rows(results), results, args.json)
    reason = lab_unavailable_reason()
    if reason:
        print(f"bench: the lab is unavailable here: {reason}", file=sys.stderr)
        return 3

    results: Dict[str, Any] = {"timeout_s": TIMEOUT}
    lab, urls = start_lab()
    try:
        results["endpoints_probed"] = len(urls)
        env = lab_env(lab)
        healthy = []
        parallel = []
        for _ in range(args.runs):
            wall, out = timed(check_argv(lab), env)
            parallel.append(curl_parallel(lab, urls))
            report = json.loads(out)
            healthy.append(wall)
            results["checks"] = len(report["checks"])
            results["healthy_status"] = report["status"]
            results["healthy_not_passing"] = sorted(
                c["id"] for c in report["checks"] if c["status"] not in ("pass", "skip"))
        results["healthy_wall_s"] = statistics.median(healthy)
        results["curl_parallel_healthy_s"] = statistics.median(parallel)
        results["gap_healthy_s"] = results["healthy_wall_s"] - results["curl_parallel_healthy_s"]
        results["peak_rss_mb"] = peak_rss(check_argv(lab), env) / 1024
        results["curl_healthy_s"] = curl_loop(lab, urls)

        lab.drop(port=443)
        lab.drop(port=80)
        black = []
        parallel = []
        for _ in range(max(2, args.runs // 2)):
            wall, out = timed(check_argv(lab), env)
            parallel.append(curl_parallel(lab, urls))
            report = json.loads(out)
            black.append(wall)
            results["blackholed_status"] = report["status"]
            results["blackholed_tcp_timeouts"] = sum(
                1 for c in report["checks"] if c["code"] == "tcp.timeout")
        results["blackholed_wall_s"] = statistics.median(black)
        results["curl_parallel_blackholed_s"] = statistics.median(parallel)
        results["gap_blackholed_s"] = (results["blackholed_wall_s"]
                                       - results["curl_parallel_blackholed_s"])
        results["curl_blackholed_s"] = curl_loop(lab, urls)
    finally:
        lab.close()
    results.update(help_startup(max(5, args.runs * 2)))
    if args.log_mb:
        results.update(diagnose_bench(args.log_mb, args.log, args.runs))
    results["speedup_vs_curl_blackholed"] = (
        results["curl_blackholed_s"] / results["blackholed_wall_s"])

    rows = [
        ("healthy lab, full public catalogue", f"{results['healthy_wall_s']:.2f} s", "< 1 s",
         results["healthy_wall_s"] < 1.0),
        (f"every endpoint blackholed, --timeout {TIMEOUT:g}",
         f"{results['blackholed_wall_s']:.2f} s", f"<= {TIMEOUT + 0.5:g} s",
         results["blackholed_wall_s"] <= TIMEOUT + 0.5),
        ("curl in parallel (the physical limit), blackholed",
         f"{results['curl_parallel_blackholed_s']:.2f} s", "-", True),
        ("gap to parallel curl, blackholed", f"{results['gap_blackholed_s']:.2f} s",
         "<= 0.15 s", results["gap_blackholed_s"] <= 0.15),
        ("curl one at a time, blackholed", f"{results['curl_blackholed_s']:.1f} s", "-", True),
        ("speed-up over the curl loop, blackholed",
         f"{results['speedup_vs_curl_blackholed']:.1f}x", ">= 10x",
         results["speedup_vs_curl_blackholed"] >= 10),
        ("curl in parallel (the physical limit), healthy",
         f"{results['curl_parallel_healthy_s']:.2f} s", "-", True),
        ("gap to parallel curl, healthy", f"{results['gap_healthy_s']:.2f} s", "<= 0.15 s",
         results["gap_healthy_s"] <= 0.15),
        ("curl one at a time, healthy", f"{results['curl_healthy_s']:.2f} s", "-", True),
        ("arc-preflight --help", f"{results['--help'] * 1000:.0f} ms", "< 150 ms",
         results["--help"] < 0.150),
        ("arc-preflight --version", f"{results['--version'] * 1000:.0f} ms", "< 150 ms",
         results["--version"] < 0.150),
        ("heavy modules imported by --help", ", ".join(results["heavy_imports"]) or "none",
         "none", not results["heavy_imports"]),
        ("peak memory of a full check", f"{results['peak_rss_mb']:.1f} MB", "< 60 MB",
         results["peak_rss_mb"] < 60),
    ]
    if args.log_mb:
        rows += diagnose_rows(results)
    print(f"{results['endpoints_probed']} endpoints, {results['checks']} checks per run; "
          f"healthy run status {results['healthy_status']}\n")
    return show(rows, results, args.json)


def _each_run(runs: List[Dict[str, Any]]) -> str:
    return "; ".join(f"{run['mb_per_s']:.0f} MB/s, PSS {run['tree_pss_mb']:.1f} MB, "
                     f"load {run['load']:.1f}" for run in runs)


def diagnose_rows(r: Dict[str, Any]) -> List[Tuple[str, str, str, bool]]:
    each: List[Tuple[str, str, str, bool]] = []
    if r.get("diagnose_runs_n", 1) > 1:
        each = [(f"each of the {r['diagnose_runs_n']} runs (the rows above are medians)",
                 _each_run(r["diagnose_runs"]), "-", True),
                ("each run of --jobs 1", _each_run(r["diagnose_1job_runs"]), "-", True)]
    return [
        (f"diagnose --all on a {r['log_mb']:.0f} MB log",
         f"{r['diagnose_mb_per_s']:.0f} MB/s ({r['diagnose_s']:.1f} s; CPU "
         f"{r['diagnose_cpu_s']:.1f} s)", ">= 100 MB/s", r["diagnose_mb_per_s"] >= 100),
        ("peak memory of diagnose: the program; all its processes, RSS and PSS",
         f"{r['diagnose_rss_mb']:.1f} MB; {r['diagnose_tree_rss_mb']:.1f} MB, "
         f"{r['diagnose_tree_pss_mb']:.1f} MB", "< 60 MB", r["diagnose_tree_pss_mb"] < 60),
        ("the same in one process (--jobs 1)",
         f"{r['diagnose_1job_mb_per_s']:.0f} MB/s ({r['diagnose_1job_s']:.1f} s), "
         f"{r['diagnose_1job_rss_mb']:.1f} MB", "-", True),
        (f"stage one alone ({r['prefilter_backend']}), {r['prefilter_literals']:.0f} / "
         f"{r['prefilter_x2_literals']:.0f} literals (CPU time)",
         f"{r['prefilter_mb_per_s']:.0f} / {r['prefilter_x2_mb_per_s']:.0f} MB/s", "-", True),
        *([("the same, pure prefilter (no RE2)",
            f"{r['prefilter_pure_mb_per_s']:.0f} / {r['prefilter_pure_x2_mb_per_s']:.0f} MB/s",
            "-", True)] if "prefilter_pure_mb_per_s" in r else []),
        ("grep -c -E 'level=error|AZCM' on the same log (reference)",
         f"{r['grep_s']:.2f} s, {r['grep_rss_mb']:.1f} MB", "-", True),
        *each,
    ]


def show(rows: List[Tuple[str, str, str, bool]], results: Dict[str, Any],
         json_path: Optional[str]) -> int:
    print("| measure | measured | target | met |")
    print("| --- | --- | --- | --- |")
    for name, value, target, met in rows:
        print(f"| {name} | {value} | {target} | {'yes' if met else 'NO'} |")
    if json_path:
        Path(json_path).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
