"""Stand-in Microsoft Entra ID token endpoint and Azure Resource Manager for the --auth lab tests.

Runs as its own process inside the lab's network namespace (``ip netns exec NS python3
azure_standin.py --scenario FILE ...``), standard library only (plus cryptography, imported only
to verify certificate sign-ins), HTTPS with a certificate from the lab CA. It serves both
services from one process (so ARM accepts exactly the token the identity side issued), on one or
more loopback addresses, and tells them apart by the ``Host`` header:
``login.*`` is the identity service, ``management.*`` is ARM.

The scenario file (JSON) describes the directory and the subscriptions; the answers follow from
it the way the real services' would, with their status codes and error bodies::

    {
      "access_token": "eyJ...",                      # what a successful sign-in returns
      "arm_resource": "https://management.azure.com",
      "tenants": {"<tenant id>": {"name": "Contoso",        # "access_token" may override
                                  "apps": {"<app id>": {"secret": "...", "expired": false,
                                                        "certificates": ["<PEM>"]}}}},
      "subscriptions": {"<sub id>": {
          "tenant": "<tenant id>", "displayName": "Contoso Production",
          "providers": {"Microsoft.HybridConnectivity": "NotRegistered"},   # default Registered
          "resourceGroups": {"arc-rg": {
              "permissions": [{"actions": ["*"], "notActions": []}],
              "machines": {"web01": {"status": "Connected"}},
              "privateLinkScopes": {"pls": {"publicNetworkAccess": "Disabled"}}}},
          "list_forbidden": false}},      # true: 403 on listing machines of the subscription
      "token_reply": {"status": 400, "body": {...}}  # optional: force this sign-in answer
    }

Identity (``POST /{tenant}/oauth2/v2.0/token``, form ``grant_type=client_credentials``,
``client_id``, ``client_secret``, ``scope``): 200 with a bearer token; 401 ``invalid_client``
AADSTS7000215 (wrong secret) or AADSTS7000222 (expired secret); 400 ``unauthorized_client``
AADSTS700016 (unknown application); 400 ``invalid_request`` AADSTS90002 (unknown tenant) or
AADSTS900023 (malformed tenant); 400 for a missing parameter (AADSTS900144), another grant type
(AADSTS70003) or a scope without ``/.default`` (AADSTS1002012) or for another resource
(AADSTS500011).

ARM (``Authorization: Bearer <token>``, ``api-version`` required): provider registration state,
``Microsoft.Authorization/permissions`` of a resource group, a ``Microsoft.HybridCompute/machines``
resource, and the subscription list. Errors: 401 ``AuthenticationFailed`` (no header), 401
``InvalidAuthenticationToken`` (a token it did not issue), 401
``InvalidAuthenticationTokenTenant`` (a token from another tenant than the subscription's), 400
``MissingApiVersionParameter``,
400 ``InvalidSubscriptionId`` (not a GUID), 404 ``SubscriptionNotFound``,
``ResourceGroupNotFound``, ``ResourceNotFound``, 404 ``InvalidResourceNamespace``.

``GET /`` on either host answers too (the CLI's plain HTTPS check). Every request is logged to
stderr as ``METHOD host path status`` -- never a body, a query string or a header value, so the
log can be shown without exposing the secret or the token.
"""

from __future__ import annotations

import argparse
import datetime
import fnmatch
import json
import re
import socket
import ssl
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import parse_qs, unquote, urlsplit

GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
KNOWN_PROVIDERS = ("Microsoft.HybridCompute", "Microsoft.GuestConfiguration",
                   "Microsoft.HybridConnectivity", "Microsoft.Compute", "Microsoft.Network",
                   "Microsoft.Storage", "Microsoft.Resources", "Microsoft.Authorization")


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")


