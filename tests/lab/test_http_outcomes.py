"""Every way an HTTP request of the probes can fail, for real, and the code and message each
gives (``http_outcomes.py`` runs them inside the namespace).

``http_outcomes.json`` was first recorded with the probes as they were built on
requests/urllib3 (the same cases, the same servers), then the probes moved to the standard
library (``probes/webcall.py``) and had to reproduce it. Every HTTPS, HIMDS and IMDS case gives
the same status, code and message as before, with these exceptions, all deliberate:

* ``auth-token/*`` failures keep their code (``auth.network``) but not their wording: the old
  message was urllib3's exception text (``ConnectionError: HTTPSConnectionPool(host='127.0.0.1',
  port=...): Max retries exceeded with url: ... (Caused by NewConnectionError(...))``); it now
  says where the request failed and how (``connecting: connection refused``).
* ``himds/body-stalls`` and ``imds/body-stalls`` (an answer cut short of its Content-Length):
  urllib3's ``ProtocolError`` escaped both probes, which raised instead of giving a result; HIMDS
  now reports an incomplete answer and the IMDS check an answer that is not Azure's.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import pytest

from .http_outcomes import HOST
from .netlab import Lab

pytestmark = pytest.mark.lab

HERE = Path(__file__).resolve().parent
SQUID_HOST = "ok.lab.test"
RECORD = os.environ.get("ARC_PREFLIGHT_RECORD_HTTP_OUTCOMES")

# case -> [status, code, summary]
EXPECTED: Dict[str, Tuple[str, Optional[str], str]] = {
    name: (value[0], value[1], value[2])
    for name, value in json.loads((HERE / "http_outcomes.json").read_text()).items()}


def run_cases(lab: Lab) -> Dict[str, Any]:
    lab.issue_cert([HOST, "127.0.0.1"], tag="good")
    lab.issue_cert([HOST], issuer="foreign", tag="foreign")
    lab.issue_cert([HOST], expired=True, tag="expired")
    lab.issue_cert(["other.lab.test"], tag="other")
    lab.serve_endpoints([SQUID_HOST, "denied.lab.test"])
    proxy = lab.proxy(deny=["denied.lab.test"])
    lab.drop(port=9)
    lab.reject(port=7, reject_with="tcp-reset")
    for path in lab.workdir.glob("*-key.pem"):
        path.chmod(0o644)
    proc = lab.python(
        "import runpy, sys; sys.path.insert(0, sys.argv[1]); sys.argv = sys.argv[1:]; "
        "runpy.run_path(sys.argv[0] + '/http_outcomes.py', run_name='__main__')",
        str(HERE), str(lab.workdir), str(lab.ca_bundle), "9", "7", proxy.url, SQUID_HOST,
        timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return dict(json.loads(proc.stdout))


def test_every_http_failure_keeps_its_code_and_message(lab: Lab) -> None:
    got = run_cases(lab)
    if RECORD:
        Path(RECORD).write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
    assert sorted(got) == sorted(EXPECTED)
    wrong = {name: (got[name]["status"], got[name]["code"], got[name]["summary"])
             for name, want in EXPECTED.items()
             if (got[name]["status"], got[name]["code"], got[name]["summary"]) != want}
    assert not wrong, json.dumps(wrong, indent=1)
    slow = [name for name, value in got.items() if not value["within_deadline"]]
    assert not slow, f"past the probe's timeout + 0.5 s: {slow}"
    # proxy credentials never reach a message (the 407 cases carry a password in the URL)
    assert not [name for name, value in got.items()
                if "s3cr" in value["summary"] or "wr0ng" in value["summary"]]
