"""Hostile text (issue 13, items 1, 3 and 7): every pattern that runs on untrusted text stays
linear, control characters are always made visible, and secrets are hidden in every shape
people paste them in."""

from __future__ import annotations

import json
import re
import time
from typing import Callable, List, Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arc_preflight import redact
from arc_preflight.logs import levels, lines

# Fragments of every pattern's literals and classes: repeated, they make the strings on which a
# backtracking pattern goes quadratic ('a-a-a-...' for a scheme, '://' for a URL, 'eyJ' for a
# JWT, a key with an opening quote and no closing one, escaped quotes, colour codes).
FRAGMENTS = [
    "a-", "a://", "a://b:", "://", "://.", "@a://", ":a", "@", "eyJ", "eyJa-", "eyJaaaaa.",
    "password=", "password='", 'password="', '\\"', "%3D", "%22", "client_secret%3D", "Bearer ",
    "Basic  ", "level=", 'msg="', 'err="', "\\", "AZCM0", 'time="2024-01-01T00:00:00', "1234Q~",
    "a", " ", "-", ".", "=", "\x1b[", "https://", "x:", "client_secret", "AccountKey=",
    "--service-principal-secret ", "azcmagent connect", "onboarding machine", "0.", "[0]",
    "ERRO[", 'level=\\"', '"level": "', "sig=", "%", "secret secret ", "a.b", "\x00", "\u202e",
]
SIZE = 64 * 1024
CALL_LIMIT_S = 1.0  # linear patterns take milliseconds here; a quadratic one takes minutes


def _line_patterns() -> List[Tuple[str, Callable[[str], object]]]:
    found = []
    for module in (lines, levels):
        short = module.__name__.rsplit(".", 1)[-1]
        for name in sorted(dir(module)):
            value = getattr(module, name)
            if isinstance(value, re.Pattern):
                found.append((f"{short}.{name}", value.search))
    return found


FUNCTIONS: List[Tuple[str, Callable[[str], object]]] = [
    ("redact", redact.redact),
    ("excerpt", lambda text: redact.excerpt(text, 10, 200)),
    ("userinfo_password", redact.userinfo_password),
    ("redact_url", redact.redact_url),
    ("parse_level", levels.parse_level),
    *[(f"shape{i}", pattern.search) for i, pattern in enumerate(redact._SHAPES)],
    ("key", redact._KEY_RE.search),
    *_line_patterns(),
]


def _timed(function: Callable[[str], object], text: str) -> float:
    """CPU seconds of this process, not wall time: a busy machine (other jobs sharing the CPUs)
    stretches wall time and made these scaling checks fail by chance; backtracking costs CPU."""
    started = time.process_time()
    function(text)
    return time.process_time() - started


def _repeat(fragment: str, size: int = SIZE) -> str:
    return (fragment * (size // len(fragment) + 1))[:size]


@pytest.mark.parametrize("name,function", FUNCTIONS, ids=[n for n, _ in FUNCTIONS])
def test_every_pattern_is_fast_on_repeated_fragments(name: str,
                                                     function: Callable[[str], object]) -> None:
    slow = []
    for first in FRAGMENTS:
        for text in (_repeat(first), _repeat("a" + first + "b:")):
            spent = _timed(function, text)
            if spent > CALL_LIMIT_S:
                slow.append((first, round(spent, 2)))
    assert not slow, f"{name} is slow on {slow}"


@pytest.mark.parametrize("name,function", FUNCTIONS, ids=[n for n, _ in FUNCTIONS])
def test_every_pattern_scales_linearly(name: str, function: Callable[[str], object]) -> None:
    """Eight times the text costs about eight times as much, never sixty-four."""
    for fragment in ("a-", "://.", "@a://", "eyJa-", "password='", '\\"', "a://b:", "\x1b["):
        small = min(_timed(function, _repeat(fragment, 16 * 1024)) for _ in range(3))
        large = min(_timed(function, _repeat(fragment, 128 * 1024)) for _ in range(2))
        assert large < max(small * 32, 0.1), (name, fragment, small, large)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=6),
       st.integers(min_value=1, max_value=3))
