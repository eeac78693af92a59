"""Remove secrets from any text before it is stored or shown, and make it safe to print.

Two layers: values the run knows are secret (the service-principal secret it was given) are
replaced wherever they appear, and shapes that are secret whatever their value (passwords in URLs,
``client_secret=`` and the other secret-bearing keys in every quoting and encoding people paste,
bearer tokens, JWTs, SAS signatures, storage and Service Bus keys) are replaced by pattern.
Renderers call :func:`redact` on every string, so a probe that echoes a URL cannot leak a proxy
password; the same call makes control characters visible (``\\x1b``), so nothing a server, a log
or a file name says can drive the terminal or break an XML document.

Every pattern here runs on untrusted text and stays linear in its length: a match can only start
at a literal (a key name, ``://``, ``eyJ``) or at the beginning of a run of its characters, and
every repetition that can fail and backtrack is bounded.
"""

from __future__ import annotations

import re
import threading
from typing import Any, Callable, List, Optional, Set, Tuple
from urllib.parse import urlsplit, urlunsplit

MASK = "[REDACTED]"

# Keys whose value is a secret, as they appear in forms, queries, JSON, YAML, INI files, command
# lines and connection strings (matched case-insensitively; '-', '_' or nothing between words).
SECRET_KEYS: Tuple[str, ...] = (
    "client_secret", "clientsecret", "client-secret", "client_assertion", "clientassertion",
    "password", "passwd", "pwd", "proxy_password", "proxy-password", "secret", "sig",
    "access_token", "accesstoken", "refresh_token", "refreshtoken", "id_token", "idtoken",
    "service_principal_secret", "service-principal-secret", "serviceprincipalsecret",
    "accountkey", "account_key", "sharedaccesskey", "shared_access_key", "sharedaccesssignature",
    "api_key", "apikey", "api-key", "primarykey", "secondarykey", "storage_key",
)
_KEY_ALTS = "|".join(sorted(
    {"[-_]?".join(re.escape(part) for part in k.replace("-", "_").split("_"))
     for k in SECRET_KEYS}, key=len, reverse=True))
# key, its closing quote (plain, backslash-escaped as inside a JSON string, or URL-encoded), the
# separator (=, :, or their URL encodings) and the value's opening quote. Every part is bounded.
_KEY_RE = re.compile(
    r"(?=[" + "".join(sorted({k[0] + k[0].upper() for k in SECRET_KEYS})) + r"])"
    r"(?:(?<![A-Za-z0-9_])|(?<=%[0-9A-Fa-f]{2}))(?:" + _KEY_ALTS + r")"
    r"(?:\\{0,3}[\"']|%22|%27)?[ \t]{0,16}(?:=|:|%3[dDaA])[ \t]{0,16}"
    r"(?P<quote>\\{0,3}\"|\\{0,3}'|%22|%27)?",
    re.IGNORECASE,
)
_UNQUOTED_END = re.compile(r"[\s\"'&,;}<>]")
_QUOTED_MAX = 1024  # a quoted secret longer than this is cut at the first separator instead

# A value in double or single quotes on one line, as a command line or script writes a secret.
_QUOTED = r"\"[^\"\n]{0,1024}\"|'[^'\n]{0,1024}'"

