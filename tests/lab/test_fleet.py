"""A real fleet: the Ansible collection (scripts/ansible) run by the real ``ansible-playbook``
from a controller namespace over SSH against four host namespaces, each with its own fault.

    web-healthy   every endpoint answers                         -> pass
    web-nxdomain  the login names are NXDOMAIN in its DNS         -> dns_failure
    web-drop443   port 443 silently dropped (fail_on: never)      -> firewall_or_proxy_blocking
    web-proxy407  its proxy answers 407 (no credentials given)    -> proxy_auth_required

The playbook copies the single file to each host, runs the module with the connect parameters
from the inventory (the service principal secret from Ansible Vault), fetches each JSON report
to the controller and rolls them up there with ``arc-preflight report``. The tests assert the
recap (exactly the hosts at or over their fail_on fail), each fetched report's cause, and the
roll-up naming the right cause on the right host. A second run in check mode with
``fail_on=never`` must succeed. See ``fleet.py`` for the namespaces, veth pairs and sshd.

Needs, besides the lab's packages: openssh-server (sshd; openssh-client comes with it) and
ansible-core (the ``test`` extra, Python 3.11 and later). Outside CI the tests skip without
them; in CI they fail.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import jsonschema
import pytest

from .fleet import Fleet, HostSpec, ensure_pyz, fleet_unavailable_reason, target_python
from .netlab import REPO_ROOT, lab_unavailable_reason

pytestmark = [pytest.mark.lab, pytest.mark.timeout(600)]

COLLECTION = REPO_ROOT / "scripts" / "ansible"
PLAYBOOK = COLLECTION / "preflight.yml"

LOCATION = "eastus"
IDENTITY = ("login.microsoftonline.com", "login.windows.net")
GUID = "6f1c2b7e-3d4a-4c5b-9e8f-0a1b2c3d4e5f"
HOSTS = (
    HostSpec("web-healthy", "healthy"),
    HostSpec("web-nxdomain", "nxdomain-login"),
    HostSpec("web-drop443", "drop-443"),
    HostSpec("web-proxy407", "proxy-auth"),
)
FAIL_ON = {"web-drop443": "never"}  # the others: the default, fail
CAUSE = {  # the category each faulty host's roll-up must name, and only on that host
    "web-nxdomain": "dns_failure",
    "web-drop443": "firewall_or_proxy_blocking",
    "web-proxy407": "proxy_auth_required",
}
RECAP = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)"
                   r"\s+skipped=(\d+)\s+rescued=(\d+)\s+ignored=(\d+)", re.MULTILINE)


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _tool(name: str) -> Optional[str]:
    beside = Path(sys.executable).with_name(name)
    return str(beside) if beside.exists() else shutil.which(name)


def _require_fleet() -> None:
    reason = lab_unavailable_reason() or fleet_unavailable_reason()
    if reason is None and _tool("ansible-playbook") is None:
        reason = "ansible-core is not installed (pip install -e '.[test]' on Python 3.11+)"
    if reason is None:
        return
    if _in_ci():
        pytest.fail(f"fleet lab unavailable in CI: {reason}", pytrace=False)
    pytest.skip(f"fleet lab unavailable: {reason}")


@dataclass
class Controller:
    """The Ansible side: files in the controller's workdir, and how to run the playbook."""

    fleet: Fleet
    pyz: Path
    secret: str

    @property
    def root(self) -> Path:
        return self.fleet.workdir

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def pyz_cache(self) -> Path:
        """Where every host (and the controller) finds the single file unpacked: once, before
        the playbook runs. Unpacking means compiling every module; four hosts doing that at
        once on a small CI machine could eat the 2-second probe budget of the first run."""
        return self.root / "pyz-cache"

    @property
    def inventory(self) -> Path:
        return self.root / "inventory" / "hosts.yml"

    def env(self) -> Dict[str, Optional[str]]:
        return {
            "ANSIBLE_CONFIG": str(self.root / "ansible.cfg"),
            "ANSIBLE_HOME": str(self.root / "ansible-home"),
            "ANSIBLE_COLLECTIONS_PATH": str(self.root / "collections"),
            "ANSIBLE_LOCAL_TEMP": str(self.root / "ansible-local"),
            "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": None, "PYTHONPATH": None,
            "ARC_PREFLIGHT_CACHE": str(self.pyz_cache),  # for the roll-up on the controller
            "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
        }

    def run(self, tool: str, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
        """An Ansible command inside the controller namespace (nothing else is reachable)."""
        exe = _tool(tool)
        assert exe, f"{tool} not found"
        return self.fleet.controller.run([exe, *args], env=self.env(), timeout=timeout,
                                         cwd=self.root)

    def playbook(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run("ansible-playbook", "-i", str(self.inventory), str(PLAYBOOK),
                        "--vault-password-file", str(self.root / "vault-password"), *args)

    def setup(self) -> None:
        (self.root / "ansible.cfg").write_text(f"""\
[defaults]
forks = 10
gathering = explicit
host_key_checking = True
interpreter_python = {target_python()}
retry_files_enabled = False
timeout = 20

[ssh_connection]
ssh_args = -F /dev/null -o ControlMaster=auto -o ControlPersist=120s -o BatchMode=yes \
-o IdentitiesOnly=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile={self.fleet.known_hosts}
control_path_dir = {self.root / "cp"}
pipelining = True
""")
        proc = self.run("ansible-galaxy", "collection", "install", "--offline", "--force",
                        str(COLLECTION), "-p", str(self.root / "collections"), timeout=120)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        warm = self.fleet.controller.run([target_python(), "-I", str(self.pyz), "--version"],
                                         env=self.env(), timeout=180)
        assert warm.returncode == 0, warm.stderr
        self._inventory()

    def _inventory(self) -> None:
        python = target_python()
        hosts = {}
        for name, host in self.fleet.hosts.items():
            remote = host.lab.workdir / "arc-preflight"
            hosts[name] = {
                "ansible_host": host.ip,
                "ansible_remote_tmp": str(host.lab.workdir / "ansible-tmp"),
                "arc_preflight_remote_dir": str(remote),
                "arc_preflight_extra_args": host.extra_args,
                "arc_preflight_environment": {"ARC_PREFLIGHT_CACHE": str(self.pyz_cache)},
            }
            if name in FAIL_ON:
                hosts[name]["arc_preflight_fail_on"] = FAIL_ON[name]
        inventory = {"all": {"children": {"arc_windows": {"hosts": {}}, "arc_linux": {
            "hosts": hosts, "vars": {
            "ansible_user": "root",
            "ansible_ssh_private_key_file": str(self.fleet.client_key),
            "ansible_python_interpreter": python,
            "arc_preflight_python": python,
            "arc_preflight_pyz": str(self.pyz),
            "arc_preflight_reports_dir": str(self.reports),
            "arc_preflight_report_command": [python, str(self.pyz)],
            "arc_preflight_cloud": "AzureCloud",
            "arc_preflight_location": LOCATION,
            "arc_preflight_tenant_id": GUID,
            "arc_preflight_subscription_id": GUID,
            "arc_preflight_resource_group": "rg-arc-fleet-lab",
            "arc_preflight_service_principal_id": GUID,
        }}}}}
        folder = self.inventory.parent
        (folder / "group_vars" / "arc_linux").mkdir(parents=True)
        self.inventory.write_text(json.dumps(inventory, indent=2))  # JSON is YAML
        # The secret the way an admin keeps it: ansible-vault encrypt_string into group_vars.
        password = self.root / "vault-password"
        password.write_text(secrets.token_hex(16) + "\n")
        password.chmod(0o600)
        proc = self.run("ansible-vault", "encrypt_string", "--vault-password-file",
                        str(password), "--name", "arc_preflight_sp_secret", self.secret,
                        timeout=60)
        assert proc.returncode == 0 and "$ANSIBLE_VAULT" in proc.stdout, proc.stderr
        (folder / "group_vars" / "arc_linux" / "vault.yml").write_text(proc.stdout)

    def schema(self, name: str) -> Dict[str, Any]:
        """A JSON schema as shipped inside the single file that wrote the reports."""
        with zipfile.ZipFile(self.pyz) as archive:
            path = next(n for n in archive.namelist()
                        if n.endswith(f"/arc_preflight/data/{name}"))
            return json.loads(archive.read(path))

    def report(self, name: str) -> Dict[str, Any]:
        return json.loads((self.reports / "hosts" / f"{name}.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def controller() -> Iterator[Controller]:
    _require_fleet()
    built = ensure_pyz(target_python())
    with Fleet(HOSTS, location=LOCATION) as fleet:
        pyz = fleet.workdir / "arc-preflight.pyz"  # this run's own copy
        shutil.copyfile(built, pyz)
        ctl = Controller(fleet=fleet, pyz=pyz, secret="fleet-" + secrets.token_urlsafe(18))
        ctl.setup()
        yield ctl


@dataclass
class Run:
    proc: subprocess.CompletedProcess[str]
    seconds: float

    @property
    def output(self) -> str:
        return self.proc.stdout + self.proc.stderr

    def recap(self) -> Dict[str, Dict[str, int]]:
        keys = ("ok", "changed", "unreachable", "failed", "skipped", "rescued", "ignored")
        return {m.group(1): dict(zip(keys, map(int, m.groups()[1:])))
                for m in RECAP.finditer(self.proc.stdout)}


@pytest.fixture(scope="module")
def first_run(controller: Controller) -> Run:
    """The playbook as an admin runs it, with -vvv: SSH commands and module arguments are
    shown, so a leaked secret would be too."""
    started = time.monotonic()
    proc = controller.playbook("-vvv")
    run = Run(proc, time.monotonic() - started)
    print(f"\nfleet playbook: {run.seconds:.1f}s, exit {proc.returncode}")
    return run


def _explain(run: Run, controller: Controller) -> str:
    """For a failure message: the end of the output, what each report found, sshd's logs."""
    found = []
    for spec in HOSTS:
        try:
            data = controller.report(spec.name)
        except (OSError, ValueError) as exc:
            found.append(f"{spec.name}: no report ({exc})")
            continue
        found.append(f"{spec.name}: {data['status']} in {data['duration_s']}s")
        found += [f"  {c['id']} {c['status']} {c['code']} {c['summary'][:100]}"
                  for c in data["checks"] if c["status"] not in ("pass", "skip")][:8]
    return "\n".join([run.output[-5000:], *found, controller.fleet.sshd_logs()])


def test_fleet_namespaces_are_isolated(controller: Controller) -> None:
    controller.fleet.assert_isolated()
    for host in controller.fleet.hosts.values():
        assert host.lab.connect(host.controller_ip, 22, timeout=1) == "refused"  # no sshd there
    others = list(controller.fleet.hosts.values())
    assert others[0].lab.connect(others[1].ip, 22, timeout=1) == "unreachable"


def test_syntax_check(controller: Controller) -> None:
    proc = controller.run("ansible-playbook", "--syntax-check", "-i",
                          str(COLLECTION / "inventory.example.yml"), str(PLAYBOOK), timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_module_documentation_matches_its_arguments() -> None:
    """What ansible-test's validate-modules would check first (it needs the network to set
    itself up): every option documented as the argument spec declares it."""
    pytest.importorskip("ansible")
    import importlib.util

    import yaml

    path = COLLECTION / "plugins" / "modules" / "arc_preflight_check.py"
    spec = importlib.util.spec_from_file_location("arc_preflight_check", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    doc = yaml.safe_load(module.DOCUMENTATION)
    assert isinstance(yaml.safe_load(module.EXAMPLES), list)
    assert "arc_preflight" in yaml.safe_load(module.RETURN)["ansible_facts"]["contains"]
    arguments = module.argument_spec()
    assert set(doc["options"]) == set(arguments)
    for name, option in doc["options"].items():
        declared = arguments[name]
        assert option["type"] == declared["type"], name
        assert option.get("default") == declared.get("default"), name
        assert option.get("choices") == declared.get("choices"), name
        assert bool(option.get("required")) == bool(declared.get("required")), name
        assert option.get("elements") == declared.get("elements"), name
    assert arguments["service_principal_secret"]["no_log"] is True
    assert doc["attributes"]["check_mode"]["support"] == "full"


def _module(controller: Controller, **args: Any) -> subprocess.CompletedProcess[str]:
    """The module alone, ad hoc on the controller (its implicit localhost)."""
    args = {"path": str(controller.pyz), "python": target_python(), **args}
    return controller.run("ansible", "localhost", "-m",
                          "arc_preflight.preflight.arc_preflight_check", "-a", json.dumps(args),
                          timeout=120)


def test_module_keeps_the_secret_off_the_command_line(controller: Controller) -> None:
    proc = _module(controller, extra_args=["--service-principal-secret=hunter2"])
    assert proc.returncode != 0
    assert "must not contain --service-principal-secret" in proc.stdout, proc.stdout
    assert "hunter2" not in proc.stdout + proc.stderr


def test_module_fails_when_the_check_cannot_judge(controller: Controller) -> None:
    """Exit code 3 (here: a flag the check does not know) fails even with fail_on: never."""
    proc = _module(controller, fail_on="never", extra_args=["--no-such-flag"])
    assert proc.returncode != 0
    assert "could not judge (exit code 3)" in proc.stdout, proc.stdout


def test_windows_expressions(controller: Controller) -> None:
    """The Windows tasks cannot run here (no Windows host); their command line, environment
    and threshold expressions are templated by Ansible on the controller instead."""
    import yaml  # ansible-core's dependency

    tasks = yaml.safe_load((COLLECTION / "tasks" / "windows.yml").read_text(encoding="utf-8"))
    check = next(t for t in tasks if "ansible.windows.win_command" in t)
    probe = [{"name": "windows expressions", "hosts": "localhost", "gather_facts": False,
              "vars_files": [str(COLLECTION / "vars" / "preflight.yml")],
              "vars": {"arc_preflight_location": "eastus", "arc_preflight_sp_secret": "s3cret",
                       "arc_preflight_tags": "Env='Lab one'",
                       "arc_preflight_extra_args": ["--timeout", "2"],
                       "arc_preflight_result": {"rc": 2}, "arc_preflight_fail_on": "warn",
                       "_pf_win_argv": check["vars"]["_pf_win_argv"],
                       "_pf_env": check["environment"],
                       "_pf_failed": "{{ " + check["failed_when"] + " }}"},
              "tasks": [{"ansible.builtin.debug": {"msg": {
                  "argv": "{{ _pf_win_argv }}", "env": "{{ _pf_env }}",
                  "failed": "{{ _pf_failed }}"}}}]}]
    path = controller.root / "windows-expressions.yml"
    path.write_text(json.dumps(probe))
    proc = controller.run("ansible-playbook", str(path), timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    shown = json.loads(proc.stdout[proc.stdout.index("{"):proc.stdout.rindex("}") + 1])
    msg = shown["msg"]
    assert msg["argv"] == ["python", "C:\\ProgramData\\arc-preflight\\arc-preflight.pyz", "check",
                           "--format", "json", "--output",
                           "C:\\ProgramData\\arc-preflight\\report.json", "--location", "eastus",
                           "--tags", "Env='Lab one'", "--timeout", "2"]
    assert msg["env"] == {"ARC_PREFLIGHT_SP_SECRET": "s3cret"}
    assert msg["failed"] is True  # exit code 2 with fail_on: warn


def test_playbook_fails_exactly_per_fail_on(first_run: Run, controller: Controller) -> None:
    recap = first_run.recap()
    assert set(recap) == {s.name for s in HOSTS}, _explain(first_run, controller)
    failing = {name for name in CAUSE if FAIL_ON.get(name, "fail") != "never"}
    assert first_run.proc.returncode == 2, _explain(first_run, controller)
    for name, counts in recap.items():
        assert counts["unreachable"] == 0, _explain(first_run, controller)
        assert counts["failed"] == (1 if name in failing else 0), _explain(first_run, controller)
        assert counts["ignored"] == (1 if name in failing else 0), _explain(first_run, controller)
    # the failing hosts failed in the last task, after the roll-up, with the module's verdict
    before, last = first_run.proc.stdout.split("TASK [Fail the hosts whose check reached", 1)
    assert "TASK [Show the roll-up]" in before
    for name in recap:
        assert (f"fatal: [{name}]" in last) == (name in failing), name
    assert last.count('"msg": "arc-preflight: fail (fail_on=fail): FAIL: ') == len(failing)


def test_each_fetched_report_has_its_cause(first_run: Run, controller: Controller) -> None:
    assert first_run.recap(), _explain(first_run, controller)
    reports = {spec.name: controller.report(spec.name) for spec in HOSTS}
    for name, data in reports.items():
        jsonschema.validate(data, controller.schema("report.schema.json"))
        assert data["host"]["hostname"] == name  # each host its own machine (UTS namespace)
        assert data["settings"]["location"] == LOCATION
        assert data["settings"]["tenant_id"] == GUID
        # the vault secret reached the check (in its environment) and was redacted there
        assert data["settings"]["service_principal_secret"] == "[REDACTED]"

    healthy = reports["web-healthy"]
    assert (healthy["status"], healthy["exit_code"], healthy["diagnoses"]) == ("pass", 0, [])

    nxdomain = reports["web-nxdomain"]
    checks = {c["id"]: c for c in nxdomain["checks"]}
    for host in IDENTITY:
        assert checks[f"dns:{host}"]["code"] == "dns.nxdomain"
    assert checks["https:management.azure.com:443"]["status"] == "pass"
    dns = [d for d in nxdomain["diagnoses"] if d["category"] == "dns_failure"]
    assert len(dns) == 1 and all(h in " ".join(dns[0]["evidence"]) for h in IDENTITY)
    assert {d["category"] for d in nxdomain["diagnoses"]} == {"dns_failure"}

    dropped = reports["web-drop443"]
    tcp = [c for c in dropped["checks"] if c["probe"] == "tcp"]
    assert tcp and all(c["code"] == "tcp.timeout" for c in tcp)
    assert {d["category"] for d in dropped["diagnoses"]} == {"firewall_or_proxy_blocking"}

    proxied = reports["web-proxy407"]
    codes = {c["code"] for c in proxied["checks"] if c["status"] == "fail"}
    assert codes == {"proxy.auth_required"}
    assert {d["category"] for d in proxied["diagnoses"]} == {"proxy_auth_required"}
    for name in CAUSE:
        assert (reports[name]["status"], reports[name]["exit_code"]) == ("fail", 2)


def test_rollup_names_the_right_cause_on_the_right_host(first_run: Run,
                                                        controller: Controller) -> None:
    rollup_path = controller.reports / "fleet.json"
    assert rollup_path.exists(), _explain(first_run, controller)
    rollup = json.loads(rollup_path.read_text(encoding="utf-8"))
    jsonschema.validate(rollup, controller.schema("fleet.schema.json"))
    assert rollup["exit_code"] == 2 and rollup["status"] == "fail"
    assert rollup["host_counts"] == {"pass": 1, "fail": 3}
    assert rollup["inputs"] == []
    hosts = {h["hostname"]: h for h in rollup["hosts"]}
    assert set(hosts) == {s.name for s in HOSTS}
    assert hosts["web-healthy"]["status"] == "pass"
    by_category: Dict[str, List[str]] = {}
    for cause in rollup["causes"]:
        by_category.setdefault(cause["category"], []).extend(cause["hosts"])
    for name, category in CAUSE.items():
        assert hosts[name]["status"] == "fail"
        assert sorted(set(by_category[category])) == [name], (category, by_category)
    assert set(by_category) == set(CAUSE.values())
    assert not any("web-healthy" in h for h in by_category.values())


def test_rollup_table_html_csv(first_run: Run, controller: Controller) -> None:
    table = (controller.reports / "fleet.txt").read_text(encoding="utf-8")
    page = (controller.reports / "fleet.html").read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(
        (controller.reports / "fleet.csv").read_text(encoding="utf-8"))))
    for spec in HOSTS:
        assert spec.name in table and spec.name in page
    assert "<html" in page.lower()
    assert not re.search(r"<(script|link|img)\b[^>]*\b(src|href)=[\"']?(https?:)?//", page)
    assert {r["host"] for r in rows} == {s.name for s in HOSTS}, rows[:2]
    nx = [r for r in rows if r["host"] == "web-nxdomain"
          and r["check_id"] == "dns:login.microsoftonline.com"]
    assert nx and nx[0]["status"] == "fail" and nx[0]["code"] == "dns.nxdomain"
    # the table is shown in the playbook's own output too
    assert "web-proxy407" in first_run.proc.stdout.split("Show the roll-up", 1)[1]


def test_secret_never_shown(first_run: Run, controller: Controller) -> None:
    assert first_run.recap(), _explain(first_run, controller)
    secret = controller.secret
    assert secret not in first_run.output
    for path in controller.reports.rglob("*"):
        if path.is_file():
            assert secret not in path.read_text(encoding="utf-8", errors="replace"), path
    for host in controller.fleet.hosts.values():
        report = host.lab.workdir / "arc-preflight" / "report.json"
        assert secret not in report.read_text(encoding="utf-8")
    # -vvv shows the module's arguments: the secret parameter is masked, the argv never had it
    assert "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in first_run.output


def test_check_mode_with_fail_on_never_succeeds(first_run: Run,
                                                controller: Controller) -> None:
    before = {s.name: controller.report(s.name)["started_at"] for s in HOSTS}
    started = time.monotonic()
    proc = controller.playbook("--check", "-e", "arc_preflight_fail_on=never")
    run = Run(proc, time.monotonic() - started)
    print(f"\nfleet playbook in check mode: {run.seconds:.1f}s, exit {proc.returncode}")
    assert proc.returncode == 0, _explain(run, controller)
    recap = run.recap()
    assert set(recap) == {s.name for s in HOSTS}
    assert all(c["failed"] == 0 and c["ignored"] == 0 for c in recap.values()), recap
    # the check ran in check mode (it only reads the host) and the reports are new ones
    for spec in HOSTS:
        assert controller.report(spec.name)["started_at"] != before[spec.name]
    rollup = json.loads((controller.reports / "fleet.json").read_text(encoding="utf-8"))
    assert rollup["host_counts"] == {"pass": 1, "fail": 3}
