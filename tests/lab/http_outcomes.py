"""Runs inside a lab namespace: the HTTP probes (HTTPS, HIMDS, Azure IMDS, the sign-in request)
against servers that fail in every way we know, and prints each outcome as JSON.

Why a script of its own: the table it prints is the contract between the probes and the
knowledge base (which failure gives which code and message), so it is recorded once and any
change of HTTP library must reproduce it. The servers are raw sockets started here, in the
namespace (only loopback exists), so a failure is a real one: a real refusal, a real handshake
with an untrusted certificate, a real header line of 100 KB.

    python http_outcomes.py WORKDIR CA_BUNDLE BLACKHOLE_PORT RESET_PORT SQUID_URL SQUID_HOST

WORKDIR holds the certificates the test issued (good-*, foreign-*, expired-*, other-*).
"""

from __future__ import annotations

import contextlib
import json
import select
import socket
import ssl
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

HOST = "endpoint.lab.test"  # the name the certificates cover; direct requests are pinned
TIMEOUT = 1.0
JSON_OK = json.dumps({"compute": {"name": "web01", "location": "eastus",
                                  "resourceId": "/subscriptions/x/resourceGroups/rg/providers/"
                                                "Microsoft.HybridCompute/machines/web01"}})


def read_head(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data and len(data) < 65536:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def answer(status: str, body: bytes = b"", extra: str = "") -> bytes:
    return (f"HTTP/1.1 {status}\r\nDate: Mon, 30 Nov 2026 10:00:00 GMT\r\nServer: lab\r\n"
            f"Content-Length: {len(body)}\r\n{extra}Connection: close\r\n\r\n").encode() + body


Handler = Callable[[socket.socket], None]


class Servers:
    """Raw servers on 127.0.0.1, one port each, every connection in its own thread."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.socks: List[socket.socket] = []

    def tls(self, cert: str) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(self.workdir / f"{cert}-chain.pem"),
                                str(self.workdir / f"{cert}-key.pem"))
        return context

    def start(self, handler: Handler, cert: Optional[str] = None) -> int:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        self.socks.append(listener)
        context = self.tls(cert) if cert else None

        def one(conn: socket.socket) -> None:
            try:
                if context is not None:
                    conn.settimeout(10)
                    conn = context.wrap_socket(conn, server_side=True)
                conn.settimeout(10)
                handler(conn)
            except (OSError, ssl.SSLError):
                pass
            finally:
                conn.close()

        def loop() -> None:
            while True:
                try:
                    conn, _ = listener.accept()
                except OSError:
                    return
                threading.Thread(target=one, args=(conn,), daemon=True).start()

        threading.Thread(target=loop, daemon=True).start()
        return int(listener.getsockname()[1])


def replies(data: bytes) -> Handler:
    def handler(conn: socket.socket) -> None:
        read_head(conn)
        conn.sendall(data)
        time.sleep(0.2)
    return handler


def hangs(conn: socket.socket) -> None:
    time.sleep(5)


def reads_then_hangs(conn: socket.socket) -> None:
    read_head(conn)
    time.sleep(5)


def reads_then_closes(conn: socket.socket) -> None:
    read_head(conn)


def closes(conn: socket.socket) -> None:
    """Reads the client's first bytes (its TLS hello), then closes: a clean FIN, not a reset
    (closing with unread bytes would send RST, and the outcome would race between the two)."""
    conn.recv(65536)


def reads_then_resets(conn: socket.socket) -> None:
    read_head(conn)
    # SO_LINGER with a zero timeout: close() sends RST instead of FIN
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")


def banner(conn: socket.socket) -> None:
    conn.sendall(b"SSH-2.0-OpenSSH_9.6\r\n")
    time.sleep(2)


def relay(client: socket.socket, upstream: socket.socket, idle: float = 10.0) -> None:
    """Copy bytes both ways until either side closes, in one thread.

    The client side is a TLS socket for the https:// proxies, and an ``ssl.SSLSocket`` must not
    be read in one thread while another writes to it (the TLS state is shared): a pump thread per
    direction made the tunnel through the TLS proxy fail now and then, on a loaded machine, as
    ``proxy error``. ``select`` does not see bytes the TLS layer already holds, so those are
    read first."""
    peers = {client: upstream, upstream: client}
    while True:
        ready = [end for end in peers if isinstance(end, ssl.SSLSocket) and end.pending()]
        if not ready:
            ready, _, _ = select.select(list(peers), [], [], idle)
            if not ready:
                return
        for end in ready:
            try:
                data = end.recv(65536)
            except ssl.SSLWantReadError:
                continue
            except OSError:
                return
            if not data:
                return
            try:
                peers[end].sendall(data)
            except OSError:
                return


def forwarding_proxy(target_port: int, status: str = "200 Connection established",
                     need_auth: str = "") -> Handler:
    """A CONNECT proxy: answers ``status`` (or 407 without the expected credentials) and, on
    200, relays bytes to 127.0.0.1:target_port. Plain GETs get ``status`` as their answer."""

    def handler(conn: socket.socket) -> None:
        head = read_head(conn)
        if need_auth and f"proxy-authorization: basic {need_auth}".lower() not in \
                head.decode("latin-1").lower():
            conn.sendall(answer("407 Proxy Authentication Required",
                                extra='Proxy-Authenticate: Basic realm="lab"\r\n'))
            return
        if not head.startswith(b"CONNECT "):
            conn.sendall(answer(status, b"proxied", "X-Squid-Error: ERR_ACCESS_DENIED 0\r\n"
                                if status.startswith("403") else ""))
            return
        conn.sendall(f"HTTP/1.1 {status}\r\n\r\n".encode())
        if not status.startswith("200"):
            return
        upstream = socket.create_connection(("127.0.0.1", target_port), timeout=10)
        try:
            relay(conn, upstream)
        finally:
            for end in (conn, upstream):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
            upstream.close()

    return handler


def free_port() -> int:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = int(probe.getsockname()[1])
    probe.close()
    return port


def outcome_json(outcome: Any, elapsed: float) -> Dict[str, Any]:
    return {"status": outcome.status.value, "code": outcome.code, "summary": outcome.summary,
            "status_code": outcome.facts.get("status_code"),
            "within_deadline": elapsed < TIMEOUT + 0.5}


def main(argv: List[str]) -> int:
    workdir, ca_bundle = Path(argv[0]), argv[1]
    blackhole_port, reset_port = int(argv[2]), int(argv[3])
    squid_url, squid_host = argv[4], argv[5]

    from arc_preflight.config import Settings
    from arc_preflight.model import ProbeContext, Result, Status
    from arc_preflight.probes import auth, himds, https, imds
    from arc_preflight.probes.proxyplan import ProxyPlan

    settings = Settings(ca_bundle=ca_bundle)
    import os

    os.environ["SSL_CERT_FILE"] = ca_bundle  # the "system store" an https:// proxy is checked by

    def ctx() -> ProbeContext:
        return ProbeContext(timeout=TIMEOUT, settings=settings,
                            deadline_at=time.monotonic() + 30)

    tcp_id = f"tcp:{HOST}:443"
    deps = {tcp_id: Result(id=tcp_id, probe="tcp", target=HOST, status=Status.PASS,
                           summary="", facts={"address": "127.0.0.1"})}
    servers = Servers(workdir)
    s = servers.start
    ok = s(replies(answer("200 OK", b"{}")), "good")
    ports: Dict[str, int] = {
        "ok": ok,
        "ok-401": s(replies(answer("401 Unauthorized", b"{}")), "good"),
        "refused": free_port(),
        "blackhole": blackhole_port,
        "reset": reset_port,
        "foreign-ca": s(replies(answer("200 OK")), "foreign"),
        "expired": s(replies(answer("200 OK")), "expired"),
        "wrong-name": s(replies(answer("200 OK")), "other"),
        "not-tls": s(banner),
        "handshake-hangs": s(hangs),
        "closes-before-handshake": s(closes),
        "tls-then-close": s(reads_then_closes, "good"),
        "tls-then-hang": s(reads_then_hangs, "good"),
        "long-header": s(replies(b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * 100_000 + b"\r\n\r\n"),
                         "good"),
        "many-headers": s(replies(b"HTTP/1.1 200 OK\r\n" + b"X-A: b\r\n" * 150 + b"\r\n"),
                          "good"),
        "garbage-status": s(replies(b"FOO BAR BAZ\r\n\r\n"), "good"),
        "tls-then-rst": s(reads_then_resets, "good"),
        "http09": s(replies(b"hello\n"), "good"),
    }
    results: Dict[str, Any] = {}

    def run(name: str, fn: Callable[[], Any]) -> None:
        started = time.monotonic()
        try:
            got = outcome_json(fn(), time.monotonic() - started)
        except Exception as exc:  # the probe must never raise: record it so the test says so
            got = {"status": "raised", "code": type(exc).__name__, "summary": str(exc)[:200]}
        results[name] = got

    # -- HTTPS, direct (pinned to 127.0.0.1, SNI and Host the endpoint's name) ----------------
    for name, port in ports.items():
        run(f"https-direct/{name}", lambda port=port: https.probe(
            HOST, port, "https", "/", "direct", None, ctx(), deps))
    plain = s(replies(answer("404 Not Found", b"x")))
    run("http-direct/ok", lambda: https.probe(HOST, plain, "http", "/lab.crl", "direct", None,
                                              ctx(), deps))
    run("http-direct/refused", lambda: https.probe(HOST, free_port(), "http", "/", "direct",
                                                   None, ctx(), deps))
    run("http-direct/hang", lambda: https.probe(HOST, s(reads_then_hangs), "http", "/",
                                                "direct", None, ctx(), deps))

    # -- HTTPS through a proxy ----------------------------------------------------------------
    def via(proxy_port: int, host: str = HOST, user: str = "", target: int = 443,
            scheme: str = "https", proxy_host: str = "127.0.0.1") -> Any:
        creds = f"{user}@" if user else ""
        plan = ProxyPlan(f"http://{creds}{proxy_host}:{proxy_port}", "--proxy")
        return https.probe(host, target, scheme, "/", "proxy", plan, ctx(), {})

    import base64

    token = base64.b64encode(b"labuser:s3cr%t").decode()
    proxies = {
        "tunnel-ok": s(forwarding_proxy(ok)),
        "tunnel-to-foreign-ca": s(forwarding_proxy(ports["foreign-ca"])),
        "tunnel-to-hang": s(forwarding_proxy(ports["tls-then-hang"])),
        "tunnel-to-close": s(forwarding_proxy(ports["tls-then-close"])),
        "tunnel-to-long-header": s(forwarding_proxy(ports["long-header"])),
        "tunnel-to-not-tls": s(forwarding_proxy(ports["not-tls"])),
        "tunnel-to-garbage-status": s(forwarding_proxy(ports["garbage-status"])),
        "tunnel-to-handshake-hangs": s(forwarding_proxy(ports["handshake-hangs"])),
        "connect-403": s(forwarding_proxy(ok, "403 Forbidden")),
        "connect-407": s(forwarding_proxy(ok, need_auth=token)),
        "connect-502": s(forwarding_proxy(ok, "502 Bad Gateway")),
        "connect-503": s(forwarding_proxy(ok, "503 Service Unavailable")),
        "connect-504": s(forwarding_proxy(ok, "504 Gateway Timeout")),
        "connect-400": s(forwarding_proxy(ok, "400 Bad Request")),
        "proxy-hangs": s(reads_then_hangs),
        "proxy-closes": s(reads_then_closes),
        "proxy-garbage": s(replies(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")),
        "proxy-refused": free_port(),
        "proxy-blackhole": blackhole_port,
        "proxy-reset": reset_port,
    }
    for name, port in proxies.items():
        run(f"https-proxy/{name}", lambda port=port: via(port))
    run("https-proxy/connect-407-with-credentials",
        lambda: via(proxies["connect-407"], user="labuser:s3cr%25t"))
    run("https-proxy/proxy-name-does-not-resolve",
        lambda: via(3128, proxy_host="proxy.nxdomain.lab.test"))
    for name in ("connect-403", "connect-407", "connect-502", "tunnel-ok", "proxy-closes",
                 "proxy-garbage"):
        run(f"http-proxy/{name}", lambda name=name: via(proxies[name], target=80, scheme="http"))
    run("http-proxy/connect-407-with-credentials",
        lambda: via(proxies["connect-407"], user="labuser:s3cr%25t", target=80, scheme="http"))
    run("http-proxy/proxy-refused", lambda: via(proxies["proxy-refused"], target=80,
                                                scheme="http"))
    run("http-proxy/proxy-hangs", lambda: via(proxies["proxy-hangs"], target=80,
                                              scheme="http"))
    # an https:// proxy (TLS to the proxy, verified against the default store, which
    # SSL_CERT_FILE points at the lab CA here; then TLS to the endpoint inside that TLS)
    tls_proxies = {"tunnel-ok": s(forwarding_proxy(ok), "good"),
                   "connect-407": s(forwarding_proxy(ok, need_auth=token), "good"),
                   "untrusted": s(forwarding_proxy(ok), "foreign")}
    for name, port in tls_proxies.items():
        for scheme, target in (("https", 443), ("http", 80)):
            run(f"{scheme}-tlsproxy/{name}", lambda port=port, scheme=scheme, target=target: (
                https.probe(HOST, target, scheme, "/", "proxy",
                            ProxyPlan(f"https://127.0.0.1:{port}", "--proxy"), ctx(), {})))
    # the lab's real squid, in front of the lab's stand-in for squid_host
    squid = ProxyPlan(squid_url, "--proxy")
    run("https-squid/ok", lambda: https.probe(squid_host, 443, "https", "/", "proxy", squid,
                                              ctx(), {}))
    run("https-squid/denied", lambda: https.probe("denied.lab.test", 443, "https", "/",
                                                  "proxy", squid, ctx(), {}))
    run("http-squid/denied", lambda: https.probe("denied.lab.test", 80, "http", "/lab.crl",
                                                 "proxy", squid, ctx(), {}))

    # -- HIMDS and the Azure IMDS --------------------------------------------------------------
    metadata = {
        "ok": s(replies(answer("200 OK", JSON_OK.encode(),
                               "Content-Type: application/json\r\n"))),
        "not-json": s(replies(answer("200 OK", b"<html>"))),
        "http-500": s(replies(answer("500 Internal Server Error", b"{}"))),
        "refused": free_port(),
        "blackhole": blackhole_port,
        "reset": reset_port,
        "hangs": s(reads_then_hangs),
        "closes": s(reads_then_closes),
        "long-header": s(replies(b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * 100_000 + b"\r\n\r\n")),
        "garbage-status": s(replies(b"FOO BAR BAZ\r\n\r\n")),
        "oversized": s(replies(b"HTTP/1.1 200 OK\r\nContent-Length: 3000000\r\n\r\n"
                               + b"a" * 3_000_000)),
        "body-stalls": s(replies(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{")),
        "azure-vm": s(replies(answer("200 OK", json.dumps({"compute": {
            "vmId": "1", "name": "vm1", "location": "eastus", "azEnvironment": "AzurePublicCloud",
            "resourceId": "/subscriptions/x/resourceGroups/rg/providers/"
                          "Microsoft.Compute/virtualMachines/vm1"}}).encode()))),
    }
    for name, port in metadata.items():
        url = f"http://127.0.0.1:{port}/metadata/instance?api-version=2020-06-01"
        for installed in (True, False):
            run(f"himds/{name}/installed={installed}",
                lambda url=url, installed=installed: himds.probe(url, installed, ctx(), {}))
        run(f"imds/{name}", lambda url=url: imds.probe(url, ctx(), {}))

    # -- the sign-in request (--auth) ---------------------------------------------------------
    token_ok = json.dumps({"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
                           "access_token": "eyJ0eXAiOiJKV1QifQ.eyJhdWQiOiJhcm0ifQ.c2ln"})
    aad = s(replies(answer("200 OK", token_ok.encode(), "Content-Type: application/json\r\n")),
            "good")
    for name, port in (("ok", aad), ("refused", ports["refused"]),
                       ("blackhole", blackhole_port), ("foreign-ca", ports["foreign-ca"]),
                       ("tls-then-close", ports["tls-then-close"])):
        targets = auth.AuthTargets(
            identity_url=f"https://127.0.0.1:{port}", arm_url="https://management.azure.com",
            tenant_id="72f988bf-86f1-41af-91ab-2d7cd011db47", subscription_id="s",
            resource_group="rg", resource_name="web01", client_id="app")
        run(f"auth-token/{name}", lambda targets=targets: auth.token_probe(
            targets, "Tr4nslate~fake-secret", auth.TokenBox(), None, ctx(), {}))
    for name, port, creds in (("via-proxy", proxies["tunnel-ok"], ""),
                              ("via-proxy-407", proxies["connect-407"], ""),
                              ("via-proxy-407-wrong-password", proxies["connect-407"],
                               "labuser:wr0ng%25pass@")):
        targets = auth.AuthTargets(
            identity_url=f"https://{HOST}", arm_url="https://management.azure.com",
            tenant_id="72f988bf-86f1-41af-91ab-2d7cd011db47", subscription_id="s",
            resource_group="rg", resource_name="web01", client_id="app")
        plan = ProxyPlan(f"http://{creds}127.0.0.1:{port}", "--proxy")
        run(f"auth-token/{name}", lambda targets=targets, plan=plan: auth.token_probe(
            targets, "Tr4nslate~fake-secret", auth.TokenBox(), plan, ctx(), {}))
    print(json.dumps(results, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
