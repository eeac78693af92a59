"""Agent state: installed or not, its version and connection status, its identity certificate.

``azcmagent show -j`` is the agent's own view (no admin rights needed since 1.31); its JSON has
changed between versions, so keys are read defensively, by JSON name or display name. Files are
read from ``--agent-dir`` so a test points every path at stand-ins.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
import subprocess
import sys
import threading
from typing import Any, Dict, List, Mapping, Optional, Tuple

from ..model import Outcome, ProbeContext, Result, Status
from ..redact import bounded
from .agentconfig import AGENTCONFIG, needs_elevation, present, read

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


_SHOWN: Dict[str, Tuple[float, Any]] = {}  # binary -> (when, parsed output or the exception)
_SHOWN_LOCK = threading.Lock()
SHOW_REUSE_S = 30.0


def show_once(binary: str, timeout: float) -> Dict[str, Any]:
    """:func:`show`, run once per binary and run (the proxy plan reads it before the probes
    run; the agent probe then reuses the answer, or the failure, for up to 30 seconds)."""
    import time

    with _SHOWN_LOCK:
        cached = _SHOWN.get(binary)
        if cached is None or time.monotonic() - cached[0] > SHOW_REUSE_S:
            try:
                found: Any = show(binary, timeout)
            except (OSError, ValueError, subprocess.TimeoutExpired) as exc:
                found = exc
            _SHOWN[binary] = (time.monotonic(), found)
        else:
            found = cached[1]
    if isinstance(found, BaseException):
        raise found
    return dict(found)


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
    config, problem = read(settings_dir, AGENTCONFIG)
    facts: Dict[str, Any] = {"azcmagent": binary, "agentconfig": bool(config)}
    if config.get("resourcename"):
        facts["resource_name"] = bounded(config["resourcename"], 256)
    closed = needs_elevation(problem) or (
        os.path.isdir(settings_dir) and not os.access(settings_dir, os.R_OK | os.X_OK)
        and present(settings_dir, AGENTCONFIG))
    if binary is None and not config and closed:
        # The agent's folder is there but closed to this user: installed as far as anyone can
        # tell, and only an elevated run can say more.
        return Outcome(Status.WARN, f"agent files in {settings_dir} are not readable by this "
                       "user: run elevated to check the agent's state",
                       code="privilege.not_admin", facts={**facts, "installed": True})
    if binary is None and not config:
        return Outcome(Status.PASS, "agent not installed: checking before installation",
                       facts={**facts, "installed": False})
    facts["installed"] = True
    # When this tool cannot read the agent's state, that is not the agent reporting an error.
    if binary is None:
        return Outcome(Status.WARN, "agent configuration found but no azcmagent program",
                       code="agent.unreadable", facts=facts)
    try:
        data = show_once(binary, ctx.budget())
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
    identity = connection_identity(data)
    facts.update({k: v for k, v in identity.items() if v})
    error_at = _pick(data, "agentErrorTimestamp", "Agent Error Timestamp")
    if error_at:
        facts["error_timestamp"] = error_at
    key_store = _pick(data, "identityKeyStore", "Identity Key Store")
    if key_store:
        facts["identity_key_store"] = key_store
    services = service_states(data)
    if services:
        facts["services"] = services
    stopped = [f"{s['name']} ({s['status']})" for s in services
               if str(s["status"]).lower() not in RUNNING_STATES]
    if stopped:
        facts["services_not_running"] = stopped
    mismatches = compare_with_flags(identity, ctx.settings)
    if mismatches:
        facts["differs_from_flags"] = mismatches
    where = f"agent {version or '?'}, {status}"
    lowered = status.lower()
    tail = (f"; services not running: {', '.join(stopped)}" if stopped else "")
    if lowered == "expired":
        return Outcome(Status.FAIL, f"{where}: its identity expired; it must be disconnected and "
                       "connected again" + tail, code="agent.expired", facts=facts)
    if error_code and _error_is_stale(lowered, error_at, heartbeat):
        # An error from before the last heartbeat: the agent has recovered since.
        facts["earlier_error"] = facts.pop("error_code")
        error_code = None
    if error_code:
        return Outcome(Status.WARN, f"{where}: agent reports {error_code}"
                       + (f" ({error_text})" if error_text else "")
                       + (f" at {error_at}" if error_at else "") + tail, code="agent.error",
                       facts=facts)
    elsewhere = _describe_mismatch(mismatches)
    if profile == "health":
        outcome = _health(where, lowered, heartbeat, facts)
        if outcome.status is Status.PASS and mismatches:
            return Outcome(Status.WARN, f"{where}: connected {elsewhere}",
                           code="agent.connected_elsewhere", facts=facts)
        return outcome
    if lowered == "connected":
        if mismatches:
            return Outcome(Status.WARN, f"{where}: already connected {elsewhere}; azcmagent "
                           "connect would fail with AZCM0067, and disconnecting deletes that "
                           "resource" + tail, code="agent.connected_elsewhere", facts=facts)
        return Outcome(Status.WARN, f"{where}: already connected; azcmagent connect would fail "
                       "with AZCM0067 until it is disconnected" + tail, code="agent.connected",
                       facts=facts)
    if lowered == "disconnected":
        if not facts.get("resource_id") and not config.get("resourcename"):
            return Outcome(Status.PASS, f"{where}: installed, not connected yet: ready for "
                           "azcmagent connect" + tail, facts=facts)
        return Outcome(Status.WARN, f"{where}: connected once but heartbeats stopped"
                       + (f" (it was connected {elsewhere})" if mismatches else "") + tail,
                       code="agent.disconnected", facts=facts)
    return Outcome(Status.PASS, where + tail, facts=facts)


# What "azcmagent show -j" says about the connection. JSON keys observed in public scripts:
# resourceName, resourceGroup, subscriptionId, tenantId, location (e.g. the Arc move script and
# the SQL extension upgrade steps that read "$arcInfo.resourceGroup/.subscriptionId/.TenantId/
# .location"; Azure/arc_jumpstart_drops ArcEndpointCheck.ps1 reads .location). Keys for the
# cloud, the identity key store and the error timestamp are not published; the display names
# ("Cloud", "Identity Key Store", "Agent Error Timestamp", "Resource Group Name"...) are those of
# the azcmagent show sample in MicrosoftDocs/azure-stack-docs azure-local/manage/
# disconnected-operations-post-restore-reconnect-arc.md, and _pick accepts either form.
_IDENTITY_KEYS = {
    "subscription_id": ("subscriptionId", "Subscription ID"),
    "tenant_id": ("tenantId", "Tenant ID"),
    "resource_group": ("resourceGroup", "resourceGroupName", "Resource Group Name"),
    "location": ("location", "Location"),
    "cloud": ("cloud", "Cloud"),
    "connected_name": ("resourceName", "Resource Name"),
}
# Service states: "running" on Windows (MicrosoftDocs/PowerShell-Docs-Modules Crescendo
# research-tool.md, "$agentStatus.services": displayName, serviceName, status), "active" on
# Linux (facts 3.1).
RUNNING_STATES = ("running", "active")
_FLAGS = {"subscription_id": "--subscription-id", "tenant_id": "--tenant-id",
          "resource_group": "--resource-group", "location": "--location", "cloud": "--cloud",
          "connected_name": "--resource-name"}


def connection_identity(data: Mapping[str, Any]) -> Dict[str, str]:
    """Subscription, tenant, group, region, cloud and name the agent is connected with."""
    found = {key: str(_pick(data, *keys) or "") for key, keys in _IDENTITY_KEYS.items()}
    resource_id = str(_pick(data, "resourceId", "Resource Id") or "")
    parts = resource_id.strip("/").split("/")
    lowered = [p.lower() for p in parts]
    for key, marker in (("subscription_id", "subscriptions"),
                        ("resource_group", "resourcegroups"), ("connected_name", "machines")):
        if not found[key] and marker in lowered and lowered.index(marker) + 1 < len(parts):
            found[key] = parts[lowered.index(marker) + 1]
    return found


def service_states(data: Mapping[str, Any]) -> List[Dict[str, str]]:
    """The agent's per-service states from ``services`` (name and status)."""
    raw = _pick(data, "services", "Dependent Service Status")
    if not isinstance(raw, list):
        return []
    found = []
    for item in raw[:16]:
        if isinstance(item, dict):
            name = _pick(item, "serviceName", "displayName", "name")
            state = _pick(item, "status", "state")
            if name:
                found.append({"name": str(name)[:80], "status": str(state or "unknown")[:40]})
    return found


