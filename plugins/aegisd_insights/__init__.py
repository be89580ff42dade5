"""Insights for aegisd: deterministic findings, the project's maturity stage and local-LLM advice.

The pure parts live here and take plain, picklable inputs (`inputs.InsightInputs`), so they run in
the process pool and in tests without a daemon: `compute.compute_insights` turns files, symbols,
imports, lint issues and clone data into an ordered list of `insight.Insight` (each with a stable
`key` for diffing against the previous set); `stage.detect_stage` places the project on the AEGIS
maturity scale; `prompt.build_prompt` turns both into chat messages that carry names, paths and
numbers only unless the user allows source; `ollama.OllamaClient` talks to a local Ollama server
behind a `breaker.CircuitBreaker` and fails with `errors.OllamaUnavailable` / `errors.OllamaTimeout`
instead of hanging. Wiring (RPC methods, storage, scheduling) belongs to the daemon's hooks.
"""
