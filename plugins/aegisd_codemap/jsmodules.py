"""Where a JS/TS import specifier leads: a workspace file, an external package, or nowhere.

In order: relative specifiers (extensions, ``index.*``, ``.d.ts``, ``./x.js`` meaning
``./x.ts``: `resolve.ModuleIndex.js_target`); the ``compilerOptions.paths`` and ``baseUrl`` of
the nearest ``tsconfig.json``/``jsconfig.json`` above the importer (``extends`` followed
within the root, JSONC read leniently, cycles cut); packages of the workspace itself (a
``package.json`` with that ``name``: its ``exports``, ``types``, ``module``, ``main``, or
``index``); else the package is external. Config and package files are read from the disk
(call this off the event loop) and kept in the budgeted cache under their size and mtime, so
an edited tsconfig is seen by the next request.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loguru import logger

from aegisd.budget import BudgetedCache
from aegisd.safeio import read_bytes
from aegisd_codemap.resolve import ModuleIndex, package_name

FILE, EXTERNAL, UNRESOLVED = "file", "external", "unresolved"
CONFIG_NAMES = ("tsconfig.json", "jsconfig.json")
#: tsconfig ``extends`` followed at most
MAX_EXTENDS = 16
_MAX_CONFIG_BYTES = 1024 * 1024
#: comments and trailing commas of JSONC, strings kept as they are
_JSONC = re.compile(r'("(?:\\.|[^"\\])*")|//[^\n]*|/\*.*?\*/|,(?=\s*[}\]])', re.S)
_ENTRY_FIELDS = ("types", "typings", "module", "main")
_CONDITIONS = ("types", "import", "module", "default", "require", "node")


def parse_jsonc(data: str) -> Any:
    """JSON with comments and trailing commas (tsconfig's dialect); ValueError when broken."""
    return json.loads(_JSONC.sub(lambda m: m.group(1) or "", data))


@dataclass
class Config:
    """What one tsconfig/jsconfig (with what it extends) says about module names."""

    base_url: str | None = None  # root-relative directory
    paths: list[tuple[str, list[str]]] = field(default_factory=list)
    paths_dir: str = ""  # the directory of the config that set ``paths``

    @property
    def paths_base(self) -> str:
        """What ``paths`` targets are relative to: ``baseUrl`` when set, else their config."""
        return self.paths_dir if self.base_url is None else self.base_url


def _within(directory: str, relative: str) -> str | None:
    """``relative`` joined to ``directory``, or None when it leaves the root."""
    joined = posixpath.normpath(posixpath.join(directory, relative))
    if joined == ".":
        return ""
    return None if joined == ".." or joined.startswith("../") or joined.startswith("/") else joined


class JsModules:
    """One request's specifier resolution (memoized), over the workspace's files."""

    def __init__(
        self,
        modules: ModuleIndex,
        root: Path | None,
        cache: BudgetedCache[Any, Any] | None = None,
        ws_id: str = "",
    ) -> None:
        self.modules = modules
        self.root = root
        self.cache = cache
        self.ws_id = ws_id
        self._configs: dict[str, Config | None] = {}  # directory -> its nearest config
        self._memo: dict[tuple[str, str], tuple[str, str]] = {}
        self._packages: dict[str, str] | None = None  # package name -> its directory

    def target(self, importer: str, spec: str) -> tuple[str, str]:
        """(FILE, path) | (EXTERNAL, package) | (UNRESOLVED, specifier)."""
        key = (posixpath.dirname(importer), spec)
        found = self._memo.get(key)
        if found is None:
            found = self._memo[key] = self._target(importer, spec)
        return found

    def _target(self, importer: str, spec: str) -> tuple[str, str]:
        if spec.startswith((".", "/")):
            path = self.modules.js_target(spec, importer)
            return (FILE, path) if path is not None else (UNRESOLVED, spec)
        config = self.config(posixpath.dirname(importer))
        if config is not None:
            path = self._mapped(config, spec)
            if path is not None:
                return FILE, path
        path = self._package(spec)
        if path is not None:
            return FILE, path
        if config is not None and config.base_url is not None:
            within = _within(config.base_url, spec)
            path = self.file(within) if within is not None else None
            if path is not None:
                return FILE, path
        return EXTERNAL, package_name(spec.removeprefix("node:"))

    def file(self, rel: str) -> str | None:
        """The workspace file a root-relative module path names (extensions, index)."""
        return self.modules.js_target("./" + rel if rel else ".", "_")

    # -- tsconfig -------------------------------------------------------------------------

    def _mapped(self, config: Config, spec: str) -> str | None:
        """``spec`` through ``compilerOptions.paths`` (the longest matching prefix first)."""
        matches: list[tuple[int, str, list[str]]] = []
        for pattern, targets in config.paths:
            prefix, star, suffix = pattern.partition("*")
            if not star:
                if spec == pattern:
                    matches.append((len(pattern) + 1, "", targets))
            elif (
                spec.startswith(prefix)
                and spec.endswith(suffix)
                and len(spec) >= len(prefix) + len(suffix)
            ):
                captured = spec[len(prefix) : len(spec) - len(suffix)]
                matches.append((len(prefix), captured, targets))
        for _, captured, targets in sorted(matches, key=lambda m: -m[0]):
            for target in targets:
                within = _within(config.paths_base, target.replace("*", captured, 1))
                path = self.file(within) if within is not None else None
                if path is not None:
                    return path
        return None

    def config(self, directory: str) -> Config | None:
        """The nearest tsconfig/jsconfig at or above ``directory`` (memoized per directory)."""
        if directory in self._configs:
            return self._configs[directory]
        found: Config | None = None
        for name in CONFIG_NAMES:
            rel = posixpath.join(directory, name) if directory else name
            if self._json(rel) is not None:
                found = self._load(rel, set())
                break
        else:
            if directory:
                parent = posixpath.dirname(directory)
                found = self.config(parent if parent != directory else "")
        self._configs[directory] = found
        return found

    def _load(self, rel: str, seen: set[str]) -> Config:
        """A config with what it extends (within the root, cycles and depth cut)."""
        seen.add(rel)
        raw = self._json(rel)
        data = raw if isinstance(raw, dict) else {}
        directory = posixpath.dirname(rel)
        config = Config(paths_dir=directory)
        extends = data.get("extends")
        for parent in [extends] if isinstance(extends, str) else extends or []:
            if not isinstance(parent, str) or not parent.startswith("."):
                continue  # a package's config: outside the workspace
            target = _within(directory, parent)
            if target is not None and not target.endswith(".json") and self._json(target) is None:
                target += ".json"
            if target is None or target in seen or len(seen) > MAX_EXTENDS:
                continue
            inherited = self._load(target, seen)
            config.base_url = inherited.base_url or config.base_url
            if inherited.paths:
                config.paths, config.paths_dir = inherited.paths, inherited.paths_dir
        options = data.get("compilerOptions")
        options = options if isinstance(options, dict) else {}
        base_url = options.get("baseUrl")
        if isinstance(base_url, str):
            config.base_url = _within(directory, base_url)
        paths = options.get("paths")
        if isinstance(paths, dict):
            config.paths = [
                (pattern, [t for t in targets if isinstance(t, str)])
                for pattern, targets in paths.items()
                if isinstance(targets, list)
            ]
            config.paths_dir = directory
        return config

    def _json(self, rel: str) -> Any:
        """A JSON(C) file of the workspace, or None (missing, unreadable or broken)."""
        if self.root is None:
            return None
        try:
            info = os.stat(self.root / rel)
        except (OSError, ValueError):
            return None
        key = (self.ws_id, rel, f"json:{info.st_mtime_ns}:{info.st_size}")
        if self.cache is not None and key in self.cache:
            return self.cache.get(key)
        try:
            found = parse_jsonc(read_bytes(self.root, rel, _MAX_CONFIG_BYTES).decode("utf-8"))
        except (OSError, ValueError, RecursionError) as exc:
            logger.debug("{} is not readable JSON: {}", rel, exc)
            found = None
        if self.cache is not None:
            self.cache.discard_where(lambda k: k[:2] == (self.ws_id, rel))
            self.cache.put(key, found, 256 + info.st_size * 4)
        return found

    # -- packages of the workspace -------------------------------------------------------

    def _package(self, spec: str) -> str | None:
        name = package_name(spec)
        directory = self.packages().get(name)
        if directory is None:
            return None
        subpath = spec[len(name) :].lstrip("/")
        manifest = self._json(
            posixpath.join(directory, "package.json") if directory else "package.json"
        )
        manifest = manifest if isinstance(manifest, dict) else {}
        for entry in _entries(manifest, subpath):
            within = _within(directory, entry)
            path = self.file(within) if within is not None else None
            if path is not None:
                return path
        for fallback in [subpath] if subpath else ["index", "src/index"]:
            within = _within(directory, fallback)
            path = self.file(within) if within is not None else None
            if path is not None:
                return path
        return None

    def packages(self) -> dict[str, str]:
        """Package name -> directory, for every package.json beside the workspace's files."""
        if self._packages is None:
            found: dict[str, str] = {}
            directories = {posixpath.dirname(p) for p in self.modules.paths}
            for directory in sorted(directories):
                while True:
                    rel = posixpath.join(directory, "package.json") if directory else "package.json"
                    manifest = self._json(rel)
                    if isinstance(manifest, dict) and isinstance(manifest.get("name"), str):
                        found.setdefault(manifest["name"], directory)
                    if not directory:
                        break
                    directory = posixpath.dirname(directory)
                    if directory in directories:
                        break
            self._packages = found
        return self._packages


def _entries(manifest: dict[str, Any], subpath: str) -> list[str]:
    """The files a package's manifest names for a subpath ('' for the package itself)."""
    found: list[str] = []
    exports = manifest.get("exports")
    key = f"./{subpath}" if subpath else "."
    if isinstance(exports, str) and not subpath:
        found.append(exports)
    elif isinstance(exports, dict):
        value = exports.get(
            key, exports if not subpath and not any(k.startswith(".") for k in exports) else None
        )
        found += _conditions(value)
    if not subpath:
        found += [manifest[f] for f in _ENTRY_FIELDS if isinstance(manifest.get(f), str)]
    return found


def _conditions(value: Any, depth: int = 0) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict) and depth < 4:
        return [t for c in _CONDITIONS if c in value for t in _conditions(value[c], depth + 1)]
    return []
