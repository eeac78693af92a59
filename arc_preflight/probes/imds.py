"""Azure VM detection: the agent refuses to install where Azure's own metadata service answers.

On an Azure VM, ``169.254.169.254`` answers ``/metadata/instance`` as Azure; elsewhere nothing
answers (or another cloud does, with other paths). The probe is given at most two seconds: on
machines outside Azure it must not slow the run, and it runs concurrently with everything else.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Mapping

from ..model import Outcome, ProbeContext, Result, Status

IMDS_TIMEOUT = 2.0


def probe(url: str, ctx: ProbeContext, deps: Mapping[str, Result]) -> Outcome:
    import requests

    budget = min(ctx.budget(), IMDS_TIMEOUT)
    session = requests.Session()
    session.trust_env = False  # link-local: never through a proxy
    facts: Dict[str, Any] = {"url": url}
    try:
        response = session.get(url, headers={"Metadata": "true"}, timeout=(budget, budget),
                               allow_redirects=False)
    except (requests.exceptions.RequestException, OSError, ValueError) as exc:
        facts["error"] = type(exc).__name__
        return Outcome(Status.PASS, "no Azure instance metadata service: not an Azure VM",
                       facts=facts)
    finally:
        session.close()
    facts["status_code"] = response.status_code
    compute: Dict[str, Any] = {}
    if response.status_code == 200:
        try:
            body = json.loads(response.text)
            compute = body.get("compute", {}) if isinstance(body, dict) else {}
        except ValueError:
            compute = {}
    resource = str(compute.get("resourceId", ""))
    is_azure_vm = bool(compute.get("vmId")) and (
        "Microsoft.Compute/virtualMachines" in resource or bool(compute.get("azEnvironment")))
    if not is_azure_vm:
        return Outcome(Status.PASS, f"metadata address answered HTTP {response.status_code}, "
                       "not as Azure: not an Azure VM", facts=facts)
    for key in ("vmId", "name", "location", "azEnvironment", "resourceId"):
        if compute.get(key):
            facts[key] = compute[key]
    return Outcome(Status.FAIL, f"this is an Azure VM ({compute.get('name', '?')} in "
                   f"{compute.get('location', '?')}): the agent will refuse to install",
                   code="imds.azure_vm", facts=facts)
