"""The HTTPS probe's translation table: how a request failed (``webcall.CallError``: what went
wrong, at which stage, direct or through a proxy) -> https.*, proxy.* and tls.* codes, and the
proxy's 407 told apart from the endpoint's own answer.

The cases are those this table held when the probe was built on requests, each restated as the
failure it stood for (requests' ``ProxyError('Tunnel connection failed: 407 ...')`` is the proxy
answering CONNECT with 407), with the same code and message. Which real exception is which kind
is tested in ``test_webcall.py``; the real failures themselves, against real servers, in
``tests/lab/test_http_outcomes.py``. The probe runs with ``call`` replaced, so nothing is sent.
"""

from __future__ import annotations

import inspect
import re
import time
from typing import Any, Dict, List, Optional, Tuple

import pytest
from factories import result

from arc_preflight.config import Settings
from arc_preflight.model import FAILURE_CODES, ProbeContext, Status
from arc_preflight.probes import https as https_probe
from arc_preflight.probes.proxyplan import ProxyPlan
from arc_preflight.probes.webcall import CallError


def failed(kind: str, stage: str, detail: str = "", status: int = 0) -> CallError:
    return CallError(kind, stage, detail or kind, status)


DIRECT, PROXIED = False, True

# (id, failure, through a proxy?, code, a fact the text must mention)
CASES: List[Tuple[str, CallError, bool, str, str]] = [
    ("header-line-too-long", failed("bad_header", "answer"), DIRECT, "https.bad_answer",
     "malformed HTTP header"),
    ("too-many-headers-through-the-tunnel", failed("bad_header", "answer"), PROXIED,
     "https.bad_answer", "malformed HTTP header"),
    ("proxy-407", failed("proxy_status", "tunnel", "HTTP/1.1 407 Proxy Authentication Required",
                         407), PROXIED, "proxy.auth_required", "407"),
    ("proxy-403", failed("proxy_status", "tunnel", "HTTP/1.1 403 Forbidden", 403), PROXIED,
     "proxy.denied", "403"),
    ("proxy-502", failed("proxy_status", "tunnel", "HTTP/1.1 502 Bad Gateway", 502), PROXIED,
     "proxy.upstream_failed", "could not reach"),
    ("proxy-503", failed("proxy_status", "tunnel", "HTTP/1.1 503 Service Unavailable", 503),
     PROXIED, "proxy.upstream_failed", "could not reach"),
    ("proxy-504", failed("proxy_status", "tunnel", "HTTP/1.1 504 Gateway Timeout", 504), PROXIED,
     "proxy.upstream_failed", "could not reach"),
    ("proxy-other-status", failed("proxy_status", "tunnel", "HTTP/1.1 400 Bad Request", 400),
     PROXIED, "proxy.denied", "400"),
    ("proxy-refused", failed("refused", "proxy", "connection refused"), PROXIED,
     "proxy.unreachable", "proxy"),
    # a status-looking number in the text is not the proxy's answer
    ("proxy-refused-port-5030", failed("refused", "proxy",
                                       "connection refused to proxy.corp.example:5030"),
     PROXIED, "proxy.unreachable", "proxy"),
    ("proxy-tls-untrusted", failed("tls_verify", "proxy"), PROXIED, "proxy.unreachable",
     "proxy"),
    ("proxy-timeout", failed("timeout", "proxy"), PROXIED, "proxy.timeout", "in time"),
    ("proxy-name", failed("dns", "proxy"), PROXIED, "proxy.dns", "resolve"),
    ("tunnel-no-answer-in-time", failed("timeout", "tunnel"), PROXIED, "https.timeout",
     "in time"),
    ("tunnel-closed-without-answer", failed("closed", "tunnel"), PROXIED, "https.reset",
     "reset"),
    ("tunnel-not-http", failed("bad_answer", "tunnel"), PROXIED, "https.reset", "reset"),
    ("ssl-verify-untrusted", failed("tls_verify", "tls"), DIRECT, "tls.untrusted",
     "verification failed"),
    ("ssl-verify-untrusted-through-the-tunnel", failed("tls_verify", "tls"), PROXIED,
     "tls.untrusted", "verification failed"),
    # through a tunnel the chain check names a wrong name; a pinned direct request checked the
    # name apart from the chain and called it a TLS error
    ("ssl-verify-hostname-through-the-tunnel", failed("tls_hostname", "tls"), PROXIED,
     "tls.untrusted", "verification failed"),
    ("ssl-verify-hostname-direct", failed("tls_hostname", "tls"), DIRECT, "tls.error", "TLS"),
    ("ssl-other", failed("tls", "tls", "WRONG_VERSION_NUMBER"), DIRECT, "tls.error", "TLS"),
    ("ssl-eof", failed("tls", "tls", "EOF occurred in violation of protocol"), DIRECT,
     "tls.error", "TLS"),
    ("ssl-error-in-the-answer", failed("tls", "answer"), DIRECT, "tls.error", "TLS"),
    ("reset-during-handshake", failed("reset", "tls"), DIRECT, "https.reset", "reset"),
    ("connect-timeout", failed("timeout", "connect"), DIRECT, "https.timeout", "in time"),
    ("handshake-timeout", failed("timeout", "tls"), DIRECT, "https.timeout", "in time"),
    ("read-timeout", failed("timeout", "answer"), DIRECT, "https.timeout", "in time"),
    ("read-timeout-through-the-tunnel", failed("timeout", "answer"), PROXIED, "https.timeout",
     "in time"),
    ("connection-reset", failed("reset", "answer"), DIRECT, "https.reset", "reset"),
    ("remote-disconnected", failed("closed", "answer"), DIRECT, "https.reset", "reset"),
    ("not-http", failed("bad_answer", "answer"), DIRECT, "https.reset", "reset"),
    ("other-error-in-the-answer", failed("error", "answer"), DIRECT, "https.reset", "reset"),
    # through a proxy, the connection ending before an answer cannot be told from the proxy's
    # own failure
    ("remote-disconnected-through-the-proxy", failed("closed", "answer"), PROXIED,
     "proxy.unreachable", "proxy"),
    ("connection-reset-through-the-proxy", failed("reset", "answer"), PROXIED,
     "proxy.unreachable", "proxy"),
    ("connect-reset", failed("reset", "connect"), DIRECT, "https.reset", "reset"),
    ("connection-refused", failed("refused", "connect"), DIRECT, "https.error",
     "connection failed"),
    ("no-route", failed("unreachable", "connect"), DIRECT, "https.error", "connection failed"),
    ("name-resolution", failed("dns", "connect"), DIRECT, "https.error", "connection failed"),
]


