"""Which state the agent is in, and the command that moves it on from there.

``azcmagent show`` says Connected, Disconnected or Expired, but an admin needs more than the
word: a Disconnected agent that never had a resource needs ``azcmagent connect``, one that lost
its heartbeat needs its service and network looked at, and an Expired one needs its Azure
resource deleted before it can connect again (overview.md, "Agent status": 45 days without a
heartbeat). This module names the state from what the agent check saw and builds the exact
commands for this machine from the connect flags given to ``check`` (placeholders where a flag
was not given; never the secret). It also compares the agent's view with HIMDS's and the agent's
version with the release list in ``data/agent_releases.toml``.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import re
import shlex
import subprocess
import sys
from functools import lru_cache
from typing import Any, Dict, List, Mapping, Optional, Tuple

from ..model import Outcome, ProbeContext, Result, Status
from . import agent

# The states told apart; the agent check's facts carry one of them as "state".
NOT_INSTALLED = "not_installed"
NOT_CONNECTED = "not_connected"  # installed, never connected (no resource recorded)
CONNECTED = "connected"
DISCONNECTED = "disconnected"  # connected once, heartbeats stopped
EXPIRED = "expired"
ERROR = "error"
UNKNOWN = "unknown"



def _windows(platform: Optional[str] = None) -> bool:
    return (platform or sys.platform).startswith("win")


def _quote(value: str, windows: bool) -> str:
    """One argument, quoted for the shell the admin will paste it into."""
    if windows:
        return value if re.fullmatch(r"[\w.:/@=+-]+", value) else '"' + value.replace(
            '"', '\\"') + '"'
    return shlex.quote(value)


def _flag(name: str, value: Optional[str], placeholder: Optional[str], windows: bool) -> str:
    if value:
        return f" {name} {_quote(str(value), windows)}"
    return f" {name} <{placeholder}>" if placeholder else ""


def connect_command(settings: Any, identity: Mapping[str, Any],
                    platform: Optional[str] = None) -> str:
    """``azcmagent connect`` with the flags given to check (or the agent's own values, or a
    placeholder). The secret is never written out: it stays ``<secret>``."""
    win = _windows(platform)

    def given(key: str, agent_key: str = "") -> Optional[str]:
        value = getattr(settings, key, None) if settings is not None else None
        return str(value) if value else (str(identity.get(agent_key) or "") or None)

    text = "azcmagent connect"
    text += _flag("--resource-group", given("resource_group", "resource_group"),
                  "resource-group", win)
    text += _flag("--tenant-id", given("tenant_id", "tenant_id"), "tenant-id", win)
    text += _flag("--location", given("location", "location"), "region", win)
    text += _flag("--subscription-id", given("subscription_id", "subscription_id"),
                  "subscription-id", win)
    cloud = given("cloud", "cloud")
    if cloud and cloud.lower() != "azurecloud":
        text += _flag("--cloud", cloud, None, win)
    text += _flag("--resource-name", given("resource_name"), None, win)
    text += _flag("--private-link-scope", given("private_link_scope"), None, win)
    text += _flag("--tags", given("tags"), None, win)
    # azcmagent-connect.md: --gateway-id "is required if you're using Azure Arc gateway". The
    # agent records no gateway id anywhere documented (azcmagent show gives the gateway URL at
    # most), so it comes from the flags or stays a placeholder.
    gateway_id = given("gateway_id")
    if gateway_id:
        text += _flag("--gateway-id", gateway_id, None, win)
    elif _gateway_mode(settings):
        text += " --gateway-id <gateway-resource-id>"
    sp_id = given("service_principal_id")
    if sp_id:
        text += _flag("--service-principal-id", sp_id, None, win)
        text += " --service-principal-secret <secret>"
    return text


def _gateway_mode(settings: Any) -> bool:
    """Is this machine meant to use an Arc gateway whose id nobody gave: a --gateway-url, or
    the agent set to ``connection.type gateway`` (arc-gateway.md)?"""
    if settings is None:
        return False
    if getattr(settings, "gateway_url", None):
        return True
    agent_dir = getattr(settings, "agent_dir", None)
    if not agent_dir:
        return False
    from .agentconfig import read_localconfig

    kind = read_localconfig(str(agent_dir)).get("connection.type")
    return isinstance(kind, str) and kind.strip().lower() == "gateway"


# azcmagent-disconnect.md: disconnect "deletes the Azure Arc-enabled server resource in the
# cloud" (its extensions are part of it); manage-vm-extensions.md: a machine with extensions
# "can be moved between resource groups, or to another Azure subscription" in the same tenant.
DISCONNECT_CAUTION = (
    "azcmagent disconnect deletes this machine's Azure resource with its extensions. To keep "
    "them, move the resource in Azure instead (another resource group or subscription in the "
    "same tenant: az resource move); disconnect only to connect it anew")
# The connect flags that name the resource, with the agent fact each is compared with.
IDENTITY_FLAGS = {"subscription_id": "subscription_id", "tenant_id": "tenant_id",
                  "resource_group": "resource_group", "location": "location",
                  "resource_name": "connected_name"}
# At least one of these must be given: a region or tenant alone does not name a resource.
NAMING_FLAGS = ("subscription_id", "resource_group", "resource_name")


def connected_as_given(facts: Mapping[str, Any], settings: Any) -> bool:
    """Connected with exactly the connect flags given: the flags name a resource, and every one
    given equals what ``azcmagent show`` reports (one the agent does not report is unknown,
    so not "exactly")."""
    if settings is None or facts.get("differs_from_flags"):
        return False
    if not any(getattr(settings, key, None) for key in NAMING_FLAGS):
        return False
    for key, fact in IDENTITY_FLAGS.items():
        value = getattr(settings, key, None)
        if not value:
            continue
        have = str(facts.get(fact) or "")
        if not have or not agent._same(fact, have, str(value)):
            return False
    return True


def restart_command(platform: Optional[str] = None) -> str:
    return "Restart-Service himds" if _windows(platform) else "sudo systemctl restart himdsd"


def state_of(outcome: Outcome) -> str:
    """The agent check's verdict, named."""
    facts = outcome.facts
    if not facts.get("installed"):
        return NOT_INSTALLED
    status = str(facts.get("status") or "").lower()
    if outcome.code == "agent.expired" or status == "expired":
        return EXPIRED
    if outcome.code == "agent.error":
        return ERROR
    if status == "connected":
        return CONNECTED
    if status == "disconnected":
        return DISCONNECTED if facts.get("resource_id") or facts.get("resource_name") \
            else NOT_CONNECTED
    return UNKNOWN


