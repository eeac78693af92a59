"""Offline validation of the azcmagent connect flags (AZCM0013-0017, 0020, host name).

Every probe runs with a fake ProbeContext; the only OS calls (``socket.gethostname`` and
``socket.getaddrinfo``) are monkeypatched, so nothing here touches the network.
"""

from __future__ import annotations

import socket
import time
from typing import Any, Dict, Iterator, List

import pytest

from arc_preflight import config, kb
from arc_preflight.model import FAILURE_CODES, Outcome, ProbeContext, Status
from arc_preflight.probes import params

GUID = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
SUB = "00000000-1111-2222-3333-444444444444"
SEED_TAGS = "SingleName='Value with spaces',Location=Redmond"
PLS = (f"/subscriptions/{SUB}/resourceGroups/arc-rg/providers/"
       "Microsoft.HybridCompute/privateLinkScopes/my-scope")


@pytest.fixture(autouse=True)
def _fixed_host(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A valid host name that resolves, unless a test says otherwise."""
    monkeypatch.setattr(socket, "gethostname", lambda: "web01.contoso.com")

    def resolve(host: Any, port: Any, *args: Any, **kwargs: Any) -> List[Any]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "web01.contoso.com",
                 ("10.0.0.5", 0))]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    yield


def ctx(**flags: Any) -> ProbeContext:
    settings = config.build(flags, environ={})
    return ProbeContext(timeout=1, settings=settings, deadline_at=time.monotonic() + 10)


def probe(rule: str, **flags: Any) -> Outcome:
    return params.probe(rule, ctx(**flags), {})


# --------------------------------------------------------------------------------------------
# tags (AZCM0013)


def test_seed_article_tags_example_is_valid() -> None:
    pairs, error = params.parse_tags(SEED_TAGS)
    assert error is None
    assert pairs == [("SingleName", "Value with spaces"), ("Location", "Redmond")]
    assert params.check_tags(SEED_TAGS) is None
    outcome = probe("tags", tags=SEED_TAGS)
    assert outcome.status == Status.PASS and outcome.code is None


def test_quoted_value_may_hold_a_comma_and_quoted_name_spaces() -> None:
    pairs, error = params.parse_tags("'Cost Center'='Ops, Berlin',Env=prod")
    assert error is None
    assert pairs == [("Cost Center", "Ops, Berlin"), ("Env", "prod")]


def test_empty_value_is_allowed() -> None:
    assert params.check_tags("Env=") is None


@pytest.mark.parametrize(("text", "fragment"), [
    ("SingleName='Value with spaces,Location=Redmond", "quote"),
    ("SingleName=Value with spaces,Location=Redmond", "spaces"),
    ("Single Name=x", "spaces"),
    ("Environment", "no '='"),
    ("Env=prod,,Owner=it", "empty tag"),
    ("Env=prod,", "empty tag"),
    ("=prod", "empty name"),
])
def test_malformed_tags(text: str, fragment: str) -> None:
    error = params.check_tags(text)
    assert error is not None and fragment in error, error
    outcome = probe("tags", tags=text)
    assert outcome.status == Status.FAIL
    assert outcome.code == "params.tags"
    assert outcome.summary.startswith("--tags:")


def test_tag_count_limit() -> None:
    fifty = ",".join(f"t{i}=v" for i in range(50))
    assert params.check_tags(fifty) is None
    error = params.check_tags(fifty + ",t50=v")
    assert error is not None and "51 tags" in error and "50" in error
    assert probe("tags", tags=fifty + ",t50=v").code == "params.tags"


def test_tag_name_and_value_length_limits() -> None:
    assert params.check_tags("n" * 512 + "=" + "v" * 256) is None
    assert "too long" in (params.check_tags("n" * 513 + "=v") or "")
    assert "too long" in (params.check_tags("n=" + "v" * 257) or "")


@pytest.mark.parametrize("char", list("<>%&\\?/"))
def test_forbidden_characters_in_tag_names(char: str) -> None:
    error = params.check_tags(f"bad{char}name=v")
    assert error is not None and char in error
    # The same characters are fine in a value.
    assert params.check_tags(f"name=bad{char}value") is None


# --------------------------------------------------------------------------------------------
# resource name (AZCM0017)


@pytest.mark.parametrize("name", ["web01", "Web_01-prod", "a", "x" * 54, "9-9_9"])
def test_valid_resource_names(name: str) -> None:
    assert params.check_resource_name(name) is None
    outcome = probe("resource_name", resource_name=name)
    assert outcome.status == Status.PASS


@pytest.mark.parametrize(("name", "fragment"), [
    ("web01-", "ends in a hyphen"),
    ("web01_", "ends in a hyphen or underscore"),
    ("web.01", "'.'"),
    ("web 01", "' '"),
    ("wéb01", "'é'"),
    ("x" * 55, "55 characters"),
    ("azure", "reserved"),
    ("Windows", "reserved"),
    ("MICROSOFT", "reserved"),
    ("login", "reserved"),
])
def test_invalid_resource_names(name: str, fragment: str) -> None:
    problem = params.check_resource_name(name)
    assert problem is not None and fragment in problem, problem
    outcome = probe("resource_name", resource_name=name)
    assert outcome.status == Status.FAIL
    assert outcome.code == "params.resource_name"


def test_resource_name_from_the_host_name(monkeypatch: pytest.MonkeyPatch) -> None:
    outcome = probe("resource_name")
    assert outcome.status == Status.PASS
    assert outcome.facts["hostname"] == "web01"  # the first label, as the agent uses it


def test_host_name_that_is_not_a_valid_resource_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "gethostname", lambda: "web_01-")
    outcome = probe("resource_name")
    assert outcome.status == Status.FAIL
    assert outcome.code == "params.hostname"
    assert "--resource-name" in outcome.summary
    assert outcome.facts["hostname"] == "web_01-"
    # An explicit --resource-name makes the host name irrelevant.
    assert probe("resource_name", resource_name="web01").status == Status.PASS


def test_empty_host_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "gethostname", lambda: "")
    outcome = probe("resource_name")
    assert outcome.status == Status.FAIL and outcome.code == "params.hostname"


# --------------------------------------------------------------------------------------------
# GUIDs, subscription, private link scope


def test_correlation_id_must_be_a_guid() -> None:
    assert probe("correlation_id", correlation_id=GUID).status == Status.PASS
    assert probe("correlation_id", correlation_id=GUID.upper()).status == Status.PASS
    for bad in ("not-a-guid", GUID[:-1], GUID + "0", GUID.replace("-", "")):
        outcome = probe("correlation_id", correlation_id=bad)
        assert outcome.status == Status.FAIL, bad
        assert outcome.code == "params.correlation_id"


def test_tenant_id_must_be_a_guid() -> None:
    assert probe("tenant_id", tenant_id=TENANT).status == Status.PASS
    outcome = probe("tenant_id", tenant_id="contoso")
    assert outcome.status == Status.FAIL and outcome.code == "params.tenant_id"


def test_subscription_by_name_is_a_warning() -> None:
    assert probe("subscription_id", subscription_id=SUB).status == Status.PASS
    outcome = probe("subscription_id", subscription_id="Contoso Production")
    assert outcome.status == Status.WARN
    assert outcome.code == "params.subscription_name"
    assert "AZCM0068" in outcome.summary


def test_private_link_scope_resource_id() -> None:
    outcome = probe("private_link_scope", private_link_scope=PLS)
    assert outcome.status == Status.PASS and "my-scope" in outcome.summary
    assert probe("private_link_scope", private_link_scope=PLS.lower()).status == Status.PASS
    for bad in ("my-scope", PLS.replace(SUB, "my-subscription"),
                PLS.replace("privateLinkScopes", "machines"),
                PLS.replace("Microsoft.HybridCompute", "Microsoft.Network")):
        outcome = probe("private_link_scope", private_link_scope=bad)
        assert outcome.status == Status.FAIL, bad
        assert outcome.code == "params.private_link_scope"


# --------------------------------------------------------------------------------------------
# cloud and region (AZCM0014, AZCM0020)


def test_cloud() -> None:
    assert probe("cloud").status == Status.PASS
    assert probe("cloud", cloud="azureusgovernment").status == Status.PASS
    outcome = probe("cloud", cloud="mars")
    assert outcome.status == Status.FAIL and outcome.code == "params.cloud"


def test_location() -> None:
    assert probe("location", location="eastus").status == Status.PASS
    assert probe("location", location="East US").status == Status.PASS
    outcome = probe("location", location="atlantis")
    assert outcome.status == Status.FAIL and outcome.code == "params.region"
    # With an unknown cloud the region cannot be judged; the cloud check reports the problem.
    assert probe("location", cloud="mars", location="eastus").status == Status.SKIP


# --------------------------------------------------------------------------------------------
# required parameters (AZCM0016)

FULL: Dict[str, Any] = {"tenant_id": TENANT, "subscription_id": SUB,
                        "resource_group": "arc-rg", "location": "eastus"}


def test_required_all_given() -> None:
    outcome = probe("required", **FULL)
    assert outcome.status == Status.PASS and "interactive" in outcome.summary
    outcome = probe("required", **FULL, service_principal_id=GUID,
                    service_principal_secret="s3cret-value")
    assert outcome.status == Status.PASS and "service principal" in outcome.summary


@pytest.mark.parametrize("missing", ["resource_group", "tenant_id", "subscription_id",
                                     "location"])
def test_required_missing_one(missing: str) -> None:
    flags = {k: v for k, v in FULL.items() if k != missing}
    outcome = probe("required", **flags)
    assert outcome.status == Status.FAIL and outcome.code == "params.missing"
    flag = "--" + missing.replace("_", "-")
    assert outcome.facts["missing"] == [flag]
    assert flag in outcome.summary


def test_service_principal_without_secret() -> None:
    outcome = probe("required", **FULL, service_principal_id=GUID)
    assert outcome.status == Status.FAIL and outcome.code == "params.missing"
    assert any("--service-principal-secret," in m for m in outcome.facts["missing"])
    assert "ARC_PREFLIGHT_SP_SECRET" in outcome.summary


def test_missing_secret_message_survives_redaction() -> None:
    """The sentence names the flag; the redaction of '--service-principal-secret VALUE' must not
    take the next word of it for a secret."""
    from arc_preflight.redact import redact

    outcome = probe("required", **FULL, service_principal_id=GUID)
    assert redact(outcome.summary) == outcome.summary


def test_secret_without_service_principal() -> None:
    secret = "Zq8~fake-secret-Value_123"
    outcome = probe("required", **FULL, service_principal_secret=secret)
    assert outcome.status == Status.FAIL
    assert outcome.facts["missing"] == ["--service-principal-id"]
    assert secret not in outcome.summary and secret not in repr(outcome.facts)


def test_secret_from_environment_counts() -> None:
    settings = config.build({**FULL, "service_principal_id": GUID},
                            environ={config.SECRET_ENV: "from-env-secret"})
    context = ProbeContext(timeout=1, settings=settings, deadline_at=time.monotonic() + 10)
    assert params.probe("required", context, {}).status == Status.PASS


# --------------------------------------------------------------------------------------------
# applicable()


def test_applicable_without_connect_flags() -> None:
    assert params.applicable(config.build({}, environ={})) == ["cloud", "fqdn", "resource_name"]


def test_applicable_with_every_flag() -> None:
    settings = config.build({**FULL, "tags": "a=b", "correlation_id": GUID,
                             "private_link_scope": PLS, "service_principal_id": GUID},
                            environ={})
    assert set(params.applicable(settings)) == {
        "cloud", "fqdn", "resource_name", "tags", "location", "correlation_id", "tenant_id",
        "subscription_id", "private_link_scope", "required"}


@pytest.mark.parametrize("flag", ["tenant_id", "subscription_id", "resource_group",
                                  "service_principal_id"])
def test_any_identity_flag_brings_the_required_rule(flag: str) -> None:
    value = "arc-rg" if flag == "resource_group" else GUID
    assert "required" in params.applicable(config.build({flag: value}, environ={}))


def test_location_alone_does_not_require_the_rest() -> None:
    rules = params.applicable(config.build({"location": "eastus"}, environ={}))
    assert "location" in rules and "required" not in rules


def test_unknown_rule_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        probe("nonsense")


# --------------------------------------------------------------------------------------------
# the machine's own name must resolve


def test_fqdn_resolves() -> None:
    outcome = probe("fqdn")
    assert outcome.status == Status.PASS
    assert outcome.facts["fqdn"] == "web01.contoso.com"
    assert outcome.facts["addresses"] == ["10.0.0.5"]


def test_fqdn_does_not_resolve(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fail)
    outcome = probe("fqdn")
    assert outcome.status == Status.FAIL
    assert outcome.code == "params.fqdn"
    assert outcome.facts["hostname"] == "web01.contoso.com"
    assert "does not resolve" in outcome.summary


# --------------------------------------------------------------------------------------------
# every params.* / auth.* code has the intended cause


EXPECTED_CATEGORY = {
    "params.tags": ("invalid_tags", "AZCM0013"),
    "params.cloud": ("invalid_cloud", "AZCM0014"),
    "params.correlation_id": ("invalid_correlation_id", "AZCM0015"),
    "params.missing": ("missing_parameter", "AZCM0016"),
    "params.resource_name": ("invalid_resource_name", "AZCM0017"),
    "params.region": ("invalid_region", "AZCM0020"),
    "params.tenant_id": ("missing_parameter", None),
    "params.private_link_scope": ("missing_parameter", None),
    "params.subscription_name": ("missing_parameter", "AZCM0068"),
    "params.hostname": ("hostname_unresolvable", None),
    "params.fqdn": ("hostname_unresolvable", None),
    "auth.invalid_secret": ("invalid_sp_secret", "AZCM0041"),
    "auth.expired_secret": ("invalid_sp_secret", "AZCM0041"),
    "auth.app_not_found": ("sp_or_tenant_not_found", "AZCM0041"),
    "auth.tenant_not_found": ("sp_or_tenant_not_found", "AZCM0041"),
    "auth.app_disabled": ("sp_or_tenant_not_found", None),
    "auth.clock": ("clock_skew", None),
    "auth.failed": ("invalid_sp_secret", None),
    "auth.forbidden": ("missing_role_permission", "AZCM0042"),
    "auth.missing_permission": ("missing_role_permission", "AZCM0042"),
    "auth.provider_not_registered": ("resource_provider_not_registered", None),
    "auth.subscription_not_found": ("sp_or_tenant_not_found", None),
    "auth.resource_group_not_found": ("missing_parameter", None),
    "auth.resource_exists": ("resource_exists", "AZCM0044"),
    "auth.providers_unreadable": ("resource_provider_not_registered", None),
    "auth.arm_error": ("unknown", None),
    "auth.network": ("firewall_or_proxy_blocking", None),
    # newer connect flags (issue 11 item 4)
    "params.auth_conflict": ("missing_parameter", None),
    "params.sp_cert_unreadable": ("invalid_sp_secret", None),
    "params.sp_cert_format": ("invalid_sp_secret", None),
    "params.sp_cert_password": ("invalid_sp_secret", None),
    "params.sp_cert_no_key": ("invalid_sp_secret", None),
    "params.sp_cert_expired": ("invalid_sp_secret", "AZCM0041"),
    "params.agent_too_old": ("agent_outdated", None),
    "params.azcli_missing": ("azure_cli_sign_in", None),
    "params.azcli_signed_out": ("azure_cli_sign_in", None),
    "params.azcli_wrong_cloud": ("azure_cli_sign_in", None),
    "params.azcli_tenant": ("azure_cli_sign_in", None),
    "params.azcli_error": ("azure_cli_sign_in", None),
    "auth.invalid_certificate": ("invalid_sp_secret", "AZCM0041"),
    "auth.pls_not_found": ("private_link_scope_required", None),
    "auth.pls_forbidden": ("missing_role_permission", None),
    "auth.machine_elsewhere": ("resource_exists", None),
}


def test_every_params_and_auth_code_is_listed_here() -> None:
    ours = {c for c in FAILURE_CODES if c.startswith(("params.", "auth."))}
    assert ours == set(EXPECTED_CATEGORY)


@pytest.mark.parametrize("code", sorted(EXPECTED_CATEGORY))
def test_code_maps_to_category(code: str) -> None:
    category, azcm = EXPECTED_CATEGORY[code]
    cause = kb.load().for_failure(code)
    assert cause is not None, code
    assert cause.category == category, (code, cause.id)
    if azcm:
        assert azcm in cause.azcm, (code, cause.id, cause.azcm)


def test_auth_network_on_identity_and_arm_hosts_is_endpoint_specific() -> None:
    knowledge = kb.load()
    assert knowledge.for_failure("auth.network", "login.microsoftonline.com").id == \
        "entra_id_blocked"
    assert knowledge.for_failure("auth.network", "management.azure.com").id == "arm_blocked"
