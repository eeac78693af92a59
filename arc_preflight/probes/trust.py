"""TLS contexts: the operating system's trust store, as the agent uses, or ``--ca-bundle``.

On Linux the OpenSSL default paths are the system store. On Windows and macOS truststore asks the
platform verifier, so a root the admin installed by group policy counts, exactly as for the agent.
``--ca-bundle`` replaces the store rather than adding to it, so a test can prove that a chain
verifies against one CA and nothing else.
"""

from __future__ import annotations

import ssl
import sys
from functools import lru_cache
from typing import Optional


@lru_cache(maxsize=4)
def verified_context(ca_bundle: Optional[str]) -> ssl.SSLContext:
    """One shared context per trust source: loading the system store costs about a megabyte and
    some milliseconds each time, and an SSLContext is safe to share between threads."""
    if ca_bundle:
        context = ssl.create_default_context(cafile=ca_bundle)
    elif sys.platform.startswith("linux"):
        context = ssl.create_default_context()
    else:  # pragma: no cover - platform verifier on Windows/macOS
        try:
            import truststore

            context = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        except ImportError:
            context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def examining_context() -> ssl.SSLContext:
    """No verification: only after verification failed, to read the chain and name its issuer."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def legacy_context() -> ssl.SSLContext:
    """Accepts TLS 1.0/1.1, to tell "server only speaks old TLS" from other handshake failures."""
    context = examining_context()
    try:
        context.minimum_version = ssl.TLSVersion.TLSv1
        context.set_ciphers("ALL:@SECLEVEL=0")
    except (ValueError, ssl.SSLError):  # pragma: no cover - OpenSSL built without old TLS
        pass
    return context
