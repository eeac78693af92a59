"""A programming error inside an extension handler's own message is the extension's failure.

Azure relays the handler's message inside its envelope ("VM has reported a failure when
processing extension 'X'. Error message: ..."); when that message is a Python or PowerShell
programming error, the handler met settings it did not expect (here protected settings left
empty by a template), and the tool that deployed it only passes the message on. The same words
without the envelope stay what they were: the client tool's own defect.
"""

from __future__ import annotations

import pytest
from diagtext import cause_ids, diagnose

from arc_preflight import kb as kbmod

# https://github.com/azsec/scaf-azure-arm-templates/issues/2 (corpus m-003, rules half)
MDE_LINUX = ("VM has reported a failure when processing extension 'MDE.Linux'. Error message: "
             "\"Failed to configure Microsoft Defender for Endpoint: argument of type 'NoneType' "
             "is not iterable ResourceId: /subscriptions/<subscription-id>/resourceGroups/"
             "<resource-group-name>/providers/Microsoft.Compute/virtualMachines/azsec-redhat-vm\"")
# https://github.com/azsec/scaf-azure-arm-templates/issues/3 (corpus m-004, rules half)
MDE_WINDOWS = ("##[error]VMExtensionProvisioningError: VM has reported a failure when processing "
               "extension 'MDE.Windows'. Error message: \"Failed to configure Microsoft Defender "
               "for Endpoint: You cannot call a method on a null-valued expression.\n"
               "   at System.Management.Automation.ExceptionHandlingOps.CheckActionPreference("
               "FunctionContext funcContext, Exception exception)")
# https://github.com/Azure/Guest-Configuration-Extension/issues/173 (corpus m-012, rules half):
# the envelope around an exit code, no programming error
GUEST_CONFIG = ("(VMExtensionHandlerNonTransientError) The handler for VM extension type "
                "'Microsoft.GuestConfiguration.ConfigurationforLinux' has reported terminal "
                "failure for VM extension 'AzurePolicyforLinux' with error message: "
                "'[ExtensionOperationError] Non-zero exit code: 126, /var/lib/waagent/"
                "Microsoft.GuestConfiguration.ConfigurationforLinux-1.26.72/bin/"
                "guest-configuration-shim install")


@pytest.mark.parametrize("text", [MDE_LINUX, MDE_WINDOWS], ids=["python", "powershell"])
def test_handler_programming_error(kb: kbmod.KnowledgeBase, text: str) -> None:
    report = diagnose(text + "\n", kb)
    assert cause_ids(report) == {"extension_handler_crashed"}
    assert report.exit_code == 2


def test_envelope_without_a_programming_error(kb: kbmod.KnowledgeBase) -> None:
    assert "extension_handler_crashed" not in cause_ids(diagnose(GUEST_CONFIG + "\n", kb))


def test_the_same_words_from_the_cli_itself(kb: kbmod.KnowledgeBase) -> None:
    # https://github.com/Azure/azure-cli/issues/15073 (title): no extension envelope
    report = diagnose("argument of type 'NoneType' is not iterable\n", kb)
    assert cause_ids(report) == {"client_tool_python_error"}
