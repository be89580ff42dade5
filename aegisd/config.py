"""Daemon configuration: shipped TOML < user TOML < `AEGISD_*` env vars < command-line flags.

Every layer is validated by one pydantic model, so an invalid value anywhere is reported with
the key that holds it. Per-workspace settings (exclude_dirs, plugin sections) are not here: they
live in the store and are managed by `aegisd.settings`.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from aegisd import paths
from aegisd.trust import check_pattern

LOG_LEVELS = ("TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL")


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CacheConfig(Section):
    max_entries: int = Field(20_000, ge=1)
    max_bytes: int = Field(64 * 1024 * 1024, ge=1024)


class MemoryConfig(Section):
    #: the whole process tree's target (daemon + workers); caches size themselves to it
    budget_mib: int = Field(512, ge=16, le=1 << 20)
    #: how often the process tree is measured and the caches fitted (seconds)
    check_interval_s: float = Field(5.0, gt=0, le=3600)


class EventsConfig(Section):
    #: notifications queued per WebSocket client before the oldest are dropped
    max_queue: int = Field(1000, ge=1)


class StoreConfig(Section):
    retries: int = Field(4, ge=0, le=20)
    backoff_ms: float = Field(50.0, gt=0)
    timeout_s: float = Field(15.0, gt=0)
    breaker_failures: int = Field(5, ge=1)
    breaker_cooldown_s: float = Field(5.0, gt=0)


class Bucket(Section):
    rate: float = Field(gt=0, description="tokens added per second")
    burst: float = Field(ge=1, description="bucket size")


class RateLimitsConfig(Section):
    enabled: bool = True
    exempt_clients: list[str] = Field(default_factory=list)
    #: buckets kept before idle (full) ones are forgotten, least recently used first
    max_buckets: int = Field(10_000, ge=1)
    read: Bucket = Field(default_factory=lambda: Bucket(rate=500, burst=1000))
    write: Bucket = Field(default_factory=lambda: Bucket(rate=50, burst=100))
    heavy: Bucket = Field(default_factory=lambda: Bucket(rate=0.5, burst=3))


class TransportConfig(Section):
    max_websockets: int = Field(64, ge=1)
    max_in_flight_per_connection: int = Field(32, ge=1)
    #: open connections of any kind (lowered to what the descriptor limit leaves room for)
    max_connections: int = Field(512, ge=1)
    #: TCP connections not (yet) showing the bearer token
    max_unauthenticated: int = Field(32, ge=1)
    #: a connection's first request head must arrive within this (seconds)
    header_timeout_s: float = Field(10.0, gt=0)
    #: a request body must arrive within this once its head has (seconds)
    body_timeout_s: float = Field(30.0, gt=0)
    #: an idle keep-alive connection, or one sending its next request head, is closed after
    #: this (seconds)
    keepalive_timeout_s: float = Field(60.0, gt=0)


class WatchConfig(Section):
    #: inotify watches the daemon takes at most (None: half of what its user has free)
    max_watches: int | None = Field(None, ge=0)


class PluginsConfig(Section):
    disabled: list[str] = Field(default_factory=list)
    #: extra plugin modules by dotted path (local plugins that are not packaged)
    extra: list[str] = Field(default_factory=list)


class TerminalConfig(Section):
    """Caps of the terminal plugin's PTY sessions (daemon-wide: a terminal runs code)."""

    #: sessions open at once in the whole daemon
    max_sessions: int = Field(16, ge=0, le=1024)
    #: bytes one `terminal.input` call may write
    max_input_bytes: int = Field(65536, ge=1, le=4 * 1024 * 1024)
    #: output read from one session's PTY per second; past it the PTY is not read for a while
    #: (the program blocks on its writes), so a flood cannot take the event loop
    output_bytes_per_s: int = Field(16 * 1024 * 1024, ge=4096)
    #: after SIGHUP, how long a closed session's process group gets before SIGKILL (seconds)
    close_grace_s: float = Field(2.0, gt=0, le=60)


class TrustConfig(Section):
    #: roots (globs) whose workspaces may run tools that execute their code; see aegisd.trust
    roots: list[str] = Field(default_factory=list)

    @field_validator("roots")
    @classmethod
    def _absolute(cls, value: list[str]) -> list[str]:
        return [check_pattern(pattern) for pattern in value]


