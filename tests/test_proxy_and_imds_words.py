"""The proxy's answer inside urllib3's wrapper, urllib3's TLS step to an https:// proxy, and a
.NET client asking the Azure VM metadata address on an Arc machine (issue 9, rules half).

Each sample is quoted from a rules-half corpus file (tests/corpus/cases), which names its source.
"""

from __future__ import annotations

from diagtext import categories, cause_ids, diagnose

from arc_preflight import kb as kbmod


def test_the_proxys_403_inside_cannot_connect_to_proxy(kb: kbmod.KnowledgeBase) -> None:
    """g-011 (https://github.com/Azure/azure-cli/issues/22341): the proxy answered, so it is not
    unreachable; its refusal of the tunnel is the finding, the wrapper stays beside it."""
    line = ("HTTPSConnectionPool(host='login.microsoftonline.com', port=443): Max retries exceeded "
            "with url: /organizations/v2.0/.well-known/openid-configuration (Caused by ProxyError"
            "('Cannot connect to proxy.', OSError('Tunnel connection failed: 403 Forbidden'))")
    found = diagnose(line + "\n", kb)
    assert "proxy_denied" in cause_ids(found)
    assert "proxy_unreachable" not in cause_ids(found)


def test_a_refused_connect_to_the_proxy_is_still_unreachable(kb: kbmod.KnowledgeBase) -> None:
    """The same wrapper around a refused connect to the proxy
    (https://github.com/mai-lang-chai/Middleware-Vulnerability-detection/issues/8)."""
    line = ("requests.exceptions.ProxyError: HTTPSConnectionPool(host='192.168.189.131', "
            "port=443): Max retries exceeded with url: /ecp/cmyz.js (Caused by ProxyError("
            "'Cannot connect to proxy.', NewConnectionError('<urllib3.connection."
            "VerifiedHTTPSConnection object at 0x000001C39F5B9430>: Failed to establish a new "
            "connection: [WinError 10061] Unable to connect because the target computer "
            "actively refused。')))")
    assert "proxy_unreachable" in cause_ids(diagnose(line + "\n", kb))


def test_a_traceback_through_the_tls_step_to_the_proxy(kb: kbmod.KnowledgeBase) -> None:
    """g-014 (https://github.com/Azure/azure-cli/issues/19456): az login through a proxy given
    as https://, which urllib3 1.26 speaks TLS to."""
    site = "D:\\a\\1\\s\\build_scripts\\windows\\artifacts\\cli\\Lib\\site-packages\\urllib3"
    text = (
        "Traceback (most recent call last):\n"
        f'  File "{site}/connectionpool.py", line 964, in _prepare_proxy\n'
        f'  File "{site}/connection.py", line 359, in connect\n'
        f'  File "{site}/connection.py", line 500, in _connect_tls_proxy\n'
        '  File "ssl.py", line 1040, in _create\n')
    assert categories(diagnose(text, kb)) == {"proxy_misconfigured"}


def test_a_dotnet_client_asking_the_azure_vm_metadata_address(kb: kbmod.KnowledgeBase) -> None:
    """h-011 (https://github.com/PalmEmanuel/AzBobbyTables/issues/150): a PowerShell module's
    managed-identity call on an Arc machine goes to 169.254.169.254, not to HIMDS."""
    line = ("Get-AzDataTableEntity: A connection attempt failed because the connected party "
            "did not properly respond after a period of time, or established connection failed "
            "because connected host has failed to respond. [::ffff:169.254.169.254]:80 "
            "(169.254.169.254:80)")
    assert "app_arc_identity_endpoint_missed" in cause_ids(diagnose(line + "\n", kb))


def test_the_agents_own_azure_check_is_not_that(kb: kbmod.KnowledgeBase) -> None:
    """Go's form, as the agent would log its probe of the metadata address: not a client's
    managed-identity call (the shape of the dial errors in data/causes.toml's Go patterns)."""
    line = 'dial tcp 169.254.169.254:80: i/o timeout'
    assert "app_arc_identity_endpoint_missed" not in cause_ids(diagnose(line + "\n", kb))
