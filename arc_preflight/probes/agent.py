"""Agent state: installed or not, its version and connection status, its identity certificate.

``azcmagent show -j`` is the agent's own view (no admin rights needed since 1.31); its JSON has
changed between versions, so keys are read defensively, by JSON name or display name. Files are
read from ``--agent-dir`` so a test points every path at stand-ins.
"""

from __future__ import annotations

import datetime as _dt
import glob
import json
import os
import shutil
import subprocess
import sys
from typing import Any, Dict, List, Mapping, Optional

from ..model import Outcome, ProbeContext, Result, Status
from .agentconfig import read_agentconfig

CERT_WARN_DAYS = 30  # the agent renews at 45 days left; under 30 means renewal is failing


def find_azcmagent(configured: Optional[str]) -> Optional[str]:
    if configured:
        return configured if os.path.exists(configured) else None
    found = shutil.which("azcmagent")
    if found:
        return found
    if sys.platform.startswith("win"):  # pragma: no cover
        base = os.environ.get("PROGRAMFILES", r"C:\Program Files")
        candidate = os.path.join(base, "AzureConnectedMachineAgent", "azcmagent.exe")
    else:
        candidate = "/opt/azcmagent/bin/azcmagent"
    return candidate if os.path.exists(candidate) else None


def _pick(data: Mapping[str, Any], *keys: str) -> Any:
    lowered = {str(k).replace(" ", "").lower(): v for k, v in data.items()}
    for key in keys:
        value = lowered.get(key.replace(" ", "").lower())
        if value not in (None, ""):
            return value
    return None


def show(binary: str, timeout: float) -> Dict[str, Any]:
    """``azcmagent show -j`` parsed; raises OSError/ValueError/TimeoutExpired on failure."""
    proc = subprocess.run([binary, "show", "-j"], capture_output=True, text=True,
                          timeout=timeout, check=False)
    text = proc.stdout
    decoder = json.JSONDecoder()
    # Warnings may come before or after the JSON on stdout: take the first object that parses
    # and looks like the agent's status.
    position = text.find("{")
    while position >= 0:
        try:
            data, _ = decoder.raw_decode(text, position)
        except ValueError:
            data = None
        if isinstance(data, dict) and _pick(data, "status", "Agent Status", "agentVersion",
                                            "Agent Version") is not None:
            return data
        position = text.find("{", position + 1)
    raise ValueError(f"azcmagent show -j printed no status object (exit {proc.returncode})")


def heartbeat_age(value: Any, now: Optional[_dt.datetime] = None) -> Optional[float]:
    """Seconds since the agent's last heartbeat, from the timestamp ``azcmagent show`` prints."""
    if not value:
        return None
    text = str(value).strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"  # Python 3.9's fromisoformat does not read 'Z'
    if "." in text:
        # Go prints up to nine fractional digits; Python 3.9 reads exactly three or six.
        head, _, tail = text.partition(".")
        digits = ""
        for ch in tail:
            if not ch.isdigit():
                break
            digits += ch
        zone = tail[len(digits):]
        text = f"{head}.{digits[:6].ljust(6, '0')}{zone}"
    try:
        when = _dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=_dt.timezone.utc)
    return ((now or _dt.datetime.now(_dt.timezone.utc)) - when).total_seconds()


HEARTBEAT_WARN_S = 15 * 60  # a heartbeat is due every 5 minutes; Azure flags 15-30 minutes
HEARTBEAT_FAIL_S = 60 * 60


def probe(settings_dir: str, binary_setting: Optional[str], profile: str, ctx: ProbeContext,
          deps: Mapping[str, Result]) -> Outcome:
    binary = find_azcmagent(binary_setting)
    config = read_agentconfig(settings_dir)
    facts: Dict[str, Any] = {"azcmagent": binary, "agentconfig": bool(config)}
    if config.get("resourcename"):
        facts["resource_name"] = config["resourcename"]
    if binary is None and not config:
        return Outcome(Status.PASS, "agent not installed: checking before installation",
                       facts={**facts, "installed": False})
    facts["installed"] = True
    # When this tool cannot read the agent's state, that is not the agent reporting an error.
    if binary is None:
        return Outcome(Status.WARN, "agent configuration found but no azcmagent program",
                       code="agent.unreadable", facts=facts)
    try:
        data = show(binary, ctx.budget())
    except subprocess.TimeoutExpired:
        return Outcome(Status.WARN, "azcmagent show did not answer in time",
                       code="agent.unreadable", facts=facts)
    except (OSError, ValueError) as exc:
        return Outcome(Status.WARN, f"could not read azcmagent show: {exc}",
                       code="agent.unreadable", facts=facts)
    status = str(_pick(data, "status", "Agent Status") or "unknown")
    version = _pick(data, "agentVersion", "Agent Version")
    heartbeat = _pick(data, "lastHeartbeat", "Agent Last Heartbeat")
    error_code = _pick(data, "agentErrorCode", "errorCode", "Agent Error Code")
    error_text = _pick(data, "agentErrorDetails", "errorDetails", "Agent Error Details")
    if isinstance(error_code, dict):  # some versions nest {"code": ..., "message": ...}
        error_text = error_text or error_code.get("message")
        error_code = error_code.get("code")
    facts.update({"status": status, "version": version, "last_heartbeat": heartbeat,
                  "error_code": error_code, "resource_id": _pick(data, "resourceId",
                                                                 "Resource Id")})
    where = f"agent {version or '?'}, {status}"
    lowered = status.lower()
    if lowered == "expired":
        return Outcome(Status.FAIL, f"{where}: its identity expired; it must be disconnected and "
                       "connected again", code="agent.expired", facts=facts)
    if error_code:
        return Outcome(Status.WARN, f"{where}: agent reports {error_code}"
                       + (f" ({error_text})" if error_text else ""), code="agent.error",
                       facts=facts)
    if profile == "health":
        return _health(where, lowered, heartbeat, facts)
    if lowered == "connected":
        return Outcome(Status.WARN, f"{where}: already connected; azcmagent connect would fail "
                       "with AZCM0067 until it is disconnected", code="agent.connected",
                       facts=facts)
    if lowered == "disconnected":
        if not facts.get("resource_id") and not config.get("resourcename"):
            return Outcome(Status.PASS, f"{where}: installed, not connected yet: ready for "
                           "azcmagent connect", facts=facts)
        return Outcome(Status.WARN, f"{where}: connected once but heartbeats stopped",
                       code="agent.disconnected", facts=facts)
    return Outcome(Status.PASS, where, facts=facts)


