"""config.build: precedence, file format, validation, secrets."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Dict

import pytest
from conftest import run_subprocess, without_dac_prefix

from arc_preflight import config
from arc_preflight.config import ConfigError, Settings


@pytest.fixture
def write_toml(tmp_path: Path):
    def write(text: str, name: str = "arc.toml") -> str:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return str(path)

    return write


def build(flags: Dict[str, Any], config_path: Any = None,
          environ: Any = None) -> Settings:
    return config.build(flags, config_path, environ={} if environ is None else environ)


@pytest.fixture(scope="module")
def ca_pem(tmp_path_factory: pytest.TempPathFactory) -> str:
    trustme = pytest.importorskip("trustme")
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    trustme.CA().cert_pem.write_to_path(str(path))
    return str(path)


# --------------------------------------------------------------------------------------------
# precedence


def test_defaults() -> None:
    settings = build({})
    assert settings.cloud == "AzureCloud"
    assert settings.timeout == 5.0
    assert settings.deadline == 30.0
    assert settings.proxy is None
    assert settings.no_proxy is False
    assert settings.dns_servers == ()
    assert settings.service_principal_secret is None
    assert settings.himds_url == config.DEFAULT_HIMDS_URL


def test_file_overrides_defaults(write_toml) -> None:
    path = write_toml('timeout = 7\nlocation = "westeurope"\ndns-server = ["10.0.0.53"]\n')
    settings = build({}, path)
    assert settings.timeout == 7.0
    assert settings.location == "westeurope"
    assert settings.dns_servers == ("10.0.0.53",)
    assert settings.deadline == 30.0  # untouched default


def test_flags_override_file(write_toml) -> None:
    path = write_toml('timeout = 7\nlocation = "westeurope"\ncloud = "AzureUSGovernment"\n')
    settings = build({"timeout": 9, "location": "eastus"}, path)
    assert settings.timeout == 9.0
    assert settings.location == "eastus"
    assert settings.cloud == "AzureUSGovernment"  # not given as a flag: the file still counts


def test_none_and_empty_flags_do_not_override_file(write_toml) -> None:
    path = write_toml('location = "westeurope"\nonly = ["dns"]\n')
    settings = build({"location": None, "only": [], "skip": ()}, path)
    assert settings.location == "westeurope"
    assert settings.only == ("dns",)


def test_secret_precedence_file_env_flag(write_toml) -> None:
    path = write_toml('service-principal-secret = "from-file"\n')
    env = {config.SECRET_ENV: "from-env"}
    assert build({}, path).service_principal_secret == "from-file"
    assert build({}, path, env).service_principal_secret == "from-env"
    assert build({"service_principal_secret": "from-flag"}, path,
                 env).service_principal_secret == "from-flag"


def test_secret_from_environment_only() -> None:
    settings = build({}, environ={config.SECRET_ENV: "env-secret-value"})
    assert settings.service_principal_secret == "env-secret-value"


def test_empty_secret_env_is_ignored() -> None:
    assert build({}, environ={config.SECRET_ENV: ""}).service_principal_secret is None


def test_build_reads_os_environ_when_not_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(config.SECRET_ENV, "os-env-secret")
    assert config.build({}).service_principal_secret == "os-env-secret"


# --------------------------------------------------------------------------------------------
# the file


def test_keys_under_check_table(write_toml) -> None:
    path = write_toml('[check]\nlocation = "eastus"\nno-proxy = true\ntimeout = 2.5\n')
    settings = build({}, path)
    assert settings.location == "eastus"
    assert settings.no_proxy is True
    assert settings.timeout == 2.5


@pytest.mark.parametrize("key", ["dns-server", "dns_server", "dns-servers", "dns_servers"])
def test_hyphen_underscore_and_alias_keys(write_toml, key: str) -> None:
    path = write_toml(f'{key} = ["1.1.1.1", "2606:4700:4700::1111"]\n')
    assert build({}, path).dns_servers == ("1.1.1.1", "2606:4700:4700::1111")


def test_string_list_value_is_split(write_toml) -> None:
    path = write_toml('extensions = "sql, esu"\nonly = "dns tcp"\n')
    settings = build({}, path)
    assert settings.extensions == ("sql", "esu")
    assert settings.only == ("dns", "tcp")


def test_unknown_key_is_named(write_toml) -> None:
    path = write_toml('location = "eastus"\ncolour = "blue"\n')
    with pytest.raises(ConfigError, match="colour") as info:
        build({}, path)
    assert path in str(info.value)


def test_unknown_key_under_check_table_is_named(write_toml) -> None:
    path = write_toml('[check]\ntimeoutt = 3\n')
    with pytest.raises(ConfigError, match="timeoutt"):
        build({}, path)


def test_unknown_flag_is_named() -> None:
    with pytest.raises(ConfigError, match="bogus_flag"):
        build({"bogus_flag": "x"})


def test_check_must_be_a_table(write_toml) -> None:
    path = write_toml('check = "yes"\n')
    with pytest.raises(ConfigError, match=r"\[check\] must be a table"):
        build({}, path)


@pytest.mark.parametrize("text", [
    'timeout = \n',
    'location = "eastus\n',
    '[check\nlocation = "eastus"\n',
    'a = 1\na = 2\n',
])
def test_malformed_toml(write_toml, text: str) -> None:
    path = write_toml(text)
    with pytest.raises(ConfigError, match="not valid TOML"):
        build({}, path)


def test_binary_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "binary.toml"
    path.write_bytes(b"\xff\xfe\x00garbage\x80")
    with pytest.raises(ConfigError):
        build({}, str(path))


def test_directory_as_config(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory"):
        build({}, str(tmp_path))


def test_missing_config_file(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match="does not exist") as info:
        build({}, missing)
    assert missing in str(info.value)


def test_unreadable_config_file(write_toml) -> None:
    path = write_toml('location = "eastus"\n')
    os.chmod(path, 0)
    prefix = without_dac_prefix()
    if not prefix:
        with pytest.raises(ConfigError, match="not readable"):
            build({}, path)
        return
    result = run_subprocess("check", "--only", "privilege", "--config", path, prefix=prefix)
    assert result.code == 3
    assert result.err.startswith("arc-preflight: error: config file")
    assert "not readable" in result.err and "Traceback" not in result.err


@pytest.mark.parametrize("text, match", [
    ('timeout = "soon"\n', "timeout must be a number"),
    ('timeout = true\n', "timeout must be a number"),
    ('no-proxy = "yes"\n', "no_proxy must be true or false"),
    ('location = 5\n', "location must be a string"),
    ('dns-server = [1, 2]\n', "dns_servers must be a list of strings"),
])
def test_wrong_types_in_file(write_toml, text: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        build({}, write_toml(text))


# --------------------------------------------------------------------------------------------
# validation


@pytest.mark.parametrize("server", ["nonsense", "dns.google", "1.1.1", "10.0.0.256"])
def test_bad_dns_server(server: str) -> None:
    with pytest.raises(ConfigError, match=f"--dns-server '{server}'"):
        build({"dns_servers": ["8.8.8.8", server]})


def test_good_dns_servers() -> None:
    settings = build({"dns_servers": ["8.8.8.8", "::1"]})
    assert settings.dns_servers == ("8.8.8.8", "::1")


@pytest.mark.parametrize("proxy", [
    "proxy.corp:3128",           # no scheme
    "ftp://proxy.corp:21",      # wrong scheme
    "socks5://proxy.corp:1080",
    "http://proxy.corp:99999",   # port out of range
    "http://proxy.corp:abc",     # port not a number
    "http://proxy.corp:0",
    "http://",                   # no host
])
def test_bad_proxy(proxy: str) -> None:
    with pytest.raises(ConfigError, match="--proxy"):
        build({"proxy": proxy})


@pytest.mark.parametrize("proxy", ["http://proxy.corp:3128", "https://proxy.corp:8443",
                                   "http://user:pw@10.0.0.1:8080", "http://[::1]:3128"])
def test_good_proxy(proxy: str) -> None:
    assert build({"proxy": proxy}).proxy == proxy


def test_bad_proxy_error_hides_password() -> None:
    with pytest.raises(ConfigError) as info:
        build({"proxy": "http://admin:Tr0ub4dor@proxy.corp:99999"})
    assert "Tr0ub4dor" not in str(info.value)
    assert "--proxy" in str(info.value)


def test_proxy_with_no_proxy() -> None:
    with pytest.raises(ConfigError, match="--no-proxy"):
        build({"proxy": "http://proxy.corp:3128", "no_proxy": True})


@pytest.mark.parametrize("name, value", [
    ("timeout", "abc"), ("timeout", 0), ("timeout", -1), ("timeout", 601),
    ("deadline", "later"), ("deadline", 0), ("deadline", 3601), ("deadline", -5),
])
def test_bad_timeout_or_deadline(name: str, value: Any) -> None:
    with pytest.raises(ConfigError, match=name):
        build({name: value})


def test_timeout_and_deadline_accept_numeric_strings() -> None:
    settings = build({"timeout": "2.5", "deadline": "60"})
    assert settings.timeout == 2.5
    assert settings.deadline == 60.0


@pytest.mark.parametrize("flag", ["only", "skip"])
def test_unknown_probe_kind(flag: str) -> None:
    with pytest.raises(ConfigError, match="unknown probe kind 'ping'"):
        build({flag: ["dns", "ping"]})


def test_only_and_skip_select_kinds() -> None:
    settings = build({"only": ["dns", "tcp"], "skip": ["tcp"]})
    assert settings.kind_enabled("dns")
    assert not settings.kind_enabled("tcp")
    assert not settings.kind_enabled("tls")
    assert build({"skip": ["himds"]}).kind_enabled("tls")


def test_unknown_extension() -> None:
    with pytest.raises(ConfigError, match="--extensions 'sqll'"):
        build({"extensions": ["sql", "sqll"]})


def test_known_extensions() -> None:
    assert build({"extensions": ["all"]}).extensions == ("all",)
    assert build({"extensions": ["sql", "esu"]}).extensions == ("sql", "esu")


@pytest.mark.parametrize("cloud", ["mars", "AzureGermanCloud", "azure cloud"])
def test_unknown_cloud_is_accepted_for_the_check_to_report(cloud: str) -> None:
    # azcmagent connect would reject it (AZCM0014): a finding of the check, not a usage error.
    assert build({"cloud": cloud}).cloud == cloud


@pytest.mark.parametrize("cloud", ["AzureCloud", "azurecloud", "usgov", "China"])
def test_known_cloud_names(cloud: str) -> None:
    assert build({"cloud": cloud}).cloud == cloud


def test_unknown_format() -> None:
    with pytest.raises(ConfigError, match="--format 'xml'"):
        build({"format": "xml"})


@pytest.mark.parametrize("url", ["localhost:40342", "ftp://localhost/x", "http://:0/x"])
def test_bad_himds_url(url: str) -> None:
    with pytest.raises(ConfigError, match="--himds-url"):
        build({"himds_url": url})


# --------------------------------------------------------------------------------------------
# --ca-bundle


def test_ca_bundle_valid(ca_pem: str) -> None:
    assert build({"ca_bundle": ca_pem}).ca_bundle == ca_pem


def test_ca_bundle_missing(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot be read"):
        build({"ca_bundle": str(tmp_path / "missing.pem")})


def test_ca_bundle_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory"):
        build({"ca_bundle": str(tmp_path)})


def test_ca_bundle_not_pem(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("these are not certificates\n")
    with pytest.raises(ConfigError, match="no PEM certificate"):
        build({"ca_bundle": str(path)})


def test_ca_bundle_garbage_pem(tmp_path: Path) -> None:
    path = tmp_path / "garbage.pem"
    path.write_text("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n"
                    "-----END CERTIFICATE-----\n")
    with pytest.raises(ConfigError, match="not a valid PEM bundle"):
        build({"ca_bundle": str(path)})


def test_ca_bundle_from_file_is_validated_too(write_toml, tmp_path: Path) -> None:
    path = write_toml(f'ca-bundle = {json.dumps(str(tmp_path / "absent.pem"))}\n')
    with pytest.raises(ConfigError, match="--ca-bundle"):
        build({}, path)


# --------------------------------------------------------------------------------------------
# secrets


def test_read_secret_file_strips_whitespace(tmp_path: Path) -> None:
    path = tmp_path / "secret.txt"
    path.write_text("  s3cr3t-value~x \n\n")
    assert config.read_secret_file(str(path)) == "s3cr3t-value~x"


def test_read_secret_file_empty(tmp_path: Path) -> None:
    path = tmp_path / "empty.txt"
    path.write_text(" \n")
    with pytest.raises(ConfigError, match="is empty"):
        config.read_secret_file(str(path))


def test_read_secret_file_missing(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot be read"):
        config.read_secret_file(str(tmp_path / "absent"))


def test_read_secret_file_binary(tmp_path: Path) -> None:
    path = tmp_path / "bin"
    path.write_bytes(b"\xff\xfe\xfd")
    with pytest.raises(ConfigError, match="not text"):
        config.read_secret_file(str(path))


def test_public_hides_secret_and_proxy_password() -> None:
    secret = "Xq8~verySecretSpValue.123"
    settings = build({"service_principal_secret": secret,
                      "proxy": "http://svc:Pr0xyPassw0rd@proxy.corp:3128"})
    shown = settings.public()
    dumped = json.dumps(shown)
    assert secret not in dumped
    assert "Pr0xyPassw0rd" not in dumped
    assert shown["service_principal_secret"] == "[REDACTED]"
    assert shown["proxy"] == "http://svc:[REDACTED]@proxy.corp:3128"
    assert secret not in repr(settings), "the dataclass repr must not show the secret either"


def test_public_without_secret_shows_null_and_lists() -> None:
    shown = build({"dns_servers": ["8.8.8.8"]}).public()
    assert shown["service_principal_secret"] is None
    assert shown["dns_servers"] == ["8.8.8.8"]
    assert shown["proxy"] is None
    json.dumps(shown)  # must be JSON-serialisable as is
