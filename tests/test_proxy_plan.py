"""The effective proxy (precedence, bypass, NO_PROXY) and the hand-made CONNECT tunnel."""

from __future__ import annotations

import base64
import json
import socket
import threading
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest

from arc_preflight import catalog
from arc_preflight.config import Settings
from arc_preflight.probes import proxy as proxy_mod
from arc_preflight.probes.proxy import TunnelError
from arc_preflight.probes.proxyplan import ProxyPlan, resolve_proxy
from arc_preflight.redact import redact

AGENT_PROXY = "http://agent-proxy.corp:8080"
ENV_PROXY = "http://env-proxy.corp:3128"
FLAG_PROXY = "http://flag-proxy.corp:9090"


@pytest.fixture
def agent_dir(tmp_path: Path):
    """Writes localconfig.json the way azcmagent config set does and returns the folder."""

    def make(local: Optional[Dict[str, Any]] = None, raw: Optional[str] = None) -> str:
        folder = tmp_path / "agent"
        folder.mkdir(exist_ok=True)
        if raw is not None:
            (folder / "localconfig.json").write_text(raw, encoding="utf-8")
        elif local is not None:
            (folder / "localconfig.json").write_text(json.dumps(local), encoding="utf-8")
        return str(folder)

    return make


def settings(agent: str, proxy: Optional[str] = None, no_proxy: bool = False) -> Settings:
    return Settings(agent_dir=agent, proxy=proxy, no_proxy=no_proxy)


# --------------------------------------------------------------------------------------------
# precedence


def test_no_proxy_flag_beats_everything(agent_dir) -> None:
    agent = agent_dir({"proxy.url": AGENT_PROXY})
    plan = resolve_proxy(settings(agent, no_proxy=True), environ={"HTTPS_PROXY": ENV_PROXY})
    assert plan.url is None
    assert plan.source == "--no-proxy"
    assert plan.route("management.azure.com") == ("direct", "--no-proxy")


def test_proxy_flag_beats_agent_and_env(agent_dir) -> None:
    agent = agent_dir({"proxy.url": AGENT_PROXY})
    plan = resolve_proxy(settings(agent, proxy=FLAG_PROXY), environ={"HTTPS_PROXY": ENV_PROXY})
    assert plan.url == FLAG_PROXY
    assert plan.source == "--proxy"
    assert (plan.host, plan.port) == ("flag-proxy.corp", 9090)
    assert plan.check_id == "proxy:flag-proxy.corp:9090"


def test_agent_proxy_url_beats_environment(agent_dir) -> None:
    agent = agent_dir({"proxy.url": AGENT_PROXY})
    plan = resolve_proxy(settings(agent), environ={"HTTPS_PROXY": ENV_PROXY})
    assert plan.url == AGENT_PROXY
    assert plan.source == "agent proxy.url"


@pytest.mark.parametrize("name", ["HTTPS_PROXY", "https_proxy"])
def test_environment_proxy(agent_dir, name: str) -> None:
    plan = resolve_proxy(settings(agent_dir({})), environ={name: ENV_PROXY})
    assert plan.url == ENV_PROXY
    assert plan.source == f"environment {name}"


def test_http_proxy_variable_is_not_used(agent_dir) -> None:
    """The agent only honours HTTPS_PROXY; HTTP_PROXY alone means no proxy."""
    plan = resolve_proxy(settings(agent_dir({})), environ={"HTTP_PROXY": ENV_PROXY})
    assert plan.url is None


def test_nothing_configured(agent_dir) -> None:
    plan = resolve_proxy(settings(agent_dir()), environ={})
    assert plan.url is None
    assert plan.source == "no proxy configured"
    assert plan.route("gbl.his.arc.azure.com")[0] == "direct"
    assert plan.host == "" and plan.port == 0


def test_blank_agent_proxy_url_falls_through_to_env(agent_dir) -> None:
    agent = agent_dir({"proxy.url": "   "})
    plan = resolve_proxy(settings(agent), environ={"HTTPS_PROXY": ENV_PROXY})
    assert plan.url == ENV_PROXY


def test_localconfig_with_bom_is_read(agent_dir) -> None:
    agent = agent_dir(raw="\ufeff" + json.dumps({"proxy.url": AGENT_PROXY}))
    assert resolve_proxy(settings(agent), environ={}).url == AGENT_PROXY


