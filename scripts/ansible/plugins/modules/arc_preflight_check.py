#!/usr/bin/python
# Copyright (c) 2026 The arc-preflight authors
# SPDX-License-Identifier: MIT
"""Ansible module: run the arc-preflight single file on a Linux target, return its report."""

import json
import os
import re

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
---
module: arc_preflight_check
short_description: Check a server for everything that would stop Azure Arc onboarding
version_added: "1.0.0"
description:
  - Runs C(arc-preflight check --format json) from the single-file build (C(arc-preflight.pyz))
    already on the target, with the target's own Python, and returns the parsed report as the
    fact C(arc_preflight).
  - The connect parameters have the names of C(azcmagent connect); give the same values you will
    give the agent, and the check derives the endpoints, probes them from this host and maps
    each failure to a documented cause with its fix.
  - The service principal secret never appears on a command line; the module hands it to the
    check in the environment variable C(ARC_PREFLIGHT_SP_SECRET).
  - The task fails when the worst finding reaches I(fail_on), after the report has been read, so
    the facts are always there to inspect.
  - Linux and other POSIX targets only. Windows targets need a PowerShell module; the collection's
    playbook runs the single file there with C(ansible.windows.win_command) instead.
options:
  path:
    description:
      - Where the single file is on the target (copy it there first, for example with
        M(ansible.builtin.copy)).
    type: path
    required: true
  python:
    description:
      - The interpreter that runs the single file on the target (CPython 3.9 to 3.13).
      - Independent of C(ansible_python_interpreter), which runs this module.
    type: str
    default: python3
  cloud:
    description: The Azure cloud, as for C(azcmagent connect --cloud).
    type: str
  location:
    description:
      - The Azure region. Also makes the check probe the regional endpoints.
    type: str
  tenant_id:
    description: The Microsoft Entra tenant id.
    type: str
  subscription_id:
    description: The subscription the machine resource will be created in.
    type: str
  resource_group:
    description: The resource group the machine resource will be created in.
    type: str
  resource_name:
    description: The machine resource name (the agent uses the host name when it is not given).
    type: str
  tags:
    description: Tags as for C(azcmagent connect --tags), for example C(Env=Prod,Owner=ops).
    type: str
  service_principal_id:
    description: The application (client) id of the onboarding service principal.
    type: str
  service_principal_secret:
    description:
      - Its secret. Passed to the check in the environment variable C(ARC_PREFLIGHT_SP_SECRET),
        never as an argument; keep it in Ansible Vault.
      - Only the C(--auth) checks (see I(extra_args)) sign in with it; without C(--auth) the
        check only validates that the sign-in parameters are complete.
    type: str
  extra_args:
    description:
      - More C(arc-preflight check) arguments, one list item per word, for example
        C(["--extensions", "sql", "--timeout", "3"]) or C(["--proxy", "http://proxy:3128"]).
      - Not C(--format), C(--output) or C(--service-principal-secret); the module sets those.
    type: list
    elements: str
    default: []
  output:
    description:
      - Also keep the JSON report in this file on the target (written atomically by the check),
        for example to M(ansible.builtin.fetch) it to the controller for C(arc-preflight report).
    type: path
  fail_on:
    description:
      - When the task fails. C(fail) when the check found a failure (exit code 2); C(warn) also
        for warnings only (exit code 1); C(never) to only report.
      - Whatever the threshold, the task fails when the check could not judge (exit code 3) or
        gave no readable report.
    type: str
    choices: [fail, warn, never]
    default: fail
attributes:
  check_mode:
    support: full
    description:
      - The check only reads the host (no setting changed, no service started), so in check mode
        it runs exactly as in a normal run and returns the same report. The only file it writes
        is I(output), when given.
  diff_mode:
    support: none
notes:
  - The result is never C(changed).
  - Exit codes of the check follow the monitoring-plugin convention (0 pass, 1 warnings, 2
    failures, 3 could not judge); the report's C(status) says the same in words.
  - The check bounds its own run time (C(--deadline), 30 seconds by default); use the task
    keyword C(timeout) for a hard limit.
requirements:
  - CPython 3.9 to 3.13 on the target (for the single file; nothing else, no pip, no network to a
    package index).