_SHAPES: List[re.Pattern[str]] = [
    # --service-principal-secret VALUE on a command line
    re.compile(r"(?P<keep>--service-principal-secret(?:=| {1,8}))(?:" + _QUOTED + r"|\S+)"),
    # the short and other long secret flags of the two commands that take one on their command
    # line: ``azcmagent connect -p VALUE`` (-p is --service-principal-secret there, per the
    # azcmagent connect reference) and ``az login -u ID -p VALUE`` / ``--password VALUE``, as a
    # Terraform local-exec error or a CalledProcessError quotes the whole command. Elsewhere
    # ``-p`` is a port or a path, so the command must come first on the same line.
    re.compile(r"(?P<keep>(?<![A-Za-z0-9_-])(?:azcmagent(?:\.exe)?[ \t]{1,8}connect|az(?:\.cmd)?"
               r"[ \t]{1,8}login)\b[^\n]{0,400}?[ \t](?:-p|--password|--secret|--client-secret)"
               r"(?:=|[ \t]{1,8}))(?:" + _QUOTED + r"|[^\s\"']+)"),
    re.compile(r"(?P<keep>(?<![A-Za-z0-9_])(?:Bearer|Basic)(?:[ \t]{1,8}|%20))"
               r"[A-Za-z0-9._~+/=-]{8,}", re.IGNORECASE),
    # JSON Web Tokens: three base64url parts, the first always starting with eyJ. The start must
    # be the start of a run, so a run of 'eyJ-eyJ-...' is scanned once, not once per 'eyJ'.
    re.compile(r"(?P<keep>)(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}"
               r"\.[A-Za-z0-9_-]*"),
    # Entra ID client secrets as the portal creates them: 3 characters, a digit, 'Q~', 30-40 more
    re.compile(r"(?P<keep>)(?<![A-Za-z0-9_~.-])[A-Za-z0-9_~.-]{3}[0-9]Q~[A-Za-z0-9_~.-]{30,40}"),
    # A variable set to a secret in a pasted script, whatever its prefix: PowerShell's
    # ``$env:ARC_PROXY_PASS = '...'`` or ``$spSecret = "..."``, a shell's ``export
    # PROXY_PASSWORD=...``. Only with '=': after ':' the same words start a log message
    # ("failed to get token: AADSTS...") whose text the diagnosis must keep.
    re.compile(r"(?P<keep>(?<![A-Za-z0-9_])(?:\$env:|\$)?[A-Za-z_][A-Za-z0-9_]{0,60}?"
               r"(?:pass|password|passwd|pwd|secret|token)[ \t]{0,8}=[ \t]{0,8})"
               r"(?!\[REDACTED\])(?:" + _QUOTED + r"|[^\s\"';&]+)",
               re.IGNORECASE),
    # PowerShell's way to turn a plain string into a credential, the string being the secret:
    # ``ConvertTo-SecureString -String "..." -AsPlainText -Force`` (the parameter name optional)
    re.compile(r"(?P<keep>ConvertTo-SecureString(?:[ \t]{1,8}-String)?[ \t]{1,8})"
               r"(?:" + _QUOTED + r"|(?![-$(])[^\s]+)", re.IGNORECASE),
]

_URL_USERINFO = re.compile(r"[^/\s:@]{0,256}:(?P<password>[^@\s]{1,1024})@")
_URL_STOP = re.compile(r"[\s@]")
_SCHEME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-")

# Control characters (C0 but tab and newline, DEL, C1), the bidirectional overrides that make
# text display in another order than it reads, and code points XML 1.0 cannot hold at all.
_INVISIBLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069"
                        "\ud800-\udfff\ufffe\uffff]")

_VISIBLE_RANGES = ((0x00, 0x08), (0x0B, 0x1F), (0x7F, 0x9F), (0x200E, 0x200F), (0x202A, 0x202E),
                   (0x2066, 0x2069), (0xD800, 0xDFFF), (0xFFFE, 0xFFFF))  # as _INVISIBLE
