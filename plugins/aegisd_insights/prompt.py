"""Chat messages for the local LLM, and their hash.

With `send_source=False` the messages carry names, paths and numbers only: insight titles and
details (built from paths, qualnames and metrics), lint counts, the stage, changed paths. Source
snippets are added only with `send_source=True`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Literal

from aegisd_insights.insight import Insight, InsightKind
from aegisd_insights.stage import StageResult

Focus = Literal["general", "refactors", "issues", "duplication", "testing"]
ChatMessage = dict[str, str]

_FOCUS_KINDS: Mapping[Focus, tuple[InsightKind, ...]] = {
    "general": (),
    "refactors": ("complexity_hotspot", "oversized_file", "import_cycle"),
    "issues": ("lint_hotspot",),
    "duplication": ("duplication_hotspot",),
    "testing": ("untested_module", "no_tests"),
}

_FOCUS_ASK: Mapping[Focus, str] = {
    "general": "the few changes that would help this codebase most",
    "refactors": "refactorings: what to split, extract or decouple, and in which order",
    "issues": "the lint problems to fix first and how",
    "duplication": "which duplicated code to merge and where the shared code should live",
    "testing": "which untested modules to cover first and what to test in them",
}

_SYSTEM = (
    "You are a senior engineer reviewing a codebase from a static analysis summary. "
    "Suggest {ask}. Answer in Markdown: at most 7 numbered suggestions, each naming the files "
    "or symbols it is about, why it matters and a first concrete step. Do not invent files."
)

_MAX_CHANGES = 30


def _focus_first(insights: Sequence[Insight], focus: Focus) -> list[Insight]:
    """Insights of the focus's kinds first, each group in its given order."""
    kinds = _FOCUS_KINDS[focus]
    return [i for i in insights if i.kind in kinds] + [i for i in insights if i.kind not in kinds]


def _insight_line(i: Insight) -> str:
    numbers = ", ".join(f"{k}={v}" for k, v in sorted(i.metrics.items()))
    return f"- [{i.severity}] {i.title}. {i.detail} ({numbers})"


def _stage_line(stage: StageResult) -> str:
    m = stage.metrics
    return (
        f"Maturity stage {stage.stage} of 3 (confidence {stage.confidence:.2f}): "
        f"{m.code_files} code files, {m.loc} lines; "
        f"patterns: {', '.join(m.patterns) or 'none'}; layers: {', '.join(m.layers) or 'none'}."
    )


def build_prompt(
    insights: Sequence[Insight],
    lint_summary: Mapping[str, int],
    stage: StageResult | None,
    recent_changes: Sequence[str],
    focus: Focus = "general",
    send_source: bool = False,
    snippets: Mapping[str, str] | None = None,
    *,
    max_insights: int = 40,
) -> list[ChatMessage]:
    """A system and a user message. `lint_summary` maps a label (a severity, a tool) to a count;
    `recent_changes` are changed paths (the first 30 are listed); `snippets` maps a path or
    symbol to its source and is ignored unless `send_source`. At most `max_insights` insights
    are listed, those matching the focus first."""
    parts = []
    if stage is not None:
        parts.append(_stage_line(stage))
    if lint_summary:
        counts = ", ".join(f"{k}: {v}" for k, v in sorted(lint_summary.items()))
        parts.append(f"Lint issue counts: {counts}.")
    if recent_changes:
        shown = ", ".join(recent_changes[:_MAX_CHANGES])
        more = len(recent_changes) - _MAX_CHANGES
        parts.append(f"Recently changed: {shown}" + (f" and {more} more." if more > 0 else "."))
    chosen = _focus_first(insights, focus)[:max_insights]
    parts.append(
        "Findings, most severe first:\n" + "\n".join(_insight_line(i) for i in chosen)
        if chosen
        else "No findings above the thresholds."
    )
    if send_source and snippets:
        parts.extend(f"Source of {name}:\n```\n{code}\n```" for name, code in snippets.items())
    else:
        parts.append("Source code is not included; reason from names, paths and numbers.")
    return [
        {"role": "system", "content": _SYSTEM.format(ask=_FOCUS_ASK[focus])},
        {"role": "user", "content": "\n\n".join(parts)},
    ]


def prompt_hash(model: str, messages: Sequence[Mapping[str, str]]) -> str:
    """sha256 (hex) of the model and messages in canonical JSON: equal prompts, equal hashes."""
    canonical = json.dumps(
        {"model": model, "messages": [dict(m) for m in messages]},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    # surrogatepass: a file name that is not UTF-8 may be quoted in the prompt
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()
