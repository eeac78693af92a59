"""The HTTPS probe's translation table: requests exceptions -> https.*, proxy.* and tls.* codes,
and the proxy's 407 told apart from the endpoint's own answer.

The exceptions carry the text requests/urllib3 really produce (object addresses replaced by a
fixed one); the probe runs with ``_session`` replaced, so no request is ever sent.
"""

from __future__ import annotations

import datetime as dt
import inspect
import re
import time
from typing import Any, Dict, List, Optional, Tuple

import pytest
import requests
from factories import result

from arc_preflight.config import Settings
from arc_preflight.model import FAILURE_CODES, ProbeContext, Status
from arc_preflight.probes import https as https_probe

try:
    from arc_preflight.probes.proxyplan import ProxyPlan
except ImportError:
    from arc_preflight.probes.proxy import ProxyPlan

RE = requests.exceptions
POOL = "HTTPSConnectionPool(host='management.azure.com', port=443): Max retries exceeded with " \
       "url: / "
CONN = "<urllib3.connection.HTTPSConnection object at 0x7f00deadbeef>"


def tunnel_failed(status_line: str) -> RE.ProxyError:
    return RE.ProxyError(POOL + "(Caused by ProxyError('Unable to connect to proxy', "
                         f"OSError('Tunnel connection failed: {status_line}')))")


def verify_failed(detail: str) -> RE.SSLError:
    return RE.SSLError(POOL + "(Caused by SSLError(SSLCertVerificationError(1, '[SSL: "
                       f"CERTIFICATE_VERIFY_FAILED] certificate verify failed: {detail} "
                       "(_ssl.c:1006)')))")


