"""Importing aiohttp without reading the system's CA store, and a verifying context on demand.

aiohttp builds a verifying client SSL context when it is imported (`aiohttp.connector`), which
reads every certificate of the system's CA store: some 45 ms and 2 MiB at each daemon start
(measured here; the start of a daemon is what an editor waits for after a restart). The daemon
never uses that context: it serves on a Unix socket or plain TCP, and its one HTTP client, the
Ollama client, passes `verified_context()` for https URLs.
"""

from __future__ import annotations

import functools
import os
import ssl
import sys
from collections.abc import Iterator
from contextlib import contextmanager

#: where OpenSSL looks for the default CA store (read when a context loads its defaults)
CA_VARIABLES = ("SSL_CERT_FILE", "SSL_CERT_DIR")


@contextmanager
def ca_store_hidden() -> Iterator[None]:
    """While inside, default SSL contexts load no CA certificates; the environment is restored
    on the way out."""
    saved = {name: os.environ.get(name) for name in CA_VARIABLES}
    for name in CA_VARIABLES:
        os.environ[name] = os.devnull
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def import_aiohttp() -> None:
    """Import aiohttp with the CA store hidden (nothing to do once it is imported)."""
    if "aiohttp" in sys.modules:
        return
    with ca_store_hidden():
        import aiohttp  # noqa: F401


@functools.cache
def verified_context() -> ssl.SSLContext:
    """A context that verifies servers against the system's CA store (built on first use)."""
    return ssl.create_default_context()
