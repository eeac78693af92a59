"""Plain data shared by every layer: probes produce it, the runner collects it, renderers read it.

Nothing here does I/O, so a report can be built by hand in a test and rendered without a network.
Failure codes (``"tcp.timeout"``) are the contract between probes, the knowledge base and output:
a probe never decides the cause, it states precisely what it observed.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Optional, Tuple

if TYPE_CHECKING:
    from .config import Settings


class Status(str, enum.Enum):
    """Outcome of one check (and, with UNKNOWN, the verdict of a whole run).

    The one vocabulary of the tool: every renderer, ``diagnose`` and the exit code read a
    status's label, rank and exit code from here, so a warning means the same in the table, in
    JUnit, in Prometheus and in the exit code.
    """

    PASS = "pass"
    SKIP = "skip"
    WARN = "warn"
    FAIL = "fail"
    ERROR = "error"
    UNKNOWN = "unknown"  # a run's verdict only: it could not judge (the tool's own trouble)

    @property
    def exit_code(self) -> int:
        """The monitoring-plugin exit code of a run with this verdict."""
        return _EXIT[self]

    @property
    def label(self) -> str:
        """How a person sees it in every text format; never colour alone."""
        return _LABEL[self]

    @property
    def rank(self) -> int:
        """Badness, for "the worst of": a failure outranks a run that could not judge, which
        outranks a warning."""
        return _RANK[self]

    @property
    def is_problem(self) -> bool:
        """Whether a person has something to read (a warning, a failure or an error)."""
        return self in (Status.WARN, Status.FAIL, Status.ERROR)

    @classmethod
    def worst(cls, statuses: Iterable[Status]) -> Status:
        """The worst of several statuses (PASS for none)."""
        return max(statuses, key=lambda status: status.rank, default=cls.PASS)


_EXIT = {Status.PASS: 0, Status.SKIP: 0, Status.WARN: 1, Status.FAIL: 2, Status.ERROR: 2,
         Status.UNKNOWN: 3}
_LABEL = {Status.PASS: "PASS", Status.SKIP: "skip", Status.WARN: "WARN", Status.FAIL: "FAIL",
          Status.ERROR: "ERROR", Status.UNKNOWN: "UNKNOWN"}
_RANK = {Status.PASS: 0, Status.SKIP: 0, Status.WARN: 1, Status.UNKNOWN: 2, Status.ERROR: 3,
         Status.FAIL: 4}


PROBE_KINDS: Tuple[str, ...] = (
    "dns",
    "tcp",
    "tls",
    "https",
    "proxy",
    "service",
    "himds",
    "privilege",
    "clock",
    "imds",
    "agent",
    "params",
    "auth",
    "revocation",
    "gateway",
)

CATEGORIES: Tuple[str, ...] = (
    "dns_failure",
    "network_unreachable",
    "firewall_or_proxy_blocking",
    "proxy_misconfigured",
    "proxy_auth_required",
    "tls_inspection",
    "tls_protocol",
    "clock_skew",
    "invalid_sp_secret",
    "sp_or_tenant_not_found",
    "missing_role_permission",
    "resource_provider_not_registered",
    "resource_exists",
    "agent_already_connected",
    "invalid_tags",
    "invalid_cloud",
    "invalid_region",
    "invalid_correlation_id",
    "missing_parameter",
    "invalid_resource_name",
    "not_admin",
    "himds_not_running",
    "himds_not_responding",
    "azure_vm_detected",
    "private_link_scope_required",
    "managed_identity_cert_error",
    "gpo_profile_cleanup",
    "hostname_unresolvable",
    "install_failure",
    "unsupported_environment",
    "internal_agent_error",
    "policy_denied",
    "resource_locked",
    "arc_resource_missing",
    "agent_not_installed",
    "missing_intermediate_ca",
    "gpo_secret_protect_failed",
    "deployment_share_permission",
    "extension_failure",
    "guest_login_failed",
    "client_tool_bug",
    "agent_not_connected",
    "agent_identity_conflict",
    "agent_config_unwritable",
    "agent_outdated",
    "gateway_misconfigured",
    "azure_cli_sign_in",
    "esu_license_stale",
    "unknown",
)

# Every failure code a probe may emit. The knowledge base must map each one to a cause; a test
# enforces it, so adding a code here without explaining it fails the build.
FAILURE_CODES: Tuple[str, ...] = (
    "dns.nxdomain",
    "dns.no_answer",
    "dns.servfail",
    "dns.refused",
    "dns.timeout",
    "dns.no_nameservers",
    "dns.error",
    "dns.unexpected_private",
    "dns.expected_private",
    "dns.private_for_public",
    "tcp.refused",
    "tcp.reset",
    "tcp.timeout",
    "tcp.unreachable",
    "tcp.error",
    "tls.untrusted",
    "tls.expired",
    "tls.hostname_mismatch",
    "tls.handshake_failure",
    "tls.reset",
    "tls.timeout",
    "tls.protocol_old",
    "tls.error",
    "tls.unexpected_issuer",
    "tls.negative_serial",
    "revocation.unreachable",
    "proxy.dns",
    "proxy.unreachable",
    "proxy.timeout",
    "proxy.denied",
    "proxy.auth_required",
    "proxy.upstream_failed",
    "proxy.bad_response",
    "proxy.conflict",
    "proxy.credentials_in_url",
    "proxy.bypass_with_gateway",
    "proxy.config_invalid",
    # The Arc gateway suite (issue 11): the local Arc proxy, the agent's gateway settings, its log.
    "gateway.arcproxy_down",
    "gateway.connection_type_manual",
    "gateway.cloud_unsupported",
    "gateway.log_errors",
    "clock.skew",
    "clock.skew_large",
    "imds.azure_vm",
    "agent.connected",
    "agent.connected_elsewhere",
    "agent.disconnected",
    "agent.expired",
    "agent.error",
    "agent.cert_expiring",
    "agent.cert_expired",
    "agent.heartbeat_old",
    "agent.unreadable",
    "agent.not_connected",
    "agent.himds_mismatch",
    "agent.cloned_identity",
    "agent.config_readonly",
    "agent.outdated",
    "agent.arc_setup_installed",
    "params.tags",
    "params.cloud",
    "params.region",
    "params.correlation_id",
    "params.tenant_id",
    "params.subscription_name",
    "params.private_link_scope",
    "params.missing",
    "params.resource_name",
    "params.hostname",
    "params.fqdn",
    # Newer connect flags (issue 11 item 4).
    "params.auth_conflict",
    "params.sp_cert_unreadable",
    "params.sp_cert_format",
    "params.sp_cert_password",
    "params.sp_cert_no_key",
    "params.sp_cert_expired",
    "params.agent_too_old",
    "params.azcli_missing",
    "params.azcli_signed_out",
    "params.azcli_wrong_cloud",
    "params.azcli_tenant",
    "params.azcli_error",
    "auth.network",
    "auth.invalid_secret",
    "auth.expired_secret",
    "auth.app_not_found",
    "auth.tenant_not_found",
    "auth.clock",
    "auth.app_disabled",
    "auth.failed",
    "auth.forbidden",
    "auth.subscription_not_found",
    "auth.resource_group_not_found",
    "auth.arm_error",
    "auth.provider_not_registered",
    "auth.missing_permission",
    "auth.resource_exists",
    "auth.providers_unreadable",
    "auth.invalid_certificate",
    "auth.pls_not_found",
    "auth.pls_forbidden",
    "auth.machine_elsewhere",
    "https.timeout",
    "https.reset",
    "https.error",
    "privilege.not_admin",
    "service.stopped",
    "service.failed",
    "himds.refused",
    "himds.timeout",
    "himds.bad_response",
    # Hostile or broken answers (issue 13): each told apart from the failure it resembles.
    "himds.oversized",
    "dns.server_unreachable",
    "https.bad_answer",
    "proxy.oversized_answer",
    "probe.hung",
    "probe.crashed",
    "probe.deadline",
)


@dataclass(frozen=True)
class Outcome:
    """What a probe function returns: its verdict and what it saw, never a cause."""

    status: Status
    summary: str
    code: Optional[str] = None
    facts: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ProbeContext:
    """Everything a probe may need besides its own arguments; built once per run."""

    timeout: float
    settings: Settings
    deadline_at: float  # time.monotonic() value after which no probe should still be running

    def budget(self) -> float:
        """Seconds this probe may spend: its own timeout, cut short by the run's deadline."""
        import time

        return max(0.05, min(self.timeout, self.deadline_at - time.monotonic()))