class DaemonConfig(Section):
    """Everything `aegisd serve` reads before it starts."""

    socket: Path | None = None
    data_dir: Path | None = None
    tcp: str | None = None
    log_format: Literal["text", "json"] = "text"
    log_level: str = "INFO"
    max_body_bytes: int = Field(4 * 1024 * 1024, ge=1024)
    shutdown_timeout_s: float = Field(10.0, gt=0)
    close_timeout_s: float = Field(5.0, gt=0)
    roots: list[Path] = Field(default_factory=list)
    cache: CacheConfig = Field(default_factory=CacheConfig)
    memory: MemoryConfig = Field(default_factory=MemoryConfig)
    events: EventsConfig = Field(default_factory=EventsConfig)
    store: StoreConfig = Field(default_factory=StoreConfig)
    rate_limits: RateLimitsConfig = Field(default_factory=RateLimitsConfig)
    transport: TransportConfig = Field(default_factory=TransportConfig)
    watch: WatchConfig = Field(default_factory=WatchConfig)
    plugins: PluginsConfig = Field(default_factory=PluginsConfig)
    trust: TrustConfig = Field(default_factory=TrustConfig)
    terminal: TerminalConfig = Field(default_factory=TerminalConfig)
    #: the user config file this was read from (set by `load_config`; None: none was read)
    _config_file: Path | None = PrivateAttr(None)

    @property
    def config_file(self) -> Path | None:
        return self._config_file

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
        return level

    @field_validator("tcp")
    @classmethod
    def _host_port(cls, value: str | None) -> str | None:
        if value is None:
            return None
        host, sep, port = value.rpartition(":")
        if not sep or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError("must be HOST:PORT")
        if host not in ("127.0.0.1", "localhost", "::1", "[::1]"):
            raise ValueError("must bind a loopback address (127.0.0.1, localhost or [::1])")
        return value

    @property
    def socket_path(self) -> Path:
        return self.socket or paths.default_socket()

    @property
    def data_path(self) -> Path:
        return self.data_dir or paths.default_data_dir()

    @property
    def db_path(self) -> Path:
        return self.data_path / "aegisd.db"


class ConfigError(Exception):
    """An invalid configuration value; the message names the key and where it came from."""


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML in {path}: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None


def _deep_merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _env_layer(environ: Mapping[str, str]) -> dict[str, Any]:
    """`AEGISD_LOG_LEVEL=debug` → log_level; `AEGISD_CACHE__MAX_BYTES` → cache.max_bytes."""
    layer: dict[str, Any] = {}
    skip = {"AEGISD_CONFIG"}
    for name, raw in environ.items():
        if not name.startswith("AEGISD_") or name in skip:
            continue
        keys = name[len("AEGISD_") :].lower().split("__")
        target = layer
        for key in keys[:-1]:
            target = target.setdefault(key, {})
        value: Any = raw
        if keys[-1] in ("disabled", "extra", "roots", "exempt_clients"):
            value = [item for item in raw.split(",") if item]
        target[keys[-1]] = value
    return layer


def _describe(exc: ValidationError, origin: str) -> str:
    problems = []
    for err in exc.errors():
        key = ".".join(str(part) for part in err["loc"])
        problems.append(f"{key}: {err['msg']}")
    return f"invalid configuration ({origin}): " + "; ".join(problems)


def load_config(
    flags: Mapping[str, Any] | None = None,
    config_file: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> DaemonConfig:
    """Merge the four layers and validate each, naming the offending key on error."""
    env = os.environ if environ is None else environ
    layers: list[tuple[str, dict[str, Any]]] = [
        (str(paths.shipped_file("config/aegisd.toml")), {}),
    ]
    layers[0] = (layers[0][0], _read_toml(Path(layers[0][0])))
    user_file = paths.config_file(config_file or env.get("AEGISD_CONFIG"))
    read_user_file = bool(config_file) or user_file.exists()
    if read_user_file:
        layers.append((str(user_file), _read_toml(user_file)))
    layers.append(("environment", _env_layer(env)))
    layers.append(("command line", {k: v for k, v in (flags or {}).items() if v is not None}))
    merged: dict[str, Any] = {}
    for origin, layer in layers:
        merged = _deep_merge(merged, layer)
        try:
            DaemonConfig.model_validate(merged)
        except ValidationError as exc:
            raise ConfigError(_describe(exc, origin)) from None
    config = DaemonConfig.model_validate(merged)
    config._config_file = user_file if read_user_file else None
    return config