# (id, exception, code, a fact the text must mention)
CASES: List[Tuple[str, BaseException, str, str]] = [
    ("header-line-too-long", RE.ConnectionError(
        "('Connection aborted.', LineTooLong('got more than 65536 bytes when reading header "
        "line'))"), "https.bad_answer", "malformed HTTP header"),
    ("proxy-407", tunnel_failed("407 Proxy Authentication Required"), "proxy.auth_required",
     "407"),
    ("proxy-403", tunnel_failed("403 Forbidden"), "proxy.denied", "403"),
    ("proxy-502", tunnel_failed("502 Bad Gateway"), "proxy.upstream_failed",
     "could not reach"),
    ("proxy-503", tunnel_failed("503 Service Unavailable"), "proxy.upstream_failed",
     "could not reach"),
    ("proxy-504", tunnel_failed("504 Gateway Timeout"), "proxy.upstream_failed",
     "could not reach"),
    ("proxy-refused", RE.ProxyError(
        POOL + "(Caused by ProxyError('Unable to connect to proxy', NewConnectionError('"
        f"{CONN}: Failed to establish a new connection: [Errno 111] Connection refused')))"),
     "proxy.unreachable", "proxy"),
    ("proxy-other-status", tunnel_failed("400 Bad Request"), "proxy.denied", "400"),
    # a status-looking number elsewhere in the text is not the proxy's answer
    ("proxy-refused-port-5030", RE.ProxyError(
        POOL + "(Caused by ProxyError('Unable to connect to proxy', NewConnectionError('"
        "<urllib3.connection.HTTPSConnection object at 0x7f4075031d90>: Failed to establish a "
        "new connection: [Errno 111] Connection refused to proxy.corp.example:5030')))"),
     "proxy.unreachable", "proxy"),
    ("proxy-timeout", RE.ProxyError(
        POOL + "(Caused by ProxyError('Unable to connect to proxy', ConnectTimeoutError("
        f"{CONN}, 'Connection to proxy.corp.example timed out. (connect timeout=5)')))"),
     "proxy.timeout", "in time"),
    ("proxy-name", RE.ProxyError(
        POOL + "(Caused by ProxyError('Unable to connect to proxy', NameResolutionError("
        f"\"{CONN}: Failed to resolve 'proxy.corp.example' ([Errno -2] Name or service not "
        "known)\")))"), "proxy.dns", "resolve"),
    ("ssl-verify-untrusted", verify_failed("unable to get local issuer certificate"),
     "tls.untrusted", "verification failed"),
    # requests gives no verify code: expired and mismatched certificates read the same today
    ("ssl-verify-expired", verify_failed("certificate has expired"), "tls.untrusted",
     "verification failed"),
    ("ssl-verify-hostname", verify_failed("Hostname mismatch, certificate is not valid for "
                                          "'management.azure.com'."),
     "tls.untrusted", "verification failed"),
    ("ssl-other", RE.SSLError(POOL + "(Caused by SSLError(SSLError(1, '[SSL: "
                                     "WRONG_VERSION_NUMBER] wrong version number')))"),
     "tls.error", "TLS"),
    ("ssl-eof", RE.SSLError(POOL + "(Caused by SSLError(SSLEOFError(8, 'EOF occurred in "
                                   "violation of protocol (_ssl.c:1006)')))"),
     "tls.error", "TLS"),
    ("connect-timeout", RE.ConnectTimeout(
        POOL + f"(Caused by ConnectTimeoutError({CONN}, 'Connection to management.azure.com "
        "timed out. (connect timeout=5)'))"), "https.timeout", "in time"),
    ("read-timeout", RE.ReadTimeout("HTTPSConnectionPool(host='management.azure.com', "
                                    "port=443): Read timed out. (read timeout=5)"),
     "https.timeout", "in time"),
    ("plain-timeout", RE.Timeout("timed out"), "https.timeout", "in time"),
    ("connection-reset", RE.ConnectionError(
        "('Connection aborted.', ConnectionResetError(104, 'Connection reset by peer'))"),
     "https.reset", "reset"),
    ("remote-disconnected", RE.ConnectionError(
        "('Connection aborted.', RemoteDisconnected('Remote end closed connection without "
        "response'))"), "https.reset", "reset"),
    ("connection-aborted-wsa", RE.ConnectionError(
        "('Connection aborted.', ConnectionAbortedError(10053, 'An established connection "
        "was aborted by the software in your host machine', None, 10053, None))"),
     "https.reset", "reset"),
    ("connection-refused", RE.ConnectionError(
        POOL + f"(Caused by NewConnectionError('{CONN}: Failed to establish a new "
        "connection: [Errno 111] Connection refused'))"), "https.error", "connection failed"),
    ("name-resolution", RE.ConnectionError(
        POOL + "(Caused by NameResolutionError(\"<urllib3.connection.HTTPSConnection object "
        "at 0x7f00deadbeef>: Failed to resolve 'management.azure.com' ([Errno -2] Name or "
        "service not known)\"))"), "https.error", "connection failed"),
    ("fallthrough-invalid-url", RE.InvalidURL("Failed to parse: https://[bad"), "https.error",
     "InvalidURL"),
    ("fallthrough-too-many-redirects", RE.TooManyRedirects("Exceeded 30 redirects."),
     "https.error", "TooManyRedirects"),
    ("fallthrough-chunked-encoding", RE.ChunkedEncodingError("Connection broken"),
     "https.error", "ChunkedEncodingError"),
    ("fallthrough-request-exception", RE.RequestException("something else"), "https.error",
     "RequestException"),
    ("fallthrough-not-requests", ValueError("Invalid header value"), "https.error",
     "ValueError"),
]


