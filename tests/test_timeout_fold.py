"""A timeout of the whole request is no failed TCP connect (issue 9, review of the same-line fold).

``diagnose`` keeps a refused or unanswered TCP connect beside a cause that is only said after a
connection exists (a proxy's 407, a rejected certificate): the later failure cannot be why the
connect failed (tests/test_same_line_fold.py). Two timeout wordings were counted as such
connects, although they are the time limit of a whole request:

- .NET's ``The operation has timed out`` is WebExceptionStatus.Timeout, which HttpWebRequest
  throws while it waits for the server's answer ("The request was aborted: The operation has
  timed out.", https://support.microsoft.com/kb/2007873);
- curl's ``Operation timed out after N milliseconds`` is its limit for the whole transfer, and
  comes with most of a body received ("curl: (28) Operation timed out after 180001 milliseconds
  with 64267525 out of 306095064 bytes received",
  https://github.com/extremeshok/clamav-unofficial-sigs/issues/206). curl's own connect-phase
  text is another one: "Connection timed out after 3248 milliseconds"
  (https://github.com/curl/curl/issues/3602).

So those wordings are ``transfer_timeout`` (same category, not connect-level): beside a proxy's
407 the demand for credentials is the finding, as for any generic symptom beside its reason,
while the connect-level wordings still stay beside it. The two failures share a line as .NET's
AggregateException writes its inner messages (tests/test_same_line_fold.py), the 407 in .NET's
WebException wording ("The remote server returned an error: (407) Proxy Authentication
Required.", tests/test_diagnose_sources.py) and curl's (``curl: (56) Received HTTP code 407 from
proxy after CONNECT``, https://github.com/php-curl-class/php-curl-class/issues/552).
"""

from __future__ import annotations

from diagtext import categories, cause_ids, diagnose

from arc_preflight import kb as kbmod

_407 = "The remote server returned an error: (407) Proxy Authentication Required."
_WSA_TIMEOUT = ("A connection attempt failed because the connected party did not properly "
                "respond after a period of time, or established connection failed because "
                "connected host has failed to respond.")
_CURL_407 = "curl: (56) Received HTTP code 407 from proxy after CONNECT"
_CURL_TRANSFER = ("curl: (28) Operation timed out after 180001 milliseconds with 64267525 out of "
                  "306095064 bytes received")
_CURL_CONNECT = "curl: (28) Connection timed out after 3248 milliseconds"


def test_a_request_timeout_beside_a_407_on_one_line_folds_into_the_407(
        kb: kbmod.KnowledgeBase) -> None:
    line = (f"System.AggregateException: One or more errors occurred. ({_407}) "
            "(The operation has timed out.)")
    found = diagnose(line + "\n", kb)
    assert cause_ids(found) == {"proxy_auth_required"}
    assert categories(found) == {"proxy_auth_required"}


def test_a_connect_timeout_beside_a_407_on_one_line_stays_a_finding(
        kb: kbmod.KnowledgeBase) -> None:
    line = f"System.AggregateException: One or more errors occurred. ({_407}) ({_WSA_TIMEOUT})"
    assert cause_ids(diagnose(line + "\n", kb)) == {"proxy_auth_required", "tcp_timeout"}


def test_curls_transfer_limit_beside_its_407_folds_and_its_connect_limit_does_not(
        kb: kbmod.KnowledgeBase) -> None:
    assert cause_ids(diagnose(f"{_CURL_407}\n{_CURL_TRANSFER}\n", kb)) == {"proxy_auth_required"}
    assert cause_ids(diagnose(f"{_CURL_407}\n{_CURL_CONNECT}\n", kb)) == {
        "proxy_auth_required", "tcp_timeout"}


def test_alone_each_timeout_is_still_the_firewall_or_proxy(kb: kbmod.KnowledgeBase) -> None:
    for text, cause in (("The request was aborted: The operation has timed out.",
                         "transfer_timeout"),
                        (_CURL_TRANSFER, "transfer_timeout"),
                        (_CURL_CONNECT, "tcp_timeout")):
        found = diagnose(text + "\n", kb)
        assert cause in cause_ids(found), text
        assert categories(found) == {"firewall_or_proxy_blocking"}, text
