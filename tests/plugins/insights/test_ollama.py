from __future__ import annotations

import json
from collections.abc import Callable

import aiohttp
import pytest
from aegisd_insights.breaker import CircuitBreaker
from aegisd_insights.errors import OllamaTimeout, OllamaUnavailable
from aegisd_insights.insight import Insight
from aegisd_insights.ollama import (
    DEFAULT_BASE_URL,
    ChatProgress,
    OllamaClient,
    OllamaSettings,
    retry_after_ms,
)
from aegisd_insights.prompt import build_prompt, prompt_hash
from pydantic import ValidationError

from aegisd.castore import verified_context
from tests.plugins.insights.fake_ollama import CHUNKS, MODELS, FakeOllama

MakeSettings = Callable[..., OllamaSettings]
MESSAGES = [{"role": "user", "content": "What should I refactor?"}]


# --- settings -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (None, DEFAULT_BASE_URL),
        ("", DEFAULT_BASE_URL),
        ("0.0.0.0:11434", "http://0.0.0.0:11434"),
        ("gpu-box:8080", "http://gpu-box:8080"),
        ("gpu-box", "http://gpu-box:11434"),
        ("[::1]:9000", "http://[::1]:9000"),
        ("[::1]", "http://[::1]:11434"),
        ("https://ollama.example.com/", "https://ollama.example.com"),
    ],
)
def test_base_url_from_ollama_host(
    monkeypatch: pytest.MonkeyPatch, env: str | None, expected: str
) -> None:
    if env is None:
        monkeypatch.delenv("OLLAMA_HOST", raising=False)
    else:
        monkeypatch.setenv("OLLAMA_HOST", env)
    assert OllamaSettings().base_url == expected


def test_settings_defaults_and_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OLLAMA_HOST", raising=False)
    s = OllamaSettings()
    assert (s.enabled, s.model, s.focus, s.send_source) == (False, None, "general", False)
    assert OllamaSettings(base_url="box:1234").base_url == "http://box:1234"
    with pytest.raises(ValidationError):
        OllamaSettings.model_validate({"modle": "llama3"})  # a typo is an error, not ignored
    with pytest.raises(ValidationError):
        OllamaSettings.model_validate({"focus": "everything"})
    with pytest.raises(ValidationError):
        OllamaSettings(timeout_s=0)


def test_retry_after_parsing() -> None:
    assert retry_after_ms("7") == 7000
    assert retry_after_ms("1.5") == 1500
    assert retry_after_ms("Wed, 21 Oct 2099 07:28:00 GMT") is not None
    assert (retry_after_ms("Wed, 21 Oct 2099 07:28:00 GMT") or 0) > 0
    assert retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT") == 0
    assert retry_after_ms("soon") is None
    assert retry_after_ms("nan") is None
    assert retry_after_ms("inf") is None
    assert retry_after_ms(None) is None


# --- status -----------------------------------------------------------------------------------


async def test_status_of_a_running_server(
    session: aiohttp.ClientSession, ollama_url: str, settings_for: MakeSettings
) -> None:
    status = await OllamaClient(session, settings_for(ollama_url)).status()
    assert status.reachable is True
    assert status.version == "0.6.2"
    assert status.models == tuple(MODELS)
    assert status.error is None


async def test_status_of_a_server_that_is_down(
    session: aiohttp.ClientSession, closed_port_url: str, settings_for: MakeSettings
) -> None:
    status = await OllamaClient(session, settings_for(closed_port_url)).status()
    assert status.reachable is False
    assert status.models == ()
    assert status.error is not None
    assert "unreachable" in status.error


async def test_status_of_a_server_with_a_broken_model_list(
    session: aiohttp.ClientSession, fake: FakeOllama, ollama_url: str, settings_for: MakeSettings
) -> None:
    fake.models = None
    status = await OllamaClient(session, settings_for(ollama_url)).status()
    assert (status.reachable, status.error) == (
        False,
        "Ollama sent an unexpected /api/tags: no models list",
    )


