"""Tests of the lab itself, without the arc-preflight CLI.

Scenario tests trust the lab to produce real failures (NXDOMAIN, timeouts, resets, foreign
issuers, 407s); these tests prove each of those is what it claims to be, using only curl,
dnspython and sockets run inside the namespace.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import List

import pytest

from .netlab import (
    AZURE_IMDS_IP,
    LAB_DNS_IP,
    REPO_ROOT,
    SCENARIOS,
    UNROUTABLE_IP,
    Lab,
    LabError,
    cleanup_stale,
    list_namespaces,
)

pytestmark = pytest.mark.lab

ARM = "management.azure.com"
CONNECT_W = "\n%{http_code} %{http_connect}"  # final status, then the proxy's CONNECT status
LOGIN = "login.microsoftonline.com"


def curl(lab: Lab, *args: str, user: str | None = None,
         max_time: float = 5) -> subprocess.CompletedProcess[str]:
    """curl inside the lab with the lab CA; prints the status code last."""
    return lab.run(["curl", "-sS", "--max-time", f"{max_time:g}", "--cacert",
                    str(lab.ca_bundle), "-w", "\n%{http_code}", *args],
                   user=user, timeout=max_time + 20)


def status_of(proc: subprocess.CompletedProcess[str]) -> str:
    return proc.stdout.rstrip().splitlines()[-1] if proc.stdout.strip() else ""


# --- namespace ---------------------------------------------------------------------------------


def test_namespace_has_only_loopback_and_lab_resolver(lab: Lab) -> None:
    lab.assert_isolated()
    assert lab.run(["ip", "-o", "route", "show"]).stdout.strip() == ""
    assert lab.run(["cat", "/etc/resolv.conf"]).stdout.strip() == f"nameserver {LAB_DNS_IP}"
    assert Path("/etc/netns", lab.name, "resolv.conf").exists()


def test_teardown_removes_everything_even_after_failure(lab_ready: None) -> None:
    inner = Lab()
    with pytest.raises(RuntimeError), inner:
        inner.serve_endpoints([ARM])
        pid = inner.servers["dnsmasq"].popen.pid
        raise RuntimeError("test body failed")
    assert inner.name not in list_namespaces()
    assert not Path("/etc/netns", inner.name).exists()
    assert not inner.workdir.exists()
    assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()


def test_stale_namespaces_of_dead_processes_are_removed(lab_ready: None) -> None:
    dead_pid = next(p for p in range(4_000_000, 4_100_000) if not Path(f"/proc/{p}").exists())
    name = f"arcpf-{dead_pid}-{secrets.token_hex(3)}"
    subprocess.run(["ip", "netns", "add", name], check=True, timeout=10)
    try:
        assert name in cleanup_stale()
        assert name not in list_namespaces()
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)


def test_refuses_non_local_addresses(lab: Lab) -> None:
    with pytest.raises(LabError):
        lab.dns({ARM: "8.8.8.8"})
    with pytest.raises(LabError):
        lab.serve([ARM], ip="10.1.2.3")


# --- DNS ---------------------------------------------------------------------------------------


def test_dns_answers_nxdomain_and_never_forwards(lab: Lab) -> None:
    lab.dns({ARM: "127.0.1.1", "*.his.arc.azure.com": "127.0.1.2"},
            aaaa={ARM: "::1"}, nxdomain=[LOGIN])
    assert lab.resolve(ARM).addresses == ["127.0.1.1"]
    assert lab.resolve(ARM, "AAAA").addresses == ["::1"]
    assert lab.resolve("eastus.his.arc.azure.com").addresses == ["127.0.1.2"]
    assert lab.resolve(LOGIN).rcode == "NXDOMAIN"
    assert lab.resolve("www.example.com").rcode == "NXDOMAIN"
    # The system resolver (glibc, through /etc/netns/NAME/resolv.conf) sees the same answers.
    code = ("import socket, sys\n"
            "print(socket.gethostbyname(sys.argv[1]))\n"
            "try:\n socket.gethostbyname(sys.argv[2])\n"
            "except socket.gaierror as e: print('gaierror', e.errno)\n")
    out = lab.python(code, ARM, LOGIN, timeout=20).stdout.split("\n")
    assert out[0] == "127.0.1.1"
    assert out[1] == f"gaierror {int(__import__('socket').EAI_NONAME)}"
    log = (lab.workdir / "dnsmasq-queries.log").read_text()
    assert "www.example.com" in log and "forwarded" not in log


def test_dns_changes_merge(lab: Lab) -> None:
    lab.dns({ARM: "127.0.1.1", LOGIN: "127.0.1.1"})
    lab.dns(nxdomain=[LOGIN])
    assert lab.resolve(ARM).addresses == ["127.0.1.1"]
    assert lab.resolve(LOGIN).rcode == "NXDOMAIN"
    lab.dns({LOGIN: "127.0.1.3"})
    assert lab.resolve(LOGIN).addresses == ["127.0.1.3"]


def test_dns_drop_times_out(lab: Lab) -> None:
    lab.dns({ARM: "127.0.1.1"})
    lab.dns_drop()
    started = time.monotonic()
    assert lab.resolve(ARM, lifetime=1.0).rcode == "TIMEOUT"
    assert time.monotonic() - started >= 1.0


def test_dns_stopped_fails_fast(lab: Lab) -> None:
    lab.dns({ARM: "127.0.1.1"})
    lab.dns_stop()
    answer = lab.resolve(ARM, lifetime=1.0)
    assert answer.rcode in ("ERROR", "TIMEOUT"), answer
    proc = lab.python("import socket; socket.getaddrinfo('management.azure.com', 443)",
                      timeout=30)
    assert "gaierror" in proc.stderr


# --- HTTPS stand-ins ---------------------------------------------------------------------------


def test_https_standin_through_lab_dns(lab: Lab) -> None:
    lab.serve_endpoints([ARM, LOGIN, "*.his.arc.azure.com"])
    proc = curl(lab, "-i", f"https://{ARM}/subscriptions?api-version=2022-12-01")
    assert proc.returncode == 0, proc.stderr
    assert status_of(proc) == "401" and "AuthenticationFailed" in proc.stdout
    assert "\nDate: " in proc.stdout.replace("\r\n", "\n")
    proc = curl(lab, "https://eastus.his.arc.azure.com/")
    assert proc.returncode == 0 and status_of(proc) == "200", proc.stderr
    proc = curl(lab, "-X", "POST", "-d", "x=1", f"https://{LOGIN}/common/oauth2/token")
    assert status_of(proc) == "400" and "AADSTS" in proc.stdout


def test_https_forced_status_and_date_offset(lab: Lab) -> None:
    lab.serve_endpoints([ARM], status=503, body='{"error": "busy"}', date_offset=-3600)
    proc = curl(lab, "-i", f"https://{ARM}/")
    assert status_of(proc) == "503" and '"busy"' in proc.stdout
    date = next(line for line in proc.stdout.splitlines() if line.startswith("Date:"))
    import email.utils

    skew = time.time() - email.utils.parsedate_to_datetime(date[5:].strip()).timestamp()
    assert 3500 < skew < 3700


def test_foreign_issuer_is_untrusted(lab: Lab) -> None:
    lab.serve_endpoints([ARM], issuer="foreign")
    proc = curl(lab, f"https://{ARM}/")
    assert proc.returncode == 60, (proc.returncode, proc.stderr)  # peer cert cannot be verified
    proc = lab.run(["curl", "-sS", "--max-time", "5", "--cacert", str(lab.foreign_ca_bundle),
                    f"https://{ARM}/"], timeout=20)
    assert proc.returncode == 0, proc.stderr


def test_expired_and_mismatched_certificates(lab: Lab) -> None:
    lab.serve_endpoints([ARM], expired=True)
    assert curl(lab, f"https://{ARM}/").returncode == 60
    lab.serve_endpoints([ARM], cert_hosts=["other.example.com"])
    assert curl(lab, f"https://{ARM}/").returncode == 60


def test_old_tls_server(lab: Lab) -> None:
    lab.serve_endpoints([ARM], tls_max="1.1")
    proc = curl(lab, f"https://{ARM}/")
    assert proc.returncode == 35, (proc.returncode, proc.stderr)  # handshake failure
    code = (
        "import socket, ssl, sys, warnings\n"
        "warnings.simplefilter('ignore')\n"
        "ctx = ssl.create_default_context(cafile=sys.argv[1])\n"
        "ctx.minimum_version = ssl.TLSVersion.TLSv1\n"
        "ctx.set_ciphers('DEFAULT:@SECLEVEL=0')\n"
        "with socket.create_connection(('management.azure.com', 443), timeout=5) as s:\n"
        "    with ctx.wrap_socket(s, server_hostname='management.azure.com') as t:\n"
        "        print(t.version())\n"
    )
    proc = lab.python(code, str(lab.ca_bundle), timeout=20)
    assert proc.stdout.strip() == "TLSv1.1", proc.stderr


@pytest.mark.parametrize(("mode", "curl_codes"), [
    ("hang", {28}),                     # operation timed out during the handshake
    ("close-after-hello", {35}),        # handshake failure: EOF
    ("reset-after-hello", {35, 56}),    # connection reset
])
def test_misbehaving_tls_server(lab: Lab, mode: str, curl_codes: set[int]) -> None:
    lab.serve_endpoints([ARM], mode=mode)
    assert lab.connect("127.0.1.1", 443) == "connected"
    started = time.monotonic()
    proc = curl(lab, f"https://{ARM}/", max_time=1.5)
    assert proc.returncode in curl_codes, (proc.returncode, proc.stderr)
    if mode == "hang":
        assert time.monotonic() - started >= 1.4


# --- firewall ----------------------------------------------------------------------------------


def test_drop_reject_and_unroutable(lab: Lab) -> None:
    lab.serve_endpoints([ARM, LOGIN, "pas.windows.net"])
    lab.serve(["x"], ip="127.0.1.2")
    lab.serve(["y"], ip="127.0.1.3")
    lab.drop(ip="127.0.1.2", port=443)
    lab.reject(ip="127.0.1.3", port=443)
    assert lab.connect("127.0.1.1", 443) == "connected"
    started = time.monotonic()
    assert lab.connect("127.0.1.2", 443, timeout=1.0) == "timeout"
    assert time.monotonic() - started >= 1.0
    assert lab.connect("127.0.1.3", 443) == "refused"
    assert lab.connect(UNROUTABLE_IP, 443) == "unreachable"
    lab.unroutable([ARM])
    assert lab.resolve(ARM).addresses == [UNROUTABLE_IP]
    started = time.monotonic()
    proc = curl(lab, f"https://{ARM}/")
    assert proc.returncode == 7, proc.stderr  # curl only says "Couldn't connect"
    assert time.monotonic() - started < 3
    code = ("import errno, socket\n"
            "try: socket.create_connection(('management.azure.com', 443), timeout=5)\n"
            "except OSError as e: print(errno.errorcode[e.errno])\n")
    assert lab.python(code, timeout=20).stdout.strip() == "ENETUNREACH"
    lab.flush_firewall()
    assert lab.connect("127.0.1.2", 443) == "connected"


def test_drop_all_443(lab: Lab) -> None:
    lab.serve_endpoints([ARM])
    lab.drop(port=443)
    proc = curl(lab, f"https://{ARM}/", max_time=1)
    assert proc.returncode == 28


# --- HIMDS / IMDS ------------------------------------------------------------------------------


def test_himds_answers_hangs_and_is_absent(lab: Lab) -> None:
    lab.himds(connected=True)
    proc = lab.run(["curl", "-sS", "--max-time", "3", "-H", "Metadata: true", lab.himds_url],
                   timeout=20)
    assert '"azEnvironment": "AzurePublicCloud"' in proc.stdout
    assert "Microsoft.HybridCompute/machines/web01" in proc.stdout
    proc = lab.run(["curl", "-sS", "--max-time", "3", "-w", "\n%{http_code}", lab.himds_url],
                   timeout=20)
    assert status_of(proc) == "400"
    lab.himds("hang")
    proc = lab.run(["curl", "-sS", "--max-time", "1", "-H", "Metadata: true", lab.himds_url],
                   timeout=20)
    assert proc.returncode == 28
    lab.himds("absent")
    assert lab.connect("127.0.0.1", 40342) == "refused"


def test_azure_imds_address_on_loopback(lab: Lab) -> None:
    lab.azure_imds()
    assert f"inet {AZURE_IMDS_IP}/32" in lab.run(["ip", "addr", "show", "lo"]).stdout
    lab.assert_isolated()
    proc = lab.run(["curl", "-sS", "--max-time", "3", "-H", "Metadata: true",
                    f"http://{AZURE_IMDS_IP}/metadata/instance?api-version=2021-02-01"],
                   timeout=20)
    assert "Microsoft.Compute/virtualMachines" in proc.stdout


# --- proxy -------------------------------------------------------------------------------------


def test_proxy_allows_denies_and_authenticates(lab: Lab) -> None:
    lab.serve_endpoints([ARM, LOGIN])
    proxy = lab.proxy(deny=[LOGIN])
    proc = curl(lab, "-w", CONNECT_W, "-x", proxy.url, f"https://{ARM}/")
    assert proc.returncode == 0 and proc.stdout.rstrip().endswith("401 200"), proc.stdout
    proc = curl(lab, "-w", CONNECT_W, "-x", proxy.url, f"https://{LOGIN}/")
    assert proc.stdout.rstrip().endswith("403"), (proc.stdout, proc.stderr)
    assert "TCP_DENIED/403" in proxy.access_log()

    proxy = lab.proxy(auth=("arc", "s3cret"))
    proc = curl(lab, "-w", CONNECT_W, "-x", proxy.url, f"https://{ARM}/")
    assert proc.stdout.rstrip().endswith("407"), (proc.stdout, proc.stderr)
    proc = curl(lab, "-w", CONNECT_W, "-x", proxy.url_with_auth, f"https://{ARM}/")
    assert proc.returncode == 0 and proc.stdout.rstrip().endswith("401 200"), proc.stderr


def test_squid_runs_unprivileged_with_private_dirs(lab: Lab) -> None:
    proxy = lab.proxy()
    pids = lab.run(["ps", "-o", "user=", "-p", str(proxy.server.popen.pid)]).stdout.strip()
    assert pids in ("proxy", "nobody")
    assert (proxy.directory / "cache.log").exists()
    assert str(proxy.directory).startswith(str(lab.workdir))


# --- running as another user -------------------------------------------------------------------


def test_non_root_user(lab: Lab) -> None:
    assert lab.run(["id", "-u"], user="nobody").stdout.strip() == "65534"
    proc = lab.python("import os, dns; print(os.geteuid(), os.getegid())",
                      user="nobody", timeout=30)
    assert proc.stdout.strip() == "65534 65534", proc.stderr
    assert sys.executable.startswith("/")
    proc = lab.run(["sh", "-c", "echo x > /root/arcpf-should-not-exist"], user="nobody")
    assert proc.returncode != 0
    lab.serve_endpoints([ARM])
    proc = curl(lab, f"https://{ARM}/", user="nobody")
    assert status_of(proc) == "401", proc.stderr


def test_run_strips_host_proxy_variables(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:8080")
    env = lab.run(["env"], env={"EXTRA": "1"}).stdout
    assert "HTTPS_PROXY" not in env and "EXTRA=1" in env
    assert f"PYTHONPATH={REPO_ROOT}" in env


def test_run_times_out(lab: Lab) -> None:
    with pytest.raises(subprocess.TimeoutExpired):
        lab.run(["sleep", "30"], timeout=0.5)


# --- scenarios and scripts/lab -----------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenarios_build(lab: Lab, lab_hosts: List[str], name: str) -> None:
    argv = SCENARIOS[name].apply(lab, lab_hosts)
    assert argv[:3] == ["check", "--ca-bundle", str(lab.ca_bundle)]
    if name.startswith("gateway"):  # the agent's settings choose the route, as on a server
        assert "--proxy" not in argv and "--no-proxy" not in argv and "--agent-dir" in argv
    else:
        assert ("--proxy" in argv) != ("--no-proxy" in argv)
    lab.assert_isolated()


def test_catalogue_hosts_are_names(lab: Lab) -> None:
    hosts = lab.catalogue_hosts()
    assert ARM in hosts and all("*" not in h and "{" not in h for h in hosts)


def test_scripts_lab_up_and_down(lab_ready: None) -> None:
    name = f"arcpf-{os.getpid()}-{secrets.token_hex(3)}"
    script = str(REPO_ROOT / "scripts" / "lab")
    try:
        up = subprocess.run([sys.executable, script, "up", "healthy", "--name", name],
                            capture_output=True, text=True, timeout=120)
        assert up.returncode == 0, up.stderr
        assert f"ip netns exec {name}" in up.stdout and "--ca-bundle" in up.stdout
        assert name in list_namespaces()
        proc = subprocess.run(
            ["ip", "netns", "exec", name, "curl", "-sS", "--max-time", "5", "--cacert",
             f"/tmp/arcpf-lab/{name}/ca.pem", f"https://{ARM}/"],
            capture_output=True, text=True, timeout=20)
        assert "AuthenticationFailed" in proc.stdout, proc.stderr
    finally:
        down = subprocess.run([sys.executable, script, "down", "--name", name],
                              capture_output=True, text=True, timeout=60)
    assert down.returncode == 0 and "removed" in down.stdout
    assert name not in list_namespaces()
    assert not Path("/etc/netns", name).exists()
