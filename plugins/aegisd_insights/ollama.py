"""An async client for a local Ollama server that fails with typed errors instead of hanging.

Every transport problem becomes `OllamaUnavailable` (refused connection, HTTP 4xx/5xx with the
Retry-After hint, an {"error": ...} body or stream line such as a model that is still loading,
malformed JSON, a stream cut before "done": true) or `OllamaTimeout`. The caller owns the
aiohttp session and, for `chat`, the `CircuitBreaker` shared between calls.
"""

from __future__ import annotations

import inspect
import json
import math
import os
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractContextManager, aclosing, asynccontextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import aiohttp
from aiohttp.http_exceptions import LineTooLong
from pydantic import BaseModel, ConfigDict, Field, field_validator

from aegisd.castore import verified_context
from aegisd_insights.breaker import CircuitBreaker
from aegisd_insights.errors import OllamaError, OllamaTimeout, OllamaUnavailable
from aegisd_insights.prompt import Focus, prompt_hash

DEFAULT_BASE_URL = "http://127.0.0.1:11434"
_DEFAULT_PORT = 11434
_MAX_LINE = 1 << 20
_MAX_ERROR_BODY = 4096


def normalize_base_url(value: str) -> str:
    """Accept what OLLAMA_HOST accepts: a URL as is, or "host" / "host:port" as http with port
    11434 when none is given. Empty means the default."""
    value = value.strip().rstrip("/")
    if not value:
        return DEFAULT_BASE_URL
    if "://" in value:
        return value
    hostport = value.split("/", 1)[0]
    has_port = hostport.rsplit(":", 1)[-1].isdigit() and not hostport.endswith("]")
    return f"http://{value}" if has_port else f"http://{hostport}:{_DEFAULT_PORT}"


def default_base_url() -> str:
    return normalize_base_url(os.environ.get("OLLAMA_HOST", ""))


class OllamaSettings(BaseModel):
    """The insights plugin's LLM settings. `model=None` means the first model /api/tags lists
    (Ollama lists the most recently pulled or modified first). `timeout_s` bounds connecting and
    every wait for data, not a whole streamed answer. `interval_s` is how often the daemon may
    regenerate LLM insights. `send_source=False` keeps every line of code on this machine."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    base_url: str = Field(default_factory=default_base_url)
    model: str | None = None
    focus: Focus = "general"
    interval_s: float = Field(default=3600.0, gt=0)
    timeout_s: float = Field(default=120.0, gt=0)
    send_source: bool = False

    @field_validator("base_url")
    @classmethod
    def _normalize(cls, value: str) -> str:
        return normalize_base_url(value)


@dataclass(frozen=True, slots=True)
class OllamaStatus:
    """What `status()` found; `error` says why when not reachable."""

    reachable: bool
    base_url: str
    version: str | None = None
    models: tuple[str, ...] = ()
    error: str | None = None


@dataclass(frozen=True, slots=True)
class ChatProgress:
    """One received chunk: its text (`delta`), how many chunks and characters so far."""

    chunks: int
    chars: int
    delta: str


@dataclass(frozen=True, slots=True)
class ChatResult:
    """The whole answer, the hash of the prompt that produced it and Ollama's token counts."""

    model: str
    content: str
    prompt_hash: str
    chunks: int
    done_reason: str | None = None
    prompt_tokens: int | None = None
    output_tokens: int | None = None


ProgressCallback = Callable[[ChatProgress], Awaitable[None] | None]


def retry_after_ms(header: str | None) -> int | None:
    """Retry-After (delay seconds or an HTTP date) in milliseconds; None if absent or invalid."""
    if not header:
        return None
    try:
        seconds = float(header)
    except ValueError:
        try:
            when = parsedate_to_datetime(header)
        except (TypeError, ValueError):
            return None
        seconds = (when - datetime.now(UTC)).total_seconds()
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0, math.ceil(seconds * 1000))


def _parse_json(raw: bytes | str, what: str) -> dict[str, object]:
    try:
        value = json.loads(raw)
    except ValueError:
        raise OllamaUnavailable(f"Ollama sent malformed JSON in {what}") from None
    if not isinstance(value, dict):
        raise OllamaUnavailable(f"Ollama sent an unexpected {what}: not an object")
    if "error" in value:
        raise OllamaUnavailable(f"Ollama error: {value['error']}")
    return value


async def _http_error(resp: aiohttp.ClientResponse) -> OllamaUnavailable:
    body = (await resp.content.read(_MAX_ERROR_BODY)).decode(errors="replace")
    try:
        reason = str(json.loads(body)["error"])
    except (ValueError, TypeError, KeyError):
        reason = body.strip() or resp.reason or "no detail"
    return OllamaUnavailable(
        f"Ollama answered HTTP {resp.status}: {reason}",
        retry_after_ms=retry_after_ms(resp.headers.get("Retry-After")),
    )


def _optional_int(chunk: Mapping[str, object], key: str) -> int | None:
    value = chunk.get(key)
    return value if isinstance(value, int) else None