@pytest.mark.parametrize("raw", ["{not json", '{"proxy.url": ', "\x00\x01", "[1, 2]"])
def test_malformed_localconfig_is_a_finding_not_a_stop(agent_dir, raw: str) -> None:
    from arc_preflight.probes.agentconfig import load_localconfig

    agent = agent_dir(raw=raw)
    data, problem = load_localconfig(agent)
    assert data == {} and problem is not None and "localconfig.json" in problem
    assert resolve_proxy(settings(agent), environ={}).url is None


def test_no_proxy_flag_ignores_malformed_localconfig(agent_dir) -> None:
    agent = agent_dir(raw="{broken")
    assert resolve_proxy(settings(agent, no_proxy=True), environ={}).url is None


@pytest.mark.parametrize("url", ["ftp://proxy.corp:21", "http://proxy.corp:99999"])
def test_unusable_agent_proxy_url_is_reported_and_probing_goes_direct(agent_dir,
                                                                      url: str) -> None:
    agent = agent_dir({"proxy.url": url})
    plan = resolve_proxy(settings(agent), environ={})
    assert plan.url is None and "unusable" in plan.source
    assert plan.notes and "agent proxy.url" in plan.notes[0]


def test_wrongly_typed_agent_settings_are_ignored_and_reported(agent_dir) -> None:
    from arc_preflight.probes.agentconfig import load_localconfig

    agent = agent_dir({"proxy.url": 7, "proxy.bypass": {"a": 1}})
    data, problem = load_localconfig(agent)
    assert "proxy.url" not in data and "proxy.bypass" not in data
    assert problem is not None and "proxy.url" in problem and "proxy.bypass" in problem


# --------------------------------------------------------------------------------------------
# URL handling


@pytest.mark.parametrize("given, url, port", [
    ("proxy.corp:3128", "http://proxy.corp:3128", 3128),
    ("10.1.2.3:8080", "http://10.1.2.3:8080", 8080),
    ("http://proxy.corp", "http://proxy.corp", 80),
    ("https://proxy.corp", "https://proxy.corp", 443),
])
def test_scheme_and_port_defaults(agent_dir, given: str, url: str, port: int) -> None:
    plan = resolve_proxy(settings(agent_dir({"proxy.url": given})), environ={})
    assert plan.url == url
    assert plan.port == port


def test_proxy_password_is_registered_and_redacted(agent_dir) -> None:
    password = "Pr0xy!Pa55-unique-7731"
    url = f"http://svc-arc:{password}@proxy.corp:3128"
    plan = resolve_proxy(settings(agent_dir({"proxy.url": url})), environ={})
    assert plan.url == url  # the plan keeps it: the tunnel needs it
    assert password not in json.dumps(plan.public())
    assert plan.public()["url"] == "http://svc-arc:[REDACTED]@proxy.corp:3128"
    # registered: it is hidden wherever it appears, not only in URLs
    assert redact(f"log line mentioning {password} alone") == \
        "log line mentioning [REDACTED] alone"


def test_percent_encoded_password_is_registered_in_both_forms(agent_dir) -> None:
    url = "http://svc:P%40ss%3Aw0rd-9184@proxy.corp:3128"
    resolve_proxy(settings(agent_dir({"proxy.url": url})), environ={})
    assert "P@ss:w0rd-9184" not in redact("decoded P@ss:w0rd-9184 here")
    assert "P%40ss%3Aw0rd-9184" not in redact("encoded P%40ss%3Aw0rd-9184 here")


# --------------------------------------------------------------------------------------------
# routing: proxy.bypass and NO_PROXY


@pytest.mark.parametrize("bypass", [["AAD", "ARM", "Arc"], "AAD, ARM,Arc"])
def test_bypass_categories_route_direct(agent_dir, bypass: Any) -> None:
    agent = agent_dir({"proxy.url": AGENT_PROXY, "proxy.bypass": bypass})
    plan = resolve_proxy(settings(agent), environ={})
    assert plan.bypass_categories == ("AAD", "ARM", "Arc")
    for host in ("login.microsoftonline.com", "login.windows.net", "eastus.login.microsoft.com",
                 "management.azure.com", "gbl.his.arc.azure.com", "eus.his.arc.azure.com",
                 "eastus-gas.guestconfiguration.azure.com"):
        route, why = plan.route(host)
        assert route == "direct", host
        assert why.startswith("agent proxy.bypass"), why
    assert plan.route("MANAGEMENT.AZURE.COM")[0] == "direct"
    for host in ("guestnotificationservice.azure.com", "packages.microsoft.com",
                 "dataprocessingservice.eastus.arcdataservices.com"):
        assert plan.route(host) == ("proxy", "agent proxy.url"), host


