from __future__ import annotations

import dataclasses
import pickle
import random
from concurrent.futures import ProcessPoolExecutor

from aegisd_insights.compute import compute_insights
from aegisd_insights.insight import Insight

from tests.plugins.insights.loader import load_inputs

EXPECTED = [
    ("complexity_hotspot:pkg/core.py::Store.run", "critical"),
    ("oversized_file:pkg/big.py", "critical"),
    ("lint_hotspot:pkg/core.py", "critical"),
    ("import_cycle:pkg/a.py -> pkg/b.py -> pkg/c.py -> pkg/a.py", "high"),
    ("complexity_hotspot:pkg/core.py::parse", "high"),
    ("oversized_file:pkg/core.py", "high"),
    ("lint_hotspot:pkg/a.py", "high"),
    ("lint_hotspot:pkg/big.py", "high"),
    ("duplication_hotspot:pkg/a.py", "high"),
    ("import_cycle:pkg/x.py -> pkg/y.py -> pkg/x.py", "medium"),
    ("complexity_hotspot:pkg/a.py::helper", "medium"),
    ("duplication_hotspot:pkg/b.py", "medium"),
    ("untested_module:pkg/lonely.py", "medium"),
    ("duplication_hotspot:pkg/c.py", "low"),
    ("untested_module:pkg/tiny.py", "low"),
]


def by_key(found: list[Insight]) -> dict[str, Insight]:
    return {i.key: i for i in found}


def test_fixture_project_gives_the_known_insights_in_order() -> None:
    found = compute_insights(load_inputs("project"))
    assert [(i.key, i.severity) for i in found] == EXPECTED


def test_fixture_project_numbers_paths_and_symbols() -> None:
    found = by_key(compute_insights(load_inputs("project")))
    run = found["complexity_hotspot:pkg/core.py::Store.run"]
    assert (run.paths, run.symbols, dict(run.metrics)) == (
        ("pkg/core.py",),
        ("Store.run",),
        {"complexity": 45, "line": 40},
    )
    # the redefined helper is reported once, with its highest complexity
    assert dict(found["complexity_hotspot:pkg/a.py::helper"].metrics) == {
        "complexity": 12,
        "line": 60,
    }
    cycle = found["import_cycle:pkg/a.py -> pkg/b.py -> pkg/c.py -> pkg/a.py"]
    assert cycle.paths == ("pkg/a.py", "pkg/b.py", "pkg/c.py")
    assert dict(cycle.metrics) == {"files": 3}
    lint = found["lint_hotspot:pkg/core.py"]
    assert dict(lint.metrics) == {"critical": 2, "high": 1, "total": 4}
    assert "rules: B006, S602." in lint.detail
    dup = found["duplication_hotspot:pkg/a.py"]
    assert dup.paths == ("pkg/a.py", "pkg/b.py", "pkg/c.py")
    assert dict(dup.metrics) == {"dup_ratio": 0.55, "clone_pairs": 3, "dup_lines": 55}
    assert dict(found["oversized_file:pkg/core.py"].metrics) == {"loc": 620, "limit": 500}
    assert dict(found["untested_module:pkg/lonely.py"].metrics) == {"loc": 250, "importers": 0}
    assert dict(found["untested_module:pkg/tiny.py"].metrics) == {"loc": 20, "importers": 1}


def test_order_of_inputs_does_not_matter() -> None:
    inputs = load_inputs("project")
    expected = compute_insights(inputs)
    rng = random.Random(7)
    for _ in range(5):
        shuffled = dataclasses.replace(
            inputs,
            files=tuple(rng.sample(inputs.files, len(inputs.files))),
            symbols=tuple(rng.sample(inputs.symbols, len(inputs.symbols))),
            imports=tuple(rng.sample(inputs.imports, len(inputs.imports))),
            cycles=tuple(rng.sample(inputs.cycles, len(inputs.cycles))),
            lint=tuple(rng.sample(inputs.lint, len(inputs.lint))),
        )
        assert compute_insights(shuffled) == expected


def test_keys_are_unique_and_survive_changing_numbers() -> None:
    inputs = load_inputs("project")
    before = by_key(compute_insights(inputs))
    assert len(before) == len(EXPECTED)
    calmer = tuple(
        dataclasses.replace(s, complexity=25, line=s.line + 3) if s.qualname == "Store.run" else s
        for s in inputs.symbols
    )
    after = by_key(compute_insights(dataclasses.replace(inputs, symbols=calmer)))
    key = "complexity_hotspot:pkg/core.py::Store.run"
    assert set(after) == set(before)
    assert (before[key].severity, after[key].severity) == ("critical", "high")
    assert dict(after[key].metrics) == {"complexity": 25, "line": 43}


def test_runs_in_a_process_pool() -> None:
    inputs = load_inputs("project")
    assert pickle.loads(pickle.dumps(inputs)) == inputs
    with ProcessPoolExecutor(max_workers=1) as pool:
        assert pool.submit(compute_insights, inputs).result() == compute_insights(inputs)