ProbeFn = Callable[[ProbeContext, Mapping[str, "Result"]], Outcome]


@dataclass(frozen=True)
class Check:
    """One planned check: an id, what it probes, what it needs first, and how to run it."""

    id: str
    probe: str
    target: str
    run: ProbeFn
    needs: Tuple[str, ...] = ()
    # A check that is needed for information only (optional endpoints) reports failures as warn.
    required: bool = True
    meta: Mapping[str, Any] = field(default_factory=dict)
    # Checks this one waits for without depending on them: it runs whatever their outcome (a
    # failed one never skips it) and sees their results beside those of ``needs``.
    after: Tuple[str, ...] = ()


@dataclass(frozen=True)
class Result:
    """A finished check as reported: JSON's ``checks[]`` items map one to one onto this."""

    id: str
    probe: str
    target: str
    status: Status
    summary: str
    code: Optional[str] = None
    duration_ms: int = 0
    blocked_by: Optional[str] = None
    facts: Mapping[str, Any] = field(default_factory=dict)

    @property
    def explainable(self) -> bool:
        """A problem with a failure code: what the knowledge base explains. The diagnosis reads
        only these, and a check parses the knowledge base only once one is seen."""
        return self.status.is_problem and bool(self.code)


@dataclass(frozen=True)
class Cause:
    """One knowledge-base entry: a documented way onboarding fails and how to fix it."""

    id: str
    category: str
    severity: str
    title: str
    explanation: str
    remedy: Tuple[str, ...]
    remedy_linux: Tuple[str, ...] = ()
    remedy_windows: Tuple[str, ...] = ()
    docs: Tuple[str, ...] = ()
    azcm: Tuple[str, ...] = ()
    probe_codes: Tuple[str, ...] = ()
    targets: Tuple[str, ...] = ()
    patterns: Tuple[str, ...] = ()
    priority: int = 50
    notes: str = ""
    platform: str = ""  # "windows" or "linux" when the cause exists on one system only
    # Only counts inside a result record that reports a failure (an Azure Local environment
    # checker result: its Name or target line says what was tested, its Status line whether it
    # failed), see logs.diagnose.
    record: bool = False
    # Says only *that* something failed ("Unable to connect to the remote server"); a cause of
    # the same category found with it says *why*, and takes its evidence (see logs.diagnose).
    generic: bool = False


