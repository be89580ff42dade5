"""The daemon imports aiohttp without reading the CA store; https clients still verify."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys

import pytest

from aegisd.castore import CA_VARIABLES, ca_store_hidden, verified_context

PROBE = """
import json, os
before = {k: os.environ.get(k) for k in ("SSL_CERT_FILE", "SSL_CERT_DIR")}
from aegisd.castore import import_aiohttp
import_aiohttp()
import aiohttp.connector as c
after = {k: os.environ.get(k) for k in ("SSL_CERT_FILE", "SSL_CERT_DIR")}
print(json.dumps([c._SSL_CONTEXT_VERIFIED.cert_store_stats()["x509_ca"], before == after]))
"""


def test_the_daemons_aiohttp_import_reads_no_ca_certificates() -> None:
    # A fresh interpreter: this one imported aiohttp long ago.
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    loaded, environment_restored = json.loads(out.stdout)
    assert loaded == 0
    assert environment_restored


def test_hiding_restores_set_and_unset_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", "/some/bundle.pem")
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    with ca_store_hidden():
        assert all(os.environ[name] == os.devnull for name in CA_VARIABLES)
    assert os.environ["SSL_CERT_FILE"] == "/some/bundle.pem"
    assert "SSL_CERT_DIR" not in os.environ


def test_the_verified_context_uses_the_system_store() -> None:
    context = verified_context()
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    system = ssl.create_default_context().cert_store_stats()["x509_ca"]
    assert context.cert_store_stats()["x509_ca"] == system
    assert verified_context() is context  # built once
