"""Azure CLI's bare ``(Code) Message`` line, when no family knows the code (issue 9 item 4).

Since 2.30 Azure CLI prints an ARM error as ``(Code) Message``, then ``Code: ...`` and
``Message: ...`` lines (azure-core's HttpResponseError; the shape of
https://github.com/Azure/azure-cli/issues/20232: "(ScopeLocked) The scope '...' cannot perform
delete operation ..." then "Code: ScopeLocked"). The ``Code:`` line was already a failure shape,
but a paste that kept only the first line met silence when the code was not in the ARM family.
The codes and messages below are ARM's own, as published: AnotherOperationInProgress from the
Network resource provider (https://github.com/microsoft/AzureTRE/issues/2222: Code=
"AnotherOperationInProgress" Message="Another operation on this or dependent resource is in
progress. ...") and OperationNotAllowed from AKS
(https://github.com/Azure/terraform-azurerm-avm-ptn-aks-production/pull/25).
"""

from __future__ import annotations

import pytest
from diagtext import assert_only_unknown, assert_silent, categories, diagnose

from arc_preflight import kb as kbmod


@pytest.mark.parametrize("line", [
    "(AnotherOperationInProgress) Another operation on this or dependent resource is in "
    "progress. To retrieve status of the operation use uri: https://management.azure.com/"
    "subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.Network/locations/"
    "westeurope/operations/00000000-0000-0000-0000-000000000000?api-version=2021-03-01.",
    "(OperationNotAllowed) Operation is not allowed: Another operation (Updating) is in progress, "
    "please wait for it to finish before starting a new operation. See "
    "https://aka.ms/aks-pending-operation for more details",
    "(BadRequest) The request is invalid.",
])
def test_a_bare_arm_code_line_is_never_met_with_silence(kb: kbmod.KnowledgeBase,
                                                        line: str) -> None:
    assert_only_unknown(line, kb)


def test_a_code_a_family_knows_keeps_its_cause(kb: kbmod.KnowledgeBase) -> None:
    line = ("(ScopeLocked) The scope '...' cannot perform delete operation because following "
            "scope(s) are locked: '...'. Please remove the lock and try again.")
    assert categories(diagnose(line + "\n", kb)) == {"resource_locked"}


@pytest.mark.parametrize("line", [
    # states and words that say nothing failed, and a PowerShell expression
    "(Succeeded) The machine is connected.",
    "(Running) waiting for the extension",
    "(no error) nothing to report",
    "(Get-AzConnectedMachine -Name arc01).Status",
])
def test_parentheses_that_report_no_failure_stay_silent(kb: kbmod.KnowledgeBase,
                                                        line: str) -> None:
    assert_silent(line, kb)
