"""``--use-azcli``: is the Azure CLI there, and signed in, for the user who will run connect?

With ``--use-azcli`` the agent (1.59 or later) borrows the Azure CLI's sign-in instead of asking
for one (azcmagent-connect.md, "Azure CLI credentials"). ``az account show`` answers from the
CLI's local profile without contacting Azure: the signed-in account and its tenant, or
"Please run 'az login' to setup account." and exit code 1 when nobody is signed in. The CLI keeps
its sign-in per user, so this check is only as good as running it as the same user who runs
``azcmagent connect`` (root, or an elevated prompt); the summary says which user it was.
"""

from __future__ import annotations

import getpass
import json
import os
import shutil
import subprocess
import sys
from typing import Any, Dict, Mapping, Optional

from ..model import Outcome, ProbeContext, Result, Status
from ..redact import bounded, redact


def find_az(configured: Optional[str]) -> Optional[str]:
    if configured:
        return configured if os.path.exists(configured) else None
    found = shutil.which("az")
    if found:
        return found
    if sys.platform.startswith("win"):  # pragma: no cover - the MSI's default folder
        base = os.environ.get("PROGRAMFILES", r"C:\Program Files")
        candidate = os.path.join(base, "Microsoft SDKs", "Azure", "CLI2", "wbin", "az.cmd")
        return candidate if os.path.exists(candidate) else None
    return None


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no name for this uid (a container); the number still says who
        return str(os.getuid()) if hasattr(os, "getuid") else "?"


def probe(ctx: ProbeContext, deps: Mapping[str, Result]) -> Outcome:
    settings = ctx.settings
    user = _user()
    binary = find_az(getattr(settings, "azcli", None))
    facts: Dict[str, Any] = {"az": binary, "user": user}
    if binary is None:
        return Outcome(Status.FAIL, "--use-azcli: the Azure CLI (az) is not installed or not on "
                       f"PATH for user {user}", code="params.azcli_missing", facts=facts)
    try:
        proc = subprocess.run([binary, "account", "show", "--output", "json"],
                              capture_output=True, text=True, timeout=max(ctx.budget(), 1.0),
                              check=False, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return Outcome(Status.WARN, "--use-azcli: az account show did not answer in time; "
                       "sign-in not verified", code="params.azcli_error", facts=facts)
    except OSError as exc:
        return Outcome(Status.FAIL, f"--use-azcli: {binary} cannot be run: {exc.strerror}",
                       code="params.azcli_missing", facts=facts)
    error = redact(bounded(proc.stderr.strip(), 400))
    if proc.returncode != 0:
        facts["exit_code"] = proc.returncode
        facts["stderr"] = error
        if "az login" in proc.stderr:
            return Outcome(Status.FAIL, f"--use-azcli: the Azure CLI is not signed in for user "
                           f"{user} ({error.splitlines()[0] if error else 'no account'})",
                           code="params.azcli_signed_out", facts=facts)
        return Outcome(Status.WARN, f"--use-azcli: az account show failed (exit "
                       f"{proc.returncode}): {error.splitlines()[0] if error else 'no message'}",
                       code="params.azcli_error", facts=facts)
    try:
        account = json.loads(proc.stdout[:1 << 20])
    except ValueError:
        account = None
    if not isinstance(account, dict):
        return Outcome(Status.WARN, "--use-azcli: az account show printed no account object",
                       code="params.azcli_error", facts=facts)
    user_entry = account.get("user")
    who: Dict[str, Any] = user_entry if isinstance(user_entry, dict) else {}
    facts.update({"account": bounded(str(who.get("name", "?")), 200),
                  "account_type": bounded(str(who.get("type", "?")), 40),
                  "tenant_id": bounded(str(account.get("tenantId", "")), 64),
                  "subscription": bounded(str(account.get("name", "")), 200),
                  "cloud": bounded(str(account.get("environmentName", "")), 64)})
    return _judge(settings, facts, user)


def _judge(settings: Any, facts: Dict[str, Any], user: str) -> Outcome:
    """The signed-in account against the flags: the right cloud, and the tenant asked for."""
    from ..catalog import find_cloud
    from ..errors import CatalogError

    try:
        wanted_cloud = find_cloud(settings.cloud).name
    except CatalogError:
        wanted_cloud = None
    cloud = facts["cloud"]
    if wanted_cloud and cloud and cloud.lower() != wanted_cloud.lower():
        return Outcome(Status.FAIL, f"--use-azcli: the Azure CLI is signed in to {cloud}, "
                       f"not {wanted_cloud} (az cloud set --name {wanted_cloud}, then az login)",
                       code="params.azcli_wrong_cloud", facts=facts)
    wanted_tenant = settings.user_tenant_id
    if wanted_tenant and facts["tenant_id"].lower() != wanted_tenant.lower():
        return Outcome(Status.WARN, f"--use-azcli: the Azure CLI's current tenant is "
                       f"{facts['tenant_id']}, not --user-tenant-id {wanted_tenant}",
                       code="params.azcli_tenant", facts=facts)
    return Outcome(Status.PASS, f"Azure CLI signed in for user {user} as {facts['account']} "
                   f"({facts['account_type']}), tenant {facts['tenant_id']}", facts=facts)