def next_commands(state: str, facts: Mapping[str, Any], settings: Any, profile: str,
                  platform: Optional[str] = None) -> List[str]:
    """The commands, in order, that move an agent in ``state`` on; empty when none is due."""
    connect = connect_command(settings, facts, platform)
    location = getattr(settings, "location", None) or facts.get("location")
    win = _windows(platform)
    if state == NOT_CONNECTED:
        return [connect]
    if state == CONNECTED:
        if connected_as_given(facts, settings) or (
                profile == "health" and not facts.get("differs_from_flags")):
            return []  # already where the flags ask: nothing to move on to
        return ["azcmagent disconnect", connect]
    if state == DISCONNECTED:
        check = "azcmagent check" + _flag("--location", location, "region", win)
        return [restart_command(platform), check]
    if state == EXPIRED:
        delete = ("az connectedmachine delete"
                  + _flag("--resource-group", facts.get("resource_group"), "resource-group", win)
                  + _flag("--name", facts.get("connected_name") or facts.get("resource_name"),
                          "machine-name", win)
                  + _flag("--subscription", facts.get("subscription_id"), None, win))
        return [delete, "azcmagent disconnect --force-local-only", connect]
    return []


def _vm_id(binary: Any, ctx: ProbeContext) -> Optional[str]:
    """The agent's VM id from ``azcmagent show`` (``vmId``, "VM ID"): the answer the agent
    check just read, kept for 30 seconds, so no second run of the program."""
    if not binary:
        return None
    try:
        data = agent.show_once(str(binary), ctx.budget())
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return None
    value = agent._pick(data, "vmId", "VM ID")
    return str(value)[:80] if isinstance(value, str) and value.strip() else None


