"""Azure VM detection: the agent refuses to install where Azure's own metadata service answers.

On an Azure VM, ``169.254.169.254`` answers ``/metadata/instance`` as Azure; elsewhere nothing
answers (or another cloud does, with other paths). The probe is given at most two seconds: on
machines outside Azure it must not slow the run, and it runs concurrently with everything else.
"""

from __future__ import annotations

import json
import time
from typing import Any, Dict, Mapping

from ..model import Outcome, ProbeContext, Result, Status
from ..redact import bounded
from .netutil import Oversized, json_depth
from .webcall import CallError, call

IMDS_TIMEOUT = 2.0
MAX_ANSWER = 1 << 20  # Azure's answer is a few KB
MAX_DEPTH = 32


def probe(url: str, ctx: ProbeContext, deps: Mapping[str, Result]) -> Outcome:
    from .trust import verified_context

    deadline = time.monotonic() + min(ctx.budget(), IMDS_TIMEOUT)
    facts: Dict[str, Any] = {"url": url}
    compute: Dict[str, Any] = {}
    status = 0
    try:
        # link-local: never through a proxy
        with call("GET", url, context=verified_context(ctx.settings.ca_bundle), deadline=deadline,
                  headers={"Metadata": "true"}) as response:
            status = facts["status_code"] = response.status
            if response.status == 200:
                doc = json.loads(response.body(MAX_ANSWER).decode("utf-8"))
                if json_depth(doc, MAX_DEPTH) and isinstance(doc, dict) and isinstance(
                        doc.get("compute"), dict):
                    compute = doc["compute"]
    except Oversized as exc:
        # Azure's IMDS answers a few KB: whatever sent this is not it.
        facts["error"] = "Oversized"
        return Outcome(Status.PASS, f"metadata address answered with {exc}, not as Azure: "
                       "not an Azure VM", facts=facts)
    except (ValueError, RecursionError, CallError) as exc:
        if not status:  # no answer at all (or a URL that cannot be asked)
            facts["error"] = exc.kind if isinstance(exc, CallError) else type(exc).__name__
            return Outcome(Status.PASS, "no Azure instance metadata service: not an Azure VM",
                           facts=facts)
        compute = {}  # an answer, but not JSON, cut short, or too deep: not Azure's
    compute = {key: bounded(value, 512) for key, value in compute.items()
               if isinstance(value, (str, int, float)) and not isinstance(value, bool)}
    resource = str(compute.get("resourceId", ""))
    is_azure_vm = bool(compute.get("vmId")) and (
        "Microsoft.Compute/virtualMachines" in resource or bool(compute.get("azEnvironment")))
    if not is_azure_vm:
        return Outcome(Status.PASS, f"metadata address answered HTTP {status}, "
                       "not as Azure: not an Azure VM", facts=facts)
    for key in ("vmId", "name", "location", "azEnvironment", "resourceId"):
        if compute.get(key):
            facts[key] = compute[key]
    return Outcome(Status.FAIL, f"this is an Azure VM ({compute.get('name', '?')} in "
                   f"{compute.get('location', '?')}): the agent will refuse to install",
                   code="imds.azure_vm", facts=facts)
