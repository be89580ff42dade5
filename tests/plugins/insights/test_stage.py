from __future__ import annotations

from aegisd_insights.inputs import FileInput, SymbolInput
from aegisd_insights.stage import StageMetrics, detect_stage, find_layers, find_patterns

from tests.plugins.insights.loader import load_inputs


def stage_of(name: str) -> tuple[int, float, StageMetrics]:
    inputs = load_inputs(name)
    result = detect_stage(inputs.files, inputs.symbols)
    return result.stage, result.confidence, result.metrics


def test_prototype_is_stage_1() -> None:
    assert stage_of("stage1_prototype") == (1, 1.0, StageMetrics(3, 340, (), ()))


def test_structured_app_is_stage_2() -> None:
    assert stage_of("stage2_structured") == (
        2,
        1.0,
        StageMetrics(13, 1610, ("factory", "repository", "service"), ("api", "models", "services")),
    )


def test_layered_service_is_stage_3() -> None:
    patterns = (
        "adapter",
        "builder",
        "controller",
        "middleware",
        "observer",
        "repository",
        "service",
        "strategy",
    )
    layers = ("adapters", "api", "db", "domain", "infrastructure", "services", "ui", "views")
    assert stage_of("stage3_layered") == (3, 1.0, StageMetrics(24, 4080, patterns, layers))


def test_reasons_explain_each_criterion() -> None:
    inputs = load_inputs("stage2_structured")
    reasons = detect_stage(inputs.files, inputs.symbols).reasons
    assert reasons == (
        "stage 2: 4 of 4 criteria hold",
        "13 code files (within stage 2: at most 20)",
        "1610 lines of code (within stage 2: under 3000)",
        "3 patterns: factory, repository, service (within stage 2: at most 3)",
        "3 layers: api, models, services (within stage 2: at most 3)",
    )


def files(n: int, loc: int, prefix: str = "") -> list[FileInput]:
    return [FileInput(f"{prefix}m{i}.py", "python", loc) for i in range(n)]


def test_three_of_four_is_enough_and_lowers_confidence() -> None:
    result = detect_stage(files(4, 50))  # one file too many for a prototype
    assert (result.stage, result.confidence) == (1, 0.75)
    assert result.reasons[1] == "4 code files (beyond stage 1: at most 3)"


def test_loc_limits_are_strict() -> None:
    # one layer already fails a stage-1 criterion, so the line count decides
    assert detect_stage(files(1, 499, "api/")).stage == 1
    assert detect_stage(files(1, 500, "api/")).stage == 2
    # 21 files already fail a stage-2 criterion
    assert detect_stage([*files(20, 100), FileInput("big.py", "python", 999)]).stage == 2
    assert detect_stage([*files(20, 100), FileInput("big.py", "python", 1000)]).stage == 3


def test_stage_3_confidence_counts_failed_stage_2_criteria() -> None:
    result = detect_stage(files(21, 150))  # 21 files, 3150 lines, nothing else
    assert (result.stage, result.confidence) == (3, 0.5)
    assert result.reasons[0] == "stage 3: only 2 of 4 stage-2 criteria hold"


def test_non_code_files_do_not_count() -> None:
    docs = [FileInput(f"docs/p{i}.md", "markdown", 400) for i in range(10)]
    data = [FileInput("data.json", "json", 5000)]
    result = detect_stage([*docs, *data, *files(2, 100)])
    assert (result.metrics.code_files, result.metrics.loc) == (2, 200)


def test_patterns_from_path_words_and_class_suffixes() -> None:
    found = find_patterns(
        [
            FileInput("src/UserRepository.ts", "typescript", 10),
            FileInput("src/plugins/loader.py", "python", 10),
            FileInput("src/event_observers.py", "python", 10),
            FileInput("src/refactory.py", "python", 10),  # a word must match whole
            FileInput("tests/test_factory.py", "python", 10, is_test=True),
        ],
        [
            SymbolInput("MarkdownBuilder", "class", "src/render.py", 1),
            SymbolInput("outer.CacheProxy", "class", "src/cache.py", 1),
            SymbolInput("make_strategy", "function", "src/algo.py", 1),
            SymbolInput("FakeAdapter", "class", "tests/test_factory.py", 1),
        ],
    )
    assert found == {"repository", "plugin", "observer", "builder", "proxy"}


def test_layers_come_from_directories_only() -> None:
    found = find_layers(
        [
            FileInput("backend/Controllers/home.py", "python", 1),
            FileInput("backend/database/session.py", "python", 1),
            FileInput("backend/models.py", "python", 1),  # a file, not a directory
            FileInput("tests/api/test_home.py", "python", 1, is_test=True),
        ]
    )
    assert found == {"controllers", "db"}
