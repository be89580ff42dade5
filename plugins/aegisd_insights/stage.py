"""AEGIS maturity stage of a workspace: 1 prototype, 2 structured, 3 architected.

Stage 1 criteria: at most 3 code files, under 500 lines, no design patterns, no layers.
Stage 2 criteria: at most 20 code files, under 3000 lines, at most 3 patterns, at most 3 layers.
The first stage of which at least 3 of the 4 criteria hold wins; otherwise stage 3.

Code files are files in a programming language (markup, data and config formats are not code),
tests included: they are code the project maintains. Patterns and layers are looked for in
non-test files only, since test trees mirror the source tree.

Confidence: for stage 1 or 2, the fraction of that stage's criteria that hold (0.75 or 1.0);
for stage 3, the fraction of stage-2 criteria that fail (0.5 to 1.0), i.e. how far past stage 2
the project is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from aegisd_insights.inputs import FileInput, SymbolInput

NON_CODE_LANGUAGES = frozenset(
    {"", "text", "markdown", "rst", "json", "yaml", "toml", "ini", "xml", "csv", "html", "css"}
)

_PATTERNS = (
    "adapter",
    "builder",
    "controller",
    "decorator",
    "facade",
    "factory",
    "middleware",
    "observer",
    "plugin",
    "proxy",
    "registry",
    "repository",
    "service",
    "singleton",
    "strategy",
    "visitor",
)


def _plural(word: str) -> str:
    return word[:-1] + "ies" if word.endswith("y") else word + "s"


# A path word (singular or plural) and a class-name suffix both name the same pattern.
_PATTERN_WORDS = {form: p for p in _PATTERNS for form in (p, _plural(p))}
PATTERN_SUFFIXES = {p.capitalize(): p for p in _PATTERNS}

_LAYERS = {
    "adapters": ("adapter", "adapters"),
    "api": ("api", "apis"),
    "application": ("application",),
    "components": ("component", "components"),
    "controllers": ("controller", "controllers"),
    "core": ("core",),
    "db": ("db", "database", "databases"),
    "domain": ("domain",),
    "entities": ("entity", "entities"),
    "handlers": ("handler", "handlers"),
    "infrastructure": ("infrastructure", "infra"),
    "models": ("model", "models"),
    "persistence": ("persistence",),
    "repositories": ("repository", "repositories"),
    "routes": ("route", "routes", "router", "routers"),
    "schemas": ("schema", "schemas"),
    "services": ("service", "services"),
    "ui": ("ui",),
    "utils": ("util", "utils"),
    "views": ("view", "views"),
}
_LAYER_DIRS = {name: layer for layer, names in _LAYERS.items() for name in names}

_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")


@dataclass(frozen=True, slots=True)
class StageMetrics:
    """What the stage was decided on; patterns and layers by canonical name, sorted."""

    code_files: int
    loc: int
    patterns: tuple[str, ...]
    layers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class StageResult:
    """The stage (1, 2 or 3), the confidence in [0, 1], human reasons and the metrics."""

    stage: int
    confidence: float
    reasons: tuple[str, ...]
    metrics: StageMetrics


def _words(component: str) -> list[str]:
    """Lower-case words of a path component: "UserRepository.ts" -> ["user", "repository"]."""
    stem = component.rsplit(".", 1)[0] if "." in component[1:] else component
    return [w.lower() for w in _WORD.findall(stem)]


def find_patterns(files: Iterable[FileInput], symbols: Iterable[SymbolInput]) -> set[str]:
    """Design patterns named by a word of a non-test path or by a class-name suffix."""
    found: set[str] = set()
    tests: set[str] = set()
    for f in files:
        if f.is_test:
            tests.add(f.path)
            continue
        for part in f.path.split("/"):
            found.update(_PATTERN_WORDS[w] for w in _words(part) if w in _PATTERN_WORDS)
    for s in symbols:
        if s.kind != "class" or s.path in tests:
            continue
        name = s.qualname.rsplit(".", 1)[-1]
        found.update(p for suffix, p in PATTERN_SUFFIXES.items() if name.endswith(suffix))
    return found


def find_layers(files: Iterable[FileInput]) -> set[str]:
    """Architectural layers named by a directory of a non-test path."""
    return {
        _LAYER_DIRS[d.lower()]
        for f in files
        if not f.is_test
        for d in f.path.split("/")[:-1]
        if d.lower() in _LAYER_DIRS
    }


def _criteria(
    stage: int, m: StageMetrics, limits: tuple[int, int, int, int]
) -> list[tuple[bool, str]]:
    """The four criteria of one stage: (holds, human reason)."""
    max_files, max_loc, max_patterns, max_layers = limits
    checks = (
        (m.code_files <= max_files, f"{m.code_files} code files", f"at most {max_files}"),
        (m.loc < max_loc, f"{m.loc} lines of code", f"under {max_loc}"),
        (len(m.patterns) <= max_patterns, _listed("pattern", m.patterns), _most(max_patterns)),
        (len(m.layers) <= max_layers, _listed("layer", m.layers), _most(max_layers)),
    )
    return [
        (ok, f"{what} ({'within' if ok else 'beyond'} stage {stage}: {limit})")
        for ok, what, limit in checks
    ]


def _listed(noun: str, names: tuple[str, ...]) -> str:
    if not names:
        return f"no {noun}s"
    return f"{len(names)} {noun}{'s' if len(names) > 1 else ''}: {', '.join(names)}"


def _most(n: int) -> str:
    return "none" if n == 0 else f"at most {n}"


_STAGE_LIMITS = {1: (3, 500, 0, 0), 2: (20, 3000, 3, 3)}


def detect_stage(files: Iterable[FileInput], symbols: Iterable[SymbolInput] = ()) -> StageResult:
    """Place the workspace on the AEGIS maturity scale (see the module docstring)."""
    all_files = list(files)
    code = [f for f in all_files if f.language.lower() not in NON_CODE_LANGUAGES]
    metrics = StageMetrics(
        code_files=len(code),
        loc=sum(f.loc for f in code),
        patterns=tuple(sorted(find_patterns(all_files, symbols))),
        layers=tuple(sorted(find_layers(all_files))),
    )
    evaluated = {s: _criteria(s, metrics, limits) for s, limits in _STAGE_LIMITS.items()}
    for stage, checks in evaluated.items():
        held = sum(ok for ok, _ in checks)
        if held >= 3:
            head = f"stage {stage}: {held} of 4 criteria hold"
            return StageResult(stage, held / 4, (head, *(r for _, r in checks)), metrics)
    checks = evaluated[2]
    held = sum(ok for ok, _ in checks)
    head = f"stage 3: only {held} of 4 stage-2 criteria hold"
    return StageResult(3, (4 - held) / 4, (head, *(r for _, r in checks)), metrics)
