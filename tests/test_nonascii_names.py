"""Names outside ASCII: an internationalised host name, a file, a Python or PowerShell name.

The knowledge base's patterns and the failure shapes are compiled with ``re.ASCII`` so that
the byte prefilter and the Python matcher fold case alike (tests/test_case_folding.py). That
also made ``\\w`` ASCII-only, so a pattern that reads a name with ``\\w``/``[\\w.-]`` stopped at
the first letter outside ASCII: ``lookup münchen.contoso.de: no such host`` was no longer
``dns_name_not_found`` but only the vaguer ``dns_error``, and ``name 'Größe' is not defined``
was no Python error at all. Where a pattern means a name, it now also takes any character
outside ASCII: ``(?:[\\w.-]|[^\\x00-\\x7f])``. That re-opens no case folding: a class of
characters is not a letter that one path folds and the other does not. Two other spellings were
tried and measured: a scoped ``(?u:\\w)`` does nothing under a pattern-wide ``re.ASCII``
(CPython keeps ``\\w`` ASCII-only inside it), and a range such as ``[\\w\\x80-\\U0010ffff]``
works but costs CPython's case-insensitive charset optimiser a walk over the whole range on every
compile (about 8 ms a pattern: 2 s of start-up over the knowledge base, in every worker of
``diagnose``). Both are tested below.

Tools print such names as given: curl reports the host it could not resolve in its own spelling
(``curl: (60) ... target host name 'ñ.lat'``, https://github.com/curl/curl/issues/12644; a
resolver's ``Unable to resolve host: köln.de``, https://github.com/jeroen/curl/issues/101), and
Python and PowerShell print identifiers and property names as written, which may be any letter
(a German CSV column such as ``Größe`` is a PowerShell property). Each line below is a real,
cited sample with its name swapped for a non-ASCII one; each is checked on both prefilter
paths (RE2 when installed, and the pure one of ``ARC_PREFLIGHT_PURE_PREFILTER=1``), and the
ASCII original is checked beside it so that a test cannot pass by both failing.
"""

from __future__ import annotations

import re
from typing import Iterator, List, Tuple

import pytest
from diagtext import cause_ids, diagnose

from arc_preflight import kb as kbmod
from arc_preflight.logs import linefinder
from arc_preflight.logs.lines import FAILURE_PATTERNS, FAILURE_RES, reports_failure

# (ASCII original, its non-ASCII copy, the cause both must give)
SAMPLES: List[Tuple[str, str, str]] = [
    # Go's resolver as the resource bridge troubleshooting guide quotes it
    # (https://learn.microsoft.com/azure/azure-arc/resource-bridge/troubleshoot-resource-bridge)
    ("dial tcp: lookup aszhcitest01.company.org: on 127.0.0.53:53: no such host",
     "dial tcp: lookup aszhcitest01.münchen.de: on 127.0.0.53:53: no such host",
     "dns_name_not_found"),
    # curl's exit 6 (https://github.com/curl/curl/issues/1441)
    ("curl: (6) Could not resolve host: packages.microsoft.com",
     "curl: (6) Could not resolve host: repo.münchen.de", "dns_name_not_found"),
    # curl's exit 7, refused (https://github.com/pivpn/pivpn/issues/60)
    ("curl: (7) Failed to connect to install.pivpn.io port 443: Connection refused",
     "curl: (7) Failed to connect to install.köln.de port 443: Connection refused",
     "endpoint_unreachable"),
    # Go's proxy dial when the proxy's own name does not resolve (the agent's error text, as
    # tests/test_kb_data.py quotes it): the proxy is the admin's host, named in any script
    ('Get "https://management.azure.com/": proxyconnect tcp: dial tcp: lookup '
     "proxy.contoso.local: no such host",
     'Get "https://management.azure.com/": proxyconnect tcp: dial tcp: lookup '
     "proxy.zürich.local: no such host", "proxy_host_unresolvable"),
    # curl's exit 5 (https://github.com/KnoAll/cacti-template/issues/41)
    ("curl: (5) Could not resolve proxy: proxy.contoso.com",
     "curl: (5) Could not resolve proxy: proxy.zürich.ch", "proxy_host_unresolvable"),
    # Python's NameError (https://github.com/gera/gitzilla/issues/1: "NameError: global name
    # 'command' is not defined")
    ("NameError: global name 'command' is not defined",
     "NameError: global name 'größe' is not defined", "client_tool_python_error"),
    # Python's AttributeError (https://github.com/Azure/azure-cli/issues/14525)
    ("AttributeError: module 'azext_interactive' has no attribute 'start_shell'",
     "AttributeError: module 'azext_interactive' has no attribute 'größe'",
     "client_tool_python_error"),
    # Python's TypeError on a call (https://github.com/paradiseduo/ApplicationScanner/issues/10)
    ("TypeError: __init__() missing 1 required positional argument: 'cmd'",
     "TypeError: maß() missing 1 required positional argument: 'cmd'",
     "client_tool_python_error"),
    # PowerShell's strict mode (the Set-StrictMode reference's example output,
    # https://learn.microsoft.com/powershell/module/microsoft.powershell.core/set-strictmode)
    ("Property 'Month' cannot be found on this object; make sure it exists.",
     "Property 'Größe' cannot be found on this object; make sure it exists.",
     "powershell_script_broken"),
]


