"""A public sample for each wording that had none (issue 9, review of the fourth round).

Thirteen of the sixteen Python-error wordings of ``client_tool_python_error``, and a dozen other
patterns added in the same round, were matched by no test and no rules-half corpus text
(scripts/pattern_coverage.py lists such patterns). Each line below is the wording as someone
posted it (the URL beside it) or, where only the tool's source was found, the message in the
shape the source prints it (the source is named). Each asserts the cause, not only the category,
so that a broader rule cannot hide a wording that stopped matching. The one wording for which no
public sample was found (``/usr/bin/env: 'curl': No such file or directory`` as a missing
prerequisite) was dropped from linux_prerequisite_missing; such a line still reports a failure
("No such file or directory") and gets ``unknown``.
"""

from __future__ import annotations

import pytest
from diagtext import categories, cause_ids, diagnose

from arc_preflight import kb as kbmod

SAMPLES = [
    # --- Python's own wordings, printed by Azure CLI and its extensions without the class ---
    # https://github.com/Azure/azure-cli/issues/14525 (title)
    ("AttributeError: module 'azext_interactive' has no attribute 'start_shell'",
     "client_tool_python_error"),
    # https://github.com/paradiseduo/ApplicationScanner/issues/10
    ("TypeError: __init__() missing 1 required positional argument: 'cmd'",
     "client_tool_python_error"),
    # https://github.com/freqtrade/freqtrade/issues/1521 and
    # https://github.com/amitesh863/nbeats_forecast/issues/3
    ("__init__() takes 2 positional arguments but 3 were given", "client_tool_python_error"),
    ("__init__() takes from 4 to 6 positional arguments but 7 were given",
     "client_tool_python_error"),
    # https://github.com/eglock/ZybookAuto/issues/4 (title)
    ("unsupported operand type(s) for |: 'type' and 'NoneType'", "client_tool_python_error"),
    # https://github.com/Azure/azure-cli/issues/11118 (az ad app update)
    ("string indices must be integers", "client_tool_python_error"),
    # https://github.com/Azure/azure-cli/issues/18920 (the message line of the traceback)
    ("expected str, bytes or os.PathLike object, not NoneType", "client_tool_python_error"),
    # https://github.com/Azure/azure-cli/issues/1529
    ("string index out of range", "client_tool_python_error"),
    # https://github.com/gera/gitzilla/issues/1 (Python 2's NameError wording)
    ("NameError: global name 'command' is not defined", "client_tool_python_error"),
    # https://github.com/Azure/azure-cli-extensions/issues/4508 (az kusto cluster create)
    ("local variable 'deserialized' referenced before assignment", "client_tool_python_error"),
    # https://github.com/Azure/azure-cli-extensions/issues/8498 (az connectedk8s, Python 3.12)
    ("cannot access local variable 'final_enable_cl' where it is not associated with a value",
     "client_tool_python_error"),
    # https://github.com/MicrosoftDocs/feedback/issues/841 (RecursionError's message line)
    ("maximum recursion depth exceeded", "client_tool_python_error"),
    # https://github.com/Azure/azure-cli-extensions/issues/8139
    ("cannot import name 'AccessTokenInfo' from 'azure.core.credentials' (C:\\Program Files\\"
     "Microsoft SDKs\\Azure\\CLI2\\Lib\\site-packages\\azure\\core\\credentials.pyc)",
     "client_tool_python_error"),
    # https://github.com/Azure/azure-batch-cli-extensions/issues/39 (Python 2, no quotes)
    ("No module named common", "client_tool_python_error"),
    # --- Azure CLI's own extension messages (src/azure-cli-core/azure/cli/core/extension/
    # operations.py in Azure/azure-cli: add_extension's and update_extension's CLIErrors) ---
    ("The extension is invalid. Use --debug for more information.", "cli_extension_incompatible"),
    ("Failed to update. Rolled connectedmachine back to 0.7.0.", "cli_extension_incompatible"),
    # https://github.com/Azure/azure-cli-extensions/issues/1022 (title)
    ("No matching extensions for 'signalr'", "cli_extension_incompatible"),
    # --- .NET, PowerShell ---
    # System.InvalidCastException's message (dotnet/runtime, SR InvalidCast_FromTo: "Unable to
    # cast object of type '{0}' to type '{1}'."), with Az types as two module versions clash
    ("Unable to cast object of type 'Microsoft.Azure.Commands.Common.Authentication.Abstractions."
     "AzureContext' to type 'Microsoft.Azure.Commands.Common.Authentication.Abstractions."
     "IAzureContext'.", "client_tool_defect"),
    # https://github.com/R3MRUM/PSDecode/issues/4
    ("Unexpected token 'if' in expression or statement.", "powershell_script_broken"),
    # the Azure Identity library's Arc managed-identity source (Azure/azure-sdk-for-net,
    # sdk/identity/Azure.Identity/src/AzureArcManagedIdentitySource.cs, NoChallengeErrorMessage,
    # https://github.com/Azure/azure-sdk-for-net/pull/16658)
    ("Did not receive expected WWW-Authenticate header in the response from Azure Arc Managed "
     "Identity Endpoint.", "app_arc_identity_endpoint_missed"),
    # --- proxies, shells, installers, package managers ---
    # squid's reply header on a 407 (squid-cache/squid, errorpage: "X-Squid-Error: <page>
    # <errno>", page ERR_CACHE_ACCESS_DENIED for a proxy that wants credentials)
    ("X-Squid-Error: ERR_CACHE_ACCESS_DENIED 0", "proxy_auth_required"),
    # https://github.com/ohmyzsh/ohmyzsh/issues/7085 (zsh's wording)
    ("zsh: command not found: wget", "linux_prerequisite_missing"),
    # https://github.com/mswhirl/autoflashgui/issues/42
    ("The version of this file is not compatible with the version of Windows you're running. "
     "Check your computer's system information to see whether you need an x86 (32-bit) or x64 "
     "(64-bit) version of the program, and then contact the software publisher.",
     "binary_architecture_mismatch"),
    # https://github.com/MichaIng/DietPi/issues/5427
    ("E: You don't have enough free space in /var/cache/apt/archives/.", "install_disk_full"),
    # https://github.com/AlmaLinux/leapp-repository/issues/38 (rpm's transaction check)
    ("  installing package libindicator-gtk3-12.10.1-14.el8.x86_64 needs 152MB on the / "
     "filesystem", "install_disk_full"),
]


@pytest.mark.parametrize(("text", "cause"), SAMPLES)
def test_each_wording_has_a_public_sample(kb: kbmod.KnowledgeBase, text: str,
                                          cause: str) -> None:
    found = diagnose(text + "\n", kb)
    assert cause in cause_ids(found), (text, cause_ids(found))
    assert kb.get(cause) is not None
    assert kb.get(cause).category in categories(found)


def test_the_dropped_env_wording_still_reports_a_failure(kb: kbmod.KnowledgeBase) -> None:
    """The shape the dropped pattern read, found by the generic errno wording instead."""
    found = diagnose("/usr/bin/env: 'curl': No such file or directory\n", kb)
    assert found.diagnoses and found.exit_code != 0
    assert "linux_prerequisite_missing" not in cause_ids(found)