def agent_probe(agent_dir: str, binary: Optional[str], profile: str, ctx: ProbeContext,
                deps: Mapping[str, Result]) -> Outcome:
    """The agent check, with its state named and the next commands in its facts."""
    outcome = agent.probe(agent_dir, binary, profile, ctx, deps)
    state = state_of(outcome)
    facts: Dict[str, Any] = {**outcome.facts, "state": state}
    vm_id = _vm_id(outcome.facts.get("azcmagent"), ctx) if facts.get("status") else None
    if vm_id:
        facts["vm_id"] = vm_id  # the fleet report finds clones by it
    commands = next_commands(state, facts, ctx.settings, profile)
    if commands:
        facts["next_command"] = commands
        if "azcmagent disconnect" in commands:
            facts["next_caution"] = DISCONNECT_CAUTION  # said before the commands
    status, code, summary = outcome.status, outcome.code, outcome.summary
    if state == CONNECTED and profile != "health" and connected_as_given(facts, ctx.settings):
        status, code = Status.PASS, None
        summary = (f"agent {facts.get('version') or '?'}, {facts.get('status')}: already "
                   "connected as the flags given ask; nothing to connect")
    if state == NOT_CONNECTED and profile == "health":
        # Never connected is not a lost connection: it needs connect, not a restart.
        status, code = Status.FAIL, "agent.not_connected"
        summary = (f"agent {facts.get('version') or '?'}, {facts.get('status')}: installed but "
                   "never connected")
    if commands and state in (NOT_CONNECTED, DISCONNECTED, EXPIRED):
        summary += f"; next: {commands[0]}"
    return dataclasses.replace(outcome, status=status, code=code, summary=summary, facts=facts)


# --------------------------------------------------------------------------------------------
# the agent's view against HIMDS's


def _resource(value: Any) -> str:
    return str(value or "").strip().rstrip("/").lower()


def himds_match_probe(ctx: ProbeContext, deps: Mapping[str, Result]) -> Outcome:
    """Does the running agent service (HIMDS) serve the resource ``azcmagent show`` names?

    ``azcmagent show`` reads the agent's recorded state; HIMDS answers from what the service
    loaded. They part when the state changed under a running service (a restored or copied
    configuration, a disconnect or connect that stopped half-way, a clone): the machine then
    gets tokens and metadata for another resource than the one the admin sees."""
    agent_result, himds_result = deps.get("agent"), deps.get("himds")
    if agent_result is None or himds_result is None:
        return Outcome(Status.SKIP, "needs both the agent and the HIMDS checks")
    facts = agent_result.facts
    if not facts.get("installed") or not facts.get("status"):
        return Outcome(Status.SKIP, "the agent's own state is not known (see the agent check)")
    if himds_result.status is not Status.PASS:
        return Outcome(Status.SKIP, "HIMDS did not answer (see the himds check)")
    shown = _resource(facts.get("resource_id"))
    served = _resource(himds_result.facts.get("resourceId"))
    status = str(facts.get("status")).lower()
    seen = {"agent_resource_id": facts.get("resource_id") or None,
            "himds_resource_id": himds_result.facts.get("resourceId") or None,
            "agent_status": facts.get("status")}
    fix = [restart_command(), "azcmagent show"]
    if shown and served and shown != served:
        return Outcome(Status.WARN, f"azcmagent show names {facts.get('resource_id')} but HIMDS "
                       f"serves {himds_result.facts.get('resourceId')}; next: {fix[0]}",
                       code="agent.himds_mismatch", facts={**seen, "next_command": fix})
    if status == "connected" and not served:
        return Outcome(Status.WARN, "azcmagent show says Connected but HIMDS serves no "
                       f"resource; next: {fix[0]}", code="agent.himds_mismatch",
                       facts={**seen, "next_command": fix})
    if not shown:
        # No resource id shown: the name agentconfig.json recorded is all there is to compare.
        named = str(facts.get("resource_name") or "").strip()
        served_name = str(himds_result.facts.get("name") or "").strip()
        if named and served_name and named.casefold() != served_name.casefold():
            return Outcome(Status.WARN, f"agentconfig.json names the machine {named} but HIMDS "
                           f"serves {served_name}; next: {fix[0]}", code="agent.himds_mismatch",
                           facts={**seen, "agent_resource_name": named,
                                  "himds_name": served_name, "next_command": fix})
        if served and status != "connected":
            # HIMDS still hands out tokens for a resource the agent no longer records: a
            # disconnect that stopped half-way, or --force-local-only with the service running.
            return Outcome(Status.WARN, f"HIMDS serves {himds_result.facts.get('resourceId')} "
                           f"but azcmagent show ({facts.get('status')}) names no resource; "
                           f"next: {fix[0]}", code="agent.himds_mismatch",
                           facts={**seen, "next_command": fix})
        return Outcome(Status.PASS, "the agent records no resource yet; nothing to compare",
                       facts=seen)
    return Outcome(Status.PASS, f"HIMDS serves the resource azcmagent show names ({shown})",
                   facts=seen)


# --------------------------------------------------------------------------------------------
# the agent's age


