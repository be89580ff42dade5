from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest
from aegisd_insights.ollama import OllamaSettings
from pytest_aiohttp import AiohttpServer

from tests.plugins.insights.fake_ollama import FakeOllama


@pytest.fixture
def fake() -> FakeOllama:
    return FakeOllama()


@pytest.fixture
async def ollama_url(fake: FakeOllama, aiohttp_server: AiohttpServer) -> str:
    server = await aiohttp_server(fake.app(), host="127.0.0.1")
    return str(server.make_url("")).rstrip("/")


@pytest.fixture
def closed_port_url() -> str:
    """A loopback port that was just free: connecting to it is refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
def settings_for() -> Callable[..., OllamaSettings]:
    def make(url: str, **extra: object) -> OllamaSettings:
        return OllamaSettings.model_validate({"base_url": url, "timeout_s": 5.0, **extra})

    return make
