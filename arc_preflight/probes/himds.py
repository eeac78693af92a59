"""The agent's local metadata endpoint (HIMDS, ``localhost:40342``).

``azcmagent`` talks to HIMDS for nearly everything; when it is down the CLI reports AZCM0061 or
AZCM0064. A server that accepts the connection but never answers is a different problem (the
service is wedged) from one that refuses it (the service is not running), so they get different
codes. Proxies are never used: HIMDS is local.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Mapping

from ..model import Outcome, ProbeContext, Result, Status


def probe(url: str, installed: bool, ctx: ProbeContext, deps: Mapping[str, Result]) -> Outcome:
    import requests

    budget = ctx.budget()
    session = requests.Session()
    session.trust_env = False
    facts: Dict[str, Any] = {"url": url}
    try:
        response = session.get(url, headers={"Metadata": "true"}, timeout=(budget, budget),
                               allow_redirects=False)
    except requests.exceptions.Timeout:
        return Outcome(Status.FAIL, "HIMDS accepted the connection but did not answer in time",
                       code="himds.timeout", facts=facts)
    except requests.exceptions.ConnectionError as exc:
        if not installed:
            return Outcome(Status.SKIP, "nothing listening (agent not installed yet)", facts=facts)
        text = str(exc).lower()
        if "refused" in text or "10061" in text:
            return Outcome(Status.FAIL, "connection refused: HIMDS is not listening",
                           code="himds.refused", facts=facts)
        return Outcome(Status.FAIL, "HIMDS connection failed", code="himds.bad_response",
                       facts=facts)
    except (requests.exceptions.RequestException, OSError, ValueError) as exc:
        return Outcome(Status.FAIL, f"HIMDS request failed: {type(exc).__name__}",
                       code="himds.bad_response", facts=facts)
    finally:
        session.close()
    facts["status_code"] = response.status_code
    if response.status_code != 200:
        return Outcome(Status.FAIL, f"HIMDS answered HTTP {response.status_code}",
                       code="himds.bad_response", facts=facts)
    try:
        body = json.loads(response.text)
        compute = body.get("compute", {}) if isinstance(body, dict) else {}
    except ValueError:
        return Outcome(Status.FAIL, "HIMDS answered with something that is not JSON",
                       code="himds.bad_response", facts=facts)
    for key in ("name", "location", "resourceId", "azEnvironment"):
        if compute.get(key):
            facts[key] = compute[key]
    where = facts.get("resourceId") or "not connected yet"
    return Outcome(Status.PASS, f"HIMDS answered ({where})", facts=facts)