def aad_error(status: int, error: str, number: int, text: str) -> Tuple[int, Dict[str, Any]]:
    """An identity-service error body as login.microsoftonline.com sends it."""
    trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
    return status, {
        "error": error,
        "error_description": f"AADSTS{number}: {text} Trace ID: {trace} Correlation ID: "
                             f"{correlation} Timestamp: {_now()}",
        "error_codes": [number],
        "timestamp": _now(),
        "trace_id": trace,
        "correlation_id": correlation,
        "error_uri": f"https://login.microsoftonline.com/error?code={number}",
    }


def arm_error(status: int, code: str, message: str) -> Tuple[int, Dict[str, Any]]:
    return status, {"error": {"code": code, "message": message}}


def arm_denied(action: str, scope: str) -> Tuple[int, Dict[str, Any]]:
    """ARM's 403 for an action the identity may not perform at a scope (its wording)."""
    return arm_error(403, "AuthorizationFailed",
                     "The client does not have authorization to perform action "
                     f"'{action}' over scope '{scope}' or the scope is invalid. If access was "
                     "recently granted, please refresh your credentials.")


def arm_not_found(kind: str, name: str, rg_name: str) -> Tuple[int, Dict[str, Any]]:
    """ARM's 404 for a resource of ``kind`` that its resource group does not hold."""
    return arm_error(404, "ResourceNotFound",
                     f"The Resource '{kind}/{name}' under resource group '{rg_name}' was not "
                     "found. For more details please go to https://aka.ms/ARMResourceNotFoundFix")


