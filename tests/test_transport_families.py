"""Published samples for the transport and installer families of data/codes.toml (issue 9): .NET's
WebExceptionStatus messages, SocketError and HttpRequestError names, SslPolicyErrors flags, the
Winsock messages, Linux errno and getaddrinfo errors as .NET and Python print them, OpenSSL's SSL
reasons, requests/urllib3/http.client exceptions, and Windows Installer's exit-code messages and
numbered errors. Every line below was posted publicly (its URL beside it); the family test in
test_code_families.py walks every member, these show the forms are the ones tools really print.
"""

from __future__ import annotations

from typing import List, Tuple

import pytest
from diagtext import assert_silent, categories, cause_ids, diagnose

from arc_preflight import kb as kbmod

# (line as posted, expected category, expected cause id or "" when only the category matters)
SAMPLES: List[Tuple[str, str, str]] = [
    # --- .NET WebExceptionStatus messages (Windows PowerShell's Invoke-WebRequest) ---
    # https://github.com/snovvcrash/DInjector/issues/6
    ("IWR : The server committed a protocol violation. Section=ResponseStatusLine",
     "firewall_or_proxy_blocking", "https_malformed_answer"),
    # https://github.com/dafthack/MailSniper/issues/62
    ("\" Invoke-WebRequest : The underlying connection was closed: A connection that was expected "
     "to be kept alive was closed by the server.", "firewall_or_proxy_blocking", ""),
    # --- Winsock messages (Windows' own text, printed without the code) ---
    # https://github.com/SonicCloudOrg/sonic-ios-bridge/issues/56
    ("2023/03/14 20:38:07 local <- remote failed: readfrom tcp 127.0.0.1:64243->127.0.0.1:27015: "
     "write tcp 127.0.0.1:64243->127.0.0.1:27015: wsasend: An established connection was aborted "
     "by the software in your host machine.", "firewall_or_proxy_blocking", "tcp_reset"),
    # https://github.com/getlantern/lantern/issues/2696
    ("ERROR flashlight.client: reverseproxy.go:186 http: proxy error: dial tcp: GetAddrInfoW: This "
     "is usually a temporary error during hostname resolution and means that the local server did "
     "not receive a response from an authoritative server.", "dns_failure", "dns_server_failure"),
    # --- Linux errno in .NET's SocketException and Python ---
    # https://github.com/dotnet/runtime/issues/42211
    ("System.Net.Sockets.SocketException (111): Connection refused",
     "firewall_or_proxy_blocking", "tcp_refused"),
    # --- .NET on Linux: the resolver's EAI_AGAIN as strerror(EAGAIN) ---
    # https://github.com/dotnet/runtime/issues/41387
    ("   at System.Net.Http.ConnectHelper.ConnectAsync(String host, Int32 port, CancellationToken "
     "cancellationToken)System.Net.Http.HttpRequestException: Resource temporarily unavailable",
     "dns_failure", "dns_server_failure"),
    # --- getaddrinfo's texts (macOS wordings) ---
    # https://github.com/Azure/azure-cli/issues/5437
    ("socket.gaierror: [Errno 8] nodename nor servname provided, or not known",
     "dns_failure", "dns_name_not_found"),
    # https://github.com/dotnet/runtime/issues/111058
    ("Randomly getting System.Net.Http.HttpRequestException: hostname nor servname provided, or "
     "not known (prd-services-apim.xcbsystems.com:443)", "dns_failure", "dns_name_not_found"),
    # --- .NET SslPolicyErrors after "validation procedure:" ---
    # https://github.com/dotnet/runtime/issues/89118
    (" ---> System.Security.Authentication.AuthenticationException: The remote certificate is "
     "invalid according to the validation procedure: RemoteCertificateNameMismatch",
     "tls_inspection", "tls_hostname_mismatch"),
    # --- OpenSSL SSL reasons (Python's ssl module; OpenSSL's own error line) ---
    # https://github.com/knownsec/pocsuite3/issues/283
    ("HTTPSConnectionPool(host='68.171.60.137', port=443): Max retries exceeded with url: / "
     "(Caused by SSLError(SSLError(1, '[SSL: UNSUPPORTED_PROTOCOL] unsupported protocol "
     "(_ssl.c:997)')))", "tls_protocol", "tls_handshake_failure"),
    # https://github.com/wazuh/wazuh/issues/20679
    ("\"message\":\"139835281045376:error:14209102:SSL routines:"
     "tls_early_post_process_client_hello:unsupported protocol:../deps/openssl/openssl/ssl/"
     "statem/statem_srvr.c:1686:\\n\"",
     "tls_protocol", "tls_handshake_failure"),
    # --- requests / urllib3 / http.client (Azure CLI) ---
    # https://github.com/Azure/azure-cli/issues/21375
    ("('Connection aborted.', RemoteDisconnected('Remote end closed connection without "
     "response'))", "firewall_or_proxy_blocking", "tcp_reset"),
    # https://github.com/webrecorder/browsertrix-crawler/issues/159
    ("requests.exceptions.SSLError: HTTPSConnectionPool(host='raw.githubusercontent.com', "
     "port=443): Max retries exceeded with url: /publicsuffix/list/master/public_suffix_list.dat "
     "(Caused by SSLError(SSLZeroReturnError(6, 'TLS/SSL connection has been closed (EOF) "
     "(_ssl.c:997)')))", "firewall_or_proxy_blocking", "tls_reset_by_middlebox"),
    # https://github.com/NixOS/nixpkgs/issues/319326 (HTTPS_PROXY=socks5://... without PySocks)
    ("requests.exceptions.InvalidSchema: Missing dependencies for SOCKS support.",
     "proxy_misconfigured", "client_proxy_env_invalid"),
    # https://github.com/Azure/azure-cli/issues/18930
    ("\u2502 ERROR: Missing dependencies for SOCKS support.",
     "proxy_misconfigured", "client_proxy_env_invalid"),
    # --- Windows Installer: exit-code messages and numbered errors ---
    # https://github.com/cloudbase/cloudbase-init/issues/43 (exit code 1638's message)
    ("> Error: Failed to install:  Another version of this product is already installed. "
     "Installation of this version cannot continue. To configure or remove the existing version "
     "of this product, use Add/Remove Programs on the Control Panel.",
     "install_failure", "windows_msi_install_failed"),
    # https://github.com/elvirbrk/NoteHighlight2016/issues/143 (the maintainer quoting the dialog)
    ("Error 1402. Could not open key: <RegistryKeyPath>. Verify that you have sufficient access to "
     "that key, or contact your support personnel.", "install_failure",
     "windows_msi_install_failed"),
    # --- package managers: the rest of the "not root" family, rpm's newer disk wording, zypper ---
    # https://github.com/oracle/docker-images/issues/1244 (yum)
    ("You need to be root to perform this command.", "not_admin", "not_admin"),
    # https://github.com/nvbn/thefuck/pull/73 (dnf 4)
    ("\"This command has to be run under the root user.\"", "not_admin", "not_admin"),
    # https://github.com/rmarquis/pacaur/issues/516 (pacman)
    ("error: you cannot perform this operation unless you are root.", "not_admin", "not_admin"),
    # https://github.com/weldr/lorax/pull/1358 (rpm 4.16 and later)
    ("installing package llvm-libs-17.0.6-2.fc40.x86_64 needs 107MB more space on the / "
     "filesystem installing package libXv-1.0.12-1.fc40.x86_64 needs 107MB more space on the / "
     "filesystem", "install_failure", "install_disk_full"),
    # --- PowerShell's parameter binder refusing a Tags value (DeployGPO.ps1 given a string) ---
    # https://github.com/Azure/ArcEnabledServersGroupPolicy/issues/45
    ("C:\\installs\\DeployGPO.ps1 : Cannot process argument transformation on parameter 'Tags'. "
     "Cannot convert the", "invalid_tags", "invalid_tags"),
    # --- .NET's HttpClient naming the Azure VM metadata address on an Arc machine ---
    # https://github.com/MicrosoftDocs/office-docs-powershell/issues/11440
    ("System.Net.Http.HttpRequestException: A connection attempt failed because the connected "
     "party did not properly respond after a period of time, or established connection failed "
     "because connected host has failed to respond. (169.254.169.254:80)",
     "client_tool_bug", "app_arc_identity_endpoint_missed"),
    # --- the WinRM client's configuration or a computer policy refusing a remoting session ---
    # https://pastebin.com/TeXGAmZC
    ("[REMOTE_MACHINE] Connecting to remote server REMOTE_MACHINE failed with the following error "
     "message : The WinRM client cannot process the request. If the authentication scheme is "
     "different from Kerberos, or if the client computer is not joined to a domain, then HTTPS "
     "transport must be used or the destination machine must be added to the TrustedHosts "
     "configuration setting. Use winrm.cmd to configure TrustedHosts.",
     "unsupported_environment", "winrm_client_config_refuses"),
    # https://gist.github.com/LoungeFlyZ/5769448 (as one line; the gist wraps it)
    ("[sp-tiovnu.cloudapp.net] Connecting to remote server sp-tiovnu.cloudapp.net failed with the "
     "following error message : The WinRM client cannot process the request. The authentication "
     "mechanism requested by the client is not supported by the server or unencrypted traffic is "
     "disabled in the service configuration.",
     "unsupported_environment", "winrm_client_config_refuses"),
    # https://github.com/Azure/AzureLocal-Supportability/blob/main/TSG/Security/CredSsp-Authentication-Issues.md
    ("The WinRM client cannot process the request. A computer policy does not allow the "
     "delegation of the user credentials to the target computer.",
     "unsupported_environment", "winrm_client_config_refuses"),
]


