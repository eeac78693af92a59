"""The check graph: which checks exist for a selection of kinds, and what each one needs."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List

import pytest

from arc_preflight import config, plan


def build(tmp_path: Path, **flags: Any) -> plan.Plan:
    settings = config.build({"agent_dir": str(tmp_path), "no_proxy": True, **flags})
    return plan.build(settings)


def kinds(the_plan: plan.Plan) -> Dict[str, List[str]]:
    found: Dict[str, List[str]] = {}
    for check in the_plan.checks:
        found.setdefault(check.probe, []).append(check.id)
    return found


@pytest.mark.parametrize("only", [["https"], ["tls"], ["tcp"]])
def test_selected_layer_keeps_the_layers_it_needs(tmp_path: Path, only: List[str]) -> None:
    the_plan = build(tmp_path, only=only)
    found = kinds(the_plan)
    assert "dns:management.azure.com" in found["dns"]
    assert "tcp:management.azure.com:443" in found["tcp"]
    assert set(found) == {"dns", "tcp", *only}
    by_id = {c.id: c for c in the_plan.checks}
    top = by_id[f"{only[0]}:management.azure.com:443"]
    assert top.needs  # never a layer floating without what it stands on


def test_only_dns_has_no_higher_layers(tmp_path: Path) -> None:
    assert set(kinds(build(tmp_path, only=["dns"]))) == {"dns"}


def test_skipping_every_endpoint_layer_leaves_no_endpoint_checks(tmp_path: Path) -> None:
    found = kinds(build(tmp_path, skip=["dns", "tcp", "tls", "https"]))
    assert not {"dns", "tcp", "tls", "https"} & set(found)


def test_chain_order_direct(tmp_path: Path) -> None:
    by_id = {c.id: c for c in build(tmp_path).checks}
    assert by_id["tcp:login.microsoftonline.com:443"].needs == ("dns:login.microsoftonline.com",)
    assert by_id["tls:login.microsoftonline.com:443"].needs == (
        "tcp:login.microsoftonline.com:443",)
    assert by_id["https:login.microsoftonline.com:443"].needs == (
        "tls:login.microsoftonline.com:443",)


def test_no_resolver_configuration_is_a_dns_finding(monkeypatch: pytest.MonkeyPatch) -> None:
    import dns.resolver

    from arc_preflight.probes import dns as dns_probe

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise dns.resolver.NoResolverConfiguration("no nameservers")

    monkeypatch.setattr(dns.resolver, "Resolver", broken)
    monkeypatch.setattr(dns_probe.dnsstub, "usable_here", lambda: False)  # Windows' path
    ipv4, ipv6, error, _ = dns_probe.resolve("login.microsoftonline.com", (), 1.0)
    assert (ipv4, ipv6) == ([], [])
    assert error is not None and error[0] == "dns.no_nameservers"