class Azure:
    """The scenario, and the answers that follow from it."""

    def __init__(self, scenario: Dict[str, Any]) -> None:
        self.scenario = scenario
        self.token = str(scenario.get("access_token") or "")
        self.resource = str(scenario.get("arm_resource", "https://management.azure.com"))
        self.issued: Dict[str, str] = {}  # token -> tenant it was issued in
        self.lock = threading.Lock()

    # -- identity -----------------------------------------------------------------------------

    def sign_in(self, method: str, path: str, form: Dict[str, str]) -> Tuple[int, Any]:
        parts = [p for p in path.split("/") if p]
        if method != "POST" or len(parts) != 4 or parts[1:] != ["oauth2", "v2.0", "token"]:
            return 200, "<html><body>Sign in to your account</body></html>"
        forced = self.scenario.get("token_reply")
        if forced:
            return int(forced["status"]), forced["body"]
        tenant_id = unquote(parts[0])
        tenants = self.scenario.get("tenants", {})
        tenant_key = next((key for key in tenants if key.lower() == tenant_id.lower()), None)
        tenant = tenants[tenant_key] if tenant_key is not None else None
        if tenant is None or tenant_key is None:
            if not GUID.match(tenant_id) and "." not in tenant_id:
                return aad_error(400, "invalid_request", 900023,
                                 f"Specified tenant identifier '{tenant_id}' is neither a valid "
                                 "DNS name, nor a valid external domain.")
            return aad_error(400, "invalid_request", 90002,
                             f"Tenant '{tenant_id}' not found. Check to make sure you have the "
                             "correct tenant ID and are signing into the correct cloud. Check "
                             "with your subscription administrator, this may happen if there "
                             "are no active subscriptions for the tenant.")
        for name in ("grant_type", "client_id", "scope"):
            if not form.get(name):
                return aad_error(400, "invalid_request", 900144,
                                 f"The request body must contain the following parameter: "
                                 f"'{name}'.")
        if form["grant_type"] != "client_credentials":
            return aad_error(400, "unsupported_grant_type", 70003,
                             "The app requested an unsupported grant type.")
        scope = form["scope"]
        if not scope.endswith("/.default"):
            return aad_error(400, "invalid_scope", 1002012,
                             f"The provided value for scope {scope} is not valid. Client "
                             "credential flows must have a scope value with /.default suffixed "
                             "to the resource identifier (application ID URI).")
        if scope[: -len("/.default")].rstrip("/") != self.resource.rstrip("/"):
            return aad_error(400, "invalid_resource", 500011,
                             f"The resource principal named {scope[:-9]} was not found in the "
                             f"tenant named {tenant.get('name', tenant_id)}.")
        client_id = form["client_id"]
        apps = tenant.get("apps", {})
        app = next((a for key, a in apps.items() if key.lower() == client_id.lower()), None)
        if app is None:
            return aad_error(400, "unauthorized_client", 700016,
                             f"Application with identifier '{client_id}' was not found in the "
                             f"directory '{tenant.get('name', tenant_id)}'. This can happen if "
                             "the application has not been installed by the administrator of "
                             "the tenant or consented to by any user in the tenant. You may "
                             "have sent your authentication request to the wrong tenant.")
        if form.get("client_assertion_type") or form.get("client_assertion"):
            refused = self._assertion(form, app, client_id, tenant_id)
            if refused is not None:
                return refused
        elif form.get("client_secret") != app.get("secret"):
            return aad_error(401, "invalid_client", 7000215,
                             "Invalid client secret provided. Ensure the secret being sent in "
                             "the request is the client secret value, not the client secret "
                             f"ID, for a secret added to app '{client_id}'.")
        if app.get("expired"):
            return aad_error(401, "invalid_client", 7000222,
                             f"The provided client secret keys for app '{client_id}' are "
                             "expired. Visit the Azure portal to create new keys for your app: "
                             "https://aka.ms/NewClientSecret, or consider using certificate "
                             "credentials for added security: https://aka.ms/certCreds.")
        token = str(tenant.get("access_token") or self.token)
        with self.lock:
            self.issued[token] = tenant_key
        return 200, {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
                     "access_token": token}

    def _assertion(self, form: Dict[str, str], app: Dict[str, Any], client_id: str,
                   tenant_id: str) -> Optional[Tuple[int, Any]]:
        """A certificate sign-in: the client assertion must be a JWT whose ``x5t`` names a
        certificate registered on the app (``app["certificates"]``, PEM texts) and whose RS256
        signature verifies with that certificate's public key. None when it is accepted.

        Error texts follow AADSTS700027 as services print it, for example
        https://github.com/Azure/azure-sdk-for-net/issues/29007 (key not found) and
        https://github.com/Azure/azure-sdk-for-java/issues/25109 (signature mismatch).
        """
        import base64
        import hashlib

        from cryptography import x509
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding

        if form.get("client_assertion_type") != (
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"):
            return aad_error(400, "invalid_request", 700006,
                             "The client_assertion_type parameter is missing or invalid.")

        def decode(part: str) -> bytes:
            return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))

        try:
            head, body, signature = form.get("client_assertion", "").split(".")
            header, claims = json.loads(decode(head)), json.loads(decode(body))
            sent = decode(signature)
            thumbprint = decode(str(header["x5t"])).hex().upper()
        except (ValueError, KeyError, TypeError):
            return aad_error(401, "invalid_client", 50027,
                             "JWT token is invalid or is malformed.")
        registered = {}
        for text in app.get("certificates", []):
            cert = x509.load_pem_x509_certificate(text.encode())
            der = cert.public_bytes(serialization.Encoding.DER)
            registered[hashlib.sha1(der).hexdigest().upper()] = cert
        cert = registered.get(thumbprint)
        keys = ("Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see "
                f"configured keys for app Id '{client_id}'.")
        if cert is None:
            return aad_error(401, "invalid_client", 700027,
                             "Client assertion contains an invalid signature. [Reason - The key "
                             f"was not found., Thumbprint of key used by client: '{thumbprint}', "
                             f"{keys}]")
        try:
            cert.public_key().verify(sent, f"{head}.{body}".encode(), padding.PKCS1v15(),
                                     hashes.SHA256())
        except (InvalidSignature, ValueError, TypeError):
            return aad_error(401, "invalid_client", 700027,
                             "Client assertion contains an invalid signature. [Reason - The "
                             "provided signature value did not match the expected signature "
                             f"value., Thumbprint of key used by client: '{thumbprint}', {keys}]")
        now = time.time()
        if not (float(claims.get("nbf", 0)) - 300 <= now <= float(claims.get("exp", 0)) + 300):
            return aad_error(401, "invalid_client", 700024,
                             "Client assertion is not within its valid time range.")
        expected = f"https://{self.scenario.get('identity_host', 'login.microsoftonline.com')}"
        if claims.get("aud") != f"{expected}/{tenant_id}/oauth2/v2.0/token" or \
                claims.get("iss") != client_id or claims.get("sub") != client_id:
            return aad_error(401, "invalid_client", 700021,
                             "Client assertion application identifier doesn't match "
                             "'client_id' parameter. Review the documentation at "
                             "https://learn.microsoft.com/entra/identity-platform/"
                             "certificate-credentials .")
        return None

    # -- Resource Manager ---------------------------------------------------------------------

    def arm(self, method: str, path: str, query: Dict[str, List[str]],
            authorization: str) -> Tuple[int, Any]:
        if not authorization:
            return arm_error(401, "AuthenticationFailed",
                             "Authentication failed. The 'Authorization' header is missing.")
        scheme, _, token = authorization.partition(" ")
        with self.lock:
            token_tenant = self.issued.get(token) if scheme.lower() == "bearer" else None
        if token_tenant is None:
            return arm_error(401, "InvalidAuthenticationToken",
                             "The access token is invalid.")
        if not query.get("api-version"):
            return arm_error(400, "MissingApiVersionParameter",
                             "The api-version query parameter (?api-version=) is required for "
                             "all requests.")
        if method != "GET":
            return arm_error(405, "MethodNotAllowed", f"The method {method} is not allowed.")
        parts = [unquote(p) for p in path.split("/") if p]
        lowered = [p.lower() for p in parts]
        subscriptions = self.scenario.get("subscriptions", {})
        if lowered == ["subscriptions"]:
            return 200, {"value": [
                {"id": f"/subscriptions/{key}", "subscriptionId": key,
                 "tenantId": sub.get("tenant"), "displayName": sub.get("displayName", key),
                 "state": "Enabled"} for key, sub in subscriptions.items()
                if str(sub.get("tenant") or token_tenant).lower() == token_tenant.lower()]}
        if len(parts) < 2 or lowered[0] != "subscriptions":
            return arm_error(404, "NotFound", "The requested resource was not found.")
        sub_id = parts[1]
        if not GUID.match(sub_id):
            return arm_error(400, "InvalidSubscriptionId",
                             f"The provided subscription identifier '{sub_id}' is malformed or "
                             "invalid.")
        sub = next((s for key, s in subscriptions.items() if key.lower() == sub_id.lower()),
                   None)
        if sub is None:
            return arm_error(404, "SubscriptionNotFound",
                             f"The subscription '{sub_id}' could not be found.")
        owner = str(sub.get("tenant") or token_tenant)
        if owner.lower() != token_tenant.lower():
            return arm_error(401, "InvalidAuthenticationTokenTenant",
                             f"The access token is from the wrong issuer "
                             f"'https://sts.windows.net/{token_tenant}/'. It must match the "
                             f"tenant 'https://sts.windows.net/{owner}/' associated with this "
                             "subscription. Please use the authority (URL) "
                             f"'https://login.windows.net/{owner}' to get the token. Note, if "
                             "the subscription is transferred to another tenant there is no "
                             "impact to the services, but information about new tenant could "
                             "take time to propagate (up to an hour). If you just transferred "
                             "your subscription and see this error message, please try back "
                             "later.")
        rest, rest_l = parts[2:], lowered[2:]
        if len(rest) == 2 and rest_l[0] == "providers":
            return self._provider(sub_id, sub, rest[1])
        if rest_l == ["providers", "microsoft.hybridcompute", "machines"]:
            return self._machine_list(sub_id, sub)
        if len(rest) >= 2 and rest_l[0] == "resourcegroups":
            groups = sub.get("resourceGroups", {})
            rg_name = rest[1]
            group = next((g for key, g in groups.items() if key.lower() == rg_name.lower()),
                         None)
            if group is None:
                return arm_error(404, "ResourceGroupNotFound",
                                 f"Resource group '{rg_name}' could not be found.")
            tail = rest_l[2:]
            if tail == ["providers", "microsoft.authorization", "permissions"]:
                return 200, {"value": group.get("permissions", [])}
            if len(tail) == 4 and tail[:3] == ["providers", "microsoft.hybridcompute",
                                               "machines"]:
                return self._machine(sub_id, rg_name, group, rest[5])
            if len(tail) == 4 and tail[:3] == ["providers", "microsoft.hybridcompute",
                                               "privatelinkscopes"]:
                return self._scope(sub_id, rg_name, group, rest[5])
        return arm_error(404, "NotFound", "The requested resource was not found.")

    def _provider(self, sub_id: str, sub: Dict[str, Any], namespace: str) -> Tuple[int, Any]:
        states = {k.lower(): (k, v) for k, v in sub.get("providers", {}).items()}
        known = {k.lower(): k for k in KNOWN_PROVIDERS}
        if namespace.lower() in states:
            name, state = states[namespace.lower()]
        elif namespace.lower() in known:
            name, state = known[namespace.lower()], "Registered"
        else:
            return arm_error(404, "InvalidResourceNamespace",
                             f"The resource namespace '{namespace}' is invalid.")
        return 200, {"id": f"/subscriptions/{sub_id}/providers/{name}", "namespace": name,
                     "registrationState": state, "registrationPolicy": "RegistrationRequired",
                     "resourceTypes": []}

    def _machine(self, sub_id: str, rg_name: str, group: Dict[str, Any],
                 name: str) -> Tuple[int, Any]:
        machines = group.get("machines", {})
        machine = next((m for key, m in machines.items() if key.lower() == name.lower()), None)
        if machine is None:
            return arm_not_found("Microsoft.HybridCompute/machines", name, rg_name)
        resource_id = (f"/subscriptions/{sub_id}/resourceGroups/{rg_name}/providers/"
                       f"Microsoft.HybridCompute/machines/{name}")
        return 200, {"id": resource_id, "name": name, "type": "Microsoft.HybridCompute/machines",
                     "location": machine.get("location", "eastus"),
                     "properties": {"status": machine.get("status", "Connected"),
                                    "provisioningState": "Succeeded"}}


    def _machine_list(self, sub_id: str, sub: Dict[str, Any]) -> Tuple[int, Any]:
        """Machines - List By Subscription: every machine of every group, or 403 when the
        scenario says the identity may not list at subscription scope (``list_forbidden``)."""
        if sub.get("list_forbidden"):
            return arm_denied("Microsoft.HybridCompute/machines/read", f"/subscriptions/{sub_id}")
        found = []
        for rg_name, group in sub.get("resourceGroups", {}).items():
            for name in group.get("machines", {}):
                found.append(self._machine(sub_id, rg_name, group, name)[1])
        return 200, {"value": found}

    def _scope(self, sub_id: str, rg_name: str, group: Dict[str, Any],
               name: str) -> Tuple[int, Any]:
        """Private Link Scopes - Get, with the read permission the group grants enforced (the
        ``permissions`` of the group, as for the permissions call)."""
        resource_id = (f"/subscriptions/{sub_id}/resourceGroups/{rg_name}/providers/"
                       f"Microsoft.HybridCompute/privateLinkScopes/{name}")
        action = "microsoft.hybridcompute/privatelinkscopes/read"
        allowed = any(
            any(fnmatch.fnmatchcase(action, str(a).lower()) for a in p.get("actions", []))
            and not any(fnmatch.fnmatchcase(action, str(a).lower())
                        for a in p.get("notActions", []))
            for p in group.get("permissions", []))
        if not allowed:
            return arm_denied("Microsoft.HybridCompute/privateLinkScopes/read", resource_id)
        scopes = group.get("privateLinkScopes", {})
        scope = next((v for k, v in scopes.items() if k.lower() == name.lower()), None)
        if scope is None:
            return arm_not_found("Microsoft.HybridCompute/privateLinkScopes", name, rg_name)
        return 200, {"id": resource_id, "name": name,
                     "type": "Microsoft.HybridCompute/privateLinkScopes",
                     "location": scope.get("location", "eastus"), "tags": {},
                     "properties": {"publicNetworkAccess": scope.get("publicNetworkAccess",
                                                                     "Disabled"),
                                    "provisioningState": "Succeeded",
                                    "privateLinkScopeId": str(uuid.uuid5(uuid.NAMESPACE_URL,
                                                                         resource_id)),
                                    "privateEndpointConnections": []}}


