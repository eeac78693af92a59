"""redact: known secrets and secret-shaped text never reach output; harmless text is untouched."""

from __future__ import annotations

import itertools

import pytest

from arc_preflight.redact import MASK, redact, redact_obj, redact_url, register_secret

_counter = itertools.count()


def unique_secret(prefix: str = "Sec") -> str:
    """A fresh secret per test: registered secrets live for the whole process."""
    return f"{prefix}-{next(_counter)}-Zq7~xW3"


def test_register_secret_hides_it_everywhere() -> None:
    secret = unique_secret()
    assert redact(f"got {secret} twice: {secret}.") == f"got {secret} twice: {secret}."
    register_secret(secret)
    assert redact(f"got {secret} twice: {secret}.") == f"got {MASK} twice: {MASK}."
    assert redact(f"prefix{secret}suffix") == f"prefix{MASK}suffix"


def test_longer_secret_wins_over_its_prefix() -> None:
    short = unique_secret("Pre")
    long = short + "-and-more-characters"
    register_secret(short)
    register_secret(long)
    assert redact(f"value={long}!") .count(MASK) == 1
    assert "and-more" not in redact(f"x {long} y")


@pytest.mark.parametrize("value", ["", "abc"])
def test_tiny_values_are_not_registered(value: str) -> None:
    register_secret(value)
    # would otherwise blank out every 'abc' in every message
    assert redact("abc def abcabc") == "abc def abcabc"


@pytest.mark.parametrize("text, expected", [
    ("client_secret=abc123XYZ&grant_type=client_credentials",
     f"client_secret={MASK}&grant_type=client_credentials"),
    ("ClientSecret: abc123XYZ", f"ClientSecret: {MASK}"),
    ('{"password": "hunter2!", "user": "bob"}', f'{{"password": "{MASK}", "user": "bob"}}'),
    ("password=hunter2 next", f"password={MASK} next"),
    ("passwd: swordfish", f"passwd: {MASK}"),
    ("access_token=ey.x.y; path=/", f"access_token={MASK}; path=/"),
    ("client_assertion=abc.def.ghi", f"client_assertion={MASK}"),
])
def test_key_value_secrets(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("Authorization: Bearer abcdefghijklmnop.qrs", f"Authorization: Bearer {MASK}"),
    ("authorization: bearer 0123456789abcdef", f"authorization: bearer {MASK}"),
    ("Proxy-Authorization: Basic dXNlcjpwYXNzd29yZA==", f"Proxy-Authorization: Basic {MASK}"),
])
def test_authorization_headers(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_jwt() -> None:
    jwt = ("eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL21hbmFnZW1lbnQuYXp1cmUu"
           "Y29tLyIsInRpZCI6IjEyMyJ9.c2lnbmF0dXJlLXBhcnQtaGVyZQ")
    out = redact(f"token {jwt} expired")
    assert out == f"token {MASK} expired"
    assert "eyJ" not in out


def test_sas_signature() -> None:
    url = ("https://gcstore.blob.core.windows.net/pkg/ext.zip?sv=2021-08-06&se=2024-01-01T00%3A00Z"
           "&sr=b&sp=r&sig=AbCdEf%2B123%3D")
    out = redact(url)
    assert "AbCdEf" not in out
    assert f"&sig={MASK}" in out
    assert out.startswith("https://gcstore.blob.core.windows.net/pkg/ext.zip?sv=2021-08-06&se=")


@pytest.mark.parametrize("text, expected", [
    ("http://user:pa55w0rd@proxy.corp:3128", f"http://user:{MASK}@proxy.corp:3128"),
    ("proxy is https://DOMAIN%5Cuser:p%40ss@10.0.0.1:8080/ now",
     f"proxy is https://DOMAIN%5Cuser:{MASK}@10.0.0.1:8080/ now"),
    ('level=error msg="dial http://svc:Secr3t@proxy:8080 failed"',
     f'level=error msg="dial http://svc:{MASK}@proxy:8080 failed"'),
])
def test_user_password_in_urls(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("azcmagent connect --service-principal-secret Abc~123.xyz --tenant-id t",
     f"azcmagent connect --service-principal-secret {MASK} --tenant-id t"),
    ('azcmagent connect --service-principal-secret "has spaces" -l eastus',
     f"azcmagent connect --service-principal-secret {MASK} -l eastus"),
    ("azcmagent connect --service-principal-secret 'quoted value'",
     f"azcmagent connect --service-principal-secret {MASK}"),
    ("azcmagent connect --service-principal-secret=Abc~123",
     f"azcmagent connect --service-principal-secret={MASK}"),
])
def test_service_principal_secret_on_command_line(text: str, expected: str) -> None:
    assert redact(text) == expected