author:
  - The arc-preflight authors
"""

EXAMPLES = r"""
- name: Copy the single file
  ansible.builtin.copy:
    src: dist/arc-preflight.pyz
    dest: /var/tmp/arc-preflight/arc-preflight.pyz
    mode: "0755"

- name: Check the server with the parameters azcmagent connect will get
  arc_preflight.preflight.arc_preflight_check:
    path: /var/tmp/arc-preflight/arc-preflight.pyz
    location: westeurope
    tenant_id: "{{ arc_tenant_id }}"
    subscription_id: "{{ arc_subscription_id }}"
    resource_group: rg-arc
    service_principal_id: "{{ arc_sp_id }}"
    service_principal_secret: "{{ arc_sp_secret }}"   # from Ansible Vault
    output: /var/tmp/arc-preflight/report.json
    fail_on: fail

- name: Warnings fail too, through the proxy the agent will use, with SQL endpoints
  arc_preflight.preflight.arc_preflight_check:
    path: /var/tmp/arc-preflight/arc-preflight.pyz
    location: eastus
    extra_args: [--proxy, "http://proxy.contoso.com:3128", --extensions, sql]
    fail_on: warn

- name: Only collect; decide later
  arc_preflight.preflight.arc_preflight_check:
    path: /var/tmp/arc-preflight/arc-preflight.pyz
    location: eastus
    fail_on: never
  register: preflight

- name: Show what is wrong
  ansible.builtin.debug:
    msg: "{{ arc_preflight.diagnoses | map(attribute='title') | list }}"
  when: arc_preflight.status != 'pass'
"""

RETURN = r"""
ansible_facts:
  description: Facts set on the host.
  returned: when the check produced a report
  type: dict
  contains:
    arc_preflight:
      description: The check's verdict and its whole report.
      type: dict
      contains:
        status:
          description: C(pass), C(warn) or C(fail).
          type: str
          sample: fail
        exit_code:
          description: 0 all passed, 1 warnings only, 2 at least one failure.
          type: int
          sample: 2
        causes:
          description: The categories of the diagnoses, each once, in the report's order.
          type: list
          elements: str
          sample: [dns_failure]
        diagnoses:
          description:
            - One entry per cause found, each with C(cause_id), C(category), C(severity),
              C(title), C(explanation), C(remedy) steps, C(docs) links and C(evidence).
          type: list
          elements: dict
        report:
          description: The whole C(arc-preflight/1) JSON report (secrets redacted by the tool).
          type: dict
        report_path:
          description: The file on the target holding the report, when I(output) was given.
          type: str
          sample: /var/tmp/arc-preflight/report.json
status:
  description: C(pass), C(warn) or C(fail).
  returned: when the check produced a report
  type: str
  sample: warn
exit_code:
  description: The check's exit code.
  returned: always
  type: int
  sample: 1
report_path:
  description: Same as the fact, when I(output) was given.
  returned: when the check produced a report and I(output) was given
  type: str
cmd:
  description: The command that ran (the secret is never part of it).
  returned: always
  type: list
  elements: str
stderr:
  description: What the check wrote on stderr (messages; the report is on stdout or in I(output)).
  returned: always
  type: str