class Handler(BaseHTTPRequestHandler):
    server_version = "arcpf-azure-standin/1"
    protocol_version = "HTTP/1.1"
    azure: Azure  # set on the subclass by main()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the request line holds the query; _log writes a safe line instead

    def _log(self, status: int) -> None:
        host = (self.headers.get("Host") or "-").split(":")[0]
        path = urlsplit(self.path).path
        sys.stderr.write(f"{self.command} {host} {path} {status}\n")
        sys.stderr.flush()

    def _send(self, status: int, payload: Any) -> None:
        if isinstance(payload, str):
            data, kind = payload.encode(), "text/html; charset=utf-8"
        else:
            data, kind = json.dumps(payload).encode(), "application/json; charset=utf-8"
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store, no-cache")
        self.send_header("x-ms-request-id", str(uuid.uuid4()))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        self.close_connection = True
        self._log(status)

    def _body(self) -> str:
        length = int(self.headers.get("Content-Length") or 0)
        if 0 < length <= 1 << 20:
            return self.rfile.read(length).decode("utf-8", "replace")
        return ""

    def _handle(self) -> None:
        body = self._body()
        host = (self.headers.get("Host") or "").split(":")[0].lower()
        url = urlsplit(self.path)
        try:
            if host.startswith("login."):
                form = {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}
                status, payload = self.azure.sign_in(self.command, url.path, form)
            elif host.startswith("management."):
                if url.path in ("", "/") and not self.headers.get("Authorization"):
                    status, payload = arm_error(
                        401, "AuthenticationFailed",
                        "Authentication failed. The 'Authorization' header is missing.")
                else:
                    status, payload = self.azure.arm(
                        self.command, url.path, parse_qs(url.query),
                        self.headers.get("Authorization", ""))
            else:
                status, payload = 404, {"error": "unknown host", "host": host}
        except Exception as exc:  # a stand-in bug must show up as a 500, not a hang
            status, payload = 500, {"error": f"stand-in error: {type(exc).__name__}: {exc}"}
        self._send(status, payload)

    do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = do_PATCH = _handle


