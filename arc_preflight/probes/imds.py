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
from .netutil import Oversized, json_depth, read_capped

IMDS_TIMEOUT = 2.0
MAX_ANSWER = 1 << 20  # Azure's answer is a few KB
MAX_DEPTH = 32


def probe(url: str, ctx: ProbeContext, deps: Mapping[str, Result]) -> Outcome:
    import requests

    budget = min(ctx.budget(), IMDS_TIMEOUT)
    started = time.monotonic()
    session = requests.Session()
    session.trust_env = False  # link-local: never through a proxy
    facts: Dict[str, Any] = {"url": url}
    compute: Dict[str, Any] = {}
    try:
        response = session.get(url, headers={"Metadata": "true", "Accept-Encoding": "identity"},
                               timeout=(budget, budget), allow_redirects=False, stream=True)
        with response:
            facts["status_code"] = response.status_code
            if response.status_code == 200:
                left = max(0.05, budget - (time.monotonic() - started))
                body = read_capped(response, MAX_ANSWER, left)
                doc = json.loads(body.decode("utf-8"))
                if json_depth(doc, MAX_DEPTH) and isinstance(doc, dict) and isinstance(
                        doc.get("compute"), dict):
                    compute = doc["compute"]
    except Oversized as exc:
        # Azure's IMDS answers a few KB: whatever sent this is not it.
        facts["error"] = "Oversized"
        return Outcome(Status.PASS, f"metadata address answered with {exc}, not as Azure: "
                       "not an Azure VM", facts=facts)
    except (ValueError, RecursionError, UnicodeDecodeError):
        compute = {}
    except (requests.exceptions.RequestException, OSError) as exc:
        if "status_code" not in facts:
            facts["error"] = type(exc).__name__
            return Outcome(Status.PASS, "no Azure instance metadata service: not an Azure VM",
                           facts=facts)
    finally:
        session.close()
    compute = {key: bounded(value, 512) for key, value in compute.items()
               if isinstance(value, (str, int, float)) and not isinstance(value, bool)}
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