def test_fuzzed_repeats_of_fragment_mixes(parts: List[str], stretch: int) -> None:
    text = _repeat("".join(parts), 64 * 1024 * stretch)
    for name, function in FUNCTIONS:
        assert _timed(function, text) < CALL_LIMIT_S * stretch, name


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=2000))
def test_redact_output_never_holds_a_control_character(text: str) -> None:
    shown = redact.redact(text)
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"
                         "\ud800-\udfff\ufffe\uffff]", shown)
    assert redact.redact(shown) == shown  # idempotent: a renderer may call it twice


def test_control_characters_are_made_visible_not_dropped() -> None:
    shown = redact.redact("title\x1b]0;pwned\x07 clear\x1b[2J nul\x00 cr\r rtl\u202e end")
    assert shown == ("title\\x1b]0;pwned\\x07 clear\\x1b[2J nul\\x00 cr\\x0d rtl\\u202e end")
    assert redact.redact("tab\tand\nnewline") == "tab\tand\nnewline"


# --- secrets in the shapes people paste (item 7) -------------------------------------------

KEYS = ["client_secret", "clientSecret", "CLIENT-SECRET", "password", "Password", "passwd",
        "pwd", "secret", "sig", "access_token", "refresh_token", "id_token",
        "client_assertion", "AccountKey", "SharedAccessKey", "sharedaccesskey",
        "service_principal_secret", "ApiKey", "api_key", "proxy_password"]
VALUE = "Zq7+W/x=Cq9vTopS3cr3t"
SPACED = "Zq7 W9x S3cr3tPart"

SHAPES = [
    "{k}={v}", "{k}: {v}", "{k} = {v}", "{k}={v}&next=1", "?a=1&{k}={v}&b=2",
    '"{k}": "{v}"', '{{"{k}":"{v}"}}', '{{\\"{k}\\": \\"{v}\\"}}', '{{\\"{k}\\":\\"{v}\\"}}',
    "'{k}': '{v}'", "{k} = '{v}'", "{k}='{v}'", '{k} = "{v}"', '{k}="{v}"', "{k}:'{v}'",
    "{k}%3D{v}", "{k}%3d{v}%26next%3D1", "%22{k}%22%3A%22{v}%22", "{k}%3A{v}",
    "Endpoint=sb://ns.servicebus.windows.net/;{k}={v};EntityPath=q",
    "DefaultEndpointsProtocol=https;AccountName=acct;{k}={v};EndpointSuffix=core.windows.net",
    "msg=\"request failed {k}={v} retry\"", "level=error {k}: {v}",
    "<setting name='{k}' value='x'/> {k}={v}",
]
QUOTED = [s for s in SHAPES if "'{v}'" in s or '"{v}"' in s or '\\"{v}\\"' in s]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("key", KEYS)
def test_every_secret_key_in_every_shape(key: str, shape: str) -> None:
    text = "before " + shape.format(k=key, v=VALUE) + " after"
    for shown in (redact.redact(text), redact.excerpt(text)):
        assert "S3cr3t" not in shown, shown
        assert redact.MASK in shown
        assert "before" in shown  # only the value goes


@pytest.mark.parametrize("shape", QUOTED)
def test_a_quoted_secret_with_blanks_is_hidden_whole(shape: str) -> None:
    shown = redact.redact(shape.format(k="client_secret", v=SPACED))
    assert "W9x" not in shown and "S3cr3tPart" not in shown, shown


def test_json_with_escaped_quotes_inside_a_log_message() -> None:
    inner = json.dumps({"client_id": "abc", "client_secret": VALUE})
    line = "time=\"2024\" level=error msg=" + json.dumps(f"token request {inner} failed")
    shown = redact.redact(line)
    assert "S3cr3t" not in shown and "client_id" in shown, shown


def test_entra_secret_shape_without_a_key() -> None:
    secret = "AbC8Q~" + "x1Y2z3W4v5U6t7S8r9Q0p1O2n3M4l5K6j7"
    assert secret not in redact.redact(f"sign-in with {secret} failed")


def test_url_password_in_any_scheme_and_text() -> None:
    assert redact.redact("via http://user:Pa55word@proxy:3128 now") == \
        "via http://user:[REDACTED]@proxy:3128 now"
    assert redact.redact("a-b+c.d://u:p4ssw0rd@h") == "a-b+c.d://u:[REDACTED]@h"