class OllamaClient:
    """Calls one Ollama server (`settings.base_url`) through a caller-owned session."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        settings: OllamaSettings,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self._session = session
        self._settings = settings
        self._breaker = breaker

    @asynccontextmanager
    async def _open(
        self, method: str, path: str, limits: aiohttp.ClientTimeout, body: object = None
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """A successful response; errors while opening or reading it become typed errors."""
        url = self._settings.base_url + path
        # aiohttp's own verifying context has no CA certificates in the daemon (aegisd.castore)
        tls = verified_context() if url.startswith("https:") else True
        try:
            async with self._session.request(
                method, url, json=body, timeout=limits, ssl=tls
            ) as resp:
                if resp.status >= 400:
                    raise await _http_error(resp)
                yield resp
        except TimeoutError:  # before ClientError: aiohttp's timeouts are both
            raise OllamaTimeout(
                f"Ollama at {self._settings.base_url} did not answer within "
                f"{self._settings.timeout_s:g} s ({method} {path})"
            ) from None
        except aiohttp.ClientPayloadError as exc:
            raise OllamaUnavailable(
                f"Ollama's answer was cut off ({method} {path}): {exc}"
            ) from None
        except aiohttp.ClientConnectionError as exc:
            raise OllamaUnavailable(
                f"Ollama at {self._settings.base_url} is unreachable: {exc or type(exc).__name__}"
            ) from None
        except aiohttp.ClientError as exc:
            raise OllamaUnavailable(f"Ollama failed ({method} {path}): {exc}") from None

    async def _get_json(self, path: str) -> dict[str, object]:
        timeout = aiohttp.ClientTimeout(total=self._settings.timeout_s)
        async with self._open("GET", path, timeout) as resp:
            return _parse_json(await resp.read(), path)

    async def version(self) -> str:
        """The server's version (GET /api/version)."""
        return str((await self._get_json("/api/version")).get("version", ""))

    async def models(self) -> list[str]:
        """Installed model names in the server's order (GET /api/tags)."""
        listed = (await self._get_json("/api/tags")).get("models")
        if not isinstance(listed, list):
            raise OllamaUnavailable("Ollama sent an unexpected /api/tags: no models list")
        return [str(m["name"]) for m in listed if isinstance(m, dict) and "name" in m]

    async def status(self) -> OllamaStatus:
        """Reachability, version and models; never raises and bypasses the breaker, so it
        always reports the server's real state."""
        base = self._settings.base_url
        try:
            return OllamaStatus(True, base, await self.version(), tuple(await self.models()))
        except OllamaError as exc:
            return OllamaStatus(False, base, error=exc.message)

    async def resolve_model(self) -> str:
        """`settings.model`, else the first installed model; OllamaUnavailable if none."""
        if self._settings.model:
            return self._settings.model
        installed = await self.models()
        if not installed:
            raise OllamaUnavailable("Ollama has no model installed (run `ollama pull <model>`)")
        return installed[0]

    async def chat(
        self,
        model: str,
        messages: Sequence[Mapping[str, str]],
        on_progress: ProgressCallback | None = None,
    ) -> ChatResult:
        """POST /api/chat with stream=true; `on_progress` (sync or async) gets every chunk.
        Guarded by the breaker when one was given."""
        guard: AbstractContextManager[None] = (
            self._breaker.guard() if self._breaker else nullcontext()
        )
        with guard:
            return await self._chat(model, messages, on_progress)

    async def _chat(
        self,
        model: str,
        messages: Sequence[Mapping[str, str]],
        on_progress: ProgressCallback | None,
    ) -> ChatResult:
        body = {"model": model, "messages": [dict(m) for m in messages], "stream": True}
        t = self._settings.timeout_s
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=t, sock_read=t)
        parts: list[str] = []
        chunks = 0
        async with (
            self._open("POST", "/api/chat", timeout, body) as resp,
            aclosing(_chunks(resp)) as stream,
        ):
            async for chunk in stream:
                message = chunk.get("message")
                delta = message.get("content") if isinstance(message, dict) else None
                if isinstance(delta, str):
                    parts.append(delta)
                chunks += 1
                if on_progress is not None:
                    maybe = on_progress(ChatProgress(chunks, sum(map(len, parts)), delta or ""))
                    if inspect.isawaitable(maybe):
                        await maybe
                if chunk.get("done") is True:
                    reason = chunk.get("done_reason")
                    return ChatResult(
                        model=model,
                        content="".join(parts),
                        prompt_hash=prompt_hash(model, messages),
                        chunks=chunks,
                        done_reason=reason if isinstance(reason, str) else None,
                        prompt_tokens=_optional_int(chunk, "prompt_eval_count"),
                        output_tokens=_optional_int(chunk, "eval_count"),
                    )
        raise OllamaUnavailable(f"Ollama's answer ended before it was done ({chunks} chunks)")


async def _chunks(resp: aiohttp.ClientResponse) -> AsyncGenerator[dict[str, object]]:
    """The JSON objects of an NDJSON stream, or the single object of a plain JSON body."""
    if resp.content_type == "application/json":
        yield _parse_json(await resp.read(), "/api/chat")
        return
    while True:
        try:
            line = await resp.content.readline(max_line_length=_MAX_LINE)
        except LineTooLong:
            raise OllamaUnavailable("Ollama sent an over-long line in /api/chat") from None
        if not line:
            return
        if line.strip():
            yield _parse_json(line, "/api/chat")
