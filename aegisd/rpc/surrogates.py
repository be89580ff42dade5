"""Lone surrogates in requests: accepted only where they stand for a file name's bytes.

JSON may carry `\\ud800`-style escapes (and `parse` lets raw ones through, as json.loads does);
Python keeps them as lone surrogates, which cannot be encoded, logged as UTF-8 or stored.
One place decides for every method: in a param marked `PathText`, U+DC80-U+DCFF are the bytes
of a name that is not UTF-8 (surrogateescape) and pass; any other lone surrogate, in any param,
is INVALID_PARAMS. A message is walked only when its text could hold one (`mark`), so ordinary
requests pay two substring searches.
"""

from __future__ import annotations

import functools
import re
import typing
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel

from aegisd.rpc.registry import PATH_MARK

#: set as a key (never a JSON string) on a message dict whose params hold a lone surrogate
LONE = object()
_ANY = re.compile("[\ud800-\udfff]")
_NOT_A_BYTE = re.compile("[\ud800-\udc7f\udd00-\udfff]")


def escapes_one(text: str) -> bool:
    """Cheap test of a JSON text: might one of its `\\u` escapes be a lone surrogate?"""
    return "\\ud" in text or "\\uD" in text


def mark(payload: Any) -> None:
    """Flag each message (a dict, or a batch's dicts) whose params hold a lone surrogate."""
    for message in payload if isinstance(payload, list) else (payload,):
        if isinstance(message, dict) and any(
            _ANY.search(text) for _, text in _strings(message.get("params"), [])
        ):
            message[LONE] = True


def check(model: type[BaseModel], raw: Any) -> list[dict[str, Any]]:
    """Field errors for lone surrogates in `raw` params not allowed by `model`."""
    if isinstance(raw, dict):
        items: Iterator[tuple[Any, Any]] = iter(raw.items())
    elif isinstance(raw, list):
        items = zip(model.model_fields, raw, strict=False)
    else:
        return []
    paths = path_fields(model)
    errors = []
    for name, value in items:
        refused = _NOT_A_BYTE if name in paths else _ANY
        for loc, text in _strings(value, [name]):
            found = refused.search(text)
            if found is not None:
                errors.append(
                    {
                        "loc": ["params", *loc],
                        "msg": f"text holds a lone surrogate (U+{ord(found.group()):04X}); "
                        "only file names may carry U+DC80-U+DCFF, the escaped bytes of a "
                        "name that is not UTF-8",
                        "type": "lone_surrogate",
                    }
                )
    return errors


def _strings(value: Any, loc: list[Any]) -> Iterator[tuple[list[Any], str]]:
    """Every string in a JSON value (dict keys too), with where it is."""
    if isinstance(value, str):
        yield loc, value
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, [*loc, index])
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str):
                yield [*loc, key], key
            yield from _strings(item, [*loc, key])


@functools.cache
def path_fields(model: type[BaseModel]) -> frozenset[str]:
    """Names of `model`'s fields typed `PathText` (alone, optional or in a list)."""
    return frozenset(
        name
        for name, field in model.model_fields.items()
        if PATH_MARK in field.metadata or _mentions_path(field.annotation)
    )


def _mentions_path(annotation: Any) -> bool:
    if PATH_MARK in getattr(annotation, "__metadata__", ()):
        return True
    return any(_mentions_path(arg) for arg in typing.get_args(annotation))