async def test_resolve_model(
    session: aiohttp.ClientSession, fake: FakeOllama, ollama_url: str, settings_for: MakeSettings
) -> None:
    assert await OllamaClient(session, settings_for(ollama_url)).resolve_model() == MODELS[0]
    chosen = settings_for(ollama_url, model="mistral:7b")
    assert await OllamaClient(session, chosen).resolve_model() == "mistral:7b"
    fake.models = []
    with pytest.raises(OllamaUnavailable, match="no model installed"):
        await OllamaClient(session, settings_for(ollama_url)).resolve_model()


# --- chat -------------------------------------------------------------------------------------


async def test_streamed_chat_reports_every_chunk(
    session: aiohttp.ClientSession, fake: FakeOllama, ollama_url: str, settings_for: MakeSettings
) -> None:
    seen: list[ChatProgress] = []

    async def on_progress(p: ChatProgress) -> None:
        seen.append(p)

    client = OllamaClient(session, settings_for(ollama_url))
    result = await client.chat("llama3.2:latest", MESSAGES, on_progress)
    assert result.content == "Split Store.run into steps."
    assert result.chunks == 4
    assert (result.done_reason, result.prompt_tokens, result.output_tokens) == ("stop", 12, 3)
    assert result.prompt_hash == prompt_hash("llama3.2:latest", MESSAGES)
    assert [p.delta for p in seen] == [*CHUNKS, ""]
    assert [p.chars for p in seen] == [6, 16, 27, 27]
    sent = json.loads(fake.chat_bodies[0])
    assert sent == {"model": "llama3.2:latest", "messages": MESSAGES, "stream": True}


async def test_plain_json_answer_with_a_sync_callback(
    session: aiohttp.ClientSession, fake: FakeOllama, ollama_url: str, settings_for: MakeSettings
) -> None:
    fake.mode = "plain"
    seen: list[str] = []
    client = OllamaClient(session, settings_for(ollama_url))
    result = await client.chat("m", MESSAGES, lambda p: seen.append(p.delta))
    assert result.content == "".join(CHUNKS)
    assert result.chunks == 1
    assert seen == ["".join(CHUNKS)]


@pytest.mark.parametrize("mode", ["slow", "stall"])
async def test_silence_is_a_timeout(
    session: aiohttp.ClientSession,
    fake: FakeOllama,
    ollama_url: str,
    settings_for: MakeSettings,
    mode: str,
) -> None:
    fake.mode = mode  # type: ignore[assignment]
    client = OllamaClient(session, settings_for(ollama_url, timeout_s=0.3))
    with pytest.raises(OllamaTimeout, match=r"did not answer within 0\.3 s"):
        await client.chat("m", MESSAGES)


async def test_busy_server_gives_retry_after(
    session: aiohttp.ClientSession, fake: FakeOllama, ollama_url: str, settings_for: MakeSettings
) -> None:
    fake.mode = "busy"
    with pytest.raises(OllamaUnavailable, match="HTTP 503: server busy") as info:
        await OllamaClient(session, settings_for(ollama_url)).chat("m", MESSAGES)
    assert info.value.retry_after_ms == 7000


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("loading", "Ollama error: llama runner is still loading the model"),
        ("garbage", "malformed JSON"),
        ("cut", "answer was cut off"),
        ("unfinished", "ended before it was done"),
        ("missing", 'HTTP 404: model "m" not found'),
        ("crash", "HTTP 500: internal meltdown"),
        ("array", "unexpected /api/chat: not an object"),
        ("huge", "over-long line"),
    ],
)
async def test_bad_answers_are_unavailable(
    session: aiohttp.ClientSession,
    fake: FakeOllama,
    ollama_url: str,
    settings_for: MakeSettings,
    mode: str,
    message: str,
) -> None:
    fake.mode = mode  # type: ignore[assignment]
    with pytest.raises(OllamaUnavailable, match=message) as info:
        await OllamaClient(session, settings_for(ollama_url)).chat("m", MESSAGES)
    assert info.value.retry_after_ms is None


async def test_server_down_is_unavailable(
    session: aiohttp.ClientSession, closed_port_url: str, settings_for: MakeSettings
) -> None:
    with pytest.raises(OllamaUnavailable, match="is unreachable"):
        await OllamaClient(session, settings_for(closed_port_url)).chat("m", MESSAGES)