_VISIBLE_TABLE = {code: (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
                  for low, high in _VISIBLE_RANGES for code in range(low, high + 1)}

_known_lock = threading.Lock()
_known: Set[str] = set()


def register_secret(value: str) -> None:
    """Remember a value that must never be shown, for the rest of the process."""
    if value and len(value) >= 4:
        with _known_lock:
            _known.add(value)


def visible(text: str) -> str:
    """``text`` with every control character shown as an escape (``\\x1b``, ``\\u202e``):
    printable on any terminal, and legal in XML 1.0. Tab and newline are kept."""
    if not text or not _INVISIBLE.search(text):
        return text
    return text.translate(_VISIBLE_TABLE)


def _mask_urls(text: str) -> str:
    """Hide the password of every ``scheme://user:password@host`` in ``text``."""
    at = text.find("://")
    if at < 0:
        return text
    out: List[str] = []
    done = 0
    while at >= 0:
        if at > 0 and text[at - 1] in _SCHEME_CHARS and at >= done:
            match = _URL_USERINFO.match(text, at + 3)
            if match:
                start, end = match.span("password")
                out.append(text[done:start])
                out.append(MASK)
                done = end
            else:
                # No password here; and none for any '://' before the next blank or '@' that
                # is not followed by one in reach, so skip them all instead of trying each.
                stop = _URL_STOP.search(text, at + 3)
                if stop is None:
                    break
                if text[stop.start()] != "@" or stop.start() - at > 1300:
                    at = text.find("://", stop.start())
                    continue
        at = text.find("://", max(at + 3, done))
    out.append(text[done:])
    return "".join(out)


def _value_end(text: str, start: int, quote: Optional[str]) -> int:
    """Where a secret value that starts at ``start`` ends."""
    if quote:
        closing = quote.lstrip("\\")
        if closing in ("%22", "%27"):
            found = text.find(closing, start, start + _QUOTED_MAX)
            amp = text.find("&", start, found if found >= 0 else start + _QUOTED_MAX)
            found = amp if amp >= 0 else found
        else:
            found = text.find(closing, start, start + _QUOTED_MAX)
            newline = text.find("\n", start, found if found >= 0 else start)
            if newline >= 0:
                found = -1
            while found > start and text[found - 1] == "\\":
                found -= 1  # the closing quote of an escaped string: \" or \\\"
        if found > start:
            return found
    end = _UNQUOTED_END.search(text, start)
    return end.start() if end else len(text)


def _mask_keys(text: str) -> str:
    """Hide the value of every secret-bearing key, however it is quoted or encoded."""
    out: List[str] = []
    done = 0
    for match in _KEY_RE.finditer(text):
        if match.start() < done:
            continue
        start = match.end()
        end = _value_end(text, start, match.group("quote"))
        if end <= start:
            continue
        out.append(text[done:start])
        out.append(MASK)
        done = end
    if not out:
        return text
    out.append(text[done:])
    return "".join(out)


def _mask_shapes(text: str) -> str:
    for pattern in _SHAPES:
        text = pattern.sub(lambda m: m.group("keep") + MASK, text)
    return text


_STEPS: Tuple[Callable[[str], str], ...] = (_mask_urls, _mask_keys, _mask_shapes)


def _secrets(text: str) -> str:
    """``text`` with every known secret and secret-shaped token replaced (no other change)."""
    if not text:
        return text
    with _known_lock:
        known = sorted(_known, key=len, reverse=True)
    for value in known:
        if value in text:
            text = text.replace(value, MASK)
    for step in _STEPS:
        text = step(text)
    return text


def redact(text: str) -> str:
    """``text`` with every known secret and secret-shaped token replaced by ``[REDACTED]``, and
    control characters made visible; safe to show in any format."""
    if not text:
        return text
    return visible(_secrets(text))


def userinfo_password(url: str) -> str:
    """The password part of ``scheme://user:password@host`` as typed, even when it holds
    characters that make the URL unparsable; '' when there is none."""
    # Greedy up to the last '@': a password may itself hold '@' (urlsplit splits there too).
    # Anchored at the start, so one pass over the URL at most.
    match = re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]{0,64}://[^/\s:@]{0,1024}:(\S+)@", url.strip())
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
        return redact(urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment)))
    except ValueError:
        return redact(url)


def redact_obj(value: Any) -> Any:
    """Apply :func:`redact` to every string inside nested dicts, lists and tuples (keys too)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {(redact(key) if isinstance(key, str) else key): redact_obj(item)
                for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_obj(item) for item in value]
    return value


def bounded(text: Any, limit: int = 512) -> str:
    """Server-provided text cut to ``limit`` characters (marked) before anything processes it."""
    shown = text if isinstance(text, str) else str(text)
    return shown if len(shown) <= limit else shown[:limit] + f"...[{len(shown) - limit} more]"


EXCERPT = 200  # characters of a log line shown as evidence
_CONTROL_RE = re.compile(r"\x1b\[[0-9;]{0,16}[A-Za-z]|[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f"
                         "\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]")


def clean(text: str) -> str:
    """``text`` without ANSI colour codes or control characters, safe to print on a terminal."""
    return _CONTROL_RE.sub(lambda m: "" if m.group().startswith("\x1b") else "?", text)


def excerpt(text: str, start: int = 0, end: int = 0, width: int = EXCERPT) -> str:
    """A redacted, printable piece of ``text`` of at most ``width`` characters around a match.

    The whole line is redacted before it is cut, so a secret can never be half-shown. The
    match is kept whole if it fits, else its end (where Go puts the innermost error).
    """
    red = _secrets(text)
    lo, hi = 0, 0
    if end > start:
        piece = _secrets(text[start:end])
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