def test_bypass_is_applied_to_flag_proxy_too(agent_dir) -> None:
    agent = agent_dir({"proxy.bypass": ["ARM"]})
    plan = resolve_proxy(settings(agent, proxy=FLAG_PROXY), environ={})
    assert plan.route("management.azure.com") == ("direct", "agent proxy.bypass ARM")
    assert plan.route("login.microsoftonline.com") == ("proxy", "--proxy")


def test_bypass_arcdata(agent_dir) -> None:
    plan = resolve_proxy(settings(agent_dir({"proxy.url": AGENT_PROXY,
                                             "proxy.bypass": ["ArcData"]})), environ={})
    assert plan.route("telemetry.eastus.arcdataservices.com")[0] == "direct"
    assert plan.route("gbl.his.arc.azure.com")[0] == "proxy"


def _bypass_mismatches(cloud_name: str) -> List[str]:
    cloud = catalog.find_cloud(cloud_name)
    wrong = []
    for region in cloud.regions:
        for item in catalog.endpoints(cloud, region, include_optional=True):
            for category in catalog.bypass_categories(item.bypass) if item.probe else ():
                plan = ProxyPlan(AGENT_PROXY, "agent proxy.url", (category,))
                if plan.route(item.host)[0] != "direct":
                    wrong.append(f"{item.host} ({category})")
    return sorted(set(wrong))


@pytest.mark.parametrize("cloud_name", ["AzureCloud", "AzureChinaCloud"])
def test_catalog_bypass_column_agrees_with_routing(cloud_name: str) -> None:
    assert _bypass_mismatches(cloud_name) == []


def test_catalog_bypass_column_agrees_with_routing_us_gov() -> None:
    assert _bypass_mismatches("AzureUSGovernment") == []


@pytest.mark.parametrize("entry", ["azure.com", ".azure.com", "*.azure.com", " azure.com"])
def test_no_proxy_suffix_matching(agent_dir, entry: str) -> None:
    env = {"HTTPS_PROXY": ENV_PROXY, "NO_PROXY": f"localhost,{entry}"}
    plan = resolve_proxy(settings(agent_dir({})), environ=env)
    assert plan.route("management.azure.com") == ("direct", "NO_PROXY")
    assert plan.route("azure.com") == ("direct", "NO_PROXY")
    assert plan.route("login.microsoftonline.com")[0] == "proxy"
    # a suffix only matches at a label boundary
    assert plan.route("notazure.com")[0] == "proxy"


def test_lowercase_no_proxy_variable(agent_dir) -> None:
    env = {"https_proxy": ENV_PROXY, "no_proxy": "microsoft.com"}
    plan = resolve_proxy(settings(agent_dir({})), environ=env)
    assert plan.route("packages.microsoft.com") == ("direct", "NO_PROXY")


def test_no_proxy_applies_to_flag_proxy(agent_dir) -> None:
    plan = resolve_proxy(settings(agent_dir({}), proxy=FLAG_PROXY),
                         environ={"NO_PROXY": "windows.net"})
    assert plan.route("login.windows.net") == ("direct", "NO_PROXY")


def test_no_proxy_ignored_for_agent_proxy_url(agent_dir) -> None:
    """The agent's own proxy.url is governed by proxy.bypass, not the NO_PROXY variable."""
    plan = resolve_proxy(settings(agent_dir({"proxy.url": AGENT_PROXY})),
                         environ={"NO_PROXY": "azure.com"})
    assert plan.route("management.azure.com")[0] == "proxy"


# --------------------------------------------------------------------------------------------
# CONNECT tunnel through a fake proxy on a socketpair


