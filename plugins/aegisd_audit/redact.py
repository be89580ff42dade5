"""Secret redaction: what the audit trail stores never holds a credential.

`redact(value)` walks dicts, lists and tuples (returning new ones; the input is not changed) and
replaces secrets with ``[REDACTED]``. Two rules apply:

- **By key.** A value stored under a key whose name contains (case-insensitive, ``-`` read as
  ``_``) one of ``token``, ``password``, ``passwd``, ``passphrase``, ``secret``, ``api_key``,
  ``apikey``, ``access_key``, ``accesskey``, ``private_key``, ``privatekey``, ``authorization``,
  ``cookie``, ``session``, ``credential`` is replaced whole, whatever its type (a nested dict or
  list too). ``None``, booleans and empty strings are kept (they hide nothing), and so are numbers
  under keys containing ``tokens`` (``max_tokens``, ``input_tokens``: counts, not credentials).
  In a list of command-line arguments, the element after a flag such as ``--password`` or
  ``--token`` is redacted.
- **By shape**, in every string, wherever it sits:
  private-key blocks (``-----BEGIN ... PRIVATE KEY-----`` to the matching ``END`` line, or to
  the end of the text when cut off); passwords in URLs (``scheme://user:[REDACTED]@host``);
  ``Authorization: ...`` header values; ``Bearer <token>``; AWS access key ids (``AKIA...``,
  ``ASIA...``); GitHub tokens (``ghp_``, ``gho_``, ``ghu_``, ``ghs_``, ``ghr_``, ``github_pat_``);
  Slack tokens (``xoxb-`` and the other ``xox[baprs]-``); JWTs (``eyJ...``.``eyJ...``.``...``);
  OpenAI/Anthropic-style ``sk-...`` keys and Google ``AIza...`` keys; and assignments whose name
  contains one of the key words above: ``NAME=value`` (shell variables, ``--flag=value``, URL
  query parameters such as ``?token=...``), ``--flag value``, quoted values
  (``password = "..."``, ``"token": "..."``) and, when the name starts the line,
  ``name: value`` / ``name = value`` (YAML, INI, ``.env``, ``aws_secret_access_key = ...``).
  Names and quotes are kept, only the value goes: ``export API_TOKEN=[REDACTED]``.

Redaction errs on the side of hiding: a line of code such as ``token: str`` at the start of a
line loses its ``str``. It is idempotent (redacting twice gives the same text) and fast: the
patterns are compiled once, and no pattern backtracks over long runs of text. This module imports
only the standard library, as the agent hook uses it.
"""

import re
from typing import Any

REDACTED = "[REDACTED]"

_KEY_WORDS = (
    "token",
    "password",
    "passwd",
    "passphrase",
    "secret",
    "api_key",
    "apikey",
    "access_key",
    "accesskey",
    "private_key",
    "privatekey",
    "authorization",
    "cookie",
    "session",
    "credential",
)

# The same words as a pattern; the match starts at the word (never at a free-length prefix) so
# that a long run of word characters cannot make the search quadratic.
_WORD = (
    r"(?:pass(?:word|wd|phrase)|secret|token|api[_-]?key|access[_-]?key|private[_-]?key"
    r"|cookie|session|credential)"
)

_ASSIGNMENT = re.compile(
    r"(?P<name>" + _WORD + r"[\w.-]*)(?P<quote>[\"']?)"
    r"(?P<sep>[ \t]*[:=][ \t]*|[ \t]+)(?!=)"
    r"(?P<value>\"[^\"\n]*\"|'[^'\n]*'|[^\s\"'&;|,]+)",
    re.IGNORECASE,
)
_LINE_KEY_PREFIX = re.compile(r"[ \t-]*[\"']?[\w.-]*")
_FLAG = re.compile(r"--?[\w-]*" + _WORD + r"[\w-]*", re.IGNORECASE)

