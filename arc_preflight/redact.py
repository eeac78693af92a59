"""Remove secrets from any text before it is stored or shown.

Two layers: values the run knows are secret (the service-principal secret it was given) are
replaced wherever they appear, and shapes that are secret whatever their value (passwords in URLs,
``client_secret=``, bearer tokens, JWTs, SAS signatures) are replaced by pattern. Renderers call
:func:`redact` on every string, so a probe that echoes a URL cannot leak a proxy password.
"""

from __future__ import annotations

import re
import threading
from typing import Any, List, Set
from urllib.parse import urlsplit, urlunsplit

MASK = "[REDACTED]"

_PATTERNS: List[re.Pattern[str]] = [
    # scheme://user:password@host -> keep the user, hide the password. The password may hold
    # '/', '?' or '#' (unencoded, as admins type them), so it runs to the '@', not to a '/'.
    re.compile(r"(?P<keep>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]*:)[^@\s]+(?=@)"),
    # client_secret=..., password=..., client_assertion=..., sig=... in queries, forms and logs
    re.compile(
        r"(?P<keep>\b(?:client_secret|clientsecret|password|passwd|pwd|client_assertion|sig|"
        r"secret|access_token|refresh_token|id_token|service[-_]principal[-_]secret)"
        r"\"?\s*[=:]\s*\"?)[^\s\"'&,;}]+",
        re.IGNORECASE,
    ),
    # --service-principal-secret VALUE on a command line
    re.compile(r"(?P<keep>--service-principal-secret[= ]+)(?:\"[^\"]*\"|'[^']*'|\S+)"),
    re.compile(r"(?P<keep>\b(?:Bearer|Basic)\s+)[A-Za-z0-9._~+/=-]{8,}", re.IGNORECASE),
    # JSON Web Tokens: three base64url parts, the first always starting with eyJ
    re.compile(r"(?P<keep>)\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{0,}"),
]

_known_lock = threading.Lock()
_known: Set[str] = set()


def register_secret(value: str) -> None:
    """Remember a value that must never be shown, for the rest of the process."""
    if value and len(value) >= 4:
        with _known_lock:
            _known.add(value)


def redact(text: str) -> str:
    """``text`` with every known secret and secret-shaped token replaced by ``[REDACTED]``."""
    if not text:
        return text
    with _known_lock:
        known = sorted(_known, key=len, reverse=True)
    for value in known:
        if value in text:
            text = text.replace(value, MASK)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group("keep") + MASK, text)
    return text


def userinfo_password(url: str) -> str:
    """The password part of ``scheme://user:password@host`` as typed, even when it holds
    characters that make the URL unparsable; '' when there is none."""
    # Greedy up to the last '@': a password may itself hold '@' (urlsplit splits there too).
    match = re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]*:(\S+)@", url.strip())
    return match.group(1) if match else ""


def redact_url(url: str) -> str:
    """A URL with any password removed; used for proxy URLs shown in settings and messages."""
    typed = userinfo_password(url)
    try:
        parts = urlsplit(url)
        if parts.password is None or (typed and parts.password != typed):
            # Unparsable as typed ('/', '?' or '#' in the password): mask by shape instead.
            if typed:
                register_secret(typed)
            return redact(url)
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"  # IPv6 literals need their brackets back
        if parts.port:
            host = f"{host}:{parts.port}"
        netloc = f"{parts.username}:{MASK}@{host}" if parts.username else host
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    except ValueError:
        return redact(url)


def redact_obj(value: Any) -> Any:
    """Apply :func:`redact` to every string inside nested dicts, lists and tuples."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: redact_obj(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_obj(item) for item in value]
    return value


EXCERPT = 200  # characters of a log line shown as evidence
_CONTROL_RE = re.compile(r"\x1b\[[0-9;]{0,16}[A-Za-z]|[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean(text: str) -> str:
    """``text`` without ANSI colour codes or control characters, safe to print on a terminal."""
    return _CONTROL_RE.sub(lambda m: "" if m.group().startswith("\x1b") else "?", text)


def excerpt(text: str, start: int = 0, end: int = 0, width: int = EXCERPT) -> str:
    """A redacted, printable piece of ``text`` of at most ``width`` characters around a match.

    The whole line is redacted before it is cut, so a secret can never be half-shown. The
    match is kept whole if it fits, else its end (where Go puts the innermost error).
    """
    red = redact(text)
    lo, hi = 0, 0
    if end > start:
        piece = redact(text[start:end])
        found = red.find(piece) if piece else -1
        if found >= 0:
            lo, hi = found, found + len(piece)
    red = clean(red)
    if len(red) <= width:
        return red.strip()
    room = width - 6
    # Centre the match if it fits, else show its end.
    begin = lo - (room - (hi - lo)) // 2 if hi - lo <= room else hi - room
    begin = max(0, min(begin, len(red) - room))
    cut = red[begin:begin + room]
    return ("..." if begin else "") + cut + ("..." if begin + len(cut) < len(red) else "")
