"""A wrapper's words beside the reason it wraps: one finding, the reason (issue 9, item 3).

Clients wrap the failure that stopped them in words of their own: .NET's "Unable to connect to
the remote server" around the socket error, urllib3's NameResolutionError around the resolver's
errno. Where the text gives the inner reason too, it is the finding; the wrapper (a cause marked
``generic = true`` in the knowledge base) joins it as evidence instead of standing beside it as
a second cause of the same category. A wrapper alone is still reported. Also here: lines that
look like failures of the host and are not (sudo's warning about the machine's own name,
nslookup's reverse lookup of its own server).
"""

from __future__ import annotations

from diagtext import assert_silent, categories, cause_ids, diagnose

from arc_preflight import kb as kbmod

# A monitoring tool's NLog line, as its README shows it
# (https://github.com/ghuntley/sslcertexpiresin, README.md, "Output when certificate is Invalid")
_DOTNET_REFUSED = (
    "2014-03-06 11:15:25.3325|ERROR|SSLCertExpiresIn.Program|System.Net.WebException: Unable to "
    "connect to the remote server ---> System.Net.Sockets.SocketException: No connection could be "
    "made because the target machine actively refused it 127.0.0.1:8443 at "
    "System.Net.Sockets.Socket.DoConnect(EndPoint endPointSnapshot, SocketAddress socketAddress)")

# requests around urllib3 2.x: NameResolutionError wraps the resolver's EAI_AGAIN (the message
# format of urllib3's exceptions.py; the inner errno as in
# https://github.com/medialab/minet/issues/636). Host names are the agent's.
_NAME_RESOLUTION = (
    "requests.exceptions.ConnectionError: HTTPSConnectionPool(host='management.azure.com', "
    "port=443): Max retries exceeded with url: / (Caused by NameResolutionError(\"<urllib3."
    "connection.HTTPSConnection object at 0x7f83a84a45d0>: Failed to resolve "
    "'management.azure.com' ([Errno -3] Temporary failure in name resolution)\"))")

# curl speaking TLS to a plain HTTP proxy (https://github.com/curl/curl/issues/2324)
_WRONG_VERSION = "curl: (35) error:1408F10B:SSL routines:ssl3_get_record:wrong version number"


def test_unable_to_connect_joins_the_refused_connect_it_wraps(kb: kbmod.KnowledgeBase) -> None:
    found = diagnose(_DOTNET_REFUSED + "\n", kb)
    assert cause_ids(found) == {"tcp_refused"}


def test_the_wrapper_on_its_own_line_joins_the_reason_below_it(kb: kbmod.KnowledgeBase) -> None:
    """The same exception as PowerShell prints it: the outer message, then the inner one."""
    text = ("Invoke-WebRequest : Unable to connect to the remote server\n"
            "System.Net.Sockets.SocketException: No connection could be made because the target "
            "machine actively refused it 127.0.0.1:8443\n")
    found = diagnose(text, kb)
    assert cause_ids(found) == {"tcp_refused"}
    assert len(found.diagnoses[0].diagnosis.evidence) == 2


def test_the_wrapper_alone_is_still_a_finding(kb: kbmod.KnowledgeBase) -> None:
    found = diagnose("Invoke-WebRequest : Unable to connect to the remote server\n", kb)
    assert cause_ids(found) == {"endpoint_unreachable"}
    assert found.exit_code == 2


def test_name_resolution_error_yields_the_resolvers_reason(kb: kbmod.KnowledgeBase) -> None:
    found = diagnose(_NAME_RESOLUTION + "\n", kb)
    assert cause_ids(found) == {"dns_server_failure"}


def test_name_resolution_error_without_a_reason_is_a_dns_failure(
        kb: kbmod.KnowledgeBase) -> None:
    line = ("urllib3.exceptions.NameResolutionError: <urllib3.connection.HTTPSConnection object "
            "at 0x7f83a84a45d0>: Failed to resolve 'management.azure.com'")
    found = diagnose(line + "\n", kb)
    assert cause_ids(found) == {"dns_lookup_failed"}
    assert categories(found) == {"dns_failure"}


def test_a_wrapper_does_not_join_a_reason_for_another_host(kb: kbmod.KnowledgeBase) -> None:
    """Two hosts, two failures: the wrapper names one, the NXDOMAIN another."""
    text = ("Failed to resolve 'management.azure.com'\n"
            "** server can't find gbl.his.arc.azure.com: NXDOMAIN\n")
    assert cause_ids(diagnose(text, kb)) == {"dns_lookup_failed", "dns_name_not_found"}


def test_wrong_version_number_is_the_proxy_not_a_tls_fault(kb: kbmod.KnowledgeBase) -> None:
    found = diagnose(_WRONG_VERSION + "\n", kb)
    assert categories(found) == {"proxy_misconfigured"}


def test_sudo_not_resolving_the_own_name_is_not_a_dns_failure(kb: kbmod.KnowledgeBase) -> None:
    """sudo's warning (https://github.com/arakasi72/rtinst/issues/589): the machine's own name,
    not an Azure endpoint, and sudo went on, so a warning."""
    found = diagnose("sudo: unable to resolve host host01: Name or service not known\n", kb)
    assert cause_ids(found) == {"sudo_own_name_unresolvable"}
    assert categories(found) == {"hostname_unresolvable"}
    assert found.diagnoses[0].diagnosis.severity == "warn"
    assert found.exit_code == 1


def test_sudo_warning_without_the_reason(kb: kbmod.KnowledgeBase) -> None:
    """The older wording (https://github.com/ceph/downburst/issues/3)."""
    found = diagnose("sudo: unable to resolve host chef-node-01\n", kb)
    assert categories(found) == {"hostname_unresolvable"}


# nslookup on Windows, from a Microsoft Q&A thread
# (https://learn.microsoft.com/en-us/answers/questions/187796/client-dns-issue-after-domain-controller-migration):
# the server's address has no PTR record, so the reverse lookup of it times out first.
_NSLOOKUP_ANSWERED = """\
C:\\Users\\administrator.CLOUD>nslookup

DNS request timed out.

timeout was 2 seconds.

Default Server: UnKnown

Address: 192.168.201.11
"""
_NSLOOKUP_UNANSWERED = """\
C:\\Users\\administrator.CLOUD>nslookup google.com

DNS request timed out.

timeout was 2 seconds.

Server: UnKnown

Address: 192.168.201.11

DNS request timed out.

timeout was 2 seconds.

DNS request timed out.

timeout was 2 seconds.

*** Request to UnKnown timed-out
"""


def test_nslookup_reverse_lookup_timeout_is_no_failure(kb: kbmod.KnowledgeBase) -> None:
    assert_silent(_NSLOOKUP_ANSWERED, kb)


def test_nslookup_query_timeout_is_a_dns_timeout(kb: kbmod.KnowledgeBase) -> None:
    found = diagnose(_NSLOOKUP_UNANSWERED, kb)
    assert cause_ids(found) == {"dns_timeout"}
    assert found.diagnoses[0].diagnosis.evidence[-1].endswith("*** Request to UnKnown timed-out")
