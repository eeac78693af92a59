#!/usr/bin/env python3
"""Write a large, realistic-looking Connected Machine agent log for the ``diagnose`` benchmark.

    scripts/gen_log.py 200 -o /tmp/azcmagent.log          # 200 MB, logrus format
    scripts/gen_log.py 1024 -o /tmp/big.log.gz --gzip     # 1 GB before compression
    scripts/gen_log.py 5 --format console                 # console (``INFO[0003] ...``) to stdout

The output is deterministic for a given size, seed and format: mostly ``level=info`` and
``level=debug`` lines of the kinds the agent writes (connectivity checks, heartbeats, token
refreshes, extension polling), a few warnings, errors sprinkled at ``--error-rate`` (known
failure texts, a secret or two that must be redacted, and errors the knowledge base does not
know), a ``azcmagent connect`` start every ``--attempt-mb`` MB, and a final connect attempt that
fails behind a proxy that blocks Azure Resource Manager (so the expected diagnosis is known).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import random
import sys
from typing import IO, Callable, List

MB = 1024 * 1024

HOSTS = [
    "management.azure.com",
    "login.microsoftonline.com",
    "gbl.his.arc.azure.com",
    "eus.his.arc.azure.com",
    "agentserviceapi.guestconfiguration.azure.com",
    "eastus-gas.guestconfiguration.azure.com",
    "pas.windows.net",
    "guestnotificationservice.azure.com",
]

SUB = "3f1c2a4e-9d7b-4e52-8c61-0a9b8d7e6f51"
TENANT = "8d1b2c3a-4e5f-4a6b-9c7d-1e2f3a4b5c6d"
APP = "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d"

INFO: List[str] = [
    'level=info msg="Checking connectivity to https://{host}, proxy status: proxy is not used"',
    'level=info msg="https://{host} is available, using cryptographic protocol: TLS 1.2"',
    'level=debug msg="HTTP request" method=GET url="https://{host}/metadata/{n}" status=200 '
    "duration={ms}ms",
    'level=info msg="Heartbeat sent" resourceId="/subscriptions/' + SUB + "/resourceGroups/"
    'arc-servers/providers/Microsoft.HybridCompute/machines/web{n}" statusCode=200',
    'level=debug msg="Refreshing access token" resource="https://{host}/" expiresIn={n}s',
    'level=info msg="Extension poll completed" extensions={d} pending=0 elapsed={ms}ms',
    'level=debug msg="Read local configuration" path=/var/opt/azcmagent/agentconfig.json '
    "bytes={n}",
    'level=info msg="Agent Status: Connected, Last Heartbeat: {ts}"',
    'level=debug msg="Certificate thumbprint unchanged" thumbprint={hex} validDays={d}',
    'level=info msg="Guest configuration assignment check" assignments={d} compliant={d}',
    'level=debug msg="Notification channel keep-alive" endpoint="wss://{host}/hubs/{n}" '
    "latencyMs={ms}",
    'level=info msg="Dependent Service Status: himds running, gcad running, extd running"',
]

WARN: List[str] = [
    'level=warning msg="Retrying request" url="https://{host}/" attempt={d} backoff={ms}ms',
    'level=warning msg="Clock offset within tolerance" offsetMs={ms}',
]

ERRORS: List[str] = [
    'level=error msg="Failed to acquire authorization token from SPN" Error="Failed to execute the '
    "refresh request. Error = 'Post https://login.windows.net/" + TENANT + "/oauth2/token?"
    "api-version=1.0: dial tcp 40.126.9.7:443: i/o timeout'\"",
    'level=error msg="Request failed" Error="Get \\"https://{host}/\\": dial tcp 20.42.0.{d}:443: '
    'connect: connection refused"',
    'level=error msg="Request failed" Error="Get \\"https://{host}/\\": read tcp '
    '10.0.0.5:5{d}->20.42.0.1:443: read: connection reset by peer"',
    'level=error msg="DNS resolution failed" Error="dial tcp: lookup {host} on 10.0.0.2:53: '
    'no such host"',
    'level=error msg="TLS failure" Error="Get \\"https://{host}/\\": x509: certificate signed by '
    'unknown authority"',
    'level=error msg="token request failed" body="client_id=' + APP + "&client_secret="
    'Zx8Q~sEcReTvAlUe{hex}&grant_type=client_credentials"',
    'level=error msg="Unexpected response from extension manager" code=E{d} detail="queue {n} '
    'stalled"',
    'level=warning msg="heartbeat failed" StatusCode=429 Error="429 Too Many Requests"',
]

CONNECT = (
    'level=info msg="Running azcmagent connect" args="--resource-group arc-servers --location '
    'eastus --tenant-id ' + TENANT + ' --subscription-id ' + SUB + '"'
)
ONBOARD = (
    'level=info msg="Onboarding Machine. It usually takes a few minutes to complete. Sometimes '
    'it may take longer depending on network and server load status."'
)
FINAL_FAILURE = [
    'level=info msg="Using HTTPS Proxy: http://proxy.contoso.com:3128"',
    'level=error msg="Failed to create resource" Error="Get https://management.azure.com/'
    "subscriptions/" + SUB + "/resourcegroups/arc-servers/providers/Microsoft.HybridCompute/"
    'machines/web01?api-version=2022-12-27: Forbidden"',
    'level=fatal msg="AZCM0042: Failed to Create Resource" exitcode=42',
]


def _fill(template: str, rng: random.Random, ts: str) -> str:
    if "{" not in template:
        return template
    return template.format(
        host=rng.choice(HOSTS), n=rng.randrange(1, 100000), ms=rng.randrange(1, 900),
        d=rng.randrange(1, 10), hex=f"{rng.getrandbits(64):016x}", ts=ts,
    )


def generate(out: IO[bytes], size: int, seed: int, error_rate: float, attempt_every: int,
             console: bool) -> int:
    """Write about ``size`` bytes of log lines to ``out``; returns the number of lines."""
    rng = random.Random(seed)
    clock = dt.datetime(2026, 3, 1, 8, 0, 0, tzinfo=dt.timezone.utc)
    start = clock
    written = 0
    lines = 0
    next_attempt = attempt_every
    tail = b"".join(
        _encode(line, clock, start, console)
        for line in [CONNECT, ONBOARD, *FINAL_FAILURE]
    )
    budget = max(0, size - len(tail))
    batch: List[bytes] = []
    pending = 0
    stamp_cache: dict = {}
    encode: Callable[[str, dt.datetime, dt.datetime, bool], bytes] = _encode
    while written < budget:
        clock += dt.timedelta(milliseconds=rng.randrange(5, 400))
        roll = rng.random()
        if roll < error_rate:
            template = rng.choice(ERRORS)
        elif roll < error_rate * 3:
            template = rng.choice(WARN)
        else:
            template = rng.choice(INFO)
        key = clock.replace(microsecond=0)
        ts = stamp_cache.get(key)
        if ts is None:
            stamp_cache.clear()
            ts = key.strftime("%Y-%m-%dT%H:%M:%SZ")
            stamp_cache[key] = ts
        data = encode(_fill(template, rng, ts), clock, start, console)
        if written >= next_attempt:
            data = encode(CONNECT, clock, start, console) + encode(ONBOARD, clock, start,
                                                                   console) + data
            next_attempt += attempt_every
            lines += 2
        batch.append(data)
        pending += len(data)
        written += len(data)
        lines += 1
        if pending >= MB:
            out.write(b"".join(batch))
            batch.clear()
            pending = 0
    out.write(b"".join(batch))
    clock += dt.timedelta(seconds=5)
    final = [CONNECT, ONBOARD, *FINAL_FAILURE]
    out.write(b"".join(_encode(line, clock, start, console) for line in final))
    return lines + len(final)


_LEVELS = {"info": "INFO", "debug": "DEBU", "warning": "WARN", "error": "ERRO", "fatal": "FATA"}


def _encode(line: str, clock: dt.datetime, start: dt.datetime, console: bool) -> bytes:
    if not console:
        stamp = clock.strftime("%Y-%m-%dT%H:%M:%S.") + f"{clock.microsecond // 1000:03d}Z"
        return f'time="{stamp}" {line}\n'.encode()
    # logrus' console form: LEVEL[seconds since start] message key=value...
    level, _, rest = line.partition(" ")
    name = _LEVELS.get(level.split("=", 1)[1], "INFO")
    elapsed = int((clock - start).total_seconds())
    msg = rest
    if rest.startswith('msg="'):
        end = rest.find('"', 5)
        msg = rest[5:end] + rest[end + 1:]
    return f"{name}[{elapsed:04d}] {msg}\n".encode()


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("size_mb", type=float, help="approximate size in MB (MiB)")
    parser.add_argument("-o", "--output", help="file to write (default stdout)")
    parser.add_argument("--seed", type=int, default=20260301)
    parser.add_argument("--error-rate", type=float, default=0.001,
                        help="fraction of lines that are errors (default 0.001)")
    parser.add_argument("--attempt-mb", type=float, default=50.0,
                        help="a connect attempt starts every this many MB (default 50)")
    parser.add_argument("--format", choices=("logrus", "console"), default="logrus")
    parser.add_argument("--gzip", action="store_true", help="gzip-compress the output")
    args = parser.parse_args(argv)
    size = int(args.size_mb * MB)
    every = max(1, int(args.attempt_mb * MB))
    console = args.format == "console"
    if args.output:
        with open(args.output, "wb") as raw:
            if args.gzip:
                with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1, mtime=0) as gz:
                    lines = generate(gz, size, args.seed, args.error_rate, every, console)
            else:
                lines = generate(raw, size, args.seed, args.error_rate, every, console)
        sys.stderr.write(f"wrote {lines} lines to {args.output}\n")
    else:
        sink = sys.stdout.buffer
        try:
            if args.gzip:
                with gzip.GzipFile(fileobj=sink, mode="wb", compresslevel=1, mtime=0) as gz:
                    generate(gz, size, args.seed, args.error_rate, every, console)
            else:
                generate(sink, size, args.seed, args.error_rate, every, console)
            sink.flush()
        except BrokenPipeError:  # e.g. piped into head
            sys.stderr.close()
            return 0
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