def _same(key: str, agent_value: str, given: str) -> bool:
    from ..catalog import find_cloud, normalise_region
    from ..errors import CatalogError

    if key == "location":
        return normalise_region(agent_value) == normalise_region(given)
    if key == "cloud":
        try:
            return find_cloud(agent_value).name == find_cloud(given).name
        except CatalogError:
            return agent_value.strip().lower() == given.strip().lower()
    return agent_value.strip().lower() == given.strip().lower()


def _guid(value: str) -> bool:
    import re

    return bool(re.fullmatch(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}", value))


def compare_with_flags(identity: Mapping[str, str], settings: Any) -> List[Dict[str, str]]:
    """Where the agent's connection differs from the connect flags given to check."""
    if settings is None:
        return []
    given = {"subscription_id": settings.subscription_id, "tenant_id": settings.tenant_id,
             "resource_group": settings.resource_group, "location": settings.location,
             # The default cloud is not compared: it is not something the user gave.
             "cloud": settings.cloud if settings.cloud != "AzureCloud" else None,
             "connected_name": settings.resource_name}
    found = []
    for key, value in given.items():
        have = identity.get(key) or ""
        if not value or not have:
            continue
        if key == "subscription_id" and not (_guid(value) and _guid(have)):
            continue  # a subscription given by name cannot be compared with the agent's id
        if not _same(key, have, str(value)):
            found.append({"flag": _FLAGS[key], "agent": have, "given": str(value)})
    return found


def _describe_mismatch(mismatches: List[Dict[str, str]]) -> str:
    said = ", ".join(f"{m['flag'].lstrip('-')} {m['agent']} (check was given {m['given']})"
                     for m in mismatches)
    return f"with {said}" if said else ""


def _error_is_stale(status: str, error_at: Any, heartbeat: Any) -> bool:
    """An error recorded before the last heartbeat of a connected agent is history."""
    if status != "connected" or not error_at or not heartbeat:
        return False
    error_age, beat_age = heartbeat_age(error_at), heartbeat_age(heartbeat)
    return error_age is not None and beat_age is not None and error_age > beat_age


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


# The managed-identity certificate, as the agent writes it. The agent keeps it as "myCert" (no
# extension) in /var/opt/azcmagent/certs and as "myCert.cer" in
# C:\ProgramData\AzureConnectedMachineAgent\Certs; the content is a base64 PKCS#12 bundle
# without a password. Public readers of the real file: NetSPI/MicroBurst
# Az/Get-AzArcCertificates.ps1 ("cat /var/opt/azcmagent/certs/myCert", then
# [Convert]::FromBase64String(...) written as .pfx and opened with Get-PfxCertificate, no
# password) and BishopFox/cloudfox internal/azure/arc_helpers.go ("base64 -d > X.pfx", then
# "openssl pkcs12 -in X.pfx -nodes -passin pass:"). Folders and the 90-day validity renewed at
# 45 days left: Microsoft's security-identity-authorization.md (azure-management-docs,
# articles/azure-arc/servers, lines 19 and 21). PEM and DER X.509 files are still read for
# older agents and hand-made copies.
IDENTITY_CERT_NAMES = ("mycert", "mycert.cer")  # compared case-insensitively
CERT_SUFFIXES = (".crt", ".cer", ".pem")
CERT_RENEW_DAYS = 45  # the agent starts renewing when 45 days or fewer are left
CERT_MAX_BYTES = 1024 * 1024


def certificate_files(agent_dir: str) -> List[str]:
    """The identity certificate files in the agent's certificate folder.

    ``myCert``/``myCert.cer`` are the agent's own; when one is there, other files (left-overs,
    copies) are not judged. Without it, any ``*.crt``, ``*.cer`` or ``*.pem`` file is read."""
    folder = certificate_folder(agent_dir)
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return []
    own = [n for n in names if n.lower() in IDENTITY_CERT_NAMES]
    chosen = own or [n for n in names if n.lower().endswith(CERT_SUFFIXES)]
    return [os.path.join(folder, n) for n in chosen if os.path.isfile(os.path.join(folder, n))]


def _base64_body(data: bytes) -> Optional[bytes]:
    """The bytes a base64 text decodes to, or None when ``data`` is not base64 text."""
    import base64
    import binascii

    text = b"".join(data.split())
    if not text or len(text) % 4:
        return None
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def load_identity_certificate(data: bytes) -> Tuple[Any, str]:
    """(certificate, format) from a certificate file's bytes; raises ValueError when no
    certificate can be read (a password-protected or damaged bundle included).

    Formats: ``pkcs12-base64`` (what current agents write), ``pkcs12``, ``pem``, ``der`` and
    ``der-base64``."""
    from cryptography import x509
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.serialization import pkcs12

    if b"-----BEGIN" in data:
        try:
            return x509.load_pem_x509_certificate(data), "pem"
        except ValueError as exc:
            raise ValueError(f"PEM text holds no readable certificate ({exc})") from None
    candidates: List[Tuple[bytes, str]] = []
    decoded = _base64_body(data)
    if decoded is not None:
        candidates.append((decoded, "base64"))
    candidates.append((data, ""))
    problems: List[str] = []
    for blob, encoding in candidates:
        try:
            _key, cert, extra = pkcs12.load_key_and_certificates(blob, None)
        except ValueError as exc:
            # A PKCS#12 bundle that needs a password is not what the agent writes.
            if "password" in str(exc).lower():
                problems.append("a PKCS#12 bundle that needs a password")
        except (TypeError, UnsupportedAlgorithm) as exc:
            problems.append(f"PKCS#12 not readable ({type(exc).__name__})")
        else:
            cert = cert or (extra[0] if extra else None)
            if cert is not None:
                return cert, "pkcs12" + (f"-{encoding}" if encoding else "")
            problems.append("a PKCS#12 bundle without a certificate")
        try:
            return x509.load_der_x509_certificate(blob), "der" + (f"-{encoding}" if encoding
                                                                     else "")
        except ValueError:
            pass
    reason = "; ".join(dict.fromkeys(problems)) or "neither base64 PKCS#12, PEM nor DER"
    raise ValueError(reason)


def certificate_probe(agent_dir: str, ctx: ProbeContext, deps: Mapping[str, Result]) -> Outcome:
    """Expiry of the managed-identity certificate, where this user may read it."""
    folder = certificate_folder(agent_dir)
    if os.path.isdir(folder) and not os.access(folder, os.R_OK | os.X_OK):
        return Outcome(Status.SKIP, "certificate folder not readable (run as root to check)",
                       facts={"folder": folder})
    files = certificate_files(agent_dir)
    if not files:
        return Outcome(Status.SKIP, "no managed-identity certificate (not connected yet)",
                       facts={"folder": folder})
    now = _dt.datetime.now(_dt.timezone.utc)
    soonest: Optional[_dt.datetime] = None
    facts: Dict[str, Any] = {"folder": folder, "files": len(files)}
    read: List[Dict[str, Any]] = []
    unreadable: List[str] = []
    for path in files:
        try:
            with open(path, "rb") as handle:
                data = handle.read(CERT_MAX_BYTES)
        except PermissionError:
            return Outcome(Status.SKIP, "certificate not readable (run as root to check)",
                           facts=facts)
        except OSError as exc:
            unreadable.append(f"{os.path.basename(path)}: {exc.strerror or exc}")
            continue
        try:
            cert, form = load_identity_certificate(data)
        except ValueError as exc:
            unreadable.append(f"{os.path.basename(path)}: {exc}")
            continue
        try:
            expires = cert.not_valid_after_utc
        except AttributeError:  # pragma: no cover - cryptography < 42
            expires = cert.not_valid_after.replace(tzinfo=_dt.timezone.utc)
        read.append({"file": os.path.basename(path), "format": form,
                     "not_after": expires.strftime("%Y-%m-%dT%H:%M:%SZ")})
        if soonest is None or expires < soonest:
            soonest = expires
    facts["certificates"] = read
    if unreadable:
        facts["unreadable"] = unreadable
    if soonest is None:
        return Outcome(Status.SKIP, "no readable certificate in the certificate folder ("
                       + "; ".join(unreadable) + ")", facts=facts)
    days = (soonest - now).total_seconds() / 86400
    renews_at = soonest - _dt.timedelta(days=CERT_RENEW_DAYS)
    facts.update({"not_after": soonest.strftime("%Y-%m-%dT%H:%M:%SZ"), "days_left": int(days),
                  "renews_at": renews_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                  "renewal_due": days <= CERT_RENEW_DAYS})
    if days < 0:
        return Outcome(Status.FAIL, f"managed-identity certificate expired {-days:.0f} days ago",
                       code="agent.cert_expired", facts=facts)
    if days < CERT_WARN_DAYS:
        return Outcome(Status.WARN, f"managed-identity certificate expires in {days:.0f} days "
                       f"(the agent renews at {CERT_RENEW_DAYS}: renewal is failing)",
                       code="agent.cert_expiring", facts=facts)
    if days <= CERT_RENEW_DAYS:
        return Outcome(Status.PASS, f"managed-identity certificate valid for {days:.0f} more "
                       f"days: renewal is due (the agent renews at {CERT_RENEW_DAYS} days left)",
                       facts=facts)
    return Outcome(Status.PASS, f"managed-identity certificate valid for {days:.0f} more days "
                   f"(renewal from {renews_at:%Y-%m-%d})", facts=facts)
