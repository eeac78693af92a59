"""Three wordings from the round-i rules half (issue 9): a closed TLS handshake, an installer's
check of the Azure CLI sign-in, and an unsupported kernel.

Each sample is quoted from a rules-half corpus file (tests/corpus/cases), which names its source.
"""

from __future__ import annotations

from diagtext import categories, cause_ids, diagnose

from arc_preflight import kb as kbmod

# i-002: curl.exe -v from the Azure Monitor agent troubleshooter through a firewall that lets
# the TCP connect through and closes the handshake
# (https://github.com/jpazmon-integ/blog/blob/main/articles/LogAnalytics/AMA_CMA_FW.md)
_SCHANNEL = """\
*   Trying 203.0.113.10:443...
* Connected to global.handler.control.monitor.azure.com (203.0.113.10) port 443
* schannel: disabled automatic use of client certificate
* ALPN: curl offers http/1.1
* schannel: failed to receive handshake, SSL/TLS connection failed
* closing connection #0
"""


def test_schannel_handshake_closed_is_a_box_on_the_way(kb: kbmod.KnowledgeBase) -> None:
    found = diagnose(_SCHANNEL, kb)
    assert cause_ids(found) == {"tls_reset_by_middlebox"}
    assert categories(found) == {"firewall_or_proxy_blocking"}


def test_installer_says_the_cli_is_not_signed_in(kb: kbmod.KnowledgeBase) -> None:
    """i-010 (https://github.com/Azure/AKSFlexNode/issues/206): the CLI sign-in is per user, so
    the installer run with sudo finds none for root."""
    text = ("INFO: Checking Azure CLI authentication for user: root\n"
            "WARNING: Azure CLI is not authenticated for user: root\n")
    assert categories(diagnose(text, kb)) == {"azure_cli_sign_in"}


def test_unsupported_kernel_version(kb: kbmod.KnowledgeBase) -> None:
    """i-012 (https://github.com/microsoft/azure_arc/issues/100): the Dependency agent on a cloud
    vendor's kernel."""
    found = diagnose("Unsupported kernel version: 5.3.0-1032-aws\n", kb)
    assert categories(found) == {"unsupported_environment"}
