"""Typed failures of the Ollama client; the daemon maps them to UNAVAILABLE and TIMEOUT."""

from __future__ import annotations


class OllamaError(Exception):
    """Base of the errors below; `message` is safe to show a user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class OllamaUnavailable(OllamaError):
    """Ollama cannot serve the request now: refused connection, HTTP error, model missing or
    loading, malformed or cut response, or the circuit breaker is open. `retry_after_ms` is set
    when known (a Retry-After header, the breaker's remaining cool-down)."""

    def __init__(self, message: str, retry_after_ms: int | None = None) -> None:
        super().__init__(message)
        self.retry_after_ms = retry_after_ms


class OllamaTimeout(OllamaError):
    """Ollama did not connect or send data within the configured timeout."""
