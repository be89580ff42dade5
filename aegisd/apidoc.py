"""`docs/api.md`: the public interface rendered from the OpenRPC document.

    python -m aegisd.apidoc            # regenerate docs/api.md
    python -m aegisd.apidoc --check    # exit 1 when docs/api.md is out of date

The document is the one `rpc.discover` serves from a daemon running the built-in plugins with
the shipped rate limits; it is built without starting one (no store, no socket), so the page
depends only on the code (in a git worktree other than the installed one, put its code first:
`PYTHONPATH=.:plugins python -m aegisd.apidoc`).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aegisd import __version__

DEFAULT_OUTPUT = Path("docs/api.md")
REGENERATE = "python -m aegisd.apidoc"
REF_PREFIX = "#/components/schemas/"


def build_document() -> dict[str, Any]:
    """The OpenRPC document of the built-in plugins (third-party ones left out)."""
    from aegisd.config import RateLimitsConfig
    from aegisd.plugins import BUILTIN_PLUGINS, PluginHost
    from aegisd.rpc.openrpc import build_openrpc
    from aegisd.rpc.registry import Registry
    from aegisd.settings import build_settings_model

    host = PluginHost()
    host.load(BUILTIN_PLUGINS, found=())
    registry = Registry()
    for hook, add in (
        ("aegisd_rpc_methods", registry.add),
        ("aegisd_notifications", registry.add_notification),
    ):
        for plugin, items in host.call_each(hook, block_on_error=True):
            for item in items:
                add(item, plugin)
    sections = [s for _, found in host.call_each("aegisd_settings_sections", block_on_error=True)
                for s in found]  # fmt: skip
    blocked = [record.name for record in host.blocked()]
    if blocked:
        raise RuntimeError(f"plugins failed to load: {', '.join(blocked)}")
    late = {"WorkspaceSettings": build_settings_model(sections)}
    return build_openrpc(registry, "aegisd", __version__, RateLimitsConfig(), late)


# -- rendering ----------------------------------------------------------------------------------


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


#: component name -> the name shown (an unrolled level of a recursive schema: its original)
Aliases = dict[str, str]


def type_of(schema: Any, aliases: Aliases | None = None) -> str:
    """A short, linked type for a table cell."""
    if not isinstance(schema, dict) or not schema:
        return "any"
    if "$ref" in schema:
        name = schema["$ref"][len(REF_PREFIX) :]
        name = (aliases or {}).get(name, name)
        return f"[{name}](#{name.lower()})"
    if schema.get("x-free-form"):
        return "object (free-form)"
    for key in ("anyOf", "oneOf"):
        if key in schema:
            branches = (type_of(branch, aliases) for branch in schema[key])
            return " \\| ".join(dict.fromkeys(branches))
    if "enum" in schema:
        return " \\| ".join(f"`{json.dumps(value)}`" for value in schema["enum"])
    kind = schema.get("type")
    if kind == "array":
        return f"list[{type_of(schema.get('items'), aliases)}]"
    if kind == "object":
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            return f"map[string, {type_of(extra, aliases)}]"
        return "object"
    if kind == "null":
        return "null"
    return str(kind) if kind else "any"


def _limits(schema: dict[str, Any]) -> str:
    bounds = []
    for key, label in (("minimum", "≥"), ("maximum", "≤"), ("minLength", "length ≥"),
                       ("maxLength", "length ≤"), ("minItems", "items ≥"), ("maxItems", "items ≤")):  # fmt: skip
        value = schema.get(key)
        if value is not None and abs(value) < 2**62:  # 64-bit bounds go without saying
            bounds.append(f"{label} {value}")
    for branch in schema.get("anyOf", []):
        if isinstance(branch, dict):
            bounds += [b for b in _limits(branch).split("; ") if b and b not in bounds]
    return "; ".join(bounds)


def _describe(schema: dict[str, Any]) -> str:
    parts = [schema.get("description", "")]
    if "default" in schema:
        parts.append(f"Default `{json.dumps(schema['default'])}`.")
    limits = _limits(schema)
    if limits:
        parts.append(f"({limits})")
    return _cell(" ".join(p for p in parts if p))


def _fields_table(schema: dict[str, Any], aliases: Aliases) -> list[str]:
    properties = schema.get("properties", {})
    if not properties:
        return [f"Type: {type_of(schema, aliases)}.", ""]
    required = set(schema.get("required", []))
    rows = ["| field | type | required | description |", "|---|---|---|---|"]
    for name, prop in properties.items():
        mark = "yes" if name in required else ""
        rows.append(f"| `{name}` | {type_of(prop, aliases)} | {mark} | {_describe(prop)} |")
    return [*rows, ""]


def _params_table(params: list[dict[str, Any]], aliases: Aliases) -> list[str]:
    if not params:
        return ["No params.", ""]
    rows = ["| param | type | required | description |", "|---|---|---|---|"]
    for param in params:
        mark = "yes" if param.get("required") else ""
        kind = type_of(param["schema"], aliases)
        rows.append(f"| `{param['name']}` | {kind} | {mark} | {_describe(param['schema'])} |")
    return [*rows, ""]


def _json_block(value: Any) -> list[str]:
    return ["```json", json.dumps(value, indent=2, ensure_ascii=False), "```"]


def _examples(name: str, examples: list[dict[str, Any]], notification: bool) -> list[str]:
    lines: list[str] = []
    for example in examples:
        params = {p["name"]: p["value"] for p in example["params"]}
        title = example.get("summary") or example["name"]
        lines += ["Example:" if title == "example" else f"Example — {title}:", ""]
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": name, "params": params}
        if not notification:
            message["id"] = 1
        lines += _json_block(message)
        if "result" in example:
            lines += ["", "Answer:", ""]
            lines += _json_block({"jsonrpc": "2.0", "result": example["result"]["value"], "id": 1})
        lines.append("")
    return lines


def _method(method: dict[str, Any], aliases: Aliases) -> list[str]:
    name = method["name"]
    limit = method.get("x-rate-limit", {})
    lines = [f"### `{name}`", "", method.get("summary", ""), ""]
    if limit:
        budget = (f" ({limit['rate_per_s']:g}/s, burst {limit['burst']:g})"
                  if "rate_per_s" in limit else "")  # fmt: skip
        lines += [f"Cost class: **{limit['class']}**{budget}.", ""]
    lines += ["**Params** (by name, or by position in this order):", ""]
    lines += _params_table(method["params"], aliases)
    result = method["result"]
    lines += [f"**Result**: `{result['name']}`", ""]
    lines += _fields_table(result["schema"], aliases)
    errors = ", ".join(f"`{e['message']}`" for e in method.get("errors", []))
    lines += [f"**Errors**: {errors}.", ""]
    lines += _examples(name, method.get("examples", []), notification=False)
    return lines


def render(doc: dict[str, Any]) -> str:
    """The Markdown page of `doc`."""
    methods = doc["methods"]
    limits = {m["x-rate-limit"]["class"]: m["x-rate-limit"] for m in methods}
    schemas = doc["components"]["schemas"]
    aliases = {name: s["x-recursion-of"] for name, s in schemas.items() if "x-recursion-of" in s}
    out = [
        f"# {doc['info']['title']} API",
        "",
        f"<!-- Generated by `{REGENERATE}` from the OpenRPC document (rpc.discover) of aegisd "
        f"{doc['info']['version']}. Do not edit: regenerate. -->",
        "",
        doc["info"].get("description", ""),
        "",
        "JSON-RPC 2.0 over `POST /rpc` (a single request or a batch) and the `GET /rpc/ws` "
        "WebSocket (one message or batch per text frame; subscribed notifications are pushed). "
        "`rpc.discover` returns the OpenRPC document this page is generated from.",
        "",
        "- Params go by name, or by position in the order listed (required ones first).",
        "- Workspace-scoped methods take `workspace` (root path or id), optional when one "
        "workspace is open; their results carry `clock` and `pending`.",
        "- Lines and columns are 1-based; paths in results are relative to the workspace root.",
        "- Integers are 64-bit: anything larger is `INVALID_PARAMS`.",
        "",
        "## Errors",
        "",
        "Every error has the same shape: `error.code`, `error.message`, and `error.data` with "
        "`code` (the name below), `timestamp`, `method`, `request_id` and details.",
        "",
        "| data.code | error.code | meaning |",
        "|---|---|---|",
        *(f"| `{e['name']}` | {e['code']} | {_cell(e['meaning'])} |" for e in doc["x-errors"]),
        "",
        "## Rate limits",
        "",
        "Each client (the `X-Aegisd-Client` header; a WebSocket connection) has a token bucket "
        "per cost class. HTTP answers carry `RateLimit-Limit` (the burst), "
        "`RateLimit-Remaining` and `RateLimit-Reset` (seconds until full) for the class the "
        "request used (a batch: its most constrained one), and `Retry-After` with "
        "`RATE_LIMITED`. Defaults (config `[rate_limits]`):",
        "",
        "| class | tokens per second | burst |",
        "|---|---|---|",
        *(
            f"| {name} | {limit.get('rate_per_s', 0):g} | {limit.get('burst', 0):g} |"
            for name, limit in sorted(limits.items())
        ),
        "",
        "## Methods",
        "",
        *(
            f"- [`{m['name']}`](#{m['name'].replace('.', '')}) — {_cell(m.get('summary', ''))}"
            for m in methods
        ),
        "",
    ]
    for method in methods:
        out += _method(method, aliases)
    out += ["## Notifications", "",
            "Pushed over the WebSocket to connections that subscribed to their name "
            "(`events.subscribe {topics}`); `events.overflow` comes unasked when a slow "
            "client's queue overflowed.", ""]  # fmt: skip
    for note in doc.get("x-notifications", []):
        out += [f"### `{note['name']}`", "", note.get("summary", ""), ""]
        out += _params_table(note["params"], aliases)
        out += _examples(note["name"], note.get("examples", []), notification=True)
    out += ["## Schemas", "", "Shapes the tables above link to.", ""]
    for name, schema in schemas.items():
        if name in aliases:
            continue  # the unrolled levels of a recursive schema: same shape, said once
        out += [f"### {name}", ""]
        if schema.get("description"):
            out += [_cell(schema["description"]), ""]
        out += _fields_table(schema, aliases)
    return "\n".join(out).rstrip() + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m aegisd.apidoc", description="Render docs/api.md from the API document."
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="default: %(default)s")
    parser.add_argument("--check", action="store_true", help="exit 1 when the file is stale")
    args = parser.parse_args(argv)
    text = render(build_document())
    if args.check:
        current = args.output.read_text() if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is out of date: run `{REGENERATE}`", file=sys.stderr)
            return 1
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    from loguru import logger

    logger.remove()  # loading the plugins logs at debug level; the page is the output
    sys.exit(main())