# --- breaker around the real server -----------------------------------------------------------


def state(breaker: CircuitBreaker) -> str:
    """The state read through a call, so mypy does not narrow it between clock moves."""
    return breaker.state


async def test_breaker_opens_then_a_probe_closes_it(
    session: aiohttp.ClientSession, fake: FakeOllama, ollama_url: str, settings_for: MakeSettings
) -> None:
    now = [100.0]
    breaker = CircuitBreaker(failure_threshold=2, cooldown_s=30.0, clock=lambda: now[0])
    client = OllamaClient(session, settings_for(ollama_url), breaker)
    fake.mode = "busy"
    for _ in range(2):
        with pytest.raises(OllamaUnavailable, match="HTTP 503"):
            await client.chat("m", MESSAGES)
    assert state(breaker) == "open"

    now[0] += 10.0
    with pytest.raises(OllamaUnavailable, match="circuit open") as info:
        await client.chat("m", MESSAGES)
    assert info.value.retry_after_ms == 20_000
    assert len(fake.chat_bodies) == 2  # refused without calling the server

    now[0] += 20.0
    assert state(breaker) == "half_open"
    with pytest.raises(OllamaUnavailable, match="HTTP 503"):
        await client.chat("m", MESSAGES)  # the probe fails: open for a fresh cool-down
    assert state(breaker) == "open"
    assert len(fake.chat_bodies) == 3

    now[0] += 30.0
    fake.mode = "stream"
    result = await client.chat("m", MESSAGES)
    assert result.content == "".join(CHUNKS)
    assert state(breaker) == "closed"
    assert breaker.consecutive_failures == 0


# --- what leaves the machine --------------------------------------------------------------------

SNIPPET = """def charge(card, amount):
    token = vault.lookup(card.number)
    return gateway.post(token, amount * 100)"""


@pytest.mark.parametrize("send_source", [False, True])
async def test_source_leaves_only_when_allowed(
    session: aiohttp.ClientSession,
    fake: FakeOllama,
    ollama_url: str,
    settings_for: MakeSettings,
    send_source: bool,
) -> None:
    hotspot = Insight(
        key="complexity_hotspot:pkg/billing.py::charge",
        kind="complexity_hotspot",
        severity="high",
        title="charge has complexity 24",
        detail="function charge (pkg/billing.py:10) has McCabe complexity 24.",
        paths=("pkg/billing.py",),
        symbols=("charge",),
        metrics={"complexity": 24, "line": 10},
    )
    messages = build_prompt(
        [hotspot],
        {"high": 3},
        None,
        ["pkg/billing.py"],
        focus="refactors",
        send_source=send_source,
        snippets={"pkg/billing.py::charge": SNIPPET},
    )
    await OllamaClient(session, settings_for(ollama_url)).chat("m", messages)
    raw = fake.chat_bodies[0].decode()
    text = "\n".join(m["content"] for m in json.loads(raw)["messages"])
    assert "pkg/billing.py" in text
    assert "complexity=24" in text
    source_lines = [line.strip() for line in SNIPPET.splitlines()]
    leaked = [line for line in source_lines if line in text or line in raw]
    assert leaked == (source_lines if send_source else [])


class _RecordingSession:
    """Records the `ssl` argument of each request, then fails it as unreachable."""

    def __init__(self) -> None:
        self.tls: list[object] = []

    def request(self, method: str, url: str, **kwargs: object) -> aiohttp.ClientResponse:
        self.tls.append(kwargs.get("ssl"))
        raise aiohttp.ClientConnectionError("recorded")


@pytest.mark.parametrize("scheme", ["http", "https"])
async def test_https_servers_are_verified_against_the_system_store(scheme: str) -> None:
    session = _RecordingSession()
    settings = OllamaSettings(base_url=f"{scheme}://ollama.example.com:11434")
    client = OllamaClient(session, settings)  # type: ignore[arg-type]
    status = await client.status()
    assert not status.reachable
    assert session.tls == ([verified_context()] if scheme == "https" else [True])