class TLSServer(ThreadingHTTPServer):
    """Threaded server that does each TLS handshake in its worker thread."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr: Tuple[str, int], handler: type, context: ssl.SSLContext) -> None:
        self.address_family = socket.AF_INET6 if ":" in addr[0] else socket.AF_INET
        self.context = context
        super().__init__(addr, handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.settimeout(30)
        try:
            request = self.context.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError) as exc:
            sys.stderr.write(f"TLS handshake from {client_address[0]} failed: {exc}\n")
            return
        super().finish_request(request, client_address)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", required=True, help="JSON scenario file")
    parser.add_argument("--bind", action="append", required=True,
                        help="loopback address to listen on (repeatable)")
    parser.add_argument("--port", type=int, default=443)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--ready-file")
    args = parser.parse_args(argv)

    scenario = json.loads(Path(args.scenario).read_text(encoding="utf-8"))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    handler = type("AzureHandler", (Handler,), {"azure": Azure(scenario)})
    servers = [TLSServer((address, args.port), handler, context) for address in args.bind]
    for server in servers[1:]:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    if args.ready_file:
        Path(args.ready_file).write_text("ready\n")
    sys.stderr.write(f"listening on {', '.join(args.bind)} port {args.port}\n")
    sys.stderr.flush()
    servers[0].serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