@pytest.mark.parametrize(("line", "category", "cause"), SAMPLES,
                         ids=[f"{i}-{s[2] or s[1]}" for i, s in enumerate(SAMPLES)])
def test_published_sample(kb: kbmod.KnowledgeBase, line: str, category: str, cause: str) -> None:
    report = diagnose(line + "\n", kb)
    assert category in categories(report), (line, cause_ids(report))
    assert len(categories(report)) <= 2, (line, cause_ids(report))
    if cause:
        assert cause in cause_ids(report), (line, cause_ids(report))


# The generic outer exception must not be listed beside the specific inner one: urllib3's outer
# NewConnectionError is no member of python_http, so the refused connect is the only cause.
# https://github.com/Azure/azure-cli/issues/16078 shape, with the inner reason of
# https://github.com/urllib3/urllib3/issues/2031
def test_inner_reason_stands_alone(kb: kbmod.KnowledgeBase) -> None:
    line = ("Please ensure you have network connection. Error detail: HTTPSConnectionPool("
            "host='login.microsoftonline.com', port=443): Max retries exceeded with url: "
            "/common/oauth2/token (Caused by NewConnectionError('<urllib3.connection."
            "VerifiedHTTPSConnection object at 0x7f1f7fae5d30>: Failed to establish a new "
            "connection: [Errno 111] Connection refused',))")
    assert cause_ids(diagnose(line + "\n", kb)) == {"tcp_refused"}


# Lines that hold a member's word in a healthy sense stay silent: a .NET property listing of a
# successful socket, a status line whose value is no member, an installer's success note, and
# the verbose MSI log's "Note: 1: <number>" lines, which every healthy installation writes for the
# numbers the msi_messages family lists (1402 for a policy key that is not there, 2203 for the
# in-progress file: https://github.com/owncloud/client/issues/7738,
# https://github.com/wazuh/wazuh-packages/issues/1786).
@pytest.mark.parametrize("line", [
    "SocketErrorCode : Success",
    "Status          : Success (request Timeout is 100 seconds)",
    "Installed the update package: Windows Installer reconfigured the product.",
    "MSI (c) (10:08) [23:49:21:184]: Note: 1: 1402 2: HKEY_CURRENT_USER\\Software\\Microsoft\\"
    "Windows\\CurrentVersion\\Policies\\Explorer 3: 2 ",
    "- `Note: 1: 2203 2: C:\\Windows\\Installer\\inprogressinstallinfo.ipi 3: -2147287038`",
])
def test_healthy_lines_stay_silent(kb: kbmod.KnowledgeBase, line: str) -> None:
    assert_silent(line, kb)