class FakeProxy:
    """Plays the proxy on one end of a socketpair: reads the CONNECT request, then answers."""

    def __init__(self, answer: Optional[bytes], close: bool = True) -> None:
        self.answer = answer
        self.close = close
        self.client, self.server = socket.socketpair()
        self.request = b""
        self.received_after = b""
        self.done = threading.Event()
        self.release = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            self.server.settimeout(5)
            while b"\r\n\r\n" not in self.request:
                chunk = self.server.recv(4096)
                if not chunk:
                    return
                self.request += chunk
            if self.answer is not None:
                self.server.sendall(self.answer)
            if self.answer and self.answer.startswith(b"HTTP/1.1 200"):
                # act as the tunnelled endpoint: echo one message back
                data = self.server.recv(4096)
                self.received_after = data
                self.server.sendall(b"echo:" + data)
            if not self.close:
                self.release.wait(5)
        except OSError:
            pass
        finally:
            self.done.set()
            self.server.close()

    def headers(self) -> Dict[str, str]:
        lines = self.request.decode("latin-1").split("\r\n")[1:]
        return {k.strip().lower(): v.strip() for k, _, v in
                (line.partition(":") for line in lines if line)}


@pytest.fixture
def fake_proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    made: List[FakeProxy] = []

    def make(answer: Optional[bytes], close: bool = True) -> FakeProxy:
        fake = FakeProxy(answer, close)
        made.append(fake)

        def open_socket(plan: ProxyPlan, timeout: float,
                        address: Optional[str] = None) -> socket.socket:
            return fake.client

        monkeypatch.setattr(proxy_mod, "open_socket", open_socket)
        return fake

    yield make
    for fake in made:
        fake.release.set()
        fake.thread.join(2)
        fake.client.close()


PLAN = ProxyPlan("http://proxy.corp:3128", "--proxy")


def test_tunnel_established(fake_proxy) -> None:
    fake = fake_proxy(b"HTTP/1.1 200 Connection established\r\n\r\n")
    sock = proxy_mod.tunnel(PLAN, "management.azure.com", 443, timeout=2)
    assert sock is fake.client
    assert fake.request.startswith(b"CONNECT management.azure.com:443 HTTP/1.1\r\n")
    assert fake.headers()["host"] == "management.azure.com:443"
    assert "proxy-authorization" not in fake.headers()
    assert sock.gettimeout() is None, "the tunnel is handed over in blocking mode"
    sock.settimeout(2)
    sock.sendall(b"hello")
    assert sock.recv(100) == b"echo:hello"


def test_tunnel_established_http10(fake_proxy) -> None:
    fake_proxy(b"HTTP/1.0 200 OK\r\nProxy-Agent: squid\r\n\r\n", close=False)
    sock = proxy_mod.tunnel(PLAN, "gbl.his.arc.azure.com", 443, timeout=2)
    assert sock.fileno() >= 0


def test_tunnel_sends_proxy_authorization(fake_proxy) -> None:
    fake = fake_proxy(b"HTTP/1.1 200 Connection established\r\n\r\n")
    plan = ProxyPlan("http://arc%5Csvc:p%40ss-w0rd@proxy.corp:3128", "--proxy")
    proxy_mod.tunnel(plan, "management.azure.com", 443, timeout=2)
    value = fake.headers()["proxy-authorization"]
    scheme, _, token = value.partition(" ")
    assert scheme == "Basic"
    assert base64.b64decode(token).decode() == "arc\\svc:p@ss-w0rd"
    assert token not in redact(f"header {value}"), "the Basic token is registered as secret"


