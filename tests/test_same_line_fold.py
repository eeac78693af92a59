"""Two failures on one line: the same-line fold of a generic failure into the specific cause
beside it follows the scope-level rule (issue 9, correctness clean-ups).

``diagnose`` folds a generic transport failure (a refused connection, a reset, "unable to
connect") into the specific cause that explains it: on one line (``line_causes``) and across the
scope (``_fold_generic``). Across the scope a refused or unanswered TCP connect is never
explained by something said after it (a certificate the machine rejects, the clock, a proxy's
407): both are kept. On one line the fold used to skip that check, so a line carrying both
failures lost the refused connect.

.NET's AggregateException puts every inner exception's message in parentheses after its own
("One or more errors occurred. (The SSL connection could not be established, see inner
exception.)", https://github.com/JeffreySu/WeiXinMPSDK/issues/1299), so two requests that failed
differently end on one line. The inner messages are Windows' WSAECONNREFUSED text ("No
connection could be made because the target machine actively refused it",
https://github.com/CodeMakerInc/EppLib.NET/issues/30) and SslStream's certificate rejection ("The
remote certificate is invalid according to the validation procedure.",
https://github.com/win-acme/win-acme/issues/1634).
"""

from __future__ import annotations

from diagtext import categories, cause_ids, diagnose

from arc_preflight import kb as kbmod

_REFUSED = "No connection could be made because the target machine actively refused it."
_CERT = "The remote certificate is invalid according to the validation procedure."


def test_a_refused_connect_and_a_rejected_certificate_on_one_line_are_two_findings(
        kb: kbmod.KnowledgeBase) -> None:
    line = f"System.AggregateException: One or more errors occurred. ({_REFUSED}) ({_CERT})"
    found = diagnose(line + "\n", kb)
    assert categories(found) == {"tls_inspection", "firewall_or_proxy_blocking"}
    assert "tcp_refused" in cause_ids(found)


def test_the_same_failures_on_two_lines_were_already_two_findings(
        kb: kbmod.KnowledgeBase) -> None:
    """The scope-level rule the same-line fold now follows."""
    text = f"One or more errors occurred. ({_REFUSED})\nOne or more errors occurred. ({_CERT})\n"
    assert categories(diagnose(text, kb)) == {"tls_inspection", "firewall_or_proxy_blocking"}


def test_a_reason_and_its_symptom_on_one_line_still_fold(kb: kbmod.KnowledgeBase) -> None:
    """curl's own line for a proxy that wants credentials: the 407 is why the transfer failed
    (curl exit code 56), so only the proxy's demand is reported (the shape quoted in
    https://github.com/php-curl-class/php-curl-class/issues/552)."""
    line = "curl: (56) Received HTTP code 407 from proxy after CONNECT"
    assert categories(diagnose(line + "\n", kb)) == {"proxy_auth_required"}