@pytest.fixture(params=["default", "pure"])
def prefilter_path(request: pytest.FixtureRequest,
                   monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.delenv(linefinder.PURE_ENV, raising=False)
    if request.param == "pure":
        monkeypatch.setenv(linefinder.PURE_ENV, "1")
    yield str(request.param)


@pytest.mark.parametrize(("ascii_line", "line", "cause"), SAMPLES)
def test_a_name_outside_ascii_gives_the_same_cause(kb: kbmod.KnowledgeBase, prefilter_path: str,
                                                   ascii_line: str, line: str,
                                                   cause: str) -> None:
    assert cause in cause_ids(diagnose(ascii_line + "\n", kb)), ascii_line
    assert cause in cause_ids(diagnose(line + "\n", kb)), (prefilter_path, line)
    assert cause in {c.id for c in kb.match_text(line)}, line


@pytest.mark.parametrize("line", [
    # dash's unknown command (``sh: 1: az: not found``, the shape lines.py quotes) for a
    # script whose name is not ASCII
    "sh: 1: ./größe.sh: not found",
    "./installation-prüfen.sh: 3: curl: not found",
])
def test_a_shell_failure_about_a_non_ascii_path_is_a_failure(line: str) -> None:
    assert any(reports_failure(regex, line) for regex in FAILURE_RES), line


def test_a_scoped_unicode_flag_does_not_widen_w_under_re_ascii() -> None:
    """Why the patterns spell a name's class out instead of writing ``(?u:\\w)``: under a
    pattern-wide ``re.ASCII`` the scoped flag leaves ``\\w`` ASCII-only (measured on CPython
    3.11), so that spelling would have fixed nothing."""
    flags = kbmod.PATTERN_FLAGS
    assert re.compile(r"(?u:\w)", flags).search("ß") is None
    assert re.compile(r"(?:\w|[^\x00-\x7f])", flags).search("ß") is not None


# a class with a range that ends above U+00FF: ``\x80-\uffff``, ``\u0100-...``, ``\U...``
_WIDE_RANGE = re.compile(r"-\\(?:u(?!00)[0-9a-fA-F]{4}|U[0-9a-fA-F]{8})")


def test_no_pattern_spells_a_class_with_a_wide_range(kb: kbmod.KnowledgeBase) -> None:
    """Compile cost, not correctness: a range reaching past U+00FF makes CPython's
    case-insensitive charset optimiser walk every code point of it at each compile (measured
    at 8-18 ms a pattern, which made ``diagnose`` spend two more seconds of CPU per worker
    before reading a byte). A name's non-ASCII letters are read with ``[^\\x00-\\x7f]``."""
    patterns = [p for cause in kb.causes for p in cause.patterns] + list(FAILURE_PATTERNS)
    assert [p for p in patterns if _WIDE_RANGE.search(p)] == []