@pytest.mark.parametrize("answer, code, status", [
    (b"HTTP/1.1 407 Proxy Authentication Required\r\n"
     b"Proxy-Authenticate: Basic realm=\"corp\"\r\n\r\n", "proxy.auth_required", 407),
    (b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n", "proxy.denied", 403),
    (b"HTTP/1.1 502 Bad Gateway\r\n\r\n", "proxy.upstream_failed", 502),
    (b"HTTP/1.1 503 Service Unavailable\r\n\r\n", "proxy.upstream_failed", 503),
    (b"HTTP/1.1 504 Gateway Timeout\r\n\r\n", "proxy.upstream_failed", 504),
    (b"HTTP/1.0 400 Bad Request\r\n\r\n", "proxy.denied", 400),
])
def test_tunnel_refused(fake_proxy, answer: bytes, code: str, status: int) -> None:
    fake_proxy(answer)
    with pytest.raises(TunnelError) as info:
        proxy_mod.tunnel(PLAN, "management.azure.com", 443, timeout=2)
    assert info.value.code == code
    assert info.value.facts["proxy_status"] == status
    assert str(status) in info.value.text


@pytest.mark.parametrize("answer", [
    b"SSH-2.0-OpenSSH_8.9p1 Ubuntu-3\r\n\r\n",
    b"SSH-2.0-OpenSSH_8.9p1 Ubuntu-3\r\nProtocol mismatch.\r\n",  # then closes
    b"220 mail.corp ESMTP ready\r\n",
    b"HTTP/1.1 abc Weird\r\n\r\n",
    b"\x16\x03\x01\x00\x2a garbage\r\n\r\n",
])
def test_tunnel_garbage_answer(fake_proxy, answer: bytes) -> None:
    fake_proxy(answer)
    with pytest.raises(TunnelError) as info:
        proxy_mod.tunnel(PLAN, "management.azure.com", 443, timeout=2)
    assert info.value.code == "proxy.bad_response"


def test_tunnel_garbage_banner_kept_open_is_bad_response(fake_proxy) -> None:
    fake_proxy(b"SSH-2.0-OpenSSH_8.9p1\r\n", close=False)
    with pytest.raises(TunnelError) as info:
        proxy_mod.tunnel(PLAN, "management.azure.com", 443, timeout=0.5)
    assert info.value.code == "proxy.bad_response"


def test_tunnel_proxy_closes_without_answer(fake_proxy) -> None:
    fake_proxy(None)
    with pytest.raises(TunnelError) as info:
        proxy_mod.tunnel(PLAN, "management.azure.com", 443, timeout=2)
    assert info.value.code == "proxy.bad_response"
    assert "without answering" in info.value.text


def test_tunnel_proxy_silent_times_out(fake_proxy) -> None:
    fake_proxy(b"", close=False)
    with pytest.raises(TunnelError) as info:
        proxy_mod.tunnel(PLAN, "management.azure.com", 443, timeout=0.3)
    assert info.value.code == "proxy.timeout"


@pytest.mark.parametrize("exc, code", [
    (socket.gaierror(-2, "Name or service not known"), "proxy.dns"),
    (ConnectionRefusedError(111, "Connection refused"), "proxy.unreachable"),
    (socket.timeout("timed out"), "proxy.timeout"),
])
def test_tunnel_cannot_reach_proxy(monkeypatch: pytest.MonkeyPatch, exc: OSError,
                                   code: str) -> None:
    def open_socket(plan: ProxyPlan, timeout: float, address: Optional[str] = None) -> Any:
        raise exc

    monkeypatch.setattr(proxy_mod, "open_socket", open_socket)
    with pytest.raises(TunnelError) as info:
        proxy_mod.tunnel(PLAN, "management.azure.com", 443, timeout=1)
    assert info.value.code == code


# --------------------------------------------------------------------------------------------
# the unit-test network block itself (tests/conftest.py)


def test_network_block_stops_inet_sockets() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        with pytest.raises(RuntimeError, match="network blocked"):
            sock.connect(("127.0.0.1", 9))
        with pytest.raises(RuntimeError, match="network blocked"):
            sock.connect_ex(("127.0.0.1", 9))
    with pytest.raises(RuntimeError, match="network blocked"):
        socket.create_connection(("example.com", 443), timeout=1)
    with pytest.raises(RuntimeError, match="network blocked"):
        socket.getaddrinfo("management.azure.com", 443)


def test_network_block_stops_the_probes_own_connect() -> None:
    from arc_preflight.probes.netutil import connect

    with pytest.raises(RuntimeError, match="network blocked"):
        connect("::1", 443, 1)


def test_network_block_keeps_unix_sockets(tmp_path: Path) -> None:
    left, right = socket.socketpair()
    with left, right:
        left.sendall(b"ping")
        assert right.recv(4) == b"ping"
    path = str(tmp_path / "s")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(path)
        server.listen(1)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.connect(path)
            conn, _ = server.accept()
            with conn:
                client.sendall(b"pong")
                assert conn.recv(4) == b"pong"