def _health(where: str, status: str, heartbeat: Any, facts: Dict[str, Any]) -> Outcome:
    """On a connected server, Connected is the healthy state and the heartbeat must be fresh."""
    if status != "connected":
        return Outcome(Status.FAIL, f"{where}: the agent should be connected",
                       code="agent.disconnected", facts=facts)
    age = heartbeat_age(heartbeat)
    if age is None:
        return Outcome(Status.PASS, f"{where} (last heartbeat not reported)", facts=facts)
    facts["heartbeat_age_s"] = int(age)
    minutes = age / 60
    if age > HEARTBEAT_FAIL_S:
        return Outcome(Status.FAIL, f"{where}, but the last heartbeat was {minutes:.0f} minutes "
                       "ago", code="agent.heartbeat_old", facts=facts)
    if age > HEARTBEAT_WARN_S:
        return Outcome(Status.WARN, f"{where}, but the last heartbeat was {minutes:.0f} minutes "
                       "ago (one is due every 5)", code="agent.heartbeat_old", facts=facts)
    return Outcome(Status.PASS, f"{where}, last heartbeat {minutes:.0f} minutes ago",
                   facts=facts)


def certificate_folder(agent_dir: str) -> str:
    """Linux keeps certs inside the agent folder; Windows keeps Certs beside Config."""
    if sys.platform.startswith("win"):  # pragma: no cover - Windows only
        return os.path.join(os.path.dirname(os.path.normpath(agent_dir)), "Certs")
    return os.path.join(agent_dir, "certs")


def certificate_files(agent_dir: str) -> List[str]:
    folder = certificate_folder(agent_dir)
    found: List[str] = []
    for pattern in ("*.crt", "*.cer", "*.pem"):
        found.extend(glob.glob(os.path.join(folder, pattern)))
    return sorted(found)


def certificate_probe(agent_dir: str, ctx: ProbeContext, deps: Mapping[str, Result]) -> Outcome:
    """Expiry of the managed-identity certificate, where this user may read it."""
    files = certificate_files(agent_dir)
    folder = certificate_folder(agent_dir)
    if not files:
        if os.path.isdir(folder) and not os.access(folder, os.R_OK | os.X_OK):
            return Outcome(Status.SKIP, "certificate folder not readable (run as root to check)")
        return Outcome(Status.SKIP, "no managed-identity certificate (not connected yet)")
    from cryptography import x509

    now = _dt.datetime.now(_dt.timezone.utc)
    soonest: Optional[_dt.datetime] = None
    facts: Dict[str, Any] = {"files": len(files)}
    for path in files:
        try:
            with open(path, "rb") as handle:
                data = handle.read(1024 * 1024)
            cert = (x509.load_pem_x509_certificate(data) if b"-----BEGIN" in data
                    else x509.load_der_x509_certificate(data))
        except PermissionError:
            return Outcome(Status.SKIP, "certificate not readable (run as root to check)")
        except (OSError, ValueError):
            continue
        try:
            expires = cert.not_valid_after_utc
        except AttributeError:  # pragma: no cover - cryptography < 42
            expires = cert.not_valid_after.replace(tzinfo=_dt.timezone.utc)
        if soonest is None or expires < soonest:
            soonest = expires
    if soonest is None:
        return Outcome(Status.SKIP, "no readable certificate in the certificate folder",
                       facts=facts)
    days = (soonest - now).total_seconds() / 86400
    facts.update({"not_after": soonest.strftime("%Y-%m-%dT%H:%M:%SZ"), "days_left": int(days)})
    if days < 0:
        return Outcome(Status.FAIL, f"managed-identity certificate expired {-days:.0f} days ago",
                       code="agent.cert_expired", facts=facts)
    if days < CERT_WARN_DAYS:
        return Outcome(Status.WARN, f"managed-identity certificate expires in {days:.0f} days "
                       "(the agent renews at 45: renewal is failing)", code="agent.cert_expiring",
                       facts=facts)
    return Outcome(Status.PASS, f"managed-identity certificate valid for {days:.0f} more days",
                   facts=facts)
