"""The endpoint catalogue: which host names the agent needs, per cloud, region and feature.

The data lives in ``data/endpoints.toml`` so that a new endpoint is a data change reviewed against
Microsoft's list, not a code change. Templates such as ``{region}-gas...`` are filled from
``--location``; names that stay wildcards are listed but marked not probeable, with the reason,
because a firewall request still has to mention them.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

from .datafiles import DATA_DIR, read_toml
from .errors import CatalogError

DATA_FILE = DATA_DIR / "endpoints.toml"
WHEN = ("always", "connect", "install", "optional")
FEATURES = ("extensions", "sql", "wac", "esu", "license", "telemetry", "ama")


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int
    scheme: str
    path: str
    purpose: str
    when: str
    feature: str
    private_link: bool
    probe: bool
    reason: str
    bypass: str
    legacy: str
    needed_with_private_link: bool = True
    source: str = ""
    inferred: Tuple[str, ...] = ()  # what about this entry no Microsoft page backs, and why
    gateway: str = ""  # with --gateway: "allow", "through" or "outside"

    @property
    def target(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}{self.path}"

    def as_dict(self) -> Dict[str, Any]:
        return {
            "host": self.host,
            "port": self.port,
            "scheme": self.scheme,
            "url": self.url if self.probe else None,
            "purpose": self.purpose,
            "when": self.when,
            "feature": self.feature or None,
            "private_link": self.private_link,
            "probe": self.probe,
            "reason": self.reason or None,
            "proxy_bypass": self.bypass or None,
            "needed_with_private_link": self.needed_with_private_link,
            "source": self.source or None,
            "inferred": list(self.inferred) or None,
        }


@dataclass(frozen=True)
class Cloud:
    name: str
    display: str
    aliases: Tuple[str, ...]
    identity_host: str
    arm_host: str
    his_shards: Mapping[str, str]
    regions: Tuple[str, ...]
    templates: Tuple[Mapping[str, Any], ...]
    inferred_bypass: str = ""
    inferred_private_link: str = ""
    gateway_carries: Tuple[str, ...] = ()
    gateway_extra: Tuple[Mapping[str, Any], ...] = ()


_ENDPOINT_KEYS = {
    "host", "port", "scheme", "path", "purpose", "when", "feature", "private_link", "probe",
    "reason", "bypass", "legacy", "source", "inferred", "needed_with_private_link", "gateway",
}
GATEWAY_ROLES = ("allow", "outside", "through")  # also the order --gateway lists them in


@lru_cache(maxsize=1)
def clouds() -> Mapping[str, Cloud]:
    """All clouds in the catalogue, validated once."""
    doc = read_toml(DATA_FILE.name)
    result: Dict[str, Cloud] = {}
    for name, raw in doc["clouds"].items():
        for entry in (*raw["endpoint"], *raw.get("gateway_extra", ())):
            unknown = set(entry) - _ENDPOINT_KEYS
            if (unknown or entry.get("when", "always") not in WHEN
                    or entry.get("gateway", "allow") not in GATEWAY_ROLES
                    or (entry.get("inferred") and not entry.get("source"))):
                raise CatalogError(f"{DATA_FILE.name}: {name} {entry.get('host')}: bad entry")
        result[name] = Cloud(
            name=name,
            display=raw["display"],
            aliases=tuple(raw.get("aliases", ())),
            identity_host=raw["identity_host"],
            arm_host=raw["arm_host"],
            his_shards=dict(raw.get("his_shards", {})),
            regions=tuple(raw["regions"]),
            templates=tuple(raw["endpoint"]),
            inferred_bypass=raw.get("inferred_bypass", ""),
            inferred_private_link=raw.get("inferred_private_link", ""),
            gateway_carries=tuple(raw.get("gateway_carries", ())),
            gateway_extra=tuple(raw.get("gateway_extra", ())),
        )
    return result


def find_cloud(name: str) -> Cloud:
    """The cloud for a name as ``azcmagent connect --cloud`` accepts it, case-insensitively."""
    wanted = name.strip().lower()
    for cloud in clouds().values():
        if wanted == cloud.name.lower() or wanted in cloud.aliases:
            return cloud
    names = ", ".join(clouds())
    raise CatalogError(f"unknown cloud {name!r} (expected one of: {names})")


def normalise_region(location: str) -> str:
    """ARM region names are lower case without spaces: 'East US 2' -> 'eastus2'."""
    return "".join(location.split()).lower()


def _inferred(cloud: Cloud, raw: Mapping[str, Any]) -> Tuple[str, ...]:
    """What about an entry no Microsoft page backs: the entry itself, or its cloud's
    private-link flag or bypass categories."""
    notes = []
    if raw.get("inferred"):
        notes.append(f"name: {raw.get('source', '')}")
    if cloud.inferred_private_link and raw.get("private_link"):
        notes.append(f"private link: {cloud.inferred_private_link}")
    if cloud.inferred_bypass and raw.get("bypass"):
        notes.append(f"bypass {raw['bypass']}: {cloud.inferred_bypass}")
    return tuple(notes)


def endpoints(
    cloud: Cloud,
    location: Optional[str] = None,
    features: Iterable[str] = (),
    include_optional: bool = False,
    private_link_scope: bool = False,
) -> List[Endpoint]:
    """The endpoints for a cloud, with regional templates filled in where possible.

    Optional endpoints are kept only for the requested ``features`` (or all with
    ``include_optional``). A template that cannot be filled becomes a not-probeable entry that
    says what is missing, instead of disappearing from a firewall request. With
    ``private_link_scope`` the names the agent does not use under a scope are left out.
    """
    region = normalise_region(location) if location else ""
    wanted = set(features)
    result: List[Endpoint] = []
    seen = set()
    for raw in cloud.templates:
        when = raw.get("when", "always")
        feature = raw.get("feature", "")
        if when == "optional" and not include_optional and feature not in wanted:
            continue
        if private_link_scope and not raw.get("needed_with_private_link", True):
            continue
        host = raw["host"]
        probe = bool(raw.get("probe", True))
        reason = raw.get("reason", "")
        if "{region}" in host:
            if region:
                host = host.replace("{region}", region)
            else:
                probe, reason = False, "regional name; give --location to probe it"
        if "{his_shard}" in host:
            shard = cloud.his_shards.get(region) if region else None
            if shard:
                host = host.replace("{his_shard}", shard)
            elif region:
                # Unknown shard: the wildcard entry already covers it for firewall requests.
                continue
            else:
                probe, reason = False, "regional shard; give --location to probe it"
        port = int(raw.get("port", 443))
        key = (host, port)
        if key in seen:
            continue
        seen.add(key)
        result.append(
            Endpoint(
                host=host,
                port=port,
                scheme=raw.get("scheme", "https"),
                path=raw.get("path", "/"),
                purpose=raw["purpose"],
                when=when,
                feature=feature,
                private_link=bool(raw.get("private_link", False)),
                probe=probe,
                reason=reason,
                bypass=raw.get("bypass", ""),
                legacy=raw.get("legacy", ""),
                needed_with_private_link=bool(raw.get("needed_with_private_link", True)),
                source=raw.get("source", ""),
                inferred=_inferred(cloud, raw),
            )
        )
    return result


def gateway_role(cloud: Cloud, item: Endpoint) -> str:
    """With the Arc gateway: "allow" (still allowed directly), "through" (carried by the
    gateway) or "outside" (allowed as before: the gateway does not carry it)."""
    if item.gateway:
        return item.gateway
    for raw in cloud.templates:
        if raw.get("gateway") == "allow" and fnmatch.fnmatchcase(
                item.host.lower(), re.sub(r"\{[a-z_]+\}", "*", str(raw["host"])).lower()):
            return "allow"
    host = re.sub(r"\{[a-z_]+\}", "x", item.host).lower()
    name = host if item.port == 443 else f"{host}:{item.port}"
    for pattern in cloud.gateway_carries:
        if fnmatch.fnmatchcase(name, pattern.lower()) or name == pattern.lower():
            return "through"
    return "outside"


def gateway_endpoints(
    cloud: Cloud,
    location: Optional[str] = None,
    features: Iterable[str] = (),
    include_optional: bool = False,
) -> List[Endpoint]:
    """The catalogue as the Arc gateway changes it: the gateway's own URL and the names still
    allowed directly first, then what stays outside the gateway, then what it carries.

    The gateway exists in the public cloud only (arc-gateway.md, current limitations)."""
    if not cloud.gateway_carries:
        raise CatalogError(f"the Arc gateway is available in the Azure public cloud only, not in "
                           f"{cloud.name}")
    items = [replace(item, gateway=gateway_role(cloud, item))
             for item in endpoints(cloud, location, features, include_optional)]
    seen = {(item.host, item.port) for item in items}
    extra = []
    for raw in cloud.gateway_extra:
        key = (raw["host"], int(raw.get("port", 443)))
        if key in seen:
            continue
        host = str(raw["host"])
        reason = ("your gateway's own name" if "{" in host else "not a host name" if " " in host
                  else "wildcard" if host.startswith("*") else "listed for the gateway only")
        extra.append(Endpoint(
            host=raw["host"], port=key[1], scheme=raw.get("scheme", "https"),
            path=raw.get("path", "/"), purpose=raw["purpose"], when=raw.get("when", "optional"),
            feature=raw.get("feature", ""), private_link=False, probe=False,
            reason=reason,
            bypass="", legacy="", source=raw.get("source", "arc-gateway.md"),
            inferred=_inferred(cloud, raw), gateway=raw.get("gateway", "outside")))
    order = {role: index for index, role in enumerate(GATEWAY_ROLES)}
    return sorted([*extra, *items], key=lambda item: order[item.gateway])


def bypass_categories(value: str) -> Tuple[str, ...]:
    """The proxy.bypass categories of a catalogue entry's ``bypass`` column ("ARM,AMA")."""
    return tuple(part.strip() for part in str(value).split(",") if part.strip())


@lru_cache(maxsize=1)
def bypass_table() -> Mapping[str, Tuple[str, ...]]:
    """Host patterns per ``proxy.bypass`` category, from the catalogue's ``bypass`` column.

    Regional placeholders become ``*``, so ``{region}.login.microsoft.com`` covers every region;
    the one list of which names a category sends direct is the catalogue itself.
    """
    table: Dict[str, Dict[str, None]] = {}
    for cloud in clouds().values():
        for raw in cloud.templates:
            pattern = re.sub(r"\{[a-z_]+\}", "*", str(raw["host"])).lower()
            for category in bypass_categories(raw.get("bypass", "")):
                table.setdefault(category, {})[pattern] = None
    return {category: tuple(patterns) for category, patterns in table.items()}


def check_region(cloud: Cloud, location: str) -> Optional[str]:
    """An error message when ``location`` is not a region of ``cloud``, else None."""
    region = normalise_region(location)
    if region in cloud.regions:
        return None
    return f"{location!r} is not a known region of {cloud.name}"
