"""The prefilter's two backends, as test parameters: every property of the prefilter and of the
reader is held to both. RE2 comes with the package where a wheel is published; where it is not
installed its cases skip with the reason (CI installs it, see pyproject.toml)."""

from __future__ import annotations

import pytest

from arc_preflight.logs import linefinder

# The backends this interpreter has, for tests that loop over them inside one case.
INSTALLED = ["pure", *(["re2"] if linefinder.available() else [])]
NO_RE2 = "google-re2 is not installed for this Python (the pure prefilter is used)"
BACKENDS = [
    pytest.param("pure", id="pure"),
    pytest.param("re2", id="re2",
                 marks=pytest.mark.skipif(not linefinder.available(), reason=NO_RE2)),
]