@pytest.mark.parametrize(("exc", "proxied", "code", "fact"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_classify(exc: CallError, proxied: bool, code: str, fact: str) -> None:
    got, text = https_probe._classify(exc, proxied)
    assert got == code
    assert text.strip()
    assert fact.lower() in text.lower()


# --------------------------------------------------------------------------------------------
# the probe with webcall.call replaced

PLAN = ProxyPlan("http://proxy.corp.example:3128", "--proxy")
TCP_ID = "tcp:management.azure.com:443"


class FakeAnswer:
    def __init__(self, status: int) -> None:
        self.status = status
        self.headers = {"Date": "Mon, 30 Nov 2026 10:00:00 GMT", "Server": "fake"}
        self.elapsed = 0.042
        self.closed = False

    def __enter__(self) -> FakeAnswer:
        return self

    def __exit__(self, *args: Any) -> None:
        self.closed = True


class FakeCall:
    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.calls: List[Tuple[str, str, Dict[str, Any]]] = []

    def __call__(self, method: str, url: str, **kwargs: Any) -> Any:
        self.calls.append((method, url, kwargs))
        if isinstance(self.answer, BaseException):
            raise self.answer
        return self.answer


def run_probe(monkeypatch: pytest.MonkeyPatch, answer: Any,
              plan: Optional[ProxyPlan] = None) -> Tuple[Any, FakeCall]:
    fake = FakeCall(answer)
    monkeypatch.setattr(https_probe, "call", fake)
    monkeypatch.setattr(https_probe, "verified_context", lambda ca_bundle: object())
    ctx = ProbeContext(timeout=2.0, settings=Settings(), deadline_at=time.monotonic() + 30)
    deps = {TCP_ID: result(TCP_ID, Status.PASS, facts={"address": "192.0.2.30"})}
    route = "proxy" if plan is not None else "direct"
    outcome = https_probe.probe("management.azure.com", 443, "https", "/", route, plan, ctx, deps)
    if isinstance(answer, FakeAnswer):
        assert answer.closed
    return outcome, fake


@pytest.mark.parametrize(("exc", "proxied", "code"), [(c[1], c[2], c[3]) for c in CASES],
                         ids=[c[0] for c in CASES])
def test_probe_maps_a_failed_request(monkeypatch: pytest.MonkeyPatch, exc: CallError,
                                     proxied: bool, code: str) -> None:
    outcome, _ = run_probe(monkeypatch, exc, PLAN if proxied else None)
    assert outcome.status == Status.FAIL
    assert outcome.code == code
    assert outcome.summary == https_probe._classify(exc, proxied)[1]


@pytest.mark.parametrize("exc", [ValueError("a control character in the request's header"),
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
    outcome, fake = run_probe(monkeypatch, FakeAnswer(status_code), plan)
    assert outcome.status == status
    assert outcome.code == code
    assert str(status_code) in outcome.summary
    assert outcome.facts["status_code"] == status_code
    assert outcome.facts["elapsed_ms"] == 42
    method, url, kwargs = fake.calls[0]
    assert method == "GET"
    assert kwargs["headers"]["Host"] == "management.azure.com"
    if plan is None:
        assert url == "https://management.azure.com:443/"
        assert kwargs["address"] == "192.0.2.30", "direct requests are pinned to the address"
        assert kwargs["proxy"] is None
    else:
        assert url == "https://management.azure.com/"
        assert kwargs["proxy"] == plan.url
        assert kwargs["address"] is None


# --------------------------------------------------------------------------------------------
# every code is a known one

_CODE_LITERAL = re.compile(r"""["']((?:https|proxy|tls)\.[a-z_]+)["']""")


def test_every_code_is_a_known_failure_code() -> None:
    returned = {case[3] for case in CASES}
    assert returned <= set(FAILURE_CODES)
    in_source = set(_CODE_LITERAL.findall(inspect.getsource(https_probe)))
    assert in_source, "the scan found the module's codes"
    assert in_source <= set(FAILURE_CODES), in_source - set(FAILURE_CODES)
    assert in_source <= returned, f"codes without a case here: {in_source - returned}"