@dataclass(frozen=True)
class Diagnosis:
    """A cause found in this run, with the evidence that led to it."""

    cause_id: str
    category: str
    severity: str
    title: str
    explanation: str
    remedy: Tuple[str, ...]
    docs: Tuple[str, ...]
    azcm: Tuple[str, ...]
    evidence: Tuple[str, ...]
    source: Optional[str] = None
    lines: Tuple[int, ...] = ()
    checks: Tuple[str, ...] = ()  # ids of the checks behind a live diagnosis (none for logs)

    @property
    def status(self) -> Status:
        return Status(self.severity)

    def log_evidence(self) -> Tuple[Tuple[int, str], ...]:
        """(line number, excerpt) pairs of a log diagnosis, the ``source:N:`` prefix removed."""
        out = []
        for number, text in zip(self.lines, self.evidence):
            prefix = f"{self.source}:{number}: "
            out.append((number, text[len(prefix):] if text.startswith(prefix) else text))
        return tuple(out)


@dataclass(frozen=True)
class HostInfo:
    hostname: str
    os: str
    python: str
    elevated: bool


@dataclass(frozen=True)
class Change:
    """How one check moved since the previous run recorded in ``--state``."""

    id: str
    kind: str  # new_failure | recovered | flapping | changed | new_check | gone
    before: Optional[str]
    after: Optional[str]
    since: Optional[str] = None  # when the check entered its current status


@dataclass(frozen=True)
class Report:
    """The whole run; every renderer is a pure function of this."""

    tool_version: str
    host: HostInfo
    started_at: str
    duration_s: float
    settings: Mapping[str, Any]
    checks: Tuple[Result, ...]
    diagnoses: Tuple[Diagnosis, ...]
    changes: Tuple[Change, ...] = ()
    profile: str = "preflight"
    fail_on: str = "warn"  # "fail": warnings alone exit 0
    notices: Tuple[str, ...] = ()  # problems of the tool itself (state file, system log)

    @property
    def status(self) -> Status:
        """fail when something was found broken; unknown when the only trouble is the tool's own
        (a probe that hung, crashed or was cut off by the deadline); else warn or pass."""
        statuses = [item.status for item in self.checks]
        own = [item for item in self.checks if item.status == Status.ERROR
               and (item.code or "").startswith("probe.")]
        if Status.FAIL in statuses or len(own) < statuses.count(Status.ERROR):
            return Status.FAIL
        if any(d.severity == "fail" and d.category != "unknown" for d in self.diagnoses):
            return Status.FAIL
        if own:
            return Status.UNKNOWN
        if Status.WARN in statuses or self.diagnoses:
            return Status.WARN
        return Status.PASS

    @property
    def exit_code(self) -> int:
        status = self.status
        if status == Status.WARN and self.fail_on == "fail":
            return 0
        return status.exit_code


@dataclass(frozen=True)
class LogDiagnosis:
    """A diagnosis found in a log, with how often its evidence occurred."""

    diagnosis: Diagnosis
    occurrences: int
    first_line: int
    last_line: int


@dataclass(frozen=True)
class LogReport:
    """What ``diagnose`` found in one input; its renderers are pure functions of this."""

    source: str  # file name, or "stdin"
    path: str  # what was read, as given
    lines_read: int
    scope: str  # "latest_attempt", "whole_input", "all", "since"
    scope_text: str  # the same, for people
    start_line: int
    end_line: int
    attempts: int
    since: Optional[dt.datetime]
    diagnoses: Tuple[LogDiagnosis, ...]
    warnings: Tuple[str, ...] = ()
    notes: Tuple[str, ...] = ()
    bytes_read: int = 0
    compressed: bool = False

    @property
    def status(self) -> Status:
        """The worst diagnosis; or unknown when reading stopped early and nothing was found
        (the unread rest might have held the cause)."""
        if self.warnings and not self.diagnoses:
            return Status.UNKNOWN
        return Status.worst(d.diagnosis.status for d in self.diagnoses)

    @property
    def exit_code(self) -> int:
        return self.status.exit_code


@dataclass(frozen=True)
class Explanation:
    """What ``explain`` found for one query."""

    query: str
    matched_by: str  # "azcm", "cause_id", "category", "probe_code", "text", "success"
    causes: Tuple[Cause, ...]
    code: Optional[str] = None
    text_report: Optional[LogReport] = None
