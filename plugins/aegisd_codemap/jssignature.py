"""Types read from a TS signature as `jsextract` stored it (``<T>(a: A, f: (x: X) => void): R``),
for the parameters of a callback passed to a function (contextual typing: ``operate((source,
subscriber) => ...)`` gives ``subscriber`` the type ``operate``'s callback parameter declares)."""

from __future__ import annotations

_OPEN, _CLOSE = "([{<", ")]}>"


def _split(text: str, separator: str) -> list[str]:
    """``text`` cut at ``separator`` outside brackets (``=>`` is no closing bracket)."""
    parts, depth, start = [], 0, 0
    for index, char in enumerate(text):
        if char in _OPEN:
            depth += 1
        elif char in _CLOSE and not (char == ">" and text[index - 1 : index] == "="):
            depth -= 1
        elif char == separator and depth == 0:
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return [p.strip() for p in parts]


def _parameters(text: str) -> list[str] | None:
    """The type of each parameter of ``(a: A, b?: B) ...`` (``this:`` left out), None when
    ``text`` is no parameter list."""
    text = text.strip()
    if text.startswith("<"):  # type parameters first
        depth = 0
        for index, char in enumerate(text):
            depth += char == "<"
            depth -= char == ">" and text[index - 1 : index] != "="
            if depth == 0:
                text = text[index + 1 :].strip()
                break
    if not text.startswith("("):
        return None
    depth = 0
    for index, char in enumerate(text):
        depth += char in _OPEN
        depth -= char in _CLOSE and not (char == ">" and text[index - 1 : index] == "=")
        if depth == 0:
            inner = text[1:index]
            break
    else:
        return None
    found = []
    for part in _split(inner, ",") if inner.strip() else []:
        name, _, written = part.partition(":")
        if name.strip() != "this":
            found.append(written.strip())
    return found


def named_type(written: str) -> str | None:
    """``Foo`` of ``Foo<T>``, ``Foo | null``, ``a.Foo | undefined``; None for anything else."""
    parts = [p for p in _split(written, "|") if p and p not in ("null", "undefined")]
    if len(parts) != 1:
        return None
    name = parts[0].split("<", 1)[0].strip()
    ok = name and all(p.replace("$", "_").isidentifier() for p in name.split("."))
    return name if ok else None


def callback_parameter(signature: str | None, argument: int, parameter: int) -> str | None:
    """The type named for parameter ``parameter`` of the callback a function with
    ``signature`` takes as argument ``argument``."""
    arguments = _parameters(signature or "")
    if arguments is None or argument >= len(arguments):
        return None
    inner = _parameters(arguments[argument].removeprefix("?").strip())
    if inner is None or parameter >= len(inner) or "=>" not in arguments[argument]:
        return None
    return named_type(inner[parameter])
