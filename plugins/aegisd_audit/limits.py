"""Size limits of audit events: titles are validated, detail and payload are capped, never cut
silently (each cap returns a `truncated` flag that is stored with the event). A payload nested
deeper than `PAYLOAD_MAX_DEPTH` is refused by the daemon; the agent hook cuts it instead."""

import json
from typing import Any

TITLE_MAX_CHARS = 200
DETAIL_MAX_BYTES = 16 * 1024
PAYLOAD_MAX_BYTES = 64 * 1024
PAYLOAD_MAX_DEPTH = 64  # the store's own limit (aegisd.store.jsonfield.MAX_DEPTH)
TOO_DEEP = "…[nested too deep]"

# Payloads over the cap are shrunk in steps: strings to at most `chars` characters and lists to
# at most `items` items, each cut marked in place; the first step that fits wins.
_SHRINK_STEPS = ((4096, 256), (1024, 64), (256, 16), (64, 4))


class TitleTooLongError(ValueError):
    """A title longer than `TITLE_MAX_CHARS`: a client error, not something to truncate."""


class PayloadTooDeepError(ValueError):
    """A payload nested deeper than `PAYLOAD_MAX_DEPTH`: refused, as it could not be read back."""


def check_title(title: str, max_chars: int = TITLE_MAX_CHARS) -> str:
    """`title` unchanged; raises `TitleTooLongError` when it has more than `max_chars` chars."""
    if len(title) > max_chars:
        raise TitleTooLongError(f"title has {len(title)} characters, at most {max_chars} allowed")
    return title


def check_payload_depth(payload: dict[str, Any] | None, max_depth: int = PAYLOAD_MAX_DEPTH) -> None:
    """Raise `PayloadTooDeepError` when `payload` nests more than `max_depth` levels."""
    if cut_depth(payload, max_depth)[1]:
        raise PayloadTooDeepError(f"payload is nested more than {max_depth} levels deep")


def cap_text(text: str, max_bytes: int) -> tuple[str, bool]:
    """The longest prefix of `text` within `max_bytes` UTF-8 bytes, and whether it was cut."""
    data = text.encode("utf-8", "surrogatepass")  # a name that is not UTF-8 is measured too
    if len(data) <= max_bytes:
        return text, False
    return data[:max_bytes].decode(errors="ignore"), True  # "ignore" drops a split last char


def cap_detail(detail: str | None, max_bytes: int = DETAIL_MAX_BYTES) -> tuple[str | None, bool]:
    """`detail` capped to `max_bytes` UTF-8 bytes, and whether it was cut."""
    return (None, False) if detail is None else cap_text(detail, max_bytes)


def cap_payload(
    payload: dict[str, Any] | None, max_bytes: int = PAYLOAD_MAX_BYTES
) -> tuple[dict[str, Any] | None, bool]:
    """`payload` whose compact JSON fits in `max_bytes`, and whether it had to be shrunk.

    Long strings and lists are shortened first, keeping the payload's shape and marking each
    cut; a payload that still does not fit (say, thousands of keys) becomes
    ``{"truncated_json": <prefix of its JSON text>, "original_bytes": <size>}``.
    """
    if payload is None:
        return None, False
    size = _json_size(payload)
    if size <= max_bytes:
        return payload, False
    for chars, items in _SHRINK_STEPS:
        shrunk = _shrink(payload, chars, items)
        if _json_size(shrunk) <= max_bytes:
            return shrunk, True
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    envelope: dict[str, Any] = {"truncated_json": "", "original_bytes": size}
    room = max(0, max_bytes - _json_size(envelope))
    # Escaping makes the prefix grow once quoted in JSON: shrink it by the overshoot until it fits.
    while True:
        envelope["truncated_json"] = cap_text(text, room)[0]
        over = _json_size(envelope) - max_bytes
        if over <= 0 or room == 0:
            return envelope, True
        room = max(0, room - over)


def _json_size(value: Any) -> int:
    # surrogatepass: a file name that is not UTF-8 is measured, stored as a JSON escape
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return len(text.encode("utf-8", "surrogatepass"))


def _shrink(value: Any, chars: int, items: int) -> Any:
    if isinstance(value, str) and len(value) > chars:
        return f"{value[:chars]}…[truncated {len(value) - chars} chars]"
    if isinstance(value, dict):
        return {k: _shrink(v, chars, items) for k, v in value.items()}
    if isinstance(value, list):
        kept = [_shrink(v, chars, items) for v in value[:items]]
        if len(value) > items:
            kept.append(f"…[truncated {len(value) - items} items]")
        return kept
    return value


def cut_depth(value: Any, max_depth: int = PAYLOAD_MAX_DEPTH) -> tuple[Any, bool]:
    """`value` with each dict or list nested deeper than `max_depth` levels replaced by
    ``TOO_DEEP``, and whether anything was cut (recurses at most `max_depth` levels)."""
    if not isinstance(value, dict | list):
        return value, False
    if max_depth <= 0:
        return TOO_DEEP, True
    cut = False
    if isinstance(value, dict):
        kept: dict[Any, Any] = {}
        for key, item in value.items():
            kept[key], item_cut = cut_depth(item, max_depth - 1)
            cut = cut or item_cut
        return (kept, True) if cut else (value, False)
    items = []
    for item in value:
        shallow, item_cut = cut_depth(item, max_depth - 1)
        items.append(shallow)
        cut = cut or item_cut
    return (items, True) if cut else (value, False)
