from __future__ import annotations

from aegisd_insights.compute import compute_insights
from aegisd_insights.prompt import build_prompt, prompt_hash
from aegisd_insights.stage import detect_stage

from tests.plugins.insights.loader import load_inputs

SNIPPETS = {"pkg/core.py::Store.run": "def run(self):\n    return secret_sauce(self.rows)"}


def project_prompt(**kwargs: object) -> list[dict[str, str]]:
    inputs = load_inputs("project")
    args: dict[str, object] = {
        "insights": compute_insights(inputs),
        "lint_summary": {"critical": 2, "high": 5, "low": 2},
        "stage": detect_stage(inputs.files, inputs.symbols),
        "recent_changes": ["pkg/core.py", "pkg/a.py"],
    }
    return build_prompt(**(args | kwargs))  # type: ignore[arg-type]


def test_prompt_carries_names_paths_and_numbers() -> None:
    system, user = project_prompt()
    assert system["role"] == "system"
    assert "the few changes that would help this codebase most" in system["content"]
    body = user["content"]
    assert user["role"] == "user"
    assert "Maturity stage 2 of 3" in body
    assert "Lint issue counts: critical: 2, high: 5, low: 2." in body
    assert "Recently changed: pkg/core.py, pkg/a.py." in body
    assert "- [critical] Store.run has complexity 45." in body
    assert "(complexity=45, line=40)" in body
    assert "Source code is not included" in body


def test_source_only_with_send_source() -> None:
    without = "".join(m["content"] for m in project_prompt(snippets=SNIPPETS))
    assert "secret_sauce" not in without
    assert "def run" not in without
    with_source = project_prompt(snippets=SNIPPETS, send_source=True)[1]["content"]
    assert "Source of pkg/core.py::Store.run:\n```\ndef run(self):" in with_source
    assert "Source code is not included" not in with_source


def test_focus_puts_its_kinds_first_and_caps_the_list() -> None:
    body = project_prompt(focus="testing", max_insights=2)[1]["content"]
    findings = [line for line in body.splitlines() if line.startswith("- [")]
    assert [line.split("]")[1].split(".")[0].strip() for line in findings] == [
        "No test imports pkg/lonely",
        "No test imports pkg/tiny",
    ]


def test_long_change_lists_are_cut() -> None:
    changes = [f"m{i}.py" for i in range(35)]
    body = project_prompt(recent_changes=changes)[1]["content"]
    assert "m29.py and 5 more." in body
    assert "m30.py" not in body


def test_empty_inputs_still_make_a_prompt() -> None:
    _, user = build_prompt([], {}, None, [])
    assert user["content"] == (
        "No findings above the thresholds.\n\n"
        "Source code is not included; reason from names, paths and numbers."
    )


def test_prompt_hash_is_stable_and_sensitive() -> None:
    messages = project_prompt()
    assert prompt_hash("llama3", messages) == prompt_hash("llama3", [dict(m) for m in messages])
    assert len(prompt_hash("llama3", messages)) == 64
    assert prompt_hash("llama3", messages) != prompt_hash("mistral", messages)
    assert prompt_hash("llama3", messages) != prompt_hash("llama3", project_prompt(focus="issues"))