"""

SECRET_ENV = "ARC_PREFLIGHT_SP_SECRET"
SCHEMA = "arc-preflight/1"
THRESHOLDS = {"fail": 2, "warn": 1, "never": None}
REPORT_LIMIT = 64 * 1024 * 1024
# option name -> the check's flag, in the order azcmagent connect documents them
CONNECT_FLAGS = (
    ("cloud", "--cloud"),
    ("location", "--location"),
    ("tenant_id", "--tenant-id"),
    ("subscription_id", "--subscription-id"),
    ("resource_group", "--resource-group"),
    ("resource_name", "--resource-name"),
    ("tags", "--tags"),
    ("service_principal_id", "--service-principal-id"),
)
# user:password@ in a URL argument (a proxy with credentials) is masked in the returned cmd
USERINFO = re.compile(r"(://)[^/@\s]+@")
RESERVED = ("--format", "-f", "--output", "-o", "--service-principal-secret")


def argument_spec():
    spec = {
        "path": {"type": "path", "required": True},
        "python": {"type": "str", "default": "python3"},
        "service_principal_secret": {"type": "str", "no_log": True},
        "extra_args": {"type": "list", "elements": "str", "default": []},
        "output": {"type": "path"},
        "fail_on": {"type": "str", "choices": list(THRESHOLDS), "default": "fail"},
    }
    for name, _flag in CONNECT_FLAGS:
        spec[name] = {"type": "str"}
    return spec


def reserved_arg(args):
    """The first argument the module sets itself, or None."""
    for arg in args:
        name = arg.split("=", 1)[0]
        if name in RESERVED:
            return arg if name == arg else name
    return None


def build_command(params):
    argv = [params["python"], params["path"], "check", "--format", "json"]
    if params["output"]:
        argv += ["--output", params["output"]]
    for name, flag in CONNECT_FLAGS:
        if params[name]:
            argv += [flag, params[name]]
    return argv + list(params["extra_args"])


def read_report(params, stdout):
    """The parsed report, or (None, why)."""
    text = stdout
    if params["output"]:
        try:
            with open(params["output"], "rb") as handle:
                raw = handle.read(REPORT_LIMIT + 1)
        except OSError as exc:
            return None, f"cannot read {params['output']}: {exc.strerror or exc}"
        if len(raw) > REPORT_LIMIT:
            return None, f"{params['output']} is larger than {REPORT_LIMIT} bytes"
        text = raw.decode("utf-8", "replace")
    try:
        report = json.loads(text)
    except ValueError:
        return None, "the check printed no JSON report"
    if not isinstance(report, dict) or report.get("schema") != SCHEMA:
        return None, f"not an {SCHEMA} report"
    return report, ""


def summary(report):
    """One line per diagnosis: severity, cause, title."""
    lines = []
    for item in report.get("diagnoses") or []:
        if isinstance(item, dict):
            lines.append("{}: {} ({})".format(
                str(item.get("severity", "?")).upper(), item.get("title", ""),
                item.get("cause_id", "")))
    return "; ".join(lines)


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    reserved = reserved_arg(params["extra_args"])
    if reserved:
        module.fail_json(msg=f"extra_args must not contain {reserved}: the module sets it "
                         "(give the secret as service_principal_secret)")
    argv = build_command(params)
    result = {"changed": False, "cmd": [USERINFO.sub(r"\1***@", arg) for arg in argv],
              "exit_code": None, "stderr": ""}
    if not os.path.isfile(params["path"]):
        module.fail_json(msg=f"no arc-preflight single file at {params['path']}", **result)

    environ = {SECRET_ENV: params["service_principal_secret"]} \
        if params["service_principal_secret"] else {}
    # UTF-8 whatever the login's locale: host names and messages may not be ASCII.
    rc, stdout, stderr = module.run_command(
        argv, check_rc=False, environ_update=dict(environ, PYTHONIOENCODING="utf-8"))
    result.update(exit_code=rc, stderr=stderr)
    if rc not in (0, 1, 2):
        module.fail_json(msg=f"arc-preflight could not judge (exit code {rc}): "
                         f"{(stderr or stdout).strip()[-2000:]}", **result)
    report, why = read_report(params, stdout)
    if report is None:
        module.fail_json(msg=f"arc-preflight exit code {rc}, but {why}", **result)

    exit_code = report.get("exit_code", rc)
    facts = {
        "status": report.get("status"),
        "exit_code": exit_code,
        "causes": list(dict.fromkeys(d.get("category") for d in report.get("diagnoses") or []
                                     if isinstance(d, dict))),
        "diagnoses": report.get("diagnoses") or [],
        "report": report,
    }
    if params["output"]:
        facts["report_path"] = params["output"]
        result["report_path"] = params["output"]
    result.update(status=facts["status"], exit_code=exit_code,
                  ansible_facts={"arc_preflight": facts})

    threshold = THRESHOLDS[params["fail_on"]]
    if threshold is not None and exit_code >= threshold:
        module.fail_json(msg=f"arc-preflight: {facts['status']} (fail_on={params['fail_on']}): "
                         f"{summary(report) or 'see the report'}", **result)
    module.exit_json(msg=f"arc-preflight: {facts['status']}", **result)


if __name__ == "__main__":
    main()
