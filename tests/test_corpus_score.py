"""The corpus scorer's own rules: what is scored, what counts as silent, the product split."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

import corpus_score

HEADER = """+++
source = "https://example.invalid/post"
source_kind = "docs"
text_kind = "other"
label = "dns_failure"
certainty = "{certainty}"
note = "test"
{extra}+++
body line
"""


def case(tmp_path: Path, name: str, extra: str = "", certainty: str = "stated"
         ) -> corpus_score.Case:
    path = tmp_path / f"{name}.txt"
    path.write_text(HEADER.format(extra=extra, certainty=certainty), encoding="utf-8")
    return corpus_score.parse_file(path, healthy=False)


def test_product_defaults_to_arc_servers_and_every_product_is_scored(tmp_path: Path) -> None:
    agent = case(tmp_path, "x-001")
    bridge = case(tmp_path, "x-002", 'product = "resource_bridge"\n')
    assert agent.product == "arc_servers" and bridge.product == "resource_bridge"
    assert agent.scorable and bridge.scorable


def test_silent_and_per_product_summary(tmp_path: Path) -> None:
    bridge = case(tmp_path, "x-003", 'product = "resource_bridge"\n')
    unresolved = case(tmp_path, "x-004", certainty="unresolved")
    assert bridge.silent and unresolved.silent  # nothing diagnosed yet
    assert not unresolved.scorable
    bridge.got = ["dns_failure"]
    assert not bridge.silent and bridge.correct
    summary = corpus_score.summary([bridge, unresolved])
    counted = {product: acc["scorable"]
               for half in summary["halves"].values()
               for product, acc in half["per_product"].items()}
    assert counted.get("resource_bridge") == 1
    assert sum(half["silent"] for half in summary["halves"].values()) == 1


def test_a_misspelt_product_is_refused(tmp_path: Path) -> None:
    import pytest

    with pytest.raises(ValueError, match="product 'resource-bridge'"):
        case(tmp_path, "x-005", 'product = "resource-bridge"\n')
