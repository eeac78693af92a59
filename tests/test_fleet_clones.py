"""``arc-preflight report`` finds machines that share one agent identity (issue 11, item 3).

Machines cloned from a connected image all hold the image's resource id and VM id
(agent-overview.md, "Cloning guidelines"); no single host can see that, the fleet can. The
reports are the captured lab reports of ``tests/fleet_samples`` with the agent check's facts set
as the agent check writes them (``resource_id`` from ``azcmagent show -j``'s ``resourceId``,
``vm_id`` from its ``vmId``, the key of the HybridCompute machine resource).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict

from fleet_helpers import sample, with_host, write

from arc_preflight.fleet import load, rollup
from arc_preflight.fleet.model import Fleet
from arc_preflight.render import fleet_json, fleet_markdown

RID = ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/arc-rg/providers/"
       "Microsoft.HybridCompute/machines/")
SCHEMA = json.loads((Path(__file__).resolve().parents[1] / "arc_preflight" / "data" /
                     "fleet.schema.json").read_text(encoding="utf-8"))


def connected(host: str, name: str, vm_id: str) -> Dict[str, Any]:
    doc = with_host(sample("healthy"), host)
    agent = next(c for c in doc["checks"] if c["id"] == "agent")
    agent["facts"] = {**agent["facts"], "installed": True, "status": "Connected",
                      "resource_id": RID + name, "vm_id": vm_id, "state": "connected"}
    return doc


def build(folder: Path) -> Fleet:
    return rollup.build(load.load([str(folder)]), "9.9.9", 0)


def test_hosts_holding_one_resource_id_are_diagnosed_as_clones(tmp_path: Path) -> None:
    write(tmp_path, "a.json", connected("web01", "web01", "vm-1"))
    write(tmp_path, "b.json", connected("web02", "WEB01", "vm-2"))  # same resource, any case
    write(tmp_path, "c.json", connected("sql01", "sql01", "vm-3"))
    fleet = build(tmp_path)
    causes = {c.cause.cause_id: c for c in fleet.causes}
    clones = causes["cloned_machine_identity"]
    assert clones.hosts == ("web01", "web02") and clones.severity == "warn"
    web02 = next(h for h in fleet.hosts if h.hostname == "web02")
    [diag] = [d for d in web02.diagnoses if d.cause_id == "cloned_machine_identity"]
    assert diag.evidence == (f"agent: resource id {RID}WEB01 is also held by web01",)
    assert "azcmagent disconnect --force-local-only" in clones.cause.remedy[0]
    doc = json.loads(fleet_json.render(fleet))
    import jsonschema

    jsonschema.validate(doc, SCHEMA)
    assert "probably shares its identity with a clone" in fleet_markdown.render(fleet)
    # the hosts could not see it themselves; the fleet makes them warnings
    assert [(s.value, [h.hostname for h in hosts]) for s, hosts in fleet.by_status()] == [
        ("warn", ["web01", "web02"]), ("pass", ["sql01"])]
    assert fleet.exit_code == 1


def test_a_shared_vm_id_alone_is_enough(tmp_path: Path) -> None:
    write(tmp_path, "a.json", connected("web01", "web01", "22222222-2222-2222-2222-222222222222"))
    write(tmp_path, "b.json", connected("web02", "web02", "22222222-2222-2222-2222-222222222222"))
    fleet = build(tmp_path)
    [clones] = [c for c in fleet.causes if c.cause.cause_id == "cloned_machine_identity"]
    assert clones.hosts == ("web01", "web02")
    web01 = next(h for h in fleet.hosts if h.hostname == "web01")
    assert web01.agent_identity == (("resource", RID + "web01"),
                                    ("vm", "22222222-2222-2222-2222-222222222222"))


def test_distinct_identities_and_unconnected_agents_are_not_clones(tmp_path: Path) -> None:
    write(tmp_path, "a.json", connected("web01", "web01", "vm-1"))
    write(tmp_path, "b.json", connected("web02", "web02", "vm-2"))
    write(tmp_path, "c.json", with_host(sample("healthy"), "app01"))  # agent not installed
    write(tmp_path, "d.json", with_host(sample("healthy"), "app02"))
    fleet = build(tmp_path)
    assert all(c.cause.cause_id != "cloned_machine_identity" for c in fleet.causes)
    assert next(h for h in fleet.hosts if h.hostname == "app01").agent_identity == ()