_SHAPES: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(
            r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END[A-Z0-9 ]*PRIVATE KEY-----|\Z)",
            re.DOTALL,
        ),
        REDACTED,
    ),
    (re.compile(r"(://[^\s/:@]+:)[^\s/@]+@"), r"\1" + REDACTED + "@"),
    (
        re.compile(r"\b(authorization[\"']?[ \t]*[:=][ \t]*[\"']?)[^\r\n\"']+", re.IGNORECASE),
        r"\1" + REDACTED,
    ),
    (re.compile(r"\b(bearer[ \t]+)[\w.~+/-]{8,}=*", re.IGNORECASE), r"\1" + REDACTED),
    (re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), REDACTED),
    (re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_\w{20,})"), REDACTED),
    (re.compile(r"\bxox[baprs]-[A-Za-z0-9-]{10,}"), REDACTED),
    (re.compile(r"\beyJ[\w-]{4,}\.eyJ[\w-]{4,}\.[\w-]*"), REDACTED),
    (re.compile(r"\bsk-[\w-]{20,}"), REDACTED),
    (re.compile(r"\bAIza[\w-]{35}"), REDACTED),
)


def is_secret_key(key: object) -> bool:
    """Whether values stored under this dict key are secrets (see the module docstring)."""
    name = str(key).lower().replace("-", "_")
    return any(word in name for word in _KEY_WORDS)


def redact_text(text: str) -> str:
    """`text` with every secret-shaped part replaced by ``[REDACTED]``."""
    for pattern, replacement in _SHAPES:
        text = pattern.sub(replacement, text)
    return _ASSIGNMENT.sub(_assignment, text)


def redact(value: Any) -> Any:
    """A copy of `value` (JSON-like data) with secrets replaced by ``[REDACTED]``."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: _redact_under_key(k, v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_redact_args(value))
    return value


def _redact_under_key(key: object, value: Any) -> Any:
    if not is_secret_key(key) or value is None or isinstance(value, bool) or value == "":
        return redact(value)
    if isinstance(value, int | float) and "tokens" in str(key).lower():
        return value
    return REDACTED


def _redact_args(items: list[Any] | tuple[Any, ...]) -> list[Any]:
    out: list[Any] = []
    after_flag = False
    for item in items:
        if after_flag and isinstance(item, str) and not item.startswith("-"):
            out.append(REDACTED)
        else:
            out.append(redact(item))
        after_flag = isinstance(item, str) and _FLAG.fullmatch(item) is not None
    return out


def _assignment(m: re.Match[str]) -> str:
    value = m["value"]
    if _is_secret_assignment(m):
        quoted = value[0] in "\"'"
        value = value[0] + REDACTED + value[0] if quoted else REDACTED
    return m.string[m.start() : m.start("value")] + value


def _is_secret_assignment(m: re.Match[str]) -> bool:
    sep, value = m["sep"], m["value"]
    if not sep.strip():  # `word value`: only a command-line flag takes its value this way
        flag = _token_before(m).lstrip("\"'").startswith("-")
        return flag and value[0] not in "-<>"
    if sep == "=":  # NAME=value, --name=value, ?name=value
        return True
    if value[0] in "\"'":  # a literal: password = "...", "token": "..."
        return True
    # A bare value after `name: ` or `name = ` counts when the name starts the line (YAML, INI,
    # .env) and the value is not an expression such as `tokens[0]` or `get_password()`.
    line_start = m.string.rfind("\n", 0, m.start()) + 1
    return _LINE_KEY_PREFIX.fullmatch(m.string, line_start, m.start()) is not None and not any(
        c in value for c in "([{"
    )


def _token_before(m: re.Match[str]) -> str:
    """The whitespace-delimited word that holds the matched name, up to the name's end."""
    text, start = m.string, m.start()
    begin = max(text.rfind(" ", 0, start), text.rfind("\t", 0, start), text.rfind("\n", 0, start))
    return text[begin + 1 : m.end("name")]