# The short and other secret flags, as tools quote a whole failed command: Terraform's local-exec
# error ("Error running command '...': exit status 1. Output: ...", the shape of
# https://github.com/hashicorp/terraform/issues/21830) around ``az login --service-principal -u
# ID -p SECRET`` (https://learn.microsoft.com/cli/azure/authenticate-azure-cli-service-principal),
# Python's CalledProcessError ("Command '...' returned non-zero exit status 1.",
# https://docs.python.org/3/library/subprocess.html#subprocess.CalledProcessError), and
# azcmagent connect's own ``-p`` (https://learn.microsoft.com/azure/azure-arc/servers/azcmagent-connect).
@pytest.mark.parametrize("text, expected", [
    ("Error running command 'az login --service-principal -u 11111111-2222-3333-4444-555555555555"
     " -p 7Rk.Tz_3oP-m1~Nq8Lw2Vb --tenant contoso.com': exit status 1. Output: ERROR",
     "Error running command 'az login --service-principal -u 11111111-2222-3333-4444-555555555555"
     f" -p {MASK} --tenant contoso.com': exit status 1. Output: ERROR"),
    ("ERROR: Command 'az login -u user@contoso.com -p Winter2024!Pass' returned non-zero exit"
     " status 1.",
     f"ERROR: Command 'az login -u user@contoso.com -p {MASK}' returned non-zero exit status 1."),
    ('azcmagent connect -i app01 -p "has spaces" -t tenant01 -g rg01',
     f"azcmagent connect -i app01 -p {MASK} -t tenant01 -g rg01"),
    ("az login --service-principal --username app01 --password=Abc.123 --tenant t01",
     f"az login --service-principal --username app01 --password={MASK} --tenant t01"),
])
def test_secret_flags_of_az_login_and_azcmagent_connect(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize("text", [
    "mkdir -p /var/opt/azcmagent && az login --identity",
    "docker run -p 8080:80 mcr.microsoft.com/azure-cli az version",
    "azcmagent check -p --location eastus",
    "ssh -p 2222 user01@host01",
])
def test_other_dash_p_flags_are_kept(text: str) -> None:
    assert redact(text) == text


# Scripts admins paste: the Group Policy onboarding scripts and the docs' PowerShell samples set
# secrets in variables and turn them into credentials (onboard-group-policy-powershell.md,
# https://learn.microsoft.com/powershell/module/microsoft.powershell.security/convertto-securestring
# "ConvertTo-SecureString -String 'P@ssW0rD!' -AsPlainText -Force").
@pytest.mark.parametrize("text, expected", [
    ("ERROR: failed: $env:ARC_PROXY_PASS = 'Hunter2Secret!'",
     f"ERROR: failed: $env:ARC_PROXY_PASS = {MASK}"),
    ('$servicePrincipalSecret="Zq7xW3-aBcD"', f"$servicePrincipalSecret={MASK}"),
    ("export PROXY_PASSWORD=abc123 && azcmagent connect",
     f"export PROXY_PASSWORD={MASK} && azcmagent connect"),
    ("set ARC_SECRET=xyz&& echo ok", f"set ARC_SECRET={MASK}&& echo ok"),
    ("$cred = ConvertTo-SecureString -String 'P@ssW0rD!' -AsPlainText -Force",
     f"$cred = ConvertTo-SecureString -String {MASK} -AsPlainText -Force"),
    ('ConvertTo-SecureString "P@ssW0rD!" -AsPlainText -Force',
     f"ConvertTo-SecureString {MASK} -AsPlainText -Force"),
])
def test_secrets_set_in_pasted_scripts(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize("text", [
    # a variable holding the secret is no secret itself; words after ':' are a message to keep
    "$secure = ConvertTo-SecureString $plain -AsPlainText -Force",
    "failed to get token: AADSTS7000215: Invalid client secret provided",
    "tokens=5 passes=3",
    "0b8e7d5a-1c2d-4e5f-8a9b-0c1d2e3f4a5b",
    "management.azure.com",
    "eastus-gas.guestconfiguration.azure.com:443",
    'level=info msg="Checking connectivity to https://gbl.his.arc.azure.com/, '
    'proxy status: proxy is not used"',
    "time=2024-05-01T12:34:56Z level=debug msg=\"HTTP 200 OK\"",
    "AZCM0041: The credentials supplied are invalid",
    "the password was rejected by the identity service",
    "http://proxy.corp:3128",
    "http://user@proxy.corp:3128",
    "tcp:management.azure.com:443: connected to 20.37.1.1 in 12 ms",
    "[2001:db8::1]:443",
    "",
])
def test_harmless_text_unchanged(text: str) -> None:
    assert redact(text) == text


# --------------------------------------------------------------------------------------------
# redact_url


@pytest.mark.parametrize("url, expected", [
    ("http://user:pw1234@proxy.corp:3128", f"http://user:{MASK}@proxy.corp:3128"),
    ("https://user:pw1234@proxy.corp", f"https://user:{MASK}@proxy.corp"),
    ("http://user:pw1234@proxy.corp:3128/path?q=1", f"http://user:{MASK}@proxy.corp:3128/path?q=1"),
    ("http://:pw1234@proxy.corp:3128", "http://proxy.corp:3128"),
    ("http://user:p@ss@proxy.corp:3128", f"http://user:{MASK}@proxy.corp:3128"),
    ("http://proxy.corp:3128", "http://proxy.corp:3128"),
    ("http://user@proxy.corp:3128", "http://user@proxy.corp:3128"),
])
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_redact_url_with_bad_port_still_hides_password() -> None:
    out = redact_url("http://user:Hidden99@proxy.corp:notaport")
    assert "Hidden99" not in out


def test_redact_url_keeps_ipv6_brackets() -> None:
    assert redact_url("http://u:pw1234@[::1]:3128") == f"http://u:{MASK}@[::1]:3128"


# --------------------------------------------------------------------------------------------
# redact_obj


def test_redact_obj_nested() -> None:
    secret = unique_secret("Nest")
    register_secret(secret)
    value = {
        "summary": f"failed with {secret}",
        "facts": {
            "attempts": [{"address": "10.0.0.1", "detail": "password=abc123"}],
            "headers": ("Authorization: Bearer abcdefghijkl", 7),
            "count": 3, "ok": True, "none": None, "ratio": 1.5,
        },
        "proxy": "http://u:pw9876@proxy:3128",
    }
    out = redact_obj(value)
    assert out["summary"] == f"failed with {MASK}"
    assert out["facts"]["attempts"] == [{"address": "10.0.0.1", "detail": f"password={MASK}"}]
    assert out["facts"]["headers"] == [f"Authorization: Bearer {MASK}", 7]
    assert (out["facts"]["count"], out["facts"]["ok"], out["facts"]["none"],
            out["facts"]["ratio"]) == (3, True, None, 1.5)
    assert out["proxy"] == f"http://u:{MASK}@proxy:3128"
    assert value["summary"] == f"failed with {secret}", "the input is not modified"


def test_redact_obj_scalars() -> None:
    assert redact_obj(42) == 42
    assert redact_obj(None) is None
    assert redact_obj("password=x1") == f"password={MASK}"


@pytest.mark.parametrize("url, password", [
    ("http://bob:S3cr/et99@proxy.local:3128", "S3cr/et99"),
    ("http://bob:S3cr#et99@proxy.local:3128", "S3cr#et99"),
    ("http://bob:S3cr?et99@proxy.local:3128", "S3cr?et99"),
    ("http://bob:p@ss@proxy.local:3128", "p@ss"),
])
def test_unparsable_passwords_in_urls_are_masked(url: str, password: str) -> None:
    """Passwords as admins type them, with characters that end a URL's authority early."""
    from arc_preflight.redact import userinfo_password

    assert userinfo_password(url) == password
    for shown in (redact_url(url), redact(f"proxy {url} refused")):
        assert password not in shown and password.split("/")[0] not in shown
        assert "proxy.local:3128" in shown


@pytest.mark.parametrize("url", ["http://bob:S3cr/et99@proxy.local:3128",
                                 "http://bob:S3cr#et99@proxy.local:99999"])
def test_bad_proxy_flag_error_hides_the_password(url: str) -> None:
    from arc_preflight.config import ConfigError, build

    with pytest.raises(ConfigError) as info:
        build({"proxy": url})
    assert "S3cr" not in str(info.value)