@pytest.mark.parametrize(("exc", "code", "fact"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_classify(exc: BaseException, code: str, fact: str) -> None:
    got, text = https_probe._classify(exc)
    assert got == code
    assert text.strip()
    assert fact.lower() in text.lower()


# --------------------------------------------------------------------------------------------
# the probe with requests' session replaced

PLAN = ProxyPlan("http://proxy.corp.example:3128", "--proxy")
TCP_ID = "tcp:management.azure.com:443"


class FakeResponse:
    def __init__(self, status_code: int) -> None:
        self.status_code = status_code
        self.headers = {"Date": "Mon, 30 Nov 2026 10:00:00 GMT", "Server": "fake"}
        self.elapsed = dt.timedelta(milliseconds=42)

    def __enter__(self) -> FakeResponse:
        return self

    def __exit__(self, *args: Any) -> None:
        return None


class FakeSession:
    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.calls: List[Tuple[str, Dict[str, Any]]] = []
        self.closed = False

    def get(self, url: str, **kwargs: Any) -> Any:
        self.calls.append((url, kwargs))
        if isinstance(self.answer, BaseException):
            raise self.answer
        return self.answer

    def close(self) -> None:
        self.closed = True


def run_probe(monkeypatch: pytest.MonkeyPatch, answer: Any,
              plan: Optional[ProxyPlan] = None) -> Tuple[Any, FakeSession]:
    session = FakeSession(answer)
    monkeypatch.setattr(https_probe, "_session", lambda context, server_hostname: session)
    monkeypatch.setattr(https_probe, "verified_context", lambda ca_bundle: object())
    ctx = ProbeContext(timeout=2.0, settings=Settings(), deadline_at=time.monotonic() + 30)
    deps = {TCP_ID: result(TCP_ID, Status.PASS, facts={"address": "192.0.2.30"})}
    route = "proxy" if plan is not None else "direct"
    outcome = https_probe.probe("management.azure.com", 443, "https", "/", route, plan, ctx, deps)
    assert session.closed
    return outcome, session


@pytest.mark.parametrize(("exc", "code"), [(c[1], c[2]) for c in CASES
                                           if isinstance(c[1], RE.RequestException)],
                         ids=[c[0] for c in CASES if isinstance(c[1], RE.RequestException)])
def test_probe_maps_a_requests_exception(monkeypatch: pytest.MonkeyPatch, exc: BaseException,
                                         code: str) -> None:
    outcome, _ = run_probe(monkeypatch, exc, PLAN)
    assert outcome.status == Status.FAIL
    assert outcome.code == code
    assert outcome.summary == https_probe._classify(exc)[1]


@pytest.mark.parametrize("exc", [ValueError("Invalid header value b'x\\n'"),
                                 OSError(24, "Too many open files")],
                         ids=["value-error", "os-error"])
def test_probe_other_failures_are_https_error(monkeypatch: pytest.MonkeyPatch,
                                              exc: BaseException) -> None:
    outcome, _ = run_probe(monkeypatch, exc)
    assert outcome.status == Status.FAIL
    assert outcome.code == "https.error"
    assert "request failed" in outcome.summary and str(exc) in outcome.summary


@pytest.mark.parametrize(("status_code", "plan", "status", "code"), [
    (407, PLAN, Status.FAIL, "proxy.auth_required"),
    (407, None, Status.PASS, None),
    (200, PLAN, Status.PASS, None),
    (401, PLAN, Status.PASS, None),
    (403, None, Status.PASS, None),
    (404, None, Status.PASS, None),
    (502, PLAN, Status.PASS, None),
], ids=["407-via-proxy", "407-direct", "200", "401", "403-direct", "404", "502-via-proxy"])
def test_probe_judges_an_http_answer(monkeypatch: pytest.MonkeyPatch, status_code: int,
                                     plan: Optional[ProxyPlan], status: Status,
                                     code: Optional[str]) -> None:
    """Any answer proves the path, except a 407 on a proxied route (only a proxy says that)."""
    outcome, session = run_probe(monkeypatch, FakeResponse(status_code), plan)
    assert outcome.status == status
    assert outcome.code == code
    assert str(status_code) in outcome.summary
    assert outcome.facts["status_code"] == status_code
    url, kwargs = session.calls[0]
    if plan is None:
        assert url == "https://192.0.2.30:443/", "direct requests are pinned to the address"
        assert kwargs["proxies"] == {}
    else:
        assert url == "https://management.azure.com/"
        assert kwargs["proxies"]["https"] == plan.url


# --------------------------------------------------------------------------------------------
# every code is a known one

_CODE_LITERAL = re.compile(r"""["']((?:https|proxy|tls)\.[a-z_]+)["']""")


def test_every_code_is_a_known_failure_code() -> None:
    returned = {case[2] for case in CASES}
    assert returned <= set(FAILURE_CODES)
    in_source = set(_CODE_LITERAL.findall(inspect.getsource(https_probe)))
    assert in_source, "the scan found the module's codes"
    assert in_source <= set(FAILURE_CODES), in_source - set(FAILURE_CODES)
    assert in_source <= returned, f"codes without a case here: {in_source - returned}"
