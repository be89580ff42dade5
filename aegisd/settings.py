"""Per-workspace settings: core keys plus the sections plugins declare, stored as overrides.

Only what the user changed is stored (a JSON object per workspace), so a new default reaches
every workspace that did not override it. Reads go through the cache; an update invalidates the
workspace's cached entries. Updates are partial and validated against the full model, so an
unknown key anywhere is INVALID_PARAMS naming that key.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from aegisd.cache import Cache
from aegisd.rpc.errors import InvalidParams
from aegisd.rpc.registry import Int64Model
from aegisd.safeio import DEFAULT_MAX_FILE_BYTES
from aegisd.store.database import Store
from aegisd.store.jsonfield import check_depth, dumps

DEFAULT_EXCLUDE_DIRS = [
    "__pycache__", ".git", ".hg", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".svn", ".tox",
    ".venv", ".code-map", "_deps", "build", "dist", "env", "node_modules", "out", "target",
    "venv", "vendor",
]  # fmt: skip

CACHE_NAMESPACE = "settings"
#: a check of a settings patch against what only the running daemon knows (a plugin's tool
#: names); it raises InvalidParams to refuse the patch
PatchCheck = Callable[[Mapping[str, Any]], None]


class SectionModel(Int64Model):
    """Base for a settings section: unknown keys are refused; integers are 64-bit, like params."""

    model_config = ConfigDict(extra="forbid")


class WatcherSettings(SectionModel):
    debounce_ms: int = Field(50, ge=1, le=10_000, description="Quiet time before a batch settles.")
    step_ms: int = Field(10, ge=1, le=1_000, description="How often the watcher polls its queue.")
    git_lock_wait_ms: int = Field(
        5_000, ge=0, le=120_000, description="How long a batch waits for .git/index.lock to go."
    )
    reconcile_interval_s: float = Field(
        30.0, ge=1, description="Periodic reconciliation interval while the watcher is degraded."
    )
    poll_interval_s: float = Field(
        2.0,
        ge=0.05,
        le=3_600,
        description="How often directories left without an inotify watch (the allowance used "
        "up) are polled.",
    )


class CoreSettings(SectionModel):
    exclude_dirs: list[str] = Field(
        default_factory=lambda: list(DEFAULT_EXCLUDE_DIRS),
        description="Directory names never indexed or watched (the whole list; edit to add or remove).",
    )
    respect_gitignore: bool = True
    max_file_bytes: int = Field(
        DEFAULT_MAX_FILE_BYTES,
        ge=1024,
        le=1 << 30,
        description="Files larger than this are skipped by every plugin (listed in index.status).",
    )
    include_docstrings: bool = False
    full_pass_max_files: int = Field(
        20_000,
        ge=0,
        le=1 << 40,
        description=(
            "Above this many files a workspace is large: whole-workspace passes nobody asked"
            " for (lint's first pass, clone analysis) run only for changed files and on request."
        ),
    )
    watcher: WatcherSettings = Field(default_factory=WatcherSettings)


@dataclass(frozen=True)
class SettingsSection:
    """A plugin's settings section: `name` is its key in the settings object."""

    name: str
    model: type[BaseModel]


def build_settings_model(sections: Sequence[SettingsSection]) -> type[CoreSettings]:
    fields: dict[str, Any] = {s.name: (s.model, Field(default_factory=s.model)) for s in sections}
    return create_model("WorkspaceSettings", __base__=CoreSettings, **fields)


def _deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _changed_keys(before: Any, after: Any, prefix: str = "") -> list[str]:
    if isinstance(before, dict) and isinstance(after, dict):
        keys: list[str] = []
        for key in sorted(set(before) | set(after)):
            keys += _changed_keys(before.get(key), after.get(key), f"{prefix}{key}.")
        return keys
    return [prefix[:-1]] if before != after else []


def validation_errors(
    exc: ValidationError, prefix: tuple[str | int, ...] = ()
) -> list[dict[str, Any]]:
    """Field errors as INVALID_PARAMS lists them: location, message, type."""
    return [
        {"loc": [*prefix, *err["loc"]], "msg": err["msg"], "type": err["type"]}
        for err in exc.errors(include_url=False)
    ]


class SettingsService:
    """Reads and partial updates of per-workspace settings, cached."""

    def __init__(
        self,
        store: Store,
        cache: Cache,
        sections: Sequence[SettingsSection],
        partial: bool = False,
    ) -> None:
        self.store = store
        self.cache = cache
        self.sections = list(sections)
        self.model = build_settings_model(self.sections)
        #: some plugins' sections are still to come (`extend`): stored overrides of sections
        #: not known yet are left aside instead of refused
        self.partial = partial
        self._checks: list[PatchCheck] = []

    def add_check(self, check: PatchCheck) -> None:
        """Have `check` judge every later patch once the model accepts it: keys that name
        things known only at run time (`lint.tools.<tool>`) are refused like unknown keys."""
        self._checks.append(check)

    def extend(self, sections: Sequence[SettingsSection], workspaces: Sequence[str]) -> None:
        """Add the sections of plugins loaded later; the model is then whole."""
        self.sections += sections
        self.model = build_settings_model(self.sections)
        self.partial = False
        for workspace_id in workspaces:
            self.cache.invalidate_workspace(workspace_id, CACHE_NAMESPACE)

    def defaults(self) -> CoreSettings:
        return self.model()

    async def get(self, workspace_id: str) -> CoreSettings:
        cached = self.cache.get(CACHE_NAMESPACE, workspace_id, "effective")
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        overrides = await self.store.run(_load_overrides, workspace_id)
        if self.partial:
            known = self.model.model_fields
            overrides = {key: value for key, value in overrides.items() if key in known}
        settings = self.model.model_validate(overrides)
        self.cache.put(CACHE_NAMESPACE, workspace_id, "effective", settings, paths=(), size=2048)
        return settings

    async def update(
        self, workspace_id: str, patch: Mapping[str, Any]
    ) -> tuple[list[str], CoreSettings]:
        """Apply a partial update; returns the dotted keys whose value changed and the result."""
        check_depth(patch, "params.settings")
        overrides = await self.store.run(_load_overrides, workspace_id)
        merged = _deep_merge(overrides, patch)
        try:
            settings = self.model.model_validate(merged)
        except ValidationError as exc:
            raise InvalidParams(
                "invalid settings", errors=validation_errors(exc, ("settings",))
            ) from None
        for check in self._checks:
            check(patch)
        before = self.model.model_validate(overrides).model_dump(mode="json")
        after = settings.model_dump(mode="json")
        updated = _changed_keys(before, after)
        await self.store.run(_save_overrides, workspace_id, merged)
        self.cache.invalidate_workspace(workspace_id)
        return updated, settings


def _load_overrides(workspace_id: str) -> dict[str, Any]:
    from aegisd.store.core_models import WorkspaceSettingsRow

    row = WorkspaceSettingsRow.get_or_none(WorkspaceSettingsRow.workspace == workspace_id)
    return json.loads(row.data) if row is not None else {}


def _save_overrides(workspace_id: str, data: Mapping[str, Any]) -> None:
    from aegisd.store.core_models import WorkspaceSettingsRow, now_iso

    WorkspaceSettingsRow.insert(
        workspace=workspace_id, data=dumps(data, "settings"), updated_at=now_iso()
    ).on_conflict_replace().execute()
