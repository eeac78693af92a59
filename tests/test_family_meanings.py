"""Family members mapped by what the code means where admins meet it (issue 9, review of the
message families): Windows Installer's access errors happen in a service running as SYSTEM, a
Winsock access refusal is mostly a local port reservation, a client's proxy variable is not the
agent's proxy setting, a retried request is a warning until it fails for good, and a repository
zypper cannot read is skipped. Each sample names its source.
"""
from __future__ import annotations

import pytest
from diagtext import categories, cause_ids, diagnose

from arc_preflight import kb as kbmod


@pytest.mark.parametrize("line", [
    # Windows Installer error messages 1321 and 1402 (https://learn.microsoft.com/windows/win32/
    # msi/error-codes, "Windows Installer Error Messages"), printed by an msiexec run as SYSTEM
    "Error 1321. The Installer has insufficient privileges to modify this file: "
    "C:\\Program Files\\AzureConnectedMachineAgent\\himds.exe.",
    "Error 1402. Could not open key: HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Azure Connected "
    "Machine Agent.  System error 5.  Verify that you have sufficient access to that key, or "
    "contact your support personnel.",
])
def test_msi_access_errors_are_install_failures(kb: kbmod.KnowledgeBase, line: str) -> None:
    report = diagnose(line + "\n", kb)
    assert categories(report) == {"install_failure"}
    assert report.exit_code == 2


def test_winsock_access_refusal_names_no_cause(kb: kbmod.KnowledgeBase) -> None:
    """WSAEACCES (10013) on a bind to a port Windows reserved (the shape of
    https://github.com/caddyserver/caddy/issues/4223): a failure, but no path to Azure."""
    line = ('level=fatal msg="listen tcp 127.0.0.1:40342: bind: An attempt was made to access a '
            'socket in a way forbidden by its access permissions."')
    assert categories(diagnose(line + "\n", kb)) == {"unknown"}


@pytest.mark.parametrize("line", [
    # requests' and urllib3's refusals of the proxy variable (requests/adapters.py,
    # urllib3/poolmanager.py ProxySchemeUnknown)
    "requests.exceptions.InvalidSchema: Missing dependencies for SOCKS support.",
    "urllib3.exceptions.ProxySchemeUnknown: Proxy URL had no scheme, should start with http:// "
    "or https://",
])
def test_client_proxy_variable_is_not_the_agent_setting(kb: kbmod.KnowledgeBase,
                                                        line: str) -> None:
    assert cause_ids(diagnose(line + "\n", kb)) == {"client_proxy_env_invalid"}


def test_method_not_found_needs_the_method(kb: kbmod.KnowledgeBase) -> None:
    """MissingMethodException's message names the method (``Method not found: 'Void ...'``); a
    JSON-RPC error -32601 says the same three words about a remote call."""
    rpc = '{"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found"}, "id": 1}'
    assert "client_tool_bug" not in categories(diagnose(rpc + "\n", kb))
    dotnet = ("Exception calling \"Invoke\" with \"0\" argument(s): \"Method not found: "
              "'Void Microsoft.Azure.PowerShell.Cmdlets.ConnectedMachine.Module.Init()'.\"")
    assert "client_tool_bug" in categories(diagnose(dotnet + "\n", kb))


def test_retried_request_is_a_warning(kb: kbmod.KnowledgeBase) -> None:
    """urllib3 retries a request whose connection broke and logs it at warning level; in
    Azure CLI's --debug output (the shape of https://github.com/Azure/azure-cli/issues/28305)
    the request then succeeded: what the retry names is a warning, not a failure."""
    text = ("urllib3.connectionpool: Retrying (Retry(total=3, connect=None, read=None, "
            "redirect=None, status=None)) after connection broken by 'RemoteDisconnected('Remote "
            "end closed connection without response')': /subscriptions?api-version=2022-12-01\n"
            'urllib3.connectionpool: https://management.azure.com:443 "GET /subscriptions?'
            'api-version=2022-12-01 HTTP/1.1" 200 6597\n')
    report = diagnose(text, kb)
    assert report.exit_code == 1
    assert {d.diagnosis.severity for d in report.diagnoses} == {"warn"}


def test_failing_umbrella_is_kept_beside_warnings_only(kb: kbmod.KnowledgeBase) -> None:
    """Azure CLI's traceback header (https://github.com/microsoft/azure_arc/issues/2923) beside
    a cause that is only ever a warning (sudo not resolving the machine's own name,
    https://github.com/arakasi72/rtinst/issues/589): the command still failed, so the run says
    so (exit 2) and both are listed. (The example was once an assertion outside its time window,
    which is now a failure of its own and takes the umbrella.)"""
    text = ("The command failed with an unexpected error. Here is the traceback:\n"
            "sudo: unable to resolve host host01: Name or service not known\n")
    report = diagnose(text, kb)
    assert report.exit_code == 2
    assert cause_ids(report) == {"azure_cli_unhandled_exception", "sudo_own_name_unresolvable"}


def test_zypper_skipping_a_broken_repository_is_no_download_failure(
        kb: kbmod.KnowledgeBase) -> None:
    """zypper reports a repository it cannot read as invalid, skips it and installs from the
    others (zypper's "Repository '%s' is invalid." and "Skipping repository '%s' because of the
    above error.")."""
    text = ("Repository 'Contoso Tools' is invalid.\n"
            "Skipping repository 'Contoso Tools' because of the above error.\n"
            "(1/1) Installing: azcmagent-1.50.0-1.x86_64 ......................[done]\n")
    assert "package_download_failed" not in cause_ids(diagnose(text, kb))