@lru_cache(maxsize=1)
def releases() -> Tuple[Tuple[Tuple[int, int], _dt.date], ...]:
    """(major, minor) and release month of every agent version, oldest first."""
    from ..datafiles import read_toml

    found = []
    for version, month in read_toml("agent_releases.toml")["released"].items():
        major, minor = (int(p) for p in version.split("."))
        year, mon = (int(p) for p in str(month).split("-"))
        found.append(((major, minor), _dt.date(year, mon, 1)))
    return tuple(sorted(found))


def parse_version(text: Any) -> Optional[Tuple[int, int]]:
    """``1.64.03414.2961`` -> (1, 64); None when it is not an agent version."""
    match = re.match(r"\s*(\d{1,3})\.(\d{1,4})(?:\.|\s|$)", str(text or ""))
    return (int(match.group(1)), int(match.group(2))) if match else None


def months_between(earlier: _dt.date, later: _dt.date) -> int:
    return (later.year - earlier.year) * 12 + later.month - earlier.month


def upgrade_commands(version: Tuple[int, int], newest: Tuple[int, int],
                     platform: Optional[str] = None,
                     which: Optional[Any] = None) -> List[str]:
    """How this machine's agent is upgraded (manage-agent.md, azcmagent-upgrade.md)."""
    if version >= (1, 62):
        return ["azcmagent upgrade"]  # the agent's own upgrade command, from 1.62 on
    if _windows(platform):
        url = f"https://gbl.his.arc.azure.com/azcmagent/{newest[0]}.{newest[1]}/" \
              "AzureConnectedMachineAgent.msi"
        return [f"Invoke-WebRequest -Uri {url} -OutFile AzureConnectedMachineAgent.msi",
                "msiexec /i AzureConnectedMachineAgent.msi /qn /l*v azcmagentupgrade.log"]
    import shutil

    find = which or shutil.which
    for tool, steps in (("apt", ["sudo apt update", "sudo apt upgrade azcmagent"]),
                        ("zypper", ["sudo zypper refresh", "sudo zypper update azcmagent"]),
                        ("yum", ["sudo yum check-update", "sudo yum update azcmagent"])):
        if find(tool):
            return steps
    return ["sudo apt upgrade azcmagent (or: sudo yum update azcmagent, "
            "sudo zypper update azcmagent)"]


Releases = Tuple[Tuple[Tuple[int, int], _dt.date], ...]


def version_probe(ctx: ProbeContext, deps: Mapping[str, Result],
                  table: Optional[Releases] = None) -> Outcome:
    """Is the installed agent more than a year older than the current release?

    Microsoft supports the versions released within the last year. The year is counted back
    from the newest release in ``data/agent_releases.toml`` rather than from today's date: the
    notes give months, a release list kept current is within a month of today, and a verdict
    that changes with the calendar alone would turn a passing scheduled check red without
    anything on the machine or in the tool changing."""
    agent_result = deps.get("agent")
    raw = agent_result.facts.get("version") if agent_result else None
    version = parse_version(raw)
    if version is None:
        return Outcome(Status.SKIP, "agent version not known (see the agent check)")
    table = table or releases()
    newest, newest_month = table[-1]
    known = dict(table)
    facts: Dict[str, Any] = {"version": str(raw)[:40],
                             "newest_known": f"{newest[0]}.{newest[1]}",
                             "newest_released": newest_month.strftime("%Y-%m")}
    if version not in known:
        if version > newest:
            return Outcome(Status.PASS, f"agent {raw} is newer than the release list of this "
                           f"tool (newest known {facts['newest_known']})", facts=facts)
        return Outcome(Status.SKIP, f"agent version {raw} is not in the release list",
                       facts=facts)
    released = known[version]
    months = months_between(released, newest_month)
    behind = sum(1 for v, _ in table if v > version)
    facts.update({"released": released.strftime("%Y-%m"), "months_older": months,
                  "releases_behind": behind})
    when = released.strftime("%B %Y")
    newest_text = f"{facts['newest_known']} ({newest_month:%B %Y})"
    if months > 12:
        commands = upgrade_commands(version, newest)
        facts["next_command"] = commands
        return Outcome(Status.WARN, f"agent {raw} was released in {when}, {months} months "
                       f"before the current release {newest_text}: out of support ({behind} "
                       f"releases behind); next: {commands[-1]}", code="agent.outdated",
                       facts=facts)
    return Outcome(Status.PASS, f"agent {raw} released in {when}, within a year of the current "
                   f"release {newest_text}", facts=facts)
