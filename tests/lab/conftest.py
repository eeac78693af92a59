"""Pytest fixtures for the network lab (see ``netlab`` for the ``Lab`` API).

Fixtures:

* ``lab``          -- a fresh, empty ``Lab`` per test (namespace, lo up, resolv.conf, CAs).
* ``module_lab``   -- one ``Lab`` shared by a module, for read-only checks that are costly.
* ``lab_hosts``    -- probeable host names from the CLI's catalogue (fallback list until the
  CLI can list them), for ``lab.serve_endpoints(lab_hosts)``.
* ``healthy_lab``  -- ``lab`` with every catalogue host served and HIMDS answering: scenario
  tests break one thing in it and assert the diagnosis.

Every lab is torn down even when the test fails. When the lab cannot run (not root, no
``ip netns``), tests skip with the reason -- except when ``CI`` is set, where a missing lab is a
broken CI image and must fail loudly instead of silently skipping the whole network suite.
"""

from __future__ import annotations

import os
from typing import Iterator, List

import pytest

from .netlab import Lab, lab_unavailable_reason


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def require_lab() -> None:
    """Skip (or, in CI, fail) the calling test when namespaces cannot be made here."""
    reason = lab_unavailable_reason()
    if reason is None:
        return
    if _in_ci():
        pytest.fail(f"lab unavailable in CI: {reason}", pytrace=False)
    pytest.skip(f"lab unavailable: {reason}")


@pytest.fixture(scope="session")
def lab_ready() -> None:
    """Checked once per session: trying ``ip netns add`` for every test would be wasteful."""
    require_lab()


@pytest.fixture
def lab(lab_ready: None) -> Iterator[Lab]:
    with Lab() as instance:
        yield instance


@pytest.fixture(scope="module")
def module_lab(lab_ready: None) -> Iterator[Lab]:
    with Lab() as instance:
        yield instance


@pytest.fixture
def lab_hosts(lab: Lab) -> List[str]:
    return lab.catalogue_hosts(location="eastus")


@pytest.fixture
def healthy_lab(lab: Lab, lab_hosts: List[str]) -> Lab:
    lab.serve_endpoints(lab_hosts)
    lab.himds()
    return lab
